/* table internals shared by the table module's files: the database handle with its
 * connection pool and writer lock, the per-table metadata cache, key encoding, item
 * validation and the write path that captures stream records in the item's transaction.
 *
 * Locking: db->write_mu serialises every write transaction (so stream sequence numbers are
 * handed out in commit order); db->meta_mu guards the metadata cache; a connection taken
 * from the pool belongs to one thread until it is given back.
 */
#ifndef SP_TABLE_INT_H
#define SP_TABLE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "table.h"

/* ---- AWS limits ------------------------------------------------------------------------- */

enum {
    TBL_NAME_MIN = 3,              /* table names: 3..255 chars of [a-zA-Z0-9_.-] */
    TBL_NAME_MAX = 255,
    TBL_ATTR_NAME_MAX = 255,       /* key attribute names: 1..255 bytes */
    TBL_ITEM_MAX_BYTES = 400 * 1024,
    TBL_HASH_KEY_MAX_BYTES = 2048,
    TBL_RANGE_KEY_MAX_BYTES = 1024,
    TBL_BATCH_WRITE_MAX = 25,
    TBL_BATCH_GET_MAX = 100,
    TBL_TRANSACT_MAX = 100,
    TBL_LIST_TABLES_MAX = 100,
    TBL_PAGE_MAX_BYTES = 1024 * 1024,   /* Query/Scan/GetRecords answer at most 1 MB */
    TBL_GET_RECORDS_MAX = 1000,
    TBL_ITERATOR_TTL_MS = 15 * 60 * 1000,
    TBL_SCAN_SEGMENTS_MAX = 1000000,
    TBL_GSI_MAX = 20,
    TBL_LSI_MAX = 5,
    TBL_SEQ_DIGITS = 21,
    TBL_SEQ_RESERVE_BLOCK = 65536,      /* stream seqs reserved on disk at a time (store.c) */
    TBL_LABEL_MAX = 32,
    TBL_ARN_MAX = 400,
};

#define TBL_REGION "us-east-1"
#define TBL_ACCOUNT "000000000000"
#define TBL_ARN_PREFIX "arn:aws:dynamodb:" TBL_REGION ":" TBL_ACCOUNT ":table/"

/* ---- metadata --------------------------------------------------------------------------- */

typedef enum { TBL_VIEW_NONE, TBL_VIEW_KEYS_ONLY, TBL_VIEW_NEW_IMAGE, TBL_VIEW_OLD_IMAGE,
               TBL_VIEW_NEW_AND_OLD_IMAGES } tbl_view;

/* ---- secondary indexes (index.c) -------------------------------------------------------- */

typedef enum { TBL_PROJ_ALL, TBL_PROJ_KEYS_ONLY, TBL_PROJ_INCLUDE } tbl_projection;

/* One local or global secondary index: its key schema and projection. */
typedef struct tbl_index {
    char name[TBL_NAME_MAX + 1];
    bool global;
    char hash_key[TBL_ATTR_NAME_MAX + 1];
    char hash_type;
    char range_key[TBL_ATTR_NAME_MAX + 1]; /* "" for a hash-only GSI */
    char range_type;
    tbl_projection projection;
    json_t *non_key;                    /* INCLUDE: array of attribute names, else NULL */
} tbl_index;

/* The indexes of one version of a table's definition. Immutable once built and owned by the
 * database (freed at close), so a tbl_meta copied out of the cache can point at it without
 * holding a lock. */
typedef struct tbl_indexes {
    size_t n;
    tbl_index *ix;
    struct tbl_indexes *next_owned;     /* the database's list of every set it built */
} tbl_indexes;

/* Everything an operation needs about one table; copied out of the cache by value so no
 * lock is held while the operation runs. */
