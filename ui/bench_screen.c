/*
 * bench_screen.c - the bench screen: a header with the counters, one tile
 * per slot, a failure summary and the key bar; a slot zooms into the
 * single-board view (view_draw on that slot's own model).
 *
 * Layout (rows): header; counters; tiles in a grid (as many columns as
 * keep a tile at least TILE_MIN_H rows high and TILE_MIN_W wide); the
 * failure summary (or a note); the key bar.  A tile shows, by priority:
 * state and elapsed time, the unit's MAC, the verdict in colour, the
 * images' bars (one row each when the tile is tall, else one compact bar
 * per image side by side in one row), the last line the app printed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_keys.h"
#include "bench_screen.h"
#include "clock.h"
#include "cmd.h"
#include "keys.h"
#include "model.h"
#include "term.h"
#include "view.h"

#define FRAME_MS 33
#define TICK_MS 100
#define TILE_MIN_W 26
#define TILE_MIN_H 5
#define TILE_FULL_H 7

struct bs_slot {
    enum bench_slot_state state;
    char text[240];
    uint8_t mac[6];
    bool have_mac;
    unsigned attempt;
    struct model m;             /* the unit in progress, for bars and zoom */
    bool have_model;
    int64_t t0, t1;             /* mono ms: unit started, verdict; 0 = none */
    bool have_verdict, pass;
    enum rec_class cls;
    char verdict[ED_ERRMSG_MAX];
    char last_line[240];
};

struct bs {
    struct bench *b;
    const struct bench_screen_opts *o;
    struct bs_slot *slots;
    size_t n;
    struct engine_job job;      /* the image list for each unit's model */
    size_t sel;
    int cols;                   /* tile columns of the last frame */
    int zoom;                   /* slot shown alone, or -1 */
    struct view_state zv;
    bool help, confirm_quit, quitting, quit, dirty, paused;
    bool halted, failed, cancelled;
    char status[ED_ERRMSG_MAX];
    int64_t status_until;
    char note[ED_ERRMSG_MAX];   /* records notice, kept */
    struct bench_counts counts;
};

static int64_t wall_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_status(struct bs *s, const char *msg)
{
    snprintf(s->status, sizeof s->status, "%s", msg);
    s->status_until = clock_ms() + 4000;
    s->dirty = true;
}

static bool busy_state(enum bench_slot_state st)
{
    return st == BENCH_SLOT_CONNECTING || st == BENCH_SLOT_FLASHING ||
           st == BENCH_SLOT_BOOTCHECK || st == BENCH_SLOT_RECORDING;
}

static bool any_busy(const struct bs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (busy_state(s->slots[i].state))
            return true;
    return false;
}

/* A new unit starts in the slot: a fresh model with the bench's images. */
static void new_unit(struct bs *s, struct bs_slot *sl, size_t idx)
{
    if (sl->have_model)
        model_free(&sl->m);
    sl->have_model = model_init(&sl->m, MODEL_MODE_FLASH) == ED_OK;
    if (sl->have_model) {
        snprintf(s->job.port, sizeof s->job.port, "slot %s",
                 bench_slot_name(s->b, (int)idx));
        model_set_job(&sl->m, &s->job);
        snprintf(sl->m.profile, sizeof sl->m.profile, "%s",
                 s->o->profile_name ? s->o->profile_name : "bench");
    }
    sl->have_mac = false;
    sl->have_verdict = false;
    sl->verdict[0] = '\0';
    sl->last_line[0] = '\0';
    sl->t0 = clock_ms();
    sl->t1 = 0;
    if ((int)idx == s->zoom) {
        s->zv.follow = true;
        s->zv.have_hit = false;
    }
}

