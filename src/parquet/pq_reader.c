/* The Parquet reader: parses the Thrift footer into a schema tree and row-group/column-chunk
 * metadata, decodes the column chunks a caller asks for (PLAIN and dictionary encodings, v1
 * and v2 data pages, every codec the writer has) and reassembles rows from definition and
 * repetition levels, nested columns included. The file is hostile input: every offset and
 * length is checked against the file, nesting is bounded, and the values decoded and bytes
 * decompressed over the whole file are bounded by its size (PQ_*_PER_FILE_BYTE). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_value.h"

typedef struct rnode {
    char *name;
    int repetition, physical, type_length;
    int ct, lt, scale, precision, ts_unit, int_bits;
    bool int_signed;
    size_t nchildren;
    struct rnode *children;
    int def_here, rep_here;     /* levels when this node is present */
    size_t leaf_first, nleaves;
    char *glue;                 /* top-level columns: Glue type */
} rnode;

typedef struct {
    int codec, physical;
    int64_t num_values, data_off, dict_off, comp_size;
    const uint8_t *min, *max;
    size_t min_len, max_len;
    int64_t nulls;
} rchunk;

typedef struct {
    int64_t num_rows;
    rchunk *cols;               /* one per leaf */
} rgroup;

struct pq_file {
    const uint8_t *buf;
    size_t len;
    rnode root;
    rnode **leaves;
    size_t nleaves;
    int64_t num_rows;
    rgroup *rgs;
    size_t nrg;
    uint64_t values_left, bytes_left;
    bool ours;                  /* created_by is salespipe's writer: byte-array stats exact */
};

typedef union {
    int64_t i;
    double d;
    struct { const uint8_t *p; uint32_t len; } b;
} rv;

typedef struct {
    uint8_t *def, *rep;
    rv *vals;
    size_t n, nvals, cap;
    size_t nv_cap;
    size_t pos, vpos;           /* assembly cursors */
    uint8_t **owned;
    size_t nowned;
} ldata;

/* ---- footer ------------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *name;
    size_t name_len;
    int type, type_length, repetition, num_children, ct, scale, precision;
    int lt, ts_unit, int_bits;
    bool int_signed, has_type;
} selem;

static void read_logical(tc_reader *r, selem *s)
{
    if (!tc_r_struct_begin(r)) return;
    int t;
    int16_t id;
    while (tc_r_field(r, &t, &id)) {
        if (t != TC_STRUCT) {
            tc_r_skip(r, t);
            continue;
        }
        s->lt = id;
        if (!tc_r_struct_begin(r)) return;
        int t2;
        int16_t id2;
        while (tc_r_field(r, &t2, &id2)) {
            if (id == PQ_LT_DECIMAL && id2 == 1) s->scale = (int)tc_r_int(r, t2);
            else if (id == PQ_LT_DECIMAL && id2 == 2) s->precision = (int)tc_r_int(r, t2);
            else if (id == PQ_LT_INTEGER && id2 == 1) s->int_bits = (int)tc_r_int(r, t2);
            else if (id == PQ_LT_INTEGER && id2 == 2) s->int_signed = tc_r_bool(r, t2);
            else if ((id == PQ_LT_TIMESTAMP || id == PQ_LT_TIME) && id2 == 2 && t2 == TC_STRUCT) {
                if (!tc_r_struct_begin(r)) return;
                int t3;
                int16_t id3;
                while (tc_r_field(r, &t3, &id3)) {
                    s->ts_unit = id3;
                    tc_r_skip(r, t3);
                }
                tc_r_struct_end(r);
            } else tc_r_skip(r, t2);
        }
        tc_r_struct_end(r);
    }
    tc_r_struct_end(r);
}

static void read_selem(tc_reader *r, selem *s)
{
    memset(s, 0, sizeof *s);
    s->ct = PQ_CT_NONE;
    s->repetition = PQ_REQUIRED;
    s->int_signed = true;
    if (!tc_r_struct_begin(r)) return;
    int t;
    int16_t id;
    while (tc_r_field(r, &t, &id)) {
        switch (id) {
        case 1: s->type = (int)tc_r_int(r, t); s->has_type = true; break;
        case 2: s->type_length = (int)tc_r_int(r, t); break;
        case 3: s->repetition = (int)tc_r_int(r, t); break;
        case 4:
            if (t == TC_BINARY) s->name = tc_r_binary(r, &s->name_len);
            else tc_r_skip(r, t);
            break;
        case 5: s->num_children = (int)tc_r_int(r, t); break;
        case 6: s->ct = (int)tc_r_int(r, t); break;
        case 7: s->scale = (int)tc_r_int(r, t); break;
        case 8: s->precision = (int)tc_r_int(r, t); break;
        case 10:
            if (t == TC_STRUCT) read_logical(r, s);
            else tc_r_skip(r, t);
            break;
        default: tc_r_skip(r, t);
        }
    }
    tc_r_struct_end(r);
}

static void read_stats(tc_reader *r, rchunk *c)
{
    if (!tc_r_struct_begin(r)) return;
    int t;
    int16_t id;
    const uint8_t *lmin = NULL, *lmax = NULL;
    size_t lmin_len = 0, lmax_len = 0;
    while (tc_r_field(r, &t, &id)) {
        if (id == 3) c->nulls = tc_r_int(r, t);
        else if (t == TC_BINARY && id == 1) lmax = tc_r_binary(r, &lmax_len);
        else if (t == TC_BINARY && id == 2) lmin = tc_r_binary(r, &lmin_len);
        else if (t == TC_BINARY && id == 5) c->max = tc_r_binary(r, &c->max_len);
        else if (t == TC_BINARY && id == 6) c->min = tc_r_binary(r, &c->min_len);
        else tc_r_skip(r, t);
    }
    tc_r_struct_end(r);
    /* The legacy min/max are only meaningful for types whose order is signed. */
    if (!c->min && lmin && c->physical != PQ_BYTE_ARRAY && c->physical != PQ_FIXED) {
        c->min = lmin;
        c->min_len = lmin_len;
    }
    if (!c->max && lmax && c->physical != PQ_BYTE_ARRAY && c->physical != PQ_FIXED) {
        c->max = lmax;
        c->max_len = lmax_len;
    }
}

static void read_chunk(tc_reader *r, rchunk *c)
{
    c->dict_off = -1;
    c->nulls = -1;
    c->physical = -1;
    if (!tc_r_struct_begin(r)) return;
    int t;
    int16_t id;
    while (tc_r_field(r, &t, &id)) {
        if (id != 3 || t != TC_STRUCT) {
            tc_r_skip(r, t);
            continue;
        }
        if (!tc_r_struct_begin(r)) return;
        int t2;
        int16_t id2;
        while (tc_r_field(r, &t2, &id2)) {
            switch (id2) {
            case 1: c->physical = (int)tc_r_int(r, t2); break;
            case 4: c->codec = (int)tc_r_int(r, t2); break;
            case 5: c->num_values = tc_r_int(r, t2); break;
            case 7: c->comp_size = tc_r_int(r, t2); break;
            case 9: c->data_off = tc_r_int(r, t2); break;
            case 11: c->dict_off = tc_r_int(r, t2); break;
            case 12:
                if (t2 == TC_STRUCT) read_stats(r, c);
                else tc_r_skip(r, t2);
                break;
            default: tc_r_skip(r, t2);
            }
        }
        tc_r_struct_end(r);
    }
    tc_r_struct_end(r);
}

static void free_node(rnode *n)
{
    for (size_t i = 0; i < n->nchildren; i++) free_node(&n->children[i]);
    free(n->children);
    free(n->name);
    free(n->glue);
}

void pq_file_close(pq_file *f)
{
    if (!f) return;
    free_node(&f->root);
    free(f->leaves);
    for (size_t i = 0; i < f->nrg; i++) free(f->rgs[i].cols);
    free(f->rgs);
    free(f);
}

static void glue_of(const rnode *n, sp_str *out);

