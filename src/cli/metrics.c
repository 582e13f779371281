/* Prometheus text for GET /_salespipe/metrics, derived from the health document so the two
 * can never disagree: every numeric leaf of services.<service> becomes a sample
 *   salespipe_<service>_<field> <value>
 * and a numeric leaf inside a collection of resources ({"<name>": {...}, ...}), at any
 * depth, becomes
 *   salespipe_<service>_<field>{name="<resource>"} <value>
 * Names are lower-cased with anything outside [a-z0-9_] turned into '_'. A delivery stream's
 * sink (kind, target, last remote error) is text, so it is an info sample with labels. The
 * connectors of a pipe or delivery stream to remote services ("connectors": {"source"|"target":
 * {...}}) give samples labelled with both the resource and the role:
 *   salespipe_<service>_connector_<field>{name="<resource>",role="target"} <value>
 * and an info sample with their kind, endpoint and last remote error. */
#include "engine.h"

#include <ctype.h>
#include <string.h>

static void metric_name(sp_str *out, const char *service, const char *field)
{
    sp_str_puts(out, "salespipe_");
    for (const char *parts[2] = {service, field}, **p = parts; p < parts + 2; p++) {
        for (const char *c = *p; *c; c++)
            sp_str_putc(out, isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_');
        if (p == parts) sp_str_putc(out, '_');
    }
}

static void label_value(sp_str *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') sp_str_putc(out, '\\');
        if (*v == '\n') {
            sp_str_puts(out, "\\n");
            continue;
        }
        sp_str_putc(out, *v);
    }
}

static void sample(sp_str *out, const char *service, const char *field, const char *resource,
                   const json_t *v)
{
    double value = json_is_true(v) ? 1 : json_is_false(v) ? 0 : json_number_value(v);
    metric_name(out, service, field);
    if (resource) {
        sp_str_puts(out, "{name=\"");
        label_value(out, resource);
        sp_str_puts(out, "\"}");
    }
    sp_str_appendf(out, " %.17g\n", value);
}

static bool is_sample(const json_t *v) { return json_is_number(v) || json_is_boolean(v); }

/* True for {"<resource name>": {...}, ...}: an object whose members are all objects. */
static bool is_collection(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) == 0) return false;
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m) if (!json_is_object(m)) return false;
    return true;
}

/* Numeric leaves of obj; a collection's member names become the name label. */
static void walk(sp_str *out, const char *service, const json_t *obj, const char *resource,
                 int depth)
{
    const char *field;
    json_t *v;
    if (depth > 4) return;
    json_object_foreach((json_t *)obj, field, v) {
        if (!strcmp(field, "connectors") && resource) continue;   /* connector_samples */
        if (is_sample(v)) {
            sample(out, service, field, resource, v);
        } else if (is_collection(v)) {
            const char *name;
            json_t *inner;
            json_object_foreach(v, name, inner) walk(out, service, inner, name, depth + 1);
        } else if (json_is_object(v)) {
            walk(out, service, v, resource ? resource : field, depth + 1);
        }
    }
}

/* The text fields of a delivery stream's sink as an info sample (value 1, the text in
 * labels), since Prometheus samples are numbers:
 *   salespipe_firehose_sink_info{name="s",kind="s3",target="...",last_error="..."} 1 */
static void sink_info(sp_str *out, const json_t *firehose)
{
    const char *name;
    json_t *d;
    json_object_foreach(json_object_get(firehose, "delivery_streams"), name, d) {
        const char *kind = json_string_value(json_object_get(d, "sink"));
        if (!kind) continue;
        const char *labels[][2] = {
            {"name", name}, {"kind", kind},
            {"target", json_string_value(json_object_get(d, "sink_target"))},
            {"last_error", json_string_value(json_object_get(d, "sink_last_error"))},
        };
        sp_str_puts(out, "salespipe_firehose_sink_info{");
        for (size_t i = 0; i < SP_ARRAY_LEN(labels); i++) {
            sp_str_appendf(out, "%s%s=\"", i ? "," : "", labels[i][0]);
            label_value(out, labels[i][1] ? labels[i][1] : "");
            sp_str_putc(out, '"');
        }
        sp_str_puts(out, "} 1\n");
    }
}

/* The connectors of each resource of a collection (pipes.pipes, firehose.delivery_streams). */
static void connector_samples(sp_str *out, const char *service, const json_t *resources)
{
    const char *name;
    json_t *r;
    json_object_foreach((json_t *)resources, name, r) {
        const char *role;
        json_t *c;
        json_object_foreach(json_object_get(r, "connectors"), role, c) {
            const char *field;
            json_t *v;
            json_object_foreach(c, field, v) {
                if (!is_sample(v)) continue;
                char full[96];
                snprintf(full, sizeof full, "connector_%s", field);
                metric_name(out, service, full);
                sp_str_puts(out, "{name=\"");
                label_value(out, name);
                sp_str_puts(out, "\",role=\"");
                label_value(out, role);
                sp_str_appendf(out, "\"} %.17g\n", json_number_value(v));
            }
            const char *labels[][2] = {
                {"name", name}, {"role", role},
                {"kind", json_string_value(json_object_get(c, "kind"))},
                {"endpoint", json_string_value(json_object_get(c, "endpoint"))},
                {"last_error", json_string_value(json_object_get(c, "last_error"))},
            };
            metric_name(out, service, "connector_info");
            sp_str_putc(out, '{');
            for (size_t i = 0; i < SP_ARRAY_LEN(labels); i++) {
                sp_str_appendf(out, "%s%s=\"", i ? "," : "", labels[i][0]);
                label_value(out, labels[i][1] ? labels[i][1] : "");
                sp_str_putc(out, '"');
            }
            sp_str_puts(out, "} 1\n");
        }
    }
}

void cli_engine_metrics(void *engine, sp_str *out)
{
    json_t *health = cli_engine_health(engine);
    const char *service;
    json_t *svc;
    json_object_foreach(json_object_get(health, "services"), service, svc) {
        walk(out, service, svc, NULL, 0);
        if (!strcmp(service, "firehose")) sink_info(out, svc);
        if (!strcmp(service, "firehose"))
            connector_samples(out, service, json_object_get(svc, "delivery_streams"));
        if (!strcmp(service, "pipes")) connector_samples(out, service, json_object_get(svc, "pipes"));
    }
    json_decref(health);
}