static void apply_event(struct bs *s, const struct bench_event *ev)
{
    struct bs_slot *sl = ev->slot >= 0 && (size_t)ev->slot < s->n
                             ? &s->slots[ev->slot] : NULL;

    s->dirty = true;
    switch (ev->kind) {
    case BENCH_EV_SLOT:
        if (!sl)
            break;
        if (ev->u.slot.state == BENCH_SLOT_CONNECTING &&
            sl->state != BENCH_SLOT_CONNECTING)
            new_unit(s, sl, (size_t)ev->slot);
        sl->state = ev->u.slot.state;
        if (sl->state == BENCH_SLOT_PROGRAMMED && sl->t0 && !sl->t1)
            sl->t1 = clock_ms();
        snprintf(sl->text, sizeof sl->text, "%s", ev->u.slot.text);
        if (sl->state == BENCH_SLOT_HALTED)
            s->halted = true;
        break;
    case BENCH_EV_UNIT:
        if (!sl)
            break;
        memcpy(sl->mac, ev->u.unit.mac, 6);
        sl->have_mac = ev->u.unit.have_mac;
        sl->attempt = ev->u.unit.attempt;
        break;
    case BENCH_EV_ENGINE:
        if (sl && sl->have_model)
            model_apply(&sl->m, &ev->u.engine, clock_ms(), wall_now());
        break;
    case BENCH_EV_BOOT_LINE:
        if (sl)
            snprintf(sl->last_line, sizeof sl->last_line, "%s",
                     ev->u.line.text);
        break;
    case BENCH_EV_VERDICT:
        if (!sl)
            break;
        sl->have_verdict = true;
        sl->pass = ev->u.verdict.pass;
        sl->cls = ev->u.verdict.cls;
        snprintf(sl->verdict, sizeof sl->verdict, "%s",
                 ev->u.verdict.message);
        if (ev->u.verdict.line[0] && !ev->u.verdict.pass)
            snprintf(sl->last_line, sizeof sl->last_line, "%s",
                     ev->u.verdict.line);
        sl->t1 = clock_ms();
        if (!sl->pass && sl->cls == REC_CLASS_CANCELLED)
            s->cancelled = true;
        else if (!sl->pass)
            s->failed = true;
        break;
    case BENCH_EV_RECORDS:
        snprintf(s->note, sizeof s->note, "%s", ev->u.records.message);
        if (ev->u.records.fatal)
            s->halted = true;
        break;
    case BENCH_EV_STOPPED:
        if (s->quitting)
            s->quit = true;
        break;
    }
}

/* ---- drawing ---- */

static enum term_role state_role(enum bench_slot_state st)
{
    switch (st) {
    case BENCH_SLOT_PASS:
    case BENCH_SLOT_PROGRAMMED: return TERM_OK;
    case BENCH_SLOT_FAIL:
    case BENCH_SLOT_HALTED: return TERM_ERROR;
    case BENCH_SLOT_NO_PORT: return TERM_WARN;
    case BENCH_SLOT_WAITING:
    case BENCH_SLOT_STOPPED: return TERM_DIM;
    default: return TERM_NORMAL;
    }
}

static void draw_header(struct bs *s, int w)
{
    const struct term_glyphs *g = term_glyphs();
    char left[400], right[96], clock[16];
    time_t now = time(NULL);
    struct tm tm;
    int x, rw;

    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    snprintf(left, sizeof left, "%s%s%zu slot%s%strigger %s",
             s->o->profile_name ? s->o->profile_name : "bench", g->dot,
             s->n, s->n == 1 ? "" : "s", g->dot,
             bench_trigger_name(s->o->trigger));
    snprintf(right, sizeof right, "%s%s%s%s",
             s->o->lock ? "LOCKED" : "", s->o->lock ? g->dot : "",
             s->halted     ? "HALTED"
             : s->quitting ? "stopping"
             : s->paused   ? "stopped"
                           : "running",
             "");
    snprintf(right + strlen(right), sizeof right - strlen(right), "%s%s",
             g->dot, clock);
    if (view_width(left) + view_width(right) + 22 > w)
        snprintf(left, sizeof left, "%s",
                 s->o->profile_name ? s->o->profile_name : "bench");
    attrset(term_attr(TERM_TITLE));
    mvhline(0, 0, ' ', w);
    x = 1 + view_put(0, 1, w - 2, TERM_TITLE, "espdeck bench");
    x += view_put(0, x, w - x, TERM_DIM, g->utf8 ? " \u2500 " : " - ");
    rw = view_width(right);
    x += view_put(0, x, w - x - rw - 3, TERM_NORMAL, left);
    if (x + 2 + rw < w) {
        attrset(term_attr(TERM_BORDER));
        if (g->utf8)
            mvhline_set(0, x + 1, WACS_HLINE, w - x - rw - 3);
        else
            mvhline(0, x + 1, '-', w - x - rw - 3);
        attrset(A_NORMAL);
        if (s->o->lock) {
            int lx = w - rw - 1;

            lx += view_put(0, lx, 6, TERM_WARN, "LOCKED");
            view_put(0, lx, w - lx - 1, TERM_DIM, right + 6);
        } else {
            view_put(0, w - rw - 1, rw, TERM_DIM, right);
        }
    }
}

