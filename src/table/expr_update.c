/* Applying UpdateExpressions and projecting items onto document paths.
 *
 * An update works on a deep copy of the old item: every SET value is computed from the old
 * item first (so "SET a = b, b = a" swaps), then the actions are applied in order, with
 * REMOVEs of list elements last and from the highest index down so that "REMOVE l[1], l[2]"
 * removes the two elements the user named. Any error leaves the old item untouched.
 */
#include "table/expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MSG_MISSING =
    "The provided expression refers to an attribute that does not exist in the item";
static const char *const MSG_TYPE = "An operand in the update expression has an incorrect data type";
static const char *const MSG_PATH =
    "The document path provided in the update expression is invalid for update";

/* Computes a SET value against the old item; returns a new reference or NULL with e set. */
static json_t *set_value(const x_node *n, const json_t *old, sp_err *e)
{
    switch (n->kind) {
    case X_VALUE:
        return json_incref((json_t *)n->value);
    case X_PATH: {
        const json_t *v = x_path_get(&n->path, old);
        if (!v) sp_err_invalid(e, "%s", MSG_MISSING);
        return v ? json_incref((json_t *)v) : NULL;
    }
    case X_IF_NOT_EXISTS: {
        const json_t *v = x_path_get(&n->args[0]->path, old);
        return v ? json_incref((json_t *)v) : set_value(n->args[1], old, e);
    }
    case X_LIST_APPEND:
    case X_PLUS:
    case X_MINUS: {
        json_t *a = set_value(n->args[0], old, e), *b = a ? set_value(n->args[1], old, e) : NULL;
        json_t *r = NULL;
        const char *want = n->kind == X_LIST_APPEND ? "L" : "N";
        if (!b) goto done;
        const json_t *x = json_object_get(a, want), *y = json_object_get(b, want);
        if (!x || !y) {
            sp_err_invalid(e, "%s", MSG_TYPE);
            goto done;
        }
        if (n->kind == X_LIST_APPEND) {
            json_t *l = json_array();
            json_array_extend(l, (json_t *)x);
            json_array_extend(l, (json_t *)y);
            r = json_pack("{s:o}", "L", l);
        } else {
            tbl_num p, q, s;
            char out[TBL_NUM_STR_MAX];
            if (!tbl_num_parse(json_string_value(x), &p, e) ||
                !tbl_num_parse(json_string_value(y), &q, e))
                goto done;
            if (!(n->kind == X_PLUS ? tbl_num_add(&p, &q, &s, e) : tbl_num_sub(&p, &q, &s, e)))
                goto done;
            tbl_num_format(&s, out);
            r = json_pack("{s:s}", "N", out);
        }
    done:
        json_decref(a);
        json_decref(b);
        return r;
    }
    default:
        sp_err_invalid(e, "%s", MSG_TYPE);
        return NULL;
    }
}

/* The container (object of members or array) that holds the path's last step, in item,
 * mutable; NULL with e set when the parent does not exist or has the wrong type. */
static json_t *parent_container(const x_path *p, json_t *item, sp_err *e)
{
    const x_step *last = &p->steps[p->n - 1];
    if (p->n == 1) return item;
    x_path prefix = {p->n - 1, p->steps};
    json_t *parent = (json_t *)x_path_get(&prefix, item);
    json_t *c = parent ? json_object_get(parent, last->name ? "M" : "L") : NULL;
    if (!c) sp_err_invalid(e, "%s", MSG_PATH);
    return c;
}

static json_t *container_get(json_t *c, const x_step *s)
{
    return s->name ? json_object_get(c, s->name) : json_array_get(c, (size_t)s->index);
}

static void container_put(json_t *c, const x_step *s, json_t *v /* stolen */)
{
    if (s->name) json_object_set_new(c, s->name, v);
    else if ((size_t)s->index < json_array_size(c)) json_array_set_new(c, (size_t)s->index, v);
    else json_array_append_new(c, v);
}

static void container_remove(json_t *c, const x_step *s)
{
    if (s->name) json_object_del(c, s->name);
    else json_array_remove(c, (size_t)s->index);
}

static bool is_set_type(const char *t)
{
    return t && (!strcmp(t, "SS") || !strcmp(t, "NS") || !strcmp(t, "BS"));
}

