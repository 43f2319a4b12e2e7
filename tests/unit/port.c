/*
 * Unit tests of src/port/port.c (names, reset sequences, plans), the serial
 * backend's error sentences and pty path, and socket://.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "port.h"
#include "test.h"

/* ---- a fake port that records what the reset code does ---- */

struct call {
    int dtr, rts;
    int64_t at_ms;
};

struct fake {
    struct port base;
    struct call calls[64];
    int ncalls;
    char log[64][64];
    int nlog;
    char title[128]; /* "reset classic 50 ms: D0|R1|..." */
};

static int fake_set_lines(struct port *p, int dtr, int rts)
{
    struct fake *f = (struct fake *)p;
    if (f->ncalls < 64) {
        f->calls[f->ncalls].dtr = dtr;
        f->calls[f->ncalls].rts = rts;
        f->calls[f->ncalls].at_ms = clock_ms();
        f->ncalls++;
    }
    return ED_OK;
}

static const struct port_ops fake_ops = {
    .set_lines = fake_set_lines,
};

static void fake_log(void *ctx, enum log_level level, const char *msg)
{
    struct fake *f = ctx;
    (void)level;
    if (f->nlog < 64 && !strncmp(msg, "reset: ", 7))
        snprintf(f->log[f->nlog++], sizeof f->log[0], "%s", msg + 7);
    else if (!strncmp(msg, "reset ", 6))
        snprintf(f->title, sizeof f->title, "%s", msg);
}

static void fake_init(struct fake *f, enum port_kind kind, bool lines)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &fake_ops;
    f->base.kind = kind;
    f->base.has_lines = lines;
    f->base.log.write = fake_log;
    f->base.log.ctx = f;
    f->base.log.max_level = ED_LOG_TRACE;
    snprintf(f->base.url, sizeof f->base.url, "fake");
}

/* "0,-1 -1,1 ..." from the recorded calls */
static void calls_str(const struct fake *f, char *buf, size_t len)
{
    size_t used = 0;
    int i;
    buf[0] = '\0';
    for (i = 0; i < f->ncalls && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d,%d",
                                 i ? " " : "", f->calls[i].dtr,
                                 f->calls[i].rts);
}

static void log_str(const struct fake *f, char *buf, size_t len)
{
    size_t used = 0;
    int i;
    buf[0] = '\0';
    for (i = 0; i < f->nlog && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i ? "|" : "", f->log[i]);
}

/* ---- custom sequences ---- */

void test_port__custom_sequence_parses(void)
{
    struct port_reset_step st[PORT_RESET_MAX_STEPS];
    char err[256];
    int n;

    n = port_reset_parse(st, PORT_RESET_MAX_STEPS,
                         "D0|R1|W0.1|D1|R0|W0.05|D0", err, sizeof err);
    T_EQ_INT(n, 7);
    T_EQ_INT(st[0].op, 'D');
    T_EQ_INT(st[0].dtr, 0);
    T_EQ_INT(st[0].rts, -1);
    T_EQ_INT(st[1].op, 'R');
    T_EQ_INT(st[1].rts, 1);
    T_EQ_INT(st[1].dtr, -1);
    T_EQ_INT(st[2].op, 'W');
    T_EQ_INT(st[2].wait_ms, 100);
    T_EQ_INT(st[5].wait_ms, 50);
    T_EQ_INT(st[6].dtr, 0);

    n = port_reset_parse(st, PORT_RESET_MAX_STEPS, " U0,1 | w.55 |U1,0",
                         err, sizeof err);
    T_EQ_INT(n, 3);
    T_EQ_INT(st[0].op, 'U');
    T_EQ_INT(st[0].dtr, 0);
    T_EQ_INT(st[0].rts, 1);
    T_EQ_INT(st[1].wait_ms, 550);
    T_EQ_INT(st[2].dtr, 1);
    T_EQ_INT(st[2].rts, 0);
    T_EQ_INT(port_reset_check("R1|W1|R0", err, sizeof err), ED_OK);
}

