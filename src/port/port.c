/*
 * port.c - URL dispatch, the generic wrappers around struct port_ops, and
 * the reset strategies (esptool names and timings, protocol.md section 4).
 *
 * Every reset strategy is a custom-sequence string ("D0|R1|W0.1|D1|R0|..."),
 * parsed into steps and run by one executor, so the built-in strategies,
 * --before plans and user sequences all take the same path and the same
 * trace ("reset: DTR=1", "reset: wait 100 ms" at ED_LOG_TRACE).
 *
 * No state outside the ports themselves; safe on many threads as long as
 * each port is used by one thread at a time.
 */
#include "port.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "port_internal.h"

/* ---- opening ---- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool port_present(const char *url)
{
    char node[256], err[ED_ERRMSG_MAX];

    if (!url || !*url)
        return false;
    if (starts_with(url, "usb-path:") || starts_with(url, "usb-serial:"))
        return port_usb_resolve(node, sizeof node, url, err, sizeof err) ==
               ED_OK;
    if (strstr(url, "://") || starts_with(url, "sim:"))
        return true;
    return access(url, F_OK) == 0;
}

int port_open(struct port **out, const char *url, uint32_t baud,
              const struct log_sink *log, char *err, size_t errlen)
{
    char msg[ED_ERRMSG_MAX] = "";
    struct port *p = NULL;
    const char *colon;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !url || !*url)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "no port given: use --port with a device path "
                         "(espdeck ports lists them), socket://HOST:PORT, "
                         "rfc2217://HOST:PORT or sim:CHIP");
    if (baud == 0)
        baud = 115200;

    if (starts_with(url, "socket://")) {
        rc = port_socket_open(&p, url + 9, baud, msg, sizeof msg);
    } else if (starts_with(url, "rfc2217://")) {
        rc = port_rfc2217_open(&p, url + 10, baud, msg, sizeof msg);
    } else if (starts_with(url, "sim:")) {
        rc = port_sim_open(&p, url + 4, baud, msg, sizeof msg);
    } else if (starts_with(url, "usb-path:") ||
               starts_with(url, "usb-serial:")) {
        char node[256];

        rc = port_usb_resolve(node, sizeof node, url, msg, sizeof msg);
        if (rc == ED_OK)
            rc = port_serial_open(&p, node, baud, msg, sizeof msg);
    } else if ((colon = strstr(url, "://")) != NULL) {
        rc = ed_seterr(msg, sizeof msg, ED_ERR_ARG,
                       "unknown port scheme '%.*s://' in %s: use a device "
                       "path, socket://HOST:PORT, rfc2217://HOST:PORT or "
                       "sim:CHIP", (int)(colon - url), url, url);
    } else {
        rc = port_serial_open(&p, url, baud, msg, sizeof msg);
    }
    if (rc != ED_OK || !p) {
        if (rc == ED_OK)
            rc = ED_ERR_IO;
        if (!msg[0])
            snprintf(msg, sizeof msg, "cannot open %s: %s", url,
                     ed_strerror(rc));
        if (err && errlen)
            snprintf(err, errlen, "%s", msg);
        return rc;
    }
    snprintf(p->url, sizeof p->url, "%s", url);
    if (log)
        p->log = *log;
    if (!p->baud)
        p->baud = baud;
    /* A backend that opened with a caveat left it here. */
    if (p->errmsg[0]) {
        log_msg(&p->log, ED_LOG_WARN, "%s", p->errmsg);
        p->errmsg[0] = '\0';
    }
    log_msg(&p->log, ED_LOG_DEBUG, "opened %s at %u baud%s%s", p->url,
            (unsigned)p->baud, p->has_lines ? "" : " (no DTR/RTS)",
            p->usb_jtag ? " (USB-Serial/JTAG)" : "");
    if (err && errlen)
        err[0] = '\0';
    *out = p;
    return ED_OK;
}

void port_close(struct port *p)
{
    if (p && p->ops && p->ops->close)
        p->ops->close(p);
}

/* ---- generic wrappers ---- */

