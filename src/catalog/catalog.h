/* catalog: the Glue role. A Data Catalog kept in SQLite (<data>/catalog/catalog.db) with
 * databases, tables (columns with Glue type names, partition keys, location, SerDe, table
 * parameters), partitions and the crawler's memory (objects already read, runs); and a
 * crawler that reads the JSON lines of a lake prefix (plain, gzip, zstd), infers the schema
 * as Glue's JSON classifier does, detects partitions from the folder layout and records
 * tables and partitions, incrementally on a recrawl.
 *
 * The object reader and the JsonPath record selector are public too: the query stage scans
 * tables with exactly the same reading rules the crawler inferred them with.
 */
#ifndef SP_CATALOG_H
#define SP_CATALOG_H

#include "core/config.h"
#include "core/core.h"
#include "lake/lake.h"
#include "parquet/parquet.h"

#include <stdio.h>

/* ---- limits ----------------------------------------------------------------------------- */

/* Glue: names of databases, tables and columns are at most 255 characters. */
enum { CAT_NAME_MAX = 255 };
/* One JSON document (one line of a JSON-lines object, or a multi-line document) may not be
 * larger than this; longer ones are counted as malformed, never loaded whole. */
enum { CAT_DOC_MAX = 16 * 1024 * 1024 };
/* Two folder schemas whose column-name sets overlap by at least this share (Jaccard, in
 * percent) are "similar" and become partitions of one table (Glue's table grouping). */
enum { CAT_SIMILARITY_PCT = 50 };

/* ---- the catalog ------------------------------------------------------------------------ */

typedef struct cat_catalog cat_catalog;

/* Opens (creating if missing) <dir>/catalog.db. Caller closes with cat_catalog_close. */
cat_catalog *cat_catalog_open(const char *dir, sp_err *e);
void cat_catalog_close(cat_catalog *cat);

typedef struct cat_column {
    char *name;   /* lower case, as Glue stores it */
    char *type;   /* Glue type name: string, bigint, double, boolean, array<..>, struct<..> */
} cat_column;

typedef struct cat_table {
    char *database;
    char *name;
    char *bucket;
    char *prefix;          /* key prefix of the table location, "" or ending in '/' */
    char *location;        /* s3://bucket/prefix */
    char *classification;  /* "json" */
    char *json_path;       /* the classifier's JsonPath selecting records in a document */
    char *serde;           /* org.openx.data.jsonserde.JsonSerDe */
    cat_column *columns;
    size_t n_columns;
    cat_column *partition_keys;
    size_t n_partition_keys;
    json_t *parameters;    /* object of string values (recordCount, objectCount, ...) */
    int64_t created_ms, updated_ms;
} cat_table;

/* Returns the table, or NULL with 400 EntityNotFoundException naming it. Caller destroys. */
cat_table *cat_table_get(cat_catalog *cat, const char *database, const char *name, sp_err *e);
void cat_table_destroy(cat_table *t);
/* New JSON arrays of names (sorted); caller decrefs. NULL with e set on failure. */
json_t *cat_database_list(cat_catalog *cat, sp_err *e);
json_t *cat_table_list(cat_catalog *cat, const char *database, sp_err *e);

typedef struct cat_partition {
    const char *const *values;  /* one per partition key; borrowed for the callback */
    size_t n_values;
    const char *prefix;         /* key prefix of the partition location, ends in '/' */
    const char *location;       /* s3://bucket/prefix */
    int64_t created_ms;
    const json_t *input;        /* CreatePartition's PartitionInput, NULL for crawled ones */
} cat_partition;
typedef bool (*cat_partition_fn)(void *arg, const cat_partition *p); /* false: stop */

/* Visits the table's partitions in key order. */
bool cat_partition_foreach(cat_catalog *cat, const char *database, const char *table,
                           cat_partition_fn fn, void *arg, sp_err *e);

/* ---- the crawler ------------------------------------------------------------------------ */

/* ---- exclude patterns (cat_glob.c) ------------------------------------------------------ */

/* Glue's glob patterns for S3Target.Exclusions: * (within a folder), ** (across folders),
 * ?, [...] / [!...], {a,b} (not nested), \ escapes. At most CAT_GLOB_MAX characters. */
