/*
 * Unit tests for the simulated boot chain (src/sim/sim_boot.c): the real
 * hello-world set boots like the golden logs, bad flash gives the real
 * errors and a boot loop, RAM images are told apart, scripts print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "sim/sim_boot.h"
#include "sim/sim_chip.h"
#include "sim/sim_internal.h"
#include "test.h"

#define FLASH_4M (4u << 20)

/* Load shared/firmware/<dir>/<name>; NULL (and skip reason) if absent. */
static uint8_t *fw(const char *dir, const char *name, size_t *len)
{
    const char *sh = t_shared_dir();
    char path[1024];
    if (!sh)
        return NULL;
    snprintf(path, sizeof path, "%s/firmware/%s/%s", sh, dir, name);
    return t_read_file(path, len);
}

/* 4 MiB of 0xFF with the hello-world set of dir at its offsets. */
static uint8_t *hello_flash(const char *dir, uint32_t bl_off)
{
    static const char *const names[] = {"bootloader.bin",
                                        "partition-table.bin",
                                        "hello_world.bin"};
    uint32_t offs[3] = {bl_off, 0x8000, 0x10000};
    uint8_t *flash = malloc(FLASH_4M);
    int i;
    if (!flash)
        return NULL;
    memset(flash, 0xFF, FLASH_4M);
    for (i = 0; i < 3; i++) {
        size_t n;
        uint8_t *d = fw(dir, names[i], &n);
        if (!d) {
            free(flash);
            return NULL;
        }
        memcpy(flash + offs[i], d, n);
        free(d);
    }
    return flash;
}

