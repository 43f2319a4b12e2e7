/*
 * ptable.c - ESP-IDF partition tables (see ptable.h).
 */
#include "ptable.h"

#include <ctype.h>
#include <errno.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

struct ptable_name {
    const char *name;
    uint8_t value;
};

static const struct ptable_name type_names[] = {
    {"app", PTABLE_TYPE_APP},
    {"data", PTABLE_TYPE_DATA},
    {"bootloader", PTABLE_TYPE_BOOTLOADER},
    {"partition_table", PTABLE_TYPE_PARTITION_TABLE},
};

/* App subtypes other than ota_0..ota_15 (0x10..0x1F), handled in code. */
static const struct ptable_name app_subtypes[] = {
    {"factory", 0x00}, {"test", 0x20}, {"tee_0", 0x30}, {"tee_1", 0x31},
};

static const struct ptable_name data_subtypes[] = {
    {"ota", 0x00},      {"phy", 0x01},      {"nvs", 0x02},
    {"coredump", 0x03}, {"nvs_keys", 0x04}, {"efuse", 0x05},
    {"undefined", 0x06}, {"esphttpd", 0x80}, {"fat", 0x81},
    {"spiffs", 0x82},   {"littlefs", 0x83}, {"tee_ota", 0x90},
};

static const struct ptable_name boot_subtypes[] = {
    {"primary", 0x00}, {"ota", 0x01}, {"recovery", 0x02},
};

static const struct ptable_name table_subtypes[] = {
    {"primary", 0x00}, {"ota", 0x01},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct ptable_name *subtypes_of(uint8_t type, size_t *n)
{
    switch (type) {
    case PTABLE_TYPE_APP:
        *n = N_OF(app_subtypes);
        return app_subtypes;
    case PTABLE_TYPE_DATA:
        *n = N_OF(data_subtypes);
        return data_subtypes;
    case PTABLE_TYPE_BOOTLOADER:
        *n = N_OF(boot_subtypes);
        return boot_subtypes;
    case PTABLE_TYPE_PARTITION_TABLE:
        *n = N_OF(table_subtypes);
        return table_subtypes;
    default:
        *n = 0;
        return NULL;
    }
}

/* Plain unsigned integer: 0x hex or decimal, the whole string. */
static int parse_plain(const char *s, uint64_t *out)
{
    char *end;
    int base = 10;
    if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return ED_ERR_ARG;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!isxdigit((unsigned char)*s))
            return ED_ERR_ARG;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end)
        return ED_ERR_ARG;
    *out = v;
    return ED_OK;
}

int ptable_parse_number(const char *s, uint32_t *out)
{
    char buf[40];
    size_t n = strlen(s);
    uint64_t mult = 1, v;

    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    if (n == 0 || n >= sizeof buf)
        return ED_ERR_ARG;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* Suffixes: K, M, KB, MB, KiB, MiB (case-insensitive). */
    static const char *const sfx[] = {"KiB", "MiB", "KB", "MB", "K", "M"};
    for (size_t i = 0; i < N_OF(sfx); i++) {
        size_t l = strlen(sfx[i]);
        if (n > l && strcasecmp(buf + n - l, sfx[i]) == 0 &&
            /* "0xB" is hex eleven, not a suffix */
            !(l == 2 && toupper((unsigned char)buf[n - 1]) == 'B' &&
              strncasecmp(buf, "0x", 2) == 0)) {
            mult = toupper((unsigned char)sfx[i][0]) == 'K' ? 1024
                                                             : 1024 * 1024;
            buf[n - l] = '\0';
            break;
        }
    }
    if (parse_plain(buf, &v) != ED_OK)
        return ED_ERR_ARG;
    if (v > 0xFFFFFFFFull / mult)
        return ED_ERR_ARG;
    *out = (uint32_t)(v * mult);
    return ED_OK;
}

int ptable_parse_type(const char *s, uint8_t *out)
{
    uint64_t v;
    for (size_t i = 0; i < N_OF(type_names); i++) {
        if (strcmp(s, type_names[i].name) == 0) {
            *out = type_names[i].value;
            return ED_OK;
        }
    }
    if (parse_plain(s, &v) == ED_OK && v <= 0xFE) {
        *out = (uint8_t)v;
        return ED_OK;
    }
    return ED_ERR_ARG;
}

int ptable_parse_subtype(uint8_t type, const char *s, uint8_t *out)
{
    size_t n;
    uint64_t v;
    const struct ptable_name *names = subtypes_of(type, &n);

    if (!*s) {
        if (type == PTABLE_TYPE_APP)
            return ED_ERR_ARG;
        *out = type == PTABLE_TYPE_DATA ? 0x06 : 0x00;
        return ED_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].value;
            return ED_OK;
        }
    }
    if (type == PTABLE_TYPE_APP && strncmp(s, "ota_", 4) == 0 &&
        isdigit((unsigned char)s[4])) {
        char *end;
        long k = strtol(s + 4, &end, 10);
        if (!*end && k >= 0 && k <= 15) {
            *out = (uint8_t)(0x10 + k);
            return ED_OK;
        }
    }
    if (parse_plain(s, &v) == ED_OK && v <= 0xFE) {
        *out = (uint8_t)v;
        return ED_OK;
    }
    return ED_ERR_ARG;
}

