/*
 * sim_fixture.h - an in-process simulated fixture that outlives port opens.
 *
 * A sim: port owns its board, so a bench that opens its slot's port once
 * per probe and once per unit would meet a new board each time.  A fixture
 * is one board (normally a fixture of units, sim.h) served over RFC 2217
 * on a loopback port by its own thread; the bench's slot uses
 * sim_fixture_url() ("rfc2217://127.0.0.1:40211") and the units come and
 * go as configured.  Commands ("arrive", "leave", "fault KIND") reach the
 * board through a pipe the server thread reads, so no lock is shared.
 *
 * Ownership: the caller owns the fixture (no global state; many run side
 * by side).  Threads: new/url/command/free from one thread.
 */
#ifndef ED_SIM_FIXTURE_H
#define ED_SIM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

struct sim_fixture;

/*
 * spec: a sim: URL ("sim:esp32?units=auto&faults=3:panic", the "sim:" is
 * optional).  On failure *out is NULL and err holds one sentence.
 */
int sim_fixture_new(struct sim_fixture **out, const char *spec,
                    const struct log_sink *log, char *err, size_t errlen);
const char *sim_fixture_url(const struct sim_fixture *f);
/* Queue one command line for the board (sim_unit_command). */
int sim_fixture_command(struct sim_fixture *f, const char *line);
/* The fixture's port is gone (a unit vanished, or hotplug and no unit):
 * as of the server's last turn; safe from any thread. */
bool sim_fixture_port_gone(struct sim_fixture *f);
/* How many times the port went away so far (a unit that vanished and
 * was replaced before anyone looked still counts); any thread. */
unsigned sim_fixture_vanished(struct sim_fixture *f);
/* Stop the thread, free the board.  NULL is fine. */
void sim_fixture_free(struct sim_fixture *f);

/* Is url a sim: URL that asks for a fixture of units (units=...)? */
bool sim_fixture_wanted(const char *url);

#endif
