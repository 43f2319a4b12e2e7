/*
 * view_util.c - small drawing helpers shared by the views.
 */
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "view.h"

/* Columns and bytes of the next character of s (UTF-8 aware). */
static int next_char(const char *s, int *cols)
{
    mbstate_t st;
    wchar_t wc;
    size_t n;
    int w;

    if ((unsigned char)*s < 0x80) {
        *cols = 1;
        return 1;
    }
    memset(&st, 0, sizeof st);
    n = mbrtowc(&wc, s, strlen(s), &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *cols = 1;
        return 1;
    }
    w = wcwidth(wc);
    *cols = w < 0 ? 1 : w;
    return (int)n;
}

int view_fit(int w, const char *s)
{
    const char *p = s;
    int used = 0, cols, n;

    while (*p) {
        n = next_char(p, &cols);
        if (used + cols > w && p > s)
            break;
        p += n;
        used += cols;
    }
    return (int)(p - s);
}

int view_width(const char *s)
{
    int total = 0, cols;

    while (*s) {
        s += next_char(s, &cols);
        total += cols;
    }
    return total;
}

int view_put(int y, int x, int w, enum term_role role, const char *s)
{
    int used = 0, cols, n;
    const char *p = s;

    if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
        return 0;
    if (x + w > COLS)
        w = COLS - x;
    while (*p) {
        n = next_char(p, &cols);
        if (used + cols > w)
            break;
        p += n;
        used += cols;
    }
    attrset(term_attr(role));
    mvaddnstr(y, x, s, (int)(p - s));
    attrset(A_NORMAL);
    return used;
}

int view_wrap_cut(int w, const char *s)
{
    const char *p = s;
    int used = 0, cols, n, space = -1;

    while (*p) {
        n = next_char(p, &cols);
        if (used + cols > w)
            break;
        if (*p == ' ' && p[1] != '%')   /* keep "38 %" together */
            space = (int)(p - s);
        p += n;
        used += cols;
    }
    if (!*p || (*p == ' ' && p[1] != '%'))
        return (int)(p - s);
    if (space > 0)
        return space;
    return p > s ? (int)(p - s) : next_char(s, &cols);
}

const char *view_wrap_next(const char *s, int cut)
{
    s += cut;
    while (*s == ' ')
        s++;
    return s;
}

const char *view_shorten(char *buf, size_t len, int w, const char *s)
{
    const char *ell = term_glyphs()->ellipsis;
    size_t i, n = strlen(s), best = 0;

    snprintf(buf, len, "%s", s);
    if (view_width(buf) <= w || w <= 0)
        return buf;
    /* the longest leading clause that fits */
    for (i = 1; i + 1 < n && i < len; i++) {
        if ((s[i] == ':' || s[i] == ',' || s[i] == ';') && s[i + 1] == ' ') {
            snprintf(buf, len, "%.*s", (int)i, s);
            if (view_width(buf) <= w)
                best = i;
        }
    }
    if (best && best >= n / 4) {
        snprintf(buf, len, "%.*s", (int)best, s);
        return buf;
    }
    /* else whole words and an ellipsis */
    for (i = n < len ? n : len - 1; i > 0; i--) {
        if (s[i] != ' ')
            continue;
        snprintf(buf, len, "%.*s%s", (int)i, s, ell);
        if (view_width(buf) <= w)
            return buf;
    }
    snprintf(buf, len, "%s", s);
    return buf;
}

void view_clear(int y, int x, int h, int w)
{
    int i;

    attrset(A_NORMAL);
    for (i = 0; i < h; i++)
        mvhline(y + i, x, ' ', w);
}

void view_box(int y, int x, int h, int w, const char *title,
              const char *right, enum term_role title_role)
{
    int i, tw;

    if (h < 2 || w < 4)
        return;
    attrset(term_attr(TERM_BORDER));
    if (term_glyphs()->utf8) {
        mvadd_wch(y, x, WACS_ULCORNER);
        mvhline_set(y, x + 1, WACS_HLINE, w - 2);
        mvadd_wch(y, x + w - 1, WACS_URCORNER);
        for (i = 1; i < h - 1; i++) {
            mvadd_wch(y + i, x, WACS_VLINE);
            mvadd_wch(y + i, x + w - 1, WACS_VLINE);
        }
        mvadd_wch(y + h - 1, x, WACS_LLCORNER);
        mvhline_set(y + h - 1, x + 1, WACS_HLINE, w - 2);
        mvadd_wch(y + h - 1, x + w - 1, WACS_LRCORNER);
    } else {
        /* plain ASCII: readable on any terminal and in any capture */
        mvaddch(y, x, '+');
        mvhline(y, x + 1, '-', w - 2);
        mvaddch(y, x + w - 1, '+');
        for (i = 1; i < h - 1; i++) {
            mvaddch(y + i, x, '|');
            mvaddch(y + i, x + w - 1, '|');
        }
        mvaddch(y + h - 1, x, '+');
        mvhline(y + h - 1, x + 1, '-', w - 2);
        mvaddch(y + h - 1, x + w - 1, '+');
    }
    attrset(A_NORMAL);
    tw = 0;
    if (title && *title) {
        mvaddch(y, x + 1, ' ');
        tw = view_put(y, x + 2, w - 6, title_role, title);
        mvaddch(y, x + 2 + tw, ' ');
        tw += 3;
    }
    if (right && *right) {
        int rw = view_width(right);
        int room = w - 4 - tw - 2;

        if (rw > room)
            rw = room;
        if (rw > 0) {
            mvaddch(y, x + w - 3 - rw, ' ');
            view_put(y, x + w - 2 - rw, rw, TERM_DIM, right);
            mvaddch(y, x + w - 2, ' ');
        }
    }
}

const char *view_fmt_secs(char *buf, size_t len, double s)
{
    if (s < 0)
        snprintf(buf, len, "?");
    else if (s < 0.1)
        snprintf(buf, len, "%.0f ms", s * 1000.0);  /* not "0.0 s" */
    else if (s < 10)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 120)
        snprintf(buf, len, "%.0f s", s);
    else
        snprintf(buf, len, "%d min %d s", (int)(s / 60), (int)s % 60);
    return buf;
}

enum term_role view_level_role(enum model_level lv)
{
    switch (lv) {
    case MODEL_LVL_E: return TERM_LOG_E;
    case MODEL_LVL_W: return TERM_LOG_W;
    case MODEL_LVL_I: return TERM_LOG_I;
    case MODEL_LVL_D: return TERM_LOG_D;
    case MODEL_LVL_V: return TERM_LOG_V;
    default: return TERM_NORMAL;
    }
}
