/*
 * port_rfc2217.c - rfc2217://HOST:PORT[?options], an RFC 2217 client:
 * serial data over Telnet with the COM-PORT-OPTION (44) to change the
 * remote port's speed and lines, as served by ser2net
 * (accepter: telnet(rfc2217),tcp,...) or esptool's esp_rfc2217_server.
 *
 * Negotiation at open: WILL COM-PORT-OPTION, WILL/DO BINARY, WILL/DO SGA.
 * The server must answer DO COM-PORT-OPTION; DONT (or a bare WONT) is a
 * refusal and so is silence past the deadline, both ED_ERR_UNSUPPORTED.
 * Other options the server offers or asks for are refused (DONT/WONT),
 * answering only on a change of state so two peers cannot loop (RFC 1143).
 *
 * Then SET-BAUDRATE, SET-DATASIZE 8, SET-PARITY NONE, SET-STOPSIZE 1, and
 * DTR/RTS released.  Baud and control changes wait for the server's
 * acknowledgement (the same command + 100) so a reset's timing is the
 * board's timing, not the network's; PURGE-DATA serves flush_input.
 *
 * Data: 0xFF is doubled on write and un-doubled on read by a byte-wise state
 * machine kept in the port, so an IAC split across two reads is fine.
 * Data that arrives while we wait for an acknowledgement is kept for the
 * next read.
 *
 * Options: ?timeout=MS (negotiation and acknowledgement deadline, default
 * 3000; DTR/RTS acknowledgements wait at most 1000), &ign_set_control (do
 * not wait for DTR/RTS acknowledgements at all; pyserial's option of that
 * name).  A server that leaves a DTR/RTS change unacknowledged is warned
 * about once and not waited for again.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "port_internal.h"

/* Telnet */
#define IAC 255
#define DONT 254
#define DO 253
#define WONT 252
#define WILL 251
#define SB 250
#define SE 240
#define OPT_BINARY 0
#define OPT_SGA 3
#define OPT_COMPORT 44

/* COM-PORT-OPTION client commands; the server answers with + 100. */
#define CPO_SET_BAUDRATE 1
#define CPO_SET_DATASIZE 2
#define CPO_SET_PARITY 3
#define CPO_SET_STOPSIZE 4
#define CPO_SET_CONTROL 5
#define CPO_PURGE_DATA 12
#define CPO_SERVER 100
#define CPO_CODES 16

#define CTL_DTR_ON 8
#define CTL_DTR_OFF 9
#define CTL_RTS_ON 11
#define CTL_RTS_OFF 12
#define PARITY_NONE 1
#define PURGE_RX 1

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS 3000
#define PURGE_TIMEOUT_MS 500
#define CONTROL_ACK_MS 1000
#define RX_MAX (1u << 20)

/* Option states, ours (WILL) and the server's (DO). */
enum opt_state { OPT_NO, OPT_WANTYES, OPT_YES };

enum tn_state { TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC };

struct rfc_port {
    struct port base;
    int fd;
    char where[200];    /* "host:port" for sentences */
    int timeout_ms;
    bool ign_set_control;
    bool purge_unacked; /* the server never acknowledged a purge */
    bool control_unacked; /* ... nor a DTR/RTS change */
    bool comport_refused;
    bool sending;       /* inside send_raw (see there) */

    enum tn_state tn;
    uint8_t verb;       /* WILL/WONT/DO/DONT waiting for its option */
    uint8_t sb[64];
    size_t sb_len;
    uint8_t us[256], him[256];

    unsigned acks[CPO_CODES];  /* acknowledgements seen per command */
    uint32_t ack_value[CPO_CODES];

    uint8_t *rx;        /* decoded data not read yet: rx[rx_off..rx_len) */
    size_t rx_off, rx_len, rx_cap;
    bool rx_dropped;
};

static struct rfc_port *rfc_of(struct port *p)
{
    return (struct rfc_port *)p;
}

