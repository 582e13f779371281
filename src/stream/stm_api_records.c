/* Kinesis_20131202 data-plane operations: PutRecord, PutRecords, GetShardIterator and
 * GetRecords, and the shard iterator format. Iterators are self-contained (base64 of the
 * stream, its creation time, the shard and the position to read after, plus the time they
 * were issued) so the server keeps no iterator state; one issued for a deleted and recreated
 * stream of the same name is recognised by the creation time. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stm_api_int.h"
#include "stm_scan_put.h"

/* ---- iterators -------------------------------------------------------------------------- */

/* Iterators look like Kinesis's: base64 of 8 bytes 00..01 then AES-256-CBC ciphertext,
 * at least 152 bytes in all. The key only makes them opaque (clients must not build or
 * edit them); it is no secret. */
static const unsigned char ITER_KEY[32] = {
    0x5a, 0x1c, 0x39, 0x8e, 0x27, 0xd4, 0x60, 0xb3, 0x0f, 0x92, 0x4b, 0xe7, 0x13, 0x7a, 0xc5, 0x28,
    0x84, 0x3d, 0xf1, 0x66, 0x0b, 0x9e, 0x52, 0xaf, 0x31, 0xc8, 0x75, 0x1a, 0xe3, 0x4f, 0x96, 0x0d};
static const unsigned char ITER_IV[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                          0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
enum { ITER_HEAD = 8, ITER_PLAIN_MIN = 130, ITER_RAW_MAX = 400 };

static long iter_crypt(bool enc, const unsigned char *in, int n, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, ITER_KEY, ITER_IV, enc) &&
              EVP_CipherUpdate(ctx, out, &len, in, n) &&
              EVP_CipherFinal_ex(ctx, out + len, &fin);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? len + fin : -1;
}

char *stm_iter_encode(const stm_stream *st, int shard_index, uint64_t after_seq, int64_t now_ms)
{
    char plain[ITER_RAW_MAX];
    int n = snprintf(plain, sizeof plain, "1/%" PRId64 "/%d/%" PRIu64 "/%" PRId64 "/%s/",
                     st->created_ms, shard_index, after_seq, now_ms, st->name);
    while (n < ITER_PLAIN_MIN) plain[n++] = '0'; /* Kinesis's iterators are >= 152 bytes */
    unsigned char raw[ITER_RAW_MAX + 32];
    memset(raw, 0, ITER_HEAD);
    raw[ITER_HEAD - 1] = 1;
    long c = iter_crypt(true, (const unsigned char *)plain, n, raw + ITER_HEAD);
    if (c < 0) c = 0;
    size_t total = ITER_HEAD + (size_t)c;
    char *out = malloc(sp_base64_encoded_len(total) + 1);
    sp_base64_encode(raw, total, out);
    return out;
}

bool stm_iter_decode(const char *s, stm_iter *it)
{
    size_t len = strlen(s);
    if (len == 0 || len > 512) return false;
    unsigned char raw[ITER_RAW_MAX];
    long n = sp_base64_decode(s, len, raw);
    if (n < ITER_HEAD + 16 || n >= ITER_RAW_MAX || (n - ITER_HEAD) % 16) return false;
    static const unsigned char head[ITER_HEAD] = {0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(raw, head, ITER_HEAD)) return false;
    char plain[ITER_RAW_MAX + 16];
    long p = iter_crypt(false, raw + ITER_HEAD, (int)(n - ITER_HEAD), (unsigned char *)plain);
    if (p <= 0) return false;
    plain[p] = '\0';
    if (strlen(plain) != (size_t)p) return false;
    long long created, issued;
    unsigned long long after;
    int shard, used = 0;
    if (sscanf(plain, "1/%lld/%d/%llu/%lld/%n", &created, &shard, &after, &issued, &used) != 4 ||
        used == 0 || shard < 0)
        return false;
    char *name = plain + used, *slash = strchr(name, '/');
    if (!slash) return false;
    *slash = '\0';
    if (!stm_stream_name_valid(name)) return false;
    snprintf(it->stream, sizeof it->stream, "%s", name);
    it->stream_created_ms = created;
    it->shard_index = shard;
    it->after_seq = after;
    it->issued_ms = issued;
    return true;
}

/* Iterators live 5 minutes; tests shorten that with SALESPIPE_TEST_ITERATOR_TTL_MS (the
 * message still names AWS's tolerated delay). */
