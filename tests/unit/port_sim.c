/*
 * Unit tests for the in-process simulated board (src/port/port_sim.c): SYNC over
 * sim:CHIP, paced reads honour their deadline, two boards are independent,
 * URL options are checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "port.h"
#include "test.h"

/* A SYNC command, SLIP-framed by hand (no shared codec). */
static size_t sync_frame(uint8_t *f)
{
    size_t n = 0;
    int i;
    static const uint8_t hdr[] = {0x00, 0x08, 0x24, 0x00, 0, 0, 0, 0,
                                  0x07, 0x07, 0x12, 0x20};
    f[n++] = 0xC0;
    memcpy(f + n, hdr, sizeof hdr);
    n += sizeof hdr;
    for (i = 0; i < 32; i++)
        f[n++] = 0x55;
    f[n++] = 0xC0;
    return n;
}

/* Read until pattern shows up in the collected bytes or budget_ms passes. */
static size_t read_until(struct port *p, uint8_t *buf, size_t cap,
                         const void *pat, size_t patlen, int budget_ms)
{
    int64_t end = clock_ms() + budget_ms;
    size_t n = 0;
    while (clock_ms() < end && n < cap) {
        int r = port_read(p, buf + n, cap - n, 50);
        if (r < 0)
            break;
        n += (size_t)r;
        if (pat && memmem(buf, n, pat, patlen))
            break;
    }
    return n;
}

static int count(const uint8_t *buf, size_t n, const void *pat, size_t pl)
{
    int c = 0;
    const uint8_t *p = buf, *end = buf + n;
    while (p < end && (p = memmem(p, (size_t)(end - p), pat, pl))) {
        c++;
        p += pl;
    }
    return c;
}

/* esptool's classic reset into the ROM loader. */
static void download_reset(struct port *p)
{
    port_set_lines(p, 0, 1);
    clock_sleep_ms(100);
    port_set_lines(p, 1, 0);
    clock_sleep_ms(50);
    port_set_lines(p, 0, 0);
}

static const uint8_t sync_reply[] = {0xC0, 0x01, 0x08, 0x04, 0x00,
                                     0x07, 0x07, 0x12, 0x20};

void test_port_sim__sync_gets_8_replies(void)
{
    struct port *p = NULL;
    char err[ED_ERRMSG_MAX];
    uint8_t f[64], *buf = malloc(65536);
    size_t n, fl;

    T_ASSERT(buf);
    T_EQ_INT(port_open(&p, "sim:esp32?pacing=0", 115200, NULL, err,
                       sizeof err), ED_OK);
    T_ASSERT(p);
    T_ASSERT(p->has_lines);
    T_EQ_INT(p->kind, PORT_SIM);
    download_reset(p);
    n = read_until(p, buf, 65536, "waiting for download", 20, 2000);
    T_ASSERT(memmem(buf, n, "rst:0x1 (POWERON_RESET),boot:0x3", 32));
    fl = sync_frame(f);
    T_EQ_INT(port_write(p, f, fl, 1000), ED_OK);
    n = 0;
    {
        int64_t end = clock_ms() + 2000;
        while (clock_ms() < end &&
               count(buf, n, sync_reply, sizeof sync_reply) < 8) {
            int r = port_read(p, buf + n, 65536 - n, 50);
            T_ASSERT(r >= 0);
            n += (size_t)r;
        }
    }
    T_EQ_INT(count(buf, n, sync_reply, sizeof sync_reply), 8);
    port_close(p);
    free(buf);
}

