/* A shard: its segment files, the group-commit append path and the read path.
 *
 * Appenders encode their frames under the shard mutex (which also hands out positions and
 * arrival times) and queue them; the first appender to find no write in progress becomes the
 * leader, takes the whole queue and writes it with one pwritev (rolling segments at the
 * configured size on frame boundaries) and at most one fsync, then publishes the new tail
 * and wakes everyone it wrote for. Readers see only published positions, so nothing is read
 * before it is as durable as the fsync policy promises.
 *
 * Positions are never handed out twice, whatever a crash or power loss takes from the tail:
 * before a position above sh->seq_reserved is assigned, a new reservation (that position plus
 * STM_SEQ_RESERVE_BLOCK) is written atomically and fsynced to the shard's
 * STM_SEQ_RESERVE_FILE, and on open the next position is above both the last record and the
 * reservation. A record lost with an unsynced tail (fsync: interval or none) takes its
 * position with it, so a consumer that saw the lost record (delivery checkpoints positions)
 * never mistakes a later record for it. Gaps in positions are allowed, as in Kinesis.
 *
 * Under fsync: batch the tail segment's file is written ahead with zeros (zero_ahead): an
 * fdatasync after appending to a growing file must also commit the inode (its size, new
 * extents), one more journal commit the append waits for; overwriting blocks already written
 * and synced is data only. The zeros go out in the same leader pass as records, once per
 * STM_ZERO_AHEAD_BYTES * 3/4 of appends, and are synced by that pass's fdatasync; only while
 * the shard's passes are small (STM_ZERO_AHEAD_MAX_PASS): for large ones it does not pay. The
 * segment's logical end is its last frame (stm_segment.c reads zeros as the end), a sealed
 * segment is cut to it when it rolls. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/failpoint.h"
#include "core/fs.h"
#include "stm_int.h"

enum {
    IOV_BATCH = 512,
    ZERO_CHUNK = 64 * 1024,       /* the zero buffer; ZERO_IOV of them per pwritev */
    ZERO_IOV = 4,
    ZERO_ALIGN = 4096,            /* written-ahead space ends on a page */
};

static uint8_t zeros[ZERO_CHUNK];  /* never written */

typedef struct stm_frame_desc {
    uint64_t seq;
    int64_t arrival_ms;
    size_t off, len;              /* within the request buffer */
    const char *origin;           /* borrowed from the caller's stm_put */
    uint64_t origin_pos;
} stm_frame_desc;

typedef struct stm_append_req {
    uint8_t *buf;
    stm_frame_desc *frames;
    size_t n;
    bool done, ok;
    sp_err err;
    struct stm_append_req *next;
} stm_append_req;

static stm_segment *tail_of(stm_shard *sh) { return sh->segs[sh->n_segs - 1]; }

static bool segs_push(stm_shard *sh, stm_segment *seg)
{
    if (sh->n_segs == sh->cap_segs) {
        size_t cap = sh->cap_segs ? sh->cap_segs * 2 : 8;
        stm_segment **g = realloc(sh->segs, cap * sizeof *g);
        if (!g) return false;
        sh->segs = g;
        sh->cap_segs = cap;
    }
    sh->segs[sh->n_segs++] = seg;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First positions of the *.seg files in dir, sorted. Caller frees. */
static uint64_t *list_segments(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    uint64_t *v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len != 24 || strcmp(de->d_name + 20, ".seg")) continue;
        char *end;
        uint64_t first = strtoull(de->d_name, &end, 10);
        if (end != de->d_name + 20) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *g = realloc(v, cap * sizeof *g);
            if (!g) break;
            v = g;
        }
        v[(*n)++] = first;
    }
    closedir(d);
    if (*n) qsort(v, *n, sizeof *v, cmp_u64);
    return v;
}

