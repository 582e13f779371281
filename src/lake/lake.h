/* lake: the S3 role. A bucket is a directory <data>/lake/<bucket>/ and an object is the file at
 * its key, so any tool (DuckDB, jq, gzip) reads the lake as it is. Objects are written to a
 * temporary name, fsynced and renamed, so a reader never sees a partial object; keys that
 * could leave the bucket directory are refused. */
#ifndef SP_LAKE_H
#define SP_LAKE_H

#include "core/core.h"
#include "core/http.h"

#include <stdio.h>
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
 * segment, no empty segment, and does not start with '/'. Invalid keys are refused with
 * 400 InvalidArgument / KeyTooLong (message says why). */
bool lake_key_valid(const char *key, sp_err *e);

/* Writes the object atomically (tmp + fsync + rename + fsync of the directory). Overwriting
 * an existing key replaces it whole, which is what makes redoing a delivery idempotent. */
bool lake_object_put(lake *lk, const char *bucket, const char *key, const void *data, size_t len,
                     sp_err *e);
/* An object written in pieces, for producers that must not hold it whole (Athena results):
 * the bytes go to a temporary file beside the key, and commit makes the object appear at
 * once (fsync, rename, fsync of the directory), as lake_object_put does; abort (or a crash)
 * leaves no object. One thread uses a writer at a time. */
typedef struct lake_writer lake_writer;

/* Starts the object; the bucket must exist and the key be valid. Caller ends it with
 * lake_writer_commit or lake_writer_abort. */
lake_writer *lake_writer_open(lake *lk, const char *bucket, const char *key, sp_err *e);
bool lake_writer_write(lake_writer *w, const void *data, size_t len, sp_err *e);
/* Bytes written so far. */
uint64_t lake_writer_size(const lake_writer *w);
/* Publishes the object and frees w (also on failure, when nothing is published). */
bool lake_writer_commit(lake_writer *w, sp_err *e);
/* Drops the temporary file and frees w; NULL is fine. */
void lake_writer_abort(lake_writer *w);

/* Opens the object for reading (positioned reads, seeks): 404 NoSuchKey / NoSuchBucket
 * when absent. Caller fcloses. */
FILE *lake_object_open(const lake *lk, const char *bucket, const char *key, sp_err *e);

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
