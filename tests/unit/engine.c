/*
 * Engine tests: the event queue and wake pipe, and whole jobs against the
 * simulator served over RFC 2217 on loopback (src/sim/sim_server.c) with
 * pacing off, using the real ESP-IDF hello-world images.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chip.h"
#include "delta.h"
#include "engine.h"
#include "image.h"
#include "sim/sim.h"
#include "sim/sim_server.h"
#include "stub.h"
#include "test.h"

/* ---- a simulated board on a loopback RFC 2217 server ---- */

struct rig {
    struct sim *sim;
    struct sim_server *srv;
    pthread_t th;
    int stop[2];
    bool running;
    const char *listen;
    char url[128];
};

static void *rig_thread(void *arg)
{
    struct rig *r = arg;
    char err[256];

    sim_server_run(r->srv, r->stop[0], err, sizeof err);
    return NULL;
}

static int rig_serve(struct rig *r)
{
    struct sim_server_config sc;
    char err[256];

    memset(&sc, 0, sizeof sc);
    sc.listen = r->listen;
    if (sim_server_new(&r->srv, r->sim, &sc, err, sizeof err))
        return -1;
    snprintf(r->url, sizeof r->url, "%s", sim_server_url(r->srv));
    if (pipe(r->stop))
        return -1;
    if (pthread_create(&r->th, NULL, rig_thread, r))
        return -1;
    r->running = true;
    return 0;
}

/* Stop serving (so the test may read the board's flash). */
static void rig_pause(struct rig *r)
{
    if (!r->running)
        return;
    if (write(r->stop[1], "x", 1) != 1)
        return;
    pthread_join(r->th, NULL);
    close(r->stop[0]);
    close(r->stop[1]);
    sim_server_free(r->srv);
    r->srv = NULL;
    r->running = false;
}

static int rig_start_on(struct rig *r, const char *chip, const char *listen)
{
    struct sim_config cfg;
    char err[256];

    memset(r, 0, sizeof *r);
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = chip;
    cfg.no_pacing = true;
    if (sim_new(&r->sim, &cfg, err, sizeof err))
        return -1;
    r->listen = listen;
    return rig_serve(r);
}

static int rig_start(struct rig *r, const char *chip)
{
    return rig_start_on(r, chip, "rfc2217://127.0.0.1:0");
}

static void rig_free(struct rig *r)
{
    rig_pause(r);
    sim_free(r->sim);
    r->sim = NULL;
}

/* ---- running a job to the end ---- */

struct result {
    int status;
    enum engine_state stage;
    char message[ED_ERRMSG_MAX];
    struct engine_part_info parts[ENGINE_MAX_IMAGES];
    struct engine_chip_info chip;
    bool got_chip;
    char log[8192];
    unsigned n_events, n_progress;
    bool finished;
};

static void collect(struct result *res, const struct engine_event *ev)
{
    res->n_events++;
    switch (ev->kind) {
    case EV_LOG: {
        size_t l = strlen(res->log);

        snprintf(res->log + l, sizeof res->log - l, "%s\n", ev->u.log.text);
        break;
    }
    case EV_CHIP:
        res->chip = ev->u.chip;
        res->got_chip = true;
        break;
    case EV_PART:
        if (ev->u.part.index >= 0 && ev->u.part.index < ENGINE_MAX_IMAGES)
            res->parts[ev->u.part.index] = ev->u.part;
        if (ev->u.part.phase == PHASE_WRITING)
            res->n_progress++;
        break;
    case EV_FINISHED:
        res->status = ev->u.finished.status;
        res->stage = ev->u.finished.stage;
        snprintf(res->message, sizeof res->message, "%s",
                 ev->u.finished.message);
        res->finished = true;
        break;
    default:
        break;
    }
}

/* Run to EV_FINISHED (bounded); the engine is returned for engine_job().
 * The job's baud as it is: ENGINE_BAUD_DEFAULT is decided by the port. */
static int run_job(struct engine_job *job, const struct engine_hooks *h,
                   struct result *res, struct engine **keep)
{
    struct engine *e;
    char err[256];
    int waited = 0;

    memset(res, 0, sizeof *res);
    if (engine_new(&e, job, err, sizeof err))
        return -1;
    if (h)
        engine_set_hooks(e, h);
    if (engine_start(e)) {
        engine_free(e);
        return -1;
    }
    while (!res->finished && waited < 120000) {
        struct pollfd pf = {engine_wake_fd(e), POLLIN, 0};
        struct engine_event ev;

        poll(&pf, 1, 100);
        waited += 100;
        while (engine_poll(e, &ev))
            collect(res, &ev);
    }
    if (!res->finished)
        engine_cancel(e);
    if (keep)
        *keep = e;
    else
        engine_free(e);
    return res->finished ? 0 : -1;
}

/*
 * run_job() at the rate these tests were written for: the old default,
 * 921600, where the job asks for nothing.  rfc2217://, their usual rig,
 * defaults to --baud auto now, which has its own tests (engine__default_*
 * here, tests/sh/baud_auto.sh).
 */
static int run(struct engine_job *job, const struct engine_hooks *h,
               struct result *res, struct engine **keep)
{
    if (job->baud == ENGINE_BAUD_DEFAULT)
        job->baud = ENGINE_BAUD_FIXED;
    return run_job(job, h, res, keep);
}

/* ---- firmware ---- */

static const struct {
    const char *dir, *sim;
    enum chip_id chip;
} fw_chips[] = {
    {"ESP32", "esp32", CHIP_ESP32},       {"ESP32_S2", "esp32s2", CHIP_ESP32S2},
    {"ESP32_S3", "esp32s3", CHIP_ESP32S3}, {"ESP32_C2", "esp32c2", CHIP_ESP32C2},
    {"ESP32_C3", "esp32c3", CHIP_ESP32C3}, {"ESP32_C6", "esp32c6", CHIP_ESP32C6},
    {"ESP32_H2", "esp32h2", CHIP_ESP32H2}, {"ESP32_C5", "esp32c5", CHIP_ESP32C5},
    {"ESP32_P4", "esp32p4", CHIP_ESP32P4},
};

static bool add_file(struct engine_job *job, const char *name,
                     const char *dir, const char *file, uint32_t offset)
{
    const char *sh = t_shared_dir();
    struct engine_image *im = &job->images[job->n_images];
    char path[512];

    if (!sh)
        return false;
    snprintf(path, sizeof path, "%s/firmware/Hello-world/%s/%s", sh, dir,
             file);
    im->data = t_read_file(path, &im->len);
    if (!im->data)
        return false;
    snprintf(im->name, sizeof im->name, "%s", name);
    snprintf(im->source, sizeof im->source, "%s", file);
    im->offset = offset;
    job->n_images++;
    return true;
}

/* The three-partition hello-world set for fw_chips[k]. */
static bool hello_job(struct engine_job *job, size_t k, const char *url)
{
    const struct chip_desc *d = chip_get(fw_chips[k].chip);

    engine_job_init(job);
    snprintf(job->port, sizeof job->port, "%s", url);
    job->expect_chip = fw_chips[k].chip;
    if (!add_file(job, "bootloader", fw_chips[k].dir, "bootloader.bin",
                  d->bootloader_offset) ||
        !add_file(job, "partition-table", fw_chips[k].dir,
                  "partition-table.bin", 0x8000) ||
        !add_file(job, "factory", fw_chips[k].dir, "hello_world.bin",
                  0x10000)) {
        engine_job_clear(job);
        return false;
    }
    job->images[2].region_size = 1024 * 1024;
    return true;
}

