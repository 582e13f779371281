/* Unit tests for the JSON helpers (core/json.c): typed member getters return values,
 * fallbacks for absent (or null) members, a 400 ValidationException naming a missing required
 * member, a 400 SerializationException naming a member of the wrong type, and keep the first
 * error; body parsing reports SerializationException with jansson's position; op lookup
 * matches exact names only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    assert_non_null(v);
    return v;
}

static void str_getter(void **state)
{
    (void)state;
    json_t *o = load("{\"TableName\":\"Orders\",\"Limit\":5,\"Gone\":null}");
    sp_err e = {0};
    assert_string_equal(sp_json_str(o, "TableName", true, &e), "Orders");
    assert_null(sp_json_str(o, "Missing", false, &e));
    assert_null(sp_json_str(o, "Gone", false, &e));
    assert_false(sp_err_failed(&e));

    assert_null(sp_json_str(o, "Missing", true, &e));
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.msg, "1 validation error detected: Value null at 'Missing' failed to "
                               "satisfy constraint: Member must not be null");

    sp_err_clear(&e);
    assert_null(sp_json_str(o, "Gone", true, &e)); /* null counts as missing */
    assert_string_equal(e.code, "ValidationException");

    sp_err_clear(&e);
    assert_null(sp_json_str(o, "Limit", true, &e));
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "SerializationException");
    assert_string_equal(e.msg, "Member 'Limit' must be a string, got integer");
    json_decref(o);
}

static void int_getter(void **state)
{
    (void)state;
    json_t *o = load("{\"Limit\":25,\"Big\":9007199254740993,\"Neg\":-3,\"Real\":2.5,"
                     "\"Str\":\"7\",\"Nul\":null}");
    sp_err e = {0};
    assert_int_equal(sp_json_int(o, "Limit", true, -1, &e), 25);
    assert_int_equal(sp_json_int(o, "Big", true, -1, &e), 9007199254740993LL);
    assert_int_equal(sp_json_int(o, "Neg", false, -1, &e), -3);
    assert_int_equal(sp_json_int(o, "Absent", false, 100, &e), 100);
    assert_int_equal(sp_json_int(o, "Nul", false, 100, &e), 100);
    assert_false(sp_err_failed(&e));

    assert_int_equal(sp_json_int(o, "Real", false, 7, &e), 7);
    assert_string_equal(e.code, "SerializationException");
    assert_string_equal(e.msg, "Member 'Real' must be an integer, got number");
    sp_err_clear(&e);
    assert_int_equal(sp_json_int(o, "Str", false, 7, &e), 7);
    assert_string_equal(e.msg, "Member 'Str' must be an integer, got string");
    sp_err_clear(&e);
    assert_int_equal(sp_json_int(o, "Absent", true, 9, &e), 9);
    assert_string_equal(e.code, "ValidationException");
    assert_non_null(strstr(e.msg, "'Absent'"));
    json_decref(o);
}

static void bool_getter(void **state)
{
    (void)state;
    json_t *o = load("{\"T\":true,\"F\":false,\"N\":1}");
    sp_err e = {0};
    assert_true(sp_json_bool(o, "T", false, &e));
    assert_false(sp_json_bool(o, "F", true, &e));
    assert_true(sp_json_bool(o, "Absent", true, &e));
    assert_false(sp_err_failed(&e));
    assert_true(sp_json_bool(o, "N", true, &e));
    assert_string_equal(e.code, "SerializationException");
    assert_string_equal(e.msg, "Member 'N' must be a boolean, got integer");
    json_decref(o);
}