int port_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    int64_t deadline;

    if (!p || (!buf && cap))
        return ED_ERR_ARG;
    if (cap == 0)
        return 0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (!p->cancel || timeout_ms <= PORT_CANCEL_SLICE_MS)
        return p->ops->read(p, buf, cap, timeout_ms);
    /* every wait is interruptible: a long one (a whole-chip erase, the
     * MD5 of megabytes) in slices, the cancel hook between them */
    deadline = clock_ms() + timeout_ms;
    for (;;) {
        int left = clock_remaining_ms(deadline), n;

        if (p->cancel(p->cancel_ctx))
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_CANCELLED,
                             "cancelled while waiting for the board");
        n = p->ops->read(p, buf, cap, left < PORT_CANCEL_SLICE_MS
                                          ? left : PORT_CANCEL_SLICE_MS);
        if (n != 0 || left <= PORT_CANCEL_SLICE_MS)
            return n;
    }
}

int port_write(struct port *p, const uint8_t *buf, size_t len, int timeout_ms)
{
    int64_t start, deadline;
    size_t chunk;

    if (!p || (!buf && len))
        return ED_ERR_ARG;
    if (len == 0)
        return ED_OK;
    if (timeout_ms < 0)
        timeout_ms = 0;
    /* about PORT_CANCEL_SLICE_MS of wire a piece */
    chunk = (p->baud ? p->baud : 115200) / 10 * PORT_CANCEL_SLICE_MS / 1000;
    if (chunk < 256)
        chunk = 256;
    if (!p->cancel || len <= chunk || p->kind != PORT_SERIAL)
        return p->ops->write(p, buf, len, timeout_ms);
    /* a long write to a UART (a 16 KiB block at 9600 baud is 17 s; network
     * ports take a block into their socket buffer at once) in pieces: the
     * block in flight completes, unless it is still going after
     * PORT_CANCEL_WRITE_MS and a cancel is asked for */
    start = clock_ms();
    deadline = start + timeout_ms;
    while (len) {
        size_t n = len < chunk ? len : chunk;
        int rc;

        if (clock_ms() - start >= PORT_CANCEL_WRITE_MS &&
            p->cancel(p->cancel_ctx))
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_CANCELLED,
                             "cancelled while sending to the board (%zu "
                             "bytes not sent)", len);
        rc = p->ops->write(p, buf, n, clock_remaining_ms(deadline));
        if (rc)
            return rc;
        buf += n;
        len -= n;
    }
    return ED_OK;
}

int port_set_baud(struct port *p, uint32_t baud)
{
    int rc;

    if (!p || baud == 0)
        return ED_ERR_ARG;
    rc = p->ops->set_baud(p, baud);
    if (rc == ED_OK) {
        p->baud = baud;
        log_msg(&p->log, ED_LOG_DEBUG, "%s: baud %u", p->url, (unsigned)baud);
    }
    return rc;
}

int port_set_lines(struct port *p, int dtr, int rts)
{
    int rc;

    if (!p)
        return ED_ERR_ARG;
    if (dtr > 1 || rts > 1 || dtr < -1 || rts < -1)
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_ARG,
                         "DTR/RTS take 1, 0 or -1 (unchanged)");
    if (dtr < 0 && rts < 0)
        return ED_OK;
    rc = p->ops->set_lines(p, dtr, rts);
    if (rc == ED_OK) {
        if (dtr >= 0)
            p->dtr = dtr;
        if (rts >= 0)
            p->rts = rts;
    }
    return rc;
}

int port_set_dtr(struct port *p, int dtr)
{
    return port_set_lines(p, dtr ? 1 : 0, -1);
}

/*
 * esptool re-writes DTR after every RTS change: usbser.sys (Windows, and
 * servers running there) only propagates RTS together with DTR.
 */
int port_set_rts(struct port *p, int rts)
{
    int rc = port_set_lines(p, -1, rts ? 1 : 0);
    if (rc != ED_OK)
        return rc;
    return port_set_lines(p, p->dtr ? 1 : 0, -1);
}

int port_flush_input(struct port *p)
{
    if (!p)
        return ED_ERR_ARG;
    return p->ops->flush_input(p);
}

int port_drain(struct port *p, int timeout_ms)
{
    if (!p)
        return ED_ERR_ARG;
    if (!p->ops->drain)
        return ED_OK;
    return p->ops->drain(p, timeout_ms < 0 ? 0 : timeout_ms);
}

