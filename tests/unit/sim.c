/*
 * Tests of the simulated chip core (src/sim/sim*.c).  Frames are built and
 * parsed here with the test's own helpers (only SLIP framing is shared), so
 * the examiner is checked independently of the flasher's packet layer.
 */
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "sim/sim.h"
#include "sim/sim_chip.h"
#include "sim/sim_server.h"
#include "slip.h"
#include "test.h"

/* ---- helpers ---- */

struct rx {
    uint8_t frames[64][0x4100];
    size_t flen[64];
    size_t nframes;
    char text[8192];
    size_t tlen;
};

static struct sim *mk(const char *chip, bool pacing)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    cfg.no_pacing = !pacing;
    if (sim_new(&s, &cfg, err, sizeof err) != 0)
        return NULL;
    return s;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void send_raw(struct sim *s, const uint8_t *body, size_t len,
                     int64_t now)
{
    uint8_t *wire = malloc(SLIP_ENCODED_MAX(len));
    size_t n = slip_encode(wire, SLIP_ENCODED_MAX(len), body, len);

    sim_rx(s, wire, n, now);
    free(wire);
}

static void send_cmd(struct sim *s, uint8_t op, const uint8_t *data,
                     size_t len, uint32_t chk, int64_t now)
{
    uint8_t *b = malloc(8 + len);

    b[0] = 0;
    b[1] = op;
    b[2] = (uint8_t)len;
    b[3] = (uint8_t)(len >> 8);
    put32(b + 4, chk);
    if (len)
        memcpy(b + 8, data, len);
    send_raw(s, b, 8 + len, now);
    free(b);
}

static uint32_t xsum(const uint8_t *d, size_t n)
{
    uint8_t c = 0xEF;

    while (n--)
        c ^= *d++;
    return c;
}

/* Drain everything due by now into frames and text. */
static void drain(struct sim *s, struct rx *r, int64_t now)
{
    uint8_t buf[4096];
    static uint8_t fb[0x4100];
    struct slip_decoder d;
    size_t n;

    memset(r, 0, sizeof *r);
    slip_decoder_init(&d, fb, sizeof fb);
    while ((n = sim_tx(s, buf, sizeof buf, now)) > 0) {
        size_t off = 0;

        while (off < n) {
            size_t flen = 0, used;
            size_t junk0 = d.junk_total;

            used = slip_decode(&d, buf + off, n - off, &flen);
            (void)junk0;
            off += used;
            if (flen && r->nframes < 64) {
                memcpy(r->frames[r->nframes], fb, flen);
                r->flen[r->nframes++] = flen;
            }
        }
    }
    memcpy(r->text, d.junk, d.junk_len < sizeof r->text - 1 ?
           d.junk_len : sizeof r->text - 1);
    r->tlen = d.junk_len;
    r->text[r->tlen < sizeof r->text ? r->tlen : sizeof r->text - 1] = 0;
}

static const uint8_t sync_data[36] = {
    0x07, 0x07, 0x12, 0x20,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
};

static struct rx *R(void)
{
    static struct rx *r;

    if (!r)
        r = malloc(sizeof *r);
    return r;
}

static uint32_t read_reg(struct sim *s, uint32_t addr)
{
    uint8_t a[4];
    struct rx *r = R();

    put32(a, addr);
    send_cmd(s, 0x0A, a, 4, 0, 0);
    drain(s, r, 0);
    if (r->nframes != 1 || r->frames[0][1] != 0x0A)
        return 0xDEADBEEF;
    return get32(r->frames[0] + 4);
}

static int write_reg(struct sim *s, uint32_t addr, uint32_t v)
{
    uint8_t a[16];
    struct rx *r = R();

    put32(a, addr);
    put32(a + 4, v);
    put32(a + 8, 0xFFFFFFFF);
    put32(a + 12, 0);
    send_cmd(s, 0x09, a, 16, 0, 0);
    drain(s, r, 0);
    return r->nframes == 1 ? r->frames[0][r->flen[0] - 4] : -1;
}

/* A connected board in download mode with the banner drained. */
static struct sim *board(const char *chip)
{
    struct sim *s = mk(chip, false);

    if (!s)
        return NULL;
    sim_connect(s, false, 0);
    drain(s, R(), 0);
    return s;
}

/* Status byte of the single reply (ROM: byte 0 of 4; stub: byte 0 of 2). */
static int rom_cmd_at(struct sim *s, uint8_t op, const uint8_t *d,
                      size_t n, uint32_t chk, size_t status_len,
                      int64_t now)
{
    struct rx *r = R();

    send_cmd(s, op, d, n, chk, now);
    drain(s, r, now);
    if (r->nframes < 1 || r->frames[0][1] != op)
        return -1;
    return r->frames[0][r->flen[0] - status_len] << 8 |
           r->frames[0][r->flen[0] - status_len + 1];
}

static int rom_cmd(struct sim *s, uint8_t op, const uint8_t *d, size_t n,
                   uint32_t chk, size_t status_len)
{
    return rom_cmd_at(s, op, d, n, chk, status_len, 0);
}

/* After a stub data block: the stub writes it before it takes the next
 * command, for milliseconds even without pacing (sim.c stub_rx_take). */
#define AFTER_WRITE 100000

/* ---- ROM ---- */

void test_sim__sync_eight_replies(void)
{
    struct sim *s = board("esp32");
    struct rx *r = R();

    T_ASSERT(s);
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 8);
    for (size_t i = 0; i < 8; i++) {
        T_EQ_INT(r->flen[i], 12);
        T_EQ_INT(r->frames[i][1], 0x08);
        T_EQ_INT(get32(r->frames[i] + 4), 0x20120707);
        T_EQ_INT(get32(r->frames[i] + 8), 0);
    }
    sim_free(s);
}

void test_sim__magic_every_chip(void)
{
    static const struct { const char *n; uint32_t m; } want[] = {
        {"esp32", 0x00F01D83}, {"esp32s2", 0x000007C6},
        {"esp32s3", 0x00000009}, {"esp32c2", 0x6F51306F},
        {"esp32c3", 0x1B31506F}, {"esp32c6", 0x2CE0806F},
        {"esp32h2", 0xD7B73E80}, {"esp32c5", 0x1101406F},
        {"esp32p4", 0x0ADDBAD0},
    };

    T_EQ_INT(sim_chip_count(), 9);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct sim *s = board(want[i].n);

        T_ASSERT(s);
        T_EQ_INT(read_reg(s, 0x40001000), want[i].m);
        sim_free(s);
    }
}

void test_sim__security_info_per_chip(void)
{
    static const struct { const char *n; int len; uint32_t id; } want[] = {
        {"esp32s2", 12, 0}, {"esp32s3", 20, 9}, {"esp32c2", 20, 12},
        {"esp32c3", 20, 5}, {"esp32c6", 20, 13}, {"esp32h2", 20, 16},
        {"esp32c5", 20, 23}, {"esp32p4", 20, 18},
    };
    struct rx *r = R();
    struct sim *s = board("esp32");

    /* ESP32: previous op and value echoed, status 01 05. */
    T_ASSERT(s);
    T_EQ_INT(read_reg(s, 0x40001000), 0x00F01D83);
    send_cmd(s, 0x14, NULL, 0, 0, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 1);
    T_EQ_MEM(r->frames[0], "\x01\x0a\x04\x00\x83\x1d\xf0\x00\x01\x05\x00\x00",
             12);
    sim_free(s);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        s = board(want[i].n);
        T_ASSERT(s);
        send_cmd(s, 0x14, NULL, 0, 0, 0);
        drain(s, r, 0);
        T_EQ_INT(r->nframes, 1);
        T_EQ_INT(r->frames[0][1], 0x14);
        T_EQ_INT(r->flen[0], 8 + want[i].len + 4);
        T_EQ_INT(r->frames[0][2], want[i].len + 4);
        if (want[i].len == 20)
            T_EQ_INT(get32(r->frames[0] + 8 + 12), want[i].id);
        sim_free(s);
    }
}

