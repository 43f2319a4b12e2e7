/*
 * panic.c - the addresses of an ESP-IDF panic report (panic.h).
 */
#include "panic.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"

#define PANIC_LINES 64

static const char *const starts[] = {
    "Guru Meditation Error", "abort() was called", "assert failed",
    "***ERROR*** A stack overflow", "Stack smashing", "panic'ed",
};

static bool add(uint32_t *out, size_t *n, size_t max, uint32_t a)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (out[i] == a)
            return true;
    if (*n >= max)
        return false;
    out[(*n)++] = a;
    return true;
}

/* "0x" and exactly eight hex digits at p (not part of a longer word). */
static bool hex8(const char *line, const char *p, uint32_t *v)
{
    int i;

    if (p > line && isalnum((unsigned char)p[-1]))
        return false;
    if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
        return false;
    for (i = 2; i < 10; i++)
        if (!isxdigit((unsigned char)p[i]))
            return false;
    if (isalnum((unsigned char)p[10]))
        return false;
    *v = (uint32_t)strtoul(p + 2, NULL, 16);
    return true;
}

size_t panic_scan_line(struct panic_scan *ps, const char *line,
                       uint32_t *out, size_t max)
{
    const char *bt = strstr(line, "Backtrace:");
    const char *p;
    size_t i, n = 0;
    uint32_t v;

    for (i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (strstr(line, starts[i]))
            ps->left = PANIC_LINES;
    if (strstr(line, "Rebooting...")) {
        ps->left = 0;
        return 0;
    }
    if (bt) {
        /* PC:SP pairs: the PC of each */
        for (p = bt + 10; *p; p++)
            if (hex8(line, p, &v)) {
                if (p[10] == ':' || p[10] == ' ' || !p[10])
                    add(out, &n, max, v);
                p += 9;
                if (*(p + 1) == ':')  /* skip the SP after it */
                    p += 11;
            }
        return n;
    }
    if (ps->left <= 0)
        return 0;
    ps->left--;
    for (p = line; *p; p++)
        if (hex8(line, p, &v)) {
            add(out, &n, max, v);
            p += 9;
        }
    return n;
}

size_t panic_decode_line(struct panic_scan *ps, const struct elfsym *elf,
                         const char *line,
                         void (*emit)(void *ctx, const char *text), void *ctx)
{
    uint32_t a[PANIC_LINE_MAX_ADDRS];
    size_t n = panic_scan_line(ps, line, a, PANIC_LINE_MAX_ADDRS), i, done = 0;

    for (i = 0; i < n; i++) {
        struct elfsym_loc loc;
        char text[sizeof loc.file + sizeof loc.func + 32];

        if (!elfsym_lookup(elf, a[i], &loc))
            continue;
        if (loc.line)
            snprintf(text, sizeof text, "  0x%08x: %s at %s:%d", a[i],
                     loc.func[0] ? loc.func : "??", loc.file, loc.line);
        else
            snprintf(text, sizeof text, "  0x%08x: %s", a[i], loc.func);
        emit(ctx, text);
        done++;
    }
    return done;
}
