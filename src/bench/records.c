/*
 * records.c - the per-unit records file (see records.h, docs/records.md).
 */
#include "records.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chip.h"
#include "clock.h"

/* ------------------------------------------------------------------ */
/* names                                                               */

static const char *const class_names[REC_CLASS_COUNT] = {
    [REC_CLASS_NONE] = "",
    [REC_CLASS_NO_PORT] = "no-port",
    [REC_CLASS_NO_SYNC] = "no-sync",
    [REC_CLASS_WRONG_CHIP] = "wrong-chip",
    [REC_CLASS_STUB] = "stub",
    [REC_CLASS_BAUD] = "baud",
    [REC_CLASS_FLASH] = "flash",
    [REC_CLASS_WRITE] = "write",
    [REC_CLASS_VERIFY] = "verify",
    [REC_CLASS_BOOT_CHECK] = "boot-check",
    [REC_CLASS_PORT_LOST] = "port-lost",
    [REC_CLASS_CANCELLED] = "cancelled",
    [REC_CLASS_INTERNAL] = "internal",
};

const char *rec_class_name(enum rec_class c)
{
    return (unsigned)c < REC_CLASS_COUNT ? class_names[c] : "internal";
}

int rec_class_parse(const char *s, enum rec_class *out)
{
    int i;

    for (i = 1; i < REC_CLASS_COUNT; i++)
        if (s && !strcmp(s, class_names[i])) {
            *out = (enum rec_class)i;
            return ED_OK;
        }
    return ED_ERR_ARG;
}

static const char *const action_names[] = {
    [REC_WRITTEN] = "written",
    [REC_UNCHANGED] = "unchanged",
    [REC_FAILED] = "failed",
    [REC_NOT_WRITTEN] = "not-written",
};

