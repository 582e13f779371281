/* GetPartitions' Expression: the Hive/Glue partition filter, a SQL WHERE clause over the
 * partition keys. Grammar (keywords case-insensitive):
 *
 *   expr    := and (OR and)*
 *   and     := not (AND not)*
 *   not     := NOT not | '(' expr ')' | cond
 *   cond    := key op literal | key [NOT] LIKE 'pattern'
 *            | key [NOT] IN '(' literal (',' literal)* ')'
 *            | key [NOT] BETWEEN literal AND literal | key IS [NOT] NULL
 *   op      := = | <> | != | < | > | <= | >=
 *   literal := 'text with '' doubled' | [-+]digits[.digits][e[-+]digits]
 *
 * Comparisons are typed by the key's declared type, as Glue does: integral types (int,
 * bigint, long, smallint, tinyint) compare as integers, decimal/double/float as numbers,
 * date (YYYY-MM-DD) and timestamp (YYYY-MM-DD HH:MM:SS[.fffffffff]) in time order, string,
 * char and varchar as bytes. A literal that is not of the key's type, an unknown key, LIKE
 * on a non-string key and anything that does not parse are refused with
 * InvalidInputException when the expression is compiled; a stored partition value that is
 * not of its key's type matches no comparison.
 *
 * The parser is recursive descent with a nesting limit, over at most CAT_PEXPR_MAX bytes;
 * the compiled form is a flat node array. */
#include "cat_int.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { TY_STRING, TY_INT, TY_NUMBER, TY_DATE, TY_TIMESTAMP } val_type;

typedef struct pval {
    int64_t i;
    double d;
    char *s;      /* TY_STRING, TY_DATE, TY_TIMESTAMP: canonical text that orders as bytes */
} pval;

typedef enum { N_AND, N_OR, N_NOT, N_CMP, N_LIKE, N_IN, N_BETWEEN, N_ISNULL } node_kind;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE } cmp_op;

typedef struct pnode {
    node_kind kind;
    size_t a, b;           /* children (AND/OR: a, b; NOT: a) */
    size_t key;            /* CMP..ISNULL */
    cmp_op op;
    bool negate;           /* NOT LIKE / NOT IN / NOT BETWEEN / IS NOT NULL */
    pval *vals;            /* CMP 1, BETWEEN 2, IN n, LIKE 1 (pattern text in s) */
    size_t n_vals;
} pnode;

struct cat_pexpr {
    pnode *nodes;
    size_t n_nodes, cap_nodes;
    size_t root;
    size_t n_keys;
    val_type *types;
};

/* 400 InvalidInputException, as Glue refuses an expression. */
static void glue_expr_invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
static void glue_expr_invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "InvalidInputException", fmt, ap);
    va_end(ap);
}

/* ---- lexer ------------------------------------------------------------------------------ */

typedef enum { T_END, T_IDENT, T_STRING, T_NUMBER, T_LPAREN, T_RPAREN, T_COMMA, T_OP } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t pos, len;       /* in the expression text */
    cmp_op op;
} tok;

typedef struct parser {
    const char *text;
    size_t len, pos;
    tok t;                 /* current token */
    unsigned depth;
    const cat_column *keys;
    size_t n_keys;
    cat_pexpr *x;
    sp_err *e;
} parser;

static bool fail(parser *p, const char *what)
{
    if (!sp_err_failed(p->e)) {
        if (p->t.kind == T_END)
            glue_expr_invalid(p->e, "Unsupported expression: %s at the end of the expression",
                              what);
        else
            glue_expr_invalid(p->e, "Unsupported expression: %s at character %zu ('%.*s')", what,
                              p->t.pos + 1, (int)(p->t.len > 40 ? 40 : p->t.len),
                              p->text + p->t.pos);
    }
    return false;
}

