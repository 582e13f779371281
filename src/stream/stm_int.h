/* stream internals: the pieces of the log shared between the files of src/stream/ and the
 * unit tests — 128-bit hash keys, sequence-number strings, record framing, segment files
 * with their sparse index, shards with group commit, and the stream/log structures.
 *
 * Locking, outermost first: log->lock (rwlock: the stream table and every shard list; held
 * shared by data calls, exclusively by create/delete/split/merge) -> shard->segs_lock
 * (rwlock: a shard's segment array; exclusive only to roll or trim) -> shard->mu (mutex:
 * sequence assignment, the append queue, the published tail state). Nothing is ever taken
 * in the other order.
 */
#ifndef SP_STM_INT_H
#define SP_STM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "stream/stream.h"

/* ---- AWS limits and log constants ------------------------------------------------------- */

enum {
    STM_DATA_MAX = 1024 * 1024,          /* a record's data blob: 1 MiB */
    STM_PARTITION_KEY_MAX = 256,
    STM_HASH_KEY_DIGITS_MAX = 39,        /* 2^128-1 has 39 digits */
    STM_ORIGIN_MAX = 64,
    STM_PUT_RECORDS_MAX = 500,           /* PutRecords entries */
    STM_PUT_RECORDS_BYTES_MAX = 5 * 1024 * 1024,
    STM_GET_RECORDS_LIMIT_MAX = 10000,
    STM_GET_RECORDS_BYTES_MAX = 10 * 1024 * 1024,
    STM_STREAM_NAME_MAX = 128,
    STM_ON_DEMAND_SHARDS = 4,            /* ON_DEMAND streams start with 4 shards */
    STM_RETENTION_MIN_HOURS = 24,
    STM_RETENTION_MAX_HOURS = 8760,
    STM_LIST_SHARDS_DEFAULT = 1000,
    STM_LIST_SHARDS_MAX = 10000,
    STM_LIST_STREAMS_DEFAULT = 100,
    STM_LIST_STREAMS_MAX = 10000,
    STM_DESCRIBE_SHARDS_MAX = 10000,
    STM_DESCRIBE_SHARDS_DEFAULT = 100,
    STM_ITERATOR_TTL_MS = 5 * 60 * 1000, /* shard iterators expire after 5 minutes */
};

/* Log framing. A frame is [u32 body_len][u32 crc32c(body)][body]; the body starts with a
 * fixed part (seq, arrival_ms, origin_pos, data_len, pk_len, ehk_len, origin_len) followed
 * by the partition key, explicit hash key, origin tag and data. All integers little-endian. */
enum {
    STM_FRAME_HEAD = 8,
    STM_FRAME_FIXED = 32,
    STM_FRAME_BODY_MAX = STM_FRAME_FIXED + STM_PARTITION_KEY_MAX + STM_HASH_KEY_DIGITS_MAX +
                         STM_ORIGIN_MAX + STM_DATA_MAX,
    /* Segment header: magic[8] hdr_len u32, crc32c u32 (of the bytes after it), first_seq
     * u64, n_origins u32, then n_origins x (u8 tag_len, tag, u64 pos). */
    STM_SEGHDR_FIXED = 28,
    STM_SEGHDR_MAX = 64 * 1024,
    STM_INDEX_EVERY_BYTES = 16 * 1024,   /* one sparse index entry per 16 KiB of records */
    STM_SEQ_DIGITS = 56,
    STM_SEQ_RESERVE_BLOCK = 65536,       /* positions reserved on disk at a time (stm_shard.c) */
    /* Under fsync: batch the tail segment's file is kept written (with zeros) this far past
     * its last record, refilled when less than a quarter of it is left, so an append's
     * fdatasync overwrites allocated blocks of a file whose size does not change: data only,
     * no inode or extent commit (stm_shard.c zero_ahead). Only while a shard's passes are
     * small (average below STM_ZERO_AHEAD_MAX_PASS): measured on ext4/virtio, a 4-16 KiB
     * append + fdatasync took 15-25 % less time into written space than onto a growing file,
     * from 32 KiB on it was no faster and the zeros cost as much again. */
    STM_ZERO_AHEAD_BYTES = 1024 * 1024,
    STM_ZERO_AHEAD_MAX_PASS = 16 * 1024,
    /* ... and only while the disk has this much free: on a nearly full disk the space is
     * worth more to the table and the lake than a faster sync is to the log. */
    STM_ZERO_AHEAD_MIN_FREE_MB = 64,
};
#define STM_SEQ_RESERVE_FILE "positions.reserved"   /* in each shard directory */
#define STM_SEG_MAGIC "SPSEG001"
#define STM_IDX_MAGIC "SPIDX001"

