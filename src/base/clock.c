#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_ms(void)
{
    return clock_us() / 1000;
}

int clock_remaining_ms(int64_t deadline)
{
    int64_t left = deadline - clock_ms();
    if (left < 0)
        return 0;
    if (left > 0x7fffffff)
        return 0x7fffffff;
    return (int)left;
}

void clock_sleep_us(int64_t us)
{
    struct timespec ts;
    if (us <= 0)
        return;
    ts.tv_sec = (time_t)(us / 1000000);
    ts.tv_nsec = (long)(us % 1000000) * 1000;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

void clock_sleep_ms(int ms)
{
    clock_sleep_us((int64_t)ms * 1000);
}

void clock_hms(char *buf, int len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, (size_t)len, "%H:%M:%S", &tm);
}