/* Replace "(123)" after a log level letter by "()" in place. */
static void strip_stamps(char *s)
{
    char *r = s, *w = s;
    while (*r) {
        if ((r[0] == 'I' || r[0] == 'E' || r[0] == 'W') && r[1] == ' ' &&
            r[2] == '(' && r[3] >= '0' && r[3] <= '9') {
            char lv = r[0];
            w[0] = lv;
            w[1] = ' ';
            w[2] = '(';
            w += 3;
            r += 3;
            while (*r >= '0' && *r <= '9')
                r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/*
 * Every line of the golden log from its first byte to the first
 * "Hello world!" must appear, in order and modulo timestamps, in text.
 * skip: a line prefix not compared (documented deviation), or NULL.
 * Returns NULL on success, else the first missing golden line (static).
 */
static const char *golden_lines_in(const char *golden_name, char *text,
                                   const char *skip, int *compared)
{
    static char missing[512];
    const char *sh = t_shared_dir();
    char path[1024];
    size_t glen;
    char *g, *line, *save = NULL, *pos;

    *compared = 0;
    snprintf(path, sizeof path, "%s/golden/%s", sh, golden_name);
    g = (char *)t_read_file(path, &glen);
    if (!g)
        return "(golden file missing)";
    g = realloc(g, glen + 1);
    g[glen] = '\0';
    strip_stamps(g);
    strip_stamps(text);
    pos = text;
    for (line = strtok_r(g, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *hit;
        if (line[0] == '#')
            continue;
        if (strstr(line, "Hello world!"))
            break;
        if (skip && strstr(line, skip))
            continue;
        hit = strstr(pos, line);
        if (!hit) {
            snprintf(missing, sizeof missing, "%s", line);
            free(g);
            return missing;
        }
        pos = hit + strlen(line);
        (*compared)++;
    }
    free(g);
    return NULL;
}

/* Text of the app due by t_us (relative), appended to a fresh string. */
static char *poll_text(struct sim_app *app, int64_t t_us)
{
    char *buf = calloc(1, 65537);
    size_t n = 0, k;
    while (buf && (k = sim_app_poll(app, t_us, buf + n, 65536 - n)) > 0)
        n += k;
    return buf;
}

static void hello_case(const char *chip_name, const char *dir,
                       const char *golden, const char *skip)
{
    const struct sim_chip *chip = sim_chip_find(chip_name);
    uint8_t *flash;
    struct sim_app *app = NULL;
    size_t len;
    char *text, *out;
    const char *miss;
    int n;
    int64_t next;

    T_ASSERT(chip);
    flash = hello_flash(dir, chip->bootloader_offset);
    if (!flash)
        T_SKIP("shared firmware folder absent: hello-world boot not checked");
    text = sim_boot_flash(chip, flash, FLASH_4M, &len, &app);
    free(flash);
    T_ASSERT(text);
    T_EQ_INT(strlen(text), len);
    T_CONTAINS(text, "\r\n");
    T_CONTAINS(text, "\033[0;32mI (");
    T_CONTAINS(text, "app_init: Project name:     hello_world");
    T_CONTAINS(text, "app_init: ESP-IDF:          v5.2.2-dirty");
    T_CONTAINS(text, "app_init: Compile time:     Jul 25 2024 ");
    T_ASSERT(app);
    next = sim_app_next_us(app);
    T_ASSERT(next > 0);
    /* Nothing before the first line is due; then once a second. */
    out = poll_text(app, next - 1);
    T_EQ_STR(out, "");
    free(out);
    out = poll_text(app, next + 2500000);
    T_EQ_STR(out, "Hello world!\r\nHello world!\r\nHello world!\r\n");
    free(out);
    T_EQ_INT(sim_app_next_us(app), next + 3000000);
    sim_app_free(app);
    miss = golden_lines_in(golden, text, skip, &n);
    free(text);
    if (miss)
        t_fail(__FILE__, __LINE__, "golden line not in the boot log: %s",
               miss);
    T_ASSERT(n > 20);
}

void test_sim_boot__hello_esp32_like_golden(void)
{
    hello_case("esp32", "Hello-world/ESP32", "boot-esp32-hello-world.txt",
               NULL);
}

void test_sim_boot__hello_esp32c3_like_golden(void)
{
    /* The C3 capture's "SPI Mode : SLOW READ" is the emulator's unset
     * SPI register; a real chip (and the simulator) prints the header's
     * mode (docs/simulator.md). */
    hello_case("esp32c3", "Hello-world/ESP32_C3",
               "boot-esp32c3-hello-world.txt", "SPI Mode");
}

void test_sim_boot__timestamps_grow(void)
{
    const struct sim_chip *chip = sim_chip_find("esp32");
    uint8_t *flash;
    struct sim_app *app = NULL;
    size_t len;
    char *text, *p;
    long last = -1;
    int count = 0;

    T_ASSERT(chip);
    flash = hello_flash("Hello-world/ESP32", 0x1000);
    if (!flash)
        T_SKIP("shared firmware folder absent");
    text = sim_boot_flash(chip, flash, FLASH_4M, &len, &app);
    free(flash);
    T_ASSERT(text);
    for (p = strstr(text, "I ("); p; p = strstr(p + 1, "I (")) {
        long v = strtol(p + 3, NULL, 10);
        T_ASSERT(v >= last);
        last = v;
        count++;
    }
    T_ASSERT(count > 30);
    /* Plausible: the 2nd stage is done within a second, not at once. */
    T_ASSERT(last > 50 && last < 1000);
    free(text);
    sim_app_free(app);
}

void test_sim_boot__blank_flash_invalid_header_loop(void)
{
    const struct sim_chip *chip = sim_chip_find("esp32");
    uint8_t *flash = malloc(FLASH_4M);
    struct sim_app *app = NULL;
    size_t len;
    char *text, *out;
    int64_t t;

    T_ASSERT(chip && flash);
    memset(flash, 0xFF, FLASH_4M);
    text = sim_boot_flash(chip, flash, FLASH_4M, &len, &app);
    free(flash);
    T_ASSERT(text);
    T_CONTAINS(text, "ets Jul 29 2019 12:21:46\r\n");
    T_CONTAINS(text, "rst:0x1 (POWERON_RESET)");
    T_CONTAINS(text, "SPI_FAST_FLASH_BOOT");
    T_CONTAINS(text, "invalid header: 0xffffffff\r\n");
    T_ASSERT(!strstr(text, "2nd stage"));
    free(text);
    T_ASSERT(app);
    t = sim_app_next_us(app);
    T_ASSERT(t > 0);
    out = poll_text(app, t + 1000000);
    /* A line every few hundred ms: about 4 in the next second. */
    T_ASSERT(strlen(out) >= 3 * strlen("invalid header: 0xffffffff\r\n"));
    T_ASSERT(strlen(out) <= 6 * strlen("invalid header: 0xffffffff\r\n"));
    T_CONTAINS(out, "invalid header: 0xffffffff\r\n");
    free(out);
    sim_app_free(app);
}

void test_sim_boot__no_flash_at_all(void)
{
    const struct sim_chip *chip = sim_chip_find("esp32c3");
    struct sim_app *app = NULL;
    size_t len;
    char *text = sim_boot_flash(chip, NULL, 0, &len, &app);
    T_ASSERT(text);
    T_CONTAINS(text, "ESP-ROM:esp32c3");
    T_CONTAINS(text, "invalid header: 0xffffffff");
    free(text);
    sim_app_free(app);
}

/* Boot a hello flash after f() changed it; returns text + first loop. */
static char *boot_modified(const char *chip_name, const char *dir,
                           void (*f)(uint8_t *flash), char **loop_out)
{
    const struct sim_chip *chip = sim_chip_find(chip_name);
    uint8_t *flash = chip ? hello_flash(dir, chip->bootloader_offset) : NULL;
    struct sim_app *app = NULL;
    size_t len;
    char *text;
    if (!flash)
        return NULL;
    f(flash);
    text = sim_boot_flash(chip, flash, FLASH_4M, &len, &app);
    free(flash);
    *loop_out = NULL;
    if (app && sim_app_next_us(app) >= 0)
        *loop_out = poll_text(app, sim_app_next_us(app));
    sim_app_free(app);
    return text;
}

static void corrupt_app_data(uint8_t *flash)
{
    flash[0x10000 + 0x3000] ^= 0x55; /* inside segment 1/2 data */
}

void test_sim_boot__corrupt_app_checksum(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", corrupt_app_data,
                               &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "\033[0;31mE (");
    T_CONTAINS(text, "esp_image: Checksum failed. Calculated 0x");
    T_CONTAINS(text, "boot: Factory app partition is not bootable");
    T_CONTAINS(text, "boot: No bootable app partitions in the partition "
                     "table");
    T_ASSERT(!strstr(text, "Loaded app"));
    /* And it resets: the whole boot again with a software reset. */
    T_ASSERT(loop);
    T_CONTAINS(loop, "rst:0x3 (SW_RESET)");
    T_CONTAINS(loop, "Checksum failed");
    free(loop);
    free(text);
}

/* Change one byte and fix the checksum: only the SHA-256 catches it. */
static void corrupt_app_hash(uint8_t *flash)
{
    uint8_t *app = flash + 0x10000;
    /* Two flips of the same bit pattern in data keep the XOR checksum. */
    app[0x3000] ^= 0x01;
    app[0x3001] ^= 0x01;
    app[0x3002] ^= 0x02;
    app[0x3003] ^= 0x02;
}

void test_sim_boot__corrupt_app_sha256(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32c3", "Hello-world/ESP32_C3",
                               corrupt_app_hash, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_ASSERT(!strstr(text, "Checksum failed"));
    T_CONTAINS(text, "esp_image: Image hash failed - image is corrupt");
    T_CONTAINS(text, "No bootable app partitions in the partition table");
    T_ASSERT(loop);
    T_CONTAINS(loop, "rst:0x3 (RTC_SW_SYS_RST)");
    free(loop);
    free(text);
}

static void corrupt_ptable_md5(uint8_t *flash)
{
    flash[0x8000 + 12] ^= 0x20; /* "nvs" -> "Nvs": the MD5 row disagrees */
}

void test_sim_boot__partition_table_md5(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32",
                               corrupt_ptable_md5, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "flash_parts: Incorrect MD5 checksum");
    T_CONTAINS(text, "boot: Failed to verify partition table");
    T_ASSERT(!strstr(text, "esp_image: segment"));
    T_ASSERT(loop);
    free(loop);
    free(text);
}

static void blank_app(uint8_t *flash)
{
    memset(flash + 0x10000, 0xFF, 0x100000);
}

void test_sim_boot__blank_app(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", blank_app,
                               &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, " 2 factory          factory app      00 00 00010000 "
                     "00100000");
    T_CONTAINS(text, "esp_image: image at 0x10000 has invalid magic byte "
                     "(nothing flashed here?)");
    T_CONTAINS(text, "No bootable app partitions in the partition table");
    free(loop);
    free(text);
}

static void wrong_chip_app(uint8_t *flash)
{
    flash[0x10000 + 12] = 9; /* an ESP32-S3 image on an ESP32-C3 */
}

void test_sim_boot__app_for_another_chip(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32c3", "Hello-world/ESP32_C3",
                               wrong_chip_app, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "boot_comm: mismatch chip ID, expected 5, found 9");
    free(loop);
    free(text);
}

