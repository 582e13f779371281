/* table/expr internals: the AST shared by the lexer/parser, the evaluator and the updater.
 *
 * Every node, path and string of one expression lives in that expression's arena and is
 * freed with it; attribute values are jansson references held by expr->owned, so nodes
 * only borrow them.
 */
#ifndef SP_TABLE_EXPR_INT_H
#define SP_TABLE_EXPR_INT_H

#include "table/expr.h"

/* One step of a document path: a map member / top-level name, or a list index. */
typedef struct x_step {
    const char *name;    /* NULL for a list index */
    long index;
} x_step;

typedef struct x_path {
    size_t n;
    x_step *steps;
} x_path;

typedef enum {
    /* operands */
    X_PATH,
    X_VALUE,
    X_SIZE,
    X_IF_NOT_EXISTS,
    X_LIST_APPEND,
    X_PLUS,
    X_MINUS,
    /* conditions */
    X_CMP,
    X_BETWEEN,
    X_IN,
    X_AND,
    X_OR,
    X_NOT,
    X_EXISTS,
    X_NOT_EXISTS,
    X_TYPE,
    X_BEGINS_WITH,
    X_CONTAINS,
} x_kind;

typedef enum { X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE } x_cmp;

typedef struct x_node {
    x_kind kind;
    x_cmp cmp;               /* X_CMP */
    int parens;              /* how many parentheses directly enclose it */
    x_path path;             /* X_PATH */
    const json_t *value;     /* X_VALUE: borrowed from expr->owned */
    struct x_node **args;
    size_t nargs;
} x_node;

typedef enum { X_SET, X_REMOVE, X_ADD, X_DELETE } x_action_kind;

typedef struct x_action {
    x_action_kind kind;
    x_path path;
    x_node *value;           /* NULL for REMOVE */
} x_action;

typedef struct x_chunk x_chunk;

struct tbl_expr {
    tbl_expr_kind kind;
    x_node *root;            /* condition kinds */
    x_action *actions;       /* update */
    size_t nactions;
    x_path *paths;           /* every document path written in the expression, in order */
    size_t npaths, paths_cap;
    json_t *owned;           /* ":v" -> normalised value; nodes borrow from it */
    x_chunk *arena;
};

/* Arena allocation, zeroed; NULL only when out of memory. */
void *x_alloc(tbl_expr *x, size_t size);
/* Growable arena array: when n == *cap, returns a copy of arr (n elements of size elem)
 * with twice the room and updates *cap; NULL when out of memory. */
void *x_grow(tbl_expr *x, void *arr, size_t n, size_t *cap, size_t elem);

/* Lexer + parser entry (expr_parse.c). */
bool x_parse(tbl_expr *x, const char *text, const json_t *names, const json_t *values,
             tbl_expr_usage *usage, sp_err *e);

/* Path helpers (expr_eval.c). The value at path in item or NULL; borrowed. */
const json_t *x_path_get(const x_path *p, const json_t *item);
/* "[a, b, [2]]" as DynamoDB prints paths; writes into out. */
void x_path_str(const x_path *p, char *out, size_t cap);

/* Schema-free KeyConditionExpression checks, run right after parsing (expr_eval.c). */
bool x_key_check(const tbl_expr *x, sp_err *e);

/* Is word (len bytes) one of DynamoDB's reserved words (case-insensitive)? */
bool tbl_expr_word_reserved(const char *word, size_t len);

#endif
