/* Lexer and recursive-descent parser for DynamoDB expressions.
 *
 * The text is cut into tokens first (with each parenthesis paired to its partner), then
 * parsed by one function per grammar level: OR < AND < NOT < comparison/BETWEEN/IN/function,
 * operands (paths, :values, size/if_not_exists/list_append, + and -), and the update
 * clauses SET/REMOVE/ADD/DELETE. A syntax error stops the parse at once and is reported
 * with the offending token and its neighbours as DynamoDB does; semantic problems (unknown
 * #name, reserved word, wrong operand type, overlapping paths...) are recorded, the first
 * one wins, and reported after the text has been parsed.
 */
#include "table/expr_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_EOF, T_IDENT, T_NAME, T_VALUE, T_INT, T_LP, T_RP, T_LB, T_RB, T_DOT, T_COMMA,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS, T_BAD,
} t_type;

typedef struct tok {
    t_type type;
    size_t start, len;
    long match;            /* T_LP/T_RP: index of the partner, -1 if unpaired */
} tok;

enum {
    IN_MAX_OPERANDS = 100,   /* DynamoDB: IN takes at most 100 values */
    FN_MAX_ARGS = 8,         /* more than any function takes; the count is still reported */
};

typedef enum {
    SEM_PRE,            /* a value that is not an attribute value at all */
    SEM_PARENS, SEM_UNKNOWN_FN, SEM_MISUSED_FN, SEM_RESERVED, SEM_SECTION,
    SEM_ATTR_NAME, SEM_ATTR_VAL, SEM_OVERLAP, SEM_CONFLICT, SEM_OPERAND, SEM_DISTINCT,
    SEM_FUNCTION,       /* operand types, document paths, BETWEEN bounds, type names */
    SEM_CONDITION,      /* the first condition with a problem: its name/value, operand,
                         * distinct or function problem, in that order (p_condition_done) */
    SEM_COUNT,
    SEM_NAME_OR_VAL     /* pseudo: whichever of ATTR_NAME / ATTR_VAL came first */
} sem_kind;

typedef struct parser {
    tbl_expr *x;
    const char *text;
    tok *toks;
    size_t ntoks, pos;
    const json_t *names, *values;
    tbl_expr_usage *usage;
    int depth;
    bool syntax;           /* a syntax error stopped the parse (at token pos) */
    bool hard;             /* any error stopped the parse */
    bool prefix;           /* message gets "Invalid <Kind>: " */
    char msg[SP_ERR_MSG_MAX];
    /* Semantic problems, the first of each kind; DynamoDB reports the kind that comes first
     * in its order for the expression's kind (p_semantic_pick), not the first found. */
    char sem[SEM_COUNT][SP_ERR_MSG_MAX];
    bool sem_prefix[SEM_COUNT];
    int sem_seq[SEM_COUNT];
    int nsem;
} parser;

/* ---- lexer -------------------------------------------------------------------------- */

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_ident_part(char c) { return isalnum((unsigned char)c) || c == '_'; }

