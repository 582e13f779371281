/* The catalog page: databases, their tables with columns, partition keys, location and
 * parameters, and each table's partitions (at most DASH_PARTITIONS_MAX listed). */
#include "catalog/catalog.h"
#include "dash_int.h"

enum { DASH_PARTITIONS_MAX = 200 };

typedef struct parts {
    json_t *list;
    size_t total;
} parts;

static bool add_partition(void *arg, const cat_partition *p)
{
    parts *ps = arg;
    if (ps->total++ >= DASH_PARTITIONS_MAX) return true;
    json_t *values = json_array();
    for (size_t i = 0; i < p->n_values; i++) json_array_append_new(values, json_string(p->values[i]));
    json_array_append_new(ps->list, json_pack("{s:o, s:s}", "values", values, "location",
                                              p->location));
    return true;
}

static json_t *columns_json(const cat_column *c, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "name", c[i].name, "type", c[i].type));
    return a;
}

static json_t *table_json(cat_catalog *cat, const char *database, const char *name)
{
    sp_err e = {0};
    cat_table *t = cat_table_get(cat, database, name, &e);
    if (!t) return json_pack("{s:s, s:s}", "name", name, "error", e.msg);
    parts ps = {json_array(), 0};
    cat_partition_foreach(cat, database, name, add_partition, &ps, &e);
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:O?, s:o, s:I}", "name", t->name, "location",
                          t->location, "columns", columns_json(t->columns, t->n_columns),
                          "partition_keys", columns_json(t->partition_keys, t->n_partition_keys),
                          "parameters", t->parameters, "partitions", ps.list,
                          "partitions_total", (json_int_t)ps.total);
    cat_table_destroy(t);
    return j;
}

/* GET api/catalog: {"databases": [{"name", "tables": [...]}]}. */
void dash_api_catalog(dash *d, const char *query, sp_http_resp *resp)
{
    (void)query;
    if (!d->src.catalog) {
        dash_error(resp, 503, "the catalog is not open");
        return;
    }
    sp_err e = {0};
    json_t *names = cat_database_list(d->src.catalog, &e);
    json_t *dbs = json_array();
    size_t i;
    json_t *db;
    json_array_foreach(names, i, db) {
        const char *dbname = json_string_value(db);
        json_t *tables = json_array(), *tnames = cat_table_list(d->src.catalog, dbname, &e);
        size_t k;
        json_t *tn;
        json_array_foreach(tnames, k, tn)
            json_array_append_new(tables, table_json(d->src.catalog, dbname, json_string_value(tn)));
        json_decref(tnames);
        json_array_append_new(dbs, json_pack("{s:s, s:o}", "name", dbname, "tables", tables));
    }
    json_decref(names);
    json_t *out = json_pack("{s:o}", "databases", dbs);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}
