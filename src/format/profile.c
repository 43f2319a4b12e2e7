/*
 * profile.c - board profiles (see profile.h; the schema is docs/profiles.md).
 *
 * The only user of libyaml.  The file is loaded into a libyaml document
 * tree; every node keeps its start mark, so each problem can name the
 * file:line:col of the value (or key) at fault.  Parsing collects problems
 * into a struct profile_report instead of stopping, so `espdeck check`
 * lists all of them; profile_load() reports the first error.
 */
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "engine.h"
#include "err.h"
#include "port.h"
#include "ptable.h"
#include "idfimport.h"

#define SRC_MAX 512
#define GENERATED "generated from the profile"

struct mark {
    int line, col;              /* 1-based; 0 = none */
};

struct region {
    struct profile_region pub;  /* strings point into this struct */
    char name[64];
    char type[24];
    char subtype[24];
    char source[SRC_MAX];
    char path[SRC_MAX];
    uint8_t ptype, psub;        /* partitions: binary type/subtype */
    uint8_t *data;              /* owned */
    size_t len;
    struct mark at;             /* the entry */
    struct mark off_at;         /* its offset (or the entry) */
    struct mark img_at;         /* its image file (or the entry) */
    bool has_image;
};

struct profile {
    char path[SRC_MAX];
    char dir[SRC_MAX];
    char name[128];
    char chip_name[16];
    enum chip_id chip;
    char port[256];
    uint32_t baud, monitor_baud;
    bool baud_set;              /* baud: given in the file */
    char elf[SRC_MAX];          /* the app's ELF (resolved), "" = none */
    enum port_before before;
    enum port_after after;
    char reset_seq[128];
    char flash_mode[8], flash_freq[8], flash_size[8];
    uint32_t flash_bytes;
    struct region *regions;
    size_t n_regions, cap_regions;
    char sha256[65];
    /* bench: and accept: (the public structs point into these) */
    struct profile_bench bench;
    struct profile_accept accept;
    char trigger[8];
    char records[SRC_MAX];
    char station[64];
    char slot_name[PROFILE_MAX_SLOTS][32];
    char slot_port[PROFILE_MAX_SLOTS][256];
    char expect[PROFILE_MAX_PATTERNS][128];
    char reject[PROFILE_MAX_PATTERNS][128];
};

struct ctx {
    struct profile *p;
    struct profile_report *rep;
    yaml_document_t doc;
    bool nomem;
    /* partitions whose entry had an error: later references to them are
       not errors of their own (the first error is the real one) */
    char bad_parts[8][PTABLE_NAME_MAX + 1];
    size_t n_bad_parts;
};

/* Copy with truncation (always terminated). */
static void scpy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- problems ---- */

static struct mark mark_of(const yaml_node_t *n)
{
    struct mark m = {0, 0};
    if (n) {
        m.line = (int)n->start_mark.line + 1;
        m.col = (int)n->start_mark.column + 1;
    }
    return m;
}

__attribute__((format(printf, 4, 5)))
static void problem_at(struct ctx *c, enum profile_severity sev,
                       struct mark m, const char *fmt, ...)
{
    struct profile_report *r = c->rep;
    if (r->n % 16 == 0) {
        void *n = realloc(r->items, (r->n + 16) * sizeof *r->items);
        if (!n) {
            c->nomem = true;
            return;
        }
        r->items = n;
    }
    struct profile_problem *pr = &r->items[r->n++];
    va_list ap;
    pr->severity = sev;
    pr->line = m.line;
    pr->col = m.col;
    va_start(ap, fmt);
    vsnprintf(pr->message, sizeof pr->message, fmt, ap);
    va_end(ap);
    if (sev == PROFILE_ERROR)
        r->n_errors++;
    else
        r->n_warnings++;
}

#define ERR(c, node, ...) \
    problem_at((c), PROFILE_ERROR, mark_of(node), __VA_ARGS__)
#define ERR_AT(c, m, ...) problem_at((c), PROFILE_ERROR, (m), __VA_ARGS__)
#define WARN_AT(c, m, ...) problem_at((c), PROFILE_WARNING, (m), __VA_ARGS__)

const char *profile_problem_format(const struct profile_report *rep,
                                   const struct profile_problem *pr,
                                   char *buf, size_t len)
{
    const char *sev = pr->severity == PROFILE_ERROR ? "error" : "warning";
    if (pr->line > 0)
        snprintf(buf, len, "%s:%d:%d: %s: %s", rep->file, pr->line, pr->col,
                 sev, pr->message);
    else
        snprintf(buf, len, "%s: %s: %s", rep->file, sev, pr->message);
    return buf;
}

void profile_report_free(struct profile_report *rep)
{
    if (!rep)
        return;
    free(rep->items);
    rep->items = NULL;
    rep->n = rep->n_errors = rep->n_warnings = 0;
}

/* ---- small helpers ---- */

static const char *join(const char *const *names, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
                               names[i]);
    return buf;
}

static int read_file(const char *path, uint8_t **out, size_t *len,
                     char *why, size_t whylen)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *out = NULL;
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return ED_ERR_NOT_FOUND;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return ED_ERR_IO;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        snprintf(why, whylen, "out of memory");
        return ED_ERR_NOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(why, whylen, "%s", r < 0 ? strerror(errno)
                                              : "file shrank while reading");
            free(buf);
            close(fd);
            return ED_ERR_IO;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return ED_OK;
}

/*
 * Expand ${VAR} and ${VAR:-default} from the environment.  An unset VAR
 * without a default is an error (ED_ERR_NOT_FOUND, its name in why).
 */
static int expand_env(const char *in, char *out, size_t len, char *why,
                      size_t whylen)
{
    size_t o = 0;
    for (const char *s = in; *s;) {
        if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s + 2, '}');
            if (!end) {
                snprintf(why, whylen, "'${' without a closing '}'");
                return ED_ERR_ARG;
            }
            char var[128], def[SRC_MAX];
            const char *colon = strstr(s + 2, ":-");
            bool has_def = colon && colon < end;
            const char *vend = has_def ? colon : end;
            size_t vl = (size_t)(vend - (s + 2));
            if (vl == 0 || vl >= sizeof var) {
                snprintf(why, whylen, "bad variable name in '%.*s'",
                         (int)(end - s + 1), s);
                return ED_ERR_ARG;
            }
            memcpy(var, s + 2, vl);
            var[vl] = '\0';
            def[0] = '\0';
            if (has_def)
                snprintf(def, sizeof def, "%.*s", (int)(end - colon - 2),
                         colon + 2);
            const char *val = getenv(var);
            if (!val || (!*val && has_def)) {
                if (!has_def) {
                    if (snprintf(why, whylen, "environment variable %s is "
                                 "not set (write ${%s:-default} to give a "
                                 "default)", var, var) < 0)
                        why[0] = '\0';
                    return ED_ERR_NOT_FOUND;
                }
                val = def;
            }
            size_t l = strlen(val);
            if (o + l >= len)
                goto toolong;
            memcpy(out + o, val, l);
            o += l;
            s = end + 1;
            continue;
        }
        if (o + 1 >= len)
            goto toolong;
        out[o++] = *s++;
    }
    out[o] = '\0';
    return ED_OK;
toolong:
    snprintf(why, whylen, "value longer than %zu characters", len - 1);
    return ED_ERR_ARG;
}

/* ---- YAML access ---- */

static yaml_node_t *node_of(struct ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static const char *kind_text(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a value";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* The scalar text of n with ${VAR} expanded; false (reported) otherwise. */
static bool scalar(struct ctx *c, yaml_node_t *n, const char *what,
                   char *out, size_t len)
{
    char why[300];
    if (n->type != YAML_SCALAR_NODE) {
        ERR(c, n, "'%s' should be a single value, not %s", what,
            kind_text(n));
        return false;
    }
    if (expand_env((const char *)n->data.scalar.value, out, len, why,
                   sizeof why) != ED_OK) {
        ERR(c, n, "%s: %s", what, why);
        return false;
    }
    return true;
}

static bool number(struct ctx *c, yaml_node_t *n, const char *what,
                   uint32_t *out)
{
    char s[64];
    if (!scalar(c, n, what, s, sizeof s))
        return false;
    if (ptable_parse_number(s, out) != ED_OK) {
        ERR(c, n, "bad number '%s' for %s; use hex (0x9000), decimal "
            "(36864) or a K/M suffix (36K, 1M)", s, what);
        return false;
    }
    return true;
}

/*
 * Check a mapping's keys against names (NULL-terminated): unknown keys
 * (with the nearest known one) and duplicates are reported.
 */
static bool check_keys(struct ctx *c, yaml_node_t *map, const char *where,
                       const char *const *names)
{
    bool ok = true;
    char list[400];
    for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
         a < map->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node_of(c, a->key);
        if (k->type != YAML_SCALAR_NODE) {
            ERR(c, k, "keys in %s must be plain words",
                where ? where : "a profile");
            ok = false;
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        bool known = false;
        for (size_t i = 0; names[i]; i++)
            known |= strcmp(key, names[i]) == 0;
        if (!known) {
            const char *near = ed_nearest(key, names);
            /* top level: no "in ..." (where is NULL) */
            if (near)
                ERR(c, k, "unknown key '%s'%s%s; did you mean '%s'?", key,
                    where ? " in " : "", where ? where : "", near);
            else
                ERR(c, k, "unknown key '%s'%s%s; known keys: %s", key,
                    where ? " in " : "", where ? where : "",
                    join(names, list, sizeof list));
            ok = false;
            continue;
        }
        for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *kb = node_of(c, b->key);
            if (kb->type == YAML_SCALAR_NODE &&
                strcmp((const char *)kb->data.scalar.value, key) == 0) {
                ERR(c, k, "'%s' is given twice (first at line %d)", key,
                    (int)kb->start_mark.line + 1);
                ok = false;
                break;
            }
        }
    }
    return ok;
}

static yaml_node_t *get(struct ctx *c, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
         a < map->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node_of(c, a->key);
        if (k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return node_of(c, a->value);
    }
    return NULL;
}

static bool want_map(struct ctx *c, yaml_node_t *n, const char *what,
                     const char *example)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    ERR(c, n, "'%s' should be a mapping like %s, not %s", what, example,
        kind_text(n));
    return false;
}

