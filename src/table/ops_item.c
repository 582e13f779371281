/* Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, and the write steps
 * (prepare outside the lock, check and apply inside a transaction) that BatchWriteItem and
 * TransactWriteItems reuse. Everything a request can get wrong is found in prepare, before
 * the writer lock is taken, so bad input changes nothing and costs writers nothing.
 */
#include "tbl_ops.h"

#include <string.h>

#define RV_MASK(x) (1u << (x))
static const unsigned RV_PUT_DELETE = RV_MASK(TBL_RV_NONE) | RV_MASK(TBL_RV_ALL_OLD);
static const unsigned RV_ALL = 0x1f;

bool tbl_req_table(tbl_db *db, const json_t *obj, tbl_meta *m, sp_err *e)
{
    const char *name = sp_json_str(obj, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return false;
    return tbl_meta_get(db, name, m, false, e);
}

bool tbl_av_map_check(const json_t *raw, sp_err *e)
{
    if (!json_is_object(raw)) return true; /* absent: the model's not-null check, or the op's */
    json_t *norm = tbl_av_item_normalize(raw, e);
    json_decref(norm);
    return norm != NULL;
}

/* An update expression against the key schema, before the item is read, in DynamoDB's
 * order: no action may write a key attribute (reading one is fine); a whole index key
 * attribute written with a value whose type is known must have the index's type; no path
 * may go inside a key attribute, the table's first, then the indexes'. */
static bool update_schema_check(const tbl_meta *m, const tbl_expr *x, sp_err *e)
{
    const char *keys[2] = {m->hash_key, m->range_key};
    for (int i = 0; i < 2; i++)
        if (keys[i][0] && tbl_expr_update_writes_top(x, keys[i])) {
            sp_err_invalid(e, "One or more parameter values were invalid: Cannot update "
                              "attribute %s. This attribute is part of the key", keys[i]);
            return false;
        }
    for (size_t i = 0; m->indexes && i < m->indexes->n; i++) {
        const tbl_index *ix = &m->indexes->ix[i];
        for (int r = 0; r < 2; r++) {
            const char *name = r ? ix->range_key : ix->hash_key;
            char want[2] = {r ? ix->range_type : ix->hash_type, 0};
            const char *t = name[0] ? tbl_expr_update_static_type(x, name) : NULL;
            if (t && strcmp(t, want)) {
                sp_err_invalid(e, "One or more parameter values were invalid: Type mismatch "
                                  "for Index Key %s Expected: %s Actual: %s IndexName: %s",
                               name, want, t, ix->name);
                return false;
            }
        }
    }
    return tbl_key_paths_check(m, x, e);
}

bool tbl_key_paths_check(const tbl_meta *m, const tbl_expr *x, sp_err *e)
{
    if (!x) return true;
    const char *keys[2] = {m->hash_key, m->range_key};
    for (int i = 0; i < 2; i++)
        if (keys[i][0] && tbl_expr_nested_under(x, keys[i])) {
            sp_err_invalid(e, "Key attributes must be scalars; list random access '[]' and map "
                              "lookup '.' are not allowed: Key: %s", keys[i]);
            return false;
        }
    for (size_t i = 0; m->indexes && i < m->indexes->n; i++) {
        const tbl_index *ix = &m->indexes->ix[i];
        const char *names[2] = {ix->hash_key, ix->range_key};
        for (int r = 0; r < 2; r++)
            if (names[r][0] && tbl_expr_nested_under(x, names[r])) {
                sp_err_invalid(e, "Key attributes must be scalars; list random access '[]' "
                                  "and map lookup '.' are not allowed: IndexKey: %s", names[r]);
                return false;
            }
    }
    return true;
}

/* tbl_write_prepare after the precheck; *norm: the precheck's normalised Item (PUT), taken
 * (set to NULL) when it becomes w->item. */
static bool write_prepare(tbl_db *db, tbl_write_kind kind, const json_t *req,
                          unsigned rv_allowed, tbl_write *w, json_t **norm, sp_err *e)
{
    /* What needs no table comes first, as DynamoDB orders it: a request wrong in itself is a
     * ValidationException even when the table does not exist. */
    if (!tbl_return_values(req, rv_allowed, &w->rv, e) || !tbl_check_rcc(req, e)) return false;
    const char *on_fail = sp_json_str(req, "ReturnValuesOnConditionCheckFailure", false, e);
    if (sp_err_failed(e)) return false;
    if (on_fail && strcmp(on_fail, "ALL_OLD") && strcmp(on_fail, "NONE")) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at "
                          "'returnValuesOnConditionCheckFailure' failed to satisfy constraint: "
                          "Member must satisfy enum value set: [ALL_OLD, NONE]", on_fail);
        return false;
    }
    w->old_on_fail = on_fail && !strcmp(on_fail, "ALL_OLD");
    unsigned kinds = TBL_X_CONDITION | (kind == TBL_W_UPDATE ? TBL_X_UPDATE : 0);
    if (!tbl_req_exprs_parse(req, kinds, &w->x, e)) return false;
    if (kind == TBL_W_CHECK && !w->x.condition) {
        sp_err_invalid(e, "1 validation error detected: Value null at 'conditionExpression' "
                          "failed to satisfy constraint: Member must not be null");
        return false;
    }
    json_t *raw = json_object_get(req, kind == TBL_W_PUT ? "Item" : "Key");
    if (kind == TBL_W_PUT && json_is_object(raw)) {
        if (!*norm) { /* the precheck could not normalise the Item: this says why */
            json_t *item = tbl_av_item_normalize(raw, e);
            size_t size = item ? tbl_item_size(item) : 0;
            json_decref(item);
            if (!item) return false;
            if (size > TBL_ITEM_MAX_BYTES) {
                sp_err_invalid(e, "Item size has exceeded the maximum allowed size");
                return false;
            }
        }
    } else if (!tbl_av_map_check(raw, e)) {
        return false;
    }
    if (!tbl_req_table(db, req, &w->m, e)) return false;
    if (kind == TBL_W_PUT) {
        if (*norm) w->item = tbl_item_prepare_normalized(&w->m, *norm, &w->k, e);
        else w->item = tbl_item_prepare(&w->m, raw, &w->k, e);
        *norm = NULL;
        return w->item != NULL;
    }
    json_t *key = raw;
    if (!tbl_key_prepare(&w->m, key, &w->k, e)) return false;
    if (kind == TBL_W_UPDATE) {
        w->item = tbl_av_item_normalize(key, e);
        if (!w->item) return false;
        if (w->x.update && !update_schema_check(&w->m, w->x.update, e)) return false;
    }
    return true;
}

