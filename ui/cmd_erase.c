/*
 * cmd_erase.c - `espdeck erase --port URL [ADDR SIZE]`.
 */
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "cmd.h"
#include "engine.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: espdeck erase --port URL [--baud N] [--before MODE] "
            "[--after MODE] [--json] [-v]\n"
            "                     [ADDR SIZE]\n"
            "Without ADDR SIZE the whole flash is erased.  Both must be "
            "multiples of 4K (0x1000).\n");
}

int cmd_erase(int argc, char **argv)
{
    struct engine_job job;
    struct batch_opts o;
    struct engine *e = NULL;
    const char *pos[2] = {NULL, NULL};
    char err[ED_ERRMSG_MAX] = "";
    int i, n = 0, rc;

    memset(&o, 0, sizeof o);
    engine_job_init(&job);
    job.op = ENGINE_OP_ERASE;
    for (i = 1; i < argc; i++) {
        int r;

        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        r = batch_common_option(argc, argv, &i, &job, &o, "erase");
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if ((argv[i][0] == '-' && argv[i][1]) || n == 2) {
            fprintf(stderr, "espdeck erase: unexpected %s\n", argv[i]);
            usage();
            return EXIT_USAGE;
        }
        pos[n++] = argv[i];
    }
    if (!strcmp(argv[0], "erase_region") && n != 2) {
        fprintf(stderr, "espdeck erase_region: give ADDR and SIZE (esptool's "
                "erase_region); erase_flash erases everything\n");
        return EXIT_USAGE;
    }
    if (!strcmp(argv[0], "erase_flash") && n != 0) {
        fprintf(stderr, "espdeck erase_flash: erases the whole flash and "
                "takes no ADDR SIZE; use erase_region ADDR SIZE\n");
        return EXIT_USAGE;
    }
    if (n == 1) {
        fprintf(stderr, "espdeck erase: give both ADDR and SIZE, or neither "
                "to erase everything\n");
        return EXIT_USAGE;
    }
    if (n == 2) {
        if (!batch_parse_u32(pos[0], &job.erase_offset) ||
            !batch_parse_u32(pos[1], &job.erase_size) || !job.erase_size) {
            fprintf(stderr, "espdeck erase: ADDR '%s' and SIZE '%s' must be "
                    "numbers (0x1000, 4096, 64K)\n", pos[0], pos[1]);
            return EXIT_USAGE;
        }
        if (job.erase_offset % 4096 || job.erase_size % 4096) {
            fprintf(stderr, "espdeck erase: ADDR and SIZE must be multiples "
                    "of 4K (0x1000): flash erases whole sectors\n");
            return EXIT_USAGE;
        }
    }
    if ((rc = batch_user_config(&job, &o, true)) != 0)
        return rc;
    if (!batch_resolve_port(&job, o.json))
        return EXIT_CONNECT;
    rc = engine_new(&e, &job, err, sizeof err);
    if (rc) {
        batch_print_error(o.json, EXIT_USAGE, "%s", err);
        return EXIT_USAGE;
    }
    rc = batch_run(e, &o);
    engine_free(e);
    return rc;
}
