/*
 * cmd_demo.c - `espdeck demo`: the console on the built-in simulated ESP32.
 *
 *   espdeck demo [--port URL] [--no-monitor]   generate images, then flash
 *   espdeck demo --images DIR                  only write the images
 *
 * The images (src/demoimg.c) go to build/demo/, where profiles/demo.yaml
 * expects them; run it from the source tree (make demo does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "console.h"
#include "demoimg.h"

#define DEMO_PROFILE "profiles/demo.yaml"
#define DEMO_BENCH_PROFILE "profiles/bench-demo.yaml"
#define DEMO_DIR "build/demo"

static int mkdirs(const char *dir)
{
    char tmp[512], *p;

    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return -1;
    for (p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

/* Write data to dir/name unless it already holds exactly that. */
static int write_file(const char *dir, const char *name, const uint8_t *data,
                      size_t len)
{
    char path[600], tmp[620];
    FILE *f;
    int same = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f) {
        uint8_t *old = malloc(len + 1);

        if (old && fread(old, 1, len + 1, f) == len && !memcmp(old, data, len))
            same = 1;
        free(old);
        fclose(f);
    }
    if (same)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "espdeck: cannot write %s: %s (is the directory "
                        "writable?)\n", tmp, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (fclose(f) || rename(tmp, path)) {
        fprintf(stderr, "espdeck: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* The app with the script lines of a file (--script), or the demo's. */
static int make_app(uint8_t **app, size_t *app_len, const char *script)
{
    char *lines[256], buf[1024];
    size_t n = 0, i;
    FILE *f;
    int rc;

    if (!script)
        return demoimg_app(app, app_len, CHIP_ESP32);
    f = fopen(script, "r");
    if (!f) {
        fprintf(stderr, "espdeck: cannot read %s: %s\n", script,
                strerror(errno));
        return -1;
    }
    while (n < sizeof lines / sizeof lines[0] && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        lines[n] = strdup(buf);
        if (!lines[n])
            break;
        n++;
    }
    fclose(f);
    rc = demoimg_app_script(app, app_len, CHIP_ESP32,
                            (const char *const *)lines, n);
    for (i = 0; i < n; i++)
        free(lines[i]);
    if (rc)
        fprintf(stderr, "espdeck: out of memory generating the app\n");
    return rc;
}

static int make_images(const char *dir, const char *script)
{
    uint8_t *boot = NULL, *app = NULL;
    size_t boot_len = 0, app_len = 0;
    int rc = -1;

    if (mkdirs(dir)) {
        fprintf(stderr, "espdeck: cannot create %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    if (demoimg_bootloader(&boot, &boot_len, CHIP_ESP32)) {
        fprintf(stderr, "espdeck: out of memory generating the demo images\n");
        goto out;
    }
    if (make_app(&app, &app_len, script))
        goto out;
    if (write_file(dir, "bootloader.bin", boot, boot_len) ||
        write_file(dir, DEMOIMG_PROJECT ".bin", app, app_len))
        goto out;
    rc = 0;
out:
    free(boot);
    free(app);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    struct console_opts o;
    const char *images_only = NULL, *script = NULL;
    char *bench_argv[16];
    int i, bench_argc = 0;
    bool bench = false;

    memset(&o, 0, sizeof o);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc) {
            images_only = argv[++i];
        } else if (!strcmp(argv[i], "--script") && i + 1 < argc) {
            script = argv[++i];
        } else if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) &&
                   i + 1 < argc) {
            o.port = argv[++i];
        } else if (!strcmp(argv[i], "--bench")) {
            bench = true;
        } else if (bench && (!strcmp(argv[i], "--lock") ||
                             !strcmp(argv[i], "--batch") ||
                             !strcmp(argv[i], "--json")) &&
                   bench_argc < 8) {
            bench_argv[2 + bench_argc++] = argv[i];
        } else if (bench && (!strcmp(argv[i], "--units") ||
                             !strcmp(argv[i], "--records")) &&
                   i + 1 < argc && bench_argc < 8) {
            bench_argv[2 + bench_argc++] = argv[i];
            bench_argv[2 + bench_argc++] = argv[++i];
        } else if (!strcmp(argv[i], "--no-monitor")) {
            o.no_monitor = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: espdeck demo [--port URL] [--no-monitor]\n"
                   "       espdeck demo --bench [--lock] [--units N] "
                   "[--records FILE] [--batch [--json]]\n"
                   "       espdeck demo --images DIR [--script FILE]\n"
                   "--bench: the bench screen on four simulated fixtures "
                   "cycling units\n(" DEMO_BENCH_PROFILE ", units flashed "
                   "again with --reprogram).\n"
                   "Flashes the built-in simulated ESP32 (sim:esp32) with "
                   "generated firmware\nusing " DEMO_PROFILE
                   "; run it from the espdeck source tree.\n"
                   "--script FILE: the app prints FILE's lines instead "
                   "(docs/simulator.md).\n");
            return EXIT_OK_;
        } else {
            fprintf(stderr, "espdeck: unknown demo argument '%s' (espdeck "
                            "demo --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (images_only)
        return make_images(images_only, script) ? EXIT_INTERNAL : EXIT_OK_;
    if (access(DEMO_PROFILE, R_OK)) {
        fprintf(stderr, "espdeck: %s not found: run `espdeck demo` (or make "
                        "demo) from the espdeck source tree\n", DEMO_PROFILE);
        return EXIT_USAGE;
    }
    if (make_images(DEMO_DIR, script))
        return EXIT_INTERNAL;
    if (bench) {
        /* the demo's units repeat their MACs from run to run: flash them
         * again rather than find them already programmed */
        bench_argv[0] = "bench";
        bench_argv[1] = DEMO_BENCH_PROFILE;
        bench_argv[2 + bench_argc++] = "--reprogram";
        bench_argv[2 + bench_argc] = NULL;
        return cmd_bench(2 + bench_argc, bench_argv);
    }
    o.profile_path = DEMO_PROFILE;
    return console_run(&o);
}
