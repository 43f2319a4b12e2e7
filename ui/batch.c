/*
 * batch.c - headless rendering of engine events (see batch.h).
 */
#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "accept.h"
#include "clock.h"
#include "cmd.h"
#include "model.h"
#include "profile.h"

/*
 * The signal handler can only reach process-wide state: one flag and one
 * self-pipe, set up by batch_run for its duration (one batch per process).
 */
static volatile sig_atomic_t batch_sigs;
static int batch_sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    const char b = 's';

    (void)sig;
    batch_sigs++;
    if (batch_sig_pipe[1] >= 0 && write(batch_sig_pipe[1], &b, 1) < 0) {
        /* nothing to do: the flag is set */
    }
    errno = saved;
}

struct part_track {
    char name[32];
    uint32_t offset;
    enum engine_phase phase;
    int last_decile;        /* highest "Progress: N %" printed, -1 none */
    bool started;
};

struct batch {
    const struct batch_opts *o;
    enum engine_op op;
    struct part_track parts[ENGINE_MAX_IMAGES];
    size_t n_parts;
    bool done_printed;
    bool monitoring;
    int64_t monitor_end_ms;
    int status;
    enum engine_state stage;
    bool finished;
    char message[ED_ERRMSG_MAX];
    bool out_lost;          /* stdout failed (closed pipe, full disk) */
    int out_errno;
    /* esptool-style lines */
    bool line_open;         /* "Connecting..." waits for its dots */
    bool stub;              /* the stub runs (reads are MD5-checked) */
    uint32_t chip_baud;     /* the baud the chip line said (0: none yet) */
    uint32_t erase_offset, erase_size;
    uint32_t flash_size;
    size_t n_written, n_skipped;
    uint64_t bytes_written;
    int64_t start_ms;
    struct accept *acc;     /* the profile's boot check (accept:), or NULL */
    bool acc_said;          /* its verdict was printed */
};

/*
 * After writing to stdout: note its first failure.  From then on nothing
 * more is written there, and the job goes on (a board is not left
 * half-written because a reader went away); batch_run says so at the end.
 */
static void out_check(struct batch *b)
{
    if (!b || b->out_lost)
        return;
    errno = 0;
    if (fflush(stdout) == EOF || ferror(stdout)) {
        b->out_lost = true;
        b->out_errno = errno ? errno : EIO;
    }
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/* One object, one line (b NULL: no batch running yet). */
static void json_emit(struct batch *b, cJSON *o)
{
    char *s = b && b->out_lost ? NULL : cJSON_PrintUnformatted(o);

    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        if (b)
            out_check(b);
        else
            fflush(stdout);
        cJSON_free(s);
    }
    cJSON_Delete(o);
}

