/*
 * image.h - ESP application and bootloader images (protocol.md section 5).
 *
 * Parses the 24-byte header (magic 0xE9, segment count, flash mode,
 * size/frequency byte, entry, extended header with chip id and revisions),
 * the segments, the 0xEF checksum and the appended SHA-256, and finds the
 * app descriptor (esp_app_desc_t) or the bootloader descriptor at the start
 * of the first segment.  Rewrites the flash mode/size/frequency bytes of a
 * bootloader image and recomputes the appended SHA-256 as esptool does.
 *
 * Pure functions on caller-owned buffers: no allocation, no state, any
 * thread.  SHA-256 through libmd.
 */
#ifndef ED_IMAGE_H
#define ED_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chip.h"

#define IMAGE_MAGIC 0xE9
#define IMAGE_MAX_SEGMENTS 16
#define IMAGE_HEADER_LEN 24
#define IMAGE_APP_DESC_MAGIC 0xABCD5432u
#define IMAGE_BOOT_DESC_MAGIC 0x50

struct image_segment {
    uint32_t addr;          /* load address */
    uint32_t len;
    size_t file_offset;     /* of the segment's data */
};

struct image_info {
    uint8_t n_segments;
    uint8_t flash_mode;     /* 0 QIO, 1 QOUT, 2 DIO, 3 DOUT */
    uint8_t flash_size_code; /* high nibble of byte 3 */
    uint8_t flash_freq_code; /* low nibble of byte 3 */
    uint32_t entry;
    uint16_t chip_id;       /* extended header; chip_desc.image_chip_id */
    uint16_t min_rev;       /* major*100+minor */
    uint16_t max_rev;
    bool hash_appended;
    struct image_segment segs[IMAGE_MAX_SEGMENTS];
    size_t data_len;        /* header..checksum byte inclusive */
    size_t image_len;       /* data_len (+32 with the hash) */
    uint8_t checksum;       /* stored */
    uint8_t checksum_calc;
    bool checksum_ok;
    bool sha_ok;            /* hash appended and matching (false if none) */

    bool has_app_desc;      /* esp_app_desc_t at the start of segment 0 */
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char compile_time[17];
    char compile_date[17];
    char idf_ver[33];

    bool has_boot_desc;     /* esp_bootloader_desc_t */
    uint32_t boot_version;
    char boot_idf_ver[33];
    char boot_date_time[25];
};

/* true when data starts like an ESP32-family image (magic, sane count). */
bool image_looks_like(const uint8_t *data, size_t len);

/*
 * Parse an image.  ED_OK even when the checksum or hash does not match
 * (see checksum_ok/sha_ok); ED_ERR_PROFILE with one sentence in err when the
 * buffer is not an image at all or is truncated ("hello.bin is not an ESP
 * image (first byte 0x7f, expected 0xe9)").  name labels the message.
 */
int image_parse(struct image_info *out, const uint8_t *data, size_t len,
                const char *name, char *err, size_t errlen);

/* Image header chip id, or -1 when data is not an image. */
int image_chip_id(const uint8_t *data, size_t len);

/* Flash option strings -> header codes; -1 if the chip does not know it. */
int image_flash_mode_code(const char *mode);          /* "dio" -> 2 */
int image_flash_freq_code(enum chip_id chip, const char *freq); /* "80m" */
int image_flash_size_code(const char *size);          /* "4MB" -> 2 */
/* Bytes for a size string ("4MB" -> 4 MiB), 0 if not a size. */
uint32_t image_flash_size_bytes(const char *size);
/* "4MB" for a size in bytes (power of two 1..128 MiB), else "". */
const char *image_flash_size_name(uint32_t bytes);
const char *image_flash_mode_name(int code);

/*
 * Apply flash mode/frequency/size ("keep" leaves a field; size "detect"
 * uses detected_size, or keeps when it is 0) to a bootloader image in place,
 * and recompute the appended SHA-256 over [0, data_len) when the image
 * carries one, keeping any bytes after it.  Does nothing (ED_OK,
 * *changed = false) when all three are "keep".  Refuses (ED_ERR_PROFILE,
 * one sentence) an image that does not parse or whose checksum or hash is
 * wrong, or an option the chip does not know.  changed may be NULL.
 */
int image_set_flash_params(uint8_t *data, size_t len, enum chip_id chip,
                           const char *mode, const char *freq,
                           const char *size, uint32_t detected_size,
                           bool *changed, char *err, size_t errlen);

#endif
