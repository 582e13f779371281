/* DynamoDB numbers: parsing limits, canonical text, exact comparison and arithmetic, and
 * the order-preserving sort-key encoding; plus attribute-value ordering and equality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "table/expr.h"

static tbl_num num(const char *s)
{
    tbl_num n;
    sp_err e = {0};
    if (!tbl_num_parse(s, &n, &e)) fail_msg("%s: %s", s, e.msg);
    return n;
}

static void assert_norm(const char *in, const char *want)
{
    char out[TBL_NUM_STR_MAX];
    sp_err e = {0};
    if (!tbl_num_normalize(in, out, &e)) fail_msg("%s: %s", in, e.msg);
    assert_string_equal(out, want);
}

static void assert_bad(const char *in, const char *msg_part)
{
    char out[TBL_NUM_STR_MAX];
    sp_err e = {0};
    assert_false(tbl_num_normalize(in, out, &e));
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    if (!strstr(e.msg, msg_part)) fail_msg("%s: message '%s' lacks '%s'", in, e.msg, msg_part);
}

static void test_normalize_canonical_forms(void **state)
{
    (void)state;
    assert_norm("0", "0");
    assert_norm("-0", "0");
    assert_norm("+0.000", "0");
    assert_norm("0e99999", "0");
    assert_norm("12", "12");
    assert_norm("+12", "12");
    assert_norm("012.500", "12.5");
    assert_norm("-0.50", "-0.5");
    assert_norm(".5", "0.5");
    assert_norm("5.", "5");
    assert_norm("1.5E+3", "1500");
    assert_norm("1.5e3", "1500");
    assert_norm("15E-3", "0.015");
    assert_norm("-1E2", "-100");
    assert_norm("100", "100");
    assert_norm("1E-130", "0." "000000000000000000000000000000000000000000000000000000000000"
                          "000000000000000000000000000000000000000000000000000000000000"
                          "000000000" "1");
    assert_norm("12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678");
    assert_norm("-1234567890123456789012345678901234567.8",
                "-1234567890123456789012345678901234567.8");
    /* trailing zeros do not count as significant digits */
    assert_norm("1.00000000000000000000000000000000000000000000000000", "1");
    assert_norm("00000000000000000000000000000000000000000000000001", "1");
}

static void test_invalid_numbers_are_rejected_with_dynamodb_messages(void **state)
{
    (void)state;
    const char *not_numbers[] = {"", "abc", "1a", "--1", "+-1", ".", "e5", "1e", "1e+",
                                 "1.2.3", " 1", "1 ", "0x10", "Infinity", "NaN", "1,5"};
    for (size_t i = 0; i < SP_ARRAY_LEN(not_numbers); i++)
        assert_bad(not_numbers[i], "cannot be converted to a numeric value");
    assert_bad("123456789012345678901234567890123456789", "more than 38 significant digits");
    assert_bad("1.23456789012345678901234567890123456789", "more than 38 significant digits");
    assert_bad("1E126", "Number overflow");
    assert_bad("1E-131", "Number underflow");
    assert_bad("1e9999999999999999999", "Number overflow");
    assert_bad("1e-9999999999999999999", "Number underflow");
}

static void test_limits_that_still_fit(void **state)
{
    (void)state;
    tbl_num n = num("9.9999999999999999999999999999999999999E+125");
    assert_int_equal(n.ndigits, 38);
    n = num("-1E-130");
    assert_true(n.neg);
    assert_int_equal(n.exp, -129);
}

static int cmp(const char *a, const char *b)
{
    tbl_num x = num(a), y = num(b);
    return tbl_num_cmp(&x, &y);
}

static void test_compare_is_exact(void **state)
{
    (void)state;
    assert_true(cmp("12345678901234567890.1", "12345678901234567890.2") < 0);
    assert_true(cmp("0.10000000000000000000000000000000000001", "0.1") > 0);
    assert_int_equal(cmp("1.50", "1.5"), 0);
    assert_int_equal(cmp("15E-1", "1.5"), 0);
    assert_int_equal(cmp("-0", "0"), 0);
    assert_true(cmp("-2", "-10") > 0);
    assert_true(cmp("-10", "1E-130") < 0);
    assert_true(cmp("9", "10") < 0);
    assert_true(cmp("0.09", "0.1") < 0);
    assert_true(cmp("-0.09", "-0.1") > 0);
}

