/*
 * loader.c - one chip's serial loader, ROM then stub (see loader.h).
 *
 * Follows esptool's behaviour where it is the reference (reset/sync loop,
 * chip detection, SPI user-command JEDEC read, block sizes, timeouts).  This
 * file is the host side's one user of libdeflate (compressing flash writes
 * into zlib streams) and of zlib (measuring how much each compressed block
 * inflates to, for its timeout).
 */
#include "loader.h"

#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

#include "clock.h"
#include "err.h"
#include "proto.h"

#define SYNC_TRIES 5
#define SYNC_TIMEOUT_MS 100
#define BANNER_MS 150
/* the banner wait ends this long after the download line if nothing more
 * comes (the ROM prints nothing after it until it hears SYNC) */
#define BANNER_QUIET_MS 10
#define DEFAULT_TIMEOUT_MS 3000
#define MEM_END_ROM_TIMEOUT_MS 200
#define OHAI_TIMEOUT_MS 3000
#define CHIP_ERASE_TIMEOUT_MS 120000
#define ERASE_REGION_S_PER_MB 40.0
#define ERASE_WRITE_S_PER_MB 40.0
#define MD5_S_PER_MB 8.0
#define USB_OTG_BLOCK 0x800
#define ESPRESSIF_VID 0x303A
#define READ_FLASH_PACKET 0x1000
/* libdeflate level 10: 1.3-2.6 % smaller than zlib 9 on ESP-IDF images at
 * about zlib 9's speed; 11 and 12 add under 0.1 % for 2-7x the time
 * (docs/performance.md, "Compression") */
#define LOADER_DEFLATE_LEVEL 10
#define READ_FLASH_IN_FLIGHT 64

struct loader {
    struct port *port;
    struct proto *proto;
    struct log_sink log;
    const struct chip_desc *desc;
    bool stub;
    bool expect_stub;   /* loader_expect_stub: a stub may be out of step */
    bool secure_download;
    bool usb_otg;
    uint32_t block_max;         /* loader_set_flash_block, 0 = own */
    unsigned resends;           /* data blocks sent again (loader_resends) */
    unsigned block_resends;     /* the limit per block (set_block_resends) */
    uint8_t late_error; /* a stub's deferred write error after a write */
    int patience_ms;    /* loader_set_patience */
    uint32_t baud;
    uint32_t flash_size;
    bool defl_pending;  /* last write used FLASH_DEFL_*, not finished */
    bool write_pending; /* last write used FLASH_*, not finished */
    int rev_major, rev_minor; /* -1 = not read yet */
    uint32_t pkg;       /* package field, for the description */
    bool single_core;   /* ESP32 CHIP_VER_DIS_APP_CPU */
    int xtal_mhz;       /* crystal measured at the ROM baud, 0 = not yet */
    /* the ESP32 ROM's crystal from its 8 MHz clock calibration
     * (esp32_rom_xtal): 0 = not read yet, 1 = rom_hz40/rom_nominal_hz
     * hold it, -1 = unusable (requests go uncorrected) */
    int rom_xtal_state;
    uint64_t rom_hz40;
    uint32_t rom_nominal_hz;
    loader_cancel_fn cancel;
    void *cancel_ctx;
    loader_attempt_fn on_attempt;
    void *attempt_ctx;
    char errmsg[ED_ERRMSG_MAX];
};

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

/* Copy the proto's sentence into the loader's message, return rc. */
static int fail_proto(struct loader *l, int rc)
{
    snprintf(l->errmsg, sizeof l->errmsg, "%s", proto_errmsg(l->proto));
    return rc;
}

/* Time n bytes take on the wire at the port's baud (10 bits a byte). */
static int loader_wire_ms(const struct loader *l, size_t n)
{
    uint32_t baud = l->port->baud ? l->port->baud : LOADER_ROM_BAUD;

    return (int)((uint64_t)n * 10 * 1000 / baud);
}

/* A wait for a frame of n body bytes: base_ms plus its worst-case wire
 * time at the port's baud (SLIP may double every byte). */
static int frame_ms(const struct loader *l, int base_ms, size_t n)
{
    return base_ms + loader_wire_ms(l, SLIP_ENCODED_MAX(n));
}

int loader_timeout_per_mb(double seconds_per_mb, size_t bytes)
{
    double ms = seconds_per_mb * ((double)bytes / 1e6) * 1000.0;
    if (ms < DEFAULT_TIMEOUT_MS)
        return DEFAULT_TIMEOUT_MS;
    if (ms > 3600.0 * 1000.0)
        return 3600 * 1000;
    return (int)ms;
}

int loader_new(struct loader **out, struct port *port,
               const struct log_sink *log)
{
    struct loader *l;
    int rc;

    *out = NULL;
    if (!port)
        return ED_ERR_ARG;
    l = calloc(1, sizeof *l);
    if (!l)
        return ED_ERR_NOMEM;
    l->port = port;
    if (log)
        l->log = *log;
    rc = proto_new(&l->proto, port, log);
    if (rc) {
        free(l);
        return rc;
    }
    l->baud = port->baud ? port->baud : LOADER_ROM_BAUD;
    l->rev_major = l->rev_minor = -1;
    l->block_resends = LOADER_BLOCK_RESENDS;
    *out = l;
    return ED_OK;
}

void loader_free(struct loader *l)
{
    if (!l)
        return;
    proto_free(l->proto);
    free(l);
}

const char *loader_errmsg(const struct loader *l)
{
    return l ? l->errmsg : "no loader";
}

void loader_expect_stub(struct loader *l, bool maybe)
{
    l->expect_stub = maybe;
}

void loader_set_cancel(struct loader *l, loader_cancel_fn fn, void *ctx)
{
    l->cancel = fn;
    l->cancel_ctx = ctx;
    /* the reset sequence's sleeps stop too */
    port_set_cancel(l->port, fn, ctx);
}

void loader_set_attempt_hook(struct loader *l, loader_attempt_fn fn,
                             void *ctx)
{
    l->on_attempt = fn;
    l->attempt_ctx = ctx;
}

enum chip_id loader_chip(const struct loader *l)
{
    return l->desc ? l->desc->id : CHIP_UNKNOWN;
}

bool loader_is_stub(const struct loader *l)
{
    return l->stub;
}

uint32_t loader_baud(const struct loader *l)
{
    return l->baud;
}

struct proto *loader_proto(struct loader *l)
{
    return l->proto;
}

bool loader_secure_download(const struct loader *l)
{
    return l->secure_download;
}

static void set_stub(struct loader *l, bool stub)
{
    l->stub = stub;
    proto_set_stub(l->proto, stub);
}

static bool cancelled(struct loader *l)
{
    return l->cancel && l->cancel(l->cancel_ctx);
}

/* ---- connect ---- */

/* One SYNC; on success reads the other 7 replies. */
static int sync_once(struct loader *l, bool *stub_seen)
{
    uint8_t pkt[36] = {0x07, 0x07, 0x12, 0x20};
    struct proto_reply r;
    bool all_zero;
    int rc, i;

    memset(pkt + 4, 0x55, 32);
    rc = proto_command(l->proto, OP_SYNC, pkt, sizeof pkt, 0, 0,
                       SYNC_TIMEOUT_MS, &r);
    if (rc)
        return rc;
    all_zero = r.value == 0;
    for (i = 0; i < 7; i++) {
        const uint8_t *f;
        size_t n;
        if (proto_read_frame(l->proto, &f, &n,
                             frame_ms(l, SYNC_TIMEOUT_MS, 12)) != ED_OK)
            break;
        if (n >= 8 && f[0] == 1 && f[1] == OP_SYNC && get32(f + 4) != 0)
            all_zero = false;
    }
    *stub_seen = all_zero;
    return ED_OK;
}

/* Read whatever arrives for ms (boot banner); frames are dropped. */
static int read_banner(struct loader *l, int ms)
{
    int64_t deadline = clock_ms() + ms;
    const uint8_t *f;
    size_t n;
    int rc;

    while (clock_remaining_ms(deadline) > 0) {
        int left = clock_remaining_ms(deadline);
        size_t before = proto_junk_total(l->proto);

        if (cancelled(l))
            return ED_ERR_CANCELLED;
        /* short slices: a cancel lands within one, and the wait ends
         * once the ROM has said it waits for download and gone quiet */
        rc = proto_read_frame(l->proto, &f, &n,
                              left < BANNER_QUIET_MS ? left
                                                     : BANNER_QUIET_MS);
        if (rc == ED_ERR_TIMEOUT) {
            if (proto_download_seen(l->proto) &&
                proto_junk_total(l->proto) == before)
                break;
            continue;
        }
        if (rc && rc != ED_ERR_PROTO)
            return rc;
    }
    return ED_OK;
}

#define SECINFO_SECURE_DOWNLOAD (1u << 2) /* SECURE_DOWNLOAD_ENABLE */
#define IDENTIFY_READS 4

/*
 * One identification: GET_SECURITY_INFO's chip id (20 bytes), else the
 * magic word at 0x40001000.  Only the ESP32-S2 answers the short 12-byte
 * form; Secure Download Mode is what the security info's flags say, never
 * a guess from a refused command.  *gsi_none is set once the loader has
 * (twice) refused GET_SECURITY_INFO, so that the next read skips it.
 */
static int identify_once(struct loader *l, const struct chip_desc **out,
                         bool *sdm, bool *gsi_none)
{
    struct proto_reply r;
    uint32_t magic;
    int rc = ED_ERR_UNSUPPORTED;

    *out = NULL;
    *sdm = false;
    if (!*gsi_none)
        rc = proto_command(l->proto, OP_GET_SECURITY_INFO, NULL, 0, 0, 20,
                           DEFAULT_TIMEOUT_MS, &r);
    if (rc == ED_OK && r.data_len >= 12)
        *sdm = (get32(r.data) & SECINFO_SECURE_DOWNLOAD) != 0;
    if (rc == ED_OK && r.data_len >= 20) {
        uint32_t id = get32(r.data + 12);
        *out = chip_by_image_id(id);
        if (!*out)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                             "the chip reports chip id %u, which espdeck "
                             "does not know (it knows ESP32, S2, S3, C2, C3, "
                             "C6, H2, C5 and P4)", id);
        return ED_OK;
    }
    if (rc == ED_OK && *sdm) {
        /* the 12-byte form is the ESP32-S2's; READ_REG is not allowed */
        *out = chip_get(CHIP_ESP32S2);
        return ED_OK;
    }
    if (rc == ED_ERR_UNSUPPORTED)
        *gsi_none = true;
    else if (rc && rc != ED_ERR_DEVICE && rc != ED_ERR_PROTO &&
             rc != ED_ERR_TIMEOUT)
        return fail_proto(l, rc);
    rc = loader_read_reg(l, CHIP_MAGIC_REG, &magic);
    if (rc == ED_ERR_UNSUPPORTED)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                         "the loader refuses to read the chip's magic "
                         "register and its security info does not say "
                         "Secure Download Mode: reset the board and retry");
    if (rc)
        return rc;
    *out = chip_by_magic(magic);
    if (!*out)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                         "unknown chip (magic value 0x%08x at 0x%08x): "
                         "espdeck knows ESP32, S2, S3, C2, C3, C6, H2, C5 "
                         "and P4", magic, CHIP_MAGIC_REG);
    return ED_OK;
}

