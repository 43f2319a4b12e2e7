/*
 * proto.c - ESP serial loader packets on top of SLIP (see proto.h).
 *
 * Reading: bytes come from the port into a small buffer and are fed to the
 * SLIP decoder; what is left after a complete frame stays in the buffer for
 * the next read.  Every read works against one deadline computed when the
 * command was sent.
 */
#include "proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"

/* Less than half the junk buffer, so no banner byte is dropped unscanned. */
#define PROTO_RX_CHUNK 1024
#define PROTO_MAX_SKIP 100
/* "received message is invalid": with another opcode = unsupported command */
#define ROM_INVALID_RECV_MSG 0x05

struct proto {
    struct port *port;
    struct log_sink log;
    bool stub;
    int status_len;
    struct slip_decoder dec;
    uint8_t frame[PROTO_MAX_FRAME];
    uint8_t rx[PROTO_RX_CHUNK];
    size_t rx_pos, rx_len;
    char boot_line[96];   /* last "boot:0x.. (...)" of a ROM banner */
    bool boot_download;   /* that boot mode is a download mode */
    bool download_text;   /* "waiting for download" and the like */
    size_t scanned_total; /* junk_total when the junk was last scanned */
    size_t boot_pending;  /* 1 + where (junk_total scale) an unfinished
                           * "boot:0x" starts, 0 = none */
    size_t scan_work;     /* junk bytes looked at (proto_junk_scanned) */
    size_t bad_frames;    /* frames of the wrong shape or for other commands */
    size_t stale_frames;  /* frames dropped because they came before a command */
    uint8_t *tx;      /* SLIP-encoded output, grown as needed */
    size_t tx_cap;
    uint8_t *pkt;     /* packet before encoding */
    size_t pkt_cap;
    char errmsg[ED_ERRMSG_MAX];
};

int proto_new(struct proto **out, struct port *port, const struct log_sink *log)
{
    struct proto *p;

    *out = NULL;
    if (!port)
        return ED_ERR_ARG;
    p = calloc(1, sizeof *p);
    if (!p)
        return ED_ERR_NOMEM;
    p->port = port;
    if (log)
        p->log = *log;
    p->status_len = 4;
    slip_decoder_init(&p->dec, p->frame, sizeof p->frame);
    *out = p;
    return ED_OK;
}

void proto_free(struct proto *p)
{
    if (!p)
        return;
    free(p->tx);
    free(p->pkt);
    free(p);
}

const char *proto_errmsg(const struct proto *p)
{
    return p ? p->errmsg : "no protocol object";
}

struct port *proto_port(struct proto *p)
{
    return p->port;
}

void proto_set_stub(struct proto *p, bool stub)
{
    p->stub = stub;
    p->status_len = stub ? 2 : 4;
}

void proto_set_status_len(struct proto *p, int n)
{
    p->status_len = n == 2 ? 2 : 4;
}

uint8_t proto_checksum(const uint8_t *data, size_t len)
{
    uint8_t c = 0xEF;
    size_t i;
    for (i = 0; i < len; i++)
        c ^= data[i];
    return c;
}

static void put_le16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

/*
 * The one place that ends a sentence about a reply of the wrong shape with
 * its likely fix: fmt (printf-style), then ": " and fix.
 */
static int vfail_fix(char *buf, size_t len, int rc, const char *fix,
                     const char *fmt, va_list ap)
{
    size_t n;

    ed_vseterr(buf, len, rc, fmt, ap);
    n = strlen(buf);
    if (fix && n < len)
        snprintf(buf + n, len - n, ": %s", fix);
    return rc;
}

int proto_malformed(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail_fix(buf, len, ED_ERR_PROTO, PROTO_LINE_FIX, fmt, ap);
    va_end(ap);
    return ED_ERR_PROTO;
}

