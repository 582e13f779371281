/* The Parquet writer: shreds JSON records into leaf columns (definition and repetition levels,
 * Dremel style, so struct/array/map columns work like flat ones), cuts row groups at the block
 * size and data pages at the page size, encodes values PLAIN or RLE_DICTIONARY, compresses
 * pages, keeps min/max/null-count statistics per page and per column chunk, and ends with the
 * Thrift footer. The output is a pure function of the records and options (no clock, no
 * randomness), which is what lets a delivery redo write the same object. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parquet/pq_value.h"

/* Internal ceiling on a row group, whatever BlockSizeBytes says: keeps byte offsets in 32
 * bits inside one column chunk. */
#define PQ_BLOCK_SIZE_CAP (1024u * 1024 * 1024)
/* A dictionary larger than this many entries falls back to PLAIN for the chunk. */
#define PQ_DICT_ENTRIES_MAX (1u << 20)

typedef union {
    int64_t i;
    double d;
    struct { uint32_t off, len; } b;
} wval;

typedef struct {
    int codec;
    int64_t num_values, uncompressed, compressed, data_off, dict_off;
    bool dict;
    bool has_stats, has_minmax;
    pq_buf min, max;
    int64_t nulls;
} chunk_meta;

typedef struct leaf {
    const pq_type *type;      /* primitive */
    int physical, type_length;
    int max_def, max_rep;
    char **path;
    size_t path_len;
    /* current row group */
    uint8_t *def, *rep;
    wval *vals;
    size_t nlev, nvals, cap_lev, cap_vals;
    pq_buf arena;
} leaf;

typedef struct snode {     /* one schema element, DFS order */
    const char *name;
    const pq_type *type;      /* NULL for the synthetic list/key_value groups */
    int repetition;
    int nchildren;
    int group_kind;           /* 0 none, PQ_T_ARRAY or PQ_T_MAP for the annotated group */
} snode;

struct pq_writer {
    pq_options o;
    size_t ncols;
    char **names;
    pq_type **types;
    leaf *leaves;
    size_t nleaves;
    snode *nodes;
    size_t nnodes;
    size_t rows_total, rows_rg;
    size_t rg_bytes;
    pq_buf out;
    /* footer material */
    chunk_meta *chunks;       /* nrg * nleaves */
    int64_t *rg_rows, *rg_offset, *rg_bytes_total, *rg_compressed;
    size_t nrg;
    bool failed;
};

void pq_options_default(pq_options *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_SNAPPY;
    o->block_size = PQ_BLOCK_SIZE_DEFAULT;
    o->page_size = PQ_PAGE_SIZE_DEFAULT;
}

/* ---- schema ------------------------------------------------------------------------------- */

static void add_node(pq_writer *w, const char *name, const pq_type *t, int rep, int nchildren,
                     int group_kind)
{
    w->nodes = pq_xrealloc(w->nodes, (w->nnodes + 1) * sizeof *w->nodes);
    w->nodes[w->nnodes++] = (snode){name, t, rep, nchildren, group_kind};
}

static void add_leaf(pq_writer *w, const pq_type *t, int def, int rep, const char **path,
                     size_t depth)
{
    w->leaves = pq_xrealloc(w->leaves, (w->nleaves + 1) * sizeof *w->leaves);
    leaf *l = &w->leaves[w->nleaves++];
    memset(l, 0, sizeof *l);
    l->type = t;
    l->physical = pq_kind_physical(t, &l->type_length);
    l->max_def = def;
    l->max_rep = rep;
    l->path = pq_xcalloc(depth, sizeof *l->path);
    for (size_t i = 0; i < depth; i++) l->path[i] = pq_xstrdup(path[i]);
    l->path_len = depth;
}

/* Walks the Glue type into schema elements and leaves: every field OPTIONAL, arrays as the
 * three-level LIST (group LIST { repeated group list { optional element } }), maps as MAP
 * (group MAP { repeated group key_value { required key; optional value } }). */
static void build(pq_writer *w, const char *name, const pq_type *t, int rep_kind, int def,
                  int rep, const char **path, size_t depth)
{
    if (depth >= PQ_SCHEMA_DEPTH_MAX * 2) abort();  /* bounded by the type parser */
    path[depth++] = name;
    if (rep_kind == PQ_OPTIONAL) def++;
    switch (t->kind) {
    case PQ_T_STRUCT:
        add_node(w, name, t, rep_kind, (int)t->nchildren, 0);
        for (size_t i = 0; i < t->nchildren; i++)
            build(w, t->names[i], t->children[i], PQ_OPTIONAL, def, rep, path, depth);
        return;
    case PQ_T_ARRAY:
        add_node(w, name, t, rep_kind, 1, PQ_T_ARRAY);
        add_node(w, "list", NULL, PQ_REPEATED, 1, 0);
        path[depth++] = "list";
        build(w, "element", t->children[0], PQ_OPTIONAL, def + 1, rep + 1, path, depth);
        return;
    case PQ_T_MAP:
        add_node(w, name, t, rep_kind, 1, PQ_T_MAP);
        add_node(w, "key_value", NULL, PQ_REPEATED, 2, 0);
        path[depth++] = "key_value";
        build(w, "key", t->children[0], PQ_REQUIRED, def + 1, rep + 1, path, depth);
        build(w, "value", t->children[1], PQ_OPTIONAL, def + 1, rep + 1, path, depth);
        return;
    default:
        add_node(w, name, t, rep_kind, 0, 0);
        add_leaf(w, t, def, rep, path, depth);
    }
}

