/*
 * cmd_profile.c - `espdeck profile import|show|dump`.
 *
 *   import BUILD_DIR [-o FILE]  a profile from an ESP-IDF build directory
 *   show PROFILE                the flash map the profile describes
 *   dump PROFILE DIR            write every image of the job to DIR, one
 *                               file per image: 0xOFFSET-NAME.bin
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "engine.h"
#include "err.h"
#include "idfimport.h"
#include "profile.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: espdeck profile import BUILD_DIR [-o FILE]\n"
            "       espdeck profile show PROFILE\n"
            "       espdeck profile dump PROFILE DIR\n"
            "  import  write a profile for an ESP-IDF build directory (its\n"
            "          flasher_args.json); image paths are relative to FILE's\n"
            "          folder (on standard output: absolute)\n"
            "  show    print the flash map of a profile\n"
            "  dump    write each image the profile flashes to DIR as\n"
            "          0xOFFSET-NAME.bin (the generated partition table too)\n");
}

static int cmd_import(int argc, char **argv)
{
    const char *build = NULL, *outp = NULL;
    char err[ED_ERRMSG_MAX], dirbuf[4096];
    char *text = NULL;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "espdeck profile import: -o needs a file\n");
                return EXIT_USAGE;
            }
            outp = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "espdeck profile import: unknown option '%s'\n",
                    argv[i]);
            return EXIT_USAGE;
        } else if (!build) {
            build = argv[i];
        } else {
            fprintf(stderr, "espdeck profile import: one build directory, "
                    "please ('%s' is extra)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!build) {
        usage(stderr);
        return EXIT_USAGE;
    }
    snprintf(dirbuf, sizeof dirbuf, "%s", outp ? outp : "./-");
    const char *dir = dirname(dirbuf);
    /* standard output may be saved anywhere: absolute image paths */
    rc = idfimport_text(&text, build, outp ? dir : NULL, err, sizeof err);
    if (rc != ED_OK) {
        fprintf(stderr, "espdeck: %s\n", err);
        return rc == ED_ERR_NOMEM ? EXIT_INTERNAL : EXIT_PROFILE;
    }
    if (!outp) {
        fputs(text, stdout);
        free(text);
        return EXIT_OK_;
    }
    FILE *f = fopen(outp, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "espdeck: cannot write %s: %s\n", outp,
                strerror(errno));
        free(text);
        return EXIT_INTERNAL;
    }
    free(text);
    /* the written profile must load: say so now, not at flash time */
    struct profile *p;
    if (profile_load(&p, outp, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck: wrote %s, but it does not check: %s\n",
                outp, err);
        return EXIT_PROFILE;
    }
    printf("wrote %s \u2014 %s, %zu images\n", outp, profile_chip_name(p),
           profile_n_images(p));
    profile_free(p);
    return EXIT_OK_;
}

static int load(struct profile **p, const char *path)
{
    char err[ED_ERRMSG_MAX];
    if (profile_load(p, path, err, sizeof err) != ED_OK) {
        fprintf(stderr, "%s\n", err);
        return EXIT_PROFILE;
    }
    return EXIT_OK_;
}

static int cmd_show(int argc, char **argv)
{
    struct profile *p;
    char baud[64];
    if (argc != 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (load(&p, argv[0]) != EXIT_OK_)
        return EXIT_PROFILE;
    if (profile_baud(p) == ENGINE_BAUD_AUTO)
        snprintf(baud, sizeof baud, "baud auto");
    else if (profile_baud(p))
        snprintf(baud, sizeof baud, "%u baud", profile_baud(p));
    else
        snprintf(baud, sizeof baud, "the port's baud (auto on USB and "
                 "RFC 2217, else 921600)");
    printf("%s (%s) on %s, %s; flash %s %s %s\n", profile_name(p),
           profile_chip_name(p), profile_port(p), baud,
           profile_flash_mode(p), profile_flash_freq(p),
           profile_flash_size(p));
    printf("  %-16s %-5s %-9s %-10s %-10s %s\n", "name", "type", "subtype",
           "offset", "size", "image");
    for (size_t i = 0; i < profile_n_regions(p); i++) {
        const struct profile_region *r = profile_region(p, i);
        char src[300];
        if (r->image_len)
            snprintf(src, sizeof src, "%s (%zu bytes)", r->source,
                     r->image_len);
        else
            snprintf(src, sizeof src, "-");
        printf("  %-16s %-5s %-9s 0x%08x 0x%08x %s\n", r->name,
               r->type[0] ? r->type : "-", r->subtype[0] ? r->subtype : "-",
               r->offset, r->size ? r->size : (unsigned)r->image_len, src);
    }
    profile_free(p);
    return EXIT_OK_;
}

static int cmd_dump(int argc, char **argv)
{
    struct profile *p;
    struct engine_job job;
    char err[ED_ERRMSG_MAX];
    int rc = EXIT_OK_;

    if (argc != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (load(&p, argv[0]) != EXIT_OK_)
        return EXIT_PROFILE;
    engine_job_init(&job);
    if (profile_to_job(p, NULL, &job, err, sizeof err) != ED_OK) {
        fprintf(stderr, "espdeck: %s\n", err);
        profile_free(p);
        return EXIT_PROFILE;
    }
    if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "espdeck: cannot create %s: %s\n", argv[1],
                strerror(errno));
        rc = EXIT_INTERNAL;
    }
    for (size_t i = 0; rc == EXIT_OK_ && i < job.n_images; i++) {
        const struct engine_image *im = &job.images[i];
        char path[4200];
        snprintf(path, sizeof path, "%s/0x%x-%s.bin", argv[1], im->offset,
                 im->name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(im->data, 1, im->len, f) != im->len ||
            fclose(f) != 0) {
            fprintf(stderr, "espdeck: cannot write %s: %s\n", path,
                    strerror(errno));
            rc = EXIT_INTERNAL;
            break;
        }
        printf("%s\n", path);
    }
    engine_job_clear(&job);
    profile_free(p);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK_;
    }
    if (strcmp(argv[1], "import") == 0)
        return cmd_import(argc - 2, argv + 2);
    if (strcmp(argv[1], "show") == 0)
        return cmd_show(argc - 2, argv + 2);
    if (strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc - 2, argv + 2);
    fprintf(stderr, "espdeck profile: unknown subcommand '%s' (import, show, "
            "dump)\n", argv[1]);
    return EXIT_USAGE;
}
