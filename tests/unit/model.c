/* Unit tests: src/flash/model.c (engine events -> console state). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "test.h"

static void job_with(struct engine_job *job, size_t n)
{
    static const char *const names[] = {"bootloader", "partition-table",
                                        "factory"};
    static const uint32_t offs[] = {0x1000, 0x8000, 0x10000};
    size_t i;

    memset(job, 0, sizeof *job);
    snprintf(job->port, sizeof job->port, "sim:esp32");
    job->monitor_baud = 115200;
    job->n_images = n;
    for (i = 0; i < n; i++) {
        snprintf(job->images[i].name, sizeof job->images[i].name, "%s",
                 names[i % 3]);
        job->images[i].offset = offs[i % 3];
        job->images[i].len = 1000 * (i + 1);
        job->images[i].region_size = 4096 * (unsigned)(i + 1);
    }
}

static struct engine_event part_ev(int index, enum engine_phase ph,
                                   uint64_t done, uint64_t total, double rate)
{
    struct engine_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = EV_PART;
    ev.u.part.index = index;
    ev.u.part.phase = ph;
    ev.u.part.done = done;
    ev.u.part.total = total;
    ev.u.part.rate = rate;
    return ev;
}

static struct engine_event state_ev(enum engine_state st)
{
    struct engine_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = EV_STATE;
    ev.u.state.state = st;
    return ev;
}

static void feed(struct model *m, const char *s)
{
    model_monitor_bytes(m, (const uint8_t *)s, strlen(s), 1000);
}

void test_model__job_parts_start_waiting(void)
{
    struct model m;
    struct engine_job job;

    T_EQ_INT(model_init(&m, MODEL_MODE_FLASH), ED_OK);
    job_with(&job, 3);
    model_set_job(&m, &job);
    T_EQ_INT(m.n_parts, 3);
    T_EQ_STR(m.parts[2].name, "factory");
    T_EQ_INT(m.parts[2].offset, 0x10000);
    T_EQ_INT(m.parts[0].phase, PHASE_WAITING);
    T_EQ_INT(m.monitor_baud, 115200);
    T_ASSERT(model_busy(&m));
    T_ASSERT(!model_all_ok(&m));
    model_free(&m);
}

void test_model__progress_rate_eta(void)
{
    struct model m;
    struct engine_job job;
    struct engine_event ev;

    model_init(&m, MODEL_MODE_FLASH);
    job_with(&job, 1);
    model_set_job(&m, &job);
    ev = part_ev(0, PHASE_WRITING, 250, 1000, 50.0);
    model_apply(&m, &ev, 100, 0);
    T_EQ_INT(m.parts[0].phase, PHASE_WRITING);
    T_EQ_INT(m.parts[0].done, 250);
    T_ASSERT(model_part_fraction(&m.parts[0]) > 0.249 &&
             model_part_fraction(&m.parts[0]) < 0.251);
    /* 750 bytes left at 50 B/s */
    T_ASSERT(model_part_eta(&m.parts[0]) > 14.99 &&
             model_part_eta(&m.parts[0]) < 15.01);
    ev = part_ev(0, PHASE_WRITING, 250, 1000, 0.0);
    model_apply(&m, &ev, 100, 0);
    T_ASSERT(model_part_eta(&m.parts[0]) < 0);  /* unknown without a rate */
    model_free(&m);
}

void test_model__all_done_gives_summary_and_split(void)
{
    struct model m;
    struct engine_job job;
    struct engine_event ev;

    model_init(&m, MODEL_MODE_FLASH);
    job_with(&job, 3);
    model_set_job(&m, &job);
    ev = state_ev(STATE_CONNECTING);
    model_apply(&m, &ev, 1000, 0);
    ev = part_ev(0, PHASE_DONE, 1000, 1000, 100);
    model_apply(&m, &ev, 2000, 0);
    ev = part_ev(1, PHASE_SKIPPED, 0, 2000, 0);
    model_apply(&m, &ev, 2500, 0);
    T_ASSERT(!model_all_ok(&m));
    T_ASSERT(model_busy(&m));
    ev = part_ev(2, PHASE_DONE, 3000, 3000, 100);
    model_apply(&m, &ev, 4500, 0);
    T_ASSERT(model_all_ok(&m));
    T_ASSERT(!model_busy(&m));
    T_EQ_INT(m.flashes, 1);
    /* the flash time stops when the last image is verified */
    T_ASSERT(model_flash_seconds(&m, 99999) > 3.49 &&
             model_flash_seconds(&m, 99999) < 3.51);
    T_ASSERT(!m.split);
    ev = state_ev(STATE_MONITORING);
    model_apply(&m, &ev, 5000, 0);
    T_ASSERT(m.split);
    model_restart_flash(&m, 6000);
    T_ASSERT(!m.split);
    T_EQ_INT(m.parts[0].phase, PHASE_WAITING);
    T_EQ_INT(m.parts[0].done, 0);
    model_free(&m);
}

