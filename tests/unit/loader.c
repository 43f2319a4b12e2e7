/*
 * Unit tests for src/proto/loader.c.  Most run against the in-process simulator
 * (sim:CHIP?pacing=0); they skip, saying why, while the sim: backend is not
 * in the build.  The fault cases with a silent or noisy line use small fake
 * ports defined here.
 */
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "clock.h"
#include "err.h"
#include "loader.h"
#include "port.h"
#include "proto.h"
#include "slip.h"
#include "test.h"

/* Open sim:spec or skip the test (return NULL) when the backend is absent. */
static struct port *open_sim(const char *spec)
{
    char url[128], err[ED_ERRMSG_MAX];
    struct port *p = NULL;
    int rc;

    snprintf(url, sizeof url, "sim:%s", spec);
    rc = port_open(&p, url, LOADER_ROM_BAUD, NULL, err, sizeof err);
    if (rc == ED_ERR_UNSUPPORTED || rc == ED_ERR_NOT_FOUND) {
        t_skip("the in-process simulator (sim:) is not in this build yet");
        return NULL;
    }
    if (rc)
        t_fail(__FILE__, __LINE__, "port_open(%s): %s", url, err);
    return p;
}

/* Connected loader on a fresh simulated chip; NULL (skipped/failed) else. */
static struct loader *connect_sim(const char *spec, struct port **port)
{
    struct loader *l = NULL;
    int rc;

    *port = open_sim(spec);
    if (!*port)
        return NULL;
    if (loader_new(&l, *port, NULL) != ED_OK) {
        t_fail(__FILE__, __LINE__, "loader_new");
        return NULL;
    }
    rc = loader_connect(l, BEFORE_DEFAULT_RESET, NULL, 3, NULL);
    if (rc) {
        t_fail(__FILE__, __LINE__, "connect %s: %s", spec, loader_errmsg(l));
        loader_free(l);
        port_close(*port);
        return NULL;
    }
    return l;
}

static void fill_random(uint8_t *b, size_t n, uint32_t seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
}

static void md5_of(const uint8_t *b, size_t n, uint8_t out[16])
{
    MD5_CTX c;
    MD5Init(&c);
    MD5Update(&c, b, n);
    MD5Final(out, &c);
}

void test_loader__timeout_model(void)
{
    T_EQ_INT(loader_timeout_per_mb(40.0, 0), 3000);
    T_EQ_INT(loader_timeout_per_mb(40.0, 1000000), 40000);
    T_EQ_INT(loader_timeout_per_mb(8.0, 4000000), 32000);
    T_EQ_INT(loader_timeout_per_mb(8.0, 100000), 3000);
}

void test_loader__connect_detects_every_chip(void)
{
    int i;
    for (i = 0; i < CHIP_COUNT; i++) {
        const struct chip_desc *c = chip_get((enum chip_id)i);
        char spec[64], used[32] = "";
        struct port *port;
        struct loader *l = NULL;
        int rc;

        snprintf(spec, sizeof spec, "%s?pacing=0", c->name);
        port = open_sim(spec);
        if (!port)
            return;
        T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
        rc = loader_connect(l, BEFORE_DEFAULT_RESET, NULL, 3, used);
        if (rc)
            t_fail(__FILE__, __LINE__, "%s: %s", c->name, loader_errmsg(l));
        T_EQ_INT(rc, ED_OK);
        T_EQ_INT(loader_chip(l), i);
        T_ASSERT(!loader_is_stub(l));
        T_ASSERT(used[0] != '\0');
        loader_free(l);
        port_close(port);
    }
}

void test_loader__mac_flash_id_crystal(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3?pacing=0&flash=8MB", &port);
    uint8_t mac[6], mac2[6], zero[6] = {0};
    uint32_t id = 0;
    int xtal = 0;

    if (!l)
        return;
    T_EQ_INT(loader_read_mac(l, mac), ED_OK);
    T_ASSERT(memcmp(mac, zero, 6) != 0);
    T_EQ_INT(loader_read_mac(l, mac2), ED_OK);
    T_EQ_MEM(mac, mac2, 6);
    T_EQ_INT(loader_flash_id(l, &id), ED_OK);
    T_EQ_INT(chip_flash_size_from_id(id), 8u << 20);
    T_EQ_INT(loader_crystal_mhz(l, &xtal), ED_OK);
    T_EQ_INT(xtal, 40);
    loader_free(l);
    port_close(port);
}

void test_loader__esp32_details(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32?pacing=0", &port);
    uint32_t magic = 0, flags;
    uint32_t id = 0;
    int xtal = 0;

    if (!l)
        return;
    T_EQ_INT(loader_read_reg(l, CHIP_MAGIC_REG, &magic), ED_OK);
    T_EQ_INT(magic, 0x00F01D83);
    /* the ESP32 ROM has no GET_SECURITY_INFO, and the line stays usable */
    T_EQ_INT(loader_security_info(l, &flags, NULL), ED_ERR_UNSUPPORTED);
    T_EQ_INT(loader_read_reg(l, CHIP_MAGIC_REG, &magic), ED_OK);
    T_EQ_INT(loader_flash_id(l, &id), ED_OK);
    T_EQ_INT(chip_flash_size_from_id(id), 4u << 20);
    T_EQ_INT(loader_crystal_mhz(l, &xtal), ED_OK);
    T_ASSERT(xtal == 40 || xtal == 26);
    loader_free(l);
    port_close(port);
}