const char *rec_action_name(enum rec_action a)
{
    return (unsigned)a <= REC_NOT_WRITTEN ? action_names[a] : "failed";
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static void iso_time(char *buf, size_t len, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static bool parse_iso(const char *s, int64_t *ms)
{
    struct tm tm;
    int msec = 0, n = 0;

    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                     &n) != 6)
        return false;
    if (s[n] == '.')
        sscanf(s + n + 1, "%3d", &msec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = (int64_t)timegm(&tm) * 1000 + msec;
    return true;
}

/* Round to milliseconds so records stay short. */
static double ms3(double s)
{
    return (double)(long long)(s * 1000.0 + 0.5) / 1000.0;
}

char *rec_to_json(const struct rec_unit *u)
{
    cJSON *o = cJSON_CreateObject(), *p, *arr, *d, *b;
    char buf[64], *s = NULL, *line = NULL;
    size_t i, n;

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "schema", u->schema ? u->schema : REC_SCHEMA);
    cJSON_AddStringToObject(o, "id", u->id);
    if (u->unit[0])
        cJSON_AddStringToObject(o, "unit", u->unit);
    else
        cJSON_AddNullToObject(o, "unit");
    iso_time(buf, sizeof buf, u->start_ms);
    cJSON_AddStringToObject(o, "start", buf);
    iso_time(buf, sizeof buf, u->end_ms);
    cJSON_AddStringToObject(o, "end", buf);
    cJSON_AddStringToObject(o, "station", u->station);
    cJSON_AddStringToObject(o, "operator", u->operator_name);
    cJSON_AddStringToObject(o, "slot", u->slot);
    cJSON_AddStringToObject(o, "port", u->port);
    cJSON_AddStringToObject(o, "device", u->device);
    cJSON_AddStringToObject(o, "usb", u->usb);
    p = cJSON_AddObjectToObject(o, "profile");
    if (p) {
        cJSON_AddStringToObject(p, "name", u->profile_name);
        cJSON_AddStringToObject(p, "path", u->profile_path);
        cJSON_AddStringToObject(p, "sha256", u->profile_sha256);
        cJSON_AddStringToObject(p, "images_sha256", u->images_sha256);
    }
    arr = cJSON_AddArrayToObject(o, "images");
    for (i = 0; arr && i < u->n_images; i++) {
        const struct rec_image *im = &u->images[i];
        cJSON *e = cJSON_CreateObject();

        if (!e)
            break;
        cJSON_AddStringToObject(e, "name", im->name);
        snprintf(buf, sizeof buf, "0x%x", im->offset);
        cJSON_AddStringToObject(e, "offset", buf);
        cJSON_AddNumberToObject(e, "size", im->size);
        cJSON_AddStringToObject(e, "sha256", im->sha256);
        cJSON_AddStringToObject(e, "action", rec_action_name(im->action));
        cJSON_AddNumberToObject(e, "recoveries", im->recoveries);
        cJSON_AddNumberToObject(e, "resent", im->resent);
        cJSON_AddItemToArray(arr, e);
    }
    if (u->chip[0])
        cJSON_AddStringToObject(o, "chip", u->chip);
    else
        cJSON_AddNullToObject(o, "chip");
    cJSON_AddStringToObject(o, "chip_description", u->chip_display);
    if (u->revision >= 0) {
        snprintf(buf, sizeof buf, "v%d.%d", u->revision / 100,
                 u->revision % 100);
        cJSON_AddStringToObject(o, "revision", buf);
    } else {
        cJSON_AddNullToObject(o, "revision");
    }
    if (u->have_mac) {
        snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", u->mac[0],
                 u->mac[1], u->mac[2], u->mac[3], u->mac[4], u->mac[5]);
        cJSON_AddStringToObject(o, "mac", buf);
    } else {
        cJSON_AddNullToObject(o, "mac");
    }
    if (u->flash_id) {
        snprintf(buf, sizeof buf, "0x%06x", u->flash_id);
        cJSON_AddStringToObject(o, "flash_id", buf);
    } else {
        cJSON_AddNullToObject(o, "flash_id");
    }
    cJSON_AddNumberToObject(o, "flash_size", u->flash_size);
    cJSON_AddNumberToObject(o, "crystal_mhz", u->crystal_mhz);
    cJSON_AddNumberToObject(o, "baud", u->baud);
    cJSON_AddStringToObject(o, "loader", u->stub ? "stub" : "rom");
    d = cJSON_AddObjectToObject(o, "durations");
    if (d) {
        cJSON_AddNumberToObject(d, "connect", ms3(u->t_connect));
        cJSON_AddNumberToObject(d, "flash", ms3(u->t_flash));
        cJSON_AddNumberToObject(d, "boot", ms3(u->t_boot));
        cJSON_AddNumberToObject(d, "total", ms3(u->t_total));
    }
    cJSON_AddNumberToObject(o, "retries", u->retries);
    cJSON_AddNumberToObject(o, "recoveries", u->recoveries);
    cJSON_AddNumberToObject(o, "resent", u->resent);
    b = cJSON_AddObjectToObject(o, "boot");
    if (b) {
        cJSON_AddStringToObject(b, "verdict", u->boot[0] ? u->boot
                                                         : "skipped");
        cJSON_AddStringToObject(b, "line", u->boot_line);
    }
    cJSON_AddStringToObject(o, "verdict", u->pass ? "PASS" : "FAIL");
    if (u->pass)
        cJSON_AddNullToObject(o, "class");
    else
        cJSON_AddStringToObject(o, "class", rec_class_name(u->cls));
    cJSON_AddStringToObject(o, "message", u->message);
    cJSON_AddStringToObject(o, "version", u->version);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return NULL;
    n = strlen(s);
    line = malloc(n + 2);
    if (line) {
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = '\0';
    }
    cJSON_free(s);
    return line;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

