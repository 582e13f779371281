/* salespipe query "SQL" [--format table|csv|json] [--database sales_db] [--stats]
 * [--timeout SECONDS]: runs one query over the catalog offline on the data dir, within the
 * time limit (server.query_timeout_seconds unless --timeout says otherwise; 0: none).
 * --stats prints the partitions and objects the scans touched on stderr (partition pruning
 * made visible). */
#include "cli_int.h"
#include "query/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --timeout takes what server.query_timeout_seconds takes: up to a day. */
enum { CLI_QUERY_TIMEOUT_MAX = 86400 };

int cli_cmd_query(const cli_common *common, int argc, char **argv)
{
    const char *sql = NULL, *database = NULL, *format_name = "table";
    const char *timeout_arg = NULL;
    bool stats = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) format_name = argv[++i];
        else if (!strcmp(argv[i], "--database") && i + 1 < argc) database = argv[++i];
        else if (!strcmp(argv[i], "--stats")) stats = true;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_arg = argv[++i];
        else if (!sql && argv[i][0] != '-') sql = argv[i];
        else sql = NULL, i = argc;
    }
    qry_format format;
    double timeout_s = -1;
    if (timeout_arg) {
        char *end;
        timeout_s = strtod(timeout_arg, &end);
        if (end == timeout_arg || *end || !(timeout_s >= 0 && timeout_s <= CLI_QUERY_TIMEOUT_MAX))
            sql = NULL;
    }
    if (!sql || !qry_format_parse(format_name, &format)) {
        fprintf(stderr, "usage: salespipe query \"SQL\" [--format table|csv|json] "
                        "[--database NAME] [--stats] [--timeout SECONDS (0-%d, 0: none)]\n",
                CLI_QUERY_TIMEOUT_MAX);
        return CLI_EXIT_USAGE;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    qry_opts opts = {.timeout_ms = timeout_s >= 0 ? (int64_t)(timeout_s * 1000)
                                                  : cfg->server.query_timeout_seconds * 1000};
    bool database_named = database != NULL;
    if (!database) database = cfg->n_crawlers ? cfg->crawlers[0].database : NULL;
    sp_err e = {0};
    cat_catalog *cat = NULL;
    lake *lk = NULL;
    int rc = CLI_EXIT_OK;
    if (!cli_offline_open(common, &cat, &lk, &e)) {
        cli_report("query", &e);
        rc = CLI_EXIT_FAILED;
    } else if (database_named && !cli_database_require(cat, database, &e)) {
        cli_report("query", &e);
        rc = CLI_EXIT_USAGE;
    } else {
        qry_result *r = qry_exec(cat, lk, database, sql, &opts, &e);
        if (!r) {
            cli_report("query", &e);
            rc = CLI_EXIT_FAILED;
        } else {
            qry_result_print(r, format, stdout);
            if (stats)
                fprintf(stderr,
                        "partitions scanned: %zu, objects opened: %zu, objects from cache: %zu, "
                        "row groups read: %zu, row groups skipped: %zu\n",
                        r->partitions_scanned, r->objects_opened, r->objects_from_cache,
                        r->row_groups_read, r->row_groups_skipped);
            qry_result_destroy(r);
        }
    }
    cat_catalog_close(cat);
    lake_close(lk);
    sp_config_destroy(cfg);
    return rc;
}
