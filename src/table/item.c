/* Items: DynamoDB's size rules, primary key extraction and validation against the table's
 * key schema, and the order-preserving key encoding that makes lookups, sort-key order and
 * pagination index-backed (S by UTF-8 bytes, N by tbl_num_encode, B by decoded bytes; the
 * type of a key attribute is fixed per table, so byte order is value order).
 */
#include "expr.h"
#include "tbl_int.h"

#include <stdlib.h>
#include <string.h>

/* DynamoDB's per-element overhead inside lists and maps, and a document's own overhead. */
enum { TBL_DOC_OVERHEAD = 3, TBL_DOC_ELEMENT_OVERHEAD = 1, TBL_NUM_OVERHEAD = 1 };

static size_t num_size(const char *text)
{
    tbl_num n;
    if (!text || !tbl_num_parse(text, &n, NULL)) return strlen(text ? text : "");
    return (size_t)(n.ndigits + 1) / 2 + TBL_NUM_OVERHEAD;
}

static size_t b64_size(const char *text)
{
    size_t n = strlen(text);
    size_t pad = n >= 2 && text[n - 1] == '=' ? (text[n - 2] == '=' ? 2 : 1) : 0;
    return n / 4 * 3 - pad; /* values were validated as strict, padded base64 */
}

static size_t value_size(const json_t *av);

static size_t set_size(const json_t *arr, char t)
{
    size_t sz = 0, i;
    json_t *el;
    json_array_foreach(arr, i, el) {
        const char *s = json_string_value(el);
        if (!s) continue;
        sz += t == 'N' ? num_size(s) : t == 'B' ? b64_size(s) : strlen(s);
    }
    return sz;
}

static size_t value_size(const json_t *av)
{
    const char *t = tbl_av_type(av);
    if (!t) return 0;
    json_t *v = json_object_get(av, t);
    if (!strcmp(t, "S")) return json_string_length(v);
    if (!strcmp(t, "N")) return num_size(json_string_value(v));
    if (!strcmp(t, "B")) return b64_size(json_string_value(v));
    if (!strcmp(t, "BOOL") || !strcmp(t, "NULL")) return 1;
    if (!strcmp(t, "SS") || !strcmp(t, "NS") || !strcmp(t, "BS")) return set_size(v, t[0]);
    size_t sz = TBL_DOC_OVERHEAD;
    if (!strcmp(t, "L")) {
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) sz += value_size(el) + TBL_DOC_ELEMENT_OVERHEAD;
    } else {
        const char *k;
        json_t *el;
        json_object_foreach(v, k, el) sz += strlen(k) + value_size(el) + TBL_DOC_ELEMENT_OVERHEAD;
    }
    return sz;
}

size_t tbl_item_size(const json_t *item)
{
    size_t sz = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)item, k, v) sz += strlen(k) + value_size(v);
    return sz;
}

bool tbl_key_encode(char t, const json_t *v, unsigned char *out, size_t cap, size_t *len,
                    sp_err *e)
{
    const char *s = json_string_value(v);
    if (!s) {
        sp_err_invalid(e, "The provided key element does not match the schema");
        return false;
    }
    if (t == 'S') {
        size_t n = json_string_length(v);
        if (n > cap) goto too_long;
        memcpy(out, s, n);
        *len = n;
    } else if (t == 'N') {
        tbl_num num;
        if (!tbl_num_parse(s, &num, e)) return false;
        *len = tbl_num_encode(&num, out);
    } else {
        size_t n = strlen(s);
        if (sp_base64_decoded_max(n) > cap + 3) goto too_long;
        unsigned char tmp[TBL_HASH_KEY_MAX_BYTES + 64 + 3];
        long got = sp_base64_decode(s, n, tmp);
        if (got < 0) {
            sp_err_invalid(e, "One or more parameter values were invalid: "
                              "Invalid binary value for a key attribute");
            return false;
        }
        if ((size_t)got > cap) goto too_long;
        memcpy(out, tmp, (size_t)got);
        *len = (size_t)got;
    }
    return true;
too_long:
    sp_err_invalid(e, "One or more parameter values were invalid: Size of key attribute "
                      "exceeds the maximum allowed size");
    return false;
}

/* DynamoDB names the key part that is too long, with its limit (the missing space in
 * "limit of2048" is DynamoDB's own). */
static bool key_too_big(bool is_hash, sp_err *e)
{
    if (is_hash)
        sp_err_invalid(e, "One or more parameter values were invalid: Size of hashkey has "
                          "exceeded the maximum size limit of%d bytes", TBL_HASH_KEY_MAX_BYTES);
    else
        sp_err_invalid(e, "One or more parameter values were invalid: Aggregated size of all "
                          "range keys has exceeded the size limit of %d bytes",
                       TBL_RANGE_KEY_MAX_BYTES);
    return false;
}