static void glue_prim(const rnode *n, sp_str *out)
{
    bool decimal = n->lt == PQ_LT_DECIMAL || n->ct == PQ_CT_DECIMAL;
    if (decimal) {
        sp_str_appendf(out, "decimal(%d,%d)", n->precision, n->scale);
        return;
    }
    switch (n->physical) {
    case PQ_BOOLEAN: sp_str_puts(out, "boolean"); return;
    case PQ_INT32:
        if (n->lt == PQ_LT_DATE || n->ct == PQ_CT_DATE) sp_str_puts(out, "date");
        else if (n->int_bits == 8 && n->int_signed) sp_str_puts(out, "tinyint");
        else if (n->int_bits == 16 && n->int_signed) sp_str_puts(out, "smallint");
        else if ((n->int_bits == 32 && !n->int_signed) || n->ct == PQ_CT_UINT_32)
            sp_str_puts(out, "bigint");
        else if (n->ct == PQ_CT_INT_8) sp_str_puts(out, "tinyint");
        else if (n->ct == PQ_CT_INT_16) sp_str_puts(out, "smallint");
        else sp_str_puts(out, "int");
        return;
    case PQ_INT64:
        if (n->lt == PQ_LT_TIMESTAMP || n->ct == PQ_CT_TIMESTAMP_MILLIS ||
            n->ct == PQ_CT_TIMESTAMP_MICROS)
            sp_str_puts(out, "timestamp");
        else sp_str_puts(out, "bigint");
        return;
    case PQ_INT96: sp_str_puts(out, "timestamp"); return;
    case PQ_FLOAT: sp_str_puts(out, "float"); return;
    case PQ_DOUBLE: sp_str_puts(out, "double"); return;
    case PQ_BYTE_ARRAY:
        if (n->lt == PQ_LT_STRING || n->lt == PQ_LT_ENUM || n->lt == PQ_LT_JSON ||
            n->ct == PQ_CT_UTF8 || n->ct == PQ_CT_ENUM || n->ct == PQ_CT_JSON)
            sp_str_puts(out, "string");
        else sp_str_puts(out, "binary");
        return;
    default:
        sp_str_puts(out, n->lt == PQ_LT_UUID ? "string" : "binary");
    }
}

/* The element of a repeated node R: its only child for the three-level list form, R itself
 * when R is a primitive or a multi-field group (the legacy two-level forms). */
static void glue_repeated_item(const rnode *r, sp_str *out)
{
    if (!r->nchildren) glue_prim(r, out);
    else if (r->nchildren == 1) glue_of(&r->children[0], out);
    else {
        sp_str_puts(out, "struct<");
        for (size_t i = 0; i < r->nchildren; i++) {
            if (i) sp_str_putc(out, ',');
            sp_str_appendf(out, "%s:", r->children[i].name);
            glue_of(&r->children[i], out);
        }
        sp_str_putc(out, '>');
    }
}

static bool is_map(const rnode *n)
{
    return (n->lt == PQ_LT_MAP || n->ct == PQ_CT_MAP || n->ct == PQ_CT_MAP_KEY_VALUE) &&
           n->nchildren == 1 && n->children[0].repetition == PQ_REPEATED &&
           n->children[0].nchildren == 2;
}

static bool is_list(const rnode *n)
{
    return (n->lt == PQ_LT_LIST || n->ct == PQ_CT_LIST) && n->nchildren == 1 &&
           n->children[0].repetition == PQ_REPEATED;
}

static void glue_of(const rnode *n, sp_str *out)
{
    if (n->repetition == PQ_REPEATED) {  /* an unannotated repeated field: an array */
        sp_str_puts(out, "array<");
        glue_repeated_item(n, out);
        sp_str_putc(out, '>');
        return;
    }
    if (!n->nchildren && n->physical >= 0) {
        glue_prim(n, out);
    } else if (is_map(n)) {
        sp_str_puts(out, "map<");
        glue_of(&n->children[0].children[0], out);
        sp_str_putc(out, ',');
        glue_of(&n->children[0].children[1], out);
        sp_str_putc(out, '>');
    } else if (is_list(n)) {
        sp_str_puts(out, "array<");
        glue_repeated_item(&n->children[0], out);
        sp_str_putc(out, '>');
    } else {
        sp_str_puts(out, "struct<");
        for (size_t i = 0; i < n->nchildren; i++) {
            if (i) sp_str_putc(out, ',');
            sp_str_appendf(out, "%s:", n->children[i].name);
            glue_of(&n->children[i], out);
        }
        sp_str_putc(out, '>');
    }
}

/* Builds the tree from the flat schema list (DFS order), computing levels and leaf ranges. */
static bool build_node(pq_file *f, rnode *n, const selem *els, size_t nel, size_t *at,
                       int def, int rep, int depth)
{
    if (*at >= nel || depth > PQ_SCHEMA_DEPTH_MAX) return false;
    const selem *s = &els[(*at)++];
    n->name = pq_xmalloc(s->name_len + 1);
    if (s->name_len) memcpy(n->name, s->name, s->name_len);
    n->name[s->name_len] = 0;
    n->repetition = depth == 0 ? PQ_REQUIRED : s->repetition;
    if (n->repetition < PQ_REQUIRED || n->repetition > PQ_REPEATED) return false;
    n->physical = s->has_type && s->num_children == 0 ? s->type : -1;
    n->type_length = s->type_length;
    n->ct = s->ct;
    n->lt = s->lt;
    n->scale = s->scale;
    n->precision = s->precision;
    n->ts_unit = s->ts_unit;
    n->int_bits = s->int_bits;
    n->int_signed = s->int_signed;
    if (n->repetition != PQ_REQUIRED) def++;
    if (n->repetition == PQ_REPEATED) rep++;
    n->def_here = def;
    n->rep_here = rep;
    n->leaf_first = f->nleaves;
    if (s->num_children < 0 || (size_t)s->num_children > nel - *at) return false;
    if (s->num_children == 0) {
        if (depth == 0) return false;
        if (n->physical < PQ_BOOLEAN || n->physical > PQ_FIXED) return false;
        if (n->physical == PQ_FIXED && (n->type_length <= 0 || (size_t)n->type_length > f->len))
            return false;
        f->leaves = pq_xrealloc(f->leaves, (f->nleaves + 1) * sizeof *f->leaves);
        f->leaves[f->nleaves++] = n;
        n->nleaves = 1;
        return true;
    }
    n->nchildren = (size_t)s->num_children;
    n->children = pq_xcalloc(n->nchildren, sizeof *n->children);
    for (size_t i = 0; i < n->nchildren; i++)
        if (!build_node(f, &n->children[i], els, nel, at, def, rep, depth + 1)) return false;
    n->nleaves = f->nleaves - n->leaf_first;
    return true;
}

static bool fail(sp_err *e, const char *what)
{
    sp_err_invalid(e, "not a readable Parquet file: %s", what);
    return false;
}

bool pq_is_parquet(const uint8_t *buf, size_t len)
{
    return len >= 12 && !memcmp(buf, PQ_MAGIC, 4) && !memcmp(buf + len - 4, PQ_MAGIC, 4);
}