/* Bytes as a JSON-safe string: valid UTF-8 kept, other bytes as U+FFFD. */
static char *utf8_clean(const uint8_t *p, size_t n)
{
    char *s = malloc(n * 3 + 1);
    size_t i = 0, k = 0;

    if (!s)
        return NULL;
    while (i < n) {
        uint8_t c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                 : (c >> 3) == 30 ? 4 : 0;
        size_t j;
        bool ok = len && i + len <= n;

        for (j = 1; ok && j < len; j++)
            ok = (p[i + j] & 0xC0) == 0x80;
        if (ok && c != 0) {
            memcpy(s + k, p + i, len);
            k += len;
            i += len;
        } else {
            memcpy(s + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        }
    }
    s[k] = '\0';
    return s;
}

static const char *stage_name(enum engine_state st)
{
    return engine_state_name(st);
}

cJSON *batch_event_json(const struct engine_event *ev, const char *name,
                        uint32_t offset)
{
    cJSON *o = cJSON_CreateObject();
    char buf[64];

    if (!o)
        return NULL;
    switch (ev->kind) {
    case EV_LOG:
        cJSON_AddStringToObject(o, "event", "log");
        cJSON_AddStringToObject(o, "level", log_level_name(ev->u.log.level));
        cJSON_AddStringToObject(o, "text", ev->u.log.text);
        break;
    case EV_STATE:
        cJSON_AddStringToObject(o, "event", "state");
        cJSON_AddStringToObject(o, "state",
                                engine_state_name(ev->u.state.state));
        if (ev->u.state.attempt)
            cJSON_AddNumberToObject(o, "attempt", ev->u.state.attempt);
        break;
    case EV_CHIP: {
        const struct engine_chip_info *c = &ev->u.chip;
        const struct chip_desc *d = chip_get(c->chip);

        cJSON_AddStringToObject(o, "event", "chip");
        cJSON_AddStringToObject(o, "chip", d ? d->name : "unknown");
        cJSON_AddStringToObject(o, "display", c->display);
        snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0],
                 c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
        cJSON_AddStringToObject(o, "mac", buf);
        snprintf(buf, sizeof buf, "0x%06x", c->flash_id);
        cJSON_AddStringToObject(o, "flash_id", buf);
        cJSON_AddNumberToObject(o, "flash_size", c->flash_size);
        cJSON_AddNumberToObject(o, "crystal_mhz", c->crystal_mhz);
        cJSON_AddNumberToObject(o, "baud", c->baud);
        cJSON_AddBoolToObject(o, "usb_jtag", c->usb_jtag);
        cJSON_AddBoolToObject(o, "stub", c->stub);
        cJSON_AddStringToObject(o, "reset", c->reset_used);
        break;
    }
    case EV_PART: {
        const struct engine_part_info *p = &ev->u.part;

        cJSON_AddStringToObject(o, "event", "part");
        cJSON_AddNumberToObject(o, "index", p->index);
        cJSON_AddStringToObject(o, "name", name ? name : "");
        cJSON_AddNumberToObject(o, "offset", offset);
        cJSON_AddStringToObject(o, "phase", engine_phase_name(p->phase));
        cJSON_AddNumberToObject(o, "done", (double)p->done);
        cJSON_AddNumberToObject(o, "total", (double)p->total);
        cJSON_AddNumberToObject(o, "wire_bytes", (double)p->wire_bytes);
        cJSON_AddNumberToObject(o, "wire_total", (double)p->wire_total);
        cJSON_AddNumberToObject(o, "written", (double)p->written);
        cJSON_AddNumberToObject(o, "recoveries", p->recoveries);
        cJSON_AddNumberToObject(o, "resent", p->resent);
        cJSON_AddNumberToObject(o, "rate", (double)(long long)p->rate);
        cJSON_AddNumberToObject(o, "elapsed",
                                (double)(long long)(p->elapsed * 1000) /
                                    1000.0);
        cJSON_AddStringToObject(o, "message", p->message);
        break;
    }
    case EV_MONITOR: {
        char *s = utf8_clean(ev->u.monitor.data, ev->u.monitor.len);

        cJSON_AddStringToObject(o, "event", "monitor");
        cJSON_AddStringToObject(o, "text", s ? s : "");
        free(s);
        break;
    }
    case EV_FINISHED:
        cJSON_AddStringToObject(o, "event", "finished");
        cJSON_AddNumberToObject(o, "status", ev->u.finished.status);
        cJSON_AddStringToObject(o, "error",
                                ed_errname(ev->u.finished.status));
        cJSON_AddStringToObject(o, "stage", stage_name(ev->u.finished.stage));
        cJSON_AddNumberToObject(
            o, "exit",
            batch_exit_code(ev->u.finished.status, ev->u.finished.stage));
        cJSON_AddStringToObject(o, "message", ev->u.finished.message);
        break;
    }
    return o;
}

static void json_event(struct batch *b, const struct engine_event *ev)
{
    const struct part_track *t =
        ev->kind == EV_PART && ev->u.part.index >= 0 &&
                (size_t)ev->u.part.index < b->n_parts
            ? &b->parts[ev->u.part.index]
            : NULL;
    cJSON *o = batch_event_json(ev, t ? t->name : "", t ? t->offset : 0);

    /* flashed, but the boot check failed: the exit code says so */
    if (o && ev->kind == EV_FINISHED && ev->u.finished.status == ED_OK &&
        b->acc && accept_verdict(b->acc) == ACCEPT_FAIL)
        cJSON_ReplaceItemInObject(o, "exit",
                                  cJSON_CreateNumber(BATCH_EXIT_BOOT));
    if (o)
        json_emit(b, o);
}

void batch_json_print(cJSON *o)
{
    if (o)
        json_emit(NULL, o);
}

void batch_print_error(bool json, int exit_code, const char *fmt, ...)
{
    char msg[ED_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (json) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            return;
        cJSON_AddStringToObject(o, "event", "finished");
        int st = exit_code == EXIT_PROFILE   ? ED_ERR_PROFILE
                 : exit_code == EXIT_CONNECT ? ED_ERR_NOT_FOUND
                                             : ED_ERR_ARG;

        if (!o)
            return;
        cJSON_AddNumberToObject(o, "status", st);
        cJSON_AddStringToObject(o, "error", ed_errname(st));
        cJSON_AddStringToObject(o, "stage", "idle");
        cJSON_AddNumberToObject(o, "exit", exit_code);
        cJSON_AddStringToObject(o, "message", msg);
        json_emit(NULL, o);
    } else {
        fprintf(stderr, "espdeck: %s\n", msg);
    }
}

/* ------------------------------------------------------------------ */
/* text                                                                */