bool tbl_write_prepare(tbl_db *db, tbl_write_kind kind, const json_t *req, unsigned rv_allowed,
                       tbl_write *w, sp_err *e)
{
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->legacy_update = kind == TBL_W_UPDATE && json_object_get(req, "AttributeUpdates");
    static const tbl_pre_op PRE[] = {[TBL_W_PUT] = TBL_PRE_PUT, [TBL_W_DELETE] = TBL_PRE_DELETE,
                                     [TBL_W_UPDATE] = TBL_PRE_UPDATE};
    /* PUT: the Item as the precheck normalised it (measuring it), not normalised again. */
    json_t *norm = NULL;
    if (kind != TBL_W_CHECK &&
        !tbl_req_precheck_item(req, PRE[kind], kind == TBL_W_PUT ? &norm : NULL, e))
        return false;
    bool ok = write_prepare(db, kind, req, rv_allowed, w, &norm, e);
    json_decref(norm);
    return ok;
}

bool tbl_write_check(tbl_txn *t, tbl_write *w, sp_err *e)
{
    json_decref(w->old_item);
    json_decref(w->new_item);
    free(w->old_text);
    w->old_item = w->new_item = NULL;
    w->old_text = NULL;
    if (!tbl_item_read_text(t->c, &w->m, &w->k, &w->old_item, &w->old_text, &w->old_len, e))
        return false;
    if (!tbl_condition_check(w->x.condition, w->old_item, e)) {
        /* ReturnValuesOnConditionCheckFailure ALL_OLD: the item that failed the condition
         * goes into the error as its Item member (left out if the error cannot carry it). */
        if (w->old_on_fail && w->old_item && !strcmp(e->code, "ConditionalCheckFailedException")) {
            json_t *members = json_pack("{s:O}", "Item", w->old_item);
            sp_err_set_extra(e, members);
            json_decref(members);
        }
        return false;
    }
    switch (w->kind) {
    case TBL_W_PUT:
        w->new_item = json_incref(w->item);
        break;
    case TBL_W_DELETE:
    case TBL_W_CHECK:
        break;
    case TBL_W_UPDATE:
        if (w->x.update) {
            /* A new item starts as its key, which the expression may read (SET b = a). */
            w->new_item = tbl_expr_update(w->x.update, w->old_item ? w->old_item : w->item, e);
            if (!w->new_item) {
                /* AttributeUpdates' ADD/DELETE of the wrong type has its own wording. */
                if (w->legacy_update && strstr(e->msg, "incorrect data type")) {
                    *e = (sp_err){0};
                    sp_err_invalid(e, "Type mismatch for attribute to update");
                }
                return false;
            }
            /* The key attributes are never updated; a new item takes them from Key. */
            json_object_update(w->new_item, w->item);
            /* An index key given a wrong type by the item's own values (SET c = e) is told
             * apart from a wrong type in the request. */
            sp_err why = {0};
            if (w->m.indexes && !tbl_index_check_item(&w->m, w->new_item, &why)) {
                if (strstr(why.msg, "Type mismatch for Index Key"))
                    sp_err_invalid(e, "The update expression attempted to update the secondary "
                                      "index key to unsupported type");
                else
                    *e = why;
                return false;
            }
        } else {
            w->new_item = w->old_item ? json_incref(w->old_item) : json_incref(w->item);
        }
        if (tbl_item_size(w->new_item) > TBL_ITEM_MAX_BYTES) {
            sp_err_invalid(e, "Item size to update has exceeded the maximum allowed size");
            return false;
        }
        break;
    }
    return true;
}

