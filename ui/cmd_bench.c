/*
 * cmd_bench.c - `espdeck bench PROFILE` (the production loop) and
 * `espdeck records FILE` (its records summarised or exported).
 *
 * cmd_bench parses the command line into a struct bench_conf, makes the
 * bench, then runs it headless (--batch, or stdout not a terminal: text or
 * JSON lines) or hands it to the bench screen (bench_screen_run()).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "bench_screen.h"
#include "bench.h"
#include "chip.h"
#include "cmd.h"
#include "profile.h"
#include "records.h"

/* ------------------------------------------------------------------ */
/* shared output                                                       */

static void mac_text(const uint8_t m[6], char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
             m[3], m[4], m[5]);
}

static cJSON *stats_json(const struct rec_stats *s)
{
    cJSON *o = cJSON_CreateObject(), *c;
    int i;

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "records", s->records);
    cJSON_AddNumberToObject(o, "units", s->units);
    cJSON_AddNumberToObject(o, "pass", s->pass);
    cJSON_AddNumberToObject(o, "fail", s->fail);
    cJSON_AddNumberToObject(o, "first_pass", s->first_pass);
    cJSON_AddNumberToObject(o, "first_pass_yield",
                            (double)(long long)(s->first_pass_yield * 10000 +
                                                0.5) / 10000.0);
    cJSON_AddNumberToObject(o, "units_per_hour",
                            (double)(long long)(s->units_per_hour * 10 + 0.5) /
                                10.0);
    cJSON_AddNumberToObject(o, "median_cycle_s",
                            (double)(long long)(s->median_cycle_s * 1000 +
                                                0.5) / 1000.0);
    c = cJSON_AddObjectToObject(o, "failures");
    for (i = 1; c && i < REC_CLASS_COUNT; i++)
        if (s->by_class[i])
            cJSON_AddNumberToObject(c, rec_class_name((enum rec_class)i),
                                    s->by_class[i]);
    return o;
}

static void print_stats(FILE *f, const char *indent, const struct rec_stats *s)
{
    int i, k = 0;

    fprintf(f, "%sunits %u (%u record%s): pass %u, fail %u, first-pass yield "
            "%.1f %%\n", indent, s->units, s->records,
            s->records == 1 ? "" : "s", s->pass, s->fail,
            s->first_pass_yield * 100.0);
    fprintf(f, "%s%.1f units per hour, median cycle %.1f s\n", indent,
            s->units_per_hour, s->median_cycle_s);
    for (i = 1; i < REC_CLASS_COUNT; i++) {
        if (!s->by_class[i])
            continue;
        if (k++)
            fprintf(f, ", %s %u", rec_class_name((enum rec_class)i),
                    s->by_class[i]);
        else
            fprintf(f, "%sfailures: %s %u", indent,
                    rec_class_name((enum rec_class)i), s->by_class[i]);
    }
    if (k)
        fputc('\n', f);
}

/* ------------------------------------------------------------------ */
/* espdeck bench                                                       */

struct bench_cli {
    bool batch;
    bool json;
    bool verbose;
    bool lock;              /* the screen's operator lock */
    unsigned units;
};

static void bench_usage(void)
{
    fprintf(stderr,
            "usage: espdeck bench PROFILE [--slot URL]... [--slots auto] "
            "[--trigger key|probe|port]\n"
            "                     [--records FILE] [--station NAME] "
            "[--operator NAME] [--reprogram]\n"
            "                     [--units N] [--baud N] [--no-stub] "
            "[--batch [--json]] [--lock] [-v]\n"
            "Without --batch a terminal shows the bench screen (F1 lists "
            "its keys; --lock: only start, stop and zoom).\n");
}

