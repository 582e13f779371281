/* The pre-expression parameters that older SDKs and much existing code still send:
 * Expected, AttributeUpdates, AttributesToGet, KeyConditions, QueryFilter, ScanFilter and
 * ConditionalOperator. Each is checked as DynamoDB checks it (DynamoDB's legacy messages) and
 * then rewritten into the expression it means, with generated placeholder names and values,
 * so one evaluator serves both forms: Expected {a: {Value: v}} is "#l0 = :l0",
 * AttributeUpdates {a: {Action: ADD, Value: v}} is "ADD #l0 :l0", and so on.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

/* A comparison operator, the number of values it takes (-1: one or more) and the value
 * types it accepts. */
typedef struct legacy_op {
    const char *name;
    int values;
    const char *types;      /* space-separated; NULL: any */
} legacy_op;

static const legacy_op LEGACY_OPS[] = {
    {"EQ", 1, "S N B SS NS BS"}, {"NE", 1, "S N B SS NS BS"}, {"LE", 1, "S N B"},
    {"LT", 1, "S N B"},          {"GE", 1, "S N B"},          {"GT", 1, "S N B"},
    {"NOT_NULL", 0, NULL},       {"NULL", 0, NULL},           {"CONTAINS", 1, "S N B"},
    {"NOT_CONTAINS", 1, "S N B"}, {"BEGINS_WITH", 1, "S B"},  {"IN", -1, "S N B"},
    {"BETWEEN", 2, "S N B"},
};

static const legacy_op *op_find(const char *name)
{
    for (size_t i = 0; name && i < SP_ARRAY_LEN(LEGACY_OPS); i++)
        if (!strcmp(LEGACY_OPS[i].name, name)) return &LEGACY_OPS[i];
    return NULL;
}

static bool type_in(const char *t, const char *list)
{
    size_t n = strlen(t);
    for (const char *p = list; (p = strstr(p, t)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return true;
    return false;
}

/* The expression being built with its generated names and values. */
typedef struct legacy_expr {
    sp_str text;
    json_t *names, *values;
    int n;
} legacy_expr;

static void name_ref(legacy_expr *x, const char *attr)
{
    char ph[32];
    snprintf(ph, sizeof ph, "#legacy%d", x->n++);
    json_object_set_new(x->names, ph, json_string(attr));
    sp_str_puts(&x->text, ph);
}

static void value_ref(legacy_expr *x, const json_t *v)
{
    char ph[32];
    snprintf(ph, sizeof ph, ":legacy%d", x->n++);
    json_object_set(x->values, ph, (json_t *)v);
    sp_str_puts(&x->text, ph);
}

/* Checks AttributeValueList against the operator as DynamoDB's validateConditions does. */
static bool check_values(const char *opname, const json_t *list, sp_err *e)
{
    const legacy_op *op = op_find(opname);
    size_t n = json_array_size(list);
    if (!op) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at 'comparisonOperator' "
                          "failed to satisfy constraint: Member must satisfy enum value set: "
                          "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, "
                          "BEGINS_WITH, GE, CONTAINS]", opname ? opname : "null");
        return false;
    }
    if (op->values >= 0 ? n != (size_t)op->values : n < 1) {
        sp_err_invalid(e, "One or more parameter values were invalid: Invalid number of "
                          "argument(s) for the %s ComparisonOperator", op->name);
        return false;
    }
    const char *first = n ? tbl_av_type(json_array_get(list, 0)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *t = tbl_av_type(json_array_get(list, i));
        if (!t || strcmp(t, first)) {
            sp_err_invalid(e, "One or more parameter values were invalid: AttributeValues "
                              "inside AttributeValueList must be of same type");
            return false;
        }
    }
    for (size_t i = 0; op->types && i < n; i++)
        if (!type_in(first, op->types)) {
            sp_err_invalid(e, "One or more parameter values were invalid: ComparisonOperator %s "
                              "is not valid for %s AttributeValue type", op->name, first);
            return false;
        }
    if (!strcmp(op->name, "BETWEEN") &&
        tbl_av_cmp(json_array_get(list, 0), json_array_get(list, 1)) > 0) {
        sp_err_invalid(e, "The BETWEEN condition was provided a range where the lower bound is "
                          "greater than the upper bound");
        return false;
    }
    return true;
}

