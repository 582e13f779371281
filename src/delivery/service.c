/* The delivery service: every delivery stream of the engine, each with its definition, its
 * directory (<dir>/<name>/ holding state.json and, for Direct PUT, direct.log), its runner,
 * and a reference count so an API call that found a stream can finish with it while
 * DeleteDeliveryStream removes it. Streams created through the API are persisted as
 * <dir>/streams/<name>.json and reloaded on open. */
#include "conn/conn.h"
#include "core/fs.h"
#include "dlv_svc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char STREAMS_DIR[] = "streams";

static char *path_of(const dlv_service *s, const char *a, const char *b)
{
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&p, "%s/%s%s%s", s->dir, a, b ? "/" : "", b ? b : "");
    return sp_str_finish(&p, NULL);
}

static void entry_free(dlv_entry *en)
{
    dlv_runner_destroy(en->runner);
    dlv_direct_close(en->direct);
    dlv_def_free(en->def);
    for (size_t i = 0; i < en->n_retired; i++) dlv_def_free(en->retired[i]);
    free(en->retired);
    free(en->dir);
    free(en);
}

dlv_entry *dlv_service_find(dlv_service *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    dlv_entry *en = s->head;
    while (en && strcmp(en->def->name, name)) en = en->next;
    if (en) en->refs++;
    pthread_mutex_unlock(&s->mu);
    return en;
}

void dlv_service_release(dlv_service *s, dlv_entry *en)
{
    if (!en) return;
    pthread_mutex_lock(&s->mu);
    bool last = --en->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) entry_free(en);
}

/* The source a runner of en reads (en->direct must be open for Direct PUT). false: no
 * Kinesis log in this process. */
static bool entry_source(dlv_service *s, dlv_entry *en, dlv_source *src)
{
    if (en->def->remote_source) {
        sp_err e = {0};
        if (dlv_remote_source(en->def->remote_source, en->dir, en->def->name, src, &e)) return true;
        sp_warn("delivery stream '%s': %s", en->def->name, e.msg);
        return false;
    }
    if (!en->def->source_stream) *src = dlv_direct_source(en->direct);
    else if (s->log) *src = dlv_kinesis_source(s->log, en->def->source_stream);
    else return false;
    return true;
}

/* The sink the entry's definition names: its remote destination, or the embedded lake. */
static bool sink_remote(const dlv_def *def)
{
    const char *kind = json_string_value(json_object_get(def->sink, "kind"));
    return kind && !strcmp(kind, "s3");
}

static bool entry_sink(dlv_service *s, const dlv_def *def, dlv_sink *out, sp_err *e)
{
    if (sink_remote(def)) return dlv_sink_s3_new(def->sink, out, e);
    *out = dlv_sink_lake(s->lake);
    return true;
}

/* Writes the definition of a stream created through the API to <dir>/streams/<name>.json
 * (tmp + rename). */
static bool persist(dlv_service *s, const dlv_def *def, sp_err *e)
{
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&p, "%s.json", def->name);
    char *path = path_of(s, STREAMS_DIR, p.buf);
    sp_str_release(&p);
    json_t *j = dlv_def_to_json(def);
    sp_err io = {0};
    bool ok = sp_fs_write_json_atomic(path, j, &io);
    json_decref(j);
    free(path);
    if (!ok) {
        sp_warn("delivery: %s", io.msg);
        sp_err_internal(e, "cannot persist delivery stream '%s'", def->name);
    }
    return ok;
}