void test_sim__bad_checksum_and_lengths(void)
{
    struct sim *s = board("esp32c3");
    uint8_t d[16 + 4], beg[16];

    T_ASSERT(s);
    put32(beg, 0x1000);
    put32(beg + 4, 1);
    put32(beg + 8, 0x400);
    put32(beg + 12, 0x10000);
    T_EQ_INT(rom_cmd(s, 0x02, beg, 16, 0, 4), 0x0000);
    put32(d, 4);
    put32(d + 4, 0);
    put32(d + 8, 0);
    put32(d + 12, 0);
    memcpy(d + 16, "abcd", 4);
    T_EQ_INT(rom_cmd(s, 0x03, d, 20, xsum(d + 16, 4) ^ 1, 4), 0x0107);
    /* length word disagrees with the payload */
    put32(d, 5);
    T_EQ_INT(rom_cmd(s, 0x03, d, 20, xsum(d + 16, 4), 4), 0x0105);
    /* READ_REG without an address */
    T_EQ_INT(rom_cmd(s, 0x0A, d, 0, 0, 4), 0x0105);
    /* stub-only opcode on the ROM: rejected with status 01 05 */
    {
        struct rx *r = R();
        send_cmd(s, 0xD0, NULL, 0, 0, 0);
        drain(s, r, 0);
        T_EQ_INT(r->nframes, 1);
        T_ASSERT(r->frames[0][1] != 0xD0);
        T_EQ_INT(r->frames[0][8], 1);
        T_EQ_INT(r->frames[0][9], 5);
    }
    sim_free(s);
}

void test_sim__mac_words(void)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[128];
    const uint8_t mac[6] = {0x24, 0x0A, 0xC4, 0x12, 0x34, 0x56};
    uint32_t lo, hi;
    uint8_t got[6], crc = 0;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    memcpy(cfg.mac, mac, 6);
    cfg.mac_set = true;
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), 0);
    sim_connect(s, false, 0);
    drain(s, R(), 0);
    lo = read_reg(s, 0x3FF5A004);
    hi = read_reg(s, 0x3FF5A008);
    got[0] = (uint8_t)(hi >> 8);
    got[1] = (uint8_t)hi;
    got[2] = (uint8_t)(lo >> 24);
    got[3] = (uint8_t)(lo >> 16);
    got[4] = (uint8_t)(lo >> 8);
    got[5] = (uint8_t)lo;
    T_EQ_MEM(got, mac, 6);
    for (int i = 0; i < 6; i++) {
        crc ^= mac[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint8_t)((crc >> 1) ^ 0x8C) : crc >> 1;
    }
    T_EQ_INT((hi >> 16) & 0xFF, crc);
    sim_free(s);

    /* C3: MAC at 0x60008844/48, no CRC */
    s = board("esp32c3");
    T_ASSERT(s);
    hi = read_reg(s, 0x60008848);
    T_EQ_INT(hi >> 16, 0);
    T_ASSERT(read_reg(s, 0x60008844) != 0);
    sim_free(s);
}

/* esptool's run_spiflash_command sequence for RDID / SFDP. */
static uint32_t spi_cmd(struct sim *s, uint32_t base, uint32_t usr,
                        uint32_t usr2, uint32_t miso_dlen, uint32_t w0,
                        uint8_t op, int bits)
{
    uint32_t old_usr = read_reg(s, base + usr);
    uint32_t old_usr2 = read_reg(s, base + usr2);
    uint32_t v;
    int i;

    write_reg(s, base + miso_dlen, (uint32_t)bits - 1);
    write_reg(s, base + usr, (1u << 31) | (1u << 28));
    write_reg(s, base + usr2, (7u << 28) | op);
    write_reg(s, base + w0, 0);
    write_reg(s, base, 1u << 18);
    for (i = 0; i < 10; i++)
        if ((read_reg(s, base) & (1u << 18)) == 0)
            break;
    if (i == 10)
        return 0xFFFFFFFF;
    v = read_reg(s, base + w0);
    write_reg(s, base + usr, old_usr);
    write_reg(s, base + usr2, old_usr2);
    return v;
}

void test_sim__rdid_sfdp_clkdiv(void)
{
    struct sim *s = board("esp32");
    uint32_t id;

    T_ASSERT(s);
    id = spi_cmd(s, 0x3FF42000, 0x1C, 0x24, 0x2C, 0x80, 0x9F, 24);
    T_EQ_INT(id & 0xFFFFFF, 0x1640C8);
    T_EQ_INT(spi_cmd(s, 0x3FF42000, 0x1C, 0x24, 0x2C, 0x80, 0x5A, 32),
             0x50444653);
    /* the real ESP32 ROM's autobaud divider (golden esptool trace) */
    T_EQ_INT(read_reg(s, 0x3FF40014) & 0xFFFFF, 346);
    sim_free(s);
    s = board("esp32c6");
    T_ASSERT(s);
    id = spi_cmd(s, 0x60003000, 0x18, 0x20, 0x28, 0x58, 0x9F, 24);
    T_EQ_INT(id & 0xFFFFFF, 0x1640C8);
    sim_free(s);
}

static int flash_begin(struct sim *s, uint8_t op, uint32_t size,
                       uint32_t blocks, uint32_t bs, uint32_t off, size_t sl)
{
    uint8_t d[16];

    put32(d, size);
    put32(d + 4, blocks);
    put32(d + 8, bs);
    put32(d + 12, off);
    return rom_cmd(s, op, d, 16, 0, sl);
}

static int flash_block(struct sim *s, uint8_t op, uint32_t seq,
                       const uint8_t *data, size_t n, size_t sl)
{
    uint8_t *d = malloc(16 + n);
    int rc;

    put32(d, (uint32_t)n);
    put32(d + 4, seq);
    put32(d + 8, 0);
    put32(d + 12, 0);
    memcpy(d + 16, data, n);
    rc = rom_cmd(s, op, d, 16 + n, xsum(data, n), sl);
    free(d);
    return rc;
}

void test_sim__nor_and_rom_md5(void)
{
    struct sim *s = board("esp32c3");
    uint8_t blk[0x400], md[16], q[16];
    const uint8_t *fl;
    char hex[33];
    struct rx *r = R();
    MD5_CTX c;

    T_ASSERT(s);
    memset(blk, 0x0F, sizeof blk);
    T_EQ_INT(flash_begin(s, 0x02, 0x1000, 1, 0x400, 0x2000, 4), 0);
    T_EQ_INT(flash_block(s, 0x03, 0, blk, sizeof blk, 4), 0);
    /* write again without erasing: bits only clear */
    memset(blk, 0xF3, sizeof blk);
    T_EQ_INT(flash_begin(s, 0x02, 0, 1, 0x400, 0x2000, 4), 0);
    T_EQ_INT(flash_block(s, 0x03, 0, blk, sizeof blk, 4), 0);
    fl = sim_flash(s, NULL);
    T_EQ_INT(fl[0x2000], 0x03);
    T_EQ_INT(fl[0x23FF], 0x03);
    T_EQ_INT(fl[0x2400], 0xFF);
    /* ROM MD5: 32 lowercase hex digits */
    put32(q, 0x2000);
    put32(q + 4, 0x400);
    put32(q + 8, 0);
    put32(q + 12, 0);
    send_cmd(s, 0x13, q, 16, 0, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 1);
    T_EQ_INT(r->flen[0], 8 + 32 + 4);
    MD5Init(&c);
    MD5Update(&c, fl + 0x2000, 0x400);
    MD5Final(md, &c);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    T_EQ_MEM(r->frames[0] + 8, hex, 32);
    sim_free(s);
}

/* ---- stub ---- */

/* Upload a fake stub image (no app descriptor): expects OHAI. */
static int start_stub(struct sim *s)
{
    uint8_t code[64], d[16], e[8];
    struct rx *r = R();

    memset(code, 0x13, sizeof code);
    put32(d, sizeof code);
    put32(d + 4, 1);
    put32(d + 8, 0x1800);
    put32(d + 12, 0x40380000);
    if (rom_cmd(s, 0x05, d, 16, 0, 4) != 0)
        return -1;
    if (flash_block(s, 0x07, 0, code, sizeof code, 4) != 0)
        return -2;
    put32(e, 0);
    put32(e + 4, 0x40380004);
    send_cmd(s, 0x06, e, 8, 0, 0);
    drain(s, r, 0);
    if (r->nframes != 2 || r->flen[1] != 4 ||
        memcmp(r->frames[1], "OHAI", 4) != 0)
        return -3;
    return 0;
}

void test_sim__stub_upload_and_status(void)
{
    struct sim *s = board("esp32");
    struct rx *r = R();

    T_ASSERT(s);
    T_EQ_INT(start_stub(s), 0);
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 8);
    T_EQ_INT(r->flen[0], 10);
    T_EQ_INT(get32(r->frames[0] + 4), 0);
    T_EQ_INT(read_reg(s, 0x40001000), 0x00F01D83);
    T_EQ_INT(rom_cmd(s, 0xEE, NULL, 0, 0, 2), 0xC300);
    /* unaligned ERASE_REGION */
    {
        uint8_t d[8];
        put32(d, 0x1001);
        put32(d + 4, 0x1000);
        T_EQ_INT(rom_cmd(s, 0xD1, d, 8, 0, 2), 0xC000);
        put32(d, 0x1000);
        T_EQ_INT(rom_cmd(s, 0xD1, d, 8, 0, 2), 0x0000);
    }
    sim_free(s);
}

