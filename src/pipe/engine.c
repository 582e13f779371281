/* The pipe stage's registry: every pipe (configured or API-created) with its runner and
 * counters, the operations behind the Pipes API, persistence of API changes, and health.
 *
 * Which definition wins: a pipe saved in pipes.json (created, updated, started or stopped
 * through the API) wins over the configuration; a configured pipe deleted through the API
 * stays deleted (its name is remembered) until it is created again.
 */
#include "conn/conn.h"
#include "core/fs.h"
#include "pipe_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { PIP_REASON_MAX = SP_ERR_MSG_MAX, PIP_DRAIN_POLL_MS = 20 };

typedef struct pip_entry {
    pip_def *def;
    pip_runner *runner;        /* NULL when it could not be prepared (see reason) */
    char *hash_key;            /* the source table's hash key attribute, or NULL */
    pip_counters counters;
    pip_io io;                 /* en->io, or with connectors in place (remote.c) */
    pip_remote *remote;        /* the connectors, or NULL */
    bool persisted;            /* defined by pipes.json rather than the config */
    char reason[PIP_REASON_MAX];
} pip_entry;

struct pip_engine {
    pthread_mutex_t mu;
    char *dir;
    tbl_db *tables;
    stm_log *log;
    pip_io io;
    pip_entry **entries;
    size_t n, cap;
    json_t *deleted;           /* names of configured pipes deleted through the API */
    bool started;
};

/* ---- resolving sources and targets ------------------------------------------------------ */

static const char *str_or(const json_t *v) { return json_is_string(v) ? json_string_value(v) : ""; }

/* Checks that the source table has a stream and the target stream exists; fills the table's
 * stream ARN (if asked) and its hash key (heap, may stay NULL). */
static bool resolve(pip_engine *en, const pip_def *d, char **stream_arn, char **hash_key, sp_err *e)
{
    if (d->remote_source) return true; /* the remote checks it on the first read */
    const sp_op *op = sp_op_find(tbl_ddb_ops, "DescribeTable", strlen("DescribeTable"));
    json_t *req = json_pack("{s:s}", "TableName", d->source_table);
    sp_err te = {0};
    json_t *resp = op ? op->fn(en->tables, req, &te) : NULL;
    json_decref(req);
    json_t *table = json_object_get(resp, "Table");
    const char *arn = json_string_value(json_object_get(table, "LatestStreamArn"));
    if (!arn) {
        sp_err_invalid(e, "Source: table '%s' %s", d->source_table,
                       resp ? "has no stream enabled" : "does not exist");
        json_decref(resp);
        return false;
    }
    if (stream_arn) *stream_arn = strdup(arn);
    json_t *ks;
    size_t i;
    json_array_foreach(json_object_get(table, "KeySchema"), i, ks)
        if (!strcmp(str_or(json_object_get(ks, "KeyType")), "HASH") &&
            json_is_string(json_object_get(ks, "AttributeName")))
            *hash_key = strdup(str_or(json_object_get(ks, "AttributeName")));
    json_decref(resp);
    sp_err se = {0};
    if (!d->remote_target && stm_shard_list(en->log, d->target_stream, NULL, 0, &se) < 0) {
        sp_err_invalid(e, "Target: Kinesis stream '%s' does not exist", d->target_stream);
        free(*hash_key);
        *hash_key = NULL;
        return false;
    }
    return true;
}

/* ---- entries ---------------------------------------------------------------------------- */

static pip_entry *entry_find(pip_engine *en, const char *name, size_t *index)
{
    for (size_t i = 0; i < en->n; i++)
        if (!strcmp(en->entries[i]->def->name, name)) {
            if (index) *index = i;
            return en->entries[i];
        }
    return NULL;
}

static void entry_free(pip_entry *x)
{
    if (!x) return;
    pip_runner_destroy(x->runner);
    pip_remote_free(x->remote);
    pip_def_free(x->def);
    free(x->hash_key);
    free(x);
}

