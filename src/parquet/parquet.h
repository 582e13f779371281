/* parquet: the Parquet writer and reader salespipe carries itself (Debian ships no
 * Arrow/Parquet library for C; DESIGN.md).
 *
 * Columns are described by Glue type strings ("bigint", "decimal(10,2)", "timestamp",
 * "struct<a:int>"...), the schema language the catalog and Firehose's SchemaConfiguration
 * speak. The writer takes records as JSON values (what the delivery stage holds) and produces a
 * whole file in memory; its bytes depend only on the records and the options, so redoing a
 * batch writes the same object. The reader opens a file held in memory, bounds every length
 * it reads by the file's size, and hands back rows as JSON objects with only the requested
 * columns decoded, or (for the query scan) the same values as typed cells, column by column,
 * with no JSON value made per cell.
 *
 * Value mapping (both ways): boolean, tinyint..bigint (INT32/INT64 with INTEGER logical
 * types), float, double, string/varchar/char (BYTE_ARRAY STRING), binary (BYTE_ARRAY; JSON
 * side base64), date (INT32 DATE; JSON "YYYY-MM-DD"), timestamp (INT64 TIMESTAMP millis,
 * never nanos; JSON "YYYY-MM-DD HH:MM:SS.fff", or on writing also ISO 8601 or epoch
 * milliseconds), decimal(p,s) (INT32/INT64/FIXED_LEN_BYTE_ARRAY DECIMAL; JSON a decimal string
 * on reading, a number or numeric string on writing).
 *
 * Thread contract: a writer or a file belongs to one thread at a time; nothing is shared.
 */
#ifndef SP_PARQUET_H
#define SP_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ---- options (Firehose ParquetSerDe) ------------------------------------------------------ */

typedef enum {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_ZSTD = 6,
} pq_codec;

/* Firehose ParquetSerDe defaults and bounds (service-2.json: BlockSizeBytes min 64 MiB,
 * PageSizeBytes min 64 KiB; defaults 256 MiB and 1 MiB). */
#define PQ_BLOCK_SIZE_DEFAULT (256u * 1024 * 1024)
#define PQ_BLOCK_SIZE_MIN (64u * 1024 * 1024)
#define PQ_PAGE_SIZE_DEFAULT (1024u * 1024)
#define PQ_PAGE_SIZE_MIN (64u * 1024)

typedef struct pq_options {
    pq_codec codec;
    size_t block_size;   /* row group target in bytes (uncompressed); 0 = default */
    size_t page_size;    /* data page target in bytes (uncompressed); 0 = default */
    bool dictionary;     /* EnableDictionaryCompression */
    bool page_v2;        /* WriterVersion V2: DATA_PAGE_V2 headers */
} pq_options;

/* The defaults Firehose uses: SNAPPY, 256 MiB blocks, 1 MiB pages, no dictionary, V1. */
void pq_options_default(pq_options *o);
/* Parses "SNAPPY|GZIP|UNCOMPRESSED|ZSTD"; false on anything else. */
bool pq_codec_parse(const char *name, pq_codec *out);
const char *pq_codec_name(pq_codec c);

/* ---- schema ------------------------------------------------------------------------------- */

/* Checks a Glue type string the writer can store; on failure sets a ValidationException
 * naming the column and returns false. */
bool pq_glue_type_check(const char *column, const char *glue_type, sp_err *e);

/* ---- writer ------------------------------------------------------------------------------- */

typedef struct pq_writer pq_writer;

/* A writer for top-level columns names[i] of Glue types types[i] (both copied). Returns
 * NULL with e set when a type is not one the writer stores. Caller frees with
 * pq_writer_destroy. */
pq_writer *pq_writer_new(size_t ncols, const char *const *names, const char *const *types,
                         const pq_options *o, sp_err *e);
void pq_writer_destroy(pq_writer *w);

/* Appends one record: values[i] (borrowed; NULL or JSON null = null) for column i. A value
 * that does not fit its column's type sets a ValidationException naming the column and
 * leaves the file as it was (the record is not half-written). */
bool pq_writer_add(pq_writer *w, json_t *const *values, sp_err *e);
/* Appends a JSON object, matching members to columns by exact name. */
bool pq_writer_add_object(pq_writer *w, const json_t *obj, sp_err *e);
size_t pq_writer_rows(const pq_writer *w);

/* Finishes the file and returns it (caller frees with free()); the writer is spent (only
 * pq_writer_destroy may follow). NULL with e set on failure. */
uint8_t *pq_writer_finish(pq_writer *w, size_t *len_out, sp_err *e);

/* ---- reader ------------------------------------------------------------------------------- */

