/* The AWSGlue JSON 1.1 endpoint over the catalog: databases, tables and partitions in the
 * shapes of botocore's glue service model (Table, StorageDescriptor, Partition, Database),
 * plus the op table and the endpoint's life cycle. Classifiers, crawlers and the crawl
 * thread are in glue_crawler.c.
 *
 * Every op runs under the endpoint's lock: the API's catalog connection is one SQLite
 * handle, and a multi-statement change on it must not interleave with another request's. */
#include "glue_int.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

static const char INPUT_FORMAT[] = "org.apache.hadoop.mapred.TextInputFormat";
static const char OUTPUT_FORMAT[] = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
static const char CRAWLER_PRINCIPAL[] =
    "arn:aws:sts::" GLUE_ACCOUNT_ID ":assumed-role/AWSGlueServiceRole/AWS-Crawler";
/* Glue's "unknown" for NumberOfBuckets of an unbucketed table. */
enum { GLUE_NO_BUCKETS = -1 };

/* ---- shared helpers --------------------------------------------------------------------- */

void glue_invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "InvalidInputException", fmt, ap);
    va_end(ap);
}

json_t *glue_time(int64_t ms) { return json_real((double)ms / 1000.0); }

const char *glue_name(const json_t *req, const char *key, bool required, sp_err *e)
{
    const char *v = sp_json_str(req, key, required, e);
    if (!v) return NULL;
    size_t n = strlen(v);
    if (n == 0 || n > CAT_NAME_MAX || strchr(v, '\n')) {
        glue_invalid(e, "%s must be 1 to %d characters on one line", key, CAT_NAME_MAX);
        return NULL;
    }
    return v;
}

const char *glue_key_name(const json_t *item)
{
    return json_string_value(json_object_get(item, "Name"));
}

json_t *glue_page(json_t *items, glue_key_fn key, const json_t *req, const char *scope,
                  long long max, const char *list_name, sp_err *e)
{
    long long limit = sp_json_int(req, "MaxResults", false, max, e);
    const char *token = sp_json_str(req, "NextToken", false, e);
    if (!sp_err_failed(e) && (limit < 1 || limit > max))
        glue_invalid(e, "MaxResults must be between 1 and %lld", max);
    char after[2048] = "";
    if (!sp_err_failed(e) && token && *token &&
        !cat_page_token_read(token, scope, after, sizeof after))
        glue_invalid(e, "Invalid pagination token");
    if (sp_err_failed(e)) {
        json_decref(items);
        return NULL;
    }
    json_t *page = json_array();
    size_t i, start = 0;
    json_t *it;
    if (token && *token)
        json_array_foreach(items, i, it) if (strcmp(key(it), after) <= 0) start = i + 1;
    for (i = start; i < json_array_size(items) && (long long)(i - start) < limit; i++)
        json_array_append(page, json_array_get(items, i));
    json_t *out = json_pack("{s:o}", list_name, page);
    if (i < json_array_size(items)) {
        char *next = cat_page_token_make(scope, key(json_array_get(items, i - 1)));
        json_object_set_new(out, "NextToken", json_string(next));
        free(next);
    }
    json_decref(items);
    return out;
}

void glue_lower(const char *in, char out[CAT_NAME_MAX + 1])
{
    size_t i = 0;
    for (; in[i] && i < CAT_NAME_MAX; i++) out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* ---- databases -------------------------------------------------------------------------- */

/* DatabaseInput checked: Name (returned, borrowed), Parameters of string values. */
const char *glue_database_input(const json_t *in, sp_err *e)
{
    const char *name = glue_name(in, "Name", true, e);
    if (!name) return NULL;
    sp_json_str(in, "Description", false, e);
    sp_json_str(in, "LocationUri", false, e);
    json_t *params = sp_json_object(in, "Parameters", false, e);
    if (sp_err_failed(e)) return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) if (!json_is_string(v)) {
        glue_invalid(e, "DatabaseInput.Parameters.%s must be a string", k);
        return NULL;
    }
    return name;
}

