/* The S3 REST API over the lake, path-style (http://127.0.0.1:4566/<bucket>/<key>), enough for
 * `aws s3 ls/cp/rm` (multipart included), boto3's object and multipart calls and the Athena
 * result location. Responses are S3's XML shapes; errors are
 * <Error><Code>…</Code><Message>…</Message>.
 *
 * An upload body goes through one gate before it is stored (upload_body): aws-chunked framing
 * is decoded (lake_chunked.c) and its decoded length and trailing checksum checked, then
 * Content-MD5 and any x-amz-checksum-* header are checked against the bytes (lake_digest.c).
 * ETags are the MD5s the lake stored with each object. */
#include "lake_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { S3_MAX_KEYS_DEFAULT = 1000, S3_PATH_MAX = 2048 };

static void xml_escape(sp_str *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sp_str_puts(out, "&amp;"); break;
        case '<': sp_str_puts(out, "&lt;"); break;
        case '>': sp_str_puts(out, "&gt;"); break;
        case '"': sp_str_puts(out, "&quot;"); break;
        case '\'': sp_str_puts(out, "&apos;"); break;
        default: sp_str_putc(out, *s);
        }
    }
}

static void s3_error(sp_http_resp *resp, const sp_err *e, const char *resource)
{
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>",
                   e->code);
    xml_escape(&x, e->msg);
    sp_str_puts(&x, "</Message><Resource>");
    xml_escape(&x, resource);
    sp_str_puts(&x, "</Resource></Error>");
    size_t len = 0;
    char *body = sp_str_finish(&x, &len);
    sp_http_resp_set(resp, e->status ? e->status : 500, "application/xml", body, len);
}

static void xml_reply(sp_http_resp *resp, int status, sp_str *x)
{
    size_t len = 0;
    char *body = sp_str_finish(x, &len);
    sp_http_resp_set(resp, status, "application/xml", body, len);
}

static void iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static void http_time(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void list_buckets(lake *lk, sp_http_resp *resp)
{
    sp_err e = {0};
    json_t *names = lake_bucket_list(lk, &e);
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult>"
                    "<Owner><ID>salespipe</ID><DisplayName>salespipe</DisplayName></Owner><Buckets>");
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        sp_str_puts(&x, "<Bucket><Name>");
        xml_escape(&x, json_string_value(v));
        sp_str_puts(&x, "</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>");
    }
    sp_str_puts(&x, "</Buckets></ListAllMyBucketsResult>");
    json_decref(names);
    xml_reply(resp, 200, &x);
}

/* State of one ListObjects(V2) walk. */
typedef struct s3_listing {
    sp_str *x;
    const char *prefix;
    const char *delimiter;
    const char *start_after;    /* exclusive */
    int max_keys;
    int count;
    bool truncated;
    char last_key[S3_PATH_MAX]; /* last key or common prefix emitted */
    char last_common[S3_PATH_MAX];
    sp_str commons;
} s3_listing;

static bool list_one(void *arg, const lake_object_info *obj)
{
    s3_listing *l = arg;
    if (l->start_after[0] && strcmp(obj->key, l->start_after) <= 0) return true;
    size_t plen = strlen(l->prefix);
    if (l->delimiter[0]) {
        const char *d = strstr(obj->key + plen, l->delimiter);
        if (d) {
            size_t clen = (size_t)(d - obj->key) + strlen(l->delimiter);
            if (clen < sizeof l->last_common && strlen(l->last_common) == clen &&
                !strncmp(l->last_common, obj->key, clen))
                return true; /* same common prefix as the previous key */
            if (l->count == l->max_keys) {
                l->truncated = true;
                return false;
            }
            snprintf(l->last_common, sizeof l->last_common, "%.*s", (int)clen, obj->key);
            snprintf(l->last_key, sizeof l->last_key, "%s", l->last_common);
            sp_str_puts(&l->commons, "<CommonPrefixes><Prefix>");
            xml_escape(&l->commons, l->last_common);
            sp_str_puts(&l->commons, "</Prefix></CommonPrefixes>");
            l->count++;
            return true;
        }
    }
    if (l->count == l->max_keys) {
        l->truncated = true;
        return false;
    }
    char when[32];
    iso_time(obj->mtime_ms, when);
    sp_str_puts(l->x, "<Contents><Key>");
    xml_escape(l->x, obj->key);
    sp_str_appendf(l->x, "</Key><LastModified>%s</LastModified><ETag>", when);
    xml_escape(l->x, obj->etag);
    sp_str_appendf(l->x, "</ETag><Size>%lld</Size><StorageClass>STANDARD</StorageClass>"
                         "</Contents>", (long long)obj->size);
    snprintf(l->last_key, sizeof l->last_key, "%s", obj->key);
    l->count++;
    return true;
}