void test_port__custom_sequence_rejects(void)
{
    static const struct {
        const char *seq, *token;
    } bad[] = {
        {"D0|D2|R1", "'D2'"},   {"X1", "'X1'"},     {"D0|W", "'W'"},
        {"Wabc", "'Wabc'"},     {"U0", "'U0'"},     {"U0,2", "'U0,2'"},
        {"D0||R1", "''"},       {"W-1", "'W-1'"},   {"W11", "'W11'"},
        {"D01", "'D01'"},
    };
    char err[256];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        T_EQ_INT(port_reset_check(bad[i].seq, err, sizeof err), ED_ERR_ARG);
        T_CONTAINS(err, bad[i].token);
        T_CONTAINS(err, "use D0/D1");
    }
    T_EQ_INT(port_reset_check("", err, sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "empty reset sequence");
}

void test_port__custom_sequence_too_long(void)
{
    char seq[400] = "D0";
    char err[256];
    int i;

    for (i = 0; i < PORT_RESET_MAX_STEPS; i++)
        strcat(seq, "|D1");
    T_EQ_INT(port_reset_check(seq, err, sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "too long");
}

/* ---- before / after ---- */

void test_port__before_after_names(void)
{
    enum port_before b;
    enum port_after a;

    T_EQ_INT(port_parse_before("default-reset", &b), ED_OK);
    T_EQ_INT(b, BEFORE_DEFAULT_RESET);
    T_EQ_INT(port_parse_before("usb_reset", &b), ED_OK);
    T_EQ_INT(b, BEFORE_USB_RESET);
    T_EQ_INT(port_parse_before("no-reset", &b), ED_OK);
    T_EQ_INT(b, BEFORE_NO_RESET);
    T_EQ_INT(port_parse_before("NO_RESET_NO_SYNC", &b), ED_OK);
    T_EQ_INT(b, BEFORE_NO_RESET_NO_SYNC);
    T_EQ_INT(port_parse_before("reset", &b), ED_ERR_ARG);
    T_EQ_INT(port_parse_before("no-reset-", &b), ED_ERR_ARG);
    T_EQ_INT(port_parse_before("", &b), ED_ERR_ARG);

    T_EQ_INT(port_parse_after("hard_reset", &a), ED_OK);
    T_EQ_INT(a, AFTER_HARD_RESET);
    T_EQ_INT(port_parse_after("soft-reset", &a), ED_OK);
    T_EQ_INT(a, AFTER_SOFT_RESET);
    T_EQ_INT(port_parse_after("no-reset", &a), ED_OK);
    T_EQ_INT(a, AFTER_NO_RESET);
    T_EQ_INT(port_parse_after("no_reset_stub", &a), ED_OK);
    T_EQ_INT(a, AFTER_NO_RESET_STUB);
    T_EQ_INT(port_parse_after("no-reset-no-stub", &a), ED_OK);
    T_EQ_INT(a, AFTER_NO_RESET_STUB);
    T_EQ_INT(port_parse_after("watchdog-reset", &a), ED_OK);
    T_EQ_INT(a, AFTER_WATCHDOG_RESET);
    T_EQ_INT(port_parse_after("hard-rest", &a), ED_ERR_ARG);

    T_EQ_STR(port_before_name(BEFORE_NO_RESET_NO_SYNC), "no-reset-no-sync");
    T_EQ_STR(port_after_name(AFTER_NO_RESET_STUB), "no-reset-stub");
    T_EQ_STR(port_after_name(AFTER_WATCHDOG_RESET), "watchdog-reset");
}

/* ---- plans ---- */

static void plan_names(struct fake *f, enum port_before b, char *buf,
                       size_t len)
{
    const char *seqs[8];
    size_t used = 0;
    int n = port_reset_plan(&f->base, b, seqs, 8), i;

    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i ? "; " : "", port_reset_seq_name(seqs[i]));
        if (port_reset_check(seqs[i], NULL, 0) != ED_OK)
            snprintf(buf, len, "bad sequence %s", seqs[i]);
    }
}