/* Builds the entry's directory, Direct PUT log and runner; takes def. */
static dlv_entry *entry_new(dlv_service *s, dlv_def *def, sp_err *e)
{
    dlv_entry *en = calloc(1, sizeof *en);
    en->def = def;
    en->refs = 1;
    en->dir = path_of(s, def->name, NULL);
    if (!sp_fs_mkdirs(en->dir, e)) goto fail;
    dlv_source src;
    if (!def->source_stream && !def->remote_source) {
        char *log_path = path_of(s, def->name, "direct.log");
        en->direct = dlv_direct_open(log_path, e);
        free(log_path);
        if (!en->direct) goto fail;
    }
    if (!entry_source(s, en, &src)) {
        sp_warn("delivery stream '%s': no Kinesis log in this process; it stays idle",
                def->name);
        return en;
    }
    dlv_sink sink;
    if (!entry_sink(s, def, &sink, e)) {
        if (src.destroy) src.destroy(src.ctx);
        goto fail;
    }
    en->runner = dlv_runner_new(def, src, sink, en->dir, e);
    if (!en->runner) goto fail;
    dlv_runner_set_schema_source(en->runner, &s->schema);
    return en;
fail:
    sp_err_wrap(e, def->name);
    entry_free(en);
    return NULL;
}

static void link_entry(dlv_service *s, dlv_entry *en)
{
    pthread_mutex_lock(&s->mu);
    dlv_entry **p = &s->head;
    while (*p) p = &(*p)->next;
    *p = en;
    pthread_mutex_unlock(&s->mu);
}

static bool load_persisted(dlv_service *s, sp_err *e)
{
    char *dir = path_of(s, STREAMS_DIR, NULL);
    bool ok = sp_fs_mkdirs(dir, e);
    DIR *d = ok ? opendir(dir) : NULL;
    struct dirent *de;
    while (ok && d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") || !strncmp(de->d_name, ".tmp-", 5))
            continue;
        char *path = path_of(s, STREAMS_DIR, de->d_name);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        dlv_def *def = j ? dlv_def_from_json(j, e) : NULL;
        if (!j) sp_err_internal(e, "'%s': %s", path, je.text);
        json_decref(j);
        free(path);
        if (!def) {
            ok = false;
            break;
        }
        dlv_entry *old = dlv_service_find(s, def->name);
        if (old) {                       /* the configuration wins over a stale file */
            dlv_service_release(s, old);
            dlv_def_free(def);
            continue;
        }
        dlv_entry *en = entry_new(s, def, e);
        if (!en) ok = false;
        else link_entry(s, en);
    }
    if (d) closedir(d);
    free(dir);
    return ok;
}

dlv_service *dlv_service_open(const char *dir, const sp_config *cfg, lake *lk, stm_log *log,
                              sp_err *e)
{
    dlv_service *s = calloc(1, sizeof *s);
    s->dir = strdup(dir);
    s->lake = lk;
    s->log = log;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->update_mu, NULL);
    if (!sp_fs_mkdirs(dir, e)) goto fail;
    for (size_t i = 0; i < cfg->n_deliveries; i++) {
        dlv_def *def = dlv_def_from_config(&cfg->deliveries[i], e);
        if (!def) goto fail;
        /* The lake's bucket, when the objects go there (a remote one is not made here). */
        if (!sink_remote(def) && !lake_bucket_create(lk, def->bucket, e)) {
            dlv_def_free(def);
            goto fail;
        }
        dlv_entry *en = entry_new(s, def, e);
        if (!en) goto fail;
        link_entry(s, en);
    }
    if (!load_persisted(s, e)) goto fail;
    return s;
fail:
    dlv_service_close(s);
    return NULL;
}

