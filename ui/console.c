/*
 * console.c - the console loop: engine events in, keys in, frames out.
 */
#include "console.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "clock.h"
#include "cmd.h"
#include "elfsym.h"
#include "engine.h"
#include "keys.h"
#include "model.h"
#include "panic.h"
#include "port.h"
#include "profile.h"
#include "term.h"
#include "view.h"

#define FRAME_MS 33     /* at most ~30 frames a second */
#define TICK_MS 100     /* poll timeout: clocks, ETA */

struct console {
    const struct console_opts *o;
    struct model m;
    struct engine *e;
    struct view_state v;
    int exit_code;              /* when set before the loop: fatal */
    bool quit;
    bool dirty;
    bool user_cancelled;
    char fatal[ED_ERRMSG_MAX + 64];
    char status[160];
    int64_t status_until;
    char search[64];
    size_t search_len;
    bool baud_prompt;           /* the key bar input is a baud rate */
    char baudtxt[16];
    size_t baud_len;
    const char *eol;            /* what Enter sends to the target */
    char elf_path[512];         /* the profile's elf: */
    struct elfsym *elf;         /* panic decoding; NULL = none */
    struct panic_scan ps;
    FILE *logf;
    char logname[96];
    uint64_t logged;            /* next monitor line to write to logf */
};

static int64_t wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_status(struct console *c, const char *msg)
{
    snprintf(c->status, sizeof c->status, "%s", msg);
    c->status_until = clock_ms() + 4000;
    c->dirty = true;
}

