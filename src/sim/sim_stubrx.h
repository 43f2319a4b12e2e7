/*
 * sim_stubrx.h - the flasher stub's receiver, as esp-flasher-stub's own
 * (src/slip.c, src/frame_buffer.c, src/transport.c): not espdeck's
 * lenient shared SLIP decoder.  See docs/simulator.md "The stub's
 * receiver".
 */
#ifndef ESPDECK_SIM_STUBRX_H
#define ESPDECK_SIM_STUBRX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* UART RX interrupt: FIFO-full threshold (transport.c:192, bytes) and
 * RX timeout (transport.c:189, in symbol times). */
/* FRAME_BUFFER_SIZE (frame_buffer.h:18) */
#define SIM_STUB_FRAME_CAP (8u + 0x4000u + 0xFFu)
#define SIM_STUBRX_BATCH 32u
#define SIM_STUBRX_TOUT_SYMBOLS 10u

struct sim_stubrx_buf {
    uint8_t *b;
    size_t len;
    bool complete, error;
    int64_t t;                 /* when it completed or failed */
};

struct sim_stubrx {
    int state;                 /* slip.c's s_state */
    int armed;                 /* s_rx_buf: the buffer index, -1 = NULL */
    size_t len;                /* s_rx_len */
    size_t cap;                /* FRAME_BUFFER_SIZE */
    unsigned rx_idx, proc_idx; /* frame_buffer.c's */
    struct sim_stubrx_buf buf[2];
    unsigned batch;            /* bytes of the ISR batch so far */
    uint64_t ignored;          /* bytes that found no frame (statistics) */
};

int sim_stubrx_init(struct sim_stubrx *rx, size_t cap);
void sim_stubrx_free(struct sim_stubrx *rx);
/* The stub starts: BSS zeroed, the first buffer armed (transport.c). */
void sim_stubrx_reset(struct sim_stubrx *rx);
/* The ISR hands one byte to slip_recv_byte() at time t. */
void sim_stubrx_byte(struct sim_stubrx *rx, uint8_t b, int64_t t);
/*
 * The main loop's recv_poll(): 0 when idle; else the buffer it selected
 * is re-armed around (the spare armed) and 1 returns the frame (*f, *len,
 * *t when it completed; valid until the next call), -1 a receive error.
 * The caller handles the frame; the buffer is released on the next call
 * (release is idempotent and the ISR never writes the proc buffer).
 */
int sim_stubrx_poll(struct sim_stubrx *rx, const uint8_t **f, size_t *len,
                    int64_t *t);
/* The earliest time a frame or error waits for the main loop, or -1. */
int64_t sim_stubrx_pending_t(const struct sim_stubrx *rx);
/* Is the receiver between frames with a buffer armed? (tests) */
bool sim_stubrx_in_step(const struct sim_stubrx *rx);

#endif
