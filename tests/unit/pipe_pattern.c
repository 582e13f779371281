/* Unit tests for EventBridge pattern matching (src/pipe/pattern.c): every operator, nested
 * fields, arrays in the event, $or, and the patterns that must be rejected at create time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipe/pipe.h"

/* True if pattern (JSON text) matches event (JSON text); fails the test if either is bad. */
static bool matches(const char *pattern, const char *event)
{
    sp_err e = {0};
    pip_pattern *p = pip_pattern_parse(pattern, strlen(pattern), &e);
    if (!p) fail_msg("pattern %s rejected: %s", pattern, e.msg);
    json_t *ev = json_loads(event, 0, NULL);
    assert_non_null(ev);
    bool m = pip_pattern_match(p, ev);
    json_decref(ev);
    pip_pattern_destroy(p);
    return m;
}

/* The error message for an invalid pattern (asserts it is rejected). */
static const char *rejects(const char *pattern)
{
    static sp_err e;
    sp_err_clear(&e);
    pip_pattern *p = pip_pattern_parse(pattern, strlen(pattern), &e);
    if (p) {
        pip_pattern_destroy(p);
        fail_msg("pattern %s was accepted", pattern);
    }
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    return e.msg;
}

static void test_exact_values_any_of_list(void **state)
{
    (void)state;
    assert_true(matches("{\"eventName\":[\"INSERT\",\"MODIFY\"]}", "{\"eventName\":\"MODIFY\"}"));
    assert_false(matches("{\"eventName\":[\"INSERT\",\"MODIFY\"]}", "{\"eventName\":\"REMOVE\"}"));
    assert_false(matches("{\"eventName\":[\"INSERT\"]}", "{\"eventName\":\"insert\"}"));
    assert_true(matches("{\"n\":[5]}", "{\"n\":5.0}"));
    assert_false(matches("{\"n\":[5]}", "{\"n\":\"5\"}"));
    assert_false(matches("{\"n\":[\"5\"]}", "{\"n\":5}"));
    assert_true(matches("{\"b\":[true]}", "{\"b\":true}"));
    assert_false(matches("{\"b\":[true]}", "{\"b\":false}"));
    assert_true(matches("{\"s\":[\"\"]}", "{\"s\":\"\"}"));
}

static void test_all_fields_must_match(void **state)
{
    (void)state;
    const char *p = "{\"a\":[\"x\"],\"b\":[\"y\"]}";
    assert_true(matches(p, "{\"a\":\"x\",\"b\":\"y\",\"c\":1}"));
    assert_false(matches(p, "{\"a\":\"x\",\"b\":\"z\"}"));
    assert_false(matches(p, "{\"a\":\"x\"}"));
}

static void test_null_matches_only_null(void **state)
{
    (void)state;
    assert_true(matches("{\"a\":[null]}", "{\"a\":null}"));
    assert_false(matches("{\"a\":[null]}", "{}"));
    assert_false(matches("{\"a\":[null]}", "{\"a\":\"null\"}"));
}

static void test_prefix_and_suffix(void **state)
{
    (void)state;
    assert_true(matches("{\"r\":[{\"prefix\":\"us-\"}]}", "{\"r\":\"us-east-1\"}"));
    assert_false(matches("{\"r\":[{\"prefix\":\"us-\"}]}", "{\"r\":\"eu-west-1\"}"));
    assert_false(matches("{\"r\":[{\"prefix\":\"us-\"}]}", "{\"r\":\"US-east-1\"}"));
    assert_true(matches("{\"r\":[{\"prefix\":{\"equals-ignore-case\":\"us-\"}}]}",
                        "{\"r\":\"US-east-1\"}"));
    assert_true(matches("{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"a.png\"}"));
    assert_false(matches("{\"f\":[{\"suffix\":\".png\"}]}", "{\"f\":\"a.PNG\"}"));
    assert_true(matches("{\"f\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}",
                        "{\"f\":\"a.PNG\"}"));
    assert_false(matches("{\"f\":[{\"suffix\":\"png\"}]}", "{\"f\":\"pn\"}"));
    /* prefix is for strings only */
    assert_false(matches("{\"n\":[{\"prefix\":\"1\"}]}", "{\"n\":12}"));
}