/*
 * The chip is decided only when two reads in a row agree: one flipped bit
 * in a READ_REG address reads 0 (an ESP32-P4 magic), one in a reply a
 * neighbouring chip id.
 */
static int detect_chip(struct loader *l)
{
    const struct chip_desc *prev = NULL, *d = NULL;
    bool sdm = false, prev_sdm = false, gsi_none = false;
    int i, rc;

    for (i = 0; i < IDENTIFY_READS; i++) {
        rc = identify_once(l, &d, &sdm, &gsi_none);
        if (rc == ED_ERR_UNSUPPORTED && i + 1 < IDENTIFY_READS) {
            prev = NULL; /* maybe a damaged read: one more pair */
            continue;
        }
        if (rc)
            return rc;
        if (prev && d == prev && sdm == prev_sdm) {
            l->desc = d;
            l->secure_download = sdm;
            return ED_OK;
        }
        if (prev)
            log_msg(&l->log, ED_LOG_DEBUG, "the chip read as %s, then as "
                    "%s: reading again", prev->display, d->display);
        prev = d;
        prev_sdm = sdm;
    }
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_PROTO,
                     "the chip identified itself differently on every read "
                     "(last as %s): the line is damaging replies; check the "
                     "cable, or lower --baud", d ? d->display : "unknown");
}

static int after_sync(struct loader *l, bool stub_seen)
{
    int rc;

    if (stub_seen) {
        log_msg(&l->log, ED_LOG_INFO, "a flasher stub is already running");
        set_stub(l, true);
    }
    rc = detect_chip(l);
    if (rc)
        return rc;
    if (l->desc->usb_otg && l->port->usb_vid == ESPRESSIF_VID &&
        l->port->usb_pid == l->desc->image_chip_id)
        l->usb_otg = true;
    log_msg(&l->log, ED_LOG_INFO, "chip is %s%s", l->desc->display,
            l->stub ? " (stub running)" : "");
    return ED_OK;
}

static int connect_cancelled(struct loader *l)
{
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                     "cancelled while connecting");
}

/*
 * esp-flasher-stub's receiver can fall out of step and stay there (after a
 * bad escape in a frame longer than one 32-byte receive batch, a frame
 * dropped while both buffers were full, a frame cut by a lost link): then
 * each frame's closing 0xC0 opens a frame and the next one's opening 0xC0
 * closes it empty (src/slip.c:102-142), and every frame is lost.  A lone
 * 0xC0 puts it back in step; sent while in step it costs the next frame
 * (and puts it out).  So the retries of a command to the stub alternate: a
 * plain one, then a lone 0xC0 and the retry: of any two attempts that got
 * no reply, one was in step.  `silent` counts the attempts without reply.
 */
static int lone_end(struct loader *l, int rc, int silent)
{
    /* only after no reply: a reply says the frame was received in step */
    if (!(l->stub || l->expect_stub) || rc != ED_ERR_TIMEOUT ||
        silent % 2 == 0)
        return ED_OK;
    log_msg(&l->log, ED_LOG_DEBUG, "a lone 0xC0 before the retry (the "
            "stub's receiver may be out of step)");
    return proto_send_end(l->proto);
}

int loader_connect(struct loader *l, enum port_before before,
                   const char *custom_seq, int attempts, char *reset_used)
{
    const char *seqs[8];
    char boot[96] = "";
    bool saw_download = false, saw_normal = false;
    size_t junk_before, bad_before;
    int nseq, a, t, rc, silent;

    if (attempts <= 0)
        attempts = 7;
    if (reset_used)
        snprintf(reset_used, 32, "%s", "no reset");
    if (custom_seq && *custom_seq) {
        seqs[0] = custom_seq;
        nseq = 1;
    } else {
        nseq = port_reset_plan(l->port, before, seqs, 8);
        if (nseq < 0)
            return ed_seterr(l->errmsg, sizeof l->errmsg, nseq,
                             "no reset plan for %s", l->port->url);
    }
    set_stub(l, false);
    l->desc = NULL;
    l->secure_download = false;
    l->rev_major = l->rev_minor = -1;
    l->xtal_mhz = 0;
    l->rom_xtal_state = 0;
    junk_before = proto_junk_total(l->proto);
    bad_before = proto_bad_frames(l->proto);

    if (before == BEFORE_NO_RESET_NO_SYNC) {
        /* assume a stub is already running (esptool's no-reset-no-sync) */
        set_stub(l, true);
        return after_sync(l, false) == ED_OK ? ED_OK : ED_ERR_PROTO;
    }

    for (a = 0; a < attempts; a++) {
        const char *seq = nseq ? seqs[a % nseq] : NULL;

        if (cancelled(l))
            return connect_cancelled(l);
        if (l->on_attempt)
            l->on_attempt(l->attempt_ctx, a + 1);
        if (seq) {
            proto_flush_input(l->proto);
            proto_clear_junk(l->proto);
            rc = port_reset_custom(l->port, seq);
            if (rc == ED_ERR_CANCELLED)
                return connect_cancelled(l);
            if (rc)
                return ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%s",
                                 port_errmsg(l->port));
            log_msg(&l->log, ED_LOG_DEBUG, "attempt %d: %s", a + 1,
                    port_reset_seq_name(seq));
        }
        if (seq || a == 0) {
            rc = read_banner(l, BANNER_MS);
            if (rc == ED_ERR_CANCELLED)
                return connect_cancelled(l);
            if (rc)
                return fail_proto(l, rc);
        }
        for (t = 0, silent = 0; t < SYNC_TRIES; t++) {
            bool stub_seen = false;

            if (cancelled(l))
                return connect_cancelled(l);
            /* a stub left running may be out of step (a job killed
             * mid-frame): alternate with a lone 0xC0, as for its retries */
            if (t && (rc = lone_end(l, rc, silent)) != ED_OK)
                return fail_proto(l, rc);
            rc = sync_once(l, &stub_seen);
            silent += rc == ED_ERR_TIMEOUT;
            if (rc == ED_OK) {
                if (reset_used)
                    snprintf(reset_used, 32, "%s",
                             seq ? port_reset_seq_name(seq) : "no reset");
                return after_sync(l, stub_seen);
            }
            if (rc == ED_ERR_CANCELLED)
                return connect_cancelled(l);
            if (rc != ED_ERR_TIMEOUT && rc != ED_ERR_PROTO &&
                rc != ED_ERR_DEVICE && rc != ED_ERR_UNSUPPORTED)
                return ed_seterr(l->errmsg, sizeof l->errmsg, rc,
                                 "lost the connection on %s: %s",
                                 l->port->url, proto_errmsg(l->proto));
            clock_sleep_ms(50);
        }
        if (proto_boot_line(l->proto)[0])
            snprintf(boot, sizeof boot, "%s", proto_boot_line(l->proto));
        if (proto_download_seen(l->proto))
            saw_download = true;
        else if (proto_boot_line(l->proto)[0])
            saw_normal = true;
        /* without a reset nothing will change what a booted app does */
        if (!seq && saw_normal)
            break;
    }
    if (saw_normal && !saw_download)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_BOOT,
                         "board booted normally, not in download mode (%s): "
                         "hold BOOT while resetting, or check the DTR/RTS "
                         "wiring%s", boot,
                         l->port->kind == PORT_RFC2217
                             ? " (a chip's own USB-Serial/JTAG behind RFC "
                               "2217 needs --before usb-reset)"
                             : "");
    /* frames came, none a SYNC reply of the right shape: not a ROM */
    if (proto_bad_frames(l->proto) != bad_before)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_PROTO,
                         "something answers on %s, but not as an Espressif "
                         "ROM loader (%zu frames of the wrong shape in %d "
                         "attempts): check that this is the right port",
                         l->port->url,
                         proto_bad_frames(l->proto) - bad_before, attempts);
    if (saw_download)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_TIMEOUT,
                         "download mode seen but no reply to SYNC on %s: "
                         "the board's RX line may be disconnected",
                         l->port->url);
    if (proto_junk_total(l->proto) != junk_before)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_PROTO,
                         "no reply from the chip on %s after %d attempts, "
                         "only %zu bytes of other data: check the baud rate "
                         "and that this is an Espressif board",
                         l->port->url, attempts,
                         proto_junk_total(l->proto) - junk_before);
    if (!l->port->has_lines || nseq == 0)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_TIMEOUT,
                         "no reply from the chip on %s after %d attempts: "
                         "this port cannot reset the board, so hold BOOT "
                         "and press RESET by hand",
                         l->port->url, attempts);
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_TIMEOUT,
                     "no reply from the chip on %s after %d attempts: hold "
                     "BOOT and press RESET, or check the cable",
                     l->port->url, attempts);
}

/* ---- registers and chip facts ---- */

static int need_chip(struct loader *l)
{
    if (!l->desc)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_ARG,
                         "not connected to a chip yet");
    return ED_OK;
}

/* How often a command that is harmless to repeat is sent (command_again). */
#define COMMAND_ATTEMPTS 3

/* The chip says it could not read the command (the line damaged it), so it
 * did nothing: ROM 0x05 invalid format / 0x07 checksum, stub 0xC0 bad
 * length / 0xC1 bad checksum. */
static bool not_read(const struct loader *l, const struct proto_reply *r)
{
    if (l->stub)
        return r->status == 0xC0 || r->status == 0xC1;
    return r->status != 0 && (r->error == 0x05 || r->error == 0x07);
}

/*
 * A stub reports a data block it could not inflate or write (0xC4 failed
 * SPI op, 0xC7 inflate error, 0xC8 not enough, 0xC9 too much data) in the
 * reply to the next command, which it does not run: after a write, that is
 * the write's failure, not the command's (loader_late_write_error).
 */
static bool note_late_error(struct loader *l, int rc,
                            const struct proto_reply *r)
{
    if (rc == ED_ERR_DEVICE && l->stub &&
        (l->defl_pending || l->write_pending) &&
        (r->status == 0xC4 || r->status == 0xC7 || r->status == 0xC8 ||
         r->status == 0xC9)) {
        l->late_error = r->status;
        return true;
    }
    return false;
}