static void set_fatal(struct console *c, int code, const char *msg)
{
    snprintf(c->fatal, sizeof c->fatal, "%s", msg);
    c->exit_code = code;
    model_mark_not_written(&c->m);
    model_log(&c->m, MODEL_LVL_E, wall_ms(), msg);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/* ---- starting ---- */

static void start_flash(struct console *c, struct engine_job *job)
{
    const struct console_opts *o = c->o;
    struct profile *p = NULL;
    char err[ED_ERRMSG_MAX];

    snprintf(c->m.profile, sizeof c->m.profile, "%s",
             base_name(o->profile_path));
    if (o->port)
        snprintf(c->m.port, sizeof c->m.port, "%s", o->port);
    if (profile_load(&p, o->profile_path, err, sizeof err) != ED_OK) {
        char msg[sizeof err + 64];

        snprintf(msg, sizeof msg, "the profile cannot be used: %s", err);
        set_fatal(c, EXIT_PROFILE, msg);
        return;
    }
    snprintf(c->elf_path, sizeof c->elf_path, "%s", profile_elf(p));
    if (profile_to_job(p, o->port, job, err, sizeof err) != ED_OK) {
        set_fatal(c, EXIT_PROFILE, err);
        goto out;
    }
    job->op = ENGINE_OP_FLASH;
    job->monitor_after = !o->no_monitor;
    job->force = o->force;
    if (o->no_stub)
        job->no_stub = true;
    /* command line > profile > config.yaml > built-in (docs/cli.md) */
    if (o->cfg_port && !o->port &&
        (!job->port[0] || !strcmp(job->port, "auto")))
        snprintf(job->port, sizeof job->port, "%s", o->cfg_port);
    if (o->baud)
        job->baud = o->baud;
    else if (o->cfg_baud && !profile_baud_set(p))
        job->baud = o->cfg_baud;
    job->no_compress = job->no_compress || o->no_compress;
    if (o->before &&
        batch_parse_before(o->before, &job->before, job->reset_seq,
                           sizeof job->reset_seq, err, sizeof err) != ED_OK) {
        set_fatal(c, EXIT_USAGE, err);
        goto out;
    }
    if (o->after && port_parse_after(o->after, &job->after) != ED_OK) {
        snprintf(err, sizeof err, "unknown --after mode '%s' (hard-reset, "
                                  "soft-reset, no-reset, no-reset-stub, "
                                  "watchdog-reset)", o->after);
        set_fatal(c, EXIT_USAGE, err);
        goto out;
    }
    model_set_job(&c->m, job);
out:
    profile_free(p);
}

struct note_ctx {
    struct model *m;
    int64_t wall;
};

static void note(void *ctx, const char *text)
{
    struct note_ctx *n = ctx;

    model_mon_note(n->m, MODEL_LVL_W, n->wall, text);
}

/* A panic's addresses, decoded under the line that holds them (in the
 * monitor and so in the log file). */
static void on_mon_line(void *ctx, struct model *m, const struct model_line *l)
{
    struct console *c = ctx;
    struct note_ctx n = {m, l->wall_ms};
    char text[MODEL_LINE_MAX];

    snprintf(text, sizeof text, "%s", l->text); /* notes reuse the ring */
    panic_decode_line(&c->ps, c->elf, text, note, &n);
}

static void open_elf(struct console *c)
{
    const char *path = c->o->elf ? c->o->elf : c->elf_path;
    char err[ED_ERRMSG_MAX], msg[ED_ERRMSG_MAX + 64];

    if (!path[0])
        return;
    if (elfsym_open(&c->elf, path, err, sizeof err) != ED_OK) {
        snprintf(msg, sizeof msg, "%s; panics are shown undecoded", err);
        model_log(&c->m, MODEL_LVL_W, wall_ms(), msg);
        return;
    }
    c->m.on_line = on_mon_line;
    c->m.on_line_ctx = c;
    snprintf(msg, sizeof msg, "panics are decoded with %s%s", path,
             elfsym_has_debug(c->elf) ? ""
                                      : " (no debug info: function names "
                                        "only)");
    model_log(&c->m, MODEL_LVL_I, wall_ms(), msg);
}

static void start_engine(struct console *c)
{
    const struct console_opts *o = c->o;
    struct engine_job job;
    char err[ED_ERRMSG_MAX];

    engine_job_init(&job);
    if (o->monitor_only) {
        job.op = ENGINE_OP_MONITOR;
        snprintf(job.port, sizeof job.port, "%s", o->port ? o->port : "");
        job.monitor_baud = o->monitor_baud ? o->monitor_baud : 115200;
        model_set_job(&c->m, &job);
        snprintf(c->m.profile, sizeof c->m.profile, "monitor");
    } else {
        start_flash(c, &job);
        if (c->fatal[0])
            goto out;
    }
    open_elf(c);
    if (!job.port[0]) {
        set_fatal(c, EXIT_USAGE, "no port given: add --port URL (a serial "
                                 "device such as /dev/ttyUSB0, or sim:esp32 "
                                 "for the simulated board)");
        goto out;
    }
    if (engine_new(&c->e, &job, err, sizeof err) != ED_OK) {
        set_fatal(c, EXIT_CONNECT, err);
        goto out;
    }
    if (engine_start(c->e) != ED_OK) {
        set_fatal(c, EXIT_INTERNAL, "could not start the engine thread");
        engine_free(c->e);
        c->e = NULL;
    }
out:
    engine_job_clear(&job);
}

/*
 * The run failed or was cancelled and its engine thread has ended: a new
 * run may try again.  Not after a command-line error (the same again).
 */
static bool can_retry(const struct console *c)
{
    if (c->exit_code)
        return c->exit_code == EXIT_PROFILE || c->exit_code == EXIT_CONNECT;
    return c->e && c->m.finished && c->m.status != ED_OK;
}

/* Try again: the old engine joined and freed (it owned the port), a new
 * one on the same port with the profile read again (a fixed file counts). */
static void retry(struct console *c)
{
    engine_free(c->e);
    c->e = NULL;
    elfsym_close(c->elf);
    c->elf = NULL;
    c->m.on_line = NULL;
    c->fatal[0] = '\0';
    c->exit_code = 0;
    c->user_cancelled = false;
    c->v.overlay = VIEW_NONE;
    model_restart(&c->m);
    model_log(&c->m, MODEL_LVL_I, wall_ms(),
              c->m.mode == MODEL_MODE_FLASH
                  ? "trying again: connecting to the board"
                  : "trying again: opening the port");
    start_engine(c);
}

/* ---- monitor log file ---- */

static void logfile_toggle(struct console *c)
{
    char msg[160];

    if (c->logf) {
        fclose(c->logf);
        c->logf = NULL;
        snprintf(msg, sizeof msg, "output saved to %s", c->logname);
        set_status(c, msg);
        return;
    }
    {
        time_t t = time(NULL);
        struct tm tm;

        localtime_r(&t, &tm);
        strftime(c->logname, sizeof c->logname,
                 "espdeck-monitor-%Y%m%d-%H%M%S.log", &tm);
    }
    c->logf = fopen(c->logname, "a");
    if (!c->logf) {
        snprintf(msg, sizeof msg, "cannot write %s: %s (is the directory "
                                  "writable?)", c->logname, strerror(errno));
        set_status(c, msg);
        return;
    }
    c->logged = model_ring_end(&c->m.mon);
    snprintf(msg, sizeof msg, "logging to %s", c->logname);
    set_status(c, msg);
}

static void logfile_flush(struct console *c)
{
    uint64_t end = model_ring_end(&c->m.mon);
    uint64_t first = model_ring_first(&c->m.mon);

    if (!c->logf)
        return;
    if (c->logged < first)
        c->logged = first;
    for (; c->logged < end; c->logged++) {
        const struct model_line *l = model_ring_get(&c->m.mon, c->logged);

        if (c->v.timestamps) {
            time_t t = (time_t)(l->wall_ms / 1000);
            struct tm tm;
            char ts[16];

            localtime_r(&t, &tm);
            strftime(ts, sizeof ts, "%H:%M:%S", &tm);
            fprintf(c->logf, "%s.%03d ", ts, (int)(l->wall_ms % 1000));
        }
        fprintf(c->logf, "%s\n", l->text);
    }
    fflush(c->logf);
}

/* ---- keys ---- */

/* Flashing is in progress: the engine runs and the model is not final. */
static bool flashing(const struct console *c)
{
    return c->e && model_busy(&c->m) && !engine_finished(c->e);
}

/* The screen and state the keys (and the key bar) follow. */
static int where_now(const struct console *c)
{
    if (c->m.mode == MODEL_MODE_MONITOR_ONLY || c->m.split)
        return UI_IN_MON;
    if (!flashing(c))
        return UI_IN_OVER;
    return c->user_cancelled ? UI_IN_STOPPING : UI_IN_FLASH;
}

static void do_search(struct console *c, bool older)
{
    uint64_t from, hit;
    const struct model *m = &c->m;

    if (!c->search[0]) {
        set_status(c, "no search text: type / and a word");
        return;
    }
    if (c->v.have_hit)
        from = c->v.hit;
    else
        from = model_ring_end(&m->mon);
    if (!model_mon_find(m, from, !older, c->search, &hit)) {
        set_status(c, older ? "no older match" : "no newer match");
        return;
    }
    c->v.have_hit = true;
    c->v.hit = hit;
    c->v.follow = false;
    /* put the hit in the middle of the pane, the pane full */
    c->v.top = hit > (uint64_t)(c->v.mon_rows / 2)
                   ? hit - (uint64_t)(c->v.mon_rows / 2) : 0;
    if (model_ring_end(&m->mon) >= (uint64_t)c->v.mon_rows &&
        c->v.top > model_ring_end(&m->mon) - (uint64_t)c->v.mon_rows)
        c->v.top = model_ring_end(&m->mon) - (uint64_t)c->v.mon_rows;
}

static void mon_scroll(struct console *c, long lines)
{
    const struct model_ring *r = &c->m.mon;
    uint64_t first = model_ring_first(r), end = model_ring_end(r);
    int64_t top = (int64_t)(c->v.follow ? c->v.shown_top : c->v.top);
    int rows = c->v.mon_lines > 0 ? c->v.mon_lines
               : c->v.mon_rows > 0 ? c->v.mon_rows : 10;

    top += lines;
    if (top < (int64_t)first)
        top = (int64_t)first;
    if (top + rows >= (int64_t)end) {
        c->v.follow = true;
        return;
    }
    c->v.follow = false;
    c->v.top = (uint64_t)top;
}

static void baud_key(struct console *c, int ch)
{
    char msg[96];

    if (ch == 27) {
        c->v.searching = false;
        c->baud_prompt = false;
    } else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
        char *end;
        unsigned long b = strtoul(c->baudtxt, &end, 10);

        c->v.searching = false;
        c->baud_prompt = false;
        if (!c->baudtxt[0] || *end || b < 300 || b > 12000000) {
            snprintf(msg, sizeof msg, "'%s' is not a baud rate (a number "
                                      "such as 115200)", c->baudtxt);
            set_status(c, msg);
        } else if (c->e && !engine_finished(c->e)) {
            engine_set_monitor_baud(c->e, (uint32_t)b);
            c->m.monitor_baud = (uint32_t)b;
            snprintf(msg, sizeof msg, "monitor at %lu baud", b);
            set_status(c, msg);
        }
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (c->baud_len)
            c->baudtxt[--c->baud_len] = '\0';
    } else if (ch >= '0' && ch <= '9' &&
               c->baud_len + 1 < sizeof c->baudtxt) {
        c->baudtxt[c->baud_len++] = (char)ch;
        c->baudtxt[c->baud_len] = '\0';
    }
}

