/*
 * Unit tests for src/proto/proto.c against a scripted fake port: the test loads
 * the bytes "the chip" will send, runs one command, and checks what was
 * written and how the reply was decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "port.h"
#include "proto.h"
#include "slip.h"
#include "test.h"

/*
 * What the test queues is what "the chip" sends in answer to the next
 * command: it becomes readable when the host writes (rx_vis), so that the
 * proto's drop of frames that came before a command leaves it alone.
 * fake_open() makes everything queued readable at once (reads without a
 * command).  f->later = k queues for the k-th write from now (k > 1: an
 * answer to a command sent again).
 */
struct fake_port {
    struct port base;
    uint8_t rx[8192];
    size_t rx_len, rx_pos, rx_vis;
    struct { size_t end; unsigned gate; } chunk[256];
    size_t n_chunk;
    unsigned writes, later;
    uint8_t tx[8192];
    size_t tx_len;
    size_t read_max; /* bytes a read hands out at most (0: 7) */
};

static void fake_close(struct port *p)
{
    free(p);
}

static int fake_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct fake_port *f = (struct fake_port *)p;
    size_t n = f->rx_vis > f->rx_pos ? f->rx_vis - f->rx_pos : 0;
    if (n == 0) {
        clock_sleep_ms(timeout_ms > 20 ? 20 : timeout_ms);
        return 0;
    }
    if (n > cap)
        n = cap;
    /* hand out at most 7 bytes at a time: replies arrive in pieces */
    if (n > (f->read_max ? f->read_max : 7))
        n = f->read_max ? f->read_max : 7;
    memcpy(buf, f->rx + f->rx_pos, n);
    f->rx_pos += n;
    return (int)n;
}

static int fake_write(struct port *p, const uint8_t *buf, size_t len,
                      int timeout_ms)
{
    struct fake_port *f = (struct fake_port *)p;
    if (f->tx_len + len > sizeof f->tx)
        return ED_ERR_IO;
    memcpy(f->tx + f->tx_len, buf, len);
    f->tx_len += len;
    f->writes++;
    for (size_t i = 0; i < f->n_chunk; i++)
        if (f->chunk[i].gate <= f->writes && f->chunk[i].end > f->rx_vis)
            f->rx_vis = f->chunk[i].end;
    return ED_OK;
}

static int fake_set_baud(struct port *p, uint32_t baud)
{
    p->baud = baud;
    return ED_OK;
}

static int fake_set_lines(struct port *p, int dtr, int rts)
{
    return ED_OK;
}

static int fake_flush(struct port *p)
{
    return ED_OK;
}

static int fake_drain(struct port *p, int timeout_ms)
{
    return ED_OK;
}

static const struct port_ops fake_ops = {
    .close = fake_close,
    .read = fake_read,
    .write = fake_write,
    .set_baud = fake_set_baud,
    .set_lines = fake_set_lines,
    .flush_input = fake_flush,
    .drain = fake_drain,
};

static struct fake_port *fake_new(void)
{
    struct fake_port *f = calloc(1, sizeof *f);
    f->base.ops = &fake_ops;
    f->base.kind = PORT_SOCKET;
    f->base.baud = 115200;
    strcpy(f->base.url, "fake:");
    return f;
}

/* Make everything queued readable now. */
static void fake_open(struct fake_port *f)
{
    f->rx_vis = f->rx_len;
}

/* Note where what was just queued ends and which write shows it. */
static void fake_gate(struct fake_port *f)
{
    if (f->n_chunk < sizeof f->chunk / sizeof f->chunk[0]) {
        f->chunk[f->n_chunk].end = f->rx_len;
        f->chunk[f->n_chunk].gate = f->writes + (f->later ? f->later : 1);
        f->n_chunk++;
    }
}

/* Queue raw bytes. */
static void fake_raw(struct fake_port *f, const void *b, size_t n)
{
    memcpy(f->rx + f->rx_len, b, n);
    f->rx_len += n;
    fake_gate(f);
}

/* Queue one SLIP frame with body b[n]. */
static void fake_frame(struct fake_port *f, const uint8_t *b, size_t n)
{
    f->rx_len += slip_encode(f->rx + f->rx_len, sizeof f->rx - f->rx_len,
                             b, n);
    fake_gate(f);
}

