/* lake: the S3 role. A bucket is a directory <data>/lake/<bucket>/ and an object is the file at
 * its key, so any tool (DuckDB, jq, gzip) reads the lake as it is. Objects are written to a
 * temporary name, fsynced and renamed, so a reader never sees a partial object; keys that
 * could leave the bucket directory are refused. Each object's ETag (the MD5 of its content,
 * or S3's multipart form) is computed while it is written and kept in an extended attribute
 * of the file, so listing a bucket never reads objects. Multipart uploads in progress live
 * under <data>/lake/.uploads/<uploadId>/, outside every bucket's tree. */
#ifndef SP_LAKE_H
#define SP_LAKE_H

#include "core/core.h"
#include "core/http.h"

#include <sys/types.h>

typedef struct lake lake;

/* S3's limits, which the lake enforces as S3 does. */
#define LAKE_PART_MIN_SIZE ((off_t)5 << 20)  /* every part but the last: 5 MiB */
#define LAKE_PART_MAX_SIZE ((off_t)5 << 30)  /* any part: 5 GiB */
enum {
    LAKE_PARTS_MAX = 10000,      /* part numbers 1..10000 */
    LAKE_ETAG_MAX = 48,          /* "\"<32 hex>-<parts>\"" and its NUL */
    LAKE_UPLOAD_ID_LEN = 32,     /* hex digits of 16 random bytes */
};

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
/* The same, handing back the object's ETag (quoted MD5 hex) in etag when it is not NULL. */
bool lake_object_put_etag(lake *lk, const char *bucket, const char *key, const void *data,
                          size_t len, char etag[LAKE_ETAG_MAX], sp_err *e);
/* An object written in pieces, for producers that must not hold it whole (Athena results):
 * the bytes go to a temporary file beside the key, and commit makes the object appear at
 * once (fsync, rename, fsync of the directory) with its MD5 ETag, as lake_object_put does;
 * abort (or a crash) leaves no object. One thread uses a writer at a time. */
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
/* Reads len bytes at offset off (the caller checked them against the object's size); caller
 * frees *data. */
bool lake_object_read(const lake *lk, const char *bucket, const char *key, off_t off, size_t len,
                      char **data, sp_err *e);
bool lake_object_delete(lake *lk, const char *bucket, const char *key, sp_err *e);