pq_writer *pq_writer_new(size_t ncols, const char *const *names, const char *const *types,
                         const pq_options *o, sp_err *e)
{
    pq_writer *w = pq_xcalloc(1, sizeof *w);
    if (o) w->o = *o;
    else pq_options_default(&w->o);
    if (!w->o.block_size) w->o.block_size = PQ_BLOCK_SIZE_DEFAULT;
    if (w->o.block_size > PQ_BLOCK_SIZE_CAP) w->o.block_size = PQ_BLOCK_SIZE_CAP;
    if (!w->o.page_size) w->o.page_size = PQ_PAGE_SIZE_DEFAULT;
    w->ncols = ncols;
    w->names = pq_xcalloc(ncols, sizeof *w->names);
    w->types = pq_xcalloc(ncols, sizeof *w->types);
    for (size_t i = 0; i < ncols; i++) {
        w->names[i] = pq_xstrdup(names[i]);
        w->types[i] = pq_type_parse(names[i], types[i], e);
        if (!w->types[i]) {
            pq_writer_destroy(w);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[j], names[i])) {
                sp_err_invalid(e, "column '%s' appears twice in the schema", names[i]);
                pq_writer_destroy(w);
                return NULL;
            }
    }
    if (!ncols) {
        sp_err_invalid(e, "a Parquet schema needs at least one column");
        pq_writer_destroy(w);
        return NULL;
    }
    add_node(w, "schema", NULL, PQ_REQUIRED, (int)ncols, 0);
    const char *path[PQ_SCHEMA_DEPTH_MAX * 2 + 2];
    for (size_t i = 0; i < ncols; i++)
        build(w, w->names[i], w->types[i], PQ_OPTIONAL, 0, 0, path, 0);
    pq_buf_put(&w->out, PQ_MAGIC, 4);
    return w;
}

static void leaf_clear(leaf *l)
{
    free(l->def);
    free(l->rep);
    free(l->vals);
    pq_buf_free(&l->arena);
    l->def = l->rep = NULL;
    l->vals = NULL;
    l->nlev = l->nvals = l->cap_lev = l->cap_vals = 0;
}

void pq_writer_destroy(pq_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->ncols; i++) {
        free(w->names[i]);
        pq_type_free(w->types[i]);
    }
    free(w->names);
    free(w->types);
    for (size_t i = 0; i < w->nleaves; i++) {
        leaf_clear(&w->leaves[i]);
        for (size_t j = 0; j < w->leaves[i].path_len; j++) free(w->leaves[i].path[j]);
        free(w->leaves[i].path);
    }
    free(w->leaves);
    free(w->nodes);
    for (size_t i = 0; i < w->nrg * w->nleaves; i++) {
        pq_buf_free(&w->chunks[i].min);
        pq_buf_free(&w->chunks[i].max);
    }
    free(w->chunks);
    free(w->rg_rows);
    free(w->rg_offset);
    free(w->rg_bytes_total);
    free(w->rg_compressed);
    pq_buf_free(&w->out);
    free(w);
}

size_t pq_writer_rows(const pq_writer *w) { return w->rows_total; }

/* ---- values from JSON ---------------------------------------------------------------------------- */

static bool json_int_value(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!*s) return false;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*end || errno) return false;
        *out = x;
        return true;
    }
    return false;
}

static bool json_double_value(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!*s) return false;
        *out = strtod(s, &end);
        return !*end;
    }
    return false;
}