typedef struct tbl_meta {
    int64_t tid;                        /* never reused, so a re-created table is new */
    char name[TBL_NAME_MAX + 1];
    char hash_key[TBL_ATTR_NAME_MAX + 1];
    char hash_type;                     /* 'S', 'N' or 'B' */
    char range_key[TBL_ATTR_NAME_MAX + 1]; /* "" for a hash-only table */
    char range_type;
    int64_t created_ms;
    tbl_view view;                      /* TBL_VIEW_NONE: stream disabled */
    char label[TBL_LABEL_MAX];          /* label of the latest stream, "" if never enabled */
    int64_t retention_hours;
    uint64_t last_seq;                  /* highest stream seq ever written */
    uint64_t trim_seq;                  /* records with seq <= trim_seq are gone */
    uint64_t stream_start;              /* the latest stream holds the records > this */
    const tbl_indexes *indexes;         /* NULL when the table has none; owned by the db */
    char ttl_attr[TBL_ATTR_NAME_MAX + 1]; /* Time to Live attribute, "" when disabled */
    /* A status window (server.status_transition_ms): TBL_BUSY_* until busy_until_ms, then
     * ACTIVE (a DELETING table is then gone). Kept in memory only: after a restart every
     * table is ACTIVE. */
    char busy;
    int64_t busy_until_ms;
    char busy_index[TBL_NAME_MAX + 1];  /* UPDATING: the global index being created */
    const char *ghost;                  /* DELETING: the description as deleted (db-owned) */
} tbl_meta;

enum { TBL_BUSY_NONE = 0, TBL_BUSY_CREATING = 'C', TBL_BUSY_UPDATING = 'U',
       TBL_BUSY_DELETING = 'D' };

/* The window status in force now (TBL_BUSY_NONE once it is over). */
char tbl_meta_busy(const tbl_meta *m);
/* DynamoDB's status name of a window status ("ACTIVE" for none). */
const char *tbl_busy_name(char busy);
/* Replaces the table by a DELETING ghost showing desc (copied) until the window ends; without
 * a window (status_ms 0) the table is removed at once. */
void tbl_meta_set_ghost(tbl_db *db, const tbl_meta *m, const json_t *desc);
/* The description of a table being deleted (a new reference), or NULL. */
json_t *tbl_meta_ghost_desc(tbl_db *db, const char *name);

/* ---- database --------------------------------------------------------------------------- */

/* Prepared statements, one set per connection. */
enum {
    TBL_ST_BEGIN, TBL_ST_COMMIT, TBL_ST_ROLLBACK,
    TBL_ST_SAVEPOINT, TBL_ST_RELEASE, TBL_ST_ROLLBACK_TO,
    TBL_ST_ITEM_GET, TBL_ST_ITEM_PUT, TBL_ST_ITEM_DEL,
    TBL_ST_STREAM_ADD, TBL_ST_STREAM_READ,
    TBL_ST_SCAN, TBL_ST_SCAN_FROM, TBL_ST_QUERY_ASC, TBL_ST_QUERY_DESC,
    TBL_ST_COUNT
};

typedef struct tbl_conn {
    sqlite3 *sql;
    sqlite3_stmt *st[TBL_ST_COUNT];
    struct tbl_conn *next_free;
    struct tbl_conn *next_all;
} tbl_conn;

struct tbl_db {
    char *path;
    sp_durability durability;
    /* Sequence numbers are reserved in blocks on disk before they are handed out (store.c):
     * every seq ever handed out is <= seq_reserved, which <dir>/tables.seq holds durably, and
     * after a restart numbering continues above what the file held (seq_floor). */
    char *seq_path;
    uint64_t seq_reserved;              /* under write_mu */
    uint64_t seq_floor;                 /* set once at open */
    pthread_mutex_t pool_mu;
    tbl_conn *free_conns, *all_conns;

    pthread_mutex_t write_mu;           /* one write transaction at a time */

