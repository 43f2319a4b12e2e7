/*
 * bench_fixtures.c - in-process simulated fixtures behind sim: slots.
 */
#include <stdio.h>
#include <string.h>

#include "bench_screen.h"
#include "port.h"
#include "sim/sim_fixture.h"

/* bench hook (controller thread): a fixture's port is there unless it is
 * gone now or went away since the last question; other slots ask the
 * system. */
static bool fixture_present(void *ctx, int slot, const char *url)
{
    struct bench_fixtures *f = ctx;

    if (slot >= 0 && slot < BENCH_MAX_SLOTS && f->fx[slot]) {
        unsigned v = sim_fixture_vanished(f->fx[slot]);
        bool went = v != f->seen[slot];

        f->seen[slot] = v;
        return !went && !sim_fixture_port_gone(f->fx[slot]);
    }
    return port_present(url);
}

int bench_fixtures_start(struct bench_conf *conf, struct bench_fixtures *f,
                         char *err, size_t errlen)
{
    size_t i;

    memset(f, 0, sizeof *f);
    for (i = 0; i < conf->n_slots && i < BENCH_MAX_SLOTS; i++) {
        struct bench_slot_conf *s = &conf->slots[i];
        char e[ED_ERRMSG_MAX];

        if (!sim_fixture_wanted(s->port))
            continue;
        if (sim_fixture_new(&f->fx[i], s->port, NULL, e, sizeof e) !=
            ED_OK) {
            bench_fixtures_stop(f);
            return ed_seterr(err, errlen, ED_ERR_ARG, "slot %s: %s", s->name,
                             e);
        }
        snprintf(s->port, sizeof s->port, "%s", sim_fixture_url(f->fx[i]));
        conf->hooks.port_present = fixture_present;
        conf->hooks.ctx = f;
    }
    return ED_OK;
}

void bench_fixtures_stop(struct bench_fixtures *f)
{
    size_t i;

    for (i = 0; i < BENCH_MAX_SLOTS; i++) {
        sim_fixture_free(f->fx[i]);
        f->fx[i] = NULL;
    }
}
