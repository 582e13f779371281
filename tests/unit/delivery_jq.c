/* libjq as the delivery stage runs it: records are decoded by jansson and handed to jq as
 * values, so every JSON type, member order and number comes out as jq itself would print it,
 * and malformed records fail cleanly (the ones libjq 1.6's own parser leaks on included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_int.h"

/* Runs program over in and checks the outputs, joined by spaces. */
static void expect_run(const char *program, const char *in, size_t len, const char *want)
{
    sp_err e = {0};
    dlv_jq *q = dlv_jq_new(program, &e);
    if (!q) fail_msg("%s: %s", program, e.msg);
    json_t *outs;
    if (!dlv_jq_run(q, in, len, &outs, &e)) fail_msg("%s on %s: %s", program, in, e.msg);
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    size_t i;
    json_t *x;
    json_array_foreach(outs, i, x) sp_str_appendf(&s, "%s%s", i ? " " : "", json_string_value(x));
    if (strcmp(s.buf ? s.buf : "", want)) fail_msg("%s on %s: got %s, want %s", program, in, s.buf, want);
    sp_str_release(&s);
    json_decref(outs);
    dlv_jq_destroy(q);
}

static void values_reach_jq_whole(void **state)
{
    (void)state;
    const char *rec = "{\"z\":1,\"a\":[true,false,null,2.5,\"s\"],\"m\":{\"k\":-3}}";
    expect_run(".", rec, strlen(rec), "{\"z\":1,\"a\":[true,false,null,2.5,\"s\"],\"m\":{\"k\":-3}}");
    expect_run(".a[] | type", rec, strlen(rec),
               "\"boolean\" \"boolean\" \"null\" \"number\" \"string\"");
    expect_run(".m.k * 2", rec, strlen(rec), "-6");
    expect_run("keys_unsorted", rec, strlen(rec), "[\"z\",\"a\",\"m\"]");
    /* scalars at the top, numbers past 64 bits, NUL inside strings */
    expect_run(". + 1", "41", 2, "42");
    expect_run(". > 1e19", "12345678901234567890", 20, "true");
    expect_run("length", "\"a\\u0000b\"", 10, "3");
    expect_run(".b", "{\"b\":1,\"b\":2}", 13, "2");
    expect_run("select(.drop != true)", "{\"drop\":true}", 13, "");
}

static void malformed_records_fail_without_leaks(void **state)
{
    (void)state;
    const char *bad[] = {"{\"a\" \"b\"}", "[\"a\" \"b\"]", "{\"a\":\"b\" \"c\"}", "[1 2]",
                         "{\"a\":1", "", "1 2", "\"\xff\"", "nan", "{\"a\":1}x"};
    sp_err e = {0};
    dlv_jq *q = dlv_jq_new(".", &e);
    assert_non_null(q);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *outs = (json_t *)1;
        sp_err re = {0};
        if (dlv_jq_run(q, bad[i], strlen(bad[i]), &outs, &re)) fail_msg("accepted %s", bad[i]);
        assert_null(outs);
        assert_int_equal(re.status, 400);
        assert_non_null(strstr(re.msg, "record is not JSON"));
    }
    dlv_jq_destroy(q);
}

static void jq_errors_are_reported(void **state)
{
    (void)state;
    sp_err e = {0};
    assert_null(dlv_jq_new(".a |", &e));
    assert_int_equal(e.status, 400);
    dlv_jq *q = dlv_jq_new(".a + 1", &e);
    assert_non_null(q);
    json_t *outs;
    sp_err re = {0};
    assert_false(dlv_jq_run(q, "{\"a\":\"x\"}", 9, &outs, &re));
    assert_non_null(strstr(re.msg, "jq:"));
    dlv_jq_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_reach_jq_whole),
        cmocka_unit_test(malformed_records_fail_without_leaks),
        cmocka_unit_test(jq_errors_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