void test_model__cancel_says_what_was_not_written(void)
{
    struct model m;
    struct engine_job job;
    struct engine_event ev;

    model_init(&m, MODEL_MODE_FLASH);
    job_with(&job, 3);
    job.images[2].len = 4096;
    model_set_job(&m, &job);
    ev = part_ev(0, PHASE_DONE, 1000, 1000, 100);
    model_apply(&m, &ev, 10, 0);
    ev = part_ev(1, PHASE_WRITING, 1024, 2048, 100);
    model_apply(&m, &ev, 20, 0);
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_FINISHED;
    ev.u.finished.status = ED_ERR_CANCELLED;
    snprintf(ev.u.finished.message, sizeof ev.u.finished.message,
             "cancelled by the user");
    model_apply(&m, &ev, 30, 0);
    T_EQ_INT(m.parts[0].phase, PHASE_DONE);
    T_EQ_INT(m.parts[1].phase, PHASE_CANCELLED);
    T_CONTAINS(m.parts[1].message, "1.0 KiB of 2.0 KiB written");
    T_CONTAINS(m.parts[1].message, "not written");
    T_EQ_INT(m.parts[2].phase, PHASE_CANCELLED);
    T_EQ_STR(m.parts[2].message, "not written");
    T_ASSERT(!model_busy(&m));
    T_ASSERT(!model_all_ok(&m));
    model_free(&m);
}

void test_model__failure_keeps_reason(void)
{
    struct model m;
    struct engine_job job;
    struct engine_event ev;

    model_init(&m, MODEL_MODE_FLASH);
    job_with(&job, 2);
    model_set_job(&m, &job);
    ev = part_ev(0, PHASE_FAILED, 10, 1000, 0);
    snprintf(ev.u.part.message, sizeof ev.u.part.message,
             "MD5 mismatch at 0x1000");
    model_apply(&m, &ev, 10, 0);
    T_EQ_INT(m.parts[0].phase, PHASE_FAILED);
    T_EQ_STR(m.parts[0].message, "MD5 mismatch at 0x1000");
    /* an index beyond the job grows the list instead of writing past it */
    ev = part_ev(5, PHASE_WRITING, 1, 2, 0);
    model_apply(&m, &ev, 10, 0);
    T_EQ_INT(m.n_parts, 6);
    ev = part_ev(ENGINE_MAX_IMAGES, PHASE_WRITING, 1, 2, 0);
    model_apply(&m, &ev, 10, 0);
    T_EQ_INT(m.n_parts, 6);
    model_free(&m);
}

void test_model__classify_levels(void)
{
    T_EQ_INT(model_classify("E (123) wifi: failed"), MODEL_LVL_E);
    T_EQ_INT(model_classify("W (5) spi_flash: size"), MODEL_LVL_W);
    T_EQ_INT(model_classify("I (31) boot: ESP-IDF"), MODEL_LVL_I);
    T_EQ_INT(model_classify("D (9) x: y"), MODEL_LVL_D);
    T_EQ_INT(model_classify("V (10) x: y"), MODEL_LVL_V);
    T_EQ_INT(model_classify("I () tag: msg"), MODEL_LVL_I);
    T_EQ_INT(model_classify("Hello world!"), MODEL_LVL_NONE);
    T_EQ_INT(model_classify("I (12x) nope"), MODEL_LVL_NONE);
    T_EQ_INT(model_classify("E"), MODEL_LVL_NONE);
    T_EQ_INT(model_classify(""), MODEL_LVL_NONE);
    T_EQ_INT(model_classify("rst:0x1 (POWERON_RESET)"), MODEL_LVL_NONE);
}