static int rfc_closed(struct rfc_port *r)
{
    return ed_seterr(r->base.errmsg, sizeof r->base.errmsg, ED_ERR_CLOSED,
                     "the RFC 2217 server at %s closed the connection: is it "
                     "still running, and is the serial device still there?",
                     r->where);
}

/* ---- raw socket I/O ---- */

static int pump(struct rfc_port *r, int timeout_ms);
static int send_raw_in(struct rfc_port *r, const uint8_t *buf, size_t len,
                       int64_t deadline, bool take_input);

/*
 * Send raw bytes (already escaped) before deadline.  While the socket is
 * full, incoming bytes are taken in so neither side can stall the other;
 * only by the outermost send: the bytes taken in may make us answer (an
 * option refused), and answering from inside a send would nest one level
 * per read while a server sends and never reads, until the stack ends.
 */
static int send_raw(struct rfc_port *r, const uint8_t *buf, size_t len,
                    int64_t deadline)
{
    bool outer = !r->sending;
    int rc;

    r->sending = true;
    rc = send_raw_in(r, buf, len, deadline, outer);
    if (outer)
        r->sending = false;
    return rc;
}

static int send_raw_in(struct rfc_port *r, const uint8_t *buf, size_t len,
                       int64_t deadline, bool take_input)
{
    struct pollfd pfd;
    ssize_t n;
    int rc;

    while (len) {
        n = send(r->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            if (errno == EPIPE || errno == ECONNRESET)
                return rfc_closed(r);
            return ed_seterr(r->base.errmsg, sizeof r->base.errmsg,
                             ED_ERR_IO, "write to rfc2217://%s: %s",
                             r->where, strerror(errno));
        }
        pfd.fd = r->fd;
        pfd.events = POLLOUT | (take_input ? POLLIN : 0);
        pfd.revents = 0;
        rc = poll(&pfd, 1, clock_remaining_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return ed_seterr(r->base.errmsg, sizeof r->base.errmsg,
                             ED_ERR_TIMEOUT,
                             "the RFC 2217 server at %s takes no data: is "
                             "it stuck?",
                             r->where);
        if (rc > 0 && (pfd.revents & POLLIN)) {
            rc = pump(r, 0);
            if (rc < 0)
                return rc;
        } else if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
            return rfc_closed(r);
        }
    }
    return ED_OK;
}

static int send_option(struct rfc_port *r, uint8_t verb, uint8_t opt)
{
    uint8_t msg[3] = {IAC, verb, opt};
    return send_raw(r, msg, 3, clock_ms() + r->timeout_ms);
}

/* IAC SB COM-PORT-OPTION cmd value... IAC SE, IAC in the value doubled. */
static int send_sub(struct rfc_port *r, uint8_t cmd, const uint8_t *val,
                    size_t len)
{
    uint8_t msg[32];
    size_t n = 0, i;

    msg[n++] = IAC;
    msg[n++] = SB;
    msg[n++] = OPT_COMPORT;
    msg[n++] = cmd;
    for (i = 0; i < len; i++) {
        msg[n++] = val[i];
        if (val[i] == IAC)
            msg[n++] = IAC;
    }
    msg[n++] = IAC;
    msg[n++] = SE;
    return send_raw(r, msg, n, clock_ms() + r->timeout_ms);
}

/* ---- Telnet receive state machine ---- */

static void rx_put(struct rfc_port *r, uint8_t b)
{
    if (r->rx_off == r->rx_len)
        r->rx_off = r->rx_len = 0;
    if (r->rx_len == r->rx_cap) {
        size_t cap;
        uint8_t *nb;
        if (r->rx_off > 0) {
            memmove(r->rx, r->rx + r->rx_off, r->rx_len - r->rx_off);
            r->rx_len -= r->rx_off;
            r->rx_off = 0;
        }
        if (r->rx_len == r->rx_cap) {
            cap = r->rx_cap ? r->rx_cap * 2 : 4096;
            nb = cap <= RX_MAX ? realloc(r->rx, cap) : NULL;
            if (!nb) {
                if (!r->rx_dropped)
                    log_msg(&r->base.log, ED_LOG_WARN,
                            "rfc2217://%s: receive buffer full, dropping "
                            "data",
                            r->where);
                r->rx_dropped = true;
                return;
            }
            r->rx = nb;
            r->rx_cap = cap;
        }
    }
    r->rx[r->rx_len++] = b;
}