/* Queue a reply: dir 1, op, value, data (status bytes included). */
static void fake_reply(struct fake_port *f, uint8_t op, uint32_t value,
                       const uint8_t *data, size_t n)
{
    uint8_t b[512];
    b[0] = 1;
    b[1] = op;
    b[2] = (uint8_t)n;
    b[3] = (uint8_t)(n >> 8);
    b[4] = (uint8_t)value;
    b[5] = (uint8_t)(value >> 8);
    b[6] = (uint8_t)(value >> 16);
    b[7] = (uint8_t)(value >> 24);
    memcpy(b + 8, data, n);
    fake_frame(f, b, 8 + n);
}

void test_proto__checksum(void)
{
    const uint8_t d[] = {0x01, 0x02, 0xFF};
    T_EQ_INT(proto_checksum(NULL, 0), 0xEF);
    T_EQ_INT(proto_checksum(d, sizeof d), 0xEF ^ 0x01 ^ 0x02 ^ 0xFF);
}

void test_proto__build_header(void)
{
    const uint8_t data[] = {0x00, 0x10, 0x00, 0x40};
    uint8_t out[32];
    size_t n = proto_build(out, sizeof out, OP_READ_REG, data, sizeof data, 0);
    const uint8_t want[] = {0x00, 0x0A, 0x04, 0x00, 0, 0, 0, 0,
                            0x00, 0x10, 0x00, 0x40};
    T_EQ_INT(n, sizeof want);
    T_EQ_MEM(out, want, sizeof want);
    /* checksum is little-endian in bytes 4..7; too small a buffer fails */
    n = proto_build(out, sizeof out, OP_MEM_DATA, data, 4, 0xAB);
    T_EQ_INT(out[4], 0xAB);
    T_EQ_INT(out[5], 0);
    T_EQ_INT(proto_build(out, 8, OP_READ_REG, data, 4, 0), 0);
}

void test_proto__sync_wire_bytes(void)
{
    /* the exact SYNC frame of the golden ESP32 ROM transcript */
    static const uint8_t golden[] = {
        0xc0, 0x00, 0x08, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x07,
        0x12, 0x20, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0xc0};
    uint8_t sync[36] = {0x07, 0x07, 0x12, 0x20};
    struct fake_port *f = fake_new();
    struct proto *p;
    memset(sync + 4, 0x55, 32);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_send(p, OP_SYNC, sync, sizeof sync, 0), ED_OK);
    T_EQ_INT(f->tx_len, sizeof golden);
    T_EQ_MEM(f->tx, golden, sizeof golden);
    proto_free(p);
    free(f);
}

void test_proto__rom_reply_four_status_bytes(void)
{
    /* golden: READ_REG 0x40001000 on the ESP32 ROM */
    const uint8_t st[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_raw(f, "ets Jul 29 2019\r\n", 17);
    fake_reply(f, OP_READ_REG, 0x00F01D83, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.op, OP_READ_REG);
    T_EQ_INT(r.value, 0x00F01D83);
    T_EQ_INT(r.data_len, 0);
    T_EQ_INT(r.status, 0);
    {
        size_t jl;
        const uint8_t *j = proto_junk(p, &jl);
        T_EQ_INT(jl, 17);
        T_EQ_MEM(j, "ets Jul 29 2019\r\n", 17);
        proto_clear_junk(p);
        proto_junk(p, &jl);
        T_EQ_INT(jl, 0);
    }
    proto_free(p);
    free(f);
}

void test_proto__reply_data_then_status(void)
{
    /* ROM MD5: 32 hex chars + 4 status bytes; stub: 16 raw + 2 */
    uint8_t d[64];
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    memset(d, 'a', 32);
    memset(d + 32, 0, 4);
    fake_reply(f, OP_SPI_FLASH_MD5, 0, d, 36);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, d, 16, 0, 32, 1000, &r),
             ED_OK);
    T_EQ_INT(r.data_len, 32);
    T_EQ_INT(r.data[31], 'a');

    memset(d, 0x11, 16);
    d[16] = 0;
    d[17] = 0;
    fake_reply(f, OP_SPI_FLASH_MD5, 0, d, 18);
    proto_set_stub(p, true);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, d, 16, 0, 16, 1000, &r),
             ED_OK);
    T_EQ_INT(r.data_len, 16);
    T_EQ_INT(r.data[15], 0x11);
    proto_free(p);
    free(f);
}

