/* UpdateExpression application, ProjectionExpression / UPDATED_* projection and
 * KeyConditionExpression splitting. */
#include "table_expr_util.h"

/* Applies text to old (JSON or NULL) and checks the new item. */
static void upd(const char *text, const char *values, const char *old, const char *want)
{
    tbl_expr *x = parse_ok(TBL_EXPR_UPDATE, text, NULL, values);
    json_t *o = js(old);
    char *before = o ? dump(o) : NULL;
    sp_err e = {0};
    json_t *n = tbl_expr_update(x, o, &e);
    if (!n) fail_msg("update '%s' failed: %s", text, e.msg);
    assert_json(n, want);
    if (o) {   /* the old item is never modified */
        char *after = dump(o);
        assert_string_equal(before, after);
        free(after);
    }
    free(before);
    json_decref(n);
    json_decref(o);
    tbl_expr_free(x);
}

static void upd_err(const char *text, const char *values, const char *old, const char *want)
{
    tbl_expr *x = parse_ok(TBL_EXPR_UPDATE, text, NULL, values);
    json_t *o = js(old);
    sp_err e = {0};
    json_t *n = tbl_expr_update(x, o, &e);
    if (n) fail_msg("update '%s' succeeded, expected: %s", text, want);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.msg, want);
    json_decref(o);
    tbl_expr_free(x);
}

static const char *V =
    "{':n':{'N':'2.5'},':one':{'N':'1'},':s':{'S':'x'},':l':{'L':[{'S':'c'}]},"
    "':l0':{'L':[]},':ss':{'SS':['b','c']},':ns':{'NS':['1','3']},':big':{'N':'1E+125'},"
    "':m':{'M':{'k':{'S':'v'}}}}";

static void test_set_plain_values_and_paths(void **state)
{
    (void)state;
    upd("SET a = :s", V, NULL, "{'a':{'S':'x'}}");
    upd("SET a = :s, b = :n", V, "{'id':{'S':'1'}}",
        "{'id':{'S':'1'},'a':{'S':'x'},'b':{'N':'2.5'}}");
    upd("SET a = b, b = a", V, "{'a':{'N':'1'},'b':{'N':'2'}}", "{'a':{'N':'2'},'b':{'N':'1'}}");
    upd("SET m.k = :n", V, "{'m':{'M':{'k':{'S':'v'},'z':{'S':'z'}}}}",
        "{'m':{'M':{'k':{'N':'2.5'},'z':{'S':'z'}}}}");
    upd("SET m.fresh = :s", V, "{'m':{'M':{}}}", "{'m':{'M':{'fresh':{'S':'x'}}}}");
    upd("SET l[1] = :s", V, "{'l':{'L':[{'N':'0'},{'N':'1'}]}}",
        "{'l':{'L':[{'N':'0'},{'S':'x'}]}}");
    /* an index past the end appends */
    upd("SET l[9] = :s", V, "{'l':{'L':[{'N':'0'}]}}", "{'l':{'L':[{'N':'0'},{'S':'x'}]}}");
    upd("SET m.l[0].k = :one", V, "{'m':{'M':{'l':{'L':[{'M':{'k':{'N':'0'}}}]}}}}",
        "{'m':{'M':{'l':{'L':[{'M':{'k':{'N':'1'}}}]}}}}");
    upd_err("SET m.k = :n", V, "{'a':{'N':'1'}}",
            "The document path provided in the update expression is invalid for update");
    upd_err("SET a[0] = :n", V, "{'a':{'M':{}}}",
            "The document path provided in the update expression is invalid for update");
}

static void test_set_arithmetic_is_exact(void **state)
{
    (void)state;
    upd("SET p = p + :n", V, "{'p':{'N':'0.1'}}", "{'p':{'N':'2.6'}}");
    upd("SET p = p - :n", V, "{'p':{'N':'1'}}", "{'p':{'N':'-1.5'}}");
    upd("SET p = :n - p", V, "{'p':{'N':'1'}}", "{'p':{'N':'1.5'}}");
    upd("SET p = q + r", V, "{'q':{'N':'12345678901234567890123456789012345678'},'r':{'N':'1'}}",
        "{'p':{'N':'12345678901234567890123456789012345679'},"
        "'q':{'N':'12345678901234567890123456789012345678'},'r':{'N':'1'}}");
    upd_err("SET p = p + :n", V, "{'x':{'N':'1'}}",
            "The provided expression refers to an attribute that does not exist in the item");
    upd_err("SET p = p + :n", V, "{'p':{'S':'1'}}",
            "An operand in the update expression has an incorrect data type");
    upd_err("SET p = p + :big", V, "{'p':{'N':'1E-10'}}",
            "Attempting to store more than 38 significant digits in a Number");
}

