/* Unit tests: board profiles (src/profile.c) on tests/fixtures/profiles. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"
#include "idfimport.h"
#include "profile.h"
#include "ptable.h"
#include "test.h"

#define FIX "tests/fixtures/profiles/"

/* Point ESPDECK_FIRMWARE at the shared firmware; false if it is absent. */
static bool have_firmware(void)
{
    char fw[600], abs[PATH_MAX];
    const char *sh = t_shared_dir();
    if (!sh)
        return false;
    /* absolute: a relative path would be taken from the profile's folder */
    snprintf(fw, sizeof fw, "%s/firmware", sh);
    if (!realpath(fw, abs))
        return false;
    setenv("ESPDECK_FIRMWARE", abs, 1);
    return true;
}

static uint8_t *fw_file(const char *rel, size_t *len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/firmware/%s", t_shared_dir(), rel);
    return t_read_file(path, len);
}

/* Write text to a file in the test's temporary directory. */
static const char *tmp_file(const char *name, const char *text, char *path,
                            size_t len)
{
    snprintf(path, len, "%s/%s", t_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/*
 * Every bad-*.yaml fixture says on its first line "# LINE:COL message";
 * profile_check must report an error there containing the message, and
 * profile_load must fail with "file:line:col: ".
 */
void test_profile__every_bad_fixture_fires(void)
{
    DIR *d = opendir(FIX);
    struct dirent *de;
    int n = 0, skipped = 0;
    bool fw = have_firmware();
    T_ASSERT(d);
    while ((de = readdir(d))) {
        char path[300], first[300], msg[300], err[ED_ERRMSG_MAX];
        int line, col;
        struct profile_report rep;
        struct profile *p;
        if (strncmp(de->d_name, "bad-", 4) != 0)
            continue;
        snprintf(path, sizeof path, FIX "%s", de->d_name);
        FILE *f = fopen(path, "r");
        T_ASSERT(f);
        T_ASSERT(fgets(first, sizeof first, f));
        bool needs_fw = false;
        char buf[400];
        while (fgets(buf, sizeof buf, f))
            needs_fw |= strstr(buf, "ESPDECK_FIRMWARE") != NULL;
        fclose(f);
        if (needs_fw && !fw) {
            skipped++;
            continue;
        }
        first[strcspn(first, "\n")] = '\0';
        T_ASSERT(sscanf(first, "# %d:%d %299[^\n]", &line, &col, msg) == 3);
        T_EQ_INT(profile_check(&p, path, &rep), ED_ERR_PROFILE);
        T_ASSERT(p == NULL);
        bool found = false;
        for (size_t i = 0; i < rep.n; i++)
            found |= rep.items[i].severity == PROFILE_ERROR &&
                     rep.items[i].line == line && rep.items[i].col == col &&
                     strstr(rep.items[i].message, msg) != NULL;
        if (!found) {
            char l[700];
            for (size_t i = 0; i < rep.n; i++)
                fprintf(stderr, "  %s\n", profile_problem_format(
                            &rep, &rep.items[i], l, sizeof l));
            t_fail(__FILE__, __LINE__, "%s: no error at %d:%d with '%s'",
                   path, line, col, msg);
            return;
        }
        profile_report_free(&rep);
        T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_ERR_PROFILE);
        T_ASSERT(p == NULL);
        snprintf(buf, sizeof buf, "%s:", path);
        T_ASSERT(strncmp(err, buf, strlen(buf)) == 0);
        n++;
    }
    closedir(d);
    T_ASSERT(n + skipped >= 17);
    if (skipped)
        T_SKIP("../shared/firmware is absent: fixtures with images skipped");
}

void test_profile__unknown_key_suggests(void)
{
    char err[ED_ERRMSG_MAX];
    struct profile *p;
    T_EQ_INT(profile_load(&p, FIX "bad-unknown-key.yaml", err, sizeof err),
             ED_ERR_PROFILE);
    T_EQ_STR(err, FIX "bad-unknown-key.yaml:3:1: unknown key "
             "'partiton_table'; did you mean "
             "'partition_table'?");
}

void test_profile__problem_format(void)
{
    struct profile_report rep;
    char line[600];
    T_EQ_INT(profile_check(NULL, FIX "bad-otadata.yaml", &rep),
             ED_ERR_PROFILE);
    T_EQ_INT(rep.n_errors, 1);
    T_CONTAINS(profile_problem_format(&rep, &rep.items[0], line, sizeof line),
               FIX "bad-otadata.yaml:5:7: error: otadata partition");
    profile_report_free(&rep);
}

void test_profile__collects_all_problems(void)
{
    char path[600];
    struct profile_report rep;
    T_ASSERT(tmp_file("many.yaml",
                      "chip: esp32x\n"
                      "flash: {mode: dia, size: 3MB}\n"
                      "baud: fast\n"
                      "partition_table:\n"
                      "  entries:\n"
                      "    - {name: a, type: data, subtype: fat, "
                      "offset: 0x9000, size: 8K}\n"
                      "    - {name: a, type: data, subtype: fat, "
                      "offset: 0x9800, size: 4K}\n",
                      path, sizeof path));
    T_EQ_INT(profile_check(NULL, path, &rep), ED_ERR_PROFILE);
    /* chip, mode, size, baud, duplicate name, alignment, overlap */
    T_EQ_INT(rep.n_errors, 7);
    T_EQ_INT(rep.items[0].line, 1);
    T_CONTAINS(rep.items[0].message, "unknown chip 'esp32x'");
    T_CONTAINS(rep.items[1].message, "unknown flash mode 'dia'");
    T_CONTAINS(rep.items[2].message, "unknown flash size '3MB'");
    T_CONTAINS(rep.items[3].message, "bad baud rate 'fast'");
    T_EQ_INT(rep.items[6].line, 7);
    T_CONTAINS(rep.items[6].message, "overlaps partition 'a'");
    profile_report_free(&rep);
}

void test_profile__good_fixtures_load(void)
{
    static const char *const good[] = {
        "good-layout.yaml", "good-csv.yaml", "good-file.yaml",
        "warn-bootloader-offset.yaml"};
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent: fixtures need its images");
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char path[300], err[ED_ERRMSG_MAX] = "";
        struct profile *p;
        snprintf(path, sizeof path, FIX "%s", good[i]);
        if (profile_load(&p, path, err, sizeof err) != ED_OK) {
            t_fail(__FILE__, __LINE__, "%s: %s", path, err);
            return;
        }
        T_ASSERT(profile_n_regions(p) > 0);
        profile_free(p);
    }
}

