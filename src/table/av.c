/* DynamoDB attribute values: validation, normalisation, ordering and equality.
 *
 * Every value that enters the table (items, ExpressionAttributeValues) passes through
 * tbl_av_normalize once, so everything downstream may assume well-formed values with
 * numbers in canonical text; comparison then needs no error path.
 */
#include "table/expr.h"

#include <stdlib.h>
#include <string.h>

enum { AV_MAX_DEPTH = 32 };   /* DynamoDB's nesting limit for M/L */

static const char *const av_types[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};

const char *tbl_av_type(const json_t *av)
{
    if (!json_is_object(av) || json_object_size(av) != 1) return NULL;
    const char *key = json_object_iter_key(json_object_iter((json_t *)av));
    for (size_t i = 0; i < SP_ARRAY_LEN(av_types); i++)
        if (strcmp(key, av_types[i]) == 0) return av_types[i];
    return NULL;
}

static bool av_invalid(sp_err *e, const char *what)
{
    sp_err_invalid(e, "One or more parameter values were invalid: %s", what);
    return false;
}

static bool av_serialization(sp_err *e, const char *json_type, const char *want)
{
    sp_err_set(e, 400, "SerializationException", "%s cannot be converted to %s", json_type,
               want);
    return false;
}

static const char *av_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return "STRING_VALUE";
    case JSON_INTEGER: return "NUMBER_VALUE";
    case JSON_REAL: return "DECIMAL_VALUE";
    case JSON_TRUE: return "TRUE_VALUE";
    case JSON_FALSE: return "FALSE_VALUE";
    case JSON_ARRAY: return "Start of list";
    case JSON_OBJECT: return "Start of structure or map";
    default: return "null";
    }
}

static bool av_base64_ok(const char *s)
{
    size_t n = strlen(s);
    unsigned char *buf = malloc(sp_base64_decoded_max(n) + 1);
    if (!buf) return false;
    long len = sp_base64_decode(s, n, buf);
    free(buf);
    return len >= 0;
}

static json_t *av_norm(const json_t *av, int depth, sp_err *e);

