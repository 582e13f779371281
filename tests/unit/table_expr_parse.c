/* Expression parsing: precedence, parentheses, and DynamoDB's error messages for syntax
 * errors, undefined/unused names and values, reserved words, bad functions and operands. */
#include "table_expr_util.h"

#define C TBL_EXPR_CONDITION
#define U TBL_EXPR_UPDATE
#define P TBL_EXPR_PROJECTION
#define K TBL_EXPR_KEY_CONDITION

static const char *ONE = "{':one':{'N':'1'}}";

static void test_and_binds_tighter_than_or(void **state)
{
    (void)state;
    /* a=1 OR (b=1 AND c=1): true; (a=1 OR b=1) AND c=1 would be false. */
    assert_true(cond("a = :one OR b = :one AND c = :one", NULL, ONE,
                     "{'a':{'N':'1'},'b':{'N':'0'},'c':{'N':'0'}}"));
    assert_false(cond("(a = :one OR b = :one) AND c = :one", NULL, ONE,
                      "{'a':{'N':'1'},'b':{'N':'0'},'c':{'N':'0'}}"));
    /* (a=1 AND b=1) OR c=1 with only c true */
    assert_true(cond("a = :one AND b = :one OR c = :one", NULL, ONE,
                     "{'a':{'N':'0'},'b':{'N':'0'},'c':{'N':'1'}}"));
}

static void test_not_binds_tighter_than_and(void **state)
{
    (void)state;
    const char *item = "{'a':{'N':'1'},'b':{'N':'0'}}";
    /* (NOT a=1) AND b=1 is false; NOT (a=1 AND b=1) is true. */
    assert_false(cond("NOT a = :one AND b = :one", NULL, ONE, item));
    assert_true(cond("NOT (a = :one AND b = :one)", NULL, ONE, item));
    assert_true(cond("not not a = :one", NULL, ONE, item));   /* keywords are case-insensitive */
}

static void test_parenthesised_operands_and_conditions(void **state)
{
    (void)state;
    const char *item = "{'a':{'N':'1'}}";
    assert_true(cond("(a) = :one", NULL, ONE, item));
    assert_true(cond("(a = :one)", NULL, ONE, item));
    assert_true(cond("((a) = (:one)) AND (a BETWEEN :one AND :one)", NULL, ONE, item));
    assert_true(cond("(a) IN (:one)", NULL, ONE, item));
    parse_err(C, "((a = :one))", NULL, ONE,
              "Invalid ConditionExpression: The expression has redundant parentheses;");
}