/* The stub inflates into its 32 KiB buffer and writes it only when it is
 * full or the stream ends (esp-flasher-stub s_flash_defl_data_post_process):
 * a stream cut short leaves on the flash only the 32 KiB pieces it
 * completed, and a short stream is written whole at its end. */
void test_sim__stub_writes_inflated_data_in_32k_pieces(void)
{
    struct sim *s = board("esp32c3");
    size_t n = 40000, half;
    uint8_t *img = malloc(n), *z = malloc(n + 1024);
    uLongf zl = n + 1024;
    const uint8_t *fl;
    uint32_t off = 0x10000;

    T_ASSERT(s && img && z);
    for (size_t i = 0; i < n; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 9) + (i * i >> 13));
    T_EQ_INT(compress2(z, &zl, img, n, 9), Z_OK);
    T_ASSERT(zl > 0x800);
    T_EQ_INT(start_stub(s), 0);
    /* a third of the stream: under 32 KiB inflated, nothing written yet */
    half = zl / 3;
    T_EQ_INT(flash_begin(s, 0x10, (uint32_t)n, 2, 0x4000, off, 2), 0);
    T_EQ_INT(flash_block(s, 0x11, 0, z, half, 2), 0);
    fl = sim_flash(s, NULL);
    T_EQ_INT(fl[off], 0xFF);
    /* the rest: the first 32 KiB when the buffer fills, the tail at the
     * stream's end */
    {
        size_t m = zl - half;
        uint8_t *d = malloc(16 + m), e[4] = {1, 0, 0, 0};

        T_ASSERT(d);
        put32(d, (uint32_t)m);
        put32(d + 4, 1);
        put32(d + 8, 0);
        put32(d + 12, 0);
        memcpy(d + 16, z + half, m);
        T_EQ_INT(rom_cmd_at(s, 0x11, d, 16 + m, xsum(z + half, m), 2,
                            AFTER_WRITE), 0);
        free(d);
        T_EQ_INT(rom_cmd_at(s, 0x12, e, 4, 0, 2, 2 * AFTER_WRITE), 0);
    }
    fl = sim_flash(s, NULL);
    T_EQ_MEM(fl + off, img, n);
    sim_free(s);
    free(img);
    free(z);
}

void test_sim__stub_deflate_write_and_md5(void)
{
    struct sim *s = board("esp32c3");
    struct rx *r = R();
    size_t n = 40000;
    uint8_t *img = malloc(n), *z = malloc(n + 1024), q[16], md[16];
    uLongf zl = n + 1024;
    const uint8_t *fl;
    MD5_CTX c;
    uint32_t blocks, off = 0x10000;

    T_ASSERT(s && img && z);
    for (size_t i = 0; i < n; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 9));
    T_EQ_INT(compress2(z, &zl, img, n, 9), Z_OK);
    T_EQ_INT(start_stub(s), 0);
    blocks = (uint32_t)((zl + 0x3FFF) / 0x4000);
    T_EQ_INT(flash_begin(s, 0x10, (uint32_t)n, blocks, 0x4000, off, 2), 0);
    for (uint32_t b = 0; b < blocks; b++) {
        size_t len = zl - b * 0x4000u > 0x4000 ? 0x4000 : zl - b * 0x4000u;
        T_EQ_INT(flash_block(s, 0x11, b, z + b * 0x4000u, len, 2), 0);
    }
    {
        uint8_t e[4] = {1, 0, 0, 0};
        T_EQ_INT(rom_cmd_at(s, 0x12, e, 4, 0, 2, AFTER_WRITE), 0);
    }
    fl = sim_flash(s, NULL);
    T_EQ_MEM(fl + off, img, n);
    T_EQ_INT(fl[off + n], 0xFF);
    put32(q, off);
    put32(q + 4, (uint32_t)n);
    put32(q + 8, 0);
    put32(q + 12, 0);
    send_cmd(s, 0x13, q, 16, 0, AFTER_WRITE);
    drain(s, r, AFTER_WRITE);
    T_EQ_INT(r->nframes, 1);
    T_EQ_INT(r->flen[0], 8 + 16 + 2);
    MD5Init(&c);
    MD5Update(&c, img, n);
    MD5Final(md, &c);
    T_EQ_MEM(r->frames[0] + 8, md, 16);
    free(img);
    free(z);
    sim_free(s);
}

void test_sim__stub_read_flash_stream(void)
{
    struct sim *s = board("esp32s3");
    struct rx *r = R();
    uint8_t q[16], ack[4], md[16], got[10000];
    size_t total = 0;
    MD5_CTX c;

    T_ASSERT(s);
    T_EQ_INT(start_stub(s), 0);
    put32(q, 0);
    put32(q + 4, sizeof got);
    put32(q + 8, 4096);
    put32(q + 12, 64);
    send_cmd(s, 0xD2, q, 16, 0, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 2); /* reply + first packet only */
    T_EQ_INT(r->frames[0][8], 0);
    T_EQ_INT(r->flen[1], 4096);
    memcpy(got, r->frames[1], 4096);
    total = 4096;
    while (total < sizeof got) {
        put32(ack, (uint32_t)total);
        send_raw(s, ack, 4, 0);
        drain(s, r, 0);
        T_EQ_INT(r->nframes, 1);
        memcpy(got + total, r->frames[0], r->flen[0]);
        total += r->flen[0];
    }
    T_EQ_INT(total, sizeof got);
    put32(ack, (uint32_t)total);
    send_raw(s, ack, 4, 0);
    drain(s, r, 0);
    T_EQ_INT(r->nframes, 1);
    T_EQ_INT(r->flen[0], 16);
    MD5Init(&c);
    MD5Update(&c, sim_flash(s, NULL), sizeof got);
    MD5Final(md, &c);
    T_EQ_MEM(r->frames[0], md, 16);
    T_EQ_MEM(got, sim_flash(s, NULL), sizeof got);
    sim_free(s);
}

void test_sim__stub_deferred_error(void)
{
    struct sim *s = board("esp32c3");
    uint8_t junk[64];

    T_ASSERT(s);
    T_EQ_INT(start_stub(s), 0);
    memset(junk, 0x5A, sizeof junk); /* not a zlib stream */
    T_EQ_INT(flash_begin(s, 0x10, 0x1000, 1, 0x4000, 0x0, 2), 0);
    /* acknowledged at once ... */
    T_EQ_INT(flash_block(s, 0x11, 0, junk, sizeof junk, 2), 0);
    /* ... the inflate error comes with the next command */
    T_EQ_INT(rom_cmd_at(s, 0x0A, (const uint8_t *)"\0\x10\0\x40", 4, 0, 2,
                        AFTER_WRITE), 0xC700);
    T_EQ_INT(rom_cmd_at(s, 0x0A, (const uint8_t *)"\0\x10\0\x40", 4, 0, 2,
                        AFTER_WRITE), 0);
    sim_free(s);
}

/* ---- reset circuit ---- */

/* esptool's ClassicReset: DTR=0 RTS=1; 100 ms; DTR=1; RTS=0; 50 ms; DTR=0 */
static void classic_reset(struct sim *s, int64_t t0)
{
    sim_set_lines(s, false, true, t0);
    sim_set_lines(s, true, true, t0 + 100000);
    sim_set_lines(s, true, false, t0 + 100010);
    sim_set_lines(s, false, false, t0 + 150010);
}

void test_sim__reset_circuit(void)
{
    struct sim *s = mk("esp32", false);
    struct rx *r = R();

    T_ASSERT(s);
    sim_connect(s, true, 0);
    drain(s, r, 0);
    /* power-up with lines released: normal boot */
    T_CONTAINS(r->text, "SPI_FAST_FLASH_BOOT");
    /* EN held low: silence */
    drain(s, r, 999999);
    sim_set_lines(s, false, true, 1000000);
    drain(s, r, 1050000);
    T_EQ_INT(r->tlen, 0);
    sim_set_lines(s, false, false, 1060000);
    drain(s, r, 1999999);
    classic_reset(s, 2000000);
    drain(s, r, 2200000);
    T_EQ_STR(r->text, "ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),"
             "boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
             "waiting for download\r\n");
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 2300000);
    drain(s, r, 2300000);
    T_EQ_INT(r->nframes, 8);
    /* hard reset: RTS pulse -> normal boot, no SYNC answer */
    sim_set_lines(s, false, true, 3000000);
    sim_set_lines(s, false, false, 3100000);
    drain(s, r, 3200000);
    T_CONTAINS(r->text, "boot:0x12 (SPI_FAST_FLASH_BOOT)");
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 3300000);
    drain(s, r, 3300000);
    T_EQ_INT(r->nframes, 0);
    /* both lines asserted alone never resets */
    sim_set_lines(s, true, true, 4000000);
    drain(s, r, 4100000);
    T_ASSERT(strstr(r->text, "rst:") == NULL);
    sim_free(s);
}