void test_port_sim__paced_read_keeps_deadline(void)
{
    struct port *p = NULL;
    char err[ED_ERRMSG_MAX];
    uint8_t *buf = malloc(65536);
    int64_t t0, dt;
    size_t n;
    int r;

    T_ASSERT(buf);
    T_EQ_INT(port_open(&p, "sim:esp32c3", 115200, NULL, err, sizeof err),
             ED_OK);
    download_reset(p);
    /* Paced: the banner (about 100 bytes, ~9 ms at 115200) arrives over
     * time, so one read right after the reset cannot return all of it. */
    r = port_read(p, buf, 65536, 0);
    T_ASSERT(r >= 0 && !memmem(buf, (size_t)r, "waiting for download", 20));
    n = (size_t)r + read_until(p, buf + r, 65536 - (size_t)r, "download", 8,
                               3000);
    T_ASSERT(memmem(buf, n, "ESP-ROM:esp32c3", 15));
    /* The ROM now waits in silence: a read must wait its full timeout
     * and come back empty, not earlier and not with an error. */
    clock_sleep_ms(20);
    port_flush_input(p);
    t0 = clock_ms();
    r = port_read(p, buf, 65536, 200);
    dt = clock_ms() - t0;
    T_EQ_INT(r, 0);
    T_ASSERT(dt >= 195);
    T_ASSERT(dt < 5000); /* not a speed check: it must end at all */
    /* A SYNC needs ~4 ms on the wire and the replies as long again: right
     * after the write nothing can be there yet; later all 8 are. */
    {
        uint8_t f[64];
        size_t fl = sync_frame(f);
        T_EQ_INT(port_write(p, f, fl, 1000), ED_OK);
        T_EQ_INT(port_read(p, buf, 65536, 0), 0);
        n = 0;
        t0 = clock_ms();
        while (clock_ms() - t0 < 3000 &&
               count(buf, n, sync_reply, sizeof sync_reply) < 8) {
            r = port_read(p, buf + n, 65536 - n, 100);
            T_ASSERT(r >= 0);
            n += (size_t)r;
        }
        T_EQ_INT(count(buf, n, sync_reply, sizeof sync_reply), 8);
    }
    port_close(p);
    free(buf);
}

void test_port_sim__two_boards_are_independent(void)
{
    struct port *a = NULL, *b = NULL;
    char err[ED_ERRMSG_MAX];
    uint8_t f[64], *buf = malloc(65536);
    size_t n, fl;

    T_ASSERT(buf);
    T_EQ_INT(port_open(&a, "sim:esp32?pacing=0", 115200, NULL, err,
                       sizeof err), ED_OK);
    T_EQ_INT(port_open(&b, "sim:esp32c3?pacing=0&mac=02:00:00:00:00:07",
                       115200, NULL, err, sizeof err), ED_OK);
    download_reset(a);
    n = read_until(a, buf, 65536, "download", 8, 2000);
    T_ASSERT(memmem(buf, n, "ets Jul 29 2019", 15));
    /* b was not reset: it booted from its blank flash (power-up with the
     * lines released), it is not in the ROM loader. */
    n = read_until(b, buf, 65536, "invalid header", 14, 2000);
    T_ASSERT(memmem(buf, n, "ESP-ROM:esp32c3", 15));
    T_ASSERT(!memmem(buf, n, "download", 8));
    /* SYNC to a: replies on a only. */
    fl = sync_frame(f);
    T_EQ_INT(port_write(a, f, fl, 1000), ED_OK);
    n = read_until(a, buf, 65536, NULL, 0, 300);
    T_EQ_INT(count(buf, n, sync_reply, sizeof sync_reply), 8);
    port_flush_input(b);
    n = read_until(b, buf, 65536, NULL, 0, 300);
    T_EQ_INT(count(buf, n, sync_reply, sizeof sync_reply), 0);
    port_close(a);
    port_close(b);
    free(buf);
}

void test_port_sim__bad_urls(void)
{
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];

    T_EQ_INT(port_open(&p, "sim:esp99", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "unknown chip 'esp99'");
    T_EQ_INT(port_open(&p, "sim:esp32?flash=huge", 115200, NULL, err,
                       sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "flash=huge");
    T_EQ_INT(port_open(&p, "sim:esp32?speed=9", 115200, NULL, err,
                       sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "unknown option 'speed'");
    T_EQ_INT(port_open(&p, "sim:", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_EQ_INT(port_open(&p, "sim:esp32?pacing=2", 115200, NULL, err,
                       sizeof err), ED_ERR_ARG);
}

void test_port_sim__flash_file_kept(void)
{
    struct port *p = NULL;
    char err[ED_ERRMSG_MAX], url[600], path[512];
    size_t len;
    uint8_t *data;

    snprintf(path, sizeof path, "%s/board.bin", t_tmpdir());
    snprintf(url, sizeof url, "sim:esp32s3?pacing=0&flash=2MB&flash-file=%s",
             path);
    T_EQ_INT(port_open(&p, url, 115200, NULL, err, sizeof err), ED_OK);
    port_close(p);
    data = t_read_file(path, &len);
    T_ASSERT(data);
    T_EQ_INT(len, 2u << 20);
    T_EQ_INT(data[0], 0xFF);
    free(data);
}