/* The Pipes API changes only pipes it can persist: pipes.json keeps the API's shape, so a
 * remote stage the API can name by an AWS ARN (a Kinesis stream) is saved and taken back
 * from the configuration on load (pip_remote_inherit), while one it cannot (a Kafka topic,
 * kafka://...) lives in the configuration file only. */
static bool entry_api_changeable(const pip_entry *x, sp_err *e)
{
    if (!strncmp(x->def->target_arn, "arn:", 4)) return true;
    sp_err_invalid(e, "Pipe %s has a %s target, which is defined in the configuration file; "
                      "change it there", x->def->name, conn_remote_kind(x->def->remote_target));
    return false;
}

/* Takes def. Prepares its runner; a pipe whose source or target is missing is still listed
 * (with a reason) so it can be inspected, updated or deleted, as AWS does. */
static pip_entry *entry_add(pip_engine *en, pip_def *def, bool persisted)
{
    pip_entry *x = calloc(1, sizeof *x);
    x->def = def;
    x->persisted = persisted;
    sp_err e = {0};
    char *arn = NULL;
    if (resolve(en, def, strstr(def->source_arn, "/stream/latest") ? &arn : NULL, &x->hash_key, &e)) {
        if (arn) {
            free(def->source_arn);
            def->source_arn = arn;
        }
        if (pip_remote_io(def, en->dir, &en->io, &x->io, &x->remote, &e))
            x->runner = pip_runner_new(def, en->dir, x->hash_key, &x->io, &x->counters, &e);
    }
    if (!x->runner) snprintf(x->reason, sizeof x->reason, "%s", e.msg);
    if (en->n == en->cap) {
        en->cap = en->cap ? en->cap * 2 : 8;
        en->entries = realloc(en->entries, en->cap * sizeof *en->entries);
    }
    en->entries[en->n++] = x;
    return x;
}

static bool entry_run(pip_engine *en, pip_entry *x, sp_err *e)
{
    if (!en->started || !x->def->running || !x->runner) return true;
    return pip_runner_start(x->runner, e);
}

static const char *current_state(const pip_entry *x)
{
    if (!x->runner) return x->def->running ? "START_FAILED" : "STOPPED";
    return pip_runner_running(x->runner) ? "RUNNING" : "STOPPED";
}

static bool save(pip_engine *en, sp_err *e)
{
    json_t *pipes = json_array();
    for (size_t i = 0; i < en->n; i++)
        if (en->entries[i]->persisted) json_array_append_new(pipes, pip_def_to_json(en->entries[i]->def));
    json_t *doc = json_pack("{s:o, s:O}", "pipes", pipes, "deleted", en->deleted);
    bool ok = pip_store_save(en->dir, doc, e);
    json_decref(doc);
    return ok;
}

static void deleted_forget(pip_engine *en, const char *name)
{
    for (size_t i = 0; i < json_array_size(en->deleted); i++)
        if (!strcmp(json_string_value(json_array_get(en->deleted, i)), name)) {
            json_array_remove(en->deleted, i);
            return;
        }
}

static bool deleted_has(pip_engine *en, const char *name)
{
    for (size_t i = 0; i < json_array_size(en->deleted); i++)
        if (!strcmp(json_string_value(json_array_get(en->deleted, i)), name)) return true;
    return false;
}

/* ---- open / start / close --------------------------------------------------------------- */

static bool load_persisted(pip_engine *en, const sp_config *cfg, sp_err *e)
{
    json_t *doc = pip_store_load(en->dir, e);
    if (!doc) return false;
    en->deleted = json_incref(json_object_get(doc, "deleted"));
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(doc, "pipes"), i, p) {
        const char *name = json_string_value(json_object_get(p, "Name"));
        pip_def *d = name ? pip_def_parse(name, p, NULL, e) : NULL;
        if (!d) {
            if (!sp_err_failed(e)) sp_err_internal(e, "pipes.json: pipe %zu has no Name", i);
            sp_err_wrap(e, "pipes.json");
            json_decref(doc);
            return false;
        }
        d->created_ms = (int64_t)(json_number_value(json_object_get(p, "CreationTime")) * 1000);
        d->modified_ms = (int64_t)(json_number_value(json_object_get(p, "LastModifiedTime")) * 1000);
        pip_remote_inherit(d, cfg);
        entry_add(en, d, true);
    }
    json_decref(doc);
    return true;
}