#define NEED_FW(ok)                                                           \
    do {                                                                      \
        if (!(ok))                                                            \
            T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");    \
    } while (0)

/* ------------------------------------------------------------------ */

/* Queue and wake pipe on a job that fails at once (nothing listens). */
void test_engine__queue_and_wake_pipe(void)
{
    struct engine_job job;
    struct engine *e;
    struct engine_event ev;
    struct pollfd pf;
    char err[256];
    int n = 0, finished = 0, states = 0;

    engine_job_init(&job);
    job.op = ENGINE_OP_INFO;
    snprintf(job.port, sizeof job.port, "socket://127.0.0.1:1");
    T_EQ_INT(engine_new(&e, &job, err, sizeof err), ED_OK);
    pf.fd = engine_wake_fd(e);
    pf.events = POLLIN;
    T_EQ_INT(poll(&pf, 1, 0), 0); /* nothing yet */
    T_ASSERT(!engine_poll(e, &ev));
    T_EQ_INT(engine_start(e), ED_OK);
    T_EQ_INT(engine_start(e), ED_ERR_BUSY);
    while (!finished && n < 100) {
        T_ASSERT(poll(&pf, 1, 10000) == 1); /* woken, never a hang */
        while (engine_poll(e, &ev)) {
            if (ev.kind == EV_STATE)
                states++;
            if (ev.kind == EV_FINISHED) {
                finished = 1;
                T_ASSERT(ev.u.finished.status < 0);
                T_EQ_INT(ev.u.finished.stage, STATE_CONNECTING);
                T_ASSERT(ev.u.finished.message[0] != '\0');
                T_ASSERT(engine_failed_connecting(ev.u.finished.status,
                                                  ev.u.finished.stage));
            }
        }
        n++;
    }
    T_ASSERT(finished);
    T_ASSERT(states >= 2); /* connecting, failed */
    while (!engine_finished(e))
        usleep(1000);
    T_ASSERT(!engine_poll(e, &ev)); /* empty: the pipe is drained */
    T_EQ_INT(poll(&pf, 1, 0), 0);
    engine_free(e);
}

void test_engine__new_refuses_bad_jobs(void)
{
    struct engine_job job;
    struct engine *e = (struct engine *)1;
    char err[256];

    engine_job_init(&job);
    T_EQ_INT(engine_new(&e, &job, err, sizeof err), ED_ERR_ARG);
    T_ASSERT(e == NULL);
    T_CONTAINS(err, "no port");
    engine_free(NULL);
    T_EQ_STR(engine_phase_name(PHASE_CANCELLED), "cancelled");
    T_EQ_STR(engine_state_name(STATE_MONITORING), "monitoring");
}

/* Flash the hello-world set on every chip, compare the flash, reflash. */
void test_engine__flash_hello_world_every_chip(void)
{
    size_t k;

    for (k = 0; k < sizeof fw_chips / sizeof fw_chips[0]; k++) {
        struct engine_job job;
        struct result res;
        struct engine *e;
        struct rig r;
        const uint8_t *fl;
        size_t fsz, i;

        T_EQ_INT(rig_start(&r, fw_chips[k].sim), 0);
        if (!hello_job(&job, k, r.url)) {
            rig_free(&r);
            T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
        }
        T_EQ_INT(run(&job, NULL, &res, &e), 0);
        if (res.status != ED_OK)
            t_fail(__FILE__, __LINE__, "%s: %s\n%s", fw_chips[k].dir,
                   res.message, res.log);
        T_EQ_INT(res.status, ED_OK);
        T_ASSERT(res.got_chip);
        T_EQ_INT(res.chip.chip, fw_chips[k].chip);
        if (stub_blob_count > 0)
            T_ASSERT(res.chip.stub);
        rig_pause(&r);
        fl = sim_flash(r.sim, &fsz);
        for (i = 0; i < 3; i++) {
            const struct engine_image *im = &engine_job(e)->images[i];

            T_EQ_INT(res.parts[i].phase, PHASE_DONE);
            T_ASSERT(im->offset + im->len <= fsz);
            T_EQ_MEM(fl + im->offset, im->data, im->len);
        }
        engine_free(e);

        /* second run: every image unchanged */
        T_EQ_INT(rig_serve(&r), 0);
        T_ASSERT(hello_job(&job, k, r.url));
        T_EQ_INT(run(&job, NULL, &res, NULL), 0);
        T_EQ_INT(res.status, ED_OK);
        for (i = 0; i < 3; i++) {
            T_EQ_INT(res.parts[i].phase, PHASE_SKIPPED);
            T_EQ_STR(res.parts[i].message, "unchanged");
        }
        rig_free(&r);
    }
}

/* A 4th image after the app, so "not written" shows. */
static void add_data(struct engine_job *job, const char *name,
                     uint32_t offset, size_t len, unsigned seed)
{
    struct engine_image *im = &job->images[job->n_images++];
    size_t i;

    im->data = malloc(len);
    im->len = len;
    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        im->data[i] = (uint8_t)(seed >> 16);
    }
    snprintf(im->name, sizeof im->name, "%s", name);
    snprintf(im->source, sizeof im->source, "test data");
    im->offset = offset;
}

struct cancel_ctx {
    struct engine *e;
    size_t index;
    unsigned pct;
};

static void cancel_at(void *ctx, size_t index, uint64_t done, uint64_t total)
{
    struct cancel_ctx *c = ctx;

    if (index == c->index && done * 100 >= total * c->pct)
        engine_cancel(c->e);
}

/* Cancel in the middle of the third image: stated phases everywhere. */
void test_engine__cancel_mid_write(void)
{
    struct engine_job job;
    struct engine_hooks h;
    struct cancel_ctx cc;
    struct result res;
    struct engine *e;
    struct rig r;
    char err[256];
    int waited = 0;

    T_EQ_INT(rig_start(&r, "esp32"), 0);
    if (!hello_job(&job, 0, r.url)) {
        rig_free(&r);
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    }
    /* a big incompressible image so the cancel lands mid-way */
    engine_job_clear(&job);
    T_ASSERT(hello_job(&job, 0, r.url));
    free(job.images[2].data);
    job.n_images = 2;
    add_data(&job, "factory", 0x10000, 256 * 1024, 7);
    add_data(&job, "storage", 0x110000, 8192, 9);
    job.no_compress = true;
    T_EQ_INT(engine_new(&e, &job, err, sizeof err), ED_OK);
    memset(&h, 0, sizeof h);
    cc.e = e;
    cc.index = 2;
    cc.pct = 40;
    h.progress = cancel_at;
    h.ctx = &cc;
    engine_set_hooks(e, &h);
    memset(&res, 0, sizeof res);
    T_EQ_INT(engine_start(e), ED_OK);
    while (!res.finished && waited < 60000) {
        struct pollfd pf = {engine_wake_fd(e), POLLIN, 0};
        struct engine_event ev;

        poll(&pf, 1, 100);
        waited += 100;
        while (engine_poll(e, &ev))
            collect(&res, &ev);
    }
    engine_free(e);
    rig_free(&r);
    T_ASSERT(res.finished);
    T_EQ_INT(res.status, ED_ERR_CANCELLED);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[1].phase, PHASE_DONE);
    T_EQ_INT(res.parts[2].phase, PHASE_CANCELLED);
    T_CONTAINS(res.parts[2].message, "cancelled at ");
    T_CONTAINS(res.parts[2].message, "%: this partition is incomplete");
    /* within one block of 40 %: 16 KiB of 256 KiB is 6 % */
    {
        unsigned pct = (unsigned)(res.parts[2].done * 100 /
                                  res.parts[2].total);
        T_ASSERT(pct >= 40 && pct <= 47);
    }
    T_EQ_INT(res.parts[3].phase, PHASE_WAITING);
    T_EQ_STR(res.parts[3].message, "not written");
    T_CONTAINS(res.message, "incomplete");
}

static void corrupt_image(void *ctx, struct engine_job *job, size_t index)
{
    (void)ctx;
    if (index == 1)
        job->images[1].data[100] ^= 0x5A; /* changed between write and verify */
}

void test_engine__verify_mismatch_detected(void)
{
    struct engine_job job;
    struct engine_hooks h;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    if (!hello_job(&job, 4, r.url)) {
        rig_free(&r);
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    }
    /* without recoveries: a region that reads back different (twice) is
     * the job's failure (with them, it is written again: the data as it
     * is now) */
    job.write_retries = 0;
    memset(&h, 0, sizeof h);
    h.after_write = corrupt_image;
    T_EQ_INT(run(&job, &h, &res, NULL), 0);
    rig_free(&r);
    T_EQ_INT(res.status, ED_ERR_VERIFY);
    T_EQ_INT(res.stage, STATE_FLASHING);
    T_ASSERT(!engine_failed_connecting(res.status, res.stage));
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[1].phase, PHASE_FAILED);
    T_CONTAINS(res.parts[1].message, "verify failed: flash MD5 ");
    T_CONTAINS(res.parts[1].message, " image MD5 ");
    T_EQ_INT(res.parts[2].phase, PHASE_WAITING);
    T_EQ_STR(res.parts[2].message, "not written");
    T_CONTAINS(res.message, "verify failed for partition-table");
}

void test_engine__wrong_chip(void)
{
    struct engine_job job;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32"), 0);
    if (!hello_job(&job, 4, r.url)) { /* the ESP32-C3 set */
        rig_free(&r);
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    }
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    rig_free(&r);
    T_EQ_INT(res.status, ED_ERR_NOT_FOUND);
    T_CONTAINS(res.message, "the profile is for ESP32-C3 but the board on");
    T_CONTAINS(res.message, "is an ESP32: pick the right profile or port");
    T_ASSERT(engine_failed_connecting(res.status, res.stage));
    T_EQ_INT(res.parts[0].phase, PHASE_WAITING);
    T_EQ_STR(res.parts[0].message, "not written");
}

void test_engine__oversized_images(void)
{
    struct engine_job job;
    struct result res;
    struct rig r;

    /* larger than its partition: refused before touching the board */
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "socket://127.0.0.1:1");
    add_data(&job, "factory", 0x10000, 0x11000, 1);
    job.images[0].region_size = 0x10000;
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    T_EQ_INT(res.status, ED_ERR_PROFILE);
    T_CONTAINS(res.message, "factory (test data) is 68.0 KiB but its "
                            "partition holds 64.0 KiB");

    /* beyond the end of the board's 4 MB flash */
    T_EQ_INT(rig_start(&r, "esp32"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    add_data(&job, "storage", 0x3F8000, 0x10000, 2);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    rig_free(&r);
    T_EQ_INT(res.status, ED_ERR_PROFILE);
    T_CONTAINS(res.message, "ends beyond the 4 MiB flash");
    T_EQ_INT(res.parts[0].phase, PHASE_FAILED);
}

static void b64(const uint8_t *in, size_t n, FILE *f)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        fputc(t[v >> 18 & 63], f);
        fputc(t[v >> 12 & 63], f);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? t[v & 63] : '=', f);
    }
}