static void assert_sum(const char *a, const char *b, bool sub, const char *want)
{
    tbl_num x = num(a), y = num(b), r;
    sp_err e = {0};
    char out[TBL_NUM_STR_MAX];
    bool ok = sub ? tbl_num_sub(&x, &y, &r, &e) : tbl_num_add(&x, &y, &r, &e);
    if (!ok) fail_msg("%s %c %s: %s", a, sub ? '-' : '+', b, e.msg);
    tbl_num_format(&r, out);
    assert_string_equal(out, want);
}

static void test_add_and_subtract_exactly(void **state)
{
    (void)state;
    assert_sum("1", "2", false, "3");
    assert_sum("0.1", "0.2", false, "0.3");
    assert_sum("9.99", "0.01", false, "10");
    assert_sum("999", "1", false, "1000");
    assert_sum("5", "7", true, "-2");
    assert_sum("-5", "-7", false, "-12");
    assert_sum("-5", "7", false, "2");
    assert_sum("1000", "0.001", true, "999.999");
    assert_sum("12.5", "12.5", true, "0");
    assert_sum("0", "-3.25", false, "-3.25");
    assert_sum("-3.25", "0", true, "-3.25");
    assert_sum("0", "3", true, "-3");
    assert_sum("12345678901234567890123456789012345678", "1", true,
               "12345678901234567890123456789012345677");
    assert_sum("1E+100", "1E+100", false, "2" "000000000000000000000000000000000000000000000000"
               "0000000000000000000000000000000000000000000000000000");

    tbl_num x = num("1E+125"), y = num("1E-10"), r;
    sp_err e = {0};
    assert_false(tbl_num_add(&x, &y, &r, &e));
    assert_non_null(strstr(e.msg, "38 significant digits"));
    x = num("9.9999999999999999999999999999999999999E+125");
    y = num("9E+125");
    assert_false(tbl_num_add(&x, &y, &r, &e));
    assert_non_null(strstr(e.msg, "overflow"));
}

static int enc_cmp(const char *a, const char *b)
{
    uint8_t x[TBL_NUM_KEY_MAX], y[TBL_NUM_KEY_MAX];
    tbl_num na = num(a), nb = num(b);
    size_t lx = tbl_num_encode(&na, x), ly = tbl_num_encode(&nb, y);
    int c = memcmp(x, y, lx < ly ? lx : ly);
    if (c == 0) c = (lx > ly) - (lx < ly);
    return (c > 0) - (c < 0);
}

static void test_encoding_orders_like_numbers(void **state)
{
    (void)state;
    /* Sorted ascending; tricky neighbours: prefixes, sign changes, exponent edges. */
    const char *sorted[] = {
        "-9.9999999999999999999999999999999999999E+125", "-1E+125", "-1000", "-123",
        "-12.3", "-12", "-11.99", "-10", "-9", "-1.01", "-1.001", "-1", "-0.5", "-0.123",
        "-0.12", "-1E-129", "-1E-130", "0", "1E-130", "1.5E-130", "1E-129", "0.0099",
        "0.01", "0.1", "0.12", "0.123", "0.5", "1", "1.001", "1.01", "1.1", "9", "10",
        "10.5", "11", "12", "12.3", "123", "1000", "12345678901234567890123456789012345678",
        "1E+125", "9.9999999999999999999999999999999999999E+125",
    };
    size_t n = SP_ARRAY_LEN(sorted);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int want = (i > j) - (i < j);
            if (enc_cmp(sorted[i], sorted[j]) != want)
                fail_msg("encoding order of %s vs %s", sorted[i], sorted[j]);
            if (cmp(sorted[i], sorted[j]) != want)
                fail_msg("compare of %s vs %s", sorted[i], sorted[j]);
        }
    }
    assert_int_equal(enc_cmp("1.50", "15E-1"), 0);
}

static void test_encoding_round_trips(void **state)
{
    (void)state;
    const char *vals[] = {"0", "1", "-1", "12", "-12", "123", "-0.00123", "1E+125", "-1E-130",
                          "12345678901234567890123456789012345678",
                          "-1234567890123456789012345678901234567.8"};
    for (size_t i = 0; i < SP_ARRAY_LEN(vals); i++) {
        uint8_t buf[TBL_NUM_KEY_MAX];
        tbl_num a = num(vals[i]), b;
        size_t len = tbl_num_encode(&a, buf);
        assert_true(len <= TBL_NUM_KEY_MAX);
        assert_true(tbl_num_decode(buf, len, &b));
        assert_int_equal(tbl_num_cmp(&a, &b), 0);
        assert_int_equal(a.ndigits, b.ndigits);
    }
    const uint8_t junk[] = {0x03, 0x80, 0x00};
    tbl_num out;
    assert_false(tbl_num_decode(junk, sizeof junk, &out));
    assert_false(tbl_num_decode(junk, 0, &out));
}