static int fail_fix(struct proto *p, int rc, const char *fix,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_fix(struct proto *p, int rc, const char *fix,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail_fix(p->errmsg, sizeof p->errmsg, rc, fix, fmt, ap);
    va_end(ap);
    return rc;
}

size_t proto_build(uint8_t *out, size_t cap, uint8_t op, const uint8_t *data,
                   size_t len, uint32_t checksum)
{
    if (len > 0xFFFF || cap < 8 + len)
        return 0;
    out[0] = 0x00;
    out[1] = op;
    put_le16(out + 2, (uint16_t)len);
    put_le32(out + 4, checksum);
    if (len)
        memcpy(out + 8, data, len);
    return 8 + len;
}

static int grow(uint8_t **buf, size_t *cap, size_t want)
{
    uint8_t *n;
    if (*cap >= want)
        return ED_OK;
    n = realloc(*buf, want);
    if (!n)
        return ED_ERR_NOMEM;
    *buf = n;
    *cap = want;
    return ED_OK;
}

/* Time n bytes take on the wire at the port's baud (10 bits a byte). */
static int wire_ms(const struct proto *p, size_t n)
{
    uint32_t baud = p->port->baud ? p->port->baud : 115200;
    return (int)((uint64_t)n * 10 * 1000 / baud);
}

/* Time to push n bytes through the UART, plus a margin. */
static int write_timeout_ms(const struct proto *p, size_t n)
{
    return 1000 + wire_ms(p, n);
}

int proto_send_frame(struct proto *p, const uint8_t *body, size_t len)
{
    size_t n;
    int rc;

    rc = grow(&p->tx, &p->tx_cap, SLIP_ENCODED_MAX(len));
    if (rc)
        return ed_seterr(p->errmsg, sizeof p->errmsg, rc,
                         "out of memory for a %zu-byte packet", len);
    n = slip_encode(p->tx, p->tx_cap, body, len);
    rc = port_write(p->port, p->tx, n, write_timeout_ms(p, n));
    if (rc)
        return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "%s",
                         port_errmsg(p->port));
    return ED_OK;
}

int proto_send_end(struct proto *p)
{
    static const uint8_t end = SLIP_END;
    int rc = port_write(p->port, &end, 1, write_timeout_ms(p, 1));

    if (rc)
        return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "%s",
                         port_errmsg(p->port));
    return ED_OK;
}

int proto_send(struct proto *p, uint8_t op, const uint8_t *data, size_t len,
               uint32_t checksum)
{
    size_t n;
    int rc;

    if (len > 0xFFFF)
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_ARG,
                         "%s: %zu bytes of data do not fit a packet",
                         proto_op_name(op), len);
    rc = grow(&p->pkt, &p->pkt_cap, 8 + len);
    if (rc)
        return ed_seterr(p->errmsg, sizeof p->errmsg, rc,
                         "out of memory for a %zu-byte packet", len);
    n = proto_build(p->pkt, p->pkt_cap, op, data, len, checksum);
    log_hex(&p->log, ED_LOG_TRACE, proto_op_name(op), p->pkt,
            n > 40 ? 40 : n);
    return proto_send_frame(p, p->pkt, n);
}

static bool has_text(const uint8_t *b, size_t n, const char *t)
{
    return memmem(b, n, t, strlen(t)) != NULL;
}

/* Longest mark ("waiting for download") less one: a mark may have begun
 * that far before the new junk. */
#define SCAN_TAIL 19

/*
 * Look through the junk for the ROM's boot-mode line and download marks.
 * Only the junk new since the last scan is read, plus SCAN_TAIL bytes
 * before it and an unfinished boot line (at most sizeof boot_line), so a
 * port delivering one byte at a time costs linear work, not the whole
 * buffer per byte.
 */
