/* The Thrift compact protocol, as much of it as Parquet's footer and page headers use:
 * structs, lists, varint integers, booleans and binaries. The reader is hostile-input safe:
 * every length is checked against the bytes left, nesting is bounded, errors are sticky. */
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_int.h"

/* ---- memory and buffers ------------------------------------------------------------------- */

void *pq_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void *pq_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) abort();
    return p;
}

void *pq_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

char *pq_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pq_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void pq_buf_reserve(pq_buf *b, size_t more)
{
    if (b->cap - b->len >= more) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) cap *= 2;
    b->p = pq_xrealloc(b->p, cap);
    b->cap = cap;
}

void pq_buf_put(pq_buf *b, const void *data, size_t n)
{
    if (!n) return;
    pq_buf_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void pq_buf_byte(pq_buf *b, uint8_t v) { pq_buf_put(b, &v, 1); }

void pq_buf_u32le(pq_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    pq_buf_put(b, x, 4);
}

void pq_buf_varint(pq_buf *b, uint64_t v)
{
    uint8_t x[10];
    size_t n = 0;
    while (v >= 0x80) {
        x[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    x[n++] = (uint8_t)v;
    pq_buf_put(b, x, n);
}

void pq_buf_free(pq_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- writing -------------------------------------------------------------------------------- */

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void tc_w_init(tc_writer *w, pq_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

void tc_w_field(tc_writer *w, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - w->last[w->depth]);
    if (delta > 0 && delta <= 15) {
        pq_buf_byte(w->out, (uint8_t)(delta << 4 | type));
    } else {
        pq_buf_byte(w->out, (uint8_t)type);
        pq_buf_varint(w->out, zigzag(id));
    }
    w->last[w->depth] = id;
}

void tc_w_i32(tc_writer *w, int16_t id, int32_t v)
{
    tc_w_field(w, id, TC_I32);
    pq_buf_varint(w->out, zigzag(v));
}

void tc_w_i64(tc_writer *w, int16_t id, int64_t v)
{
    tc_w_field(w, id, TC_I64);
    pq_buf_varint(w->out, zigzag(v));
}

void tc_w_bool(tc_writer *w, int16_t id, bool v) { tc_w_field(w, id, v ? TC_TRUE : TC_FALSE); }

void tc_w_raw_binary(tc_writer *w, const void *p, size_t n)
{
    pq_buf_varint(w->out, n);
    pq_buf_put(w->out, p, n);
}

void tc_w_binary(tc_writer *w, int16_t id, const void *p, size_t n)
{
    tc_w_field(w, id, TC_BINARY);
    tc_w_raw_binary(w, p, n);
}

void tc_w_string(tc_writer *w, int16_t id, const char *s) { tc_w_binary(w, id, s, strlen(s)); }

void tc_w_struct_begin(tc_writer *w, int16_t id)
{
    if (id > 0) tc_w_field(w, id, TC_STRUCT);
    if (w->depth + 1 >= TC_DEPTH_MAX) abort();  /* our own structures never nest this deep */
    w->depth++;
    w->last[w->depth] = 0;
}

void tc_w_struct_end(tc_writer *w)
{
    pq_buf_byte(w->out, TC_STOP);
    w->depth--;
}

void tc_w_list_begin(tc_writer *w, int16_t id, int elem_type, size_t n)
{
    tc_w_field(w, id, TC_LIST);
    if (n < 15) {
        pq_buf_byte(w->out, (uint8_t)(n << 4 | (size_t)elem_type));
    } else {
        pq_buf_byte(w->out, (uint8_t)(0xf0 | elem_type));
        pq_buf_varint(w->out, n);
    }
}

void tc_w_raw_i32(tc_writer *w, int32_t v) { pq_buf_varint(w->out, zigzag(v)); }

/* ---- reading -------------------------------------------------------------------------------- */

void tc_r_init(tc_reader *r, const uint8_t *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = p + n;
    r->depth = -1;
}

static uint64_t r_varint(tc_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

bool tc_r_struct_begin(tc_reader *r)
{
    if (r->bad || r->depth + 1 >= TC_DEPTH_MAX) {
        r->bad = true;
        return false;
    }
    r->depth++;
    r->last[r->depth] = 0;
    return true;
}

void tc_r_struct_end(tc_reader *r)
{
    if (r->depth >= 0) r->depth--;
}

bool tc_r_field(tc_reader *r, int *type, int16_t *id)
{
    if (r->bad || r->depth < 0) return false;
    if (r->p >= r->end) {
        r->bad = true;
        return false;
    }
    uint8_t b = *r->p++;
    if (b == TC_STOP) return false;
    *type = b & 0x0f;
    int delta = b >> 4;
    if (delta) {
        *id = (int16_t)(r->last[r->depth] + delta);
    } else {
        *id = (int16_t)unzigzag(r_varint(r));
    }
    r->last[r->depth] = *id;
    if (*type > TC_STRUCT) r->bad = true;
    return !r->bad;
}

int64_t tc_r_int(tc_reader *r, int type)
{
    if (type == TC_BYTE) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        return (int8_t)*r->p++;
    }
    if (type == TC_I16 || type == TC_I32 || type == TC_I64) return unzigzag(r_varint(r));
    tc_r_skip(r, type);
    r->bad = true;
    return 0;
}

bool tc_r_bool(tc_reader *r, int type)
{
    if (type == TC_TRUE) return true;
    if (type == TC_FALSE) return false;
    tc_r_skip(r, type);
    r->bad = true;
    return false;
}

const uint8_t *tc_r_binary(tc_reader *r, size_t *n)
{
    uint64_t len = r_varint(r);
    if (r->bad || len > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    *n = (size_t)len;
    return p;
}

bool tc_r_list(tc_reader *r, int *elem_type, size_t *n)
{
    if (r->bad || r->p >= r->end) {
        r->bad = true;
        return false;
    }
    uint8_t b = *r->p++;
    *elem_type = b & 0x0f;
    uint64_t size = b >> 4;
    if (size == 15) size = r_varint(r);
    /* Every element takes at least one byte (booleans in lists take one each). */
    if (r->bad || size > (uint64_t)(r->end - r->p) || *elem_type > TC_STRUCT) {
        r->bad = true;
        return false;
    }
    *n = (size_t)size;
    return true;
}

void tc_r_skip(tc_reader *r, int type)
{
    if (r->bad) return;
    switch (type) {
    case TC_TRUE:
    case TC_FALSE:
        return;
    case TC_BYTE:
        if (r->p >= r->end) r->bad = true;
        else r->p++;
        return;
    case TC_I16:
    case TC_I32:
    case TC_I64:
        (void)r_varint(r);
        return;
    case TC_DOUBLE:
        if (r->end - r->p < 8) r->bad = true;
        else r->p += 8;
        return;
    case TC_BINARY: {
        size_t n;
        (void)tc_r_binary(r, &n);
        return;
    }
    case TC_LIST:
    case TC_SET: {
        int et;
        size_t n;
        if (!tc_r_list(r, &et, &n)) return;
        if (et == TC_TRUE || et == TC_FALSE) et = TC_BYTE;  /* one byte each in a list */
        for (size_t i = 0; i < n && !r->bad; i++) tc_r_skip(r, et);
        return;
    }
    case TC_MAP: {
        uint64_t n = r_varint(r);
        if (r->bad || n == 0) return;
        if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return;
        }
        uint8_t kv = *r->p++;
        int kt = kv >> 4, vt = kv & 0x0f;
        if (kt == TC_TRUE || kt == TC_FALSE) kt = TC_BYTE;
        if (vt == TC_TRUE || vt == TC_FALSE) vt = TC_BYTE;
        for (uint64_t i = 0; i < n && !r->bad; i++) {
            tc_r_skip(r, kt);
            tc_r_skip(r, vt);
        }
        return;
    }
    case TC_STRUCT: {
        if (!tc_r_struct_begin(r)) return;
        int t;
        int16_t id;
        while (tc_r_field(r, &t, &id)) tc_r_skip(r, t);
        tc_r_struct_end(r);
        return;
    }
    default:
        r->bad = true;
    }
}
