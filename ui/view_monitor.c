/*
 * view_monitor.c - the target's output: coloured by level, scrollable,
 * searchable, with optional timestamps; long lines wrap (or are cut).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "view.h"

/* Draw text with the search match highlighted. */
static void put_line(int y, int x, int w, enum term_role role,
                     const char *text, const char *search)
{
    const char *hit = search && *search ? strcasestr(text, search) : NULL;
    char buf[MODEL_LINE_MAX];
    int used;

    if (!hit) {
        view_put(y, x, w, role, text);
        return;
    }
    snprintf(buf, sizeof buf, "%.*s", (int)(hit - text), text);
    used = view_put(y, x, w, role, buf);
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(search), hit);
    used += view_put(y, x + used, w - used, TERM_SELECTED, buf);
    view_put(y, x + used, w - used, role, hit + strlen(search));
}

/* Rows a line of text takes at w columns: 1 when cut, else wrapped. */
static int line_rows(const struct view_state *v, const char *text, int w)
{
    int rows = 0;

    if (v->cut || w < 1)
        return 1;
    do {
        text += view_fit(w, text);
        rows++;
    } while (*text);
    return rows;
}

/* Draw one monitor line from its row skip (rows cut off at the top) into
 * rows [y, y + avail); returns the rows drawn. */
static int draw_line(const struct view_state *v, int y, int avail, int skip,
                     int x0, int w, const struct model_line *l,
                     const char *text, enum model_level level, bool hit)
{
    const char *p = text;
    int row = 0, n = 0, x = x0;

    if (l && v->timestamps) {
        if (skip == 0) {
            time_t t = (time_t)(l->wall_ms / 1000);
            struct tm tm;
            char ts[24], ms[8];

            localtime_r(&t, &tm);
            strftime(ts, sizeof ts, "%H:%M:%S", &tm);
            snprintf(ms, sizeof ms, ".%03d", (int)(l->wall_ms % 1000));
            strncat(ts, ms, sizeof ts - strlen(ts) - 1);
            view_put(y, x0, w, TERM_DIM, ts);
        }
    }
    if (v->timestamps)
        x = x0 + 13;
    if (hit && skip == 0)
        view_put(y, 1, 1, TERM_SELECTED, ">");
    do {
        int cut = v->cut ? (int)strlen(p) : view_fit(w - (x - x0), p);
        char buf[MODEL_LINE_MAX];

        if (n >= skip) {
            snprintf(buf, sizeof buf, "%.*s", cut, p);
            put_line(y + row, x, w - (x - x0), view_level_role(level), buf,
                     v->search);
            row++;
        }
        n++;
        p += cut;
    } while (*p && row < avail);
    return row;
}

void view_monitor(struct view_state *v, int y, int h, int w)
{
    const struct term_glyphs *g = term_glyphs();
    const struct model *m = v->m;
    const struct model_ring *r = &m->mon;
    uint64_t end = model_ring_end(r), first = model_ring_first(r), top, s;
    char title[64], right[200], partial[MODEL_LINE_MAX];
    int rows = h - 2, row = 0, skip = 0, tw = w - 4, lines = 0;
    bool follow;

    if (h < 3)
        return;
    v->mon_rows = rows;
    snprintf(partial, sizeof partial, "%.*s", (int)m->partial_len,
             m->partial);
    if (v->timestamps)
        tw -= 13;
    follow = v->follow || v->top < first;
    if (follow) {
        /* from the newest line (the one still arriving first) upwards */
        int used = m->partial_len ? line_rows(v, partial, tw) : 0;

        top = end;
        while (top > first && used < rows) {
            used += line_rows(v, model_ring_get(r, top - 1)->text, tw);
            top--;
        }
        if (used > rows)
            skip = used - rows; /* the top line shows its last rows */
    } else {
        top = v->top > end ? end : v->top;
    }
    v->shown_top = top;

    for (s = top; s < end && row < rows; s++) {
        const struct model_line *l = model_ring_get(r, s);

        row += draw_line(v, y + 1 + row, rows - row, skip, 2, w - 4, l,
                         l->text, l->level, v->have_hit && s == v->hit);
        skip = 0;
        lines++;
    }
    v->mon_lines = lines;
    /* The line still arriving, when it is in view. */
    if (s == end && row < rows && m->partial_len)
        row += draw_line(v, y + 1 + row, rows - row, skip, 2, w - 4, NULL,
                         partial, MODEL_LVL_NONE, false);

    snprintf(title, sizeof title, "monitor %u baud", m->monitor_baud);
    snprintf(right, sizeof right, "%s%s%s%slog file: %s%stime: %s",
             v->follow ? "" : "paused",
             v->follow ? "" : g->dot, v->cut ? "cut" : "",
             v->cut ? g->dot : "",
             v->logfile ? v->logfile : "off", g->dot,
             v->timestamps ? "on" : "off");
    if (!follow && s < end)
        snprintf(right + strlen(right), sizeof right - strlen(right),
                 "%s%llu lines below", g->dot,
                 (unsigned long long)(end - s));
    view_box(y, 0, h, w, title, right, TERM_TITLE);
    if (!end && !m->partial_len)
        view_put(y + 1, 2, w - 4, TERM_DIM,
                 m->mode == MODEL_MODE_MONITOR_ONLY
                     ? "waiting for output from the target..."
                     : "waiting for the app to start...");
}
