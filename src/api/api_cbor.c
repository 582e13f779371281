/* CBOR request and response bodies for the JSON 1.1 services (api_cbor.h). libcbor parses and
 * serialises; before it sees a body, a header walk (cbor_shape_ok) checks what libcbor would
 * otherwise trust: declared lengths and counts within the bytes present (no allocation sized
 * by an attacker), nesting depth (libcbor frees items recursively), one item with nothing
 * after it. */
#include "api_cbor.h"

#include <cbor.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the header walk --------------------------------------------------------------------- */

typedef struct level {
    uint64_t left;   /* items still expected; UINT64_MAX: indefinite, ends at a break */
} level;

/* Reads an item head at p (end e): major type, additional info, argument. 0 if truncated or
 * reserved. */
static size_t head(const unsigned char *p, const unsigned char *e, int *major, int *info,
                   uint64_t *arg)
{
    if (p >= e) return 0;
    *major = p[0] >> 5;
    *info = p[0] & 0x1F;
    if (*info < 24) return *arg = (uint64_t)*info, 1;
    if (*info == 31) return *arg = 0, 1;
    if (*info > 27) return 0;
    size_t n = (size_t)1 << (*info - 24);
    if ((size_t)(e - p) < 1 + n) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[1 + i];
    *arg = v;
    return 1 + n;
}

static bool cbor_shape_ok(const unsigned char *p, size_t len)
{
    const unsigned char *e = p + len;
    level stack[API_CBOR_DEPTH_MAX + 1];
    int depth = 0;
    stack[0].left = 1; /* the one top-level item */
    while (depth >= 0) {
        if (stack[depth].left == 0) {
            depth--;
            continue;
        }
        if (p >= e) return false;
        if (*p == 0xFF) { /* break: only inside an indefinite container or string */
            if (stack[depth].left != UINT64_MAX || depth == 0) return false;
            p++;
            depth--;
            continue;
        }
        int major, info;
        uint64_t arg;
        size_t h = head(p, e, &major, &info, &arg);
        if (!h) return false;
        p += h;
        if (stack[depth].left != UINT64_MAX) stack[depth].left--;
        uint64_t room = (uint64_t)(e - p);
        switch (major) {
        case 0: case 1:
            if (info == 31) return false;
            break;
        case 2: case 3:
            if (info == 31) { /* indefinite string: definite chunks of the same type, break */
                if (depth == API_CBOR_DEPTH_MAX) return false;
                for (;;) {
                    if (p >= e) return false;
                    if (*p == 0xFF) { p++; break; }
                    int cm, ci;
                    uint64_t ca;
                    size_t ch = head(p, e, &cm, &ci, &ca);
                    if (!ch || cm != major || ci == 31) return false;
                    p += ch;
                    if (ca > (uint64_t)(e - p)) return false;
                    p += ca;
                }
            } else {
                if (arg > room) return false;
                p += arg;
            }
            break;
        case 4: case 5: {
            if (depth == API_CBOR_DEPTH_MAX) return false;
            uint64_t items = UINT64_MAX;
            if (info != 31) {
                if (arg > room || (major == 5 && arg > room / 2)) return false;
                items = major == 5 ? arg * 2 : arg;
            }
            stack[++depth].left = items;
            break;
        }
        case 6:
            if (info == 31 || depth == API_CBOR_DEPTH_MAX) return false;
            stack[++depth].left = 1;
            break;
        default: /* 7: simple values and floats */
            if (info == 31) return false;
            break;
        }
    }
    return p == e;
}

/* ---- CBOR -> JSON ------------------------------------------------------------------------ */

/* A (possibly indefinite) string's bytes, malloc'd and NUL-terminated. */
static char *string_bytes(cbor_item_t *it, bool bytes, size_t *n)
{
    bool definite = bytes ? cbor_bytestring_is_definite(it) : cbor_string_is_definite(it);
    if (definite) {
        size_t len = bytes ? cbor_bytestring_length(it) : cbor_string_length(it);
        char *out = malloc(len + 1);
        if (!out) return NULL;
        if (len) memcpy(out, bytes ? cbor_bytestring_handle(it) : cbor_string_handle(it), len);
        out[len] = '\0';
        *n = len;
        return out;
    }
    size_t count = bytes ? cbor_bytestring_chunk_count(it) : cbor_string_chunk_count(it);
    cbor_item_t **chunks = bytes ? cbor_bytestring_chunks_handle(it)
                                 : cbor_string_chunks_handle(it);
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += bytes ? cbor_bytestring_length(chunks[i]) : cbor_string_length(chunks[i]);
    char *out = malloc(total + 1);
    if (!out) return NULL;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        size_t l = bytes ? cbor_bytestring_length(chunks[i]) : cbor_string_length(chunks[i]);
        if (l) memcpy(out + at, bytes ? cbor_bytestring_handle(chunks[i])
                                      : cbor_string_handle(chunks[i]), l);
        at += l;
    }
    out[total] = '\0';
    *n = total;
    return out;
}

