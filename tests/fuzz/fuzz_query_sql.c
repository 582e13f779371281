/* Fuzzes the query path: Athena SQL rewriting (every rewritten error offset must map back
 * inside the input) and execution of the input as a query over an empty catalog, with the
 * Presto functions registered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/qry_int.h"

static cat_catalog *cat;
static lake *lk;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat) {
        char dir[] = "/tmp/fuzz_query_sql_XXXXXX";
        if (!mkdtemp(dir)) return 0;
        sp_err e = {0};
        cat = cat_catalog_open(dir, &e);
        lk = lake_open(dir, &e);
        if (!cat || !lk) abort();
    }
    char *sql = strndup((const char *)data, size);
    qry_sql q;
    sp_err e = {0};
    if (qry_sql_rewrite(sql, &q, &e)) {
        for (size_t off = 0; off <= strlen(q.text); off++)
            if (qry_sql_original_offset(&q, off) > strlen(sql) + strlen(q.text)) abort();
        qry_sql_clear(&q);
    }
    qry_result *r = qry_exec(cat, lk, "sales_db", sql, &e);
    qry_result_destroy(r);
    free(sql);
    return 0;
}