static void object_and_array_getters(void **state)
{
    (void)state;
    json_t *o = load("{\"Item\":{\"a\":1},\"Records\":[1,2],\"S\":\"x\",\"T\":true}");
    sp_err e = {0};
    json_t *item = sp_json_object(o, "Item", true, &e);
    assert_non_null(item);
    assert_ptr_equal(item, json_object_get(o, "Item")); /* borrowed */
    assert_int_equal(json_array_size(sp_json_array(o, "Records", true, &e)), 2);
    assert_null(sp_json_object(o, "Absent", false, &e));
    assert_null(sp_json_array(o, "Absent", false, &e));
    assert_false(sp_err_failed(&e));

    assert_null(sp_json_object(o, "Records", true, &e));
    assert_string_equal(e.msg, "Member 'Records' must be an object, got array");
    sp_err_clear(&e);
    assert_null(sp_json_array(o, "Item", true, &e));
    assert_string_equal(e.msg, "Member 'Item' must be an array, got object");
    sp_err_clear(&e);
    assert_null(sp_json_array(o, "T", true, &e));
    assert_string_equal(e.msg, "Member 'T' must be an array, got boolean");
    sp_err_clear(&e);
    assert_null(sp_json_object(o, "Absent", true, &e));
    assert_string_equal(e.code, "ValidationException");
    json_decref(o);
}

static void first_error_is_kept(void **state)
{
    (void)state;
    json_t *o = load("{\"A\":1,\"B\":\"s\"}");
    sp_err e = {0};
    sp_json_str(o, "A", true, &e);
    sp_json_int(o, "B", true, 0, &e);
    sp_json_str(o, "C", true, &e);
    assert_string_equal(e.msg, "Member 'A' must be a string, got integer");
    json_decref(o);
}

static void getters_tolerate_non_objects_and_null_err(void **state)
{
    (void)state;
    json_t *a = load("[1,2]");
    assert_null(sp_json_str(a, "x", false, NULL));
    assert_null(sp_json_str(NULL, "x", true, NULL));
    assert_int_equal(sp_json_int(a, "x", true, 4, NULL), 4);
    sp_err e = {0};
    assert_null(sp_json_str(a, "x", true, &e)); /* not an object: member is missing */
    assert_string_equal(e.code, "ValidationException");
    json_t *o = load("{\"x\":3}");
    assert_null(sp_json_str(o, "x", true, NULL)); /* wrong type, no error sink */
    json_decref(o);
    json_decref(a);
}

static void parse_accepts_json_and_rejects_garbage(void **state)
{
    (void)state;
    sp_err e = {0};
    const char *ok = "{\"a\":[1,2,{\"b\":null}]}";
    json_t *v = sp_json_parse(ok, strlen(ok), &e);
    assert_non_null(v);
    assert_false(sp_err_failed(&e));
    json_decref(v);

    /* The length bounds the input: trailing bytes after len are not read. */
    v = sp_json_parse("{}garbage", 2, &e);
    assert_non_null(v);
    json_decref(v);

    static const char *bad[] = {"", "{", "{\"a\":}", "not json", "{\"a\":1}}", "{'a':1}",
                                "{\"a\":1,\"a\":2}" /* duplicate keys */};
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        sp_err_clear(&e);
        assert_null(sp_json_parse(bad[i], strlen(bad[i]), &e));
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, "SerializationException");
        assert_non_null(strstr(e.msg, "Request body is not valid JSON: "));
        assert_non_null(strstr(e.msg, " at line 1, column "));
    }
    sp_err_clear(&e);
    assert_null(sp_json_parse("{\n  \"a\": tru\n}", 14, &e));
    assert_non_null(strstr(e.msg, "at line 2"));
}

static void parse_keeps_embedded_nul_in_strings(void **state)
{
    (void)state;
    sp_err e = {0};
    const char *body = "{\"k\":\"a\\u0000b\"}";
    json_t *v = sp_json_parse(body, strlen(body), &e);
    assert_non_null(v);
    assert_int_equal(json_string_length(json_object_get(v, "k")), 3);
    json_decref(v);
}

