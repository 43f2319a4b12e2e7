#include "err.h"

#include <stdio.h>

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
