/*
 * Flasher stub JSON (src/proto/stub.c): stub_parse() on a stub file
 * (--stub-dir, or a release fetched at build time).
 */
#include "err.h"
#include "fuzz.h"
#include "stub.h"

FUZZ_TARGET(stub_json)
{
    struct stub *s = NULL;
    char err[ED_ERRMSG_MAX];
    int rc = stub_parse(&s, "fuzz.json", (const char *)data, size, err,
                        sizeof err);

    FUZZ_CHECK((rc == ED_OK) == (s != NULL));
    FUZZ_CHECK(rc == ED_OK || err[0] != '\0');
    stub_free(s);
    return 0;
}
