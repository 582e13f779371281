/* Expression objects: their arena, their life cycle, and the request-wide bookkeeping of
 * which ExpressionAttributeNames/Values were used.
 *
 * An expression and everything in it is allocated from one arena of chunks, so parse
 * errors anywhere need no unwinding: tbl_expr_free releases it all at once.
 */
#include "table/expr_int.h"

#include <stdlib.h>
#include <string.h>

enum { ARENA_CHUNK = 4096, ARENA_ALIGN = 16 };

struct x_chunk {
    x_chunk *next;
    size_t used, cap;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void *x_alloc(tbl_expr *x, size_t size)
{
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    x_chunk *c = x->arena;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = x->arena;
        c->used = 0;
        c->cap = cap;
        x->arena = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

void *x_grow(tbl_expr *x, void *arr, size_t n, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = x_alloc(x, ncap * elem);
    if (!p) return NULL;
    if (n) memcpy(p, arr, n * elem);
    *cap = ncap;
    return p;
}

const char *tbl_expr_kind_name(tbl_expr_kind kind)
{
    switch (kind) {
    case TBL_EXPR_CONDITION: return "ConditionExpression";
    case TBL_EXPR_FILTER: return "FilterExpression";
    case TBL_EXPR_KEY_CONDITION: return "KeyConditionExpression";
    case TBL_EXPR_UPDATE: return "UpdateExpression";
    case TBL_EXPR_PROJECTION: return "ProjectionExpression";
    }
    return "Expression";
}

tbl_expr *tbl_expr_parse(tbl_expr_kind kind, const char *text, const json_t *names,
                         const json_t *values, tbl_expr_usage *usage, sp_err *e)
{
    tbl_expr *x = calloc(1, sizeof *x);
    if (!x || !(x->owned = json_object())) {
        free(x);
        sp_err_internal(e, "out of memory");
        return NULL;
    }
    x->kind = kind;
    if (!text || !x_parse(x, text, names, values, usage, e)) {
        if (!text) sp_err_invalid(e, "Invalid %s: The expression can not be empty;",
                                  tbl_expr_kind_name(kind));
        tbl_expr_free(x);
        return NULL;
    }
    return x; /* a key condition's structure is tbl_expr_key_check's, made later */
}

void tbl_expr_free(tbl_expr *x)
{
    if (!x) return;
    for (x_chunk *c = x->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    json_decref(x->owned);
    free(x);
}

tbl_expr_kind tbl_expr_kind_of(const tbl_expr *x) { return x->kind; }

/* ---- usage ------------------------------------------------------------------------- */

void tbl_expr_usage_init(tbl_expr_usage *u) { u->used = json_object(); }

void tbl_expr_usage_clear(tbl_expr_usage *u)
{
    json_decref(u->used);
    u->used = NULL;
}

static bool key_ok(const char *key, char sigil)
{
    if (key[0] != sigil || !key[1]) return false;
    for (const char *p = key + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* Checks one of the two maps; what is "ExpressionAttributeNames" or "...Values". */
static bool check_map(const tbl_expr_usage *u, const json_t *map, const char *what, char sigil,
                      bool check_unused, sp_err *e)
{
    if (!map) return true;
    if (!json_is_object(map)) {
        sp_err_invalid(e, "%s must be a map", what);
        return false;
    }
    if (json_object_size(map) == 0) {
        sp_err_invalid(e, "%s must not be empty", what);
        return false;
    }
    const char *k;
    json_t *v;
    /* Every key's syntax first, then the values, as DynamoDB reports them. */
    json_object_foreach((json_t *)map, k, v) {
        if (!key_ok(k, sigil)) {
            sp_err_invalid(e, "%s contains invalid key: Syntax error; key: \"%s\"", what, k);
            return false;
        }
    }
    json_object_foreach((json_t *)map, k, v) {
        if (sigil == '#' && !json_is_string(v)) {
            sp_err_invalid(e, "%s contains invalid value for key %s: not a string", what, k);
            return false;
        }
        if (sigil == ':') {
            sp_err ve = {0};
            json_t *n = tbl_pre_av(v, &ve) ? tbl_av_normalize(v, &ve) : NULL;
            if (!n) {
                sp_err_invalid(e, "%s contains invalid value: %s for key %s", what, ve.msg, k);
                return false;
            }
            json_decref(n);
        }
    }
    if (!check_unused) return true;
    sp_str s;
    char buf[SP_ERR_MSG_MAX];
    sp_str_init(&s, buf, sizeof buf, SP_ERR_MSG_MAX);
    json_object_foreach((json_t *)map, k, v) {
        if (u && u->used && json_object_get(u->used, k)) continue;
        sp_str_puts(&s, s.len ? ", " : "");
        sp_str_puts(&s, k);
    }
    bool ok = s.len == 0;
    if (!ok)
        sp_err_invalid(e, "Value provided in %s unused in expressions: keys: {%s}", what, s.buf);
    sp_str_release(&s);
    return ok;
}

bool tbl_expr_check_unused(const tbl_expr_usage *u, const json_t *names, const json_t *values,
                           sp_err *e)
{
    return check_map(u, names, "ExpressionAttributeNames", '#', true, e) &&
           check_map(u, values, "ExpressionAttributeValues", ':', true, e);
}

bool tbl_expr_key_check(const tbl_expr *x, sp_err *e) { return x_key_check(x, e); }

bool tbl_expr_check_maps(const json_t *names, const json_t *values, sp_err *e)
{
    return check_map(NULL, names, "ExpressionAttributeNames", '#', false, e) &&
           check_map(NULL, values, "ExpressionAttributeValues", ':', false, e);
}

/* ---- paths ------------------------------------------------------------------------- */

bool tbl_expr_refers_top(const tbl_expr *x, const char *name)
{
    for (size_t i = 0; i < x->npaths; i++)
        if (!strcmp(x->paths[i].steps[0].name, name)) return true;
    return false;
}

bool tbl_expr_update_writes_top(const tbl_expr *x, const char *name)
{
    for (size_t i = 0; i < x->nactions; i++)
        if (!strcmp(x->actions[i].path.steps[0].name, name)) return true;
    return false;
}

bool tbl_expr_nested_under(const tbl_expr *x, const char *name)
{
    for (size_t i = 0; i < x->npaths; i++)
        if (x->paths[i].n > 1 && !strcmp(x->paths[i].steps[0].name, name)) return true;
    return false;
}

/* The type an operand has whatever the item holds, or NULL when it depends on the item. */
static const char *static_type(const x_node *n)
{
    switch (n->kind) {
    case X_VALUE: return tbl_av_type(n->value);
    case X_PLUS:
    case X_MINUS: return "N";
    case X_LIST_APPEND: return "L";
    default: return NULL;
    }
}

const char *tbl_expr_update_static_type(const tbl_expr *x, const char *name)
{
    for (size_t i = 0; i < x->nactions; i++) {
        const x_action *a = &x->actions[i];
        if (a->path.n == 1 && !strcmp(a->path.steps[0].name, name))
            return a->value ? static_type(a->value) : NULL;
    }
    return NULL;
}

json_t *tbl_expr_top_names(const tbl_expr *x)
{
    json_t *seen = json_object(), *out = json_array();
    for (size_t i = 0; i < x->npaths; i++) {
        const char *n = x->paths[i].steps[0].name;
        if (json_object_get(seen, n)) continue;
        json_object_set_new(seen, n, json_true());
        json_array_append_new(out, json_string(n));
    }
    json_decref(seen);
    return out;
}
