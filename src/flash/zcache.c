/*
 * zcache.c - compressed images cached by SHA-256 (see zcache.h).
 */
#include "zcache.h"

#include <pthread.h>
#include <sha2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loader.h"

struct zentry {
    struct zentry *next;
    uint8_t sha[SHA256_DIGEST_LENGTH];
    size_t len;             /* uncompressed */
    uint8_t *comp;          /* NULL while being made */
    size_t comp_len;
    bool ready, failed;
};

struct zcache {
    pthread_mutex_t mu;
    pthread_cond_t made;
    struct zentry *entries;
    unsigned compressions;
};

int zcache_new(struct zcache **out)
{
    struct zcache *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c)
        return ED_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->made, NULL);
    *out = c;
    return ED_OK;
}

void zcache_free(struct zcache *c)
{
    struct zentry *z, *next;

    if (!c)
        return;
    for (z = c->entries; z; z = next) {
        next = z->next;
        free(z->comp);
        free(z);
    }
    pthread_cond_destroy(&c->made);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct zentry *find(struct zcache *c, const uint8_t *sha, size_t len)
{
    struct zentry *z;

    for (z = c->entries; z; z = z->next)
        if (z->len == len && !memcmp(z->sha, sha, sizeof z->sha))
            return z;
    return NULL;
}

int zcache_get(struct zcache *c, const uint8_t *data, size_t len,
               const uint8_t **out, size_t *out_len)
{
    uint8_t sha[SHA256_DIGEST_LENGTH];
    struct zentry *z;
    SHA2_CTX h;
    uint8_t *comp = NULL;
    size_t comp_len = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    SHA256Init(&h);
    SHA256Update(&h, data, len);
    SHA256Final(sha, &h);
    pthread_mutex_lock(&c->mu);
    z = find(c, sha, len);
    if (z) {
        while (!z->ready)
            pthread_cond_wait(&c->made, &c->mu);
        if (!z->failed) {
            *out = z->comp;
            *out_len = z->comp_len;
            pthread_mutex_unlock(&c->mu);
            return ED_OK;
        }
        /* an earlier try ran out of memory: this thread tries again */
        z->ready = z->failed = false;
    } else {
        z = calloc(1, sizeof *z);
        if (!z) {
            pthread_mutex_unlock(&c->mu);
            return ED_ERR_NOMEM;
        }
        memcpy(z->sha, sha, sizeof sha);
        z->len = len;
        z->next = c->entries;
        c->entries = z;
    }
    c->compressions++;
    pthread_mutex_unlock(&c->mu);

    rc = loader_deflate(data, len, &comp, &comp_len); /* outside the lock */

    pthread_mutex_lock(&c->mu);
    z->comp = comp;
    z->comp_len = comp_len;
    z->failed = rc != ED_OK;
    z->ready = true;
    pthread_cond_broadcast(&c->made);
    pthread_mutex_unlock(&c->mu);
    if (rc)
        return rc;
    *out = comp;
    *out_len = comp_len;
    return ED_OK;
}

unsigned zcache_compressions(struct zcache *c)
{
    unsigned n;

    pthread_mutex_lock(&c->mu);
    n = c->compressions;
    pthread_mutex_unlock(&c->mu);
    return n;
}
