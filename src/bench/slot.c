/*
 * slot.c - one slot's loop as a state machine (see slot.h).
 */
#include "slot.h"

#include <string.h>

void slot_init(struct slot *s, enum bench_trigger trigger, int period_ms,
               int64_t now_ms)
{
    memset(s, 0, sizeof *s);
    s->trigger = trigger;
    s->period_ms = period_ms > 0 ? period_ms : 500;
    s->phase = SLOT_WAIT;
    s->next_ms = now_ms;
}

static bool waiting_phase(enum slot_phase p)
{
    return p == SLOT_WAIT || p == SLOT_NO_PORT || p == SLOT_DONE;
}

static enum slot_act start(struct slot *s, enum slot_phase phase,
                           enum slot_act act)
{
    s->go = s->key_pending = s->probe_due = false;
    s->phase = phase;
    return act;
}

enum slot_act slot_tick(struct slot *s, int64_t now_ms, int *wait_ms)
{
    if (wait_ms)
        *wait_ms = -1;
    if (!waiting_phase(s->phase) || s->paused)
        return SLOT_ACT_NONE;
    if (s->phase != SLOT_NO_PORT && !s->hold) {
        if (s->go)
            return start(s, SLOT_RUNNING, SLOT_ACT_FLASH);
        if (s->key_pending && s->trigger == BENCH_TRIGGER_KEY)
            return start(s, SLOT_RUNNING, SLOT_ACT_FLASH);
        if (s->probe_due) {
            s->from_done = s->phase == SLOT_DONE;
            return start(s, SLOT_PROBING, SLOT_ACT_PROBE);
        }
    }
    if (now_ms >= s->next_ms) {
        s->next_ms = now_ms + s->period_ms;
        return SLOT_ACT_CHECK_PORT;
    }
    if (wait_ms)
        *wait_ms = (int)(s->next_ms - now_ms);
    return SLOT_ACT_NONE;
}

void slot_key(struct slot *s)
{
    if (s->phase == SLOT_WAIT || s->phase == SLOT_DONE)
        s->key_pending = true;
}

void slot_reprogram(struct slot *s)
{
    s->reprogram_once = true;
    if (s->phase == SLOT_DONE)
        s->go = true;
}

void slot_pause(struct slot *s, bool paused, int64_t now_ms)
{
    s->paused = paused;
    if (paused && waiting_phase(s->phase)) {
        s->phase = SLOT_STOPPED;
    } else if (!paused && s->phase == SLOT_STOPPED) {
        /* presence is unknown after a pause: look again */
        s->phase = SLOT_WAIT;
        s->next_ms = now_ms;
    }
    s->go = s->key_pending = s->probe_due = false;
}

void slot_hold(struct slot *s, bool hold)
{
    s->hold = hold;
}

void slot_port(struct slot *s, int64_t now_ms, bool present)
{
    (void)now_ms;
    switch (s->phase) {
    case SLOT_WAIT:
        if (s->trigger == BENCH_TRIGGER_PORT) {
            if (present)
                s->go = true;
        } else if (!present) {
            s->phase = SLOT_NO_PORT;
            s->key_pending = false;
        } else if (s->trigger == BENCH_TRIGGER_PROBE) {
            s->probe_due = true;
        }
        break;
    case SLOT_NO_PORT:
        if (present) {
            s->phase = SLOT_WAIT;
            if (s->trigger == BENCH_TRIGGER_PROBE)
                s->probe_due = true;
        }
        break;
    case SLOT_DONE:
        if (!present) /* the board left with its port (or the hub went) */
            s->phase = s->trigger == BENCH_TRIGGER_PORT ? SLOT_WAIT
                                                        : SLOT_NO_PORT;
        else if (s->trigger == BENCH_TRIGGER_PROBE)
            s->probe_due = true;
        break;
    default:
        break;
    }
}

static bool same_unit(const struct slot *s, const uint8_t *mac)
{
    return mac && s->have_unit && s->unit_has_mac &&
           !memcmp(s->unit_mac, mac, 6);
}

void slot_probe(struct slot *s, int64_t now_ms, bool answered,
                const uint8_t *mac)
{
    if (s->phase != SLOT_PROBING)
        return;
    s->next_ms = now_ms + s->period_ms;
    if (!s->from_done) {
        s->phase = s->paused ? SLOT_STOPPED : SLOT_WAIT;
        s->go = answered && !s->paused;
        return;
    }
    if (!answered) {
        s->phase = s->paused ? SLOT_STOPPED : SLOT_WAIT;   /* it left */
        return;
    }
    s->phase = s->paused ? SLOT_STOPPED : SLOT_DONE;
    /* The same MAC again without leaving is the same unit; a MAC that
     * could not be read is taken as the same unit too (never flash a
     * board twice by doubt).  Another MAC: the boards were swapped
     * between two probes. */
    if (mac && !same_unit(s, mac) && !s->paused)
        s->go = true;
}

bool slot_admit(struct slot *s, const uint8_t *mac, bool has_pass,
                bool reprogram)
{
    bool same = same_unit(s, mac);

    s->have_unit = true;
    s->unit_has_mac = mac != NULL;
    if (mac)
        memcpy(s->unit_mac, mac, 6);
    else
        memset(s->unit_mac, 0, 6);
    if (has_pass && !reprogram && !s->reprogram_once) {
        if (!same)
            s->attempt = 0;
        return false;
    }
    s->reprogram_once = false;
    s->attempt = same ? s->attempt + 1 : 1;
    return true;
}

void slot_finished(struct slot *s, int64_t now_ms, enum slot_outcome out,
                   bool port_lost)
{
    if (s->phase != SLOT_RUNNING)
        return;
    s->outcome = out;
    s->port_lost = port_lost;
    s->next_ms = now_ms + s->period_ms;
    if (out == SLOT_OUT_PROGRAMMED) {
        s->unit_pass = true;
        s->phase = s->paused ? SLOT_STOPPED : SLOT_DONE;
        return;
    }
    s->phase = SLOT_RECORDING;
}

void slot_recorded(struct slot *s, int64_t now_ms, bool ok)
{
    if (s->phase != SLOT_RECORDING)
        return;
    if (!ok) {
        s->phase = SLOT_HALTED;
        return;
    }
    s->unit_pass = s->outcome == SLOT_OUT_PASS;
    s->next_ms = now_ms + s->period_ms;
    if (s->paused)
        s->phase = SLOT_STOPPED;
    else if (s->port_lost)
        s->phase = s->trigger == BENCH_TRIGGER_PORT ? SLOT_WAIT
                                                    : SLOT_NO_PORT;
    else
        s->phase = SLOT_DONE;
}

bool slot_idle(const struct slot *s)
{
    return s->phase != SLOT_PROBING && s->phase != SLOT_RUNNING &&
           s->phase != SLOT_RECORDING;
}

const char *slot_phase_name(enum slot_phase p)
{
    static const char *const names[] = {
        "stopped", "wait", "no-port", "probing",
        "running", "recording", "done", "halted",
    };

    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}