static json_t *to_json(cbor_item_t *it, int depth, sp_err *e);

static json_t *number_json(cbor_item_t *it)
{
    uint64_t v = cbor_get_int(it);
    if (cbor_isa_uint(it)) return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
    /* negative: -1 - v */
    return v <= INT64_MAX ? json_integer(-1 - (json_int_t)v) : json_real(-1.0 - (double)v);
}

static json_t *to_json(cbor_item_t *it, int depth, sp_err *e)
{
    if (depth > API_CBOR_DEPTH_MAX) {
        sp_err_set(e, 400, "SerializationException", "CBOR nesting is too deep");
        return NULL;
    }
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return number_json(it);
    case CBOR_TYPE_BYTESTRING: {
        size_t n;
        char *b = string_bytes(it, true, &n);
        if (!b) break;
        char *text = malloc(sp_base64_encoded_len(n) + 1);
        if (!text) {
            free(b);
            break;
        }
        sp_base64_encode(b, n, text);
        free(b);
        json_t *j = json_string(text);
        free(text);
        return j;
    }
    case CBOR_TYPE_STRING: {
        size_t n;
        char *s = string_bytes(it, false, &n);
        if (!s) break;
        json_t *j = json_stringn(s, n); /* NULL when not UTF-8 */
        free(s);
        if (!j) sp_err_set(e, 400, "SerializationException", "CBOR text is not UTF-8");
        return j;
    }
    case CBOR_TYPE_ARRAY: {
        json_t *a = json_array();
        cbor_item_t **items = cbor_array_handle(it);
        for (size_t i = 0; i < cbor_array_size(it); i++) {
            json_t *c = to_json(items[i], depth + 1, e);
            if (!c) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, c);
        }
        return a;
    }
    case CBOR_TYPE_MAP: {
        json_t *o = json_object();
        struct cbor_pair *pairs = cbor_map_handle(it);
        for (size_t i = 0; i < cbor_map_size(it); i++) {
            if (!cbor_isa_string(pairs[i].key)) {
                json_decref(o);
                sp_err_set(e, 400, "SerializationException", "CBOR map keys must be text");
                return NULL;
            }
            size_t n;
            char *key = string_bytes(pairs[i].key, false, &n);
            json_t *c = key && strlen(key) == n ? to_json(pairs[i].value, depth + 1, e) : NULL;
            if (!c || json_object_set_new(o, key, c)) {
                free(key);
                json_decref(o);
                if (!sp_err_failed(e))
                    sp_err_set(e, 400, "SerializationException", "bad CBOR map key");
                return NULL;
            }
            free(key);
        }
        return o;
    }
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        json_t *j = NULL;
        if (cbor_tag_value(it) == 1 && (cbor_isa_uint(inner) || cbor_isa_negint(inner))) {
            json_t *ms = number_json(inner);
            double v = json_is_integer(ms) ? (double)json_integer_value(ms) : json_real_value(ms);
            json_decref(ms);
            j = json_real(v / 1000.0); /* the SDKs send epoch milliseconds */
        } else if (cbor_tag_value(it) == 1 && cbor_isa_float_ctrl(inner) &&
                   cbor_float_get_width(inner) != CBOR_FLOAT_0 &&
                   isfinite(cbor_float_get_float(inner))) {
            j = json_real(cbor_float_get_float(inner) / 1000.0);
        } else {
            j = to_json(inner, depth + 1, e);
        }
        cbor_decref(&inner);
        return j;
    }
    case CBOR_TYPE_FLOAT_CTRL:
        if (cbor_float_get_width(it) != CBOR_FLOAT_0) {
            double d = cbor_float_get_float(it);
            if (!isfinite(d)) {
                sp_err_set(e, 400, "SerializationException", "CBOR number is not finite");
                return NULL;
            }
            return json_real(d);
        }
        if (cbor_is_null(it)) return json_null();
        if (cbor_is_bool(it)) return json_boolean(cbor_get_bool(it));
        sp_err_set(e, 400, "SerializationException", "CBOR simple value %u is not allowed",
                   (unsigned)cbor_ctrl_value(it));
        return NULL;
    }
    if (!sp_err_failed(e)) sp_err_internal(e, "out of memory decoding CBOR");
    return NULL;
}