static void out_line(struct batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* End the "Connecting..." line before anything else is printed. */
static void end_line(struct batch *b)
{
    if (!b->line_open)
        return;
    b->line_open = false;
    if (!b->out_lost) {
        fputc('\n', stdout);
        out_check(b);
    }
}

/* Text without a newline (the connecting dots). */
static void out_text(struct batch *b, const char *s)
{
    if (b->out_lost)
        return;
    fputs(s, stdout);
    out_check(b);
}

static void out_line(struct batch *b, const char *fmt, ...)
{
    va_list ap;

    end_line(b);
    if (b->out_lost)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    out_check(b);
}

static void text_progress(struct batch *b, struct part_track *t,
                          uint64_t done, uint64_t total)
{
    int dec = total ? (int)(done * 10 / total) : 10;

    if (dec > 10)
        dec = 10;
    while (t->last_decile < dec) {
        t->last_decile++;
        if (t->last_decile > 0)
            out_line(b, "Progress: %d %%", t->last_decile * 10);
    }
}

/*
 * esptool's lines for one finished image: "Wrote 26640 bytes (16567
 * compressed) at 0x00001000 in 0.4 s (530.1 kbit/s)", "Hash of data
 * verified."  The rate is the effective one (image bytes, as esptool).
 */
static void image_summary(struct batch *b, const struct part_track *t,
                          const struct engine_part_info *p)
{
    char comp[48] = "", when[64];
    /* a sector-delta write wrote less than the image */
    uint64_t w = p->written && b->op != ENGINE_OP_READ ? p->written
                                                       : p->total;

    /* under 0.1 s in ms, and no rate from a few ms (as the console) */
    if (p->elapsed < 0.05)
        snprintf(when, sizeof when, "%d ms", (int)(p->elapsed * 1000 + 0.5));
    else if (p->elapsed < 0.1)
        snprintf(when, sizeof when, "%d ms (%.1f kbit/s)",
                 (int)(p->elapsed * 1000 + 0.5),
                 (double)w * 8.0 / p->elapsed / 1000.0);
    else
        snprintf(when, sizeof when, "%.1f s (%.1f kbit/s)", p->elapsed,
                 (double)w * 8.0 / p->elapsed / 1000.0);
    if (b->op == ENGINE_OP_READ) {
        out_line(b, "Read %llu bytes at 0x%08x in %s",
                 (unsigned long long)p->total, t->offset, when);
        if (b->stub)
            out_line(b, "Hash of data verified.");
        return;
    }
    if (p->wire_total && p->wire_total != p->total)
        snprintf(comp, sizeof comp, " (%llu compressed)",
                 (unsigned long long)p->wire_total);
    out_line(b, "Wrote %llu bytes%s at 0x%08x in %s",
             (unsigned long long)w, comp, t->offset, when);
    out_line(b, "Hash of data verified.");
    b->n_written++;
    b->bytes_written += w;
}

/* The line before "Done!": what the whole job did, and how long it took. */
static void job_summary(struct batch *b)
{
    char size[32], skipped[48] = "";
    double s = (double)(clock_ms() - b->start_ms) / 1000.0;

    if (b->op != ENGINE_OP_FLASH)
        return;
    model_fmt_bytes(size, sizeof size, b->bytes_written);
    if (!b->n_written) {
        out_line(b, "Summary: nothing written, %zu image%s unchanged "
                 "(skipped) in %.1f s", b->n_skipped,
                 b->n_skipped == 1 ? "" : "s", s);
        return;
    }
    if (b->n_skipped)
        snprintf(skipped, sizeof skipped, "; %zu unchanged (skipped)",
                 b->n_skipped);
    out_line(b, "Summary: %zu image%s written and verified (%s)%s in %.1f s",
             b->n_written, b->n_written == 1 ? "" : "s", size, skipped, s);
}

static void text_part(struct batch *b, const struct engine_part_info *p)
{
    struct part_track *t;

    if (p->index < 0 || (size_t)p->index >= b->n_parts)
        return;
    t = &b->parts[p->index];
    if (p->phase == t->phase && p->phase != PHASE_WRITING)
        return;
    switch (p->phase) {
    case PHASE_WAITING:
        if (p->message[0] && t->phase != PHASE_WAITING)
            out_line(b, "Not written: %s", t->name);
        break;
    case PHASE_ERASING:
        if (b->op == ENGINE_OP_READ)
            break;
        out_line(b, "Loading %s...", t->name);
        out_line(b, "Erasing flash (this may take a while)...");
        break;
    case PHASE_WRITING:
        if (!t->started) {
            t->started = true;
            out_line(b, b->op == ENGINE_OP_READ ? "Start reading"
                                             : "Start programming");
            t->last_decile = 0;
        }
        text_progress(b, t, p->done, p->total);
        break;
    case PHASE_VERIFYING:
        if (b->o->verbose)
            out_line(b, "Verifying %s...", t->name);
        break;
    case PHASE_SKIPPED:
        if (t->phase != PHASE_SKIPPED)
            b->n_skipped++;
        out_line(b, "Skipped %s: %s", t->name, p->message[0] ? p->message
                                                          : "unchanged");
        break;
    case PHASE_DONE:
        if (!t->started) {
            t->started = true;
            out_line(b, b->op == ENGINE_OP_READ ? "Start reading"
                                             : "Start programming");
            t->last_decile = 0;
        }
        text_progress(b, t, 1, 1);
        out_line(b, b->op == ENGINE_OP_READ ? "Finished reading"
                                         : "Finished programming");
        image_summary(b, t, p);
        if (p->recoveries)
            out_line(b, "Recovered %s: %u write error%s, resumed where the "
                     "flash was proven written", t->name, p->recoveries,
                     p->recoveries == 1 ? "" : "s");
        if (p->resent)
            out_line(b, "Sent %u damaged data block%s of %s again (the "
                     "chip rejected %s unread)", p->resent,
                     p->resent == 1 ? "" : "s", t->name,
                     p->resent == 1 ? "it" : "them");
        if (p->message[0] && b->op != ENGINE_OP_READ)
            out_line(b, "Only changed sectors of %s: %s", t->name,
                     p->message);
        break;
    case PHASE_FAILED:
        out_line(b, "Failed %s: %s", t->name, p->message);
        break;
    case PHASE_CANCELLED:
        out_line(b, "Cancelled %s: %s", t->name, p->message);
        break;
    }
    t->phase = p->phase;
}

static void text_event(struct batch *b, const struct engine_event *ev)
{
    switch (ev->kind) {
    case EV_LOG:
        if (ev->u.log.level <= ED_LOG_WARN || b->o->verbose)
            end_line(b);
        if (ev->u.log.level <= ED_LOG_WARN)
            fprintf(stderr, "espdeck: %s%s\n",
                    ev->u.log.level == ED_LOG_ERROR ? "error: " : "warning: ",
                    ev->u.log.text);
        else if (b->o->verbose)
            fprintf(stderr, "espdeck: %s\n", ev->u.log.text);
        break;
    case EV_STATE:
        if (ev->u.state.state == STATE_CONNECTING) {
            /* "Connecting..." and a dot per further attempt */
            if (ev->u.state.attempt >= 2 && b->line_open) {
                out_text(b, ".");
            } else if (!b->line_open) {
                out_text(b, "Connecting...");
                b->line_open = true;
            }
        }
        if (ev->u.state.state == STATE_MONITORING && !b->done_printed) {
            job_summary(b);
            out_line(b, "Done!");
            b->done_printed = true;
        }
        break;
    case EV_CHIP: {
        const struct engine_chip_info *c = &ev->u.chip;
        char link[32];

        if (b->chip_baud && c->baud != b->chip_baud) {
            /* --baud auto stepped down in the middle of a write */
            out_line(b, "Baud rate now %u", c->baud);
            b->chip_baud = c->baud;
            break;
        }
        b->chip_baud = c->baud;
        b->stub = c->stub;
        b->flash_size = c->flash_size;
        if (c->usb_jtag)
            snprintf(link, sizeof link, "USB-Serial/JTAG");
        else
            snprintf(link, sizeof link, "%u baud", c->baud);
        out_line(b, "Connected to target (%s, MAC "
                 "%02x:%02x:%02x:%02x:%02x:%02x, %s, %s)",
                 c->display, c->mac[0], c->mac[1], c->mac[2], c->mac[3],
                 c->mac[4], c->mac[5], c->stub ? "stub" : "ROM loader",
                 link);
        if (b->o->verbose)
            fprintf(stderr, "espdeck: flash id 0x%06x, %u bytes, crystal "
                    "%d MHz, %u baud, reset: %s\n", c->flash_id,
                    c->flash_size, c->crystal_mhz, c->baud,
                    c->reset_used[0] ? c->reset_used : "-");
        if (b->op == ENGINE_OP_ERASE && b->erase_size) {
            char sz[32];

            out_line(b, "Erasing %s at 0x%08x..0x%08x...",
                     model_fmt_bytes(sz, sizeof sz, b->erase_size),
                     b->erase_offset, b->erase_offset + b->erase_size);
        } else if (b->op == ENGINE_OP_ERASE) {
            char sz[32];

            out_line(b, "Erasing the whole flash (%s; this may take a "
                     "while)...", model_fmt_bytes(sz, sizeof sz,
                                                  c->flash_size));
        }
        break;
    }
    case EV_PART:
        text_part(b, &ev->u.part);
        break;
    case EV_MONITOR:
        if (!b->out_lost) {
            fwrite(ev->u.monitor.data, 1, ev->u.monitor.len, stdout);
            out_check(b);
        }
        break;
    case EV_FINISHED:
        end_line(b);
        if (ev->u.finished.status == ED_OK) {
            if (b->op == ENGINE_OP_ERASE)
                /* "Erased the whole 4 MiB flash in 11.2 s" */
                out_line(b, "%c%s", toupper((unsigned char)
                                            ev->u.finished.message[0]),
                         ev->u.finished.message + 1);
            if (!b->done_printed) {
                job_summary(b);
                out_line(b, "Done!");
            }
            b->done_printed = true;
            if (b->o->verbose || b->op == ENGINE_OP_READ)
                fprintf(stderr, "espdeck: %s\n", ev->u.finished.message);
        } else if (ev->u.finished.status == ED_ERR_CANCELLED &&
                   (ev->u.finished.stage == STATE_CONNECTING ||
                    ev->u.finished.stage == STATE_STUB ||
                    ev->u.finished.stage == STATE_BAUD)) {
            /* the board was not written: nothing to finish */
            fprintf(stderr, "espdeck: %s: the board was not touched beyond "
                    "its reset\n", ev->u.finished.message);
        } else if (ev->u.finished.status == ED_ERR_CANCELLED &&
                   b->op == ENGINE_OP_FLASH &&
                   !strstr(ev->u.finished.message, "again")) {
            /* "cancelled before factory: 2 of 3 images written" */
            fprintf(stderr, "espdeck: %s: run the same command again to "
                    "finish\n", ev->u.finished.message);
        } else {
            fprintf(stderr, "espdeck: %s\n", ev->u.finished.message);
        }
        break;
    }
}

/* ------------------------------------------------------------------ */

int batch_exit_code(int status, enum engine_state stage)
{
    if (status == ED_OK)
        return 0;
    if (status == ED_ERR_CANCELLED)
        return EXIT_CANCELLED;
    if (status == ED_ERR_PROFILE)
        return EXIT_PROFILE;
    if (status == ED_ERR_NOMEM)
        return EXIT_INTERNAL;
    if (status == ED_ERR_ARG && stage != STATE_CONNECTING)
        return EXIT_USAGE;
    if (engine_failed_connecting(status, stage))
        return EXIT_CONNECT;
    return EXIT_WRITE;
}

/* The boot check decided: say so once (stderr, or a boot_check event). */
static void accept_say(struct batch *b)
{
    bool pass = accept_verdict(b->acc) == ACCEPT_PASS;

    if (b->acc_said || accept_verdict(b->acc) == ACCEPT_PENDING)
        return;
    b->acc_said = true;
    if (b->o->json) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            return;
        cJSON_AddStringToObject(o, "event", "boot_check");
        cJSON_AddStringToObject(o, "verdict", pass ? "PASS" : "FAIL");
        cJSON_AddStringToObject(o, "line", accept_line(b->acc));
        cJSON_AddStringToObject(o, "message", accept_message(b->acc));
        json_emit(b, o);
    } else {
        fprintf(stderr, "espdeck: boot check %s: %s\n",
                pass ? "passed" : "FAILED", accept_message(b->acc));
    }
}