static void test_if_not_exists_and_list_append(void **state)
{
    (void)state;
    upd("SET c = if_not_exists(c, :one)", V, NULL, "{'c':{'N':'1'}}");
    upd("SET c = if_not_exists(c, :one)", V, "{'c':{'N':'7'}}", "{'c':{'N':'7'}}");
    upd("SET c = if_not_exists(c, :one) + :n", V, NULL, "{'c':{'N':'3.5'}}");
    upd("SET l = list_append(l, :l)", V, "{'l':{'L':[{'S':'a'},{'S':'b'}]}}",
        "{'l':{'L':[{'S':'a'},{'S':'b'},{'S':'c'}]}}");
    upd("SET l = list_append(:l, l)", V, "{'l':{'L':[{'S':'a'}]}}",
        "{'l':{'L':[{'S':'c'},{'S':'a'}]}}");
    upd("SET l = list_append(if_not_exists(l, :l0), :l)", V, NULL, "{'l':{'L':[{'S':'c'}]}}");
    upd_err("SET l = list_append(l, :l)", V, "{'l':{'S':'a'}}",
            "An operand in the update expression has an incorrect data type");
    upd_err("SET l = list_append(l, :l)", V, NULL,
            "The provided expression refers to an attribute that does not exist in the item");
}

static void test_remove_members_and_list_elements(void **state)
{
    (void)state;
    upd("REMOVE a, nothere", V, "{'a':{'N':'1'},'b':{'N':'2'}}", "{'b':{'N':'2'}}");
    upd("REMOVE m.k", V, "{'m':{'M':{'k':{'S':'v'},'j':{'S':'w'}}}}",
        "{'m':{'M':{'j':{'S':'w'}}}}");
    /* indexes name the elements of the original list */
    upd("REMOVE l[1], l[3]", V, "{'l':{'L':[{'N':'0'},{'N':'1'},{'N':'2'},{'N':'3'}]}}",
        "{'l':{'L':[{'N':'0'},{'N':'2'}]}}");
    upd("REMOVE l[0], l[2]", V, "{'l':{'L':[{'N':'0'},{'N':'1'},{'N':'2'}]}}",
        "{'l':{'L':[{'N':'1'}]}}");
    upd("REMOVE l[5]", V, "{'l':{'L':[{'N':'0'}]}}", "{'l':{'L':[{'N':'0'}]}}");
    upd("SET a = :one REMOVE b", V, "{'b':{'N':'2'}}", "{'a':{'N':'1'}}");
}

static void test_add_to_numbers_and_sets(void **state)
{
    (void)state;
    upd("ADD c :one", V, NULL, "{'c':{'N':'1'}}");
    upd("ADD c :n", V, "{'c':{'N':'-2.5'}}", "{'c':{'N':'0'}}");
    upd("ADD s :ss", V, "{'s':{'SS':['a','b']}}", "{'s':{'SS':['a','b','c']}}");
    upd("ADD s :ss", V, NULL, "{'s':{'SS':['b','c']}}");
    upd("ADD ns :ns", V, "{'ns':{'NS':['1.0','2']}}", "{'ns':{'NS':['1.0','2','3']}}");
    upd_err("ADD c :one", V, "{'c':{'S':'1'}}",
            "An operand in the update expression has an incorrect data type");
    upd_err("ADD s :ss", V, "{'s':{'NS':['1']}}",
            "An operand in the update expression has an incorrect data type");
}

static void test_delete_from_sets(void **state)
{
    (void)state;
    upd("DELETE s :ss", V, "{'s':{'SS':['a','b','c']}}", "{'s':{'SS':['a']}}");
    upd("DELETE s :ss", V, "{'s':{'SS':['b','c']},'k':{'S':'1'}}", "{'k':{'S':'1'}}");
    upd("DELETE ns :ns", V, "{'ns':{'NS':['1.00','2']}}", "{'ns':{'NS':['2']}}");
    upd("DELETE s :ss", V, "{'k':{'S':'1'}}", "{'k':{'S':'1'}}");
    upd_err("DELETE s :ss", V, "{'s':{'S':'b'}}",
            "An operand in the update expression has an incorrect data type");
}

