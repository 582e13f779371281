/* powercut_shim: an LD_PRELOAD library that lets a test pull the plug on salespipe. It is a
 * test helper only (built by CMake beside the tests, never linked into the product).
 *
 * Model. For every file under $POWERCUT_DIR that the process changes, the shim keeps a shadow
 * copy of the file's content as of its last fsync/fdatasync, in $POWERCUT_SHADOW:
 *   <dev>-<ino>.path  the file's current path (replaced atomically on rename)
 *   <dev>-<ino>.data  the durable content
 * Before the first change of a file that existed when the process started, its content is
 * copied to the shadow (it was durable: the previous run ended with a power cut or a clean
 * stop); a file the process creates starts with an empty shadow. write, pwrite(64), writev,
 * pwritev(64/2) and ftruncate(64) only mark a byte range of the file dirty; fsync and
 * fdatasync copy the dirty range (and the size) into the shadow after the real call returns.
 * sync_file_range is not a durability barrier and changes nothing here.
 *
 * The power cut is done by the test: SIGKILL the process, then replace every file that has a
 * shadow with its shadow (powercut.py `roll_back`), applying an entry only when the path
 * still names the same inode. So whatever was written and not fsynced is gone, exactly as
 * after a power loss on a disk that honours fsync.
 *
 * Directory operations (create, rename, unlink, mkdir) are modelled as durable at once, i.e.
 * as if every directory were fsynced right after each change: a weaker fault than the real
 * one (a rename can also be lost), so this model can miss a missing directory fsync but never
 * invents a loss. Renaming a file never fsynced makes the new name hold the empty (or old)
 * shadow content, which does catch the missing file fsync before a rename. Writes through
 * mmap are not seen; the only mmap'ed files under the data dir are SQLite's -shm files,
 * which hold no durable state and are not tracked. Files written through stdio (fopen) are
 * not seen either (glibc calls the system calls internally).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { PC_MAX_FDS = 65536, PC_COPY_BUF = 1 << 16 };

typedef struct pc_file {
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
    bool snapshotted;          /* the .data shadow exists */
    off_t lo, hi;              /* dirty bytes since the last sync; lo >= hi: none */
    struct pc_file *next;
} pc_file;

static pthread_mutex_t pc_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pc_once = PTHREAD_ONCE_INIT;
static char pc_dir[PATH_MAX], pc_shadow[PATH_MAX];
static size_t pc_dir_len;
static bool pc_on;
static pc_file *pc_files;
static pc_file *pc_fds[PC_MAX_FDS];

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_remove)(const char *);

static void pc_init(void)
{
    real_open = dlsym(RTLD_NEXT, "open");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_pwritev = dlsym(RTLD_NEXT, "pwritev");
    real_pwritev2 = dlsym(RTLD_NEXT, "pwritev2");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_close = dlsym(RTLD_NEXT, "close");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_renameat = dlsym(RTLD_NEXT, "renameat");
    real_renameat2 = dlsym(RTLD_NEXT, "renameat2");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    real_unlinkat = dlsym(RTLD_NEXT, "unlinkat");
    real_remove = dlsym(RTLD_NEXT, "remove");
    const char *d = getenv("POWERCUT_DIR"), *s = getenv("POWERCUT_SHADOW");
    if (d && s && *d == '/' && *s == '/') {
        snprintf(pc_dir, sizeof pc_dir, "%s", d);
        snprintf(pc_shadow, sizeof pc_shadow, "%s", s);
        pc_dir_len = strlen(pc_dir);
        while (pc_dir_len > 1 && pc_dir[pc_dir_len - 1] == '/') pc_dir[--pc_dir_len] = '\0';
        pc_on = true;
    }
}

static void pc_ready(void) { pthread_once(&pc_once, pc_init); }

/* ---- paths ------------------------------------------------------------------------------ */

static bool pc_tracked_path(const char *abs)
{
    size_t n = strlen(abs);
    if (strncmp(abs, pc_dir, pc_dir_len) || abs[pc_dir_len] != '/') return false;
    return !(n > 4 && !strcmp(abs + n - 4, "-shm"));
}

/* The absolute form of (dirfd, path), without resolving symlinks or "..". */
static bool pc_abs(int dirfd, const char *path, char *out, size_t size)
{
    if (!path) return false;
    if (path[0] == '/') return snprintf(out, size, "%s", path) < (int)size;
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof base)) return false;
    } else {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, base, sizeof base - 1);
        if (n < 0) return false;
        base[n] = '\0';
    }
    return snprintf(out, size, "%s/%s", base, path) < (int)size;
}