void test_proto__rom_error_named(void)
{
    const uint8_t st[] = {0x01, 0x07, 0, 0};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_MEM_DATA, 0, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_MEM_DATA, st, 4, 0xEF, 0, 1000, &r),
             ED_ERR_DEVICE);
    T_EQ_INT(r.status, 1);
    T_EQ_INT(r.error, 0x07);
    T_CONTAINS(proto_errmsg(p), "MEM_DATA failed");
    T_CONTAINS(proto_errmsg(p), "0x07 checksum error");
    proto_free(p);
    free(f);
}

void test_proto__stub_error_code_first(void)
{
    const uint8_t st[] = {0xC1, 0x00};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_FLASH_BEGIN, 0, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    proto_set_stub(p, true);
    T_EQ_INT(proto_command(p, OP_FLASH_BEGIN, st, 2, 0, 0, 1000, &r),
             ED_ERR_DEVICE);
    T_EQ_INT(r.status, 0xC1);
    T_EQ_STR(proto_errmsg(p),
             "FLASH_BEGIN failed: the chip said 0xC1 BAD_DATA_CHECKSUM");
    proto_free(p);
    free(f);
}

void test_proto__two_status_bytes_ok(void)
{
    /* a stub READ_REG reply: size 2, value 9 */
    const uint8_t st[] = {0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_READ_REG, 9, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    proto_set_status_len(p, 2);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 9);
    proto_free(p);
    free(f);
}

void test_proto__unsupported_reply(void)
{
    /* golden ESP32: GET_SECURITY_INFO after READ_REG is answered with the
     * previous opcode and value and status 01 05 00 00 */
    const uint8_t rej[] = {0x01, 0x05, 0x00, 0x00};
    const uint8_t ok[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_READ_REG, 0x00F01D83, rej, sizeof rej);
    /* rejected again when sent again: a refusal, not a late reply */
    f->later = 2;
    fake_reply(f, OP_READ_REG, 0x00F01D83, rej, sizeof rej);
    f->later = 0;
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_GET_SECURITY_INFO, NULL, 0, 0, 20, 1000, &r),
             ED_ERR_UNSUPPORTED);
    T_EQ_INT(f->writes, 2);
    T_CONTAINS(proto_errmsg(p), "GET_SECURITY_INFO");
    /* the next command still works */
    fake_reply(f, OP_READ_REG, 0x00F01D83, ok, sizeof ok);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 0x00F01D83);
    proto_free(p);
    free(f);
}

void test_proto__security_info_short_s2(void)
{
    uint8_t d[16] = {0};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    d[0] = 0x04; /* flags */
    fake_reply(f, OP_GET_SECURITY_INFO, 0, d, 16); /* 12 data + 4 status */
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_GET_SECURITY_INFO, NULL, 0, 0, 20, 1000, &r),
             ED_OK);
    T_EQ_INT(r.data_len, 12);
    T_EQ_INT(r.data[0], 0x04);
    proto_free(p);
    free(f);
}

