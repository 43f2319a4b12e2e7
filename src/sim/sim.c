/*
 * sim.c - the simulated board: life cycle, auto-reset circuit, the UART
 * wire (pacing, baud mismatch), frame dispatch, trace.
 *
 * Time model: every byte carries the simulated time it is due.  Bytes from
 * the host arrive one 10-bit character after another at the host's baud;
 * a command is acted on once its last byte has arrived and the chip is no
 * longer busy (stub writing flash).  Bytes for the host leave at the chip's
 * UART baud and sim_tx() hands out only those due by `now`.  With
 * cfg.no_pacing every time collapses to `now`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "sim/sim_boot.h"
#include "sim/sim_internal.h"
#include "slip.h"

#define ROM_BAUD 115200u
#define FRAME_CAP (0x4000 + 64)

/* ---- timed byte queues ---- */

static int q_reserve(struct sim_queue *q, size_t more)
{
    if (q->head > 0 && q->head + q->len + more > q->cap) {
        memmove(q->b, q->b + q->head, q->len);
        memmove(q->t, q->t + q->head, q->len * sizeof *q->t);
        q->head = 0;
    }
    if (q->len + more > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        uint8_t *b;
        int64_t *t;

        while (cap < q->len + more)
            cap *= 2;
        b = realloc(q->b, cap);
        if (!b)
            return -1;
        q->b = b;
        t = realloc(q->t, cap * sizeof *t);
        if (!t)
            return -1;
        q->t = t;
        q->cap = cap;
    }
    return 0;
}

static void q_push(struct sim_queue *q, uint8_t b, int64_t t)
{
    size_t i = q->head + q->len;

    q->b[i] = b;
    q->t[i] = t;
    q->len++;
}

static void q_drop(struct sim_queue *q, size_t n)
{
    q->head += n;
    q->len -= n;
    if (q->len == 0)
        q->head = 0;
}

/* Keep only bytes due by now (already on the wire). */
static void q_cut_after(struct sim_queue *q, int64_t now)
{
    while (q->len && q->t[q->head + q->len - 1] > now)
        q->len--;
}

static void q_free(struct sim_queue *q)
{
    free(q->b);
    free(q->t);
    memset(q, 0, sizeof *q);
}

/* At most this many bytes arrive for one sent (sim_fault_byte). */
#define FAULT_GROWTH 8

/* One byte crosses the line to q (faults applied; *t may move later, and
 * stays no earlier than the bytes already queued). */
static void line_push(struct sim *s, struct sim_queue *q, unsigned dir,
                      uint8_t b, int64_t *t)
{
    uint8_t out[FAULT_GROWTH];
    size_t n = 1, k;

    if (!s->fault.spec.any) {
        q_push(q, b, *t);
        return;
    }
    if (q->len && *t < q->t[q->head + q->len - 1])
        *t = q->t[q->head + q->len - 1];
    n = sim_fault_byte(&s->fault, dir, b, t, out);
    for (k = 0; k < n; k++)
        q_push(q, out[k], *t);
}

/* What a UART receiving at the wrong baud makes of a byte: garbage, never
 * a SLIP delimiter (a real line would rarely frame one anyway). */
static uint8_t garble(uint8_t b)
{
    uint8_t g = (uint8_t)((b * 0x9D + 0x3B) ^ 0xA5);

    return g == SLIP_END ? 0x00 : g;
}

/* Due time of the i-th (0-based) byte of a burst starting at t0. */
static int64_t byte_due(int64_t t0, size_t i, uint32_t baud)
{
    return t0 + (int64_t)(((uint64_t)(i + 1) * 10000000u + baud - 1) / baud);
}

/* The rate bytes move at, as a baud (10 bits a byte): the UART's, or on
 * USB-Serial/JTAG the USB link's throughput, whatever baud was set. */
static uint32_t line_baud(const struct sim *s, uint32_t uart_baud)
{
    if (!s->cfg.usb_jtag)
        return uart_baud;
    return (s->cfg.usb_rate ? s->cfg.usb_rate : SIM_USJ_BYTES_PER_S) * 10;
}

/* ---- accessors (sim_internal.h) ---- */

const struct sim_chip *sim_chip_of(const struct sim *s)
{
    return s->chip;
}

uint8_t *sim_flash_mut(struct sim *s, size_t *size)
{
    if (size)
        *size = s->flash_size;
    s->flash_dirty = true;
    return s->flash;
}

const uint8_t *sim_flash(const struct sim *s, size_t *size)
{
    if (size)
        *size = s->flash_size;
    return s->flash;
}

const uint8_t *sim_mac(const struct sim *s)
{
    return s->mac;
}

const struct log_sink *sim_log(const struct sim *s)
{
    return &s->log;
}

uint32_t sim_uart_baud(const struct sim *s)
{
    return s->baud;
}

void sim_set_chip_baud(struct sim *s, uint32_t baud, uint32_t believed_hz)
{
    uint64_t clk = s->chip->apb_hz;
    uint64_t div16;

    if (!believed_hz)
        believed_hz = (uint32_t)clk;
    /* 1/16 fractional divider, as the UART has */
    div16 = ((uint64_t)believed_hz * 16 + baud / 2) / baud;
    if (div16 < 16)
        div16 = 16;
    s->uart_clkdiv = (uint32_t)(div16 >> 4) | (uint32_t)(div16 & 15) << 20;
    s->baud = (uint32_t)((clk * 16 + div16 / 2) / div16);
}

