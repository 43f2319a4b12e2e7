/*
 * bench.h - the production loop: N slots, one board after another in each,
 * with a boot check and a durable record per unit.
 *
 * A struct bench is a value its caller owns (the bench screen or the headless
 * `espdeck bench --batch`).  It runs one controller thread that drives every
 * slot's state machine (src/bench/slot.h); each slot drives one engine per
 * unit (src/flash/engine.h), on the engine's own thread: a probe (connect,
 * read the MAC, reset) when the trigger is `probe`, then the flash job
 * (connect, stub, baud, MD5 skip, write, verify, reset into the app and
 * watch its output for the boot check).  After each unit the controller
 * appends one record (src/bench/records.h) and fsyncs it before the slot
 * shows its verdict.
 *
 * The caller talks to the bench as it talks to an engine: an event queue
 * with a wake-up pipe (bench_wake_fd() becomes readable when events are
 * queued; bench_poll() pops them), plus commands (bench_trigger(),
 * bench_reprogram(), bench_cancel(), bench_pause(), bench_stop()) and a
 * counter snapshot (bench_counts()).  No curses, no stdio.
 *
 * Thread rules: bench_new/start/poll/commands/counts/free are called from
 * one controlling thread; the bench's own threads never call back into the
 * caller except through the optional hooks in struct bench_conf (which run
 * on the controller thread).
 */
#ifndef ED_BENCH_H
#define ED_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "log.h"
#include "records.h"

struct profile;

#define BENCH_MAX_SLOTS 16

/* How a slot learns that a board came or left (profile `bench.trigger`). */
enum bench_trigger {
    BENCH_TRIGGER_KEY,      /* the operator presses the slot's key */
    BENCH_TRIGGER_PROBE,    /* reset+sync every ~0.5 s; answer = present */
    BENCH_TRIGGER_PORT,     /* the port appears / disappears (hotplug) */
};

struct bench_slot_conf {
    char name[32];          /* shown on the tile and in records ("1", "A") */
    /* Where the board is: a port URL ("/dev/ttyUSB0", "sim:esp32",
     * "rfc2217://host:2217"), or "usb-path:1-1.4" / "usb-serial:A50285BI",
     * resolved to the device node before every open (port_usb_resolve). */
    char port[256];
};

/*
 * Optional callbacks (controller thread).  port_present: is the slot's port
 * there now?  Default: port_present() (a local node exists, a USB identity
 * resolves; network and sim: ports are always there).  A simulated fixture
 * sets it to let units come and go.
 */
struct bench_hooks {
    bool (*port_present)(void *ctx, int slot, const char *url);
    void *ctx;
};

struct bench_conf {
    const struct profile *profile;  /* borrowed: outlives the bench */
    struct bench_slot_conf slots[BENCH_MAX_SLOTS];
    size_t n_slots;
    enum bench_trigger trigger;
    char records_path[512];  /* "" = records_default_path() */
    char station[64];        /* "" = the host name */
    char operator_name[64];  /* "" = not recorded */
    bool reprogram;          /* flash units that already have a PASS record */
    unsigned max_units;      /* stop after this many records; 0 = no limit */
    int probe_ms;            /* probe / port-check period (500) */
    bool accept_enabled;     /* the profile has accept: (else flashing alone) */
    struct bench_hooks hooks;
    /* The engine job template: anything here (baud, before/after, stub,
     * no_compress, stub_dir, log_level) goes to every unit's job; port and
     * images come from the slot and the profile.  bench_conf_init fills it
     * from the profile. */
    struct engine_job job;
};

/*
 * Fill conf from a loaded profile: its bench: section (slots, trigger,
 * records, station) and accept: section, and the job template (images are
 * not copied into conf->job: the bench reads them once in bench_new).
 * Command-line options are applied on top by the caller.
 */
void bench_conf_init(struct bench_conf *conf, const struct profile *p);

/* What a slot shows. */
enum bench_slot_state {
    BENCH_SLOT_STOPPED,      /* paused by the operator, or the bench ended */
    BENCH_SLOT_WAITING,      /* for a board: key, probe or port */
    BENCH_SLOT_NO_PORT,      /* the port is not there (unplugged hub, ...) */
    BENCH_SLOT_CONNECTING,   /* reset + sync, stub, baud */
    BENCH_SLOT_FLASHING,     /* writing / verifying images */
    BENCH_SLOT_BOOTCHECK,    /* watching the app's output */
    BENCH_SLOT_RECORDING,    /* appending + fsyncing the record */
    BENCH_SLOT_PASS,         /* recorded PASS; waiting for the board to leave */
    BENCH_SLOT_FAIL,         /* recorded FAIL; waiting for the board to leave */
    BENCH_SLOT_PROGRAMMED,   /* already has a PASS record: not flashed again */
    BENCH_SLOT_HALTED,       /* the records file cannot be written */
};

