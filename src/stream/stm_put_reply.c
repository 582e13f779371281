/* The PutRecords answer, {"FailedRecordCount": n, "Records": [{"SequenceNumber", "ShardId"}
 * or {"ErrorCode", "ErrorMessage"}, ...]}, in two forms: a jansson tree for the ordinary path
 * and the same compact text written directly for the fast path (500 small objects a call
 * built as a tree and dumped were 6 % of the request's samples). tests/unit/stream_put_scan.c
 * checks the text is byte for byte what jansson dumps for the tree. */
#include <stdlib.h>
#include <string.h>

#include "stm_scan_put.h"

#define REPLY_ERROR_CODE "InternalFailure"
#define REPLY_ERROR_MESSAGE "Internal service failure."

json_t *stm_put_reply_json(const stm_put_result *res, size_t n)
{
    json_t *arr = json_array();
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (res[i].seq_str[0]) {
            char id[STM_SHARD_ID_MAX];
            stm_shard_id_format(res[i].shard_index, id);
            json_t *r = json_object();
            json_object_set_new_nocheck(
                r, "SequenceNumber",
                json_stringn_nocheck(res[i].seq_str, strlen(res[i].seq_str)));
            json_object_set_new_nocheck(r, "ShardId", json_string_nocheck(id));
            json_array_append_new(arr, r);
        } else {
            failed++;
            json_array_append_new(arr, json_pack("{s:s, s:s}", "ErrorCode", REPLY_ERROR_CODE,
                                                 "ErrorMessage", REPLY_ERROR_MESSAGE));
        }
    }
    return json_pack("{s:i, s:o}", "FailedRecordCount", failed, "Records", arr);
}

void stm_json_str_append(sp_str *out, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    sp_str_putc(out, '"');
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        sp_str_append(out, s + i - run, run);
        run = 0;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = HEX[c >> 4];
            esc[5] = HEX[c & 15];
            sp_str_append(out, esc, 6);
            continue;
        }
        sp_str_append(out, esc, 2);
    }
    sp_str_append(out, s + n - run, run);
    sp_str_putc(out, '"');
}

char *stm_put_reply_text(const stm_put_result *res, size_t n, size_t *out_len)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) failed += !res[i].seq_str[0];
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&out, "{\"FailedRecordCount\":%d,\"Records\":[", failed);
    for (size_t i = 0; i < n; i++) {
        if (i) sp_str_putc(&out, ',');
        if (res[i].seq_str[0]) {
            char id[STM_SHARD_ID_MAX];
            stm_shard_id_format(res[i].shard_index, id);
            sp_str_puts(&out, "{\"SequenceNumber\":");
            stm_json_str_append(&out, res[i].seq_str, strlen(res[i].seq_str));
            sp_str_puts(&out, ",\"ShardId\":");
            stm_json_str_append(&out, id, strlen(id));
            sp_str_putc(&out, '}');
        } else {
            sp_str_puts(&out, "{\"ErrorCode\":\"" REPLY_ERROR_CODE "\",\"ErrorMessage\":\""
                              REPLY_ERROR_MESSAGE "\"}");
        }
    }
    sp_str_puts(&out, "]}");
    char *text = sp_str_finish(&out, out_len);
    if (!text) abort();
    return text;
}