/*
 * A UART tolerates a few percent of baud error; beyond that (3 %) every
 * byte comes out as garbage.
 */
static bool baud_bad(const struct sim *s)
{
    uint32_t h = s->host_baud, c = s->baud;

    if (s->cfg.usb_jtag)
        return false; /* no UART between host and chip: rates are moot */
    /* the adapter cannot make (or follow) a rate above its maximum */
    if (s->cfg.max_baud &&
        (h > s->cfg.max_baud ||
         (uint64_t)c * 100 > (uint64_t)s->cfg.max_baud * 103))
        return true;
    if (!h)
        return false;
    return (uint64_t)(h > c ? h - c : c - h) * 100 > (uint64_t)c * 3;
}

void sim_uart_emit(struct sim *s, const void *data, size_t len,
                   int64_t now_us)
{
    const uint8_t *p = data;
    bool bad = baud_bad(s);
    int64_t t0 = now_us > s->tx_free_us ? now_us : s->tx_free_us;
    int64_t t = now_us;

    if (!len || !s->connected || s->state == SIM_OFF)
        return;
    if (q_reserve(&s->tx, len * FAULT_GROWTH) != 0) {
        log_msg(&s->log, ED_LOG_ERROR, "sim: out of memory on UART TX");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (!s->cfg.no_pacing)
            t = byte_due(t0, i, line_baud(s, s->baud));
        line_push(s, &s->tx, SIM_FAULT_B2H, bad ? garble(p[i]) : p[i], &t);
    }
    if (!s->cfg.no_pacing)
        s->tx_free_us = t;
}

/* ---- trace ---- */

void sim_trace(struct sim *s, const char *dir, const uint8_t *body,
               size_t len, int64_t now_us)
{
    static const char hex[] = "0123456789abcdef";
    char head[64], *line;
    int n;
    size_t k, at;

    if (s->trace_fd < 0)
        return;
    n = snprintf(head, sizeof head, "%10.6f %s %zu",
                 (double)(now_us - (s->trace_t0 > 0 ? s->trace_t0 : 0)) / 1e6,
                 dir, len);
    /* the whole line in one write: a 16 KiB block's line took hundreds
     * of small writes, time the simulator then owed its other work */
    line = malloc((size_t)n + 3 * len + 1);
    if (!line)
        return;
    memcpy(line, head, (size_t)n);
    at = (size_t)n;
    for (k = 0; k < len; k++) {
        line[at++] = ' ';
        line[at++] = hex[body[k] >> 4];
        line[at++] = hex[body[k] & 15];
    }
    line[at++] = '\n';
    if (write(s->trace_fd, line, at) < 0)
        log_msg(&s->log, ED_LOG_WARN, "sim: trace write failed: %s",
                strerror(errno));
    free(line);
}

/*
 * Write the TX frames whose last byte has left the wire by `now` (all of
 * them with now < 0, when the board goes away); before an RX line stamped
 * now, so the trace stays in time order.
 */
static void trace_release(struct sim *s, int64_t now)
{
    size_t i = 0;

    while (i < s->trace_tx_len && (now < 0 || s->trace_tx[i].due <= now)) {
        struct sim_trace_tx *e = &s->trace_tx[i++];

        sim_trace(s, "TX", e->body, e->len, e->due);
        free(e->body);
    }
    if (i == 0)
        return; /* also: no list allocated yet */
    memmove(s->trace_tx, s->trace_tx + i,
            (s->trace_tx_len - i) * sizeof *s->trace_tx);
    s->trace_tx_len -= i;
}

/* Forget traced frames that will not leave the wire (after `now`; all with
 * now < 0): EN went low, or the host went away with them queued. */
static void trace_cut_after(struct sim *s, int64_t now)
{
    while (s->trace_tx_len &&
           (now < 0 || s->trace_tx[s->trace_tx_len - 1].due > now))
        free(s->trace_tx[--s->trace_tx_len].body);
}

/* Keep a TX frame for the trace until its last byte (due) is out. */
static void trace_hold(struct sim *s, const uint8_t *body, size_t len,
                       int64_t due)
{
    struct sim_trace_tx *e;

    if (s->trace_tx_len == s->trace_tx_cap) {
        size_t cap = s->trace_tx_cap ? s->trace_tx_cap * 2 : 16;
        void *n = realloc(s->trace_tx, cap * sizeof *s->trace_tx);

        if (!n)
            return;
        s->trace_tx = n;
        s->trace_tx_cap = cap;
    }
    /* released in queue order: not before the frame ahead of it */
    if (s->trace_tx_len && s->trace_tx[s->trace_tx_len - 1].due > due)
        due = s->trace_tx[s->trace_tx_len - 1].due;
    e = &s->trace_tx[s->trace_tx_len];
    e->body = malloc(len ? len : 1);
    if (!e->body)
        return;
    memcpy(e->body, body, len);
    e->len = len;
    e->due = due;
    s->trace_tx_len++;
}

