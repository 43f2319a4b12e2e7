/*
 * model.c - engine events to console state (see model.h).
 */
#include "model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ring_init(struct model_ring *r, size_t cap)
{
    r->lines = calloc(cap, sizeof *r->lines);
    r->cap = r->lines ? cap : 0;
    r->next = 0;
    return r->lines ? ED_OK : ED_ERR_NOMEM;
}

static struct model_line *ring_push(struct model_ring *r)
{
    struct model_line *l = &r->lines[r->next % r->cap];

    r->next++;
    memset(l, 0, sizeof *l);
    return l;
}

uint64_t model_ring_first(const struct model_ring *r)
{
    return r->next > r->cap ? r->next - r->cap : 0;
}

uint64_t model_ring_end(const struct model_ring *r)
{
    return r->next;
}

const struct model_line *model_ring_get(const struct model_ring *r,
                                        uint64_t seq)
{
    if (!r->cap || seq >= r->next || seq < model_ring_first(r))
        return NULL;
    return &r->lines[seq % r->cap];
}

int model_init(struct model *m, enum model_mode mode)
{
    memset(m, 0, sizeof *m);
    m->mode = mode;
    m->state = STATE_IDLE;
    if (ring_init(&m->log, MODEL_LOG_LINES) ||
        ring_init(&m->mon, MODEL_MON_LINES)) {
        model_free(m);
        return ED_ERR_NOMEM;
    }
    return ED_OK;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    free(m->log.lines);
    free(m->mon.lines);
    m->log.lines = m->mon.lines = NULL;
    m->log.cap = m->mon.cap = 0;
}

void model_set_job(struct model *m, const struct engine_job *job)
{
    size_t i;

    m->n_parts = job->n_images < ENGINE_MAX_IMAGES ? job->n_images
                                                   : ENGINE_MAX_IMAGES;
    snprintf(m->port, sizeof m->port, "%s", job->port);
    m->monitor_baud = job->monitor_baud ? job->monitor_baud : 115200;
    for (i = 0; i < m->n_parts; i++) {
        struct model_part *p = &m->parts[i];
        const struct engine_image *im = &job->images[i];

        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", im->name);
        snprintf(p->source, sizeof p->source, "%s", im->source);
        p->offset = im->offset;
        p->region_size = im->region_size;
        p->len = im->len;
        p->total = im->len;
        p->phase = PHASE_WAITING;
    }
}

const char *model_fmt_bytes(char *buf, size_t len, uint64_t n)
{
    if (n < 1024)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", n / 1024.0);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.1f GiB", n / (1024.0 * 1024 * 1024));
    return buf;
}

const char *model_phase_word(enum engine_phase ph)
{
    switch (ph) {
    case PHASE_WAITING: return "waiting";
    case PHASE_ERASING: return "erasing";
    case PHASE_WRITING: return "writing";
    case PHASE_VERIFYING: return "verifying";
    case PHASE_SKIPPED: return "skipped (unchanged)";
    case PHASE_DONE: return "done";
    case PHASE_FAILED: return "failed";
    case PHASE_CANCELLED: return "cancelled";
    }
    return "?";
}

const char *model_outcome(const struct model *m, double secs, char *buf,
                          size_t len)
{
    size_t i, written = 0, same = 0;

    buf[0] = '\0';
    if (!model_all_ok(m))
        return buf;
    for (i = 0; i < m->n_parts; i++) {
        if (m->parts[i].phase == PHASE_DONE)
            written++;
        else
            same++;
    }
    if (!written)
        snprintf(buf, len, "%zu image%s unchanged (MD5 matched), nothing "
                           "written", same, same == 1 ? "" : "s");
    else if (!same)
        snprintf(buf, len, "%zu image%s written and verified in %.1f s",
                 written, written == 1 ? "" : "s", secs);
    else
        snprintf(buf, len, "%zu image%s written and verified in %.1f s, "
                           "%zu unchanged (MD5 matched)", written,
                 written == 1 ? "" : "s", secs, same);
    return buf;
}

bool model_part_final(const struct model_part *p)
{
    return p->phase == PHASE_SKIPPED || p->phase == PHASE_DONE ||
           p->phase == PHASE_FAILED || p->phase == PHASE_CANCELLED;
}

bool model_all_ok(const struct model *m)
{
    size_t i;

    for (i = 0; i < m->n_parts; i++)
        if (m->parts[i].phase != PHASE_DONE &&
            m->parts[i].phase != PHASE_SKIPPED)
            return false;
    return m->n_parts > 0;
}