void test_sim__no_lines_download_then_keeps_state(void)
{
    struct sim *s = mk("esp32c3", false);
    struct rx *r = R();

    T_ASSERT(s);
    sim_connect(s, false, 0);
    drain(s, r, 0);
    T_EQ_STR(r->text, "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n"
             "rst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\n"
             "wait uart0 download\r\n");
    sim_disconnect(s, 10);
    sim_connect(s, false, 20);
    drain(s, r, 20);
    T_EQ_INT(r->tlen, 0); /* no new banner: state kept */
    T_EQ_INT(read_reg(s, 0x40001000), 0x1B31506F);
    sim_free(s);
}

/* ---- pacing ---- */

void test_sim__paced_release(void)
{
    struct sim *s = mk("esp32", true);
    uint8_t buf[64];
    size_t got = 0, n;
    int64_t t, first = -1, last = -1;
    const size_t banner = strlen("ets Jul 29 2019 12:21:46\r\n\r\n");

    T_ASSERT(s);
    sim_connect(s, false, 0);
    /* nothing is due at once */
    T_EQ_INT(sim_tx(s, buf, sizeof buf, 0), 0);
    /* step through simulated time one microsecond at a time */
    for (t = 0; got < banner && t < 100000; t++) {
        n = sim_tx(s, buf, 1, t);
        if (n) {
            /* byte k may not appear before (k+1) * 10 bits / 115200 */
            T_ASSERT(t * 115200 >= (int64_t)(got + 1) * 10 * 1000000);
            if (first < 0)
                first = t;
            last = t;
            got++;
        }
    }
    T_EQ_INT(got, banner);
    T_ASSERT(last - first >= (int64_t)(banner - 1) * 86);
    T_ASSERT(sim_next_event_us(s, t) >= t);
    sim_free(s);
}

void test_sim__paced_command_waits_for_last_byte(void)
{
    struct sim *s = mk("esp32", true);
    uint8_t wire[128], buf[256];
    uint8_t body[8 + 36];
    size_t n;
    int64_t end;

    T_ASSERT(s);
    sim_connect(s, false, 0);
    while (sim_next_event_us(s, 0) >= 0 &&
           sim_tx(s, buf, sizeof buf, 1000000) > 0)
        ;
    body[0] = 0;
    body[1] = 8;
    body[2] = 36;
    body[3] = 0;
    put32(body + 4, 0);
    memcpy(body + 8, sync_data, 36);
    n = slip_encode(wire, sizeof wire, body, sizeof body);
    sim_rx(s, wire, n, 2000000);
    end = 2000000 + (int64_t)n * 10 * 1000000 / 115200;
    /* no reply before the command's last byte has arrived */
    T_EQ_INT(sim_tx(s, buf, sizeof buf, end - 100), 0);
    T_ASSERT(sim_tx(s, buf, sizeof buf, end + 2000) > 0);
    sim_free(s);
}

void test_sim__baud_mismatch_is_garbage(void)
{
    struct sim *s = mk("esp32", false);
    struct rx *r = R();

    T_ASSERT(s);
    sim_connect(s, true, 0);
    classic_reset(s, 1000000);
    drain(s, r, 1200000);
    T_CONTAINS(r->text, "download\r\n");
    sim_set_host_baud(s, 460800, 1300000);
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 1300000);
    drain(s, r, 1300000);
    T_EQ_INT(r->nframes, 0);
    sim_set_host_baud(s, 115200, 1400000);
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 1400000);
    drain(s, r, 1400000);
    T_EQ_INT(r->nframes, 8);
    sim_free(s);
}

/* ---- golden transcripts of the real ROMs ---- */

static size_t parse_hex(const char *p, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;
    int used;

    while (n < cap && sscanf(p, " %2x%n", &v, &used) == 1) {
        /* stop at the "[SYNC]" style annotation */
        out[n++] = (uint8_t)v;
        p += used;
        while (*p == ' ')
            p++;
        if (*p == '[' || *p == '\n' || !*p)
            break;
    }
    return n;
}

static void golden(const char *file, const char *chip, size_t banner_cmp)
{
    const char *dir = t_shared_dir();
    char path[1024];
    uint8_t *txt, *rx_g, *rx_s, buf[4096];
    size_t len, ng = 0, ns = 0, bg, bs;
    struct sim *s;
    char *line, *save = NULL;

    if (!dir)
        T_SKIP("../shared is absent: golden ROM transcripts not checked");
    snprintf(path, sizeof path, "%s/golden/%s", dir, file);
    txt = t_read_file(path, &len);
    if (!txt)
        T_SKIP("golden transcript missing");
    rx_g = malloc(65536);
    rx_s = malloc(65536);
    s = mk(chip, false);
    T_ASSERT(s && rx_g && rx_s);
    sim_connect(s, false, 0);
    ns += sim_tx(s, rx_s + ns, 65536 - ns, 0);
    txt = realloc(txt, len + 1);
    txt[len] = 0;
    for (line = strtok_r((char *)txt, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *k;

        if (line[0] == '#')
            continue;
        if ((k = strstr(line, "s RX ")) != NULL) {
            ng += parse_hex(k + 5, rx_g + ng, 65536 - ng);
        } else if ((k = strstr(line, "s TX ")) != NULL) {
            size_t n = parse_hex(k + 5, buf, sizeof buf);

            sim_rx(s, buf, n, 0);
            while ((n = sim_tx(s, rx_s + ns, 65536 - ns, 0)) > 0)
                ns += n;
        }
    }
    /* banner: text before the first frame */
    for (bg = 0; bg < ng && rx_g[bg] != 0xC0; bg++)
        ;
    for (bs = 0; bs < ns && rx_s[bs] != 0xC0; bs++)
        ;
    T_ASSERT(bg >= banner_cmp && bs >= banner_cmp);
    T_EQ_MEM(rx_s, rx_g, banner_cmp);
    if (banner_cmp == bg)
        T_EQ_INT(bs, bg);
    /* every reply byte, SLIP framing included */
    T_ASSERT(ng - bg > 100);
    T_EQ_INT(ns - bs, ng - bg);
    T_EQ_MEM(rx_s + bs, rx_g + bg, ng - bg);
    free(rx_g);
    free(rx_s);
    free(txt);
    sim_free(s);
}

void test_sim__golden_esp32_rom(void)
{
    /* The capture strapped QEMU to boot:0xf (UART_BOOT), a mode a real
     * board with IO0 low does not show; the banner is compared up to the
     * strap value, everything after it byte for byte. */
    golden("qemu-esp32-rom.txt", "esp32",
           strlen("ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),"
                  "boot:"));
}

void test_sim__golden_esp32c3_rom(void)
{
    golden("qemu-esp32c3-rom.txt", "esp32c3",
           strlen("ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n"
                  "rst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\n"
                  "wait uart0 download\r\n"));
}

/* ---- flash file, trace, timing of work ---- */

void test_sim__flash_file_and_trace(void)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256], fpath[512], tpath[512];
    uint8_t blk[0x400], *trace, *img;
    size_t len;

    snprintf(fpath, sizeof fpath, "%s/flash.bin", t_tmpdir());
    snprintf(tpath, sizeof tpath, "%s/trace.txt", t_tmpdir());
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32s3";
    cfg.no_pacing = true;
    cfg.flash_size = 1 << 20;
    cfg.flash_file = fpath;
    cfg.trace_path = tpath;
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), 0);
    sim_connect(s, false, 0);
    drain(s, R(), 0);
    memset(blk, 0xA5, sizeof blk);
    T_EQ_INT(flash_begin(s, 0x02, 0x1000, 1, 0x400, 0x3000, 4), 0);
    T_EQ_INT(flash_block(s, 0x03, 0, blk, sizeof blk, 4), 0);
    sim_free(s);
    img = t_read_file(fpath, &len);
    T_ASSERT(img);
    T_EQ_INT(len, 1 << 20);
    T_EQ_INT(img[0x3000], 0xA5);
    T_EQ_INT(img[0x2FFF], 0xFF);
    free(img);
    trace = t_read_file(tpath, &len);
    T_ASSERT(trace);
    trace = realloc(trace, len + 1);
    trace[len] = 0;
    T_CONTAINS((char *)trace, " RX 24 00 02 10 00");
    T_CONTAINS((char *)trace, " TX 12 01 03 04 00");
    free(trace);
    /* reopened: contents kept */
    s = NULL;
    cfg.trace_path = NULL;
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), 0);
    T_EQ_INT(sim_flash(s, NULL)[0x3000], 0xA5);
    sim_free(s);
}

