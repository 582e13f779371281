/* Multipart uploads. An upload is the directory <root>/.uploads/<uploadId>/ holding
 * "upload.json" (bucket, key, initiation time) and one file per part, "part-NNNNN", each
 * written atomically with its ETag like an object. ".uploads" is not a valid bucket name, so
 * neither bucket listings, object listings nor the crawler (which walk buckets) ever see it.
 * Upload ids are 16 random bytes in hex and are checked to be exactly that before a path is
 * built from them. Completing copies the parts, in order, into a temporary file in the
 * object's directory that is renamed onto the key, so readers see the whole object or none;
 * the upload's directory is then renamed out of the way and removed. */
#include "lake_int.h"

#include "core/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAKE_UPLOADS_DIR ".uploads"
#define LAKE_UPLOAD_META "upload.json"
enum { LAKE_UPLOAD_META_MAX = 8192, LAKE_COPY_BUF = 1 << 20 };

static void no_such_upload(sp_err *e)
{
    sp_err_set(e, 404, "NoSuchUpload",
               "The specified multipart upload does not exist. The upload ID might be invalid, "
               "or the multipart upload might have been aborted or completed.");
}

bool lake_upload_id_valid(const char *id)
{
    size_t i = 0;
    for (; id[i] && i <= LAKE_UPLOAD_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return false;
    return i == LAKE_UPLOAD_ID_LEN;
}

/* "<root>/.uploads/<id>" into out; the only place an upload id becomes a path. */
static bool upload_dir(const lake *lk, const char *id, char out[LAKE_PATH_MAX], sp_err *e)
{
    if (!lake_upload_id_valid(id)) {
        no_such_upload(e);
        return false;
    }
    snprintf(out, LAKE_PATH_MAX, "%s/" LAKE_UPLOADS_DIR "/%s", lk->root, id);
    return true;
}

/* The upload's description, or NULL when dir holds none (aborted, completed, never was). */
static json_t *upload_meta(const char *dir)
{
    char path[LAKE_PATH_MAX];
    snprintf(path, sizeof path, "%s/" LAKE_UPLOAD_META, dir);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char buf[LAKE_UPLOAD_META_MAX];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == sizeof buf) return NULL;
    sp_err e = {0};
    json_t *j = sp_json_parse(buf, n, &e);
    if (j && (!json_is_string(json_object_get(j, "bucket")) ||
              !json_is_string(json_object_get(j, "key")))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Checks that id names an upload of bucket/key and puts its directory in dir. */
static bool upload_open(const lake *lk, const char *bucket, const char *key, const char *id,
                        char dir[LAKE_PATH_MAX], sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e) ||
        !upload_dir(lk, id, dir, e))
        return false;
    json_t *meta = upload_meta(dir);
    bool ok = meta && !strcmp(json_string_value(json_object_get(meta, "bucket")), bucket) &&
              !strcmp(json_string_value(json_object_get(meta, "key")), key);
    json_decref(meta);
    if (!ok) no_such_upload(e);
    return ok;
}