void test_port__reset_plan_per_kind(void)
{
    struct fake f;
    char got[256];
    const char *seqs[2];

    fake_init(&f, PORT_SERIAL, true);
    plan_names(&f, BEFORE_DEFAULT_RESET, got, sizeof got);
    T_EQ_STR(got, "unix-tight 50 ms; unix-tight 550 ms; classic 50 ms; "
                  "classic 550 ms");
    /* A short array gets the first ones. */
    T_EQ_INT(port_reset_plan(&f.base, BEFORE_DEFAULT_RESET, seqs, 2), 2);
    T_EQ_STR(port_reset_seq_name(seqs[1]), "unix-tight 550 ms");
    plan_names(&f, BEFORE_USB_RESET, got, sizeof got);
    T_EQ_STR(got, "usb-jtag-serial");
    plan_names(&f, BEFORE_NO_RESET, got, sizeof got);
    T_EQ_STR(got, "");
    plan_names(&f, BEFORE_NO_RESET_NO_SYNC, got, sizeof got);
    T_EQ_STR(got, "");

    f.base.usb_jtag = true;
    plan_names(&f, BEFORE_DEFAULT_RESET, got, sizeof got);
    T_EQ_STR(got, "usb-jtag-serial");

    fake_init(&f, PORT_RFC2217, true);
    plan_names(&f, BEFORE_DEFAULT_RESET, got, sizeof got);
    T_EQ_STR(got, "classic 50 ms; classic 550 ms");

    fake_init(&f, PORT_SOCKET, false);
    plan_names(&f, BEFORE_DEFAULT_RESET, got, sizeof got);
    T_EQ_STR(got, "");
    plan_names(&f, BEFORE_USB_RESET, got, sizeof got);
    T_EQ_STR(got, "");

    /* A pseudo-terminal is a serial port without lines. */
    fake_init(&f, PORT_SERIAL, false);
    plan_names(&f, BEFORE_DEFAULT_RESET, got, sizeof got);
    T_EQ_STR(got, "");
}

/* ---- running sequences ---- */

void test_port__classic_reset_transitions(void)
{
    struct fake f;
    char got[512];
    int i;

    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_classic(&f.base, 50), ED_OK);
    calls_str(&f, got, sizeof got);
    /* Every RTS write is followed by the current DTR again. */
    T_EQ_STR(got, "0,-1 -1,1 0,-1 1,-1 -1,0 1,-1 0,-1");
    log_str(&f, got, sizeof got);
    T_EQ_STR(got, "DTR=0|RTS=1|wait 100 ms|DTR=1|RTS=0|wait 50 ms|DTR=0");
    /* The same sequence the plan uses, so logs name it the same way. */
    T_EQ_STR(f.title, "reset classic 50 ms: D0|R1|W0.1|D1|R0|W0.05|D0");
    T_EQ_INT(f.base.dtr, 0);
    T_EQ_INT(f.base.rts, 0);
    /* The waits happened between the right transitions (lower bounds). */
    T_ASSERT(f.calls[3].at_ms - f.calls[2].at_ms >= 100);
    T_ASSERT(f.calls[6].at_ms - f.calls[5].at_ms >= 50);
    for (i = 1; i < f.ncalls; i++)
        T_ASSERT(f.calls[i].at_ms >= f.calls[i - 1].at_ms);
}

void test_port__unix_tight_reset_sets_both_at_once(void)
{
    struct fake f;
    char got[512];

    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_unix_tight(&f.base, 550), ED_OK);
    calls_str(&f, got, sizeof got);
    T_EQ_STR(got, "0,0 1,1 0,1 1,0 0,0 0,-1");
    log_str(&f, got, sizeof got);
    T_EQ_STR(got, "DTR=0 RTS=0|DTR=1 RTS=1|DTR=0 RTS=1|wait 100 ms|"
                  "DTR=1 RTS=0|wait 550 ms|DTR=0 RTS=0|DTR=0");
    T_ASSERT(f.calls[4].at_ms - f.calls[3].at_ms >= 550);
    T_EQ_STR(f.title,
             "reset unix-tight 550 ms: U0,0|U1,1|U0,1|W0.1|U1,0|W0.55|U0,0|D0");
    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_unix_tight(&f.base, 1000), ED_OK);
    T_CONTAINS(f.title, "|W1|");
}