static void search_key(struct console *c, int ch)
{
    if (c->baud_prompt) {
        baud_key(c, ch);
        return;
    }
    if (ch == 27) {
        c->v.searching = false;
        c->search[0] = '\0';
        c->search_len = 0;
        c->v.have_hit = false;
    } else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
        c->v.searching = false;
        c->v.have_hit = false;
        do_search(c, true);
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (c->search_len)
            c->search[--c->search_len] = '\0';
    } else if (ch >= 0x20 && ch < 0x7f &&
               c->search_len + 1 < sizeof c->search) {
        c->search[c->search_len++] = (char)ch;
        c->search[c->search_len] = '\0';
    }
}

/* Bytes for the target, while the engine monitors. */
static void to_target(struct console *c, const uint8_t *b, size_t n)
{
    if (!c->e || engine_finished(c->e)) {
        set_status(c, "the monitor has stopped: nothing reaches the target");
        return;
    }
    if (engine_send(c->e, b, n) < n)
        set_status(c, "typing faster than the port sends: keys dropped");
}

/*
 * A key typed while the monitor has the keyboard: its bytes for the
 * target into out (at most 8), as a VT100 terminal sends them (what
 * esp_console's line editor reads).  Returns the count, 0 for a key that
 * types nothing (F1, PgUp, ...: the console's).
 */
