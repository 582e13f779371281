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
/* A progress line (count, rate, ETA) on stderr when it is a terminal; silent otherwise
 * (progress.c). Called from one thread. */
typedef struct cli_meter {
    const char *what;          /* borrowed label: "generate", "crawl" */
    uint64_t total;            /* 0: unknown */
    uint64_t start_ns, drawn_ns;
    bool tty, finished;
} cli_meter;
void cli_meter_init(cli_meter *m, const char *what, uint64_t total);
/* Redraws the line (rate-limited); the final line (done >= total) ends with a newline. */
void cli_meter_update(cli_meter *m, uint64_t done);
/* Ends the line at done (when the work stopped short of total or total was unknown). */
void cli_meter_finish(cli_meter *m, uint64_t done);

/* Prints "salespipe <cmd>: <message>" for an error on stderr. */
void cli_report(const char *cmd, const sp_err *e);

int cli_cmd_serve(const cli_common *common, int argc, char **argv);
int cli_cmd_config(const cli_common *common, int argc, char **argv);
int cli_cmd_demo(const cli_common *common, int argc, char **argv);
int cli_cmd_generate(const cli_common *common, int argc, char **argv);
int cli_cmd_status(const cli_common *common, int argc, char **argv);
/* export cloudformation (cmd_export.c) */
int cli_cmd_export(const cli_common *common, int argc, char **argv);
/* The in-process benchmark driver of bench/ (cmd_bench.c). */
int cli_cmd_bench_cdc(const cli_common *common, int argc, char **argv);

/* [catalog/query] offline subcommands */
typedef struct cat_catalog cat_catalog;
typedef struct lake lake;
/* False (e says "no salespipe data at D (use --data-dir or SALESPIPE_DATA_DIR)") unless the
 * data dir holds what salespipe writes; creates nothing. */
bool cli_data_dir_require(const cli_common *common, sp_err *e);
/* Refuses a data dir without data (cli_data_dir_require), then opens <data>/catalog and (when lk is not NULL) <data>/lake; the caller closes both. */
bool cli_offline_open(const cli_common *common, cat_catalog **cat, lake **lk, sp_err *e);
/* False with e naming the database when the catalog has no database of that name. */
bool cli_database_require(cat_catalog *cat, const char *database, sp_err *e);
int cli_cmd_crawl(const cli_common *common, int argc, char **argv);
int cli_cmd_query(const cli_common *common, int argc, char **argv);
int cli_cmd_ddl(const cli_common *common, int argc, char **argv);

#endif