void sim_send_frame(struct sim *s, const uint8_t *body, size_t len,
                    int64_t at_us)
{
    size_t cap = SLIP_ENCODED_MAX(len);
    uint8_t *wire = malloc(cap);
    size_t n, before = s->tx.len;

    if (!wire)
        return;
    n = slip_encode(wire, cap, body, len);
    sim_uart_emit(s, wire, n, at_us);
    if (s->trace_fd >= 0) {
        if (s->tx.len > before) /* stamped when its last byte is out */
            trace_hold(s, body, len, s->tx.t[s->tx.head + s->tx.len - 1]);
        else /* nobody listens, or the chip is off: never on the wire */
            sim_trace(s, "TX", body, len, at_us);
    }
    free(wire);
}

/* ---- boot chain ---- */


/* Drop whatever runs; keep_mem keeps the loaded RAM segments (a RAM app
 * started from them may point into them). */
static void stop_running_keep(struct sim *s, bool keep_mem)
{
    sim_app_free(s->app);
    s->app = NULL;
    if (s->fj.inf)
        sim_inflater_free(s->fj.inf);
    memset(&s->fj, 0, sizeof s->fj);
    if (!keep_mem)
        sim_mem_reset(s);
    free(s->rj.md5);
    memset(&s->rj, 0, sizeof s->rj);
    s->stub_err = 0;
    s->n_wregs = 0;
    s->busy_until = 0;
    s->flash_ready = 0;
    s->stub_writing = false;
    sim_stubrx_reset(&s->srx);
    s->wdt_at = -1;
}

static void stop_running(struct sim *s)
{
    stop_running_keep(s, false);
}

void sim_start_app(struct sim *s, char *text, size_t len,
                   struct sim_app *app, int64_t now_us)
{
    s->state = SIM_RUN;
    s->app = app;
    s->app_origin = now_us;
    if (text)
        sim_uart_emit(s, text, len, now_us);
    free(text);
}

void sim_reset_chip(struct sim *s, bool download, int64_t now_us)
{
    const struct sim_chip *c = s->chip;

    stop_running(s);
    /* The ROM's autobaud finds the host's 115200 from the real clock. */
    s->baud = ROM_BAUD;
    s->uart_clkdiv = (uint32_t)((int32_t)(c->apb_hz / ROM_BAUD) +
                                c->autobaud_adjust);
    s->rom_op = 0;
    s->rom_value = 0;
    slip_decoder_reset(&s->dec);
    if (download) {
        s->state = SIM_ROM;
        sim_uart_emit(s, c->rom_header, strlen(c->rom_header), now_us);
        sim_uart_emit(s, c->rst_poweron, strlen(c->rst_poweron), now_us);
        sim_uart_emit(s, c->boot_download, strlen(c->boot_download),
                      now_us);
        log_msg(&s->log, ED_LOG_DEBUG, "sim: %s reset into download mode",
                c->name);
    } else {
        size_t len = 0;
        struct sim_app *app = NULL;
        char *text;

        s->state = SIM_RUN;
        text = sim_boot_flash(c, s->flash, s->flash_size, &len, &app);
        sim_units_booted(s, &text, &len, &app, now_us);
        sim_start_app(s, text, len, app, now_us);
        log_msg(&s->log, ED_LOG_DEBUG, "sim: %s booting from flash",
                c->name);
    }
}

/* ---- the auto-reset circuit ---- */

/*
 * EN has an RC delay on every devkit (10 kOhm / 1 uF class): the chip leaves
 * reset, and latches the strapping pins, this long after EN is released.
 * That is why esptool's classic sequence (DTR=1 while RTS=1, then RTS=0)
 * works although the bridge passes through "both asserted" = EN high.
 */
#define EN_RISE_US 5000
/*
 * Both lines asserted is the transitional state of every reset sequence
 * (DTR=1 is written before RTS=0).  A host whose line changes travel over
 * a network (pyserial's RFC 2217 client waits about 50 ms for each
 * acknowledgement) would otherwise let the chip boot in that gap; real
 * setups avoid it with a server that replays the sequence locally
 * (esp_rfc2217_server).  The board model does the same: while both lines
 * are asserted the strap is sampled at the next line change, at most
 * EN_HOLD_MAX_US after EN rose.
 */
#define EN_HOLD_MAX_US 300000

static void apply_pins(struct sim *s, bool en, int64_t now)
{
    if (!en) {
        s->boot_at = -1;
        s->boot_hold = false;
        if (s->en || s->state != SIM_OFF) {
            stop_running(s);
            s->state = SIM_OFF;
            q_cut_after(&s->tx, now);
            trace_cut_after(s, now);
            s->tx_free_us = now;
        }
        s->en = false;
        return;
    }
    if (s->cfg.units && !s->u.present)
        return; /* no unit in the fixture: nothing to power */
    if (!s->en) {
        s->en = true;
        s->en_rise = now;
        s->boot_at = now + EN_RISE_US;
    }
}

/* The chip leaves reset: sample IO0 (through the bridge, or the board's
 * strap when the transport has no modem lines). */
static void leave_reset(struct sim *s, int64_t at)
{
    bool io0_low = !s->has_lines    ? s->strap_low
                   : s->cfg.usb_jtag ? s->usj_boot_dl
                                     : (s->dtr && !s->rts);

    s->boot_at = -1;
    s->boot_hold = false;
    s->powered = true;
    s->state = SIM_RUN; /* so the banner can be emitted */
    sim_reset_chip(s, io0_low, at);
}

static void advance(struct sim *s, int64_t now);

