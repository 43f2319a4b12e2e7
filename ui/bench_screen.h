/*
 * bench_screen.h - the bench screen (`espdeck bench PROFILE` in a
 * terminal, `espdeck demo --bench`) and the simulated fixtures behind sim:
 * slots.
 *
 * bench_screen_run() owns the terminal (term.h) and a started or not yet
 * started struct bench: it poll()s stdin and bench_wake_fd() together,
 * folds every event into a plain-C view of the slots, answers keys and
 * draws a header (units, pass, fail, first-pass yield, units per hour,
 * median cycle), one tile per slot and a failure summary; a key zooms a
 * slot into the single-board view (view.h, from the slot's own model).
 * Threads: the calling thread is the UI thread.
 */
#ifndef ED_BENCH_SCREEN_H
#define ED_BENCH_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

struct sim_fixture;

struct bench_screen_opts {
    const char *profile_path;   /* shown in the header */
    const char *profile_name;
    bool lock;                  /* operator lock: start, stop, zoom only */
    enum bench_trigger trigger; /* which key starts a unit */
};

/* Run until the operator quits (and the units in progress end).  Returns
 * the process exit code (cmd.h). */
int bench_screen_run(struct bench *b, const struct bench_screen_opts *o);

/*
 * Slots whose port is a sim: URL with units (sim_fixture_wanted) get an
 * in-process fixture each (sim_fixture.h): the slot's port becomes the
 * fixture's loopback URL, so the units outlive the bench's port opens, and
 * the bench's port_present hook reports a port that vanished (even when
 * the next unit has arrived since).  The caller owns fx (zeroed) and keeps
 * it until the bench is freed.  ED_OK, or an error with one sentence in
 * err (the fixtures started so far are stopped).
 */
struct bench_fixtures {
    struct sim_fixture *fx[BENCH_MAX_SLOTS];
    unsigned seen[BENCH_MAX_SLOTS];     /* vanish count last reported */
};

int bench_fixtures_start(struct bench_conf *conf, struct bench_fixtures *f,
                         char *err, size_t errlen);
void bench_fixtures_stop(struct bench_fixtures *f);

#endif
