/* Projection inside window subqueries. SQLite does not prune the unused columns of a
 * subquery that has a window function (nor of a CTE), so in the Athena idiom
 *   SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY k ORDER BY s DESC) AS rn
 *                  FROM t) WHERE rn = 1
 * every column of every row goes through the window's sorter and its partition buffer,
 * and the lake scan converts every column. This pass narrows such a `SELECT *,` to the
 * columns of t whose names appear anywhere in the statement (as an identifier, a quoted
 * identifier or a string), which is a superset of what can be referenced by name.
 *
 * It is sound only where nothing can see a column other than by its name, so it does
 * nothing at all (returns false) unless the whole statement satisfies:
 *   - every `*` wildcard is a bare `SELECT *` (no DISTINCT *, no t.*, no `a, *`) of a
 *     parenthesised subquery standing after FROM, JOIN, EXISTS or `name AS` (a CTE without
 *     a column list): so no wildcard reaches the result, a set operation, DISTINCT, an IN
 *     list, a scalar subquery or a CTE's column list, where the column count or the
 *     columns themselves matter;
 *   - no NATURAL join, USING, UNION, INTERSECT, EXCEPT (they match columns implicitly or
 *     by position), no [bracketed] identifier (SQLite quoting the scan below does not
 *     read), no ORDER BY / GROUP BY item that is a bare number (a position);
 *   - the narrowed subquery reads one table and nothing else (FROM t [[AS] alias] then
 *     WHERE, ORDER BY, LIMIT, WINDOW or its end), has no GROUP BY or HAVING, and t is not
 *     the name of a CTE of the statement.
 * Rows, their order into the window's (stable) sorter, and so ties, are unchanged: only
 * columns nobody names are dropped. qry_exec also compares the result columns of the
 * narrowed statement with the original's and keeps the original on any difference.
 *
 * Under the same conditions, the latest-row idiom itself,
 *   FROM (SELECT *, row_number() OVER (PARTITION BY c.. ORDER BY s [ASC|DESC]) [AS] rn
 *         FROM t [[AS] a]) [[AS] o] WHERE ... rn = 1 ...
 * over a lake table becomes `SELECT <cols>, 1 AS rn FROM t WHERE "__salespipe_latest" =
 * '<spec>'`, which the virtual table answers in one pass (qry_latest.c says why the rows
 * are the same, ties included). latest_target lists exactly what it accepts. */
#include "qry_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct proj {
    const char *sql;
    qry_token *t;             /* every token */
    size_t n;
    size_t *v;                /* indices of the non-space tokens */
    size_t nv;
    int *depth;               /* per non-space token: parentheses open before it */
} proj;

#define TV(x) ((qry_tokview){(x)->sql, (x)->t, (x)->v, (x)->nv})
static bool is_word(const proj *p, size_t k, const char *w) { return qry_tv_word(TV(p), k, w); }
static bool is_punct(const proj *p, size_t k, char c) { return qry_tv_punct(TV(p), k, c); }
static bool is_ident(const proj *p, size_t k) { return qry_tv_ident(TV(p), k); }
/* The identifier or string of token k without its quotes (heap). */
static char *unquoted(const proj *p, size_t k) { return qry_tv_unquoted(TV(p), k); }

static bool name_used(const proj *p, const char *name)
{
    for (size_t k = 0; k < p->nv; k++) {
        qry_tk_kind kind = p->t[p->v[k]].kind;
        if (kind != QRY_TK_WORD && kind != QRY_TK_QUOTED && kind != QRY_TK_STRING) continue;
        char *u = unquoted(p, k);
        bool same = !strcasecmp(u, name);
        free(u);
        if (same) return true;
    }
    return false;
}

/* A `*` that stands for columns (after SELECT, DISTINCT, ALL, `,` or `.`), not a product
 * or count(*). */
