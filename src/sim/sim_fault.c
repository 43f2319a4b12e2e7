/*
 * sim_fault.c - a faulty line between the host and a simulated board
 * (sim_fault.h; docs/simulator.md, "Fault injection").
 */
#include "sim/sim_fault.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *const kind_names[SIM_FAULT_KINDS] = {"drop", "flip",
                                                        "junk", "dup"};

/* ---- parsing ---- */

/* "2.5s", "300ms" -> us; -1 if not a time. */
static int64_t parse_time(const char *s)
{
    char *end;
    double v;

    if (!*s || *s == '-' || *s == '+')
        return -1;
    v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    if (!strcmp(end, "ms"))
        v *= 1e3;
    else if (!strcmp(end, "s"))
        v *= 1e6;
    else
        return -1;
    if (v > 1e12)
        return -1;
    return (int64_t)(v + 0.5);
}

/* "12000", "0x3000" -> bytes; false if not a count. */
static bool parse_count(const char *s, uint64_t *out)
{
    char *end;

    if (!*s || *s < '0' || *s > '9')
        return false;
    *out = strtoull(s, &end, 0);
    return !*end;
}

/* AT: a byte offset or a time. */
static bool parse_at(const char *s, struct sim_fault_event *ev)
{
    int64_t us;

    if (parse_count(s, &ev->at)) {
        ev->at_time = false;
        return true;
    }
    us = parse_time(s);
    if (us < 0)
        return false;
    ev->at_time = true;
    ev->at = (uint64_t)us;
    return true;
}

static int bad(char *err, size_t errlen, const char *item, const char *why)
{
    return ed_seterr(err, errlen, ED_ERR_ARG,
                     "fault '%s': %s (e.g. h2b:flip=1e-4,b2h:drop=1e-5,"
                     "stall=5s@200000,cut@300000,seed=7; docs/simulator.md)",
                     item, why);
}

static int parse_item(struct sim_fault_spec *f, char *item, char *err,
                      size_t errlen)
{
    char whole[128];
    unsigned dirs = SIM_FAULT_H2B | SIM_FAULT_B2H;
    char *p = item, *colon = strchr(item, ':'), *v;
    size_t k;

    snprintf(whole, sizeof whole, "%s", item);
    if (colon) {
        *colon = '\0';
        if (!strcmp(p, "h2b"))
            dirs = SIM_FAULT_H2B;
        else if (!strcmp(p, "b2h"))
            dirs = SIM_FAULT_B2H;
        else if (strcmp(p, "both"))
            return bad(err, errlen, whole,
                       "the direction is h2b, b2h or both");
        p = colon + 1;
    }
    if (!strncmp(p, "cut@", 4)) {
        if (f->cut.set)
            return bad(err, errlen, whole, "one cut only");
        if (!parse_at(p + 4, &f->cut))
            return bad(err, errlen, whole,
                       "cut@ takes a byte offset (300000) or a time (2.5s)");
        f->cut.set = true;
        f->cut.dirs = (uint8_t)dirs;
        f->any = true;
        return ED_OK;
    }
    v = strchr(p, '=');
    if (!v)
        return bad(err, errlen, whole, "expected NAME=VALUE or cut@AT");
    *v++ = '\0';
    if (!strcmp(p, "seed")) {
        if (colon || !parse_count(v, &f->seed))
            return bad(err, errlen, whole, "seed takes a whole number");
        return ED_OK;
    }
    if (!strcmp(p, "stall")) {
        char *at = strchr(v, '@');
        if (f->stall.set)
            return bad(err, errlen, whole, "one stall only");
        if (!at)
            return bad(err, errlen, whole,
                       "stall takes DURATION@AT, e.g. stall=5s@200000");
        *at++ = '\0';
        f->stall.len_us = parse_time(v);
        if (f->stall.len_us <= 0 || f->stall.len_us > 3600 * 1000000LL)
            return bad(err, errlen, whole,
                       "the stall lasts 1ms to 3600s (5s, 500ms)");
        if (!parse_at(at, &f->stall))
            return bad(err, errlen, whole,
                       "stall=DUR@ takes a byte offset or a time (2.5s)");
        f->stall.set = true;
        f->stall.dirs = (uint8_t)dirs;
        f->any = true;
        return ED_OK;
    }
    for (k = 0; k < SIM_FAULT_KINDS; k++) {
        char *end;
        double r;

        if (strcmp(p, kind_names[k]))
            continue;
        r = strtod(v, &end);
        if (end == v || *end || !isfinite(r) || r < 0 || r > 1)
            return bad(err, errlen, whole,
                       "the rate is a probability per byte, 0 to 1 "
                       "(1e-4)");
        if (dirs & SIM_FAULT_H2B)
            f->rate[0][k] = r;
        if (dirs & SIM_FAULT_B2H)
            f->rate[1][k] = r;
        if (r > 0)
            f->any = true;
        return ED_OK;
    }
    return bad(err, errlen, whole,
               "unknown fault (drop, flip, junk, dup, stall, cut, seed)");
}