/* Set union (add) or difference (!add) of two same-typed sets; returns a new array. */
static json_t *set_merge(const char *t, const json_t *have, const json_t *with, bool add)
{
    json_t *out = json_array();
    char scalar[2] = {t[0], '\0'};
    size_t i, j;
    json_t *m, *w;
    json_array_foreach(have, i, m) {
        bool found = false;
        json_array_foreach(with, j, w) {
            json_t *pa = json_pack("{s:O}", scalar, m), *pb = json_pack("{s:O}", scalar, w);
            found = tbl_av_equal(pa, pb);
            json_decref(pa);
            json_decref(pb);
            if (found) break;
        }
        if (add || !found) json_array_append(out, m);
    }
    if (add) {
        json_array_foreach(with, j, w) {
            bool found = false;
            json_array_foreach(have, i, m) {
                json_t *pa = json_pack("{s:O}", scalar, m), *pb = json_pack("{s:O}", scalar, w);
                found = tbl_av_equal(pa, pb);
                json_decref(pa);
                json_decref(pb);
                if (found) break;
            }
            if (!found) json_array_append(out, w);
        }
    }
    return out;
}

static bool apply_add_delete(const x_action *a, json_t *c, sp_err *e)
{
    const x_step *last = &a->path.steps[a->path.n - 1];
    const json_t *val = a->value->value;
    const char *vt = tbl_av_type(val);
    json_t *have = container_get(c, last);
    const char *ht = tbl_av_type(have);
    if (!vt) { sp_err_invalid(e, "%s", MSG_TYPE); return false; }
    if (have && strcmp(ht ? ht : "", vt)) { sp_err_invalid(e, "%s", MSG_TYPE); return false; }
    if (a->kind == X_DELETE) {
        if (!is_set_type(vt)) { sp_err_invalid(e, "%s", MSG_TYPE); return false; }
        if (!have) return true;
        json_t *rest = set_merge(vt, json_object_get(have, vt), json_object_get(val, vt), false);
        if (json_array_size(rest) == 0) {
            json_decref(rest);
            container_remove(c, last);
        } else {
            container_put(c, last, json_pack("{s:o}", vt, rest));
        }
        return true;
    }
    if (!have) {
        container_put(c, last, json_incref((json_t *)val));
        return true;
    }
    if (!strcmp(vt, "N")) {
        tbl_num p, q, s;
        char out[TBL_NUM_STR_MAX];
        if (!tbl_num_parse(json_string_value(json_object_get(have, "N")), &p, e) ||
            !tbl_num_parse(json_string_value(json_object_get(val, "N")), &q, e) ||
            !tbl_num_add(&p, &q, &s, e))
            return false;
        tbl_num_format(&s, out);
        container_put(c, last, json_pack("{s:s}", "N", out));
        return true;
    }
    if (!is_set_type(vt)) { sp_err_invalid(e, "%s", MSG_TYPE); return false; }
    json_t *u = set_merge(vt, json_object_get(have, vt), json_object_get(val, vt), true);
    container_put(c, last, json_pack("{s:o}", vt, u));
    return true;
}

/* REMOVE order: member removals first, then list elements from the highest index down. */
static int remove_order(const void *pa, const void *pb)
{
    const x_action *a = *(const x_action *const *)pa, *b = *(const x_action *const *)pb;
    const x_step *sa = &a->path.steps[a->path.n - 1], *sb = &b->path.steps[b->path.n - 1];
    if ((sa->name == NULL) != (sb->name == NULL)) return sa->name ? -1 : 1;
    if (sa->name) return 0;
    return (sa->index < sb->index) - (sa->index > sb->index);
}

/* The list position an action writes (its path's last step), or -1 for a map member. */
static long action_index(const x_action *a)
{
    const x_step *last = &a->path.steps[a->path.n - 1];
    return last->name ? -1 : last->index;
}

