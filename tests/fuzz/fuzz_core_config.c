/* Fuzz target for the YAML configuration parser (core/config.c). Any input either fails with
 * an InvalidConfiguration error naming the file, or parses; a parsed configuration must print
 * (sp_config_to_yaml) to text that parses back to the same configuration and prints the same
 * again. Either way nothing may leak or crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_core_config: %s\n%s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    sp_config *cfg = sp_config_parse("fuzz.yaml", (const char *)data, size, &e);
    if (!cfg) {
        if (!sp_err_failed(&e) || strcmp(e.code, "InvalidConfiguration") != 0 ||
            strncmp(e.msg, "fuzz.yaml", 9) != 0)
            fuzz_fail("failure without a proper error", e.msg);
        return 0;
    }
    if (sp_err_failed(&e)) fuzz_fail("success with an error set", e.msg);

    char *printed = sp_config_to_yaml(cfg, SP_CONFIG_SECRETS_SHOWN);
    if (!printed) fuzz_fail("printing failed", NULL);
    sp_err e2 = {0};
    sp_config *back = sp_config_parse("printed.yaml", printed, strlen(printed), &e2);
    if (!back) {
        fprintf(stderr, "%s\n", printed);
        fuzz_fail("printed configuration does not parse", e2.msg);
    }
    char *again = sp_config_to_yaml(back, SP_CONFIG_SECRETS_SHOWN);
    const char *body1 = strchr(printed, '\n'), *body2 = again ? strchr(again, '\n') : NULL;
    if (!body1 || !body2 || strcmp(body1, body2) != 0) {
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", printed, again ? again : "(null)");
        fuzz_fail("printing does not round-trip", NULL);
    }
    /* Lookups agree with the arrays. */
    for (size_t i = 0; i < back->n_tables; i++)
        if (!sp_config_table(back, back->tables[i].name)) fuzz_fail("table lookup", NULL);
    for (size_t i = 0; i < back->n_streams; i++)
        if (!sp_config_stream(back, back->streams[i].name)) fuzz_fail("stream lookup", NULL);
    free(again);
    free(printed);
    sp_config_destroy(back);
    sp_config_destroy(cfg);
    return 0;
}
