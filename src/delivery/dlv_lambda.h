/* The lambda processor's parts: the Runtime API server with its child process
 * (lambda_runtime.c), the embedded Python bootstrap (lambda_bootstrap.c), and the Firehose
 * event/result contract (lambda_contract.c). Private to src/delivery/. */
#ifndef DLV_LAMBDA_H
#define DLV_LAMBDA_H

#include "dlv_int.h"

/* Firehose's error codes for records a Lambda did not transform ("Lambda." + the error Lambda's
 * Invoke would return, for the ones that are not Firehose's own). */
#define DLV_LAMBDA_ERR_FUNCTION "Lambda.FunctionError"
#define DLV_LAMBDA_ERR_TIMEOUT "Lambda.FunctionTimeout"
#define DLV_LAMBDA_ERR_CRASH "Lambda.FunctionCrashed"
#define DLV_LAMBDA_ERR_INIT "Lambda.InitError"
#define DLV_LAMBDA_ERR_NOT_FOUND "Lambda.ResourceNotFoundException"
#define DLV_LAMBDA_ERR_CONFIG "Lambda.InvalidParameterValueException"
#define DLV_LAMBDA_ERR_JSON "Lambda.JsonProcessingException"
#define DLV_LAMBDA_ERR_MISSING_ID "Lambda.MissingRecordId"
#define DLV_LAMBDA_ERR_DUP_ID "Lambda.DuplicatedRecordId"
#define DLV_LAMBDA_ERR_FAILED_STATUS "Lambda.ProcessingFailedStatus"
/* An Ok record whose metadata.partitionKeys is not an object of named scalars. */
#define DLV_LAMBDA_ERR_PARTITION_KEYS "DynamicPartitioning.LambdaPartitionKeysInvalid"
/* Dynamic partitioning keys a Lambda returns may number at most this many per record. */
enum { DLV_LAMBDA_KEYS_MAX = 50 };

/* A function's configuration (<data>/delivery/lambda/<name>.json, Lambda's CreateFunction
 * fields), AWS's defaults when absent. */
enum {
    DLV_LAMBDA_MEMORY_MB_MIN = 128, DLV_LAMBDA_MEMORY_MB_MAX = 10240,
    DLV_LAMBDA_MEMORY_MB_DEFAULT = 128,
    DLV_LAMBDA_FN_TIMEOUT_S_MAX = 900, DLV_LAMBDA_FN_TIMEOUT_S_DEFAULT = 3,
    DLV_LAMBDA_ENV_MAX = 4096,               /* Lambda: all variables together, 4 KB */
};

/* The bootstrap (Python source, NUL-terminated). */
extern const char dlv_lambda_bootstrap_py[];

typedef struct dlv_lambda_rt dlv_lambda_rt;

/* Starts a Runtime API server on 127.0.0.1 (any free port) for the function function_name
 * (already validated, core/lambda_fn.h), whose code is <lambda_dir>/<name>.py:lambda_handler
 * run by python3 with the bootstrap at bootstrap_path. The child starts on the first invoke
 * and after a timeout or crash; the handler is resolved (realpath, inside lambda_dir only)
 * and the function's configuration read at each start. Strings are copied. */
dlv_lambda_rt *dlv_lambda_rt_new(const char *lambda_dir, const char *bootstrap_path,
                                 const char *function_name, const char *function_arn, sp_err *e);
/* One invocation: returns the handler's response body (caller frees) or NULL with e->code one
 * of the DLV_LAMBDA_ERR_* codes (function error, timeout, crash, init error, not found, bad
 * configuration). The timeout is the function's, at most timeout_ms (the processor's). */
char *dlv_lambda_rt_invoke(dlv_lambda_rt *rt, const char *event, size_t len, int timeout_ms,
                           size_t *out_len, sp_err *e);
/* Kills the child, stops the server, frees. */
void dlv_lambda_rt_destroy(dlv_lambda_rt *rt);

/* The event for recs[0..n) (OK records only are sent; ids are their indexes). New ref. */
json_t *dlv_lambda_event(const dlv_rec *recs, const size_t *idx, size_t n, const char *invocation_id,
                         const char *stream_arn, const char *source_arn);
/* Applies a response body to recs[idx[0..n)]: Ok replaces data, Dropped drops,
 * ProcessingFailed fails the record. Returns false with e (DLV_LAMBDA_ERR_JSON,
 * _MISSING_ID, _DUP_ID) when the response as a whole breaks the contract; then no record
 * is changed. */
bool dlv_lambda_apply(const char *body, size_t len, dlv_rec *recs, const size_t *idx, size_t n,
                      sp_err *e);

#endif
