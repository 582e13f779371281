/* table/expr: DynamoDB numbers, attribute values and expressions (private to table/).
 *
 * Attribute values are jansson objects in DynamoDB JSON ({"S":"x"}, {"N":"12.5"},
 * {"B":"<base64>"}, {"BOOL":true}, {"NULL":true}, {"M":{...}}, {"L":[...]}, {"SS":[...]},
 * {"NS":[...]}, {"BS":[...]}); an item is a JSON object name -> attribute value.
 *
 * Numbers are decimals of up to 38 significant digits with a magnitude between 1E-130 and
 * 9.99..E+125; they are compared and added exactly (never through double) and have an
 * order-preserving byte encoding (memcmp order == numeric order) for index-backed sort keys.
 *
 * Expressions (Condition, Filter, KeyCondition, Update, Projection) are lexed and parsed by
 * recursive descent into an AST that owns everything it needs: once parsed, the request's
 * ExpressionAttributeNames/Values may be freed. Errors are 400 ValidationException with
 * DynamoDB's messages ("Invalid ConditionExpression: Syntax error; token: \"=\", near: ...").
 */
#ifndef SP_TABLE_EXPR_H
#define SP_TABLE_EXPR_H

#include "core/core.h"

/* ---- numbers ---------------------------------------------------------------------------- */

enum {
    TBL_NUM_MAX_DIGITS = 38,     /* significant digits DynamoDB keeps */
    TBL_NUM_EXP_MIN = -130,      /* smallest magnitude 1E-130 */
    TBL_NUM_EXP_MAX = 125,       /* largest magnitude 9.99..9E+125 */
    TBL_NUM_INPUT_MAX = 1024,    /* longest number text accepted before parsing */
    /* Canonical text: sign, up to 130 leading "0.000..." zeros or 125 trailing zeros plus
     * 38 digits, a point and a NUL. */
    TBL_NUM_STR_MAX = 176,
    /* Sort-key encoding: class byte, exponent byte, 19 digit-pair bytes, terminator. */
    TBL_NUM_KEY_MAX = 22,
};

/* A parsed number: value = (-1)^neg * 0.d1 d2 ... dn * 10^exp with d1 != 0 and dn != 0
 * (no leading or trailing zeros), or zero when ndigits == 0. */
typedef struct tbl_num {
    bool neg;
    uint8_t ndigits;
    int exp;
    uint8_t digits[TBL_NUM_MAX_DIGITS];   /* 0..9 each */
} tbl_num;

/* Parses DynamoDB number text ("12", "-0.50", "1.5E+3", "+7", ".5", "5."). On failure sets a
 * ValidationException with DynamoDB's message (not a number / more than 38 significant digits
 * / overflow / underflow) and returns false. text is NUL-terminated and borrowed. */
bool tbl_num_parse(const char *text, tbl_num *out, sp_err *e);
/* Canonical text as DynamoDB returns it: plain notation, no exponent, no leading '+', no
 * leading zeros beyond "0.", no trailing fractional zeros; zero is "0". */
void tbl_num_format(const tbl_num *n, char out[TBL_NUM_STR_MAX]);
/* parse + format in one step. */
bool tbl_num_normalize(const char *text, char out[TBL_NUM_STR_MAX], sp_err *e);
/* <0, 0, >0 as a < b, a == b, a > b (exact). */
int tbl_num_cmp(const tbl_num *a, const tbl_num *b);
/* out = a + b / a - b exactly; false with ValidationException when the result does not fit
 * (more than 38 significant digits, overflow, underflow). out may alias a or b. */
bool tbl_num_add(const tbl_num *a, const tbl_num *b, tbl_num *out, sp_err *e);
bool tbl_num_sub(const tbl_num *a, const tbl_num *b, tbl_num *out, sp_err *e);
/* Order-preserving encoding into out; returns its length (<= TBL_NUM_KEY_MAX). memcmp over
 * the common length, then the shorter first, orders encodings as their numbers (this is
 * SQLite's BLOB order). Equal numbers encode to equal bytes. */
size_t tbl_num_encode(const tbl_num *n, uint8_t out[TBL_NUM_KEY_MAX]);
/* Decodes what tbl_num_encode wrote; false if the bytes are not a valid encoding. */
bool tbl_num_decode(const uint8_t *in, size_t len, tbl_num *out);

/* ---- attribute values ------------------------------------------------------------------- */