/* ---- regions ---- */

static struct region *add_region(struct ctx *c, enum profile_region_kind k)
{
    struct profile *p = c->p;
    if (p->n_regions == p->cap_regions) {
        size_t cap = p->cap_regions ? p->cap_regions * 2 : 16;
        void *n = realloc(p->regions, cap * sizeof *p->regions);
        if (!n) {
            c->nomem = true;
            return NULL;
        }
        p->regions = n;
        p->cap_regions = cap;
    }
    struct region *r = &p->regions[p->n_regions++];
    memset(r, 0, sizeof *r);
    r->pub.kind = k;
    return r;
}

static void fix_pointers(struct region *r)
{
    r->pub.name = r->name;
    r->pub.type = r->type;
    r->pub.subtype = r->subtype;
    r->pub.source = r->source;
    r->pub.path = r->path;
    r->pub.image_len = r->len;
}

static int region_cmp(const void *a, const void *b)
{
    const struct region *x = a, *y = b;
    if (x->pub.offset != y->pub.offset)
        return x->pub.offset < y->pub.offset ? -1 : 1;
    return (int)x->pub.kind - (int)y->pub.kind;
}

static void resolve_path(const struct profile *p, const char *src, char *out,
                         size_t len)
{
    if (src[0] == '/' || !p->dir[0])
        snprintf(out, len, "%s", src);
    else
        if (snprintf(out, len, "%s/%s", p->dir, src) >= (int)len)
            out[0] = '\0';     /* too long: reported as unreadable */
}

/* Set r's image source from node n (a path relative to the profile). */
static bool set_image(struct ctx *c, struct region *r, yaml_node_t *n,
                      const char *what)
{
    if (!scalar(c, n, what, r->source, sizeof r->source))
        return false;
    if (!r->source[0]) {
        ERR(c, n, "'%s' is empty; give the image file's path", what);
        return false;
    }
    resolve_path(c->p, r->source, r->path, sizeof r->path);
    r->img_at = mark_of(n);
    r->has_image = true;
    return true;
}

/* ---- top-level settings ---- */

static const char *const top_keys[] = {
    "name", "chip", "port", "baud", "monitor", "reset", "flash",
    "partition_table", "images", "bench", "accept", "elf", "idf_build", NULL};

static void parse_chip(struct ctx *c, yaml_node_t *n)
{
    char s[64], list[200];
    const char *names[CHIP_COUNT + 2];
    size_t k = 0;

    if (!scalar(c, n, "chip", s, sizeof s))
        return;
    if (strcmp(s, "auto") == 0) {
        c->p->chip = CHIP_UNKNOWN;
        snprintf(c->p->chip_name, sizeof c->p->chip_name, "auto");
        return;
    }
    const struct chip_desc *d = chip_by_name(s);
    if (d) {
        c->p->chip = d->id;
        scpy(c->p->chip_name, sizeof c->p->chip_name, d->name);
        return;
    }
    names[k++] = "auto";
    for (int i = 0; i < CHIP_COUNT; i++)
        names[k++] = chip_get((enum chip_id)i)->name;
    names[k] = NULL;
    const char *near = ed_nearest(s, names);
    if (near)
        ERR(c, n, "unknown chip '%s'; did you mean '%s'? (one of %s)", s,
            near, join(names, list, sizeof list));
    else
        ERR(c, n, "unknown chip '%s'; use one of %s", s,
            join(names, list, sizeof list));
}

static bool parse_baud(struct ctx *c, yaml_node_t *n, const char *what,
                       uint32_t *out)
{
    char s[32];
    char *end;
    if (!scalar(c, n, what, s, sizeof s))
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < 300 || v > 15000000) {
        ERR(c, n, "bad baud rate '%s' for %s; use a number such as 115200, "
            "460800 or 921600", s, what);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static void parse_monitor(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"baud", NULL};
    yaml_node_t *b;
    if (n->type == YAML_SCALAR_NODE) {   /* monitor: 115200 */
        parse_baud(c, n, "monitor", &c->p->monitor_baud);
        return;
    }
    if (!want_map(c, n, "monitor", "{baud: 115200}"))
        return;
    check_keys(c, n, "monitor", keys);
    if ((b = get(c, n, "baud")))
        parse_baud(c, b, "monitor baud", &c->p->monitor_baud);
}

/* elf: the app's ELF, for decoding panics in the monitor */
static void parse_elf(struct ctx *c, yaml_node_t *n)
{
    char s[SRC_MAX];

    if (!scalar(c, n, "elf", s, sizeof s) || !s[0])
        return;
    resolve_path(c->p, s, c->p->elf, sizeof c->p->elf);
    if (access(c->p->elf, R_OK))
        WARN_AT(c, mark_of(n), "elf: %s cannot be read (%s): panics in "
                "the monitor are shown without function names; build the "
                "app or fix the path", s, strerror(errno));
}

static void parse_reset(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"before", "after", "sequence", NULL};
    static const char *const befores[] = {
        "default-reset", "usb-reset", "no-reset", "no-reset-no-sync", NULL};
    static const char *const afters[] = {
        "hard-reset", "soft-reset", "no-reset", "no-reset-stub",
        "watchdog-reset", NULL};
    char s[128], list[200], why[200];
    yaml_node_t *v;

    if (!want_map(c, n, "reset",
                  "{before: default-reset, after: hard-reset}"))
        return;
    check_keys(c, n, "reset", keys);
    if ((v = get(c, n, "before")) && scalar(c, v, "before", s, sizeof s) &&
        port_parse_before(s, &c->p->before) != ED_OK)
        ERR(c, v, "unknown reset 'before' value '%s'; use one of %s", s,
            join(befores, list, sizeof list));
    if ((v = get(c, n, "after")) && scalar(c, v, "after", s, sizeof s) &&
        port_parse_after(s, &c->p->after) != ED_OK)
        ERR(c, v, "unknown reset 'after' value '%s'; use one of %s", s,
            join(afters, list, sizeof list));
    if ((v = get(c, n, "sequence")) &&
        scalar(c, v, "sequence", s, sizeof s)) {
        if (port_reset_check(s, why, sizeof why) != ED_OK)
            ERR(c, v, "bad reset sequence '%s': %s (esptool syntax, e.g. "
                "D0|R1|W0.1|D1|R0|W0.05|D0)", s, why);
        else
            scpy(c->p->reset_seq, sizeof c->p->reset_seq, s);
    }
}

/* Flash frequencies each chip's image header can encode (esptool). */
static const char *const *chip_freqs(enum chip_id chip)
{
    static const char *const dflt[] = {"80m", "40m", "26m", "20m", NULL};
    static const char *const c2[] = {"60m", "30m", "20m", "15m", NULL};
    static const char *const h2[] = {"48m", "24m", "16m", "12m", NULL};
    static const char *const c6[] = {"80m", "40m", "20m", NULL};
    static const char *const any[] = {"80m", "60m", "48m", "40m", "30m",
                                      "26m", "24m", "20m", "16m", "15m",
                                      "12m", NULL};
    switch (chip) {
    case CHIP_ESP32C2:
        return c2;
    case CHIP_ESP32H2:
        return h2;
    case CHIP_ESP32C6:
    case CHIP_ESP32C5:
    case CHIP_ESP32P4:
        return c6;
    case CHIP_UNKNOWN:
        return any;
    default:
        return dflt;
    }
}

