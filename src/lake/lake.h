/* lake: the S3 role. A bucket is a directory <data>/lake/<bucket>/ and an object is the file at
 * its key, so any tool (DuckDB, jq, gzip) reads the lake as it is. Objects are written to a
 * temporary name, fsynced and renamed, so a reader never sees a partial object; keys that
 * could leave the bucket directory are refused. */
#ifndef SP_LAKE_H
#define SP_LAKE_H

#include "core/core.h"
#include "core/http.h"

#include <sys/types.h>

typedef struct lake lake;

/* Opens the lake rooted at dir (created if missing). Caller destroys with lake_close. */
lake *lake_open(const char *dir, sp_err *e);
void lake_close(lake *lk);
const char *lake_root(const lake *lk);

/* Bucket names follow S3's rules (3-63 chars of a-z 0-9 . -). */
bool lake_bucket_name_valid(const char *name);
bool lake_bucket_create(lake *lk, const char *bucket, sp_err *e);   /* idempotent */
bool lake_bucket_exists(const lake *lk, const char *bucket);
/* Lists bucket names into a new JSON array of strings. */
json_t *lake_bucket_list(const lake *lk, sp_err *e);

/* An object key is valid when it is 1..1024 bytes of UTF-8, has no NUL, no "." or ".."
 * segment, no empty segment, no segment over 255 bytes (a file name), and does not start
 * with '/'. Invalid keys are refused with 400 InvalidArgument / KeyTooLongError (message
 * says why and names the key, never a file). */
bool lake_key_valid(const char *key, sp_err *e);

/* Writes the object atomically (tmp + fsync + rename + fsync of the directory). Overwriting
 * an existing key replaces it whole, which is what makes redoing a delivery idempotent. */
bool lake_object_put(lake *lk, const char *bucket, const char *key, const void *data, size_t len,
                     sp_err *e);
/* Reads the whole object; caller frees *data. 404 NoSuchKey / NoSuchBucket when absent. */
bool lake_object_get(const lake *lk, const char *bucket, const char *key, char **data,
                     size_t *len, sp_err *e);
bool lake_object_delete(lake *lk, const char *bucket, const char *key, sp_err *e);

typedef struct lake_object_info {
    const char *key;        /* borrowed for the duration of the callback */
    off_t size;
    int64_t mtime_ms;
} lake_object_info;
typedef bool (*lake_object_fn)(void *arg, const lake_object_info *obj); /* false: stop */

/* Visits the objects of a bucket whose key starts with prefix, in key (byte) order.
 * Temporary files of writes in progress are never visited. */
bool lake_object_list(const lake *lk, const char *bucket, const char *prefix, lake_object_fn fn,
                      void *arg, sp_err *e);
bool lake_object_stat(const lake *lk, const char *bucket, const char *key, lake_object_info *out,
                      sp_err *e);
/* Filesystem path of an object (no existence check); caller frees. NULL for invalid keys. */
char *lake_object_path(const lake *lk, const char *bucket, const char *key);

/* ---- S3 REST API (path-style) ------------------------------------------------------------ */

/* The S3 REST route for api/: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * ListObjects(V2) with prefix/delimiter/continuation, GetObject (Range), HeadObject,
 * PutObject, DeleteObject. ctx is the lake. Claims every request whose path names a bucket
 * and that carries no X-Amz-Target. */
bool lake_s3_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp);

#endif