/*
 * A "stub" that never says OHAI: the first segment of a real RAM app, which
 * the simulated ROM runs as an app.  The engine must fall back to the ROM.
 */
void test_engine__stub_rejected_falls_back_to_rom(void)
{
    const char *sh = t_shared_dir();
    const char *dir = t_tmpdir();
    struct engine_job job;
    struct image_info in;
    struct result res;
    struct rig r;
    char path[512], err[256];
    uint8_t *app;
    size_t alen;
    unsigned k;
    FILE *f;

    if (!sh)
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    snprintf(path, sizeof path, "%s/firmware/RAM_APP/ESP32/app.bin", sh);
    app = t_read_file(path, &alen);
    if (!app)
        T_SKIP("RAM_APP/ESP32/app.bin absent");
    T_EQ_INT(image_parse(&in, app, alen, "app.bin", err, sizeof err), ED_OK);
    snprintf(path, sizeof path, "%s/esp32.json", dir);
    f = fopen(path, "w");
    T_ASSERT(f);
    /* the segment holding the app descriptor makes it an app to the sim */
    for (k = 0; k + 1 < in.n_segments; k++)
        if (in.segs[k].len >= 4 &&
            !memcmp(app + in.segs[k].file_offset, "\x32\x54\xcd\xab", 4))
            break;
    fprintf(f, "{\"entry\": %u, \"text_start\": %u, \"text\": \"",
            in.entry, in.segs[k].addr);
    b64(app + in.segs[k].file_offset, in.segs[k].len, f);
    fprintf(f, "\"}\n");
    fclose(f);
    free(app);

    T_EQ_INT(rig_start(&r, "esp32"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    snprintf(job.stub_dir, sizeof job.stub_dir, "%s", dir);
    add_data(&job, "storage", 0x100000, 4096, 3);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    rig_free(&r);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(!res.chip.stub);
    T_CONTAINS(res.log, "the flasher stub did not start (no OHAI");
    /* one cause, said once: not "did not start (the flasher stub did ..." */
    T_ASSERT(!strstr(res.log, "did not start (the flasher stub"));
    T_CONTAINS(res.log, "through the ROM loader");
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}

/* --no-stub: the ROM writes and verifies; then read the flash back. */
void test_engine__rom_write_and_read_back(void)
{
    struct engine_job job;
    struct result res;
    struct engine *e;
    struct rig r;
    uint8_t *want;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    job.no_stub = true;
    add_data(&job, "nvs", 0x9000, 6000, 5);
    want = malloc(6000);
    T_ASSERT(want);
    memcpy(want, job.images[0].data, 6000);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(!res.chip.stub);
    T_CONTAINS(res.log, "--no-stub");
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);

    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    job.op = ENGINE_OP_READ;
    job.read_offset = 0x9000;
    job.read_size = 6000;
    T_EQ_INT(run(&job, NULL, &res, &e), 0);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(engine_job(e)->read_out != NULL);
    T_EQ_MEM(engine_job(e)->read_out, want, 6000);
    engine_free(e);
    free(want);
}

void test_engine__erase_region(void)
{
    struct engine_job job;
    struct result res;
    struct rig r;
    const uint8_t *fl;
    size_t fsz, i;

    T_EQ_INT(rig_start(&r, "esp32"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    add_data(&job, "a", 0x20000, 0x2000, 11);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    T_EQ_INT(res.status, ED_OK);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    job.op = ENGINE_OP_ERASE;
    job.erase_offset = 0x20000;
    job.erase_size = 0x1000;
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    T_EQ_INT(res.status, ED_OK);
    rig_pause(&r);
    fl = sim_flash(r.sim, &fsz);
    for (i = 0; i < 0x1000; i++)
        T_EQ_INT(fl[0x20000 + i], 0xFF);
    T_ASSERT(fl[0x21000] != 0xFF || fl[0x21001] != 0xFF);
    rig_free(&r);
}

/* Two engines at once on two boards (run under SANITIZE=thread too). */
void test_engine__two_engines_at_once(void)
{
    struct engine_job job[2];
    struct engine *e[2];
    struct result res[2];
    struct rig r[2];
    char err[256];
    int k, waited = 0;

    for (k = 0; k < 2; k++) {
        T_EQ_INT(rig_start(&r[k], k ? "esp32s3" : "esp32c6"), 0);
        engine_job_init(&job[k]);
        snprintf(job[k].port, sizeof job[k].port, "%s", r[k].url);
        add_data(&job[k], "app", 0x10000, 100000, 20 + (unsigned)k);
        T_EQ_INT(engine_new(&e[k], &job[k], err, sizeof err), ED_OK);
        memset(&res[k], 0, sizeof res[k]);
    }
    for (k = 0; k < 2; k++)
        T_EQ_INT(engine_start(e[k]), ED_OK);
    while ((!res[0].finished || !res[1].finished) && waited < 60000) {
        struct pollfd pf[2] = {{engine_wake_fd(e[0]), POLLIN, 0},
                               {engine_wake_fd(e[1]), POLLIN, 0}};
        struct engine_event ev;

        poll(pf, 2, 100);
        waited += 100;
        for (k = 0; k < 2; k++)
            while (engine_poll(e[k], &ev))
                collect(&res[k], &ev);
    }
    for (k = 0; k < 2; k++) {
        engine_free(e[k]);
        rig_free(&r[k]);
        T_ASSERT(res[k].finished);
        T_EQ_INT(res[k].status, ED_OK);
        T_EQ_INT(res[k].parts[0].phase, PHASE_DONE);
        T_ASSERT(res[k].n_progress >= 1);
    }
}

/* ---- the unchanged-check: which SPI_FLASH_MD5s the engine asks for ---- */

struct md5_log {
    unsigned n;
    uint32_t off[32], len[32];
};

static void note_md5(void *ctx, uint32_t offset, uint32_t len)
{
    struct md5_log *ml = ctx;

    if (ml->n < 32) {
        ml->off[ml->n] = offset;
        ml->len[ml->n] = len;
    }
    ml->n++;
}

#define PROBE_APP_LEN (64u * 1024)

/* Flash copies of data (PROBE_APP_LEN bytes at 0x10000) and, when small
 * is non-NULL, 3000 bytes at 0x9000 first; MD5 requests into ml. */
static void probe_run(struct rig *r, const uint8_t *small,
                      const uint8_t *data, struct md5_log *ml,
                      struct result *res)
{
    struct engine_job job;
    struct engine_hooks h;

    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r->url);
    if (small) {
        add_data(&job, "nvs", 0x9000, 3000, 1);
        memcpy(job.images[0].data, small, 3000);
    }
    add_data(&job, "factory", 0x10000, PROBE_APP_LEN, 1);
    memcpy(job.images[job.n_images - 1].data, data, PROBE_APP_LEN);
    memset(ml, 0, sizeof *ml);
    memset(&h, 0, sizeof h);
    h.md5 = note_md5;
    h.ctx = ml;
    T_EQ_INT(run(&job, &h, res, NULL), 0);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res->message, res->log);
}

/* Random bytes from seed (the same generator as add_data). */
static uint8_t *probe_data(size_t len, unsigned seed)
{
    uint8_t *d = malloc(len);
    size_t i;

    if (!d)
        abort(); /* out of memory in a test: nothing sensible to check */
    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (uint8_t)(seed >> 16);
    }
    return d;
}

/* First-time flash: one MD5 of the first sector decides, then only the
 * verify; an image no larger than a sector gets one MD5 of itself. */
void test_engine__blank_region_costs_one_small_md5(void)
{
    uint8_t *app = probe_data(PROBE_APP_LEN, 31), *nvs = probe_data(3000, 32);
    struct md5_log ml;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    probe_run(&r, nvs, app, &ml, &res);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[1].phase, PHASE_DONE);
    T_EQ_INT(ml.n, 4);
    /* nvs: the whole 3000 bytes, then the verify */
    T_EQ_INT(ml.off[0], 0x9000);
    T_EQ_INT(ml.len[0], 3000);
    T_EQ_INT(ml.len[1], 3000);
    /* app: the first 4 KiB differ from the erased flash, so no full MD5
     * before writing; the one full MD5 is the verify */
    T_EQ_INT(ml.off[2], 0x10000);
    T_EQ_INT(ml.len[2], 4096);
    T_EQ_INT(ml.off[3], 0x10000);
    T_EQ_INT(ml.len[3], PROBE_APP_LEN);
    T_CONTAINS(res.message, "2 images written and verified");
    free(app);
    free(nvs);
}

/* Reflash of the same image: first sector, then its 16 KiB blocks (here
 * four, in one pipelined batch), skipped. */
void test_engine__unchanged_image_skipped_after_the_probe_and_the_scan(void)
{
    uint8_t *app = probe_data(PROBE_APP_LEN, 33);
    struct md5_log ml;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    probe_run(&r, NULL, app, &ml, &res);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    probe_run(&r, NULL, app, &ml, &res);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].phase, PHASE_SKIPPED);
    T_EQ_STR(res.parts[0].message, "unchanged");
    T_EQ_INT(ml.n, 1 + PROBE_APP_LEN / DELTA_BLOCK);
    T_EQ_INT(ml.len[0], 4096);
    for (unsigned k = 0; k < PROBE_APP_LEN / DELTA_BLOCK; k++) {
        T_EQ_INT(ml.off[1 + k], 0x10000 + k * DELTA_BLOCK);
        T_EQ_INT(ml.len[1 + k], DELTA_BLOCK);
    }
    T_EQ_STR(res.message, "1 image unchanged (MD5 matched), nothing written");
    free(app);
}