stm_shard *stm_shard_open(const char *stream_dir, int index, sp_err *e)
{
    stm_shard *sh = calloc(1, sizeof *sh);
    sh->index = index;
    stm_shard_id_format(index, sh->id);
    sh->parent = sh->adjacent_parent = -1;
    sh->open = true;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", stream_dir, sh->id);
    sh->dir = strdup(dir);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&sh->segs_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        sp_err_internal(e, "cannot create shard directory '%s': %s", dir, strerror(errno));
        stm_shard_close(sh, false);
        return NULL;
    }
    size_t n = 0;
    uint64_t *firsts = list_segments(dir, &n);
    char path[4200];
    /* The last readable segment is the tail; a tail whose header never made it to disk (a
     * crash while rolling) holds no records and is dropped. */
    while (n > 0) {
        stm_segment_path(dir, firsts[n - 1], "seg", path, sizeof path);
        bool bad = false;
        sp_err te = {0};
        stm_segment *tail = stm_segment_open_tail(path, firsts[n - 1], &sh->origins,
                                                  &sh->n_origins, &bad, &te);
        if (tail) {
            for (size_t i = 0; i + 1 < n; i++) {
                char p2[4200];
                stm_segment_path(dir, firsts[i], "seg", p2, sizeof p2);
                stm_segment *seg = stm_segment_open_sealed(p2, firsts[i], e);
                if (!seg || !segs_push(sh, seg)) {
                    stm_segment_free(seg);
                    stm_segment_free(tail);
                    free(firsts);
                    stm_shard_close(sh, false);
                    return NULL;
                }
            }
            segs_push(sh, tail);
            break;
        }
        if (!bad) {
            *e = te;
            free(firsts);
            stm_shard_close(sh, false);
            return NULL;
        }
        struct stat st;
        long long sz = stat(path, &st) == 0 ? (long long)st.st_size : 0;
        sp_warn("stream: %s: dropping a segment with an unreadable header (%lld bytes cut)",
                path, sz);
        unlink(path);
        free(sh->origins);
        sh->origins = NULL;
        sh->n_origins = 0;
        n--;
    }
    free(firsts);
    if (sh->n_segs == 0) {
        stm_segment *seg = stm_segment_create(dir, 1, NULL, 0, true, e);
        if (!seg) {
            stm_shard_close(sh, false);
            return NULL;
        }
        segs_push(sh, seg);
    }
    stm_segment *t = tail_of(sh);
    char rpath[4200];
    snprintf(rpath, sizeof rpath, "%s/" STM_SEQ_RESERVE_FILE, dir);
    if (!sp_fs_read_u64(rpath, &sh->seq_reserved, e)) {
        stm_shard_close(sh, false);
        return NULL;
    }
    sh->last_seq = t->last_seq;
    sh->next_seq = (t->last_seq > sh->seq_reserved ? t->last_seq : sh->seq_reserved) + 1;
    sh->last_arrival_ms = t->max_arrival_ms;
    sh->last_seq_arrival_ms = t->max_arrival_ms;
    for (size_t i = 0; i < sh->n_origins; i++)
        stm_origins_note(&sh->w_origins, &sh->n_w_origins, sh->origins[i].tag,
                         strlen(sh->origins[i].tag), sh->origins[i].pos);
    return sh;
}

void stm_shard_close(stm_shard *sh, bool sync)
{
    if (!sh) return;
    for (size_t i = 0; i < sh->n_segs; i++) {
        if (sync && i + 1 == sh->n_segs) fdatasync(sh->segs[i]->fd);
        stm_segment_free(sh->segs[i]);
    }
    free(sh->segs);
    free(sh->origins);
    free(sh->w_origins);
    free(sh->dir);
    pthread_rwlock_destroy(&sh->segs_lock);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cv);
    free(sh);
}

/* ---- append ----------------------------------------------------------------------------- */

static bool write_all(int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += (uint64_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) w -= (ssize_t)iov->iov_len, iov++, n--;
        if (n > 0) iov->iov_base = (char *)iov->iov_base + w, iov->iov_len -= (size_t)w;
    }
    return true;
}

/* The leader's pass over the queue it took: frames go out in order in as few pwritev calls
 * as the iovec batch allows; a segment full enough is sealed and a new one started. */
typedef struct chunk {
    struct iovec iov[IOV_BATCH];
    int n;
    size_t bytes;
} chunk;