static bool next(parser *p)
{
    const char *s = p->text;
    while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\r' ||
                               s[p->pos] == '\n'))
        p->pos++;
    tok t = {.pos = p->pos};
    if (p->pos >= p->len) {
        t.kind = T_END;
        p->t = t;
        return true;
    }
    char c = s[p->pos];
    size_t i = p->pos;
    if (isalpha((unsigned char)c) || c == '_') {
        while (i < p->len && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
        t.kind = T_IDENT;
    } else if (c == '\'') {
        for (i++;; i++) {
            if (i >= p->len) {
                p->t = t;
                p->t.len = p->len - t.pos;
                return fail(p, "unterminated string literal");
            }
            if (s[i] == '\'') {
                if (i + 1 < p->len && s[i + 1] == '\'') {
                    i++;
                    continue;
                }
                i++;
                break;
            }
        }
        t.kind = T_STRING;
    } else if (isdigit((unsigned char)c) || ((c == '-' || c == '+' || c == '.') && i + 1 < p->len &&
                                              (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.'))) {
        if (c == '-' || c == '+') i++;
        while (i < p->len && isdigit((unsigned char)s[i])) i++;
        if (i < p->len && s[i] == '.') i++;
        while (i < p->len && isdigit((unsigned char)s[i])) i++;
        if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < p->len && (s[j] == '-' || s[j] == '+')) j++;
            if (j < p->len && isdigit((unsigned char)s[j])) {
                i = j;
                while (i < p->len && isdigit((unsigned char)s[i])) i++;
            }
        }
        t.kind = T_NUMBER;
        if (i < p->len && (isalpha((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')) {
            p->t = t;
            p->t.len = i + 1 - t.pos;
            return fail(p, "malformed number");
        }
    } else if (c == '(' || c == ')' || c == ',') {
        i++;
        t.kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        char d = i + 1 < p->len ? s[i + 1] : '\0';
        t.kind = T_OP;
        if (c == '=') t.op = OP_EQ, i += 1;
        else if (c == '<' && d == '>') t.op = OP_NE, i += 2;
        else if (c == '<' && d == '=') t.op = OP_LE, i += 2;
        else if (c == '<') t.op = OP_LT, i += 1;
        else if (c == '>' && d == '=') t.op = OP_GE, i += 2;
        else if (c == '>') t.op = OP_GT, i += 1;
        else if (c == '!' && d == '=') t.op = OP_NE, i += 2;
        else {
            p->t = t;
            p->t.len = 1;
            return fail(p, "unexpected character");
        }
    } else {
        p->t = t;
        p->t.len = 1;
        return fail(p, "unexpected character");
    }
    t.len = i - t.pos;
    p->pos = i;
    p->t = t;
    return true;
}

static bool is_kw(const parser *p, const char *kw)
{
    size_t n = strlen(kw);
    return p->t.kind == T_IDENT && p->t.len == n && !strncasecmp(p->text + p->t.pos, kw, n);
}

static bool accept_kw(parser *p, const char *kw) { return is_kw(p, kw) && next(p); }

/* ---- typed values ----------------------------------------------------------------------- */

/* The comparison type of a Glue type name; false if partition filtering has none for it. */
static bool type_of(const char *glue, val_type *out)
{
    static const struct { const char *name; val_type t; bool prefix; } map[] = {
        {"string", TY_STRING, false},  {"char(", TY_STRING, true},   {"varchar(", TY_STRING, true},
        {"varchar", TY_STRING, false}, {"char", TY_STRING, false},   {"int", TY_INT, false},
        {"integer", TY_INT, false},    {"bigint", TY_INT, false},    {"long", TY_INT, false},
        {"smallint", TY_INT, false},   {"tinyint", TY_INT, false},   {"decimal", TY_NUMBER, false},
        {"decimal(", TY_NUMBER, true}, {"double", TY_NUMBER, false}, {"float", TY_NUMBER, false},
        {"date", TY_DATE, false},      {"timestamp", TY_TIMESTAMP, false},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(map); i++) {
        size_t n = strlen(map[i].name);
        if (map[i].prefix ? !strncasecmp(glue, map[i].name, n) : !strcasecmp(glue, map[i].name)) {
            *out = map[i].t;
            return true;
        }
    }
    return false;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static bool valid_date(const char *s)
{
    if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = atoi(s), m = num2(s + 5), d = num2(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1]) return false;
    return !(m == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)));
}

/* text converted to the type into v (v->s new); false if it is not a value of the type. */
static bool cast(val_type ty, const char *text, pval *v)
{
    memset(v, 0, sizeof *v);
    char *end;
    errno = 0;
    switch (ty) {
    case TY_STRING:
        v->s = strdup(text);
        return true;
    case TY_INT:
        v->i = strtoll(text, &end, 10);
        return *text && !isspace((unsigned char)*text) && *end == '\0' && errno == 0;
    case TY_NUMBER:
        v->d = strtod(text, &end);
        return *text && !isspace((unsigned char)*text) && *end == '\0' && errno == 0 &&
               isfinite(v->d) && strncasecmp(text, "0x", 2) && strncasecmp(text, "-0x", 3);
    case TY_DATE:
        if (strlen(text) != 10 || !valid_date(text)) return false;
        v->s = strdup(text);
        return true;
    case TY_TIMESTAMP: {
        size_t n = strlen(text);
        if (n < 19 || !valid_date(text) || text[10] != ' ' || !digits(text + 11, 2) ||
            text[13] != ':' || !digits(text + 14, 2) || text[16] != ':' || !digits(text + 17, 2) ||
            num2(text + 11) > 23 || num2(text + 14) > 59 || num2(text + 17) > 59)
            return false;
        size_t frac = 0;
        if (n > 19) {
            frac = n - 20;
            if (text[19] != '.' || frac < 1 || frac > 9 || !digits(text + 20, frac)) return false;
        }
        /* fraction padded to nanoseconds, so the text orders as the time does */
        enum { TS_LEN = 19 + 1 + 9 };
        v->s = malloc(TS_LEN + 1);
        if (!v->s) abort();
        memcpy(v->s, text, 19);
        v->s[19] = '.';
        memcpy(v->s + 20, frac ? text + 20 : "", frac);
        memset(v->s + 20 + frac, '0', 9 - frac);
        v->s[TS_LEN] = '\0';
        return true;
    }
    }
    return false;
}

static void pval_clear(pval *v)
{
    free(v->s);
    v->s = NULL;
}

static int compare(val_type ty, const pval *a, const pval *b)
{
    switch (ty) {
    case TY_INT: return (a->i > b->i) - (a->i < b->i);
    case TY_NUMBER: return (a->d > b->d) - (a->d < b->d);
    default: return strcmp(a->s, b->s);
    }
}

/* SQL LIKE: '%' any run, '_' one character (bytes); linear backtracking on the last '%'. */
static bool like(const char *s, const char *pat)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '%') {
            star = pat++;
            resume = s;
        } else if (*pat == '_' || (*pat && *pat == *s)) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '%') pat++;
    return *pat == '\0';
}