/*
 * A command that only reads (READ_REG, SPI_FLASH_MD5) whose request was
 * damaged where no checksum covers it (its address or length) may be
 * refused for what it asked (a stub's 0xC4 FAILED_SPI_OP for a range
 * past the flash): asked again, it reads what was meant.
 */
static bool reads_only(uint8_t op)
{
    return op == OP_READ_REG || op == OP_SPI_FLASH_MD5;
}

bool loader_late_write_error(const struct loader *l)
{
    return l->late_error != 0;
}

/*
 * A command that is harmless to repeat (it reads, or sets the same thing
 * again): sent again, at most COMMAND_ATTEMPTS times, when the chip says
 * it could not read it (a command that only reads: when it refused it at
 * all, unless that was a stub's deferred write error), and - unless
 * only_not_read (a command whose effect a lost reply would hide, such as
 * CHANGE_BAUDRATE) - when its reply is damaged or lost (one more timeout
 * at most).  To a stub, after no reply, with lone_end's lone 0xC0.
 */
static int command_again(struct loader *l, uint8_t op, const uint8_t *data,
                         size_t len, size_t want, int timeout_ms,
                         bool only_not_read, struct proto_reply *out)
{
    struct proto_reply r;
    int rc = ED_OK, a, timeouts = 0;

    for (a = 0; a < COMMAND_ATTEMPTS; a++) {
        memset(&r, 0, sizeof r);
        if ((rc = lone_end(l, rc, timeouts)) != ED_OK)
            break;
        rc = proto_command(l->proto, op, data, len, 0, want, timeout_ms, &r);
        if (rc == ED_OK) {
            if (out)
                *out = r;
            return ED_OK;
        }
        if (note_late_error(l, rc, &r))
            break;
        if (rc == ED_ERR_DEVICE) {
            if (!not_read(l, &r) && !reads_only(op))
                break;
        } else if (only_not_read || (rc != ED_ERR_PROTO &&
                                     rc != ED_ERR_TIMEOUT) ||
                   (rc == ED_ERR_TIMEOUT && ++timeouts > 1)) {
            break;
        }
        if (cancelled(l))
            break;
        log_msg(&l->log, ED_LOG_DEBUG, "%s; sending it again",
                proto_errmsg(l->proto));
    }
    return rc;
}

int loader_read_reg(struct loader *l, uint32_t addr, uint32_t *out)
{
    struct proto_reply r;
    uint8_t pkt[4];
    int rc;

    put32(pkt, addr);
    rc = command_again(l, OP_READ_REG, pkt, sizeof pkt, 0, DEFAULT_TIMEOUT_MS,
                       false, &r);
    if (rc)
        return fail_proto(l, rc);
    *out = r.value;
    return ED_OK;
}

/* Read lo and hi until two reads in a row agree (at most 4 pairs). */
static int read_pair_stable(struct loader *l, uint32_t a_lo, uint32_t a_hi,
                            uint32_t *lo, uint32_t *hi)
{
    uint32_t plo = 0, phi = 0;
    int i, rc;

    for (i = 0; i < 4; i++) {
        if ((rc = loader_read_reg(l, a_lo, lo)) != ED_OK ||
            (rc = loader_read_reg(l, a_hi, hi)) != ED_OK)
            return rc;
        if (i && *lo == plo && *hi == phi)
            return ED_OK;
        plo = *lo;
        phi = *hi;
    }
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_PROTO,
                     "registers 0x%08x/0x%08x read differently every time: "
                     "the line is damaging replies; check the cable, or "
                     "lower --baud", a_lo, a_hi);
}

int loader_write_reg(struct loader *l, uint32_t addr, uint32_t value,
                     uint32_t mask, uint32_t delay_us)
{
    uint8_t pkt[16];
    int rc;

    put32(pkt, addr);
    put32(pkt + 4, value);
    put32(pkt + 8, mask);
    put32(pkt + 12, delay_us);
    rc = proto_command(l->proto, OP_WRITE_REG, pkt, sizeof pkt, 0, 0,
                       DEFAULT_TIMEOUT_MS, NULL);
    return rc ? fail_proto(l, rc) : ED_OK;
}

int loader_read_mac(struct loader *l, uint8_t mac[6])
{
    uint32_t lo, hi;
    int rc;

    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if ((rc = read_pair_stable(l, l->desc->mac_lo, l->desc->mac_hi, &lo,
                               &hi)) != ED_OK)
        return rc;
    mac[0] = (uint8_t)(hi >> 8);
    mac[1] = (uint8_t)hi;
    mac[2] = (uint8_t)(lo >> 24);
    mac[3] = (uint8_t)(lo >> 16);
    mac[4] = (uint8_t)(lo >> 8);
    mac[5] = (uint8_t)lo;
    return ED_OK;
}

/*
 * One SPI flash command through the user-command registers, as esptool's
 * run_spiflash_command: save USR/USR2, set lengths, flags, command, address
 * (MSB-aligned on the ESP32), clear W0, start, poll, read W0, restore.
 */
static int spi_command(struct loader *l, uint8_t cmd, uint32_t addr,
                       unsigned addr_bits, unsigned dummy, unsigned read_bits,
                       uint32_t *out)
{
    const struct chip_spi_regs *s = &l->desc->spi;
    uint32_t usr, usr2, flags = 1u << 31, w0, cmdreg = 0;
    int rc, i;

    if ((rc = loader_read_reg(l, s->base + s->usr, &usr)) != ED_OK ||
        (rc = loader_read_reg(l, s->base + s->usr2, &usr2)) != ED_OK)
        return rc;
    if (read_bits)
        flags |= 1u << 28;
    if (addr_bits)
        flags |= 1u << 30;
    if (dummy)
        flags |= 1u << 29;
    if (read_bits)
        rc = loader_write_reg(l, s->base + s->miso_dlen, read_bits - 1,
                              0xFFFFFFFF, 0);
    if (!rc && (addr_bits || dummy))
        rc = loader_write_reg(l, s->base + s->usr1,
                              (addr_bits ? (addr_bits - 1) << 26 : 0) |
                              (dummy ? dummy - 1 : 0), 0xFFFFFFFF, 0);
    if (!rc)
        rc = loader_write_reg(l, s->base + s->usr, flags, 0xFFFFFFFF, 0);
    if (!rc)
        rc = loader_write_reg(l, s->base + s->usr2, (7u << 28) | cmd,
                              0xFFFFFFFF, 0);
    if (!rc && addr_bits) {
        if (l->desc->id == CHIP_ESP32 && addr_bits < 32)
            addr <<= 32 - addr_bits;
        rc = loader_write_reg(l, s->base + 4, addr, 0xFFFFFFFF, 0);
    }
    if (!rc)
        rc = loader_write_reg(l, s->base + s->w0, 0, 0xFFFFFFFF, 0);
    if (!rc)
        rc = loader_write_reg(l, s->base, 1u << 18, 0xFFFFFFFF, 0);
    if (rc)
        return rc;
    for (i = 0; i < 10; i++) {
        if ((rc = loader_read_reg(l, s->base, &cmdreg)) != ED_OK)
            return rc;
        if (!(cmdreg & (1u << 18)))
            break;
    }
    if (cmdreg & (1u << 18))
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_DEVICE,
                         "the SPI flash command 0x%02x did not complete: "
                         "is a flash chip attached?", cmd);
    if ((rc = loader_read_reg(l, s->base + s->w0, &w0)) != ED_OK)
        return rc;
    if ((rc = loader_write_reg(l, s->base + s->usr, usr, 0xFFFFFFFF, 0)) ||
        (rc = loader_write_reg(l, s->base + s->usr2, usr2, 0xFFFFFFFF, 0)))
        return rc;
    *out = w0;
    return ED_OK;
}

#define SFDP_SIGNATURE 0x50444653u /* "SFDP" */

/*
 * SFDP first (esptool: 0x5A, 24-bit address 0, 8 dummy cycles, 32 bits;
 * a flash without it only gets a warning), then RDID.  An id of ffffff,
 * 000000 or ffff3f is no flash at all: ED_ERR_NOT_FOUND.
 */
int loader_flash_id(struct loader *l, uint32_t *out)
{
    uint32_t sfdp = 0, id;
    int rc;

    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if ((rc = spi_command(l, 0x5A, 0, 24, 8, 32, &sfdp)) != ED_OK)
        return rc;
    if ((rc = spi_command(l, 0x9F, 0, 0, 0, 24, &id)) != ED_OK)
        return rc;
    id &= 0xFFFFFF;
    if (id == 0xFFFFFF || id == 0 || id == 0xFFFF3F)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_NOT_FOUND,
                         "no SPI flash answered (JEDEC id %02x %02x %02x): "
                         "check the flash chip / strapping", id & 0xFF,
                         id >> 8 & 0xFF, id >> 16);
    if (sfdp != SFDP_SIGNATURE)
        log_msg(&l->log, ED_LOG_WARN,
                "the flash (JEDEC id %02x %02x %02x) did not return the SFDP "
                "signature (read 0x%08x): going by its id", id & 0xFF,
                id >> 8 & 0xFF, id >> 16, sfdp);
    *out = id;
    return ED_OK;
}

int loader_crystal_mhz(struct loader *l, int *out)
{
    uint32_t div;
    double est;
    int rc;

    *out = 0;
    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if (l->desc->xtal_fixed_mhz) {
        *out = l->desc->xtal_fixed_mhz;
        return ED_OK;
    }
    if (l->xtal_mhz) {
        *out = l->xtal_mhz;
        return ED_OK;
    }
    if ((rc = loader_read_reg(l, l->desc->uart_clkdiv_reg, &div)) != ED_OK)
        return rc;
    div &= 0xFFFFF;
    if (div == 0)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_DEVICE,
                         "the UART clock divider reads 0: cannot tell the "
                         "crystal frequency");
    est = (double)l->baud * div / 1e6 / l->desc->xtal_clk_divider;
    *out = est > 45 ? 48 : est > 33 ? 40 : 26;
    /* the divider after a baud change says nothing about the crystal
     * when a ROM computed it from a wrong belief: keep the first one */
    if (!l->stub && l->baud == LOADER_ROM_BAUD)
        l->xtal_mhz = *out;
    return ED_OK;
}

/* eFuse word n counted from addr. */
static int efuse_word(struct loader *l, uint32_t addr, unsigned n,
                      uint32_t *out)
{
    return loader_read_reg(l, addr + 4 * n, out);
}