void test_loader__security_info(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32s3?pacing=0", &port);
    uint32_t flags = 1, id = 0;

    if (!l)
        return;
    T_EQ_INT(loader_security_info(l, &flags, &id), ED_OK);
    T_EQ_INT(id, 9);
    loader_free(l);
    port_close(port);
}

void test_loader__write_reg(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c6?pacing=0", &port);
    const struct chip_desc *c = chip_get(CHIP_ESP32C6);
    uint32_t v = 0;

    if (!l)
        return;
    /* the SPI data register holds what was written */
    T_EQ_INT(loader_write_reg(l, c->spi.base + c->spi.w0, 0x12345678,
                              0xFFFFFFFF, 0), ED_OK);
    T_EQ_INT(loader_read_reg(l, c->spi.base + c->spi.w0, &v), ED_OK);
    T_EQ_INT(v, 0x12345678);
    loader_free(l);
    port_close(port);
}

void test_loader__mem_load(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3?pacing=0", &port);
    uint8_t blob[0x2000];
    struct loader_segment seg = {0x40380000, blob, sizeof blob};

    if (!l)
        return;
    fill_random(blob, sizeof blob, 7);
    /* two MEM_DATA blocks (0x1800 + 0x800), no jump */
    T_EQ_INT(loader_mem_load(l, &seg, 1, 0), ED_OK);
    loader_free(l);
    port_close(port);
}

static void rom_write_md5(const char *spec, bool compress)
{
    struct port *port;
    struct loader *l = connect_sim(spec, &port);
    size_t n = 3 * 1024 + 100;
    uint8_t *data = malloc(n), got[16], want[16];

    if (!l) {
        free(data);
        return;
    }
    fill_random(data, n, 42);
    memset(data + 1024, 0x11, 1024); /* something to compress */
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    T_EQ_INT(loader_flash_write(l, 0x10000, data, n, compress, NULL, NULL),
             ED_OK);
    T_EQ_INT(loader_flash_finish(l, false), ED_OK);
    T_EQ_INT(loader_md5(l, 0x10000, (uint32_t)n, got), ED_OK);
    md5_of(data, n, want);
    T_EQ_MEM(got, want, 16);
    loader_free(l);
    port_close(port);
    free(data);
}

void test_loader__rom_write_md5(void)
{
    rom_write_md5("esp32?pacing=0", false);
}

void test_loader__rom_write_compressed_md5(void)
{
    rom_write_md5("esp32c3?pacing=0", true);
}

/* Any RAM image that is not an app counts as a stub for the simulator. */
static int fake_stub(struct loader *l, const struct chip_desc *c)
{
    static uint8_t text[256], data[64];
    struct loader_segment segs[2];
    uint32_t iram = c->id == CHIP_ESP32 ? 0x400BE000 : 0x40380000;
    uint32_t dram = c->id == CHIP_ESP32 ? 0x3FFDEBAC : 0x3FC96D68;

    memset(text, 0x13, sizeof text);
    memset(data, 0, sizeof data);
    segs[0] = (struct loader_segment){iram, text, sizeof text};
    segs[1] = (struct loader_segment){dram, data, sizeof data};
    return loader_run_stub(l, segs, 2, iram);
}

struct progress {
    size_t calls, last_done, last_total;
};

