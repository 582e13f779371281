/* Request pieces shared by the item operations: the expressions of a request (parsed once,
 * with the unused-name/value check), conditions, ReturnValues, ConsumedCapacity and
 * projections, plus the operation tables the API layer dispatches on.
 */
#include "tbl_ops.h"

#include <math.h>
#include <string.h>

/* Units DynamoDB charges: a write per started KB, a strongly consistent read per 4 KB. */
enum { TBL_WRITE_UNIT_BYTES = 1024, TBL_READ_UNIT_BYTES = 4096 };

static const struct {
    unsigned kind_bit;
    tbl_expr_kind kind;
    const char *member;
    size_t offset;
} EXPR_MEMBERS[] = {
    /* DynamoDB's order: the first expression that is wrong is the one reported. */
    {TBL_X_UPDATE, TBL_EXPR_UPDATE, "UpdateExpression", offsetof(tbl_req_exprs, update)},
    {TBL_X_CONDITION, TBL_EXPR_CONDITION, "ConditionExpression",
     offsetof(tbl_req_exprs, condition)},
    {TBL_X_KEY_CONDITION, TBL_EXPR_KEY_CONDITION, "KeyConditionExpression",
     offsetof(tbl_req_exprs, key_condition)},
    {TBL_X_FILTER, TBL_EXPR_FILTER, "FilterExpression", offsetof(tbl_req_exprs, filter)},
    {TBL_X_PROJECTION, TBL_EXPR_PROJECTION, "ProjectionExpression",
     offsetof(tbl_req_exprs, projection)},
};

bool tbl_req_exprs_parse(const json_t *req, unsigned kinds, tbl_req_exprs *x, sp_err *e)
{
    memset(x, 0, sizeof *x);
    tbl_expr_usage_init(&x->usage);
    /* The legacy parameters (Expected, AttributesToGet, ...) become expressions first. */
    unsigned from_legacy = 0;
    if (tbl_legacy_exprs(req, kinds, x, &from_legacy, e) < 0) return false;
    json_t *names = sp_json_object(req, "ExpressionAttributeNames", false, e);
    json_t *values = sp_json_object(req, "ExpressionAttributeValues", false, e);
    if (sp_err_failed(e) || !tbl_expr_check_maps(names, values, e)) return false;
    bool any = false;
    for (size_t i = 0; i < SP_ARRAY_LEN(EXPR_MEMBERS); i++) {
        if (!(kinds & EXPR_MEMBERS[i].kind_bit) || (from_legacy & EXPR_MEMBERS[i].kind_bit))
            continue;
        const char *text = sp_json_str(req, EXPR_MEMBERS[i].member, false, e);
        if (sp_err_failed(e)) return false;
        if (!text) continue;
        any = true;
        tbl_expr *p = tbl_expr_parse(EXPR_MEMBERS[i].kind, text, names, values, &x->usage, e);
        if (!p) return false;
        *(tbl_expr **)((char *)x + EXPR_MEMBERS[i].offset) = p;
    }
    if (!any && (names || values)) {
        sp_err_invalid(e, "%s can only be specified when using expressions",
                       names ? "ExpressionAttributeNames" : "ExpressionAttributeValues");
        return false;
    }
    return tbl_expr_check_unused(&x->usage, names, values, e) &&
           (!x->key_condition || tbl_expr_key_check(x->key_condition, e));
}

void tbl_req_exprs_clear(tbl_req_exprs *x)
{
    tbl_expr_free(x->condition);
    tbl_expr_free(x->update);
    tbl_expr_free(x->projection);
    tbl_expr_free(x->filter);
    tbl_expr_free(x->key_condition);
    tbl_expr_usage_clear(&x->usage);
    memset(x, 0, sizeof *x);
}

bool tbl_condition_check(const tbl_expr *cond, const json_t *item, sp_err *e)
{
    if (!cond) return true;
    bool ok = false;
    if (!tbl_expr_eval(cond, item, &ok, e)) return false;
    if (!ok) sp_err_set(e, 400, "ConditionalCheckFailedException",
                        "The conditional request failed");
    return ok;
}

static const char *const RV_NAMES[] = {
    [TBL_RV_NONE] = "NONE", [TBL_RV_ALL_OLD] = "ALL_OLD", [TBL_RV_UPDATED_OLD] = "UPDATED_OLD",
    [TBL_RV_ALL_NEW] = "ALL_NEW", [TBL_RV_UPDATED_NEW] = "UPDATED_NEW",
};