static bool we_support(uint8_t opt)
{
    return opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_COMPORT;
}

static bool he_supports(uint8_t opt)
{
    return opt == OPT_BINARY || opt == OPT_SGA;
}

static int on_option(struct rfc_port *r, uint8_t verb, uint8_t opt)
{
    log_msg(&r->base.log, ED_LOG_TRACE, "rfc2217: got %s %u",
            verb == DO     ? "DO"
            : verb == DONT ? "DONT"
            : verb == WILL ? "WILL"
                           : "WONT",
            opt);
    switch (verb) {
    case DO:
        if (!we_support(opt))
            return send_option(r, WONT, opt);
        if (r->us[opt] == OPT_NO) {
            r->us[opt] = OPT_YES;
            return send_option(r, WILL, opt);
        }
        r->us[opt] = OPT_YES;
        return ED_OK;
    case DONT:
        if (opt == OPT_COMPORT)
            r->comport_refused = true;
        if (r->us[opt] == OPT_YES) {
            r->us[opt] = OPT_NO;
            return send_option(r, WONT, opt);
        }
        r->us[opt] = OPT_NO;
        return ED_OK;
    case WILL:
        if (!he_supports(opt))
            return send_option(r, DONT, opt);
        if (r->him[opt] == OPT_NO) {
            r->him[opt] = OPT_YES;
            return send_option(r, DO, opt);
        }
        r->him[opt] = OPT_YES;
        return ED_OK;
    case WONT:
        /* A server answering our WILL with WONT means no, too. */
        if (opt == OPT_COMPORT && r->us[opt] == OPT_WANTYES)
            r->comport_refused = true;
        if (r->him[opt] == OPT_YES) {
            r->him[opt] = OPT_NO;
            return send_option(r, DONT, opt);
        }
        r->him[opt] = OPT_NO;
        return ED_OK;
    }
    return ED_OK;
}

static void on_sub(struct rfc_port *r)
{
    unsigned code;
    uint32_t v = 0;
    size_t i;

    if (r->sb_len < 2 || r->sb[0] != OPT_COMPORT)
        return;
    if (r->sb[1] < CPO_SERVER || r->sb[1] - CPO_SERVER >= CPO_CODES)
        return; /* notifications (106, 107) and the like */
    code = r->sb[1] - CPO_SERVER;
    for (i = 2; i < r->sb_len && i < 6; i++)
        v = v << 8 | r->sb[i];
    r->ack_value[code] = v;
    r->acks[code]++;
    log_msg(&r->base.log, ED_LOG_TRACE, "rfc2217: ack %u value %u",
            code + CPO_SERVER, (unsigned)v);
}

/* Feed raw bytes from the socket. */
static int feed(struct rfc_port *r, const uint8_t *buf, size_t len)
{
    size_t i;
    int rc;

    for (i = 0; i < len; i++) {
        uint8_t b = buf[i];
        switch (r->tn) {
        case TN_DATA:
            if (b == IAC)
                r->tn = TN_IAC;
            else
                rx_put(r, b);
            break;
        case TN_IAC:
            r->tn = TN_DATA;
            if (b == IAC) {
                rx_put(r, IAC);
            } else if (b >= WILL && b <= DONT) {
                r->verb = b;
                r->tn = TN_OPT;
            } else if (b == SB) {
                r->sb_len = 0;
                r->tn = TN_SB;
            }
            /* NOP, GA, AYT...: nothing to do. */
            break;
        case TN_OPT:
            r->tn = TN_DATA;
            rc = on_option(r, r->verb, b);
            if (rc < 0)
                return rc;
            break;
        case TN_SB:
            if (b == IAC)
                r->tn = TN_SB_IAC;
            else if (r->sb_len < sizeof r->sb)
                r->sb[r->sb_len++] = b;
            break;
        case TN_SB_IAC:
            if (b == IAC) {
                if (r->sb_len < sizeof r->sb)
                    r->sb[r->sb_len++] = IAC;
                r->tn = TN_SB;
            } else {
                /* SE, or a broken sub-negotiation: end it either way. */
                on_sub(r);
                r->tn = TN_DATA;
            }
            break;
        }
    }
    return ED_OK;
}