bool dlv_service_start(dlv_service *s, sp_err *e)
{
    pthread_mutex_lock(&s->mu);
    s->started = true;
    bool ok = true;
    for (dlv_entry *en = s->head; en && ok; en = en->next)
        if (en->runner) ok = dlv_runner_start(en->runner, e);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

bool dlv_service_add(dlv_service *s, dlv_def *def, sp_err *e)
{
    dlv_entry *old = dlv_service_find(s, def->name);
    if (old) {
        dlv_service_release(s, old);
        sp_err_set(e, 400, "ResourceInUseException", "Firehose %s under account %s already exists",
                   def->name, DLV_ACCOUNT);
        dlv_def_free(def);
        return false;
    }
    if (def->source_stream && s->log && stm_shard_list(s->log, def->source_stream, NULL, 0, e) < 0) {
        sp_err_set(e, 400, "InvalidArgumentException", "Kinesis stream '%s' does not exist",
                   def->source_stream);
        dlv_def_free(def);
        return false;
    }
    if (!lake_bucket_create(s->lake, def->bucket, e)) {
        dlv_def_free(def);
        return false;
    }
    /* Persist first: a stream that was acknowledged must come back after a restart, also
     * after a power loss (persist fsyncs before the rename, the directory after it). */
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&p, "%s.json", def->name);
    char *path = path_of(s, STREAMS_DIR, p.buf);
    sp_str_release(&p);
    if (!persist(s, def, e)) {
        free(path);
        dlv_def_free(def);
        return false;
    }
    dlv_entry *en = entry_new(s, def, e);
    if (!en) {
        unlink(path);
        free(path);
        return false;
    }
    free(path);
    pthread_mutex_lock(&s->mu);
    bool start = s->started;
    pthread_mutex_unlock(&s->mu);
    if (start && en->runner && !dlv_runner_start(en->runner, e)) {
        entry_free(en);
        return false;
    }
    link_entry(s, en);
    return true;
}

