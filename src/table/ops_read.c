/* Query and Scan over the items index, or over a secondary index's entries (IndexName),
 * joined with the items they point at. Both read pages of at most Limit evaluated items and
 * 1 MB, apply FilterExpression after the Limit (as DynamoDB does), and resume after
 * ExclusiveStartKey. Query turns its key condition into one half-open byte range
 * lo <= rk < hi on the encoded range key, so every variant (=, <, <=, >, >=, BETWEEN,
 * begins_with, either direction) is one prepared index range scan: the successor of a key
 * v in byte order is v||0x00, and "no upper bound" is a run of 0xFF longer than any key.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

enum { TBL_BOUND_MAX = TBL_RANGE_KEY_MAX_BYTES + 66 };

typedef struct bound {
    unsigned char b[TBL_BOUND_MAX];
    size_t len;
} bound;

static void bound_inf(bound *x)
{
    memset(x->b, 0xff, sizeof x->b);
    x->len = sizeof x->b;
}

/* x = successor of v (v||0x00). */
static void bound_after(bound *x, const unsigned char *v, size_t n)
{
    memcpy(x->b, v, n);
    x->b[n] = 0;
    x->len = n + 1;
}

static void bound_at(bound *x, const unsigned char *v, size_t n)
{
    memcpy(x->b, v, n);
    x->len = n;
}

static int bound_cmp(const bound *a, const bound *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->b, b->b, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The request parts Query and Scan share. */
typedef struct read_req {
    tbl_meta m;
    tbl_req_exprs x;
    long long limit;
    bool count_only, consistent;
    bool has_start;
    tbl_key start;
    /* The key schema read: the table's, or the index's when IndexName is given. */
    const tbl_index *ix;
    const char *hash_key, *range_key;
    char hash_type, range_type;
    bool full_items;                    /* index: return whole items, not the projection */
    unsigned char start_ihk[TBL_HASH_KEY_MAX_BYTES + 64];
    unsigned char start_irk[TBL_RANGE_KEY_MAX_BYTES + 64];
    size_t start_ihk_len, start_irk_len;
} read_req;

/* An index's ExclusiveStartKey, first its shape: as many attributes as the table's and the
 * index's keys name, the index's key attributes present and typed as the index has them
 * (DynamoDB reports a wrong type here without the "starting key" prefix). */
static bool index_start_shape(const read_req *r, const json_t *esk, sp_err *e)
{
    size_t want = 1 + (r->m.range_key[0] != 0);
    for (size_t i = 0; i < 2; i++) {
        const char *n = i ? r->ix->range_key : r->ix->hash_key;
        if (n[0] && strcmp(n, r->m.hash_key) && strcmp(n, r->m.range_key)) want++;
    }
    if (json_object_size(esk) != want) {
        sp_err_invalid(e, "The provided starting key is invalid");
        return false;
    }
    for (size_t i = 0; i < 2; i++) {
        const char *n = i ? r->ix->range_key : r->ix->hash_key;
        char t[2] = {i ? r->ix->range_type : r->ix->hash_type, 0};
        if (!n[0]) continue;
        const json_t *part = json_object_get(esk, n);
        if (!part) {
            sp_err_invalid(e, "The provided starting key is invalid");
            return false;
        }
        if (!json_object_get(part, t)) {
            sp_err_invalid(e, "The provided key element does not match the schema");
            return false;
        }
    }
    return true;
}

/* An index's ExclusiveStartKey: the table key and the index key of the last item read.
 * The table's part is checked as a table key, its problems prefixed as DynamoDB does. */
static bool index_start_parse(read_req *r, const json_t *esk, sp_err *e)
{
    json_t *table_key = json_object();
    const char *names[] = {r->m.hash_key, r->m.range_key};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = names[i][0] ? json_object_get(esk, names[i]) : NULL;
        if (v) json_object_set(table_key, names[i], v);
    }
    bool ok = tbl_key_prepare(&r->m, table_key, &r->start, e);
    json_decref(table_key);
    if (!ok) {
        sp_err_wrap(e, "The provided starting key is invalid");
        return false;
    }
    ok = tbl_index_key_encode(esk, r->ix->hash_key, r->ix->hash_type, r->start_ihk,
                              sizeof r->start_ihk, &r->start_ihk_len) &&
         (!r->ix->range_key[0] ||
          tbl_index_key_encode(esk, r->ix->range_key, r->ix->range_type, r->start_irk,
                               sizeof r->start_irk, &r->start_irk_len));
    if (!ok) sp_err_invalid(e, "The provided starting key is invalid");
    return ok;
}

