/* The Direct PUT buffer: acknowledged PutRecord/PutRecordBatch records must survive a crash
 * before they reach the lake, so they go to one append-only file per delivery stream, fsynced
 * before the API answers. A frame is [u32 length][u32 CRC32C of arrival+data][i64 arrival ms]
 * [data]; a record's position is the file offset just past its frame, so a checkpoint is an
 * offset and a read seeks straight to it. On open, a torn tail (a frame cut by a crash before
 * it was acknowledged) is truncated. The log behaves as a one-shard source for the runner. */
#include "dlv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FRAME_HEADER = 16 };
static const uint64_t DIRECT_COMPACT_BYTES = 64ull << 20;

struct dlv_direct {
    int fd;
    char *path;
    uint64_t size;
    uint64_t generation;
    uint64_t compact_bytes;
    pthread_mutex_t mu;
    pthread_cond_t cond;
};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_i64(unsigned char *p, int64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}
static int64_t get_i64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

/* Reads the frame at off; data is malloc'd (caller frees). false at the end or on damage. */
static bool frame_read(int fd, uint64_t off, uint64_t size, int64_t *arrival, char **data,
                       uint32_t *len)
{
    unsigned char h[FRAME_HEADER];
    if (off + FRAME_HEADER > size || !pread_all(fd, h, sizeof h, off)) return false;
    *len = get_u32(h);
    if (*len > DLV_RECORD_MAX_BYTES || off + FRAME_HEADER + *len > size) return false;
    *data = malloc(*len + 1u);
    if (!pread_all(fd, *data, *len, off + FRAME_HEADER)) {
        free(*data);
        return false;
    }
    uint32_t crc = sp_crc32c(sp_crc32c(0, h + 8, 8), *data, *len);
    if (crc != get_u32(h + 4)) {
        free(*data);
        return false;
    }
    (*data)[*len] = '\0';
    *arrival = get_i64(h + 8);
    return true;
}

dlv_direct *dlv_direct_open(const char *path, sp_err *e)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sp_err_internal(e, "cannot open Direct PUT log '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat stt;
    fstat(fd, &stt);
    uint64_t size = (uint64_t)stt.st_size, off = 0;
    for (;;) {
        int64_t arrival;
        char *data;
        uint32_t len;
        if (!frame_read(fd, off, size, &arrival, &data, &len)) break;
        free(data);
        off += FRAME_HEADER + len;
    }
    if (off != size) {
        sp_warn("Direct PUT log '%s': cutting a torn tail of %llu bytes at offset %llu", path,
                (unsigned long long)(size - off), (unsigned long long)off);
        if (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0) {
            sp_err_internal(e, "cannot truncate '%s': %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
    }
    dlv_direct *d = calloc(1, sizeof *d);
    d->fd = fd;
    d->path = strdup(path);
    d->size = off;
    d->compact_bytes = DIRECT_COMPACT_BYTES;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cond, NULL);
    return d;
}

void dlv_direct_close(dlv_direct *d)
{
    if (!d) return;
    close(d->fd);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cond);
    free(d->path);
    free(d);
}

