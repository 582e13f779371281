/* Segment files: one shard's records from first_seq on, behind a header that carries the
 * shard's origin high-water marks as of the segment's start. Sealed segments keep their
 * sparse index in a small .idx side file (rebuilt by a scan if it is missing or stale), so
 * opening a log scans only each shard's last segment; that scan is also crash recovery: a
 * torn or corrupt tail is cut at the last good record. A tail segment's file may run on past
 * its last record with zeros written ahead (stm_shard.c): a zeroed frame header is never a
 * valid frame (its body length is below the fixed part), so the scan ends there, and zeros
 * after the last record are kept as the space they are, not reported as damage. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stm_int.h"

enum { READER_CHUNK = 256 * 1024, IDX_FIXED = 48, IDX_ENT = 24 };

void stm_segment_path(const char *dir, uint64_t first_seq, const char *ext, char *out,
                      size_t size)
{
    snprintf(out, size, "%s/%020" PRIu64 ".%s", dir, first_seq, ext);
}

/* ---- reader ----------------------------------------------------------------------------- */

void stm_reader_init(stm_reader *rd, int fd, uint64_t off, uint64_t end)
{
    memset(rd, 0, sizeof *rd);
    rd->fd = fd;
    rd->buf_off = off;
    rd->end = end;
}

void stm_reader_clear(stm_reader *rd)
{
    free(rd->buf);
    rd->buf = NULL;
}

int stm_reader_next(stm_reader *rd, stm_frame *f, uint64_t *off, size_t *size)
{
    for (;;) {
        size_t need = 0;
        long n = rd->buf ? stm_frame_decode(rd->buf + rd->lo, rd->hi - rd->lo, f, &need) : 0;
        *off = rd->buf_off + rd->lo;
        if (n > 0) {
            rd->lo += (size_t)n;
            *size = (size_t)n;
            return 1;
        }
        if (n < 0) return -1;
        uint64_t file_pos = rd->buf_off + rd->hi;
        if (file_pos >= rd->end) return rd->hi == rd->lo ? 0 : -1;
        /* Keep the partial frame, move it to the front, make room for the rest. */
        size_t keep = rd->hi - rd->lo;
        if (rd->lo) {
            memmove(rd->buf, rd->buf + rd->lo, keep);
            rd->buf_off += rd->lo;
            rd->lo = 0;
            rd->hi = keep;
        }
        size_t want = need > READER_CHUNK ? need : READER_CHUNK;
        if (rd->cap < want) {
            uint8_t *g = realloc(rd->buf, want);
            if (!g) return -1;
            rd->buf = g;
            rd->cap = want;
        }
        uint64_t left = rd->end - file_pos;
        size_t room = rd->cap - rd->hi;
        if (room > left) room = (size_t)left;
        ssize_t r = pread(rd->fd, rd->buf + rd->hi, room, (off_t)file_pos);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rd->end = file_pos;  /* the file is shorter than we were told */
            continue;
        }
        rd->hi += (size_t)r;
    }
}

/* ---- index ------------------------------------------------------------------------------ */

void stm_segment_note(stm_segment *seg, uint64_t seq, int64_t arrival_ms, uint64_t off,
                      size_t size)
{
    if (seg->n_idx == 0 || off - seg->last_idx_off >= STM_INDEX_EVERY_BYTES) {
        if (seg->n_idx == seg->cap_idx) {
            size_t cap = seg->cap_idx ? seg->cap_idx * 2 : 16;
            stm_index_ent *g = realloc(seg->idx, cap * sizeof *g);
            if (g) seg->idx = g, seg->cap_idx = cap;
        }
        if (seg->n_idx < seg->cap_idx) {
            seg->idx[seg->n_idx++] = (stm_index_ent){seq, off, arrival_ms};
            seg->last_idx_off = off;
        }
    }
    seg->last_seq = seq;
    if (arrival_ms > seg->max_arrival_ms) seg->max_arrival_ms = arrival_ms;
    seg->size = off + size;
}

uint64_t stm_segment_seek_seq(const stm_segment *seg, uint64_t target)
{
    size_t lo = 0, hi = seg->n_idx;  /* first entry with seq > target */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (seg->idx[mid].seq <= target) lo = mid + 1;
        else hi = mid;
    }
    return lo ? seg->idx[lo - 1].off : seg->hdr_len;
}