    /* Group commit (store.c); everything here is guarded by write_mu. Writers run one at a
     * time, each in a savepoint of one open SQLite transaction (the group); under relaxed
     * the last writer in line commits the group and wakes the others, who answer only then;
     * under fsync the syncer commits it (below). */
    tbl_conn *writer;                   /* the one connection that writes */
    bool group_open;                    /* BEGIN done, COMMIT not yet */
    size_t group_members;               /* writers whose changes the group holds */
    struct tbl_group_waiter *group_waiters;
    int64_t group_tids[2 * TBL_TRANSACT_MAX];   /* tables the group wrote, with the seq */
    uint64_t group_seqs[2 * TBL_TRANSACT_MAX];  /* each reached, published at commit */
    size_t group_n_tids;
    pthread_cond_t group_cv;            /* a group was committed or rolled back */
    int writers_waiting;                /* threads about to take write_mu (atomic) */

    /* Durability under `durability: fsync` (store.c). One thread per database, the syncer,
     * commits the open group (synchronous=NORMAL on the writer connection: WAL frames
     * written, not synced), releases write_mu and fdatasyncs the WAL; writers that finish
     * meanwhile join the next group, which it commits as soon as this sync is done. Groups
     * are numbered; a writer is answered once synced_no reaches its group's. Stream
     * positions of committed, not yet synced groups wait in pending and are published
     * (tbl_meta_committed) only by the sync that covers them, so no consumer sees a change a
     * power loss can take. Guarded by sync_mu; wal_fd only by being the syncer. */
    pthread_mutex_t sync_mu;
    pthread_cond_t syncer_cv;           /* work for the syncer, or stop */
    pthread_t syncer;
    bool syncer_running, syncer_stop;
    bool syncer_idle;                   /* waiting on syncer_cv: a writer must signal it */
    bool sync_work;                     /* a writer joined a group since the syncer looked */
    struct tbl_group_waiter *unsynced;  /* writers of committed groups, waiting for a sync */
    uint64_t commit_no;                 /* groups committed */
    uint64_t synced_no;                 /* groups known durable and published */
    bool sync_failed;                   /* a WAL sync failed: nothing later is acknowledged */
    struct tbl_pending *pending;        /* one entry per table, grown as needed */
    size_t n_pending, cap_pending;
    char *wal_path;
    int wal_fd;                         /* -1 until the first sync */
    bool (*sync_hook)(void *arg);       /* tests only: runs before each WAL sync; */
    void *sync_hook_arg;                /* false makes the sync fail */
    /* Counters for the health output (atomic): writes acknowledged, groups committed,
     * WAL syncs done by writers. */
    uint64_t stat_writes, stat_groups, stat_syncs;

    pthread_mutex_t meta_mu;            /* guards metas and the commit condition */
    pthread_cond_t commit_cv;           /* signalled after every commit that added records */
    tbl_meta *metas;
    size_t n_metas, cap_metas;

    pthread_t checkpointer;             /* checkpoint.c; its state under ckpt_mu */
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    bool ckpt_running, ckpt_wanted, ckpt_stopping;
    int ckpt_next_pages;                /* WAL size at the last request to the thread */
    int ckpt_last_pages;                /* WAL size at the last commit */

    pthread_mutex_t index_mu;           /* guards index_sets */
    tbl_indexes *index_sets;            /* every index set built, freed at close */
    int64_t status_ms;                  /* server.status_transition_ms; 0: ACTIVE at once */
    struct tbl_ghost_text *ghost_texts; /* descriptions of ghosts, freed at close (meta_mu) */

    pthread_t trimmer;
    bool trimmer_running, stopping;
    pthread_cond_t stop_cv;
};

/* A pooled connection for the calling thread; give it back with tbl_conn_put. NULL with e
 * set if a new connection cannot be opened. */
tbl_conn *tbl_conn_get(tbl_db *db, sp_err *e);
void tbl_conn_put(tbl_db *db, tbl_conn *c);
/* A new connection outside the pool, for db->writer; freed by tbl_db_close. */
tbl_conn *tbl_conn_open_writer(tbl_db *db, sp_err *e);
/* Sets e from the connection's last SQLite error ("<what>: <sqlite message>"). */
void tbl_sql_err(tbl_conn *c, const char *what, sp_err *e);

/* Copies the table's metadata into out; false with 400 ResourceNotFoundException if absent.
 * msg_kind selects DynamoDB's wording: true "Requested resource not found", false "Cannot do
 * operations on a non-existent table". */