/* Same first sector, different tail: the block scan catches it and the
 * sector delta finds the one sector to write. */
void test_engine__same_first_sector_other_tail_is_written(void)
{
    uint8_t *app = probe_data(PROBE_APP_LEN, 35);
    struct md5_log ml;
    struct result res;
    struct rig r;
    unsigned k;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    probe_run(&r, NULL, app, &ml, &res);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    app[PROBE_APP_LEN - 100] ^= 0x01;
    probe_run(&r, NULL, app, &ml, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[0].written, 4096);
    /* first sector, the four 16 KiB blocks, the last block's 4 sectors,
     * the written sector (which with the scan proves the region: no MD5 of
     * it); 10 MD5s, 0.14 MiB read (with 64 KiB blocks: 19 and 0.19 MiB) */
    T_EQ_INT(ml.n, 1 + 4 + 4 + 1);
    T_EQ_INT(ml.len[0], 4096);
    for (k = 0; k < 4; k++) {
        T_EQ_INT(ml.off[1 + k], 0x10000 + k * DELTA_BLOCK);
        T_EQ_INT(ml.len[1 + k], DELTA_BLOCK);
    }
    for (k = 0; k < 4; k++) {
        T_EQ_INT(ml.off[5 + k], 0x10000 + 3 * DELTA_BLOCK + k * 4096);
        T_EQ_INT(ml.len[5 + k], 4096);
    }
    T_EQ_INT(ml.off[9], 0x10000 + PROBE_APP_LEN - 4096);
    T_EQ_INT(ml.len[9], 4096);
    rig_pause(&r);
    {
        size_t fsz;
        const uint8_t *fl = sim_flash(r.sim, &fsz);

        T_ASSERT(fsz >= 0x10000 + PROBE_APP_LEN);
        T_EQ_MEM(fl + 0x10000, app, PROBE_APP_LEN);
    }
    rig_free(&r);
    free(app);
}

/* ---- a port between the engine and the board: counts, injects faults ---- */

enum fault_kind {
    FAULT_NONE,
    FAULT_FLIP,     /* one bit of a FLASH_DEFL_DATA payload: stub 0xC1 */
    FAULT_DROP,     /* the block never arrives: no reply */
    FAULT_LOSE_REPLY, /* the block arrives, its reply is lost (a stall) */
    FAULT_CUT,      /* the connection closes as the block is sent */
    FAULT_NOT_REQUEST, /* its direction byte flipped: stub 0xC3, which the
                        * host does not take for "unread": it recovers */
    FAULT_FLIP_TWICE, /* one bit in two payload bytes: the 8-bit checksum
                       * passes, the stub inflates garbage */
    FAULT_POKE,     /* byte poke_at of the (SLIP-encoded) frame ^= poke:
                     * a field no checksum covers */
    FAULT_BAD_ESCAPE, /* 0xDB 0x01 in the middle of the frame: the stub's
                       * receiver drops it and falls out of step */
};

struct fault {
    enum fault_kind kind;
    unsigned at_block;  /* the n-th FLASH_DEFL_DATA/FLASH_DATA frame (1 = first) */
    uint8_t op;         /* or of this opcode (0: the data frames) */
    bool every;         /* every data frame from at_block on (flip) */
    size_t poke_at;     /* FAULT_POKE: which byte of the frame */
    uint8_t poke;       /* FAULT_POKE: the bits flipped */
    unsigned period;    /* with every: only every period-th frame (0 = all) */
    unsigned times;     /* with every: at most this many (0 = no limit) */
    unsigned blocks, fired, opens;
    uint64_t data_bytes; /* wire bytes of FLASH_(DEFL_)DATA frames */
    uint64_t md5s;       /* SPI_FLASH_MD5 requests */
    uint8_t ops[512];    /* the opcode of every request, in order */
    size_t nops;
};

struct fault_port {
    struct port base;
    struct port *inner;
    struct fault *f;
    bool cut, swallow;
};

static void fp_close(struct port *p)
{
    struct fault_port *fp = (struct fault_port *)p;

    port_close(fp->inner);
    free(fp);
}

static int fp_read(struct port *p, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct fault_port *fp = (struct fault_port *)p;
    int n;

    if (fp->cut)
        return ED_ERR_CLOSED;
    n = port_read(fp->inner, buf, cap, timeout_ms);
    return fp->swallow && n > 0 ? 0 : n;
}

static int fp_write(struct port *p, const uint8_t *buf, size_t len,
                    int timeout_ms)
{
    struct fault_port *fp = (struct fault_port *)p;
    struct fault *f = fp->f;
    bool data = len > 3 && buf[0] == 0xC0 && buf[1] == 0x00 &&
                (f->op ? buf[2] == f->op
                       : buf[2] == 0x11 || buf[2] == 0x03);

    if (fp->cut)
        return ED_ERR_CLOSED;
    fp->swallow = false;
    if (len > 3 && buf[0] == 0xC0 && buf[1] == 0x00 && buf[2] == 0x13)
        f->md5s++;
    if (len > 3 && buf[0] == 0xC0 && buf[1] == 0x00 &&
        f->nops < sizeof f->ops)
        f->ops[f->nops++] = buf[2];
    if (!data)
        return port_write(fp->inner, buf, len, timeout_ms);
    f->data_bytes += len;
    f->blocks++;
    if (f->kind == FAULT_NONE || f->blocks < f->at_block ||
        (f->blocks > f->at_block && !f->every) ||
        (f->period > 1 && (f->blocks - f->at_block) % f->period) ||
        (f->times && f->fired >= f->times))
        return port_write(fp->inner, buf, len, timeout_ms);
    f->fired++;
    switch (f->kind) {
    case FAULT_FLIP: {
        uint8_t *c = malloc(len);
        size_t i = len / 2;
        int rc;

        if (!c)
            return ED_ERR_NOMEM;
        memcpy(c, buf, len);
        /* a byte that stays an ordinary byte with its low bit flipped */
        while (i < len - 1 && (c[i] >= 0xC0 && c[i] <= 0xDD))
            i++;
        c[i] ^= 0x01;
        rc = port_write(fp->inner, c, len, timeout_ms);
        free(c);
        return rc;
    }
    case FAULT_FLIP_TWICE: {
        uint8_t *c = malloc(len);
        size_t i = len / 2, k;
        int rc;

        if (!c)
            return ED_ERR_NOMEM;
        memcpy(c, buf, len);
        for (k = 0; k < 2; k++, i++) {
            while (i < len - 1 && (c[i] >= 0xC0 && c[i] <= 0xDD))
                i++;
            c[i] ^= 0x01;
        }
        rc = port_write(fp->inner, c, len, timeout_ms);
        free(c);
        return rc;
    }
    case FAULT_POKE: {
        uint8_t *c = malloc(len);
        int rc;

        if (!c)
            return ED_ERR_NOMEM;
        memcpy(c, buf, len);
        if (f->poke_at < len)
            c[f->poke_at] ^= f->poke;
        rc = port_write(fp->inner, c, len, timeout_ms);
        free(c);
        return rc;
    }
    case FAULT_NOT_REQUEST: {
        uint8_t *c = malloc(len);
        int rc;

        if (!c)
            return ED_ERR_NOMEM;
        memcpy(c, buf, len);
        c[1] = 0x01;
        rc = port_write(fp->inner, c, len, timeout_ms);
        free(c);
        return rc;
    }
    case FAULT_BAD_ESCAPE: {
        uint8_t *c = malloc(len);
        int rc;

        if (!c)
            return ED_ERR_NOMEM;
        memcpy(c, buf, len);
        c[len / 2] = 0xDB;
        c[len / 2 + 1] = 0x01;
        rc = port_write(fp->inner, c, len, timeout_ms);
        free(c);
        return rc;
    }
    case FAULT_DROP:
        return ED_OK;
    case FAULT_LOSE_REPLY:
        fp->swallow = true;
        return port_write(fp->inner, buf, len, timeout_ms);
    case FAULT_CUT:
        /* half the frame goes out, then the link is gone */
        port_write(fp->inner, buf, len / 2, timeout_ms);
        port_close(fp->inner);
        fp->inner = NULL;
        fp->cut = true;
        return ED_ERR_CLOSED;
    default:
        return port_write(fp->inner, buf, len, timeout_ms);
    }
}

static int fp_set_baud(struct port *p, uint32_t baud)
{
    struct fault_port *fp = (struct fault_port *)p;

    if (fp->cut)
        return ED_ERR_CLOSED;
    p->baud = baud;
    return port_set_baud(fp->inner, baud);
}

static int fp_set_lines(struct port *p, int dtr, int rts)
{
    struct fault_port *fp = (struct fault_port *)p;

    return fp->cut ? ED_ERR_CLOSED : port_set_lines(fp->inner, dtr, rts);
}

static int fp_flush_input(struct port *p)
{
    struct fault_port *fp = (struct fault_port *)p;

    return fp->cut ? ED_ERR_CLOSED : port_flush_input(fp->inner);
}

static int fp_drain(struct port *p, int timeout_ms)
{
    struct fault_port *fp = (struct fault_port *)p;

    return fp->cut ? ED_ERR_CLOSED : port_drain(fp->inner, timeout_ms);
}

