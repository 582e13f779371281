/* Glue schema inference: what type a JSON record gets and how records merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_int.h"

/* Infers the merged type of the JSON lines in docs and checks its Glue name. */
static void expect_schema(const char *const *docs, size_t n, const char *want)
{
    cat_type *t = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        cat_type *one = cat_type_of_json(v);
        cat_type_merge(&t, one);
        cat_type_destroy(one);
        json_decref(v);
    }
    char *name = cat_type_name(t);
    assert_string_equal(name, want);
    free(name);
    cat_type_destroy(t);
}

static void seed_record_gets_seed_types(void **state)
{
    (void)state;
    const char *docs[] = {"{\"orderid\":\"42\",\"product_name\":\"Laptop\",\"quantity\":3,"
                          "\"price\":199.5,\"cdc_event_type\":\"INSERT\"}"};
    expect_schema(docs, 1,
                  "struct<orderid:string,product_name:string,quantity:bigint,price:double,"
                  "cdc_event_type:string>");
}

static void integers_widen_to_double(void **state)
{
    (void)state;
    const char *docs[] = {"{\"price\":10}", "{\"price\":10.5}", "{\"price\":7}"};
    expect_schema(docs, 3, "struct<price:double>");
}

static void string_wins_conflicting_scalars(void **state)
{
    (void)state;
    const char *docs[] = {"{\"a\":1,\"b\":true}", "{\"a\":\"x\",\"b\":2}"};
    expect_schema(docs, 2, "struct<a:string,b:string>");
}

static void null_takes_the_other_type(void **state)
{
    (void)state;
    const char *docs[] = {"{\"a\":null}", "{\"a\":5}"};
    expect_schema(docs, 2, "struct<a:bigint>");
}

static void columns_union_in_order_of_first_appearance(void **state)
{
    (void)state;
    const char *docs[] = {"{\"b\":1,\"a\":1}", "{\"c\":\"x\",\"a\":2}", "{\"d\":false}"};
    expect_schema(docs, 3, "struct<b:bigint,a:bigint,c:string,d:boolean>");
}

static void nested_values_become_struct_and_array(void **state)
{
    (void)state;
    const char *docs[] = {"{\"o\":{\"x\":1},\"l\":[1,2]}", "{\"o\":{\"y\":\"s\",\"x\":2.5},\"l\":[3.5]}"};
    expect_schema(docs, 2, "struct<o:struct<x:double,y:string>,l:array<double>>");
}

static void member_names_are_lower_cased(void **state)
{
    (void)state;
    const char *docs[] = {"{\"OrderId\":\"1\"}", "{\"orderid\":\"2\"}"};
    expect_schema(docs, 2, "struct<orderid:string>");
}

static void type_names_parse_back(void **state)
{
    (void)state;
    const char *names[] = {"string", "bigint", "int", "double", "boolean", "array<string>",
                           "struct<a:bigint,b:array<struct<c:double>>>", "struct<>",
                           /* Parquet's types, kept by name (crawled from footers) */
                           "map<string,string>", "timestamp", "decimal(10,2)",
                           "struct<a:date,m:map<string,array<int>>,f:float>"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        cat_type *t = cat_type_parse(names[i]);
        assert_non_null(t);
        char *back = cat_type_name(t);
        assert_string_equal(back, names[i]);
        free(back);
        cat_type_destroy(t);
    }
    assert_null(cat_type_parse("struct<a:bigint"));
    assert_null(cat_type_parse("map<string,string"));
    assert_null(cat_type_parse("uuid"));
    assert_null(cat_type_parse("bigint "));
}

/* Member names holding the type grammar's own characters (or none at all) are quoted, so
 * the name of any inferred type parses back to the same type (a fuzz finding). */
static void odd_member_names_are_quoted_and_parse_back(void **state)
{
    (void)state;
    const char *doc = "{\"3,x\":{\"y\":[1,\"s\"]},\"\":1,\"a`b\":true,\"<:>\":2.5}";
    const char *want = "struct<`3,x`:struct<y:array<string>>,``:bigint,`a``b`:boolean,`<:>`:double>";
    json_t *v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    cat_type *t = cat_type_of_json(v);
    char *name = cat_type_name(t);
    assert_string_equal(name, want);
    cat_type *back = cat_type_parse(name);
    assert_non_null(back);
    assert_true(cat_type_equal(t, back));
    assert_string_equal(back->names[0], "3,x");
    assert_string_equal(back->names[2], "a`b");
    assert_null(cat_type_parse("struct<`a:bigint>"));
    assert_null(cat_type_parse("struct<a,b:bigint>"));
    free(name);
    cat_type_destroy(back);
    cat_type_destroy(t);
    json_decref(v);
}

/* A member name longer than Glue's limit is cut at a UTF-8 character boundary. */
static void long_member_names_stay_utf8(void **state)
{
    (void)state;
    char key[CAT_NAME_MAX + 8] = "";
    size_t n = 0;
    while (n + 2 <= CAT_NAME_MAX + 4) {
        key[n++] = (char)0xc3; /* U+00E9 */
        key[n++] = (char)0xa9;
    }
    key[n] = '\0';
    json_t *v = json_object();
    json_object_set_new(v, key, json_integer(1));
    cat_type *t = cat_type_of_json(v);
    assert_int_equal(t->n_fields, 1);
    size_t len = strlen(t->names[0]);
    assert_true(len <= CAT_NAME_MAX);
    assert_int_equal(len % 2, 0);
    assert_true(len >= CAT_NAME_MAX - 1);
    cat_type_destroy(t);
    json_decref(v);
}

static void int_widens_to_bigint_from_stored_schema(void **state)
{
    (void)state;
    cat_type *stored = cat_type_parse("struct<q:int,p:bigint>");
    cat_type *seen = cat_type_parse("struct<q:bigint,p:double,n:string>");
    cat_type_merge(&stored, seen);
    char *name = cat_type_name(stored);
    assert_string_equal(name, "struct<q:bigint,p:double,n:string>");
    free(name);
    cat_type_destroy(stored);
    cat_type_destroy(seen);
}

static void similarity_is_shared_column_share(void **state)
{
    (void)state;
    cat_type *a = cat_type_parse("struct<a:string,b:string,c:string,d:string>");
    cat_type *b = cat_type_parse("struct<a:string,b:string,c:string,e:string>");
    cat_type *c = cat_type_parse("struct<x:string,y:string>");
    assert_int_equal(cat_type_similarity(a, b), 60);
    assert_int_equal(cat_type_similarity(a, c), 0);
    assert_int_equal(cat_type_similarity(a, a), 100);
    cat_type_destroy(a);
    cat_type_destroy(b);
    cat_type_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_record_gets_seed_types),
        cmocka_unit_test(integers_widen_to_double),
        cmocka_unit_test(string_wins_conflicting_scalars),
        cmocka_unit_test(null_takes_the_other_type),
        cmocka_unit_test(columns_union_in_order_of_first_appearance),
        cmocka_unit_test(nested_values_become_struct_and_array),
        cmocka_unit_test(member_names_are_lower_cased),
        cmocka_unit_test(type_names_parse_back),
        cmocka_unit_test(odd_member_names_are_quoted_and_parse_back),
        cmocka_unit_test(long_member_names_stay_utf8),
        cmocka_unit_test(int_widens_to_bigint_from_stored_schema),
        cmocka_unit_test(similarity_is_shared_column_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
