/*
 * cmd_read_flash.c - `espdeck read-flash --port URL ADDR SIZE FILE`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "cmd.h"
#include "engine.h"

/* The folder part of path ("." for a bare name) into dir. */
static void folder_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/*
 * Can FILE be written (without touching it)?  false with one sentence:
 * a directory, a missing folder, no permission.
 */
static bool file_writable(const char *path, char *why, size_t len)
{
    char dir[4096];
    struct stat st;

    if (!path[0] || path[strlen(path) - 1] == '/' ||
        (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        snprintf(why, len, "cannot write %s: it is a folder: give a file "
                 "name, such as %s%sflash.bin", path, path,
                 path[0] && path[strlen(path) - 1] == '/' ? "" : "/");
        return false;
    }
    if (access(path, F_OK) == 0) {
        if (access(path, W_OK) == 0)
            return true;
        snprintf(why, len, "cannot write %s: %s: choose a file you may "
                 "write", path, strerror(errno));
        return false;
    }
    folder_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, len, "cannot write %s: the folder %.200s does not exist: "
                 "create it, or read into another folder", path, dir);
        return false;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, len, "cannot write %s: %s: choose a folder you may "
                 "write", path, strerror(errno));
        return false;
    }
    return true;
}

/* Write the data read; false with one true sentence. */
static bool write_file(const char *path, const uint8_t *data, size_t n,
                       char *why, size_t len)
{
    FILE *f = fopen(path, "wb");
    int err = 0;

    if (!f)
        err = errno;
    else if (fwrite(data, 1, n, f) != n || fflush(f))
        err = errno ? errno : EIO;
    if (f && fclose(f) && !err)
        err = errno ? errno : EIO;
    if (!err)
        return true;
    if (err == ENOSPC || err == EDQUOT)
        snprintf(why, len, "writing %s failed: %s: free some space there, "
                 "or read into another folder", path, strerror(err));
    else
        snprintf(why, len, "writing %s failed: %s: it does not take the "
                 "data; read into a regular file", path, strerror(err));
    return false;
}

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
    char err[ED_ERRMSG_MAX] = "", why[ED_ERRMSG_MAX];
    bool existed;
    int i, n = 0, rc;

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
    if ((rc = batch_user_config(&job, &o, true)) != 0)
        return rc;
    if (!batch_resolve_port(&job, o.json))
        return EXIT_CONNECT;
    /* fail on an unwritable file before talking to the board */
    if (!file_writable(pos[2], why, sizeof why)) {
        batch_print_error(o.json, EXIT_INTERNAL, "%s", why);
        return EXIT_INTERNAL;
    }
    existed = access(pos[2], F_OK) == 0;
    rc = engine_new(&e, &job, err, sizeof err);
    if (rc) {
        batch_print_error(o.json, EXIT_USAGE, "%s", err);
        return EXIT_USAGE;
    }
    rc = batch_run(e, &o);
    /* read and checked, only stdout failed: the file is still wanted */
    if (rc == 0 || rc == BATCH_EXIT_OUTPUT) {
        const struct engine_job *j = engine_job(e);

        if (!write_file(pos[2], j->read_out, j->read_size, why,
                        sizeof why)) {
            batch_print_error(o.json, EXIT_INTERNAL, "%s", why);
            rc = EXIT_INTERNAL;
            if (!existed)
                remove(pos[2]);
        } else if (!o.json) {
            fprintf(stderr, "espdeck: %u bytes from 0x%x written to %s\n",
                    j->read_size, j->read_offset, pos[2]);
        }
    }
    engine_free(e);
    return rc;
}
