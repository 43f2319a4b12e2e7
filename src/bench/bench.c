/*
 * bench.c - the production loop (see bench.h).  Skeleton: the API compiles
 * and bench_new says the loop is not there yet.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "profile.h"

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

void bench_conf_init(struct bench_conf *conf, const struct profile *p)
{
    memset(conf, 0, sizeof *conf);
    conf->profile = p;
    conf->trigger = BENCH_TRIGGER_KEY;
    conf->probe_ms = 500;
    engine_job_init(&conf->job);
}

int bench_new(struct bench **out, const struct bench_conf *conf, char *err,
              size_t errlen)
{
    (void)conf;
    *out = NULL;
    return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                     "the bench loop is not built yet");
}

int bench_start(struct bench *b) { (void)b; return ED_ERR_UNSUPPORTED; }
int bench_wake_fd(const struct bench *b) { (void)b; return -1; }
bool bench_poll(struct bench *b, struct bench_event *ev)
{
    (void)b;
    (void)ev;
    return false;
}
void bench_trigger(struct bench *b, int slot) { (void)b; (void)slot; }
void bench_reprogram(struct bench *b, int slot) { (void)b; (void)slot; }
void bench_cancel(struct bench *b, int slot) { (void)b; (void)slot; }
void bench_pause(struct bench *b, int slot, bool paused)
{
    (void)b;
    (void)slot;
    (void)paused;
}
void bench_stop(struct bench *b, bool cancel_running)
{
    (void)b;
    (void)cancel_running;
}
bool bench_stopped(const struct bench *b) { (void)b; return true; }
void bench_counts(struct bench *b, struct bench_counts *out)
{
    (void)b;
    memset(out, 0, sizeof *out);
}
size_t bench_n_slots(const struct bench *b) { (void)b; return 0; }
const char *bench_slot_name(const struct bench *b, int slot)
{
    (void)b;
    (void)slot;
    return "";
}
size_t bench_n_images(const struct bench *b) { (void)b; return 0; }
const struct engine_image *bench_image(const struct bench *b, size_t i)
{
    (void)b;
    (void)i;
    return NULL;
}
const char *bench_records_path(const struct bench *b) { (void)b; return ""; }
void bench_free(struct bench *b) { (void)b; }