static size_t utf8_len(unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* Returns the token array (malloc'd, caller frees) ending with T_EOF, or NULL (no memory). */
static tok *lex(const char *s, size_t *ntoks)
{
    size_t n = strlen(s), cap = n + 2, count = 0;
    tok *t = calloc(cap, sizeof *t);
    long *stack = malloc(cap * sizeof *stack);
    size_t depth = 0, i = 0;
    if (!t || !stack) { free(t); free(stack); return NULL; }
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
        tok *k = &t[count];
        k->start = i;
        k->match = -1;
        if (i >= n) { k->type = T_EOF; count++; break; }
        char c = s[i];
        size_t j = i + 1;
        if (is_ident_start(c)) {
            while (j < n && is_ident_part(s[j])) j++;
            k->type = T_IDENT;
        } else if (c == '#' || c == ':') {
            while (j < n && is_ident_part(s[j])) j++;
            k->type = j == i + 1 ? T_BAD : c == '#' ? T_NAME : T_VALUE;
        } else if (isdigit((unsigned char)c)) {
            while (j < n && isdigit((unsigned char)s[j])) j++;
            k->type = T_INT;
        } else if (c == '<' && j < n && s[j] == '=') { k->type = T_LE; j++; }
        else if (c == '<' && j < n && s[j] == '>') { k->type = T_NE; j++; }
        else if (c == '>' && j < n && s[j] == '=') { k->type = T_GE; j++; }
        else {
            switch (c) {
            case '(': k->type = T_LP; stack[depth++] = (long)count; break;
            case ')':
                k->type = T_RP;
                if (depth > 0) {
                    k->match = stack[--depth];
                    t[k->match].match = (long)count;
                }
                break;
            case '[': k->type = T_LB; break;
            case ']': k->type = T_RB; break;
            case '.': k->type = T_DOT; break;
            case ',': k->type = T_COMMA; break;
            case '=': k->type = T_EQ; break;
            case '<': k->type = T_LT; break;
            case '>': k->type = T_GT; break;
            case '+': k->type = T_PLUS; break;
            case '-': k->type = T_MINUS; break;
            default:
                k->type = T_BAD;
                j = i + utf8_len((unsigned char)c);
                if (j > n) j = n;
            }
        }
        k->len = j - i;
        i = j;
        count++;
    }
    free(stack);
    *ntoks = count;
    return t;
}

/* ---- error recording ---------------------------------------------------------------- */

static void *p_fail_syntax(parser *P)
{
    if (P->hard) return NULL;
    P->hard = P->syntax = P->prefix = true;
    const tok *k = &P->toks[P->pos];
    const tok *from = P->pos > 0 ? &P->toks[P->pos - 1] : k;
    const tok *to = k->type == T_EOF ? k : &P->toks[P->pos + 1];
    size_t near_end = to->type == T_EOF ? strlen(P->text) : to->start + to->len;
    if (k->type == T_EOF)
        snprintf(P->msg, sizeof P->msg, "Syntax error; token: \"<EOF>\", near: \"%.*s\"",
                 (int)(near_end - from->start), P->text + from->start);
    else
        snprintf(P->msg, sizeof P->msg, "Syntax error; token: \"%.*s\", near: \"%.*s\"",
                 (int)k->len, P->text + k->start, (int)(near_end - from->start),
                 P->text + from->start);
    return NULL;
}

static sem_kind sem_classify(const char *msg, bool prefix)
{
    static const struct { const char *start; sem_kind k; } KINDS[] = {
        {"The expression has redundant parentheses", SEM_PARENS},
        {"Invalid function name", SEM_UNKNOWN_FN},
        {"The function is not allowed to be used this way", SEM_MISUSED_FN},
        {"Attribute name is a reserved keyword", SEM_RESERVED},
        {"An expression attribute name used", SEM_ATTR_NAME},
        {"An expression attribute value used", SEM_ATTR_VAL},
        {"Two document paths overlap", SEM_OVERLAP},
        {"Two document paths conflict", SEM_CONFLICT},
        {"Incorrect number of operands", SEM_OPERAND},
        {"The first operand must be distinct", SEM_DISTINCT},
    };
    if (!prefix) return SEM_PRE;
    if (!strncmp(msg, "The \"", 5) && strstr(msg, "section can only be used once"))
        return SEM_SECTION;
    for (size_t i = 0; i < SP_ARRAY_LEN(KINDS); i++)
        if (!strncmp(msg, KINDS[i].start, strlen(KINDS[i].start))) return KINDS[i].k;
    return SEM_FUNCTION;
}

/* Records a semantic problem: the first of its kind is kept (after a hard error, none). */
static void p_semantic(parser *P, bool prefix, const char *fmt, ...) SP_PRINTF(3, 4);
static void p_semantic(parser *P, bool prefix, const char *fmt, ...)
{
    if (P->hard) return;
    char buf[SP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sem_kind k = sem_classify(buf, prefix);
    if (P->sem[k][0]) return;
    memcpy(P->sem[k], buf, sizeof buf);
    P->sem_prefix[k] = prefix;
    P->sem_seq[k] = ++P->nsem;
    if (!P->msg[0]) {     /* something is wrong: callers test P->msg */
        memcpy(P->msg, buf, sizeof buf);
        P->prefix = prefix;
    }
}

/* At the end of one condition (a comparison, BETWEEN, IN or function): if no condition has
 * claimed a problem yet, this one claims the most important of those found so far. */
static void p_condition_done(parser *P)
{
    static const sem_kind ORDER[] = {SEM_NAME_OR_VAL, SEM_OPERAND, SEM_DISTINCT, SEM_FUNCTION};
    if (P->hard || P->sem[SEM_CONDITION][0]) return;
    for (size_t i = 0; i < SP_ARRAY_LEN(ORDER); i++) {
        int k = ORDER[i];
        if (k == SEM_NAME_OR_VAL) {
            bool nm = P->sem[SEM_ATTR_NAME][0], vl = P->sem[SEM_ATTR_VAL][0];
            k = nm && (!vl || P->sem_seq[SEM_ATTR_NAME] < P->sem_seq[SEM_ATTR_VAL])
                    ? SEM_ATTR_NAME : vl ? SEM_ATTR_VAL : -1;
        } else if (!P->sem[k][0]) {
            k = -1;
        }
        if (k < 0) continue;
        memcpy(P->sem[SEM_CONDITION], P->sem[k], sizeof P->sem[k]);
        P->sem_prefix[SEM_CONDITION] = P->sem_prefix[k];
        P->sem_seq[SEM_CONDITION] = P->sem_seq[k];
        return;
    }
}

/* The semantic problem DynamoDB reports (dynalite's parsers, written against it, keep these
 * orders per expression kind); kinds missing from an order come after it. */
static void p_semantic_pick(parser *P, tbl_expr_kind kind)
{
    static const sem_kind CONDITION[] = {SEM_PRE, SEM_PARENS, SEM_UNKNOWN_FN, SEM_MISUSED_FN,
                                         SEM_RESERVED, SEM_CONDITION, SEM_NAME_OR_VAL,
                                         SEM_OPERAND, SEM_DISTINCT, SEM_FUNCTION};
    static const sem_kind UPDATE[] = {SEM_PRE, SEM_RESERVED, SEM_UNKNOWN_FN, SEM_SECTION,
                                      SEM_ATTR_NAME, SEM_ATTR_VAL, SEM_OVERLAP, SEM_CONFLICT,
                                      SEM_OPERAND, SEM_FUNCTION};
    static const sem_kind PROJECTION[] = {SEM_PRE, SEM_RESERVED, SEM_NAME_OR_VAL, SEM_OVERLAP,
                                          SEM_CONFLICT};
    if (P->hard || !P->nsem) return;
    const sem_kind *order = kind == TBL_EXPR_UPDATE ? UPDATE
                            : kind == TBL_EXPR_PROJECTION ? PROJECTION : CONDITION;
    size_t n = kind == TBL_EXPR_UPDATE ? SP_ARRAY_LEN(UPDATE)
               : kind == TBL_EXPR_PROJECTION ? SP_ARRAY_LEN(PROJECTION) : SP_ARRAY_LEN(CONDITION);
    int pick = -1;
    for (size_t i = 0; i < n && pick < 0; i++) {
        sem_kind k = order[i];
        if (k == SEM_NAME_OR_VAL) {
            bool nm = P->sem[SEM_ATTR_NAME][0], vl = P->sem[SEM_ATTR_VAL][0];
            if (nm && (!vl || P->sem_seq[SEM_ATTR_NAME] < P->sem_seq[SEM_ATTR_VAL]))
                pick = SEM_ATTR_NAME;
            else if (vl)
                pick = SEM_ATTR_VAL;
        } else if (P->sem[k][0]) {
            pick = k;
        }
    }
    if (pick < 0)   /* none of the ordered kinds: the first found */
        for (int k = 0; k < SEM_COUNT; k++)
            if (P->sem[k][0] && (pick < 0 || P->sem_seq[k] < P->sem_seq[pick])) pick = k;
    memcpy(P->msg, P->sem[pick], sizeof P->msg);
    P->prefix = P->sem_prefix[pick];
}

static void *p_fail_hard(parser *P, const char *what)
{
    if (P->hard) return NULL;
    P->hard = P->prefix = true;
    snprintf(P->msg, sizeof P->msg, "%s", what);
    return NULL;
}

/* ---- token helpers ------------------------------------------------------------------ */

static const tok *p_tok(const parser *P) { return &P->toks[P->pos]; }
static t_type p_type(const parser *P) { return P->toks[P->pos].type; }
static t_type p_type_at(const parser *P, size_t i)
{
    return i < P->ntoks ? P->toks[i].type : T_EOF;
}

static bool tok_is_kw(const parser *P, const tok *k, const char *kw)
{
    size_t n = strlen(kw);
    return k->type == T_IDENT && k->len == n && strncasecmp(P->text + k->start, kw, n) == 0;
}

static bool p_kw(const parser *P, const char *kw) { return tok_is_kw(P, p_tok(P), kw); }

/* Words that are grammar, never attribute or function names. */
static bool tok_is_keyword(const parser *P, const tok *k)
{
    static const char *const kws[] = {"AND", "OR", "NOT", "BETWEEN", "IN"};
    for (size_t i = 0; i < SP_ARRAY_LEN(kws); i++)
        if (tok_is_kw(P, k, kws[i])) return true;
    return false;
}

static bool p_expect(parser *P, t_type type)
{
    if (p_type(P) != type) { p_fail_syntax(P); return false; }
    P->pos++;
    return true;
}

static char *p_strndup(parser *P, const char *s, size_t n)
{
    char *d = x_alloc(P->x, n + 1);
    if (d) memcpy(d, s, n);
    return d;
}

static void p_mark_used(parser *P, const tok *k)
{
    if (!P->usage || !P->usage->used) return;
    char key[SP_ERR_MSG_MAX];
    snprintf(key, sizeof key, "%.*s", (int)k->len, P->text + k->start);
    json_object_set_new(P->usage->used, key, json_true());
}

/* ---- nodes and paths ---------------------------------------------------------------- */

static x_node *p_node(parser *P, x_kind kind, size_t nargs)
{
    x_node *n = x_alloc(P->x, sizeof *n);
    if (!n) return p_fail_hard(P, "out of memory");
    n->kind = kind;
    n->nargs = nargs;
    if (nargs) {
        n->args = x_alloc(P->x, nargs * sizeof *n->args);
        if (!n->args) return p_fail_hard(P, "out of memory");
    }
    return n;
}

static bool p_record_path(parser *P, const x_path *path)
{
    tbl_expr *x = P->x;
    if (x->npaths == x->paths_cap) {
        size_t cap = x->paths_cap ? x->paths_cap * 2 : 8;
        x_path *np = x_alloc(x, cap * sizeof *np);
        if (!np) return false;
        if (x->npaths) memcpy(np, x->paths, x->npaths * sizeof *np);
        x->paths = np;
        x->paths_cap = cap;
    }
    x->paths[x->npaths++] = *path;
    return true;
}

/* One name step: a bare identifier (not reserved) or a #name from the request. */
static bool p_name_step(parser *P, x_step *step)
{
    const tok *k = p_tok(P);
    if (k->type == T_IDENT && !tok_is_keyword(P, k)) {
        if (tbl_expr_word_reserved(P->text + k->start, k->len))
            p_semantic(P, true, "Attribute name is a reserved keyword; reserved keyword: %.*s",
                       (int)k->len, P->text + k->start);
        step->name = p_strndup(P, P->text + k->start, k->len);
    } else if (k->type == T_NAME) {
        char key[SP_ERR_MSG_MAX];
        snprintf(key, sizeof key, "%.*s", (int)k->len, P->text + k->start);
        const json_t *v = P->names ? json_object_get(P->names, key) : NULL;
        if (!json_is_string(v)) {
            p_semantic(P, true, "An expression attribute name used in the document path is "
                                "not defined; attribute name: %s", key);
            step->name = p_strndup(P, key, strlen(key));
        } else {
            step->name = p_strndup(P, json_string_value(v), json_string_length(v));
            p_mark_used(P, k);
        }
    } else {
        p_fail_syntax(P);
        return false;
    }
    if (!step->name) { p_fail_hard(P, "out of memory"); return false; }
    P->pos++;
    return true;
}

static bool p_path(parser *P, x_path *out)
{
    x_step *steps = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap && !(steps = x_grow(P->x, steps, n, &cap, sizeof *steps))) {
            p_fail_hard(P, "out of memory");
            return false;
        }
        if (n == 0) {
            if (!p_name_step(P, &steps[n++])) return false;
        } else if (p_type(P) == T_DOT) {
            P->pos++;
            if (!p_name_step(P, &steps[n])) return false;
            n++;
        } else if (p_type(P) == T_LB) {
            P->pos++;
            const tok *k = p_tok(P);
            if (k->type != T_INT) { p_fail_syntax(P); return false; }
            long idx = 0;
            for (size_t i = 0; i < k->len; i++) {
                idx = idx * 10 + (P->text[k->start + i] - '0');
                if (idx > INT_MAX) { p_fail_syntax(P); return false; }
            }
            P->pos++;
            if (!p_expect(P, T_RB)) return false;
            steps[n].name = NULL;
            steps[n++].index = idx;
        } else {
            break;
        }
    }
    out->n = n;
    out->steps = steps;
    if (!p_record_path(P, out)) { p_fail_hard(P, "out of memory"); return false; }
    return true;
}