/* Appends "attr <op> values" in expression syntax. */
static void condition_text(legacy_expr *x, const char *attr, const char *op, const json_t *list)
{
    static const struct { const char *op, *sym; } CMP[] = {
        {"EQ", " = "}, {"NE", " <> "}, {"LE", " <= "}, {"LT", " < "}, {"GE", " >= "},
        {"GT", " > "},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(CMP); i++)
        if (!strcmp(op, CMP[i].op)) {
            name_ref(x, attr);
            sp_str_puts(&x->text, CMP[i].sym);
            value_ref(x, json_array_get(list, 0));
            return;
        }
    if (!strcmp(op, "NULL") || !strcmp(op, "NOT_NULL")) {
        sp_str_puts(&x->text, !strcmp(op, "NULL") ? "attribute_not_exists(" : "attribute_exists(");
        name_ref(x, attr);
        sp_str_putc(&x->text, ')');
    } else if (!strcmp(op, "CONTAINS") || !strcmp(op, "NOT_CONTAINS") ||
               !strcmp(op, "BEGINS_WITH")) {
        sp_str_puts(&x->text, !strcmp(op, "BEGINS_WITH") ? "begins_with("
                              : !strcmp(op, "CONTAINS") ? "contains(" : "NOT contains(");
        name_ref(x, attr);
        sp_str_puts(&x->text, ", ");
        value_ref(x, json_array_get(list, 0));
        sp_str_putc(&x->text, ')');
    } else if (!strcmp(op, "IN")) {
        name_ref(x, attr);
        sp_str_puts(&x->text, " IN (");
        for (size_t i = 0; i < json_array_size(list); i++) {
            if (i) sp_str_puts(&x->text, ", ");
            value_ref(x, json_array_get(list, i));
        }
        sp_str_putc(&x->text, ')');
    } else { /* BETWEEN */
        name_ref(x, attr);
        sp_str_puts(&x->text, " BETWEEN ");
        value_ref(x, json_array_get(list, 0));
        sp_str_puts(&x->text, " AND ");
        value_ref(x, json_array_get(list, 1));
    }
}

/* KeyConditions, QueryFilter or ScanFilter: {attr: {ComparisonOperator, AttributeValueList}}
 * joined by ConditionalOperator (AND unless OR). */
static bool conditions_text(legacy_expr *x, const json_t *conds, const char *join, bool key,
                            sp_err *e)
{
    const char *attr;
    json_t *c;
    bool first = true;
    json_object_foreach((json_t *)conds, attr, c) {
        const char *op = json_string_value(json_object_get(c, "ComparisonOperator"));
        json_t *list = json_object_get(c, "AttributeValueList");
        if (!check_values(op, list, e)) return false;
        if (key && (!strcmp(op, "NULL") || !strcmp(op, "NOT_NULL") || !strcmp(op, "NE") ||
                    !strcmp(op, "CONTAINS") || !strcmp(op, "NOT_CONTAINS") || !strcmp(op, "IN"))) {
            sp_err_invalid(e, "Attempted conditional constraint is not an indexable operation");
            return false;
        }
        if (!first) sp_str_puts(&x->text, join);
        first = false;
        sp_str_putc(&x->text, '(');
        condition_text(x, attr, op, list);
        sp_str_putc(&x->text, ')');
    }
    return true;
}

