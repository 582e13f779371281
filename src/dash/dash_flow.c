/* The pipe and delivery stream pages: their configuration (filters, batching, buffering,
 * processors, prefixes), a delivery stream's recent objects and error-output objects, and
 * the lines of one object. */
#include "dash_int.h"
#include "lake/lake.h"

#include <stdlib.h>
#include <string.h>

#define DASH_DEFAULT_ERROR_PREFIX "processing-failed/"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }
static json_t *json_or_null(json_t *j) { return j ? json_incref(j) : json_null(); }

/* GET api/pipe?name=P: the pipe's configuration. */
void dash_api_pipe(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX];
    dash_param(query, "name", name, sizeof name);
    const sp_cfg_pipe *p = NULL;
    for (size_t i = 0; i < d->src.cfg->n_pipes; i++)
        if (!strcmp(d->src.cfg->pipes[i].name, name)) p = &d->src.cfg->pipes[i];
    if (!p) {
        dash_error(resp, 404, "no such pipe in the configuration");
        return;
    }
    /* a pipe with a remote target (target: {kind: kinesis|kafka, ...}) has no target_stream,
     * one with a remote source (source: {kind: dynamodb-streams, ...}) no source_table */
    json_t *out = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o}", "name", p->name,
                            "source_table", str_or_null(p->source_table), "source",
                            json_or_null(p->source), "target_stream",
                            str_or_null(p->target_stream), "target", json_or_null(p->target),
                            "starting_position", str_or_null(p->starting_position),
                            "batch_size", (json_int_t)p->batch_size,
                            "batching_window_seconds", (json_int_t)p->batching_window_seconds,
                            "partition_key_path", str_or_null(p->partition_key_path),
                            "filters", json_or_null(p->filters));
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}

typedef struct recent {
    json_t *ring[DASH_OBJECTS_MAX];
    size_t n;    /* objects seen */
} recent;

static bool keep_recent(void *arg, const lake_object_info *o)
{
    recent *r = arg;
    json_t **slot = &r->ring[r->n++ % DASH_OBJECTS_MAX];
    json_decref(*slot);
    *slot = json_pack("{s:s, s:I, s:I}", "key", o->key, "size", (json_int_t)o->size, "mtime_ms",
                      (json_int_t)o->mtime_ms);
    return true;
}

/* Whether the delivery stream writes to a remote service rather than this lake. */
static bool remote(const sp_cfg_delivery *c)
{
    const char *kind = json_string_value(json_object_get(c->destination, "kind"));
    return kind && strcmp(kind, "lake");
}

/* The last DASH_OBJECTS_MAX objects under prefix in key order (the keys start with the
 * time), newest first, and how many there are. */
static json_t *objects_under(dash *d, const char *bucket, const char *prefix, size_t *total)
{
    recent r = {0};
    sp_err e = {0};
    if (d->src.lake) lake_object_list(d->src.lake, bucket, prefix, keep_recent, &r, &e);
    json_t *list = json_array();
    size_t kept = r.n < DASH_OBJECTS_MAX ? r.n : DASH_OBJECTS_MAX;
    for (size_t i = 0; i < kept; i++)
        json_array_append_new(list, r.ring[(r.n - 1 - i) % DASH_OBJECTS_MAX]);
    *total = r.n;
    return list;
}

/* The constant part of a prefix: up to its first !{...} expression. */
static char *prefix_head(const char *prefix)
{
    const char *x = prefix ? strstr(prefix, "!{") : NULL;
    return prefix ? strndup(prefix, x ? (size_t)(x - prefix) : strlen(prefix)) : strdup("");
}

