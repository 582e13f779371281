/* lake_int.h: what the lake's own files share and nobody else sees: the atomic object writer
 * (temporary file in the target directory, MD5 computed as the bytes go by, ETag stored with
 * the file in an extended attribute, fsync, rename, fsync of the directory) and the ETag
 * record. lake.c (PutObject, delivery objects) and lake_mpu.c (multipart parts and the
 * assembled object) write through it, so every object of the lake gets its ETag the same way. */
#ifndef SP_LAKE_INT_H
#define SP_LAKE_INT_H

#include "lake.h"

#include <openssl/evp.h>
#include <sys/stat.h>

enum { LAKE_PATH_MAX = 4096 };

/* Name prefix of temporary files; a key segment may not start with it and listings skip it. */
#define LAKE_TMP_PREFIX ".tmp-"

/* The extended attribute that holds an object's ETag: "<quoted etag> <size> <mtime s>.<ns>".
 * Size and mtime let a reader tell that the file was changed behind the lake's back (by a
 * tool writing into the directory), in which case the stored ETag no longer applies. */
#define LAKE_ETAG_XATTR "user.salespipe.etag"

struct lake {
    char *root;
    lake_chunk_verifier verifier; /* .begin NULL: chunk signatures are not checked */
};

/* One file being written: "<dir>/.tmp-<random>", MD5 updated on every write. */
typedef struct lake_tmpfile {
    int fd;
    EVP_MD_CTX *md5;
    off_t size;
    char tmp[LAKE_PATH_MAX];
} lake_tmpfile;

/* Creates dir (mkdir -p) and a temporary file in it. On failure nothing is left behind. */
bool lake_tmpfile_open(lake_tmpfile *w, const char *dir, sp_err *e);
bool lake_tmpfile_write(lake_tmpfile *w, const void *data, size_t len, sp_err *e);
/* The MD5 of what was written so far; call once, before commit. */
void lake_tmpfile_md5(lake_tmpfile *w, unsigned char md5[16]);
/* Stores etag (quoted) with the file, fsyncs it, renames it onto path and fsyncs the
 * directory. Closes the writer whatever happens (the temporary file is removed on failure). */
bool lake_tmpfile_commit(lake_tmpfile *w, const char *path, const char *etag, sp_err *e);
/* Closes the writer and removes the temporary file. Safe after commit or on a zeroed writer. */
void lake_tmpfile_discard(lake_tmpfile *w);

/* "\"<hex md5>\"" or, with parts > 0, "\"<hex>-<parts>\"". */
void lake_etag_format(const unsigned char md5[16], int parts, char out[LAKE_ETAG_MAX]);
/* The ETag of the file at path with stat st: the stored one when it still describes the file,
 * else the one derived from size and mtime (objects written before ETags were stored). */
void lake_etag_load(const char *path, const struct stat *st, char out[LAKE_ETAG_MAX]);
/* The stored ETag only; false when there is none or it is stale. */
bool lake_etag_stored(const char *path, const struct stat *st, char out[LAKE_ETAG_MAX]);

/* 400 InvalidBucketName for a name S3 refuses; with must_exist, 404 NoSuchBucket. */
bool lake_bucket_check(const lake *lk, const char *bucket, bool must_exist, sp_err *e);

/* Parses CompleteMultipartUpload's part list (s3_xml.c); caller frees *parts. 400
 * MalformedXML for anything but that document. */
bool lake_s3_parts_parse(const char *xml, size_t len, lake_part **parts, size_t *n, sp_err *e);

/* S3 calls its generic failure InternalError; core's file errors say InternalFailure. */
void lake_s3_error_code(sp_err *e);

#endif