bool dlv_service_update(dlv_service *s, dlv_entry *en, dlv_def *def, sp_err *e)
{
    if (!en->def->from_api) {
        dlv_invalid(e, "delivery stream '%s' is defined by the configuration file; change it "
                       "there", en->def->name);
        dlv_def_free(def);
        return false;
    }
    pthread_mutex_lock(&s->update_mu);
    pthread_mutex_lock(&s->mu);
    dlv_entry *linked = s->head;
    while (linked && linked != en) linked = linked->next;
    pthread_mutex_unlock(&s->mu);
    if (!linked) {                       /* deleted since the caller found it */
        pthread_mutex_unlock(&s->update_mu);
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Firehose %s under account %s not found.", def->name, DLV_ACCOUNT);
        dlv_def_free(def);
        return false;
    }
    if (!persist(s, def, e)) {
        pthread_mutex_unlock(&s->update_mu);
        dlv_def_free(def);
        return false;
    }
    pthread_mutex_lock(&s->mu);
    dlv_runner *old = en->runner;
    en->runner = NULL;
    pthread_mutex_unlock(&s->mu);
    dlv_runner_destroy(old);             /* flushes under the old definition */
    pthread_mutex_lock(&s->mu);
    en->retired = realloc(en->retired, (en->n_retired + 1) * sizeof *en->retired);
    en->retired[en->n_retired++] = en->def;
    en->def = def;
    bool started = s->started;
    pthread_mutex_unlock(&s->mu);
    bool ok = true;
    dlv_source src;
    dlv_sink sink;
    if (entry_source(s, en, &src)) {
        dlv_runner *r = NULL;
        if (entry_sink(s, def, &sink, e)) r = dlv_runner_new(def, src, sink, en->dir, e);
        else if (src.destroy) src.destroy(src.ctx);
        if (r) dlv_runner_set_schema_source(r, &s->schema);
        ok = r && (!started || dlv_runner_start(r, e));
        if (!ok) {
            dlv_runner_destroy(r);
            r = NULL;
        }
        pthread_mutex_lock(&s->mu);
        en->runner = r;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&s->update_mu);
    return ok;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

bool dlv_service_remove(dlv_service *s, const char *name, sp_err *e)
{
    pthread_mutex_lock(&s->update_mu);   /* not while an UpdateDestination swaps the worker */
    pthread_mutex_lock(&s->mu);
    dlv_entry **p = &s->head;
    while (*p && strcmp((*p)->def->name, name)) p = &(*p)->next;
    dlv_entry *en = *p;
    if (en) *p = en->next;
    pthread_mutex_unlock(&s->mu);
    if (!en) {
        pthread_mutex_unlock(&s->update_mu);
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Firehose %s under account %s not found.", name, DLV_ACCOUNT);
        return false;
    }
    sp_str f;
    sp_str_init(&f, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&f, "%s/%s/%s.json", s->dir, STREAMS_DIR, name);
    unlink(f.buf);
    sp_str_release(&f);
    /* Stop the worker now (it flushes); the files go once no call holds the entry. */
    dlv_runner_destroy(en->runner);
    en->runner = NULL;
    remove_tree(en->dir);
    pthread_mutex_unlock(&s->update_mu);
    dlv_service_release(s, en);
    return true;
}

json_t *dlv_service_names(dlv_service *s)
{
    json_t *names = json_array();
    pthread_mutex_lock(&s->mu);
    for (dlv_entry *en = s->head; en; en = en->next)
        json_array_append_new(names, json_string(en->def->name));
    pthread_mutex_unlock(&s->mu);
    return names;
}

void dlv_service_set_schema_source(dlv_service *s, dlv_schema_fn fn, void *ctx)
{
    pthread_mutex_lock(&s->mu);
    s->schema.fn = fn;
    s->schema.ctx = ctx;
    pthread_mutex_unlock(&s->mu);
}

json_t *dlv_service_health(dlv_service *s)
{
    json_t *streams = json_object();
    pthread_mutex_lock(&s->mu);
    for (dlv_entry *en = s->head; en; en = en->next) {
        dlv_counters c = {0};
        if (en->runner) dlv_runner_counters(en->runner, &c);
        json_object_set_new(
            streams, en->def->name,
            json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "running",
                      en->runner != NULL, "source",
                      en->def->remote_source
                          ? conn_remote_name(en->def->remote_source)
                          : en->def->source_stream ? en->def->source_stream : "DirectPut",
                      "records_in", (json_int_t)c.records_in, "records_out",
                      (json_int_t)c.records_out, "records_dropped", (json_int_t)c.records_dropped,
                      "records_failed", (json_int_t)c.records_failed, "objects",
                      (json_int_t)c.objects, "error_objects", (json_int_t)c.error_objects,
                      "bytes_out", (json_int_t)c.bytes_out, "redos", (json_int_t)c.redos,
                      "last_error", c.last_error));
        json_t *h = json_object_get(streams, en->def->name);
        /* Where the objects go and what the remote side last refused (its code and message). */
        json_object_set_new(h, "sink", json_string(en->runner ? dlv_runner_sink_kind(en->runner)
                                                              : "none"));
        if (en->runner)
            json_object_set_new(h, "sink_target",
                                json_string(dlv_runner_sink_describe(en->runner)));
        json_object_set_new(h, "sink_errors", json_integer((json_int_t)c.sink_errors));
        json_object_set_new(h, "sink_last_error", json_string(c.sink_last_error));
        json_t *src_health = en->runner ? dlv_runner_source_health(en->runner) : NULL;
        if (src_health) json_object_set_new(h, "connectors", json_pack("{s:o}", "source", src_health));
        const char *warn = dlv_conversion_buffer_warning(en->def);
        if (en->def->conversion) json_object_set_new(h, "format", json_string("parquet"));
        if (warn) json_object_set_new(h, "warning", json_string(warn));
        json_object_set_new(h, "freshness_p50_ms", json_real(sp_hist_quantile(&c.freshness, 0.5)));
        json_object_set_new(h, "freshness_p99_ms", json_real(sp_hist_quantile(&c.freshness, 0.99)));
    }
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:b, s:o}", "running", true, "delivery_streams", streams);
}

void dlv_service_progress(dlv_service *s, dlv_progress *out)
{
    memset(out, 0, sizeof *out);
    out->idle = true;
    pthread_mutex_lock(&s->mu);
    for (dlv_entry *en = s->head; en; en = en->next) {
        if (!en->runner) continue;
        dlv_counters c;
        dlv_runner_counters(en->runner, &c);
        out->delivered += c.records_in;
        out->objects += c.objects;
        out->failed += c.records_failed;
        out->idle = out->idle && dlv_runner_caught_up(en->runner);
    }
    pthread_mutex_unlock(&s->mu);
}

void dlv_service_close(dlv_service *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    dlv_entry *en = s->head;
    s->head = NULL;
    pthread_mutex_unlock(&s->mu);
    while (en) {
        dlv_entry *next = en->next;
        dlv_service_release(s, en);
        en = next;
    }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->update_mu);
    free(s->dir);
    free(s);
}