/* The eFuse fields per chip family (esptool's targets). */
static int read_revision(struct loader *l)
{
    uint32_t base = l->desc->efuse_base, b1 = base + 0x44, w3, w4, w5, w2;
    int rc;

    switch (l->desc->id) {
    case CHIP_ESP32: {
        /* CHIP_VER_REV1 (word 3 bit 15), CHIP_VER_REV2 (word 5 bit 20)
         * and APB_CTRL_DATE bit 31 make a 3-bit code for the major */
        uint32_t date;
        unsigned code;

        if ((rc = efuse_word(l, base, 3, &w3)) ||
            (rc = efuse_word(l, base, 5, &w5)) ||
            (rc = loader_read_reg(l, 0x3FF6607C, &date)))
            return rc;
        code = (w3 >> 15 & 1) | (w5 >> 20 & 1) << 1 | (date >> 31) << 2;
        l->rev_major = code == 7 ? 3 : code == 3 ? 2 : code == 1 ? 1 : 0;
        l->rev_minor = (int)(w5 >> 24 & 3);
        l->pkg = (w3 >> 9 & 7) | (w3 >> 2 & 1) << 3;
        l->single_core = w3 & 1;
        return ED_OK;
    }
    case CHIP_ESP32S2:
        if ((rc = efuse_word(l, b1, 3, &w3)) ||
            (rc = efuse_word(l, b1, 4, &w4)))
            return rc;
        l->rev_major = (int)(w3 >> 18 & 3);
        l->rev_minor = (int)((w3 >> 20 & 1) << 3 | (w4 >> 4 & 7));
        /* flash version + 100 * PSRAM version */
        l->pkg = (w3 >> 21 & 0xF) + (w3 >> 28 & 0xF) * 100;
        return ED_OK;
    case CHIP_ESP32S3:
    case CHIP_ESP32C3:
    case CHIP_ESP32C6:
    case CHIP_ESP32H2:
        if ((rc = efuse_word(l, b1, 3, &w3)) ||
            (rc = efuse_word(l, b1, 5, &w5)))
            return rc;
        l->rev_major = (int)(w5 >> 24 & 3);
        l->rev_minor = (int)((w5 >> 23 & 1) << 3 | (w3 >> 18 & 7));
        l->pkg = w3 >> 21 & 7;
        return ED_OK;
    case CHIP_ESP32C2:
        /* BLOCK2 word 1, which also holds the MAC's high bytes */
        if ((rc = efuse_word(l, base + 0x40, 1, &w2)))
            return rc;
        l->rev_major = (int)(w2 >> 20 & 3);
        l->rev_minor = (int)(w2 >> 16 & 0xF);
        l->pkg = w2 >> 22 & 7;
        return ED_OK;
    case CHIP_ESP32C5:
    case CHIP_ESP32P4:
        if ((rc = efuse_word(l, b1, 2, &w2)))
            return rc;
        l->rev_major = (int)(w2 >> 4 & 3);
        l->rev_minor = (int)(w2 & 0xF);
        l->pkg = w2 >> (l->desc->id == CHIP_ESP32C5 ? 26 : 20) & 7;
        return ED_OK;
    default:
        break;
    }
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                     "no revision eFuses known for this chip");
}

/* The revision eFuses, read until two reads in a row agree. */
static int read_revision_stable(struct loader *l)
{
    int i, rc, pmaj = -1, pmin = -1;
    uint32_t ppkg = 0;
    bool psingle = false;

    for (i = 0; i < 4; i++) {
        if ((rc = read_revision(l)) != ED_OK)
            return rc;
        if (i && l->rev_major == pmaj && l->rev_minor == pmin &&
            l->pkg == ppkg && l->single_core == psingle)
            return ED_OK;
        pmaj = l->rev_major;
        pmin = l->rev_minor;
        ppkg = l->pkg;
        psingle = l->single_core;
    }
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_PROTO,
                     "the chip revision read differently every time: the "
                     "line is damaging replies; check the cable, or lower "
                     "--baud");
}

int loader_chip_revision(struct loader *l, int *major, int *minor)
{
    int rc;

    *major = *minor = -1;
    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if (l->secure_download)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                         "the chip revision cannot be read in Secure "
                         "Download Mode");
    if (l->rev_major < 0 && (rc = read_revision_stable(l)) != ED_OK) {
        l->rev_major = l->rev_minor = -1;
        return rc;
    }
    *major = l->rev_major;
    *minor = l->rev_minor;
    return ED_OK;
}

/* Package names as esptool prints them. */
static const char *package_name(const struct loader *l)
{
    bool v3 = l->rev_major == 3;

    switch (l->desc->id) {
    case CHIP_ESP32:
        switch (l->pkg) {
        case 0:
            return l->single_core ? "ESP32-S0WDQ6"
                                  : v3 ? "ESP32-D0WDQ6-V3" : "ESP32-D0WDQ6";
        case 1:
            return l->single_core ? "ESP32-S0WD"
                                  : v3 ? "ESP32-D0WD-V3" : "ESP32-D0WD";
        case 2: return "ESP32-D2WD";
        case 4: return "ESP32-U4WDH";
        case 5: return v3 ? "ESP32-PICO-V3" : "ESP32-PICO-D4";
        case 6: return "ESP32-PICO-V3-02";
        case 7: return "ESP32-D0WDR2-V3";
        default: return "unknown ESP32";
        }
    case CHIP_ESP32S2:
        switch (l->pkg) {
        case 0: return "ESP32-S2";
        case 1: return "ESP32-S2FH2";
        case 2: return "ESP32-S2FH4";
        case 100: return "ESP32-S2R2";
        case 102: return "ESP32-S2FNR2";
        default: return "unknown ESP32-S2";
        }
    case CHIP_ESP32C3:
        switch (l->pkg) {
        case 0: return "ESP32-C3 (QFN32)";
        case 1: return "ESP8685 (QFN28)";
        case 2: return "ESP32-C3 AZ (QFN32)";
        case 3: return "ESP8686 (QFN24)";
        default: return "unknown ESP32-C3";
        }
    default:
        return l->desc->display;
    }
}

int loader_chip_description(struct loader *l, char *buf, size_t len)
{
    int major, minor, rc;

    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    rc = loader_chip_revision(l, &major, &minor);
    if (rc != ED_OK) {
        snprintf(buf, len, "%s", l->desc->display);
        return rc;
    }
    snprintf(buf, len, "%s (revision v%d.%d)", package_name(l), major,
             minor);
    return ED_OK;
}

int loader_security_info(struct loader *l, uint32_t *flags, uint32_t *chip_id)
{
    struct proto_reply r;
    int rc;

    rc = proto_command(l->proto, OP_GET_SECURITY_INFO, NULL, 0, 0, 20,
                       DEFAULT_TIMEOUT_MS, &r);
    if (rc)
        return fail_proto(l, rc);
    if (flags)
        *flags = get32(r.data);
    if (chip_id) {
        if (r.data_len < 20)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                             "this chip's security info has no chip id");
        *chip_id = get32(r.data + 12);
    }
    return ED_OK;
}

/* ---- data blocks ---- */

/* The smallest piece a rejected compressed block is cut into (stubs). */
#define MIN_PIECE 0x100

/*
 * One data block (MEM_DATA, FLASH_DATA, FLASH_DEFL_DATA), sent once.
 * *unread tells that the chip rejected it unread - its length or checksum
 * did not match, so the stubs and the ROM dropped it before using it (the
 * legacy stub checks both before handle_flash_deflated_data, the new one
 * before it registers the block's post-processing) - and it may go again.
 * A block whose fate is unknown (no reply, a damaged one) never goes
 * again: the loader may have taken it and only its reply was lost, and a
 * block fed twice into a live inflate stream (or written twice at the
 * stub's moving position) breaks the image; the engine proves what
 * reached the flash by MD5 and resumes with a fresh begin instead.
 */
static int data_block(struct loader *l, uint8_t op, uint8_t *pkt,
                      const uint8_t *data, size_t len, uint32_t seq,
                      int timeout, bool *unread)
{
    struct proto_reply r;
    int rc;

    put32(pkt, (uint32_t)len);
    put32(pkt + 4, seq);
    put32(pkt + 8, 0);
    put32(pkt + 12, 0);
    memcpy(pkt + 16, data, len);
    memset(&r, 0, sizeof r);
    rc = proto_command(l->proto, op, pkt, 16 + len, proto_checksum(data, len),
                       0, timeout, &r);
    *unread = rc == ED_ERR_DEVICE && not_read(l, &r);
    if (rc == ED_OK)
        return ED_OK;
    if (rc == ED_ERR_CLOSED)
        snprintf(l->errmsg, sizeof l->errmsg, "the link to the board "
                 "closed%s%s%s", port_errmsg(l->port)[0] ? " (" : "",
                 port_errmsg(l->port), port_errmsg(l->port)[0] ? ")" : "");
    else
        fail_proto(l, rc);
    snprintf(l->errmsg + strlen(l->errmsg),
             sizeof l->errmsg - strlen(l->errmsg), " (block %u)", seq);
    return rc;
}

/* After block seq was rejected unread (ROM 0x05/0x07, stub 0xC0/0xC1: it
 * never used it) for the *tries-th time: may it go again (at most
 * l->block_resends times)?  Counts and logs the resend. */
static bool may_resend(struct loader *l, unsigned *tries, uint32_t seq,
                       size_t len)
{
    if (++*tries > l->block_resends || cancelled(l))
        return false;
    l->resends++;
    log_msg(&l->log, ED_LOG_DEBUG, "%s; sending block %u (%zu bytes) again",
            l->errmsg, seq, len);
    return true;
}

/* ---- RAM ---- */

static uint32_t ram_block(const struct loader *l)
{
    return l->usb_otg ? USB_OTG_BLOCK : LOADER_RAM_BLOCK;
}

/* MEM_BEGIN for len bytes at addr in blocks of bs. */
static int mem_begin(struct loader *l, uint32_t addr, size_t len, uint32_t bs)
{
    uint8_t hdr[16];
    int rc;

    put32(hdr, (uint32_t)len);
    put32(hdr + 4, (uint32_t)((len + bs - 1) / bs));
    put32(hdr + 8, bs);
    put32(hdr + 12, addr);
    /* harmless to repeat: it only names where the next blocks go */
    rc = command_again(l, OP_MEM_BEGIN, hdr, 16, 0, DEFAULT_TIMEOUT_MS,
                       false, NULL);
    return rc ? fail_proto(l, rc) : ED_OK;
}

/*
 * The segments into RAM.  A MEM_DATA the chip rejected unread (damaged on
 * the way) goes again; a rejected block longer than LOADER_MIN_FLASH_BLOCK
 * first makes the rest of its segment a new MEM_BEGIN with blocks of that
 * size, so that fewer tries meet a damaged byte (the ROM writes a block at
 * its MEM_BEGIN's address plus seq times its block size).
 */
