/* pipe: EventBridge Pipes from a table stream to a Kinesis stream, exactly once.
 *
 * A pipe reads its source table's stream in order, keeps the records that match its
 * FilterCriteria (EventBridge patterns), computes each record's partition key from a JSON
 * path, and appends the record, as EventBridge Pipes delivers a DynamoDB stream record, to
 * its target stream, tagged with (pipe name, table stream seq) so a restart after a crash
 * neither loses nor repeats a record (the argument is in runner.c). A record the target
 * cannot take, or keeps refusing past MaximumRetryAttempts, goes to the pipe's dead-letter
 * queue (dlq.c: one file per record under the pipe directory) instead, exactly once too.
 *
 * Pipes come from the configuration (sp_cfg_pipe) and from the Pipes REST API
 * (pip_rest_handle, the route the aws cli's `aws pipes ...` talks to); API changes are
 * persisted under the pipe directory and survive restarts.
 *
 * Thread safety: a pip_engine may be used from any number of threads; each running pipe has
 * its own worker thread.
 */
#ifndef SP_PIPE_H
#define SP_PIPE_H

#include "core/config.h"
#include "core/core.h"
#include "core/http.h"
#include "stream/stream.h"
#include "table/table.h"

/* ---- EventBridge patterns --------------------------------------------------------------- */

/* A compiled (validated) EventBridge event pattern. Supported: exact values (strings,
 * numbers, booleans, null), prefix, suffix (both also with equals-ignore-case), anything-but
 * (a value, a list, {prefix}, {suffix}, {equals-ignore-case}), numeric ranges, exists,
 * equals-ignore-case, wildcard, $or, nested fields, and arrays in the event (a field whose
 * value is an array matches if any element does). */
typedef struct pip_pattern pip_pattern;

/* Validates and compiles a pattern object; pattern is borrowed (copied). On an invalid
 * pattern returns NULL with a 400 ValidationException naming the offending field. The
 * caller owns the result: pip_pattern_destroy. */
pip_pattern *pip_pattern_compile(const json_t *pattern, sp_err *e);
/* Same, from JSON text (text need not be NUL-terminated). */
pip_pattern *pip_pattern_parse(const char *text, size_t len, sp_err *e);
/* True if the event (borrowed) matches. */
bool pip_pattern_match(const pip_pattern *p, const json_t *event);
void pip_pattern_destroy(pip_pattern *p);

/* FilterCriteria: a set of patterns; an event passes if any matches (or the set is empty). */
typedef struct pip_filter pip_filter;

enum { PIP_FILTERS_MAX = 5, PIP_FILTER_PATTERN_MAX = 4096 };

/* patterns is a JSON array whose elements are pattern objects or JSON strings holding a
 * pattern (as in FilterCriteria.Filters[].Pattern); NULL means no filtering. Borrowed.
 * Caller owns the result: pip_filter_destroy. */
pip_filter *pip_filter_new(const json_t *patterns, sp_err *e);
bool pip_filter_pass(const pip_filter *f, const json_t *event);
void pip_filter_destroy(pip_filter *f);

/* The configuration check of one pipes[] entry (an sp_cfg_check_fn over sp_cfg_pipe): a
 * remote target (conn/kafka.h) is well formed; *key is "target". */
bool pip_config_check(const void *pipe_cfg, const char **key, sp_err *e);

/* ---- the engine ------------------------------------------------------------------------- */

typedef struct pip_engine pip_engine;

/* Opens the pipe stage over dir (created if needed): loads the API-created pipes persisted
 * there and adds the configured ones. tables and log are borrowed and must outlive the
 * engine; cfg is borrowed for the engine's lifetime. No worker runs until pip_engine_start.
 * Caller closes with pip_engine_close. */
pip_engine *pip_engine_open(const char *dir, const sp_config *cfg, tbl_db *tables, stm_log *log,
                            sp_err *e);
/* Starts a worker for every pipe whose desired state is RUNNING. */
bool pip_engine_start(pip_engine *en, sp_err *e);
/* Stops every worker (each finishes its current batch and saves its checkpoint), frees all. */
void pip_engine_close(pip_engine *en);

/* The Pipes REST API (/v1/pipes...) as an sp_rest_fn; ctx is the pip_engine. */
bool pip_rest_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp);

/* {"running":true,"pipes":{"<name>":{"state":..,"read":..,"filtered":..,"written":..,
 *  "failed":..,"lag_records":..,"lag_seconds":..}}}. Caller owns the new reference. */
json_t *pip_engine_health(pip_engine *en);

/* Waits up to timeout_ms until the named pipe has processed every source record that exists
 * when called (for tests and `demo`); false on timeout or unknown pipe. */
bool pip_engine_drain(pip_engine *en, const char *name, int timeout_ms);

/* Checks a configured pipe's remote source and target mappings (an sp_cfg_check for the
 * "pipes" section): kinds, endpoints, names (remote.c). */
bool pip_config_check(const void *pipe_cfg, const char **key, sp_err *e);

#endif
