/* BatchWriteItem and BatchGetItem. A batch write validates every request first (so bad
 * input writes nothing) and then applies them all in one transaction: salespipe never
 * leaves UnprocessedItems, it always answers with an empty map.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

static bool same_key(const tbl_write *a, const tbl_write *b)
{
    return a->m.tid == b->m.tid && a->k.hk_len == b->k.hk_len && a->k.rk_len == b->k.rk_len &&
           !memcmp(a->k.hk, b->k.hk, a->k.hk_len) && !memcmp(a->k.rk, b->k.rk, a->k.rk_len);
}

static bool check_request_items(const json_t *ri, size_t max, const char *op, size_t *total,
                                sp_err *e)
{
    if (!json_is_object(ri) || json_object_size(ri) == 0) {
        sp_err_invalid(e, "1 validation error detected: Value %s at 'requestItems' failed to "
                          "satisfy constraint: Member must have length greater than or equal "
                          "to 1", ri ? "'{}'" : "null");
        return false;
    }
    *total = 0;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)ri, name, v) {
        if (!tbl_check_table_name(name, "requestItems.key", e)) return false;
        json_t *list = json_is_array(v) ? v : json_object_get(v, "Keys");
        if (!json_is_array(list) || json_array_size(list) == 0) {
            sp_err_invalid(e, "1 validation error detected: Value at 'requestItems.%s.member' "
                              "failed to satisfy constraint: Member must have length greater "
                              "than or equal to 1", name);
            return false;
        }
        *total += json_array_size(list);
    }
    if (*total > max) {
        sp_err_invalid(e, "Too many items requested for the %s call", op);
        return false;
    }
    return true;
}

json_t *tbl_op_batch_write_item(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    json_t *ri = json_object_get(req, "RequestItems");
    size_t total = 0, n = 0;
    if (!tbl_check_rcc(req, e) ||
        !check_request_items(ri, TBL_BATCH_WRITE_MAX, "BatchWriteItem", &total, e))
        return NULL;
    tbl_write *ws = calloc(total, sizeof *ws);
    json_t *resp = NULL;
    const char *name;
    json_t *list;
    json_object_foreach(ri, name, list) {
        if (!json_is_array(list)) {
            sp_err_invalid(e, "1 validation error detected: Value at 'requestItems.%s' failed "
                              "to satisfy constraint: Member must be a list", name);
            goto out;
        }
        size_t i;
        json_t *wr;
        json_array_foreach(list, i, wr) {
            json_t *put = json_object_get(wr, "PutRequest");
            json_t *del = json_object_get(wr, "DeleteRequest");
            if (!json_is_object(wr) || (!put == !del) || json_object_size(wr) != 1) {
                sp_err_invalid(e, "1 validation error detected: Value at "
                                  "'requestItems.%s.member.%zu.member' failed to satisfy "
                                  "constraint: WriteRequest must have exactly one of "
                                  "PutRequest or DeleteRequest", name, i + 1);
                goto out;
            }
            json_t *one = json_pack("{s:s, s:O}", "TableName", name, put ? "Item" : "Key",
                                    put ? json_object_get(put, "Item")
                                        : json_object_get(del, "Key"));
            if (!one) {
                sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to "
                                  "satisfy constraint: Member must not be null",
                               put ? "item" : "key");
                goto out;
            }
            bool ok = tbl_write_prepare(db, put ? TBL_W_PUT : TBL_W_DELETE, one, 1, &ws[n++], e);
            json_decref(one);
            if (!ok) goto out;
            for (size_t j = 0; j + 1 < n; j++)
                if (same_key(&ws[j], &ws[n - 1])) {
                    sp_err_invalid(e, "Provided list of item keys contains duplicates");
                    goto out;
                }
        }
    }
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) goto out;
    t.deferrable = true; /* only the response follows the commit */
    for (size_t i = 0; i < n; i++)
        if (!tbl_write_check(&t, &ws[i], e) || !tbl_write_apply(&t, &ws[i], e)) {
            tbl_txn_rollback(&t);
            goto out;
        }
    if (!tbl_txn_commit(&t, e)) goto out;
    resp = json_pack("{s:{}}", "UnprocessedItems");
    const char *rcc = json_string_value(json_object_get(req, "ReturnConsumedCapacity"));
    if (rcc && strcmp(rcc, "NONE")) {
        json_t *cc = json_array();
        json_object_foreach(ri, name, list) {
            double units = 0;
            for (size_t i = 0; i < n; i++)
                if (!strcmp(ws[i].m.name, name))
                    units += tbl_write_units(tbl_item_size(ws[i].item ? ws[i].item
                                                                      : ws[i].old_item));
            json_array_append_new(cc, tbl_capacity_entry(req, name, units));
        }
        json_object_set_new(resp, "ConsumedCapacity", cc);
    }
out:
    for (size_t i = 0; i < n; i++) tbl_write_clear(&ws[i]);
    free(ws);
    return resp;
}