void test_profile__warning_does_not_fail(void)
{
    struct profile_report rep;
    struct profile *p;
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent");
    T_EQ_INT(profile_check(&p, FIX "warn-bootloader-offset.yaml", &rep),
             ED_OK);
    T_ASSERT(p);
    T_EQ_INT(rep.n_errors, 0);
    T_EQ_INT(rep.n_warnings, 1);
    T_EQ_INT(rep.items[0].severity, PROFILE_WARNING);
    T_EQ_INT(rep.items[0].line, 6);
    T_CONTAINS(rep.items[0].message, "0x1000");
    profile_free(p);
    profile_report_free(&rep);
}

void test_profile__layout_values(void)
{
    char err[ED_ERRMSG_MAX];
    struct profile *p;
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent");
    unsetenv("ESPDECK_TEST_PORT");
    T_EQ_INT(profile_load(&p, FIX "good-layout.yaml", err, sizeof err),
             ED_OK);
    T_EQ_STR(profile_name(p), "fixture board");
    T_EQ_INT(profile_chip(p), CHIP_ESP32);
    T_EQ_STR(profile_chip_name(p), "esp32");
    T_EQ_STR(profile_port(p), "sim:esp32");
    T_EQ_INT(profile_baud(p), 460800);
    T_EQ_INT(profile_monitor_baud(p), 74880);
    T_EQ_STR(profile_flash_size(p), "4MB");
    T_EQ_INT(profile_flash_bytes(p), 4 * 1024 * 1024);
    /* bootloader, table, nvs, otadata, phy_init, factory, storage */
    T_EQ_INT(profile_n_regions(p), 7);
    const struct profile_region *r = profile_region(p, 0);
    T_EQ_STR(r->name, "bootloader");
    T_EQ_INT(r->kind, PROFILE_REGION_IMAGE);
    T_EQ_INT(r->offset, 0x1000);
    r = profile_region(p, 1);
    T_EQ_INT(r->kind, PROFILE_REGION_TABLE);
    T_EQ_INT(r->offset, 0x8000);
    T_EQ_STR(r->source, "generated from the profile");
    r = profile_region(p, 2);
    T_EQ_STR(r->name, "nvs");
    T_EQ_INT(r->offset, 0x9000);    /* auto-placed */
    T_EQ_INT(r->size, 0x4000);
    T_EQ_STR(r->type, "data");
    T_EQ_STR(r->subtype, "nvs");
    r = profile_region(p, 3);
    T_EQ_STR(r->name, "otadata");
    T_EQ_INT(r->offset, 0xd000);
    r = profile_region(p, 4);
    T_EQ_STR(r->name, "phy_init");
    T_EQ_INT(r->flags, PTABLE_FLAG_READONLY);
    r = profile_region(p, 5);
    T_EQ_STR(r->name, "factory");
    T_EQ_STR(r->subtype, "factory");
    T_CONTAINS(r->source, "/Hello-world/ESP32/hello_world.bin");
    T_EQ_INT(r->image_len, 124416);
    r = profile_region(p, 6);
    T_EQ_STR(r->name, "storage");
    T_EQ_INT(r->image_len, 0);
    T_ASSERT(profile_region(p, 7) == NULL);
    T_EQ_INT(profile_n_images(p), 3);
    T_EQ_INT(profile_write_bytes(p), 24864 + 0xC00 + 124416);
    profile_free(p);
}

