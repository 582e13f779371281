/* Athena's metadata operations: workgroups (CreateWorkGroup, GetWorkGroup, ListWorkGroups,
 * UpdateWorkGroup, DeleteWorkGroup), named queries (CreateNamedQuery, GetNamedQuery,
 * ListNamedQueries, BatchGetNamedQuery, DeleteNamedQuery) and the read-only view of the Glue
 * catalog Athena gives (ListDataCatalogs, GetDataCatalog, ListDatabases, GetDatabase,
 * ListTableMetadata, GetTableMetadata).
 *
 * Workgroups and named queries are kept as catalog definitions (kinds QRY_KIND_WORKGROUP and
 * QRY_KIND_NAMED_QUERY in the catalog's SQLite file), so they survive a restart as AWS keeps
 * them and memory holds only what one call lists; each kind is capped at the Athena quota it
 * mirrors. The `primary` workgroup is made on first use and can be changed but not deleted.
 * The only data catalog is AwsDataCatalog (type GLUE), the salespipe catalog itself.
 *
 * Every function here is called with the Athena lock held (athena_call), on a catalog
 * connection of the API's own. Shapes and limits follow botocore's athena model. */
#include "qry_int.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char KIND_WORKGROUP[] = "athena-workgroup";
static const char KIND_NAMED_QUERY[] = "athena-named-query";
static const char PRIMARY[] = "primary";
static const char DATA_CATALOG[] = "AwsDataCatalog";
static const char S3_SCHEME[] = "s3://";

/* Athena's model: WorkGroupName [a-zA-Z0-9._-]{1,128}, descriptions 1024, NameString 128,
 * DatabaseString 255, QueryString 262144, list pages of at most 50; Athena's service quota of
 * 1000 workgroups per account, and the same cap on named queries here. */
enum {
    WG_NAME_MAX = 128,
    WG_DESCRIPTION_MAX = 1024,
    NQ_NAME_MAX = 128,
    NQ_DESCRIPTION_MAX = 1024,
    NQ_DATABASE_MAX = 255,
    NQ_QUERY_MAX = 262144,
    NQ_TOKEN_MIN = 32, /* IdempotencyToken 32..128 */
    NQ_TOKEN_MAX = 128,
    NQ_ID_MAX = 128,
    PAGE_MAX = 50,
    BATCH_MAX = 50,
    WORKGROUPS_MAX = 1000,
    NAMED_QUERIES_MAX = 1000,
    TAGS_MAX = 50,
    TAG_KEY_MAX = 128,
    TAG_VALUE_MAX = 256,
    CATALOG_NAME_MAX = 256,
    EXPRESSION_MAX = 256,
    OUTPUT_LOCATION_MAX = 1024,
};

static void invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
static void invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "InvalidRequestException", fmt, ap);
    va_end(ap);
}

bool qry_workgroup_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > WG_NAME_MAX) return false;
    for (; *s; s++)
        if (!strchr("._-", *s) && !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
            !(*s >= '0' && *s <= '9'))
            return false;
    return true;
}

static bool check_len(const char *what, const char *v, size_t max, sp_err *e)
{
    if (v && (!*v || strlen(v) > max)) {
        invalid(e, "%s must be 1 to %zu characters", what, max);
        return false;
    }
    return true;
}

static const char *workgroup_arg(const json_t *req, const char *key, bool required, sp_err *e)
{
    const char *wg = sp_json_str(req, key, required, e);
    if (sp_err_failed(e)) return NULL;
    if (wg && !qry_workgroup_name_valid(wg)) {
        invalid(e, "%s '%.128s' must be 1 to %d characters of [a-zA-Z0-9._-]", key, wg, WG_NAME_MAX);
        return NULL;
    }
    return wg;
}

/* Max results in [min, PAGE_MAX] (0 means the default where min is 0). */
static long page_size(const json_t *req, long min, sp_err *e)
{
    long long max = sp_json_int(req, "MaxResults", false, PAGE_MAX, e);
    if (sp_err_failed(e)) return -1;
    if (max < min || max > PAGE_MAX) {
        invalid(e, "MaxResults must be between %ld and %d", min, PAGE_MAX);
        return -1;
    }
    return max ? (long)max : PAGE_MAX;
}

/* The position after which a page starts ("" for the first page), from NextToken. */
static bool page_after(const json_t *req, const char *scope, char *after, size_t size, sp_err *e)
{
    const char *token = sp_json_str(req, "NextToken", false, e);
    after[0] = '\0';
    if (sp_err_failed(e)) return false;
    if (token && *token && !cat_page_token_read(token, scope, after, size)) {
        invalid(e, "Invalid NextToken");
        return false;
    }
    return true;
}

static void page_next(json_t *out, const char *scope, const char *last)
{
    char *t = cat_page_token_make(scope, last);
    json_object_set_new(out, "NextToken", json_string(t));
    free(t);
}

/* The page entry for one element of a name-ordered list (a new reference), or NULL with e unset
 * to leave the element out (a filter), or NULL with e set to stop. */
