/*
 * delta.h - which parts of an image to write when its region differs.
 *
 * The engine compares the flash with the image by SPI_FLASH_MD5 over 16 KiB
 * blocks, then over the 4 KiB sectors of the blocks that differ, and writes
 * only the runs of sectors that differ.  This module is the plan, without
 * I/O: when to give the comparison up, which sectors to compare, and the
 * runs a sector map makes.  docs/performance.md ("Unchanged-check and
 * sector delta") gives the numbers behind the sizes and thresholds.
 */
#ifndef ED_DELTA_H
#define ED_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DELTA_SECTOR 0x1000u
/* the scan's unit: with one MD5 request at a time, the size that
 * balances the round trips of more, smaller blocks against reading the
 * differing blocks again sector by sector (docs/performance.md) */
#define DELTA_BLOCK 0x4000u
/* blocks compared before the scan may be given up (256 KiB) */
#define DELTA_MIN_SCANNED 16u
/* give the scan up when more than this share (%) of the blocks differ */
#define DELTA_GIVE_UP_PCT 75u
/* blocks compared per batch of MD5 requests (the scan may stop
 * between batches) */
#define DELTA_BATCH 16u

struct delta_run {
    uint32_t start;     /* from the image's start, a multiple of 4 KiB */
    uint32_t len;       /* the last run ends at the image's end */
};

/* Go on comparing blocks after `scanned` of which `differ` differ? */
bool delta_keep_scanning(unsigned scanned, unsigned differ);

/* Sectors in len bytes (the last one may be partial). */
size_t delta_sectors(uint32_t len);

/* Blocks (DELTA_BLOCK) in len bytes (the last one may be partial). */
size_t delta_blocks(uint32_t len);

/*
 * The sectors to compare one by one: those of the blocks that differ
 * (block_differ[k] for block k, delta_blocks(len) entries), in order, into
 * out (room for delta_sectors(len)).  Returns how many.
 */
size_t delta_sectors_to_compare(size_t *out, const bool *block_differ,
                                size_t nb, uint32_t len);

/*
 * The runs of differing sectors: differ[k] for sector k of an image of len
 * bytes (delta_sectors(len) entries).  Writes at most (n + 1) / 2 runs to
 * out and returns how many.
 */
size_t delta_runs(struct delta_run *out, const bool *differ, size_t n,
                  uint32_t len);

#endif