static void list_objects(lake *lk, const char *bucket, const sp_http_req *req,
                         sp_http_resp *resp)
{
    char prefix[S3_PATH_MAX] = "", delimiter[16] = "", token[S3_PATH_MAX] = "",
         start_after[S3_PATH_MAX] = "", marker[S3_PATH_MAX] = "", max_keys[16] = "",
         list_type[8] = "";
    sp_http_query_param(req->query, "prefix", prefix, sizeof prefix);
    sp_http_query_param(req->query, "delimiter", delimiter, sizeof delimiter);
    sp_http_query_param(req->query, "continuation-token", token, sizeof token);
    sp_http_query_param(req->query, "start-after", start_after, sizeof start_after);
    sp_http_query_param(req->query, "marker", marker, sizeof marker);
    sp_http_query_param(req->query, "max-keys", max_keys, sizeof max_keys);
    sp_http_query_param(req->query, "list-type", list_type, sizeof list_type);
    bool v2 = !strcmp(list_type, "2");
    int max = S3_MAX_KEYS_DEFAULT;
    if (max_keys[0]) {
        char *end;
        long v = strtol(max_keys, &end, 10);
        if (*end || v < 0) {
            sp_err e = {0};
            sp_err_set(&e, 400, "InvalidArgument",
                       "Provided max-keys not an integer or within integer range");
            s3_error(resp, &e, bucket);
            return;
        }
        if (v < S3_MAX_KEYS_DEFAULT) max = (int)v; /* S3 returns at most 1000 whatever is asked */
    }

    /* The continuation token is the last key returned, which is all we need to resume. */
    const char *after = v2 ? (token[0] ? token : start_after) : marker;
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    s3_listing l = {.x = &x, .prefix = prefix, .delimiter = delimiter, .start_after = after,
                    .max_keys = max};
    sp_str_init(&l.commons, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult><Name>");
    xml_escape(&x, bucket);
    sp_str_puts(&x, "</Name><Prefix>");
    xml_escape(&x, prefix);
    sp_str_puts(&x, "</Prefix>");
    sp_err e = {0};
    if (max > 0 && !lake_object_list(lk, bucket, prefix, list_one, &l, &e)) {
        sp_str_release(&x);
        sp_str_release(&l.commons);
        s3_error(resp, &e, bucket);
        return;
    }
    if (l.commons.len) sp_str_append(&x, l.commons.buf, l.commons.len);
    sp_str_release(&l.commons);
    sp_str_appendf(&x, "<MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>", max,
                   l.truncated ? "true" : "false");
    if (delimiter[0]) {
        sp_str_puts(&x, "<Delimiter>");
        xml_escape(&x, delimiter);
        sp_str_puts(&x, "</Delimiter>");
    }
    if (v2) {
        sp_str_appendf(&x, "<KeyCount>%d</KeyCount>", l.count);
        if (token[0]) {
            sp_str_puts(&x, "<ContinuationToken>");
            xml_escape(&x, token);
            sp_str_puts(&x, "</ContinuationToken>");
        }
        if (l.truncated) {
            sp_str_puts(&x, "<NextContinuationToken>");
            xml_escape(&x, l.last_key);
            sp_str_puts(&x, "</NextContinuationToken>");
        }
    } else {
        sp_str_puts(&x, "<Marker>");
        xml_escape(&x, marker);
        sp_str_puts(&x, "</Marker>");
        if (l.truncated) {
            sp_str_puts(&x, "<NextMarker>");
            xml_escape(&x, l.last_key);
            sp_str_puts(&x, "</NextMarker>");
        }
    }
    sp_str_puts(&x, "</ListBucketResult>");
    xml_reply(resp, 200, &x);
}


static void object_headers(sp_http_resp *resp, const lake_object_info *info)
{
    char when[40];
    http_time(info->mtime_ms, when);
    sp_http_resp_header(resp, "ETag", info->etag);
    sp_http_resp_header(resp, "Last-Modified", when);
    sp_http_resp_header(resp, "Accept-Ranges", "bytes");
}

/* ---- Range ----------------------------------------------------------------------------- */

typedef enum { RANGE_IGNORE, RANGE_OK, RANGE_UNSATISFIABLE } range_kind;

/* Digits only (no sign, no space), at most 19 of them; advances *p. */
static bool range_number(const char **p, unsigned long long *out)
{
    const char *s = *p;
    unsigned long long v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9' && n < 19) v = v * 10 + (unsigned)(*s++ - '0'), n++;
    if (!n || (*s >= '0' && *s <= '9')) return false;
    *p = s;
    *out = v;
    return true;
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size. A header that is not one byte range of
 * that syntax is ignored (the whole object is sent), as RFC 9110 and S3 do; a well-formed
 * range that selects nothing is unsatisfiable (416 InvalidRange). */
static range_kind parse_range(const char *h, size_t size, size_t *from, size_t *to)
{
    if (strncmp(h, "bytes=", 6) != 0) return RANGE_IGNORE;
    const char *r = h + 6;
    unsigned long long a, b;
    if (*r == '-') {
        r++;
        if (!range_number(&r, &b) || *r) return RANGE_IGNORE;
        if (b == 0 || size == 0) return RANGE_UNSATISFIABLE;
        *from = b >= size ? 0 : size - (size_t)b;
        *to = size - 1;
        return RANGE_OK;
    }
    if (!range_number(&r, &a) || *r++ != '-') return RANGE_IGNORE;
    if (*r) {
        if (!range_number(&r, &b) || *r || b < a) return RANGE_IGNORE;
    } else {
        b = size ? size - 1 : 0;
    }
    if (a >= size) return RANGE_UNSATISFIABLE;
    if (b >= size) b = size - 1;
    *from = (size_t)a;
    *to = (size_t)b;
    return RANGE_OK;
}

static void get_object(lake *lk, const char *bucket, const char *key, const sp_http_req *req,
                       sp_http_resp *resp)
{
    sp_err e = {0};
    lake_object_info info;
    if (!lake_object_stat(lk, bucket, key, &info, &e)) {
        s3_error(resp, &e, key);
        return;
    }
    size_t size = (size_t)info.size, from = 0, to = size ? size - 1 : 0;
    const char *range = req->header(req, "Range");
    range_kind kind = range ? parse_range(range, size, &from, &to) : RANGE_IGNORE;
    if (kind == RANGE_UNSATISFIABLE) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%zu", size);
        sp_http_resp_header(resp, "Content-Range", cr);
        sp_err_set(&e, 416, "InvalidRange", "The requested range is not satisfiable");
        s3_error(resp, &e, key);
        return;
    }
    size_t len = kind == RANGE_OK ? to - from + 1 : size;
    char *data = NULL;
    if (!strcmp(req->method, "HEAD")) {
        /* The server takes Content-Length from the body it would send and sends none. */
        data = calloc(1, len + 1);
    } else if (!lake_object_read(lk, bucket, key, (off_t)from, len, &data, &e)) {
        s3_error(resp, &e, key);
        return;
    }
    object_headers(resp, &info);
    if (kind == RANGE_OK) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", from, to, size);
        sp_http_resp_header(resp, "Content-Range", cr);
    }
    sp_http_resp_set(resp, kind == RANGE_OK ? 206 : 200, "application/octet-stream", data, len);
}

