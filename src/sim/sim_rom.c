/*
 * sim_rom.c - the ROM serial loader of the simulated chip, and the register
 * file both loaders expose (chip magic, eFuses, UART divider, SPI user
 * commands for RDID/SFDP).
 *
 * ROM quirks reproduced (golden transcripts of the real ESP32 / ESP32-C3
 * ROMs): 4 status bytes; SYNC answered 8 times with value 0x20120707; the
 * reply header is a static buffer, so its value field only changes on SYNC
 * and READ_REG and an unsupported command is answered with the previous
 * command's opcode and value and status 01 05; FLASH_BEGIN erases up front;
 * SPI_FLASH_MD5 answers 32 lowercase hex digits; FLASH_END leaves the loader.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

#define SPI_CMD_USR (1u << 18)

/* ---- little helpers ---- */


/* Dallas/Maxim CRC-8 (reflected 0x31), as the ESP32 ROM checks the MAC. */
static uint8_t crc8(const uint8_t *p, size_t n)
{
    uint8_t crc = 0;

    while (n--) {
        crc ^= *p++;
        for (int i = 0; i < 8; i++)
            crc = (crc & 1) ? (uint8_t)((crc >> 1) ^ 0x8C) : crc >> 1;
    }
    return crc;
}

static uint8_t data_checksum(const uint8_t *p, size_t n)
{
    uint8_t c = 0xEF;

    while (n--)
        c ^= *p++;
    return c;
}

/* ---- registers ---- */

static uint32_t *wreg_slot(struct sim *s, uint32_t addr, bool create)
{
    size_t cap = sizeof s->wregs / sizeof s->wregs[0];

    for (size_t i = 0; i < s->n_wregs; i++)
        if (s->wregs[i].addr == addr)
            return &s->wregs[i].value;
    if (!create)
        return NULL;
    if (s->n_wregs == cap)
        s->n_wregs--; /* reuse the last slot */
    s->wregs[s->n_wregs].addr = addr;
    s->wregs[s->n_wregs].value = 0;
    return &s->wregs[s->n_wregs++].value;
}

static uint32_t flash_capacity_code(size_t size)
{
    uint32_t code = 0;

    while (((size_t)1 << code) < size)
        code++;
    return code; /* 4 MiB -> 0x16 */
}

/* The JEDEC id the flash answers to RDID. */
static uint32_t flash_jedec_id(const struct sim *s)
{
    if (s->cfg.flash_id_set)
        return s->cfg.flash_id & 0xFFFFFF;
    /* GigaDevice GD25Q-like, capacity byte from the size */
    return 0xC8 | 0x40 << 8 | flash_capacity_code(s->flash_size) << 16;
}

/* No flash drives MISO: the line reads as its idle level. */
static bool no_flash(uint32_t id)
{
    return id == 0xFFFFFF || id == 0 || id == 0xFFFF3F;
}

/*
 * The flash's SFDP table (JESD216), GD25Q32C-like: the "SFDP" signature,
 * two parameter headers (the JEDEC basic table at 0x30, a vendor table
 * whose id is the manufacturer), the basic table's first two dwords
 * (erase sizes, density); 0xFF elsewhere.
 */
static uint8_t sfdp_byte(const struct sim *s, uint32_t a)
{
    static const uint8_t head[24] = {
        'S', 'F', 'D', 'P', 0x06, 0x01, 0x01, 0xFF,
        0x00, 0x06, 0x01, 0x10, 0x30, 0x00, 0x00, 0xFF,
        0x00, 0x00, 0x01, 0x03, 0x60, 0x00, 0x00, 0xFF,
    };
    uint32_t bits = (uint32_t)(s->flash_size * 8 - 1);

    if (a == 0x10)
        return (uint8_t)flash_jedec_id(s);
    if (a < sizeof head)
        return head[a];
    if (a >= 0x30 && a < 0x34)
        return (const uint8_t[]){0xE5, 0x20, 0xF1, 0xFF}[a - 0x30];
    if (a >= 0x34 && a < 0x38)
        return (uint8_t)(bits >> (8 * (a - 0x34)));
    return 0xFF;
}