pip_engine *pip_engine_open(const char *dir, const sp_config *cfg, tbl_db *tables, stm_log *log,
                            sp_err *e)
{
    if (!sp_fs_mkdirs(dir, e)) return NULL;
    pip_engine *en = calloc(1, sizeof *en);
    pthread_mutex_init(&en->mu, NULL);
    en->dir = strdup(dir);
    en->tables = tables;
    en->log = log;
    en->io = pip_io_default(tables, log);
    if (!load_persisted(en, cfg, e)) goto bad;
    for (size_t i = 0; cfg && i < cfg->n_pipes; i++) {
        if (entry_find(en, cfg->pipes[i].name, NULL) || deleted_has(en, cfg->pipes[i].name)) continue;
        pip_def *d = pip_def_from_config(&cfg->pipes[i], e);
        if (!d) goto bad;
        entry_add(en, d, false);
    }
    for (size_t i = 0; i < en->n; i++)
        if (!en->entries[i]->runner)
            sp_warn("pipe %s cannot run: %s", en->entries[i]->def->name, en->entries[i]->reason);
    return en;
bad:
    pip_engine_close(en);
    return NULL;
}

bool pip_engine_start(pip_engine *en, sp_err *e)
{
    pthread_mutex_lock(&en->mu);
    en->started = true;
    bool ok = true;
    for (size_t i = 0; i < en->n && ok; i++) ok = entry_run(en, en->entries[i], e);
    pthread_mutex_unlock(&en->mu);
    return ok;
}

void pip_engine_close(pip_engine *en)
{
    if (!en) return;
    for (size_t i = 0; i < en->n; i++) entry_free(en->entries[i]);
    free(en->entries);
    json_decref(en->deleted);
    free(en->dir);
    pthread_mutex_destroy(&en->mu);
    free(en);
}

/* ---- API operations --------------------------------------------------------------------- */

static json_t *state_response(const pip_entry *x, const char *desired, const char *current)
{
    char arn[PIP_ARN_MAX + 1];
    pip_def_arn(x->def, arn, sizeof arn);
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:f}", "Arn", arn, "Name", x->def->name,
                     "DesiredState", desired ? desired : x->def->running ? "RUNNING" : "STOPPED",
                     "CurrentState", current ? current : current_state(x), "CreationTime",
                     x->def->created_ms / 1000.0, "LastModifiedTime", x->def->modified_ms / 1000.0);
}

static pip_entry *find_or_404(pip_engine *en, const char *name, size_t *index, sp_err *e)
{
    pip_entry *x = entry_find(en, name, index);
    if (!x) sp_err_set(e, 404, "NotFoundException", "Pipe %s does not exist.", name);
    return x;
}

json_t *pip_engine_create(pip_engine *en, const char *name, const json_t *req, sp_err *e)
{
    pip_def *d = pip_def_parse(name, req, NULL, e);
    if (!d) return NULL;
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    char *hash_key = NULL;
    if (entry_find(en, name, NULL)) {
        sp_err_set(e, 409, "ConflictException", "Pipe %s already exists.", name);
    } else if (resolve(en, d, NULL, &hash_key, e)) {
        free(hash_key);
        d->created_ms = d->modified_ms = sp_clock_wall_ms();
        pip_checkpoint_remove(en->dir, name); /* a new pipe starts at its StartingPosition */
        pip_dlq_high_remove(en->dir, name);
        deleted_forget(en, name);
        pip_entry *x = entry_add(en, d, true);
        d = NULL;
        if (!x->runner) sp_err_internal(e, "%s", x->reason);
        /* As Pipes answers: the transition under way (CREATING); DescribePipe shows where it
         * ended (RUNNING, or STOPPED for a pipe created STOPPED). Here the transition is over
         * before the answer, so the next DescribePipe already shows the end state. */
        if (!sp_err_failed(e) && entry_run(en, x, e) && save(en, e))
            resp = state_response(x, NULL, "CREATING");
        if (!resp) {
            pip_checkpoint_remove(en->dir, name);
            entry_free(en->entries[--en->n]);
        }
    }
    pthread_mutex_unlock(&en->mu);
    pip_def_free(d);
    return resp;
}