int port_rfc2217_feed(int fd, const uint8_t *in, size_t len, size_t step,
                      uint8_t *out, size_t cap)
{
    struct rfc_port *r = calloc(1, sizeof *r);
    size_t n = 0, off = 0;
    int rc = ED_OK;

    if (!r)
        return ED_ERR_NOMEM;
    r->fd = fd;
    r->timeout_ms = 100;
    snprintf(r->where, sizeof r->where, "test");
    while (rc >= 0 && off < len) {
        n = step && len - off > step ? step : len - off;
        rc = feed(r, in + off, n);
        off += n;
    }
    n = 0;
    if (rc >= 0 && r->rx) {
        n = r->rx_len - r->rx_off;
        if (n > cap)
            n = cap;
        memcpy(out, r->rx + r->rx_off, n);
    }
    free(r->rx);
    free(r);
    return rc < 0 ? rc : (int)n;
}

/*
 * Wait up to timeout_ms for bytes from the server and feed them.  Returns
 * how many raw bytes came (> 0), 0 on timeout, or an error.
 */
static int pump(struct rfc_port *r, int timeout_ms)
{
    uint8_t raw[4096];
    int e, n = port_sock_recv(r->fd, raw, sizeof raw, timeout_ms, &e), rc;

    if (n > 0) {
        rc = feed(r, raw, (size_t)n);
        return rc < 0 ? rc : n;
    }
    if (n == 0)
        return 0;
    if (n == ED_ERR_CLOSED)
        return rfc_closed(r);
    if (e)
        return ed_seterr(r->base.errmsg, sizeof r->base.errmsg, ED_ERR_IO,
                         "read from rfc2217://%s: %s", r->where, strerror(e));
    return ed_seterr(r->base.errmsg, sizeof r->base.errmsg, n,
                     "waiting for rfc2217://%s: %s", r->where,
                     ed_strerror(n));
}

/* Wait until acknowledgement number `want` of command code arrives. */
static int wait_ack(struct rfc_port *r, unsigned code, unsigned want,
                    int64_t deadline, const char *what)
{
    int rc;

    while (r->acks[code] < want) {
        int left = clock_remaining_ms(deadline);
        rc = pump(r, left);
        if (rc < 0)
            return rc;
        if (rc == 0 && clock_remaining_ms(deadline) == 0)
            return ed_seterr(r->base.errmsg, sizeof r->base.errmsg,
                             ED_ERR_TIMEOUT,
                             "the RFC 2217 server at %s did not acknowledge "
                             "%s in time: check the server and its serial "
                             "device",
                             r->where, what);
    }
    return ED_OK;
}

static int set_param(struct rfc_port *r, uint8_t cmd, const uint8_t *val,
                     size_t len, const char *what)
{
    unsigned want = r->acks[cmd] + 1;
    int rc = send_sub(r, cmd, val, len);

    if (rc != ED_OK)
        return rc;
    return wait_ack(r, cmd, want, clock_ms() + r->timeout_ms, what);
}

/* ---- ops ---- */

static void rfc_close(struct port *p)
{
    struct rfc_port *r = rfc_of(p);

    if (r->fd >= 0)
        close(r->fd);
    free(r->rx);
    free(r);
}