static void scan_junk(struct proto *p)
{
    const uint8_t *j = p->dec.junk;
    size_t n = p->dec.junk_len, i, base, from;

    if (p->dec.junk_total == p->scanned_total)
        return;
    base = p->dec.junk_total - n; /* junk_total scale of j[0] */
    from = p->scanned_total > base + SCAN_TAIL
               ? p->scanned_total - SCAN_TAIL - base : 0;
    if (p->boot_pending) {
        size_t b = p->boot_pending - 1;
        if (b < base + from)
            from = b > base ? b - base : 0;
    }
    p->scanned_total = p->dec.junk_total;
    p->boot_pending = 0;
    p->scan_work += n - from;
    if (has_text(j + from, n - from, "waiting for download") ||
        has_text(j + from, n - from, "wait uart0 download") ||
        has_text(j + from, n - from, "wait usb download"))
        p->download_text = true;
    for (i = from; i + 8 <= n; i++) {
        size_t k, e;
        if (memcmp(j + i, "boot:0x", 7) != 0)
            continue;
        k = i + 7;
        while (k < n && k < i + 15 && isxdigit(j[k]))
            k++;
        if (k + 1 >= n && !p->boot_pending)
            p->boot_pending = base + i + 1; /* more may belong to it */
        if (k == i + 7 || k >= n)
            continue;
        e = k;
        if (k + 1 < n && j[k] == ' ' && j[k + 1] == '(') {
            int depth = 0;
            for (e = k + 1; e < n && e - i < sizeof p->boot_line; e++) {
                if (j[e] == '(')
                    depth++;
                else if (j[e] == ')' && --depth == 0)
                    break;
                else if (j[e] == '\r' || j[e] == '\n')
                    break;
            }
            if (e >= n && !p->boot_pending)
                p->boot_pending = base + i + 1; /* not arrived yet */
            if (e >= n || j[e] != ')')
                continue; /* unfinished, broken or too long */
            e++;
        }
        if (e - i >= sizeof p->boot_line)
            e = i + sizeof p->boot_line - 1;
        memcpy(p->boot_line, j + i, e - i);
        p->boot_line[e - i] = '\0';
        p->boot_download = strstr(p->boot_line, "DOWNLOAD") ||
                           strstr(p->boot_line, "UART") ||
                           strstr(p->boot_line, "USB");
    }
}

size_t proto_junk_scanned(const struct proto *p)
{
    return p->scan_work;
}

const char *proto_boot_line(const struct proto *p)
{
    return p->boot_line;
}

bool proto_download_seen(const struct proto *p)
{
    return p->download_text || (p->boot_line[0] && p->boot_download);
}

size_t proto_junk_total(const struct proto *p)
{
    return p->dec.junk_total;
}

size_t proto_bad_frames(const struct proto *p)
{
    return p->bad_frames;
}

int proto_flush_input(struct proto *p)
{
    p->rx_pos = p->rx_len = 0;
    slip_decoder_reset(&p->dec);
    return port_flush_input(p->port);
}

/*
 * Feed what was read and not decoded yet to the SLIP decoder: the length
 * of the first complete frame (in p->frame; the rest stays buffered), or
 * 0 with the buffer used up.
 */
static size_t decode_buffered(struct proto *p)
{
    size_t flen = 0;

    while (p->rx_pos < p->rx_len) {
        p->rx_pos += slip_decode(&p->dec, p->rx + p->rx_pos,
                                 p->rx_len - p->rx_pos, &flen);
        scan_junk(p);
        if (flen)
            return flen;
    }
    p->rx_pos = p->rx_len = 0;
    return 0;
}

int proto_read_frame(struct proto *p, const uint8_t **body, size_t *len,
                     int timeout_ms)
{
    int64_t deadline = clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    size_t flen = 0;
    bool polled = false;

    *body = NULL;
    *len = 0;
    for (;;) {
        int n;
        if ((flen = decode_buffered(p)) != 0) {
            *body = p->frame;
            *len = flen;
            log_hex(&p->log, ED_LOG_TRACE, "rx frame", p->frame,
                    flen > 40 ? 40 : flen);
            return ED_OK;
        }
        /* a line that never stops talking must not outlast the deadline */
        if (polled && clock_remaining_ms(deadline) == 0)
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                             "no frame within %d ms", timeout_ms);
        polled = true;
        n = port_read(p->port, p->rx, sizeof p->rx,
                      clock_remaining_ms(deadline));
        if (n < 0)
            return ed_seterr(p->errmsg, sizeof p->errmsg, n, "%s",
                             port_errmsg(p->port));
        if (n == 0 && clock_remaining_ms(deadline) == 0)
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                             "no data within %d ms", timeout_ms);
        p->rx_len = (size_t)n;
    }
}