static int mem_segments(struct loader *l, const struct loader_segment *segs,
                        size_t n)
{
    uint8_t *pkt = malloc(16 + ram_block(l));
    size_t i;
    int rc = ED_OK;

    if (!pkt)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_NOMEM,
                         "out of memory");
    for (i = 0; i < n && !rc; i++) {
        const struct loader_segment *s = &segs[i];
        uint32_t bs = ram_block(l), seq = 0;
        size_t off = 0;
        unsigned tries = 0;

        rc = mem_begin(l, s->addr, s->len, bs);
        while (!rc && off < s->len) {
            size_t len = s->len - off < bs ? s->len - off : bs;
            bool unread;

            rc = data_block(l, OP_MEM_DATA, pkt, s->data + off, len, seq,
                            DEFAULT_TIMEOUT_MS, &unread);
            if (rc == ED_OK) {
                off += len;
                seq++;
                tries = 0;
                continue;
            }
            if (!unread || !may_resend(l, &tries, seq, len))
                break;
            if (len > LOADER_MIN_FLASH_BLOCK) {
                bs = LOADER_MIN_FLASH_BLOCK;
                seq = 0;
                rc = mem_begin(l, s->addr + (uint32_t)off, s->len - off, bs);
            } else {
                rc = ED_OK;
            }
        }
    }
    free(pkt);
    return rc;
}

int loader_mem_load(struct loader *l, const struct loader_segment *segs,
                    size_t n, uint32_t entry)
{
    uint8_t end[8];
    int rc;

    rc = mem_segments(l, segs, n);
    if (rc)
        return rc;
    put32(end, entry == 0 ? 1 : 0);
    put32(end + 4, entry);
    rc = proto_command(l->proto, OP_MEM_END, end, 8, 0, 0,
                       l->stub || !entry ? DEFAULT_TIMEOUT_MS
                                         : MEM_END_ROM_TIMEOUT_MS, NULL);
    /* A ROM that jumped may never answer: esptool ignores that too. */
    if (rc && (l->stub || !entry))
        return fail_proto(l, rc);
    return ED_OK;
}

/* One upload: segments, MEM_END, then the stub's OHAI. */
static int run_stub_once(struct loader *l, const struct loader_segment *segs,
                         size_t n, uint32_t entry)
{
    int64_t deadline;
    uint8_t end[8];
    int rc, resent = 0;

    rc = mem_segments(l, segs, n);
    if (rc)
        return rc;
    put32(end, 0);
    put32(end + 4, entry);
    rc = proto_send(l->proto, OP_MEM_END, end, 8, 0);
    if (rc)
        return fail_proto(l, rc);
    /* the MEM_END reply (maybe), then the stub's raw "OHAI" frame */
    deadline = clock_ms() + frame_ms(l, OHAI_TIMEOUT_MS, 12 + 4);
    for (;;) {
        const uint8_t *f;
        size_t fl;
        int left = clock_remaining_ms(deadline);

        if (cancelled(l))
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                             "cancelled while starting the flasher stub");
        rc = proto_read_frame(l->proto, &f, &fl, left < 100 ? left : 100);
        if (rc == ED_ERR_TIMEOUT && clock_remaining_ms(deadline) > 0)
            continue;
        if (rc == ED_ERR_TIMEOUT)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_TIMEOUT,
                             "no OHAI from the stub within %d ms after "
                             "MEM_END", OHAI_TIMEOUT_MS);
        if (rc)
            return fail_proto(l, rc);
        if (fl == 4 && !memcmp(f, "OHAI", 4))
            return ED_OK;
        if (fl >= 10 && f[0] == 1 && f[1] == OP_MEM_END && f[8] != 0) {
            struct proto_reply r = {.status = f[8], .error = f[9]};

            if (!not_read(l, &r) || ++resent >= 3)
                return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_DEVICE,
                                 "MEM_END failed: the chip said %s: %s",
                                 proto_rom_error_name(f[9]),
                                 proto_rom_error_fix(f[9]));
            /* damaged on the way, so not run: send it again */
            log_msg(&l->log, ED_LOG_DEBUG, "MEM_END rejected unread "
                    "(0x%02x); sending it again", f[9]);
            rc = proto_send(l->proto, OP_MEM_END, end, 8, 0);
            if (rc)
                return fail_proto(l, rc);
        }
    }
}

/*
 * After a failed upload: who answers SYNC now?  ED_OK with *stub set when
 * the stub runs after all (its OHAI was lost), ED_OK when the ROM answers
 * (upload again), else the error (nothing answers: the stub did not start).
 */
static int resync(struct loader *l, bool *stub)
{
    int64_t until = clock_ms() + l->patience_ms;
    int t, silent = 0, last = ED_OK, rc = ED_ERR_TIMEOUT;

    *stub = false;
    /* SYNC_TRIES at least; a line that stalls (a network link that holds
     * its bytes for seconds) is waited for up to the patience */
    for (t = 0; (t < SYNC_TRIES || clock_remaining_ms(until) > 0) &&
                !cancelled(l);
         t++) {
        proto_flush_input(l->proto);
        if ((rc = lone_end(l, last, silent)) != ED_OK)
            return rc;
        last = rc = sync_once(l, stub);
        silent += rc == ED_ERR_TIMEOUT;
        if (rc == ED_OK || (rc != ED_ERR_TIMEOUT && rc != ED_ERR_PROTO &&
                            rc != ED_ERR_DEVICE))
            return rc;
        clock_sleep_ms(50);
    }
    return cancelled(l) ? ED_ERR_CANCELLED : rc;
}

/*
 * A damaged MEM_DATA or MEM_END (one bad byte on the line) is not a stub
 * that cannot start: re-sync and upload again, up to STUB_UPLOADS times.
 * Only when nothing answers after a failed upload, or every upload fails,
 * does the caller fall back to the ROM loader.
 */
#define STUB_UPLOADS 4

int loader_run_stub(struct loader *l, const struct loader_segment *segs,
                    size_t n, uint32_t entry)
{
    char first[ED_ERRMSG_MAX] = "";
    int a, rc = ED_OK;

    if (l->stub)
        return ED_OK;
    for (a = 0; a < STUB_UPLOADS; a++) {
        bool stub = false;
        int rs;

        rc = run_stub_once(l, segs, n, entry);
        if (rc == ED_OK || rc == ED_ERR_CANCELLED || rc == ED_ERR_CLOSED ||
            rc == ED_ERR_IO || rc == ED_ERR_NOMEM)
            break;
        if (!first[0])
            snprintf(first, sizeof first, "%s", l->errmsg);
        rs = resync(l, &stub);
        if (rs == ED_OK && stub) {
            log_msg(&l->log, ED_LOG_INFO, "the flasher stub answers after "
                    "all (%s)", l->errmsg);
            rc = ED_OK;
            break;
        }
        if (rs != ED_OK) {
            if (rs == ED_ERR_CANCELLED)
                rc = rs;
            else
                ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%s, and "
                          "nothing has answered SYNC since", first);
            break;
        }
        if (a + 1 < STUB_UPLOADS)
            log_msg(&l->log, ED_LOG_WARN, "uploading the flasher stub again "
                    "(%s)", l->errmsg);
        else
            ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%d uploads "
                      "failed, the first with: %s", STUB_UPLOADS, first);
    }
    if (rc == ED_OK) {
        set_stub(l, true);
        log_msg(&l->log, ED_LOG_DEBUG, "flasher stub running");
    }
    return rc;
}

/* ---- baud, attach ---- */

/*
 * The ESP32 ROM's crystal (chip_esp32_rom_xtal), read once a connection
 * (the ROM calibrates once, at reset): RTCCALICFG1 and eFuse word 4 read
 * until two reads agree, as the other identification reads, and checked
 * against the crystal the UART divider tells.  false, with one warning,
 * when they cannot be read or make no sense: the request then goes
 * uncorrected, as before esptool's fix.
 */
static bool esp32_rom_xtal(struct loader *l)
{
    char why[ED_ERRMSG_MAX];
    uint32_t cal, fuse;
    int rc, xtal = 0;

    if (l->rom_xtal_state)
        return l->rom_xtal_state > 0;
    l->rom_xtal_state = -1;
    rc = read_pair_stable(l, CHIP_ESP32_RTCCALICFG1,
                          l->desc->efuse_base +
                          4 * CHIP_ESP32_CK8M_EFUSE_WORD, &cal, &fuse);
    if (rc != ED_OK)
        snprintf(why, sizeof why, "%s", l->errmsg);
    else
        rc = chip_esp32_rom_xtal(cal, fuse, &l->rom_hz40, &l->rom_nominal_hz,
                                 why, sizeof why);
    if (rc == ED_OK && loader_crystal_mhz(l, &xtal) == ED_OK &&
        (uint32_t)xtal * 1000000u != l->rom_nominal_hz)
        rc = ed_seterr(why, sizeof why, ED_ERR_PROTO, "its 8 MHz clock "
                       "calibration makes a %.2f MHz crystal, but the UART "
                       "divider says %d MHz", (double)l->rom_hz40 / 40e6,
                       xtal);
    if (rc != ED_OK) {
        log_msg(&l->log, ED_LOG_WARN, "not correcting the baud asked of "
                "the ESP32 ROM for its 8 MHz clock drift (%s): a high "
                "--baud through the ROM may not hold", why);
        return false;
    }
    l->rom_xtal_state = 1;
    return true;
}

/*
 * What to ask a ROM for so that its UART ends up at baud (esptool's
 * corrections): the ESP32 ROM computes its divider from a crystal derived
 * from its drifting 8 MHz RC clock (esp32_rom_xtal); the ESP32-C2 ROM
 * believes in a 40 MHz crystal also on 26 MHz boards; the ESP32-C5 ROM may
 * expect 48 MHz on a 40 MHz board or the other way round (PCR_SYSCLK_CONF
 * bits 24..30 say which).  Stubs know their clock: never corrected.
 */
static uint32_t rom_baud_request(struct loader *l, uint32_t baud)
{
    uint32_t reg, ask;
    int xtal = 0, expect;

    if (l->stub || !l->desc || l->secure_download)
        return baud;
    if (l->desc->id == CHIP_ESP32) {
        if (!esp32_rom_xtal(l))
            return baud;
        ask = chip_esp32_rom_baud(baud, l->rom_hz40, l->rom_nominal_hz);
        log_msg(&l->log, ED_LOG_INFO, "ESP32 ROM: its 8 MHz clock "
                "calibration makes the %u MHz crystal %.4f MHz: asking "
                "for %u baud to get %u", l->rom_nominal_hz / 1000000u,
                (double)l->rom_hz40 / 40e6, ask, baud);
        return ask;
    }
    if (l->desc->id == CHIP_ESP32C2 && loader_crystal_mhz(l, &xtal) == ED_OK &&
        xtal == 26) {
        log_msg(&l->log, ED_LOG_DEBUG, "ESP32-C2 ROM with a 26 MHz crystal: "
                "asking for %u baud to get %u",
                (uint32_t)((uint64_t)baud * 40 / 26), baud);
        return (uint32_t)((uint64_t)baud * 40 / 26);
    }
    if (l->desc->id == CHIP_ESP32C5 && loader_crystal_mhz(l, &xtal) == ED_OK &&
        loader_read_reg(l, 0x60096110, &reg) == ED_OK) {
        expect = (int)(reg >> 24 & 0x7F);
        log_msg(&l->log, ED_LOG_DEBUG, "ESP32-C5 ROM expects a %d MHz "
                "crystal, %d MHz detected", expect, xtal);
        if (xtal == 48 && expect == 40)
            return (uint32_t)((uint64_t)baud * 40 / 48);
        if (xtal == 40 && expect == 48)
            return (uint32_t)((uint64_t)baud * 48 / 40);
    }
    return baud;
}