/* The attribute value's type tag ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS",
 * "BS") or NULL if av is not a well-formed single-type attribute value object. Borrowed
 * static string. */
const char *tbl_av_type(const json_t *av);
/* Validates one attribute value deeply and returns a new reference to a copy with every
 * number in canonical form (N, NS members, nested M/L). Checks DynamoDB's rules: exactly one
 * type, correct JSON types, numbers valid, base64 valid, sets non-empty and duplicate free.
 * NULL with ValidationException ("One or more parameter values were invalid: ...") on
 * failure. av is borrowed. */
json_t *tbl_av_normalize(const json_t *av, sp_err *e);
/* Checks one AttributeValue as DynamoDB does before anything else (ops_precheck.c): the
 * values inside (numbers, NULL, empty and duplicate sets, nested values) before the number
 * of types set. */
bool tbl_pre_av(const json_t *av, sp_err *e);
/* The same over an item (object of name -> attribute value); names must be non-empty.
 * Returns a new reference or NULL with e set. */
json_t *tbl_av_item_normalize(const json_t *item, sp_err *e);
/* Compares two S, N or B values of the same type: S by UTF-8 bytes, N numerically, B by
 * decoded bytes. Returns <0/0/>0; values of other or different types compare by type tag
 * (callers check types first). Both borrowed; numbers must be valid. */
int tbl_av_cmp(const json_t *a, const json_t *b);
/* Deep equality: same type, numbers by value, sets regardless of order, maps by member,
 * lists element-wise. Both borrowed. */
bool tbl_av_equal(const json_t *a, const json_t *b);

/* ---- expressions ------------------------------------------------------------------------ */

enum {
    TBL_EXPR_MAX_LEN = 4096,         /* DynamoDB's expression string limit (4 KB) */
    TBL_EXPR_MAX_DEPTH = 64,         /* nesting guard for the recursive-descent parser */
};

typedef enum {
    TBL_EXPR_CONDITION,      /* ConditionExpression */
    TBL_EXPR_FILTER,         /* FilterExpression */
    TBL_EXPR_KEY_CONDITION,  /* KeyConditionExpression */
    TBL_EXPR_UPDATE,         /* UpdateExpression */
    TBL_EXPR_PROJECTION,     /* ProjectionExpression */
} tbl_expr_kind;

/* "ConditionExpression", "FilterExpression", ... (static). */
const char *tbl_expr_kind_name(tbl_expr_kind kind);

typedef struct tbl_expr tbl_expr;

/* Which #names and :values the expressions of one request used. Initialise with
 * tbl_expr_usage_init, pass to every tbl_expr_parse of the request, then call
 * tbl_expr_check_unused, and always tbl_expr_usage_clear. */
typedef struct tbl_expr_usage {
    json_t *used;   /* object: "#n" / ":v" -> true; owned */
} tbl_expr_usage;

void tbl_expr_usage_init(tbl_expr_usage *u);
void tbl_expr_usage_clear(tbl_expr_usage *u);
/* Checks the request's ExpressionAttributeNames/Values maps (either may be NULL): keys must
 * match #[A-Za-z0-9_]+ / :[A-Za-z0-9_]+, maps must not be empty, every value must be a valid
 * attribute value, and every key must have been used. Sets DynamoDB's message
 * ("Value provided in ExpressionAttributeValues unused in expressions: keys: {:y}") and
 * returns false otherwise. Arguments borrowed. */
/* A KeyConditionExpression's structure (one or two simple conditions on distinct top-level
 * attributes), checked after every expression of the request parsed, as DynamoDB does. */
bool tbl_expr_key_check(const tbl_expr *x, sp_err *e);
/* The maps' own checks (not empty, well-formed keys, valid values), made before any
 * expression is parsed. */
bool tbl_expr_check_maps(const json_t *names, const json_t *values, sp_err *e);
bool tbl_expr_check_unused(const tbl_expr_usage *u, const json_t *names, const json_t *values,
                           sp_err *e);

/* Parses one expression. text is borrowed (NUL-terminated); names and values are the
 * request's ExpressionAttributeNames / ExpressionAttributeValues objects (either may be
 * NULL), borrowed: the result copies what it uses (numbers normalised). usage may be NULL.
 * Returns a new expression the caller frees with tbl_expr_free, or NULL with a
 * ValidationException "Invalid <Kind>: ..." in e. */
tbl_expr *tbl_expr_parse(tbl_expr_kind kind, const char *text, const json_t *names,
                         const json_t *values, tbl_expr_usage *usage, sp_err *e);