/* ---- upload bodies --------------------------------------------------------------------- */

/* The upload's bytes after decoding, and the checksums that were checked (echoed back). */
typedef struct upload_body {
    const char *data;
    size_t len;
    lake_chunked chunked;      /* .data owned when the body was aws-chunked */
    bool checked[LAKE_CK_COUNT];
    char values[LAKE_CK_COUNT][LAKE_TRAILER_VALUE_MAX];
} upload_body;

static void upload_body_release(upload_body *b) { free(b->chunked.data); }

static bool verify_chunk(void *arg, const char *signature, const void *data, size_t len,
                         sp_err *e)
{
    const lake *lk = ((void **)arg)[0];
    void *state = ((void **)arg)[1];
    if (!state || !signature) return true;
    return lk->verifier.chunk(state, signature, data, len, e);
}

/* Case-insensitive search of a comma-separated header value. */
static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *t = end;
        while (t > p && t[-1] == ' ') t--;
        if ((size_t)(t - p) == n && !strncasecmp(p, item, n)) return true;
        p = end;
    }
    return false;
}

static bool is_aws_chunked(const sp_http_req *req)
{
    const char *ce = req->header(req, "Content-Encoding");
    const char *sha = req->header(req, "x-amz-content-sha256");
    return (ce && list_has(ce, "aws-chunked")) || (sha && !strncmp(sha, "STREAMING-", 10));
}

