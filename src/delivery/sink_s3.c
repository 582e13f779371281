/* A remote S3-compatible service (AWS S3, MinIO, Ceph, s3rver, another salespipe) as a
 * delivery sink, over the outbound client of conn/ (SigV4, retries, remote errors in sp_err).
 * Requests are path-style (/bucket/key), which every S3 implementation accepts and which
 * needs no DNS for the bucket (localhost endpoints). An object above the multipart threshold
 * is sent as a multipart upload (Create, UploadPart..., Complete; Abort when a step fails, so
 * no parts are left behind); below it, one PutObject. Either way S3 makes the object visible
 * whole or not at all, which is what the runner's redo under the same keys relies on. */
#include "conn/conn.h"
#include "dlv_int.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { MIB = 1024 * 1024, UPLOAD_ID_MAX = 1024, S3_TIMEOUT_S_MAX = 3600 };

typedef struct s3_sink {
    conn_aws *c;
    size_t threshold;            /* bytes: multipart at or above */
    size_t part;                 /* bytes per part */
} s3_sink;

/* ---- configuration ----------------------------------------------------------------------- */

static const char *const S3_KEYS[] = {
    "kind", "endpoint", "region", "bucket", "access_key_id", "secret_access_key",
    "session_token", "profile", "multipart_threshold_mb", "part_size_mb", "max_attempts",
    "timeout_seconds",
};

/* S3 bucket naming rules (general purpose buckets): 3-63 characters of lower-case letters,
 * digits, '.' and '-', starting and ending with a letter or digit. */
static bool bucket_name_valid(const char *b)
{
    size_t n = strlen(b);
    if (n < DLV_S3_BUCKET_MIN || n > DLV_S3_BUCKET_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
              b[i] == '-'))
            return false;
    return isalnum((unsigned char)b[0]) && isalnum((unsigned char)b[n - 1]);
}

static bool int_member(const json_t *d, const char *k, long long lo, long long hi, sp_err *e)
{
    const json_t *v = json_object_get(d, k);
    if (!v) return true;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi)
        return true;
    sp_err_invalid(e, "destination.%s must be an integer between %lld and %lld", k, lo, hi);
    return false;
}

bool dlv_sink_config_check(const json_t *d, sp_err *e)
{
    if (!d) return true;
    const char *kind = json_string_value(json_object_get(d, "kind"));
    if (!kind || (strcmp(kind, "lake") && strcmp(kind, "s3"))) {
        sp_err_invalid(e, "destination.kind must be lake or s3");
        return false;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)d, key, v) {
        bool known = false;
        for (size_t i = 0; i < SP_ARRAY_LEN(S3_KEYS) && !known; i++)
            known = !strcmp(key, S3_KEYS[i]) && (!strcmp(kind, "s3") || !strcmp(key, "kind"));
        if (!known) {
            sp_err_invalid(e, "destination.%s is not a member of a %s destination", key, kind);
            return false;
        }
        if (strcmp(key, "multipart_threshold_mb") && strcmp(key, "part_size_mb") &&
            strcmp(key, "max_attempts") && strcmp(key, "timeout_seconds") && !json_is_string(v)) {
            sp_err_invalid(e, "destination.%s must be a string", key);
            return false;
        }
    }
    if (!strcmp(kind, "lake")) return true;
    const char *ep = json_string_value(json_object_get(d, "endpoint"));
    const char *region = json_string_value(json_object_get(d, "region"));
    const char *bucket = json_string_value(json_object_get(d, "bucket"));
    if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) ||
        !ep[strncmp(ep, "http://", 7) ? 8 : 7] || strpbrk(ep, " @?#")) {
        sp_err_invalid(e, "destination.endpoint must be an http:// or https:// URL (e.g. "
                          "https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000)");
        return false;
    }
    if (!region || !*region || strlen(region) > 64 || strpbrk(region, " /\\\n")) {
        sp_err_invalid(e, "destination.region is required: the endpoint's region (e.g. "
                          "eu-west-1)");
        return false;
    }
    if (!bucket || !bucket_name_valid(bucket)) {
        sp_err_invalid(e, "destination.bucket must be an S3 bucket name (3-63 lower-case "
                          "letters, digits, '.' and '-')");
        return false;
    }
    bool id = json_object_get(d, "access_key_id") != NULL;
    bool secret = json_object_get(d, "secret_access_key") != NULL;
    if (id != secret) {
        sp_err_invalid(e, "destination.access_key_id and destination.secret_access_key go "
                          "together");
        return false;
    }
    return int_member(d, "multipart_threshold_mb", 1, (long long)DLV_S3_PART_MB_MAX, e) &&
           int_member(d, "part_size_mb", DLV_S3_PART_MB_MIN, DLV_S3_PART_MB_MAX, e) &&
           int_member(d, "max_attempts", 1, CONN_ATTEMPTS_MAX, e) &&
           int_member(d, "timeout_seconds", 1, S3_TIMEOUT_S_MAX, e);
}

