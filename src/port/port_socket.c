/*
 * port_socket.c - socket://HOST:PORT, a raw TCP byte pipe (no modem lines),
 * and the TCP connect helper the RFC 2217 client shares.
 *
 * A socket port has no DTR/RTS (has_lines = false): set_lines succeeds and
 * does nothing, set_baud only records the value, so the default reset plan
 * for it is "no reset" and the board must already wait in download mode.
 * The fd is non-blocking; every read and write waits with poll() against
 * its own deadline.  Writes use MSG_NOSIGNAL: a vanished peer is
 * ED_ERR_CLOSED, never SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "port_internal.h"

#define CONNECT_TIMEOUT_MS 5000

struct socket_port {
    struct port base;
    int fd;
};

/* Split "host:port" / "[v6]:port" into host and service; 0 or -1. */
static int split_hostport(const char *hostport, char *host, size_t hostlen,
                          char *serv, size_t servlen)
{
    const char *colon, *h = hostport, *q;
    size_t hl;

    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close || close[1] != ':')
            return -1;
        h = hostport + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(hostport, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - hostport);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    /* Options after '?' belong to the backend, not to the port number. */
    q = strchr(colon + 1, '?');
    hl = q ? (size_t)(q - colon - 1) : strlen(colon + 1);
    if (hl == 0 || hl >= servlen)
        return -1;
    memcpy(serv, colon + 1, hl);
    serv[hl] = '\0';
    for (q = serv; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    if (atoi(serv) <= 0 || atoi(serv) > 65535)
        return -1;
    return 0;
}

int port_tcp_connect(int *out, const char *scheme, const char *hostport,
                     int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[256], serv[16];
    int fd = -1, rc, gai, last_errno = 0, one = 1;
    int64_t deadline = clock_ms() + timeout_ms;

    *out = -1;
    if (split_hostport(hostport, host, sizeof host, serv, sizeof serv) < 0)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "%s%s is not HOST:PORT: write it like "
                         "%s192.168.1.10:4000",
                         scheme, hostport, scheme);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = getaddrinfo(host, serv, &hints, &res);
    if (gai != 0)
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "cannot resolve host %s in %s%s: %s: check the name",
                         host, scheme, hostport, gai_strerror(gai));

    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t sl = sizeof last_errno;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                                       SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            goto connected;
        if (errno != EINPROGRESS) {
            last_errno = errno;
            close(fd);
            fd = -1;
            continue;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        do {
            rc = poll(&pfd, 1, clock_remaining_ms(deadline));
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            last_errno = ETIMEDOUT;
        } else if (rc > 0 &&
                   getsockopt(fd, SOL_SOCKET, SO_ERROR, &last_errno, &sl) ==
                       0 &&
                   last_errno == 0) {
            goto connected;
        } else if (rc < 0) {
            last_errno = errno;
        }
        close(fd);
        fd = -1;
        if (rc == 0)
            break;
    }
    freeaddrinfo(res);
    switch (last_errno) {
    case ECONNREFUSED:
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "connection refused on %s%s: is the server running "
                         "and listening on port %s?",
                         scheme, hostport, serv);
    case ETIMEDOUT:
        return ed_seterr(err, errlen, ED_ERR_TIMEOUT,
                         "no answer from %s%s within %d s: is the host up "
                         "and the port right?",
                         scheme, hostport, (timeout_ms + 999) / 1000);
    case ENETUNREACH:
    case EHOSTUNREACH:
        return ed_seterr(err, errlen, ED_ERR_IO,
                         "cannot reach %s%s: %s: check the network and the "
                         "address",
                         scheme, hostport, strerror(last_errno));
    default:
        return ed_seterr(err, errlen, ED_ERR_IO, "cannot connect to %s%s: %s",
                         scheme, hostport,
                         last_errno ? strerror(last_errno) : "no address");
    }

connected:
    freeaddrinfo(res);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return ED_OK;
}

static struct socket_port *sock_of(struct port *p)
{
    return (struct socket_port *)p;
}

static void sock_close(struct port *p)
{
    struct socket_port *s = sock_of(p);

    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static int sock_closed(struct port *p)
{
    return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_CLOSED,
                     "%s closed the connection: is the server still "
                     "running?",
                     p->url);
}

static int sock_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    int e, rc = port_sock_recv(sock_of(p)->fd, buf, cap, timeout_ms, &e);

    if (rc >= 0)
        return rc;
    if (rc == ED_ERR_CLOSED)
        return sock_closed(p);
    if (e)
        return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "read from %s: %s",
                         p->url, strerror(e));
    return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "waiting for %s: %s",
                     p->url, ed_strerror(rc));
}

static int sock_write(struct port *p, const uint8_t *buf, size_t len,
                      int timeout_ms)
{
    int e, rc = port_fd_write_all(sock_of(p)->fd, true, buf, len, timeout_ms,
                                  &e);

    if (rc == ED_OK)
        return ED_OK;
    if (rc == ED_ERR_TIMEOUT)
        return ed_seterr(p->errmsg, sizeof p->errmsg, ED_ERR_TIMEOUT,
                         "%s took no data for %d ms: is the server "
                         "stuck?",
                         p->url, timeout_ms);
    if (rc == ED_ERR_CLOSED || e == EPIPE || e == ECONNRESET)
        return sock_closed(p);
    return ed_seterr(p->errmsg, sizeof p->errmsg, rc, "write to %s: %s",
                     p->url, e ? strerror(e) : ed_strerror(rc));
}

static int sock_set_baud(struct port *p, uint32_t baud)
{
    /* Nothing carries a baud rate over raw TCP; the server's is fixed. */
    p->baud = baud;
    return ED_OK;
}

static int sock_set_lines(struct port *p, int dtr, int rts)
{
    (void)p;
    (void)dtr;
    (void)rts;
    return ED_OK;
}

static int sock_flush_input(struct port *p)
{
    uint8_t junk[512];
    struct socket_port *s = sock_of(p);
    ssize_t n;

    do {
        n = recv(s->fd, junk, sizeof junk, MSG_DONTWAIT);
    } while (n > 0 || (n < 0 && errno == EINTR));
    if (n == 0)
        return sock_closed(p);
    return ED_OK;
}

static int sock_drain(struct port *p, int timeout_ms)
{
    (void)p;
    (void)timeout_ms;
    return ED_OK;
}

static const struct port_ops socket_ops = {
    .close = sock_close,
    .read = sock_read,
    .write = sock_write,
    .set_baud = sock_set_baud,
    .set_lines = sock_set_lines,
    .flush_input = sock_flush_input,
    .drain = sock_drain,
};

int port_socket_open(struct port **out, const char *hostport, uint32_t baud,
                     char *err, size_t errlen)
{
    struct socket_port *s;
    int fd, rc;

    *out = NULL;
    rc = port_tcp_connect(&fd, "socket://", hostport, CONNECT_TIMEOUT_MS, err,
                          errlen);
    if (rc != ED_OK)
        return rc;
    s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    }
    s->fd = fd;
    s->base.ops = &socket_ops;
    s->base.kind = PORT_SOCKET;
    s->base.baud = baud;
    s->base.has_lines = false;
    snprintf(s->base.url, sizeof s->base.url, "socket://%s", hostport);
    snprintf(s->base.description, sizeof s->base.description,
             "raw TCP to %s", hostport);
    *out = &s->base;
    return ED_OK;
}
