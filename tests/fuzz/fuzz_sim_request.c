/*
 * The simulator's request decoder (src/sim/): bytes from a client (it
 * listens on a socket) into a board in ROM download mode or running the
 * stub, sliced as a network delivers them.  Input: a mode byte (bit 0:
 * start the stub first; bits 1..6: slice length), then the line.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sim/sim.h"
#include "slip.h"

/* One command frame, SLIP-encoded, into the board. */
static void cmd(struct sim *s, uint8_t op, const uint8_t *d, size_t n,
                uint32_t chk, int64_t t)
{
    uint8_t body[8 + 64], wire[2 * sizeof body + 2];
    size_t w;

    body[0] = 0;
    body[1] = op;
    body[2] = (uint8_t)n;
    body[3] = (uint8_t)(n >> 8);
    body[4] = (uint8_t)chk;
    body[5] = (uint8_t)(chk >> 8);
    body[6] = (uint8_t)(chk >> 16);
    body[7] = (uint8_t)(chk >> 24);
    memcpy(body + 8, d, n);
    w = slip_encode(wire, sizeof wire, body, 8 + n);
    sim_rx(s, wire, w, t);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A RAM image that is not an app: the board takes it as a stub (OHAI). */
static void start_stub(struct sim *s)
{
    uint8_t d[16 + 32], chk = 0xEF;

    put32(d, 32);
    put32(d + 4, 1);
    put32(d + 8, 0x1800);
    put32(d + 12, 0x40080000);
    cmd(s, 0x05, d, 16, 0, 0);
    put32(d, 32);
    put32(d + 4, 0);
    put32(d + 8, 0);
    put32(d + 12, 0);
    memset(d + 16, 0x13, 32);
    for (int i = 0; i < 32; i++)
        chk ^= 0x13;
    cmd(s, 0x07, d, 48, chk, 0);
    put32(d, 0);
    put32(d + 4, 0x40080004);
    cmd(s, 0x06, d, 8, 0, 0);
}

FUZZ_TARGET(sim_request)
{
    static uint8_t out[65536];
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];
    size_t off = 1, step;
    int64_t t = 0;

    if (size < 1)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = data[0] & 0x80 ? "esp32c3" : "esp32";
    cfg.flash_size = 256 * 1024;
    cfg.no_pacing = true;
    if (sim_new(&s, &cfg, err, sizeof err) != 0)
        abort();
    sim_connect(s, false, 0);
    while (sim_tx(s, out, sizeof out, t))
        ;
    if (data[0] & 1)
        start_stub(s);
    step = 1 + ((data[0] >> 1) & 0x3F) * 64;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        sim_rx(s, data + off, n, t);
        off += n;
        t += 1000;
        while (sim_tx(s, out, sizeof out, t))
            ;
    }
    /* whatever the board is doing now finishes */
    for (int i = 0; i < 4; i++) {
        int64_t next = sim_next_event_us(s, t);
        if (next < 0 || next > t + 2000000)
            break;
        t = next + 1;
        while (sim_tx(s, out, sizeof out, t))
            ;
    }
    sim_free(s);
    return 0;
}