json_t *tbl_op_batch_get_item(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    json_t *ri = json_object_get(req, "RequestItems");
    size_t total = 0;
    if (!tbl_check_rcc(req, e) ||
        !check_request_items(ri, TBL_BATCH_GET_MAX, "BatchGetItem", &total, e))
        return NULL;
    json_t *responses = json_object();
    tbl_conn *c = NULL;
    tbl_key *keys = calloc(total, sizeof *keys);
    const char *name;
    json_t *spec;
    /* Validate everything before reading anything, what needs no table first. */
    json_object_foreach(ri, name, spec) {
        if (!json_is_object(spec)) continue;
        tbl_req_exprs x;
        memset(&x, 0, sizeof x);
        bool ok = tbl_req_precheck(spec, TBL_PRE_GET, e) &&
                  tbl_req_exprs_parse(spec, TBL_X_PROJECTION, &x, e);
        tbl_req_exprs_clear(&x);
        const json_t *list = json_object_get(spec, "Keys");
        for (size_t i = 0; ok && i < json_array_size(list); i++) {
            const json_t *key = json_array_get(list, i);
            const char *attr;
            json_t *v;
            json_object_foreach((json_t *)key, attr, v) if (ok && !tbl_pre_av(v, e)) ok = false;
            for (size_t j = 0; ok && j < i; j++)
                if (json_equal((json_t *)key, json_array_get(list, j))) {
                    sp_err_invalid(e, "Provided list of item keys contains duplicates");
                    ok = false;
                }
        }
        if (!ok) goto fail;
    }
    size_t at = 0;
    json_object_foreach(ri, name, spec) {
        tbl_meta m;
        json_t *obj = json_pack("{s:s}", "TableName", name);
        bool ok = tbl_req_table(db, obj, &m, e);
        json_decref(obj);
        if (!ok) goto fail;
        if (!json_is_object(spec)) {
            sp_err_invalid(e, "1 validation error detected: Value at 'requestItems.%s' failed "
                              "to satisfy constraint: Member must be a KeysAndAttributes", name);
            goto fail;
        }
        sp_json_bool(spec, "ConsistentRead", false, e);
        if (sp_err_failed(e)) goto fail;
        size_t first = at, i;
        json_t *key;
        json_array_foreach(json_object_get(spec, "Keys"), i, key) {
            if (!tbl_key_prepare(&m, key, &keys[at], e)) goto fail;
            for (size_t j = first; j < at; j++)
                if (keys[j].hk_len == keys[at].hk_len && keys[j].rk_len == keys[at].rk_len &&
                    !memcmp(keys[j].hk, keys[at].hk, keys[at].hk_len) &&
                    !memcmp(keys[j].rk, keys[at].rk, keys[at].rk_len)) {
                    sp_err_invalid(e, "Provided list of item keys contains duplicates");
                    goto fail;
                }
            at++;
        }
    }
    c = tbl_conn_get(db, e);
    if (!c) goto fail;
    at = 0;
    json_t *cc = json_array();
    json_object_foreach(ri, name, spec) {
        tbl_meta m;
        tbl_req_exprs x;
        memset(&x, 0, sizeof x);
        if (!tbl_meta_get(db, name, &m, false, e) ||
            !tbl_req_exprs_parse(spec, TBL_X_PROJECTION, &x, e)) {
            if (!sp_err_failed(e)) sp_err_internal(e, "BatchGetItem: table vanished");
            tbl_req_exprs_clear(&x);
            json_decref(cc);
            goto fail;
        }
        json_t *items = json_array();
        bool consistent = json_is_true(json_object_get(spec, "ConsistentRead"));
        double units = 0; /* each key is charged on its own, a missing item as a small one */
        for (size_t i = 0; i < json_array_size(json_object_get(spec, "Keys")); i++) {
            json_t *item = NULL;
            if (!tbl_item_read(c, &m, &keys[at++], &item, e)) {
                json_decref(items);
                json_decref(cc);
                tbl_req_exprs_clear(&x);
                goto fail;
            }
            units += tbl_read_units(item ? tbl_item_size(item) : 0, consistent);
            if (item) {
                json_array_append_new(items, tbl_project(x.projection, item));
                json_decref(item);
            }
        }
        tbl_req_exprs_clear(&x);
        json_object_set_new(responses, name, items);
        json_t *entry = tbl_capacity_entry(req, name, units);
        if (entry) json_array_append_new(cc, entry);
    }
    tbl_conn_put(db, c);
    free(keys);
    json_t *resp = json_pack("{s:o, s:{}}", "Responses", responses, "UnprocessedKeys");
    const char *rcc = json_string_value(json_object_get(req, "ReturnConsumedCapacity"));
    if (rcc && strcmp(rcc, "NONE")) json_object_set_new(resp, "ConsumedCapacity", cc);
    else json_decref(cc);
    return resp;
fail:
    tbl_conn_put(db, c);
    free(keys);
    json_decref(responses);
    return NULL;
}
