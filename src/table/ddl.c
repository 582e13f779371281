/* The control plane: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable and
 * tbl_table_ensure for configured tables. Requests are validated the way DynamoDB does it
 * (same checks, same message style) before anything is written; table definitions live in
 * the `tables` row (key schema and stream state as columns, the rest of the description as
 * JSON) and in the metadata cache.
 */
#include "tbl_ops.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* DynamoDB's limits on provisioned capacity in a request. */
static const long long TBL_CAPACITY_MIN = 1;
static const long long TBL_CAPACITY_MAX = 40000;
/* Beyond this DynamoDB does not weigh a capacity against quotas at all: "out of bounds". */
static const long long TBL_CAPACITY_BOUND = 1000000000000LL;
/* GlobalSecondaryIndexUpdates entries in one UpdateTable request, of which at most one
 * Create or Delete ("Only 1 online index can be created or deleted simultaneously"). */
#define TBL_GSI_UPDATES_MAX 5

bool tbl_check_table_name(const char *name, const char *member, sp_err *e)
{
    if (!name) {
        sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to satisfy "
                          "constraint: Member must not be null", member);
        return false;
    }
    size_t n = strlen(name);
    if (n < TBL_NAME_MIN || n > TBL_NAME_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                          "constraint: Member must have length %s %d",
                       name, member, n < TBL_NAME_MIN ? "greater than or equal to"
                                                      : "less than or equal to",
                       n < TBL_NAME_MIN ? TBL_NAME_MIN : TBL_NAME_MAX);
        return false;
    }
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
            sp_err_invalid(e, "1 validation error detected: Value '%s' at '%s' failed to "
                              "satisfy constraint: Member must satisfy regular expression "
                              "pattern: [a-zA-Z0-9_.-]+", name, member);
            return false;
        }
    return true;
}

/* "2024-05-01T12:00:00.123", the shape of DynamoDB's stream labels. */
static void stream_label(int64_t ms, char out[TBL_LABEL_MAX])
{
    char iso[21];
    sp_clock_iso8601(ms, iso);
    iso[19] = '\0';
    snprintf(out, TBL_LABEL_MAX, "%s.%03d", iso, (int)(ms % 1000));
}

/* Reads a StreamSpecification into *view (TBL_VIEW_NONE when disabled). */
static bool parse_stream_spec(const json_t *spec, tbl_view *view, bool *given, sp_err *e)
{
    *view = TBL_VIEW_NONE;
    *given = spec != NULL;
    if (!spec) return true;
    json_t *enabled = json_object_get(spec, "StreamEnabled");
    if (!json_is_boolean(enabled)) {
        sp_err_invalid(e, "1 validation error detected: Value null at "
                          "'streamSpecification.streamEnabled' failed to satisfy constraint: "
                          "Member must not be null");
        return false;
    }
    const char *vt = sp_json_str(spec, "StreamViewType", false, e);
    if (sp_err_failed(e)) return false;
    if (vt && !tbl_view_parse(vt, view)) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at "
                          "'streamSpecification.streamViewType' failed to satisfy constraint: "
                          "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                          "NEW_AND_OLD_IMAGES, KEYS_ONLY]", vt);
        return false;
    }
    if (json_is_true(enabled) && !vt) {
        sp_err_invalid(e, "One or more parameter values were invalid: You must specify a "
                          "StreamViewType when enabling a stream");
        return false;
    }
    if (!json_is_true(enabled)) {
        if (vt) {
            sp_err_invalid(e, "One or more parameter values were invalid: You cannot specify "
                              "a StreamViewType when StreamEnabled is false");
            return false;
        }
        *view = TBL_VIEW_NONE;
    }
    return true;
}

/* BillingMode and ProvisionedThroughput: the pair written into the description. */
static bool parse_billing(const json_t *req, bool create, json_t **billing, json_t **pt,
                          sp_err *e)
{
    const char *mode = sp_json_str(req, "BillingMode", false, e);
    json_t *tp = sp_json_object(req, "ProvisionedThroughput", false, e);
    if (sp_err_failed(e)) return false;
    if (mode && strcmp(mode, "PROVISIONED") && strcmp(mode, "PAY_PER_REQUEST")) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at 'billingMode' failed to "
                          "satisfy constraint: Member must satisfy enum value set: "
                          "[PROVISIONED, PAY_PER_REQUEST]", mode);
        return false;
    }
    bool ppr = mode && !strcmp(mode, "PAY_PER_REQUEST");
    if (ppr && tp) {
        sp_err_invalid(e, "One or more parameter values were invalid: Neither "
                          "ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                          "BillingMode is PAY_PER_REQUEST");
        return false;
    }
    if (!ppr && !tp && (create || (mode && !strcmp(mode, "PROVISIONED")))) {
        sp_err_invalid(e, create ? "One or more parameter values were invalid: "
                                   "ReadCapacityUnits and WriteCapacityUnits must both be "
                                   "specified when BillingMode is PROVISIONED"
                                 : "One or more parameter values were invalid: "
                                   "ProvisionedThroughput must be specified when BillingMode "
                                   "is PROVISIONED");
        return false;
    }
    long long rcu = 0, wcu = 0;
    if (tp) {
        static const char *const members[] = {"ReadCapacityUnits", "WriteCapacityUnits"};
        long long *vals[] = {&rcu, &wcu};
        for (int i = 0; i < 2; i++) {
            json_t *v = json_object_get(tp, members[i]);
            if (!json_is_integer(v)) {
                sp_err_invalid(e, "1 validation error detected: Value null at "
                                  "'provisionedThroughput.%c%s' failed to satisfy constraint: "
                                  "Member must not be null",
                               tolower((unsigned char)members[i][0]), members[i] + 1);
                return false;
            }
            *vals[i] = json_integer_value(v);
        }
        /* DynamoDB names an out-of-bounds read capacity before the write capacity, and both
         * before the per-table maximum. */
        for (int i = 0; i < 2; i++)
            if (*vals[i] > TBL_CAPACITY_BOUND) {
                sp_err_invalid(e, "Given value %lld for %s is out of bounds", *vals[i],
                               members[i]);
                return false;
            }
        for (int i = 0; i < 2; i++)
            if (*vals[i] < TBL_CAPACITY_MIN || *vals[i] > TBL_CAPACITY_MAX) {
                sp_err_invalid(e, "1 validation error detected: Value '%lld' at "
                                  "'provisionedThroughput.%c%s' failed to satisfy constraint: "
                                  "Member must have value greater than or equal to 1",
                               *vals[i], tolower((unsigned char)members[i][0]),
                               members[i] + 1);
                return false;
            }
    }
    *billing = mode || create ? json_pack("{s:s}", "BillingMode", ppr ? "PAY_PER_REQUEST"
                                                                      : "PROVISIONED")
                              : NULL;
    *pt = tp || ppr ? json_pack("{s:i, s:I, s:I}", "NumberOfDecreasesToday", 0,
                                "ReadCapacityUnits", (json_int_t)rcu, "WriteCapacityUnits",
                                (json_int_t)wcu)
                    : NULL;
    return true;
}

