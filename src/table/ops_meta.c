/* Tags (TagResource, UntagResource, ListTagsOfResource) and Time to Live (UpdateTimeToLive,
 * DescribeTimeToLive): settings kept in the table's stored definition (its `extra` JSON, not
 * shown by DescribeTable), checked and answered as DynamoDB does. The TTL attribute also goes
 * into the metadata cache, where the sweeper (ttl.c) reads it.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

enum { TBL_TAGS_MAX = 50 };   /* DynamoDB: 50 tags per resource */

/* The table an ARN names, checked in DynamoDB's order: present; any six-part ARN shape, else
 * access denied; the list to change present (TagResource, UntagResource); a DynamoDB table
 * ARN; the list not empty; then the table must exist. */
static bool arn_table(tbl_db *db, const json_t *req, const char *op, tbl_meta *m, sp_err *e)
{
    const char *arn = json_string_value(json_object_get(req, "ResourceArn"));
    if (!arn) {
        sp_err_invalid(e, "Invalid TableArn");
        return false;
    }
    const char *slash = strchr(arn, '/');
    int colons = 0;
    for (const char *p = arn; slash && p < slash; p++) colons += *p == ':';
    if (!slash || colons < 5 || !slash[1]) {
        sp_err_set(e, 400, "AccessDeniedException", "User: arn:aws:iam::" TBL_ACCOUNT
                   ":salespipe is not authorized to perform: dynamodb:%s on resource: %s", op,
                   arn[0] ? arn : "*");
        return false;
    }
    /* The list to change (Tags, TagKeys) is required, but named only after the ARN's
     * shape, and refused empty before the table is looked up. */
    bool tag = !strcmp(op, "TagResource"), untag = !strcmp(op, "UntagResource");
    const json_t *list = tag ? json_object_get(req, "Tags")
                             : untag ? json_object_get(req, "TagKeys") : NULL;
    if ((tag || untag) && !json_is_array(list)) {
        sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to satisfy "
                          "constraint: Member must not be null", tag ? "tags" : "tagKeys");
        return false;
    }
    size_t prefix = strlen("arn:aws:dynamodb:");
    const char *table = strstr(arn, ":table/");
    if (strncmp(arn, "arn:aws:dynamodb:", prefix) || !table || strchr(table + 7, '/') ||
        strlen(table + 7) < TBL_NAME_MIN) {
        sp_err_invalid(e, "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
        return false;
    }
    if ((tag || untag) && !json_array_size(list)) {
        sp_err_invalid(e, tag ? "Atleast one Tag needs to be provided as Input."
                              : "Atleast one Tag Key needs to be provided as Input.");
        return false;
    }
    sp_err ignore = {0};
    if (!tbl_meta_get(db, table + 7, m, true, &ignore)) {
        /* UntagResource alone does not name the ARN. */
        if (untag)
            sp_err_set(e, 400, "ResourceNotFoundException", "Requested resource not found");
        else
            sp_err_set(e, 400, "ResourceNotFoundException",
                       "Requested resource not found: ResourcArn: %s not found", arn);
        return false;
    }
    return true;
}

/* The table's stored definition (new reference) or NULL with e set. */
static json_t *extra_get(tbl_db *db, const tbl_meta *m, sp_err *e)
{
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) return NULL;
    sqlite3_stmt *st = NULL;
    json_t *d = NULL;
    if (sqlite3_prepare_v2(c->sql, "SELECT extra FROM tables WHERE tid=?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, m->tid);
        if (sqlite3_step(st) == SQLITE_ROW)
            d = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    }
    sqlite3_finalize(st);
    tbl_conn_put(db, c);
    if (!json_is_object(d)) {
        json_decref(d);
        sp_err_internal(e, "the definition of table %s cannot be read", m->name);
        return NULL;
    }
    return d;
}

/* Stores member (a new value, reference taken) in the table's definition. */
static bool extra_set(tbl_db *db, const tbl_meta *m, const char *member, json_t *value, sp_err *e)
{
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) {
        json_decref(value);
        return false;
    }
    char path[64];
    snprintf(path, sizeof path, "$.%s", member);
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    sqlite3_stmt *st = NULL;
    bool ok = text && sqlite3_prepare_v2(t.c->sql, "UPDATE tables SET extra=json_set(extra, ?1,"
                                                   " json(?2)) WHERE tid=?3", -1, &st,
                                         NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, m->tid);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok) tbl_sql_err(t.c, "updating a table's settings", e);
    sqlite3_finalize(st);
    free(text);
    if (!ok) {
        tbl_txn_rollback(&t);
        return false;
    }
    return tbl_txn_commit(&t, e);
}