json_t *pip_engine_describe(pip_engine *en, const char *name, sp_err *e)
{
    pthread_mutex_lock(&en->mu);
    pip_entry *x = find_or_404(en, name, NULL, e);
    json_t *j = NULL;
    if (x) {
        j = pip_def_to_json(x->def);
        json_object_set_new(j, "CurrentState", json_string(current_state(x)));
        if (x->reason[0]) json_object_set_new(j, "StateReason", json_string(x->reason));
    }
    pthread_mutex_unlock(&en->mu);
    return j;
}

/* Replaces x's definition with d (taken): stops the runner (saving an exact checkpoint, see
 * runner.c), prepares a new one on the same checkpoint and counters, runs it if desired. */
static bool entry_replace(pip_engine *en, pip_entry *x, pip_def *d, sp_err *e)
{
    pip_runner_destroy(x->runner);
    x->runner = NULL;
    x->reason[0] = '\0';
    pip_def_free(x->def);
    x->def = d;
    x->persisted = true;
    free(x->hash_key);
    x->hash_key = NULL;
    sp_err re = {0};
    pip_remote_free(x->remote);
    x->remote = NULL;
    if (resolve(en, d, NULL, &x->hash_key, &re) &&
        pip_remote_io(d, en->dir, &en->io, &x->io, &x->remote, &re))
        x->runner = pip_runner_new(d, en->dir, x->hash_key, &x->io, &x->counters, &re);
    if (!x->runner) snprintf(x->reason, sizeof x->reason, "%s", re.msg);
    return entry_run(en, x, e) && save(en, e);
}

json_t *pip_engine_update(pip_engine *en, const char *name, const json_t *req, sp_err *e)
{
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    pip_entry *x = find_or_404(en, name, NULL, e);
    if (x && !entry_api_changeable(x, e)) x = NULL;
    pip_def *d = x ? pip_def_parse(name, req, x->def, e) : NULL;
    char *hash_key = NULL;
    if (d && resolve(en, d, NULL, &hash_key, e)) {
        free(hash_key);
        d->modified_ms = sp_clock_wall_ms();
        if (entry_replace(en, x, d, e)) resp = state_response(x, NULL, "UPDATING");
        d = NULL;
    }
    pip_def_free(d);
    pthread_mutex_unlock(&en->mu);
    return resp;
}

json_t *pip_engine_set_desired(pip_engine *en, const char *name, bool running, sp_err *e)
{
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    pip_entry *x = find_or_404(en, name, NULL, e);
    if (x && !entry_api_changeable(x, e)) x = NULL;
    if (x && x->def->running == running) {
        sp_err_set(e, 409, "ConflictException", "Pipe %s is already %s.", name,
                   running ? "RUNNING" : "STOPPED");
    } else if (x) {
        x->def->running = running;
        x->def->modified_ms = sp_clock_wall_ms();
        x->persisted = true;
        if (!running) pip_runner_stop(x->runner);
        if (entry_run(en, x, e) && save(en, e))
            resp = state_response(x, NULL, running ? "STARTING" : "STOPPING");
    }
    pthread_mutex_unlock(&en->mu);
    return resp;
}

json_t *pip_engine_delete(pip_engine *en, const char *name, sp_err *e)
{
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    size_t i;
    pip_entry *x = find_or_404(en, name, &i, e);
    if (x) {
        pip_runner_stop(x->runner);
        resp = state_response(x, "DELETED", "DELETING");
        memmove(&en->entries[i], &en->entries[i + 1], (en->n - i - 1) * sizeof *en->entries);
        en->n--;
        json_array_append_new(en->deleted, json_string(name));
        entry_free(x);
        pip_checkpoint_remove(en->dir, name);
        pip_dlq_high_remove(en->dir, name);
        if (!save(en, e)) {
            json_decref(resp);
            resp = NULL;
        }
    }
    pthread_mutex_unlock(&en->mu);
    return resp;
}

