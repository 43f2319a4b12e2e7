/*
 * err.h - the one status enum of espdeck, with its messages.
 *
 * ED_OK is 0, errors are negative.  A function that returns a count says so
 * in its header comment; everything else returns enum ed_err.  The detail of
 * an error (which port, which command, what the OS said) travels in a message
 * buffer owned by the object the operation ran on (port_errmsg(),
 * loader_errmsg(), ...), never in a global.
 */
#ifndef ED_ERR_H
#define ED_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* X(name, value, message) */
#define ED_ERR_LIST(X)                                                        \
    X(ED_OK, 0, "success")                                                    \
    X(ED_ERR_ARG, -1, "invalid argument")                                     \
    X(ED_ERR_IO, -2, "input/output error")                                    \
    X(ED_ERR_TIMEOUT, -3, "timed out")                                        \
    X(ED_ERR_PROTO, -4, "unexpected reply from the target")                   \
    X(ED_ERR_DEVICE, -5, "the target reported an error")                      \
    X(ED_ERR_UNSUPPORTED, -6, "not supported")                                \
    X(ED_ERR_NOMEM, -7, "out of memory")                                      \
    X(ED_ERR_NOT_FOUND, -8, "not found")                                      \
    X(ED_ERR_PERM, -9, "permission denied")                                   \
    X(ED_ERR_BUSY, -10, "busy")                                               \
    X(ED_ERR_VERIFY, -11, "verification failed")                              \
    X(ED_ERR_CANCELLED, -12, "cancelled")                                     \
    X(ED_ERR_PROFILE, -13, "invalid profile")                                 \
    X(ED_ERR_BOOT, -14, "the target is not in download mode")                 \
    X(ED_ERR_CLOSED, -15, "connection closed")

enum ed_err {
#define ED_ERR_ENUM(name, value, msg) name = value,
    ED_ERR_LIST(ED_ERR_ENUM)
#undef ED_ERR_ENUM
};

#define ED_ERRMSG_MAX 512

/* Static text for a status code; never NULL. */
const char *ed_strerror(int err);

/* Name of a status code ("ED_ERR_TIMEOUT"); never NULL. */
const char *ed_errname(int err);

/*
 * Format a message into buf (capacity ED_ERRMSG_MAX or len) and return err,
 * so a failing path can be written `return ed_seterr(p->errmsg, sizeof
 * p->errmsg, ED_ERR_IO, "open %s: %s", ...)`.
 */
int ed_seterr(char *buf, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ed_vseterr(char *buf, size_t len, int err, const char *fmt, va_list ap);

/*
 * The nearest of names (NULL-terminated) to s when it is near enough to be
 * a likely typo (edit distance 1 for short words, up to 3), else NULL: the
 * "did you mean" of every sentence that names a bad word.
 */
const char *ed_nearest(const char *s, const char *const *names);

#endif