/* ---- parser ----------------------------------------------------------------------------- */

static size_t node_add(parser *p, pnode n)
{
    cat_pexpr *x = p->x;
    if (x->n_nodes == x->cap_nodes) {
        x->cap_nodes = x->cap_nodes ? x->cap_nodes * 2 : 16;
        x->nodes = realloc(x->nodes, x->cap_nodes * sizeof *x->nodes);
        if (!x->nodes) abort();
    }
    x->nodes[x->n_nodes] = n;
    return x->n_nodes++;
}

/* The current literal token as text (quotes removed, '' undoubled); caller frees. */
static char *literal_text(parser *p)
{
    if (p->t.kind == T_NUMBER) return strndup(p->text + p->t.pos, p->t.len);
    if (p->t.kind != T_STRING) return NULL;
    char *out = malloc(p->t.len);
    if (!out) abort();
    size_t o = 0;
    for (size_t i = p->t.pos + 1; i + 1 < p->t.pos + p->t.len; i++) {
        out[o++] = p->text[i];
        if (p->text[i] == '\'') i++;
    }
    out[o] = '\0';
    return out;
}

static const char *type_word(val_type ty)
{
    switch (ty) {
    case TY_INT: return "an integer";
    case TY_NUMBER: return "a decimal";
    case TY_DATE: return "a date (yyyy-mm-dd)";
    case TY_TIMESTAMP: return "a timestamp (yyyy-mm-dd hh:mm:ss[.fffffffff])";
    default: return "a string";
    }
}

/* Reads one literal for key into v. */
static bool literal(parser *p, size_t key, pval *v)
{
    char *text = literal_text(p);
    if (!text) return fail(p, "expected a string or number literal");
    val_type ty = p->x->types[key];
    bool ok = cast(ty, text, v);
    if (!ok) {
        pval_clear(v);
        glue_expr_invalid(p->e, "'%.60s' is not %s, the type of partition key '%s'", text,
                          type_word(ty), p->keys[key].name);
    }
    free(text);
    return ok && next(p);
}

