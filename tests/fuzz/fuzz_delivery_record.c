/* Fuzz target: what the delivery stage reads from outside, per record: the dynamodb-cdc
 * transformation of a stream record (the line read straight from the record's text and the
 * line written from jansson's tree both checked byte for byte against the tree-built
 * reference), the jq-based processors over it, and the prefix
 * renderer over a prefix taken from the input's first line (with the record's extracted
 * partition). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_int.h"

static dlv_chain *chain;

static void chain_destroy(void) { dlv_chain_destroy(chain); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_log_set_level(SP_LOG_OFF);
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t plen = nl ? (size_t)(nl - text) : 0;
    char *prefix = strndup(text, plen);
    const char *body = nl ? nl + 1 : text;
    size_t blen = size - (size_t)(body - text);

    sp_err e = {0};
    size_t out_len;
    char *line = dlv_cdc_transform(body, blen, &out_len, &e);
    if (line && (out_len == 0 || line[out_len - 1] != '\n')) abort();
    /* the line written straight from the record is the tree's, byte for byte, and so is
     * the reason of a failure */
    sp_err te = {0};
    size_t tree_len = 0;
    char *tree = dlv_cdc_transform_tree(body, blen, &tree_len, &te);
    if (!line != !tree) abort();
    if (line && (out_len != tree_len || memcmp(line, tree, out_len))) abort();
    if (!line && strcmp(e.msg, te.msg)) abort();
    /* the line read straight from the text (when that path takes the record) is the
     * jansson path's, byte for byte */
    size_t scan_len = 0;
    char *scanned = dlv_cdc_transform_scan(body, blen, &scan_len);
    if (scanned && (!line || scan_len != out_len || memcmp(scanned, line, out_len))) abort();
    sp_err je = {0};
    size_t jl = 0;
    char *jline = dlv_cdc_transform_jansson(body, blen, &jl, &je);
    if (!jline != !line || (jline && (jl != out_len || memcmp(jline, line, jl)))) abort();
    free(jline);
    free(scanned);
    free(tree);
    free(line);

    /* Compiled once, as the stage does per stream: jq compiles its builtins each time, which
     * would leave the fuzzer a few runs a second. */
    if (!chain) {
        static const char CHAIN[] =
            "[{\"type\":\"jq\",\"program\":\"select(.drop != true)\"},"
            "{\"type\":\"metadata\",\"queries\":{\"p\":\".product_name\",\"y\":\".a.b\"}}]";
        json_t *procs = json_loads(CHAIN, 0, NULL);
        static const dlv_proc_env env = {.stream_name = "fuzz"};
        chain = dlv_chain_new(procs, &env, &e);
        json_decref(procs);
        if (!chain) abort();
        atexit(chain_destroy);
    }
    dlv_rec r = {0};
    dlv_rec_set_data(&r, body, blen);
    dlv_chain_run(chain, &r, 1);
    if (r.result == DLV_REC_OK && !r.partition) abort();
    dlv_key_ctx kc = {.time_ms = 1700000000000LL, .random = "abcdefghijk",
                      .error_type = "processing-failed", .partition = r.partition};
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_err pe = {0};
    if (!dlv_prefix_render(prefix, &kc, &s, &pe) && pe.status != 400) abort();
    sp_str_reset(&s);
    if (!dlv_error_prefix_render(prefix, &kc, &s, &pe) && pe.status != 400) abort();
    sp_str_release(&s);
    dlv_rec_clear(&r);
    free(prefix);
    return 0;
}
