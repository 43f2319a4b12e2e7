/*
 * links.h - what espdeck remembers about each link between runs.
 *
 * One small JSON file, $XDG_STATE_HOME/espdeck/links.json (else
 * ~/.local/state/espdeck/links.json):
 *
 *   {"ports":    {"socket://10.0.0.5:4000": {"stub": true, "baud": 921600}},
 *    "adapters": {"usb:10c4:ea60:0001": {"baud": 2000000}}}
 *
 * "ports" (by port URL): whether a flasher stub was left running on the
 * board and the baud it was last driven at, so that the next run can talk
 * to it where a reset is not possible (socket://, --before no-reset) and
 * tells the stub the right old baud.  "adapters" (by adapter identity:
 * USB VID:PID and serial, or the URL): the rate `--baud auto` last found
 * to hold.
 *
 * Every update is a read-modify-write under an flock(2) on a lock file
 * next to it, written to a temporary file and renamed over the old one,
 * so a killed process leaves the old or the new file and boards flashed
 * side by side (a bench: one engine per thread) do not lose each other's
 * updates.  A missing or unreadable file is an empty one.  No state is
 * kept in memory between calls.
 */
#ifndef ED_LINKS_H
#define ED_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct links_port {
    bool stub;     /* a flasher stub was left running */
    uint32_t baud; /* the baud the board was last driven at (0 = unknown) */
};

/* The file's path into buf; ED_ERR_NOT_FOUND when neither
 * XDG_STATE_HOME nor HOME is set. */
int links_path(char *buf, size_t len);

/* What is known of the port url: ED_OK, or ED_ERR_NOT_FOUND (out zeroed). */
int links_port_get(const char *url, struct links_port *out);
int links_port_put(const char *url, const struct links_port *in);

/* The rate --baud auto last found to hold on adapter id (0 = none). */
uint32_t links_adapter_baud(const char *id);
int links_adapter_put(const char *id, uint32_t baud);

struct port;
/*
 * Whether --baud auto is the default on port p (no --baud, no profile or
 * config.yaml baud): a local serial port that is USB (libserialport's
 * transport, so a VID:PID is known; Espressif's USB-Serial/JTAG too,
 * where auto keeps the baud), rfc2217:// (a remote adapter: its rate is
 * unknown, and the lines reset a board a rate left out of reach), and a
 * sim: board behind a simulated USB adapter (it reports that adapter's
 * VID:PID).  Not: a local non-USB UART (/dev/ttyS0, /dev/ttyAMA0: no
 * adapter to learn), socket:// (no reset lines: a rate that does not hold
 * leaves the stub out of reach), a sim: board with no adapter.
 */
bool links_auto_by_default(const struct port *p);

#endif