/* Finds the type of attribute name in AttributeDefinitions (0 if undefined). */
static char attr_type(const json_t *defs, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d) {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        const char *t = json_string_value(json_object_get(d, "AttributeType"));
        if (n && t && !strcmp(n, name)) return t[0];
    }
    return 0;
}

/* Validates a KeySchema against AttributeDefinitions; fills names/types (range may be ""). */
/* "a, b, c": the names of a KeySchema or AttributeDefinitions list, for DynamoDB's messages
 * (cut at cap). */
static void names_of(const json_t *list, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    size_t i;
    json_t *el;
    json_array_foreach(list, i, el) {
        const char *n = json_string_value(json_object_get(el, "AttributeName"));
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", n ? n : "null");
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
}

static bool parse_key_schema(const json_t *ks, const json_t *defs, const char *member,
                             char *hash, char *hash_t, char *range, char *range_t, sp_err *e)
{
    if (!json_is_array(ks)) {
        sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to satisfy "
                          "constraint: Member must not be null", member);
        return false;
    }
    size_t n = json_array_size(ks);
    if (n < 1 || n > 2) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                          "constraint: Member must have length %s", "[...]", member,
                       n < 1 ? "greater than or equal to 1" : "less than or equal to 2");
        return false;
    }
    char *names[2] = {hash, range};
    char *types[2] = {hash_t, range_t};
    range[0] = '\0';
    *range_t = 0;
    /* DynamoDB's order for the table's own key schema: too few definitions, undefined key
     * attributes, one name twice, then the key types. */
    if (!strcmp(member, "keySchema")) {
        bool names_ok = true;
        for (size_t i = 0; i < n; i++) {
            const char *an = json_string_value(json_object_get(json_array_get(ks, i),
                                                               "AttributeName"));
            names_ok &= an && *an;
        }
        if (names_ok && n > json_array_size(defs)) {
            sp_err_invalid(e, "Invalid KeySchema: Some index key attribute have no definition");
            return false;
        }
        for (size_t i = 0; names_ok && i < n; i++) {
            const char *an = json_string_value(json_object_get(json_array_get(ks, i),
                                                               "AttributeName"));
            if (!attr_type(defs, an)) {
                char keys[512], dnames[512];
                names_of(ks, keys, sizeof keys);
                names_of(defs, dnames, sizeof dnames);
                sp_err_invalid(e, "One or more parameter values were invalid: Some index key "
                                  "attributes are not defined in AttributeDefinitions. Keys: "
                                  "[%s], AttributeDefinitions: [%s]", keys, dnames);
                return false;
            }
        }
        const char *a0 = json_string_value(json_object_get(json_array_get(ks, 0),
                                                           "AttributeName"));
        const char *a1 = json_string_value(json_object_get(json_array_get(ks, 1),
                                                           "AttributeName"));
        if (names_ok && n == 2 && !strcmp(a0, a1)) {
            sp_err_invalid(e, "Both the Hash Key and the Range Key element in the KeySchema "
                              "have the same name");
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(ks, i);
        const char *an = json_string_value(json_object_get(el, "AttributeName"));
        const char *kt = json_string_value(json_object_get(el, "KeyType"));
        if (!an || !kt || !*an || strlen(an) > TBL_ATTR_NAME_MAX) {
            sp_err_invalid(e, "1 validation error detected: Value null at '%s.%zu.member.%s' "
                              "failed to satisfy constraint: Member must not be null", member,
                           i + 1, an ? "keyType" : "attributeName");
            return false;
        }
        if (strcmp(kt, "HASH") && strcmp(kt, "RANGE")) {
            sp_err_invalid(e, "1 validation error detected: Value '%s' at "
                              "'%s.%zu.member.keyType' failed to satisfy constraint: Member "
                              "must satisfy enum value set: [HASH, RANGE]", kt, member, i + 1);
            return false;
        }
        if (strcmp(kt, i == 0 ? "HASH" : "RANGE")) {
            sp_err_invalid(e, "Invalid KeySchema: The %s KeySchemaElement is not a %s key type",
                           i == 0 ? "first" : "second", i == 0 ? "HASH" : "RANGE");
            return false;
        }
        char t = attr_type(defs, an);
        if (!t) {
            sp_err_invalid(e, "One or more parameter values were invalid: Some index key "
                              "attributes are not defined in AttributeDefinitions. Keys: [%s], "
                              "AttributeDefinitions: [...]", an);
            return false;
        }
        snprintf(names[i], TBL_ATTR_NAME_MAX + 1, "%s", an);
        *types[i] = t;
    }
    if (n == 2 && !strcmp(hash, range)) {
        sp_err_invalid(e, "Both the Hash Key and the Range Key element in the KeySchema have "
                          "the same name");
        return false;
    }
    return true;
}

static bool parse_attr_defs(const json_t *defs, sp_err *e)
{
    if (!json_is_array(defs)) {
        sp_err_invalid(e, "1 validation error detected: Value null at 'attributeDefinitions' "
                          "failed to satisfy constraint: Member must not be null");
        return false;
    }
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d) {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        const char *t = json_string_value(json_object_get(d, "AttributeType"));
        if (!n || !*n || !t) {
            sp_err_invalid(e, "1 validation error detected: Value null at "
                              "'attributeDefinitions.%zu.member.%s' failed to satisfy "
                              "constraint: Member must not be null", i + 1,
                           n && *n ? "attributeType" : "attributeName");
            return false;
        }
        if (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")) {
            sp_err_invalid(e, "1 validation error detected: Value '%s' at "
                              "'attributeDefinitions.%zu.member.attributeType' failed to "
                              "satisfy constraint: Member must satisfy enum value set: "
                              "[B, N, S]", t, i + 1);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(n, json_string_value(json_object_get(json_array_get(defs, j),
                                                              "AttributeName")))) {
                sp_err_invalid(e, "Cannot have two attributes with the same name");
                return false;
            }
    }
    return true;
}

/* Whether attribute name is one of the key attributes of an index in list. */
static bool index_key_of(const json_t *list, const char *name)
{
    size_t j, k;
    json_t *ix, *el;
    json_array_foreach(list, j, ix) {
        json_array_foreach(json_object_get(ix, "KeySchema"), k, el) {
            const char *an = json_string_value(json_object_get(el, "AttributeName"));
            if (an && !strcmp(an, name)) return true;
        }
    }
    return false;
}

/* One Local/GlobalSecondaryIndexes entry, checked in DynamoDB's order (the model's
 * constraints were checked before). */
