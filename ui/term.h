/*
 * term.h - the terminal: the only place that calls initscr() and endwin().
 *
 * term_open() puts the terminal in curses mode (raw keys, no echo, keypad,
 * non-blocking getch), picks colours for the roles below (none when
 * NO_COLOR is set or the terminal has no colours) and the glyph set
 * (Unicode box drawing and blocks when the locale is UTF-8, ASCII
 * otherwise).  term_close() restores the terminal; it also runs from
 * atexit() and from the fatal-signal handlers (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT), which restore the terminal and then re-raise the signal
 * with the handler that was there before (so a sanitizer still reports).
 * SIGINT, SIGTERM and SIGHUP only set a flag the console loop reads
 * (term_quit_requested()).
 *
 * Process-wide state: a terminal is one per process, so this module keeps
 * the curses flag, the previous signal handlers and the quit flag in
 * statics -- the one exception to the house rule, documented here.
 * Threads: call everything from the UI thread only.
 */
#ifndef ED_TERM_H
#define ED_TERM_H

#include <stdbool.h>

#include <curses.h>

/* X(role, foreground, background, attributes without colour) */
#define TERM_ROLES(X)                                                         \
    X(TERM_NORMAL, -1, -1, A_NORMAL)                                          \
    X(TERM_TITLE, COLOR_CYAN, -1, A_BOLD)                                     \
    X(TERM_DIM, COLOR_WHITE, -1, A_DIM)                                       \
    X(TERM_OK, COLOR_GREEN, -1, A_BOLD)                                       \
    X(TERM_WARN, COLOR_YELLOW, -1, A_BOLD)                                    \
    X(TERM_ERROR, COLOR_RED, -1, A_BOLD)                                      \
    X(TERM_BAR, COLOR_CYAN, -1, A_NORMAL)                                     \
    X(TERM_BAR_EMPTY, COLOR_WHITE, -1, A_DIM)                                 \
    X(TERM_SELECTED, COLOR_BLACK, COLOR_CYAN, A_REVERSE)                      \
    X(TERM_BORDER, COLOR_BLUE, -1, A_NORMAL)                                  \
    X(TERM_KEY, COLOR_BLACK, COLOR_WHITE, A_REVERSE)                          \
    X(TERM_LOG_E, COLOR_RED, -1, A_BOLD)                                      \
    X(TERM_LOG_W, COLOR_YELLOW, -1, A_NORMAL)                                 \
    X(TERM_LOG_I, COLOR_GREEN, -1, A_NORMAL)                                  \
    X(TERM_LOG_D, COLOR_WHITE, -1, A_DIM)                                     \
    X(TERM_LOG_V, COLOR_WHITE, -1, A_DIM)

enum term_role {
#define TERM_ROLE_ENUM(r, fg, bg, mono) r,
    TERM_ROLES(TERM_ROLE_ENUM)
#undef TERM_ROLE_ENUM
    TERM_N_ROLES
};

/* What the views draw with; chosen once by term_open(). */
struct term_glyphs {
    bool utf8;
    const char *bar_full;    /* "█" or "#" */
    const char *bar_empty;   /* "·" or "." */
    const char *bar_part[8]; /* eighths: "" "▏" ... "▉", or "" x8 */
    const char *ok;          /* "✔" or "+" */
    const char *fail;        /* "✗" or "x" */
    const char *dot;         /* " · " or " - " */
    const char *arrow;       /* "→" or "->" */
    const char *ellipsis;    /* "…" or "..." */
};

/* Enter curses mode.  Returns false (with a sentence in err) if stdin or
 * stdout is not a terminal or curses cannot start. */
bool term_open(char *err, size_t errlen);
/* Leave curses mode; safe to call twice or without term_open(). */
void term_close(void);
bool term_is_open(void);

/* The curses attribute for a role (colour pair or mono attributes). */
attr_t term_attr(enum term_role role);
const struct term_glyphs *term_glyphs(void);

/* A SIGINT/SIGTERM/SIGHUP arrived since term_open(). */
bool term_quit_requested(void);

#endif
