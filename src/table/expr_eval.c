/* Evaluating Condition/Filter expressions against an item, and splitting a
 * KeyConditionExpression into the hash and range parts an index-backed Query needs.
 *
 * Evaluation follows DynamoDB: an operand that does not resolve (missing attribute, size of
 * a number) makes every comparison false except <>, and values of different types are never
 * ordered, so a condition on a missing or mistyped attribute fails instead of erroring.
 */
#include "table/expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const json_t *x_path_get(const x_path *p, const json_t *item)
{
    const json_t *v = item ? json_object_get(item, p->steps[0].name) : NULL;
    for (size_t i = 1; v && i < p->n; i++) {
        const x_step *s = &p->steps[i];
        if (s->name) {
            const json_t *m = json_object_get(v, "M");
            v = m ? json_object_get(m, s->name) : NULL;
        } else {
            const json_t *l = json_object_get(v, "L");
            v = l && s->index >= 0 ? json_array_get(l, (size_t)s->index) : NULL;
        }
    }
    return v;
}

void x_path_str(const x_path *p, char *out, size_t cap)
{
    sp_str s;
    /* max = cap - 1: the text and its terminator must fit in out, never move to the heap. */
    sp_str_init(&s, out, cap, cap - 1);
    sp_str_putc(&s, '[');
    for (size_t i = 0; i < p->n; i++) {
        if (i) sp_str_puts(&s, ", ");
        if (p->steps[i].name) sp_str_puts(&s, p->steps[i].name);
        else sp_str_appendf(&s, "[%ld]", p->steps[i].index);
    }
    sp_str_putc(&s, ']');
    if (sp_str_failed(&s)) snprintf(out, cap, "[...]");
}

/* ---- operands ----------------------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Resolves an operand to a value: borrowed, or new in *tmp (caller decrefs *tmp). */
static const json_t *eval_operand(const x_node *n, const json_t *item, json_t **tmp)
{
    *tmp = NULL;
    if (n->kind == X_VALUE) return n->value;
    if (n->kind == X_PATH) return x_path_get(&n->path, item);
    if (n->kind != X_SIZE) return NULL;
    const json_t *v = x_path_get(&n->args[0]->path, item);
    const char *t = tbl_av_type(v);
    if (!t) return NULL;
    const json_t *in = json_object_get(v, t);
    size_t size;
    if (!strcmp(t, "S")) size = utf8_chars(json_string_value(in));
    else if (!strcmp(t, "B")) {
        size_t len = json_string_length(in);
        const char *b = json_string_value(in);
        size = len / 4 * 3 - (len && b[len - 1] == '=') - (len > 1 && b[len - 2] == '=');
    } else if (json_is_array(in)) size = json_array_size(in);
    else if (json_is_object(in)) size = json_object_size(in);
    else return NULL;
    char num[32];
    snprintf(num, sizeof num, "%zu", size);
    *tmp = json_pack("{s:s}", "N", num);
    return *tmp;
}

static bool scalar_type(const char *t)
{
    return t && (!strcmp(t, "S") || !strcmp(t, "N") || !strcmp(t, "B"));
}

/* a cmp b for ordered comparisons; false unless both are the same scalar type. */
static bool ordered(const json_t *a, const json_t *b, int *c)
{
    const char *ta = tbl_av_type(a), *tb = tbl_av_type(b);
    if (!scalar_type(ta) || !tb || strcmp(ta, tb)) return false;
    *c = tbl_av_cmp(a, b);
    return true;
}

static bool eval_compare(x_cmp op, const json_t *a, const json_t *b)
{
    int c;
    switch (op) {
    case X_EQ: return a && b && tbl_av_equal(a, b);
    case X_NE: return !(a && b && tbl_av_equal(a, b));
    case X_LT: return a && b && ordered(a, b, &c) && c < 0;
    case X_LE: return a && b && ordered(a, b, &c) && c <= 0;
    case X_GT: return a && b && ordered(a, b, &c) && c > 0;
    case X_GE: return a && b && ordered(a, b, &c) && c >= 0;
    }
    return false;
}

/* Decoded bytes of a B value (caller frees), for prefix/substring tests. */
static unsigned char *b_bytes(const json_t *av, long *len)
{
    const char *s = json_string_value(json_object_get(av, "B"));
    size_t n = s ? strlen(s) : 0;
    unsigned char *out = malloc(sp_base64_decoded_max(n) + 1);
    *len = out && s ? sp_base64_decode(s, n, out) : -1;
    if (*len < 0) { free(out); return NULL; }
    return out;
}