static void on_progress(void *ctx, size_t done, size_t total,
                        size_t wire_done, size_t wire_total)
{
    struct progress *p = ctx;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

void test_loader__stub_write_read_erase(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3?pacing=0", &port);
    size_t n = 100 * 1024 + 5;
    uint8_t *data = malloc(n), *back = malloc(n), got[16], want[16];
    struct progress pr = {0};
    size_t i;

    if (!l)
        goto out;
    T_EQ_INT(fake_stub(l, chip_get(CHIP_ESP32C3)), ED_OK);
    T_ASSERT(loader_is_stub(l));
    fill_random(data, n, 99);
    memset(data, 0x22, 40000);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    T_EQ_INT(loader_flash_write(l, 0x20000, data, n, true, on_progress, &pr),
             ED_OK);
    T_EQ_INT(loader_flash_finish(l, false), ED_OK);
    T_ASSERT(pr.calls >= 2);
    T_EQ_INT(pr.last_done, n);
    T_EQ_INT(loader_md5(l, 0x20000, (uint32_t)n, got), ED_OK);
    md5_of(data, n, want);
    T_EQ_MEM(got, want, 16);
    T_EQ_INT(loader_read_flash(l, 0x20000, back, n, NULL, NULL), ED_OK);
    T_EQ_MEM(back, data, n);
    /* erase the first 8 KiB, read it back as 0xFF */
    T_EQ_INT(loader_erase_region(l, 0x20000, 0x2000), ED_OK);
    T_EQ_INT(loader_read_flash(l, 0x20000, back, 0x2000, NULL, NULL), ED_OK);
    for (i = 0; i < 0x2000; i++)
        if (back[i] != 0xFF)
            break;
    T_EQ_INT(i, 0x2000);
    T_EQ_INT(loader_erase_region(l, 0x20001, 0x1000), ED_ERR_ARG);
out:
    loader_free(l);
    port_close(l ? port : NULL);
    free(data);
    free(back);
}

/*
 * Timeouts scale with the bytes on the wire at the baud in use: at 9600
 * baud (paced) a 4 KiB READ_FLASH packet of 0xC0 bytes is 8 KiB after SLIP
 * escaping, 8.5 s on the wire, more than a timeout counted from the raw
 * packet size (3 s + 4.3 s); then the final MD5 frame.
 */
void test_loader__slow_baud_read_of_escaped_bytes(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3", &port);
    size_t n = 4096;
    uint8_t *data = malloc(n), *back = malloc(n);

    if (!l)
        goto out;
    T_EQ_INT(fake_stub(l, chip_get(CHIP_ESP32C3)), ED_OK);
    memset(data, 0xC0, n);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    T_EQ_INT(loader_flash_write(l, 0x10000, data, n, true, NULL, NULL),
             ED_OK);
    T_EQ_INT(loader_flash_finish(l, false), ED_OK);
    T_EQ_INT(loader_change_baud(l, 9600), ED_OK);
    memset(back, 0, n);
    if (loader_read_flash(l, 0x10000, back, n, NULL, NULL) != ED_OK)
        t_fail(__FILE__, __LINE__, "read at 9600 baud: %s",
               loader_errmsg(l));
    T_EQ_MEM(back, data, n);
out:
    loader_free(l);
    port_close(l ? port : NULL);
    free(data);
    free(back);
}

void test_loader__stub_uncompressed_write(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32s3?pacing=0", &port);
    size_t n = 40 * 1024;
    uint8_t *data = malloc(n), got[16], want[16];

    if (!l)
        goto out;
    T_EQ_INT(fake_stub(l, chip_get(CHIP_ESP32S3)), ED_OK);
    fill_random(data, n, 5);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    T_EQ_INT(loader_flash_write(l, 0x8000, data, n, false, NULL, NULL), ED_OK);
    T_EQ_INT(loader_flash_finish(l, false), ED_OK);
    T_EQ_INT(loader_md5(l, 0x8000, (uint32_t)n, got), ED_OK);
    md5_of(data, n, want);
    T_EQ_MEM(got, want, 16);
    /* back to the ROM loader without a reset */
    T_EQ_INT(loader_after(l, AFTER_NO_RESET), ED_OK);
    T_ASSERT(!loader_is_stub(l));
out:
    loader_free(l);
    port_close(l ? port : NULL);
    free(data);
}

/* cancel once 2 KiB are acknowledged (the hook is also polled inside the
 * waits, so it cannot count calls) */
static bool cancel_now(void *ctx)
{
    return *(size_t *)ctx >= 2048;
}

static void count_done(void *ctx, size_t done, size_t total,
                       size_t wire_done, size_t wire_total)
{
    (void)total;
    (void)wire_done;
    (void)wire_total;
    *(size_t *)ctx = done;
}

void test_loader__cancel_between_blocks(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3?pacing=0", &port);
    size_t n = 16 * 1024;
    uint8_t *data = malloc(n);
    size_t done = 0;

    if (!l)
        goto out;
    fill_random(data, n, 1);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    loader_set_cancel(l, cancel_now, &done);
    T_EQ_INT(loader_flash_write(l, 0, data, n, false, count_done, &done),
             ED_ERR_CANCELLED);
    T_CONTAINS(loader_errmsg(l), "cancelled after 2048");
out:
    loader_free(l);
    port_close(l ? port : NULL);
    free(data);
}

void test_loader__normal_boot_no_reset(void)
{
    struct port *port = open_sim("esp32?boot=normal&pacing=0");
    struct loader *l = NULL;

    if (!port)
        return;
    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 2, NULL), ED_ERR_BOOT);
    T_CONTAINS(loader_errmsg(l), "board booted normally");
    T_CONTAINS(loader_errmsg(l), "boot:0x");
    loader_free(l);
    port_close(port);
}

/* ---- fake ports: a silent line and a noisy one ---- */

struct line_port {
    struct port base;
    const char *noise; /* sent again and again, or NULL for silence */
};

static void line_close(struct port *p)
{
    free(p);
}

static int line_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct line_port *f = (struct line_port *)p;
    size_t n;
    if (!f->noise) {
        clock_sleep_ms(timeout_ms > 10 ? 10 : timeout_ms);
        return 0;
    }
    clock_sleep_ms(2);
    n = strlen(f->noise);
    if (n > cap)
        n = cap;
    memcpy(buf, f->noise, n);
    return (int)n;
}

