/* The S3 REST API over the lake, path-style (http://127.0.0.1:4566/<bucket>/<key>), enough for
 * `aws s3 ls/cp/rm`, boto3's get_object/put_object/list_objects_v2 and the Athena result
 * location. Responses are S3's XML shapes; errors are <Error><Code>…</Code><Message>…</Message>.
 *
 * ETags are derived from size and modification time, not from the content's MD5, so listing
 * a large bucket does not read every object. */
#include "lake.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void etag_of(const lake_object_info *info, char out[40])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char seed[64];
    int len = snprintf(seed, sizeof seed, "%lld/%lld", (long long)info->size,
                       (long long)info->mtime_ms);
    EVP_Digest(seed, (size_t)len, md, &n, EVP_md5(), NULL);
    out[0] = '"';
    for (unsigned i = 0; i < 16; i++) snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
    out[33] = '"';
    out[34] = '\0';
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
    char when[32], etag[40];
    iso_time(obj->mtime_ms, when);
    etag_of(obj, etag);
    sp_str_puts(l->x, "<Contents><Key>");
    xml_escape(l->x, obj->key);
    sp_str_appendf(l->x, "</Key><LastModified>%s</LastModified><ETag>&quot;%.32s&quot;</ETag>"
                         "<Size>%lld</Size><StorageClass>STANDARD</StorageClass></Contents>",
                   when, etag + 1, (long long)obj->size);
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
    char etag[40], when[40];
    etag_of(info, etag);
    http_time(info->mtime_ms, when);
    sp_http_resp_header(resp, "ETag", etag);
    sp_http_resp_header(resp, "Last-Modified", when);
    sp_http_resp_header(resp, "Accept-Ranges", "bytes");
}

/* Parses "bytes=a-b", "bytes=a-", "bytes=-n" against size; false if unsatisfiable. */
static bool parse_range(const char *h, size_t size, size_t *from, size_t *to)
{
    if (strncmp(h, "bytes=", 6) != 0 || size == 0) return false;
    const char *r = h + 6;
    char *end;
    if (*r == '-') {
        unsigned long long n = strtoull(r + 1, &end, 10);
        if (*end || n == 0) return false;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return true;
    }
    unsigned long long a = strtoull(r, &end, 10);
    if (*end != '-' || a >= size) return false;
    r = end + 1;
    unsigned long long b = *r ? strtoull(r, &end, 10) : size - 1;
    if (*r && *end) return false;
    if (b >= size) b = size - 1;
    if (b < a) return false;
    *from = a;
    *to = b;
    return true;
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
    char *data = NULL;
    size_t len = 0;
    /* HEAD reads the object too: the server derives Content-Length from the body it would
     * send and then sends none. */
    if (!lake_object_get(lk, bucket, key, &data, &len, &e)) {
        s3_error(resp, &e, key);
        return;
    }
    object_headers(resp, &info);
    const char *range = req->header(req, "Range");
    if (range) {
        size_t from, to;
        if (!parse_range(range, len, &from, &to)) {
            free(data);
            sp_err_set(&e, 416, "InvalidRange", "The requested range '%s' is not satisfiable",
                       range);
            s3_error(resp, &e, key);
            return;
        }
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", from, to, len);
        sp_http_resp_header(resp, "Content-Range", cr);
        memmove(data, data + from, to - from + 1);
        sp_http_resp_set(resp, 206, "application/octet-stream", data, to - from + 1);
        return;
    }
    sp_http_resp_set(resp, 200, "application/octet-stream", data, len);
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

    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        get_object(lk, bucket, key, req, resp);
    } else if (!strcmp(m, "PUT")) {
        if (!lake_object_put(lk, bucket, key, req->body, req->body_len, &e)) {
            s3_error(resp, &e, key);
        } else {
            lake_object_info info;
            if (lake_object_stat(lk, bucket, key, &info, &e)) object_headers(resp, &info);
            sp_http_resp_set(resp, 200, NULL, NULL, 0);
        }
    } else if (!strcmp(m, "DELETE")) {
        if (!lake_object_delete(lk, bucket, key, &e)) s3_error(resp, &e, key);
        else sp_http_resp_set(resp, 204, NULL, NULL, 0);
    } else {
        return false;
    }
    return true;
}