static bool decode_chunked(const lake *lk, const sp_http_req *req, upload_body *b, sp_err *e)
{
    const char *declared = req->header(req, "x-amz-decoded-content-length");
    char *end = NULL;
    unsigned long long want = declared ? strtoull(declared, &end, 10) : 0;
    if (!declared || !*declared || *end || declared[0] == '-') {
        sp_err_set(e, 411, "MissingContentLength",
                   "You must provide the x-amz-decoded-content-length HTTP header with "
                   "aws-chunked content.");
        return false;
    }
    void *state = NULL;
    if (lk->verifier.begin && !(state = lk->verifier.begin(lk->verifier.ctx, req, e)))
        return false;
    void *arg[2] = {(void *)lk, state};
    bool ok = lake_chunked_decode(req->body, req->body_len, verify_chunk, arg, &b->chunked, e);
    if (ok && state && lk->verifier.trailer && b->chunked.trailer_signature[0])
        ok = lk->verifier.trailer(state, b->chunked.trailer_text, b->chunked.trailer_len,
                                  b->chunked.trailer_signature, e);
    if (state) lk->verifier.end(state);
    if (!ok) return false;
    if (b->chunked.len != want) {
        sp_err_set(e, 400, "IncompleteBody",
                   "You did not provide the number of bytes specified by the "
                   "x-amz-decoded-content-length HTTP header (%llu declared, %zu sent).",
                   want, b->chunked.len);
        return false;
    }
    /* Every trailer x-amz-trailer announced must be there, and only checksums may come. */
    const char *announced = req->header(req, "x-amz-trailer");
    for (int i = 0; announced && i < LAKE_CK_COUNT; i++) {
        bool found = false;
        for (size_t t = 0; t < b->chunked.n_trailers; t++)
            found |= !strcmp(b->chunked.trailers[t].name, lake_checksum_header(i));
        if (list_has(announced, lake_checksum_header(i)) && !found) {
            sp_err_set(e, 400, "IncompleteBody", "The trailer %s announced in x-amz-trailer "
                       "was not sent", lake_checksum_header(i));
            return false;
        }
    }
    for (size_t t = 0; t < b->chunked.n_trailers; t++) {
        lake_checksum_alg alg;
        const lake_chunked_trailer *tr = &b->chunked.trailers[t];
        if (!lake_checksum_by_header(tr->name, &alg) || !announced || !list_has(announced, tr->name)) {
            sp_err_set(e, 400, "InvalidRequest", "The trailer '%s' was not announced in "
                       "x-amz-trailer or is not a checksum", tr->name);
            return false;
        }
        if (!lake_checksum_check(alg, tr->value, b->chunked.data, b->chunked.len, e)) return false;
        b->checked[alg] = true;
        snprintf(b->values[alg], sizeof b->values[alg], "%s", tr->value);
    }
    b->data = b->chunked.data;
    b->len = b->chunked.len;
    return true;
}