static int line_write(struct port *p, const uint8_t *b, size_t n, int t)
{
    return ED_OK;
}

static int line_ok(struct port *p)
{
    return ED_OK;
}

static int line_baud(struct port *p, uint32_t b)
{
    return ED_OK;
}

static int line_lines(struct port *p, int d, int r)
{
    return ED_OK;
}

static int line_drain(struct port *p, int t)
{
    return ED_OK;
}

static const struct port_ops line_ops = {
    .close = line_close,
    .read = line_read,
    .write = line_write,
    .set_baud = line_baud,
    .set_lines = line_lines,
    .flush_input = line_ok,
    .drain = line_drain,
};

static struct port *line_new(const char *noise)
{
    struct line_port *f = calloc(1, sizeof *f);
    f->base.ops = &line_ops;
    f->base.kind = PORT_SOCKET;
    f->base.baud = 115200;
    f->noise = noise;
    strcpy(f->base.url, "socket://line");
    return &f->base;
}

void test_loader__silent_port(void)
{
    struct port *port = line_new(NULL);
    struct loader *l = NULL;
    int64_t t0 = clock_ms();

    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 2, NULL),
             ED_ERR_TIMEOUT);
    T_CONTAINS(loader_errmsg(l), "no reply from the chip on socket://line");
    T_CONTAINS(loader_errmsg(l), "by hand");
    T_ASSERT(clock_ms() - t0 < 30000); /* bounded, not a speed check */
    loader_free(l);
    port_close(port);
}

void test_loader__garbage_port(void)
{
    struct port *port = line_new("\x13\x37 garbage \xfe\xff at the wrong baud ");
    struct loader *l = NULL;

    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), ED_ERR_PROTO);
    T_CONTAINS(loader_errmsg(l), "bytes of other data");
    loader_free(l);
    port_close(port);
}

void test_loader__ops_need_a_chip(void)
{
    struct port *port = line_new(NULL);
    struct loader *l = NULL;
    uint8_t mac[6];

    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_chip(l), CHIP_UNKNOWN);
    T_EQ_INT(loader_read_mac(l, mac), ED_ERR_ARG);
    T_CONTAINS(loader_errmsg(l), "not connected");
    loader_free(l);
    port_close(port);
}

/* ---- a ROM scripted from the golden QEMU transcripts ---- */

struct golden_rom {
    struct port base;
    bool c3;                 /* esp32c3 transcript, else esp32 */
    struct slip_decoder dec;
    uint8_t frame[512];
    uint8_t rx[4096];
    size_t rx_len, rx_pos;
    uint8_t last_op;         /* the ESP32 ROM echoes it when it rejects */
    uint32_t last_value;
    int defect;              /* GOLDEN_*: how the replies go wrong */
    int reads;               /* READ_REGs answered so far */
    bool glitched;           /* GOLDEN_MAC_ONCE_BAD done */
};

/* Replies of the wrong shape (audit F4), to READ_REG unless said. */
enum {
    GOLDEN_OK,
    GOLDEN_NO_STATUS,     /* header only */
    GOLDEN_DIRECTION_0,   /* not marked as a response */
    GOLDEN_WRONG_OP,      /* answers READ_REG as if it were SYNC */
    GOLDEN_LENGTH_200,    /* size field 200, 4 bytes follow */
    GOLDEN_ROM_ERROR_05,  /* status 01 05 */
    GOLDEN_SYNC_WRONG_OP, /* SYNC answered with another opcode */
    GOLDEN_SYNC_SHORT,    /* SYNC answered with 1-byte frames */
    GOLDEN_MAGIC_ONCE_0,  /* the first magic read hits another address: 0 */
    GOLDEN_LATE_REJECT,   /* the first READ_REG meets a late 01 05 rejection */
    GOLDEN_MAC_ONCE_BAD,  /* the first MAC read comes back with a flipped bit */
};

static void golden_queue(struct golden_rom *g, const uint8_t *body, size_t n)
{
    g->rx_len += slip_encode(g->rx + g->rx_len, sizeof g->rx - g->rx_len,
                             body, n);
}

