/*
 * stub.c - parse the embedded flasher-stub JSON (the cJSON boundary of src/).
 */
#include "stub.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"

#define STUB_MAX_FILE (1024 * 1024)

/*
 * cJSON writes a process-wide error pointer on every parse.  Engines on
 * several threads may parse stubs at once, so parses take this lock: it
 * guards the library's state, not ours.
 */
static pthread_mutex_t stub_cjson_lock = PTHREAD_MUTEX_INITIALIZER;

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long stub_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
    uint32_t acc = 0;
    int nbits = 0, quad = 0, pad = 0;
    size_t n = 0, i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;

        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            quad++;
            if (pad > 2)
                return -1;
            continue;
        }
        if (pad)
            return -1; /* data after padding */
        v = b64_value(c);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        nbits += 6;
        quad++;
        if (nbits >= 8) {
            nbits -= 8;
            if (out) {
                if (n >= cap)
                    return -1;
                out[n] = (uint8_t)(acc >> nbits);
            }
            n++;
        }
    }
    /* A lone sextet (quad % 4 == 1) cannot end a valid text. */
    if (quad % 4 == 1)
        return -1;
    if (pad && quad % 4 != 0)
        return -1;
    /* Leftover bits must be zero in canonical base64. */
    if (nbits && (acc & ((1u << nbits) - 1)) != 0)
        return -1;
    return (long)n;
}

static int get_u32(const cJSON *root, const char *key, bool required,
                   uint32_t *out, const char *name, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    double v;

    *out = 0;
    if (!it) {
        if (!required)
            return ED_OK;
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json has no '%s' field: the file is not a "
                         "flasher stub (check the stub source)", name, key);
    }
    if (!cJSON_IsNumber(it))
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is not a number", name, key);
    v = it->valuedouble;
    if (v < 0 || v > 4294967295.0 || v != (double)(uint32_t)v)
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is not a 32-bit address", name,
                         key);
    *out = (uint32_t)v;
    return ED_OK;
}

static int get_blob(const cJSON *root, const char *key, bool required,
                    uint8_t **out, size_t *outlen, const char *name,
                    char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    const char *s;
    size_t slen, padded;
    long n;
    uint8_t *buf;

    *out = NULL;
    *outlen = 0;
    if (!it) {
        if (!required)
            return ED_OK;
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json has no '%s' field: the file is not a "
                         "flasher stub (check the stub source)", name, key);
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is not a base64 string", name,
                         key);
    s = it->valuestring;
    slen = strlen(s);
    n = stub_base64_decode(NULL, 0, s, slen);
    if (n < 0)
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is not valid base64", name, key);
    if (n == 0 && required)
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is empty", name, key);
    padded = ((size_t)n + 3) & ~(size_t)3;
    buf = calloc(1, padded ? padded : 1);
    if (!buf)
        return ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
    if (stub_base64_decode(buf, (size_t)n, s, slen) != n) {
        free(buf);
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json: '%s' is not valid base64", name, key);
    }
    *out = buf;
    *outlen = padded; /* MEM_DATA writes words: pad to 4 as esptool does */
    return ED_OK;
}

