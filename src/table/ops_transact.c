/* TransactWriteItems and TransactGetItems. A write transaction validates every action,
 * then (under the writer lock, in one SQLite transaction) checks every condition before
 * writing anything: if any fails, nothing is written and the answer is
 * TransactionCanceledException listing a reason per action in request order.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *member;
    tbl_write_kind kind;
} ACTIONS[] = {
    {"Put", TBL_W_PUT}, {"Update", TBL_W_UPDATE}, {"Delete", TBL_W_DELETE},
    {"ConditionCheck", TBL_W_CHECK},
};

static bool check_items(const json_t *list, const char *member, sp_err *e)
{
    if (!json_is_array(list)) {
        sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to satisfy "
                          "constraint: Member must not be null", member);
        return false;
    }
    size_t n = json_array_size(list);
    if (n < 1 || n > TBL_TRANSACT_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '[...]' at '%s' failed to "
                          "satisfy constraint: Member must have length %s", member,
                       n < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return false;
    }
    return true;
}

json_t *tbl_op_transact_write_items(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    json_t *list = json_object_get(req, "TransactItems");
    if (!tbl_check_rcc(req, e) || !check_items(list, "transactItems", e)) return NULL;
    const char *token = sp_json_str(req, "ClientRequestToken", false, e);
    if (sp_err_failed(e)) return NULL;
    (void)token;
    size_t n = json_array_size(list);
    tbl_write *ws = calloc(n, sizeof *ws);
    size_t prepared = 0;
    json_t *resp = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(list, i);
        const json_t *body = NULL;
        tbl_write_kind kind = TBL_W_PUT;
        for (size_t a = 0; a < SP_ARRAY_LEN(ACTIONS); a++)
            if (json_object_get(el, ACTIONS[a].member)) {
                body = json_object_get(el, ACTIONS[a].member);
                kind = ACTIONS[a].kind;
            }
        if (!json_is_object(el) || json_object_size(el) != 1 || !json_is_object(body)) {
            sp_err_invalid(e, "1 validation error detected: Value at 'transactItems.%zu.member' "
                              "failed to satisfy constraint: TransactWriteItem must have "
                              "exactly one of Put, Update, Delete or ConditionCheck", i + 1);
            goto out;
        }
        bool ok = tbl_write_prepare(db, kind, body, 1, &ws[prepared++], e);
        if (!ok) goto out;
        for (size_t j = 0; j + 1 < prepared; j++)
            if (ws[j].m.tid == ws[i].m.tid && ws[j].k.hk_len == ws[i].k.hk_len &&
                ws[j].k.rk_len == ws[i].k.rk_len &&
                !memcmp(ws[j].k.hk, ws[i].k.hk, ws[i].k.hk_len) &&
                !memcmp(ws[j].k.rk, ws[i].k.rk, ws[i].k.rk_len)) {
                sp_err_invalid(e, "Transaction request cannot include multiple operations on "
                                  "one item");
                goto out;
            }
    }
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) goto out;
    t.deferrable = true; /* only the response follows the commit */
    sp_str reasons;
    char reasons_buf[512];
    sp_str_init(&reasons, reasons_buf, sizeof reasons_buf, SP_ERR_MSG_MAX);
    bool failed = false;
    json_t *reason_list = json_array();
    for (size_t i = 0; i < n; i++) {
        sp_err ce = {0};
        bool ok = tbl_write_check(&t, &ws[i], &ce);
        if (!ok && strcmp(ce.code, "ConditionalCheckFailedException")) {
            *e = ce; /* validation or internal failure: the whole request fails */
            tbl_txn_rollback(&t);
            sp_str_release(&reasons);
            json_decref(reason_list);
            goto out;
        }
        failed |= !ok;
        sp_str_appendf(&reasons, "%s%s", i ? ", " : "", ok ? "None" : "ConditionalCheckFailed");
        json_t *reason = ok ? json_pack("{s:s}", "Code", "None")
                            : json_pack("{s:s, s:s}", "Code", "ConditionalCheckFailed",
                                        "Message", "The conditional request failed");
        /* ReturnValuesOnConditionCheckFailure ALL_OLD on this element: its item. */
        if (!ok && ws[i].old_on_fail && ws[i].old_item)
            json_object_set(reason, "Item", ws[i].old_item);
        json_array_append_new(reason_list, reason);
    }
    if (failed) {
        tbl_txn_rollback(&t);
        sp_err_set(e, 400, "TransactionCanceledException",
                   "Transaction cancelled, please refer cancellation reasons for specific "
                   "reasons [%s]", reasons.buf);
        /* boto3 reads them from the error body (e.response["CancellationReasons"]). */
        json_t *extra = json_pack("{s:o}", "CancellationReasons", reason_list);
        if (!sp_err_set_extra(e, extra)) {
            /* Too big with the items: the reasons without them. */
            size_t j;
            json_t *r;
            json_array_foreach(reason_list, j, r) json_object_del(r, "Item");
            sp_err_set_extra(e, extra);
        }
        json_decref(extra);
        sp_str_release(&reasons);
        goto out;
    }
    json_decref(reason_list);
    sp_str_release(&reasons);
    for (size_t i = 0; i < n; i++)
        if (!tbl_write_apply(&t, &ws[i], e)) {
            tbl_txn_rollback(&t);
            goto out;
        }
    if (!tbl_txn_commit(&t, e)) goto out;
    resp = json_object();
    const char *rcc = json_string_value(json_object_get(req, "ReturnConsumedCapacity"));
    if (rcc && strcmp(rcc, "NONE")) {
        json_t *cc = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(cc, json_pack("{s:s, s:f}", "TableName", ws[i].m.name,
                                                "CapacityUnits", 2.0));
        json_object_set_new(resp, "ConsumedCapacity", cc);
    }