static bool is_wildcard(const proj *p, size_t k)
{
    if (!is_punct(p, k, '*') || k == 0) return false;
    return is_word(p, k - 1, "select") || is_word(p, k - 1, "distinct") ||
           is_word(p, k - 1, "all") || is_punct(p, k - 1, ',') || is_punct(p, k - 1, '.');
}

/* `( SELECT *` at k-2..k stands where a relation is expected: after FROM, JOIN, EXISTS or
 * a CTE's `name AS` (no column list). */
static bool relation_position(const proj *p, size_t k)
{
    if (k < 3 || !is_word(p, k - 1, "select") || !is_punct(p, k - 2, '(')) return false;
    size_t b = k - 3;
    if (is_word(p, b, "from") || is_word(p, b, "join") || is_word(p, b, "exists")) return true;
    return is_word(p, b, "as") && b > 0 && is_ident(p, b - 1);
}

/* A BY list (ORDER BY, GROUP BY, PARTITION BY) with an item that starts with a number: a
 * position, or close enough to one to leave the statement alone. */
static bool ordinal_by(const proj *p)
{
    static const char *const clauses[] = {"select", "from", "where", "having", "limit",
                                          "values", "on", "set"};
    for (size_t k = 1; k < p->nv; k++) {
        if (p->t[p->v[k]].kind != QRY_TK_OTHER) continue;
        if (is_word(p, k - 1, "by")) return true;
        if (!is_punct(p, k - 1, ',')) continue;
        /* after a comma: an item of a BY list if that list's BY comes first at this depth */
        for (size_t j = k - 1; j-- > 0;) {
            if (p->depth[j] < p->depth[k]) break;
            if (p->depth[j] > p->depth[k]) continue;
            if (is_word(p, j, "by")) return true;
            bool clause = false;
            for (size_t c = 0; c < sizeof clauses / sizeof *clauses && !clause; c++)
                clause = is_word(p, j, clauses[c]);
            if (clause) break;
        }
    }
    return false;
}

/* Statement-wide conditions (see the top of the file). */
static bool statement_allows(const proj *p)
{
    static const char *const refused[] = {"natural", "using", "union", "intersect", "except"};
    for (size_t k = 0; k < p->nv; k++) {
        for (size_t r = 0; r < sizeof refused / sizeof *refused; r++)
            if (is_word(p, k, refused[r])) return false;
        if (is_punct(p, k, '[') || is_punct(p, k, ']')) return false;
        if (is_wildcard(p, k) && (!is_word(p, k - 1, "select") || !relation_position(p, k)))
            return false;
    }
    return !ordinal_by(p);
}

/* Index of the non-space token closing the parenthesis open at depth d before k. */
static size_t group_end(const proj *p, size_t k, int d)
{
    for (; k < p->nv; k++)
        if (is_punct(p, k, ')') && p->depth[k] == d) return k;
    return p->nv;
}

/* If the `*` at k heads a narrowable window subquery, the table reference's first and
 * last non-space tokens. */
