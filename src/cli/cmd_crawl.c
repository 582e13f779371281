/* salespipe crawl [--crawler NAME]: runs a crawler of the configuration (every crawler
 * when none is named) offline on the data dir and prints its report; progress on a
 * terminal, plain lines otherwise. */
#include "catalog/catalog.h"
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void progress(void *arg, size_t done, size_t total)
{
    cli_meter *m = arg;
    m->total = total;
    cli_meter_update(m, done);
}

static int crawl_one(cat_catalog *cat, lake *lk, const sp_config *cfg, const sp_cfg_crawler *cr)
{
    const sp_cfg_classifier *cl = cr->classifier ? sp_config_classifier(cfg, cr->classifier) : NULL;
    cat_crawl_report rep = {0};
    cli_meter meter;
    cli_meter_init(&meter, "crawl (objects)", 0);
    if (meter.tty) {
        rep.progress = progress;
        rep.progress_arg = &meter;
    }
    sp_err e = {0};
    bool crawled = cat_crawl(cat, lk, cr, cl, &rep, &e);
    cli_meter_finish(&meter, rep.objects_read + rep.objects_skipped);
    if (!crawled) {
        cli_report("crawl", &e);
        cat_crawl_report_clear(&rep);
        return CLI_EXIT_FAILED;
    }
    printf("crawler %s: database %s, tables created %zu, tables updated %zu, partitions added "
           "%zu, objects read %zu, objects skipped %zu, records %zu, malformed %zu, "
           "schema changes logged %zu, %.3f s\n",
           cr->name, cr->database, rep.tables_created, rep.tables_updated, rep.partitions_added,
           rep.objects_read, rep.objects_skipped, rep.records_read, rep.records_malformed,
           rep.schema_changes_logged, rep.seconds);
    size_t i;
    json_t *t;
    json_array_foreach(rep.tables, i, t) printf("  table %s\n", json_string_value(t));
    cat_crawl_report_clear(&rep);
    return CLI_EXIT_OK;
}

int cli_cmd_crawl(const cli_common *common, int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--crawler") && i + 1 < argc) {
            name = argv[++i];
        } else {
            fprintf(stderr, "usage: salespipe crawl [--crawler NAME]\n");
            return CLI_EXIT_USAGE;
        }
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    if (name && !sp_config_crawler(cfg, name)) {
        fprintf(stderr, "salespipe crawl: no crawler '%s' in the configuration\n", name);
        sp_config_destroy(cfg);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    sp_err e = {0};
    cat_catalog *cat = NULL;
    lake *lk = NULL;
    if (!cli_offline_open(common, &cat, &lk, &e)) {
        cli_report("crawl", &e);
        rc = CLI_EXIT_FAILED;
    }
    for (size_t i = 0; rc == CLI_EXIT_OK && i < cfg->n_crawlers; i++)
        if (!name || !strcmp(name, cfg->crawlers[i].name))
            rc = crawl_one(cat, lk, cfg, &cfg->crawlers[i]);
    cat_catalog_close(cat);
    lake_close(lk);
    sp_config_destroy(cfg);
    return rc;
}
