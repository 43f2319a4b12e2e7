/*
 * console.h - the full-screen console loop.
 *
 * console_run() owns the terminal (term.h) and one engine: it loads the
 * profile, starts the engine thread, then poll()s stdin and the engine's
 * wake-up pipe together (100 ms timeout for clocks and ETA), applies every
 * event to the model, answers keys and draws.  Errors (bad profile, no
 * port, board not answering) are shown in the console as one sentence;
 * the terminal is restored on every way out.
 * Threads: the calling thread is the UI thread.
 */
#ifndef ED_CONSOLE_H
#define ED_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

struct console_opts {
    bool monitor_only;          /* espdeck monitor */
    const char *profile_path;   /* flash mode */
    const char *port;           /* overrides the profile's port; NULL */
    uint32_t baud;              /* 0 = the profile's */
    const char *cfg_port;       /* config.yaml's port: where neither --port
                                 * nor the profile names one; NULL */
    uint32_t cfg_baud;          /* config.yaml's baud: where neither --baud
                                 * nor the profile gives one; 0 */
    uint32_t monitor_baud;      /* monitor-only; 0 = 115200 */
    bool force;                 /* write even when unchanged */
    bool no_stub;
    bool no_monitor;            /* do not monitor after flashing */
    bool no_compress;
    const char *before;         /* reset modes overriding the profile's */
    const char *after;
    const char *eol;            /* what Enter sends in the monitor: "CR",
                                 * "LF" or "CRLF" (NULL = CRLF) */
    const char *elf;            /* the app's ELF for panic decoding; NULL =
                                 * the profile's elf: */
};

/* The bytes an --eol name stands for ("CR", "LF", "CRLF", any case), or
 * NULL for a name that is none of them. */
const char *console_eol_bytes(const char *name);
/* An --eol value is one of those; else says so on stderr, false. */
bool console_eol_ok(const char *name);

/* Run until the user quits.  Returns the process exit code (cmd.h). */
int console_run(const struct console_opts *o);

#endif