const char *port_errmsg(const struct port *p)
{
    if (!p)
        return "no port";
    return p->errmsg[0] ? p->errmsg : "no error";
}

int port_fd_wait(int fd, bool for_write, int timeout_ms)
{
    struct pollfd pfd;
    int64_t deadline = clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc;

    for (;;) {
        pfd.fd = fd;
        pfd.events = for_write ? POLLOUT : POLLIN;
        pfd.revents = 0;
        rc = poll(&pfd, 1, clock_remaining_ms(deadline));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return ED_ERR_IO;
        }
        if (rc == 0)
            return 0;
        if (pfd.revents & POLLNVAL)
            return ED_ERR_IO;
        /* Readable data still goes first: POLLHUP may come with the tail. */
        if (pfd.revents & pfd.events)
            return 1;
        if (pfd.revents & (POLLHUP | POLLERR))
            return ED_ERR_CLOSED;
        return 1;
    }
}

int port_fd_write_all(int fd, bool is_socket, const uint8_t *buf, size_t len,
                      int timeout_ms, int *sys_errno)
{
    int64_t deadline = clock_ms() + timeout_ms;
    ssize_t n;
    int rc;

    *sys_errno = 0;
    while (len) {
        n = is_socket ? send(fd, buf, len, MSG_NOSIGNAL)
                      : write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            *sys_errno = errno;
            return ED_ERR_IO;
        }
        rc = port_fd_wait(fd, true, clock_remaining_ms(deadline));
        if (rc == 0)
            return ED_ERR_TIMEOUT;
        if (rc < 0)
            return rc;
    }
    return ED_OK;
}

int port_sock_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms,
                   int *sys_errno)
{
    ssize_t n;
    int rc;

    *sys_errno = 0;
    for (;;) {
        n = recv(fd, buf, cap, 0);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return ED_ERR_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (errno == ECONNRESET || errno == EPIPE)
                return ED_ERR_CLOSED;
            *sys_errno = errno;
            return ED_ERR_IO;
        }
        if (timeout_ms <= 0)
            return 0;
        rc = port_fd_wait(fd, false, timeout_ms);
        if (rc == 0)
            return 0;
        if (rc < 0 && rc != ED_ERR_CLOSED)
            return rc;
        /* Readable or hung up: the next recv() tells which. */
        timeout_ms = 0;
    }
}

/* ---- before / after names ---- */

static const char *const before_names[] = {
    [BEFORE_DEFAULT_RESET] = "default-reset",
    [BEFORE_USB_RESET] = "usb-reset",
    [BEFORE_NO_RESET] = "no-reset",
    [BEFORE_NO_RESET_NO_SYNC] = "no-reset-no-sync",
};

static const char *const after_names[] = {
    [AFTER_HARD_RESET] = "hard-reset",
    [AFTER_SOFT_RESET] = "soft-reset",
    [AFTER_NO_RESET] = "no-reset",
    [AFTER_NO_RESET_STUB] = "no-reset-stub",
    [AFTER_WATCHDOG_RESET] = "watchdog-reset",
};

/* Compare ignoring case, with '_' and '-' the same. */
static int name_eq(const char *s, const char *name)
{
    for (; *s && *name; s++, name++) {
        int a = *s == '_' ? '-' : tolower((unsigned char)*s);
        if (a != *name)
            return 0;
    }
    return *s == '\0' && *name == '\0';
}

int port_parse_before(const char *s, enum port_before *out)
{
    size_t i;

    if (!s || !out)
        return ED_ERR_ARG;
    for (i = 0; i < sizeof before_names / sizeof before_names[0]; i++) {
        if (name_eq(s, before_names[i])) {
            *out = (enum port_before)i;
            return ED_OK;
        }
    }
    return ED_ERR_ARG;
}

int port_parse_after(const char *s, enum port_after *out)
{
    size_t i;

    if (!s || !out)
        return ED_ERR_ARG;
    for (i = 0; i < sizeof after_names / sizeof after_names[0]; i++) {
        if (name_eq(s, after_names[i])) {
            *out = (enum port_after)i;
            return ED_OK;
        }
    }
    /* espflash spells esptool's no-reset-stub "no-reset-no-stub". */
    if (name_eq(s, "no-reset-no-stub")) {
        *out = AFTER_NO_RESET_STUB;
        return ED_OK;
    }
    return ED_ERR_ARG;
}