/* Send a command and return the time its first reply byte is due. */
static int64_t paced_cmd(struct sim *s, uint8_t op, const uint8_t *d,
                         size_t n, uint32_t chk, int64_t now, int64_t limit)
{
    uint8_t buf[64];

    send_cmd(s, op, d, n, chk, now);
    for (int64_t t = now; t < limit; t += 100)
        if (sim_tx(s, buf, sizeof buf, t) > 0) {
            int64_t due = t;
            while (sim_tx(s, buf, sizeof buf, t + 1000000) > 0)
                ;
            return due;
        }
    return -1;
}

/* Upload a (dummy) stub through the paced ROM; when it said OHAI. */
static int64_t paced_stub(struct sim *s, int64_t now)
{
    uint8_t d[16], e[8], pkt[16 + 64], code[64];

    memset(code, 0x13, sizeof code);
    put32(d, sizeof code);
    put32(d + 4, 1);
    put32(d + 8, 0x1800);
    put32(d + 12, 0x40380000);
    if ((now = paced_cmd(s, 0x05, d, 16, 0, now, now + 100000)) < 0)
        return -1;
    memset(pkt, 0, 16);
    put32(pkt, sizeof code);
    memcpy(pkt + 16, code, sizeof code);
    if ((now = paced_cmd(s, 0x07, pkt, sizeof pkt, xsum(code, sizeof code),
                         now, now + 100000)) < 0)
        return -1;
    put32(e, 0);
    put32(e + 4, 0x40380004);
    if ((now = paced_cmd(s, 0x06, e, 8, 0, now, now + 100000)) < 0)
        return -1;
    return now + 100000;
}

void test_sim__rom_erase_and_stub_overlap_timing(void)
{
    struct sim *s = mk("esp32c3", true);
    uint8_t d[16], *blk = calloc(1, 16 + 0x4000);
    uint8_t buf[512];
    int64_t t, wire_us;

    T_ASSERT(s && blk);
    sim_connect(s, false, 0);
    while (sim_tx(s, buf, sizeof buf, 1000000) > 0)
        ;
    /* ROM FLASH_BEGIN over 64 KiB at 0x10000: one block erase, 150 ms */
    put32(d, 0x10000);
    put32(d + 4, 64);
    put32(d + 8, 0x400);
    put32(d + 12, 0x10000);
    t = paced_cmd(s, 0x02, d, 16, 0, 2000000, 3000000);
    wire_us = 26 * 10 * 1000000 / 115200;
    T_ASSERT(t >= 2000000 + wire_us + 150000);
    T_ASSERT(t < 2000000 + wire_us + 160000);
    /* one ROM block of zeros at 0x10000: the stub below finds a sector
     * that is not blank and erases every sector it writes */
    memset(blk, 0, 16 + 0x400);
    put32(blk, 0x400);
    T_ASSERT(paced_cmd(s, 0x03, blk, 16 + 0x400, xsum(blk + 16, 0x400),
                       t + 1000, t + 1000000) > 0);

    /* stub: upload, then two 16 KiB blocks and FLASH_END */
    {
        uint8_t e[8];
        int64_t now = paced_stub(s, 3000000), arrive;

        T_ASSERT(now > 0);
        put32(d, 0x8000);
        put32(d + 4, 2);
        put32(d + 8, 0x4000);
        put32(d + 12, 0x10000);
        T_ASSERT((now = paced_cmd(s, 0x02, d, 16, 0, now, now + 100000)) > 0);
        memset(blk, 0, 16 + 0x4000);
        put32(blk, 0x4000);
        wire_us = (int64_t)(2 + 8 + 16 + 0x4000) * 10 * 1000000 / 115200;
        for (uint32_t b = 0; b < 2; b++) {
            put32(blk + 4, b);
            arrive = now + wire_us;
            t = paced_cmd(s, 0x03, blk, 16 + 0x4000, xsum(blk + 16, 0x4000),
                          now, now + 3000000);
            /* acknowledged on arrival: the previous block's write (4
             * sectors erased + 64 pages = 205.6 ms) hid under the transfer */
            T_ASSERT(t >= arrive);
            T_ASSERT(t < arrive + 5000);
            now = t + 1000;
        }
        put32(e, 1);
        arrive = now - 1000; /* when the last block was acknowledged */
        t = paced_cmd(s, 0x04, e, 4, 0, now, now + 3000000);
        /* FLASH_END waits for the last block's write: the erase of its
         * first sector started when it arrived (the one the first block
         * started has long ended), then three more, then 64 pages */
        T_ASSERT(t >= arrive + 4 * 45000 + 64 * 400);
        T_ASSERT(t < arrive + 4 * 45000 + 64 * 400 + 5000);
    }
    sim_free(s);
    free(blk);
}

/*
 * The stub on blank flash (esp-flasher-stub's skip-erase): every sector is
 * read (1 ms each at the MD5 rate) and none erased, so the last block's
 * write costs its reads and pages only.  On written flash FLASH_BEGIN
 * starts the first erase at once: a block that arrives after it ended is
 * written without waiting for it.
 */
void test_sim__stub_skips_blank_and_erases_at_begin(void)
{
    struct sim *s = mk("esp32c3", true);
    uint8_t d[16], e[4], *blk = calloc(1, 16 + 0x1000);
    uint8_t buf[512];
    int64_t now, t, arrive, wire_us;

    T_ASSERT(s && blk);
    sim_connect(s, false, 0);
    while (sim_tx(s, buf, sizeof buf, 1000000) > 0)
        ;
    now = paced_stub(s, 2000000);
    T_ASSERT(now > 0);
    wire_us = (int64_t)(2 + 8 + 16 + 0x1000) * 10 * 1000000 / 115200;
    for (int pass = 0; pass < 2; pass++) {
        /* 8 KiB at 0x20000 in two 4 KiB blocks of zeros */
        put32(d, 0x2000);
        put32(d + 4, 2);
        put32(d + 8, 0x1000);
        put32(d + 12, 0x20000);
        T_ASSERT((now = paced_cmd(s, 0x02, d, 16, 0, now, now + 100000)) > 0);
        memset(blk, 0, 16 + 0x1000);
        put32(blk, 0x1000);
        for (uint32_t b = 0; b < 2; b++) {
            put32(blk + 4, b);
            arrive = now + wire_us;
            t = paced_cmd(s, 0x03, blk, 16 + 0x1000, xsum(blk + 16, 0x1000),
                          now, now + 3000000);
            T_ASSERT(t >= arrive && t < arrive + 5000);
            now = t + 1000;
        }
        arrive = now - 1000;
        put32(e, 1);
        t = paced_cmd(s, 0x04, e, 4, 0, now, now + 3000000);
        if (pass == 0) {
            /* blank: the second sector read (1.024 ms) and 16 pages (less
             * the 100 us the ack was polled late: it comes after the
             * stub's RX timeout, sim_stubrx.h) */
            T_ASSERT(t >= arrive + 1024 + 16 * 400 - 100);
            T_ASSERT(t < arrive + 1024 + 16 * 400 + 5000);
        } else {
            /* written: the first sector's erase ran under the first
             * block's transfer (357 ms > 45 ms); the second sector is
             * erased when its block arrives, then its 16 pages */
            T_ASSERT(t >= arrive + 45000 + 16 * 400);
            T_ASSERT(t < arrive + 45000 + 16 * 400 + 5000);
        }
        now = t + 1000;
    }
    sim_free(s);
    free(blk);
}

void test_sim__slow_line_changes_still_reach_download(void)
{
    struct sim *s = mk("esp32c3", false);
    struct rx *r = R();

    T_ASSERT(s);
    sim_connect(s, true, 0);
    sim_set_lines(s, true, true, 10000);      /* pyserial opens: both on */
    drain(s, r, 999999);
    /* each change ~50 ms apart, as over pyserial's RFC 2217 client */
    sim_set_lines(s, false, true, 1000000);   /* EN low */
    sim_set_lines(s, false, true, 1050000);
    sim_set_lines(s, true, true, 1150000);    /* EN released, IO0 high */
    sim_set_lines(s, true, false, 1200000);   /* IO0 low */
    sim_set_lines(s, false, false, 1300000);
    drain(s, r, 1400000);
    T_CONTAINS(r->text, "wait uart0 download");
    /* UnixTightReset: (0,0) (1,1) (0,1) 100 ms (1,0) 50 ms (0,0) */
    sim_set_lines(s, true, true, 2000000);
    sim_set_lines(s, false, true, 2000010);
    sim_set_lines(s, true, false, 2100010);
    sim_set_lines(s, false, false, 2150010);
    drain(s, r, 2200000);
    T_CONTAINS(r->text, "wait uart0 download");
    sim_free(s);
}