bool lake_mpu_create(lake *lk, const char *bucket, const char *key,
                     char id[LAKE_UPLOAD_ID_LEN + 1], sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    unsigned char r[LAKE_UPLOAD_ID_LEN / 2];
    if (RAND_bytes(r, sizeof r) != 1) {
        sp_err_set(e, 500, "InternalError", "no randomness for an upload id");
        return false;
    }
    for (size_t i = 0; i < sizeof r; i++) snprintf(id + 2 * i, 3, "%02x", r[i]);
    char dir[LAKE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/" LAKE_UPLOADS_DIR, lk->root);
    if (!sp_fs_mkdirs(dir, e)) goto io;
    upload_dir(lk, id, dir, e);
    if (mkdir(dir, 0755) != 0) { /* EEXIST would mean 128 random bits repeated */
        sp_fs_error(e, "cannot create the upload", dir);
        goto io;
    }
    json_t *meta = json_pack("{s:s, s:s, s:I}", "bucket", bucket, "key", key, "initiated_ms",
                             (json_int_t)sp_clock_wall_ms());
    char path[LAKE_PATH_MAX];
    bool ok = snprintf(path, sizeof path, "%s/" LAKE_UPLOAD_META, dir) < (int)sizeof path &&
              sp_fs_write_json_atomic(path, meta, e);
    json_decref(meta);
    if (ok) return true;
    rmdir(dir);
io:
    sp_debug("lake: %s", e->msg);
    sp_err_set(e, e->status == 503 ? 503 : 500, e->status == 503 ? "ServiceUnavailable"
                                                                 : "InternalError",
               "cannot start the multipart upload of '%s'", key);
    return false;
}

static void part_path(const char *dir, int number, char out[LAKE_PATH_MAX])
{
    /* dir is shorter than LAKE_PATH_MAX by construction; the check quiets -Wformat-truncation */
    if (snprintf(out, LAKE_PATH_MAX, "%s/part-%05d", dir, number) >= LAKE_PATH_MAX) out[0] = '\0';
}

bool lake_mpu_part_put(lake *lk, const char *bucket, const char *key, const char *id,
                       int number, const void *data, size_t len, char etag[LAKE_ETAG_MAX],
                       sp_err *e)
{
    char dir[LAKE_PATH_MAX];
    if (!upload_open(lk, bucket, key, id, dir, e)) return false;
    if (number < 1 || number > LAKE_PARTS_MAX) {
        sp_err_set(e, 400, "InvalidArgument",
                   "Part number must be an integer between 1 and %d, inclusive", LAKE_PARTS_MAX);
        return false;
    }
    if ((off_t)len > LAKE_PART_MAX_SIZE) {
        sp_err_set(e, 400, "EntityTooLarge",
                   "Your proposed upload exceeds the maximum allowed size");
        return false;
    }
    lake_tmpfile w;
    if (!lake_tmpfile_open(&w, dir, e)) return false;
    bool ok = lake_tmpfile_write(&w, data, len, e);
    char tag[LAKE_ETAG_MAX];
    if (ok) {
        unsigned char md5[16];
        lake_tmpfile_md5(&w, md5);
        lake_etag_format(md5, 0, tag);
        char path[LAKE_PATH_MAX];
        part_path(dir, number, path);
        ok = lake_tmpfile_commit(&w, path, tag, e);
    }
    lake_tmpfile_discard(&w);
    if (ok) snprintf(etag, LAKE_ETAG_MAX, "%s", tag);
    return ok;
}

static int cmp_part(const void *a, const void *b)
{
    return ((const lake_part *)a)->number - ((const lake_part *)b)->number;
}

/* Parts present in dir, by number. */
static bool parts_of(const char *dir, lake_part **parts, size_t *n, sp_err *e)
{
    *parts = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        no_such_upload(e);
        return false;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int number = 0, used = 0;
        if (sscanf(de->d_name, "part-%5d%n", &number, &used) != 1 || used != 10 ||
            de->d_name[used] || number < 1 || number > LAKE_PARTS_MAX)
            continue;
        char path[LAKE_PATH_MAX];
        part_path(dir, number, path);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *parts = realloc(*parts, cap * sizeof **parts);
        }
        lake_part *p = &(*parts)[(*n)++];
        p->number = number;
        p->size = st.st_size;
        p->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        lake_etag_load(path, &st, p->etag);
    }
    closedir(d);
    if (*n) qsort(*parts, *n, sizeof **parts, cmp_part);
    return true;
}

bool lake_mpu_parts(const lake *lk, const char *bucket, const char *key, const char *id,
                    lake_part **parts, size_t *n, sp_err *e)
{
    char dir[LAKE_PATH_MAX];
    *parts = NULL;
    *n = 0;
    return upload_open(lk, bucket, key, id, dir, e) && parts_of(dir, parts, n, e);
}

