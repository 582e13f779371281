/* Glue type strings ("bigint", "decimal(10,2)", "struct<a:int,b:array<string>>") as a tree,
 * and the Parquet physical storage of each primitive kind. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parquet/pq_int.h"

/* Glue/Hive: decimal precision 1..38, default decimal(10,0). */
#define PQ_DECIMAL_PRECISION_MAX 38
#define PQ_DECIMAL_PRECISION_DEFAULT 10

typedef struct {
    const char *s, *column;
    sp_err *e;
    int depth;
} tparse;

static void skip_ws(tparse *p)
{
    while (isspace((unsigned char)*p->s)) p->s++;
}

static bool word(tparse *p, char *buf, size_t cap)
{
    skip_ws(p);
    size_t n = 0;
    while (isalnum((unsigned char)*p->s) || *p->s == '_') {
        if (n + 1 >= cap) return false;
        buf[n++] = (char)tolower((unsigned char)*p->s++);
    }
    buf[n] = 0;
    return n > 0;
}

static bool expect(tparse *p, char c)
{
    skip_ws(p);
    if (*p->s != c) return false;
    p->s++;
    return true;
}

static bool number(tparse *p, int *out)
{
    skip_ws(p);
    if (!isdigit((unsigned char)*p->s)) return false;
    long v = strtol(p->s, (char **)&p->s, 10);
    if (v < 0 || v > 1000000) return false;
    *out = (int)v;
    return true;
}

static pq_type *new_type(pq_kind k)
{
    pq_type *t = pq_xcalloc(1, sizeof *t);
    t->kind = k;
    return t;
}

static void add_child(pq_type *t, const char *name, pq_type *c)
{
    t->children = pq_xrealloc(t->children, (t->nchildren + 1) * sizeof *t->children);
    t->names = pq_xrealloc(t->names, (t->nchildren + 1) * sizeof *t->names);
    t->children[t->nchildren] = c;
    t->names[t->nchildren] = name ? pq_xstrdup(name) : NULL;
    t->nchildren++;
}

static pq_type *parse(tparse *p);

static pq_type *fail(tparse *p, pq_type *t, const char *what)
{
    pq_type_free(t);
    if (!sp_err_failed(p->e))
        sp_err_invalid(p->e, "column '%s': %s at '%.40s'", p->column, what, p->s);
    return NULL;
}

static pq_type *parse(tparse *p)
{
    char w[32];
    if (++p->depth > PQ_SCHEMA_DEPTH_MAX) return fail(p, NULL, "type nests too deep");
    if (!word(p, w, sizeof w)) return fail(p, NULL, "expected a type name");
    static const struct { const char *name; pq_kind k; } prim[] = {
        {"boolean", PQ_T_BOOLEAN}, {"tinyint", PQ_T_TINYINT}, {"smallint", PQ_T_SMALLINT},
        {"int", PQ_T_INT}, {"integer", PQ_T_INT}, {"bigint", PQ_T_BIGINT},
        {"float", PQ_T_FLOAT}, {"real", PQ_T_FLOAT}, {"double", PQ_T_DOUBLE},
        {"string", PQ_T_STRING}, {"binary", PQ_T_BINARY}, {"date", PQ_T_DATE},
        {"timestamp", PQ_T_TIMESTAMP}};
    pq_type *t = NULL;
    for (size_t i = 0; i < SP_ARRAY_LEN(prim); i++)
        if (!strcmp(w, prim[i].name)) t = new_type(prim[i].k);
    if (t) {
        p->depth--;
        return t;
    }
    if (!strcmp(w, "varchar") || !strcmp(w, "char")) {
        int n;
        if (!expect(p, '(') || !number(p, &n) || !expect(p, ')'))
            return fail(p, NULL, "expected a length in parentheses");
        p->depth--;
        return new_type(PQ_T_STRING);
    }
    if (!strcmp(w, "decimal")) {
        t = new_type(PQ_T_DECIMAL);
        t->precision = PQ_DECIMAL_PRECISION_DEFAULT;
        if (expect(p, '(')) {
            if (!number(p, &t->precision)) return fail(p, t, "expected a decimal precision");
            if (expect(p, ',') && !number(p, &t->scale))
                return fail(p, t, "expected a decimal scale");
            if (!expect(p, ')')) return fail(p, t, "expected ')'");
        }
        if (t->precision < 1 || t->precision > PQ_DECIMAL_PRECISION_MAX ||
            t->scale > t->precision)
            return fail(p, t, "decimal precision must be 1..38 and scale at most the precision");
        p->depth--;
        return t;
    }
    if (!strcmp(w, "array")) {
        t = new_type(PQ_T_ARRAY);
        if (!expect(p, '<')) return fail(p, t, "expected '<'");
        pq_type *c = parse(p);
        if (!c) return fail(p, t, "");
        add_child(t, "element", c);
        if (!expect(p, '>')) return fail(p, t, "expected '>'");
        p->depth--;
        return t;
    }
    if (!strcmp(w, "map")) {
        t = new_type(PQ_T_MAP);
        if (!expect(p, '<')) return fail(p, t, "expected '<'");
        pq_type *k = parse(p);
        if (!k) return fail(p, t, "");
        add_child(t, "key", k);
        if (k->kind >= PQ_T_STRUCT) return fail(p, t, "a map key must be a primitive type");
        if (!expect(p, ',')) return fail(p, t, "expected ','");
        pq_type *v = parse(p);
        if (!v) return fail(p, t, "");
        add_child(t, "value", v);
        if (!expect(p, '>')) return fail(p, t, "expected '>'");
        p->depth--;
        return t;
    }
    if (!strcmp(w, "struct")) {
        t = new_type(PQ_T_STRUCT);
        if (!expect(p, '<')) return fail(p, t, "expected '<'");
        do {
            char name[256];
            skip_ws(p);
            size_t n = 0;
            while (*p->s && *p->s != ':' && *p->s != ',' && *p->s != '>' && n + 1 < sizeof name)
                name[n++] = *p->s++;
            while (n && isspace((unsigned char)name[n - 1])) n--;
            name[n] = 0;
            if (!n || !expect(p, ':')) return fail(p, t, "expected 'name:type'");
            pq_type *c = parse(p);
            if (!c) return fail(p, t, "");
            add_child(t, name, c);
        } while (expect(p, ','));
        if (!expect(p, '>')) return fail(p, t, "expected '>'");
        p->depth--;
        return t;
    }
    return fail(p, NULL, "unknown type (boolean, tinyint, smallint, int, bigint, float, double, "
                         "decimal, string, varchar, char, binary, date, timestamp, array, map, "
                         "struct are known)");
}

