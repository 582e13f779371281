/* The latest row per key, as the lake virtual table answers it for the rewrite of
 *   (SELECT cols, row_number() OVER (PARTITION BY k.. ORDER BY s [ASC|DESC]) AS rn FROM t)
 *   ... WHERE rn = 1
 * (qry_project.c): one pass over the scan keeps, per key, the first row in scan order whose s
 * sorts first, and the winners come out in key order. That is exactly the rn = 1 rows SQLite
 * gives, because SQLite's sorter is stable (equal keys leave it in the order they went in:
 * vdbeSorterMerge and the merge engine both take the earlier record on a tie), the rows go in
 * in scan order, and the values compare here as SQLite compares them with the BINARY
 * collation: NULL first, then numbers by value (integer against real exactly, as SQLite's
 * sqlite3IntFloatCompare does through long double), then text by bytes then length. A real
 * NaN is NULL, as sqlite3_result_double makes it.
 *
 * The spec travels as text through a hidden column: "p=<i>[,<i>...];o=<i>;d=<0|1>", column
 * indices in the table's `SELECT *` order. */
#include "qry_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PARTITION BY terms the rewrite hands over, at most. */
enum { QRY_LATEST_KEYS_MAX = 16 };

bool qry_latest_spec_parse(const char *text, size_t n_columns, qry_latest_spec *out)
{
    memset(out, 0, sizeof *out);
    if (!text || strncmp(text, "p=", 2)) return false;
    const char *p = text + 2;
    for (;;) {
        if (out->n_keys == QRY_LATEST_KEYS_MAX) return false;
        if (!qry_spec_index(&p, n_columns, &out->keys[out->n_keys++])) return false;
        if (*p != ',') break;
        p++;
    }
    if (strncmp(p, ";o=", 3)) return false;
    p += 3;
    if (!qry_spec_index(&p, n_columns, &out->order)) return false;
    if (strncmp(p, ";d=", 3) || (p[3] != '0' && p[3] != '1') || p[4]) return false;
    out->desc = p[3] == '1';
    return true;
}

static int rank(const qry_value *v)
{
    switch (v->type) {
    case SQLITE_NULL: return 0;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: return 1;
    default: return 2;
    }
}

static int int_float_cmp(sqlite3_int64 i, double r)
{
    long double x = (long double)i;
    return x < r ? -1 : x > r ? 1 : 0;
}

int qry_value_cmp(const qry_value *a, const qry_value *b)
{
    int ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb ? -1 : 1;
    if (ra == 0) return 0;
    if (ra == 1) {
        if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER)
            return a->i < b->i ? -1 : a->i > b->i;
        if (a->type == SQLITE_FLOAT && b->type == SQLITE_FLOAT)
            return a->d < b->d ? -1 : a->d > b->d;
        if (a->type == SQLITE_INTEGER) return int_float_cmp(a->i, b->d);
        return -int_float_cmp(b->i, a->d);
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

uint64_t qry_value_hash(const qry_value *v, uint64_t h)
{
    uint64_t x;
    switch (v->type) {
    case SQLITE_NULL: x = 0x9e3779b97f4a7c15ull; break;
    case SQLITE_INTEGER: x = (uint64_t)v->i; break;
    case SQLITE_FLOAT:
        /* equal to an integer: hash as that integer, so 2 and 2.0 meet */
        if (v->d >= -9223372036854775808.0 && v->d < 9223372036854775808.0 &&
            v->d == floor(v->d)) {
            x = (uint64_t)(sqlite3_int64)v->d;
        } else {
            memcpy(&x, &v->d, sizeof x);
        }
        break;
    default:
        x = 1469598103934665603ull;
        for (size_t i = 0; i < v->len; i++) x = (x ^ (unsigned char)v->s[i]) * 1099511628211ull;
        break;
    }
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

void qry_value_from_cell(const qry_cell *c, const char *text, qry_value *out)
{
    out->type = c->type;
    if (c->type == SQLITE_INTEGER) out->i = c->v.i;
    if (c->type == SQLITE_FLOAT) {
        out->d = c->v.d;
        if (isnan(out->d)) out->type = SQLITE_NULL;
    }
    if (c->type == SQLITE_TEXT) {
        out->s = text + c->v.off;
        out->len = c->len;
    }
}
