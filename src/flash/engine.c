/*
 * engine.c - the flashing engine: one board, one background thread.
 *
 * The controlling thread (UI or batch loop) owns struct engine and talks to
 * the engine thread through three things only: the event queue (mutex
 * protected, bounded, with a wake-up pipe), the atomic cancel/stop flags
 * and the atomic command bits.  Everything else in struct engine below the
 * "engine thread only" line is touched by the engine thread alone, and the
 * job is handed over in engine_new and read back only after the thread
 * finished.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <md5.h>

#include "clock.h"
#include "delta.h"
#include "image.h"
#include "links.h"
#include "loader.h"
#include "stub.h"

#define ENGINE_QCAP 256
#define ENGINE_LOG_RESERVE 48   /* slots kept free of log lines */
#define ENGINE_MON_POLL_MS 20   /* also how long a typed key may wait */
#define ENGINE_TXQ 4096         /* bytes typed for the target, not yet sent */
#define ENGINE_PROBE_BYTES 4096u /* first sector, compared before the rest */

enum {
    CMD_BIT_RESET = 1u << 0,
    CMD_BIT_REFLASH = 1u << 1,
    CMD_BIT_STOP = 1u << 2,
};

struct engine {
    /* ---- shared with the controlling thread ---- */
    pthread_mutex_t mu;
    pthread_cond_t space;
    struct engine_event *q;
    size_t head, count;
    unsigned dropped_logs;
    int wake[2];
    atomic_bool cancel;
    atomic_bool stop;           /* engine_free: give up waiting for space */
    atomic_bool finished;
    atomic_uint cmds;
    atomic_uint new_baud;       /* monitor baud asked for, 0 = none */
    uint8_t txq[ENGINE_TXQ];    /* bytes for the target (under mu) */
    size_t txq_len;
    pthread_t thread;
    bool started;

    /* ---- engine thread only (after engine_start) ---- */
    struct engine_job job;
    struct engine_hooks hooks;
    struct log_sink log;
    struct engine_part_info parts[ENGINE_MAX_IMAGES];
    struct engine_chip_info chip;
    enum engine_state state;
    struct port *port;
    struct loader *l;
    uint32_t flash_size;
    unsigned recoveries;        /* write recoveries in this job */
    uint32_t block_max;         /* data blocks after write errors, 0 = full */
    bool rom_baud_failed;       /* the ROM did not hold the job's baud */
    struct zcache *zc;          /* job.zcache, or own_zc */
    struct zcache *own_zc;
    pthread_t zth;              /* compresses the images while connecting */
    bool zth_running;
    /* each image's MD5 and stream, made by that thread (read after it is
     * joined); ok until the engine changes the image's bytes */
    struct {
        uint8_t md5[16];
        const uint8_t *z;
        size_t zl;
        bool ok;
    } prep[ENGINE_MAX_IMAGES];
    char errmsg[ED_ERRMSG_MAX]; /* why a recovery step failed */
};

/* ------------------------------------------------------------------ */
/* event queue                                                         */

static void wake_write(struct engine *e)
{
    const char b = 'e';
    ssize_t r;

    do
        r = write(e->wake[1], &b, 1);
    while (r < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full of wake-ups already, which is enough. */
}

static void wake_drain(struct engine *e)
{
    char buf[64];
    ssize_t r;

    do
        r = read(e->wake[0], buf, sizeof buf);
    while (r > 0 || (r < 0 && errno == EINTR));
}

static struct engine_event *q_at(struct engine *e, size_t i)
{
    return &e->q[(e->head + i) % ENGINE_QCAP];
}

/* Try to fold ev into a queued event (progress, monitor bytes). */
static bool q_merge(struct engine *e, const struct engine_event *ev)
{
    size_t i;

    if (e->count == 0)
        return false;
    if (ev->kind == EV_MONITOR) {
        struct engine_event *last = q_at(e, e->count - 1);

        if (last->kind == EV_MONITOR &&
            last->u.monitor.len + ev->u.monitor.len <=
                sizeof last->u.monitor.data) {
            memcpy(last->u.monitor.data + last->u.monitor.len,
                   ev->u.monitor.data, ev->u.monitor.len);
            last->u.monitor.len += ev->u.monitor.len;
            return true;
        }
        return false;
    }
    if (ev->kind != EV_PART)
        return false;
    /* Only the latest progress of a partition matters: replace a queued
     * event of the same partition in the same phase, never across a phase
     * change (each phase change is seen). */
    for (i = e->count; i-- > 0;) {
        struct engine_event *q = q_at(e, i);

        if (q->kind != EV_PART || q->u.part.index != ev->u.part.index)
            continue;
        if (q->u.part.phase != ev->u.part.phase)
            return false;
        q->u.part = ev->u.part;
        return true;
    }
    return false;
}

static void q_put(struct engine *e, const struct engine_event *ev)
{
    *q_at(e, e->count) = *ev;
    e->count++;
}

static void push(struct engine *e, const struct engine_event *ev)
{
    pthread_mutex_lock(&e->mu);
    if (q_merge(e, ev))
        goto out;
    if (ev->kind == EV_LOG) {
        if (e->count + ENGINE_LOG_RESERVE >= ENGINE_QCAP) {
            e->dropped_logs++;
            goto out;
        }
        if (e->dropped_logs) {
            struct engine_event d;

            memset(&d, 0, sizeof d);
            d.kind = EV_LOG;
            d.u.log.level = ED_LOG_WARN;
            snprintf(d.u.log.text, sizeof d.u.log.text,
                     "(%u log lines dropped: the display fell behind)",
                     e->dropped_logs);
            e->dropped_logs = 0;
            q_put(e, &d);
        }
    } else {
        /* Never drop a state, chip, phase or the final event: wait. */
        while (e->count == ENGINE_QCAP && !atomic_load(&e->stop)) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&e->space, &e->mu, &ts);
        }
        if (e->count == ENGINE_QCAP)
            goto out; /* nobody reads any more (engine_free) */
    }
    q_put(e, ev);
    wake_write(e);
out:
    pthread_mutex_unlock(&e->mu);
}

bool engine_poll(struct engine *e, struct engine_event *ev)
{
    bool got = false;

    pthread_mutex_lock(&e->mu);
    if (e->count) {
        *ev = e->q[e->head];
        e->head = (e->head + 1) % ENGINE_QCAP;
        e->count--;
        got = true;
        pthread_cond_signal(&e->space);
    } else {
        wake_drain(e);
    }
    pthread_mutex_unlock(&e->mu);
    return got;
}

int engine_wake_fd(const struct engine *e)
{
    return e->wake[0];
}

/* ------------------------------------------------------------------ */
/* events from the engine thread                                       */

static void log_write(void *ctx, enum log_level level, const char *msg)
{
    struct engine *e = ctx;
    struct engine_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = EV_LOG;
    ev.u.log.level = level;
    snprintf(ev.u.log.text, sizeof ev.u.log.text, "%s", msg);
    push(e, &ev);
}

static void set_state(struct engine *e, enum engine_state st)
{
    struct engine_event ev;

    e->state = st;
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_STATE;
    ev.u.state.state = st;
    push(e, &ev);
}

static void emit_part(struct engine *e, size_t i)
{
    struct engine_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = EV_PART;
    ev.u.part = e->parts[i];
    push(e, &ev);
}

static void set_phase(struct engine *e, size_t i, enum engine_phase ph,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_phase(struct engine *e, size_t i, enum engine_phase ph,
                      const char *fmt, ...)
{
    e->parts[i].phase = ph;
    e->parts[i].message[0] = '\0';
    if (fmt) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(e->parts[i].message, sizeof e->parts[i].message, fmt, ap);
        va_end(ap);
    }
    emit_part(e, i);
}

static void emit_chip(struct engine *e)
{
    struct engine_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = EV_CHIP;
    ev.u.chip = e->chip;
    push(e, &ev);
}