const char *port_before_name(enum port_before b)
{
    if ((unsigned)b < sizeof before_names / sizeof before_names[0])
        return before_names[b];
    return "?";
}

const char *port_after_name(enum port_after a)
{
    if ((unsigned)a < sizeof after_names / sizeof after_names[0])
        return after_names[a];
    return "?";
}

/* ---- reset sequences ---- */

#define SEQ_CLASSIC_50 "D0|R1|W0.1|D1|R0|W0.05|D0"
#define SEQ_CLASSIC_550 "D0|R1|W0.1|D1|R0|W0.55|D0"
#define SEQ_TIGHT_50 "U0,0|U1,1|U0,1|W0.1|U1,0|W0.05|U0,0|D0"
#define SEQ_TIGHT_550 "U0,0|U1,1|U0,1|W0.1|U1,0|W0.55|U0,0|D0"
/* Goes through (1,1), not (0,0), while switching into reset. */
#define SEQ_USB_JTAG "R0|D0|W0.1|D1|R0|W0.1|R1|D0|R1|W0.1|D0|R0"
/* Release IO0 first so the chip boots the app, then pulse EN. */
#define SEQ_HARD "D0|R1|W0.1|R0"
/* USB: longer, and time for the CDC device to come back. */
#define SEQ_HARD_USB "D0|R1|W0.2|R0|W0.2"

static const struct {
    const char *seq, *name;
} seq_names[] = {
    {SEQ_TIGHT_50, "unix-tight 50 ms"},
    {SEQ_TIGHT_550, "unix-tight 550 ms"},
    {SEQ_CLASSIC_50, "classic 50 ms"},
    {SEQ_CLASSIC_550, "classic 550 ms"},
    {SEQ_USB_JTAG, "usb-jtag-serial"},
    {SEQ_HARD, "hard reset"},
    {SEQ_HARD_USB, "hard reset (USB)"},
};

const char *port_reset_seq_name(const char *seq)
{
    size_t i;

    for (i = 0; seq && i < sizeof seq_names / sizeof seq_names[0]; i++)
        if (!strcmp(seq, seq_names[i].seq))
            return seq_names[i].name;
    return "custom";
}

/* "0" or "1" exactly; returns -1 otherwise. */
static int parse_bit(const char *s, size_t n)
{
    if (n == 1 && (s[0] == '0' || s[0] == '1'))
        return s[0] - '0';
    return -1;
}

/* Seconds as in esptool ("0.05", "1", ".5") to ms; -1 if malformed. */
static int parse_seconds(const char *s, size_t n)
{
    char buf[32];
    char *end;
    double v;
    size_t i;

    if (n == 0 || n >= sizeof buf)
        return -1;
    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '.')
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (errno || *end || v < 0 || v > 10.0)
        return -1;
    return (int)(v * 1000.0 + 0.5);
}

int port_reset_parse(struct port_reset_step *out, int max, const char *seq,
                     char *err, size_t errlen)
{
    const char *tok, *end, *comma;
    int n = 0;

    if (!seq || !*seq)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "empty reset sequence: write steps like "
                         "D0|R1|W0.1|D1|R0|W0.05|D0");
    for (tok = seq;; tok = end + 1) {
        struct port_reset_step st = {0, -1, -1, 0};
        const char *a;
        size_t len;

        end = strchr(tok, '|');
        if (!end)
            end = tok + strlen(tok);
        /* Tolerate spaces around tokens ("D0 | R1"). */
        a = tok;
        while (a < end && isspace((unsigned char)*a))
            a++;
        len = (size_t)(end - a);
        while (len && isspace((unsigned char)a[len - 1]))
            len--;
        if (len < 2)
            goto bad;
        st.op = (char)toupper((unsigned char)a[0]);
        switch (st.op) {
        case 'D':
            st.dtr = parse_bit(a + 1, len - 1);
            if (st.dtr < 0)
                goto bad;
            break;
        case 'R':
            st.rts = parse_bit(a + 1, len - 1);
            if (st.rts < 0)
                goto bad;
            break;
        case 'U':
            comma = memchr(a, ',', len);
            if (!comma)
                goto bad;
            st.dtr = parse_bit(a + 1, (size_t)(comma - a - 1));
            st.rts = parse_bit(comma + 1, (size_t)(a + len - comma - 1));
            if (st.dtr < 0 || st.rts < 0)
                goto bad;
            break;
        case 'W':
            st.wait_ms = parse_seconds(a + 1, len - 1);
            if (st.wait_ms < 0)
                goto bad;
            break;
        default:
            goto bad;
        }
        if (n >= (max > 0 ? max : PORT_RESET_MAX_STEPS) ||
            n >= PORT_RESET_MAX_STEPS)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "reset sequence '%s' is too long: at most %d "
                             "steps", seq, PORT_RESET_MAX_STEPS);
        if (out)
            out[n] = st;
        n++;
        if (!*end)
            break;
        continue;
    bad:
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "bad reset step '%.*s' in '%s': use D0/D1 (DTR), "
                         "R0/R1 (RTS), U0,1 (DTR,RTS at once) or W0.1 "
                         "(wait, seconds), separated by |",
                         (int)(end - tok), tok, seq);
    }
    return n;
}

