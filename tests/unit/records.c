/* Unit tests: the records file and its tally (src/bench/records.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "records.h"
#include "test.h"

static void sample(struct rec_unit *u, const char *unit, bool pass,
                   int64_t start)
{
    memset(u, 0, sizeof *u);
    u->schema = REC_SCHEMA;
    snprintf(u->id, sizeof u->id, "%032x", (unsigned)start);
    snprintf(u->unit, sizeof u->unit, "%s", unit);
    u->start_ms = start;
    u->end_ms = start + 12345;
    snprintf(u->station, sizeof u->station, "line-3");
    snprintf(u->slot, sizeof u->slot, "A");
    snprintf(u->port, sizeof u->port, "sim:esp32");
    snprintf(u->profile_name, sizeof u->profile_name, "hello");
    snprintf(u->profile_sha256, sizeof u->profile_sha256, "%064d", 7);
    u->n_images = 2;
    snprintf(u->images[0].name, sizeof u->images[0].name, "bootloader");
    u->images[0].offset = 0x1000;
    u->images[0].size = 26000;
    u->images[0].action = REC_UNCHANGED;
    snprintf(u->images[1].name, sizeof u->images[1].name, "factory");
    u->images[1].offset = 0x10000;
    u->images[1].action = pass ? REC_WRITTEN : REC_FAILED;
    u->images[1].recoveries = 3;
    u->recoveries = 3;
    snprintf(u->chip, sizeof u->chip, "esp32");
    u->revision = 300;
    u->have_mac = true;
    u->mac[5] = 0x42;
    u->flash_id = 0x1640c8;
    u->baud = 921600;
    u->stub = true;
    u->t_flash = 1.25;
    snprintf(u->boot, sizeof u->boot, pass ? "pass" : "skipped");
    snprintf(u->boot_line, sizeof u->boot_line, "Hello \"world\"!");
    u->pass = pass;
    u->cls = pass ? REC_CLASS_NONE : REC_CLASS_VERIFY;
    snprintf(u->message, sizeof u->message, pass ? "ok" : "md5 differs");
    snprintf(u->version, sizeof u->version, "0.1.0");
}

void test_records__json_round_trip(void)
{
    struct rec_unit a, b;
    char *line;

    sample(&a, "240ac4000042", false, 1764939000123LL);
    a.revision = -1;
    line = rec_to_json(&a);
    T_ASSERT(line);
    T_ASSERT(strchr(line, '\n') == line + strlen(line) - 1);
    T_ASSERT(strstr(line, "\"start\":\"2025-12-05T12:50:00.123Z\""));
    T_ASSERT(strstr(line, "\"class\":\"verify\""));
    T_EQ_INT(rec_from_json(&b, line, strlen(line) - 1), ED_OK);
    free(line);
    T_EQ_INT(b.start_ms, a.start_ms);
    T_EQ_INT(b.end_ms, a.end_ms);
    T_EQ_STR(b.unit, a.unit);
    T_EQ_INT(b.n_images, 2);
    T_EQ_INT(b.images[1].offset, 0x10000);
    T_EQ_INT(b.images[1].action, REC_FAILED);
    T_EQ_INT(b.images[0].action, REC_UNCHANGED);
    T_EQ_INT(b.images[1].recoveries, 3);
    T_EQ_INT(b.images[0].recoveries, 0);
    T_EQ_INT(b.recoveries, 3);
    T_EQ_INT(b.cls, REC_CLASS_VERIFY);
    T_EQ_INT(b.revision, -1);
    T_ASSERT(b.have_mac && b.mac[5] == 0x42);
    T_EQ_STR(b.boot_line, "Hello \"world\"!");
    T_EQ_INT(b.flash_id, 0x1640c8);
    T_ASSERT(!b.pass);
    T_ASSERT(rec_from_json(&b, "{\"schema\":1", 11) != ED_OK);
    T_ASSERT(rec_from_json(&b, "{\"schema\":99,\"verdict\":\"PASS\"}", 30) !=
             ED_OK);
}

static int count_cb(void *ctx, const struct rec_unit *u)
{
    (*(unsigned *)ctx)++;
    (void)u;
    return 0;
}

void test_records__torn_last_line_is_skipped_and_reported(void)
{
    char path[600], notice[ED_ERRMSG_MAX], err[ED_ERRMSG_MAX];
    struct records *r = NULL;
    struct rec_unit u;
    unsigned n = 0, bad = 0;
    char *line;
    int fd;

    snprintf(path, sizeof path, "%s/deep/er/r.jsonl", t_tmpdir());
    T_EQ_INT(records_open(&r, path, notice, sizeof notice, err, sizeof err),
             ED_OK);
    T_EQ_STR(notice, "");
    sample(&u, "240ac4000001", true, 1000);
    T_EQ_INT(records_append(r, &u, err, sizeof err), ED_OK);
    records_close(r);
    /* a crash in the middle of the second record's write */
    sample(&u, "240ac4000002", true, 2000);
    line = rec_to_json(&u);
    T_ASSERT(line);
    fd = open(path, O_WRONLY | O_APPEND);
    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, line, strlen(line) / 2) > 0);
    close(fd);
    free(line);
    T_EQ_INT(records_read(path, count_cb, &n, &bad, err, sizeof err), ED_OK);
    T_EQ_INT(n, 1);
    T_EQ_INT(bad, 1);
    /* the restart: reported, ended, appended after it */
    T_EQ_INT(records_open(&r, path, notice, sizeof notice, err, sizeof err),
             ED_OK);
    T_ASSERT(strstr(notice, "torn"));
    T_ASSERT(!records_has_pass(r, "240ac4000002", u.profile_sha256, ""));
    T_ASSERT(records_has_pass(r, "240ac4000001", u.profile_sha256, ""));
    sample(&u, "240ac4000003", true, 3000);
    T_EQ_INT(records_append(r, &u, err, sizeof err), ED_OK);
    T_ASSERT(records_has_pass(r, "240ac4000003", u.profile_sha256, ""));
    T_ASSERT(!records_has_pass(r, "240ac4000003", u.profile_sha256, "x"));
    records_close(r);
    n = 0;
    T_EQ_INT(records_read(path, count_cb, &n, &bad, err, sizeof err), ED_OK);
    T_EQ_INT(n, 2);
    T_EQ_INT(bad, 1);
    /* opening again reports the old torn line as skipped, repairs nothing */
    T_EQ_INT(records_open(&r, path, notice, sizeof notice, err, sizeof err),
             ED_OK);
    T_ASSERT(strstr(notice, "1 line of"));
    records_close(r);
}

