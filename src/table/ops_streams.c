/* The DynamoDB Streams API: ListStreams, DescribeStream, GetShardIterator, GetRecords.
 * A table's stream is one shard. Shard iterators are opaque base64 strings carrying the
 * table id, stream label, position and expiry, sealed with a CRC so a mangled iterator is
 * refused rather than misread; they expire after 15 minutes as DynamoDB's do.
 */
#include "tbl_ops.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { TBL_ITERATOR_MAX = 2048, TBL_SHARD_ID_MAX = 64, TBL_LIST_STREAMS_MAX = 100 };

static void shard_id(const tbl_meta *m, char out[TBL_SHARD_ID_MAX])
{
    snprintf(out, TBL_SHARD_ID_MAX, "shardId-%020" PRIu64 "-%08x", m->stream_start,
             sp_crc32c(0, m->label, strlen(m->label)));
}

/* Finds the table of a stream ARN whose label is the table's latest stream. */
static bool stream_from_arn(tbl_db *db, const char *arn, tbl_meta *m, sp_err *e)
{
    static const char prefix[] = TBL_ARN_PREFIX;
    const char *mark = arn ? strstr(arn, "/stream/") : NULL;
    if (!arn || strlen(arn) < 37 || strlen(arn) > 1024) {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at 'streamArn' failed to "
                          "satisfy constraint: Member must have length %s", arn ? arn : "null",
                       arn && strlen(arn) > 1024 ? "less than or equal to 1024"
                                                 : "greater than or equal to 37");
        return false;
    }
    char name[TBL_NAME_MAX + 1];
    size_t n = mark ? (size_t)(mark - arn) : 0;
    if (!mark || strncmp(arn, prefix, sizeof prefix - 1) || n - (sizeof prefix - 1) > TBL_NAME_MAX) {
        sp_err_invalid(e, "Invalid StreamArn");
        return false;
    }
    memcpy(name, arn + sizeof prefix - 1, n - (sizeof prefix - 1));
    name[n - (sizeof prefix - 1)] = '\0';
    if (!tbl_meta_get(db, name, m, true, e) || !m->label[0] ||
        strcmp(mark + strlen("/stream/"), m->label)) {
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Requested resource not found: Stream: %s not found", arn);
        return false;
    }
    return true;
}

json_t *tbl_op_list_streams(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    const char *table = sp_json_str(req, "TableName", false, e);
    long long limit = sp_json_int(req, "Limit", false, TBL_LIST_STREAMS_MAX, e);
    const char *start = sp_json_str(req, "ExclusiveStartStreamArn", false, e);
    if (sp_err_failed(e)) return NULL;
    if (table && !tbl_check_table_name(table, "tableName", e)) return NULL;
    if (limit < 1 || limit > TBL_LIST_STREAMS_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '%lld' at 'limit' failed to "
                          "satisfy constraint: Member must have value between 1 and 100", limit);
        return NULL;
    }
    char(*names)[TBL_NAME_MAX + 1];
    size_t n = tbl_meta_names(db, &names);
    json_t *streams = json_array();
    bool past_start = !start, more = false;
    char arn[TBL_ARN_MAX], last[TBL_ARN_MAX] = "";
    for (size_t i = 0; i < n; i++) {
        tbl_meta m;
        sp_err ignore = {0};
        if (table && strcmp(table, names[i])) continue;
        if (!tbl_meta_get(db, names[i], &m, true, &ignore) || !m.label[0]) continue;
        tbl_stream_arn(&m, m.label, arn);
        if (!past_start) {
            past_start = !strcmp(arn, start);
            continue;
        }
        if (json_array_size(streams) == (size_t)limit) {
            more = true;
            break;
        }
        json_array_append_new(streams, json_pack("{s:s, s:s, s:s}", "StreamArn", arn,
                                                 "TableName", m.name, "StreamLabel", m.label));
        snprintf(last, sizeof last, "%s", arn);
    }
    free(names);
    json_t *resp = json_pack("{s:o}", "Streams", streams);
    if (more) json_object_set_new(resp, "LastEvaluatedStreamArn", json_string(last));
    return resp;
}

static json_t *key_schema(const tbl_meta *m)
{
    json_t *ks = json_array();
    json_array_append_new(ks, json_pack("{s:s, s:s}", "AttributeName", m->hash_key, "KeyType",
                                        "HASH"));
    if (m->range_key[0])
        json_array_append_new(ks, json_pack("{s:s, s:s}", "AttributeName", m->range_key,
                                            "KeyType", "RANGE"));
    return ks;
}

static uint64_t trim_horizon(const tbl_meta *m)
{
    return m->trim_seq > m->stream_start ? m->trim_seq : m->stream_start;
}