static void handle_event(struct batch *b, struct engine *e,
                         const struct engine_event *ev)
{
    if (ev->kind == EV_STATE && ev->u.state.state == STATE_MONITORING) {
        b->monitoring = true;
        b->monitor_end_ms =
            clock_ms() + (int64_t)(b->o->monitor_seconds * 1000.0);
        if (b->acc)
            accept_begin(b->acc, clock_ms());
    }
    if (ev->kind == EV_MONITOR && b->acc && b->monitoring) {
        accept_feed(b->acc, ev->u.monitor.data, ev->u.monitor.len,
                    clock_ms());
    }
    if (ev->kind == EV_FINISHED) {
        b->finished = true;
        b->status = ev->u.finished.status;
        b->stage = ev->u.finished.stage;
        snprintf(b->message, sizeof b->message, "%s",
                 ev->u.finished.message);
    }
    if (b->o->json)
        json_event(b, ev);
    else
        text_event(b, ev);
    if (ev->kind == EV_MONITOR && b->acc)
        accept_say(b);
    (void)e;
}

int batch_run(struct engine *e, const struct batch_opts *o)
{
    const struct engine_job *job = engine_job(e);
    struct sigaction old_int, old_term;
    struct batch b;
    bool cancel_sent = false;
    size_t i;
    int rc;

    memset(&b, 0, sizeof b);
    b.o = o;
    b.op = job->op;
    b.start_ms = clock_ms();
    b.erase_offset = job->erase_offset;
    b.erase_size = job->erase_size;
    if (o->accept && job->monitor_after) {
        char why[ED_ERRMSG_MAX];

        if (accept_new(&b.acc, o->accept, why, sizeof why)) {
            batch_print_error(o->json, EXIT_PROFILE, "%s", why);
            return EXIT_PROFILE;
        }
    }
    /* names before the engine thread runs (it never changes them) */
    if (job->op == ENGINE_OP_READ || job->op == ENGINE_OP_ERASE) {
        b.n_parts = 1;
        snprintf(b.parts[0].name, sizeof b.parts[0].name, "flash");
        b.parts[0].offset = job->op == ENGINE_OP_READ ? job->read_offset
                                                      : job->erase_offset;
    } else {
        b.n_parts = job->n_images;
        for (i = 0; i < job->n_images; i++) {
            snprintf(b.parts[i].name, sizeof b.parts[i].name, "%s",
                     job->images[i].name);
            b.parts[i].offset = job->images[i].offset;
        }
    }
    for (i = 0; i < b.n_parts; i++) {
        b.parts[i].phase = PHASE_WAITING;
        b.parts[i].last_decile = -1;
    }

    batch_signals_begin(&old_int, &old_term);

    rc = engine_start(e);
    if (rc) {
        batch_print_error(o->json, EXIT_INTERNAL,
                          "could not start the engine thread: %s",
                          ed_strerror(rc));
        rc = EXIT_INTERNAL;
        goto out;
    }
    while (!b.finished) {
        struct pollfd pf[2];
        struct engine_event ev;
        int timeout = 200;

        pf[0].fd = engine_wake_fd(e);
        pf[0].events = POLLIN;
        pf[1].fd = batch_sig_pipe[0];
        pf[1].events = POLLIN;
        if (b.monitoring && !cancel_sent) {
            int left = clock_remaining_ms(b.monitor_end_ms);

            /* the boot check needs its output up to its verdict */
            if (b.acc && accept_tick(b.acc, clock_ms()) == ACCEPT_PENDING) {
                int acc_left = accept_remaining_ms(b.acc, clock_ms());

                if (acc_left > left)
                    left = acc_left;
            } else if (b.acc) {
                accept_say(&b);
            }
            /* nobody reads the target's output any more: stop */
            if (left == 0 || b.out_lost) {
                engine_command(e, ENGINE_CMD_STOP);
                cancel_sent = true;
            } else if (left < timeout) {
                timeout = left;
            }
        }
        poll(pf, batch_sig_pipe[0] >= 0 ? 2 : 1, timeout);
        if (batch_sigs && !cancel_sent) {
            char drain[16];

            while (read(batch_sig_pipe[0], drain, sizeof drain) > 0)
                ;
            cancel_sent = true;
            if (b.monitoring) {
                engine_command(e, ENGINE_CMD_STOP);
            } else {
                if (!o->json)
                    fprintf(stderr, "espdeck: cancelling (the current "
                            "block finishes first)...\n");
                engine_cancel(e);
            }
        }
        while (engine_poll(e, &ev))
            handle_event(&b, e, &ev);
        if (!b.finished && engine_finished(e)) {
            /* the thread ended: take what is left */
            while (engine_poll(e, &ev))
                handle_event(&b, e, &ev);
            if (!b.finished) {
                b.status = ED_ERR_IO;
                b.stage = STATE_IDLE;
                break;
            }
        }
    }
    rc = batch_exit_code(b.status, b.stage);
    if (rc == 0 && b.acc && b.monitoring) {
        if (accept_verdict(b.acc) == ACCEPT_PENDING) {
            fprintf(stderr, "espdeck: boot check not finished: monitoring "
                    "was stopped before a verdict\n");
            rc = EXIT_CANCELLED;
        } else if (accept_verdict(b.acc) != ACCEPT_PASS) {
            rc = BATCH_EXIT_BOOT;
        }
    }
    out_check(&b);
    if (b.out_lost) {
        fprintf(stderr, "espdeck: standard output failed (%s), so the rest "
                "of the output was dropped; the job went on to its end "
                "(%s): let the reader read to the end, or send the output "
                "to a file\n", strerror(b.out_errno),
                b.message[0] ? b.message : ed_strerror(b.status));
        if (rc == 0)
            rc = BATCH_EXIT_OUTPUT;
    }
out:
    batch_signals_end(&old_int, &old_term);
    accept_free(b.acc);
    return rc;
}

