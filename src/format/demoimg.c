/*
 * demoimg.c - build the demo board's bootloader and app images (demoimg.h).
 *
 * Image layout as ESP-IDF writes it for the ESP32 (protocol.md section 5):
 * 24-byte header, segments (load address, length, data), zero padding to
 * 15 mod 16, the 0xEF-xor checksum byte, then the SHA-256 of all of it.
 * Flash-mapped segments sit at file offsets equal to their load address
 * modulo 64 KiB (a zero-address padding segment makes room, as elf2image
 * does).
 */
#include "demoimg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sha2.h>

#include "err.h"

#define MMU_PAGE 0x10000u

struct buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static void b_reserve(struct buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 4096;
    uint8_t *np;

    if (b->oom || b->len + more <= b->cap)
        return;
    while (cap < b->len + more)
        cap *= 2;
    np = realloc(b->p, cap);
    if (!np) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void b_put(struct buf *b, const void *data, size_t n)
{
    b_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void b_zero(struct buf *b, size_t n)
{
    b_reserve(b, n);
    if (b->oom)
        return;
    memset(b->p + b->len, 0, n);
    b->len += n;
}

static void b_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};

    b_put(b, x, 4);
}

static void b_str(struct buf *b, const char *s, size_t field)
{
    size_t n = strlen(s);

    if (n > field)
        n = field;
    b_put(b, s, n);
    b_zero(b, field - n);
}

/* Deterministic pseudo-random numbers (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Code-like bytes: a small vocabulary of 3-byte ops with varying operands,
 * now and then a 32-bit literal; compresses to roughly 60 %. */
static void fill_code(struct buf *b, size_t n, uint32_t seed)
{
    static const uint8_t ops[16][3] = {
        {0x36, 0x41, 0x00}, {0x1d, 0xf0, 0x00}, {0x0c, 0x02, 0x00},
        {0x81, 0x00, 0x00}, {0xe0, 0x08, 0x00}, {0x22, 0xa0, 0x00},
        {0x32, 0x21, 0x00}, {0x20, 0x20, 0x00}, {0xc0, 0x20, 0x00},
        {0x56, 0x03, 0x00}, {0x16, 0x04, 0x00}, {0x06, 0x00, 0x00},
        {0x42, 0xc2, 0x00}, {0x88, 0x02, 0x00}, {0xa2, 0x01, 0x00},
        {0x29, 0x01, 0x00},
    };
    uint32_t s = seed ? seed : 1;
    size_t end = b->len + n;

    while (b->len < end) {
        uint32_t r = rnd(&s);
        uint8_t op[4];
        size_t k = end - b->len;

        if ((r & 0x1f) == 0) {
            uint32_t lit = 0x3f400000u + (rnd(&s) & 0xfffc);

            op[0] = (uint8_t)lit;
            op[1] = (uint8_t)(lit >> 8);
            op[2] = (uint8_t)(lit >> 16);
            op[3] = (uint8_t)(lit >> 24);
            b_put(b, op, k < 4 ? k : 4);
            continue;
        }
        memcpy(op, ops[(r >> 8) & 15], 3);
        op[2] = (uint8_t)((r >> 16) & ((r & 0x20) ? 0xff : 0x0f));
        b_put(b, op, k < 3 ? k : 3);
    }
}

/* Text-like bytes: NUL-separated log format strings. */
static void fill_text(struct buf *b, size_t n, uint32_t seed)
{
    static const char *const words[] = {
        "failed", "to", "init", "%s", "%d", "bytes", "heap", "task",
        "timer", "queue", "spi", "i2c", "uart", "gpio", "wifi", "nvs",
        "partition", "handle", "buffer", "0x%08x", "event", "mutex",
        "flash", "offset", "invalid", "state", "ready", "starting",
    };
    uint32_t s = seed ? seed : 1;
    size_t end = b->len + n;
    char line[160];

    while (b->len < end) {
        size_t k = 0, nw = 3 + rnd(&s) % 7, i, room = end - b->len;

        for (i = 0; i < nw && k < sizeof line - 16; i++)
            k += (size_t)snprintf(line + k, sizeof line - k, "%s%s",
                                  i ? " " : "",
                                  words[rnd(&s) % (sizeof words /
                                                   sizeof words[0])]);
        line[k++] = '\0';
        b_put(b, line, k < room ? k : room);
    }
}

