/*
 * Fidelity to real chips and esptool: chip revision eFuses and the
 * description, crystal and baud quirks, the SFDP / no-flash check, the
 * RTC watchdog reset.  Host (loader, engine) against the in-process
 * simulator (sim:CHIP?pacing=0&...), and the simulator core directly.
 */
#include <md5.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "clock.h"
#include "engine.h"
#include "err.h"
#include "loader.h"
#include "port.h"
#include "sim/sim.h"
#include "slip.h"
#include "test.h"

static struct port *fid_open(const char *spec)
{
    char url[160], err[ED_ERRMSG_MAX];
    struct port *p = NULL;

    snprintf(url, sizeof url, "sim:%s", spec);
    if (port_open(&p, url, LOADER_ROM_BAUD, NULL, err, sizeof err) != ED_OK)
        t_fail(__FILE__, __LINE__, "port_open(%s): %s", url, err);
    return p;
}

static struct loader *fid_connect(const char *spec, struct port **port)
{
    struct loader *l = NULL;

    *port = fid_open(spec);
    if (loader_new(&l, *port, NULL) != ED_OK)
        t_fail(__FILE__, __LINE__, "loader_new");
    if (loader_connect(l, BEFORE_DEFAULT_RESET, NULL, 3, NULL) != ED_OK)
        t_fail(__FILE__, __LINE__, "connect %s: %s", spec, loader_errmsg(l));
    return l;
}

/* ---- 1. chip revision ---- */

static const struct {
    const char *spec;
    int major, minor;
    const char *descr;
} default_revs[] = {
    {"esp32", 3, 0, "ESP32-D0WDQ6-V3 (revision v3.0)"},
    {"esp32s2", 0, 0, "ESP32-S2 (revision v0.0)"},
    {"esp32s3", 0, 0, "ESP32-S3 (revision v0.0)"},
    {"esp32c2", 1, 0, "ESP32-C2 (revision v1.0)"},
    {"esp32c3", 0, 3, "ESP32-C3 (QFN32) (revision v0.3)"},
    {"esp32c6", 0, 0, "ESP32-C6 (revision v0.0)"},
    {"esp32h2", 0, 0, "ESP32-H2 (revision v0.0)"},
    {"esp32c5", 0, 1, "ESP32-C5 (revision v0.1)"},
    {"esp32p4", 1, 0, "ESP32-P4 (revision v1.0)"},
};

void test_fidelity__default_revision_every_chip(void)
{
    for (size_t i = 0; i < sizeof default_revs / sizeof default_revs[0];
         i++) {
        char spec[64], d[64];
        struct port *p;
        struct loader *l;
        int major, minor;

        snprintf(spec, sizeof spec, "%s?pacing=0", default_revs[i].spec);
        l = fid_connect(spec, &p);
        T_EQ_INT(loader_chip_revision(l, &major, &minor), ED_OK);
        T_EQ_INT(major, default_revs[i].major);
        T_EQ_INT(minor, default_revs[i].minor);
        T_EQ_INT(loader_chip_description(l, d, sizeof d), ED_OK);
        T_EQ_STR(d, default_revs[i].descr);
        loader_free(l);
        port_close(p);
    }
}

/* --chip-rev goes through every eFuse bit the host reads (the C3 family
 * keeps minor bit 3 in another word than bits 0..2). */
void test_fidelity__chip_rev_option_round_trip(void)
{
    static const char *chips[] = {"esp32s2", "esp32s3", "esp32c2", "esp32c3",
                                  "esp32c6", "esp32h2", "esp32c5", "esp32p4"};
    static const struct { const char *rev; int major, minor; } revs[] = {
        {"v2.11", 2, 11}, {"1.5", 1, 5}, {"3.8", 3, 8}, {"0.0", 0, 0},
    };

    for (size_t c = 0; c < sizeof chips / sizeof chips[0]; c++)
        for (size_t r = 0; r < sizeof revs / sizeof revs[0]; r++) {
            char spec[80];
            struct port *p;
            struct loader *l;
            int major, minor;

            snprintf(spec, sizeof spec, "%s?pacing=0&chip-rev=%s", chips[c],
                     revs[r].rev);
            l = fid_connect(spec, &p);
            T_EQ_INT(loader_chip_revision(l, &major, &minor), ED_OK);
            if (major != revs[r].major || minor != revs[r].minor)
                t_fail(__FILE__, __LINE__, "%s: got v%d.%d", spec, major,
                       minor);
            loader_free(l);
            port_close(p);
        }
}