static int64_t iterator_ttl_ms(void)
{
    const char *v = getenv("SALESPIPE_TEST_ITERATOR_TTL_MS");
    long long ms = v ? atoll(v) : 0;
    return ms > 0 ? ms : STM_ITERATOR_TTL_MS;
}

/* "Wed Dec 02 19:44:28 UTC 2026", as Java's Date prints in Kinesis's messages. */
static void java_date(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

/* ---- PutRecord(s) ----------------------------------------------------------------------- */

/* Decodes a Data member; on success *data is malloc'd (caller frees). */
static bool req_data(json_t *rec, const char *member, void **data, size_t *len, sp_err *e)
{
    json_t *v = json_object_get(rec, "Data");
    if (!v || json_is_null(v)) {
        stm_api_invalid(e, NULL, member, "Member must not be null");
        return false;
    }
    if (!json_is_string(v)) {
        sp_err_set(e, 400, "SerializationException", "Data must be a base64-encoded string");
        return false;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n % 4) {
        sp_err_set(e, 400, "SerializationException",
                   "'%.64s' can not be converted to a Blob: Base64 encoded length is expected "
                   "a multiple of 4 bytes but found: %zu", s, n);
        return false;
    }
    *data = malloc(sp_base64_decoded_max(n) + 1);
    long d = *data ? sp_base64_decode(s, n, *data) : -1;
    if (d < 0) {
        free(*data);
        *data = NULL;
        sp_err_set(e, 400, "SerializationException",
                   "'%.64s' can not be converted to a Blob: Invalid Base64 data", s);
        return false;
    }
    if ((size_t)d > STM_DATA_MAX) {
        free(*data);
        *data = NULL;
        char c[96];
        snprintf(c, sizeof c, "Member must have length less than or equal to %d", STM_DATA_MAX);
        sp_err_set(e, 400, "ValidationException",
                   "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=%ld "
                   "cap=%ld]' at '%s' failed to satisfy constraint: %s", d, d, member, c);
        return false;
    }
    *len = (size_t)d;
    return true;
}

/* Validates one record entry into p (data owned by *buf). */
static bool req_record(json_t *rec, const char *prefix, stm_put *p, void **buf, sp_err *e)
{
    char m_data[64], m_pk[64], m_ehk[64];
    snprintf(m_data, sizeof m_data, "%sdata", prefix);
    snprintf(m_pk, sizeof m_pk, "%spartitionKey", prefix);
    snprintf(m_ehk, sizeof m_ehk, "%sexplicitHashKey", prefix);
    memset(p, 0, sizeof *p);
    *buf = NULL;
    size_t len = 0;
    if (!req_data(rec, m_data, buf, &len, e)) return false;
    p->data = *buf;
    p->len = len;
    p->partition_key = stm_api_str(rec, "PartitionKey", m_pk, true, 1, STM_PARTITION_KEY_MAX, e);
    if (!p->partition_key) return false;
    p->explicit_hash_key = stm_api_str(rec, "ExplicitHashKey", m_ehk, false, 0, 1000, e);
    if (sp_err_failed(e)) return false;
    if (p->explicit_hash_key) {
        stm_u128 h;
        const char *k = p->explicit_hash_key;
        bool digits = *k && strspn(k, "0123456789") == strlen(k) && (k[0] != '0' || !k[1]) &&
                      strlen(k) <= STM_HASH_KEY_DIGITS_MAX;
        if (!digits) {
            stm_api_invalid(e, k, m_ehk,
                            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
            return false;
        }
        if (!stm_u128_parse(k, &h)) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                       "[0, 2^128-1]. Specified value was %s", k);
            return false;
        }
    }
    return true;
}

/* The common PutRecords entry, checked without formatting any member name: Data a base64
 * string that decodes into out (room for sp_base64_decoded_max of it) within
 * STM_DATA_MAX, PartitionKey a string of 1..STM_PARTITION_KEY_MAX characters without NUL,
 * no ExplicitHashKey. p borrows from rec and out. false: anything else, for req_record to
 * check again and name what is wrong. */
static bool req_record_fast(json_t *rec, stm_put *p, char *out)
{
    json_t *d = json_object_get(rec, "Data"), *k = json_object_get(rec, "PartitionKey");
    if (!json_is_string(d) || !json_is_string(k) || json_object_get(rec, "ExplicitHashKey"))
        return false;
    size_t n = json_string_length(d), kn = json_string_length(k);
    const char *key = json_string_value(k);
    if (n % 4 || kn < 1 || kn > STM_PARTITION_KEY_MAX || strlen(key) != kn) return false;
    long len = sp_base64_decode(json_string_value(d), n, out);
    if (len < 0 || (size_t)len > STM_DATA_MAX) return false;
    memset(p, 0, sizeof *p);
    p->data = out;
    p->len = (size_t)len;
    p->partition_key = key;
    return true;
}

