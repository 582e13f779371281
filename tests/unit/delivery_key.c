/* Firehose key and prefix rendering: default hour folders, every namespace, hour/day/year
 * boundaries in UTC, error prefixes, and the object name suffix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_int.h"

/* 2024-03-05T07:08:09.123Z */
static const int64_t T = 1709622489123LL;

static char *render(const char *prefix, const dlv_key_ctx *kc, bool error, sp_err *e)
{
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    bool ok = error ? dlv_error_prefix_render(prefix, kc, &s, e) : dlv_prefix_render(prefix, kc, &s, e);
    char *out = sp_str_finish(&s, NULL);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

static void expect_render(const char *prefix, const dlv_key_ctx *kc, bool error, const char *want)
{
    sp_err e = {0};
    char *got = render(prefix, kc, error, &e);
    if (!got) fail_msg("'%s' failed: %s", prefix, e.msg);
    assert_string_equal(got, want);
    free(got);
}

static void expect_error(const char *prefix, const dlv_key_ctx *kc, bool error, const char *msg_part)
{
    sp_err e = {0};
    char *got = render(prefix, kc, error, &e);
    if (got) fail_msg("'%s' rendered '%s', expected an error", prefix, got);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "InvalidArgumentException");
    if (!strstr(e.msg, msg_part)) fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
}

static void empty_prefix_is_the_default_hour_folders(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T};
    expect_render("", &kc, false, "2024/03/05/07/");
    expect_render(NULL, &kc, false, "2024/03/05/07/");
}

static void plain_prefix_gets_hour_folders_appended(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T};
    expect_render("logs/", &kc, false, "logs/2024/03/05/07/");
    expect_render("raw-", &kc, false, "raw-2024/03/05/07/");
}

static void hour_day_and_year_boundaries_are_utc(void **state)
{
    (void)state;
    /* 2024-12-31T23:59:59.999Z and one millisecond later. */
    dlv_key_ctx kc = {.time_ms = 1735689599999LL};
    expect_render("", &kc, false, "2024/12/31/23/");
    kc.time_ms++;
    expect_render("", &kc, false, "2025/01/01/00/");
    kc.time_ms = 0;
    expect_render("", &kc, false, "1970/01/01/00/");
    /* An hour boundary inside a day: 2024-03-05T07:59:59.999Z -> 08. */
    kc.time_ms = 1709625599999LL;
    expect_render("", &kc, false, "2024/03/05/07/");
    kc.time_ms++;
    expect_render("", &kc, false, "2024/03/05/08/");
}

static void timestamp_namespace_follows_java_patterns(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T};
    expect_render("!{timestamp:yyyy/MM/dd/HH/mm}/", &kc, false, "2024/03/05/07/08/");
    expect_render("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", &kc, false, "dt=2024-03-05/h=07/");
    expect_render("y=!{timestamp:yy}/s=!{timestamp:ss}/", &kc, false, "y=24/s=09/");
    expect_render("q=!{timestamp:'it''s'}/", &kc, false, "q=it's/");
    expect_render("q=!{timestamp:''HH}/", &kc, false, "q='07/");
    expect_error("!{timestamp:yyyy-QQ}/", &kc, false, "letter 'Q'");
    expect_error("!{timestamp:'open}/", &kc, false, "unterminated");
}

static void firehose_namespace_random_string_and_error_type(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T, .random = "abcdefghijk", .error_type = "processing-failed"};
    expect_render("r=!{firehose:random-string}/", &kc, false, "r=abcdefghijk/");
    expect_render("err/!{firehose:error-output-type}/!{timestamp:yyyy}/", &kc, true,
           "err/processing-failed/2024/");
    expect_error("x/!{firehose:error-output-type}/", &kc, false, "only allowed in ErrorOutputPrefix");
    expect_error("x/!{firehose:nothing}/", &kc, false, "unsupported expression");
}