static const struct port_ops fault_ops = {
    .close = fp_close,         .read = fp_read,
    .write = fp_write,         .set_baud = fp_set_baud,
    .set_lines = fp_set_lines, .flush_input = fp_flush_input,
    .drain = fp_drain,
};

static void wrap_port(void *ctx, struct port **port)
{
    struct fault_port *fp = calloc(1, sizeof *fp);

    if (!fp)
        abort(); /* out of memory in a test */
    fp->base = **port;
    fp->base.ops = &fault_ops;
    fp->inner = *port;
    fp->f = ctx;
    fp->f->opens++;
    *port = &fp->base;
}

/* One job: image data (len bytes of seed) at 0x10000 through a fault port. */
static void fault_run(struct rig *r, const uint8_t *data, size_t len,
                      struct fault *f, void (*tweak)(struct engine_job *),
                      struct result *res)
{
    struct engine_job job;
    struct engine_hooks h;

    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r->url);
    add_data(&job, "factory", 0x10000, len, 1);
    memcpy(job.images[0].data, data, len);
    if (tweak)
        tweak(&job);
    memset(&h, 0, sizeof h);
    h.port_opened = wrap_port;
    h.ctx = f;
    T_EQ_INT(run(&job, &h, res, NULL), 0);
}

/* Compressible test data (like firmware: about 0.5 with zlib 9). */
static uint8_t *fw_data(size_t len, unsigned seed)
{
    uint8_t *d = probe_data(len, seed);
    size_t i;

    for (i = 0; i < len; i++)
        if ((i / 16) % 2)
            d[i] = (uint8_t)(i / 64);
    return d;
}

static void check_flash(struct rig *r, uint32_t off, const uint8_t *data,
                        size_t len)
{
    const uint8_t *fl;
    size_t fsz;

    rig_pause(r);
    fl = sim_flash(r->sim, &fsz);
    T_ASSERT(fsz >= off + len);
    T_EQ_MEM(fl + off, data, len);
}

#define FAULT_APP_LEN (256u * 1024)

/* One job writing a FAULT_APP_LEN app through a fault of kind at_block on
 * a board listening on listen (NULL: in-process); fails on an error. */
static uint8_t *fault_ok(struct rig *r, const char *listen,
                         enum fault_kind kind, unsigned at_block,
                         struct fault *f, struct result *res)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 41);

    if ((listen ? rig_start_on(r, "esp32c3", listen)
                : rig_start(r, "esp32c3")) != 0)
        t_fail(__FILE__, __LINE__, "the simulated board did not start");
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->at_block = at_block;
    fault_run(r, app, FAULT_APP_LEN, f, NULL, res);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res->message, res->log);
    if (f->fired != 1 || res->parts[0].phase != PHASE_DONE)
        t_fail(__FILE__, __LINE__, "fault fired %u times, phase %d",
               f->fired, (int)res->parts[0].phase);
    return app;
}

static void fault_case(const char *listen, enum fault_kind kind,
                       unsigned at_block, const char *cause)
{
    struct fault f;
    struct result res;
    struct rig r;
    uint8_t *app = fault_ok(&r, listen, kind, at_block, &f, &res);

    T_EQ_INT(res.parts[0].recoveries, 1);
    T_CONTAINS(res.log, "factory: recovering (1 of 8 without progress) "
                        "after: ");
    /* the blocks after a write error are shorter */
    T_CONTAINS(res.log, "data blocks of 4096 bytes from now on");
    T_CONTAINS(res.log, cause);
    T_CONTAINS(res.log, "proven written, resuming at 0x");
    T_CONTAINS(res.message, "(1 recovery from write errors)");
    /* resumed, not started over: less than the whole image again */
    T_ASSERT(res.parts[0].written < 2 * FAULT_APP_LEN);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* A damaged block: the stub says 0xC1, so it never used it: the same
 * block goes again, no recovery. */
void test_engine__damaged_block_is_sent_again(void)
{
    struct fault f;
    struct result res;
    struct rig r;
    uint8_t *app = fault_ok(&r, NULL, FAULT_FLIP, 3, &f, &res);

    T_EQ_INT(res.parts[0].recoveries, 0);
    T_CONTAINS(res.log, "factory: 1 damaged data block sent again");
    T_ASSERT(strstr(res.log, "recovering") == NULL);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* The last data block damaged so that its checksum still passes: the
 * stub inflates garbage and says so (0xC7) in its reply to the verify's
 * MD5: a write error, recovered, the rest written again. */
void test_engine__late_write_error_at_verify_is_recovered(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 45);
    struct fault f;
    struct result res;
    struct rig r;

    /* how many data blocks a clean write takes */
    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, NULL, &res);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(f.blocks > 1);
    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    f.kind = FAULT_FLIP_TWICE;
    f.at_block = f.blocks;
    f.blocks = f.fired = 0;
    fault_run(&r, app, FAULT_APP_LEN, &f, NULL, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(f.fired, 1);
    T_EQ_INT(res.parts[0].recoveries, 1);
    T_CONTAINS(res.log, "factory: recovering (1 of 8 without progress) "
                        "after: SPI_FLASH_MD5 failed");
    T_CONTAINS(res.log, "proven written, resuming at 0x");
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* A network link that closes in the middle of the stub upload: opened
 * again, the upload goes on, the flash is written. */
void test_engine__cut_during_stub_upload_reconnects(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 46);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start_on(&r, "esp32c3", "socket://127.0.0.1:0"), 0);
    memset(&f, 0, sizeof f);
    f.kind = FAULT_CUT;
    f.op = 0x07; /* MEM_DATA */
    f.at_block = 1;
    fault_run(&r, app, FAULT_APP_LEN, &f, NULL, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(f.fired, 1);
    T_ASSERT(f.opens >= 2);
    T_CONTAINS(res.log, "the link closed while uploading the flasher stub");
    T_ASSERT(res.chip.stub);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* A block the stub refused for another reason (0xC3, not a request):
 * proven prefix, new stream. */
void test_engine__resume_after_refused_block(void)
{
    fault_case("rfc2217://127.0.0.1:0", FAULT_NOT_REQUEST, 3, "0xC3");
}

/* A bad escape in a long data frame: esp-flasher-stub's receiver drops the
 * frame and re-arms before its closing 0xC0, which then opens a frame, so
 * every later frame is lost until a lone 0xC0 (docs/simulator.md, "The
 * stub's receiver"): the re-sync's alternate tries send one, the write
 * resumes and ends verified.  The first block: the stub is idle and
 * re-arms mid-frame (a later one arrives, without pacing, whole while the
 * block before it is written).  Fails without the lone 0xC0. */
void test_engine__resume_after_a_bad_escape_puts_the_stub_out_of_step(void)
{
    fault_case("rfc2217://127.0.0.1:0", FAULT_BAD_ESCAPE, 1, "no reply to");
}

/* A block that never arrives: no reply, re-sync, resume. */
void test_engine__resume_after_lost_block(void)
{
    fault_case("rfc2217://127.0.0.1:0", FAULT_DROP, 2, "no reply to");
}

/* A block the stub took whose reply was lost (a long stall): a block sent
 * again into the live stream would break the inflate (0xC7); resuming with
 * a new stream does not. */
void test_engine__resume_after_lost_reply(void)
{
    fault_case("rfc2217://127.0.0.1:0", FAULT_LOSE_REPLY, 2, "no reply to");
}

/* A network link that closes mid-block: opened again, the stub still
 * runs, resumed. */
void test_engine__resume_after_cut_socket(void)
{
    fault_case("socket://127.0.0.1:0", FAULT_CUT, 3, "the link to the board closed");
}

static void two_retries(struct engine_job *job)
{
    job->write_retries = 2;
}

/* Every block damaged: bounded, then one sentence that says so. */
void test_engine__recoveries_are_bounded(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 43);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    f.kind = FAULT_FLIP;
    f.at_block = 1;
    f.every = true;
    fault_run(&r, app, FAULT_APP_LEN, &f, two_retries, &res);
    rig_free(&r);
    T_EQ_INT(res.status, ED_ERR_DEVICE);
    T_EQ_INT(res.parts[0].phase, PHASE_FAILED);
    T_EQ_INT(res.parts[0].recoveries, 2);
    /* three runs, each sending its first damaged block 1 + 16 times */
    T_EQ_INT(f.fired, 3 * 17);
    T_CONTAINS(res.message, "writing factory at 0x10000 failed after 2 "
                            "recoveries without progress (the limit per "
                            "image, "
                            "--write-retries): ");
    T_CONTAINS(res.message, "0xC1");
    free(app);
}

/* A line that spoils every fourth data frame: each recovery proves more
 * of the image than the last (once the rest goes a sector per stream),
 * so the per-image limit (recoveries in a row without progress) is never
 * reached, however many recoveries it takes; the job's limit still
 * bounds them. */
void test_engine__recoveries_with_progress_go_on(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 44);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    f.kind = FAULT_NOT_REQUEST;
    f.at_block = 2;
    f.every = true;
    f.period = 4;
    fault_run(&r, app, FAULT_APP_LEN, &f, two_retries, &res);
    rig_free(&r);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_ASSERT(res.parts[0].recoveries > 2);
    T_CONTAINS(res.log, "data blocks of 1024 bytes from now on");
    /* the stub writes only whole 32 KiB or a stream's end: three 1 KiB
     * blocks of a stream prove nothing, a sector's own stream does */
    T_CONTAINS(res.log, "factory: nothing new proven: the rest goes one "
                        "4096-byte sector per stream");
    free(app);
}