static int rfc_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct rfc_port *r = rfc_of(p);
    int64_t deadline = clock_ms() + timeout_ms;
    size_t n;
    int rc;

    for (;;) {
        if (r->rx_len > r->rx_off) {
            n = r->rx_len - r->rx_off;
            if (n > cap)
                n = cap;
            memcpy(buf, r->rx + r->rx_off, n);
            r->rx_off += n;
            if (r->rx_off == r->rx_len)
                r->rx_off = r->rx_len = 0;
            return (int)n;
        }
        rc = pump(r, clock_remaining_ms(deadline));
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
    }
}

static int rfc_write(struct port *p, const uint8_t *buf, size_t len,
                     int timeout_ms)
{
    struct rfc_port *r = rfc_of(p);
    int64_t deadline = clock_ms() + timeout_ms;
    uint8_t out[2048];
    size_t i = 0, n;
    int rc;

    while (i < len) {
        for (n = 0; i < len && n + 2 <= sizeof out; i++) {
            out[n++] = buf[i];
            if (buf[i] == IAC)
                out[n++] = IAC;
        }
        rc = send_raw(r, out, n, deadline);
        if (rc != ED_OK)
            return rc;
    }
    return ED_OK;
}

static int rfc_set_baud(struct port *p, uint32_t baud)
{
    struct rfc_port *r = rfc_of(p);
    uint8_t v[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16),
                    (uint8_t)(baud >> 8), (uint8_t)baud};
    char what[48];

    snprintf(what, sizeof what, "%u baud", (unsigned)baud);
    return set_param(r, CPO_SET_BAUDRATE, v, 4, what);
}

/*
 * DTR/RTS changes wait for their acknowledgement, at most CONTROL_ACK_MS.
 * A server that never acknowledges them (ser2net when its device is a pty,
 * which has no modem lines) is noted once with a warning and not waited for
 * again, so it costs one deadline, not one per line change.
 */
static int set_control(struct rfc_port *r, uint8_t value, const char *what)
{
    unsigned want = r->acks[CPO_SET_CONTROL] + 1;
    int wait = r->timeout_ms < CONTROL_ACK_MS ? r->timeout_ms
                                              : CONTROL_ACK_MS;
    int rc = send_sub(r, CPO_SET_CONTROL, &value, 1);

    if (rc != ED_OK || r->ign_set_control || r->control_unacked)
        return rc;
    rc = wait_ack(r, CPO_SET_CONTROL, want, clock_ms() + wait, what);
    if (rc != ED_ERR_TIMEOUT)
        return rc;
    r->control_unacked = true;
    /* Kept in errmsg too: port_open() logs it once the sink is known. */
    ed_seterr(r->base.errmsg, sizeof r->base.errmsg, ED_OK,
              "the RFC 2217 server at %s does not acknowledge %s within %d "
              "ms (its device may have no modem lines, like a pty): resets "
              "may not reach the board; not waiting for DTR/RTS again",
              r->where, what, wait);
    log_msg(&r->base.log, ED_LOG_WARN, "%s", r->base.errmsg);
    return ED_OK;
}

static int rfc_set_lines(struct port *p, int dtr, int rts)
{
    struct rfc_port *r = rfc_of(p);
    int rc = ED_OK;

    /* No atomic form in RFC 2217: DTR first, then RTS. */
    if (dtr >= 0)
        rc = set_control(r, dtr ? CTL_DTR_ON : CTL_DTR_OFF,
                         dtr ? "DTR on" : "DTR off");
    if (rc == ED_OK && rts >= 0)
        rc = set_control(r, rts ? CTL_RTS_ON : CTL_RTS_OFF,
                         rts ? "RTS on" : "RTS off");
    return rc;
}