void test_fidelity__esp32_revisions(void)
{
    static const struct { const char *rev; const char *d; } v[] = {
        {"0.0", "ESP32-D0WDQ6 (revision v0.0)"},
        {"1.0", "ESP32-D0WDQ6 (revision v1.0)"},
        {"1.1", "ESP32-D0WDQ6 (revision v1.1)"},
        {"2.0", "ESP32-D0WDQ6 (revision v2.0)"},
        {"3.1", "ESP32-D0WDQ6-V3 (revision v3.1)"},
    };
    char spec[64], d[64], err[ED_ERRMSG_MAX];
    struct port *p;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct loader *l;

        snprintf(spec, sizeof spec, "esp32?pacing=0&chip-rev=%s", v[i].rev);
        l = fid_connect(spec, &p);
        T_EQ_INT(loader_chip_description(l, d, sizeof d), ED_OK);
        T_EQ_STR(d, v[i].d);
        loader_free(l);
        port_close(p);
    }
    /* the ESP32 has two bits for the minor revision */
    T_ASSERT(port_open(&p, "sim:esp32?chip-rev=3.4", LOADER_ROM_BAUD, NULL,
                       err, sizeof err) != ED_OK);
    T_CONTAINS(err, "minor revisions 0..3");
    T_ASSERT(port_open(&p, "sim:esp32?chip-rev=4.0", LOADER_ROM_BAUD, NULL,
                       err, sizeof err) != ED_OK);
    T_CONTAINS(err, "not a revision");
}

/* ---- engine: EV_CHIP display and the ESP32-P4 stub choice ---- */

struct fid_result {
    int status;
    char message[ED_ERRMSG_MAX];
    struct engine_chip_info chip;
    bool got_chip, finished;
    char log[8192];
};

static void fid_collect(struct fid_result *res, const struct engine_event *ev)
{
    size_t n;

    switch (ev->kind) {
    case EV_LOG:
        n = strlen(res->log);
        snprintf(res->log + n, sizeof res->log - n, "%s\n", ev->u.log.text);
        break;
    case EV_CHIP:
        res->chip = ev->u.chip;
        res->got_chip = true;
        break;
    case EV_FINISHED:
        res->status = ev->u.finished.status;
        snprintf(res->message, sizeof res->message, "%s",
                 ev->u.finished.message);
        res->finished = true;
        break;
    default:
        break;
    }
}

static void fid_run(struct engine_job *job, struct fid_result *res)
{
    struct engine *e;
    char err[256];
    int waited = 0;

    memset(res, 0, sizeof *res);
    T_ASSERT(engine_new(&e, job, err, sizeof err) == 0);
    T_ASSERT(engine_start(e) == 0);
    while (!res->finished && waited < 120000) {
        struct pollfd pf = {engine_wake_fd(e), POLLIN, 0};
        struct engine_event ev;

        poll(&pf, 1, 100);
        waited += 100;
        while (engine_poll(e, &ev))
            fid_collect(res, &ev);
    }
    if (!res->finished)
        engine_cancel(e);
    engine_free(e);
    T_ASSERT(res->finished);
}

/* One small image at 0x10000 (the engine frees it with the job). */
static void fid_job(struct engine_job *job, const char *url, size_t len)
{
    struct engine_image *im;

    engine_job_init(job);
    snprintf(job->port, sizeof job->port, "%s", url);
    im = &job->images[job->n_images++];
    im->data = malloc(len);
    T_ASSERT(im->data);
    for (size_t i = 0; i < len; i++)
        im->data[i] = (uint8_t)(i * 7 + (i >> 8));
    im->len = len;
    snprintf(im->name, sizeof im->name, "app");
    snprintf(im->source, sizeof im->source, "test data");
    im->offset = 0x10000;
}