int port_reset_check(const char *seq, char *err, size_t errlen)
{
    int n = port_reset_parse(NULL, PORT_RESET_MAX_STEPS, seq, err, errlen);
    return n < 0 ? n : ED_OK;
}

void port_set_cancel(struct port *p, port_cancel_fn fn, void *ctx)
{
    if (!p)
        return;
    p->cancel = fn;
    p->cancel_ctx = ctx;
}

/* Sleep ms, in slices, ending early (ED_ERR_CANCELLED) on the cancel hook. */
static int port_wait(struct port *p, int ms)
{
    int64_t deadline = clock_ms() + ms;
    int left;

    while ((left = clock_remaining_ms(deadline)) > 0) {
        if (p->cancel && p->cancel(p->cancel_ctx))
            return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_CANCELLED,
                             "cancelled during the reset sequence");
        clock_sleep_ms(left < 10 ? left : 10);
    }
    return ED_OK;
}

int port_reset_run(struct port *p, const struct port_reset_step *steps,
                   int n)
{
    int i, rc = ED_OK;

    if (!p || (!steps && n))
        return ED_ERR_ARG;
    for (i = 0; i < n && rc == ED_OK; i++) {
        const struct port_reset_step *st = &steps[i];
        switch (st->op) {
        case 'D':
            log_msg(&p->log, ED_LOG_TRACE, "reset: DTR=%d", st->dtr);
            rc = port_set_dtr(p, st->dtr);
            break;
        case 'R':
            log_msg(&p->log, ED_LOG_TRACE, "reset: RTS=%d", st->rts);
            rc = port_set_rts(p, st->rts);
            break;
        case 'U':
            log_msg(&p->log, ED_LOG_TRACE, "reset: DTR=%d RTS=%d", st->dtr,
                    st->rts);
            rc = port_set_lines(p, st->dtr, st->rts);
            break;
        case 'W':
            log_msg(&p->log, ED_LOG_TRACE, "reset: wait %d ms", st->wait_ms);
            rc = port_wait(p, st->wait_ms);
            break;
        default:
            rc = ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_ARG,
                           "bad reset step '%c'", st->op);
            break;
        }
    }
    return rc;
}

int port_reset_custom(struct port *p, const char *seq)
{
    struct port_reset_step steps[PORT_RESET_MAX_STEPS];
    int n;

    if (!p)
        return ED_ERR_ARG;
    n = port_reset_parse(steps, PORT_RESET_MAX_STEPS, seq, p->errmsg,
                         sizeof p->errmsg);
    if (n < 0)
        return n;
    log_msg(&p->log, ED_LOG_DEBUG, "reset %s: %s", port_reset_seq_name(seq),
            seq);
    return port_reset_run(p, steps, n);
}

/*
 * Sequence with the final delay spliced in as seconds, written the way the
 * plan writes them ("0.05", "0.55", "1"), e.g. classic 50 ms.
 */
