/* Glue ops that change the catalog by hand: CreateTable/UpdateTable/DeleteTable/
 * BatchDeleteTable for tables a user defines (a StorageDescriptor over an s3:// location
 * of the lake), CreatePartition/BatchCreatePartition/DeletePartition/GetPartition for their
 * partitions, and UpdateDatabase/DeleteDatabase. A hand-made table is stored where the
 * crawler keeps its tables, so GetTables, `salespipe ddl` and the query stage read it the
 * same way; the TableInput is kept beside it for GetTable. */
#include "glue_int.h"

#include <stdlib.h>
#include <string.h>

static const char S3_SCHEME[] = "s3://";
/* BatchDeleteTable's TablesToDelete and BatchCreatePartition's PartitionInputList: at most
 * 100 (BatchDeleteTableNameList, PartitionInputList in the model). */
enum { GLUE_BATCH_MAX = 100 };

/* ---- reading inputs --------------------------------------------------------------------- */

/* A key prefix ending in '/' is a valid key without that '/'; InvalidInputException if not. */
static bool prefix_valid(const char *prefix, sp_err *e)
{
    size_t n = strlen(prefix);
    char *key = strndup(prefix, n && prefix[n - 1] == '/' ? n - 1 : n);
    sp_err ke = {0};
    bool ok = lake_key_valid(key, &ke);
    if (!ok) glue_invalid(e, "%s", ke.msg);
    free(key);
    return ok;
}

/* An s3://bucket/prefix location of the lake: bucket into bucket (64 bytes), the key prefix
 * (new, "" or ending in '/') returned. NULL with InvalidInputException naming what. */
static char *location_prefix(const char *what, const char *loc, char bucket[64], sp_err *e)
{
    size_t sl = strlen(S3_SCHEME);
    const char *rest = strncmp(loc, S3_SCHEME, sl) ? NULL : loc + sl;
    size_t blen = rest ? strcspn(rest, "/") : 0;
    if (rest && blen < 64) {
        memcpy(bucket, rest, blen);
        bucket[blen] = '\0';
    }
    if (!rest || blen >= 64 || !lake_bucket_name_valid(bucket)) {
        glue_invalid(e, "%s '%s' is not an s3://bucket/prefix location", what, loc);
        return NULL;
    }
    const char *key = rest[blen] ? rest + blen + 1 : "";
    size_t klen = strlen(key);
    char *prefix = malloc(klen + 2);
    if (!prefix) abort();
    memcpy(prefix, key, klen + 1);
    if (klen && key[klen - 1] != '/') strcat(prefix, "/");
    if (klen && !prefix_valid(prefix, e)) {
        sp_err_wrap(e, loc);
        sp_err_wrap(e, what);
        free(prefix);
        return NULL;
    }
    return prefix;
}

/* Column or PartitionKeys list of a TableInput into cols (names lower-cased, types default
 * "string"); false with InvalidInputException. */
static bool read_columns(const char *what, const json_t *list, cat_column **cols, size_t *n,
                         sp_err *e)
{
    *cols = calloc(json_array_size(list) + 1, sizeof **cols);
    if (!*cols) abort();
    *n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        if (!json_is_object(c)) {
            glue_invalid(e, "%s[%zu] must be a Column object", what, i);
            return false;
        }
        const char *name = glue_name(c, "Name", true, e);
        const char *type = name ? sp_json_str(c, "Type", false, e) : NULL;
        if (sp_err_failed(e)) {
            sp_err_wrap(e, what);
            return false;
        }
        char lname[CAT_NAME_MAX + 1], ltype[CAT_NAME_MAX + 1];
        glue_lower(name, lname);
        if (type && strlen(type) > CAT_NAME_MAX) {
            glue_invalid(e, "%s[%zu].Type is longer than %d characters", what, i, CAT_NAME_MAX);
            return false;
        }
        glue_lower(type && *type ? type : "string", ltype);
        (*cols)[*n].name = strdup(lname);
        (*cols)[*n].type = strdup(ltype);
        (*n)++;
    }
    return true;
}

static bool string_map(const char *what, const json_t *m, sp_err *e)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) if (!json_is_string(v)) {
        glue_invalid(e, "%s.%s must be a string", what, k);
        return false;
    }
    return true;
}

static char *dup(const char *s) { return strdup(s ? s : ""); }

/* A TableInput checked and turned into the stored table (new); the input with its Name in
 * lower case into *keep (new). NULL with e set. */