typedef json_t *page_entry_fn(cat_catalog *c, const json_t *elem, void *ctx, sp_err *e);

/* A list element's name: the element itself (a name list) or its "Name" (definitions). */
static const char *page_name(const json_t *elem)
{
    return json_is_string(elem) ? json_string_value(elem)
                                : json_string_value(json_object_get(elem, "Name"));
}

/* The page of all (name-ordered, borrowed) that starts after `after`: at most max entries in a
 * new array under member of a new object, and a NextToken for scope when another entry
 * follows. NULL (and e) when an entry fails. */
static json_t *page_fill(cat_catalog *c, const json_t *all, const char *member, const char *after,
                         long max, const char *scope, page_entry_fn *entry, void *ctx, sp_err *e)
{
    json_t *list = json_array(), *out = json_pack("{s:o}", member, list);
    size_t i;
    json_t *elem;
    const char *last = NULL;
    json_array_foreach(all, i, elem) {
        const char *name = page_name(elem);
        if (!name || (after[0] && strcmp(name, after) <= 0)) continue;
        json_t *shown = entry(c, elem, ctx, e);
        if (!shown) {
            if (sp_err_failed(e)) break;
            continue;
        }
        if ((long)json_array_size(list) == max) {
            json_decref(shown);
            page_next(out, scope, last);
            break;
        }
        json_array_append_new(list, shown);
        last = name;
    }
    if (sp_err_failed(e)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- tags ------------------------------------------------------------------------------- */

/* Tags: [{"Key","Value"}] as Athena's TagList (borrowed); NULL is fine. */
static bool tags_check(const json_t *tags, sp_err *e)
{
    if (!tags) return true;
    if (!json_is_array(tags) || json_array_size(tags) > TAGS_MAX) {
        invalid(e, "Tags must be a list of at most %d {Key, Value} tags", TAGS_MAX);
        return false;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *k = json_is_object(t) ? sp_json_str(t, "Key", true, e) : NULL;
        const char *v = json_is_object(t) ? sp_json_str(t, "Value", false, e) : NULL;
        if (sp_err_failed(e) || !k || !*k || strlen(k) > TAG_KEY_MAX ||
            (v && strlen(v) > TAG_VALUE_MAX) || !strncasecmp(k, "aws:", 4)) {
            sp_err_clear(e);
            invalid(e, "Tags[%zu]: Key must be 1 to %d characters not starting with aws:, Value "
                       "at most %d", i, TAG_KEY_MAX, TAG_VALUE_MAX);
            return false;
        }
    }
    return true;
}

/* ---- workgroups ------------------------------------------------------------------------- */

static json_t *engine_version(void)
{
    return json_pack("{s:s, s:s}", "SelectedEngineVersion", "AUTO", "EffectiveEngineVersion",
                     "Athena engine version 3");
}

static bool output_location_check(const char *loc, sp_err *e)
{
    if (loc && (strncmp(loc, S3_SCHEME, strlen(S3_SCHEME)) || strlen(loc) <= strlen(S3_SCHEME) ||
                strlen(loc) > OUTPUT_LOCATION_MAX)) {
        invalid(e, "OutputLocation '%.200s' must be an s3://bucket/prefix/ location", loc);
        return false;
    }
    return true;
}

/* Members of a WorkGroupConfiguration this server keeps: */
static const char *const CONFIG_MEMBERS[] = {
    "ResultConfiguration", "EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled",
    "BytesScannedCutoffPerQuery", "RequesterPaysEnabled", "EngineVersion", NULL};

static bool member_of(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(*list, key)) return true;
    return false;
}

/* Validates a WorkGroupConfiguration (borrowed) and returns the configuration to keep: the
 * defaults Athena shows, overlaid with the request. New reference or NULL with e set. */
static json_t *config_from_request(const json_t *cfg, sp_err *e)
{
    json_t *out = json_pack("{s:b, s:b, s:b, s:o}", "EnforceWorkGroupConfiguration", true,
                            "PublishCloudWatchMetricsEnabled", true, "RequesterPaysEnabled",
                            false, "EngineVersion", engine_version());
    if (!cfg) return out;
    if (!json_is_object(cfg)) {
        invalid(e, "Configuration must be an object");
        goto bad;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        if (!member_of(key, CONFIG_MEMBERS)) {
            invalid(e, "Configuration.%s is not supported by salespipe", key);
            goto bad;
        }
    }
    json_t *rc = sp_json_object(cfg, "ResultConfiguration", false, e);
    const char *loc = rc ? sp_json_str(rc, "OutputLocation", false, e) : NULL;
    if (sp_err_failed(e) || !output_location_check(loc, e)) goto bad;
    for (const char *const *b = (const char *const[]){"EnforceWorkGroupConfiguration",
                                                     "PublishCloudWatchMetricsEnabled",
                                                     "RequesterPaysEnabled", NULL};
         *b; b++) {
        json_t *x = json_object_get(cfg, *b);
        if (x && !json_is_boolean(x)) {
            invalid(e, "Configuration.%s must be a boolean", *b);
            goto bad;
        }
        if (x) json_object_set(out, *b, x);
    }
    json_t *cut = json_object_get(cfg, "BytesScannedCutoffPerQuery");
    if (cut && (!json_is_integer(cut) || json_integer_value(cut) < 10000000)) {
        invalid(e, "Configuration.BytesScannedCutoffPerQuery must be an integer of at least "
                   "10000000");
        goto bad;
    }
    if (cut) json_object_set(out, "BytesScannedCutoffPerQuery", cut);
    if (rc) json_object_set_new(out, "ResultConfiguration", json_deep_copy(rc));
    return out;
bad:
    json_decref(out);
    return NULL;
}

static size_t count_kind(cat_catalog *c, const char *kind, sp_err *e)
{
    json_t *all = cat_definition_list(c, kind, e);
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

/* Re-labels the catalog's not-found/exists errors with Athena's exception. */
static void as_athena(sp_err *e, const char *what, const char *name)
{
    if (!strcmp(e->code, "EntityNotFoundException")) {
        sp_err_clear(e);
        invalid(e, "%s %s is not found.", what, name);
    } else if (!strcmp(e->code, "AlreadyExistsException")) {
        sp_err_clear(e);
        invalid(e, "%s is already created.", what);
    }
}

bool qry_workgroup_ensure_primary(cat_catalog *c, sp_err *e)
{
    sp_err ge = {0};
    json_t *got = cat_definition_get(c, KIND_WORKGROUP, PRIMARY, &ge);
    if (got) {
        json_decref(got);
        return true;
    }
    if (strcmp(ge.code, "EntityNotFoundException")) {
        *e = ge;
        return false;
    }
    json_t *body = json_pack("{s:s, s:s, s:o, s:s}", "Name", PRIMARY, "State", "ENABLED",
                             "Configuration", config_from_request(NULL, e), "Description", "");
    bool ok = cat_definition_create(c, KIND_WORKGROUP, PRIMARY, body, e);
    json_decref(body);
    return ok;
}

/* The stored workgroup (a definition row, new reference) or NULL with Athena's error. */
static json_t *workgroup_get(cat_catalog *c, const char *name, sp_err *e)
{
    if (!strcmp(name, PRIMARY) && !qry_workgroup_ensure_primary(c, e)) return NULL;
    json_t *d = cat_definition_get(c, KIND_WORKGROUP, name, e);
    if (!d) as_athena(e, "WorkGroup", name);
    return d;
}

bool qry_workgroup_resolve(cat_catalog *c, const char *name, char **location, bool *enforce,
                           sp_err *e)
{
    json_t *d = workgroup_get(c, name, e);
    if (!d) return false;
    json_t *body = json_object_get(d, "Body");
    bool ok = true;
    if (strcmp(json_string_value(json_object_get(body, "State")) ?: "", "ENABLED")) {
        invalid(e, "WorkGroup %s is disabled.", name);
        ok = false;
    } else {
        json_t *cfg = json_object_get(body, "Configuration");
        const char *loc = json_string_value(
            json_object_get(json_object_get(cfg, "ResultConfiguration"), "OutputLocation"));
        *location = loc ? strdup(loc) : NULL;
        *enforce = json_is_true(json_object_get(cfg, "EnforceWorkGroupConfiguration"));
    }
    json_decref(d);
    return ok;
}

static json_t *workgroup_json(const json_t *d)
{
    json_t *body = json_object_get(d, "Body");
    json_t *out = json_pack("{s:O, s:O, s:O, s:f}", "Name", json_object_get(d, "Name"), "State",
                            json_object_get(body, "State"), "Configuration",
                            json_object_get(body, "Configuration"), "CreationTime",
                            json_integer_value(json_object_get(d, "CreatedMs")) / 1000.0);
    const char *desc = json_string_value(json_object_get(body, "Description"));
    if (desc) json_object_set_new(out, "Description", json_string(desc));
    return out;
}

json_t *qry_op_create_workgroup(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *name = workgroup_arg(req, "Name", true, e);
    const char *desc = name ? sp_json_str(req, "Description", false, e) : NULL;
    json_t *tags = json_object_get(req, "Tags");
    if (!name || sp_err_failed(e) || !check_len("Description", desc, WG_DESCRIPTION_MAX, e) ||
        !tags_check(tags, e))
        return NULL;
    if (!qry_workgroup_ensure_primary(c, e)) return NULL;
    json_t *cfg = config_from_request(json_object_get(req, "Configuration"), e);
    if (!cfg) return NULL;
    size_t n = count_kind(c, KIND_WORKGROUP, e);
    if (sp_err_failed(e)) {
        json_decref(cfg);
        return NULL;
    }
    if (n >= WORKGROUPS_MAX) {
        json_decref(cfg);
        sp_err_set(e, 400, "TooManyRequestsException",
                   "There are %zu workgroups; the limit is %d", n, WORKGROUPS_MAX);
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:s, s:o, s:s, s:o}", "Name", name, "State", "ENABLED",
                             "Configuration", cfg, "Description", desc ? desc : "", "Tags",
                             tags ? json_incref(tags) : json_array());
    bool ok = cat_definition_create(c, KIND_WORKGROUP, name, body, e);
    json_decref(body);
    if (!ok) {
        as_athena(e, "WorkGroup", name);
        return NULL;
    }
    return json_object();
}

json_t *qry_op_get_workgroup(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *name = workgroup_arg(req, "WorkGroup", true, e);
    json_t *d = name ? workgroup_get(c, name, e) : NULL;
    if (!d) return NULL;
    json_t *out = json_pack("{s:o}", "WorkGroup", workgroup_json(d));
    json_decref(d);
    return out;
}

static json_t *workgroup_summary(cat_catalog *c, const json_t *d, void *ctx, sp_err *e)
{
    (void)c, (void)ctx, (void)e;
    json_t *wg = workgroup_json(d);
    json_object_del(wg, "Configuration");
    json_object_set_new(wg, "EngineVersion", engine_version());
    return wg;
}

json_t *qry_op_list_workgroups(cat_catalog *c, json_t *req, sp_err *e)
{
    char after[WG_NAME_MAX + 1];
    long max = page_size(req, 1, e);
    if (max < 0 || !page_after(req, "ListWorkGroups", after, sizeof after, e)) return NULL;
    if (!qry_workgroup_ensure_primary(c, e)) return NULL;
    json_t *all = cat_definition_list(c, KIND_WORKGROUP, e);
    if (!all) return NULL;
    json_t *out = page_fill(c, all, "WorkGroups", after, max, "ListWorkGroups",
                            workgroup_summary, NULL, e);
    json_decref(all);
    return out;
}

/* ResultConfigurationUpdates over the kept ResultConfiguration (an object, changed). */
static bool apply_result_updates(json_t *rc, const json_t *u, sp_err *e)
{
    static const char *const members[] = {"OutputLocation", "RemoveOutputLocation",
                                          "EncryptionConfiguration",
                                          "RemoveEncryptionConfiguration", "ExpectedBucketOwner",
                                          "RemoveExpectedBucketOwner", "AclConfiguration",
                                          "RemoveAclConfiguration", NULL};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)u, key, v) {
        if (!member_of(key, members)) {
            invalid(e, "ResultConfigurationUpdates.%s is not a member", key);
            return false;
        }
        if (!strncmp(key, "Remove", 6)) {
            if (!json_is_boolean(v)) {
                invalid(e, "ResultConfigurationUpdates.%s must be a boolean", key);
                return false;
            }
            if (json_is_true(v)) json_object_del(rc, key + 6);
        }
    }
    const char *loc = sp_json_str(u, "OutputLocation", false, e);
    if (sp_err_failed(e) || !output_location_check(loc, e)) return false;
    json_object_foreach((json_t *)u, key, v)
        if (strncmp(key, "Remove", 6)) json_object_set(rc, key, v);
    return true;
}