static bool in_list(const char *s, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

static void parse_flash(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"mode", "freq", "size", NULL};
    static const char *const modes[] = {"keep", "qio", "qout", "dio", "dout",
                                        NULL};
    static const char *const sizes[] = {
        "keep", "detect", "1MB", "2MB", "4MB", "8MB", "16MB", "32MB",
        "64MB", "128MB", NULL};
    struct profile *p = c->p;
    char s[32], list[200];
    yaml_node_t *v;

    if (!want_map(c, n, "flash", "{mode: dio, freq: 40m, size: 4MB}"))
        return;
    check_keys(c, n, "flash", keys);
    if ((v = get(c, n, "mode")) && scalar(c, v, "flash mode", s, sizeof s)) {
        for (char *q = s; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        if (!in_list(s, modes))
            ERR(c, v, "unknown flash mode '%s'; use one of %s", s,
                join(modes, list, sizeof list));
        else
            scpy(p->flash_mode, sizeof p->flash_mode, s);
    }
    if ((v = get(c, n, "freq")) && scalar(c, v, "flash freq", s, sizeof s)) {
        const char *const *freqs = chip_freqs(p->chip);
        for (char *q = s; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        if (strcmp(s, "keep") != 0 && !in_list(s, freqs)) {
            ERR(c, v, "flash freq '%s' is not one %s takes; use keep or one "
                "of %s", s, p->chip == CHIP_UNKNOWN ? "any chip"
                                                    : p->chip_name,
                join(freqs, list, sizeof list));
        } else {
            scpy(p->flash_freq, sizeof p->flash_freq, s);
        }
    }
    if ((v = get(c, n, "size")) && scalar(c, v, "flash size", s, sizeof s)) {
        for (char *q = s; *q; q++)
            *q = (char)toupper((unsigned char)*q);
        if (strcmp(s, "KEEP") == 0 || strcmp(s, "DETECT") == 0) {
            for (char *q = s; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        }
        if (!in_list(s, sizes)) {
            ERR(c, v, "unknown flash size '%s'; use one of %s", s,
                join(sizes, list, sizeof list));
        } else {
            scpy(p->flash_size, sizeof p->flash_size, s);
            uint32_t b;
            p->flash_bytes = ptable_parse_number(s, &b) == ED_OK ? b : 0;
        }
    }
}

/* ---- partition table ---- */

struct entry_info {
    struct mark at, off_at, size_at, sub_at;
    yaml_node_t *image;
};

static void parse_flags(struct ctx *c, yaml_node_t *n, uint32_t *flags)
{
    char s[64];
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             i < n->data.sequence.items.top; i++) {
            yaml_node_t *f = node_of(c, *i);
            uint32_t fl;
            if (!scalar(c, f, "flags", s, sizeof s))
                continue;
            if (ptable_parse_flag(s, &fl) != ED_OK)
                ERR(c, f, "unknown partition flag '%s'; use encrypted, "
                    "readonly", s);
            else
                *flags |= fl;
        }
        return;
    }
    if (!scalar(c, n, "flags", s, sizeof s))
        return;
    char *save = NULL;
    for (char *t = strtok_r(s, ":, ", &save); t;
         t = strtok_r(NULL, ":, ", &save)) {
        uint32_t fl;
        if (ptable_parse_flag(t, &fl) != ED_OK)
            ERR(c, n, "unknown partition flag '%s'; use encrypted, readonly",
                t);
        else
            *flags |= fl;
    }
}

/* The nearest subtype name of a type (from ptable's list), or NULL. */
static const char *nearest_subtype(uint8_t type, const char *s)
{
    static const char *const app[] = {"factory", "test", "ota_0", "ota_1",
                                      "tee_0", "tee_1", NULL};
    static const char *const data[] = {
        "ota", "phy", "nvs", "coredump", "nvs_keys", "efuse", "undefined",
        "esphttpd", "fat", "spiffs", "littlefs", "tee_ota", NULL};
    if (type == PTABLE_TYPE_APP)
        return ed_nearest(s, app);
    if (type == PTABLE_TYPE_DATA)
        return ed_nearest(s, data);
    return NULL;
}

static bool parse_entry(struct ctx *c, yaml_node_t *n, struct ptable *t,
                        struct entry_info *info)
{
    static const char *const keys[] = {"name", "type", "subtype", "offset",
                                       "size", "image", "flags", NULL};
    struct ptable_entry *e = &t->e[t->n];
    char s[64], list[300];
    yaml_node_t *v;
    bool ok = true;

    memset(e, 0, sizeof *e);
    memset(info, 0, sizeof *info);
    info->at = info->off_at = info->size_at = info->sub_at = mark_of(n);
    if (!want_map(c, n, "partition entry",
                  "{name: nvs, type: data, subtype: nvs, offset: 0x9000, "
                  "size: 24K}"))
        return false;
    ok &= check_keys(c, n, "a partition entry", keys);
    if (!(v = get(c, n, "name"))) {
        ERR(c, n, "partition entry without a name");
        ok = false;
    } else if (scalar(c, v, "name", s, sizeof s)) {
        if (!s[0] || strlen(s) > PTABLE_NAME_MAX) {
            ERR(c, v, "partition name '%s' must be 1 to %d characters", s,
                PTABLE_NAME_MAX);
            ok = false;
        }
        scpy(e->name, sizeof e->name, s);
    } else {
        ok = false;
    }
    if (!(v = get(c, n, "type"))) {
        ERR(c, n, "partition '%s' has no type; use %s", e->name,
            ptable_type_names(list, sizeof list));
        ok = false;
    } else if (scalar(c, v, "type", s, sizeof s)) {
        if (ptable_parse_type(s, &e->type) != ED_OK) {
            const char *const tn[] = {"app", "data", "bootloader",
                                      "partition_table", NULL};
            const char *near = ed_nearest(s, tn);
            ERR(c, v, "unknown partition type '%s'%s%s%s; use %s", s,
                near ? " (did you mean '" : "", near ? near : "",
                near ? "'?)" : "", ptable_type_names(list, sizeof list));
            ok = false;
        }
    } else {
        ok = false;
    }
    v = get(c, n, "subtype");
    if (ok) {
        s[0] = '\0';
        if (v && !scalar(c, v, "subtype", s, sizeof s)) {
            ok = false;
        } else if (ptable_parse_subtype(e->type, s, &e->subtype) != ED_OK) {
            const char *near = s[0] ? nearest_subtype(e->type, s) : NULL;
            ERR(c, v ? v : n, "%s subtype '%s' for partition '%s'%s%s%s; "
                "use %s", s[0] ? "unknown" : "missing", s, e->name,
                near ? " (did you mean '" : "", near ? near : "",
                near ? "'?)" : "",
                ptable_subtype_names(e->type, list, sizeof list));
            ok = false;
        }
        if (v)
            info->sub_at = mark_of(v);
    }
    if ((v = get(c, n, "offset"))) {
        info->off_at = mark_of(v);
        if (!number(c, v, "offset", &e->offset)) {
            ok = false;
        } else if (e->offset == PTABLE_AUTO) {
            ERR(c, v, "offset 0x%X of partition '%s' is not a flash "
                "address; leave the offset out to place the partition "
                "automatically", e->offset, e->name);
            ok = false;
        }
    } else {
        e->offset = PTABLE_AUTO;
    }
    if (!(v = get(c, n, "size"))) {
        ERR(c, n, "partition '%s' has no size", e->name);
        ok = false;
    } else {
        info->size_at = mark_of(v);
        if (!number(c, v, "size", &e->size)) {
            ok = false;
        } else if (e->size == 0) {
            ERR(c, v, "partition '%s' has size 0", e->name);
            ok = false;
        }
    }
    if ((v = get(c, n, "flags")))
        parse_flags(c, v, &e->flags);
    info->image = get(c, n, "image");
    return ok;
}

/*
 * Partition layout: entries, file or csv.  Adds the table region and one
 * region per partition.
 */
static void parse_table(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"offset", "entries", "file", "csv",
                                       NULL};
    struct profile *p = c->p;
    struct ptable *t = NULL;
    struct entry_info *info = NULL;
    uint32_t table_off = PTABLE_OFFSET_DEFAULT;
    yaml_node_t *v, *ent, *file, *csv;
    char why[ED_ERRMSG_MAX];
    struct region *tr;
    int given = 0;
    bool ok = true;

    if (!want_map(c, n, "partition_table",
                  "{offset: 0x8000, entries: [...]} or {file: ...} or "
                  "{csv: ...}"))
        return;
    check_keys(c, n, "partition_table", keys);
    if ((v = get(c, n, "offset")) && number(c, v, "table offset",
                                           &table_off) &&
        table_off % 0x1000) {
        ERR(c, v, "the partition table offset 0x%x is not a multiple of "
            "0x1000 (it fills one 4 KiB sector)", table_off);
    }
    ent = get(c, n, "entries");
    file = get(c, n, "file");
    csv = get(c, n, "csv");
    given = !!ent + !!file + !!csv;
    if (given != 1) {
        ERR(c, n, "partition_table needs exactly one of entries (the "
            "layout), file (a table binary) or csv (an ESP-IDF "
            "partitions.csv); %s", given ? "several are given" : "none is");
        return;
    }
    t = calloc(1, sizeof *t);
    info = calloc(PTABLE_CAP, sizeof *info);
    tr = add_region(c, PROFILE_REGION_TABLE);
    if (!t || !info || !tr) {
        c->nomem = true;
        goto out;
    }
    snprintf(tr->name, sizeof tr->name, "partition-table");
    tr->pub.offset = table_off;
    tr->pub.size = PTABLE_SECTOR;
    tr->at = tr->off_at = tr->img_at = mark_of(v ? v : n);

    if (ent) {
        if (ent->type != YAML_SEQUENCE_NODE) {
            ERR(c, ent, "'entries' should be a list of partitions, not %s",
                kind_text(ent));
            goto out;
        }
        for (yaml_node_item_t *i = ent->data.sequence.items.start;
             i < ent->data.sequence.items.top; i++) {
            if (t->n >= PTABLE_CAP) {
                ERR(c, node_of(c, *i), "more than %d partitions",
                    PTABLE_CAP);
                ok = false;
                break;
            }
            if (parse_entry(c, node_of(c, *i), t, &info[t->n])) {
                t->n++;
            } else {
                ok = false;
                if (t->e[t->n].name[0] &&
                    c->n_bad_parts < sizeof c->bad_parts /
                                         sizeof c->bad_parts[0])
                    scpy(c->bad_parts[c->n_bad_parts++],
                         sizeof c->bad_parts[0], t->e[t->n].name);
            }
        }
        if (t->n == 0) {
            if (ok)
                ERR(c, ent, "the partition table has no entries");
            goto out;
        }
        ptable_place(t, table_off, why, sizeof why);
        snprintf(tr->source, sizeof tr->source, GENERATED);
        if (!ok)        /* bad entries reported; check the rest */
            goto regions;
        tr->data = malloc(PTABLE_BIN_SIZE);
        if (!tr->data) {
            c->nomem = true;
            goto out;
        }
        if (ptable_to_binary(t, tr->data, why, sizeof why) != ED_OK) {
            ERR(c, ent, "%s", why);
            free(tr->data);
            tr->data = NULL;
            goto out;
        }
        tr->len = PTABLE_BIN_SIZE;
    } else {
        yaml_node_t *src = file ? file : csv;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!scalar(c, src, file ? "file" : "csv", tr->source,
                    sizeof tr->source))
            goto out;
        resolve_path(p, tr->source, tr->path, sizeof tr->path);
        tr->img_at = mark_of(src);
        if (read_file(tr->path, &buf, &len, why, sizeof why) != ED_OK) {
            ERR(c, src, "cannot read %s: %s", tr->path, why);
            goto out;
        }
        int rc;
        if (file) {
            rc = ptable_from_binary(t, buf, len, NULL, why, sizeof why);
            if (rc == ED_OK && len > PTABLE_SECTOR) {
                ERR(c, src, "%s is %zu bytes, more than the table's 4 KiB "
                    "sector", tr->path, len);
                rc = ED_ERR_PROFILE;
            }
            tr->data = buf;
            tr->len = len;
            buf = NULL;
        } else {
            rc = ptable_from_csv(t, (const char *)buf, table_off, why,
                                 sizeof why);
            if (rc == ED_OK) {
                tr->data = malloc(PTABLE_BIN_SIZE);
                if (!tr->data) {
                    c->nomem = true;
                    rc = ED_ERR_NOMEM;
                } else {
                    rc = ptable_to_binary(t, tr->data, why, sizeof why);
                    tr->len = PTABLE_BIN_SIZE;
                }
            }
        }
        free(buf);
        if (rc != ED_OK) {
            if (rc != ED_ERR_NOMEM && why[0])
                ERR(c, src, "%s: %s", tr->source, why);
            goto out;
        }
        for (size_t i = 0; i < t->n; i++)
            info[i].at = info[i].off_at = info[i].size_at =
                info[i].sub_at = mark_of(src);
    }

    /* One region per partition. */