static bool all_final(const struct model *m)
{
    size_t i;

    for (i = 0; i < m->n_parts; i++)
        if (!model_part_final(&m->parts[i]))
            return false;
    return true;
}

bool model_busy(const struct model *m)
{
    if (m->mode != MODEL_MODE_FLASH || m->finished || m->split)
        return false;
    if (m->state == STATE_FAILED || m->state == STATE_CANCELLED ||
        m->state == STATE_DONE || m->state == STATE_MONITORING)
        return false;
    return !(m->n_parts && all_final(m));
}

double model_part_fraction(const struct model_part *p)
{
    if (p->phase == PHASE_DONE || p->phase == PHASE_SKIPPED)
        return 1.0;
    if (!p->total)
        return 0.0;
    if (p->done >= p->total)
        return 1.0;
    return (double)p->done / (double)p->total;
}

double model_part_eta(const struct model_part *p)
{
    if (p->phase != PHASE_WRITING || p->rate <= 0.0 || p->done >= p->total)
        return -1.0;
    return (double)(p->total - p->done) / p->rate;
}

double model_flash_seconds(const struct model *m, int64_t mono_ms)
{
    int64_t end;

    if (!m->flash_start_ms)
        return 0.0;
    end = m->flash_end_ms ? m->flash_end_ms : mono_ms;
    return end > m->flash_start_ms ? (end - m->flash_start_ms) / 1000.0 : 0.0;
}

enum model_level model_classify(const char *s)
{
    size_t i;

    if (!strchr("EWIDV", s[0]) || !s[0] || s[1] != ' ' || s[2] != '(')
        return MODEL_LVL_NONE;
    for (i = 3; s[i] && s[i] != ')'; i++)
        if (!isdigit((unsigned char)s[i]) || i > 16)
            return MODEL_LVL_NONE;
    if (s[i] != ')')
        return MODEL_LVL_NONE;
    switch (s[0]) {
    case 'E': return MODEL_LVL_E;
    case 'W': return MODEL_LVL_W;
    case 'I': return MODEL_LVL_I;
    case 'D': return MODEL_LVL_D;
    default: return MODEL_LVL_V;
    }
}

static void ring_add(struct model_ring *r, enum model_level level,
                     int64_t wall_ms, const char *text)
{
    struct model_line *l = ring_push(r);
    size_t n = strlen(text);

    if (n >= sizeof l->text)
        n = sizeof l->text - 1;
    l->wall_ms = wall_ms;
    l->level = level;
    memcpy(l->text, text, n);
    l->text[n] = '\0';
}

void model_log(struct model *m, enum model_level level, int64_t wall_ms,
               const char *text)
{
    ring_add(&m->log, level, wall_ms, text);
}

void model_mon_note(struct model *m, enum model_level level, int64_t wall_ms,
                    const char *text)
{
    ring_add(&m->mon, level, wall_ms, text);
}

static void mon_commit(struct model *m, int64_t wall_ms)
{
    struct model_line *l = ring_push(&m->mon);

    m->partial[m->partial_len] = '\0';
    memcpy(l->text, m->partial, m->partial_len + 1);
    l->wall_ms = wall_ms;
    l->level = model_classify(l->text);
    if (l->level == MODEL_LVL_NONE)
        l->level = m->line_colour;
    m->partial_len = 0;
    m->line_colour = m->colour;
    if (m->on_line)
        m->on_line(m->on_line_ctx, m, l);
}

/* SGR parameters: set the colour the target asks for. */
static void apply_sgr(struct model *m)
{
    char *p = m->esc_buf;

    m->esc_buf[m->esc_len] = '\0';
    if (!*p) {
        m->colour = MODEL_LVL_NONE;
        return;
    }
    while (*p) {
        long v = strtol(p, &p, 10);

        if (v == 0 || v == 39)
            m->colour = MODEL_LVL_NONE;
        else if (v == 31 || v == 91)
            m->colour = MODEL_LVL_E;
        else if (v == 33 || v == 93)
            m->colour = MODEL_LVL_W;
        else if (v == 32 || v == 92)
            m->colour = MODEL_LVL_I;
        else if ((v >= 30 && v <= 37) || (v >= 90 && v <= 97))
            m->colour = MODEL_LVL_NONE;
        if (m->colour != MODEL_LVL_NONE)
            m->line_colour = m->colour;
        if (*p == ';')
            p++;
        else if (*p)
            break;
    }
}