static bool check_index(const json_t *ix, const json_t *defs, const char *table_hash, bool global,
                        bool pay_per_request, sp_err *e)
{
    const char *name = json_string_value(json_object_get(ix, "IndexName"));
    const json_t *ks = json_object_get(ix, "KeySchema");
    const json_t *proj = json_object_get(ix, "Projection");
    if (!name || !json_is_array(ks) || json_array_size(ks) < 1 || !json_is_object(proj)) {
        sp_err_invalid(e, "One or more parameter values were invalid: %s",
                       !name ? "IndexName is missing" : !json_is_object(proj)
                           ? "Unknown ProjectionType: null" : "Index KeySchema is missing");
        return false;
    }
    size_t i;
    json_t *k;
    json_array_foreach(ks, i, k) {
        const char *an = json_string_value(json_object_get(k, "AttributeName"));
        if (!an || !attr_type(defs, an)) {
            char keys[512], all[1024];
            names_of(ks, keys, sizeof keys);
            names_of(defs, all, sizeof all);
            sp_err_invalid(e, "One or more parameter values were invalid: Some index key "
                              "attributes are not defined in AttributeDefinitions. Keys: [%s], "
                              "AttributeDefinitions: [%s]", keys, all);
            return false;
        }
    }
    const char *h = json_string_value(json_object_get(json_array_get(ks, 0), "AttributeName"));
    const char *r = json_string_value(json_object_get(json_array_get(ks, 1), "AttributeName"));
    const char *ht = json_string_value(json_object_get(json_array_get(ks, 0), "KeyType"));
    const char *rt = json_string_value(json_object_get(json_array_get(ks, 1), "KeyType"));
    if (r && !strcmp(h, r)) {
        sp_err_invalid(e, "Both the Hash Key and the Range Key element in the KeySchema have "
                          "the same name");
        return false;
    }
    if (!ht || strcmp(ht, "HASH")) {
        sp_err_invalid(e, "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
        return false;
    }
    if (json_array_size(ks) > 1 && (!rt || strcmp(rt, "RANGE"))) {
        sp_err_invalid(e, "Invalid KeySchema: The second KeySchemaElement is not a RANGE key "
                          "type");
        return false;
    }
    if (!global && json_array_size(ks) != 2) {
        sp_err_invalid(e, "One or more parameter values were invalid: Index KeySchema does not "
                          "have a range key for index: %s", name);
        return false;
    }
    if (!global && strcmp(h, table_hash)) {
        sp_err_invalid(e, "One or more parameter values were invalid: Index KeySchema does not "
                          "have the same leading hash key as table KeySchema for index: %s. "
                          "index hash key: %s, table hash key: %s", name, h, table_hash);
        return false;
    }
    const char *pt = json_string_value(json_object_get(proj, "ProjectionType"));
    if (!pt) {
        sp_err_invalid(e, "One or more parameter values were invalid: Unknown ProjectionType: "
                          "null");
        return false;
    }
    if (strcmp(pt, "ALL") && strcmp(pt, "KEYS_ONLY") && strcmp(pt, "INCLUDE")) {
        sp_err_invalid(e, "One or more parameter values were invalid: Unknown ProjectionType: "
                          "%s", pt);
        return false;
    }
    if (json_object_get(proj, "NonKeyAttributes") && strcmp(pt, "INCLUDE")) {
        sp_err_invalid(e, "One or more parameter values were invalid: ProjectionType is %s, but "
                          "NonKeyAttributes is specified", pt);
        return false;
    }
    if (global && pay_per_request && json_object_get(ix, "ProvisionedThroughput")) {
        sp_err_invalid(e, "One or more parameter values were invalid: ProvisionedThroughput "
                          "should not be specified for index: %s when BillingMode is "
                          "PAY_PER_REQUEST", name);
        return false;
    }
    if (global && !pay_per_request && !json_is_object(json_object_get(ix,
                                                                      "ProvisionedThroughput"))) {
        sp_err_invalid(e, "One or more parameter values were invalid: ProvisionedThroughput "
                          "must be specified for index: %s", name);
        return false;
    }
    return true;
}

/* The secondary indexes of a CreateTable request, checked as DynamoDB does (LSIs, then
 * GSIs, each list then its count), plus the rule that every attribute definition is a key
 * of the table or of an index. */
static bool check_indexes(const json_t *req, const json_t *defs, const tbl_meta *m,
                          bool pay_per_request, sp_err *e)
{
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    static const size_t limits[] = {TBL_LSI_MAX, TBL_GSI_MAX};
    json_t *seen = json_object();
    bool ok = true;
    for (int g = 0; g < 2 && ok; g++) {
        json_t *arr = json_object_get(req, kinds[g]);
        if (!arr) continue;
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
            sp_err_invalid(e, "One or more parameter values were invalid: List of %s is empty",
                           kinds[g]);
            ok = false;
            break;
        }
        if (!g && !m->range_key[0]) {
            sp_err_invalid(e, "One or more parameter values were invalid: Table KeySchema does "
                              "not have a range key, which is required when specifying a "
                              "LocalSecondaryIndex");
            ok = false;
            break;
        }
        size_t i;
        json_t *ix;
        json_array_foreach(arr, i, ix) {
            if (!check_index(ix, defs, m->hash_key, g, pay_per_request, e)) {
                ok = false;
                break;
            }
            const char *name = json_string_value(json_object_get(ix, "IndexName"));
            if (json_object_get(seen, name)) {
                sp_err_invalid(e, "One or more parameter values were invalid: Duplicate index "
                                  "name: %s", name);
                ok = false;
                break;
            }
            json_object_set_new(seen, name, json_true());
        }
        if (ok && json_array_size(arr) > limits[g]) {
            sp_err_invalid(e, g ? "One or more parameter values were invalid: "
                                  "GlobalSecondaryIndex count exceeds the per-table limit of %zu"
                                : "One or more parameter values were invalid: Number of "
                                  "LocalSecondaryIndexes exceeds per-table limit of %zu",
                           limits[g]);
            ok = false;
        }
    }
    json_decref(seen);
    if (!ok) return false;
    /* Every defined attribute must be a key somewhere. */
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d) {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        bool used = !n || !strcmp(n, m->hash_key) || !strcmp(n, m->range_key) ||
                    index_key_of(json_object_get(req, kinds[0]), n) ||
                    index_key_of(json_object_get(req, kinds[1]), n);
        if (!used) {
            char all[1024];
            names_of(defs, all, sizeof all);
            sp_err_invalid(e, "One or more parameter values were invalid: Some AttributeDefinitions"
                              " are not used. AttributeDefinitions: [%s], keys used: [%s%s%s]",
                           all, m->hash_key, m->range_key[0] ? ", " : "", m->range_key);
            return false;
        }
    }
    return true;
}

/* The stored description of the request's indexes: what DescribeTable shows, without the
 * counts (computed when described). New reference, or NULL when there are none. */
static json_t *index_descriptions(const json_t *req, const char *kind, const char *table,
                                  bool global, json_t *billing_pt)
{
    json_t *arr = json_object_get(req, kind);
    if (!json_array_size(arr)) return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *ix;
    json_array_foreach(arr, i, ix) {
        const char *name = json_string_value(json_object_get(ix, "IndexName"));
        char arn[TBL_ARN_MAX + TBL_NAME_MAX + 16];
        snprintf(arn, sizeof arn, "%s%s/index/%s", TBL_ARN_PREFIX, table, name);
        json_t *d = json_pack("{s:s, s:O, s:O, s:s}", "IndexName", name, "KeySchema",
                              json_object_get(ix, "KeySchema"), "Projection",
                              json_object_get(ix, "Projection"), "IndexArn", arn);
        if (global) {
            json_object_set_new(d, "IndexStatus", json_string("ACTIVE"));
            json_t *pt = json_object_get(ix, "ProvisionedThroughput");
            json_object_set_new(d, "ProvisionedThroughput",
                                json_pack("{s:i, s:I, s:I}", "NumberOfDecreasesToday", 0,
                                          "ReadCapacityUnits",
                                          json_integer_value(json_object_get(pt ? pt : billing_pt,
                                                                             "ReadCapacityUnits")),
                                          "WriteCapacityUnits",
                                          json_integer_value(json_object_get(pt ? pt : billing_pt,
                                                                             "WriteCapacityUnits"))));
        }
        json_array_append_new(out, d);
    }
    return out;
}