static bool eval_begins_with(const json_t *a, const json_t *b)
{
    const char *ta = tbl_av_type(a), *tb = tbl_av_type(b);
    if (!ta || !tb || strcmp(ta, tb)) return false;
    if (!strcmp(ta, "S")) {
        const char *x = json_string_value(json_object_get(a, "S"));
        const char *y = json_string_value(json_object_get(b, "S"));
        return strncmp(x, y, strlen(y)) == 0;
    }
    if (strcmp(ta, "B")) return false;
    long lx, ly;
    unsigned char *x = b_bytes(a, &lx), *y = b_bytes(b, &ly);
    bool r = x && y && ly <= lx && memcmp(x, y, (size_t)ly) == 0;
    free(x);
    free(y);
    return r;
}

static bool eval_contains(const json_t *a, const json_t *b)
{
    const char *ta = tbl_av_type(a), *tb = tbl_av_type(b);
    if (!ta || !tb) return false;
    if (!strcmp(ta, "S") && !strcmp(tb, "S"))
        return strstr(json_string_value(json_object_get(a, "S")),
                      json_string_value(json_object_get(b, "S"))) != NULL;
    if (!strcmp(ta, "B") && !strcmp(tb, "B")) {
        long lx, ly;
        unsigned char *x = b_bytes(a, &lx), *y = b_bytes(b, &ly);
        bool r = false;
        for (long i = 0; x && y && !r && i + ly <= lx; i++)
            r = memcmp(x + i, y, (size_t)ly) == 0;
        free(x);
        free(y);
        return r;
    }
    if (!strcmp(ta, "L")) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(a, "L"), i, m) {
            if (tbl_av_equal(m, b)) return true;
        }
        return false;
    }
    /* A set contains a scalar of its member type: SS/S, NS/N, BS/B. */
    if (strlen(ta) == 2 && ta[1] == 'S' && strlen(tb) == 1 && ta[0] == tb[0]) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(a, ta), i, m) {
            json_t *probe = json_pack("{s:O}", tb, m);
            bool eq = probe && tbl_av_equal(probe, b);
            json_decref(probe);
            if (eq) return true;
        }
    }
    return false;
}

static bool eval_node(const x_node *n, const json_t *item)
{
    json_t *t0 = NULL, *t1 = NULL, *t2 = NULL;
    const json_t *a, *b, *c;
    bool r = false;
    switch (n->kind) {
    case X_AND: return eval_node(n->args[0], item) && eval_node(n->args[1], item);
    case X_OR: return eval_node(n->args[0], item) || eval_node(n->args[1], item);
    case X_NOT: return !eval_node(n->args[0], item);
    case X_EXISTS: return x_path_get(&n->args[0]->path, item) != NULL;
    case X_NOT_EXISTS: return x_path_get(&n->args[0]->path, item) == NULL;
    case X_TYPE: {
        const char *t = tbl_av_type(x_path_get(&n->args[0]->path, item));
        const json_t *want = n->args[1]->value ? json_object_get(n->args[1]->value, "S") : NULL;
        return t && json_is_string(want) && !strcmp(t, json_string_value(want));
    }
    case X_CMP:
        a = eval_operand(n->args[0], item, &t0);
        b = eval_operand(n->args[1], item, &t1);
        r = eval_compare(n->cmp, a, b);
        break;
    case X_BETWEEN: {
        int lo, hi;
        a = eval_operand(n->args[0], item, &t0);
        b = eval_operand(n->args[1], item, &t1);
        c = eval_operand(n->args[2], item, &t2);
        r = a && b && c && ordered(a, b, &lo) && ordered(a, c, &hi) && lo >= 0 && hi <= 0;
        break;
    }
    case X_IN:
        a = eval_operand(n->args[0], item, &t0);
        for (size_t i = 1; a && !r && i < n->nargs; i++) {
            b = eval_operand(n->args[i], item, &t1);
            r = b && tbl_av_equal(a, b);
            json_decref(t1);
            t1 = NULL;
        }
        break;
    case X_BEGINS_WITH:
    case X_CONTAINS:
        a = eval_operand(n->args[0], item, &t0);
        b = eval_operand(n->args[1], item, &t1);
        r = a && b && (n->kind == X_CONTAINS ? eval_contains(a, b) : eval_begins_with(a, b));
        break;
    default:
        break;
    }
    json_decref(t0);
    json_decref(t1);
    json_decref(t2);
    return r;
}

