/*
 * The RFC 2217 client's Telnet state machine (src/port/port_rfc2217.c)
 * on what a server (ser2net, a stranger on the network) sends: options,
 * sub-negotiations, doubled IACs, all cut anywhere.  Its answers go to a
 * socketpair that is drained after each piece.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "port_internal.h"

static int pair[2] = {-1, -1};

static void drain(void)
{
    uint8_t junk[4096];
    while (read(pair[1], junk, sizeof junk) > 0)
        ;
}

FUZZ_TARGET(rfc2217)
{
    static uint8_t out[65536], out2[65536];
    int n, m;

    if (size < 1)
        return 0;
    if (pair[0] < 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
            abort();
        fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
        fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) | O_NONBLOCK);
    }
    /* at once, then cut every few bytes: the same data comes out (the
     * state machine keeps a sequence split across reads) */
    n = port_rfc2217_feed(pair[0], data + 1, size - 1, 0, out, sizeof out);
    drain();
    m = port_rfc2217_feed(pair[0], data + 1, size - 1, 1 + data[0] % 16,
                          out2, sizeof out2);
    drain();
    FUZZ_CHECK(n < 0 || (size_t)n <= size - 1);
    if (n >= 0 && m >= 0) {
        FUZZ_CHECK(n == m);
        FUZZ_CHECK(memcmp(out, out2, (size_t)n) == 0);
    }
    return 0;
}
