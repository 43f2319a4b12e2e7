/*
 * ESP-IDF build import (src/format/idfimport.c): flasher_args.json and the
 * partition table binary it names, from a build folder.  Input: two
 * length bytes, then flasher_args.json, then partition-table.bin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "scratch.h"
#include "idfimport.h"

FUZZ_TARGET(idfimport)
{
    static int ready;
    char path[256], err[ED_ERRMSG_MAX], build[256];
    char *text = NULL;
    size_t jl;
    int rc;

    if (size < 2)
        return 0;
    if (!ready) {
        static const uint8_t img[64] = {0xE9, 1, 2, 0x20};
        fuzz_write(path, sizeof path, "build/bootloader/bootloader.bin", img,
                   sizeof img);
        fuzz_write(path, sizeof path, "build/hello_world.bin", img,
                   sizeof img);
        fuzz_write(path, sizeof path, "prof/keep", "", 0);
        ready = 1;
    }
    jl = (size_t)data[0] << 8 | data[1];
    if (jl > size - 2)
        jl = size - 2;
    fuzz_write(path, sizeof path, "build/flasher_args.json", data + 2, jl);
    fuzz_write(path, sizeof path,
               "build/partition_table/partition-table.bin", data + 2 + jl,
               size - 2 - jl);
    snprintf(build, sizeof build, "%s/build", fuzz_dir());
    snprintf(path, sizeof path, "%s/prof", fuzz_dir());
    rc = idfimport_text(&text, build, path, err, sizeof err);
    FUZZ_CHECK((rc == ED_OK) == (text != NULL));
    FUZZ_CHECK(rc == ED_OK || err[0] != '\0');
    free(text);
    return 0;
}
