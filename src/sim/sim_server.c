/*
 * sim_server.c - TCP (raw and RFC 2217) and pty transports for a simulated
 * board (see sim_server.h).
 *
 * The loop: poll() on the listening socket, the client (or pty master),
 * the caller's stop fd and a timer from sim_next_event_us(); bytes from the
 * client go to sim_rx() as they arrive, bytes from sim_tx() go out when
 * the core says they are due (the core paces; we deliver on time).
 */
#include "sim/sim_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "sim/sim_chip.h"

/* Telnet (RFC 854/856/858) and RFC 2217. */
#define T_SE 240
#define T_SB 250
#define T_WILL 251
#define T_WONT 252
#define T_DO 253
#define T_DONT 254
#define T_IAC 255
#define OPT_BINARY 0
#define OPT_SGA 3
#define OPT_COMPORT 44

#define CP_SIGNATURE 0
#define CP_SET_BAUDRATE 1
#define CP_SET_DATASIZE 2
#define CP_SET_PARITY 3
#define CP_SET_STOPSIZE 4
#define CP_SET_CONTROL 5
#define CP_NOTIFY_LINESTATE 6
#define CP_NOTIFY_MODEMSTATE 7
#define CP_FLOWCONTROL_SUSPEND 8
#define CP_FLOWCONTROL_RESUME 9
#define CP_SET_LINESTATE_MASK 10
#define CP_SET_MODEMSTATE_MASK 11
#define CP_PURGE_DATA 12
#define CP_SERVER 100

#define OUT_MAX (256 * 1024) /* stop pulling from the board past this */
/* A client that sends requests and never reads their answers: the queue
 * stops growing here (the client is not read past OUT_MAX, so only what
 * one read brings can go beyond it), and answers beyond it are lost. */
#define OUT_HARD (2 * OUT_MAX)
/* How long "DTR and RTS both asserted" waits for the next line change. */
#define HOLD_BOTH_US 250000
#define SB_MAX 64

enum srv_kind { SRV_RAW, SRV_RFC2217, SRV_PTY };

enum tn_state { TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC };

struct sim_server {
    struct sim *sim;
    enum srv_kind kind;
    struct log_sink log;
    char url[300];
    int lfd;               /* listening socket, -1 for pty */
    int ctl_fd;            /* fixture commands, -1 = none */
    void (*tick)(void *ctx, struct sim *sim, int64_t now_us);
    void *tick_ctx;
    char ctl[256];         /* a command line being read */
    size_t ctl_len;
    int cfd;               /* client socket or pty master, -1 = none */
    int slave_fd;          /* pty: our own handle on the slave */
    char *link;            /* pty: the symlink we made */
    speed_t slave_speed;   /* pty: last speed seen on the slave */

    /* Output waiting for the client (already Telnet-escaped). */
    uint8_t *out;
    size_t out_len, out_cap;

    /* Telnet / RFC 2217 state of the current client. */
    enum tn_state tn;
    uint8_t tn_cmd;
    uint8_t sb[SB_MAX];
    size_t sb_len;
    bool sb_overflow;
    bool us[256], them[256]; /* options enabled on each side */
    bool dtr, rts;
    bool held;             /* a line change waits (see set_lines) */
    int64_t held_until;
    uint32_t baud;
    uint8_t datasize, parity, stopsize, flow;
};

/* ---- output ---- */

static int out_reserve(struct sim_server *srv, size_t more)
{
    size_t cap;
    uint8_t *p;
    if (srv->out_len + more <= srv->out_cap)
        return 0;
    if (srv->out_len + more > OUT_HARD)
        return -1;
    cap = srv->out_cap ? srv->out_cap : 4096;
    while (cap < srv->out_len + more)
        cap *= 2;
    p = realloc(srv->out, cap);
    if (!p)
        return -1;
    srv->out = p;
    srv->out_cap = cap;
    return 0;
}

/* Queue raw protocol bytes (no escaping). */
static void out_raw(struct sim_server *srv, const uint8_t *b, size_t n)
{
    if (out_reserve(srv, n) == 0) {
        memcpy(srv->out + srv->out_len, b, n);
        srv->out_len += n;
    }
}

/* Queue data bytes, doubling IAC on a Telnet connection. */
static void out_data(struct sim_server *srv, const uint8_t *b, size_t n)
{
    size_t i;
    if (srv->kind != SRV_RFC2217) {
        out_raw(srv, b, n);
        return;
    }
    if (out_reserve(srv, 2 * n) != 0)
        return;
    for (i = 0; i < n; i++) {
        srv->out[srv->out_len++] = b[i];
        if (b[i] == T_IAC)
            srv->out[srv->out_len++] = T_IAC;
    }
}