const uint8_t *proto_junk(const struct proto *p, size_t *len)
{
    *len = p->dec.junk_len;
    return p->dec.junk;
}

void proto_clear_junk(struct proto *p)
{
    slip_decoder_clear_junk(&p->dec);
    p->boot_line[0] = '\0';
    p->boot_download = false;
    p->download_text = false;
    p->scanned_total = p->dec.junk_total;
    p->boot_pending = 0;
}

/* Discard the copies of an "unsupported" rejection the ROM may still send
 * (about 8 back to back, 1.2 ms each at 115200). */
static void drain_rejections(struct proto *p)
{
    const uint8_t *b;
    size_t n;
    int i;

    for (i = 0; i < 16; i++)
        if (proto_read_frame(p, &b, &n, 20) != ED_OK)
            break;
}

/*
 * Frames that arrived before a command is sent cannot be its reply (a
 * late or duplicated reply to an earlier command, the rest of a SYNC
 * burst): drop what is already there, without waiting, and log it.
 */
static void drain_stale(struct proto *p, uint8_t op)
{
    size_t flen = 0;
    int guard;

    for (guard = 0; guard < 64; guard++) {
        int n;

        while ((flen = decode_buffered(p)) != 0) {
            p->stale_frames++;
            if (flen >= 8 && p->frame[0] == 1)
                log_msg(&p->log, ED_LOG_DEBUG, "dropped a late reply to %s "
                        "before sending %s", proto_op_name(p->frame[1]),
                        proto_op_name(op));
            else
                log_msg(&p->log, ED_LOG_DEBUG, "dropped a %zu-byte frame "
                        "before sending %s", flen, proto_op_name(op));
        }
        n = port_read(p->port, p->rx, sizeof p->rx, 0);
        if (n <= 0)
            return;
        p->rx_len = (size_t)n;
    }
}

/*
 * Commands that may be sent twice with the same effect: a rejection that
 * names another command is checked by sending them again.
 */
static bool idempotent(uint8_t op)
{
    switch (op) {
    case OP_SYNC: case OP_READ_REG: case OP_WRITE_REG:
    case OP_GET_SECURITY_INFO: case OP_SPI_ATTACH: case OP_SPI_SET_PARAMS:
    case OP_SPI_FLASH_MD5: case OP_READ_FLASH_SLOW:
        return true;
    }
    return false;
}

static void error_text(char *buf, size_t cap, bool stub, uint8_t code)
{
    const char *name = stub ? proto_stub_error_name(code)
                            : proto_rom_error_name(code);
    if (!strncmp(name, "0x", 2))
        snprintf(buf, cap, "%s", name);
    else
        snprintf(buf, cap, "0x%02X (%s)", code, name);
}

const char *proto_rom_error_fix(uint8_t code)
{
    switch (code) {
    case 0x05:
        return "the ROM could not read the command: the line may have "
               "damaged it (check the cable, or lower --baud), or this chip "
               "does not know it";
    case 0x01: case 0x06: case 0x64: case 0x65:
        return "the ROM refused the command: this chip may not allow it "
               "here, or its parameters are out of range; reset the board "
               "and retry";
    case 0x07: case 0x0B: case 0x0C: case 0x0D:
        return "the data was damaged on the way: check the cable, or lower "
               "--baud";
    case 0x08: case 0x09: case 0x0A:
        return "the SPI flash did not do as told: check the flash size "
               "and the board's flash (strapping, power), then retry";
    case 0x0E: case 0x0F:
        return "the RAM image does not fit this chip: check that it was "
               "built for this chip";
    }
    return "reset the board and retry";
}

/*
 * A reply whose size field disagrees with its frame is of the wrong shape,
 * except for the legacy stub's documented quirks (protocol.md 1.3): size 2
 * on most replies, and GET_SECURITY_INFO announcing its 20 data bytes
 * without the 2 status bytes that follow.
 */