static bool chunk_flush(stm_shard *sh, chunk *c, sp_err *e)
{
    if (!c->n) return true;
    stm_segment *t = tail_of(sh);
    uint64_t start = t->size - c->bytes;  /* sizes were noted as frames were queued */
    sh->n_writes++;  /* leader-only */
    sp_failpoint("stream.before-write");
    if (!write_all(t->fd, c->iov, c->n, start)) {
        sp_err_internal(e, "cannot write to '%s': %s", t->path, strerror(errno));
        return false;
    }
    if (start + c->bytes > t->alloc) t->alloc = start + c->bytes;
    c->n = 0;
    c->bytes = 0;
    return true;
}

/* Keeps the tail's file written (zeros) at least STM_ZERO_AHEAD_BYTES / 4 past its last
 * record, refilling to STM_ZERO_AHEAD_BYTES (never past the segment size, where it rolls).
 * Leader only, before the pass's fdatasync, which makes the zeros durable with the records.
 * Best effort: not on a disk with less than STM_ZERO_AHEAD_MIN_FREE_MB free, and on a full
 * disk (or any error) the file is cut back to its records and appends go on growing it. */
static void zero_ahead(stm_shard *sh, const stm_policy *pol, uint64_t pass_bytes)
{
    /* the average moves by 1/8 of the difference per pass; large passes gain nothing */
    sh->pass_bytes_avg = sh->pass_bytes_avg - sh->pass_bytes_avg / 8 + pass_bytes / 8;
    if (sh->pass_bytes_avg >= STM_ZERO_AHEAD_MAX_PASS) return;
    stm_segment *t = tail_of(sh);
    uint64_t want = (t->size + STM_ZERO_AHEAD_BYTES) / ZERO_ALIGN * ZERO_ALIGN;
    if (want > pol->segment_bytes) want = pol->segment_bytes;
    if (t->alloc >= want || t->alloc - t->size >= STM_ZERO_AHEAD_BYTES / 4) return;
    struct statvfs fs;
    if (fstatvfs(t->fd, &fs) != 0 ||
        (uint64_t)fs.f_bavail * fs.f_frsize < (uint64_t)STM_ZERO_AHEAD_MIN_FREE_MB << 20)
        return;
    uint64_t at = t->alloc;
    while (at < want) {
        struct iovec iov[ZERO_IOV];
        int n = 0;
        uint64_t left = want - at;
        while (n < ZERO_IOV && left) {
            size_t len = left < ZERO_CHUNK ? (size_t)left : ZERO_CHUNK;
            iov[n++] = (struct iovec){zeros, len};
            left -= len;
        }
        ssize_t w = pwritev(t->fd, iov, n, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (ftruncate(t->fd, (off_t)t->alloc) != 0) {
                /* what stays is zeros past the last record: harmless, and recovery knows */
            }
            return;
        }
        at += (uint64_t)w;
        sp_failpoint("stream.zero-ahead");
    }
    t->alloc = want;
}

static bool shard_roll(stm_shard *sh, const stm_policy *pol, uint64_t first_seq, sp_err *e)
{
    bool sync = pol->fsync != STM_FSYNC_NONE;
    stm_segment *old = tail_of(sh);
    /* A sealed segment ends at its last record: its .idx and every reader rely on it. */
    if (old->alloc > old->size && ftruncate(old->fd, (off_t)old->size) == 0)
        old->alloc = old->size;
    if (sync) fdatasync(old->fd);
    stm_segment *seg = stm_segment_create(sh->dir, first_seq, sh->w_origins, sh->n_w_origins,
                                          sync, e);
    if (!seg) return false;
    sp_failpoint("stream.segment-rolled");
    stm_segment_write_index(old, sync);
    pthread_rwlock_wrlock(&sh->segs_lock);
    bool ok = segs_push(sh, seg);
    pthread_rwlock_unlock(&sh->segs_lock);
    if (!ok) {
        stm_segment_remove(seg);
        sp_err_internal(e, "out of memory rolling a segment");
    }
    return ok;
}

/* What the tail segment and the leader's origin map looked like before the frames of the
 * current chunk were noted, so a failed write can be undone exactly. */
typedef struct tail_mark {
    uint64_t size, last_seq, last_idx_off;
    size_t n_idx;
    int64_t max_arrival_ms;
    stm_origin *origins;
    size_t n_origins;
} tail_mark;

