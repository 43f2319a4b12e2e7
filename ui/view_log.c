/*
 * view_log.c - the engine's messages, newest at the bottom.  A long
 * message wraps at word boundaries (continuation rows indented under its
 * text), so the end of a sentence (the part that says what to do) shows at
 * any width; when the pane is full the oldest messages go first, whole.
 */
#include <stdio.h>
#include <time.h>

#include "view.h"

#define TEXT_X 11       /* after "HH:MM:SS " */
#define CONT_INDENT 2   /* continuation rows */

/* Rows a message takes at text width w (first row) / w - CONT_INDENT. */
static int line_rows(const char *s, int w)
{
    int rows = 0, cw = w;

    if (!*s)
        return 1;
    while (*s) {
        s = view_wrap_next(s, view_wrap_cut(cw, s));
        cw = w - CONT_INDENT;
        rows++;
    }
    return rows;
}

/* Draw the first max rows of a message; returns the rows drawn. */
static int put_line(int y, int w, int max, enum term_role role,
                    const char *s)
{
    char buf[MODEL_LINE_MAX + 8];
    int drawn = 0, cw = w, x = TEXT_X;

    while (*s && drawn < max) {
        int cut = view_wrap_cut(cw, s);

        snprintf(buf, sizeof buf, "%.*s", cut, s);
        view_put(y + drawn, x, cw, role, buf);
        drawn++;
        s = view_wrap_next(s, cut);
        cw = w - CONT_INDENT;
        x = TEXT_X + CONT_INDENT;
    }
    return drawn;
}

void view_log(const struct view_state *v, int y, int h, int w)
{
    const struct model_ring *r = &v->m->log;
    uint64_t end = model_ring_end(r), first = model_ring_first(r), s;
    int rows = h - 2, tw = w - TEXT_X - 2, need = 0, row = 0;

    if (h < 3)
        return;
    view_box(y, 0, h, w, "log", NULL, TERM_TITLE);
    if (tw < 8)
        return;
    /* from the newest back, as many whole messages as fit (a fragment
     * without its start reads as nonsense); the newest always shows, from
     * its start, even when it is taller than the pane */
    for (s = end; s > first;) {
        int n = line_rows(model_ring_get(r, s - 1)->text, tw);

        if (need + n > rows && s < end)
            break;
        need += n;
        s--;
    }
    if (s > first && need < rows)
        row = rows - need;      /* older ones hidden: newest at the bottom */
    for (; s < end && row < rows; s++) {
        const struct model_line *l = model_ring_get(r, s);
        time_t t = (time_t)(l->wall_ms / 1000);
        struct tm tm;
        char ts[16];
        enum term_role role = view_level_role(l->level);

        localtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%H:%M:%S", &tm);
        view_put(y + 1 + row, 2, 9, TERM_DIM, ts);
        row += put_line(y + 1 + row, tw, rows - row,
                        role == TERM_LOG_I ? TERM_NORMAL : role, l->text);
    }
}