static void test_equals_ignore_case_and_wildcard(void **state)
{
    (void)state;
    assert_true(matches("{\"s\":[{\"equals-ignore-case\":\"laptop\"}]}", "{\"s\":\"LapTop\"}"));
    assert_false(matches("{\"s\":[{\"equals-ignore-case\":\"laptop\"}]}", "{\"s\":\"Laptops\"}"));
    assert_true(matches("{\"p\":[{\"wildcard\":\"*/lib/*.so\"}]}", "{\"p\":\"/usr/lib/x.so\"}"));
    assert_false(matches("{\"p\":[{\"wildcard\":\"*/lib/*.so\"}]}", "{\"p\":\"/usr/lib/x.a\"}"));
}

static void test_anything_but(void **state)
{
    (void)state;
    assert_true(matches("{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":\"run\"}"));
    assert_false(matches("{\"s\":[{\"anything-but\":\"init\"}]}", "{\"s\":\"init\"}"));
    assert_false(matches("{\"s\":[{\"anything-but\":\"init\"}]}", "{}"));
    assert_true(matches("{\"n\":[{\"anything-but\":[1,2]}]}", "{\"n\":3}"));
    assert_false(matches("{\"n\":[{\"anything-but\":[1,2]}]}", "{\"n\":2}"));
    assert_false(matches("{\"s\":[{\"anything-but\":[\"a\",\"b\"]}]}", "{\"s\":\"b\"}"));
    assert_true(matches("{\"r\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}", "{\"r\":\"eu-1\"}"));
    assert_false(matches("{\"r\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}", "{\"r\":\"us-1\"}"));
    assert_false(matches("{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}", "{\"f\":\"a.png\"}"));
    assert_true(matches("{\"f\":[{\"anything-but\":{\"suffix\":\".png\"}}]}", "{\"f\":\"a.jpg\"}"));
    assert_false(matches("{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"a\",\"b\"]}}]}",
                         "{\"s\":\"B\"}"));
    assert_true(matches("{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"a\"}}]}",
                        "{\"s\":\"c\"}"));
}

static void test_numeric_ranges(void **state)
{
    (void)state;
    const char *p = "{\"price\":[{\"numeric\":[\">\",0,\"<=\",5]}]}";
    assert_true(matches(p, "{\"price\":5}"));
    assert_true(matches(p, "{\"price\":0.5}"));
    assert_false(matches(p, "{\"price\":0}"));
    assert_false(matches(p, "{\"price\":5.01}"));
    assert_false(matches(p, "{\"price\":\"3\"}")); /* strings are not numbers */
    assert_true(matches("{\"x\":[{\"numeric\":[\"=\",300]}]}", "{\"x\":300.0}"));
    assert_false(matches("{\"x\":[{\"numeric\":[\"=\",300]}]}", "{\"x\":301}"));
    assert_true(matches("{\"x\":[{\"numeric\":[\">=\",10]}]}", "{\"x\":10}"));
    assert_true(matches("{\"x\":[{\"numeric\":[\"<\",-1.5]}]}", "{\"x\":-2}"));
}

static void test_exists(void **state)
{
    (void)state;
    assert_true(matches("{\"a\":[{\"exists\":true}]}", "{\"a\":\"v\"}"));
    assert_true(matches("{\"a\":[{\"exists\":true}]}", "{\"a\":null}"));
    assert_false(matches("{\"a\":[{\"exists\":true}]}", "{\"b\":1}"));
    assert_true(matches("{\"a\":[{\"exists\":false}]}", "{\"b\":1}"));
    assert_false(matches("{\"a\":[{\"exists\":false}]}", "{\"a\":0}"));
    /* exists looks at leaves: an object is not a leaf */
    assert_false(matches("{\"a\":[{\"exists\":true}]}", "{\"a\":{\"b\":1}}"));
    /* a missing parent means a missing leaf */
    assert_true(matches("{\"d\":{\"OldImage\":[{\"exists\":false}]}}", "{\"x\":1}"));
    assert_true(matches("{\"d\":{\"Old\":{\"k\":[{\"exists\":false}]}}}", "{\"d\":{}}"));
}