static bool parse_footer(pq_file *f, sp_err *e)
{
    if (!pq_is_parquet(f->buf, f->len)) return fail(e, "no PAR1 magic at both ends");
    const uint8_t *lp = f->buf + f->len - 8;
    uint32_t mlen = (uint32_t)lp[0] | (uint32_t)lp[1] << 8 | (uint32_t)lp[2] << 16 |
                    (uint32_t)lp[3] << 24;
    if (mlen > f->len - 12) return fail(e, "footer length exceeds the file");
    tc_reader r;
    tc_r_init(&r, lp - mlen, mlen);
    selem *els = NULL;
    size_t nel = 0;
    bool ok = tc_r_struct_begin(&r);
    int t;
    int16_t id;
    while (ok && tc_r_field(&r, &t, &id)) {
        if (id == 2 && t == TC_LIST) {
            int et;
            size_t n;
            if (!tc_r_list(&r, &et, &n) || et != TC_STRUCT || els) {
                r.bad = true;
                break;
            }
            els = pq_xcalloc(n, sizeof *els);
            nel = n;
            for (size_t i = 0; i < n && !r.bad; i++) read_selem(&r, &els[i]);
        } else if (id == 6 && t == TC_BINARY) {
            size_t n;
            const uint8_t *cb = tc_r_binary(&r, &n);
            f->ours = cb && n == strlen(PQ_CREATED_BY) && !memcmp(cb, PQ_CREATED_BY, n);
        } else if (id == 3) {
            f->num_rows = tc_r_int(&r, t);
        } else if (id == 4 && t == TC_LIST) {
            int et;
            size_t n;
            if (!tc_r_list(&r, &et, &n) || et != TC_STRUCT || f->rgs) {
                r.bad = true;
                break;
            }
            f->rgs = pq_xcalloc(n, sizeof *f->rgs);
            f->nrg = n;
            for (size_t i = 0; i < n && !r.bad; i++) {
                rgroup *g = &f->rgs[i];
                if (!tc_r_struct_begin(&r)) break;
                int t2;
                int16_t id2;
                size_t ncols = 0;
                while (tc_r_field(&r, &t2, &id2)) {
                    if (id2 == 1 && t2 == TC_LIST) {
                        int et2;
                        size_t nc;
                        if (!tc_r_list(&r, &et2, &nc) || et2 != TC_STRUCT || g->cols) {
                            r.bad = true;
                            break;
                        }
                        g->cols = pq_xcalloc(nc, sizeof *g->cols);
                        ncols = nc;
                        for (size_t c = 0; c < nc && !r.bad; c++) read_chunk(&r, &g->cols[c]);
                    } else if (id2 == 3) {
                        g->num_rows = tc_r_int(&r, t2);
                    } else {
                        tc_r_skip(&r, t2);
                    }
                }
                tc_r_struct_end(&r);
                if (r.bad) break;
                /* A sentinel ends the chunk list; its count is checked against the schema
                 * once the schema is known. */
                if (!r.bad) {
                    g->cols = pq_xrealloc(g->cols, (ncols + 1) * sizeof *g->cols);
                    memset(&g->cols[ncols], 0, sizeof *g->cols);
                    g->cols[ncols].physical = -2;
                }
            }
        } else {
            tc_r_skip(&r, t);
        }
    }
    if (r.bad || !els || !nel) {
        free(els);
        return fail(e, "the footer's Thrift metadata is damaged");
    }
    size_t at = 0;
    if (!build_node(f, &f->root, els, nel, &at, 0, 0, 0) || at != nel) {
        free(els);
        return fail(e, "the schema is inconsistent");
    }
    free(els);
    f->root.glue = NULL;
    for (size_t i = 0; i < f->root.nchildren; i++) {
        sp_str s;
        sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
        glue_of(&f->root.children[i], &s);
        f->root.children[i].glue = sp_str_finish(&s, NULL);
        if (!f->root.children[i].glue) abort();
    }
    if (f->num_rows < 0) return fail(e, "negative row count");
    int64_t rows = 0;
    for (size_t i = 0; i < f->nrg; i++) {
        rgroup *g = &f->rgs[i];
        size_t nc = 0;
        if (g->cols) {
            while (g->cols[nc].physical != -2) nc++;
        }
        if (nc != f->nleaves) return fail(e, "a row group's column count differs from the schema");
        if (g->num_rows < 0 || g->num_rows > INT64_MAX - rows) return fail(e, "bad row count");
        rows += g->num_rows;
        for (size_t c = 0; c < nc; c++) {
            rchunk *ch = &g->cols[c];
            if (ch->physical != f->leaves[c]->physical)
                return fail(e, "a column chunk's type differs from the schema");
            if (ch->num_values < 0 || ch->data_off < 4 || (uint64_t)ch->data_off >= f->len ||
                (ch->dict_off >= 0 && (ch->dict_off < 4 || (uint64_t)ch->dict_off >= f->len)))
                return fail(e, "a column chunk's offsets lie outside the file");
        }
    }
    return true;
}

pq_file *pq_file_open(const uint8_t *buf, size_t len, sp_err *e)
{
    pq_file *f = pq_xcalloc(1, sizeof *f);
    f->buf = buf;
    f->len = len;
    f->values_left = (uint64_t)len * PQ_VALUES_PER_FILE_BYTE + PQ_VALUES_FLOOR;
    f->bytes_left = (uint64_t)len * PQ_INFLATE_PER_FILE_BYTE + PQ_INFLATE_FLOOR;
    if (!parse_footer(f, e)) {
        pq_file_close(f);
        return NULL;
    }
    return f;
}

int64_t pq_file_num_rows(const pq_file *f) { return f->num_rows; }
size_t pq_file_num_row_groups(const pq_file *f) { return f->nrg; }
size_t pq_file_num_columns(const pq_file *f) { return f->root.nchildren; }
const char *pq_file_column_name(const pq_file *f, size_t i) { return f->root.children[i].name; }
const char *pq_file_column_type(const pq_file *f, size_t i) { return f->root.children[i].glue; }
int64_t pq_file_row_group_rows(const pq_file *f, size_t rg) { return f->rgs[rg].num_rows; }

/* ---- values to JSON ------------------------------------------------------------------------------ */

static json_t *string_json(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    if (s) return s;
    /* Not UTF-8 (or holds NUL): each invalid byte becomes U+FFFD. */
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    for (size_t i = 0; i < n; i++) {
        if (p[i] && p[i] < 0x80) sp_str_putc(&out, (char)p[i]);
        else {
            json_t *one = NULL;
            size_t k = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
            if (k > 1 && i + k <= n) one = json_stringn((const char *)p + i, k);
            if (one) {
                sp_str_append(&out, p + i, k);
                i += k - 1;
                json_decref(one);
            } else {
                sp_str_puts(&out, "\xef\xbf\xbd");
            }
        }
    }
    char *z = sp_str_finish(&out, &n);
    json_t *r = z ? json_stringn(z, n) : NULL;
    free(z);
    return r ? r : json_string("");
}

static json_t *decimal_json(__int128 v, int scale)
{
    char buf[PQ_TEXT_MAX];
    pq_decimal_format(v, scale < 0 || scale > 38 ? 0 : scale, buf);
    return json_string(buf);
}

static json_t *bytes_decimal(const uint8_t *p, size_t n, int scale)
{
    if (n > 16) return json_null();
    __int128 v = n && (p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < n; i++) v = (__int128)(((unsigned __int128)v << 8) | p[i]);
    return decimal_json(v, scale);
}

