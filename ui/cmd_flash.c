/*
 * cmd_flash.c - `espdeck flash PROFILE [options] --batch [--json]`.
 *
 * Loads the profile, builds the engine job, applies the command-line
 * overrides and runs it headless (ui/batch.c).  Without --batch on a
 * terminal it starts the console instead.  docs/cli.md is the reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "batch.h"
#include "cmd.h"
#include "engine.h"
#include "profile.h"

/* --write-retries N: a count from 0 to 1000 into *out; false if not. */
static bool count_arg(int argc, char **argv, int *i, int *out)
{
    const char *name = argv[*i];
    char *end;
    long v;

    if (*i + 1 >= argc) {
        fprintf(stderr, "espdeck flash: %s needs a number\n", name);
        return false;
    }
    v = strtol(argv[++*i], &end, 10);
    if (*end || end == argv[*i] || v < 0 || v > 1000) {
        fprintf(stderr, "espdeck flash: %s '%s' is not a count from 0 to "
                "1000\n", name, argv[*i]);
        return false;
    }
    *out = (int)v;
    return true;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: espdeck flash PROFILE [--port URL] [--baud N] "
            "[--before MODE] [--after MODE]\n"
            "                     [--no-stub] [--force] [--no-compress] "
            "[--stub-dir DIR] [-v]\n"
            "                     [--write-retries N] "
            "[--write-retries-total N]\n"
            "                     --batch [--json] [--monitor SECONDS]\n"
            "Without --batch on a terminal the console opens.  docs/cli.md "
            "has the details.\n");
}

int cmd_flash(int argc, char **argv)
{
    struct engine_job job, cli;
    struct batch_opts o;
    struct accept_rules rules;
    struct profile *p = NULL;
    const char *path = NULL;
    char err[ED_ERRMSG_MAX] = "";
    bool batch = false;
    bool have_baud = false, have_before = false, have_after = false;
    double monitor = 0;
    int i, rc;

    memset(&o, 0, sizeof o);
    engine_job_init(&cli);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        enum port_before bb = cli.before;
        enum port_after aa = cli.after;
        int r;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        }
        r = batch_common_option(argc, argv, &i, &cli, &o, "flash");
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0) {
            have_before |= !strcmp(a, "--before") || cli.before != bb;
            have_after |= !strcmp(a, "--after") || cli.after != aa;
            continue;
        }
        if (!strcmp(a, "--batch")) {
            batch = true;
        } else if (!strcmp(a, "--force")) {
            cli.force = true;
        } else if (!strcmp(a, "--no-compress")) {
            cli.no_compress = true;
        } else if (!strcmp(a, "--no-monitor")) {
            /* the console's option: batch mode monitors only with --monitor */
        } else if (!strcmp(a, "--write-retries")) {
            if (!count_arg(argc, argv, &i, &cli.write_retries))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--write-retries-total")) {
            if (!count_arg(argc, argv, &i, &cli.write_retries_total))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--monitor")) {
            char *end;

            if (i + 1 >= argc) {
                fprintf(stderr, "espdeck flash: --monitor needs a number of "
                        "seconds\n");
                return EXIT_USAGE;
            }
            monitor = strtod(argv[++i], &end);
            if (*end || monitor <= 0) {
                fprintf(stderr, "espdeck flash: --monitor '%s' is not a "
                        "number of seconds\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "espdeck flash: unknown option %s\n", a);
            usage();
            return EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "espdeck flash: one profile at a time (got %s "
                    "and %s)\n", path, a);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        usage();
        return EXIT_USAGE;
    }
    if (!batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return cmd_console(argc, argv);

    rc = profile_load(&p, path, err, sizeof err);
    if (rc) {
        batch_print_error(o.json, EXIT_PROFILE, "%s", err);
        return EXIT_PROFILE;
    }
    rc = batch_profile_job(&job, p, &cli, o.json);
    if (rc) {
        profile_free(p);
        return rc;
    }
    /* the profile's boot check, with --monitor (the patterns live in p) */
    if (profile_accept(p)->present) {
        accept_rules_from_profile(&rules, profile_accept(p));
        o.accept = &rules;
    }
    have_baud = o.baud_given;   /* --baud, also when it names the default */
    if (have_baud)
        job.baud = cli.baud;
    if (have_before) {
        /* a mode name drops the profile's sequence, a sequence replaces it */
        job.before = cli.before;
        snprintf(job.reset_seq, sizeof job.reset_seq, "%s", cli.reset_seq);
    }
    if (have_after)
        job.after = cli.after;
    o.monitor_seconds = monitor;
    rc = batch_user_config(&job, &o, !profile_baud_set(p));
    if (rc) {
        engine_job_clear(&job);
        profile_free(p);
        return rc;
    }
    rc = batch_run_job(&job, &o);
    profile_free(p);
    return rc;
}
