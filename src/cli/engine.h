/* The engine: every stage opened on one data dir from one configuration, their workers
 * started, and their APIs registered on the HTTP endpoint. `serve` and `demo` both run it.
 * Private to cli/. */
#ifndef SP_CLI_ENGINE_H
#define SP_CLI_ENGINE_H

#include "api/api.h"
#include "core/config.h"

typedef struct cli_engine cli_engine;

/* Opens (creating if needed) the data dir and every stage, and creates the configured
 * resources that do not exist yet. cfg is borrowed and must outlive the engine. */
cli_engine *cli_engine_open(const sp_config *cfg, const char *data_dir, sp_err *e);
/* Starts the stages' background workers (pipes, delivery streams). Without this call the
 * engine is a read-only view of the data dir (salespipe status offline). */
bool cli_engine_start_workers(cli_engine *en, sp_err *e);
/* Starts the HTTP endpoint with every stage's API. */
bool cli_engine_listen(cli_engine *en, const api_options *opt, sp_err *e);
int cli_engine_port(const cli_engine *en);
/* The port of a service's own listener (server.service_ports), 0 when it has none. */
int cli_engine_service_port(const cli_engine *en, const char *service);
/* The health document: {"status":"ok","services":{name:{"running":true,...}}}. New ref. */
json_t *cli_engine_health(void *engine);
/* The health document as Prometheus text (metrics.c), appended to out. */
void cli_engine_metrics(void *engine, sp_str *out);
/* Stage handles for in-process callers (demo). Borrowed; NULL when the stage is absent. */
struct tbl_db;
struct lake;
struct cat_catalog;
struct tbl_db *cli_engine_tables(const cli_engine *en);
struct stm_log *cli_engine_stream(const cli_engine *en);
const sp_config *cli_engine_config(const cli_engine *en);
const char *cli_engine_data_dir(const cli_engine *en);
/* Adds to the health document's services what the stages hold (health_data.c): items per
 * table, records per stream and shard, delivery backlog, crawlers' last runs. */
void cli_engine_health_data(cli_engine *en, json_t *services);
struct lake *cli_engine_lake(const cli_engine *en);
struct cat_catalog *cli_engine_catalog(const cli_engine *en);

/* How far the changes have travelled: the counts `demo` shows and waits on. */
typedef struct cli_progress {
    uint64_t table_changes;   /* records in the table streams */
    uint64_t piped;           /* table stream records the pipes have handled (written or filtered) */
    uint64_t stream_records;  /* records in the Kinesis streams */
    uint64_t delivered;       /* stream records the delivery streams have put into objects */
    uint64_t objects;         /* lake objects written by delivery */
    uint64_t failed;          /* records sent to an error output */
    bool drained;             /* every change has reached the lake and no buffer holds any */
} cli_progress;
void cli_engine_progress(cli_engine *en, cli_progress *out);

/* Stops workers (flushing what they hold), the endpoint, and closes every stage. */
void cli_engine_close(cli_engine *en);

#endif