enum { CAT_GLOB_MAX = 1024 };
typedef struct cat_glob cat_glob;

/* NULL with 400 InvalidInputException naming what is wrong. Caller destroys. */
cat_glob *cat_glob_compile(const char *pattern, sp_err *e);
/* Whether key (relative to the crawler's include path) matches the whole pattern. */
bool cat_glob_match(const cat_glob *g, const char *key);
void cat_glob_destroy(cat_glob *g);

/* A crawler Schedule, cron(Minutes Hours Day-of-month Month Day-of-week Year) as Glue
 * takes it; false with 400 InvalidInputException naming the field that is wrong. */
enum { CAT_CRON_MAX = 256 };
bool cat_cron_valid(const char *expr, sp_err *e);

/* ---- the crawler (continued) ------------------------------------------------------------ */

typedef void (*cat_progress_fn)(void *arg, size_t objects_done, size_t objects_total);
/* Asked between objects; true stops the crawl there (see cat_crawl). */
typedef bool (*cat_stop_fn)(void *arg);

/* Glue's TablePrefix: at most 128 characters. */
enum { CAT_TABLE_PREFIX_MAX = 128 };

typedef struct cat_crawl_report {
    /* in: optional progress callback, called after each object read */
    cat_progress_fn progress;
    void *progress_arg;
    /* in, optional: asked between objects whether to stop (StopCrawler) */
    cat_stop_fn stop;
    void *stop_arg;
    /* in, optional: keys (relative to the crawl path) matching one of these are not crawled */
    const cat_glob *const *exclusions;
    size_t n_exclusions;
    /* in, optional: prepended to the names of the tables the crawl creates */
    const char *table_prefix;
    /* out */
    bool stopped;                          /* stop said so: the run is CANCELLED */
    size_t tables_created, tables_updated;
    size_t partitions_added;
    size_t objects_read, objects_skipped;  /* skipped: already crawled, unchanged */
    size_t records_read, records_malformed;
    size_t schema_changes_logged;          /* SchemaChangePolicy LOG: changes not applied */
    double seconds;
    json_t *tables;                        /* array of "db.table" touched; caller decrefs */
} cat_crawl_report;

/* Runs the crawler over its bucket/path with its classifier (NULL: JsonPath "$"). The
 * report is filled in; report->tables is new (cat_crawl_report_clear releases it). A run
 * is one SQLite transaction: on failure nothing of it is kept. A run stopped between
 * objects keeps what it read (tables, partitions, the objects as crawled) and is recorded
 * as CANCELLED; the objects it did not reach are read by the next run. */
bool cat_crawl(cat_catalog *cat, lake *lk, const sp_cfg_crawler *crawler,
               const sp_cfg_classifier *classifier, cat_crawl_report *report, sp_err *e);
void cat_crawl_report_clear(cat_crawl_report *report);

/* The last run of a crawler as {"State","LastCrawl":{"Status","StartTime",...}}, or NULL if
 * it never ran. Caller decrefs. */
json_t *cat_crawler_last_run(cat_catalog *cat, const char *crawler, sp_err *e);

/* ---- DDL -------------------------------------------------------------------------------- */

/* The tables of database (NULL: every database) as Athena DDL: CREATE DATABASE + CREATE
 * EXTERNAL TABLE statements. Caller frees. NULL with e set on failure. */
char *cat_ddl(cat_catalog *cat, const char *database, sp_err *e);

/* ---- reading objects -------------------------------------------------------------------- */

/* Streams the JSON documents of one object file: JSON lines, where a document may continue
 * over several lines; gzip and zstd are recognised by their magic bytes. Memory is bounded
 * by the largest document (CAT_DOC_MAX). */
typedef struct cat_reader cat_reader;

/* Opens the file at path; caller closes. NULL with e set (404 NoSuchKey) if it cannot. */
cat_reader *cat_reader_open(const char *path, sp_err *e);
/* Next document: 1 with *doc set (new reference, caller decrefs), 0 at the end, -1 on a
 * read/decompression error (e set). Text that is not JSON is skipped and counted. */
int cat_reader_next(cat_reader *r, json_t **doc, sp_err *e);
size_t cat_reader_malformed(const cat_reader *r);
/* "none", "gzip" or "zstd" */
const char *cat_reader_compression(const cat_reader *r);
void cat_reader_close(cat_reader *r);