/* Puts n records. On success (or a partial failure Kinesis reports per record: a server
 * error after some were written) fills res and clears e; false with e set otherwise. */
static bool put_common(stm_log *log, const char *name, const stm_put *recs, size_t n,
                       stm_put_result *res, sp_err *e)
{
    size_t written = 0;
    bool ok = stm_put_records(log, name, recs, n, res, &written, e);
    if (ok) return true;
    if (e->status < 500 || written >= n) return false;
    for (size_t i = 0; i < n; i++)
        if (res[i].seq_str[0]) {
            sp_err_clear(e);
            return true;
        }
    return false;
}

static json_t *op_put_common(stm_log *log, const char *name, stm_put *recs, size_t n,
                             bool single, sp_err *e)
{
    stm_put_result *res = calloc(n, sizeof *res);
    if (!res) abort();
    json_t *out = NULL;
    if (single) {
        size_t written = 0;
        if (stm_put_records(log, name, recs, n, res, &written, e)) {
            char id[STM_SHARD_ID_MAX];
            stm_shard_id_format(res[0].shard_index, id);
            out = json_pack("{s:s, s:s}", "ShardId", id, "SequenceNumber", res[0].seq_str);
        }
    } else if (put_common(log, name, recs, n, res, e)) {
        out = stm_put_reply_json(res, n);
    }
    free(res);
    return out;
}

json_t *stm_op_put_record(void *ctx, json_t *req, sp_err *e)
{
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    stm_put p;
    void *buf = NULL;
    json_t *out = NULL;
    if (req_record(req, "", &p, &buf, e)) {
        const char *order = stm_api_str(req, "SequenceNumberForOrdering",
                                        "sequenceNumberForOrdering", false, 0, 128, e);
        if (order && (!*order || strspn(order, "0123456789") != strlen(order)))
            stm_api_invalid(e, order, "sequenceNumberForOrdering",
                            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
        /* It must be a sequence number Kinesis could have issued; positions only grow
         * within a shard, so the ordering it asks for always holds. */
        if (!sp_err_failed(e) && order && !stm_seq_ordering_ok(order, sp_clock_wall_ms()))
            sp_err_set(e, 400, "InvalidArgumentException",
                       "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under "
                       "account %s is invalid.", order, name, STM_ACCOUNT);
        if (!sp_err_failed(e)) out = op_put_common(ctx, name, &p, 1, true, e);
    }
    free(buf);
    return out;
}

bool stm_put_batch_from_json(json_t *req, stm_put_batch *b, sp_err *e)
{
    memset(b, 0, sizeof *b);
    const char *name = stm_api_stream_name(req, e);
    if (!name) return false;
    json_t *arr = json_object_get(req, "Records");
    if (!arr || json_is_null(arr)) {
        stm_api_invalid(e, NULL, "records", "Member must not be null");
        return false;
    }
    if (!json_is_array(arr)) {
        sp_err_set(e, 400, "SerializationException", "Records must be a list");
        return false;
    }
    size_t n = json_array_size(arr);
    if (n < 1 || n > STM_PUT_RECORDS_MAX) {
        char c[96];
        snprintf(c, sizeof c, n < 1 ? "Member must have length greater than or equal to 1"
                                    : "Member must have length less than or equal to %d",
                 STM_PUT_RECORDS_MAX);
        stm_api_invalid(e, "[...]", "records", c);
        return false;
    }
    /* One buffer for every record's decoded data, sized by the base64 lengths. */
    size_t blob_max = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object_get(json_array_get(arr, i), "Data");
        if (json_is_string(d)) blob_max += sp_base64_decoded_max(json_string_length(d));
    }
    b->stream = name;
    b->blob = malloc(blob_max + 1);
    b->recs = calloc(n, sizeof *b->recs);
    b->bufs = calloc(n, sizeof *b->bufs);
    if (!b->blob || !b->recs || !b->bufs) abort();
    b->n = n;
    size_t blob_used = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(arr, i);
        stm_put *p = &b->recs[i];
        if (json_is_object(r) && req_record_fast(r, p, b->blob + blob_used)) {
            blob_used += p->len;
            b->bytes += p->len + strlen(p->partition_key);
            continue;
        }
        char prefix[48];
        snprintf(prefix, sizeof prefix, "records.%zu.member.", i + 1);
        if (!json_is_object(r)) {
            sp_err_set(e, 400, "SerializationException", "Records[%zu] must be a structure", i);
            stm_put_batch_clear(b);
            return false;
        }
        if (!req_record(r, prefix, p, &b->bufs[i], e)) {
            stm_put_batch_clear(b);
            return false;
        }
        b->bytes += p->len + strlen(p->partition_key);
    }
    return true;
}