void test_port__usb_jtag_and_hard_reset(void)
{
    struct fake f;
    char got[512];

    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_usb_jtag(&f.base), ED_OK);
    log_str(&f, got, sizeof got);
    T_EQ_STR(got, "RTS=0|DTR=0|wait 100 ms|DTR=1|RTS=0|wait 100 ms|RTS=1|"
                  "DTR=0|RTS=1|wait 100 ms|DTR=0|RTS=0");
    T_EQ_INT(f.base.dtr, 0);
    T_EQ_INT(f.base.rts, 0);

    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_hard(&f.base), ED_OK);
    log_str(&f, got, sizeof got);
    T_EQ_STR(got, "DTR=0|RTS=1|wait 100 ms|RTS=0");

    fake_init(&f, PORT_SERIAL, true);
    f.base.usb_jtag = true;
    T_EQ_INT(port_reset_hard(&f.base), ED_OK);
    log_str(&f, got, sizeof got);
    T_EQ_STR(got, "DTR=0|RTS=1|wait 200 ms|RTS=0|wait 200 ms");
}

void test_port__custom_reset_runs_and_rejects(void)
{
    struct fake f;
    char got[512];

    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_custom(&f.base, "U1,1|W0.01|R0|D0"), ED_OK);
    calls_str(&f, got, sizeof got);
    T_EQ_STR(got, "1,1 -1,0 1,-1 0,-1");
    fake_init(&f, PORT_SERIAL, true);
    T_EQ_INT(port_reset_custom(&f.base, "D1|Q7"), ED_ERR_ARG);
    T_CONTAINS(port_errmsg(&f.base), "'Q7'");
    /* Nothing runs from a malformed sequence. */
    T_EQ_INT(f.ncalls, 0);
}

/* ---- bridges ---- */

void test_port__bridge_names(void)
{
    T_EQ_STR(port_bridge_name(0x10C4, 0xEA60), "CP210x");
    T_EQ_STR(port_bridge_name(0x1A86, 0x7523), "CH340");
    T_EQ_STR(port_bridge_name(0x1A86, 0x55D4), "CH9102");
    T_CONTAINS(port_bridge_name(0x0403, 0x6010), "FTDI");
    T_EQ_STR(port_bridge_name(0x303A, 0x1001), "USB-Serial/JTAG");
    T_CONTAINS(port_bridge_name(0x303A, 0x0002), "USB-OTG");
    T_ASSERT(port_bridge_name(0x1234, 0x5678) == NULL);
}

/* ---- serial: error sentences, pty path ---- */

void test_port__serial_not_found(void)
{
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];

    T_EQ_INT(port_open(&p, "/dev/does-not-exist", 115200, NULL, err,
                       sizeof err),
             ED_ERR_NOT_FOUND);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "no serial port /dev/does-not-exist");
    T_CONTAINS(err, "espdeck ports");
}