static void add_name(const char **names, size_t *n, const char *name)
{
    if (!name[0]) return;
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return;
    names[(*n)++] = name;
}

/* Query's key conditions (legacy, or the expression's in that form) and its starting key against the key schema read, in
 * DynamoDB's order: for the hash key then the range key, the starting key's part, then the
 * condition on it. */
static bool key_schema_check(const json_t *req, const json_t *kc, const read_req *r,
                             sp_err *e)
{
    const json_t *esk = json_object_get(req, "ExclusiveStartKey");
    size_t nconds = json_object_size(kc);
    const char *names[4];
    size_t nn = 0;
    add_name(names, &nn, r->m.hash_key);
    add_name(names, &nn, r->m.range_key);
    add_name(names, &nn, r->hash_key);
    add_name(names, &nn, r->range_key);
    if (esk && json_object_size(esk) != nn) {
        sp_err_invalid(e, "The provided starting key is invalid");
        return false;
    }
    const char *keys[2] = {r->hash_key, r->range_key};
    const char types[2] = {r->hash_type, r->range_type};
    for (int i = 0; i < 2; i++) {
        if (!keys[i][0]) continue;
        bool is_hash = i == 0;
        char want[2] = {types[i], 0};
        if (esk) {
            const json_t *part = json_object_get(esk, keys[i]);
            if (!part) {
                sp_err_invalid(e, "The provided starting key is invalid");
                return false;
            }
            if (!json_object_get(part, want)) {
                sp_err_invalid(e, "The provided key element does not match the schema");
                return false;
            }
        }
        if (is_hash && !keys[1][0] && nconds > 1) {
            sp_err_invalid(e, "Query key condition not supported");
            return false;
        }
        const json_t *cond = json_object_get(kc, keys[i]);
        if (!cond) {
            if (!is_hash && nconds <= 1) continue;
            sp_err_invalid(e, "Query condition missed key schema element: %s", keys[i]);
            return false;
        }
        const char *op = json_string_value(json_object_get(cond, "ComparisonOperator"));
        static const char *const unindexable[] = {"NULL", "NOT_NULL", "NE", "CONTAINS",
                                                  "NOT_CONTAINS", "IN"};
        for (size_t j = 0; op && j < SP_ARRAY_LEN(unindexable); j++)
            if (!strcmp(op, unindexable[j])) {
                sp_err_invalid(e, "Attempted conditional constraint is not an indexable "
                                  "operation");
                return false;
            }
        const json_t *list = json_object_get(cond, "AttributeValueList");
        for (size_t j = 0; j < json_array_size(list); j++)
            if (!json_object_get(json_array_get(list, j), want)) {
                sp_err_invalid(e, "One or more parameter values were invalid: Condition "
                                  "parameter type does not match schema type");
                return false;
            }
        if (is_hash && op && strcmp(op, "EQ")) {
            sp_err_invalid(e, "Query key condition not supported");
            return false;
        }
    }
    return true;
}

/* A global index that does not project every attribute cannot answer ALL_ATTRIBUTES. */
static bool gsi_select_check(const read_req *r, sp_err *e)
{
    if (r->ix && r->ix->global && r->full_items && r->ix->projection != TBL_PROJ_ALL) {
        sp_err_invalid(e, "One or more parameter values were invalid: Select type "
                          "ALL_ATTRIBUTES is not supported for global secondary index "
                          "%s because its projection type is not ALL", r->ix->name);
        return false;
    }
    return true;
}

