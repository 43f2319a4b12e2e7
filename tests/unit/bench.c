/*
 * Bench tests: the whole production loop in-process (src/bench/bench.c)
 * over simulated boards (sim:esp32, pacing off) with the real ESP-IDF
 * hello-world images; each record is checked against the boards' MACs.
 * Run under SANITIZE=thread too (a controller thread, engine threads).
 */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <limits.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "profile.h"
#include "records.h"
#include "test.h"

#define MAC1 "24:0a:c4:00:00:01"
#define MAC2 "24:0a:c4:00:00:02"

/* A profile with the hello-world images; extra is appended (accept:). */
static struct profile *load(const char *extra, char *path, size_t len)
{
    const char *rel = t_shared_dir();
    char err[ED_ERRMSG_MAX], sh[4096];
    struct profile *p = NULL;
    FILE *f;

    if (!rel || !realpath(rel, sh))
        return NULL;
    snprintf(path, len, "%s/p.yaml", t_tmpdir());
    f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f,
            "name: bench unit\n"
            "chip: esp32\n"
            "flash: {mode: dio, freq: 40m, size: 4MB}\n"
            "partition_table:\n"
            "  entries:\n"
            "    - {name: nvs, type: data, subtype: nvs, offset: 0x9000, "
            "size: 24K}\n"
            "    - {name: factory, type: app, subtype: factory, offset: "
            "0x10000, size: 1M}\n"
            "images:\n"
            "  - {name: bootloader, offset: 0x1000, file: "
            "\"%s/firmware/Hello-world/ESP32/bootloader.bin\"}\n"
            "  - {partition: factory, file: "
            "\"%s/firmware/Hello-world/ESP32/hello_world.bin\"}\n"
            "%s",
            sh, sh, extra ? extra : "");
    fclose(f);
    if (profile_load(&p, path, err, sizeof err)) {
        t_fail(__FILE__, __LINE__, "%s", err);
        return NULL;
    }
    return p;
}

static void two_slots(struct bench_conf *c, const char *opts)
{
    snprintf(c->slots[0].name, sizeof c->slots[0].name, "A");
    snprintf(c->slots[0].port, sizeof c->slots[0].port,
             "sim:esp32?pacing=0&mac=" MAC1 "%s", opts ? opts : "");
    snprintf(c->slots[1].name, sizeof c->slots[1].name, "B");
    snprintf(c->slots[1].port, sizeof c->slots[1].port,
             "sim:esp32?pacing=0&mac=" MAC2);
    c->n_slots = 2;
}

struct seen {
    unsigned verdicts, pass, fail, programmed, stopped, records_notes;
    bool fatal;
    enum rec_class last_cls;
    char last_line[240];
    enum bench_slot_state state[BENCH_MAX_SLOTS];
};

/*
 * Drive b until BENCH_EV_STOPPED or ms pass.  press: press a slot's key
 * whenever it waits or shows a verdict (as the headless loop does).  stop_at:
 * call bench_stop(b, true) when a slot starts flashing (-1: never).
 */
static bool drive(struct bench *b, struct seen *s, int ms, bool press,
                  bool cancel_when_flashing)
{
    int64_t end = clock_ms() + ms;
    bool stop_sent = false;

    memset(s, 0, sizeof *s);
    while (clock_ms() < end) {
        struct pollfd pf = {bench_wake_fd(b), POLLIN, 0};
        struct bench_event ev;

        poll(&pf, 1, 100);
        while (bench_poll(b, &ev)) {
            if (ev.kind == BENCH_EV_SLOT) {
                s->state[ev.slot] = ev.u.slot.state;
                if (ev.u.slot.state == BENCH_SLOT_PROGRAMMED)
                    s->programmed++;
                if (press && (ev.u.slot.state == BENCH_SLOT_WAITING ||
                              ev.u.slot.state == BENCH_SLOT_PASS ||
                              ev.u.slot.state == BENCH_SLOT_FAIL))
                    bench_trigger(b, ev.slot);
                if (cancel_when_flashing && !stop_sent &&
                    ev.u.slot.state == BENCH_SLOT_FLASHING) {
                    bench_stop(b, true);
                    stop_sent = true;
                }
            } else if (ev.kind == BENCH_EV_VERDICT) {
                s->verdicts++;
                if (ev.u.verdict.pass)
                    s->pass++;
                else
                    s->fail++;
                s->last_cls = ev.u.verdict.cls;
                snprintf(s->last_line, sizeof s->last_line, "%s",
                         ev.u.verdict.line);
            } else if (ev.kind == BENCH_EV_RECORDS) {
                s->records_notes++;
                s->fatal |= ev.u.records.fatal;
            } else if (ev.kind == BENCH_EV_STOPPED) {
                s->stopped++;
                return true;
            }
        }
    }
    return false;
}

