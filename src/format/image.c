/*
 * image.c - parse and patch ESP images (see image.h).
 */
#include "image.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sha2.h>

#include "err.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Copy a fixed-size, maybe unterminated field as printable text. */
static void copy_text(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < n && src[i] && k + 1 < cap; i++)
        dst[k++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[k] = '\0';
}

bool image_looks_like(const uint8_t *data, size_t len)
{
    return data && len >= IMAGE_HEADER_LEN && data[0] == IMAGE_MAGIC &&
           data[1] >= 1 && data[1] <= IMAGE_MAX_SEGMENTS;
}

int image_chip_id(const uint8_t *data, size_t len)
{
    if (!image_looks_like(data, len))
        return -1;
    return rd16(data + 12);
}

int image_parse(struct image_info *out, const uint8_t *data, size_t len,
                const char *name, char *err, size_t errlen)
{
    size_t pos;
    unsigned i;
    uint8_t ck = 0xEF;

    memset(out, 0, sizeof *out);
    if (!name)
        name = "image";
    if (!data || len < IMAGE_HEADER_LEN)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s is not an ESP image (only %zu bytes)", name, len);
    if (data[0] != IMAGE_MAGIC)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s is not an ESP image (first byte 0x%02x, "
                         "expected 0xe9)", name, data[0]);
    if (data[1] < 1 || data[1] > IMAGE_MAX_SEGMENTS)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s is not a valid ESP image (%u segments)", name,
                         data[1]);
    out->n_segments = data[1];
    out->flash_mode = data[2];
    out->flash_size_code = data[3] >> 4;
    out->flash_freq_code = data[3] & 0x0F;
    out->entry = rd32(data + 4);
    out->chip_id = rd16(data + 12);
    out->min_rev = rd16(data + 15);
    out->max_rev = rd16(data + 17);
    if (data[23] > 1)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s is not a valid ESP image (hash flag %u)", name,
                         data[23]);
    out->hash_appended = data[23] == 1;

    pos = IMAGE_HEADER_LEN;
    for (i = 0; i < out->n_segments; i++) {
        struct image_segment *sg = &out->segs[i];
        size_t j;

        if (len - pos < 8)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "%s is truncated (segment %u header at %zu of "
                             "%zu bytes)", name, i, pos, len);
        sg->addr = rd32(data + pos);
        sg->len = rd32(data + pos + 4);
        sg->file_offset = pos + 8;
        if (sg->len > len - pos - 8)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "%s is truncated (segment %u of %u bytes at %zu, "
                             "file has %zu)", name, i, sg->len, pos + 8, len);
        for (j = 0; j < sg->len; j++)
            ck ^= data[sg->file_offset + j];
        pos = sg->file_offset + sg->len;
    }
    /* zero padding so that the checksum byte sits at offset 15 mod 16 */
    while (pos % 16 != 15)
        pos++;
    if (pos >= len)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s is truncated (no checksum byte)", name);
    out->checksum = data[pos];
    out->checksum_calc = ck;
    out->checksum_ok = ck == data[pos];
    out->data_len = pos + 1;
    out->image_len = out->data_len;
    if (out->hash_appended) {
        uint8_t dig[SHA256_DIGEST_LENGTH];
        SHA2_CTX c;

        if (len - out->data_len < SHA256_DIGEST_LENGTH)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "%s is truncated (SHA-256 missing)", name);
        SHA256Init(&c);
        SHA256Update(&c, data, out->data_len);
        SHA256Final(dig, &c);
        out->sha_ok = !memcmp(dig, data + out->data_len, sizeof dig);
        out->image_len += SHA256_DIGEST_LENGTH;
    }

    /* descriptors sit at the start of the first segment */
    {
        const uint8_t *s0 = data + out->segs[0].file_offset;
        uint32_t l0 = out->segs[0].len;

        if (l0 >= 256 && rd32(s0) == IMAGE_APP_DESC_MAGIC) {
            out->has_app_desc = true;
            out->secure_version = rd32(s0 + 4);
            copy_text(out->version, sizeof out->version, s0 + 16, 32);
            copy_text(out->project_name, sizeof out->project_name, s0 + 48,
                      32);
            copy_text(out->compile_time, sizeof out->compile_time, s0 + 80,
                      16);
            copy_text(out->compile_date, sizeof out->compile_date, s0 + 96,
                      16);
            copy_text(out->idf_ver, sizeof out->idf_ver, s0 + 112, 32);
        } else if (l0 >= 80 && s0[0] == IMAGE_BOOT_DESC_MAGIC && !s0[1] &&
                   !s0[2] && !s0[3]) {
            out->has_boot_desc = true;
            out->boot_version = rd32(s0 + 4);
            copy_text(out->boot_idf_ver, sizeof out->boot_idf_ver, s0 + 8,
                      32);
            copy_text(out->boot_date_time, sizeof out->boot_date_time,
                      s0 + 40, 24);
        }
    }
    return ED_OK;
}

static const char *const mode_names[] = {"qio", "qout", "dio", "dout"};

