/* Rewrites the Athena syntax SQLite does not speak into SQL it does, token by token, and
 * remembers where each output token came from so SQLite's error offsets can be reported
 * against the text the user wrote:
 *   CAST(x AS timestamp)  -> qry_cast_timestamp(x)     (also date, and TRY_CAST)
 *   TRY_CAST(x AS bigint) -> CAST(x AS bigint)         (SQLite's CAST never fails)
 *   TIMESTAMP '...'       -> qry_cast_timestamp('...')  (also DATE '...')
 * Every other token passes through unchanged. */
#include "qry_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nesting of CAST( ... ) kept track of; deeper casts pass through unchanged. */
enum { CAST_DEPTH_MAX = 64 };

static bool word_is(const char *sql, const qry_token *t, const char *w)
{
    return t->kind == QRY_TK_WORD && strlen(w) == t->len && !strncasecmp(sql + t->start, w, t->len);
}

static bool fail_at(const char *sql, size_t pos, const char *what, sp_err *e)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && sql[i]; i++) {
        if (sql[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    sp_err_set(e, 400, "InvalidRequestException", "line %zu:%zu: %s", line, col, what);
    return false;
}

qry_token *qry_sql_tokenize(const char *sql, size_t *n_out, sp_err *e)
{
    size_t cap = 64, n = 0, i = 0, len = strlen(sql);
    qry_token *t = malloc(cap * sizeof *t);
    if (!t) abort();
    while (i < len) {
        if (n == cap) {
            cap *= 2;
            t = realloc(t, cap * sizeof *t);
            if (!t) abort();
        }
        size_t s = i;
        qry_tk_kind k;
        char c = sql[i];
        if (isspace((unsigned char)c)) {
            while (i < len && isspace((unsigned char)sql[i])) i++;
            k = QRY_TK_SPACE;
        } else if (c == '-' && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n') i++;
            k = QRY_TK_SPACE;
        } else if (c == '/' && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            if (!end) {
                free(t);
                fail_at(sql, s, "unterminated comment", e);
                return NULL;
            }
            i = (size_t)(end - sql) + 2;
            k = QRY_TK_SPACE;
        } else if (c == '\'' || c == '"' || c == '`') {
            char q = c;
            i++;
            for (;;) {
                if (i >= len) {
                    free(t);
                    fail_at(sql, s, q == '\'' ? "unterminated string literal"
                                              : "unterminated quoted identifier", e);
                    return NULL;
                }
                if (sql[i] == q) {
                    if (sql[i + 1] == q) {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            k = q == '\'' ? QRY_TK_STRING : QRY_TK_QUOTED;
        } else if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
            while (i < len && (isalnum((unsigned char)sql[i]) || sql[i] == '_' || sql[i] == '$' ||
                               (unsigned char)sql[i] >= 0x80))
                i++;
            k = QRY_TK_WORD;
        } else if (isdigit((unsigned char)c)) {
            while (i < len && (isalnum((unsigned char)sql[i]) || sql[i] == '.')) i++;
            k = QRY_TK_OTHER;
        } else {
            i++;
            k = QRY_TK_PUNCT;
        }
        t[n++] = (qry_token){.kind = k, .start = s, .len = i - s};
    }
    *n_out = n;
    return t;
}

/* Index of the next non-space token after i, or n. */
static size_t next_tok(const qry_token *t, size_t n, size_t i)
{
    for (i++; i < n && t[i].kind == QRY_TK_SPACE; i++) {}
    return i;
}

static bool punct_is(const char *sql, const qry_token *t, char c)
{
    return t->kind == QRY_TK_PUNCT && sql[t->start] == c;
}

static void rewrite_casts(const char *sql, qry_token *t, size_t n)
{
    struct {
        size_t cast_tok;   /* the CAST / TRY_CAST word */
        int depth;         /* paren depth inside the cast's '(' */
    } stack[CAST_DEPTH_MAX];
    size_t top = 0;
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind == QRY_TK_SPACE) continue;
        if ((word_is(sql, &t[i], "cast") || word_is(sql, &t[i], "try_cast"))) {
            size_t j = next_tok(t, n, i);
            if (j < n && punct_is(sql, &t[j], '(') && top < CAST_DEPTH_MAX) {
                stack[top].cast_tok = i;
                stack[top].depth = depth + 1;
                top++;
                if (word_is(sql, &t[i], "try_cast")) t[i].repl = "CAST";
            }
            continue;
        }
        if (punct_is(sql, &t[i], '(')) depth++;
        if (punct_is(sql, &t[i], ')')) {
            if (top && stack[top - 1].depth == depth) top--;
            depth--;
        }
        if (top && depth == stack[top - 1].depth && word_is(sql, &t[i], "as")) {
            size_t ty = next_tok(t, n, i), close = ty < n ? next_tok(t, n, ty) : n;
            if (close < n && punct_is(sql, &t[close], ')')) {
                const char *fn = word_is(sql, &t[ty], "timestamp") ? "qry_cast_timestamp"
                                 : word_is(sql, &t[ty], "date")    ? "qry_cast_date"
                                                                   : NULL;
                if (fn) {
                    t[stack[top - 1].cast_tok].repl = fn;
                    for (size_t k = i; k < close; k++) t[k].repl = "";
                    for (size_t k = i; k > 0 && t[k - 1].kind == QRY_TK_SPACE; k--) t[k - 1].repl = "";
                }
            }
        }
    }
}

static void rewrite_literals(const char *sql, qry_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *fn = word_is(sql, &t[i], "timestamp") ? "qry_cast_timestamp("
                         : word_is(sql, &t[i], "date")    ? "qry_cast_date("
                                                          : NULL;
        if (!fn || t[i].repl) continue;
        size_t j = next_tok(t, n, i);
        if (j < n && t[j].kind == QRY_TK_STRING) {
            t[i].repl = fn;
            for (size_t k = i + 1; k < j; k++) t[k].repl = "";
            t[j].close_after = true;
        }
    }
}

bool qry_sql_rewrite(const char *sql, qry_sql *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    size_t n;
    qry_token *t = qry_sql_tokenize(sql, &n, e);
    if (!t) return false;
    rewrite_casts(sql, t, n);
    rewrite_literals(sql, t, n);
    sp_str s;
    char buf[1024];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    out->map_out = malloc((n + 1) * sizeof *out->map_out);
    out->map_in = malloc((n + 1) * sizeof *out->map_in);
    if (!out->map_out || !out->map_in) abort();
    for (size_t i = 0; i < n; i++) {
        out->map_out[out->n_map] = s.len;
        out->map_in[out->n_map++] = t[i].start;
        if (t[i].repl)
            sp_str_puts(&s, t[i].repl);
        else
            sp_str_append(&s, sql + t[i].start, t[i].len);
        if (t[i].close_after) sp_str_putc(&s, ')');
    }
    free(t);
    out->text = sp_str_finish(&s, NULL);
    if (!out->text) {
        qry_sql_clear(out);
        sp_err_internal(e, "out of memory rewriting the query");
        return false;
    }
    return true;
}

size_t qry_sql_original_offset(const qry_sql *q, size_t offset)
{
    size_t lo = 0;
    for (size_t i = 0; i < q->n_map; i++)
        if (q->map_out[i] <= offset) lo = i;
    if (!q->n_map) return offset;
    return q->map_in[lo] + (offset - q->map_out[lo]);
}

void qry_sql_clear(qry_sql *q)
{
    free(q->text);
    free(q->map_out);
    free(q->map_in);
    memset(q, 0, sizeof *q);
}

/* ---- reading tokens (for the rewrites) ---------------------------------------------------- */

bool qry_tv_word(qry_tokview tv, size_t k, const char *w)
{
    if (k >= tv.nv) return false;
    const qry_token *t = &tv.t[tv.v[k]];
    return t->kind == QRY_TK_WORD && strlen(w) == t->len &&
           !strncasecmp(tv.sql + t->start, w, t->len);
}

bool qry_tv_punct(qry_tokview tv, size_t k, char c)
{
    if (k >= tv.nv) return false;
    const qry_token *t = &tv.t[tv.v[k]];
    return t->kind == QRY_TK_PUNCT && tv.sql[t->start] == c;
}

bool qry_tv_ident(qry_tokview tv, size_t k)
{
    return k < tv.nv && (tv.t[tv.v[k]].kind == QRY_TK_WORD ||
                         tv.t[tv.v[k]].kind == QRY_TK_QUOTED);
}

char *qry_tv_unquoted(qry_tokview tv, size_t k)
{
    const qry_token *t = &tv.t[tv.v[k]];
    const char *s = tv.sql + t->start;
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

bool qry_spec_index(const char **p, size_t n_columns, size_t *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9') return false;
    size_t v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (size_t)(*s - '0');
        if (v >= n_columns) return false;
        s++;
    }
    *out = v;
    *p = s;
    return true;
}
