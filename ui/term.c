/*
 * term.c - curses start/stop, colour roles, glyphs and signal safety.
 */
#include "term.h"

#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* One terminal per process: see term.h. */
static volatile sig_atomic_t term_active;
static volatile sig_atomic_t term_quit;
static bool term_atexit_done;
static bool term_colour;
static struct term_glyphs term_g;

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction old_fatal[N_FATAL];
static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_QUIT (sizeof quit_signals / sizeof quit_signals[0])
static struct sigaction old_quit[N_QUIT];

static const struct term_glyphs glyphs_utf8 = {
    .utf8 = true,
    .bar_full = "\u2588",
    .bar_empty = "\u00b7",
    .bar_part = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b",
                 "\u258a", "\u2589"},
    .ok = "\u2714",
    .fail = "\u2717",
    .dot = " \u00b7 ",
    .arrow = "\u2192",
    .ellipsis = "\u2026",
};

static const struct term_glyphs glyphs_ascii = {
    .utf8 = false,
    .bar_full = "#",
    .bar_empty = ".",
    .bar_part = {"", "", "", "", "", "", "", ""},
    .ok = "+",
    .fail = "x",
    .dot = " - ",
    .arrow = "->",
    .ellipsis = "...",
};

static void fatal_handler(int sig)
{
    size_t i;

    if (term_active) {
        term_active = 0;
        endwin();
    }
    for (i = 0; i < N_FATAL; i++)
        if (fatal_signals[i] == sig)
            sigaction(sig, &old_fatal[i], NULL);
    raise(sig);
}

static void quit_handler(int sig)
{
    (void)sig;
    term_quit = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = fatal_handler;
    for (i = 0; i < N_FATAL; i++)
        sigaction(fatal_signals[i], &sa, &old_fatal[i]);
    sa.sa_handler = quit_handler;
    for (i = 0; i < N_QUIT; i++)
        sigaction(quit_signals[i], &sa, &old_quit[i]);
}

static void restore_signals(void)
{
    size_t i;

    for (i = 0; i < N_FATAL; i++)
        sigaction(fatal_signals[i], &old_fatal[i], NULL);
    for (i = 0; i < N_QUIT; i++)
        sigaction(quit_signals[i], &old_quit[i], NULL);
}

static void term_atexit(void)
{
    term_close();
}

static bool locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);

    return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

bool term_open(char *err, size_t errlen)
{
    const char *nc;
    int i;

    if (term_active)
        return true;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the console needs a terminal: run it in one, "
                              "or use `espdeck flash PROFILE --batch` in "
                              "scripts");
        return false;
    }
    term_g = locale_is_utf8() ? glyphs_utf8 : glyphs_ascii;
    /* newterm instead of initscr: a failure returns NULL, no exit(). */
    if (!newterm(NULL, stdout, stdin)) {
        snprintf(err, errlen, "cannot start the terminal (TERM=%s): set TERM "
                              "to your terminal's type, e.g. xterm-256color",
                 getenv("TERM") ? getenv("TERM") : "unset");
        return false;
    }
    term_active = 1;
    term_quit = 0;
    install_signals();
    if (!term_atexit_done) {
        atexit(term_atexit);
        term_atexit_done = true;
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    /* Home/End as tmux, screen and the Linux console send them, whatever
     * TERM says */
    define_key("\033[1~", KEY_HOME);
    define_key("\033[4~", KEY_END);
    define_key("\033[H", KEY_HOME);
    define_key("\033[F", KEY_END);
    define_key("\033OH", KEY_HOME);
    define_key("\033OF", KEY_END);
    define_key("\033[5~", KEY_PPAGE);
    define_key("\033[6~", KEY_NPAGE);
    curs_set(0);

    nc = getenv("NO_COLOR");
    term_colour = !(nc && *nc) && has_colors();
    if (term_colour) {
        start_color();
        use_default_colors();
#define TERM_ROLE_PAIR(r, fg, bg, mono) init_pair((short)(r + 1), fg, bg);
        TERM_ROLES(TERM_ROLE_PAIR)
#undef TERM_ROLE_PAIR
    }
    (void)i;
    return true;
}

void term_close(void)
{
    if (!term_active)
        return;
    term_active = 0;
    curs_set(1);
    endwin();
    restore_signals();
}

bool term_is_open(void)
{
    return term_active != 0;
}

attr_t term_attr(enum term_role role)
{
    static const attr_t mono[TERM_N_ROLES] = {
#define TERM_ROLE_MONO(r, fg, bg, m) [r] = (m),
        TERM_ROLES(TERM_ROLE_MONO)
#undef TERM_ROLE_MONO
    };
    static const attr_t bold[TERM_N_ROLES] = {
        [TERM_TITLE] = A_BOLD, [TERM_OK] = A_BOLD, [TERM_ERROR] = A_BOLD,
        [TERM_WARN] = A_BOLD,  [TERM_LOG_E] = A_BOLD,
    };

    if ((unsigned)role >= TERM_N_ROLES)
        role = TERM_NORMAL;
    if (!term_colour)
        return mono[role];
    return COLOR_PAIR(role + 1) | bold[role];
}

const struct term_glyphs *term_glyphs(void)
{
    if (!term_g.bar_full)
        term_g = locale_is_utf8() ? glyphs_utf8 : glyphs_ascii;
    return &term_g;
}

bool term_quit_requested(void)
{
    return term_quit != 0;
}
