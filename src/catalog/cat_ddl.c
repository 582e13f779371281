/* The catalog as Athena DDL: CREATE DATABASE, CREATE EXTERNAL TABLE with the OpenX JSON
 * SerDe, and one ALTER TABLE ADD PARTITION per partition (the crawler's partition_N folders
 * are not Hive-style, so MSCK REPAIR TABLE could not find them), so a user can recreate the
 * catalog in real Athena. */
#include "cat_int.h"

#include <stdlib.h>
#include <string.h>

static void quoted(sp_str *s, const char *v)
{
    sp_str_putc(s, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '\'') sp_str_putc(s, '\'');
        sp_str_putc(s, *p);
    }
    sp_str_putc(s, '\'');
}

typedef struct part_ddl {
    sp_str *s;
    const cat_table *t;
} part_ddl;

static bool on_partition(void *arg, const cat_partition *p)
{
    part_ddl *d = arg;
    sp_str_appendf(d->s, "ALTER TABLE `%s`.`%s` ADD IF NOT EXISTS PARTITION (", d->t->database,
                   d->t->name);
    for (size_t i = 0; i < p->n_values && i < d->t->n_partition_keys; i++) {
        sp_str_appendf(d->s, "%s`%s`=", i ? ", " : "", d->t->partition_keys[i].name);
        quoted(d->s, p->values[i]);
    }
    sp_str_puts(d->s, ") LOCATION ");
    quoted(d->s, p->location);
    sp_str_puts(d->s, ";\n");
    return true;
}

static bool table_ddl(cat_catalog *cat, sp_str *s, const char *db, const char *name, sp_err *e)
{
    cat_table *t = cat_table_get(cat, db, name, e);
    if (!t) return false;
    sp_str_appendf(s, "\nCREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n", db, name);
    for (size_t i = 0; i < t->n_columns; i++)
        sp_str_appendf(s, "  `%s` %s%s\n", t->columns[i].name, t->columns[i].type,
                       i + 1 < t->n_columns ? "," : "");
    sp_str_puts(s, ")\n");
    if (t->n_partition_keys) {
        sp_str_puts(s, "PARTITIONED BY (\n");
        for (size_t i = 0; i < t->n_partition_keys; i++)
            sp_str_appendf(s, "  `%s` %s%s\n", t->partition_keys[i].name,
                           t->partition_keys[i].type, i + 1 < t->n_partition_keys ? "," : "");
        sp_str_puts(s, ")\n");
    }
    if (t->classification && !strcmp(t->classification, "parquet")) {
        sp_str_puts(s, "STORED AS PARQUET\nLOCATION ");
    } else {
        sp_str_puts(s, "ROW FORMAT SERDE ");
        quoted(s, t->serde);
        sp_str_puts(s, "\nWITH SERDEPROPERTIES ('paths'='");
        for (size_t i = 0; i < t->n_columns; i++)
            sp_str_appendf(s, "%s%s", i ? "," : "", t->columns[i].name);
        sp_str_puts(s, "')\nSTORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
                       "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
                       "LOCATION ");
    }
    quoted(s, t->location);
    sp_str_puts(s, "\nTBLPROPERTIES (");
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(t->parameters, k, v) {
        if (!json_is_string(v)) continue;
        sp_str_puts(s, first ? "\n  " : ",\n  ");
        first = false;
        quoted(s, k);
        sp_str_putc(s, '=');
        quoted(s, json_string_value(v));
    }
    sp_str_puts(s, ");\n");
    part_ddl d = {.s = s, .t = t};
    bool ok = cat_partition_foreach(cat, db, name, on_partition, &d, e);
    cat_table_destroy(t);
    return ok;
}

char *cat_ddl(cat_catalog *cat, const char *database, sp_err *e)
{
    json_t *dbs = cat_database_list(cat, e);
    if (!dbs) return NULL;
    sp_str s;
    char buf[1024];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    bool ok = true, found = database == NULL;
    size_t i;
    json_t *d;
    json_array_foreach(dbs, i, d) {
        const char *db = json_string_value(d);
        if (database && strcmp(db, database)) continue;
        found = true;
        sp_str_appendf(&s, "%sCREATE DATABASE IF NOT EXISTS `%s`;\n", s.len ? "\n" : "", db);
        json_t *tables = cat_table_list(cat, db, e);
        if (!tables) {
            ok = false;
            break;
        }
        size_t j;
        json_t *t;
        json_array_foreach(tables, j, t) {
            if (!(ok = table_ddl(cat, &s, db, json_string_value(t), e))) break;
        }
        json_decref(tables);
        if (!ok) break;
    }
    json_decref(dbs);
    if (ok && !found) {
        sp_err_set(e, 400, "EntityNotFoundException", "Database %s not found", database);
        ok = false;
    }
    if (!ok) {
        sp_str_release(&s);
        return NULL;
    }
    return sp_str_finish(&s, NULL);
}
