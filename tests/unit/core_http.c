/* Unit tests for the REST helpers (core/http.c): query parameters are found by exact name
 * and percent-decoded ('+' as space in queries), percent-decoding rejects malformed escapes,
 * and responses own and free their body and headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

static void query_param_found_and_decoded(void **state)
{
    (void)state;
    char out[64];
    const char *q = "list-type=2&prefix=2024%2F01%2F&delimiter=%2F&max-keys=10&q=a+b%2Bc&empty=&flag";
    assert_true(sp_http_query_param(q, "list-type", out, sizeof out));
    assert_string_equal(out, "2");
    assert_true(sp_http_query_param(q, "prefix", out, sizeof out));
    assert_string_equal(out, "2024/01/");
    assert_true(sp_http_query_param(q, "delimiter", out, sizeof out));
    assert_string_equal(out, "/");
    assert_true(sp_http_query_param(q, "q", out, sizeof out));
    assert_string_equal(out, "a b+c");
    assert_true(sp_http_query_param(q, "empty", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(sp_http_query_param(q, "flag", out, sizeof out)); /* no '=' at all */
    assert_string_equal(out, "");
}

static void query_param_matches_whole_names_only(void **state)
{
    (void)state;
    char out[16];
    const char *q = "prefixes=x&max=1&max-keys=5";
    assert_false(sp_http_query_param(q, "prefix", out, sizeof out));
    assert_true(sp_http_query_param(q, "max-keys", out, sizeof out));
    assert_string_equal(out, "5");
    assert_true(sp_http_query_param(q, "max", out, sizeof out));
    assert_string_equal(out, "1");
    assert_false(sp_http_query_param(q, "keys", out, sizeof out));
    assert_false(sp_http_query_param("", "a", out, sizeof out));
    assert_false(sp_http_query_param(NULL, "a", out, sizeof out));
    assert_true(sp_http_query_param("&&a=1&", "a", out, sizeof out)); /* empty pairs skipped */
    assert_string_equal(out, "1");
}

static void query_param_first_occurrence_wins(void **state)
{
    (void)state;
    char out[16];
    assert_true(sp_http_query_param("a=1&a=2", "a", out, sizeof out));
    assert_string_equal(out, "1");
}

static void query_param_too_long_or_malformed_fails(void **state)
{
    (void)state;
    char out[4];
    assert_false(sp_http_query_param("a=abcd", "a", out, sizeof out)); /* needs 5 bytes */
    assert_true(sp_http_query_param("a=abc", "a", out, sizeof out));
    assert_string_equal(out, "abc");
    char big[16];
    assert_false(sp_http_query_param("a=%zz", "a", big, sizeof big));
    assert_false(sp_http_query_param("a=%4", "a", big, sizeof big));
}

static void percent_decode_in_place(void **state)
{
    (void)state;
    char s1[] = "a%20b%2fc%2F%41+";
    assert_true(sp_http_percent_decode(s1));
    assert_string_equal(s1, "a b/c/A+"); /* '+' stays '+' in paths */
    char s2[] = "%e2%82%ac";
    assert_true(sp_http_percent_decode(s2));
    assert_string_equal(s2, "\xe2\x82\xac");
    char s3[] = "plain";
    assert_true(sp_http_percent_decode(s3));
    assert_string_equal(s3, "plain");
    char s4[] = "";
    assert_true(sp_http_percent_decode(s4));
    assert_string_equal(s4, "");
}

static void percent_decode_rejects_malformed_escapes(void **state)
{
    (void)state;
    static const char *bad[] = {"%", "%4", "abc%", "%g0", "%0g", "a%%20",
                                "key%00.json" /* would cut the string */};
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%s", bad[i]);
        assert_false(sp_http_percent_decode(buf));
    }
}

static void response_owns_body_and_headers(void **state)
{
    (void)state;
    sp_http_resp r = {0};
    sp_http_resp_set(&r, 200, "text/plain", strdup("first"), 5);
    sp_http_resp_set(&r, 404, "text/plain", strdup("second"), 6); /* frees the first */
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "second");
    char name[] = "ETag";
    sp_http_resp_header(&r, name, "\"abc\"");
    name[0] = 'X'; /* copied, not borrowed */
    assert_string_equal(r.header_names[0], "ETag");
    for (int i = 0; i < SP_HTTP_MAX_HEADERS + 3; i++) sp_http_resp_header(&r, "x-n", "v");
    assert_int_equal(r.n_headers, SP_HTTP_MAX_HEADERS);
    sp_http_resp_clear(&r);
    assert_int_equal(r.n_headers, 0);
    assert_null(r.body);
    assert_int_equal(r.status, 0);
}

static void response_json_serialises(void **state)
{
    (void)state;
    sp_http_resp r = {0};
    json_t *j = json_pack("{s:i}", "Count", 3);
    sp_http_resp_json(&r, 201, j);
    json_decref(j);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"Count\":3}");
    assert_int_equal(r.body_len, strlen(r.body));
    sp_http_resp_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_param_found_and_decoded),
        cmocka_unit_test(query_param_matches_whole_names_only),
        cmocka_unit_test(query_param_first_occurrence_wins),
        cmocka_unit_test(query_param_too_long_or_malformed_fails),
        cmocka_unit_test(percent_decode_in_place),
        cmocka_unit_test(percent_decode_rejects_malformed_escapes),
        cmocka_unit_test(response_owns_body_and_headers),
        cmocka_unit_test(response_json_serialises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