static void test_failed_update_changes_nothing(void **state)
{
    (void)state;
    /* the first action succeeds, the second fails: the caller gets NULL, old is intact
     * (upd_err checks the error; upd checks old is unmodified in the success case) */
    upd_err("SET a = :one ADD s :one", V, "{'s':{'SS':['x']}}",
            "An operand in the update expression has an incorrect data type");
}

static void proj(const char *text, const char *names, const char *item, const char *want)
{
    tbl_expr *x = parse_ok(TBL_EXPR_PROJECTION, text, names, NULL);
    json_t *it = js(item), *out = tbl_expr_project(x, it);
    assert_json(out, want);
    json_decref(out);
    json_decref(it);
    tbl_expr_free(x);
}

static void test_projection_of_nested_paths(void **state)
{
    (void)state;
    const char *item = "{'id':{'S':'1'},'p':{'N':'2'},'m':{'M':{'a':{'S':'x'},'b':{'S':'y'},"
                       "'c':{'L':[{'N':'0'},{'M':{'d':{'S':'z'},'e':{'S':'w'}}},{'N':'2'},"
                       "{'N':'3'}]}}}}";
    proj("id, p", NULL, item, "{'id':{'S':'1'},'p':{'N':'2'}}");
    proj("m.a", NULL, item, "{'m':{'M':{'a':{'S':'x'}}}}");
    proj("m.c[3], m.c[1].d", NULL, item,
         "{'m':{'M':{'c':{'L':[{'M':{'d':{'S':'z'}}},{'N':'3'}]}}}}");
    proj("#m.b, nothere, m.c[9]", "{'#m':'m'}", item, "{'m':{'M':{'b':{'S':'y'}}}}");
    proj("id", NULL, NULL, "{}");
}

static void test_updated_old_and_new_project_the_action_paths(void **state)
{
    (void)state;
    tbl_expr *x = parse_ok(TBL_EXPR_UPDATE, "SET m.a = :s, q = :one REMOVE r", NULL, V);
    json_t *old = js("{'id':{'S':'1'},'m':{'M':{'a':{'S':'old'},'b':{'S':'keep'}}},"
                     "'r':{'N':'5'}}");
    sp_err e = {0};
    json_t *new = tbl_expr_update(x, old, &e);
    assert_non_null(new);
    json_t *uo = tbl_expr_project(x, old), *un = tbl_expr_project(x, new);
    assert_json(uo, "{'m':{'M':{'a':{'S':'old'}}},'r':{'N':'5'}}");
    assert_json(un, "{'m':{'M':{'a':{'S':'x'}}},'q':{'N':'1'}}");
    json_decref(uo);
    json_decref(un);
    json_decref(new);
    json_decref(old);
    tbl_expr_free(x);
}

static void keycond(const char *text, const char *names, const char *values, const char *hash,
                    tbl_key_cond *out, tbl_expr **x)
{
    *x = parse_ok(TBL_EXPR_KEY_CONDITION, text, names, values);
    sp_err e = {0};
    if (!tbl_expr_key_condition(*x, hash, out, &e)) fail_msg("%s: %s", text, e.msg);
}

