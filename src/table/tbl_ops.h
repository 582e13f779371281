/* The operations of the DynamoDB and DynamoDB Streams APIs (one file per group: ddl.c,
 * ops_item.c, ops_batch.c, ops_read.c, ops_transact.c, ops_streams.c) and the request
 * helpers they share. Each op follows sp_op_fn: ctx is the tbl_db, the request is borrowed,
 * the response is a new reference or NULL with e set. */
#ifndef SP_TABLE_OPS_H
#define SP_TABLE_OPS_H

#include "expr.h"
#include "tbl_int.h"

enum { TBL_RETENTION_DEFAULT_HOURS = 24 };

/* Table names (also index names): 3..255 of [a-zA-Z0-9_.-]; member names the field. */
bool tbl_check_table_name(const char *name, const char *member, sp_err *e);

/* The parsed expressions of one item request (any may be NULL). */
typedef struct tbl_req_exprs {
    tbl_expr *condition, *update, *projection, *filter, *key_condition;
    tbl_expr_usage usage;
} tbl_req_exprs;

/* Parses the request's expressions named in kinds (members ConditionExpression, ...),
 * checks unused names/values and rejects the legacy parameters. Caller clears with
 * tbl_req_exprs_clear even on failure. */
bool tbl_req_exprs_parse(const json_t *req, unsigned kinds, tbl_req_exprs *x, sp_err *e);
void tbl_req_exprs_clear(tbl_req_exprs *x);
enum { TBL_X_CONDITION = 1, TBL_X_UPDATE = 2, TBL_X_PROJECTION = 4, TBL_X_FILTER = 8,
       TBL_X_KEY_CONDITION = 16 };

/* Evaluates a condition (NULL = none) against item; false with
 * ConditionalCheckFailedException when it does not hold. */
/* No path of x (may be NULL) goes inside a key attribute of the table or of an index:
 * "Key attributes must be scalars; ...: Key: a" (the table's first), "...: IndexKey: c". */
bool tbl_key_paths_check(const tbl_meta *m, const tbl_expr *x, sp_err *e);
bool tbl_condition_check(const tbl_expr *cond, const json_t *item, sp_err *e);
/* The table-free checks DynamoDB makes first, in its order (ops_precheck.c): the mix of
 * expression and legacy parameters, then every AttributeValue of the request, ReturnValues
 * and the item size. */
typedef enum { TBL_PRE_PUT, TBL_PRE_DELETE, TBL_PRE_UPDATE, TBL_PRE_GET, TBL_PRE_QUERY,
               TBL_PRE_SCAN } tbl_pre_op;
bool tbl_req_precheck(const json_t *req, tbl_pre_op op, sp_err *e);
/* tbl_req_precheck that, for TBL_PRE_PUT with norm not NULL, hands over the Item it
 * normalised to measure (new reference in *norm; NULL when it could not be normalised, the
 * caller's own normalisation then reports why), so the write need not normalise it again. */
bool tbl_req_precheck_item(const json_t *req, tbl_pre_op op, json_t **norm, sp_err *e);
/* ReturnValues member: NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW; allowed is a mask
 * of which the op accepts. */
typedef enum { TBL_RV_NONE, TBL_RV_ALL_OLD, TBL_RV_UPDATED_OLD, TBL_RV_ALL_NEW,
               TBL_RV_UPDATED_NEW } tbl_rv;
bool tbl_return_values(const json_t *req, unsigned allowed, tbl_rv *out, sp_err *e);
/* The ConsumedCapacity entry of one table (with "Table" under INDEXES), or NULL when the
 * request did not ask for it; the caller owns it. */
json_t *tbl_capacity_entry(const json_t *req, const char *table, double units);
/* Adds ConsumedCapacity to resp when the request asked for it. */
void tbl_consumed_capacity(const json_t *req, json_t *resp, const char *table, double units);
/* The same for a read of an index: table_units for items fetched from the table (Select
 * ALL_ATTRIBUTES on a local index that projects less), index_units for the index entries. */
