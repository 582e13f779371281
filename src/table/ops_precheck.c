/* The first semantic checks of an item request, in the order DynamoDB makes them. A request
 * can be wrong in several ways at once and DynamoDB reports the first problem it finds: the
 * mix of expression and legacy parameters, then every AttributeValue (in the item, the key,
 * the legacy conditions, the starting key), then ReturnValues and the item size, and only
 * after those the expressions themselves. These checks need no table; what they do not
 * catch (expressions, key schema, the rest of the legacy parameters) the operations check
 * later, so a request passing here is not yet known to be valid.
 */
#include "tbl_ops.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *exprs[4];  /* expression parameters of the operation */
    const char *legacy[5]; /* the legacy parameters they replace */
} pre_params;

static const pre_params PRE_PARAMS[] = {
    [TBL_PRE_PUT] = {{"ConditionExpression"}, {"Expected"}},
    [TBL_PRE_DELETE] = {{"ConditionExpression"}, {"Expected"}},
    [TBL_PRE_UPDATE] = {{"UpdateExpression", "ConditionExpression"},
                        {"AttributeUpdates", "Expected"}},
    [TBL_PRE_GET] = {{"ProjectionExpression"}, {"AttributesToGet"}},
    [TBL_PRE_QUERY] = {{"ProjectionExpression", "FilterExpression", "KeyConditionExpression"},
                       {"AttributesToGet", "QueryFilter", "ConditionalOperator",
                        "KeyConditions"}},
    [TBL_PRE_SCAN] = {{"ProjectionExpression", "FilterExpression"},
                      {"AttributesToGet", "ScanFilter", "ConditionalOperator"}},
};

static bool present(const json_t *req, const char *member)
{
    const json_t *v = json_object_get(req, member);
    return v && !json_is_null(v);
}

/* The members of list joined by sep; only those present in req when req is given. */
static void join_members(sp_str *s, const json_t *req, const char *const *list, size_t n,
                         const char *sep, bool skip_projection)
{
    bool first = true;
    for (size_t i = 0; i < n && list[i]; i++) {
        if (skip_projection && !strcmp(list[i], "ProjectionExpression")) continue;
        if (req && !present(req, list[i])) continue;
        sp_str_puts(s, first ? "" : sep);
        sp_str_puts(s, list[i]);
        first = false;
    }
}

static bool check_expression_params(const json_t *req, const pre_params *p, sp_err *e)
{
    bool any_expr = false;
    for (size_t i = 0; i < SP_ARRAY_LEN(p->exprs) && p->exprs[i]; i++)
        any_expr |= present(req, p->exprs[i]);
    char buf[SP_ERR_MSG_MAX];
    sp_str s;
    if (any_expr) {
        /* KeyConditions may stand beside expressions as long as KeyConditionExpression is
         * not one of them. */
        bool keep_kc = !present(req, "KeyConditions") || present(req, "KeyConditionExpression");
        const char *legacy[SP_ARRAY_LEN(p->legacy)] = {0};
        size_t n = 0;
        for (size_t i = 0; i < SP_ARRAY_LEN(p->legacy) && p->legacy[i]; i++)
            if (present(req, p->legacy[i]) && (keep_kc || strcmp(p->legacy[i], "KeyConditions")))
                legacy[n++] = p->legacy[i];
        if (n) {
            sp_str_init(&s, buf, sizeof buf, SP_ERR_MSG_MAX);
            join_members(&s, NULL, legacy, n, ", ", false);
            sp_str_puts(&s, "} Expression parameters: {");
            join_members(&s, req, p->exprs, SP_ARRAY_LEN(p->exprs), ", ", false);
            sp_err_invalid(e, "Can not use both expression and non-expression parameters in "
                              "the same request: Non-expression parameters: {%s}", s.buf);
            sp_str_release(&s);
            return false;
        }
    }
    if (present(req, "ExpressionAttributeNames") && !any_expr) {
        sp_err_invalid(e, "ExpressionAttributeNames can only be specified when using "
                          "expressions");
        return false;
    }
    size_t n_val = 0;
    bool any_val = false;
    for (size_t i = 0; i < SP_ARRAY_LEN(p->exprs) && p->exprs[i]; i++)
        if (strcmp(p->exprs[i], "ProjectionExpression")) {
            n_val++;
            any_val |= present(req, p->exprs[i]);
        }
    if (n_val && present(req, "ExpressionAttributeValues") && !any_val) {
        sp_str_init(&s, buf, sizeof buf, SP_ERR_MSG_MAX);
        join_members(&s, NULL, p->exprs, SP_ARRAY_LEN(p->exprs), " and ", true);
        sp_err_invalid(e, "ExpressionAttributeValues can only be specified when using "
                          "expressions: %s %s null", s.buf, n_val > 1 ? "are" : "is");
        sp_str_release(&s);
        return false;
    }
    return true;
}