/* Expected: {attr: {Value, Exists} | {ComparisonOperator, AttributeValueList | Value}}. */
static bool expected_text(legacy_expr *x, const json_t *expected, const char *join, sp_err *e)
{
    const char *attr;
    json_t *c;
    bool first = true;
    json_object_foreach((json_t *)expected, attr, c) {
        json_t *value = json_object_get(c, "Value"), *list = json_object_get(c, "AttributeValueList");
        json_t *exists = json_object_get(c, "Exists");
        const char *op = json_string_value(json_object_get(c, "ComparisonOperator"));
        if (list && value) {
            sp_err_invalid(e, "One or more parameter values were invalid: Value and "
                              "AttributeValueList cannot be used together for Attribute: %s", attr);
            return false;
        }
        if (!first) sp_str_puts(&x->text, join);
        first = false;
        sp_str_putc(&x->text, '(');
        if (op) {
            if (exists) {
                sp_err_invalid(e, "One or more parameter values were invalid: Exists and "
                                  "ComparisonOperator cannot be used together for Attribute: %s",
                               attr);
                return false;
            }
            if (strcmp(op, "NULL") && strcmp(op, "NOT_NULL") && !list && !value) {
                sp_err_invalid(e, "One or more parameter values were invalid: Value or "
                                  "AttributeValueList must be used with ComparisonOperator: %s "
                                  "for Attribute: %s", op, attr);
                return false;
            }
            json_t *values = list ? json_incref(list) : value ? json_pack("[O]", value) : json_array();
            bool ok = check_values(op, values, e);
            if (ok) condition_text(x, attr, op, values);
            json_decref(values);
            if (!ok) return false;
        } else if (list) {
            sp_err_invalid(e, "One or more parameter values were invalid: AttributeValueList can "
                              "only be used with a ComparisonOperator for Attribute: %s", attr);
            return false;
        } else {
            bool must_exist = !exists || json_is_true(exists);
            if (must_exist && !value) {
                sp_err_invalid(e, "One or more parameter values were invalid: Value must be "
                                  "provided when Exists is %s for Attribute: %s",
                               exists ? "true" : "null", attr);
                return false;
            }
            if (!must_exist && value) {
                sp_err_invalid(e, "One or more parameter values were invalid: Value cannot be "
                                  "used when Exists is false for Attribute: %s", attr);
                return false;
            }
            if (must_exist) {
                name_ref(x, attr);
                sp_str_puts(&x->text, " = ");
                value_ref(x, value);
            } else {
                sp_str_puts(&x->text, "attribute_not_exists(");
                name_ref(x, attr);
                sp_str_putc(&x->text, ')');
            }
        }
        sp_str_putc(&x->text, ')');
    }
    return true;
}

