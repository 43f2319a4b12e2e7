/*
 * view_header.c - the two header lines and the key bar.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "view.h"

static const char *state_text(const struct view_state *v, char *buf,
                              size_t len)
{
    const struct model *m = v->m;
    char t[24];

    if (v->fatal)
        return "stopped";
    if (m->finished && m->status == ED_ERR_CANCELLED)
        return "cancelled";
    if (m->finished && m->status != ED_OK)
        return "failed";
    switch (m->state) {
    case STATE_IDLE: return "starting";
    case STATE_CONNECTING: return "connecting";
    case STATE_STUB: return "starting the stub";
    case STATE_BAUD: return "changing baud";
    case STATE_FLASHING:
        snprintf(buf, len, "flashing %s",
                 view_fmt_secs(t, sizeof t,
                               model_flash_seconds(m, v->mono_ms)));
        return buf;
    case STATE_RESETTING: return "resetting";
    case STATE_MONITORING: return "monitoring";
    case STATE_DONE: return "done";
    case STATE_FAILED: return "failed";
    case STATE_CANCELLED: return "cancelled";
    }
    return "";
}

void view_header(const struct view_state *v, int y, int w)
{
    const struct term_glyphs *g = term_glyphs();
    const struct model *m = v->m;
    char right[96], st[64], clock[16];
    time_t now = (time_t)(v->wall_ms / 1000);
    struct tm tm;
    const char *sep = g->utf8 ? " \u2500 " : " - ";
    int x, rw;

    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    snprintf(right, sizeof right, "%s%s%s", state_text(v, st, sizeof st),
             g->dot, clock);
    attrset(term_attr(TERM_TITLE));
    mvhline(y, 0, ' ', w);
    x = 1;
    x += view_put(y, x, w - 2, TERM_TITLE, "espdeck");
    if (m->profile[0]) {
        x += view_put(y, x, w - x, TERM_DIM, sep);
        x += view_put(y, x, w - x - 12, TERM_NORMAL, m->profile);
    }
    if (m->port[0]) {
        x += view_put(y, x, w - x, TERM_DIM, sep);
        x += view_put(y, x, w - x - 12, TERM_NORMAL, m->port);
    }
    rw = view_width(right);
    if (x + 2 + rw < w) {
        attrset(term_attr(TERM_BORDER));
        if (g->utf8)
            mvhline_set(y, x + 1, WACS_HLINE, w - x - rw - 3);
        else
            mvhline(y, x + 1, '-', w - x - rw - 3);
        attrset(A_NORMAL);
        view_put(y, w - rw - 1, rw, TERM_DIM, right);
    }
}

/*
 * The chip line is laid out from fields, each with a priority: when the
 * line is too wide, the least important fields go whole (never a cut
 * inside a field).  The chip name alone may be cut, with an ellipsis.
 */
struct chip_field {
    char text[96];
    int prio;                   /* 0 = always shown; higher goes first */
    bool glued;                 /* follows the previous field after a space */
};

#define CHIP_FIELDS 10

static int add_field(struct chip_field *f, int n, int prio, bool glued,
                     const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int add_field(struct chip_field *f, int n, int prio, bool glued,
                     const char *fmt, ...)
{
    va_list ap;

    if (n >= CHIP_FIELDS)
        return n;
    va_start(ap, fmt);
    vsnprintf(f[n].text, sizeof f[n].text, fmt, ap);
    va_end(ap);
    f[n].prio = prio;
    f[n].glued = glued;
    return n + 1;
}

/* Join the fields still shown (show[i]) into line; returns its width. */
static int join_fields(const struct chip_field *f, const bool *show, int n,
                       char *line, size_t len)
{
    const char *dot = term_glyphs()->dot;
    size_t used = 0;
    int i;

    line[0] = '\0';
    for (i = 0; i < n; i++) {
        if (!show[i])
            continue;
        if (used)
            used += (size_t)snprintf(line + used, len - used, "%s",
                                     f[i].glued ? " " : dot);
        if (used < len)
            used += (size_t)snprintf(line + used, len - used, "%s",
                                     f[i].text);
        if (used >= len)
            used = len - 1;
    }
    return view_width(line);
}

/* Lay out the fields in w columns: drop the least important until the
 * line fits.  A field glued to a dropped one goes with it. */
static int fields_fit(const struct chip_field *f, int n, int w, char *line,
                      size_t len)
{
    bool show[CHIP_FIELDS];
    int i, width;

    for (i = 0; i < n; i++)
        show[i] = true;
    for (;;) {
        int worst = -1;

        width = join_fields(f, show, n, line, len);
        if (width <= w)
            return width;
        for (i = 0; i < n; i++)
            if (show[i] && f[i].prio > 0 &&
                (worst < 0 || f[i].prio >= f[worst].prio))
                worst = i;
        if (worst < 0)
            return width;       /* only the essentials: the caller clips */
        show[worst] = false;
        for (i = worst + 1; i < n && f[i].glued; i++)
            show[i] = false;
    }
}

void view_chipline(const struct view_state *v, int y, int w)
{
    const struct term_glyphs *g = term_glyphs();
    const struct model *m = v->m;
    const struct engine_chip_info *c = &m->chip;
    struct chip_field f[CHIP_FIELDS];
    char line[512], fl[48];
    int n = 0;

    if (!m->have_chip) {
        if (m->mode == MODEL_MODE_MONITOR_ONLY)
            snprintf(line, sizeof line, "monitor %u baud%sno reset%s"
                                        "Ctrl-T R resets the target",
                     m->monitor_baud, g->dot, g->dot);
        else if (v->fatal)
            snprintf(line, sizeof line, "%s", "not connected");
        else if (m->state == STATE_IDLE || m->state == STATE_CONNECTING)
            snprintf(line, sizeof line, "connecting to %s%s", m->port,
                     g->ellipsis);
        else
            snprintf(line, sizeof line, "%s", "chip not identified");
        view_put(y, 1, w - 2, TERM_DIM, line);
        return;
    }
    if (c->flash_size >= 1024 * 1024)
        snprintf(fl, sizeof fl, "%u MiB", c->flash_size / (1024 * 1024));
    else if (c->flash_size)
        snprintf(fl, sizeof fl, "%u KiB", c->flash_size / 1024);
    else
        snprintf(fl, sizeof fl, "size ?");
    /* in the order shown; priorities: 0 chip, 1 MAC, 2 flash size,
     * 3 baud, 4 loader, 5 revision, 6 crystal, 7 flash id, 8 reset used */
    {
        const char *paren = strstr(c->display, " (");

        if (paren) {
            n = add_field(f, n, 0, false, "%.*s",
                          (int)(paren - c->display), c->display);
            n = add_field(f, n, 5, true, "%s", paren + 1);
        } else {
            n = add_field(f, n, 0, false, "%s", c->display);
        }
    }
    n = add_field(f, n, 1, false, "MAC %02x:%02x:%02x:%02x:%02x:%02x",
                  c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4],
                  c->mac[5]);
    n = add_field(f, n, 2, false, "flash %s", fl);
    n = add_field(f, n, 7, true, "(%02x %02x %02x)", c->flash_id & 0xff,
                  (c->flash_id >> 8) & 0xff, (c->flash_id >> 16) & 0xff);
    n = add_field(f, n, 4, false, "%s", c->stub ? "stub" : "ROM loader");
    if (c->usb_jtag) /* no UART on the link: its baud means nothing */
        n = add_field(f, n, 3, false, "USB-Serial/JTAG");
    else
        n = add_field(f, n, 3, false, "%u baud", c->baud);
    if (c->crystal_mhz)
        n = add_field(f, n, 6, false, "%d MHz xtal", c->crystal_mhz);
    if (c->reset_used[0])
        n = add_field(f, n, 8, false, "%s", c->reset_used);
    if (fields_fit(f, n, w - 2, line, sizeof line) > w - 2) {
        /* the chip name alone is too wide: cut it visibly */
        int cut = w - 2 - view_width(g->ellipsis);
        int x = 1 + view_put(y, 1, cut, TERM_NORMAL, line);

        view_put(y, x, w - 1 - x, TERM_DIM, g->ellipsis);
        return;
    }
    view_put(y, 1, w - 2, TERM_NORMAL, line);
}