/* Normalises a set's members; type is "SS", "NS" or "BS". */
static json_t *av_norm_set(const char *type, const json_t *arr, sp_err *e)
{
    if (!json_is_array(arr)) {
        av_serialization(e, av_json_type_name(arr), "List");
        return NULL;
    }
    if (json_array_size(arr) == 0) {
        av_invalid(e, type[0] == 'S' ? "An string set  may not be empty"
                      : type[0] == 'N' ? "An number set  may not be empty"
                                       : "Binary sets should not be empty");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        if (!json_is_string(m)) {
            av_serialization(e, av_json_type_name(m), "String");
            goto fail;
        }
        const char *s = json_string_value(m);
        if (type[0] == 'N') {
            char num[TBL_NUM_STR_MAX];
            if (!tbl_num_normalize(s, num, e)) goto fail;
            json_array_append_new(out, json_string(num));
        } else {
            if (type[0] == 'B' && !av_base64_ok(s)) {
                av_invalid(e, "Invalid Binary value in a binary set: not base64");
                goto fail;
            }
            json_array_append_new(out, type[0] == 'S' ? json_stringn(s, json_string_length(m))
                                                      : json_string(s));
        }
        /* Duplicates by value: "1" and "1.0" are the same number. */
        for (size_t j = 0; j < i; j++) {
            if (json_equal(json_array_get(out, j), json_array_get(out, i))) {
                if (type[0] == 'N')
                    sp_err_invalid(e, "Input collection contains duplicates");
                else
                    sp_err_invalid(e, "One or more parameter values were invalid: Input "
                                      "collection contains duplicates: %.64s", s);
                goto fail;
            }
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *av_norm_inner(const char *type, const json_t *v, int depth, sp_err *e)
{
    if (!strcmp(type, "S") || !strcmp(type, "B")) {
        if (!json_is_string(v)) {
            av_serialization(e, av_json_type_name(v), type[0] == 'S' ? "String" : "Blob");
            return NULL;
        }
        if (type[0] == 'B' && !av_base64_ok(json_string_value(v))) {
            av_invalid(e, "Invalid Binary value: not base64");
            return NULL;
        }
        /* A string may hold U+0000, which DynamoDB keeps (a binary's base64 text cannot). */
        return type[0] == 'S' ? json_stringn(json_string_value(v), json_string_length(v))
                              : json_string(json_string_value(v));
    }
    if (!strcmp(type, "N")) {
        char num[TBL_NUM_STR_MAX];
        if (!json_is_string(v)) {
            av_serialization(e, av_json_type_name(v), "String");
            return NULL;
        }
        if (!tbl_num_normalize(json_string_value(v), num, e)) return NULL;
        return json_string(num);
    }
    if (!strcmp(type, "BOOL")) {
        if (!json_is_boolean(v)) {
            av_serialization(e, av_json_type_name(v), "Boolean");
            return NULL;
        }
        return json_boolean(json_is_true(v));
    }
    if (!strcmp(type, "NULL")) {
        if (!json_is_true(v)) {
            av_invalid(e, "Null attribute value types must have the value of true");
            return NULL;
        }
        return json_true();
    }
    if (!strcmp(type, "M")) {
        if (!json_is_object(v)) {
            av_serialization(e, av_json_type_name(v), "Map");
            return NULL;
        }
        json_t *out = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) {
            json_t *n = av_norm(m, depth + 1, e);
            if (!n) { json_decref(out); return NULL; }
            json_object_set_new(out, k, n);
        }
        return out;
    }
    if (!strcmp(type, "L")) {
        if (!json_is_array(v)) {
            av_serialization(e, av_json_type_name(v), "List");
            return NULL;
        }
        json_t *out = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            json_t *n = av_norm(m, depth + 1, e);
            if (!n) { json_decref(out); return NULL; }
            json_array_append_new(out, n);
        }
        return out;
    }
    return av_norm_set(type, v, e);
}

static json_t *av_norm(const json_t *av, int depth, sp_err *e)
{
    if (depth > AV_MAX_DEPTH) {
        sp_err_invalid(e, "Nesting Levels have exceeded supported limits: Nesting levels "
                          "exceed the allowed limit of %d", AV_MAX_DEPTH);
        return NULL;
    }
    if (!json_is_object(av)) {
        av_serialization(e, av_json_type_name(av), "AttributeValue");
        return NULL;
    }
    if (json_object_size(av) == 0) {
        av_invalid(e, "Supplied AttributeValue is empty, must contain exactly one of the "
                      "supported datatypes");
        return NULL;
    }
    if (json_object_size(av) > 1) {
        sp_err_invalid(e, "Supplied AttributeValue has more than one datatypes set, must "
                          "contain exactly one of the supported datatypes");
        return NULL;
    }
    const char *type = tbl_av_type(av);
    if (!type) {
        av_invalid(e, "Supplied AttributeValue is empty, must contain exactly one of the "
                      "supported datatypes");
        return NULL;
    }
    json_t *inner = av_norm_inner(type, json_object_get(av, type), depth, e);
    if (!inner) return NULL;
    json_t *out = json_object();
    json_object_set_new(out, type, inner);
    return out;
}

json_t *tbl_av_normalize(const json_t *av, sp_err *e)
{
    return av_norm(av, 0, e);
}

json_t *tbl_av_item_normalize(const json_t *item, sp_err *e)
{
    if (!json_is_object(item)) {
        av_serialization(e, av_json_type_name(item), "Map");
        return NULL;
    }
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)item, k, v) {
        if (!*k) {
            av_invalid(e, "An attribute name cannot be empty");
            json_decref(out);
            return NULL;
        }
        json_t *n = av_norm(v, 0, e);
        if (!n) { json_decref(out); return NULL; }
        json_object_set_new(out, k, n);
    }
    return out;
}