static json_t *value_json(const rnode *n, const rv *v)
{
    bool decimal = n->lt == PQ_LT_DECIMAL || n->ct == PQ_CT_DECIMAL;
    char buf[PQ_TEXT_MAX];
    switch (n->physical) {
    case PQ_BOOLEAN: return json_boolean(v->i);
    case PQ_INT32:
        if (decimal) return decimal_json((int32_t)v->i, n->scale);
        if (n->lt == PQ_LT_DATE || n->ct == PQ_CT_DATE) {
            pq_date_format((int32_t)v->i, buf);
            return json_string(buf);
        }
        if ((n->lt == PQ_LT_INTEGER && !n->int_signed) || n->ct == PQ_CT_UINT_32 ||
            n->ct == PQ_CT_UINT_16 || n->ct == PQ_CT_UINT_8)
            return json_integer((uint32_t)v->i);
        return json_integer((int32_t)v->i);
    case PQ_INT64:
        if (decimal) return decimal_json(v->i, n->scale);
        if (n->lt == PQ_LT_TIMESTAMP || n->ct == PQ_CT_TIMESTAMP_MILLIS ||
            n->ct == PQ_CT_TIMESTAMP_MICROS) {
            int unit = n->lt == PQ_LT_TIMESTAMP ? n->ts_unit
                       : n->ct == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
            pq_timestamp_format(v->i, unit == PQ_UNIT_MILLIS ? 1000 : unit == PQ_UNIT_NANOS ?
                                1000000000 : 1000000, buf);
            return json_string(buf);
        }
        if (((n->lt == PQ_LT_INTEGER && !n->int_signed) || n->ct == PQ_CT_UINT_64) && v->i < 0) {
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->i);
            return json_string(buf);
        }
        return json_integer(v->i);
    case PQ_INT96:
        pq_timestamp_format(v->i, 1000000000, buf);
        return json_string(buf);
    case PQ_FLOAT:
    case PQ_DOUBLE:
        if (isnan(v->d)) return json_string("NaN");
        if (isinf(v->d)) return json_string(v->d > 0 ? "Infinity" : "-Infinity");
        return json_real(v->d);
    case PQ_BYTE_ARRAY:
    case PQ_FIXED:
        if (decimal) return bytes_decimal(v->b.p, v->b.len, n->scale);
        if (n->physical == PQ_BYTE_ARRAY &&
            (n->lt == PQ_LT_STRING || n->lt == PQ_LT_ENUM || n->lt == PQ_LT_JSON ||
             n->ct == PQ_CT_UTF8 || n->ct == PQ_CT_ENUM || n->ct == PQ_CT_JSON))
            return string_json(v->b.p, v->b.len);
        {
            char *b64 = pq_xmalloc(sp_base64_encoded_len(v->b.len) + 1);
            sp_base64_encode(v->b.p, v->b.len, b64);
            json_t *r = json_string(b64);
            free(b64);
            return r;
        }
    }
    return json_null();
}

/* ---- page decoding --------------------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Decodes n PLAIN values; false if the data runs out. */
static bool decode_plain(const rnode *n, const uint8_t *p, size_t len, rv *out, size_t count,
                         size_t *used)
{
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        switch (n->physical) {
        case PQ_BOOLEAN:
            if (i / 8 >= len) return false;
            out[i].i = p[i / 8] >> (i % 8) & 1;
            at = (i / 8) + 1;
            break;
        case PQ_INT32:
            if (len - at < 4) return false;
            out[i].i = (int32_t)le32(p + at);
            at += 4;
            break;
        case PQ_INT64:
            if (len - at < 8) return false;
            out[i].i = (int64_t)le64(p + at);
            at += 8;
            break;
        case PQ_INT96: {
            if (len - at < 12) return false;
            int64_t nanos = (int64_t)le64(p + at);
            int64_t jd = (int32_t)le32(p + at + 8);
            __int128 t = (__int128)(jd - 2440588) * 86400 * 1000000000 + nanos;
            out[i].i = t > INT64_MAX ? INT64_MAX : t < INT64_MIN ? INT64_MIN : (int64_t)t;
            at += 12;
            break;
        }
        case PQ_FLOAT: {
            if (len - at < 4) return false;
            uint32_t x = le32(p + at);
            float fl;
            memcpy(&fl, &x, 4);
            out[i].d = fl;
            at += 4;
            break;
        }
        case PQ_DOUBLE: {
            if (len - at < 8) return false;
            uint64_t x = le64(p + at);
            memcpy(&out[i].d, &x, 8);
            at += 8;
            break;
        }
        case PQ_BYTE_ARRAY: {
            if (len - at < 4) return false;
            uint32_t l = le32(p + at);
            at += 4;
            if (l > len - at) return false;
            out[i].b.p = p + at;
            out[i].b.len = l;
            at += l;
            break;
        }
        case PQ_FIXED: {
            size_t l = (size_t)n->type_length;
            if (len - at < l) return false;
            out[i].b.p = p + at;
            out[i].b.len = (uint32_t)l;
            at += l;
            break;
        }
        default:
            return false;
        }
    }
    *used = at;
    return true;
}

typedef struct {
    rv *dict;
    size_t ndict;
} dictionary;

static bool page_fail(sp_err *e, const rnode *n, const char *what)
{
    sp_err_invalid(e, "Parquet column '%s': %s", n->name, what);
    return false;
}

static void ld_reserve(ldata *d, size_t more)
{
    if (d->cap - d->n < more) {
        while (d->cap - d->n < more) d->cap = d->cap ? d->cap * 2 : 1024;
        d->def = pq_xrealloc(d->def, d->cap);
        d->rep = pq_xrealloc(d->rep, d->cap);
    }
}

static void ld_reserve_vals(ldata *d, size_t more)
{
    if (d->nv_cap - d->nvals < more) {
        while (d->nv_cap - d->nvals < more) d->nv_cap = d->nv_cap ? d->nv_cap * 2 : 1024;
        d->vals = pq_xrealloc(d->vals, d->nv_cap * sizeof *d->vals);
    }
}

static bool decode_levels(const uint8_t *p, size_t len, int max, uint8_t *out, size_t n)
{
    uint32_t *tmp = pq_xmalloc(n * sizeof *tmp);
    bool ok = pq_rle_decode(p, len, pq_bit_width((uint32_t)max), tmp, n);
    for (size_t i = 0; ok && i < n; i++) {
        if (tmp[i] > (uint32_t)max) ok = false;
        out[i] = (uint8_t)tmp[i];
    }
    free(tmp);
    return ok;
}

static const uint8_t *own(ldata *d, uint8_t *p);

/* ---- DELTA_* and BYTE_STREAM_SPLIT (what writers of v2 pages use) ---------------------------- */

typedef struct {
    const uint8_t *p, *end;
} cursor;