json_t *tbl_op_describe_stream(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    const char *arn = sp_json_str(req, "StreamArn", false, e);
    sp_json_int(req, "Limit", false, 0, e);
    sp_json_str(req, "ExclusiveStartShardId", false, e);
    if (sp_err_failed(e) || !stream_from_arn(ctx, arn, &m, e)) return NULL;
    char sid[TBL_SHARD_ID_MAX], seq[TBL_SEQ_DIGITS + 2];
    shard_id(&m, sid);
    snprintf(seq, sizeof seq, "%0*" PRIu64, TBL_SEQ_DIGITS, trim_horizon(&m) + 1);
    json_t *range = json_pack("{s:s}", "StartingSequenceNumber", seq);
    if (m.view == TBL_VIEW_NONE) {
        snprintf(seq, sizeof seq, "%0*" PRIu64, TBL_SEQ_DIGITS, m.last_seq);
        json_object_set_new(range, "EndingSequenceNumber", json_string(seq));
    }
    json_t *shards = json_pack("[{s:s, s:o}]", "ShardId", sid, "SequenceNumberRange", range);
    tbl_view view = m.view;
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:f, s:s, s:o, s:o}}", "StreamDescription",
                     "StreamArn", arn, "StreamLabel", m.label, "StreamStatus",
                     view != TBL_VIEW_NONE ? "ENABLED" : "DISABLED", "StreamViewType",
                     view != TBL_VIEW_NONE ? tbl_view_name(view) : "NEW_AND_OLD_IMAGES",
                     "CreationRequestDateTime", (double)m.created_ms / 1000.0, "TableName",
                     m.name, "KeySchema", key_schema(&m), "Shards", shards);
}

/* ---- iterators -------------------------------------------------------------------------- */

static char *iterator_make(const tbl_meta *m, uint64_t after, int64_t now_ms)
{
    char plain[TBL_ITERATOR_MAX / 2];
    int n = snprintf(plain, sizeof plain, "1|%" PRId64 "|%s|%" PRIu64 "|%" PRId64 "|", m->tid,
                     m->label, after, now_ms + TBL_ITERATOR_TTL_MS);
    n += snprintf(plain + n, sizeof plain - (size_t)n, "%08x", sp_crc32c(0, plain, (size_t)n));
    char *out = malloc(sp_base64_encoded_len((size_t)n) + 1);
    sp_base64_encode(plain, (size_t)n, out);
    return out;
}

typedef struct iter {
    int64_t tid;
    char label[TBL_LABEL_MAX];
    uint64_t after;
    int64_t expires_ms;
} iter;

static bool iterator_parse(const char *text, iter *it, sp_err *e)
{
    size_t n = text ? strlen(text) : 0;
    char plain[TBL_ITERATOR_MAX];
    long len = n && n <= TBL_ITERATOR_MAX && sp_base64_decoded_max(n) < sizeof plain
                   ? sp_base64_decode(text, n, plain) : -1;
    if (len > 9) {
        plain[len] = '\0';
        unsigned crc = 0;
        int consumed = 0;
        char *dash = plain + len - 8;
        if (sscanf(dash, "%8x%n", &crc, &consumed) == 1 && consumed == 8 &&
            crc == sp_crc32c(0, plain, (size_t)(len - 8))) {
            *dash = '\0';
            char *label = strchr(plain + 2, '|');
            char *rest = label ? strchr(label + 1, '|') : NULL;
            if (label && rest && (size_t)(rest - label - 1) < sizeof it->label) {
                memcpy(it->label, label + 1, (size_t)(rest - label - 1));
                it->label[rest - label - 1] = '\0';
                if (sscanf(plain, "1|%" SCNd64, &it->tid) == 1 &&
                    sscanf(rest, "|%" SCNu64 "|%" SCNd64 "|", &it->after, &it->expires_ms) == 2)
                    return true;
            }
        }
    }
    sp_err_invalid(e, "Invalid ShardIterator");
    return false;
}

