/*
 * Unit tests for the simulator's faulty line (src/sim/sim_fault.c): the
 * spec parser, determinism per seed, rates, directions, the stall and the
 * cut, and the cut through an in-process sim: port (connection lost, then
 * a fresh open works).
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "port.h"
#include "sim/sim.h"
#include "sim/sim_fault.h"
#include "test.h"

void test_sim_fault__parse_example(void)
{
    struct sim_fault_spec f;
    char err[256];

    T_EQ_INT(sim_fault_parse(&f, "h2b:flip=1e-4,b2h:drop=1e-5,stall=5s@"
                             "200000,cut@300000,seed=7", err, sizeof err),
             ED_OK);
    T_ASSERT(f.any);
    T_ASSERT(f.rate[0][SIM_FAULT_FLIP] == 1e-4);
    T_ASSERT(f.rate[1][SIM_FAULT_FLIP] == 0);
    T_ASSERT(f.rate[1][SIM_FAULT_DROP] == 1e-5);
    T_ASSERT(f.rate[0][SIM_FAULT_DROP] == 0);
    T_ASSERT(f.stall.set && !f.stall.at_time);
    T_EQ_INT(f.stall.at, 200000);
    T_EQ_INT(f.stall.len_us, 5000000);
    T_EQ_INT(f.stall.dirs, SIM_FAULT_H2B | SIM_FAULT_B2H);
    T_ASSERT(f.cut.set && !f.cut.at_time);
    T_EQ_INT(f.cut.at, 300000);
    T_EQ_INT(f.seed, 7);

    T_EQ_INT(sim_fault_parse(&f, "both:junk=0.5,dup=1,h2b:stall=250ms@1.5s,"
                             "b2h:cut@0x100", err, sizeof err), ED_OK);
    T_ASSERT(f.rate[0][SIM_FAULT_JUNK] == 0.5 &&
             f.rate[1][SIM_FAULT_JUNK] == 0.5);
    T_ASSERT(f.rate[0][SIM_FAULT_DUP] == 1 && f.rate[1][SIM_FAULT_DUP] == 1);
    T_ASSERT(f.stall.at_time);
    T_EQ_INT(f.stall.at, 1500000);
    T_EQ_INT(f.stall.len_us, 250000);
    T_EQ_INT(f.stall.dirs, SIM_FAULT_H2B);
    T_EQ_INT(f.cut.dirs, SIM_FAULT_B2H);
    T_EQ_INT(f.cut.at, 0x100);
    T_EQ_INT(f.seed, 1); /* the default */

    T_EQ_INT(sim_fault_parse(&f, "", err, sizeof err), ED_OK);
    T_ASSERT(!f.any);
    T_EQ_INT(sim_fault_parse(&f, "flip=0,seed=3", err, sizeof err), ED_OK);
    T_ASSERT(!f.any);
}

void test_sim_fault__parse_errors(void)
{
    static const char *const bad[] = {
        "flop=1e-4",     "x2y:flip=1e-4", "flip=2",      "flip=-1",
        "flip=abc",      "flip",          "stall=5s",    "stall=0s@100",
        "stall=5@100",   "stall=5s@x",    "cut@",        "cut@1,cut@2",
        "stall=1s@1,stall=1s@2",          "h2b:seed=3",  "seed=-1",
        "drop=1e-4x",    "cut@5h",
    };
    struct sim_fault_spec f;
    char err[256];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (sim_fault_parse(&f, bad[i], err, sizeof err) != ED_ERR_ARG) {
            t_fail(__FILE__, __LINE__, "'%s' was accepted", bad[i]);
            return;
        }
        T_ASSERT(strstr(err, "fault '"));
        T_ASSERT(!f.any);
    }
    /* the sentence names the item and shows the syntax */
    sim_fault_parse(&f, "flip=1e-4,b2h:flop=3", err, sizeof err);
    T_ASSERT(strstr(err, "'b2h:flop=3'"));
    T_ASSERT(strstr(err, "docs/simulator.md"));
}

/* Pass n bytes of pattern through direction dir; out gets what arrives. */
static size_t run_line(struct sim_fault *f, unsigned dir, size_t n,
                       uint8_t *out)
{
    size_t got = 0;

    for (size_t i = 0; i < n; i++) {
        int64_t t = (int64_t)i;
        got += sim_fault_byte(f, dir, (uint8_t)(i * 7), &t, out + got);
    }
    return got;
}

