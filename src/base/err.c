#include "err.h"

#include <stdio.h>
#include <string.h>

const char *ed_strerror(int err)
{
    switch (err) {
#define ED_ERR_CASE(name, value, msg)                                         \
    case value:                                                               \
        return msg;
        ED_ERR_LIST(ED_ERR_CASE)
#undef ED_ERR_CASE
    }
    return "unknown error";
}

const char *ed_errname(int err)
{
    switch (err) {
#define ED_ERR_CASE(name, value, msg)                                         \
    case value:                                                               \
        return #name;
        ED_ERR_LIST(ED_ERR_CASE)
#undef ED_ERR_CASE
    }
    return "ED_ERR_UNKNOWN";
}

int ed_vseterr(char *buf, size_t len, int err, const char *fmt, va_list ap)
{
    if (buf && len > 0)
        vsnprintf(buf, len, fmt, ap);
    return err;
}

int ed_seterr(char *buf, size_t len, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ed_vseterr(buf, len, err, fmt, ap);
    va_end(ap);
    return err;
}

/* ---- "did you mean" ---- */

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ed_nearest(const char *s, const char *const *names)
{
    const char *best = NULL;
    size_t bestd = 99;
    for (size_t i = 0; names[i]; i++) {
        size_t d = levenshtein(s, names[i]);
        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    size_t limit = strlen(s) <= 4 ? 1 : strlen(s) <= 8 ? 2 : 3;
    return bestd <= limit ? best : NULL;
}
