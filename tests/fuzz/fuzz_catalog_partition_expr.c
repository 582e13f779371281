/* Fuzzes GetPartitions' Expression parser: the input is an expression over six partition
 * keys of every comparison type; a compiled expression is evaluated over a few partitions
 * (values of the right type, of the wrong type and missing), and a refusal must be an
 * InvalidInputException with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

static const cat_column KEYS[] = {
    {.name = "partition_0", .type = "string"}, {.name = "partition_1", .type = "varchar(10)"},
    {.name = "year", .type = "int"},           {.name = "price", .type = "decimal(10,2)"},
    {.name = "day", .type = "date"},           {.name = "ts", .type = "timestamp"},
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = strndup((const char *)data, size);
    sp_err e = {0};
    cat_pexpr *x = cat_pexpr_parse(text, KEYS, N_KEYS, &e);
    if (x) {
        const char *good[] = {"2026", "13", "10", "9.50", "2026-02-03", "2026-02-03 04:05:06"};
        const char *bad[] = {"", "%_", "x", "1e400", "2026-13-40", "yesterday"};
        cat_pexpr_match(x, good, N_KEYS);
        cat_pexpr_match(x, bad, N_KEYS);
        cat_pexpr_match(x, good, 2);
        cat_pexpr_destroy(x);
    } else if (strcmp(e.code, "InvalidInputException") || !e.msg[0]) {
        abort();
    }
    free(text);
    return 0;
}