/*
 * USB-Serial/JTAG has no auto-reset circuit: the controller reads the
 * CDC-ACM lines itself.  DTR without RTS sets a download flag, neither
 * line clears it, RTS without DTR holds the chip in reset (latching the
 * flag: set = download mode at the release, else the straps, i.e. flash
 * boot), both change nothing.  That is why esptool's USB-JTAG sequence
 * goes from (DTR 1, RTS 0) to reset through (1, 1), not (0, 0), and why
 * the classic sequence lands in flash boot there (docs/simulator.md).
 */
static void usj_set_lines(struct sim *s, bool dtr, bool rts, int64_t now)
{
    if (dtr && !rts)
        s->usj_dl = true;
    else if (!dtr && !rts)
        s->usj_dl = false;
    if (rts && !dtr) {
        if (s->en)
            s->usj_boot_dl = s->usj_dl;
        apply_pins(s, false, now);
        return;
    }
    if (!s->en) {
        apply_pins(s, true, now);
        if (s->boot_at >= 0)
            s->boot_at = now; /* an internal reset: no RC on EN */
    }
}

void sim_set_lines(struct sim *s, bool dtr, bool rts, int64_t now_us)
{
    advance(s, now_us);
    s->dtr = dtr;
    s->rts = rts;
    if (s->cfg.usb_jtag) {
        usj_set_lines(s, dtr, rts, now_us);
        return;
    }
    /* Two-transistor bridge: EN low only with RTS asserted and DTR not;
     * IO0 low only with DTR asserted and RTS not (sampled at boot). */
    apply_pins(s, !(rts && !dtr), now_us);
    if (s->boot_hold && s->boot_at >= 0 && !(dtr && rts))
        leave_reset(s, now_us);
}

void sim_connect(struct sim *s, bool has_lines, int64_t now_us)
{
    s->connected = true;
    s->has_lines = has_lines;
    s->host_baud = 0;
    s->tx_free_us = now_us;
    s->rx_free_us = now_us;
    if (s->trace_t0 < 0)
        s->trace_t0 = now_us;
    sim_fault_connect(&s->fault, now_us);
    if (s->powered || s->boot_at >= 0)
        return; /* the board keeps its state across connections */
    if (!sim_units_power_up(s, now_us))
        return; /* a fixture with no unit in it yet */
    /* Power-up: with lines released the chip boots from flash; without
     * lines the board acts as if BOOT were held (unless boot_normal). */
    s->dtr = s->rts = false;
    s->strap_low = !has_lines && !s->cfg.boot_normal;
    s->en = true;
    leave_reset(s, now_us);
}

void sim_power(struct sim *s, bool on, int64_t now_us)
{
    if (!on) {
        apply_pins(s, false, now_us);
        s->powered = false;
        return;
    }
    if (!s->connected)
        return; /* powers up at the next connection (sim_connect) */
    s->strap_low = !s->has_lines && !s->cfg.boot_normal;
    if (s->has_lines) {
        /* plugged in with the lines as the host holds them now */
        s->en = false;
        apply_pins(s, !(s->rts && !s->dtr), now_us);
    } else {
        s->en = true;
        leave_reset(s, now_us);
    }
}

bool sim_unit_present(struct sim *s, int64_t now_us)
{
    advance(s, now_us);
    return !s->cfg.units || s->u.present;
}

bool sim_port_gone(struct sim *s, int64_t now_us)
{
    advance(s, now_us);
    return s->cfg.units && !s->u.present &&
           (s->u.gone || s->cfg.hotplug);
}

void sim_disconnect(struct sim *s, int64_t now_us)
{
    /* what was out by now was read; the rest goes with the connection */
    trace_release(s, now_us);
    s->connected = false;
    s->host_baud = 0;
    s->tx.len = s->tx.head = 0;
    s->rx.len = s->rx.head = 0;
    trace_cut_after(s, now_us);
    slip_decoder_reset(&s->dec);
}

void sim_set_host_baud(struct sim *s, uint32_t baud, int64_t now_us)
{
    advance(s, now_us);
    s->host_baud = baud;
}

/* ---- frame processing ---- */

static void act(struct sim *s, const uint8_t *f, size_t len, int64_t t)
{
    if (t < s->busy_until)
        t = s->busy_until;
    s->cmd_t = t;
    if (s->state == SIM_ROM)
        sim_rom_command(s, f, len, t);
    else if (s->state == SIM_STUB)
        sim_stub_command(s, f, len, t);
}

static void dispatch(struct sim *s, const uint8_t *f, size_t len, int64_t t)
{
    /* stamped when its last byte arrived (a busy chip acts on it later) */
    trace_release(s, t);
    sim_trace(s, "RX", f, len, t);
    if (sim_units_frame(s, f, len, t))
        return; /* no unit, a unit that never answers, or one that left */
    act(s, f, len, t);
}

/*
 * The stub's receiver is its own (sim_stubrx.c: esp-flasher-stub's
 * slip.c, frame_buffer.c, transport.c).  Its main loop takes a frame only
 * when it is not handling one: not before busy_until, and after a data
 * block not before its inflate and write end (stub_write_end, sim_stub.c).
 */
static int64_t stub_free_at(const struct sim *s)
{
    int64_t at = s->busy_until;

    if (s->stub_writing && s->stub_write_end > at)
        at = s->stub_write_end;
    return at;
}

