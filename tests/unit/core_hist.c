/* The latency histogram: quantiles within one bucket (10%) of the true value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/hist.h"

static void quantiles_of_a_uniform_spread_are_within_ten_percent(void **state)
{
    (void)state;
    sp_hist h = {0};
    for (int ms = 1; ms <= 1000; ms++) sp_hist_add(&h, ms);
    double p50 = sp_hist_quantile(&h, 0.5), p99 = sp_hist_quantile(&h, 0.99);
    assert_true(p50 >= 500 && p50 <= 550);
    assert_true(p99 >= 990 && p99 <= 1089);
    assert_int_equal(h.total, 1000);
}

static void empty_histogram_answers_zero_and_extremes_are_clamped(void **state)
{
    (void)state;
    sp_hist h = {0};
    assert_true(sp_hist_quantile(&h, 0.5) == 0);
    sp_hist_add(&h, 0);
    sp_hist_add(&h, 1e12);
    assert_true(sp_hist_quantile(&h, 0.5) <= 0.01);
    assert_true(sp_hist_quantile(&h, 1.0) > 1e6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles_of_a_uniform_spread_are_within_ten_percent),
        cmocka_unit_test(empty_histogram_answers_zero_and_extremes_are_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