/* ---- 128-bit hash keys and sequence numbers (stm_hash.c) -------------------------------- */

__extension__ typedef unsigned __int128 stm_u128;
#define STM_U128_MAX (~(stm_u128)0)

/* Decimal 0..2^128-1 without sign or leading zeros (except "0"); false otherwise. */
bool stm_u128_parse(const char *s, stm_u128 *out);
/* Decimal into out (>= 40 bytes). */
void stm_u128_format(stm_u128 v, char out[40]);
/* MD5 of the partition key as a big-endian 128-bit integer, as Kinesis hashes. */
stm_u128 stm_hash_key(const char *partition_key, size_t len);
/* Range [start, end] of shard i of n when [0, 2^128) is split evenly, as CreateStream does. */
void stm_hash_split(int i, int n, stm_u128 *start, stm_u128 *end);

/* Sequence number string in Kinesis's (version 2) shape: the decimal, always 56 digits, of
 * the hex digits '2' + stream creation seconds (9) + shard index's low nibble (1) + position
 * (16) + "00" + the record's arrival seconds (9) + shard index (8) + '2'. The position sits
 * above the time, so per shard string order is numeric order is append order. */
void stm_seq_format(int64_t stream_created_ms, int shard_index, uint64_t seq, int64_t time_ms,
                    char out[STM_SEQ_STR_MAX]);
/* Whether s is a sequence number Kinesis could have issued by now (version 2, ours, or the
 * older version 1), as SequenceNumberForOrdering must be. */
bool stm_seq_ordering_ok(const char *s, int64_t now_ms);
/* Reads any sequence number shape Kinesis has issued (version 0 below 2^124, 1 and 2) the
 * way Kinesis checks a StartingSequenceNumber: its version, creation second and (signed)
 * shard index; false when it is none of them. */
bool stm_seq_inspect(const char *s, int *version, int64_t *created_s, long long *shard_index);
/* Decodes a sequence number string; false if it is not one of ours. */
bool stm_seq_parse(const char *s, int64_t *stream_epoch_s, int *shard_index, uint64_t *seq);

/* A ShardId as Kinesis resolves it: the digits after the first '-' (up to the next), or the
 * whole id; 0..2^31-1. -1 when it names no shard index at all. */
int stm_shard_id_resolve(const char *id);

/* ---- framing (stm_frame.c) -------------------------------------------------------------- */

typedef struct stm_frame {
    uint64_t seq;
    int64_t arrival_ms;
    uint64_t origin_pos;
    const char *pk;  size_t pk_len;    /* borrowed from the frame buffer, not NUL-terminated */
    const char *ehk; size_t ehk_len;
    const char *origin; size_t origin_len;
    const uint8_t *data; size_t data_len;
} stm_frame;

/* Bytes a frame of these field sizes takes. */
size_t stm_frame_size(size_t pk_len, size_t ehk_len, size_t origin_len, size_t data_len);
/* Encodes into out (stm_frame_size bytes); returns the size. Pointers in f are read. */
size_t stm_frame_encode(const stm_frame *f, uint8_t *out);
/* Decodes the frame at buf. Returns its size, 0 if buf holds only part of a frame (need
 * more bytes; *need says how many in total), or -1 if the bytes are not a valid frame.
 * f's pointers borrow from buf. */
long stm_frame_decode(const uint8_t *buf, size_t avail, stm_frame *f, size_t *need);

typedef struct stm_origin {
    char tag[STM_ORIGIN_MAX + 1];
    uint64_t pos;
} stm_origin;

/* Segment header bytes for first_seq and the origin map; caller frees. */
uint8_t *stm_seghdr_encode(uint64_t first_seq, const stm_origin *o, size_t n, size_t *len);
/* Decodes a header; origins are returned in a malloc'd array the caller frees. Returns the
 * header length, 0 if buf is too short, -1 if invalid. */
long stm_seghdr_decode(const uint8_t *buf, size_t avail, uint64_t *first_seq,
                       stm_origin **origins, size_t *n_origins);