static bool cond(parser *p, size_t *out)
{
    if (p->t.kind != T_IDENT) return fail(p, "expected a partition key");
    size_t key = SIZE_MAX;
    for (size_t i = 0; i < p->n_keys && key == SIZE_MAX; i++)
        if (strlen(p->keys[i].name) == p->t.len &&
            !strncasecmp(p->keys[i].name, p->text + p->t.pos, p->t.len))
            key = i;
    if (key == SIZE_MAX) {
        glue_expr_invalid(p->e, "Unknown column '%.*s'", (int)(p->t.len > 255 ? 255 : p->t.len),
                          p->text + p->t.pos);
        return false;
    }
    if (!type_of(p->keys[key].type, &p->x->types[key])) {
        glue_expr_invalid(p->e, "Unknown type : '%s' of partition key '%s'", p->keys[key].type,
                          p->keys[key].name);
        return false;
    }
    if (!next(p)) return false;
    pnode n = {.key = key};
    val_type ty = p->x->types[key];
    if (accept_kw(p, "IS")) {
        n.kind = N_ISNULL;
        n.negate = accept_kw(p, "NOT");
        if (!accept_kw(p, "NULL")) return fail(p, "expected NULL after IS");
        *out = node_add(p, n);
        return true;
    }
    if (p->t.kind == T_OP) {
        n.kind = N_CMP;
        n.op = p->t.op;
        if (!next(p)) return false;
        n.vals = calloc(1, sizeof *n.vals);
        if (!n.vals) abort();
        n.n_vals = 1;
        *out = node_add(p, n); /* owned by the expression from here, also on failure */
        return literal(p, key, &p->x->nodes[*out].vals[0]);
    }
    n.negate = accept_kw(p, "NOT");
    if (is_kw(p, "LIKE")) {
        if (ty != TY_STRING) {
            glue_expr_invalid(p->e, "%s data type doesn't support operation 'LIKE' (partition "
                                    "key '%s')",
                              ty == TY_INT ? "Integral" : ty == TY_NUMBER ? "Decimal"
                              : ty == TY_DATE ? "Date" : "Timestamp",
                              p->keys[key].name);
            return false;
        }
        if (!next(p)) return false;
        if (p->t.kind != T_STRING) return fail(p, "LIKE needs a string pattern");
        n.kind = N_LIKE;
        n.vals = calloc(1, sizeof *n.vals);
        if (!n.vals) abort();
        n.n_vals = 1;
        *out = node_add(p, n);
        return literal(p, key, &p->x->nodes[*out].vals[0]);
    }
    if (is_kw(p, "IN")) {
        if (!next(p)) return false;
        if (p->t.kind != T_LPAREN) return fail(p, "expected '(' after IN");
        n.kind = N_IN;
        *out = node_add(p, n);
        do {
            if (!next(p)) return false;
            pnode *in = &p->x->nodes[*out];
            in->vals = realloc(in->vals, (in->n_vals + 1) * sizeof *in->vals);
            if (!in->vals) abort();
            memset(&in->vals[in->n_vals], 0, sizeof in->vals[0]);
            in->n_vals++;
            if (!literal(p, key, &in->vals[in->n_vals - 1])) return false;
        } while (p->t.kind == T_COMMA);
        if (p->t.kind != T_RPAREN) return fail(p, "expected ',' or ')' in the IN list");
        return next(p);
    }
    if (is_kw(p, "BETWEEN")) {
        if (!next(p)) return false;
        n.kind = N_BETWEEN;
        n.vals = calloc(2, sizeof *n.vals);
        if (!n.vals) abort();
        n.n_vals = 2;
        *out = node_add(p, n);
        if (!literal(p, key, &p->x->nodes[*out].vals[0])) return false;
        if (!accept_kw(p, "AND")) return fail(p, "expected AND in BETWEEN");
        return literal(p, key, &p->x->nodes[*out].vals[1]);
    }
    return fail(p, n.negate ? "expected LIKE, IN or BETWEEN after NOT"
                            : "expected a comparison operator, LIKE, IN, BETWEEN or IS");
}

static bool expr(parser *p, size_t *out);

static bool unary(parser *p, size_t *out)
{
    if (++p->depth > CAT_PEXPR_DEPTH_MAX) {
        glue_expr_invalid(p->e, "Unsupported expression: nested deeper than %d levels",
                          CAT_PEXPR_DEPTH_MAX);
        return false;
    }
    bool ok;
    if (is_kw(p, "NOT")) {
        size_t a;
        ok = next(p) && unary(p, &a);
        if (ok) *out = node_add(p, (pnode){.kind = N_NOT, .a = a});
    } else if (p->t.kind == T_LPAREN) {
        ok = next(p) && expr(p, out);
        if (ok && p->t.kind != T_RPAREN) ok = fail(p, "expected ')'");
        ok = ok && next(p);
    } else {
        ok = cond(p, out);
    }
    p->depth--;
    return ok;
}