/*
 * After a CHANGE_BAUDRATE whose reply was lost or damaged: the stub and
 * the ROM answer at the old baud and switch after that (esp-flasher-stub
 * src/command_handler.c: the switch is s_change_baudrate_post_process,
 * run after the response is sent), so the chip may be at either.  SYNC
 * at the new baud, then at the old: 1 (new), 0 (old), or -1 (neither;
 * the port is back at the old baud).
 */
#define BAUD_PROBES 2

static int baud_probe(struct loader *l, uint32_t baud)
{
    uint32_t rates[2] = {baud, l->baud};
    int k, t;

    for (k = 0; k < 2; k++) {
        int last = ED_OK;

        if (port_set_baud(l->port, rates[k]) != ED_OK)
            return -1;
        clock_sleep_ms(50);
        for (t = 0; t < BAUD_PROBES && !cancelled(l); t++) {
            bool stub = false;

            proto_flush_input(l->proto);
            /* the second SYNC after a silent first: a lone 0xC0 ahead */
            if (lone_end(l, last, t) != ED_OK)
                return -1;
            last = sync_once(l, &stub);
            if (last == ED_OK && stub == l->stub)
                return k == 0 ? 1 : 0;
        }
    }
    return -1;
}

int loader_change_baud(struct loader *l, uint32_t baud)
{
    uint8_t pkt[8];
    int rc, a, at = -1;

    if (baud == l->baud)
        return ED_OK;
    put32(pkt, rom_baud_request(l, baud));
    put32(pkt + 4, l->stub ? l->baud : 0);
    for (a = 0;; a++) {
        char why[ED_ERRMSG_MAX];

        rc = command_again(l, OP_CHANGE_BAUDRATE, pkt, 8, 0,
                           DEFAULT_TIMEOUT_MS, true, NULL);
        if (rc == ED_OK)
            break;
        fail_proto(l, rc);
        /* a ROM's refusal is a refusal; a stub refuses only a request it
         * could not read, which command_again sent again already */
        if (a + 1 >= COMMAND_ATTEMPTS ||
            !(rc == ED_ERR_PROTO || rc == ED_ERR_TIMEOUT ||
              (rc == ED_ERR_DEVICE && l->stub)))
            return rc;
        snprintf(why, sizeof why, "%s", l->errmsg);
        at = baud_probe(l, baud);
        if (at < 0)
            return ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%s, and the "
                             "chip answers SYNC at neither %u nor %u baud",
                             why, baud, l->baud);
        log_msg(&l->log, ED_LOG_INFO, "%s; the chip answers at %u baud%s",
                why, at ? baud : l->baud,
                at ? "" : ": asking for the switch again");
        if (at)
            break;
    }
    rc = at == 1 ? ED_OK : port_set_baud(l->port, baud);
    if (rc)
        return ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%s",
                         port_errmsg(l->port));
    clock_sleep_ms(50);
    proto_flush_input(l->proto);
    l->baud = baud;
    log_msg(&l->log, ED_LOG_INFO, "baud rate now %u", baud);
    return ED_OK;
}

void loader_rom_baud(struct loader *l)
{
    if (l->baud != LOADER_ROM_BAUD &&
        port_set_baud(l->port, LOADER_ROM_BAUD) == ED_OK)
        l->baud = LOADER_ROM_BAUD;
    proto_flush_input(l->proto);
}

#define LINK_CHECK_TIMEOUT_MS 200

int loader_link_check(struct loader *l, int rounds)
{
    struct proto_reply r;
    uint32_t first = 0;
    uint8_t pkt[4];
    int i, rc;

    put32(pkt, CHIP_MAGIC_REG);
    for (i = 0; i < rounds; i++) {
        rc = proto_command(l->proto, OP_READ_REG, pkt, sizeof pkt, 0, 0,
                           LINK_CHECK_TIMEOUT_MS, &r);
        if (rc)
            return fail_proto(l, rc);
        if (i == 0)
            first = r.value;
        else if (r.value != first)
            return proto_malformed(l->errmsg, sizeof l->errmsg,
                                   "the same register read 0x%08x, then "
                                   "0x%08x", first, r.value);
    }
    return ED_OK;
}

int loader_flash_attach(struct loader *l, uint32_t flash_size)
{
    uint8_t pkt[24];
    int rc;

    memset(pkt, 0, sizeof pkt);
    /* config 0 (eFuse pins); the ROM takes 4 more bytes (is_legacy 0) */
    rc = command_again(l, OP_SPI_ATTACH, pkt, l->stub ? 4 : 8, 0,
                       DEFAULT_TIMEOUT_MS, false, NULL);
    if (rc)
        return fail_proto(l, rc);
    if (!flash_size) {
        uint32_t id;
        if (loader_flash_id(l, &id) == ED_OK)
            flash_size = chip_flash_size_from_id(id);
        if (!flash_size) {
            flash_size = 4u << 20;
            log_msg(&l->log, ED_LOG_WARN,
                    "flash size unknown, assuming 4 MiB");
        }
    }
    put32(pkt, 0);
    put32(pkt + 4, flash_size);
    put32(pkt + 8, 64 * 1024);
    put32(pkt + 12, 4 * 1024);
    put32(pkt + 16, 256);
    put32(pkt + 20, 0xFFFF);
    rc = command_again(l, OP_SPI_SET_PARAMS, pkt, 24, 0, DEFAULT_TIMEOUT_MS,
                       false, NULL);
    if (rc)
        return fail_proto(l, rc);
    l->flash_size = flash_size;
    return ED_OK;
}

/* ---- flash write ---- */

static uint32_t flash_block(const struct loader *l)
{
    uint32_t bs;

    if (!l->stub)
        return LOADER_ROM_FLASH_BLOCK;
    bs = l->usb_otg ? USB_OTG_BLOCK : LOADER_STUB_FLASH_BLOCK;
    return l->block_max && l->block_max < bs ? l->block_max : bs;
}

void loader_set_flash_block(struct loader *l, uint32_t max)
{
    l->block_max = max && max < LOADER_MIN_FLASH_BLOCK ? LOADER_MIN_FLASH_BLOCK
                                                       : max;
}

uint32_t loader_flash_block(const struct loader *l)
{
    return flash_block(l);
}

/* FLASH_BEGIN / FLASH_DEFL_BEGIN */
static int flash_begin(struct loader *l, uint8_t op, uint32_t size,
                       uint32_t blocks, uint32_t bs, uint32_t offset,
                       uint32_t erase_bytes)
{
    uint8_t pkt[20];
    size_t n = 16;
    int rc;

    put32(pkt, size);
    put32(pkt + 4, blocks);
    put32(pkt + 8, bs);
    put32(pkt + 12, offset);
    /* esptool: the "encrypted" word to every stub, to ROMs but the ESP32's */
    if (l->stub || (l->desc && l->desc->rom_flash_begin_encrypted_word)) {
        put32(pkt + 16, 0);
        n = 20;
    }
    l->late_error = 0;
    /* harmless to repeat: a begin again starts the same write afresh */
    rc = command_again(l, op, pkt, n, 0,
                       loader_timeout_per_mb(ERASE_REGION_S_PER_MB,
                                             erase_bytes), false, NULL);
    return rc ? fail_proto(l, rc) : ED_OK;
}

/* One data block, sent again while the chip rejects it unread. */
static int flash_block_send(struct loader *l, uint8_t op, uint8_t *pkt,
                            const uint8_t *data, size_t len, uint32_t seq,
                            size_t uncompressed)
{
    int timeout = loader_timeout_per_mb(ERASE_WRITE_S_PER_MB, uncompressed);
    unsigned tries = 0;
    bool unread;
    int rc;

    do
        rc = data_block(l, op, pkt, data, len, seq, timeout, &unread);
    while (rc && unread && may_resend(l, &tries, seq, len));
    return rc;
}

/*
 * A compressed block for a stub, which takes pieces of its stream of any
 * size (it concatenates them; only seq 0 is special: the zlib header): a
 * piece the stub rejected unread goes again a quarter as long (down to
 * MIN_PIECE), so fewer of its tries meet a damaged byte; *piece carries
 * the size to the next block, doubled after every 8 pieces in a row that
 * arrived whole.  *seq counts the pieces the stub took.
 */
static int defl_block_pieces(struct loader *l, uint8_t *pkt,
                             const uint8_t *data, size_t len,
                             size_t uncompressed, uint32_t bs, uint32_t *seq,
                             uint32_t *piece, unsigned *whole)
{
    int timeout = loader_timeout_per_mb(ERASE_WRITE_S_PER_MB, uncompressed);
    size_t off = 0;
    unsigned tries = 0;

    while (off < len) {
        size_t n = len - off < *piece ? len - off : *piece;
        bool unread;
        int rc = data_block(l, OP_FLASH_DEFL_DATA, pkt, data + off, n, *seq,
                            timeout, &unread);

        if (rc == ED_OK) {
            off += n;
            (*seq)++;
            tries = 0;
            if (++*whole >= 8 && *piece < bs) {
                *piece = *piece * 2 < bs ? *piece * 2 : bs;
                *whole = 0;
            }
            continue;
        }
        if (!unread || !may_resend(l, &tries, *seq, n))
            return rc;
        *whole = 0;
        if (*piece > MIN_PIECE)
            *piece = *piece / 4 > MIN_PIECE ? *piece / 4 : MIN_PIECE;
    }
    return ED_OK;
}

void loader_set_patience(struct loader *l, int ms)
{
    l->patience_ms = ms > 0 ? ms : 0;
}

/* The stub upload after the link was opened again: whoever answers. */
int loader_restart_stub(struct loader *l, const struct loader_segment *segs,
                        size_t n, uint32_t entry)
{
    bool stub = false;
    int rc = resync(l, &stub);

    if (rc)
        return fail_proto(l, rc);
    if (stub) { /* it had started: only its OHAI was lost */
        set_stub(l, true);
        return ED_OK;
    }
    return loader_run_stub(l, segs, n, entry);
}

unsigned loader_resends(const struct loader *l)
{
    return l->resends;
}