/* SLIP frame bytes of a request: C0, direction, opcode, size (2),
 * checksum (4), then its data (none of these test values need escaping). */
#define FRAME_DATA 9

/* A FAULT_APP_LEN app (seed) written through fault f on an in-process
 * board; the job must end OK with the flash right. */
static void fault_case_ok(unsigned seed, struct fault *f, unsigned fired,
                          struct result *res)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, seed);
    struct rig r;

    if (rig_start(&r, "esp32c3") != 0)
        t_fail(__FILE__, __LINE__, "the simulated board did not start");
    fault_run(&r, app, FAULT_APP_LEN, f, NULL, res);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res->message, res->log);
    T_EQ_INT(f->fired, fired);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* The same through one frame of op (its at-th) with byte poke_at ^= poke. */
static void poke_case(unsigned seed, uint8_t op, unsigned at, size_t poke_at,
                      uint8_t poke, struct result *res)
{
    struct fault f;

    memset(&f, 0, sizeof f);
    f.kind = FAULT_POKE;
    f.op = op;
    f.at_block = at;
    f.poke_at = poke_at;
    f.poke = poke;
    fault_case_ok(seed, &f, 1, res);
}

/* One SPI_FLASH_MD5 request damaged where no checksum covers it: the
 * verify's MD5 of the app (the first sector's probe comes first), its
 * offset 0x10000 made 0x10001, hashes another range.  The mismatch is
 * asked again before it is believed: the second MD5 matches. */
void test_engine__verify_mismatch_from_a_damaged_md5_request_is_asked_again(void)
{
    struct result res;

    poke_case(47, 0x13, 2, FRAME_DATA, 0x01, &res);
    T_EQ_INT(res.parts[0].recoveries, 0);
    T_CONTAINS(res.log, "then the image's when asked again");
}

/* The verify's MD5 request lost, and lost again when it is asked again:
 * the link is recovered as after a write error, the image proven, and
 * the verify read again; the job ends OK. */
void test_engine__verify_md5_lost_twice_is_recovered(void)
{
    struct fault f;
    struct result res;

    memset(&f, 0, sizeof f);
    f.kind = FAULT_DROP;
    f.op = 0x13;        /* SPI_FLASH_MD5: the probe, then the verify */
    f.at_block = 2;
    f.every = true;
    f.times = 2;
    fault_case_ok(51, &f, 2, &res);
    T_EQ_INT(res.parts[0].recoveries, 1);
    T_CONTAINS(res.log, "factory: recovering (1 of 8 without progress) "
                        "after: no reply to SPI_FLASH_MD5");
}

/* FLASH_DEFL_BEGIN damaged in its offset (no checksum covers it): the
 * stub writes the app at 0x30000, every block is acknowledged, and the
 * region reads back different, twice: a write error, recovered (proven
 * prefix, written again), not a failed board. */
void test_engine__verify_mismatch_is_recovered_as_a_write_error(void)
{
    struct result res;

    /* offset 0x010000 -> 0x030000 */
    poke_case(49, 0x10, 1, FRAME_DATA + 14, 0x02, &res);
    T_EQ_INT(res.parts[0].recoveries, 1);
    T_CONTAINS(res.log, "read back different (flash MD5 ");
    T_CONTAINS(res.log, "asked twice)");
}

/* The reply to the job's CHANGE_BAUDRATE lost (an ESP32-C3's ROM switches
 * and the stub is uploaded at 921600; an ESP32's stub, uploaded at
 * 115200, switches): the chip answers at the old baud and then switches,
 * so it may be at either; SYNC finds it at the new one and the job goes
 * on there. */
static void baud_reply_lost(const char *chip)
{
    uint8_t *app = fw_data(64 * 1024, 50);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, chip), 0);
    memset(&f, 0, sizeof f);
    f.kind = FAULT_LOSE_REPLY;
    f.op = 0x0F;        /* CHANGE_BAUDRATE */
    f.at_block = 1;
    fault_run(&r, app, 64 * 1024, &f, NULL, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(f.fired, 1);
    T_CONTAINS(res.log, "no reply to CHANGE_BAUDRATE");
    T_CONTAINS(res.log, "the chip answers at 921600 baud");
    T_EQ_INT(res.chip.baud, 921600);
    check_flash(&r, 0x10000, app, 64 * 1024);
    rig_free(&r);
    free(app);
}

void test_engine__rom_baud_reply_lost_finds_the_new_baud(void)
{
    baud_reply_lost("esp32c3");
}

void test_engine__stub_baud_reply_lost_finds_the_new_baud(void)
{
    baud_reply_lost("esp32");
}

/* Two images; the second one's FLASH_BEGIN damaged so that it
 * writes over the first, already verified (0x50000 -> 0x10000).  The
 * second is recovered; the first, proven before that recovery, is read
 * again and written again: the job never ends OK with a damaged image. */
void test_engine__image_damaged_by_a_recovered_write_is_written_again(void)
{
    const size_t len = 64 * 1024;
    uint8_t *one = probe_data(len, 1), *two = probe_data(len, 2);
    struct engine_job job;
    struct engine_hooks h;
    struct result res;
    struct fault f;
    struct rig r;
    size_t fsz;
    const uint8_t *fl;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    add_data(&job, "first", 0x10000, len, 1);
    add_data(&job, "second", 0x50000, len, 2);
    memcpy(job.images[0].data, one, len);
    memcpy(job.images[1].data, two, len);
    memset(&f, 0, sizeof f);
    f.kind = FAULT_POKE;
    f.op = 0x02;        /* FLASH_BEGIN: random data does not compress */
    f.at_block = 2;     /* the second image's begin */
    f.poke_at = FRAME_DATA + 14; /* offset 0x050000 -> 0x010000 */
    f.poke = 0x04;
    memset(&h, 0, sizeof h);
    h.port_opened = wrap_port;
    h.ctx = &f;
    T_EQ_INT(run(&job, &h, &res, NULL), 0);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(f.fired, 1);
    T_CONTAINS(res.log, "first at 0x10000 no longer reads back as written");
    rig_pause(&r);
    fl = sim_flash(r.sim, &fsz);
    T_ASSERT(fsz >= 0x60000);
    T_EQ_MEM(fl + 0x10000, one, len);
    T_EQ_MEM(fl + 0x50000, two, len);
    rig_free(&r);
    free(one);
    free(two);
}

/* ---- sector-delta writes ---- */

static void rom_job(struct engine_job *job)
{
    job->no_stub = true;
}

/* Flash app, change `n` sectors (indices in secs), flash again through
 * the faults in *f (zeroed: none): only the changed sectors travel; *f is
 * the second job's count. */
static void delta_case(bool rom, const unsigned *secs, size_t n,
                       struct fault *f, struct result *res)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 45);
    struct fault first;
    struct rig r;
    size_t k;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&first, 0, sizeof first);
    fault_run(&r, app, FAULT_APP_LEN, &first, NULL, res);
    T_EQ_INT(res->status, ED_OK);
    for (k = 0; k < n; k++)
        app[secs[k] * 4096 + 77] ^= 0xA5;
    fault_run(&r, app, FAULT_APP_LEN, f, rom ? rom_job : NULL, res);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res->message, res->log);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

void test_engine__delta_one_sector_sends_one_sector(void)
{
    static const unsigned secs[] = {37};
    struct result res;
    struct fault f = {0};
    uint64_t bytes;

    delta_case(false, secs, 1, &f, &res);
    bytes = f.data_bytes;
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[0].written, 4096);
    T_CONTAINS(res.parts[0].message, "1 changed run, 4.0 KiB written");
    T_CONTAINS(res.log, "factory: 1 run of changed sectors, 4.0 KiB of ");
    /* one compressed sector with its frame: about 2 KB, never more than a
     * sector and a frame */
    T_ASSERT(bytes > 0 && bytes < 4096 + 64);
}

void test_engine__delta_scattered_sectors(void)
{
    static const unsigned secs[] = {0, 1, 2, 20, 63};
    struct result res;
    struct fault f = {0};

    delta_case(false, secs, 5, &f, &res);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[0].written, 5 * 4096);
    T_CONTAINS(res.parts[0].message, "3 changed runs, 20.0 KiB written");
    T_ASSERT(f.data_bytes < 5 * 4096 + 3 * 64);
}

/* The same through the ROM loader (it has SPI_FLASH_MD5 on every chip
 * espdeck knows): 1 KiB blocks, ASCII MD5 replies. */
void test_engine__delta_through_the_rom(void)
{
    static const unsigned secs[] = {5, 50};
    struct result res;
    struct fault f = {0};

    delta_case(true, secs, 2, &f, &res);
    T_ASSERT(!res.chip.stub);
    T_EQ_INT(res.parts[0].written, 2 * 4096);
    T_CONTAINS(res.parts[0].message, "2 changed runs, 8.0 KiB written");
    T_ASSERT(f.data_bytes < 2 * 4096 + 2 * 4 * 64);
    /* probe, 16 blocks, 2 x 4 sectors, 2 run checks (the region is
     * proven by them: no MD5 of it) */
    T_EQ_INT(f.md5s, 1 + 16 + 2 * 4 + 2);
}