/* An ETag as a client sends it back: with or without quotes, any case. */
static bool etag_matches(const char *stored, const char *sent)
{
    size_t sl = strlen(sent);
    if (sl >= 2 && sent[0] == '"' && sent[sl - 1] == '"') sent++, sl -= 2;
    size_t tl = strlen(stored) - 2; /* stored is always quoted */
    return sl == tl && !strncasecmp(stored + 1, sent, sl);
}

static bool hex_md5(const char *etag, unsigned char md5[16])
{
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(etag + 1 + 2 * i, "%2x", &v) != 1) return false;
        md5[i] = (unsigned char)v;
    }
    return true;
}

/* Removes an upload: its directory is first renamed to a temporary name, so a concurrent
 * request sees the upload either whole or gone. */
static void upload_remove(const lake *lk, const char *dir)
{
    char dead[LAKE_PATH_MAX];
    snprintf(dead, sizeof dead, "%s/" LAKE_UPLOADS_DIR "/" LAKE_TMP_PREFIX "%s", lk->root,
             strrchr(dir, '/') + 1);
    if (rename(dir, dead) != 0) return;
    DIR *d = opendir(dead);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char path[LAKE_PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dead, de->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dead);
}

static bool copy_part(lake_tmpfile *w, const char *path, char *buf, sp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sp_err_set(e, 400, "InvalidPart", "a part vanished while the upload was completed");
        return false;
    }
    bool ok = true;
    for (;;) {
        ssize_t r = read(fd, buf, LAKE_COPY_BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            sp_err_set(e, 500, "InternalError", "cannot read a part: %s", strerror(errno));
            ok = false;
        }
        if (r <= 0) break;
        if (!lake_tmpfile_write(w, buf, (size_t)r, e)) {
            ok = false;
            break;
        }
    }
    close(fd);
    return ok;
}

bool lake_mpu_complete(lake *lk, const char *bucket, const char *key, const char *id,
                       const lake_part *parts, size_t n, char etag[LAKE_ETAG_MAX], sp_err *e)
{
    char dir[LAKE_PATH_MAX];
    if (!upload_open(lk, bucket, key, id, dir, e)) return false;
    if (n == 0 || n > LAKE_PARTS_MAX) {
        sp_err_set(e, 400, "MalformedXML",
                   "The XML you provided was not well-formed or did not validate against our "
                   "published schema");
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (parts[i].number <= parts[i - 1].number) {
            sp_err_set(e, 400, "InvalidPartOrder",
                       "The list of parts was not in ascending order. The parts list must be "
                       "specified in order by part number.");
            return false;
        }
    }
    lake_part *have;
    size_t n_have;
    if (!parts_of(dir, &have, &n_have, e)) return false;
    /* Both lists ascend: one merge pass finds each listed part. Every part must be found
     * before sizes matter: InvalidPart wins over EntityTooSmall. */
    EVP_MD_CTX *md5s = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5s, EVP_md5(), NULL);
    bool ok = true;
    const lake_part *small = NULL;
    for (size_t i = 0, j = 0; ok && i < n; i++) {
        while (j < n_have && have[j].number < parts[i].number) j++;
        unsigned char md5[16];
        if (j == n_have || have[j].number != parts[i].number ||
            !etag_matches(have[j].etag, parts[i].etag) || !hex_md5(have[j].etag, md5)) {
            sp_err_set(e, 400, "InvalidPart",
                       "One or more of the specified parts could not be found. The part might "
                       "not have been uploaded, or the specified entity tag might not have "
                       "matched the part's entity tag. (part %d)", parts[i].number);
            ok = false;
        } else {
            if (i + 1 < n && have[j].size < LAKE_PART_MIN_SIZE && !small) small = &have[j];
            EVP_DigestUpdate(md5s, md5, sizeof md5);
        }
    }
    if (ok && small) {
        sp_err_set(e, 400, "EntityTooSmall",
                   "Your proposed upload is smaller than the minimum allowed object size. "
                   "(part %d has %lld bytes; every part but the last needs %lld)",
                   small->number, (long long)small->size, (long long)LAKE_PART_MIN_SIZE);
        ok = false;
    }
    free(have);
    char tag[LAKE_ETAG_MAX];
    if (ok) {
        unsigned char md5[16];
        unsigned int len = 0;
        EVP_DigestFinal_ex(md5s, md5, &len);
        lake_etag_format(md5, (int)n, tag);
    }
    EVP_MD_CTX_free(md5s);
    if (!ok) return false;

    char *path = lake_object_path(lk, bucket, key);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    lake_tmpfile w;
    ok = lake_tmpfile_open(&w, path, e);
    *slash = '/';
    char *buf = ok ? malloc(LAKE_COPY_BUF) : NULL;
    for (size_t i = 0; ok && i < n; i++) {
        char pp[LAKE_PATH_MAX];
        part_path(dir, parts[i].number, pp);
        ok = copy_part(&w, pp, buf, e);
    }
    free(buf);
    if (ok) {
        unsigned char whole[16];
        lake_tmpfile_md5(&w, whole);
        ok = lake_tmpfile_commit(&w, path, tag, e);
    }
    lake_tmpfile_discard(&w);
    free(path);
    if (!ok) return false;
    upload_remove(lk, dir);
    snprintf(etag, LAKE_ETAG_MAX, "%s", tag);
    return true;
}

