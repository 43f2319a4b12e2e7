/*
 * Binary partition tables (src/format/ptable.c): ptable_from_binary() on
 * a table read from a file or a board, then written back.
 */
#include "err.h"
#include "fuzz.h"
#include "ptable.h"

FUZZ_TARGET(ptable_bin)
{
    static struct ptable t;
    static uint8_t bin[PTABLE_BIN_SIZE];
    char err[ED_ERRMSG_MAX];
    bool md5;

    if (ptable_from_binary(&t, data, size, &md5, err, sizeof err) != ED_OK) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(t.n <= PTABLE_CAP);
    (void)ptable_to_binary(&t, bin, err, sizeof err);
    return 0;
}