int sim_fault_parse(struct sim_fault_spec *out, const char *spec, char *err,
                    size_t errlen)
{
    char item[128];
    const char *s = spec ? spec : "";
    int rc;

    memset(out, 0, sizeof *out);
    out->seed = 1;
    while (*s) {
        size_t n = strcspn(s, ",");

        if (n == 0) {
            s++;
            continue;
        }
        if (n >= sizeof item) {
            memset(out, 0, sizeof *out);
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "fault item '%.40s...' is too long", s);
        }
        memcpy(item, s, n);
        item[n] = '\0';
        rc = parse_item(out, item, err, errlen);
        if (rc != ED_OK) {
            memset(out, 0, sizeof *out);
            return rc;
        }
        s += n;
    }
    return ED_OK;
}

/* ---- the line ---- */

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t rng_next(uint64_t *st)
{
    uint64_t z = (*st += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *st)
{
    return (double)(rng_next(st) >> 11) * (1.0 / 9007199254740992.0);
}

void sim_fault_init(struct sim_fault *f, const struct sim_fault_spec *spec)
{
    memset(f, 0, sizeof *f);
    if (spec)
        f->spec = *spec;
    f->rng[0] = f->spec.seed * 2 + 1;
    f->rng[1] = f->spec.seed * 2 + 2;
    f->t0 = -1;
    f->stall_from = f->stall_until = -1;
    f->cut_at = -1;
}

void sim_fault_connect(struct sim_fault *f, int64_t now_us)
{
    if (f->t0 < 0)
        f->t0 = now_us;
}

/* Has event ev come, for a byte of dir that is the count-th? */
static bool event_hits(const struct sim_fault *f,
                       const struct sim_fault_event *ev, unsigned dir,
                       int64_t t)
{
    uint64_t n = 0;

    if (!ev->set)
        return false;
    if (ev->at_time)
        return f->t0 >= 0 && t >= f->t0 + (int64_t)ev->at;
    if (!(ev->dirs & dir))
        return false;
    if (ev->dirs & SIM_FAULT_H2B)
        n += f->count[0];
    if (ev->dirs & SIM_FAULT_B2H)
        n += f->count[1];
    return n > ev->at; /* counts include this byte: offset at is hit */
}

size_t sim_fault_byte(struct sim_fault *f, unsigned dir, uint8_t b,
                      int64_t *t, uint8_t out[8])
{
    const struct sim_fault_spec *sp = &f->spec;
    int d = dir == SIM_FAULT_B2H ? 1 : 0;
    const double *rate = sp->rate[d];
    uint64_t *rng = &f->rng[d];
    size_t n = 0;

    if (!sp->any) {
        out[0] = b;
        return 1;
    }
    f->count[d]++;
    /* the cut: this byte and everything after it are lost until the
     * transport has dropped the connection */
    if (f->cut_at < 0 && event_hits(f, &sp->cut, dir, *t))
        f->cut_at = *t;
    if (f->cut_at >= 0 && !f->cut_reported)
        return 0;
    if (sp->stall.set && (sp->stall.dirs & dir)) {
        if (f->stall_from < 0 && event_hits(f, &sp->stall, dir, *t)) {
            f->stall_from = *t;
            f->stall_until = *t + sp->stall.len_us;
        }
        if (f->stall_from >= 0 && *t >= f->stall_from &&
            *t < f->stall_until)
            *t = f->stall_until;
    }
    if (rate[SIM_FAULT_DROP] > 0 && rng_unit(rng) < rate[SIM_FAULT_DROP]) {
        f->injected[d][SIM_FAULT_DROP]++;
        return 0;
    }
    if (rate[SIM_FAULT_JUNK] > 0 && rng_unit(rng) < rate[SIM_FAULT_JUNK]) {
        uint64_t r = rng_next(rng);
        size_t k, m = 1 + (size_t)(r & 3);

        for (k = 0; k < m; k++)
            out[n++] = (uint8_t)(r >> (8 * (k + 1)));
        f->injected[d][SIM_FAULT_JUNK]++;
    }
    if (rate[SIM_FAULT_FLIP] > 0 && rng_unit(rng) < rate[SIM_FAULT_FLIP]) {
        b ^= (uint8_t)(1u << (rng_next(rng) & 7));
        f->injected[d][SIM_FAULT_FLIP]++;
    }
    out[n++] = b;
    if (rate[SIM_FAULT_DUP] > 0 && rng_unit(rng) < rate[SIM_FAULT_DUP]) {
        out[n++] = b;
        f->injected[d][SIM_FAULT_DUP]++;
    }
    return n;
}

bool sim_fault_cut_due(struct sim_fault *f, int64_t now_us)
{
    const struct sim_fault_event *cut = &f->spec.cut;

    if (!cut->set || f->cut_reported)
        return false;
    if (f->cut_at < 0 && cut->at_time && f->t0 >= 0 &&
        now_us >= f->t0 + (int64_t)cut->at)
        f->cut_at = f->t0 + (int64_t)cut->at;
    if (f->cut_at < 0 || now_us < f->cut_at)
        return false;
    f->cut_reported = true;
    return true;
}

int64_t sim_fault_next_us(const struct sim_fault *f)
{
    const struct sim_fault_event *cut = &f->spec.cut;

    if (!cut->set || f->cut_reported)
        return -1;
    if (f->cut_at >= 0)
        return f->cut_at;
    if (cut->at_time && f->t0 >= 0)
        return f->t0 + (int64_t)cut->at;
    return -1;
}