static json_t *database_json(const json_t *db)
{
    const json_t *in = json_object_get(db, "Input");
    json_t *params = json_object_get(in, "Parameters");
    json_t *out = json_pack(
        "{s:s, s:o, s:o, s:[{s:{s:s}, s:[s]}], s:s}", "Name",
        json_string_value(json_object_get(db, "Name")), "Parameters",
        json_is_object(params) ? json_deep_copy(params) : json_object(), "CreateTime",
        glue_time(json_integer_value(json_object_get(db, "CreateTimeMs"))),
        "CreateTableDefaultPermissions", "Principal", "DataLakePrincipalIdentifier",
        "IAM_ALLOWED_PRINCIPALS", "Permissions", "ALL", "CatalogId", GLUE_ACCOUNT_ID);
    const char *keep[] = {"Description", "LocationUri"};
    for (size_t i = 0; i < SP_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(in, keep[i]);
        if (json_is_string(v)) json_object_set(out, keep[i], v);
    }
    return out;
}

static json_t *op_create_database(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *in = sp_json_object(req, "DatabaseInput", true, e);
    const char *name = in ? glue_database_input(in, e) : NULL;
    if (!name) return NULL;
    char lname[CAT_NAME_MAX + 1];
    glue_lower(name, lname);
    json_t *keep = json_deep_copy(in);
    json_object_set_new(keep, "Name", json_string(lname));
    bool ok = cat_database_create(g->cat, lname, keep, e);
    json_decref(keep);
    return ok ? json_object() : NULL;
}

static json_t *op_get_database(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    if (!name) return NULL;
    char lname[CAT_NAME_MAX + 1];
    glue_lower(name, lname);
    json_t *db = cat_database_get(g->cat, lname, e);
    if (!db) return NULL;
    json_t *out = json_pack("{s:o}", "Database", database_json(db));
    json_decref(db);
    return out;
}

static json_t *op_get_databases(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *names = cat_database_list(g->cat, e);
    if (!names) return NULL;
    json_t *items = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        json_t *db = cat_database_get(g->cat, json_string_value(n), e);
        if (!db) break;
        json_array_append_new(items, database_json(db));
        json_decref(db);
    }
    json_decref(names);
    if (sp_err_failed(e)) {
        json_decref(items);
        return NULL;
    }
    return glue_page(items, glue_key_name, req, "GetDatabases", GLUE_CATALOG_PAGE_MAX,
                     "DatabaseList", e);
}

/* ---- tables ----------------------------------------------------------------------------- */

static json_t *columns_json(const cat_column *cols, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "Name", cols[i].name, "Type",
                                           cols[i].type));
    return a;
}

/* The SerDe of a JSON table, with the "paths" parameter Glue's crawler writes: the column
 * names, sorted. */
static json_t *serde_json(const cat_table *t)
{
    char **names = calloc(t->n_columns + 1, sizeof *names);
    if (!names) abort();
    for (size_t i = 0; i < t->n_columns; i++) names[i] = t->columns[i].name;
    for (size_t i = 1; i < t->n_columns; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *x = names[j];
            names[j] = names[j - 1];
            names[j - 1] = x;
        }
    sp_str paths;
    char buf[512];
    sp_str_init(&paths, buf, sizeof buf, SP_STR_NO_MAX);
    for (size_t i = 0; i < t->n_columns; i++) sp_str_appendf(&paths, "%s%s", i ? "," : "", names[i]);
    json_t *s = t->classification && !strcmp(t->classification, "parquet")
                    ? json_pack("{s:s, s:{s:s}}", "SerializationLibrary", t->serde,
                                "Parameters", "serialization.format", "1")
                    : json_pack("{s:s, s:{s:s}}", "SerializationLibrary", t->serde,
                                "Parameters", "paths", paths.buf);
    sp_str_release(&paths);
    free(names);
    return s;
}

static bool compressed(const cat_table *t)
{
    const char *c = json_string_value(json_object_get(t->parameters, "compressionType"));
    return c && strcmp(c, "none");
}

static json_t *storage_json(const cat_table *t, const char *location, bool with_columns)
{
    bool parquet = t->classification && !strcmp(t->classification, "parquet");
    json_t *sd = json_pack(
        "{s:s, s:s, s:s, s:b, s:i, s:o, s:[], s:[], s:O, s:b}", "Location", location,
        "InputFormat", parquet ? CAT_PARQUET_INPUT : INPUT_FORMAT, "OutputFormat",
        parquet ? CAT_PARQUET_OUTPUT : OUTPUT_FORMAT, "Compressed", compressed(t),
        "NumberOfBuckets", GLUE_NO_BUCKETS, "SerdeInfo", serde_json(t), "BucketColumns",
        "SortColumns", "Parameters", t->parameters, "StoredAsSubDirectories", 0);
    if (with_columns) json_object_set_new(sd, "Columns", columns_json(t->columns, t->n_columns));
    return sd;
}

