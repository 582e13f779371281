/* Private to cli/: the subcommand table and the options every subcommand shares. */
#ifndef SP_CLI_INT_H
#define SP_CLI_INT_H

#include "core/config.h"
#include "core/core.h"

/* Exit codes: 0 ok, 1 the work failed, 2 bad usage or bad configuration. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

/* Options shared by every subcommand, parsed before the subcommand's own. */
typedef struct cli_common {
    const char *data_dir;   /* --data-dir, else $SALESPIPE_DATA_DIR, else ./salespipe-data */
    const char *config;     /* --config FILE, NULL: the seed defaults */
    const char *log_level;  /* --log-level */
} cli_common;

typedef struct cli_command {
    const char *name;
    const char *usage;
    const char *summary;
    /* argv[0] is the subcommand name; common options are already removed. */
    int (*run)(const cli_common *common, int argc, char **argv);
} cli_command;

/* Loads the configuration the common options name; prints the error and returns NULL on
 * failure (the caller exits with CLI_EXIT_USAGE). Caller destroys. */
sp_config *cli_config_load(const cli_common *common);

/* Applies a --durability flag to cfg->server.durability; false (cfg unchanged) when value is
 * not fsync or relaxed. value is copied. */
bool cli_durability_override(sp_config *cfg, const char *value);

/* Prints "salespipe <cmd>: <message>" for an error on stderr. */
void cli_report(const char *cmd, const sp_err *e);

int cli_cmd_serve(const cli_common *common, int argc, char **argv);
int cli_cmd_config(const cli_common *common, int argc, char **argv);
int cli_cmd_demo(const cli_common *common, int argc, char **argv);
int cli_cmd_generate(const cli_common *common, int argc, char **argv);
int cli_cmd_status(const cli_common *common, int argc, char **argv);
/* The in-process benchmark driver of bench/ (cmd_bench.c). */
int cli_cmd_bench_cdc(const cli_common *common, int argc, char **argv);

/* [catalog/query] offline subcommands */
typedef struct cat_catalog cat_catalog;
typedef struct lake lake;
/* Opens <data>/catalog and (when lk is not NULL) <data>/lake; the caller closes both. */
bool cli_offline_open(const cli_common *common, cat_catalog **cat, lake **lk, sp_err *e);
int cli_cmd_crawl(const cli_common *common, int argc, char **argv);
int cli_cmd_query(const cli_common *common, int argc, char **argv);
int cli_cmd_ddl(const cli_common *common, int argc, char **argv);

#endif
