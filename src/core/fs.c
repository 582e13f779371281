/* Directory creation and atomic file replacement (see fs.h). */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SP_FS_PATH_MAX = 4096 };

void sp_fs_error(sp_err *e, const char *what, const char *path)
{
    int err = errno;
    bool full = err == ENOSPC || err == EDQUOT;
    sp_err_set(e, full ? 503 : 500, full ? "ServiceUnavailable" : "InternalFailure",
               "%s '%s': %s", what, path, strerror(err));
}

bool sp_fs_mkdirs(const char *path, sp_err *e)
{
    char buf[SP_FS_PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        sp_err_internal(e, "path too long: '%.64s...'", path);
        return false;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            sp_fs_error(e, "cannot create directory", buf);
            return false;
        }
        *p = saved;
        if (!saved) return true;
    }
}

static bool write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

bool sp_fs_write_atomic(const char *path, const void *data, size_t len, sp_err *e)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    const char *name = slash ? slash + 1 : path;
    char tmp[SP_FS_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%.*s/.tmp-%s", dir_len, dir, name) >= (int)sizeof tmp) {
        sp_err_internal(e, "path too long: '%.64s...'", path);
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sp_fs_error(e, "cannot create", tmp);
        return false;
    }
    bool ok = write_all(fd, data, len) && fsync(fd) == 0;
    if (!ok) sp_fs_error(e, "cannot write", tmp);
    if (close(fd) != 0 && ok) {
        sp_fs_error(e, "cannot write", tmp);
        ok = false;
    }
    if (ok && rename(tmp, path) != 0) {
        sp_fs_error(e, "cannot rename into", path);
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        return false;
    }
    /* The rename is durable only once the directory entry is. */
    char dpath[SP_FS_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%.*s", dir_len, dir);
    int dfd = open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return true;
}

bool sp_fs_write_json_atomic(const char *path, const json_t *doc, sp_err *e)
{
    size_t len = 0;
    char *text = sp_json_dump(doc, &len);
    if (!text) {
        sp_err_internal(e, "cannot serialise '%s'", path);
        return false;
    }
    bool ok = sp_fs_write_atomic(path, text, len, e);
    free(text);
    return ok;
}

bool sp_fs_read_u64(const char *path, uint64_t *v, sp_err *e)
{
    char text[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            sp_fs_error(e, "cannot open", path);
            return false;
        }
        *v = 0;
        return true;
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0) {
        sp_fs_error(e, "cannot read", path);
        return false;
    }
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (end == text || errno || (*end && *end != '\n')) {
        sp_err_internal(e, "'%s' does not hold a number", path);
        return false;
    }
    *v = x;
    return true;
}

bool sp_fs_write_u64(const char *path, uint64_t v, sp_err *e)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", v);
    return sp_fs_write_atomic(path, text, (size_t)n, e);
}