/* Make a bench of conf, drive it until it stops (see drive), free it. */
static bool run_bench(const struct bench_conf *conf, struct seen *s, int ms,
                      bool cancel_when_flashing)
{
    char err[ED_ERRMSG_MAX];
    struct bench *b = NULL;
    bool stopped;

    if (bench_new(&b, conf, err, sizeof err) || bench_start(b)) {
        t_fail(__FILE__, __LINE__, "bench: %s", err);
        bench_free(b);
        return false;
    }
    stopped = drive(b, s, ms, true, cancel_when_flashing);
    bench_free(b);
    return stopped;
}

struct check {
    unsigned n, pass, bad_mac;
    enum rec_class cls;
    char boot[16];
};

/* Every record: the MAC belongs to its slot's board. */
static int check_cb(void *ctx, const struct rec_unit *u)
{
    struct check *c = ctx;
    char mac[24];

    c->n++;
    c->pass += u->pass;
    c->cls = u->cls;
    snprintf(c->boot, sizeof c->boot, "%s", u->boot);
    snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", u->mac[0],
             u->mac[1], u->mac[2], u->mac[3], u->mac[4], u->mac[5]);
    if (!u->have_mac || strcmp(mac, !strcmp(u->slot, "A") ? MAC1 : MAC2))
        c->bad_mac++;
    return 0;
}

static void read_records(const char *path, struct check *c)
{
    char err[ED_ERRMSG_MAX];
    unsigned bad = 0;

    memset(c, 0, sizeof *c);
    if (records_read(path, check_cb, c, &bad, err, sizeof err))
        c->n = 9999;
    if (bad)
        c->bad_mac += 1000;
}

static const char *rec_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/r/records.jsonl", t_tmpdir());
    return buf;
}

/*
 * A profile (extra appended) and a conf with n slots (opts appended to slot
 * A's URL) recording into the test's folder.  false: skipped (no firmware)
 * or failed.
 */
static bool setup(struct profile **p, struct bench_conf *conf,
                  const char *extra, size_t n, const char *opts, char *rpath,
                  size_t rlen)
{
    char path[600];

    *p = load(extra, path, sizeof path);
    if (!*p) {
        if (!t_failed())
            t_skip("no shared firmware");
        return false;
    }
    bench_conf_init(conf, *p);
    two_slots(conf, opts);
    conf->n_slots = n;
    snprintf(conf->records_path, sizeof conf->records_path, "%s",
             rec_path(rpath, rlen));
    return true;
}

void test_bench__units_recorded_with_their_macs(void)
{
    char rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct bench_conf conf;
    struct bench_counts cnt;
    struct bench *b = NULL;
    struct seen s;
    struct check c;

    if (!setup(&p, &conf, "accept:\n  timeout: 3s\n  expect: [\"Hello "
                             "world!\"]\n", 2, NULL, rpath,
               sizeof rpath))
        return;
    conf.reprogram = true; /* the same two boards, again and again */
    conf.max_units = 5;
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_EQ_INT(bench_n_slots(b), 2);
    T_EQ_INT(bench_n_images(b), 3);
    T_EQ_INT(bench_start(b), ED_OK);
    T_ASSERT(drive(b, &s, 60000, true, false));
    T_EQ_INT(s.verdicts, 5);
    T_EQ_INT(s.pass, 5);
    T_EQ_STR(s.last_line, "Hello world!");
    bench_counts(b, &cnt);
    T_EQ_INT(cnt.total.records, 5);
    T_EQ_INT(cnt.total.units, 2);
    T_EQ_INT(cnt.total.pass, 2);
    T_EQ_INT(cnt.slots[0].records + cnt.slots[1].records, 5);
    bench_free(b);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 5);
    T_EQ_INT(c.pass, 5);
    T_EQ_INT(c.bad_mac, 0);
    T_EQ_STR(c.boot, "pass");
    profile_free(p);
}

