/*
 * Unit tests of the RFC 2217 client against a small fake server run on a
 * thread in the test.  The server has its own Telnet parser (nothing shared
 * with src/port_rfc2217.c): it records what the client negotiated, the
 * COM-PORT-OPTION suboptions it got, and the data bytes (raw and decoded),
 * and sends whatever the test tells it to through a pipe.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "port.h"
#include "port_internal.h"
#include "test.h"

enum srv_mode {
    SRV_NORMAL,      /* agrees to COM-PORT-OPTION, acknowledges everything */
    SRV_REFUSE,      /* answers DONT COM-PORT-OPTION */
    SRV_SILENT,      /* accepts the connection, never says a word */
    SRV_NO_CTL_ACK,  /* like NORMAL but never acknowledges SET-CONTROL */
    SRV_SPLIT_ACKS,  /* like NORMAL, acknowledgements sent a byte at a time */
    SRV_NO_BAUD_ACK, /* like NORMAL but never acknowledges SET-BAUDRATE */
};

struct sub {
    uint8_t cmd;
    uint32_t value;
};

struct srv {
    enum srv_mode mode;
    int listen_fd, port;
    int cmd_pipe[2];     /* test -> server: raw bytes to send to the client */
    pthread_t thread;
    pthread_mutex_t lock;
    /* recorded, under lock */
    char nego[256];      /* "WILL44 WILL0 DO0 ..." in arrival order */
    struct sub subs[64];
    int nsubs;
    uint8_t data[4096];  /* decoded data from the client */
    size_t ndata;
    size_t raw_ff;       /* 0xFF bytes on the wire as IAC IAC pairs */
};

static void srv_send(int fd, const uint8_t *b, size_t n, bool split)
{
    size_t i;
    if (!split) {
        if (write(fd, b, n) < 0)
            return;
        return;
    }
    for (i = 0; i < n; i++) {
        if (write(fd, b + i, 1) < 0)
            return;
        clock_sleep_ms(2);
    }
}

static void srv_note(struct srv *s, const char *verb, uint8_t opt)
{
    size_t used = strlen(s->nego);
    pthread_mutex_lock(&s->lock);
    snprintf(s->nego + used, sizeof s->nego - used, "%s%s%u",
             used ? " " : "", verb, opt);
    pthread_mutex_unlock(&s->lock);
}