bool pip_tag_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > PIP_TAG_KEY_MAX || !strncmp(key, "aws:", 4)) return false;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return false;
    return true;
}

json_t *pip_engine_tag(pip_engine *en, const char *name, const json_t *tags, sp_err *e)
{
    if (!json_is_object(tags) || json_object_size(tags) < 1 ||
        json_object_size(tags) > PIP_TAGS_MAX) {
        sp_err_invalid(e, "tags must be a map of 1 to %d tags", PIP_TAGS_MAX);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v) {
        if (!pip_tag_key_valid(k)) {
            sp_err_invalid(e, "tag key '%.128s' must be 1-%d characters, no control characters, "
                              "not starting with aws:", k, PIP_TAG_KEY_MAX);
            return NULL;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) > PIP_TAG_VALUE_MAX) {
            sp_err_invalid(e, "the value of tag '%.128s' must be a string of at most %d "
                              "characters", k, PIP_TAG_VALUE_MAX);
            return NULL;
        }
    }
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    pip_entry *x = find_or_404(en, name, NULL, e);
    if (x && !entry_api_changeable(x, e)) x = NULL;
    if (x) {
        json_t *merged = x->def->tags ? json_deep_copy(x->def->tags) : json_object();
        json_object_update(merged, (json_t *)tags);
        if (json_object_size(merged) > PIP_TAGS_MAX) {
            sp_err_invalid(e, "a pipe may have at most %d tags; this would make %zu",
                           PIP_TAGS_MAX, json_object_size(merged));
            json_decref(merged);
        } else {
            json_decref(x->def->tags);
            x->def->tags = merged;
            x->persisted = true;
            if (save(en, e)) resp = json_object();
        }
    }
    pthread_mutex_unlock(&en->mu);
    return resp;
}

json_t *pip_engine_untag(pip_engine *en, const char *name, const json_t *keys, sp_err *e)
{
    size_t i;
    json_t *k;
    if (json_array_size(keys) > PIP_TAGS_MAX) {
        sp_err_invalid(e, "tagKeys may name at most %d keys", PIP_TAGS_MAX);
        return NULL;
    }
    json_array_foreach(keys, i, k)
        if (!json_is_string(k) || !pip_tag_key_valid(json_string_value(k))) {
            sp_err_invalid(e, "tagKeys[%zu] is not a valid tag key", i);
            return NULL;
        }
    pthread_mutex_lock(&en->mu);
    json_t *resp = NULL;
    pip_entry *x = find_or_404(en, name, NULL, e);
    if (x && !entry_api_changeable(x, e)) x = NULL;
    if (x) {
        json_array_foreach(keys, i, k) if (x->def->tags) json_object_del(x->def->tags, json_string_value(k));
        x->persisted = true;
        if (save(en, e)) resp = json_object();
    }
    pthread_mutex_unlock(&en->mu);
    return resp;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return !prefix || !strncmp(s, prefix, strlen(prefix));
}