static int rfc_flush_input(struct port *p)
{
    struct rfc_port *r = rfc_of(p);
    uint8_t v = PURGE_RX;
    unsigned want = r->acks[CPO_PURGE_DATA] + 1;
    int rc;

    rc = pump(r, 0);
    if (rc < 0)
        return rc;
    rc = send_sub(r, CPO_PURGE_DATA, &v, 1);
    if (rc != ED_OK)
        return rc;
    /* Whatever arrives before the acknowledgement is old data too. */
    if (!r->purge_unacked) {
        rc = wait_ack(r, CPO_PURGE_DATA, want, clock_ms() + PURGE_TIMEOUT_MS,
                      "PURGE-DATA");
        if (rc == ED_ERR_TIMEOUT) {
            log_msg(&r->base.log, ED_LOG_DEBUG,
                    "rfc2217://%s does not acknowledge PURGE-DATA; not "
                    "waiting for it again",
                    r->where);
            r->purge_unacked = true;
            r->base.errmsg[0] = '\0';
        } else if (rc != ED_OK) {
            return rc;
        }
    }
    r->rx_off = r->rx_len = 0;
    return ED_OK;
}

static int rfc_drain(struct port *p, int timeout_ms)
{
    (void)p;
    (void)timeout_ms;
    return ED_OK; /* TCP has taken the bytes; the server paces the UART */
}

static const struct port_ops rfc2217_ops = {
    .close = rfc_close,
    .read = rfc_read,
    .write = rfc_write,
    .set_baud = rfc_set_baud,
    .set_lines = rfc_set_lines,
    .flush_input = rfc_flush_input,
    .drain = rfc_drain,
};

/* "?timeout=500&ign_set_control" */
static int parse_options(struct rfc_port *r, const char *q, char *err,
                         size_t errlen)
{
    char opts[200], *tok, *save = NULL;

    snprintf(opts, sizeof opts, "%s", q);
    for (tok = strtok_r(opts, "&", &save); tok;
         tok = strtok_r(NULL, "&", &save)) {
        if (!strncmp(tok, "timeout=", 8)) {
            char *end;
            long v = strtol(tok + 8, &end, 10);
            if (*end || v <= 0 || v > 600000)
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "bad timeout '%s' in rfc2217://%s: give "
                                 "milliseconds, e.g. ?timeout=3000",
                                 tok + 8, r->where);
            r->timeout_ms = (int)v;
        } else if (!strcmp(tok, "ign_set_control")) {
            r->ign_set_control = true;
        } else {
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "unknown option '%s' in rfc2217://%s: known are "
                             "timeout=MS and ign_set_control",
                             tok, r->where);
        }
    }
    return ED_OK;
}

static int negotiate(struct rfc_port *r, char *err, size_t errlen)
{
    static const uint8_t hello[] = {
        IAC, WILL, OPT_COMPORT, IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY,
        IAC, WILL, OPT_SGA,     IAC, DO,   OPT_SGA,
    };
    int64_t deadline = clock_ms() + r->timeout_ms;
    int rc;

    r->us[OPT_COMPORT] = r->us[OPT_BINARY] = r->us[OPT_SGA] = OPT_WANTYES;
    r->him[OPT_BINARY] = r->him[OPT_SGA] = OPT_WANTYES;
    rc = send_raw(r, hello, sizeof hello, deadline);
    while (rc == ED_OK && r->us[OPT_COMPORT] != OPT_YES &&
           !r->comport_refused) {
        rc = pump(r, clock_remaining_ms(deadline));
        if (rc == 0 && clock_remaining_ms(deadline) == 0)
            break;
        if (rc > 0)
            rc = ED_OK;
    }
    if (rc == ED_ERR_CLOSED)
        return ed_seterr(err, errlen, ED_ERR_CLOSED,
                         "the RFC 2217 server at %s closed the connection "
                         "during Telnet negotiation: is that port an RFC "
                         "2217 (telnet) port?",
                         r->where);
    if (rc < 0)
        return ed_seterr(err, errlen, rc, "%s", r->base.errmsg);
    if (r->comport_refused)
        return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                         "the RFC 2217 server at %s refuses "
                         "COM-PORT-OPTION: use socket:// (no reset, no baud "
                         "change) or enable RFC 2217 in the server",
                         r->where);
    if (r->us[OPT_COMPORT] != OPT_YES)
        return ed_seterr(err, errlen, ED_ERR_UNSUPPORTED,
                         "the RFC 2217 server at %s does not answer "
                         "COM-PORT-OPTION within %d ms: use socket:// (no "
                         "reset, no baud change) or enable RFC 2217 in the "
                         "server",
                         r->where, r->timeout_ms);
    return ED_OK;
}