void test_proto__skips_other_opcodes(void)
{
    const uint8_t st[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;
    int i;

    /* seven left-over SYNC replies, then the READ_REG reply */
    for (i = 0; i < 7; i++)
        fake_reply(f, OP_SYNC, 0x20120707, st, sizeof st);
    fake_reply(f, OP_READ_REG, 0x1B31506F, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 0x1B31506F);
    proto_free(p);
    free(f);
}

void test_proto__too_many_other_opcodes(void)
{
    const uint8_t st[] = {0, 0, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;
    int i;

    for (i = 0; i < 120; i++)
        fake_reply(f, OP_SYNC, 0, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 2000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "READ_REG");
    proto_free(p);
    free(f);
}

void test_proto__wrong_shape_is_proto_error(void)
{
    const uint8_t shortf[] = {0x01, 0x0A, 0x00};
    const uint8_t wrongdir[] = {0x00, 0x0A, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
    const uint8_t nostatus[] = {0x01, 0x0A, 0x00, 0x00, 0, 0, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;

    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    fake_frame(f, shortf, sizeof shortf);
    T_EQ_INT(proto_command(p, OP_READ_REG, wrongdir, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "shorter than a reply header");
    fake_frame(f, wrongdir, sizeof wrongdir);
    T_EQ_INT(proto_command(p, OP_READ_REG, wrongdir, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "not marked as a response");
    fake_frame(f, nostatus, sizeof nostatus);
    T_EQ_INT(proto_command(p, OP_READ_REG, wrongdir, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "no status bytes");
    proto_free(p);
    free(f);
}

void test_proto__missing_data_is_proto_error(void)
{
    const uint8_t st[] = {0, 0, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;

    fake_reply(f, OP_SPI_FLASH_MD5, 0, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, st, 4, 0, 32, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "expected 32");
    proto_free(p);
    free(f);
}

void test_proto__garbage_is_proto_error(void)
{
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t st[] = {0, 0, 0, 0};

    fake_raw(f, "\x12\x34 random text without frames \xff\xfe", 33);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 200, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "no reply to READ_REG");
    T_CONTAINS(proto_errmsg(p), "33 bytes of other data");
    proto_free(p);
    free(f);
}

void test_proto__timeout(void)
{
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t st[] = {0, 0, 0, 0};
    int64_t t0;

    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    t0 = clock_ms();
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 150, NULL),
             ED_ERR_TIMEOUT);
    /* the deadline was honoured (not a speed assert: a hang fails) */
    T_ASSERT(clock_ms() - t0 < 5000);
    T_EQ_STR(proto_errmsg(p), "no reply to READ_REG within 150 ms");
    proto_free(p);
    free(f);
}

void test_proto__raw_frame(void)
{
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t *b;
    size_t n;

    fake_frame(f, (const uint8_t *)"OHAI", 4);
    fake_open(f);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_read_frame(p, &b, &n, 500), ED_OK);
    T_EQ_INT(n, 4);
    T_EQ_MEM(b, "OHAI", 4);
    T_EQ_INT(proto_read_frame(p, &b, &n, 50), ED_ERR_TIMEOUT);
    proto_free(p);
    free(f);
}

void test_proto__error_names(void)
{
    T_EQ_STR(proto_rom_error_name(0x05),
             "0x05 received message has invalid format");
    T_EQ_STR(proto_rom_error_name(0x69), "0x69 insufficient storage");
    T_EQ_STR(proto_stub_error_name(0xC7), "0xC7 INFLATE_ERROR");
    T_EQ_STR(proto_stub_error_name(0xFF), "0xFF CMD_NOT_IMPLEMENTED");
    T_CONTAINS(proto_rom_error_name(0x68), "unknown");
    T_EQ_STR(proto_op_name(OP_FLASH_DEFL_DATA), "FLASH_DEFL_DATA");
}

void test_proto__boot_line_scanned(void)
{
    /* a long boot log must not push the ROM's boot line out of sight */
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t *b;
    size_t n;
    int i;

    fake_raw(f, "ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),"
                "boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n", 85);
    for (i = 0; i < 60; i++)
        fake_raw(f, "I (123) app: hello world from the app\r\n", 39);
    fake_open(f);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_read_frame(p, &b, &n, 300), ED_ERR_TIMEOUT);
    T_EQ_STR(proto_boot_line(p), "boot:0x13 (SPI_FAST_FLASH_BOOT)");
    T_ASSERT(!proto_download_seen(p));
    proto_clear_junk(p);
    T_EQ_STR(proto_boot_line(p), "");

    /* the C3 ROM in download mode */
    fake_raw(f, "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n"
                "rst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\n"
                "wait uart0 download\r\n", 112);
    fake_open(f);
    T_EQ_INT(proto_read_frame(p, &b, &n, 200), ED_ERR_TIMEOUT);
    T_EQ_STR(proto_boot_line(p), "boot:0x2 (UART0_BOOT)");
    T_ASSERT(proto_download_seen(p));
    proto_free(p);
    free(f);
}

/* ---- replies of the wrong shape (audit F4) ---- */

/* Queue a reply whose header announces size bytes, with n bytes after it. */
static void fake_reply_sized(struct fake_port *f, uint8_t op, size_t size,
                             const uint8_t *data, size_t n)
{
    uint8_t b[512] = {1, op, (uint8_t)size, (uint8_t)(size >> 8)};
    memcpy(b + 8, data, n);
    fake_frame(f, b, 8 + n);
}

void test_proto__size_field_must_match_frame(void)
{
    const uint8_t st[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    /* the audit's example: length 200, 4 bytes */
    fake_reply_sized(f, OP_READ_REG, 200, st, 4);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r),
             ED_ERR_PROTO);
    T_EQ_STR(proto_errmsg(p),
             "malformed reply to READ_REG: its header announces 200 bytes "
             "of data but 4 came: " PROTO_LINE_FIX);
    T_EQ_INT(proto_bad_frames(p), 1);
    /* a ROM's size 2 on 4 status bytes is not a documented quirk */
    fake_reply_sized(f, OP_READ_REG, 2, st, 4);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "announces 2 bytes of data but 4 came");
    /* nor a stub's size 7 on 2 status bytes */
    proto_set_stub(p, true);
    fake_reply_sized(f, OP_READ_REG, 7, st, 2);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "announces 7 bytes of data but 2 came");
    T_EQ_INT(proto_bad_frames(p), 3);
    /* the next good reply still goes through */
    fake_reply(f, OP_READ_REG, 5, st, 2);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 5);
    proto_free(p);
    free(f);
}