bool tbl_return_values(const json_t *req, unsigned allowed, tbl_rv *out, sp_err *e)
{
    *out = TBL_RV_NONE;
    const char *s = sp_json_str(req, "ReturnValues", false, e);
    if (sp_err_failed(e)) return false;
    if (!s) return true;
    for (size_t i = 0; i < SP_ARRAY_LEN(RV_NAMES); i++)
        if (!strcmp(s, RV_NAMES[i])) {
            if (!(allowed & (1u << i))) {
                sp_err_invalid(e, "ReturnValues can only be ALL_OLD or NONE");
                return false;
            }
            *out = (tbl_rv)i;
            return true;
        }
    sp_err_invalid(e, "1 validation error detected: Value '%s' at 'returnValues' failed to "
                      "satisfy constraint: Member must satisfy enum value set: [ALL_NEW, "
                      "UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]", s);
    return false;
}

json_t *tbl_capacity_entry(const json_t *req, const char *table, double units)
{
    const char *rcc = json_string_value(json_object_get(req, "ReturnConsumedCapacity"));
    if (!rcc || !strcmp(rcc, "NONE")) return NULL;
    json_t *cc = json_pack("{s:s, s:f}", "TableName", table, "CapacityUnits", units);
    /* INDEXES breaks the total down; what the base table consumed is under "Table". */
    if (!strcmp(rcc, "INDEXES"))
        json_object_set_new(cc, "Table", json_pack("{s:f}", "CapacityUnits", units));
    return cc;
}

void tbl_consumed_capacity(const json_t *req, json_t *resp, const char *table, double units)
{
    json_t *cc = tbl_capacity_entry(req, table, units);
    if (cc) json_object_set_new(resp, "ConsumedCapacity", cc);
}

void tbl_consumed_capacity_index(const json_t *req, json_t *resp, const char *table,
                                 double table_units, const char *index, bool global,
                                 double index_units)
{
    json_t *cc = tbl_capacity_entry(req, table, table_units + index_units);
    if (!cc) return;
    json_t *t = json_object_get(cc, "Table");
    if (t) {
        /* INDEXES: the base table's share (items fetched for the index) and the index's. */
        json_object_set_new(t, "CapacityUnits", json_real(table_units));
        json_object_set_new(cc, global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes",
                            json_pack("{s:{s:f}}", index, "CapacityUnits", index_units));
    }
    json_object_set_new(resp, "ConsumedCapacity", cc);
}

double tbl_write_units(size_t bytes)
{
    double u = ceil((double)bytes / TBL_WRITE_UNIT_BYTES);
    return u < 1 ? 1 : u;
}

double tbl_read_units_of(size_t bytes, bool consistent)
{
    double u = ceil((double)bytes / TBL_READ_UNIT_BYTES);
    return consistent ? u : u / 2;
}

double tbl_read_units(size_t bytes, bool consistent)
{
    double u = ceil((double)bytes / TBL_READ_UNIT_BYTES);
    if (u < 1) u = 1;
    return consistent ? u : u / 2;
}

bool tbl_check_rcc(const json_t *req, sp_err *e)
{
    const char *rcc = sp_json_str(req, "ReturnConsumedCapacity", false, e);
    if (sp_err_failed(e)) return false;
    if (rcc && strcmp(rcc, "NONE") && strcmp(rcc, "TOTAL") && strcmp(rcc, "INDEXES")) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at 'returnConsumedCapacity' "
                          "failed to satisfy constraint: Member must satisfy enum value set: "
                          "[INDEXES, TOTAL, NONE]", rcc);
        return false;
    }
    return true;
}

json_t *tbl_project(const tbl_expr *proj, const json_t *item)
{
    if (!proj) return json_incref((json_t *)item);
    return tbl_expr_project(proj, item);
}

const sp_op tbl_ddb_ops[] = {
    {"CreateTable", tbl_op_create_table},
    {"DescribeTable", tbl_op_describe_table},
    {"ListTables", tbl_op_list_tables},
    {"UpdateTable", tbl_op_update_table},
    {"DeleteTable", tbl_op_delete_table},
    {"PutItem", tbl_op_put_item},
    {"GetItem", tbl_op_get_item},
    {"UpdateItem", tbl_op_update_item},
    {"DeleteItem", tbl_op_delete_item},
    {"BatchWriteItem", tbl_op_batch_write_item},
    {"BatchGetItem", tbl_op_batch_get_item},
    {"Query", tbl_op_query},
    {"Scan", tbl_op_scan},
    {"TransactWriteItems", tbl_op_transact_write_items},
    {"TransactGetItems", tbl_op_transact_get_items},
    {"TagResource", tbl_op_tag_resource},
    {"UntagResource", tbl_op_untag_resource},
    {"ListTagsOfResource", tbl_op_list_tags_of_resource},
    {"UpdateTimeToLive", tbl_op_update_time_to_live},
    {"DescribeTimeToLive", tbl_op_describe_time_to_live},
    {NULL, NULL},
};

const sp_op tbl_streams_ops[] = {
    {"ListStreams", tbl_op_list_streams},
    {"DescribeStream", tbl_op_describe_stream},
    {"GetShardIterator", tbl_op_get_shard_iterator},
    {"GetRecords", tbl_op_get_records},
    {NULL, NULL},
};