static bool size_ok(const struct proto *p, uint8_t op, size_t size,
                    size_t dlen)
{
    if (size == dlen)
        return true;
    if (!p->stub)
        return false;
    return size == 2 || (op == OP_GET_SECURITY_INFO && size + 2 == dlen);
}

/* "3 replies to SYNC" / "5 replies to other commands, the last to SYNC" */
static void others_text(char *buf, size_t cap, int n, bool mixed,
                        uint8_t last)
{
    if (mixed)
        snprintf(buf, cap, "%d replies to other commands, the last to %s",
                 n, proto_op_name(last));
    else
        snprintf(buf, cap, "%d repl%s to %s", n, n == 1 ? "y" : "ies",
                 proto_op_name(last));
}

/* proto_command(), or with send false proto_wait() (op already sent: a
 * rejection cannot be told from a late reply by sending it again). */
static int exchange(struct proto *p, uint8_t op, const uint8_t *data,
                    size_t len, uint32_t checksum, bool send,
                    size_t want_data, int timeout_ms,
                    struct proto_reply *reply)
{
    /*
     * The reply cannot come before the request has crossed the UART: at a
     * low baud that is most of the wait (a 16 KiB block at 9600 baud takes
     * ~17 s), and the port's write may return as soon as the OS buffered it;
     * then the reply crosses it too (header, want_data, status; SLIP may
     * double every byte).
     */
    int64_t deadline = clock_ms() + timeout_ms +
                       (send ? wire_ms(p, SLIP_ENCODED_MAX(8 + len)) : 0) +
                       wire_ms(p, SLIP_ENCODED_MAX(8 + want_data + 4));
    size_t junk_before = p->dec.junk_total;
    unsigned bad_before = p->dec.bad_escapes + p->dec.overflows;
    int skipped = 0, rc;
    bool mixed = false, rejected = false;
    uint8_t other = 0;
    char others[96];

