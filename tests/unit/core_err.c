/* Unit tests for the error type (core/err.c): status, code and message are recorded as given,
 * the retriable flag follows the status, long messages are cut rather than overflowing, and
 * wrapping prefixes context without losing the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/core.h"

static void set_records_status_code_and_message(void **state)
{
    (void)state;
    sp_err e = {0};
    assert_false(sp_err_failed(&e));
    sp_err_set(&e, 404, "ResourceNotFoundException", "Table %s not found (%d)", "Orders", 7);
    assert_true(sp_err_failed(&e));
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "ResourceNotFoundException");
    assert_string_equal(e.msg, "Table Orders not found (7)");
    assert_false(e.retriable);
}

static void retriable_follows_status(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_set(&e, 400, "ValidationException", "x");
    assert_false(e.retriable);
    sp_err_set(&e, 429, "ThrottlingException", "slow down");
    assert_true(e.retriable);
    sp_err_set(&e, 503, "ServiceUnavailable", "later");
    assert_true(e.retriable);
    sp_err_internal(&e, "boom %d", 1);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.code, "InternalFailure");
    assert_string_equal(e.msg, "boom 1");
    assert_true(e.retriable);
}

static void invalid_is_400_validation_exception(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_invalid(&e, "attribute '%s' is bad", "price");
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.msg, "attribute 'price' is bad");
    assert_false(e.retriable);
}

static void long_message_and_code_are_cut_not_overflowed(void **state)
{
    (void)state;
    char big[2 * SP_ERR_MSG_MAX];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char code[2 * SP_ERR_CODE_MAX];
    memset(code, 'C', sizeof code - 1);
    code[sizeof code - 1] = '\0';
    sp_err e = {0};
    sp_err_set(&e, 400, code, "%s", big);
    assert_int_equal(strlen(e.msg), SP_ERR_MSG_MAX - 1);
    assert_int_equal(strlen(e.code), SP_ERR_CODE_MAX - 1);
}

static void wrap_prefixes_context_and_keeps_code(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_set(&e, 409, "ResourceInUseException", "stream busy");
    sp_err_wrap(&e, "CreateStream");
    assert_string_equal(e.msg, "CreateStream: stream busy");
    assert_string_equal(e.code, "ResourceInUseException");
    assert_int_equal(e.status, 409);
    sp_err_wrap(&e, "engine");
    assert_string_equal(e.msg, "engine: CreateStream: stream busy");
}

static void wrap_of_no_error_does_nothing(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_wrap(&e, "context");
    assert_false(sp_err_failed(&e));
    assert_string_equal(e.msg, "");
    sp_err_wrap(NULL, "context"); /* tolerated */
}

static void wrap_of_long_message_stays_terminated(void **state)
{
    (void)state;
    sp_err e = {0};
    char big[SP_ERR_MSG_MAX + 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sp_err_invalid(&e, "%s", big);
    sp_err_wrap(&e, "ctx");
    assert_int_equal(strlen(e.msg), SP_ERR_MSG_MAX - 1);
    assert_memory_equal(e.msg, "ctx: xxx", 8);

    /* A context longer than the whole message buffer leaves only the (cut) context. */
    char ctx[SP_ERR_MSG_MAX + 10];
    memset(ctx, 'c', sizeof ctx - 1);
    ctx[sizeof ctx - 1] = '\0';
    sp_err_invalid(&e, "tail");
    sp_err_wrap(&e, ctx);
    assert_int_equal(strlen(e.msg), SP_ERR_MSG_MAX - 1);
    assert_null(strstr(e.msg, "tail"));
}

static void message_is_always_valid_utf8(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_invalid(&e, "op '%s' and '%s'", "\xd0utItem", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(e.msg, "op '?utItem' and 'caf\xc3\xa9 \xf0\x9f\x98\x80'");
    /* overlong, surrogate, past U+10FFFF, stray continuation */
    sp_err_invalid(&e, "%s|%s|%s|%s", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80");
    assert_string_equal(e.msg, "??|???|????|?");
    sp_err_set(&e, 400, "Bad\xff" "Code", "x");
    assert_string_equal(e.code, "Bad?Code");

    /* A message cut in the middle of a character does not end in half of it. */
    char big[SP_ERR_MSG_MAX + 8];
    memset(big, 'a', SP_ERR_MSG_MAX - 2);
    strcpy(big + SP_ERR_MSG_MAX - 2, "\xe2\x82\xac"); /* euro sign straddles the cut */
    sp_err_invalid(&e, "%s", big);
    assert_int_equal(strlen(e.msg), SP_ERR_MSG_MAX - 1);
    assert_int_equal(e.msg[SP_ERR_MSG_MAX - 2], '?');

    char ctx[SP_ERR_MSG_MAX];
    memset(ctx, 'c', sizeof ctx - 4);
    strcpy(ctx + sizeof ctx - 4, "\xc3\xa9");
    sp_err_invalid(&e, "m");
    sp_err_wrap(&e, ctx); /* "<ctx>: m" is cut inside the context's last character or after */
    for (const unsigned char *p = (const unsigned char *)e.msg; *p; p++)
        if (*p >= 0x80) assert_true(*p == 0xc3 && p[1] == 0xa9 && (p++, true));
}

static void clear_resets_everything(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_internal(&e, "boom");
    sp_err_clear(&e);
    assert_false(sp_err_failed(&e));
    assert_false(e.retriable);
    assert_string_equal(e.code, "");
    assert_string_equal(e.msg, "");
}

static void set_on_null_is_ignored(void **state)
{
    (void)state;
    sp_err_set(NULL, 400, "X", "ignored");
}

static void extra_members_are_kept_until_the_next_error(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_set(&e, 400, "TransactionCanceledException", "cancelled");
    json_t *m = json_pack("{s:[{s:s}]}", "CancellationReasons", "Code", "None");
    assert_true(sp_err_set_extra(&e, m));
    assert_string_equal(e.extra, "{\"CancellationReasons\":[{\"Code\":\"None\"}]}");
    sp_err_set(&e, 400, "ValidationException", "another");
    assert_string_equal(e.extra, "");
    json_decref(m);
    char big[SP_ERR_EXTRA_MAX + 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m = json_pack("{s:s}", "Big", big);
    assert_false(sp_err_set_extra(&e, m));
    assert_string_equal(e.extra, "");
    json_decref(m);
    assert_false(sp_err_set_extra(&e, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_records_status_code_and_message),
        cmocka_unit_test(extra_members_are_kept_until_the_next_error),
        cmocka_unit_test(retriable_follows_status),
        cmocka_unit_test(invalid_is_400_validation_exception),
        cmocka_unit_test(long_message_and_code_are_cut_not_overflowed),
        cmocka_unit_test(wrap_prefixes_context_and_keeps_code),
        cmocka_unit_test(wrap_of_no_error_does_nothing),
        cmocka_unit_test(wrap_of_long_message_stays_terminated),
        cmocka_unit_test(message_is_always_valid_utf8),
        cmocka_unit_test(clear_resets_everything),
        cmocka_unit_test(set_on_null_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