static bool read_req_parse(tbl_db *db, const json_t *req, bool query, read_req *r, sp_err *e)
{
    memset(r, 0, sizeof *r);
    /* The table is looked up after everything that needs none, as DynamoDB orders it;
     * Limit's range and Select's values are the model's (api_model), checked before. */
    if (!tbl_check_rcc(req, e) ||
        !tbl_req_precheck(req, query ? TBL_PRE_QUERY : TBL_PRE_SCAN, e))
        return false;
    json_t *esk = sp_json_object(req, "ExclusiveStartKey", false, e);
    if (sp_err_failed(e)) return false;
    if (!tbl_av_map_check(esk, e)) {
        sp_err_wrap(e, "The provided starting key is invalid");
        return false;
    }
    const char *index_name = sp_json_str(req, "IndexName", false, e);
    r->limit = sp_json_int(req, "Limit", false, 0, e);
    r->consistent = sp_json_bool(req, "ConsistentRead", false, e);
    const char *select = sp_json_str(req, "Select", false, e);
    if (sp_err_failed(e)) return false;
    if (r->limit < 0) r->limit = 0; /* only reachable without the model (fuzz, unit) */
    if (select && !strcmp(select, "ALL_PROJECTED_ATTRIBUTES") && !index_name) {
        sp_err_invalid(e, "One or more parameter values were invalid: Select type "
                          "ALL_PROJECTED_ATTRIBUTES is supported only for index queries");
        return false;
    }
    r->count_only = select && !strcmp(select, "COUNT");
    /* Legacy KeyConditions are checked against the key schema before they are read as an
     * expression, as DynamoDB does. */
    bool legacy_keys = query && json_object_get(req, "KeyConditions") &&
                       !json_object_get(req, "KeyConditionExpression");
    unsigned kinds = TBL_X_FILTER | TBL_X_PROJECTION |
                     (query && !legacy_keys ? TBL_X_KEY_CONDITION : 0);
    if (!tbl_req_exprs_parse(req, kinds, &r->x, e)) return false;
    if (r->x.projection && select && strcmp(select, "SPECIFIC_ATTRIBUTES")) {
        sp_err_invalid(e, "One or more parameter values were invalid: Cannot specify the "
                          "ProjectionExpression when choosing to get %s", select);
        return false;
    }
    if (select && !strcmp(select, "SPECIFIC_ATTRIBUTES") && !r->x.projection) {
        sp_err_invalid(e, "One or more parameter values were invalid: Must specify the "
                          "ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES");
        return false;
    }
    if (!tbl_req_table(db, req, &r->m, e)) return false;
    r->hash_key = r->m.hash_key;
    r->hash_type = r->m.hash_type;
    r->range_key = r->m.range_key;
    r->range_type = r->m.range_type;
    if (index_name) {
        r->ix = tbl_index_find(&r->m, index_name);
        if (!r->ix) {
            sp_err_invalid(e, "The table does not have the specified index: %s", index_name);
            return false;
        }
        r->hash_key = r->ix->hash_key;
        r->hash_type = r->ix->hash_type;
        r->range_key = r->ix->range_key;
        r->range_type = r->ix->range_type;
        if (r->ix->global && r->consistent) {
            sp_err_invalid(e, "Consistent reads are not supported on global secondary indexes");
            return false;
        }
        if (select && !strcmp(select, "ALL_ATTRIBUTES"))
            r->full_items = true;  /* a local index fetches the items from the table */
        /* A local index reads the table for attributes it does not project. */
        if (!r->ix->global && r->x.projection) r->full_items = true;
    }
    if (legacy_keys && !key_schema_check(req, json_object_get(req, "KeyConditions"), r, e))
        return false;
    if (query && r->x.key_condition) {
        json_t *kc = tbl_expr_key_conditions(r->x.key_condition);
        bool ok = !kc || key_schema_check(req, kc, r, e);
        json_decref(kc);
        if (!ok) return false;
    }
    if (legacy_keys) {
        /* Alone: the request's names and values belong to its filter and projection. */
        json_t *kreq = json_pack("{s:O}", "KeyConditions", json_object_get(req, "KeyConditions"));
        tbl_req_exprs k;
        bool ok = tbl_req_exprs_parse(kreq, TBL_X_KEY_CONDITION, &k, e);
        json_decref(kreq);
        r->x.key_condition = k.key_condition;
        k.key_condition = NULL;
        tbl_req_exprs_clear(&k);
        if (!ok) return false;
    }
    if (esk && r->ix && !index_start_shape(r, esk, e)) return false;
    /* Scan reports this before the table's part of the starting key; Query after its
     * key conditions and filter (tbl_op_query). */
    if (!query && !gsi_select_check(r, e)) return false;
    if (esk && r->ix) {
        if (!index_start_parse(r, esk, e)) return false;
        r->has_start = true;
    } else if (esk) {
        if (!tbl_key_prepare(&r->m, esk, &r->start, e)) {
            sp_err_wrap(e, "The provided starting key is invalid");
            return false;
        }
        r->has_start = true;
    }
    /* Scan checks the key paths of its expressions after its segment (tbl_op_scan), Query
     * after its key conditions (tbl_op_query). */
    return true;
}