/* The main loop's turns up to `upto`: each takes one finished buffer (a
 * receive error is dropped, a frame handled), re-arming the receiver. */
static void stub_main(struct sim *s, int64_t upto)
{
    while (s->state == SIM_STUB) {
        int64_t at = stub_free_at(s), ft,
                pend = sim_stubrx_pending_t(&s->srx);
        const uint8_t *f;
        size_t len;
        int st;

        if (pend < 0)
            return;
        if (at < pend)
            at = pend;
        if (at > upto)
            return;
        st = sim_stubrx_poll(&s->srx, &f, &len, &ft);
        s->stub_writing = false;
        if (st < 0)
            log_msg(&s->log, ED_LOG_DEBUG, "sim: stub receive error "
                    "(bad escape or overlong frame): frame dropped");
        else if (st > 0)
            dispatch(s, f, len, at);
    }
}

/*
 * The UART interrupt's next batch from the head of the RX queue (n bytes,
 * handed over at *end): the FIFO-full threshold's 32 bytes, or fewer when
 * the line then idles for the RX timeout (transport.c:189-192).
 */
static size_t stub_batch(const struct sim *s, int64_t *end)
{
    int64_t tout = 0;
    size_t n = 1;

    if (!s->cfg.no_pacing) {
        uint32_t b = line_baud(s, s->host_baud ? s->host_baud : s->baud);

        tout = (int64_t)SIM_STUBRX_TOUT_SYMBOLS * 10 * 1000000 / (b ? b : 1);
    }
    while (n < SIM_STUBRX_BATCH && n < s->rx.len &&
           s->rx.t[s->rx.head + n] <= s->rx.t[s->rx.head + n - 1] + tout)
        n++;
    *end = s->rx.t[s->rx.head + n - 1];
    if (n < SIM_STUBRX_BATCH)
        *end += tout; /* the timeout interrupt */
    return n;
}

static void poll_app(struct sim *s, int64_t now)
{
    char buf[1024];

    while (s->app && s->state == SIM_RUN) {
        int64_t next = sim_app_next_us(s->app);
        int64_t at;
        size_t n;

        if (next < 0)
            return;
        at = s->app_origin + next;
        if (at > now)
            return;
        n = sim_app_poll(s->app, next, buf, sizeof buf);
        if (n == 0)
            return;
        sim_uart_emit(s, buf, n, at);
    }
}

/*
 * The RTC watchdog's reset: the whole chip (RTC included) restarts and
 * samples its straps like at power-on, so with BOOT released it boots from
 * flash; the ROM banner names the reason.
 */
static void watchdog_fires(struct sim *s, int64_t at)
{
    bool io0_low = s->has_lines ? (s->dtr && !s->rts) : false;
    struct sim_chip why = *s->chip;

    log_msg(&s->log, ED_LOG_DEBUG, "sim: %s RTC watchdog reset",
            s->chip->name);
    s->wdt_at = -1;
    if (io0_low || !why.rst_rtcwdt) {
        sim_reset_chip(s, io0_low, at);
        return;
    }
    why.rst_poweron = why.rst_rtcwdt;
    s->chip = &why; /* the boot chain reads the banner from here */
    sim_reset_chip(s, false, at);
    s->chip = &s->chip_own;
}

static void advance(struct sim *s, int64_t now)
{
    size_t i = 0;

    sim_units_advance(s, now);
    if (s->wdt_at >= 0 && s->wdt_at <= now && s->state != SIM_OFF)
        watchdog_fires(s, s->wdt_at);

    if (s->boot_at >= 0 && s->boot_at <= now) {
        if (s->has_lines && !s->cfg.usb_jtag && s->dtr && s->rts &&
            s->boot_at < s->en_rise + EN_HOLD_MAX_US) {
            s->boot_hold = true;
            s->boot_at = s->en_rise + EN_HOLD_MAX_US;
            if (s->boot_at <= now)
                leave_reset(s, s->boot_at);
        } else {
            leave_reset(s, s->boot_at);
        }
    }

    while (i < s->rx.len) {
        size_t at = s->rx.head + i, flen = 0;
        int64_t t = s->rx.t[at];

        if (t > now)
            break;
        if (s->state == SIM_RUN && sim_app_echoes(s->app)) {
            char out[320];
            size_t n = sim_app_input(s->app, s->rx.b[at], out, sizeof out);

            sim_uart_emit(s, out, n, t);
            i++;
            if (i == s->rx.len) {
                n = sim_app_input_idle(s->app, out, sizeof out);
                sim_uart_emit(s, out, n, t);
            }
            continue;
        }
        if (s->state == SIM_STUB && i == 0) {
            int64_t end;
            size_t n = stub_batch(s, &end);

            if (end > now)
                break;
            stub_main(s, end); /* the loop's turns before the interrupt */
            for (size_t k = 0; k < n; k++)
                sim_stubrx_byte(&s->srx, s->rx.b[s->rx.head + k], end);
            q_drop(&s->rx, n);
            stub_main(s, end);
            continue;
        }
        slip_decode(&s->dec, &s->rx.b[at], 1, &flen);
        i++;
        if (flen) {
            q_drop(&s->rx, i);
            i = 0;
            dispatch(s, s->dec.buf, flen, t);
        }
    }
    q_drop(&s->rx, i);
    stub_main(s, now);
    poll_app(s, now);
    trace_release(s, now);
}

