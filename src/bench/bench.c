/*
 * bench.c - the production loop (see bench.h).
 *
 * One controller thread runs every slot: it polls the wake-up pipes of the
 * slots' engines and its own command pipe, feeds what happened into each
 * slot's state machine (slot.c), starts probes and flash jobs, feeds the
 * app's output to the boot check (accept.c) and appends the records
 * (records.c).  Locks:
 *   b->mu       the event queue and the counters (controller <-> caller)
 *   b->rec_mu   the records file (controller; engine threads in admit)
 *   s->mu       a slot's state machine and admit fields (controller; the
 *               slot's engine thread in admit_cb)
 * Commands from the caller are atomic bits plus one byte on the command
 * pipe.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sha2.h>

#include "accept.h"
#include "chip.h"
#include "clock.h"
#include "port.h"
#include "profile.h"
#include "slot.h"
#include "version.h"

#define BENCH_Q_SOFT 4096       /* droppable events beyond this are dropped */

enum {
    CMD_KEY = 1u << 0,
    CMD_REPROGRAM = 1u << 1,
    CMD_CANCEL = 1u << 2,
    CMD_PAUSE = 1u << 3,
    CMD_RESUME = 1u << 4,
};

enum admit_result {
    ADM_NONE,           /* not called (the chip never answered) */
    ADM_GO,
    ADM_PROGRAMMED,
    ADM_WRONG_CHIP,
};

struct bench;

struct bslot {
    struct bench *b;
    int index;
    struct bench_slot_conf conf;
    atomic_uint cmds;

    pthread_mutex_t mu;         /* sm + admit fields */
    struct slot sm;
    enum admit_result adm;
    struct engine_chip_info adm_chip;
    bool adm_reprogram;

    /* controller thread only */
    struct engine *eng;
    bool eng_probe;
    struct accept *acc;
    bool booting;               /* the boot check runs */
    unsigned lines_seen;
    bool cancel_requested;
    enum bench_slot_state shown;
    char shown_text[240];
    struct rec_unit *rec;       /* the unit in progress */
    int64_t t0_us, t_flash_us, t_boot_us;
    enum engine_phase parts[ENGINE_MAX_IMAGES];
    unsigned recoveries[ENGINE_MAX_IMAGES]; /* per image, from EV_PART */
    unsigned resent[ENGINE_MAX_IMAGES];     /* per image, from EV_PART */
    struct engine_chip_info chip;
    bool have_chip;
    unsigned unit_no;
};

struct bench {
    struct bench_conf conf;
    struct zcache *zc;          /* the images compressed once for all slots */
    struct engine_image images[ENGINE_MAX_IMAGES];
    size_t n_images;
    char image_sha[ENGINE_MAX_IMAGES][65];
    char images_sha[65];
    char profile_sha[65];
    char profile_name[128];
    char profile_path[512];
    enum chip_id expect_chip;
    struct accept_rules rules;
    bool accept_on;
    char station[64];

    pthread_mutex_t rec_mu;
    struct records *rec;

    struct bslot slots[BENCH_MAX_SLOTS];
    size_t n_slots;

    /* queue + counters (mu) */
    pthread_mutex_t mu;
    struct bench_event *q;
    size_t head, count, cap;
    unsigned dropped;
    struct rec_tally *tally;
    struct rec_tally *slot_tally[BENCH_MAX_SLOTS];
    int wake[2];

    int ctl[2];                 /* commands to the controller */
    atomic_bool quit;
    atomic_bool stop_req;
    atomic_bool stop_cancel;
    atomic_bool stopped;
    pthread_t thread;
    bool started;

    /* controller thread only */
    unsigned units_started;
    bool stopping;
    bool halted;
};

/* ------------------------------------------------------------------ */
/* names                                                               */

static const char *const slot_state_names[] = {
    [BENCH_SLOT_STOPPED] = "stopped",
    [BENCH_SLOT_WAITING] = "waiting",
    [BENCH_SLOT_NO_PORT] = "no-port",
    [BENCH_SLOT_CONNECTING] = "connecting",
    [BENCH_SLOT_FLASHING] = "flashing",
    [BENCH_SLOT_BOOTCHECK] = "boot-check",
    [BENCH_SLOT_RECORDING] = "recording",
    [BENCH_SLOT_PASS] = "pass",
    [BENCH_SLOT_FAIL] = "fail",
    [BENCH_SLOT_PROGRAMMED] = "programmed",
    [BENCH_SLOT_HALTED] = "halted",
};

const char *bench_slot_state_name(enum bench_slot_state st)
{
    if ((size_t)st < sizeof slot_state_names / sizeof slot_state_names[0] &&
        slot_state_names[st])
        return slot_state_names[st];
    return "?";
}

const char *bench_trigger_name(enum bench_trigger t)
{
    switch (t) {
    case BENCH_TRIGGER_KEY:
        return "key";
    case BENCH_TRIGGER_PROBE:
        return "probe";
    case BENCH_TRIGGER_PORT:
        return "port";
    }
    return "?";
}

int bench_parse_trigger(const char *s, enum bench_trigger *out)
{
    if (!s)
        return ED_ERR_ARG;
    if (!strcasecmp(s, "key"))
        *out = BENCH_TRIGGER_KEY;
    else if (!strcasecmp(s, "probe"))
        *out = BENCH_TRIGGER_PROBE;
    else if (!strcasecmp(s, "port"))
        *out = BENCH_TRIGGER_PORT;
    else
        return ED_ERR_ARG;
    return ED_OK;
}

/* ------------------------------------------------------------------ */
/* configuration                                                       */