static void test_syntax_errors_name_token_and_neighbours(void **state)
{
    (void)state;
    parse_err(C, "a = = b", NULL, NULL,
              "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = b\"");
    parse_err(C, "a-b", NULL, NULL,
              "Invalid ConditionExpression: Syntax error; token: \"-\", near: \"a-b\"");
    parse_err(C, "#x", "{'#x':'x'}", NULL,
              "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"#x\"");
    parse_err(C, "()", NULL, NULL,
              "Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\"");
    parse_err(C, "a = :one AND", NULL, ONE,
              "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"");
    parse_err(C, "a $ b", NULL, NULL,
              "Invalid ConditionExpression: Syntax error; token: \"$\", near: \"a $ b\"");
    parse_err(C, "a BETWEEN :one :one", NULL, ONE,
              "Invalid ConditionExpression: Syntax error; token: \":one\", near: \":one :one\"");
    parse_err(U, "SET a", NULL, NULL,
              "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"a\"");
    parse_err(U, "PUT a = :one", NULL, ONE,
              "Invalid UpdateExpression: Syntax error; token: \"PUT\", near: \"PUT a\"");
    parse_err(P, "a,", NULL, NULL,
              "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"");
    parse_err(P, "a[x]", NULL, NULL,
              "Invalid ProjectionExpression: Syntax error; token: \"x\", near: \"[x]\"");
    parse_err(C, "", NULL, NULL, "Invalid ConditionExpression: The expression can not be empty;");
    parse_err(K, "", NULL, NULL,
              "Invalid KeyConditionExpression: The expression can not be empty;");
}

static void test_undefined_names_and_values(void **state)
{
    (void)state;
    parse_err(C, "#n = :one", NULL, ONE,
              "Invalid ConditionExpression: An expression attribute name used in the document "
              "path is not defined; attribute name: #n");
    parse_err(U, "SET a = :x", NULL, ONE,
              "Invalid UpdateExpression: An expression attribute value used in expression is "
              "not defined; attribute value: :x");
    parse_err(C, "a = :bad", NULL, "{':bad':{'N':'abc'}}",
              "ExpressionAttributeValues contains invalid value: The parameter cannot be "
              "converted to a numeric value: abc for key :bad");
}

static void test_reserved_words_need_names(void **state)
{
    (void)state;
    parse_err(C, "name = :one", NULL, ONE,
              "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
              "keyword: name");
    parse_err(U, "SET a.Status = :one", NULL, ONE,
              "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved "
              "keyword: Status");
    tbl_expr_free(parse_ok(C, "#n = :one", "{'#n':'name'}", ONE));
    /* the seed's attribute names are not reserved */
    tbl_expr_free(parse_ok(P, "orderid, product_name, quantity, price", NULL, NULL));
}

static void test_function_checks(void **state)
{
    (void)state;
    const char *s = "{':s':{'S':'x'},':n':{'N':'1'},':t':{'S':'QQ'}}";
    parse_err(C, "foo(a)", NULL, NULL, "Invalid ConditionExpression: Invalid function name; "
                                       "function: foo");
    parse_err(C, "begins_with(a)", NULL, NULL,
              "Invalid ConditionExpression: Incorrect number of operands for operator or "
              "function; operator or function: begins_with, number of operands: 1");
    parse_err(C, "attribute_exists(:s)", NULL, s,
              "Invalid ConditionExpression: Operator or function requires a document path; "
              "operator or function: attribute_exists");
    parse_err(C, "begins_with(a, :n)", NULL, s,
              "Invalid ConditionExpression: Incorrect operand type for operator or function; "
              "operator or function: begins_with, operand type: N");
    parse_err(C, "attribute_type(a, :t)", NULL, s,
              "Invalid ConditionExpression: Invalid attribute type name found; type: QQ, valid "
              "types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
    parse_err(C, "size(a) = :n AND size(:n) > :n", NULL, s,
              "Invalid ConditionExpression: Operator or function requires a document path; "
              "operator or function: size");
    /* A call that needs a path is named before the same problem inside its operand; across
     * conditions the first still wins. */
    parse_err(C, "attribute_not_exists(size(:s))", NULL, s,
              "Invalid ConditionExpression: Operator or function requires a document path; "
              "operator or function: attribute_not_exists");
    parse_err(C, "size(:s) = :n AND attribute_exists(:s)", NULL, s,
              "Invalid ConditionExpression: Operator or function requires a document path; "
              "operator or function: size");
    parse_err(C, "size(a)", NULL, NULL,
              "Invalid ConditionExpression: The function is not allowed to be used this way "
              "in an expression; function: size");
    parse_err(C, "attribute_exists(a) = :n", NULL, s,
              "Invalid ConditionExpression: The function is not allowed to be used this way "
              "in an expression; function: attribute_exists");
    parse_err(C, "if_not_exists(a, :n) = :n", NULL, s,
              "Invalid ConditionExpression: The function is not allowed in a condition "
              "expression; function: if_not_exists");
    parse_err(U, "SET a = size(b)", NULL, NULL,
              "Invalid UpdateExpression: The function is not allowed in an update expression; "
              "function: size");
    parse_err(C, "a = a", NULL, NULL,
              "Invalid ConditionExpression: The first operand must be distinct from the "
              "remaining operands for this operator or function; operator: =, first operand: "
              "[a]");
    parse_err(C, "a BETWEEN :n AND :s", NULL, s,
              "Invalid ConditionExpression: The BETWEEN operator requires same data type for "
              "lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound "
              "operand: AttributeValue: {S:x}");
    parse_err(C, "a BETWEEN :hi AND :lo", NULL, "{':lo':{'N':'2'},':hi':{'N':'10'}}",
              "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be "
              "greater than or equal to lower bound; lower bound operand: AttributeValue: "
              "{N:10}, upper bound operand: AttributeValue: {N:2}");
}

static void test_update_clause_checks(void **state)
{
    (void)state;
    const char *v = "{':n':{'N':'1'},':s':{'S':'x'},':ss':{'SS':['x']}}";
    parse_err(U, "SET a = :n SET b = :n", NULL, v,
              "Invalid UpdateExpression: The \"SET\" section can only be used once in an "
              "update expression;");
    parse_err(U, "SET a = :n, a.b = :n", NULL, v,
              "Invalid UpdateExpression: Two document paths overlap with each other; must "
              "remove or rewrite one of these paths; path one: [a], path two: [a, b]");
    parse_err(U, "SET a.b = :n REMOVE a[0]", NULL, v,
              "Invalid UpdateExpression: Two document paths conflict with each other; must "
              "remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]");
    parse_err(U, "SET a = :n REMOVE a", NULL, v,
              "Invalid UpdateExpression: Two document paths overlap with each other; must "
              "remove or rewrite one of these paths; path one: [a], path two: [a]");
    parse_err(U, "ADD a :s", NULL, v,
              "Invalid UpdateExpression: Incorrect operand type for operator or function; "
              "operator: ADD, operand type: STRING");
    parse_err(U, "DELETE a :n", NULL, v,
              "Invalid UpdateExpression: Incorrect operand type for operator or function; "
              "operator: DELETE, operand type: NUMBER");
    parse_err(U, "SET a = b + :s", NULL, v,
              "Invalid UpdateExpression: Incorrect operand type for operator or function; "
              "operator or function: +, operand type: S");
    parse_err(U, "SET a = list_append(b, :n)", NULL, v,
              "Invalid UpdateExpression: Incorrect operand type for operator or function; "
              "operator or function: list_append, operand type: N");
    parse_err(U, "SET a = if_not_exists(:n, :n)", NULL, v,
              "Invalid UpdateExpression: Operator or function requires a document path; "
              "operator or function: if_not_exists");
    parse_err(U, "SET a = begins_with(b, :s)", NULL, v,
              "Invalid UpdateExpression: The function is not allowed in an update expression; "
              "function: begins_with");
    parse_err(P, "a.b, a", NULL, NULL,
              "Invalid ProjectionExpression: Two document paths overlap with each other; must "
              "remove or rewrite one of these paths; path one: [a, b], path two: [a]");
    tbl_expr_free(parse_ok(U, "set a = :n remove b add c :n delete d :ss", NULL, v));
    tbl_expr_free(parse_ok(U, "SET a[1] = :n, a[2] = :n", NULL, v));
}

static void test_unused_names_and_values_are_reported(void **state)
{
    (void)state;
    json_t *names = js("{'#a':'a','#b':'b'}"), *values = js("{':x':{'N':'1'},':y':{'N':'2'}}");
    tbl_expr_usage u;
    sp_err e = {0};
    tbl_expr_usage_init(&u);
    tbl_expr *c = tbl_expr_parse(C, "#a = :x", names, values, &u, &e);
    assert_non_null(c);
    assert_false(tbl_expr_check_unused(&u, names, values, &e));
    assert_string_equal(e.msg, "Value provided in ExpressionAttributeNames unused in "
                               "expressions: keys: {#b}");
    tbl_expr *p = tbl_expr_parse(P, "#b", names, values, &u, &e);
    assert_non_null(p);
    assert_false(tbl_expr_check_unused(&u, names, values, &e));
    assert_string_equal(e.msg, "Value provided in ExpressionAttributeValues unused in "
                               "expressions: keys: {:y}");
    tbl_expr *f = tbl_expr_parse(TBL_EXPR_FILTER, "b > :y", names, values, &u, &e);
    assert_non_null(f);
    sp_err_clear(&e);
    assert_true(tbl_expr_check_unused(&u, names, values, &e));
    tbl_expr_free(c);
    tbl_expr_free(p);
    tbl_expr_free(f);
    tbl_expr_usage_clear(&u);
    json_decref(names);

    tbl_expr_usage_init(&u);
    json_t *bad = js("{'x':{'N':'1'}}");
    assert_false(tbl_expr_check_unused(&u, NULL, bad, &e));
    assert_string_equal(e.msg, "ExpressionAttributeValues contains invalid key: Syntax error; "
                               "key: \"x\"");
    json_decref(bad);
    bad = js("{}");
    assert_false(tbl_expr_check_unused(&u, bad, NULL, &e));
    assert_string_equal(e.msg, "ExpressionAttributeNames must not be empty");
    json_decref(bad);
    tbl_expr_usage_clear(&u);
    json_decref(values);
}

static void test_expression_owns_its_values(void **state)
{
    (void)state;
    json_t *values = js("{':v':{'N':'007.50'}}");
    sp_err e = {0};
    tbl_expr *x = tbl_expr_parse(U, "SET price = :v", NULL, values, NULL, &e);
    assert_non_null(x);
    json_decref(values);   /* the request may go away */
    json_t *item = tbl_expr_update(x, NULL, &e);
    assert_json(item, "{'price':{'N':'7.5'}}");
    json_decref(item);
    tbl_expr_free(x);
}

static void test_refers_top_and_top_names(void **state)
{
    (void)state;
    tbl_expr *x = parse_ok(U, "SET a.b = :one, #k = :one REMOVE c[1]", "{'#k':'orderid'}", ONE);
    assert_true(tbl_expr_refers_top(x, "orderid"));
    assert_true(tbl_expr_refers_top(x, "a"));
    assert_false(tbl_expr_refers_top(x, "b"));
    json_t *names = tbl_expr_top_names(x);
    assert_json(names, "['a','orderid','c']");
    json_decref(names);
    tbl_expr_free(x);
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    char text[TBL_EXPR_MAX_LEN];
    size_t n = 0;
    for (int i = 0; i < 200; i++) text[n++] = '(';
    text[n++] = 'a';
    for (int i = 0; i < 200; i++) text[n++] = ')';
    text[n] = '\0';
    sp_err e = {0};
    assert_null(tbl_expr_parse(C, text, NULL, NULL, NULL, &e));
    assert_int_equal(e.status, 400);
    char *big = malloc(TBL_EXPR_MAX_LEN + 2);
    memset(big, 'a', TBL_EXPR_MAX_LEN + 1);
    big[TBL_EXPR_MAX_LEN + 1] = '\0';
    assert_null(tbl_expr_parse(P, big, NULL, NULL, NULL, &e));
    assert_non_null(strstr(e.msg, "exceeded the maximum allowed size"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_and_binds_tighter_than_or),
        cmocka_unit_test(test_not_binds_tighter_than_and),
        cmocka_unit_test(test_parenthesised_operands_and_conditions),
        cmocka_unit_test(test_syntax_errors_name_token_and_neighbours),
        cmocka_unit_test(test_undefined_names_and_values),
        cmocka_unit_test(test_reserved_words_need_names),
        cmocka_unit_test(test_function_checks),
        cmocka_unit_test(test_update_clause_checks),
        cmocka_unit_test(test_unused_names_and_values_are_reported),
        cmocka_unit_test(test_expression_owns_its_values),
        cmocka_unit_test(test_refers_top_and_top_names),
        cmocka_unit_test(test_nesting_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
