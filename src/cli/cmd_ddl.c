/* salespipe ddl [--database NAME]: prints the catalog as Athena DDL. */
#include "catalog/catalog.h"
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_cmd_ddl(const cli_common *common, int argc, char **argv)
{
    const char *database = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--database") && i + 1 < argc) {
            database = argv[++i];
        } else {
            fprintf(stderr, "usage: salespipe ddl [--database NAME]\n");
            return CLI_EXIT_USAGE;
        }
    }
    sp_err e = {0};
    cat_catalog *cat = NULL;
    if (!cli_offline_open(common, &cat, NULL, &e)) {
        cli_report("ddl", &e);
        return CLI_EXIT_FAILED;
    }
    if (database && !cli_database_require(cat, database, &e)) {
        cli_report("ddl", &e);
        cat_catalog_close(cat);
        return CLI_EXIT_USAGE;
    }
    char *ddl = cat_ddl(cat, database, &e);
    cat_catalog_close(cat);
    if (!ddl) {
        cli_report("ddl", &e);
        return CLI_EXIT_FAILED;
    }
    fputs(ddl, stdout);
    free(ddl);
    return CLI_EXIT_OK;
}