void test_profile__env_expansion(void)
{
    char path[600], err[ED_ERRMSG_MAX];
    struct profile *p;
    T_ASSERT(tmp_file("env.yaml",
                      "name: ${ESPDECK_T_NAME}-${ESPDECK_T_UNSET:-dflt}\n"
                      "port: ${ESPDECK_T_PORT:-sim:esp32c3}\n"
                      "chip: ${ESPDECK_T_CHIP:-esp32c3}\n",
                      path, sizeof path));
    setenv("ESPDECK_T_NAME", "bench", 1);
    unsetenv("ESPDECK_T_UNSET");
    unsetenv("ESPDECK_T_PORT");
    setenv("ESPDECK_T_CHIP", "esp32s3", 1);
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_EQ_STR(profile_name(p), "bench-dflt");
    T_EQ_STR(profile_port(p), "sim:esp32c3");
    T_EQ_INT(profile_chip(p), CHIP_ESP32S3);
    profile_free(p);
    /* an empty variable takes the default too (as the shell's :-) */
    setenv("ESPDECK_T_PORT", "", 1);
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_EQ_STR(profile_port(p), "sim:esp32c3");
    profile_free(p);
    unsetenv("ESPDECK_T_NAME");
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_ERR_PROFILE);
    T_CONTAINS(err, ":1:7: name: environment variable ESPDECK_T_NAME is "
               "not set");
}