int rec_from_json(struct rec_unit *u, const char *line, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(line, len), *arr, *e;
    const cJSON *p, *d, *b;
    const char *v;
    int major, minor;
    unsigned m[6];

    memset(u, 0, sizeof *u);
    if (!cJSON_IsObject(o) || jnum(o, "schema") < 1 ||
        jnum(o, "schema") > REC_SCHEMA ||
        (strcmp(jstr(o, "verdict"), "PASS") &&
         strcmp(jstr(o, "verdict"), "FAIL")) ||
        !parse_iso(jstr(o, "start"), &u->start_ms) ||
        !parse_iso(jstr(o, "end"), &u->end_ms)) {
        cJSON_Delete(o);
        return ED_ERR_PROTO;
    }
    u->schema = (int)jnum(o, "schema");
    COPY(u->id, jstr(o, "id"));
    COPY(u->unit, jstr(o, "unit"));
    COPY(u->station, jstr(o, "station"));
    COPY(u->operator_name, jstr(o, "operator"));
    COPY(u->slot, jstr(o, "slot"));
    COPY(u->port, jstr(o, "port"));
    COPY(u->device, jstr(o, "device"));
    COPY(u->usb, jstr(o, "usb"));
    p = cJSON_GetObjectItemCaseSensitive(o, "profile");
    COPY(u->profile_name, jstr(p, "name"));
    COPY(u->profile_path, jstr(p, "path"));
    COPY(u->profile_sha256, jstr(p, "sha256"));
    COPY(u->images_sha256, jstr(p, "images_sha256"));
    arr = cJSON_GetObjectItemCaseSensitive(o, "images");
    cJSON_ArrayForEach(e, arr)
    {
        struct rec_image *im;
        enum rec_action a;

        if (u->n_images == ENGINE_MAX_IMAGES)
            break;
        im = &u->images[u->n_images++];
        COPY(im->name, jstr(e, "name"));
        im->offset = (uint32_t)strtoul(jstr(e, "offset"), NULL, 0);
        im->size = (uint32_t)jnum(e, "size");
        COPY(im->sha256, jstr(e, "sha256"));
        v = jstr(e, "action");
        for (a = REC_WRITTEN; a < REC_NOT_WRITTEN; a++)
            if (!strcmp(v, action_names[a]))
                break;
        im->action = a;
        im->recoveries = (unsigned)jnum(e, "recoveries");
        im->resent = (unsigned)jnum(e, "resent");
    }
    COPY(u->chip, jstr(o, "chip"));
    COPY(u->chip_display, jstr(o, "chip_description"));
    u->revision = sscanf(jstr(o, "revision"), "v%d.%d", &major, &minor) == 2
                      ? major * 100 + minor
                      : -1;
    if (sscanf(jstr(o, "mac"), "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1],
               &m[2], &m[3], &m[4], &m[5]) == 6) {
        int i;

        for (i = 0; i < 6; i++)
            u->mac[i] = (uint8_t)m[i];
        u->have_mac = true;
    }
    u->flash_id = (uint32_t)strtoul(jstr(o, "flash_id"), NULL, 0);
    u->flash_size = (uint32_t)jnum(o, "flash_size");
    u->crystal_mhz = (int)jnum(o, "crystal_mhz");
    u->baud = (uint32_t)jnum(o, "baud");
    u->stub = !strcmp(jstr(o, "loader"), "stub");
    d = cJSON_GetObjectItemCaseSensitive(o, "durations");
    u->t_connect = jnum(d, "connect");
    u->t_flash = jnum(d, "flash");
    u->t_boot = jnum(d, "boot");
    u->t_total = jnum(d, "total");
    u->retries = (unsigned)jnum(o, "retries");
    u->recoveries = (unsigned)jnum(o, "recoveries");
    u->resent = (unsigned)jnum(o, "resent");
    b = cJSON_GetObjectItemCaseSensitive(o, "boot");
    COPY(u->boot, jstr(b, "verdict"));
    COPY(u->boot_line, jstr(b, "line"));
    u->pass = !strcmp(jstr(o, "verdict"), "PASS");
    u->cls = REC_CLASS_NONE;
    if (!u->pass && rec_class_parse(jstr(o, "class"), &u->cls))
        u->cls = REC_CLASS_INTERNAL;
    COPY(u->message, jstr(o, "message"));
    COPY(u->version, jstr(o, "version"));
    cJSON_Delete(o);
    return ED_OK;
}

/* ------------------------------------------------------------------ */
/* the file                                                            */

int records_default_path(char *out, size_t len, const char *profile_name)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char name[128];
    size_t i;

    snprintf(name, sizeof name, "%s", profile_name && *profile_name
                                          ? profile_name
                                          : "espdeck");
    for (i = 0; name[i]; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            name[i] = '-';
    }
    if (name[0] == '.')
        name[0] = '-';
    if (xdg && xdg[0] == '/')
        snprintf(out, len, "%s/espdeck/records/%s.jsonl", xdg, name);
    else if (home && *home)
        snprintf(out, len, "%s/.local/share/espdeck/records/%s.jsonl", home,
                 name);
    else
        return ED_ERR_NOT_FOUND;
    return ED_OK;
}