static bool cur_varint(cursor *c, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) return false;
        uint8_t b = *c->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* DELTA_BINARY_PACKED: count values into out (as uint64, two's complement); *used receives
 * the bytes consumed. */
static bool delta_decode(const uint8_t *p, size_t len, uint64_t *out, size_t count, size_t *used)
{
    cursor c = {p, p + len};
    uint64_t block, minis, total, first;
    if (!cur_varint(&c, &block) || !cur_varint(&c, &minis) || !cur_varint(&c, &total) ||
        !cur_varint(&c, &first))
        return false;
    if (!block || block % 128 || !minis || block % minis || (block / minis) % 32 ||
        block > (1u << 20) || total < count)
        return false;
    uint64_t per_mini = block / minis;
    uint64_t prev = (first >> 1) ^ (0 - (first & 1));
    size_t got = 0;
    if (count) out[got++] = prev;
    while (got < count) {
        uint64_t zz;
        if (!cur_varint(&c, &zz)) return false;
        uint64_t min_delta = (zz >> 1) ^ (0 - (zz & 1));
        if ((uint64_t)(c.end - c.p) < minis) return false;
        const uint8_t *widths = c.p;
        c.p += minis;
        for (uint64_t m = 0; m < minis && got < count; m++) {
            unsigned bw = widths[m];
            if (bw > 64) return false;
            uint64_t bytes = per_mini * bw / 8;
            if ((uint64_t)(c.end - c.p) < bytes) return false;
            for (uint64_t k = 0; k < per_mini && got < count; k++) {
                uint64_t v = 0;
                uint64_t bit = k * bw;
                for (unsigned b = 0; b < bw; b++, bit++)
                    v |= (uint64_t)(c.p[bit / 8] >> (bit % 8) & 1) << b;
                prev = prev + min_delta + v;
                out[got++] = prev;
            }
            c.p += bytes;
        }
    }
    *used = (size_t)(c.p - p);
    return true;
}

static bool decode_delta_values(pq_file *f, const rnode *n, int enc, const uint8_t *p,
                                size_t len, rv *out, size_t count, ldata *d)
{
    size_t used;
    if (enc == PQ_ENC_DELTA_BINARY_PACKED) {
        if (n->physical != PQ_INT32 && n->physical != PQ_INT64) return false;
        uint64_t *tmp = pq_xmalloc(count * sizeof *tmp);
        bool ok = delta_decode(p, len, tmp, count, &used);
        for (size_t i = 0; ok && i < count; i++)
            out[i].i = n->physical == PQ_INT32 ? (int32_t)(uint32_t)tmp[i] : (int64_t)tmp[i];
        free(tmp);
        return ok;
    }
    if (enc == PQ_ENC_BYTE_STREAM_SPLIT) {
        size_t width = n->physical == PQ_FLOAT || n->physical == PQ_INT32 ? 4
                       : n->physical == PQ_DOUBLE || n->physical == PQ_INT64 ? 8 : 0;
        if (!width || len / width < count) return false;
        for (size_t i = 0; i < count; i++) {
            uint8_t v[8];
            for (size_t b = 0; b < width; b++) v[b] = p[b * count + i];
            if (n->physical == PQ_FLOAT) {
                float fl;
                memcpy(&fl, v, 4);
                out[i].d = fl;
            } else if (n->physical == PQ_DOUBLE) {
                memcpy(&out[i].d, v, 8);
            } else {
                out[i].i = width == 4 ? (int32_t)le32(v) : (int64_t)le64(v);
            }
        }
        return true;
    }
    if (n->physical != PQ_BYTE_ARRAY) return false;
    uint64_t *lens = pq_xmalloc(count * sizeof *lens);
    bool ok = false;
    if (enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY) {
        if (delta_decode(p, len, lens, count, &used)) {
            const uint8_t *data = p + used, *end = p + len;
            ok = true;
            for (size_t i = 0; ok && i < count; i++) {
                if (lens[i] > (uint64_t)(end - data)) ok = false;
                else {
                    out[i].b.p = data;
                    out[i].b.len = (uint32_t)lens[i];
                    data += lens[i];
                }
            }
        }
    } else if (enc == PQ_ENC_DELTA_BYTE_ARRAY) {
        uint64_t *pre = pq_xmalloc(count * sizeof *pre);
        size_t used2;
        if (delta_decode(p, len, pre, count, &used) &&
            delta_decode(p + used, len - used, lens, count, &used2)) {
            const uint8_t *data = p + used + used2, *end = p + len;
            uint64_t total = 0;
            ok = true;
            for (size_t i = 0; ok && i < count; i++) {
                uint64_t prev_len = i ? pre[i - 1] + lens[i - 1] : 0;
                if (pre[i] > prev_len || lens[i] > (uint64_t)(end - data)) ok = false;
                else {
                    data += lens[i];
                    total += pre[i] + lens[i];
                }
            }
            /* Rebuilt values may be far larger than the page: the file's inflate budget. */
            if (ok && total > f->bytes_left) ok = false;
            if (ok) {
                f->bytes_left -= total;
                uint8_t *buf = pq_xmalloc((size_t)total + 1);
                own(d, buf);
                data = p + used + used2;
                size_t at = 0;
                for (size_t i = 0; i < count; i++) {
                    if (pre[i]) memcpy(buf + at, out[i - 1].b.p, (size_t)pre[i]);
                    if (lens[i]) memcpy(buf + at + pre[i], data, (size_t)lens[i]);
                    data += lens[i];
                    out[i].b.p = buf + at;
                    out[i].b.len = (uint32_t)(pre[i] + lens[i]);
                    at += (size_t)(pre[i] + lens[i]);
                }
            }
        }
        free(pre);
    }
    free(lens);
    return ok;
}

/* Decodes the values part of a data page: count non-null values into d. */
static bool decode_values(pq_file *f, const rnode *n, int enc, const uint8_t *p, size_t len,
                          const dictionary *dict, ldata *d, size_t count, sp_err *e)
{
    if (!count) return true;
    ld_reserve_vals(d, count);
    rv *out = d->vals + d->nvals;
    if (enc == PQ_ENC_PLAIN) {
        size_t used;
        if (!decode_plain(n, p, len, out, count, &used)) return page_fail(e, n, "PLAIN values run past the page");
    } else if (enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY) {
        if (!dict->dict && count) return page_fail(e, n, "dictionary-encoded page without a dictionary");
        if (count) {
            if (len < 1 || p[0] > 32) return page_fail(e, n, "bad dictionary index width");
            uint32_t *idx = pq_xmalloc(count * sizeof *idx);
            bool ok = pq_rle_decode(p + 1, len - 1, p[0], idx, count);
            for (size_t i = 0; ok && i < count; i++) {
                if (idx[i] >= dict->ndict) ok = false;
                else out[i] = dict->dict[idx[i]];
            }
            free(idx);
            if (!ok) return page_fail(e, n, "bad dictionary indices");
        }
    } else if (enc == PQ_ENC_RLE && n->physical == PQ_BOOLEAN) {
        if (len < 4 || le32(p) > len - 4) return page_fail(e, n, "bad RLE boolean run");
        uint32_t *tmp = pq_xmalloc(count * sizeof *tmp);
        bool ok = pq_rle_decode(p + 4, le32(p), 1, tmp, count);
        for (size_t i = 0; ok && i < count; i++) out[i].i = tmp[i];
        free(tmp);
        if (!ok) return page_fail(e, n, "bad RLE boolean run");
    } else if (enc == PQ_ENC_DELTA_BINARY_PACKED || enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY ||
               enc == PQ_ENC_DELTA_BYTE_ARRAY || enc == PQ_ENC_BYTE_STREAM_SPLIT) {
        if (!decode_delta_values(f, n, enc, p, len, out, count, d))
            return page_fail(e, n, "bad DELTA or BYTE_STREAM_SPLIT values");
    } else {
        sp_err_invalid(e, "Parquet column '%s': encoding %d is not supported (PLAIN, "
                          "dictionary, RLE booleans, DELTA_* and BYTE_STREAM_SPLIT are)",
                       n->name, enc);
        return false;
    }
    d->nvals += count;
    return true;
}

typedef struct {
    int type, uncompressed, compressed;
    int num_values, encoding, num_nulls, def_len, rep_len;
    bool is_compressed;
} pheader;

static bool read_page_header(const uint8_t *p, size_t len, pheader *h, size_t *used)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    tc_reader r;
    tc_r_init(&r, p, len);
    if (!tc_r_struct_begin(&r)) return false;
    int t;
    int16_t id;
    while (tc_r_field(&r, &t, &id)) {
        if (id == 1) h->type = (int)tc_r_int(&r, t);
        else if (id == 2) h->uncompressed = (int)tc_r_int(&r, t);
        else if (id == 3) h->compressed = (int)tc_r_int(&r, t);
        else if ((id == 5 || id == 7 || id == 8) && t == TC_STRUCT) {
            if (!tc_r_struct_begin(&r)) return false;
            int t2;
            int16_t id2;
            while (tc_r_field(&r, &t2, &id2)) {
                if (id2 == 1) h->num_values = (int)tc_r_int(&r, t2);
                else if (id == 5 && id2 == 2) h->encoding = (int)tc_r_int(&r, t2);
                else if (id == 7 && id2 == 2) h->encoding = (int)tc_r_int(&r, t2);
                else if (id == 8 && id2 == 2) h->num_nulls = (int)tc_r_int(&r, t2);
                else if (id == 8 && id2 == 4) h->encoding = (int)tc_r_int(&r, t2);
                else if (id == 8 && id2 == 5) h->def_len = (int)tc_r_int(&r, t2);
                else if (id == 8 && id2 == 6) h->rep_len = (int)tc_r_int(&r, t2);
                else if (id == 8 && id2 == 7) h->is_compressed = tc_r_bool(&r, t2);
                else tc_r_skip(&r, t2);
            }
            tc_r_struct_end(&r);
        } else {
            tc_r_skip(&r, t);
        }
    }
    tc_r_struct_end(&r);
    if (r.bad) return false;
    *used = tc_r_consumed(&r, p);
    return h->uncompressed >= 0 && h->compressed >= 0 && h->num_values >= 0;
}

