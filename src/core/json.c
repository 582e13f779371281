/* JSON helpers over jansson: typed member access that turns a wrong or missing member into
 * the ValidationException an AWS API would answer with, and body parsing that reports
 * SerializationException with the position jansson found. */
#include "core.h"

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
