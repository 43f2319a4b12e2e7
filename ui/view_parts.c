/*
 * view_parts.c - one pane per image while flashing; the summary after.
 */
#include <stdio.h>
#include <string.h>

#include "view.h"

void view_bar(int y, int x, int w, double frac, enum term_role role)
{
    const struct term_glyphs *g = term_glyphs();
    int eighths, full, i;

    if (w <= 0)
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    eighths = (int)(frac * w * 8 + 0.5);
    full = eighths / 8;
    attrset(term_attr(role));
    for (i = 0; i < full && i < w; i++)
        mvaddstr(y, x + i, g->bar_full);
    if (full < w && g->bar_part[eighths % 8][0]) {
        mvaddstr(y, x + full, g->bar_part[eighths % 8]);
        full++;
    }
    attrset(term_attr(TERM_BAR_EMPTY));
    for (i = full; i < w; i++)
        mvaddstr(y, x + i, g->bar_empty);
    attrset(A_NORMAL);
}

static enum term_role phase_role(enum engine_phase ph)
{
    switch (ph) {
    case PHASE_DONE:
    case PHASE_SKIPPED: return TERM_OK;
    case PHASE_FAILED: return TERM_ERROR;
    case PHASE_CANCELLED: return TERM_WARN;
    case PHASE_WAITING: return TERM_DIM;
    default: return TERM_NORMAL;
    }
}

static enum term_role bar_role(enum engine_phase ph)
{
    switch (ph) {
    case PHASE_DONE:
    case PHASE_SKIPPED: return TERM_OK;
    case PHASE_FAILED: return TERM_ERROR;
    case PHASE_CANCELLED: return TERM_WARN;
    default: return TERM_BAR;
    }
}

/* The words right of the bar: "48 %  writing 81 KiB/s  ETA 9 s". */
static void status_text(const struct model_part *p, char *buf, size_t len,
                        bool with_message)
{
    char r[24], t[24];
    int pct = (int)(model_part_fraction(p) * 100.0);

    switch (p->phase) {
    case PHASE_WAITING:
        snprintf(buf, len, "  0 %%  %s", p->message[0] ? p->message
                                                        : "waiting");
        break;
    case PHASE_ERASING:
        snprintf(buf, len, "%3d %%  erasing", pct);
        break;
    case PHASE_WRITING:
        if (p->rate > 0) {
            double eta = model_part_eta(p);

            snprintf(buf, len, "%3d %%  writing %s/s  ETA %s", pct,
                     model_fmt_bytes(r, sizeof r, (uint64_t)p->rate),
                     eta >= 0 ? view_fmt_secs(t, sizeof t, eta) : "?");
        } else {
            snprintf(buf, len, "%3d %%  writing", pct);
        }
        break;
    case PHASE_VERIFYING:
        snprintf(buf, len, "%3d %%  verifying", pct);
        break;
    case PHASE_SKIPPED:
        snprintf(buf, len, "100 %%  skipped (unchanged)");
        break;
    case PHASE_DONE:
        snprintf(buf, len, "100 %%  done, verified  %s",
                 view_fmt_secs(t, sizeof t, p->elapsed));
        break;
    case PHASE_FAILED:
        snprintf(buf, len, "%3d %%  failed%s%s", pct,
                 with_message && p->message[0] ? ": " : "",
                 with_message ? p->message : "");
        break;
    case PHASE_CANCELLED:
        snprintf(buf, len, "%3d %%  cancelled%s%s", pct,
                 with_message && p->message[0] ? ": " : "",
                 with_message ? p->message : "");
        break;
    }
}

/* "· 2 recoveries" after a detail line, when the write resumed. */
static void recoveries_text(const struct model_part *p, char *buf, size_t len)
{
    if (p->recoveries)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%u recover%s",
                 term_glyphs()->dot, p->recoveries,
                 p->recoveries == 1 ? "y" : "ies");
}

/* The second line of a full pane. */
static void detail_text(const struct model_part *p, char *buf, size_t len,
                        enum term_role *role)
{
    const struct term_glyphs *g = term_glyphs();
    char a[24], b[24], c[24];