static void test_nested_fields_of_a_stream_record(void **state)
{
    (void)state;
    const char *rec = "{\"eventName\":\"MODIFY\",\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"42\"}},"
                      "\"NewImage\":{\"product_name\":{\"S\":\"Laptop\"},\"price\":{\"N\":\"120.5\"}}}}";
    assert_true(matches("{\"dynamodb\":{\"NewImage\":{\"product_name\":{\"S\":[\"Laptop\"]}}}}", rec));
    assert_false(matches("{\"dynamodb\":{\"NewImage\":{\"product_name\":{\"S\":[\"Phone\"]}}}}", rec));
    assert_true(matches("{\"eventName\":[\"MODIFY\"],\"dynamodb\":{\"Keys\":{\"orderid\":"
                        "{\"S\":[{\"prefix\":\"4\"}]}}}}", rec));
    /* a leaf pattern where the event has an object does not match */
    assert_false(matches("{\"dynamodb\":[\"x\"]}", rec));
    /* a nested pattern where the event has a scalar does not match */
    assert_false(matches("{\"eventName\":{\"x\":[\"MODIFY\"]}}", rec));
}

static void test_arrays_in_the_event(void **state)
{
    (void)state;
    assert_true(matches("{\"tags\":[\"b\"]}", "{\"tags\":[\"a\",\"b\"]}"));
    assert_false(matches("{\"tags\":[\"c\"]}", "{\"tags\":[\"a\",\"b\"]}"));
    assert_true(matches("{\"n\":[{\"numeric\":[\">\",10]}]}", "{\"n\":[1,20]}"));
    assert_true(matches("{\"items\":{\"id\":[2]}}", "{\"items\":[{\"id\":1},{\"id\":2}]}"));
    assert_false(matches("{\"items\":{\"id\":[3]}}", "{\"items\":[{\"id\":1},{\"id\":2}]}"));
    assert_true(matches("{\"tags\":[{\"exists\":false}]}", "{\"tags\":[]}"));
}

static void test_or(void **state)
{
    (void)state;
    const char *p = "{\"$or\":[{\"a\":[1]},{\"b\":[{\"prefix\":\"x\"}]}],\"c\":[\"k\"]}";
    assert_true(matches(p, "{\"a\":1,\"c\":\"k\"}"));
    assert_true(matches(p, "{\"b\":\"xy\",\"c\":\"k\"}"));
    assert_false(matches(p, "{\"b\":\"y\",\"c\":\"k\"}"));
    assert_false(matches(p, "{\"a\":1,\"c\":\"z\"}"));
    assert_true(matches("{\"d\":{\"$or\":[{\"x\":[1]},{\"y\":[2]}]}}", "{\"d\":{\"y\":2}}"));
}

static void test_empty_pattern_matches_everything(void **state)
{
    (void)state;
    assert_true(matches("{}", "{\"a\":1}"));
}