/* --trace on a paced board: every frame is stamped when its last byte is
 * on the other side of the wire (audit P14: the 8 SYNC replies once all
 * carried the request's stamp). */
void test_sim__trace_stamps_wire_timing(void)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256], tpath[512], *line, *save = NULL;
    uint8_t sync[36] = {0x07, 0x07, 0x12, 0x20};
    double rx = -1, tx[16], frame_s = 14 * 10 / 115200.0;
    size_t len, ntx = 0;
    char *trace;

    snprintf(tpath, sizeof tpath, "%s/wire-trace.txt", t_tmpdir());
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.trace_path = tpath;
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), 0);
    sim_connect(s, false, 0);
    drain(s, R(), 1000000); /* the banner */
    memset(sync + 4, 0x55, 32);
    send_cmd(s, 0x08, sync, sizeof sync, 0, 1000000);
    drain(s, R(), 1002000); /* part of the replies by then */
    drain(s, R(), 2000000);
    sim_free(s);

    trace = (char *)t_read_file(tpath, &len);
    T_ASSERT(trace);
    trace = realloc(trace, len + 1);
    trace[len] = 0;
    for (line = strtok_r(trace, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        double t;
        char dir[3];
        unsigned n;

        if (sscanf(line, "%lf %2s %u", &t, dir, &n) != 3)
            continue;
        if (!strcmp(dir, "RX") && n == 44)
            rx = t;
        else if (!strcmp(dir, "TX") && n == 12 && ntx < 16)
            tx[ntx++] = t;
    }
    free(trace);
    T_EQ_INT(ntx, 8);
    /* the request's 46 wire bytes take 4 ms at 115200 baud */
    T_ASSERT(rx >= 1.0 + 46 * 10 / 115200.0 - 2e-6);
    /* each 14-byte reply leaves after the one before it */
    T_ASSERT(tx[0] >= rx + frame_s - 2e-6);
    for (size_t i = 1; i < ntx; i++)
        if (tx[i] < tx[i - 1] + frame_s - 2e-6)
            t_fail(__FILE__, __LINE__, "reply %zu at %.6f, %.6f after "
                   "reply %zu", i, tx[i], tx[i] - tx[i - 1], i - 1);
}

/*
 * One FLASH_DEFL_DATA frame of a few KB can inflate to megabytes: the
 * board inflates no further than FLASH_DEFL_BEGIN announced (the stub's
 * uncompressed size, the ROM's erase size), as the real stubs do, and says
 * so: the stub with TOO_MUCH_DATA on the next command, the ROM at once
 * (issue 8).
 */
void test_sim__deflate_bounded_by_begin(void)
{
    size_t n = 2u << 20;
    uint8_t *zeros = calloc(1, n), *z = malloc(64 * 1024);
    uLongf zl = 64 * 1024;
    const uint8_t *fl;
    struct sim *s;

    T_ASSERT(zeros && z);
    T_EQ_INT(compress2(z, &zl, zeros, n, 9), Z_OK);
    T_ASSERT(zl < 0x4000); /* one block, ~1000x its size inflated */

    s = board("esp32");
    T_ASSERT(s);
    T_EQ_INT(start_stub(s), 0);
    T_EQ_INT(flash_begin(s, 0x10, 0x1000, 1, 0x4000, 0x10000, 2), 0);
    T_EQ_INT(flash_block(s, 0x11, 0, z, zl, 2), 0); /* acknowledged first */
    {
        uint8_t e[4] = {1, 0, 0, 0};
        T_EQ_INT(rom_cmd_at(s, 0x12, e, 4, 0, 2, AFTER_WRITE),
                 0xC900); /* TOO_MUCH_DATA */
    }
    fl = sim_flash(s, NULL);
    T_EQ_INT(fl[0x10FFF], 0x00);
    T_EQ_INT(fl[0x11000], 0xFF); /* nothing past the announced size */
    sim_free(s);

    s = board("esp32");
    T_ASSERT(s);
    T_EQ_INT(flash_begin(s, 0x10, 0x1000, 1, 0x4000, 0x10000, 4), 0);
    T_EQ_INT(flash_block(s, 0x11, 0, z, zl, 4), 0x010B);
    fl = sim_flash(s, NULL);
    T_EQ_INT(fl[0x10FFF], 0x00);
    T_EQ_INT(fl[0x11000], 0xFF);
    sim_free(s);
    free(zeros);
    free(z);
}

/* The simulator's adapters: datasheet maxima and the VID:PID each
 * reports (docs/simulator.md); the option sets both. */
void test_sim__adapter_table(void)
{
    struct sim_config cfg;
    char err[256];

    T_EQ_INT((int)sim_adapter_find("ch9102")->max_baud, 4000000);
    T_EQ_INT((int)sim_adapter_find("CH343")->max_baud, 6000000);
    T_EQ_INT((int)sim_adapter_find("cp2102")->max_baud, 1000000);
    T_ASSERT(!sim_adapter_find("pl2303"));
    memset(&cfg, 0, sizeof cfg);
    T_EQ_INT(sim_config_option(&cfg, "adapter", "ch340", err, sizeof err),
             ED_OK);
    T_EQ_INT((int)cfg.max_baud, 2000000);
    T_EQ_INT(cfg.usb_vid, 0x1A86);
    T_EQ_INT(cfg.usb_pid, 0x7523);
    T_EQ_INT(sim_config_option(&cfg, "adapter", "pl2303", err, sizeof err),
             ED_ERR_ARG);
    T_EQ_INT(sim_config_option(&cfg, "adapter", "usb-serial-jtag", err,
                               sizeof err), ED_OK);
    T_ASSERT(cfg.usb_jtag);
    T_EQ_INT(cfg.usb_vid, 0x303A);
    T_EQ_INT(cfg.usb_pid, 0x1001);
    T_EQ_INT((int)cfg.max_baud, 0);
    T_EQ_INT(sim_config_option(&cfg, "usb-rate", "300000", err, sizeof err),
             ED_OK);
    T_EQ_INT((int)cfg.usb_rate, 300000);
    T_EQ_INT(sim_config_option(&cfg, "usb-rate", "2000000", err, sizeof err),
             ED_ERR_ARG);
}

/* ck8m-drift: a percentage within +/-20 %, only for the ESP32 (whose ROM
 * alone derives its crystal from the 8 MHz clock). */
void test_sim__ck8m_drift_option(void)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];

    memset(&cfg, 0, sizeof cfg);
    T_EQ_INT(sim_config_option(&cfg, "ck8m-drift", "-2.5%", err, sizeof err),
             ED_OK);
    T_EQ_INT(cfg.ck8m_drift_ppm, -25000);
    T_ASSERT(cfg.ck8m_drift_set);
    T_EQ_INT(sim_config_option(&cfg, "ck8m-drift", "5", err, sizeof err),
             ED_OK);
    T_EQ_INT(cfg.ck8m_drift_ppm, 50000);
    T_EQ_INT(sim_config_option(&cfg, "ck8m-drift", "21", err, sizeof err),
             ED_ERR_ARG);
    T_EQ_INT(sim_config_option(&cfg, "ck8m-drift", "", err, sizeof err),
             ED_ERR_ARG);
    T_EQ_INT(sim_config_option(&cfg, "ck8m-drift", "5x", err, sizeof err),
             ED_ERR_ARG);
    cfg.chip = "esp32c3";
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "only the ESP32's does");
    cfg.chip = "esp32";
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), ED_OK);
    sim_free(s);
}

/* ---- USB-Serial/JTAG (adapter=usb-serial-jtag) ---- */

static struct sim *mk_usj(const char *chip, bool pacing, char *err,
                          size_t errlen)
{
    struct sim_config cfg;
    struct sim *s = NULL;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    cfg.no_pacing = !pacing;
    if (sim_config_option(&cfg, "adapter", "usb-serial-jtag", err,
                          errlen) != ED_OK)
        return NULL;
    if (sim_new(&s, &cfg, err, errlen) != ED_OK)
        return NULL;
    return s;
}

/* esptool's USBJTAGSerialReset: (0,0) 100 ms, DTR=1 100 ms, RTS=1, DTR=0,
 * RTS=1, 100 ms, DTR=0 RTS=0 (src/port/port.c SEQ_USB_JTAG) */
static void usj_reset(struct sim *s, int64_t t0)
{
    sim_set_lines(s, false, false, t0);
    sim_set_lines(s, true, false, t0 + 100000);
    sim_set_lines(s, true, true, t0 + 200000);
    sim_set_lines(s, false, true, t0 + 200010);
    sim_set_lines(s, false, false, t0 + 300010);
}