static bool window_target(const proj *p, size_t k, size_t *ref_first, size_t *ref_last)
{
    if (!is_wildcard(p, k) || !is_punct(p, k + 1, ',')) return false;
    int d = p->depth[k];
    size_t end = group_end(p, k, d - 1);
    if (end >= p->nv) return false;
    size_t from = p->nv;
    bool over = false;
    for (size_t j = k + 1; j < end; j++) {
        if (is_word(p, j, "over")) over = true;
        if (p->depth[j] == d && is_word(p, j, "from")) {
            from = j;
            break;
        }
    }
    if (!over || from >= end) return false;
    size_t j = from + 1;
    if (!is_ident(p, j)) return false;
    *ref_first = j;
    if (is_punct(p, j + 1, '.')) {
        if (!is_ident(p, j + 2)) return false;
        j += 2;
    }
    *ref_last = j++;
    static const char *const next[] = {"where", "order", "limit", "window"};
    bool ends = false;
    for (int twice = 0; twice < 2 && !ends; twice++) {
        ends = j == end;
        for (size_t r = 0; r < sizeof next / sizeof *next && !ends; r++)
            ends = is_word(p, j, next[r]);
        if (ends || twice) break;
        if (is_word(p, j, "as")) j++; /* [AS] alias, once */
        if (!is_ident(p, j)) return false;
        j++;
    }
    if (!ends) return false;
    for (; j < end; j++)
        if (p->depth[j] == d && (is_word(p, j, "group") || is_word(p, j, "having")))
            return false;
    if (*ref_first == *ref_last) { /* unqualified: must not name a CTE of the statement */
        char *name = unquoted(p, *ref_first);
        for (size_t x = 0; x + 1 < p->nv; x++) {
            /* `name AS (`, `name AS [NOT] MATERIALIZED`, or `name (` after WITH,
             * RECURSIVE or a comma: a CTE, or near enough */
            bool cte = is_word(p, x + 1, "as") &&
                       (is_punct(p, x + 2, '(') || is_word(p, x + 2, "materialized") ||
                        is_word(p, x + 2, "not"));
            cte = cte || (is_punct(p, x + 1, '(') && x > 0 &&
                          (is_word(p, x - 1, "with") || is_word(p, x - 1, "recursive") ||
                           is_punct(p, x - 1, ',')));
            if (!is_ident(p, x) || !cte) continue;
            char *u = unquoted(p, x);
            bool same = !strcasecmp(u, name);
            free(u);
            if (same) {
                free(name);
                return false;
            }
        }
        free(name);
    }
    return true;
}

static void append_quoted(sp_str *s, const char *name)
{
    sp_str_putc(s, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"') sp_str_putc(s, '"');
        sp_str_putc(s, *c);
    }
    sp_str_putc(s, '"');
}

/* ---- the latest-row idiom -------------------------------------------------------------- */

/* Column index of the column reference at *k (`name` or `qual.name`, qual the table's alias
 * or, without one, its name), moving *k past it; SIZE_MAX if it is not exactly one column. */
static size_t column_ref(const proj *p, size_t *k, const char *qual, char **names,
                         size_t n_names)
{
    size_t j = *k;
    if (!is_ident(p, j)) return SIZE_MAX;
    if (is_punct(p, j + 1, '.')) {
        char *u = unquoted(p, j);
        bool ok = !strcasecmp(u, qual);
        free(u);
        if (!ok || !is_ident(p, j + 2)) return SIZE_MAX;
        j += 2;
    }
    char *u = unquoted(p, j);
    size_t found = SIZE_MAX;
    for (size_t c = 0; c < n_names; c++)
        if (!strcasecmp(u, names[c])) {
            if (found != SIZE_MAX) found = SIZE_MAX - 1; /* twice: not one column */
            else found = c;
        }
    free(u);
    if (found >= SIZE_MAX - 1) return SIZE_MAX;
    *k = j + 1;
    return found;
}

/* Whether tokens [from, to) of the enclosing WHERE have `rn = 1` (or `1 = rn`, rn maybe
 * qualified by oalias) as a conjunct at depth d, with nothing that makes AND not split
 * conjuncts there (OR, BETWEEN, CASE). */