static void golden_reply(struct golden_rom *g, uint8_t op, uint32_t value,
                         const uint8_t *data, size_t n, uint8_t st, uint8_t er)
{
    uint8_t b[64] = {1, op, (uint8_t)(n + 4), 0, (uint8_t)value,
                     (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                     (uint8_t)(value >> 24)};
    if (n)
        memcpy(b + 8, data, n);
    b[8 + n] = st;
    b[9 + n] = er;
    b[10 + n] = 0;
    b[11 + n] = 0;
    golden_queue(g, b, 12 + n);
    if (st == 0) {
        g->last_op = op;
        g->last_value = value;
    }
}

static void golden_command(struct golden_rom *g, const uint8_t *f, size_t n)
{
    /* C3 security info as captured: flags 0, key purposes, chip id 5 */
    static const uint8_t c3_gsi[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c,
                                       5, 0, 0, 0, 3, 0, 0, 0};
    uint32_t magic = g->c3 ? 0x1B31506F : 0x00F01D83;
    int i;

    if (n < 8 || f[0] != 0)
        return;
    if (f[1] == OP_SYNC && g->defect == GOLDEN_SYNC_WRONG_OP) {
        for (i = 0; i < 8; i++)
            golden_reply(g, OP_SYNC + 0x40, 0x20120707, NULL, 0, 0, 0);
        return;
    }
    if (f[1] == OP_SYNC && g->defect == GOLDEN_SYNC_SHORT) {
        for (i = 0; i < 8; i++)
            golden_queue(g, (const uint8_t *)"\x01", 1);
        return;
    }
    if (f[1] == OP_READ_REG && g->reads++ == 0) {
        if (g->defect == GOLDEN_MAGIC_ONCE_0) {
            golden_reply(g, OP_READ_REG, 0, NULL, 0, 0, 0);
            return;
        }
        if (g->defect == GOLDEN_LATE_REJECT) {
            /* an earlier command's error, late; READ_REG's own reply is
             * lost on the way */
            golden_reply(g, OP_SYNC, 0x20120707, NULL, 0, 1, 0x05);
            return;
        }
    }
    if (f[1] == OP_READ_REG && g->defect == GOLDEN_MAC_ONCE_BAD &&
        n >= 12 && f[8] == 0x04 && f[9] == 0xA0 && f[11] == 0x3F &&
        !g->glitched) {
        g->glitched = true;
        golden_reply(g, OP_READ_REG, 0x00000400, NULL, 0, 0, 0);
        return;
    }
    if (f[1] == OP_READ_REG && g->defect != GOLDEN_OK &&
        g->defect < GOLDEN_MAGIC_ONCE_0) {
        uint8_t b[12] = {1, OP_READ_REG, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        switch (g->defect) {
        case GOLDEN_NO_STATUS:
            b[2] = 0;
            golden_queue(g, b, 8);
            return;
        case GOLDEN_DIRECTION_0:
            b[0] = 0;
            golden_queue(g, b, 12);
            return;
        case GOLDEN_WRONG_OP:
            golden_reply(g, OP_SYNC, 0x20120707, NULL, 0, 0, 0);
            return;
        case GOLDEN_LENGTH_200:
            b[2] = 200;
            golden_queue(g, b, 12);
            return;
        case GOLDEN_ROM_ERROR_05:
            golden_reply(g, OP_READ_REG, 0, NULL, 0, 1, 0x05);
            return;
        }
    }
    switch (f[1]) {
    case OP_SYNC:
        for (i = 0; i < 8; i++)
            golden_reply(g, OP_SYNC, 0x20120707, NULL, 0, 0, 0);
        break;
    case OP_READ_REG:
        golden_reply(g, OP_READ_REG,
                     n >= 12 && f[8] == 0x00 && f[9] == 0x10 && f[10] == 0 &&
                             f[11] == 0x40 ? magic : 0,
                     NULL, 0, 0, 0);
        break;
    case OP_GET_SECURITY_INFO:
        if (g->c3)
            golden_reply(g, OP_GET_SECURITY_INFO, magic, c3_gsi, 20, 0, 0);
        else /* previous opcode and value, status 01 05 */
            golden_reply(g, g->last_op, g->last_value, NULL, 0, 1, 0x05);
        break;
    default:
        golden_reply(g, f[1], 0, NULL, 0, 1, 0x05);
    }
}

static int golden_read(struct port *p, uint8_t *buf, size_t cap, int t)
{
    struct golden_rom *g = (struct golden_rom *)p;
    size_t n = g->rx_len - g->rx_pos;
    if (!n) {
        clock_sleep_ms(t > 5 ? 5 : t);
        return 0;
    }
    if (n > cap)
        n = cap;
    memcpy(buf, g->rx + g->rx_pos, n);
    g->rx_pos += n;
    if (g->rx_pos == g->rx_len)
        g->rx_pos = g->rx_len = 0;
    return (int)n;
}

static int golden_write(struct port *p, const uint8_t *b, size_t n, int t)
{
    struct golden_rom *g = (struct golden_rom *)p;
    size_t off = 0, flen;
    while (off < n) {
        off += slip_decode(&g->dec, b + off, n - off, &flen);
        if (flen)
            golden_command(g, g->frame, flen);
    }
    return ED_OK;
}

static const struct port_ops golden_ops = {
    .close = line_close,
    .read = golden_read,
    .write = golden_write,
    .set_baud = line_baud,
    .set_lines = line_lines,
    .flush_input = line_ok,
    .drain = line_drain,
};

static struct port *golden_new(bool c3)
{
    static const char esp32_banner[] =
        "ets Jul 29 2019 12:21:46\r\n\r\n"
        "rst:0x1 (POWERON_RESET),boot:0xf (UART_BOOT(UART0))\r\n";
    static const char c3_banner[] =
        "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n"
        "rst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\nwait uart0 download\r\n";
    struct golden_rom *g = calloc(1, sizeof *g);
    const char *banner = c3 ? c3_banner : esp32_banner;

    g->base.ops = &golden_ops;
    g->base.kind = PORT_SOCKET;
    g->base.baud = 115200;
    strcpy(g->base.url, "socket://golden");
    g->c3 = c3;
    slip_decoder_init(&g->dec, g->frame, sizeof g->frame);
    memcpy(g->rx, banner, strlen(banner));
    g->rx_len = strlen(banner);
    return &g->base;
}

void test_loader__golden_esp32_rom_detects_by_magic(void)
{
    struct port *port = golden_new(false);
    struct loader *l = NULL;
    uint32_t flags;

    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), ED_OK);
    T_EQ_INT(loader_chip(l), CHIP_ESP32);
    T_ASSERT(!loader_is_stub(l));
    /* the rejection names the previous command: still "unsupported" */
    T_EQ_INT(loader_security_info(l, &flags, NULL), ED_ERR_UNSUPPORTED);
    loader_free(l);
    port_close(port);
}