void loader_set_block_resends(struct loader *l, unsigned n)
{
    l->block_resends = n;
}

int loader_deflate(const uint8_t *data, size_t len, uint8_t **out,
                   size_t *out_len)
{
    struct libdeflate_compressor *c;
    size_t cap, n;
    uint8_t *buf;

    *out = NULL;
    *out_len = 0;
    c = libdeflate_alloc_compressor(LOADER_DEFLATE_LEVEL);
    if (!c)
        return ED_ERR_NOMEM;
    cap = libdeflate_zlib_compress_bound(c, len);
    buf = malloc(cap ? cap : 1);
    n = buf ? libdeflate_zlib_compress(c, data, len, buf, cap) : 0;
    libdeflate_free_compressor(c);
    if (!n) {
        free(buf);
        return ED_ERR_NOMEM;
    }
    *out = buf;
    *out_len = n;
    return ED_OK;
}

/* FLASH_BEGIN + FLASH_DATA of data, padded blocks of flash_block(). */
static int write_plain(struct loader *l, uint32_t offset, const uint8_t *data,
                       size_t len, loader_progress_fn progress, void *ctx)
{
    uint32_t bs = flash_block(l), blocks, seq;
    uint8_t *pkt = malloc(16 + (size_t)bs), *pad = malloc(bs);
    size_t wire_total, wire_done = 0, done = 0;
    int rc;

    if (!pkt || !pad) {
        rc = ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_NOMEM,
                       "out of memory");
        goto out;
    }
    blocks = (uint32_t)((len + bs - 1) / bs);
    wire_total = (size_t)blocks * bs;
    rc = flash_begin(l, OP_FLASH_BEGIN, (uint32_t)len, blocks, bs, offset,
                     len);
    if (rc)
        goto out;
    l->defl_pending = false;
    l->write_pending = true;
    log_msg(&l->log, ED_LOG_DEBUG, "writing %zu bytes at 0x%x in %u blocks",
            len, offset, blocks);
    for (seq = 0; seq < blocks; seq++) {
        size_t off = (size_t)seq * bs;
        size_t n = len - off < bs ? len - off : bs;
        const uint8_t *src = data + off;

        if (cancelled(l)) {
            rc = ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                           "cancelled after %zu of %zu bytes", done, len);
            goto out;
        }
        if (n < bs) {
            memcpy(pad, data + off, n);
            memset(pad + n, 0xFF, bs - n);
            src = pad;
        }
        rc = flash_block_send(l, OP_FLASH_DATA, pkt, src, bs, seq, bs);
        if (rc)
            goto out;
        done += n;
        wire_done += bs;
        if (progress)
            progress(ctx, done, len, wire_done, wire_total);
    }
    rc = ED_OK;
out:
    free(pkt);
    free(pad);
    return rc;
}

int loader_flash_write_deflated(struct loader *l, uint32_t offset,
                                size_t len, const uint8_t *comp,
                                size_t comp_len, loader_progress_fn progress,
                                void *ctx)
{
    uint32_t bs = flash_block(l), blocks, seq, size, sent = 0, piece = bs;
    unsigned whole = 0;
    uint8_t *pkt = NULL, *scratch = NULL;
    size_t wire_done = 0, done = 0;
    z_stream zs;
    bool zs_init = false;
    int rc;

    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if (len == 0 || len > 0xFFFFFFFFu - offset || !comp_len)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_ARG,
                         "nothing to write at 0x%x", offset);
    pkt = malloc(16 + (size_t)bs);
    scratch = malloc(32768);
    memset(&zs, 0, sizeof zs);
    if (!pkt || !scratch || inflateInit(&zs) != Z_OK) {
        rc = ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_NOMEM,
                       "out of memory");
        goto out;
    }
    zs_init = true;
    size = l->stub ? (uint32_t)len
                   : (uint32_t)((len + LOADER_ROM_FLASH_BLOCK - 1) /
                                LOADER_ROM_FLASH_BLOCK *
                                LOADER_ROM_FLASH_BLOCK);
    blocks = (uint32_t)((comp_len + bs - 1) / bs);
    rc = flash_begin(l, OP_FLASH_DEFL_BEGIN, size, blocks, bs, offset, size);
    if (rc)
        goto out;
    l->defl_pending = true;
    l->write_pending = false;
    log_msg(&l->log, ED_LOG_DEBUG,
            "writing %zu bytes at 0x%x in %u blocks (compressed)", len,
            offset, blocks);
    for (seq = 0; seq < blocks; seq++) {
        size_t off = (size_t)seq * bs;
        size_t n = comp_len - off < bs ? comp_len - off : bs;
        size_t before = zs.total_out;

        if (cancelled(l)) {
            rc = ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                           "cancelled after %zu of %zu bytes", done, len);
            goto out;
        }
        /* how much this block inflates to, for its timeout */
        zs.next_in = (Bytef *)(uintptr_t)(comp + off);
        zs.avail_in = (uInt)n;
        while (zs.avail_in) {
            int zr;

            zs.next_out = scratch;
            zs.avail_out = 32768;
            zr = inflate(&zs, Z_NO_FLUSH);
            if (zr == Z_STREAM_END)
                break;
            if (zr != Z_OK && zr != Z_BUF_ERROR)
                break;
        }
        if (l->stub)
            rc = defl_block_pieces(l, pkt, comp + off, n,
                                   zs.total_out - before, bs, &sent, &piece,
                                   &whole);
        else
            rc = flash_block_send(l, OP_FLASH_DEFL_DATA, pkt, comp + off, n,
                                  seq, zs.total_out - before);
        if (rc)
            goto out;
        done = zs.total_out;
        wire_done += n;
        if (progress)
            progress(ctx, done > len ? len : done, len, wire_done, comp_len);
    }
    rc = ED_OK;
out:
    if (zs_init)
        inflateEnd(&zs);
    free(scratch);
    free(pkt);
    return rc;
}

int loader_flash_write(struct loader *l, uint32_t offset, const uint8_t *data,
                       size_t len, bool compress, loader_progress_fn progress,
                       void *ctx)
{
    uint8_t *comp = NULL;
    size_t comp_len = 0;
    int rc;

    if ((rc = need_chip(l)) != ED_OK)
        return rc;
    if (len == 0 || len > 0xFFFFFFFFu - offset)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_ARG,
                         "nothing to write at 0x%x", offset);
    if (compress) {
        rc = loader_deflate(data, len, &comp, &comp_len);
        if (rc)
            return ed_seterr(l->errmsg, sizeof l->errmsg, rc,
                             "could not compress %zu bytes", len);
    }
    if (comp && comp_len < len)
        rc = loader_flash_write_deflated(l, offset, len, comp, comp_len,
                                         progress, ctx);
    else
        rc = write_plain(l, offset, data, len, progress, ctx);
    free(comp);
    return rc;
}