struct seg {
    uint32_t addr;
    struct buf data;
};

/* Header + segments + checksum + SHA-256. */
static int assemble(uint8_t **out, size_t *len, uint32_t entry,
                    struct seg *segs, size_t n)
{
    struct buf img = {0};
    uint8_t hdr[24] = {0}, ck = 0xEF, digest[SHA256_DIGEST_LENGTH];
    SHA2_CTX sha;
    size_t i, j;
    int rc = ED_OK;

    hdr[0] = 0xE9;
    hdr[1] = (uint8_t)n;
    hdr[2] = 2;                 /* DIO */
    hdr[3] = 0x20;              /* 4 MB, 40 MHz */
    hdr[4] = (uint8_t)entry;
    hdr[5] = (uint8_t)(entry >> 8);
    hdr[6] = (uint8_t)(entry >> 16);
    hdr[7] = (uint8_t)(entry >> 24);
    hdr[8] = 0xEE;              /* WP pin: default */
    /* 12-13 chip id 0 (ESP32), 15-16 min rev 0, 17-18 max rev 3.99 */
    hdr[17] = 399 & 0xff;
    hdr[18] = 399 >> 8;
    hdr[23] = 1;                /* SHA-256 appended */
    b_put(&img, hdr, sizeof hdr);
    for (i = 0; i < n; i++) {
        b_u32(&img, segs[i].addr);
        b_u32(&img, (uint32_t)segs[i].data.len);
        b_put(&img, segs[i].data.p, segs[i].data.len);
        for (j = 0; j < segs[i].data.len; j++)
            ck ^= segs[i].data.p[j];
    }
    b_zero(&img, 15 - img.len % 16);
    b_put(&img, &ck, 1);
    if (img.oom) {
        rc = ED_ERR_NOMEM;
        goto out;
    }
    SHA256Init(&sha);
    SHA256Update(&sha, img.p, img.len);
    SHA256Final(digest, &sha);
    b_put(&img, digest, sizeof digest);
    if (img.oom)
        rc = ED_ERR_NOMEM;
out:
    for (i = 0; i < n; i++) {
        free(segs[i].data.p);
        if (segs[i].data.oom)
            rc = ED_ERR_NOMEM;
    }
    if (rc) {
        free(img.p);
        *out = NULL;
        return rc;
    }
    *out = img.p;
    *len = img.len;
    return ED_OK;
}

int demoimg_bootloader(uint8_t **out, size_t *len, enum chip_id chip)
{
    struct seg segs[3];

    *out = NULL;
    if (chip != CHIP_ESP32)
        return ED_ERR_UNSUPPORTED;
    memset(segs, 0, sizeof segs);
    /* DRAM: esp_bootloader_desc_t, then data */
    segs[0].addr = 0x3fff0030;
    {
        struct buf *b = &segs[0].data;
        uint8_t head[4] = {0x50, 0, 0, 0};

        b_put(b, head, 4);
        b_u32(b, 1);                            /* version */
        b_str(b, "v5.2.2", 32);                 /* idf_ver */
        b_str(b, "Jan  1 2025 12:00:00", 24);   /* date_time */
        b_zero(b, 16);
        fill_text(b, 0x1700, 11);
        while (b->len % 4)
            b_zero(b, 1);
    }
    segs[1].addr = 0x40078000;
    fill_code(&segs[1].data, 0x3a60, 12);
    segs[2].addr = 0x40080400;
    fill_code(&segs[2].data, 0xec4, 13);
    return assemble(out, len, 0x40080620, segs, 3);
}