/* ---- requests ---------------------------------------------------------------------------- */

static char *object_path(const char *bucket, const char *key)
{
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_putc(&p, '/');
    conn_uri_encode(&p, bucket, false);
    sp_str_putc(&p, '/');
    conn_uri_encode(&p, key, true);
    return sp_str_finish(&p, NULL);
}

static bool s3_call(s3_sink *s, const char *op, const char *method, const char *path,
                    const char *query, const char *content_type, const void *body, size_t len,
                    conn_aws_response *resp, sp_err *e)
{
    char ct[96];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "");
    const char *headers[] = {ct};
    conn_aws_request req = {.op = op, .method = method, .path = path, .query = query,
                            .headers = headers, .n_headers = content_type ? 1 : 0,
                            .body = body, .body_len = len};
    return conn_aws_send(s->c, &req, resp, e);
}

static void abort_upload(s3_sink *s, const char *path, const char *upload_q)
{
    conn_aws_response resp = {0};
    sp_err ae = {0};
    s3_call(s, "AbortMultipartUpload", "DELETE", path, upload_q, NULL, NULL, 0, &resp, &ae);
    conn_aws_response_clear(&resp);
}

static bool multipart_put(s3_sink *s, const char *path, const char *data, size_t len, sp_err *e)
{
    conn_aws_response resp = {0};
    char upload_id[UPLOAD_ID_MAX];
    if (!s3_call(s, "CreateMultipartUpload", "POST", path, "uploads=", NULL, NULL, 0, &resp, e)) {
        conn_aws_response_clear(&resp);
        return false;
    }
    bool ok = conn_xml_text(resp.body, resp.body_len, "UploadId", upload_id, sizeof upload_id) &&
              *upload_id;
    conn_aws_response_clear(&resp);
    if (!ok) {
        sp_err_set(e, 502, "InvalidResponse",
                   "CreateMultipartUpload: the answer has no UploadId");
        return false;
    }
    sp_str uq, done;
    sp_str_init(&uq, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&uq, "uploadId=");
    conn_uri_encode(&uq, upload_id, false);
    sp_str_init(&done, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&done, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    size_t part = s->part;
    if ((len + part - 1) / part > DLV_S3_PARTS_MAX) part = (len + DLV_S3_PARTS_MAX - 1) / DLV_S3_PARTS_MAX;
    size_t n_parts = (len + part - 1) / part;
    assert(n_parts <= DLV_S3_PARTS_MAX);
    for (size_t i = 0; i < n_parts && ok; i++) {
        size_t off = i * part, n = len - off < part ? len - off : part;
        char q[UPLOAD_ID_MAX * 3 + 64];
        snprintf(q, sizeof q, "partNumber=%zu&%s", i + 1, uq.buf);
        ok = s3_call(s, "UploadPart", "PUT", path, q, "application/octet-stream", data + off, n,
                     &resp, e);
        if (ok && !resp.etag[0]) {
            sp_err_set(e, 502, "InvalidResponse", "UploadPart %zu: the answer has no ETag", i + 1);
            ok = false;
        }
        if (ok)
            sp_str_appendf(&done, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
                           i + 1, resp.etag);
        conn_aws_response_clear(&resp);
    }
    sp_str_puts(&done, "</CompleteMultipartUpload>");
    if (ok) {
        ok = s3_call(s, "CompleteMultipartUpload", "POST", path, uq.buf, "application/xml",
                     done.buf, done.len, &resp, e);
        /* S3 may answer 200 and put the error in the body (the complete failed after the
         * headers went out). */
        char code[SP_ERR_CODE_MAX], msg[256] = "";
        if (ok && resp.body && memmem(resp.body, resp.body_len, "<Error>", 7) &&
            conn_xml_text(resp.body, resp.body_len, "Code", code, sizeof code)) {
            conn_xml_text(resp.body, resp.body_len, "Message", msg, sizeof msg);
            sp_err_set(e, 500, code, "CompleteMultipartUpload: %s: %s", code, msg);
            e->retriable = true;
            ok = false;
        }
        conn_aws_response_clear(&resp);
    }
    if (!ok) abort_upload(s, path, uq.buf);
    sp_str_release(&uq);
    sp_str_release(&done);
    return ok;
}

/* ---- the sink ---------------------------------------------------------------------------- */

static bool s3_put(void *ctx, const char *bucket, const char *key, const void *data, size_t len,
                   sp_err *e)
{
    s3_sink *s = ctx;
    char *path = object_path(bucket, key);
    bool ok;
    if (len >= s->threshold && len > 0) {
        ok = multipart_put(s, path, data, len, e);
    } else {
        conn_aws_response resp = {0};
        ok = s3_call(s, "PutObject", "PUT", path, NULL, "application/octet-stream", data, len,
                     &resp, e);
        conn_aws_response_clear(&resp);
    }
    if (!ok) sp_err_wrap(e, key);
    free(path);
    return ok;
}

static bool s3_remove(void *ctx, const char *bucket, const char *key, sp_err *e)
{
    s3_sink *s = ctx;
    char *path = object_path(bucket, key);
    conn_aws_response resp = {0};
    sp_err de = {0};
    bool ok = s3_call(s, "DeleteObject", "DELETE", path, NULL, NULL, NULL, 0, &resp, &de) ||
              de.status == 404;
    if (!ok) *e = de;
    conn_aws_response_clear(&resp);
    free(path);
    return ok;
}

static const char *s3_describe(void *ctx)
{
    return conn_aws_describe(((s3_sink *)ctx)->c);
}

static void s3_hurry(void *ctx, uint64_t deadline_ns)
{
    conn_aws_set_deadline(((s3_sink *)ctx)->c, deadline_ns);
}

static void s3_destroy(void *ctx)
{
    s3_sink *s = ctx;
    conn_aws_destroy(s->c);
    free(s);
}

static long long int_or(const json_t *d, const char *k, long long fallback)
{
    const json_t *v = json_object_get(d, k);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

bool dlv_sink_s3_new(const json_t *d, dlv_sink *out, sp_err *e)
{
    if (!dlv_sink_config_check(d, e)) return false;
#define S(k) json_string_value(json_object_get(d, k))
    conn_aws_config cfg = {
        .endpoint = S("endpoint"), .region = S("region"), .service = "s3",
        .access_key_id = S("access_key_id"), .secret_access_key = S("secret_access_key"),
        .session_token = S("session_token"), .profile = S("profile"),
        .max_attempts = (int)int_or(d, "max_attempts", 0),
        .timeout_ms = (int)int_or(d, "timeout_seconds", 0) * 1000,
    };
#undef S
    conn_aws *c = conn_aws_new(&cfg, e);
    if (!c) return false;
    s3_sink *s = calloc(1, sizeof *s);
    s->c = c;
    s->threshold = (size_t)int_or(d, "multipart_threshold_mb", DLV_S3_MULTIPART_THRESHOLD_MB_DEFAULT) * MIB;
    s->part = (size_t)int_or(d, "part_size_mb", DLV_S3_PART_MB_DEFAULT) * MIB;
    *out = (dlv_sink){.ctx = s, .kind = "s3", .put = s3_put, .remove = s3_remove,
                      .describe = s3_describe, .destroy = s3_destroy,
                      .hurry = s3_hurry};
    return true;
}
