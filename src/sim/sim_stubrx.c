/*
 * sim_stubrx.c - the flasher stub's receiver, rule for rule as
 * esp-flasher-stub v1.1.0 has it (the simulator's own code: espdeck's
 * shared decoder, src/proto/slip.c, recovers by itself where this one
 * does not).
 *
 * slip.c:102-142, slip_recv_byte(), run by the UART interrupt for each
 * byte of a FIFO batch (transport.c:25-35):
 *   NO_FRAME  a 0xC0 opens a frame only while a buffer is armed; every
 *             other byte, and a 0xC0 without a buffer, is ignored.
 *   IN_FRAME  0xC0 with bytes: the frame is complete, the buffer disarmed;
 *             0xC0 without bytes: an empty frame, back to NO_FRAME with the
 *             buffer still armed (so a repeated 0xC0 toggles: open, close,
 *             open ...); 0xDB escapes; a byte past the buffer is an error
 *             (rx_put, :91-100), the buffer disarmed, NO_FRAME.
 *   ESCAPING  0xDC/0xDD put 0xC0/0xDB; anything else (0xC0 included) is
 *             an error, the buffer disarmed, NO_FRAME: the rest of that
 *             frame is ignored only until the main loop re-arms, and then
 *             its closing 0xC0 opens a frame.
 * frame_buffer.c:30-41 (acquire) and transport.c:53-69 (recv_poll): the
 * main loop, when not handling a command, picks a finished buffer (the
 * spare first, errors first, :54-74), then arms the receiver: the same
 * buffer if it is still free, else the other if free, else none
 * (s_rx_buf = NULL).  The picked buffer is released after handle_command
 * returns (main.c:74-87); an error is released at once.
 */
#include "sim/sim_stubrx.h"

#include <stdlib.h>
#include <string.h>

enum { NO_FRAME, IN_FRAME, ESCAPING };

int sim_stubrx_init(struct sim_stubrx *rx, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->cap = cap;
    rx->buf[0].b = malloc(cap);
    rx->buf[1].b = malloc(cap);
    if (!rx->buf[0].b || !rx->buf[1].b) {
        sim_stubrx_free(rx);
        return -1;
    }
    sim_stubrx_reset(rx);
    return 0;
}

void sim_stubrx_free(struct sim_stubrx *rx)
{
    free(rx->buf[0].b);
    free(rx->buf[1].b);
    rx->buf[0].b = rx->buf[1].b = NULL;
}

void sim_stubrx_reset(struct sim_stubrx *rx)
{
    for (int i = 0; i < 2; i++) {
        rx->buf[i].len = 0;
        rx->buf[i].complete = rx->buf[i].error = false;
    }
    rx->state = NO_FRAME;
    rx->rx_idx = rx->proc_idx = 0;
    rx->len = 0;
    rx->batch = 0;
    rx->armed = 0; /* stub_transport_init(): slip_do_rearm() */
}

static void fail(struct sim_stubrx *rx, int64_t t)
{
    /* frame_buffer_mark_error(): the buffer being received into */
    rx->buf[rx->rx_idx].error = true;
    rx->buf[rx->rx_idx].t = t;
    rx->armed = -1;
    rx->state = NO_FRAME;
}

static void put(struct sim_stubrx *rx, uint8_t b, int64_t t)
{
    if (rx->len < rx->cap)
        rx->buf[rx->armed].b[rx->len++] = b;
    else
        fail(rx, t);
}

void sim_stubrx_byte(struct sim_stubrx *rx, uint8_t b, int64_t t)
{
    switch (rx->state) {
    case NO_FRAME:
        if (b == 0xC0 && rx->armed >= 0) {
            rx->len = 0;
            rx->state = IN_FRAME;
        } else {
            rx->ignored++;
        }
        break;
    case IN_FRAME:
        if (b == 0xC0) {
            if (rx->len > 0) {
                /* frame_buffer_mark_complete(): into s_rx_idx (the armed
                 * buffer is always that one) */
                rx->buf[rx->rx_idx].len = rx->len;
                rx->buf[rx->rx_idx].complete = true;
                rx->buf[rx->rx_idx].t = t;
                rx->armed = -1;
            }
            rx->len = 0;
            rx->state = NO_FRAME;
        } else if (b == 0xDB) {
            rx->state = ESCAPING;
        } else {
            put(rx, b, t);
        }
        break;
    case ESCAPING:
        rx->state = IN_FRAME;
        if (b == 0xDC)
            put(rx, 0xC0, t);
        else if (b == 0xDD)
            put(rx, 0xDB, t);
        else
            fail(rx, t);
        break;
    }
}

static bool taken(const struct sim_stubrx_buf *f)
{
    return f->complete || f->error;
}

/* frame_buffer_get_state(): the spare first, errors before frames */
static int select_buf(struct sim_stubrx *rx)
{
    unsigned other = 1u - rx->rx_idx;

    if (rx->buf[other].error)
        rx->proc_idx = other;
    else if (rx->buf[rx->rx_idx].error)
        rx->proc_idx = rx->rx_idx;
    else if (rx->buf[other].complete)
        rx->proc_idx = other;
    else if (rx->buf[rx->rx_idx].complete)
        rx->proc_idx = rx->rx_idx;
    else
        return 0;
    return rx->buf[rx->proc_idx].error ? -1 : 1;
}

/* frame_buffer_acquire() + slip_rearm() */
static void rearm(struct sim_stubrx *rx)
{
    if (taken(&rx->buf[rx->rx_idx])) {
        unsigned other = 1u - rx->rx_idx;

        if (taken(&rx->buf[other])) {
            rx->armed = -1;
            return;
        }
        rx->rx_idx = other;
    }
    rx->armed = (int)rx->rx_idx;
}

int sim_stubrx_poll(struct sim_stubrx *rx, const uint8_t **f, size_t *len,
                    int64_t *t)
{
    int st = select_buf(rx);
    struct sim_stubrx_buf *p = &rx->buf[rx->proc_idx];

    if (!st)
        return 0;
    rearm(rx);
    *t = p->t;
    *f = p->b;
    *len = p->len;
    /* frame_buffer_reset(): released now; the frame's bytes stay as they
     * are until that buffer is armed again, which only a later poll does,
     * after the caller handled them (main.c:82-86) */
    p->complete = p->error = false;
    return st;
}

int64_t sim_stubrx_pending_t(const struct sim_stubrx *rx)
{
    int64_t t = -1;

    for (int i = 0; i < 2; i++)
        if (taken(&rx->buf[i]) && (t < 0 || rx->buf[i].t < t))
            t = rx->buf[i].t;
    return t;
}

bool sim_stubrx_in_step(const struct sim_stubrx *rx)
{
    return rx->state == NO_FRAME && rx->armed >= 0;
}