/* Walks rows of a prepared statement, filtering and collecting one page. */
static json_t *read_page(tbl_db *db, const json_t *req, read_req *r, tbl_conn *c,
                         sqlite3_stmt *st, sp_err *e)
{
    json_t *items = json_array();
    long long count = 0, scanned = 0;
    size_t bytes = 0, index_bytes = 0, table_bytes = 0;
    json_t *last = NULL;
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r->limit && scanned >= r->limit) || bytes >= TBL_PAGE_MAX_BYTES) {
            more = true;
            break;
        }
        const char *text = (const char *)sqlite3_column_text(st, 2);
        json_t *item = json_loadb(text, (size_t)sqlite3_column_bytes(st, 2), JSON_ALLOW_NUL, NULL);
        if (!item) {
            sp_err_internal(e, "stored item of table %s is not JSON", r->m.name);
            break;
        }
        if (r->ix) {
            json_t *projected = tbl_index_project(&r->m, r->ix, item);
            index_bytes += tbl_item_size(projected);
            if (r->full_items) {
                table_bytes += tbl_item_size(item);
                json_decref(projected);
            } else {
                json_decref(item);
                item = projected;
            }
        }
        scanned++;
        bytes += tbl_item_size(item);
        bool keep = true;
        if (r->x.filter && !tbl_expr_eval(r->x.filter, item, &keep, e)) {
            json_decref(item);
            break;
        }
        if (keep) {
            count++;
            if (!r->count_only) json_array_append_new(items, tbl_project(r->x.projection, item));
        }
        json_decref(last);
        last = item;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) tbl_sql_err(c, "reading items", e);
    /* DynamoDB reports where it stopped when the Limit was reached, even at the end. */
    if (r->limit && scanned == r->limit) more = true;
    sqlite3_reset(st);
    (void)db;
    if (sp_err_failed(e)) {
        json_decref(items);
        json_decref(last);
        return NULL;
    }
    json_t *resp = json_pack("{s:I, s:I}", "Count", (json_int_t)count, "ScannedCount",
                             (json_int_t)scanned);
    if (!r->count_only) json_object_set_new(resp, "Items", items);
    else json_decref(items);
    if (more && last) {
        json_t *lek = tbl_item_keys(&r->m, last);
        for (int i = 0; r->ix && i < 2; i++) {
            const char *n = i ? r->ix->range_key : r->ix->hash_key;
            json_t *v = n[0] ? json_object_get(last, n) : NULL;
            if (v) json_object_set(lek, n, v);
        }
        json_object_set_new(resp, "LastEvaluatedKey", lek);
    }
    json_decref(last);
    if (r->ix) {
        double tu = r->full_items ? tbl_read_units_of(table_bytes, r->consistent) : 0;
        tbl_consumed_capacity_index(req, resp, r->m.name, tu, r->ix->name, r->ix->global,
                                    tbl_read_units(index_bytes, r->consistent));
    } else {
        tbl_consumed_capacity(req, resp, r->m.name, tbl_read_units(bytes, r->consistent));
    }
    return resp;
}

