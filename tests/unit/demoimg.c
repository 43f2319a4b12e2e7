/* Unit tests: src/format/demoimg.c (the demo board's generated firmware). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demoimg.h"
#include "err.h"
#include "image.h"
#include "sim/sim_boot.h"
#include "sim/sim_chip.h"
#include "sim/sim_internal.h"
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

/*
 * The demo app, run by the simulator, prints ESP-IDF log lines whose
 * "(ms)" stamps never go backwards, over several rounds of its script
 * (the simulator fills in stamps only for E, W and I lines: sim_boot.h).
 */
void test_demoimg__app_log_stamps_are_monotonic(void)
{
    const struct sim_chip *chip = sim_chip_find("esp32");
    struct sim_ram_segment seg[IMAGE_MAX_SEGMENTS];
    struct image_info info;
    struct sim_app *app = NULL;
    uint8_t *a = NULL;
    char *text = NULL, *out, err[256], line[512];
    size_t len = 0, tlen = 0, n = 0, cap = 1 << 20, i, ll = 0;
    long last = -1, stamped = 0, ticks = 0;
    int64_t t;

    T_ASSERT(chip != NULL);
    T_EQ_INT(demoimg_app(&a, &len, CHIP_ESP32), ED_OK);
    T_EQ_INT(image_parse(&info, a, len, "app", err, sizeof err), ED_OK);
    for (i = 0; i < info.n_segments; i++) {
        seg[i].addr = info.segs[i].addr;
        seg[i].data = a + info.segs[i].file_offset;
        seg[i].len = info.segs[i].len;
    }
    T_ASSERT(sim_boot_ram(chip, seg, info.n_segments, info.entry, &text,
                          &tlen, &app));
    T_ASSERT(app != NULL);
    out = malloc(cap);
    T_ASSERT(out != NULL);
    /* 20 simulated seconds: several rounds of the script */
    for (t = 0; t <= 20 * 1000000LL && n + 4096 < cap; t += 50000)
        n += sim_app_poll(app, t, out + n, cap - n);
    for (i = 0; i < n; i++) {
        char c = out[i];

        if (c == 0x1b) {                /* skip an SGR sequence */
            while (i < n && out[i] != 'm')
                i++;
            continue;
        }
        if (c == '\r')
            continue;
        if (c != '\n') {
            if (ll + 1 < sizeof line)
                line[ll++] = c;
            continue;
        }
        line[ll] = '\0';
        ll = 0;
        if (strstr(line, "uptime tick"))
            ticks++;
        if (strchr("EWIDV", line[0]) && line[1] == ' ' && line[2] == '(') {
            char *end;
            long ms = strtol(line + 3, &end, 10);

            if (end == line + 3 || *end != ')') {
                fprintf(stderr, "no stamp: %s\n", line);
                T_ASSERT(!"an ESP-IDF line without a number stamp");
            }
            if (ms < last)
                fprintf(stderr, "stamp goes back: %ld after %ld: %s\n", ms,
                        last, line);
            T_ASSERT(ms >= last);
            last = ms;
            stamped++;
        }
    }
    T_ASSERT(ticks >= 2);
    T_ASSERT(stamped >= 10);
    free(out);
    free(text);
    sim_app_free(app);
    free(a);
}
