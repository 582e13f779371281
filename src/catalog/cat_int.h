/* Private to catalog/: the Glue type tree used by schema inference, partition detection
 * from object keys, and the SQLite store under the crawler. */
#ifndef SP_CAT_INT_H
#define SP_CAT_INT_H

#include "catalog.h"

#include <sqlite3.h>

/* ---- types ------------------------------------------------------------------------------ */

/* Ordered by the numeric widening Glue applies (int -> bigint -> double). CAT_T_NULL is
 * "nothing seen yet" (a JSON null) and merges into anything. */
typedef enum {
    CAT_T_NULL,
    CAT_T_BOOLEAN,
    CAT_T_INT,
    CAT_T_BIGINT,
    CAT_T_DOUBLE,
    CAT_T_STRING,
    CAT_T_ARRAY,
    CAT_T_STRUCT,
    CAT_T_NAMED,            /* any other Glue type, kept by name (Parquet's timestamp, date,
                             * decimal(p,s), float, tinyint, smallint, binary, map<..>) */
} cat_kind;

typedef struct cat_type cat_type;
struct cat_type {
    cat_kind kind;
    cat_type *elem;         /* ARRAY */
    size_t n_fields;        /* STRUCT, fields in order of first appearance */
    char **names;
    cat_type **fields;
    char *other;            /* NAMED: the Glue type name */
};

/* Type of a JSON value (integers are bigint, like Glue's JSON classifier). Caller destroys. */
cat_type *cat_type_of_json(const json_t *v);
/* Merges b into *a (a may be NULL: takes a copy of b). Numbers widen, structs union their
 * fields, arrays merge elements, other conflicts become string. b is not changed. */
void cat_type_merge(cat_type **a, const cat_type *b);
cat_type *cat_type_copy(const cat_type *t);
void cat_type_destroy(cat_type *t);
/* Glue type name into s ("struct<a:bigint,b:array<string>>"); NULL renders as string. */
void cat_type_render(const cat_type *t, sp_str *s);
/* A struct field or column name as it appears inside a type name: bare, or in backticks
 * (doubled inside) when it holds one of ",:<>`" or is empty. */
void cat_type_render_name(const char *name, sp_str *s);
/* Heap string of the rendered name; caller frees. */
char *cat_type_name(const cat_type *t);
/* Parses a Glue type name back; NULL if malformed. Caller destroys. */
cat_type *cat_type_parse(const char *name);
/* True if both types render the same. */
bool cat_type_equal(const cat_type *a, const cat_type *b);
/* Percentage (0..100) of top-level field names shared (Jaccard) by two struct types. */
int cat_type_similarity(const cat_type *a, const cat_type *b);

/* ---- partitions ------------------------------------------------------------------------- */

/* Number of folders in a key relative to the table location ("a/b/file" -> 2). */
size_t cat_key_depth(const char *rel_key);
/* Folder number level (0-based) of rel_key into out (without '/'); false if too shallow. */
bool cat_key_folder(const char *rel_key, size_t level, char *out, size_t out_size);

/* Names the partition keys of a table from the relative keys of its objects: level i is
 * named k when every folder at that level is "k=value" with the same k, else
 * "partition_<i>". names[i] are heap strings the caller frees. */
void cat_partition_names(const char *const *rel_keys, size_t n_keys, size_t depth,
                         char **names);
/* The value of one folder under a partition key: "k=v" under key k gives v, anything else
 * the folder name itself. Writes into out. */
void cat_partition_value(const char *folder, const char *key_name, char *out, size_t out_size);

/* Glue's table name for a bucket/prefix or folder: lower case, anything outside [a-z0-9_]
 * becomes '_'. out has CAT_NAME_MAX+1 bytes. */
void cat_name_sanitize(const char *in, char *out);

/* ---- store ------------------------------------------------------------------------------ */

struct cat_catalog {
    sqlite3 *db;
    char *path;
};

/* Runs SQL with no result rows; false with a 500 naming the statement on failure. */
bool cat_store_exec(cat_catalog *cat, const char *sql, sp_err *e);
/* Prepares sql; NULL with e set. */
sqlite3_stmt *cat_store_prepare(cat_catalog *cat, const char *sql, sp_err *e);
bool cat_store_fail(cat_catalog *cat, const char *what, sp_err *e);

/* Columns as a JSON array of [name, type] pairs and back. */
json_t *cat_columns_to_json(const cat_column *cols, size_t n);
bool cat_columns_from_json(const char *text, cat_column **cols, size_t *n);
void cat_columns_free(cat_column *cols, size_t n);

#endif