static void pc_shadow_name(const pc_file *f, const char *ext, char *out, size_t size)
{
    snprintf(out, size, "%s/%llu-%llu.%s", pc_shadow, (unsigned long long)f->dev,
             (unsigned long long)f->ino, ext);
}

/* ---- shadow files (callers hold pc_mu) ------------------------------------------------- */

static bool pc_write_whole(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = len == 0 || real_write(fd, data, len) == (ssize_t)len;
    real_close(fd);
    return ok && real_rename(tmp, path) == 0;
}

static void pc_save_path(const pc_file *f)
{
    char p[PATH_MAX + 64];
    pc_shadow_name(f, "path", p, sizeof p);
    pc_write_whole(p, f->path, strlen(f->path));
}

/* Copies [lo, hi) of src into dst at the same offsets. */
static void pc_copy_range(int src, int dst, off_t lo, off_t hi)
{
    static char buf[PC_COPY_BUF];
    while (lo < hi) {
        size_t want = (size_t)(hi - lo) < sizeof buf ? (size_t)(hi - lo) : sizeof buf;
        ssize_t n = pread(src, buf, want, lo);
        if (n <= 0) break;
        if (real_pwrite(dst, buf, (size_t)n, lo) != n) break;
        lo += n;
    }
}

/* The file's current content becomes its shadow (tmp + rename: a cut mid-copy leaves no
 * shadow, i.e. the file as it is, which is right as nothing changed it yet). */
static void pc_snapshot(pc_file *f)
{
    if (f->snapshotted) return;
    char d[PATH_MAX + 64], tmp[PATH_MAX + 72];
    pc_shadow_name(f, "data", d, sizeof d);
    snprintf(tmp, sizeof tmp, "%s.tmp", d);
    int src = real_open(f->path, O_RDONLY | O_CLOEXEC);
    int dst = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (src >= 0 && dst >= 0) {
        struct stat st;
        if (fstat(src, &st) == 0) pc_copy_range(src, dst, 0, st.st_size);
    }
    if (src >= 0) real_close(src);
    if (dst >= 0) real_close(dst);
    if (dst >= 0) real_rename(tmp, d);
    f->snapshotted = true;
}

static pc_file *pc_find(dev_t dev, ino_t ino)
{
    for (pc_file *f = pc_files; f; f = f->next)
        if (f->dev == dev && f->ino == ino) return f;
    return NULL;
}

/* The entry of a file (created if needed). created: the process just created it, so its
 * durable content is empty. */
static pc_file *pc_entry(const struct stat *st, const char *abs, bool created)
{
    pc_file *f = pc_find(st->st_dev, st->st_ino);
    if (f) return f;
    f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    snprintf(f->path, sizeof f->path, "%s", abs);
    f->next = pc_files;
    pc_files = f;
    pc_save_path(f);
    if (created) {
        char d[PATH_MAX + 64];
        pc_shadow_name(f, "data", d, sizeof d);
        pc_write_whole(d, "", 0);
        f->snapshotted = true;
    }
    return f;
}