static size_t typed_bytes(const struct console *c, int ch, uint8_t *out)
{
    static const struct { int key; const char *seq; } seqs[] = {
        {KEY_UP, "\033[A"}, {KEY_DOWN, "\033[B"}, {KEY_RIGHT, "\033[C"},
        {KEY_LEFT, "\033[D"}, {KEY_HOME, "\033[H"}, {KEY_END, "\033[F"},
        {KEY_DC, "\033[3~"}, {KEY_IC, "\033[2~"},
    };
    size_t i;

    if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
        memcpy(out, c->eol, strlen(c->eol));
        return strlen(c->eol);
    }
    if (ch == KEY_BACKSPACE) {
        out[0] = 0x7f;
        return 1;
    }
    if (ch >= 0 && ch <= 0xff) {
        out[0] = (uint8_t)ch;
        return 1;
    }
    for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        if (seqs[i].key == ch) {
            memcpy(out, seqs[i].seq, strlen(seqs[i].seq));
            return strlen(seqs[i].seq);
        }
    return 0;
}

const char *console_eol_bytes(const char *name)
{
    if (!name || !strcasecmp(name, "CRLF"))
        return "\r\n";
    if (!strcasecmp(name, "CR"))
        return "\r";
    if (!strcasecmp(name, "LF"))
        return "\n";
    return NULL;
}

bool console_eol_ok(const char *name)
{
    if (console_eol_bytes(name))
        return true;
    fprintf(stderr, "espdeck: unknown --eol '%s' (CR, LF or CRLF)\n", name);
    return false;
}