/* Puts a validated batch: the 5 MB limit, then the records. */
static stm_put_result *put_batch(stm_log *log, const stm_put_batch *b, sp_err *e)
{
    if (b->bytes > STM_PUT_RECORDS_BYTES_MAX) {
        sp_err_set(e, 400, "InvalidArgumentException", "Records size exceeds 5 MB limit");
        return NULL;
    }
    stm_put_result *res = calloc(b->n, sizeof *res);
    if (!res) abort();
    if (put_common(log, b->stream, b->recs, b->n, res, e)) return res;
    free(res);
    return NULL;
}

json_t *stm_op_put_records(void *ctx, json_t *req, sp_err *e)
{
    stm_put_batch b;
    if (!stm_put_batch_from_json(req, &b, e)) return NULL;
    stm_put_result *res = put_batch(ctx, &b, e);
    json_t *out = res ? stm_put_reply_json(res, b.n) : NULL;
    free(res);
    stm_put_batch_clear(&b);
    return out;
}

/* PutRecords' fast path (sp_raw_op): the scanner's batch, put the same way, answered as
 * text. Anything the scanner does not take goes the ordinary way. */
static char *op_put_records_raw(void *ctx, const char *body, size_t len, size_t *out_len,
                                sp_err *e)
{
    stm_put_batch b;
    if (!stm_scan_put(body, len, &b)) return NULL;
    stm_put_result *res = put_batch(ctx, &b, e);
    char *out = res ? stm_put_reply_text(res, b.n, out_len) : NULL;
    free(res);
    stm_put_batch_clear(&b);
    return out;
}

const sp_raw_op stm_kinesis_raw_ops[] = {
    {"PutRecords", op_put_records_raw},
    {NULL, NULL},
};

/* ---- GetShardIterator ------------------------------------------------------------------- */