/* Run the SPI flash command set up in the user registers: the command
 * byte from USR2, the address from ADDR (MSB-aligned on the ESP32), MISO
 * bits from MISO_DLEN; the bytes read land in W0 first byte lowest. */
static void spi_user_command(struct sim *s)
{
    const struct sim_chip *c = s->chip;
    uint32_t *usr2 = wreg_slot(s, c->spi_base + c->spi_usr2, false);
    uint32_t *usr = wreg_slot(s, c->spi_base + c->spi_usr, false);
    uint32_t *usr1 = wreg_slot(s, c->spi_base + c->spi_usr1, false);
    uint32_t *addr_reg = wreg_slot(s, c->spi_base + 4, false);
    uint32_t *dlen = wreg_slot(s, c->spi_base + c->spi_miso_dlen, false);
    uint32_t op = usr2 ? (*usr2 & 0xFF) : 0;
    uint32_t id = flash_jedec_id(s), addr = 0, bits, result = 0;

    if (!usr || !(*usr & (1u << 28)))
        return; /* no MISO phase: W0 keeps what it had */
    bits = (dlen ? *dlen : 0) + 1;
    if (bits > 32)
        bits = 32;
    if (addr_reg && (*usr & (1u << 30))) {
        uint32_t abits = usr1 ? (*usr1 >> 26) + 1 : 24;

        addr = *addr_reg;
        if (c->rev_layout == SIM_REV_ESP32 && abits < 32)
            addr >>= 32 - abits;
    }
    for (uint32_t i = 0; i * 8 < bits; i++) {
        uint8_t b;

        if (op == 0x9F) /* RDID (with no flash: what the bus reads) */
            b = i < 3 ? (uint8_t)(id >> (8 * i)) : 0xFF;
        else if (no_flash(id))
            b = (uint8_t)(id >> 8); /* the idle level of MISO */
        else if (op == 0x5A) /* RDSFDP */
            b = s->cfg.flash_no_sfdp ? 0 : sfdp_byte(s, addr + i);
        else /* RDSR & co: status 0 */
            b = 0;
        result |= (uint32_t)b << (8 * i);
    }
    if (bits < 32)
        result &= (1u << bits) - 1;
    *wreg_slot(s, c->spi_base + c->spi_w0, true) = result;
}

/*
 * The ESP32's 8 MHz RC clock (docs/simulator.md, "Crystal and baud
 * generator").  eFuse CK8M_FREQ holds its factory-measured frequency in
 * 100 kHz steps; ESP-IDF puts the clock at 8.5 MHz +/- 7 %, so each board
 * gets 80..90 from its MAC.  A blank eFuse block (MAC 0, as the QEMU board
 * of the golden esptool trace, whose word 4 reads 0) has none.
 */
static uint32_t ck8m_efuse(const struct sim *s)
{
    const uint8_t *m = s->mac;

    if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
        return 0;
    return 80u + (uint32_t)(m[3] ^ m[4] ^ m[5]) % 11u;
}

/* The ROM's calibration at reset: crystal cycles counted in one period of
 * the RC clock / 256, the RC clock running drift below its eFuse value
 * (8.5 MHz without one). */
static uint32_t rtc_cali(const struct sim *s)
{
    int64_t ppm = s->cfg.ck8m_drift_set ? s->cfg.ck8m_drift_ppm
                                        : SIM_CK8M_DRIFT_PPM;
    uint32_t fuse = ck8m_efuse(s);
    uint64_t num = (uint64_t)s->chip->xtal_mhz * 1000000u * 256u *
                   (uint64_t)(1000000 + ppm);
    uint64_t den = (uint64_t)(fuse ? fuse : 85) * 100000u * 1000000u;

    return (uint32_t)((num + den / 2) / den);
}