static int add_auto_slots(struct bench_conf *conf)
{
    struct port_info *list = NULL;
    char err[ED_ERRMSG_MAX];
    int n, i;

    n = port_list(&list, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "espdeck bench: %s\n", err);
        return -1;
    }
    for (i = 0; i < n && conf->n_slots < BENCH_MAX_SLOTS; i++) {
        struct bench_slot_conf *s;

        if (!list[i].bridge)
            continue;
        s = &conf->slots[conf->n_slots++];
        snprintf(s->name, sizeof s->name, "%zu", conf->n_slots);
        /* the hub port survives re-enumeration; the node name may not */
        if (list[i].usb_path[0])
            snprintf(s->port, sizeof s->port, "usb-path:%s",
                     list[i].usb_path);
        else
            snprintf(s->port, sizeof s->port, "%s", list[i].name);
    }
    free(list);
    return 0;
}

/* Text output of one event (stdout: verdicts and states; stderr: notes). */
static void text_event(struct bench *b, const struct bench_event *ev,
                       const struct bench_cli *o)
{
    const char *slot = ev->slot >= 0 ? bench_slot_name(b, ev->slot) : "";
    char mac[24];

    switch (ev->kind) {
    case BENCH_EV_SLOT:
        if (ev->u.slot.state == BENCH_SLOT_PASS ||
            ev->u.slot.state == BENCH_SLOT_FAIL ||
            ev->u.slot.state == BENCH_SLOT_RECORDING)
            break; /* the verdict line says it */
        printf("[%s] %s\n", slot, ev->u.slot.text);
        break;
    case BENCH_EV_UNIT:
        mac_text(ev->u.unit.mac, mac, sizeof mac);
        if (ev->u.unit.attempt > 1)
            printf("[%s] unit %s (attempt %u)\n", slot, mac,
                   ev->u.unit.attempt);
        else if (ev->u.unit.attempt == 1)
            printf("[%s] unit %s\n", slot, mac);
        break;
    case BENCH_EV_ENGINE:
        if (ev->u.engine.kind == EV_LOG &&
            (ev->u.engine.u.log.level <= ED_LOG_WARN || o->verbose))
            fprintf(stderr, "espdeck: [%s] %s\n", slot,
                    ev->u.engine.u.log.text);
        break;
    case BENCH_EV_BOOT_LINE:
        if (o->verbose)
            printf("[%s] | %s\n", slot, ev->u.line.text);
        break;
    case BENCH_EV_VERDICT:
        if (ev->u.verdict.pass)
            printf("[%s] PASS: %s\n", slot, ev->u.verdict.message);
        else
            printf("[%s] FAIL (%s): %s\n", slot,
                   rec_class_name(ev->u.verdict.cls), ev->u.verdict.message);
        break;
    case BENCH_EV_RECORDS:
        fprintf(stderr, "espdeck: %s\n", ev->u.records.message);
        break;
    case BENCH_EV_STOPPED:
        break;
    }
    fflush(stdout);
}