json_t *stm_op_get_shard_iterator(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    const char *shard_id = stm_api_str(req, "ShardId", "shardId", true, 1, 128, e);
    if (!shard_id) return NULL;
    const char *type = stm_api_str(req, "ShardIteratorType", "shardIteratorType", true, 1, 64, e);
    if (!type) return NULL;
    static const char *const types[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                        "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
    int t = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(type, types[i])) t = i;
    if (t < 0) {
        stm_api_invalid(e, type, "shardIteratorType",
                        "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, "
                        "AT_TIMESTAMP, TRIM_HORIZON, AT_SEQUENCE_NUMBER]");
        return NULL;
    }
    const char *seq = stm_api_str(req, "StartingSequenceNumber", "startingSequenceNumber", false,
                                  0, 128, e);
    if (sp_err_failed(e)) return NULL;
    if (seq && (!*seq || strspn(seq, "0123456789") != strlen(seq))) {
        stm_api_invalid(e, seq, "startingSequenceNumber",
                        "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
        return NULL;
    }
    json_t *jts = json_object_get(req, "Timestamp");
    if (jts && !json_is_null(jts) && !json_is_number(jts)) {
        sp_err_set(e, 400, "SerializationException",
                   "class java.lang.String can not be converted to milliseconds since epoch");
        return NULL;
    }
    bool has_ts = jts && json_is_number(jts);
    /* Kinesis's order: the shard id's shape, the stream, the shard, then the type's members. */
    int idx = stm_shard_id_resolve(shard_id);
    if (idx < 0) {
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Could not find shard %s in stream %s under account %s.", shard_id, name,
                   STM_ACCOUNT);
        return NULL;
    }
    char resolved[STM_SHARD_ID_MAX];
    stm_shard_id_format(idx, resolved);
    pthread_rwlock_rdlock(&log->lock);
    json_t *out = NULL;
    stm_stream *st = stm_stream_find(log, name, e);
    stm_shard *sh = NULL;
    if (!st || idx >= (int)st->n_shards ||
        stm_stream_status(st, sp_clock_wall_ms()) == STM_CREATING) {
        sp_err_clear(e);
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Shard %s in stream %s under account %s does not exist", resolved, name,
                   STM_ACCOUNT);
    } else {
        sh = stm_stream_shard(st, idx, e);
    }
    int64_t now = sp_clock_wall_ms();
    if (sh) {
        uint64_t after = 0;
        bool ok = true;
        if (seq && (t == 2 || t == 3)) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                       "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                       "StartingSequenceNumber. Request specified %s and also a "
                       "StartingSequenceNumber.", type);
            ok = false;
        } else if (!seq && (t == 0 || t == 1)) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                       "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                       "StartingSequenceNumber. Request specified %s and no "
                       "StartingSequenceNumber.", type);
            ok = false;
        } else if (t == 0 || t == 1) {
            int64_t epoch;
            int sidx, version;
            long long encoded;
            uint64_t pos;
            if (!stm_seq_inspect(seq, &version, &epoch, &encoded)) {
                sp_err_set(e, 400, "InvalidArgumentException",
                           "StartingSequenceNumber %s used in GetShardIterator on shard %s in "
                           "stream %s under account %s is invalid.", seq, sh->id, name,
                           STM_ACCOUNT);
                ok = false;
            } else if (encoded != sh->index) {
                char other[STM_SHARD_ID_MAX + 2];
                if (encoded < 0)
                    snprintf(other, sizeof other, "shardId--%011lld", -encoded);
                else
                    snprintf(other, sizeof other, "shardId-%012lld", encoded);
                sp_err_set(e, 400, "InvalidArgumentException",
                           "Invalid StartingSequenceNumber. It encodes %s, while it was used in "
                           "a call to a shard with %s", other, sh->id);
                ok = false;
            } else if (version == 0) {
                /* what Kinesis answers for the oldest shape on a current stream: the bare
                 * {"__type":"InternalFailure"} (an empty message is left out) */
                sp_err_set(e, 500, "InternalFailure", "%s", "");
                ok = false;
            } else if (version != 2 || epoch != st->created_ms / 1000 ||
                       !stm_seq_parse(seq, &epoch, &sidx, &pos)) {
                sp_err_set(e, 400, "InvalidArgumentException",
                           "StartingSequenceNumber %s used in GetShardIterator on shard %s in "
                           "stream %s under account %s is invalid because it did not come from "
                           "this stream.", seq, sh->id, name, STM_ACCOUNT);
                ok = false;
            } else {
                after = t == 0 ? (pos ? pos - 1 : 0) : pos;
            }
        } else if (t == 2) {
            after = stm_shard_trim_horizon(sh);
        } else if (t == 3) {
            after = stm_shard_last_seq(sh);
        } else if (!has_ts) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Must specify timestampInMillis parameter for iterator of type "
                       "AT_TIMESTAMP. Current request has no timestamp parameter.");
            ok = false;
        } else {
            double secs = json_number_value(jts);
            int64_t ms = (int64_t)(secs * 1000.0 + 0.5);
            if (ms > now) {
                sp_err_set(e, 400, "InvalidArgumentException",
                           "The timestampInMillis parameter cannot be greater than the "
                           "currentTimestampInMillis. timestampInMillis: %" PRId64
                           ", currentTimestampInMillis: %" PRId64, ms, now);
                ok = false;
            } else {
                after = stm_shard_seek_time(sh, ms);
            }
        }
        if (ok) {
            char *it = stm_iter_encode(st, sh->index, after, now);
            out = json_pack("{s:s}", "ShardIterator", it);
            free(it);
        }
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}

/* ---- GetRecords ------------------------------------------------------------------------- */

typedef struct get_ctx {
    stm_stream *st;
    int shard_index;
    json_t *records;
    uint64_t last_seq;
    int64_t last_arrival;
    bool any;
} get_ctx;

static bool add_record(void *arg, const stm_frame *f)
{
    get_ctx *c = arg;
    char seq[STM_SEQ_STR_MAX];
    stm_seq_format(c->st->created_ms, c->shard_index, f->seq, f->arrival_ms, seq);
    char *b64 = malloc(sp_base64_encoded_len(f->data_len) + 1);
    sp_base64_encode(f->data, f->data_len, b64);
    json_t *r = json_object();
    json_object_set_new_nocheck(r, "SequenceNumber", json_stringn_nocheck(seq, STM_SEQ_DIGITS));
    json_object_set_new_nocheck(r, "ApproximateArrivalTimestamp",
                                json_real((double)f->arrival_ms / 1000.0));
    json_object_set_new_nocheck(r, "Data", json_string_nocheck(b64));
    /* Partition keys were validated as UTF-8 on the way in. */
    json_object_set_new_nocheck(r, "PartitionKey", json_stringn_nocheck(f->pk, f->pk_len));
    free(b64);
    json_array_append_new(c->records, r);
    c->last_seq = f->seq;
    c->last_arrival = f->arrival_ms;
    c->any = true;
    return true;
}

