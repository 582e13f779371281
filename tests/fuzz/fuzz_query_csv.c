/* Fuzz target for the result CSV reader (query/qry_csv.c): GetQueryResults reads pages back
 * from a lake object that S3 PutObject can replace with anything. The input's first byte
 * picks the column count (1..8); the rest is the object, read record by record to its end
 * as a page would be. Every row must have exactly that many cells, each {} or a string. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "query/qry_int.h"

enum { FUZZ_CSV_MAX_COLUMNS = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n_columns = (size_t)(data[0] % FUZZ_CSV_MAX_COLUMNS) + 1;
    FILE *f = fmemopen(size > 1 ? (void *)(data + 1) : (void *)"", size > 1 ? size - 1 : 0, "rb");
    if (!f) return 0;
    for (;;) {
        json_t *row = NULL;
        sp_err e = {0};
        if (!qry_csv_row_read(f, n_columns, &row, &e)) {
            if (!sp_err_failed(&e) && row) abort();
            if (sp_err_failed(&e)) break;
            break;
        }
        json_t *cells = json_object_get(row, "Data");
        if (json_array_size(cells) != n_columns) abort();
        size_t i;
        json_t *c;
        json_array_foreach(cells, i, c) {
            json_t *v = json_object_get(c, "VarCharValue");
            if (json_object_size(c) > 1 || (json_object_size(c) == 1 && !json_is_string(v)))
                abort();
        }
        json_decref(row);
    }
    fclose(f);
    return 0;
}