/* Sets o[tag] = max(o[tag], pos), growing the array. */
void stm_origins_note(stm_origin **o, size_t *n, const char *tag, size_t tag_len, uint64_t pos);

/* Walks the frames of a segment image (header included) in memory: calls fn per valid frame
 * until the first invalid or incomplete one; returns the offset where the valid prefix ends,
 * or -1 if the header is invalid. Used by recovery (on files) and the fuzz target. */
typedef bool (*stm_frame_fn)(void *arg, const stm_frame *f, uint64_t off, size_t size);
long stm_segment_scan_buf(const uint8_t *buf, size_t len, stm_frame_fn fn, void *arg);

/* ---- segments (stm_segment.c) ----------------------------------------------------------- */

typedef struct stm_index_ent {
    uint64_t seq;
    uint64_t off;
    int64_t arrival_ms;
} stm_index_ent;

typedef struct stm_segment {
    uint64_t first_seq;
    uint64_t last_seq;           /* first_seq - 1 while empty */
    uint64_t size;               /* logical end: bytes of header and records */
    uint64_t alloc;              /* the file's size: >= size, zeros after size (zero-ahead) */
    uint32_t hdr_len;
    int64_t max_arrival_ms;
    int fd;
    char *path;
    stm_index_ent *idx;
    size_t n_idx, cap_idx;
    uint64_t last_idx_off;
} stm_segment;

/* Opens a sealed (not last) segment, loading its .idx side file or rebuilding it by a scan.
 * Returns NULL with e set. Caller frees with stm_segment_free. */
stm_segment *stm_segment_open_sealed(const char *path, uint64_t first_seq, sp_err *e);
/* Opens the last segment of a shard: validates the header, scans every frame, cuts a torn or
 * corrupt tail (sp_warn with the byte count; zeros after the last record are written-ahead
 * space, kept and not reported) and merges the header's and the frames' origin
 * highs into *origins. *bad_header is set (and NULL returned) when the header itself is
 * unreadable, so the caller can drop the file. */
stm_segment *stm_segment_open_tail(const char *path, uint64_t first_seq, stm_origin **origins,
                                   size_t *n_origins, bool *bad_header, sp_err *e);
/* Creates a new segment file with a header carrying the origin map. */
stm_segment *stm_segment_create(const char *dir, uint64_t first_seq, const stm_origin *o,
                                size_t n, bool sync, sp_err *e);
/* Writes the .idx side file of a sealed segment (best effort: open rebuilds a missing one). */
void stm_segment_write_index(const stm_segment *seg, bool sync);
/* Records that a frame of size bytes with seq/arrival was written at off. */
void stm_segment_note(stm_segment *seg, uint64_t seq, int64_t arrival_ms, uint64_t off,
                      size_t size);
/* Offset to start scanning for the first record with seq >= target (a seek, not a scan). */
uint64_t stm_segment_seek_seq(const stm_segment *seg, uint64_t target);
/* Offset to start scanning for the first record arriving at or after ts_ms. */
uint64_t stm_segment_seek_time(const stm_segment *seg, int64_t ts_ms);
/* Deletes the files (segment and .idx) and frees. */
void stm_segment_remove(stm_segment *seg);
void stm_segment_free(stm_segment *seg);
/* Sequential frame reader over a segment file between two offsets, buffering in chunks
 * (a frame larger than the buffer grows it). */
typedef struct stm_reader {
    int fd;
    uint64_t end;                /* stop here (committed size) */
    uint64_t buf_off;            /* file offset of buf[0] */
    uint8_t *buf;
    size_t cap, lo, hi;
} stm_reader;
void stm_reader_init(stm_reader *rd, int fd, uint64_t off, uint64_t end);
/* 1: a frame (f borrows the buffer until the next call; *off its file offset, *size its
 * bytes), 0: clean end, -1: invalid or torn frame at *off. */
int stm_reader_next(stm_reader *rd, stm_frame *f, uint64_t *off, size_t *size);
void stm_reader_clear(stm_reader *rd);

/* "<dir>/<first_seq %020>.seg" */
void stm_segment_path(const char *dir, uint64_t first_seq, const char *ext, char *out,
                      size_t size);

/* ---- shards (stm_shard.c) --------------------------------------------------------------- */

typedef enum { STM_FSYNC_BATCH, STM_FSYNC_INTERVAL, STM_FSYNC_NONE } stm_fsync_policy;

