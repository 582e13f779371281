/* metadata: Firehose's MetadataExtraction processor for dynamic partitioning. The partition
 * keys of a record come from jq over its (processed) JSON: either one program producing an
 * object ({type: metadata, query: "{product: .product_name}"}, the API's
 * MetadataExtractionQuery) or one program per key ({type: metadata, queries: {name: jq}}, the
 * configuration's dynamic_partitioning). The record's data is unchanged; a record whose keys
 * cannot be extracted goes to the error output as partitioning-failed. */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

static const char META_ERROR[] = "DynamicPartitioning.MetadataExtractionFailed";
static const char META_ERROR_TYPE[] = "partitioning-failed";

static void *meta_create(const json_t *params, const dlv_proc_env *env, sp_err *e)
{
    (void)env;
    const char *query = json_string_value(json_object_get(params, "query"));
    json_t *queries = json_object_get(params, "queries");
    if (query) return dlv_jq_new(query, e);
    if (!json_is_object(queries) || json_object_size(queries) == 0) {
        sp_err_invalid(e, "metadata processor needs 'query' or a non-empty 'queries' object");
        return NULL;
    }
    /* {name: q, ...} becomes the one program {"name": (q), ...}. */
    sp_str prog;
    sp_str_init(&prog, NULL, 0, SP_STR_NO_MAX);
    sp_str_putc(&prog, '{');
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(queries, k, v) {
        if (!json_is_string(v)) {
            sp_str_release(&prog);
            sp_err_invalid(e, "dynamic partitioning query '%s' must be a string", k);
            return NULL;
        }
        json_t *name = json_string(k);
        char *quoted = json_dumps(name, JSON_ENCODE_ANY);
        json_decref(name);
        sp_str_appendf(&prog, "%s%s: (%s)", first ? "" : ", ", quoted, json_string_value(v));
        free(quoted);
        first = false;
    }
    sp_str_putc(&prog, '}');
    dlv_jq *q = dlv_jq_new(prog.buf, e);
    sp_str_release(&prog);
    return q;
}

static void meta_process(void *self, dlv_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dlv_rec *r = &recs[i];
        if (r->result != DLV_REC_OK) continue;
        sp_err e = {0};
        json_t *outs;
        if (!dlv_jq_run(self, r->data, r->len, &outs, &e)) {
            dlv_rec_fail(r, META_ERROR, "%s", e.msg);
            r->error_type = META_ERROR_TYPE;
            continue;
        }
        const char *text = json_string_value(json_array_get(outs, 0));
        json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
        json_decref(outs);
        if (!json_is_object(obj)) {
            json_decref(obj);
            dlv_rec_fail(r, META_ERROR, "metadata query did not produce an object");
            r->error_type = META_ERROR_TYPE;
            continue;
        }
        /* merged: a Lambda earlier in the chain may have set its keys already */
        if (r->partition) {
            json_object_update(r->partition, obj);
            json_decref(obj);
        } else {
            r->partition = obj;
        }
    }
}

static void meta_destroy(void *self) { dlv_jq_destroy(self); }

const dlv_processor_class dlv_proc_metadata = {
    .type = "metadata",
    .description = "dynamic partitioning keys from jq (MetadataExtraction)",
    .create = meta_create,
    .process = meta_process,
    .destroy = meta_destroy,
};