typedef struct lake_object_info {
    const char *key;        /* borrowed for the duration of the callback */
    off_t size;
    int64_t mtime_ms;
    char etag[LAKE_ETAG_MAX]; /* quoted, as S3 sends it */
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

/* ---- multipart uploads (lake_mpu.c) ------------------------------------------------------ */

/* An upload id is LAKE_UPLOAD_ID_LEN lowercase hex digits; nothing else names an upload
 * directory, so a hostile id ("../x", 10 000 bytes) is refused before any path is built. */
bool lake_upload_id_valid(const char *id);

/* Starts an upload of bucket/key; id receives a new random upload id. */
bool lake_mpu_create(lake *lk, const char *bucket, const char *key,
                     char id[LAKE_UPLOAD_ID_LEN + 1], sp_err *e);

typedef struct lake_part {
    int number;
    off_t size;
    int64_t mtime_ms;
    char etag[LAKE_ETAG_MAX];   /* quoted MD5 of the part */
} lake_part;

/* Stores (or replaces) part number of upload id; etag receives the part's ETag. 404
 * NoSuchUpload when id is not an upload of bucket/key, 400 InvalidArgument for a part
 * number outside 1..10000, 400 EntityTooLarge past 5 GiB. */
bool lake_mpu_part_put(lake *lk, const char *bucket, const char *key, const char *id,
                       int number, const void *data, size_t len, char etag[LAKE_ETAG_MAX],
                       sp_err *e);
/* The parts stored so far, by part number; caller frees *parts. */
bool lake_mpu_parts(const lake *lk, const char *bucket, const char *key, const char *id,
                    lake_part **parts, size_t *n, sp_err *e);
/* Assembles the listed parts (number and etag as the client sent them) into the object:
 * InvalidPartOrder unless numbers ascend, InvalidPart when one is missing or its ETag differs,
 * EntityTooSmall when a part but the last is under 5 MiB. The object appears whole or not at
 * all; then the upload and its parts are removed. etag receives "<md5 of md5s>-<n>". */
bool lake_mpu_complete(lake *lk, const char *bucket, const char *key, const char *id,
                       const lake_part *parts, size_t n, char etag[LAKE_ETAG_MAX], sp_err *e);
/* Removes the upload and its parts. */
bool lake_mpu_abort(lake *lk, const char *bucket, const char *key, const char *id, sp_err *e);

typedef struct lake_upload {
    char id[LAKE_UPLOAD_ID_LEN + 1];
    char *key;                  /* owned by the array, freed by lake_uploads_free */
    int64_t initiated_ms;
} lake_upload;
/* Uploads in progress in bucket whose key starts with prefix, by key then initiation time. */
bool lake_mpu_list(const lake *lk, const char *bucket, const char *prefix, lake_upload **uploads,
                   size_t *n, sp_err *e);
void lake_uploads_free(lake_upload *uploads, size_t n);

/* ---- aws-chunked bodies (lake_chunked.c) --------------------------------------------------- */

enum { LAKE_TRAILERS_MAX = 4, LAKE_TRAILER_NAME_MAX = 64, LAKE_TRAILER_VALUE_MAX = 128,
       LAKE_CHUNK_SIG_LEN = 64 };

typedef struct lake_chunked_trailer {
    char name[LAKE_TRAILER_NAME_MAX];   /* lowercased */
    char value[LAKE_TRAILER_VALUE_MAX];
} lake_chunked_trailer;

typedef struct lake_chunked {
    char *data;                 /* decoded bytes, malloc'd, owned by the caller */
    size_t len;
    lake_chunked_trailer trailers[LAKE_TRAILERS_MAX];
    size_t n_trailers;
    bool signed_chunks;         /* chunks carried ";chunk-signature=" */
    char trailer_signature[LAKE_CHUNK_SIG_LEN + 1]; /* x-amz-trailer-signature, "" if none */
    const char *trailer_text;   /* the trailer lines as sent (into the input), for signing */
    size_t trailer_len;
} lake_chunked;

/* Called once per chunk, in order, the final empty chunk included, with the chunk's
 * signature (64 hex digits, NUL-terminated) or NULL when the chunk carries none: the
 * boundary where SigV4's chunk signature chain is checked. false (with e set) stops the
 * decoding. */
typedef bool (*lake_chunk_fn)(void *arg, const char *signature, const void *data, size_t len,
                              sp_err *e);

/* Decodes an aws-chunked body: "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" ...
 * "0[;chunk-signature=<sig>]\r\n" then trailer lines "name:value\r\n" and "\r\n", ending
 * exactly at the end of the input. Strict: sizes of at most 16 hex digits that fit the input,
 * no extensions but chunk-signature, at most LAKE_TRAILERS_MAX trailers of bounded length,
 * every chunk signed or none. On error *out holds nothing to free and e says what was wrong
 * (400 IncompleteBody or InvalidRequest). fn may be NULL. */
bool lake_chunked_decode(const char *in, size_t len, lake_chunk_fn fn, void *arg,
                         lake_chunked *out, sp_err *e);

/* ---- integrity headers (lake_digest.c) ----------------------------------------------------- */

/* Checks Content-MD5 (base64 of 16 bytes; 400 InvalidDigest when malformed, 400 BadDigest
 * when it is not the MD5 of data). */
bool lake_digest_md5_check(const char *content_md5, const void *data, size_t len, sp_err *e);

typedef enum lake_checksum_alg {
    LAKE_CK_CRC32, LAKE_CK_CRC32C, LAKE_CK_CRC64NVME, LAKE_CK_SHA1, LAKE_CK_SHA256, LAKE_CK_COUNT
} lake_checksum_alg;
/* "x-amz-checksum-crc32" ... */
const char *lake_checksum_header(lake_checksum_alg alg);
/* The algorithm of a header name (case-insensitive); false for anything else. */
bool lake_checksum_by_header(const char *name, lake_checksum_alg *alg);
/* Base64 of the big-endian checksum of data into out (>= 45 bytes). */
void lake_checksum_compute(lake_checksum_alg alg, const void *data, size_t len, char out[48]);
/* Checks value (base64, as the header carries it) against data: 400 InvalidRequest when it is
 * not a valid value for the algorithm, 400 BadDigest ("The CRC32 you specified did not match
 * the calculated checksum.") when it does not match. */
bool lake_checksum_check(lake_checksum_alg alg, const char *value, const void *data, size_t len,
                         sp_err *e);

/* ---- S3 REST API (path-style) ------------------------------------------------------------ */

/* The S3 REST route for api/: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * ListObjects(V2) with prefix/delimiter/continuation, GetObject (Range), HeadObject,
 * PutObject, DeleteObject. ctx is the lake. Claims every request whose path names a bucket
 * and that carries no X-Amz-Target. */
bool lake_s3_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp);

/* What api/ plugs in to check the SigV4 signature chain of signed aws-chunked bodies
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): begin reads the seed signature and the
 * signing scope from the request and returns per-request state (NULL with e set to refuse);
 * chunk is called per chunk as lake_chunk_fn; trailer with the trailer text and its
 * x-amz-trailer-signature; end frees the state. Without a verifier, chunk signatures are
 * not checked (api/ refuses streaming payloads before dispatch when SigV4 is configured). */
typedef struct lake_chunk_verifier {
    void *(*begin)(void *ctx, const sp_http_req *req, sp_err *e);
    lake_chunk_fn chunk;
    bool (*trailer)(void *state, const char *text, size_t len, const char *signature, sp_err *e);
    void (*end)(void *state);
    void *ctx;
} lake_chunk_verifier;
/* @locality before the server starts. v is copied. */
void lake_s3_set_chunk_verifier(lake *lk, const lake_chunk_verifier *v);

#endif