static cat_table *table_from_input(const char *db, const json_t *in, json_t **keep, sp_err *e)
{
    const char *name = glue_name(in, "Name", true, e);
    json_t *sd = name ? sp_json_object(in, "StorageDescriptor", false, e) : NULL;
    json_t *pkeys = sp_json_array(in, "PartitionKeys", false, e);
    json_t *params = sp_json_object(in, "Parameters", false, e);
    const char *type = sp_json_str(in, "TableType", false, e);
    sp_json_str(in, "Description", false, e);
    sp_json_str(in, "Owner", false, e);
    json_t *cols = sd ? sp_json_array(sd, "Columns", false, e) : NULL;
    const char *loc = sd ? sp_json_str(sd, "Location", false, e) : NULL;
    json_t *serde = sd ? sp_json_object(sd, "SerdeInfo", false, e) : NULL;
    const char *lib = serde ? sp_json_str(serde, "SerializationLibrary", false, e) : NULL;
    json_t *sd_params = sd ? sp_json_object(sd, "Parameters", false, e) : NULL;
    if (sp_err_failed(e)) {
        if (strcmp(e->code, "InvalidInputException")) sp_err_wrap(e, "TableInput");
        return NULL;
    }
    if (type && strlen(type) > CAT_NAME_MAX) {
        glue_invalid(e, "TableInput.TableType is longer than %d characters", CAT_NAME_MAX);
        return NULL;
    }
    if (!string_map("TableInput.Parameters", params, e) ||
        !string_map("TableInput.StorageDescriptor.Parameters", sd_params, e))
        return NULL;
    cat_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    char lname[CAT_NAME_MAX + 1];
    glue_lower(name, lname);
    t->database = dup(db);
    t->name = dup(lname);
    char bucket[64] = "";
    if (loc && *loc) {
        t->prefix = location_prefix("TableInput.StorageDescriptor.Location", loc, bucket, e);
        if (!t->prefix) {
            cat_table_destroy(t);
            return NULL;
        }
    } else {
        t->prefix = dup("");
    }
    t->bucket = dup(bucket);
    t->location = dup(loc);
    t->classification = dup(json_string_value(json_object_get(params, "classification")));
    t->serde = dup(lib);
    /* the crawler's jsonPath parameter selects records, as on a crawled table */
    const char *jp = json_string_value(json_object_get(params, "jsonPath"));
    cat_jsonpath *p = jp ? cat_jsonpath_compile(jp, e) : NULL;
    if (jp && !p) {
        sp_err_wrap(e, "TableInput.Parameters.jsonPath");
        cat_table_destroy(t);
        return NULL;
    }
    cat_jsonpath_destroy(p);
    t->json_path = dup(jp ? jp : "$");
    t->parameters = params ? json_deep_copy(params) : json_object();
    if (!read_columns("TableInput.StorageDescriptor.Columns", cols, &t->columns, &t->n_columns,
                      e) ||
        !read_columns("TableInput.PartitionKeys", pkeys, &t->partition_keys,
                      &t->n_partition_keys, e)) {
        cat_table_destroy(t);
        return NULL;
    }
    size_t n = t->n_columns + t->n_partition_keys;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const char *a = i < t->n_columns ? t->columns[i].name
                                             : t->partition_keys[i - t->n_columns].name;
            const char *b = j < t->n_columns ? t->columns[j].name
                                             : t->partition_keys[j - t->n_columns].name;
            if (!strcmp(a, b)) {
                glue_invalid(e, "TableInput: column name '%s' is used twice (columns and "
                                "partition keys share one namespace)",
                             a);
                cat_table_destroy(t);
                return NULL;
            }
        }
    *keep = json_deep_copy(in);
    json_object_set_new(*keep, "Name", json_string(lname));
    return t;
}

/* ---- tables ----------------------------------------------------------------------------- */