regions:
    for (size_t i = 0; i < t->n; i++) {
        const struct ptable_entry *e = &t->e[i];
        struct region *r = add_region(c, PROFILE_REGION_PARTITION);
        if (!r)
            goto out;
        scpy(r->name, sizeof r->name, e->name);
        ptable_type_text(e->type, r->type, sizeof r->type);
        ptable_subtype_text(e->type, e->subtype, r->subtype,
                            sizeof r->subtype);
        r->ptype = e->type;
        r->psub = e->subtype;
        r->pub.offset = e->offset;
        r->pub.size = e->size;
        r->pub.flags = e->flags;
        r->at = info[i].at;
        r->off_at = info[i].off_at;
        r->img_at = info[i].at;
        if (info[i].image)
            set_image(c, r, info[i].image, "image");
    }
out:
    free(t);
    free(info);
}

static struct region *find_partition(struct profile *p, const char *name)
{
    for (size_t i = 0; i < p->n_regions; i++)
        if (p->regions[i].pub.kind == PROFILE_REGION_PARTITION &&
            strcmp(p->regions[i].name, name) == 0)
            return &p->regions[i];
    return NULL;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void parse_images(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"name", "offset", "file", "partition",
                                       NULL};
    struct profile *p = c->p;

    if (n->type != YAML_SEQUENCE_NODE) {
        ERR(c, n, "'images' should be a list like - {name: bootloader, "
            "offset: 0x1000, file: bootloader.bin}, not %s", kind_text(n));
        return;
    }
    for (yaml_node_item_t *i = n->data.sequence.items.start;
         i < n->data.sequence.items.top; i++) {
        yaml_node_t *im = node_of(c, *i), *v, *file, *part, *off;
        char s[64], name[64] = "";
        if (!want_map(c, im, "image",
                      "{name: bootloader, offset: 0x1000, file: ...}"))
            continue;
        check_keys(c, im, "an image", keys);
        if ((v = get(c, im, "name")))
            scalar(c, v, "name", name, sizeof name);
        file = get(c, im, "file");
        part = get(c, im, "partition");
        off = get(c, im, "offset");
        if (!file) {
            ERR(c, im, "image%s%s has no 'file'", name[0] ? " " : "",
                name);
            continue;
        }
        if (part && off) {
            ERR(c, off, "image gives both 'partition' and 'offset'; a "
                "partition image goes at its partition's offset");
            continue;
        }
        if (part) {
            if (!scalar(c, part, "partition", s, sizeof s))
                continue;
            struct region *r = find_partition(p, s);
            bool bad_entry = false;
            for (size_t j = 0; j < c->n_bad_parts; j++)
                bad_entry |= strcmp(c->bad_parts[j], s) == 0;
            if (!r && bad_entry)
                continue;   /* its entry's error says what is wrong */
            if (!r) {
                const char *names[PTABLE_CAP + 1];
                size_t k = 0;
                for (size_t j = 0; j < p->n_regions && k < PTABLE_CAP; j++)
                    if (p->regions[j].pub.kind == PROFILE_REGION_PARTITION)
                        names[k++] = p->regions[j].name;
                names[k] = NULL;
                const char *near = ed_nearest(s, names);
                char list[400];
                if (!k)
                    ERR(c, part, "image for partition '%s', but the profile "
                        "has no partition table", s);
                else if (near)
                    ERR(c, part, "no partition '%s'; did you mean '%s'?", s,
                        near);
                else
                    ERR(c, part, "no partition '%s'; the partitions are %s",
                        s, join(names, list, sizeof list));
                continue;
            }
            if (r->has_image) {
                ERR(c, part, "partition '%s' already has an image (line "
                    "%d)", s, r->img_at.line);
                continue;
            }
            set_image(c, r, file, "file");
            continue;
        }
        if (!off) {
            ERR(c, im, "image%s%s needs an 'offset' (or 'partition: NAME')",
                name[0] ? " " : "", name);
            continue;
        }
        struct region *r = add_region(c, PROFILE_REGION_IMAGE);
        if (!r)
            return;
        r->at = mark_of(im);
        r->off_at = mark_of(off);
        if (!number(c, off, "offset", &r->pub.offset)) {
            p->n_regions--;
            continue;
        }
        if (!set_image(c, r, file, "file")) {
            p->n_regions--;
            continue;
        }
        scpy(r->name, sizeof r->name,
             name[0] ? name : base_name(r->source));
    }
}

/* ---- checks on the whole layout ---- */

static void load_images(struct ctx *c)
{
    struct profile *p = c->p;
    char why[200];
    for (size_t i = 0; i < p->n_regions; i++) {
        struct region *r = &p->regions[i];
        if (!r->has_image)
            continue;
        int rc = read_file(r->path, &r->data, &r->len, why, sizeof why);
        if (rc == ED_ERR_NOMEM) {
            c->nomem = true;
            return;
        }
        if (rc != ED_OK) {
            /* profiles that read ${ESPDECK_FIRMWARE} (the test fixtures) */
            const char *fw = getenv("ESPDECK_FIRMWARE");
            bool shipped = strstr(r->source, "ESPDECK_FIRMWARE") ||
                           (fw && *fw && !strncmp(r->path, fw, strlen(fw)));

            if (shipped)
                ERR_AT(c, r->img_at, "cannot read image %s: %s: set "
                       "ESPDECK_FIRMWARE to the folder holding the firmware "
                       "images (Hello-world/<CHIP>/ in it)", r->path, why);
            else
                ERR_AT(c, r->img_at, "cannot read image %s: %s: check the "
                       "path (a relative one starts at the profile's folder, "
                       "%s)", r->path, why, p->dir[0] ? p->dir : ".");
            r->has_image = false;
            continue;
        }
        if (r->len == 0) {
            ERR_AT(c, r->img_at, "image %s is empty", r->path);
            continue;
        }
        if (r->pub.kind == PROFILE_REGION_PARTITION &&
            r->len > r->pub.size)
            ERR_AT(c, r->img_at, "image %s (%zu bytes) is larger than "
                   "partition '%s' (%u bytes, 0x%x); grow the partition or "
                   "shrink the image", r->source, r->len, r->name,
                   r->pub.size, r->pub.size);
    }
}

/* Image header chip id (ESP32-family images), or -1. */
static int image_chip_id(const struct region *r)
{
    if (!r->data || r->len < 24 || r->data[0] != 0xE9)
        return -1;
    return r->data[12] | r->data[13] << 8;
}

static bool is_bootable(const struct region *r)
{
    return r->pub.kind == PROFILE_REGION_IMAGE ||
           (r->pub.kind == PROFILE_REGION_PARTITION &&
            (r->ptype == PTABLE_TYPE_APP ||
             r->ptype == PTABLE_TYPE_BOOTLOADER));
}