const char *ptable_type_text(uint8_t type, char *buf, size_t len)
{
    for (size_t i = 0; i < N_OF(type_names); i++) {
        if (type_names[i].value == type) {
            snprintf(buf, len, "%s", type_names[i].name);
            return buf;
        }
    }
    snprintf(buf, len, "0x%02x", type);
    return buf;
}

const char *ptable_subtype_text(uint8_t type, uint8_t subtype, char *buf,
                                size_t len)
{
    size_t n;
    const struct ptable_name *names = subtypes_of(type, &n);

    if (type == PTABLE_TYPE_APP && subtype >= 0x10 && subtype <= 0x1F) {
        snprintf(buf, len, "ota_%d", subtype - 0x10);
        return buf;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i].value == subtype) {
            snprintf(buf, len, "%s", names[i].name);
            return buf;
        }
    }
    snprintf(buf, len, "0x%02x", subtype);
    return buf;
}

static const char *join_names(const struct ptable_name *names, size_t n,
                              const char *extra, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
                               names[i].name);
    if (extra && at < len)
        snprintf(buf + at, len - at, "%s", extra);
    return buf;
}

const char *ptable_type_names(char *buf, size_t len)
{
    return join_names(type_names, N_OF(type_names),
                      ", or a number 0x40..0xfe for a custom type", buf, len);
}

const char *ptable_subtype_names(uint8_t type, char *buf, size_t len)
{
    size_t n;
    const struct ptable_name *names = subtypes_of(type, &n);
    if (!names) {
        snprintf(buf, len, "a number 0x00..0xfe");
        return buf;
    }
    return join_names(names, n,
                      type == PTABLE_TYPE_APP ? ", ota_0 .. ota_15" : NULL,
                      buf, len);
}

int ptable_parse_flag(const char *s, uint32_t *out)
{
    if (strcmp(s, "encrypted") == 0) {
        *out = PTABLE_FLAG_ENCRYPTED;
        return ED_OK;
    }
    if (strcmp(s, "readonly") == 0) {
        *out = PTABLE_FLAG_READONLY;
        return ED_OK;
    }
    return ED_ERR_ARG;
}

uint32_t ptable_offset_align(uint8_t type)
{
    return type == PTABLE_TYPE_APP ? 0x10000u : 0x1000u;
}

int ptable_place(struct ptable *t, uint32_t table_offset, char *err,
                 size_t errlen)
{
    uint64_t last_end = (uint64_t)table_offset + PTABLE_SECTOR;

    for (size_t i = 0; i < t->n; i++) {
        struct ptable_entry *e = &t->e[i];
        if (e->offset == PTABLE_AUTO) {
            uint32_t a = ptable_offset_align(e->type);
            if (last_end % a)
                last_end += a - last_end % a;
            if (last_end > 0xFFFFFFFFull - e->size)
                return ed_seterr(err, errlen, ED_ERR_PROFILE,
                                 "partition '%s' does not fit below 4 GiB",
                                 e->name);
            e->offset = (uint32_t)last_end;
        }
        last_end = (uint64_t)e->offset + e->size;
    }
    return ED_OK;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int ptable_to_binary(const struct ptable *t, uint8_t *out, char *err,
                     size_t errlen)
{
    MD5_CTX md5;
    uint8_t *row = out;

    if (t->n > PTABLE_MAX_PARTS)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "the partition table has %zu entries; at most %u "
                         "fit in its 0x%x bytes with the MD5 row",
                         t->n, (unsigned)PTABLE_MAX_PARTS,
                         (unsigned)PTABLE_BIN_SIZE);
    memset(out, 0xFF, PTABLE_BIN_SIZE);
    for (size_t i = 0; i < t->n; i++, row += PTABLE_ROW) {
        const struct ptable_entry *e = &t->e[i];
        row[0] = 0xAA;
        row[1] = 0x50;
        row[2] = e->type;
        row[3] = e->subtype;
        put_le32(row + 4, e->offset);
        put_le32(row + 8, e->size);
        memset(row + 12, 0, 16);
        memcpy(row + 12, e->name, strnlen(e->name, PTABLE_NAME_MAX));
        put_le32(row + 28, e->flags);
    }
    MD5Init(&md5);
    MD5Update(&md5, out, (size_t)(row - out));
    row[0] = 0xEB;
    row[1] = 0xEB;
    memset(row + 2, 0xFF, 14);
    MD5Final(row + 16, &md5);
    return ED_OK;
}