/* Converts v to the leaf's value; false with a message naming the problem. */
static bool to_value(leaf *l, const json_t *v, wval *out, const char *column, sp_err *e)
{
    const pq_type *t = l->type;
    int64_t i;
    double d;
    switch (t->kind) {
    case PQ_T_BOOLEAN:
        if (json_is_boolean(v)) {
            out->i = json_is_true(v);
            return true;
        }
        if (json_is_string(v) && (!strcmp(json_string_value(v), "true") ||
                                  !strcmp(json_string_value(v), "false"))) {
            out->i = !strcmp(json_string_value(v), "true");
            return true;
        }
        break;
    case PQ_T_TINYINT:
    case PQ_T_SMALLINT:
    case PQ_T_INT:
    case PQ_T_BIGINT: {
        static const int64_t lim[] = {[PQ_T_TINYINT] = 127, [PQ_T_SMALLINT] = 32767,
                                      [PQ_T_INT] = 2147483647, [PQ_T_BIGINT] = INT64_MAX};
        if (!json_int_value(v, &i)) break;
        if (i > lim[t->kind] || i < -lim[t->kind] - 1) {
            sp_err_invalid(e, "column '%s': %lld is out of range for its type", column,
                           (long long)i);
            return false;
        }
        out->i = i;
        return true;
    }
    case PQ_T_FLOAT:
    case PQ_T_DOUBLE:
        if (!json_double_value(v, &d)) break;
        out->d = t->kind == PQ_T_FLOAT ? (double)(float)d : d;
        return true;
    case PQ_T_STRING: {
        uint32_t off = (uint32_t)l->arena.len;
        if (json_is_string(v)) {
            pq_buf_put(&l->arena, json_string_value(v), json_string_length(v));
        } else {
            /* OpenX and Hive SerDes hand a string column the JSON text of anything else. */
            char *s = sp_json_dump_shortest(v, NULL);
            if (!s) abort();
            pq_buf_put(&l->arena, s, strlen(s));
            free(s);
        }
        out->b.off = off;
        out->b.len = (uint32_t)(l->arena.len - off);
        return true;
    }
    case PQ_T_BINARY: {
        if (!json_is_string(v)) break;
        size_t n = json_string_length(v);
        pq_buf_reserve(&l->arena, sp_base64_decoded_max(n));
        long got = sp_base64_decode(json_string_value(v), n, l->arena.p + l->arena.len);
        if (got < 0) {
            sp_err_invalid(e, "column '%s': a binary value must be base64", column);
            return false;
        }
        out->b.off = (uint32_t)l->arena.len;
        out->b.len = (uint32_t)got;
        l->arena.len += (size_t)got;
        return true;
    }
    case PQ_T_DATE: {
        int32_t days;
        if (json_is_integer(v)) {
            out->i = (int32_t)json_integer_value(v);
            return true;
        }
        if (json_is_string(v) && pq_date_parse(json_string_value(v), &days)) {
            out->i = days;
            return true;
        }
        break;
    }
    case PQ_T_TIMESTAMP: {
        int64_t us;
        if (json_is_integer(v)) {  /* epoch milliseconds, Firehose's "millis" */
            out->i = json_integer_value(v);
            return true;
        }
        if (json_is_string(v) && pq_timestamp_parse(json_string_value(v), &us)) {
            out->i = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
            return true;
        }
        break;
    }
    case PQ_T_DECIMAL: {
        char buf[SP_JSON_REAL_MAX + 32];
        const char *s = NULL;
        if (json_is_integer(v)) {
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            s = buf;
        } else if (json_is_real(v) && isfinite(json_real_value(v))) {
            double r = json_real_value(v);
            if (fabs(r) >= 1e38) break;
            snprintf(buf, sizeof buf, "%.*f", t->scale + 1 < 17 ? 17 : t->scale + 1, r);
            /* The shortest round-trip text is the number the user wrote. */
            char sh[SP_JSON_REAL_MAX];
            size_t n = sp_json_real_format(r, sh);
            if (!memchr(sh, 'e', n) && !memchr(sh, 'E', n)) memcpy(buf, sh, n + 1);
            s = buf;
        } else if (json_is_string(v)) {
            s = json_string_value(v);
        }
        __int128 x;
        if (!s || !pq_decimal_parse(s, t->precision, t->scale, &x)) {
            if (s) {
                sp_err_invalid(e, "column '%s': '%.40s' does not fit decimal(%d,%d)", column, s,
                               t->precision, t->scale);
                return false;
            }
            break;
        }
        if (l->physical == PQ_FIXED) {
            uint8_t be[16];
            unsigned __int128 u = (unsigned __int128)x;
            for (int k = 15; k >= 0; k--) {
                be[k] = (uint8_t)u;
                u >>= 8;
            }
            out->b.off = (uint32_t)l->arena.len;
            out->b.len = 16;
            pq_buf_put(&l->arena, be, 16);
        } else {
            out->i = (int64_t)x;
        }
        return true;
    }
    default:
        break;
    }
    sp_str s;
    char tb[128];
    sp_str_init(&s, tb, sizeof tb, 120);
    pq_type_format(t, &s);
    char *text = sp_json_dump(v, NULL);
    sp_err_invalid(e, "column '%s': value %.60s does not fit type %s", column,
                   text ? text : "?", s.buf);
    free(text);
    sp_str_release(&s);
    return false;
}

/* ---- shredding ----------------------------------------------------------------------------------- */

static void push_level(leaf *l, int rep, int def)
{
    if (l->nlev == l->cap_lev) {
        l->cap_lev = l->cap_lev ? l->cap_lev * 2 : 1024;
        l->def = pq_xrealloc(l->def, l->cap_lev);
        l->rep = pq_xrealloc(l->rep, l->cap_lev);
    }
    l->def[l->nlev] = (uint8_t)def;
    l->rep[l->nlev] = (uint8_t)rep;
    l->nlev++;
}

static wval *push_value(leaf *l)
{
    if (l->nvals == l->cap_vals) {
        l->cap_vals = l->cap_vals ? l->cap_vals * 2 : 1024;
        l->vals = pq_xrealloc(l->vals, l->cap_vals * sizeof *l->vals);
    }
    return &l->vals[l->nvals++];
}

static size_t leaf_count(const pq_type *t)
{
    if (t->kind < PQ_T_STRUCT) return 1;
    size_t n = 0;
    for (size_t i = 0; i < t->nchildren; i++) n += leaf_count(t->children[i]);
    return n;
}

static void push_nulls(leaf *leaves, size_t n, int rep, int def)
{
    for (size_t i = 0; i < n; i++) push_level(&leaves[i], rep, def);
}

