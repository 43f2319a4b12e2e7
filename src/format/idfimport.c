/*
 * idfimport.c - a profile from an ESP-IDF build directory (see idfimport.h).
 */
#include "idfimport.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "ptable.h"

struct buf {
    char *s;
    size_t len, cap;
    bool nomem;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->nomem = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->nomem = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static int slurp(const char *path, char **out, size_t *len)
{
    struct stat st;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = NULL;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    char *s = malloc((size_t)st.st_size + 1);
    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, s + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    s[got] = '\0';
    *out = s;
    *len = got;
    return 0;
}

int idfimport_relpath(const char *path, const char *dir, char *out,
                      size_t len)
{
    char p[PATH_MAX], d[PATH_MAX];
    size_t common = 0, i, at = 0;

    if (!realpath(path, p) || !realpath(dir, d))
        return ED_ERR_NOT_FOUND;
    /* longest common prefix ending at a '/' boundary */
    for (i = 0; p[i] && p[i] == d[i]; i++)
        if (p[i] == '/')
            common = i;
    if (d[i] == '\0' && p[i] == '/')
        common = i;
    else if (strcmp(d, "/") == 0)
        common = 0;
    out[0] = '\0';
    /* one ".." per directory of d below the common prefix */
    for (const char *s = d + common; *s; s++) {
        if (*s == '/' && s[1]) {
            if (at + 3 >= len)
                return ED_ERR_ARG;
            memcpy(out + at, "../", 3);
            at += 3;
        }
    }
    if (at + strlen(p + common + 1) >= len)
        return ED_ERR_ARG;
    strcpy(out + at, p + common + 1);
    return ED_OK;
}

/* dir/file into out; "" when it does not fit (then it cannot be read). */
static void join_path(char *out, size_t len, const char *dir,
                      const char *file)
{
    int n = file[0] == '/' ? snprintf(out, len, "%s", file)
                           : snprintf(out, len, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= len)
        out[0] = '\0';
}

/* build_dir/file as a path relative to profile_dir, into out[PATH_MAX]. */
static int image_rel(char *out, const char *build_dir, const char *file,
                     const char *profile_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];

    join_path(path, sizeof path, build_dir, file);
    if (!profile_dir) {
        /* absolute: the text may be saved anywhere */
        if (!realpath(path, out))
            return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                             "cannot find %s", path);
        return ED_OK;
    }
    if (idfimport_relpath(path, profile_dir, out, PATH_MAX))
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "cannot make %s relative to %s", path, profile_dir);
    return ED_OK;
}

/* The app's ELF that project_description.json names ("app_elf", in the
 * build folder), relative to profile_dir into rel; false when there is
 * none (an older build, or the file is gone). */