json_t *qry_op_update_workgroup(cat_catalog *c, json_t *req, sp_err *e)
{
    static const char *const members[] = {
        "EnforceWorkGroupConfiguration", "ResultConfigurationUpdates",
        "PublishCloudWatchMetricsEnabled", "BytesScannedCutoffPerQuery",
        "RemoveBytesScannedCutoffPerQuery", "RequesterPaysEnabled", "EngineVersion", NULL};
    const char *name = workgroup_arg(req, "WorkGroup", true, e);
    const char *desc = name ? sp_json_str(req, "Description", false, e) : NULL;
    const char *state = name ? sp_json_str(req, "State", false, e) : NULL;
    json_t *upd = name ? sp_json_object(req, "ConfigurationUpdates", false, e) : NULL;
    if (!name || sp_err_failed(e) || !check_len("Description", desc, WG_DESCRIPTION_MAX, e))
        return NULL;
    if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED")) {
        invalid(e, "State '%.40s' is not ENABLED or DISABLED", state);
        return NULL;
    }
    json_t *d = workgroup_get(c, name, e);
    if (!d) return NULL;
    json_t *body = json_deep_copy(json_object_get(d, "Body"));
    json_decref(d);
    json_t *cfg = json_object_get(body, "Configuration");
    const char *key;
    json_t *v;
    if (upd) json_object_foreach(upd, key, v) {
        if (!member_of(key, members)) {
            invalid(e, "ConfigurationUpdates.%s is not supported by salespipe", key);
            goto bad;
        }
        if (strcmp(key, "ResultConfigurationUpdates") && strcmp(key, "EngineVersion") &&
            strcmp(key, "BytesScannedCutoffPerQuery") && !json_is_boolean(v)) {
            invalid(e, "ConfigurationUpdates.%s must be a boolean", key);
            goto bad;
        }
    }
    if (upd) {
        json_t *cut = json_object_get(upd, "BytesScannedCutoffPerQuery");
        if (cut && (!json_is_integer(cut) || json_integer_value(cut) < 10000000)) {
            invalid(e, "BytesScannedCutoffPerQuery must be an integer of at least 10000000");
            goto bad;
        }
        json_t *ru = sp_json_object(upd, "ResultConfigurationUpdates", false, e);
        if (sp_err_failed(e)) goto bad;
        if (ru) {
            json_t *rc = json_object_get(cfg, "ResultConfiguration");
            if (!rc) json_object_set_new(cfg, "ResultConfiguration", rc = json_object());
            if (!apply_result_updates(rc, ru, e)) goto bad;
        }
        json_object_foreach(upd, key, v) {
            if (!strcmp(key, "ResultConfigurationUpdates")) continue;
            if (!strcmp(key, "RemoveBytesScannedCutoffPerQuery")) {
                if (json_is_true(v)) json_object_del(cfg, "BytesScannedCutoffPerQuery");
                continue;
            }
            if (!strcmp(key, "EngineVersion")) continue; /* one engine: always AUTO / v3 */
            json_object_set(cfg, key, v);
        }
    }
    if (desc) json_object_set_new(body, "Description", json_string(desc));
    if (state) json_object_set_new(body, "State", json_string(state));
    if (!cat_definition_update(c, KIND_WORKGROUP, name, body, e)) {
        as_athena(e, "WorkGroup", name);
        goto bad;
    }
    json_decref(body);
    return json_object();
