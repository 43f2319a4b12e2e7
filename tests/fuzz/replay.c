/*
 * replay.c - run the fuzz harnesses (tests/fuzz/fuzz_*.c) on corpus files,
 * built with the normal compiler (make test, and its sanitizer builds).
 *
 *   fuzz-replay NAME FILE...      each FILE through harness NAME
 *   fuzz-replay --list            the harness names
 *
 * Prints "NAME: N inputs" and exits 0; a finding aborts (or a sanitizer
 * reports) with the file named on stderr first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define HARNESSES(X)                                                          \
    X(slip) X(proto) X(rfc2217) X(profile) X(image) X(ptable_bin)            \
    X(ptable_csv) X(stub_json) X(idfimport) X(sim_request) X(sim_telnet)

#define DECLARE(n) int fuzz_##n(const uint8_t *data, size_t size);
HARNESSES(DECLARE)

static const struct {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} harnesses[] = {
#define ENTRY(n) {#n, fuzz_##n},
    HARNESSES(ENTRY)
};

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (!f)
        return NULL;
    do {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap ? 2 * cap : 4096);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = cap ? 2 * cap : 4096;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    size_t i, k;

    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (k = 0; k < sizeof harnesses / sizeof harnesses[0]; k++)
            printf("%s\n", harnesses[k].name);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz-replay NAME FILE... | --list\n");
        return 2;
    }
    for (k = 0; k < sizeof harnesses / sizeof harnesses[0]; k++)
        if (!strcmp(argv[1], harnesses[k].name))
            break;
    if (k == sizeof harnesses / sizeof harnesses[0]) {
        fprintf(stderr, "fuzz-replay: no harness '%s' (--list)\n", argv[1]);
        return 2;
    }
    for (i = 2; i < (size_t)argc; i++) {
        size_t len = 0;
        uint8_t *d = slurp(argv[i], &len);
        if (!d) {
            fprintf(stderr, "fuzz-replay: cannot read %s\n", argv[i]);
            return 2;
        }
        fprintf(stderr, "%s %s\n", argv[1], argv[i]);
        harnesses[k].fn(d, len);
        free(d);
    }
    printf("%s: %d inputs\n", argv[1], argc - 2);
    return 0;
}
