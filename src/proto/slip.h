/*
 * slip.h - SLIP framing as the ESP serial loader uses it.
 *
 * A frame is 0xC0 <body> 0xC0 with 0xDB escaped as DB DD and 0xC0 as DB DC.
 * The decoder is a byte-at-a-time state machine that the caller feeds with
 * whatever the port returned; it hands back one complete frame at a time.
 *
 * Resync rules (the reason this is not ten lines):
 *  - bytes outside a frame are "junk" (boot banner, app output); they are
 *    collected in a small ring so the caller can show what the board said;
 *  - runs of 0xC0 are collapsed (the ROM sends stray delimiters after a baud
 *    change), so an empty frame is never reported;
 *  - a body longer than the decoder's capacity is dropped up to the next 0xC0
 *    and counted as an overflow, so one bad frame does not poison the stream;
 *  - an invalid escape (DB followed by anything but DC/DD) marks the frame bad;
 *    it is dropped at its closing 0xC0 and counted.
 *
 * The simulator uses this module too (framing only); command decoding is
 * written twice on purpose.
 */
#ifndef ED_SLIP_H
#define ED_SLIP_H

#include <stddef.h>
#include <stdint.h>

#define SLIP_END 0xC0
#define SLIP_ESC 0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

#define SLIP_JUNK_MAX 2048

struct slip_decoder {
    uint8_t *buf;   /* frame body, caller-provided storage */
    size_t cap;     /* capacity of buf */
    size_t len;     /* bytes of the body so far */
    int state;      /* internal */
    unsigned overflows; /* frames dropped for being longer than cap */
    unsigned bad_escapes; /* frames dropped for an invalid escape */
    /* Bytes seen outside frames (most recent SLIP_JUNK_MAX kept). */
    uint8_t junk[SLIP_JUNK_MAX];
    size_t junk_len;
    size_t junk_total; /* all junk bytes ever seen, for "garbage on the line" */
};

/* Set up a decoder over caller storage buf[cap]. */
void slip_decoder_init(struct slip_decoder *d, uint8_t *buf, size_t cap);

/* Forget any partial frame (e.g. after a baud change). Junk is kept. */
void slip_decoder_reset(struct slip_decoder *d);

/* Forget collected junk. */
void slip_decoder_clear_junk(struct slip_decoder *d);

/*
 * Feed bytes.  Returns the number of bytes of in[] consumed.  When a frame is
 * complete, stops right after its closing 0xC0, sets *frame_len to the body
 * length (the body is in d->buf) and returns; otherwise *frame_len is 0 and
 * all of in[] is consumed.  The next call starts a fresh body.
 */
size_t slip_decode(struct slip_decoder *d, const uint8_t *in, size_t n,
                   size_t *frame_len);

/*
 * Encode body[len] as one frame into out[cap].  Returns the number of bytes
 * written, or 0 if cap is too small (2*len + 2 always suffices).
 */
size_t slip_encode(uint8_t *out, size_t cap, const uint8_t *body, size_t len);

/* Worst-case encoded size of a body of len bytes. */
#define SLIP_ENCODED_MAX(len) (2 * (len) + 2)

#endif