json_t *pip_engine_list(pip_engine *en, const pip_list_query *q, sp_err *e)
{
    (void)e;
    pthread_mutex_lock(&en->mu);
    /* Listed in name order, so NextToken (the last name listed) pages stably. */
    const pip_entry **sorted = malloc((en->n ? en->n : 1) * sizeof *sorted);
    for (size_t i = 0; i < en->n; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(sorted[j - 1]->def->name, en->entries[i]->def->name) > 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = en->entries[i];
    }
    json_t *pipes = json_array();
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; i < en->n; i++) {
        const pip_entry *x = sorted[i];
        const pip_def *d = x->def;
        if (q->next_token && strcmp(d->name, q->next_token) <= 0) continue;
        if (!has_prefix(d->name, q->name_prefix) || !has_prefix(d->source_arn, q->source_prefix) ||
            !has_prefix(d->target_arn, q->target_prefix))
            continue;
        if (q->desired_state && strcmp(q->desired_state, d->running ? "RUNNING" : "STOPPED")) continue;
        if (q->current_state && strcmp(q->current_state, current_state(x))) continue;
        if ((long)json_array_size(pipes) >= q->limit) {
            more = true;
            break;
        }
        json_t *j = state_response(x, NULL, NULL);
        json_object_set_new(j, "Source", json_string(d->source_arn));
        json_object_set_new(j, "Target", json_string(d->target_arn));
        json_array_append_new(pipes, j);
        last = d->name;
    }
    json_t *resp = json_pack("{s:o}", "Pipes", pipes);
    if (more && last) json_object_set_new(resp, "NextToken", json_string(last));
    free(sorted);
    pthread_mutex_unlock(&en->mu);
    return resp;
}

/* ---- health and drain ------------------------------------------------------------------- */

static bool first_record(void *arg, const tbl_stream_record *rec)
{
    *(int64_t *)arg = rec->created_ms;
    return false;
}

json_t *pip_engine_health(pip_engine *en)
{
    json_t *pipes = json_object();
    pthread_mutex_lock(&en->mu);
    for (size_t i = 0; i < en->n; i++) {
        pip_entry *x = en->entries[i];
        uint64_t c = x->runner ? pip_runner_checkpoint(x->runner) : 0;
        /* a remote source's lag is its connector's millis_behind (the local table of the
         * same name, if any, is another table) */
        uint64_t last = x->def->remote_source ? c : tbl_stream_last_seq(en->tables, x->def->source_table);
        int64_t oldest_ms = 0;
        sp_err e = {0};
        if (x->runner && last > c)
            tbl_stream_read(en->tables, x->def->source_table, c, 1, first_record, &oldest_ms, &e);
        double lag_s = oldest_ms ? (sp_clock_wall_ms() - oldest_ms) / 1000.0 : 0.0;
        json_t *p = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "state",
                              current_state(x), "read", (json_int_t)x->counters.read,
                              "filtered", (json_int_t)x->counters.filtered, "written",
                              (json_int_t)x->counters.written, "failed",
                              (json_int_t)x->counters.failed, "duplicates_skipped",
                              (json_int_t)x->counters.duplicates_skipped, "checkpoint",
                              (json_int_t)c, "lag_records", (json_int_t)(last > c ? last - c : 0),
                              "lag_seconds", lag_s < 0 ? 0.0 : lag_s);
        if (x->reason[0]) json_object_set_new(p, "reason", json_string(x->reason));
        json_object_set_new(p, "dead_lettered", json_integer((json_int_t)x->counters.dead_lettered));
        json_t *conn = pip_remote_health(x->remote);
        if (conn) json_object_set_new(p, "connectors", conn);
        json_object_set_new(pipes, x->def->name, p);
    }
    pthread_mutex_unlock(&en->mu);
    return json_pack("{s:b, s:o}", "running", true, "pipes", pipes);
}

bool pip_engine_drain(pip_engine *en, const char *name, int timeout_ms)
{
    uint64_t deadline = sp_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    uint64_t target = 0;
    bool have_target = false;
    for (;;) {
        pthread_mutex_lock(&en->mu);
        pip_entry *x = entry_find(en, name, NULL);
        bool done = false, gone = !x || !x->runner;
        if (!gone) {
            if (!have_target)
                target = x->def->remote_source ? 0 /* what the remote holds is unknown here */
                                               : tbl_stream_last_seq(en->tables, x->def->source_table);
            have_target = true;
            done = pip_runner_checkpoint(x->runner) >= target;
        }
        pthread_mutex_unlock(&en->mu);
        if (gone) return false;
        if (done) return true;
        if (sp_clock_mono_ns() >= deadline) return false;
        sp_sleep_ms(PIP_DRAIN_POLL_MS);
    }
}