bool lake_mpu_abort(lake *lk, const char *bucket, const char *key, const char *id, sp_err *e)
{
    char dir[LAKE_PATH_MAX];
    if (!upload_open(lk, bucket, key, id, dir, e)) return false;
    upload_remove(lk, dir);
    return true;
}

static int cmp_upload(const void *a, const void *b)
{
    const lake_upload *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->initiated_ms < y->initiated_ms ? -1 : x->initiated_ms > y->initiated_ms;
}

bool lake_mpu_list(const lake *lk, const char *bucket, const char *prefix, lake_upload **uploads,
                   size_t *n, sp_err *e)
{
    *uploads = NULL;
    *n = 0;
    if (!lake_bucket_check(lk, bucket, true, e)) return false;
    char root[LAKE_PATH_MAX];
    snprintf(root, sizeof root, "%s/" LAKE_UPLOADS_DIR, lk->root);
    DIR *d = opendir(root);
    if (!d) return true; /* no upload was ever started */
    size_t cap = 0, plen = prefix ? strlen(prefix) : 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!lake_upload_id_valid(de->d_name)) continue;
        char dir[LAKE_PATH_MAX];
        upload_dir(lk, de->d_name, dir, NULL);
        json_t *meta = upload_meta(dir);
        const char *key = meta ? json_string_value(json_object_get(meta, "key")) : NULL;
        if (key && !strcmp(json_string_value(json_object_get(meta, "bucket")), bucket) &&
            !strncmp(key, prefix ? prefix : "", plen)) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                *uploads = realloc(*uploads, cap * sizeof **uploads);
            }
            lake_upload *u = &(*uploads)[(*n)++];
            memcpy(u->id, de->d_name, LAKE_UPLOAD_ID_LEN + 1); /* valid: exactly that long */
            u->key = strdup(key);
            u->initiated_ms = (int64_t)json_integer_value(json_object_get(meta, "initiated_ms"));
        }
        json_decref(meta);
    }
    closedir(d);
    if (*n) qsort(*uploads, *n, sizeof **uploads, cmp_upload);
    return true;
}

void lake_uploads_free(lake_upload *uploads, size_t n)
{
    for (size_t i = 0; i < n; i++) free(uploads[i].key);
    free(uploads);
}