static void app_desc(struct buf *b)
{
    uint8_t elf_sha[32];
    SHA2_CTX sha;

    b_u32(b, 0xABCD5432);       /* magic */
    b_u32(b, 0);                /* secure_version */
    b_zero(b, 8);
    b_str(b, DEMOIMG_VERSION, 32);
    b_str(b, DEMOIMG_PROJECT, 32);
    b_str(b, "12:00:00", 16);
    b_str(b, "Jan  1 2025", 16);
    b_str(b, "v5.2.2", 32);
    SHA256Init(&sha);
    SHA256Update(&sha, (const uint8_t *)DEMOIMG_PROJECT DEMOIMG_VERSION,
                 strlen(DEMOIMG_PROJECT DEMOIMG_VERSION));
    SHA256Final(elf_sha, &sha);
    b_put(b, elf_sha, sizeof elf_sha);
    {
        uint8_t rev[4] = {0, 0, 199 & 0xff, 0};  /* eFuse blk rev 0..1.99 */
        uint8_t mmu[4] = {16, 0, 0, 0};          /* 64 KiB pages */

        b_put(b, rev, 4);
        b_put(b, mmu, 4);
    }
    b_zero(b, 72);
}

/*
 * The simulator's output script (sim_boot.h): what the app "prints".
 * Only E, W and I lines get the simulated "(ms)" stamp; the simulator
 * prints D and V lines as they stand, so a D/V line here would repeat a
 * fixed stamp every round.  Hence no D/V lines.
 */
static const char *const demo_lines[] = {
        "@echo",
        "@period=500",
        "I () demo: espdeck-demo " DEMOIMG_VERSION " running, free heap "
        "291044 bytes",
        "I () sensor: temperature 23.4 C, humidity 41 %",
        "I () sensor: raw adc 0x0a3c 0x0a41 0x0a39",
        "W () wifi: AP \"bench-lab\" signal weak (-79 dBm), roaming",
        "Hello from the espdeck demo app!",
        "I () mqtt: published 3 readings to bench/esp32/telemetry",
        "I () mqtt: keepalive ping",
        "E () i2c: sensor at 0x48 did not answer (timeout), retrying",
        "I () demo: uptime tick",
};

static void script(struct buf *b, const char *const *lines, size_t n)
{
    size_t i;

    b_put(b, "ESPDECK-SIM-OUTPUT", 19);     /* with its NUL */
    for (i = 0; i < n; i++)
        if (lines[i][0])                    /* an empty one would end it */
            b_put(b, lines[i], strlen(lines[i]) + 1);
    b_zero(b, 1);                           /* empty line ends it */
}

int demoimg_app(uint8_t **out, size_t *len, enum chip_id chip)
{
    return demoimg_app_script(out, len, chip, demo_lines,
                              sizeof demo_lines / sizeof demo_lines[0]);
}

int demoimg_app_script(uint8_t **out, size_t *len, enum chip_id chip,
                       const char *const *lines, size_t n)
{
    struct seg segs[5];
    size_t off;
    uint32_t irom;

    *out = NULL;
    if (chip != CHIP_ESP32)
        return ED_ERR_UNSUPPORTED;
    memset(segs, 0, sizeof segs);
    /* DROM: descriptor, script, read-only text */
    segs[0].addr = 0x3f400020;
    app_desc(&segs[0].data);
    script(&segs[0].data, lines, n);
    fill_text(&segs[0].data, 150 * 1024, 21);
    while (segs[0].data.len % 4)
        b_zero(&segs[0].data, 1);
    segs[1].addr = 0x3ffb0000;
    fill_code(&segs[1].data, 0x1840, 22);
    segs[2].addr = 0x40080000;
    fill_code(&segs[2].data, 0x9000, 23);
    /* file offset of the next segment's data without padding */
    off = 24;
    off += 8 + segs[0].data.len + 8 + segs[1].data.len + 8 +
           segs[2].data.len;
    /* pad so the IROM data starts at 0x20 mod 64 KiB, as IDF does */
    {
        size_t target = (off + 8 + 8 + MMU_PAGE - 1) / MMU_PAGE * MMU_PAGE +
                        0x20;
        size_t pad = target - off - 8 - 8;

        segs[3].addr = 0;
        b_zero(&segs[3].data, pad);
        off = target;
    }
    irom = 0x400d0000u + (uint32_t)(off % MMU_PAGE);
    segs[4].addr = irom;
    fill_code(&segs[4].data, 600 * 1024, 24);
    return assemble(out, len, 0x40080af0, segs, 5);
}
