/*
 * cmd_write_flash.c - `espdeck write-flash [options] ADDR FILE [ADDR FILE
 * ...]`: esptool's write_flash without writing a profile.
 *
 * The pairs become an ad-hoc profile (chip auto, or --chip), checked like
 * any profile (readable files, 4 KiB alignment, overlaps, an image built for
 * another chip, images past the end of flash with --flash-size), then
 * flashed like `espdeck flash --batch`: the chip is detected, unchanged
 * images are skipped (MD5), every written one is verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "cmd.h"
#include "engine.h"
#include "profile.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: espdeck write-flash [--port URL] [--baud N] [--chip CHIP]"
            " [--before MODE]\n"
            "                           [--after MODE] [--flash-mode M] "
            "[--flash-freq F]\n"
            "                           [--flash-size S] [--no-stub] "
            "[--force] [--no-compress]\n"
            "                           [--json] [--monitor SECONDS] [-v]\n"
            "                           ADDR FILE [ADDR FILE ...]\n"
            "Writes each FILE at ADDR (0x1000, 64K), skipping those the "
            "flash already holds,\nand verifies each with MD5.  esptool's "
            "spelling write_flash works too.\n");
}

/* s as a YAML double-quoted scalar appended to buf. */
static void put_quoted(char *buf, size_t len, const char *s)
{
    size_t at = strlen(buf);

    if (at + 1 < len)
        buf[at++] = '"';
    for (; *s && at + 3 < len; s++) {
        if (*s == '"' || *s == '\\')
            buf[at++] = '\\';
        buf[at++] = *s;
    }
    if (at + 1 < len)
        buf[at++] = '"';
    buf[at] = '\0';
}

/* esptool's option names: --flash_mode, --flash-mode, -fm. */
static const char *flash_opt(int argc, char **argv, int *i, const char *word,
                             const char *shortname, bool *missing)
{
    char dash[32], under[32];
    const char *v;

    snprintf(dash, sizeof dash, "--flash-%s", word);
    snprintf(under, sizeof under, "--flash_%s", word);
    if ((v = batch_opt(argc, argv, i, dash, missing)) ||
        (v = batch_opt(argc, argv, i, under, missing)) ||
        (v = batch_opt(argc, argv, i, shortname, missing)))
        return v;
    return NULL;
}

/* A profile sentence in this command's words (there is no profile file). */
static void in_cli_words(char *msg, size_t len)
{
    static const char *const words[][2] = {
        {" (a relative one starts at the profile's folder, .)", ""},
        {"the profile's chip is", "--chip is"},
        {"or change 'chip'", "or change --chip"},
    };
    size_t k;

    for (k = 0; k < sizeof words / sizeof words[0]; k++) {
        char *at = strstr(msg, words[k][0]);
        size_t from = strlen(words[k][0]), to = strlen(words[k][1]);

        if (!at || strlen(msg) - from + to >= len)
            continue;
        memmove(at + to, at + from, strlen(at + from) + 1);
        memcpy(at, words[k][1], to);
    }
}