bad:
    json_decref(body);
    return NULL;
}

json_t *qry_op_delete_workgroup(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *name = workgroup_arg(req, "WorkGroup", true, e);
    bool recursive = name && sp_json_bool(req, "RecursiveDeleteOption", false, e);
    if (!name || sp_err_failed(e)) return NULL;
    if (!strcmp(name, PRIMARY)) {
        invalid(e, "Cannot delete the primary workgroup");
        return NULL;
    }
    json_t *d = workgroup_get(c, name, e);
    if (!d) return NULL;
    json_decref(d);
    json_t *all = cat_definition_list(c, KIND_NAMED_QUERY, e);
    if (!all) return NULL;
    size_t i, held = 0;
    json_t *q;
    json_array_foreach(all, i, q)
        held += !strcmp(json_string_value(json_object_get(json_object_get(q, "Body"),
                                                          "WorkGroup")) ?: "", name);
    if (held && !recursive) {
        json_decref(all);
        invalid(e, "WorkGroup %s is not empty: it holds %zu named queries; delete them or set "
                   "RecursiveDeleteOption", name, held);
        return NULL;
    }
    bool ok = true;
    json_array_foreach(all, i, q)
        if (ok && !strcmp(json_string_value(json_object_get(json_object_get(q, "Body"),
                                                            "WorkGroup")) ?: "", name))
            ok = cat_definition_delete(c, KIND_NAMED_QUERY,
                                       json_string_value(json_object_get(q, "Name")), e);
    json_decref(all);
    if (ok && !cat_definition_delete(c, KIND_WORKGROUP, name, e)) {
        as_athena(e, "WorkGroup", name);
        ok = false;
    }
    return ok ? json_object() : NULL;
}