int batch_signals_begin(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;

    if (pipe2(batch_sig_pipe, O_NONBLOCK | O_CLOEXEC)) {
        batch_sig_pipe[0] = batch_sig_pipe[1] = -1;
    }
    batch_sigs = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
    /*
     * A reader that goes away (`| head -1`) must not kill us mid-flash:
     * writes then fail with EPIPE instead, and stay ignored until exit.
     */
    signal(SIGPIPE, SIG_IGN);
    return batch_sig_pipe[0];
}

unsigned batch_signals_count(void)
{
    char drain[16];

    if (batch_sig_pipe[0] >= 0)
        while (read(batch_sig_pipe[0], drain, sizeof drain) > 0)
            ;
    return (unsigned)batch_sigs;
}

void batch_signals_end(const struct sigaction *old_int,
                       const struct sigaction *old_term)
{
    sigaction(SIGINT, old_int, NULL);
    sigaction(SIGTERM, old_term, NULL);
    if (batch_sig_pipe[0] >= 0) {
        close(batch_sig_pipe[0]);
        close(batch_sig_pipe[1]);
        batch_sig_pipe[0] = batch_sig_pipe[1] = -1;
    }
}

int batch_profile_job(struct engine_job *job, struct profile *p,
                      const struct engine_job *cli, bool json)
{
    char err[ED_ERRMSG_MAX] = "";
    int rc;

    engine_job_init(job);
    rc = profile_to_job(p, cli->port[0] ? cli->port : NULL, job, err,
                        sizeof err);
    if (rc) {
        engine_job_clear(job);
        batch_print_error(json, EXIT_PROFILE, "%s", err);
        return EXIT_PROFILE;
    }
    job->op = ENGINE_OP_FLASH;
    job->write_retries = cli->write_retries;
    job->write_retries_total = cli->write_retries_total;
    job->no_stub = cli->no_stub;
    job->force = cli->force;
    job->no_compress = cli->no_compress;
    job->log_level = cli->log_level;
    snprintf(job->stub_dir, sizeof job->stub_dir, "%s", cli->stub_dir);
    return 0;
}

