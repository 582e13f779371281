/* Clock helpers: monotonic time for durations and timeouts, wall time (UTC) for the
 * timestamps AWS APIs expose. */
#include "core.h"

#include <stdio.h>
#include <time.h>

uint64_t sp_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t sp_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sp_clock_iso8601(int64_t epoch_ms, char out[21])
{
    /* Floor, not truncation: -1 ms is 23:59:59 of the day before the epoch. */
    time_t secs = (time_t)(epoch_ms / 1000 - (epoch_ms % 1000 < 0));
    struct tm tm;
    gmtime_r(&secs, &tm);
    /* strftime: bounded by the format, no truncation warnings to appease. */
    if (strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) out[0] = '\0';
}

void sp_clock_deadline(struct timespec *out, int ms)
{
    if (ms < 0) ms = 0;
    clock_gettime(CLOCK_REALTIME, out);
    out->tv_sec += ms / 1000;
    out->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

void sp_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