static const json_t *p_value(parser *P)
{
    const tok *k = p_tok(P);
    char key[SP_ERR_MSG_MAX];
    snprintf(key, sizeof key, "%.*s", (int)k->len, P->text + k->start);
    P->pos++;
    json_t *have = json_object_get(P->x->owned, key);
    if (have) return have;
    const json_t *v = P->values ? json_object_get(P->values, key) : NULL;
    if (!v) {
        p_semantic(P, true, "An expression attribute value used in expression is not defined; "
                            "attribute value: %s", key);
        return NULL;
    }
    p_mark_used(P, k);
    sp_err e = {0};
    json_t *norm = tbl_av_normalize(v, &e);
    if (!norm) {
        p_semantic(P, false, "ExpressionAttributeValues contains invalid value: %s for key %s",
                   e.msg, key);
        return NULL;
    }
    json_object_set_new(P->x->owned, key, norm);
    return norm;
}

/* ---- operands ----------------------------------------------------------------------- */

static const char *node_value_type(const x_node *n)
{
    return n && n->kind == X_VALUE && n->value ? tbl_av_type(n->value) : NULL;
}

static bool node_is_condition_function(const x_node *n)
{
    return n->kind == X_EXISTS || n->kind == X_NOT_EXISTS || n->kind == X_TYPE ||
           n->kind == X_BEGINS_WITH || n->kind == X_CONTAINS;
}

