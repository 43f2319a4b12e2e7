#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "err.h"
#include "image.h"
#include "test.h"

static uint8_t *load_fw(const char *chipdir, const char *file, size_t *len)
{
    const char *sh = t_shared_dir();
    char path[512];

    if (!sh)
        return NULL;
    snprintf(path, sizeof path, "%s/firmware/Hello-world/%s/%s", sh, chipdir,
             file);
    return t_read_file(path, len);
}

#define NEED_FW(p)                                                            \
    do {                                                                      \
        if (!(p))                                                             \
            T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");    \
    } while (0)

void test_image__parse_esp32_app(void)
{
    size_t len;
    uint8_t *b = load_fw("ESP32", "hello_world.bin", &len);
    struct image_info in;
    char err[256];

    NEED_FW(b);
    T_EQ_INT(image_parse(&in, b, len, "hello_world.bin", err, sizeof err),
             ED_OK);
    T_EQ_INT(in.n_segments, 5);
    T_EQ_INT(in.chip_id, 0);
    T_EQ_INT(in.flash_mode, 2);
    T_EQ_INT(in.flash_size_code, 1);
    T_ASSERT(in.checksum_ok);
    T_ASSERT(in.hash_appended);
    T_ASSERT(in.sha_ok);
    T_EQ_INT(in.image_len, len);
    T_EQ_INT(in.segs[0].addr, 0x3f400020u);
    T_EQ_INT(in.segs[0].file_offset, 0x20);
    T_ASSERT(in.has_app_desc);
    T_EQ_STR(in.project_name, "hello_world");
    T_ASSERT(strncmp(in.idf_ver, "v5.", 3) == 0);
    T_ASSERT(!in.has_boot_desc);
    T_EQ_INT(image_chip_id(b, len), 0);
    free(b);
}

void test_image__parse_every_chip(void)
{
    static const struct {
        const char *dir;
        int chip_id;
    } t[] = {{"ESP32_S2", 2}, {"ESP32_S3", 9},  {"ESP32_C2", 12},
             {"ESP32_C3", 5}, {"ESP32_C6", 13}, {"ESP32_H2", 16},
             {"ESP32_C5", 23}, {"ESP32_P4", 18}};
    unsigned i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t la, lb;
        uint8_t *a = load_fw(t[i].dir, "hello_world.bin", &la);
        uint8_t *bl = load_fw(t[i].dir, "bootloader.bin", &lb);
        struct image_info in;
        char err[256];

        NEED_FW(a && bl);
        T_EQ_INT(image_parse(&in, a, la, "app", err, sizeof err), ED_OK);
        T_EQ_INT(in.chip_id, t[i].chip_id);
        T_ASSERT(in.checksum_ok && in.sha_ok && in.has_app_desc);
        T_EQ_STR(in.project_name, "hello_world");
        T_EQ_INT(image_parse(&in, bl, lb, "boot", err, sizeof err), ED_OK);
        T_ASSERT(in.checksum_ok && in.sha_ok);
        T_ASSERT(in.has_boot_desc);
        T_ASSERT(!in.has_app_desc);
        T_ASSERT(strncmp(in.boot_idf_ver, "v5.", 3) == 0);
        T_EQ_INT(image_chip_id(bl, lb), t[i].chip_id);
        free(a);
        free(bl);
    }
}

void test_image__not_an_image(void)
{
    uint8_t junk[64] = {0x7f, 'E', 'L', 'F'};
    uint8_t partial[40] = {0xE9, 3};
    struct image_info in;
    char err[256];

    T_EQ_INT(image_parse(&in, junk, sizeof junk, "app.elf", err, sizeof err),
             ED_ERR_PROFILE);
    T_CONTAINS(err, "app.elf is not an ESP image (first byte 0x7f");
    T_EQ_INT(image_chip_id(junk, sizeof junk), -1);
    partial[24] = 0;
    partial[28] = 0x40; /* segment of 64 bytes in a 40-byte file */
    T_EQ_INT(image_parse(&in, partial, sizeof partial, "x.bin", err,
                         sizeof err), ED_ERR_PROFILE);
    T_CONTAINS(err, "truncated");
}

void test_image__corrupt_checksum_and_hash_detected(void)
{
    size_t len;
    uint8_t *b = load_fw("ESP32_C3", "bootloader.bin", &len);
    struct image_info in;
    char err[256];

    NEED_FW(b);
    b[100] ^= 0x01; /* inside segment 0 */
    T_EQ_INT(image_parse(&in, b, len, "boot", err, sizeof err), ED_OK);
    T_ASSERT(!in.checksum_ok);
    T_ASSERT(!in.sha_ok);
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32C3, "qio", "keep",
                                    "keep", 0, NULL, err, sizeof err),
             ED_ERR_PROFILE);
    T_CONTAINS(err, "wrong checksum");
    free(b);
}