/* The server's side of one finished suboption: record, acknowledge. */
static void srv_sub(struct srv *s, int fd, const uint8_t *sb, size_t n)
{
    uint8_t ack[32];
    uint32_t v = 0;
    size_t i, k = 0;

    if (n < 2 || sb[0] != 44)
        return;
    for (i = 2; i < n && i < 6; i++)
        v = v << 8 | sb[i];
    pthread_mutex_lock(&s->lock);
    if (s->nsubs < 64) {
        s->subs[s->nsubs].cmd = sb[1];
        s->subs[s->nsubs].value = v;
        s->nsubs++;
    }
    pthread_mutex_unlock(&s->lock);
    if (s->mode == SRV_NO_CTL_ACK && sb[1] == 5)
        return;
    if (s->mode == SRV_NO_BAUD_ACK && sb[1] == 1)
        return;
    ack[k++] = 255;
    ack[k++] = 250;
    ack[k++] = 44;
    ack[k++] = (uint8_t)(sb[1] + 100);
    for (i = 2; i < n; i++) {
        ack[k++] = sb[i];
        if (sb[i] == 255)
            ack[k++] = 255;
    }
    ack[k++] = 255;
    ack[k++] = 240;
    srv_send(fd, ack, k, s->mode == SRV_SPLIT_ACKS);
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    uint8_t in[1024], sb[64], reply[3];
    size_t sbn = 0;
    int state = 0; /* 0 data, 1 IAC, 2 verb, 3 SB, 4 SB IAC */
    uint8_t verb = 0;
    int fd = accept(s->listen_fd, NULL, NULL);

    if (fd < 0)
        return NULL;
    for (;;) {
        struct pollfd pfd[2] = {{fd, POLLIN, 0}, {s->cmd_pipe[0], POLLIN, 0}};
        ssize_t n, i;

        if (poll(pfd, 2, -1) < 0)
            break;
        if (pfd[1].revents & (POLLIN | POLLHUP)) {
            n = read(s->cmd_pipe[0], in, sizeof in);
            if (n <= 0)
                break; /* the test closed the pipe: hang up */
            srv_send(fd, in, (size_t)n, false);
        }
        if (!(pfd[0].revents & (POLLIN | POLLHUP)))
            continue;
        n = read(fd, in, sizeof in);
        if (n <= 0)
            break;
        if (s->mode == SRV_SILENT)
            continue;
        for (i = 0; i < n; i++) {
            uint8_t b = in[i];
            switch (state) {
            case 0:
                if (b == 255) {
                    state = 1;
                } else {
                    pthread_mutex_lock(&s->lock);
                    if (s->ndata < sizeof s->data)
                        s->data[s->ndata++] = b;
                    pthread_mutex_unlock(&s->lock);
                }
                break;
            case 1:
                state = 0;
                if (b == 255) {
                    pthread_mutex_lock(&s->lock);
                    if (s->ndata < sizeof s->data)
                        s->data[s->ndata++] = 255;
                    s->raw_ff += 2;
                    pthread_mutex_unlock(&s->lock);
                } else if (b >= 251 && b <= 254) {
                    verb = b;
                    state = 2;
                } else if (b == 250) {
                    sbn = 0;
                    state = 3;
                }
                break;
            case 2:
                state = 0;
                srv_note(s,
                         verb == 251   ? "WILL"
                         : verb == 252 ? "WONT"
                         : verb == 253 ? "DO"
                                       : "DONT",
                         b);
                reply[0] = 255;
                reply[2] = b;
                if (verb == 251 && b == 44) {
                    reply[1] = s->mode == SRV_REFUSE ? 254 : 253;
                } else if (verb == 251 && (b == 0 || b == 3)) {
                    reply[1] = 253; /* DO */
                } else if (verb == 253 && (b == 0 || b == 3)) {
                    reply[1] = 251; /* WILL */
                } else if (verb == 251) {
                    reply[1] = 254;
                } else if (verb == 253) {
                    reply[1] = 252;
                } else {
                    break;
                }
                srv_send(fd, reply, 3, false);
                break;
            case 3:
                if (b == 255)
                    state = 4;
                else if (sbn < sizeof sb)
                    sb[sbn++] = b;
                break;
            case 4:
                if (b == 255) {
                    if (sbn < sizeof sb)
                        sb[sbn++] = 255;
                    state = 3;
                } else {
                    srv_sub(s, fd, sb, sbn);
                    state = 0;
                }
                break;
            }
        }
    }
    close(fd);
    return NULL;
}

static int srv_start(struct srv *s, enum srv_mode mode)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;

    memset(s, 0, sizeof *s);
    s->mode = mode;
    pthread_mutex_init(&s->lock, NULL);
    if (pipe(s->cmd_pipe) < 0)
        return -1;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(s->listen_fd, 1) < 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, srv_main, s) == 0 ? 0 : -1;
}

/* Hang up on the client (if connected) and wait for the thread. */
static void srv_stop(struct srv *s)
{
    close(s->cmd_pipe[1]);
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->cmd_pipe[0]);
    close(s->listen_fd);
}

static void srv_push(struct srv *s, const void *b, size_t n)
{
    if (write(s->cmd_pipe[1], b, n) != (ssize_t)n)
        t_fail(__FILE__, __LINE__, "pipe write");
}

/* "1:115200 2:8 ..." of the suboptions from index `from` on */
static void subs_str(struct srv *s, int from, char *buf, size_t len)
{
    size_t used = 0;
    int i;
    buf[0] = '\0';
    pthread_mutex_lock(&s->lock);
    for (i = from; i < s->nsubs && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%u:%u",
                                 i > from ? " " : "", s->subs[i].cmd,
                                 (unsigned)s->subs[i].value);
    pthread_mutex_unlock(&s->lock);
}