/* ---- JsonPath --------------------------------------------------------------------------- */

/* The subset Glue's custom JSON classifiers use: $ , $[*] , $.field , $.field[*] , chained
 * (.a.b[*]), with ['quoted'] member names. */
typedef struct cat_jsonpath cat_jsonpath;

/* Compiles path; NULL with a 400 InvalidInputException naming the position on error.
 * Caller destroys. */
cat_jsonpath *cat_jsonpath_compile(const char *path, sp_err *e);
void cat_jsonpath_destroy(cat_jsonpath *p);
/* Calls fn for every value the path selects in doc (borrowed references). Returns false if
 * fn stopped the walk. */
typedef bool (*cat_jsonpath_fn)(void *arg, json_t *value);
bool cat_jsonpath_select(const cat_jsonpath *p, json_t *doc, cat_jsonpath_fn fn, void *arg);

/* ---- partition filter expressions (cat_partition_expr.c) ------------------------------- */

/* GetPartitions' Expression (Glue's PredicateString: at most 2048 characters); nesting of
 * parentheses and NOT is bounded so a hostile expression cannot exhaust the stack. */
enum { CAT_PEXPR_MAX = 2048, CAT_PEXPR_DEPTH_MAX = 64 };
typedef struct cat_pexpr cat_pexpr;

/* Compiles text against the table's partition keys (borrowed for the call), typing every
 * literal by its key's type. NULL with 400 InvalidInputException naming the problem (syntax
 * and where, unknown key, literal of the wrong type, LIKE on a non-string key). Caller
 * destroys. */
cat_pexpr *cat_pexpr_parse(const char *text, const cat_column *keys, size_t n_keys, sp_err *e);
/* Whether a partition with these values (one per key, in key order) is selected. */
bool cat_pexpr_match(const cat_pexpr *x, const char *const *values, size_t n_values);
void cat_pexpr_destroy(cat_pexpr *x);

/* ---- Parquet objects (cat_parquet.c) ------------------------------------------------------ */

/* The Parquet table classification, and the SerDe and formats a Glue crawler records. */
#define CAT_PARQUET_SERDE "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
#define CAT_PARQUET_INPUT "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
#define CAT_PARQUET_OUTPUT "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

typedef struct cat_parquet cat_parquet;
/* Opens path as Parquet when its magic bytes say so: NULL with e untouched when it is not
 * Parquet, NULL with e set when it is but its footer is damaged. Only the footer is read.
 * Caller closes. */
cat_parquet *cat_parquet_open(const char *path, sp_err *e);
pq_file *cat_parquet_file(cat_parquet *p);   /* borrowed from p */
void cat_parquet_close(cat_parquet *p);
/* "struct<name:type,...>" of the file's top-level columns (names in lower case); caller
 * frees. */
char *cat_parquet_schema(const pq_file *f);

/* ---- Glue API definitions (cat_glue_store.c) --------------------------------------------- */

/* Another connection to the same catalog file, for a thread of its own (a connection is
 * not shared across threads while one of them holds a transaction). Caller closes. */
cat_catalog *cat_catalog_reopen(const cat_catalog *cat, sp_err *e);

/* Creates a database as Glue's CreateDatabase does: 400 AlreadyExistsException if it
 * exists. input (borrowed) is the DatabaseInput, kept for GetDatabase. */
bool cat_database_create(cat_catalog *cat, const char *name, const json_t *input, sp_err *e);
/* The database as {"Name", "CreateTimeMs", "Input": DatabaseInput or null}, or NULL with
 * 400 EntityNotFoundException. Caller decrefs. */
json_t *cat_database_get(cat_catalog *cat, const char *name, sp_err *e);

/* UpdateDatabase: replaces the DatabaseInput (borrowed); DeleteDatabase: removes the
 * database with its tables, their partitions and the crawler's memory of their objects (so
 * a later crawl makes them again). 400 EntityNotFoundException if it does not exist. */
bool cat_database_update(cat_catalog *cat, const char *name, const json_t *input, sp_err *e);
bool cat_database_delete(cat_catalog *cat, const char *name, sp_err *e);