static void check_chip(struct ctx *c, enum chip_id *inferred)
{
    struct profile *p = c->p;
    const struct region *first = NULL;
    int first_id = -1;

    *inferred = p->chip;
    for (size_t i = 0; i < p->n_regions; i++) {
        const struct region *r = &p->regions[i];
        int id = is_bootable(r) ? image_chip_id(r) : -1;
        if (id < 0)
            continue;
        const struct chip_desc *d = chip_by_image_id((uint32_t)id);
        char built[64];
        if (d)
            scpy(built, sizeof built, d->display);
        else
            snprintf(built, sizeof built, "an unknown chip (id %d)", id);
        if (p->chip != CHIP_UNKNOWN) {
            const struct chip_desc *want = chip_get(p->chip);
            if (want->image_chip_id != id)
                ERR_AT(c, r->img_at, "%s was built for %s (image chip id "
                       "%d), but the profile's chip is %s (id %d); use "
                       "the %s build or change 'chip'", r->source, built,
                       id, want->name, want->image_chip_id, want->display);
        } else if (first && first_id != id) {
            ERR_AT(c, r->img_at, "%s was built for %s but %s for another "
                   "chip (image chip ids %d and %d)", r->source, built,
                   first->source, id, first_id);
        } else if (!first) {
            first = r;
            first_id = id;
            if (d)
                *inferred = d->id;
        }
    }
}

/* Extent a region occupies in flash (images erase whole sectors). */
static uint64_t region_end(const struct region *r)
{
    if (r->pub.kind == PROFILE_REGION_IMAGE)
        return (uint64_t)r->pub.offset +
               (((uint64_t)r->len + 0xFFF) & ~(uint64_t)0xFFF);
    return (uint64_t)r->pub.offset + r->pub.size;
}

static const char *region_what(const struct region *r, char *buf, size_t len)
{
    switch (r->pub.kind) {
    case PROFILE_REGION_TABLE:
        snprintf(buf, len, "the partition table");
        break;
    case PROFILE_REGION_PARTITION:
        snprintf(buf, len, "partition '%s'", r->name);
        break;
    default:
        snprintf(buf, len, "image '%s'", r->name);
        break;
    }
    return buf;
}

static void check_layout(struct ctx *c, enum chip_id chip)
{
    struct profile *p = c->p;
    char a[80], b[80];
    size_t nparts = 0;

    for (size_t i = 0; i < p->n_regions; i++) {
        struct region *r = &p->regions[i];
        uint32_t off = r->pub.offset;
        if (r->pub.kind == PROFILE_REGION_PARTITION) {
            nparts++;
            uint32_t al = ptable_offset_align(r->ptype);
            if (off % al)
                ERR_AT(c, r->off_at, "partition '%s' at 0x%x: %s partitions "
                       "must start on a 0x%x boundary (next: 0x%x)",
                       r->name, off, r->ptype == PTABLE_TYPE_APP ? "app"
                                                                 : "data",
                       al, (off + al - 1) / al * al);
            if (r->ptype == PTABLE_TYPE_APP && r->pub.size % 0x1000)
                ERR_AT(c, r->at, "app partition '%s' size 0x%x is not a "
                       "multiple of 4 KiB (0x1000)", r->name, r->pub.size);
            if (r->ptype == PTABLE_TYPE_DATA && r->psub == 0x00 &&
                r->pub.size != 0x2000)
                ERR_AT(c, r->at, "otadata partition '%s' must be exactly "
                       "0x2000 (8K), not 0x%x", r->name, r->pub.size);
            if (r->ptype == PTABLE_TYPE_DATA && r->psub == 0x02 &&
                r->pub.size < 0x3000)
                ERR_AT(c, r->at, "nvs partition '%s' is 0x%x; NVS needs at "
                       "least 0x3000 (12K)", r->name, r->pub.size);
            for (size_t j = 0; j < i; j++)
                if (p->regions[j].pub.kind == PROFILE_REGION_PARTITION &&
                    strcmp(p->regions[j].name, r->name) == 0)
                    ERR_AT(c, r->at, "two partitions are named '%s' (the "
                           "other at line %d)", r->name,
                           p->regions[j].at.line);
        } else if (r->pub.kind == PROFILE_REGION_IMAGE && off % 0x1000) {
            ERR_AT(c, r->off_at, "image '%s' at 0x%x is not on a 4 KiB "
                   "sector boundary (flash is erased in 4 KiB sectors)",
                   r->name, off);
        }
        if (p->flash_bytes && region_end(r) > p->flash_bytes)
            ERR_AT(c, r->pub.kind == PROFILE_REGION_IMAGE ? r->off_at : r->at,
                   "%s (0x%x..0x%llx) ends past the end of the %s flash",
                   region_what(r, a, sizeof a), off,
                   (unsigned long long)region_end(r), p->flash_size);
    }
    if (nparts > PTABLE_MAX_PARTS)   /* only a given file gets here */
        ERR_AT(c, p->regions[0].at, "the partition table has %zu entries; "
               "at most %u fit", nparts, (unsigned)PTABLE_MAX_PARTS);

    /* Overlaps (n is small: pairwise). */
    for (size_t i = 0; i < p->n_regions; i++) {
        const struct region *x = &p->regions[i];
        for (size_t j = i + 1; j < p->n_regions; j++) {
            const struct region *y = &p->regions[j];
            if (x->pub.offset >= region_end(y) ||
                y->pub.offset >= region_end(x))
                continue;
            /* report at the later one (in file order, the second) */
            const struct region *lo = x->pub.offset <= y->pub.offset ? x : y;
            const struct region *hi = lo == x ? y : x;
            bool boot_table =
                (lo->pub.kind == PROFILE_REGION_IMAGE &&
                 strcmp(lo->name, "bootloader") == 0 &&
                 hi->pub.kind == PROFILE_REGION_TABLE) ||
                (hi->pub.kind == PROFILE_REGION_IMAGE &&
                 strcmp(hi->name, "bootloader") == 0 &&
                 lo->pub.kind == PROFILE_REGION_TABLE);
            if (boot_table) {
                const struct region *bl =
                    lo->pub.kind == PROFILE_REGION_IMAGE ? lo : hi;
                const struct region *tb = bl == lo ? hi : lo;
                ERR_AT(c, tb->off_at, "the partition table at 0x%x overlaps "
                       "the bootloader (0x%x..0x%llx, %zu bytes); move the "
                       "table up or use a smaller bootloader",
                       tb->pub.offset, bl->pub.offset,
                       (unsigned long long)region_end(bl), bl->len);
                continue;
            }
            ERR_AT(c, y->off_at, "%s (0x%x..0x%llx) overlaps %s "
                   "(0x%x..0x%llx)", region_what(y, a, sizeof a),
                   y->pub.offset, (unsigned long long)region_end(y),
                   region_what(x, b, sizeof b), x->pub.offset,
                   (unsigned long long)region_end(x));
        }
    }

    /* Bootloader at the chip's offset. */
    if (chip != CHIP_UNKNOWN) {
        const struct chip_desc *d = chip_get(chip);
        for (size_t i = 0; i < p->n_regions; i++) {
            const struct region *r = &p->regions[i];
            if (r->pub.kind == PROFILE_REGION_IMAGE &&
                strcmp(r->name, "bootloader") == 0 &&
                r->pub.offset != d->bootloader_offset)
                WARN_AT(c, r->off_at, "the bootloader is at 0x%x, but the "
                        "%s ROM boots the bootloader at 0x%x", r->pub.offset,
                        d->display, d->bootloader_offset);
        }
    }
}

/* ---- load ---- */

static void set_defaults(struct profile *p, const char *path)
{
    scpy(p->path, sizeof p->path, path);
    scpy(p->dir, sizeof p->dir, path);
    char *slash = strrchr(p->dir, '/');
    if (slash)
        *(slash == p->dir ? slash + 1 : slash) = '\0';
    else
        p->dir[0] = '\0';
    const char *stem = base_name(path);
    scpy(p->name, sizeof p->name, stem);
    char *dot = strrchr(p->name, '.');
    if (dot && dot != p->name)
        *dot = '\0';
    p->chip = CHIP_UNKNOWN;
    snprintf(p->chip_name, sizeof p->chip_name, "auto");
    snprintf(p->port, sizeof p->port, "auto");
    p->baud = 0; /* not set: the port's default (engine.h) */
    p->monitor_baud = 115200;
    p->before = BEFORE_DEFAULT_RESET;
    p->after = AFTER_HARD_RESET;
    snprintf(p->flash_mode, sizeof p->flash_mode, "keep");
    snprintf(p->flash_freq, sizeof p->flash_freq, "keep");
    snprintf(p->flash_size, sizeof p->flash_size, "keep");
    snprintf(p->trigger, sizeof p->trigger, "key");
    p->bench.trigger = p->trigger;
    p->bench.probe_ms = 500;
    p->bench.records = p->records;
    p->bench.station = p->station;
    for (size_t i = 0; i < PROFILE_MAX_SLOTS; i++) {
        p->bench.slots[i].name = p->slot_name[i];
        p->bench.slots[i].port = p->slot_port[i];
    }
    p->accept.timeout_ms = 5000;
    p->accept.default_rejects = true;
}

/* ---- bench: and accept: ---- */