void tbl_expr_free(tbl_expr *x);
tbl_expr_kind tbl_expr_kind_of(const tbl_expr *x);

/* Evaluates a Condition/Filter/KeyCondition expression against item (NULL = no item, as for
 * a PutItem condition on a missing key). Comparisons of mismatched types are false, as in
 * DynamoDB. Returns false with e set only on an internal failure. item borrowed. */
bool tbl_expr_eval(const tbl_expr *x, const json_t *item, bool *result, sp_err *e);

/* Applies an Update expression to old_item (NULL = item does not exist yet; the result then
 * starts empty, the caller adds the key). Returns the new item (new reference) or NULL with
 * a ValidationException ("The provided expression refers to an attribute that does not
 * exist in the item", "An operand in the update expression has an incorrect data type",
 * ...). old_item is borrowed and not modified. */
json_t *tbl_expr_update(const tbl_expr *x, const json_t *old_item, sp_err *e);

/* Projects item onto the paths of a Projection expression, or of an Update expression (its
 * action paths: this gives ReturnValues UPDATED_OLD when applied to the old item and
 * UPDATED_NEW when applied to the new one). Nested paths keep their enclosing maps and
 * lists (list elements keep their relative order, compacted). Returns a new object (possibly
 * empty); item borrowed, may be NULL (gives an empty object). */
json_t *tbl_expr_project(const tbl_expr *x, const json_t *item);

/* True if any document path of the expression starts with top-level attribute name (for
 * "Cannot update attribute k. This attribute is part of the key" and for rejecting key
 * attributes in a Query FilterExpression). name borrowed. */
bool tbl_expr_refers_top(const tbl_expr *x, const char *name);
/* Does an action of update expression x write top-level attribute name, or inside it? */
bool tbl_expr_update_writes_top(const tbl_expr *x, const char *name);
/* Does x use a nested path ("name.b", "name[1]") under top-level attribute name? */
bool tbl_expr_nested_under(const tbl_expr *x, const char *name);
/* The type ("S", "N", ...) the first action writing the whole attribute name gives it when
 * that does not depend on the item (a value, arithmetic, list_append), else NULL. Borrowed. */
const char *tbl_expr_update_static_type(const tbl_expr *x, const char *name);
/* Top-level attribute names of the expression's paths, for SELECT/ProjectionExpression of
 * index attributes and the like. Returns a new JSON array of distinct strings. */
json_t *tbl_expr_top_names(const tbl_expr *x);

/* ---- key conditions --------------------------------------------------------------------- */

typedef enum {
    TBL_KEY_NONE,          /* no range-key condition */
    TBL_KEY_EQ,
    TBL_KEY_LT,
    TBL_KEY_LE,
    TBL_KEY_GT,
    TBL_KEY_GE,
    TBL_KEY_BETWEEN,       /* range_values[0] <= k <= range_values[1] */
    TBL_KEY_BEGINS_WITH,   /* S or B prefix */
} tbl_key_op;

/* A KeyConditionExpression split for an index-backed Query. Strings and values are borrowed
 * from the tbl_expr and live as long as it does. Operands written as ":v < k" are turned
 * around so the key is always on the left. */
typedef struct tbl_key_cond {
    const char *hash_name;
    const json_t *hash_value;
    const char *range_name;          /* NULL when range_op == TBL_KEY_NONE */
    tbl_key_op range_op;
    const json_t *range_values[2];   /* [1] only for BETWEEN */
} tbl_key_cond;

/* Splits a KeyConditionExpression into hash and range parts without knowing the schema:
 * exactly one equality condition, optionally AND one range condition; which of two
 * equalities is the hash key is decided by hash_key_name (the table's or index's hash key,
 * borrowed). Errors use DynamoDB's messages ("Invalid operator used in
 * KeyConditionExpression: OR", "KeyConditions must only contain one condition per key",
 * "Query condition missed key schema element: <name>", ...). The caller still checks the
 * range name against the schema and value types against the attribute definitions. */
bool tbl_expr_key_condition(const tbl_expr *x, const char *hash_key_name, tbl_key_cond *out,
                            sp_err *e);
/* The key condition as legacy KeyConditions ({name: {ComparisonOperator,
 * AttributeValueList}}), so both forms meet the same schema checks; NULL when it does not
 * split (already refused at parse). Caller owns the result. */
json_t *tbl_expr_key_conditions(const tbl_expr *x);

#endif