static void pc_forget(pc_file *f)
{
    char p[PATH_MAX + 64];
    pc_shadow_name(f, "path", p, sizeof p);
    real_unlink(p);
    pc_shadow_name(f, "data", p, sizeof p);
    real_unlink(p);
    for (pc_file **pp = &pc_files; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    for (int i = 0; i < PC_MAX_FDS; i++)
        if (pc_fds[i] == f) pc_fds[i] = NULL;
    free(f);
}

static void pc_dirty(pc_file *f, off_t lo, off_t hi)
{
    if (hi <= lo) return;
    if (f->lo >= f->hi) {
        f->lo = lo;
        f->hi = hi;
    } else {
        if (lo < f->lo) f->lo = lo;
        if (hi > f->hi) f->hi = hi;
    }
}

/* After a successful fsync of fd: the shadow takes the file's size and dirty bytes. */
static void pc_synced(int fd, pc_file *f)
{
    if (!f->snapshotted) return;   /* never changed: the shadow would equal the file */
    char d[PATH_MAX + 64], self[64];
    pc_shadow_name(f, "data", d, sizeof d);
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int src = real_open(self, O_RDONLY | O_CLOEXEC);
    int dst = real_open(d, O_WRONLY | O_CLOEXEC);
    struct stat st;
    if (src >= 0 && dst >= 0 && fstat(src, &st) == 0) {
        real_ftruncate(dst, st.st_size);
        off_t hi = f->hi < st.st_size ? f->hi : st.st_size;
        if (f->lo < hi) pc_copy_range(src, dst, f->lo, hi);
        f->lo = f->hi = 0;
    }
    if (src >= 0) real_close(src);
    if (dst >= 0) real_close(dst);
}

static pc_file *pc_fd(int fd) { return fd >= 0 && fd < PC_MAX_FDS ? pc_fds[fd] : NULL; }

/* ---- opening ----------------------------------------------------------------------------- */

static int pc_after_open(int fd, const char *abs, bool existed)
{
    if (fd < 0 || fd >= PC_MAX_FDS) return fd;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return fd;
    pthread_mutex_lock(&pc_mu);
    pc_fds[fd] = pc_entry(&st, abs, !existed);
    pthread_mutex_unlock(&pc_mu);
    return fd;
}

/* Before an open that may change the file: notes whether it exists, and snapshots it when
 * O_TRUNC is about to empty it. Returns whether the open is to be tracked. */
static bool pc_before_open(int dirfd, const char *path, int flags, char *abs, bool *existed)
{
    pc_ready();
    if (!pc_on || (flags & O_ACCMODE) == O_RDONLY) return false;
    if (!pc_abs(dirfd, path, abs, PATH_MAX) || !pc_tracked_path(abs)) return false;
    struct stat st;
    *existed = stat(abs, &st) == 0;
    if (*existed && (flags & O_TRUNC) && S_ISREG(st.st_mode)) {
        pthread_mutex_lock(&pc_mu);
        pc_file *f = pc_entry(&st, abs, false);
        if (f) {
            pc_snapshot(f);
            pc_dirty(f, 0, st.st_size);
        }
        pthread_mutex_unlock(&pc_mu);
    }
    return true;
}

static int pc_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    char abs[PATH_MAX];
    bool existed = false;
    bool track = pc_before_open(dirfd, path, flags, abs, &existed);
    int fd = real_openat(dirfd, path, flags, mode);
    return track ? pc_after_open(fd, abs, existed) : fd;
}

static mode_t pc_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = pc_mode(flags, ap);
    va_end(ap);
    pc_ready();
    return pc_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = pc_mode(flags, ap);
    va_end(ap);
    pc_ready();
    return pc_openat(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = pc_mode(flags, ap);
    va_end(ap);
    pc_ready();
    return pc_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = pc_mode(flags, ap);
    va_end(ap);
    pc_ready();
    return pc_openat(dirfd, path, flags, mode);
}

int close(int fd)
{
    pc_ready();
    /* No lock: close may run in a forked child, where pc_mu may be held by a dead thread. */
    if (fd >= 0 && fd < PC_MAX_FDS) __atomic_store_n(&pc_fds[fd], NULL, __ATOMIC_SEQ_CST);
    return real_close(fd);
}

/* ---- writes ------------------------------------------------------------------------------ */

/* Marks [off, off+len) dirty (snapshotting first); off < 0: at the fd's current offset. */
static void pc_note(int fd, off_t off, size_t len)
{
    pc_file *f = pc_fd(fd);
    if (!f) return;
    if (off < 0) {
        int fl = fcntl(fd, F_GETFL);
        struct stat st;
        if (fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0) off = st.st_size;
        else off = lseek(fd, 0, SEEK_CUR);
        if (off < 0) off = 0;
    }
    pthread_mutex_lock(&pc_mu);
    if (pc_fds[fd] == f) {
        pc_snapshot(f);
        pc_dirty(f, off, off + (off_t)len);
    }
    pthread_mutex_unlock(&pc_mu);
}

