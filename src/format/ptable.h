/*
 * ptable.h - ESP-IDF partition tables: binary, CSV, names.
 *
 * The binary is what ESP-IDF's gen_esp32part.py writes: 32-byte rows
 * (AA 50, type, subtype, offset, size, 16-byte name, flags), an MD5 row
 * (EB EB, 14 x FF, MD5 of the rows before it), 0xFF up to 0xC00 bytes.
 * The CSV is ESP-IDF's partitions.csv (name, type, subtype, offset, size,
 * flags; '#' comments; an empty offset is placed after the previous
 * partition, aligned as gen_esp32part does: app 64 KiB, others 4 KiB).
 *
 * A struct ptable is a plain value (no allocation); functions are pure and
 * thread-safe.  Errors return ED_ERR_PROFILE (ED_ERR_ARG for bad input to
 * the binary parser) with one sentence in err.
 */
#ifndef ED_PTABLE_H
#define ED_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTABLE_OFFSET_DEFAULT 0x8000u
#define PTABLE_SECTOR 0x1000u       /* the table occupies one sector */
#define PTABLE_BIN_SIZE 0xC00u      /* generated binary length */
#define PTABLE_ROW 32u
/* Rows + MD5 row must stay below 0xC00 bytes: at most 94 partitions. */
#define PTABLE_MAX_PARTS ((PTABLE_BIN_SIZE - 1) / PTABLE_ROW - 1)
#define PTABLE_CAP 128              /* entries a struct ptable can hold */
#define PTABLE_NAME_MAX 16

enum ptable_type {
    PTABLE_TYPE_APP = 0x00,
    PTABLE_TYPE_DATA = 0x01,
    PTABLE_TYPE_BOOTLOADER = 0x02,
    PTABLE_TYPE_PARTITION_TABLE = 0x03,
};

#define PTABLE_FLAG_ENCRYPTED 0x1u
#define PTABLE_FLAG_READONLY 0x2u

struct ptable_entry {
    char name[PTABLE_NAME_MAX + 1];
    uint8_t type, subtype;
    uint32_t offset, size, flags;
    int line;                       /* CSV line (1-based), else 0 */
};

struct ptable {
    struct ptable_entry e[PTABLE_CAP];
    size_t n;
};

/*
 * A number as gen_esp32part reads it: decimal, 0x hex, with an optional
 * K or M suffix (KB/MB/KiB/MiB accepted).  ED_OK or ED_ERR_ARG.
 */
int ptable_parse_number(const char *s, uint32_t *out);

/* Type by name ("app", "data", "bootloader", "partition_table") or number. */
int ptable_parse_type(const char *s, uint8_t *out);
/*
 * Subtype of a type by name ("factory", "ota_3", "nvs", ...) or number.
 * An empty string is "undefined" for data (as gen_esp32part) and an error
 * for app.  ED_OK or ED_ERR_ARG.
 */
int ptable_parse_subtype(uint8_t type, const char *s, uint8_t *out);
/* Name of a type/subtype, or its number as "0x40"; buf holds the result. */
const char *ptable_type_text(uint8_t type, char *buf, size_t len);
const char *ptable_subtype_text(uint8_t type, uint8_t subtype, char *buf,
                                size_t len);
/* "app, data, bootloader, partition_table" / the subtype names of a type. */
const char *ptable_type_names(char *buf, size_t len);
const char *ptable_subtype_names(uint8_t type, char *buf, size_t len);
/* Flag by name ("encrypted", "readonly"); ED_OK or ED_ERR_ARG. */
int ptable_parse_flag(const char *s, uint32_t *out);

/* Offset alignment gen_esp32part requires: 0x10000 for app, else 0x1000. */
uint32_t ptable_offset_align(uint8_t type);

/*
 * Place entries whose offset is PTABLE_AUTO after the previous one (the
 * first after table_offset + 0x1000), aligned per type.
 */
#define PTABLE_AUTO 0xFFFFFFFFu
int ptable_place(struct ptable *t, uint32_t table_offset, char *err,
                 size_t errlen);

/*
 * Generate the binary (exactly PTABLE_BIN_SIZE bytes into out).  Fails
 * when the table does not fit (more than PTABLE_MAX_PARTS entries).
 */
int ptable_to_binary(const struct ptable *t, uint8_t *out, char *err,
                     size_t errlen);

/*
 * Parse a binary table (any length up to a sector): rows until an all-FF
 * row; the MD5 row, if present, must match.  *had_md5 (may be NULL) tells
 * whether there was one.
 */
int ptable_from_binary(struct ptable *t, const uint8_t *data, size_t len,
                       bool *had_md5, char *err, size_t errlen);

/*
 * Parse partitions.csv text (NUL-terminated) and place empty offsets.
 * Errors name the CSV line: "line 4: unknown subtype 'nvsx' for data ...".
 */
int ptable_from_csv(struct ptable *t, const char *text,
                    uint32_t table_offset, char *err, size_t errlen);

#endif