static void json_event(struct bench *b, const struct bench_event *ev)
{
    const char *slot = ev->slot >= 0 ? bench_slot_name(b, ev->slot) : NULL;
    cJSON *o = NULL;
    char mac[24];

    switch (ev->kind) {
    case BENCH_EV_SLOT:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "slot");
        cJSON_AddStringToObject(o, "state",
                                bench_slot_state_name(ev->u.slot.state));
        cJSON_AddStringToObject(o, "text", ev->u.slot.text);
        break;
    case BENCH_EV_UNIT:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "unit");
        mac_text(ev->u.unit.mac, mac, sizeof mac);
        cJSON_AddStringToObject(o, "mac", mac);
        cJSON_AddNumberToObject(o, "attempt", ev->u.unit.attempt);
        cJSON_AddBoolToObject(o, "programmed", ev->u.unit.attempt == 0);
        break;
    case BENCH_EV_ENGINE: {
        const struct engine_event *e = &ev->u.engine;
        const struct engine_image *im =
            e->kind == EV_PART ? bench_image(b, (size_t)e->u.part.index)
                               : NULL;

        /* the boot lines stand for the raw monitor bytes */
        if (e->kind == EV_MONITOR ||
            (e->kind == EV_LOG && e->u.log.level > ED_LOG_INFO))
            return;
        o = batch_event_json(e, im ? im->name : "", im ? im->offset : 0);
        if (o && e->kind == EV_FINISHED)
            cJSON_ReplaceItemInObject(o, "event",
                                      cJSON_CreateString("job_finished"));
        break;
    }
    case BENCH_EV_BOOT_LINE:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "boot_line");
        cJSON_AddStringToObject(o, "text", ev->u.line.text);
        break;
    case BENCH_EV_VERDICT:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "verdict");
        cJSON_AddStringToObject(o, "verdict",
                                ev->u.verdict.pass ? "PASS" : "FAIL");
        if (ev->u.verdict.pass)
            cJSON_AddNullToObject(o, "class");
        else
            cJSON_AddStringToObject(o, "class",
                                    rec_class_name(ev->u.verdict.cls));
        cJSON_AddStringToObject(o, "line", ev->u.verdict.line);
        cJSON_AddStringToObject(o, "message", ev->u.verdict.message);
        break;
    case BENCH_EV_RECORDS:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "records");
        cJSON_AddBoolToObject(o, "fatal", ev->u.records.fatal);
        cJSON_AddStringToObject(o, "message", ev->u.records.message);
        break;
    case BENCH_EV_STOPPED:
        return;
    }
    if (!o)
        return;
    if (slot)
        cJSON_AddStringToObject(o, "slot", slot);
    batch_json_print(o);
}

/* The bench screen (ui/bench_screen.c). */
static int run_screen(struct bench *b, const struct bench_conf *conf,
                      const char *path, const struct bench_cli *o)
{
    struct bench_screen_opts so;

    memset(&so, 0, sizeof so);
    so.profile_path = path;
    so.profile_name = profile_name(conf->profile);
    so.lock = o->lock;
    so.trigger = conf->trigger;
    return bench_screen_run(b, &so);
}

