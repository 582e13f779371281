/* The engine: opens the stages in data order (table, stream, pipe, delivery, lake, catalog),
 * registers their APIs, runs their workers, and closes them in reverse.
 *
 * Each stage has its own block in the struct, in open, in listen, in close and in health,
 * marked with the stage's name, so stages are wired in independently. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "delivery/delivery.h"
#include "lake/lake.h"
#include "stream/stream.h"

struct cli_engine {
    const sp_config *cfg;
    char *data_dir;
    api_server *server;

    /* [table] */

    /* [stream] */
    stm_log *stream;
    api_service kinesis;

    /* [pipe] */

    /* [delivery] */
    dlv_service *delivery;
    api_service firehose_api;

    /* [lake] */
    lake *lake;
    api_route s3_route;

    /* [catalog/query] */
};

static bool mkdir_p(const char *path, sp_err *e)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                sp_err_internal(e, "cannot create directory '%s': %s", buf, strerror(errno));
                return false;
            }
            *p = saved;
            if (!saved) break;
        }
    }
    return true;
}

/* "<data_dir>/<name>" into buf. */
static const char *sub_dir(const cli_engine *en, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", en->data_dir, name);
    return buf;
}

static bool engine_open_stages(cli_engine *en, sp_err *e)
{
    char dir[4096];
    const sp_config *cfg = en->cfg;
    (void)cfg;

    /* [table] */

    /* [stream] */
    en->stream = stm_log_open(sub_dir(en, "stream", dir, sizeof dir), e);
    if (!en->stream) return false;
    for (size_t i = 0; i < cfg->n_streams; i++)
        if (!stm_stream_ensure(en->stream, &cfg->streams[i], e)) return false;

    /* [lake] */
    en->lake = lake_open(sub_dir(en, "lake", dir, sizeof dir), e);
    if (!en->lake) return false;
    for (size_t i = 0; i < cfg->n_buckets; i++)
        if (!lake_bucket_create(en->lake, cfg->buckets[i].name, e)) return false;

    /* [delivery] */
    en->delivery = dlv_service_open(sub_dir(en, "delivery", dir, sizeof dir), cfg, en->lake,
                                    en->stream, e);
    if (!en->delivery) return false;

    /* [pipe] */

    /* [catalog/query] */

    return true;
}

cli_engine *cli_engine_open(const sp_config *cfg, const char *data_dir, sp_err *e)
{
    if (!mkdir_p(data_dir, e)) return NULL;
    cli_engine *en = calloc(1, sizeof *en);
    en->cfg = cfg;
    en->data_dir = strdup(data_dir);
    if (!engine_open_stages(en, e)) {
        cli_engine_close(en);
        return NULL;
    }
    return en;
}

bool cli_engine_listen(cli_engine *en, const api_options *opt, sp_err *e)
{
    en->server = api_server_new(opt);
    api_server_set_health(en->server, cli_engine_health, en);
    api_server_set_metrics(en->server, cli_engine_metrics, en);

    /* [table] */

    /* [stream] */
    en->kinesis = (api_service){"kinesis", "Kinesis_20131202", "", "application/x-amz-json-1.1",
                                stm_kinesis_ops, en->stream};
    api_server_add_service(en->server, &en->kinesis);

    /* [pipe] */

    /* [delivery] */
    en->firehose_api = (api_service){"firehose", "Firehose_20150804", "",
                                     "application/x-amz-json-1.1", dlv_firehose_ops,
                                     en->delivery};
    api_server_add_service(en->server, &en->firehose_api);

    /* [lake] */
    en->s3_route = (api_route){.name = "s3", .fn = lake_s3_handle, .ctx = en->lake};
    api_server_add_route(en->server, &en->s3_route);

    /* [catalog/query] */

    if (!api_server_start(en->server, e)) {
        api_server_destroy(en->server);
        en->server = NULL;
        return false;
    }
    return true;
}

int cli_engine_port(const cli_engine *en) { return en->server ? api_server_port(en->server) : 0; }

json_t *cli_engine_health(void *engine)
{
    cli_engine *en = engine;
    json_t *services = json_object();
    json_object_set_new(services, "http", json_pack("{s:b}", "running", en->server != NULL));

    /* [table] */

    /* [stream] */
    json_object_set_new(services, "kinesis", json_pack("{s:b}", "running", en->stream != NULL));

    /* [pipe] */

    /* [delivery] */
    if (en->delivery) json_object_set_new(services, "firehose", dlv_service_health(en->delivery));

    /* [lake] */
    json_object_set_new(services, "s3", json_pack("{s:b}", "running", en->lake != NULL));

    /* [catalog/query] */

    return json_pack("{s:s, s:o, s:s}", "status", "ok", "services", services, "data_dir",
                     en->data_dir);
}

void cli_engine_close(cli_engine *en)
{
    if (!en) return;
    /* The endpoint goes first so no request reaches a closing stage. */
    api_server_destroy(en->server);
    en->server = NULL;

    /* [pipe] */

    /* [delivery] */
    dlv_service_close(en->delivery); /* workers flush into the lake, which closes after */
    en->delivery = NULL;

    /* [catalog/query] */

    /* [lake] */
    lake_close(en->lake);

    /* [stream] */
    stm_log_close(en->stream);

    /* [table] */

    free(en->data_dir);
    free(en);
}

bool cli_engine_start_workers(cli_engine *en, sp_err *e)
{
    (void)en;
    (void)e;

    /* [pipe] */

    /* [delivery] */
    if (en->delivery && !dlv_service_start(en->delivery, e)) return false;

    return true;
}
