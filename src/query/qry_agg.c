/* Aggregates inside the scan. SQLite answers `SELECT k, count(*) FROM t GROUP BY k` by
 * pulling every row out of the virtual table one xNext/xColumn at a time, sorting them all
 * on k and stepping the aggregate per row; for a million lake rows that is most of the
 * engine time. This pass hands the aggregate to the scan instead:
 *
 *   SELECT k, count(*) AS n, round(sum(a * b), 2) AS s FROM t WHERE w GROUP BY k ...
 *   -> SELECT k, sum("__salespipe_p0") AS n, round(sum("__salespipe_p1"), 2) AS s FROM t
 *      WHERE (w) AND "__salespipe_agg" = 'g=<k>;a=n,m<a>*<b>;w=<cols of w>' GROUP BY k ...
 *
 * The virtual table (qry_vtab.c) then returns one row per group (per group and partition
 * when the WHERE names columns, so the WHERE sees the partition values it tests) with each
 * aggregate's partial in a hidden column, and SQLite merges the partials: a count is the
 * sum of the counts, a sum the sum of the partial sums. When the WHERE names a data column
 * the scan cannot pre-aggregate (the WHERE must see each row), so it returns every row as a
 * group of one, whose partials are the row's own values: SQLite then computes exactly what
 * it computed before.
 *
 * Same answer: a group's count is exact; an integer sum is exact (overflow fails the
 * query, as SQLite's sum() does); a real sum is accumulated in scan order, and merged by
 * SQLite in group-row order, so it may differ from SQLite's own row order in the last bits
 * (DuckDB sums in yet another order; answers agree when rounded, as the benches compare).
 *
 * Accepted, and nothing else (the statement is left as written, returning false):
 *   - one SELECT at the top (no WITH, subquery, DISTINCT, window, join, set operation,
 *     `*` other than count(*)'s and sum(a * b)'s, [bracketed] names);
 *   - FROM one lake table [[AS] alias] of at most 53 columns (the hidden ones must fit in
 *     SQLite's colUsed bits); GROUP BY a list of its columns (no expressions,
 *     no positions);
 *   - aggregates count(*), count(col), sum(col), sum(col * col) with sum's columns
 *     declared bigint, integer or double; at most QRY_AGG_PARTIALS of them;
 *   - elsewhere in the select list, HAVING and ORDER BY only GROUP BY columns, literals,
 *     operators, names that are no column (aliases, keywords) and round, abs, coalesce,
 *     ifnull, cast;
 *   - a WHERE of columns, literals and operators only (no function, no subquery): its
 *     value on a row is then a function of the columns it names.
 * An unaliased aggregate item gets its original text as alias, the name SQLite gives it;
 * qry_exec keeps the original statement if the result columns differ at all. */
#include "qry_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the partials ------------------------------------------------------------------------ */

static bool add_int64(sqlite3_int64 *acc, sqlite3_int64 v)
{
    return __builtin_add_overflow(*acc, v, acc);
}

void qry_agg_acc_add(qry_agg_acc *acc, qry_agg_kind kind, const qry_value *a,
                     const qry_value *b)
{
    if (kind == QRY_AGG_COUNT_STAR) {
        acc->n++;
        return;
    }
    if (a->type == SQLITE_NULL) return;
    if (kind == QRY_AGG_COUNT) {
        acc->n++;
        return;
    }
    qry_value v = *a;
    if (kind == QRY_AGG_SUM_PRODUCT) { /* SQLite's OP_Multiply on two numbers */
        if (b->type == SQLITE_NULL) return;
        sqlite3_int64 p;
        if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER &&
            !__builtin_mul_overflow(a->i, b->i, &p)) {
            v.type = SQLITE_INTEGER;
            v.i = p;
        } else {
            double x = a->type == SQLITE_INTEGER ? (double)a->i : a->d;
            double y = b->type == SQLITE_INTEGER ? (double)b->i : b->d;
            v.type = SQLITE_FLOAT;
            v.d = x * y;
            if (isnan(v.d)) return; /* the product is NULL */
        }
    }
    /* SQLite's sumStep (3.40): the real sum always, the integer sum while exact */
    acc->n++;
    if (v.type == SQLITE_INTEGER) {
        acc->r += (double)v.i;
        if (!acc->approx && !acc->overflow && add_int64(&acc->i, v.i))
            acc->approx = acc->overflow = true;
    } else {
        acc->r += v.d;
        acc->approx = true;
    }
}