void test_model__monitor_strips_ansi_and_crlf(void)
{
    struct model m;
    const struct model_line *l;

    model_init(&m, MODEL_MODE_MONITOR_ONLY);
    feed(&m, "\x1b[0;32mI (31) boot: ESP-IDF v5.2\x1b[0m\r\n");
    feed(&m, "Hello ");
    T_EQ_INT(model_ring_end(&m.mon), 1);
    feed(&m, "world!\r\n\x1b[0;31mpanic text without prefix\x1b[0m\r\n");
    T_EQ_INT(model_ring_end(&m.mon), 3);
    l = model_ring_get(&m.mon, 0);
    T_EQ_STR(l->text, "I (31) boot: ESP-IDF v5.2");
    T_EQ_INT(l->level, MODEL_LVL_I);
    l = model_ring_get(&m.mon, 1);
    T_EQ_STR(l->text, "Hello world!");
    T_EQ_INT(l->level, MODEL_LVL_NONE);
    l = model_ring_get(&m.mon, 2);
    T_EQ_STR(l->text, "panic text without prefix");
    T_EQ_INT(l->level, MODEL_LVL_E);   /* from the colour the target set */
    /* an escape split across two reads */
    feed(&m, "\x1b[0;3");
    feed(&m, "3mW (7) x: y\x1b[0m\n");
    l = model_ring_get(&m.mon, 3);
    T_EQ_STR(l->text, "W (7) x: y");
    T_EQ_INT(l->level, MODEL_LVL_W);
    model_free(&m);
}

void test_model__monitor_ring_is_bounded(void)
{
    struct model m;
    char line[64];
    uint64_t i, hit;

    model_init(&m, MODEL_MODE_MONITOR_ONLY);
    for (i = 0; i < MODEL_MON_LINES + 100; i++) {
        snprintf(line, sizeof line, "line %llu\n", (unsigned long long)i);
        feed(&m, line);
    }
    T_EQ_INT(model_ring_end(&m.mon), MODEL_MON_LINES + 100);
    T_EQ_INT(model_ring_first(&m.mon), 100);
    T_ASSERT(model_ring_get(&m.mon, 99) == NULL);
    T_EQ_STR(model_ring_get(&m.mon, 100)->text, "line 100");
    T_ASSERT(model_ring_get(&m.mon, MODEL_MON_LINES + 100) == NULL);
    /* search: backwards from the end finds the newest match */
    T_ASSERT(model_mon_find(&m, model_ring_end(&m.mon), false, "LINE 2",
                            &hit));
    T_EQ_STR(model_ring_get(&m.mon, hit)->text, "line 2999");
    T_ASSERT(model_mon_find(&m, 100, true, "line 5000", &hit));
    T_EQ_INT(hit, 5000);
    /* lines that fell out of the ring ("line 5") are not found */
    T_ASSERT(model_mon_find(&m, 0, true, "line 5", &hit));
    T_EQ_INT(hit, 500);
    T_ASSERT(!model_mon_find(&m, 0, true, "no such text", &hit));
    model_free(&m);
}

void test_model__long_lines_wrap_not_overflow(void)
{
    struct model m;
    char big[MODEL_LINE_MAX * 3];

    model_init(&m, MODEL_MODE_MONITOR_ONLY);
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    feed(&m, big);
    T_EQ_INT(model_ring_end(&m.mon), 4);
    T_EQ_INT(strlen(model_ring_get(&m.mon, 0)->text), MODEL_LINE_MAX - 1);
    model_free(&m);
}

void test_model__log_events_and_finish_error(void)
{
    struct model m;
    struct engine_event ev;
    const struct model_line *l;

    model_init(&m, MODEL_MODE_FLASH);
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_LOG;
    ev.u.log.level = ED_LOG_WARN;
    snprintf(ev.u.log.text, sizeof ev.u.log.text, "flash size differs");
    model_apply(&m, &ev, 1, 1234);
    l = model_ring_get(&m.log, 0);
    T_EQ_STR(l->text, "flash size differs");
    T_EQ_INT(l->level, MODEL_LVL_W);
    T_EQ_INT(l->wall_ms, 1234);
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_FINISHED;
    ev.u.finished.status = ED_ERR_TIMEOUT;
    snprintf(ev.u.finished.message, sizeof ev.u.finished.message,
             "the board on sim:esp32 does not answer: hold BOOT and retry");
    model_apply(&m, &ev, 2, 2000);
    T_ASSERT(m.finished);
    T_EQ_INT(m.status, ED_ERR_TIMEOUT);
    l = model_ring_get(&m.log, 1);
    T_CONTAINS(l->text, "does not answer");
    T_EQ_INT(l->level, MODEL_LVL_E);
    model_free(&m);
}