/* The counters in w columns: full words, or short ones when narrow. */
static void draw_counters(struct bs *s, int y, int w)
{
    const struct rec_stats *t = &s->counts.total;
    const char *dot = term_glyphs()->dot;
    char buf[64], cyc[24], full[256];
    bool narrow;
    int x = 1;

    snprintf(full, sizeof full, "units %u%spass %u%sfail %u%sfirst-pass "
             "yield %.1f %%%s%.0f units/h%smedian cycle %s", t->units, dot,
             t->pass, dot, t->fail, dot, t->first_pass_yield * 100.0, dot,
             t->units_per_hour, dot,
             view_fmt_secs(cyc, sizeof cyc, t->median_cycle_s));
    narrow = view_width(full) > w - 2;

    snprintf(buf, sizeof buf, "units %u", t->units);
    x += view_put(y, x, w - x, TERM_NORMAL, buf);
    x += view_put(y, x, w - x, TERM_DIM, dot);
    snprintf(buf, sizeof buf, "pass %u", t->pass);
    x += view_put(y, x, w - x, t->pass ? TERM_OK : TERM_NORMAL, buf);
    x += view_put(y, x, w - x, TERM_DIM, dot);
    snprintf(buf, sizeof buf, "fail %u", t->fail);
    x += view_put(y, x, w - x, t->fail ? TERM_ERROR : TERM_NORMAL, buf);
    x += view_put(y, x, w - x, TERM_DIM, dot);
    if (t->units)
        snprintf(buf, sizeof buf, "%s %.1f %%",
                 narrow ? "yield" : "first-pass yield",
                 t->first_pass_yield * 100.0);
    else
        snprintf(buf, sizeof buf, "%s -",
                 narrow ? "yield" : "first-pass yield");
    x += view_put(y, x, w - x, TERM_NORMAL, buf);
    x += view_put(y, x, w - x, TERM_DIM, dot);
    snprintf(buf, sizeof buf, narrow ? "%.0f/h" : "%.0f units/h",
             t->units_per_hour);
    x += view_put(y, x, w - x, TERM_NORMAL, buf);
    x += view_put(y, x, w - x, TERM_DIM, dot);
    snprintf(buf, sizeof buf, "%s %s", narrow ? "cycle" : "median cycle",
             t->records ? view_fmt_secs(cyc, sizeof cyc, t->median_cycle_s)
                        : "-");
    view_put(y, x, w - x, TERM_NORMAL, buf);
}

/* Short label of an image for a compact bar: "bootloader" -> "boot",
 * "partition-table" -> "table", else the name cut to maxw. */
static void short_name(char *out, size_t len, const char *name, int maxw)
{
    if ((int)strlen(name) > maxw && !strcmp(name, "bootloader"))
        name = "boot";
    else if ((int)strlen(name) > maxw && !strcmp(name, "partition-table"))
        name = "table";
    snprintf(out, len, "%s", name);
    if ((int)strlen(out) > maxw && maxw > 0)
        out[maxw] = '\0';
}

static enum term_role part_role(const struct model_part *p)
{
    switch (p->phase) {
    case PHASE_DONE:
    case PHASE_SKIPPED: return TERM_OK;
    case PHASE_FAILED: return TERM_ERROR;
    case PHASE_CANCELLED: return TERM_WARN;
    default: return TERM_BAR;
    }
}

