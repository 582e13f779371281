/* The processor list and the chain that runs a delivery stream's processors in order. Adding
 * a processor is adding one file with its class and one line here. */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

static const dlv_processor_class *const processors[] = {
    &dlv_proc_cdc,
    &dlv_proc_jq,
    &dlv_proc_lambda,
    &dlv_proc_metadata,
};

const dlv_processor_class *dlv_processor_find(const char *type)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(processors); i++)
        if (type && !strcmp(processors[i]->type, type)) return processors[i];
    return NULL;
}

struct dlv_chain {
    size_t n;
    const dlv_processor_class **cls;
    void **self;
};

dlv_chain *dlv_chain_new(const json_t *list, const dlv_proc_env *env, sp_err *e)
{
    dlv_chain *c = calloc(1, sizeof *c);
    size_t n = json_array_size(list);
    c->cls = calloc(n + 1, sizeof *c->cls);
    c->self = calloc(n + 1, sizeof *c->self);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(list, i);
        const char *type = json_string_value(json_object_get(p, "type"));
        const dlv_processor_class *cls = dlv_processor_find(type);
        if (!cls) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "processor %zu: unknown type '%s' (dynamodb-cdc, jq, lambda, metadata)", i,
                       type ? type : "(none)");
            dlv_chain_destroy(c);
            return NULL;
        }
        void *self = cls->create(p, env, e);
        if (!self) {
            sp_err_wrap(e, type);
            dlv_chain_destroy(c);
            return NULL;
        }
        c->cls[c->n] = cls;
        c->self[c->n++] = self;
    }
    return c;
}

void dlv_chain_run(dlv_chain *c, dlv_rec *recs, size_t n)
{
    for (size_t i = 0; i < c->n; i++) c->cls[i]->process(c->self[i], recs, n);
}

void dlv_chain_destroy(dlv_chain *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) c->cls[i]->destroy(c->self[i]);
    free(c->cls);
    free(c->self);
    free(c);
}