static void mark_take(stm_shard *sh, tail_mark *m)
{
    stm_segment *t = tail_of(sh);
    free(m->origins);
    *m = (tail_mark){t->size, t->last_seq, t->last_idx_off, t->n_idx, t->max_arrival_ms, NULL, 0};
    for (size_t i = 0; i < sh->n_w_origins; i++)
        stm_origins_note(&m->origins, &m->n_origins, sh->w_origins[i].tag,
                         strlen(sh->w_origins[i].tag), sh->w_origins[i].pos);
}

/* Cuts what may be half written and forgets the chunk's frames, so the next append starts
 * on a frame boundary and nothing unwritten is indexed or counted as an origin high. */
static void mark_restore(stm_shard *sh, tail_mark *m)
{
    stm_segment *t = tail_of(sh);
    if (ftruncate(t->fd, (off_t)m->size) != 0)
        sp_warn("stream: cannot cut %s back to %llu bytes after a failed write", t->path,
                (unsigned long long)m->size);
    t->alloc = m->size;
    pthread_mutex_lock(&sh->mu);
    t->size = m->size;
    t->last_seq = m->last_seq;
    t->last_idx_off = m->last_idx_off;
    t->n_idx = m->n_idx;
    t->max_arrival_ms = m->max_arrival_ms;
    pthread_mutex_unlock(&sh->mu);
    free(sh->w_origins);
    sh->w_origins = m->origins;
    sh->n_w_origins = m->n_origins;
    m->origins = NULL;
}

static void sync_failed_err(sp_err *e)
{
    sp_err_set(e, 500, "InternalFailure", "The shard's log could not be synced to disk; "
               "writes are refused until the server is restarted");
}

/* On success *last_seq is the last position written. On failure the records written by
 * earlier chunks stay (they are complete frames on disk) and *last_seq says how far that
 * got; the caller fails the whole queue. A failed fdatasync sets *sync_bad and *last_seq to
 * 0: nothing of the pass is published, and the shard takes no more appends. */
static bool leader_write(stm_shard *sh, const stm_policy *pol, stm_append_req *list,
                         uint64_t *last_seq, int64_t *last_arrival, bool *sync_bad, sp_err *e)
{
    chunk *c = malloc(sizeof *c);
    if (!c) {
        sp_err_internal(e, "out of memory");
        return false;
    }
    c->n = 0;
    c->bytes = 0;
    tail_mark mark = {0};
    mark_take(sh, &mark);
    uint64_t chunk_last_seq = 0;
    int64_t chunk_last_arrival = 0;
    uint64_t pass_bytes = 0;
    bool ok = true;
    for (stm_append_req *r = list; r && ok; r = r->next) {
        for (size_t i = 0; i < r->n && ok; i++) {
            stm_frame_desc *fd = &r->frames[i];
            stm_segment *t = tail_of(sh);
            bool roll = t->size + fd->len > pol->segment_bytes && t->size > t->hdr_len;
            if (roll || c->n == IOV_BATCH) {
                ok = chunk_flush(sh, c, e);
                if (!ok) break;
                if (chunk_last_seq) *last_seq = chunk_last_seq, *last_arrival = chunk_last_arrival;
                if (roll && !(ok = shard_roll(sh, pol, fd->seq, e))) break;
                t = tail_of(sh);
                mark_take(sh, &mark);
            }
            /* Frames of one request are contiguous: extend the previous iovec. */
            uint8_t *base = r->buf + fd->off;
            if (c->n && (uint8_t *)c->iov[c->n - 1].iov_base + c->iov[c->n - 1].iov_len == base)
                c->iov[c->n - 1].iov_len += fd->len;
            else
                c->iov[c->n++] = (struct iovec){base, fd->len};
            c->bytes += fd->len;
            pass_bytes += fd->len;
            pthread_mutex_lock(&sh->mu);  /* readers search the index under mu */
            stm_segment_note(t, fd->seq, fd->arrival_ms, t->size, fd->len);
            pthread_mutex_unlock(&sh->mu);
            if (fd->origin)
                stm_origins_note(&sh->w_origins, &sh->n_w_origins, fd->origin,
                                 strlen(fd->origin), fd->origin_pos);
            chunk_last_seq = fd->seq;
            chunk_last_arrival = fd->arrival_ms;
        }
    }
    if (ok) ok = chunk_flush(sh, c, e);
    if (!ok) {
        mark_restore(sh, &mark);
    } else {
        if (chunk_last_seq) *last_seq = chunk_last_seq, *last_arrival = chunk_last_arrival;
        if (pol->fsync == STM_FSYNC_BATCH) zero_ahead(sh, pol, pass_bytes);
        if (pol->fsync == STM_FSYNC_BATCH &&
            ((sh->sync_hook && !sh->sync_hook(sh->sync_hook_arg) && (errno = EIO)) ||
             fdatasync(tail_of(sh)->fd) != 0)) {
            /* What the kernel kept of the pass is unknown: nothing of it is published, and
             * nothing after it may be (its records would be published with them). */
            sp_warn("stream: cannot fsync '%s': %s; shard %s refuses appends until restart",
                    tail_of(sh)->path, strerror(errno), sh->id);
            sync_failed_err(e);
            *last_seq = 0;
            *sync_bad = true;
            ok = false;
        }
    }
    free(mark.origins);
    free(c);
    return ok;
}

