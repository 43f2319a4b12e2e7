/*
 * sim_stub.c - the flasher-stub protocol, as any uploaded stub (esptool's
 * legacy and new stubs, espflash's, esptool-js's) speaks it once it has
 * said OHAI.
 *
 * Replies carry 2 status bytes, error code first (0xC0..0xFF).  Behaviour
 * follows the new esp-flasher-stub where the two stubs differ (unknown
 * opcode 0xC3, FLASH_END before all data 0xC0, padded tails clipped), and
 * the legacy stub where the new one has gaps (FLASH_END flag 0 reboots,
 * CHANGE_BAUDRATE honours the old-baud word).  Flash writes are acknowledged
 * before they are done; the chip is then busy and the next command waits
 * (sim.c delays dispatch until busy_until).  A failure found while writing
 * is reported in the status of the next command, which is not executed.
 * Erasing follows esp-flasher-stub (src/command_handler.c, v1.1.0 and
 * later, the stubs espdeck and esptool-js upload): FLASH_(DEFL_)BEGIN
 * starts the first erase of the announced range without waiting for it,
 * each data block starts the next one when the flash is idle, and a write
 * waits until the erases have reached it; the flash erases while the host
 * sends.  Until the first sector that is not blank, each sector is read
 * first and left alone when it is all 0xFF ("skip erase on already-blank
 * sectors"); from then on every erase is a 64 KiB block when aligned and
 * the rest of the range holds one, else a 4 KiB sector.
 */
#include <md5.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

#define STUB_MAX_BLOCK 0x4000u
#define STUB_WRITE_MIN_US 2000

enum {
    ST_OK = 0x00,
    ST_BAD_DATA_LEN = 0xC0,
    ST_BAD_CHECKSUM = 0xC1,
    ST_BAD_BLOCKSIZE = 0xC2,
    ST_INVALID_COMMAND = 0xC3,
    ST_FAILED_SPI_OP = 0xC4,
    ST_NOT_IN_FLASH_MODE = 0xC6,
    ST_INFLATE_ERROR = 0xC7,
    ST_NOT_ENOUGH_DATA = 0xC8,
    ST_TOO_MUCH_DATA = 0xC9,
    ST_NOT_IMPLEMENTED = 0xFF,
};


static void reply(struct sim *s, uint8_t op, uint32_t value,
                  const uint8_t *data, size_t dlen, uint8_t err, int64_t t)
{
    uint8_t body[8 + 32 + 2];

    if (dlen > 32)
        dlen = 32;
    body[0] = 0x01;
    body[1] = op;
    body[2] = (uint8_t)(dlen + 2);
    body[3] = 0;
    sim_put32(body + 4, value);
    if (dlen)
        memcpy(body + 8, data, dlen);
    body[8 + dlen] = err;
    body[9 + dlen] = 0;
    sim_send_frame(s, body, 10 + dlen, t);
}

static void status(struct sim *s, uint8_t op, uint8_t err, int64_t t)
{
    reply(s, op, 0, NULL, 0, err, t);
}

static uint8_t code_of(int e)
{
    switch (e) {
    case SIM_E_OK: return ST_OK;
    case SIM_E_CHK: return ST_BAD_CHECKSUM;
    case SIM_E_STATE: return ST_NOT_IN_FLASH_MODE;
    case SIM_E_RANGE: case SIM_E_NOMEM: return ST_FAILED_SPI_OP;
    case SIM_E_BLOCK: return ST_BAD_BLOCKSIZE;
    case SIM_E_INFLATE: return ST_INFLATE_ERROR;
    case SIM_E_TOO_MUCH: return ST_TOO_MUCH_DATA;
    default: return ST_BAD_DATA_LEN;
    }
}

static int64_t paced(const struct sim *s, int64_t us)
{
    return s->cfg.no_pacing ? 0 : us;
}

/* ---- flash writing ---- */

