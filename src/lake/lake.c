/* The local-directory lake. Writes go through "<dir>/.tmp-<random>" in the object's own
 * directory so rename() is atomic, with the ETag (MD5 computed while writing) set on the
 * temporary file before the rename, so an object and its ETag appear together; listing walks
 * the bucket depth-first with entries sorted bytewise, which yields S3's lexicographic key
 * order for keys made of '/'-separated segments, and reads each ETag from its extended
 * attribute (no object is read to list it). */
#include "core/failpoint.h"
#include "lake_int.h"

#include <openssl/crypto.h>

#include "core/fs.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

enum { LAKE_KEY_MAX = 1024 };
/* S3 allows any 1024 bytes, but each '/'-separated segment of a key is a file or directory
 * name here, and those are at most NAME_MAX (255) bytes on the file systems Linux uses. */
enum { LAKE_KEY_SEGMENT_MAX = 255 };

void lake_s3_error_code(sp_err *e)
{
    if (e && !strcmp(e->code, "InternalFailure")) snprintf(e->code, sizeof e->code, "InternalError");
}
#define s3_error_code lake_s3_error_code

/* mkdir -p of the first upto bytes of path. */
static bool make_dirs(const char *path, size_t upto, sp_err *e)
{
    char buf[LAKE_PATH_MAX];
    if (upto >= sizeof buf) upto = sizeof buf - 1;
    memcpy(buf, path, upto);
    buf[upto] = '\0';
    bool ok = sp_fs_mkdirs(buf, e);
    if (!ok) s3_error_code(e);
    return ok;
}

void lake_s3_set_chunk_verifier(lake *lk, const lake_chunk_verifier *v)
{
    lk->verifier = *v;
}

lake *lake_open(const char *dir, sp_err *e)
{
    /* Objects get their MD5 on whatever thread writes them (delivery, Athena results). Set
     * OpenSSL up here, on the opening thread: its one-time setup (configuration, digests)
     * then never runs on a worker, which would leave that thread's error state behind, and
     * its exit-time cleanup is registered before anything that joins those workers. */
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL);
    if (!make_dirs(dir, strlen(dir), e)) return NULL;
    lake *lk = calloc(1, sizeof *lk);
    lk->root = strdup(dir);
    return lk;
}

void lake_close(lake *lk)
{
    if (!lk) return;
    free(lk->root);
    free(lk);
}

const char *lake_root(const lake *lk) { return lk->root; }

bool lake_bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 63) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    return name[0] != '.' && name[0] != '-' && strstr(name, "..") == NULL;
}

bool lake_bucket_check(const lake *lk, const char *bucket, bool must_exist, sp_err *e)
{
    if (!lake_bucket_name_valid(bucket)) {
        sp_err_set(e, 400, "InvalidBucketName", "The specified bucket '%s' is not valid", bucket);
        return false;
    }
    if (must_exist && !lake_bucket_exists(lk, bucket)) {
        sp_err_set(e, 404, "NoSuchBucket", "The specified bucket '%s' does not exist", bucket);
        return false;
    }
    return true;
}

bool lake_bucket_exists(const lake *lk, const char *bucket)
{
    if (!lake_bucket_name_valid(bucket)) return false;
    char path[LAKE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", lk->root, bucket);
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool lake_bucket_create(lake *lk, const char *bucket, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, false, e)) return false;
    char path[LAKE_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", lk->root, bucket);
    return make_dirs(path, (size_t)n, e);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (without . and ..); directories get a trailing '/' so
 * that the order is the order of the keys beneath them ("a-b" < "a/"). Caller frees each
 * name and the array. */
static char **dir_sorted(const char *path, size_t *count)
{
    *count = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    size_t cap = 16, n = 0;
    char **names = malloc(cap * sizeof *names);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
        bool is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            char full[LAKE_PATH_MAX];
            struct stat st;
            snprintf(full, sizeof full, "%s/%s", path, de->d_name);
            is_dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
        }
        size_t len = strlen(de->d_name);
        names[n] = malloc(len + 2);
        memcpy(names[n], de->d_name, len);
        names[n][len] = is_dir ? '/' : '\0';
        names[n][len + 1] = '\0';
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    *count = n;
    return names;
}

json_t *lake_bucket_list(const lake *lk, sp_err *e)
{
    (void)e;
    size_t n;
    char **names = dir_sorted(lk->root, &n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len && names[i][len - 1] == '/') {
            names[i][len - 1] = '\0';
            if (lake_bucket_name_valid(names[i])) json_array_append_new(out, json_string(names[i]));
        }
        free(names[i]);
    }
    free(names);
    return out;
}