/* ---- otadata: an OTA layout chooses the slot with the highest seq ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void pt_row(uint8_t *r, uint8_t type, uint8_t sub, uint32_t off,
                   uint32_t size, const char *label)
{
    memset(r, 0, 32);
    r[0] = 0xAA;
    r[1] = 0x50;
    r[2] = type;
    r[3] = sub;
    put32(r + 4, off);
    put32(r + 8, size);
    memcpy(r + 12, label, strlen(label));
}

/* nvs, otadata, ota_0 at 0x10000, ota_1 at 0x100000; otadata seq given. */
static void ota_layout(uint8_t *flash, uint32_t seq, uint32_t crc)
{
    uint8_t *t = flash + 0x8000;
    static uint8_t app0[0xF0000];
    memset(t, 0xFF, 0x1000);
    pt_row(t, 1, 2, 0x9000, 0x4000, "nvs");
    pt_row(t + 32, 1, 0, 0xd000, 0x2000, "otadata");
    pt_row(t + 64, 0, 0x10, 0x10000, 0xF0000, "ota_0");
    pt_row(t + 96, 0, 0x11, 0x100000, 0xF0000, "ota_1");
    /* no MD5 row: the bootloader accepts a table without one */
    memcpy(app0, flash + 0x10000, sizeof app0);
    memcpy(flash + 0x100000, app0, sizeof app0);
    memset(flash + 0x10000, 0xFF, sizeof app0); /* ota_0 left empty */
    memset(flash + 0xd000, 0xFF, 0x2000);
    if (seq) {
        put32(flash + 0xd000, seq);
        put32(flash + 0xd000 + 24, 2); /* ESP_OTA_IMG_VALID */
        put32(flash + 0xd000 + 28, crc);
    }
}