static void tn_send(struct sim_server *srv, uint8_t cmd, uint8_t opt)
{
    uint8_t b[3] = {T_IAC, cmd, opt};
    out_raw(srv, b, 3);
}

/* IAC SB COM-PORT-OPTION code value... IAC SE, IAC doubled in value. */
static void cp_send(struct sim_server *srv, uint8_t code, const uint8_t *v,
                    size_t n)
{
    uint8_t hdr[4] = {T_IAC, T_SB, OPT_COMPORT, code};
    uint8_t tail[2] = {T_IAC, T_SE};
    size_t i;
    out_raw(srv, hdr, 4);
    for (i = 0; i < n; i++) {
        out_raw(srv, &v[i], 1);
        if (v[i] == T_IAC)
            out_raw(srv, &v[i], 1);
    }
    out_raw(srv, tail, 2);
}

/* ---- Telnet option negotiation (we never answer an acknowledgement) ---- */

static bool supported(uint8_t opt)
{
    return opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_COMPORT;
}

static void tn_option(struct sim_server *srv, uint8_t cmd, uint8_t opt)
{
    switch (cmd) {
    case T_DO: /* the client asks us to enable opt on our side */
        if (!supported(opt)) {
            tn_send(srv, T_WONT, opt);
        } else if (!srv->us[opt]) {
            srv->us[opt] = true;
            tn_send(srv, T_WILL, opt);
        }
        break;
    case T_DONT:
        if (srv->us[opt]) {
            srv->us[opt] = false;
            tn_send(srv, T_WONT, opt);
        }
        break;
    case T_WILL: /* the client offers opt on its side */
        if (!supported(opt)) {
            tn_send(srv, T_DONT, opt);
        } else if (!srv->them[opt]) {
            srv->them[opt] = true;
            tn_send(srv, T_DO, opt);
        }
        break;
    case T_WONT:
        if (srv->them[opt]) {
            srv->them[opt] = false;
            tn_send(srv, T_DONT, opt);
        }
        break;
    }
    log_msg(&srv->log, ED_LOG_DEBUG, "sim server: telnet %s %u",
            cmd == T_DO ? "DO" : cmd == T_DONT ? "DONT" : cmd == T_WILL
            ? "WILL" : "WONT", opt);
}

/* ---- RFC 2217 requests ---- */

/*
 * RFC 2217 changes one line per request, and clients wait for each
 * acknowledgement (pyserial polls every 50 ms), so esptool's classic reset
 * (DTR=1 while RTS=1, then RTS=0) would leave "both asserted" on the board
 * long enough for the chip to leave reset with IO0 high.  A local serial
 * port sets both lines at once; so does this server, the way esptool's own
 * RFC 2217 server resets the chip itself: "both asserted" (EN and IO0 high
 * on the auto-reset circuit, the same as both released) is held until the
 * next line change, or HOLD_BOTH_US, and then applied together with it.
 */
static void set_lines(struct sim_server *srv)
{
    int64_t now = clock_us();
    if (srv->dtr && srv->rts) {
        if (!srv->held) {
            srv->held = true;
            srv->held_until = now + HOLD_BOTH_US;
        }
        return;
    }
    srv->held = false;
    sim_set_lines(srv->sim, srv->dtr, srv->rts, now);
}

static void release_held(struct sim_server *srv, int64_t now)
{
    if (srv->held && now >= srv->held_until) {
        srv->held = false;
        sim_set_lines(srv->sim, srv->dtr, srv->rts, now);
    }
}