/* The read of an index: its entries joined with the items they point at, after the start
 * key if any, in DynamoDB's order: a Query by index range key, then the hash of the table
 * key (thp), then the table key; a Scan first by the hash of the index's partition key
 * (ihp, within [seg_lo, seg_hi)) and that key. Columns are those of the table's statements:
 * the index's hash and range key bytes, then the item. For a Query, hk is the hash key's
 * value and [lo, hi) the range key bounds. The caller finalizes. */
static sqlite3_stmt *index_stmt(tbl_conn *c, const read_req *r, const tbl_key *hk,
                                const bound *lo, const bound *hi, bool forward,
                                int64_t seg_lo, int64_t seg_hi, sp_err *e)
{
    bool query = hk != NULL;
    char sql[800];
    snprintf(sql, sizeof sql,
             "SELECT x.ihk, x.irk, i.item FROM index_entries x JOIN items i"
             " ON i.tid=x.tid AND i.hk=x.hk AND i.rk=x.rk WHERE x.tid=?1 AND x.iname=?2%s%s"
             " ORDER BY %s",
             query ? " AND x.ihp=?9 AND x.ihk=?3 AND x.irk>=?7 AND x.irk<?8"
             /* After a starting key (in the segment) the row value is the lower bound. */
             : r->has_start ? " AND x.ihp<?12" : " AND x.ihp>=?11 AND x.ihp<?12",
             !r->has_start ? ""
             : query ? (forward ? " AND (x.irk, x.thp, x.hk, x.rk) > (?4, ?10, ?5, ?6)"
                                : " AND (x.irk, x.thp, x.hk, x.rk) < (?4, ?10, ?5, ?6)")
                     : " AND (x.ihp, x.ihk, x.irk, x.thp, x.hk, x.rk)"
                       " > (?9, ?3, ?4, ?10, ?5, ?6)",
             !query ? "x.ihp, x.ihk, x.irk, x.thp, x.hk, x.rk"
             : forward ? "x.irk, x.thp, x.hk, x.rk"
                       : "x.irk DESC, x.thp DESC, x.hk DESC, x.rk DESC");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, sql, -1, &st, NULL) != SQLITE_OK) {
        tbl_sql_err(c, "reading an index", e);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, r->m.tid);
    sqlite3_bind_text(st, 2, r->ix->name, -1, SQLITE_STATIC);
    if (query) {
        sqlite3_bind_blob(st, 3, hk->hk, (int)hk->hk_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, lo->len ? (const void *)lo->b : "", (int)lo->len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 8, hi->b, (int)hi->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, tbl_key_hash(r->ix->hash_type, hk->hk, hk->hk_len, 0, NULL, 0));
    } else {
        sqlite3_bind_int64(st, 11, seg_lo);
        sqlite3_bind_int64(st, 12, seg_hi);
        if (r->has_start) {
            sqlite3_bind_blob(st, 3, r->start_ihk, (int)r->start_ihk_len, SQLITE_STATIC);
            sqlite3_bind_int64(st, 9, tbl_key_hash(r->ix->hash_type, r->start_ihk,
                                                   r->start_ihk_len, 0, NULL, 0));
        }
    }
    if (r->has_start) {
        sqlite3_bind_blob(st, 4, r->start_irk_len ? (const void *)r->start_irk : "",
                          (int)r->start_irk_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, r->start.hk, (int)r->start.hk_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, r->start.rk_len ? (const void *)r->start.rk : "",
                          (int)r->start.rk_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, tbl_key_thp(&r->m, &r->start));
    }
    return st;
}

