/* Opening the catalog and the lake of a data dir for the offline subcommands (crawl,
 * query, ddl), which work on the files directly without a running server. */
#include "catalog/catalog.h"
#include "cli_int.h"
#include "core/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool cli_offline_open(const cli_common *common, cat_catalog **cat, lake **lk, sp_err *e)
{
    char dir[4096];
    if (!sp_fs_mkdirs(common->data_dir, e)) return false;
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