typedef struct stm_policy {
    stm_fsync_policy fsync;
    uint64_t segment_bytes;
} stm_policy;

struct stm_append_req;

typedef struct stm_shard {
    int index;
    char id[STM_SHARD_ID_MAX];
    stm_u128 hash_start, hash_end;
    int parent, adjacent_parent;  /* indexes, -1 for none */
    bool open;
    int64_t created_ms;
    char *dir;

    pthread_rwlock_t segs_lock;
    stm_segment **segs;
    size_t n_segs, cap_segs;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next_seq;            /* next position to assign */
    uint64_t seq_reserved;        /* every position handed out is <= this, held on disk */
    int64_t last_arrival_ms;      /* arrival times are kept non-decreasing per shard */
    uint64_t last_seq;            /* highest published (readable) position */
    int64_t last_seq_arrival_ms;
    stm_origin *origins;          /* published origin highs */
    size_t n_origins;
    struct stm_append_req *queue_head, *queue_tail;
    bool writing;                 /* a leader is writing the queue */
    bool dirty;                   /* written since the last fsync */
    uint64_t n_commits, n_writes; /* leader passes and pwritev calls (for tests and stats) */
    uint64_t pass_bytes_avg;      /* leader only: moving average of the bytes of a pass */
    bool sync_failed;             /* an fdatasync failed: appends refused until restart */
    bool (*sync_hook)(void *arg); /* tests only: runs before each append's fdatasync; */
    void *sync_hook_arg;          /* false makes the sync fail */

    /* Leader-only state (the thread with writing == true). */
    stm_origin *w_origins;
    size_t n_w_origins;
} stm_shard;

/* Opens (creating) the shard directory and recovers its segments. Caller frees with
 * stm_shard_close. */
stm_shard *stm_shard_open(const char *stream_dir, int index, sp_err *e);
/* Syncs when sync is set, closes files and frees. */
void stm_shard_close(stm_shard *sh, bool sync);
/* Group-committed append of n records (already validated). seqs_out[i] receives the
 * positions; arrival_out (optional) the arrival times. */
bool stm_shard_append(stm_shard *sh, const stm_policy *pol, const stm_put *const *recs,
                      size_t n, uint64_t *seqs_out, int64_t *arrival_out, sp_err *e);
/* Reads records with seq > after_seq in order (see stm_shard_read in stream.h). Every
 * record is passed as a frame; *last_arrival receives the shard's tip arrival time. */
typedef bool (*stm_shard_frame_fn)(void *arg, const stm_frame *f);
long stm_shard_scan(stm_shard *sh, uint64_t after_seq, size_t max, size_t max_bytes,
                    stm_shard_frame_fn fn, void *arg, sp_err *e);
/* Position just before the first record arriving at/after ts_ms (for AT_TIMESTAMP). */
uint64_t stm_shard_seek_time(stm_shard *sh, int64_t ts_ms);
/* First available position (after retention) minus one: TRIM_HORIZON's start. */
uint64_t stm_shard_trim_horizon(stm_shard *sh);
uint64_t stm_shard_last_seq(stm_shard *sh);
/* fsyncs the tail if dirty. */
void stm_shard_sync(stm_shard *sh);
/* Deletes whole segments (never the last) whose newest record is older than cutoff_ms;
 * returns how many. */
size_t stm_shard_trim(stm_shard *sh, int64_t cutoff_ms);
uint64_t stm_shard_origin(stm_shard *sh, const char *origin);

/* ---- streams and the log (stm_log.c, stm_meta.c) ---------------------------------------- */

typedef enum stm_status { STM_ACTIVE, STM_CREATING, STM_UPDATING } stm_status;

typedef struct stm_stream {
    char *name;
    char *dir;
    int64_t created_ms;
    bool on_demand;
    long long retention_hours;
    stm_policy policy;
    long long fsync_interval_ms;
    uint64_t last_sync_ns;        /* background thread only */
    stm_shard **shards;
    size_t n_shards;
    atomic_uint_least64_t generation;
    pthread_mutex_t ckpt_mu;
    json_t *checkpoints;          /* {consumer: {shard_index: seq}} */
    json_t *tags;                 /* {key: value}, owned; under log->lock */
    /* CREATING or UPDATING until status_until_ms (wall clock), then ACTIVE; under log->lock.
     * In memory only: after a restart every stream is ACTIVE. */
    stm_status status;
    int64_t status_until_ms;
} stm_stream;

