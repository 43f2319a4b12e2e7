/*
 * cmd_read_flash.c - `espdeck read-flash --port URL ADDR SIZE FILE`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "cmd.h"
#include "engine.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: espdeck read-flash --port URL [--baud N] [--before MODE] "
            "[--after MODE]\n"
            "                          [--no-stub] [--json] [-v] ADDR SIZE "
            "FILE\n"
            "ADDR and SIZE: 0x1000, 4096, 64K, 4M.\n");
}

int cmd_read_flash(int argc, char **argv)
{
    struct engine_job job;
    struct batch_opts o;
    struct engine *e = NULL;
    const char *pos[3] = {NULL, NULL, NULL};
    char err[ED_ERRMSG_MAX] = "";
    int i, n = 0, rc;
    FILE *f;

    memset(&o, 0, sizeof o);
    engine_job_init(&job);
    job.op = ENGINE_OP_READ;
    for (i = 1; i < argc; i++) {
        int r;

        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        r = batch_common_option(argc, argv, &i, &job, &o, "read-flash");
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "espdeck read-flash: unknown option %s\n",
                    argv[i]);
            usage();
            return EXIT_USAGE;
        }
        if (n == 3) {
            fprintf(stderr, "espdeck read-flash: too many arguments (%s)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        pos[n++] = argv[i];
    }
    if (n != 3) {
        usage();
        return EXIT_USAGE;
    }
    if (!batch_parse_u32(pos[0], &job.read_offset)) {
        fprintf(stderr, "espdeck read-flash: ADDR '%s' is not a number\n",
                pos[0]);
        return EXIT_USAGE;
    }
    if (!batch_parse_u32(pos[1], &job.read_size) || !job.read_size) {
        fprintf(stderr, "espdeck read-flash: SIZE '%s' is not a size\n",
                pos[1]);
        return EXIT_USAGE;
    }
    if (!batch_resolve_port(&job, o.json))
        return EXIT_CONNECT;
    /* fail on an unwritable file before talking to the board */
    f = fopen(pos[2], "wb");
    if (!f) {
        batch_print_error(o.json, EXIT_USAGE, "cannot write %s: %s: check "
                          "the directory exists and is writable", pos[2],
                          strerror(errno));
        return EXIT_USAGE;
    }
    rc = engine_new(&e, &job, err, sizeof err);
    if (rc) {
        fclose(f);
        remove(pos[2]);
        batch_print_error(o.json, EXIT_USAGE, "%s", err);
        return EXIT_USAGE;
    }
    rc = batch_run(e, &o);
    /* read and checked, only stdout failed: the file is still wanted */
    if (rc == 0 || rc == BATCH_EXIT_OUTPUT) {
        const struct engine_job *j = engine_job(e);

        if (fwrite(j->read_out, 1, j->read_size, f) != j->read_size ||
            fflush(f)) {
            batch_print_error(o.json, EXIT_INTERNAL, "writing %s failed: "
                              "%s: free some space there, or read into "
                              "another directory", pos[2], strerror(errno));
            rc = EXIT_INTERNAL;
        } else if (!o.json) {
            fprintf(stderr, "espdeck: %u bytes from 0x%x written to %s\n",
                    j->read_size, j->read_offset, pos[2]);
        }
    }
    if (fclose(f) && (rc == 0 || rc == BATCH_EXIT_OUTPUT))
        rc = EXIT_INTERNAL;
    if (rc && rc != BATCH_EXIT_OUTPUT)
        remove(pos[2]);
    engine_free(e);
    return rc;
}
