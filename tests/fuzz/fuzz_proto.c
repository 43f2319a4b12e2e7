/*
 * The reply parser (src/proto/proto.c): proto_command() against a port
 * whose answer is the fuzz input (after a small header choosing the
 * loader's kind, the command and how the port slices the bytes).
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "port.h"
#include "proto.h"

struct fz_port {
    struct port base;
    const uint8_t *rx;
    size_t len, pos, step;
    bool written;       /* the answer comes once a command was sent */
};

static void fz_close(struct port *p)
{
    (void)p;
}

static int fz_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct fz_port *f = (struct fz_port *)p;
    size_t n = f->len - f->pos;

    (void)timeout_ms;
    if (!f->written)
        return 0;
    if (n == 0)
        return ED_ERR_CLOSED; /* the end of the input: never wait */
    if (n > cap)
        n = cap;
    if (n > f->step)
        n = f->step;
    memcpy(buf, f->rx + f->pos, n);
    f->pos += n;
    return (int)n;
}

static int fz_write(struct port *p, const uint8_t *buf, size_t len,
                    int timeout_ms)
{
    (void)buf;
    (void)len;
    (void)timeout_ms;
    ((struct fz_port *)p)->written = true;
    return ED_OK;
}

static int fz_ok(struct port *p)
{
    (void)p;
    return ED_OK;
}

static int fz_baud(struct port *p, uint32_t baud)
{
    p->baud = baud;
    return ED_OK;
}

static int fz_lines(struct port *p, int dtr, int rts)
{
    (void)p;
    (void)dtr;
    (void)rts;
    return ED_OK;
}

static int fz_drain(struct port *p, int timeout_ms)
{
    (void)p;
    (void)timeout_ms;
    return ED_OK;
}

static const struct port_ops fz_ops = {
    .close = fz_close,
    .read = fz_read,
    .write = fz_write,
    .set_baud = fz_baud,
    .set_lines = fz_lines,
    .flush_input = fz_ok,
    .drain = fz_drain,
};

FUZZ_TARGET(proto)
{
    static const struct {
        uint8_t op;
        size_t want;
    } cmds[] = {
        {OP_SYNC, 0},          {OP_READ_REG, 0},
        {OP_SPI_FLASH_MD5, 32}, {OP_SPI_FLASH_MD5, 16},
        {OP_GET_SECURITY_INFO, 12}, {OP_GET_SECURITY_INFO, 20},
        {OP_FLASH_DEFL_DATA, 0}, {OP_CHANGE_BAUDRATE, 0},
        {OP_MEM_END, 0},       {OP_ERASE_REGION, 0},
    };
    static struct fz_port f;
    const uint8_t req[16] = {0};
    struct proto_reply r;
    struct proto *p = NULL;
    uint8_t mode, which;

    if (size < 3)
        return 0;
    mode = data[0];
    which = data[1] % (sizeof cmds / sizeof cmds[0]);
    memset(&f, 0, sizeof f);
    f.base.ops = &fz_ops;
    f.base.kind = PORT_SOCKET;
    f.base.baud = 115200;
    f.rx = data + 3;
    f.len = size - 3;
    f.step = 1 + data[2] % 200;
    if (proto_new(&p, &f.base, NULL) != ED_OK)
        return 0;
    proto_set_stub(p, mode & 1);
    if (!(mode & 1))
        proto_set_status_len(p, mode & 2 ? 2 : 4);
    if (proto_command(p, cmds[which].op, req, sizeof req, 0,
                      cmds[which].want, 50, &r) == ED_OK) {
        FUZZ_CHECK(r.op == cmds[which].op);
        FUZZ_CHECK(r.data_len == 0 || r.data);
        FUZZ_CHECK(r.data_len <= PROTO_MAX_FRAME);
    } else {
        FUZZ_CHECK(proto_errmsg(p)[0] != '\0'); /* one sentence */
    }
    /* the rest of the line, read as raw frames */
    while (f.pos < f.len) {
        const uint8_t *b;
        size_t n;
        if (proto_read_frame(p, &b, &n, 0) != ED_OK)
            break;
    }
    (void)proto_boot_line(p);
    (void)proto_download_seen(p);
    proto_free(p);
    return 0;
}