/* Columns as the API was given them, names in lower case as Glue keeps them. */
static json_t *input_columns(const json_t *cols)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        json_t *x = json_deep_copy(c);
        char name[CAT_NAME_MAX + 1];
        glue_lower(json_string_value(json_object_get(c, "Name")), name);
        json_object_set_new(x, "Name", json_string(name));
        if (!json_object_get(x, "Type")) json_object_set_new(x, "Type", json_string("string"));
        json_array_append_new(out, x);
    }
    return out;
}

json_t *glue_table_sd(const cat_table *t, const json_t *made)
{
    if (!made) return storage_json(t, t->location, true);
    const json_t *sd_in = json_object_get(json_object_get(made, "Input"), "StorageDescriptor");
    json_t *sd = json_is_object(sd_in) ? json_deep_copy(sd_in) : json_object();
    json_object_set_new(sd, "Columns", input_columns(json_object_get(sd, "Columns")));
    if (!json_object_get(sd, "Compressed")) json_object_set_new(sd, "Compressed", json_false());
    if (!json_object_get(sd, "NumberOfBuckets"))
        json_object_set_new(sd, "NumberOfBuckets", json_integer(0));
    if (!json_object_get(sd, "StoredAsSubDirectories"))
        json_object_set_new(sd, "StoredAsSubDirectories", json_false());
    return sd;
}

/* A table made with CreateTable/UpdateTable: what was given, plus what Glue adds. */
static json_t *made_table_json(const cat_table *t, const json_t *made)
{
    const json_t *in = json_object_get(made, "Input");
    const json_t *params = json_object_get(in, "Parameters");
    char version[32];
    snprintf(version, sizeof version, "%lld",
             (long long)json_integer_value(json_object_get(made, "Version")) - 1);
    json_t *out = json_pack(
        "{s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:s, s:b, s:s, s:s}", "Name", t->name,
        "DatabaseName", t->database, "CreateTime", glue_time(t->created_ms), "UpdateTime",
        glue_time(t->updated_ms), "Retention",
        (json_int_t)json_integer_value(json_object_get(in, "Retention")), "StorageDescriptor",
        glue_table_sd(t, made), "PartitionKeys",
        input_columns(json_object_get(in, "PartitionKeys")), "Parameters",
        json_is_object(params) ? json_deep_copy(params) : json_object(), "CreatedBy",
        "arn:aws:iam::" GLUE_ACCOUNT_ID ":root", "IsRegisteredWithLakeFormation", 0,
        "CatalogId", GLUE_ACCOUNT_ID, "VersionId", version);
    const char *keep[] = {"Description", "Owner", "TableType", "ViewOriginalText",
                          "ViewExpandedText", "LastAccessTime", "LastAnalyzedTime"};
    for (size_t i = 0; i < SP_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(in, keep[i]);
        if (v) json_object_set(out, keep[i], v);
    }
    return out;
}

static json_t *table_json(cat_glue *g, const cat_table *t, sp_err *e)
{
    json_t *made = cat_table_input(g->cat, t->database, t->name, e);
    if (!made && sp_err_failed(e)) return NULL;
    if (made) {
        json_t *out = made_table_json(t, made);
        json_decref(made);
        return out;
    }
    json_t *params = json_deep_copy(t->parameters);
    if (!json_object_get(params, "classification"))
        json_object_set_new(params, "classification", json_string(t->classification));
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:o, s:s, s:o, s:s, s:b, s:s, s:s}", "Name",
        t->name, "DatabaseName", t->database, "Owner", "owner", "CreateTime",
        glue_time(t->created_ms), "UpdateTime", glue_time(t->updated_ms), "LastAccessTime",
        glue_time(t->updated_ms), "Retention", 0, "StorageDescriptor",
        storage_json(t, t->location, true), "PartitionKeys",
        columns_json(t->partition_keys, t->n_partition_keys), "TableType", "EXTERNAL_TABLE",
        "Parameters", params, "CreatedBy", CRAWLER_PRINCIPAL, "IsRegisteredWithLakeFormation", 0,
        "CatalogId", GLUE_ACCOUNT_ID, "VersionId", "0");
}