/* "5s", "500ms", "2.5" (seconds) -> ms within [lo, hi]. */
static bool duration_ms(struct ctx *c, yaml_node_t *n, const char *what,
                        int lo, int hi, int *out)
{
    char s[32], *end;
    double v;

    if (!scalar(c, n, what, s, sizeof s))
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (!errno && end != s && (!strcmp(end, "ms") || !strcmp(end, "s") ||
                               !*end)) {
        if (strcmp(end, "ms"))
            v *= 1000.0;
        if (v >= lo && v <= hi) {
            *out = (int)v;
            return true;
        }
    }
    ERR(c, n, "bad %s '%s'; use a duration from %g to %g s such as 5s or "
        "500ms", what, s, lo / 1000.0, hi / 1000.0);
    return false;
}

/* A list of POSIX extended regular expressions into pats[]. */
static void parse_patterns(struct ctx *c, yaml_node_t *n, const char *what,
                           char (*pats)[128], const char **ptrs, size_t *count)
{
    yaml_node_item_t *it;

    if (n->type != YAML_SEQUENCE_NODE) {
        ERR(c, n, "'%s' should be a list of patterns like [\"Hello "
            "world!\"], not %s", what, kind_text(n));
        return;
    }
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = node_of(c, *it);
        char s[128], why[128];
        regex_t re;
        int rc;

        if (*count == PROFILE_MAX_PATTERNS) {
            ERR(c, e, "at most %d %s patterns", PROFILE_MAX_PATTERNS, what);
            return;
        }
        if (!scalar(c, e, what, s, sizeof s))
            continue;
        if (!s[0]) {
            ERR(c, e, "an empty %s pattern matches every line", what);
            continue;
        }
        rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            regerror(rc, &re, why, sizeof why);
            ERR(c, e, "%s pattern '%s' is not a POSIX extended regular "
                "expression: %s (escape ( ) [ ] . * + ? with \\\\)", what, s,
                why);
            continue;
        }
        regfree(&re);
        scpy(pats[*count], sizeof pats[*count], s);
        ptrs[*count] = pats[*count];
        (*count)++;
    }
}

static void parse_accept(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"timeout", "expect", "reject",
                                       "default_rejects", NULL};
    struct profile *p = c->p;
    yaml_node_t *v;
    char s[16];

    if (!want_map(c, n, "accept", "{timeout: 5s, expect: [\"Hello world!\"]}"))
        return;
    p->accept.present = true;
    check_keys(c, n, "accept", keys);
    if ((v = get(c, n, "timeout")))
        duration_ms(c, v, "accept timeout", 100, 600000,
                    &p->accept.timeout_ms);
    if ((v = get(c, n, "expect")))
        parse_patterns(c, v, "expect", p->expect, p->accept.expect,
                       &p->accept.n_expect);
    if ((v = get(c, n, "reject")))
        parse_patterns(c, v, "reject", p->reject, p->accept.reject,
                       &p->accept.n_reject);
    if ((v = get(c, n, "default_rejects")) &&
        scalar(c, v, "default_rejects", s, sizeof s)) {
        if (!strcmp(s, "true") || !strcmp(s, "yes"))
            p->accept.default_rejects = true;
        else if (!strcmp(s, "false") || !strcmp(s, "no"))
            p->accept.default_rejects = false;
        else
            ERR(c, v, "default_rejects is true or false, not '%s'", s);
    }
}

/* "1-1.4": bus, then port numbers joined by dots. */
static bool usb_path_ok(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (!n || s[n] != '-' || !isdigit((unsigned char)s[n + 1]))
        return false;
    s += n + 1;
    return strspn(s, "0123456789.") == strlen(s) && s[strlen(s) - 1] != '.' &&
           !strstr(s, "..");
}

static void parse_slot(struct ctx *c, yaml_node_t *e, size_t i)
{
    static const char *const keys[] = {"name", "port", "usb_path",
                                       "usb_serial", NULL};
    struct profile *p = c->p;
    yaml_node_t *v, *where = e;
    char s[200];
    int given = 0;

    snprintf(p->slot_name[i], sizeof p->slot_name[i], "%zu", i + 1);
    if (e->type == YAML_SCALAR_NODE) {  /* - /dev/ttyUSB0 */
        scalar(c, e, "slot", p->slot_port[i], sizeof p->slot_port[i]);
        given = 1;
    } else if (want_map(c, e, "slot", "{name: A, port: /dev/ttyUSB0} or "
                        "{name: B, usb_path: 1-1.4}")) {
        check_keys(c, e, "a slot", keys);
        if ((v = get(c, e, "name")))
            scalar(c, v, "slot name", p->slot_name[i],
                   sizeof p->slot_name[i]);
        if ((v = get(c, e, "port")) &&
            scalar(c, v, "port", p->slot_port[i], sizeof p->slot_port[i])) {
            given++;
            where = v;
        }
        if ((v = get(c, e, "usb_path")) &&
            scalar(c, v, "usb_path", s, sizeof s)) {
            given++;
            where = v;
            if (!usb_path_ok(s))
                ERR(c, v, "usb_path '%s' is not a USB physical path like "
                    "1-1.4 (bus-port.port; espdeck ports shows them)", s);
            snprintf(p->slot_port[i], sizeof p->slot_port[i], "usb-path:%s",
                     s);
        }
        if ((v = get(c, e, "usb_serial")) &&
            scalar(c, v, "usb_serial", s, sizeof s)) {
            given++;
            where = v;
            snprintf(p->slot_port[i], sizeof p->slot_port[i],
                     "usb-serial:%s", s);
        }
    } else {
        return;
    }
    if (given != 1)
        ERR(c, e, "slot %s needs exactly one of port, usb_path or "
            "usb_serial", p->slot_name[i]);
    else if (!p->slot_port[i][0])
        ERR(c, where, "slot %s has an empty port", p->slot_name[i]);
    for (size_t k = 0; k < i && given == 1; k++) {
        if (!strcmp(p->slot_port[k], p->slot_port[i]) &&
            strncmp(p->slot_port[i], "sim:", 4))
            ERR(c, where, "slots %s and %s are the same port %s",
                p->slot_name[k], p->slot_name[i], p->slot_port[i]);
        if (!strcmp(p->slot_name[k], p->slot_name[i]))
            ERR(c, where, "two slots are named %s", p->slot_name[i]);
    }
}

static void parse_bench(struct ctx *c, yaml_node_t *n)
{
    static const char *const keys[] = {"trigger", "probe_interval", "records",
                                       "station", "slots", NULL};
    static const char *const triggers[] = {"key", "probe", "port", NULL};
    struct profile *p = c->p;
    yaml_node_t *v;
    char s[SRC_MAX], list[64];

    if (!want_map(c, n, "bench", "{trigger: probe, slots: [/dev/ttyUSB0]}"))
        return;
    p->bench.present = true;
    check_keys(c, n, "bench", keys);
    if ((v = get(c, n, "trigger")) &&
        scalar(c, v, "trigger", s, sizeof s)) {
        if (in_list(s, triggers))
            scpy(p->trigger, sizeof p->trigger, s);
        else
            ERR(c, v, "unknown trigger '%s'; use one of %s", s,
                join(triggers, list, sizeof list));
    }
    if ((v = get(c, n, "probe_interval")))
        duration_ms(c, v, "probe_interval", 100, 10000, &p->bench.probe_ms);
    if ((v = get(c, n, "records")) && scalar(c, v, "records", s, sizeof s)) {
        if (!s[0])
            ERR(c, v, "'records' is empty; leave it out for the default "
                "file");
        else
            resolve_path(p, s, p->records, sizeof p->records);
    }
    if ((v = get(c, n, "station")))
        scalar(c, v, "station", p->station, sizeof p->station);
    if ((v = get(c, n, "slots"))) {
        yaml_node_item_t *it;

        if (v->type != YAML_SEQUENCE_NODE) {
            ERR(c, v, "'slots' should be a list of ports like "
                "[/dev/ttyUSB0, {name: B, usb_path: 1-1.4}], not %s",
                kind_text(v));
            return;
        }
        for (it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            if (p->bench.n_slots == PROFILE_MAX_SLOTS) {
                ERR(c, node_of(c, *it), "at most %d slots",
                    PROFILE_MAX_SLOTS);
                break;
            }
            parse_slot(c, node_of(c, *it), p->bench.n_slots++);
        }
    }
}

/*
 * idf_build: an ESP-IDF build folder, read now (so the profile follows the
 * latest build, as `idf.py flash` does): its flasher_args.json gives the
 * partition table, the images, the chip and the flash settings (the
 * profile's own chip/flash keys win), project_description.json the ELF.
 * The build is turned into profile text (idfimport, as `profile import`)
 * whose partition_table and images are parsed here; its problems are
 * reported at the idf_build line.
 */
