/* The template's frame (format version, description, resources, parameters) and the helpers
 * the resource families share: logical ids derived from config names, the intrinsic
 * functions, IAM roles. The families are added in the order the data flows, so that a
 * reader of the template meets each resource after the ones it references. */
#include "exp_int.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char TEMPLATE_FORMAT_VERSION[] = "2010-09-09";

void exp_fail(sp_err *e, const char *section, size_t index, const char *key, const char *fmt, ...)
{
    char what[SP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sp_err_set(e, 400, "InvalidConfiguration", "%s[%zu].%s: %s", section, index, key, what);
}

const char *exp_id(exp_tpl *t, const char *kind, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    const char *have = json_string_value(json_object_get(t->ids, key));
    if (have) return have;
    /* Leave room for a clash suffix. */
    enum { BASE_MAX = EXP_LOGICAL_ID_MAX - 8 };
    char out[EXP_LOGICAL_ID_MAX + 1];
    size_t n = 0;
    for (const char *k = kind; *k && n < BASE_MAX; k++)
        if (isalnum((unsigned char)*k)) out[n++] = *k;
    bool word_start = true;
    for (const unsigned char *c = (const unsigned char *)name; *c && n < BASE_MAX; c++) {
        if (*c >= 0x80 || !isalnum(*c)) {
            word_start = true;
            continue;
        }
        out[n++] = word_start ? (char)toupper(*c) : (char)*c;
        word_start = false;
    }
    out[n] = '\0';
    for (int suffix = 2; json_object_get(t->ids_taken, out); suffix++)
        snprintf(out + n, sizeof out - n, "%d", suffix);
    json_object_set_new(t->ids_taken, out, json_true());
    json_object_set_new(t->ids, key, json_string(out));
    return json_string_value(json_object_get(t->ids, key));
}

void exp_resource_add(exp_tpl *t, const char *id, const char *type, json_t *props)
{
    assert(!json_object_get(t->resources, id));
    json_object_set_new(t->resources, id, json_pack("{s:s, s:o}", "Type", type, "Properties", props));
}

json_t *exp_ref(const char *id)
{
    return json_pack("{s:s}", "Ref", id);
}

json_t *exp_getatt(const char *id, const char *attr)
{
    return json_pack("{s:[s, s]}", "Fn::GetAtt", id, attr);
}

json_t *exp_sub(const char *fmt, ...)
{
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    va_list ap;
    va_start(ap, fmt);
    sp_str_appendv(&s, fmt, ap);
    va_end(ap);
    char *text = sp_str_finish(&s, NULL);
    json_t *v = json_pack("{s:s}", "Fn::Sub", text ? text : "");
    free(text);
    return v;
}

char *exp_sub_literal(const char *s)
{
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    for (; *s; s++) {
        sp_str_putc(&out, *s);
        if (s[0] == '$' && s[1] == '{') {
            sp_str_puts(&out, "{!");
            s++;
        }
    }
    char *r = sp_str_finish(&out, NULL);
    return r ? r : strdup("");
}

json_t *exp_allow(const char *const *actions, json_t *resources)
{
    json_t *acts = json_array();
    for (; *actions; actions++) json_array_append_new(acts, json_string(*actions));
    return json_pack("{s:s, s:o, s:o}", "Effect", "Allow", "Action", acts, "Resource", resources);
}

void exp_role_add(exp_tpl *t, const char *id, const char *service, const char *policy_name,
                  json_t *statements, json_t *managed)
{
    json_t *trust = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}]}", "Version", "2012-10-17",
                              "Statement", "Effect", "Allow", "Principal", "Service", service,
                              "Action", "sts:AssumeRole");
    json_t *props = json_pack("{s:o}", "AssumeRolePolicyDocument", trust);
    if (statements && json_array_size(statements))
        json_object_set_new(props, "Policies",
                            json_pack("[{s:s, s:{s:s, s:o}}]", "PolicyName", policy_name,
                                      "PolicyDocument", "Version", "2012-10-17", "Statement",
                                      statements));
    else
        json_decref(statements);
    if (managed) json_object_set_new(props, "ManagedPolicyArns", managed);
    exp_resource_add(t, id, "AWS::IAM::Role", props);
}

json_t *exp_cfn_template(const sp_config *cfg, sp_err *e)
{
    exp_tpl t = {.cfg = cfg, .resources = json_object(), .parameters = json_object(),
                 .ids = json_object(), .ids_taken = json_object()};
    t.root = json_pack("{s:s, s:s, s:o, s:o}", "AWSTemplateFormatVersion", TEMPLATE_FORMAT_VERSION,
                       "Description",
                       "salespipe pipeline: DynamoDB table stream -> EventBridge Pipe -> Kinesis "
                       "-> Firehose (+Lambda) -> S3 -> Glue crawler (exported by salespipe "
                       "export cloudformation)",
                       "Parameters", t.parameters, "Resources", t.resources);
    bool ok = true;
    for (size_t i = 0; ok && i < cfg->n_tables; i++) ok = exp_table_add(&t, &cfg->tables[i], e);
    for (size_t i = 0; ok && i < cfg->n_streams; i++) ok = exp_stream_add(&t, &cfg->streams[i], e);
    for (size_t i = 0; ok && i < cfg->n_pipes; i++) ok = exp_pipe_add(&t, &cfg->pipes[i], i, e);
    for (size_t i = 0; ok && i < cfg->n_buckets; i++) ok = exp_bucket_add(&t, &cfg->buckets[i], e);
    for (size_t i = 0; ok && i < cfg->n_deliveries; i++)
        ok = exp_delivery_add(&t, &cfg->deliveries[i], i, e);
    if (ok) ok = exp_catalog_add(&t, e);
    json_decref(t.ids);
    json_decref(t.ids_taken);
    if (!ok) {
        json_decref(t.root);
        return NULL;
    }
    if (!json_object_size(t.parameters)) json_object_del(t.root, "Parameters");
    return t.root;
}