static void cp_request(struct sim_server *srv, const uint8_t *sb, size_t n)
{
    uint8_t code, reply[4];
    const uint8_t *v;
    size_t vn;
    int64_t now = clock_us();

    if (n < 2 || sb[0] != OPT_COMPORT)
        return;
    code = sb[1];
    v = sb + 2;
    vn = n - 2;
    switch (code) {
    case CP_SIGNATURE: {
        static const char sig[] = "espdeck simulated board";
        if (vn == 0)
            cp_send(srv, CP_SERVER + code, (const uint8_t *)sig,
                    sizeof sig - 1);
        else
            log_msg(&srv->log, ED_LOG_DEBUG, "sim server: client is %.*s",
                    (int)vn, (const char *)v);
        break;
    }
    case CP_SET_BAUDRATE:
        if (vn >= 4) {
            uint32_t b = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
                         (uint32_t)v[2] << 8 | v[3];
            if (b) {
                srv->baud = b;
                sim_set_host_baud(srv->sim, b, now);
                log_msg(&srv->log, ED_LOG_DEBUG, "sim server: baud %u", b);
            }
        }
        reply[0] = (uint8_t)(srv->baud >> 24);
        reply[1] = (uint8_t)(srv->baud >> 16);
        reply[2] = (uint8_t)(srv->baud >> 8);
        reply[3] = (uint8_t)srv->baud;
        cp_send(srv, CP_SERVER + code, reply, 4);
        break;
    case CP_SET_DATASIZE:
        if (vn >= 1 && v[0] >= 5 && v[0] <= 8)
            srv->datasize = v[0];
        cp_send(srv, CP_SERVER + code, &srv->datasize, 1);
        break;
    case CP_SET_PARITY:
        if (vn >= 1 && v[0] >= 1 && v[0] <= 5)
            srv->parity = v[0];
        cp_send(srv, CP_SERVER + code, &srv->parity, 1);
        break;
    case CP_SET_STOPSIZE:
        if (vn >= 1 && v[0] >= 1 && v[0] <= 3)
            srv->stopsize = v[0];
        cp_send(srv, CP_SERVER + code, &srv->stopsize, 1);
        break;
    case CP_SET_CONTROL: {
        uint8_t c = vn >= 1 ? v[0] : 0, r = c;
        switch (c) {
        case 0: /* flow control query */
            r = srv->flow;
            break;
        case 1: case 2: case 3: /* none, XON/XOFF, hardware */
            srv->flow = c;
            break;
        case 4: /* BREAK query */
            r = 6;
            break;
        case 7:
            r = srv->dtr ? 8 : 9;
            break;
        case 8: case 9:
            srv->dtr = c == 8;
            set_lines(srv);
            break;
        case 10:
            r = srv->rts ? 11 : 12;
            break;
        case 11: case 12:
            srv->rts = c == 11;
            set_lines(srv);
            break;
        case 13: /* inbound flow query */
            r = 14;
            break;
        default: /* BREAK on/off, inbound flow settings: accepted */
            break;
        }
        cp_send(srv, CP_SERVER + code, &r, 1);
        break;
    }
    case CP_NOTIFY_MODEMSTATE: /* a poll: CTS, DSR and CD are up */
        reply[0] = 0x10 | 0x20 | 0x80;
        cp_send(srv, CP_SERVER + code, reply, 1);
        break;
    case CP_NOTIFY_LINESTATE:
        reply[0] = 0;
        cp_send(srv, CP_SERVER + code, reply, 1);
        break;
    case CP_FLOWCONTROL_SUSPEND:
    case CP_FLOWCONTROL_RESUME:
        cp_send(srv, CP_SERVER + code, NULL, 0);
        break;
    case CP_SET_LINESTATE_MASK:
    case CP_SET_MODEMSTATE_MASK:
        reply[0] = vn >= 1 ? v[0] : 0;
        cp_send(srv, CP_SERVER + code, reply, 1);
        break;
    case CP_PURGE_DATA:
        /* 1: data from the board not yet sent; 2: to the board; 3: both.
         * Bytes already on the simulated wire are past purging. */
        reply[0] = vn >= 1 ? v[0] : 3;
        cp_send(srv, CP_SERVER + code, reply, 1);
        break;
    default:
        log_msg(&srv->log, ED_LOG_DEBUG,
                "sim server: unknown COM-PORT-OPTION request %u", code);
        break;
    }
}

