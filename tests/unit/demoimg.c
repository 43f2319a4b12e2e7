/* Unit tests: src/demoimg.c (the demo board's generated firmware). */
#include <stdlib.h>
#include <string.h>

#include "demoimg.h"
#include "err.h"
#include "image.h"
#include "test.h"

void test_demoimg__bootloader_is_a_valid_image(void)
{
    struct image_info info;
    uint8_t *b = NULL;
    size_t len = 0;
    char err[256];

    T_EQ_INT(demoimg_bootloader(&b, &len, CHIP_ESP32), ED_OK);
    T_EQ_INT(image_parse(&info, b, len, "bootloader", err, sizeof err),
             ED_OK);
    T_ASSERT(info.checksum_ok);
    T_ASSERT(info.hash_appended && info.sha_ok);
    T_EQ_INT(info.image_len, len);
    T_EQ_INT(info.chip_id, 0);
    T_ASSERT(info.has_boot_desc);
    T_EQ_STR(info.boot_idf_ver, "v5.2.2");
    free(b);
}

void test_demoimg__app_has_descriptor_and_script(void)
{
    struct image_info info;
    uint8_t *a = NULL;
    size_t len = 0, i;
    char err[256];
    int found = 0;

    T_EQ_INT(demoimg_app(&a, &len, CHIP_ESP32), ED_OK);
    T_ASSERT(len > 600 * 1024 && len < 1024 * 1024);
    T_EQ_INT(image_parse(&info, a, len, "app", err, sizeof err), ED_OK);
    T_ASSERT(info.checksum_ok && info.sha_ok);
    T_ASSERT(info.has_app_desc);
    T_EQ_STR(info.project_name, DEMOIMG_PROJECT);
    T_EQ_STR(info.version, DEMOIMG_VERSION);
    /* flash-mapped segments sit at load address mod 64 KiB */
    for (i = 0; i < info.n_segments; i++) {
        uint32_t ad = info.segs[i].addr;

        if ((ad >= 0x3f400000 && ad < 0x3f800000) ||
            (ad >= 0x400d0000 && ad < 0x40400000))
            T_EQ_INT(info.segs[i].file_offset % 0x10000, ad % 0x10000);
    }
    /* the script is in the first (DROM) segment */
    {
        const uint8_t *s = a + info.segs[0].file_offset;

        for (i = 0; i + 19 < info.segs[0].len; i++)
            if (!memcmp(s + i, "ESPDECK-SIM-OUTPUT", 19))
                found = 1;
    }
    T_ASSERT(found);
    free(a);
}

void test_demoimg__deterministic(void)
{
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;

    T_EQ_INT(demoimg_app(&a, &la, CHIP_ESP32), ED_OK);
    T_EQ_INT(demoimg_app(&b, &lb, CHIP_ESP32), ED_OK);
    T_EQ_INT(la, lb);
    T_EQ_MEM(a, b, la);
    free(a);
    free(b);
    T_EQ_INT(demoimg_app(&a, &la, CHIP_ESP32C3), ED_ERR_UNSUPPORTED);
    T_ASSERT(a == NULL);
}
