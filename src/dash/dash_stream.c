/* The stream page: a Kinesis stream's shards with their sequence ranges, and a record
 * browser over one shard (positions after a cursor, data shown as text). */
#include "dash_int.h"
#include "stream/stream.h"

#include <stdlib.h>
#include <string.h>

/* GET api/stream?name=S: {"name", "shards": [{"shard_id","index","open","records"}]}. */
void dash_api_stream(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX];
    if (!d->src.stream || !dash_param(query, "name", name, sizeof name) || !name[0]) {
        dash_error(resp, 400, "name the stream: ?name=");
        return;
    }
    sp_err e = {0};
    int n = stm_shard_list(d->src.stream, name, NULL, 0, &e);
    if (n < 0) {
        dash_error(resp, 404, e.msg);
        return;
    }
    stm_shard_info *shards = calloc((size_t)n + 1, sizeof *shards);
    if (!shards) abort();
    n = stm_shard_list(d->src.stream, name, shards, n, &e);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:i, s:b, s:I}", "shard_id",
                                              shards[i].shard_id, "index", shards[i].index,
                                              "open", shards[i].open, "records",
                                              (json_int_t)shards[i].last_seq));
    free(shards);
    json_t *out = json_pack("{s:s, s:o}", "name", name, "shards", list);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}

static bool collect_record(void *arg, const stm_record *rec)
{
    /* Data is shown as text (the pipe writes JSON); bytes that are not UTF-8 become '?'. */
    char *text = malloc(rec->len + 1);
    if (!text) abort();
    const unsigned char *p = rec->data;
    for (size_t i = 0; i < rec->len; i++) text[i] = p[i] < 0x80 ? (char)p[i] : '?';
    json_array_append_new(arg, json_pack("{s:s, s:I, s:s, s:I, s:s%}", "sequence_number",
                                         rec->seq_str, "position", (json_int_t)rec->seq,
                                         "partition_key", rec->partition_key,
                                         "arrival_ms", (json_int_t)rec->arrival_ms, "data",
                                         text, rec->len));
    free(text);
    return true;
}

/* GET api/stream-records?name=S&shard=I&after=POS&limit=N: records after a position. */
void dash_api_stream_records(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX];
    if (!d->src.stream || !dash_param(query, "name", name, sizeof name) || !name[0]) {
        dash_error(resp, 400, "name the stream: ?name=");
        return;
    }
    int shard = (int)dash_param_int(query, "shard", 0, STM_SHARDS_WITH_LINEAGE_MAX);
    uint64_t after = (uint64_t)dash_param_int(query, "after", 0, INT64_MAX);
    size_t limit = (size_t)dash_param_int(query, "limit", 20, DASH_RECORDS_MAX);
    json_t *records = json_array();
    sp_err e = {0};
    if (stm_shard_read(d->src.stream, name, shard, after, limit, DASH_OBJECT_BYTES_MAX,
                       collect_record, records, &e) < 0) {
        json_decref(records);
        dash_error(resp, e.status == 404 ? 404 : 400, e.msg);
        return;
    }
    json_t *out = json_pack("{s:s, s:i, s:I, s:o}", "name", name, "shard", shard, "end",
                            (json_int_t)stm_shard_end(d->src.stream, name, shard), "records",
                            records);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}