/* Feed bytes from a Telnet client: data to the board, commands handled. */
static void tn_input(struct sim_server *srv, const uint8_t *b, size_t n)
{
    uint8_t data[4096];
    size_t dn = 0, i;

    for (i = 0; i < n; i++) {
        uint8_t c = b[i];
        switch (srv->tn) {
        case TN_DATA:
            if (c == T_IAC)
                srv->tn = TN_IAC;
            else
                data[dn++] = c;
            break;
        case TN_IAC:
            if (c == T_IAC) {
                data[dn++] = T_IAC;
                srv->tn = TN_DATA;
            } else if (c >= T_WILL) {
                srv->tn_cmd = c;
                srv->tn = TN_OPT;
            } else if (c == T_SB) {
                srv->sb_len = 0;
                srv->sb_overflow = false;
                srv->tn = TN_SB;
            } else {
                srv->tn = TN_DATA; /* NOP, GA, AYT...: ignored */
            }
            break;
        case TN_OPT:
            tn_option(srv, srv->tn_cmd, c);
            srv->tn = TN_DATA;
            break;
        case TN_SB:
            if (c == T_IAC) {
                srv->tn = TN_SB_IAC;
            } else if (srv->sb_len < SB_MAX) {
                srv->sb[srv->sb_len++] = c;
            } else {
                srv->sb_overflow = true;
            }
            break;
        case TN_SB_IAC:
            if (c == T_SE) {
                /* Data before the request reaches the board first. */
                if (dn) {
                    sim_rx(srv->sim, data, dn, clock_us());
                    dn = 0;
                }
                if (!srv->sb_overflow)
                    cp_request(srv, srv->sb, srv->sb_len);
                srv->tn = TN_DATA;
            } else if (c == T_IAC) {
                if (srv->sb_len < SB_MAX)
                    srv->sb[srv->sb_len++] = T_IAC;
                srv->tn = TN_SB;
            } else {
                srv->tn = TN_DATA; /* malformed: drop the subnegotiation */
            }
            break;
        }
        if (dn == sizeof data) {
            sim_rx(srv->sim, data, dn, clock_us());
            dn = 0;
        }
    }
    if (dn)
        sim_rx(srv->sim, data, dn, clock_us());
}

/* ---- connections ---- */

static void client_reset(struct sim_server *srv);

size_t sim_server_telnet_feed(struct sim *sim, const uint8_t *in, size_t n,
                              size_t step, uint8_t *out, size_t cap)
{
    struct sim_server srv;
    size_t off = 0, total;

    memset(&srv, 0, sizeof srv);
    srv.sim = sim;
    srv.kind = SRV_RFC2217;
    srv.lfd = srv.cfd = srv.ctl_fd = srv.slave_fd = -1;
    client_reset(&srv);
    while (off < n) {
        size_t k = step && n - off > step ? step : n - off;

        tn_input(&srv, in + off, k);
        off += k;
    }
    total = srv.out_len;
    if (out && total)
        memcpy(out, srv.out, total < cap ? total : cap);
    free(srv.out);
    return total;
}

static void client_reset(struct sim_server *srv)
{
    srv->tn = TN_DATA;
    srv->sb_len = 0;
    memset(srv->us, 0, sizeof srv->us);
    memset(srv->them, 0, sizeof srv->them);
    srv->dtr = srv->rts = false;
    srv->held = false;
    srv->baud = 115200;
    srv->datasize = 8;
    srv->parity = 1;
    srv->stopsize = 1;
    srv->flow = 1;
    srv->out_len = 0;
}

static void client_close(struct sim_server *srv)
{
    if (srv->cfd < 0)
        return;
    close(srv->cfd);
    srv->cfd = -1;
    srv->out_len = 0;
    sim_disconnect(srv->sim, clock_us());
    log_msg(&srv->log, ED_LOG_INFO, "sim server: client disconnected");
}

static void client_accept(struct sim_server *srv)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN + 8] = "?";
    int one = 1;
    int fd = accept(srv->lfd, (struct sockaddr *)&ss, &sl);

    if (fd < 0)
        return;
    if (srv->cfd >= 0) {
        /* One client at a time: tell the newcomer and close. */
        static const char busy[] =
            "espdeck sim: the board is in use by another client\r\n";
        if (srv->kind == SRV_RAW)
            (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
        close(fd);
        log_msg(&srv->log, ED_LOG_INFO,
                "sim server: refused a second client (one at a time)");
        return;
    }
    if (sim_port_gone(srv->sim, clock_us())) {
        close(fd); /* no port: as a serial device that is not there */
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
                  sizeof host);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
                  sizeof host);
    srv->cfd = fd;
    client_reset(srv);
    log_msg(&srv->log, ED_LOG_INFO, "sim server: client connected from %s",
            host);
    if (srv->kind == SRV_RFC2217) {
        /* Offer what we speak; the client's answers are acknowledgements. */
        srv->us[OPT_COMPORT] = srv->us[OPT_BINARY] = srv->us[OPT_SGA] = true;
        tn_send(srv, T_WILL, OPT_COMPORT);
        tn_send(srv, T_WILL, OPT_BINARY);
        tn_send(srv, T_WILL, OPT_SGA);
    }
    sim_connect(srv->sim, srv->kind == SRV_RFC2217, clock_us());
}

/* ---- setup ---- */

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
                24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