static const char *node_function_name(const x_node *n)
{
    switch (n->kind) {
    case X_EXISTS: return "attribute_exists";
    case X_NOT_EXISTS: return "attribute_not_exists";
    case X_TYPE: return "attribute_type";
    case X_BEGINS_WITH: return "begins_with";
    case X_CONTAINS: return "contains";
    case X_SIZE: return "size";
    case X_IF_NOT_EXISTS: return "if_not_exists";
    case X_LIST_APPEND: return "list_append";
    default: return "";
    }
}

static bool paths_equal(const x_path *a, const x_path *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const x_step *s = &a->steps[i], *t = &b->steps[i];
        if ((s->name == NULL) != (t->name == NULL)) return false;
        if (s->name ? strcmp(s->name, t->name) != 0 : s->index != t->index) return false;
    }
    return true;
}

static void p_check_distinct(parser *P, const char *op, const x_node *a, const x_node *b)
{
    if (a->kind == X_PATH && b->kind == X_PATH && paths_equal(&a->path, &b->path)) {
        char ps[SP_ERR_MSG_MAX / 2];
        x_path_str(&a->path, ps, sizeof ps);
        p_semantic(P, true, "The first operand must be distinct from the remaining operands "
                            "for this operator or function; operator: %s, first operand: %s",
                   op, ps);
    }
}

static void p_operand_type(parser *P, const char *fn, const x_node *n, const char *allowed)
{
    const char *t = node_value_type(n);
    if (!t) return;
    char want[8];
    for (const char *a = allowed; *a; a += strlen(want) + (a[strlen(want)] == ',')) {
        size_t l = strcspn(a, ",");
        snprintf(want, sizeof want, "%.*s", (int)l, a);
        if (!strcmp(want, t)) return;
    }
    p_semantic(P, true, "Incorrect operand type for operator or function; operator or "
                        "function: %s, operand type: %s", fn, t);
}

