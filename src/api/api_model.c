/* The generic request validator over the generated service models (api_model.h): stage 1
 * walks the request for JSON type mismatches and answers the first with the service's
 * SerializationException; stage 2 walks it again for every model constraint (required,
 * length, value range, pattern, enum) and answers all violations, up to
 * API_MODEL_MAX_VIOLATIONS, in one ValidationException. The texts are the ones the AWS
 * front ends send (Java type names and all), as the dynalite and kinesalite suites, written
 * against the real services, record them; the dialect picks DynamoDB's or Kinesis' wording.
 */
#include "api_model.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- dialects ----------------------------------------------------------------------------- */

typedef struct dialect_info {
    const char *serialization_type;
    const char *validation_type;
    /* DynamoDB's Java package of its model classes, named in some type messages. */
    const char *java_package;
    const char *access_denied_type;   /* NULL: the service's own namespace */
} dialect_info;

static const dialect_info DIALECTS[] = {
    [API_MODEL_DIALECT_DYNAMODB] = {"com.amazon.coral.service#SerializationException",
                                    "com.amazon.coral.validate#ValidationException",
                                    "com.amazonaws.dynamodb.v20120810",
                                    "com.amazon.coral.service#AccessDeniedException"},
    [API_MODEL_DIALECT_KINESIS] = {"SerializationException", "ValidationException", "", NULL},
};

/* DynamoDB's control-plane operations check TableName before the model constraints, with
 * their own texts (and leave its length out of the constraint list). */
static const char *const DDB_TABLE_NAME_FIRST_OPS[] = {
    "CreateTable", "DeleteTable", "DescribeTable", "UpdateTable", "DescribeTimeToLive",
};
enum { DDB_TABLE_NAME_MIN = 3, DDB_TABLE_NAME_MAX = 255 };

/* Members the model requires that a newer API revision lets another member stand in for:
 * Kinesis accepts StreamARN instead of StreamName (the Debian model predates it). */
static const struct { api_model_dialect d; const char *member, *alternative; } ALTERNATIVES[] = {
    {API_MODEL_DIALECT_KINESIS, "StreamName", "StreamARN"},
};

/* DynamoDB's tagging operations check their ARN before the model's required members (an
 * absent ARN is "Invalid TableArn", a malformed one access denied, then a missing Tags or
 * TagKeys), so the operation checks these itself (src/table/ops_meta.c). */
static const struct { const char *op, *member; } DDB_SELF_CHECKED[] = {
    {"TagResource", "ResourceArn"}, {"TagResource", "Tags"},
    {"UntagResource", "ResourceArn"}, {"UntagResource", "TagKeys"},
    {"ListTagsOfResource", "ResourceArn"},
};

/* ---- regexes, compiled once per model ---------------------------------------------------- */

enum { MODEL_CACHE_MAX = 8 };

typedef struct model_regexes {
    const api_model *model;
    regex_t *re;     /* n_shapes entries */
    bool *ok;        /* compiled? */
} model_regexes;

static pthread_mutex_t regex_lock = PTHREAD_MUTEX_INITIALIZER;
static model_regexes regex_cache[MODEL_CACHE_MAX];