void test_loader__golden_esp32c3_rom_detects_by_security_info(void)
{
    struct port *port = golden_new(true);
    struct loader *l = NULL;
    uint32_t flags = 1, id = 0;

    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), ED_OK);
    T_EQ_INT(loader_chip(l), CHIP_ESP32C3);
    T_EQ_INT(loader_security_info(l, &flags, &id), ED_OK);
    T_EQ_INT(flags, 0);
    T_EQ_INT(id, 5);
    loader_free(l);
    port_close(port);
}

/* ---- replies of the wrong shape (audit F4): one sentence with its fix ---- */

static void connect_defect(int defect, int want_rc, const char *want1,
                           const char *want2)
{
    struct port *port = golden_new(false);
    struct loader *l = NULL;

    ((struct golden_rom *)port)->defect = defect;
    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), want_rc);
    T_CONTAINS(loader_errmsg(l), want1);
    T_CONTAINS(loader_errmsg(l), want2);
    /* one sentence: no line breaks, and no hint of success */
    T_ASSERT(strchr(loader_errmsg(l), '\n') == NULL);
    /* a malformed reply is never taken as the chip's answer */
    T_EQ_INT(loader_chip(l), CHIP_UNKNOWN);
    loader_free(l);
    port_close(port);
}

void test_loader__reply_without_status_bytes(void)
{
    connect_defect(GOLDEN_NO_STATUS, ED_ERR_PROTO,
                   "reply to READ_REG has no status bytes (8 bytes)",
                   ": " PROTO_LINE_FIX);
}

void test_loader__reply_direction_0(void)
{
    connect_defect(GOLDEN_DIRECTION_0, ED_ERR_PROTO,
                   "malformed reply to READ_REG: not marked as a response",
                   ": " PROTO_LINE_FIX);
}

void test_loader__reply_wrong_opcode(void)
{
    connect_defect(GOLDEN_WRONG_OP, ED_ERR_TIMEOUT,
                   "the chip answers, but not to READ_REG (got 1 reply to "
                   "SYNC within 3000 ms)", ": " PROTO_LINE_FIX);
}

void test_loader__reply_length_disagrees(void)
{
    /* the audit's fake: size 200, 4 bytes; once taken for an ESP32-P4 */
    connect_defect(GOLDEN_LENGTH_200, ED_ERR_PROTO,
                   "malformed reply to READ_REG: its header announces 200 "
                   "bytes of data but 4 came", ": " PROTO_LINE_FIX);
}

void test_loader__rom_error_has_a_fix(void)
{
    connect_defect(GOLDEN_ROM_ERROR_05, ED_ERR_DEVICE,
                   "READ_REG failed: the chip said 0x05 received message has "
                   "invalid format: the ROM could not read the command",
                   "the line may have damaged it (check the cable, or lower "
                   "--baud), or this chip does not know it");
}

void test_loader__sync_wrong_opcode_is_not_a_rom(void)
{
    connect_defect(GOLDEN_SYNC_WRONG_OP, ED_ERR_PROTO,
                   "something answers on socket://golden, but not as an "
                   "Espressif ROM loader",
                   "check that this is the right port");
}

void test_loader__sync_short_frames_are_not_a_rom(void)
{
    struct port *port = golden_new(false);
    struct loader *l = NULL;

    ((struct golden_rom *)port)->defect = GOLDEN_SYNC_SHORT;
    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 2, NULL), ED_ERR_PROTO);
    T_CONTAINS(loader_errmsg(l), "but not as an Espressif ROM loader");
    T_CONTAINS(loader_errmsg(l), "in 2 attempts");
    /* not the advice for a silent line */
    T_ASSERT(strstr(loader_errmsg(l), "by hand") == NULL);
    T_ASSERT(strstr(loader_errmsg(l), "no reply") == NULL);
    loader_free(l);
    port_close(port);
}

/* ---- values that identify the chip are validated (issue 8 item 4) ---- */