/* ---- named queries ---------------------------------------------------------------------- */

static json_t *named_query_json(const json_t *d)
{
    json_t *out = json_deep_copy(json_object_get(json_object_get(d, "Body"), "Query"));
    json_object_set(out, "NamedQueryId", json_object_get(d, "Name"));
    return out;
}

static bool named_query_id_check(const char *id, sp_err *e)
{
    if (!id || !*id || strlen(id) > NQ_ID_MAX || strpbrk(id, " \t\r\n\f\v")) {
        invalid(e, "NamedQueryId must be 1 to %d characters without white space", NQ_ID_MAX);
        return false;
    }
    return true;
}

json_t *qry_op_create_named_query(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *name = sp_json_str(req, "Name", true, e);
    const char *db = sp_json_str(req, "Database", true, e);
    const char *sql = sp_json_str(req, "QueryString", true, e);
    const char *desc = sp_json_str(req, "Description", false, e);
    const char *token = sp_json_str(req, "ClientRequestToken", false, e);
    if (sp_err_failed(e)) return NULL;
    const char *wg = workgroup_arg(req, "WorkGroup", false, e);
    if (sp_err_failed(e) || !check_len("Name", name, NQ_NAME_MAX, e) ||
        !check_len("Database", db, NQ_DATABASE_MAX, e) ||
        !check_len("QueryString", sql, NQ_QUERY_MAX, e) ||
        !check_len("Description", desc, NQ_DESCRIPTION_MAX, e) ||
        !check_len("ClientRequestToken", token, NQ_TOKEN_MAX, e))
        return NULL;
    if (token && strlen(token) < NQ_TOKEN_MIN) {
        invalid(e, "ClientRequestToken must be %d to %d characters", NQ_TOKEN_MIN, NQ_TOKEN_MAX);
        return NULL;
    }
    if (!wg) wg = PRIMARY;
    json_t *w = workgroup_get(c, wg, e);
    if (!w) return NULL;
    json_decref(w);
    json_t *all = cat_definition_list(c, KIND_NAMED_QUERY, e);
    if (!all) return NULL;
    size_t i, n = json_array_size(all);
    json_t *d;
    /* ClientRequestToken makes the call idempotent: the same token gives the same id. */
    json_array_foreach(all, i, d) {
        const char *t = json_string_value(json_object_get(json_object_get(d, "Body"), "Token"));
        if (token && t && !strcmp(t, token)) {
            json_t *out = json_pack("{s:O}", "NamedQueryId", json_object_get(d, "Name"));
            json_decref(all);
            return out;
        }
    }
    json_decref(all);
    if (n >= NAMED_QUERIES_MAX) {
        sp_err_set(e, 400, "TooManyRequestsException",
                   "There are %zu named queries; the limit is %d", n, NAMED_QUERIES_MAX);
        return NULL;
    }
    char id[40];
    qry_uuid_v4(id);
    json_t *q = json_pack("{s:s, s:s, s:s, s:s}", "Name", name, "Database", db, "QueryString",
                          sql, "WorkGroup", wg);
    if (desc) json_object_set_new(q, "Description", json_string(desc));
    json_t *body = json_pack("{s:o, s:s}", "Query", q, "WorkGroup", wg);
    if (token) json_object_set_new(body, "Token", json_string(token));
    bool ok = cat_definition_create(c, KIND_NAMED_QUERY, id, body, e);
    json_decref(body);
    return ok ? json_pack("{s:s}", "NamedQueryId", id) : NULL;
}