static void dump_is_compact(void **state)
{
    (void)state;
    json_t *v = load("{ \"a\" : [ 1 , 2 ] }");
    size_t len = 0;
    char *s = sp_json_dump(v, &len);
    assert_string_equal(s, "{\"a\":[1,2]}");
    assert_int_equal(len, strlen(s));
    free(s);
    json_decref(v);
    json_t *str = json_string("x");
    s = sp_json_dump(str, NULL); /* any value, not only objects */
    assert_string_equal(s, "\"x\"");
    free(s);
    json_decref(str);
}

static json_t *op_a(void *ctx, json_t *req, sp_err *e) { (void)ctx; (void)req; (void)e; return NULL; }
static json_t *op_b(void *ctx, json_t *req, sp_err *e) { (void)ctx; (void)req; (void)e; return NULL; }

static void expect_real(double d, const char *want)
{
    char buf[SP_JSON_REAL_MAX];
    size_t n = sp_json_real_format(d, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

/* What Python's repr (the seed's Lambda, json.dumps) writes for the same doubles. */
static void reals_are_written_in_their_shortest_round_trip_form(void **state)
{
    (void)state;
    expect_real(128.92, "128.92");
    expect_real(0.1 + 0.2, "0.30000000000000004");
    expect_real(1.0, "1.0");
    expect_real(-0.5, "-0.5");
    expect_real(1e22, "1e+22");
    expect_real(5e-324, "5e-324");
    expect_real(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_real(123456789.0, "123456789.0");
}

/* Without reals the shortest dump is byte for byte jansson's compact dump (escapes, order,
 * integers, nesting); with them only the reals differ. */
static void shortest_dump_equals_jansson_but_for_reals(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:s, s:I, s:[b,n,s], s:{s:s#}, s:s}", "z\"q", "a\\b\n\t\x01\x7f/é",
                            "n", (json_int_t)-9007199254740993LL, "arr", 1, "x", "o", "k",
                            "nul\0in", (size_t)6, "last", "");
    size_t n1, n2;
    char *a = sp_json_dump(doc, &n1), *b = sp_json_dump_shortest(doc, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    json_object_set_new(doc, "price", json_real(128.92));
    b = sp_json_dump_shortest(doc, &n2);
    assert_non_null(strstr(b, ",\"price\":128.92}"));
    json_t *back = json_loads(b, JSON_ALLOW_NUL, NULL);
    assert_true(json_real_value(json_object_get(back, "price")) == 128.92);
    json_decref(back);
    free(b);
    json_decref(doc);
}

static void op_find_matches_exact_name(void **state)
{
    (void)state;
    static const sp_op ops[] = {{"PutItem", op_a}, {"PutRecords", op_b}, {NULL, NULL}};
    assert_ptr_equal(sp_op_find(ops, "PutItem", 7), &ops[0]);
    assert_ptr_equal(sp_op_find(ops, "PutRecordsXYZ", 10), &ops[1]); /* length bounds the name */
    assert_null(sp_op_find(ops, "PutItem", 6));
    assert_null(sp_op_find(ops, "PutItems", 8));
    assert_null(sp_op_find(ops, "putitem", 7));
    assert_null(sp_op_find(ops, "", 0));
    assert_null(sp_op_find(NULL, "PutItem", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(str_getter),
        cmocka_unit_test(int_getter),
        cmocka_unit_test(bool_getter),
        cmocka_unit_test(object_and_array_getters),
        cmocka_unit_test(first_error_is_kept),
        cmocka_unit_test(getters_tolerate_non_objects_and_null_err),
        cmocka_unit_test(parse_accepts_json_and_rejects_garbage),
        cmocka_unit_test(parse_keeps_embedded_nul_in_strings),
        cmocka_unit_test(dump_is_compact),
        cmocka_unit_test(reals_are_written_in_their_shortest_round_trip_form),
        cmocka_unit_test(shortest_dump_equals_jansson_but_for_reals),
        cmocka_unit_test(op_find_matches_exact_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