static size_t pc_iov_len(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    pc_ready();
    if (!pc_fd(fd)) return real_write(fd, buf, n);
    off_t at = lseek(fd, 0, SEEK_CUR);
    pc_note(fd, at, n);
    ssize_t r = real_write(fd, buf, n);
    if (r > 0) pc_note(fd, at >= 0 ? at : -1, (size_t)r); /* again: a sync may have run */
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    pc_ready();
    pc_note(fd, off, n);
    ssize_t r = real_pwrite(fd, buf, n, off);
    if (r > 0) pc_note(fd, off, (size_t)r);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    pc_ready();
    if (!pc_fd(fd)) return real_writev(fd, iov, cnt);
    off_t at = lseek(fd, 0, SEEK_CUR);
    size_t len = pc_iov_len(iov, cnt);
    pc_note(fd, at, len);
    ssize_t r = real_writev(fd, iov, cnt);
    if (r > 0) pc_note(fd, at >= 0 ? at : -1, (size_t)r);
    return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    pc_ready();
    size_t len = pc_iov_len(iov, cnt);
    pc_note(fd, off, len);
    ssize_t r = real_pwritev(fd, iov, cnt, off);
    if (r > 0) pc_note(fd, off, (size_t)r);
    return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev(fd, iov, cnt, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    pc_ready();
    size_t len = pc_iov_len(iov, cnt);
    pc_note(fd, off, len);
    ssize_t r = real_pwritev2(fd, iov, cnt, off, flags);
    if (r > 0) pc_note(fd, off, (size_t)r);
    return r;
}

int ftruncate(int fd, off_t len)
{
    pc_ready();
    struct stat st;
    if (pc_fd(fd) && fstat(fd, &st) == 0) {
        off_t lo = len < st.st_size ? len : st.st_size, hi = len < st.st_size ? st.st_size : len;
        pc_note(fd, lo, (size_t)(hi - lo));
    }
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

/* ---- barriers ---------------------------------------------------------------------------- */

static int pc_sync(int fd, bool data_only)
{
    pc_ready();
    int r = data_only ? real_fdatasync(fd) : real_fsync(fd);
    pc_file *f = pc_fd(fd);
    if (r == 0 && f) {
        pthread_mutex_lock(&pc_mu);
        if (pc_fds[fd] == f) pc_synced(fd, f);
        pthread_mutex_unlock(&pc_mu);
    }
    return r;
}

int fsync(int fd) { return pc_sync(fd, false); }
int fdatasync(int fd) { return pc_sync(fd, true); }

/* ---- directory operations (durable at once, see the top) -------------------------------- */

static int pc_rename(int olddir, const char *from, int newdir, const char *to, unsigned flags,
                     int how)
{
    pc_ready();
    char a[PATH_MAX], b[PATH_MAX];
    struct stat sa, sb;
    bool track = pc_on && pc_abs(olddir, from, a, sizeof a) && pc_abs(newdir, to, b, sizeof b) &&
                 (pc_tracked_path(a) || pc_tracked_path(b));
    bool had_a = track && lstat(a, &sa) == 0 && S_ISREG(sa.st_mode);
    bool had_b = track && lstat(b, &sb) == 0 && S_ISREG(sb.st_mode);
    int r = how == 0 ? real_rename(from, to)
            : how == 1 ? real_renameat(olddir, from, newdir, to)
                       : real_renameat2(olddir, from, newdir, to, flags);
    if (r != 0 || !track) return r;
    pthread_mutex_lock(&pc_mu);
    if (had_a) {
        pc_file *f = pc_find(sa.st_dev, sa.st_ino);
        if (!f && pc_tracked_path(b)) f = pc_entry(&sa, b, false);
        if (f) {
            snprintf(f->path, sizeof f->path, "%s", b);
            pc_save_path(f);
        }
    }
    if (had_b && !(had_a && sb.st_ino == sa.st_ino && sb.st_dev == sa.st_dev) &&
        sb.st_nlink <= 1) {
        pc_file *g = pc_find(sb.st_dev, sb.st_ino);
        if (g) pc_forget(g);
    }
    pthread_mutex_unlock(&pc_mu);
    return r;
}

int rename(const char *from, const char *to)
{
    return pc_rename(AT_FDCWD, from, AT_FDCWD, to, 0, 0);
}

int renameat(int od, const char *from, int nd, const char *to)
{
    return pc_rename(od, from, nd, to, 0, 1);
}

int renameat2(int od, const char *from, int nd, const char *to, unsigned flags)
{
    return pc_rename(od, from, nd, to, flags, 2);
}

static int pc_unlink(int dirfd, const char *path, int flags, int how)
{
    pc_ready();
    char a[PATH_MAX];
    struct stat st;
    bool track = pc_on && pc_abs(dirfd, path, a, sizeof a) && pc_tracked_path(a) &&
                 lstat(a, &st) == 0 && S_ISREG(st.st_mode);
    int r = how == 0 ? real_unlink(path) : how == 1 ? real_unlinkat(dirfd, path, flags)
                                                    : real_remove(path);
    if (r == 0 && track && st.st_nlink <= 1) {
        pthread_mutex_lock(&pc_mu);
        pc_file *f = pc_find(st.st_dev, st.st_ino);
        if (f) pc_forget(f);
        pthread_mutex_unlock(&pc_mu);
    }
    return r;
}

int unlink(const char *path) { return pc_unlink(AT_FDCWD, path, 0, 0); }
int unlinkat(int dirfd, const char *path, int flags) { return pc_unlink(dirfd, path, flags, 1); }
int remove(const char *path) { return pc_unlink(AT_FDCWD, path, 0, 2); }