void sim_rx(struct sim *s, const uint8_t *buf, size_t len, int64_t now_us)
{
    uint32_t hb;
    bool bad;
    int64_t t0, t = now_us;

    advance(s, now_us);
    if (!len || s->state == SIM_OFF)
        return;
    hb = line_baud(s, s->host_baud ? s->host_baud : s->baud);
    bad = baud_bad(s);
    t0 = now_us > s->rx_free_us ? now_us : s->rx_free_us;
    if (q_reserve(&s->rx, len * FAULT_GROWTH) != 0)
        return;
    for (size_t i = 0; i < len; i++) {
        if (!s->cfg.no_pacing)
            t = byte_due(t0, i, hb);
        line_push(s, &s->rx, SIM_FAULT_H2B, bad ? garble(buf[i]) : buf[i],
                  &t);
    }
    if (!s->cfg.no_pacing)
        s->rx_free_us = t;
    advance(s, now_us);
}

size_t sim_tx(struct sim *s, uint8_t *buf, size_t cap, int64_t now_us)
{
    size_t n = 0;

    advance(s, now_us);
    while (n < cap && n < s->tx.len && s->tx.t[s->tx.head + n] <= now_us) {
        buf[n] = s->tx.b[s->tx.head + n];
        n++;
    }
    q_drop(&s->tx, n);
    return n;
}

int64_t sim_next_event_us(struct sim *s, int64_t now_us)
{
    int64_t next = -1;

    advance(s, now_us);
    if (s->tx.len)
        next = s->tx.t[s->tx.head];
    if (s->state == SIM_STUB && sim_stubrx_pending_t(&s->srx) >= 0) {
        int64_t at = stub_free_at(s), p = sim_stubrx_pending_t(&s->srx);

        at = at > p ? at : p; /* the stub takes the waiting frame */
        if (next < 0 || at < next)
            next = at;
    }
    if (s->rx.len) {
        int64_t at = s->rx.t[s->rx.head];

        if (s->state == SIM_STUB)
            stub_batch(s, &at); /* the interrupt takes a batch */
        if (next < 0 || at < next)
            next = at;
    }
    if (s->boot_at >= 0 && (next < 0 || s->boot_at < next))
        next = s->boot_at;
    if (s->wdt_at >= 0 && (next < 0 || s->wdt_at < next))
        next = s->wdt_at;
    {
        int64_t u = sim_units_next_us(s);

        if (u >= 0 && (next < 0 || u < next))
            next = u;
    }
    if (s->app && s->state == SIM_RUN) {
        int64_t a = sim_app_next_us(s->app);

        if (a >= 0 && (next < 0 || s->app_origin + a < next))
            next = s->app_origin + a;
    }
    if (s->connected) {
        int64_t c = sim_fault_next_us(&s->fault);

        if (c >= 0 && (next < 0 || c < next))
            next = c;
    }
    if (next >= 0 && next < now_us)
        next = now_us;
    return next;
}

bool sim_link_cut(struct sim *s, int64_t now_us)
{
    if (!s->connected || !sim_fault_cut_due(&s->fault, now_us))
        return false;
    log_msg(&s->log, ED_LOG_INFO, "sim: fault: the line is cut");
    return true;
}

/* ---- life cycle ---- */

/* "3.0", "v0.4" -> 300, 4; -1 if not a revision. */
static int parse_rev(const char *v)
{
    char *end;
    unsigned long major, minor;

    if (*v == 'v' || *v == 'V')
        v++;
    if (*v < '0' || *v > '9')
        return -1;
    major = strtoul(v, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return -1;
    minor = strtoul(end + 1, &end, 10);
    if (*end || major > 3 || minor > 15)
        return -1;
    return (int)(major * 100 + minor);
}

/*
 * USB-serial adapters: the highest baud each makes, from their datasheets
 * (docs/simulator.md cites them), and the USB VID:PID each reports (the
 * makers' defaults).  The simulator's own copy: the host's table is in
 * src/proto/chip.c.
 */
static const struct sim_adapter adapters[] = {
    {"cp2102", 0x10C4, 0xEA60, 1000000, false},
    {"cp2102n", 0x10C4, 0xEA60, 3000000, false},
    {"cp2104", 0x10C4, 0xEA60, 2000000, false},
    {"ch340", 0x1A86, 0x7523, 2000000, false},
    {"ch343", 0x1A86, 0x55D3, 6000000, false},
    {"ch9102", 0x1A86, 0x55D4, 4000000, false},
    {"ft232r", 0x0403, 0x6001, 3000000, false},
    {"usb-serial-jtag", 0x303A, 0x1001, 0, true},
};

const struct sim_adapter *sim_adapter_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof adapters / sizeof adapters[0]; i++)
        if (!strcasecmp(name, adapters[i].name))
            return &adapters[i];
    return NULL;
}