static json_t *put_table(cat_glue *g, json_t *req, bool create, sp_err *e)
{
    char db[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    json_t *in = sp_json_object(req, "TableInput", true, e);
    if (!in) return NULL;
    json_t *keep = NULL;
    cat_table *t = table_from_input(db, in, &keep, e);
    if (!t) return NULL;
    bool ok = cat_table_put(g->cat, t, keep, create, e);
    cat_table_destroy(t);
    json_decref(keep);
    return ok ? json_object() : NULL;
}

json_t *glue_create_table(cat_glue *g, json_t *req, sp_err *e) { return put_table(g, req, true, e); }

json_t *glue_update_table(cat_glue *g, json_t *req, sp_err *e) { return put_table(g, req, false, e); }

json_t *glue_delete_table(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    const char *n = glue_name(req, "Name", true, e);
    if (!n) return NULL;
    glue_lower(n, name);
    return cat_table_delete(g->cat, db, name, e) ? json_object() : NULL;
}

json_t *glue_batch_delete_table(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    json_t *names = sp_json_array(req, "TablesToDelete", true, e);
    if (!names) return NULL;
    if (json_array_size(names) > GLUE_BATCH_MAX) {
        glue_invalid(e, "TablesToDelete has %zu names; at most %d", json_array_size(names),
                     GLUE_BATCH_MAX);
        return NULL;
    }
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        if (!s || !*s || strlen(s) > CAT_NAME_MAX) {
            glue_invalid(e, "TablesToDelete[%zu] must be a name of 1 to %d characters", i,
                         CAT_NAME_MAX);
            return NULL;
        }
    }
    json_t *errors = json_array();
    json_array_foreach(names, i, n) {
        char name[CAT_NAME_MAX + 1];
        glue_lower(json_string_value(n), name);
        sp_err te = {0};
        if (cat_table_delete(g->cat, db, name, &te)) continue;
        if (te.status >= 500) {
            json_decref(errors);
            *e = te;
            return NULL;
        }
        json_array_append_new(errors, json_pack("{s:s, s:{s:s, s:s}}", "TableName",
                                                json_string_value(n), "ErrorDetail", "ErrorCode",
                                                te.code, "ErrorMessage", te.msg));
    }
    return json_pack("{s:o}", "Errors", errors);
}

/* ---- partitions ------------------------------------------------------------------------- */

/* The table of a partition request (DatabaseName, TableName); new, NULL with e set. */
static cat_table *request_table(cat_glue *g, const json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "DatabaseName", db, e)) return NULL;
    const char *n = glue_name(req, "TableName", true, e);
    if (!n) return NULL;
    glue_lower(n, name);
    return cat_table_get(g->cat, db, name, e);
}

/* Values of a partition: strings, one per partition key of t. */
static bool check_values(const cat_table *t, const json_t *vals, sp_err *e)
{
    if (!json_is_array(vals)) {
        glue_invalid(e, "partition Values must be a list of strings");
        return false;
    }
    if (json_array_size(vals) != t->n_partition_keys) {
        glue_invalid(e, "The number of partition values (%zu) does not match the number of "
                        "partition keys (%zu) of table %s",
                     json_array_size(vals), t->n_partition_keys, t->name);
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) if (!json_is_string(v) || strlen(json_string_value(v)) > 1024) {
        glue_invalid(e, "partition value %zu must be a string of at most 1024 characters", i);
        return false;
    }
    return true;
}

/* Creates one partition of t from a PartitionInput. */
static bool put_partition(cat_glue *g, const cat_table *t, const json_t *in, sp_err *e)
{
    if (!json_is_object(in)) {
        glue_invalid(e, "PartitionInput must be an object");
        return false;
    }
    const json_t *vals = json_object_get(in, "Values");
    json_t *sd = sp_json_object(in, "StorageDescriptor", false, e);
    const char *loc = sd ? sp_json_str(sd, "Location", false, e) : NULL;
    json_t *params = sp_json_object(in, "Parameters", false, e);
    if (sp_err_failed(e) || !check_values(t, vals, e) ||
        !string_map("PartitionInput.Parameters", params, e))
        return false;
    if (!*t->bucket) {
        glue_invalid(e, "Table %s has no StorageDescriptor.Location: its partitions have "
                        "nowhere to be",
                     t->name);
        return false;
    }
    char *prefix;
    if (loc && *loc) {
        char bucket[64];
        prefix = location_prefix("PartitionInput.StorageDescriptor.Location", loc, bucket, e);
        if (prefix && strcmp(bucket, t->bucket)) {
            glue_invalid(e, "PartitionInput.StorageDescriptor.Location '%s': salespipe keeps a "
                            "partition in the bucket of its table (%s)",
                         loc, t->bucket);
            free(prefix);
            return false;
        }
        if (!prefix) return false;
    } else {
        /* Hive's layout, as ALTER TABLE ADD PARTITION makes it: <table>/k=v/... */
        sp_str s;
        char buf[512];
        sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
        sp_str_puts(&s, t->prefix);
        for (size_t i = 0; i < t->n_partition_keys; i++)
            sp_str_appendf(&s, "%s=%s/", t->partition_keys[i].name,
                           json_string_value(json_array_get(vals, i)));
        prefix = strdup(s.buf);
        sp_str_release(&s);
        if (!prefix_valid(prefix, e)) {
            sp_err_wrap(e, "partition location");
            free(prefix);
            return false;
        }
    }
    bool ok = cat_partition_create(g->cat, t->database, t->name, vals, prefix, in, e);
    free(prefix);
    return ok;
}

