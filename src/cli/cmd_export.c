/* salespipe export cloudformation [--output FILE]: the configured pipeline (--config, else the
 * seed's resources) as an AWS CloudFormation template, on stdout or in FILE. The file is
 * written whole or not at all (temp name, then rename), so a failed export leaves no
 * half-template for `aws cloudformation deploy` to pick up. */
#include "cli_int.h"
#include "export/export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char EXPORT_USAGE[] =
    "usage: salespipe export cloudformation [--config FILE] [--output FILE]\n";

static bool write_whole(const char *path, const char *text, sp_err *e)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        sp_err_set(e, 400, "InvalidArgument", "--output: path too long");
        return false;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        sp_err_set(e, 500, "WriteFailed", "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        sp_err_set(e, 500, "WriteFailed", "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

int cli_cmd_export(const cli_common *common, int argc, char **argv)
{
    const char *output = NULL;
    if (argc < 2 || strcmp(argv[1], "cloudformation")) {
        fprintf(stderr, "%s%s", argc < 2 ? "" : "salespipe export: unknown format (only "
                                                "cloudformation)\n", EXPORT_USAGE);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--output") && i + 1 < argc) {
            output = argv[++i];
        } else {
            fprintf(stderr, "%s", EXPORT_USAGE);
            return CLI_EXIT_USAGE;
        }
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    sp_err e = {0};
    json_t *tpl = exp_cfn_template(cfg, &e);
    sp_config_destroy(cfg);
    if (!tpl) {
        cli_report("export", &e);
        return CLI_EXIT_USAGE;
    }
    char *text = json_dumps(tpl, JSON_INDENT(2));
    json_decref(tpl);
    if (!text) {
        sp_err_internal(&e, "cannot serialise the template");
        cli_report("export", &e);
        return CLI_EXIT_FAILED;
    }
    size_t n = strlen(text);
    text = realloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    bool ok = output ? write_whole(output, text, &e) : fputs(text, stdout) >= 0;
    free(text);
    if (!ok) {
        if (!sp_err_failed(&e)) sp_err_set(&e, 500, "WriteFailed", "cannot write stdout");
        cli_report("export", &e);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}