static const char *const fn_names[] = {"attribute_exists", "attribute_not_exists",
                                       "attribute_type", "begins_with", "contains", "size",
                                       "if_not_exists", "list_append"};
static const x_kind fn_kinds[] = {X_EXISTS, X_NOT_EXISTS, X_TYPE, X_BEGINS_WITH, X_CONTAINS,
                                  X_SIZE, X_IF_NOT_EXISTS, X_LIST_APPEND};
static const size_t fn_arity[] = {1, 1, 2, 2, 2, 1, 2, 2};

/* A problem of a function call that DynamoDB reports before the same kind of problem inside
 * its operands (recorded after since: P->nsem when the call began): it takes that slot. */
static void p_semantic_outer(parser *P, int since, const char *fmt, const char *name)
{
    if (P->hard) return;
    char buf[SP_ERR_MSG_MAX];
    snprintf(buf, sizeof buf, fmt, name);
    sem_kind k = sem_classify(buf, true);
    if (P->sem[k][0] && P->sem_seq[k] > since) P->sem[k][0] = 0;
    p_semantic(P, true, "%s", buf);
}

/* Checks a function call's operands; reports problems as semantic errors. since: P->nsem
 * when the call's parsing began. */
static void p_check_function(parser *P, x_node *n, const char *name, size_t nargs, int since)
{
    bool update = P->x->kind == TBL_EXPR_UPDATE;
    size_t f = 0;
    while (f < SP_ARRAY_LEN(fn_names) && strcmp(fn_names[f], name)) f++;
    bool is_update_fn = n->kind == X_IF_NOT_EXISTS || n->kind == X_LIST_APPEND;
    if (update != is_update_fn && n->kind != X_SIZE) {
        p_semantic(P, true, "The function is not allowed in a%s expression; function: %s",
                   update ? "n update" : " condition", name);
        return;
    }
    if (update && n->kind == X_SIZE) {
        p_semantic(P, true, "The function is not allowed in an update expression; function: "
                            "size");
        return;
    }
    if (nargs != fn_arity[f]) {
        p_semantic(P, true, "Incorrect number of operands for operator or function; operator "
                            "or function: %s, number of operands: %zu", name, nargs);
        return;
    }
    for (size_t i = 0; i < n->nargs; i++) {
        if (node_is_condition_function(n->args[i]))
            p_semantic(P, true, "The function is not allowed to be used this way in an "
                                "expression; function: %s", node_function_name(n->args[i]));
    }
    switch (n->kind) {
    case X_EXISTS:
    case X_NOT_EXISTS:
    case X_TYPE:
    case X_IF_NOT_EXISTS:
    case X_SIZE:
        if (n->args[0]->kind != X_PATH)
            p_semantic_outer(P, since, "Operator or function requires a document path; "
                                       "operator or function: %s", name);
        break;
    default:
        break;
    }
    if (n->kind == X_TYPE) {
        const char *t = node_value_type(n->args[1]);
        if (t && strcmp(t, "S"))
            p_semantic(P, true, "Incorrect operand type for operator or function; operator or "
                                "function: attribute_type, operand type: %s", t);
        else if (t) {
            json_t *probe = json_object();
            json_object_set_new(probe, json_string_value(json_object_get(n->args[1]->value, "S")),
                                json_null());
            bool ok = tbl_av_type(probe) != NULL;
            json_decref(probe);
            if (!ok)
                p_semantic(P, true, "Invalid attribute type name found; type: %s, valid types: "
                                    "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
                           json_string_value(json_object_get(n->args[1]->value, "S")));
        }
    }
    if (n->kind == X_BEGINS_WITH) {
        p_operand_type(P, name, n->args[0], "S,B");
        p_operand_type(P, name, n->args[1], "S,B");
    }
    if (n->kind == X_SIZE) p_operand_type(P, name, n->args[0], "S,B,SS,NS,BS,L,M");
    if (n->kind == X_LIST_APPEND) {
        p_operand_type(P, name, n->args[0], "L");
        p_operand_type(P, name, n->args[1], "L");
    }
    if (n->kind == X_CONTAINS || n->kind == X_BEGINS_WITH)
        p_check_distinct(P, name, n->args[0], n->args[1]);
}

static x_node *p_operand(parser *P);

static x_node *p_function(parser *P)
{
    const tok *k = p_tok(P);
    char name[SP_ERR_MSG_MAX / 2];
    snprintf(name, sizeof name, "%.*s", (int)k->len, P->text + k->start);
    P->pos += 2;   /* name and '(' */
    int since = P->nsem;
    x_node *args[FN_MAX_ARGS];
    size_t nargs = 0;
    for (;;) {
        x_node *arg = p_operand(P);
        if (!arg) return NULL;
        if (nargs < FN_MAX_ARGS) args[nargs] = arg;
        nargs++;
        if (p_type(P) != T_COMMA) break;
        P->pos++;
    }
    if (!p_expect(P, T_RP)) return NULL;
    size_t f = 0;
    while (f < SP_ARRAY_LEN(fn_names) && strcmp(fn_names[f], name)) f++;
    x_node *n = p_node(P, f < SP_ARRAY_LEN(fn_names) ? fn_kinds[f] : X_VALUE,
                       nargs < FN_MAX_ARGS ? nargs : FN_MAX_ARGS);
    if (!n) return NULL;
    memcpy(n->args, args, n->nargs * sizeof *args);
    if (f == SP_ARRAY_LEN(fn_names)) {
        p_semantic(P, true, "Invalid function name; function: %s", name);
        return n;
    }
    p_check_function(P, n, name, nargs, since);
    return n;
}