json_t *glue_create_partition(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *in = sp_json_object(req, "PartitionInput", true, e);
    cat_table *t = in ? request_table(g, req, e) : NULL;
    if (!t) return NULL;
    bool ok = put_partition(g, t, in, e);
    cat_table_destroy(t);
    return ok ? json_object() : NULL;
}

json_t *glue_batch_create_partition(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *list = sp_json_array(req, "PartitionInputList", true, e);
    if (!list) return NULL;
    if (json_array_size(list) > GLUE_BATCH_MAX) {
        glue_invalid(e, "PartitionInputList has %zu partitions; at most %d",
                     json_array_size(list), GLUE_BATCH_MAX);
        return NULL;
    }
    cat_table *t = request_table(g, req, e);
    if (!t) return NULL;
    json_t *errors = json_array();
    size_t i;
    json_t *in;
    json_array_foreach(list, i, in) {
        sp_err pe = {0};
        if (put_partition(g, t, in, &pe)) continue;
        if (pe.status >= 500) {
            *e = pe;
            json_decref(errors);
            cat_table_destroy(t);
            return NULL;
        }
        json_t *vals = json_object_get(in, "Values");
        json_array_append_new(errors, json_pack("{s:o, s:{s:s, s:s}}", "PartitionValues",
                                                json_is_array(vals) ? json_incref(vals)
                                                                    : json_array(),
                                                "ErrorDetail", "ErrorCode", pe.code,
                                                "ErrorMessage", pe.msg));
    }
    cat_table_destroy(t);
    return json_pack("{s:o}", "Errors", errors);
}

json_t *glue_delete_partition(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *vals = sp_json_array(req, "PartitionValues", true, e);
    cat_table *t = vals ? request_table(g, req, e) : NULL;
    if (!t) return NULL;
    bool ok = check_values(t, vals, e) && cat_partition_delete(g->cat, t->database, t->name, vals, e);
    cat_table_destroy(t);
    return ok ? json_object() : NULL;
}

json_t *glue_get_partition(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *vals = sp_json_array(req, "PartitionValues", true, e);
    cat_table *t = vals ? request_table(g, req, e) : NULL;
    if (!t) return NULL;
    json_t *out = NULL, *got = NULL, *made = NULL, *sd = NULL;
    if (check_values(t, vals, e)) got = cat_partition_get(g->cat, t->database, t->name, vals, e);
    if (got) made = cat_table_input(g->cat, t->database, t->name, e);
    if (got && !sp_err_failed(e)) {
        sd = glue_table_sd(t, made);
        size_t n = json_array_size(vals);
        const char **v = calloc(n + 1, sizeof *v);
        if (!v) abort();
        for (size_t i = 0; i < n; i++) v[i] = json_string_value(json_array_get(vals, i));
        const char *prefix = json_string_value(json_object_get(got, "Prefix"));
        sp_str loc;
        char buf[512];
        sp_str_init(&loc, buf, sizeof buf, SP_STR_NO_MAX);
        sp_str_appendf(&loc, "%s%s/%s", S3_SCHEME, t->bucket, prefix);
        cat_partition p = {.values = v, .n_values = n, .prefix = prefix, .location = loc.buf,
                           .created_ms = json_integer_value(json_object_get(got, "CreatedMs")),
                           .input = json_object_get(got, "Input")};
        out = json_pack("{s:o}", "Partition", glue_partition_json(t, sd, &p, true));
        sp_str_release(&loc);
        free(v);
    }
    json_decref(sd);
    json_decref(made);
    json_decref(got);
    cat_table_destroy(t);
    return out;
}

/* ---- databases -------------------------------------------------------------------------- */

json_t *glue_update_database(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1];
    json_t *in = sp_json_object(req, "DatabaseInput", true, e);
    const char *new_name = in ? glue_database_input(in, e) : NULL;
    if (!new_name || !glue_existing_database(g, req, "Name", db, e)) return NULL;
    char lnew[CAT_NAME_MAX + 1];
    glue_lower(new_name, lnew);
    if (strcmp(lnew, db)) {
        glue_invalid(e, "UpdateDatabase: DatabaseInput.Name '%s' differs from Name '%s'; a "
                        "database cannot be renamed",
                     new_name, db);
        return NULL;
    }
    json_t *keep = json_deep_copy(in);
    json_object_set_new(keep, "Name", json_string(db));
    bool ok = cat_database_update(g->cat, db, keep, e);
    json_decref(keep);
    return ok ? json_object() : NULL;
}

json_t *glue_delete_database(cat_glue *g, json_t *req, sp_err *e)
{
    char db[CAT_NAME_MAX + 1];
    if (!glue_existing_database(g, req, "Name", db, e)) return NULL;
    return cat_database_delete(g->cat, db, e) ? json_object() : NULL;
}