static bool app_elf(char *rel, const char *build_dir, const char *profile_dir)
{
    char path[PATH_MAX], *json = NULL;
    size_t len;
    cJSON *root;
    const cJSON *v;
    bool ok = false;

    join_path(path, sizeof path, build_dir, "project_description.json");
    if (slurp(path, &json, &len))
        return false;
    root = cJSON_Parse(json);
    v = cJSON_GetObjectItemCaseSensitive(root, "app_elf");
    if (cJSON_IsString(v) && v->valuestring[0] &&
        !strchr(v->valuestring, '/') && !strchr(v->valuestring, '\\')) {
        join_path(path, sizeof path, build_dir, v->valuestring);
        ok = idfimport_relpath(path, profile_dir, rel, PATH_MAX) == 0;
    }
    cJSON_Delete(root);
    free(json);
    return ok;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int idfimport_elf(const char *build_dir, char *out, size_t len)
{
    char path[PATH_MAX], *json = NULL;
    size_t n;
    cJSON *root;
    const char *elf;
    int rc = ED_ERR_NOT_FOUND;

    out[0] = '\0';
    join_path(path, sizeof path, build_dir, "project_description.json");
    if (slurp(path, &json, &n))
        return ED_ERR_NOT_FOUND;
    root = cJSON_Parse(json);
    free(json);
    elf = jstr(root, "app_elf");
    if (elf) {
        join_path(path, sizeof path, build_dir, elf);
        if (path[0] && access(path, R_OK) == 0 &&
            (size_t)snprintf(out, len, "%s", path) < len)
            rc = ED_OK;
        else
            out[0] = '\0';
    }
    cJSON_Delete(root);
    return rc;
}

/* A YAML double-quoted scalar. */
static void put_quoted(struct buf *b, const char *s)
{
    put(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            put(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            put(b, "\\x%02x", (unsigned char)*s);
        else
            put(b, "%c", *s);
    }
    put(b, "\"");
}

static bool isalpha_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void put_name(struct buf *b, const char *s)
{
    bool plain = *s && (isalpha_ascii(*s) || *s == '_');
    for (const char *q = s; *q && plain; q++)
        plain = isalpha_ascii(*q) || (*q >= '0' && *q <= '9') || *q == '_' ||
                *q == '-' || *q == '.';
    if (plain)
        put(b, "%s", s);
    else
        put_quoted(b, s);
}

static void put_size(struct buf *b, uint32_t v)
{
    if (v && v % 0x100000 == 0)
        put(b, "%uM", v / 0x100000);
    else if (v && v % 0x400 == 0)
        put(b, "%uK", v / 0x400);
    else
        put(b, "0x%x", v);
}


static void dashes(char *s)
{
    for (; *s; s++)
        if (*s == '_')
            *s = '-';
}

struct flash_file {
    uint32_t offset;
    char path[PATH_MAX];     /* as in the JSON, relative to the build dir */
    char name[64];
    bool used;
};

static int by_offset(const void *a, const void *b)
{
    const struct flash_file *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int idfimport_text(char **out, const char *build_dir, const char *profile_dir,
                   char *err, size_t errlen)
{
    struct buf b = {0};
    struct flash_file *ff = NULL;
    struct ptable *t = NULL;
    cJSON *root = NULL;
    char *json = NULL, *tab = NULL;
    char path[PATH_MAX], rel[PATH_MAX];
    size_t len, nff = 0;
    int rc = ED_OK;
    uint32_t table_off = PTABLE_OFFSET_DEFAULT;
    struct flash_file *table_file = NULL;

    *out = NULL;
    join_path(path, sizeof path, build_dir, "flasher_args.json");
    int e = slurp(path, &json, &len);
    if (e) {
        rc = ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                       "cannot read %s: %s (is %s an ESP-IDF build "
                       "directory? run idf.py build first)", path,
                       strerror(-e), build_dir);
        goto out;
    }
    root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        rc = ed_seterr(err, errlen, ED_ERR_PROFILE,
                       "%s is not valid JSON (near '%.20s')", path,
                       cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
        goto out;
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root,
                                                          "flash_files");
    if (!cJSON_IsObject(files) || !cJSON_GetArraySize(files)) {
        rc = ed_seterr(err, errlen, ED_ERR_PROFILE,
                       "%s has no flash_files", path);
        goto out;
    }
    ff = calloc((size_t)cJSON_GetArraySize(files), sizeof *ff);
    t = calloc(1, sizeof *t);
    if (!ff || !t) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, files) {
        struct flash_file *f = &ff[nff];
        if (!cJSON_IsString(it) ||
            ptable_parse_number(it->string, &f->offset) != ED_OK) {
            rc = ed_seterr(err, errlen, ED_ERR_PROFILE,
                           "%s: flash_files entry '%s' is not an offset "
                           "and a file", path, it->string);
            goto out;
        }
        snprintf(f->path, sizeof f->path, "%s", it->valuestring);
        nff++;
    }
    qsort(ff, nff, sizeof *ff, by_offset);
    /* names from the top-level objects: "bootloader": {offset, file} */
    cJSON_ArrayForEach(it, root) {
        const char *off = jstr(it, "offset"), *file = jstr(it, "file");
        uint32_t o;
        if (!cJSON_IsObject(it) || !off || !file ||
            ptable_parse_number(off, &o) != ED_OK)
            continue;
        for (size_t i = 0; i < nff; i++)
            if (ff[i].offset == o && !ff[i].name[0])
                snprintf(ff[i].name, sizeof ff[i].name, "%s", it->string);
        if (strcmp(it->string, "partition-table") == 0)
            table_off = o;
    }
    for (size_t i = 0; i < nff; i++) {
        if (ff[i].offset == table_off ||
            (!table_file && strstr(ff[i].path, "partition-table")))
            table_file = &ff[i];
        if (!ff[i].name[0]) {
            const char *base = strrchr(ff[i].path, '/');
            snprintf(ff[i].name, sizeof ff[i].name, "%s",
                     base ? base + 1 : ff[i].path);
            char *dot = strrchr(ff[i].name, '.');
            if (dot && dot != ff[i].name)
                *dot = '\0';
        }
    }
    /* every file must exist: the profile would not load otherwise */
    for (size_t i = 0; i < nff; i++) {
        struct stat st;
        join_path(path, sizeof path, build_dir, ff[i].path);
        if (stat(path, &st) != 0) {
            rc = ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                           "flasher_args.json names %s, which does not "
                           "exist (rebuild with idf.py build)", path);
            goto out;
        }
    }

    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(
        root, "extra_esptool_args");
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root,
                                                       "flash_settings");
    const char *chip = jstr(extra, "chip");
    char before[32], after[32];
    snprintf(before, sizeof before, "%s",
             jstr(extra, "before") ? jstr(extra, "before") : "default-reset");
    snprintf(after, sizeof after, "%s",
             jstr(extra, "after") ? jstr(extra, "after") : "hard-reset");
    dashes(before);
    dashes(after);
    const char *app = jstr(cJSON_GetObjectItemCaseSensitive(root, "app"),
                           "file");
    char name[64] = "esp-idf project";
    if (app) {
        const char *base = strrchr(app, '/');
        snprintf(name, sizeof name, "%s", base ? base + 1 : app);
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
    }

    put(&b, "# Imported from an ESP-IDF build directory by `espdeck profile "
            "import`.\n# The partition layout is decoded from the build's "
            "partition table;\n# edit it here (the table binary is "
            "generated from it).\n");
    put(&b, "name: ");
    put_quoted(&b, name);
    /* no baud: the port's default (--baud auto on USB and RFC 2217) */
    put(&b, "\nchip: %s\nport: auto\nmonitor: {baud: 115200}\n",
        chip ? chip : "auto");
    put(&b, "reset: {before: %s, after: %s}\n", before, after);
    if (app_elf(rel, build_dir, profile_dir)) {
        put(&b, "elf: ");   /* the monitor decodes panics with it */
        put_quoted(&b, rel);
        put(&b, "\n");
    }
    put(&b, "flash: {mode: %s, freq: %s, size: %s}\n",
        jstr(fs, "flash_mode") ? jstr(fs, "flash_mode") : "keep",
        jstr(fs, "flash_freq") ? jstr(fs, "flash_freq") : "keep",
        jstr(fs, "flash_size") ? jstr(fs, "flash_size") : "keep");

    if (table_file) {
        char why[ED_ERRMSG_MAX];
        join_path(path, sizeof path, build_dir, table_file->path);
        e = slurp(path, &tab, &len);
        if (e) {
            rc = ed_seterr(err, errlen, ED_ERR_NOT_FOUND, "cannot read %s: "
                           "%s", path, strerror(-e));
            goto out;
        }
        if (ptable_from_binary(t, (const uint8_t *)tab, len, NULL, why,
                               sizeof why) != ED_OK) {
            rc = ed_seterr(err, errlen, ED_ERR_PROFILE, "%s: %s", path,
                           why);
            goto out;
        }
        table_file->used = true;
        put(&b, "\npartition_table:\n  offset: 0x%x\n  entries:\n",
            table_file->offset);
        for (size_t i = 0; i < t->n; i++) {
            const struct ptable_entry *pe = &t->e[i];
            char ty[24], st[24];
            put(&b, "    - {name: ");
            put_name(&b, pe->name);
            put(&b, ", type: %s, subtype: %s, offset: 0x%x, size: ",
                ptable_type_text(pe->type, ty, sizeof ty),
                ptable_subtype_text(pe->type, pe->subtype, st, sizeof st),
                pe->offset);
            put_size(&b, pe->size);
            if (pe->flags & (PTABLE_FLAG_ENCRYPTED | PTABLE_FLAG_READONLY))
                put(&b, ", flags: [%s%s%s]",
                    pe->flags & PTABLE_FLAG_ENCRYPTED ? "encrypted" : "",
                    (pe->flags & 3) == 3 ? ", " : "",
                    pe->flags & PTABLE_FLAG_READONLY ? "readonly" : "");
            for (size_t k = 0; k < nff; k++) {
                if (ff[k].used || ff[k].offset != pe->offset)
                    continue;
                rc = image_rel(rel, build_dir, ff[k].path, profile_dir, err,
                               errlen);
                if (rc != ED_OK)
                    goto out;
                put(&b, ",\n       image: ");
                put_quoted(&b, rel);
                ff[k].used = true;
                break;
            }
            put(&b, "}\n");
        }
    }
    bool header = false;
    for (size_t k = 0; k < nff; k++) {
        if (ff[k].used)
            continue;
        if (!header)
            put(&b, "\nimages:\n");
        header = true;
        rc = image_rel(rel, build_dir, ff[k].path, profile_dir, err, errlen);
        if (rc != ED_OK)
            goto out;
        put(&b, "  - {name: ");
        put_name(&b, ff[k].name);
        put(&b, ", offset: 0x%x,\n     file: ", ff[k].offset);
        put_quoted(&b, rel);
        put(&b, "}\n");
    }
    if (b.nomem) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = b.s;
    b.s = NULL;
out:
    free(b.s);
    free(ff);
    free(t);
    free(json);
    free(tab);
    cJSON_Delete(root);
    return rc;
}