static void ld_free(ldata *d)
{
    free(d->def);
    free(d->rep);
    free(d->vals);
    for (size_t i = 0; i < d->nowned; i++) free(d->owned[i]);
    free(d->owned);
    memset(d, 0, sizeof *d);
}

static const uint8_t *own(ldata *d, uint8_t *p)
{
    d->owned = pq_xrealloc(d->owned, (d->nowned + 1) * sizeof *d->owned);
    d->owned[d->nowned++] = p;
    return p;
}

/* Decodes a whole column chunk into d (levels for every entry, values for the non-null). */
static bool read_chunk_data(pq_file *f, const rnode *n, const rchunk *c, ldata *d, sp_err *e)
{
    uint64_t start = c->dict_off >= 0 && c->dict_off < c->data_off ? (uint64_t)c->dict_off
                                                                   : (uint64_t)c->data_off;
    size_t pos = (size_t)start;
    dictionary dict = {0};
    int64_t seen = 0;
    bool ok = true;
    while (ok && seen < c->num_values) {
        pheader h;
        size_t used;
        if (pos >= f->len || !read_page_header(f->buf + pos, f->len - pos, &h, &used)) {
            ok = page_fail(e, n, "damaged page header");
            break;
        }
        pos += used;
        if ((size_t)h.compressed > f->len - pos) {
            ok = page_fail(e, n, "page runs past the end of the file");
            break;
        }
        const uint8_t *body = f->buf + pos;
        pos += (size_t)h.compressed;
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DICTIONARY && h.type != PQ_PAGE_DATA_V2)
            continue;  /* index pages and the like */
        if ((uint64_t)h.uncompressed > f->bytes_left) {
            ok = page_fail(e, n, "pages decompress to more than the file's size allows");
            break;
        }
        f->bytes_left -= (uint64_t)h.uncompressed;
        if (h.type == PQ_PAGE_DATA_V2) {
            if (h.def_len < 0 || h.rep_len < 0 || (int64_t)h.def_len + h.rep_len > h.compressed ||
                (int64_t)h.def_len + h.rep_len > h.uncompressed) {
                ok = page_fail(e, n, "bad level lengths");
                break;
            }
        }
        /* Decompress (v2: only after the levels). */
        size_t skip = h.type == PQ_PAGE_DATA_V2 ? (size_t)(h.def_len + h.rep_len) : 0;
        const uint8_t *data;
        size_t dlen = (size_t)h.uncompressed;
        if (c->codec == PQ_CODEC_UNCOMPRESSED || (h.type == PQ_PAGE_DATA_V2 && !h.is_compressed)) {
            if (h.compressed != h.uncompressed) {
                ok = page_fail(e, n, "uncompressed page sizes disagree");
                break;
            }
            data = body;
        } else {
            uint8_t *buf = pq_xmalloc(dlen);
            memcpy(buf, body, skip);
            if (!pq_decompress(c->codec, body + skip, (size_t)h.compressed - skip, buf + skip,
                               dlen - skip, e)) {
                free(buf);
                sp_err_wrap(e, n->name);
                ok = false;
                break;
            }
            data = own(d, buf);
        }
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (dict.dict || (uint64_t)h.num_values > f->values_left ||
                (size_t)h.num_values > dlen * 8 + 8) {
                ok = page_fail(e, n, "bad dictionary page");
                break;
            }
            f->values_left -= (uint64_t)h.num_values;
            dict.dict = pq_xmalloc((size_t)h.num_values * sizeof *dict.dict);
            dict.ndict = (size_t)h.num_values;
            size_t u;
            if (!decode_plain(n, data, dlen, dict.dict, dict.ndict, &u)) {
                ok = page_fail(e, n, "dictionary runs past its page");
                break;
            }
            continue;
        }
        size_t nv = (size_t)h.num_values;
        if ((uint64_t)nv > f->values_left || (int64_t)nv > c->num_values - seen) {
            ok = page_fail(e, n, "more values than the chunk or the file's size allows");
            break;
        }
        f->values_left -= nv;
        if (!nv) continue;
        ld_reserve(d, nv);
        const uint8_t *p = data, *end = data + dlen;
        int max_def = n->def_here, max_rep = n->rep_here;
        if (h.type == PQ_PAGE_DATA) {
            for (int pass = 0; pass < 2 && ok; pass++) {
                int max = pass == 0 ? max_rep : max_def;
                uint8_t *dst = pass == 0 ? d->rep + d->n : d->def + d->n;
                if (!max) {
                    memset(dst, 0, nv);
                    continue;
                }
                if (end - p < 4 || le32(p) > (size_t)(end - p) - 4) {
                    ok = page_fail(e, n, "level data runs past the page");
                    break;
                }
                uint32_t l = le32(p);
                if (!decode_levels(p + 4, l, max, dst, nv)) ok = page_fail(e, n, "bad levels");
                p += 4 + l;
            }
        } else {
            const uint8_t *rp = data, *dp = data + h.rep_len;
            if (max_rep) {
                if (!decode_levels(rp, (size_t)h.rep_len, max_rep, d->rep + d->n, nv))
                    ok = page_fail(e, n, "bad repetition levels");
            } else memset(d->rep + d->n, 0, nv);
            if (ok && max_def) {
                if (!decode_levels(dp, (size_t)h.def_len, max_def, d->def + d->n, nv))
                    ok = page_fail(e, n, "bad definition levels");
            } else if (ok) memset(d->def + d->n, 0, nv);
            p = data + skip;
        }
        if (!ok) break;
        size_t present = 0;
        for (size_t i = 0; i < nv; i++) present += d->def[d->n + i] == max_def;
        if (!decode_values(f, n, h.encoding, p, (size_t)(end - p), &dict, d, present, e)) {
            ok = false;
            break;
        }
        d->n += nv;
        seen += (int64_t)nv;
    }
    free(dict.dict);
    if (ok && seen != c->num_values) ok = page_fail(e, n, "the chunk holds fewer values than it declares");
    return ok;
}

/* ---- assembly ------------------------------------------------------------------------------------- */

typedef struct {
    pq_file *f;
    ldata *leaves;        /* indexed by leaf number */
    bool bad;
} asm_ctx;

static void consume_null(asm_ctx *a, const rnode *n)
{
    for (size_t i = n->leaf_first; i < n->leaf_first + n->nleaves; i++) {
        ldata *d = &a->leaves[i];
        if (d->pos >= d->n) {
            a->bad = true;
            return;
        }
        if (d->def[d->pos] == a->f->leaves[i]->def_here) d->vpos++;
        d->pos++;
    }
}

static json_t *assemble(asm_ctx *a, const rnode *n, bool as_item);

static json_t *assemble_repeated(asm_ctx *a, const rnode *r, bool map)
{
    json_t *out = map ? json_object() : json_array();
    ldata *first = &a->leaves[r->leaf_first];
    if (first->pos >= first->n) {
        a->bad = true;
        return out;
    }
    if (first->def[first->pos] < r->def_here) {  /* empty */
        consume_null(a, r);
        return out;
    }
    do {
        if (map) {
            json_t *k = assemble(a, &r->children[0], false);
            json_t *v = assemble(a, &r->children[1], false);
            if (json_is_string(k)) json_object_set_new(out, json_string_value(k), v);
            else if (k && !json_is_null(k)) {
                char *t = json_dumps(k, JSON_ENCODE_ANY);
                json_object_set_new(out, t ? t : "", v);
                free(t);
            } else json_decref(v);
            json_decref(k);
        } else if (r->nchildren == 1) {
            json_array_append_new(out, assemble(a, &r->children[0], false));
        } else {
            json_array_append_new(out, assemble(a, r, true));
        }
    } while (!a->bad && first->pos < first->n && first->rep[first->pos] == r->rep_here &&
             first->def[first->pos] >= r->def_here);
    return out;
}