void test_proto__legacy_stub_size_quirks_tolerated(void)
{
    /* protocol.md 1.3: the legacy stub sets size 2 on most replies, and
     * 20 on GET_SECURITY_INFO although 22 bytes follow */
    uint8_t d[32] = {0};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    proto_set_stub(p, true);
    memset(d, 0x22, 16);
    fake_reply_sized(f, OP_SPI_FLASH_MD5, 2, d, 18);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, d, 16, 0, 16, 1000, &r),
             ED_OK);
    T_EQ_INT(r.data_len, 16);
    T_EQ_INT(r.data[15], 0x22);
    memset(d, 0, sizeof d);
    d[12] = 9; /* chip id */
    fake_reply_sized(f, OP_GET_SECURITY_INFO, 20, d, 22);
    T_EQ_INT(proto_command(p, OP_GET_SECURITY_INFO, NULL, 0, 0, 20, 1000, &r),
             ED_OK);
    T_EQ_INT(r.data_len, 20);
    T_EQ_INT(r.data[12], 9);
    T_EQ_INT(proto_bad_frames(p), 0);
    /* the same GET_SECURITY_INFO quirk from a ROM is of the wrong shape */
    proto_set_stub(p, false);
    fake_reply_sized(f, OP_GET_SECURITY_INFO, 20, d, 24);
    T_EQ_INT(proto_command(p, OP_GET_SECURITY_INFO, NULL, 0, 0, 20, 1000, &r),
             ED_ERR_PROTO);
    proto_free(p);
    free(f);
}

void test_proto__wrong_shape_sentences_end_with_the_fix(void)
{
    const uint8_t wrongdir[] = {0x00, 0x0A, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
    const uint8_t nostatus[] = {0x01, 0x0A, 0x00, 0x00, 0, 0, 0, 0};
    const uint8_t shortf[] = {0x01};
    const uint8_t st[] = {0, 0, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;

    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    fake_frame(f, nostatus, sizeof nostatus);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_EQ_STR(proto_errmsg(p), "reply to READ_REG has no status bytes "
                              "(8 bytes): " PROTO_LINE_FIX);
    fake_frame(f, wrongdir, sizeof wrongdir);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_EQ_STR(proto_errmsg(p), "malformed reply to READ_REG: not marked as a "
                              "response (10 bytes, first byte 0x00): "
                              PROTO_LINE_FIX);
    fake_frame(f, shortf, sizeof shortf);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "shorter than a reply header");
    T_CONTAINS(proto_errmsg(p), "reset the board and retry, or lower --baud");
    /* missing data too */
    fake_reply(f, OP_SPI_FLASH_MD5, 0, st, sizeof st);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, st, 4, 0, 32, 1000, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "expected 32: " PROTO_LINE_FIX);
    T_EQ_INT(proto_bad_frames(p), 3);
    /* garbage only: its own fix, not the silence */
    fake_raw(f, "I (10) app: running\r\n", 21);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 200, NULL),
             ED_ERR_PROTO);
    T_CONTAINS(proto_errmsg(p), "21 bytes of other data: an app may be "
                                "running, or the baud rate is wrong");
    proto_free(p);
    free(f);
}