/* The requests of a job from its first FLASH_DEFL_BEGIN (0x10) to its
 * last SPI_FLASH_MD5 (0x13), as hex bytes "10 11 ...". */
static void ops_text(const struct fault *f, char *out, size_t cap)
{
    size_t k, first = f->nops, last = 0, n = 0;

    for (k = 0; k < f->nops; k++) {
        if (f->ops[k] == 0x10 && first == f->nops)
            first = k;
        if (f->ops[k] == 0x13)
            last = k;
    }
    out[0] = '\0';
    for (k = first; k <= last && k < f->nops && n + 4 < cap; k++)
        n += (size_t)snprintf(out + n, cap - n, "%s%02x", n ? " " : "",
                              f->ops[k]);
}

/* Each run's FLASH_DEFL_BEGIN follows the run before's data block at once
 * (the stub starts the run's erase when it takes it, right after that
 * block's write); the runs' MD5s come after the last run, in one batch,
 * and prove the region with the scan's. */
void test_engine__delta_runs_back_to_back_then_their_md5s(void)
{
    static const unsigned secs[] = {5, 30, 50};
    struct result res;
    struct fault f = {0};
    char ops[256];

    delta_case(false, secs, 3, &f, &res);
    T_EQ_INT(res.parts[0].written, 3 * 4096);
    ops_text(&f, ops, sizeof ops);
    /* the first MD5 alone (the stub is still writing the last run's
     * block), then two in flight: none lost, no recovery */
    T_EQ_STR(ops, "10 11 10 11 10 11 13 13 13");
    T_EQ_INT(res.parts[0].recoveries, 0);
    T_CONTAINS(res.log, "factory: every sector proven by MD5");
}

/* A run that reads back different (its FLASH_DEFL_BEGIN, which has no
 * checksum, damaged on the way: the run went elsewhere) is caught by the
 * runs' MD5s; the region then reads back different too and the image is
 * written whole once more. */
void test_engine__delta_run_read_back_different(void)
{
    static const unsigned secs[] = {5, 50};
    struct result res;
    struct fault f = {0};

    f.kind = FAULT_POKE;
    f.op = 0x10;
    f.at_block = 2;              /* the second run's begin */
    f.poke_at = FRAME_DATA + 14; /* offset 0x042000 -> 0x062000 */
    f.poke = 0x02;
    delta_case(false, secs, 2, &f, &res);
    T_EQ_INT(f.fired, 1);
    T_CONTAINS(res.log, "factory: the run at 0x42000 reads back different: "
                        "checking the region");
    T_ASSERT(!strstr(res.log, "every sector proven"));
    T_CONTAINS(res.log, "factory reads back different after writing the "
                        "changed sectors: rewriting the whole image");
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}

static void at_0x10800(struct engine_job *job)
{
    job->images[0].offset = 0x10800;
}

/* Flash app at 0x10000 (or 0x10800 with unaligned), change sector 9,
 * flash again; md5s of the second job. */
static void delta_region_case(bool unaligned, uint64_t *md5s,
                              struct result *res)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 46);
    struct fault f;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, unaligned ? at_0x10800 : NULL, res);
    T_EQ_INT(res->status, ED_OK);
    app[9 * 4096 + 100] ^= 0x5A;
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, unaligned ? at_0x10800 : NULL, res);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res->message, res->log);
    *md5s = f.md5s;
    check_flash(&r, unaligned ? 0x10800 : 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* After a delta write every sector is proven by the scan's MD5s and the
 * run's: the whole region is not read again (0.39 s for 1.5 MiB). */
void test_engine__delta_region_proven_without_its_md5(void)
{
    struct result res;
    uint64_t md5s;

    delta_region_case(false, &md5s, &res);
    T_CONTAINS(res.log, "factory: every sector proven by MD5");
    /* probe, 16 blocks, 4 sectors, the run */
    T_EQ_INT(md5s, 1 + 16 + 4 + 1);
    T_EQ_INT(res.parts[0].written, 4096);
}

/* An image that does not start on a sector: the run's erase starts at
 * the sector boundary before it and wipes the end of the image's previous
 * sector, which the scan had proven.  The run's own MD5 cannot see that;
 * the region's MD5 does, and the image is written whole. */
void test_engine__delta_unaligned_image_reads_the_region(void)
{
    struct result res;
    uint64_t md5s;

    delta_region_case(true, &md5s, &res);
    T_ASSERT(!strstr(res.log, "every sector proven"));
    T_CONTAINS(res.log, "factory reads back different after writing the "
                        "changed sectors: rewriting the whole image");
    /* probe, 16 blocks, 4 sectors, the run, the region (a mismatch is
     * asked twice), the region again after the rewrite */
    T_EQ_INT(md5s, 1 + 16 + 4 + 1 + 2 + 1);
}

/* Everything changed: the block scan gives up after DELTA_MIN_SCANNED
 * blocks and writes the whole image; no sector comparisons. */
void test_engine__delta_gives_up_on_a_full_change(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN * 2, 47);
    uint8_t *other = fw_data(FAULT_APP_LEN * 2, 48);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN * 2, &f, NULL, &res);
    T_EQ_INT(res.status, ED_OK);
    memset(&f, 0, sizeof f);
    fault_run(&r, other, FAULT_APP_LEN * 2, &f, NULL, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].written, FAULT_APP_LEN * 2);
    /* probe, the first batch of blocks (256 KiB), the verify */
    T_EQ_INT(f.md5s, 1 + DELTA_MIN_SCANNED + 1);
    T_ASSERT(!strstr(res.log, "changed sectors"));
    check_flash(&r, 0x10000, other, FAULT_APP_LEN * 2);
    rig_free(&r);
    free(app);
    free(other);
}

static struct zcache *shared_zc;

static void use_shared_cache(struct engine_job *job)
{
    job->zcache = shared_zc;
    job->force = true;
}

/* Two jobs (two boards of a bench) with one cache: the image is
 * compressed once, on the first engine's helper thread while it connects. */
void test_engine__shared_cache_compresses_once(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 49);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(zcache_new(&shared_zc), ED_OK);
    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, use_shared_cache, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(zcache_compressions(shared_zc), 1);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, use_shared_cache, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].written, FAULT_APP_LEN);
    T_EQ_INT(zcache_compressions(shared_zc), 1);
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    zcache_free(shared_zc);
    free(app);
}

/* Unchanged and larger than a block: the block scan (which reads the
 * region once, as the region's MD5 would) finds nothing to write. */
void test_engine__unchanged_found_by_the_block_scan(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 51);
    struct fault f;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, NULL, &res);
    T_EQ_INT(res.status, ED_OK);
    memset(&f, 0, sizeof f);
    fault_run(&r, app, FAULT_APP_LEN, &f, NULL, &res);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT(res.parts[0].phase, PHASE_SKIPPED);
    T_EQ_INT(f.md5s, 1 + FAULT_APP_LEN / DELTA_BLOCK);
    T_EQ_INT(f.data_bytes, 0);
    free(app);
}

static void change_after_delta(void *ctx, struct engine_job *job, size_t index)
{
    (void)ctx;
    (void)index;
    job->images[0].data[200 * 1000] ^= 0x33; /* a sector the delta left */
}

/* A region that reads back different after a delta write is written
 * whole once more, then verified. */
void test_engine__delta_mismatch_rewrites_the_whole_image(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 53);
    struct engine_job job;
    struct engine_hooks h;
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32c3"), 0);
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    add_data(&job, "factory", 0x10000, FAULT_APP_LEN, 1);
    memcpy(job.images[0].data, app, FAULT_APP_LEN);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    T_EQ_INT(res.status, ED_OK);
    app[10 * 4096 + 5] ^= 0x11;
    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", r.url);
    add_data(&job, "factory", 0x10000, FAULT_APP_LEN, 1);
    memcpy(job.images[0].data, app, FAULT_APP_LEN);
    memset(&h, 0, sizeof h);
    h.after_write = change_after_delta;
    T_EQ_INT(run(&job, &h, &res, NULL), 0);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_CONTAINS(res.log, "factory reads back different after writing the "
                        "changed sectors: rewriting the whole image");
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
    T_EQ_INT(res.parts[0].written, 4096 + FAULT_APP_LEN);
    app[200 * 1000] ^= 0x33;
    check_flash(&r, 0x10000, app, FAULT_APP_LEN);
    rig_free(&r);
    free(app);
}

/* The same over RFC 2217: reopening sets the lines as they were (released),
 * so the board is not reset and still runs the stub. */
void test_engine__resume_after_cut_rfc2217(void)
{
    fault_case("rfc2217://127.0.0.1:0", FAULT_CUT, 3,
               "the link to the board closed");
}

/* ---- the baud when the job asks for none (ENGINE_BAUD_DEFAULT) ---- */

/* Flash the ESP32 hello-world set through url with the job's default
 * baud; links.json in the test's own folder. */
static void default_baud_run_chip(const char *url, size_t k,
                                  struct result *res)
{
    struct engine_job job;

