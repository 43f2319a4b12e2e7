/*
 * links.c - the remembered state of links (see links.h).
 *
 * POSIX file calls (no stdio under src/); cJSON for the file's content.
 */
#include "links.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "port.h"

#define LINKS_MAX_FILE (256 * 1024)

static int state_dir(char *buf, size_t len)
{
    const char *xs = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;

    if (xs && *xs)
        n = snprintf(buf, len, "%s/espdeck", xs);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.local/state/espdeck", home);
    else
        return ED_ERR_NOT_FOUND;
    return n > 0 && (size_t)n < len ? ED_OK : ED_ERR_ARG;
}

int links_path(char *buf, size_t len)
{
    char dir[480];
    int rc, n;

    if ((rc = state_dir(dir, sizeof dir)) != ED_OK)
        return rc;
    n = snprintf(buf, len, "%s/links.json", dir);
    return n > 0 && (size_t)n < len ? ED_OK : ED_ERR_ARG;
}

/* mkdir -p of the state folder. */
static int make_dir(void)
{
    char dir[480], *p;

    if (state_dir(dir, sizeof dir) != ED_OK)
        return ED_ERR_NOT_FOUND;
    for (p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ED_ERR_IO;
    return ED_OK;
}

/* The file as JSON; an empty object when missing or unreadable. */
static cJSON *load(const char *path)
{
    char *buf = NULL;
    cJSON *root = NULL;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        buf = malloc(LINKS_MAX_FILE + 1);
        while (buf && len < LINKS_MAX_FILE &&
               (n = read(fd, buf + len, LINKS_MAX_FILE - len)) > 0)
            len += (size_t)n;
        close(fd);
        if (buf) {
            buf[len] = '\0';
            root = cJSON_Parse(buf);
        }
        free(buf);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = cJSON_CreateObject();
    }
    return root;
}

/* Write root to path through a temporary file and rename(2). */
static int store(const char *path, const cJSON *root)
{
    char tmp[640];
    char *text = cJSON_PrintUnformatted(root);
    size_t len, off = 0;
    int fd, rc = ED_OK;

    if (!text)
        return ED_ERR_NOMEM;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(text);
        return ED_ERR_IO;
    }
    len = strlen(text);
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0) {
            rc = ED_ERR_IO;
            break;
        }
        off += (size_t)n;
    }
    if (rc == ED_OK && write(fd, "\n", 1) != 1)
        rc = ED_ERR_IO;
    if (rc == ED_OK && fsync(fd) != 0)
        rc = ED_ERR_IO;
    if (close(fd) != 0)
        rc = ED_ERR_IO;
    if (rc == ED_OK && rename(tmp, path) != 0)
        rc = ED_ERR_IO;
    if (rc)
        unlink(tmp);
    free(text);
    return rc;
}

/* flock on path.lock: held from the read to the rename. */
static int lock_open(const char *path, int how)
{
    char lk[640];
    int fd;

    snprintf(lk, sizeof lk, "%s.lock", path);
    fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, how) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void lock_close(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* The entry for key in section, or NULL. */
static const cJSON *entry(const cJSON *root, const char *section,
                          const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, section);

    return cJSON_IsObject(s) ? cJSON_GetObjectItemCaseSensitive(s, key)
                             : NULL;
}

static uint32_t num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
        v->valuedouble > 100000000.0)
        return 0;
    return (uint32_t)v->valuedouble;
}

/* Read the file (shared lock) and hand the entry to get(). */
static int read_entry(const char *section, const char *key,
                      void (*get)(const cJSON *e, void *out), void *out)
{
    char path[600];
    const cJSON *e;
    cJSON *root;
    int fd, rc = ED_ERR_NOT_FOUND;

    if (!key || !*key || links_path(path, sizeof path) != ED_OK)
        return ED_ERR_NOT_FOUND;
    fd = lock_open(path, LOCK_SH);
    root = load(path);
    lock_close(fd);
    e = entry(root, section, key);
    if (cJSON_IsObject(e)) {
        get(e, out);
        rc = ED_OK;
    }
    cJSON_Delete(root);
    return rc;
}

/* Read-modify-write one entry under the exclusive lock. */
static int write_entry(const char *section, const char *key,
                       void (*set)(cJSON *e, const void *in), const void *in)
{
    char path[600];
    cJSON *root, *s, *e;
    int fd, rc;

    if (!key || !*key)
        return ED_ERR_ARG;
    if ((rc = links_path(path, sizeof path)) != ED_OK)
        return rc;
    if ((rc = make_dir()) != ED_OK)
        return rc;
    fd = lock_open(path, LOCK_EX);
    if (fd < 0)
        return ED_ERR_IO;
    root = load(path);
    s = cJSON_GetObjectItemCaseSensitive(root, section);
    if (!cJSON_IsObject(s)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, section);
        s = cJSON_AddObjectToObject(root, section);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(s, key);
    e = s ? cJSON_AddObjectToObject(s, key) : NULL;
    if (!e) {
        rc = ED_ERR_NOMEM;
    } else {
        set(e, in);
        rc = store(path, root);
    }
    cJSON_Delete(root);
    lock_close(fd);
    return rc;
}

static void port_get(const cJSON *e, void *out)
{
    struct links_port *p = out;

    p->stub = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "stub"));
    p->baud = num(e, "baud");
}

static void port_set(cJSON *e, const void *in)
{
    const struct links_port *p = in;

    cJSON_AddBoolToObject(e, "stub", p->stub);
    cJSON_AddNumberToObject(e, "baud", p->baud);
}

int links_port_get(const char *url, struct links_port *out)
{
    memset(out, 0, sizeof *out);
    return read_entry("ports", url, port_get, out);
}

int links_port_put(const char *url, const struct links_port *in)
{
    return write_entry("ports", url, port_set, in);
}

static void adapter_get(const cJSON *e, void *out)
{
    *(uint32_t *)out = num(e, "baud");
}

static void adapter_set(cJSON *e, const void *in)
{
    cJSON_AddNumberToObject(e, "baud", *(const uint32_t *)in);
}

uint32_t links_adapter_baud(const char *id)
{
    uint32_t baud = 0;

    if (read_entry("adapters", id, adapter_get, &baud) != ED_OK)
        return 0;
    return baud;
}

int links_adapter_put(const char *id, uint32_t baud)
{
    return write_entry("adapters", id, adapter_set, &baud);
}

bool links_auto_by_default(const struct port *p)
{
    switch (p->kind) {
    case PORT_RFC2217:
        return true;
    case PORT_SERIAL:
    case PORT_SIM:
        return p->usb;
    case PORT_SOCKET:
        break;
    }
    return false;
}
