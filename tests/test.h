/*
 * test.h - the unit-test harness.
 *
 * A test is a function `void test_<module>__<case>(void)` in
 * tests/unit/<module>.c; tests/gen-unit.sh finds them by name.  Each runs in
 * its own child process (a crash or a hang fails only that test).  Asserts
 * return from the test function on failure, so keep them on the test's own
 * thread.
 */
#ifndef ED_TEST_H
#define ED_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void t_skip(const char *why);
int t_failed(void);

/* ../shared next to the repository (or $ESPDECK_SHARED); NULL if absent. */
const char *t_shared_dir(void);
/* A fresh temporary directory for this test (removed afterwards). */
const char *t_tmpdir(void);
/* Read a whole file; caller frees. NULL if missing. */
uint8_t *t_read_file(const char *path, size_t *len);

#define T_ASSERT(c)                                                           \
    do {                                                                      \
        if (!(c)) {                                                           \
            t_fail(__FILE__, __LINE__, "%s", #c);                             \
            return;                                                           \
        }                                                                     \
    } while (0)

#define T_EQ_INT(a, b)                                                        \
    do {                                                                      \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);               \
        if (t_a_ != t_b_) {                                                   \
            t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld (0x%llx != 0x%llx)", \
                   #a, #b, t_a_, t_b_, t_a_, t_b_);                           \
            return;                                                           \
        }                                                                     \
    } while (0)

#define T_EQ_STR(a, b)                                                        \
    do {                                                                      \
        const char *t_a_ = (a), *t_b_ = (b);                                  \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {                      \
            t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,  \
                   t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");           \
            return;                                                           \
        }                                                                     \
    } while (0)

#define T_EQ_MEM(a, b, n)                                                     \
    do {                                                                      \
        if (memcmp((a), (b), (n)) != 0) {                                     \
            t_fail(__FILE__, __LINE__, "%s == %s (%zu bytes) differ", #a, #b, \
                   (size_t)(n));                                              \
            return;                                                           \
        }                                                                     \
    } while (0)

#define T_CONTAINS(hay, needle)                                               \
    do {                                                                      \
        const char *t_h_ = (hay), *t_n_ = (needle);                           \
        if (!t_h_ || !strstr(t_h_, t_n_)) {                                   \
            t_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",      \
                   t_h_ ? t_h_ : "(null)", t_n_);                             \
            return;                                                           \
        }                                                                     \
    } while (0)

#define T_SKIP(why)                                                           \
    do {                                                                      \
        t_skip(why);                                                          \
        return;                                                               \
    } while (0)

#endif
