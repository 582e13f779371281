/* The wire pieces the Kinesis and DynamoDB Streams connectors share: decimal sequence numbers
 * compared as numbers (they are longer than any integer type), 128-bit hash keys (MD5 of the
 * partition key, the ranges of ListShards), and the parsers of what a remote endpoint answers
 * to ListShards / DescribeStream / GetRecords. Every answer is outside input: members are
 * checked for type and length before use, and a malformed answer is an InvalidResponse error
 * (the connector retries it like any failed call), never a crash or a silent skip. Also the
 * per-connector health counters that status and /metrics show.
 */
#include "conn.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

bool conn_kin_seq_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9') return false;
    return n > 0 && n <= CONN_KIN_SEQ_MAX;
}

int conn_kin_seq_cmp(const char *a, const char *b)
{
    while (*a == '0' && a[1]) a++;
    while (*b == '0' && b[1]) b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

bool conn_kin_u128_parse(const char *s, unsigned __int128 *out)
{
    unsigned __int128 v = 0, max = ~(unsigned __int128)0;
    if (!s || !*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

unsigned __int128 conn_kin_hash_key(const char *partition_key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_Digest(partition_key, strlen(partition_key), md, &md_len, EVP_md5(), NULL);
    unsigned __int128 v = 0;
    for (unsigned i = 0; i < 16 && i < md_len; i++) v = v << 8 | md[i];
    return v;
}

static void bad(sp_err *e, const char *what)
{
    sp_err_set(e, 502, "InvalidResponse", "the remote's answer: %s", what);
    e->retriable = true;
}

/* The string member k of o copied into out (cap bytes); absent or null: "" when optional. */
static bool str_member(const json_t *o, const char *k, char *out, size_t cap, bool optional)
{
    const json_t *v = json_object_get(o, k);
    out[0] = 0;
    if (!v || json_is_null(v)) return optional;
    if (!json_is_string(v) || json_string_length(v) >= cap) return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return memchr(out, 0, json_string_length(v)) == NULL;
}

bool conn_kin_shards_parse(const json_t *arr, conn_kin_shard **shards, size_t *n, sp_err *e)
{
    if (!json_is_array(arr)) {
        bad(e, "Shards is not a list");
        return false;
    }
    if (*n + json_array_size(arr) > CONN_KIN_SHARDS_MAX) {
        bad(e, "more shards than salespipe follows");
        return false;
    }
    size_t i;
    const json_t *sh;
    json_array_foreach(arr, i, sh) {
        conn_kin_shard s = {0};
        char lo[64], hi[64], end[CONN_KIN_SEQ_MAX + 1];
        const json_t *range = json_object_get(sh, "HashKeyRange");
        const json_t *seqs = json_object_get(sh, "SequenceNumberRange");
        if (!json_is_object(sh) || !str_member(sh, "ShardId", s.id, sizeof s.id, false) || !*s.id ||
            !str_member(sh, "ParentShardId", s.parent, sizeof s.parent, true) ||
            !str_member(sh, "AdjacentParentShardId", s.adjacent_parent, sizeof s.adjacent_parent,
                        true)) {
            bad(e, "a shard has no usable ShardId / ParentShardId");
            return false;
        }
        if (range) {
            if (!str_member(range, "StartingHashKey", lo, sizeof lo, false) ||
                !str_member(range, "EndingHashKey", hi, sizeof hi, false) ||
                !conn_kin_u128_parse(lo, &s.hash_lo) || !conn_kin_u128_parse(hi, &s.hash_hi) ||
                s.hash_lo > s.hash_hi) {
                bad(e, "a shard's HashKeyRange is not two ordered 128-bit numbers");
                return false;
            }
            s.has_range = true;
        }
        if (seqs && (!json_is_object(seqs) ||
                     !str_member(seqs, "EndingSequenceNumber", end, sizeof end, true))) {
            bad(e, "a shard's SequenceNumberRange is malformed");
            return false;
        }
        s.closed = seqs && *end;
        *shards = realloc(*shards, (*n + 1) * sizeof **shards);
        (*shards)[(*n)++] = s;
    }
    return true;
}

void conn_kin_batch_clear(conn_kin_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->recs[i].partition_key);
        free(b->recs[i].data);
    }
    free(b->recs);
    free(b->next_iterator);
    memset(b, 0, sizeof *b);
}

/* NextShardIterator and MillisBehindLatest, common to both services. */
static bool batch_head(const json_t *resp, conn_kin_batch *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    out->millis_behind = -1;
    if (!json_is_object(resp) || !json_is_array(json_object_get(resp, "Records"))) {
        bad(e, "GetRecords answered without a Records list");
        return false;
    }
    const json_t *it = json_object_get(resp, "NextShardIterator");
    if (it && !json_is_null(it)) {
        if (!json_is_string(it) || json_string_length(it) == 0 || json_string_length(it) > 4096) {
            bad(e, "NextShardIterator is not a string of 1-4096 characters");
            return false;
        }
        out->next_iterator = strdup(json_string_value(it));
    }
    const json_t *mb = json_object_get(resp, "MillisBehindLatest");
    if (json_is_integer(mb) && json_integer_value(mb) >= 0) out->millis_behind = json_integer_value(mb);
    size_t n = json_array_size(json_object_get(resp, "Records"));
    if (n > CONN_KIN_GET_LIMIT_MAX) {
        bad(e, "GetRecords answered more than 10000 records");
        free(out->next_iterator);
        out->next_iterator = NULL;
        return false;
    }
    out->recs = calloc(n ? n : 1, sizeof *out->recs);
    return true;
}

static int64_t seconds_ms(const json_t *v)
{
    return json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) < 1e11
               ? (int64_t)(json_number_value(v) * 1000.0)
               : 0;
}