/* Decodes and checks an upload's body; on success b holds the bytes to store. */
static bool upload_body_open(const lake *lk, const sp_http_req *req, upload_body *b, sp_err *e)
{
    memset(b, 0, sizeof *b);
    b->data = req->body;
    b->len = req->body_len;
    if (is_aws_chunked(req) && !decode_chunked(lk, req, b, e)) return false;
    const char *md5 = req->header(req, "Content-MD5");
    if (md5 && !lake_digest_md5_check(md5, b->data, b->len, e)) return false;
    for (int i = 0; i < LAKE_CK_COUNT; i++) {
        const char *v = req->header(req, lake_checksum_header(i));
        if (!v) continue;
        if (b->checked[i] && strcmp(v, b->values[i])) {
            sp_err_set(e, 400, "InvalidRequest", "%s was sent as a header and as a trailer "
                       "with different values", lake_checksum_header(i));
            return false;
        }
        if (!lake_checksum_check(i, v, b->data, b->len, e)) return false;
        b->checked[i] = true;
        snprintf(b->values[i], sizeof b->values[i], "%s", v);
    }
    return true;
}

static void checksum_headers(sp_http_resp *resp, const upload_body *b)
{
    for (int i = 0; i < LAKE_CK_COUNT; i++)
        if (b->checked[i]) sp_http_resp_header(resp, lake_checksum_header(i), b->values[i]);
}

static void put_object(lake *lk, const char *bucket, const char *key, const sp_http_req *req,
                       sp_http_resp *resp)
{
    sp_err e = {0};
    upload_body b = {0};
    char etag[LAKE_ETAG_MAX];
    /* Bucket and key are checked before the body, so a bad key is named as such. */
    if (!lake_bucket_check(lk, bucket, true, &e) || !lake_key_valid(key, &e) ||
        !upload_body_open(lk, req, &b, &e) ||
        !lake_object_put_etag(lk, bucket, key, b.data, b.len, etag, &e)) {
        upload_body_release(&b);
        s3_error(resp, &e, key);
        return;
    }
    sp_http_resp_header(resp, "ETag", etag);
    checksum_headers(resp, &b);
    upload_body_release(&b);
    sp_http_resp_set(resp, 200, NULL, NULL, 0);
}

/* ---- multipart ------------------------------------------------------------------------- */

/* A query parameter that may be present without fitting a buffer (a hostile 10 000-byte
 * upload id must still be recognised as an upload id). */
typedef enum { PARAM_ABSENT, PARAM_OK, PARAM_BAD } param_state;

static param_state query_get(const char *query, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= nlen && !strncmp(p, name, nlen) && (len == nlen || p[nlen] == '='))
            return sp_http_query_param(query, name, out, size) ? PARAM_OK : PARAM_BAD;
        p = amp ? amp + 1 : NULL;
    }
    return PARAM_ABSENT;
}

static void xml_elem(sp_str *x, const char *name, const char *value)
{
    sp_str_appendf(x, "<%s>", name);
    xml_escape(x, value);
    sp_str_appendf(x, "</%s>", name);
}

static const char OWNER_XML[] = "<Initiator><ID>salespipe</ID><DisplayName>salespipe</DisplayName>"
                                "</Initiator><Owner><ID>salespipe</ID><DisplayName>salespipe"
                                "</DisplayName></Owner><StorageClass>STANDARD</StorageClass>";

static void create_upload(lake *lk, const char *bucket, const char *key, sp_http_resp *resp)
{
    sp_err e = {0};
    char id[LAKE_UPLOAD_ID_LEN + 1];
    if (!lake_mpu_create(lk, bucket, key, id, &e)) {
        s3_error(resp, &e, key);
        return;
    }
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>");
    xml_elem(&x, "Bucket", bucket);
    xml_elem(&x, "Key", key);
    xml_elem(&x, "UploadId", id);
    sp_str_puts(&x, "</InitiateMultipartUploadResult>");
    xml_reply(resp, 200, &x);
}