/* The controller's reset logic, not the two-transistor circuit: esptool's
 * USB-JTAG sequence reaches download mode, the classic one boots the
 * flash, an RTS pulse is a hard reset. */
void test_sim__usb_jtag_reset_logic(void)
{
    char err[256];
    struct sim *s = mk_usj("esp32c3", false, err, sizeof err);
    struct rx *r = R();

    if (!s)
        t_fail(__FILE__, __LINE__, "%s", err);
    sim_connect(s, true, 0);
    drain(s, r, 0);
    T_CONTAINS(r->text, "SPI_FAST_FLASH_BOOT"); /* power-up: flash */
    usj_reset(s, 1000000);
    drain(s, r, 1400000);
    T_CONTAINS(r->text, "download\r\n");
    send_cmd(s, 0x08, sync_data, sizeof sync_data, 0, 1500000);
    drain(s, r, 1500000);
    T_EQ_INT(r->nframes, 8);
    /* the classic sequence passes (0,0) before its reset: flash boot */
    classic_reset(s, 2000000);
    drain(s, r, 2300000);
    T_CONTAINS(r->text, "SPI_FAST_FLASH_BOOT");
    T_ASSERT(!strstr(r->text, "download\r\n"));
    /* hard reset after the USB-JTAG sequence: flash boot */
    usj_reset(s, 3000000);
    drain(s, r, 3400000);
    T_CONTAINS(r->text, "download\r\n");
    sim_set_lines(s, false, true, 4000000);
    sim_set_lines(s, false, false, 4200000);
    drain(s, r, 4300000);
    T_CONTAINS(r->text, "SPI_FAST_FLASH_BOOT");
    sim_free(s);
}

/* No UART on the line: bytes move at the USB link's throughput whatever
 * the baud, and a host baud that differs from the chip's garbles
 * nothing. */
void test_sim__usb_jtag_line_ignores_the_baud(void)
{
    char err[256];
    struct sim *s = mk_usj("esp32s3", true, err, sizeof err);
    char buf[256];
    struct rx *r = R();
    uint8_t a[4];
    size_t got = 0;
    int64_t t;

    if (!s)
        t_fail(__FILE__, __LINE__, "%s", err);
    sim_connect(s, false, 0); /* no lines: powers up in download mode */
    /* the banner (> 80 bytes) is out within 100 us: at 115200 baud its
     * first 10 bytes alone take 868 us */
    for (t = 0; t <= 100; t++)
        got += sim_tx(s, (uint8_t *)buf + got, sizeof buf - 1 - got, t);
    buf[got] = '\0';
    T_ASSERT(got > 80);
    T_CONTAINS(buf, "download");
    /* the host at 921600, the chip's UART at 115200: still answered */
    sim_set_host_baud(s, 921600, 200);
    put32(a, 0x40001000);
    send_cmd(s, 0x0A, a, 4, 0, 1000);
    drain(s, r, 100000);
    T_EQ_INT(r->nframes, 1);
    T_EQ_INT(r->frames[0][1], 0x0A);
    sim_free(s);
}

void test_sim__usb_jtag_only_where_the_chip_has_one(void)
{
    char err[256];
    struct sim *s = mk_usj("esp32", false, err, sizeof err);

    T_ASSERT(!s);
    T_CONTAINS(err, "has no USB-Serial/JTAG");
    s = mk_usj("esp32c2", false, err, sizeof err);
    T_ASSERT(!s);
    s = mk_usj("esp32p4", false, err, sizeof err);
    T_ASSERT(s);
    sim_free(s);
}

/* ---- the RFC 2217 server's Telnet parser (sim_server.c) ---- */

/* A client that sends requests and never reads the answers (it is on the
 * network): the server's queue stops growing at a bound. */
void test_sim__telnet_answers_are_bounded(void)
{
    static const uint8_t sig[] = {255, 250, 44, 0, 255, 240};
    size_t n = 300000, i, total;
    uint8_t *in = malloc(n * sizeof sig), first[4];
    struct sim *s = mk("esp32", false);

    T_ASSERT(in && s);
    for (i = 0; i < n; i++)
        memcpy(in + i * sizeof sig, sig, sizeof sig);
    total = sim_server_telnet_feed(s, in, n * sizeof sig, 4096, first,
                                   sizeof first);
    /* each signature request is answered (29 bytes) until the bound */
    T_ASSERT(total >= 256 * 1024);
    T_ASSERT(total <= 512 * 1024);
    T_EQ_INT(first[0], 255);
    T_EQ_INT(first[1], 250);
    T_EQ_INT(first[3], 100); /* the server's signature */
    sim_free(s);
    free(in);
}

/* The stub's checks on a data block come before it is used, as
 * esp-flasher-stub's: a compressed block is summed and inflated over as
 * many bytes as its length word says (a shorter word whose sum matches is
 * taken, only that much); a plain block whose length word disagrees is
 * TOO_MUCH_DATA; a rejected block leaves the stream as it was. */
void test_sim__stub_data_checks_before_use(void)
{
    uint8_t raw[256], z[512], d[16 + 600];
    uLongf zl = sizeof z;
    const uint8_t *fl;
    struct sim *s = board("esp32");
    size_t i;

    T_ASSERT(s);
    for (i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(i * 7);
    T_EQ_INT(compress2(z, &zl, raw, sizeof raw, 9), Z_OK);
    T_EQ_INT(start_stub(s), 0);
    T_EQ_INT(flash_begin(s, 0x10, sizeof raw, 1, 0x4000, 0x10000, 2), 0);
    /* a length word past the frame: a checksum error, nothing used */
    put32(d, (uint32_t)zl + 1);
    put32(d + 4, 0);
    put32(d + 8, 0);
    put32(d + 12, 0);
    memcpy(d + 16, z, zl);
    T_EQ_INT(rom_cmd(s, 0x11, d, 16 + zl, xsum(z, zl), 2), 0xC100);
    /* a shorter length word with its own sum: that prefix is inflated,
     * then the rest in a block of its own; the image is whole */
    put32(d, 5);
    T_EQ_INT(rom_cmd(s, 0x11, d, 16 + zl, xsum(z, 5), 2), 0x0000);
    put32(d, (uint32_t)zl - 5);
    put32(d + 4, 1);
    memmove(d + 16, z + 5, zl - 5);
    T_EQ_INT(rom_cmd_at(s, 0x11, d, 16 + zl - 5, xsum(z + 5, zl - 5), 2,
                        AFTER_WRITE), 0);
    {
        uint8_t e[4] = {1, 0, 0, 0};
        T_EQ_INT(rom_cmd_at(s, 0x12, e, 4, 0, 2, 2 * AFTER_WRITE), 0x0000);
    }
    fl = sim_flash(s, NULL);
    T_EQ_MEM(fl + 0x10000, raw, sizeof raw);
    /* plain: a length word that disagrees is TOO_MUCH_DATA */
    {
        uint8_t b[16];

        put32(b, 16);
        put32(b + 4, 1);
        put32(b + 8, 0x4000);
        put32(b + 12, 0x20000);
        T_EQ_INT(rom_cmd_at(s, 0x02, b, 16, 0, 2, 2 * AFTER_WRITE), 0);
    }
    put32(d, 15);
    memset(d + 16, 0x42, 16);
    T_EQ_INT(rom_cmd_at(s, 0x03, d, 32, xsum(d + 16, 16), 2,
                        2 * AFTER_WRITE), 0xC900);
    sim_free(s);
}

/*
 * esp-flasher-stub's receiver (src/frame_buffer.c: two buffers, re-armed
 * when the main loop takes a frame): while it inflates and writes an
 * acknowledged data block, one more frame waits; a third that starts then
 * is lost whole.  The MD5 sent after the block is answered, the block
 * sent right after it never is; the next command is.
 */
/* The stub writing the first 64 compressed bytes of an n-byte image at
 * 0x10000 (img filled, z its stream) with an MD5 request waiting in its
 * second buffer. */
static void writing_with_an_md5_waiting(struct sim *s, uint8_t *img,
                                        uint8_t *z, uLongf *zl, size_t n)
{
    uint8_t q[16];

    for (size_t i = 0; i < n; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 9));
    T_EQ_INT(compress2(z, zl, img, n, 9), Z_OK);
    T_ASSERT(*zl > 64);
    T_EQ_INT(start_stub(s), 0);
    T_EQ_INT(flash_begin(s, 0x10, (uint32_t)n, 2, 0x4000, 0x10000, 2), 0);
    T_EQ_INT(flash_block(s, 0x11, 0, z, 64, 2), 0); /* now writing */
    put32(q, 0x10000);
    put32(q + 4, 0x1000);
    put32(q + 8, 0);
    put32(q + 12, 0);
    send_cmd(s, 0x13, q, 16, 0, 0); /* waits in the 2nd buffer */
}