typedef struct pq_file pq_file;

/* Reading limits: every length in a file is bounded by its size and by these. */
#define PQ_VALUES_PER_FILE_BYTE 1024      /* decoded values per byte of file, over the file */
#define PQ_VALUES_FLOOR (1u << 20)        /* ... plus this many */
#define PQ_INFLATE_PER_FILE_BYTE 1024     /* decompressed bytes per byte of file */
#define PQ_INFLATE_FLOOR (64u * 1024 * 1024)
#define PQ_SCHEMA_DEPTH_MAX 32

/* Parses the footer of the file buf[0..len) (borrowed; must outlive the file). Reads no data
 * page. NULL with e set (a ValidationException naming what is wrong) when the bytes are not a
 * Parquet file salespipe can read. */
pq_file *pq_file_open(const uint8_t *buf, size_t len, sp_err *e);
void pq_file_close(pq_file *f);

int64_t pq_file_num_rows(const pq_file *f);
size_t pq_file_num_row_groups(const pq_file *f);
/* Top-level columns: name and Glue type string (borrowed from the file). */
size_t pq_file_num_columns(const pq_file *f);
const char *pq_file_column_name(const pq_file *f, size_t i);
const char *pq_file_column_type(const pq_file *f, size_t i);

/* Statistics of top-level column col in row group rg as JSON values (new references, NULL
 * when the file has none, the column is nested, or it is a byte-array column of a file
 * another writer made, whose bounds may be truncated); null_count -1 when unknown. */
void pq_file_column_stats(const pq_file *f, size_t rg, size_t col, json_t **min, json_t **max,
                          int64_t *null_count);
int64_t pq_file_row_group_rows(const pq_file *f, size_t rg);

/* Called once per row with an object holding the requested columns (borrowed for the call).
 * Return false to stop. */
typedef bool (*pq_row_fn)(void *ctx, json_t *row);

/* Reads row group rg, decoding only top-level columns with want[i] true (want NULL: all),
 * and calls fn for each row. false with e set on a damaged file. */
bool pq_file_read_row_group(pq_file *f, size_t rg, const bool *want, pq_row_fn fn, void *ctx,
                            sp_err *e);
/* All row groups in order. */
bool pq_file_read(pq_file *f, const bool *want, pq_row_fn fn, void *ctx, sp_err *e);

/* ---- typed cells (the query scan's reader: no JSON value per cell) ----------------------- */

/* One value of a top-level column, standing for exactly the JSON value
 * pq_file_read_row_group hands over for it: NULL for null, BOOL/INT/DOUBLE for a JSON
 * boolean/integer/real, TEXT for a JSON string (its UTF-8 bytes: dates, timestamps,
 * decimals, base64 binaries, "NaN" and unsigned 64-bit values past INT64_MAX included), JSON
 * for a nested value (struct, array, map) as the compact text
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) gives. */
typedef enum { PQ_CELL_NULL, PQ_CELL_BOOL, PQ_CELL_INT, PQ_CELL_DOUBLE, PQ_CELL_TEXT,
               PQ_CELL_JSON } pq_cell_kind;
typedef struct pq_cell {
    pq_cell_kind kind;
    uint32_t len;             /* TEXT, JSON: bytes at v.s (not NUL-terminated) */
    union {
        int64_t i;            /* BOOL (0/1), INT */
        double d;             /* DOUBLE (finite) */
        const char *s;        /* TEXT, JSON */
    } v;
} pq_cell;

/* Called once per row group read: n_rows rows, and per top-level column c, cols[c] = its
 * n_rows cells in row order, or NULL when the column was not asked for, has no leaves or a
 * name that is not UTF-8 (the columns pq_file_read_row_group leaves out of its rows). Cells and their text are borrowed
 * for the call. Return false to stop. */
typedef bool (*pq_cells_fn)(void *ctx, size_t n_rows, const pq_cell *const *cols);

/* Reads row group rg like pq_file_read_row_group, decoding only top-level columns with
 * want[i] true (want NULL: all), but hands the values over column by column as typed cells.
 * false with e set (the same message) on a damaged file; fn is then not called. */
bool pq_file_read_row_group_cells(pq_file *f, size_t rg, const bool *want, pq_cells_fn fn,
                                  void *ctx, sp_err *e);

/* True when cell c stands for the JSON value v (NULL: absent, counted as null) as described
 * above; what tests and the fuzz target check the two reading paths against. */
bool pq_cell_matches_json(const pq_cell *c, const json_t *v);

/* True when buf starts and ends with the Parquet magic "PAR1". */
bool pq_is_parquet(const uint8_t *buf, size_t len);

#endif