static size_t value_bytes(const leaf *l, const wval *v)
{
    switch (l->physical) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_BYTE_ARRAY: return 4 + v->b.len;
    case PQ_FIXED: return (size_t)l->type_length;
    default: return 8;
    }
}

/* A struct field's member: by its exact name, else by any case (Hive's struct field names,
 * like its columns, ignore case; Glue keeps them in lower case). */
static json_t *struct_member(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (v) return v;
    const char *k;
    json_object_foreach((json_t *)obj, k, v) if (!strcasecmp(k, name)) return v;
    return NULL;
}

/* Shreds value v of type t into leaves[0..) (the leaves under t, in order). def is the
 * definition level of t's parent, rep the repetition level for the first entry, depth_rep the
 * repetition level of the innermost repeated ancestor. required: t is a map key. */
static bool shred(pq_writer *w, leaf *leaves, const pq_type *t, const json_t *v, int def,
                  int rep, int depth_rep, bool required, const char *column, sp_err *e)
{
    if (!v || json_is_null(v)) {
        if (required) {
            sp_err_invalid(e, "column '%s': a map key cannot be null", column);
            return false;
        }
        push_nulls(leaves, leaf_count(t), rep, def);
        return true;
    }
    int d = required ? def : def + 1;
    switch (t->kind) {
    case PQ_T_STRUCT: {
        if (!json_is_object(v)) break;
        leaf *l = leaves;
        for (size_t i = 0; i < t->nchildren; i++) {
            if (!shred(w, l, t->children[i], struct_member(v, t->names[i]), d, rep, depth_rep,
                       false, column, e))
                return false;
            l += leaf_count(t->children[i]);
        }
        return true;
    }
    case PQ_T_ARRAY: {
        if (!json_is_array(v)) break;
        size_t n = json_array_size(v);
        if (!n) {
            push_nulls(leaves, leaf_count(t), rep, d);
            return true;
        }
        for (size_t i = 0; i < n; i++)
            if (!shred(w, leaves, t->children[0], json_array_get(v, i), d + 1,
                       i ? depth_rep + 1 : rep, depth_rep + 1, false, column, e))
                return false;
        return true;
    }
    case PQ_T_MAP: {
        if (!json_is_object(v)) break;
        if (!json_object_size(v)) {
            push_nulls(leaves, leaf_count(t), rep, d);
            return true;
        }
        size_t i = 0;
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)v, k, val) {
            json_t *key = json_string(k);
            if (!key) {
                sp_err_invalid(e, "column '%s': a map key is not valid UTF-8", column);
                return false;
            }
            int r = i++ ? depth_rep + 1 : rep;
            bool ok = shred(w, leaves, t->children[0], key, d + 1, r, depth_rep + 1, true,
                            column, e) &&
                      shred(w, leaves + 1, t->children[1], val, d + 1, r, depth_rep + 1, false,
                            column, e);
            json_decref(key);
            if (!ok) return false;
        }
        return true;
    }
    default: {
        leaf *l = leaves;
        wval x;
        if (!to_value(l, v, &x, column, e)) return false;
        push_level(l, rep, d);
        *push_value(l) = x;
        w->rg_bytes += value_bytes(l, &x);
        return true;
    }
    }
    sp_err_invalid(e, "column '%s': expected %s", column,
                   t->kind == PQ_T_ARRAY ? "an array" : "an object");
    return false;
}

static void flush_row_group(pq_writer *w);

bool pq_writer_add(pq_writer *w, json_t *const *values, sp_err *e)
{
    if (w->failed) {
        sp_err_internal(e, "parquet writer: used after a failure");
        return false;
    }
    /* Remember where every leaf stood, to undo a record that does not fit. */
    size_t *marks = pq_xmalloc(w->nleaves * 3 * sizeof *marks);
    for (size_t i = 0; i < w->nleaves; i++) {
        marks[3 * i] = w->leaves[i].nlev;
        marks[3 * i + 1] = w->leaves[i].nvals;
        marks[3 * i + 2] = w->leaves[i].arena.len;
    }
    size_t bytes = w->rg_bytes;
    leaf *l = w->leaves;
    bool ok = true;
    for (size_t c = 0; c < w->ncols && ok; c++) {
        ok = shred(w, l, w->types[c], values[c], 0, 0, 0, false, w->names[c], e);
        l += leaf_count(w->types[c]);
    }
    if (!ok) {
        for (size_t i = 0; i < w->nleaves; i++) {
            w->leaves[i].nlev = marks[3 * i];
            w->leaves[i].nvals = marks[3 * i + 1];
            w->leaves[i].arena.len = marks[3 * i + 2];
        }
        w->rg_bytes = bytes;
    }
    free(marks);
    if (!ok) return false;
    w->rows_total++;
    w->rows_rg++;
    w->rg_bytes += w->nleaves;  /* levels */
    if (w->rg_bytes >= w->o.block_size) flush_row_group(w);
    return true;
}

bool pq_writer_add_object(pq_writer *w, const json_t *obj, sp_err *e)
{
    if (!json_is_object(obj)) {
        sp_err_invalid(e, "a record must be a JSON object");
        return false;
    }
    json_t **vals = pq_xcalloc(w->ncols, sizeof *vals);
    for (size_t i = 0; i < w->ncols; i++) vals[i] = json_object_get(obj, w->names[i]);
    bool ok = pq_writer_add(w, vals, e);
    free(vals);
    return ok;
}