static x_node *p_operand(parser *P)
{
    if (++P->depth > TBL_EXPR_MAX_DEPTH)
        return p_fail_hard(P, "The expression is nested too deeply");
    x_node *n = NULL;
    const tok *k = p_tok(P);
    if (k->type == T_LP) {
        P->pos++;
        if (!(n = p_operand(P)) || !p_expect(P, T_RP)) return NULL;
        if (++n->parens > 1) p_semantic(P, true, "The expression has redundant parentheses;");
    } else if (k->type == T_VALUE) {
        n = p_node(P, X_VALUE, 0);
        if (n) n->value = p_value(P);
    } else if (k->type == T_IDENT && !tok_is_keyword(P, k) && p_type_at(P, P->pos + 1) == T_LP) {
        n = p_function(P);
    } else if (k->type == T_IDENT || k->type == T_NAME) {
        n = p_node(P, X_PATH, 0);
        if (n && !p_path(P, &n->path)) return NULL;
    } else {
        return p_fail_syntax(P);
    }
    P->depth--;
    return n;
}

/* ---- conditions --------------------------------------------------------------------- */

static x_node *p_or(parser *P);

static bool tok_is_comparator(t_type t)
{
    return t == T_EQ || t == T_NE || t == T_LT || t == T_LE || t == T_GT || t == T_GE;
}

static void p_check_compare_operand(parser *P, const x_node *n)
{
    if (n && node_is_condition_function(n))
        p_semantic(P, true, "The function is not allowed to be used this way in an expression; "
                            "function: %s", node_function_name(n));
}

static void p_check_between(parser *P, const x_node *lo, const x_node *hi)
{
    const char *tl = node_value_type(lo), *th = node_value_type(hi);
    if (!tl || !th) return;
    char ls[SP_ERR_MSG_MAX / 4], hs[SP_ERR_MSG_MAX / 4];
    const json_t *lv = json_object_get(lo->value, tl), *hv = json_object_get(hi->value, th);
    snprintf(ls, sizeof ls, "%s", json_is_string(lv) ? json_string_value(lv) : "...");
    snprintf(hs, sizeof hs, "%s", json_is_string(hv) ? json_string_value(hv) : "...");
    if (strcmp(tl, th))
        p_semantic(P, true, "The BETWEEN operator requires same data type for lower and upper "
                            "bounds; lower bound operand: AttributeValue: {%s:%s}, upper bound "
                            "operand: AttributeValue: {%s:%s}", tl, ls, th, hs);
    else if ((!strcmp(tl, "S") || !strcmp(tl, "N") || !strcmp(tl, "B")) &&
             tbl_av_cmp(lo->value, hi->value) > 0)
        p_semantic(P, true, "The BETWEEN operator requires upper bound to be greater than or "
                            "equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, "
                            "upper bound operand: AttributeValue: {%s:%s}", tl, ls, th, hs);
}

static x_node *p_comparison(parser *P)
{
    x_node *a = p_operand(P);
    if (!a) return NULL;
    t_type t = p_type(P);
    if (tok_is_comparator(t)) {
        static const x_cmp cmps[] = {[T_EQ] = X_EQ, [T_NE] = X_NE, [T_LT] = X_LT,
                                     [T_LE] = X_LE, [T_GT] = X_GT, [T_GE] = X_GE};
        static const char *const ops[] = {[T_EQ] = "=", [T_NE] = "<>", [T_LT] = "<",
                                          [T_LE] = "<=", [T_GT] = ">", [T_GE] = ">="};
        P->pos++;
        x_node *b = p_operand(P), *n = b ? p_node(P, X_CMP, 2) : NULL;
        if (!n) return NULL;
        n->cmp = cmps[t];
        n->args[0] = a;
        n->args[1] = b;
        p_check_compare_operand(P, a);
        p_check_compare_operand(P, b);
        p_check_distinct(P, ops[t], a, b);
        return n;
    }
    if (p_kw(P, "BETWEEN")) {
        P->pos++;
        x_node *lo = p_operand(P);
        if (!lo) return NULL;
        if (!p_kw(P, "AND")) return p_fail_syntax(P);
        P->pos++;
        x_node *hi = p_operand(P), *n = hi ? p_node(P, X_BETWEEN, 3) : NULL;
        if (!n) return NULL;
        n->args[0] = a;
        n->args[1] = lo;
        n->args[2] = hi;
        for (size_t i = 0; i < 3; i++) p_check_compare_operand(P, n->args[i]);
        p_check_between(P, lo, hi);
        return n;
    }
    if (p_kw(P, "IN")) {
        x_node *list[IN_MAX_OPERANDS + 1];
        size_t n_in = 0;
        P->pos++;
        if (!p_expect(P, T_LP)) return NULL;
        for (;;) {
            if (n_in == IN_MAX_OPERANDS) return p_fail_syntax(P);
            if (!(list[n_in++] = p_operand(P))) return NULL;
            if (p_type(P) != T_COMMA) break;
            P->pos++;
        }
        if (!p_expect(P, T_RP)) return NULL;
        x_node *n = p_node(P, X_IN, n_in + 1);
        if (!n) return NULL;
        n->args[0] = a;
        memcpy(n->args + 1, list, n_in * sizeof *list);
        for (size_t i = 0; i < n->nargs; i++) p_check_compare_operand(P, n->args[i]);
        return n;
    }
    /* A bare function call is a condition; an unknown one (X_VALUE with operands) has
     * already been reported by name. */
    if (node_is_condition_function(a) || (a->kind == X_VALUE && a->nargs > 0)) return a;
    if (a->kind == X_SIZE) {
        p_semantic(P, true, "The function is not allowed to be used this way in an expression; "
                            "function: size");
        return a;
    }
    return p_fail_syntax(P);
}

