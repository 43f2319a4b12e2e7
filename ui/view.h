/*
 * view.h - drawing the console from a struct model.
 *
 * Views only read: the model (engine state) and the view state below (what
 * the console loop decided: scroll position, overlays, toggles).  One frame
 * is view_draw(): erase, draw every part on stdscr, wnoutrefresh, one
 * doupdate.  Colours come from term roles, never literals.
 * Threads: UI thread only.
 */
#ifndef ED_VIEW_H
#define ED_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "term.h"

enum view_overlay {
    VIEW_NONE,
    VIEW_HELP,
    VIEW_CONFIRM_CANCEL,
    VIEW_CONFIRM_QUIT,
};

struct view_state {
    const struct model *m;
    int64_t mono_ms, wall_ms;
    int where;                  /* UI_IN_FLASH or UI_IN_MON */
    enum view_overlay overlay;
    const char *fatal;          /* a sentence that ends the session, or NULL */
    const char *status;         /* transient note for the key bar, or NULL */
    bool status_ok;             /* good news (green), else a warning */
    bool chord;                 /* Ctrl-T typed, waiting for the second key */
    bool no_reflash;            /* monitor only: no profile to flash again */
    bool no_reset;              /* the port has no reset lines (socket://) */
    bool can_retry;             /* the run failed or was cancelled: r tries again */
    /* monitor */
    bool follow;                /* auto-scroll */
    uint64_t top;               /* first line shown when not following */
    bool timestamps;
    const char *logfile;        /* NULL = off */
    bool cut;                   /* long lines cut (else wrapped) */
    bool searching;             /* typing a search (or the prompt below) */
    const char *prompt;         /* key bar input label; NULL = "search: " */
    const char *prompt_text;    /* its text; NULL = search */
    const char *search;         /* the text ("" = none) */
    bool have_hit;
    uint64_t hit;               /* matched line */
    /* written by view_draw for the loop */
    int mon_rows;               /* monitor rows visible */
    int mon_lines;              /* monitor lines shown (wrapped: fewer) */
    uint64_t shown_top;         /* first line shown */
};

void view_draw(struct view_state *v);

/* ---- pieces (view_*.c) ---- */

/* Text clipped to w columns at (y, x); returns the columns used. */
int view_put(int y, int x, int w, enum term_role role, const char *s);
/* Word wrap: bytes of s's first row at w columns (up to its last space
 * that fits; a word wider than w is cut), and where the next row starts. */
int view_wrap_cut(int w, const char *s);
const char *view_wrap_next(const char *s, int cut);
/* s shortened to w columns into buf: text too wide loses whole trailing
 * clauses (cut before ": ", ", " or "; ") or words (then an ellipsis),
 * never part of a word.  Returns buf. */
const char *view_shorten(char *buf, size_t len, int w, const char *s);
/* A box with a title on the top border (left) and an optional right title. */
void view_box(int y, int x, int h, int w, const char *title,
              const char *right, enum term_role title_role);
/* A progress bar of w columns filled to frac (0..1), in eighths. */
void view_bar(int y, int x, int w, double frac, enum term_role role);
/* Blank a rectangle. */
void view_clear(int y, int x, int h, int w);
/* Bytes of s that fill at most w columns (a hard cut, as a terminal
 * wraps; at least one character). */
int view_fit(int w, const char *s);
/* Display columns of a UTF-8 string. */
int view_width(const char *s);
/* "40 ms", "0.4 s", "18 s", "2 min 5 s" */
const char *view_fmt_secs(char *buf, size_t len, double s);
enum term_role view_level_role(enum model_level lv);

void view_header(const struct view_state *v, int y, int w);
void view_chipline(const struct view_state *v, int y, int w);
/* The image panes in rows [y, y+h). */
void view_parts(const struct view_state *v, int y, int h, int w);
/* Rows needed by view_parts for n parts at a pane height (4, 3 or 1). */
int view_parts_rows(size_t n, int pane_h);
void view_log(const struct view_state *v, int y, int h, int w);
/* One line per image with its result (split view); rows used. */
int view_summary(const struct view_state *v, int y, int h, int w);
void view_monitor(struct view_state *v, int y, int h, int w);
void view_keybar(const struct view_state *v, int y, int w);
void view_help(const struct view_state *v);
void view_confirm(const struct view_state *v, const char *title,
                  const char *text);
/* The error box: rows it needs at width w, and drawing it in h rows. */
int view_fatal_rows(const struct view_state *v, int w);
void view_fatal(const struct view_state *v, int y, int h, int w);

/* ---- pickers (view_picker.c) ---- */

struct view_pick_item {
    char label[256];
    char detail[256];
};

/*
 * A full-screen list: title, items, pre-selected index.  Blocks until Enter
 * (returns the index) or q/Esc (returns -1).  note: a line under the list
 * (e.g. why no serial ports were found), or NULL.
 */
int view_pick(const char *title, const struct view_pick_item *items,
              size_t n, size_t selected, const char *note);

#define VIEW_PICK_QUIT (-1)
#define VIEW_PICK_BACK (-2)     /* Esc, when the picker has a step before it */
#define VIEW_PICK_TYPED (-3)    /* typed (after /) into typed */

/*
 * view_pick with two more ways out: with can_back, Esc goes back
 * (VIEW_PICK_BACK) instead of quitting; with typed (typedlen bytes), '/'
 * opens a line where a path or URL not in the list can be typed: Enter
 * takes it (VIEW_PICK_TYPED), Esc returns to the list.  typed_what names
 * what to type ("a port URL").
 */
int view_pick_ex(const char *title, const struct view_pick_item *items,
                 size_t n, size_t selected, const char *note, bool can_back,
                 const char *typed_what, char *typed, size_t typedlen);

#endif