/* The esptool rewrite on the real ESP32 bootloader, checked by hashing. */
void test_image__flash_params_rewrite_esp32_bootloader(void)
{
    size_t len, i;
    uint8_t *b = load_fw("ESP32", "bootloader.bin", &len);
    uint8_t *orig, dig[SHA256_DIGEST_LENGTH];
    struct image_info in;
    bool changed = false;
    char err[256];
    SHA2_CTX c;

    NEED_FW(b);
    orig = malloc(len);
    T_ASSERT(orig);
    memcpy(orig, b, len);
    T_EQ_INT(b[2], 2);    /* dio */
    T_EQ_INT(b[3], 0x10); /* 2MB, 40m */
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32, "qio", "80m", "4MB",
                                    0, &changed, err, sizeof err), ED_OK);
    T_ASSERT(changed);
    T_EQ_INT(b[2], 0);
    T_EQ_INT(b[3], 0x2F);
    /* independent check: SHA-256 of everything before the last 32 bytes */
    SHA256Init(&c);
    SHA256Update(&c, b, len - 32);
    SHA256Final(dig, &c);
    T_EQ_MEM(b + len - 32, dig, 32);
    /* nothing else moved */
    for (i = 0; i < len - 32; i++)
        if (i != 2 && i != 3)
            T_EQ_INT(b[i], orig[i]);
    T_ASSERT(memcmp(b + len - 32, orig + len - 32, 32) != 0);
    T_EQ_INT(image_parse(&in, b, len, "boot", err, sizeof err), ED_OK);
    T_ASSERT(in.checksum_ok && in.sha_ok);

    /* keep one nibble: only the frequency changes back */
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32, "keep", "40m", "keep",
                                    0, &changed, err, sizeof err), ED_OK);
    T_EQ_INT(b[3], 0x20);
    /* "detect" takes the detected size; all keep is a no-op */
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32, "dio", "keep",
                                    "detect", 2 * 1024 * 1024, &changed, err,
                                    sizeof err), ED_OK);
    T_EQ_MEM(b, orig, len); /* back to the original, hash included */
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32, "keep", "keep",
                                    "keep", 0, &changed, err, sizeof err),
             ED_OK);
    T_ASSERT(!changed);
    free(orig);
    free(b);
}

void test_image__flash_param_names(void)
{
    char err[256];
    uint8_t b[64] = {0xE9};

    T_EQ_INT(image_flash_mode_code("DIO"), 2);
    T_EQ_INT(image_flash_mode_code("fast"), -1);
    T_EQ_INT(image_flash_freq_code(CHIP_ESP32, "80m"), 0xF);
    T_EQ_INT(image_flash_freq_code(CHIP_ESP32C2, "60m"), 0xF);
    T_EQ_INT(image_flash_freq_code(CHIP_ESP32C2, "80m"), -1);
    T_EQ_INT(image_flash_freq_code(CHIP_ESP32H2, "48m"), 0xF);
    T_EQ_INT(image_flash_freq_code(CHIP_ESP32C6, "80m"), 0);
    T_EQ_INT(image_flash_size_code("16MB"), 4);
    T_EQ_INT(image_flash_size_bytes("8MB"), 8 * 1024 * 1024);
    T_EQ_STR(image_flash_size_name(4 * 1024 * 1024), "4MB");
    T_EQ_STR(image_flash_size_name(3 * 1024 * 1024), "");
    T_EQ_INT(image_set_flash_params(b, sizeof b, CHIP_ESP32, "dio", "keep",
                                    "keep", 0, NULL, err, sizeof err),
             ED_ERR_PROFILE);
}

void test_image__unknown_option_refused(void)
{
    size_t len;
    uint8_t *b = load_fw("ESP32_C2", "bootloader.bin", &len);
    char err[256];

    NEED_FW(b);
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32C2, "keep", "80m",
                                    "keep", 0, NULL, err, sizeof err),
             ED_ERR_PROFILE);
    T_CONTAINS(err, "'80m' is not one ESP32-C2 supports");
    T_EQ_INT(image_set_flash_params(b, len, CHIP_ESP32C2, "keep", "keep",
                                    "3MB", 0, NULL, err, sizeof err),
             ED_ERR_PROFILE);
    free(b);
}
