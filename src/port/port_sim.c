/*
 * port_sim.c - the in-process simulated board: "sim:CHIP[?opts]".
 *
 *   sim:esp32
 *   sim:esp32c3?flash=8MB&pacing=0&boot=normal&flash-file=PATH&mac=...
 *
 * Options: flash=SIZE (4MB), pacing=0|1 (1, the default: bytes move at
 * the baud rate, as on a wire), flash-file=PATH (kept across runs),
 * mac=aa:bb:cc:dd:ee:ff, trace=PATH (hex trace of every frame),
 * chip-rev=X.Y, xtal=MHZ, flash-id=0xID, ck8m-drift=PCT (board variants,
 * sim_config_option),
 * fault=SPEC (a faulty line, sim_fault.h; its cut makes every later call
 * fail with ED_ERR_CLOSED, "connection lost"),
 * units=auto|N, arrive=, leave=, stay=, faults=N:KIND,..., cycle=N,
 * hotplug=0|1 (a fixture of units, sim.h; the units restart with every
 * open: a fixture that outlives its ports is src/sim/sim_fixture.h),
 * boot=normal|download (accepted; this port has modem lines, so the board
 * powers up with them released, i.e. booting from flash, and a reset
 * sequence puts it in download mode, as on a devkit).
 *
 * Each port owns its struct sim: two sim: ports in one process are two
 * boards.  There is no thread: the board is clocked with clock_us() on
 * every call (the core works out what happened since), and a read sleeps
 * until the board's next event or its own deadline, whichever is first.
 * A mutex serialises calls, so a port used from two threads stays sound.
 * Modem lines go to sim_set_lines(), set_baud to sim_set_host_baud().
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "port_internal.h"
#include "sim/sim.h"
#include "sim/sim_chip.h"
#include "sim/sim_server.h"

struct sim_port {
    struct port base;       /* first: port.c sees only this */
    struct sim *sim;
    pthread_mutex_t mu;
    bool cut;               /* the fault spec cut the line: all calls fail */
};

/* The line is (now) cut: one sentence, ED_ERR_CLOSED.  Called locked. */
static int sp_lost(struct sim_port *sp, int64_t now)
{
    if (!sp->cut && sim_link_cut(sp->sim, now)) {
        sp->cut = true;
        sim_disconnect(sp->sim, now);
    }
    if (!sp->cut)
        return ED_OK;
    return ed_seterr(sp->base.errmsg, sizeof sp->base.errmsg, ED_ERR_CLOSED,
                     "connection lost to the %s: the line was cut (fault "
                     "spec); open the port again", sp->base.description);
}

static void sp_log(void *ctx, enum log_level level, const char *msg)
{
    struct sim_port *sp = ctx;
    log_msg(&sp->base.log, level, "%s", msg);
}

static void sp_close(struct port *p)
{
    struct sim_port *sp = (struct sim_port *)p;
    pthread_mutex_lock(&sp->mu);
    sim_disconnect(sp->sim, clock_us());
    sim_free(sp->sim); /* writes the flash file back */
    pthread_mutex_unlock(&sp->mu);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

/* A fixture's unit vanished with its port, or none is in (hotplug): the
 * port is gone, as a USB adapter that was pulled out (port_serial.c). */
static int sp_gone(struct sim_port *sp)
{
    bool gone;

    pthread_mutex_lock(&sp->mu);
    gone = sim_port_gone(sp->sim, clock_us());
    pthread_mutex_unlock(&sp->mu);
    if (!gone)
        return ED_OK;
    return ed_seterr(sp->base.errmsg, sizeof sp->base.errmsg, ED_ERR_CLOSED,
                     "the simulated port went away (unplugged): plug the "
                     "board in again");
}

static int sp_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct sim_port *sp = (struct sim_port *)p;
    int64_t deadline = clock_us() + (int64_t)timeout_ms * 1000;

    for (;;) {
        int64_t now = clock_us(), next, wait;
        size_t n;
        bool gone;

        int lost;

        pthread_mutex_lock(&sp->mu);
        lost = sp_lost(sp, now);
        n = lost ? 0 : sim_tx(sp->sim, buf, cap, now);
        next = n || lost ? -1 : sim_next_event_us(sp->sim, now);
        gone = !n && !lost && sim_port_gone(sp->sim, now);
        pthread_mutex_unlock(&sp->mu);
        if (lost)
            return lost;
        if (gone)
            return sp_gone(sp);
        if (n)
            return (int)n;
        if (now >= deadline)
            return 0;
        wait = deadline - now;
        if (next >= 0 && next - now < wait)
            wait = next - now;
        if (wait < 50)
            wait = 50; /* the board is busy right now: do not spin */
        clock_sleep_us(wait);
    }
}

