/*
 * sim_fault.h - a faulty line between the host and a simulated board.
 *
 * A fault spec (docs/simulator.md, "Fault injection") names what the line
 * does to the bytes that cross it, per direction:
 *
 *   h2b:flip=1e-4,b2h:drop=1e-5,stall=5s@200000,cut@300000,seed=7
 *
 *   [DIR:]KIND=RATE     KIND drop | flip | junk | dup, RATE a probability
 *                       per byte (0..1, e.g. 1e-4)
 *   [DIR:]stall=DUR@AT  the line stops for DUR (5s, 500ms; up to 1 hour)
 *                       once, at AT
 *   [DIR:]cut@AT        the connection is lost once, at AT
 *   seed=N              the random stream (default 1)
 *   DIR                 h2b (host to board), b2h (board to host) or both
 *                       (the default)
 *   AT                  a byte offset (counted in DIR's bytes, both
 *                       directions summed for "both"; 12000, 0x3000, 64k)
 *                       or a time since the first connection (2.5s, 300ms)
 *
 * The parser is shared by `espdeck sim --fault SPEC` and `sim:CHIP?fault=`
 * (both through sim_config_option()).  The state is a value inside each
 * struct sim: no globals, one random stream per direction, so the same
 * spec and seed damage the same bytes of the same traffic.
 */
#ifndef ED_SIM_FAULT_H
#define ED_SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_fault_kind {
    SIM_FAULT_DROP,  /* the byte is lost */
    SIM_FAULT_FLIP,  /* one bit of the byte flips */
    SIM_FAULT_JUNK,  /* 1..4 random bytes arrive before it */
    SIM_FAULT_DUP,   /* the byte arrives twice */
    SIM_FAULT_KINDS,
};

/* Directions as bits. */
#define SIM_FAULT_H2B 1u
#define SIM_FAULT_B2H 2u

/* One stall or cut. */
struct sim_fault_event {
    bool set;
    uint8_t dirs;       /* SIM_FAULT_H2B | SIM_FAULT_B2H */
    bool at_time;       /* at is microseconds since the first connection */
    uint64_t at;        /* else a byte offset in dirs' bytes */
    int64_t len_us;     /* stall: how long the line stops */
};

struct sim_fault_spec {
    double rate[2][SIM_FAULT_KINDS]; /* [0] host->board, [1] board->host */
    struct sim_fault_event stall, cut;
    uint64_t seed;
    bool any;           /* anything at all to do */
};

/* The line's state: a value inside struct sim. */
struct sim_fault {
    struct sim_fault_spec spec;
    uint64_t rng[2];            /* per direction */
    uint64_t count[2];          /* bytes offered per direction */
    uint64_t injected[2][SIM_FAULT_KINDS];
    int64_t t0;                 /* first connection, -1 before */
    int64_t stall_from, stall_until; /* -1 until the stall starts */
    int64_t cut_at;             /* -1 until the cut is decided */
    bool cut_reported;
};

/*
 * Parse spec into out (zeroed first; "" is no fault).  Returns ED_OK or
 * ED_ERR_ARG with one sentence naming the bad item in err.
 */
int sim_fault_parse(struct sim_fault_spec *out, const char *spec, char *err,
                    size_t errlen);

void sim_fault_init(struct sim_fault *f, const struct sim_fault_spec *spec);

/* The first connection's time (later calls do nothing). */
void sim_fault_connect(struct sim_fault *f, int64_t now_us);

/*
 * One byte b crosses the line in direction dir (SIM_FAULT_H2B or _B2H),
 * due at *t.  Writes what arrives instead (0..5 bytes, in order) to out and
 * returns the count; *t moves later when the line stalls.  After the cut
 * nothing arrives.
 */
size_t sim_fault_byte(struct sim_fault *f, unsigned dir, uint8_t b,
                      int64_t *t, uint8_t out[8]);

/*
 * The cut is due by now_us (the transport drops the connection): true
 * once.  A cut at a time is due then even on a silent line.
 */
bool sim_fault_cut_due(struct sim_fault *f, int64_t now_us);

/* When a pending cut at a time falls due (absolute us), or -1. */
int64_t sim_fault_next_us(const struct sim_fault *f);

#endif
