/*
 * sim_server.h - serve a simulated board over a transport.
 *
 *   rfc2217://HOST:PORT   TCP with Telnet and the RFC 2217 COM-PORT-OPTION
 *                         (baud, DTR/RTS reach the board: esptool, pyserial
 *                         and ser2net-style clients work)
 *   socket://HOST:PORT    raw TCP, no modem lines
 *   pty:PATH              a pseudo-terminal pair, raw, PATH a symlink to the
 *                         slave (no modem lines; the slave's baud is read)
 *
 * One client at a time (a second TCP connection is closed at once); the
 * board keeps its state across connections (sim_connect/sim_disconnect).
 * A fixture of units (sim.h) whose port is gone (a unit vanished, or none
 * is in with hotplug) drops its client and refuses connections until the
 * next unit arrives.
 * HOST must be a loopback address unless bind_any is set; PORT 0 picks a
 * free port (sim_server_url() tells which).
 *
 * Ownership: the server borrows the struct sim (the caller frees it after
 * sim_server_free) and owns its sockets, pty and symlink.  Thread rules: one
 * thread runs a server; no global state.
 */
#ifndef ED_SIM_SERVER_H
#define ED_SIM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "sim/sim.h"

struct sim_server_config {
    const char *listen;     /* URL as above */
    bool bind_any;          /* allow a non-loopback HOST; "" = all */
    struct log_sink log;    /* connections, negotiation (debug) */
    /* Fixture commands, one per line (sim_unit_command: "arrive", "leave",
     * "fault KIND"), read from control_fd when control is set (a FIFO
     * opened read-write, or a pipe's read end). */
    bool control;
    int control_fd;
    /* Called on the server's thread once per loop turn (and so after
     * every change of the board), or NULL: lets an owner on another
     * thread follow the board's state (sim_fixture). */
    void (*tick)(void *ctx, struct sim *sim, int64_t now_us);
    void *tick_ctx;
};

struct sim_server;

/*
 * Bind/listen (or create the pty) now, so errors come before the caller
 * says it is listening.  On failure *out is NULL and err holds one
 * sentence ("port 4000 on 127.0.0.1 is in use: pick another with
 * --listen").  Returns enum ed_err.
 */
int sim_server_new(struct sim_server **out, struct sim *sim,
                   const struct sim_server_config *cfg, char *err,
                   size_t errlen);

/* The URL actually served ("rfc2217://127.0.0.1:40211", "pty:/tmp/x"). */
const char *sim_server_url(const struct sim_server *srv);

/*
 * Serve until stop_fd (e.g. a signalfd, or a pipe's read end; -1 = none)
 * becomes readable.  Returns ED_OK, or an error with err set when the
 * transport itself fails.
 */
int sim_server_run(struct sim_server *srv, int stop_fd, char *err,
                   size_t errlen);

/* Close everything (removes the pty symlink).  NULL is fine. */
void sim_server_free(struct sim_server *srv);

/*
 * Test hook (tests/fuzz, tests/unit): the bytes one RFC 2217 client sends,
 * fed every step bytes (0: at once) through the server's Telnet parser
 * into sim, as a fresh connection.  Returns how many bytes the server
 * queued for the client; the first cap of them are copied to out.
 */
size_t sim_server_telnet_feed(struct sim *sim, const uint8_t *in, size_t n,
                              size_t step, uint8_t *out, size_t cap);

/*
 * Option helpers shared by `espdeck sim` and the sim:CHIP port.
 * Flash size: "4MB", "4M", "512KB", "4194304" -> bytes (ED_OK or
 * ED_ERR_ARG).  MAC: "aa:bb:cc:dd:ee:ff" (also '-' separated).
 */
int sim_server_parse_size(const char *s, uint32_t *out);
int sim_server_parse_mac(const char *s, uint8_t out[6]);
/*
 * "CHIP?name=value&name=value" (a sim: URL without "sim:") into cfg: flash,
 * pacing, boot, flash-file, trace, mac, and every sim_config_option name.
 * buf is modified; cfg's strings point into it.  ED_OK or ED_ERR_ARG with
 * one sentence in err.
 */
int sim_server_parse_spec(char *buf, struct sim_config *cfg, char *err,
                          size_t errlen);

#endif
