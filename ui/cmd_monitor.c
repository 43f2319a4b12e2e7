/*
 * cmd_monitor.c - `espdeck monitor --port URL [--baud N] [--eol E]`: the
 * console's serial monitor alone (no flashing, no reset on open).
 *
 * With a standard input or output that is not a terminal it runs without
 * the screen, for scripts: standard input goes to the target (each LF sent
 * as the --eol line end), the target's bytes go to standard output as they
 * come, until SIGINT/SIGTERM, --seconds N, or the port going away.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "console.h"
#include "profile.h"
#include "elfsym.h"
#include "engine.h"
#include "panic.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: espdeck monitor --port URL [--baud N] [--eol CR|LF|CRLF]"
               " [--elf FILE]\n               [--seconds N]\n"
               "Shows the target's output and types into it; F1 lists the "
               "keys, Ctrl-] quits.\n"
               "Without a terminal: standard input goes to the target, its "
               "output to standard\noutput (until Ctrl-C or --seconds N).\n");
}

/* The signal handler can only reach process-wide state: one flag. */
static volatile sig_atomic_t pipe_stop;

static void on_signal(int sig)
{
    (void)sig;
    pipe_stop = 1;
}

/* stdin bytes for the target, LF as the line end; returns the length. */
static size_t to_eol(uint8_t *out, const uint8_t *in, size_t n,
                     const char *eol)
{
    size_t i, k = 0, el = strlen(eol);

    for (i = 0; i < n; i++) {
        if (in[i] == '\n') {
            memcpy(out + k, eol, el);
            k += el;
        } else {
            out[k++] = in[i];
        }
    }
    return k;
}

static int write_out(const uint8_t *b, size_t n)
{
    return fwrite(b, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : -1;
}

/* Lines of the target's output, for decoding panics (--elf). */
struct pipe_lines {
    struct elfsym *elf;
    struct panic_scan ps;
    char line[512];
    size_t len;
    int esc;            /* 0 text, 1 after ESC, 2 in a CSI sequence */
};

static void emit_line(void *ctx, const char *text)
{
    (void)ctx;
    printf("%s\n", text);
}

/* Text of each line without CR and escape codes; decoded after its LF. */
static void pipe_decode(struct pipe_lines *pl, const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; pl->elf && i < n; i++) {
        uint8_t c = b[i];

        if (pl->esc == 1) {
            pl->esc = c == '[' ? 2 : 0;
        } else if (pl->esc == 2) {
            if (c >= 0x40 && c <= 0x7e)
                pl->esc = 0;
        } else if (c == 0x1b) {
            pl->esc = 1;
        } else if (c == '\n') {
            pl->line[pl->len] = '\0';
            panic_decode_line(&pl->ps, pl->elf, pl->line, emit_line, NULL);
            pl->len = 0;
        } else if (c >= 0x20 && pl->len + 1 < sizeof pl->line) {
            pl->line[pl->len++] = (char)c;
        }
    }
}

/* The target's bytes to stdout; with --elf each line that ends here is
 * followed by its decoded addresses (under the panic's line). */
static int pipe_out(struct pipe_lines *pl, const uint8_t *b, size_t n)
{
    size_t i, from = 0;

    for (i = 0; pl->elf && i < n; i++)
        if (b[i] == '\n') {
            if (write_out(b + from, i + 1 - from) < 0)
                return -1;
            pipe_decode(pl, b + from, i + 1 - from);
            from = i + 1;
        }
    if (from < n) {
        if (write_out(b + from, n - from) < 0)
            return -1;
        pipe_decode(pl, b + from, n - from);
    }
    return 0;
}

