/*
 * accept.h - boot acceptance: does the app's output after flashing pass?
 *
 * After flashing, the board is reset into the app and its output is fed
 * here, line by line, for up to `timeout`.  PASS needs every expect pattern
 * (POSIX extended regex), each on a line after the previous one's, and no
 * reject pattern on any line.  The defaults (on unless the profile says
 * `default_rejects: false`) catch ESP-IDF failures: "Guru Meditation Error",
 * "abort() was called", "Backtrace:", a second ROM boot banner whose reset
 * reason is a watchdog or a brownout, and a boot loop (a third banner).
 * The verdict comes with the line that decided it and one sentence.
 *
 * Pure: no threads, no I/O; time is passed in (tests use a fake clock).
 */
#ifndef ED_ACCEPT_H
#define ED_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ACCEPT_MAX_PATTERNS 16

struct accept_rules {
    int timeout_ms;                 /* 0 = ACCEPT_DEFAULT_TIMEOUT_MS */
    const char *expect[ACCEPT_MAX_PATTERNS];
    size_t n_expect;
    const char *reject[ACCEPT_MAX_PATTERNS];
    size_t n_reject;
    bool no_default_rejects;        /* default_rejects: false */
};

#define ACCEPT_DEFAULT_TIMEOUT_MS 5000

enum accept_verdict {
    ACCEPT_PENDING,
    ACCEPT_PASS,
    ACCEPT_FAIL,
};

struct accept;
struct profile_accept;

/* The rules of a profile's accept: section (pointers into the profile). */
void accept_rules_from_profile(struct accept_rules *r,
                               const struct profile_accept *pa);

/* Compile the rules.  ED_OK, or ED_ERR_ARG with the bad pattern in err. */
int accept_new(struct accept **out, const struct accept_rules *rules,
               char *err, size_t errlen);
void accept_free(struct accept *a);   /* NULL is fine */

/* Start watching (the board was just reset into the app) at now_ms. */
void accept_begin(struct accept *a, int64_t now_ms);
/* Bytes from the app; returns the verdict once decided (then sticky). */
enum accept_verdict accept_feed(struct accept *a, const uint8_t *data,
                                size_t len, int64_t now_ms);
/* The timeout: PASS if nothing is expected and no reject was seen, else
 * FAIL naming the first missing pattern. */
enum accept_verdict accept_tick(struct accept *a, int64_t now_ms);
/* Milliseconds until the timeout decides (0 when decided or due). */
int accept_remaining_ms(const struct accept *a, int64_t now_ms);

enum accept_verdict accept_verdict(const struct accept *a);
/* The line that decided ("" for a timeout without a line). */
const char *accept_line(const struct accept *a);
/* One sentence: "the app printed 'Hello world!'", "the app crashed: ...". */
const char *accept_message(const struct accept *a);
/* true when the timeout decided. */
bool accept_timed_out(const struct accept *a);
/* The last complete line (ANSI colours removed), and how many lines so far
 * (a display shows the last one when the count moves). */
const char *accept_last_line(const struct accept *a);
unsigned accept_lines(const struct accept *a);

#endif