/* One row per image: name, bar, percentage and phase. */
static void draw_part_rows(const struct bs_slot *sl, int y, int x, int w,
                           int rows)
{
    size_t i;
    int namew = 10;

    for (i = 0; i < sl->m.n_parts && (int)i < rows; i++) {
        const struct model_part *p = &sl->m.parts[i];
        char nm[32], st[48];
        int bw;

        short_name(nm, sizeof nm, p->name, namew);
        view_put(y + (int)i, x, namew, TERM_DIM, nm);
        snprintf(st, sizeof st, "%3.0f %% %s",
                 model_part_fraction(p) * 100.0, model_phase_word(p->phase));
        bw = w - namew - 1 - 18;
        if (bw < 4) {
            view_put(y + (int)i, x + namew + 1, w - namew - 1,
                     part_role(p), st);
            continue;
        }
        view_bar(y + (int)i, x + namew + 1, bw, model_part_fraction(p),
                 part_role(p));
        view_put(y + (int)i, x + namew + 2 + bw, 17, part_role(p), st);
    }
}

/* Every image side by side in one row: "boot ████ pt ██ factory ███··". */
static void draw_part_compact(const struct bs_slot *sl, int y, int x, int w)
{
    size_t n = sl->m.n_parts, i;
    int each, cx = x;

    if (!n)
        return;
    each = w / (int)n;
    for (i = 0; i < n; i++) {
        const struct model_part *p = &sl->m.parts[i];
        char nm[32];
        int lw = each >= 16 ? 7 : each >= 10 ? 4 : 0, bw;

        short_name(nm, sizeof nm, p->name, lw);
        if (lw)
            cx += view_put(y, cx, lw, TERM_DIM, nm) + 1;
        bw = x + (int)(i + 1) * each - cx - 1;
        if (bw > 0)
            view_bar(y, cx, bw, model_part_fraction(p), part_role(p));
        cx = x + (int)(i + 1) * each;
    }
}

static void draw_tile(struct bs *s, size_t idx, int y, int x, int h, int w)
{
    const struct term_glyphs *g = term_glyphs();
    struct bs_slot *sl = &s->slots[idx];
    char title[64], right[64], line[ED_ERRMSG_MAX + 32], t[24];
    int inner = h - 2, iw = w - 4, row = y + 1, need_full;
    bool sel = idx == s->sel;

    snprintf(title, sizeof title, "%s%s", sel ? "> " : "",
             bench_slot_name(s->b, (int)idx));
    right[0] = '\0';
    if (sl->t0) {
        int64_t end = sl->t1 ? sl->t1 : clock_ms();

        view_fmt_secs(t, sizeof t, (double)(end - sl->t0) / 1000.0);
        snprintf(right, sizeof right, "%s", t);
    }
    view_box(y, x, h, w, title, right, sel ? TERM_SELECTED : TERM_TITLE);
    if (inner < 1)
        return;
    /* what the slot is doing, coloured by its state (a verdict's
     * sentence has its own row: say what comes next instead) */
    if (sl->state == BENCH_SLOT_PASS || sl->state == BENCH_SLOT_FAIL) {
        char nx[64];

        if (s->o->trigger == BENCH_TRIGGER_KEY)
            snprintf(nx, sizeof nx, "%s: next board, then press %s",
                     sl->state == BENCH_SLOT_PASS ? "done" : "failed",
                     bench_slot_name(s->b, (int)idx));
        else
            snprintf(nx, sizeof nx, "%s: take the board out",
                     sl->state == BENCH_SLOT_PASS ? "done" : "failed");
        view_put(row++, x + 2, iw, state_role(sl->state), nx);
    } else {
        view_shorten(line, sizeof line, iw,
                     sl->text[0] ? sl->text
                                 : bench_slot_state_name(sl->state));
        view_put(row++, x + 2, iw, state_role(sl->state), line);
    }
    if (row >= y + h - 1)
        return;
    /* the unit */
    if (sl->have_mac)
        snprintf(line, sizeof line, "MAC %02x:%02x:%02x:%02x:%02x:%02x%s",
                 sl->mac[0], sl->mac[1], sl->mac[2], sl->mac[3], sl->mac[4],
                 sl->mac[5], sl->attempt > 1 ? " (again)" : "");
    else
        snprintf(line, sizeof line, "MAC -");
    view_put(row++, x + 2, iw, sl->have_mac ? TERM_NORMAL : TERM_DIM, line);
    if (row >= y + h - 1)
        return;
    /* the verdict */
    if (sl->have_verdict) {
        int cx = x + 2;

        cx += view_put(row, cx, iw, sl->pass ? TERM_OK : TERM_ERROR,
                       sl->pass ? "PASS" : "FAIL");
        if (!sl->pass && sl->cls != REC_CLASS_NONE) {
            snprintf(line, sizeof line, " %s", rec_class_name(sl->cls));
            cx += view_put(row, cx, x + w - 2 - cx, TERM_ERROR, line);
        }
        cx += view_put(row, cx, x + w - 2 - cx, TERM_DIM, g->dot);
        view_shorten(line, sizeof line, x + w - 2 - cx, sl->verdict);
        view_put(row, cx, x + w - 2 - cx, sl->pass ? TERM_NORMAL : TERM_ERROR,
                 line);
    } else {
        view_put(row, x + 2, iw, TERM_DIM, "verdict -");
    }
    row++;
    /* the images, then the last line the app printed */
    need_full = (int)sl->m.n_parts + 1;
    if (sl->have_model && sl->m.n_parts && y + h - 1 - row >= need_full) {
        draw_part_rows(sl, row, x + 2, iw, (int)sl->m.n_parts);
        row += (int)sl->m.n_parts;
    } else if (sl->have_model && sl->m.n_parts && y + h - 1 - row >= 1) {
        draw_part_compact(sl, row, x + 2, iw);
        row++;
    }
    if (row < y + h - 1 && sl->last_line[0]) {
        snprintf(line, sizeof line, "%s %s", g->utf8 ? "\u2502" : "|",
                 sl->last_line);
        view_put(row, x + 2, iw, view_level_role(model_classify(
                                     sl->last_line)) == TERM_NORMAL
                                     ? TERM_DIM
                                     : view_level_role(model_classify(
                                           sl->last_line)),
                 line);
    }
}