static int srv_nsubs(struct srv *s)
{
    int n;
    pthread_mutex_lock(&s->lock);
    n = s->nsubs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Wait (up to 2 s) until the server has recorded n suboptions. */
static int srv_wait_subs(struct srv *s, int n)
{
    int tries;
    for (tries = 0; tries < 400 && srv_nsubs(s) < n; tries++)
        clock_sleep_ms(5);
    return srv_nsubs(s);
}

static int open_client(struct port **p, struct srv *s, const char *opts,
                       char *err, size_t errlen)
{
    char url[128];
    snprintf(url, sizeof url, "rfc2217://127.0.0.1:%d%s", s->port, opts);
    return port_open(p, url, 115200, NULL, err, errlen);
}

void test_port_rfc2217__negotiation_and_settings(void)
{
    struct srv s;
    struct port *p;
    char err[ED_ERRMSG_MAX], got[512];
    int base;

    T_ASSERT(srv_start(&s, SRV_NORMAL) == 0);
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_OK);
    T_EQ_INT(p->kind, PORT_RFC2217);
    T_ASSERT(p->has_lines);
    pthread_mutex_lock(&s.lock);
    snprintf(got, sizeof got, "%s", s.nego);
    pthread_mutex_unlock(&s.lock);
    T_CONTAINS(got, "WILL44");
    T_CONTAINS(got, "WILL0");
    T_CONTAINS(got, "DO0");
    T_CONTAINS(got, "WILL3");
    T_CONTAINS(got, "DO3");
    /* Open: 115200 8N1, then DTR off, RTS off. */
    subs_str(&s, 0, got, sizeof got);
    T_EQ_STR(got, "1:115200 2:8 3:1 4:1 5:9 5:12");

    base = srv_nsubs(&s);
    T_EQ_INT(port_set_baud(p, 460800), ED_OK);
    T_EQ_INT(p->baud, 460800);
    /* Returned only after the acknowledgement, so it is recorded. */
    subs_str(&s, base, got, sizeof got);
    T_EQ_STR(got, "1:460800");

    base = srv_nsubs(&s);
    T_EQ_INT(port_set_lines(p, 1, 0), ED_OK);
    T_EQ_INT(port_set_rts(p, 1), ED_OK);
    subs_str(&s, base, got, sizeof got);
    /* DTR on, RTS off; RTS on then DTR re-written (on). */
    T_EQ_STR(got, "5:8 5:12 5:11 5:8");
    port_close(p);
    srv_stop(&s);
}

void test_port_rfc2217__classic_reset_reaches_server(void)
{
    struct srv s;
    struct port *p;
    char err[ED_ERRMSG_MAX], got[512];
    const char *seqs[4];
    int base, n;

    T_ASSERT(srv_start(&s, SRV_SPLIT_ACKS) == 0);
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_OK);
    n = port_reset_plan(p, BEFORE_DEFAULT_RESET, seqs, 4);
    T_EQ_INT(n, 2);
    T_EQ_STR(port_reset_seq_name(seqs[0]), "classic 50 ms");
    base = srv_nsubs(&s);
    T_EQ_INT(port_reset_custom(p, seqs[0]), ED_OK);
    subs_str(&s, base, got, sizeof got);
    /* D0 R1(+D0) W D1 R0(+D1) W D0 */
    T_EQ_STR(got, "5:9 5:11 5:9 5:8 5:12 5:8 5:9");
    port_close(p);
    srv_stop(&s);
}

void test_port_rfc2217__iac_doubling_both_ways(void)
{
    struct srv s;
    struct port *p;
    char err[ED_ERRMSG_MAX];
    uint8_t buf[64];
    const uint8_t out[] = {0x01, 0xFF, 0x02, 0xFF, 0xFF, 0xC0};
    int n, tries;

    T_ASSERT(srv_start(&s, SRV_NORMAL) == 0);
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_OK);

    /* Client -> server: every 0xFF doubled on the wire. */
    T_EQ_INT(port_write(p, out, sizeof out, 1000), ED_OK);
    for (tries = 0; tries < 200; tries++) {
        pthread_mutex_lock(&s.lock);
        n = (int)s.ndata;
        pthread_mutex_unlock(&s.lock);
        if (n >= (int)sizeof out)
            break;
        clock_sleep_ms(5);
    }
    pthread_mutex_lock(&s.lock);
    T_EQ_INT(s.ndata, sizeof out);
    T_EQ_MEM(s.data, out, sizeof out);
    T_EQ_INT(s.raw_ff, 6);
    pthread_mutex_unlock(&s.lock);

    /* Server -> client: IAC IAC is one 0xFF. */
    srv_push(&s, "x\xFF\xFFy", 4);
    n = port_read(p, buf, sizeof buf, 1000);
    T_ASSERT(n > 0);
    if (n < 3)
        n += port_read(p, buf + n, sizeof buf - (size_t)n, 1000);
    T_EQ_INT(n, 3);
    T_EQ_MEM(buf, "x\xFFy", 3);

    /* An IAC split across two reads. */
    srv_push(&s, "ab\xFF", 3);
    n = port_read(p, buf, sizeof buf, 1000);
    T_EQ_INT(n, 2);
    T_EQ_MEM(buf, "ab", 2);
    /* The lone IAC is held back, not delivered nor lost. */
    T_EQ_INT(port_read(p, buf, sizeof buf, 30), 0);
    srv_push(&s, "\xFF" "cd", 3);
    n = port_read(p, buf, sizeof buf, 1000);
    T_ASSERT(n > 0);
    if (n < 3)
        n += port_read(p, buf + n, sizeof buf - (size_t)n, 1000);
    T_EQ_INT(n, 3);
    T_EQ_MEM(buf, "\xFF" "cd", 3);

    /* A command in the middle of data is not data. */
    srv_push(&s, "1\xFF\xF1" "2", 4); /* IAC NOP */
    n = port_read(p, buf, sizeof buf, 1000);
    if (n == 1)
        n += port_read(p, buf + 1, sizeof buf - 1, 1000);
    T_EQ_INT(n, 2);
    T_EQ_MEM(buf, "12", 2);
    port_close(p);
    srv_stop(&s);
}