/* ---- encoding ----------------------------------------------------------------------------------- */

static const uint8_t *vbytes(const leaf *l, const wval *v) { return l->arena.p + v->b.off; }

static void put_plain(pq_buf *b, const leaf *l, const wval *v)
{
    switch (l->physical) {
    case PQ_INT32: {
        uint32_t x = (uint32_t)(int32_t)v->i;
        pq_buf_u32le(b, x);
        return;
    }
    case PQ_INT64: {
        uint64_t x = (uint64_t)v->i;
        pq_buf_u32le(b, (uint32_t)x);
        pq_buf_u32le(b, (uint32_t)(x >> 32));
        return;
    }
    case PQ_FLOAT: {
        float f = (float)v->d;
        uint32_t x;
        memcpy(&x, &f, 4);
        pq_buf_u32le(b, x);
        return;
    }
    case PQ_DOUBLE: {
        uint64_t x;
        memcpy(&x, &v->d, 8);
        pq_buf_u32le(b, (uint32_t)x);
        pq_buf_u32le(b, (uint32_t)(x >> 32));
        return;
    }
    case PQ_BYTE_ARRAY:
        pq_buf_u32le(b, v->b.len);
        pq_buf_put(b, vbytes(l, v), v->b.len);
        return;
    case PQ_FIXED:
        pq_buf_put(b, vbytes(l, v), v->b.len);
        return;
    }
}

/* Statistics form: PLAIN without a length prefix. */
static void put_stat(pq_buf *b, const leaf *l, const wval *v)
{
    b->len = 0;
    if (l->physical == PQ_BOOLEAN) {
        pq_buf_byte(b, (uint8_t)v->i);
    } else if (l->physical == PQ_BYTE_ARRAY) {
        pq_buf_put(b, vbytes(l, v), v->b.len);
    } else {
        put_plain(b, l, v);
    }
}

static int cmp_values(const leaf *l, const wval *a, const wval *b)
{
    switch (l->physical) {
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return a->d < b->d ? -1 : a->d > b->d;
    case PQ_BYTE_ARRAY: {
        size_t n = a->b.len < b->b.len ? a->b.len : b->b.len;
        int c = n ? memcmp(vbytes(l, a), vbytes(l, b), n) : 0;
        if (c) return c;
        return a->b.len < b->b.len ? -1 : a->b.len > b->b.len;
    }
    case PQ_FIXED: {
        const uint8_t *x = vbytes(l, a), *y = vbytes(l, b);
        if ((int8_t)x[0] != (int8_t)y[0]) return (int8_t)x[0] < (int8_t)y[0] ? -1 : 1;
        return memcmp(x + 1, y + 1, 15);
    }
    default:
        return a->i < b->i ? -1 : a->i > b->i;
    }
}

static bool values_equal(const leaf *l, const wval *a, const wval *b)
{
    switch (l->physical) {
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case PQ_BYTE_ARRAY:
    case PQ_FIXED:
        return a->b.len == b->b.len && !memcmp(vbytes(l, a), vbytes(l, b), a->b.len);
    default:
        return a->i == b->i;
    }
}