/* Well-formed UTF-8: no stray continuation bytes, no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || (size_t)(end - p) < len) return false;
        unsigned cp = len == 1 ? c : c & (0xffu >> (len + 1));
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        p += len;
    }
    return true;
}

bool lake_key_valid(const char *key, sp_err *e)
{
    size_t n = strlen(key);
    if (n == 0) {
        sp_err_set(e, 400, "InvalidArgument", "Object key must not be empty");
        return false;
    }
    if (n > LAKE_KEY_MAX) {
        sp_err_set(e, 400, "KeyTooLongError", "Object key is longer than %d bytes", LAKE_KEY_MAX);
        return false;
    }
    if (key[0] == '/') {
        sp_err_set(e, 400, "InvalidArgument", "Object key '%s' must not start with '/'", key);
        return false;
    }
    for (const char *seg = key; seg;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.') ||
            (len >= sizeof LAKE_TMP_PREFIX - 1 &&
             !strncmp(seg, LAKE_TMP_PREFIX, sizeof LAKE_TMP_PREFIX - 1))) {
            sp_err_set(e, 400, "InvalidArgument",
                       "Object key '%s' has an empty, '.', '..' or reserved segment", key);
            return false;
        }
        if (len > LAKE_KEY_SEGMENT_MAX) {
            sp_err_set(e, 400, "KeyTooLongError",
                       "Object key '%.*s...' has a segment of %zu bytes between slashes; this "
                       "lake stores each segment as a file name, so it may hold at most %d",
                       (int)(seg - key) + 40, key, len, LAKE_KEY_SEGMENT_MAX);
            return false;
        }
        seg = slash ? slash + 1 : NULL;
    }
    if (!utf8_valid(key, n)) {
        /* S3 keys are UTF-8; anything else would also break the XML of every listing. */
        sp_err_set(e, 400, "InvalidArgument", "Object key is not valid UTF-8");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (*p < 0x20 || *p == '\\') {
            sp_err_set(e, 400, "InvalidArgument",
                       "Object key has a control character or backslash at byte %ld",
                       (long)(p - (const unsigned char *)key));
            return false;
        }
    }
    return true;
}

char *lake_object_path(const lake *lk, const char *bucket, const char *key)
{
    if (!lake_bucket_name_valid(bucket) || !lake_key_valid(key, NULL)) return NULL;
    size_t n = strlen(lk->root) + strlen(bucket) + strlen(key) + 3;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s/%s", lk->root, bucket, key);
    return p;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (w == 0) {
            errno = EIO;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* I/O failures name the operation and the errno text, never a path of the data dir: the
 * message goes back to API clients. ENOSPC/EDQUOT are 503 as in core's fs errors. */
static void io_error(sp_err *e, const char *what, const char *path)
{
    int err = errno;
    sp_debug("lake: %s '%s': %s", what, path, strerror(err));
    bool full = err == ENOSPC || err == EDQUOT;
    sp_err_set(e, full ? 503 : 500, full ? "ServiceUnavailable" : "InternalError", "%s: %s", what,
               strerror(err));
}

bool lake_tmpfile_open(lake_tmpfile *w, const char *dir, sp_err *e)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (!make_dirs(dir, strlen(dir), e)) return false;
    /* getrandom, not OpenSSL's generator: this runs on any thread, also while the process
     * exits (OpenSSL's atexit cleanup), and a name only needs to be unpredictable enough not
     * to collide. */
    unsigned long long salt = 0;
    if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != (ssize_t)sizeof salt) salt = 0;
    if (snprintf(w->tmp, sizeof w->tmp, "%s/%s%llx", dir, LAKE_TMP_PREFIX,
                 salt ^ (unsigned long long)sp_clock_mono_ns()) >= (int)sizeof w->tmp) {
        sp_err_set(e, 400, "KeyTooLongError", "The object's path is too long for the lake");
        return false;
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        io_error(e, "cannot create a temporary file", w->tmp);
        return false;
    }
    w->md5 = EVP_MD_CTX_new();
    if (!w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        lake_tmpfile_discard(w);
        sp_err_set(e, 500, "InternalError", "cannot start an MD5 digest");
        return false;
    }
    return true;
}

bool lake_tmpfile_write(lake_tmpfile *w, const void *data, size_t len, sp_err *e)
{
    if (!write_all(w->fd, data, len)) {
        io_error(e, "cannot write object data", w->tmp);
        return false;
    }
    EVP_DigestUpdate(w->md5, data, len);
    w->size += (off_t)len;
    return true;
}

void lake_tmpfile_md5(lake_tmpfile *w, unsigned char md5[16])
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(w->md5, md5, &n);
    assert(n == 16);
}

void lake_tmpfile_discard(lake_tmpfile *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    w->fd = -1;
    EVP_MD_CTX_free(w->md5);
    w->md5 = NULL;
}

