/*
 * cmd_console.c - `espdeck [PROFILE [--port URL]]`: the full-screen console.
 *
 * With a profile it starts flashing at once.  Without one it offers a
 * picker of profiles (./profiles and $XDG_CONFIG_HOME/espdeck/profiles),
 * then of ports (local serial ports and the built-in simulated boards),
 * pre-selecting the last choice ($XDG_STATE_HOME/espdeck/last).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "chip.h"
#include "cmd.h"
#include "console.h"
#include "port.h"
#include "profile.h"
#include "term.h"
#include "view.h"

#define MAX_ITEMS 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: espdeck                         choose a profile and a port\n"
            "       espdeck PROFILE [--port URL] [--baud N] [--force]\n"
            "               [--no-stub] [--no-monitor] [--no-compress]\n"
            "               [--before MODE] [--after MODE]\n"
            "               [--eol CR|LF|CRLF] [--elf FILE]\n"
            "Without --batch the console flashes PROFILE and then shows the\n"
            "target's output; F1 in the console lists the keys.\n");
}

/* ---- remembering the last choice ---- */

static int state_path(char *buf, size_t len, bool mkdirs)
{
    const char *xs = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[512];

    if (xs && *xs)
        snprintf(dir, sizeof dir, "%s/espdeck", xs);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/espdeck", home);
    else
        return -1;
    if (mkdirs) {
        char tmp[512];
        char *p;

        snprintf(tmp, sizeof tmp, "%s", dir);
        for (p = tmp + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(tmp, 0700);
                *p = '/';
            }
        mkdir(tmp, 0700);
    }
    snprintf(buf, len, "%s/last", dir);
    return 0;
}

static void last_load(char *profile, size_t plen, char *port, size_t portlen)
{
    char path[600], line[600];
    FILE *f;

    profile[0] = port[0] = '\0';
    if (state_path(path, sizeof path, false) || !(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "profile=", 8) &&
            (size_t)snprintf(profile, plen, "%s", line + 8) >= plen)
            profile[0] = '\0';
        else if (!strncmp(line, "port=", 5) &&
                 (size_t)snprintf(port, portlen, "%s", line + 5) >= portlen)
            port[0] = '\0';
    }
    fclose(f);
}

static void last_save(const char *profile, const char *port)
{
    char path[600];
    FILE *f;

    if (state_path(path, sizeof path, true) || !(f = fopen(path, "w")))
        return;
    fprintf(f, "profile=%s\nport=%s\n", profile, port);
    fclose(f);
}

/* ---- finding profiles ---- */

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const struct view_pick_item *)a)->label,
                  ((const struct view_pick_item *)b)->label);
}

