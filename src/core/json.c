/* JSON helpers over jansson: typed member access that turns a wrong or missing member into
 * the ValidationException an AWS API would answer with, and body parsing that reports
 * SerializationException with the position jansson found. */
#include "core.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* Looks up key; reports missing-but-required and returns NULL for absent or null. */
static json_t *member(const json_t *obj, const char *key, bool required, sp_err *e)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (v && json_is_null(v)) v = NULL;
    if (!v && required && e && !sp_err_failed(e))
        sp_err_invalid(e, "1 validation error detected: Value null at '%s' failed to satisfy "
                          "constraint: Member must not be null", key);
    return v;
}

static void wrong_type(const char *key, const char *want, const json_t *v, sp_err *e)
{
    if (e && !sp_err_failed(e))
        sp_err_set(e, 400, "SerializationException",
                   "Member '%s' must be %s, got %s", key, want, json_type_name(v));
}

const char *sp_json_str(const json_t *obj, const char *key, bool required, sp_err *e)
{
    json_t *v = member(obj, key, required, e);
    if (!v) return NULL;
    if (!json_is_string(v)) {
        wrong_type(key, "a string", v, e);
        return NULL;
    }
    return json_string_value(v);
}

long long sp_json_int(const json_t *obj, const char *key, bool required, long long fallback,
                      sp_err *e)
{
    json_t *v = member(obj, key, required, e);
    if (!v) return fallback;
    if (!json_is_integer(v)) {
        wrong_type(key, "an integer", v, e);
        return fallback;
    }
    return json_integer_value(v);
}

bool sp_json_bool(const json_t *obj, const char *key, bool fallback, sp_err *e)
{
    json_t *v = member(obj, key, false, e);
    if (!v) return fallback;
    if (!json_is_boolean(v)) {
        wrong_type(key, "a boolean", v, e);
        return fallback;
    }
    return json_is_true(v);
}

json_t *sp_json_object(const json_t *obj, const char *key, bool required, sp_err *e)
{
    json_t *v = member(obj, key, required, e);
    if (v && !json_is_object(v)) {
        wrong_type(key, "an object", v, e);
        return NULL;
    }
    return v;
}

json_t *sp_json_array(const json_t *obj, const char *key, bool required, sp_err *e)
{
    json_t *v = member(obj, key, required, e);
    if (v && !json_is_array(v)) {
        wrong_type(key, "an array", v, e);
        return NULL;
    }
    return v;
}

json_t *sp_json_parse(const char *body, size_t len, sp_err *e)
{
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v) {
        sp_err_set(e, 400, "SerializationException",
                   "Request body is not valid JSON: %s at line %d, column %d", je.text, je.line,
                   je.column);
        return NULL;
    }
    return v;
}

char *sp_json_dump(const json_t *v, size_t *len_out)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len_out) *len_out = strlen(s);
    return s;
}

const sp_op *sp_op_find(const sp_op *ops, const char *name, size_t name_len)
{
    for (; ops && ops->name; ops++)
        if (strlen(ops->name) == name_len && memcmp(ops->name, name, name_len) == 0) return ops;
    return NULL;
}

const sp_raw_op *sp_raw_op_find(const sp_raw_op *ops, const char *name, size_t name_len)
{
    for (; ops && ops->name; ops++)
        if (strlen(ops->name) == name_len && memcmp(ops->name, name, name_len) == 0) return ops;
    return NULL;
}

size_t sp_json_real_format(double d, char *buf)
{
    assert(isfinite(d));
    int n = 0;
    for (int precision = 1; precision <= 17; precision++) {
        n = snprintf(buf, SP_JSON_REAL_MAX, "%.*g", precision, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEn")) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

/* jansson's escaping, so that documents without reals come out byte for byte as
 * sp_json_dump writes them: the short escapes, \u00XX for other control characters, UTF-8
 * as it is. */
static void dump_string(sp_str *out, const char *s, size_t len)
{
    sp_str_putc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04X", c);
                esc = u;
            }
        }
        if (!esc) continue;
        sp_str_append(out, s + run, i - run);
        sp_str_puts(out, esc);
        run = i + 1;
    }
    sp_str_append(out, s + run, len - run);
    sp_str_putc(out, '"');
}

static void dump_shortest(sp_str *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        sp_str_putc(out, '{');
        const char *key;
        json_t *member;
        bool first = true;
        json_object_foreach((json_t *)v, key, member) {
            if (!first) sp_str_putc(out, ',');
            first = false;
            dump_string(out, key, strlen(key));
            sp_str_putc(out, ':');
            dump_shortest(out, member);
        }
        sp_str_putc(out, '}');
        break;
    }
    case JSON_ARRAY:
        sp_str_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) sp_str_putc(out, ',');
            dump_shortest(out, json_array_get(v, i));
        }
        sp_str_putc(out, ']');
        break;
    case JSON_STRING:
        dump_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        sp_str_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        char buf[SP_JSON_REAL_MAX];
        sp_str_append(out, buf, sp_json_real_format(json_real_value(v), buf));
        break;
    }
    case JSON_TRUE: sp_str_puts(out, "true"); break;
    case JSON_FALSE: sp_str_puts(out, "false"); break;
    case JSON_NULL: sp_str_puts(out, "null"); break;
    }
}

void sp_json_string_append(sp_str *out, const char *s, size_t len) { dump_string(out, s, len); }

char *sp_json_dump_shortest(const json_t *v, size_t *len_out)
{
    char initial[512];
    sp_str out;
    sp_str_init(&out, initial, sizeof initial, SP_STR_NO_MAX);
    dump_shortest(&out, v);
    return sp_str_finish(&out, len_out);
}
