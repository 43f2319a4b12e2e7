/*
 * fuzz.h - one harness per untrusted input (tests/fuzz/fuzz_NAME.c).
 *
 * FUZZ_TARGET(NAME) defines the harness body.  Built with clang
 * -fsanitize=fuzzer (make fuzz) it is LLVMFuzzerTestOneInput; otherwise it
 * is fuzz_NAME(), and tests/fuzz/replay.c (built with the normal compiler,
 * so make test and its sanitizer builds run it) feeds it the committed
 * corpus tests/fuzz/corpus/NAME/.  A harness returns 0; a finding is a
 * crash, a sanitizer report or FUZZ_CHECK failing (abort()).
 */
#ifndef ED_FUZZ_H
#define ED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef FUZZ_LIBFUZZER
#define FUZZ_TARGET(name)                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name) int fuzz_##name(const uint8_t *data, size_t size)
#endif

/* An invariant the code under test must keep. */
#define FUZZ_CHECK(c)                                                         \
    do {                                                                      \
        if (!(c))                                                             \
            abort();                                                          \
    } while (0)

#endif