/* "[a, b]" as DynamoDB prints a set in its messages. */
static void set_str(sp_str *s, const json_t *arr)
{
    size_t i;
    json_t *m;
    sp_str_puts(s, "[");
    json_array_foreach(arr, i, m) {
        sp_str_puts(s, i ? ", " : "");
        sp_str_puts(s, json_is_string(m) ? json_string_value(m) : "?");
    }
    sp_str_puts(s, "]");
}

static bool has_duplicate(const json_t *arr)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(arr, i), json_array_get(arr, j))) return true;
    return false;
}

static bool check_number(const json_t *v, sp_err *e)
{
    const char *t = json_string_value(v);
    if (!t) return true; /* not a string: the model's serialization check */
    if (!*t) {
        sp_err_invalid(e, "The parameter cannot be converted to a numeric value");
        return false;
    }
    char out[TBL_NUM_STR_MAX];
    return tbl_num_normalize(t, out, e);
}

/* The AttributeValue members DynamoDB knows; any other member is ignored, as DynamoDB's
 * deserializer drops it, so {"Z": 1} is an empty value. */
static bool av_type_known(const char *t)
{
    static const char *const types[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS",
                                        "BS"};
    for (size_t i = 0; i < SP_ARRAY_LEN(types); i++)
        if (!strcmp(t, types[i])) return true;
    return false;
}

/* NULL's value as DynamoDB's deserializer reads it: false, or "false", "0", "no". */
static bool av_null_false(const json_t *v)
{
    if (json_is_false(v)) return true;
    const char *s = json_string_value(v);
    return s && (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"));
}

bool tbl_pre_av(const json_t *av, sp_err *e)
{
    if (!json_is_object(av)) return true; /* the model's serialization check */
    size_t known = 0;
    const char *type;
    json_t *v;
    json_object_foreach((json_t *)av, type, v) known += av_type_known(type) && !json_is_null(v);
    if (known == 0) {
        sp_err_invalid(e, "Supplied AttributeValue is empty, must contain exactly one of the "
                          "supported datatypes");
        return false;
    }
    char buf[SP_ERR_MSG_MAX];
    sp_str s;
    json_object_foreach((json_t *)av, type, v) {
        if (!av_type_known(type) || json_is_null(v)) continue;
        bool is_set = !strcmp(type, "SS") || !strcmp(type, "NS") || !strcmp(type, "BS");
        if (!strcmp(type, "N") && !check_number(v, e)) return false;
        if (!strcmp(type, "NULL") && av_null_false(v)) {
            sp_err_invalid(e, "One or more parameter values were invalid: Null attribute value "
                              "types must have the value of true");
            return false;
        }
        if (is_set && json_is_array(v) && json_array_size(v) == 0) {
            sp_err_invalid(e, "One or more parameter values were invalid: %s",
                           type[0] == 'S'   ? "An string set  may not be empty"
                           : type[0] == 'N' ? "An number set  may not be empty"
                                            : "Binary sets should not be empty");
            return false;
        }
        if (!strcmp(type, "NS") && json_is_array(v))
            for (size_t i = 0; i < json_array_size(v); i++)
                if (!check_number(json_array_get(v, i), e)) return false;
        if (is_set && json_is_array(v) && has_duplicate(v)) {
            if (type[0] == 'N') {
                sp_err_invalid(e, "Input collection contains duplicates");
                return false;
            }
            sp_str_init(&s, buf, sizeof buf, SP_ERR_MSG_MAX);
            set_str(&s, v);
            sp_err_invalid(e, "One or more parameter values were invalid: Input collection "
                              "%s%s contains duplicates.", s.buf,
                           type[0] == 'B' ? "of type BS" : "");
            sp_str_release(&s);
            return false;
        }
        if (!strcmp(type, "M") && json_is_object(v)) {
            const char *k;
            json_t *m;
            json_object_foreach(v, k, m) if (!tbl_pre_av(m, e)) return false;
        }
        if (!strcmp(type, "L") && json_is_array(v)) {
            size_t i;
            json_t *m;
            json_array_foreach(v, i, m) if (!tbl_pre_av(m, e)) return false;
        }
    }
    if (known > 1) {
        sp_err_invalid(e, "Supplied AttributeValue has more than one datatypes set, must "
                          "contain exactly one of the supported datatypes");
        return false;
    }
    return true;
}

static bool check_av_map(const json_t *map, sp_err *e)
{
    const char *k;
    json_t *v;
    if (!json_is_object(map)) return true;
    json_object_foreach((json_t *)map, k, v) if (!tbl_pre_av(v, e)) return false;
    return true;
}

/* A starting key's value problems carry a prefix, except the ones DynamoDB reports bare. */
static bool check_start_key(const json_t *req, sp_err *e)
{
    if (check_av_map(json_object_get(req, "ExclusiveStartKey"), e)) return true;
    static const char *const bare[] = {"contains duplicates", "number set", "numeric value",
                                       "significant digits", "number with magnitude"};
    for (size_t i = 0; i < SP_ARRAY_LEN(bare); i++)
        if (strstr(e->msg, bare[i])) return false;
    sp_err_wrap(e, "The provided starting key is invalid");
    return false;
}

static bool check_attributes_to_get(const json_t *req, sp_err *e)
{
    const json_t *atg = json_object_get(req, "AttributesToGet");
    for (size_t i = 0; i < json_array_size(atg); i++)
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(atg, i), json_array_get(atg, j))) {
                sp_err_invalid(e, "One or more parameter values were invalid: Duplicate value "
                                  "in attribute name: %s",
                               json_string_value(json_array_get(atg, i)));
                return false;
            }
    return true;
}