/* The database named by the request's `key`, lower-cased into out; false with 400
 * EntityNotFoundException when it does not exist. */
bool glue_existing_database(cat_glue *g, const json_t *req, const char *key,
                           char out[CAT_NAME_MAX + 1], sp_err *e)
{
    const char *name = glue_name(req, key, true, e);
    if (!name) return false;
    glue_lower(name, out);
    json_t *db = cat_database_get(g->cat, out, e);
    json_decref(db);
    return db != NULL;
}

static json_t *op_get_table(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    const char *n = glue_name(req, "Name", true, e);
    if (!n) return NULL;
    glue_lower(n, name);
    cat_table *t = cat_table_get(g->cat, db, name, e);
    if (!t) return NULL;
    json_t *tj = table_json(g, t, e);
    cat_table_destroy(t);
    return tj ? json_pack("{s:o}", "Table", tj) : NULL;
}

static json_t *op_get_tables(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    const char *expr = sp_json_str(req, "Expression", false, e);
    if (sp_err_failed(e)) return NULL;
    regex_t re;
    bool filter = expr && *expr;
    if (filter) {
        /* Glue's Expression is a regular expression the whole name must match. */
        sp_str s;
        char buf[256];
        sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
        sp_str_appendf(&s, "^(%s)$", expr);
        int rc = regcomp(&re, s.buf, REG_EXTENDED | REG_NOSUB);
        sp_str_release(&s);
        if (rc != 0) {
            glue_invalid(e, "Expression '%s' is not a valid regular expression", expr);
            return NULL;
        }
    }
    json_t *names = cat_table_list(g->cat, db, e);
    json_t *items = names ? json_array() : NULL;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        if (filter && regexec(&re, json_string_value(n), 0, NULL, 0) != 0) continue;
        cat_table *t = cat_table_get(g->cat, db, json_string_value(n), e);
        if (!t) break;
        json_t *tj = table_json(g, t, e);
        cat_table_destroy(t);
        if (!tj) break;
        json_array_append_new(items, tj);
    }
    json_decref(names);
    if (filter) regfree(&re);
    if (!items || sp_err_failed(e)) {
        json_decref(items);
        return NULL;
    }
    char scope[CAT_NAME_MAX + 16];
    snprintf(scope, sizeof scope, "GetTables:%s", db);
    return glue_page(items, glue_key_name, req, scope, GLUE_CATALOG_PAGE_MAX, "TableList", e);
}

/* ---- partitions ------------------------------------------------------------------------- */

json_t *glue_partition_json(const cat_table *t, const json_t *table_sd, const cat_partition *p,
                            bool with_columns)
{
    json_t *vals = json_array();
    for (size_t i = 0; i < p->n_values; i++) json_array_append_new(vals, json_string(p->values[i]));
    json_t *sd = json_deep_copy(table_sd);
    const json_t *in_sd = json_object_get(p->input, "StorageDescriptor");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in_sd, k, v) json_object_set(sd, k, v);
    json_object_set_new(sd, "Location", json_string(p->location));
    if (!with_columns) json_object_del(sd, "Columns");
    const json_t *params = json_object_get(p->input, "Parameters");
    int64_t created = p->input ? p->created_ms : t->updated_ms;
    json_t *part = json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "Values", vals,
                             "DatabaseName", t->database, "TableName", t->name, "CreationTime",
                             glue_time(created), "LastAccessTime", glue_time(created),
                             "StorageDescriptor", sd, "Parameters",
                             json_is_object(params) ? json_deep_copy(params) : json_object(),
                             "CatalogId", GLUE_ACCOUNT_ID);
    return part;
}

typedef struct partition_walk {
    const cat_table *t;
    const json_t *sd;
    const cat_pexpr *filter;
    bool with_columns;
    json_t *items;
} partition_walk;

static bool on_partition(void *arg, const cat_partition *p)
{
    partition_walk *w = arg;
    if (w->filter && !cat_pexpr_match(w->filter, p->values, p->n_values)) return true;
    json_array_append_new(w->items, glue_partition_json(w->t, w->sd, p, w->with_columns));
    return true;
}

static const char *partition_key(const json_t *item)
{
    return json_string_value(
        json_object_get(json_object_get(item, "StorageDescriptor"), "Location"));
}

