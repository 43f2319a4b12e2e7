/*
 * view_frame.c - one frame: header, panes or split view, key bar, overlays.
 *
 * Layout (rows): header, chip line, body, key bar.  While flashing the body
 * is the image panes (4 rows each, else 3, else one line each) above the
 * log pane; the log pane shrinks first.  After flashing (split) the body is
 * the result summary above the monitor; in monitor-only mode the monitor.
 * An error that ends the session is a box at the top of the body, its
 * height the sentence's; the panes (saying "not written") and the log
 * follow it.
 */
#include "view.h"

#define MIN_W 40
#define MIN_H 10
#define LOG_MIN 3

static void draw_flash_body(struct view_state *v, int y, int h, int w)
{
    size_t n = v->m->n_parts;
    int parts_h;

    if (view_parts_rows(n, 4) + LOG_MIN <= h)
        parts_h = view_parts_rows(n, 4);
    else if (view_parts_rows(n, 3) + LOG_MIN <= h)
        parts_h = view_parts_rows(n, 3);
    else if (view_parts_rows(n, 1) + LOG_MIN <= h)
        parts_h = view_parts_rows(n, 1);
    else
        parts_h = h;            /* no room for the log */
    if (parts_h > h)
        parts_h = h;
    view_parts(v, y, parts_h, w);
    if (h - parts_h >= LOG_MIN)
        view_log(v, y + parts_h, h - parts_h, w);
}

static void draw_split_body(struct view_state *v, int y, int h, int w)
{
    int want = (int)v->m->n_parts + 1, used;

    /* keep at least 8 monitor rows; else the one-line summary */
    if (h - want < 8)
        want = 1;
    used = view_summary(v, y, want, w);
    view_monitor(v, y + used, h - used, w);
}

void view_draw(struct view_state *v)
{
    int h = LINES, w = COLS, body_y = 2, body_h;

    erase();
    if (w < MIN_W || h < MIN_H) {
        view_put(0, 0, w, TERM_WARN, "espdeck: the terminal is too small");
        view_put(1, 0, w, TERM_DIM, "(needs 40x10) - q quits");
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    view_header(v, 0, w);
    view_chipline(v, 1, w);
    body_h = h - body_y - 1;
    if (v->fatal && v->m->mode == MODEL_MODE_FLASH && v->m->n_parts &&
        !v->m->split) {
        /* the sentence, then the panes (what was not written), then the
         * log: no blank rows between them */
        int fh = view_fatal_rows(v, w);

        if (fh > body_h - view_parts_rows(v->m->n_parts, 1))
            fh = body_h - view_parts_rows(v->m->n_parts, 1);
        if (fh < 4)
            fh = body_h;
        view_fatal(v, body_y, fh, w);
        if (body_h - fh > 2)
            draw_flash_body(v, body_y + fh, body_h - fh, w);
    } else if (v->fatal) {
        int fh = view_fatal_rows(v, w);

        if (fh > body_h - 4 || body_h <= 12)
            fh = body_h > 12 ? body_h - 4 : body_h;
        view_fatal(v, body_y, fh, w);
        if (body_h - fh >= 4)
            view_log(v, body_y + fh, body_h - fh, w);
    } else if (v->m->mode == MODEL_MODE_MONITOR_ONLY) {
        view_monitor(v, body_y, body_h, w);
    } else if (v->m->split) {
        draw_split_body(v, body_y, body_h, w);
    } else {
        draw_flash_body(v, body_y, body_h, w);
    }
    view_keybar(v, h - 1, w);
    switch (v->overlay) {
    case VIEW_HELP:
        view_help(v);
        break;
    case VIEW_CONFIRM_CANCEL:
        view_confirm(v, "cancel flashing?",
                     "Stop after the block in flight. Images already "
                     "verified stay; the one being written is left "
                     "incomplete and the rest are not written.");
        break;
    case VIEW_CONFIRM_QUIT:
        view_confirm(v, "quit while flashing?",
                     "Flashing is not finished: quitting cancels it and "
                     "leaves the images not yet written as they were.");
        break;
    case VIEW_NONE:
        break;
    }
    wnoutrefresh(stdscr);
    doupdate();
}