/* GET api/delivery?name=D: configuration, recent objects, error-output objects. */
void dash_api_delivery(dash *d, const char *query, sp_http_resp *resp)
{
    char name[DASH_PARAM_MAX];
    dash_param(query, "name", name, sizeof name);
    const sp_cfg_delivery *c = sp_config_delivery(d->src.cfg, name);
    if (!c) {
        dash_error(resp, 404, "no such delivery stream in the configuration");
        return;
    }
    /* Firehose's default error prefix when none is configured (delivery/key.c). */
    const char *error_prefix = c->error_output_prefix && *c->error_output_prefix
                                   ? c->error_output_prefix : DASH_DEFAULT_ERROR_PREFIX;
    char *data_head = prefix_head(c->prefix), *error_head = prefix_head(error_prefix);
    size_t n_objects = 0, n_errors = 0;
    /* A stream writing to a remote destination has no objects in this lake to list. */
    json_t *objects = c->bucket && !remote(c) ? objects_under(d, c->bucket, data_head, &n_objects)
                                              : json_array();
    json_t *errors = *error_head && c->bucket && !remote(c)
                         ? objects_under(d, c->bucket, error_head, &n_errors)
                         : json_array();
    if (!*data_head && *error_head) {
        /* Data and errors share the bucket root: keep error objects out of the data list. */
        json_t *only = json_array();
        size_t i;
        json_t *o;
        json_array_foreach(objects, i, o)
            if (strncmp(json_string_value(json_object_get(o, "key")), error_head,
                        strlen(error_head)))
                json_array_append(only, o);
        json_decref(objects);
        objects = only;
        n_objects -= n_errors;
    }
    json_t *cfg = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:b, s:o, s:o}",
                            "source_stream", str_or_null(c->source_stream), "bucket",
                            str_or_null(c->bucket),
                            "prefix", str_or_null(c->prefix), "error_output_prefix",
                            str_or_null(c->error_output_prefix), "buffer_size_mb",
                            (json_int_t)c->buffer_size_mb, "buffer_interval_seconds",
                            (json_int_t)c->buffer_interval_seconds, "compression",
                            str_or_null(c->compression), "append_delimiter", c->append_delimiter,
                            "processors", json_or_null(c->processors), "dynamic_partitioning",
                            json_or_null(c->dynamic_partitioning));
    json_object_set_new(cfg, "source", json_or_null(c->source)); /* remote: {kind: kafka, ...} */
    if (c->destination) {
        /* Where the objects go, without any credentials the destination carries. */
        json_t *dest = json_object();
        const char *keep[] = {"kind", "endpoint", "region", "bucket"};
        for (size_t i = 0; i < SP_ARRAY_LEN(keep); i++) {
            json_t *v = json_object_get(c->destination, keep[i]);
            if (v) json_object_set(dest, keep[i], v);
        }
        json_object_set_new(cfg, "destination", dest);
    }
    json_t *out = json_pack("{s:s, s:o, s:o, s:I, s:o, s:I}", "name", c->name, "config", cfg,
                            "objects", objects, "objects_total", (json_int_t)n_objects,
                            "error_objects", errors, "error_objects_total", (json_int_t)n_errors);
    free(data_head);
    free(error_head);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}

static bool bucket_configured(const sp_config *cfg, const char *bucket)
{
    for (size_t i = 0; i < cfg->n_buckets; i++)
        if (!strcmp(cfg->buckets[i].name, bucket)) return true;
    return false;
}

/* GET api/object?bucket=B&key=K: the object's first lines (each parsed when it is JSON). */
void dash_api_object(dash *d, const char *query, sp_http_resp *resp)
{
    char bucket[DASH_PARAM_MAX], key[DASH_PARAM_MAX];
    sp_err e = {0};
    if (!dash_param(query, "bucket", bucket, sizeof bucket) ||
        !dash_param(query, "key", key, sizeof key) || !bucket_configured(d->src.cfg, bucket)) {
        dash_error(resp, 400, "name a configured bucket and a key: ?bucket=&key=");
        return;
    }
    lake_object_info info;
    if (!d->src.lake || !lake_key_valid(key, &e) ||
        !lake_object_stat(d->src.lake, bucket, key, &info, &e)) {
        dash_error(resp, 404, "no such object");
        return;
    }
    size_t len = info.size < DASH_OBJECT_BYTES_MAX ? (size_t)info.size : DASH_OBJECT_BYTES_MAX;
    char *data = NULL;
    if (len && !lake_object_read(d->src.lake, bucket, key, 0, len, &data, &e)) {
        dash_error(resp, 500, "the object cannot be read");
        return;
    }
    json_t *lines = json_array();
    bool binary = len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b;
    for (size_t at = 0; !binary && at < len && json_array_size(lines) < DASH_OBJECT_LINES_MAX;) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (data + at)) : len - at;
        json_t *parsed = json_loadb(data + at, n, 0, NULL);
        if (!parsed) parsed = json_stringn(data + at, n); /* NULL unless UTF-8 */
        json_array_append_new(lines, parsed ? parsed : json_string("(not UTF-8 text)"));
        at += n + 1;
    }
    free(data);
    json_t *out = json_pack("{s:s, s:s, s:I, s:b, s:o}", "bucket", bucket, "key", key, "size",
                            (json_int_t)info.size, "compressed", binary, "lines", lines);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}