out:
    for (size_t i = 0; i < prepared; i++) tbl_write_clear(&ws[i]);
    free(ws);
    return resp;
}

json_t *tbl_op_transact_get_items(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    json_t *list = json_object_get(req, "TransactItems");
    if (!tbl_check_rcc(req, e) || !check_items(list, "transactItems", e)) return NULL;
    size_t n = json_array_size(list);
    tbl_meta *ms = calloc(n, sizeof *ms);
    tbl_key *ks = calloc(n, sizeof *ks);
    tbl_req_exprs *xs = calloc(n, sizeof *xs);
    json_t *responses = json_array(), *resp = NULL;
    size_t parsed = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *get = json_object_get(json_array_get(list, i), "Get");
        if (!json_is_object(get)) {
            sp_err_invalid(e, "1 validation error detected: Value null at "
                              "'transactItems.%zu.member.get' failed to satisfy constraint: "
                              "Member must not be null", i + 1);
            goto out;
        }
        parsed++;
        if (!tbl_req_table(db, get, &ms[i], e)) goto out;
        if (!tbl_req_exprs_parse(get, TBL_X_PROJECTION, &xs[i], e) ||
            !tbl_key_prepare(&ms[i], json_object_get(get, "Key"), &ks[i], e))
            goto out;
    }
    /* A read transaction gives every Get the same snapshot. */
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) goto out;
    sqlite3_exec(c->sql, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        json_t *item = NULL;
        if (!tbl_item_read(c, &ms[i], &ks[i], &item, e)) break;
        json_t *r = json_object();
        if (item) json_object_set_new(r, "Item", tbl_project(xs[i].projection, item));
        json_decref(item);
        json_array_append_new(responses, r);
    }
    sqlite3_exec(c->sql, "COMMIT", NULL, NULL, NULL);
    tbl_conn_put(db, c);
    if (sp_err_failed(e)) goto out;
    resp = json_pack("{s:O}", "Responses", responses);
out:
    for (size_t i = 0; i < parsed; i++) tbl_req_exprs_clear(&xs[i]);
    json_decref(responses);
    free(ms);
    free(ks);
    free(xs);
    return resp;
}