    *role = TERM_DIM;
    switch (p->phase) {
    case PHASE_WAITING:
        if (p->region_size)
            snprintf(buf, len, "image %s in a %s partition (%d %% full)",
                     model_fmt_bytes(a, sizeof a, p->len),
                     model_fmt_bytes(b, sizeof b, p->region_size),
                     (int)(100.0 * (double)p->len / p->region_size));
        else
            snprintf(buf, len, "image %s",
                     model_fmt_bytes(a, sizeof a, p->len));
        break;
    case PHASE_ERASING:
    case PHASE_WRITING:
    case PHASE_VERIFYING:
        snprintf(buf, len, "%s of %s", model_fmt_bytes(a, sizeof a, p->done),
                 model_fmt_bytes(b, sizeof b, p->total));
        if (p->wire_total && p->total)
            snprintf(buf + strlen(buf), len - strlen(buf),
                     "%sdeflate %.2f", g->dot,
                     (double)p->wire_total / (double)p->total);
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", g->dot,
                 view_fmt_secs(c, sizeof c, p->elapsed));
        recoveries_text(p, buf, len);
        break;
    case PHASE_SKIPPED:
        snprintf(buf, len, "%s", p->message[0] ? p->message
                                 : "flash already holds this image (MD5 "
                                   "matched), nothing written");
        break;
    case PHASE_DONE: {
        uint64_t w = p->written ? p->written : p->total;

        snprintf(buf, len, "%s written in %s", model_fmt_bytes(a, sizeof a, w),
                 view_fmt_secs(c, sizeof c, p->elapsed));
        if (w < p->total) /* a sector-delta write */
            snprintf(buf + strlen(buf), len - strlen(buf), " (changed "
                     "sectors of %s)", model_fmt_bytes(b, sizeof b, p->total));
        if (p->elapsed >= 0.1)  /* a rate over a few ms means nothing */
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s/s", g->dot,
                     model_fmt_bytes(b, sizeof b,
                                     (uint64_t)(w / p->elapsed)));
        snprintf(buf + strlen(buf), len - strlen(buf), "%sMD5 ok", g->dot);
        recoveries_text(p, buf, len);
        *role = TERM_OK;
        break;
    }
    case PHASE_FAILED:
        snprintf(buf, len, "%s", p->message[0] ? p->message : "failed");
        *role = TERM_ERROR;
        break;
    case PHASE_CANCELLED:
        snprintf(buf, len, "cancelled: %s",
                 p->message[0] ? p->message : "not written");
        *role = TERM_WARN;
        break;
    }
}

static void pane_title(const struct model_part *p, char *buf, size_t len)
{
    const struct term_glyphs *g = term_glyphs();
    char sz[24];

    snprintf(buf, len, "%s%s0x%06x%s%s%s%s", p->name, g->dot, p->offset,
             g->dot, model_fmt_bytes(sz, sizeof sz, p->len),
             p->source[0] ? g->dot : "", p->source);
}

/* fixed_sw: width of the status words (0 = as long as they are), so the
 * bars of one-line rows line up */
static void pane_bar_line(const struct model_part *p, int y, int x, int w,
                          bool with_message, int fixed_sw)
{
    char st[256];
    int sw, bw;

    status_text(p, st, sizeof st, with_message);
    sw = fixed_sw ? fixed_sw : view_width(st);
    if (sw > w / 2 + 6)
        sw = w / 2 + 6;
    bw = w - sw - 2;
    if (bw < 4) {
        view_put(y, x, w, phase_role(p->phase), st);
        return;
    }
    view_bar(y, x, bw, model_part_fraction(p), bar_role(p->phase));
    view_put(y, x + bw + 2, sw, phase_role(p->phase), st);
}

int view_parts_rows(size_t n, int pane_h)
{
    if (pane_h >= 3)
        return (int)n * pane_h;
    return (int)n + 2;
}

