/* The JsonPath subset of custom JSON classifiers: which records a path selects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

static bool collect(void *arg, json_t *v)
{
    json_array_append(arg, v);
    return true;
}

/* Selected values of path in doc, as compact JSON text of an array. */
static void expect_select(const char *path, const char *doc, const char *want)
{
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile(path, &e);
    assert_non_null(p);
    json_t *d = json_loads(doc, JSON_DECODE_ANY, NULL);
    json_t *out = json_array();
    cat_jsonpath_select(p, d, collect, out);
    char *got = json_dumps(out, JSON_COMPACT);
    assert_string_equal(got, want);
    free(got);
    json_decref(out);
    json_decref(d);
    cat_jsonpath_destroy(p);
}

static void dollar_selects_the_document(void **state)
{
    (void)state;
    expect_select("$", "{\"a\":1}", "[{\"a\":1}]");
}

static void star_selects_array_elements(void **state)
{
    (void)state;
    expect_select("$[*]", "[{\"a\":1},{\"a\":2}]", "[{\"a\":1},{\"a\":2}]");
    expect_select("$[*]", "{\"a\":1}", "[]");
}

static void member_and_member_star(void **state)
{
    (void)state;
    expect_select("$.records", "{\"records\":[1,2]}", "[[1,2]]");
    expect_select("$.records[*]", "{\"records\":[{\"x\":1},{\"x\":2}]}", "[{\"x\":1},{\"x\":2}]");
    expect_select("$.data.items[*]", "{\"data\":{\"items\":[3]}}", "[3]");
    expect_select("$['odd name'][0]", "{\"odd name\":[7,8]}", "[7]");
    expect_select("$.missing", "{\"a\":1}", "[]");
}

static void bad_paths_are_refused_with_position(void **state)
{
    (void)state;
    const char *bad[] = {"", "records", "$.", "$[", "$[*", "$['x", "$[x]", "$..a", "$ .a",
                         "$['odd name$'", "$.a['b'.c"}; /* the last two: fuzz leaks */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sp_err e = {0};
        assert_null(cat_jsonpath_compile(bad[i], &e));
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, "InvalidInputException");
        assert_non_null(strstr(e.msg, "position"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dollar_selects_the_document),
        cmocka_unit_test(star_selects_array_elements),
        cmocka_unit_test(member_and_member_star),
        cmocka_unit_test(bad_paths_are_refused_with_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