static int listen_tcp(struct sim_server *srv, const char *scheme,
                      const char *hostport, bool bind_any, char *err,
                      size_t errlen)
{
    char host[256], port[16];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = -1, one = 1, rc, e;
    size_t hl;
    char *end;
    long pn;

    if (!colon || colon[1] == '\0')
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "--listen %s://%s needs a port: %s://127.0.0.1:4000",
                         scheme, hostport, scheme);
    pn = strtol(colon + 1, &end, 10);
    if (*end || pn < 0 || pn > 65535)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "--listen: '%s' is not a TCP port (0-65535)",
                         colon + 1);
    hl = (size_t)(colon - hostport);
    if (hl >= sizeof host)
        return ed_seterr(err, errlen, ED_ERR_ARG, "--listen: host too long");
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    snprintf(port, sizeof port, "%ld", pn);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (!host[0] || !strcmp(host, "*"))
        snprintf(host, sizeof host, "%s", bind_any ? "0.0.0.0" : "127.0.0.1");
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "--listen: cannot resolve '%s': %s", host,
                         gai_strerror(rc));
    if (!bind_any && !is_loopback(res->ai_addr)) {
        freeaddrinfo(res);
        return ed_seterr(err, errlen, ED_ERR_PERM,
                         "--listen %s would expose the board to the network: "
                         "use 127.0.0.1, or add --bind-any if you mean it",
                         host);
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        e = errno;
        freeaddrinfo(res);
        return ed_seterr(err, errlen, ED_ERR_IO, "socket: %s", strerror(e));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        e = errno;
        freeaddrinfo(res);
        close(fd);
        if (e == EADDRINUSE)
            return ed_seterr(err, errlen, ED_ERR_BUSY,
                             "port %s on %s is in use: pick another port in "
                             "--listen", port, host);
        if (e == EACCES)
            return ed_seterr(err, errlen, ED_ERR_PERM,
                             "binding port %s needs privileges: use a port "
                             "above 1023", port);
        return ed_seterr(err, errlen, ED_ERR_IO, "bind %s:%s: %s", host,
                         port, strerror(e));
    }
    freeaddrinfo(res);
    if (listen(fd, 4) != 0) {
        e = errno;
        close(fd);
        return ed_seterr(err, errlen, ED_ERR_IO, "listen: %s", strerror(e));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char a[INET6_ADDRSTRLEN] = "";
        unsigned p = 0;
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a,
                      sizeof a);
            p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            snprintf(srv->url, sizeof srv->url, "%s://%s:%u", scheme, a, p);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a,
                      sizeof a);
            p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            snprintf(srv->url, sizeof srv->url, "%s://[%s]:%u", scheme, a,
                     p);
        }
    }
    srv->lfd = fd;
    return ED_OK;
}

static int open_pty(struct sim_server *srv, const char *path, char *err,
                    size_t errlen)
{
    char name[128];
    struct termios tio;
    struct stat st;
    int m, e;

    if (!path[0])
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "--listen pty: needs a path: pty:/tmp/esp32-sim");
    if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode))
        return ed_seterr(err, errlen, ED_ERR_BUSY,
                         "%s exists and is not a symlink: pick another path "
                         "for pty:", path);
    m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 ||
        ptsname_r(m, name, sizeof name) != 0) {
        e = errno;
        if (m >= 0)
            close(m);
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot create a pseudo-terminal: %s", strerror(e));
    }
    if (tcgetattr(m, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(m, TCSANOW, &tio);
    }
    /* Hold the slave open: the master never sees a hang-up between users,
     * and the slave starts raw at 115200 for whoever opens it. */
    srv->slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (srv->slave_fd >= 0 && tcgetattr(srv->slave_fd, &tio) == 0) {
        cfmakeraw(&tio);
        cfsetspeed(&tio, B115200);
        tcsetattr(srv->slave_fd, TCSANOW, &tio);
        srv->slave_speed = B115200;
    }
    unlink(path);
    if (symlink(name, path) != 0) {
        e = errno;
        close(m);
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot make the link %s -> %s: %s", path, name,
                         strerror(e));
    }
    srv->link = strdup(path);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    srv->cfd = m;
    snprintf(srv->url, sizeof srv->url, "pty:%s", path);
    return ED_OK;
}