/* AttributeUpdates: {attr: {Action: PUT|ADD|DELETE, Value}} as SET/ADD/DELETE/REMOVE clauses. */
static bool updates_text(legacy_expr *x, const json_t *updates, sp_err *e)
{
    sp_str clause[4];           /* SET, ADD, DELETE, REMOVE */
    char bufs[4][256];
    static const char *const verbs[] = {"SET ", "ADD ", "DELETE ", "REMOVE "};
    for (int i = 0; i < 4; i++) sp_str_init(&clause[i], bufs[i], sizeof bufs[i], SP_STR_NO_MAX);
    const char *attr;
    json_t *u;
    bool ok = true;
    json_object_foreach((json_t *)updates, attr, u) {
        const char *action = json_string_value(json_object_get(u, "Action"));
        json_t *value = json_object_get(u, "Value");
        if (!action) action = "PUT";
        const char *t = value ? tbl_av_type(value) : NULL;
        if (!value && strcmp(action, "DELETE")) {
            sp_err_invalid(e, "One or more parameter values were invalid: Only DELETE action is "
                              "allowed when no attribute value is specified");
            ok = false;
            break;
        }
        if (value && !strcmp(action, "DELETE") && (!t || !type_in(t, "SS NS BS"))) {
            sp_err_invalid(e, "One or more parameter values were invalid: DELETE action with "
                              "value is not supported for the type %s", t ? t : "null");
            ok = false;
            break;
        }
        if (value && !strcmp(action, "ADD") && (!t || !type_in(t, "L SS NS BS N"))) {
            sp_err_invalid(e, "One or more parameter values were invalid: ADD action is not "
                              "supported for the type %s", t ? t : "null");
            ok = false;
            break;
        }
        int k = !strcmp(action, "PUT") ? 0 : !strcmp(action, "ADD") ? (!strcmp(t, "L") ? 0 : 1)
                : value ? 2 : 3;
        /* Each clause is built in x->text and moved into its group. */
        sp_str_reset(&x->text);
        name_ref(x, attr);
        if (k == 0 && !strcmp(action, "ADD")) {         /* ADD of a list appends to it */
            json_t *empty = json_pack("{s:[]}", "L");
            sp_str_puts(&x->text, " = list_append(if_not_exists(");
            name_ref(x, attr);
            sp_str_puts(&x->text, ", ");
            value_ref(x, empty);
            sp_str_puts(&x->text, "), ");
            value_ref(x, value);
            sp_str_putc(&x->text, ')');
            json_decref(empty);
        } else if (k == 0) {
            sp_str_puts(&x->text, " = ");
            value_ref(x, value);
        } else if (k != 3) {
            sp_str_putc(&x->text, ' ');
            value_ref(x, value);
        }
        sp_str_puts(&clause[k], clause[k].len ? ", " : verbs[k]);
        sp_str_append(&clause[k], x->text.buf, x->text.len);
    }
    sp_str_reset(&x->text);
    for (int i = 0; i < 4; i++) {
        if (ok && clause[i].len) {
            sp_str_append(&x->text, clause[i].buf, clause[i].len);
            sp_str_putc(&x->text, ' ');
        }
        sp_str_release(&clause[i]);
    }
    return ok;
}

/* AttributesToGet: ["a", "b"] as "#l0, #l1"; duplicates refused. */
static bool projection_text(legacy_expr *x, const json_t *names, sp_err *e)
{
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *n = json_string_value(json_array_get(names, i));
        for (size_t j = 0; n && j < i; j++)
            if (!strcmp(n, json_string_value(json_array_get(names, j)))) {
                sp_err_invalid(e, "One or more parameter values were invalid: Duplicate value "
                                  "in attribute name: %s", n);
                return false;
            }
        if (!n) continue;
        if (i) sp_str_puts(&x->text, ", ");
        name_ref(x, n);
    }
    return true;
}

/* The legacy member standing for each expression kind of a request. */
static const struct {
    unsigned kind_bit;
    tbl_expr_kind kind;
    const char *legacy[2];
    const char *expression;
    size_t offset;
} KINDS[] = {
    {TBL_X_PROJECTION, TBL_EXPR_PROJECTION, {"AttributesToGet", NULL}, "ProjectionExpression",
     offsetof(tbl_req_exprs, projection)},
    {TBL_X_FILTER, TBL_EXPR_FILTER, {"QueryFilter", "ScanFilter"}, "FilterExpression",
     offsetof(tbl_req_exprs, filter)},
    {TBL_X_KEY_CONDITION, TBL_EXPR_KEY_CONDITION, {"KeyConditions", NULL},
     "KeyConditionExpression", offsetof(tbl_req_exprs, key_condition)},
    {TBL_X_UPDATE, TBL_EXPR_UPDATE, {"AttributeUpdates", NULL}, "UpdateExpression",
     offsetof(tbl_req_exprs, update)},
    {TBL_X_CONDITION, TBL_EXPR_CONDITION, {"Expected", NULL}, "ConditionExpression",
     offsetof(tbl_req_exprs, condition)},
};

static const char *legacy_member(const json_t *req, size_t k)
{
    for (int j = 0; j < 2 && KINDS[k].legacy[j]; j++)
        if (json_object_get(req, KINDS[k].legacy[j])) return KINDS[k].legacy[j];
    return NULL;
}