json_t *stm_op_get_records(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *iter = stm_api_str(req, "ShardIterator", "shardIterator", true, 1, 512, e);
    if (!iter) return NULL;
    long long limit = stm_api_int(req, "Limit", "limit", false, 1, STM_GET_RECORDS_LIMIT_MAX,
                                  STM_GET_RECORDS_LIMIT_MAX, e);
    if (sp_err_failed(e)) return NULL;
    stm_iter it;
    if (!stm_iter_decode(iter, &it)) {
        sp_err_set(e, 400, "InvalidArgumentException", "Invalid ShardIterator.");
        return NULL;
    }
    int64_t now = sp_clock_wall_ms();
    if (now - it.issued_ms > iterator_ttl_ms()) {
        char was[40], is[40];
        java_date(it.issued_ms, was);
        java_date(now, is);
        sp_err_set(e, 400, "ExpiredIteratorException",
                   "Iterator expired. The iterator was created at time %s while right now it "
                   "is %s which is further in the future than the tolerated delay of %d "
                   "milliseconds.", was, is, STM_ITERATOR_TTL_MS);
        return NULL;
    }
    pthread_rwlock_rdlock(&log->lock);
    json_t *out = NULL;
    stm_stream *st = stm_stream_find(log, it.stream, e);
    if (!st || st->created_ms != it.stream_created_ms ||
        it.shard_index >= (int)st->n_shards) {
        /* Gone, or deleted and created again: Kinesis names the shard. */
        char id[STM_SHARD_ID_MAX];
        stm_shard_id_format(it.shard_index, id);
        sp_err_clear(e);
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Shard %s in stream %s under account %s does not exist", id, it.stream,
                   STM_ACCOUNT);
        st = NULL;
    }
    stm_shard *sh = st ? stm_stream_shard(st, it.shard_index, e) : NULL;
    if (sh) {
        get_ctx c = {st, sh->index, json_array(), it.after_seq, 0, false};
        long n = stm_shard_scan(sh, it.after_seq, (size_t)limit, STM_GET_RECORDS_BYTES_MAX,
                                add_record, &c, e);
        if (n < 0) {
            json_decref(c.records);
        } else {
            uint64_t tip = stm_shard_last_seq(sh);
            long long behind = c.any && c.last_seq < tip ? now - c.last_arrival : 0;
            if (behind < 0) behind = 0;
            out = json_pack("{s:o, s:I}", "Records", c.records, "MillisBehindLatest",
                            (json_int_t)behind);
            bool open;
            pthread_mutex_lock(&sh->mu);
            open = sh->open;
            pthread_mutex_unlock(&sh->mu);
            /* Like Kinesis, the last records of a closed shard still come with a next
             * iterator; only a read that finds nothing more ends the shard. */
            if (open || c.any || c.last_seq < tip) {
                char *next = stm_iter_encode(st, sh->index, c.last_seq, now);
                json_object_set_new(out, "NextShardIterator", json_string(next));
                free(next);
            } else {
                /* The end of a closed shard: no next iterator, the children instead. */
                json_t *children = json_array();
                for (size_t i = 0; i < st->n_shards; i++) {
                    stm_shard *ch = st->shards[i];
                    if (ch->parent != sh->index && ch->adjacent_parent != sh->index) continue;
                    char a[40], b[40];
                    stm_u128_format(ch->hash_start, a);
                    stm_u128_format(ch->hash_end, b);
                    json_t *parents = json_array();
                    json_array_append_new(parents, json_string(st->shards[ch->parent]->id));
                    if (ch->adjacent_parent >= 0)
                        json_array_append_new(parents,
                                              json_string(st->shards[ch->adjacent_parent]->id));
                    json_array_append_new(children, json_pack(
                        "{s:s, s:o, s:{s:s, s:s}}", "ShardId", ch->id, "ParentShards", parents,
                        "HashKeyRange", "StartingHashKey", a, "EndingHashKey", b));
                }
                json_object_set_new(out, "ChildShards", children);
            }
        }
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}