int sim_config_option(struct sim_config *cfg, const char *name,
                      const char *value, char *err, size_t errlen)
{
    if (!strcmp(name, "chip-rev")) {
        int r = parse_rev(value);

        if (r < 0)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "chip-rev '%s' is not a revision like 3.0 or "
                             "v0.4 (major 0..3, minor 0..15)", value);
        cfg->chip_rev = (uint16_t)r;
        cfg->chip_rev_set = true;
        return ED_OK;
    }
    if (!strcmp(name, "xtal")) {
        char *end;
        unsigned long mhz = strtoul(value, &end, 10);

        if (!strcmp(end, "MHz") || !strcmp(end, "mhz") || !strcmp(end, "M"))
            end += strlen(end);
        if (*end || (mhz != 26 && mhz != 32 && mhz != 40 && mhz != 48))
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "xtal '%s' is not a crystal in MHz (26, 32, 40 "
                             "or 48)", value);
        cfg->xtal_mhz = (uint8_t)mhz;
        return ED_OK;
    }
    if (!strcmp(name, "ck8m-drift")) {
        char *end;
        double pct = strtod(value, &end);

        if (*end == '%')
            end++;
        if (end == value || *end || pct < -20 || pct > 20)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "ck8m-drift '%s' is not a drift in %% from -20 "
                             "to 20, like 5 or -2.5", value);
        cfg->ck8m_drift_ppm = (int32_t)(pct * 10000 + (pct < 0 ? -0.5 : 0.5));
        cfg->ck8m_drift_set = true;
        return ED_OK;
    }
    if (!strcmp(name, "sfdp")) {
        if (strcmp(value, "0") && strcmp(value, "1"))
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "sfdp takes 0 (the flash ignores RDSFDP) or 1, "
                             "not '%s'", value);
        cfg->flash_no_sfdp = !strcmp(value, "0");
        return ED_OK;
    }
    if (!strcmp(name, "flash-id")) {
        char *end;
        unsigned long id = strtoul(value, &end, 16);

        if (*end || !*value || id > 0xFFFFFF)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "flash-id '%s' is not a 24-bit JEDEC id like "
                             "0x1640c8 (0xffffff: no flash)", value);
        cfg->flash_id = (uint32_t)id;
        cfg->flash_id_set = true;
        return ED_OK;
    }
    if (!strcmp(name, "adapter")) {
        const struct sim_adapter *a = sim_adapter_find(value);

        if (!a)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "adapter '%s' is not one the simulator knows "
                             "(cp2102, cp2102n, cp2104, ch340, ch343, "
                             "ch9102, ft232r, usb-serial-jtag)", value);
        cfg->max_baud = a->max_baud;
        cfg->usb_vid = a->vid;
        cfg->usb_pid = a->pid;
        cfg->usb_jtag = a->usb_jtag;
        return ED_OK;
    }
    if (!strcmp(name, "usb-rate")) {
        char *end;
        unsigned long b = strtoul(value, &end, 10);

        if (*end || !*value || b < 1000 || b > SIM_USJ_BYTES_PER_S)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "usb-rate '%s' is not a USB-Serial/JTAG "
                             "throughput in bytes per second (1000 to %u)",
                             value, SIM_USJ_BYTES_PER_S);
        cfg->usb_rate = (uint32_t)b;
        return ED_OK;
    }
    if (!strcmp(name, "max-baud")) {
        char *end;
        unsigned long b = strtoul(value, &end, 10);

        if (*end || !*value || b < 9600 || b > 100000000)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "max-baud '%s' is not a baud rate like 921600",
                             value);
        cfg->max_baud = (uint32_t)b;
        return ED_OK;
    }
    if (!strcmp(name, "fault"))
        return sim_fault_parse(&cfg->fault, value, err, errlen);
    return sim_units_option(cfg, name, value, err, errlen);
}

/* The board's own copy of the chip facts: revision and crystal. */
static int apply_variant(struct sim *s, char *err, size_t errlen)
{
    struct sim_chip *c = &s->chip_own;

    if (s->cfg.chip_rev_set) {
        if (c->rev_layout == SIM_REV_ESP32 && s->cfg.chip_rev % 100 > 3)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "the ESP32 keeps only minor revisions 0..3 in "
                             "eFuse, not v%u.%u", s->cfg.chip_rev / 100,
                             s->cfg.chip_rev % 100);
        c->revision = s->cfg.chip_rev;
    }
    if (s->cfg.xtal_mhz && s->cfg.xtal_mhz != c->xtal_mhz) {
        if (s->cfg.xtal_mhz != c->xtal_alt) {
            if (c->xtal_alt)
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "%s boards have a %u or %u MHz crystal, "
                                 "not %u", c->display, c->xtal_mhz,
                                 c->xtal_alt, s->cfg.xtal_mhz);
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "the %s has a fixed %u MHz crystal, not %u",
                             c->display, c->xtal_mhz, s->cfg.xtal_mhz);
        }
        c->xtal_mhz = s->cfg.xtal_mhz;
    }
    if (s->cfg.ck8m_drift_set && !c->rtc_cali_reg)
        return ed_seterr(err, errlen, ED_ERR_ARG, "the %s ROM does not "
                         "derive its crystal from its 8 MHz clock (only the "
                         "ESP32's does): ck8m-drift does not apply",
                         c->display);
    /* the ROM runs its UART from the crystal */
    c->apb_hz = (uint32_t)c->xtal_mhz * 1000000u;
    return ED_OK;
}

static char *dup_or_null(const char *p)
{
    return p ? strdup(p) : NULL;
}

