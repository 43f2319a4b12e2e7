/*
 * The SLIP decoder (src/proto/slip.c) on bytes from the line, sliced as a
 * port might deliver them; and encode/decode round trips.
 */
#include <string.h>

#include "fuzz.h"
#include "slip.h"

FUZZ_TARGET(slip)
{
    static uint8_t frame[0x4000 + 64], enc[2 * 4096 + 2];
    struct slip_decoder d;
    size_t off = 0, step;

    if (size < 1)
        return 0;
    step = 1 + data[0] % 64; /* how the port slices the bytes */
    slip_decoder_init(&d, frame, sizeof frame);
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used, flen = 0;

        used = slip_decode(&d, data + off, n, &flen);
        FUZZ_CHECK(used <= n);
        FUZZ_CHECK(flen <= sizeof frame);
        FUZZ_CHECK(d.junk_len <= sizeof d.junk);
        if (used == 0 && !flen)
            used = n; /* must not happen, but never loop */
        off += used;
    }
    /* whatever goes in encoded comes out as one frame, unchanged */
    if (size - 1 <= 4096) {
        size_t n = slip_encode(enc, sizeof enc, data + 1, size - 1), flen = 0,
               used;

        slip_decoder_init(&d, frame, sizeof frame);
        used = slip_decode(&d, enc, n, &flen);
        FUZZ_CHECK(used == n);
        FUZZ_CHECK(flen == size - 1);
        FUZZ_CHECK(memcmp(frame, data + 1, flen) == 0);
    }
    return 0;
}
