/* salespipe config: prints the effective configuration (file or seed defaults) as YAML.
 * Secrets (secret keys, session tokens, passwords) are masked as `aws configure list` masks
 * them, so the output can be pasted into a bug report; --show-secrets prints them as they are
 * (the text then loads back as the same configuration). */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_cmd_config(const cli_common *common, int argc, char **argv)
{
    sp_config_secrets secrets = SP_CONFIG_SECRETS_HIDDEN;
    if (argc == 2 && !strcmp(argv[1], "--show-secrets")) secrets = SP_CONFIG_SECRETS_SHOWN;
    else if (argc > 1) {
        fprintf(stderr, "usage: salespipe config [--config FILE] [--show-secrets]\n");
        return CLI_EXIT_USAGE;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    char *yaml = sp_config_to_yaml(cfg, secrets);
    fputs(yaml ? yaml : "", stdout);
    free(yaml);
    sp_config_destroy(cfg);
    return yaml ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