static bool where_has_rn1(const proj *p, size_t from, size_t to, int d, size_t rn,
                          size_t oalias)
{
    for (size_t j = from; j < to; j++)
        if (p->depth[j] == d && (is_word(p, j, "or") || is_word(p, j, "between") ||
                                 is_word(p, j, "case")))
            return false;
    char *rname = unquoted(p, rn), *oname = oalias < p->nv ? unquoted(p, oalias) : NULL;
    bool found = false;
    for (size_t j = from; j < to && !found; j++) {
        if (p->depth[j] != d || !(j == from || is_word(p, j - 1, "and"))) continue;
        /* one side is the literal 1, the other rn; then = ; then the other side */
        size_t x = j;
        bool one_first = p->t[p->v[x]].kind == QRY_TK_OTHER && p->t[p->v[x]].len == 1 &&
                         p->sql[p->t[p->v[x]].start] == '1';
        for (int side = 0; side < 2; side++) {
            bool want_one = one_first ? side == 0 : side == 1;
            if (want_one) {
                if (!(x < to && p->t[p->v[x]].kind == QRY_TK_OTHER && p->t[p->v[x]].len == 1 &&
                      p->sql[p->t[p->v[x]].start] == '1'))
                    goto next;
                x++;
            } else {
                if (oname && is_ident(p, x) && is_punct(p, x + 1, '.')) {
                    char *u = unquoted(p, x);
                    bool ok = !strcasecmp(u, oname);
                    free(u);
                    if (!ok) goto next;
                    x += 2;
                }
                if (!is_ident(p, x)) goto next;
                char *u = unquoted(p, x);
                bool ok = !strcasecmp(u, rname);
                free(u);
                if (!ok) goto next;
                x++;
            }
            if (side == 0) {
                if (!is_punct(p, x, '=') || is_punct(p, x + 1, '=')) goto next;
                x++;
            }
        }
        found = x == to || (x < to && is_word(p, x, "and"));
    next:;
    }
    free(rname);
    free(oname);
    return found;
}

/* If the window subquery whose `*` is at k is
 *   FROM (SELECT *, row_number() OVER (PARTITION BY c[, c...] ORDER BY s [ASC|DESC])
 *         [AS] rn FROM t [[AS] a]) [[AS] o] WHERE ... rn = 1 ...
 * (nothing else in the subquery, rn = 1 a conjunct of the enclosing WHERE), the spec for
 * the latest-row mode and the tokens to edit: the `,` that starts the window term, rn, and
 * the subquery's closing `)`. */
static bool latest_target(const proj *p, size_t k, size_t ref_first, size_t ref_last,
                          char **names, size_t n_names, char *spec, size_t spec_size,
                          size_t *comma, size_t *rn, size_t *close)
{
    int d = p->depth[k];
    size_t end = group_end(p, k, d - 1), j = k + 1;
    if (end >= p->nv || k < 3 || !is_word(p, k - 3, "from")) return false;
    /* the table's alias or name, for qualified references */
    size_t after_ref = ref_last + 1, talias = ref_last;
    if (is_word(p, after_ref, "as")) talias = after_ref + 1;
    else if (after_ref < end) talias = after_ref;
    if (!is_ident(p, talias)) return false;
    if (!(talias + 1 == end)) return false; /* nothing after FROM t [alias] */
    char *qual = unquoted(p, talias);
    bool ok = is_punct(p, j, ',') && is_word(p, j + 1, "row_number") && is_punct(p, j + 2, '(') &&
              is_punct(p, j + 3, ')') && is_word(p, j + 4, "over") && is_punct(p, j + 5, '(') &&
              is_word(p, j + 6, "partition") && is_word(p, j + 7, "by");
    *comma = j;
    j += 8;
    size_t keys[16], n_keys = 0, order = SIZE_MAX;
    bool desc = false;
    while (ok) {
        size_t c = column_ref(p, &j, qual, names, n_names);
        if (c == SIZE_MAX || n_keys == 16) {
            ok = false;
            break;
        }
        keys[n_keys++] = c;
        if (!is_punct(p, j, ',')) break;
        j++;
    }
    ok = ok && is_word(p, j, "order") && is_word(p, j + 1, "by");
    if (ok) {
        j += 2;
        order = column_ref(p, &j, qual, names, n_names);
        ok = order != SIZE_MAX;
    }
    if (ok && (is_word(p, j, "asc") || is_word(p, j, "desc"))) desc = is_word(p, j++, "desc");
    ok = ok && is_punct(p, j, ')');
    free(qual);
    if (!ok) return false;
    j++;
    if (is_word(p, j, "as")) j++;
    if (!is_ident(p, j) || !is_word(p, j + 1, "from") || j + 2 != ref_first) return false;
    *rn = j;
    char *rname = unquoted(p, j);
    for (size_t c = 0; c < n_names && ok; c++) ok = strcasecmp(rname, names[c]) != 0;
    free(rname);
    if (!ok) return false;
    /* the enclosing select: FROM (this) [[AS] o] WHERE ... */
    int outer = p->depth[k - 3];
    size_t e = end + 1, oalias = p->nv;
    if (is_word(p, e, "as")) {
        oalias = e + 1;
        e += 2;
    } else if (is_ident(p, e) && !is_word(p, e, "where")) {
        oalias = e++;
    }
    if (!is_word(p, e, "where")) return false;
    size_t to = e + 1;
    static const char *const ends[] = {"group", "order", "limit", "window", "having"};
    for (; to < p->nv; to++) {
        if (p->depth[to] < outer || is_punct(p, to, ';')) break;
        bool stop = false;
        for (size_t x = 0; x < sizeof ends / sizeof *ends && !stop; x++)
            stop = p->depth[to] == outer && is_word(p, to, ends[x]);
        if (stop) break;
    }
    if (!where_has_rn1(p, e + 1, to, outer, *rn, oalias)) return false;
    *close = end;
    size_t len = (size_t)snprintf(spec, spec_size, "p=");
    for (size_t x = 0; x < n_keys; x++)
        len += (size_t)snprintf(spec + len, spec_size - len, "%s%zu", x ? "," : "", keys[x]);
    snprintf(spec + len, spec_size - len, ";o=%zu;d=%d", order, desc ? 1 : 0);
    return true;
}