void test_port_rfc2217__flush_purges(void)
{
    struct srv s;
    struct port *p;
    char err[ED_ERRMSG_MAX], got[128];
    uint8_t buf[64];
    int base;

    T_ASSERT(srv_start(&s, SRV_NORMAL) == 0);
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_OK);
    srv_push(&s, "stale boot text", 15);
    clock_sleep_ms(20);
    base = srv_nsubs(&s);
    T_EQ_INT(port_flush_input(p), ED_OK);
    subs_str(&s, base, got, sizeof got);
    T_EQ_STR(got, "12:1");
    T_EQ_INT(port_read(p, buf, sizeof buf, 30), 0);
    srv_push(&s, "new", 3);
    T_EQ_INT(port_read(p, buf, sizeof buf, 1000), 3);
    T_EQ_MEM(buf, "new", 3);
    port_close(p);
    srv_stop(&s);
}

void test_port_rfc2217__refusing_server(void)
{
    struct srv s;
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX], want[64];

    T_ASSERT(srv_start(&s, SRV_REFUSE) == 0);
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_ERR_UNSUPPORTED);
    T_ASSERT(p == NULL);
    snprintf(want, sizeof want, "the RFC 2217 server at 127.0.0.1:%d "
                                "refuses COM-PORT-OPTION", s.port);
    T_CONTAINS(err, want);
    T_CONTAINS(err, "use socket:// (no reset, no baud change) or enable "
                    "RFC 2217 in the server");
    srv_stop(&s);
}

void test_port_rfc2217__silent_server_deadline(void)
{
    struct srv s;
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];
    int64_t t0, took;

    T_ASSERT(srv_start(&s, SRV_SILENT) == 0);
    t0 = clock_ms();
    T_EQ_INT(open_client(&p, &s, "?timeout=200", err, sizeof err),
             ED_ERR_UNSUPPORTED);
    took = clock_ms() - t0;
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "does not answer COM-PORT-OPTION within 200 ms");
    T_CONTAINS(err, "use socket://");
    /* It waited for its deadline, and did not hang past it. */
    T_ASSERT(took >= 190);
    T_ASSERT(took < 5000);
    srv_stop(&s);
}

struct warnings {
    char text[1024];
    int n;
};

static void warn_sink(void *ctx, enum log_level level, const char *msg)
{
    struct warnings *w = ctx;
    if (level == ED_LOG_WARN) {
        snprintf(w->text, sizeof w->text, "%s", msg);
        w->n++;
    }
}