static void parse_idf_build(struct ctx *c, yaml_node_t *n, yaml_node_t *root)
{
    struct profile *p = c->p;
    const char *home = getenv("HOME");
    char dir[SRC_MAX], raw[SRC_MAX], why[ED_ERRMSG_MAX];
    yaml_document_t doc2, saved;
    yaml_parser_t parser;
    yaml_node_t *r2, *v;
    struct stat st;
    char *text = NULL;
    size_t first = c->rep->n, first_region = p->n_regions;
    bool is_env = false, mismatch = false, own_flash;

    if (!scalar(c, n, "idf_build", raw, sizeof raw) || !raw[0]) {
        if (n->type == YAML_SCALAR_NODE && !raw[0])
            ERR(c, n, "'idf_build' is empty; give an ESP-IDF build folder");
        return;
    }
    is_env = n->type == YAML_SCALAR_NODE &&
             strstr((const char *)n->data.scalar.value, "${") != NULL;
    if (raw[0] == '~' && raw[1] == '/' && home)
        snprintf(dir, sizeof dir, "%s%s", home, raw + 1);
    else
        resolve_path(p, raw, dir, sizeof dir);
    if (get(c, root, "partition_table"))
        ERR(c, get(c, root, "partition_table"), "the idf_build folder "
            "brings its own partition table: remove partition_table (or "
            "idf_build)");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (is_env) {
            const char *v0 = strstr((const char *)n->data.scalar.value,
                                    "${") + 2;

            ERR(c, n, "the ESP-IDF build folder %s does not exist: build "
                "your project there (idf.py build), or set %.*s to your "
                "project's build folder", dir, (int)strspn(v0,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789_"), v0);
        } else
            ERR(c, n, "the ESP-IDF build folder %s does not exist: build "
                "the project (idf.py build), or fix the path (a relative "
                "one starts at the profile's folder)", dir);
        return;
    }
    if (idfimport_text(&text, dir, NULL, why, sizeof why) != ED_OK) {
        if (!text && strstr(why, "out of memory"))
            c->nomem = true;
        else
            ERR(c, n, "idf_build: %s", why);
        return;
    }
    if (!p->elf[0] && !get(c, root, "elf"))
        idfimport_elf(dir, p->elf, sizeof p->elf);
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        c->nomem = true;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text,
                                 strlen(text));
    if (!yaml_parser_load(&parser, &doc2)) {
        yaml_parser_delete(&parser);
        free(text);
        ERR(c, n, "idf_build: the build's profile text does not parse");
        return;
    }
    yaml_parser_delete(&parser);
    /* root's keys are looked up before c->doc becomes the build's text */
    own_flash = get(c, root, "flash") != NULL;
    saved = c->doc;
    c->doc = doc2;
    r2 = yaml_document_get_root_node(&c->doc);
    if (r2) {
        char want[16];
        enum chip_id mine = p->chip;

        snprintf(want, sizeof want, "%s", p->chip_name);
        if ((v = get(c, r2, "chip")))
            parse_chip(c, v);
        if (mine != CHIP_UNKNOWN && p->chip != CHIP_UNKNOWN &&
            p->chip != mine) {
            const struct chip_desc *b = chip_get(p->chip);

            c->doc = saved;
            ERR(c, n, "the build in %s is for %s, but the profile's chip is "
                "%s: build for %s (idf.py set-target %s) or change 'chip'",
                dir, b ? b->display : p->chip_name, want, want, want);
            c->doc = doc2;
            mismatch = true;    /* its images would only say it again */
        }
        if (mine != CHIP_UNKNOWN) {
            p->chip = mine;
            snprintf(p->chip_name, sizeof p->chip_name, "%s", want);
        }
        if (!mismatch && !own_flash && (v = get(c, r2, "flash")))
            parse_flash(c, v);
        if (!mismatch && (v = get(c, r2, "partition_table")))
            parse_table(c, v);
        if (!mismatch && (v = get(c, r2, "images")))
            parse_images(c, v);
    }
    c->doc = saved;
    yaml_document_delete(&doc2);
    free(text);
    /* what went wrong in the build's text is said at the idf_build line */
    for (size_t i = first; i < c->rep->n; i++) {
        struct profile_problem *pr = &c->rep->items[i];
        char msg[sizeof pr->message];

        if (pr->line == (int)n->start_mark.line + 1)
            continue;
        snprintf(msg, sizeof msg, "idf_build: %.300s", pr->message);
        snprintf(pr->message, sizeof pr->message, "%s", msg);
        pr->line = (int)n->start_mark.line + 1;
        pr->col = (int)n->start_mark.column + 1;
    }
    /* and so is what the later checks find in its images */
    for (size_t i = first_region; i < p->n_regions; i++)
        p->regions[i].at = p->regions[i].off_at = p->regions[i].img_at =
            mark_of(n);
}

static void parse_root(struct ctx *c, yaml_node_t *root)
{
    struct profile *p = c->p;
    yaml_node_t *v;
    enum chip_id chip;

    if (root->type != YAML_MAPPING_NODE) {
        ERR(c, root, "a profile is a mapping of settings (name:, chip:, "
            "port:, ...), not %s", kind_text(root));
        return;
    }
    check_keys(c, root, NULL, top_keys);
    if ((v = get(c, root, "name")))
        scalar(c, v, "name", p->name, sizeof p->name);
    if ((v = get(c, root, "chip")))
        parse_chip(c, v);
    if ((v = get(c, root, "port")) &&
        scalar(c, v, "port", p->port, sizeof p->port) && !p->port[0])
        ERR(c, v, "'port' is empty; use auto, /dev/ttyUSB0, "
            "rfc2217://host:port or sim:CHIP");
    if ((v = get(c, root, "baud")) && v->type == YAML_SCALAR_NODE &&
        !strcmp((const char *)v->data.scalar.value, "auto")) {
        p->baud = ENGINE_BAUD_AUTO; /* the ladder, on any port */
        p->baud_set = true;
    } else if (v)
        if (parse_baud(c, v, "baud", &p->baud)) {
            char why[ED_ERRMSG_MAX];

            p->baud_set = true;
            /* the flashing baud: what the chips and adapters can do */
            if (chip_baud_check(p->baud, "baud", why, sizeof why))
                ERR(c, v, "%.300s", why);
        }
    if ((v = get(c, root, "monitor")))
        parse_monitor(c, v);
    if ((v = get(c, root, "elf")))
        parse_elf(c, v);
    if ((v = get(c, root, "reset")))
        parse_reset(c, v);
    if ((v = get(c, root, "flash")))
        parse_flash(c, v);
    if ((v = get(c, root, "idf_build")))
        parse_idf_build(c, v, root);
    else if ((v = get(c, root, "partition_table")))
        parse_table(c, v);
    if ((v = get(c, root, "images")))
        parse_images(c, v);
    if ((v = get(c, root, "bench")))
        parse_bench(c, v);
    if ((v = get(c, root, "accept")))
        parse_accept(c, v);
    if (c->nomem)
        return;
    load_images(c);
    check_chip(c, &chip);
    check_layout(c, chip);
    if (p->n_regions)
        qsort(p->regions, p->n_regions, sizeof *p->regions, region_cmp);
    for (size_t i = 0; i < p->n_regions; i++)
        fix_pointers(&p->regions[i]);
    if (p->n_regions == 0 && c->rep->n_errors == 0)
        WARN_AT(c, mark_of(root), "the profile has nothing to flash (no "
                "partition_table and no images)");
}

/*
 * Check text (given, or read from path when text is NULL).  Relative paths
 * in it start at path's folder.
 */
static int check_text(struct profile **out, const char *path,
                      const char *given, size_t given_len,
                      struct profile_report *rep)
{
    struct ctx c;
    yaml_parser_t parser;
    uint8_t *text = NULL;
    size_t len = 0;
    char why[200];
    int rc = ED_OK;
    bool parsed = false;

    if (out)
        *out = NULL;
    memset(rep, 0, sizeof *rep);
    scpy(rep->file, sizeof rep->file, path);
    memset(&c, 0, sizeof c);
    c.rep = rep;
    c.p = calloc(1, sizeof *c.p);
    if (!c.p)
        return ED_ERR_NOMEM;
    set_defaults(c.p, path);

    if (given) {
        text = malloc(given_len + 1);
        if (!text) {
            rc = ED_ERR_NOMEM;
            goto out;
        }
        memcpy(text, given, given_len);
        text[given_len] = '\0';
        len = given_len;
    } else {
        rc = read_file(path, &text, &len, why, sizeof why);
    }
    if (rc == ED_ERR_NOMEM)
        goto out;
    if (rc != ED_OK) {
        ERR_AT(&c, ((struct mark){0, 0}), "cannot read the profile: %s",
               why);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = ED_ERR_NOMEM;
        goto out;
    }
    SHA256Data(text, len, c.p->sha256);
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        struct mark m = {(int)parser.problem_mark.line + 1,
                         (int)parser.problem_mark.column + 1};
        /* "${VAR}" inside { } is YAML flow syntax: say so */
        bool env_in_flow = strstr((const char *)text, "${") != NULL &&
                           parser.context &&
                           strstr(parser.context, "flow") != NULL;
        size_t at = parser.problem_mark.index;
        /* libyaml: "found character that cannot start any token" */
        if ((at < len && text[at] == '\t') ||
            (parser.problem && strstr(parser.problem, "tab"))) {
            ERR_AT(&c, m, "tabs are not allowed in YAML: indent with "
                   "spaces");
            yaml_parser_delete(&parser);
            goto out;
        }
        ERR_AT(&c, m, "not valid YAML: %s%s%s%s",
               parser.problem ? parser.problem : "syntax error",
               parser.context ? " " : "",
               parser.context ? parser.context : "",
               env_in_flow ? " (inside { } put values with ${...} in "
                             "quotes: file: \"${VAR}/x.bin\")" : "");
        yaml_parser_delete(&parser);
        goto out;
    }
    yaml_parser_delete(&parser);
    parsed = true;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root)
        ERR_AT(&c, ((struct mark){1, 1}), "the profile is empty");
    else
        parse_root(&c, root);