int sim_server_new(struct sim_server **out, struct sim *sim,
                   const struct sim_server_config *cfg, char *err,
                   size_t errlen)
{
    struct sim_server *srv;
    const char *u = cfg->listen ? cfg->listen : "";
    int rc;

    *out = NULL;
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    srv->sim = sim;
    srv->log = cfg->log;
    srv->lfd = srv->cfd = srv->slave_fd = -1;
    srv->ctl_fd = cfg->control ? cfg->control_fd : -1;
    srv->tick = cfg->tick;
    srv->tick_ctx = cfg->tick_ctx;
    client_reset(srv);
    if (!strncmp(u, "rfc2217://", 10)) {
        srv->kind = SRV_RFC2217;
        rc = listen_tcp(srv, "rfc2217", u + 10, cfg->bind_any, err, errlen);
    } else if (!strncmp(u, "socket://", 9)) {
        srv->kind = SRV_RAW;
        rc = listen_tcp(srv, "socket", u + 9, cfg->bind_any, err, errlen);
    } else if (!strncmp(u, "pty:", 4)) {
        srv->kind = SRV_PTY;
        rc = open_pty(srv, u + 4, err, errlen);
    } else {
        rc = ed_seterr(err, errlen, ED_ERR_ARG,
                       "--listen '%s' is not a URL I serve: use "
                       "rfc2217://127.0.0.1:PORT, socket://127.0.0.1:PORT "
                       "or pty:PATH", u);
    }
    if (rc != ED_OK) {
        sim_server_free(srv);
        return rc;
    }
    *out = srv;
    return ED_OK;
}

const char *sim_server_url(const struct sim_server *srv)
{
    return srv->url;
}

void sim_server_free(struct sim_server *srv)
{
    if (!srv)
        return;
    if (srv->kind == SRV_PTY) {
        if (srv->cfd >= 0)
            close(srv->cfd);
        srv->cfd = -1;
    } else {
        client_close(srv);
    }
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->slave_fd >= 0)
        close(srv->slave_fd);
    if (srv->link)
        unlink(srv->link);
    free(srv->link);
    free(srv->out);
    free(srv);
}

/* ---- the loop ---- */

static speed_t speed_of(uint32_t *baud, speed_t sp)
{
    static const struct {
        speed_t sp;
        uint32_t baud;
    } t[] = {{B9600, 9600},     {B19200, 19200},     {B38400, 38400},
             {B57600, 57600},   {B115200, 115200},   {B230400, 230400},
             {B460800, 460800}, {B921600, 921600},   {B1500000, 1500000},
             {B2000000, 2000000}, {B3000000, 3000000}};
    size_t i;
    *baud = 0;
    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].sp == sp)
            *baud = t[i].baud;
    return sp;
}

/* pty: whoever has the slave open may have changed its speed. */
static void pty_watch_baud(struct sim_server *srv)
{
    struct termios tio;
    speed_t sp;
    uint32_t baud;
    if (srv->slave_fd < 0 || tcgetattr(srv->slave_fd, &tio) != 0)
        return;
    sp = cfgetospeed(&tio);
    if (sp == srv->slave_speed)
        return;
    srv->slave_speed = speed_of(&baud, sp);
    if (baud) {
        sim_set_host_baud(srv->sim, baud, clock_us());
        log_msg(&srv->log, ED_LOG_DEBUG, "sim server: pty baud %u", baud);
    }
}

/* Pull due output from the board into the out buffer. */
static void pump_tx(struct sim_server *srv, int64_t now)
{
    uint8_t buf[4096];
    size_t n;

    while (srv->out_len < OUT_MAX &&
           (n = sim_tx(srv->sim, buf, sizeof buf, now)) > 0) {
        if (srv->cfd >= 0)
            out_data(srv, buf, n);
    }
    if (srv->kind == SRV_PTY && srv->out_len >= OUT_MAX)
        srv->out_len = 0; /* nobody reads the pty: the bytes are gone */
}

/* Write what we can; false if the client went away. */
static bool flush_out(struct sim_server *srv)
{
    size_t done = 0;
    while (done < srv->out_len) {
        ssize_t w;
        if (srv->kind == SRV_PTY)
            w = write(srv->cfd, srv->out + done, srv->out_len - done);
        else
            w = send(srv->cfd, srv->out + done, srv->out_len - done,
                     MSG_NOSIGNAL);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (srv->kind == SRV_PTY) {
            done = srv->out_len; /* no reader: drop */
            break;
        }
        return false;
    }
    if (done) {
        memmove(srv->out, srv->out + done, srv->out_len - done);
        srv->out_len -= done;
    }
    return true;
}

