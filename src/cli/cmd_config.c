/* salespipe config: prints the effective configuration (file or seed defaults) as YAML. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>

int cli_cmd_config(const cli_common *common, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: salespipe config [--config FILE]\n");
        return CLI_EXIT_USAGE;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    char *yaml = sp_config_to_yaml(cfg);
    fputs(yaml ? yaml : "", stdout);
    free(yaml);
    sp_config_destroy(cfg);
    return yaml ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