static json_t *op_get_partitions(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    const char *n = glue_name(req, "TableName", true, e);
    const char *expr = sp_json_str(req, "Expression", false, e);
    bool exclude = sp_json_bool(req, "ExcludeColumnSchema", false, e);
    if (!n || sp_err_failed(e)) return NULL;
    glue_lower(n, name);
    cat_table *t = cat_table_get(g->cat, db, name, e);
    if (!t) return NULL;
    cat_pexpr *filter = NULL;
    bool blank = true;
    for (const char *c = expr; c && *c && blank; c++) blank = strchr(" \t\r\n", *c) != NULL;
    if (!blank) {
        filter = cat_pexpr_parse(expr, t->partition_keys, t->n_partition_keys, e);
        if (!filter) {
            cat_table_destroy(t);
            return NULL;
        }
    }
    json_t *made = cat_table_input(g->cat, db, name, e);
    json_t *sd = sp_err_failed(e) ? NULL : glue_table_sd(t, made);
    json_decref(made);
    partition_walk w = {.t = t, .sd = sd, .filter = filter, .with_columns = !exclude,
                        .items = json_array()};
    bool ok = sd && cat_partition_foreach(g->cat, db, name, on_partition, &w, e);
    json_decref(sd);
    cat_pexpr_destroy(filter);
    cat_table_destroy(t);
    if (!ok) {
        json_decref(w.items);
        return NULL;
    }
    char scope[2 * CAT_NAME_MAX + 32];
    snprintf(scope, sizeof scope, "GetPartitions:%s.%s", db, name);
    return glue_page(w.items, partition_key, req, scope, GLUE_PAGE_MAX, "Partitions", e);
}

/* ---- the op table ----------------------------------------------------------------------- */

/* Every op runs under the lock; the JSON helpers' ValidationException is what Glue calls
 * InvalidInputException. */
typedef json_t *(*glue_fn)(cat_glue *g, json_t *req, sp_err *e);

static json_t *glue_call(glue_fn fn, void *ctx, json_t *req, sp_err *e)
{
    cat_glue *g = ctx;
    pthread_mutex_lock(&g->lock);
    json_t *out = fn(g, req, e);
    pthread_mutex_unlock(&g->lock);
    if (!out && !strcmp(e->code, "ValidationException"))
        snprintf(e->code, sizeof e->code, "InvalidInputException");
    return out;
}

#define GLUE_OP(op, fn)                                                                          \
    static json_t *op_##op(void *ctx, json_t *req, sp_err *e) { return glue_call(fn, ctx, req, e); }

GLUE_OP(CreateDatabase, op_create_database)
GLUE_OP(GetDatabase, op_get_database)
GLUE_OP(GetDatabases, op_get_databases)
GLUE_OP(GetTable, op_get_table)
GLUE_OP(GetTables, op_get_tables)
GLUE_OP(GetPartitions, op_get_partitions)
GLUE_OP(CreateClassifier, glue_create_classifier)
GLUE_OP(GetClassifier, glue_get_classifier)
GLUE_OP(GetClassifiers, glue_get_classifiers)
GLUE_OP(DeleteClassifier, glue_delete_classifier)
GLUE_OP(CreateCrawler, glue_create_crawler)
GLUE_OP(GetCrawler, glue_get_crawler)
GLUE_OP(GetCrawlers, glue_get_crawlers)
GLUE_OP(StartCrawler, glue_start_crawler)
GLUE_OP(DeleteCrawler, glue_delete_crawler)
GLUE_OP(GetCrawlerMetrics, glue_get_crawler_metrics)
GLUE_OP(CreateTable, glue_create_table)
GLUE_OP(UpdateTable, glue_update_table)
GLUE_OP(DeleteTable, glue_delete_table)
GLUE_OP(BatchDeleteTable, glue_batch_delete_table)
GLUE_OP(CreatePartition, glue_create_partition)
GLUE_OP(BatchCreatePartition, glue_batch_create_partition)
GLUE_OP(DeletePartition, glue_delete_partition)
GLUE_OP(GetPartition, glue_get_partition)
GLUE_OP(UpdateDatabase, glue_update_database)
GLUE_OP(DeleteDatabase, glue_delete_database)
GLUE_OP(UpdateCrawler, glue_update_crawler)
GLUE_OP(StopCrawler, glue_stop_crawler)