    if (reply)
        memset(reply, 0, sizeof *reply);
    if (send) {
        drain_stale(p, op);
        rc = proto_send(p, op, data, len, checksum);
        if (rc)
            return rc;
    }
    for (;;) {
        const uint8_t *f, *d;
        size_t flen, dlen, off, size;
        uint8_t st, er;
        char name[64];

        rc = proto_read_frame(p, &f, &flen, clock_remaining_ms(deadline));
        if (rc == ED_ERR_TIMEOUT) {
            size_t junk = p->dec.junk_total - junk_before;
            unsigned bad = p->dec.bad_escapes + p->dec.overflows - bad_before;
            if (skipped) {
                /* frames came, none for op: the chip is not silent */
                others_text(others, sizeof others, skipped, mixed, other);
                return fail_fix(p, ED_ERR_TIMEOUT, PROTO_LINE_FIX,
                                "the chip answers, but not to %s (got %s "
                                "within %d ms)", proto_op_name(op), others,
                                timeout_ms);
            }
            if (junk || bad)
                return fail_fix(
                    p, ED_ERR_PROTO,
                    "an app may be running, or the baud rate is wrong; "
                    "reset the board into download mode and retry",
                    "no reply to %s within %d ms, only %zu bytes of other "
                    "data%s", proto_op_name(op), timeout_ms, junk,
                    bad ? " and broken frames" : "");
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                             "no reply to %s within %d ms", proto_op_name(op),
                             timeout_ms);
        }
        if (rc)
            return rc;
        if (flen < 8 || f[0] != 0x01) {
            p->bad_frames++;
            return fail_fix(
                p, ED_ERR_PROTO, PROTO_LINE_FIX,
                "malformed reply to %s: %s (%zu bytes, first byte 0x%02X)",
                proto_op_name(op),
                flen < 8 ? "shorter than a reply header"
                         : "not marked as a response",
                flen, f[0]);
        }
        d = f + 8;
        dlen = flen - 8;
        size = (size_t)f[2] | (size_t)f[3] << 8;
        if (!size_ok(p, f[1], size, dlen)) {
            p->bad_frames++;
            return fail_fix(p, ED_ERR_PROTO, PROTO_LINE_FIX,
                            "malformed reply to %s: its header announces "
                            "%zu bytes of data but %zu came", proto_op_name(op),
                            size, dlen);
        }
        if (f[1] != op) {
            /*
             * The ROM rejects a command it does not know with another
             * command's opcode and status [1, 0x05]; a late reply to an
             * earlier, damaged command looks the same.  A rejection counts
             * only when the command, sent again, is rejected again.
             */
            if (dlen >= 2 && d[0] != 0 &&
                d[1] == ROM_INVALID_RECV_MSG && idempotent(op)) {
                drain_rejections(p);
                if (rejected || !send)
                    return ed_seterr(p->errmsg, sizeof p->errmsg,
                                     ED_ERR_UNSUPPORTED,
                                     "the loader does not support %s",
                                     proto_op_name(op));
                rejected = true;
                log_msg(&p->log, ED_LOG_DEBUG, "%s rejected (a reply naming "
                        "%s): sending it again to tell a late reply from a "
                        "refusal", proto_op_name(op), proto_op_name(f[1]));
                rc = proto_send(p, op, data, len, checksum);
                if (rc)
                    return rc;
                deadline = clock_ms() + timeout_ms;
                continue;
            }
            log_msg(&p->log, ED_LOG_DEBUG, "dropped a reply to %s while "
                    "waiting for %s", proto_op_name(f[1]), proto_op_name(op));
            p->bad_frames++;
            if (skipped && f[1] != other)
                mixed = true;
            other = f[1];
            if (++skipped >= PROTO_MAX_SKIP) {
                others_text(others, sizeof others, skipped, mixed, other);
                return fail_fix(p, ED_ERR_PROTO, PROTO_LINE_FIX,
                                "the chip answers, but not to %s (got %s)",
                                proto_op_name(op), others);
            }
            continue;
        }
        if (dlen < 2) {
            p->bad_frames++;
            return fail_fix(p, ED_ERR_PROTO, PROTO_LINE_FIX,
                            "reply to %s has no status bytes (%zu bytes)",
                            proto_op_name(op), flen);
        }
        /*
         * Status right after the expected data (as esptool reads it); a
         * shorter reply (an error without data, the ESP32-S2's 12-byte
         * security info) has its status bytes at the end.
         */
        if (dlen >= want_data + 2)
            off = want_data;
        else if (dlen >= (size_t)p->status_len)
            off = dlen - (size_t)p->status_len;
        else
            off = dlen - 2;
        st = d[off];
        er = d[off + 1];
        if (reply) {
            reply->op = f[1];
            reply->value = get_le32(f + 4);
            reply->data = d;
            reply->data_len = off;
            reply->status = st;
            reply->error = er;
        }
        if (p->stub && st != 0) {
            error_text(name, sizeof name, true, st);
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_DEVICE,
                             "%s failed: the chip said %s", proto_op_name(op),
                             name);
        }
        if (!p->stub && st != 0) {
            error_text(name, sizeof name, false, er);
            return fail_fix(p, ED_ERR_DEVICE, proto_rom_error_fix(er),
                            "%s failed: the chip said %s", proto_op_name(op),
                            name);
        }
        if (off < want_data && !(op == OP_GET_SECURITY_INFO && off >= 12))
            return fail_fix(p, ED_ERR_PROTO, PROTO_LINE_FIX,
                            "reply to %s carries %zu bytes of data, "
                            "expected %zu", proto_op_name(op), off,
                            want_data);
        return ED_OK;
    }
}

int proto_command(struct proto *p, uint8_t op, const uint8_t *data, size_t len,
                  uint32_t checksum, size_t want_data, int timeout_ms,
                  struct proto_reply *reply)
{
    return exchange(p, op, data, len, checksum, true, want_data, timeout_ms,
                    reply);
}

int proto_wait(struct proto *p, uint8_t op, size_t want_data, int timeout_ms,
               struct proto_reply *reply)
{
    return exchange(p, op, NULL, 0, 0, false, want_data, timeout_ms, reply);
}

