/* Unit tests: boot acceptance (src/bench/accept.c), with a fake clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "test.h"

static enum accept_verdict feed(struct accept *a, const char *s, int64_t now)
{
    return accept_feed(a, (const uint8_t *)s, strlen(s), now);
}

static struct accept *hello(void)
{
    struct accept_rules r;
    struct accept *a = NULL;
    char err[ED_ERRMSG_MAX];

    memset(&r, 0, sizeof r);
    r.timeout_ms = 3000;
    r.expect[r.n_expect++] = "2nd stage bootloader";
    r.expect[r.n_expect++] = "^Hello world!$";
    if (accept_new(&a, &r, err, sizeof err))
        return NULL;
    accept_begin(a, 1000);
    return a;
}

void test_accept__pass_in_order_from_pieces(void)
{
    struct accept *a = hello();

    T_ASSERT(a);
    /* colour codes, CR LF, a line split over two reads */
    T_EQ_INT(feed(a, "rst:0x1 (POWERON_RESET),boot:0x12 (SPI_FAST_FLASH"
                     "_BOOT)\r\n\x1b[0;32mI (878) boot: ESP-IDF v5.2.2 2nd "
                     "stage boot", 1100), ACCEPT_PENDING);
    T_EQ_INT(feed(a, "loader\x1b[0m\r\nHello wor", 1200), ACCEPT_PENDING);
    T_EQ_INT(feed(a, "ld!\r\nRestarting in 10 seconds...\r\n", 1300),
             ACCEPT_PASS);
    T_EQ_STR(accept_line(a), "Hello world!");
    T_ASSERT(!accept_timed_out(a));
    /* sticky: a later panic does not change a decided verdict */
    T_EQ_INT(feed(a, "Guru Meditation Error\n", 1400), ACCEPT_PASS);
    accept_free(a);
}

void test_accept__order_matters(void)
{
    struct accept *a = hello();

    T_ASSERT(a);
    T_EQ_INT(feed(a, "Hello world!\nI (1) boot: 2nd stage bootloader\n", 1100),
             ACCEPT_PENDING);
    T_EQ_INT(accept_tick(a, 3999), ACCEPT_PENDING);
    T_EQ_INT(accept_remaining_ms(a, 3999), 1);
    T_EQ_INT(accept_tick(a, 4000), ACCEPT_FAIL);
    T_ASSERT(accept_timed_out(a));
    T_ASSERT(strstr(accept_message(a), "'^Hello world!$'"));
    T_EQ_STR(accept_line(a), "I (1) boot: 2nd stage bootloader");
    accept_free(a);
}

void test_accept__default_rejects(void)
{
    static const char *const bad[] = {
        "Guru Meditation Error: Core  0 panic'ed (LoadProhibited).",
        "abort() was called at PC 0x400d1234 on core 0",
        "Backtrace: 0x400d1234:0x3ffb1230 0x400d5678:0x3ffb1250",
    };
    size_t i;

    for (i = 0; i < 3; i++) {
        struct accept *a = hello();
        char line[200];

        T_ASSERT(a);
        snprintf(line, sizeof line, "\x1b[0;31m%s\x1b[0m\r\n", bad[i]);
        T_EQ_INT(feed(a, "I (1) boot: 2nd stage bootloader\n", 1100),
                 ACCEPT_PENDING);
        T_EQ_INT(feed(a, line, 1200), ACCEPT_FAIL);
        T_EQ_STR(accept_line(a), bad[i]);
        accept_free(a);
    }
}

void test_accept__watchdog_in_second_banner(void)
{
    struct accept *a = hello();

    T_ASSERT(a);
    T_EQ_INT(feed(a, "rst:0x1 (POWERON_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)"
                     "\n", 1100), ACCEPT_PENDING);
    T_EQ_INT(feed(a, "rst:0x7 (TG0WDT_SYS_RESET),boot:0x12 (SPI_FAST_FLASH_"
                     "BOOT)\n", 1200), ACCEPT_FAIL);
    T_ASSERT(strstr(accept_message(a), "watchdog"));
    accept_free(a);
    a = hello();
    T_ASSERT(a);
    feed(a, "rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\n", 1100);
    T_EQ_INT(feed(a, "rst:0xf (BROWNOUT_RST),boot:0xc (SPI_FAST_FLASH_BOOT)\n",
                  1200), ACCEPT_FAIL);
    T_ASSERT(strstr(accept_message(a), "brownout"));
    accept_free(a);
}

void test_accept__boot_loop(void)
{
    struct accept *a = hello();

    T_ASSERT(a);
    feed(a, "rst:0x1 (POWERON_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)\n", 1100);
    /* a software reset once is not a failure by itself */
    T_EQ_INT(feed(a, "rst:0xc (SW_CPU_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)\n",
                  1200), ACCEPT_PENDING);
    T_EQ_INT(feed(a, "rst:0xc (SW_CPU_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)\n",
                  1300), ACCEPT_FAIL);
    T_ASSERT(strstr(accept_message(a), "boot loop"));
    accept_free(a);
}

void test_accept__no_expect_passes_at_timeout(void)
{
    struct accept_rules r;
    struct accept *a = NULL;
    char err[ED_ERRMSG_MAX];

    memset(&r, 0, sizeof r);
    r.timeout_ms = 500;
    r.reject[r.n_reject++] = "E \\([0-9]+\\) ";
    T_EQ_INT(accept_new(&a, &r, err, sizeof err), ED_OK);
    accept_begin(a, 0);
    T_EQ_INT(feed(a, "I (10) app: fine\n", 100), ACCEPT_PENDING);
    T_EQ_INT(feed(a, "partial line", 499), ACCEPT_PENDING);
    T_EQ_INT(accept_tick(a, 500), ACCEPT_PASS);
    T_EQ_STR(accept_line(a), "partial line");
    /* begin again: a fresh unit, and the user's reject works */
    accept_begin(a, 1000);
    T_EQ_INT(feed(a, "E (12) app: sensor missing\n", 1100), ACCEPT_FAIL);
    T_EQ_STR(accept_line(a), "E (12) app: sensor missing");
    accept_free(a);
}

void test_accept__bad_pattern_and_no_defaults(void)
{
    struct accept_rules r;
    struct accept *a = NULL;
    char err[ED_ERRMSG_MAX] = "";

    memset(&r, 0, sizeof r);
    r.expect[r.n_expect++] = "Hello (world";
    T_ASSERT(accept_new(&a, &r, err, sizeof err) == ED_ERR_ARG);
    T_ASSERT(!a);
    T_ASSERT(strstr(err, "'Hello (world'"));
    memset(&r, 0, sizeof r);
    r.no_default_rejects = true;
    r.timeout_ms = 100;
    T_EQ_INT(accept_new(&a, &r, err, sizeof err), ED_OK);
    accept_begin(a, 0);
    T_EQ_INT(feed(a, "Backtrace: 0x1\n", 10), ACCEPT_PENDING);
    T_EQ_INT(accept_tick(a, 100), ACCEPT_PASS);
    accept_free(a);
}