int cmd_write_flash(int argc, char **argv)
{
    struct engine_job job;
    struct batch_opts o;
    struct profile_report rep;
    struct profile *p = NULL;
    const char *chip = "auto", *mode = "keep", *freq = "keep", *size = "keep";
    const char *pos[2 * ENGINE_MAX_IMAGES];
    char err[ED_ERRMSG_MAX] = "", *text = NULL;
    bool missing = false;
    double monitor = 0;
    size_t textlen = 16384;
    int i, n = 0, rc;

    memset(&o, 0, sizeof o);
    engine_job_init(&job);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK_;
        }
        r = batch_common_option(argc, argv, &i, &job, &o, "write-flash");
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if ((v = batch_opt(argc, argv, &i, "--chip", &missing)) ||
            (v = batch_opt(argc, argv, &i, "-c", &missing))) {
            chip = v;
        } else if ((v = flash_opt(argc, argv, &i, "mode", "-fm", &missing))) {
            mode = v;
        } else if ((v = flash_opt(argc, argv, &i, "freq", "-ff", &missing))) {
            freq = v;
        } else if ((v = flash_opt(argc, argv, &i, "size", "-fs", &missing))) {
            size = v;
        } else if ((v = batch_opt(argc, argv, &i, "--monitor", &missing))) {
            char *end;

            monitor = strtod(v, &end);
            if (*end || monitor <= 0) {
                fprintf(stderr, "espdeck write-flash: --monitor '%s' is not "
                        "a number of seconds\n", v);
                return EXIT_USAGE;
            }
        } else if (missing) {
            fprintf(stderr, "espdeck write-flash: %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--force")) {
            job.force = true;
        } else if (!strcmp(a, "--no-compress") || !strcmp(a, "-u")) {
            job.no_compress = true;
        } else if (!strcmp(a, "--compress") || !strcmp(a, "-z") ||
                   !strcmp(a, "--batch")) {
            /* esptool's default, and this command is always batch */
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "espdeck write-flash: unknown option %s\n", a);
            usage(stderr);
            return EXIT_USAGE;
        } else if (n == (int)(sizeof pos / sizeof pos[0])) {
            fprintf(stderr, "espdeck write-flash: at most %d images at once\n",
                    ENGINE_MAX_IMAGES);
            return EXIT_USAGE;
        } else {
            pos[n++] = a;
        }
        if (missing) {
            fprintf(stderr, "espdeck write-flash: %s needs a value\n", a);
            return EXIT_USAGE;
        }
    }
    if (n == 0 || n % 2) {
        if (n % 2)
            fprintf(stderr, "espdeck write-flash: '%s' has no FILE: give "
                    "ADDR FILE pairs, such as 0x10000 build/app.bin\n",
                    pos[n - 1]);
        else
            usage(stderr);
        return EXIT_USAGE;
    }
    for (i = 0; i < n; i += 2) {
        uint32_t addr;

        if (!batch_parse_u32(pos[i], &addr)) {
            fprintf(stderr, "espdeck write-flash: '%s' is not an address "
                    "(0x10000, 64K): give ADDR FILE pairs\n", pos[i]);
            return EXIT_USAGE;
        }
    }

    /* the ad-hoc profile: checked like any other */
    text = malloc(textlen);
    if (!text) {
        batch_print_error(o.json, EXIT_INTERNAL, "out of memory");
        return EXIT_INTERNAL;
    }
    snprintf(text, textlen, "name: write-flash\nchip: ");
    put_quoted(text, textlen, chip);
    snprintf(text + strlen(text), textlen - strlen(text), "\nflash: {mode: ");
    put_quoted(text, textlen, mode);
    snprintf(text + strlen(text), textlen - strlen(text), ", freq: ");
    put_quoted(text, textlen, freq);
    snprintf(text + strlen(text), textlen - strlen(text), ", size: ");
    put_quoted(text, textlen, size);
    snprintf(text + strlen(text), textlen - strlen(text), "}\nimages:\n");
    for (i = 0; i < n; i += 2) {
        const char *base = strrchr(pos[i + 1], '/');
        char name[32];

        snprintf(name, sizeof name, "%s", base ? base + 1 : pos[i + 1]);
        snprintf(text + strlen(text), textlen - strlen(text),
                 "  - {name: ");
        put_quoted(text, textlen, name);
        snprintf(text + strlen(text), textlen - strlen(text),
                 ", offset: %s, file: ", pos[i]);
        put_quoted(text, textlen, pos[i + 1]);
        snprintf(text + strlen(text), textlen - strlen(text), "}\n");
    }
    /* relative FILEs start at the current folder */
    rc = profile_check_text(&p, "./write-flash", text, &rep);
    free(text);
    if (rc != ED_OK) {
        snprintf(err, sizeof err, "out of memory");
        for (size_t k = 0; k < rep.n; k++)
            if (rep.items[k].severity == PROFILE_ERROR) {
                snprintf(err, sizeof err, "%s", rep.items[k].message);
                break;
            }
        in_cli_words(err, sizeof err);
        batch_print_error(o.json, rc == ED_ERR_NOMEM ? EXIT_INTERNAL
                                                     : EXIT_PROFILE,
                          "%s", err);
        profile_report_free(&rep);
        return rc == ED_ERR_NOMEM ? EXIT_INTERNAL : EXIT_PROFILE;
    }
    for (size_t k = 0; k < rep.n && !o.json; k++)
        fprintf(stderr, "espdeck: warning: %s\n", rep.items[k].message);
    profile_report_free(&rep);

    {
        struct engine_job cli = job;

        rc = batch_profile_job(&job, p, &cli, o.json);
        profile_free(p);
        if (rc)
            return rc;
        job.baud = cli.baud;
        job.before = cli.before;
        job.after = cli.after;
        snprintf(job.reset_seq, sizeof job.reset_seq, "%s", cli.reset_seq);
    }
    o.monitor_seconds = monitor;
    rc = batch_user_config(&job, &o, true);
    if (rc) {
        engine_job_clear(&job);
        return rc;
    }
    return batch_run_job(&job, &o);
}