json_t *tbl_expr_update(const tbl_expr *x, const json_t *old_item, sp_err *e)
{
    if (x->kind != TBL_EXPR_UPDATE) {
        sp_err_internal(e, "%s is not an update", tbl_expr_kind_name(x->kind));
        return NULL;
    }
    json_t *item = old_item ? json_deep_copy(old_item) : json_object();
    json_t **vals = calloc(x->nactions + 1, sizeof *vals);
    const x_action **removes = calloc(x->nactions + 1, sizeof *removes);
    size_t nremoves = 0;
    bool ok = item && vals && removes;
    for (size_t i = 0; ok && i < x->nactions; i++)
        if (x->actions[i].kind == X_SET)
            ok = (vals[i] = set_value(x->actions[i].value, old_item, e)) != NULL;
    /* Every list position names the list as it was: writes to list elements go in
     * ascending index order, so ones past the end are appended in that order and an earlier
     * append is not overwritten by a later, lower position (paths never overlap, so only
     * the order within one list matters). */
    size_t *order = calloc(x->nactions + 1, sizeof *order);
    ok = ok && order;
    for (size_t i = 0; ok && i < x->nactions; i++) {
        size_t j = i;
        long key = action_index(&x->actions[i]);
        while (j > 0 && action_index(&x->actions[order[j - 1]]) > key) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t oi = 0; ok && oi < x->nactions; oi++) {
        size_t i = order[oi];
        const x_action *a = &x->actions[i];
        json_t *c = parent_container(&a->path, item, e);
        if (!c) { ok = false; break; }
        if (a->kind == X_REMOVE) removes[nremoves++] = a;
        else if (a->kind == X_SET) {
            container_put(c, &a->path.steps[a->path.n - 1], vals[i]);
            vals[i] = NULL;
        } else {
            ok = apply_add_delete(a, c, e);
        }
    }
    if (ok) qsort(removes, nremoves, sizeof *removes, remove_order);
    for (size_t i = 0; ok && i < nremoves; i++) {
        json_t *c = parent_container(&removes[i]->path, item, e);
        if (c) container_remove(c, &removes[i]->path.steps[removes[i]->path.n - 1]);
    }
    for (size_t i = 0; vals && i < x->nactions; i++) json_decref(vals[i]);
    free(vals);
    free(removes);
    free(order);
    if (!ok) {
        if (!sp_err_failed(e)) sp_err_internal(e, "out of memory applying UpdateExpression");
        json_decref(item);
        return NULL;
    }
    return item;
}

/* ---- projection ------------------------------------------------------------------- */

/* While projecting, each node is {"v": value} (a leaf), {"m": {name: node}} or
 * {"l": {"%010ld": node}}; proj_finish turns that into attribute values, lists compacted
 * in index order. */
static void proj_add(json_t *members, const x_path *p, const json_t *item)
{
    const json_t *v = x_path_get(p, item);
    if (!v) return;
    json_t *c = members;
    for (size_t i = 0; i < p->n; i++) {
        char key[24];
        const char *k = p->steps[i].name;
        if (!k) {
            snprintf(key, sizeof key, "%010ld", p->steps[i].index);
            k = key;
        }
        json_t *node = json_object_get(c, k);
        if (i == p->n - 1) {
            if (!node) json_object_set_new(c, k, json_pack("{s:O}", "v", v));
            return;
        }
        const char *sub = p->steps[i + 1].name ? "m" : "l";
        if (!node) {
            node = json_pack("{s:o}", sub, json_object());
            json_object_set_new(c, k, node);
        }
        if (!(c = json_object_get(node, sub))) return;   /* a leaf already covers it */
    }
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *proj_finish(const json_t *node)
{
    json_t *v = json_object_get(node, "v"), *m = json_object_get(node, "m");
    json_t *l = json_object_get(node, "l");
    if (v) return json_incref(v);
    if (m) {
        json_t *out = json_object();
        const char *k;
        json_t *child;
        json_object_foreach(m, k, child) json_object_set_new(out, k, proj_finish(child));
        return json_pack("{s:o}", "M", out);
    }
    size_t n = json_object_size(l), i = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    json_t *arr = json_array();
    const char *k;
    json_t *child;
    if (keys) {
        json_object_foreach(l, k, child) keys[i++] = k;
        qsort(keys, n, sizeof *keys, key_cmp);
        for (i = 0; i < n; i++) json_array_append_new(arr, proj_finish(json_object_get(l, keys[i])));
    }
    free(keys);
    return json_pack("{s:o}", "L", arr);
}

json_t *tbl_expr_project(const tbl_expr *x, const json_t *item)
{
    json_t *members = json_object(), *out = json_object();
    if (x->kind == TBL_EXPR_UPDATE) {
        for (size_t i = 0; i < x->nactions; i++) proj_add(members, &x->actions[i].path, item);
    } else {
        for (size_t i = 0; i < x->npaths; i++) proj_add(members, &x->paths[i], item);
    }
    const char *k;
    json_t *node;
    json_object_foreach(members, k, node) json_object_set_new(out, k, proj_finish(node));
    json_decref(members);
    return out;
}