json_t *tbl_op_scan(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    read_req r;
    json_t *resp = NULL;
    if (!read_req_parse(db, req, false, &r, e)) goto out;
    json_t *seg = json_object_get(req, "Segment"), *tot = json_object_get(req, "TotalSegments");
    long long segment = sp_json_int(req, "Segment", false, 0, e);
    long long total = sp_json_int(req, "TotalSegments", false, 1, e);
    if (sp_err_failed(e)) goto out;
    if (!seg != !tot) {
        sp_err_invalid(e, "The TotalSegments parameter is required but was not present in the "
                          "request when Segment parameter is present");
        if (tot) sp_err_invalid(e, "The Segment parameter is required but was not present in "
                                   "the request when parameter TotalSegments is present");
        goto out;
    }
    if (total < 1 || total > TBL_SCAN_SEGMENTS_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '%lld' at 'totalSegments' failed "
                          "to satisfy constraint: Member must have value %s", total,
                       total < 1 ? "greater than or equal to 1"
                                 : "less than or equal to 1000000");
        goto out;
    }
    if (segment < 0 || segment >= total) {
        sp_err_invalid(e, "The Segment parameter is zero-based and must be less than parameter "
                          "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                       segment, total);
        goto out;
    }
    int64_t seg_lo, seg_hi;
    tbl_segment_range((uint32_t)segment, (uint32_t)total, &seg_lo, &seg_hi);
    if (r.has_start) {
        /* The start key must lie in the segment's share of hashes. */
        int64_t h = r.ix ? tbl_key_hash(r.ix->hash_type, r.start_ihk, r.start_ihk_len, 0,
                                        NULL, 0)
                         : tbl_key_hp(&r.m, &r.start);
        if (h < seg_lo || h >= seg_hi) {
            sp_err_invalid(e, "The provided starting key is invalid: Invalid ExclusiveStartKey. "
                              "Please use ExclusiveStartKey with correct Segment. "
                              "TotalSegments: %lld Segment: %lld", total, segment);
            goto out;
        }
    }
    if (!tbl_key_paths_check(&r.m, r.x.projection, e) || !tbl_key_paths_check(&r.m, r.x.filter, e))
        goto out;
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) goto out;
    if (r.ix) {
        sqlite3_stmt *ist = index_stmt(c, &r, NULL, NULL, NULL, true, seg_lo, seg_hi, e);
        if (ist) resp = read_page(db, req, &r, c, ist, e);
        sqlite3_finalize(ist);
        tbl_conn_put(db, c);
        goto out;
    }
    sqlite3_stmt *st = c->st[r.has_start ? TBL_ST_SCAN_FROM : TBL_ST_SCAN];
    sqlite3_bind_int64(st, 1, r.m.tid);
    if (r.has_start) {
        sqlite3_bind_blob(st, 2, r.start.hk, (int)r.start.hk_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, r.start.rk_len ? (const void *)r.start.rk : "",
                          (int)r.start.rk_len, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 4, -1);
    sqlite3_bind_int64(st, 5, r.has_start ? (int64_t)tbl_key_hp(&r.m, &r.start) : seg_lo);
    sqlite3_bind_int64(st, 6, seg_hi);
    resp = read_page(db, req, &r, c, st, e);
    tbl_conn_put(db, c);
out:
    tbl_req_exprs_clear(&r.x);
    return resp;
}