static void finish(struct engine *e, int status, enum engine_state stage,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void after_failure(struct engine *e);

static void finish(struct engine *e, int status, enum engine_state stage,
                   const char *fmt, ...)
{
    struct engine_event ev;
    va_list ap;

    /* the sentence first: it may quote loader_errmsg(), which the reset
     * below overwrites */
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_FINISHED;
    ev.u.finished.status = status;
    ev.u.finished.stage = stage;
    va_start(ap, fmt);
    vsnprintf(ev.u.finished.message, sizeof ev.u.finished.message, fmt, ap);
    va_end(ap);
    if (status != ED_OK)
        after_failure(e);
    set_state(e, status == ED_OK ? STATE_DONE
                 : status == ED_ERR_CANCELLED ? STATE_CANCELLED
                                              : STATE_FAILED);
    push(e, &ev);
}

/* A further connect attempt (the first is the CONNECTING state itself). */
static void attempt_fn(void *ctx, int attempt)
{
    struct engine *e = ctx;
    struct engine_event ev;

    if (attempt < 2)
        return;
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_STATE;
    ev.u.state.state = STATE_CONNECTING;
    ev.u.state.attempt = attempt;
    push(e, &ev);
}

static bool cancel_fn(void *ctx)
{
    struct engine *e = ctx;

    return atomic_load(&e->cancel);
}

/* ------------------------------------------------------------------ */
/* job                                                                 */

void engine_job_init(struct engine_job *job)
{
    memset(job, 0, sizeof *job);
    job->op = ENGINE_OP_FLASH;
    job->baud = ENGINE_BAUD_DEFAULT;
    job->monitor_baud = 115200;
    job->before = BEFORE_DEFAULT_RESET;
    job->after = AFTER_HARD_RESET;
    job->expect_chip = CHIP_UNKNOWN;
    snprintf(job->flash_mode, sizeof job->flash_mode, "keep");
    snprintf(job->flash_freq, sizeof job->flash_freq, "keep");
    snprintf(job->flash_size, sizeof job->flash_size, "keep");
    job->log_level = ED_LOG_INFO;
    job->connect_attempts = 7;
    job->write_retries = 8;
    job->write_retries_total = 64;
}

void engine_job_clear(struct engine_job *job)
{
    size_t i;

    for (i = 0; i < job->n_images && i < ENGINE_MAX_IMAGES; i++) {
        if (!job->images[i].borrowed)
            free(job->images[i].data);
        job->images[i].data = NULL;
        job->images[i].len = 0;
    }
    job->n_images = 0;
    free(job->read_out);
    job->read_out = NULL;
}

const char *engine_phase_name(enum engine_phase ph)
{
    static const char *const n[] = {
        [PHASE_WAITING] = "waiting",     [PHASE_ERASING] = "erasing",
        [PHASE_WRITING] = "writing",     [PHASE_VERIFYING] = "verifying",
        [PHASE_SKIPPED] = "skipped",     [PHASE_DONE] = "done",
        [PHASE_FAILED] = "failed",       [PHASE_CANCELLED] = "cancelled",
    };

    return (unsigned)ph < sizeof n / sizeof n[0] && n[ph] ? n[ph] : "?";
}

const char *engine_state_name(enum engine_state st)
{
    static const char *const n[] = {
        [STATE_IDLE] = "idle",           [STATE_CONNECTING] = "connecting",
        [STATE_STUB] = "stub",           [STATE_BAUD] = "baud",
        [STATE_FLASHING] = "flashing",   [STATE_RESETTING] = "resetting",
        [STATE_MONITORING] = "monitoring", [STATE_DONE] = "done",
        [STATE_FAILED] = "failed",       [STATE_CANCELLED] = "cancelled",
    };

    return (unsigned)st < sizeof n / sizeof n[0] && n[st] ? n[st] : "?";
}

bool engine_failed_connecting(int status, enum engine_state stage)
{
    if (status == ED_OK || status == ED_ERR_CANCELLED ||
        status == ED_ERR_PROFILE)
        return false;
    return stage == STATE_CONNECTING || stage == STATE_STUB ||
           stage == STATE_BAUD || stage == STATE_IDLE;
}

/* ------------------------------------------------------------------ */
/* steps                                                               */

static void md5_of(const uint8_t *data, size_t len, uint8_t out[16])
{
    MD5_CTX c;

    MD5Init(&c);
    MD5Update(&c, data, len);
    MD5Final(out, &c);
}

/* The MD5 of image i's bytes: the helper's while they are unchanged (1.5
 * MiB take 3-7 ms, which the app's first block waited for). */
static void image_md5(const struct engine *e, size_t i, uint8_t out[16])
{
    if (e->prep[i].ok)
        memcpy(out, e->prep[i].md5, 16);
    else
        md5_of(e->job.images[i].data, e->job.images[i].len, out);
}

static void hex16(const uint8_t d[16], char out[33])
{
    static const char hx[] = "0123456789abcdef";
    int i;

    for (i = 0; i < 16; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[32] = '\0';
}

static const char *size_text(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(n >> 20));
    else if (n >= 1024 * 1024)
        snprintf(buf, cap, "%.1f MiB", (double)n / (1024.0 * 1024.0));
    else if (n >= 1024)
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
    return buf;
}

static void close_session(struct engine *e)
{
    loader_free(e->l);
    e->l = NULL;
    port_close(e->port);
    e->port = NULL;
}

/* How long a re-sync after an error waits for the board (a stalled line
 * may come back after seconds: issue 8 asks for 10 s). */
#define ENGINE_PATIENCE_MS 12000

/* A loader on e->port with the engine's cancel and attempt hooks. */
static int new_loader(struct engine *e)
{
    int rc = loader_new(&e->l, e->port, &e->log);

    if (rc)
        return rc;
    loader_set_cancel(e->l, cancel_fn, e);
    loader_set_attempt_hook(e->l, attempt_fn, e);
    loader_set_patience(e->l, ENGINE_PATIENCE_MS);
    return ED_OK;
}

/* ---- the link between runs (links.json) ---- */

/* The in-process sim: board lives and dies with this process. */
static bool link_remembered(const struct engine *e)
{
    return e->port && e->port->kind != PORT_SIM;
}

/* Remember whether a stub runs on the board and at what baud. */
static void link_note(struct engine *e, bool stub, uint32_t baud)
{
    struct links_port lp = {.stub = stub, .baud = baud};

    if (!link_remembered(e))
        return;
    if (links_port_put(e->port->url, &lp) != ED_OK)
        log_msg(&e->log, ED_LOG_DEBUG, "could not remember the state of "
                "%s", e->port->url);
}

static void link_note_loader(struct engine *e)
{
    if (e->l)
        link_note(e, loader_is_stub(e->l), loader_baud(e->l));
}

/*
 * A board left running the stub by an earlier run (failed, cancelled or
 * killed, --after no-reset-stub) where no reset will end it (no reset
 * lines, --before no-reset): talk to it at the baud it was last driven at,
 * so that it answers and its CHANGE_BAUDRATE gets the right old baud.
 * Returns ED_OK with e->l connected to that stub, ED_ERR_NOT_FOUND when
 * there is none to look for or none answered (the port is back at the
 * ROM's baud), or ED_ERR_CANCELLED.
 */
static int connect_left_stub(struct engine *e)
{
    const struct engine_job *j = &e->job;
    struct links_port lp;
    int rc;

    if (!link_remembered(e) ||
        (e->port->has_lines && j->before != BEFORE_NO_RESET &&
         j->before != BEFORE_NO_RESET_NO_SYNC) ||
        links_port_get(e->port->url, &lp) != ED_OK ||
        /* not a ROM noted at a higher baud: links.json keeps many such
         * notes that are stale (a board reset since), and a socket:// link
         * cannot tell a wrong baud (the simulator then paces at its own
         * rate while espdeck believes in another) */
        !lp.stub || !lp.baud || lp.baud == LOADER_ROM_BAUD)
        return ED_ERR_NOT_FOUND;
    if (port_set_baud(e->port, lp.baud) != ED_OK || new_loader(e) != ED_OK)
        return ED_ERR_NOT_FOUND;
    log_msg(&e->log, ED_LOG_DEBUG, "a flasher stub was left running at %u "
            "baud on %s: looking for it there", lp.baud, e->port->url);
    loader_expect_stub(e->l, true);
    rc = loader_connect(e->l, j->before == BEFORE_NO_RESET_NO_SYNC
                                  ? BEFORE_NO_RESET_NO_SYNC : BEFORE_NO_RESET,
                        NULL, 1, e->chip.reset_used);
    loader_expect_stub(e->l, false);
    if (rc == ED_OK && loader_is_stub(e->l)) {
        log_msg(&e->log, ED_LOG_INFO, "the flasher stub left running at %u "
                "baud answers: carrying on from there", lp.baud);
        return ED_OK;
    }
    loader_free(e->l);
    e->l = NULL;
    port_set_baud(e->port, LOADER_ROM_BAUD);
    if (rc == ED_ERR_CANCELLED)
        return rc;
    log_msg(&e->log, ED_LOG_DEBUG, "no stub at %u baud: connecting as "
            "usual", lp.baud);
    return ED_ERR_NOT_FOUND;
}

/*
 * After a failure (or a cancel) the --after step still runs where espdeck
 * can reset the board, unless no reset was asked for: a hard reset through
 * the lines, so a slot is not left stuck in the stub at a high baud.  The
 * link's state is remembered either way.
 */
static void after_failure(struct engine *e)
{
    enum port_after a = e->job.after;

    if (!e->l || !e->port)
        return;
    if (e->port->has_lines && a != AFTER_NO_RESET &&
        a != AFTER_NO_RESET_STUB) {
        log_msg(&e->log, ED_LOG_INFO, "resetting the board after the "
                "failure (--after %s)", port_after_name(a));
        /* also after a cancel: the reset is short, and it stops what the
         * board was still doing (an erase, an MD5) */
        loader_set_cancel(e->l, NULL, NULL);
        if (loader_after(e->l, AFTER_HARD_RESET) != ED_OK)
            log_msg(&e->log, ED_LOG_WARN, "reset after the failure: %s",
                    loader_errmsg(e->l));
    }
    link_note_loader(e);
}

/* Open the port (unless open) and reach the ROM loader. */
static int do_connect(struct engine *e, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    const struct chip_desc *d;
    int rc;

    set_state(e, STATE_CONNECTING);
    if (!e->port) {
        rc = port_open(&e->port, j->port, LOADER_ROM_BAUD, &e->log, msg,
                       msglen);
        if (rc)
            return rc;
        if (e->hooks.port_opened)
            e->hooks.port_opened(e->hooks.ctx, &e->port);
    } else {
        port_set_baud(e->port, LOADER_ROM_BAUD);
    }
    loader_free(e->l);
    e->l = NULL;
    memset(&e->chip, 0, sizeof e->chip);
    rc = connect_left_stub(e);
    if (rc == ED_ERR_CANCELLED)
        return ed_seterr(msg, msglen, rc, "cancelled while connecting");
    if (rc != ED_OK) {
        rc = new_loader(e);
        if (rc)
            return ed_seterr(msg, msglen, rc, "cannot start the loader: %s",
                             ed_strerror(rc));
        rc = loader_connect(e->l, j->before,
                            j->reset_seq[0] ? j->reset_seq : NULL,
                            j->connect_attempts > 0 ? j->connect_attempts
                                                    : 7,
                            e->chip.reset_used);
        if (rc)
            return ed_seterr(msg, msglen, rc, "%s", loader_errmsg(e->l));
    }
    link_note_loader(e);
    e->chip.chip = loader_chip(e->l);
    d = chip_get(e->chip.chip);
    snprintf(e->chip.display, sizeof e->chip.display, "%s",
             d ? d->display : "unknown chip");
    e->chip.revision = -1;
    if (loader_chip_description(e->l, e->chip.display,
                                sizeof e->chip.display) == ED_OK) {
        int major, minor;

        if (loader_chip_revision(e->l, &major, &minor) == ED_OK)
            e->chip.revision = major * 100 + minor;
    } else {
        log_msg(&e->log, ED_LOG_WARN, "could not read the chip revision: %s",
                loader_errmsg(e->l));
    }
    /* chip auto (write-flash): an image header names its chip */
    for (size_t i = 0; j->expect_chip == CHIP_UNKNOWN && d &&
                       j->op == ENGINE_OP_FLASH && i < j->n_images; i++) {
        int id = image_looks_like(j->images[i].data, j->images[i].len)
                     ? image_chip_id(j->images[i].data, j->images[i].len)
                     : -1;
        const struct chip_desc *built = id >= 0 ? chip_by_image_id(id) : NULL;

        if (id >= 0 && id != d->image_chip_id)
            return ed_seterr(msg, msglen, ED_ERR_NOT_FOUND,
                             "%s was built for %s, but the board on %s is "
                             "an %s: use the %s build, or the right port",
                             j->images[i].name,
                             built ? built->display : "another chip",
                             j->port, d->display, d->display);
    }
    if (j->expect_chip != CHIP_UNKNOWN && e->chip.chip != j->expect_chip) {
        const struct chip_desc *want = chip_get(j->expect_chip);

        return ed_seterr(msg, msglen, ED_ERR_NOT_FOUND,
                         "the profile is for %s but the board on %s is an "
                         "%s: pick the right profile or port",
                         want ? want->display : "another chip", j->port,
                         d ? d->display : "unknown chip");
    }
    if (loader_read_mac(e->l, e->chip.mac))
        log_msg(&e->log, ED_LOG_WARN, "could not read the MAC address: %s",
                loader_errmsg(e->l));
    if (loader_crystal_mhz(e->l, &e->chip.crystal_mhz))
        e->chip.crystal_mhz = 0;
    e->chip.baud = loader_baud(e->l);
    return ED_OK;
}

/*
 * The job's baud.  ENGINE_BAUD_DEFAULT (nothing named a rate) becomes the
 * port's default once the port is open (links_auto_by_default): --baud
 * auto on USB serial and rfc2217://, else ENGINE_BAUD_FIXED.
 */
static uint32_t job_baud(struct engine *e)
{
    if (e->job.baud == ENGINE_BAUD_DEFAULT) {
        e->job.baud = links_auto_by_default(e->port) ? ENGINE_BAUD_AUTO
                                                      : ENGINE_BAUD_FIXED;
        log_msg(&e->log, ED_LOG_DEBUG, "no baud asked for: %s on %s",
                e->job.baud == ENGINE_BAUD_AUTO ? "--baud auto" : "921600",
                e->port->url);
    }
    return e->job.baud;
}

/*
 * Switch the ROM loader to the job's baud before the stub upload, so the
 * stub's ~8 KiB cross the line at that rate (0.55 s at 115200, 0.07 s at
 * 921600) and the stub needs no CHANGE_BAUDRATE of its own.  Only where
 * the embedded stub keeps the ROM's UART divider (not chip.h's
 * stub_resets_baud chips; not a --stub-dir stub, whose habits are
 * unknown), with an explicit --baud (--baud auto climbs with the stub), in
 * a ROM that changes baud (not in Secure Download Mode, esptool's C2/C5
 * rule) on a line that has one.  The ROM's crystal quirks (C2 with 26 MHz,
 * C5, the ESP32's 8 MHz clock drift) are corrected by loader_change_baud.
 * ED_OK when the ROM is at the job's baud and a round trip there worked;
 * otherwise the link is back at 115200 (the ROM refused, or the check
 * failed and it was asked back or the board reset) and the caller uploads
 * as before; an error only when the board cannot be reached at all.
 */
static int rom_baud_first(struct engine *e, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    const struct chip_desc *d = chip_get(e->chip.chip);
    uint32_t baud = job_baud(e);
    int rc;

    /* a ROM found at another baud (connect_left_stub) goes back to 115200
     * for a stub that sets the ROM's first baud again */
    if (d && (d->stub_resets_baud || j->stub_dir[0]) &&
        loader_baud(e->l) != LOADER_ROM_BAUD &&
        (rc = loader_change_baud(e->l, LOADER_ROM_BAUD)) != ED_OK)
        return ed_seterr(msg, msglen, rc, "could not switch the ROM loader "
                         "back to %u baud: %s; reset the board",
                         LOADER_ROM_BAUD, loader_errmsg(e->l));
    if (!d || d->stub_resets_baud || j->stub_dir[0] || !baud ||
        baud == ENGINE_BAUD_AUTO || baud <= LOADER_ROM_BAUD ||
        loader_secure_download(e->l) || e->port->usb_jtag ||
        e->rom_baud_failed)
        return ED_ERR_NOT_FOUND;
    link_note(e, false, baud);
    rc = loader_change_baud(e->l, baud);
    link_note_loader(e);
    if (rc == ED_OK && (rc = loader_link_check(e->l, 2)) == ED_OK) {
        log_msg(&e->log, ED_LOG_INFO, "ROM loader at %u baud: uploading "
                "the flasher stub at that rate", baud);
        return ED_OK;
    }
    e->rom_baud_failed = true;
    log_msg(&e->log, ED_LOG_INFO, "the ROM loader does not hold %u baud "
            "(%s): uploading the flasher stub at %u", baud,
            loader_errmsg(e->l), LOADER_ROM_BAUD);
    /* the ROM may be at the new rate: ask it back from there, else find
     * it at 115200, else reset it (reset lines) */
    if (loader_baud(e->l) != LOADER_ROM_BAUD &&
        loader_change_baud(e->l, LOADER_ROM_BAUD) != ED_OK)
        loader_rom_baud(e->l);
    link_note_loader(e);
    if (loader_resync(e->l) == ED_OK)
        return ED_ERR_NOT_FOUND;
    if (!e->port->has_lines)
        return ed_seterr(msg, msglen, ED_ERR_TIMEOUT, "the ROM loader "
                         "stopped answering after switching to %u baud: "
                         "reset the board and use a lower --baud", baud);
    rc = do_connect(e, msg, msglen);
    return rc ? rc : ED_ERR_NOT_FOUND;
}

static bool network_port(const char *url);
static int reopen_port(struct engine *e);

/* Upload the stub unless asked not to; fall back to the ROM on failure. */
static int do_stub(struct engine *e, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    struct stub *st = NULL;
    struct loader_segment segs[2];
    char err[ED_ERRMSG_MAX];
    size_t n;
    unsigned rev;
    int rc, k;

    e->chip.stub = false;
    if (loader_is_stub(e->l)) { /* left running, found at connect */
        e->chip.stub = true;
        return ED_OK;
    }
    if (j->no_stub) {
        log_msg(&e->log, ED_LOG_INFO,
                "--no-stub: flashing through the ROM loader (slower)");
        return ED_OK;
    }
    /* ESP32-P4 before v3.0 needs the rev1 stub (esptool's choice); an
     * unreadable revision counts as v1.x, what most boards carry. */
    rev = e->chip.revision >= 0 ? (unsigned)e->chip.revision : 100;
    rc = stub_load(&st, e->chip.chip, rev, j->stub_dir, err, sizeof err);
    if (rc) {
        log_msg(&e->log, ED_LOG_WARN, "%s", err);
        if (rc == ED_ERR_NOT_FOUND)
            return ED_OK;
        log_msg(&e->log, ED_LOG_WARN,
                "flashing through the ROM loader instead (slower)");
        return ED_OK;
    }
    set_state(e, STATE_STUB);
    rc = rom_baud_first(e, msg, msglen);
    if (rc != ED_OK && rc != ED_ERR_NOT_FOUND) {
        stub_free(st);
        return rc;
    }
    n = stub_segments(st, segs);
    rc = loader_run_stub(e->l, segs, n, st->entry);
    /* a network link that closed mid-upload: the board still runs the
     * ROM loader (or the stub, if only OHAI was lost) */
    for (k = 0; rc == ED_ERR_CLOSED && network_port(j->port) && k < 3; k++) {
        log_msg(&e->log, ED_LOG_WARN, "the link closed while uploading the "
                "flasher stub (%s): opening it again", loader_errmsg(e->l));
        rc = reopen_port(e);
        if (rc == ED_OK)
            rc = loader_restart_stub(e->l, segs, n, st->entry);
    }
    if (rc == ED_OK) {
        e->chip.stub = true;
        link_note_loader(e);
        log_msg(&e->log, ED_LOG_INFO, "flasher stub %s running",
                st->name);
        stub_free(st);
        return ED_OK;
    }
    stub_free(st);
    if (rc == ED_ERR_CANCELLED)
        return ed_seterr(msg, msglen, rc, "cancelled while starting the "
                         "flasher stub");
    snprintf(err, sizeof err, "%s", loader_errmsg(e->l));
    log_msg(&e->log, ED_LOG_WARN,
            "the flasher stub did not start (%s): reconnecting to flash "
            "through the ROM loader (slower)", err);
    rc = do_connect(e, msg, msglen);
    if (rc && rc != ED_ERR_CANCELLED)
        return ed_seterr(msg, msglen, rc,
                         "the flasher stub did not start (%s), and the chip "
                         "did not answer again: reset the board and retry "
                         "with --no-stub", err);
    return rc;
}

/* ---- --baud auto ---- */

static const uint32_t baud_ladder[] = {3000000, 2000000, 1500000, 921600,
                                       460800,  230400,  115200};
#define BAUD_CHECK_ROUNDS 3

/* Who the adapter is, for links.json: USB VID:PID and serial, or the URL. */
static void adapter_id(const struct port *p, char *buf, size_t len)
{
    if (p->usb_vid)
        snprintf(buf, len, "usb:%04x:%04x:%s", p->usb_vid, p->usb_pid,
                 p->usb_serial[0] ? p->usb_serial : p->url);
    else
        snprintf(buf, len, "%s", p->url);
}

/* Switch to rate and check the link with a few round trips. */
static int baud_try(struct engine *e, uint32_t rate)
{
    int rc;

    link_note(e, loader_is_stub(e->l), rate);
    rc = loader_change_baud(e->l, rate);
    link_note_loader(e);
    if (rc == ED_OK)
        rc = loader_link_check(e->l, BAUD_CHECK_ROUNDS);
    if (rc)
        log_msg(&e->log, ED_LOG_INFO, "%u baud does not hold: %s", rate,
                loader_errmsg(e->l));
    return rc;
}

/*
 * A rate that does not hold leaves the stub talking at it, where the host
 * cannot reach it: reset the board through the lines, and connect and
 * start the stub again at the ROM's baud.  Without reset lines there is
 * no way back, so the ladder does not climb there (see baud_auto).
 */
static int baud_back_down(struct engine *e, char *msg, size_t msglen)
{
    int rc;

    log_msg(&e->log, ED_LOG_INFO, "resetting to step down the baud rate");
    if ((rc = do_connect(e, msg, msglen)) != ED_OK)
        return rc;
    return do_stub(e, msg, msglen);
}

/*
 * --baud auto: from the highest rate the chip's UART and the adapter make
 * (or the one that last held on this adapter, from links.json) down the
 * ladder until one holds after a few round trips; remembered per adapter.
 * A port without reset lines does not go above 921600 (or the remembered
 * rate): a rate that fails there leaves the stub out of reach.
 */
static int baud_auto(struct engine *e, char *msg, size_t msglen)
{
    char id[320];
    uint32_t top, remembered;
    size_t i;
    int rc = ED_OK;

    if (e->port->usb_jtag) {
        /* no UART between host and chip: USB full speed and the stub
         * draining 64-byte packets set the pace (docs/simulator.md) */
        log_msg(&e->log, ED_LOG_INFO, "USB-Serial/JTAG: no baud to pick "
                "(the link runs at USB speed whatever the baud): --baud "
                "auto keeps %u", loader_baud(e->l));
        e->chip.baud = loader_baud(e->l);
        return ED_OK;
    }
    adapter_id(e->port, id, sizeof id);
    top = chip_link_max_baud(e->port->usb_vid, e->port->usb_pid);
    remembered = links_adapter_baud(id);
    if (remembered && remembered < top)
        top = remembered;
    if (!e->port->has_lines && top > 921600 && !remembered)
        top = 921600;
    for (i = 0; i < sizeof baud_ladder / sizeof baud_ladder[0]; i++) {
        uint32_t rate = baud_ladder[i];

        if (rate > top)
            continue;
        if (rate == loader_baud(e->l)) {
            rc = loader_link_check(e->l, BAUD_CHECK_ROUNDS);
        } else {
            rc = baud_try(e, rate);
        }
        if (rc == ED_OK) {
            if (links_adapter_put(id, rate) != ED_OK)
                log_msg(&e->log, ED_LOG_DEBUG, "could not remember %u baud "
                        "for %s", rate, id);
            log_msg(&e->log, ED_LOG_INFO, "--baud auto: %u baud holds on "
                    "%s", rate, id);
            e->chip.baud = rate;
            return ED_OK;
        }
        if (rc == ED_ERR_CANCELLED || rc == ED_ERR_CLOSED)
            break;
        if (!e->port->has_lines)
            break;
        if ((rc = baud_back_down(e, msg, msglen)) != ED_OK)
            return rc;
    }
    return ed_seterr(msg, msglen, rc ? rc : ED_ERR_IO,
                     "--baud auto found no rate that holds on %s: %s; check "
                     "the cable", e->port->url, loader_errmsg(e->l));
}

/*
 * --baud auto in the middle of a write: after an error the link was
 * re-synced; go one rung down the ladder (CHANGE_BAUDRATE at the current
 * rate, then the round-trip check) so the resumed write runs where the
 * line holds, and remember that rate for the adapter.  At 115200, or when
 * the lower rate does not hold, the write goes on where it is.
 */
static int baud_step_down(struct engine *e)
{
    uint32_t cur = loader_baud(e->l), lower = 0;
    char id[320];
    size_t i;
    int rc;

    for (i = 0; i < sizeof baud_ladder / sizeof baud_ladder[0]; i++)
        if (baud_ladder[i] < cur) {
            lower = baud_ladder[i];
            break;
        }
    if (!lower)
        return ED_OK;
    log_msg(&e->log, ED_LOG_WARN, "--baud auto: stepping down from %u to "
            "%u baud after the error", cur, lower);
    rc = baud_try(e, lower);
    if (rc != ED_OK) {
        /* the stub may have switched without its reply reaching us */
        return loader_resync(e->l);
    }
    adapter_id(e->port, id, sizeof id);
    links_adapter_put(id, lower);
    e->chip.baud = lower;
    emit_chip(e);
    return ED_OK;
}

static int do_baud(struct engine *e, char *msg, size_t msglen)
{
    uint32_t baud = job_baud(e);
    int rc;

    if (baud == ENGINE_BAUD_AUTO) {
        set_state(e, STATE_BAUD);
        return baud_auto(e, msg, msglen);
    }

    if (!baud || baud == loader_baud(e->l))
        return ED_OK;
    set_state(e, STATE_BAUD);
    /* killed during the switch: the next run looks at the new baud first,
     * then at the old one (the usual connect) */
    link_note(e, loader_is_stub(e->l), baud);
    rc = loader_change_baud(e->l, baud);
    link_note_loader(e);
    if (rc)
        return ed_seterr(msg, msglen, rc,
                         "could not switch to %u baud: %s (try a lower "
                         "--baud)", baud, loader_errmsg(e->l));
    e->chip.baud = baud;
    return ED_OK;
}

/* Flash id, size, attach. */
static int do_attach(struct engine *e, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    uint32_t detected, want;
    char a[32], b[32];
    int rc;

    rc = loader_flash_id(e->l, &e->chip.flash_id);
    if (rc == ED_ERR_NOT_FOUND) /* no flash: nothing to write to */
        return ed_seterr(msg, msglen, rc, "%s", loader_errmsg(e->l));
    if (rc) {
        log_msg(&e->log, ED_LOG_WARN, "could not read the flash id: %s",
                loader_errmsg(e->l));
        e->chip.flash_id = 0;
    }
    detected = chip_flash_size_from_id(e->chip.flash_id);
    want = image_flash_size_bytes(j->flash_size);
    if (want && detected && want > detected)
        log_msg(&e->log, ED_LOG_WARN,
                "the profile says %s of flash but the chip reports %s",
                size_text(want, a, sizeof a), size_text(detected, b,
                                                        sizeof b));
    e->flash_size = want ? want : detected;
    if (!e->flash_size) {
        e->flash_size = 4u * 1024 * 1024;
        log_msg(&e->log, ED_LOG_WARN,
                "could not detect the flash size: assuming 4 MiB");
    }
    e->chip.flash_size = detected ? detected : e->flash_size;
    rc = loader_flash_attach(e->l, e->flash_size);
    if (rc)
        return ed_seterr(msg, msglen, rc, "could not attach the SPI flash: "
                         "%s", loader_errmsg(e->l));
    return ED_OK;
}

/* Connect, stub, baud, attach; emits EV_CHIP.  stage gets the step. */
static int bring_up(struct engine *e, bool want_stub, bool attach,
                    enum engine_state *stage, char *msg, size_t msglen)
{
    int rc;

    *stage = STATE_CONNECTING;
    if ((rc = do_connect(e, msg, msglen)))
        return rc;
    if (e->job.admit && (rc = e->job.admit(e->job.admit_ctx, &e->chip, msg,
                                           msglen)))
        return rc;
    if (want_stub) {
        *stage = STATE_STUB;
        if ((rc = do_stub(e, msg, msglen)))
            return rc;
        *stage = STATE_BAUD;
        if ((rc = do_baud(e, msg, msglen)))
            return rc;
    }
    if (attach) {
        *stage = STATE_CONNECTING;
        if ((rc = do_attach(e, msg, msglen)))
            return rc;
    }
    e->chip.baud = loader_baud(e->l) ? loader_baud(e->l) : e->chip.baud;
    e->chip.usb_jtag = e->port->usb_jtag;
    emit_chip(e);
    return ED_OK;
}

/* Checks that need no board. */
static int check_job(struct engine *e, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    size_t i;

    for (i = 0; i < j->n_images; i++) {
        const struct engine_image *im = &j->images[i];
        char a[32], b[32];

        if (!im->data && im->len)
            return ed_seterr(msg, msglen, ED_ERR_PROFILE,
                             "%s has no data loaded", im->name);
        if (im->region_size && im->len > im->region_size)
            return ed_seterr(msg, msglen, ED_ERR_PROFILE,
                             "%s (%s) is %s but its partition holds %s: "
                             "make the partition larger or the image "
                             "smaller", im->name, im->source,
                             size_text(im->len, a, sizeof a),
                             size_text(im->region_size, b, sizeof b));
    }
    return ED_OK;
}

struct progress_ctx {
    struct engine *e;
    size_t index;
    int64_t t0;         /* the image's first write */
    uint64_t base;      /* image bytes settled before this write call */
    uint64_t wire_base; /* wire bytes of the image before this call */
    uint64_t written_base; /* bytes of the image written before */
    uint64_t acked;     /* bytes the loader acknowledged in this call */
};

static void on_progress(void *ctx, size_t done, size_t total,
                        size_t wire_done, size_t wire_total)
{
    struct progress_ctx *p = ctx;
    struct engine_part_info *pi = &p->e->parts[p->index];
    double el = (double)(clock_us() - p->t0) / 1e6;

    (void)total;
    p->acked = done;
    pi->phase = PHASE_WRITING;
    pi->message[0] = '\0';
    pi->done = p->base + done;
    pi->written = p->written_base + done;
    pi->wire_bytes = p->wire_base + wire_done;
    pi->wire_total = p->wire_base + wire_total;
    pi->elapsed = el;
    pi->rate = el > 0 ? (double)pi->written / el : 0;
    emit_part(p->e, p->index);
    if (p->e->hooks.progress)
        p->e->hooks.progress(p->e->hooks.ctx, p->index, pi->done, pi->total);
}

static void mark_rest_not_written(struct engine *e, size_t from)
{
    size_t i;

    for (i = from; i < e->job.n_images; i++)
        set_phase(e, i, PHASE_WAITING, "not written");
}

static bool all_keep(const struct engine_job *j)
{
    return !strcasecmp(j->flash_mode, "keep") &&
           !strcasecmp(j->flash_freq, "keep") &&
           !strcasecmp(j->flash_size, "keep");
}

/* SPI_FLASH_MD5 of [offset, offset+len), seen by the md5 test hook. */
static int flash_md5(struct engine *e, uint32_t offset, uint32_t len,
                     uint8_t out[16])
{
    if (e->hooks.md5)
        e->hooks.md5(e->hooks.ctx, offset, len);
    return loader_md5(e->l, offset, len, out);
}

/* SPI_FLASH_MD5 of n ranges (one request at a time, loader_md5_many), each
 * seen by the md5 test hook; on an error no digest of the batch counts. */
static int flash_md5_many(struct engine *e, const uint32_t *offs,
                          const uint32_t *lens, size_t n,
                          uint8_t (*out)[16])
{
    size_t k;

    if (e->hooks.md5)
        for (k = 0; k < n; k++)
            e->hooks.md5(e->hooks.ctx, offs[k], lens[k]);
    return loader_md5_many(e->l, offs, lens, n, out);
}

/* Does flash [off, off+len) of image im hold the image's bytes there? */
static int span_matches(struct engine *e, const struct engine_image *im,
                        uint32_t off, uint32_t len, bool *same)
{
    uint8_t want[16], got[16];
    int rc;

    *same = false;
    md5_of(im->data + off, len, want);
    rc = flash_md5(e, im->offset + off, len, got);
    if (rc == ED_OK)
        *same = !memcmp(want, got, 16);
    return rc;
}

/* ------------------------------------------------------------------ */
/* what to write: unchanged, the whole image, or a sector delta        */

struct image_plan {
    bool same;              /* the flash holds the image: skip */
    bool delta;             /* runs are the differing sectors only */
    struct delta_run *runs; /* malloc'ed; the whole image when !delta */
    size_t n_runs;
    uint64_t run_bytes;     /* bytes in the runs */
};

static void plan_free(struct image_plan *p)
{
    free(p->runs);
    memset(p, 0, sizeof *p);
}

static int plan_whole(struct image_plan *p, uint32_t len)
{
    free(p->runs);
    p->runs = malloc(sizeof *p->runs);
    if (!p->runs)
        return ED_ERR_NOMEM;
    p->runs[0].start = 0;
    p->runs[0].len = len;
    p->n_runs = 1;
    p->run_bytes = len;
    p->delta = false;
    return ED_OK;
}

/* MD5 the units idx[0..n) of the image (unit bytes each, the last one
 * clipped to the image) in one batch, marking in differ[k]
 * whether unit idx[k] differs; returns a loader error. */
static int compare_units(struct engine *e, const struct engine_image *im,
                         uint32_t unit, const size_t *idx, size_t n,
                         bool *differ)
{
    uint32_t *offs = malloc((n ? n : 1) * sizeof *offs);
    uint32_t *lens = malloc((n ? n : 1) * sizeof *lens);
    uint8_t (*got)[16] = malloc((n ? n : 1) * sizeof *got), want[16];
    size_t k;
    int rc = ED_ERR_NOMEM;

    if (!offs || !lens || !got)
        goto out;
    rc = ED_OK;
    if (!n)
        goto out;
    for (k = 0; k < n; k++) {
        uint64_t a = (uint64_t)idx[k] * unit;

        offs[k] = im->offset + (uint32_t)a;
        lens[k] = (uint32_t)(im->len - a < unit ? im->len - a : unit);
    }
    rc = flash_md5_many(e, offs, lens, n, got);
    if (rc)
        goto out;
    for (k = 0; k < n; k++) {
        md5_of(im->data + (offs[k] - im->offset), lens[k], want);
        differ[k] = memcmp(want, got[k], 16) != 0;
    }
out:
    free(offs);
    free(lens);
    free(got);
    return rc;
}

/*
 * The sector delta of an image whose region differs: DELTA_BLOCK blocks
 * first (DELTA_BATCH requests at a time, so the scan can stop early), then
 * the sectors of the blocks that differ, all in one batch.  When
 * most blocks differ the scan is given up (delta_keep_scanning) and
 * everything from there on, and every block that differed, is written.
 */
static int plan_delta(struct engine *e, const struct engine_image *im,
                      struct image_plan *p)
{
    uint32_t len = (uint32_t)im->len;
    size_t ns = delta_sectors(len), nb = delta_blocks(len);
    const size_t spb = DELTA_BLOCK / DELTA_SECTOR;
    bool *sec = calloc(ns, sizeof *sec), *blk = calloc(nb, sizeof *blk);
    bool *d = calloc(ns, sizeof *d);
    size_t *idx = malloc(ns * sizeof *idx);
    size_t b = 0, k, m, scanned = 0, ndiff = 0;
    int rc = ED_ERR_NOMEM;

    if (!sec || !blk || !d || !idx)
        goto out;
    while (b < nb) {
        size_t n = nb - b < DELTA_BATCH ? nb - b : DELTA_BATCH;

        if (!delta_keep_scanning((unsigned)scanned, (unsigned)ndiff))
            break;
        for (k = 0; k < n; k++)
            idx[k] = b + k;
        rc = compare_units(e, im, DELTA_BLOCK, idx, n, blk + b);
        if (rc)
            goto out;
        for (k = b; k < b + n; k++)
            ndiff += blk[k];
        scanned += n;
        b += n;
    }
    if (b < nb) {
        /* given up: no sector comparisons either */
        log_msg(&e->log, ED_LOG_DEBUG, "%s: %zu of the first %zu blocks "
                "differ: writing the rest whole", im->name, ndiff, scanned);
        for (k = 0; k < ns; k++)
            sec[k] = k / spb >= b || blk[k / spb];
    } else {
        m = delta_sectors_to_compare(idx, blk, nb, len);
        rc = compare_units(e, im, DELTA_SECTOR, idx, m, d);
        if (rc)
            goto out;
        for (k = 0; k < m; k++)
            sec[idx[k]] = d[k];
    }
    free(p->runs);
    p->runs = malloc(((ns + 1) / 2) * sizeof *p->runs);
    if (!p->runs) {
        rc = ED_ERR_NOMEM;
        goto out;
    }
    p->n_runs = delta_runs(p->runs, sec, ns, len);
    p->run_bytes = 0;
    for (k = 0; k < p->n_runs; k++)
        p->run_bytes += p->runs[k].len;
    p->delta = p->n_runs > 0 && p->run_bytes < im->len;
    /* no runs: every block matched (the caller skips the image) */
    rc = p->delta || p->n_runs == 0 ? ED_OK : plan_whole(p, len);
out:
    free(sec);
    free(blk);
    free(d);
    free(idx);
    return rc;
}

/*
 * What to write of im (want: the image's MD5).  Returns a loader error when
 * an MD5 could not be read (the caller then writes the whole image).
 *
 * Skipping unchanged images needs the region's MD5, which costs a read of
 * the whole region on the chip (0.4 s for 1.5 MiB) that a first-time flash
 * would pay for nothing.  So the first sector is compared first: when it
 * reads erased the image is written whole and that small MD5 is all it
 * cost.  Otherwise the sector delta's block scan decides: no block
 * differs (the image is there: skip), a few differ (write their changed
 * sectors), most differ (write the image whole).
 */
static int plan_image(struct engine *e, const struct engine_image *im,
                      const uint8_t want[16], struct image_plan *p)
{
    uint8_t got[16], head[16], erased[16];
    uint8_t ff[ENGINE_PROBE_BYTES];
    int rc;

    memset(p, 0, sizeof *p);
    if (im->len <= ENGINE_PROBE_BYTES) {
        rc = flash_md5(e, im->offset, (uint32_t)im->len, got);
        if (rc)
            return rc;
        p->same = !memcmp(got, want, 16);
        return plan_whole(p, (uint32_t)im->len);
    }
    md5_of(im->data, ENGINE_PROBE_BYTES, head);
    rc = flash_md5(e, im->offset, ENGINE_PROBE_BYTES, got);
    if (rc)
        return rc;
    if (memcmp(got, head, 16)) {
        memset(ff, 0xFF, sizeof ff);
        md5_of(ff, sizeof ff, erased);
        if (!memcmp(got, erased, 16)) {
            log_msg(&e->log, ED_LOG_DEBUG, "%s: the first %u bytes at 0x%x "
                    "are erased: writing", im->name, ENGINE_PROBE_BYTES,
                    im->offset);
            return plan_whole(p, (uint32_t)im->len);
        }
    }
    /* the block scan reads the region once, as its MD5 would, and says
     * both whether it is unchanged and which blocks are not */
    rc = plan_delta(e, im, p);
    if (rc == ED_OK && p->n_runs == 0)
        p->same = true;
    return rc;
}

/* ------------------------------------------------------------------ */
/* writing with recovery                                               */

static bool network_port(const char *url)
{
    return !strncmp(url, "socket://", 9) || !strncmp(url, "rfc2217://", 10);
}

/* Close and open the job's port again, at the loader's baud. */
static int reopen_port(struct engine *e)
{
    char err[ED_ERRMSG_MAX] = "";
    int t, rc = ED_ERR_CLOSED;

    port_close(e->port);
    e->port = NULL;
    for (t = 0; t < 20 && !atomic_load(&e->cancel); t++) {
        rc = port_open(&e->port, e->job.port, loader_baud(e->l), &e->log,
                       err, sizeof err);
        if (rc == ED_OK) {
            if (e->hooks.port_opened)
                e->hooks.port_opened(e->hooks.ctx, &e->port);
            break;
        }
        clock_sleep_ms(100); /* the server may not have seen us go yet */
    }
    if (rc)
        return ed_seterr(e->errmsg, sizeof e->errmsg, rc,
                         "could not open %s again: %s", e->job.port, err);
    log_msg(&e->log, ED_LOG_INFO, "opened %s again", e->job.port);
    rc = loader_set_port(e->l, e->port);
    if (rc)
        return ed_seterr(e->errmsg, sizeof e->errmsg, rc, "%s",
                         loader_errmsg(e->l));
    return ED_OK;
}

/*
 * Get the link usable again after `cause` (the enum ed_err that broke a
 * command): a network port whose connection closed is opened again (the
 * board keeps running the stub), then the loader that runs is re-synced.
 * Every recovery goes through here.  Sets e->errmsg on failure.
 */
static int recover_link(struct engine *e, int cause)
{
    int tries, rc = cause;

    for (tries = 0; tries < 2; tries++) {
        if (rc == ED_ERR_CLOSED) {
            if (!network_port(e->job.port))
                return ed_seterr(e->errmsg, sizeof e->errmsg, rc,
                                 "the port %s closed", e->job.port);
            rc = reopen_port(e);
            if (rc)
                return rc;
        }
        rc = loader_resync(e->l);
        if (rc != ED_ERR_CLOSED)
            break;
    }
    if (rc == ED_OK && e->job.baud == ENGINE_BAUD_AUTO)
        rc = baud_step_down(e);
    if (rc)
        ed_seterr(e->errmsg, sizeof e->errmsg, rc, "%s", loader_errmsg(e->l));
    return rc;
}

/* Where a write of im may start: a 4 KiB sector of the flash, or end. */
static uint32_t next_boundary(const struct engine_image *im, uint32_t pos,
                              uint32_t end)
{
    uint32_t a = im->offset + pos;
    uint64_t b = ((uint64_t)a / DELTA_SECTOR + 1) * DELTA_SECTOR;
    uint64_t r = b - im->offset;

    return r < end ? (uint32_t)r : end;
}

/*
 * After a failed write that started at *pos: move *pos to the furthest
 * sector boundary up to hint (the bytes the loader acknowledged) below
 * which the flash is proven to hold the image (MD5 of [*pos, q)).  A
 * written prefix grows monotonically, so the furthest proven boundary is
 * found by bisection; the first try is hint itself (the common case: all
 * that was acknowledged was written).
 */
static int prove_written(struct engine *e, const struct engine_image *im,
                         uint32_t *pos, uint32_t hint, uint32_t end)
{
    uint32_t cand[1 + 4096], q = *pos;
    size_t n = 0, lo, hi;
    bool same;
    int rc;

    cand[n++] = *pos;
    while (q < hint && n < sizeof cand / sizeof cand[0]) {
        uint32_t nx = next_boundary(im, q, end);

        if (nx > hint)
            break;
        cand[n++] = q = nx;
    }
    lo = 0;
    hi = n - 1;
    if (hi == 0)
        return ED_OK;
    rc = span_matches(e, im, *pos, cand[hi] - *pos, &same);
    if (rc)
        return rc;
    if (same) {
        *pos = cand[hi];
        return ED_OK;
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        rc = span_matches(e, im, *pos, cand[mid] - *pos, &same);
        if (rc)
            return rc;
        if (same)
            lo = mid;
        else
            hi = mid;
    }
    *pos = cand[lo];
    return ED_OK;
}

/* Write [pos, end) of image i: compressed unless asked not to. */
static int write_span(struct engine *e, size_t i, uint32_t pos, uint32_t end,
                      struct progress_ctx *pc)
{
    const struct engine_image *im = &e->job.images[i];
    uint8_t *comp = NULL;
    size_t comp_len = 0;
    int rc;

    const uint8_t *z;
    unsigned resends = loader_resends(e->l);

    loader_set_flash_block(e->l, e->block_max);
    /* --baud auto above the ladder's last rung: a block damaged on the way
     * says the rate does not hold; the write fails, and recover_link()
     * steps down and resumes, instead of sending it again at this rate */
    loader_set_block_resends(e->l, e->job.baud == ENGINE_BAUD_AUTO &&
                             loader_baud(e->l) > LOADER_ROM_BAUD
                             ? 0 : LOADER_BLOCK_RESENDS);
    if (e->job.no_compress) {
        rc = loader_flash_write(e->l, im->offset + pos, im->data + pos,
                                end - pos, false, on_progress, pc);
        goto out;
    }
    /* the whole image: its stream was made while connecting (the helper
     * kept it: finding it in the cache again costs the image's SHA-256,
     * 7-10 ms for 1.5 MiB); a part of it (a delta run, the rest after a
     * recovery): a new one */
    if (pos == 0 && end == im->len && e->prep[i].ok) {
        z = e->prep[i].z;
        comp_len = e->prep[i].zl;
        rc = ED_OK;
    } else if (pos == 0 && end == im->len) {
        rc = zcache_get(e->zc, im->data, im->len, &z, &comp_len);
    } else {
        rc = loader_deflate(im->data + pos, end - pos, &comp, &comp_len);
        z = comp;
    }
    if (rc)
        return ed_seterr(e->errmsg, sizeof e->errmsg, rc,
                         "out of memory compressing %s", im->name);
    if (comp_len < end - pos)
        rc = loader_flash_write_deflated(e->l, im->offset + pos, end - pos,
                                         z, comp_len, on_progress, pc);
    else
        rc = loader_flash_write(e->l, im->offset + pos, im->data + pos,
                                end - pos, false, on_progress, pc);
    free(comp);
out:
    /* blocks the chip rejected unread (damaged on the way): sent again */
    resends = loader_resends(e->l) - resends;
    if (resends) {
        e->parts[i].resent += resends;
        log_msg(&e->log, ED_LOG_INFO, "%s: %u damaged data block%s sent "
                "again", im->name, resends, resends == 1 ? "" : "s");
    }
    return rc;
}

/* After a write error: the next data blocks are a quarter as long (at
 * least LOADER_MIN_FLASH_BLOCK), so fewer of them meet a damaged byte. */
static void shrink_blocks(struct engine *e)
{
    uint32_t bs = loader_flash_block(e->l) / 4;

    if (bs < LOADER_MIN_FLASH_BLOCK)
        bs = LOADER_MIN_FLASH_BLOCK;
    if (bs != loader_flash_block(e->l))
        log_msg(&e->log, ED_LOG_INFO, "data blocks of %u bytes from now "
                "on", bs);
    e->block_max = bs;
}

/* May image i recover once more?  Counts it; else the sentence in msg. */
static int take_recovery(struct engine *e, size_t i, int rc, const char *cause,
                         unsigned stalled, char *msg, size_t msglen)
{
    const struct engine_job *j = &e->job;
    const struct engine_image *im = &j->images[i];
    struct engine_part_info *pi = &e->parts[i];

    if (!pi->recoveries && (j->write_retries <= 0 ||
                            j->write_retries_total <= 0))
        return ed_seterr(msg, msglen, rc, "writing %s at 0x%x failed: %s",
                         im->name, im->offset, cause);
    if ((int)stalled >= j->write_retries ||
        (int)e->recoveries >= j->write_retries_total) {
        bool job_wide = (int)stalled < j->write_retries;
        unsigned n = job_wide ? e->recoveries : stalled;

        return ed_seterr(msg, msglen, rc,
                         "writing %s at 0x%x failed after %u recover%s%s "
                         "(%s): %s: check the cable and the board's power, "
                         "or lower --baud", im->name, im->offset, n,
                         n == 1 ? "y" : "ies",
                         job_wide ? "" : " without progress",
                         job_wide ? "the job's limit, --write-retries-total"
                                  : "the limit per image, --write-retries",
                         cause);
    }
    pi->recoveries++;
    e->recoveries++;
    return ED_OK;
}

/*
 * A local port that closed under a write is gone (a USB adapter or a
 * board's own USB unplugged, or its power lost): unlike a network link it
 * cannot be opened again to reach the same board, so it is said at once.
 */
static int port_vanished(struct engine *e, size_t i, char *msg,
                         size_t msglen)
{
    const struct engine_image *im = &e->job.images[i];

    if (e->port && port_errmsg(e->port)[0])
        log_msg(&e->log, ED_LOG_INFO, "%s", port_errmsg(e->port));
    return ed_seterr(msg, msglen, ED_ERR_CLOSED, "writing %s at 0x%x "
                     "failed: the port %s is gone (unplugged, or the board "
                     "lost power): plug the board in again, check its USB "
                     "cable, and flash again", im->name, im->offset,
                     e->job.port);
}

/* take_recovery, and log it as the *stalled-th in a row without progress. */
static int start_recovery(struct engine *e, size_t i, int rc,
                          const char *cause, unsigned *stalled, char *msg,
                          size_t msglen)
{
    if (take_recovery(e, i, rc, cause, *stalled, msg, msglen))
        return rc;
    ++*stalled;
    log_msg(&e->log, ED_LOG_WARN, "%s: recovering (%u of %d without "
            "progress) after: %s", e->job.images[i].name, *stalled,
            e->job.write_retries, cause);
    return ED_OK;
}

/*
 * After error rc (cause) while writing image i from *pos up to end: take a
 * recovery (counted, bounded: the sentence in msg when none is left), get
 * the link usable again and move *pos to the furthest sector boundary up
 * to hint proven written by MD5.  A recovery step that fails (the re-sync,
 * an MD5) is one more recovery, so every way round is bounded.
 * Every data block after it is shorter (shrink_blocks).
 */
static int recover_prove(struct engine *e, size_t i, int rc, char *cause,
                         unsigned *stalled, uint32_t *pos, uint32_t hint,
                         uint32_t end, char *msg, size_t msglen)
{
    const struct engine_image *im = &e->job.images[i];
    uint32_t from = *pos;

    for (;;) {
        if (atomic_load(&e->cancel))
            return ED_ERR_CANCELLED;
        if (rc == ED_ERR_CLOSED && !network_port(e->job.port))
            return port_vanished(e, i, msg, msglen);
        if (start_recovery(e, i, rc, cause, stalled, msg, msglen))
            return rc;
        shrink_blocks(e);
        rc = recover_link(e, rc);
        if (rc == ED_ERR_TIMEOUT) /* it had all the patience */
            return ed_seterr(msg, msglen, rc, "writing %s at 0x%x failed: "
                             "the board has not answered for %d s since: "
                             "%s: check the cable and the board's power",
                             im->name, im->offset,
                             ENGINE_PATIENCE_MS / 1000, cause);
        if (rc == ED_OK)
            rc = prove_written(e, im, pos, hint < end ? hint : end, end);
        if (rc == ED_OK)
            break;
        if (rc == ED_ERR_CANCELLED)
            return rc;
        snprintf(cause, ED_ERRMSG_MAX, "%s", e->errmsg[0]
                                                 ? e->errmsg
                                                 : loader_errmsg(e->l));
        e->errmsg[0] = '\0';
        hint = *pos;
    }
    log_msg(&e->log, ED_LOG_INFO, "%s: %u bytes from 0x%x proven written, "
            "resuming at 0x%x", im->name, *pos - from, im->offset + from,
            im->offset + *pos);
    return ED_OK;
}

/*
 * Write [start, end) of image i (its checks are the caller's: the image's
 * verify, or check_runs for a delta's runs).  On any error (a bad status,
 * a missing or malformed reply, a closed network link) the link is
 * recovered, what is on the flash is proven by MD5 in sector steps, and a
 * new write with a new compressed stream starts at the first sector not
 * proven written; at most job.write_retries times in a row without
 * progress (the proven prefix did not grow) and write_retries_total per
 * job.  Each recovery also shortens
 * the data blocks (a quarter, down to 1 KiB): on a line that damages one
 * byte in 10^4 a 16 KiB block arrives whole one time in five, a 1 KiB block
 * nine times in ten.  Each new run doubles them again.
 * A stub writes what it inflated only in 32 KiB pieces and at the end of
 * the stream, so after a recovery that proved nothing new the rest goes as
 * one stream per 4 KiB flash sector: each one ends, so is written, and is
 * proven by the next recovery's MD5s if one comes.
 * settled: image bytes already final before this run (progress).
 */
static int write_run(struct engine *e, size_t i, uint32_t start,
                     uint32_t end, uint64_t settled, int64_t t0, char *msg,
                     size_t msglen)
{
    const struct engine_image *im = &e->job.images[i];
    struct engine_part_info *pi = &e->parts[i];
    char cause[ED_ERRMSG_MAX];
    uint32_t pos = start, proven = start, hint;
    unsigned stalled = 0;
    bool sectors = false;
    int rc;

    if (e->block_max)
        e->block_max = e->block_max * 2 >= LOADER_STUB_FLASH_BLOCK
                           ? 0 : e->block_max * 2;
    for (;;) {
        struct progress_ctx pc;
        uint32_t stop = sectors ? next_boundary(im, pos, end) : end;

        memset(&pc, 0, sizeof pc);
        pc.e = e;
        pc.index = i;
        pc.t0 = t0;
        pc.base = settled + (pos - start);
        pc.wire_base = pi->wire_bytes;
        pc.written_base = pi->written;
        rc = write_span(e, i, pos, stop, &pc);
        snprintf(cause, sizeof cause, "%s", loader_errmsg(e->l));
        if (rc == ED_OK && stop < end) { /* the next sector's stream */
            pos = stop;
            continue;
        }
        if (rc == ED_OK || rc == ED_ERR_CANCELLED)
            return rc;
        /* the sectors streamed since the last proof are proven now */
        hint = pos + (uint32_t)pc.acked;
        pos = proven;
        rc = recover_prove(e, i, rc, cause, &stalled, &pos, hint, end, msg,
                           msglen);
        if (rc)
            return rc;
        if (pos > proven) {
            stalled = 0;
        } else if (!sectors) {
            sectors = true;
            log_msg(&e->log, ED_LOG_INFO, "%s: nothing new proven: the "
                    "rest goes one %u-byte sector per stream, each "
                    "written when it ends", im->name, DELTA_SECTOR);
        }
        proven = pos;
        if (pos == end) /* all of the run proven by MD5, piece by piece */
            return ED_OK;
    }
}

struct flash_result {
    unsigned written, skipped;
    /* e->recoveries when image i was last proven on the flash (written
     * and verified, or found unchanged); valid when proven[i] */
    unsigned proven_at[ENGINE_MAX_IMAGES];
    bool proven[ENGINE_MAX_IMAGES];
};

/*
 * Does the flash hold im where it belongs?  A mismatch is read again
 * before it is believed: SPI_FLASH_MD5's offset and length carry no
 * checksum (a damaged request hashes another range) and neither does the
 * digest in its reply.  *same only when an MD5 read from the board equals
 * the image's; hg gets the flash MD5 last read.
 */
static int image_matches(struct engine *e, const struct engine_image *im,
                         const uint8_t want[16], char hg[33], bool *same)
{
    uint8_t got[16];
    char first[33];
    int rc;

    *same = false;
    rc = flash_md5(e, im->offset, (uint32_t)im->len, got);
    if (rc)
        return rc;
    hex16(got, hg);
    if (!memcmp(got, want, 16)) {
        *same = true;
        return ED_OK;
    }
    memcpy(first, hg, sizeof first);
    rc = flash_md5(e, im->offset, (uint32_t)im->len, got);
    if (rc)
        return rc;
    hex16(got, hg);
    *same = !memcmp(got, want, 16);
    if (*same)
        log_msg(&e->log, ED_LOG_WARN, "%s: the flash MD5 read %s, then the "
                "image's when asked again: the first request or its reply "
                "was damaged on the way", im->name, first);
    return ED_OK;
}

/* The verify of the whole region; ED_ERR_VERIFY with hg (flash MD5). */
static int verify_image(struct engine *e, size_t i, const uint8_t want[16],
                        char hg[33])
{
    bool same;
    int rc;

    set_phase(e, i, PHASE_VERIFYING, NULL);
    rc = image_matches(e, &e->job.images[i], want, hg, &same);
    if (rc)
        return rc;
    return same ? ED_OK : ED_ERR_VERIFY;
}

/*
 * verify_image after image i was written.  A region that reads back
 * different (twice), an MD5 whose reply did not come (twice), or the
 * stub's deferred error for one of the write's
 * last blocks in its reply to the MD5 (a damaged block that passed its
 * 8-bit checksum broke the inflate; a damaged FLASH_DEFL_BEGIN, which has
 * no checksum, put the data elsewhere), is a write error like any other:
 * recovered (bounded as write_run's), the written prefix proven by MD5,
 * the rest written again, and verified again.  Out of recoveries (or
 * unless mismatch_recovers), a mismatch stays ED_ERR_VERIFY (its sentence
 * is the caller's).
 */
static int verify_written(struct engine *e, size_t i, const uint8_t want[16],
                          char hg[33], bool mismatch_recovers, int64_t t0,
                          char *msg, size_t msglen)
{
    const struct engine_image *im = &e->job.images[i];
    uint32_t len = (uint32_t)im->len, last = UINT32_MAX;
    unsigned stalled = 0;
    int rc;

    for (;;) {
        char cause[ED_ERRMSG_MAX];
        uint32_t pos = 0;
        bool mismatch;

        rc = verify_image(e, i, want, hg);
        mismatch = rc == ED_ERR_VERIFY && mismatch_recovers;
        if (mismatch)
            snprintf(cause, sizeof cause, "0x%x..0x%x read back different "
                     "(flash MD5 %s, asked twice)", im->offset,
                     im->offset + len, hg);
        else if ((rc == ED_ERR_DEVICE && loader_late_write_error(e->l)) ||
                 rc == ED_ERR_TIMEOUT || rc == ED_ERR_PROTO)
            /* a deferred write error, or the MD5's reply lost or damaged
             * even when asked again: the link is recovered like after a
             * write error, and what is on the flash proven */
            snprintf(cause, sizeof cause, "%s", loader_errmsg(e->l));
        else
            return rc;
        set_phase(e, i, PHASE_WRITING, NULL);
        rc = recover_prove(e, i, rc, cause, &stalled, &pos, len, len, msg,
                           msglen);
        if (rc)
            return rc;
        /* written again from the first sector that differed, and that
         * sector differs again: the flash does not take it (worn or
         * protected); a line that damages commands is not that steady */
        if (mismatch && pos == last) {
            log_msg(&e->log, ED_LOG_WARN, "%s: 0x%x differs again after "
                    "it was written again", im->name, im->offset + pos);
            set_phase(e, i, PHASE_VERIFYING, NULL);
            return ED_ERR_VERIFY;
        }
        if (mismatch)
            last = pos;
        if (pos < len &&
            (rc = write_run(e, i, pos, len, pos, t0, msg, msglen)))
            return rc;
    }
}

/*
 * The runs of a delta write, checked by MD5 once all of them are written,
 * in one batch.  Checking each run before the next one's
 * FLASH_DEFL_BEGIN left the flash idle for that MD5's round trip and the
 * next run's compression: the stub starts a run's erase (45 ms a sector,
 * which nothing else hides for a one-sector run) only when it takes its
 * BEGIN.  Now that BEGIN follows the run before's last data block at once
 * (the one frame that may wait while the stub writes a block), and the
 * stub handles it right after that write.  *same when every run reads
 * back as the image.  A run that does not, or a batch that fails (after
 * its recovery, which leaves *same false), is for the region's verify
 * (and, on a mismatch, the whole image written again).
 */
static int check_runs(struct engine *e, size_t i, const struct image_plan *p,
                      bool *same, char *msg, size_t msglen)
{
    const struct engine_image *im = &e->job.images[i];
    size_t n = p->n_runs, k;
    uint32_t *offs = malloc((n ? n : 1) * sizeof *offs);
    uint32_t *lens = malloc((n ? n : 1) * sizeof *lens);
    uint8_t (*got)[16] = malloc((n ? n : 1) * sizeof *got), want[16];
    int rc = ED_ERR_NOMEM;

    *same = false;
    if (!offs || !lens || !got)
        goto out;
    for (k = 0; k < n; k++) {
        offs[k] = im->offset + p->runs[k].start;
        lens[k] = p->runs[k].len;
    }
    set_phase(e, i, PHASE_VERIFYING, NULL);
    rc = flash_md5_many(e, offs, lens, n, got);
    if (rc == ED_OK) {
        *same = true;
        for (k = 0; k < n && *same; k++) {
            md5_of(im->data + p->runs[k].start, lens[k], want);
            *same = !memcmp(want, got[k], 16);
        }
        if (!*same)
            log_msg(&e->log, ED_LOG_INFO, "%s: the run at 0x%x reads back "
                    "different: checking the region", im->name,
                    offs[k - 1]);
    } else if (rc != ED_ERR_CANCELLED) {
        char cause[ED_ERRMSG_MAX];
        unsigned stalled = 0;
        uint32_t pos = 0;

        snprintf(cause, sizeof cause, "%s", loader_errmsg(e->l));
        rc = recover_prove(e, i, rc, cause, &stalled, &pos, 0, 0, msg,
                           msglen);
    }
out:
    free(offs);
    free(lens);
    free(got);
    return rc;
}

/*
 * Is the region of a delta write proven already, sector by sector?  The
 * scan's block and sector MD5s proved every sector outside the runs, each
 * run's MD5 proved that run once it was written, and a run's erase (stub
 * or ROM: from its start, a sector boundary, to the end of its last
 * sector) stays inside its own sectors when the image starts on a sector
 * boundary, so nothing proven earlier was touched later.  Not after a
 * recovery (the board may have been reset, or have run, in between) nor
 * when the image data changed since it was planned.
 */
static bool delta_proven(const struct engine *e, size_t i,
                         const struct image_plan *p,
                         const uint8_t planned[16], const uint8_t now[16])
{
    return p->delta && e->job.images[i].offset % DELTA_SECTOR == 0 &&
           !e->parts[i].recoveries && !memcmp(planned, now, 16);
}

/*
 * After recoveries: a damaged FLASH_DEFL_BEGIN (it has no checksum) may
 * have erased or written where another image was already proven, and the
 * image it belonged to was then recovered and verified.  So every image
 * proven before the job's last recovery is read (MD5) once more, and one
 * that no longer holds is written again; a few rounds, since that write
 * may recover too; in the last round a mismatch is the job's failure.
 */
#define RECHECK_ROUNDS 3

static int recheck_images(struct engine *e, struct flash_result *res,
                          char *msg, size_t msglen)
{
    struct engine_job *j = &e->job;
    unsigned round;
    size_t i;

    for (round = 0; round < RECHECK_ROUNDS; round++) {
        bool again = false;

        for (i = 0; i < j->n_images; i++) {
            struct engine_image *im = &j->images[i];
            uint8_t want[16];
            char hg[33], hw[33];
            bool same;
            int rc;

            if (!res->proven[i] || res->proven_at[i] == e->recoveries)
                continue;
            md5_of(im->data, im->len, want);
            rc = image_matches(e, im, want, hg, &same);
            if (rc)
                return ed_seterr(msg, msglen, rc, "checking %s at 0x%x "
                                 "again after the recoveries failed: %s",
                                 im->name, im->offset, loader_errmsg(e->l));
            res->proven_at[i] = e->recoveries;
            if (same)
                continue;
            hex16(want, hw);
            if (round + 1 == RECHECK_ROUNDS) {
                set_phase(e, i, PHASE_FAILED, "damaged after it was "
                          "verified");
                return ed_seterr(msg, msglen, ED_ERR_VERIFY,
                                 "%s at 0x%x was damaged after it was "
                                 "verified (flash MD5 %s \xe2\x89\xa0 image "
                                 "MD5 %s), while other images were written "
                                 "again after write errors: check the "
                                 "cable, or lower --baud, and flash again",
                                 im->name, im->offset, hg, hw);
            }
            log_msg(&e->log, ED_LOG_WARN, "%s at 0x%x no longer reads back "
                    "as written (flash MD5 %s): a damaged command of a "
                    "recovered write may have reached it; writing it again",
                    im->name, im->offset, hg);
            e->parts[i].recoveries++;
            e->recoveries++;
            set_phase(e, i, PHASE_ERASING, NULL);
            rc = write_run(e, i, 0, (uint32_t)im->len, 0, clock_us(), msg,
                           msglen);
            if (rc == ED_OK)
                rc = verify_written(e, i, want, hg, true, clock_us(), msg,
                                    msglen);
            if (rc == ED_ERR_VERIFY)
                ed_seterr(msg, msglen, rc, "verify failed for %s at 0x%x: "
                          "flash MD5 %s \xe2\x89\xa0 image MD5 %s (the "
                          "flash may be worn or write-protected: flash "
                          "again, then try another board)", im->name,
                          im->offset, hg, hw);
            if (rc) {
                set_phase(e, i, PHASE_FAILED, "write failed: %.140s", msg);
                return rc;
            }
            set_phase(e, i, PHASE_DONE, "written again");
            res->proven_at[i] = e->recoveries;
            again = true;
        }
        if (!again)
            break;
    }
    return ED_OK;
}

/* write_images with the plan its caller frees, whatever the way out. */
static int write_images_planned(struct engine *e, struct flash_result *res,
                                char *msg, size_t msglen,
                                struct image_plan *pp)
{
    struct engine_job *j = &e->job;
    const struct chip_desc *d = chip_get(e->chip.chip);
    size_t i, r;
    int rc = ED_OK;

    for (i = 0; i < j->n_images; i++) {
        struct engine_image *im = &j->images[i];
        struct engine_part_info *pi = &e->parts[i];
        uint8_t want[16], planned[16];
        char hw[33], hg[33], a[32], b[32];
        uint64_t settled;
        int64_t t0;
        bool runs_same;

        plan_free(pp);
        if (atomic_load(&e->cancel)) {
            mark_rest_not_written(e, i);
            return ed_seterr(msg, msglen, ED_ERR_CANCELLED,
                             "cancelled before %s: %u of %zu images written",
                             im->name, res->written, j->n_images);
        }
        if ((uint64_t)im->offset + im->len > e->flash_size) {
            set_phase(e, i, PHASE_FAILED, "does not fit in the flash");
            mark_rest_not_written(e, i + 1);
            return ed_seterr(msg, msglen, ED_ERR_PROFILE,
                             "%s (%s at 0x%x) ends beyond the %s flash of "
                             "this board: use a board with more flash or a "
                             "smaller layout", im->name,
                             size_text(im->len, a, sizeof a), im->offset,
                             size_text(e->flash_size, b, sizeof b));
        }
        /* esptool rewrites the bootloader's flash parameters */
        if (d && im->offset == d->bootloader_offset && !all_keep(j) &&
            image_looks_like(im->data, im->len)) {
            bool changed = false;
            char err[ED_ERRMSG_MAX];

            e->prep[i].ok = false; /* its bytes may change here */
            if (im->borrowed) {
                /* shared with other boards: change a copy of our own */
                uint8_t *own = malloc(im->len ? im->len : 1);

                if (!own)
                    return ed_seterr(msg, msglen, ED_ERR_NOMEM,
                                     "out of memory");
                memcpy(own, im->data, im->len);
                im->data = own;
                im->borrowed = false;
            }
            if (image_set_flash_params(im->data, im->len, e->chip.chip,
                                       j->flash_mode, j->flash_freq,
                                       j->flash_size, e->chip.flash_size,
                                       &changed, err, sizeof err))
                log_msg(&e->log, ED_LOG_WARN, "%s: %s", im->name, err);
            else if (changed)
                log_msg(&e->log, ED_LOG_INFO,
                        "%s: flash parameters set to mode %s, freq %s, "
                        "size %s (SHA-256 updated)", im->name,
                        j->flash_mode, j->flash_freq, j->flash_size);
        }
        if (!im->len) {
            set_phase(e, i, PHASE_SKIPPED, "empty");
            res->skipped++;
            continue;
        }
        image_md5(e, i, want);
        hex16(want, hw);
        pi->total = im->len;
        rc = ED_ERR_ARG;
        if (!j->force) {
            rc = plan_image(e, im, want, pp);
            if (rc == ED_ERR_CANCELLED) {
                mark_rest_not_written(e, i);
                return ed_seterr(msg, msglen, rc, "cancelled: %u of %zu "
                                 "images written", res->written,
                                 j->n_images);
            }
            if (rc == ED_OK && pp->same) {
                pi->done = im->len;
                set_phase(e, i, PHASE_SKIPPED, "unchanged");
                res->skipped++;
                res->proven[i] = true;
                res->proven_at[i] = e->recoveries;
                continue;
            }
            if (rc)
                log_msg(&e->log, ED_LOG_DEBUG, "%s: flash MD5 not read: %s",
                        im->name, loader_errmsg(e->l));
        }
        if (rc && plan_whole(pp, (uint32_t)im->len))
            return ed_seterr(msg, msglen, ED_ERR_NOMEM, "out of memory");
        if (pp->delta)
            log_msg(&e->log, ED_LOG_INFO, "%s: %zu run%s of changed sectors, "
                    "%s of %s", im->name, pp->n_runs,
                    pp->n_runs == 1 ? "" : "s",
                    size_text(pp->run_bytes, a, sizeof a),
                    size_text(im->len, b, sizeof b));
        set_phase(e, i, PHASE_ERASING, NULL);
        t0 = clock_us();
        settled = im->len - pp->run_bytes;
        for (r = 0; r < pp->n_runs && rc != ED_ERR_CANCELLED; r++) {
            const struct delta_run *run = &pp->runs[r];

            rc = write_run(e, i, run->start, run->start + run->len, settled,
                           t0, msg, msglen);
            if (rc)
                break;
            settled += run->len;
        }
        runs_same = false;
        if (rc == ED_OK && pp->delta)
            rc = check_runs(e, i, pp, &runs_same, msg, msglen);
        if (rc == ED_OK) {
            pi->done = im->len;
            pi->elapsed = (double)(clock_us() - t0) / 1e6;
            if (e->hooks.after_write) {
                e->hooks.after_write(e->hooks.ctx, j, i);
                e->prep[i].ok = false; /* a test may change the data */
            }
            memcpy(planned, want, 16);
            image_md5(e, i, want); /* the data as it is now */
            hex16(want, hw);
            if (runs_same && delta_proven(e, i, pp, planned, want))
                log_msg(&e->log, ED_LOG_INFO, "%s: every sector proven by "
                        "MD5 (the scan's and each run's): the region is not "
                        "read again", im->name);
            else /* a delta's mismatch: the whole image, below */
                rc = verify_written(e, i, want, hg, !pp->delta, t0, msg,
                                    msglen);
            if (rc == ED_ERR_VERIFY && pp->delta) {
                log_msg(&e->log, ED_LOG_WARN, "%s reads back different "
                        "after writing the changed sectors: rewriting the "
                        "whole image", im->name);
                set_phase(e, i, PHASE_ERASING, NULL);
                rc = write_run(e, i, 0, (uint32_t)im->len, 0, t0, msg,
                               msglen);
                if (rc == ED_OK)
                    rc = verify_written(e, i, want, hg, true, t0, msg,
                                        msglen);
            }
        }
        if (rc == ED_ERR_CANCELLED) {
            unsigned pct = (unsigned)(pi->done * 100 / im->len);

            if (pi->phase == PHASE_VERIFYING) {
                set_phase(e, i, PHASE_CANCELLED, "cancelled while "
                          "verifying: written but not checked");
                mark_rest_not_written(e, i + 1);
                return ed_seterr(msg, msglen, rc,
                                 "cancelled while verifying %s", im->name);
            }
            set_phase(e, i, PHASE_CANCELLED,
                      "cancelled at %u %%: this partition is incomplete",
                      pct);
            mark_rest_not_written(e, i + 1);
            return ed_seterr(msg, msglen, rc,
                             "cancelled while writing %s at %u %%: %s is "
                             "incomplete, the board will not boot until it "
                             "is flashed again", im->name, pct, im->name);
        }
        if (rc == ED_ERR_VERIFY) {
            set_phase(e, i, PHASE_FAILED,
                      "verify failed: flash MD5 %s \xe2\x89\xa0 image MD5 %s",
                      hg, hw);
            mark_rest_not_written(e, i + 1);
            return ed_seterr(msg, msglen, ED_ERR_VERIFY,
                             "verify failed for %s at 0x%x: flash MD5 %s "
                             "\xe2\x89\xa0 image MD5 %s%s (the flash may be "
                             "worn or write-protected: flash again, then "
                             "try another board)", im->name, im->offset, hg,
                             hw, pp->delta ? " even after rewriting the "
                             "whole image" : "");
        }
        if (rc && pi->phase == PHASE_VERIFYING) {
            char why[ED_ERRMSG_MAX];

            snprintf(why, sizeof why, "%s", loader_errmsg(e->l));
            set_phase(e, i, PHASE_FAILED, "verify failed: %.140s", why);
            mark_rest_not_written(e, i + 1);
            return ed_seterr(msg, msglen, rc, "verifying %s failed: %s",
                             im->name, why);
        }
        if (rc) {
            set_phase(e, i, PHASE_FAILED, "write failed: %.140s", msg);
            mark_rest_not_written(e, i + 1);
            return rc;
        }
        pi->rate = pi->elapsed > 0 ? (double)pi->written / pi->elapsed : 0;
        if (pp->delta)
            set_phase(e, i, PHASE_DONE, "%zu changed run%s, %s written",
                      pp->n_runs, pp->n_runs == 1 ? "" : "s",
                      size_text(pi->written, a, sizeof a));
        else
            set_phase(e, i, PHASE_DONE, NULL);
        res->written++;
        res->proven[i] = true;
        res->proven_at[i] = e->recoveries;
    }
    return recheck_images(e, res, msg, msglen);
}

/* Write every image.  Returns ED_OK or the failure (msg set). */
static int write_images(struct engine *e, struct flash_result *res,
                        char *msg, size_t msglen)
{
    struct image_plan plan;
    int rc;

    memset(&plan, 0, sizeof plan);
    rc = write_images_planned(e, res, msg, msglen, &plan);
    plan_free(&plan);
    return rc;
}

/* --after, unless the monitor resets the board itself. */
static void do_after(struct engine *e)
{
    set_state(e, STATE_RESETTING);
    if (loader_after(e->l, e->job.after))
        log_msg(&e->log, ED_LOG_WARN, "reset after flashing failed: %s",
                loader_errmsg(e->l));
    link_note_loader(e);
}

enum mon_end { MON_STOP, MON_REFLASH, MON_FAIL };

/* Send what was typed for the target (engine_send).  Returns ED_OK or the
 * port's error. */
static int monitor_send(struct engine *e)
{
    uint8_t buf[ENGINE_TXQ];
    size_t n;
    uint32_t baud = e->port->baud ? e->port->baud : 115200;

    pthread_mutex_lock(&e->mu);
    n = e->txq_len;
    memcpy(buf, e->txq, n);
    e->txq_len = 0;
    pthread_mutex_unlock(&e->mu);
    if (!n)
        return ED_OK;
    /* ten bit times a byte, twice over, plus a margin */
    return port_write(e->port, buf, n,
                      500 + (int)((uint64_t)n * 20000 / baud));
}

/* A live baud change (engine_set_monitor_baud). */
static void monitor_baud(struct engine *e)
{
    unsigned b = atomic_exchange(&e->new_baud, 0);

    if (!b)
        return;
    if (port_set_baud(e->port, b))
        log_msg(&e->log, ED_LOG_WARN, "could not set %u baud: %s", b,
                port_errmsg(e->port));
    else
        log_msg(&e->log, ED_LOG_INFO, "monitor baud rate now %u", b);
}

/* A line of ours among the target's output, as idf monitor says things:
 * "--- text ---" on a line of its own (the log pane has it too). */
static void mon_say(struct engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mon_say(struct engine *e, const char *fmt, ...)
{
    struct engine_event ev;
    char text[400];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    log_msg(&e->log, ED_LOG_INFO, "%s", text);
    ev.kind = EV_MONITOR;
    n = snprintf((char *)ev.u.monitor.data, sizeof ev.u.monitor.data,
                 "\r\n--- %s ---\r\n", text);
    ev.u.monitor.len = n < 0 ? 0 : (size_t)n < sizeof ev.u.monitor.data
                                       ? (size_t)n
                                       : sizeof ev.u.monitor.data - 1;
    push(e, &ev);
}

#define ENGINE_RECONNECT_MS 500

/*
 * The monitored serial port went away (unplugged, a USB reset, a
 * USB-Serial/JTAG chip in deep sleep): wait for the same device, found by
 * its USB identity under whatever name it comes back as (or by its name
 * when it is not a USB port), and reopen it at the monitor's baud.  true
 * when monitoring can go on; false when asked to stop while waiting.
 */
static bool monitor_reconnect(struct engine *e, const char *ident)
{
    char node[256], err[ED_ERRMSG_MAX];
    uint32_t baud = e->port->baud ? e->port->baud : 115200;
    char old[256];

    snprintf(old, sizeof old, "%s", e->port->url);
    if (e->port->kind == PORT_SERIAL)
        mon_say(e, "%s went away (unplugged, a USB reset, or the chip "
                "sleeps); waiting for %s to come back", old,
                ident[0] ? ident : "it");
    else
        mon_say(e, "the connection to %s was lost (%s); connecting again "
                "every %.1f s", old, port_errmsg(e->port),
                ENGINE_RECONNECT_MS / 1000.0);
    port_close(e->port);
    e->port = NULL;
    for (;;) {
        int64_t until = clock_ms() + ENGINE_RECONNECT_MS;

        while (clock_ms() < until) {
            if ((atomic_load(&e->cmds) & CMD_BIT_STOP) ||
                atomic_load(&e->cancel))
                return false;
            clock_sleep_ms(20);
        }
        if (ident[0]) {
            if (port_usb_resolve(node, sizeof node, ident, err, sizeof err))
                continue;
        } else {
            snprintf(node, sizeof node, "%s", old);
        }
        if (port_open(&e->port, node, baud, &e->log, err, sizeof err))
            continue;
        if (strcmp(node, old) && ident[0])
            mon_say(e, "reconnected: %s is %s now (it was %s)", ident, node,
                    old);
        else
            mon_say(e, "reconnected to %s", node);
        return true;
    }
}

static enum mon_end monitor_loop(struct engine *e, char *msg, size_t msglen)
{
    uint8_t buf[1024];
    char ident[300] = "";

    /* who the board is, to find it again if its port goes away */
    if (e->port->kind == PORT_SERIAL &&
        port_usb_identity(ident, sizeof ident, e->port->url) != ED_OK)
        ident[0] = '\0';
    set_state(e, STATE_MONITORING);
    for (;;) {
        unsigned cmds = atomic_exchange(&e->cmds, 0);
        struct engine_event ev;
        int n;

        if ((cmds & CMD_BIT_STOP) || atomic_load(&e->cancel))
            return MON_STOP;
        if (cmds & CMD_BIT_REFLASH)
            return MON_REFLASH;
        if (cmds & CMD_BIT_RESET) {
            log_msg(&e->log, ED_LOG_INFO, "resetting the target");
            if (port_reset_hard(e->port))
                log_msg(&e->log, ED_LOG_WARN, "reset failed: %s",
                        port_errmsg(e->port));
        }
        monitor_baud(e);
        n = monitor_send(e);
        if (n == ED_OK)
            n = port_read(e->port, buf, sizeof buf, ENGINE_MON_POLL_MS);
        /* a port that can come back: a local one (by its USB identity),
         * a network one (the same URL: the server restarted) */
        if ((n == ED_ERR_CLOSED || (n == ED_ERR_IO &&
                                    e->port->kind != PORT_SERIAL)) &&
            e->port->kind != PORT_SIM) {
            if (!monitor_reconnect(e, ident))
                return MON_STOP;
            continue;
        }
        if (n < 0) {
            ed_seterr(msg, msglen, n, "the connection to the board was "
                      "lost: %s", port_errmsg(e->port));
            return MON_FAIL;
        }
        if (n == 0)
            continue;
        ev.kind = EV_MONITOR;
        ev.u.monitor.len = (size_t)n;
        memcpy(ev.u.monitor.data, buf, (size_t)n);
        push(e, &ev);
    }
}

/* Into the app at the monitor baud; then stream until stop. */
/* reset: 0 release the lines, 1 hard reset, 2 the chip was just reset
 * (watchdog): keep what it has printed already. */
static enum mon_end start_monitor(struct engine *e, int reset, char *msg,
                                  size_t msglen)
{
    uint32_t mb = e->job.monitor_baud ? e->job.monitor_baud : 115200;

    if (port_set_baud(e->port, mb))
        log_msg(&e->log, ED_LOG_WARN, "could not set %u baud: %s", mb,
                port_errmsg(e->port));
    if (reset == 2)
        return monitor_loop(e, msg, msglen);
    if (reset) {
        /* the loader's leftovers go; the reset's output is all new */
        port_flush_input(e->port);
        if (port_reset_hard(e->port))
            log_msg(&e->log, ED_LOG_WARN, "hard reset failed: %s",
                    port_errmsg(e->port));
    } else {
        /* Monitor only: whatever the board printed since the port opened
         * (a board that powers up when the port opens prints its ROM
         * banner at once) is the first output; keep every byte. */
        port_set_lines(e->port, 0, 0);
    }
    return monitor_loop(e, msg, msglen);
}

/* The helper: every image's stream into the cache, while bring_up()
 * waits for the board.  Reads the images only; joined before any write. */
static void *compress_ahead(void *arg)
{
    struct engine *e = arg;
    size_t i;

    for (i = 0; i < e->job.n_images; i++) {
        const struct engine_image *im = &e->job.images[i];
        const uint8_t *z;
        size_t zl;

        if (atomic_load(&e->cancel))
            break;
        if (im->len && zcache_get(e->zc, im->data, im->len, &z,
                                  &zl) == ED_OK) {
            md5_of(im->data, im->len, e->prep[i].md5);
            e->prep[i].z = z;
            e->prep[i].zl = zl;
            e->prep[i].ok = true;
        }
    }
    return NULL;
}

static void start_compressing(struct engine *e)
{
    if (e->job.no_compress || e->zth_running)
        return;
    memset(e->prep, 0, sizeof e->prep);
    e->zth_running = pthread_create(&e->zth, NULL, compress_ahead, e) == 0;
}

static void join_compressing(struct engine *e)
{
    if (!e->zth_running)
        return;
    pthread_join(e->zth, NULL);
    e->zth_running = false;
}

static void run_flash(struct engine *e)
{
    struct engine_job *j = &e->job;
    char msg[ED_ERRMSG_MAX] = "";
    enum engine_state stage = STATE_IDLE;
    struct flash_result res;
    int64_t t0;
    size_t i;
    unsigned resent;
    int rc;

again:
    memset(&res, 0, sizeof res);
    e->recoveries = 0;
    e->block_max = 0;
    memset(e->parts, 0, sizeof e->parts);
    for (i = 0; i < j->n_images; i++) {
        e->parts[i].index = (int)i;
        e->parts[i].total = j->images[i].len;
        set_phase(e, i, PHASE_WAITING, NULL);
    }
    t0 = clock_us();
    rc = check_job(e, msg, sizeof msg);
    if (rc)
        goto fail;
    start_compressing(e);
    rc = bring_up(e, true, true, &stage, msg, sizeof msg);
    join_compressing(e);
    if (rc) {
        mark_rest_not_written(e, 0);
        goto fail;
    }
    log_msg(&e->log, ED_LOG_INFO, "connected to %s (%s)", e->chip.display,
            e->chip.stub ? "stub" : "ROM loader");
    stage = STATE_FLASHING;
    set_state(e, STATE_FLASHING);
    rc = write_images(e, &res, msg, sizeof msg);
    if (rc)
        goto fail;
    if (e->chip.stub && res.written) {
        rc = loader_flash_finish(e->l, false);
        if (rc)
            log_msg(&e->log, ED_LOG_WARN, "finishing the write: %s",
                    loader_errmsg(e->l));
    }
    {
        double secs = (double)(clock_us() - t0) / 1e6;

        /* the shapes of model_outcome(), the console's exit line */
        if (!res.written)
            snprintf(msg, sizeof msg, "%u image%s unchanged (MD5 matched), "
                     "nothing written", res.skipped,
                     res.skipped == 1 ? "" : "s");
        else if (!res.skipped)
            snprintf(msg, sizeof msg,
                     "%u image%s written and verified in %.1f s",
                     res.written, res.written == 1 ? "" : "s", secs);
        else
            snprintf(msg, sizeof msg,
                     "%u image%s written and verified in %.1f s, %u "
                     "unchanged (MD5 matched)", res.written,
                     res.written == 1 ? "" : "s", secs, res.skipped);
    }
    if (e->recoveries) {
        size_t l = strlen(msg);

        snprintf(msg + l, sizeof msg - l, " (%u recover%s from write "
                 "errors)", e->recoveries, e->recoveries == 1 ? "y" : "ies");
    }
    for (resent = 0, i = 0; i < j->n_images; i++)
        resent += e->parts[i].resent;
    if (resent) {
        size_t l = strlen(msg);

        snprintf(msg + l, sizeof msg - l, " (%u damaged block%s sent "
                 "again)", resent, resent == 1 ? "" : "s");
    }
    log_msg(&e->log, ED_LOG_INFO, "%s", msg);
    if (j->monitor_after && !(atomic_load(&e->cmds) & CMD_BIT_STOP)) {
        char mmsg[ED_ERRMSG_MAX] = "";
        enum mon_end end;

        bool wdt = j->after == AFTER_WATCHDOG_RESET;

        if (wdt) /* the RTC watchdog resets into the app, not the lines */
            do_after(e);
        loader_free(e->l);  /* the port stays open for the monitor */
        e->l = NULL;
        end = start_monitor(e, wdt ? 2 : 1, mmsg, sizeof mmsg);
        if (end == MON_REFLASH) {
            log_msg(&e->log, ED_LOG_INFO, "flashing again");
            goto again;
        }
        if (end == MON_FAIL) {
            finish(e, ED_ERR_CLOSED, STATE_MONITORING, "%s", mmsg);
            return;
        }
    } else {
        do_after(e);
    }
    finish(e, ED_OK, STATE_DONE, "%s", msg);
    return;
fail:
    if (rc == ED_ERR_CANCELLED && stage != STATE_FLASHING) {
        mark_rest_not_written(e, 0);
        if (!msg[0])
            snprintf(msg, sizeof msg, "cancelled: nothing was written");
    }
    /* Leave the board in the loader on failure: the next try is quicker,
     * and a half-written app must not run. */
    finish(e, rc, stage, "%s", msg[0] ? msg : ed_strerror(rc));
}

static void run_monitor(struct engine *e)
{
    char msg[ED_ERRMSG_MAX] = "";
    uint32_t mb = e->job.monitor_baud ? e->job.monitor_baud : 115200;
    enum mon_end end;
    int rc;

    set_state(e, STATE_CONNECTING);
    rc = port_open(&e->port, e->job.port, mb, &e->log, msg, sizeof msg);
    if (rc) {
        finish(e, rc, STATE_CONNECTING, "%s", msg);
        return;
    }
    end = start_monitor(e, 0, msg, sizeof msg);
    if (end == MON_FAIL)
        finish(e, ED_ERR_CLOSED, STATE_MONITORING, "%s", msg);
    else
        finish(e, ED_OK, STATE_DONE, "monitor stopped");
}

static void run_info(struct engine *e)
{
    char msg[ED_ERRMSG_MAX] = "";
    enum engine_state stage;
    int rc;

    rc = bring_up(e, false, true, &stage, msg, sizeof msg);
    if (rc) {
        finish(e, rc, stage, "%s", msg);
        return;
    }
    do_after(e);
    finish(e, ED_OK, STATE_DONE, "%s", e->chip.display);
}

static void run_erase(struct engine *e)
{
    const struct engine_job *j = &e->job;
    char msg[ED_ERRMSG_MAX] = "", a[32];
    enum engine_state stage;
    int64_t t0 = clock_us();
    int rc;

    rc = bring_up(e, true, true, &stage, msg, sizeof msg);
    if (rc) {
        finish(e, rc, stage, "%s", msg);
        return;
    }
    set_state(e, STATE_FLASHING);
    if (j->erase_size == 0) {
        log_msg(&e->log, ED_LOG_INFO,
                "erasing the whole flash (this may take a while)");
        rc = loader_erase_flash(e->l);
    } else {
        if (j->erase_offset % 4096 || j->erase_size % 4096) {
            finish(e, ED_ERR_ARG, STATE_FLASHING,
                   "erase offset and size must be multiples of 4096 "
                   "(0x1000), got 0x%x and 0x%x", j->erase_offset,
                   j->erase_size);
            return;
        }
        if ((uint64_t)j->erase_offset + j->erase_size > e->flash_size) {
            finish(e, ED_ERR_ARG, STATE_FLASHING,
                   "0x%x + 0x%x is beyond the %s flash", j->erase_offset,
                   j->erase_size, size_text(e->flash_size, a, sizeof a));
            return;
        }
        log_msg(&e->log, ED_LOG_INFO, "erasing 0x%x..0x%x", j->erase_offset,
                j->erase_offset + j->erase_size);
        rc = loader_erase_region(e->l, j->erase_offset, j->erase_size);
    }
    if (rc == ED_ERR_CANCELLED) {
        finish(e, rc, STATE_FLASHING, "cancelled while erasing: the flash "
               "is partly erased; run the erase again to finish");
        return;
    }
    if (rc) {
        finish(e, rc, STATE_FLASHING, "erase failed: %s",
               loader_errmsg(e->l));
        return;
    }
    do_after(e);
    if (j->erase_size)
        finish(e, ED_OK, STATE_DONE, "erased %s at 0x%x in %.1f s",
               size_text(j->erase_size, a, sizeof a), j->erase_offset,
               (double)(clock_us() - t0) / 1e6);
    else
        finish(e, ED_OK, STATE_DONE, "erased the whole %s flash in %.1f s",
               size_text(e->flash_size, a, sizeof a),
               (double)(clock_us() - t0) / 1e6);
}

struct read_ctx {
    struct engine *e;
    int64_t t0;
};

static void on_read_progress(void *ctx, size_t done, size_t total,
                             size_t wire_done, size_t wire_total)
{
    struct read_ctx *r = ctx;
    struct engine_part_info *pi = &r->e->parts[0];
    double el = (double)(clock_us() - r->t0) / 1e6;

    pi->phase = PHASE_WRITING;
    pi->done = done;
    pi->total = total;
    pi->wire_bytes = wire_done;
    pi->wire_total = wire_total;
    pi->elapsed = el;
    pi->rate = el > 0 ? (double)done / el : 0;
    emit_part(r->e, 0);
}

static void run_read(struct engine *e)
{
    struct engine_job *j = &e->job;
    char msg[ED_ERRMSG_MAX] = "", a[32];
    enum engine_state stage;
    struct read_ctx rc_ctx;
    int rc;

    memset(&e->parts[0], 0, sizeof e->parts[0]);
    e->parts[0].total = j->read_size;
    if (!j->read_size) {
        finish(e, ED_ERR_ARG, STATE_IDLE, "nothing to read (size 0)");
        return;
    }
    free(j->read_out);
    j->read_out = malloc(j->read_size);
    if (!j->read_out) {
        finish(e, ED_ERR_NOMEM, STATE_IDLE, "out of memory for %u bytes",
               j->read_size);
        return;
    }
    rc = bring_up(e, true, true, &stage, msg, sizeof msg);
    if (rc) {
        finish(e, rc, stage, "%s", msg);
        return;
    }
    if ((uint64_t)j->read_offset + j->read_size > e->flash_size) {
        finish(e, ED_ERR_ARG, STATE_FLASHING,
               "0x%x + 0x%x is beyond the %s flash", j->read_offset,
               j->read_size, size_text(e->flash_size, a, sizeof a));
        return;
    }
    set_state(e, STATE_FLASHING);
    rc_ctx.e = e;
    rc_ctx.t0 = clock_us();
    rc = loader_read_flash(e->l, j->read_offset, j->read_out, j->read_size,
                           on_read_progress, &rc_ctx);
    if (rc) {
        finish(e, rc, STATE_FLASHING, "reading the flash failed: %s",
               rc == ED_ERR_CANCELLED ? "cancelled" : loader_errmsg(e->l));
        return;
    }
    e->parts[0].done = j->read_size;
    set_phase(e, 0, PHASE_DONE, NULL);
    do_after(e);
    finish(e, ED_OK, STATE_DONE, "read %s from 0x%x in %.1f s",
           size_text(j->read_size, a, sizeof a), j->read_offset,
           (double)(clock_us() - rc_ctx.t0) / 1e6);
}

static void *engine_main(void *arg)
{
    struct engine *e = arg;

    switch (e->job.op) {
    case ENGINE_OP_FLASH: run_flash(e); break;
    case ENGINE_OP_MONITOR: run_monitor(e); break;
    case ENGINE_OP_ERASE: run_erase(e); break;
    case ENGINE_OP_READ: run_read(e); break;
    case ENGINE_OP_INFO: run_info(e); break;
    default:
        finish(e, ED_ERR_ARG, STATE_IDLE, "unknown engine operation %d",
               (int)e->job.op);
        break;
    }
    close_session(e);
    atomic_store(&e->finished, true);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* controlling thread API                                              */

int engine_new(struct engine **out, struct engine_job *job, char *err,
               size_t errlen)
{
    struct engine *e;
    size_t i;

    *out = NULL;
    if (!job)
        return ed_seterr(err, errlen, ED_ERR_ARG, "no job");
    if (job->n_images > ENGINE_MAX_IMAGES)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%zu images: at most %d", job->n_images,
                         ENGINE_MAX_IMAGES);
    if (job->op != ENGINE_OP_MONITOR && !job->port[0])
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "no port: give --port or set port: in the profile");
    e = calloc(1, sizeof *e);
    if (!e)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    e->q = calloc(ENGINE_QCAP, sizeof *e->q);
    if (!e->q) {
        free(e);
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    }
    if (pipe2(e->wake, O_NONBLOCK | O_CLOEXEC)) {
        int rc = ed_seterr(err, errlen, ED_ERR_IO, "pipe: %s",
                           strerror(errno));
        free(e->q);
        free(e);
        return rc;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->space, NULL);
    atomic_init(&e->cancel, false);
    atomic_init(&e->stop, false);
    atomic_init(&e->finished, false);
    atomic_init(&e->cmds, 0);
    atomic_init(&e->new_baud, 0);
    /* take the job, leave the caller's empty */
    e->job = *job;
    for (i = 0; i < job->n_images; i++) {
        job->images[i].data = NULL;
        job->images[i].len = 0;
    }
    job->n_images = 0;
    job->read_out = NULL;
    if (e->job.connect_attempts <= 0)
        e->job.connect_attempts = 7;
    e->zc = e->job.zcache;
    if (!e->zc && zcache_new(&e->own_zc) == ED_OK)
        e->zc = e->own_zc;
    if (!e->zc) {
        engine_free(e);
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    }
    e->log.write = log_write;
    e->log.ctx = e;
    e->log.max_level = e->job.log_level;
    e->state = STATE_IDLE;
    *out = e;
    return ED_OK;
}

void engine_set_hooks(struct engine *e, const struct engine_hooks *h)
{
    if (!e->started && h)
        e->hooks = *h;
}

int engine_start(struct engine *e)
{
    int rc;

    if (e->started)
        return ED_ERR_BUSY;
    rc = pthread_create(&e->thread, NULL, engine_main, e);
    if (rc)
        return ED_ERR_NOMEM;
    e->started = true;
    return ED_OK;
}

void engine_command(struct engine *e, enum engine_cmd cmd)
{
    unsigned bit = cmd == ENGINE_CMD_RESET_TARGET ? CMD_BIT_RESET
                   : cmd == ENGINE_CMD_REFLASH   ? CMD_BIT_REFLASH
                                                 : CMD_BIT_STOP;

    atomic_fetch_or(&e->cmds, bit);
}

size_t engine_send(struct engine *e, const void *data, size_t len)
{
    size_t n;

    pthread_mutex_lock(&e->mu);
    n = ENGINE_TXQ - e->txq_len;
    if (n > len)
        n = len;
    memcpy(e->txq + e->txq_len, data, n);
    e->txq_len += n;
    pthread_mutex_unlock(&e->mu);
    return n;
}

void engine_set_monitor_baud(struct engine *e, uint32_t baud)
{
    atomic_store(&e->new_baud, baud);
}

void engine_cancel(struct engine *e)
{
    atomic_store(&e->cancel, true);
}

bool engine_finished(const struct engine *e)
{
    return atomic_load(&((struct engine *)e)->finished);
}

const struct engine_job *engine_job(const struct engine *e)
{
    return &e->job;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    if (e->started) {
        atomic_store(&e->cancel, true);
        atomic_fetch_or(&e->cmds, CMD_BIT_STOP);
        pthread_mutex_lock(&e->mu);
        atomic_store(&e->stop, true);
        pthread_cond_broadcast(&e->space);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
    }
    close_session(e);
    engine_job_clear(&e->job);
    zcache_free(e->own_zc);
    close(e->wake[0]);
    close(e->wake[1]);
    pthread_cond_destroy(&e->space);
    pthread_mutex_destroy(&e->mu);
    free(e->q);
    free(e);
}