/* The crystal the ESP32 ROM computes from that: cali x RC clock / 256
 * (0 with a blank eFuse: the divider then comes from the real crystal). */
static uint32_t rom_believed_hz(const struct sim *s)
{
    return (uint32_t)((uint64_t)rtc_cali(s) * 100000u * ck8m_efuse(s) /
                      256u);
}

uint32_t sim_read_reg(struct sim *s, uint32_t addr)
{
    const struct sim_chip *c = s->chip;
    const uint8_t *m = s->mac;
    uint32_t *w;

    uint32_t rev;

    if (addr == 0x40001000)
        return c->magic;
    if (addr == c->mac_reg)
        return sim_get32((const uint8_t[]){m[5], m[4], m[3], m[2]});
    if (addr == c->mac_reg + 4) {
        uint32_t v = (uint32_t)m[0] << 8 | m[1];
        if (c->mac_crc)
            v |= (uint32_t)crc8(m, 6) << 16;
        if (sim_chip_rev_reg(c, addr, &rev)) /* ESP32-C2 */
            v |= rev;
        return v;
    }
    if (sim_chip_rev_reg(c, addr, &rev))
        return rev;
    for (size_t i = 0; i < c->n_regs; i++)
        if (c->regs[i].addr == addr)
            return c->regs[i].value;
    if (addr == c->uart_clkdiv_reg)
        return s->uart_clkdiv;
    if (c->rom_xtal_reg && addr == c->rom_xtal_reg) /* PCR_SYSCLK_CONF */
        return (uint32_t)c->rom_xtal_mhz << 24;
    if (c->rtc_cali_reg && addr == c->rtc_cali_reg) /* RTCCALICFG1 */
        return rtc_cali(s) << 7;
    if (c->rtc_cali_reg && addr == c->efuse_base + 0x10) /* word 4 */
        return ck8m_efuse(s);
    if (addr == c->spi_base) /* CMD: user commands finish at once */
        return 0;
    w = wreg_slot(s, addr, false);
    if (w)
        return *w;
    if (addr == c->spi_base + c->spi_usr2)
        return c->spi_usr2_reset;
    return 0;
}

#define WDT_WKEY 0x50D83AA1u
#define RTC_SLOW_HZ 136000 /* RC slow clock, roughly */

/*
 * The RTC/LP watchdog: CONFIG0/CONFIG1 take writes only while the write
 * protect register holds the key.  Armed (CONFIG0 bit 31) with a reset
 * action in stage 0 (bits 28..30: 2 and up; esptool writes 5), it resets
 * the chip CONFIG1 slow-clock cycles later.  Returns true if addr is one
 * of its registers.
 */
static bool wdt_write(struct sim *s, uint32_t addr, uint32_t v)
{
    const struct sim_chip *c = s->chip;
    uint32_t base = c->wdt_base, *wp, *cfg1;

    if (!base || (addr != base + c->wdt_wprotect &&
                  addr != base + c->wdt_config0 &&
                  addr != base + c->wdt_config1))
        return false;
    if (addr == base + c->wdt_wprotect) {
        *wreg_slot(s, addr, true) = v;
        return true;
    }
    wp = wreg_slot(s, base + c->wdt_wprotect, false);
    if (!wp || *wp != WDT_WKEY)
        return true; /* locked: the write is lost */
    *wreg_slot(s, addr, true) = v;
    if (addr != base + c->wdt_config0)
        return true;
    if ((v >> 31) && ((v >> 28) & 7) >= 2) {
        cfg1 = wreg_slot(s, base + c->wdt_config1, false);
        s->wdt_at = s->cmd_t +
                    (int64_t)(cfg1 ? *cfg1 : 0) * 1000000 / RTC_SLOW_HZ;
    } else {
        s->wdt_at = -1; /* disabled (esptool does so over USB-JTAG) */
    }
    return true;
}