static bool conj_expr(parser *p, size_t *out)
{
    if (!unary(p, out)) return false;
    while (is_kw(p, "AND")) {
        size_t b;
        if (!next(p) || !unary(p, &b)) return false;
        *out = node_add(p, (pnode){.kind = N_AND, .a = *out, .b = b});
    }
    return true;
}

static bool expr(parser *p, size_t *out)
{
    if (!conj_expr(p, out)) return false;
    while (is_kw(p, "OR")) {
        size_t b;
        if (!next(p) || !conj_expr(p, &b)) return false;
        *out = node_add(p, (pnode){.kind = N_OR, .a = *out, .b = b});
    }
    return true;
}

cat_pexpr *cat_pexpr_parse(const char *text, const cat_column *keys, size_t n_keys, sp_err *e)
{
    size_t len = strlen(text);
    if (len > CAT_PEXPR_MAX) {
        glue_expr_invalid(e, "Expression is longer than %d characters", CAT_PEXPR_MAX);
        return NULL;
    }
    cat_pexpr *x = calloc(1, sizeof *x);
    if (!x) abort();
    x->n_keys = n_keys;
    x->types = calloc(n_keys + 1, sizeof *x->types);
    if (!x->types) abort();
    parser p = {.text = text, .len = len, .keys = keys, .n_keys = n_keys, .x = x, .e = e};
    bool ok = next(&p) && expr(&p, &x->root);
    if (ok && p.t.kind != T_END) ok = fail(&p, "unexpected text after the expression");
    if (!ok) {
        cat_pexpr_destroy(x);
        return NULL;
    }
    return x;
}

void cat_pexpr_destroy(cat_pexpr *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->n_nodes; i++) {
        for (size_t k = 0; k < x->nodes[i].n_vals; k++) pval_clear(&x->nodes[i].vals[k]);
        free(x->nodes[i].vals);
    }
    free(x->nodes);
    free(x->types);
    free(x);
}

/* ---- evaluation ------------------------------------------------------------------------- */

static bool eval(const cat_pexpr *x, size_t i, const char *const *values, size_t n_values)
{
    const pnode *n = &x->nodes[i];
    switch (n->kind) {
    case N_AND: return eval(x, n->a, values, n_values) && eval(x, n->b, values, n_values);
    case N_OR: return eval(x, n->a, values, n_values) || eval(x, n->b, values, n_values);
    case N_NOT: return !eval(x, n->a, values, n_values);
    case N_ISNULL: return (n->key >= n_values || !values[n->key]) != n->negate;
    default: break;
    }
    if (n->key >= n_values || !values[n->key]) return false; /* NULL: unknown, not a match */
    val_type ty = x->types[n->key];
    pval v;
    if (!cast(ty, values[n->key], &v)) {
        pval_clear(&v);
        return false;
    }
    bool r = false;
    switch (n->kind) {
    case N_CMP: {
        int c = compare(ty, &v, &n->vals[0]);
        switch (n->op) {
        case OP_EQ: r = c == 0; break;
        case OP_NE: r = c != 0; break;
        case OP_LT: r = c < 0; break;
        case OP_GT: r = c > 0; break;
        case OP_LE: r = c <= 0; break;
        case OP_GE: r = c >= 0; break;
        }
        break;
    }
    case N_LIKE: r = like(v.s, n->vals[0].s) != n->negate; break;
    case N_IN:
        for (size_t k = 0; k < n->n_vals && !r; k++) r = compare(ty, &v, &n->vals[k]) == 0;
        r = r != n->negate;
        break;
    case N_BETWEEN:
        r = (compare(ty, &v, &n->vals[0]) >= 0 && compare(ty, &v, &n->vals[1]) <= 0) != n->negate;
        break;
    default: break;
    }
    pval_clear(&v);
    return r;
}

bool cat_pexpr_match(const cat_pexpr *x, const char *const *values, size_t n_values)
{
    assert(x->n_nodes > 0);
    return eval(x, x->root, values, n_values);
}