bool tbl_meta_get(tbl_db *db, const char *name, tbl_meta *out, bool control_plane, sp_err *e);
/* Replaces (or adds) the cached metadata of a table; removes it when remove is true. */
void tbl_meta_set(tbl_db *db, const tbl_meta *m, bool remove);
/* Sets only the cached Time to Live attribute of table name ("" = disabled), leaving the
 * fields writers update (last_seq, ...) alone. */
void tbl_meta_set_ttl(tbl_db *db, const char *name, const char *attr);
/* Names of all tables, sorted; caller frees the array (the strings live in it). */
size_t tbl_meta_names(tbl_db *db, char (**names)[TBL_NAME_MAX + 1]);
/* Sets last_seq of a table after a commit and wakes stream waiters. */
void tbl_meta_committed(tbl_db *db, int64_t tid, uint64_t last_seq);

/* ARNs of a table and of its stream (label from meta). */
void tbl_table_arn(const tbl_meta *m, char out[TBL_ARN_MAX]);
void tbl_stream_arn(const tbl_meta *m, const char *label, char out[TBL_ARN_MAX]);
const char *tbl_view_name(tbl_view v);
bool tbl_view_parse(const char *s, tbl_view *out);

/* Control plane helpers (ddl.c), also used by tbl_table_ensure. */
bool tbl_table_create(tbl_db *db, tbl_meta *m, json_t *desc_extra, sp_err *e);
/* The TableDescription object of DescribeTable. New reference. */
json_t *tbl_table_describe(tbl_db *db, const tbl_meta *m, const char *status);

/* ---- transactions and the write path (store.c) ------------------------------------------ */

/* The stream position a committed, not yet synced group reached in one table. */
typedef struct tbl_pending {
    int64_t tid;
    uint64_t seq;
    uint64_t commit;                    /* the group's number */
} tbl_pending;

/* Sets up and tears down the durability state of db (store.c). Fsync mode: the syncer
 * thread, started at open and stopped at close (after it committed and synced what writers
 * left), before the writer connection is freed. */
bool tbl_sync_init(tbl_db *db, sp_err *e);
bool tbl_syncer_start(tbl_db *db, sp_err *e);
void tbl_syncer_stop(tbl_db *db);
void tbl_sync_free(tbl_db *db);
/* The highest stream seq of table tid committed so far, published or not (for a writer
 * that starts numbering, or a stream that starts, after it). Under write_mu. */
uint64_t tbl_written_seq(tbl_db *db, int64_t tid, uint64_t published);

/* A write transaction: holds the writer lock and the writer connection, inside a savepoint
 * of the current group (see tbl_db). tbl_txn_commit returns once the group that holds the
 * changes is committed (durable as a single transaction would be), and fails if it is not;
 * tbl_txn_rollback undoes exactly this transaction's changes. */
typedef struct tbl_txn {
    tbl_db *db;
    tbl_conn *c;
    int64_t now_ms;
    /* Tables touched, with the seq they reached, merged into the group on success. */
    int64_t tids[TBL_TRANSACT_MAX];
    uint64_t seqs[TBL_TRANSACT_MAX];
    size_t n_tids;
    bool by_service;                    /* DynamoDB itself writes (TTL expiry): stream
                                           records carry its userIdentity */
    bool deferrable;                    /* the caller answers nothing after tbl_txn_commit
                                           but its response: under fsync the commit may
                                           hold the thread's sp_ack instead of waiting */
    sp_str scratch;                     /* stream record under construction */
    char scratch_buf[4096];
} tbl_txn;

bool tbl_txn_begin(tbl_db *db, tbl_txn *t, sp_err *e);
bool tbl_txn_commit(tbl_txn *t, sp_err *e);
void tbl_txn_rollback(tbl_txn *t);