uint64_t stm_segment_seek_time(const stm_segment *seg, int64_t ts_ms)
{
    size_t lo = 0, hi = seg->n_idx;  /* first entry arriving at/after ts */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (seg->idx[mid].arrival_ms < ts_ms) lo = mid + 1;
        else hi = mid;
    }
    return lo ? seg->idx[lo - 1].off : seg->hdr_len;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void stm_segment_write_index(const stm_segment *seg, bool sync)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%.*s.idx", (int)(strlen(seg->path) - 4), seg->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t len = IDX_FIXED + seg->n_idx * IDX_ENT;
    uint8_t *b = calloc(1, len);
    if (!b) return;
    memcpy(b, STM_IDX_MAGIC, 8);
    put64(b + 16, seg->size);
    put64(b + 24, seg->last_seq);
    put64(b + 32, (uint64_t)seg->max_arrival_ms);
    put64(b + 40, seg->n_idx);
    for (size_t i = 0; i < seg->n_idx; i++) {
        uint8_t *p = b + IDX_FIXED + i * IDX_ENT;
        put64(p, seg->idx[i].seq);
        put64(p + 8, seg->idx[i].off);
        put64(p + 16, (uint64_t)seg->idx[i].arrival_ms);
    }
    uint32_t crc = sp_crc32c(0, b + 16, len - 16);
    for (int i = 0; i < 4; i++) b[8 + i] = (uint8_t)(crc >> (8 * i));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, b, len) == (ssize_t)len && (!sync || fsync(fd) == 0);
    if (fd >= 0) close(fd);
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    free(b);
}

/* Loads the .idx file if it describes this segment file as it is now. */
static bool load_index(stm_segment *seg, uint64_t file_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%.*s.idx", (int)(strlen(seg->path) - 4), seg->path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool ok = false;
    uint8_t *b = NULL;
    if (fstat(fd, &st) == 0 && st.st_size >= IDX_FIXED && st.st_size < (1 << 28)) {
        size_t len = (size_t)st.st_size;
        b = malloc(len);
        if (b && pread(fd, b, len, 0) == (ssize_t)len && !memcmp(b, STM_IDX_MAGIC, 8)) {
            uint32_t crc = (uint32_t)(b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24);
            uint64_t n = get64(b + 40);
            if (crc == sp_crc32c(0, b + 16, len - 16) && n == (len - IDX_FIXED) / IDX_ENT &&
                get64(b + 16) == file_size) {
                seg->size = seg->alloc = file_size;
                seg->last_seq = get64(b + 24);
                seg->max_arrival_ms = (int64_t)get64(b + 32);
                seg->idx = n ? malloc(n * sizeof *seg->idx) : NULL;
                if (!n || seg->idx) {
                    for (uint64_t i = 0; i < n; i++) {
                        const uint8_t *p = b + IDX_FIXED + i * IDX_ENT;
                        seg->idx[i] = (stm_index_ent){get64(p), get64(p + 8),
                                                      (int64_t)get64(p + 16)};
                    }
                    seg->n_idx = seg->cap_idx = n;
                    if (n) seg->last_idx_off = seg->idx[n - 1].off;
                    ok = true;
                }
            }
        }
    }
    free(b);
    close(fd);
    return ok;
}

/* ---- open / create ---------------------------------------------------------------------- */

static stm_segment *seg_new(const char *path, uint64_t first_seq, int fd)
{
    stm_segment *seg = calloc(1, sizeof *seg);
    seg->path = strdup(path);
    seg->first_seq = first_seq;
    seg->last_seq = first_seq - 1;
    seg->fd = fd;
    return seg;
}

/* Reads and checks the header; returns its length, or -1. */
static long read_header(int fd, uint64_t expect_first, stm_origin **o, size_t *n)
{
    uint8_t *b = malloc(STM_SEGHDR_MAX);
    if (!b) return -1;
    ssize_t r = pread(fd, b, STM_SEGHDR_MAX, 0);
    uint64_t first = 0;
    long hl = r > 0 ? stm_seghdr_decode(b, (size_t)r, &first, o, n) : -1;
    free(b);
    if (hl > 0 && first != expect_first) {
        free(*o);
        *o = NULL;
        *n = 0;
        hl = -1;
    }
    return hl > 0 ? hl : -1;
}

/* Whether every byte of [from, to) of the file is zero (written-ahead space, not a torn
 * record). A read error counts as not zero. */
static bool all_zero(int fd, uint64_t from, uint64_t to)
{
    enum { CHUNK = 64 * 1024 };
    uint8_t *b = malloc(CHUNK);
    bool zero = b != NULL;
    while (zero && from < to) {
        size_t want = to - from < CHUNK ? (size_t)(to - from) : CHUNK;
        ssize_t r = pread(fd, b, want, (off_t)from);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            zero = false;
            break;
        }
        for (ssize_t i = 0; i < r && zero; i++) zero = b[i] == 0;
        from += (uint64_t)r;
    }
    free(b);
    return zero;
}

/* Scans the frames after the header; returns the offset where valid records end. */
static uint64_t scan_file(stm_segment *seg, uint64_t file_size, stm_origin **o, size_t *no)
{
    stm_reader rd;
    stm_reader_init(&rd, seg->fd, seg->hdr_len, file_size);
    uint64_t good = seg->hdr_len, prev = seg->first_seq - 1;
    seg->size = seg->hdr_len;
    for (;;) {
        stm_frame f;
        uint64_t off;
        size_t size;
        if (stm_reader_next(&rd, &f, &off, &size) != 1) break;
        if (f.seq <= prev || f.seq < seg->first_seq) break;
        stm_segment_note(seg, f.seq, f.arrival_ms, off, size);
        if (o && f.origin_len) stm_origins_note(o, no, f.origin, f.origin_len, f.origin_pos);
        prev = f.seq;
        good = off + size;
    }
    stm_reader_clear(&rd);
    return good;
}

