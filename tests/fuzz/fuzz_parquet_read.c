/* Fuzzes the Parquet reader: the input is opened as a file held in memory, its schema and
 * statistics are read, and every row of every row group is decoded; then the same again with
 * only the first column projected. Hostile files must never crash, hang or allocate beyond
 * the bounds the file's size sets. */
#include <stdint.h>
#include <stdlib.h>

#include "parquet/parquet.h"

static bool count(void *ctx, json_t *row)
{
    (void)row;
    return ++*(size_t *)ctx < 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    pq_file *f = pq_file_open(data, size, &e);
    if (!f) return 0;
    size_t nc = pq_file_num_columns(f);
    for (size_t rg = 0; rg < pq_file_num_row_groups(f); rg++)
        for (size_t c = 0; c < nc; c++) {
            json_t *min, *max;
            int64_t nulls;
            pq_file_column_stats(f, rg, c, &min, &max, &nulls);
            json_decref(min);
            json_decref(max);
        }
    size_t rows = 0;
    (void)pq_file_read(f, NULL, count, &rows, &e);
    if (nc) {
        bool *want = calloc(nc, sizeof *want);
        want[0] = true;
        sp_err_clear(&e);
        (void)pq_file_read(f, want, count, &rows, &e);
        free(want);
    }
    pq_file_close(f);
    return 0;
}