/* Read from the client; false if it went away. */
static bool read_client(struct sim_server *srv)
{
    uint8_t buf[8192];
    for (;;) {
        ssize_t r;

        if (srv->out_len >= OUT_MAX && srv->kind != SRV_PTY)
            return true; /* it reads our answers first */
        r = read(srv->cfd, buf, sizeof buf);
        if (r > 0) {
            if (srv->kind == SRV_RFC2217)
                tn_input(srv, buf, (size_t)r);
            else
                sim_rx(srv->sim, buf, (size_t)r, clock_us());
            if ((size_t)r < sizeof buf)
                return true;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (srv->kind == SRV_PTY)
            return true; /* EIO with no slave user: keep serving */
        return false;
    }
}

/* Fixture commands: whole lines to sim_unit_command. */
static void read_control(struct sim_server *srv)
{
    char buf[256];
    ssize_t n = read(srv->ctl_fd, buf, sizeof buf);
    ssize_t i;

    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            srv->ctl_fd = -1; /* the writer closed a pipe: no more */
        return;
    }
    for (i = 0; i < n; i++) {
        char err[ED_ERRMSG_MAX];

        if (buf[i] != '\n') {
            if (srv->ctl_len + 1 < sizeof srv->ctl)
                srv->ctl[srv->ctl_len++] = buf[i];
            continue;
        }
        srv->ctl[srv->ctl_len] = '\0';
        srv->ctl_len = 0;
        if (!srv->ctl[0])
            continue;
        if (sim_unit_command(srv->sim, srv->ctl, clock_us(), err,
                             sizeof err) != ED_OK)
            log_msg(&srv->log, ED_LOG_WARN, "sim control: %s", err);
        else
            log_msg(&srv->log, ED_LOG_INFO, "sim control: %s", srv->ctl);
    }
}

int sim_server_run(struct sim_server *srv, int stop_fd, char *err,
                   size_t errlen)
{
    if (srv->kind == SRV_PTY)
        sim_connect(srv->sim, false, clock_us());
    for (;;) {
        struct pollfd pf[4];
        int np = 0, i_stop = -1, i_l = -1, i_c = -1, i_k = -1, r;
        int64_t now = clock_us(), next, timeout = -1; /* microseconds */
        struct timespec ts;

        if (srv->tick)
            srv->tick(srv->tick_ctx, srv->sim, now);
        if (srv->cfd >= 0 && srv->kind != SRV_PTY &&
            sim_port_gone(srv->sim, now)) {
            log_msg(&srv->log, ED_LOG_INFO,
                    "sim server: the unit's port is gone: client dropped");
            client_close(srv);
        }

        if (srv->kind == SRV_PTY)
            pty_watch_baud(srv);
        release_held(srv, now);
        pump_tx(srv, now);
        /* the fault spec's cut: the client loses the connection; the
         * board keeps its state for the next one */
        if (srv->cfd >= 0 && srv->kind != SRV_PTY &&
            sim_link_cut(srv->sim, now))
            client_close(srv);
        if (srv->cfd >= 0 && srv->out_len && !flush_out(srv))
            client_close(srv);
        next = srv->out_len >= OUT_MAX ? -1
                                         : sim_next_event_us(srv->sim, now);
        if (srv->held && (next < 0 || srv->held_until < next))
            next = srv->held_until;
        /* woken when the next byte is due, to the microsecond: a wait
         * rounded up to the millisecond handed a reply's last bytes to
         * the host up to a millisecond after their time on the wire */
        if (next >= 0)
            timeout = next - now < 0 ? 0
                      : next - now > 1000000 ? 1000000 : next - now;
        if (srv->kind == SRV_PTY && (timeout < 0 || timeout > 200000))
            timeout = 200000; /* notice baud changes on the slave */
        if (stop_fd >= 0) {
            pf[np].fd = stop_fd;
            pf[np].events = POLLIN;
            i_stop = np++;
        }
        if (srv->lfd >= 0) {
            pf[np].fd = srv->lfd;
            pf[np].events = POLLIN;
            i_l = np++;
        }
        if (srv->cfd >= 0) {
            pf[np].fd = srv->cfd;
            pf[np].events = (srv->out_len < OUT_MAX || srv->kind == SRV_PTY
                                 ? POLLIN : 0) |
                            (srv->out_len ? POLLOUT : 0);
            i_c = np++;
        }
        if (srv->ctl_fd >= 0) {
            pf[np].fd = srv->ctl_fd;
            pf[np].events = POLLIN;
            i_k = np++;
        }
        ts.tv_sec = (time_t)(timeout / 1000000);
        ts.tv_nsec = (long)(timeout % 1000000) * 1000;
        r = ppoll(pf, (nfds_t)np, timeout < 0 ? NULL : &ts, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ed_seterr(err, errlen, ED_ERR_IO, "poll: %s",
                             strerror(errno));
        }
        if (i_stop >= 0 && pf[i_stop].revents)
            return ED_OK;
        if (i_c >= 0 && srv->cfd >= 0) {
            if (pf[i_c].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!read_client(srv))
                    client_close(srv);
                else if (srv->kind == SRV_PTY &&
                         (pf[i_c].revents & (POLLHUP | POLLERR)) &&
                         !(pf[i_c].revents & POLLIN))
                    clock_sleep_ms(20); /* no slave user: do not spin */
            }
        }
        if (i_l >= 0 && (pf[i_l].revents & POLLIN))
            client_accept(srv);
        if (i_k >= 0 && pf[i_k].revents)
            read_control(srv);
    }
}