static void ask_quit(struct console *c)
{
    if (flashing(c) && !c->user_cancelled)
        c->v.overlay = VIEW_CONFIRM_QUIT;
    else
        c->quit = true;
}

static void do_action(struct console *c, enum ui_action a)
{
    switch (a) {
    case UI_ACT_NONE:
        break;
    case UI_ACT_HELP:
    case UI_ACT_HELP_MON:
        c->v.overlay = VIEW_HELP;
        break;
    case UI_ACT_TYPE:
        break;
    case UI_ACT_SEND_T: {
        const uint8_t t = UI_CHORD_PREFIX;

        to_target(c, &t, 1);
        break;
    }
    case UI_ACT_WRAP:
        c->v.cut = !c->v.cut;
        set_status(c, c->v.cut ? "long lines cut at the pane's edge"
                               : "long lines wrap");
        break;
    case UI_ACT_BAUD:
        c->v.searching = true;
        c->baud_prompt = true;
        c->baudtxt[0] = '\0';
        c->baud_len = 0;
        break;
    case UI_ACT_CANCEL:
        if (flashing(c))
            c->v.overlay = VIEW_CONFIRM_CANCEL;
        else
            set_status(c, "nothing to cancel");
        break;
    case UI_ACT_RESET:
        if (c->v.no_reset) {
            set_status(c, "socket:// has no reset lines: press RESET on the "
                       "board");
        } else if (c->e && !engine_finished(c->e)) {
            engine_command(c->e, ENGINE_CMD_RESET_TARGET);
            set_status(c, "resetting the target");
        }
        break;
    case UI_ACT_REFLASH:
        if (c->m.mode != MODEL_MODE_FLASH) {
            set_status(c, "monitor only: no profile to flash");
        } else if (c->e && !engine_finished(c->e)) {
            engine_command(c->e, ENGINE_CMD_REFLASH);
            model_restart_flash(&c->m, clock_ms());
            model_log(&c->m, MODEL_LVL_I, wall_ms(),
                      "flashing again with the same profile");
        } else {
            retry(c);   /* the engine has ended: a new run */
        }
        break;
    case UI_ACT_RETRY:
        if (can_retry(c))
            retry(c);
        else
            set_status(c, "nothing to retry: the job did not fail");
        break;
    case UI_ACT_LOGFILE:
        logfile_toggle(c);
        break;
    case UI_ACT_TIME:
        c->v.timestamps = !c->v.timestamps;
        break;
    case UI_ACT_PAUSE:
        if (c->v.follow) {
            c->v.follow = false;
            c->v.top = c->v.shown_top;
        } else {
            c->v.follow = true;
        }
        break;
    case UI_ACT_SEARCH:
        c->v.searching = true;
        c->search[0] = '\0';
        c->search_len = 0;
        break;
    case UI_ACT_NEXT:
        do_search(c, true);
        break;
    case UI_ACT_PREV:
        do_search(c, false);
        break;
    case UI_ACT_PGUP:
        mon_scroll(c, -(long)(c->v.mon_rows > 1 ? c->v.mon_rows - 1 : 1));
        break;
    case UI_ACT_PGDN:
        mon_scroll(c, c->v.mon_rows > 1 ? c->v.mon_rows - 1 : 1);
        break;
    case UI_ACT_UP:
        mon_scroll(c, -1);
        break;
    case UI_ACT_DOWN:
        mon_scroll(c, 1);
        break;
    case UI_ACT_HOME:
        c->v.follow = false;
        c->v.top = model_ring_first(&c->m.mon);
        break;
    case UI_ACT_END:
        c->v.follow = true;
        c->v.have_hit = false;
        break;
    case UI_ACT_REDRAW:
        clearok(curscr, TRUE);
        break;
    case UI_ACT_QUIT:
    case UI_ACT_QUIT_MON:
    case UI_ACT_QUIT2:
        ask_quit(c);
        break;
    }
}