json_t *api_cbor_to_json(const void *body, size_t len, sp_err *e)
{
    if (!len || !cbor_shape_ok(body, len)) {
        sp_err_set(e, 400, "SerializationException", "Malformed CBOR request body");
        return NULL;
    }
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(body, len, &res);
    if (!it || res.error.code != CBOR_ERR_NONE || res.read != len) {
        if (it) cbor_decref(&it);
        sp_err_set(e, 400, "SerializationException", "Malformed CBOR request body");
        return NULL;
    }
    json_t *j = NULL;
    if (!cbor_isa_map(it))
        sp_err_set(e, 400, "SerializationException", "Start of structure or map found where "
                   "not expected");
    else
        j = to_json(it, 0, e);
    cbor_decref(&it);
    return j;
}

/* ---- JSON -> CBOR ------------------------------------------------------------------------ */

static bool is_blob_member(const char *key)
{
    return key && !strcmp(key, "Data");
}

static bool is_timestamp_member(const char *key)
{
    static const char *const names[] = {"ApproximateArrivalTimestamp",
                                        "StreamCreationTimestamp",
                                        "ConsumerCreationTimestamp"};
    for (size_t i = 0; key && i < sizeof names / sizeof *names; i++)
        if (!strcmp(key, names[i])) return true;
    return false;
}

static cbor_item_t *from_json(const json_t *v, const char *key)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        cbor_item_t *m = cbor_new_definite_map(json_object_size(v));
        if (!m) return NULL;
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            cbor_item_t *ck = cbor_build_string(k), *cv = from_json(c, k);
            bool ok = ck && cv && cbor_map_add(m, (struct cbor_pair){ck, cv});
            if (ck) cbor_decref(&ck);
            if (cv) cbor_decref(&cv);
            if (!ok) {
                cbor_decref(&m);
                return NULL;
            }
        }
        return m;
    }
    case JSON_ARRAY: {
        cbor_item_t *a = cbor_new_definite_array(json_array_size(v));
        if (!a) return NULL;
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            cbor_item_t *ci = from_json(c, key);
            bool ok = ci && cbor_array_push(a, ci);
            if (ci) cbor_decref(&ci);
            if (!ok) {
                cbor_decref(&a);
                return NULL;
            }
        }
        return a;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (is_blob_member(key)) {
            unsigned char *raw = malloc(sp_base64_decoded_max(n) + 1);
            long m = raw ? sp_base64_decode(s, n, raw) : -1;
            cbor_item_t *b = m >= 0 ? cbor_build_bytestring(raw, (size_t)m) : NULL;
            free(raw);
            if (b) return b;
        }
        cbor_item_t *t = cbor_new_definite_string();
        unsigned char *copy = malloc(n ? n : 1);
        if (!t || !copy) {
            free(copy);
            if (t) cbor_decref(&t);
            return NULL;
        }
        memcpy(copy, s, n);
        cbor_string_set_handle(t, copy, n);
        return t;
    }
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (is_timestamp_member(key)) i *= 1000;
        cbor_item_t *n = i >= 0 ? cbor_build_uint64((uint64_t)i)
                                : cbor_build_negint64((uint64_t)(-1 - i));
        return n && is_timestamp_member(key) ? cbor_build_tag(1, cbor_move(n)) : n;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (is_timestamp_member(key)) {
            double ms = floor(d * 1000.0 + 0.5);
            cbor_item_t *n = ms >= 0 ? cbor_build_uint64((uint64_t)ms)
                                     : cbor_build_negint64((uint64_t)(-1.0 - ms));
            return n ? cbor_build_tag(1, cbor_move(n)) : NULL;
        }
        return cbor_build_float8(d);
    }
    case JSON_TRUE:
        return cbor_build_bool(true);
    case JSON_FALSE:
        return cbor_build_bool(false);
    default:
        return cbor_new_null();
    }
}

unsigned char *api_cbor_from_json(const json_t *v, size_t *out_len)
{
    cbor_item_t *it = from_json(v, NULL);
    if (!it) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(it, &buf, &cap);
    cbor_decref(&it);
    if (!n) {
        free(buf);
        return NULL;
    }
    *out_len = n;
    return buf;
}