/* Encoded primary key of an item: hash and range key bytes in index order. */
typedef struct tbl_key {
    unsigned char hk[TBL_HASH_KEY_MAX_BYTES + 64];
    size_t hk_len;
    unsigned char rk[TBL_RANGE_KEY_MAX_BYTES + 64];
    size_t rk_len;
} tbl_key;

/* Reads the stored item with this key: *out is a new reference or NULL if absent. */
bool tbl_item_read(tbl_conn *c, const tbl_meta *m, const tbl_key *k, json_t **out, sp_err *e);
/* tbl_item_read that also hands over the stored text (its canonical serialisation,
 * tbl_item_dump) in *text (caller frees; NULL when absent), so that a write which follows
 * need not serialise the old item again. */
bool tbl_item_read_text(tbl_conn *c, const tbl_meta *m, const tbl_key *k, json_t **out,
                        char **text, size_t *text_len, sp_err *e);
/* Writes new_item (canonical, validated; NULL = delete) in place of old_item (NULL = absent)
 * and appends the stream record when the table's stream is on and the item changed.
 * Both items are borrowed. */
bool tbl_item_write(tbl_txn *t, tbl_meta *m, const tbl_key *k, json_t *old_item,
                    json_t *new_item, sp_err *e);
/* tbl_item_write given old_item's stored text (tbl_item_read_text; borrowed, NULL = unknown:
 * serialised here when the stream record needs it). */
bool tbl_item_write_text(tbl_txn *t, tbl_meta *m, const tbl_key *k, json_t *old_item,
                         const char *old_text, size_t old_len, json_t *new_item, sp_err *e);

/* ---- items (item.c) --------------------------------------------------------------------- */

/* Validates a request's Item (normalised by tbl_av_item_normalize), extracts its key and
 * checks the 400 KB limit. Returns the canonical item (new reference) or NULL with e set.
 * raw is borrowed. */
json_t *tbl_item_prepare(const tbl_meta *m, const json_t *raw, tbl_key *k, sp_err *e);
/* tbl_item_prepare of an item already normalised (tbl_av_item_normalize): takes item's
 * reference, returns it or NULL (then it is released) with e set. */
json_t *tbl_item_prepare_normalized(const tbl_meta *m, json_t *item, tbl_key *k, sp_err *e);
/* Validates a request's Key (exactly the key attributes) and encodes it. raw borrowed. */
bool tbl_key_prepare(const tbl_meta *m, const json_t *raw, tbl_key *k, sp_err *e);

/* ---- DynamoDB's key hash (keyhash.c) ------------------------------------------------------ */

enum { TBL_KEYHASH_BUCKETS = 4096 };   /* parallel Scan splits by the hash's first 12 bits */

/* The 24-bit hash of an encoded key (range part only when rtype is not 0). */
uint32_t tbl_key_hash(char htype, const uint8_t *hk, size_t hk_len, char rtype,
                      const uint8_t *rk, size_t rk_len);
/* Of the partition key alone (a Scan's order) / of the whole table key (index tie order). */
uint32_t tbl_key_hp(const tbl_meta *m, const tbl_key *k);
uint32_t tbl_key_thp(const tbl_meta *m, const tbl_key *k);
/* The hashes [*lo, *hi) that Scan segment `segment` of `total` covers. */
void tbl_segment_range(uint32_t segment, uint32_t total, int64_t *lo, int64_t *hi);
/* Registers the SQL function sp_key_hash(htype, hk, rtype, rk) on a connection. */
bool tbl_key_hash_register(sqlite3 *sql);
/* The attribute values of a request's Item/Key map (borrowed) are well-formed: the checks
 * that need no table, made before it is looked up. True when raw is absent. */
bool tbl_av_map_check(const json_t *raw, sp_err *e);
/* Size of an item by DynamoDB's rules (attribute names plus values). */
size_t tbl_item_size(const json_t *item);
/* Extracts and encodes the primary key of a full item (PutItem) or of a Key (Get/Delete;
 * key_only demands no other attributes). */
bool tbl_key_from_item(const tbl_meta *m, const json_t *item, bool key_only, tbl_key *k,
                       sp_err *e);