enum { ESC_NONE, ESC_START, ESC_CSI };

void model_monitor_bytes(struct model *m, const uint8_t *data, size_t len,
                         int64_t wall_ms)
{
    size_t i;

    for (i = 0; i < len; i++) {
        uint8_t c = data[i];

        if (m->esc == ESC_START) {
            m->esc = c == '[' ? ESC_CSI : ESC_NONE;
            m->esc_len = 0;
            continue;
        }
        if (m->esc == ESC_CSI) {
            if (c >= 0x40 && c <= 0x7e) {
                if (c == 'm')
                    apply_sgr(m);
                m->esc = ESC_NONE;
            } else if (m->esc_len + 1 < sizeof m->esc_buf) {
                m->esc_buf[m->esc_len++] = (char)c;
            }
            continue;
        }
        if (c == 0x1b) {
            m->esc = ESC_START;
            continue;
        }
        if (c == '\n') {
            mon_commit(m, wall_ms);
            continue;
        }
        if (c == '\t')
            c = ' ';
        if (c < 0x20 || c == 0x7f)
            continue;           /* CR and other controls */
        if (m->partial_len + 1 >= sizeof m->partial)
            mon_commit(m, wall_ms);
        m->partial[m->partial_len++] = (char)c;
    }
}

static enum model_level level_of(enum log_level lv)
{
    switch (lv) {
    case ED_LOG_ERROR: return MODEL_LVL_E;
    case ED_LOG_WARN: return MODEL_LVL_W;
    case ED_LOG_INFO: return MODEL_LVL_I;
    case ED_LOG_DEBUG: return MODEL_LVL_D;
    default: return MODEL_LVL_V;
    }
}

/* Parts that never reached a final phase: say what was not written. */
static void mark_cancelled(struct model *m)
{
    char a[24], b[24];
    size_t i;

    for (i = 0; i < m->n_parts; i++) {
        struct model_part *p = &m->parts[i];

        if (model_part_final(p) && p->phase != PHASE_CANCELLED)
            continue;
        if (p->phase == PHASE_CANCELLED && p->message[0])
            continue;
        p->phase = PHASE_CANCELLED;
        if (p->done > 0 && p->done < p->total)
            snprintf(p->message, sizeof p->message,
                     "%s of %s written, the rest not written",
                     model_fmt_bytes(a, sizeof a, p->done),
                     model_fmt_bytes(b, sizeof b, p->total));
        else if (p->done > 0)
            snprintf(p->message, sizeof p->message,
                     "written, not verified");
        else if (p->ever_written)
            snprintf(p->message, sizeof p->message,
                     "erased, not written");
        else
            snprintf(p->message, sizeof p->message, "not written");
    }
}

static void apply_part(struct model *m, const struct engine_part_info *pi,
                       int64_t mono_ms)
{
    struct model_part *p;

    if (pi->index < 0 || pi->index >= ENGINE_MAX_IMAGES)
        return;
    if ((size_t)pi->index >= m->n_parts) {
        size_t i;

        for (i = m->n_parts; i <= (size_t)pi->index; i++) {
            memset(&m->parts[i], 0, sizeof m->parts[i]);
            snprintf(m->parts[i].name, sizeof m->parts[i].name,
                     "image %zu", i);
        }
        m->n_parts = (size_t)pi->index + 1;
    }
    p = &m->parts[pi->index];
    p->phase = pi->phase;
    p->done = pi->done;
    if (pi->total)
        p->total = pi->total;
    p->wire_bytes = pi->wire_bytes;
    p->wire_total = pi->wire_total;
    p->rate = pi->rate;
    p->elapsed = pi->elapsed;
    p->written = pi->written;
    p->recoveries = pi->recoveries;
    p->resent = pi->resent;
    snprintf(p->message, sizeof p->message, "%s", pi->message);
    if (pi->phase == PHASE_ERASING || pi->phase == PHASE_WRITING)
        p->ever_written = true;
    if (pi->phase == PHASE_CANCELLED) {
        char a[24], b[24];

        /* our own words: how much of this image is on the flash */
        if (p->done > 0 && p->done < p->total)
            snprintf(p->message, sizeof p->message,
                     "%s of %s written, the rest not written",
                     model_fmt_bytes(a, sizeof a, p->done),
                     model_fmt_bytes(b, sizeof b, p->total));
        else if (p->done == 0)
            snprintf(p->message, sizeof p->message, "not written");
        mark_cancelled(m);
    }
    if (!m->flash_end_ms && m->n_parts && all_final(m)) {
        m->flash_end_ms = mono_ms;
        m->flashes++;
    }
}