static void upload_part(lake *lk, const char *bucket, const char *key, const char *id,
                        const sp_http_req *req, sp_http_resp *resp)
{
    sp_err e = {0};
    char num[16];
    char *end = NULL;
    long number = query_get(req->query, "partNumber", num, sizeof num) == PARAM_OK
                      ? strtol(num, &end, 10) : 0;
    lake_part *have = NULL;
    size_t n_have = 0;
    /* An unknown upload is named before a bad part number, as S3 does. */
    if (!lake_mpu_parts(lk, bucket, key, id, &have, &n_have, &e)) {
        s3_error(resp, &e, key);
        return;
    }
    free(have);
    if (!end || *end || num[0] < '0' || num[0] > '9' || number < 1 || number > LAKE_PARTS_MAX) {
        sp_err_set(&e, 400, "InvalidArgument",
                   "Part number must be an integer between 1 and %d, inclusive", LAKE_PARTS_MAX);
        s3_error(resp, &e, key);
        return;
    }
    upload_body b = {0};
    char etag[LAKE_ETAG_MAX];
    if (!upload_body_open(lk, req, &b, &e) ||
        !lake_mpu_part_put(lk, bucket, key, id, (int)number, b.data, b.len, etag, &e)) {
        upload_body_release(&b);
        s3_error(resp, &e, key);
        return;
    }
    sp_http_resp_header(resp, "ETag", etag);
    checksum_headers(resp, &b);
    upload_body_release(&b);
    sp_http_resp_set(resp, 200, NULL, NULL, 0);
}

static void complete_upload(lake *lk, const char *bucket, const char *key, const char *id,
                            const sp_http_req *req, sp_http_resp *resp)
{
    sp_err e = {0};
    lake_part *parts = NULL, *have = NULL;
    size_t n = 0, n_have = 0;
    char etag[LAKE_ETAG_MAX];
    /* NoSuchUpload before MalformedXML: the upload is what the request names first. */
    bool ok = lake_mpu_parts(lk, bucket, key, id, &have, &n_have, &e) &&
              lake_s3_parts_parse(req->body, req->body_len, &parts, &n, &e) &&
              lake_mpu_complete(lk, bucket, key, id, parts, n, etag, &e);
    free(have);
    free(parts);
    if (!ok) {
        s3_error(resp, &e, key);
        return;
    }
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>"
                    "<Location>");
    const char *host = req->header(req, "Host");
    sp_str_puts(&x, "http://");
    xml_escape(&x, host ? host : "127.0.0.1");
    sp_str_putc(&x, '/');
    xml_escape(&x, bucket);
    sp_str_putc(&x, '/');
    xml_escape(&x, key);
    sp_str_puts(&x, "</Location>");
    xml_elem(&x, "Bucket", bucket);
    xml_elem(&x, "Key", key);
    xml_elem(&x, "ETag", etag);
    sp_str_puts(&x, "</CompleteMultipartUploadResult>");
    sp_http_resp_header(resp, "ETag", etag);
    xml_reply(resp, 200, &x);
}

/* max-parts / max-uploads: 0..1000, default 1000 (S3 never returns more). */
static bool max_param(const sp_http_req *req, const char *name, int *out, sp_err *e)
{
    char v[16];
    *out = S3_MAX_KEYS_DEFAULT;
    param_state st = query_get(req->query, name, v, sizeof v);
    if (st == PARAM_ABSENT) return true;
    char *end = NULL;
    long n = st == PARAM_OK ? strtol(v, &end, 10) : -1;
    if (st != PARAM_OK || !v[0] || *end || n < 0) {
        sp_err_set(e, 400, "InvalidArgument", "Provided %s not an integer or within integer range",
                   name);
        return false;
    }
    if (n < S3_MAX_KEYS_DEFAULT) *out = (int)n;
    return true;
}

