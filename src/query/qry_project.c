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
 * narrowed statement with the original's and keeps the original on any difference. */
#include "qry_int.h"

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

static bool is_word(const proj *p, size_t k, const char *w)
{
    if (k >= p->nv) return false;
    const qry_token *t = &p->t[p->v[k]];
    return t->kind == QRY_TK_WORD && strlen(w) == t->len && !strncasecmp(p->sql + t->start, w,
                                                                          t->len);
}

static bool is_punct(const proj *p, size_t k, char c)
{
    if (k >= p->nv) return false;
    const qry_token *t = &p->t[p->v[k]];
    return t->kind == QRY_TK_PUNCT && p->sql[t->start] == c;
}

static bool is_ident(const proj *p, size_t k)
{
    return k < p->nv && (p->t[p->v[k]].kind == QRY_TK_WORD ||
                         p->t[p->v[k]].kind == QRY_TK_QUOTED);
}

/* The identifier or string of token k without its quotes (heap). */
static char *unquoted(const proj *p, size_t k)
{
    const qry_token *t = &p->t[p->v[k]];
    const char *s = p->sql + t->start;
    if (t->kind == QRY_TK_WORD || t->len < 2) return strndup(s, t->len);
    char q = s[0], *out = malloc(t->len), *o = out;
    if (!out) abort();
    for (size_t i = 1; i + 1 < t->len; i++) {
        *o++ = s[i];
        if (s[i] == q && s[i + 1] == q) i++;
    }
    *o = '\0';
    return out;
}

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
    bool changed = false;
    sp_str out;
    char buf[1024];
    sp_str_init(&out, buf, sizeof buf, SP_STR_NO_MAX);
    size_t copied = 0;                 /* q->text before this offset is in out */
    size_t *shift_at = NULL, n_shift = 0;
    long *shift_by = NULL;
    if (depth == 0 && statement_allows(&p)) {
        for (size_t k = 0; k < p.nv; k++) {
            size_t first, last;
            if (!window_target(&p, k, &first, &last)) continue;
            const qry_token *a = &p.t[p.v[first]], *b = &p.t[p.v[last]];
            char *ref = strndup(q->text + a->start, b->start + b->len - a->start);
            char **names = NULL;
            size_t n_names = 0;
            if (!ref) abort();
            bool known = columns(arg, ref, &names, &n_names);
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
            if (!twins && n_names && kept < n_names && !sp_str_failed(&list)) {
                const qry_token *star = &p.t[p.v[k]];
                sp_str_append(&out, q->text + copied, star->start - copied);
                sp_str_append(&out, list.buf, list.len);
                copied = star->start + star->len;
                shift_at = realloc(shift_at, (n_shift + 1) * sizeof *shift_at);
                shift_by = realloc(shift_by, (n_shift + 1) * sizeof *shift_by);
                if (!shift_at || !shift_by) abort();
                shift_at[n_shift] = star->start;
                shift_by[n_shift++] = (long)list.len - (long)star->len;
                changed = true;
            }
            sp_str_release(&list);
            for (size_t c = 0; c < n_names; c++) free(names[c]);
            free(names);
        }
    }
    if (changed) {
        sp_str_puts(&out, q->text + copied);
        char *text = sp_str_finish(&out, NULL);
        if (!text) {
            changed = false;
        } else {
            /* map_out offsets after an edit move by what the edits before them added */
            for (size_t m = 0; m < q->n_map; m++) {
                long add = 0;
                for (size_t s = 0; s < n_shift; s++)
                    if (shift_at[s] < q->map_out[m]) add += shift_by[s];
                q->map_out[m] = (size_t)((long)q->map_out[m] + add);
            }
            free(q->text);
            q->text = text;
        }
    } else {
        sp_str_release(&out);
    }
    free(shift_at);
    free(shift_by);
    free(p.t);
    free(p.v);
    free(p.depth);
    return changed;
}