void test_fidelity__engine_p4_stub_follows_revision(void)
{
    struct engine_job job;
    struct fid_result res;

    fid_job(&job, "sim:esp32p4?pacing=0", 5000);
    fid_run(&job, &res);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(res.got_chip);
    T_EQ_STR(res.chip.display, "ESP32-P4 (revision v1.0)");
    T_EQ_INT(res.chip.revision, 100);
    T_CONTAINS(res.log, "flasher stub esp32p4-rev1 running");

    fid_job(&job, "sim:esp32p4?pacing=0&chip-rev=3.0", 5000);
    fid_run(&job, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_STR(res.chip.display, "ESP32-P4 (revision v3.0)");
    T_EQ_INT(res.chip.revision, 300);
    T_CONTAINS(res.log, "flasher stub esp32p4 running");
    T_ASSERT(strstr(res.log, "esp32p4-rev1") == NULL);

    fid_job(&job, "sim:esp32c3?pacing=0", 3000);
    fid_run(&job, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_STR(res.chip.display, "ESP32-C3 (QFN32) (revision v0.3)");
}

/* ---- 2. crystal and baud quirks ---- */

/* The host scales its request (ESP32-C2 ROM on 26 MHz, ESP32-C5 ROM that
 * expects the other crystal) and talks on at the new baud. */
void test_fidelity__rom_baud_change_with_odd_crystals(void)
{
    static const struct { const char *spec; int xtal; } v[] = {
        {"esp32c2?pacing=0&xtal=26", 26}, {"esp32c2?pacing=0", 40},
        {"esp32?pacing=0&xtal=26", 26}, {"esp32c5?pacing=0&xtal=40", 40},
        {"esp32c5?pacing=0", 48},
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct port *p;
        struct loader *l = fid_connect(v[i].spec, &p);
        uint8_t data[4096], want[16], got[16];
        uint32_t magic;
        MD5_CTX md5;
        int xtal;

        T_EQ_INT(loader_crystal_mhz(l, &xtal), ED_OK);
        T_EQ_INT(xtal, v[i].xtal);
        if (loader_change_baud(l, 921600) != ED_OK)
            t_fail(__FILE__, __LINE__, "%s: %s", v[i].spec, loader_errmsg(l));
        if (loader_read_reg(l, CHIP_MAGIC_REG, &magic) != ED_OK)
            t_fail(__FILE__, __LINE__, "%s at 921600: %s", v[i].spec,
                   loader_errmsg(l));
        for (size_t k = 0; k < sizeof data; k++)
            data[k] = (uint8_t)(k * 13 + i);
        T_EQ_INT(loader_flash_write(l, 0x20000, data, sizeof data, true,
                                    NULL, NULL), ED_OK);
        T_EQ_INT(loader_md5(l, 0x20000, sizeof data, got), ED_OK);
        MD5Init(&md5);
        MD5Update(&md5, data, sizeof data);
        MD5Final(want, &md5);
        T_EQ_MEM(got, want, 16);
        T_EQ_INT(loader_crystal_mhz(l, &xtal), ED_OK);
        T_EQ_INT(xtal, v[i].xtal);
        loader_free(l);
        port_close(p);
    }
}

/* Drain the simulator's output and decode frames; returns the count of
 * frames whose body starts with 01 op (a reply to op). */
static int sim_replies(struct sim *s, uint8_t op, int64_t now)
{
    uint8_t buf[4096], frame[512];
    struct slip_decoder d;
    int n_ok = 0;
    size_t n;

    slip_decoder_init(&d, frame, sizeof frame);
    while ((n = sim_tx(s, buf, sizeof buf, now)) > 0)
        for (size_t i = 0; i < n; i++) {
            size_t fl = 0;

            slip_decode(&d, &buf[i], 1, &fl);
            if (fl >= 2 && frame[0] == 1 && frame[1] == op)
                n_ok++;
        }
    return n_ok;
}

static void sim_send(struct sim *s, uint8_t op, const uint8_t *data,
                     size_t n, int64_t now)
{
    uint8_t body[64], wire[160];
    size_t wl;

    body[0] = 0;
    body[1] = op;
    body[2] = (uint8_t)n;
    body[3] = 0;
    memset(body + 4, 0, 4);
    memcpy(body + 8, data, n);
    wl = slip_encode(wire, sizeof wire, body, 8 + n);
    sim_rx(s, wire, wl, now);
}

static const uint8_t sync_body[36] = {
    0x07, 0x07, 0x12, 0x20, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
};

/* A board of cfg powered up in download mode, its banner read, the host at
 * 115200; NULL if cfg is refused. */
static struct sim *rom_sim(const struct sim_config *cfg, int64_t t)
{
    char err[ED_ERRMSG_MAX];
    struct sim *s;

    if (sim_new(&s, cfg, err, sizeof err) != ED_OK)
        return NULL;
    sim_connect(s, false, t);
    sim_set_host_baud(s, 115200, t);
    sim_replies(s, 0, t + 100000); /* banner */
    return s;
}

/* CHANGE_BAUDRATE(request) to the ROM, then the host at 921600: the SYNC
 * replies heard there (8 = all, 0 = garbage); frees s. */
static int sync_after_baud_change(struct sim *s, uint32_t request,
                                  int64_t t)
{
    uint8_t pkt[8] = {0};
    int got;

    for (int i = 0; i < 4; i++)
        pkt[i] = (uint8_t)(request >> (8 * i));
    sim_send(s, 0x0F, pkt, 8, t);
    if (sim_replies(s, 0x0F, t) != 1) { /* the reply at the old baud */
        sim_free(s);
        return -2;
    }
    sim_set_host_baud(s, 921600, t);
    sim_send(s, 0x08, sync_body, sizeof sync_body, t);
    got = sim_replies(s, 0x08, t + 100000);
    sim_free(s);
    return got;
}

/* A client that does not scale its request on a 26 MHz ESP32-C2 gets a
 * UART at 921600 x 26/40 and reads garbage; one that scales talks on. */
static int c2_after_baud_change(uint32_t request)
{
    struct sim_config cfg;
    struct sim *s;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32c2";
    cfg.no_pacing = true;
    cfg.xtal_mhz = 26;
    if (!(s = rom_sim(&cfg, 1000000)))
        return -1;
    return sync_after_baud_change(s, request, 1100000);
}

void test_fidelity__c2_26mhz_rom_baud_needs_scaling(void)
{
    T_EQ_INT(c2_after_baud_change(921600), 0);               /* garbage */
    T_EQ_INT(c2_after_baud_change(921600u * 40 / 26), 8);    /* esptool's */
}

/* espdeck flashes a 26 MHz ESP32-C2 at 921600, through the stub and
 * through the ROM. */
void test_fidelity__engine_c2_26mhz_at_921600(void)
{
    struct engine_job job;
    struct fid_result res;

    fid_job(&job, "sim:esp32c2?pacing=0&xtal=26", 20000);
    job.baud = 921600;
    fid_run(&job, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.chip.crystal_mhz, 26);
    T_EQ_INT((int)res.chip.baud, 921600);
    T_ASSERT(res.chip.stub);

    fid_job(&job, "sim:esp32c2?pacing=0&xtal=26", 20000);
    job.baud = 921600;
    job.no_stub = true;
    fid_run(&job, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "ROM at 921600: %s", res.message);
    T_EQ_INT((int)res.chip.baud, 921600);
    T_ASSERT(!res.chip.stub);
}

/* READ_REG through the simulator core: the reply's value, or 0xDEAD. */
static uint32_t sim_reg(struct sim *s, uint32_t addr, int64_t now)
{
    uint8_t buf[512], frame[64], pkt[4];
    struct slip_decoder d;
    uint32_t v = 0xDEAD;
    size_t n;

    for (int i = 0; i < 4; i++)
        pkt[i] = (uint8_t)(addr >> (8 * i));
    sim_send(s, 0x0A, pkt, 4, now);
    slip_decoder_init(&d, frame, sizeof frame);
    while ((n = sim_tx(s, buf, sizeof buf, now)) > 0)
        for (size_t i = 0; i < n; i++) {
            size_t fl = 0;

            slip_decode(&d, &buf[i], 1, &fl);
            if (fl >= 8 && frame[0] == 1 && frame[1] == 0x0A)
                v = (uint32_t)frame[4] | (uint32_t)frame[5] << 8 |
                    (uint32_t)frame[6] << 16 | (uint32_t)frame[7] << 24;
        }
    return v;
}

/*
 * An ESP32 whose 8 MHz clock runs 5 % below its eFuse value: the ROM
 * takes its crystal for 5 % faster, so a CHANGE_BAUDRATE to 921600 puts
 * its UART 5 % low and the host at 921600 reads garbage; esptool's
 * request, computed here from the two registers as esptool.py does, talks
 * on.  Returns the SYNC replies heard at 921600 (8 = all).
 */
static int esp32_drift_after_baud_change(const char *drift, bool correct,
                                         uint32_t *cal, uint32_t *fuse)
{
    struct sim_config cfg;
    struct sim *s;
    char err[ED_ERRMSG_MAX];
    int64_t t = 1100000;
    uint32_t request = 921600;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    if (drift && sim_config_option(&cfg, "ck8m-drift", drift, err,
                                   sizeof err) != ED_OK)
        return -1;
    if (!(s = rom_sim(&cfg, 1000000)))
        return -1;
    *cal = sim_reg(s, 0x3FF5F06C, t);
    *fuse = sim_reg(s, 0x3FF5A010, t);
    if (correct) {
        /* esptool: cali_val * 15625 * clk_8M_freq / 40, then
         * baud * rom_calculated_freq // valid_freq */
        double rom = (double)((*cal >> 7) & 0x1FFFFFF) * 15625 *
                     (*fuse & 0xFF) / 40;
        request = (uint32_t)(921600 * rom / (rom > 33e6 ? 40e6 : 26e6));
    }
    return sync_after_baud_change(s, request, t);
}

void test_fidelity__esp32_rom_baud_follows_ck8m_drift(void)
{
    uint32_t cal = 0, fuse = 0;

    T_EQ_INT(esp32_drift_after_baud_change("5", false, &cal, &fuse), 0);
    /* the registers read back as on a chip: a calibration near
     * 40 MHz x 256 x 1.05 / 8.x MHz in bits 7..31, CK8M_FREQ 80..90 */
    T_ASSERT((cal & 0x7F) == 0);
    T_ASSERT((cal >> 7) > 1200 && (cal >> 7) < 1400);
    T_ASSERT(fuse >= 80 && fuse <= 90);
    T_EQ_INT(esp32_drift_after_baud_change("5", true, &cal, &fuse), 8);
    T_EQ_INT(esp32_drift_after_baud_change("-5", false, &cal, &fuse), 0);
    T_EQ_INT(esp32_drift_after_baud_change("-5", true, &cal, &fuse), 8);
    /* the default drift (1.5 %) is within what a UART takes */
    T_EQ_INT(esp32_drift_after_baud_change(NULL, false, &cal, &fuse), 8);
    T_EQ_INT(esp32_drift_after_baud_change(NULL, true, &cal, &fuse), 8);
}

/* A job through the ROM (no_stub) or the stub of URL at baud. */
static void fid_run_at(const char *url, uint32_t baud, bool no_stub,
                       struct fid_result *res)
{
    struct engine_job job;

    fid_job(&job, url, 20000);
    job.baud = baud;
    job.no_stub = no_stub;
    fid_run(&job, res);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s at %u: %s\n%s", url, baud,
               res->message, res->log);
}

/* espdeck flashes through the ROM of an ESP32 whose 8 MHz clock drifted
 * 5 % (the uncorrected request garbles the line) at 921600, asking for the
 * corrected rate; through the stub it reads no calibration at all. */
void test_fidelity__engine_esp32_no_stub_drift_at_921600(void)
{
    struct fid_result res;

    fid_run_at("sim:esp32?pacing=0&ck8m-drift=5", 921600, true, &res);
    T_EQ_INT((int)res.chip.baud, 921600);
    T_ASSERT(!res.chip.stub);
    T_CONTAINS(res.log, "ESP32 ROM: its 8 MHz clock calibration makes the "
                        "40 MHz crystal 41.99");
    T_CONTAINS(res.log, "baud to get 921600");

    fid_run_at("sim:esp32?pacing=0&ck8m-drift=-5", 460800, true, &res);
    T_CONTAINS(res.log, "40 MHz crystal 37.");

    fid_run_at("sim:esp32?pacing=0&ck8m-drift=5", 921600, false, &res);
    T_ASSERT(res.chip.stub);
    T_ASSERT(!strstr(res.log, "8 MHz clock"));
}

/* ---- 3. SFDP before RDID, no flash ---- */

struct fid_log {
    char text[4096];
};

static void fid_sink(void *ctx, enum log_level level, const char *msg)
{
    struct fid_log *lg = ctx;
    size_t n = strlen(lg->text);

    (void)level;
    snprintf(lg->text + n, sizeof lg->text - n, "%s\n", msg);
}

static struct loader *fid_connect_log(const char *spec, struct port **port,
                                      struct fid_log *lg)
{
    struct log_sink sink = {fid_sink, lg, ED_LOG_WARN};
    struct loader *l = NULL;

    memset(lg, 0, sizeof *lg);
    *port = fid_open(spec);
    if (loader_new(&l, *port, &sink) != ED_OK)
        t_fail(__FILE__, __LINE__, "loader_new");
    if (loader_connect(l, BEFORE_DEFAULT_RESET, NULL, 3, NULL) != ED_OK)
        t_fail(__FILE__, __LINE__, "connect %s: %s", spec, loader_errmsg(l));
    return l;
}

void test_fidelity__flash_id_reads_sfdp(void)
{
    static const char *specs[] = {"esp32?pacing=0", "esp32c3?pacing=0",
                                  "esp32p4?pacing=0&flash=16MB"};
    static const uint32_t ids[] = {0x1640C8, 0x1640C8, 0x1840C8};

    for (size_t i = 0; i < 3; i++) {
        struct fid_log lg;
        struct port *p;
        struct loader *l = fid_connect_log(specs[i], &p, &lg);
        uint32_t id = 0;

        T_EQ_INT(loader_flash_id(l, &id), ED_OK);
        T_EQ_INT(id, ids[i]);
        T_ASSERT(strstr(lg.text, "SFDP") == NULL); /* signature was there */
        loader_free(l);
        port_close(p);
    }
}

/* A flash that ignores RDSFDP: a warning, the id still counts. */
/*
 * Calibration values the ESP32 ROM cannot have used: a blank eFuse block
 * (CK8M_FREQ 0, as on the QEMU board of the golden trace), or a drift
 * that puts the ROM's crystal more than 15 % from 40 MHz.  The host warns
 * once, asks for the baud uncorrected and divides by nothing it read.
 */
void test_fidelity__esp32_rom_xtal_fallback(void)
{
    static const struct { const char *spec; const char *why; bool holds; }
    v[] = {
        {"esp32?pacing=0&mac=00:00:00:00:00:00", "CK8M_FREQ", true},
        {"esp32?pacing=0&ck8m-drift=18", "more than 15 %", false},
        {"esp32?pacing=0&ck8m-drift=-18", "more than 15 %", false},
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct fid_log lg;
        struct port *p;
        struct loader *l = fid_connect_log(v[i].spec, &p, &lg);
        uint32_t magic = 0;
        char *first;

        T_EQ_INT(loader_change_baud(l, 921600), ED_OK);
        first = strstr(lg.text, "not correcting the baud asked of the "
                                "ESP32 ROM for its 8 MHz clock drift");
        if (!first)
            t_fail(__FILE__, __LINE__, "%s: %s", v[i].spec, lg.text);
        T_CONTAINS(first, v[i].why);
        T_EQ_INT(loader_read_reg(l, CHIP_MAGIC_REG, &magic) == ED_OK,
                 v[i].holds);
        /* read once a connection: the next change does not warn again */
        if (v[i].holds) {
            T_EQ_INT(loader_change_baud(l, 460800), ED_OK);
            T_EQ_INT(loader_read_reg(l, CHIP_MAGIC_REG, &magic), ED_OK);
            T_ASSERT(strstr(first + 1, "not correcting") == NULL);
        }
        loader_free(l);
        port_close(p);
    }
}

void test_fidelity__flash_without_sfdp_warns(void)
{
    struct sim_config cfg;
    struct sim *s;
    char err[ED_ERRMSG_MAX];

    /* the option exists only in the core config (the golden trace's
     * emulated flash); check the port-level spelling of the id instead */
    memset(&cfg, 0, sizeof cfg);
    T_EQ_INT(sim_config_option(&cfg, "flash-id", "0x1840ef", err,
                               sizeof err), ED_OK);
    T_ASSERT(cfg.flash_id_set);
    T_EQ_INT(cfg.flash_id, 0x1840EF);
    T_EQ_INT(sim_config_option(&cfg, "flash-id", "0x1000000", err,
                               sizeof err), ED_ERR_ARG);
    T_EQ_INT(sim_config_option(&cfg, "bogus", "1", err, sizeof err),
             ED_ERR_NOT_FOUND);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    T_EQ_INT(sim_config_option(&cfg, "sfdp", "0", err, sizeof err), ED_OK);
    T_ASSERT(cfg.flash_no_sfdp);
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), ED_OK);
    sim_free(s);

    {
        struct fid_log lg;
        struct port *p;
        struct loader *l = fid_connect_log("esp32c3?pacing=0&sfdp=0", &p,
                                           &lg);
        uint32_t id = 0;

        T_EQ_INT(loader_flash_id(l, &id), ED_OK);
        T_EQ_INT(id, 0x1640C8);
        T_CONTAINS(lg.text, "did not return the SFDP signature");
        loader_free(l);
        port_close(p);
    }
}

