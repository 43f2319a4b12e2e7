/*
 * ESP image headers (src/format/image.c): image_parse() and the quick
 * looks on whatever a profile names as an image.
 */
#include "err.h"
#include "fuzz.h"
#include "image.h"

FUZZ_TARGET(image)
{
    struct image_info info;
    char err[ED_ERRMSG_MAX];
    int rc;

    (void)image_looks_like(data, size);
    (void)image_chip_id(data, size);
    rc = image_parse(&info, data, size, "fuzz.bin", err, sizeof err);
    FUZZ_CHECK(rc == ED_OK || err[0] != '\0');
    return 0;
}