/* Extends the reservation on disk to cover the next n positions. Under sh->mu; the fsync
 * it costs is paid once per STM_SEQ_RESERVE_BLOCK positions. */
static bool seq_reserve(stm_shard *sh, size_t n, sp_err *e)
{
    uint64_t last = sh->next_seq + n - 1;
    if (last <= sh->seq_reserved) return true;
    char path[4200];
    snprintf(path, sizeof path, "%s/" STM_SEQ_RESERVE_FILE, sh->dir);
    sp_err io = {0};
    if (!sp_fs_write_u64(path, last + STM_SEQ_RESERVE_BLOCK, &io)) {
        sp_warn("stream: %s", io.msg);
        sp_err_set(e, 500, "InternalFailure", "shard %s cannot reserve sequence numbers%s",
                   sh->id, io.status == 503 ? ": no space left on the data dir's disk" : "");
        e->retriable = true;
        return false;
    }
    sh->seq_reserved = last + STM_SEQ_RESERVE_BLOCK;
    return true;
}

bool stm_shard_append(stm_shard *sh, const stm_policy *pol, const stm_put *const *recs,
                      size_t n, uint64_t *seqs_out, int64_t *arrival_out, sp_err *e)
{
    if (n == 0) return true;
    stm_append_req req = {0};
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const stm_put *p = recs[i];
        total += stm_frame_size(strlen(p->partition_key),
                                p->explicit_hash_key ? strlen(p->explicit_hash_key) : 0,
                                p->origin ? strlen(p->origin) : 0, p->len);
    }
    req.buf = malloc(total);
    req.frames = malloc(n * sizeof *req.frames);
    if (!req.buf || !req.frames) {
        free(req.buf);
        free(req.frames);
        sp_err_internal(e, "out of memory appending %zu records", n);
        return false;
    }
    req.n = n;

    pthread_mutex_lock(&sh->mu);
    if (!sh->open) {
        pthread_mutex_unlock(&sh->mu);
        free(req.buf);
        free(req.frames);
        sp_err_set(e, 400, "InvalidArgumentException", "Shard %s is closed", sh->id);
        return false;
    }
    if (sh->sync_failed) {
        pthread_mutex_unlock(&sh->mu);
        free(req.buf);
        free(req.frames);
        sync_failed_err(e);
        return false;
    }
    if (!seq_reserve(sh, n, e)) {
        pthread_mutex_unlock(&sh->mu);
        free(req.buf);
        free(req.frames);
        return false;
    }
    int64_t now = sp_clock_wall_ms();
    if (now < sh->last_arrival_ms) now = sh->last_arrival_ms;
    sh->last_arrival_ms = now;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const stm_put *p = recs[i];
        stm_frame f = {
            .seq = sh->next_seq++,
            .arrival_ms = now,
            .origin_pos = p->origin ? p->origin_pos : 0,
            .pk = p->partition_key, .pk_len = strlen(p->partition_key),
            .ehk = p->explicit_hash_key,
            .ehk_len = p->explicit_hash_key ? strlen(p->explicit_hash_key) : 0,
            .origin = p->origin, .origin_len = p->origin ? strlen(p->origin) : 0,
            .data = p->data, .data_len = p->len,
        };
        size_t len = stm_frame_encode(&f, req.buf + off);
        req.frames[i] = (stm_frame_desc){f.seq, now, off, len, p->origin, f.origin_pos};
        seqs_out[i] = f.seq;
        if (arrival_out) arrival_out[i] = now;
        off += len;
    }
    if (sh->queue_tail) sh->queue_tail->next = &req;
    else sh->queue_head = &req;
    sh->queue_tail = &req;

    while (!req.done) {
        if (sh->writing) {
            pthread_cond_wait(&sh->cv, &sh->mu);
            continue;
        }
        sh->writing = true;
        stm_append_req *list = sh->queue_head;
        sh->queue_head = sh->queue_tail = NULL;
        pthread_mutex_unlock(&sh->mu);

        sp_err we = {0};
        uint64_t last_seq = 0;
        int64_t last_arrival = 0;
        bool sync_bad = false;
        bool ok = leader_write(sh, pol, list, &last_seq, &last_arrival, &sync_bad, &we);

        pthread_mutex_lock(&sh->mu);
        if (sync_bad) sh->sync_failed = true;
        sh->n_commits++;
        if (last_seq) {
            /* Complete frames on disk are published even when a later chunk failed: they
             * would be found by the next open anyway. */
            sh->last_seq = last_seq;
            sh->last_seq_arrival_ms = last_arrival;
            sh->dirty = pol->fsync == STM_FSYNC_INTERVAL;
            free(sh->origins);
            sh->origins = NULL;
            sh->n_origins = 0;
            for (size_t i = 0; i < sh->n_w_origins; i++)
                stm_origins_note(&sh->origins, &sh->n_origins, sh->w_origins[i].tag,
                                 strlen(sh->w_origins[i].tag), sh->w_origins[i].pos);
        }
        for (stm_append_req *r = list; r;) {
            stm_append_req *next = r->next;  /* r may be freed by its owner once done */
            r->ok = ok;
            r->err = we;
            r->done = true;
            r = next;
        }
        sh->writing = false;
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    free(req.buf);
    free(req.frames);
    if (!req.ok) *e = req.err;
    return req.ok;
}