/* as_item: n is a repeated node being read as one element (not as the array of them). */
static json_t *assemble(asm_ctx *a, const rnode *n, bool as_item)
{
    if (a->bad) return json_null();
    if (n->repetition == PQ_REPEATED && !as_item) return assemble_repeated(a, n, false);
    ldata *first = &a->leaves[n->leaf_first];
    if (first->pos >= first->n) {
        a->bad = true;
        return json_null();
    }
    if (first->def[first->pos] < n->def_here) {
        consume_null(a, n);
        return json_null();
    }
    if (!n->nchildren) {
        json_t *v = json_null();
        if (first->def[first->pos] == n->def_here) {
            if (first->vpos >= first->nvals) {
                a->bad = true;
                return v;
            }
            v = value_json(n, &first->vals[first->vpos++]);
            if (!v) v = json_null();
        }
        first->pos++;
        return v;
    }
    if (!as_item && is_map(n)) return assemble_repeated(a, &n->children[0], true);
    if (!as_item && is_list(n)) return assemble_repeated(a, &n->children[0], false);
    json_t *obj = json_object();
    for (size_t i = 0; i < n->nchildren && !a->bad; i++)
        json_object_set_new(obj, n->children[i].name, assemble(a, &n->children[i], false));
    return obj;
}

bool pq_file_read_row_group(pq_file *f, size_t rg, const bool *want, pq_row_fn fn, void *ctx,
                            sp_err *e)
{
    if (rg >= f->nrg) {
        sp_err_invalid(e, "no row group %zu", rg);
        return false;
    }
    rgroup *g = &f->rgs[rg];
    ldata *leaves = pq_xcalloc(f->nleaves, sizeof *leaves);
    bool ok = true;
    for (size_t c = 0; c < f->root.nchildren && ok; c++) {
        if (want && !want[c]) continue;
        const rnode *top = &f->root.children[c];
        for (size_t i = top->leaf_first; i < top->leaf_first + top->nleaves && ok; i++)
            ok = read_chunk_data(f, f->leaves[i], &g->cols[i], &leaves[i], e);
    }
    asm_ctx a = {.f = f, .leaves = leaves};
    for (int64_t r = 0; ok && r < g->num_rows; r++) {
        json_t *row = json_object();
        for (size_t c = 0; c < f->root.nchildren; c++) {
            if (want && !want[c]) continue;
            const rnode *top = &f->root.children[c];
            if (!top->nleaves) continue;
            ldata *d = &leaves[top->leaf_first];
            if (d->pos >= d->n || d->rep[d->pos] != 0) {
                a.bad = true;
                break;
            }
            json_object_set_new(row, top->name, assemble(&a, top, false));
        }
        if (a.bad) {
            json_decref(row);
            sp_err_invalid(e, "Parquet row group %zu: column levels disagree with its %lld rows",
                           rg, (long long)g->num_rows);
            ok = false;
            break;
        }
        bool go_on = fn(ctx, row);
        json_decref(row);
        if (!go_on) break;
    }
    for (size_t i = 0; i < f->nleaves; i++) ld_free(&leaves[i]);
    free(leaves);
    return ok;
}

/* ---- typed cells ----------------------------------------------------------------------------------- */

/* Text made while converting (dates, decimals, base64, repaired UTF-8, nested JSON): blocks
 * that never move, so cells can point into them until the row group's callback returns. */
enum { PQ_POOL_BLOCK = 64 * 1024 };

typedef struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    char data[];
} pool_block;

static const char *pool_put(pool_block **pool, const void *p, size_t n)
{
    pool_block *b = *pool;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > PQ_POOL_BLOCK ? n : PQ_POOL_BLOCK;
        b = pq_xmalloc(sizeof *b + cap);
        b->next = *pool;
        b->used = 0;
        b->cap = cap;
        *pool = b;
    }
    char *at = b->data + b->used;
    if (n) memcpy(at, p, n);
    b->used += n;
    return at;
}

static void pool_free(pool_block *b)
{
    while (b) {
        pool_block *next = b->next;
        free(b);
        b = next;
    }
}

static void cell_text(pq_cell *out, pool_block **pool, const char *s, size_t n)
{
    out->kind = PQ_CELL_TEXT;
    out->len = (uint32_t)n;
    out->v.s = pool_put(pool, s, n);
}

/* What value_json makes of v, as a cell; the same branches in the same order. */
static void value_cell(const rnode *n, const rv *v, pool_block **pool, pq_cell *out)
{
    bool decimal = n->lt == PQ_LT_DECIMAL || n->ct == PQ_CT_DECIMAL;
    char buf[PQ_TEXT_MAX];
    switch (n->physical) {
    case PQ_BOOLEAN:
        out->kind = PQ_CELL_BOOL;
        out->v.i = v->i != 0;
        return;
    case PQ_INT32:
        if (decimal) {
            pq_decimal_format((int32_t)v->i, n->scale < 0 || n->scale > 38 ? 0 : n->scale, buf);
            cell_text(out, pool, buf, strlen(buf));
            return;
        }
        if (n->lt == PQ_LT_DATE || n->ct == PQ_CT_DATE) {
            pq_date_format((int32_t)v->i, buf);
            cell_text(out, pool, buf, strlen(buf));
            return;
        }
        out->kind = PQ_CELL_INT;
        if ((n->lt == PQ_LT_INTEGER && !n->int_signed) || n->ct == PQ_CT_UINT_32 ||
            n->ct == PQ_CT_UINT_16 || n->ct == PQ_CT_UINT_8)
            out->v.i = (uint32_t)v->i;
        else
            out->v.i = (int32_t)v->i;
        return;
    case PQ_INT64:
        if (decimal) {
            pq_decimal_format(v->i, n->scale < 0 || n->scale > 38 ? 0 : n->scale, buf);
            cell_text(out, pool, buf, strlen(buf));
            return;
        }
        if (n->lt == PQ_LT_TIMESTAMP || n->ct == PQ_CT_TIMESTAMP_MILLIS ||
            n->ct == PQ_CT_TIMESTAMP_MICROS) {
            int unit = n->lt == PQ_LT_TIMESTAMP ? n->ts_unit
                       : n->ct == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
            pq_timestamp_format(v->i, unit == PQ_UNIT_MILLIS ? 1000 : unit == PQ_UNIT_NANOS ?
                                1000000000 : 1000000, buf);
            cell_text(out, pool, buf, strlen(buf));
            return;
        }
        if (((n->lt == PQ_LT_INTEGER && !n->int_signed) || n->ct == PQ_CT_UINT_64) && v->i < 0) {
            int k = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->i);
            cell_text(out, pool, buf, (size_t)k);
            return;
        }
        out->kind = PQ_CELL_INT;
        out->v.i = v->i;
        return;
    case PQ_INT96:
        pq_timestamp_format(v->i, 1000000000, buf);
        cell_text(out, pool, buf, strlen(buf));
        return;
    case PQ_FLOAT:
    case PQ_DOUBLE:
        if (isnan(v->d)) cell_text(out, pool, "NaN", 3);
        else if (isinf(v->d)) {
            const char *t = v->d > 0 ? "Infinity" : "-Infinity";
            cell_text(out, pool, t, strlen(t));
        } else {
            out->kind = PQ_CELL_DOUBLE;
            out->v.d = v->d;
        }
        return;
    case PQ_BYTE_ARRAY:
    case PQ_FIXED:
        if (decimal || n->physical != PQ_BYTE_ARRAY ||
            !(n->lt == PQ_LT_STRING || n->lt == PQ_LT_ENUM || n->lt == PQ_LT_JSON ||
              n->ct == PQ_CT_UTF8 || n->ct == PQ_CT_ENUM || n->ct == PQ_CT_JSON))
            break;  /* decimals and binaries: rare, through their JSON value below */
        /* A string: ASCII is valid UTF-8 as it stands (it points into the page); anything
         * else gets string_json's checking and repair. */
        for (uint32_t i = 0; i < v->b.len; i++)
            if (v->b.p[i] >= 0x80) goto through_json;
        out->kind = PQ_CELL_TEXT;
        out->len = v->b.len;
        out->v.s = (const char *)v->b.p;
        return;
    default:
        out->kind = PQ_CELL_NULL;
        return;
    }