void test_fidelity__no_flash_is_one_sentence(void)
{
    static const char *specs[] = {"esp32?pacing=0&flash-id=0xffffff",
                                  "esp32c3?pacing=0&flash-id=0x000000",
                                  "esp32s3?pacing=0&flash-id=0xffff3f"};

    for (size_t i = 0; i < 3; i++) {
        struct fid_log lg;
        struct port *p;
        struct loader *l = fid_connect_log(specs[i], &p, &lg);
        uint32_t id = 0;

        T_EQ_INT(loader_flash_id(l, &id), ED_ERR_NOT_FOUND);
        T_CONTAINS(loader_errmsg(l), "no SPI flash answered (JEDEC id ");
        T_CONTAINS(loader_errmsg(l), "check the flash chip / strapping");
        loader_free(l);
        port_close(p);
    }
}

void test_fidelity__engine_refuses_without_flash(void)
{
    struct engine_job job;
    struct fid_result res;

    fid_job(&job, "sim:esp32?pacing=0&flash-id=0xffffff", 4000);
    fid_run(&job, &res);
    T_ASSERT(res.status != ED_OK);
    T_EQ_STR(res.message, "no SPI flash answered (JEDEC id ff ff ff): "
                          "check the flash chip / strapping");
}

/* ---- 4. the RTC watchdog ---- */

