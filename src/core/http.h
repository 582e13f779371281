/* http: the request/response pair of the REST-style APIs (S3 paths, the Pipes REST API),
 * kept in core so a stage can implement its REST handler without depending on api/. The
 * server (api/) fills sp_http_req and sends whatever the handler put in sp_http_resp. */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include "core.h"

enum { SP_HTTP_MAX_HEADERS = 12 };

typedef struct sp_http_req {
    const char *method;        /* "GET", "PUT", ... */
    const char *path;          /* URL path, percent-decoded, without the query */
    const char *raw_path;      /* as sent, still percent-encoded */
    const char *query;         /* raw query string after '?', "" if none */
    const char *body;          /* borrowed; NUL-terminated for convenience */
    size_t body_len;
    /* Header lookup (case-insensitive); NULL if absent. */
    const char *(*header)(const struct sp_http_req *req, const char *name);
    void *conn;                /* server-private */
} sp_http_req;

typedef struct sp_http_resp {
    int status;
    const char *content_type;  /* static string */
    char *body;                /* malloc'd, owned by the response; may be NULL */
    size_t body_len;
    int n_headers;
    char *header_names[SP_HTTP_MAX_HEADERS];  /* malloc'd */
    char *header_values[SP_HTTP_MAX_HEADERS];
} sp_http_resp;

/* A REST route handler: returns false when the request is not for it (the server tries the
 * next route), true when it filled resp. */
typedef bool (*sp_rest_fn)(void *ctx, const sp_http_req *req, sp_http_resp *resp);

/* Adds a header (copied). Silently ignores more than SP_HTTP_MAX_HEADERS. */
void sp_http_resp_header(sp_http_resp *resp, const char *name, const char *value);
/* Takes ownership of body (malloc'd). */
void sp_http_resp_set(sp_http_resp *resp, int status, const char *content_type, char *body,
                      size_t len);
/* Sets a JSON body (serialised; j is not consumed). */
void sp_http_resp_json(sp_http_resp *resp, int status, const json_t *j);
void sp_http_resp_clear(sp_http_resp *resp);
/* Value of one query parameter, percent-decoded, into out; false if absent. */
bool sp_http_query_param(const char *query, const char *name, char *out, size_t out_size);
/* Percent-decodes in place ('+' stays '+'); returns false on a malformed escape. */
bool sp_http_percent_decode(char *s);

/* Replaces, in body[0..*len), every occurrence of the private path (the data dir) together
 * with the rest of the path it starts (up to a quote, '<', '>', '&', ')', ',', '\\', ':',
 * white space or a control byte) by SP_HTTP_REDACTED, so an error message keeps its cause
 * ("...: No space left on device") but names no file of the machine. The replacement holds
 * nothing JSON or XML would need escaped, so the body stays well formed. Returns the number
 * of replacements; body is reallocated when it has to grow (*body may change; NULL on out of
 * memory with *len 0). A private path shorter than SP_HTTP_REDACT_MIN never matches. */
#define SP_HTTP_REDACTED "(internal path)"
enum { SP_HTTP_REDACT_MIN = 2 };
size_t sp_http_redact(char **body, size_t *len, const char *private_path);

#endif
