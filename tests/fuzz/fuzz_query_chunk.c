/* Fuzz target for the query cache's chunk decoder (catalog/cat_cache.c cat_chunk_*, and
 * query/qry_cache.c turning a chunk into a batch): the input is one chunk blob as stored in
 * cache.db. A malformed chunk must be refused (false), never read out of bounds; whatever
 * is decoded must be in the batch's bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/qry_int.h"

static const qry_col COLS[] = {{"id", QRY_COL_BIGINT}, {"v", QRY_COL_TEXT},
                               {"V", QRY_COL_DOUBLE}, {"b", QRY_COL_BOOLEAN}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qry_batch *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->n_cols = 4;
    bool ok = qry_batch_from_chunk(b, data, size, COLS, 4);
    for (size_t i = 0; ok && i < b->n_rows * b->n_cols; i++)
        if (b->cells[i].type == SQLITE_TEXT && b->cells[i].v.off + b->cells[i].len > b->text_len)
            abort();
    qry_batch_free(b);
    return 0;
}