void test_port__serial_not_a_serial_port(void)
{
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/hostname", t_tmpdir());
    f = fopen(path, "w");
    T_ASSERT(f != NULL);
    fputs("board\n", f);
    fclose(f);
    T_EQ_INT(port_open(&p, path, 115200, NULL, err, sizeof err), ED_ERR_ARG);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "is not a serial port (a regular file)");
    if (access("/etc/hostname", R_OK) == 0) {
        T_EQ_INT(port_open(&p, "/etc/hostname", 115200, NULL, err,
                           sizeof err),
                 ED_ERR_ARG);
        T_CONTAINS(err, "/etc/hostname is not a serial port");
    }
    /* A character device that is not a terminal. */
    T_EQ_INT(port_open(&p, "/dev/null", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "/dev/null is not a serial port");
    T_EQ_INT(port_open(&p, "/tmp", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "a directory");
}

void test_port__unknown_scheme(void)
{
    struct port *p;
    char err[ED_ERRMSG_MAX];

    T_EQ_INT(port_open(&p, "tcp://1.2.3.4:5", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "unknown port scheme 'tcp://'");
    T_EQ_INT(port_open(&p, "", 115200, NULL, err, sizeof err), ED_ERR_ARG);
    T_CONTAINS(err, "no port given");
}

static int open_pty(char *name, size_t len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return -1;
    snprintf(name, len, "%s", ptsname(m));
    return m;
}

void test_port__serial_busy_names_holder(void)
{
    struct port *a = NULL, *b = (struct port *)1;
    char name[128], err[ED_ERRMSG_MAX], want[64];
    int m = open_pty(name, sizeof name);

    T_ASSERT(m >= 0);
    T_EQ_INT(port_open(&a, name, 115200, NULL, err, sizeof err), ED_OK);
    T_EQ_INT(port_open(&b, name, 115200, NULL, err, sizeof err), ED_ERR_BUSY);
    T_ASSERT(b == NULL);
    snprintf(want, sizeof want, "(pid %ld)", (long)getpid());
    T_CONTAINS(err, "is busy: held by ");
    T_CONTAINS(err, want);
    /* Free again once the first user is gone. */
    port_close(a);
    T_EQ_INT(port_open(&b, name, 115200, NULL, err, sizeof err), ED_OK);
    port_close(b);
    close(m);
}

/*
 * A child that opens path (and locks it when lock is set), says so on a
 * pipe and waits to be killed.  Its pid, or -1.
 */
static pid_t hold_in_child(const char *path, int lock)
{
    int fds[2];
    char c;
    pid_t pid;

    if (pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDWR | O_NOCTTY);

        close(fds[0]);
        if (fd < 0 || (lock && flock(fd, LOCK_EX | LOCK_NB) < 0))
            _exit(1);
        if (write(fds[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], &c, 1) != 1) {
        close(fds[0]);
        return -1;
    }
    close(fds[0]);
    return pid;
}

void test_port__serial_busy_names_locker_not_opener(void)
{
    struct port *b = (struct port *)1;
    char name[128], err[ED_ERRMSG_MAX], want[64];
    int m = open_pty(name, sizeof name);
    pid_t opener, locker;

    T_ASSERT(m >= 0);
    /* The first process only has it open; the second holds the lock. */
    opener = hold_in_child(name, 0);
    T_ASSERT(opener > 0);
    locker = hold_in_child(name, 1);
    T_ASSERT(locker > 0);
    T_EQ_INT(port_open(&b, name, 115200, NULL, err, sizeof err), ED_ERR_BUSY);
    T_ASSERT(b == NULL);
    kill(opener, SIGKILL);
    kill(locker, SIGKILL);
    waitpid(opener, NULL, 0);
    waitpid(locker, NULL, 0);
    snprintf(want, sizeof want, "(pid %ld)", (long)locker);
    T_CONTAINS(err, "is busy: held by ");
    T_CONTAINS(err, want);
    close(m);
}

void test_port__serial_tty_without_line_settings(void)
{
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];
    int fd;

    /* A virtual console: a tty, but no serial line (tcgetattr ENOTTY). */
    fd = open("/dev/tty0", O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        T_SKIP("/dev/tty0 cannot be opened here, so there is no virtual "
               "console to try");
    close(fd);
    T_EQ_INT(port_open(&p, "/dev/tty0", 115200, NULL, err, sizeof err),
             ED_ERR_ARG);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "/dev/tty0 is not a serial port (");
    T_CONTAINS(err, "espdeck ports lists the ports it sees");
}

void test_port__serial_permission_denied(void)
{
    struct port *p = (struct port *)1;
    char name[128], err[ED_ERRMSG_MAX];
    int m;

    if (geteuid() == 0)
        T_SKIP("running as root: root may open any device, so there is no "
               "permission error to provoke");
    m = open_pty(name, sizeof name);
    T_ASSERT(m >= 0);
    T_EQ_INT(chmod(name, 0), 0);
    T_EQ_INT(port_open(&p, name, 115200, NULL, err, sizeof err),
             ED_ERR_PERM);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "permission denied on ");
    close(m);
}