struct pass_key {
    char unit[16];
    char sha[65];
    char images[65];
};

struct records {
    char path[512];
    int fd;                 /* O_WRONLY | O_APPEND */
    off_t scanned;          /* complete lines read up to here */
    struct pass_key *pass;
    size_t n_pass, cap_pass;
    unsigned valid, bad;
};

static int mkdirs(const char *path, char *err, size_t errlen)
{
    char dir[512], *s;

    snprintf(dir, sizeof dir, "%s", path);
    s = strrchr(dir, '/');
    if (!s || s == dir)
        return ED_OK;
    *s = '\0';
    for (s = dir + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(dir, 0755) && errno != EEXIST)
            goto fail;
        *s = '/';
    }
    if (mkdir(dir, 0755) && errno != EEXIST)
        goto fail;
    return ED_OK;
fail:
    return ed_seterr(err, errlen, errno == EACCES ? ED_ERR_PERM : ED_ERR_IO,
                     "cannot create the records folder %s (%s): give "
                     "--records FILE in a folder you can write",
                     dir, strerror(errno));
}

static void note_pass(struct records *r, const struct rec_unit *u)
{
    size_t i;

    if (!u->pass || !u->unit[0])
        return;
    for (i = 0; i < r->n_pass; i++)
        if (!strcmp(r->pass[i].unit, u->unit) &&
            !strcmp(r->pass[i].sha, u->profile_sha256) &&
            !strcmp(r->pass[i].images, u->images_sha256))
            return;
    if (r->n_pass == r->cap_pass) {
        size_t cap = r->cap_pass ? r->cap_pass * 2 : 64;
        struct pass_key *p = realloc(r->pass, cap * sizeof *p);

        if (!p)
            return;
        r->pass = p;
        r->cap_pass = cap;
    }
    COPY(r->pass[r->n_pass].unit, u->unit);
    COPY(r->pass[r->n_pass].sha, u->profile_sha256);
    COPY(r->pass[r->n_pass].images, u->images_sha256);
    r->n_pass++;
}

/*
 * Read complete lines of fd from *off on; call fn for each.  *off ends at
 * the first byte after the last newline; *torn is set when bytes follow it.
 */