static int run_batch(struct bench *b, const struct bench_conf *conf,
                     const struct bench_cli *o)
{
    struct sigaction old_int, old_term;
    struct bench_counts counts;
    bool failed = false, cancelled = false, halted = false;
    unsigned sigs_seen = 0;
    int sigfd, rc, i;

    sigfd = batch_signals_begin(&old_int, &old_term);
    rc = bench_start(b);
    if (rc) {
        batch_print_error(o->json, EXIT_INTERNAL, "could not start the "
                          "bench: %s", ed_strerror(rc));
        batch_signals_end(&old_int, &old_term);
        return EXIT_INTERNAL;
    }
    if (!o->json)
        fprintf(stderr, "espdeck bench: %s, %zu slot%s (trigger %s), records "
                "%s\n", profile_name(conf->profile), bench_n_slots(b),
                bench_n_slots(b) == 1 ? "" : "s",
                bench_trigger_name(conf->trigger), bench_records_path(b));
    for (;;) {
        struct pollfd pf[2];
        struct bench_event ev;
        unsigned sigs;
        bool stopped = false;

        pf[0].fd = bench_wake_fd(b);
        pf[0].events = POLLIN;
        pf[1].fd = sigfd;
        pf[1].events = POLLIN;
        poll(pf, sigfd >= 0 ? 2 : 1, 500);
        sigs = batch_signals_count();
        if (sigs != sigs_seen) {
            /* first: no new units, the running ones finish; second:
             * cancel them (recorded as cancelled) */
            if (!o->json)
                fprintf(stderr, sigs_seen == 0
                                    ? "espdeck bench: stopping: units in "
                                      "progress finish (Ctrl-C again "
                                      "cancels them)\n"
                                    : "espdeck bench: cancelling the units "
                                      "in progress\n");
            bench_stop(b, sigs >= 2);
            sigs_seen = sigs;
        }
        while (bench_poll(b, &ev)) {
            if (o->json)
                json_event(b, &ev);
            else
                text_event(b, &ev, o);
            if (ev.kind == BENCH_EV_VERDICT && !ev.u.verdict.pass) {
                if (ev.u.verdict.cls == REC_CLASS_CANCELLED)
                    cancelled = true;
                else
                    failed = true;
            }
            if (ev.kind == BENCH_EV_RECORDS && ev.u.records.fatal)
                halted = true;
            /* headless key trigger: each slot goes on as soon as it is
             * free (there is no operator to press its key) */
            if (ev.kind == BENCH_EV_SLOT &&
                conf->trigger == BENCH_TRIGGER_KEY &&
                (ev.u.slot.state == BENCH_SLOT_WAITING ||
                 ev.u.slot.state == BENCH_SLOT_PASS ||
                 ev.u.slot.state == BENCH_SLOT_FAIL))
                bench_trigger(b, ev.slot);
            if (ev.kind == BENCH_EV_STOPPED)
                stopped = true;
        }
        if (stopped)
            break;
    }
    bench_counts(b, &counts);
    rc = halted ? EXIT_INTERNAL : failed ? EXIT_WRITE
                                   : cancelled ? EXIT_CANCELLED : 0;
    if (o->json) {
        cJSON *s = stats_json(&counts.total), *slots;

        if (s) {
            cJSON_AddStringToObject(s, "event", "summary");
            cJSON_AddStringToObject(s, "records_file",
                                    bench_records_path(b));
            slots = cJSON_AddObjectToObject(s, "slots");
            for (i = 0; slots && (size_t)i < counts.n_slots; i++)
                cJSON_AddItemToObject(slots, bench_slot_name(b, i),
                                      stats_json(&counts.slots[i]));
            cJSON_AddNumberToObject(s, "exit", rc);
            batch_json_print(s);
        }
    } else {
        printf("summary (%s):\n", bench_records_path(b));
        print_stats(stdout, "  ", &counts.total);
        fflush(stdout);
    }
    batch_signals_end(&old_int, &old_term);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_cli o;
    struct bench_conf conf;
    struct profile *p = NULL;
    struct bench *b = NULL;
    struct bench_slot_conf cli_slots[BENCH_MAX_SLOTS];
    struct bench_fixtures fx;
    size_t n_cli = 0;
    const char *path = NULL, *trigger = NULL, *records = NULL,
               *station = NULL, *oper = NULL, *v;
    bool slots_auto = false, reprogram = false, no_stub = false,
         missing = false;
    uint32_t baud = 0, units = 0;
    char err[ED_ERRMSG_MAX];
    int i, rc;

    memset(&o, 0, sizeof o);
    memset(&fx, 0, sizeof fx);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage();
            return 0;
        } else if (!strcmp(a, "--batch")) {
            o.batch = true;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = true;
        } else if (!strcmp(a, "--lock")) {
            o.lock = true;
        } else if (!strcmp(a, "--reprogram")) {
            reprogram = true;
        } else if (!strcmp(a, "--no-stub")) {
            no_stub = true;
        } else if ((v = batch_opt(argc, argv, &i, "--slot", &missing))) {
            if (n_cli == BENCH_MAX_SLOTS) {
                fprintf(stderr, "espdeck bench: at most %d slots\n",
                        BENCH_MAX_SLOTS);
                return EXIT_USAGE;
            }
            snprintf(cli_slots[n_cli].name, sizeof cli_slots[n_cli].name,
                     "%zu", n_cli + 1);
            snprintf(cli_slots[n_cli].port, sizeof cli_slots[n_cli].port,
                     "%s", v);
            n_cli++;
        } else if ((v = batch_opt(argc, argv, &i, "--slots", &missing))) {
            if (strcmp(v, "auto")) {
                fprintf(stderr, "espdeck bench: --slots takes 'auto' (every "
                        "local port with an ESP USB bridge); name single "
                        "ports with --slot URL\n");
                return EXIT_USAGE;
            }
            slots_auto = true;
        } else if ((v = batch_opt(argc, argv, &i, "--trigger", &missing))) {
            trigger = v;
        } else if ((v = batch_opt(argc, argv, &i, "--records", &missing))) {
            records = v;
        } else if ((v = batch_opt(argc, argv, &i, "--station", &missing))) {
            station = v;
        } else if ((v = batch_opt(argc, argv, &i, "--operator", &missing))) {
            oper = v;
        } else if ((v = batch_opt(argc, argv, &i, "--units", &missing))) {
            if (!batch_parse_u32(v, &units) || units == 0) {
                fprintf(stderr, "espdeck bench: --units '%s' is not a "
                        "positive number\n", v);
                return EXIT_USAGE;
            }
        } else if ((v = batch_opt(argc, argv, &i, "--baud", &missing)) ||
                   (v = batch_opt(argc, argv, &i, "-b", &missing))) {
            if (!batch_parse_u32(v, &baud) || baud < 9600) {
                fprintf(stderr, "espdeck bench: --baud '%s' is not a baud "
                        "rate (115200, 460800, 921600, ...)\n", v);
                return EXIT_USAGE;
            }
        } else if (missing) {
            fprintf(stderr, "espdeck bench: %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (a[0] == '-') {
            fprintf(stderr, "espdeck bench: unknown option '%s'\n", a);
            bench_usage();
            return EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "espdeck bench: one profile only ('%s')\n", a);
            return EXIT_USAGE;
        }
        if (missing) {
            fprintf(stderr, "espdeck bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        bench_usage();
        return EXIT_USAGE;
    }
    if (!o.batch && !isatty(STDOUT_FILENO))
        o.batch = true;
    rc = profile_load(&p, path, err, sizeof err);
    if (rc) {
        batch_print_error(o.json, EXIT_PROFILE, "%s", err);
        return EXIT_PROFILE;
    }
    bench_conf_init(&conf, p);
    if (n_cli) {
        memcpy(conf.slots, cli_slots, sizeof cli_slots);
        conf.n_slots = n_cli;
    } else if (slots_auto) {
        conf.n_slots = 0;
        if (add_auto_slots(&conf)) {
            rc = EXIT_CONNECT;
            goto out;
        }
        if (!conf.n_slots) {
            batch_print_error(o.json, EXIT_CONNECT, "--slots auto: no serial "
                              "port with an ESP USB bridge found: plug the "
                              "fixtures in, or name ports with --slot");
            rc = EXIT_CONNECT;
            goto out;
        }
    }
    if (trigger && bench_parse_trigger(trigger, &conf.trigger)) {
        fprintf(stderr, "espdeck bench: --trigger '%s': use key, probe or "
                "port\n", trigger);
        rc = EXIT_USAGE;
        goto out;
    }
    {
        /* the per-user defaults (config.yaml): records folder, baud */
        struct profile_user_config cfg;
        char def[512];

        if ((rc = batch_load_user_config(&cfg, o.json)) != 0)
            goto out;
        if (records) {
            snprintf(conf.records_path, sizeof conf.records_path, "%s",
                     records);
        } else if (!conf.records_path[0] && cfg.records[0] &&
                   records_default_path(def, sizeof def,
                                        p ? profile_name(p) : NULL) == 0 &&
                   strrchr(def, '/')) {
            snprintf(conf.records_path, sizeof conf.records_path, "%s%s",
                     cfg.records, strrchr(def, '/'));
        }
        if (!baud && cfg.baud && !(p && profile_baud_set(p)))
            baud = cfg.baud;
    }
    if (station)
        snprintf(conf.station, sizeof conf.station, "%s", station);
    if (oper)
        snprintf(conf.operator_name, sizeof conf.operator_name, "%s", oper);
    conf.reprogram = reprogram;
    conf.max_units = units;
    if (baud)
        conf.job.baud = baud;
    conf.job.no_stub = no_stub;
    if (o.verbose)
        conf.job.log_level = ED_LOG_DEBUG;
    /* sim: slots with units: simulated fixtures that outlive port opens */
    rc = bench_fixtures_start(&conf, &fx, err, sizeof err);
    if (rc == ED_OK)
        rc = bench_new(&b, &conf, err, sizeof err);
    if (rc) {
        int code = rc == ED_ERR_PROFILE ? EXIT_PROFILE
                   : rc == ED_ERR_ARG   ? EXIT_USAGE
                                        : EXIT_INTERNAL;

        batch_print_error(o.json, code, "%s", err);
        rc = code;
        goto out;
    }
    o.units = units;
    rc = o.batch ? run_batch(b, &conf, &o) : run_screen(b, &conf, path, &o);
out:
    bench_free(b);
    bench_fixtures_stop(&fx);
    profile_free(p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* espdeck records                                                     */

struct slot_tally {
    char name[32];
    struct rec_tally *t;
};

struct summary {
    struct rec_tally *total;
    struct slot_tally *slots;
    size_t n_slots;
    FILE *csv;
};

static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static const char *const csv_cols[] = {
    "id", "unit", "start", "end", "station", "operator", "slot", "port",
    "profile", "profile_sha256", "chip", "revision", "mac", "flash_id",
    "flash_size", "baud", "loader", "connect_s", "flash_s", "boot_s",
    "total_s", "retries", "images", "boot", "boot_line", "verdict", "class",
    "message", "version", NULL};

static void csv_row(FILE *f, const struct rec_unit *u)
{
    char *line = rec_to_json(u);
    cJSON *o = line ? cJSON_Parse(line) : NULL, *d;
    char num[64], images[ENGINE_MAX_IMAGES * 40] = "";
    size_t i;

    free(line);
    if (!o)
        return;
    d = cJSON_GetObjectItem(o, "durations");
    for (i = 0; i < u->n_images; i++) {
        size_t n = strlen(images);

        snprintf(images + n, sizeof images - n, "%s%s:%s", i ? " " : "",
                 u->images[i].name, rec_action_name(u->images[i].action));
    }
    for (i = 0; csv_cols[i]; i++) {
        const char *c = csv_cols[i];
        const cJSON *v = NULL;
        bool last = csv_cols[i + 1] == NULL;

        if (!strcmp(c, "profile"))
            v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "profile"),
                                    "name");
        else if (!strcmp(c, "profile_sha256"))
            v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "profile"),
                                    "sha256");
        else if (!strcmp(c, "connect_s"))
            v = cJSON_GetObjectItem(d, "connect");
        else if (!strcmp(c, "flash_s"))
            v = cJSON_GetObjectItem(d, "flash");
        else if (!strcmp(c, "boot_s"))
            v = cJSON_GetObjectItem(d, "boot");
        else if (!strcmp(c, "total_s"))
            v = cJSON_GetObjectItem(d, "total");
        else if (!strcmp(c, "boot"))
            v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "boot"),
                                    "verdict");
        else if (!strcmp(c, "boot_line"))
            v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "boot"), "line");
        else if (!strcmp(c, "images")) {
            csv_field(f, images, last);
            continue;
        } else
            v = cJSON_GetObjectItem(o, c);
        if (cJSON_IsString(v))
            csv_field(f, v->valuestring, last);
        else if (cJSON_IsNumber(v)) {
            snprintf(num, sizeof num, "%g", v->valuedouble);
            csv_field(f, num, last);
        } else
            csv_field(f, "", last);
    }
    cJSON_Delete(o);
}

