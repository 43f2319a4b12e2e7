/*
 * slip.c - SLIP decoder state machine and encoder.
 *
 * DESIGN: the decoder owns no memory and never blocks; it is fed by proto.c
 * (host) and by the simulator with whatever bytes arrived.  States:
 * OUTSIDE (between frames, collecting junk), BODY, ESCAPE (after 0xDB),
 * DISCARD (overlong or bad frame, wait for the next 0xC0).
 */
#include "slip.h"

#include <string.h>

enum { ST_OUTSIDE, ST_BODY, ST_ESCAPE, ST_DISCARD };

void slip_decoder_init(struct slip_decoder *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->buf = buf;
    d->cap = cap;
    d->state = ST_OUTSIDE;
}

void slip_decoder_reset(struct slip_decoder *d)
{
    d->len = 0;
    d->state = ST_OUTSIDE;
}

void slip_decoder_clear_junk(struct slip_decoder *d)
{
    d->junk_len = 0;
}

static void add_junk(struct slip_decoder *d, uint8_t b)
{
    if (d->junk_len == SLIP_JUNK_MAX) {
        memmove(d->junk, d->junk + SLIP_JUNK_MAX / 2, SLIP_JUNK_MAX / 2);
        d->junk_len = SLIP_JUNK_MAX / 2;
    }
    d->junk[d->junk_len++] = b;
    d->junk_total++;
}

static void put(struct slip_decoder *d, uint8_t b)
{
    if (d->len < d->cap) {
        d->buf[d->len++] = b;
    } else {
        d->overflows++;
        d->state = ST_DISCARD;
    }
}

size_t slip_decode(struct slip_decoder *d, const uint8_t *in, size_t n,
                   size_t *frame_len)
{
    size_t i;

    *frame_len = 0;
    for (i = 0; i < n; i++) {
        uint8_t b = in[i];
        switch (d->state) {
        case ST_OUTSIDE:
            if (b == SLIP_END) {
                d->state = ST_BODY;
                d->len = 0;
            } else {
                add_junk(d, b);
            }
            break;
        case ST_BODY:
            if (b == SLIP_END) {
                if (d->len == 0)
                    break; /* repeated delimiter: still at frame start */
                *frame_len = d->len;
                d->state = ST_OUTSIDE;
                d->len = 0;
                return i + 1;
            }
            if (b == SLIP_ESC)
                d->state = ST_ESCAPE;
            else
                put(d, b);
            break;
        case ST_ESCAPE:
            if (b == SLIP_ESC_END) {
                d->state = ST_BODY;
                put(d, SLIP_END);
            } else if (b == SLIP_ESC_ESC) {
                d->state = ST_BODY;
                put(d, SLIP_ESC);
            } else {
                d->bad_escapes++;
                d->state = (b == SLIP_END) ? ST_BODY : ST_DISCARD;
                d->len = 0;
            }
            break;
        case ST_DISCARD:
            if (b == SLIP_END) {
                /* This delimiter may open the next frame. */
                d->state = ST_BODY;
                d->len = 0;
            }
            break;
        }
    }
    return n;
}

size_t slip_encode(uint8_t *out, size_t cap, const uint8_t *body, size_t len)
{
    size_t o = 0, i;

    if (cap < 2)
        return 0;
    out[o++] = SLIP_END;
    for (i = 0; i < len; i++) {
        uint8_t b = body[i];
        if (b == SLIP_END || b == SLIP_ESC) {
            if (o + 2 > cap - 1)
                return 0;
            out[o++] = SLIP_ESC;
            out[o++] = (b == SLIP_END) ? SLIP_ESC_END : SLIP_ESC_ESC;
        } else {
            if (o + 1 > cap - 1)
                return 0;
            out[o++] = b;
        }
    }
    out[o++] = SLIP_END;
    return o;
}