bool conn_kin_records_parse(const json_t *resp, conn_kin_batch *out, sp_err *e)
{
    if (!batch_head(resp, out, e)) return false;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(resp, "Records"), i, r) {
        conn_kin_record *x = &out->recs[out->n];
        char pk[CONN_KIN_PARTITION_KEY_MAX + 1];
        const json_t *data = json_object_get(r, "Data");
        if (!json_is_object(r) || !str_member(r, "SequenceNumber", x->seq, sizeof x->seq, false) ||
            !conn_kin_seq_valid(x->seq) ||
            !str_member(r, "PartitionKey", pk, sizeof pk, false) || !*pk ||
            !json_is_string(data) ||
            json_string_length(data) > sp_base64_encoded_len(CONN_KIN_RECORD_MAX)) {
            bad(e, "a record lacks a decimal SequenceNumber, a PartitionKey or base64 Data");
            conn_kin_batch_clear(out);
            return false;
        }
        size_t dl = json_string_length(data);
        char *buf = malloc(sp_base64_decoded_max(dl) + 1);
        long got = sp_base64_decode(json_string_value(data), dl, buf);
        if (got < 0) {
            free(buf);
            bad(e, "a record's Data is not base64");
            conn_kin_batch_clear(out);
            return false;
        }
        buf[got] = 0;
        x->partition_key = strdup(pk);
        x->data = buf;
        x->len = (size_t)got;
        x->arrival_ms = seconds_ms(json_object_get(r, "ApproximateArrivalTimestamp"));
        out->n++;
    }
    return true;
}

bool conn_ddb_records_parse(const json_t *resp, conn_kin_batch *out, sp_err *e)
{
    if (!batch_head(resp, out, e)) return false;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(resp, "Records"), i, r) {
        conn_kin_record *x = &out->recs[out->n];
        const json_t *ddb = json_object_get(r, "dynamodb");
        if (!json_is_object(r) || !json_is_object(ddb) ||
            !str_member(ddb, "SequenceNumber", x->seq, sizeof x->seq, false) ||
            !conn_kin_seq_valid(x->seq) ||
            !json_is_string(json_object_get(r, "eventName"))) {
            bad(e, "a stream record lacks eventName or a decimal dynamodb.SequenceNumber");
            conn_kin_batch_clear(out);
            return false;
        }
        x->data = sp_json_dump(r, &x->len);
        x->arrival_ms = seconds_ms(json_object_get(ddb, "ApproximateCreationDateTime"));
        out->n++;
    }
    return true;
}

/* ---- health ---------------------------------------------------------------------------- */

void conn_health_init(conn_health *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->millis_behind = -1;
}

void conn_health_error(conn_health *h, const sp_err *e)
{
    pthread_mutex_lock(&h->mu);
    h->errors++;
    snprintf(h->last_error, sizeof h->last_error, "%s", e->msg);
    pthread_mutex_unlock(&h->mu);
}

bool conn_kin_list_shards(conn_kin_call_fn *call, void *ctx, const char *stream,
                          conn_kin_shard **shards, size_t *n, sp_err *e)
{
    char *token = NULL;
    bool ok = true;
    do {
        json_t *req = token ? json_pack("{s:s}", "NextToken", token)
                            : json_pack("{s:s}", "StreamName", stream);
        json_t *r = call(ctx, "ListShards", req, e);
        free(token);
        token = NULL;
        ok = r && conn_kin_shards_parse(json_object_get(r, "Shards"), shards, n, e);
        if (ok && json_is_string(json_object_get(r, "NextToken")))
            token = strdup(json_string_value(json_object_get(r, "NextToken")));
        json_decref(r);
    } while (ok && token);
    free(token);
    return ok;
}

json_t *conn_health_call(conn_aws *c, conn_health *h, const char *target_prefix,
                         const char *content_type, const char *op, json_t *body,
                         const char *what, const char *quiet_code, sp_err *e)
{
    char target[96];
    snprintf(target, sizeof target, "%s%s", target_prefix, op);
    pthread_mutex_lock(&h->mu);
    h->calls++;
    pthread_mutex_unlock(&h->mu);
    json_t *r = conn_aws_json(c, target, content_type, body, e);
    json_decref(body);
    if (!r) {
        sp_err_wrap(e, what);
        if (!quiet_code || strcmp(e->code, quiet_code)) conn_health_error(h, e);
    }
    return r;
}

json_t *conn_health_json(conn_health *h, const char *kind, const char *describe)
{
    pthread_mutex_lock(&h->mu);
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "kind", kind,
                          "endpoint", describe, "errors", (json_int_t)h->errors, "last_error",
                          h->last_error, "millis_behind", (json_int_t)h->millis_behind, "calls",
                          (json_int_t)h->calls, "records", (json_int_t)h->records,
                          "retried_records", (json_int_t)h->retried_records,
                          "recovered_records", (json_int_t)h->recovered_records);
    pthread_mutex_unlock(&h->mu);
    return j;
}