/* ---- read ------------------------------------------------------------------------------- */

/* Index of the segment holding position target (the last with first_seq <= target). */
static size_t seg_for_seq(stm_shard *sh, uint64_t target)
{
    size_t lo = 0, hi = sh->n_segs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sh->segs[mid]->first_seq <= target) lo = mid + 1;
        else hi = mid;
    }
    return lo ? lo - 1 : 0;
}

long stm_shard_scan(stm_shard *sh, uint64_t after_seq, size_t max, size_t max_bytes,
                    stm_shard_frame_fn fn, void *arg, sp_err *e)
{
    long delivered = 0;
    size_t bytes = 0;
    pthread_rwlock_rdlock(&sh->segs_lock);
    pthread_mutex_lock(&sh->mu);
    uint64_t last = sh->last_seq;
    size_t si = seg_for_seq(sh, after_seq + 1);
    uint64_t off = stm_segment_seek_seq(sh->segs[si], after_seq + 1);
    pthread_mutex_unlock(&sh->mu);
    bool stop = after_seq >= last || max == 0;
    for (; si < sh->n_segs && !stop; si++) {
        stm_segment *seg = sh->segs[si];
        pthread_mutex_lock(&sh->mu);
        uint64_t end = seg->size, seg_last = seg->last_seq;
        pthread_mutex_unlock(&sh->mu);
        if (seg_last < after_seq + 1) {
            off = 0;
            continue;
        }
        stm_reader rd;
        stm_reader_init(&rd, seg->fd, off ? off : seg->hdr_len, end);
        off = 0;
        for (;;) {
            stm_frame f;
            uint64_t foff;
            size_t size;
            int r = stm_reader_next(&rd, &f, &foff, &size);
            if (r == 0) break;
            if (r < 0) {
                sp_err_internal(e, "corrupt record in %s at offset %llu", seg->path,
                                (unsigned long long)foff);
                delivered = -1;
                stop = true;
                break;
            }
            if (f.seq <= after_seq) continue;
            if (f.seq > last) {
                stop = true;
                break;
            }
            if (delivered > 0 && bytes + f.data_len > max_bytes) {
                stop = true;
                break;
            }
            bytes += f.data_len;
            delivered++;
            if (!fn(arg, &f) || (size_t)delivered >= max || f.seq == last) {
                stop = true;
                break;
            }
        }
        stm_reader_clear(&rd);
    }
    pthread_rwlock_unlock(&sh->segs_lock);
    return delivered;
}