bool tbl_table_create(tbl_db *db, tbl_meta *m, json_t *extra, sp_err *e)
{
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) return false;
    tbl_meta existing;
    sp_err ignore = {0};
    json_t *ghost = tbl_meta_ghost_desc(db, m->name);
    json_decref(ghost);
    if (ghost || tbl_meta_get(db, m->name, &existing, true, &ignore)) {
        tbl_txn_rollback(&t);
        sp_err_set(e, 400, "ResourceInUseException", "Table already exists: %s", m->name);
        return false;
    }
    sqlite3_stmt *st = NULL;
    const char *q = "INSERT INTO tables(name, hash_key, hash_type, range_key, range_type,"
                    " created_ms, view, label, retention_hours, trim_seq, stream_start, extra)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 0, ?10)";
    char *extra_text = tbl_item_dump(extra, NULL);
    char ht[2] = {m->hash_type, 0}, rt[2] = {m->range_type, 0};
    bool ok = sqlite3_prepare_v2(t.c->sql, q, -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->hash_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ht, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, m->range_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, rt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, m->created_ms);
        sqlite3_bind_text(st, 7, tbl_view_name(m->view), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, m->label, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, m->retention_hours);
        sqlite3_bind_text(st, 10, extra_text, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok) tbl_sql_err(t.c, "creating table", e);
    else m->tid = sqlite3_last_insert_rowid(t.c->sql);
    sqlite3_finalize(st);
    free(extra_text);
    if (!ok) {
        tbl_txn_rollback(&t);
        return false;
    }
    if (!tbl_txn_commit(&t, e)) return false;
    tbl_meta_set(db, m, false);
    return true;
}

/* Runs a statement with (text?, int64...) bindings; for the rare control plane writes. */
static bool exec_bound(tbl_conn *c, const char *sql, const char *text, int64_t a, int64_t b,
                       sp_err *e)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(c->sql, sql, -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        if (text) sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, a);
        sqlite3_bind_int64(st, 3, b);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok) tbl_sql_err(c, sql, e);
    sqlite3_finalize(st);
    return ok;
}

/* ItemCount and IndexSizeBytes of every index in the description d (items the index holds
 * and the size of those items). */
static void describe_index_counts(tbl_db *db, const tbl_meta *m, json_t *d)
{
    if (!m->indexes) return;
    sp_err e = {0};
    tbl_conn *c = tbl_conn_get(db, &e);
    if (!c) return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, "SELECT count(*), total(i.size) FROM index_entries x JOIN items i"
                                    " ON i.tid=x.tid AND i.hk=x.hk AND i.rk=x.rk"
                                    " WHERE x.tid=?1 AND x.iname=?2", -1, &st, NULL) == SQLITE_OK) {
        static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
        for (int g = 0; g < 2; g++) {
            size_t i;
            json_t *ix;
            json_array_foreach(json_object_get(d, kinds[g]), i, ix) {
                sqlite3_bind_int64(st, 1, m->tid);
                sqlite3_bind_text(st, 2, json_string_value(json_object_get(ix, "IndexName")), -1,
                                  SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW) {
                    json_object_set_new(ix, "IndexSizeBytes",
                                        json_integer((json_int_t)sqlite3_column_double(st, 1)));
                    json_object_set_new(ix, "ItemCount", json_integer(sqlite3_column_int64(st, 0)));
                }
                sqlite3_reset(st);
            }
        }
    }
    sqlite3_finalize(st);
    tbl_conn_put(db, c);
}

json_t *tbl_table_describe(tbl_db *db, const tbl_meta *m, const char *status)
{
    json_t *d = NULL;
    long long count = 0, size = 0;
    sp_err e = {0};
    tbl_conn *c = tbl_conn_get(db, &e);
    if (c) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c->sql, "SELECT extra, (SELECT count(*) FROM items i WHERE"
                                        " i.tid=?1), (SELECT total(size) FROM items i WHERE"
                                        " i.tid=?1) FROM tables WHERE tid=?1", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, m->tid);
            if (sqlite3_step(st) == SQLITE_ROW) {
                d = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
                count = sqlite3_column_int64(st, 1);
                size = (long long)sqlite3_column_double(st, 2);
            }
        }
        sqlite3_finalize(st);
        tbl_conn_put(db, c);
    }
    if (!d) d = json_object();
    /* Kept with the definition, answered by their own operations, not by DescribeTable. */
    json_object_del(d, "Tags");
    json_object_del(d, "TimeToLiveDescription");
    /* DynamoDB shows BillingModeSummary only for a table that is, or once was, on demand. */
    const json_t *bms = json_object_get(d, "BillingModeSummary");
    const char *bm = json_string_value(json_object_get(bms, "BillingMode"));
    if (bms && (!bm || !strcmp(bm, "PROVISIONED")) &&
        !json_object_get(bms, "LastUpdateToPayPerRequestDateTime"))
        json_object_del(d, "BillingModeSummary");
    describe_index_counts(db, m, d);
    char arn[TBL_ARN_MAX];
    tbl_table_arn(m, arn);
    char id[40];
    snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llx", (long long)m->tid);
    json_object_set_new(d, "TableName", json_string(m->name));
    json_object_set_new(d, "TableStatus", json_string(status));
    json_object_set_new(d, "CreationDateTime", json_real((double)m->created_ms / 1000.0));
    json_object_set_new(d, "TableSizeBytes", json_integer(size));
    json_object_set_new(d, "ItemCount", json_integer(count));
    json_object_set_new(d, "TableArn", json_string(arn));
    json_object_set_new(d, "TableId", json_string(id));
    if (m->view != TBL_VIEW_NONE)
        json_object_set_new(d, "StreamSpecification",
                            json_pack("{s:b, s:s}", "StreamEnabled", 1, "StreamViewType",
                                      tbl_view_name(m->view)));
    if (m->label[0]) {
        tbl_stream_arn(m, m->label, arn);
        json_object_set_new(d, "LatestStreamLabel", json_string(m->label));
        json_object_set_new(d, "LatestStreamArn", json_string(arn));
    }
    return d;
}

