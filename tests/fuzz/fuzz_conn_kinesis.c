/* Fuzz target for what the Kinesis and DynamoDB Streams connectors parse from a remote
 * endpoint (src/conn/kin_wire.c) and from their own state files (kin_seqmap.c): the input is
 * one JSON document, given to the GetRecords parsers of both services, to the shard listing
 * parser (as the document and as its Shards member) and to the position map reader. Each must
 * answer or refuse with its error, never crash, and what it accepts must hold its invariants:
 * sequence numbers of digits only, decoded data within the record limit, hash ranges ordered,
 * anchors sorted with distinct positions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"

static void check_batch(const conn_kin_batch *b, bool kinesis)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!conn_kin_seq_valid(b->recs[i].seq)) abort();
        if (kinesis && (!b->recs[i].partition_key || b->recs[i].len > CONN_KIN_RECORD_MAX + 3))
            abort();
        if (!b->recs[i].data) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!j) return 0;
    conn_kin_batch b;
    sp_err e = {0};
    if (conn_kin_records_parse(j, &b, &e)) {
        check_batch(&b, true);
        conn_kin_batch_clear(&b);
    } else if (strcmp(e.code, "InvalidResponse")) {
        abort();
    }
    e = (sp_err){0};
    if (conn_ddb_records_parse(j, &b, &e)) {
        check_batch(&b, false);
        conn_kin_batch_clear(&b);
    } else if (strcmp(e.code, "InvalidResponse")) {
        abort();
    }
    const json_t *lists[] = {j, json_object_get(j, "Shards")};
    for (size_t k = 0; k < 2; k++) {
        conn_kin_shard *s = NULL;
        size_t n = 0;
        e = (sp_err){0};
        if (conn_kin_shards_parse(lists[k], &s, &n, &e)) {
            for (size_t i = 0; i < n; i++)
                if (!s[i].id[0] || (s[i].has_range && s[i].hash_lo > s[i].hash_hi)) abort();
        } else if (n != 0 && !s) {
            abort();
        }
        free(s);
    }
    conn_seq_map m = {0};
    e = (sp_err){0};
    if (conn_seq_map_from_json(&m, j, &e)) {
        for (size_t i = 0; i < m.n; i++) {
            if (i > 0 && m.v[i - 1].pos >= m.v[i].pos) abort();
            if (!conn_kin_seq_valid(m.v[i].seq)) abort();
        }
        conn_seq_map_prune(&m, m.n ? m.v[m.n / 2].pos : 0);
    } else if (m.n != 0) {
        abort();
    }
    conn_seq_map_clear(&m);
    json_decref(j);
    return 0;
}