const char *proto_rom_error_name(uint8_t code)
{
    switch (code) {
    case 0x00: return "0x00 undefined error";
    case 0x01: return "0x01 input parameter invalid";
    case 0x02: return "0x02 malloc failed";
    case 0x03: return "0x03 send message failed";
    case 0x04: return "0x04 receive message failed";
    case 0x05: return "0x05 received message has invalid format";
    case 0x06: return "0x06 message OK but execution failed";
    case 0x07: return "0x07 checksum error";
    case 0x08: return "0x08 flash write error";
    case 0x09: return "0x09 flash read error";
    case 0x0A: return "0x0A flash read length error";
    case 0x0B: return "0x0B deflate failed";
    case 0x0C: return "0x0C deflate Adler32 error";
    case 0x0D: return "0x0D deflate parameter error";
    case 0x0E: return "0x0E invalid RAM binary size";
    case 0x0F: return "0x0F invalid RAM binary address";
    case 0x64: return "0x64 invalid parameter";
    case 0x65: return "0x65 invalid format";
    case 0x66: return "0x66 description too long";
    case 0x67: return "0x67 bad encoding description";
    case 0x69: return "0x69 insufficient storage";
    }
    return "unknown ROM error code";
}

const char *proto_stub_error_name(uint8_t code)
{
    switch (code) {
    case 0x00: return "0x00 OK";
    case 0xC0: return "0xC0 BAD_DATA_LEN";
    case 0xC1: return "0xC1 BAD_DATA_CHECKSUM";
    case 0xC2: return "0xC2 BAD_BLOCKSIZE";
    case 0xC3: return "0xC3 INVALID_COMMAND";
    case 0xC4: return "0xC4 FAILED_SPI_OP";
    case 0xC5: return "0xC5 FAILED_SPI_UNLOCK";
    case 0xC6: return "0xC6 NOT_IN_FLASH_MODE";
    case 0xC7: return "0xC7 INFLATE_ERROR";
    case 0xC8: return "0xC8 NOT_ENOUGH_DATA";
    case 0xC9: return "0xC9 TOO_MUCH_DATA";
    case 0xCA: return "0xCA NAND_PROGRAM_FAILED";
    case 0xCB: return "0xCB NAND_ERASE_FAILED";
    case 0xEE: return "0xEE frame too long";
    case 0x63: return "0x63 flash read failed during MD5";
    case 0xFF: return "0xFF CMD_NOT_IMPLEMENTED";
    }
    return "unknown stub error code";
}

const char *proto_op_name(uint8_t op)
{
    switch (op) {
    case OP_FLASH_BEGIN: return "FLASH_BEGIN";
    case OP_FLASH_DATA: return "FLASH_DATA";
    case OP_FLASH_END: return "FLASH_END";
    case OP_MEM_BEGIN: return "MEM_BEGIN";
    case OP_MEM_END: return "MEM_END";
    case OP_MEM_DATA: return "MEM_DATA";
    case OP_SYNC: return "SYNC";
    case OP_WRITE_REG: return "WRITE_REG";
    case OP_READ_REG: return "READ_REG";
    case OP_SPI_SET_PARAMS: return "SPI_SET_PARAMS";
    case OP_SPI_ATTACH: return "SPI_ATTACH";
    case OP_READ_FLASH_SLOW: return "READ_FLASH_SLOW";
    case OP_CHANGE_BAUDRATE: return "CHANGE_BAUDRATE";
    case OP_FLASH_DEFL_BEGIN: return "FLASH_DEFL_BEGIN";
    case OP_FLASH_DEFL_DATA: return "FLASH_DEFL_DATA";
    case OP_FLASH_DEFL_END: return "FLASH_DEFL_END";
    case OP_SPI_FLASH_MD5: return "SPI_FLASH_MD5";
    case OP_GET_SECURITY_INFO: return "GET_SECURITY_INFO";
    case OP_ERASE_FLASH: return "ERASE_FLASH";
    case OP_ERASE_REGION: return "ERASE_REGION";
    case OP_READ_FLASH: return "READ_FLASH";
    case OP_RUN_USER_CODE: return "RUN_USER_CODE";
    }
    return "unknown command";
}