/* ---- the pass ------------------------------------------------------------------------- */

void qry_edit_add(qry_edit **ed, size_t *n, size_t start, size_t len, const char *text,
                  size_t text_len)
{
    *ed = realloc(*ed, (*n + 1) * sizeof **ed);
    if (!*ed) abort();
    (*ed)[*n].start = start;
    (*ed)[*n].len = len;
    (*ed)[*n].text = strndup(text, text_len);
    if (!(*ed)[(*n)++].text) abort();
}

/* Where offset x of the old text is in the new one: shifted by the edits before it; inside
 * a replaced range, the start of its replacement. */
static size_t moved(const qry_edit *ed, size_t n, size_t x)
{
    long add = 0;
    for (size_t i = 0; i < n; i++) {
        long delta = (long)strlen(ed[i].text) - (long)ed[i].len;
        if (ed[i].len == 0 ? ed[i].start <= x : ed[i].start + ed[i].len <= x)
            add += delta;
        else if (ed[i].start < x && x < ed[i].start + ed[i].len)
            return (size_t)((long)ed[i].start + add);
    }
    return (size_t)((long)x + add);
}

bool qry_sql_apply(qry_sql *q, qry_edit *ed, size_t n_ed)
{
    bool changed = n_ed > 0;
    if (changed) {
        sp_str out;
        char buf[1024];
        sp_str_init(&out, buf, sizeof buf, SP_STR_NO_MAX);
        size_t copied = 0;
        for (size_t i = 0; i < n_ed && changed; i++) {
            if (ed[i].start < copied) { /* overlapping edits: a bug here, keep the text */
                changed = false;
                break;
            }
            sp_str_append(&out, q->text + copied, ed[i].start - copied);
            sp_str_puts(&out, ed[i].text);
            copied = ed[i].start + ed[i].len;
        }
        sp_str_puts(&out, q->text + copied);
        char *text = changed ? sp_str_finish(&out, NULL) : NULL;
        if (!changed) sp_str_release(&out);
        if (!text) {
            changed = false;
        } else {
            for (size_t m = 0; m < q->n_map; m++) q->map_out[m] = moved(ed, n_ed, q->map_out[m]);
            free(q->text);
            q->text = text;
        }
    }
    for (size_t i = 0; i < n_ed; i++) free(ed[i].text);
    free(ed);
    return changed;
}