void test_records__unwritable_file_says_why(void)
{
    char path[600], notice[ED_ERRMSG_MAX], err[ED_ERRMSG_MAX] = "";
    struct records *r = NULL;
    struct rec_unit u;
    struct rlimit lim = {4096, 4096};

    /* a full disk: the file may not grow past 4 KiB */
    snprintf(path, sizeof path, "%s/full.jsonl", t_tmpdir());
    T_EQ_INT(records_open(&r, path, notice, sizeof notice, err, sizeof err),
             ED_OK);
    signal(SIGXFSZ, SIG_IGN);
    T_ASSERT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sample(&u, "240ac4000001", true, 1000);
    T_EQ_INT(records_append(r, &u, err, sizeof err), ED_OK);
    memset(u.message, 'x', sizeof u.message - 1);
    u.message[sizeof u.message - 1] = '\0';
    while (records_append(r, &u, err, sizeof err) == ED_OK)
        ;
    T_ASSERT(strstr(err, "no new unit starts"));
    records_close(r);
    if (geteuid() == 0)
        return; /* root may write anywhere */
    snprintf(path, sizeof path, "%s/ro", t_tmpdir());
    T_ASSERT(mkdir(path, 0555) == 0);
    snprintf(path, sizeof path, "%s/ro/r.jsonl", t_tmpdir());
    T_ASSERT(records_open(&r, path, notice, sizeof notice, err, sizeof err) ==
             ED_ERR_PERM);
    T_ASSERT(!r);
    T_ASSERT(strstr(err, "cannot write the records file"));
}

