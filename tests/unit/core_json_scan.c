/* The in-place JSON reader (core/json_scan.h): sp_jscan_valid accepts only texts jansson
 * loads (JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES) as an object, declines every hostile or
 * unusual one, and the walkers read members, strings and numbers as jansson's tree has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/json_scan.h"

static bool jansson_loads(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(j);
    json_decref(j);
    return ok;
}

static void accepts_what_jansson_loads(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}", " {\"a\":1} ", "{\"a\":-0.5e-3,\"b\":[true,false,null,{}],\"c\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
        "{\"u\":\"\\u0000\\u00e9\\ud83d\\ude00\"}", "{\"e\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f\"}",
        "{\"n\":9223372036854775807,\"m\":-9223372036854775808,\"r\":1e308,\"z\":0}",
        "{\t\"a\" :\r\n[ 1 , 2 ] }",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(good); i++) {
        if (!sp_jscan_valid(good[i], strlen(good[i]))) fail_msg("declined: %s", good[i]);
        assert_true(jansson_loads(good[i], strlen(good[i])));
    }
}

static void declines_hostile_and_unusual_texts(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[]", "\"s\"", "1", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1}}",
        "{\"a\":1} x", "{\"a\":1,\"a\":2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
        "{\"a\":1e}", "{\"a\":+1}", "{\"a\":99999999999999999999}", "{\"a\":1e999}",
        "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}", "{\"a\":\"\x01\"}", "{\"a\":\"\n\"}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\xff\"}",
        "{\"a\\u0000\":1}", "{\"a\\n\":1}", "{'a':1}", "{\"a\":1 \"b\":2}",
        "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++)
        if (sp_jscan_valid(bad[i], strlen(bad[i]))) fail_msg("accepted: %s", bad[i]);
    /* a NUL byte inside the text, and past its end */
    static const char nul[] = "{\"a\":1}\0";
    assert_false(sp_jscan_valid(nul, sizeof nul - 1));
    assert_true(sp_jscan_valid(nul, sizeof nul - 2));
    /* deeper than SP_JSCAN_DEPTH_MAX, wider than SP_JSCAN_MEMBERS_MAX: jansson takes them */
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    for (int i = 0; i < SP_JSCAN_DEPTH_MAX + 1; i++) sp_str_puts(&s, "{\"a\":");
    sp_str_puts(&s, "1");
    for (int i = 0; i < SP_JSCAN_DEPTH_MAX + 1; i++) sp_str_putc(&s, '}');
    assert_false(sp_jscan_valid(s.buf, s.len));
    assert_true(jansson_loads(s.buf, s.len));
    sp_str_reset(&s);
    sp_str_putc(&s, '{');
    for (int i = 0; i <= SP_JSCAN_MEMBERS_MAX; i++) sp_str_appendf(&s, "%s\"m%d\":%d", i ? "," : "", i, i);
    sp_str_putc(&s, '}');
    assert_false(sp_jscan_valid(s.buf, s.len));
    assert_true(jansson_loads(s.buf, s.len));
    sp_str_release(&s);
}

static void walkers_read_members_strings_and_numbers(void **state)
{
    (void)state;
    static const char T[] = " { \"k\" : { \"S\" : \"v\" } , \"arr\" : [ 1 , \"x\\n\" , [ ] ] ,"
                            " \"n\" : -12 , \"r\" : 1.5e2 , \"s\" : \"plain\" } ";
    assert_true(sp_jscan_valid(T, strlen(T)));
    const char *root = strchr(T, '{');
    assert_int_equal(sp_jscan_count(root), 5);
    const char *k = sp_jscan_member(root, "k");
    assert_non_null(k);
    assert_true(sp_jscan_string_is(sp_jscan_member(k, "S"), "v"));
    assert_null(sp_jscan_member(root, "missing"));
    const char *arr = sp_jscan_member(root, "arr"), *x;
    assert_int_equal(sp_jscan_count(arr), 3);
    sp_jscan_iter it;
    sp_jscan_iter_init(&it, arr);
    assert_true(sp_jscan_iter_elem(&it, &x));
    assert_true(sp_jscan_number(x) == 1.0);
    assert_true(sp_jscan_iter_elem(&it, &x));
    const char *str;
    size_t len;
    assert_false(sp_jscan_plain_string(x, &str, &len)); /* an escape: not its value */
    assert_true(sp_jscan_iter_elem(&it, &x));
    assert_int_equal(sp_jscan_kind(x), '[');
    assert_false(sp_jscan_iter_elem(&it, &x));
    assert_true(sp_jscan_number(sp_jscan_member(root, "n")) == -12.0);
    assert_true(sp_jscan_number(sp_jscan_member(root, "r")) == 150.0);
    assert_true(sp_jscan_plain_string(sp_jscan_member(root, "s"), &str, &len));
    assert_int_equal(len, 5);
    assert_memory_equal(str, "plain", 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_what_jansson_loads),
        cmocka_unit_test(declines_hostile_and_unusual_texts),
        cmocka_unit_test(walkers_read_members_strings_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