/* The key bar offers only keys that do something here. */
static bool view_key_works(const struct view_state *v, const struct ui_key *k)
{
    if (k->action == UI_ACT_REFLASH)
        return !v->no_reflash;
    if (k->action == UI_ACT_RESET)
        return !v->no_reset;
    if (k->action == UI_ACT_RETRY)
        return v->can_retry;
    return true;
}

void view_keybar(const struct view_state *v, int y, int w)
{
    size_t i;
    int x = 1;

    attrset(A_NORMAL);
    mvhline(y, 0, ' ', w);
    if (v->searching) {
        x += view_put(y, x, w - 2, TERM_TITLE,
                      v->prompt ? v->prompt : "search: ");
        x += view_put(y, x, w - x - 1, TERM_NORMAL,
                      v->prompt_text ? v->prompt_text : v->search);
        view_put(y, x, 1, TERM_SELECTED, " ");
        view_put(y, x + 2, w - x - 3, TERM_DIM,
                 v->prompt ? "Enter set  Esc cancel"
                           : "Enter find  Esc stop");
        return;
    }
    if (v->chord) {
        x += view_put(y, x, w - 2, TERM_KEY, " Ctrl-T ");
        x += view_put(y, x, w - x, TERM_DIM, " then: ");
        for (i = 0; i < UI_N_KEYS; i++) {
            const struct ui_key *k = &ui_keys[i];
            char buf[64];

            if (!(k->key & UI_CHORD(0)) || !(k->where & v->where))
                continue;
            if (k->action == UI_ACT_SEND_T || !view_key_works(v, k))
                continue;
            snprintf(buf, sizeof buf, "%s %s  ", k->label + 7, k->name);
            x += view_put(y, x, w - x - 1, TERM_NORMAL, buf);
        }
        return;
    }
    {
        int sw = v->status && *v->status ? view_width(v->status) : 0;
        int limit;

        /* the keys keep room for three ("F1 help   q quit   r retry") */
        if (sw > w - 32)
            sw = w - 32;
        if (sw < 0)
            sw = 0;
        limit = w - 1 - (sw ? sw + 2 : 0);
        for (i = 0; i < UI_N_KEYS; i++) {
            const struct ui_key *k = &ui_keys[i];
            int need;

            if (!k->bar || !(k->where & v->where) || !view_key_works(v, k))
                continue;
            need = view_width(k->label) + view_width(k->name) + 1;
            if (x + need > limit)
                break;
            x += view_put(y, x, w - x, TERM_KEY, k->label);
            x += view_put(y, x, w - x, TERM_NORMAL, " ");
            x += view_put(y, x, w - x, TERM_NORMAL, k->name);
            x += view_put(y, x, w - x, TERM_NORMAL, "   ");
        }
        if (sw > 0 && x + 2 < w - sw - 1)
            sw = w - x - 3;     /* the room the keys left */
        if (sw > 0) {
            char st[512];

            view_shorten(st, sizeof st, sw, v->status);
            sw = view_width(st) < sw ? view_width(st) : sw;
            view_put(y, w - sw - 1, sw, v->status_ok ? TERM_OK : TERM_WARN,
                     st);
        }
    }
}