void test_port__serial_pty_read_write_and_hangup(void)
{
    struct port *p;
    char name[128], err[ED_ERRMSG_MAX];
    uint8_t buf[64];
    int m = open_pty(name, sizeof name), n;
    struct pollfd pfd;

    T_ASSERT(m >= 0);
    T_EQ_INT(port_open(&p, name, 115200, NULL, err, sizeof err), ED_OK);
    T_EQ_INT(p->kind, PORT_SERIAL);
    T_ASSERT(!p->has_lines);
    T_EQ_INT(port_set_lines(p, 1, 1), ED_OK);
    T_EQ_INT(port_set_baud(p, 921600), ED_OK);
    T_EQ_INT(p->baud, 921600);
    /* Nothing there: a poll and a short deadline both give 0. */
    T_EQ_INT(port_read(p, buf, sizeof buf, 0), 0);
    T_EQ_INT(port_read(p, buf, sizeof buf, 20), 0);

    T_EQ_INT(write(m, "\xC0\x01\xFF\x00\xC0", 5), 5);
    n = port_read(p, buf, sizeof buf, 1000);
    T_EQ_INT(n, 5);
    T_EQ_MEM(buf, "\xC0\x01\xFF\x00\xC0", 5);

    T_EQ_INT(port_write(p, (const uint8_t *)"\x00\x11\x22\xFF", 4, 1000),
             ED_OK);
    T_EQ_INT(port_drain(p, 1000), ED_OK);
    pfd.fd = m;
    pfd.events = POLLIN;
    T_EQ_INT(poll(&pfd, 1, 1000), 1);
    T_EQ_INT(read(m, buf, sizeof buf), 4);
    T_EQ_MEM(buf, "\x00\x11\x22\xFF", 4);

    /* Input sitting there is gone after a flush. */
    T_EQ_INT(write(m, "old", 3), 3);
    clock_sleep_ms(20);
    T_EQ_INT(port_flush_input(p), ED_OK);
    T_EQ_INT(port_read(p, buf, sizeof buf, 20), 0);

    close(m);
    n = port_read(p, buf, sizeof buf, 1000);
    T_EQ_INT(n, ED_ERR_CLOSED);
    T_CONTAINS(port_errmsg(p), "went away");
    port_close(p);
}

void test_port__port_list_runs(void)
{
    struct port_info *ports = NULL;
    char err[256];
    int n = port_list(&ports, err, sizeof err), i;

    T_ASSERT(n >= 0);
    for (i = 0; i < n; i++) {
        T_ASSERT(ports[i].name[0] != '\0');
        if (ports[i].bridge)
            T_ASSERT(ports[i].usb);
    }
    free(ports);
}

/* ---- socket:// ---- */

static int listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

void test_port__socket_deadline_data_and_close(void)
{
    struct port *p;
    char url[64], err[ED_ERRMSG_MAX];
    uint8_t buf[64];
    const char *seqs[4];
    int lport, l = listen_loopback(&lport), c, n;

    T_ASSERT(l >= 0);
    snprintf(url, sizeof url, "socket://127.0.0.1:%d", lport);
    T_EQ_INT(port_open(&p, url, 115200, NULL, err, sizeof err), ED_OK);
    c = accept(l, NULL, NULL);
    T_ASSERT(c >= 0);
    T_EQ_INT(p->kind, PORT_SOCKET);
    T_ASSERT(!p->has_lines);
    T_EQ_STR(p->url, url);
    /* No lines, no reset, but the calls succeed. */
    T_EQ_INT(port_set_lines(p, 1, 0), ED_OK);
    T_EQ_INT(port_set_baud(p, 460800), ED_OK);
    T_EQ_INT(p->baud, 460800);
    T_EQ_INT(port_reset_plan(p, BEFORE_DEFAULT_RESET, seqs, 4), 0);

    T_EQ_INT(port_read(p, buf, sizeof buf, 50), 0);
    T_EQ_INT(port_read(p, buf, sizeof buf, 0), 0);
    T_EQ_INT(write(c, "hello\xFF", 6), 6);
    n = port_read(p, buf, sizeof buf, 1000);
    T_EQ_INT(n, 6);
    T_EQ_MEM(buf, "hello\xFF", 6);
    T_EQ_INT(port_write(p, (const uint8_t *)"\xFF\x01", 2, 1000), ED_OK);
    T_EQ_INT(read(c, buf, sizeof buf), 2);
    T_EQ_MEM(buf, "\xFF\x01", 2);

    close(c);
    n = port_read(p, buf, sizeof buf, 1000);
    T_EQ_INT(n, ED_ERR_CLOSED);
    T_CONTAINS(port_errmsg(p), "closed the connection");
    port_close(p);
    close(l);
}

