/*
 * The compressed-image cache (src/flash/zcache.c): one stream per distinct
 * image, shared by threads, made once when many ask at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "test.h"
#include "zcache.h"

static uint8_t *data_of(size_t len, unsigned seed)
{
    uint8_t *d = malloc(len);
    size_t i;

    if (!d)
        abort(); /* out of memory in a test */
    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (i / 32) % 2 ? (uint8_t)(i >> 8) : (uint8_t)(seed >> 16);
    }
    return d;
}

/* The stream is a standard zlib stream of the data (what the stubs and
 * ROMs inflate, with the zlib header they parse at block 0). */
static void check_inflates(const uint8_t *z, size_t zl, const uint8_t *d,
                           size_t len)
{
    uLongf n = (uLongf)len;
    uint8_t *back = malloc(len);

    T_ASSERT(back != NULL);
    T_EQ_INT(uncompress(back, &n, z, (uLong)zl), Z_OK);
    T_EQ_INT(n, len);
    T_EQ_MEM(back, d, len);
    free(back);
}

void test_zcache__same_image_compressed_once(void)
{
    struct zcache *c;
    uint8_t *a = data_of(100000, 1), *b = data_of(100000, 2);
    const uint8_t *z1, *z2, *z3;
    size_t l1, l2, l3;

    T_EQ_INT(zcache_new(&c), ED_OK);
    T_EQ_INT(zcache_get(c, a, 100000, &z1, &l1), ED_OK);
    T_ASSERT(l1 > 0 && l1 < 100000);
    check_inflates(z1, l1, a, 100000);
    T_EQ_INT(zcache_get(c, a, 100000, &z2, &l2), ED_OK);
    T_ASSERT(z1 == z2);
    T_EQ_INT(l1, l2);
    T_EQ_INT(zcache_compressions(c), 1);
    /* other bytes, or the same bytes shorter: another stream */
    T_EQ_INT(zcache_get(c, b, 100000, &z3, &l3), ED_OK);
    check_inflates(z3, l3, b, 100000);
    T_EQ_INT(zcache_get(c, a, 50000, &z3, &l3), ED_OK);
    check_inflates(z3, l3, a, 50000);
    T_EQ_INT(zcache_compressions(c), 3);
    zcache_free(c);
    zcache_free(NULL);
    free(a);
    free(b);
}

struct asker {
    struct zcache *c;
    const uint8_t *data;
    size_t len;
    const uint8_t *z;
    size_t zl;
    int rc;
};

static void *ask(void *arg)
{
    struct asker *k = arg;

    k->rc = zcache_get(k->c, k->data, k->len, &k->z, &k->zl);
    return NULL;
}

/* Eight slots of a bench ask for the same image at once: one compresses,
 * the others wait for it and get the same stream. */
void test_zcache__shared_by_threads(void)
{
    enum { N = 8, LEN = 600000 };
    struct asker k[N];
    pthread_t th[N];
    struct zcache *c;
    uint8_t *d = data_of(LEN, 3);
    int i;

    T_EQ_INT(zcache_new(&c), ED_OK);
    for (i = 0; i < N; i++) {
        k[i].c = c;
        k[i].data = d;
        k[i].len = LEN;
        T_EQ_INT(pthread_create(&th[i], NULL, ask, &k[i]), 0);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < N; i++) {
        T_EQ_INT(k[i].rc, ED_OK);
        T_ASSERT(k[i].z == k[0].z);
    }
    T_EQ_INT(zcache_compressions(c), 1);
    check_inflates(k[0].z, k[0].zl, d, LEN);
    zcache_free(c);
    free(d);
}