static json_t *named_query_get(cat_catalog *c, const char *id, sp_err *e)
{
    json_t *d = cat_definition_get(c, KIND_NAMED_QUERY, id, e);
    if (!d && !strcmp(e->code, "EntityNotFoundException")) {
        sp_err_clear(e);
        invalid(e, "NamedQuery %s was not found", id);
    }
    return d;
}

json_t *qry_op_get_named_query(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *id = sp_json_str(req, "NamedQueryId", true, e);
    if (!id || !named_query_id_check(id, e)) return NULL;
    json_t *d = named_query_get(c, id, e);
    if (!d) return NULL;
    json_t *out = json_pack("{s:o}", "NamedQuery", named_query_json(d));
    json_decref(d);
    return out;
}

json_t *qry_op_delete_named_query(cat_catalog *c, json_t *req, sp_err *e)
{
    const char *id = sp_json_str(req, "NamedQueryId", true, e);
    if (!id || !named_query_id_check(id, e)) return NULL;
    if (!cat_definition_delete(c, KIND_NAMED_QUERY, id, e)) {
        if (!strcmp(e->code, "EntityNotFoundException")) {
            sp_err_clear(e);
            invalid(e, "NamedQuery %s was not found", id);
        }
        return NULL;
    }
    return json_object();
}

/* A named query's id when it belongs to the workgroup ctx, else left out. */
static json_t *named_query_id_in(cat_catalog *c, const json_t *d, void *ctx, sp_err *e)
{
    (void)c, (void)e;
    const char *wg = json_string_value(json_object_get(json_object_get(d, "Body"), "WorkGroup"));
    return strcmp(wg ? wg : "", ctx) ? NULL : json_string(page_name(d));
}

json_t *qry_op_list_named_queries(cat_catalog *c, json_t *req, sp_err *e)
{
    char after[NQ_ID_MAX + 1];
    long max = page_size(req, 0, e);
    if (max < 0) return NULL;
    const char *wg = workgroup_arg(req, "WorkGroup", false, e);
    if (sp_err_failed(e)) return NULL;
    if (!wg) wg = PRIMARY;
    char scope[WG_NAME_MAX + 32];
    snprintf(scope, sizeof scope, "ListNamedQueries:%s", wg);
    if (!page_after(req, scope, after, sizeof after, e)) return NULL;
    json_t *w = workgroup_get(c, wg, e);
    if (!w) return NULL;
    json_decref(w);
    json_t *all = cat_definition_list(c, KIND_NAMED_QUERY, e);
    if (!all) return NULL;
    json_t *out = page_fill(c, all, "NamedQueryIds", after, max, scope, named_query_id_in,
                            (void *)wg, e);
    json_decref(all);
    return out;
}