void view_parts(const struct view_state *v, int y, int h, int w)
{
    const struct model *m = v->m;
    char title[400], det[300];
    enum term_role role;
    int pane_h;
    size_t i, first = 0;

    if (!m->n_parts)
        return;
    if (view_parts_rows(m->n_parts, 4) <= h)
        pane_h = 4;
    else if (view_parts_rows(m->n_parts, 3) <= h)
        pane_h = 3;
    else
        pane_h = 1;

    if (pane_h >= 3) {
        /* one status width for every pane, so the bars line up and do not
         * change length as the words change ("ETA 2 min 5 s") */
        int sw = 42;

        for (i = 0; i < m->n_parts; i++) {
            char st[256];

            status_text(&m->parts[i], st, sizeof st, pane_h == 3);
            if (view_width(st) > sw)
                sw = view_width(st);
        }
        for (i = 0; i < m->n_parts; i++) {
            const struct model_part *p = &m->parts[i];
            int py = y + (int)i * pane_h;

            pane_title(p, title, sizeof title);
            view_box(py, 0, pane_h, w, title, NULL, TERM_TITLE);
            pane_bar_line(p, py + 1, 2, w - 4, pane_h == 3, sw);
            if (pane_h == 4) {
                detail_text(p, det, sizeof det, &role);
                view_put(py + 2, 2, w - 4, role, det);
            }
        }
        return;
    }
    /* One line per image inside one box; scroll to the active one. */
    {
        int rows = h - 2, namew = 0;
        size_t active = 0;
        char hdr[64];

        if (rows < 1)
            return;
        for (i = 0; i < m->n_parts; i++) {
            int nw = view_width(m->parts[i].name);

            if (nw > namew)
                namew = nw;
            if (!model_part_final(&m->parts[i]) &&
                m->parts[i].phase != PHASE_WAITING)
                active = i;
        }
        if (namew > w / 4)
            namew = w / 4;
        if (m->n_parts > (size_t)rows && active >= (size_t)rows)
            first = active - (size_t)rows + 1;
        snprintf(hdr, sizeof hdr, "%zu images", m->n_parts);
        view_box(y, 0, h, w, hdr,
                 m->n_parts > (size_t)rows ? "more above/below" : NULL,
                 TERM_TITLE);
        for (i = first; i < m->n_parts && (int)(i - first) < rows; i++) {
            const struct model_part *p = &m->parts[i];
            int py = y + 1 + (int)(i - first);
            char off[16];

            view_put(py, 2, namew, TERM_TITLE, p->name);
            snprintf(off, sizeof off, "0x%06x", p->offset);
            view_put(py, 3 + namew, 8, TERM_DIM, off);
            pane_bar_line(p, py, 12 + namew, w - 14 - namew, true, 36);
        }
    }
}

int view_summary(const struct view_state *v, int y, int h, int w)
{
    const struct term_glyphs *g = term_glyphs();
    const struct model *m = v->m;
    char line[400], t[24], a[24];
    bool ok = model_all_ok(m);
    size_t i;
    int x;

    if (h <= 0)
        return 0;
    if ((int)m->n_parts + 1 <= h) {
        for (i = 0; i < m->n_parts; i++) {
            const struct model_part *p = &m->parts[i];
            bool good = p->phase == PHASE_DONE || p->phase == PHASE_SKIPPED;

            view_put(y + (int)i, 1, 2, good ? TERM_OK : TERM_ERROR,
                     good ? g->ok : g->fail);
            snprintf(line, sizeof line, "%-20s 0x%06x %10s  ", p->name,
                     p->offset, model_fmt_bytes(a, sizeof a, p->len));
            x = 3 + view_put(y + (int)i, 3, w - 4, TERM_NORMAL, line);
            if (p->phase == PHASE_DONE)
                snprintf(line, sizeof line, "verified in %s",
                         view_fmt_secs(t, sizeof t, p->elapsed));
            else if (p->phase == PHASE_SKIPPED)
                snprintf(line, sizeof line, "unchanged, skipped (MD5 "
                                            "matched)");
            else
                snprintf(line, sizeof line, "%s%s%s",
                         model_phase_word(p->phase),
                         p->message[0] ? ": " : "", p->message);
            view_put(y + (int)i, x, w - x - 1,
                     good ? TERM_DIM : TERM_ERROR, line);
        }
        snprintf(line, sizeof line, "total %s%s%s",
                 view_fmt_secs(t, sizeof t,
                               model_flash_seconds(m, v->mono_ms)),
                 g->dot, ok ? "all MD5 ok" : "NOT all images written");
        view_put(y + (int)m->n_parts, 3, w - 4, ok ? TERM_OK : TERM_ERROR,
                 line);
        return (int)m->n_parts + 1;
    }
    /* One line: "✔ bootloader  ✔ partition-table  ✔ factory · total" */
    x = 1;
    for (i = 0; i < m->n_parts && x < w - 2; i++) {
        const struct model_part *p = &m->parts[i];
        bool good = p->phase == PHASE_DONE || p->phase == PHASE_SKIPPED;

        x += view_put(y, x, w - x - 1, good ? TERM_OK : TERM_ERROR,
                      good ? g->ok : g->fail);
        snprintf(line, sizeof line, " %s  ", p->name);
        x += view_put(y, x, w - x - 1, TERM_NORMAL, line);
    }
    snprintf(line, sizeof line, "total %s%s%s",
             view_fmt_secs(t, sizeof t, model_flash_seconds(m, v->mono_ms)),
             g->dot, ok ? "all MD5 ok" : "NOT all images written");
    view_put(y, x, w - x - 1, ok ? TERM_OK : TERM_ERROR, line);
    return 1;
}