void bench_conf_init(struct bench_conf *conf, const struct profile *p)
{
    const struct profile_bench *pb;
    size_t i;

    memset(conf, 0, sizeof *conf);
    conf->profile = p;
    conf->trigger = BENCH_TRIGGER_KEY;
    conf->probe_ms = 500;
    engine_job_init(&conf->job);
    if (!p)
        return;
    pb = profile_bench(p);
    bench_parse_trigger(pb->trigger, &conf->trigger);
    conf->probe_ms = pb->probe_ms;
    snprintf(conf->records_path, sizeof conf->records_path, "%s",
             pb->records);
    snprintf(conf->station, sizeof conf->station, "%s", pb->station);
    for (i = 0; i < pb->n_slots && i < BENCH_MAX_SLOTS; i++) {
        snprintf(conf->slots[i].name, sizeof conf->slots[i].name, "%s",
                 pb->slots[i].name);
        snprintf(conf->slots[i].port, sizeof conf->slots[i].port, "%s",
                 pb->slots[i].port);
    }
    conf->n_slots = i;
    conf->accept_enabled = profile_accept(p)->present;
    /* settings only: the images are read once in bench_new */
    if (profile_baud(p))
        conf->job.baud = profile_baud(p);
    conf->job.monitor_baud = profile_monitor_baud(p);
    {
        struct engine_job tmp;
        char err[ED_ERRMSG_MAX];

        engine_job_init(&tmp);
        if (profile_to_job(p, "-", &tmp, err, sizeof err) == ED_OK) {
            conf->job.before = tmp.before;
            conf->job.after = tmp.after;
            memcpy(conf->job.reset_seq, tmp.reset_seq,
                   sizeof conf->job.reset_seq);
            memcpy(conf->job.flash_mode, tmp.flash_mode,
                   sizeof conf->job.flash_mode);
            memcpy(conf->job.flash_freq, tmp.flash_freq,
                   sizeof conf->job.flash_freq);
            memcpy(conf->job.flash_size, tmp.flash_size,
                   sizeof conf->job.flash_size);
            conf->job.expect_chip = tmp.expect_chip;
        }
        engine_job_clear(&tmp);
    }
}

/* ------------------------------------------------------------------ */
/* event queue                                                         */

static void wake_write(int fd)
{
    const char c = 'b';
    ssize_t r;

    do
        r = write(fd, &c, 1);
    while (r < 0 && errno == EINTR);
}

static void wake_drain(int fd)
{
    char buf[64];
    ssize_t r;

    do
        r = read(fd, buf, sizeof buf);
    while (r > 0 || (r < 0 && errno == EINTR));
}

static bool droppable(const struct bench_event *ev)
{
    if (ev->kind == BENCH_EV_BOOT_LINE)
        return true;
    if (ev->kind != BENCH_EV_ENGINE)
        return false;
    return ev->u.engine.kind == EV_LOG || ev->u.engine.kind == EV_MONITOR ||
           (ev->u.engine.kind == EV_PART &&
            ev->u.engine.u.part.phase == PHASE_WRITING);
}

static struct bench_event *q_at(struct bench *b, size_t i)
{
    return &b->q[(b->head + i) % b->cap];
}

/* Fold progress of the same slot and image into a queued event. */
static bool q_merge(struct bench *b, const struct bench_event *ev)
{
    size_t i;

    if (ev->kind != BENCH_EV_ENGINE || ev->u.engine.kind != EV_PART)
        return false;
    for (i = b->count; i-- > 0;) {
        struct bench_event *q = q_at(b, i);

        if (q->slot != ev->slot || q->kind != BENCH_EV_ENGINE)
            continue;
        if (q->u.engine.kind == EV_FINISHED)
            return false;
        if (q->u.engine.kind != EV_PART ||
            q->u.engine.u.part.index != ev->u.engine.u.part.index)
            continue;
        if (q->u.engine.u.part.phase != ev->u.engine.u.part.phase)
            return false;
        q->u.engine.u.part = ev->u.engine.u.part;
        return true;
    }
    return false;
}

static void push(struct bench *b, const struct bench_event *ev)
{
    pthread_mutex_lock(&b->mu);
    if (q_merge(b, ev))
        goto out;
    if (b->count >= BENCH_Q_SOFT && droppable(ev)) {
        b->dropped++;
        goto out;
    }
    if (b->count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256, i;
        struct bench_event *nq = malloc(ncap * sizeof *nq);

        if (!nq) {
            b->dropped++;
            goto out;
        }
        for (i = 0; i < b->count; i++)
            nq[i] = *q_at(b, i);
        free(b->q);
        b->q = nq;
        b->cap = ncap;
        b->head = 0;
    }
    *q_at(b, b->count) = *ev;
    b->count++;
    wake_write(b->wake[1]);
out:
    pthread_mutex_unlock(&b->mu);
}

bool bench_poll(struct bench *b, struct bench_event *ev)
{
    bool got = false;

    pthread_mutex_lock(&b->mu);
    if (b->count) {
        *ev = b->q[b->head];
        b->head = (b->head + 1) % b->cap;
        b->count--;
        got = true;
    } else {
        wake_drain(b->wake[0]);
    }
    pthread_mutex_unlock(&b->mu);
    return got;
}

int bench_wake_fd(const struct bench *b)
{
    return b->wake[0];
}