static uint64_t hash_value(const leaf *l, const wval *v)
{
    uint64_t h = 1469598103934665603ull;
    if (l->physical == PQ_BYTE_ARRAY || l->physical == PQ_FIXED) {
        const uint8_t *p = vbytes(l, v);
        for (uint32_t i = 0; i < v->b.len; i++) h = (h ^ p[i]) * 1099511628211ull;
    } else {
        uint64_t x;
        memcpy(&x, v, 8);
        h = (h ^ x) * 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

typedef struct {
    wval *min, *max;
    int64_t nulls;
} stats;

static void stats_add(stats *s, const leaf *l, wval *v)
{
    if ((l->physical == PQ_FLOAT || l->physical == PQ_DOUBLE) && isnan(v->d)) return;
    if (!s->min || cmp_values(l, v, s->min) < 0) s->min = v;
    if (!s->max || cmp_values(l, v, s->max) > 0) s->max = v;
}

static void write_stats(tc_writer *t, int16_t id, const leaf *l, const stats *s)
{
    tc_w_struct_begin(t, id);
    tc_w_i64(t, 3, s->nulls);
    if (s->min) {
        pq_buf b = {0};
        put_stat(&b, l, s->max);
        tc_w_binary(t, 5, b.p, b.len);
        put_stat(&b, l, s->min);
        tc_w_binary(t, 6, b.p, b.len);
        pq_buf_free(&b);
    }
    tc_w_struct_end(t);
}

/* Writes one page (header + compressed body) to the file. levels: for v2 the level bytes
 * stored uncompressed ahead of the values. */
static void write_page(pq_writer *w, int page_type, const pq_buf *levels, const pq_buf *body,
                       int num_values, int num_nulls, int num_rows, int encoding,
                       const leaf *l, const stats *st, chunk_meta *cm, size_t rep_len)
{
    pq_buf comp = {0};
    sp_err e = {0};
    if (!pq_compress(w->o.codec, body->p, body->len, &comp, &e)) {
        w->failed = true;
        pq_buf_free(&comp);
        return;
    }
    pq_buf hdr = {0};
    tc_writer t;
    tc_w_init(&t, &hdr);
    size_t lev = levels ? levels->len : 0;
    tc_w_struct_begin(&t, 0);
    tc_w_i32(&t, 1, page_type);
    tc_w_i32(&t, 2, (int32_t)(body->len + lev));
    tc_w_i32(&t, 3, (int32_t)(comp.len + lev));
    if (page_type == PQ_PAGE_DICTIONARY) {
        tc_w_struct_begin(&t, 7);
        tc_w_i32(&t, 1, num_values);
        tc_w_i32(&t, 2, PQ_ENC_PLAIN);
        tc_w_struct_end(&t);
    } else if (page_type == PQ_PAGE_DATA) {
        tc_w_struct_begin(&t, 5);
        tc_w_i32(&t, 1, num_values);
        tc_w_i32(&t, 2, encoding);
        tc_w_i32(&t, 3, PQ_ENC_RLE);
        tc_w_i32(&t, 4, PQ_ENC_RLE);
        write_stats(&t, 5, l, st);
        tc_w_struct_end(&t);
    } else {
        tc_w_struct_begin(&t, 8);
        tc_w_i32(&t, 1, num_values);
        tc_w_i32(&t, 2, num_nulls);
        tc_w_i32(&t, 3, num_rows);
        tc_w_i32(&t, 4, encoding);
        tc_w_i32(&t, 5, (int32_t)(lev - rep_len));
        tc_w_i32(&t, 6, (int32_t)rep_len);
        write_stats(&t, 8, l, st);
        tc_w_struct_end(&t);
    }
    tc_w_struct_end(&t);
    pq_buf_put(&w->out, hdr.p, hdr.len);
    if (levels) pq_buf_put(&w->out, levels->p, levels->len);
    pq_buf_put(&w->out, comp.p, comp.len);
    cm->uncompressed += (int64_t)(hdr.len + body->len + lev);
    cm->compressed += (int64_t)(hdr.len + comp.len + lev);
    pq_buf_free(&hdr);
    pq_buf_free(&comp);
}

static void put_levels(pq_buf *b, const uint8_t *lv, size_t n, int max, bool prefix)
{
    if (!max) return;
    uint32_t *tmp = pq_xmalloc(n * sizeof *tmp);
    for (size_t i = 0; i < n; i++) tmp[i] = lv[i];
    size_t at = b->len;
    if (prefix) pq_buf_u32le(b, 0);
    pq_rle_encode(b, tmp, n, pq_bit_width((uint32_t)max));
    if (prefix) {
        uint32_t len = (uint32_t)(b->len - at - 4);
        uint8_t x[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                        (uint8_t)(len >> 24)};
        memcpy(b->p + at, x, 4);
    }
    free(tmp);
}

static void write_chunk(pq_writer *w, leaf *l, chunk_meta *cm)
{
    cm->codec = w->o.codec;
    cm->num_values = (int64_t)l->nlev;
    cm->dict_off = -1;
    /* Dictionary: distinct values in first-seen order. */
    uint32_t *idx = NULL;
    size_t ndict = 0;
    if (w->o.dictionary && l->physical != PQ_BOOLEAN && l->nvals) {
        size_t cap = 16;
        while (cap < l->nvals * 2) cap *= 2;
        uint32_t *table = pq_xmalloc(cap * sizeof *table);
        memset(table, 0xff, cap * sizeof *table);
        uint32_t *order = pq_xmalloc(l->nvals * sizeof *order);
        idx = pq_xmalloc(l->nvals * sizeof *idx);
        size_t dict_bytes = 0;
        bool ok = true;
        for (size_t i = 0; i < l->nvals && ok; i++) {
            size_t h = (size_t)hash_value(l, &l->vals[i]) & (cap - 1);
            while (table[h] != UINT32_MAX && !values_equal(l, &l->vals[order[table[h]]],
                                                           &l->vals[i]))
                h = (h + 1) & (cap - 1);
            if (table[h] == UINT32_MAX) {
                table[h] = (uint32_t)ndict;
                order[ndict++] = (uint32_t)i;
                dict_bytes += value_bytes(l, &l->vals[i]);
                if (ndict > PQ_DICT_ENTRIES_MAX || dict_bytes > w->o.page_size) ok = false;
            }
            idx[i] = table[h];
        }
        free(table);
        if (ok) {
            pq_buf body = {0};
            for (size_t k = 0; k < ndict; k++) put_plain(&body, l, &l->vals[order[k]]);
            cm->dict_off = (int64_t)w->out.len;
            write_page(w, PQ_PAGE_DICTIONARY, NULL, &body, (int)ndict, 0, 0, PQ_ENC_PLAIN, l,
                       NULL, cm, 0);
            pq_buf_free(&body);
            cm->dict = true;
        } else {
            free(idx);
            idx = NULL;
        }
        free(order);
    }
    cm->data_off = (int64_t)w->out.len;
    stats chunk_st = {0};
    size_t lev = 0, val = 0;
    while (lev < l->nlev) {
        /* One page: whole rows until the page size is reached. */
        size_t lev_end = lev, val_end = val, bytes = 0;
        int rows = 0, nulls = 0;
        stats st = {0};
        while (lev_end < l->nlev) {
            if (l->rep[lev_end] == 0) {
                if (bytes >= w->o.page_size) break;
                rows++;
            }
            if (l->def[lev_end] == l->max_def) {
                wval *v = &l->vals[val_end++];
                bytes += idx ? 4 : value_bytes(l, v);
                stats_add(&st, l, v);
            } else {
                nulls++;
            }
            lev_end++;
        }
        st.nulls = nulls;
        pq_buf levels = {0}, body = {0};
        size_t n = lev_end - lev;
        bool v2 = w->o.page_v2;
        pq_buf *lb = v2 ? &levels : &body;
        put_levels(lb, l->rep + lev, n, l->max_rep, !v2);
        size_t rep_len = lb->len;
        put_levels(lb, l->def + lev, n, l->max_def, !v2);
        int enc = PQ_ENC_PLAIN;
        if (idx) {
            enc = PQ_ENC_RLE_DICTIONARY;
            int bw = pq_bit_width(ndict ? (uint32_t)(ndict - 1) : 0);
            pq_buf_byte(&body, (uint8_t)bw);
            pq_rle_encode(&body, idx + val, val_end - val, bw);
        } else if (l->physical == PQ_BOOLEAN) {
            size_t nb = (val_end - val + 7) / 8;
            pq_buf_reserve(&body, nb + 1);
            memset(body.p + body.len, 0, nb);
            for (size_t k = val; k < val_end; k++)
                if (l->vals[k].i) body.p[body.len + (k - val) / 8] |= (uint8_t)(1u << ((k - val) % 8));
            body.len += nb;
        } else {
            for (size_t k = val; k < val_end; k++) put_plain(&body, l, &l->vals[k]);
        }
        write_page(w, v2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA, v2 ? &levels : NULL, &body, (int)n,
                   nulls, rows, enc, l, &st, cm, rep_len);
        pq_buf_free(&levels);
        pq_buf_free(&body);
        if (st.min) stats_add(&chunk_st, l, st.min);
        if (st.max) stats_add(&chunk_st, l, st.max);
        chunk_st.nulls += nulls;
        lev = lev_end;
        val = val_end;
    }
    cm->has_stats = true;
    cm->nulls = chunk_st.nulls;
    if (chunk_st.min) {
        cm->has_minmax = true;
        put_stat(&cm->min, l, chunk_st.min);
        put_stat(&cm->max, l, chunk_st.max);
    }
    free(idx);
}

static void flush_row_group(pq_writer *w)
{
    if (!w->rows_rg) return;
    size_t rg = w->nrg++;
    w->chunks = pq_xrealloc(w->chunks, w->nrg * w->nleaves * sizeof *w->chunks);
    memset(&w->chunks[rg * w->nleaves], 0, w->nleaves * sizeof *w->chunks);
    w->rg_rows = pq_xrealloc(w->rg_rows, w->nrg * sizeof *w->rg_rows);
    w->rg_offset = pq_xrealloc(w->rg_offset, w->nrg * sizeof *w->rg_offset);
    w->rg_bytes_total = pq_xrealloc(w->rg_bytes_total, w->nrg * sizeof *w->rg_bytes_total);
    w->rg_compressed = pq_xrealloc(w->rg_compressed, w->nrg * sizeof *w->rg_compressed);
    w->rg_rows[rg] = (int64_t)w->rows_rg;
    w->rg_offset[rg] = (int64_t)w->out.len;
    int64_t total = 0, comp = 0;
    for (size_t i = 0; i < w->nleaves; i++) {
        chunk_meta *cm = &w->chunks[rg * w->nleaves + i];
        write_chunk(w, &w->leaves[i], cm);
        total += cm->uncompressed;
        comp += cm->compressed;
        leaf_clear(&w->leaves[i]);
    }
    w->rg_bytes_total[rg] = total;
    w->rg_compressed[rg] = comp;
    w->rows_rg = 0;
    w->rg_bytes = 0;
}

/* ---- footer --------------------------------------------------------------------------------------- */

static void write_logical(tc_writer *t, const snode *n)
{
    if (n->group_kind == PQ_T_ARRAY || n->group_kind == PQ_T_MAP) {
        tc_w_i32(t, 6, n->group_kind == PQ_T_ARRAY ? PQ_CT_LIST : PQ_CT_MAP);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, n->group_kind == PQ_T_ARRAY ? PQ_LT_LIST : PQ_LT_MAP);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    }
    if (!n->type || n->nchildren) return;
    const pq_type *ty = n->type;
    switch (ty->kind) {
    case PQ_T_STRING:
        tc_w_i32(t, 6, PQ_CT_UTF8);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, PQ_LT_STRING);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    case PQ_T_TINYINT:
    case PQ_T_SMALLINT:
        tc_w_i32(t, 6, ty->kind == PQ_T_TINYINT ? PQ_CT_INT_8 : PQ_CT_INT_16);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, PQ_LT_INTEGER);
        tc_w_field(t, 1, TC_BYTE);
        pq_buf_byte(t->out, ty->kind == PQ_T_TINYINT ? 8 : 16);
        tc_w_bool(t, 2, true);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    case PQ_T_DATE:
        tc_w_i32(t, 6, PQ_CT_DATE);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, PQ_LT_DATE);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    case PQ_T_TIMESTAMP:
        tc_w_i32(t, 6, PQ_CT_TIMESTAMP_MILLIS);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, PQ_LT_TIMESTAMP);
        tc_w_bool(t, 1, true);
        tc_w_struct_begin(t, 2);
        tc_w_struct_begin(t, PQ_UNIT_MILLIS);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    case PQ_T_DECIMAL:
        tc_w_i32(t, 6, PQ_CT_DECIMAL);
        tc_w_i32(t, 7, ty->scale);
        tc_w_i32(t, 8, ty->precision);
        tc_w_struct_begin(t, 10);
        tc_w_struct_begin(t, PQ_LT_DECIMAL);
        tc_w_i32(t, 1, ty->scale);
        tc_w_i32(t, 2, ty->precision);
        tc_w_struct_end(t);
        tc_w_struct_end(t);
        return;
    default:
        return;
    }
}