pq_type *pq_type_parse(const char *column, const char *s, sp_err *e)
{
    tparse p = {.s = s, .column = column, .e = e};
    pq_type *t = parse(&p);
    if (!t) return NULL;
    skip_ws(&p);
    if (*p.s) return fail(&p, t, "unexpected text after the type");
    return t;
}

void pq_type_free(pq_type *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nchildren; i++) {
        pq_type_free(t->children[i]);
        free(t->names[i]);
    }
    free(t->children);
    free(t->names);
    free(t);
}

void pq_type_format(const pq_type *t, sp_str *out)
{
    static const char *names[] = {"boolean", "tinyint", "smallint", "int", "bigint", "float",
                                  "double", "decimal", "string", "binary", "date", "timestamp"};
    switch (t->kind) {
    case PQ_T_DECIMAL:
        sp_str_appendf(out, "decimal(%d,%d)", t->precision, t->scale);
        return;
    case PQ_T_ARRAY:
        sp_str_puts(out, "array<");
        pq_type_format(t->children[0], out);
        sp_str_putc(out, '>');
        return;
    case PQ_T_MAP:
        sp_str_puts(out, "map<");
        pq_type_format(t->children[0], out);
        sp_str_putc(out, ',');
        pq_type_format(t->children[1], out);
        sp_str_putc(out, '>');
        return;
    case PQ_T_STRUCT:
        sp_str_puts(out, "struct<");
        for (size_t i = 0; i < t->nchildren; i++) {
            if (i) sp_str_putc(out, ',');
            sp_str_appendf(out, "%s:", t->names[i]);
            pq_type_format(t->children[i], out);
        }
        sp_str_putc(out, '>');
        return;
    default:
        sp_str_puts(out, names[t->kind]);
    }
}

bool pq_glue_type_check(const char *column, const char *glue_type, sp_err *e)
{
    pq_type *t = pq_type_parse(column, glue_type, e);
    pq_type_free(t);
    return t != NULL;
}

int pq_kind_physical(const pq_type *t, int *type_length)
{
    *type_length = 0;
    switch (t->kind) {
    case PQ_T_BOOLEAN: return PQ_BOOLEAN;
    case PQ_T_TINYINT:
    case PQ_T_SMALLINT:
    case PQ_T_INT:
    case PQ_T_DATE: return PQ_INT32;
    case PQ_T_BIGINT:
    case PQ_T_TIMESTAMP: return PQ_INT64;
    case PQ_T_FLOAT: return PQ_FLOAT;
    case PQ_T_DOUBLE: return PQ_DOUBLE;
    case PQ_T_DECIMAL:
        if (t->precision <= 9) return PQ_INT32;
        if (t->precision <= 18) return PQ_INT64;
        *type_length = 16;
        return PQ_FIXED;
    case PQ_T_STRING:
    case PQ_T_BINARY: return PQ_BYTE_ARRAY;
    default: return -1;
    }
}

/* Howard Hinnant's civil calendar algorithms (proleptic Gregorian). */
int64_t pq_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void pq_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}