/* Columns for n tiles in w x h: tiles at least TILE_MIN_W wide, as
 * square as a terminal cell allows (a tile about four times as wide as
 * it is high reads best); ties go to fewer columns. */
static int tile_cols(size_t n, int w, int h)
{
    int cols, best = 1, best_score = -1;

    if (!n)
        return 1;
    for (cols = 1; cols <= (int)n; cols++) {
        int rows = ((int)n + cols - 1) / cols, th = h / rows, tw = w / cols;
        int score = tw < th * 4 ? tw : th * 4;

        if (tw < TILE_MIN_W)
            break;
        if (th < TILE_MIN_H)
            score = th;         /* too low for the essentials */
        if (score > best_score) {
            best_score = score;
            best = cols;
        }
    }
    return best;
}

static void draw_tiles(struct bs *s, int y, int h, int w)
{
    int cols = tile_cols(s->n, w, h), rows, th, tw;
    size_t i;

    rows = ((int)s->n + cols - 1) / cols;
    th = h / rows;
    tw = w / cols;
    s->cols = cols;
    if (th < 3) {
        view_put(y, 1, w - 2, TERM_WARN, "the terminal is too small for "
                                         "every slot: make it larger");
        return;
    }
    for (i = 0; i < s->n; i++) {
        int r = (int)i / cols, c = (int)i % cols;
        int x = c * tw, cw = c == cols - 1 ? w - x : tw;

        draw_tile(s, i, y + r * th, x, th, cw);
    }
}

static void draw_failures(struct bs *s, int y, int w)
{
    const struct rec_stats *t = &s->counts.total;
    const char *dot = term_glyphs()->dot;
    char buf[64];
    int x = 1, i, k = 0;

    if (s->note[0]) {
        char sh[ED_ERRMSG_MAX];

        view_shorten(sh, sizeof sh, w - 2, s->note);
        view_put(y, 1, w - 2, s->halted ? TERM_ERROR : TERM_WARN, sh);
        return;
    }
    x += view_put(y, x, w - x, TERM_DIM, "failures: ");
    for (i = 1; i < REC_CLASS_COUNT; i++) {
        if (!t->by_class[i])
            continue;
        if (k++)
            x += view_put(y, x, w - x, TERM_DIM, dot);
        snprintf(buf, sizeof buf, "%s %u", rec_class_name((enum rec_class)i),
                 t->by_class[i]);
        x += view_put(y, x, w - x - 1, TERM_ERROR, buf);
    }
    if (!k)
        view_put(y, x, w - x, TERM_DIM, "none");
}