void test_bench__programmed_unit_is_not_flashed_again(void)
{
    char rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct bench_conf conf;
    struct bench *b = NULL;
    struct seen s;
    struct check c;

    if (!setup(&p, &conf, NULL, 1, NULL, rpath,
               sizeof rpath))
        return;
    conf.max_units = 1;
    T_ASSERT(run_bench(&conf, &s, 30000, false));
    T_EQ_INT(s.pass, 1); /* no accept: the verdict from flashing alone */
    /* the same board again: shown as programmed, no record, no flashing */
    b = NULL;
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_EQ_INT(bench_start(b), ED_OK);
    bench_trigger(b, 0);
    drive(b, &s, 3000, false, false);
    T_EQ_INT(s.programmed, 1);
    T_EQ_INT(s.verdicts, 0);
    T_EQ_INT(s.state[0], BENCH_SLOT_PROGRAMMED);
    /* the slot's reprogram command flashes it anyway */
    bench_reprogram(b, 0);
    T_ASSERT(drive(b, &s, 30000, false, false));
    T_EQ_INT(s.pass, 1);
    bench_free(b);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 2);
    T_EQ_INT(c.bad_mac, 0);
    profile_free(p);
}

void test_bench__boot_check_failure_is_recorded(void)
{
    char rpath[400];
    struct profile *p;
    struct bench_conf conf;
    struct seen s;
    struct check c;

    if (!setup(&p, &conf, "accept:\n  timeout: 1s\n  expect: [\"self-"
                             "test OK\"]\n", 1, NULL, rpath,
               sizeof rpath))
        return;
    conf.max_units = 1;
    T_ASSERT(run_bench(&conf, &s, 30000, false));
    T_EQ_INT(s.fail, 1);
    T_EQ_INT(s.last_cls, REC_CLASS_BOOT_CHECK);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 1);
    T_EQ_INT(c.cls, REC_CLASS_BOOT_CHECK);
    T_EQ_STR(c.boot, "timeout");
    profile_free(p);
}

void test_bench__stop_cancels_and_records_cancelled(void)
{
    char rpath[400];
    struct profile *p;
    struct bench_conf conf;
    struct seen s;
    struct check c;

    if (!setup(&p, &conf, NULL, 1, NULL, rpath,
               sizeof rpath))
        return;
    /* paced at 115200 baud: flashing takes long enough to cancel */
    snprintf(conf.slots[0].port, sizeof conf.slots[0].port,
             "sim:esp32?mac=" MAC1);
    conf.job.baud = 115200;
    T_ASSERT(run_bench(&conf, &s, 60000, true));
    T_EQ_INT(s.fail, 1);
    T_EQ_INT(s.last_cls, REC_CLASS_CANCELLED);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 1);
    T_EQ_INT(c.cls, REC_CLASS_CANCELLED);
    profile_free(p);
}

/* The port of slot A is gone while present_gone is set. */
static atomic_bool present_gone;

static bool fake_present(void *ctx, int slot, const char *url)
{
    (void)ctx;
    (void)url;
    return !(slot == 0 && atomic_load(&present_gone));
}

void test_bench__port_lost_mid_write(void)
{
    char rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct bench_conf conf;
    struct bench *b = NULL;
    struct seen s;
    struct check c;
    int64_t end;
    bool back = false, was_back = false;

    /* slot A's line is cut 60 KB into what the host sends: mid-write */
    if (!setup(&p, &conf, NULL, 2, "&fault=h2b:cut@60000", rpath,
               sizeof rpath))
        return;
    conf.hooks.port_present = fake_present;
    conf.max_units = 2;
    atomic_store(&present_gone, false);
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_EQ_INT(bench_start(b), ED_OK);
    end = clock_ms() + 30000;
    memset(&s, 0, sizeof s);
    while (clock_ms() < end && !back) {
        struct pollfd pf = {bench_wake_fd(b), POLLIN, 0};
        struct bench_event ev;

        poll(&pf, 1, 100);
        while (bench_poll(b, &ev)) {
            /* each slot's key once it waits; A's port "vanishes" with its
             * unit (the line is cut mid-write), until it shows no-port */
            if (ev.kind == BENCH_EV_SLOT &&
                ev.u.slot.state == BENCH_SLOT_WAITING &&
                !s.state[ev.slot]) {
                s.state[ev.slot] = BENCH_SLOT_WAITING;
                if (ev.slot == 0)
                    atomic_store(&present_gone, true);
                bench_trigger(b, ev.slot);
            }
            if (ev.kind == BENCH_EV_VERDICT) {
                s.verdicts++;
                s.pass += ev.u.verdict.pass;
                if (!ev.u.verdict.pass) {
                    s.last_cls = ev.u.verdict.cls;
                    T_EQ_INT(ev.slot, 0);
                }
            }
            if (ev.kind == BENCH_EV_SLOT && ev.slot == 0 &&
                ev.u.slot.state == BENCH_SLOT_NO_PORT)
                atomic_store(&present_gone, false); /* plugged back */
            if (ev.kind == BENCH_EV_SLOT && ev.slot == 0 &&
                ev.u.slot.state == BENCH_SLOT_WAITING &&
                s.last_cls == REC_CLASS_PORT_LOST)
                was_back = true; /* waits again once the port is back */
        }
        back = was_back && s.verdicts == 2;
    }
    T_ASSERT(back);
    T_EQ_INT(s.pass, 1);        /* B carried on */
    T_EQ_INT(s.last_cls, REC_CLASS_PORT_LOST);
    bench_free(b);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 2);
    T_EQ_INT(c.pass, 1);
    T_EQ_INT(c.bad_mac, 0);
    profile_free(p);
}