/* Arguments each ComparisonOperator takes (IN: one or more) and the types it compares. */
static const struct {
    const char *op;
    int args;
    const char *types;
} COMPARISONS[] = {
    {"NULL", 0, NULL},          {"NOT_NULL", 0, NULL},      {"EQ", 1, "S N B SS NS BS"},
    {"NE", 1, "S N B SS NS BS"}, {"LE", 1, "S N B"},        {"LT", 1, "S N B"},
    {"GE", 1, "S N B"},         {"GT", 1, "S N B"},         {"CONTAINS", 1, "S N B"},
    {"NOT_CONTAINS", 1, "S N B"}, {"BEGINS_WITH", 1, "S B"}, {"IN", -1, "S N B"},
    {"BETWEEN", 2, "S N B"},
};

static bool type_in(const char *type, const char *list)
{
    size_t n = strlen(type);
    for (const char *p = list; (p = strstr(p, type)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return true;
    return false;
}

/* KeyConditions, QueryFilter, ScanFilter: each condition's values, then their number,
 * then their types. */
static bool check_conditions(const json_t *conds, sp_err *e)
{
    const char *key;
    json_t *c;
    if (!json_is_object(conds)) return true;
    json_object_foreach((json_t *)conds, key, c) {
        const char *op = json_string_value(json_object_get(c, "ComparisonOperator"));
        const json_t *list = json_object_get(c, "AttributeValueList");
        size_t n = json_array_size(list);
        for (size_t i = 0; i < n; i++)
            if (!tbl_pre_av(json_array_get(list, i), e)) return false;
        for (size_t i = 0; op && i < SP_ARRAY_LEN(COMPARISONS); i++) {
            if (strcmp(op, COMPARISONS[i].op)) continue;
            if (COMPARISONS[i].args >= 0 ? n != (size_t)COMPARISONS[i].args : n == 0) {
                sp_err_invalid(e, "One or more parameter values were invalid: Invalid number of "
                                  "argument(s) for the %s ComparisonOperator", op);
                return false;
            }
            const char *first = n ? tbl_av_type(json_array_get(list, 0)) : NULL;
            for (size_t j = 1; first && j < n; j++) {
                const char *t = tbl_av_type(json_array_get(list, j));
                if (!t || strcmp(t, first)) {
                    sp_err_invalid(e, "One or more parameter values were invalid: "
                                      "AttributeValues inside AttributeValueList must be of "
                                      "same type");
                    return false;
                }
            }
            /* DynamoDB's validation, before the table is looked up. */
            if (!strcmp(op, "BETWEEN") && n == 2 &&
                tbl_av_cmp(json_array_get(list, 0), json_array_get(list, 1)) > 0) {
                sp_err_invalid(e, "The BETWEEN condition was provided a range where the lower "
                                  "bound is greater than the upper bound");
                return false;
            }
            for (size_t j = 0; COMPARISONS[i].types && j < n; j++) {
                const char *t = tbl_av_type(json_array_get(list, j));
                if (t && !type_in(t, COMPARISONS[i].types)) {
                    sp_err_invalid(e, "One or more parameter values were invalid: "
                                      "ComparisonOperator %s is not valid for %s AttributeValue "
                                      "type", op, t);
                    return false;
                }
            }
        }
    }
    return true;
}

static bool check_attribute_updates(const json_t *req, sp_err *e)
{
    const char *key;
    json_t *u;
    const json_t *updates = json_object_get(req, "AttributeUpdates");
    if (!json_is_object(updates)) return true;
    json_object_foreach((json_t *)updates, key, u) {
        const json_t *value = json_object_get(u, "Value");
        const char *action = json_string_value(json_object_get(u, "Action"));
        bool is_delete = action && !strcmp(action, "DELETE");
        if (value && !tbl_pre_av(value, e)) return false;
        if (!value && !is_delete) {
            sp_err_invalid(e, "One or more parameter values were invalid: Only DELETE action is "
                              "allowed when no attribute value is specified");
            return false;
        }
        const char *type = value ? tbl_av_type(value) : NULL;
        if (type && is_delete && !type_in(type, "SS NS BS")) {
            sp_err_invalid(e, "One or more parameter values were invalid: DELETE action with "
                              "value is not supported for the type %s", type);
            return false;
        }
        if (type && action && !strcmp(action, "ADD") && !type_in(type, "L SS NS BS N")) {
            sp_err_invalid(e, "One or more parameter values were invalid: ADD action is not "
                              "supported for the type %s", type);
            return false;
        }
    }
    return true;
}

/* Segment and TotalSegments go together (a Segment of 0 alone is let through, as DynamoDB
 * does); the full range checks are Scan's. */
static bool check_segments(const json_t *req, sp_err *e)
{
    const json_t *seg = json_object_get(req, "Segment");
    const json_t *tot = json_object_get(req, "TotalSegments");
    if (!json_is_integer(seg) && seg) return true; /* the model's type check */
    if (!json_is_integer(tot) && tot) return true;
    json_int_t s = seg ? json_integer_value(seg) : 0, t = tot ? json_integer_value(tot) : 0;
    if (s && !tot) {
        sp_err_invalid(e, "The TotalSegments parameter is required but was not present in the "
                          "request when Segment parameter is present");
        return false;
    }
    if (t && !seg) {
        sp_err_invalid(e, "The Segment parameter is required but was not present in the "
                          "request when parameter TotalSegments is present");
        return false;
    }
    if (t && s >= t) {
        sp_err_invalid(e, "The Segment parameter is zero-based and must be less than parameter "
                          "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                       (long long)s, (long long)t);
        return false;
    }
    return true;
}

static bool check_key_condition_count(const json_t *req, sp_err *e)
{
    const json_t *kc = json_object_get(req, "KeyConditions");
    if (!json_is_object(kc) || present(req, "KeyConditionExpression")) return true;
    if (json_object_size(kc) == 1 || json_object_size(kc) == 2) return true;
    sp_err_invalid(e, "Conditions can be of length 1 or 2 only");
    return false;
}

bool tbl_req_precheck(const json_t *req, tbl_pre_op op, sp_err *e)
{
    return tbl_req_precheck_item(req, op, NULL, e);
}

bool tbl_req_precheck_item(const json_t *req, tbl_pre_op op, json_t **norm_out, sp_err *e)
{
    if (norm_out) *norm_out = NULL;
    if (!check_expression_params(req, &PRE_PARAMS[op], e)) return false;
    switch (op) {
    case TBL_PRE_PUT: {
        const json_t *item = json_object_get(req, "Item");
        if (!check_av_map(item, e)) return false;
        const char *rv = json_string_value(json_object_get(req, "ReturnValues"));
        if (rv && strcmp(rv, "ALL_OLD") && strcmp(rv, "NONE")) {
            sp_err_invalid(e, "ReturnValues can only be ALL_OLD or NONE");
            return false;
        }
        if (json_is_object(item)) {
            sp_err ignore = {0};
            json_t *norm = tbl_av_item_normalize(item, &ignore);
            bool too_big = norm && tbl_item_size(norm) > TBL_ITEM_MAX_BYTES;
            if (norm_out && !too_big) *norm_out = norm;
            else json_decref(norm);
            if (too_big) {
                sp_err_invalid(e, "Item size has exceeded the maximum allowed size");
                return false;
            }
        }
        return true;
    }
    case TBL_PRE_DELETE:
    case TBL_PRE_GET:
        return check_av_map(json_object_get(req, "Key"), e) &&
               (op != TBL_PRE_GET || check_attributes_to_get(req, e));
    case TBL_PRE_UPDATE:
        return check_av_map(json_object_get(req, "Key"), e) && check_attribute_updates(req, e);
    case TBL_PRE_QUERY:
        return check_conditions(json_object_get(req, "QueryFilter"), e) &&
               check_attributes_to_get(req, e) && check_start_key(req, e) &&
               check_conditions(json_object_get(req, "KeyConditions"), e) &&
               check_key_condition_count(req, e);
    case TBL_PRE_SCAN:
        return check_attributes_to_get(req, e) &&
               check_conditions(json_object_get(req, "ScanFilter"), e) &&
               check_start_key(req, e) && check_segments(req, e);
    }
    return true;
}