json_t *qry_op_batch_get_named_query(cat_catalog *c, json_t *req, sp_err *e)
{
    json_t *ids = sp_json_array(req, "NamedQueryIds", true, e);
    if (!ids) return NULL;
    if (json_array_size(ids) < 1 || json_array_size(ids) > BATCH_MAX) {
        invalid(e, "NamedQueryIds must have 1 to %d ids", BATCH_MAX);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
        if (!json_is_string(v) || !named_query_id_check(json_string_value(v), e)) {
            if (!sp_err_failed(e)) invalid(e, "NamedQueryIds[%zu] must be a string", i);
            return NULL;
        }
    json_t *found = json_array(), *missing = json_array();
    json_array_foreach(ids, i, v) {
        sp_err ge = {0};
        json_t *d = cat_definition_get(c, KIND_NAMED_QUERY, json_string_value(v), &ge);
        if (d) {
            json_array_append_new(found, named_query_json(d));
            json_decref(d);
        } else {
            json_array_append_new(missing, json_pack("{s:O, s:s, s:s}", "NamedQueryId", v,
                                                     "ErrorCode", "INVALID_INPUT",
                                                     "ErrorMessage", "Named query not found"));
        }
    }
    return json_pack("{s:o, s:o}", "NamedQueries", found, "UnprocessedNamedQueryIds", missing);
}

/* ---- the data catalog, databases and tables ---------------------------------------------- */

static bool catalog_check(const json_t *req, const char *key, sp_err *e)
{
    const char *name = sp_json_str(req, key, true, e);
    if (!name) return false;
    if (strcasecmp(name, DATA_CATALOG)) {
        sp_err_set(e, 400, "MetadataException", "Catalog %.256s was not found; the only data "
                                                "catalog is %s", name, DATA_CATALOG);
        return false;
    }
    return true;
}

json_t *qry_op_list_data_catalogs(cat_catalog *c, json_t *req, sp_err *e)
{
    (void)c;
    char after[CATALOG_NAME_MAX + 1];
    long long max = sp_json_int(req, "MaxResults", false, PAGE_MAX, e);
    if (sp_err_failed(e)) return NULL;
    if (max < 2 || max > PAGE_MAX) {
        invalid(e, "MaxResults must be between 2 and %d", PAGE_MAX);
        return NULL;
    }
    if (!page_after(req, "ListDataCatalogs", after, sizeof after, e)) return NULL;
    json_t *list = json_array();
    if (!after[0])
        json_array_append_new(list, json_pack("{s:s, s:s}", "CatalogName", DATA_CATALOG, "Type",
                                              "GLUE"));
    return json_pack("{s:o}", "DataCatalogsSummary", list);
}

json_t *qry_op_get_data_catalog(cat_catalog *c, json_t *req, sp_err *e)
{
    (void)c;
    const char *name = sp_json_str(req, "Name", true, e);
    if (!name) return NULL;
    if (strcasecmp(name, DATA_CATALOG)) {
        invalid(e, "Catalog %.256s was not found; the only data catalog is %s", name,
                DATA_CATALOG);
        return NULL;
    }
    return json_pack("{s:{s:s, s:s, s:s, s:{s:s}}}", "DataCatalog", "Name", DATA_CATALOG,
                     "Description", "The salespipe Glue Data Catalog", "Type", "GLUE",
                     "Parameters", "catalog-id", "000000000000");
}

static json_t *database_json(cat_catalog *c, const char *name, sp_err *e)
{
    json_t *d = cat_database_get(c, name, e);
    if (!d) {
        if (!strcmp(e->code, "EntityNotFoundException")) {
            sp_err_clear(e);
            sp_err_set(e, 400, "MetadataException", "Database %.128s not found.", name);
        }
        return NULL;
    }
    json_t *in = json_object_get(d, "Input");
    json_t *out = json_pack("{s:s}", "Name", name);
    const char *desc = json_string_value(json_object_get(in, "Description"));
    if (desc && *desc) json_object_set_new(out, "Description", json_string(desc));
    json_t *params = json_object_get(in, "Parameters");
    json_object_set_new(out, "Parameters", json_is_object(params) ? json_deep_copy(params)
                                                                  : json_object());
    json_decref(d);
    return out;
}

static bool name_arg(const json_t *req, const char *key, char *out, size_t size, sp_err *e)
{
    const char *v = sp_json_str(req, key, true, e);
    if (!v) return false;
    if (!*v || strlen(v) > NQ_NAME_MAX || strlen(v) >= size) {
        invalid(e, "%s must be 1 to %d characters", key, NQ_NAME_MAX);
        return false;
    }
    snprintf(out, size, "%s", v);
    return true;
}

static json_t *database_entry(cat_catalog *c, const json_t *name, void *ctx, sp_err *e)
{
    (void)ctx;
    return database_json(c, json_string_value(name), e);
}

json_t *qry_op_list_databases(cat_catalog *c, json_t *req, sp_err *e)
{
    char after[NQ_NAME_MAX + 1];
    if (!catalog_check(req, "CatalogName", e)) return NULL;
    long max = page_size(req, 1, e);
    if (max < 0 || !page_after(req, "ListDatabases", after, sizeof after, e)) return NULL;
    json_t *names = cat_database_list(c, e);
    if (!names) return NULL;
    json_t *out = page_fill(c, names, "DatabaseList", after, max, "ListDatabases", database_entry,
                            NULL, e);
    json_decref(names);
    return out;
}

json_t *qry_op_get_database(cat_catalog *c, json_t *req, sp_err *e)
{
    char db[NQ_NAME_MAX + 1];
    if (!catalog_check(req, "CatalogName", e) || !name_arg(req, "DatabaseName", db, sizeof db, e))
        return NULL;
    json_t *d = database_json(c, db, e);
    return d ? json_pack("{s:o}", "Database", d) : NULL;
}

static json_t *columns_json(const cat_column *cols, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "Name", cols[i].name, "Type",
                                           cols[i].type));
    return a;
}

