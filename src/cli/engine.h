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
/* The health document: {"status":"ok","services":{name:{"running":true,...}}}. New ref. */
json_t *cli_engine_health(void *engine);
/* The health document as Prometheus text (metrics.c), appended to out. */
void cli_engine_metrics(void *engine, sp_str *out);
/* Stops workers (flushing what they hold), the endpoint, and closes every stage. */
void cli_engine_close(cli_engine *en);

#endif