json_t *tbl_op_create_table(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    tbl_meta m = {0};
    const char *name = sp_json_str(req, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return NULL;
    json_t *defs = json_object_get(req, "AttributeDefinitions");
    json_t *billing = NULL, *pt = NULL;
    /* The billing mode and throughput come first, as DynamoDB orders its checks. */
    if (!parse_billing(req, true, &billing, &pt, e)) return NULL;
    json_decref(billing);
    json_decref(pt);
    billing = pt = NULL;
    if (!parse_attr_defs(defs, e)) return NULL;
    if (!parse_key_schema(json_object_get(req, "KeySchema"), defs, "keySchema", m.hash_key,
                          &m.hash_type, m.range_key, &m.range_type, e))
        return NULL;
    bool has_indexes = json_object_get(req, "LocalSecondaryIndexes") ||
                       json_object_get(req, "GlobalSecondaryIndexes");
    if (!has_indexes && json_array_size(defs) != (m.range_key[0] ? 2u : 1u)) {
        sp_err_invalid(e, "One or more parameter values were invalid: Number of attributes in "
                          "KeySchema does not exactly match number of attributes defined in "
                          "AttributeDefinitions");
        return NULL;
    }
    if (!parse_billing(req, true, &billing, &pt, e)) return NULL;
    const char *mode = json_string_value(json_object_get(billing, "BillingMode"));
    if (has_indexes && !check_indexes(req, defs, &m, mode && !strcmp(mode, "PAY_PER_REQUEST"),
                                      e)) {
        json_decref(billing);
        json_decref(pt);
        return NULL;
    }
    bool given;
    if (!parse_stream_spec(sp_json_object(req, "StreamSpecification", false, e), &m.view,
                           &given, e)) {
        json_decref(billing);
        json_decref(pt);
        return NULL;
    }
    snprintf(m.name, sizeof m.name, "%s", name);
    m.created_ms = sp_clock_wall_ms();
    m.retention_hours = TBL_RETENTION_DEFAULT_HOURS;
    if (m.view != TBL_VIEW_NONE) stream_label(m.created_ms, m.label);
    json_t *extra = json_pack("{s:O, s:O, s:o, s:o}", "AttributeDefinitions", defs,
                              "KeySchema", json_object_get(req, "KeySchema"),
                              "BillingModeSummary", billing, "ProvisionedThroughput", pt);
    json_t *lsi = index_descriptions(req, "LocalSecondaryIndexes", name, false, pt);
    json_t *gsi = index_descriptions(req, "GlobalSecondaryIndexes", name, true, pt);
    if (lsi) json_object_set_new(extra, "LocalSecondaryIndexes", lsi);
    if (gsi) json_object_set_new(extra, "GlobalSecondaryIndexes", gsi);
    m.indexes = tbl_indexes_build(db, extra);
    if (db->status_ms) {
        m.busy = TBL_BUSY_CREATING;
        m.busy_until_ms = m.created_ms + db->status_ms;
    }
    bool ok = tbl_table_create(db, &m, extra, e);
    json_decref(extra);
    if (!ok) return NULL;
    /* As DynamoDB answers: CREATING in the response, then CREATING for the status window
     * (server.status_transition_ms; none by default: ACTIVE from the first DescribeTable on). */
    json_t *desc = tbl_table_describe(db, &m, "CREATING");
    size_t i;
    json_t *ix;
    json_array_foreach(json_object_get(desc, "GlobalSecondaryIndexes"), i, ix)
        json_object_set_new(ix, "IndexStatus", json_string("CREATING"));
    return json_pack("{s:o}", "TableDescription", desc);
}

json_t *tbl_op_describe_table(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    const char *name = sp_json_str(req, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return NULL;
    json_t *ghost = tbl_meta_ghost_desc(ctx, name);
    if (ghost) return json_pack("{s:o}", "Table", ghost);
    if (!tbl_meta_get(ctx, name, &m, true, e)) return NULL;
    char busy = tbl_meta_busy(&m);
    json_t *d = tbl_table_describe(ctx, &m, tbl_busy_name(busy));
    /* Indexes of a table being created are CREATING; an index being added is CREATING and
     * not yet backfilling during its table's UPDATING window. */
    size_t i;
    json_t *ix;
    json_array_foreach(json_object_get(d, "GlobalSecondaryIndexes"), i, ix) {
        const char *n = json_string_value(json_object_get(ix, "IndexName"));
        if (busy == TBL_BUSY_CREATING) {
            json_object_set_new(ix, "IndexStatus", json_string("CREATING"));
        } else if (busy == TBL_BUSY_UPDATING && n && !strcmp(n, m.busy_index)) {
            json_object_set_new(ix, "IndexStatus", json_string("CREATING"));
            json_object_set_new(ix, "Backfilling", json_false());
        }
    }
    return json_pack("{s:o}", "Table", d);
}

/* DynamoDB refuses to change a table inside its CREATING or UPDATING window. */
static bool busy_refused(const tbl_meta *m, sp_err *e)
{
    char busy = tbl_meta_busy(m);
    if (busy != TBL_BUSY_CREATING && busy != TBL_BUSY_UPDATING) return false;
    sp_err_set(e, 400, "ResourceInUseException", "Attempt to change a resource which is still "
               "in use: Table is being %s: %s", busy == TBL_BUSY_CREATING ? "created" : "updated",
               m->name);
    return true;
}

json_t *tbl_op_list_tables(void *ctx, json_t *req, sp_err *e)
{
    long long limit = sp_json_int(req, "Limit", false, TBL_LIST_TABLES_MAX, e);
    const char *start = sp_json_str(req, "ExclusiveStartTableName", false, e);
    if (sp_err_failed(e)) return NULL;
    if (limit < 1 || limit > TBL_LIST_TABLES_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '%lld' at 'limit' failed to "
                          "satisfy constraint: Member must have value %s", limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return NULL;
    }
    if (start && !tbl_check_table_name(start, "exclusiveStartTableName", e)) return NULL;
    char(*names)[TBL_NAME_MAX + 1];
    size_t n = tbl_meta_names(ctx, &names);
    json_t *out = json_array();
    size_t i = 0;
    while (i < n && start && strcmp(names[i], start) <= 0) i++;
    for (; i < n && json_array_size(out) < (size_t)limit; i++)
        json_array_append_new(out, json_string(names[i]));
    json_t *resp = json_pack("{s:o}", "TableNames", out);
    if (i < n) json_object_set_new(resp, "LastEvaluatedTableName", json_string(names[i - 1]));
    free(names);
    return resp;
}

/* ---- UpdateTable ------------------------------------------------------------------------- */

/* The checks of GlobalSecondaryIndexUpdates that need no table, in DynamoDB's order: every
 * entry names an action, and an index at most once. */
static bool gsi_updates_check(const json_t *ups, sp_err *e)
{
    static const char *const kinds[] = {"Update", "Create", "Delete"};
    json_t *seen = json_object();
    bool ok = true;
    size_t i;
    json_t *u;
    json_array_foreach(ups, i, u) {
        const json_t *act = NULL;
        for (int k = 0; k < 3 && !act; k++)
            if (json_is_object(json_object_get(u, kinds[k]))) act = json_object_get(u, kinds[k]);
        if (!act) {
            sp_err_invalid(e, "One or more parameter values were invalid: One of "
                              "GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate."
                              "Create, GlobalSecondaryIndexUpdate.Delete must not be null");
            ok = false;
            break;
        }
        const char *n = json_string_value(json_object_get(act, "IndexName"));
        if (!n) n = "";
        if (json_object_get(seen, n)) {
            sp_err_invalid(e, "One or more parameter values were invalid: Only one global "
                              "secondary index update per index is allowed simultaneously. "
                              "Index: %s", n);
            ok = false;
            break;
        }
        json_object_set_new(seen, n, json_true());
    }
    json_decref(seen);
    return ok;
}

/* Applies a throughput change to stored (the table's or an index's ProvisionedThroughput
 * object, changed in place to the new values, dated at the change's completion) and returns
 * what the UpdateTable response shows while the change is under way (the old values, dated
 * at the request), as DynamoDB does. New reference, or NULL with e set when nothing changes. */
static json_t *throughput_change(json_t *stored, const json_t *req_pt, int64_t now_ms, sp_err *e)
{
    json_int_t cr = json_integer_value(json_object_get(stored, "ReadCapacityUnits"));
    json_int_t cw = json_integer_value(json_object_get(stored, "WriteCapacityUnits"));
    json_int_t nr = json_integer_value(json_object_get(req_pt, "ReadCapacityUnits"));
    json_int_t nw = json_integer_value(json_object_get(req_pt, "WriteCapacityUnits"));
    if (cr == nr && cw == nw) {
        sp_err_invalid(e, "The provisioned throughput for the table will not change. The "
                          "requested value equals the current value. Current ReadCapacityUnits "
                          "provisioned for the table: %lld. Requested ReadCapacityUnits: %lld. "
                          "Current WriteCapacityUnits provisioned for the table: %lld. "
                          "Requested WriteCapacityUnits: %lld. Refer to the Amazon DynamoDB "
                          "Developer Guide for current limits and how to request higher limits.",
                       (long long)cr, (long long)nr, (long long)cw, (long long)nw);
        return NULL;
    }
    json_t *shown = json_deep_copy(stored);
    double requested = (double)now_ms / 1000.0;
    /* The change completes after it was asked for: a later date than the response shows. */
    double done = (double)(now_ms + 1) / 1000.0;
    if (nr > cr || nw > cw) {
        json_object_set_new(shown, "LastIncreaseDateTime", json_real(requested));
        json_object_set_new(stored, "LastIncreaseDateTime", json_real(done));
    }
    if (nr < cr || nw < cw) {
        json_object_set_new(shown, "LastDecreaseDateTime", json_real(requested));
        json_object_set_new(stored, "LastDecreaseDateTime", json_real(done));
        json_object_set_new(stored, "NumberOfDecreasesToday",
                            json_integer(json_integer_value(json_object_get(
                                             stored, "NumberOfDecreasesToday")) + 1));
    }
    json_object_set_new(stored, "ReadCapacityUnits", json_integer(nr));
    json_object_set_new(stored, "WriteCapacityUnits", json_integer(nw));
    return shown;
}

static json_t *index_by_name(json_t *list, const char *name, size_t *at)
{
    size_t i;
    json_t *ix;
    json_array_foreach(list, i, ix) {
        const char *n = json_string_value(json_object_get(ix, "IndexName"));
        if (n && !strcmp(n, name)) {
            if (at) *at = i;
            return ix;
        }
    }
    return NULL;
}

/* Keeps only the attribute definitions that are a key of the table or of an index (a deleted
 * index takes its definitions with it, as in DynamoDB). */
static void attr_defs_prune(json_t *desc, const tbl_meta *m)
{
    json_t *defs = json_object_get(desc, "AttributeDefinitions");
    for (size_t i = json_array_size(defs); i-- > 0;) {
        const char *n = json_string_value(json_object_get(json_array_get(defs, i),
                                                          "AttributeName"));
        if (!n || !strcmp(n, m->hash_key) || !strcmp(n, m->range_key) ||
            index_key_of(json_object_get(desc, "LocalSecondaryIndexes"), n) ||
            index_key_of(json_object_get(desc, "GlobalSecondaryIndexes"), n))
            continue;
        json_array_remove(defs, i);
    }
}

/* One Create of GlobalSecondaryIndexUpdates against the table's description nx (changed in
 * place): the index is checked as CreateTable checks one, with the request's attribute
 * definitions merged into the table's. */
static bool gsi_create(json_t *nx, const json_t *req, const json_t *cr, const tbl_meta *m,
                       bool ppr, sp_err *e)
{
    const char *name = json_string_value(json_object_get(cr, "IndexName"));
    if (!name) name = "";   /* check_index names the problem */
    if (index_by_name(json_object_get(nx, "GlobalSecondaryIndexes"), name, NULL) ||
        index_by_name(json_object_get(nx, "LocalSecondaryIndexes"), name, NULL)) {
        sp_err_invalid(e, "One or more parameter values were invalid: Attempting to create an "
                          "index which already exists");
        return false;
    }
    json_t *defs = json_object_get(nx, "AttributeDefinitions");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(req, "AttributeDefinitions"), i, d) {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        const char *t = json_string_value(json_object_get(d, "AttributeType"));
        if (!n || !t) continue;
        char have = attr_type(defs, n);
        if (have && have != t[0]) {
            sp_err_invalid(e, "One or more parameter values were invalid: Attribute %s is "
                              "already defined with type %c, cannot redefine it as %s", n, have,
                           t);
            return false;
        }
        if (!have) json_array_append_new(defs, json_pack("{s:s, s:s}", "AttributeName", n,
                                                         "AttributeType", t));
    }
    if (!check_index(cr, defs, m->hash_key, true, ppr, e)) return false;
    json_t *gsis = json_object_get(nx, "GlobalSecondaryIndexes");
    if (json_array_size(gsis) + 1 > TBL_GSI_MAX) {
        sp_err_set(e, 400, "LimitExceededException", "GlobalSecondaryIndex count exceeds the "
                   "per-table limit of %zu", (size_t)TBL_GSI_MAX);
        return false;
    }
    json_t *one = json_pack("{s:[O]}", "GlobalSecondaryIndexes", cr);
    json_t *desc = index_descriptions(one, "GlobalSecondaryIndexes", m->name, true,
                                      json_object_get(nx, "ProvisionedThroughput"));
    json_decref(one);
    if (!gsis) json_object_set_new(nx, "GlobalSecondaryIndexes", gsis = json_array());
    json_array_extend(gsis, desc);
    json_decref(desc);
    return true;
}

static json_t *extra_load(tbl_conn *c, int64_t tid, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(c->sql, "SELECT extra FROM tables WHERE tid=?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, tid);
        if (sqlite3_step(st) == SQLITE_ROW)
            out = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    }
    if (!out) tbl_sql_err(c, "reading the table's definition", e);
    sqlite3_finalize(st);
    return out;
}

/* Applies the table-level changes of an UpdateTable request (throughput, billing mode,
 * GlobalSecondaryIndexUpdates) to nx, the stored description, in DynamoDB's check order.
 * shown collects what the response shows instead of the stored values (throughputs under
 * way, index statuses); *created and *deleted name the index created or deleted (borrowed
 * from req). */
static bool table_changes(json_t *nx, const json_t *req, const tbl_meta *m, json_t *billing,
                          json_t *pt, int64_t now_ms, json_t *shown, const char **created,
                          const char **deleted, sp_err *e)
{
    const char *tmode = json_string_value(json_object_get(json_object_get(nx,
                                                          "BillingModeSummary"), "BillingMode"));
    const char *rmode = billing ? json_string_value(json_object_get(billing, "BillingMode"))
                                : tmode;
    bool ppr = rmode && !strcmp(rmode, "PAY_PER_REQUEST");
    const json_t *req_pt = json_object_get(req, "ProvisionedThroughput");
    if (req_pt && ppr) {
        sp_err_invalid(e, "One or more parameter values were invalid: Neither "
                          "ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                          "BillingMode is PAY_PER_REQUEST");
        return false;
    }
    const json_t *ups = json_object_get(req, "GlobalSecondaryIndexUpdates");
    const char *missing = "";
    if (json_array_size(ups) > TBL_GSI_UPDATES_MAX) goto limit;
    size_t i, online = 0;
    json_t *u;
    json_array_foreach(ups, i, u)
        online += json_object_get(u, "Create") || json_object_get(u, "Delete");
    if (online > 1) goto limit;
    json_array_foreach(ups, i, u) {
        const json_t *up_pt = json_object_get(json_object_get(u, "Update"),
                                              "ProvisionedThroughput");
        if (json_integer_value(json_object_get(up_pt, "ReadCapacityUnits")) >
                TBL_CAPACITY_BOUND ||
            json_integer_value(json_object_get(up_pt, "WriteCapacityUnits")) >
                TBL_CAPACITY_BOUND) {
            sp_err_invalid(e, "This operation cannot be performed with given input values. "
                              "Please contact DynamoDB service team for more info: Action "
                              "Blocked: IndexUpdate");
            return false;
        }
    }
    if (billing) {
        /* The time of the latest switch to PAY_PER_REQUEST stays with the summary. */
        json_t *was = json_object_get(json_object_get(nx, "BillingModeSummary"),
                                      "LastUpdateToPayPerRequestDateTime");
        json_t *summary = json_deep_copy(billing);
        if (ppr && !(tmode && !strcmp(tmode, "PAY_PER_REQUEST")))
            json_object_set_new(summary, "LastUpdateToPayPerRequestDateTime",
                                json_real((double)now_ms / 1000.0));
        else if (was)
            json_object_set(summary, "LastUpdateToPayPerRequestDateTime", was);
        json_object_set_new(nx, "BillingModeSummary", summary);
    }
    if (req_pt) {
        json_t *stored = json_object_get(nx, "ProvisionedThroughput");
        if (!stored) json_object_set_new(nx, "ProvisionedThroughput", stored = json_object());
        json_t *was = throughput_change(stored, req_pt, now_ms, e);
        if (!was) return false;
        json_object_set_new(shown, "ProvisionedThroughput", was);
    } else if (pt) {
        json_object_set(nx, "ProvisionedThroughput", pt); /* now PAY_PER_REQUEST */
    }
    json_t *gsis = json_object_get(nx, "GlobalSecondaryIndexes");
    json_t *shown_ix = json_object();
    json_object_set_new(shown, "indexes", shown_ix);
    json_array_foreach(ups, i, u) {
        const json_t *up = json_object_get(u, "Update");
        const json_t *cr = json_object_get(u, "Create");
        const json_t *del = json_object_get(u, "Delete");
        const json_t *act = up ? up : cr ? cr : del;
        const char *name = json_string_value(json_object_get(act, "IndexName"));
        if (!name) name = "";
        if (cr || del) {
            if (cr) {
                if (!gsi_create(nx, req, cr, m, ppr, e)) return false;
                gsis = json_object_get(nx, "GlobalSecondaryIndexes");
                *created = name;
                json_object_set_new(shown_ix, name, json_pack("{s:s, s:b}", "IndexStatus",
                                                              "CREATING", "Backfilling", 0));
                continue;
            }
            size_t at;
            json_t *ix = index_by_name(gsis, name, &at);
            if (!ix) {
                missing = name;
                goto not_found;
            }
            json_t *gone = json_deep_copy(ix);
            json_object_set_new(gone, "IndexStatus", json_string("DELETING"));
            json_object_set_new(shown_ix, name, gone);
            json_array_remove(gsis, at);
            *deleted = name;
            continue;
        }
        json_t *ix = index_by_name(gsis, name, NULL);
        if (!ix) {
            missing = name;
            goto not_found;
        }
        if (ppr) {
            sp_err_invalid(e, "One or more parameter values were invalid: ProvisionedThroughput "
                              "should not be specified for index: %s when BillingMode is "
                              "PAY_PER_REQUEST", name);
            return false;
        }
        json_t *stored = json_object_get(ix, "ProvisionedThroughput");
        if (!stored) json_object_set_new(ix, "ProvisionedThroughput", stored = json_object());
        json_t *was = throughput_change(stored, json_object_get(up, "ProvisionedThroughput"),
                                        now_ms, e);
        if (!was) return false;
        json_object_set_new(shown_ix, name, json_pack("{s:s, s:o}", "IndexStatus", "UPDATING",
                                                      "ProvisionedThroughput", was));
    }
    if (gsis && !json_array_size(gsis)) json_object_del(nx, "GlobalSecondaryIndexes");
    attr_defs_prune(nx, m);
    return true;
limit:
    sp_err_set(e, 400, "LimitExceededException", "Subscriber limit exceeded: Only 1 online "
               "index can be created or deleted simultaneously per table");
    return false;
not_found:
    sp_err_set(e, 400, "ResourceNotFoundException",
               "Requested resource not found: Index: %s not found", missing);
    return false;
}

/* The response's TableDescription: the stored one with what is still under way shown. */
static void shown_apply(json_t *desc, json_t *shown)
{
    json_t *pt = json_object_get(shown, "ProvisionedThroughput");
    if (pt) json_object_set(desc, "ProvisionedThroughput", pt);
    json_t *ixs = json_object_get(shown, "indexes");
    json_t *gsis = json_object_get(desc, "GlobalSecondaryIndexes");
    const char *name;
    json_t *v;
    json_object_foreach(ixs, name, v) {
        json_t *ix = index_by_name(gsis, name, NULL);
        if (!ix) {
            if (!gsis) json_object_set_new(desc, "GlobalSecondaryIndexes", gsis = json_array());
            json_array_append(gsis, v);  /* being deleted */
            continue;
        }
        json_object_update(ix, v);
    }
}

json_t *tbl_op_update_table(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    tbl_meta m, before;
    const char *name = sp_json_str(req, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return NULL;
    json_t *spec = sp_json_object(req, "StreamSpecification", false, e);
    json_t *billing = NULL, *pt = NULL, *nx = NULL, *shown = NULL;
    const json_t *ups = json_object_get(req, "GlobalSecondaryIndexUpdates");
    if (sp_err_failed(e) || !parse_billing(req, false, &billing, &pt, e)) return NULL;
    tbl_view view;
    bool given;
    if (!parse_stream_spec(spec, &view, &given, e)) goto fail;
    if (!given && !billing && !pt && !json_array_size(ups)) {
        sp_err_invalid(e, "At least one of ProvisionedThroughput, BillingMode, "
                          "UpdateStreamEnabled, GlobalSecondaryIndexUpdates or "
                          "SSESpecification or ReplicaUpdates is required");
        goto fail;
    }
    if (!gsi_updates_check(ups, e)) goto fail;
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) goto fail;
    if (!tbl_meta_get(db, name, &m, true, e) || busy_refused(&m, e)) goto fail_txn;
    before = m;
    if (!(nx = extra_load(t.c, m.tid, e))) goto fail_txn;
    shown = json_object();
    const char *created = NULL, *deleted = NULL;
    if ((billing || pt || json_array_size(ups)) &&
        !table_changes(nx, req, &m, billing, pt, t.now_ms, shown, &created, &deleted, e))
        goto fail_txn;
    if (given) {
        if (view != TBL_VIEW_NONE && m.view != TBL_VIEW_NONE) {
            sp_err_invalid(e, "Table already has an enabled stream: TableName: %s", m.name);
            goto fail_txn;
        }
        if (view == TBL_VIEW_NONE && m.view == TBL_VIEW_NONE) {
            sp_err_invalid(e, "Table %s does not have a stream to disable", m.name);
            goto fail_txn;
        }
        m.view = view;
        if (view != TBL_VIEW_NONE) {
            stream_label(t.now_ms, m.label);
            m.stream_start = tbl_written_seq(db, m.tid, m.last_seq);
        }
    }
    char *text = tbl_item_dump(nx, NULL);
    bool ok = exec_bound(t.c, "UPDATE tables SET view=?1, stream_start=?2 WHERE tid=?3",
                         tbl_view_name(m.view), (int64_t)m.stream_start, m.tid, e) &&
              exec_bound(t.c, "UPDATE tables SET label=?1 WHERE tid=?3", m.label, 0, m.tid, e) &&
              exec_bound(t.c, "UPDATE tables SET extra=?1 WHERE tid=?3", text, 0, m.tid, e);
    free(text);
    if (!ok) goto fail_txn;
    if (created || deleted) {
        /* A new, immutable index set for the table's new version; the entries of a created
         * index are filled from the items in this same transaction. */
        m.indexes = tbl_indexes_build(db, nx);
        if (deleted && !tbl_index_drop(t.c, m.tid, deleted, e)) goto fail_txn;
        if (created && !tbl_index_backfill(t.c, &m, tbl_index_find(&m, created), e))
            goto fail_txn;
    }
    bool changing = json_object_size(json_object_get(shown, "indexes")) ||
                    json_object_get(shown, "ProvisionedThroughput");
    if (changing && db->status_ms) {
        m.busy = TBL_BUSY_UPDATING;
        m.busy_until_ms = t.now_ms + db->status_ms;
        snprintf(m.busy_index, sizeof m.busy_index, "%s", created ? created : "");
    }
    /* Published before the commit: writers that run while this group commits must already
     * maintain the new index. */
    tbl_meta_set(db, &m, false);
    if (!tbl_txn_commit(&t, e)) {
        tbl_meta_set(db, &before, false);
        goto fail;
    }
    json_t *desc = tbl_table_describe(db, &m, changing ? "UPDATING" : "ACTIVE");
    shown_apply(desc, shown);
    json_decref(billing);
    json_decref(pt);
    json_decref(nx);
    json_decref(shown);
    return json_pack("{s:o}", "TableDescription", desc);
fail_txn:
    tbl_txn_rollback(&t);
fail:
    json_decref(billing);
    json_decref(pt);
    json_decref(nx);
    json_decref(shown);
    return NULL;
}

json_t *tbl_op_delete_table(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    tbl_meta m;
    const char *name = sp_json_str(req, "TableName", false, e);
    if (sp_err_failed(e) || !tbl_check_table_name(name, "tableName", e)) return NULL;
    json_t *ghost = tbl_meta_ghost_desc(db, name);
    if (ghost) return json_pack("{s:o}", "TableDescription", ghost); /* already DELETING */
    if (!tbl_meta_get(db, name, &m, true, e) || busy_refused(&m, e)) return NULL;
    json_t *desc = tbl_table_describe(db, &m, "DELETING");
    /* DynamoDB's description of a table being deleted leaves out its global indexes. */
    json_object_del(desc, "GlobalSecondaryIndexes");
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, e)) goto fail;
    if (!tbl_meta_get(db, name, &m, true, e) || busy_refused(&m, e)) goto fail_txn;
    if (!exec_bound(t.c, "DELETE FROM items WHERE tid=?3", NULL, 0, m.tid, e) ||
        !tbl_index_drop(t.c, m.tid, NULL, e) ||
        !exec_bound(t.c, "DELETE FROM stream WHERE tid=?3", NULL, 0, m.tid, e) ||
        !exec_bound(t.c, "DELETE FROM tables WHERE tid=?3", NULL, 0, m.tid, e))
        goto fail_txn;
    if (!tbl_txn_commit(&t, e)) goto fail;
    tbl_meta_set_ghost(db, &m, desc);   /* DELETING for the status window, if any */
    return json_pack("{s:o}", "TableDescription", desc);
fail_txn:
    tbl_txn_rollback(&t);
fail:
    json_decref(desc);
    return NULL;
}