void sim_write_reg(struct sim *s, uint32_t addr, uint32_t value,
                   uint32_t mask)
{
    const struct sim_chip *c = s->chip;
    uint32_t old = sim_read_reg(s, addr);
    uint32_t v = (old & ~mask) | (value & mask);

    if (wdt_write(s, addr, v))
        return;

    if (addr == c->spi_base) {
        if (v & SPI_CMD_USR)
            spi_user_command(s);
        return;
    }
    *wreg_slot(s, addr, true) = v;
}

/* ---- RAM loading, shared with the stub ---- */

void sim_mem_reset(struct sim *s)
{
    for (size_t i = 0; i < s->mj.n_seg; i++)
        free(s->mj.seg_buf[i]);
    memset(&s->mj, 0, sizeof s->mj);
}

static int mem_begin(struct sim *s, const uint8_t *d, size_t n)
{
    size_t k = s->mj.n_seg;
    uint32_t size;

    if (n != 16)
        return SIM_E_LEN;
    size = sim_get32(d);
    if (k >= sizeof s->mj.seg / sizeof s->mj.seg[0] || size > 1u << 20)
        return SIM_E_RANGE;
    s->mj.seg_buf[k] = calloc(1, size ? size : 1);
    if (!s->mj.seg_buf[k])
        return SIM_E_NOMEM;
    s->mj.active = true;
    s->mj.size = size;
    s->mj.num_blocks = sim_get32(d + 4);
    s->mj.block_size = sim_get32(d + 8);
    s->mj.addr = sim_get32(d + 12);
    s->mj.got = 0;
    s->mj.next_seq = 0;
    s->mj.seg[k].addr = s->mj.addr;
    s->mj.seg[k].data = s->mj.seg_buf[k];
    s->mj.seg[k].len = size;
    s->mj.n_seg++;
    return SIM_E_OK;
}

static int mem_data(struct sim *s, const uint8_t *d, size_t n, uint32_t chk)
{
    uint32_t len, seq, pos;
    uint8_t *buf;

    if (n < 16)
        return SIM_E_LEN;
    len = sim_get32(d);
    seq = sim_get32(d + 4);
    if (len != n - 16)
        return SIM_E_LEN;
    if (chk != data_checksum(d + 16, len))
        return SIM_E_CHK;
    if (!s->mj.active || !s->mj.n_seg)
        return SIM_E_STATE;
    pos = seq * s->mj.block_size;
    if ((uint64_t)pos + len > s->mj.size)
        return SIM_E_LEN;
    buf = s->mj.seg_buf[s->mj.n_seg - 1];
    memcpy(buf + pos, d + 16, len);
    s->mj.got += len;
    return SIM_E_OK;
}

/* ---- the ROM loader ---- */

static void rom_reply(struct sim *s, uint8_t op, const uint8_t *data,
                      size_t dlen, uint8_t status, uint8_t err, int64_t t)
{
    uint8_t body[8 + 64 + 4];

    if (dlen > 64)
        dlen = 64;
    body[0] = 0x01;
    body[1] = op;
    body[2] = (uint8_t)(dlen + 4);
    body[3] = 0;
    sim_put32(body + 4, s->rom_value);
    if (dlen)
        memcpy(body + 8, data, dlen);
    body[8 + dlen] = status;
    body[9 + dlen] = err;
    body[10 + dlen] = 0;
    body[11 + dlen] = 0;
    s->rom_op = op;
    sim_send_frame(s, body, 12 + dlen, t);
}

static void rom_ok(struct sim *s, uint8_t op, int64_t t)
{
    rom_reply(s, op, NULL, 0, 0, 0, t);
}

static void rom_fail(struct sim *s, uint8_t op, uint8_t err, int64_t t)
{
    rom_reply(s, op, NULL, 0, 1, err, t);
}

/* Not a command this ROM has: the previous reply header, status 01 05. */
static void rom_unsupported(struct sim *s, int64_t t)
{
    rom_reply(s, s->rom_op, NULL, 0, 1, 0x05, t);
}

