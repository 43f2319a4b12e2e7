/*
 * log.h - the core's only way to say something.
 *
 * Nothing under src/ prints.  Code that wants to tell the user something
 * calls log_msg() on a sink its caller gave it; the caller (ui/ or main)
 * decides where the text goes: a curses log pane, an event queue, the terminal in
 * batch mode.  A zeroed sink (write == NULL) drops everything.
 *
 * Thread rules: a sink is called on the thread of the code that logs; the
 * sink's write function must be safe for that.
 */
#ifndef ED_LOG_H
#define ED_LOG_H

#include <stddef.h>

enum log_level {
    ED_LOG_ERROR,
    ED_LOG_WARN,
    ED_LOG_INFO,
    ED_LOG_DEBUG,
    ED_LOG_TRACE,
};

struct log_sink {
    /* msg is a NUL-terminated line without a trailing newline. */
    void (*write)(void *ctx, enum log_level level, const char *msg);
    void *ctx;
    enum log_level max_level; /* records above this level are dropped */
};

void log_msg(const struct log_sink *sink, enum log_level level,
             const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line "prefix: 01 02 ..." (long buffers are shortened with "..."). */
void log_hex(const struct log_sink *sink, enum log_level level,
             const char *prefix, const void *data, size_t len);

/* "error", "warn", ...; never NULL. */
const char *log_level_name(enum log_level level);

#endif