static int sp_write(struct port *p, const uint8_t *buf, size_t len,
                    int timeout_ms)
{
    struct sim_port *sp = (struct sim_port *)p;
    int64_t now = clock_us();
    int rc = sp_gone(sp);

    (void)timeout_ms;
    if (rc != ED_OK)
        return rc;
    pthread_mutex_lock(&sp->mu);
    rc = sp_lost(sp, now);
    if (rc == ED_OK) {
        sim_rx(sp->sim, buf, len, now);
        rc = sp_lost(sp, now);
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static int sp_set_baud(struct port *p, uint32_t baud)
{
    struct sim_port *sp = (struct sim_port *)p;
    int rc;

    if (baud == 0)
        return ED_ERR_ARG;
    pthread_mutex_lock(&sp->mu);
    rc = sp_lost(sp, clock_us());
    if (rc == ED_OK)
        sim_set_host_baud(sp->sim, baud, clock_us());
    pthread_mutex_unlock(&sp->mu);
    if (rc == ED_OK)
        p->baud = baud;
    return rc;
}

static int sp_set_lines(struct port *p, int dtr, int rts)
{
    struct sim_port *sp = (struct sim_port *)p;
    int rc;

    if (dtr >= 0)
        p->dtr = dtr ? 1 : 0;
    if (rts >= 0)
        p->rts = rts ? 1 : 0;
    pthread_mutex_lock(&sp->mu);
    rc = sp_lost(sp, clock_us());
    if (rc == ED_OK)
        sim_set_lines(sp->sim, p->dtr == 1, p->rts == 1, clock_us());
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static int sp_flush_input(struct port *p)
{
    struct sim_port *sp = (struct sim_port *)p;
    uint8_t junk[1024];
    int64_t now = clock_us();
    pthread_mutex_lock(&sp->mu);
    while (sim_tx(sp->sim, junk, sizeof junk, now) > 0)
        ;
    pthread_mutex_unlock(&sp->mu);
    return ED_OK;
}

static int sp_drain(struct port *p, int timeout_ms)
{
    (void)p;
    (void)timeout_ms;
    return ED_OK; /* bytes are with the board as soon as they are written */
}

static const struct port_ops sim_port_ops = {
    .close = sp_close,
    .read = sp_read,
    .write = sp_write,
    .set_baud = sp_set_baud,
    .set_lines = sp_set_lines,
    .flush_input = sp_flush_input,
    .drain = sp_drain,
};

int port_sim_open(struct port **out, const char *spec, uint32_t baud,
                  char *err, size_t errlen)
{
    struct sim_port *sp;
    struct sim_config cfg;
    char *buf;
    int rc;

    *out = NULL;
    buf = strdup(spec ? spec : "");
    sp = calloc(1, sizeof *sp);
    if (!buf || !sp) {
        free(buf);
        free(sp);
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    }
    memset(&cfg, 0, sizeof cfg);
    rc = sim_server_parse_spec(buf, &cfg, err, errlen);
    if (rc != ED_OK)
        goto fail;
    /* The board logs through this port's sink (port_open sets it after
     * we return, so the sink reads it at call time). */
    cfg.log.write = sp_log;
    cfg.log.ctx = sp;
    cfg.log.max_level = ED_LOG_TRACE;
    rc = sim_new(&sp->sim, &cfg, err, errlen);
    if (rc != ED_OK)
        goto fail;
    pthread_mutex_init(&sp->mu, NULL);
    sp->base.ops = &sim_port_ops;
    sp->base.kind = PORT_SIM;
    sp->base.baud = baud ? baud : 115200;
    sp->base.has_lines = true;
    /* behind a simulated USB adapter the port is a USB port to the host,
     * with that adapter's VID:PID (links.c: --baud auto by default) */
    sp->base.usb = cfg.usb_vid != 0;
    sp->base.usb_vid = cfg.usb_vid;
    sp->base.usb_pid = cfg.usb_pid;
    sp->base.usb_jtag = cfg.usb_jtag;
    snprintf(sp->base.description, sizeof sp->base.description,
             "simulated %s (espdeck)", sim_chip_find(cfg.chip)->display);
    sp->base.dtr = sp->base.rts = 0;
    sim_connect(sp->sim, true, clock_us());
    sim_set_host_baud(sp->sim, sp->base.baud, clock_us());
    free(buf);
    *out = &sp->base;
    return ED_OK;
fail:
    free(buf);
    free(sp);
    return rc;
}
