/*
 * zcache.h - compressed images, cached by the SHA-256 of their bytes.
 *
 * Writing an image sends its zlib stream (loader_deflate()).  A bench
 * flashes the same images on many boards, and a console reflashes them:
 * the stream of each distinct image is made once and kept.  The cache is
 * a value its caller owns and may share between engines (all of a bench's
 * slots); it is thread-safe, and when two threads ask for the same image
 * at once one compresses while the other waits for it.  Streams are kept
 * until zcache_free() (no eviction: a job's images are a few MiB).
 */
#ifndef ED_ZCACHE_H
#define ED_ZCACHE_H

#include <stddef.h>
#include <stdint.h>

struct zcache;

int zcache_new(struct zcache **out);
/* Frees every stream; no thread may still use the cache.  NULL is fine. */
void zcache_free(struct zcache *c);

/*
 * The zlib stream of data[0..len): from the cache, else compressed now
 * and kept.  *out stays valid until zcache_free().  ED_ERR_NOMEM.
 */
int zcache_get(struct zcache *c, const uint8_t *data, size_t len,
               const uint8_t **out, size_t *out_len);

/* Streams made (not found in the cache) so far: for tests and the bench. */
unsigned zcache_compressions(struct zcache *c);

#endif