void test_model__fmt_bytes(void)
{
    char b[24];

    T_EQ_STR(model_fmt_bytes(b, sizeof b, 512), "512 B");
    T_EQ_STR(model_fmt_bytes(b, sizeof b, 24883), "24.3 KiB");
    T_EQ_STR(model_fmt_bytes(b, sizeof b, 1572864), "1.5 MiB");
}

/* P5: the exit sentence says what happened, not "written" for skips. */
void test_model__outcome_counts_written_and_unchanged(void)
{
    struct engine_job job;
    struct engine_event ev;
    struct model m;
    char buf[160];
    int i;

    T_EQ_INT(model_init(&m, MODEL_MODE_FLASH), ED_OK);
    job_with(&job, 3);
    model_set_job(&m, &job);
    T_EQ_STR(model_outcome(&m, 1.0, buf, sizeof buf), "");
    for (i = 0; i < 3; i++) {
        ev = part_ev(i, PHASE_SKIPPED, 1000, 1000, 0);
        model_apply(&m, &ev, 10, 1000);
    }
    T_EQ_STR(model_outcome(&m, 1.25, buf, sizeof buf),
             "3 images unchanged (MD5 matched), nothing written");
    ev = part_ev(2, PHASE_DONE, 3000, 3000, 0);
    model_apply(&m, &ev, 20, 1000);
    T_EQ_STR(model_outcome(&m, 0.44, buf, sizeof buf),
             "1 image written and verified in 0.4 s, 2 unchanged "
             "(MD5 matched)");
    for (i = 0; i < 2; i++) {
        ev = part_ev(i, PHASE_DONE, 1000, 1000, 0);
        model_apply(&m, &ev, 30, 1000);
    }
    T_EQ_STR(model_outcome(&m, 2.0, buf, sizeof buf),
             "3 images written and verified in 2.0 s");
    ev = part_ev(1, PHASE_FAILED, 10, 2000, 0);
    model_apply(&m, &ev, 40, 1000);
    T_EQ_STR(model_outcome(&m, 2.0, buf, sizeof buf), "");
    model_free(&m);
}

/* P6: a job that fails before writing leaves its images "not written". */
void test_model__connect_failure_marks_images_not_written(void)
{
    struct engine_job job;
    struct engine_event ev;
    struct model m;
    size_t i;

    T_EQ_INT(model_init(&m, MODEL_MODE_FLASH), ED_OK);
    job_with(&job, 3);
    model_set_job(&m, &job);
    ev = state_ev(STATE_CONNECTING);
    model_apply(&m, &ev, 10, 1000);
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_FINISHED;
    ev.u.finished.status = ED_ERR_TIMEOUT;
    snprintf(ev.u.finished.message, sizeof ev.u.finished.message,
             "no reply from the chip");
    model_apply(&m, &ev, 20, 1000);
    for (i = 0; i < 3; i++) {
        T_EQ_INT(m.parts[i].phase, PHASE_WAITING);
        T_EQ_STR(m.parts[i].message, "not written");
    }
    T_ASSERT(!model_busy(&m));
    model_free(&m);
}

void test_model__restart_after_failure_waits_again(void)
{
    struct model m;
    struct engine_job job;
    struct engine_event ev;
    uint64_t logged;

    model_init(&m, MODEL_MODE_FLASH);
    job_with(&job, 2);
    model_set_job(&m, &job);
    ev = part_ev(0, PHASE_FAILED, 10, 1000, 0);
    model_apply(&m, &ev, 10, 0);
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_FINISHED;
    ev.u.finished.status = ED_ERR_VERIFY;
    snprintf(ev.u.finished.message, sizeof ev.u.finished.message,
             "verify failed");
    model_apply(&m, &ev, 20, 0);
    T_ASSERT(m.finished);
    T_ASSERT(!model_busy(&m));
    logged = model_ring_end(&m.log);
    model_restart(&m);
    T_ASSERT(!m.finished);
    T_EQ_INT(m.status, ED_OK);
    T_EQ_STR(m.finish_msg, "");
    T_EQ_INT(m.parts[0].phase, PHASE_WAITING);
    T_EQ_INT(m.parts[1].phase, PHASE_WAITING);
    T_ASSERT(model_busy(&m));
    /* what the failed run logged stays */
    T_EQ_INT(model_ring_end(&m.log), logged);
    model_free(&m);
}
