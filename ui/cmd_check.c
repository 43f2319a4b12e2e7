/*
 * cmd_check.c - `espdeck check PROFILE...`: every problem of each profile
 * as "file:line:col: error: message", or a one-line summary when it is fine.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "err.h"
#include "profile.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: espdeck check [-q] PROFILE...\n"
            "  Check board profiles without touching a board: print every\n"
            "  problem as file:line:col: error: message and exit 3 on\n"
            "  errors, else one summary line per profile.\n"
            "  -q  print problems only (no summary lines)\n");
}

static void human_bytes(uint64_t n, char *buf, size_t len)
{
    if (n >= 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
    else
        snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
}

static int check_one(const char *path, int quiet)
{
    struct profile_report rep;
    struct profile *p = NULL;
    char line[1024];
    int rc = profile_check(&p, path, &rep);

    if (rc == ED_ERR_NOMEM) {
        fprintf(stderr, "espdeck: %s: out of memory\n", path);
        profile_report_free(&rep);
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < rep.n; i++)
        fprintf(rc == ED_OK ? stdout : stderr, "%s\n",
                profile_problem_format(&rep, &rep.items[i], line,
                                       sizeof line));
    if (rc != ED_OK) {
        fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", path,
                rep.n_errors, rep.n_errors == 1 ? "" : "s", rep.n_warnings,
                rep.n_warnings == 1 ? "" : "s");
        profile_report_free(&rep);
        return EXIT_PROFILE;
    }
    if (!quiet) {
        char size[32], warn[48] = "";
        size_t n = profile_n_images(p);
        human_bytes(profile_write_bytes(p), size, sizeof size);
        if (rep.n_warnings)
            snprintf(warn, sizeof warn, " (%zu warning%s)", rep.n_warnings,
                     rep.n_warnings == 1 ? "" : "s");
        printf("%s: ok%s \u2014 %s, %zu image%s, %s to write\n", path, warn,
               profile_chip_name(p), n, n == 1 ? "" : "s", size);
    }
    profile_free(p);
    profile_report_free(&rep);
    return EXIT_OK_;
}

int cmd_check(int argc, char **argv)
{
    int quiet = 0, first = 1, worst = EXIT_OK_;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-q") == 0 ||
            strcmp(argv[first], "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(argv[first], "-h") == 0 ||
                   strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return EXIT_OK_;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else {
            fprintf(stderr, "espdeck check: unknown option '%s'\n",
                    argv[first]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = first; i < argc; i++) {
        int rc = check_one(argv[i], quiet);
        if (rc != EXIT_OK_ && (worst == EXIT_OK_ || rc == EXIT_INTERNAL))
            worst = rc;
    }
    return worst;
}
