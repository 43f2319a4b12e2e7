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