static void test_key_condition_split(void **state)
{
    (void)state;
    const char *v = "{':h':{'S':'o1'},':a':{'N':'1'},':b':{'N':'9'},':p':{'S':'ab'}}";
    tbl_key_cond k;
    tbl_expr *x;
    keycond("orderid = :h", NULL, v, "orderid", &k, &x);
    assert_string_equal(k.hash_name, "orderid");
    assert_json(k.hash_value, "{'S':'o1'}");
    assert_int_equal(k.range_op, TBL_KEY_NONE);
    assert_null(k.range_name);
    tbl_expr_free(x);

    keycond("#r BETWEEN :a AND :b AND #h = :h", "{'#r':'ts','#h':'orderid'}", v, "orderid", &k,
            &x);
    assert_string_equal(k.hash_name, "orderid");
    assert_string_equal(k.range_name, "ts");
    assert_int_equal(k.range_op, TBL_KEY_BETWEEN);
    assert_json(k.range_values[0], "{'N':'1'}");
    assert_json(k.range_values[1], "{'N':'9'}");
    tbl_expr_free(x);

    keycond(":a < ts AND orderid = :h", NULL, v, "orderid", &k, &x);   /* turned around */
    assert_int_equal(k.range_op, TBL_KEY_GT);
    assert_string_equal(k.range_name, "ts");
    tbl_expr_free(x);

    keycond("orderid = :h AND begins_with(sk, :p)", NULL, v, "orderid", &k, &x);
    assert_int_equal(k.range_op, TBL_KEY_BEGINS_WITH);
    assert_json(k.range_values[0], "{'S':'ab'}");
    tbl_expr_free(x);

    keycond("(ts >= :a) AND (orderid = :h)", NULL, v, "orderid", &k, &x);
    assert_int_equal(k.range_op, TBL_KEY_GE);
    tbl_expr_free(x);

    /* two equalities: the schema's hash key decides */
    keycond("a = :a AND b = :b", NULL, v, "b", &k, &x);
    assert_string_equal(k.hash_name, "b");
    assert_string_equal(k.range_name, "a");
    assert_int_equal(k.range_op, TBL_KEY_EQ);
    tbl_expr_free(x);
}

static void key_err(const char *text, const char *hash, const char *want)
{
    const char *v = "{':h':{'S':'o1'},':a':{'N':'1'},':b':{'N':'9'}}";
    json_t *vals = js(v);
    sp_err e = {0};
    tbl_expr *x = tbl_expr_parse(TBL_EXPR_KEY_CONDITION, text, NULL, vals, NULL, &e);
    tbl_key_cond k;
    if (x && tbl_expr_key_condition(x, hash, &k, &e)) fail_msg("%s was accepted", text);
    assert_int_equal(e.status, 400);
    if (strcmp(e.msg, want)) fail_msg("%s:\n got: %s\nwant: %s", text, e.msg, want);
    tbl_expr_free(x);
    json_decref(vals);
}

static void test_key_condition_errors(void **state)
{
    (void)state;
    key_err("k = :h OR s = :a", "k",
            "Invalid operator used in KeyConditionExpression: OR");
    key_err("k <> :h", "k",
            "Invalid operator used in KeyConditionExpression: <>");
    key_err("k IN (:h)", "k",
            "Invalid operator used in KeyConditionExpression: IN");
    key_err("attribute_exists(k)", "k",
            "Invalid operator used in KeyConditionExpression: "
            "attribute_exists");
    key_err("k = :h AND s > :a AND t < :b", "k", "Conditions can be of length 1 or 2 only");
    key_err("k = :h AND k = :h", "k",
            "KeyConditionExpressions must only contain one condition per key");
    key_err("k.x = :h", "k", "KeyConditionExpressions cannot "
                             "have conditions on nested attributes");
    key_err("k = s", "k", "Invalid condition in "
                          "KeyConditionExpression: Multiple attribute names used in one "
                          "condition");
    key_err("size(k) = :a", "k",
            "KeyConditionExpressions cannot contain nested "
            "operations");
    /* DynamoDB walks the conditions in order: the first problem wins over their count. */
    key_err("k = :h AND s > :a AND size(t) < :b", "k",
            "KeyConditionExpressions cannot contain nested operations");
    key_err(":a BETWEEN k AND s", "k", "Invalid condition in KeyConditionExpression: BETWEEN "
                                        "operator must have the key attribute as its first "
                                        "operand");
    key_err("s > :a", "k", "Query condition missed key schema element: k");
    key_err("k > :a AND s = :b", "k", "Query key condition not supported");
    key_err("z = :h", "k", "Query condition missed key schema element: k");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_plain_values_and_paths),
        cmocka_unit_test(test_set_arithmetic_is_exact),
        cmocka_unit_test(test_if_not_exists_and_list_append),
        cmocka_unit_test(test_remove_members_and_list_elements),
        cmocka_unit_test(test_add_to_numbers_and_sets),
        cmocka_unit_test(test_delete_from_sets),
        cmocka_unit_test(test_failed_update_changes_nothing),
        cmocka_unit_test(test_projection_of_nested_paths),
        cmocka_unit_test(test_updated_old_and_new_project_the_action_paths),
        cmocka_unit_test(test_key_condition_split),
        cmocka_unit_test(test_key_condition_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