static void list_parts(lake *lk, const char *bucket, const char *key, const char *id,
                       const sp_http_req *req, sp_http_resp *resp)
{
    sp_err e = {0};
    lake_part *parts = NULL;
    size_t n = 0;
    int max;
    char marker_s[16] = "0";
    query_get(req->query, "part-number-marker", marker_s, sizeof marker_s);
    long marker = strtol(marker_s, NULL, 10);
    if (!lake_mpu_parts(lk, bucket, key, id, &parts, &n, &e) ||
        !max_param(req, "max-parts", &max, &e)) {
        free(parts);
        s3_error(resp, &e, key);
        return;
    }
    sp_str x;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult>");
    xml_elem(&x, "Bucket", bucket);
    xml_elem(&x, "Key", key);
    xml_elem(&x, "UploadId", id);
    sp_str_appendf(&x, "<PartNumberMarker>%ld</PartNumberMarker>", marker);
    sp_str parts_x;
    sp_str_init(&parts_x, NULL, 0, SP_STR_NO_MAX);
    int count = 0, last = 0;
    bool truncated = false;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].number <= marker) continue;
        if (count == max) {
            truncated = true;
            break;
        }
        char when[32];
        iso_time(parts[i].mtime_ms, when);
        sp_str_appendf(&parts_x, "<Part><PartNumber>%d</PartNumber><LastModified>%s"
                                 "</LastModified>", parts[i].number, when);
        xml_elem(&parts_x, "ETag", parts[i].etag);
        sp_str_appendf(&parts_x, "<Size>%lld</Size></Part>", (long long)parts[i].size);
        last = parts[i].number;
        count++;
    }
    free(parts);
    sp_str_appendf(&x, "<NextPartNumberMarker>%d</NextPartNumberMarker><MaxParts>%d</MaxParts>"
                       "<IsTruncated>%s</IsTruncated>", last, max, truncated ? "true" : "false");
    sp_str_append(&x, parts_x.buf, parts_x.len);
    sp_str_release(&parts_x);
    sp_str_puts(&x, OWNER_XML);
    sp_str_puts(&x, "</ListPartsResult>");
    xml_reply(resp, 200, &x);
}

static void list_uploads(lake *lk, const char *bucket, const sp_http_req *req,
                         sp_http_resp *resp)
{
    sp_err e = {0};
    char prefix[S3_PATH_MAX] = "", key_marker[S3_PATH_MAX] = "", id_marker[64] = "";
    int max;
    query_get(req->query, "prefix", prefix, sizeof prefix);
    query_get(req->query, "key-marker", key_marker, sizeof key_marker);
    query_get(req->query, "upload-id-marker", id_marker, sizeof id_marker);
    lake_upload *ups = NULL;
    size_t n = 0;
    if (!max_param(req, "max-uploads", &max, &e) ||
        !lake_mpu_list(lk, bucket, prefix, &ups, &n, &e)) {
        s3_error(resp, &e, bucket);
        return;
    }
    sp_str x, body;
    sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
    sp_str_init(&body, NULL, 0, SP_STR_NO_MAX);
    int count = 0;
    bool truncated = false;
    const lake_upload *last = NULL;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(ups[i].key, key_marker);
        /* After key-marker; with upload-id-marker, also later uploads of that very key. */
        if (key_marker[0] && (c < 0 || (c == 0 && (!id_marker[0] || strcmp(ups[i].id, id_marker) <= 0))))
            continue;
        if (count == max) {
            truncated = true;
            break;
        }
        char when[32];
        iso_time(ups[i].initiated_ms, when);
        sp_str_puts(&body, "<Upload>");
        xml_elem(&body, "Key", ups[i].key);
        xml_elem(&body, "UploadId", ups[i].id);
        sp_str_puts(&body, OWNER_XML);
        sp_str_appendf(&body, "<Initiated>%s</Initiated></Upload>", when);
        last = &ups[i];
        count++;
    }
    sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult>");
    xml_elem(&x, "Bucket", bucket);
    xml_elem(&x, "KeyMarker", key_marker);
    xml_elem(&x, "UploadIdMarker", id_marker);
    xml_elem(&x, "NextKeyMarker", last ? last->key : "");
    xml_elem(&x, "NextUploadIdMarker", last ? last->id : "");
    xml_elem(&x, "Prefix", prefix);
    sp_str_appendf(&x, "<MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>", max,
                   truncated ? "true" : "false");
    sp_str_append(&x, body.buf, body.len);
    sp_str_release(&body);
    sp_str_puts(&x, "</ListMultipartUploadsResult>");
    lake_uploads_free(ups, n);
    xml_reply(resp, 200, &x);
}