void test_proto__only_other_opcodes_says_the_chip_answers(void)
{
    const uint8_t st[] = {0, 0, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;
    int i;

    for (i = 0; i < 3; i++)
        fake_reply(f, OP_SYNC, 0x20120707, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 300, NULL),
             ED_ERR_TIMEOUT);
    T_EQ_STR(proto_errmsg(p), "the chip answers, but not to READ_REG (got 3 "
                              "replies to SYNC within 300 ms): "
                              PROTO_LINE_FIX);
    T_EQ_INT(proto_bad_frames(p), 3);
    /* two different opcodes */
    fake_reply(f, OP_SYNC, 0, st, sizeof st);
    fake_reply(f, OP_FLASH_BEGIN, 0, st, sizeof st);
    T_EQ_INT(proto_command(p, OP_READ_REG, st, 4, 0, 0, 300, NULL),
             ED_ERR_TIMEOUT);
    T_CONTAINS(proto_errmsg(p), "(got 2 replies to other commands, the last "
                                "to FLASH_BEGIN within 300 ms)");
    proto_free(p);
    free(f);
}

void test_proto__rom_error_has_a_fix(void)
{
    const uint8_t rej[] = {0x01, 0x05, 0, 0};
    const uint8_t crc[] = {0x01, 0x07, 0, 0};
    struct fake_port *f = fake_new();
    struct proto *p;

    fake_reply(f, OP_READ_REG, 0, rej, sizeof rej);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, rej, 4, 0, 0, 1000, NULL),
             ED_ERR_DEVICE);
    T_EQ_STR(proto_errmsg(p),
             "READ_REG failed: the chip said 0x05 received message has "
             "invalid format: the ROM could not read the command: the line "
             "may have damaged it (check the cable, or lower --baud), or "
             "this chip does not know it");
    /* nothing here claims Secure Download Mode */
    T_ASSERT(strstr(proto_errmsg(p), "Secure Download") == NULL);
    fake_reply(f, OP_MEM_DATA, 0, crc, sizeof crc);
    T_EQ_INT(proto_command(p, OP_MEM_DATA, crc, 4, 0xEF, 0, 1000, NULL),
             ED_ERR_DEVICE);
    T_CONTAINS(proto_errmsg(p), "0x07 checksum error: the data was damaged");
    T_EQ_INT(proto_bad_frames(p), 0);
    proto_free(p);
    free(f);
}

/* ---- replies match requests (issue: late, duplicated, damaged) ---- */

void test_proto__late_rejection_is_not_unsupported(void)
{
    /* a ROM error for an earlier, damaged command arrives while READ_REG
     * waits; READ_REG sent again gets its real answer: never "unsupported"
     * (a late 01 05 once made the board "an ESP32-S2 in Secure Download
     * Mode") */
    const uint8_t rej[] = {0x01, 0x05, 0x00, 0x00};
    const uint8_t ok[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_SYNC, 0x20120707, rej, sizeof rej);
    f->later = 2;
    fake_reply(f, OP_READ_REG, 0x00F01D83, ok, sizeof ok);
    f->later = 0;
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 0x00F01D83);
    T_EQ_INT(f->writes, 2);
    proto_free(p);
    free(f);
}

void test_proto__junk_scan_is_linear(void)
{
    /* A chatty board whose bytes arrive one at a time: the banner scan
     * must read each junk byte a bounded number of times, not the whole
     * 2 KiB junk buffer per byte (issue 8). */
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t *b;
    size_t n, total = 0;
    int i;

    f->read_max = 1;
    fake_raw(f, "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n",
             57);
    for (i = 0; i < 190; i++)
        fake_raw(f, "I (123) app: hello world from the app\r\n", 39);
    fake_raw(f, "rst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\nwaiting for "
                "download\r\n", 63);
    total = f->rx_len;
    T_ASSERT(total > 7000);
    fake_open(f);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_read_frame(p, &b, &n, 300), ED_ERR_TIMEOUT);
    T_EQ_INT(proto_junk_total(p), total);
    /* the scan still finds the last boot line and the download mark */
    T_EQ_STR(proto_boot_line(p), "boot:0x2 (UART0_BOOT)");
    T_ASSERT(proto_download_seen(p));
    /* new bytes plus a tail of 19 and an unfinished boot line (< 96): a
     * rescan of the buffer would be ~2048 per byte */
    T_ASSERT(proto_junk_scanned(p) <= total * 120);
    T_ASSERT(proto_junk_scanned(p) >= total);
    proto_free(p);
    free(f);
}