/* ---- ordering and equality ----------------------------------------------------------- */

static int av_cmp_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c) return c < 0 ? -1 : 1;
    return (na > nb) - (na < nb);
}

static int av_cmp_number_text(const char *a, const char *b)
{
    tbl_num x, y;
    sp_err e = {0};
    /* Values are normalised on entry; an invalid one orders as zero rather than crash. */
    if (!tbl_num_parse(a, &x, &e)) memset(&x, 0, sizeof x);
    if (!tbl_num_parse(b, &y, &e)) memset(&y, 0, sizeof y);
    return tbl_num_cmp(&x, &y);
}

static int av_cmp_binary_text(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char *x = malloc(sp_base64_decoded_max(na) + 1);
    unsigned char *y = malloc(sp_base64_decoded_max(nb) + 1);
    int c = 0;
    if (x && y) {
        long lx = sp_base64_decode(a, na, x), ly = sp_base64_decode(b, nb, y);
        if (lx < 0 || ly < 0) c = strcmp(a, b);
        else c = av_cmp_bytes(x, (size_t)lx, y, (size_t)ly);
    }
    free(x);
    free(y);
    return c;
}

static int av_cmp_scalar(const char type, const json_t *a, const json_t *b)
{
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (!x || !y) return (x != NULL) - (y != NULL);
    if (type == 'N') return av_cmp_number_text(x, y);
    if (type == 'B') return av_cmp_binary_text(x, y);
    /* By length, not strlen: a string may hold U+0000 ("abd\u0000" sorts after "abd"). */
    return av_cmp_bytes((const unsigned char *)x, json_string_length(a),
                        (const unsigned char *)y, json_string_length(b));
}

int tbl_av_cmp(const json_t *a, const json_t *b)
{
    const char *ta = tbl_av_type(a), *tb = tbl_av_type(b);
    if (!ta || !tb || strcmp(ta, tb) != 0) {
        int c = strcmp(ta ? ta : "", tb ? tb : "");
        return (c > 0) - (c < 0);
    }
    if (strcmp(ta, "S") && strcmp(ta, "N") && strcmp(ta, "B")) return 0;
    return av_cmp_scalar(ta[0], json_object_get(a, ta), json_object_get(b, tb));
}

/* Is every member of set a also in set b (by value)? */
static bool av_set_subset(char type, const json_t *a, const json_t *b)
{
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(a, i, x) {
        bool found = false;
        json_array_foreach(b, j, y) {
            if (av_cmp_scalar(type, x, y) == 0) { found = true; break; }
        }
        if (!found) return false;
    }
    return true;
}

bool tbl_av_equal(const json_t *a, const json_t *b)
{
    const char *ta = tbl_av_type(a), *tb = tbl_av_type(b);
    if (!ta || !tb || strcmp(ta, tb) != 0) return false;
    const json_t *x = json_object_get(a, ta), *y = json_object_get(b, tb);
    if (ta[1] == 'S') /* SS, NS, BS: members unique, so an equal-size subset is equal */
        return json_array_size(x) == json_array_size(y) && av_set_subset(ta[0], x, y);
    if (!strcmp(ta, "BOOL")) return json_equal((json_t *)x, (json_t *)y);
    if (!strcmp(ta, "NULL")) return true;
    if (!strcmp(ta, "M")) {
        if (json_object_size(x) != json_object_size(y)) return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)x, k, v) {
            json_t *w = json_object_get(y, k);
            if (!w || !tbl_av_equal(v, w)) return false;
        }
        return true;
    }
    if (!strcmp(ta, "L")) {
        if (json_array_size(x) != json_array_size(y)) return false;
        for (size_t i = 0; i < json_array_size(x); i++)
            if (!tbl_av_equal(json_array_get(x, i), json_array_get(y, i))) return false;
        return true;
    }
    return av_cmp_scalar(ta[0], x, y) == 0;
}