/* The range [lo, hi) of encoded range keys a key condition selects. */
static bool range_bounds(const read_req *r, const tbl_key_cond *kc, bound *lo, bound *hi,
                         sp_err *e)
{
    bound_at(lo, (const unsigned char *)"", 0);
    bound_inf(hi);
    if (kc->range_op == TBL_KEY_NONE) return true;
    if (!r->range_key[0] || strcmp(kc->range_name, r->range_key)) {
        sp_err_invalid(e, "Query condition missed key schema element: %s",
                       r->range_key[0] ? r->range_key : kc->range_name);
        if (!r->range_key[0]) sp_err_invalid(e, "Query key condition not supported");
        return false;
    }
    unsigned char v[2][TBL_RANGE_KEY_MAX_BYTES + 64];
    size_t n[2] = {0, 0};
    int nv = kc->range_op == TBL_KEY_BETWEEN ? 2 : 1;
    char want[2] = {r->range_type, 0};
    for (int i = 0; i < nv; i++) {
        const char *t = tbl_av_type(kc->range_values[i]);
        if (kc->range_op == TBL_KEY_BEGINS_WITH && r->range_type == 'N') {
            sp_err_invalid(e, "Invalid KeyConditionExpression: Incorrect operand type for "
                              "operator or function; operator or function: begins_with, "
                              "operand type: N");
            return false;
        }
        if (!t || strcmp(t, want)) {
            sp_err_invalid(e, "One or more parameter values were invalid: Condition parameter "
                              "type does not match schema type");
            return false;
        }
        if (!tbl_key_encode(r->range_type, json_object_get(kc->range_values[i], t), v[i],
                            sizeof v[i], &n[i], e))
            return false;
    }
    switch (kc->range_op) {
    case TBL_KEY_NONE: break;
    case TBL_KEY_EQ: bound_at(lo, v[0], n[0]); bound_after(hi, v[0], n[0]); break;
    case TBL_KEY_LT: bound_at(hi, v[0], n[0]); break;
    case TBL_KEY_LE: bound_after(hi, v[0], n[0]); break;
    case TBL_KEY_GT: bound_after(lo, v[0], n[0]); break;
    case TBL_KEY_GE: bound_at(lo, v[0], n[0]); break;
    case TBL_KEY_BETWEEN:
        bound_at(lo, v[0], n[0]);
        bound_after(hi, v[1], n[1]);
        if (tbl_av_cmp(kc->range_values[0], kc->range_values[1]) > 0) {
            sp_err_invalid(e, "Invalid KeyConditionExpression: The BETWEEN operator requires "
                              "upper bound to be greater than or equal to lower bound");
            return false;
        }
        break;
    case TBL_KEY_BEGINS_WITH: {
        bound_at(lo, v[0], n[0]);
        size_t k = n[0];
        while (k > 0 && v[0][k - 1] == 0xff) k--;
        if (k > 0) {
            bound_at(hi, v[0], k);
            hi->b[k - 1]++;
        }
        break;
    }
    }
    return true;
}

