/* Shared by the JSON-API fuzz targets that take "<Operation>\n<body>" (Glue, Athena): runs the
 * named operation of ops on ctx with the body and aborts (via fail) unless the answer is either
 * a JSON object with no error set, or no answer with an AWS-shaped error (4xx/5xx, code and
 * message). Inputs naming no operation, or whose body is not a JSON object, are ignored. */
#ifndef FUZZ_OP_INPUT_H
#define FUZZ_OP_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static inline void fuzz_op_call(const sp_op *ops, void *ctx, const uint8_t *data, size_t size,
                                void (*fail)(const char *what, const char *detail))
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t name_len = nl ? (size_t)(nl - data) : size;
    const sp_op *op = sp_op_find(ops, (const char *)data, name_len);
    if (!op) return;
    sp_err e = {0};
    const char *body = nl ? (const char *)nl + 1 : "{}";
    size_t body_len = nl ? size - name_len - 1 : 2;
    json_t *req = sp_json_parse(body, body_len, &e);
    if (!json_is_object(req)) {
        json_decref(req);
        return;
    }
    json_t *resp = op->fn(ctx, req, &e);
    if (resp) {
        if (!json_is_object(resp)) fail("answer is not an object", op->name);
        if (sp_err_failed(&e)) fail("answer with an error set", e.msg);
        char *text = json_dumps(resp, JSON_COMPACT);
        if (!text) fail("answer does not serialise", op->name);
        free(text);
    } else if (e.status < 400 || e.status > 599 || !e.code[0] || !e.msg[0]) {
        fail("failure without an AWS-shaped error", op->name);
    }
    json_decref(resp);
    json_decref(req);
}

#endif