out:
    /* file order (insertion sort: stable, and reports are short) */
    for (size_t i = 1; i < rep->n; i++) {
        struct profile_problem tmp = rep->items[i];
        size_t j = i;
        for (; j > 0 && (rep->items[j - 1].line > tmp.line ||
                         (rep->items[j - 1].line == tmp.line &&
                          rep->items[j - 1].col > tmp.col)); j--)
            rep->items[j] = rep->items[j - 1];
        rep->items[j] = tmp;
    }
    if (parsed)
        yaml_document_delete(&c.doc);
    free(text);
    if (c.nomem)
        rc = ED_ERR_NOMEM;
    else if (rep->n_errors)
        rc = ED_ERR_PROFILE;
    else
        rc = rc == ED_ERR_NOMEM ? rc : ED_OK;
    if (rc == ED_OK && out)
        *out = c.p;
    else
        profile_free(c.p);
    return rc;
}

int profile_check(struct profile **out, const char *path,
                  struct profile_report *rep)
{
    return check_text(out, path, NULL, 0, rep);
}

int profile_check_text(struct profile **out, const char *path,
                       const char *text, struct profile_report *rep)
{
    return check_text(out, path, text ? text : "", text ? strlen(text) : 0,
                      rep);
}

int profile_user_config(struct profile_user_config *out, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"port", "baud", "records", NULL};
    const char *xc = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    struct profile_report rep;
    struct ctx c;
    yaml_parser_t parser;
    yaml_node_t *root, *v;
    uint8_t *text = NULL;
    size_t len = 0;
    char why[200];
    int rc = ED_OK;
    bool parsed = false;

    memset(out, 0, sizeof *out);
    if (xc && xc[0] == '/')
        snprintf(out->path, sizeof out->path, "%s/espdeck/config.yaml", xc);
    else if (home && *home)
        snprintf(out->path, sizeof out->path,
                 "%s/.config/espdeck/config.yaml", home);
    if (!out->path[0] || access(out->path, F_OK) != 0) {
        out->path[0] = '\0';
        return ED_OK;
    }
    memset(&rep, 0, sizeof rep);
    memset(&c, 0, sizeof c);
    c.rep = &rep;
    c.p = calloc(1, sizeof *c.p);
    if (!c.p)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    set_defaults(c.p, out->path);
    if (read_file(out->path, &text, &len, why, sizeof why) != ED_OK) {
        rc = ed_seterr(err, errlen, ED_ERR_PROFILE, "%s: %s", out->path, why);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto out;
    }
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        rc = ed_seterr(err, errlen, ED_ERR_PROFILE, "%s:%d:%d: %s",
                       out->path, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1,
                       text[parser.problem_mark.index < len
                                ? parser.problem_mark.index : 0] == '\t'
                           ? "tabs are not allowed in YAML: indent with "
                             "spaces"
                           : parser.problem ? parser.problem
                                            : "not valid YAML");
        yaml_parser_delete(&parser);
        goto out;
    }
    yaml_parser_delete(&parser);
    parsed = true;
    root = yaml_document_get_root_node(&c.doc);
    if (root && want_map(&c, root, "config.yaml",
                         "port: /dev/ttyUSB0, baud: 460800, records: DIR")) {
        check_keys(&c, root, "config.yaml", keys);
        if ((v = get(&c, root, "port")))
            scalar(&c, v, "port", out->port, sizeof out->port);
        if ((v = get(&c, root, "baud")))
            parse_baud(&c, v, "baud", &out->baud);
        if ((v = get(&c, root, "records")) &&
            scalar(&c, v, "records", why, sizeof why)) {
            if (why[0] == '~' && why[1] == '/' && home)
                snprintf(out->records, sizeof out->records, "%s%s", home,
                         why + 1);
            else
                snprintf(out->records, sizeof out->records, "%s", why);
        }
    }
    for (size_t i = 0; i < rep.n; i++)
        if (rep.items[i].severity == PROFILE_ERROR) {
            rc = ed_seterr(err, errlen, ED_ERR_PROFILE, "%s:%d:%d: %s",
                           out->path, rep.items[i].line, rep.items[i].col,
                           rep.items[i].message);
            break;
        }
out:
    if (parsed)
        yaml_document_delete(&c.doc);
    free(text);
    profile_free(c.p);
    profile_report_free(&rep);
    return rc;
}

int profile_load(struct profile **out, const char *path, char *err,
                 size_t errlen)
{
    struct profile_report rep;
    int rc = profile_check(out, path, &rep);
    if (rc == ED_ERR_NOMEM) {
        ed_seterr(err, errlen, rc, "%s: out of memory", path);
    } else if (rc != ED_OK) {
        for (size_t i = 0; i < rep.n; i++) {
            const struct profile_problem *pr = &rep.items[i];
            if (pr->severity != PROFILE_ERROR)
                continue;
            if (pr->line > 0)
                ed_seterr(err, errlen, rc, "%s:%d:%d: %s", path, pr->line,
                          pr->col, pr->message);
            else
                ed_seterr(err, errlen, rc, "%s: %s", path, pr->message);
            break;
        }
    }
    profile_report_free(&rep);
    return rc;
}

void profile_free(struct profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_regions; i++)
        free(p->regions[i].data);
    free(p->regions);
    free(p);
}

int profile_to_job(const struct profile *p, const char *port_override,
                   struct engine_job *job, char *err, size_t errlen)
{
    size_t n = 0;

    scpy(job->port, sizeof job->port,
         port_override && *port_override ? port_override : p->port);
    if (p->baud)
        job->baud = p->baud;
    job->monitor_baud = p->monitor_baud;
    job->before = p->before;
    job->after = p->after;
    scpy(job->reset_seq, sizeof job->reset_seq, p->reset_seq);
    job->expect_chip = p->chip;
    scpy(job->flash_mode, sizeof job->flash_mode, p->flash_mode);
    scpy(job->flash_freq, sizeof job->flash_freq, p->flash_freq);
    scpy(job->flash_size, sizeof job->flash_size, p->flash_size);
    for (size_t i = 0; i < p->n_regions; i++)
        if (p->regions[i].data && p->regions[i].len)
            n++;
    if (n > ENGINE_MAX_IMAGES)
        return ed_seterr(err, errlen, ED_ERR_PROFILE,
                         "%s: %zu images to write; at most %d in one job",
                         p->path, n, ENGINE_MAX_IMAGES);
    job->n_images = 0;
    for (size_t i = 0; i < p->n_regions; i++) {
        const struct region *r = &p->regions[i];
        if (!r->data || !r->len)
            continue;
        struct engine_image *im = &job->images[job->n_images];
        memset(im, 0, sizeof *im);
        scpy(im->name, sizeof im->name, r->name);
        scpy(im->source, sizeof im->source, r->source);
        im->offset = r->pub.offset;
        im->region_size = r->pub.kind == PROFILE_REGION_IMAGE ? 0
                                                              : r->pub.size;
        im->data = malloc(r->len);
        if (!im->data) {
            for (size_t k = 0; k < job->n_images; k++) {
                free(job->images[k].data);
                job->images[k].data = NULL;
            }
            job->n_images = 0;
            return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory "
                             "copying %s", r->source);
        }
        memcpy(im->data, r->data, r->len);
        im->len = r->len;
        job->n_images++;
    }
    return ED_OK;
}

/* ---- accessors ---- */

const char *profile_path(const struct profile *p) { return p->path; }
const char *profile_name(const struct profile *p) { return p->name; }
enum chip_id profile_chip(const struct profile *p) { return p->chip; }
const char *profile_chip_name(const struct profile *p) { return p->chip_name; }
const char *profile_port(const struct profile *p) { return p->port; }
const char *profile_elf(const struct profile *p) { return p->elf; }
uint32_t profile_baud(const struct profile *p) { return p->baud; }
bool profile_baud_set(const struct profile *p) { return p->baud_set; }
uint32_t profile_monitor_baud(const struct profile *p)
{
    return p->monitor_baud;
}
const char *profile_flash_mode(const struct profile *p)
{
    return p->flash_mode;
}
const char *profile_flash_freq(const struct profile *p)
{
    return p->flash_freq;
}
const char *profile_flash_size(const struct profile *p)
{
    return p->flash_size;
}
uint32_t profile_flash_bytes(const struct profile *p)
{
    return p->flash_bytes;
}

size_t profile_n_regions(const struct profile *p) { return p->n_regions; }

const struct profile_region *profile_region(const struct profile *p,
                                            size_t i)
{
    return i < p->n_regions ? &p->regions[i].pub : NULL;
}

size_t profile_n_images(const struct profile *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_regions; i++)
        n += p->regions[i].data && p->regions[i].len ? 1 : 0;
    return n;
}

uint64_t profile_write_bytes(const struct profile *p)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->n_regions; i++)
        n += p->regions[i].data ? p->regions[i].len : 0;
    return n;
}

const struct profile_bench *profile_bench(const struct profile *p)
{
    return &p->bench;
}

const struct profile_accept *profile_accept(const struct profile *p)
{
    return &p->accept;
}

const char *profile_sha256(const struct profile *p) { return p->sha256; }
