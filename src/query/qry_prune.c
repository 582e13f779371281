/* Partition pruning: whether a partition (its key values) can hold rows that satisfy the
 * constraints SQLite handed the virtual table on partition keys. Partition keys are
 * varchar, so values compare as text with the BINARY collation, exactly as SQLite compares
 * them afterwards (constraints are never omitted, so pruning can only skip work, never
 * change a result). */
#include "qry_int.h"

#include <string.h>

static bool compare(const char *v, qry_op op, const char *x)
{
    if (!x) return false;
    int c = strcmp(v, x);
    switch (op) {
    case QRY_OP_EQ:
    case QRY_OP_IS:
    case QRY_OP_IN: return c == 0;
    case QRY_OP_NE: return c != 0;
    case QRY_OP_LT: return c < 0;
    case QRY_OP_LE: return c <= 0;
    case QRY_OP_GT: return c > 0;
    case QRY_OP_GE: return c >= 0;
    }
    return true;
}

bool qry_partition_match(const char *const *values, size_t n_values, const qry_constraint *c,
                         size_t n_constraints)
{
    for (size_t i = 0; i < n_constraints; i++) {
        if (c[i].key >= n_values) continue; /* not a key of this partition: cannot prune */
        bool any = false;
        for (size_t j = 0; j < c[i].n_vals && !any; j++)
            any = compare(values[c[i].key], c[i].op, c[i].vals[j]);
        if (!any) return false;
    }
    return true;
}