static uint8_t rom_code(int e)
{
    switch (e) {
    case SIM_E_CHK: return 0x07;
    case SIM_E_STATE: return 0x06;
    case SIM_E_RANGE: return 0x01;
    case SIM_E_NOMEM: return 0x02;
    case SIM_E_INFLATE: return 0x0B;
    default: return 0x05;
    }
}

static const uint8_t sync_pattern[36] = {
    0x07, 0x07, 0x12, 0x20,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
};

bool sim_is_sync(const uint8_t *d, size_t n)
{
    return n == sizeof sync_pattern && memcmp(d, sync_pattern, n) == 0;
}

/* Security info payload (20 bytes, or 12 on the S2). */
size_t sim_security_info(const struct sim *s, uint8_t out[20])
{
    const struct sim_chip *c = s->chip;

    memset(out, 0, 20);
    out[11] = c->security_key7;
    if (c->security_info_len < 20)
        return c->security_info_len;
    sim_put32(out + 12, c->chip_id);
    sim_put32(out + 16, c->security_eco);
    return 20;
}

static int64_t do_write_regs(struct sim *s, const uint8_t *d, size_t n)
{
    int64_t delay = 0;

    for (size_t i = 0; i + 16 <= n; i += 16) {
        delay += sim_get32(d + i + 12);
        sim_write_reg(s, sim_get32(d + i), sim_get32(d + i + 4), sim_get32(d + i + 8));
    }
    return delay;
}

static void rom_flash_begin(struct sim *s, uint8_t op, const uint8_t *d,
                            size_t n, int64_t t)
{
    uint32_t erase, offset;
    int64_t us;

    if (n != 16 && n != 20)
        return rom_fail(s, op, 0x05, t);
    erase = sim_get32(d);
    offset = sim_get32(d + 12);
    if ((uint64_t)offset + erase > s->flash_size ||
        sim_get32(d + 8) > 0x4000)
        return rom_fail(s, op, 0x01, t);
    if (s->fj.inf)
        sim_inflater_free(s->fj.inf);
    memset(&s->fj, 0, sizeof s->fj);
    s->fj.active = true;
    s->fj.deflate = op == 0x10;
    s->fj.start = s->fj.offset = offset;
    s->fj.total = erase;
    s->fj.num_blocks = sim_get32(d + 4);
    s->fj.block_size = sim_get32(d + 8);
    if (s->fj.deflate && !(s->fj.inf = sim_inflater_new(false)))
        return rom_fail(s, op, 0x02, t);
    us = 0;
    if (erase) {
        sim_flash_erase(s, offset, erase);
        us = sim_flash_region_erase_us(offset, erase);
    }
    if (s->cfg.no_pacing)
        us = 0;
    rom_ok(s, op, t + us);
}

/* Inflated output straight to flash at the job's position. */
static int rom_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct sim *s = ctx;

    if (s->fj.offset + (uint64_t)len > s->flash_size)
        return SIM_E_RANGE;
    sim_flash_program(s, s->fj.offset, data, len);
    s->fj.offset += (uint32_t)len;
    return SIM_E_OK;
}

static void rom_flash_data(struct sim *s, uint8_t op, const uint8_t *d,
                           size_t n, uint32_t chk, int64_t t)
{
    uint32_t len;
    size_t wrote;

    if (n < 16 || sim_get32(d) != n - 16)
        return rom_fail(s, op, 0x05, t);
    len = sim_get32(d);
    if (chk != data_checksum(d + 16, len))
        return rom_fail(s, op, 0x07, t);
    if (!s->fj.active || s->fj.deflate != (op == 0x11))
        return rom_fail(s, op, 0x06, t);
    if (!s->fj.deflate) {
        uint64_t at = s->fj.start + (uint64_t)sim_get32(d + 4) *
                      s->fj.block_size;
        if (at + len > s->flash_size)
            return rom_fail(s, op, 0x08, t);
        sim_flash_program(s, (uint32_t)at, d + 16, len);
        wrote = len;
    } else {
        /* no further than the erase size FLASH_DEFL_BEGIN announced */
        uint32_t before = s->fj.offset;
        int e = sim_inflate(s->fj.inf, d + 16, len,
                            s->fj.total - s->fj.written, rom_sink, s);

        wrote = s->fj.offset - before;
        if (e != SIM_E_OK) {
            s->fj.written += (uint32_t)wrote;
            return rom_fail(s, op, e == SIM_E_RANGE ? 0x08 : 0x0B, t);
        }
    }
    s->fj.written += (uint32_t)wrote;
    rom_ok(s, op, t + (s->cfg.no_pacing ? 0 : sim_flash_program_us(wrote)));
}