/* Checks and encodes one key attribute of an item. */
static bool key_part(const json_t *item, const char *name, char type, bool is_key_arg,
                     size_t max, unsigned char *out, size_t *len, sp_err *e)
{
    bool is_hash = max == TBL_HASH_KEY_MAX_BYTES;
    json_t *av = json_object_get(item, name);
    if (!av) {
        if (is_key_arg) sp_err_invalid(e, "The provided key element does not match the schema");
        else sp_err_invalid(e, "One or more parameter values were invalid: Missing the key %s "
                               "in the item", name);
        return false;
    }
    const char *t = tbl_av_type(av);
    char want[2] = {type, '\0'};
    if (!t || strcmp(t, want)) {
        if (is_key_arg) sp_err_invalid(e, "The provided key element does not match the schema");
        else sp_err_invalid(e, "One or more parameter values were invalid: Type mismatch for "
                               "key %s expected: %s actual: %s", name, want, t ? t : "?");
        return false;
    }
    json_t *v = json_object_get(av, t);
    if ((type == 'S' || type == 'B') && json_string_length(v) == 0) {
        sp_err_invalid(e, "One or more parameter values are not valid. The AttributeValue for "
                          "a key attribute cannot contain an empty %s value. Key: %s",
                       type == 'S' ? "string" : "binary", name);
        return false;
    }
    if (!tbl_key_encode(type, v, out, max, len, e)) {
        if (strstr(e->msg, "Size of key attribute")) key_too_big(is_hash, e);
        return false;
    }
    if (*len > max) return key_too_big(is_hash, e);
    return true;
}

bool tbl_key_from_item(const tbl_meta *m, const json_t *item, bool key_only, tbl_key *k,
                       sp_err *e)
{
    if (!json_is_object(item)) {
        sp_err_invalid(e, "The provided key element does not match the schema");
        return false;
    }
    if (!key_part(item, m->hash_key, m->hash_type, key_only, TBL_HASH_KEY_MAX_BYTES, k->hk,
                  &k->hk_len, e))
        return false;
    k->rk_len = 0;
    if (m->range_key[0] &&
        !key_part(item, m->range_key, m->range_type, key_only, TBL_RANGE_KEY_MAX_BYTES, k->rk,
                  &k->rk_len, e))
        return false;
    if (key_only && json_object_size(item) != (m->range_key[0] ? 2u : 1u)) {
        sp_err_invalid(e, "The provided key element does not match the schema");
        return false;
    }
    return true;
}

json_t *tbl_item_keys(const tbl_meta *m, const json_t *item)
{
    json_t *keys = json_object();
    json_t *v = json_object_get(item, m->hash_key);
    if (v) json_object_set(keys, m->hash_key, v);
    if (m->range_key[0] && (v = json_object_get(item, m->range_key)))
        json_object_set(keys, m->range_key, v);
    return keys;
}

char *tbl_item_dump(const json_t *item, size_t *len)
{
    char *s = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS);
    if (s && len) *len = strlen(s);
    return s;
}

bool tbl_item_equal(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b)) return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) {
        json_t *w = json_object_get(b, k);
        if (!w || !tbl_av_equal(v, w)) return false;
    }
    return true;
}

json_t *tbl_item_prepare(const tbl_meta *m, const json_t *raw, tbl_key *k, sp_err *e)
{
    if (!json_is_object(raw)) {
        sp_err_invalid(e, "1 validation error detected: Value null at 'item' failed to satisfy "
                          "constraint: Member must not be null");
        return NULL;
    }
    json_t *item = tbl_av_item_normalize(raw, e);
    if (!item) return NULL;
    return tbl_item_prepare_normalized(m, item, k, e);
}

json_t *tbl_item_prepare_normalized(const tbl_meta *m, json_t *item, tbl_key *k, sp_err *e)
{
    if (!tbl_key_from_item(m, item, false, k, e)) goto fail;
    if (tbl_item_size(item) > TBL_ITEM_MAX_BYTES) {
        sp_err_invalid(e, "Item size has exceeded the maximum allowed size");
        goto fail;
    }
    return item;
fail:
    json_decref(item);
    return NULL;
}

bool tbl_key_prepare(const tbl_meta *m, const json_t *raw, tbl_key *k, sp_err *e)
{
    if (!json_is_object(raw)) {
        sp_err_invalid(e, "1 validation error detected: Value null at 'key' failed to satisfy "
                          "constraint: Member must not be null");
        return false;
    }
    json_t *key = tbl_av_item_normalize(raw, e);
    if (!key) return false;
    bool ok = tbl_key_from_item(m, key, true, k, e);
    json_decref(key);
    return ok;
}
