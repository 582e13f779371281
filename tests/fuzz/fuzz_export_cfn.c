/* Fuzz target for the CloudFormation export (export/): any configuration the parser accepts
 * either exports or is refused with an InvalidConfiguration error naming the key; an exported
 * template has alphanumeric logical ids of at most 255 characters, and every Ref and
 * Fn::GetAtt in it names one of its resources, parameters or a pseudo parameter. Nothing may
 * leak or crash. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_export_cfn: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 255) return false;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id)) return false;
    return true;
}

static void check_refs(const json_t *tpl, const json_t *v)
{
    const json_t *res = json_object_get(tpl, "Resources"), *par = json_object_get(tpl, "Parameters");
    if (json_is_object(v)) {
        const char *ref = json_string_value(json_object_get(v, "Ref"));
        if (ref && strncmp(ref, "AWS::", 5) && !json_object_get(res, ref) &&
            !json_object_get(par, ref))
            fuzz_fail("Ref to nothing", ref);
        const json_t *ga = json_object_get(v, "Fn::GetAtt");
        if (ga && !json_object_get(res, json_string_value(json_array_get(ga, 0)) ?: ""))
            fuzz_fail("GetAtt of nothing", json_string_value(json_array_get(ga, 0)));
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) check_refs(tpl, m);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) check_refs(tpl, m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    sp_config *cfg = sp_config_parse("fuzz.yaml", (const char *)data, size, &e);
    if (!cfg) return 0;
    json_t *tpl = exp_cfn_template(cfg, &e);
    sp_config_destroy(cfg);
    if (!tpl) {
        if (strcmp(e.code, "InvalidConfiguration") || !strchr(e.msg, '.'))
            fuzz_fail("refused without a proper error", e.msg);
        return 0;
    }
    const char *id;
    json_t *r;
    json_object_foreach(json_object_get(tpl, "Resources"), id, r) {
        if (!id_ok(id)) fuzz_fail("bad logical id", id);
        if (!json_is_string(json_object_get(r, "Type"))) fuzz_fail("resource without Type", id);
    }
    json_object_foreach(json_object_get(tpl, "Parameters"), id, r)
        if (!id_ok(id)) fuzz_fail("bad parameter id", id);
    check_refs(tpl, tpl);
    char *text = json_dumps(tpl, JSON_COMPACT);
    if (!text) fuzz_fail("template does not serialise", NULL);
    free(text);
    json_decref(tpl);
    return 0;
}
