/* Fuzz target for the generic model validator (api/api_model.c) over the generated DynamoDB
 * and Kinesis models: the first two bytes pick the model and the operation, the rest is the
 * request body. Whatever the JSON, the validator must not crash or leak, and when it refuses
 * a request its answer must be a JSON object with a __type naming a SerializationException
 * or ValidationException and a non-empty message (under "Message" or "message"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_model.h"

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api_model_validate: %s\n%s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const api_model *m = (data[0] & 1) ? &api_model_kinesis : &api_model_dynamodb;
    const char *op = m->ops[data[1] % m->n_ops].name;
    json_t *req = json_loadb((const char *)data + 2, size - 2, JSON_DECODE_ANY, NULL);
    if (!req) return 0;
    size_t len = 0;
    char *body = api_model_check(m, op, req, &len);
    json_decref(req);
    if (!body) return 0;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg) msg = json_string_value(json_object_get(j, "Message"));
    if (!type || (!strstr(type, "SerializationException") && !strstr(type, "ValidationException")))
        fuzz_fail("refusal without a validation __type", body);
    if (!msg || !*msg) fuzz_fail("refusal without a message", body);
    json_decref(j);
    free(body);
    return 0;
}
