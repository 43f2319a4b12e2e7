/*
 * bench_fixtures.c - in-process simulated fixtures behind sim: slots.
 */
#include <stdio.h>
#include <string.h>

#include "bench_screen.h"
#include "port.h"
#include "sim/sim_fixture.h"

/* bench hook (controller thread): a fixture's port is there unless its
 * unit vanished; other slots ask the system. */
static bool fixture_present(void *ctx, int slot, const char *url)
{
    struct sim_fixture **fx = ctx;

    if (slot >= 0 && slot < BENCH_MAX_SLOTS && fx[slot])
        return !sim_fixture_port_gone(fx[slot]);
    return port_present(url);
}

int bench_fixtures_start(struct bench_conf *conf, struct sim_fixture **fx,
                         char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < BENCH_MAX_SLOTS; i++)
        fx[i] = NULL;
    for (i = 0; i < conf->n_slots; i++) {
        struct bench_slot_conf *s = &conf->slots[i];
        char e[ED_ERRMSG_MAX];

        if (!sim_fixture_wanted(s->port))
            continue;
        if (sim_fixture_new(&fx[i], s->port, NULL, e, sizeof e) != ED_OK) {
            bench_fixtures_stop(fx);
            return ed_seterr(err, errlen, ED_ERR_ARG, "slot %s: %s", s->name,
                             e);
        }
        snprintf(s->port, sizeof s->port, "%s", sim_fixture_url(fx[i]));
        conf->hooks.port_present = fixture_present;
        conf->hooks.ctx = fx;
    }
    return ED_OK;
}

void bench_fixtures_stop(struct sim_fixture **fx)
{
    size_t i;

    for (i = 0; i < BENCH_MAX_SLOTS; i++) {
        sim_fixture_free(fx[i]);
        fx[i] = NULL;
    }
}
