/* Private to export/: the template under construction and the helpers every resource family
 * uses (logical ids, intrinsic functions, IAM statements). */
#ifndef SP_EXP_INT_H
#define SP_EXP_INT_H

#include "export.h"

/* CloudFormation logical ids are alphanumeric and at most 255 characters. */
enum { EXP_LOGICAL_ID_MAX = 255 };

typedef struct exp_tpl {
    const sp_config *cfg;  /* borrowed */
    json_t *resources;     /* owned by root */
    json_t *parameters;    /* owned by root */
    json_t *root;
    json_t *ids;           /* owned: "<kind>/<name>" -> logical id */
    json_t *ids_taken;     /* owned: logical id -> true */
} exp_tpl;

/* The logical id of resource kind (CamelCase word: "Table", "PipeRole") for config name
 * (any characters): the kind followed by the name's alphanumeric runs, each capitalised
 * ("orders-cdc-pipe" -> "PipeOrdersCdcPipe"). The same kind and name always give the same id
 * (so references agree); a clash with another name's id (two names that differ only in
 * punctuation) gets a numeric suffix. Borrowed from t, valid until the template is done. */
const char *exp_id(exp_tpl *t, const char *kind, const char *name);
/* Adds a resource (steals props) under id. */
void exp_resource_add(exp_tpl *t, const char *id, const char *type, json_t *props);

/* New references: {"Ref": id}, {"Fn::GetAtt": [id, attr]}, {"Fn::Sub": text}. */
json_t *exp_ref(const char *id);
json_t *exp_getatt(const char *id, const char *attr);
json_t *exp_sub(const char *fmt, ...) SP_PRINTF(1, 2);
/* A config string made safe to put in an Fn::Sub text: "${" becomes "${!" (a literal). Caller
 * frees. */
char *exp_sub_literal(const char *s);

/* An IAM role trusted by service principal ("pipes.amazonaws.com") with one inline policy
 * of statements (stolen) and managed policy ARNs (stolen, may be NULL). */
void exp_role_add(exp_tpl *t, const char *id, const char *service, const char *policy_name,
                  json_t *statements, json_t *managed);
/* One Allow statement: actions (NULL-terminated) on resources (stolen array or one value). */
json_t *exp_allow(const char *const *actions, json_t *resources);

/* Resource families (one file each). Each returns false with e set, naming the config key. */
bool exp_table_add(exp_tpl *t, const sp_cfg_table *tb, sp_err *e);
bool exp_stream_add(exp_tpl *t, const sp_cfg_stream *st, sp_err *e);
bool exp_pipe_add(exp_tpl *t, const sp_cfg_pipe *p, size_t index, sp_err *e);
bool exp_bucket_add(exp_tpl *t, const sp_cfg_bucket *b, sp_err *e);
bool exp_delivery_add(exp_tpl *t, const sp_cfg_delivery *d, size_t index, sp_err *e);
bool exp_catalog_add(exp_tpl *t, sp_err *e);

/* Config-level failure: 400 InvalidConfiguration "<section>[i].<key>: <message>". */
void exp_fail(sp_err *e, const char *section, size_t index, const char *key, const char *fmt,
              ...) SP_PRINTF(5, 6);

#endif
