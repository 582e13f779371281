/* jq: a jq program applied to each record's JSON ({type: jq, program: "..."}). No output drops
 * the record; each output becomes one compact JSON line of the record's new data; an error,
 * input that is not JSON, or a program past its per-record budget (jq.c) fails the record
 * into the error output. */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

static const char JQ_ERROR[] = "Jq.ProcessingFailed";

static void *jqp_create(const json_t *params, const dlv_proc_env *env, sp_err *e)
{
    (void)env;
    const char *program = sp_json_str(params, "program", true, e);
    if (!program) return NULL;
    return dlv_jq_new(program, e);
}

static void jqp_process(void *self, dlv_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dlv_rec *r = &recs[i];
        if (r->result != DLV_REC_OK) continue;
        sp_err e = {0};
        json_t *outs;
        if (!dlv_jq_run(self, r->data, r->len, &outs, &e)) {
            dlv_rec_fail(r, JQ_ERROR, "%s", e.msg);
            continue;
        }
        if (json_array_size(outs) == 0) {
            r->result = DLV_REC_DROPPED;
        } else {
            sp_str s;
            sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
            size_t k;
            json_t *o;
            json_array_foreach(outs, k, o) {
                sp_str_puts(&s, json_string_value(o));
                sp_str_putc(&s, '\n');
            }
            dlv_rec_set_data(r, s.buf, s.len);
            sp_str_release(&s);
        }
        json_decref(outs);
    }
}

static void jqp_destroy(void *self) { dlv_jq_destroy(self); }

const dlv_processor_class dlv_proc_jq = {
    .type = "jq",
    .description = "jq program per record: no output drops it, outputs replace it",
    .create = jqp_create,
    .process = jqp_process,
    .destroy = jqp_destroy,
};