bool dlv_direct_append(dlv_direct *d, const void *const *data, const size_t *lens, size_t n,
                       uint64_t *positions, sp_err *e)
{
    sp_str buf;
    sp_str_init(&buf, NULL, 0, SP_STR_NO_MAX);
    int64_t now = sp_clock_wall_ms();
    pthread_mutex_lock(&d->mu);
    uint64_t off = d->size;
    for (size_t i = 0; i < n; i++) {
        unsigned char h[FRAME_HEADER];
        put_u32(h, (uint32_t)lens[i]);
        put_i64(h + 8, now);
        put_u32(h + 4, sp_crc32c(sp_crc32c(0, h + 8, 8), data[i], lens[i]));
        sp_str_append(&buf, h, sizeof h);
        sp_str_append(&buf, data[i], lens[i]);
        off += FRAME_HEADER + lens[i];
        positions[i] = off;
    }
    bool ok = !sp_str_failed(&buf);
    size_t done = 0;
    while (ok && done < buf.len) {
        ssize_t w = pwrite(d->fd, buf.buf + done, buf.len - done, (off_t)(d->size + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = false;
        else done += (size_t)w;
    }
    ok = ok && fdatasync(d->fd) == 0;
    if (ok) {
        d->size = off;
        d->generation++;
        pthread_cond_broadcast(&d->cond);
    } else {
        /* Nothing acknowledged: cut whatever part of the batch reached the file. */
        if (ftruncate(d->fd, (off_t)d->size) != 0) sp_warn("Direct PUT log: truncate failed");
        sp_err_set(e, 503, "ServiceUnavailableException", "Direct PUT log '%s': %s", d->path,
                   strerror(errno ? errno : EIO));
    }
    pthread_mutex_unlock(&d->mu);
    sp_str_release(&buf);
    return ok;
}

long dlv_direct_read(dlv_direct *d, uint64_t after, size_t max, size_t max_bytes,
                     stm_record_fn fn, void *arg, sp_err *e)
{
    pthread_mutex_lock(&d->mu);
    uint64_t size = d->size;
    pthread_mutex_unlock(&d->mu);
    if (after > size) {
        sp_err_internal(e, "Direct PUT log '%s': position %llu is past the end (%llu)", d->path,
                        (unsigned long long)after, (unsigned long long)size);
        return -1;
    }
    long n = 0;
    size_t bytes = 0;
    uint64_t off = after;
    while ((size_t)n < max && off < size && (n == 0 || bytes < max_bytes)) {
        int64_t arrival;
        char *data;
        uint32_t len;
        if (!frame_read(d->fd, off, size, &arrival, &data, &len)) {
            sp_err_internal(e, "Direct PUT log '%s': damaged frame at %llu", d->path,
                            (unsigned long long)off);
            return -1;
        }
        off += FRAME_HEADER + len;
        char seq[24];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)off);
        stm_record rec = {.shard_index = 0, .seq = off, .seq_str = seq, .arrival_ms = arrival,
                          .partition_key = "", .data = data, .len = len};
        bool more = fn(arg, &rec);
        free(data);
        n++;
        bytes += len;
        if (!more) break;
    }
    return n;
}

static int direct_shards(void *ctx, sp_err *e)
{
    (void)ctx;
    (void)e;
    return 1;
}

static long direct_read(void *ctx, int shard, uint64_t after, size_t max, size_t max_bytes,
                        stm_record_fn fn, void *arg, sp_err *e)
{
    (void)shard;
    return dlv_direct_read(ctx, after, max, max_bytes, fn, arg, e);
}

static uint64_t direct_wait(void *ctx, uint64_t seen, int timeout_ms)
{
    dlv_direct *d = ctx;
    struct timespec ts;
    sp_clock_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&d->mu);
    while (d->generation == seen && timeout_ms > 0)
        if (pthread_cond_timedwait(&d->cond, &d->mu, &ts) != 0) break;
    uint64_t g = d->generation;
    pthread_mutex_unlock(&d->mu);
    return g;
}

void dlv_direct_set_compact_bytes(dlv_direct *d, uint64_t bytes) { d->compact_bytes = bytes; }

static uint64_t direct_end(void *ctx, int shard)
{
    (void)shard;
    dlv_direct *d = ctx;
    pthread_mutex_lock(&d->mu);
    uint64_t size = d->size;
    pthread_mutex_unlock(&d->mu);
    return size;
}

/* Appends are held off from the truncation until the consumer has rebased its checkpoint, so
 * no record can land at a position the consumer believes it already delivered. A crash in
 * between leaves a checkpoint past the end of an empty log, which the runner treats as 0. */
static bool direct_compact(void *ctx, uint64_t pos, bool (*rebase)(void *arg), void *arg)
{
    dlv_direct *d = ctx;
    pthread_mutex_lock(&d->mu);
    bool done = pos == d->size && d->size >= d->compact_bytes &&
                ftruncate(d->fd, 0) == 0 && fsync(d->fd) == 0;
    if (done) {
        d->size = 0;
        rebase(arg);
    }
    pthread_mutex_unlock(&d->mu);
    return done;
}

dlv_source dlv_direct_source(dlv_direct *d)
{
    return (dlv_source){.ctx = d, .shard_count = direct_shards, .read = direct_read,
                        .wait = direct_wait, .end = direct_end, .compact = direct_compact,
                        .arn = NULL};
}