int loader_flash_finish(struct loader *l, bool reboot)
{
    uint8_t pkt[4];
    uint8_t op = l->defl_pending ? OP_FLASH_DEFL_END : OP_FLASH_END;
    int rc;

    l->defl_pending = l->write_pending = false;
    /* FLASH_END makes a ROM leave the loader: esptool never sends it */
    if (!l->stub && !reboot)
        return ED_OK;
    put32(pkt, reboot ? 0 : 1);
    rc = proto_command(l->proto, op, pkt, 4, 0, 0, DEFAULT_TIMEOUT_MS, NULL);
    if (rc && !(reboot && rc == ED_ERR_TIMEOUT))
        return fail_proto(l, rc);
    return ED_OK;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int loader_md5(struct loader *l, uint32_t offset, uint32_t len,
               uint8_t digest[16])
{
    struct proto_reply r;
    uint8_t pkt[16];
    int rc, i;

    put32(pkt, offset);
    put32(pkt + 4, len);
    put32(pkt + 8, 0);
    put32(pkt + 12, 0);
    rc = command_again(l, OP_SPI_FLASH_MD5, pkt, 16, l->stub ? 16 : 32,
                       loader_timeout_per_mb(MD5_S_PER_MB, len), false, &r);
    if (rc)
        return fail_proto(l, rc);
    if (l->stub) {
        memcpy(digest, r.data, 16);
        return ED_OK;
    }
    for (i = 0; i < 16; i++) {
        int hi = hexval(r.data[2 * i]), lo = hexval(r.data[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return proto_malformed(l->errmsg, sizeof l->errmsg,
                                   "the ROM's MD5 reply is not hexadecimal");
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return ED_OK;
}

/*
 * SPI_FLASH_MD5 of n ranges, one request at a time.  Not pipelined to the
 * stub: esp-flasher-stub disarms its receiver when a frame ends and
 * re-arms it only when its main loop takes that frame, after the UART
 * interrupt's batch (32 bytes or the RX timeout: src/slip.c:113-116,
 * src/transport.c:25-35, :53-69, :189-192), so a second request sent
 * behind the first (two 26-byte frames fall in one batch) is lost and
 * leaves the receiver out of step; only a pause the line keeps would
 * separate them, and a network port (RFC 2217) does not keep one.  Not to
 * a ROM: whether it keeps a second request while it hashes is unknown
 * (closed source; esptool and esptool-js never pipeline).
 *
 * Replies carry no range: a reply that did not come within its deadline
 * may still come, so it is waited out once more and dropped, and no later
 * MD5 takes it for its own (a late digest of a blank sector matches any
 * blank sector).  On an error every digest of the batch is void.  One at
 * a time also suits the stub still writing a data block right after one.
 */
static int md5_send(struct loader *l, uint32_t offset, uint32_t len)
{
    uint8_t pkt[16];

    put32(pkt, offset);
    put32(pkt + 4, len);
    put32(pkt + 8, 0);
    put32(pkt + 12, 0);
    return proto_send(l->proto, OP_SPI_FLASH_MD5, pkt, 16, 0);
}

/* The reply of an MD5 that timed out: waited out once more and dropped. */
static void md5_drain_owed(struct loader *l, uint32_t len)
{
    struct proto_reply r = {0};
    int rc = proto_wait(l->proto, OP_SPI_FLASH_MD5, l->stub ? 16 : 32,
                        loader_timeout_per_mb(MD5_S_PER_MB, len), &r);

    log_msg(&l->log, ED_LOG_DEBUG, "loader: the MD5 reply still owed %s",
            rc ? "did not come" : "came late and was dropped");
}

int loader_md5_many(struct loader *l, const uint32_t *offsets,
                    const uint32_t *lens, size_t n, uint8_t (*digests)[16])
{
    size_t sent = 0, got;
    int rc;

    for (got = 0; got < n; got++) {
        struct proto_reply r = {0};
        int i;

        rc = md5_send(l, offsets[got], lens[got]);
        if (rc)
            goto fail;
        sent++;
        rc = proto_wait(l->proto, OP_SPI_FLASH_MD5, l->stub ? 16 : 32,
                        loader_timeout_per_mb(MD5_S_PER_MB, lens[got]), &r);
        note_late_error(l, rc, &r);
        if (rc)
            goto fail;
        if (l->stub) {
            memcpy(digests[got], r.data, 16);
            continue;
        }
        for (i = 0; i < 16; i++) {
            int hi = hexval(r.data[2 * i]), lo = hexval(r.data[2 * i + 1]);

            if (hi < 0 || lo < 0)
                return proto_malformed(l->errmsg, sizeof l->errmsg,
                                       "the ROM's MD5 reply is not "
                                       "hexadecimal");
            digests[got][i] = (uint8_t)(hi << 4 | lo);
        }
    }
    return ED_OK;
fail:
    if (got < sent && rc == ED_ERR_TIMEOUT)
        md5_drain_owed(l, lens[got]);
    return fail_proto(l, rc);
}

int loader_resync(struct loader *l)
{
    bool stub_seen = false;
    /* a stub reports a deferred error (a block it could not inflate or
     * write) in the reply to the next command: that may be the first SYNC,
     * so resync() tries several */
    int rc = resync(l, &stub_seen);

    if (rc)
        return fail_proto(l, rc);
    if (stub_seen != l->stub)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_BOOT,
                         "the board answers as the %s, no longer the %s: it "
                         "was reset", stub_seen ? "flasher stub"
                                                : "ROM loader",
                         l->stub ? "flasher stub" : "ROM loader");
    l->defl_pending = l->write_pending = false;
    return ED_OK;
}

int loader_set_port(struct loader *l, struct port *port)
{
    struct proto *p;
    int rc;

    rc = proto_new(&p, port, &l->log);
    if (rc)
        return ed_seterr(l->errmsg, sizeof l->errmsg, rc, "out of memory");
    proto_set_stub(p, l->stub);
    proto_free(l->proto);
    l->proto = p;
    l->port = port;
    return ED_OK;
}

/* ---- read ---- */

static int read_flash_rom(struct loader *l, uint32_t offset, uint8_t *buf,
                          size_t len, loader_progress_fn progress, void *ctx)
{
    size_t done = 0;
    int rc;

    while (done < len) {
        struct proto_reply r;
        uint8_t pkt[8];
        size_t n = len - done < 64 ? len - done : 64;

        if (cancelled(l))
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                             "cancelled after %zu of %zu bytes", done, len);
        put32(pkt, offset + (uint32_t)done);
        put32(pkt + 4, (uint32_t)n);
        rc = proto_command(l->proto, OP_READ_FLASH_SLOW, pkt, 8, 0, 64,
                           DEFAULT_TIMEOUT_MS, &r);
        if (rc)
            return fail_proto(l, rc);
        memcpy(buf + done, r.data, n);
        done += n;
        if (progress)
            progress(ctx, done, len, done, len);
    }
    return ED_OK;
}

int loader_read_flash(struct loader *l, uint32_t offset, uint8_t *buf,
                      size_t len, loader_progress_fn progress, void *ctx)
{
    uint8_t pkt[16], ack[4], want[16];
    const uint8_t *f;
    size_t fl, done = 0;
    MD5_CTX md5;
    int rc;

    if (len == 0)
        return ED_OK;
    if (!l->stub)
        return read_flash_rom(l, offset, buf, len, progress, ctx);
    put32(pkt, offset);
    put32(pkt + 4, (uint32_t)len);
    put32(pkt + 8, READ_FLASH_PACKET);
    put32(pkt + 12, READ_FLASH_IN_FLIGHT);
    rc = proto_command(l->proto, OP_READ_FLASH, pkt, 16, 0, 0,
                       DEFAULT_TIMEOUT_MS, NULL);
    if (rc)
        return fail_proto(l, rc);
    while (done < len) {
        /* a 4 KiB packet takes 4.3 s at 9600 baud, 8.5 s when every
         * byte is escaped: wait for the wire too */
        rc = proto_read_frame(l->proto, &f, &fl,
                              frame_ms(l, DEFAULT_TIMEOUT_MS,
                                       READ_FLASH_PACKET));
        if (rc == ED_ERR_TIMEOUT)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_TIMEOUT,
                             "READ_FLASH stalled after %zu of %zu bytes",
                             done, len);
        if (rc)
            return fail_proto(l, rc);
        if (fl > len - done)
            return proto_malformed(l->errmsg, sizeof l->errmsg,
                                   "READ_FLASH sent %zu bytes when %zu were "
                                   "left", fl, len - done);
        memcpy(buf + done, f, fl);
        done += fl;
        put32(ack, (uint32_t)done);
        rc = proto_send_frame(l->proto, ack, 4);
        if (rc)
            return fail_proto(l, rc);
        if (progress)
            progress(ctx, done, len, done, len);
        if (done < len && cancelled(l))
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_CANCELLED,
                             "cancelled after %zu of %zu bytes (the stub "
                             "must be reset)", done, len);
    }
    rc = proto_read_frame(l->proto, &f, &fl,
                          frame_ms(l, DEFAULT_TIMEOUT_MS, 16));
    if (rc)
        return fail_proto(l, rc);
    if (fl != 16)
        return proto_malformed(l->errmsg, sizeof l->errmsg,
                               "READ_FLASH ended with a %zu-byte frame "
                               "instead of the 16-byte MD5", fl);
    MD5Init(&md5);
    MD5Update(&md5, buf, len);
    MD5Final(want, &md5);
    if (memcmp(want, f, 16) != 0)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_VERIFY,
                         "the data read from 0x%x (%zu bytes) does not match "
                         "the chip's MD5: the serial line corrupted it",
                         offset, len);
    return ED_OK;
}

/* ---- erase ---- */

int loader_erase_region(struct loader *l, uint32_t offset, uint32_t len)
{
    uint8_t pkt[8];
    int rc;

    if ((offset | len) & 0xFFF)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_ARG,
                         "erase region 0x%x+0x%x is not aligned to 4 KiB "
                         "sectors", offset, len);
    if (len == 0)
        return ED_OK;
    if (!l->stub) {
        /* the ROM has no erase command: FLASH_BEGIN erases up front */
        rc = flash_begin(l, OP_FLASH_BEGIN, len, 0, LOADER_ROM_FLASH_BLOCK,
                         offset, len);
        l->write_pending = true;
        return rc;
    }
    put32(pkt, offset);
    put32(pkt + 4, len);
    rc = proto_command(l->proto, OP_ERASE_REGION, pkt, 8, 0, 0,
                       loader_timeout_per_mb(ERASE_REGION_S_PER_MB, len),
                       NULL);
    return rc ? fail_proto(l, rc) : ED_OK;
}

int loader_erase_flash(struct loader *l)
{
    int rc;

    if (!l->stub) {
        uint32_t size = l->flash_size, id;
        if (!size && loader_flash_id(l, &id) == ED_OK)
            size = chip_flash_size_from_id(id);
        if (!size)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                             "cannot erase the whole flash through the ROM "
                             "without knowing its size: use the stub");
        return loader_erase_region(l, 0, size);
    }
    rc = proto_command(l->proto, OP_ERASE_FLASH, NULL, 0, 0, 0,
                       CHIP_ERASE_TIMEOUT_MS, NULL);
    return rc ? fail_proto(l, rc) : ED_OK;
}

/* ---- after ---- */

static int watchdog_reset(struct loader *l)
{
    const struct chip_desc *d = l->desc;
    uint32_t base, c0, c1, wp;
    int rc;

    if (!d || !d->rtc_wdt.base)
        return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                         "watchdog reset is not available on %s: use "
                         "--after hard-reset",
                         d ? d->display : "this chip");
    base = d->rtc_wdt.base;
    c0 = d->rtc_wdt.config0;
    c1 = d->rtc_wdt.config1;
    wp = d->rtc_wdt.wprotect;
    if ((rc = loader_write_reg(l, base + wp, 0x50D83AA1, 0xFFFFFFFF, 0)) ||
        (rc = loader_write_reg(l, base + c1, 2000, 0xFFFFFFFF, 0)) ||
        (rc = loader_write_reg(l, base + c0,
                               (1u << 31) | (5u << 28) | (1u << 8) | 2,
                               0xFFFFFFFF, 0)) ||
        (rc = loader_write_reg(l, base + wp, 0, 0xFFFFFFFF, 0)))
        return rc;
    /* the chip comes back at the ROM's 115200: be there for its banner */
    loader_rom_baud(l);
    clock_sleep_ms(500);
    return ED_OK;
}

/* FLASH_BEGIN(0, 0) + FLASH_END(flag) */
static int begin_end(struct loader *l, uint32_t flag)
{
    uint8_t pkt[4];
    int rc;

    rc = flash_begin(l, OP_FLASH_BEGIN, 0, 0, flash_block(l), 0, 0);
    if (rc)
        return rc;
    put32(pkt, flag);
    rc = proto_command(l->proto, OP_FLASH_END, pkt, 4, 0, 0,
                       DEFAULT_TIMEOUT_MS, NULL);
    /* a loader that leaves may not answer */
    if (rc && rc != ED_ERR_TIMEOUT)
        return fail_proto(l, rc);
    return ED_OK;
}

int loader_after(struct loader *l, enum port_after after)
{
    int rc;

    switch (after) {
    case AFTER_HARD_RESET:
        if (!l->port->has_lines) {
            log_msg(&l->log, ED_LOG_WARN,
                    "%s has no reset lines: reset the board by hand",
                    l->port->url);
            return ED_OK;
        }
        rc = port_reset_hard(l->port);
        if (rc)
            return ed_seterr(l->errmsg, sizeof l->errmsg, rc, "%s",
                             port_errmsg(l->port));
        set_stub(l, false);
        return ED_OK;
    case AFTER_SOFT_RESET:
        if (l->stub)
            return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_UNSUPPORTED,
                             "soft reset is not possible from the flasher "
                             "stub on %s: use --after hard-reset",
                             l->desc ? l->desc->display : "this chip");
        /* ROM: FLASH_END(1) leaves the loader and runs the app */
        return begin_end(l, 1);
    case AFTER_NO_RESET:
        if (!l->stub)
            return ED_OK;
        /* the stub reboots into the ROM loader */
        rc = begin_end(l, 0);
        if (rc == ED_OK)
            set_stub(l, false);
        return rc;
    case AFTER_NO_RESET_STUB:
        return ED_OK;
    case AFTER_WATCHDOG_RESET:
        rc = watchdog_reset(l);
        if (rc == ED_OK)
            set_stub(l, false);
        return rc;
    }
    return ed_seterr(l->errmsg, sizeof l->errmsg, ED_ERR_ARG,
                     "unknown --after mode");
}