void test_proto__late_reply_is_dropped(void)
{
    /* the reply to a READ_REG that timed out comes while the next command
     * (MD5) waits: dropped, not taken as the MD5's answer */
    const uint8_t st[] = {0, 0, 0, 0};
    uint8_t md5[36];
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    memset(md5, 'a', 32);
    memset(md5 + 32, 0, 4);
    fake_reply(f, OP_READ_REG, 0x12345678, st, sizeof st);
    fake_reply(f, OP_SPI_FLASH_MD5, 0, md5, sizeof md5);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_SPI_FLASH_MD5, st, 4, 0, 32, 1000, &r),
             ED_OK);
    T_EQ_INT(r.op, OP_SPI_FLASH_MD5);
    T_EQ_INT(r.data_len, 32);
    T_EQ_INT(proto_bad_frames(p), 1);
    proto_free(p);
    free(f);
}

void test_proto__duplicated_reply_is_not_the_next_answer(void)
{
    /* READ_REG's reply comes twice; the second READ_REG (another
     * register) must get its own reply, not the copy */
    const uint8_t st[] = {0, 0, 0, 0};
    const uint8_t a1[] = {0x44, 0x88, 0x00, 0x60}, a2[] = {0x48, 0x88, 0, 0x60};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_READ_REG, 0x11111111, st, sizeof st);
    fake_reply(f, OP_READ_REG, 0x11111111, st, sizeof st); /* the copy */
    f->later = 2;
    fake_reply(f, OP_READ_REG, 0x22222222, st, sizeof st);
    f->later = 0;
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, a1, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 0x11111111);
    /* the copy arrives while nothing is pending */
    clock_sleep_ms(30);
    T_EQ_INT(proto_command(p, OP_READ_REG, a2, 4, 0, 0, 1000, &r), ED_OK);
    T_EQ_INT(r.value, 0x22222222);
    proto_free(p);
    free(f);
}

void test_proto__damaged_reply_is_never_the_answer(void)
{
    /* a reply whose opcode byte was hit on the way: dropped; the command
     * then ends without an answer rather than with a wrong one */
    const uint8_t st[] = {0, 0, 0, 0};
    const uint8_t addr[] = {0x00, 0x10, 0x00, 0x40};
    struct fake_port *f = fake_new();
    struct proto_reply r;
    struct proto *p;

    fake_reply(f, OP_READ_REG ^ 0x20, 0x00F01D83, st, sizeof st);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_command(p, OP_READ_REG, addr, 4, 0, 0, 200, &r),
             ED_ERR_TIMEOUT);
    T_EQ_INT(r.value, 0);
    T_CONTAINS(proto_errmsg(p), "the chip answers, but not to READ_REG");
    proto_free(p);
    free(f);
}

void test_proto__boot_line_split_across_reads(void)
{
    /* a boot line arriving byte by byte, its parenthesis long after the
     * scan's tail, is still read whole */
    struct fake_port *f = fake_new();
    struct proto *p;
    const uint8_t *b;
    size_t n;

    f->read_max = 1;
    fake_raw(f, "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT_"
                "WITH_A_RATHER_LONG_NAME)\r\nok\r\n", 85);
    fake_open(f);
    T_EQ_INT(proto_new(&p, &f->base, NULL), ED_OK);
    T_EQ_INT(proto_read_frame(p, &b, &n, 200), ED_ERR_TIMEOUT);
    T_EQ_STR(proto_boot_line(p),
             "boot:0x13 (SPI_FAST_FLASH_BOOT_WITH_A_RATHER_LONG_NAME)");
    proto_free(p);
    free(f);
}