int sim_new(struct sim **out, const struct sim_config *cfg, char *err,
            size_t errlen)
{
    struct sim *s;
    int rc;

    *out = NULL;
    if (!cfg)
        return ed_seterr(err, errlen, ED_ERR_ARG, "no simulator config");
    s = calloc(1, sizeof *s);
    if (!s)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    s->trace_fd = -1;
    s->trace_t0 = -1;
    s->cfg = *cfg;
    s->log = cfg->log;
    s->chip = sim_chip_find(cfg->chip ? cfg->chip : "esp32");
    if (!s->chip) {
        rc = ed_seterr(err, errlen, ED_ERR_ARG,
                       "unknown chip \"%s\" for the simulator: use esp32, "
                       "esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, "
                       "esp32h2, esp32c5 or esp32p4", cfg->chip);
        goto fail;
    }
    if (cfg->usb_jtag && (!strcmp(s->chip->name, "esp32") ||
                          !strcmp(s->chip->name, "esp32s2") ||
                          !strcmp(s->chip->name, "esp32c2"))) {
        rc = ed_seterr(err, errlen, ED_ERR_ARG,
                       "the %s has no USB-Serial/JTAG (the S3, C3, C6, "
                       "H2, C5 and P4 have): use a USB-serial adapter",
                       s->chip->display);
        goto fail;
    }
    s->chip_own = *s->chip;
    s->chip = &s->chip_own;
    rc = apply_variant(s, err, errlen);
    if (rc != ED_OK)
        goto fail;
    s->flash_size = cfg->flash_size ? cfg->flash_size : 4u << 20;
    if (s->flash_size < 256u * 1024 || s->flash_size > 128u << 20 ||
        (s->flash_size & (s->flash_size - 1))) {
        rc = ed_seterr(err, errlen, ED_ERR_ARG,
                       "simulated flash size %zu is not a power of two "
                       "between 256 KiB and 128 MiB", s->flash_size);
        goto fail;
    }
    s->flash_file = dup_or_null(cfg->flash_file);
    s->trace_path = dup_or_null(cfg->trace_path);
    s->cfg.flash_file = s->flash_file;
    s->cfg.trace_path = s->trace_path;
    s->cfg.chip = s->chip->name;
    if (cfg->mac_set) {
        memcpy(s->mac, cfg->mac, 6);
    } else {
        /* Espressif OUI and a per-chip tail: stable across runs. */
        const uint8_t def[6] = {0x24, 0x0A, 0xC4, 0x5E,
                                (uint8_t)(0x10 + s->chip->chip_id), 0x01};
        memcpy(s->mac, def, 6);
    }
    sim_units_init(s);
    s->flash = malloc(s->flash_size);
    s->frame_cap = FRAME_CAP;
    s->frame = malloc(s->frame_cap);
    if (!s->flash || !s->frame ||
        sim_stubrx_init(&s->srx, SIM_STUB_FRAME_CAP) != 0) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto fail;
    }
    slip_decoder_init(&s->dec, s->frame, s->frame_cap);
    rc = sim_flash_load(s, err, errlen);
    if (rc != ED_OK)
        goto fail;
    if (s->trace_path) {
        s->trace_fd = open(s->trace_path,
                           O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (s->trace_fd < 0) {
            rc = ed_seterr(err, errlen, ED_ERR_IO,
                           "cannot open trace file %s: %s", s->trace_path,
                           strerror(errno));
            goto fail;
        }
    }
    s->baud = ROM_BAUD;
    s->uart_clkdiv = s->chip->apb_hz / ROM_BAUD;
    s->wdt_at = -1;
    sim_fault_init(&s->fault, &cfg->fault);
    s->state = SIM_OFF;
    s->boot_at = -1;
    *out = s;
    return ED_OK;
fail:
    free(s->flash_file);
    s->flash_file = NULL; /* nothing to save */
    sim_free(s);
    return rc;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    if (s->flash && s->flash_file && s->flash_dirty)
        sim_save(s);
    stop_running(s);
    /* frames still on their way out: stamped when they would be out */
    trace_release(s, -1);
    free(s->trace_tx);
    if (s->trace_fd >= 0)
        close(s->trace_fd);
    q_free(&s->rx);
    q_free(&s->tx);
    free(s->flash);
    free(s->frame);
    sim_stubrx_free(&s->srx);
    free(s->flash_file);
    free(s->trace_path);
    free(s);
}

/* ---- RAM images (MEM_END with an entry) ---- */

bool sim_mem_run(struct sim *s, uint32_t entry, int64_t t)
{
    static const uint8_t ohai[4] = {'O', 'H', 'A', 'I'};
    char *text = NULL;
    size_t len = 0;
    struct sim_app *app = NULL;

    if (sim_boot_ram(s->chip, s->mj.seg, s->mj.n_seg, entry, &text, &len,
                     &app)) {
        log_msg(&s->log, ED_LOG_INFO,
                "sim: RAM app started at 0x%08x", (unsigned)entry);
        stop_running_keep(s, true);
        sim_start_app(s, text, len, app, t);
        return false;
    }
    /* Anything else is a flasher stub: ours or another client's. */
    log_msg(&s->log, ED_LOG_DEBUG, "sim: flasher stub started at 0x%08x",
            (unsigned)entry);
    stop_running_keep(s, true);
    s->state = SIM_STUB;
    sim_send_frame(s, ohai, sizeof ohai, t);
    return true;
}