/* A table made through CreateTable/UpdateTable: t says where its data is and how it reads
 * (bucket, prefix, json_path, columns, partition keys, parameters); input (borrowed) is the
 * TableInput, kept for GetTable. create: 400 AlreadyExistsException if the name is taken;
 * else 400 EntityNotFoundException if it is not. Each UpdateTable makes a new version. */
bool cat_table_put(cat_catalog *cat, const cat_table *t, const json_t *input, bool create,
                   sp_err *e);
/* {"Input": TableInput, "Version": n} of a hand-made table; NULL (e untouched) for a
 * crawled one, NULL with e set on failure. Caller decrefs. */
json_t *cat_table_input(cat_catalog *cat, const char *database, const char *name, sp_err *e);
/* Removes a table, its partitions and the crawler's memory of its objects; 400
 * EntityNotFoundException if absent. */
bool cat_table_delete(cat_catalog *cat, const char *database, const char *name, sp_err *e);

/* Partitions by their values (vals: a JSON array of strings, borrowed). create: 400
 * AlreadyExistsException if a partition has these values, InvalidInputException if another
 * one has this prefix; input (borrowed, may be NULL) is the PartitionInput. delete/get: 400
 * EntityNotFoundException if none has them. get returns {"Values","Prefix","CreatedMs",
 * "Input"?}, new. */
bool cat_partition_create(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, const char *prefix, const json_t *input, sp_err *e);
bool cat_partition_delete(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, sp_err *e);
json_t *cat_partition_get(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, sp_err *e);

/* Definitions made through the Glue API (kind "crawler", "classifier"), persisted as the
 * JSON the API was given. Each is returned as {"Name", "Body", "CreatedMs", "UpdatedMs",
 * "Version"}. create: 400 AlreadyExistsException if the name is taken; get/delete: 400
 * EntityNotFoundException if it is not. body is borrowed; results are new references. */
bool cat_definition_create(cat_catalog *cat, const char *kind, const char *name,
                           const json_t *body, sp_err *e);
json_t *cat_definition_get(cat_catalog *cat, const char *kind, const char *name, sp_err *e);
/* All definitions of a kind, sorted by name. */
json_t *cat_definition_list(cat_catalog *cat, const char *kind, sp_err *e);
bool cat_definition_delete(cat_catalog *cat, const char *kind, const char *name, sp_err *e);
/* Replaces the body of an existing definition, bumping Version and UpdatedMs; 400
 * EntityNotFoundException if it does not exist. */
bool cat_definition_update(cat_catalog *cat, const char *kind, const char *name,
                           const json_t *body, sp_err *e);

/* ---- pagination tokens (cat_page.c) ------------------------------------------------------ */

/* An opaque NextToken meaning "continue after `after`" within scope (e.g. "GetTables:db"),
 * so a token handed out for one listing is refused by another. Caller frees. */
char *cat_page_token_make(const char *scope, const char *after);
/* Reads a token back: true with the position copied into after (NUL-terminated), false if
 * the token is malformed, too long or from another scope. */
bool cat_page_token_read(const char *token, const char *scope, char *after, size_t size);

/* ---- the Glue API (glue_api.c, glue_crawler.c) ------------------------------------------ */

/* The Glue endpoint's state: the configuration's crawlers and classifiers (visible through
 * the API next to the ones created through it), the catalog connection the API reads, and
 * one background thread that runs the crawls StartCrawler queues. */
typedef struct cat_glue cat_glue;

/* cfg, cat and lk are borrowed and must outlive the result; the crawl thread opens its own
 * connection to the catalog. Creates the configured crawlers' databases if missing.
 * Caller destroys. */
cat_glue *cat_glue_new(const sp_config *cfg, cat_catalog *cat, lake *lk, sp_err *e);
/* Lets a running crawl finish, drops queued ones, joins the thread and frees. */
void cat_glue_destroy(cat_glue *g);
/* The AWSGlue operations; ctx is a cat_glue. */
extern const sp_op cat_glue_ops[];

/* ---- the query cache (cat_cache.c) ------------------------------------------------------ */