static int scan_lines(int fd, off_t *off, bool *torn,
                      void (*fn)(void *ctx, const char *line, size_t len),
                      void *ctx)
{
    char *buf = NULL;
    size_t cap = 0, have = 0;
    off_t pos = *off;
    ssize_t n;

    *torn = false;
    for (;;) {
        size_t start = 0, i;

        if (have == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);

            if (!nb) {
                free(buf);
                return ED_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        n = pread(fd, buf + have, cap - have, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return ED_ERR_IO;
        }
        if (n == 0)
            break;
        pos += n;
        have += (size_t)n;
        for (i = 0; i < have; i++)
            if (buf[i] == '\n') {
                if (i > start)
                    fn(ctx, buf + start, i - start);
                start = i + 1;
            }
        *off += (off_t)start;
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    *torn = have > 0;
    free(buf);
    return ED_OK;
}

static void on_scanned(void *ctx, const char *line, size_t len)
{
    struct records *r = ctx;
    struct rec_unit *u = malloc(sizeof *u);

    if (!u)
        return;
    if (rec_from_json(u, line, len) == ED_OK) {
        r->valid++;
        note_pass(r, u);
    } else {
        r->bad++;
    }
    free(u);
}

static int scan(struct records *r, bool *torn)
{
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return ED_ERR_IO;
    rc = scan_lines(fd, &r->scanned, torn, on_scanned, r);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *s, size_t n)
{
    ssize_t w;

    do
        w = write(fd, s, n);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    if ((size_t)w != n) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

int records_open(struct records **out, const char *path, char *notice,
                 size_t noticelen, char *err, size_t errlen)
{
    struct records *r;
    bool torn = false;
    unsigned bad_before;
    int rc;

    *out = NULL;
    if (notice && noticelen)
        notice[0] = '\0';
    if (!path || !*path)
        return ed_seterr(err, errlen, ED_ERR_ARG, "no records file given");
    if (strlen(path) >= sizeof r->path)
        return ed_seterr(err, errlen, ED_ERR_ARG,
                         "the records path is too long: %s", path);
    if ((rc = mkdirs(path, err, errlen)))
        return rc;
    r = calloc(1, sizeof *r);
    if (!r)
        return ED_ERR_NOMEM;
    COPY(r->path, path);
    r->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (r->fd < 0) {
        int e = errno;

        rc = ed_seterr(err, errlen, e == EACCES ? ED_ERR_PERM : ED_ERR_IO,
                       "cannot write the records file %s (%s): no unit is "
                       "programmed without a record; fix its permissions or "
                       "give --records FILE",
                       path, strerror(e));
        free(r);
        return rc;
    }
    rc = scan(r, &torn);
    if (rc == ED_OK && torn) {
        /* Another writer may be in the middle of its one write(): look
         * again after a moment before calling the tail torn. */
        clock_sleep_ms(100);
        rc = scan(r, &torn);
    }
    if (rc) {
        rc = ed_seterr(err, errlen, rc, "cannot read the records file %s "
                       "(%s)", path, strerror(errno));
        records_close(r);
        return rc;
    }
    bad_before = r->bad;
    if (torn) {
        struct stat st;
        long long tail = 0;

        if (fstat(r->fd, &st) == 0)
            tail = (long long)(st.st_size - r->scanned);
        (void)bad_before;
        if (write_all(r->fd, "\n", 1) || fsync(r->fd)) {
            rc = ed_seterr(err, errlen, ED_ERR_IO,
                           "cannot write the records file %s (%s): no unit "
                           "is programmed without a record; free space or "
                           "give --records FILE", path, strerror(errno));
            records_close(r);
            return rc;
        }
        scan(r, &torn); /* the torn line, now ended: counted as bad */
        if (notice)
            snprintf(notice, noticelen, "the last line of %s was torn (%lld "
                     "bytes without an end, left by a crash): it is skipped "
                     "and not counted", path, tail);
    } else if (bad_before && notice) {
        snprintf(notice, noticelen, "%u line%s of %s %s not a record (torn "
                 "by a crash?): skipped and not counted", bad_before,
                 bad_before == 1 ? "" : "s", path,
                 bad_before == 1 ? "is" : "are");
    }
    *out = r;
    return ED_OK;
}

int records_append(struct records *r, const struct rec_unit *u, char *err,
                   size_t errlen)
{
    char *line = rec_to_json(u);
    int rc = ED_OK;

    if (!line)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory writing "
                         "a record");
    /* one write(): O_APPEND puts the whole line at the end at once */
    if (write_all(r->fd, line, strlen(line)) || fsync(r->fd))
        rc = ed_seterr(err, errlen, ED_ERR_IO,
                       "cannot write the records file %s (%s): no new unit "
                       "starts until it can be written; free space or fix "
                       "its permissions, then restart",
                       r->path, strerror(errno));
    else
        note_pass(r, u);
    free(line);
    return rc;
}

bool records_has_pass(struct records *r, const char *unit,
                      const char *profile_sha256, const char *images_sha256)
{
    bool torn;
    size_t i;

    if (!r || !unit || !*unit)
        return false;
    scan(r, &torn); /* what other benches appended meanwhile */
    for (i = 0; i < r->n_pass; i++)
        if (!strcmp(r->pass[i].unit, unit) &&
            !strcmp(r->pass[i].sha, profile_sha256) &&
            !strcmp(r->pass[i].images, images_sha256))
            return true;
    return false;
}

const char *records_path(const struct records *r)
{
    return r ? r->path : "";
}

void records_close(struct records *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->pass);
    free(r);
}

struct read_ctx {
    int (*fn)(void *ctx, const struct rec_unit *u);
    void *ctx;
    unsigned bad;
    bool stop;
};

static void on_read(void *ctx, const char *line, size_t len)
{
    struct read_ctx *c = ctx;
    struct rec_unit *u;

    if (c->stop)
        return;
    u = malloc(sizeof *u);
    if (!u)
        return;
    if (rec_from_json(u, line, len) == ED_OK)
        c->stop = c->fn(c->ctx, u) != 0;
    else
        c->bad++;
    free(u);
}

int records_read(const char *path,
                 int (*fn)(void *ctx, const struct rec_unit *u), void *ctx,
                 unsigned *bad, char *err, size_t errlen)
{
    struct read_ctx c = {fn, ctx, 0, false};
    off_t off = 0;
    bool torn = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (bad)
        *bad = 0;
    if (fd < 0)
        return ed_seterr(err, errlen,
                         errno == ENOENT ? ED_ERR_NOT_FOUND : ED_ERR_IO,
                         "cannot read %s (%s)", path, strerror(errno));
    rc = scan_lines(fd, &off, &torn, on_read, &c);
    close(fd);
    if (rc)
        return ed_seterr(err, errlen, rc, "cannot read %s (%s)", path,
                         strerror(errno));
    if (bad)
        *bad = c.bad + (torn ? 1 : 0);
    return ED_OK;
}

/* ------------------------------------------------------------------ */
/* tally                                                               */

struct tally_unit {
    char unit[16];
    bool first_pass;
    bool last_pass;
};

struct rec_tally {
    struct tally_unit *u;
    size_t n, cap;
    double *cycles;
    size_t n_cycles, cap_cycles;
    unsigned records;
    unsigned by_class[REC_CLASS_COUNT];
    int64_t first_start, last_end;
};

int rec_tally_new(struct rec_tally **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ED_OK : ED_ERR_NOMEM;
}

void rec_tally_free(struct rec_tally *t)
{
    if (!t)
        return;
    free(t->u);
    free(t->cycles);
    free(t);
}

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    void *np;
    size_t ncap;

    if (n < *cap)
        return true;
    ncap = *cap ? *cap * 2 : 64;
    np = realloc(*p, ncap * size);
    if (!np)
        return false;
    *p = np;
    *cap = ncap;
    return true;
}