static int run_with_delay(struct port *p, const char *fmt, int delay_ms)
{
    char secs[24], seq[128];
    size_t n;

    if (delay_ms < 0)
        delay_ms = 0;
    snprintf(secs, sizeof secs, "%d.%03d", delay_ms / 1000, delay_ms % 1000);
    n = strlen(secs);
    while (secs[n - 1] == '0')
        secs[--n] = '\0';
    if (secs[n - 1] == '.')
        secs[--n] = '\0';
    snprintf(seq, sizeof seq, fmt, secs);
    return port_reset_custom(p, seq);
}

int port_reset_classic(struct port *p, int delay_ms)
{
    return run_with_delay(p, "D0|R1|W0.1|D1|R0|W%s|D0", delay_ms);
}

int port_reset_unix_tight(struct port *p, int delay_ms)
{
    return run_with_delay(p, "U0,0|U1,1|U0,1|W0.1|U1,0|W%s|U0,0|D0",
                          delay_ms);
}

int port_reset_usb_jtag(struct port *p)
{
    return port_reset_custom(p, SEQ_USB_JTAG);
}

int port_reset_hard(struct port *p)
{
    if (!p)
        return ED_ERR_ARG;
    return port_reset_custom(p, p->usb_jtag ? SEQ_HARD_USB : SEQ_HARD);
}

int port_reset_plan(const struct port *p, enum port_before before,
                    const char **seqs, int max)
{
    const char *plan[4];
    int n = 0, i;

    if (!p || (!seqs && max > 0))
        return ED_ERR_ARG;
    switch (before) {
    case BEFORE_NO_RESET:
    case BEFORE_NO_RESET_NO_SYNC:
        break;
    case BEFORE_USB_RESET:
        if (p->has_lines)
            plan[n++] = SEQ_USB_JTAG;
        break;
    case BEFORE_DEFAULT_RESET:
    default:
        if (!p->has_lines)
            break;
        if (p->usb_jtag) {
            plan[n++] = SEQ_USB_JTAG;
        } else if (p->kind == PORT_RFC2217) {
            /* Lines cross the network one by one: no atomic variant. */
            plan[n++] = SEQ_CLASSIC_50;
            plan[n++] = SEQ_CLASSIC_550;
        } else {
            plan[n++] = SEQ_TIGHT_50;
            plan[n++] = SEQ_TIGHT_550;
            plan[n++] = SEQ_CLASSIC_50;
            plan[n++] = SEQ_CLASSIC_550;
        }
        break;
    }
    if (n > max)
        n = max;
    for (i = 0; i < n; i++)
        seqs[i] = plan[i];
    return n;
}

/* ---- known USB bridges ---- */

static const struct {
    uint16_t vid, pid;
    const char *name;
} bridges[] = {
    {0x10C4, 0xEA60, "CP210x"},
    {0x10C4, 0xEA61, "CP210x"},
    {0x10C4, 0xEA63, "CP210x"},
    {0x10C4, 0xEA70, "CP2105"},
    {0x10C4, 0xEA71, "CP2108"},
    {0x10C4, 0xEA80, "CP2110"},
    {0x1A86, 0x7522, "CH340"},
    {0x1A86, 0x7523, "CH340"},
    {0x1A86, 0x5523, "CH341"},
    {0x1A86, 0x55D2, "CH342"},
    {0x1A86, 0x55D3, "CH343"},
    {0x1A86, 0x55D4, "CH9102"},
    {0x0403, 0x6001, "FTDI FT232R"},
    {0x0403, 0x6010, "FTDI FT2232"},
    {0x0403, 0x6011, "FTDI FT4232"},
    {0x0403, 0x6014, "FTDI FT232H"},
    {0x0403, 0x6015, "FTDI FT-X"},
    {0x303A, 0x1001, "USB-Serial/JTAG"},
    {0x303A, 0x1002, "ESP USB Bridge"},
    /* ROM USB-OTG download mode: PID = image chip id. */
    {0x303A, 0x0002, "USB-OTG (ESP32-S2 ROM)"},
    {0x303A, 0x0009, "USB-OTG (ESP32-S3 ROM)"},
    {0x303A, 0x0012, "USB-OTG (ESP32-P4 ROM)"},
};

const char *port_bridge_name(uint16_t vid, uint16_t pid)
{
    size_t i;

    for (i = 0; i < sizeof bridges / sizeof bridges[0]; i++)
        if (bridges[i].vid == vid && bridges[i].pid == pid)
            return bridges[i].name;
    return NULL;
}
