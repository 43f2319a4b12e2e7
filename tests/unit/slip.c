#include "slip.h"
#include "test.h"

void test_slip__roundtrip_escapes(void)
{
    uint8_t body[] = {0x01, 0xC0, 0x02, 0xDB, 0xC0, 0xDB};
    uint8_t wire[32], buf[64];
    struct slip_decoder d;
    size_t n, used, flen;

    n = slip_encode(wire, sizeof wire, body, sizeof body);
    T_EQ_INT(n, 2 + 6 + 4);
    T_EQ_INT(wire[0], 0xC0);
    T_EQ_INT(wire[2], 0xDB);
    T_EQ_INT(wire[3], 0xDC);
    slip_decoder_init(&d, buf, sizeof buf);
    used = slip_decode(&d, wire, n, &flen);
    T_EQ_INT(used, n);
    T_EQ_INT(flen, sizeof body);
    T_EQ_MEM(buf, body, sizeof body);
}

void test_slip__junk_and_repeated_delimiters(void)
{
    const uint8_t wire[] = "boot text\r\n\xC0\xC0\xC0\x01\x02\xC0";
    uint8_t buf[64];
    struct slip_decoder d;
    size_t flen, used;

    slip_decoder_init(&d, buf, sizeof buf);
    used = slip_decode(&d, wire, sizeof wire - 1, &flen);
    T_EQ_INT(used, sizeof wire - 1);
    T_EQ_INT(flen, 2);
    T_EQ_INT(d.junk_len, 11);
    T_EQ_MEM(d.junk, "boot text\r\n", 11);
}

void test_slip__overlong_frame_resyncs(void)
{
    uint8_t wire[64], buf[4];
    struct slip_decoder d;
    size_t i, n = 0, flen = 0, off = 0;

    wire[n++] = 0xC0;
    for (i = 0; i < 10; i++)
        wire[n++] = (uint8_t)i;
    wire[n++] = 0xC0;
    wire[n++] = 0xC0;
    wire[n++] = 0xAA;
    wire[n++] = 0xC0;
    slip_decoder_init(&d, buf, sizeof buf);
    while (off < n && flen == 0)
        off += slip_decode(&d, wire + off, n - off, &flen);
    T_EQ_INT(flen, 1);
    T_EQ_INT(buf[0], 0xAA);
    T_EQ_INT(d.overflows, 1);
}

void test_slip__bad_escape_drops_frame(void)
{
    const uint8_t wire[] = {0xC0, 0x01, 0xDB, 0x33, 0x02, 0xC0, 0xC0, 0x07, 0xC0};
    uint8_t buf[16];
    struct slip_decoder d;
    size_t flen = 0, off = 0;

    slip_decoder_init(&d, buf, sizeof buf);
    while (off < sizeof wire && flen == 0)
        off += slip_decode(&d, wire + off, sizeof wire - off, &flen);
    T_EQ_INT(flen, 1);
    T_EQ_INT(buf[0], 0x07);
    T_EQ_INT(d.bad_escapes, 1);
}

void test_slip__encode_too_small(void)
{
    uint8_t out[4];
    const uint8_t body[] = {0xC0, 0xC0};
    T_EQ_INT(slip_encode(out, sizeof out, body, 2), 0);
}