bool qry_agg_acc_value(const qry_agg_acc *acc, qry_agg_kind kind, qry_value *out)
{
    memset(out, 0, sizeof *out);
    if (kind == QRY_AGG_COUNT_STAR || kind == QRY_AGG_COUNT) {
        out->type = SQLITE_INTEGER;
        out->i = acc->n;
        return true;
    }
    out->type = SQLITE_NULL;
    if (!acc->n) return true;
    if (acc->overflow) return false;
    if (acc->approx) {
        out->type = SQLITE_FLOAT;
        out->d = acc->r;
        if (isnan(out->d)) out->type = SQLITE_NULL;
    } else {
        out->type = SQLITE_INTEGER;
        out->i = acc->i;
    }
    return true;
}

/* ---- the spec ---------------------------------------------------------------------------- */

bool qry_agg_spec_parse(const char *text, size_t n_columns, qry_agg_spec *out)
{
    memset(out, 0, sizeof *out);
    if (!text || strncmp(text, "g=", 2)) return false;
    const char *p = text + 2;
    for (;;) {
        if (out->n_keys == QRY_AGG_KEYS_MAX) return false;
        if (!qry_spec_index(&p, n_columns, &out->keys[out->n_keys++])) return false;
        if (*p != ',') break;
        p++;
    }
    if (strncmp(p, ";a=", 3)) return false;
    p += 3;
    for (;;) {
        if (out->n_fns == QRY_AGG_PARTIALS) return false;
        qry_agg_fn *f = &out->fns[out->n_fns++];
        char k = *p++;
        if (k == 'n') {
            f->kind = QRY_AGG_COUNT_STAR;
        } else if (k == 'c' || k == 's' || k == 'm') {
            f->kind = k == 'c' ? QRY_AGG_COUNT : k == 's' ? QRY_AGG_SUM : QRY_AGG_SUM_PRODUCT;
            if (!qry_spec_index(&p, n_columns, &f->a)) return false;
            if (k == 'm' && (*p++ != '*' || !qry_spec_index(&p, n_columns, &f->b))) return false;
        } else {
            return false;
        }
        if (*p != ',') break;
        p++;
    }
    if (strncmp(p, ";w=", 3)) return false;
    p += 3;
    while (*p) {
        if (out->n_where == QRY_AGG_WHERE_MAX) return false;
        if (!qry_spec_index(&p, n_columns, &out->where[out->n_where++])) return false;
        if (*p == ',' && p[1]) p++;
        else if (*p) return false;
    }
    return true;
}

/* ---- the rewrite ------------------------------------------------------------------------- */

typedef struct agg {
    const char *sql;
    qry_token *t;
    size_t *v;                /* indices of the non-space tokens */
    size_t nv;
    int *depth;
    char **names, **types;    /* the table's columns */
    size_t n_names;
    char *qual;               /* the table's alias, or its (last) name */
    size_t keys[QRY_AGG_KEYS_MAX], n_keys;
    qry_agg_fn fns[QRY_AGG_PARTIALS];
    size_t n_fns;
    size_t where[QRY_AGG_WHERE_MAX], n_where;
    qry_edit *ed;
    size_t n_ed;
} agg;