static json_t *av(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v) fail_msg("bad test JSON %s", text);
    return v;
}

static void test_av_compare_and_equality(void **state)
{
    (void)state;
    json_t *a = av("{\"N\":\"10\"}"), *b = av("{\"N\":\"9.5\"}");
    assert_true(tbl_av_cmp(a, b) > 0);          /* numerically, not as text */
    json_decref(a); json_decref(b);
    a = av("{\"S\":\"a\"}"); b = av("{\"S\":\"\\u00e9\"}");
    assert_true(tbl_av_cmp(a, b) < 0);          /* UTF-8 bytes: 0x61 < 0xC3 */
    json_decref(a); json_decref(b);
    a = av("{\"B\":\"AAE=\"}"); b = av("{\"B\":\"/w==\"}");
    assert_true(tbl_av_cmp(a, b) < 0);          /* bytes 00 01 < ff */
    json_decref(a); json_decref(b);

    a = av("{\"NS\":[\"1\",\"2.0\",\"3\"]}"); b = av("{\"NS\":[\"3\",\"2\",\"1.00\"]}");
    assert_true(tbl_av_equal(a, b));
    json_decref(b);
    b = av("{\"NS\":[\"3\",\"2\",\"4\"]}");
    assert_false(tbl_av_equal(a, b));
    json_decref(a); json_decref(b);
    a = av("{\"M\":{\"x\":{\"L\":[{\"N\":\"1\"},{\"SS\":[\"a\",\"b\"]}]}}}");
    b = av("{\"M\":{\"x\":{\"L\":[{\"N\":\"1.0\"},{\"SS\":[\"b\",\"a\"]}]}}}");
    assert_true(tbl_av_equal(a, b));
    json_decref(b);
    b = av("{\"M\":{\"x\":{\"L\":[{\"SS\":[\"b\",\"a\"]},{\"N\":\"1.0\"}]}}}");
    assert_false(tbl_av_equal(a, b));           /* lists are ordered */
    json_decref(a); json_decref(b);
    a = av("{\"S\":\"1\"}"); b = av("{\"N\":\"1\"}");
    assert_false(tbl_av_equal(a, b));
    json_decref(a); json_decref(b);
}

static void assert_av_bad(const char *text, const char *msg_part)
{
    json_t *v = av(text);
    sp_err e = {0};
    json_t *n = tbl_av_normalize(v, &e);
    if (n) fail_msg("%s was accepted", text);
    if (!strstr(e.msg, msg_part)) fail_msg("%s: '%s' lacks '%s'", text, e.msg, msg_part);
    json_decref(v);
}

static void test_av_normalize(void **state)
{
    (void)state;
    json_t *v = av("{\"M\":{\"p\":{\"N\":\"012.50\"},\"s\":{\"NS\":[\"1e1\",\"2\"]}}}");
    sp_err e = {0};
    json_t *n = tbl_av_normalize(v, &e);
    assert_non_null(n);
    char *s = json_dumps(n, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(s, "{\"M\":{\"p\":{\"N\":\"12.5\"},\"s\":{\"NS\":[\"10\",\"2\"]}}}");
    free(s);
    json_decref(n);
    json_decref(v);

    assert_av_bad("{}", "empty");
    assert_av_bad("{\"S\":\"a\",\"N\":\"1\"}", "more than one datatypes");
    assert_av_bad("{\"X\":\"a\"}", "");
    assert_av_bad("{\"N\":\"abc\"}", "numeric value");
    assert_av_bad("{\"N\":5}", "cannot be converted");
    assert_av_bad("{\"SS\":[]}", "may not be empty");
    assert_av_bad("{\"NS\":[\"1\",\"1.0\"]}", "duplicates");
    assert_av_bad("{\"SS\":[\"a\",\"a\"]}", "duplicates");
    assert_av_bad("{\"NULL\":false}", "Null attribute");
    assert_av_bad("{\"B\":\"!!\"}", "Binary");
    assert_av_bad("{\"L\":[{\"N\":\"1e999\"}]}", "overflow");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_canonical_forms),
        cmocka_unit_test(test_invalid_numbers_are_rejected_with_dynamodb_messages),
        cmocka_unit_test(test_limits_that_still_fit),
        cmocka_unit_test(test_compare_is_exact),
        cmocka_unit_test(test_add_and_subtract_exactly),
        cmocka_unit_test(test_encoding_orders_like_numbers),
        cmocka_unit_test(test_encoding_round_trips),
        cmocka_unit_test(test_av_compare_and_equality),
        cmocka_unit_test(test_av_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
