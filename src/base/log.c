#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void log_msg(const struct log_sink *sink, enum log_level level,
             const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (!sink || !sink->write || level > sink->max_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sink->write(sink->ctx, level, line);
}

void log_hex(const struct log_sink *sink, enum log_level level,
             const char *prefix, const void *data, size_t len)
{
    char line[1024];
    const unsigned char *p = data;
    size_t used, i;

    if (!sink || !sink->write || level > sink->max_level)
        return;
    used = (size_t)snprintf(line, sizeof line, "%s (%zu):", prefix, len);
    for (i = 0; i < len && used + 8 < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, " %02x", p[i]);
    if (i < len)
        snprintf(line + used, sizeof line - used, " ...");
    sink->write(sink->ctx, level, line);
}

const char *log_level_name(enum log_level level)
{
    static const char *const names[] = {
        [ED_LOG_ERROR] = "error", [ED_LOG_WARN] = "warn",
        [ED_LOG_INFO] = "info",   [ED_LOG_DEBUG] = "debug",
        [ED_LOG_TRACE] = "trace",
    };
    if ((unsigned)level < sizeof names / sizeof names[0])
        return names[level];
    return "?";
}