stm_segment *stm_segment_open_sealed(const char *path, uint64_t first_seq, sp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        sp_err_internal(e, "cannot open segment '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    stm_origin *o = NULL;
    size_t no = 0;
    long hl = read_header(fd, first_seq, &o, &no);
    free(o);
    if (hl < 0) {
        sp_err_internal(e, "segment '%s' has an invalid header", path);
        close(fd);
        return NULL;
    }
    stm_segment *seg = seg_new(path, first_seq, fd);
    seg->hdr_len = (uint32_t)hl;
    if (!load_index(seg, (uint64_t)st.st_size)) {
        uint64_t good = scan_file(seg, (uint64_t)st.st_size, NULL, NULL);
        if (good < (uint64_t)st.st_size && all_zero(fd, good, (uint64_t)st.st_size) &&
            truncate(path, (off_t)good) == 0) {
            /* written-ahead zeros left by a crash while rolling (fsync: none), not damage */
            st.st_size = (off_t)good;
        } else if (good < (uint64_t)st.st_size)
            sp_warn("stream: sealed segment %s has %llu unreadable bytes after offset %llu",
                    path, (unsigned long long)((uint64_t)st.st_size - good),
                    (unsigned long long)good);
        seg->size = seg->alloc = (uint64_t)st.st_size;
        stm_segment_write_index(seg, false);
    }
    return seg;
}

stm_segment *stm_segment_open_tail(const char *path, uint64_t first_seq, stm_origin **origins,
                                   size_t *n_origins, bool *bad_header, sp_err *e)
{
    *bad_header = false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        sp_err_internal(e, "cannot open segment '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    stm_origin *o = NULL;
    size_t no = 0;
    long hl = read_header(fd, first_seq, &o, &no);
    if (hl < 0) {
        *bad_header = true;
        sp_err_internal(e, "segment '%s' has an invalid header", path);
        close(fd);
        return NULL;
    }
    for (size_t i = 0; i < no; i++)
        stm_origins_note(origins, n_origins, o[i].tag, strlen(o[i].tag), o[i].pos);
    free(o);
    stm_segment *seg = seg_new(path, first_seq, fd);
    seg->hdr_len = (uint32_t)hl;
    uint64_t good = scan_file(seg, (uint64_t)st.st_size, origins, n_origins);
    seg->alloc = (uint64_t)st.st_size;
    if (good < (uint64_t)st.st_size && !all_zero(fd, good, (uint64_t)st.st_size)) {
        sp_warn("stream: %s: cut %llu bytes of torn or corrupt tail at offset %llu "
                "(last good record %llu)", path,
                (unsigned long long)((uint64_t)st.st_size - good), (unsigned long long)good,
                (unsigned long long)seg->last_seq);
        if (ftruncate(fd, (off_t)good) != 0) {
            sp_err_internal(e, "cannot truncate '%s': %s", path, strerror(errno));
            stm_segment_free(seg);
            return NULL;
        }
        fsync(fd);
        seg->alloc = good;
    }
    seg->size = good;
    return seg;
}

stm_segment *stm_segment_create(const char *dir, uint64_t first_seq, const stm_origin *o,
                                size_t n, bool sync, sp_err *e)
{
    char path[4096];
    stm_segment_path(dir, first_seq, "seg", path, sizeof path);
    size_t hl;
    uint8_t *h = stm_seghdr_encode(first_seq, o, n, &hl);
    int fd = h ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    bool ok = fd >= 0 && pwrite(fd, h, hl, 0) == (ssize_t)hl && (!sync || fsync(fd) == 0);
    free(h);
    if (!ok) {
        sp_err_internal(e, "cannot create segment '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd), unlink(path);
        return NULL;
    }
    if (sync) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) fsync(dfd), close(dfd);
    }
    stm_segment *seg = seg_new(path, first_seq, fd);
    seg->hdr_len = (uint32_t)hl;
    seg->size = seg->alloc = hl;
    return seg;
}

void stm_segment_remove(stm_segment *seg)
{
    char idx[4096];
    snprintf(idx, sizeof idx, "%.*s.idx", (int)(strlen(seg->path) - 4), seg->path);
    unlink(seg->path);
    unlink(idx);
    stm_segment_free(seg);
}

void stm_segment_free(stm_segment *seg)
{
    if (!seg) return;
    if (seg->fd >= 0) close(seg->fd);
    free(seg->idx);
    free(seg->path);
    free(seg);
}