static x_node *p_primary(parser *P)
{
    const tok *k = p_tok(P);
    /* "(" opens a condition unless its partner ")" is followed by a comparator, BETWEEN or
     * IN, in which case it only wraps the first operand: "(a) = :v". */
    if (k->type == T_LP && k->match >= 0) {
        size_t after = (size_t)k->match + 1;
        t_type t = p_type_at(P, after);
        bool operand = tok_is_comparator(t) ||
                       (after < P->ntoks && (tok_is_kw(P, &P->toks[after], "BETWEEN") ||
                                             tok_is_kw(P, &P->toks[after], "IN")));
        if (!operand) {
            P->pos++;
            x_node *n = p_or(P);
            if (!n || !p_expect(P, T_RP)) return NULL;
            if (++n->parens > 1) p_semantic(P, true, "The expression has redundant parentheses;");
            return n;
        }
    }
    x_node *n = p_comparison(P);
    p_condition_done(P);
    return n;
}

static x_node *p_not(parser *P)
{
    if (++P->depth > TBL_EXPR_MAX_DEPTH)
        return p_fail_hard(P, "The expression is nested too deeply");
    x_node *n;
    if (p_kw(P, "NOT")) {
        P->pos++;
        x_node *c = p_not(P);
        if (!c || !(n = p_node(P, X_NOT, 1))) return NULL;
        n->args[0] = c;
    } else {
        n = p_primary(P);
    }
    P->depth--;
    return n;
}

static x_node *p_binary(parser *P, const char *kw, x_kind kind, x_node *(*sub)(parser *))
{
    x_node *l = sub(P);
    while (l && p_kw(P, kw)) {
        P->pos++;
        x_node *r = sub(P), *n = r ? p_node(P, kind, 2) : NULL;
        if (!n) return NULL;
        n->args[0] = l;
        n->args[1] = r;
        l = n;
    }
    return l;
}

static x_node *p_and(parser *P) { return p_binary(P, "AND", X_AND, p_not); }
static x_node *p_or(parser *P) { return p_binary(P, "OR", X_OR, p_and); }

/* ---- update and projection ---------------------------------------------------------- */

static void p_check_overlap(parser *P, const x_path *paths, size_t n, const x_path *p)
{
    for (size_t i = 0; i < n; i++) {
        const x_path *q = &paths[i];
        size_t m = q->n < p->n ? q->n : p->n, j;
        bool conflict = false;
        for (j = 0; j < m; j++) {
            const x_step *s = &q->steps[j], *t = &p->steps[j];
            if ((s->name == NULL) != (t->name == NULL)) { conflict = true; break; }
            if (s->name ? strcmp(s->name, t->name) != 0 : s->index != t->index) break;
        }
        if (j < m && !conflict) continue;
        char a[SP_ERR_MSG_MAX / 3], b[SP_ERR_MSG_MAX / 3];
        x_path_str(q, a, sizeof a);
        x_path_str(p, b, sizeof b);
        p_semantic(P, true, "Two document paths %s with each other; must remove or rewrite one "
                            "of these paths; path one: %s, path two: %s",
                   conflict ? "conflict" : "overlap", a, b);
        return;
    }
}

/* The rest of a SET value after its first operand a: "+ operand", "- operand" or nothing. */
static x_node *p_set_arith_rest(parser *P, x_node *a)
{
    t_type t = p_type(P);
    if (t != T_PLUS && t != T_MINUS) return a;
    P->pos++;
    x_node *b = p_operand(P), *n = b ? p_node(P, t == T_PLUS ? X_PLUS : X_MINUS, 2) : NULL;
    if (!n) return NULL;
    n->args[0] = a;
    n->args[1] = b;
    p_operand_type(P, t == T_PLUS ? "+" : "-", a, "N");
    p_operand_type(P, t == T_PLUS ? "+" : "-", b, "N");
    return n;
}

static x_node *p_set_arith(parser *P)
{
    x_node *a = p_operand(P);
    return a ? p_set_arith_rest(P, a) : NULL;
}

/* A SET value: an operand, or operand + operand, operand - operand, each operand in
 * parentheses or not, and the sum itself once in parentheses ("SET b = ((c[1]) + (b.a))"). */
static x_node *p_set_value(parser *P)
{
    if (p_type(P) != T_LP) return p_set_arith(P);
    P->pos++;
    x_node *n = p_set_arith(P);
    if (!n || !p_expect(P, T_RP)) return NULL;
    if (n->kind == X_PLUS || n->kind == X_MINUS) return n;
    if (++n->parens > 1) p_semantic(P, true, "The expression has redundant parentheses;");
    /* "(a)" was an operand in parentheses: it may begin a sum. */
    return p_set_arith_rest(P, n);
}