static void draw_keybar(struct bs *s, int y, int w)
{
    size_t i;
    int x = 1, sw = 0;

    attrset(A_NORMAL);
    mvhline(y, 0, ' ', w);
    if (s->zoom >= 0) {
        x += view_put(y, x, w - x, TERM_KEY, "z");
        x += view_put(y, x, w - x, TERM_NORMAL, " back to the bench   ");
        x += view_put(y, x, w - x, TERM_KEY, "Up/Down");
        x += view_put(y, x, w - x, TERM_NORMAL, " scroll   ");
    } else {
        if (s->status[0])
            sw = view_width(s->status) + 2;
        for (i = 0; i < BENCH_N_KEYS; i++) {
            const struct bench_key *k = &bench_keys[i];
            int need;

            if (!k->bar || (s->o->lock && !k->lock))
                continue;
            need = view_width(k->label) + view_width(k->name) + 4;
            if (x + need > w - sw)
                break;
            x += view_put(y, x, w - x, TERM_KEY, k->label);
            x += view_put(y, x, w - x, TERM_NORMAL, " ");
            x += view_put(y, x, w - x, TERM_NORMAL, k->name);
            x += view_put(y, x, w - x, TERM_NORMAL, "   ");
        }
    }
    if (s->status[0]) {
        char st[ED_ERRMSG_MAX];
        int room = w - x - 1;

        if (room > 8) {
            view_shorten(st, sizeof st, room, s->status);
            sw = view_width(st) < room ? view_width(st) : room;
            view_put(y, w - sw - 1, sw, TERM_WARN, st);
        }
    }
}

static void draw_help(struct bs *s)
{
    int w = COLS - 4 > 78 ? 78 : COLS - 4;
    int h = (int)BENCH_N_KEYS + 4, y, x;
    size_t i;

    if (h > LINES)
        h = LINES;
    y = (LINES - h) / 2;
    x = (COLS - w) / 2;
    view_clear(y, x, h, w);
    view_box(y, x, h, w, "bench keys", "any key closes", TERM_TITLE);
    view_put(y + 1, x + 2, w - 4, TERM_DIM,
             s->o->lock ? "key     locked   what it does"
                        : "key     what it does");
    for (i = 0; i < BENCH_N_KEYS && y + 2 + (int)i < y + h - 1; i++) {
        const struct bench_key *k = &bench_keys[i];
        int tx = x + 10;

        view_put(y + 2 + (int)i, x + 2, 7, TERM_KEY, k->label);
        if (s->o->lock) {
            view_put(y + 2 + (int)i, tx, 8, k->lock ? TERM_OK : TERM_DIM,
                     k->lock ? "works" : "off");
            tx += 9;
        }
        view_put(y + 2 + (int)i, tx, x + w - 2 - tx, TERM_NORMAL, k->help);
    }
}