bool tbl_expr_eval(const tbl_expr *x, const json_t *item, bool *result, sp_err *e)
{
    if (!x->root) {
        sp_err_internal(e, "%s cannot be evaluated as a condition", tbl_expr_kind_name(x->kind));
        return false;
    }
    *result = eval_node(x->root, item);
    return true;
}

/* ---- key conditions ----------------------------------------------------------------- */

typedef struct key_part {
    const char *name;
    tbl_key_op op;
    const json_t *v[2];
} key_part;

static bool key_fail(sp_err *e, const char *fmt, const char *arg)
{
    sp_err_invalid(e, fmt, arg);
    return false;
}

/* One simple condition "key op :v" (either side), BETWEEN or begins_with. */
static bool key_simple(const x_node *n, key_part *out, sp_err *e)
{
    static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};
    static const tbl_key_op map[] = {TBL_KEY_EQ, TBL_KEY_NONE, TBL_KEY_LT, TBL_KEY_LE,
                                     TBL_KEY_GT, TBL_KEY_GE};
    static const tbl_key_op flipped[] = {TBL_KEY_EQ, TBL_KEY_NONE, TBL_KEY_GT, TBL_KEY_GE,
                                         TBL_KEY_LT, TBL_KEY_LE};
    /* The structural messages are DynamoDB's bare ones; only the operand type problem,
     * found while parsing in DynamoDB, carries the expression's name. */
    const char *prefix = "";
    const char *type_prefix = "Invalid KeyConditionExpression: ";
    char buf[SP_ERR_MSG_MAX];
    switch (n->kind) {
    case X_OR: return key_fail(e, "Invalid operator used in "
                                  "KeyConditionExpression: %s", "OR");
    case X_NOT: return key_fail(e, "Invalid operator used in "
                                   "KeyConditionExpression: %s", "NOT");
    case X_IN: return key_fail(e, "Invalid operator used in "
                                  "KeyConditionExpression: %s", "IN");
    case X_EXISTS: case X_NOT_EXISTS: case X_TYPE: case X_CONTAINS:
        return key_fail(e, "Invalid operator used in "
                           "KeyConditionExpression: %s",
                        n->kind == X_EXISTS ? "attribute_exists"
                        : n->kind == X_NOT_EXISTS ? "attribute_not_exists"
                        : n->kind == X_TYPE ? "attribute_type" : "contains");
    case X_CMP:
    case X_BETWEEN:
    case X_BEGINS_WITH:
        break;
    default:
        return key_fail(e, "%sSyntax error; a key condition is required", prefix);
    }
    if (n->kind == X_CMP && n->cmp == X_NE)
        return key_fail(e, "Invalid operator used in "
                           "KeyConditionExpression: %s", ops[X_NE]);
    if (n->kind != X_CMP && n->args[0]->kind != X_PATH) {
        const char *opname = n->kind == X_BETWEEN ? "BETWEEN" : "begins_with";
        snprintf(buf, sizeof buf, "%sInvalid condition in KeyConditionExpression: %s operator "
                                  "must have the key attribute as its first operand",
                 prefix, opname);
        return key_fail(e, "%s", buf);
    }
    size_t path_at = n->nargs;
    for (size_t i = 0; i < n->nargs; i++) {
        const x_node *a = n->args[i];
        if (a->kind != X_PATH && a->kind != X_VALUE && a->kind != X_SIZE) {
            if (!key_simple(a, &(key_part){0}, e)) return false; /* DynamoDB looks inside */
            return key_fail(e, "%sKeyConditionExpressions cannot contain nested operations",
                            prefix);
        }
        if (a->kind == X_SIZE)
            return key_fail(e, "%sKeyConditionExpressions cannot contain nested operations",
                            prefix);
        if (a->kind != X_PATH) continue;
        if (path_at != n->nargs)
            return key_fail(e, "%sInvalid condition in KeyConditionExpression: Multiple "
                               "attribute names used in one condition", prefix);
        if (a->path.n > 1)
            return key_fail(e, "%sKeyConditionExpressions cannot have conditions on nested "
                               "attributes", prefix);
        path_at = i;
    }
    if (path_at == n->nargs)
        return key_fail(e, "%sInvalid condition in KeyConditionExpression: No key attribute "
                           "specified", prefix);
    memset(out, 0, sizeof *out);
    out->name = n->args[path_at]->path.steps[0].name;
    if (n->kind == X_CMP) {
        out->op = path_at == 0 ? map[n->cmp] : flipped[n->cmp];
        out->v[0] = n->args[1 - path_at]->value;
    } else if (n->kind == X_BETWEEN) {
        out->op = TBL_KEY_BETWEEN;
        out->v[0] = n->args[1]->value;
        out->v[1] = n->args[2]->value;
    } else {
        const char *t = tbl_av_type(n->args[1]->value);
        if (t && strcmp(t, "S") && strcmp(t, "B")) {
            snprintf(buf, sizeof buf, "%sIncorrect operand type for operator or function; "
                                      "operator or function: begins_with, operand type: %s",
                     type_prefix, t);
            return key_fail(e, "%s", buf);
        }
        out->op = TBL_KEY_BEGINS_WITH;
        out->v[0] = n->args[1]->value;
    }
    return true;
}