void test_sim_fault__deterministic_per_seed(void)
{
    struct sim_fault_spec sp;
    struct sim_fault a, b, c;
    char err[256];
    size_t n = 100000, na, nb, nc;
    uint8_t *oa = malloc(n * 8), *ob = malloc(n * 8), *oc = malloc(n * 8);

    T_ASSERT(oa && ob && oc);
    T_EQ_INT(sim_fault_parse(&sp, "drop=1e-3,flip=1e-3,junk=1e-3,dup=1e-3,"
                             "seed=42", err, sizeof err), ED_OK);
    sim_fault_init(&a, &sp);
    sim_fault_init(&b, &sp);
    na = run_line(&a, SIM_FAULT_H2B, n, oa);
    nb = run_line(&b, SIM_FAULT_H2B, n, ob);
    T_EQ_INT(na, nb);
    T_EQ_MEM(oa, ob, na);
    T_ASSERT(memcmp(&a.injected, &b.injected, sizeof a.injected) == 0);
    /* another seed damages other bytes */
    sp.seed = 43;
    sim_fault_init(&c, &sp);
    nc = run_line(&c, SIM_FAULT_H2B, n, oc);
    T_ASSERT(nc != na || memcmp(oa, oc, na) != 0);
    /* ~100 of each kind in 100000 bytes at 1e-3 */
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        T_ASSERT(a.injected[0][k] >= 50 && a.injected[0][k] <= 160);
        T_EQ_INT(a.injected[1][k], 0);
    }
    free(oa);
    free(ob);
    free(oc);
}

void test_sim_fault__directions_apart(void)
{
    struct sim_fault_spec sp;
    struct sim_fault f;
    char err[256];
    uint8_t out[8];
    size_t i, n = 0;

    T_EQ_INT(sim_fault_parse(&sp, "h2b:flip=1", err, sizeof err), ED_OK);
    sim_fault_init(&f, &sp);
    for (i = 0; i < 1000; i++) {
        int64_t t = 0;
        n = sim_fault_byte(&f, SIM_FAULT_B2H, 0x5A, &t, out);
        T_EQ_INT(n, 1);
        T_EQ_INT(out[0], 0x5A);
        n = sim_fault_byte(&f, SIM_FAULT_H2B, 0x5A, &t, out);
        T_EQ_INT(n, 1);
        /* exactly one bit flips */
        T_ASSERT(out[0] != 0x5A);
        T_EQ_INT(__builtin_popcount(out[0] ^ 0x5A), 1);
    }
    T_EQ_INT(f.injected[0][SIM_FAULT_FLIP], 1000);
    T_EQ_INT(f.injected[1][SIM_FAULT_FLIP], 0);
}

void test_sim_fault__stall_once(void)
{
    struct sim_fault_spec sp;
    struct sim_fault f;
    char err[256];
    uint8_t out[8];

    T_EQ_INT(sim_fault_parse(&sp, "h2b:stall=2s@10", err, sizeof err),
             ED_OK);
    sim_fault_init(&f, &sp);
    for (int i = 0; i < 30; i++) {
        int64_t t = 1000 + i, t_b2h = 1000 + i;
        T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_H2B, 1, &t, out), 1);
        /* bytes 0..9 pass at their time; byte 10 starts the stall */
        T_EQ_INT(t, i < 10 ? 1000 + i : 1010 + 2000000);
        /* the other direction goes on */
        T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_B2H, 1, &t_b2h, out), 1);
        T_EQ_INT(t_b2h, 1000 + i);
    }
    {
        /* after the stall: on time again, and never a second stall */
        int64_t t = 1010 + 2000000 + 5;
        T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_H2B, 1, &t, out), 1);
        T_EQ_INT(t, 1010 + 2000000 + 5);
    }
}

void test_sim_fault__cut_once(void)
{
    struct sim_fault_spec sp;
    struct sim_fault f;
    char err[256];
    uint8_t out[8];
    int64_t t;

    T_EQ_INT(sim_fault_parse(&sp, "cut@5", err, sizeof err), ED_OK);
    sim_fault_init(&f, &sp);
    sim_fault_connect(&f, 0);
    for (int i = 0; i < 5; i++) {
        t = 100 + i;
        /* both directions count towards a "both" offset */
        T_EQ_INT(sim_fault_byte(&f, i % 2 ? SIM_FAULT_B2H : SIM_FAULT_H2B,
                                1, &t, out), 1);
    }
    T_ASSERT(!sim_fault_cut_due(&f, 104));
    t = 105;
    T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_H2B, 1, &t, out), 0);
    t = 106;
    T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_B2H, 1, &t, out), 0);
    T_EQ_INT(sim_fault_next_us(&f), 105);
    T_ASSERT(sim_fault_cut_due(&f, 105));
    T_ASSERT(!sim_fault_cut_due(&f, 106)); /* once */
    /* the next connection carries bytes again */
    t = 200;
    T_EQ_INT(sim_fault_byte(&f, SIM_FAULT_H2B, 1, &t, out), 1);

    /* a cut at a time comes even on a silent line */
    T_EQ_INT(sim_fault_parse(&sp, "cut@2s", err, sizeof err), ED_OK);
    sim_fault_init(&f, &sp);
    sim_fault_connect(&f, 1000);
    T_EQ_INT(sim_fault_next_us(&f), 2001000);
    T_ASSERT(!sim_fault_cut_due(&f, 2000999));
    T_ASSERT(sim_fault_cut_due(&f, 2001000));
}