json_t *tbl_op_get_shard_iterator(void *ctx, json_t *req, sp_err *e)
{
    tbl_meta m;
    const char *arn = sp_json_str(req, "StreamArn", false, e);
    const char *sid = sp_json_str(req, "ShardId", true, e);
    const char *type = sp_json_str(req, "ShardIteratorType", true, e);
    const char *seqs = sp_json_str(req, "SequenceNumber", false, e);
    if (sp_err_failed(e) || !stream_from_arn(ctx, arn, &m, e)) return NULL;
    char want[TBL_SHARD_ID_MAX];
    shard_id(&m, want);
    if (strcmp(sid, want)) {
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Requested resource not found: Shard does not exist");
        return NULL;
    }
    bool at = !strcmp(type, "AT_SEQUENCE_NUMBER"), after = !strcmp(type, "AFTER_SEQUENCE_NUMBER");
    uint64_t pos;
    if (!strcmp(type, "TRIM_HORIZON")) {
        pos = trim_horizon(&m);
    } else if (!strcmp(type, "LATEST")) {
        pos = m.last_seq;
    } else if (at || after) {
        char *end = NULL;
        unsigned long long v = seqs && *seqs ? strtoull(seqs, &end, 10) : 0;
        if (!seqs || !end || *end || strlen(seqs) > 40 || v == 0) {
            sp_err_invalid(e, seqs ? "Invalid SequenceNumber: %s"
                                   : "Must provide a SequenceNumber for %s", seqs ? seqs : type);
            return NULL;
        }
        pos = at ? v - 1 : v;
        if (pos < trim_horizon(&m)) {
            sp_err_set(e, 400, "TrimmedDataAccessException",
                       "The operation attempted to read past the oldest stream record in a "
                       "shard: %s", seqs);
            return NULL;
        }
        if (pos > m.last_seq) {
            sp_err_invalid(e, "Invalid SequenceNumber: %s is beyond the end of the shard", seqs);
            return NULL;
        }
    } else {
        sp_err_invalid(e, "1 validation error detected: Value '%s' at 'shardIteratorType' "
                          "failed to satisfy constraint: Member must satisfy enum value set: "
                          "[AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
                       type);
        return NULL;
    }
    char *it = iterator_make(&m, pos, sp_clock_wall_ms());
    json_t *resp = json_pack("{s:s}", "ShardIterator", it);
    free(it);
    return resp;
}

typedef struct collect {
    json_t *records;
    size_t bytes;
    uint64_t last;
    sp_err *e;
} collect;

static bool collect_one(void *arg, const tbl_stream_record *rec)
{
    collect *c = arg;
    if (c->bytes + rec->json_len > TBL_PAGE_MAX_BYTES && json_array_size(c->records) > 0)
        return false;
    json_t *r = json_loadb(rec->json, rec->json_len, JSON_ALLOW_NUL, NULL);
    if (!r) {
        sp_err_internal(c->e, "stream record %" PRIu64 " is not JSON", rec->seq);
        return false;
    }
    /* Records are stored in the event form Lambda and Pipes consumers read
     * (userIdentity.type/principalId); the Streams API names those members Type/PrincipalId. */
    json_t *who = json_object_get(r, "userIdentity");
    if (json_is_object(who))
        json_object_set_new(r, "userIdentity",
                            json_pack("{s:O, s:O}", "Type", json_object_get(who, "type"),
                                      "PrincipalId", json_object_get(who, "principalId")));
    json_array_append_new(c->records, r);
    c->bytes += rec->json_len;
    c->last = rec->seq;
    return true;
}

json_t *tbl_op_get_records(void *ctx, json_t *req, sp_err *e)
{
    tbl_db *db = ctx;
    const char *text = sp_json_str(req, "ShardIterator", true, e);
    long long limit = sp_json_int(req, "Limit", false, TBL_GET_RECORDS_MAX, e);
    if (sp_err_failed(e)) return NULL;
    if (limit < 1 || limit > TBL_GET_RECORDS_MAX) {
        sp_err_invalid(e, "1 validation error detected: Value '%lld' at 'limit' failed to "
                          "satisfy constraint: Member must have value %s", limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 1000");
        return NULL;
    }
    iter it;
    if (!iterator_parse(text, &it, e)) return NULL;
    int64_t now = sp_clock_wall_ms();
    if (now > it.expires_ms) {
        sp_err_set(e, 400, "ExpiredIteratorException", "Iterator expired. The iterator was "
                                                       "created more than 15 minutes ago");
        return NULL;
    }
    /* Find the table by id: names may have been reused by a re-created table. */
    char(*names)[TBL_NAME_MAX + 1];
    size_t n = tbl_meta_names(db, &names);
    tbl_meta m;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        sp_err ignore = {0};
        found = tbl_meta_get(db, names[i], &m, true, &ignore) && m.tid == it.tid &&
                !strcmp(m.label, it.label);
    }
    free(names);
    if (!found) {
        sp_err_set(e, 400, "ResourceNotFoundException", "Requested resource not found: "
                                                        "Stream not found");
        return NULL;
    }
    if (it.after < trim_horizon(&m)) {
        sp_err_set(e, 400, "TrimmedDataAccessException",
                   "The operation attempted to read past the oldest stream record in a shard");
        return NULL;
    }
    collect c = {.records = json_array(), .last = it.after, .e = e};
    if (tbl_stream_read(db, m.name, it.after, (size_t)limit, collect_one, &c, e) < 0 ||
        sp_err_failed(e)) {
        json_decref(c.records);
        return NULL;
    }
    json_t *resp = json_pack("{s:o}", "Records", c.records);
    /* A disabled stream's shard is closed: once read to its end there is no next iterator. */
    if (m.view != TBL_VIEW_NONE || c.last < m.last_seq) {
        char *next = iterator_make(&m, c.last, now);
        json_object_set_new(resp, "NextShardIterator", json_string(next));
        free(next);
    }
    return resp;
}