through_json:;
    json_t *j = value_json(n, v);
    if (json_is_string(j)) cell_text(out, pool, json_string_value(j), json_string_length(j));
    else out->kind = PQ_CELL_NULL;
    json_decref(j);
}

/* A top-level column whose every row is one leaf entry (no repetition, no children): its
 * cells straight from the levels and values, as assemble() would read them. */
static bool flat_cells(pq_file *f, const rnode *top, ldata *d, int64_t rows, pq_cell *out,
                       pool_block **pool)
{
    (void)f;
    int max_def = top->def_here;
    for (int64_t r = 0; r < rows; r++) {
        if (d->pos >= d->n || d->rep[d->pos] != 0) return false;
        if (d->def[d->pos] == max_def) {
            if (d->vpos >= d->nvals) return false;
            value_cell(top, &d->vals[d->vpos++], pool, &out[r]);
        } else {
            out[r].kind = PQ_CELL_NULL;
        }
        d->pos++;
    }
    return true;
}

/* Any other column: assembled as a JSON value per row (as pq_file_read_row_group does), then
 * kept as its compact text. */
static bool nested_cells(asm_ctx *a, const rnode *top, int64_t rows, pq_cell *out,
                         pool_block **pool)
{
    ldata *d = &a->leaves[top->leaf_first];
    for (int64_t r = 0; r < rows; r++) {
        if (d->pos >= d->n || d->rep[d->pos] != 0) return false;
        json_t *v = assemble(a, top, false);
        if (a->bad) {
            json_decref(v);
            return false;
        }
        if (json_is_object(v) || json_is_array(v)) {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
            out[r].kind = PQ_CELL_JSON;
            out[r].len = t ? (uint32_t)strlen(t) : 0;
            out[r].v.s = pool_put(pool, t ? t : "", out[r].len);
            free(t);
        } else {
            out[r].kind = PQ_CELL_NULL;  /* a null struct, list or map */
        }
        json_decref(v);
    }
    return true;
}

bool pq_file_read_row_group_cells(pq_file *f, size_t rg, const bool *want, pq_cells_fn fn,
                                  void *ctx, sp_err *e)
{
    if (rg >= f->nrg) {
        sp_err_invalid(e, "no row group %zu", rg);
        return false;
    }
    rgroup *g = &f->rgs[rg];
    size_t nc = f->root.nchildren;
    ldata *leaves = pq_xcalloc(f->nleaves, sizeof *leaves);
    pq_cell **cols = pq_xcalloc(nc ? nc : 1, sizeof *cols);
    pool_block *pool = NULL;
    bool ok = true;
    for (size_t c = 0; c < nc && ok; c++) {
        if (want && !want[c]) continue;
        const rnode *top = &f->root.children[c];
        for (size_t i = top->leaf_first; i < top->leaf_first + top->nleaves && ok; i++)
            ok = read_chunk_data(f, f->leaves[i], &g->cols[i], &leaves[i], e);
    }
    /* Rows are bounded by the chunks' values (each row takes at least one level of each
     * column read), so a row count no column backs fails below before it allocates much. */
    asm_ctx a = {.f = f, .leaves = leaves};
    size_t rows = g->num_rows > 0 ? (size_t)g->num_rows : 0;
    /* With no column read nothing backs the count: it is bounded like decoded values are. */
    if (ok && (uint64_t)rows > (uint64_t)f->len * PQ_VALUES_PER_FILE_BYTE + PQ_VALUES_FLOOR) {
        sp_err_invalid(e, "Parquet row group %zu: %lld rows are more than the file's size "
                          "allows", rg, (long long)g->num_rows);
        ok = false;
    }
    for (size_t c = 0; c < nc && ok; c++) {
        if (want && !want[c]) continue;
        const rnode *top = &f->root.children[c];
        if (!top->nleaves) continue;
        json_t *name = json_string(top->name);  /* the row object cannot hold a key that is */
        json_decref(name);                      /* not UTF-8: such a column is left out */
        if (!name) continue;
        if (leaves[top->leaf_first].n < rows) {
            ok = false;
            break;
        }
        cols[c] = pq_xmalloc((rows ? rows : 1) * sizeof *cols[c]);
        if (!top->nchildren && top->repetition != PQ_REPEATED)
            ok = flat_cells(f, top, &leaves[top->leaf_first], (int64_t)rows, cols[c], &pool);
        else
            ok = nested_cells(&a, top, (int64_t)rows, cols[c], &pool);
    }
    if (!ok && !sp_err_failed(e))
        sp_err_invalid(e, "Parquet row group %zu: column levels disagree with its %lld rows",
                       rg, (long long)g->num_rows);
    if (ok) (void)fn(ctx, rows, (const pq_cell *const *)cols);
    for (size_t c = 0; c < nc; c++) free(cols[c]);
    free(cols);
    pool_free(pool);
    for (size_t i = 0; i < f->nleaves; i++) ld_free(&leaves[i]);
    free(leaves);
    return ok;
}

bool pq_cell_matches_json(const pq_cell *c, const json_t *v)
{
    switch (c->kind) {
    case PQ_CELL_NULL: return !v || json_is_null(v);
    case PQ_CELL_BOOL: return json_is_boolean(v) && json_is_true(v) == (c->v.i != 0);
    case PQ_CELL_INT: return json_is_integer(v) && json_integer_value(v) == c->v.i;
    case PQ_CELL_DOUBLE:
        return json_is_real(v) && !memcmp(&(double){json_real_value(v)}, &c->v.d, sizeof c->v.d);
    case PQ_CELL_TEXT:
        return json_is_string(v) && json_string_length(v) == c->len &&
               !memcmp(json_string_value(v), c->v.s, c->len);
    case PQ_CELL_JSON: {
        if (!json_is_object(v) && !json_is_array(v)) return false;
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        bool same = t && strlen(t) == c->len && !memcmp(t, c->v.s, c->len);
        free(t);
        return same;
    }
    }
    return false;
}

bool pq_file_read(pq_file *f, const bool *want, pq_row_fn fn, void *ctx, sp_err *e)
{
    for (size_t rg = 0; rg < f->nrg; rg++)
        if (!pq_file_read_row_group(f, rg, want, fn, ctx, e)) return false;
    return true;
}

void pq_file_column_stats(const pq_file *f, size_t rg, size_t col, json_t **min, json_t **max,
                          int64_t *null_count)
{
    *min = *max = NULL;
    *null_count = -1;
    if (rg >= f->nrg || col >= f->root.nchildren) return;
    const rnode *top = &f->root.children[col];
    if (top->nchildren || top->nleaves != 1 || top->repetition == PQ_REPEATED) return;
    const rchunk *c = &f->rgs[rg].cols[top->leaf_first];
    *null_count = c->nulls;
    /* Other writers may truncate byte-array bounds (hyparquet-writer: to 16 bytes) without
     * saying so; such a max is no bound at all, so only ours are trusted. */
    if ((top->physical == PQ_BYTE_ARRAY || top->physical == PQ_FIXED) && !f->ours) return;
    rv v;
    size_t used;
    if (c->min) {
        if (top->physical == PQ_BYTE_ARRAY) {
            v.b.p = c->min;
            v.b.len = (uint32_t)c->min_len;
            *min = value_json(top, &v);
        } else if (decode_plain(top, c->min, c->min_len, &v, 1, &used)) {
            *min = value_json(top, &v);
        }
    }
    if (c->max) {
        if (top->physical == PQ_BYTE_ARRAY) {
            v.b.p = c->max;
            v.b.len = (uint32_t)c->max_len;
            *max = value_json(top, &v);
        } else if (decode_plain(top, c->max, c->max_len, &v, 1, &used)) {
            *max = value_json(top, &v);
        }
    }
}