static void emit_slot(struct bslot *s, enum bench_slot_state st,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit_slot(struct bslot *s, enum bench_slot_state st,
                      const char *fmt, ...)
{
    struct bench_event ev;
    va_list ap;

    memset(&ev, 0, sizeof ev);
    ev.kind = BENCH_EV_SLOT;
    ev.slot = s->index;
    ev.u.slot.state = st;
    va_start(ap, fmt);
    vsnprintf(ev.u.slot.text, sizeof ev.u.slot.text, fmt, ap);
    va_end(ap);
    if (st == s->shown && !strcmp(ev.u.slot.text, s->shown_text))
        return;
    s->shown = st;
    snprintf(s->shown_text, sizeof s->shown_text, "%s", ev.u.slot.text);
    push(s->b, &ev);
}

static void emit_records(struct bench *b, bool fatal, const char *msg)
{
    struct bench_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = BENCH_EV_RECORDS;
    ev.slot = -1;
    ev.u.records.fatal = fatal;
    snprintf(ev.u.records.message, sizeof ev.u.records.message, "%s", msg);
    push(b, &ev);
}

/* ------------------------------------------------------------------ */
/* new / free                                                          */

static void sha_hex(const uint8_t *data, size_t len, char out[65])
{
    SHA256Data(data, len, out);
}

int bench_new(struct bench **out, const struct bench_conf *conf, char *err,
              size_t errlen)
{
    struct engine_job job;
    struct bench *b;
    char notice[ED_ERRMSG_MAX] = "", path[512];
    SHA2_CTX ctx;
    size_t i;
    int rc;

    *out = NULL;
    if (!conf->profile)
        return ed_seterr(err, errlen, ED_ERR_ARG, "no profile");
    if (conf->n_slots == 0)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "no slots: give --slot PORT (repeated), --slots "
                         "auto, or a bench: section with slots in the "
                         "profile");
    if (conf->n_slots > BENCH_MAX_SLOTS)
        return ed_seterr(err, errlen, ED_ERR_ARG, "at most %d slots",
                         BENCH_MAX_SLOTS);
    b = calloc(1, sizeof *b);
    if (!b)
        return ED_ERR_NOMEM;
    b->conf = *conf;
    b->wake[0] = b->wake[1] = b->ctl[0] = b->ctl[1] = -1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->rec_mu, NULL);
    atomic_init(&b->quit, false);
    atomic_init(&b->stop_req, false);
    atomic_init(&b->stop_cancel, false);
    atomic_init(&b->stopped, false);
    for (i = 0; i < BENCH_MAX_SLOTS; i++) {
        pthread_mutex_init(&b->slots[i].mu, NULL);
        atomic_init(&b->slots[i].cmds, 0);
    }
    if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) ||
        pipe2(b->ctl, O_NONBLOCK | O_CLOEXEC)) {
        rc = ed_seterr(err, errlen, ED_ERR_IO, "pipe: %s", strerror(errno));
        goto fail;
    }

    /* the images: read once (the profile holds them), hashed once,
     * compressed once (b->zc, shared by the slots' engines) */
    rc = zcache_new(&b->zc);
    if (rc) {
        ed_seterr(err, errlen, rc, "out of memory");
        goto fail;
    }
    engine_job_init(&job);
    rc = profile_to_job(conf->profile, "-", &job, err, errlen);
    if (rc) {
        engine_job_clear(&job);
        goto fail;
    }
    b->n_images = job.n_images;
    SHA256Init(&ctx);
    for (i = 0; i < job.n_images; i++) {
        char line[96];

        b->images[i] = job.images[i];
        job.images[i].data = NULL;
        sha_hex(b->images[i].data, b->images[i].len, b->image_sha[i]);
        snprintf(line, sizeof line, "0x%x %s\n", b->images[i].offset,
                 b->image_sha[i]);
        SHA256Update(&ctx, (const uint8_t *)line, strlen(line));
    }
    SHA256End(&ctx, b->images_sha);
    b->expect_chip = job.expect_chip;
    job.n_images = 0;
    engine_job_clear(&job);
    snprintf(b->profile_sha, sizeof b->profile_sha, "%s",
             profile_sha256(conf->profile));
    snprintf(b->profile_name, sizeof b->profile_name, "%s",
             profile_name(conf->profile));
    if (!realpath(profile_path(conf->profile), b->profile_path))
        snprintf(b->profile_path, sizeof b->profile_path, "%s",
                 profile_path(conf->profile));

    /* the boot check */
    b->accept_on = conf->accept_enabled;
    if (b->accept_on) {
        accept_rules_from_profile(&b->rules, profile_accept(conf->profile));
    }

    /* station */
    if (conf->station[0])
        snprintf(b->station, sizeof b->station, "%s", conf->station);
    else if (gethostname(b->station, sizeof b->station))
        snprintf(b->station, sizeof b->station, "unknown");
    b->station[sizeof b->station - 1] = '\0';

    /* the records file: no unit is programmed without one */
    if (conf->records_path[0])
        snprintf(path, sizeof path, "%s", conf->records_path);
    else if (records_default_path(path, sizeof path, b->profile_name)) {
        rc = ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                       "no place for the records: set XDG_DATA_HOME or "
                       "HOME, or give --records FILE");
        goto fail;
    }
    rc = records_open(&b->rec, path, notice, sizeof notice, err, errlen);
    if (rc)
        goto fail;
    if (rec_tally_new(&b->tally)) {
        rc = ED_ERR_NOMEM;
        goto fail;
    }

    b->n_slots = conf->n_slots;
    for (i = 0; i < b->n_slots; i++) {
        struct bslot *s = &b->slots[i];

        s->b = b;
        s->index = (int)i;
        s->conf = conf->slots[i];
        if (!s->conf.name[0])
            snprintf(s->conf.name, sizeof s->conf.name, "%zu", i + 1);
        s->shown = (enum bench_slot_state)-1;
        if (rec_tally_new(&b->slot_tally[i])) {
            rc = ED_ERR_NOMEM;
            goto fail;
        }
        if (b->accept_on &&
            (rc = accept_new(&s->acc, &b->rules, err, errlen)))
            goto fail;
    }
    if (notice[0])
        emit_records(b, false, notice);
    *out = b;
    return ED_OK;
