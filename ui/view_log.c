/*
 * view_log.c - the engine's messages, newest at the bottom.
 */
#include <stdio.h>
#include <time.h>

#include "view.h"

void view_log(const struct view_state *v, int y, int h, int w)
{
    const struct model_ring *r = &v->m->log;
    uint64_t end = model_ring_end(r), first = model_ring_first(r), s;
    int rows = h - 2, row;

    if (h < 3)
        return;
    view_box(y, 0, h, w, "log", NULL, TERM_TITLE);
    s = end > first + (uint64_t)rows ? end - (uint64_t)rows : first;
    for (row = 0; s < end; s++, row++) {
        const struct model_line *l = model_ring_get(r, s);
        time_t t = (time_t)(l->wall_ms / 1000);
        struct tm tm;
        char ts[16];
        enum term_role role = view_level_role(l->level);

        localtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%H:%M:%S", &tm);
        view_put(y + 1 + row, 2, 9, TERM_DIM, ts);
        view_put(y + 1 + row, 11, w - 13,
                 role == TERM_LOG_I ? TERM_NORMAL : role, l->text);
    }
}