/*
 * The stub's next erase (esp-flasher-stub s_conditional_erase_next): while
 * no dirty sector was seen, read the next sector and skip it when blank;
 * else start erasing it (or its 64 KiB block) unless the flash is still
 * busy - then nothing happens, or with wait, the stub spins until it is
 * idle.  *now is the stub's clock (absolute us), moved by the reads and
 * the waiting.
 */
static void erase_next(struct sim *s, int64_t *now, bool wait)
{
    uint32_t a = s->fj.erased_to;
    uint32_t len;
    bool blank = true;

    if (a >= s->fj.erase_end)
        return;
    if (!s->fj.dirty_seen) {
        if (*now < s->flash_ready)
            *now = s->flash_ready;
        *now += paced(s, sim_flash_md5_us(0x1000)); /* read it */
        for (uint32_t i = 0; i < 0x1000 && a + i < s->flash_size && blank;
             i++)
            blank = s->flash[a + i] == 0xFF;
        if (blank) {
            s->fj.erased_to = a + 0x1000;
            return;
        }
        s->fj.dirty_seen = true;
    }
    if (*now < s->flash_ready) {
        if (!wait)
            return;
        *now = s->flash_ready;
    }
    len = a % 0x10000 == 0 && s->fj.erase_end - a >= 0x10000 ? 0x10000
                                                               : 0x1000;
    sim_flash_erase(s, a, len);
    s->flash_ready = *now + paced(s, sim_flash_erase_us(len, len == 0x10000));
    s->fj.erased_to = a + len;
}

static void flash_begin(struct sim *s, uint8_t op, const uint8_t *d,
                        size_t n, int64_t t)
{
    uint32_t size, offset, bs;
    uint64_t end;

    if (n != 16 && n != 20)
        return status(s, op, ST_BAD_DATA_LEN, t);
    size = sim_get32(d);
    bs = sim_get32(d + 8);
    offset = sim_get32(d + 12);
    if (bs > STUB_MAX_BLOCK)
        return status(s, op, ST_BAD_BLOCKSIZE, t);
    if ((uint64_t)offset + size > s->flash_size)
        return status(s, op, ST_FAILED_SPI_OP, t);
    if (s->fj.inf)
        sim_inflater_free(s->fj.inf);
    memset(&s->fj, 0, sizeof s->fj);
    s->fj.active = true;
    s->fj.deflate = op == 0x10;
    s->fj.start = s->fj.offset = offset;
    s->fj.total = size;
    s->fj.num_blocks = sim_get32(d + 4);
    s->fj.block_size = bs;
    s->fj.erased_to = offset & ~0xFFFu;
    end = ((uint64_t)offset + size + 0xFFF) & ~(uint64_t)0xFFF;
    s->fj.erase_end = (uint32_t)(end < s->flash_size ? end : s->flash_size);
    if (s->fj.deflate && !(s->fj.inf = sim_inflater_new(true)))
        return status(s, op, ST_FAILED_SPI_OP, t);
    /* the first erase starts without waiting; its blank check delays the
     * reply */
    erase_next(s, &t, false);
    s->busy_until = t;
    status(s, op, ST_OK, t);
}

/* Write data at the job's position (clipped to the announced size) once
 * the erases have reached its end; *now is the stub's clock. */
static int write_out(struct sim *s, const uint8_t *data, size_t len,
                     int64_t *now)
{
    uint32_t left = s->fj.total - s->fj.written;

    if (len > left)
        len = left; /* padding of the last block */
    if (!len)
        return SIM_E_OK;
    if ((uint64_t)s->fj.offset + len > s->flash_size)
        return SIM_E_RANGE;
    while (s->fj.erased_to < s->fj.offset + len &&
           s->fj.erased_to < s->fj.erase_end)
        erase_next(s, now, true);
    if (*now < s->flash_ready)
        *now = s->flash_ready;
    sim_flash_program(s, s->fj.offset, data, len);
    *now += paced(s, sim_flash_program_us(len));
    s->flash_ready = *now;
    s->fj.offset += (uint32_t)len;
    s->fj.written += (uint32_t)len;
    return SIM_E_OK;
}

