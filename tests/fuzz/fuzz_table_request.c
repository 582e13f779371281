/* Fuzz target for the table stage's request handling: the input is "<Operation>\n<body>",
 * the body is parsed as the API layer would and handed to that DynamoDB or DynamoDB Streams
 * operation on a scratch database with a hash table (stream on) and a hash+range table. Any
 * answer is fine; crashes, leaks and sanitizer reports are not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/table.h"

static tbl_db *db;
static char dir[64];

static void cleanup(void)
{
    tbl_db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_table_request: cannot remove %s\n", dir);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sp-fuzz-table-XXXXXX");
    if (!mkdtemp(dir)) abort();
    sp_err e = {0};
    db = tbl_db_open(dir, SP_DURABILITY_RELAXED, &e);
    if (!db) abort();
    sp_cfg_table orders = {.name = "Orders", .hash_key = "orderid", .hash_key_type = "S",
                           .stream_view_type = "NEW_AND_OLD_IMAGES",
                           .stream_retention_hours = 24};
    sp_cfg_table events = {.name = "Events", .hash_key = "dev", .hash_key_type = "S",
                           .range_key = "ts", .range_key_type = "N",
                           .stream_view_type = "KEYS_ONLY", .stream_retention_hours = 24};
    if (!tbl_table_ensure(db, &orders, &e) || !tbl_table_ensure(db, &events, &e)) abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) setup();
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    size_t name_len = (size_t)(nl - data);
    const sp_op *op = sp_op_find(tbl_ddb_ops, (const char *)data, name_len);
    if (!op) op = sp_op_find(tbl_streams_ops, (const char *)data, name_len);
    if (!op) return 0;
    sp_err e = {0};
    json_t *req = sp_json_parse((const char *)nl + 1, size - name_len - 1, &e);
    if (!req) return 0;
    if (json_is_object(req)) {
        json_t *resp = op->fn(db, req, &e);
        if (!resp && !sp_err_failed(&e)) abort(); /* a failure must say why */
        json_decref(resp);
    }
    json_decref(req);
    return 0;
}
