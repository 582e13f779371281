/* Test driver for the Parquet module, used by the oracle comparisons (tests/e2e/
 * test_parquet_oracles.py):
 *   parquet_tool write SCHEMA.json ROWS.jsonl OUT.parquet [CODEC] [dict] [v2] [block=N] [PAGE_SIZE]
 *       SCHEMA.json is [[name, glue type], ...]; each line of ROWS.jsonl is one record object.
 *   parquet_tool read FILE [COLUMN...]
 *       prints {"columns":[[name,type],...]} and then one JSON object per row.
 * Exit status 1 with the error on stderr when the module refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static bool print_row(void *ctx, json_t *row)
{
    (void)ctx;
    char *s = sp_json_dump_shortest(row, NULL);
    puts(s);
    free(s);
    return true;
}

int main(int argc, char **argv)
{
    sp_err e = {0};
    if (argc >= 5 && !strcmp(argv[1], "write")) {
        json_error_t je;
        json_t *schema = json_load_file(argv[2], 0, &je);
        if (!json_is_array(schema)) return fprintf(stderr, "bad schema\n"), 2;
        size_t n = json_array_size(schema);
        const char **names = calloc(n, sizeof *names), **types = calloc(n, sizeof *types);
        for (size_t i = 0; i < n; i++) {
            names[i] = json_string_value(json_array_get(json_array_get(schema, i), 0));
            types[i] = json_string_value(json_array_get(json_array_get(schema, i), 1));
        }
        pq_options o;
        pq_options_default(&o);
        if (argc > 5 && !pq_codec_parse(argv[5], &o.codec)) return fprintf(stderr, "codec\n"), 2;
        for (int i = 6; i < argc; i++) {
            if (!strcmp(argv[i], "dict")) o.dictionary = true;
            else if (!strcmp(argv[i], "v2")) o.page_v2 = true;
            else if (!strncmp(argv[i], "block=", 6)) o.block_size = (size_t)atol(argv[i] + 6);
            else o.page_size = (size_t)atol(argv[i]);
        }
        pq_writer *w = pq_writer_new(n, names, types, &o, &e);
        int rc = 0;
        FILE *in = fopen(argv[3], "r");
        char *line = NULL;
        size_t cap = 0;
        while (w && in && getline(&line, &cap, in) > 0) {
            json_t *obj = json_loads(line, JSON_DECODE_ANY, &je);
            if (!pq_writer_add_object(w, obj, &e)) {
                fprintf(stderr, "row refused: %s\n", e.msg);
                sp_err_clear(&e);
                rc = 3;
            }
            json_decref(obj);
        }
        free(line);
        if (in) fclose(in);
        size_t len = 0;
        uint8_t *buf = w ? pq_writer_finish(w, &len, &e) : NULL;
        if (!buf) {
            fprintf(stderr, "%s\n", e.msg);
            rc = 1;
        } else {
            FILE *out = fopen(argv[4], "wb");
            fwrite(buf, 1, len, out);
            fclose(out);
        }
        free(buf);
        pq_writer_destroy(w);
        free(names);
        free(types);
        json_decref(schema);
        return rc;
    }
    if (argc >= 3 && !strcmp(argv[1], "read")) {
        size_t len;
        uint8_t *buf = slurp(argv[2], &len);
        if (!buf) return fprintf(stderr, "cannot read %s\n", argv[2]), 1;
        pq_file *f = pq_file_open(buf, len, &e);
        int rc = 0;
        if (f) {
            size_t nc = pq_file_num_columns(f);
            bool *want = NULL;
            json_t *cols = json_array();
            for (size_t i = 0; i < nc; i++)
                json_array_append_new(cols, json_pack("[ss]", pq_file_column_name(f, i),
                                                      pq_file_column_type(f, i)));
            json_t *head = json_pack("{so}", "columns", cols);
            print_row(NULL, head);
            json_decref(head);
            if (argc > 3) {
                want = calloc(nc, sizeof *want);
                for (int a = 3; a < argc; a++)
                    for (size_t i = 0; i < nc; i++)
                        if (!strcmp(argv[a], pq_file_column_name(f, i))) want[i] = true;
            }
            if (!pq_file_read(f, want, print_row, NULL, &e)) rc = 1;
            free(want);
            pq_file_close(f);
        } else {
            rc = 1;
        }
        if (rc) fprintf(stderr, "%s\n", e.msg);
        free(buf);
        return rc;
    }
    fprintf(stderr, "usage: parquet_tool write SCHEMA ROWS OUT [CODEC] [dict] [v2] [PAGE] | "
                    "read FILE [COLUMN...]\n");
    return 2;
}