enum bench_event_kind {
    BENCH_EV_SLOT,           /* slot state change, with a sentence */
    BENCH_EV_UNIT,           /* a unit arrived: MAC, unit number */
    BENCH_EV_ENGINE,         /* an event of the slot's engine, forwarded
                                (state, chip, part progress, log, monitor) */
    BENCH_EV_BOOT_LINE,      /* one complete line of the app's output */
    BENCH_EV_VERDICT,        /* PASS/FAIL, class, deciding line, sentence */
    BENCH_EV_RECORDS,        /* records file notice (torn line, cannot write) */
    BENCH_EV_STOPPED,        /* every slot is idle after bench_stop / --units */
};

struct bench_event {
    enum bench_event_kind kind;
    int slot;                /* 0-based slot index; -1 for the whole bench */
    union {
        struct {
            enum bench_slot_state state;
            char text[240];  /* "waiting for a board (press 1)", ... */
        } slot;
        struct {
            uint8_t mac[6];
            bool have_mac;
            unsigned attempt;    /* 1 = first time this unit is seen */
        } unit;
        struct engine_event engine;
        struct { char text[240]; } line;
        struct {
            bool pass;
            enum rec_class cls;          /* REC_CLASS_NONE on PASS */
            char line[240];              /* the line that decided, or "" */
            char message[ED_ERRMSG_MAX]; /* the sentence */
        } verdict;
        struct {
            bool fatal;                  /* the bench starts no new unit */
            char message[ED_ERRMSG_MAX];
        } records;
    } u;
};

/* Counters: the whole bench (slot -1) or one slot, this session. */
struct bench_counts {
    struct rec_stats total;
    struct rec_stats slots[BENCH_MAX_SLOTS];
    size_t n_slots;
};

struct bench;

/*
 * Check conf, read the profile's images once, open the records file (a
 * torn last line is reported as the first BENCH_EV_RECORDS event), and set
 * up the slots.  Nothing runs yet.  On failure *out is NULL and err holds
 * one sentence (ED_ERR_ARG, ED_ERR_PROFILE, ED_ERR_IO for the records file).
 */
int bench_new(struct bench **out, const struct bench_conf *conf, char *err,
              size_t errlen);
/* Start the controller thread; every slot begins waiting for a board. */
int bench_start(struct bench *b);
int bench_wake_fd(const struct bench *b);
/* Pop one event; false when the queue is empty.  Drains the wake pipe. */
bool bench_poll(struct bench *b, struct bench_event *ev);

/* The slot's key (trigger `key`): a board is in.  slot -1 = every slot. */
void bench_trigger(struct bench *b, int slot);
/* Flash the slot's present unit again even though it has a PASS record. */
void bench_reprogram(struct bench *b, int slot);
/* Cancel the unit in progress (recorded as cancelled).  -1 = all. */
void bench_cancel(struct bench *b, int slot);
/* Pause (no new unit starts in the slot; a unit in progress finishes) or
 * resume.  slot -1 = every slot. */
void bench_pause(struct bench *b, int slot, bool paused);
/*
 * End the bench: no new units; units in progress finish (cancel_running
 * false) or are cancelled and recorded as cancelled.  BENCH_EV_STOPPED
 * follows when every slot is idle.
 */
void bench_stop(struct bench *b, bool cancel_running);
/* true once BENCH_EV_STOPPED was queued. */
bool bench_stopped(const struct bench *b);

void bench_counts(struct bench *b, struct bench_counts *out);

size_t bench_n_slots(const struct bench *b);
const char *bench_slot_name(const struct bench *b, int slot);
/* The images every unit gets (names, offsets, sizes for the tile bars). */
size_t bench_n_images(const struct bench *b);
const struct engine_image *bench_image(const struct bench *b, size_t i);
const char *bench_records_path(const struct bench *b);

/* Cancel everything, join the threads, free.  NULL is fine. */
void bench_free(struct bench *b);

const char *bench_slot_state_name(enum bench_slot_state st);
const char *bench_trigger_name(enum bench_trigger t);
/* "key", "probe", "port" -> ED_OK; else ED_ERR_ARG. */
int bench_parse_trigger(const char *s, enum bench_trigger *out);

#endif