bool qry_sql_project(qry_sql *q, qry_table_columns_fn columns, void *arg)
{
    proj p = {.sql = q->text};
    sp_err e = {0};
    p.t = qry_sql_tokenize(q->text, &p.n, &e);
    if (!p.t) return false;
    p.v = malloc((p.n + 1) * sizeof *p.v);
    p.depth = malloc((p.n + 1) * sizeof *p.depth);
    if (!p.v || !p.depth) abort();
    int depth = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (p.t[i].kind == QRY_TK_SPACE) continue;
        if (p.t[i].kind == QRY_TK_PUNCT && q->text[p.t[i].start] == ')') depth--;
        p.depth[p.nv] = depth;
        p.v[p.nv++] = i;
        if (p.t[i].kind == QRY_TK_PUNCT && q->text[p.t[i].start] == '(') depth++;
    }
    qry_edit *ed = NULL;
    size_t n_ed = 0;
    if (depth == 0 && statement_allows(&p)) {
        for (size_t k = 0; k < p.nv; k++) {
            size_t first, last;
            if (!window_target(&p, k, &first, &last)) continue;
            const qry_token *a = &p.t[p.v[first]], *b = &p.t[p.v[last]];
            char *ref = strndup(q->text + a->start, b->start + b->len - a->start);
            char **names = NULL;
            size_t n_names = 0;
            bool latest_ok = false;
            if (!ref) abort();
            bool known = columns(arg, ref, &names, &n_names, &latest_ok);
            free(ref);
            if (!known) continue;
            bool twins = false; /* names equal but for case: a quoted name would pick one */
            for (size_t c = 0; c < n_names && !twins; c++)
                for (size_t d = c + 1; d < n_names && !twins; d++)
                    twins = !strcasecmp(names[c], names[d]);
            sp_str list;
            char lbuf[256];
            sp_str_init(&list, lbuf, sizeof lbuf, SP_STR_NO_MAX);
            size_t kept = 0;
            for (size_t c = 0; c < n_names; c++) {
                if (!name_used(&p, names[c])) continue;
                if (kept++) sp_str_puts(&list, ", ");
                append_quoted(&list, names[c]);
            }
            if (!kept && n_names) append_quoted(&list, names[0]); /* nobody names any */
            const qry_token *star = &p.t[p.v[k]];
            if (!twins && n_names && kept < n_names && !sp_str_failed(&list))
                qry_edit_add(&ed, &n_ed, star->start, star->len, list.buf, list.len);
            sp_str_release(&list);
            char spec[128];
            size_t comma, rn, close;
            if (!twins && latest_ok &&
                latest_target(&p, k, first, last, names, n_names, spec, sizeof spec, &comma,
                              &rn, &close)) {
                const qry_token *tc = &p.t[p.v[comma]], *tr = &p.t[p.v[rn]],
                                *tx = &p.t[p.v[close]];
                sp_str w;
                char wbuf[256];
                sp_str_init(&w, wbuf, sizeof wbuf, SP_STR_NO_MAX);
                sp_str_puts(&w, ", 1 AS ");
                sp_str_append(&w, q->text + tr->start, tr->len);
                qry_edit_add(&ed, &n_ed, tc->start, tr->start + tr->len - tc->start, w.buf, w.len);
                sp_str_reset(&w);
                sp_str_appendf(&w, " WHERE \"%s\" = '%s'", QRY_LATEST_COLUMN, spec);
                qry_edit_add(&ed, &n_ed, tx->start, 0, w.buf, w.len);
                sp_str_release(&w);
            }
            for (size_t c = 0; c < n_names; c++) free(names[c]);
            free(names);
        }
    }
    bool changed = qry_sql_apply(q, ed, n_ed);
    free(p.t);
    free(p.v);
    free(p.depth);
    return changed;
}
