/*
 * accept.c - boot acceptance (see accept.h).
 *
 * Output is cut into lines (LF; a CR before it and ANSI colour sequences are
 * dropped, so patterns see the text the user sees).  Each complete line is
 * checked against the reject patterns, then the ROM boot banner rules, then
 * the next expected pattern.  POSIX extended regular expressions (regcomp),
 * matched anywhere in the line unless anchored.
 */
#include "accept.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define ACCEPT_LINE_MAX 240

/* ESP-IDF's failure lines (esp_system panic handler, abort()). */
static const char *const default_rejects[] = {
    "Guru Meditation Error",
    "abort\\(\\) was called",
    "Backtrace:",
};
#define N_DEFAULT_REJECTS (sizeof default_rejects / sizeof default_rejects[0])

/* The ROM's first line after a reset: "rst:0x1 (POWERON_RESET),boot:..."
 * (ESP32), "rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)" (newer). */
#define BANNER_RE "^rst:0x[0-9a-fA-F]+ \\(([A-Z0-9_]+)\\)"

struct accept {
    regex_t expect[ACCEPT_MAX_PATTERNS];
    char expect_src[ACCEPT_MAX_PATTERNS][128];
    size_t n_expect;
    regex_t reject[ACCEPT_MAX_PATTERNS + N_DEFAULT_REJECTS];
    size_t n_reject;
    regex_t banner;
    bool banner_rules;
    int timeout_ms;

    /* progress */
    int64_t deadline_ms;
    size_t next_expect;
    int banners;
    enum accept_verdict verdict;
    bool timed_out;
    char cur[ACCEPT_LINE_MAX];
    size_t cur_len;
    int esc;                    /* 0 text, 1 after ESC, 2 in CSI */
    char line[ACCEPT_LINE_MAX];      /* the deciding line */
    char last[ACCEPT_LINE_MAX];      /* the last complete line */
    unsigned lines;
    char message[ED_ERRMSG_MAX];
};

static int compile(regex_t *re, const char *src, const char *what, char *err,
                   size_t errlen)
{
    int rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);

    if (rc) {
        char why[128];

        regerror(rc, re, why, sizeof why);
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "accept: %s pattern '%s' is not a POSIX extended "
                         "regular expression (%s): fix or quote it",
                         what, src, why);
    }
    return ED_OK;
}

int accept_new(struct accept **out, const struct accept_rules *rules,
               char *err, size_t errlen)
{
    struct accept *a;
    size_t i;
    int rc = ED_OK;

    *out = NULL;
    if (rules->n_expect > ACCEPT_MAX_PATTERNS ||
        rules->n_reject > ACCEPT_MAX_PATTERNS)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "accept: at most %d expect and %d reject patterns",
                         ACCEPT_MAX_PATTERNS, ACCEPT_MAX_PATTERNS);
    a = calloc(1, sizeof *a);
    if (!a)
        return ED_ERR_NOMEM;
    a->timeout_ms =
        rules->timeout_ms > 0 ? rules->timeout_ms : ACCEPT_DEFAULT_TIMEOUT_MS;
    for (i = 0; i < rules->n_expect && !rc; i++) {
        rc = compile(&a->expect[i], rules->expect[i], "expect", err, errlen);
        if (!rc) {
            snprintf(a->expect_src[i], sizeof a->expect_src[i], "%s",
                     rules->expect[i]);
            a->n_expect++;
        }
    }
    if (!rules->no_default_rejects)
        for (i = 0; i < N_DEFAULT_REJECTS && !rc; i++)
            if (!(rc = compile(&a->reject[a->n_reject], default_rejects[i],
                               "reject", err, errlen)))
                a->n_reject++;
    for (i = 0; i < rules->n_reject && !rc; i++)
        if (!(rc = compile(&a->reject[a->n_reject], rules->reject[i],
                           "reject", err, errlen)))
            a->n_reject++;
    if (!rc && !rules->no_default_rejects) {
        if (regcomp(&a->banner, BANNER_RE, REG_EXTENDED) == 0)
            a->banner_rules = true;
    }
    if (rc) {
        accept_free(a);
        return rc;
    }
    *out = a;
    return ED_OK;
}

void accept_free(struct accept *a)
{
    size_t i;

    if (!a)
        return;
    for (i = 0; i < a->n_expect; i++)
        regfree(&a->expect[i]);
    for (i = 0; i < a->n_reject; i++)
        regfree(&a->reject[i]);
    if (a->banner_rules)
        regfree(&a->banner);
    free(a);
}

void accept_begin(struct accept *a, int64_t now_ms)
{
    a->deadline_ms = now_ms + a->timeout_ms;
    a->next_expect = 0;
    a->banners = 0;
    a->verdict = ACCEPT_PENDING;
    a->timed_out = false;
    a->cur_len = 0;
    a->esc = 0;
    a->line[0] = a->last[0] = a->message[0] = '\0';
    a->lines = 0;
}

static void decide(struct accept *a, enum accept_verdict v, const char *line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void decide(struct accept *a, enum accept_verdict v, const char *line,
                   const char *fmt, ...)
{
    va_list ap;

    a->verdict = v;
    snprintf(a->line, sizeof a->line, "%s", line ? line : "");
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof a->message, fmt, ap);
    va_end(ap);
}

static bool matches(const regex_t *re, const char *line)
{
    return regexec(re, line, 0, NULL, 0) == 0;
}

