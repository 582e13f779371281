/* api: the one HTTP endpoint every AWS client talks to.
 *
 * JSON services (DynamoDB, DynamoDB Streams, Kinesis, Firehose, Glue, Athena) are registered
 * as a target prefix plus an operation table; a POST is dispatched by its X-Amz-Target
 * header. REST services (S3, Pipes) are registered as route handlers tried in order. Errors
 * leave in the service's AWS shape: {"__type": "<namespace>#<Code>", "message": ...}.
 */
#ifndef SP_API_H
#define SP_API_H

#include "core/core.h"
#include "core/http.h"

typedef struct api_service {
    const char *name;            /* short name for health/logs: "dynamodb", "kinesis" */
    const char *target_prefix;   /* X-Amz-Target before the dot: "DynamoDB_20120810" */
    const char *error_namespace; /* prefix of __type: "com.amazonaws.dynamodb.v20120810#", or "" */
    const char *content_type;    /* "application/x-amz-json-1.0" or "...-1.1" */
    const sp_op *ops;            /* borrowed; ends with {NULL, NULL} */
    void *ctx;                   /* passed to every op */
    /* The service's request shapes (api_model.h), or NULL: with one, every request is
     * checked against its operation's input shape before the op runs, and the op's own
     * validation/serialization errors take the model dialect's __type. Borrowed. */
    const struct api_model *model;
    /* Also takes application/x-amz-cbor-1.1 bodies (Kinesis: what the AWS Java SDK and the
     * KCL send by default); the guard refuses CBOR for every other service. */
    bool accepts_cbor;
    /* Fast paths for operations' common request shapes (core.h's sp_raw_op), tried before
     * the body is parsed; NULL: none. Borrowed. */
    const sp_raw_op *raw_ops;
} api_service;

typedef struct api_route {
    const char *name;            /* "s3", "pipes" */
    sp_rest_fn fn;
    void *ctx;
} api_route;

/* Health/metrics providers: return a new JSON object / fill Prometheus text. */
typedef json_t *(*api_health_fn)(void *ctx);
typedef void (*api_metrics_fn)(void *ctx, sp_str *out);

struct sp_cfg_credential;

/* A listener of its own for one service, as AWS gives each service its own endpoint: on it a
 * request that names no operation of that service is answered as that service's endpoint
 * answers it (front.c), and only that service's operations are served. */
typedef struct api_service_port {
    const char *service;         /* "kinesis" or "dynamodb" (api_server_service_known) */
    int port;                    /* 0: any free port (see api_server_service_port) */
} api_service_port;

typedef struct api_options {
    const char *bind;            /* "127.0.0.1" */
    int port;                    /* 0: any free port (see api_server_port) */
    size_t max_body;             /* bytes; larger bodies get 413 before being read */
    int threads;                 /* 0: one per core, at least 2 */
    /* With any: every request but the health/metrics GETs must carry a valid AWS Signature
     * Version 4 by one of these keys, for an action its allow list names. Borrowed. */
    const struct sp_cfg_credential *credentials;
    size_t n_credentials;
    /* Host names accepted besides loopback names/addresses and the bind address (DNS
     * rebinding guard), and the Origins browsers may call from (CORS; "*": any). Borrowed. */
    const char *const *hostnames;
    size_t n_hostnames;
    const char *const *cors_origins;
    size_t n_cors_origins;
    /* Never named in an error response (replaced, original logged). Borrowed; may be NULL. */
    const char *data_dir;
    /* Per-service listeners besides the main port, on the same bind address. Borrowed. */
    const api_service_port *service_ports;
    size_t n_service_ports;
} api_options;

typedef struct api_server api_server;

/* Creates a server (not yet listening). Services and routes are borrowed and must outlive it. */
api_server *api_server_new(const api_options *opt);
void api_server_add_service(api_server *s, const api_service *svc);
void api_server_add_route(api_server *s, const api_route *route);
void api_server_set_health(api_server *s, api_health_fn fn, void *ctx);
void api_server_set_metrics(api_server *s, api_metrics_fn fn, void *ctx);
/* Starts listening; on failure returns false with e set (e.g. port in use). */
bool api_server_start(api_server *s, sp_err *e);
int api_server_port(const api_server *s);
/* The port a service's own listener is bound to, or 0 when it has none. */
int api_server_service_port(const api_server *s, const char *service);
/* Whether a service may have a listener of its own ("kinesis", "dynamodb"). */
bool api_server_service_known(const char *service);
/* The size of the HTTP worker pool (api_daemon_threads of the configured count), as the
 * benchmarks' HTTP floor must match it. */
int api_server_threads(const api_server *s);
/* Stops listening, waits for in-flight requests, frees everything. */
void api_server_destroy(api_server *s);

/* The JSON dispatch on its own (used by the server, the fuzz target and tests): routes body
 * by target among the services. Sets *status and returns the response body (caller frees),
 * which is the op's answer or an AWS-shaped error. content_type receives the service's. */
char *api_dispatch_json(const api_service *const *services, size_t n_services, const char *target,
                        const char *body, size_t body_len, int *status, size_t *out_len,
                        const char **content_type);
/* The same, by the request's Content-Type (may be NULL): application/x-amz-cbor-1.1 bodies
 * are decoded to JSON before the dispatch and the answer (or error) is encoded back to CBOR
 * with that content type (api_cbor.h); any other type goes to api_dispatch_json as it is. */
char *api_dispatch(const api_service *const *services, size_t n_services, const char *target,
                   const char *request_content_type, const char *body, size_t body_len,
                   int *status, size_t *out_len, const char **content_type);
/* The answer api_dispatch would give for target had its operation failed with e (the
 * service's error shape, CBOR for a CBOR request); caller frees. For a change that failed
 * after its operation had answered (the sync of a deferred write, core/ack.h). */
char *api_dispatch_error(const api_service *const *services, size_t n_services,
                         const char *target, const char *request_content_type, const sp_err *e,
                         int *status, size_t *out_len, const char **content_type);
/* An AWS-shaped error body for a service (namespace may be ""); caller frees. */
char *api_service_error_body(const api_service *svc, const sp_err *e, size_t *out_len);
/* The same with only a namespace (no service, or no model); caller frees. */
char *api_error_body(const char *error_namespace, const sp_err *e, size_t *out_len);

#endif