uint64_t stm_shard_seek_time(stm_shard *sh, int64_t ts_ms)
{
    uint64_t result;
    pthread_rwlock_rdlock(&sh->segs_lock);
    pthread_mutex_lock(&sh->mu);
    uint64_t last = sh->last_seq;
    /* The first segment whose newest record arrived at/after ts holds the answer. */
    size_t si = 0;
    while (si < sh->n_segs && (sh->segs[si]->last_seq < sh->segs[si]->first_seq ||
                               sh->segs[si]->max_arrival_ms < ts_ms))
        si++;
    if (si == sh->n_segs) {
        pthread_mutex_unlock(&sh->mu);
        pthread_rwlock_unlock(&sh->segs_lock);
        return last;
    }
    stm_segment *seg = sh->segs[si];
    uint64_t off = stm_segment_seek_time(seg, ts_ms), end = seg->size;
    result = seg->first_seq - 1;
    pthread_mutex_unlock(&sh->mu);
    stm_reader rd;
    stm_reader_init(&rd, seg->fd, off, end);
    for (;;) {
        stm_frame f;
        uint64_t foff;
        size_t size;
        if (stm_reader_next(&rd, &f, &foff, &size) != 1 || f.seq > last) break;
        if (f.arrival_ms >= ts_ms) break;
        result = f.seq;
    }
    stm_reader_clear(&rd);
    pthread_rwlock_unlock(&sh->segs_lock);
    return result;
}

uint64_t stm_shard_trim_horizon(stm_shard *sh)
{
    pthread_rwlock_rdlock(&sh->segs_lock);
    uint64_t v = sh->segs[0]->first_seq - 1;
    pthread_rwlock_unlock(&sh->segs_lock);
    return v;
}

uint64_t stm_shard_last_seq(stm_shard *sh)
{
    pthread_mutex_lock(&sh->mu);
    uint64_t v = sh->last_seq;
    pthread_mutex_unlock(&sh->mu);
    return v;
}

void stm_shard_sync(stm_shard *sh)
{
    pthread_rwlock_rdlock(&sh->segs_lock);
    pthread_mutex_lock(&sh->mu);
    bool dirty = sh->dirty;
    sh->dirty = false;
    int fd = tail_of(sh)->fd;
    pthread_mutex_unlock(&sh->mu);
    if (dirty) fdatasync(fd);
    pthread_rwlock_unlock(&sh->segs_lock);
}

size_t stm_shard_trim(stm_shard *sh, int64_t cutoff_ms)
{
    size_t n = 0;
    pthread_rwlock_wrlock(&sh->segs_lock);
    while (n + 1 < sh->n_segs && sh->segs[n]->max_arrival_ms < cutoff_ms) n++;
    for (size_t i = 0; i < n; i++) stm_segment_remove(sh->segs[i]);
    if (n) {
        memmove(sh->segs, sh->segs + n, (sh->n_segs - n) * sizeof *sh->segs);
        sh->n_segs -= n;
    }
    pthread_rwlock_unlock(&sh->segs_lock);
    return n;
}

uint64_t stm_shard_origin(stm_shard *sh, const char *origin)
{
    uint64_t v = 0;
    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->n_origins; i++)
        if (!strcmp(sh->origins[i].tag, origin)) v = sh->origins[i].pos;
    pthread_mutex_unlock(&sh->mu);
    return v;
}
