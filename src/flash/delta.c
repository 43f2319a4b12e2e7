/*
 * delta.c - the sector-delta plan (see delta.h).
 */
#include "delta.h"

bool delta_keep_scanning(unsigned scanned, unsigned differ)
{
    if (scanned < DELTA_MIN_SCANNED)
        return true;
    return (uint64_t)differ * 100 <= (uint64_t)scanned * DELTA_GIVE_UP_PCT;
}

size_t delta_sectors(uint32_t len)
{
    return ((size_t)len + DELTA_SECTOR - 1) / DELTA_SECTOR;
}

size_t delta_blocks(uint32_t len)
{
    return ((size_t)len + DELTA_BLOCK - 1) / DELTA_BLOCK;
}

size_t delta_sectors_to_compare(size_t *out, const bool *block_differ,
                                size_t nb, uint32_t len)
{
    const size_t spb = DELTA_BLOCK / DELTA_SECTOR;
    size_t ns = delta_sectors(len), b, k, m = 0;

    if (nb > delta_blocks(len))
        nb = delta_blocks(len);
    for (b = 0; b < nb; b++)
        for (k = b * spb; block_differ[b] && k < (b + 1) * spb && k < ns;
             k++)
            out[m++] = k;
    return m;
}

size_t delta_runs(struct delta_run *out, const bool *differ, size_t n,
                  uint32_t len)
{
    size_t k = 0, runs = 0;

    if (n > delta_sectors(len))
        n = delta_sectors(len);
    while (k < n) {
        size_t first;
        uint64_t end;

        if (!differ[k]) {
            k++;
            continue;
        }
        first = k;
        while (k < n && differ[k])
            k++;
        end = (uint64_t)k * DELTA_SECTOR;
        out[runs].start = (uint32_t)(first * DELTA_SECTOR);
        out[runs].len = (uint32_t)((end < len ? end : len) -
                                   first * DELTA_SECTOR);
        runs++;
    }
    return runs;
}