static const model_regexes *regexes_for(const api_model *m)
{
    pthread_mutex_lock(&regex_lock);
    model_regexes *found = NULL;
    for (size_t i = 0; i < MODEL_CACHE_MAX && !found; i++) {
        if (regex_cache[i].model == m) found = &regex_cache[i];
        else if (!regex_cache[i].model) {
            model_regexes *r = &regex_cache[i];
            r->re = calloc(m->n_shapes ? m->n_shapes : 1, sizeof *r->re);
            r->ok = calloc(m->n_shapes ? m->n_shapes : 1, sizeof *r->ok);
            if (!r->re || !r->ok) { /* out of memory: patterns go unchecked this time */
                free(r->re);
                free(r->ok);
                r->re = NULL;
                r->ok = NULL;
                break;
            }
            for (size_t s = 0; s < m->n_shapes; s++)
                if (m->shapes[s].posix)
                    r->ok[s] = !regcomp(&r->re[s], m->shapes[s].posix, REG_EXTENDED | REG_NOSUB);
            r->model = m;
            found = r;
        }
    }
    pthread_mutex_unlock(&regex_lock);
    return found;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

const api_model_op *api_model_op_find(const api_model *m, const char *name)
{
    size_t lo = 0, hi = m->n_ops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, m->ops[mid].name);
        if (!c) return &m->ops[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

typedef enum { AT_FIELD, AT_ELEMENT, AT_MAP_VALUE } position;

typedef struct walk {
    const api_model *m;
    const dialect_info *d;
    const model_regexes *rx;
    const json_t *request;
    const char *op_name;
    sp_str msg;          /* stage 1: the message; stage 2: the joined violations */
    int violations;
    const char *skip_length_of; /* a top-level member whose length was checked already */
} walk;

static bool ddb_self_checked(const walk *w, const char *member)
{
    for (size_t a = 0; a < SP_ARRAY_LEN(DDB_SELF_CHECKED); a++)
        if (w->m->dialect == API_MODEL_DIALECT_DYNAMODB && w->op_name &&
            !strcmp(DDB_SELF_CHECKED[a].op, w->op_name) &&
            !strcmp(DDB_SELF_CHECKED[a].member, member))
            return true;
    return false;
}

static const api_model_shape *shape_at(const walk *w, uint16_t i)
{
    assert(i < w->m->n_shapes);
    return &w->m->shapes[i];
}

static bool integral(const json_t *v)
{
    if (json_is_integer(v)) return true;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

static const char *java_scalar(api_model_type t)
{
    switch (t) {
    case API_MT_STRING: return "String";
    case API_MT_INTEGER: return "Integer";
    case API_MT_LONG: return "Long";
    case API_MT_DOUBLE: return "Double";
    case API_MT_BOOLEAN: return "Boolean";
    default: return "Object";
    }
}

/* The Java type DynamoDB names for a collection's values ("java.util.Map<java.lang.String,
 * com.amazonaws.dynamodb.v20120810.AttributeValue>"). */
static void java_type_name(const walk *w, const api_model_shape *s, sp_str *out, int depth)
{
    if (depth > 8) {
        sp_str_puts(out, "java.lang.Object");
        return;
    }
    switch (s->type) {
    case API_MT_STRUCT: sp_str_appendf(out, "%s.%s", w->d->java_package, s->name); break;
    case API_MT_LIST:
        sp_str_puts(out, "java.util.List<");
        java_type_name(w, shape_at(w, s->element), out, depth + 1);
        sp_str_puts(out, ">");
        break;
    case API_MT_MAP:
        sp_str_puts(out, "java.util.Map<java.lang.String, ");
        java_type_name(w, shape_at(w, s->element), out, depth + 1);
        sp_str_puts(out, ">");
        break;
    case API_MT_BLOB: sp_str_puts(out, "java.nio.ByteBuffer"); break;
    case API_MT_TIMESTAMP: sp_str_puts(out, "java.util.Date"); break;
    default: sp_str_appendf(out, "java.lang.%s", java_scalar(s->type)); break;
    }
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

typedef enum { B64_OK, B64_LENGTH, B64_CHAR, B64_LAST } b64_problem;

/* Checks base64 the way the services' decoders do; *bad is the offending character and
 * *decoded the byte length when it is fine. */
static b64_problem b64_check(const char *s, size_t n, char *bad, size_t *decoded)
{
    if (n % 4) return B64_LENGTH;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            /* '=' only as the last one or two characters */
            if (i + 2 < n || (i + 1 == n - 1 && s[n - 1] != '=')) {
                *bad = '=';
                return B64_CHAR;
            }
            pad++;
            continue;
        }
        if (pad || b64_value(c) < 0) {
            *bad = (char)c;
            return B64_CHAR;
        }
    }
    if (pad > 2 || (n && pad == n % 4 + 4)) {
        *bad = '=';
        return B64_CHAR;
    }
    if (pad) {
        /* the last data character must not carry bits past the decoded bytes */
        int last = b64_value((unsigned char)s[n - pad - 1]);
        if (last < 0 || (pad == 2 && (last & 0x0f)) || (pad == 1 && (last & 0x03)))
            return B64_LAST;
        if (n == pad) return B64_LAST;
    }
    *decoded = n / 4 * 3 - pad;
    return B64_OK;
}

/* ---- stage 1: JSON types ------------------------------------------------------------------- */

static bool type_fail(walk *w, const char *fmt, ...) SP_PRINTF(2, 3);
static bool type_fail(walk *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_str_appendv(&w->msg, fmt, ap);
    va_end(ap);
    return false;
}

static const char *ddb_number_kind(const json_t *v)
{
    return integral(v) ? "NUMBER_VALUE" : "DECIMAL_VALUE";
}

static bool ddb_bool_string_ok(const char *s)
{
    static const char *const OK[] = {"true", "false", "1", "0", "yes", "no"};
    for (size_t i = 0; i < SP_ARRAY_LEN(OK); i++)
        if (!strcasecmp(s, OK[i])) return true;
    return false;
}

static const char PARAMETERIZED_CAST[] =
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to "
    "class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "
    "java.lang.Class are in module java.base of loader 'bootstrap')";

static bool types_ok(walk *w, const api_model_shape *s, const json_t *v, position at, int depth);

static bool children_types_ok(walk *w, const api_model_shape *s, const json_t *v, int depth)
{
    if (s->type == API_MT_STRUCT) {
        for (size_t i = 0; i < s->n_members; i++) {
            const json_t *c = json_object_get(v, s->members[i].name);
            if (c && !types_ok(w, shape_at(w, s->members[i].shape), c, AT_FIELD, depth + 1))
                return false;
        }
    } else if (s->type == API_MT_LIST) {
        size_t i;
        const json_t *c;
        json_array_foreach(v, i, c)
            if (!types_ok(w, shape_at(w, s->element), c, AT_ELEMENT, depth + 1)) return false;
    } else if (s->type == API_MT_MAP) {
        const char *k;
        const json_t *c;
        json_object_foreach((json_t *)v, k, c)
            if (!types_ok(w, shape_at(w, s->element), c, AT_MAP_VALUE, depth + 1)) return false;
    }
    return true;
}

static bool ddb_types_ok(walk *w, const api_model_shape *s, const json_t *v, position at)
{
    const char *j = java_scalar(s->type);
    switch (s->type) {
    case API_MT_STRING:
        if (json_is_boolean(v))
            return type_fail(w, "%s cannot be converted to String",
                             json_is_true(v) ? "TRUE_VALUE" : "FALSE_VALUE");
        if (json_is_number(v))
            return type_fail(w, "%s cannot be converted to String", ddb_number_kind(v));
        break;
    case API_MT_INTEGER: case API_MT_LONG: case API_MT_DOUBLE: case API_MT_TIMESTAMP:
        if (s->type == API_MT_TIMESTAMP) j = "Date";
        if (json_is_boolean(v))
            return type_fail(w, "%s cannot be converted to %s",
                             json_is_true(v) ? "TRUE_VALUE" : "FALSE_VALUE", j);
        if (json_is_string(v) && s->type != API_MT_TIMESTAMP)
            return type_fail(w, "STRING_VALUE cannot be converted to %s", j);
        break;
    case API_MT_BOOLEAN:
        if (json_is_number(v))
            return type_fail(w, "%s cannot be converted to Boolean", ddb_number_kind(v));
        if (json_is_string(v) && !ddb_bool_string_ok(json_string_value(v)))
            return type_fail(w, "Unexpected token received from parser");
        break;
    case API_MT_BLOB:
        if (json_is_boolean(v) || json_is_number(v))
            return type_fail(w, "only base-64-encoded strings are convertible to bytes");
        if (json_is_array(v))
            return type_fail(w, "Unrecognized collection type class java.nio.ByteBuffer");
        if (json_is_string(v)) {
            char bad = 0;
            size_t n = json_string_length(v), decoded = 0;
            switch (b64_check(json_string_value(v), n, &bad, &decoded)) {
            case B64_OK: break;
            case B64_LENGTH:
                return type_fail(w, "Base64 encoded length is expected a multiple of 4 bytes "
                                    "but found: %zu", n);
            case B64_CHAR: case B64_LAST:
                return type_fail(w, "Invalid last non-pad Base64 character dectected");
            }
        }
        break;
    case API_MT_LIST:
        if (!json_is_array(v) && !json_is_object(v))
            return type_fail(w, "%s", at == AT_MAP_VALUE ? PARAMETERIZED_CAST
                                                          : "Unexpected field type");
        if (json_is_object(v))
            return type_fail(w, "Start of structure or map found where not expected");
        return true;
    case API_MT_MAP:
        if (!json_is_array(v) && !json_is_object(v))
            return type_fail(w, "%s", at == AT_ELEMENT ? PARAMETERIZED_CAST
                                                        : "Unexpected field type");
        if (json_is_array(v)) {
            sp_str_puts(&w->msg, "Unrecognized collection type java.util.Map<java.lang.String, ");
            java_type_name(w, shape_at(w, s->element), &w->msg, 0);
            sp_str_puts(&w->msg, ">");
            return false;
        }
        return true;
    case API_MT_STRUCT:
        if (!json_is_array(v) && !json_is_object(v))
            return type_fail(w, "%s", at == AT_FIELD ? "Unexpected field type"
                                                      : "Unexpected value type in payload");
        if (json_is_array(v))
            return type_fail(w, "Unrecognized collection type class %s.%s",
                             w->d->java_package, s->name);
        return true;
    }
    /* scalars: collections where a scalar belongs */
    if (json_is_array(v))
        return type_fail(w, "Unrecognized collection type class java.lang.%s", j);
    if (json_is_object(v))
        return type_fail(w, "Start of structure or map found where not expected");
    return true;
}

static bool kinesis_types_ok(walk *w, const api_model_shape *s, const json_t *v)
{
    static const char BIG[] = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";
    const char *j = java_scalar(s->type);
    switch (s->type) {
    case API_MT_STRING:
        if (json_is_boolean(v))
            return type_fail(w, "class java.lang.Boolean can not be converted to an String");
        if (json_is_number(v)) return type_fail(w, "%s can not be converted to an String", BIG);
        break;
    case API_MT_INTEGER: case API_MT_LONG: case API_MT_DOUBLE:
        if (json_is_boolean(v))
            return type_fail(w, "class java.lang.Boolean can not be converted to an %s", j);
        if (json_is_string(v))
            return type_fail(w, "class java.lang.String can not be converted to an %s", j);
        break;
    case API_MT_TIMESTAMP:
        if (json_is_boolean(v) || json_is_string(v))
            return type_fail(w, "class java.lang.%s can not be converted to milliseconds since "
                                "epoch", json_is_string(v) ? "String" : "Boolean");
        break;
    case API_MT_BOOLEAN:
        if (json_is_integer(v)) return type_fail(w, "%s can not be converted to an Boolean", BIG);
        if (json_is_string(v)) {
            sp_str_puts(&w->msg, "'");
            for (const char *p = json_string_value(v); *p; p++)
                sp_str_appendf(&w->msg, "%c", (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
            sp_str_puts(&w->msg, "' can not be converted to an Boolean");
            return false;
        }
        break;
    case API_MT_BLOB:
        if (json_is_boolean(v))
            return type_fail(w, "class java.lang.Boolean can not be converted to a Blob");
        if (json_is_number(v)) return type_fail(w, "%s can not be converted to a Blob", BIG);
        if (json_is_string(v)) {
            char bad = 0;
            size_t n = json_string_length(v), decoded = 0;
            const char *str = json_string_value(v);
            switch (b64_check(str, n, &bad, &decoded)) {
            case B64_OK: break;
            case B64_LENGTH:
                return type_fail(w, "'%s' can not be converted to a Blob: Base64 encoded length "
                                    "is expected a multiple of 4 bytes but found: %zu", str, n);
            case B64_CHAR:
                return type_fail(w, "'%s' can not be converted to a Blob: Invalid Base64 "
                                    "character: '%c'", str, bad);
            case B64_LAST:
                return type_fail(w, "'%s' can not be converted to a Blob: Invalid last non-pad "
                                    "Base64 character dectected", str);
            }
        }
        break;
    case API_MT_LIST:
        if (json_is_object(v))
            return type_fail(w, "Start of structure or map found where not expected.");
        if (!json_is_array(v)) return type_fail(w, "Expected list or null");
        return true;
    case API_MT_MAP:
        if (json_is_array(v)) return type_fail(w, "Start of list found where not expected");
        if (!json_is_object(v)) return type_fail(w, "Expected map or null");
        return true;
    case API_MT_STRUCT:
        if (json_is_array(v)) return type_fail(w, "Start of list found where not expected");
        if (!json_is_object(v)) return type_fail(w, "Expected null");
        return true;
    }
    if (json_is_array(v)) return type_fail(w, "Start of list found where not expected");
    if (json_is_object(v))
        return type_fail(w, "Start of structure or map found where not expected.");
    return true;
}

static bool types_ok(walk *w, const api_model_shape *s, const json_t *v, position at, int depth)
{
    if (json_is_null(v)) return true;
    bool ok = w->m->dialect == API_MODEL_DIALECT_KINESIS ? kinesis_types_ok(w, s, v)
                                                         : ddb_types_ok(w, s, v, at);
    return ok && children_types_ok(w, s, v, depth);
}

/* ---- stage 2: constraints ------------------------------------------------------------------ */

/* Java's String.length(): UTF-16 code units of the (valid UTF-8) string. */
static size_t utf16_length(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) == 0x80) continue;
        units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

/* Java's String.hashCode() over the string's UTF-16 code units (s is valid UTF-8). */
static uint32_t java_string_hash(const char *s, size_t n)
{
    uint32_t h = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (i + len > n) len = n - i;
        cp = len == 1 ? c : c & (0xff >> (len + 1));
        for (size_t k = 1; k < len; k++) cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

/* hashCode() of a value as the Kinesis front end's generated Java classes compute it: a
 * structure is Arrays.hashCode({hash of its class name, each member's hash in model order}),
 * a blob a ByteBuffer's hash of its bytes, absent members 0. Used for the "Class@hash" text
 * Java's toString() gives a structure inside a list. */
static uint32_t java_hash(const walk *w, const api_model_shape *s, const json_t *v, int depth)
{
    if (!v || json_is_null(v) || depth > 16) return 0;
    switch (s->type) {
    case API_MT_STRING:
        return json_is_string(v) ? java_string_hash(json_string_value(v), json_string_length(v))
                                 : 0;
    case API_MT_BLOB: {
        if (!json_is_string(v)) return 0;
        size_t n = json_string_length(v);
        unsigned char *buf = malloc(sp_base64_decoded_max(n) + 1);
        long got = buf ? sp_base64_decode(json_string_value(v), n, buf) : -1;
        uint32_t h = 1;
        for (long i = got - 1; i >= 0; i--) h = 31 * h + (uint32_t)(int32_t)(signed char)buf[i];
        free(buf);
        return h;
    }
    case API_MT_INTEGER:
        return (uint32_t)(int32_t)json_integer_value(v);
    case API_MT_LONG: {
        uint64_t x = (uint64_t)json_integer_value(v);
        return (uint32_t)(x ^ (x >> 32));
    }
    case API_MT_BOOLEAN:
        return json_is_true(v) ? 1231 : 1237;
    case API_MT_LIST: {
        uint32_t h = 1;
        size_t i;
        const json_t *c;
        json_array_foreach(v, i, c) h = 31 * h + java_hash(w, shape_at(w, s->element), c, depth + 1);
        return h;
    }
    case API_MT_STRUCT: {
        char cls[160];
        snprintf(cls, sizeof cls, "com.amazonaws.%s.v20131202.%s", w->m->service, s->name);
        uint32_t h = 31 * 1 + (31 + java_string_hash(cls, strlen(cls)));
        for (size_t i = 0; i < s->n_members; i++)
            h = 31 * h + java_hash(w, shape_at(w, s->members[i].shape),
                                   json_object_get(v, s->members[i].name), depth + 1);
        return h;
    }
    default:
        return 0;
    }
}

/* A value as the services print it in "Value '...'" (the caller adds the quotes). */
static void value_text(const walk *w, const api_model_shape *s, const json_t *v, sp_str *out)
{
    bool kinesis = w->m->dialect == API_MODEL_DIALECT_KINESIS;
    if (kinesis && json_is_object(v) && s->type == API_MT_STRUCT) {
        /* Java's Object.toString() of the generated class */
        sp_str_appendf(out, "com.amazonaws.%s.v20131202.%s@%x", w->m->service, s->name,
                       java_hash(w, s, v, 0));
        return;
    }
    if (kinesis && json_is_object(v) && s->type == API_MT_MAP) {
        /* Java's Map.toString(): {k=v, k=v} */
        const char *k;
        const json_t *c;
        bool first = true;
        sp_str_puts(out, "{");
        json_object_foreach((json_t *)v, k, c) {
            sp_str_appendf(out, "%s%s=", first ? "" : ", ", k);
            value_text(w, shape_at(w, s->element), c, out);
            first = false;
        }
        sp_str_puts(out, "}");
        return;
    }
    if (json_is_string(v)) {
        if (s->type == API_MT_BLOB && w->m->dialect == API_MODEL_DIALECT_KINESIS) {
            char bad;
            size_t n = 0;
            b64_check(json_string_value(v), json_string_length(v), &bad, &n);
            sp_str_appendf(out, "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", n, n);
        } else {
            sp_str_append(out, json_string_value(v), json_string_length(v));
        }
    } else if (json_is_integer(v)) {
        sp_str_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (s->type == API_MT_INTEGER || s->type == API_MT_LONG) sp_str_appendf(out, "%.0f", floor(d));
        else sp_str_appendf(out, "%.17g", d);
    } else if (json_is_boolean(v)) {
        sp_str_puts(out, json_is_true(v) ? "true" : "false");
    } else if (json_is_array(v)) {
        sp_str_puts(out, "[");
        size_t i;
        const json_t *c;
        json_array_foreach(v, i, c) {
            if (i) sp_str_puts(out, ", ");
            value_text(w, s->type == API_MT_LIST ? shape_at(w, s->element) : s, c, out);
        }
        sp_str_puts(out, "]");
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t) sp_str_puts(out, t);
        free(t);
    }
}

static void violation(walk *w, const api_model_shape *s, const json_t *v, const char *path,
                      const char *fmt, ...) SP_PRINTF(5, 6);
static void violation(walk *w, const api_model_shape *s, const json_t *v, const char *path,
                      const char *fmt, ...)
{
    if (w->violations >= API_MODEL_MAX_VIOLATIONS) return;
    if (w->violations++) sp_str_puts(&w->msg, "; ");
    sp_str_puts(&w->msg, "Value ");
    if (v && !json_is_null(v)) {
        sp_str_puts(&w->msg, "'");
        value_text(w, s, v, &w->msg);
        sp_str_puts(&w->msg, "'");
    } else {
        sp_str_puts(&w->msg, "null");
    }
    sp_str_appendf(&w->msg, " at '%s' failed to satisfy constraint: ", path);
    va_list ap;
    va_start(ap, fmt);
    sp_str_appendv(&w->msg, fmt, ap);
    va_end(ap);
}

typedef enum { C_MIN, C_MAX, C_PATTERN, C_ENUM } constraint;

/* The constraint's text ("Member must have length less than or equal to 255"). */
static void constraint_text(const api_model_shape *s, constraint c, sp_str *out)
{
    bool value = s->type == API_MT_INTEGER || s->type == API_MT_LONG ||
                 s->type == API_MT_DOUBLE;
    switch (c) {
    case C_MIN:
        sp_str_appendf(out, "Member must have %s greater than or equal to %lld",
                    value ? "value" : "length", s->min);
        break;
    case C_MAX:
        sp_str_appendf(out, "Member must have %s less than or equal to %lld",
                    value ? "value" : "length", s->max);
        break;
    case C_PATTERN:
        sp_str_appendf(out, "Member must satisfy regular expression pattern: %s", s->pattern);
        break;
    case C_ENUM:
        sp_str_puts(out, "Member must satisfy enum value set: [");
        for (size_t i = 0; i < s->n_enums; i++)
            sp_str_appendf(out, "%s%s", i ? ", " : "", s->enums[i]);
        sp_str_puts(out, "]");
        break;
    }
}

/* Which of the shape's own constraints v breaks: a bit per constraint. */
static unsigned broken(const walk *w, const api_model_shape *s, const json_t *v, bool length)
{
    unsigned out = 0;
    long long n = 0;
    bool measured = true;
    switch (s->type) {
    case API_MT_STRING:
        n = (long long)utf16_length(json_string_value(v), json_string_length(v));
        break;
    case API_MT_BLOB: {
        char bad;
        size_t d = 0;
        b64_check(json_string_value(v), json_string_length(v), &bad, &d);
        n = (long long)d;
        break;
    }
    case API_MT_LIST: n = (long long)json_array_size(v); break;
    case API_MT_MAP: n = (long long)json_object_size(v); break;
    case API_MT_INTEGER: case API_MT_LONG: case API_MT_DOUBLE: {
        double d = json_number_value(v);
        if (s->type != API_MT_DOUBLE) d = floor(d);
        if (s->has_min && d < (double)s->min) out |= 1u << C_MIN;
        if (s->has_max && d > (double)s->max) out |= 1u << C_MAX;
        measured = false;
        break;
    }
    default: measured = false; break;
    }
    if (measured && length) {
        if (s->has_min && n < s->min) out |= 1u << C_MIN;
        if (s->has_max && n > s->max) out |= 1u << C_MAX;
    }
    if (json_is_string(v) && s->type == API_MT_STRING) {
        const char *str = json_string_value(v);
        if (s->posix && w->rx && w->rx->ok[s - w->m->shapes] &&
            (strlen(str) != json_string_length(v) ||
             regexec(&w->rx->re[s - w->m->shapes], str, 0, NULL, 0)))
            out |= 1u << C_PATTERN;
        if (s->n_enums) {
            bool found = false;
            for (size_t i = 0; i < s->n_enums && !found; i++) found = !strcmp(str, s->enums[i]);
            if (!found) out |= 1u << C_ENUM;
        }
    }
    return out;
}

static bool has_constraints(const api_model_shape *s)
{
    return s->has_min || s->has_max || s->posix || s->n_enums;
}

/* "[Member must have length less than or equal to 256, Member must have length greater than
 * or equal to 1]": every constraint of an element, key or value shape, in the order the
 * services list them. */
static void constraint_list(const api_model_shape *s, sp_str *out)
{
    static const constraint ORDER[] = {C_MAX, C_MIN, C_PATTERN, C_ENUM};
    bool first = true;
    sp_str_puts(out, "[");
    for (size_t i = 0; i < SP_ARRAY_LEN(ORDER); i++) {
        bool present = ORDER[i] == C_MAX ? s->has_max : ORDER[i] == C_MIN ? s->has_min
                     : ORDER[i] == C_PATTERN ? s->posix != NULL : s->n_enums > 0;
        if (!present) continue;
        if (!first) sp_str_puts(out, ", ");
        constraint_text(s, ORDER[i], out);
        first = false;
    }
    sp_str_puts(out, "]");
}

static void check_value(walk *w, const api_model_shape *s, const json_t *v, const char *path,
                        bool own_length, int depth);

static void path_join(char *out, size_t size, const char *parent, const char *child,
                      bool lower_first)
{
    int n = snprintf(out, size, "%s%s", parent, *parent ? "." : "");
    if (n < 0 || (size_t)n >= size) return;
    snprintf(out + n, size - (size_t)n, "%s", child);
    if (lower_first && out[n] >= 'A' && out[n] <= 'Z') out[n] = (char)(out[n] - 'A' + 'a');
}

enum { PATH_MAX_CHARS = 512 };

/* An aggregated element/key/value constraint ("Member must satisfy constraint: [...]") at the
 * collection's path, once when any entry breaks it. */
static void collection_violation(walk *w, const api_model_shape *coll, const json_t *v,
                                 const api_model_shape *entry, const char *what,
                                 const char *path)
{
    sp_str list;
    char buf[512];
    sp_str_init(&list, buf, sizeof buf, 1 << 16);
    constraint_list(entry, &list);
    violation(w, coll, v, path, "%s must satisfy constraint: %s", what, list.buf);
    sp_str_release(&list);
}

static void check_children(walk *w, const api_model_shape *s, const json_t *v, const char *path,
                           int depth)
{
    char child[PATH_MAX_CHARS];
    if (s->type == API_MT_STRUCT) {
        for (size_t i = 0; i < s->n_members; i++) {
            const api_model_member *mem = &s->members[i];
            const json_t *c = json_object_get(v, mem->name);
            path_join(child, sizeof child, path, mem->name, true);
            bool own_length = !(depth == 0 && w->skip_length_of &&
                                !strcmp(w->skip_length_of, mem->name));
            if (!c || json_is_null(c)) {
                bool excused = false;
                for (size_t a = 0; a < SP_ARRAY_LEN(ALTERNATIVES); a++)
                    if (ALTERNATIVES[a].d == w->m->dialect && depth == 0 &&
                        !strcmp(ALTERNATIVES[a].member, mem->name) &&
                        json_object_get(w->request, ALTERNATIVES[a].alternative))
                        excused = true;
                if (depth == 0 && ddb_self_checked(w, mem->name)) excused = true;
                if (mem->required && !excused)
                    violation(w, shape_at(w, mem->shape), NULL, child,
                              "Member must not be null");
                continue;
            }
            if (depth == 0 && ddb_self_checked(w, mem->name) &&
                !strcmp(mem->name, "ResourceArn"))
                continue;   /* even its length: an empty ARN is access denied */
            check_value(w, shape_at(w, mem->shape), c, child, own_length, depth + 1);
        }
    } else if (s->type == API_MT_LIST) {
        const api_model_shape *e = shape_at(w, s->element);
        size_t i;
        const json_t *c;
        bool any = false;
        if (has_constraints(e))
            json_array_foreach(v, i, c)
                if (!json_is_null(c) && broken(w, e, c, true)) any = true;
        if (any) collection_violation(w, s, v, e, "Member", path);
        json_array_foreach(v, i, c) {
            if (json_is_null(c)) continue;
            char idx[32];
            snprintf(idx, sizeof idx, "%zu.member", i + 1);
            path_join(child, sizeof child, path, idx, false);
            check_children(w, e, c, child, depth + 1);
        }
    } else if (s->type == API_MT_MAP) {
        const api_model_shape *ks = shape_at(w, s->key), *vs = shape_at(w, s->element);
        const char *k;
        const json_t *c;
        bool bad_key = false, bad_value = false;
        json_object_foreach((json_t *)v, k, c) {
            if (has_constraints(ks)) {
                json_t *kj = json_string(k);
                if (kj && broken(w, ks, kj, true)) bad_key = true;
                json_decref(kj);
            }
            if (has_constraints(vs) && !json_is_null(c) && broken(w, vs, c, true))
                bad_value = true;
        }
        if (bad_key) collection_violation(w, s, v, ks, "Map keys", path);
        if (bad_value) collection_violation(w, s, v, vs, "Map value", path);
        json_object_foreach((json_t *)v, k, c) {
            if (json_is_null(c)) continue;
            char key_path[PATH_MAX_CHARS];
            snprintf(key_path, sizeof key_path, "%s.member", k);
            path_join(child, sizeof child, path, key_path, false);
            check_children(w, vs, c, child, depth + 1);
        }
    }
}

static void check_value(walk *w, const api_model_shape *s, const json_t *v, const char *path,
                        bool own_length, int depth)
{
    unsigned bad = broken(w, s, v, own_length);
    static const constraint ORDER[] = {C_PATTERN, C_MIN, C_MAX, C_ENUM};
    for (size_t i = 0; i < SP_ARRAY_LEN(ORDER); i++)
        if (bad & (1u << ORDER[i])) {
            sp_str t;
            char buf[256];
            sp_str_init(&t, buf, sizeof buf, 1 << 16);
            constraint_text(s, ORDER[i], &t);
            violation(w, s, v, path, "%s", t.buf);
            sp_str_release(&t);
        }
    check_children(w, s, v, path, depth);
}

/* ---- the entry point ----------------------------------------------------------------------- */

static char *error_body(const char *type, const char *key, const char *msg, size_t *out_len)
{
    json_t *j = json_pack("{s:s, s:s}", "__type", type, key, msg);
    char *body = sp_json_dump(j, out_len);
    json_decref(j);
    return body;
}

static bool ddb_table_name_first(const api_model *m, const char *op)
{
    if (m->dialect != API_MODEL_DIALECT_DYNAMODB) return false;
    for (size_t i = 0; i < SP_ARRAY_LEN(DDB_TABLE_NAME_FIRST_OPS); i++)
        if (!strcmp(op, DDB_TABLE_NAME_FIRST_OPS[i])) return true;
    return false;
}

char *api_model_check(const api_model *m, const char *op_name, const json_t *request,
                      size_t *out_len)
{
    const api_model_op *op = api_model_op_find(m, op_name);
    if (!op || !json_is_object(request)) return NULL;
    walk w = {.m = m, .d = &DIALECTS[m->dialect], .request = request, .op_name = op_name};
    char buf[1024];
    sp_str_init(&w.msg, buf, sizeof buf, 1 << 20);
    const api_model_shape *input = shape_at(&w, op->input);
    char *body = NULL;

    if (!children_types_ok(&w, input, request, 0)) {
        body = error_body(w.d->serialization_type, "Message", w.msg.buf, out_len);
        goto done;
    }
    if (ddb_table_name_first(m, op_name)) {
        const json_t *t = json_object_get(request, "TableName");
        if (!t || json_is_null(t)) {
            body = error_body(w.d->validation_type, "message",
                              "The parameter 'TableName' is required but was not present in "
                              "the request", out_len);
            goto done;
        }
        size_t n = utf16_length(json_string_value(t), json_string_length(t));
        if (n < DDB_TABLE_NAME_MIN || n > DDB_TABLE_NAME_MAX) {
            body = error_body(w.d->validation_type, "message",
                              "TableName must be at least 3 characters long and at most 255 "
                              "characters long", out_len);
            goto done;
        }
        w.skip_length_of = "TableName";
    }
    w.rx = regexes_for(m);
    check_children(&w, input, request, "", 0);
    if (w.violations) {
        sp_str full;
        char fbuf[1024];
        sp_str_init(&full, fbuf, sizeof fbuf, 1 << 20);
        sp_str_appendf(&full, "%d validation error%s detected: %s", w.violations,
                    w.violations == 1 ? "" : "s", w.msg.buf);
        body = error_body(w.d->validation_type, "message", full.buf, out_len);
        sp_str_release(&full);
    }
done:
    sp_str_release(&w.msg);
    return body;
}

bool api_model_error_type(const api_model *m, const char *code, const char **type,
                          const char **message_key)
{
    const dialect_info *d = &DIALECTS[m->dialect];
    if (!strcmp(code, "SerializationException")) {
        *type = d->serialization_type;
        *message_key = "Message";
        return true;
    }
    if (!strcmp(code, "ValidationException")) {
        *type = d->validation_type;
        *message_key = "message";
        return true;
    }
    if (d->access_denied_type && !strcmp(code, "AccessDeniedException")) {
        *type = d->access_denied_type;
        *message_key = "Message";
        return true;
    }
    return false;
}