bool tbl_write_apply(tbl_txn *t, tbl_write *w, sp_err *e)
{
    if (w->kind == TBL_W_CHECK) return true;
    return tbl_item_write_text(t, &w->m, &w->k, w->old_item, w->old_text, w->old_len,
                               w->new_item, e);
}

void tbl_write_clear(tbl_write *w)
{
    json_decref(w->item);
    json_decref(w->old_item);
    json_decref(w->new_item);
    free(w->old_text);
    w->old_text = NULL;
    tbl_req_exprs_clear(&w->x);
    w->item = w->old_item = w->new_item = NULL;
}

json_t *tbl_write_returned(const tbl_write *w)
{
    json_t *out = NULL;
    switch (w->rv) {
    case TBL_RV_NONE: break;
    case TBL_RV_ALL_OLD: out = w->old_item ? json_incref(w->old_item) : NULL; break;
    case TBL_RV_ALL_NEW: out = w->new_item ? json_incref(w->new_item) : NULL; break;
    case TBL_RV_UPDATED_OLD:
        out = w->old_item && w->x.update ? tbl_expr_project(w->x.update, w->old_item) : NULL;
        break;
    case TBL_RV_UPDATED_NEW:
        out = w->new_item && w->x.update ? tbl_expr_project(w->x.update, w->new_item) : NULL;
        break;
    }
    if (out && json_object_size(out) == 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* PutItem, UpdateItem and DeleteItem: one write in its own transaction. */
static json_t *single_write(tbl_db *db, tbl_write_kind kind, json_t *req, unsigned rv_allowed,
                            sp_err *e)
{
    tbl_write w;
    tbl_txn t;
    json_t *resp = NULL;
    if (!tbl_write_prepare(db, kind, req, rv_allowed, &w, e)) goto out;
    if (!tbl_txn_begin(db, &t, e)) goto out;
    t.deferrable = true; /* only the response follows the commit */
    if (!tbl_write_check(&t, &w, e) || !tbl_write_apply(&t, &w, e)) {
        tbl_txn_rollback(&t);
        goto out;
    }
    if (!tbl_txn_commit(&t, e)) goto out;
    resp = json_object();
    json_t *attrs = tbl_write_returned(&w);
    if (attrs) json_object_set_new(resp, "Attributes", attrs);
    /* DynamoDB charges the larger of the item before and after the write. */
    size_t nsz = w.new_item ? tbl_item_size(w.new_item) : 0;
    size_t osz = w.old_item ? tbl_item_size(w.old_item) : 0;
    tbl_consumed_capacity(req, resp, w.m.name, tbl_write_units(nsz > osz ? nsz : osz));
out:
    tbl_write_clear(&w);
    return resp;
}

json_t *tbl_op_put_item(void *ctx, json_t *req, sp_err *e)
{
    return single_write(ctx, TBL_W_PUT, req, RV_PUT_DELETE, e);
}

json_t *tbl_op_update_item(void *ctx, json_t *req, sp_err *e)
{
    return single_write(ctx, TBL_W_UPDATE, req, RV_ALL, e);
}

json_t *tbl_op_delete_item(void *ctx, json_t *req, sp_err *e)
{
    return single_write(ctx, TBL_W_DELETE, req, RV_PUT_DELETE, e);
}

json_t *tbl_op_get_item(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    tbl_meta m;
    tbl_key k;
    tbl_req_exprs x;
    json_t *resp = NULL, *item = NULL;
    memset(&x, 0, sizeof x);
    if (!tbl_check_rcc(req, e) || !tbl_req_precheck(req, TBL_PRE_GET, e)) goto out;
    bool consistent = sp_json_bool(req, "ConsistentRead", false, e);
    if (sp_err_failed(e)) goto out;
    if (!tbl_req_exprs_parse(req, TBL_X_PROJECTION, &x, e)) goto out;
    if (!tbl_av_map_check(json_object_get(req, "Key"), e)) goto out;
    if (!tbl_req_table(db, req, &m, e)) goto out;
    if (!tbl_key_prepare(&m, json_object_get(req, "Key"), &k, e)) goto out;
    if (!tbl_key_paths_check(&m, x.projection, e)) goto out;
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) goto out;
    bool ok = tbl_item_read(c, &m, &k, &item, e);
    tbl_conn_put(db, c);
    if (!ok) goto out;
    resp = json_object();
    if (item) json_object_set_new(resp, "Item", tbl_project(x.projection, item));
    tbl_consumed_capacity(req, resp, m.name,
                          tbl_read_units(item ? tbl_item_size(item) : 0, consistent));
out:
    json_decref(item);
    tbl_req_exprs_clear(&x);
    return resp;
}
