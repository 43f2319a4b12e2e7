/*
 * clock.h - monotonic time and deadlines.
 *
 * Every read in espdeck has a deadline: an absolute clock_ms() value computed
 * once per operation and handed down, so retries and partial reads share one
 * budget instead of each restarting its own timeout.
 */
#ifndef ED_CLOCK_H
#define ED_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds / microseconds since an arbitrary origin. */
int64_t clock_ms(void);
int64_t clock_us(void);

/* Milliseconds left until deadline (absolute clock_ms()), never negative. */
int clock_remaining_ms(int64_t deadline);

/* Sleep, restarting after signals. */
void clock_sleep_ms(int ms);
void clock_sleep_us(int64_t us);

/* Wall-clock "HH:MM:SS" (local time) into buf (>= 9 bytes). */
void clock_hms(char *buf, int len);

#endif