void test_bench__unwritable_records_halt(void)
{
    char path[600], rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p = load(NULL, path, sizeof path);
    struct rlimit lim = {64, 64};
    struct bench_conf conf;
    struct bench *b = NULL;
    struct seen s;

    if (!setup(&p, &conf, NULL, 1, NULL, rpath,
               sizeof rpath))
        return;
    /* the disk is "full": no record fits */
    signal(SIGXFSZ, SIG_IGN);
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_ASSERT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    T_EQ_INT(bench_start(b), ED_OK);
    T_ASSERT(drive(b, &s, 30000, true, false));
    T_ASSERT(s.fatal);
    T_EQ_INT(s.verdicts, 0);    /* no PASS shown without a record */
    T_EQ_INT(s.state[0], BENCH_SLOT_HALTED);
    bench_free(b);
    profile_free(p);
}

void test_bench__probe_same_board_is_one_unit(void)
{
    char rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct bench_conf conf;
    struct bench *b = NULL;
    struct seen s;
    struct check c;

    /* a plain sim: board is always there and always has the same MAC:
     * the probe finds it, it is flashed once, then it "stays" */
    if (!setup(&p, &conf, NULL, 1, NULL, rpath, sizeof rpath))
        return;
    conf.trigger = BENCH_TRIGGER_PROBE;
    conf.probe_ms = 200;
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_EQ_INT(bench_start(b), ED_OK);
    T_ASSERT(!drive(b, &s, 4000, false, false));
    T_EQ_INT(s.verdicts, 1);
    T_EQ_INT(s.pass, 1);
    T_EQ_INT(s.state[0], BENCH_SLOT_PASS);
    bench_free(b);
    read_records(rpath, &c);
    T_EQ_INT(c.n, 1);
    T_EQ_INT(c.bad_mac, 0);
    profile_free(p);
}

/* The port of slot A appears after a while (hotplug). */
static atomic_llong plugged_at;

static bool hotplug_present(void *ctx, int slot, const char *url)
{
    (void)ctx;
    (void)slot;
    (void)url;
    return clock_ms() >= atomic_load(&plugged_at);
}

void test_bench__port_trigger_starts_on_hotplug(void)
{
    char rpath[400], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct bench_conf conf;
    struct bench *b = NULL;
    struct seen s;

    if (!setup(&p, &conf, NULL, 1, NULL, rpath, sizeof rpath))
        return;
    conf.trigger = BENCH_TRIGGER_PORT;
    conf.probe_ms = 100;
    conf.hooks.port_present = hotplug_present;
    atomic_store(&plugged_at, (long long)clock_ms() + 1000000);
    T_EQ_INT(bench_new(&b, &conf, err, sizeof err), ED_OK);
    T_EQ_INT(bench_start(b), ED_OK);
    /* no port: waiting, nothing starts */
    T_ASSERT(!drive(b, &s, 700, false, false));
    T_EQ_INT(s.verdicts, 0);
    T_EQ_INT(s.state[0], BENCH_SLOT_WAITING);
    /* plugged in: one unit, and it stays done while it stays plugged */
    atomic_store(&plugged_at, (long long)clock_ms());
    T_ASSERT(!drive(b, &s, 3000, false, false));
    T_EQ_INT(s.verdicts, 1);
    T_EQ_INT(s.state[0], BENCH_SLOT_PASS);
    bench_free(b);
    profile_free(p);
}