static void rom_flash_end(struct sim *s, uint8_t op, const uint8_t *d,
                          size_t n, int64_t t)
{
    uint32_t flag;

    if (n != 4)
        return rom_fail(s, op, 0x05, t);
    flag = sim_get32(d);
    rom_ok(s, op, t);
    if (s->fj.inf)
        sim_inflater_free(s->fj.inf);
    memset(&s->fj, 0, sizeof s->fj);
    /* The ROM leaves the loader: flag 0 reboots without re-sampling the
     * straps (back into download mode), non-zero runs the user code. */
    sim_reset_chip(s, flag == 0, s->tx_free_us > t ? s->tx_free_us : t);
}

static void rom_md5(struct sim *s, uint8_t op, const uint8_t *d, size_t n,
                    int64_t t)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t addr, size;
    uint8_t dig[16], txt[32];

    if (n != 16)
        return rom_fail(s, op, 0x05, t);
    addr = sim_get32(d);
    size = sim_get32(d + 4);
    if ((uint64_t)addr + size > s->flash_size)
        return rom_fail(s, op, 0x09, t);
    sim_md5(s->flash + addr, size, dig);
    for (int i = 0; i < 16; i++) {
        txt[2 * i] = (uint8_t)hex[dig[i] >> 4];
        txt[2 * i + 1] = (uint8_t)hex[dig[i] & 15];
    }
    /* one command at a time: the next waits until the hash is done */
    s->busy_until = t + (s->cfg.no_pacing ? 0 : sim_flash_md5_us(size));
    rom_reply(s, op, txt, 32, 0, 0, s->busy_until);
}

static void rom_read_slow(struct sim *s, uint8_t op, const uint8_t *d,
                          size_t n, int64_t t)
{
    uint8_t buf[64];
    uint32_t addr, len;

    if (n != 8)
        return rom_fail(s, op, 0x05, t);
    addr = sim_get32(d) & 0xFFFFFF; /* 24-bit addressing in the ROM */
    len = sim_get32(d + 4);
    if (len > 64)
        return rom_fail(s, op, 0x0A, t);
    memset(buf, 0, sizeof buf);
    for (uint32_t i = 0; i < len && addr + i < s->flash_size; i++)
        buf[i] = s->flash[addr + i];
    rom_reply(s, op, buf, 64, 0, 0, t);
}

