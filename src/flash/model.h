/*
 * model.h - what the console shows, as plain data.
 *
 * The console loop applies every engine event to a struct model
 * (model_apply) and the views only read it.  No curses, no I/O, no clock:
 * the caller passes the time (monotonic ms for durations, wall-clock ms for
 * timestamps), so the model is tested without a terminal.
 *
 * Target output (EV_MONITOR bytes) is cut into lines at LF (CR dropped),
 * ANSI escape sequences are removed, and each line gets a level from its
 * ESP-IDF prefix ("E (123) tag: ...") or from the colour the target set
 * (31 red = E, 33 yellow = W, 32 green = I).  Lines go into a bounded ring
 * addressed by sequence number (the n-th line ever received), so a view
 * scrolled back stays on its lines while new ones arrive.
 *
 * Ownership: model_init allocates the rings, model_free releases them.
 * Threads: one thread (the UI) owns a model.
 */
#ifndef ED_MODEL_H
#define ED_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define MODEL_LINE_MAX 240
#define MODEL_LOG_LINES 256
#define MODEL_MON_LINES 5000

enum model_level {
    MODEL_LVL_NONE,
    MODEL_LVL_E,
    MODEL_LVL_W,
    MODEL_LVL_I,
    MODEL_LVL_D,
    MODEL_LVL_V,
};

struct model_line {
    int64_t wall_ms;            /* when it arrived */
    enum model_level level;
    char text[MODEL_LINE_MAX];  /* no escapes, no CR/LF */
};

struct model_ring {
    struct model_line *lines;
    size_t cap;
    uint64_t next;              /* sequence number of the next line */
};

struct model_part {
    char name[32];
    char source[256];
    uint32_t offset;
    uint32_t region_size;
    uint64_t len;               /* image bytes */
    enum engine_phase phase;
    uint64_t done, total;
    uint64_t wire_bytes, wire_total;
    double rate;                /* bytes per second */
    double elapsed;             /* seconds, from the engine */
    uint64_t written;           /* bytes written (a delta: fewer) */
    unsigned recoveries;        /* write errors recovered from */
    unsigned resent;            /* damaged data blocks sent again */
    char message[160];
    bool ever_written;          /* a write started (for cancel reports) */
};

enum model_mode {
    MODEL_MODE_FLASH,           /* panes per image */
    MODEL_MODE_MONITOR_ONLY,    /* espdeck monitor */
};

struct model {
    enum model_mode mode;
    char profile[128];          /* profile name or file */
    char port[256];
    uint32_t monitor_baud;
    bool have_chip;
    struct engine_chip_info chip;
    enum engine_state state;
    struct model_part parts[ENGINE_MAX_IMAGES];
    size_t n_parts;
    struct model_ring log;      /* engine messages */
    struct model_ring mon;      /* target output */
    /* the monitor line being received */
    char partial[MODEL_LINE_MAX];
    size_t partial_len;
    enum model_level colour;        /* colour the target has set */
    enum model_level line_colour;   /* a colour seen in this line */
    int esc;                    /* escape parser state */
    char esc_buf[32];
    size_t esc_len;
    int64_t flash_start_ms, flash_end_ms;   /* monotonic */
    bool split;                 /* flashing over, monitor below */
    bool finished;              /* EV_FINISHED seen */
    int status;                 /* its status */
    char finish_msg[ED_ERRMSG_MAX];
    int flashes;                /* completed flash runs */
    /* Called with each line of target output once it is in the ring, on
     * the model's thread (the console decodes panics here); the line is
     * valid until the next line is added.  NULL = none. */
    void (*on_line)(void *ctx, struct model *m, const struct model_line *l);
    void *on_line_ctx;
};

/* Zero the model and allocate the rings.  Returns ED_OK or ED_ERR_NOMEM. */
int model_init(struct model *m, enum model_mode mode);
void model_free(struct model *m);

/* Take the image list (names, offsets, sizes, sources) from a job, before
 * the job is handed to engine_new(). */
void model_set_job(struct model *m, const struct engine_job *job);

/* Apply one event.  mono_ms: monotonic time; wall_ms: ms since the epoch. */
void model_apply(struct model *m, const struct engine_event *ev,
                 int64_t mono_ms, int64_t wall_ms);

/* Feed monitor bytes directly (model_apply does this for EV_MONITOR). */
void model_monitor_bytes(struct model *m, const uint8_t *data, size_t len,
                         int64_t wall_ms);

/* A flash run is starting again (Ctrl-T F): parts back to waiting. */
void model_restart_flash(struct model *m, int64_t mono_ms);
/* A new engine run after one that ended (the console's retry): the end,
 * the chip and the clocks forgotten, every image waiting again; the log
 * and the monitor lines stay. */
void model_restart(struct model *m);

/* The job ended before these images were touched (a failure, or an error
 * the console found): parts still waiting say "not written". */
void model_mark_not_written(struct model *m);

/* A line of our own among the target's (a decoded backtrace under the
 * panic); not passed to on_line. */
void model_mon_note(struct model *m, enum model_level level, int64_t wall_ms,
                    const char *text);

/* Add a line of our own to the log pane. */
void model_log(struct model *m, enum model_level level, int64_t wall_ms,
               const char *text);

/* ---- rings ---- */

/* Oldest sequence number still held, and one past the newest. */
uint64_t model_ring_first(const struct model_ring *r);
uint64_t model_ring_end(const struct model_ring *r);
/* The line with that sequence number, or NULL if gone or not yet there. */
const struct model_line *model_ring_get(const struct model_ring *r,
                                        uint64_t seq);

/*
 * Search the monitor lines for text (case-insensitive), starting after
 * (forward) or before (backward) seq.  Returns true with *out the match.
 */
bool model_mon_find(const struct model *m, uint64_t seq, bool forward,
                    const char *text, uint64_t *out);

/* ---- derived values ---- */

/* Level of an ESP-IDF line ("W (12) wifi: ..."), or MODEL_LVL_NONE. */
enum model_level model_classify(const char *line);
/* Seconds left for a part, or -1 when unknown. */
double model_part_eta(const struct model_part *p);
/* Fraction 0..1 of a part done. */
double model_part_fraction(const struct model_part *p);
/* Every part done or skipped. */
bool model_all_ok(const struct model *m);
/* A part is in a final phase. */
bool model_part_final(const struct model_part *p);
/* Seconds from the first connect to the end of flashing (or now). */
double model_flash_seconds(const struct model *m, int64_t mono_ms);
/* Flashing (connect .. verify) is in progress. */
bool model_busy(const struct model *m);
/*
 * What a flash run that ended well did, as one sentence into buf (empty
 * when not every image is done or skipped): "3 images written and
 * verified in 1.3 s", "3 images unchanged (MD5 matched), nothing written",
 * "1 image written and verified in 0.4 s, 2 unchanged (MD5 matched)".
 * secs: the run's duration.  Returns buf.
 */
const char *model_outcome(const struct model *m, double secs, char *buf,
                          size_t len);
/* "512 B", "24.3 KiB", "1.5 MiB" into buf; returns buf. */
const char *model_fmt_bytes(char *buf, size_t len, uint64_t n);
/* Short word for a phase: "waiting", "writing", ... */
const char *model_phase_word(enum engine_phase ph);

#endif
