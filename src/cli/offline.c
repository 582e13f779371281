/* Opening the catalog and the lake of a data dir for the offline subcommands (crawl,
 * query, ddl, status --offline), which work on the files directly without a running server.
 * They read data: a data dir that does not exist is refused, never created empty. */
#include "catalog/catalog.h"
#include "cli_int.h"
#include "core/fs.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The folders a salespipe data dir holds (engine.c): any one of them is enough. */
static const char *const data_subdirs[] = {"table", "stream", "lake", "catalog", "delivery", "pipe"};

bool cli_data_dir_require(const cli_common *common, sp_err *e)
{
    struct stat st;
    char dir[4096];
    for (size_t i = 0; i < SP_ARRAY_LEN(data_subdirs); i++) {
        snprintf(dir, sizeof dir, "%s/%s", common->data_dir, data_subdirs[i]);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return true;
    }
    sp_err_set(e, 400, "", "no salespipe data at %s (use --data-dir or SALESPIPE_DATA_DIR)",
               common->data_dir);
    return false;
}

bool cli_offline_open(const cli_common *common, cat_catalog **cat, lake **lk, sp_err *e)
{
    char dir[4096];
    if (!cli_data_dir_require(common, e)) return false;
    snprintf(dir, sizeof dir, "%s/catalog", common->data_dir);
    *cat = cat_catalog_open(dir, e);
    if (!*cat) return false;
    if (!lk) return true;
    snprintf(dir, sizeof dir, "%s/lake", common->data_dir);
    *lk = lake_open(dir, e);
    if (!*lk) {
        cat_catalog_close(*cat);
        *cat = NULL;
        return false;
    }
    return true;
}

bool cli_database_require(cat_catalog *cat, const char *database, sp_err *e)
{
    sp_err not_found = {0};
    json_t *db = cat_database_get(cat, database, &not_found);
    if (db) {
        json_decref(db);
        return true;
    }
    sp_err_set(e, 400, "", "no database '%s' in the catalog (run `salespipe crawl` first, or "
               "see `salespipe ddl`)", database);
    return false;
}
