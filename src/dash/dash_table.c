/* The table page: the items (a paged Scan, through the DynamoDB operation itself) and the
 * latest records of the table's stream with their old and new images. */
#include "dash_int.h"
#include "table/table.h"

#include <stdlib.h>
#include <string.h>

/* GET api/table?name=T&limit=N&start=<LastEvaluatedKey as JSON>: {"Items", "Count",
 * "LastEvaluatedKey"} as Scan answers. */
void dash_api_table(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX], start[DASH_PARAM_MAX];
    if (!d->src.tables || !dash_param(query, "name", name, sizeof name) || !name[0]) {
        dash_error(resp, 400, "name the table: ?name=");
        return;
    }
    json_t *req = json_pack("{s:s, s:I}", "TableName", name, "Limit",
                            (json_int_t)dash_param_int(query, "limit", 25, DASH_SCAN_PAGE_MAX));
    if (dash_param(query, "start", start, sizeof start) && start[0]) {
        json_t *key = json_loads(start, 0, NULL);
        if (!json_is_object(key)) {
            json_decref(key);
            json_decref(req);
            dash_error(resp, 400, "start is not a key (a JSON object)");
            return;
        }
        json_object_set_new(req, "ExclusiveStartKey", key);
    }
    const sp_op *scan = sp_op_find(tbl_ddb_ops, "Scan", strlen("Scan"));
    sp_err e = {0};
    json_t *out = scan ? scan->fn(d->src.tables, req, &e) : NULL;
    json_decref(req);
    if (!out) {
        dash_error(resp, e.status >= 400 && e.status < 500 ? e.status : 500, e.msg);
        return;
    }
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}

static bool collect_change(void *arg, const tbl_stream_record *rec)
{
    json_t *r = json_loadb(rec->json, rec->json_len, 0, NULL);
    if (r) {
        json_object_set_new(r, "commit_ms", json_integer(rec->created_ms));
        json_array_append_new(arg, r);
    }
    return true;
}

/* GET api/table-changes?name=T&limit=N: the last N stream records, newest first. */
void dash_api_table_changes(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX];
    if (!d->src.tables || !dash_param(query, "name", name, sizeof name) || !name[0]) {
        dash_error(resp, 400, "name the table: ?name=");
        return;
    }
    uint64_t n = (uint64_t)dash_param_int(query, "limit", 20, DASH_RECORDS_MAX);
    uint64_t last = tbl_stream_last_seq(d->src.tables, name);
    json_t *records = json_array();
    sp_err e = {0};
    if (tbl_stream_read(d->src.tables, name, last > n ? last - n : 0, (size_t)n, collect_change,
                        records, &e) < 0) {
        json_decref(records);
        dash_error(resp, e.status == 404 ? 404 : 400, e.msg);
        return;
    }
    json_t *newest_first = json_array();
    for (size_t i = json_array_size(records); i > 0; i--)
        json_array_append(newest_first, json_array_get(records, i - 1));
    json_decref(records);
    json_t *out = json_pack("{s:s, s:I, s:o}", "table", name, "last_seq", (json_int_t)last,
                            "records", newest_first);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}