void test_port_rfc2217__unacknowledged_control(void)
{
    struct srv s;
    struct port *p;
    struct warnings w = {"", 0};
    struct log_sink sink = {warn_sink, &w, ED_LOG_DEBUG};
    char err[ED_ERRMSG_MAX], url[128], got[256];
    int base;

    /*
     * ser2net on a pty never acknowledges DTR/RTS: the open goes on after
     * one deadline, with one warning, and does not wait again.
     */
    T_ASSERT(srv_start(&s, SRV_NO_CTL_ACK) == 0);
    snprintf(url, sizeof url, "rfc2217://127.0.0.1:%d?timeout=150", s.port);
    T_EQ_INT(port_open(&p, url, 115200, &sink, err, sizeof err), ED_OK);
    T_EQ_INT(w.n, 1);
    T_CONTAINS(w.text, "does not acknowledge DTR off within 150 ms");
    T_CONTAINS(w.text, "resets may not reach the board");
    /* Not waited for: the server may still be reading them. */
    base = srv_wait_subs(&s, 6);
    T_EQ_INT(base, 6);
    T_EQ_INT(port_reset_classic(p, 0), ED_OK);
    T_EQ_INT(w.n, 1);
    T_EQ_INT(srv_wait_subs(&s, base + 7), base + 7);
    /* The lines still went out, in order. */
    subs_str(&s, base, got, sizeof got);
    T_EQ_STR(got, "5:9 5:11 5:9 5:8 5:12 5:8 5:9");
    port_close(p);
    srv_stop(&s);

    /* Told not to wait: no deadline, no warning. */
    w.n = 0;
    T_ASSERT(srv_start(&s, SRV_NO_CTL_ACK) == 0);
    snprintf(url, sizeof url,
             "rfc2217://127.0.0.1:%d?timeout=150&ign_set_control", s.port);
    T_EQ_INT(port_open(&p, url, 115200, &sink, err, sizeof err), ED_OK);
    T_EQ_INT(port_set_dtr(p, 1), ED_OK);
    T_EQ_INT(port_set_baud(p, 230400), ED_OK);
    T_EQ_INT(w.n, 0);
    port_close(p);
    srv_stop(&s);
}

void test_port_rfc2217__unacknowledged_baud(void)
{
    struct srv s;
    struct port *p = (struct port *)1;
    char err[ED_ERRMSG_MAX];

    T_ASSERT(srv_start(&s, SRV_NO_BAUD_ACK) == 0);
    T_EQ_INT(open_client(&p, &s, "?timeout=150", err, sizeof err),
             ED_ERR_TIMEOUT);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "did not acknowledge SET-BAUDRATE in time");
    srv_stop(&s);
}

void test_port_rfc2217__bad_options_and_closed_peer(void)
{
    struct srv s;
    struct port *p;
    char err[ED_ERRMSG_MAX];
    uint8_t buf[16];
    int n;

    T_ASSERT(srv_start(&s, SRV_NORMAL) == 0);
    T_EQ_INT(open_client(&p, &s, "?speed=fast", err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "unknown option 'speed=fast'");
    T_EQ_INT(open_client(&p, &s, "?timeout=abc", err, sizeof err),
             ED_ERR_ARG);
    T_CONTAINS(err, "bad timeout");
    T_EQ_INT(open_client(&p, &s, "", err, sizeof err), ED_OK);
    srv_stop(&s); /* hangs up */
    n = port_read(p, buf, sizeof buf, 2000);
    T_EQ_INT(n, ED_ERR_CLOSED);
    T_CONTAINS(port_errmsg(p), "closed the connection");
    port_close(p);
}

/*
 * A server that sends options and never reads: our refusals fill the
 * socket; while waiting to send one, only the outermost send takes in
 * more input.  Before, each read answered its options from inside the
 * send that was waiting, one stack level per read, without bound (a
 * hostile server could end the stack).  The state machine alone, through
 * port_rfc2217_feed() on a socketpair.
 */
void test_port_rfc2217__no_nested_answers_while_blocked(void)
{
    static uint8_t opts[3 * 30000];
    uint8_t fill[4096], out[64];
    const uint8_t first[] = {0xFF, 0xFB, 0x01}; /* WILL ECHO: refused */
    int sp[2], pending = 0, rc;
    size_t i;

    T_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    fcntl(sp[1], F_SETFL, fcntl(sp[1], F_GETFL) | O_NONBLOCK);
    /* our direction full: the server does not read */
    memset(fill, 'x', sizeof fill);
    while (write(sp[0], fill, sizeof fill) > 0)
        ;
    /* and it has sent many more options, waiting in our socket */
    for (i = 0; i < sizeof opts; i += 3) {
        opts[i] = 0xFF;
        opts[i + 1] = 0xFB;
        opts[i + 2] = 0x01;
    }
    for (i = 0; i < sizeof opts;) {
        ssize_t w = write(sp[1], opts + i, sizeof opts - i);
        if (w <= 0)
            break;
        i += (size_t)w;
    }
    T_ASSERT(i > 8192);
    rc = port_rfc2217_feed(sp[0], first, sizeof first, 0, out, sizeof out);
    T_EQ_INT(rc, ED_ERR_TIMEOUT); /* "takes no data: is it stuck?" */
    /* one read of input was taken in by the blocked send, not all of it */
    T_EQ_INT(ioctl(sp[0], FIONREAD, &pending), 0);
    T_ASSERT((size_t)pending + 8192 >= i);
    close(sp[0]);
    close(sp[1]);
}