static void partition_key_from_query(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s, s:i, s:s, s:n}", "product", "Laptop", "n", 7, "slash", "a/b",
                          "none");
    dlv_key_ctx kc = {.time_ms = T, .partition = p};
    expect_render("product=!{partitionKeyFromQuery:product}/n=!{partitionKeyFromQuery:n}/", &kc, false,
           "product=Laptop/n=7/");
    expect_error("!{partitionKeyFromQuery:missing}/", &kc, false, "no value");
    expect_error("!{partitionKeyFromQuery:none}/", &kc, false, "no value");
    /* A value is put as it is; whether the whole key is valid is the lake's check (the
     * runner sends records whose key is not to the error output). */
    expect_render("!{partitionKeyFromQuery:slash}/", &kc, false, "a/b/");
    expect_error("!{partitionKeyFromQuery:product}/", &kc, true, "not allowed in ErrorOutputPrefix");
    json_decref(p);
}

/* A Lambda's keys (DLV_LAMBDA_KEY_PREFIX) and inline parsing's live side by side; each
 * namespace reads only its own. */
static void partition_key_from_lambda(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s, s:s}", DLV_LAMBDA_KEY_PREFIX "region", "eu", "product", "Laptop");
    dlv_key_ctx kc = {.time_ms = T, .partition = p};
    expect_render("r=!{partitionKeyFromLambda:region}/p=!{partitionKeyFromQuery:product}/", &kc,
                  false, "r=eu/p=Laptop/");
    expect_error("!{partitionKeyFromLambda:product}/", &kc, false, "partitionKeyFromLambda:product");
    expect_error("!{partitionKeyFromQuery:region}/", &kc, false, "no value");
    expect_error("!{partitionKeyFromLambda:region}/", &kc, true, "not allowed in ErrorOutputPrefix");
    json_decref(p);
}

static void bad_expressions_are_rejected(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T};
    expect_error("a/!{timestamp", &kc, false, "not !{namespace:value}");
    expect_error("a/!{nonsense:x}/", &kc, false, "unsupported expression");
    expect_error("a/!{partitionKeyFromLambda:x}/", &kc, false, "no value");
    sp_err e = {0};
    assert_true(dlv_prefix_check("p=!{partitionKeyFromQuery:p}/", false, &e));
    assert_false(dlv_prefix_check("p=!{partitionKeyFromQuery:p}/", true, &e));
}

static void default_error_prefix_is_processing_failed(void **state)
{
    (void)state;
    dlv_key_ctx kc = {.time_ms = T, .error_type = "processing-failed"};
    expect_render("", &kc, true, "processing-failed/2024/03/05/07/");
    expect_render(NULL, &kc, true, "processing-failed/2024/03/05/07/");
    expect_render("errors/", &kc, true, "errors/2024/03/05/07/");
}

static void object_name_suffix_is_firehose_layout(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    dlv_key_suffix(&s, "sales-delivery-stream", T, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", ".gz");
    assert_string_equal(s.buf, "sales-delivery-stream-1-2024-03-05-07-08-09-"
                               "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.gz");
    sp_str_release(&s);
}

static void derived_uuids_are_deterministic_and_distinct(void **state)
{
    (void)state;
    char a[37], b[37], c[37], r1[37], r2[37];
    dlv_uuid_derive("seed", "group-1", a);
    dlv_uuid_derive("seed", "group-1", b);
    dlv_uuid_derive("seed", "group-2", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[8], '-');
    assert_int_equal(a[14], '4');
    dlv_uuid_random(r1);
    dlv_uuid_random(r2);
    assert_string_not_equal(r1, r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_prefix_is_the_default_hour_folders),
        cmocka_unit_test(plain_prefix_gets_hour_folders_appended),
        cmocka_unit_test(hour_day_and_year_boundaries_are_utc),
        cmocka_unit_test(timestamp_namespace_follows_java_patterns),
        cmocka_unit_test(firehose_namespace_random_string_and_error_type),
        cmocka_unit_test(partition_key_from_query),
        cmocka_unit_test(partition_key_from_lambda),
        cmocka_unit_test(bad_expressions_are_rejected),
        cmocka_unit_test(default_error_prefix_is_processing_failed),
        cmocka_unit_test(object_name_suffix_is_firehose_layout),
        cmocka_unit_test(derived_uuids_are_deterministic_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