    setenv("XDG_STATE_HOME", t_tmpdir(), 1);
    if (!hello_job(&job, k, url))
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    T_EQ_INT((int)job.baud, (int)ENGINE_BAUD_DEFAULT);
    T_EQ_INT(run_job(&job, NULL, res, NULL), 0);
    if (res->status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s: %s\n%s", url, res->message,
               res->log);
    T_ASSERT(res->got_chip);
}

static void default_baud_run(const char *url, struct result *res)
{
    default_baud_run_chip(url, 0, res);
}

/* rfc2217:// climbs the --baud auto ladder by default (the board has no
 * adapter limit, so the top rung holds); 921600 was the old default. */
void test_engine__default_is_auto_on_rfc2217(void)
{
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start(&r, "esp32"), 0);
    default_baud_run(r.url, &res);
    rig_free(&r);
    T_EQ_INT((int)res.chip.baud, 3000000);
    T_ASSERT(strstr(res.log, "--baud auto: 3000000 baud holds"));
}

/* An rfc2217:// board behind a 1 Mbaud adapter: the default ladder steps
 * down to the rate that holds. */
void test_engine__default_auto_steps_down_on_rfc2217(void)
{
    struct sim_config cfg;
    struct result res;
    struct rig r;
    char err[256];

    memset(&r, 0, sizeof r);
    memset(&cfg, 0, sizeof cfg);
    cfg.chip = "esp32";
    cfg.no_pacing = true;
    cfg.max_baud = 1000000; /* a CP2102 */
    T_EQ_INT(sim_new(&r.sim, &cfg, err, sizeof err), 0);
    r.listen = "rfc2217://127.0.0.1:0";
    T_EQ_INT(rig_serve(&r), 0);
    default_baud_run(r.url, &res);
    rig_free(&r);
    T_EQ_INT((int)res.chip.baud, 921600);
    T_ASSERT(strstr(res.log, "3000000 baud does not hold"));
}

/* socket:// keeps the fixed default: no reset lines, so a rate that does
 * not hold would leave the stub out of reach. */
void test_engine__default_is_fixed_on_socket(void)
{
    struct result res;
    struct rig r;

    T_EQ_INT(rig_start_on(&r, "esp32", "socket://127.0.0.1:0"), 0);
    default_baud_run(r.url, &res);
    rig_free(&r);
    T_EQ_INT((int)res.chip.baud, (int)ENGINE_BAUD_FIXED);
    T_ASSERT(!strstr(res.log, "--baud auto"));
}

/* A sim: board behind a simulated USB adapter is a USB port to the host
 * (the adapter's VID:PID): auto; without an adapter a plain UART: 921600. */
void test_engine__default_follows_the_sim_adapter(void)
{
    struct result res;

    default_baud_run("sim:esp32?pacing=0&adapter=cp2102n", &res);
    T_EQ_INT((int)res.chip.baud, 3000000);
    T_ASSERT(strstr(res.log, "--baud auto: 3000000 baud holds on "
                             "usb:10c4:ea60:"));
    default_baud_run("sim:esp32?pacing=0", &res);
    T_EQ_INT((int)res.chip.baud, (int)ENGINE_BAUD_FIXED);
    T_ASSERT(!strstr(res.log, "--baud auto"));
}

/* A baud the job names (--baud N, a profile's, config.yaml's) wins over
 * the port's default. */
void test_engine__named_baud_wins_over_the_default(void)
{
    struct engine_job job;
    struct result res;
    struct rig r;

    setenv("XDG_STATE_HOME", t_tmpdir(), 1);
    T_EQ_INT(rig_start(&r, "esp32"), 0);
    if (!hello_job(&job, 0, r.url)) {
        rig_free(&r);
        T_SKIP("shared firmware folder absent (set ESPDECK_SHARED)");
    }
    job.baud = 460800;
    T_EQ_INT(run_job(&job, NULL, &res, NULL), 0);
    rig_free(&r);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT((int)res.chip.baud, 460800);
    T_ASSERT(!strstr(res.log, "--baud auto"));
}

/* Espressif's USB-Serial/JTAG (303A:1001): auto is the default there and
 * keeps the ROM's baud (no ladder, no CHANGE_BAUDRATE), and says so; the
 * chip info says the link is USB-Serial/JTAG. */
void test_engine__usb_jtag_keeps_the_baud(void)
{
    struct result res;

    default_baud_run_chip("sim:esp32c3?pacing=0&adapter=usb-serial-jtag",
                          4, &res);
    T_EQ_INT(res.status, ED_OK);
    T_ASSERT(res.chip.usb_jtag);
    T_EQ_INT((int)res.chip.baud, 115200);
    T_ASSERT(strstr(res.log, "USB-Serial/JTAG: no baud to pick"));
    T_ASSERT(!strstr(res.log, "baud holds"));
    T_ASSERT(!strstr(res.log, "does not hold"));
    T_EQ_STR(res.chip.reset_used, "usb-jtag-serial");
}

/* ---- the stub uploaded at the job's baud (rom_baud_first) ---- */

/* Flash one small image through URL at baud; the result in res. */
static void flash_at(const char *url, uint32_t baud, struct result *res)
{
    struct engine_job job;

    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", url);
    job.baud = baud;
    add_data(&job, "storage", 0x100000, 8192, 5);
    if (run(&job, NULL, res, NULL) != 0)
        res->status = ED_ERR_TIMEOUT;
    engine_job_clear(&job);
}

/* ESP32-C3: the ROM switches to 921600 before MEM_BEGIN; the stub then
 * answers at that rate without a CHANGE_BAUDRATE of its own. */
void test_engine__stub_uploaded_at_the_job_baud(void)
{
    struct result res;

    flash_at("sim:esp32c3?pacing=0", 921600, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_CONTAINS(res.log, "ROM loader at 921600 baud: uploading the flasher "
                        "stub at that rate");
    T_ASSERT(res.chip.stub);
    T_EQ_INT(res.chip.baud, 921600);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}

/* ESP32: its stub sets the UART again from the ROM's own baud record, so
 * the upload stays at 115200 and the stub changes the baud. */
void test_engine__esp32_stub_uploaded_at_115200(void)
{
    struct result res;

    flash_at("sim:esp32?pacing=0", 921600, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_ASSERT(!strstr(res.log, "ROM loader at"));
    T_EQ_INT(res.chip.baud, 921600);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}

/* An ESP32-C2 with a 26 MHz crystal: the ROM is asked for 4 Mbaud x 40/26
 * (its crystal belief), which it refuses; the stub goes up at 115200 and
 * switches to 4 Mbaud itself. */
void test_engine__rom_baud_refused_uploads_at_115200(void)
{
    struct result res;

    flash_at("sim:esp32c2?pacing=0&xtal=26", 4000000, &res);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_CONTAINS(res.log, "the ROM loader does not hold 4000000 baud");
    T_ASSERT(res.chip.stub);
    T_EQ_INT(res.chip.baud, 4000000);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}

/* A line that garbles above 460800: the ROM's switch to 921600 fails its
 * round trip, the board is reset (DTR/RTS) and connected at 115200 again,
 * and the stub is uploaded there, as without the ROM switch (whose
 * CHANGE_BAUDRATE then meets the same line: the job fails later). */
void test_engine__rom_baud_garbled_reconnects_at_115200(void)
{
    struct result res;
    const char *fb, *again;

    flash_at("sim:esp32c3?pacing=0&max-baud=460800", 921600, &res);
    T_ASSERT(res.status != ED_OK);
    fb = strstr(res.log, "the ROM loader does not hold 921600 baud");
    T_ASSERT(fb);
    again = strstr(fb, "chip is ESP32-C3");
    T_ASSERT(again);
    T_CONTAINS(again, "flasher stub esp32c3 running");
}

/* The port's default is decided before anything asks the chip for a
 * baud: the ROM loader's switch before the stub upload (ESP32-C3) goes
 * to 921600, not to the "no baud named" marker. */
void test_engine__default_decided_before_the_rom_switch(void)
{
    struct result res;

    default_baud_run_chip("sim:esp32c3?pacing=0", 4, &res);
    T_EQ_INT(res.status, ED_OK);
    T_EQ_INT((int)res.chip.baud, (int)ENGINE_BAUD_FIXED);
    T_ASSERT(!strstr(res.log, "4294967294"));
    T_ASSERT(!strstr(res.log, "does not hold"));
}

/*
 * esp-flasher-stub takes one frame while it writes an acknowledged data
 * block (two receive buffers): a host that sends a second one then (an
 * MD5 request between data blocks, then the next block) loses the block on
 * a board.  A 256 KiB write over an in-process sim needs no recovery.
 */
void test_engine__write_never_sends_two_frames_into_a_block_write(void)
{
    uint8_t *app = fw_data(FAULT_APP_LEN, 51);
    struct engine_job job;
    struct result res;

    engine_job_init(&job);
    snprintf(job.port, sizeof job.port, "%s", "sim:esp32c3?pacing=0");
    add_data(&job, "factory", 0x10000, FAULT_APP_LEN, 7);
    memcpy(job.images[0].data, app, FAULT_APP_LEN);
    T_EQ_INT(run(&job, NULL, &res, NULL), 0);
    engine_job_clear(&job);
    free(app);
    if (res.status != ED_OK)
        t_fail(__FILE__, __LINE__, "%s\n%s", res.message, res.log);
    T_EQ_INT(res.parts[0].recoveries, 0);
    T_EQ_INT(res.parts[0].phase, PHASE_DONE);
}
