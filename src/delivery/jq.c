/* libjq as the delivery stage uses it (the jq processor and dynamic partitioning's
 * MetadataExtraction, the language Firehose uses for partitioning queries): compile once, run
 * per record, collect every output as compact JSON text. */
#include "dlv_int.h"

#include <jq.h>
#include <stdlib.h>
#include <string.h>

struct dlv_jq {
    jq_state *jq;
    char msg[SP_ERR_MSG_MAX];
};

static void on_error(void *arg, jv err)
{
    dlv_jq *q = arg;
    jv s = jv_get_kind(err) == JV_KIND_STRING ? jv_copy(err) : jv_dump_string(jv_copy(err), 0);
    if (!q->msg[0]) snprintf(q->msg, sizeof q->msg, "%s", jv_string_value(s));
    jv_free(s);
    jv_free(err);
}

dlv_jq *dlv_jq_new(const char *program, sp_err *e)
{
    dlv_jq *q = calloc(1, sizeof *q);
    q->jq = jq_init();
    if (!q->jq) {
        free(q);
        sp_err_internal(e, "jq: cannot initialise");
        return NULL;
    }
    jq_set_error_cb(q->jq, on_error, q);
    if (!jq_compile(q->jq, program)) {
        sp_err_set(e, 400, "InvalidArgumentException", "jq program '%.200s' does not compile: %s",
                   program, q->msg[0] ? q->msg : "syntax error");
        dlv_jq_destroy(q);
        return NULL;
    }
    return q;
}

/* The jv of a jansson value. Numbers are doubles on both sides (the input is decoded with
 * JSON_DECODE_INT_AS_REAL), the only number jq 1.6 has. */
static jv jv_of_json(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        jv o = jv_object();
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, klen, x) o =
            jv_object_set(o, jv_string_sized(k, (int)klen), jv_of_json(x));
        return o;
    }
    case JSON_ARRAY: {
        jv a = jv_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) a = jv_array_append(a, jv_of_json(x));
        return a;
    }
    case JSON_STRING: return jv_string_sized(json_string_value(v), (int)json_string_length(v));
    case JSON_INTEGER: return jv_number((double)json_integer_value(v));
    case JSON_REAL: return jv_number(json_real_value(v));
    case JSON_TRUE: return jv_true();
    case JSON_FALSE: return jv_false();
    case JSON_NULL: break;
    }
    return jv_null();
}

bool dlv_jq_run(dlv_jq *q, const char *in, size_t len, json_t **outputs, sp_err *e)
{
    *outputs = NULL;
    /* The record is decoded by jansson, not by jq's own parser: libjq 1.6 leaks a string on
     * some malformed input ('{"a" "b"}'), and records come from outside. */
    json_error_t je;
    json_t *doc = json_loadb(in, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                             &je);
    if (!doc) {
        sp_err_invalid(e, "record is not JSON: %s", je.text);
        return false;
    }
    jv input = jv_of_json(doc);
    json_decref(doc);
    q->msg[0] = '\0';
    jq_start(q->jq, input, 0);
    json_t *outs = json_array();
    for (;;) {
        jv r = jq_next(q->jq);
        if (jv_is_valid(r)) {
            jv text = jv_dump_string(r, 0);
            json_array_append_new(outs, json_string(jv_string_value(text)));
            jv_free(text);
            continue;
        }
        if (jv_invalid_has_msg(jv_copy(r))) {
            jv msg = jv_invalid_get_msg(r);
            jv s = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
            sp_err_invalid(e, "jq: %s", jv_string_value(s));
            jv_free(s);
            json_decref(outs);
            return false;
        }
        jv_free(r);
        break;
    }
    *outputs = outs;
    return true;
}

void dlv_jq_destroy(dlv_jq *q)
{
    if (!q) return;
    jq_teardown(&q->jq);
    free(q);
}