static void connect_glitch(int defect, enum chip_id want)
{
    struct port *port = golden_new(false);
    struct loader *l = NULL;

    ((struct golden_rom *)port)->defect = defect;
    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), ED_OK);
    T_EQ_INT(loader_chip(l), want);
    T_ASSERT(!loader_secure_download(l));
    loader_free(l);
    port_close(port);
}

void test_loader__one_bad_magic_read_is_not_a_p4(void)
{
    /* one flipped bit in READ_REG's address read 0, an ESP32-P4 magic */
    connect_glitch(GOLDEN_MAGIC_ONCE_0, CHIP_ESP32);
}

void test_loader__late_rejection_is_not_secure_download(void)
{
    /* a late ROM error reply during the magic read once made "an ESP32-S2
     * in Secure Download Mode" */
    connect_glitch(GOLDEN_LATE_REJECT, CHIP_ESP32);
}

void test_loader__mac_read_until_it_agrees(void)
{
    struct port *port = golden_new(false);
    struct loader *l = NULL;
    uint8_t mac[6];

    ((struct golden_rom *)port)->defect = GOLDEN_MAC_ONCE_BAD;
    T_EQ_INT(loader_new(&l, port, NULL), ED_OK);
    T_EQ_INT(loader_connect(l, BEFORE_NO_RESET, NULL, 1, NULL), ED_OK);
    T_EQ_INT(loader_read_mac(l, mac), ED_OK);
    /* the golden ROM's MAC eFuses are 0; the glitched read said 0x400 */
    T_EQ_INT(mac[4], 0);
    loader_free(l);
    port_close(port);
}

/* ---- a damaged stub upload is uploaded again (issue 8 item 2) ---- */

/* A port wrapper that damages the nth frame of one opcode on its way out. */
static const struct port_ops *tamper_inner;
static uint8_t tamper_op;
static int tamper_nth, tamper_seen;
static size_t tamper_len[64]; /* wire length of each frame of tamper_op */

static int tamper_write(struct port *p, const uint8_t *b, size_t n, int t)
{
    if (n > 12 && b[0] == 0xC0 && b[1] == 0x00 && b[2] == tamper_op &&
        tamper_seen < 64)
        tamper_len[tamper_seen] = n;
    if (n > 12 && b[0] == 0xC0 && b[1] == 0x00 && b[2] == tamper_op &&
        (++tamper_seen == tamper_nth || tamper_nth == 0)) {
        uint8_t *c = malloc(n);
        int rc;

        memcpy(c, b, n);
        if (tamper_op == OP_MEM_END)
            c[2] = 0x66; /* the opcode byte hit: the ROM cannot read it */
        else if (tamper_op == OP_SPI_ATTACH)
            c[3] ^= 0x01; /* the size field: a length that disagrees */
        else if (tamper_op == OP_SPI_FLASH_MD5)
            c[16] ^= 0x10; /* the length's top byte: past the flash */
        else
            c[n / 2] ^= 0x10; /* one data bit: checksum error */
        rc = tamper_inner->write(p, c, n, t);
        free(c);
        return rc;
    }
    return tamper_inner->write(p, b, n, t);
}

static struct port_ops tamper_ops;

static void tamper(struct port *p, uint8_t op, int nth)
{
    tamper_inner = p->ops;
    tamper_ops = *p->ops;
    tamper_ops.write = tamper_write;
    p->ops = &tamper_ops;
    tamper_op = op;
    tamper_nth = nth;
    tamper_seen = 0;
}

static void stub_upload_damaged(uint8_t op, int nth)
{
    struct port *port;
    struct loader *l = connect_sim("esp32?pacing=0", &port);
    const struct port_ops *orig;
    uint8_t md5[16];

    if (!l)
        return;
    orig = port->ops;
    tamper(port, op, nth);
    T_EQ_INT(fake_stub(l, chip_get(CHIP_ESP32)), ED_OK);
    T_ASSERT(loader_is_stub(l));
    T_ASSERT(tamper_seen > nth); /* it was sent again */
    /* a MEM_DATA the ROM rejected unread goes again by itself, within the
     * same upload */
    T_EQ_INT(loader_resends(l), op == OP_MEM_DATA ? 1 : 0);
    /* the stub answers as a stub */
    T_EQ_INT(loader_md5(l, 0, 4096, md5), ED_OK);
    port->ops = orig;
    loader_free(l);
    port_close(port);
}

void test_loader__damaged_mem_data_is_uploaded_again(void)
{
    stub_upload_damaged(OP_MEM_DATA, 1);
}

void test_loader__damaged_mem_end_is_uploaded_again(void)
{
    stub_upload_damaged(OP_MEM_END, 1);
}