int batch_load_user_config(struct profile_user_config *cfg, bool json)
{
    char err[ED_ERRMSG_MAX];

    if (profile_user_config(cfg, err, sizeof err) != ED_OK) {
        batch_print_error(json, EXIT_PROFILE, "%s (your per-user "
                          "defaults)", err);
        return EXIT_PROFILE;
    }
    return 0;
}

int batch_user_config(struct engine_job *job, const struct batch_opts *o,
                      bool use_baud)
{
    struct profile_user_config cfg;
    int rc = batch_load_user_config(&cfg, o->json);

    if (rc)
        return rc;
    if (cfg.port[0] && (!job->port[0] || !strcmp(job->port, "auto")))
        snprintf(job->port, sizeof job->port, "%s", cfg.port);
    if (use_baud && cfg.baud && !o->baud_given)
        job->baud = cfg.baud;
    return 0;
}

int batch_run_job(struct engine_job *job, const struct batch_opts *o)
{
    struct engine *e = NULL;
    char err[ED_ERRMSG_MAX] = "";
    int rc, code;

    if (o->monitor_seconds > 0)
        job->monitor_after = true;
    if (!batch_resolve_port(job, o->json)) {
        engine_job_clear(job);
        return EXIT_CONNECT;
    }
    rc = engine_new(&e, job, err, sizeof err);
    if (rc) {
        engine_job_clear(job);
        code = rc == ED_ERR_PROFILE ? EXIT_PROFILE : EXIT_USAGE;
        batch_print_error(o->json, code, "%s", err);
        return code;
    }
    rc = batch_run(e, o);
    engine_free(e);
    engine_job_clear(job);
    return rc;
}

