/* parquet internals: the byte buffer, the Thrift compact protocol, the RLE/bit-packed hybrid,
 * page compression, the Glue type tree and the parts of the Parquet format (parquet.thrift)
 * the writer and reader share. Not for use outside src/parquet. */
#ifndef SP_PQ_INT_H
#define SP_PQ_INT_H

#include "parquet/parquet.h"

/* ---- memory ------------------------------------------------------------------------------- */

/* Out of memory aborts: every allocation here is bounded (by the options when writing, by
 * the file's size when reading), so failing one means the process is already lost. */
void *pq_xmalloc(size_t n);
void *pq_xcalloc(size_t n, size_t size);
void *pq_xrealloc(void *p, size_t n);
char *pq_xstrdup(const char *s);

/* A growable byte buffer. */
typedef struct pq_buf {
    uint8_t *p;
    size_t len, cap;
} pq_buf;

void pq_buf_reserve(pq_buf *b, size_t more);
void pq_buf_put(pq_buf *b, const void *data, size_t n);
void pq_buf_byte(pq_buf *b, uint8_t v);
void pq_buf_u32le(pq_buf *b, uint32_t v);
void pq_buf_varint(pq_buf *b, uint64_t v);
void pq_buf_free(pq_buf *b);

/* ---- parquet.thrift enums ----------------------------------------------------------------- */

enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4, PQ_DOUBLE = 5,
       PQ_BYTE_ARRAY = 6, PQ_FIXED = 7 };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
       PQ_ENC_DELTA_BYTE_ARRAY = 7, PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
enum { PQ_CT_NONE = -1, PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3,
       PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
       PQ_CT_TIME_MICROS = 8, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10,
       PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14,
       PQ_CT_INT_8 = 15, PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18,
       PQ_CT_JSON = 19, PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21 };
/* LogicalType union member ids. */
enum { PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3, PQ_LT_ENUM = 4,
       PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7, PQ_LT_TIMESTAMP = 8,
       PQ_LT_INTEGER = 10, PQ_LT_UNKNOWN = 11, PQ_LT_JSON = 12, PQ_LT_BSON = 13,
       PQ_LT_UUID = 14 };
enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

#define PQ_MAGIC "PAR1"
#define PQ_CREATED_BY "salespipe parquet writer"

/* ---- Thrift compact protocol ---------------------------------------------------------------- */

enum { TC_STOP = 0, TC_TRUE = 1, TC_FALSE = 2, TC_BYTE = 3, TC_I16 = 4, TC_I32 = 5, TC_I64 = 6,
       TC_DOUBLE = 7, TC_BINARY = 8, TC_LIST = 9, TC_SET = 10, TC_MAP = 11, TC_STRUCT = 12 };

/* Writing: one field-id stack per nesting level. */
#define TC_DEPTH_MAX 16
typedef struct tc_writer {
    pq_buf *out;
    int16_t last[TC_DEPTH_MAX];
    int depth;
} tc_writer;

void tc_w_init(tc_writer *w, pq_buf *out);
void tc_w_field(tc_writer *w, int16_t id, int type);
void tc_w_i32(tc_writer *w, int16_t id, int32_t v);
void tc_w_i64(tc_writer *w, int16_t id, int64_t v);
void tc_w_bool(tc_writer *w, int16_t id, bool v);
void tc_w_binary(tc_writer *w, int16_t id, const void *p, size_t n);
void tc_w_string(tc_writer *w, int16_t id, const char *s);
/* A struct field (id > 0) or a list element struct (id == 0): begin/end pair. */
void tc_w_struct_begin(tc_writer *w, int16_t id);
void tc_w_struct_end(tc_writer *w);
void tc_w_list_begin(tc_writer *w, int16_t id, int elem_type, size_t n);
/* Bare values inside a list. */
void tc_w_raw_i32(tc_writer *w, int32_t v);
void tc_w_raw_binary(tc_writer *w, const void *p, size_t n);

/* Reading: bounded by the buffer and by TC_DEPTH_MAX; errors are sticky. */
typedef struct tc_reader {
    const uint8_t *p, *end;
    int16_t last[TC_DEPTH_MAX];
    int depth;
    bool bad;
} tc_reader;

void tc_r_init(tc_reader *r, const uint8_t *p, size_t n);
/* Enters a struct (the reader starts outside the top-level struct: call it first). */
bool tc_r_struct_begin(tc_reader *r);
void tc_r_struct_end(tc_reader *r);
/* Next field of the current struct: false at its STOP (or on error). */
bool tc_r_field(tc_reader *r, int *type, int16_t *id);
int64_t tc_r_int(tc_reader *r, int type);       /* i8/i16/i32/i64 field value */
bool tc_r_bool(tc_reader *r, int type);
const uint8_t *tc_r_binary(tc_reader *r, size_t *n);
/* List header; the size is bounded by the bytes left. */
bool tc_r_list(tc_reader *r, int *elem_type, size_t *n);
void tc_r_skip(tc_reader *r, int type);
static inline size_t tc_r_consumed(const tc_reader *r, const uint8_t *start)
{
    return (size_t)(r->p - start);
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------------------------ */

/* Appends the hybrid encoding of v[0..n) at bit width bw (no length prefix). */
void pq_rle_encode(pq_buf *out, const uint32_t *v, size_t n, int bw);
/* Decodes exactly n values of width bw from p[0..len) into out; false if the data runs out
 * or is malformed. */
bool pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n);
int pq_bit_width(uint32_t max);

/* ---- compression ------------------------------------------------------------------------------- */

/* Appends the compressed form of in[0..n) to out. */
bool pq_compress(pq_codec c, const uint8_t *in, size_t n, pq_buf *out, sp_err *e);
/* Decompresses in[0..n) into exactly out_len bytes at out. */
bool pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
                   sp_err *e);

/* ---- Glue types ------------------------------------------------------------------------------ */

typedef enum {
    PQ_T_BOOLEAN, PQ_T_TINYINT, PQ_T_SMALLINT, PQ_T_INT, PQ_T_BIGINT, PQ_T_FLOAT, PQ_T_DOUBLE,
    PQ_T_DECIMAL, PQ_T_STRING, PQ_T_BINARY, PQ_T_DATE, PQ_T_TIMESTAMP,
    PQ_T_STRUCT, PQ_T_ARRAY, PQ_T_MAP
} pq_kind;

typedef struct pq_type {
    pq_kind kind;
    int precision, scale;     /* decimal */
    size_t nchildren;         /* struct fields; array 1 (element); map 2 (key, value) */
    struct pq_type **children;
    char **names;             /* struct field names */
} pq_type;

/* Parses a Glue type string; NULL with e set naming the column. Caller frees. */
pq_type *pq_type_parse(const char *column, const char *s, sp_err *e);
void pq_type_free(pq_type *t);
/* Appends the Glue spelling of t. */
void pq_type_format(const pq_type *t, sp_str *out);

/* Physical storage of a primitive kind. */
int pq_kind_physical(const pq_type *t, int *type_length);

/* Days since 1970-01-01 of a civil date and back. */
int64_t pq_days_from_civil(int64_t y, unsigned m, unsigned d);
void pq_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