int stub_parse(struct stub **out, const char *name, const char *json,
               size_t len, char *err, size_t errlen)
{
    struct stub *s = NULL;
    cJSON *root = NULL;
    long off = -1;
    int rc;

    *out = NULL;
    if (!name)
        name = "stub";
    if (!json)
        return ed_seterr(err, errlen, ED_ERR_ARG, "stub %s.json: no text",
                         name);
    {
        const char *at = NULL;

        pthread_mutex_lock(&stub_cjson_lock);
        root = cJSON_ParseWithLengthOpts(json, len, &at, false);
        pthread_mutex_unlock(&stub_cjson_lock);
        if (!root)
            off = (at && at >= json && at <= json + len) ? at - json : -1;
    }
    if (!root) {
        return ed_seterr(err, errlen, ED_ERR_PROTO,
                         "stub %s.json is not valid JSON%s%ld: pull the stubs "
                         "again (rm build/gen/stub_data.c && make stubs)",
                         name, off >= 0 ? " near byte " : "", off >= 0 ? off
                                                                        : 0L);
    }
    if (!cJSON_IsObject(root)) {
        rc = ed_seterr(err, errlen, ED_ERR_PROTO,
                       "stub %s.json is not a JSON object", name);
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    if ((rc = get_u32(root, "entry", true, &s->entry, name, err, errlen)) ||
        (rc = get_u32(root, "text_start", true, &s->text_start, name, err,
                      errlen)) ||
        (rc = get_u32(root, "data_start", false, &s->data_start, name, err,
                      errlen)) ||
        (rc = get_u32(root, "bss_start", false, &s->bss_start, name, err,
                      errlen)) ||
        (rc = get_blob(root, "text", true, &s->text, &s->text_len, name, err,
                       errlen)) ||
        (rc = get_blob(root, "data", false, &s->data, &s->data_len, name,
                       err, errlen)))
        goto out;
    if (s->data && !cJSON_GetObjectItemCaseSensitive(root, "data_start")) {
        rc = ed_seterr(err, errlen, ED_ERR_PROTO,
                       "stub %s.json has 'data' but no 'data_start'", name);
        goto out;
    }
    if (s->entry == 0) {
        rc = ed_seterr(err, errlen, ED_ERR_PROTO,
                       "stub %s.json: entry address is 0", name);
        goto out;
    }
    *out = s;
    s = NULL;
    rc = ED_OK;
out:
    cJSON_Delete(root);
    stub_free(s);
    return rc;
}

const char *stub_file_name(enum chip_id chip, unsigned rev)
{
    const struct chip_desc *d = chip_get(chip);

    if (!d)
        return NULL;
    if (chip == CHIP_ESP32P4 && rev < 300)
        return "esp32p4-rev1";
    return d->name;
}

static int read_small_file(const char *path, char **out, size_t *len,
                           char *err, size_t errlen)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int fd, rc = ED_OK;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ed_seterr(err, errlen,
                         errno == ENOENT ? ED_ERR_NOT_FOUND : ED_ERR_IO,
                         "cannot read %s: %s", path, strerror(errno));
    for (;;) {
        ssize_t r;

        if (n + 4096 + 1 > cap) {
            char *nb;

            cap = cap ? cap * 2 : 16384;
            if (cap > STUB_MAX_FILE) {
                rc = ed_seterr(err, errlen, ED_ERR_PROTO,
                               "%s is too large to be a flasher stub", path);
                goto out;
            }
            nb = realloc(buf, cap);
            if (!nb) {
                rc = ed_seterr(err, errlen, ED_ERR_NOMEM, "out of memory");
                goto out;
            }
            buf = nb;
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ed_seterr(err, errlen, ED_ERR_IO, "cannot read %s: %s", path,
                           strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

int stub_load(struct stub **out, enum chip_id chip, unsigned rev,
              const char *dir, char *err, size_t errlen)
{
    const char *name = stub_file_name(chip, rev);
    const struct chip_desc *d = chip_get(chip);
    size_t i;

    *out = NULL;
    if (!name || !d)
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "no flasher stub for an unknown chip");
    if (dir && dir[0]) {
        char path[512];
        char *text = NULL;
        size_t len = 0;
        int rc;

        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        rc = read_small_file(path, &text, &len, err, errlen);
        if (rc == ED_OK)
            rc = stub_parse(out, name, text, len, err, errlen);
        free(text);
        return rc;
    }
    for (i = 0; stub_blobs[i].name; i++)
        if (!strcmp(stub_blobs[i].name, name))
            return stub_parse(out, name, stub_blobs[i].json, stub_blobs[i].len,
                              err, errlen);
    if (stub_blob_count == 0)
        return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                         "this espdeck was built without flasher stubs (the "
                         "stub pull failed at build time): flashing through "
                         "the ROM loader, which is slower");
    return ed_seterr(err, errlen, ED_ERR_NOT_FOUND,
                     "no flasher stub for %s in this build: flashing through "
                     "the ROM loader, which is slower", d->display);
}

void stub_free(struct stub *s)
{
    if (!s)
        return;
    free(s->text);
    free(s->data);
    free(s);
}

size_t stub_segments(const struct stub *s, struct loader_segment segs[2])
{
    size_t n = 0;

    if (!s)
        return 0;
    segs[n].addr = s->text_start;
    segs[n].data = s->text;
    segs[n].len = s->text_len;
    n++;
    if (s->data && s->data_len) {
        segs[n].addr = s->data_start;
        segs[n].data = s->data;
        segs[n].len = s->data_len;
        n++;
    }
    return n;
}