/* ---- option helpers ---- */

int sim_server_parse_size(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    *out = 0;
    if (!s || !*s || *s == '-')
        return ED_ERR_ARG;
    v = strtoull(s, &end, 0);
    if (end == s)
        return ED_ERR_ARG;
    if (!strcasecmp(end, "MB") || !strcasecmp(end, "M") ||
        !strcasecmp(end, "MiB"))
        v <<= 20;
    else if (!strcasecmp(end, "KB") || !strcasecmp(end, "K") ||
             !strcasecmp(end, "KiB"))
        v <<= 10;
    else if (*end)
        return ED_ERR_ARG;
    if (v == 0 || v > 0xFFFFFFFFull)
        return ED_ERR_ARG;
    *out = (uint32_t)v;
    return ED_OK;
}

int sim_server_parse_mac(const char *s, uint8_t out[6])
{
    int i;
    for (i = 0; i < 6; i++) {
        char *end;
        unsigned long v;
        if (!isxdigit((unsigned char)s[0]))
            return ED_ERR_ARG;
        v = strtoul(s, &end, 16);
        if (v > 255 || end - s > 2)
            return ED_ERR_ARG;
        out[i] = (uint8_t)v;
        s = end;
        if (i < 5) {
            if (*s != ':' && *s != '-')
                return ED_ERR_ARG;
            s++;
        }
    }
    return *s ? ED_ERR_ARG : ED_OK;
}

/* Parse "chip?k=v&k=v" into cfg; strings point into buf (a copy). */
int sim_server_parse_spec(char *buf, struct sim_config *cfg, char *err,
                          size_t errlen)
{
    char *q = strchr(buf, '?'), *kv, *save = NULL;

    if (q)
        *q++ = '\0';
    if (!buf[0])
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "sim: needs a chip: sim:esp32, sim:esp32c3, ...");
    if (!sim_chip_find(buf))
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "unknown chip '%s' in sim:%s: use esp32, esp32s2, "
                         "esp32s3, esp32c2, esp32c3, esp32c6, esp32h2, "
                         "esp32c5 or esp32p4", buf, buf);
    cfg->chip = buf;
    for (kv = q ? strtok_r(q, "&", &save) : NULL; kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *v = strchr(kv, '=');
        if (!v)
            return ed_seterr(err, errlen, ED_ERR_ARG,
                             "sim: option '%s' needs a value (name=value)",
                             kv);
        *v++ = '\0';
        if (!strcmp(kv, "flash")) {
            if (sim_server_parse_size(v, &cfg->flash_size) != ED_OK)
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "sim: flash=%s is not a size like 4MB", v);
        } else if (!strcmp(kv, "pacing")) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "sim: pacing takes 0 or 1, not '%s'", v);
            cfg->no_pacing = !strcmp(v, "0");
        } else if (!strcmp(kv, "boot")) {
            if (!strcmp(v, "normal"))
                cfg->boot_normal = true;
            else if (!strcmp(v, "download"))
                cfg->boot_normal = false;
            else
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "sim: boot takes normal or download, not "
                                 "'%s'", v);
        } else if (!strcmp(kv, "flash-file")) {
            cfg->flash_file = v;
        } else if (!strcmp(kv, "trace")) {
            cfg->trace_path = v;
        } else if (!strcmp(kv, "mac")) {
            if (sim_server_parse_mac(v, cfg->mac) != ED_OK)
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "sim: mac=%s is not a MAC address like "
                                 "24:0a:c4:00:00:01", v);
            cfg->mac_set = true;
        } else {
            int rc = sim_config_option(cfg, kv, v, err, errlen);
            if (rc == ED_ERR_NOT_FOUND)
                return ed_seterr(err, errlen, ED_ERR_ARG,
                                 "sim: unknown option '%s' (flash, pacing, "
                                 "boot, flash-file, mac, trace, chip-rev, "
                                 "xtal, flash-id, adapter, max-baud, usb-rate, "
                                 "fault, units, arrive, "
                                 "leave, stay, faults, cycle, hotplug)", kv);
            if (rc != ED_OK)
                return rc;
        }
    }
    return ED_OK;
}