void test_profile__csv_table_matches_real(void)
{
    char err[ED_ERRMSG_MAX];
    struct profile *p;
    struct engine_job job;
    size_t len;
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent");
    T_EQ_INT(profile_load(&p, FIX "good-csv.yaml", err, sizeof err), ED_OK);
    memset(&job, 0, sizeof job);
    T_EQ_INT(profile_to_job(p, NULL, &job, err, sizeof err), ED_OK);
    T_EQ_INT(job.n_images, 3);
    T_EQ_INT(job.images[1].offset, 0x8000);
    uint8_t *ref = fw_file("Hello-world/ESP32/partition-table.bin", &len);
    T_ASSERT(ref);
    T_EQ_INT(job.images[1].len, len);
    T_EQ_MEM(job.images[1].data, ref, len);
    free(ref);
    for (size_t i = 0; i < job.n_images; i++)
        free(job.images[i].data);
    profile_free(p);
}

void test_profile__to_job(void)
{
    char err[ED_ERRMSG_MAX];
    struct profile *p;
    struct engine_job job;
    size_t blen, alen, tlen;
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent");
    T_EQ_INT(profile_load(&p, "tests/fixtures/profiles/hw/esp32c3-hello-world.yaml", err,
                          sizeof err), ED_OK);
    memset(&job, 0, sizeof job);
    T_EQ_INT(profile_to_job(p, "sim:esp32c3", &job, err, sizeof err), ED_OK);
    T_EQ_STR(job.port, "sim:esp32c3");
    T_EQ_INT(job.baud, 921600);
    T_EQ_INT(job.monitor_baud, 115200);
    T_EQ_INT(job.before, BEFORE_DEFAULT_RESET);
    T_EQ_INT(job.after, AFTER_HARD_RESET);
    T_EQ_INT(job.expect_chip, CHIP_ESP32C3);
    T_EQ_STR(job.flash_mode, "dio");
    T_EQ_STR(job.flash_freq, "80m");
    T_EQ_STR(job.flash_size, "2MB");
    T_EQ_INT(job.n_images, 3);
    uint8_t *boot = fw_file("Hello-world/ESP32_C3/bootloader.bin", &blen);
    uint8_t *tab = fw_file("Hello-world/ESP32_C3/partition-table.bin", &tlen);
    uint8_t *app = fw_file("Hello-world/ESP32_C3/hello_world.bin", &alen);
    T_ASSERT(boot && tab && app);
    T_EQ_STR(job.images[0].name, "bootloader");
    T_EQ_INT(job.images[0].offset, 0x0);
    T_EQ_INT(job.images[0].region_size, 0);
    T_EQ_INT(job.images[0].len, blen);
    T_EQ_MEM(job.images[0].data, boot, blen);
    T_EQ_STR(job.images[1].name, "partition-table");
    T_EQ_INT(job.images[1].offset, 0x8000);
    T_EQ_INT(job.images[1].len, tlen);
    T_EQ_MEM(job.images[1].data, tab, tlen);    /* generated = ESP-IDF's */
    T_EQ_STR(job.images[2].name, "factory");
    T_EQ_INT(job.images[2].offset, 0x10000);
    T_EQ_INT(job.images[2].region_size, 0x100000);
    T_EQ_INT(job.images[2].len, alen);
    T_EQ_MEM(job.images[2].data, app, alen);
    T_CONTAINS(job.images[2].source, "hello_world.bin");
    /* the job owns copies: the profile can go first */
    profile_free(p);
    T_EQ_MEM(job.images[2].data, app, alen);
    for (size_t i = 0; i < job.n_images; i++)
        free(job.images[i].data);
    free(boot);
    free(tab);
    free(app);
}