#define TV(x) ((qry_tokview){(x)->sql, (x)->t, (x)->v, (x)->nv})
static bool is_word(const agg *a, size_t k, const char *w) { return qry_tv_word(TV(a), k, w); }
static bool is_punct(const agg *a, size_t k, char c) { return qry_tv_punct(TV(a), k, c); }
static bool is_ident(const agg *a, size_t k) { return qry_tv_ident(TV(a), k); }
/* The identifier of token k without its quotes (heap). */
static char *unquoted(const agg *a, size_t k) { return qry_tv_unquoted(TV(a), k); }

static bool ident_is(const agg *a, size_t k, const char *name)
{
    char *u = unquoted(a, k);
    bool same = !strcasecmp(u, name);
    free(u);
    return same;
}

/* Words that make the statement more than the accepted shape, wherever they stand. */
static bool refused_word(const agg *a, size_t k)
{
    static const char *const words[] = {
        "select", "with", "recursive", "distinct", "over", "filter", "window", "within",
        "join", "union", "intersect", "except", "natural", "using", "exists", "values",
        "partition", "rowid", "oid", "_rowid_"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (is_word(a, k, words[w])) return true;
    if (!is_ident(a, k)) return false;
    char *u = unquoted(a, k);
    bool hidden = !strncasecmp(u, "__salespipe_", 12);
    free(u);
    return hidden;
}

/* The column the reference at *k names (`name`, `qual.name`), moving *k past it: 1 found,
 * 0 an identifier that names no column (an alias, a keyword), -1 refused. */
static int column_at(const agg *a, size_t *k, size_t *col)
{
    size_t j = *k;
    bool qualified = is_punct(a, j + 1, '.');
    if (qualified) {
        if (!ident_is(a, j, a->qual) || !is_ident(a, j + 2) || is_punct(a, j + 3, '.'))
            return -1;
        j += 2;
    }
    char *u = unquoted(a, j);
    size_t found = SIZE_MAX;
    bool twice = false;
    for (size_t c = 0; c < a->n_names; c++)
        if (!strcasecmp(u, a->names[c])) {
            twice = found != SIZE_MAX;
            found = c;
        }
    free(u);
    if (twice) return -1;
    *k = j + 1;
    if (found == SIZE_MAX) return qualified ? -1 : 0;
    *col = found;
    return 1;
}

static bool numeric_decl(const char *type)
{
    return type && (!strcasecmp(type, "bigint") || !strcasecmp(type, "integer") ||
                    !strcasecmp(type, "double"));
}

/* count( * | col ) or sum( col | col * col ) at k; on success an edit replaces it with the
 * sum of its partial and *k is past its `)`. */
static bool aggregate_at(agg *a, size_t *k)
{
    size_t j = *k;
    bool count = is_word(a, j, "count");
    if ((!count && !is_word(a, j, "sum")) || !is_punct(a, j + 1, '(')) return false;
    if (a->n_fns == QRY_AGG_PARTIALS) return false;
    qry_agg_fn f = {0};
    j += 2;
    if (count && is_punct(a, j, '*')) {
        f.kind = QRY_AGG_COUNT_STAR;
        j++;
    } else {
        if (!is_ident(a, j) || column_at(a, &j, &f.a) != 1) return false;
        f.kind = count ? QRY_AGG_COUNT : QRY_AGG_SUM;
        if (!count && is_punct(a, j, '*')) {
            j++;
            if (!is_ident(a, j) || column_at(a, &j, &f.b) != 1) return false;
            f.kind = QRY_AGG_SUM_PRODUCT;
            if (!numeric_decl(a->types[f.b])) return false;
        }
        if (!count && !numeric_decl(a->types[f.a])) return false;
    }
    if (!is_punct(a, j, ')')) return false;
    const qry_token *first = &a->t[a->v[*k]], *last = &a->t[a->v[j]];
    char text[64];
    int n = snprintf(text, sizeof text, "sum(\"" QRY_AGG_PARTIAL_PREFIX "%zu\")", a->n_fns);
    qry_edit_add(&a->ed, &a->n_ed, first->start, last->start + last->len - first->start, text,
                 (size_t)n);
    a->fns[a->n_fns++] = f;
    *k = j + 1;
    return true;
}

typedef enum { SEG_WHERE, SEG_RESULT } seg_kind;

/* Checks tokens [from, to) of one clause (see the top of the file). */
static bool segment_ok(agg *a, size_t from, size_t to, seg_kind kind)
{
    static const char *const scalars[] = {"round", "abs", "coalesce", "ifnull", "cast"};
    for (size_t k = from; k < to;) {
        const qry_token *t = &a->t[a->v[k]];
        if (t->kind == QRY_TK_PUNCT) {
            char c = a->sql[t->start];
            if (c == '*' || c == ';' || c == '?' || c == '@' || c == '$' || c == ':')
                return false;
            k++;
            continue;
        }
        if (t->kind != QRY_TK_WORD && t->kind != QRY_TK_QUOTED) {
            k++; /* a string or a number */
            continue;
        }
        if (t->kind == QRY_TK_WORD && is_punct(a, k + 1, '(') && !is_word(a, k, "in")) {
            if (kind == SEG_WHERE) return false;
            if (aggregate_at(a, &k)) {
                if (k > to) return false;
                continue;
            }
            bool known = false;
            for (size_t s = 0; s < sizeof scalars / sizeof *scalars && !known; s++)
                known = is_word(a, k, scalars[s]);
            if (!known) return false;
            k++;
            continue;
        }
        size_t col;
        int r = column_at(a, &k, &col);
        if (r < 0 || k > to) return false;
        if (r == 0) continue;
        if (kind == SEG_WHERE) {
            if (a->n_where == QRY_AGG_WHERE_MAX) return false;
            a->where[a->n_where++] = col;
            continue;
        }
        bool grouped = false;
        for (size_t g = 0; g < a->n_keys && !grouped; g++) grouped = a->keys[g] == col;
        if (!grouped) return false;
    }
    return true;
}

/* Index of the first depth-0 token at or after k that is one of words, or `;`, else nv. */
static size_t clause_end(const agg *a, size_t k, const char *const *words, size_t n_words)
{
    for (; k < a->nv; k++) {
        if (a->depth[k] != 0) continue;
        if (is_punct(a, k, ';')) return k;
        for (size_t w = 0; w < n_words; w++)
            if (is_word(a, k, words[w])) return k;
    }
    return a->nv;
}

/* The pass on a tokenized statement: the edits in a->ed, or false. */
static bool recognise(agg *a, qry_table_types_fn columns, void *arg)
{
    size_t sel = 0; /* EXPLAIN [QUERY PLAN] shows the plan of the rewritten statement */
    if (is_word(a, 0, "explain"))
        sel = is_word(a, 1, "query") && is_word(a, 2, "plan") ? 3 : 1;
    if (!is_word(a, sel, "select")) return false;
    for (size_t k = sel + 1; k < a->nv; k++)
        if (refused_word(a, k) || is_punct(a, k, '[') || is_punct(a, k, ']')) return false;
    static const char *const after_items[] = {"from"};
    size_t from = clause_end(a, sel + 1, after_items, 1);
    if (from >= a->nv || !is_word(a, from, "from") || from == sel + 1) return false;
    /* FROM ref [[AS] alias] */
    size_t first = from + 1, last = first;
    if (!is_ident(a, first)) return false;
    if (is_punct(a, first + 1, '.')) {
        if (!is_ident(a, first + 2)) return false;
        last = first + 2;
    }
    size_t j = last + 1, alias = last;
    if (is_word(a, j, "as")) {
        alias = j + 1;
        if (!is_ident(a, alias)) return false;
        j += 2;
    } else if (is_ident(a, j) && !is_word(a, j, "where") && !is_word(a, j, "group")) {
        alias = j++;
    }
    size_t where_from = 0, group;
    if (is_word(a, j, "where")) {
        where_from = j + 1;
        static const char *const to_group[] = {"group"};
        group = clause_end(a, where_from, to_group, 1);
        if (group == where_from) return false;
    } else {
        group = j;
    }
    if (!is_word(a, group, "group") || !is_word(a, group + 1, "by")) return false;
    /* the table */
    const qry_token *ta = &a->t[a->v[first]], *tb = &a->t[a->v[last]];
    char *ref = strndup(a->sql + ta->start, tb->start + tb->len - ta->start);
    bool lake = false;
    if (!ref) abort();
    bool known = columns(arg, ref, &a->names, &a->types, &a->n_names, &lake);
    free(ref);
    /* the hidden columns must have bits of their own in colUsed (qry_vtab.c's plan check) */
    if (!known || !lake || a->n_names + 1 + QRY_AGG_PARTIALS >= 63) return false;
    a->qual = unquoted(a, alias);
    /* GROUP BY col[, col...] */
    static const char *const after_group[] = {"having", "order", "limit"};
    size_t group_end = clause_end(a, group + 2, after_group, 3);
    for (size_t k = group + 2; k < group_end;) {
        size_t col;
        if (!is_ident(a, k) || column_at(a, &k, &col) != 1) return false;
        if (a->n_keys == QRY_AGG_KEYS_MAX) return false;
        a->keys[a->n_keys++] = col;
        if (k == group_end) break;
        if (!is_punct(a, k, ',')) return false;
        k++;
        if (k == group_end) return false;
    }
    if (!a->n_keys) return false;
    /* the select list, item by item (an unaliased aggregate item gets its text as alias) */
    for (size_t k = sel + 1; k < from;) {
        size_t end = k;
        while (end < from && !(a->depth[end] == 0 && is_punct(a, end, ','))) end++;
        if (end == k) return false;
        size_t before = a->n_ed;
        if (!segment_ok(a, k, end, SEG_RESULT)) return false;
        bool aliased = end - k >= 2 && is_ident(a, end - 1) &&
                       (is_word(a, end - 2, "as") || is_punct(a, end - 2, ')'));
        if (a->n_ed > before && !aliased) {
            const qry_token *s = &a->t[a->v[k]], *e = &a->t[a->v[end - 1]];
            sp_str w;
            char buf[256];
            sp_str_init(&w, buf, sizeof buf, SP_STR_NO_MAX);
            sp_str_puts(&w, " AS \"");
            for (size_t i = s->start; i < e->start + e->len; i++) {
                if (a->sql[i] == '"') sp_str_putc(&w, '"');
                sp_str_putc(&w, a->sql[i]);
            }
            sp_str_putc(&w, '"');
            bool ok = !sp_str_failed(&w);
            if (ok) qry_edit_add(&a->ed, &a->n_ed, e->start + e->len, 0, w.buf, w.len);
            sp_str_release(&w);
            if (!ok) return false;
        }
        k = end + (end < from);
    }
    if (where_from && !segment_ok(a, where_from, group, SEG_WHERE)) return false;
    /* HAVING, ORDER BY, LIMIT */
    size_t k = group_end;
    if (is_word(a, k, "having")) {
        static const char *const after_having[] = {"order", "limit"};
        size_t e = clause_end(a, k + 1, after_having, 2);
        if (e == k + 1 || !segment_ok(a, k + 1, e, SEG_RESULT)) return false;
        k = e;
    }
    if (is_word(a, k, "order")) {
        static const char *const after_order[] = {"limit"};
        size_t e = clause_end(a, k + 1, after_order, 1);
        if (!is_word(a, k + 1, "by") || e == k + 2 || !segment_ok(a, k + 2, e, SEG_RESULT))
            return false;
        for (size_t x = k + 2; x < e; x++) /* a position (ORDER BY 2) names no column */
            if (a->t[a->v[x]].kind == QRY_TK_OTHER &&
                (is_word(a, x - 1, "by") || is_punct(a, x - 1, ',')))
                return false;
        k = e;
    }
    if (is_word(a, k, "limit")) {
        for (k++; k < a->nv && !is_punct(a, k, ';'); k++)
            if (a->t[a->v[k]].kind != QRY_TK_OTHER && !is_punct(a, k, ',') &&
                !is_word(a, k, "offset"))
                return false;
    }
    for (; k < a->nv; k++)
        if (!is_punct(a, k, ';')) return false;
    if (!a->n_fns) return false;
    /* the spec, and the WHERE that hands it over */
    sp_str s;
    char buf[256];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_puts(&s, where_from ? ") AND \"" QRY_AGG_COLUMN "\" = 'g=" :
                                 "WHERE \"" QRY_AGG_COLUMN "\" = 'g=");
    for (size_t g = 0; g < a->n_keys; g++) sp_str_appendf(&s, "%s%zu", g ? "," : "", a->keys[g]);
    sp_str_puts(&s, ";a=");
    for (size_t f = 0; f < a->n_fns; f++) {
        const qry_agg_fn *fn = &a->fns[f];
        if (f) sp_str_putc(&s, ',');
        switch (fn->kind) {
        case QRY_AGG_COUNT_STAR: sp_str_putc(&s, 'n'); break;
        case QRY_AGG_COUNT: sp_str_appendf(&s, "c%zu", fn->a); break;
        case QRY_AGG_SUM: sp_str_appendf(&s, "s%zu", fn->a); break;
        case QRY_AGG_SUM_PRODUCT: sp_str_appendf(&s, "m%zu*%zu", fn->a, fn->b); break;
        }
    }
    sp_str_puts(&s, ";w=");
    for (size_t w = 0; w < a->n_where; w++)
        sp_str_appendf(&s, "%s%zu", w ? "," : "", a->where[w]);
    sp_str_puts(&s, "' ");
    bool ok = !sp_str_failed(&s);
    const qry_token *tg = &a->t[a->v[group]];
    if (ok && where_from)
        qry_edit_add(&a->ed, &a->n_ed, a->t[a->v[where_from]].start, 0, "(", 1);
    if (ok) qry_edit_add(&a->ed, &a->n_ed, tg->start, 0, s.buf, s.len);
    sp_str_release(&s);
    return ok;
}

static int by_start(const void *x, const void *y)
{
    const qry_edit *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

bool qry_sql_aggregate(qry_sql *q, qry_table_types_fn columns, void *arg)
{
    agg a = {.sql = q->text};
    sp_err e = {0};
    size_t n = 0;
    a.t = qry_sql_tokenize(q->text, &n, &e);
    if (!a.t) return false;
    a.v = malloc((n + 1) * sizeof *a.v);
    a.depth = malloc((n + 1) * sizeof *a.depth);
    if (!a.v || !a.depth) abort();
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (a.t[i].kind == QRY_TK_SPACE) continue;
        if (a.t[i].kind == QRY_TK_PUNCT && q->text[a.t[i].start] == ')') depth--;
        a.depth[a.nv] = depth;
        a.v[a.nv++] = i;
        if (a.t[i].kind == QRY_TK_PUNCT && q->text[a.t[i].start] == '(') depth++;
    }
    bool ok = depth == 0 && recognise(&a, columns, arg);
    bool changed = false;
    if (ok) {
        /* ascending; no two edits start at one offset except in insertion order, which
         * qsort does not keep: the only such pair is an item's alias and nothing else */
        qsort(a.ed, a.n_ed, sizeof *a.ed, by_start);
        changed = qry_sql_apply(q, a.ed, a.n_ed);
    } else {
        for (size_t i = 0; i < a.n_ed; i++) free(a.ed[i].text);
        free(a.ed);
    }
    for (size_t c = 0; c < a.n_names; c++) {
        free(a.names[c]);
        if (a.types) free(a.types[c]);
    }
    free(a.names);
    free(a.types);
    free(a.qual);
    free(a.t);
    free(a.v);
    free(a.depth);
    return changed;
}