static json_t *table_metadata(const cat_table *t)
{
    json_t *params = json_is_object(t->parameters) ? json_deep_copy(t->parameters) : json_object();
    if (t->classification)
        json_object_set_new(params, "classification", json_string(t->classification));
    if (t->location) json_object_set_new(params, "location", json_string(t->location));
    json_object_set_new(params, "inputformat",
                        json_string("org.apache.hadoop.mapred.TextInputFormat"));
    json_object_set_new(params, "outputformat",
                        json_string("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"));
    if (t->serde) json_object_set_new(params, "serde.serialization.lib", json_string(t->serde));
    return json_pack("{s:s, s:f, s:f, s:s, s:o, s:o, s:o}", "Name", t->name, "CreateTime",
                     t->created_ms / 1000.0, "LastAccessTime", t->updated_ms / 1000.0,
                     "TableType", "EXTERNAL_TABLE", "Columns",
                     columns_json(t->columns, t->n_columns), "PartitionKeys",
                     columns_json(t->partition_keys, t->n_partition_keys), "Parameters", params);
}

/* The database named by DatabaseName, checked to exist (MetadataException otherwise). */
static bool existing_database(cat_catalog *c, const json_t *req, char *db, size_t size, sp_err *e)
{
    if (!catalog_check(req, "CatalogName", e) || !name_arg(req, "DatabaseName", db, size, e))
        return false;
    json_t *d = database_json(c, db, e);
    json_decref(d);
    return d != NULL;
}

/* What ListTableMetadata shows: the tables of one database whose names the Expression matches. */
typedef struct table_filter {
    const char *db;
    regex_t *re;   /* NULL: every table */
} table_filter;

static json_t *table_entry(cat_catalog *c, const json_t *name, void *ctx, sp_err *e)
{
    const table_filter *f = ctx;
    const char *n = json_string_value(name);
    if (f->re && regexec(f->re, n, 0, NULL, 0) != 0) return NULL;
    cat_table *t = cat_table_get(c, f->db, n, e);
    if (!t) return NULL;
    json_t *m = table_metadata(t);
    cat_table_destroy(t);
    return m;
}

json_t *qry_op_list_table_metadata(cat_catalog *c, json_t *req, sp_err *e)
{
    char db[NQ_NAME_MAX + 1], after[NQ_NAME_MAX + 1], scope[NQ_NAME_MAX + EXPRESSION_MAX + 32];
    if (!existing_database(c, req, db, sizeof db, e)) return NULL;
    long max = page_size(req, 1, e);
    const char *expr = max < 0 ? NULL : sp_json_str(req, "Expression", false, e);
    if (max < 0 || sp_err_failed(e)) return NULL;
    if (expr && strlen(expr) > EXPRESSION_MAX) {
        invalid(e, "Expression must be at most %d characters", EXPRESSION_MAX);
        return NULL;
    }
    snprintf(scope, sizeof scope, "ListTableMetadata:%s:%s", db, expr ? expr : "");
    /* a token for one expression is refused for another; scope and name fit in the 1024
     * characters of Athena's Token */
    if (!page_after(req, scope, after, sizeof after, e)) return NULL;
    regex_t re;
    bool filter = expr && *expr;
    if (filter) {
        /* Athena's Expression is a regular expression the whole table name must match. */
        sp_str s;
        char buf[EXPRESSION_MAX + 8];
        sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
        sp_str_appendf(&s, "^(%s)$", expr);
        int rc = regcomp(&re, s.buf, REG_EXTENDED | REG_NOSUB);
        sp_str_release(&s);
        if (rc != 0) {
            invalid(e, "Expression '%s' is not a valid regular expression", expr);
            return NULL;
        }
    }
    json_t *names = cat_table_list(c, db, e);
    table_filter f = {.db = db, .re = filter ? &re : NULL};
    json_t *out = names ? page_fill(c, names, "TableMetadataList", after, max, scope,
                                    table_entry, &f, e)
                        : NULL;
    json_decref(names);
    if (filter) regfree(&re);
    return out;
}

json_t *qry_op_get_table_metadata(cat_catalog *c, json_t *req, sp_err *e)
{
    char db[NQ_NAME_MAX + 1], name[NQ_NAME_MAX + 1];
    if (!existing_database(c, req, db, sizeof db, e) ||
        !name_arg(req, "TableName", name, sizeof name, e))
        return NULL;
    cat_table *t = cat_table_get(c, db, name, e);
    if (!t) {
        if (!strcmp(e->code, "EntityNotFoundException")) {
            sp_err_clear(e);
            sp_err_set(e, 400, "MetadataException", "Table %s.%s not found.", db, name);
        }
        return NULL;
    }
    json_t *out = json_pack("{s:o}", "TableMetadata", table_metadata(t));
    cat_table_destroy(t);
    return out;
}