/* SYNC, SLIP-framed by hand. */
static size_t sync_frame(uint8_t *f)
{
    static const uint8_t hdr[] = {0x00, 0x08, 0x24, 0x00, 0, 0, 0, 0,
                                  0x07, 0x07, 0x12, 0x20};
    size_t n = 0;

    f[n++] = 0xC0;
    memcpy(f + n, hdr, sizeof hdr);
    n += sizeof hdr;
    for (int i = 0; i < 32; i++)
        f[n++] = 0x55;
    f[n++] = 0xC0;
    return n;
}

/* Everything a board says to SYNCs, through one sim's line. */
static size_t board_answers(const char *fault, uint8_t *buf, size_t cap)
{
    struct sim_config cfg;
    struct sim *s = NULL;
    char err[256];
    uint8_t f[64];
    size_t fl = sync_frame(f), n = 0;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    if (sim_config_option(&cfg, "fault", fault, err, sizeof err) != ED_OK ||
        sim_new(&s, &cfg, err, sizeof err) != ED_OK)
        return 0;
    sim_connect(s, false, 0);
    for (int i = 0; i < 20; i++) {
        sim_rx(s, f, fl, 1000 * i);
        n += sim_tx(s, buf + n, cap - n, 1000 * i + 500);
    }
    sim_free(s);
    return n;
}

void test_sim_fault__board_line_deterministic(void)
{
    size_t cap = 65536, n0, n1, n2;
    uint8_t *a = malloc(cap), *b = malloc(cap), *c = malloc(cap);

    T_ASSERT(a && b && c);
    n0 = board_answers("", c, cap);
    T_ASSERT(n0 > 1000); /* banner and 20 x 8 SYNC replies */
    n1 = board_answers("b2h:flip=0.01,b2h:junk=0.01,seed=9", a, cap);
    n2 = board_answers("b2h:flip=0.01,b2h:junk=0.01,seed=9", b, cap);
    T_EQ_INT(n1, n2);
    T_EQ_MEM(a, b, n1);
    T_ASSERT(n1 != n0 || memcmp(a, c, n0) != 0); /* and it did damage */
    free(a);
    free(b);
    free(c);
}

void test_sim_fault__port_cut_then_reopen(void)
{
    struct port *p = NULL;
    char err[ED_ERRMSG_MAX];
    uint8_t f[64], buf[4096];
    size_t fl = sync_frame(f);
    int rc = ED_OK, r = 0;

    T_EQ_INT(port_open(&p, "sim:esp32?pacing=0&fault=h2b:cut@100", 115200,
                       NULL, err, sizeof err), ED_OK);
    /* two SYNCs (46 bytes each) pass; the third is cut */
    for (int i = 0; i < 3 && rc == ED_OK; i++)
        rc = port_write(p, f, fl, 100);
    T_EQ_INT(rc, ED_ERR_CLOSED);
    T_ASSERT(strstr(port_errmsg(p), "connection lost"));
    T_ASSERT(strstr(port_errmsg(p), "open the port again"));
    /* and it stays lost */
    r = port_read(p, buf, sizeof buf, 10);
    T_EQ_INT(r, ED_ERR_CLOSED);
    T_EQ_INT(port_write(p, f, fl, 100), ED_ERR_CLOSED);
    port_close(p);
    /* a new open works (a fresh board, the cut counted anew) */
    T_EQ_INT(port_open(&p, "sim:esp32?pacing=0&fault=h2b:cut@100", 115200,
                       NULL, err, sizeof err), ED_OK);
    T_EQ_INT(port_write(p, f, fl, 100), ED_OK);
    port_close(p);
    /* a bad spec is one sentence at open */
    T_ASSERT(port_open(&p, "sim:esp32?fault=flip=9", 115200, NULL, err,
                       sizeof err) != ED_OK);
    T_ASSERT(strstr(err, "fault 'flip=9'"));
}
