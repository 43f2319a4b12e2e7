/*
 * The sector-delta plan: sector maps to runs, and when the block scan
 * gives up (src/flash/delta.c).
 */
#include <stdbool.h>
#include <string.h>

#include "delta.h"
#include "test.h"

void test_delta__runs_of_a_sector_map(void)
{
    bool d[10] = {false, true, true, false, false, true, false, true, true,
                  true};
    struct delta_run r[5];
    size_t n = delta_runs(r, d, 10, 10 * 4096);

    T_EQ_INT(n, 3);
    T_EQ_INT(r[0].start, 4096);
    T_EQ_INT(r[0].len, 2 * 4096);
    T_EQ_INT(r[1].start, 5 * 4096);
    T_EQ_INT(r[1].len, 4096);
    T_EQ_INT(r[2].start, 7 * 4096);
    T_EQ_INT(r[2].len, 3 * 4096);
}

/* The last sector of an image that ends mid-sector ends at the image. */
void test_delta__last_run_ends_at_the_image(void)
{
    bool d[3] = {false, false, true};
    struct delta_run r[2];
    size_t n;

    T_EQ_INT(delta_sectors(2 * 4096 + 100), 3);
    n = delta_runs(r, d, 3, 2 * 4096 + 100);
    T_EQ_INT(n, 1);
    T_EQ_INT(r[0].start, 2 * 4096);
    T_EQ_INT(r[0].len, 100);
}

void test_delta__nothing_or_everything(void)
{
    bool d[4];
    struct delta_run r[2];

    memset(d, 0, sizeof d);
    T_EQ_INT(delta_runs(r, d, 4, 4 * 4096), 0);
    memset(d, 1, sizeof d);
    T_EQ_INT(delta_runs(r, d, 4, 4 * 4096), 1);
    T_EQ_INT(r[0].start, 0);
    T_EQ_INT(r[0].len, 4 * 4096);
    /* alternating: the most runs there can be, (n + 1) / 2 */
    d[1] = d[3] = false;
    T_EQ_INT(delta_runs(r, d, 4, 4 * 4096), 2);
}

/* A map longer than the image is cut at the image's sectors. */
void test_delta__map_clipped_to_the_image(void)
{
    bool d[4] = {false, true, true, true};
    struct delta_run r[2];

    T_EQ_INT(delta_runs(r, d, 4, 4096 + 10), 1);
    T_EQ_INT(r[0].start, 4096);
    T_EQ_INT(r[0].len, 10);
}

void test_delta__scan_gives_up_when_most_blocks_differ(void)
{
    /* the first 256 KiB are always compared */
    T_EQ_INT(DELTA_MIN_SCANNED * DELTA_BLOCK, 256 * 1024);
    T_ASSERT(delta_keep_scanning(0, 0));
    T_ASSERT(delta_keep_scanning(DELTA_MIN_SCANNED - 1,
                                 DELTA_MIN_SCANNED - 1));
    /* all of the first blocks differ: a rebuild that shifted the code */
    T_ASSERT(!delta_keep_scanning(DELTA_MIN_SCANNED, DELTA_MIN_SCANNED));
    /* 12 of 16 is the threshold itself (75 %): go on */
    T_ASSERT(delta_keep_scanning(16, 12));
    T_ASSERT(!delta_keep_scanning(16, 13));
    T_ASSERT(!delta_keep_scanning(32, 25));
    /* a few scattered changes never stop the scan: P2's 14 of 96 */
    T_ASSERT(delta_keep_scanning(96, 14));
    T_ASSERT(delta_keep_scanning(96, 72));
    T_ASSERT(!delta_keep_scanning(96, 73));
}

/* The sectors compared one by one are those of the blocks that differ,
 * the last block's cut at the image's end. */
void test_delta__sectors_of_the_differing_blocks(void)
{
    const size_t spb = DELTA_BLOCK / DELTA_SECTOR;
    /* three blocks and 100 bytes: the fourth block has one sector */
    uint32_t len = 3 * DELTA_BLOCK + 100;
    bool blk[4] = {false, true, false, true};
    size_t out[4 * 4], n, k;

    T_EQ_INT(spb, 4);
    T_EQ_INT(delta_blocks(len), 4);
    n = delta_sectors_to_compare(out, blk, 4, len);
    T_EQ_INT(n, spb + 1);
    for (k = 0; k < spb; k++)
        T_EQ_INT(out[k], spb + k);
    T_EQ_INT(out[spb], 3 * spb);
    /* nothing differs: nothing to compare */
    memset(blk, 0, sizeof blk);
    T_EQ_INT(delta_sectors_to_compare(out, blk, 4, len), 0);
    /* a map longer than the image is cut at its blocks */
    memset(blk, 1, sizeof blk);
    T_EQ_INT(delta_sectors_to_compare(out, blk, 4, 2 * DELTA_BLOCK),
             2 * spb);
}