/* The monitor without a screen; returns the exit code. */
static int monitor_pipe(const struct console_opts *o, double seconds)
{
    struct engine_job job;
    struct engine *e = NULL;
    struct engine_event ev;
    struct sigaction sa, old_int, old_term;
    const char *eol = console_eol_bytes(o->eol);
    uint8_t pend[2 * 4096];
    size_t pend_len = 0, pend_off = 0;
    bool in_open = true, done = false;
    int64_t t_end = seconds > 0 ? clock_ms() + (int64_t)(seconds * 1000) : 0;
    char err[ED_ERRMSG_MAX];
    int code = EXIT_OK_;
    struct pipe_lines pl;

    memset(&pl, 0, sizeof pl);
    if (o->elf && elfsym_open(&pl.elf, o->elf, err, sizeof err) != ED_OK)
        fprintf(stderr, "espdeck: %s; panics are shown undecoded\n", err);

    engine_job_init(&job);
    job.op = ENGINE_OP_MONITOR;
    snprintf(job.port, sizeof job.port, "%s", o->port);
    job.monitor_baud = o->monitor_baud ? o->monitor_baud : 115200;
    if (engine_new(&e, &job, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck: %s\n", err);
        engine_job_clear(&job);
        return EXIT_CONNECT;
    }
    engine_job_clear(&job);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN);
    if (engine_start(e) != ED_OK) {
        fprintf(stderr, "espdeck: could not start the engine thread\n");
        code = EXIT_INTERNAL;
        goto out;
    }
    while (!done && !pipe_stop) {
        struct pollfd fds[2];
        int nfds = 1, timeout = 100;

        fds[0].fd = engine_wake_fd(e);
        fds[0].events = POLLIN;
        if (in_open && pend_off == pend_len) {
            fds[1].fd = STDIN_FILENO;
            fds[1].events = POLLIN;
            nfds = 2;
        }
        if (pend_off < pend_len)
            timeout = 20; /* the engine's queue was full: try again soon */
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR)
            break;
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP))) {
            uint8_t in[4096];
            ssize_t n = read(STDIN_FILENO, in, sizeof in);

            if (n > 0) {
                pend_len = to_eol(pend, in, (size_t)n, eol);
                pend_off = 0;
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                in_open = false; /* the output goes on until stopped */
            }
        }
        if (pend_off < pend_len)
            pend_off += engine_send(e, pend + pend_off, pend_len - pend_off);
        while (engine_poll(e, &ev)) {
            if (ev.kind == EV_MONITOR) {
                if (pipe_out(&pl, ev.u.monitor.data, ev.u.monitor.len) < 0)
                    done = true; /* nobody reads the output any more */
            } else if (ev.kind == EV_LOG && ev.u.log.level <= ED_LOG_WARN) {
                fprintf(stderr, "espdeck: %s\n", ev.u.log.text);
            } else if (ev.kind == EV_FINISHED) {
                if (ev.u.finished.status != ED_OK) {
                    fprintf(stderr, "espdeck: %s\n", ev.u.finished.message);
                    code = EXIT_CONNECT;
                }
                done = true;
            }
        }
        if (t_end && clock_ms() >= t_end)
            break;
    }
out:
    engine_free(e);
    elfsym_close(pl.elf);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return code;
}

int cmd_monitor(int argc, char **argv)
{
    struct console_opts o;
    double seconds = 0;
    int i;

    memset(&o, 0, sizeof o);
    o.monitor_only = true;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if ((!strcmp(a, "--port") || !strcmp(a, "-p")) && i + 1 < argc) {
            o.port = argv[++i];
        } else if (!strncmp(a, "--port=", 7)) {
            o.port = a + 7;
        } else if ((!strcmp(a, "--baud") || !strcmp(a, "-b")) &&
                   i + 1 < argc) {
            char *end;
            unsigned long b = strtoul(argv[++i], &end, 10);

            if (*end || b < 300 || b > 12000000) {
                fprintf(stderr, "espdeck: bad baud rate '%s' (a number such "
                                "as 115200)\n", argv[i]);
                return EXIT_USAGE;
            }
            o.monitor_baud = (uint32_t)b;
        } else if (!strcmp(a, "--eol") && i + 1 < argc) {
            o.eol = argv[++i];
            if (!console_eol_ok(o.eol))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--elf") && i + 1 < argc) {
            o.elf = argv[++i];
        } else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            char *end;

            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0)) {
                fprintf(stderr, "espdeck: bad --seconds '%s' (a number of "
                                "seconds such as 5)\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK_;
        } else {
            fprintf(stderr, "espdeck: unknown monitor argument '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!o.port) {
        /* the per-user default port */
        static struct profile_user_config cfg;
        char err[ED_ERRMSG_MAX];

        if (profile_user_config(&cfg, err, sizeof err) != ED_OK) {
            fprintf(stderr, "espdeck: %s (your per-user defaults)\n", err);
            return EXIT_PROFILE;
        }
        if (cfg.port[0])
            o.port = cfg.port;
    }
    if (!o.port) {
        fprintf(stderr, "espdeck: monitor needs a port: add --port URL "
                        "(/dev/ttyUSB0, socket://HOST:PORT, sim:esp32)\n");
        return EXIT_USAGE;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || seconds > 0)
        return monitor_pipe(&o, seconds);
    return console_run(&o);
}
