/* Unit tests for the string builder (core/str.c): it starts in the caller's buffer, moves to
 * the heap when it outgrows it, refuses to pass its maximum, keeps failure sticky, formats
 * output longer than its internal scratch buffer, and finish/release hand over or free
 * exactly what they should (ASan checks the rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void starts_in_the_stack_buffer(void **state)
{
    (void)state;
    char stack[32];
    sp_str s;
    sp_str_init(&s, stack, sizeof stack, SP_STR_NO_MAX);
    assert_ptr_equal(s.buf, stack);
    assert_string_equal(s.buf, "");
    sp_str_puts(&s, "hello");
    sp_str_putc(&s, ' ');
    sp_str_append(&s, "world!!", 5);
    assert_ptr_equal(s.buf, stack);
    assert_false(s.on_heap);
    assert_int_equal(s.len, 11);
    assert_string_equal(s.buf, "hello world");
    sp_str_release(&s); /* nothing to free: the buffer is the caller's */
}

static void grows_onto_the_heap_keeping_content(void **state)
{
    (void)state;
    char stack[8];
    sp_str s;
    sp_str_init(&s, stack, sizeof stack, SP_STR_NO_MAX);
    sp_str_puts(&s, "abcdef");
    assert_ptr_equal(s.buf, stack);
    sp_str_puts(&s, "ghijkl"); /* 12 bytes + NUL no longer fit in 8 */
    assert_true(s.on_heap);
    assert_ptr_not_equal(s.buf, stack);
    assert_string_equal(s.buf, "abcdefghijkl");
    for (int i = 0; i < 1000; i++) sp_str_putc(&s, (char)('a' + i % 26));
    assert_int_equal(s.len, 1012);
    assert_int_equal(strlen(s.buf), 1012);
    assert_int_equal(s.buf[12], 'a');
    assert_int_equal(s.buf[1011], 'a' + 999 % 26);
    assert_false(sp_str_failed(&s));
    sp_str_release(&s);
    assert_null(s.buf);
}

static void without_initial_buffer_starts_on_heap(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&s, "x");
    assert_true(s.on_heap);
    assert_string_equal(s.buf, "x");
    sp_str_release(&s);
}

static void max_is_enforced_and_failure_is_sticky(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, 10);
    sp_str_puts(&s, "0123456789"); /* exactly max: fine */
    assert_false(sp_str_failed(&s));
    assert_string_equal(s.buf, "0123456789");
    sp_str_putc(&s, 'X'); /* one over */
    assert_true(sp_str_failed(&s));
    assert_string_equal(s.buf, "0123456789"); /* unchanged */
    sp_str_reset(&s);                          /* reset keeps the failure */
    sp_str_puts(&s, "a");
    sp_str_appendf(&s, "%d", 1);
    assert_true(sp_str_failed(&s));
    assert_int_equal(s.len, 0);
    size_t len = 99;
    char *out = sp_str_finish(&s, &len);
    assert_null(out);
    assert_int_equal(len, 99); /* untouched on failure */
    assert_null(s.buf);
}

static void max_applies_to_stack_start_too(void **state)
{
    (void)state;
    char stack[64];
    sp_str s;
    sp_str_init(&s, stack, sizeof stack, 4);
    sp_str_appendf(&s, "%s", "abcde");
    assert_true(sp_str_failed(&s));
    sp_str_release(&s);
}

static void appendf_formats_output_longer_than_scratch(void **state)
{
    (void)state;
    char stack[16];
    sp_str s;
    sp_str_init(&s, stack, sizeof stack, SP_STR_NO_MAX);
    sp_str_puts(&s, "<");
    char part[1500];
    memset(part, 'q', sizeof part - 1);
    part[sizeof part - 1] = '\0';
    sp_str_appendf(&s, "%s|%d|%s", part, 42, "end");
    sp_str_puts(&s, ">");
    assert_false(sp_str_failed(&s));
    assert_int_equal(s.len, 1 + 1499 + 7 + 1); /* "<" part "|42|end" ">" */
    assert_int_equal(strlen(s.buf), s.len);
    assert_memory_equal(s.buf + 1 + 1499, "|42|end>", 8);
    sp_str_release(&s);
}

static void appendf_long_output_over_max_fails(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, 300);
    char part[400];
    memset(part, 'z', sizeof part - 1);
    part[sizeof part - 1] = '\0';
    sp_str_appendf(&s, "%s", part);
    assert_true(sp_str_failed(&s));
    sp_str_release(&s);
}

static void finish_returns_heap_copy_and_releases(void **state)
{
    (void)state;
    char stack[4];
    sp_str s;
    sp_str_init(&s, stack, sizeof stack, SP_STR_NO_MAX);
    sp_str_puts(&s, "ab");
    size_t len = 0;
    char *out = sp_str_finish(&s, &len); /* from the stack buffer */
    assert_non_null(out);
    assert_ptr_not_equal(out, stack);
    assert_int_equal(len, 2);
    assert_string_equal(out, "ab");
    assert_null(s.buf);
    free(out);

    sp_str_init(&s, stack, sizeof stack, SP_STR_NO_MAX);
    sp_str_puts(&s, "a longer string on the heap");
    out = sp_str_finish(&s, NULL);
    assert_string_equal(out, "a longer string on the heap");
    free(out);

    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    out = sp_str_finish(&s, &len); /* empty builder still gives a string */
    assert_non_null(out);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
}

static void append_zero_bytes_and_embedded_nul(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_append(&s, "", 0);
    sp_str_append(&s, "a\0b", 3);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.buf, "a\0b", 4);
    sp_str_release(&s);
}

static void reset_keeps_memory(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&s, "something");
    char *buf = s.buf;
    sp_str_reset(&s);
    assert_int_equal(s.len, 0);
    assert_string_equal(s.buf, "");
    assert_ptr_equal(s.buf, buf);
    sp_str_puts(&s, "else");
    assert_string_equal(s.buf, "else");
    sp_str_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_in_the_stack_buffer),
        cmocka_unit_test(grows_onto_the_heap_keeping_content),
        cmocka_unit_test(without_initial_buffer_starts_on_heap),
        cmocka_unit_test(max_is_enforced_and_failure_is_sticky),
        cmocka_unit_test(max_applies_to_stack_start_too),
        cmocka_unit_test(appendf_formats_output_longer_than_scratch),
        cmocka_unit_test(appendf_long_output_over_max_fails),
        cmocka_unit_test(finish_returns_heap_copy_and_releases),
        cmocka_unit_test(append_zero_bytes_and_embedded_nul),
        cmocka_unit_test(reset_keeps_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