struct write_ctx {
    struct sim *s;
    int64_t now;
};

static int write_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct write_ctx *w = ctx;
    int e = write_out(w->s, data, len, &w->now);

    /* the next round of the stub's inflate loop starts the next erase */
    if (!e)
        erase_next(w->s, &w->now, false);
    return e;
}

static void flash_data(struct sim *s, uint8_t op, const uint8_t *d,
                       size_t n, uint32_t chk, int64_t t)
{
    uint32_t len;
    struct write_ctx w = {s, t};
    int e;

    /* esp-flasher-stub's checks, in its order, before the block is used
     * (s_flash_data, s_flash_defl_data): a rejected block never reaches
     * the writer or the inflater */
    if (n < 16)
        return status(s, op, op == 0x11 ? ST_BAD_DATA_LEN
                                        : ST_NOT_ENOUGH_DATA, t);
    if (!s->fj.active || s->fj.deflate != (op == 0x11))
        return status(s, op, ST_NOT_IN_FLASH_MODE, t);
    len = sim_get32(d);
    if (op == 0x03 && len != n - 16)
        return status(s, op, ST_TOO_MUCH_DATA, t);
    /* FLASH_DEFL_DATA: the checksum covers as many bytes as the length
     * word says and only those are inflated; past the frame the stub
     * would sum what its buffer held: taken as a mismatch */
    if (len > n - 16 || chk != sim_checksum(d + 16, len))
        return status(s, op, ST_BAD_CHECKSUM, t);
    /* Acknowledge first, then write (the host sends the next block
     * meanwhile; sim.c holds it until the write is done). */
    status(s, op, ST_OK, t);
    s->stub_writing = true;
    if (!s->fj.deflate) {
        e = write_out(s, d + 16, len, &w.now);
    } else {
        /* as the stubs: inflate through a 32 KiB buffer, no further than
         * the size FLASH_DEFL_BEGIN announced (TOO_MUCH_DATA beyond); an
         * erase is started before inflating, as the stub's loop does */
        erase_next(s, &w.now, false);
        e = sim_inflate(s->fj.inf, d + 16, len, s->fj.total - s->fj.written,
                        write_sink, &w);
    }
    if (e)
        s->stub_err = code_of(e);
    s->busy_until = w.now;
    /* Inflating and writing a block outlasts the start of the host's next
     * frame (a full block: milliseconds); without pacing, where time
     * collapses, the write still takes STUB_WRITE_MIN_US of the host's
     * clock, so that a host sending two frames into it loses the second
     * there as on a board. */
    s->stub_write_end = s->cfg.no_pacing ? t + STUB_WRITE_MIN_US : w.now;
}

static void flash_end(struct sim *s, uint8_t op, const uint8_t *d, size_t n,
                      int64_t t)
{
    if (n != 4)
        return status(s, op, ST_BAD_DATA_LEN, t);
    if (!s->fj.active)
        return status(s, op, ST_NOT_IN_FLASH_MODE, t);
    if (s->fj.written < s->fj.total)
        return status(s, op, ST_BAD_DATA_LEN, t);
    if (s->fj.inf)
        sim_inflater_free(s->fj.inf);
    memset(&s->fj, 0, sizeof s->fj);
    status(s, op, ST_OK, t);
    if (sim_get32(d) == 0) /* reboot: back into the ROM loader */
        sim_reset_chip(s, true, s->tx_free_us + paced(s, 10000));
}

/* ---- reading ---- */

static void read_send(struct sim *s, int64_t t)
{
    uint32_t n = s->rj.len - s->rj.sent;

    if (n > s->rj.packet)
        n = s->rj.packet;
    MD5Update(s->rj.md5, s->flash + s->rj.offset + s->rj.sent, n);
    sim_send_frame(s, s->flash + s->rj.offset + s->rj.sent, n, t);
    s->rj.sent += n;
}