bool lake_tmpfile_commit(lake_tmpfile *w, const char *path, const char *etag, sp_err *e)
{
    struct stat st;
    bool ok = fstat(w->fd, &st) == 0;
    if (!ok) io_error(e, "cannot stat a temporary file", w->tmp);
    if (ok) {
        char rec[LAKE_ETAG_MAX + 64];
        int n = snprintf(rec, sizeof rec, "%s %lld %lld.%09ld", etag, (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        /* A file system without user xattrs still gets the object, with a derived ETag. */
        if (fsetxattr(w->fd, LAKE_ETAG_XATTR, rec, (size_t)n, 0) != 0 && errno != ENOTSUP)
            ok = false, io_error(e, "cannot store the ETag", w->tmp);
    }
    if (ok && fsync(w->fd) != 0) ok = false, io_error(e, "cannot fsync object data", w->tmp);
    if (ok) sp_failpoint("lake.before-rename");
    if (ok && rename(w->tmp, path) != 0) ok = false, io_error(e, "cannot rename the object", path);
    if (!ok) {
        lake_tmpfile_discard(w);
        return false;
    }
    close(w->fd);
    w->fd = -1;
    EVP_MD_CTX_free(w->md5);
    w->md5 = NULL;
    /* The rename is durable only once the directory entry is. */
    char dir[LAKE_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

void lake_etag_format(const unsigned char md5[16], int parts, char out[LAKE_ETAG_MAX])
{
    out[0] = '"';
    for (unsigned i = 0; i < 16; i++) snprintf(out + 1 + 2 * i, 3, "%02x", md5[i]);
    if (parts > 0) snprintf(out + 33, LAKE_ETAG_MAX - 33, "-%d\"", parts);
    else snprintf(out + 33, LAKE_ETAG_MAX - 33, "\"");
}

bool lake_etag_stored(const char *path, const struct stat *st, char out[LAKE_ETAG_MAX])
{
    char rec[LAKE_ETAG_MAX + 64];
    ssize_t n = getxattr(path, LAKE_ETAG_XATTR, rec, sizeof rec - 1);
    if (n <= 0) return false;
    rec[n] = '\0';
    char etag[LAKE_ETAG_MAX];
    long long size, sec;
    long nsec;
    if (sscanf(rec, "%47s %lld %lld.%ld", etag, &size, &sec, &nsec) != 4) return false;
    if (size != (long long)st->st_size || sec != (long long)st->st_mtim.tv_sec ||
        nsec != (long)st->st_mtim.tv_nsec || etag[0] != '"')
        return false;
    snprintf(out, LAKE_ETAG_MAX, "%s", etag);
    return true;
}

void lake_etag_load(const char *path, const struct stat *st, char out[LAKE_ETAG_MAX])
{
    if (lake_etag_stored(path, st, out)) return;
    /* Objects from before ETags were stored, or changed by another tool: an ETag that still
     * changes whenever the object does, without reading it. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char seed[64];
    int len = snprintf(seed, sizeof seed, "%lld/%lld", (long long)st->st_size,
                       (long long)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000);
    EVP_Digest(seed, (size_t)len, md, &n, EVP_md5(), NULL);
    lake_etag_format(md, 0, out);
}

/* The public streaming writer: a temporary file of the lake's own (lake_tmpfile, so the
 * object gets its MD5 ETag like every other) plus the object's final path. */
struct lake_writer {
    lake_tmpfile f;
    char *path;
};

lake_writer *lake_writer_open(lake *lk, const char *bucket, const char *key, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return NULL;
    lake_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->path = lake_object_path(lk, bucket, key);
    char *slash = strrchr(w->path, '/');
    *slash = '\0';
    bool ok = lake_tmpfile_open(&w->f, w->path, e);
    *slash = '/';
    if (!ok) {
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

bool lake_writer_write(lake_writer *w, const void *data, size_t len, sp_err *e)
{
    return lake_tmpfile_write(&w->f, data, len, e);
}

uint64_t lake_writer_size(const lake_writer *w) { return (uint64_t)w->f.size; }

void lake_writer_abort(lake_writer *w)
{
    if (!w) return;
    lake_tmpfile_discard(&w->f);
    free(w->path);
    free(w);
}

bool lake_writer_commit(lake_writer *w, sp_err *e)
{
    unsigned char md5[16];
    char tag[LAKE_ETAG_MAX];
    lake_tmpfile_md5(&w->f, md5);
    lake_etag_format(md5, 0, tag);
    bool ok = lake_tmpfile_commit(&w->f, w->path, tag, e);
    lake_writer_abort(w);
    return ok;
}

FILE *lake_object_open(const lake *lk, const char *bucket, const char *key, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return NULL;
    char *path = lake_object_path(lk, bucket, key);
    FILE *f = fopen(path, "rb");
    free(path);
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f) fclose(f);
        sp_err_set(e, 404, "NoSuchKey", "The specified key '%s' does not exist", key);
        return NULL;
    }
    return f;
}

bool lake_object_put(lake *lk, const char *bucket, const char *key, const void *data, size_t len,
                     sp_err *e)
{
    return lake_object_put_etag(lk, bucket, key, data, len, NULL, e);
}

bool lake_object_put_etag(lake *lk, const char *bucket, const char *key, const void *data,
                          size_t len, char etag[LAKE_ETAG_MAX], sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    char *path = lake_object_path(lk, bucket, key);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    lake_tmpfile w;
    bool ok = lake_tmpfile_open(&w, path, e);
    *slash = '/';
    if (ok) ok = lake_tmpfile_write(&w, data, len, e);
    char tag[LAKE_ETAG_MAX];
    if (ok) {
        unsigned char md5[16];
        lake_tmpfile_md5(&w, md5);
        lake_etag_format(md5, 0, tag);
        ok = lake_tmpfile_commit(&w, path, tag, e);
    }
    lake_tmpfile_discard(&w);
    if (ok && etag) snprintf(etag, LAKE_ETAG_MAX, "%s", tag);
    free(path);
    return ok;
}

bool lake_object_get(const lake *lk, const char *bucket, const char *key, char **data,
                     size_t *len, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    char *path = lake_object_path(lk, bucket, key);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f) fclose(f);
        sp_err_set(e, 404, "NoSuchKey", "The specified key '%s' does not exist", key);
        free(path);
        return false;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    free(path);
    if (got != (size_t)st.st_size) {
        free(buf);
        sp_err_internal(e, "short read of '%s'", key);
        return false;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return true;
}

bool lake_object_read(const lake *lk, const char *bucket, const char *key, off_t off, size_t len,
                      char **data, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    char *path = lake_object_path(lk, bucket, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        sp_err_set(e, 404, "NoSuchKey", "The specified key '%s' does not exist", key);
        return false;
    }
    char *buf = malloc(len + 1);
    size_t got = 0;
    while (buf && got < len) {
        ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != len) {
        free(buf);
        sp_err_internal(e, "short read of '%s'", key);
        s3_error_code(e);
        return false;
    }
    buf[len] = '\0';
    *data = buf;
    return true;
}

bool lake_object_delete(lake *lk, const char *bucket, const char *key, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    char *path = lake_object_path(lk, bucket, key);
    bool ok = unlink(path) == 0 || errno == ENOENT; /* S3 deletes are idempotent */
    if (!ok) io_error(e, "cannot delete", path);
    free(path);
    return ok;
}

bool lake_object_stat(const lake *lk, const char *bucket, const char *key, lake_object_info *out,
                      sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e) || !lake_key_valid(key, e)) return false;
    char *path = lake_object_path(lk, bucket, key);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (ok) lake_etag_load(path, &st, out->etag);
    free(path);
    if (!ok) {
        sp_err_set(e, 404, "NoSuchKey", "The specified key '%s' does not exist", key);
        return false;
    }
    out->key = key;
    out->size = st.st_size;
    out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return true;
}

/* Depth-first walk; rel is the key so far. Returns false when fn asked to stop. */
static bool walk(const char *dir, sp_str *rel, const char *prefix, lake_object_fn fn, void *arg)
{
    size_t n;
    char **names = dir_sorted(dir, &n);
    bool go_on = true;
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        if (!go_on || !strncmp(name, LAKE_TMP_PREFIX, sizeof LAKE_TMP_PREFIX - 1)) continue;
        size_t mark = rel->len;
        sp_str_puts(rel, name); /* directories carry their '/' already */
        /* Prune subtrees that cannot match the prefix. */
        size_t cmp = rel->len < plen ? rel->len : plen;
        if (strncmp(rel->buf, prefix, cmp) == 0) {
            char path[LAKE_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            struct stat st;
            if (stat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode)) {
                    go_on = walk(path, rel, prefix, fn, arg);
                } else if (S_ISREG(st.st_mode) && rel->len >= plen) {
                    lake_object_info info = {
                        .key = rel->buf,
                        .size = st.st_size,
                        .mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
                                    st.st_mtim.tv_nsec / 1000000,
                    };
                    lake_etag_load(path, &st, info.etag);
                    go_on = fn(arg, &info);
                }
            }
        }
        rel->len = mark;
        rel->buf[mark] = '\0';
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return go_on;
}

bool lake_object_list(const lake *lk, const char *bucket, const char *prefix, lake_object_fn fn,
                      void *arg, sp_err *e)
{
    if (!lake_bucket_check(lk, bucket, true, e)) return false;
    char path[LAKE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", lk->root, bucket);
    sp_str rel;
    char initial[512];
    sp_str_init(&rel, initial, sizeof initial, LAKE_PATH_MAX);
    walk(path, &rel, prefix ? prefix : "", fn, arg);
    sp_str_release(&rel);
    return true;
}