uint8_t *pq_writer_finish(pq_writer *w, size_t *len_out, sp_err *e)
{
    flush_row_group(w);
    if (w->failed) {
        sp_err_internal(e, "parquet writer: page compression failed");
        return NULL;
    }
    pq_buf meta = {0};
    tc_writer t;
    tc_w_init(&t, &meta);
    tc_w_struct_begin(&t, 0);
    tc_w_i32(&t, 1, 1);
    tc_w_list_begin(&t, 2, TC_STRUCT, w->nnodes);
    for (size_t i = 0; i < w->nnodes; i++) {
        const snode *n = &w->nodes[i];
        tc_w_struct_begin(&t, 0);
        bool is_leaf = n->type && n->type->kind < PQ_T_STRUCT;
        if (is_leaf) {
            int len;
            tc_w_i32(&t, 1, pq_kind_physical(n->type, &len));
            if (len) tc_w_i32(&t, 2, len);
        }
        if (i) tc_w_i32(&t, 3, n->repetition);
        tc_w_string(&t, 4, n->name);
        if (!is_leaf) tc_w_i32(&t, 5, n->nchildren);
        write_logical(&t, n);
        tc_w_struct_end(&t);
    }
    tc_w_i64(&t, 3, (int64_t)w->rows_total);
    tc_w_list_begin(&t, 4, TC_STRUCT, w->nrg);
    for (size_t rg = 0; rg < w->nrg; rg++) {
        tc_w_struct_begin(&t, 0);
        tc_w_list_begin(&t, 1, TC_STRUCT, w->nleaves);
        for (size_t i = 0; i < w->nleaves; i++) {
            const leaf *l = &w->leaves[i];
            const chunk_meta *cm = &w->chunks[rg * w->nleaves + i];
            tc_w_struct_begin(&t, 0);
            tc_w_i64(&t, 2, cm->dict_off >= 0 ? cm->dict_off : cm->data_off);
            tc_w_struct_begin(&t, 3);
            tc_w_i32(&t, 1, l->physical);
            tc_w_list_begin(&t, 2, TC_I32, cm->dict ? 3 : 2);
            tc_w_raw_i32(&t, PQ_ENC_PLAIN);
            tc_w_raw_i32(&t, PQ_ENC_RLE);
            if (cm->dict) tc_w_raw_i32(&t, PQ_ENC_RLE_DICTIONARY);
            tc_w_list_begin(&t, 3, TC_BINARY, l->path_len);
            for (size_t k = 0; k < l->path_len; k++)
                tc_w_raw_binary(&t, l->path[k], strlen(l->path[k]));
            tc_w_i32(&t, 4, cm->codec);
            tc_w_i64(&t, 5, cm->num_values);
            tc_w_i64(&t, 6, cm->uncompressed);
            tc_w_i64(&t, 7, cm->compressed);
            tc_w_i64(&t, 9, cm->data_off);
            if (cm->dict_off >= 0) tc_w_i64(&t, 11, cm->dict_off);
            tc_w_struct_begin(&t, 12);
            tc_w_i64(&t, 3, cm->nulls);
            if (cm->has_minmax) {
                tc_w_binary(&t, 5, cm->max.p, cm->max.len);
                tc_w_binary(&t, 6, cm->min.p, cm->min.len);
            }
            tc_w_struct_end(&t);
            tc_w_struct_end(&t);
            tc_w_struct_end(&t);
        }
        tc_w_i64(&t, 2, w->rg_bytes_total[rg]);
        tc_w_i64(&t, 3, w->rg_rows[rg]);
        tc_w_i64(&t, 5, w->rg_offset[rg]);
        tc_w_i64(&t, 6, w->rg_compressed[rg]);
        tc_w_field(&t, 7, TC_I16);
        pq_buf_varint(&meta, ((uint64_t)rg << 1));
        tc_w_struct_end(&t);
    }
    tc_w_string(&t, 6, PQ_CREATED_BY);
    tc_w_struct_end(&t);
    pq_buf_put(&w->out, meta.p, meta.len);
    pq_buf_u32le(&w->out, (uint32_t)meta.len);
    pq_buf_put(&w->out, PQ_MAGIC, 4);
    pq_buf_free(&meta);
    uint8_t *p = w->out.p;
    *len_out = w->out.len;
    memset(&w->out, 0, sizeof w->out);
    w->failed = true;  /* spent */
    return p;
}
