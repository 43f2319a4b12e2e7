/*
 * slot.h - one bench slot's loop as a state machine, without I/O.
 *
 *   wait for a board ──► (probe) ──► run the unit ──► record ──► done
 *        ▲    (key / probe answers / port appears)            │
 *        └──────── the board left (key / no answer / port gone) ◄┘
 *
 * The driver (bench.c) feeds it what happened (a key, a port check, a probe
 * result, the unit's MAC, the end of the unit, the record written) with the
 * time, and asks slot_tick() what to do next: check the port, start a probe,
 * start the flash job.  Time is passed in, so tests use a fake clock.
 *
 * Rules kept here: a probe or port check every period; a board that answers
 * a probe, or a port that appears, is a unit arriving; a board that stops
 * answering, or a port that goes, has left; the same MAC answering again
 * without having left is the same unit (nothing starts); in `key` mode the
 * key means "the next board is in" (the previous one left); the same MAC
 * after a failure is a retry of that unit; a unit with a PASS record is not
 * flashed unless the operator asks; a unit whose port vanished waits for the
 * port to come back; a record that cannot be written halts the slot.
 */
#ifndef ED_SLOT_H
#define ED_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

enum slot_phase {
    SLOT_STOPPED,       /* paused; nothing starts */
    SLOT_WAIT,          /* for a board */
    SLOT_NO_PORT,       /* key/probe: the port is not there */
    SLOT_PROBING,       /* a probe runs */
    SLOT_RUNNING,       /* the flash job runs (connect ... boot check) */
    SLOT_RECORDING,     /* the driver writes the record */
    SLOT_DONE,          /* verdict shown; the board is still in */
    SLOT_HALTED,        /* records cannot be written */
};

enum slot_act {
    SLOT_ACT_NONE,
    SLOT_ACT_CHECK_PORT,    /* call slot_port() with the answer */
    SLOT_ACT_PROBE,         /* start a probe; slot_probe() when it ends */
    SLOT_ACT_FLASH,         /* start the flash job; slot_admit() after
                               connecting, slot_finished() at the end */
};

enum slot_outcome {
    SLOT_OUT_PASS,
    SLOT_OUT_FAIL,
    SLOT_OUT_PROGRAMMED,    /* refused by slot_admit(): no record */
};

struct slot {
    enum slot_phase phase;
    enum bench_trigger trigger;
    int period_ms;
    int64_t next_ms;        /* next port check / probe */
    bool key_pending;
    bool go;                /* a unit arrived: start the flash job */
    bool probe_due;
    bool from_done;         /* the probe runs to see if the unit left */
    bool paused;
    bool hold;              /* no new unit or probe (the bench's limit) */
    bool reprogram_once;    /* the operator asked to flash it anyway */
    bool port_lost;         /* the last unit lost its port */
    /* the unit in the slot / the last one */
    bool have_unit;
    uint8_t unit_mac[6];
    bool unit_has_mac;
    bool unit_pass;
    unsigned attempt;       /* 1 = first time; 2.. retries of this MAC */
    enum slot_outcome outcome;
};

void slot_init(struct slot *s, enum bench_trigger trigger, int period_ms,
               int64_t now_ms);
/*
 * What to do now.  *wait_ms (may be NULL) gets the milliseconds until the
 * next tick is due (-1: only an input can change anything).  Call again
 * after every input until it returns SLOT_ACT_NONE.
 */
enum slot_act slot_tick(struct slot *s, int64_t now_ms, int *wait_ms);

/* The operator's key: the next board is in. */
void slot_key(struct slot *s);
/* Flash the present unit even though it passed before (next admit). */
void slot_reprogram(struct slot *s);
void slot_pause(struct slot *s, bool paused, int64_t now_ms);
/* Hold: start no unit and no probe, but keep the state (the bench reached
 * its number of units; a refused unit may release it again). */
void slot_hold(struct slot *s, bool hold);
/* Answer to SLOT_ACT_CHECK_PORT. */
void slot_port(struct slot *s, int64_t now_ms, bool present);
/* End of a probe: answered (mac may be NULL when it could not be read). */
void slot_probe(struct slot *s, int64_t now_ms, bool answered,
                const uint8_t *mac);
/*
 * The flash job reached the chip (mac NULL when unknown): go on (true) or
 * stop because the unit already passed (has_pass) and nobody asked to
 * reprogram it.  Counts the attempt.
 */
bool slot_admit(struct slot *s, const uint8_t *mac, bool has_pass,
                bool reprogram);
/* The flash job ended.  port_lost: the port is gone now. */
void slot_finished(struct slot *s, int64_t now_ms, enum slot_outcome out,
                   bool port_lost);
/* The driver wrote the record (ok) or could not (the slot halts). */
void slot_recorded(struct slot *s, int64_t now_ms, bool ok);
/* Nothing is running in the slot (no probe, job or record). */
bool slot_idle(const struct slot *s);

const char *slot_phase_name(enum slot_phase p);

#endif