static size_t scan_dir(const char *dir, struct view_pick_item *items,
                       size_t n, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t start = n;

    if (!d)
        return n;
    while ((de = readdir(d)) && n < cap) {
        size_t l = strlen(de->d_name);

        if (de->d_name[0] == '.' ||
            !((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
              (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
            continue;
        if ((size_t)snprintf(items[n].label, sizeof items[n].label, "%s/%s",
                             dir, de->d_name) >= sizeof items[n].label)
            continue;
        items[n].detail[0] = '\0';
        n++;
    }
    closedir(d);
    qsort(items + start, n - start, sizeof *items, cmp_items);
    return n;
}

/* Name and chip of each profile, for the detail column. */
static void describe_profiles(struct view_pick_item *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct profile *p = NULL;
        char err[ED_ERRMSG_MAX];

        if (profile_load(&p, items[i].label, err, sizeof err) == ED_OK) {
            snprintf(items[i].detail, sizeof items[i].detail,
                     "%s - %s, %zu image%s", profile_name(p),
                     profile_chip_name(p), profile_n_images(p),
                     profile_n_images(p) == 1 ? "" : "s");
            profile_free(p);
        } else {
            const char *e = strstr(err, ": ");

            if ((size_t)snprintf(items[i].detail, sizeof items[i].detail,
                                 "does not load: %s", e ? e + 2 : err) >=
                sizeof items[i].detail)
                strcpy(items[i].detail + sizeof items[i].detail - 4, "...");
        }
    }
}

static int pick_profile(char *out, size_t len, const char *last)
{
    static const char *const fallback = ".config";
    struct view_pick_item *items = calloc(MAX_ITEMS, sizeof *items);
    const char *xc = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char dir[512], note[640];
    char (*paths)[256];
    size_t n = 0, sel = 0, i;
    int r;

    if (!items)
        return -1;
    /* *.yaml here (a profile next to its build), ./profiles, the user's,
       the installed examples */
    n = scan_dir(".", items, n, MAX_ITEMS);
    n = scan_dir("profiles", items, n, MAX_ITEMS);
#ifdef ESPDECK_DATADIR
    if (access(ESPDECK_DATADIR "/profiles", R_OK) == 0 &&
        access("profiles/esp32-hello-world.yaml", F_OK) != 0)
        n = scan_dir(ESPDECK_DATADIR "/profiles", items, n, MAX_ITEMS);
#endif
    if (xc && *xc)
        snprintf(dir, sizeof dir, "%s/espdeck/profiles", xc);
    else
        snprintf(dir, sizeof dir, "%s/%s/espdeck/profiles",
                 home ? home : ".", fallback);
    n = scan_dir(dir, items, n, MAX_ITEMS);
    describe_profiles(items, n);
    paths = calloc(n ? n : 1, sizeof *paths);
    if (!paths) {
        free(items);
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t hl = home ? strlen(home) : 0;

        snprintf(paths[i], sizeof paths[i], "%s", items[i].label);
        if (!strcmp(items[i].label, last))
            sel = i;
        /* show $HOME as ~ */
        if (hl > 1 && !strncmp(paths[i], home, hl) && paths[i][hl] == '/')
            snprintf(items[i].label, sizeof items[i].label, "~%s",
                     paths[i] + hl);
    }
    if ((size_t)snprintf(note, sizeof note,
                         "no profiles in ./profiles or %s: write one "
                         "(docs/profiles.md) or run `espdeck profile import "
                         "BUILD_DIR`", dir) >= sizeof note)
        snprintf(note, sizeof note, "no profiles found: write one in "
                                    "./profiles (docs/profiles.md)");
    {
        char typed[256];

        r = view_pick_ex("choose a profile", items, n, sel, n ? NULL : note,
                         false, "a profile's path", typed, sizeof typed);
        if (r == VIEW_PICK_TYPED)
            snprintf(out, len, "%s", typed);
    }
    if (r >= 0)
        snprintf(out, len, "%s", paths[r]);
    free(paths);
    free(items);
    return r >= 0 || r == VIEW_PICK_TYPED ? 0 : -1;
}

static int pick_port(char *out, size_t len, const char *last,
                     const char *profile_port, const char *profile_chip)
{
    struct view_pick_item *items = calloc(MAX_ITEMS, sizeof *items);
    struct port_info *ports = NULL;
    char err[ED_ERRMSG_MAX], note[ED_ERRMSG_MAX + 32];
    size_t n = 0, sel = 0, i;
    int np, r, c;

    if (!items)
        return -1;
    note[0] = '\0';
    np = port_list(&ports, err, sizeof err);
    if (np < 0)
        snprintf(note, sizeof note, "serial ports not listed: %s", err);
    else if (np == 0)
        snprintf(note, sizeof note, "no serial ports found: plug in a "
                                    "board, or pick a simulated one");
    for (i = 0; np > 0 && i < (size_t)np && n < MAX_ITEMS; i++, n++) {
        snprintf(items[n].label, sizeof items[n].label, "%s", ports[i].name);
        snprintf(items[n].detail, sizeof items[n].detail, "%s%s%s%s",
                 ports[i].bridge ? ports[i].bridge : "",
                 ports[i].bridge ? " - " : "", ports[i].description,
                 ports[i].serial[0] ? " #" : "");
        if (ports[i].serial[0])
            strncat(items[n].detail, ports[i].serial,
                    sizeof items[n].detail - strlen(items[n].detail) - 1);
    }
    free(ports);
    for (c = 0; c < CHIP_COUNT && n < MAX_ITEMS; c++, n++) {
        const struct chip_desc *d = chip_get((enum chip_id)c);

        if (!d)
            continue;
        snprintf(items[n].label, sizeof items[n].label, "sim:%s", d->name);
        snprintf(items[n].detail, sizeof items[n].detail,
                 "built-in simulated %s", d->display);
    }
    /* pre-select: last choice, else the profile's port, else its chip */
    for (i = 0; i < n; i++) {
        if (profile_chip && *profile_chip &&
            !strcmp(items[i].label + (strncmp(items[i].label, "sim:", 4)
                                          ? 0 : 4), profile_chip))
            sel = i;
    }
    for (i = 0; i < n; i++)
        if (profile_port && !strcmp(items[i].label, profile_port))
            sel = i;
    for (i = 0; i < n; i++)
        if (last && *last && !strcmp(items[i].label, last))
            sel = i;
    {
        char typed[256];

        /* Esc goes back to the profiles; '/' takes a URL not listed */
        r = view_pick_ex("choose a port", items, n, sel,
                         note[0] ? note : NULL, true,
                         "a port (/dev/ttyUSB0, rfc2217://host:port)", typed,
                         sizeof typed);
        if (r == VIEW_PICK_TYPED)
            snprintf(out, len, "%s", typed);
    }
    if (r >= 0)
        snprintf(out, len, "%s", items[r].label);
    free(items);
    return r >= 0 || r == VIEW_PICK_TYPED ? 0 : r == VIEW_PICK_BACK ? -2 : -1;
}

static int run_pickers(struct console_opts *o, char *profile, size_t plen,
                       char *port, size_t portlen)
{
    char last_profile[512], last_port[256], err[256];
    char pport[256] = "", pchip[32] = "";
    struct profile *p = NULL;
    char perr[ED_ERRMSG_MAX];

    if (!term_open(err, sizeof err)) {
        fprintf(stderr, "espdeck: %s\n", err);
        return EXIT_USAGE;
    }
    last_load(last_profile, sizeof last_profile, last_port,
              sizeof last_port);
    for (;;) {
        int r;

        if (pick_profile(profile, plen, last_profile))
            goto quit;
        pport[0] = pchip[0] = '\0';
        if (profile_load(&p, profile, perr, sizeof perr) == ED_OK) {
            snprintf(pport, sizeof pport, "%s", profile_port(p));
            snprintf(pchip, sizeof pchip, "%s", profile_chip_name(p));
            profile_free(p);
        }
        if (o->port)
            break;
        if ((!pport[0] || !strcmp(pport, "auto")) && o->cfg_port)
            snprintf(pport, sizeof pport, "%s", o->cfg_port);
        r = pick_port(port, portlen,
                      !strcmp(last_profile, profile) ? last_port : "",
                      pport, pchip);
        if (r == -2) {          /* Esc: back to the profiles */
            snprintf(last_profile, sizeof last_profile, "%s", profile);
            continue;
        }
        if (r)
            goto quit;
        o->port = port;
        break;
    }
    last_save(profile, o->port);
    o->profile_path = profile;
    return EXIT_OK_;
quit:
    term_close();
    return -1;
}

int cmd_console(int argc, char **argv)
{
    static struct profile_user_config cfg;
    struct console_opts o;
    char profile[512], port[256];
    int i, r;

    memset(&o, 0, sizeof o);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if ((!strcmp(a, "--port") || !strcmp(a, "-p")) && i + 1 < argc) {
            o.port = argv[++i];
        } else if (!strncmp(a, "--port=", 7)) {
            o.port = a + 7;
        } else if ((!strcmp(a, "--baud") || !strcmp(a, "-b")) &&
                   i + 1 < argc) {
            if (batch_parse_baud("console", argv[++i], &o.baud) != 0)
                return EXIT_USAGE;
        } else if (!strcmp(a, "--force")) {
            o.force = true;
        } else if (!strcmp(a, "--no-stub")) {
            o.no_stub = true;
        } else if (!strcmp(a, "--no-monitor")) {
            o.no_monitor = true;
        } else if (!strcmp(a, "--no-compress")) {
            o.no_compress = true;
        } else if (!strcmp(a, "--before") && i + 1 < argc) {
            o.before = argv[++i];
        } else if (!strcmp(a, "--after") && i + 1 < argc) {
            o.after = argv[++i];
        } else if (!strcmp(a, "--eol") && i + 1 < argc) {
            o.eol = argv[++i];
            if (!console_eol_ok(o.eol))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--elf") && i + 1 < argc) {
            o.elf = argv[++i];
        } else if (!strcmp(a, "--monitor") && i + 1 < argc) {
            i++;    /* batch mode's monitor time; the console monitors */
        } else if (!strncmp(a, "--before=", 9)) {
            o.before = a + 9;
        } else if (!strncmp(a, "--after=", 8)) {
            o.after = a + 8;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK_;
        } else if (a[0] == '-') {
            fprintf(stderr, "espdeck: unknown option '%s' (espdeck --help "
                            "lists them)\n", a);
            return EXIT_USAGE;
        } else if (!o.profile_path) {
            o.profile_path = a;
        } else {
            fprintf(stderr, "espdeck: one profile at a time ('%s' is "
                            "extra)\n", a);
            return EXIT_USAGE;
        }
    }
    if (o.before) {
        /* a malformed mode or sequence is a usage error before the screen */
        enum port_before b;
        char seq[128], err[ED_ERRMSG_MAX];

        if (batch_parse_before(o.before, &b, seq, sizeof seq, err,
                               sizeof err) != ED_OK) {
            fprintf(stderr, "espdeck: %s\n", err);
            return EXIT_USAGE;
        }
    }
    /* like `espdeck flash PROFILE`: no terminal, so the batch output */
    if (o.profile_path && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
        return cmd_flash(argc, argv);
    /* the per-user defaults (config.yaml), read before the screen opens */
    if ((r = batch_load_user_config(&cfg, false)) != 0)
        return r;
    o.cfg_port = cfg.port[0] ? cfg.port : NULL;
    o.cfg_baud = cfg.baud;
    if (!o.profile_path) {
        r = run_pickers(&o, profile, sizeof profile, port, sizeof port);
        if (r)
            return r < 0 ? EXIT_OK_ : r;
    }
    return console_run(&o);
}