static void test_invalid_patterns_are_rejected_with_the_field(void **state)
{
    (void)state;
    assert_non_null(strstr(rejects("{\"a\":\"x\"}"), "'a'"));
    assert_non_null(strstr(rejects("{\"a\":{\"b\":5}}"), "'a.b'"));
    assert_non_null(strstr(rejects("[1]"), "JSON object"));
    assert_non_null(strstr(rejects("{\"a\":[}"), "not valid JSON"));
    assert_non_null(strstr(rejects("{\"a\":[]}"), "empty"));
    assert_non_null(strstr(rejects("{\"a\":[[1]]}"), "list"));
    assert_non_null(strstr(rejects("{\"a\":[{\"bogus\":1}]}"), "bogus"));
    assert_non_null(strstr(rejects("{\"a\":[{\"prefix\":1}]}"), "prefix"));
    assert_non_null(strstr(rejects("{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}"), "one key"));
    assert_non_null(strstr(rejects("{\"a\":[{\"exists\":\"yes\"}]}"), "exists"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[\"<\",0,\">=\",10]}]}"), "lower bound"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[\">\",\"5\"]}]}"), "numbers"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[\"!=\",5]}]}"), "operator"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[\">\",1,\">\",2]}]}"), "two lower"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[\"=\",1,\"<\",2]}]}"), "'='"));
    assert_non_null(strstr(rejects("{\"a\":[{\"numeric\":[]}]}"), "pair"));
    assert_non_null(strstr(rejects("{\"a\":[{\"anything-but\":[]}]}"), "empty"));
    assert_non_null(strstr(rejects("{\"a\":[{\"anything-but\":[\"x\",1]}]}"), "only strings"));
    assert_non_null(strstr(rejects("{\"a\":[{\"anything-but\":{\"numeric\":[\">\",1]}}]}"),
                           "anything-but"));
    assert_non_null(strstr(rejects("{\"$or\":[{\"a\":[1]}]}"), "at least two"));
    assert_non_null(strstr(rejects("{\"$or\":[{\"a\":[1]},3]}"), "objects"));
    assert_non_null(strstr(rejects("{\"a\":[{\"wildcard\":\"a**b\"}]}"), "consecutive"));
    /* nesting is bounded */
    char deep[400] = "";
    for (int i = 0; i < 40; i++) strcat(deep, "{\"a\":");
    strcat(deep, "[1]");
    for (int i = 0; i < 40; i++) strcat(deep, "}");
    assert_non_null(strstr(rejects(deep), "deeply"));
}

static void test_filter_set_passes_if_any_pattern_matches(void **state)
{
    (void)state;
    sp_err e = {0};
    json_t *pats = json_pack("[s, {s:[s]}]", "{\"eventName\":[\"INSERT\"]}", "eventName", "REMOVE");
    pip_filter *f = pip_filter_new(pats, &e);
    assert_non_null(f);
    json_t *ins = json_pack("{s:s}", "eventName", "INSERT");
    json_t *rem = json_pack("{s:s}", "eventName", "REMOVE");
    json_t *mod = json_pack("{s:s}", "eventName", "MODIFY");
    assert_true(pip_filter_pass(f, ins));
    assert_true(pip_filter_pass(f, rem));
    assert_false(pip_filter_pass(f, mod));
    pip_filter_destroy(f);

    pip_filter *none = pip_filter_new(NULL, &e);
    assert_true(pip_filter_pass(none, mod));
    pip_filter_destroy(none);

    json_t *bad = json_pack("[s]", "{\"eventName\":\"INSERT\"}");
    assert_null(pip_filter_new(bad, &e));
    assert_non_null(strstr(e.msg, "Filters[0]"));
    json_t *six = json_pack("[s,s,s,s,s,s]", "{}", "{}", "{}", "{}", "{}", "{}");
    sp_err_clear(&e);
    assert_null(pip_filter_new(six, &e));
    assert_non_null(strstr(e.msg, "at most"));
    json_decref(six);
    json_decref(bad);
    json_decref(ins);
    json_decref(rem);
    json_decref(mod);
    json_decref(pats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_values_any_of_list),
        cmocka_unit_test(test_all_fields_must_match),
        cmocka_unit_test(test_null_matches_only_null),
        cmocka_unit_test(test_prefix_and_suffix),
        cmocka_unit_test(test_equals_ignore_case_and_wildcard),
        cmocka_unit_test(test_anything_but),
        cmocka_unit_test(test_numeric_ranges),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_nested_fields_of_a_stream_record),
        cmocka_unit_test(test_arrays_in_the_event),
        cmocka_unit_test(test_or),
        cmocka_unit_test(test_empty_pattern_matches_everything),
        cmocka_unit_test(test_invalid_patterns_are_rejected_with_the_field),
        cmocka_unit_test(test_filter_set_passes_if_any_pattern_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