void test_records__two_writers_never_interleave(void)
{
    char path[600], notice[ED_ERRMSG_MAX], err[ED_ERRMSG_MAX];
    unsigned n = 0, bad = 0;
    pid_t pid[2];
    int k, st;

    snprintf(path, sizeof path, "%s/shared.jsonl", t_tmpdir());
    for (k = 0; k < 2; k++) {
        pid[k] = fork();
        T_ASSERT(pid[k] >= 0);
        if (pid[k] == 0) {
            struct records *r = NULL;
            struct rec_unit u;
            int i;

            if (records_open(&r, path, notice, sizeof notice, err,
                             sizeof err))
                _exit(1);
            for (i = 0; i < 100; i++) {
                char unit[16];

                snprintf(unit, sizeof unit, "%d%011d", k, i);
                sample(&u, unit, true, 1000 + i);
                /* long lines: more than one page between the writers */
                memset(u.message, 'x', sizeof u.message - 1);
                u.message[sizeof u.message - 1] = '\0';
                if (records_append(r, &u, err, sizeof err))
                    _exit(1);
            }
            records_close(r);
            _exit(0);
        }
    }
    for (k = 0; k < 2; k++) {
        T_ASSERT(waitpid(pid[k], &st, 0) == pid[k]);
        T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    T_EQ_INT(records_read(path, count_cb, &n, &bad, err, sizeof err), ED_OK);
    T_EQ_INT(n, 200);
    T_EQ_INT(bad, 0);
}

void test_records__tally(void)
{
    struct rec_tally *t = NULL;
    struct rec_stats s;
    struct rec_unit u;

    T_EQ_INT(rec_tally_new(&t), ED_OK);
    /* unit 1 fails, then passes; unit 2 passes; unit 3 fails; a no-sync
     * without MAC is a unit of its own */
    sample(&u, "000000000001", false, 0);
    rec_tally_add(t, &u);
    sample(&u, "000000000001", true, 20000);
    u.end_ms = 30000;
    rec_tally_add(t, &u);
    sample(&u, "000000000002", true, 40000);
    u.end_ms = 50000;
    rec_tally_add(t, &u);
    sample(&u, "000000000003", false, 60000);
    u.end_ms = 62000;
    u.cls = REC_CLASS_BOOT_CHECK;
    rec_tally_add(t, &u);
    sample(&u, "", false, 70000);
    u.end_ms = 72000;
    u.cls = REC_CLASS_NO_SYNC;
    rec_tally_add(t, &u);
    rec_tally_stats(t, &s);
    T_EQ_INT(s.records, 5);
    T_EQ_INT(s.units, 4);
    T_EQ_INT(s.pass, 2);
    T_EQ_INT(s.fail, 2);
    T_EQ_INT(s.first_pass, 1);
    T_EQ_INT((int)(s.first_pass_yield * 1000), 250);
    /* 4 units in 72 s */
    T_EQ_INT((int)(s.units_per_hour + 0.5), 200);
    /* cycles 12.345, 10, 10, 2, 2 -> median 10 */
    T_EQ_INT((int)(s.median_cycle_s * 1000), 10000);
    T_EQ_INT(s.by_class[REC_CLASS_VERIFY], 1);
    T_EQ_INT(s.by_class[REC_CLASS_BOOT_CHECK], 1);
    T_EQ_INT(s.by_class[REC_CLASS_NO_SYNC], 1);
    rec_tally_free(t);
}

void test_records__default_path(void)
{
    char p[512];

    setenv("XDG_DATA_HOME", "/x/data", 1);
    T_EQ_INT(records_default_path(p, sizeof p, "ESP32 hello/world"), ED_OK);
    T_EQ_STR(p, "/x/data/espdeck/records/ESP32-hello-world.jsonl");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/h", 1);
    T_EQ_INT(records_default_path(p, sizeof p, ".hidden"), ED_OK);
    T_EQ_STR(p, "/h/.local/share/espdeck/records/-hidden.jsonl");
}