/* The records of crawled objects, selected with the table's JsonPath and split into their
 * fields, kept in <catalog dir>/cache.db so queries scan unchanged objects without parsing
 * JSON. Entries are keyed by the object's file path and valid only while the file's size and
 * mtime (ns) and the JsonPath match. A chunk blob holds at most CAT_CACHE_CHUNK_RECORDS
 * records: varint n_names, n_names x (varint len, bytes), varint n_records, then per record
 * varint n_fields (0 for a record that is not an object) and per field (in the object's
 * order) varint name index, one tag byte and the value: INT/REAL 8 bytes host order,
 * STRING/JSON varint length + bytes (JSON: compact text of an object or array). */
enum { CAT_CACHE_CHUNK_RECORDS = 1024 };
enum { CAT_CACHE_NULL, CAT_CACHE_TRUE, CAT_CACHE_FALSE, CAT_CACHE_INT, CAT_CACHE_REAL,
       CAT_CACHE_STRING, CAT_CACHE_JSON };

typedef struct cat_cache cat_cache;
typedef struct cat_cache_put cat_cache_put;
struct stat;

/* <dir of the catalog file>/cache.db; caller frees. */
char *cat_cache_path(const cat_catalog *cat);
/* Opens the cache at path; write creates it and its schema. NULL with e set (404 when a
 * read-only open finds no file). One thread per handle. Caller closes. */
cat_cache *cat_cache_open(const char *path, bool write, sp_err *e);
void cat_cache_close(cat_cache *c);
bool cat_cache_begin(cat_cache *c, sp_err *e);
bool cat_cache_commit(cat_cache *c, sp_err *e);
void cat_cache_rollback(cat_cache *c);

/* Replaces the entry of path with a new, incomplete one (never served until put_end keeps
 * it). Strings are borrowed for the call. NULL with e set. */
cat_cache_put *cat_cache_put_begin(cat_cache *c, const char *path, const char *bucket,
                                   const char *key, const char *json_path, sp_err *e);
/* Adds one selected record (borrowed). false: the entry will not be kept. */
bool cat_cache_put_record(cat_cache_put *p, json_t *rec, sp_err *e);
/* Completes the entry with the file's stat (size, mtime) if keep and nothing failed,
 * else drops it. Frees p. Returns whether the entry was kept. */
bool cat_cache_put_end(cat_cache_put *p, const struct stat *st, bool keep, sp_err *e);
/* Drops the entries of bucket objects under prefix whose file is gone or changed. */
bool cat_cache_prune(cat_cache *c, const char *bucket, const char *prefix, sp_err *e);

/* The entry id of path if it matches st's size and mtime and json_path (0: none), with its
 * chunk count. */
int64_t cat_cache_lookup(cat_cache *c, const char *path, const struct stat *st,
                         const char *json_path, size_t *chunks);
/* Chunk seq of entry id as a heap copy (caller frees), NULL if absent. */
void *cat_cache_chunk_get(cat_cache *c, int64_t id, size_t seq, size_t *len);
/* Chunk seq of entry id in place (len bytes, never NULL when found), NULL if absent:
 * borrowed until the next chunk call on c or cat_cache_read_end, whichever comes first. */
const void *cat_cache_chunk_view(cat_cache *c, int64_t id, size_t seq, size_t *len);
/* A read snapshot across lookup and chunk reads (so an entry cannot change under them). */
bool cat_cache_read_begin(cat_cache *c);
void cat_cache_read_end(cat_cache *c);

/* Decoding one chunk (data borrowed while open). */
typedef struct cat_chunk {
    const uint8_t *data;
    size_t len, pos;
    size_t n_names;
    const char **names;    /* into data, not NUL-terminated */
    size_t *name_lens;
    size_t n_records;
} cat_chunk;
typedef struct cat_cache_value {
    size_t name;           /* index into the chunk's names */
    int tag;               /* CAT_CACHE_* */
    int64_t i;
    double d;
    const char *s;         /* STRING / JSON, len bytes, into the chunk */
    size_t len;
} cat_cache_value;

/* false if the header is malformed; close it either way. */
bool cat_chunk_open(cat_chunk *k, const void *data, size_t len);
void cat_chunk_close(cat_chunk *k);
/* Starts the next record: 1 with its field count, 0 at the end, -1 if malformed. */
int cat_chunk_record(cat_chunk *k, size_t *n_fields);
/* The next field of the current record; false if malformed. */
bool cat_chunk_field(cat_chunk *k, cat_cache_value *out);

#endif