static void handle_key(struct console *c, int ch)
{
    int key = ch;

    c->dirty = true;
    if (ch == KEY_RESIZE)
        return;
    if (c->v.overlay == VIEW_HELP) {
        c->v.overlay = VIEW_NONE;
        return;
    }
    if (c->v.overlay == VIEW_CONFIRM_CANCEL ||
        c->v.overlay == VIEW_CONFIRM_QUIT) {
        if (ch == 'y' || ch == 'Y') {
            if (c->e)
                engine_cancel(c->e);
            c->user_cancelled = true;
            if (c->v.overlay == VIEW_CONFIRM_QUIT)
                c->quit = true;
            c->v.overlay = VIEW_NONE;
        } else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q') {
            c->v.overlay = VIEW_NONE;
        }
        return;
    }
    if (c->fatal[0]) {
        if (can_retry(c) &&
            ui_key_action(ch, UI_IN_OVER) == UI_ACT_RETRY) {
            retry(c);
            return;
        }
        if (ch == 'q' || ch == 'Q' || ch == 27 || ch == UI_CTRL(']') ||
            ch == UI_CTRL('c') || ch == '\r' || ch == '\n')
            c->quit = true;
        return;
    }
    if (c->v.searching) {
        search_key(c, ch);
        return;
    }
    if (c->v.chord) {
        /* the menu key's command: exact (n, N), else any case (r, R) */
        c->v.chord = false;
        key = UI_CHORD(ch);
        if (ui_key_action(key, where_now(c)) == UI_ACT_NONE &&
            ch >= 'A' && ch <= 'Z')
            key = UI_CHORD(tolower(ch));
    } else if (ch == UI_CHORD_PREFIX) {
        c->v.chord = true;
        return;
    } else if (where_now(c) == UI_IN_MON && ch != UI_CTRL(']')) {
        /* the monitor has the keyboard (keys.h) */
        uint8_t b[8];
        size_t n = typed_bytes(c, ch, b);

        if (n) {
            to_target(c, b, n);
            return;
        }
    } else if (ch == UI_CTRL('c')) {
        ask_quit(c);
        return;
    }
    do_action(c, ui_key_action(key, where_now(c)));
}

/* ---- events ---- */

static void drain_events(struct console *c)
{
    struct engine_event ev;
    int64_t mono = clock_ms(), wall = wall_ms();
    bool any = false;

    while (c->e && engine_poll(c->e, &ev)) {
        model_apply(&c->m, &ev, mono, wall);
        any = true;
    }
    if (!any)
        return;
    c->dirty = true;
    logfile_flush(c);
    /* A board that never answered: say so in the middle of the screen. */
    if (c->m.finished && c->m.status != ED_OK &&
        c->m.status != ED_ERR_CANCELLED && !c->fatal[0]) {
        size_t i;
        bool started = false;

        for (i = 0; i < c->m.n_parts; i++)
            if (c->m.parts[i].phase != PHASE_WAITING)
                started = true;
        if (!started && c->m.finish_msg[0])
            snprintf(c->fatal, sizeof c->fatal, "%s", c->m.finish_msg);
    }
}

static int exit_code(const struct console *c)
{
    const struct model *m = &c->m;
    size_t i;

    if (c->exit_code)
        return c->exit_code;
    if (m->finished) {
        if (m->status == ED_OK)
            return EXIT_OK_;
        if (m->status == ED_ERR_CANCELLED)
            return EXIT_CANCELLED;
        for (i = 0; i < m->n_parts; i++)
            if (m->parts[i].phase == PHASE_FAILED)
                return EXIT_WRITE;
        if (m->status == ED_ERR_PROFILE)
            return EXIT_PROFILE;
        return EXIT_CONNECT;
    }
    if (m->mode == MODEL_MODE_MONITOR_ONLY)
        return EXIT_OK_;
    if (m->split || model_all_ok(m))
        return EXIT_OK_;
    return c->user_cancelled || m->n_parts ? EXIT_CANCELLED : EXIT_OK_;
}

