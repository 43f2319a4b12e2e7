/*
 * YAML profiles (src/format/profile.c): profile_check() on the input as a
 * profile file, next to a small image and partitions CSV it may name.
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "scratch.h"
#include "profile.h"

FUZZ_TARGET(profile)
{
    static int ready;
    struct profile_report rep;
    struct profile *p = NULL;
    char path[256], line[700];
    int rc;

    if (!ready) {
        static const char csv[] = "nvs,data,nvs,,24K\nfactory,app,factory,,"
                                  "64K\n";
        static const uint8_t img[64] = {0xE9, 1, 2, 0x20};
        fuzz_write(path, sizeof path, "p.csv", csv, sizeof csv - 1);
        fuzz_write(path, sizeof path, "app.bin", img, sizeof img);
        ready = 1;
    }
    fuzz_write(path, sizeof path, "f.yaml", data, size);
    memset(&rep, 0, sizeof rep);
    rc = profile_check(&p, path, &rep);
    FUZZ_CHECK(rc == ED_OK || rc == ED_ERR_PROFILE || rc == ED_ERR_NOMEM);
    FUZZ_CHECK((rc == ED_OK) == (p != NULL));
    FUZZ_CHECK(rc == ED_OK || rep.n_errors > 0 || rc == ED_ERR_NOMEM);
    for (size_t i = 0; i < rep.n; i++) {
        profile_problem_format(&rep, &rep.items[i], line, sizeof line);
        FUZZ_CHECK(rep.items[i].message[0] != '\0');
    }
    profile_report_free(&rep);
    profile_free(p);
    return 0;
}
