/*
 * view_help.c - overlays: the key list, yes/no questions, fatal errors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "view.h"

/* Word-wrap s into rows of width w starting at (y, x); returns rows used. */
static int put_wrapped(int y, int x, int w, int max_rows, enum term_role role,
                       const char *s)
{
    char line[512];
    int rows = 0;

    while (*s && rows < max_rows) {
        int cut = view_wrap_cut(w, s);

        snprintf(line, sizeof line, "%.*s", cut, s);
        view_put(y + rows, x, w, role, line);
        rows++;
        s = view_wrap_next(s, cut);
    }
    return rows;
}

static int wrapped_rows(int w, const char *s)
{
    int rows = 0;

    while (*s) {
        rows++;
        s = view_wrap_next(s, view_wrap_cut(w, s));
    }
    return rows;
}

/* The keys of the screen on now (v->where), from the key table. */
void view_help(const struct view_state *v)
{
    int w = COLS - 4 > 78 ? 78 : COLS - 4;
    int need = 2, h, y, x, row = 0, first;
    bool roomy, mon = v->where == UI_IN_MON;
    size_t i;

    for (i = 0; i < UI_N_KEYS; i++)
        need += (ui_keys[i].where & v->where) != 0;
    /* a heading and a footnote when there is room for them */
    roomy = need + 4 <= LINES - 2;
    h = roomy ? need + 4 : need;
    if (h > LINES)
        h = LINES;
    y = (LINES - h) / 2;
    x = (COLS - w) / 2;
    view_clear(y, x, h, w);
    view_box(y, x, h, w, mon ? "keys: the monitor has the keyboard" : "keys",
             "any key closes", TERM_TITLE);
    first = y + 1;
    if (roomy) {
        view_put(first, x + 2, w - 4, TERM_DIM, "key            what it does");
        first++;
    }
    for (i = 0; i < UI_N_KEYS && first + row < y + h - 1; i++) {
        const struct ui_key *k = &ui_keys[i];

        if (!(k->where & v->where))
            continue;
        view_put(first + row, x + 2, 14, TERM_KEY, k->label);
        view_put(first + row, x + 17, w - 19, TERM_NORMAL, k->help);
        row++;
    }
    if (roomy)
        put_wrapped(y + h - 3, x + 2, w - 4, 2, TERM_DIM,
                    mon ? "Ctrl-T is the menu key, as in idf monitor: the "
                          "console's own keys follow it, everything else "
                          "is typed to the target."
                        : "On the monitor every key is typed to the target "
                          "except Ctrl-], Ctrl-T (the menu key), F1, PgUp "
                          "and PgDn.");
}

void view_confirm(const struct view_state *v, const char *title,
                  const char *text)
{
    int w = COLS - 4 > 64 ? 64 : COLS - 4;
    int tr = wrapped_rows(w - 4, text);
    int h = tr + 4, y = (LINES - h) / 2, x = (COLS - w) / 2;

    (void)v;
    view_clear(y, x, h, w);
    view_box(y, x, h, w, title, NULL, TERM_WARN);
    put_wrapped(y + 1, x + 2, w - 4, tr, TERM_NORMAL, text);
    view_put(y + h - 2, x + 2, w - 4, TERM_TITLE, "y = yes    n = no");
}

int view_fatal_rows(const struct view_state *v, int w)
{
    return wrapped_rows(w - 4, v->fatal) + 4;
}

void view_fatal(const struct view_state *v, int y, int h, int w)
{
    int tr = wrapped_rows(w - 4, v->fatal);
    int bh = tr + 4;

    if (bh > h)
        bh = h;
    view_box(y, 0, bh, w, "error", NULL, TERM_ERROR);
    put_wrapped(y + 1, 2, w - 4, bh - 3, TERM_ERROR, v->fatal);
    view_put(y + bh - 2, 2, w - 4, TERM_DIM,
             v->can_retry ? "press r to retry, q to quit" : "press q to quit");
}