/* A stream DeleteStream removed while its DELETING window lasts: what DescribeStream still
 * shows of it. Its data are already gone. */
typedef struct stm_ghost {
    char *name;
    int64_t created_ms;
    long long retention_hours;
    bool on_demand;
    int64_t until_ms;
} stm_ghost;

struct stm_log {
    char *dir;
    pthread_rwlock_t lock;
    stm_stream **streams;
    size_t n_streams;

    pthread_mutex_t gen_mu;
    pthread_cond_t gen_cv;
    atomic_uint_least64_t gen_all;  /* bumped by every append to any stream */

    pthread_t bg;
    bool bg_running, stopping;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    int64_t last_trim_ms;
    sp_durability durability;       /* picks the fsync policy of streams that name none */
    stm_log_options opt;            /* set before serving, then read-only */
    stm_ghost *ghosts;              /* DELETING streams; under log->lock */
    size_t n_ghosts;
};

/* A stream's status now (ACTIVE once its window has passed). Under log->lock. */
stm_status stm_stream_status(const stm_stream *st, int64_t now_ms);
const char *stm_status_name(stm_status s);
/* False with ResourceInUseException "... not ACTIVE, instead in state X" unless st is ACTIVE. */
bool stm_stream_require_active(const stm_stream *st, sp_err *e);
/* Starts st's window in status s (no-op with status_transition_ms 0). Under log->lock held
 * exclusively. */
void stm_stream_begin(stm_log *log, stm_stream *st, stm_status s);
/* The DELETING stream of that name whose window is not over, or NULL. Under log->lock. */
const stm_ghost *stm_ghost_find(const stm_log *log, const char *name);
/* Remembers a deleted stream for its DELETING window (and drops expired ones). Under
 * log->lock held exclusively. */
void stm_ghost_add(stm_log *log, const char *name, int64_t created_ms, long long retention_hours,
                   bool on_demand);
/* Open shards of every stream, the count the account shard quota applies to. Under log->lock. */
long long stm_account_open_shards(const stm_log *log);
/* False with Kinesis's LimitExceededException when `more` shards would pass the account's
 * quota. Under log->lock. */
bool stm_account_shards_allow(const stm_log *log, long long more, sp_err *e);

/* Under log->lock (shared or exclusive). NULL with 404 ResourceNotFoundException. */
stm_stream *stm_stream_find(stm_log *log, const char *name, sp_err *e);
/* Shard by index, or NULL with ResourceNotFoundException. */
stm_shard *stm_stream_shard(stm_stream *st, int index, sp_err *e);
/* The open shard whose range holds the hash key; NULL if none (cannot happen). */
stm_shard *stm_stream_route(stm_stream *st, stm_u128 hash);

/* Metadata: <dir>/.streams.json, written atomically under log->lock held exclusively. */
bool stm_meta_save(stm_log *log, sp_err *e);
bool stm_meta_load(stm_log *log, sp_err *e);
bool stm_checkpoints_load(stm_stream *st);

/* Creates a stream (the caller holds log->lock exclusively). */
stm_stream *stm_stream_create_locked(stm_log *log, const char *name, int shards, bool on_demand,
                                     long long retention_hours, const stm_policy *pol,
                                     long long fsync_interval_ms, sp_err *e);
bool stm_stream_delete_locked(stm_log *log, const char *name, sp_err *e);
bool stm_shard_split_locked(stm_log *log, stm_stream *st, int index, stm_u128 new_start,
                            sp_err *e);
bool stm_shard_merge_locked(stm_log *log, stm_stream *st, int a, int b, sp_err *e);
/* Storage policy of streams created through the API (CreateStream). */
void stm_policy_default(const stm_log *log, stm_policy *pol, long long *fsync_interval_ms);
/* Signals waiters of stm_stream_wait. */
void stm_log_notify(stm_log *log, stm_stream *st);
/* Retention pass at now_ms over every stream; returns segments deleted. */
size_t stm_log_trim(stm_log *log, int64_t now_ms);

/* A stream name is 1..128 of [a-zA-Z0-9_.-] not starting with '.'. */
bool stm_stream_name_valid(const char *name);
void stm_shard_id_format(int index, char out[STM_SHARD_ID_MAX]);
/* "shardId-000000000001" or "1" -> 1; -1 if neither. */
int stm_shard_id_parse(const char *id);

#endif