static void ota_seq2(uint8_t *flash)
{
    /* CRC-32 of LE 2 with seed 0xFFFFFFFF (binascii.crc32(b"\2\0\0\0",
     * 0xFFFFFFFF)), as otatool writes it. */
    ota_layout(flash, 2, 0x55f63774u);
}

static void ota_bad_crc(uint8_t *flash)
{
    ota_layout(flash, 2, 0x12345678u);
}

void test_sim_boot__otadata_selects_slot(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", ota_seq2, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, " 1 otadata          OTA data         01 00 0000d000 "
                     "00002000");
    T_CONTAINS(text, " 3 ota_1            OTA app          00 11 00100000 "
                     "000f0000");
    T_CONTAINS(text, "esp_image: segment 0: paddr=00100020 vaddr=3f400020");
    T_CONTAINS(text, "boot: Loaded app from partition at offset 0x100000");
    T_ASSERT(!strstr(text, "invalid magic byte"));
    T_ASSERT(loop);
    T_EQ_STR(loop, "Hello world!\r\n");
    free(loop);
    free(text);
}

void test_sim_boot__otadata_invalid(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", ota_bad_crc,
                               &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "boot: ota data partition invalid");
    /* It then tries ota_0 (empty), then ota_1, which boots. */
    T_CONTAINS(text, "image at 0x10000 has invalid magic byte");
    T_CONTAINS(text, "Loaded app from partition at offset 0x100000");
    free(loop);
    free(text);
}

/* ---- RAM images ---- */

static bool ram_case(const char *chip_name, const char *dir, char **text)
{
    const struct sim_chip *chip = sim_chip_find(chip_name);
    size_t n, len;
    uint8_t *img = fw(dir, "app.bin", &n);
    struct sim_ram_segment seg[16];
    size_t ns = 0, off = 24;
    int i;
    struct sim_app *app = NULL;
    bool r;

    *text = NULL;
    if (!img || !chip)
        return false;
    for (i = 0; i < img[1] && ns < 16; i++) {
        uint32_t a = img[off] | img[off + 1] << 8 |
                     (uint32_t)img[off + 2] << 16 |
                     (uint32_t)img[off + 3] << 24;
        uint32_t l = img[off + 4] | img[off + 5] << 8 |
                     (uint32_t)img[off + 6] << 16 |
                     (uint32_t)img[off + 7] << 24;
        seg[ns].addr = a;
        seg[ns].data = img + off + 8;
        seg[ns].len = l;
        ns++;
        off += 8 + l;
    }
    r = sim_boot_ram(chip, seg, ns, 0x40080000, text, &len, &app);
    if (r && app) {
        char *out = poll_text(app, sim_app_next_us(app));
        if (!out || strcmp(out, "Hello world!\r\n"))
            r = false;
        free(out);
    } else if (r) {
        r = false;
    }
    sim_app_free(app);
    free(img);
    return r;
}