static void draw(struct bs *s)
{
    int h = LINES, w = COLS;

    bench_counts(s->b, &s->counts);
    if (s->zoom >= 0 && s->slots[s->zoom].have_model) {
        struct bs_slot *sl = &s->slots[s->zoom];

        s->zv.m = &sl->m;
        s->zv.mono_ms = clock_ms();
        s->zv.wall_ms = wall_now();
        s->zv.where = sl->m.split ? UI_IN_MON : UI_IN_FLASH;
        s->zv.overlay = VIEW_NONE;
        s->zv.fatal = NULL;
        s->zv.status = sl->verdict[0] ? sl->verdict : NULL;
        s->zv.status_ok = sl->have_verdict && sl->pass;
        s->zv.search = "";
        view_draw(&s->zv);
        draw_keybar(s, h - 1, w);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    erase();
    if (w < 40 || h < 10) {
        view_put(0, 0, w, TERM_WARN, "espdeck bench: the terminal is too "
                                     "small");
        view_put(1, 0, w, TERM_DIM, "(needs 40x10)");
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    draw_header(s, w);
    draw_counters(s, 1, w);
    draw_tiles(s, 2, h - 4, w);
    draw_failures(s, h - 2, w);
    draw_keybar(s, h - 1, w);
    if (s->help)
        draw_help(s);
    else if (s->confirm_quit)
        view_confirm(&s->zv, "quit while units are in progress?",
                     "The units in progress are cancelled and recorded as "
                     "cancelled.");
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- keys ---- */

static enum bench_key_action key_action(int ch)
{
    size_t i;

    for (i = 0; i < BENCH_N_KEYS; i++)
        if (bench_keys[i].key == ch ||
            (bench_keys[i].key2 && bench_keys[i].key2 == ch))
            return bench_keys[i].action;
    if (ch == '\n' || ch == KEY_ENTER)
        return BK_ZOOM;
    return BK_NONE;
}

static bool key_locked(enum bench_key_action a)
{
    size_t i;

    for (i = 0; i < BENCH_N_KEYS; i++)
        if (bench_keys[i].action == a)
            return !bench_keys[i].lock;
    return false;
}

static void start_slot(struct bs *s, int slot)
{
    bench_pause(s->b, slot, false);
    if (s->o->trigger == BENCH_TRIGGER_KEY)
        bench_trigger(s->b, slot);
    if (slot < 0)
        s->paused = false;
}

static void ask_quit(struct bs *s)
{
    if (any_busy(s)) {
        s->confirm_quit = true;
        return;
    }
    s->quitting = true;
    bench_stop(s->b, false);
    if (bench_stopped(s->b))
        s->quit = true;
}

static void zoom_scroll(struct bs *s, long lines)
{
    const struct model *m = s->zv.m;
    int64_t top;

    if (!m)
        return;
    top = (int64_t)(s->zv.follow ? s->zv.shown_top : s->zv.top) + lines;
    if (top < (int64_t)model_ring_first(&m->mon))
        top = (int64_t)model_ring_first(&m->mon);
    if (top + s->zv.mon_rows >= (int64_t)model_ring_end(&m->mon)) {
        s->zv.follow = true;
        return;
    }
    s->zv.follow = false;
    s->zv.top = (uint64_t)top;
}

static void move_sel(struct bs *s, int by)
{
    long n = (long)s->n, v = (long)s->sel + by;

    if (!n)
        return;
    if (v < 0)
        v = 0;
    if (v >= n)
        v = n - 1;
    s->sel = (size_t)v;
}

static void handle_key(struct bs *s, int ch)
{
    enum bench_key_action a;

    s->dirty = true;
    if (ch == KEY_RESIZE)
        return;
    if (s->help) {
        s->help = false;
        return;
    }
    if (s->confirm_quit) {
        if (ch == 'y' || ch == 'Y') {
            s->confirm_quit = false;
            s->quitting = true;
            bench_stop(s->b, true);
        } else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q') {
            s->confirm_quit = false;
        }
        return;
    }
    if (ch == UI_CTRL('c')) {
        ask_quit(s); /* also under the lock: the way out of a locked bench */
        return;
    }
    if (s->zoom >= 0 && ch == 27) {
        s->zoom = -1;
        return;
    }
    if (ch >= '1' && ch <= '9') {
        size_t i = (size_t)(ch - '1');

        if (i < s->n) {
            s->sel = i;
            start_slot(s, (int)i);
        }
        return;
    }
    a = key_action(ch);
    if (a == BK_NONE)
        return;
    if (s->o->lock && key_locked(a)) {
        set_status(s, "locked: only start, stop and zoom work (the bench "
                      "was started with --lock)");
        return;
    }
    switch (a) {
    case BK_NONE:
    case BK_SLOT:
        break;
    case BK_HELP:
        s->help = true;
        break;
    case BK_START:
        start_slot(s, -1);
        set_status(s, s->o->trigger == BENCH_TRIGGER_KEY
                          ? "started: every slot takes its board"
                          : "started: every slot takes units");
        break;
    case BK_STOP:
        bench_pause(s->b, -1, true);
        s->paused = true;
        set_status(s, "stopped: no new units (the units in progress finish); "
                      "s starts again");
        break;
    case BK_ZOOM:
        if (s->zoom >= 0) {
            s->zoom = -1;
        } else if (s->slots[s->sel].have_model) {
            s->zoom = (int)s->sel;
            s->zv.follow = true;
            s->zv.have_hit = false;
        } else {
            set_status(s, "nothing to zoom into yet: no unit in that slot");
        }
        break;
    case BK_NEXT:
        move_sel(s, 1);
        break;
    case BK_PREV:
        move_sel(s, -1);
        break;
    case BK_UP:
        if (s->zoom >= 0)
            zoom_scroll(s, -1);
        else
            move_sel(s, -(s->cols > 0 ? s->cols : 1));
        break;
    case BK_DOWN:
        if (s->zoom >= 0)
            zoom_scroll(s, 1);
        else
            move_sel(s, s->cols > 0 ? s->cols : 1);
        break;
    case BK_CANCEL:
        if (busy_state(s->slots[s->sel].state)) {
            bench_cancel(s->b, (int)s->sel);
            set_status(s, "cancelling the slot's unit");
        } else {
            set_status(s, "nothing to cancel in that slot");
        }
        break;
    case BK_REPROGRAM:
        bench_reprogram(s->b, (int)s->sel);
        set_status(s, "the slot's unit will be flashed again");
        break;
    case BK_QUIT:
        ask_quit(s);
        break;
    }
}

int bench_screen_run(struct bench *b, const struct bench_screen_opts *o)
{
    struct bs s;
    char err[256];
    int64_t last_draw = 0;
    size_t i;
    int rc;

    memset(&s, 0, sizeof s);
    s.b = b;
    s.o = o;
    s.zoom = -1;
    s.n = bench_n_slots(b);
    s.slots = calloc(s.n ? s.n : 1, sizeof *s.slots);
    if (!s.slots) {
        fprintf(stderr, "espdeck bench: out of memory\n");
        return EXIT_INTERNAL;
    }
    engine_job_init(&s.job);
    s.job.n_images = bench_n_images(b);
    for (i = 0; i < s.job.n_images && i < ENGINE_MAX_IMAGES; i++) {
        s.job.images[i] = *bench_image(b, i);
        s.job.images[i].data = NULL; /* the bench owns the bytes */
    }
    s.zv.follow = true;
    s.dirty = true;
    if (!term_open(err, sizeof err)) {
        fprintf(stderr, "espdeck bench: %s\n", err);
        free(s.slots);
        return EXIT_USAGE;
    }
    rc = bench_start(b);
    if (rc != ED_OK) {
        term_close();
        fprintf(stderr, "espdeck bench: could not start the bench: %s\n",
                ed_strerror(rc));
        free(s.slots);
        return EXIT_INTERNAL;
    }
    while (!s.quit) {
        struct pollfd fds[2];
        struct bench_event ev;
        int64_t now = clock_ms();
        int ch;

        if (s.status[0] && now > s.status_until)
            s.status[0] = '\0';
        if ((s.dirty && now - last_draw >= FRAME_MS) ||
            now - last_draw >= 500) {
            draw(&s);
            last_draw = now;
            s.dirty = false;
        }
        fds[0].fd = STDIN_FILENO;
        fds[0].events = POLLIN;
        fds[1].fd = bench_wake_fd(b);
        fds[1].events = POLLIN;
        if (poll(fds, 2, s.dirty ? FRAME_MS : TICK_MS) < 0 &&
            errno != EINTR)
            break;
        while (bench_poll(b, &ev))
            apply_event(&s, &ev);
        while ((ch = getch()) != ERR)
            handle_key(&s, ch);
        if (term_quit_requested() && !s.quitting) {
            s.quitting = true;
            bench_stop(b, true);
        }
        if (s.quitting && bench_stopped(b))
            s.quit = true;
    }
    term_close();
    bench_counts(b, &s.counts);
    printf("espdeck bench: %u unit%s, %u pass, %u fail (records: %s)\n",
           s.counts.total.units, s.counts.total.units == 1 ? "" : "s",
           s.counts.total.pass, s.counts.total.fail, bench_records_path(b));
    for (i = 0; i < s.n; i++)
        if (s.slots[i].have_model)
            model_free(&s.slots[i].m);
    free(s.slots);
    return s.halted ? EXIT_INTERNAL : s.failed ? EXIT_WRITE
                                    : s.cancelled ? EXIT_CANCELLED : 0;
}
