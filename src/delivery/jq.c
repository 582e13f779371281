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

bool dlv_jq_run(dlv_jq *q, const char *in, size_t len, json_t **outputs, sp_err *e)
{
    *outputs = NULL;
    jv input = jv_parse_sized(in, (int)len);
    if (!jv_is_valid(input)) {
        jv msg = jv_invalid_get_msg(input);
        sp_err_invalid(e, "record is not JSON: %s",
                       jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "parse error");
        jv_free(msg);
        return false;
    }
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