json_t *tbl_op_query(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    read_req r;
    json_t *resp = NULL;
    if (!read_req_parse(db, req, true, &r, e)) goto out;
    bool forward = sp_json_bool(req, "ScanIndexForward", true, e);
    if (sp_err_failed(e)) goto out;
    if (!r.x.key_condition) {
        sp_err_invalid(e, "Either the KeyConditions or KeyConditionExpression parameter must "
                          "be specified in the request.");
        goto out;
    }
    tbl_key_cond kc;
    if (!tbl_expr_key_condition(r.x.key_condition, r.hash_key, &kc, e)) goto out;
    if (strcmp(kc.hash_name, r.hash_key)) {
        sp_err_invalid(e, "Query condition missed key schema element: %s", r.hash_key);
        goto out;
    }
    char want[2] = {r.hash_type, 0};
    const char *ht = tbl_av_type(kc.hash_value);
    if (!ht || strcmp(ht, want)) {
        sp_err_invalid(e, "One or more parameter values were invalid: Condition parameter type "
                          "does not match schema type");
        goto out;
    }
    tbl_key hk;
    if (!tbl_key_encode(r.hash_type, json_object_get(kc.hash_value, ht), hk.hk,
                        sizeof hk.hk, &hk.hk_len, e))
        goto out;
    bound *b = malloc(2 * sizeof *b);
    if (!b) abort();
    bound *lo = &b[0], *hi = &b[1];
    if (!range_bounds(&r, &kc, lo, hi, e)) goto out_bounds;
    if (r.has_start) {
        /* The starting key against the conditions, as DynamoDB words it: with no range
         * condition the hash key must be the queried one; with one, the range key must
         * satisfy it, and then a different hash key means the query was an exact match. */
        const unsigned char *shk = r.ix ? r.start_ihk : r.start.hk;
        size_t shk_len = r.ix ? r.start_ihk_len : r.start.hk_len;
        bool same_hash = shk_len == hk.hk_len && !memcmp(shk, hk.hk, hk.hk_len);
        if (kc.range_op == TBL_KEY_NONE) {
            if (!same_hash) {
                sp_err_invalid(e, "The provided starting key is outside query boundaries "
                                  "based on provided conditions");
                goto out_bounds;
            }
        } else {
            bound s;
            if (r.ix) bound_at(&s, r.start_irk, r.start_irk_len);
            else bound_at(&s, r.start.rk, r.start.rk_len);
            if (bound_cmp(&s, lo) < 0 || bound_cmp(&s, hi) >= 0) {
                sp_err_invalid(e, "The provided starting key does not match the range key "
                                  "predicate");
                goto out_bounds;
            }
            if (!same_hash) {
                sp_err_invalid(e, "The query can return at most one row and cannot be "
                                  "restarted");
                goto out_bounds;
            }
        }
    }
    if (!tbl_key_paths_check(&r.m, r.x.projection, e)) goto out_bounds;
    for (int i = 0; i < 2 && r.x.filter; i++) {
        const char *k = i ? r.range_key : r.hash_key;
        if (k[0] && tbl_expr_refers_top(r.x.filter, k)) {
            sp_err_invalid(e, "%s can only contain non-primary key attributes: Primary key "
                              "attribute: %s", json_object_get(req, "QueryFilter")
                                                   ? "QueryFilter" : "Filter Expression", k);
            goto out_bounds;
        }
    }
    if (!gsi_select_check(&r, e) || !tbl_key_paths_check(&r.m, r.x.filter, e)) goto out_bounds;
    if (r.ix) {
        tbl_conn *c = tbl_conn_get(db, e);
        sqlite3_stmt *ist = c ? index_stmt(c, &r, &hk, lo, hi, forward, 0, 0, e) : NULL;
        if (ist) resp = read_page(db, req, &r, c, ist, e);
        sqlite3_finalize(ist);
        if (c) tbl_conn_put(db, c);
        goto out_bounds;
    }
    if (r.has_start) {
        bound s;
        if (forward) {
            bound_after(&s, r.start.rk, r.start.rk_len);
            if (bound_cmp(&s, lo) > 0) *lo = s;
        } else {
            bound_at(&s, r.start.rk, r.start.rk_len);
            if (bound_cmp(&s, hi) < 0) *hi = s;
        }
    }
    tbl_conn *c = tbl_conn_get(db, e);
    if (c) {
        sqlite3_stmt *st = c->st[forward ? TBL_ST_QUERY_ASC : TBL_ST_QUERY_DESC];
        sqlite3_bind_int64(st, 1, r.m.tid);
        sqlite3_bind_blob(st, 2, hk.hk, (int)hk.hk_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, lo->len ? (const void *)lo->b : "", (int)lo->len,
                          SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, hi->b, (int)hi->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, -1);
        resp = read_page(db, req, &r, c, st, e);
        tbl_conn_put(db, c);
    }
out_bounds:
    free(b);
out:
    tbl_req_exprs_clear(&r.x);
    return resp;
}