int tbl_legacy_exprs(const json_t *req, unsigned kinds, tbl_req_exprs *x, unsigned *done,
                     sp_err *e)
{
    *done = 0;
    char legacy[160] = "", exprs[160] = "";
    bool any = false, key_conditions_alone = false;
    for (size_t k = 0; k < SP_ARRAY_LEN(KINDS); k++) {
        if (!(kinds & KINDS[k].kind_bit)) continue;
        const char *m = legacy_member(req, k);
        bool expr = json_object_get(req, KINDS[k].expression) != NULL;
        if (m) any = true;
        if (m && KINDS[k].kind_bit == TBL_X_KEY_CONDITION && !expr) key_conditions_alone = true;
        else if (m) snprintf(legacy + strlen(legacy), sizeof legacy - strlen(legacy), "%s%s",
                             legacy[0] ? ", " : "", m);
        if (expr) snprintf(exprs + strlen(exprs), sizeof exprs - strlen(exprs), "%s%s",
                           exprs[0] ? ", " : "", KINDS[k].expression);
        if (KINDS[k].kind_bit == TBL_X_FILTER && json_object_get(req, "ConditionalOperator") &&
            !(kinds & TBL_X_CONDITION))
            snprintf(legacy + strlen(legacy), sizeof legacy - strlen(legacy), "%s%s",
                     legacy[0] ? ", " : "", "ConditionalOperator");
    }
    if (!any) return 0;
    if (legacy[0] && exprs[0]) {
        sp_err_invalid(e, "Can not use both expression and non-expression parameters in the same "
                          "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                       legacy, exprs);
        return -1;
    }
    (void)key_conditions_alone;
    const char *cop = json_string_value(json_object_get(req, "ConditionalOperator"));
    const char *join = cop && !strcmp(cop, "OR") ? " OR " : " AND ";
    legacy_expr lx = {.names = json_object(), .values = json_object()};
    char buf[512];
    sp_str_init(&lx.text, buf, sizeof buf, SP_STR_NO_MAX);
    bool ok = true;
    for (size_t k = 0; k < SP_ARRAY_LEN(KINDS) && ok; k++) {
        if (!(kinds & KINDS[k].kind_bit)) continue;
        const char *m = legacy_member(req, k);
        if (!m) continue;
        json_t *v = json_object_get(req, m);
        sp_str_reset(&lx.text);
        switch (KINDS[k].kind_bit) {
        case TBL_X_PROJECTION: ok = projection_text(&lx, v, e); break;
        case TBL_X_FILTER: ok = conditions_text(&lx, v, join, false, e); break;
        case TBL_X_KEY_CONDITION:
            if (json_object_size(v) != 1 && json_object_size(v) != 2) {
                sp_err_invalid(e, "Conditions can be of length 1 or 2 only");
                ok = false;
            } else {
                ok = conditions_text(&lx, v, " AND ", true, e);
            }
            break;
        case TBL_X_UPDATE: ok = updates_text(&lx, v, e); break;
        case TBL_X_CONDITION: ok = expected_text(&lx, v, join, e); break;
        }
        if (!ok || !lx.text.len) continue;  /* an empty list or map means nothing */
        char *text = sp_str_finish(&lx.text, NULL);
        sp_str_init(&lx.text, buf, sizeof buf, SP_STR_NO_MAX);
        tbl_expr *p = tbl_expr_parse(KINDS[k].kind, text, lx.names, lx.values, &x->usage, e);
        free(text);
        if (!p) {
            ok = false;
            break;
        }
        *(tbl_expr **)((char *)x + KINDS[k].offset) = p;
        *done |= KINDS[k].kind_bit;
    }
    sp_str_release(&lx.text);
    json_decref(lx.names);
    json_decref(lx.values);
    return ok ? 1 : -1;
}