void sim_rom_command(struct sim *s, const uint8_t *f, size_t len, int64_t t)
{
    uint8_t op;
    size_t n;
    const uint8_t *d;
    uint32_t chk;
    int64_t delay;
    int e;

    if (len < 8 || f[0] != 0x00)
        return; /* not a command: the ROM ignores it */
    op = f[1];
    n = len - 8;
    d = f + 8;
    chk = sim_get32(f + 4);
    switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07:
    case 0x08: case 0x09: case 0x0A: case 0x0B: case 0x0D: case 0x0E:
    case 0x0F: case 0x10: case 0x11: case 0x12: case 0x13:
        break;
    case 0x14: /* the ESP32 ROM lacks GET_SECURITY_INFO */
        if (!s->chip->security_info_len)
            return rom_unsupported(s, t);
        break;
    default:
        return rom_unsupported(s, t);
    }
    if ((size_t)(f[2] | f[3] << 8) != n)
        return rom_fail(s, op, 0x05, t);

    switch (op) {
    case 0x08: /* SYNC */
        if (!sim_is_sync(d, n))
            return rom_fail(s, op, 0x05, t);
        s->rom_value = 0x20120707;
        for (int i = 0; i < 8; i++)
            rom_ok(s, op, t);
        return;
    case 0x0A: /* READ_REG */
        if (n != 4)
            return rom_fail(s, op, 0x05, t);
        s->rom_value = sim_read_reg(s, sim_get32(d));
        return rom_ok(s, op, t);
    case 0x09: /* WRITE_REG */
        if (n == 0 || n % 16)
            return rom_fail(s, op, 0x05, t);
        delay = do_write_regs(s, d, n);
        return rom_ok(s, op, t + (s->cfg.no_pacing ? 0 : delay));
    case 0x0B: /* SPI_SET_PARAMS */
        if (n != 24)
            return rom_fail(s, op, 0x05, t);
        return rom_ok(s, op, t);
    case 0x0D: /* SPI_ATTACH (not required before flash ops) */
        if (n != 4 && n != 8)
            return rom_fail(s, op, 0x05, t);
        return rom_ok(s, op, t);
    case 0x0F: { /* CHANGE_BAUDRATE: reply at the old baud, then switch */
        uint32_t nb;

        if (n != 8)
            return rom_fail(s, op, 0x05, t);
        nb = sim_get32(d);
        if (nb < 1200 || nb > 5000000)
            return rom_fail(s, op, 0x01, t);
        rom_ok(s, op, t);
        /* the ROM computes the divider from the crystal it believes in
         * (ESP32-C2: 40 MHz, also on a 26 MHz board; ESP32: what its
         * 8 MHz clock calibration makes of it) */
        sim_set_chip_baud(s, nb, s->chip->rtc_cali_reg
                                     ? rom_believed_hz(s)
                                     : (uint32_t)s->chip->rom_xtal_mhz *
                                           1000000u);
        return;
    }
    case 0x02: case 0x10:
        return rom_flash_begin(s, op, d, n, t);
    case 0x03: case 0x11:
        return rom_flash_data(s, op, d, n, chk, t);
    case 0x04: case 0x12:
        return rom_flash_end(s, op, d, n, t);
    case 0x13:
        return rom_md5(s, op, d, n, t);
    case 0x0E:
        return rom_read_slow(s, op, d, n, t);
    case 0x14: {
        uint8_t info[20];
        size_t il = sim_security_info(s, info);

        if (n != 0)
            return rom_fail(s, op, 0x05, t);
        return rom_reply(s, op, info, il, 0, 0, t);
    }
    case 0x05:
        e = mem_begin(s, d, n);
        return e ? rom_fail(s, op, rom_code(e), t) : rom_ok(s, op, t);
    case 0x07:
        e = mem_data(s, d, n, chk);
        return e ? rom_fail(s, op, rom_code(e), t) : rom_ok(s, op, t);
    case 0x06: /* MEM_END: flag 0 = jump to entry */
        if (n != 8)
            return rom_fail(s, op, 0x05, t);
        rom_ok(s, op, t);
        if (sim_get32(d) == 0)
            sim_mem_run(s, sim_get32(d + 4), t);
        else
            sim_mem_reset(s);
        return;
    }
}

/* ---- shared with the stub (sim_stub.c) ---- */

int sim_mem_begin(struct sim *s, const uint8_t *d, size_t n)
{
    return mem_begin(s, d, n);
}

int sim_mem_data(struct sim *s, const uint8_t *d, size_t n, uint32_t chk)
{
    return mem_data(s, d, n, chk);
}

uint8_t sim_checksum(const uint8_t *d, size_t n)
{
    return data_checksum(d, n);
}

int64_t sim_write_regs(struct sim *s, const uint8_t *d, size_t n)
{
    return do_write_regs(s, d, n);
}