/* Is line a ROM boot banner?  reason gets its reset reason. */
static bool banner_reason(struct accept *a, const char *line, char *reason,
                          size_t len)
{
    regmatch_t m[2];

    if (!a->banner_rules || regexec(&a->banner, line, 2, m, 0) != 0)
        return false;
    snprintf(reason, len, "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
             line + m[1].rm_so);
    return true;
}

static void on_line(struct accept *a, const char *line)
{
    char reason[64];
    size_t i;

    snprintf(a->last, sizeof a->last, "%s", line);
    a->lines++;
    for (i = 0; i < a->n_reject; i++)
        if (matches(&a->reject[i], line)) {
            decide(a, ACCEPT_FAIL, line, "the app failed its boot check: "
                   "'%s': see the monitor output, fix the firmware or the "
                   "board", line);
            return;
        }
    if (banner_reason(a, line, reason, sizeof reason)) {
        a->banners++;
        if (a->banners >= 2 && (strstr(reason, "WDT") ||
                                strstr(reason, "BROWN"))) {
            decide(a, ACCEPT_FAIL, line, "the chip was reset by %s %s after "
                   "booting: check the supply (brownout) or what the app "
                   "blocks on (watchdog)",
                   strstr(reason, "BROWN") ? "a brownout" : "a watchdog",
                   reason);
            return;
        }
        if (a->banners >= 3) {
            decide(a, ACCEPT_FAIL, line, "boot loop: the chip reset %d times "
                   "(last %s) while the app started: see the monitor "
                   "output", a->banners - 1, reason);
            return;
        }
    }
    if (a->next_expect < a->n_expect &&
        matches(&a->expect[a->next_expect], line)) {
        a->next_expect++;
        if (a->next_expect == a->n_expect)
            decide(a, ACCEPT_PASS, line, "the app printed '%s'", line);
    }
}

static void end_line(struct accept *a)
{
    a->cur[a->cur_len] = '\0';
    while (a->cur_len && (a->cur[a->cur_len - 1] == '\r' ||
                          a->cur[a->cur_len - 1] == ' '))
        a->cur[--a->cur_len] = '\0';
    on_line(a, a->cur);
    a->cur_len = 0;
}

enum accept_verdict accept_feed(struct accept *a, const uint8_t *data,
                                size_t len, int64_t now_ms)
{
    size_t i;

    for (i = 0; i < len && a->verdict == ACCEPT_PENDING; i++) {
        uint8_t c = data[i];

        /* ESC [ params letter: colour codes of ESP-IDF's log */
        if (a->esc == 1) {
            a->esc = c == '[' ? 2 : 0;
            continue;
        }
        if (a->esc == 2) {
            if (c >= 0x40 && c <= 0x7E)
                a->esc = 0;
            continue;
        }
        if (c == 0x1B) {
            a->esc = 1;
            continue;
        }
        if (c == '\n') {
            end_line(a);
            continue;
        }
        if (c == '\0')
            continue;
        a->cur[a->cur_len++] = (char)c;
        if (a->cur_len == sizeof a->cur - 1)
            end_line(a);
    }
    if (a->verdict == ACCEPT_PENDING)
        return accept_tick(a, now_ms);
    return a->verdict;
}

enum accept_verdict accept_tick(struct accept *a, int64_t now_ms)
{
    if (a->verdict != ACCEPT_PENDING || now_ms < a->deadline_ms)
        return a->verdict;
    /* a last line without its newline still counts */
    if (a->cur_len)
        end_line(a);
    if (a->verdict != ACCEPT_PENDING)
        return a->verdict;
    a->timed_out = true;
    if (a->next_expect < a->n_expect)
        decide(a, ACCEPT_FAIL, a->last,
               "the app did not print '%s' within %.1f s%s%s: check that the "
               "right firmware was flashed and that it boots",
               a->expect_src[a->next_expect], a->timeout_ms / 1000.0,
               a->last[0] ? "; its last line was " : "",
               a->last[0] ? a->last : "");
    else
        decide(a, ACCEPT_PASS, a->last, "no failure in %.1f s of output",
               a->timeout_ms / 1000.0);
    return a->verdict;
}

int accept_remaining_ms(const struct accept *a, int64_t now_ms)
{
    if (a->verdict != ACCEPT_PENDING || now_ms >= a->deadline_ms)
        return 0;
    return (int)(a->deadline_ms - now_ms);
}

enum accept_verdict accept_verdict(const struct accept *a)
{
    return a->verdict;
}

const char *accept_line(const struct accept *a)
{
    return a->line;
}

const char *accept_message(const struct accept *a)
{
    return a->message;
}

bool accept_timed_out(const struct accept *a)
{
    return a->timed_out;
}

const char *accept_last_line(const struct accept *a)
{
    return a->last;
}

unsigned accept_lines(const struct accept *a)
{
    return a->lines;
}

void accept_rules_from_profile(struct accept_rules *r,
                               const struct profile_accept *pa)
{
    size_t i;

    memset(r, 0, sizeof *r);
    r->timeout_ms = pa->timeout_ms;
    for (i = 0; i < pa->n_expect && i < ACCEPT_MAX_PATTERNS; i++)
        r->expect[r->n_expect++] = pa->expect[i];
    for (i = 0; i < pa->n_reject && i < ACCEPT_MAX_PATTERNS; i++)
        r->reject[r->n_reject++] = pa->reject[i];
    r->no_default_rejects = !pa->default_rejects;
}