static int on_record(void *ctx, const struct rec_unit *u)
{
    struct summary *s = ctx;
    size_t i;

    if (s->csv) {
        csv_row(s->csv, u);
        return 0;
    }
    rec_tally_add(s->total, u);
    for (i = 0; i < s->n_slots; i++)
        if (!strcmp(s->slots[i].name, u->slot))
            break;
    if (i == s->n_slots) {
        struct slot_tally *n =
            realloc(s->slots, (s->n_slots + 1) * sizeof *s->slots);

        if (!n)
            return 0;
        s->slots = n;
        snprintf(n[i].name, sizeof n[i].name, "%s", u->slot);
        if (rec_tally_new(&n[i].t))
            return 0;
        s->n_slots++;
    }
    rec_tally_add(s->slots[i].t, u);
    return 0;
}

int cmd_records(int argc, char **argv)
{
    const char *file = NULL;
    bool json = false, csv = false;
    struct summary s;
    struct rec_stats st;
    char err[ED_ERRMSG_MAX], path[512];
    unsigned bad = 0;
    size_t i;
    int rc;

    for (i = 1; i < (size_t)argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--csv"))
            csv = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "espdeck records: unknown option '%s'\n",
                    argv[i]);
            return EXIT_USAGE;
        } else if (!file)
            file = argv[i];
        else {
            fprintf(stderr, "espdeck records: one file only\n");
            return EXIT_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "usage: espdeck records FILE|PROFILE [--json | "
                "--csv]\n");
        return EXIT_USAGE;
    }
    /* a profile: its default records file */
    {
        size_t n = strlen(file);

        if (n > 5 && (!strcmp(file + n - 5, ".yaml") ||
                      !strcmp(file + n - 4, ".yml"))) {
            struct profile *p = NULL;

            if (profile_load(&p, file, err, sizeof err)) {
                fprintf(stderr, "espdeck records: %s\n", err);
                return EXIT_PROFILE;
            }
            if (profile_bench(p)->records[0])
                snprintf(path, sizeof path, "%s", profile_bench(p)->records);
            else if (records_default_path(path, sizeof path,
                                          profile_name(p)))
                path[0] = '\0';
            profile_free(p);
            file = path;
        }
    }
    memset(&s, 0, sizeof s);
    if (csv) {
        s.csv = stdout;
        for (i = 0; csv_cols[i]; i++)
            csv_field(stdout, csv_cols[i], csv_cols[i + 1] == NULL);
    } else if (rec_tally_new(&s.total)) {
        return EXIT_INTERNAL;
    }
    rc = records_read(file, on_record, &s, &bad, err, sizeof err);
    if (rc) {
        fprintf(stderr, "espdeck records: %s%s\n", err,
                rc == ED_ERR_NOT_FOUND ? ": no unit was recorded there yet "
                                         "(espdeck bench writes it)"
                                       : "");
        rc = rc == ED_ERR_NOT_FOUND ? EXIT_USAGE : EXIT_INTERNAL;
        goto out;
    }
    if (bad)
        fprintf(stderr, "espdeck records: %u line%s of %s %s not a record "
                "(torn by a crash?): skipped\n", bad, bad == 1 ? "" : "s",
                file, bad == 1 ? "is" : "are");
    if (csv)
        goto out;
    rec_tally_stats(s.total, &st);
    if (json) {
        cJSON *o = stats_json(&st), *slots;

        if (o) {
            cJSON_AddStringToObject(o, "file", file);
            cJSON_AddNumberToObject(o, "skipped_lines", bad);
            slots = cJSON_AddObjectToObject(o, "slots");
            for (i = 0; slots && i < s.n_slots; i++) {
                struct rec_stats ss;

                rec_tally_stats(s.slots[i].t, &ss);
                cJSON_AddItemToObject(slots, s.slots[i].name,
                                      stats_json(&ss));
            }
            batch_json_print(o);
        }
    } else {
        printf("%s\n", file);
        print_stats(stdout, "  ", &st);
        if (s.n_slots) {
            printf("  %-8s %6s %6s %6s %11s %10s\n", "slot", "units", "pass",
                   "fail", "first-pass", "cycle s");
            for (i = 0; i < s.n_slots; i++) {
                struct rec_stats ss;

                rec_tally_stats(s.slots[i].t, &ss);
                printf("  %-8s %6u %6u %6u %9.1f %% %10.1f\n",
                       s.slots[i].name, ss.units, ss.pass, ss.fail,
                       ss.first_pass_yield * 100.0, ss.median_cycle_s);
            }
        }
    }
out:
    for (i = 0; i < s.n_slots; i++)
        rec_tally_free(s.slots[i].t);
    free(s.slots);
    rec_tally_free(s.total);
    fflush(stdout);
    return rc;
}