int rec_tally_add(struct rec_tally *t, const struct rec_unit *u)
{
    struct tally_unit *tu = NULL;
    size_t i;

    if (u->unit[0])
        for (i = t->n; i-- > 0;)
            if (!strcmp(t->u[i].unit, u->unit)) {
                tu = &t->u[i];
                break;
            }
    if (!tu) {
        if (!grow((void **)&t->u, &t->cap, t->n, sizeof *t->u))
            return ED_ERR_NOMEM;
        tu = &t->u[t->n++];
        COPY(tu->unit, u->unit);
        tu->first_pass = u->pass;
    }
    tu->last_pass = u->pass;
    if (!grow((void **)&t->cycles, &t->cap_cycles, t->n_cycles,
              sizeof *t->cycles))
        return ED_ERR_NOMEM;
    t->cycles[t->n_cycles++] = (double)(u->end_ms - u->start_ms) / 1000.0;
    if (!t->records || u->start_ms < t->first_start)
        t->first_start = u->start_ms;
    if (!t->records || u->end_ms > t->last_end)
        t->last_end = u->end_ms;
    t->records++;
    if (!u->pass)
        t->by_class[(unsigned)u->cls < REC_CLASS_COUNT ? u->cls
                                                       : REC_CLASS_INTERNAL]++;
    return ED_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

void rec_tally_stats(const struct rec_tally *t, struct rec_stats *s)
{
    size_t i;

    memset(s, 0, sizeof *s);
    if (!t)
        return;
    s->records = t->records;
    s->units = (unsigned)t->n;
    for (i = 0; i < t->n; i++) {
        if (t->u[i].last_pass)
            s->pass++;
        else
            s->fail++;
        if (t->u[i].first_pass)
            s->first_pass++;
    }
    s->first_pass_yield = s->units ? (double)s->first_pass / s->units : 0;
    if (t->records && t->last_end > t->first_start)
        s->units_per_hour =
            s->units * 3600000.0 / (double)(t->last_end - t->first_start);
    if (t->n_cycles) {
        double *c = malloc(t->n_cycles * sizeof *c);

        if (c) {
            memcpy(c, t->cycles, t->n_cycles * sizeof *c);
            qsort(c, t->n_cycles, sizeof *c, cmp_double);
            s->median_cycle_s = t->n_cycles % 2
                                    ? c[t->n_cycles / 2]
                                    : (c[t->n_cycles / 2 - 1] +
                                       c[t->n_cycles / 2]) / 2;
            free(c);
        }
    }
    memcpy(s->by_class, t->by_class, sizeof s->by_class);
}
