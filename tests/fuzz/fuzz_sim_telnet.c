/*
 * The simulator's RFC 2217 server (src/sim/sim_server.c: it listens on a
 * socket): the Telnet state machine and the COM-PORT-OPTION requests on
 * what a client sends - options, sub-negotiations (baud, DTR/RTS,
 * purge...), doubled IACs, SLIP data for the board - all cut anywhere.
 * Input: a slice byte (bits 0..3: cut every 1..16 bytes; bit 7: ESP32-C3
 * instead of ESP32), then the client's bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

static struct sim *board(uint8_t mode)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = mode & 0x80 ? "esp32c3" : "esp32";
    cfg.flash_size = 256 * 1024;
    cfg.no_pacing = true;
    if (sim_new(&s, &cfg, err, sizeof err) != 0)
        abort();
    sim_connect(s, false, 0);
    return s;
}

FUZZ_TARGET(sim_telnet)
{
    static uint8_t out[65536], out2[65536];
    struct sim *s;
    size_t n, m;

    if (size < 1)
        return 0;
    /* at once, then cut every few bytes: the same answers (the parser
     * keeps a sequence split across reads) */
    s = board(data[0]);
    n = sim_server_telnet_feed(s, data + 1, size - 1, 0, out, sizeof out);
    sim_free(s);
    s = board(data[0]);
    m = sim_server_telnet_feed(s, data + 1, size - 1, 1 + (data[0] & 15),
                               out2, sizeof out2);
    sim_free(s);
    FUZZ_CHECK(n == m);
    FUZZ_CHECK(memcmp(out, out2, n < sizeof out ? n : sizeof out) == 0);
    /* only Telnet answers go back from the parser, each starting IAC */
    FUZZ_CHECK(n == 0 || out[0] == 0xFF);
    /* bounded: a client that never reads cannot grow the queue for ever */
    FUZZ_CHECK(n <= 512 * 1024);
    return 0;
}