int ptable_from_binary(struct ptable *t, const uint8_t *data, size_t len,
                       bool *had_md5, char *err, size_t errlen)
{
    static const uint8_t ff[PTABLE_ROW] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    size_t off;

    t->n = 0;
    if (had_md5)
        *had_md5 = false;
    if (len > PTABLE_SECTOR)
        len = PTABLE_SECTOR;
    for (off = 0; off + PTABLE_ROW <= len; off += PTABLE_ROW) {
        const uint8_t *row = data + off;
        if (memcmp(row, ff, PTABLE_ROW) == 0)
            return ED_OK;
        if (row[0] == 0xEB && row[1] == 0xEB) {
            uint8_t sum[16];
            MD5_CTX md5;
            MD5Init(&md5);
            MD5Update(&md5, data, off);
            MD5Final(sum, &md5);
            if (memcmp(sum, row + 16, 16) != 0)
                return ed_seterr(err, errlen, ED_ERR_PROFILE,
                                 "the partition table's MD5 row does not "
                                 "match its %zu entries (the file is "
                                 "damaged or was edited by hand)",
                                 t->n);
            if (had_md5)
                *had_md5 = true;
            continue;
        }
        if (row[0] != 0xAA || row[1] != 0x50)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "byte 0x%zx of the partition table: row starts "
                             "%02x %02x, not AA 50 (not a partition table?)",
                             off, row[0], row[1]);
        if (t->n >= PTABLE_CAP)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "the partition table has more than %d entries",
                             PTABLE_CAP);
        struct ptable_entry *e = &t->e[t->n++];
        memset(e, 0, sizeof *e);
        e->type = row[2];
        e->subtype = row[3];
        e->offset = get_le32(row + 4);
        e->size = get_le32(row + 8);
        memcpy(e->name, row + 12, PTABLE_NAME_MAX);
        e->name[PTABLE_NAME_MAX] = '\0';
        e->flags = get_le32(row + 28);
    }
    if (t->n == 0)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "the partition table is empty or shorter than one "
                         "row");
    return ED_OK;
}

/* ---- CSV ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int csv_line(struct ptable *t, char *line, int lineno, char *err,
                    size_t errlen)
{
    char *f[6] = {"", "", "", "", "", ""};
    int nf = 0;
    char *p = line;
    char names[200];

    while (nf < 6) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        f[nf++] = trim(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (t->n >= PTABLE_CAP)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: more than %d partitions", lineno,
                         PTABLE_CAP);
    struct ptable_entry *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    e->line = lineno;
    if (!*f[0])
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: the partition has no name", lineno);
    if (strlen(f[0]) > PTABLE_NAME_MAX)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: partition name '%s' is longer than %d "
                         "characters", lineno, f[0], PTABLE_NAME_MAX);
    snprintf(e->name, sizeof e->name, "%s", f[0]);
    if (ptable_parse_type(f[1], &e->type) != ED_OK)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: unknown partition type '%s'; use %s",
                         lineno, f[1], ptable_type_names(names, sizeof names));
    if (ptable_parse_subtype(e->type, f[2], &e->subtype) != ED_OK)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: unknown subtype '%s' for %s; use %s",
                         lineno, f[2], f[1],
                         ptable_subtype_names(e->type, names, sizeof names));
    if (!*f[3]) {
        e->offset = PTABLE_AUTO;
    } else if (ptable_parse_number(f[3], &e->offset) != ED_OK) {
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: bad offset '%s' (use 0x9000, 36864 or "
                         "36K)", lineno, f[3]);
    } else if (e->offset == PTABLE_AUTO) {
        /* the value that means "place me" inside: never a real offset */
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: offset '%s' is not a flash address; "
                         "leave the offset empty to place the partition "
                         "automatically", lineno, f[3]);
    }
    if (ptable_parse_number(f[4], &e->size) != ED_OK || e->size == 0)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "line %d: bad size '%s' (use 0x6000, 24576 or 24K)",
                         lineno, f[4]);
    /* flags: "encrypted", "readonly", joined with ':' */
    char *save = NULL;
    for (char *tok = strtok_r(f[5], ":", &save); tok;
         tok = strtok_r(NULL, ":", &save)) {
        uint32_t fl;
        tok = trim(tok);
        if (!*tok)
            continue;
        if (ptable_parse_flag(tok, &fl) != ED_OK)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "line %d: unknown flag '%s'; use encrypted, "
                             "readonly", lineno, tok);
        e->flags |= fl;
    }
    t->n++;
    return ED_OK;
}

int ptable_from_csv(struct ptable *t, const char *text,
                    uint32_t table_offset, char *err, size_t errlen)
{
    int rc = ED_OK, lineno = 0;
    char *copy = strdup(text);

    t->n = 0;
    if (!copy)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    /* split by hand: strtok would skip empty lines and lose the count */
    char *p = copy;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *line = trim(p);
        if (*line && *line != '#') {
            rc = csv_line(t, line, lineno, err, errlen);
            if (rc != ED_OK)
                goto out;
        }
        p = nl ? nl + 1 : NULL;
    }
    rc = ptable_place(t, table_offset, err, errlen);
out:
    free(copy);
    return rc;
}