static void write_reg(struct sim *s, uint32_t addr, uint32_t v, int64_t t)
{
    uint8_t d[16] = {0};

    for (int i = 0; i < 4; i++) {
        d[i] = (uint8_t)(addr >> (8 * i));
        d[4 + i] = (uint8_t)(v >> (8 * i));
        d[8 + i] = 0xFF;
    }
    sim_send(s, 0x09, d, 16, t);
}

/* Output text (not frames) printed by t. */
static size_t sim_text(struct sim *s, char *out, size_t cap, int64_t t)
{
    size_t n = sim_tx(s, (uint8_t *)out, cap - 1, t);

    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!out[i])
            out[i] = '.';
    return n;
}

static void wdt_case(bool unlock, bool expect_reset)
{
    struct sim_config cfg;
    struct sim *s;
    char err[ED_ERRMSG_MAX], text[8192];
    int64_t t = 1000000;

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32c3";
    cfg.no_pacing = true;
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), ED_OK);
    sim_connect(s, false, t);
    sim_text(s, text, sizeof text, t + 10000);
    if (unlock)
        write_reg(s, 0x600080A8, 0x50D83AA1, t);
    write_reg(s, 0x60008094, 2000, t);
    write_reg(s, 0x60008090, (1u << 31) | (5u << 28) | (1u << 8) | 2, t);
    write_reg(s, 0x600080A8, 0, t);
    sim_text(s, text, sizeof text, t + 1000); /* the four replies */
    T_EQ_INT(sim_replies(s, 0x09, t + 1000), 0);
    sim_text(s, text, sizeof text, t + 300000);
    if (expect_reset) {
        T_CONTAINS(text, "rst:0x10 (RTCWDT_RTC_RST)");
        T_CONTAINS(text, "SPI_FAST_FLASH_BOOT");
    } else {
        T_ASSERT(strstr(text, "rst:") == NULL);
        /* still the ROM loader: SYNC answers */
        sim_send(s, 0x08, sync_body, sizeof sync_body, t + 300000);
        T_EQ_INT(sim_replies(s, 0x08, t + 300000), 8);
    }
    sim_free(s);
}