static void read_flash(struct sim *s, uint8_t op, const uint8_t *d,
                       size_t n, int64_t t)
{
    uint32_t off, len, packet;

    if (n != 16)
        return status(s, op, ST_BAD_DATA_LEN, t);
    off = sim_get32(d);
    len = sim_get32(d + 4);
    packet = sim_get32(d + 8);
    if (packet == 0 || packet > STUB_MAX_BLOCK)
        return status(s, op, ST_BAD_DATA_LEN, t);
    if ((uint64_t)off + len > s->flash_size)
        return status(s, op, ST_FAILED_SPI_OP, t);
    free(s->rj.md5);
    memset(&s->rj, 0, sizeof s->rj);
    s->rj.md5 = malloc(sizeof(MD5_CTX));
    if (!s->rj.md5)
        return status(s, op, ST_FAILED_SPI_OP, t);
    MD5Init(s->rj.md5);
    s->rj.active = true;
    s->rj.offset = off;
    s->rj.len = len;
    s->rj.packet = packet;
    status(s, op, ST_OK, t);
    if (len)
        read_send(s, t);
    else
        s->rj.acked = 0;
}

/* The host's 4-byte ack: total bytes it has received. */
static void read_ack(struct sim *s, const uint8_t *f, int64_t t)
{
    uint8_t dig[16];

    s->rj.acked = sim_get32(f);
    if (s->rj.acked < s->rj.sent)
        return; /* one packet in flight: wait for the rest */
    if (s->rj.sent < s->rj.len) {
        read_send(s, t);
        return;
    }
    MD5Final(dig, s->rj.md5);
    free(s->rj.md5);
    memset(&s->rj, 0, sizeof s->rj);
    sim_send_frame(s, dig, sizeof dig, t);
}

/* ---- dispatch ---- */

