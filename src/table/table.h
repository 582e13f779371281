/* table: DynamoDB-compatible tables in SQLite (WAL) with transactional change capture.
 *
 * Every change to a stream-enabled table appends its DynamoDB Streams record in the same
 * SQLite transaction as the item change, so the stream can neither miss nor invent a change.
 * The DynamoDB JSON 1.0 API (tbl_ddb_ops) and the DynamoDB Streams API (tbl_streams_ops) are
 * operation tables for api/; in-process consumers (the pipe) read the stream through
 * tbl_stream_read without HTTP.
 *
 * Thread safety: a tbl_db may be used from any number of threads at once.
 */
#ifndef SP_TABLE_H
#define SP_TABLE_H

#include "core/config.h"
#include "core/core.h"

typedef struct tbl_db tbl_db;

/* Opens (creating) <dir>/tables.db. With SP_DURABILITY_FSYNC a write is answered only once
 * its commit is fsynced (writers that arrive during one WAL fdatasync share the next commit
 * and the next fdatasync, and stream records become readable only once synced, store.c);
 * RELAXED answers once the commit is in the WAL (synchronous=NORMAL), which a
 * process crash keeps and a power loss may not. Stream sequence numbers are never reused in
 * either mode (<dir>/tables.seq, see store.c). Caller closes with tbl_db_close. */
tbl_db *tbl_db_open(const char *dir, sp_durability durability, sp_err *e);
void tbl_db_close(tbl_db *db);
/* Write path counters since open: writes acknowledged, group commits (one SQLite transaction
 * each), WAL syncs done by writers (fsync durability; 0 under relaxed). */
void tbl_db_commit_stats(tbl_db *db, uint64_t *writes, uint64_t *groups, uint64_t *syncs);
/* server.status_transition_ms: tables created, updated and deleted through the API stay
 * CREATING / UPDATING / DELETING this long (0: ACTIVE, or gone, at once). */
void tbl_db_set_status_ms(tbl_db *db, int64_t ms);

/* Creates the configured table if it does not exist (an existing one is left as it is). */
bool tbl_table_ensure(tbl_db *db, const sp_cfg_table *cfg, sp_err *e);

/* DynamoDB_20120810.* operations; ctx is the tbl_db. */
extern const sp_op tbl_ddb_ops[];
/* DynamoDBStreams_20120810.* operations; ctx is the tbl_db. */
extern const sp_op tbl_streams_ops[];

/* ---- in-process stream consumers -------------------------------------------------------- */

/* One table stream record. seq is the record's position in its table's stream (strictly
 * increasing, never reused); its SequenceNumber string is seq as a 21-digit zero-padded
 * decimal. json is the complete record as DynamoDB Streams returns it (eventID, eventName,
 * eventVersion, eventSource, awsRegion, dynamodb{...}, eventSourceARN). Borrowed for the
 * duration of the callback. */
typedef struct tbl_stream_record {
    uint64_t seq;
    int64_t created_ms;       /* commit time */
    const char *json;
    size_t json_len;
} tbl_stream_record;

/* Return false to stop reading early. */
typedef bool (*tbl_stream_fn)(void *arg, const tbl_stream_record *rec);

/* Calls fn for up to max records of the table's stream with seq > after_seq, in order.
 * Returns the number delivered, or -1 with e set (404 ResourceNotFoundException when the
 * table or its stream does not exist). */
long tbl_stream_read(tbl_db *db, const char *table, uint64_t after_seq, size_t max,
                     tbl_stream_fn fn, void *arg, sp_err *e);
/* The highest seq of the table's stream (0 if empty), for LATEST and for lag. */
uint64_t tbl_stream_last_seq(tbl_db *db, const char *table);
/* Waits until the table's stream has a record with seq > after_seq or timeout_ms passes.
 * Returns true if there is something to read. */
bool tbl_stream_wait(tbl_db *db, const char *table, uint64_t after_seq, int timeout_ms);

#endif