/* Collects the conditions joined by AND, left to right, checking each as it is reached
 * (DynamoDB walks the tree and reports the first problem); *n may exceed 2. */
static bool key_walk(const x_node *n, key_part kp[2], size_t *count, sp_err *e)
{
    if (n->kind == X_AND)
        return key_walk(n->args[0], kp, count, e) && key_walk(n->args[1], kp, count, e);
    key_part p;
    if (!key_simple(n, &p, e)) return false;
    for (size_t i = 0; i < *count && i < 2; i++)
        if (!strcmp(kp[i].name, p.name)) {
            sp_err_invalid(e, "KeyConditionExpressions must only contain one condition per key");
            return false;
        }
    if (*count < 2) kp[*count] = p;
    (*count)++;
    return true;
}

/* The structural part of the checks, which needs no schema: one or two simple conditions
 * joined by AND, on distinct top-level attributes. */
static bool key_split(const tbl_expr *x, key_part kp[2], size_t *count, sp_err *e)
{
    size_t n = 0;
    if (!x->root) {
        sp_err_internal(e, "not a key condition");
        return false;
    }
    if (!key_walk(x->root, kp, &n, e)) return false;
    if (n > 2) {
        sp_err_invalid(e, "Conditions can be of length 1 or 2 only");
        return false;
    }
    *count = n;
    return true;
}

json_t *tbl_expr_key_conditions(const tbl_expr *x)
{
    static const char *const names[] = {
        [TBL_KEY_EQ] = "EQ", [TBL_KEY_LT] = "LT", [TBL_KEY_LE] = "LE", [TBL_KEY_GT] = "GT",
        [TBL_KEY_GE] = "GE", [TBL_KEY_BETWEEN] = "BETWEEN", [TBL_KEY_BEGINS_WITH] = "BEGINS_WITH",
    };
    key_part kp[2];
    size_t n;
    sp_err ignore = {0};
    if (!key_split(x, kp, &n, &ignore)) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *list = json_array();
        for (int j = 0; j < 2 && kp[i].v[j]; j++)
            json_array_append(list, (json_t *)kp[i].v[j]);
        json_object_set_new(out, kp[i].name,
                            json_pack("{s:s, s:o}", "ComparisonOperator", names[kp[i].op],
                                      "AttributeValueList", list));
    }
    return out;
}

bool x_key_check(const tbl_expr *x, sp_err *e)
{
    key_part kp[2];
    size_t n;
    return key_split(x, kp, &n, e);
}

bool tbl_expr_key_condition(const tbl_expr *x, const char *hash_key_name, tbl_key_cond *out,
                            sp_err *e)
{
    key_part kp[2];
    size_t n;
    memset(out, 0, sizeof *out);
    if (!key_split(x, kp, &n, e)) return false;
    size_t h = n;
    for (size_t i = 0; i < n; i++)
        if (hash_key_name && !strcmp(kp[i].name, hash_key_name)) h = i;
    if (!hash_key_name) {
        for (size_t i = 0; i < n && h == n; i++)
            if (kp[i].op == TBL_KEY_EQ) h = i;
    }
    if (h == n) {
        sp_err_invalid(e, "Query condition missed key schema element: %s",
                       hash_key_name ? hash_key_name : "hash key");
        return false;
    }
    if (kp[h].op != TBL_KEY_EQ) {
        sp_err_invalid(e, "Query key condition not supported");
        return false;
    }
    out->hash_name = kp[h].name;
    out->hash_value = kp[h].v[0];
    if (n == 2) {
        const key_part *r = &kp[1 - h];
        out->range_name = r->name;
        out->range_op = r->op;
        out->range_values[0] = r->v[0];
        out->range_values[1] = r->v[1];
    }
    return true;
}