int image_flash_mode_code(const char *mode)
{
    unsigned i;

    for (i = 0; i < 4; i++)
        if (mode && !strcasecmp(mode, mode_names[i]))
            return (int)i;
    return -1;
}

const char *image_flash_mode_name(int code)
{
    return code >= 0 && code < 4 ? mode_names[code] : "?";
}

struct freq_code {
    const char *name;
    int code;
};

int image_flash_freq_code(enum chip_id chip, const char *freq)
{
    static const struct freq_code def[] = {
        {"40m", 0x0}, {"26m", 0x1}, {"20m", 0x2}, {"80m", 0xF}, {NULL, 0}};
    static const struct freq_code c2[] = {
        {"30m", 0x0}, {"20m", 0x1}, {"15m", 0x2}, {"60m", 0xF}, {NULL, 0}};
    static const struct freq_code h2[] = {
        {"24m", 0x0}, {"16m", 0x1}, {"12m", 0x2}, {"48m", 0xF}, {NULL, 0}};
    static const struct freq_code c5[] = {
        {"40m", 0x0}, {"20m", 0x2}, {"80m", 0xF}, {NULL, 0}};
    /* C6: "80m" is written as 0 to dodge a ROM MSPI divider bug (esptool) */
    static const struct freq_code c6[] = {
        {"80m", 0x0}, {"40m", 0x0}, {"20m", 0x2}, {NULL, 0}};
    const struct freq_code *t = def;
    unsigned i;

    switch (chip) {
    case CHIP_ESP32C2: t = c2; break;
    case CHIP_ESP32H2: t = h2; break;
    case CHIP_ESP32C5: t = c5; break;
    case CHIP_ESP32C6: t = c6; break;
    default: break;
    }
    for (i = 0; freq && t[i].name; i++)
        if (!strcasecmp(freq, t[i].name))
            return t[i].code;
    return -1;
}

static const char *const size_names[] = {"1MB", "2MB", "4MB", "8MB",
                                         "16MB", "32MB", "64MB", "128MB"};

int image_flash_size_code(const char *size)
{
    unsigned i;

    for (i = 0; i < 8; i++)
        if (size && !strcasecmp(size, size_names[i]))
            return (int)i;
    return -1;
}

uint32_t image_flash_size_bytes(const char *size)
{
    int c = image_flash_size_code(size);

    return c < 0 ? 0 : (uint32_t)(1024 * 1024) << c;
}

const char *image_flash_size_name(uint32_t bytes)
{
    unsigned i;

    for (i = 0; i < 8; i++)
        if (bytes == (uint32_t)(1024 * 1024) << i)
            return size_names[i];
    return "";
}

static bool is_keep(const char *s)
{
    return !s || !s[0] || !strcasecmp(s, "keep");
}

int image_set_flash_params(uint8_t *data, size_t len, enum chip_id chip,
                           const char *mode, const char *freq,
                           const char *size, uint32_t detected_size,
                           bool *changed, char *err, size_t errlen)
{
    struct image_info info;
    const struct chip_desc *d = chip_get(chip);
    int m = -1, f = -1, s = -1, rc;
    uint8_t b2, b3;

    if (changed)
        *changed = false;
    if (is_keep(size) || (!strcasecmp(size, "detect") && !detected_size))
        size = NULL;
    if (is_keep(mode) && is_keep(freq) && !size)
        return ED_OK;
    rc = image_parse(&info, data, len, "the bootloader", err, errlen);
    if (rc)
        return rc;
    if (!info.checksum_ok || (info.hash_appended && !info.sha_ok))
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "the bootloader image has a wrong %s: flash "
                         "parameters not changed (rebuild the bootloader or "
                         "set flash mode, freq and size to keep)",
                         info.checksum_ok ? "SHA-256" : "checksum");
    if (!is_keep(mode) && (m = image_flash_mode_code(mode)) < 0)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "unknown flash mode '%s' (qio, qout, dio, dout or "
                         "keep)", mode);
    if (!is_keep(freq) && (f = image_flash_freq_code(chip, freq)) < 0)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "flash frequency '%s' is not one %s supports", freq,
                         d ? d->display : "this chip");
    if (size) {
        if (!strcasecmp(size, "detect"))
            s = image_flash_size_code(image_flash_size_name(detected_size));
        else
            s = image_flash_size_code(size);
        if (s < 0)
            return ed_seterr(err, errlen, ED_ERR_PROFILE,
                             "unknown flash size '%s' (1MB ... 128MB, "
                             "detect or keep)", size);
    }
    b2 = m >= 0 ? (uint8_t)m : data[2];
    b3 = (uint8_t)(((s >= 0 ? s : data[3] >> 4) << 4) |
                   (f >= 0 ? f : data[3] & 0x0F));
    if (b2 == data[2] && b3 == data[3])
        return ED_OK;
    data[2] = b2;
    data[3] = b3;
    if (info.hash_appended) {
        SHA2_CTX c;

        SHA256Init(&c);
        SHA256Update(&c, data, info.data_len);
        SHA256Final(data + info.data_len, &c);
    }
    if (changed)
        *changed = true;
    return ED_OK;
}
