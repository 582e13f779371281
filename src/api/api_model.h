/* api model: a service's request shapes (generated from its botocore model by
 * scripts/gen_api_model.py) and the one validator that checks a request against them the way
 * the AWS front ends do, in stages where the first failing stage decides the answer:
 *
 *   1. each member's JSON type            -> SerializationException (the first mismatch);
 *   2. the model's constraints, all at once -> ValidationException listing every violation
 *      ("N validation errors detected: Value '…' at '…' failed to satisfy constraint: …");
 *   3. only then the operation itself (semantic checks, resource lookups).
 *
 * Members the model does not know are ignored, and a JSON null is an absent member, as AWS
 * does. The wording differs per service family (DynamoDB's JSON 1.0 front end and Kinesis'
 * 1.1 one describe types differently): the dialect says which.
 */
#ifndef SP_API_MODEL_H
#define SP_API_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef enum {
    API_MT_STRUCT, API_MT_LIST, API_MT_MAP, API_MT_STRING, API_MT_INTEGER, API_MT_LONG,
    API_MT_DOUBLE, API_MT_BOOLEAN, API_MT_BLOB, API_MT_TIMESTAMP,
} api_model_type;

typedef enum {
    API_MODEL_DIALECT_DYNAMODB, /* JSON 1.0, com.amazon.coral.* error namespaces */
    API_MODEL_DIALECT_KINESIS,  /* JSON 1.1, bare error codes */
} api_model_dialect;

typedef struct api_model_member {
    const char *name;  /* JSON member name, e.g. "TableName" */
    uint16_t shape;    /* index into api_model.shapes */
    bool required;
} api_model_member;

typedef struct api_model_shape {
    const char *name;
    api_model_type type;
    bool has_min, has_max;
    long long min, max;            /* value bounds for numbers, length bounds otherwise */
    const char *pattern;           /* the model's (Java) pattern, quoted in messages; or NULL */
    const char *posix;             /* the same as an anchored POSIX extended regex */
    const char *const *enums;      /* in the order the service lists them */
    uint16_t n_enums;
    const api_model_member *members; /* structures */
    uint16_t n_members;
    uint16_t element;              /* lists: member shape; maps: value shape */
    uint16_t key;                  /* maps: key shape */
} api_model_shape;

typedef struct api_model_op {
    const char *name;  /* "PutItem" */
    uint16_t input;    /* its input shape */
} api_model_op;

typedef struct api_model {
    const char *service;       /* "dynamodb", "kinesis" */
    api_model_dialect dialect;
    const api_model_shape *shapes;
    size_t n_shapes;
    const api_model_op *ops;   /* sorted by name */
    size_t n_ops;
} api_model;

/* The generated models (build/.../api_model_<service>.c). */
extern const api_model api_model_dynamodb;
extern const api_model api_model_kinesis;

/* The most violations one ValidationException lists, as the services do. */
enum { API_MODEL_MAX_VIOLATIONS = 10 };

/* The operation's entry, or NULL when the model has no such operation. */
const api_model_op *api_model_op_find(const api_model *m, const char *name);

/* Checks request (a JSON object, borrowed) against the input shape of operation op_name in
 * stages 1 and 2 above. NULL when it passes (or the model does not know the operation);
 * otherwise the service's SerializationException or ValidationException body, status 400,
 * which the caller frees (*out_len its length). Thread-safe: the patterns are compiled once,
 * on first use, and stay for the life of the process. */
char *api_model_check(const api_model *m, const char *op_name, const json_t *request,
                      size_t *out_len);

/* The __type and message member name an error code raised by an operation itself gets in
 * the model's dialect, where they differ from "<namespace><code>" and "message": DynamoDB's
 * validation and serialization errors come from its coral front end. False otherwise. */
bool api_model_error_type(const api_model *m, const char *code, const char **type,
                          const char **message_key);

#endif