json_t *tbl_op_tag_resource(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    if (!arn_table(ctx, req, "TagResource", &m, e)) return NULL;
    json_t *tags = json_object_get(req, "Tags");
    json_t *d = extra_get(ctx, &m, e);
    if (!d) return NULL;
    json_t *have = json_object_get(d, "Tags");
    json_t *merged = json_is_object(have) ? json_deep_copy(have) : json_object();
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag) {
        const char *k = json_string_value(json_object_get(tag, "Key"));
        const char *v = json_string_value(json_object_get(tag, "Value"));
        if (!k || !v) {
            sp_err_invalid(e, "1 validation error detected: Value null at 'tags.%zu.member.%s' "
                              "failed to satisfy constraint: Member must not be null", i + 1,
                           k ? "value" : "key");
            break;
        }
        json_object_set_new(merged, k, json_string(v));
    }
    if (!sp_err_failed(e) && json_object_size(merged) > TBL_TAGS_MAX)
        sp_err_set(e, 400, "LimitExceededException", "The number of tags for table %s exceeds "
                   "the limit of %d", m.name, TBL_TAGS_MAX);
    json_decref(d);
    if (sp_err_failed(e)) {
        json_decref(merged);
        return NULL;
    }
    return extra_set(ctx, &m, "Tags", merged, e) ? json_object() : NULL;
}

json_t *tbl_op_untag_resource(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    if (!arn_table(ctx, req, "UntagResource", &m, e)) return NULL;
    json_t *keys = json_object_get(req, "TagKeys");
    json_t *d = extra_get(ctx, &m, e);
    if (!d) return NULL;
    json_t *have = json_object_get(d, "Tags");
    json_t *left = json_is_object(have) ? json_deep_copy(have) : json_object();
    json_decref(d);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        if (json_string_value(k)) json_object_del(left, json_string_value(k));
    return extra_set(ctx, &m, "Tags", left, e) ? json_object() : NULL;
}

json_t *tbl_op_list_tags_of_resource(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    if (!arn_table(ctx, req, "ListTagsOfResource", &m, e)) return NULL;
    json_t *d = extra_get(ctx, &m, e);
    if (!d) return NULL;
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(d, "Tags"), k, v)
        json_array_append_new(out, json_pack("{s:s, s:O}", "Key", k, "Value", v));
    json_decref(d);
    return json_pack("{s:o}", "Tags", out);
}

/* The TTL operations are control plane: a missing table is named in the answer. */
static bool ttl_table(tbl_db *db, const json_t *req, tbl_meta *m, sp_err *e)
{
    const char *name = sp_json_str(req, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return false;
    return tbl_meta_get(db, name, m, true, e);
}

json_t *tbl_op_update_time_to_live(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    if (!ttl_table(ctx, req, &m, e)) return NULL;
    json_t *spec = json_object_get(req, "TimeToLiveSpecification");
    json_t *enabled = json_object_get(spec, "Enabled");
    const char *attr = json_string_value(json_object_get(spec, "AttributeName"));
    if (!json_is_object(spec) || !json_is_boolean(enabled) || !attr || !*attr ||
        strlen(attr) > TBL_ATTR_NAME_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value null at "
                          "'timeToLiveSpecification%s' failed to satisfy constraint: Member must "
                          "not be null", !json_is_object(spec) ? ""
                                         : !json_is_boolean(enabled) ? ".enabled"
                                                                     : ".attributeName");
        return NULL;
    }
    bool on = json_is_true(enabled);
    if (on && m.ttl_attr[0]) {
        sp_err_invalid(e, "TimeToLive is already enabled");
        return NULL;
    }
    if (!on && !m.ttl_attr[0]) {
        sp_err_invalid(e, "TimeToLive is already disabled");
        return NULL;
    }
    if (!on && strcmp(attr, m.ttl_attr)) {
        sp_err_invalid(e, "TimeToLive is active on a different AttributeName: current "
                          "AttributeName is %s", m.ttl_attr);
        return NULL;
    }
    json_t *desc = on ? json_pack("{s:s, s:s}", "TimeToLiveStatus", "ENABLED", "AttributeName",
                                  attr)
                      : json_pack("{s:s}", "TimeToLiveStatus", "DISABLED");
    if (!extra_set(ctx, &m, "TimeToLiveDescription", desc, e)) return NULL;
    tbl_meta_set_ttl(ctx, m.name, on ? attr : "");
    return json_pack("{s:{s:b, s:s}}", "TimeToLiveSpecification", "Enabled", on,
                     "AttributeName", attr);
}

json_t *tbl_op_describe_time_to_live(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    if (!ttl_table(ctx, req, &m, e)) return NULL;
    if (!m.ttl_attr[0])
        return json_pack("{s:{s:s}}", "TimeToLiveDescription", "TimeToLiveStatus", "DISABLED");
    return json_pack("{s:{s:s, s:s}}", "TimeToLiveDescription", "TimeToLiveStatus", "ENABLED",
                     "AttributeName", m.ttl_attr);
}