bool tbl_table_ensure(tbl_db *db, const sp_cfg_table *cfg, sp_err *e)
{
    tbl_meta m = {0};
    sp_err ignore = {0};
    if (tbl_meta_get(db, cfg->name, &m, true, &ignore)) return true;
    if (!tbl_check_table_name(cfg->name, "tables[].name", e)) return false;
    snprintf(m.name, sizeof m.name, "%s", cfg->name);
    snprintf(m.hash_key, sizeof m.hash_key, "%s", cfg->hash_key);
    m.hash_type = cfg->hash_key_type ? cfg->hash_key_type[0] : 'S';
    if (cfg->range_key) {
        snprintf(m.range_key, sizeof m.range_key, "%s", cfg->range_key);
        m.range_type = cfg->range_key_type ? cfg->range_key_type[0] : 'S';
    }
    m.created_ms = sp_clock_wall_ms();
    m.retention_hours = cfg->stream_retention_hours > 0 ? cfg->stream_retention_hours
                                                        : TBL_RETENTION_DEFAULT_HOURS;
    if (cfg->stream_view_type && tbl_view_parse(cfg->stream_view_type, &m.view))
        stream_label(m.created_ms, m.label);
    json_t *defs = json_array(), *ks = json_array();
    char t[2] = {m.hash_type, 0};
    json_array_append_new(defs, json_pack("{s:s, s:s}", "AttributeName", m.hash_key,
                                          "AttributeType", t));
    json_array_append_new(ks, json_pack("{s:s, s:s}", "AttributeName", m.hash_key, "KeyType",
                                        "HASH"));
    if (m.range_key[0]) {
        t[0] = m.range_type;
        json_array_append_new(defs, json_pack("{s:s, s:s}", "AttributeName", m.range_key,
                                              "AttributeType", t));
        json_array_append_new(ks, json_pack("{s:s, s:s}", "AttributeName", m.range_key,
                                            "KeyType", "RANGE"));
    }
    json_t *extra = json_pack("{s:o, s:o, s:{s:s}, s:{s:i, s:i, s:i}}", "AttributeDefinitions",
                              defs, "KeySchema", ks, "BillingModeSummary", "BillingMode",
                              "PAY_PER_REQUEST", "ProvisionedThroughput",
                              "NumberOfDecreasesToday", 0, "ReadCapacityUnits", 0,
                              "WriteCapacityUnits", 0);
    bool ok = tbl_table_create(db, &m, extra, e);
    json_decref(extra);
    return ok;
}