/* Requests on an object that carry uploadId: UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts. false when the method has no such operation. */
static bool upload_request(lake *lk, const char *bucket, const char *key, const sp_http_req *req,
                           sp_http_resp *resp)
{
    char id[LAKE_UPLOAD_ID_LEN + 1] = "";
    const char *m = req->method;
    if (query_get(req->query, "uploadId", id, sizeof id) != PARAM_OK) id[0] = '\0';
    /* An id that is not one of ours never reaches the lake's paths: the lake checks it, and
     * one too long to hold is passed on as "" so the lake refuses it the same way. */
    if (!strcmp(m, "PUT")) upload_part(lk, bucket, key, id, req, resp);
    else if (!strcmp(m, "POST")) complete_upload(lk, bucket, key, id, req, resp);
    else if (!strcmp(m, "GET")) list_parts(lk, bucket, key, id, req, resp);
    else if (!strcmp(m, "DELETE")) {
        sp_err e = {0};
        if (!lake_mpu_abort(lk, bucket, key, id, &e)) s3_error(resp, &e, key);
        else sp_http_resp_set(resp, 204, NULL, NULL, 0);
    } else {
        return false;
    }
    return true;
}

bool lake_s3_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp)
{
    lake *lk = ctx;
    if (req->header(req, "X-Amz-Target") || strncmp(req->path, "/_salespipe", 11) == 0)
        return false;
    const char *m = req->method;
    const char *p = req->path[0] == '/' ? req->path + 1 : req->path;
    if (!*p) {
        if (strcmp(m, "GET")) return false;
        list_buckets(lk, resp);
        return true;
    }
    char bucket[64];
    const char *slash = strchr(p, '/');
    size_t blen = slash ? (size_t)(slash - p) : strlen(p);
    if (blen >= sizeof bucket) blen = sizeof bucket - 1;
    memcpy(bucket, p, blen);
    bucket[blen] = '\0';
    const char *key = slash ? slash + 1 : "";
    sp_err e = {0};
    char scratch[8];

    if (!*key) {
        if (!strcmp(m, "PUT")) {
            if (!lake_bucket_create(lk, bucket, &e)) s3_error(resp, &e, bucket);
            else {
                sp_http_resp_header(resp, "Location", req->path);
                sp_http_resp_set(resp, 200, "application/xml", NULL, 0);
            }
        } else if (!strcmp(m, "HEAD")) {
            if (!lake_bucket_exists(lk, bucket)) sp_http_resp_set(resp, 404, NULL, NULL, 0);
            else sp_http_resp_set(resp, 200, NULL, NULL, 0);
        } else if (!strcmp(m, "GET")) {
            if (strstr(req->query, "location") == req->query) {
                sp_str x;
                sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
                sp_str_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<LocationConstraint/>");
                xml_reply(resp, 200, &x);
            } else if (query_get(req->query, "uploads", scratch, sizeof scratch) != PARAM_ABSENT) {
                list_uploads(lk, bucket, req, resp);
            } else {
                list_objects(lk, bucket, req, resp);
            }
        } else if (!strcmp(m, "DELETE")) {
            sp_err_set(&e, 409, "BucketNotEmpty",
                       "Buckets of the lake are managed by the configuration");
            s3_error(resp, &e, bucket);
        } else {
            return false;
        }
        return true;
    }

    if (query_get(req->query, "uploadId", scratch, sizeof scratch) != PARAM_ABSENT)
        return upload_request(lk, bucket, key, req, resp);
    if (!strcmp(m, "POST") &&
        query_get(req->query, "uploads", scratch, sizeof scratch) != PARAM_ABSENT) {
        create_upload(lk, bucket, key, resp);
    } else if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        get_object(lk, bucket, key, req, resp);
    } else if (!strcmp(m, "PUT")) {
        put_object(lk, bucket, key, req, resp);
    } else if (!strcmp(m, "DELETE")) {
        if (!lake_object_delete(lk, bucket, key, &e)) s3_error(resp, &e, key);
        else sp_http_resp_set(resp, 204, NULL, NULL, 0);
    } else {
        return false;
    }
    return true;
}
