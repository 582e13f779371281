/* Buffering decisions: SizeInMBs or IntervalInSeconds, whichever first; an empty buffer never
 * flushes; a closing service flushes what it holds; reads are bounded by the size hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "delivery/dlv_int.h"

static const uint64_t S = 1000000000ull; /* ns per second */
static const size_t MB = 1024 * 1024;

static void empty_buffer_waits(void **state)
{
    (void)state;
    dlv_buffer_state b = {.opened_ns = 0, .source_drained = true};
    dlv_buffer_decision d = dlv_buffer_decide(&b, 5, 0, 1000 * S);
    assert_false(d.flush);
    assert_true(d.wait_ms > 0);
    b.closing = true;
    assert_false(dlv_buffer_decide(&b, 5, 0, 1000 * S).flush);
}

static void size_hint_flushes_before_the_interval(void **state)
{
    (void)state;
    dlv_buffer_state b = {.bytes = 5 * MB, .records = 10, .opened_ns = 100 * S,
                          .source_drained = false};
    assert_true(dlv_buffer_decide(&b, 5, 300, 100 * S).flush);
    b.bytes = 5 * MB - 1;
    dlv_buffer_decision d = dlv_buffer_decide(&b, 5, 300, 100 * S);
    assert_false(d.flush);
    assert_int_equal(d.wait_ms, 0); /* more is waiting in the source: read it now */
}

static void interval_flushes_a_small_buffer(void **state)
{
    (void)state;
    dlv_buffer_state b = {.bytes = 10, .records = 1, .opened_ns = 100 * S, .source_drained = true};
    dlv_buffer_decision d = dlv_buffer_decide(&b, 5, 60, 100 * S + 59 * S);
    assert_false(d.flush);
    assert_true(d.wait_ms > 0 && d.wait_ms <= 1000);
    d = dlv_buffer_decide(&b, 5, 60, 100 * S + 59 * S + S / 2);
    assert_int_equal(d.wait_ms, 500);
    assert_true(dlv_buffer_decide(&b, 5, 60, 160 * S).flush);
}

static void zero_interval_flushes_at_once(void **state)
{
    (void)state;
    dlv_buffer_state b = {.bytes = 1, .records = 1, .opened_ns = 100 * S, .source_drained = true};
    assert_true(dlv_buffer_decide(&b, 1, 0, 100 * S).flush);
}

static void closing_flushes_what_is_held(void **state)
{
    (void)state;
    dlv_buffer_state b = {.bytes = 1, .records = 1, .opened_ns = 100 * S, .closing = true};
    assert_true(dlv_buffer_decide(&b, 128, 900, 100 * S).flush);
}

static void room_is_bounded_by_the_size_hint(void **state)
{
    (void)state;
    dlv_buffer_state b = {0};
    assert_int_equal(dlv_buffer_room(&b, 1), MB);
    b.bytes = MB - 10;
    assert_int_equal(dlv_buffer_room(&b, 1), 10);
    b.bytes = 2 * MB;
    assert_int_equal(dlv_buffer_room(&b, 1), 0);
    b.bytes = 0;
    assert_int_equal(dlv_buffer_room(&b, 128), 128 * MB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_buffer_waits),
        cmocka_unit_test(size_hint_flushes_before_the_interval),
        cmocka_unit_test(interval_flushes_a_small_buffer),
        cmocka_unit_test(zero_interval_flushes_at_once),
        cmocka_unit_test(closing_flushes_what_is_held),
        cmocka_unit_test(room_is_bounded_by_the_size_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