void test_sim_boot__ram_app_is_app(void)
{
    char *text = NULL;
    if (!t_shared_dir())
        T_SKIP("shared firmware folder absent");
    T_ASSERT(ram_case("esp32", "RAM_APP/ESP32", &text));
    T_CONTAINS(text, "Project name:     hello_world");
    T_CONTAINS(text, "App version:      05bdc2c-dirty");
    free(text);
    T_ASSERT(ram_case("esp32c3", "RAM_APP/ESP32_C3", &text));
    T_CONTAINS(text, "ESP-IDF:          v5.1-dirty");
    free(text);
}

void test_sim_boot__random_blob_is_stub(void)
{
    const struct sim_chip *chip = sim_chip_find("esp32");
    uint8_t blob[4096];
    struct sim_ram_segment seg[2];
    struct sim_app *app = (struct sim_app *)1;
    char *text = (char *)1;
    size_t len = 7, i;
    uint32_t x = 12345;

    for (i = 0; i < sizeof blob; i++) {
        x = x * 1103515245u + 12345u;
        blob[i] = (uint8_t)(x >> 16);
    }
    seg[0].addr = 0x40080000;
    seg[0].data = blob;
    seg[0].len = 2048;
    seg[1].addr = 0x3ffb0000;
    seg[1].data = blob + 2048;
    seg[1].len = 2048;
    T_ASSERT(!sim_boot_ram(chip, seg, 2, 0x40080000, &text, &len, &app));
    T_ASSERT(app == NULL);
    T_ASSERT(text == NULL);
    T_ASSERT(!sim_boot_ram(chip, seg, 0, 0x40080000, &text, &len, &app));
}

/* ---- the output script ---- */

/* A RAM "app" whose data segment carries a descriptor and a script. */
static struct sim_app *script_app(const char *script, size_t slen,
                                  char **text)
{
    const struct sim_chip *chip = sim_chip_find("esp32c3");
    static uint8_t data[1024];
    struct sim_ram_segment seg;
    struct sim_app *app = NULL;
    size_t len;

    memset(data, 0, sizeof data);
    put32(data, 0xABCD5432u);
    memcpy(data + 16, "1.0", 3);
    memcpy(data + 48, "blink", 5);
    memcpy(data + 256, SIM_SCRIPT_MAGIC, SIM_SCRIPT_MAGIC_LEN);
    memcpy(data + 256 + SIM_SCRIPT_MAGIC_LEN, script, slen);
    seg.addr = 0x3fc80000;
    seg.data = data;
    seg.len = sizeof data;
    if (!sim_boot_ram(chip, &seg, 1, 0x40380000, text, &len, &app))
        return NULL;
    return app;
}

void test_sim_boot__script_lines_and_period(void)
{
    static const char s[] = "I (0) blink: starting\0"
                            "@period=250\0"
                            "@loop\0"
                            "W (x) blink: LED on\0"
                            "tick\0"
                            "E () blink: LED off\0";
    char *text = NULL, *out;
    struct sim_app *app = script_app(s, sizeof s, &text);
    int64_t t0;
    char want[64];

    T_ASSERT(app);
    T_CONTAINS(text, "Project name:     blink");
    free(text);
    t0 = sim_app_next_us(app);
    T_ASSERT(t0 > 0);
    out = poll_text(app, t0);
    snprintf(want, sizeof want, "\033[0;32mI (%lld) blink: starting\033[0m\r\n",
             (long long)(t0 / 1000));
    T_EQ_STR(out, want);
    free(out);
    /* "@period=250" changed the wait after the first line, too. */
    T_EQ_INT(sim_app_next_us(app), t0 + 250000);
    out = poll_text(app, t0 + 3 * 250000);
    T_CONTAINS(out, "\033[0;33mW (");
    T_CONTAINS(out, ") blink: LED on\033[0m\r\n");
    T_CONTAINS(out, "tick\r\n");
    T_CONTAINS(out, "\033[0;31mE (");
    T_CONTAINS(out, ") blink: LED off\033[0m\r\n");
    T_ASSERT(!strstr(out, "starting"));
    free(out);
    /* The loop starts again after "@loop", not at "starting". */
    out = poll_text(app, t0 + 4 * 250000);
    T_CONTAINS(out, "LED on");
    T_ASSERT(!strstr(out, "starting"));
    free(out);
    sim_app_free(app);
}