void model_mark_not_written(struct model *m)
{
    size_t i;

    for (i = 0; i < m->n_parts; i++)
        if (m->parts[i].phase == PHASE_WAITING)
            snprintf(m->parts[i].message, sizeof m->parts[i].message,
                     "not written");
}

void model_restart_flash(struct model *m, int64_t mono_ms)
{
    size_t i;

    for (i = 0; i < m->n_parts; i++) {
        struct model_part *p = &m->parts[i];

        p->phase = PHASE_WAITING;
        p->done = p->wire_bytes = p->wire_total = 0;
        p->rate = p->elapsed = 0;
        p->message[0] = '\0';
        p->ever_written = false;
        p->total = p->len;
    }
    m->split = false;
    m->flash_start_ms = mono_ms;
    m->flash_end_ms = 0;
}

void model_restart(struct model *m)
{
    model_restart_flash(m, 0);
    m->state = STATE_IDLE;
    m->have_chip = false;
    m->finished = false;
    m->status = ED_OK;
    m->finish_msg[0] = '\0';
}

void model_apply(struct model *m, const struct engine_event *ev,
                 int64_t mono_ms, int64_t wall_ms)
{
    switch (ev->kind) {
    case EV_LOG:
        model_log(m, level_of(ev->u.log.level), wall_ms, ev->u.log.text);
        break;
    case EV_STATE:
        m->state = ev->u.state.state;
        switch (m->state) {
        case STATE_CONNECTING:
            if (!m->flash_start_ms || m->split)
                m->flash_start_ms = mono_ms;
            m->split = false;
            break;
        case STATE_MONITORING:
            if (m->mode == MODEL_MODE_FLASH && m->n_parts) {
                m->split = true;
                if (!m->flash_end_ms)
                    m->flash_end_ms = mono_ms;
            }
            break;
        case STATE_CANCELLED:
            mark_cancelled(m);
            if (!m->flash_end_ms)
                m->flash_end_ms = mono_ms;
            break;
        default:
            break;
        }
        break;
    case EV_CHIP:
        m->chip = ev->u.chip;
        m->have_chip = true;
        break;
    case EV_PART:
        apply_part(m, &ev->u.part, mono_ms);
        break;
    case EV_MONITOR:
        model_monitor_bytes(m, ev->u.monitor.data,
                            ev->u.monitor.len < sizeof ev->u.monitor.data
                                ? ev->u.monitor.len
                                : sizeof ev->u.monitor.data,
                            wall_ms);
        break;
    case EV_FINISHED:
        m->finished = true;
        m->status = ev->u.finished.status;
        snprintf(m->finish_msg, sizeof m->finish_msg, "%s",
                 ev->u.finished.message);
        if (m->status == ED_ERR_CANCELLED)
            mark_cancelled(m);
        else if (m->status != ED_OK)
            model_mark_not_written(m);
        if (!m->flash_end_ms && m->flash_start_ms)
            m->flash_end_ms = mono_ms;
        if (m->status != ED_OK && m->finish_msg[0])
            model_log(m, m->status == ED_ERR_CANCELLED ? MODEL_LVL_W
                                                       : MODEL_LVL_E,
                      wall_ms, m->finish_msg);
        if (m->partial_len)
            mon_commit(m, wall_ms);
        break;
    }
}

bool model_mon_find(const struct model *m, uint64_t seq, bool forward,
                    const char *text, uint64_t *out)
{
    uint64_t first = model_ring_first(&m->mon), end = model_ring_end(&m->mon);
    uint64_t s;

    if (!text || !*text || first == end)
        return false;
    if (forward) {
        for (s = seq < first ? first : seq + 1; s < end; s++)
            if (strcasestr(model_ring_get(&m->mon, s)->text, text)) {
                *out = s;
                return true;
            }
    } else {
        if (seq > end)
            seq = end;
        for (s = seq; s-- > first;)
            if (strcasestr(model_ring_get(&m->mon, s)->text, text)) {
                *out = s;
                return true;
            }
    }
    return false;
}