/* ------------------------------------------------------------------ */
/* command-line helpers                                                */

bool batch_parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    unsigned long long mul = 1;

    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (*end) {
        if (!strcasecmp(end, "k") || !strcasecmp(end, "kb") ||
            !strcasecmp(end, "kib"))
            mul = 1024;
        else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb") ||
                 !strcasecmp(end, "mib"))
            mul = 1024 * 1024;
        else
            return false;
    }
    v *= mul;
    if (v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

const char *batch_opt(int argc, char **argv, int *i, const char *opt,
                      bool *missing)
{
    size_t n = strlen(opt);

    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Does v read as reset steps rather than a (misspelt) mode name? */
static bool looks_like_sequence(const char *v)
{
    const char *ops = "DRUWdruw";

    if (strchr(v, '|'))
        return true;
    return v[0] && strchr(ops, v[0]) &&
           (v[1] == '.' || (v[1] >= '0' && v[1] <= '9'));
}

int batch_parse_before(const char *v, enum port_before *before, char *seq,
                       size_t seqlen, char *err, size_t errlen)
{
    char why[ED_ERRMSG_MAX];

    if (port_parse_before(v, before) == ED_OK) {
        if (seqlen)
            seq[0] = '\0';
        return ED_OK;
    }
    if (port_reset_check(v, why, sizeof why) == ED_OK) {
        if (strlen(v) >= seqlen)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "--before sequence '%s' is too long: at most "
                             "%zu characters",
                             v, seqlen ? seqlen - 1 : 0);
        snprintf(seq, seqlen, "%s", v);
        *before = BEFORE_DEFAULT_RESET;
        return ED_OK;
    }
    if (looks_like_sequence(v))
        return ed_seterr(err, errlen, ED_ERR_ARG, "--before: %s", why);
    return ed_seterr(err, errlen, ED_ERR_ARG,
                     "unknown --before mode '%s': use default-reset, "
                     "usb-reset, no-reset, no-reset-no-sync or an "
                     "esptool-style sequence such as "
                     "D0|R1|W0.1|D1|R0|W0.05|D0",
                     v);
}

static const char *need_value(int argc, char **argv, int *i, const char *cmd)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "espdeck %s: %s needs a value (espdeck --help)\n",
                cmd, argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

int batch_parse_baud(const char *cmd, const char *v, uint32_t *out)
{
    char why[ED_ERRMSG_MAX];
    uint32_t b;

    if (!strcmp(v, "auto")) {
        *out = ENGINE_BAUD_AUTO;
        return 0;
    }
    if (!batch_parse_u32(v, &b)) {
        fprintf(stderr, "espdeck %s: --baud '%s' is not a baud rate "
                "(115200, 460800, 921600, ..., or auto)\n", cmd, v);
        return -1;
    }
    /* before the board is touched */
    if (chip_baud_check(b, "--baud", why, sizeof why)) {
        fprintf(stderr, "espdeck %s: %s\n", cmd, why);
        return -1;
    }
    *out = b;
    return 0;
}
int batch_common_option(int argc, char **argv, int *i, struct engine_job *job,
                        struct batch_opts *o, const char *cmd)
{
    const char *a = argv[*i], *v;

    if (!strcmp(a, "--json")) {
        o->json = true;
        return 1;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
        o->verbose = true;
        job->log_level = ED_LOG_DEBUG;
        return 1;
    }
    if (!strcmp(a, "--no-stub")) {
        job->no_stub = true;
        return 1;
    }
    if (!strcmp(a, "--port") || !strcmp(a, "-p")) {
        if (!(v = need_value(argc, argv, i, cmd)))
            return -1;
        snprintf(job->port, sizeof job->port, "%s", v);
        return 1;
    }
    if (!strcmp(a, "--baud") || !strcmp(a, "-b")) {
        if (!(v = need_value(argc, argv, i, cmd)) ||
            batch_parse_baud(cmd, v, &job->baud) != 0)
            return -1;
        o->baud_given = true;
        return 1;
    }
    if (!strcmp(a, "--before")) {
        char why[ED_ERRMSG_MAX];

        if (!(v = need_value(argc, argv, i, cmd)))
            return -1;
        if (batch_parse_before(v, &job->before, job->reset_seq,
                               sizeof job->reset_seq, why, sizeof why)) {
            fprintf(stderr, "espdeck %s: %s\n", cmd, why);
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--after")) {
        if (!(v = need_value(argc, argv, i, cmd)))
            return -1;
        if (port_parse_after(v, &job->after)) {
            fprintf(stderr, "espdeck %s: --after '%s': use hard-reset, "
                    "soft-reset, no-reset, no-reset-stub or "
                    "watchdog-reset\n", cmd, v);
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--stub-dir")) {
        if (!(v = need_value(argc, argv, i, cmd)))
            return -1;
        snprintf(job->stub_dir, sizeof job->stub_dir, "%s", v);
        return 1;
    }
    return 0;
}

bool batch_resolve_port(struct engine_job *job, bool json)
{
    struct port_info *list = NULL;
    char err[ED_ERRMSG_MAX] = "", names[256] = "";
    const char *pick = NULL;
    int n, i, esp = 0;

    if (job->port[0] && strcmp(job->port, "auto"))
        return true;
    n = port_list(&list, err, sizeof err);
    if (n < 0) {
        batch_print_error(json, EXIT_CONNECT,
                          "cannot list serial ports (%s): give --port", err);
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!list[i].bridge)
            continue;
        esp++;
        pick = list[i].name;
        if (strlen(names) + strlen(list[i].name) + 3 < sizeof names) {
            if (names[0])
                strcat(names, ", ");
            strcat(names, list[i].name);
        }
    }
    if (esp == 1) {
        snprintf(job->port, sizeof job->port, "%s", pick);
        free(list);
        return true;
    }
    if (esp == 0)
        batch_print_error(json, EXIT_CONNECT,
                          "no serial port with an ESP USB bridge found: "
                          "plug the board in, or give --port (for example "
                          "--port /dev/ttyUSB0 or --port sim:esp32)");
    else
        batch_print_error(json, EXIT_CONNECT,
                          "%d boards found (%s): choose one with --port", esp,
                          names);
    free(list);
    return false;
}