void test_sim_boot__script_stop(void)
{
    static const char s[] = "one\0two\0@stop\0three\0";
    char *text = NULL, *out;
    struct sim_app *app = script_app(s, sizeof s, &text);
    T_ASSERT(app);
    free(text);
    out = poll_text(app, sim_app_next_us(app) + 10000000);
    T_EQ_STR(out, "one\r\ntwo\r\n");
    free(out);
    T_EQ_INT(sim_app_next_us(app), -1);
    sim_app_free(app);
}

void test_sim_boot__no_script_no_output(void)
{
    char *text = NULL;
    struct sim_app *app = script_app("", 0, &text);
    /* Empty script: start log only, nothing more. */
    T_ASSERT(app);
    T_CONTAINS(text, "main_task: Calling app_main()");
    free(text);
    T_EQ_INT(sim_app_next_us(app), -1);
    sim_app_free(app);
}

void test_sim_boot__poll_respects_capacity(void)
{
    static const char s[] = "0123456789abcdef\0";
    char *text = NULL;
    char buf[8];
    struct sim_app *app = script_app(s, sizeof s, &text);
    int64_t t;
    T_ASSERT(app);
    free(text);
    t = sim_app_next_us(app);
    T_EQ_INT(sim_app_poll(app, t, buf, 8), 8);
    T_EQ_MEM(buf, "01234567", 8);
    /* The rest is still due now. */
    T_EQ_INT(sim_app_next_us(app), t);
    T_EQ_INT(sim_app_poll(app, t, buf, 8), 8);
    T_EQ_INT(sim_app_poll(app, t, buf, 8), 2);
    T_EQ_MEM(buf, "\r\n", 2);
    T_EQ_INT(sim_app_next_us(app), t + 1000000);
    sim_app_free(app);
}

/* ---- ROM checks of the 2nd-stage bootloader ---- */

static void c3_bootloader_wrong_chip(uint8_t *flash)
{
    flash[12] = 9; /* ESP32-S3 bootloader on an ESP32-C3 */
}

void test_sim_boot__rom_refuses_bootloader_for_other_chip(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32c3", "Hello-world/ESP32_C3",
                               c3_bootloader_wrong_chip, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "Invalid chip id. Expected 5 read 9. Bootloader for "
                     "wrong chip?\r\n");
    T_ASSERT(!strstr(text, "2nd stage"));
    free(loop);
    free(text);
}

static void c3_bootloader_bad_digest(uint8_t *flash)
{
    /* Keep the checksum: flip two bits that cancel in the XOR. */
    flash[0x100] ^= 0x10;
    flash[0x101] ^= 0x10;
}

void test_sim_boot__rom_boots_on_after_bad_digest(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32c3", "Hello-world/ESP32_C3",
                               c3_bootloader_bad_digest, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "SHA-256 comparison failed:\r\nCalculated: ");
    T_CONTAINS(text, "Attempting to boot anyway...\r\n");
    T_CONTAINS(text, "Loaded app from partition at offset 0x10000");
    free(loop);
    free(text);
}

static void bootloader_bad_checksum(uint8_t *flash)
{
    flash[0x1000 + 0x100] ^= 0x01;
}

void test_sim_boot__rom_bad_bootloader_checksum_loops(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32",
                               bootloader_bad_checksum, &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "checksum failure. Calculated 0x");
    T_ASSERT(!strstr(text, "2nd stage"));
    T_ASSERT(loop);
    T_CONTAINS(loop, "rst:0x10 (RTCWDT_RTC_RESET)");
    free(loop);
    free(text);
}

/* ---- chip revision checks: v4.x and v5 bootloaders ---- */

