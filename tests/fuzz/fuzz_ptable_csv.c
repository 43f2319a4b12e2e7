/*
 * ESP-IDF partitions.csv (src/format/ptable.c): ptable_from_csv() and the
 * binary it makes.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "ptable.h"

FUZZ_TARGET(ptable_csv)
{
    static struct ptable t;
    static uint8_t bin[PTABLE_BIN_SIZE];
    char err[ED_ERRMSG_MAX];
    char *text = malloc(size + 1);

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ptable_from_csv(&t, text, 0x8000, err, sizeof err) == ED_OK) {
        FUZZ_CHECK(t.n <= PTABLE_CAP);
        for (size_t i = 0; i < t.n; i++)
            FUZZ_CHECK(t.e[i].offset != PTABLE_AUTO);
        (void)ptable_to_binary(&t, bin, err, sizeof err);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    free(text);
    return 0;
}
