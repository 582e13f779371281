/* AWS Signature Version 4 for outbound requests: what is specific to the connectors' side,
 * turning a conn request ("Name: value" header lines, a path and a query already encoded
 * once) into the shared form and asking core/sigv4.c for the Authorization header. The
 * canonical request, signing key and signature are computed there, the same code the
 * server's verifier (api/sigv4.c) uses. */
#include "conn.h"

#include "core/sigv4.h"

#include <stdlib.h>
#include <string.h>

void conn_sha256_hex(const void *data, size_t len, char out[65])
{
    sp_sigv4_sha256_hex(data, len, out);
}

void conn_uri_encode(sp_str *out, const char *s, bool keep_slash)
{
    sp_sigv4_uri_encode(out, s, strlen(s), keep_slash);
}

char *conn_sigv4_authorization(const conn_sigv4_input *in, const conn_aws_creds *creds)
{
    /* "Name: value" lines as name/value pairs; the values are trimmed when canonicalised. */
    sp_sigv4_header *hs = calloc(in->n_headers ? in->n_headers : 1, sizeof *hs);
    char **names = calloc(in->n_headers ? in->n_headers : 1, sizeof *names);
    sp_str target;
    sp_str_init(&target, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&target, "%s%s%s", in->path && *in->path ? in->path : "/",
                   in->query && *in->query ? "?" : "", in->query ? in->query : "");
    char *auth = NULL;
    bool ok = hs && names && !sp_str_failed(&target);
    for (size_t i = 0; ok && i < in->n_headers; i++) {
        const char *h = in->headers[i], *colon = strchr(h, ':');
        ok = (names[i] = strndup(h, colon ? (size_t)(colon - h) : strlen(h))) != NULL;
        hs[i] = (sp_sigv4_header){.name = names[i], .value = colon ? colon + 1 : ""};
    }
    if (ok) {
        char date[9];
        snprintf(date, sizeof date, "%.8s", in->amz_date);
        sp_sigv4_scope scope = {.date = date, .region = in->region, .service = in->service};
        sp_sigv4_request r = {.method = in->method, .target = target.buf, .headers = hs,
                              .n_headers = in->n_headers, .payload_hash = in->payload_sha256,
                              .s3 = !strcmp(in->service, "s3")};
        sp_err e = {0};
        auth = sp_sigv4_authorization(&r, creds->access_key_id, creds->secret_access_key,
                                      in->amz_date, &scope, &e);
    }
    for (size_t i = 0; names && i < in->n_headers; i++) free(names[i]);
    free(names);
    free(hs);
    sp_str_release(&target);
    return auth;
}