void test_sim__stub_loses_a_third_frame_while_writing(void)
{
    struct sim *s = board("esp32c3");
    struct rx *r = R();
    size_t n = 0x8000;
    uint8_t *img = malloc(n), *z = malloc(n + 1024), *d;
    uLongf zl = n + 1024;

    T_ASSERT(s && img && z);
    writing_with_an_md5_waiting(s, img, z, &zl, n);
    d = malloc(16 + zl - 64);
    T_ASSERT(d);
    put32(d, (uint32_t)(zl - 64));
    put32(d + 4, 1);
    put32(d + 8, 0);
    put32(d + 12, 0);
    memcpy(d + 16, z + 64, zl - 64);
    send_cmd(s, 0x11, d, 16 + zl - 64, xsum(z + 64, zl - 64), 0); /* lost */
    drain(s, r, AFTER_WRITE);
    T_EQ_INT(r->nframes, 1);
    T_EQ_INT(r->frames[0][1], 0x13);
    /* the receiver works again: the block sent now is taken */
    T_EQ_INT(rom_cmd_at(s, 0x11, d, 16 + zl - 64, xsum(z + 64, zl - 64), 2,
                        AFTER_WRITE), 0);
    {
        uint8_t e[4] = {1, 0, 0, 0};
        T_EQ_INT(rom_cmd_at(s, 0x12, e, 4, 0, 2, 2 * AFTER_WRITE), 0);
    }
    T_EQ_MEM(sim_flash(s, NULL) + 0x10000, img, n);
    free(d);
    free(img);
    free(z);
    sim_free(s);
}

/*
 * Two SPI_FLASH_MD5 requests sent back to back (the loader keeps two in
 * flight): the board handles one command at a time (esp-flasher-stub's
 * main loop; the ROM's), so the second hash starts when the first is done
 * and its reply comes two hashing times after the requests, not one.
 */
static void two_md5s_in_a_row(bool stub)
{
    struct sim *s = mk("esp32c3", true);
    uint8_t q[16], buf[512];
    int64_t now, first = -1, second = -1, hash_us = 0x10000 * 1000000LL /
                                                     4000000;
    int frames = 0;
    bool open = false;

    T_ASSERT(s);
    sim_connect(s, false, 0);
    while (sim_tx(s, buf, sizeof buf, 1000000) > 0)
        ;
    now = stub ? paced_stub(s, 2000000) : 2000000;
    T_ASSERT(now > 0);
    put32(q, 0x10000);
    put32(q + 4, 0x10000);
    put32(q + 8, 0);
    put32(q + 12, 0);
    send_cmd(s, 0x13, q, 16, 0, now);
    put32(q, 0x20000);
    /* to the stub, the second once the first was taken: its 26 bytes at
     * 115200 (2.3 ms) and the RX timeout (0.9 ms); back to back it would
     * be lost (sim__stub_loses_a_frame_behind_another_in_one_batch) */
    if (stub)
        now += 4000;
    send_cmd(s, 0x13, q, 16, 0, now);
    if (stub)
        now -= 4000;
    /* reply frames end with 0xC0: note when each one's last byte is due */
    for (int64_t t = now; t < now + 1000000 && frames < 2; t += 50) {
        size_t n = sim_tx(s, buf, sizeof buf, t);

        for (size_t i = 0; i < n; i++) {
            if (buf[i] != 0xC0)
                continue;
            if (open && frames++ == 0)
                first = t;
            else if (open)
                second = t;
            open = !open;
        }
    }
    T_EQ_INT(frames, 2);
    T_ASSERT(first >= now + hash_us);
    T_ASSERT(second >= now + 2 * hash_us);
    T_ASSERT(second < now + 2 * hash_us + 10000);
    sim_free(s);
}

void test_sim__md5_requests_are_hashed_one_at_a_time(void)
{
    two_md5s_in_a_row(true);
    two_md5s_in_a_row(false);
}

/* ---- the stub's receiver, as esp-flasher-stub's (sim_stubrx.c) ---- */

/* An SPI_FLASH_MD5 request of 4 KiB at 0 sent at now (after a lone 0xC0
 * when lone); how many replies came by then. */
static void send_md5(struct sim *s, uint32_t off, uint32_t len, int64_t now)
{
    uint8_t q[16] = {0};

    put32(q, off);
    put32(q + 4, len);
    send_cmd(s, 0x13, q, 16, 0, now);
}

static size_t md5_answered(struct sim *s, bool lone, int64_t now)
{
    static const uint8_t end = 0xC0;
    struct rx *r = R();

    if (lone)
        sim_rx(s, &end, 1, now);
    send_md5(s, 0, 0x1000, now);
    drain(s, r, now + 100000); /* paced: its reply is out by then */
    return r->nframes;
}

/* Frames are lost until a lone 0xC0, which puts the receiver back. */
static void lost_until_a_lone_end(struct sim *s, int64_t now)
{
    T_EQ_INT(md5_answered(s, false, now), 0);
    T_EQ_INT(md5_answered(s, false, now + 200000), 0);
    T_EQ_INT(md5_answered(s, true, now + 400000), 1);
    T_EQ_INT(md5_answered(s, false, now + 600000), 1);
    /* a lone 0xC0 in step costs the next frame */
    T_EQ_INT(md5_answered(s, true, now + 800000), 0);
    T_EQ_INT(md5_answered(s, true, now + 1000000), 1);
}

/* A bad escape in a frame longer than one 32-byte interrupt batch: the
 * main loop re-arms after the batch, the frame's closing 0xC0 opens a
 * frame, and every frame after it is lost (slip.c:129-139, :105-110). */
void test_sim__stub_receiver_out_of_step_after_a_bad_escape(void)
{
    struct sim *s = board("esp32c3");
    uint8_t w[100];

    T_ASSERT(s);
    T_EQ_INT(start_stub(s), 0);
    T_EQ_INT(md5_answered(s, false, 10), 1);
    memset(w, 0x11, sizeof w);
    w[0] = w[70] = 0xC0;
    w[5] = w[75] = 0xDB; /* bad escapes */
    w[6] = w[76] = 0x01;
    w[sizeof w - 1] = 0xC0;
    sim_rx(s, w, sizeof w, 200000);
    lost_until_a_lone_end(s, 300000);
    /* in a frame within one batch the rest is ignored, the closing 0xC0
     * too (no buffer armed yet): still in step */
    sim_rx(s, w + 70, 30, 2000000);
    T_EQ_INT(md5_answered(s, false, 2100000), 1);
    sim_free(s);
}

/* Two requests back to back fall in one batch: the first frame disarms the
 * receiver until the main loop takes it, so the second's opening 0xC0 is
 * ignored and its closing one opens a frame (slip.c:113-116). */
void test_sim__stub_loses_a_frame_behind_another_in_one_batch(void)
{
    struct sim *s = mk("esp32c3", true);
    uint8_t buf[512];
    int64_t now;

    T_ASSERT(s);
    sim_connect(s, false, 0);
    while (sim_tx(s, buf, sizeof buf, 1000000) > 0)
        ;
    now = paced_stub(s, 2000000);
    T_ASSERT(now > 0);
    send_md5(s, 0, 0x1000, now);
    send_md5(s, 0, 0x1000, now);
    drain(s, R(), now + 100000);
    T_EQ_INT(R()->nframes, 1);
    lost_until_a_lone_end(s, now + 200000);
    sim_free(s);
}

/* A third frame while both buffers are full, still arriving when the
 * write ends and the main loop re-arms: its closing 0xC0 opens a frame
 * and the receiver is out of step (frame_buffer.c:30-41). */
void test_sim__stub_out_of_step_after_a_frame_lost_to_full_buffers(void)
{
    struct sim *s = board("esp32c3");
    size_t n = 0x8000;
    uint8_t *img = malloc(n), *z = malloc(n + 1024), w[64];
    uLongf zl = n + 1024;

    T_ASSERT(s && img && z);
    writing_with_an_md5_waiting(s, img, z, &zl, n);
    memset(w, 0x22, sizeof w);
    w[0] = 0xC0;
    sim_rx(s, w, 40, 10);           /* no buffer: ignored */
    w[63] = 0xC0;
    sim_rx(s, w + 40, 24, AFTER_WRITE); /* after the re-arm */
    drain(s, R(), AFTER_WRITE);
    T_EQ_INT(R()->nframes, 1);      /* the MD5 that waited */
    lost_until_a_lone_end(s, AFTER_WRITE + 10);
    free(img);
    free(z);
    sim_free(s);
}