void test_profile__port_default_and_no_override(void)
{
    char path[600], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct engine_job job;
    T_ASSERT(tmp_file("min.yaml", "chip: auto\n", path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_EQ_STR(profile_name(p), "min");
    T_EQ_STR(profile_port(p), "auto");
    T_EQ_INT(profile_chip(p), CHIP_UNKNOWN);
    memset(&job, 0, sizeof job);
    T_EQ_INT(profile_to_job(p, NULL, &job, err, sizeof err), ED_OK);
    T_EQ_STR(job.port, "auto");
    T_EQ_INT(job.n_images, 0);
    T_EQ_STR(job.flash_mode, "keep");
    profile_free(p);
}

/*
 * The shipped profiles load: the simulated ones from the shared firmware,
 * the hardware ones from an ESP-IDF build folder (idf_build): the real v4.4
 * ESP32 build; a hardware profile for another chip says, as its one error,
 * that the build is for ESP32 (it read the build's flasher_args.json).
 */
void test_profile__shipped_profiles_load(void)
{
    DIR *d = opendir("profiles");
    struct dirent *de;
    char b44[PATH_MAX], elf[PATH_MAX + 32];
    int n = 0;
    T_ASSERT(d);
    if (!have_firmware()) {
        closedir(d);
        T_SKIP("../shared/firmware is absent: shipped profiles need it");
    }
    snprintf(elf, sizeof elf, "%s/firmware/idf-build/esp32-hello-world-v4.4",
             t_shared_dir());
    if (!realpath(elf, b44)) {
        closedir(d);
        T_SKIP("the v4.4 ESP-IDF build folder is absent");
    }
    setenv("ESPDECK_IDF_BUILD", b44, 1);
    snprintf(elf, sizeof elf, "%s/hello_world.elf", b44);
    while ((de = readdir(d))) {
        char path[300], err[ED_ERRMSG_MAX];
        struct profile_report rep;
        struct profile *p;
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
            continue;
        snprintf(path, sizeof path, "profiles/%s", de->d_name);
        if (strstr(de->d_name, "-hello-world") &&
            strcmp(de->d_name, "esp32-hello-world.yaml")) {
            T_EQ_INT(profile_check(&p, path, &rep), ED_ERR_PROFILE);
            T_EQ_INT(rep.n_errors, 1);
            T_CONTAINS(rep.items[0].message, "is for ESP32, but the "
                                             "profile's chip is esp32");
            profile_report_free(&rep);
            n++;
            continue;
        }
        if (profile_load(&p, path, err, sizeof err) != ED_OK) {
            t_fail(__FILE__, __LINE__, "%s", err);
            closedir(d);
            return;
        }
        if (!strcmp(de->d_name, "esp32-hello-world.yaml")) {
            /* the build's ELF, for the monitor's panic decoding */
            T_EQ_STR(profile_elf(p), elf);
            T_EQ_INT(profile_n_images(p), 3);
        }
        profile_free(p);
        n++;
    }
    closedir(d);
    T_ASSERT(n >= 10);
}

void test_profile__missing_profile_file(void)
{
    char err[ED_ERRMSG_MAX];
    struct profile *p = (struct profile *)&err;
    T_EQ_INT(profile_load(&p, "tests/fixtures/profiles/nope.yaml", err,
                          sizeof err), ED_ERR_PROFILE);
    T_ASSERT(p == NULL);
    T_CONTAINS(err, "nope.yaml: cannot read the profile: No such file");
}

void test_profile__flow_env_hint(void)
{
    char path[600], err[ED_ERRMSG_MAX];
    struct profile *p;
    T_ASSERT(tmp_file("flow.yaml",
                      "images:\n"
                      "  - {name: b, offset: 0x1000, file: ${X:-a}/b.bin}\n",
                      path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_ERR_PROFILE);
    T_CONTAINS(err, "not valid YAML");
    T_CONTAINS(err, "in quotes");
}

void test_profile__table_file_damaged(void)
{
    char path[600], tpath[600], yaml[1200], err[ED_ERRMSG_MAX];
    struct profile *p;
    size_t len;
    if (!have_firmware())
        T_SKIP("../shared/firmware is absent");
    uint8_t *tab = fw_file("Hello-world/ESP32/partition-table.bin", &len);
    T_ASSERT(tab);
    tab[0x10] ^= 0xFF;
    snprintf(tpath, sizeof tpath, "%s/pt.bin", t_tmpdir());
    FILE *f = fopen(tpath, "wb");
    T_ASSERT(f);
    fwrite(tab, 1, len, f);
    fclose(f);
    free(tab);
    snprintf(yaml, sizeof yaml, "chip: esp32\npartition_table:\n"
             "  file: pt.bin\n");
    T_ASSERT(tmp_file("dmg.yaml", yaml, path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_ERR_PROFILE);
    T_CONTAINS(err, ":3:9: pt.bin: the partition table's MD5 row");
}

/* A tab: not libyaml's "cannot start any token", but what to do, and where. */
void test_profile__tab_says_indent_with_spaces(void)
{
    char path[600], err[ED_ERRMSG_MAX], want[700];
    struct profile *p;
    T_ASSERT(tmp_file("tab.yaml", "name: x\nflash:\n  mode: dio\n\tsize: 4MB\n",
                      path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_ERR_PROFILE);
    snprintf(want, sizeof want, "%s:4:1: tabs are not allowed in YAML: "
             "indent with spaces", path);
    T_EQ_STR(err, want);
}

/* A bad size is one error, not also "no partition 'factory'" later. */
void test_profile__bad_entry_is_the_only_error(void)
{
    char path[600];
    struct profile_report rep;
    struct profile *p;
    T_ASSERT(tmp_file("app.bin", "x", path, sizeof path));
    T_ASSERT(tmp_file("size.yaml",
                      "chip: esp32\npartition_table:\n  entries:\n"
                      "    - {name: nvs, type: data, subtype: nvs, size: 24K}\n"
                      "    - {name: factory, type: app, subtype: factory, "
                      "size: 1X}\n"
                      "images:\n  - {partition: factory, file: app.bin}\n",
                      path, sizeof path));
    T_EQ_INT(profile_check(&p, path, &rep), ED_ERR_PROFILE);
    T_EQ_INT(rep.n_errors, 1);
    T_CONTAINS(rep.items[0].message, "bad number '1X' for size");
    profile_report_free(&rep);
}

void test_profile__bench_and_accept(void)
{
    char path[600];
    struct profile *p = NULL;
    char err[ED_ERRMSG_MAX];
    const struct profile_bench *b;
    const struct profile_accept *a;

    T_ASSERT(tmp_file("bench.yaml",
                      "chip: esp32\n"
                      "bench:\n"
                      "  trigger: probe\n"
                      "  probe_interval: 250ms\n"
                      "  records: out/line3.jsonl\n"
                      "  station: line-3\n"
                      "  slots:\n"
                      "    - sim:esp32\n"
                      "    - {name: B, usb_path: 1-1.4}\n"
                      "    - {name: C, usb_serial: A50285BI}\n"
                      "accept:\n"
                      "  timeout: 2.5s\n"
                      "  expect: [\"2nd stage bootloader\", \"^Hello "
                      "world!$\"]\n"
                      "  reject: [\"E \\\\([0-9]+\\\\)\"]\n"
                      "  default_rejects: false\n",
                      path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    b = profile_bench(p);
    T_ASSERT(b->present);
    T_EQ_STR(b->trigger, "probe");
    T_EQ_INT(b->probe_ms, 250);
    T_CONTAINS(b->records, "/out/line3.jsonl");
    T_EQ_STR(b->station, "line-3");
    T_EQ_INT(b->n_slots, 3);
    T_EQ_STR(b->slots[0].name, "1");
    T_EQ_STR(b->slots[0].port, "sim:esp32");
    T_EQ_STR(b->slots[1].port, "usb-path:1-1.4");
    T_EQ_STR(b->slots[2].name, "C");
    T_EQ_STR(b->slots[2].port, "usb-serial:A50285BI");
    a = profile_accept(p);
    T_ASSERT(a->present);
    T_EQ_INT(a->timeout_ms, 2500);
    T_EQ_INT(a->n_expect, 2);
    T_EQ_STR(a->expect[1], "^Hello world!$");
    T_EQ_INT(a->n_reject, 1);
    T_EQ_STR(a->reject[0], "E \\([0-9]+\\)");
    T_ASSERT(!a->default_rejects);
    T_EQ_INT(strlen(profile_sha256(p)), 64);
    profile_free(p);
    /* without the sections: defaults, not present */
    T_ASSERT(tmp_file("plain.yaml", "chip: esp32\n", path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_ASSERT(!profile_bench(p)->present);
    T_EQ_STR(profile_bench(p)->trigger, "key");
    T_ASSERT(!profile_accept(p)->present);
    T_ASSERT(profile_accept(p)->default_rejects);
    profile_free(p);
}

/* elf: resolved against the profile's folder; unreadable is a warning */
void test_profile__elf_key(void)
{
    struct profile_report rep;
    struct profile *p = NULL;
    char path[600], elf[600], want[700];
    size_t i;
    bool warned = false;

    tmp_file("elf.yaml", "name: e\nchip: esp32\nelf: build/app.elf\n", path,
             sizeof path);
    T_EQ_INT(profile_check(&p, path, &rep), ED_OK);
    T_ASSERT(p);
    snprintf(want, sizeof want, "%s/build/app.elf", t_tmpdir());
    T_EQ_STR(profile_elf(p), want);
    for (i = 0; i < rep.n; i++)
        if (strstr(rep.items[i].message, "elf: build/app.elf cannot be read"))
            warned = rep.items[i].severity == PROFILE_WARNING;
    T_ASSERT(warned);
    profile_free(p);
    profile_report_free(&rep);
    /* no elf: key, no ELF */
    tmp_file("noelf.yaml", "name: e\nchip: esp32\n", elf, sizeof elf);
    T_EQ_INT(profile_check(&p, elf, &rep), ED_OK);
    T_EQ_STR(profile_elf(p), "");
    profile_free(p);
    profile_report_free(&rep);
}

/* profile import names the build's ELF (project_description.json) */
void test_profile__import_names_the_elf(void)
{
    char build[600], err[ED_ERRMSG_MAX], *text = NULL;

    if (!t_shared_dir())
        T_SKIP("../shared/firmware is absent");
    snprintf(build, sizeof build,
             "%s/firmware/idf-build/esp32-hello-world-v4.4", t_shared_dir());
    T_EQ_INT(idfimport_text(&text, build, build, err, sizeof err), ED_OK);
    T_CONTAINS(text, "\nelf: \"hello_world.elf\"\n");
    free(text);
}

/* baud: auto asks for the --baud auto ladder on any port; no baud: is 0,
 * the port's default (engine.h ENGINE_BAUD_DEFAULT stays in the job). */
void test_profile__baud_auto_and_none(void)
{
    char path[600], err[ED_ERRMSG_MAX];
    struct profile *p;
    struct engine_job job;

    T_ASSERT(tmp_file("auto.yaml", "chip: esp32\nbaud: auto\n", path,
                      sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_EQ_INT((int)profile_baud(p), (int)ENGINE_BAUD_AUTO);
    T_ASSERT(profile_baud_set(p));
    engine_job_init(&job);
    T_EQ_INT(profile_to_job(p, "socket://127.0.0.1:1", &job, err,
                            sizeof err), ED_OK);
    T_EQ_INT((int)job.baud, (int)ENGINE_BAUD_AUTO);
    engine_job_clear(&job);
    profile_free(p);

    T_ASSERT(tmp_file("none.yaml", "chip: esp32\n", path, sizeof path));
    T_EQ_INT(profile_load(&p, path, err, sizeof err), ED_OK);
    T_EQ_INT((int)profile_baud(p), 0);
    T_ASSERT(!profile_baud_set(p));
    engine_job_init(&job);
    T_EQ_INT(profile_to_job(p, "socket://127.0.0.1:1", &job, err,
                            sizeof err), ED_OK);
    T_EQ_INT((int)job.baud, (int)ENGINE_BAUD_DEFAULT);
    engine_job_clear(&job);
    profile_free(p);
}