fail:
    bench_free(b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the unit                                                            */

/*
 * Is the slot's port there?  thorough: for a network port, try to open it
 * (port_present() cannot know): after a failure, to tell a vanished port
 * from a failed write, and while the slot waits for its port to return.
 */
static bool present(struct bslot *s, bool thorough)
{
    const struct bench_hooks *h = &s->b->conf.hooks;
    struct port *p = NULL;
    char err[ED_ERRMSG_MAX];

    if (h->port_present)
        return h->port_present(h->ctx, s->index, s->conf.port);
    if (!thorough || !strstr(s->conf.port, "://"))
        return port_present(s->conf.port);
    if (port_open(&p, s->conf.port, 115200, NULL, err, sizeof err))
        return false;
    port_close(p);
    return true;
}

static void mac_unit(const uint8_t mac[6], char out[16])
{
    snprintf(out, 16, "%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
}

/* Engine thread: the chip answered.  Go on, or stop the job here. */
static int admit_cb(void *ctx, const struct engine_chip_info *chip,
                    char *why, size_t whylen)
{
    struct bslot *s = ctx;
    struct bench *b = s->b;
    char unit[16];
    bool has_pass, go;
    const struct chip_desc *want = chip_get(b->expect_chip),
                           *got = chip_get(chip->chip);

    pthread_mutex_lock(&s->mu);
    s->adm_chip = *chip;
    pthread_mutex_unlock(&s->mu);
    if (b->expect_chip != CHIP_UNKNOWN && chip->chip != b->expect_chip) {
        pthread_mutex_lock(&s->mu);
        s->adm = ADM_WRONG_CHIP;
        pthread_mutex_unlock(&s->mu);
        return ed_seterr(why, whylen, ED_ERR_NOT_FOUND,
                         "the profile is for %s but the board in slot %s is "
                         "an %s: put the right board in, or use the "
                         "profile for that chip",
                         want ? want->display : "another chip", s->conf.name,
                         got ? got->display : "unknown chip");
    }
    mac_unit(chip->mac, unit);
    pthread_mutex_lock(&b->rec_mu);
    has_pass = records_has_pass(b->rec, unit, b->profile_sha, b->images_sha);
    pthread_mutex_unlock(&b->rec_mu);
    pthread_mutex_lock(&s->mu);
    go = slot_admit(&s->sm, chip->mac, has_pass, b->conf.reprogram);
    s->adm = go ? ADM_GO : ADM_PROGRAMMED;
    pthread_mutex_unlock(&s->mu);
    if (go)
        return ED_OK;
    return ed_seterr(why, whylen, ED_ERR_CANCELLED,
                     "already programmed: %s has a PASS record for this "
                     "profile; not flashed again (reprogram to flash it "
                     "anyway)", unit);
}

static void iso_now_ms(int64_t *ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    *ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_begin(struct bslot *s)
{
    struct bench *b = s->b;
    struct rec_unit *u = s->rec;
    uint8_t rnd[16];
    size_t i;

    memset(u, 0, sizeof *u);
    u->schema = REC_SCHEMA;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        int64_t t = clock_us();

        memset(rnd, 0, sizeof rnd);
        memcpy(rnd, &t, sizeof t);
        rnd[15] = (uint8_t)s->index;
    }
    for (i = 0; i < 16; i++)
        snprintf(u->id + 2 * i, 3, "%02x", rnd[i]);
    iso_now_ms(&u->start_ms);
    snprintf(u->station, sizeof u->station, "%s", b->station);
    snprintf(u->operator_name, sizeof u->operator_name, "%s",
             b->conf.operator_name);
    snprintf(u->slot, sizeof u->slot, "%s", s->conf.name);
    snprintf(u->port, sizeof u->port, "%s", s->conf.port);
    if (!strncmp(s->conf.port, "usb-", 4)) {
        char e[ED_ERRMSG_MAX];

        snprintf(u->usb, sizeof u->usb, "%s", s->conf.port);
        if (port_usb_resolve(u->device, sizeof u->device, s->conf.port, e,
                             sizeof e))
            u->device[0] = '\0';
    } else if (!strstr(s->conf.port, "://") &&
               strncmp(s->conf.port, "sim:", 4)) {
        snprintf(u->device, sizeof u->device, "%s", s->conf.port);
        if (port_usb_identity(u->usb, sizeof u->usb, s->conf.port))
            u->usb[0] = '\0';
    }
    snprintf(u->profile_name, sizeof u->profile_name, "%s", b->profile_name);
    snprintf(u->profile_path, sizeof u->profile_path, "%s", b->profile_path);
    snprintf(u->profile_sha256, sizeof u->profile_sha256, "%s",
             b->profile_sha);
    snprintf(u->images_sha256, sizeof u->images_sha256, "%s", b->images_sha);
    u->n_images = b->n_images;
    for (i = 0; i < b->n_images; i++) {
        struct rec_image *im = &u->images[i];

        snprintf(im->name, sizeof im->name, "%s", b->images[i].name);
        im->offset = b->images[i].offset;
        im->size = (uint32_t)b->images[i].len;
        snprintf(im->sha256, sizeof im->sha256, "%s", b->image_sha[i]);
        im->action = REC_NOT_WRITTEN;
        s->parts[i] = PHASE_WAITING;
        s->recoveries[i] = 0;
        s->resent[i] = 0;
    }
    u->revision = -1;
    snprintf(u->version, sizeof u->version, "%s", ESPDECK_VERSION);
    s->have_chip = false;
    s->booting = false;
    s->cancel_requested = false;
    s->t0_us = clock_us();
    s->t_flash_us = s->t_boot_us = 0;
}

static int start_engine(struct bslot *s, bool probe)
{
    struct bench *b = s->b;
    struct engine_job job = b->conf.job;
    char err[ED_ERRMSG_MAX];
    size_t i;
    int rc;

    /* the template's settings; no images of its own */
    job.n_images = 0;
    job.read_out = NULL;
    snprintf(job.port, sizeof job.port, "%s", s->conf.port);
    job.admit = NULL;
    job.admit_ctx = NULL;
    if (probe) {
        job.op = ENGINE_OP_INFO;
        job.connect_attempts = 1;
        job.after = AFTER_HARD_RESET;
        job.expect_chip = CHIP_UNKNOWN;
    } else {
        job.op = ENGINE_OP_FLASH;
        job.expect_chip = CHIP_UNKNOWN; /* admit_cb checks it */
        job.monitor_after = b->accept_on;
        job.admit = admit_cb;
        job.admit_ctx = s;
        job.zcache = b->zc;
        /* the bytes are shared by every slot's engine (read-only; an
         * engine that patches a header copies it first): one copy of the
         * images per bench, not per slot (b->images outlive the engines) */
        for (i = 0; i < b->n_images; i++) {
            job.images[i] = b->images[i];
            job.images[i].borrowed = true;
        }
        job.n_images = b->n_images;
    }
    pthread_mutex_lock(&s->mu);
    s->adm = ADM_NONE;
    pthread_mutex_unlock(&s->mu);
    rc = engine_new(&s->eng, &job, err, sizeof err);
    engine_job_clear(&job);
    if (rc == ED_OK && (rc = engine_start(s->eng)) != ED_OK) {
        engine_free(s->eng);
        s->eng = NULL;
    }
    s->eng_probe = probe;
    return rc;
}

static enum rec_class classify(struct bslot *s, int status,
                               enum engine_state stage, enum admit_result adm,
                               bool port_gone)
{
    if (s->cancel_requested || status == ED_ERR_CANCELLED)
        return REC_CLASS_CANCELLED;
    if (adm == ADM_WRONG_CHIP)
        return REC_CLASS_WRONG_CHIP;
    if (port_gone)
        return adm == ADM_NONE && stage == STATE_CONNECTING
                   ? REC_CLASS_NO_PORT
                   : REC_CLASS_PORT_LOST;
    switch (stage) {
    case STATE_IDLE:
    case STATE_CONNECTING:
        if (adm != ADM_NONE)
            return REC_CLASS_FLASH; /* answered; the flash chip did not */
        if (status == ED_ERR_NOT_FOUND || status == ED_ERR_PERM ||
            status == ED_ERR_BUSY || status == ED_ERR_ARG)
            return REC_CLASS_NO_PORT;
        return REC_CLASS_NO_SYNC;
    case STATE_STUB:
        return REC_CLASS_STUB;
    case STATE_BAUD:
        return REC_CLASS_BAUD;
    case STATE_FLASHING:
    case STATE_RESETTING:
        return status == ED_ERR_VERIFY ? REC_CLASS_VERIFY : REC_CLASS_WRITE;
    case STATE_MONITORING:
        return REC_CLASS_BOOT_CHECK;
    default:
        return REC_CLASS_INTERNAL;
    }
}

static void count_record(struct bench *b, struct bslot *s,
                         const struct rec_unit *u)
{
    pthread_mutex_lock(&b->mu);
    rec_tally_add(b->tally, u);
    rec_tally_add(b->slot_tally[s->index], u);
    pthread_mutex_unlock(&b->mu);
}

static void hold_all(struct bench *b, bool hold)
{
    size_t i;

    for (i = 0; i < b->n_slots; i++) {
        pthread_mutex_lock(&b->slots[i].mu);
        slot_hold(&b->slots[i].sm, hold);
        pthread_mutex_unlock(&b->slots[i].mu);
    }
}

static void pause_all(struct bench *b, bool paused)
{
    size_t i;
    int64_t now = clock_ms();

    for (i = 0; i < b->n_slots; i++) {
        pthread_mutex_lock(&b->slots[i].mu);
        slot_pause(&b->slots[i].sm, paused, now);
        pthread_mutex_unlock(&b->slots[i].mu);
    }
}

static enum rec_action action_of(enum engine_phase ph)
{
    switch (ph) {
    case PHASE_DONE:
        return REC_WRITTEN;
    case PHASE_SKIPPED:
        return REC_UNCHANGED;
    case PHASE_WAITING:
        return REC_NOT_WRITTEN;
    default:
        return REC_FAILED;
    }
}

/* The flash job ended: verdict, record, next state. */
static void unit_finished(struct bslot *s, const struct engine_event *fin)
{
    struct bench *b = s->b;
    struct rec_unit *u = s->rec;
    struct bench_event ev;
    enum admit_result adm;
    struct engine_chip_info chip;
    int status = fin->u.finished.status;
    enum engine_state stage = fin->u.finished.stage;
    bool port_gone = false, pass, ok;
    int64_t now_us = clock_us();
    char err[ED_ERRMSG_MAX];
    size_t i;

    pthread_mutex_lock(&s->mu);
    adm = s->adm;
    chip = s->adm_chip;
    pthread_mutex_unlock(&s->mu);

    if (adm == ADM_PROGRAMMED && !s->cancel_requested) {
        char unit[16];

        mac_unit(chip.mac, unit);
        pthread_mutex_lock(&s->mu);
        slot_finished(&s->sm, clock_ms(), SLOT_OUT_PROGRAMMED, false);
        pthread_mutex_unlock(&s->mu);
        if (b->units_started)
            b->units_started--;
        if (b->conf.max_units && b->units_started < b->conf.max_units)
            hold_all(b, false);
        memset(&ev, 0, sizeof ev);
        ev.kind = BENCH_EV_UNIT;
        ev.slot = s->index;
        memcpy(ev.u.unit.mac, chip.mac, 6);
        ev.u.unit.have_mac = true;
        push(b, &ev);
        emit_slot(s, BENCH_SLOT_PROGRAMMED,
                  "already programmed: %02x:%02x:%02x:%02x:%02x:%02x has a "
                  "PASS record; not flashed again", chip.mac[0], chip.mac[1],
                  chip.mac[2], chip.mac[3], chip.mac[4], chip.mac[5]);
        return;
    }

    /* chip facts: from EV_CHIP, else what admit saw */
    if (!s->have_chip && adm != ADM_NONE) {
        s->chip = chip;
        s->have_chip = true;
    }
    if (s->have_chip) {
        const struct chip_desc *d = chip_get(s->chip.chip);

        snprintf(u->chip, sizeof u->chip, "%s", d ? d->name : "");
        snprintf(u->chip_display, sizeof u->chip_display, "%s",
                 s->chip.display);
        u->revision = s->chip.revision;
        memcpy(u->mac, s->chip.mac, 6);
        u->have_mac = true;
        mac_unit(s->chip.mac, u->unit);
        u->flash_id = s->chip.flash_id;
        u->flash_size = s->chip.flash_size;
        u->crystal_mhz = s->chip.crystal_mhz;
        u->baud = s->chip.baud;
        u->stub = s->chip.stub;
    }
    u->recoveries = 0;
    u->resent = 0;
    for (i = 0; i < u->n_images; i++) {
        u->images[i].action = action_of(s->parts[i]);
        u->images[i].recoveries = s->recoveries[i];
        u->recoveries += s->recoveries[i];
        u->images[i].resent = s->resent[i];
        u->resent += s->resent[i];
    }

    /* the verdict */
    snprintf(u->boot, sizeof u->boot, "skipped");
    if (status == ED_OK && !s->cancel_requested) {
        pass = true;
        snprintf(u->message, sizeof u->message, "%s",
                 fin->u.finished.message);
        if (b->accept_on) {
            enum accept_verdict v = accept_verdict(s->acc);

            if (v == ACCEPT_PENDING) /* the monitor ended early */
                v = accept_tick(s->acc, INT64_MAX);
            pass = v == ACCEPT_PASS;
            snprintf(u->boot, sizeof u->boot, "%s",
                     pass ? "pass" : accept_timed_out(s->acc) ? "timeout"
                                                              : "fail");
            snprintf(u->boot_line, sizeof u->boot_line, "%s",
                     accept_line(s->acc));
            if (!pass) {
                u->cls = REC_CLASS_BOOT_CHECK;
                snprintf(u->message, sizeof u->message, "%s",
                         accept_message(s->acc));
            }
        }
    } else {
        pass = false;
        if (status != ED_OK && status != ED_ERR_CANCELLED &&
            !s->cancel_requested)
            port_gone = !present(s, true);
        u->cls = classify(s, status, stage, adm, port_gone);
        if (u->cls == REC_CLASS_CANCELLED && status == ED_OK)
            snprintf(u->message, sizeof u->message, "cancelled during the "
                     "boot check (all images were written and verified)");
        else if (u->cls == REC_CLASS_PORT_LOST)
            snprintf(u->message, sizeof u->message, "the port %.100s vanished "
                     "during the unit (%.200s): the unit is not programmed; "
                     "check the cable or hub, the slot waits for the port",
                     s->conf.port, fin->u.finished.message);
        else
            snprintf(u->message, sizeof u->message, "%s",
                     fin->u.finished.message);
        if (s->booting) {
            snprintf(u->boot, sizeof u->boot, "fail");
            snprintf(u->boot_line, sizeof u->boot_line, "%s",
                     accept_last_line(s->acc));
        }
    }
    u->pass = pass;
    if (pass)
        u->cls = REC_CLASS_NONE;
    pthread_mutex_lock(&s->mu);
    u->retries = s->sm.attempt > 1 ? s->sm.attempt - 1 : 0;
    slot_finished(&s->sm, clock_ms(), pass ? SLOT_OUT_PASS : SLOT_OUT_FAIL,
                  port_gone);
    pthread_mutex_unlock(&s->mu);
    iso_now_ms(&u->end_ms);
    {
        int64_t flash_us = s->t_flash_us ? s->t_flash_us : now_us;
        int64_t boot_us = s->t_boot_us ? s->t_boot_us : now_us;

        u->t_total = (double)(now_us - s->t0_us) / 1e6;
        u->t_connect = (double)(flash_us - s->t0_us) / 1e6;
        u->t_flash = s->t_flash_us ? (double)(boot_us - s->t_flash_us) / 1e6
                                   : 0;
        u->t_boot = s->t_boot_us ? (double)(now_us - s->t_boot_us) / 1e6 : 0;
    }

    /* the record, on disk before the verdict shows */
    emit_slot(s, BENCH_SLOT_RECORDING, "writing the record");
    pthread_mutex_lock(&b->rec_mu);
    ok = records_append(b->rec, u, err, sizeof err) == ED_OK;
    pthread_mutex_unlock(&b->rec_mu);
    pthread_mutex_lock(&s->mu);
    slot_recorded(&s->sm, clock_ms(), ok);
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        b->halted = true;
        pause_all(b, true);
        emit_records(b, true, err);
        emit_slot(s, BENCH_SLOT_HALTED, "%s", err);
        return;
    }
    count_record(b, s, u);

    memset(&ev, 0, sizeof ev);
    ev.kind = BENCH_EV_VERDICT;
    ev.slot = s->index;
    ev.u.verdict.pass = pass;
    ev.u.verdict.cls = u->cls;
    snprintf(ev.u.verdict.line, sizeof ev.u.verdict.line, "%s",
             u->boot_line);
    snprintf(ev.u.verdict.message, sizeof ev.u.verdict.message, "%s",
             u->message);
    push(b, &ev);
    if (pass)
        emit_slot(s, BENCH_SLOT_PASS, "PASS: %s", u->message);
    else
        emit_slot(s, BENCH_SLOT_FAIL, "FAIL (%s): %s", rec_class_name(u->cls),
                  u->message);
}

static void probe_finished(struct bslot *s, int status)
{
    int64_t now = clock_ms();

    pthread_mutex_lock(&s->mu);
    slot_probe(&s->sm, now, status == ED_OK && s->have_chip,
               s->have_chip ? s->chip.mac : NULL);
    pthread_mutex_unlock(&s->mu);
}

static void on_engine_event(struct bslot *s, const struct engine_event *e)
{
    struct bench *b = s->b;
    struct bench_event ev;

    if (s->eng_probe) {
        if (e->kind == EV_CHIP) {
            s->chip = e->u.chip;
            s->have_chip = true;
        } else if (e->kind == EV_FINISHED) {
            probe_finished(s, e->u.finished.status);
        }
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = BENCH_EV_ENGINE;
    ev.slot = s->index;
    ev.u.engine = *e;
    push(b, &ev);
    switch (e->kind) {
    case EV_STATE:
        switch (e->u.state.state) {
        case STATE_CONNECTING:
        case STATE_STUB:
        case STATE_BAUD:
            emit_slot(s, BENCH_SLOT_CONNECTING, "unit %u: %s", s->unit_no,
                      engine_state_name(e->u.state.state));
            break;
        case STATE_FLASHING:
            if (!s->t_flash_us)
                s->t_flash_us = clock_us();
            emit_slot(s, BENCH_SLOT_FLASHING, "unit %u: flashing",
                      s->unit_no);
            break;
        case STATE_MONITORING:
            s->t_boot_us = clock_us();
            if (s->acc) {
                accept_begin(s->acc, clock_ms());
                s->booting = true;
                s->lines_seen = 0;
                emit_slot(s, BENCH_SLOT_BOOTCHECK, "unit %u: boot check",
                          s->unit_no);
            }
            break;
        default:
            break;
        }
        break;
    case EV_CHIP: {
        unsigned attempt;
        /* the engine says the chip again when only its baud changed
         * (--baud auto stepping down): the same unit, announced once */
        bool known = s->have_chip &&
                     !memcmp(s->chip.mac, e->u.chip.mac, 6);

        s->chip = e->u.chip;
        s->have_chip = true;
        if (known)
            break;
        pthread_mutex_lock(&s->mu);
        attempt = s->sm.attempt;
        pthread_mutex_unlock(&s->mu);
        memset(&ev, 0, sizeof ev);
        ev.kind = BENCH_EV_UNIT;
        ev.slot = s->index;
        memcpy(ev.u.unit.mac, e->u.chip.mac, 6);
        ev.u.unit.have_mac = true;
        ev.u.unit.attempt = attempt;
        push(b, &ev);
        break;
    }
    case EV_PART:
        if (e->u.part.index >= 0 && e->u.part.index < ENGINE_MAX_IMAGES) {
            s->parts[e->u.part.index] = e->u.part.phase;
            s->recoveries[e->u.part.index] = e->u.part.recoveries;
            s->resent[e->u.part.index] = e->u.part.resent;
        }
        break;
    case EV_MONITOR:
        if (s->booting && accept_verdict(s->acc) == ACCEPT_PENDING) {
            enum accept_verdict v =
                accept_feed(s->acc, e->u.monitor.data, e->u.monitor.len,
                            clock_ms());

            if (accept_lines(s->acc) != s->lines_seen) {
                s->lines_seen = accept_lines(s->acc);
                memset(&ev, 0, sizeof ev);
                ev.kind = BENCH_EV_BOOT_LINE;
                ev.slot = s->index;
                snprintf(ev.u.line.text, sizeof ev.u.line.text, "%s",
                         accept_last_line(s->acc));
                push(b, &ev);
            }
            if (v != ACCEPT_PENDING)
                engine_command(s->eng, ENGINE_CMD_STOP);
        }
        break;
    case EV_FINISHED:
        unit_finished(s, e);
        break;
    default:
        break;
    }
}

/* Drain one slot's engine; free it once it finished. */
static void drain_engine(struct bslot *s)
{
    struct engine_event e;
    bool finished = false;

    if (!s->eng)
        return;
    while (engine_poll(s->eng, &e)) {
        if (e.kind == EV_FINISHED)
            finished = true;
        on_engine_event(s, &e);
    }
    if (!finished && engine_finished(s->eng)) {
        while (engine_poll(s->eng, &e)) {
            if (e.kind == EV_FINISHED)
                finished = true;
            on_engine_event(s, &e);
        }
    }
    if (finished) {
        engine_free(s->eng);
        s->eng = NULL;
    }
}

static void show_idle(struct bslot *s)
{
    struct bench *b = s->b;
    enum slot_phase ph;

    pthread_mutex_lock(&s->mu);
    ph = s->sm.phase;
    pthread_mutex_unlock(&s->mu);
    switch (ph) {
    case SLOT_STOPPED:
        emit_slot(s, BENCH_SLOT_STOPPED, "stopped");
        break;
    case SLOT_NO_PORT:
        emit_slot(s, BENCH_SLOT_NO_PORT, "no port: %s is not there (plug "
                  "the adapter or hub in)", s->conf.port);
        break;
    case SLOT_WAIT:
        if (b->conf.trigger == BENCH_TRIGGER_KEY)
            emit_slot(s, BENCH_SLOT_WAITING, "waiting for a board: put one "
                      "in and press the slot's key");
        else if (b->conf.trigger == BENCH_TRIGGER_PROBE)
            emit_slot(s, BENCH_SLOT_WAITING, "waiting for a board "
                      "(probing every %.1f s)", b->conf.probe_ms / 1000.0);
        else
            emit_slot(s, BENCH_SLOT_WAITING, "waiting for a board (its port "
                      "to appear)");
        break;
    case SLOT_HALTED:
        emit_slot(s, BENCH_SLOT_HALTED, "halted: the records file cannot "
                  "be written");
        break;
    default:
        break;
    }
}

/* Run the slot's state machine until it has nothing to do; returns the
 * milliseconds until it wants to run again (-1: on input only). */
static int run_slot(struct bslot *s)
{
    struct bench *b = s->b;
    int wait = -1;

    for (;;) {
        int64_t now = clock_ms();
        enum slot_act act;
        bool p;
        int rc;

        pthread_mutex_lock(&s->mu);
        act = slot_tick(&s->sm, now, &wait);
        pthread_mutex_unlock(&s->mu);
        switch (act) {
        case SLOT_ACT_NONE:
            show_idle(s);
            if (s->booting && s->acc &&
                accept_verdict(s->acc) == ACCEPT_PENDING && s->eng) {
                int left = accept_remaining_ms(s->acc, now);

                if (left == 0 && accept_tick(s->acc, now) != ACCEPT_PENDING)
                    engine_command(s->eng, ENGINE_CMD_STOP);
                else if (left > 0 && (wait < 0 || left < wait))
                    wait = left;
            }
            return wait;
        case SLOT_ACT_CHECK_PORT:
            pthread_mutex_lock(&s->mu);
            p = s->sm.phase == SLOT_NO_PORT;
            pthread_mutex_unlock(&s->mu);
            p = present(s, p);
            pthread_mutex_lock(&s->mu);
            slot_port(&s->sm, now, p);
            pthread_mutex_unlock(&s->mu);
            break;
        case SLOT_ACT_PROBE:
            s->have_chip = false;
            rc = start_engine(s, true);
            if (rc) {
                pthread_mutex_lock(&s->mu);
                slot_probe(&s->sm, now, false, NULL);
                pthread_mutex_unlock(&s->mu);
            }
            break;
        case SLOT_ACT_FLASH:
            s->unit_no = ++b->units_started;
            if (b->conf.max_units && b->units_started >= b->conf.max_units)
                hold_all(b, true);
            rec_begin(s);
            emit_slot(s, BENCH_SLOT_CONNECTING, "unit %u: connecting",
                      s->unit_no);
            rc = start_engine(s, false);
            if (rc) {
                struct engine_event fin;

                memset(&fin, 0, sizeof fin);
                fin.kind = EV_FINISHED;
                fin.u.finished.status = rc;
                fin.u.finished.stage = STATE_IDLE;
                snprintf(fin.u.finished.message,
                         sizeof fin.u.finished.message,
                         "could not start the engine: %s", ed_strerror(rc));
                unit_finished(s, &fin);
            }
            break;
        }
    }
}

static void do_commands(struct bench *b)
{
    size_t i;

    wake_drain(b->ctl[0]);
    if (atomic_load(&b->stop_req) && !b->stopping) {
        b->stopping = true;
        pause_all(b, true);
    }
    for (i = 0; i < b->n_slots; i++) {
        struct bslot *s = &b->slots[i];
        unsigned c = atomic_exchange(&s->cmds, 0);
        int64_t now = clock_ms();

        if (b->stopping && atomic_load(&b->stop_cancel) && s->eng &&
            !s->eng_probe && !s->cancel_requested)
            c |= CMD_CANCEL;
        if (!c)
            continue;
        pthread_mutex_lock(&s->mu);
        if ((c & CMD_PAUSE) && !b->stopping)
            slot_pause(&s->sm, true, now);
        if ((c & CMD_RESUME) && !b->stopping && !b->halted)
            slot_pause(&s->sm, false, now);
        if (c & CMD_KEY)
            slot_key(&s->sm);
        if (c & CMD_REPROGRAM)
            slot_reprogram(&s->sm);
        pthread_mutex_unlock(&s->mu);
        if ((c & CMD_CANCEL) && s->eng) {
            if (!s->eng_probe)
                s->cancel_requested = true;
            engine_cancel(s->eng);
        }
    }
}

static bool all_idle(struct bench *b)
{
    size_t i;

    for (i = 0; i < b->n_slots; i++) {
        bool idle;

        pthread_mutex_lock(&b->slots[i].mu);
        idle = slot_idle(&b->slots[i].sm);
        pthread_mutex_unlock(&b->slots[i].mu);
        if (!idle || b->slots[i].eng)
            return false;
    }
    return true;
}

static void *bench_main(void *arg)
{
    struct bench *b = arg;
    struct pollfd pf[BENCH_MAX_SLOTS + 1];
    size_t i;

    while (!atomic_load(&b->quit)) {
        int timeout = 1000, n = 0;

        do_commands(b);
        for (i = 0; i < b->n_slots; i++) {
            int w;

            drain_engine(&b->slots[i]);
            w = run_slot(&b->slots[i]);
            if (w >= 0 && w < timeout)
                timeout = w;
        }
        if (!atomic_load(&b->stopped) && all_idle(b) &&
            (b->stopping || b->halted ||
             (b->conf.max_units && b->units_started >= b->conf.max_units))) {
            struct bench_event ev;

            for (i = 0; i < b->n_slots; i++)
                show_idle(&b->slots[i]);
            memset(&ev, 0, sizeof ev);
            ev.kind = BENCH_EV_STOPPED;
            ev.slot = -1;
            atomic_store(&b->stopped, true);
            push(b, &ev);
        }
        pf[n].fd = b->ctl[0];
        pf[n++].events = POLLIN;
        for (i = 0; i < b->n_slots; i++)
            if (b->slots[i].eng) {
                pf[n].fd = engine_wake_fd(b->slots[i].eng);
                pf[n++].events = POLLIN;
            }
        poll(pf, (nfds_t)n, timeout);
    }
    return NULL;
}

int bench_start(struct bench *b)
{
    int64_t now = clock_ms();
    size_t i;

    if (b->started)
        return ED_ERR_BUSY;
    for (i = 0; i < b->n_slots; i++) {
        b->slots[i].rec = calloc(1, sizeof *b->slots[i].rec);
        if (!b->slots[i].rec)
            return ED_ERR_NOMEM;
        slot_init(&b->slots[i].sm, b->conf.trigger, b->conf.probe_ms, now);
    }
    if (pthread_create(&b->thread, NULL, bench_main, b))
        return ED_ERR_IO;
    b->started = true;
    return ED_OK;
}

/* ------------------------------------------------------------------ */
/* commands                                                            */

static void command(struct bench *b, int slot, unsigned bit)
{
    size_t i;

    for (i = 0; i < b->n_slots; i++)
        if (slot < 0 || (size_t)slot == i)
            atomic_fetch_or(&b->slots[i].cmds, bit);
    wake_write(b->ctl[1]);
}

void bench_trigger(struct bench *b, int slot)
{
    command(b, slot, CMD_KEY);
}

void bench_reprogram(struct bench *b, int slot)
{
    command(b, slot, CMD_REPROGRAM);
}

void bench_cancel(struct bench *b, int slot)
{
    command(b, slot, CMD_CANCEL);
}

void bench_pause(struct bench *b, int slot, bool paused)
{
    command(b, slot, paused ? CMD_PAUSE : CMD_RESUME);
}

void bench_stop(struct bench *b, bool cancel_running)
{
    if (cancel_running)
        atomic_store(&b->stop_cancel, true);
    atomic_store(&b->stop_req, true);
    wake_write(b->ctl[1]);
}

bool bench_stopped(const struct bench *b)
{
    return atomic_load(&b->stopped);
}

void bench_counts(struct bench *b, struct bench_counts *out)
{
    size_t i;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    rec_tally_stats(b->tally, &out->total);
    for (i = 0; i < b->n_slots; i++)
        rec_tally_stats(b->slot_tally[i], &out->slots[i]);
    out->n_slots = b->n_slots;
    pthread_mutex_unlock(&b->mu);
}

size_t bench_n_slots(const struct bench *b)
{
    return b->n_slots;
}

const char *bench_slot_name(const struct bench *b, int slot)
{
    if (slot < 0 || (size_t)slot >= b->n_slots)
        return "";
    return b->slots[slot].conf.name;
}

size_t bench_n_images(const struct bench *b)
{
    return b->n_images;
}

const struct engine_image *bench_image(const struct bench *b, size_t i)
{
    return i < b->n_images ? &b->images[i] : NULL;
}

const char *bench_records_path(const struct bench *b)
{
    return records_path(b->rec);
}

void bench_free(struct bench *b)
{
    size_t i;

    if (!b)
        return;
    if (b->started) {
        atomic_store(&b->quit, true);
        wake_write(b->ctl[1]);
        pthread_join(b->thread, NULL);
    }
    for (i = 0; i < BENCH_MAX_SLOTS; i++) {
        struct bslot *s = &b->slots[i];

        engine_free(s->eng); /* cancels a unit still running */
        accept_free(s->acc);
        free(s->rec);
        rec_tally_free(b->slot_tally[i]);
        pthread_mutex_destroy(&s->mu);
    }
    for (i = 0; i < b->n_images; i++)
        free(b->images[i].data);
    zcache_free(b->zc); /* after the engines that used it */
    records_close(b->rec);
    rec_tally_free(b->tally);
    free(b->q);
    if (b->wake[0] >= 0) {
        close(b->wake[0]);
        close(b->wake[1]);
    }
    if (b->ctl[0] >= 0) {
        close(b->ctl[0]);
        close(b->ctl[1]);
    }
    pthread_mutex_destroy(&b->mu);
    pthread_mutex_destroy(&b->rec_mu);
    free(b);
}