const sp_op cat_glue_ops[] = {
    {"CreateDatabase", op_CreateDatabase},
    {"GetDatabase", op_GetDatabase},
    {"GetDatabases", op_GetDatabases},
    {"GetTable", op_GetTable},
    {"GetTables", op_GetTables},
    {"GetPartitions", op_GetPartitions},
    {"CreateClassifier", op_CreateClassifier},
    {"GetClassifier", op_GetClassifier},
    {"GetClassifiers", op_GetClassifiers},
    {"DeleteClassifier", op_DeleteClassifier},
    {"CreateCrawler", op_CreateCrawler},
    {"GetCrawler", op_GetCrawler},
    {"GetCrawlers", op_GetCrawlers},
    {"StartCrawler", op_StartCrawler},
    {"DeleteCrawler", op_DeleteCrawler},
    {"GetCrawlerMetrics", op_GetCrawlerMetrics},
    {"CreateTable", op_CreateTable},
    {"UpdateTable", op_UpdateTable},
    {"DeleteTable", op_DeleteTable},
    {"BatchDeleteTable", op_BatchDeleteTable},
    {"CreatePartition", op_CreatePartition},
    {"BatchCreatePartition", op_BatchCreatePartition},
    {"DeletePartition", op_DeletePartition},
    {"GetPartition", op_GetPartition},
    {"UpdateDatabase", op_UpdateDatabase},
    {"DeleteDatabase", op_DeleteDatabase},
    {"UpdateCrawler", op_UpdateCrawler},
    {"StopCrawler", op_StopCrawler},
    {NULL, NULL},
};

/* ---- life cycle ------------------------------------------------------------------------- */

cat_glue *cat_glue_new(const sp_config *cfg, cat_catalog *cat, lake *lk, sp_err *e)
{
    for (size_t i = 0; i < cfg->n_crawlers; i++) {
        const char *db = cfg->crawlers[i].database;
        if (!db) continue;
        json_t *have = cat_database_get(cat, db, e);
        if (!have && !strcmp(e->code, "EntityNotFoundException")) {
            sp_err_clear(e);
            json_t *in = json_pack("{s:s}", "Name", db);
            bool ok = cat_database_create(cat, db, in, e);
            json_decref(in);
            if (!ok && strcmp(e->code, "AlreadyExistsException")) return NULL;
            sp_err_clear(e);
        } else if (!have) {
            return NULL;
        }
        json_decref(have);
    }
    cat_glue *g = calloc(1, sizeof *g);
    if (!g) abort();
    g->cfg = cfg;
    g->cat = cat;
    g->lk = lk;
    g->created_ms = sp_clock_wall_ms();
    /* A crawl of a small lake takes milliseconds and a stopped one commits within
     * milliseconds; tests that must see RUNNING and STOPPING (and the errors they give) slow
     * each object with SALESPIPE_TEST_CRAWL_OBJECT_DELAY_MS and hold STOPPING with
     * SALESPIPE_TEST_CRAWL_STOP_LINGER_MS. Unset, both are 0. */
    const char *linger = getenv("SALESPIPE_TEST_CRAWL_STOP_LINGER_MS");
    g->stop_linger_ms = linger ? strtol(linger, NULL, 10) : 0;
    if (g->stop_linger_ms < 0 || g->stop_linger_ms > GLUE_STOP_LINGER_MAX_MS) g->stop_linger_ms = 0;
    const char *delay = getenv("SALESPIPE_TEST_CRAWL_OBJECT_DELAY_MS");
    g->object_delay_ms = delay ? strtol(delay, NULL, 10) : 0;
    if (g->object_delay_ms < 0 || g->object_delay_ms > GLUE_OBJECT_DELAY_MAX_MS)
        g->object_delay_ms = 0;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    if (pthread_create(&g->thread, NULL, glue_crawl_thread, g) != 0) {
        sp_err_internal(e, "cannot start the crawl thread");
        cat_glue_destroy(g);
        return NULL;
    }
    g->thread_started = true;
    return g;
}

void cat_glue_destroy(cat_glue *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_broadcast(&g->wake);
    pthread_mutex_unlock(&g->lock);
    if (g->thread_started) pthread_join(g->thread, NULL);
    while (g->jobs) {
        glue_job *j = g->jobs;
        g->jobs = j->next;
        glue_job_free(j);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