/* Encodes one key attribute value of type t into out (order-preserving). */
bool tbl_key_encode(char t, const json_t *v, unsigned char *out, size_t cap, size_t *len,
                    sp_err *e);
/* The Keys object of an item (just its key attributes). New reference. */
json_t *tbl_item_keys(const tbl_meta *m, const json_t *item);
/* Canonical text of an item (sorted keys, compact); caller frees. */
char *tbl_item_dump(const json_t *item, size_t *len);
bool tbl_item_equal(const json_t *a, const json_t *b);

/* ---- stream (stream.c) ------------------------------------------------------------------ */

/* ---- checkpoints (checkpoint.c) --------------------------------------------------------- */

enum {
    TBL_CHECKPOINT_PAGES = 1000,        /* SQLite's default autocheckpoint */
    TBL_CHECKPOINT_INLINE_PAGES = 4000, /* the writer checkpoints itself past this, so the WAL
                                         * restarts (it cannot while writers keep appending) */
};
/* Turns off autocheckpoint on the writer connection and hooks its commits so the WAL is
 * checkpointed by the background thread. */
void tbl_checkpointer_attach(tbl_db *db, tbl_conn *writer);
void tbl_checkpointer_start(tbl_db *db);
void tbl_checkpointer_stop(tbl_db *db);

void tbl_trimmer_start(tbl_db *db);
void tbl_trimmer_stop(tbl_db *db);
/* One trimming pass over every table (used by the trimmer and by tests). */
void tbl_stream_trim(tbl_db *db, int64_t now_ms);

/* ---- secondary indexes (index.c) -------------------------------------------------------- */

/* Builds the index set a table description (its stored `extra`: AttributeDefinitions and
 * Local/GlobalSecondaryIndexes) defines; NULL when it defines none. The set belongs to db. */
const tbl_indexes *tbl_indexes_build(tbl_db *db, const json_t *desc);
/* Frees every index set db built; at close only. */
void tbl_indexes_free_all(tbl_db *db);
/* The index of m called name, or NULL. */
const tbl_index *tbl_index_find(const tbl_meta *m, const char *name);
/* An item's index key attributes must have the defined types (as DynamoDB checks on every
 * write); absent ones only leave the item out of that index. item borrowed. */
bool tbl_index_check_item(const tbl_meta *m, const json_t *item, sp_err *e);
/* Replaces the index entries of the item with key k by those of new_item (NULL: the item was
 * deleted), inside the caller's write transaction on c. */
bool tbl_index_write(tbl_conn *c, const tbl_meta *m, const tbl_key *k, const json_t *new_item,
                     sp_err *e);
/* Adds the entries of every item of m's table to index ix (a global secondary index created
 * on a table that has items), in the caller's write transaction. */
bool tbl_index_backfill(tbl_conn *c, const tbl_meta *m, const tbl_index *ix, sp_err *e);
/* Removes every index entry of table tid (DeleteTable), or of one index if name != NULL. */
bool tbl_index_drop(tbl_conn *c, int64_t tid, const char *name, sp_err *e);
/* The attributes of item that index ix holds: all of them for ALL, else its keys, the
 * table's keys and the INCLUDE list. New reference; item borrowed. */
json_t *tbl_index_project(const tbl_meta *m, const tbl_index *ix, const json_t *item);
/* Encodes the index key value of item for attribute name of type t into out (cap bytes);
 * false if the item lacks it or it has another type. */
bool tbl_index_key_encode(const json_t *item, const char *name, char t, unsigned char *out,
                          size_t cap, size_t *len);

/* ---- Time to Live (ttl.c) --------------------------------------------------------------- */

/* Deletes, in small transactions, the items of every table with TTL enabled whose TTL
 * attribute (a Number of epoch seconds) is at or before now and not more than five years
 * old (DynamoDB leaves older values alone), each with a REMOVE stream record whose
 * userIdentity is the DynamoDB service. Called by the trimmer thread. */
void tbl_ttl_sweep(tbl_db *db, int64_t now_ms);

#endif
