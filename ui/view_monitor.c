/*
 * view_monitor.c - the target's output: coloured by level, scrollable,
 * searchable, with optional timestamps.
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

void view_monitor(struct view_state *v, int y, int h, int w)
{
    const struct term_glyphs *g = term_glyphs();
    const struct model *m = v->m;
    const struct model_ring *r = &m->mon;
    uint64_t end = model_ring_end(r), first = model_ring_first(r), top, s;
    char title[64], right[200];
    int rows = h - 2, row;

    if (h < 3)
        return;
    v->mon_rows = rows;
    if (v->follow || v->top < first) {
        uint64_t avail = (uint64_t)rows - (m->partial_len && rows > 1);

        top = end > first + avail ? end - avail : first;
    }
    else
        top = v->top;
    if (!v->follow && top > end)
        top = end;
    v->shown_top = top;

    snprintf(title, sizeof title, "monitor %u baud", m->monitor_baud);
    snprintf(right, sizeof right, "%s%slog file: %s%stime: %s",
             v->follow ? "" : "paused",
             v->follow ? "" : g->dot,
             v->logfile ? v->logfile : "off", g->dot,
             v->timestamps ? "on" : "off");
    if (!v->follow && top + (uint64_t)rows < end)
        snprintf(right + strlen(right), sizeof right - strlen(right),
                 "%s%llu lines below", g->dot,
                 (unsigned long long)(end - top - (uint64_t)rows));
    view_box(y, 0, h, w, title, right, TERM_TITLE);

    for (row = 0, s = top; s < end && row < rows; s++, row++) {
        const struct model_line *l = model_ring_get(r, s);
        int x = 2;

        if (v->timestamps) {
            time_t t = (time_t)(l->wall_ms / 1000);
            struct tm tm;
            char ts[24], ms[8];

            localtime_r(&t, &tm);
            strftime(ts, sizeof ts, "%H:%M:%S", &tm);
            snprintf(ms, sizeof ms, ".%03d", (int)(l->wall_ms % 1000));
            strncat(ts, ms, sizeof ts - strlen(ts) - 1);
            x += view_put(y + 1 + row, x, w - 4, TERM_DIM, ts) + 1;
        }
        if (v->have_hit && s == v->hit)
            view_put(y + 1 + row, 1, 1, TERM_SELECTED, ">");
        put_line(y + 1 + row, x, w - x - 2, view_level_role(l->level),
                 l->text, v->search);
    }
    /* The line still arriving, when following. */
    if ((v->follow || top + (uint64_t)rows >= end) && row < rows &&
        m->partial_len) {
        char buf[MODEL_LINE_MAX];

        snprintf(buf, sizeof buf, "%.*s", (int)m->partial_len, m->partial);
        view_put(y + 1 + row, v->timestamps ? 15 : 2, w - 17, TERM_NORMAL,
                 buf);
    }
    if (!end && !m->partial_len)
        view_put(y + 1, 2, w - 4, TERM_DIM,
                 m->mode == MODEL_MODE_MONITOR_ONLY
                     ? "waiting for output from the target..."
                     : "waiting for the app to start...");
}