void test_sim_boot__idf_v44_build_boots(void)
{
    /* An ESP-IDF v4.4 build: its header bytes 15..22 are reserved zeros
     * (no max_chip_rev_full), and its own v4.4 bootloader checks only
     * byte 14.  The ROM and that bootloader boot it on a v3.0 ESP32. */
    static const char *const names[] = {"bootloader/bootloader.bin",
                                        "partition_table/partition-table.bin",
                                        "hello_world.bin"};
    static const uint32_t offs[] = {0x1000, 0x8000, 0x10000};
    const struct sim_chip *chip = sim_chip_find("esp32");
    struct sim_app *app = NULL;
    uint8_t *flash = malloc(FLASH_4M);
    size_t len;
    char *text, *out;
    int i;

    T_ASSERT(chip && flash);
    memset(flash, 0xFF, FLASH_4M);
    for (i = 0; i < 3; i++) {
        size_t n;
        uint8_t *d = fw("idf-build/esp32-hello-world-v4.4", names[i], &n);
        if (!d) {
            free(flash);
            T_SKIP("shared firmware folder absent: v4.4 build not booted");
        }
        T_ASSERT(offs[i] + n <= FLASH_4M);
        memcpy(flash + offs[i], d, n);
        free(d);
    }
    text = sim_boot_flash(chip, flash, FLASH_4M, &len, &app);
    free(flash);
    T_ASSERT(text);
    T_ASSERT(!strstr(text, "Image requires chip rev"));
    T_CONTAINS(text, "boot: chip revision: 3\033");
    T_CONTAINS(text, "boot_comm: chip revision: 3, min. application chip "
                     "revision: 0");
    T_CONTAINS(text, "Loaded app from partition at offset 0x10000");
    T_CONTAINS(text, "cpu_start: Project name:     hello_world");
    T_CONTAINS(text, "cpu_start: ESP-IDF:          v4.4");
    T_ASSERT(app);
    out = poll_text(app, sim_app_next_us(app) + 10);
    T_EQ_STR(out, "Hello world!\r\n");
    free(out);
    sim_app_free(app);
    free(text);
}

/* Recompute the checksum byte and the appended SHA-256 of the image at p
 * after its header changed (the digest covers the header). */
static void reseal_image(uint8_t *p)
{
    uint32_t off = 24, k;
    uint8_t cs = 0xEF;
    SHA2_CTX ctx;
    int i;

    for (i = 0; i < p[1]; i++) {
        uint32_t n = (uint32_t)p[off + 4] | (uint32_t)p[off + 5] << 8 |
                     (uint32_t)p[off + 6] << 16 | (uint32_t)p[off + 7] << 24;
        for (k = 0; k < n; k++)
            cs ^= p[off + 8 + k];
        off += 8 + n;
    }
    off |= 15;
    p[off] = cs;
    SHA256Init(&ctx);
    SHA256Update(&ctx, p, off + 1);
    SHA256Final(p + off + 1, &ctx);
}

static void app_max_rev(uint8_t *flash, unsigned max_rev)
{
    flash[0x10000 + 17] = (uint8_t)max_rev;
    flash[0x10000 + 18] = (uint8_t)(max_rev >> 8);
    reseal_image(flash + 0x10000);
}

static void app_max_rev_zero(uint8_t *flash) { app_max_rev(flash, 0); }
static void app_max_rev_299(uint8_t *flash) { app_max_rev(flash, 299); }

void test_sim_boot__max_rev_zero_is_not_set(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", app_max_rev_zero,
                               &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_ASSERT(!strstr(text, "Image requires chip rev"));
    T_CONTAINS(text, "Loaded app from partition at offset 0x10000");
    T_CONTAINS(text, "efuse_init: Max chip rev:     v99.99");
    free(loop);
    free(text);
}

void test_sim_boot__max_rev_below_chip_refused_by_v5(void)
{
    char *loop = NULL;
    char *text = boot_modified("esp32", "Hello-world/ESP32", app_max_rev_299,
                               &loop);
    if (!text)
        T_SKIP("shared firmware folder absent");
    T_CONTAINS(text, "Image requires chip rev <= v2.99, but chip is v3.0");
    T_CONTAINS(text, "Factory app partition is not bootable");
    free(loop);
    free(text);
}
