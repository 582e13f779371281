/* Unit tests for the clock helpers (core/clock.c): the monotonic clock never goes back and
 * measures sleeps, the wall clock is Unix milliseconds, and ISO-8601 formatting is UTC with
 * second resolution (known instants, including a leap day and the epoch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

static void mono_never_goes_back_and_measures_sleep(void **state)
{
    (void)state;
    uint64_t a = sp_clock_mono_ns();
    uint64_t b = sp_clock_mono_ns();
    assert_true(b >= a);
    sp_sleep_ms(20);
    uint64_t c = sp_clock_mono_ns();
    assert_true(c - b >= 20u * 1000000u);
    assert_true(c - b < 5000u * 1000000u);
}

static void wall_is_epoch_milliseconds(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL);
    int64_t ms = sp_clock_wall_ms();
    int64_t after = (int64_t)time(NULL);
    assert_true(ms / 1000 >= before && ms / 1000 <= after);
    assert_true(ms > 1600000000000LL); /* after 2020: milliseconds, not seconds */
}

static void iso8601_formats_known_instants_in_utc(void **state)
{
    (void)state;
    static const struct { int64_t ms; const char *want; } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {999, "1970-01-01T00:00:00Z"}, /* milliseconds are dropped, not rounded */
        {951782400000LL, "2000-02-29T00:00:00Z"},
        {1700000000123LL, "2023-11-14T22:13:20Z"},
        {4102444799000LL, "2099-12-31T23:59:59Z"},
        {-1, "1969-12-31T23:59:59Z"}, /* floor, also before the epoch */
        {-1000, "1969-12-31T23:59:59Z"},
        {-1001, "1969-12-31T23:59:58Z"},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        char out[21];
        memset(out, '#', sizeof out);
        sp_clock_iso8601(cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void iso8601_of_now_matches_wall_clock(void **state)
{
    (void)state;
    char out[21];
    int64_t ms = sp_clock_wall_ms();
    sp_clock_iso8601(ms, out);
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char want[32];
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_string_equal(out, want);
    assert_int_equal(strlen(out), 20);
}

static void deadline_is_that_far_ahead_on_the_realtime_clock(void **state)
{
    (void)state;
    struct timespec now, d;
    clock_gettime(CLOCK_REALTIME, &now);
    sp_clock_deadline(&d, 1500);
    double ahead = (double)(d.tv_sec - now.tv_sec) + (double)(d.tv_nsec - now.tv_nsec) / 1e9;
    assert_true(ahead >= 1.49 && ahead < 1.6);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    sp_clock_deadline(&d, -5);   /* negative: now */
    ahead = (double)(d.tv_sec - now.tv_sec) + (double)(d.tv_nsec - now.tv_nsec) / 1e9;
    assert_true(ahead >= 0 && ahead < 0.1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mono_never_goes_back_and_measures_sleep),
        cmocka_unit_test(deadline_is_that_far_ahead_on_the_realtime_clock),
        cmocka_unit_test(wall_is_epoch_milliseconds),
        cmocka_unit_test(iso8601_formats_known_instants_in_utc),
        cmocka_unit_test(iso8601_of_now_matches_wall_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