void tbl_consumed_capacity_index(const json_t *req, json_t *resp, const char *table,
                                 double table_units, const char *index, bool global,
                                 double index_units);
/* ReturnConsumedCapacity must be NONE, TOTAL or INDEXES. */
bool tbl_check_rcc(const json_t *req, sp_err *e);
double tbl_write_units(size_t bytes);
/* Read units of bytes without the minimum of one unit (0 for nothing read). */
double tbl_read_units_of(size_t bytes, bool consistent);
double tbl_read_units(size_t bytes, bool consistent);
/* TableName of a request (member "TableName" of obj), validated and looked up (data plane
 * wording when missing). */
bool tbl_req_table(tbl_db *db, const json_t *obj, tbl_meta *m, sp_err *e);

/* One write of PutItem/UpdateItem/DeleteItem, a batch or a transaction: validated outside
 * the writer lock by tbl_write_prepare, then checked (current item read, condition, new
 * item computed) and applied inside a transaction. */
typedef enum { TBL_W_PUT, TBL_W_UPDATE, TBL_W_DELETE, TBL_W_CHECK } tbl_write_kind;
typedef struct tbl_write {
    tbl_write_kind kind;
    tbl_meta m;
    tbl_key k;
    json_t *item;          /* PUT: the canonical item; UPDATE: the Key (for a new item) */
    tbl_req_exprs x;
    tbl_rv rv;
    bool old_on_fail;      /* ReturnValuesOnConditionCheckFailure ALL_OLD */
    bool legacy_update;    /* UPDATE given as AttributeUpdates, not UpdateExpression */
    json_t *old_item;      /* after check: the current item or NULL */
    char *old_text;        /* after check: old_item's stored text (owned) or NULL */
    size_t old_len;
    json_t *new_item;      /* after check: the item to write or NULL (delete) */
} tbl_write;

/* req is the op's request (or a transaction element); borrowed. rv_allowed: mask of
 * (1u << tbl_rv) accepted. Clear w with tbl_write_clear even on failure. */
bool tbl_write_prepare(tbl_db *db, tbl_write_kind kind, const json_t *req, unsigned rv_allowed,
                       tbl_write *w, sp_err *e);
/* Reads the current item and evaluates the condition; computes new_item. */
bool tbl_write_check(tbl_txn *t, tbl_write *w, sp_err *e);
/* Writes new_item (or deletes) with its stream record. */
bool tbl_write_apply(tbl_txn *t, tbl_write *w, sp_err *e);
void tbl_write_clear(tbl_write *w);
/* The Attributes a write returns per its ReturnValues (NULL if none). New reference. */
json_t *tbl_write_returned(const tbl_write *w);

/* Applies a projection (NULL = whole item) to item; new reference. */
json_t *tbl_project(const tbl_expr *proj, const json_t *item);

json_t *tbl_op_create_table(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_describe_table(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_list_tables(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_update_table(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_delete_table(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_put_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_get_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_update_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_delete_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_batch_write_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_batch_get_item(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_query(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_scan(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_transact_write_items(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_transact_get_items(void *ctx, json_t *req, sp_err *e);
/* ops_meta.c: tags and Time to Live, kept with the table's definition */
json_t *tbl_op_tag_resource(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_untag_resource(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_list_tags_of_resource(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_update_time_to_live(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_describe_time_to_live(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_list_streams(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_describe_stream(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_get_shard_iterator(void *ctx, json_t *req, sp_err *e);
json_t *tbl_op_get_records(void *ctx, json_t *req, sp_err *e);

/* Rewrites the legacy members of req among kinds (Expected, AttributeUpdates,
 * AttributesToGet, KeyConditions, QueryFilter/ScanFilter with ConditionalOperator) into
 * parsed expressions in x, after DynamoDB's checks of them; *done gets the kinds filled.
 * 0: the request has none, 1: rewritten, -1: refused with e set (legacy.c). */
int tbl_legacy_exprs(const json_t *req, unsigned kinds, tbl_req_exprs *x, unsigned *done,
                     sp_err *e);

#endif