/* One line on the restored terminal: what happened. */
static void print_outcome(const struct console *c, int code)
{
    const struct model *m = &c->m;
    char out[160];

    if (c->fatal[0]) {
        fprintf(stderr, "espdeck: %s\n", c->fatal);
        return;
    }
    if (m->mode == MODEL_MODE_MONITOR_ONLY)
        return;
    if (model_all_ok(m))
        printf("espdeck: %s\n",
               model_outcome(m, model_flash_seconds(m, clock_ms()), out,
                             sizeof out));
    else if (code == EXIT_CANCELLED)
        printf("espdeck: cancelled; not every image was written: run the same "
               "command again to finish\n");
    else if (m->finish_msg[0])
        fprintf(stderr, "espdeck: %s\n", m->finish_msg);
    if (c->logf || c->logname[0])
        printf("espdeck: monitor output saved to %s\n", c->logname);
}

int console_run(const struct console_opts *o)
{
    struct console *c;
    char err[256];
    int64_t last_draw = 0;
    int code;

    c = calloc(1, sizeof *c);
    if (!c || model_init(&c->m, o->monitor_only ? MODEL_MODE_MONITOR_ONLY
                                                : MODEL_MODE_FLASH)) {
        free(c);
        fprintf(stderr, "espdeck: out of memory\n");
        return EXIT_INTERNAL;
    }
    c->o = o;
    if (!term_open(err, sizeof err)) {
        fprintf(stderr, "espdeck: %s\n", err);
        model_free(&c->m);
        free(c);
        return EXIT_USAGE;
    }
    c->v.m = &c->m;
    c->v.follow = true;
    c->dirty = true;
    c->eol = console_eol_bytes(o->eol);
    if (!c->eol)
        c->eol = "\r\n";
    start_engine(c);

    while (!c->quit) {
        struct pollfd fds[2];
        int64_t now = clock_ms();
        int nfds = 1, timeout, ch;

        if (c->status[0] && now > c->status_until)
            c->status[0] = '\0';
        if ((c->dirty && now - last_draw >= FRAME_MS) ||
            now - last_draw >= 1000) {
            c->v.mono_ms = now;
            c->v.wall_ms = wall_ms();
            c->v.where = where_now(c);
            c->v.no_reflash = c->m.mode != MODEL_MODE_FLASH;
            c->v.can_retry = can_retry(c);
            c->v.no_reset = c->e &&
                            !strncmp(engine_job(c->e)->port, "socket://", 9);
            c->v.fatal = c->fatal[0] ? c->fatal : NULL;
            c->v.status = c->status[0] ? c->status
                          : c->v.where == UI_IN_STOPPING
                              ? "cancelling after the block in flight"
                          : c->m.finished && c->m.finish_msg[0]
                              ? c->m.finish_msg : NULL;
            c->v.status_ok = !c->status[0] && c->m.finished &&
                             c->m.status == ED_OK;
            c->v.search = c->search;
            c->v.prompt = c->baud_prompt ? "baud: " : NULL;
            c->v.prompt_text = c->baud_prompt ? c->baudtxt : NULL;
            c->v.logfile = c->logf ? c->logname : NULL;
            view_draw(&c->v);
            last_draw = now;
            c->dirty = false;
        }
        fds[0].fd = STDIN_FILENO;
        fds[0].events = POLLIN;
        if (c->e) {
            fds[1].fd = engine_wake_fd(c->e);
            fds[1].events = POLLIN;
            nfds = 2;
        }
        timeout = c->dirty ? FRAME_MS : TICK_MS;
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR)
            break;
        drain_events(c);
        while ((ch = getch()) != ERR)
            handle_key(c, ch);
        if (term_quit_requested()) {
            if (c->e && model_busy(&c->m)) {
                engine_cancel(c->e);
                c->user_cancelled = true;
            }
            c->quit = true;
        }
    }

    if (c->e && model_busy(&c->m))
        c->user_cancelled = true;
    engine_free(c->e);
    c->e = NULL;
    term_close();
    logfile_flush(c);
    if (c->logf)
        fclose(c->logf);
    code = exit_code(c);
    print_outcome(c, code);
    model_free(&c->m);
    elfsym_close(c->elf);
    free(c);
    return code;
}