void test_port__socket_refused_and_bad_address(void)
{
    struct port *p = (struct port *)1;
    char url[64], err[ED_ERRMSG_MAX];
    int lport, l = listen_loopback(&lport);

    T_ASSERT(l >= 0);
    close(l); /* nothing listens there now */
    snprintf(url, sizeof url, "socket://127.0.0.1:%d", lport);
    T_EQ_INT(port_open(&p, url, 115200, NULL, err, sizeof err),
             ED_ERR_NOT_FOUND);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "connection refused on socket://127.0.0.1:");
    T_CONTAINS(err, "is the server running");

    T_EQ_INT(port_open(&p, "socket://localhost", 115200, NULL, err,
                       sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "is not HOST:PORT");
    T_EQ_INT(port_open(&p, "socket://127.0.0.1:99999", 115200, NULL, err,
                       sizeof err),
             ED_ERR_ARG);
}

/* ---- a slow UART: writes block for their wire time ---- */

struct slow_port {
    struct port base;
    size_t sent;
};

static void slow_close(struct port *p)
{
    (void)p;
}

static int slow_write(struct port *p, const uint8_t *b, size_t n, int t)
{
    struct slow_port *s = (struct slow_port *)p;

    (void)b;
    (void)t;
    clock_sleep_ms((int)((uint64_t)n * 10 * 1000 / p->baud));
    s->sent += n;
    return ED_OK;
}

/* a silent line: a read waits its whole timeout and gets nothing */
static int silent_read(struct port *p, uint8_t *buf, size_t cap, int t)
{
    (void)p;
    (void)buf;
    (void)cap;
    clock_sleep_ms(t);
    return 0;
}

/* A cancel hook that answers true from its third poll on. */
static bool cancel_third(void *ctx)
{
    return ++*(int *)ctx >= 3;
}

/* A long read on a silent line ends with ED_ERR_CANCELLED once the cancel
 * hook says so: the hook is polled between slices of the wait, not only
 * before it (every wait is interruptible: an erase, a large MD5). */
void test_port__long_read_is_cancelled(void)
{
    static const struct port_ops ops = {.close = slow_close,
                                        .read = silent_read};
    struct slow_port s;
    uint8_t buf[64];
    int polls = 0;

    memset(&s, 0, sizeof s);
    s.base.ops = &ops;
    s.base.baud = 115200;
    port_set_cancel(&s.base, cancel_third, &polls);
    T_EQ_INT(port_read(&s.base, buf, sizeof buf, 600000), ED_ERR_CANCELLED);
    T_EQ_INT(polls, 3);
    T_CONTAINS(port_errmsg(&s.base), "cancelled");
    /* short reads (the monitor's) are not sliced and never cancelled */
    polls = 0;
    T_EQ_INT(port_read(&s.base, buf, sizeof buf, PORT_CANCEL_SLICE_MS), 0);
    T_EQ_INT(polls, 0);
}

static bool always(void *ctx)
{
    ++*(int *)ctx;
    return true;
}

/* A 16 KiB block at 9600 baud (17 s of wire) stops at the next piece once
 * a cancel is asked for: the write is an interruptible wait too.  A short
 * write (a block at a high baud) completes whatever the hook says. */
void test_port__long_write_is_cancelled(void)
{
    static const struct port_ops ops = {.close = slow_close,
                                        .write = slow_write};
    struct slow_port s;
    static uint8_t block[16384];
    int polls = 0;

    memset(&s, 0, sizeof s);
    s.base.ops = &ops;
    s.base.kind = PORT_SERIAL;
    s.base.baud = 9600;
    port_set_cancel(&s.base, always, &polls);
    T_EQ_INT(port_write(&s.base, block, sizeof block, 60000),
             ED_ERR_CANCELLED);
    T_ASSERT(polls >= 1);
    T_ASSERT(s.sent < sizeof block);
    T_CONTAINS(port_errmsg(&s.base), "cancelled while sending");
    /* 2 KiB at 921600 baud is one piece: sent whole */
    s.sent = 0;
    s.base.baud = 921600;
    T_EQ_INT(port_write(&s.base, block, 2048, 60000), ED_OK);
    T_EQ_INT(s.sent, 2048);
}