/* Baud, 8N1 (all acknowledged), lines released. */
static int configure(struct rfc_port *r, uint32_t baud)
{
    uint8_t v8 = 8, parity = PARITY_NONE, stop = 1;
    uint8_t vb[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16),
                     (uint8_t)(baud >> 8), (uint8_t)baud};
    unsigned want[5];
    int64_t deadline;
    int rc;

    want[CPO_SET_BAUDRATE] = r->acks[CPO_SET_BAUDRATE] + 1;
    want[CPO_SET_DATASIZE] = r->acks[CPO_SET_DATASIZE] + 1;
    want[CPO_SET_PARITY] = r->acks[CPO_SET_PARITY] + 1;
    want[CPO_SET_STOPSIZE] = r->acks[CPO_SET_STOPSIZE] + 1;
    /* Send all four, then collect the answers: one round trip. */
    rc = send_sub(r, CPO_SET_BAUDRATE, vb, 4);
    if (rc == ED_OK)
        rc = send_sub(r, CPO_SET_DATASIZE, &v8, 1);
    if (rc == ED_OK)
        rc = send_sub(r, CPO_SET_PARITY, &parity, 1);
    if (rc == ED_OK)
        rc = send_sub(r, CPO_SET_STOPSIZE, &stop, 1);
    deadline = clock_ms() + r->timeout_ms;
    if (rc == ED_OK)
        rc = wait_ack(r, CPO_SET_BAUDRATE, want[CPO_SET_BAUDRATE], deadline,
                      "SET-BAUDRATE");
    if (rc == ED_OK)
        rc = wait_ack(r, CPO_SET_DATASIZE, want[CPO_SET_DATASIZE], deadline,
                      "SET-DATASIZE");
    if (rc == ED_OK)
        rc = wait_ack(r, CPO_SET_PARITY, want[CPO_SET_PARITY], deadline,
                      "SET-PARITY");
    if (rc == ED_OK)
        rc = wait_ack(r, CPO_SET_STOPSIZE, want[CPO_SET_STOPSIZE], deadline,
                      "SET-STOPSIZE");
    if (rc == ED_OK)
        rc = rfc_set_lines(&r->base, 0, 0);
    return rc;
}

int port_rfc2217_open(struct port **out, const char *hostport, uint32_t baud,
                      char *err, size_t errlen)
{
    struct rfc_port *r;
    const char *q;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    r->fd = -1;
    r->timeout_ms = DEFAULT_TIMEOUT_MS;
    r->base.ops = &rfc2217_ops;
    r->base.kind = PORT_RFC2217;
    r->base.baud = baud;
    r->base.has_lines = true;
    q = strchr(hostport, '?');
    snprintf(r->where, sizeof r->where, "%.*s",
             (int)(q ? (size_t)(q - hostport) : strlen(hostport)), hostport);
    snprintf(r->base.url, sizeof r->base.url, "rfc2217://%s", hostport);
    snprintf(r->base.description, sizeof r->base.description,
             "RFC 2217 at %.100s", r->where);
    if (q) {
        rc = parse_options(r, q + 1, err, errlen);
        if (rc != ED_OK)
            goto fail;
    }
    rc = port_tcp_connect(&r->fd, "rfc2217://", hostport, CONNECT_TIMEOUT_MS,
                          err, errlen);
    if (rc != ED_OK)
        goto fail;
    rc = negotiate(r, err, errlen);
    if (rc != ED_OK)
        goto fail;
    rc = configure(r, baud);
    if (rc != ED_OK) {
        ed_seterr(err, errlen, rc, "%s", r->base.errmsg);
        goto fail;
    }
    r->base.dtr = r->base.rts = 0;
    *out = &r->base;
    return ED_OK;
fail:
    rfc_close(&r->base);
    return rc;
}