void test_loader__stub_that_never_starts_says_so(void)
{
    /* every MEM_DATA damaged: each sent 1 + 16 times, in four uploads,
     * then one sentence that blames the line, not Secure Download Mode */
    struct port *port;
    struct loader *l = connect_sim("esp32?pacing=0", &port);
    const struct port_ops *orig;

    if (!l)
        return;
    orig = port->ops;
    tamper(port, OP_MEM_DATA, 0);
    T_EQ_INT(fake_stub(l, chip_get(CHIP_ESP32)), ED_ERR_DEVICE);
    T_ASSERT(!loader_is_stub(l));
    T_EQ_INT(tamper_seen, 4 * 17);
    T_EQ_INT(loader_resends(l), 4 * 16);
    T_CONTAINS(loader_errmsg(l), "4 uploads failed, the first with: "
                                 "MEM_DATA failed");
    T_CONTAINS(loader_errmsg(l), "checksum error: the data was damaged");
    T_ASSERT(strstr(loader_errmsg(l), "Secure Download") == NULL);
    T_ASSERT(strchr(loader_errmsg(l), '\n') == NULL);
    port->ops = orig;
    loader_free(l);
    port_close(port);
}

/* A command the ROM could not read (its size field damaged: 0x05) did
 * nothing, and SPI_ATTACH is harmless to repeat: it is sent again. */
void test_loader__unread_attach_is_sent_again(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32?pacing=0", &port);
    const struct port_ops *orig;

    if (!l)
        return;
    orig = port->ops;
    tamper(port, OP_SPI_ATTACH, 1);
    T_EQ_INT(loader_flash_attach(l, 4u << 20), ED_OK);
    T_EQ_INT(tamper_seen, 2);
    port->ops = orig;
    loader_free(l);
    port_close(port);
}

/* SPI_FLASH_MD5 with its length damaged (no checksum covers it) asks the
 * stub for a range past the flash, which it refuses (0xC4 FAILED_SPI_OP):
 * a command that only reads is asked again, and reads what was meant. */
void test_loader__md5_refused_after_damage_is_asked_again(void)
{
    struct port *port;
    struct loader *l = connect_sim("esp32c3?pacing=0", &port);
    const struct port_ops *orig;
    uint8_t got[16], again[16];

    if (!l)
        return;
    T_EQ_INT(fake_stub(l, chip_get(loader_chip(l))), ED_OK);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    T_EQ_INT(loader_md5(l, 0x1000, 0x1000, again), ED_OK);
    orig = port->ops;
    tamper(port, OP_SPI_FLASH_MD5, 1);
    T_EQ_INT(loader_md5(l, 0x1000, 0x1000, got), ED_OK);
    T_EQ_INT(tamper_seen, 2);
    T_EQ_MEM(got, again, 16);
    port->ops = orig;
    loader_free(l);
    port_close(port);
}

/* ---- a data block the chip rejected unread is sent again (issue 8) ---- */

/* A write of n bytes at 0x20000 with the nth frame of op damaged (one data
 * bit: the chip's checksum rejects it, and never uses it): the write
 * completes, the flash holds the data, the block went once more. */
static void rejected_block(const char *spec, bool stub, uint8_t op,
                           bool compress, size_t n)
{
    struct port *port;
    struct loader *l = connect_sim(spec, &port);
    const struct port_ops *orig;
    uint8_t *data = malloc(n), got[16], want[16];

    if (!l)
        goto out;
    if (stub)
        T_EQ_INT(fake_stub(l, chip_get(loader_chip(l))), ED_OK);
    T_EQ_INT(loader_flash_attach(l, 0), ED_OK);
    fill_random(data, n, 7);
    memset(data, 0x5A, n / 2); /* compressible */
    orig = port->ops;
    tamper(port, op, 2);
    T_EQ_INT(loader_flash_write(l, 0x20000, data, n, compress, NULL, NULL),
             ED_OK);
    port->ops = orig;
    T_EQ_INT(loader_resends(l), 1);
    T_ASSERT(tamper_seen >= 3);
    if (stub)
        T_EQ_INT(loader_flash_finish(l, false), ED_OK);
    T_EQ_INT(loader_md5(l, 0x20000, (uint32_t)n, got), ED_OK);
    md5_of(data, n, want);
    T_EQ_MEM(got, want, 16);
out:
    loader_free(l);
    port_close(l ? port : NULL);
    free(data);
}

void test_loader__rejected_compressed_block_is_sent_again(void)
{
    rejected_block("esp32c3?pacing=0", true, OP_FLASH_DEFL_DATA, true,
                   100 * 1024);
    /* to a stub, as a quarter of it first: fewer bytes to meet damage */
    T_ASSERT(tamper_len[2] < tamper_len[1] / 2);
}

void test_loader__rejected_plain_block_is_sent_again(void)
{
    rejected_block("esp32s3?pacing=0", true, OP_FLASH_DATA, false, 40 * 1024);
    T_EQ_INT(tamper_len[2], tamper_len[1]); /* the same block */
}

void test_loader__rejected_block_to_the_rom_is_sent_again(void)
{
    rejected_block("esp32?pacing=0", false, OP_FLASH_DEFL_DATA, true,
                   20 * 1024);
    T_EQ_INT(tamper_len[2], tamper_len[1]); /* the same block, same seq */
}