void sim_stub_command(struct sim *s, const uint8_t *f, size_t len, int64_t t)
{
    uint8_t op, err;
    size_t n;
    const uint8_t *d;
    uint32_t chk;
    int e;

    if (s->rj.active) {
        if (len == 4)
            return read_ack(s, f, t);
        free(s->rj.md5); /* a command instead of an ack: give up */
        memset(&s->rj, 0, sizeof s->rj);
    }
    if (len < 8)
        return;
    op = f[1];
    if (f[0] != 0x00)
        return status(s, op, ST_INVALID_COMMAND, t);
    n = len - 8;
    d = f + 8;
    chk = sim_get32(f + 4);
    if ((size_t)(f[2] | f[3] << 8) != n)
        return status(s, op, ST_BAD_DATA_LEN, t);
    if (s->stub_err) {
        err = s->stub_err;
        s->stub_err = 0;
        return status(s, op, err, t);
    }

    switch (op) {
    case 0x08: /* SYNC */
        if (!sim_is_sync(d, n))
            return status(s, op, ST_BAD_DATA_LEN, t);
        for (int i = 0; i < 8; i++)
            status(s, op, ST_OK, t);
        return;
    case 0x0A: /* READ_REG */
        if (n != 4)
            return status(s, op, ST_BAD_DATA_LEN, t);
        return reply(s, op, sim_read_reg(s, sim_get32(d)), NULL, 0, ST_OK, t);
    case 0x09: { /* WRITE_REG: delay, then write, per record */
        int64_t delay;

        if (n == 0 || n % 16)
            return status(s, op, ST_BAD_DATA_LEN, t);
        delay = sim_write_regs(s, d, n);
        return status(s, op, ST_OK, t + paced(s, delay));
    }
    case 0x0B: /* SPI_SET_PARAMS */
        return status(s, op, n == 24 ? ST_OK : ST_BAD_DATA_LEN, t);
    case 0x0D: /* SPI_ATTACH */
        return status(s, op, n == 4 || n == 8 ? ST_OK : ST_BAD_DATA_LEN, t);
    case 0x0F: { /* CHANGE_BAUDRATE: new, old */
        uint64_t nb, ob;

        if (n != 8)
            return status(s, op, ST_BAD_DATA_LEN, t);
        nb = sim_get32(d);
        ob = sim_get32(d + 4);
        /* Legacy stub: divider scaled by old/new; the new stub ignores
         * the old word.  Both agree when old is 0 or the current baud. */
        if (ob && ob != s->baud)
            nb = nb * s->baud / ob;
        if (nb < 1200 || nb > 5000000)
            return status(s, op, ST_BAD_DATA_LEN, t);
        status(s, op, ST_OK, t);
        sim_set_chip_baud(s, (uint32_t)nb, 0); /* the stub knows the clock */
        return;
    }
    case 0x02: case 0x10:
        return flash_begin(s, op, d, n, t);
    case 0x03: case 0x11:
        return flash_data(s, op, d, n, chk, t);
    case 0x04: case 0x12:
        return flash_end(s, op, d, n, t);
    case 0x13: { /* SPI_FLASH_MD5: 16 raw bytes */
        uint8_t dig[16];
        uint32_t addr, size;

        if (n != 16)
            return status(s, op, ST_BAD_DATA_LEN, t);
        addr = sim_get32(d);
        size = sim_get32(d + 4);
        if ((uint64_t)addr + size > s->flash_size)
            return status(s, op, ST_FAILED_SPI_OP, t);
        sim_md5(s->flash + addr, size, dig);
        if (t < s->flash_ready) /* an erase the stub started runs on */
            t = s->flash_ready;
        /* the stub hashes in its command loop (esp-flasher-stub
         * s_spi_flash_md5): the next command waits until it is done */
        s->busy_until = t + paced(s, sim_flash_md5_us(size));
        return reply(s, op, 0, dig, 16, ST_OK, s->busy_until);
    }
    case 0x14: { /* GET_SECURITY_INFO */
        uint8_t info[20];
        size_t il = sim_security_info(s, info);

        if (!il)
            return status(s, op, ST_NOT_IMPLEMENTED, t);
        return reply(s, op, 0, info, il, ST_OK, t);
    }
    case 0xD0: /* ERASE_FLASH */
        if (n != 0)
            return status(s, op, ST_BAD_DATA_LEN, t);
        sim_flash_erase(s, 0, (uint32_t)s->flash_size);
        return status(s, op, ST_OK,
                      t + paced(s, sim_flash_chip_erase_us(s->flash_size)));
    case 0xD1: { /* ERASE_REGION: 4 KiB aligned */
        uint32_t off, size;

        if (n != 8)
            return status(s, op, ST_BAD_DATA_LEN, t);
        off = sim_get32(d);
        size = sim_get32(d + 4);
        if (off % 0x1000 || size % 0x1000)
            return status(s, op, ST_BAD_DATA_LEN, t);
        if ((uint64_t)off + size > s->flash_size)
            return status(s, op, ST_FAILED_SPI_OP, t);
        sim_flash_erase(s, off, size);
        return status(s, op, ST_OK,
                      t + paced(s, sim_flash_region_erase_us(off, size)));
    }
    case 0xD2:
        return read_flash(s, op, d, n, t);
    case 0xD3: /* RUN_USER_CODE: no reply */
        sim_reset_chip(s, false, t);
        return;
    case 0x05:
        e = sim_mem_begin(s, d, n);
        return status(s, op, code_of(e), t);
    case 0x07:
        e = sim_mem_data(s, d, n, chk);
        return status(s, op, code_of(e), t);
    case 0x06:
        if (n != 8)
            return status(s, op, ST_BAD_DATA_LEN, t);
        status(s, op, ST_OK, t);
        if (sim_get32(d) == 0)
            sim_mem_run(s, sim_get32(d + 4), t);
        return;
    default:
        return status(s, op, ST_INVALID_COMMAND, t);
    }
}