static const char *type_long_name(const char *t)
{
    static const char *const map[][2] = {{"S", "STRING"}, {"N", "NUMBER"}, {"B", "BINARY"},
                                         {"NULL", "NULL"}, {"BOOL", "BOOLEAN"}, {"L", "LIST"},
                                         {"M", "MAP"}};
    for (size_t i = 0; i < SP_ARRAY_LEN(map); i++)
        if (!strcmp(map[i][0], t)) return map[i][1];
    return NULL;   /* sets are fine for ADD and DELETE */
}

static bool p_update(parser *P)
{
    static const char *const clauses[] = {"SET", "REMOVE", "ADD", "DELETE"};
    bool seen[4] = {false};
    x_action *acts = NULL;
    x_path *paths = NULL;
    size_t n = 0, cap = 0, pcap = 0;
    if (p_type(P) == T_EOF) { p_fail_syntax(P); return false; }
    while (p_type(P) != T_EOF) {
        size_t c = 0;
        while (c < 4 && !p_kw(P, clauses[c])) c++;
        if (c == 4) { p_fail_syntax(P); return false; }
        if (seen[c])
            p_semantic(P, true, "The \"%s\" section can only be used once in an update "
                                "expression;", clauses[c]);
        seen[c] = true;
        P->pos++;
        for (;;) {
            if ((n == cap && !(acts = x_grow(P->x, acts, n, &cap, sizeof *acts))) ||
                (n == pcap && !(paths = x_grow(P->x, paths, n, &pcap, sizeof *paths)))) {
                p_fail_hard(P, "out of memory");
                return false;
            }
            x_action *a = &acts[n];
            memset(a, 0, sizeof *a);
            a->kind = (x_action_kind)c;
            if (!p_path(P, &a->path)) return false;
            if (a->kind == X_SET) {
                if (!p_expect(P, T_EQ) || !(a->value = p_set_value(P))) return false;
                if (a->value->kind == X_SIZE || node_is_condition_function(a->value))
                    p_semantic(P, true, "The function is not allowed in an update expression; "
                                        "function: %s", node_function_name(a->value));
            } else if (a->kind == X_ADD || a->kind == X_DELETE) {
                if (p_type(P) != T_VALUE) { p_fail_syntax(P); return false; }
                if (!(a->value = p_node(P, X_VALUE, 0))) return false;
                a->value->value = p_value(P);
                const char *t = node_value_type(a->value), *l = t ? type_long_name(t) : NULL;
                if (l && !(a->kind == X_ADD && !strcmp(t, "N")))
                    p_semantic(P, true, "Incorrect operand type for operator or function; "
                                        "operator: %s, operand type: %s", clauses[c], l);
            }
            p_check_overlap(P, paths, n, &a->path);
            paths[n++] = a->path;
            if (p_type(P) != T_COMMA) break;
            P->pos++;
        }
    }
    P->x->nactions = n;
    P->x->actions = acts;
    return true;
}

static bool p_projection(parser *P)
{
    x_path *paths = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap && !(paths = x_grow(P->x, paths, n, &cap, sizeof *paths))) {
            p_fail_hard(P, "out of memory");
            return false;
        }
        if (!p_path(P, &paths[n])) return false;
        p_check_overlap(P, paths, n, &paths[n]);
        n++;
        if (p_type(P) != T_COMMA) break;
        P->pos++;
    }
    return p_expect(P, T_EOF);
}

/* ---- entry ---------------------------------------------------------------------------- */

bool x_parse(tbl_expr *x, const char *text, const json_t *names, const json_t *values,
             tbl_expr_usage *usage, sp_err *e)
{
    const char *kind = tbl_expr_kind_name(x->kind);
    size_t len = strlen(text);
    if (len == 0) {
        sp_err_invalid(e, "Invalid %s: The expression can not be empty;", kind);
        return false;
    }
    if (len > TBL_EXPR_MAX_LEN) {
        sp_err_invalid(e, "Invalid %s: Expression size has exceeded the maximum allowed size; "
                          "expression size: %zu", kind, len);
        return false;
    }
    parser P = {.x = x, .text = text, .names = names, .values = values, .usage = usage};
    P.toks = lex(text, &P.ntoks);
    if (!P.toks) {
        sp_err_internal(e, "out of memory parsing %s", kind);
        return false;
    }
    switch (x->kind) {
    case TBL_EXPR_UPDATE:
        p_update(&P);
        break;
    case TBL_EXPR_PROJECTION:
        p_projection(&P);
        break;
    default:
        x->root = p_or(&P);
        if (x->root) p_expect(&P, T_EOF);
        if (x->root && !P.hard && x->root->kind == X_SIZE)
            p_semantic(&P, true, "The function is not allowed to be used this way in an "
                                 "expression; function: size");
    }
    free(P.toks);
    p_semantic_pick(&P, x->kind);
    if (!P.msg[0]) return true;
    if (P.prefix)
        sp_err_invalid(e, "Invalid %s: %s", kind, P.msg);
    else
        sp_err_invalid(e, "%s", P.msg);
    return false;
}