void test_fidelity__watchdog_needs_the_key(void)
{
    wdt_case(true, true);
    wdt_case(false, false);
}

/* ---- 5. replay of the esptool v4.12.0 trace (ESP32 ROM + legacy stub) ----
 *
 * ../shared/golden/esptool-trace-esp32-stub.txt holds every byte esptool
 * wrote ("Write N bytes:") and every frame it received ("Received full
 * packet:").  The host's writes go into a simulated ESP32 (core API, no
 * pacing) configured like the traced board: MAC eFuses 0, a flash that
 * ignores RDSFDP (the emulator's), board already in download mode.  Every
 * frame the simulator sends back is compared byte for byte with the frames
 * the trace shows after that write, in order.
 *
 * Two kinds of writes are not replayed as they stand:
 * - the first two SYNCs, which the traced board did not answer ("No
 *   serial data received": it was not listening yet); they are skipped;
 * - the two MEM_DATA commands carrying the stub image, whose bytes the
 *   trace elides: the same command (same length, sequence number) is sent
 *   with zero bytes of that length and the checksum of those (0xEF).  The
 *   simulator runs whatever RAM image is not an app as a stub, so the
 *   replies (and OHAI) do not depend on the image.
 */

#define TR_MAX 20000

struct tr_event {
    uint8_t *write;        /* raw bytes to send */
    size_t wlen;
    uint8_t *reply[12];    /* the frames the trace shows after it */
    size_t rlen[12];
    size_t n_reply;
    bool no_reply;         /* "No serial data received." */
    char what[64];
};

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Append the hex digits of text (up to " | " if any) to buf. */
static void tr_hex(const char *text, uint8_t *buf, size_t *len, size_t cap)
{
    const char *bar = strstr(text, " | ");
    const char *end = bar ? bar : text + strlen(text);
    int hi = -1;

    for (const char *p = text; p < end; p++) {
        int v = hexv(*p);

        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else if (*len < cap) {
            buf[(*len)++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
}

/* A MEM_DATA frame with zero payload of the length and sequence number
 * of the elided one (header from its first dump line). */
static void tr_dummy_mem_data(struct tr_event *ev, const uint8_t *head,
                              size_t hlen)
{
    uint8_t body[16 + 0x1800 + 8], *wire;
    uint32_t len, seq;
    size_t n;

    if (hlen < 15)
        return;
    /* head: c0 00 07 size(2) chk(4) len(4) seq(4) ... */
    len = (uint32_t)head[9] | (uint32_t)head[10] << 8 |
          (uint32_t)head[11] << 16 | (uint32_t)head[12] << 24;
    seq = (uint32_t)head[13] | (uint32_t)head[14] << 8;
    if (len > 0x1800)
        return;
    memset(body, 0, sizeof body);
    body[1] = 0x07;
    body[2] = (uint8_t)(len + 16);
    body[3] = (uint8_t)((len + 16) >> 8);
    body[4] = 0xEF; /* checksum of zeros */
    body[8] = (uint8_t)len;
    body[9] = (uint8_t)(len >> 8);
    body[12] = (uint8_t)seq;
    wire = malloc(SLIP_ENCODED_MAX(8 + 16 + len));
    if (!wire)
        return;
    n = slip_encode(wire, SLIP_ENCODED_MAX(8 + 16 + len), body, 8 + 16 + len);
    free(ev->write);
    ev->write = wire;
    ev->wlen = n;
}

/* Parse the trace into events; returns the count (0 on failure). */
static size_t tr_parse(FILE *f, struct tr_event *ev, size_t cap)
{
    char line[512];
    size_t n = 0;
    uint8_t *cur = NULL;   /* buffer being filled by dump lines */
    size_t *curlen = NULL;
    bool cur_is_write = false, elided = false;
    char op[16] = "";

    while (fgets(line, sizeof line, f)) {
        char *p;

        if (cur && !strncmp(line, "    ", 4)) {
            if (strstr(line, "elided"))
                elided = true;
            else
                tr_hex(line + 4, cur, curlen, TR_MAX);
            continue;
        }
        if (cur && cur_is_write && elided)
            tr_dummy_mem_data(&ev[n - 1], ev[n - 1].write, ev[n - 1].wlen);
        cur = NULL;
        elided = false;
        if ((p = strstr(line, "command op="))) {
            snprintf(op, sizeof op, "%.8s", p + 8);
        } else if ((p = strstr(line, "Write ")) && strstr(p, " bytes:")) {
            if (n == cap)
                return 0;
            memset(&ev[n], 0, sizeof ev[n]);
            ev[n].write = malloc(TR_MAX);
            snprintf(ev[n].what, sizeof ev[n].what, "write %zu (%s)", n, op);
            tr_hex(strstr(p, "bytes:") + 6, ev[n].write, &ev[n].wlen,
                   TR_MAX);
            cur = ev[n].write;
            curlen = &ev[n].wlen;
            cur_is_write = true;
            n++;
        } else if ((p = strstr(line, "Received full packet:")) && n) {
            struct tr_event *e = &ev[n - 1];

            if (e->n_reply == 12)
                return 0;
            e->reply[e->n_reply] = malloc(TR_MAX);
            e->rlen[e->n_reply] = 0;
            tr_hex(p + 21, e->reply[e->n_reply], &e->rlen[e->n_reply],
                   TR_MAX);
            cur = e->reply[e->n_reply];
            curlen = &e->rlen[e->n_reply];
            cur_is_write = false;
            e->n_reply++;
        } else if (strstr(line, "No serial data received") && n) {
            ev[n - 1].no_reply = true;
        }
    }
    return n;
}

/* Frames the simulator has sent by t (text outside frames is skipped). */
static size_t tr_frames(struct sim *s, int64_t t, uint8_t *frames[16],
                        size_t lens[16])
{
    static const size_t cap = 0x4000 + 64;
    uint8_t buf[4096], *frame = malloc(cap);
    struct slip_decoder d;
    size_t n, k = 0;

    if (!frame)
        return 0;
    slip_decoder_init(&d, frame, cap);
    while ((n = sim_tx(s, buf, sizeof buf, t)) > 0)
        for (size_t i = 0; i < n; i++) {
            size_t fl = 0;

            slip_decode(&d, &buf[i], 1, &fl);
            if (fl && k < 16) {
                frames[k] = malloc(fl);
                memcpy(frames[k], frame, fl);
                lens[k++] = fl;
            }
        }
    free(frame);
    return k;
}

static void tr_hexstr(char *out, size_t cap, const uint8_t *b, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
    out[o] = '\0';
}

void test_fidelity__esptool_stub_trace_replay(void)
{
    char path[512], err[ED_ERRMSG_MAX];
    struct tr_event *ev = calloc(400, sizeof *ev);
    struct sim_config cfg;
    struct sim *s;
    size_t n, replayed = 0, compared = 0, total = 0;
    int64_t t = 1000000;
    FILE *f;

    T_ASSERT(ev);
    snprintf(path, sizeof path, "%s/golden/esptool-trace-esp32-stub.txt",
             t_shared_dir());
    f = fopen(path, "r");
    if (!f) {
        free(ev);
        T_SKIP("the golden esptool trace is absent (no shared folder)");
    }
    n = tr_parse(f, ev, 400);
    fclose(f);
    T_ASSERT(n > 50);

    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    cfg.mac_set = true;         /* the traced board's MAC eFuses read 0 */
    cfg.flash_no_sfdp = true;   /* its emulated flash ignores RDSFDP */
    T_EQ_INT(sim_new(&s, &cfg, err, sizeof err), ED_OK);
    sim_connect(s, false, t);   /* powers up in download mode */
    sim_set_host_baud(s, 115200, t);
    t += 100000;
    {
        uint8_t *fr[16];
        size_t fl[16], k = tr_frames(s, t, fr, fl); /* the banner */

        for (size_t i = 0; i < k; i++)
            free(fr[i]);
    }

    for (size_t i = 0; i < n; i++) {
        uint8_t *fr[16];
        size_t fl[16], k;

        if (ev[i].no_reply && ev[i].n_reply == 0)
            continue; /* the board was not listening yet */
        sim_rx(s, ev[i].write, ev[i].wlen, t);
        t += 5000; /* a stub writing a data block takes 2 ms (sim.c) */
        k = tr_frames(s, t, fr, fl);
        replayed++;
        if (k < ev[i].n_reply)
            t_fail(__FILE__, __LINE__, "%s: the simulator sent %zu frames, "
                   "the trace shows %zu", ev[i].what, k, ev[i].n_reply);
        for (size_t j = 0; j < ev[i].n_reply; j++) {
            if (fl[j] != ev[i].rlen[j] ||
                memcmp(fr[j], ev[i].reply[j], fl[j]) != 0) {
                char a[160], b[160];

                tr_hexstr(a, sizeof a, fr[j], fl[j]);
                tr_hexstr(b, sizeof b, ev[i].reply[j], ev[i].rlen[j]);
                t_fail(__FILE__, __LINE__, "%s reply %zu: simulator %s, "
                       "trace %s", ev[i].what, j, a, b);
            }
            compared++;
        }
        /* after the last reply the stub reboots into the ROM: its banner
         * is text, not frames; no other frame may come */
        if (k > ev[i].n_reply)
            t_fail(__FILE__, __LINE__, "%s: %zu frames more than the trace",
                   ev[i].what, k - ev[i].n_reply);
        for (size_t j = 0; j < k; j++)
            free(fr[j]);
    }
    sim_free(s);
    for (size_t i = 0; i < n; i++) {
        total += ev[i].n_reply;
        free(ev[i].write);
        for (size_t j = 0; j < ev[i].n_reply; j++)
            free(ev[i].reply[j]);
    }
    free(ev);
    /* 86 writes, 2 unanswered SYNCs skipped; 92 frames received */
    T_EQ_INT((int)replayed, 84);
    T_EQ_INT((int)compared, 92);
    T_EQ_INT((int)total, 92);
}
