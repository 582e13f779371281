/* The log: the table of streams under one directory, the calls in-process producers and
 * consumers use (stream.h), stream lifecycle (create, delete, split, merge) and the
 * background thread that fsyncs `interval` streams and applies retention. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "stm_int.h"

enum {
    STM_DEFAULT_SEGMENT_MB = 64,
    STM_DEFAULT_FSYNC_INTERVAL_MS = 200,
    STM_BG_IDLE_MS = 1000,
    STM_TRIM_EVERY_MS = 60 * 1000,
};

/* ---- lookups ---------------------------------------------------------------------------- */

stm_stream *stm_stream_find(stm_log *log, const char *name, sp_err *e)
{
    for (size_t i = 0; i < log->n_streams; i++)
        if (!strcmp(log->streams[i]->name, name)) return log->streams[i];
    sp_err_set(e, 400, "ResourceNotFoundException", "Stream %s under account 000000000000 not found.",
               name);
    return NULL;
}

stm_shard *stm_stream_shard(stm_stream *st, int index, sp_err *e)
{
    if (index >= 0 && (size_t)index < st->n_shards) return st->shards[index];
    char id[STM_SHARD_ID_MAX];
    stm_shard_id_format(index < 0 ? 0 : index, id);
    sp_err_set(e, 400, "ResourceNotFoundException",
               "Shard %s in stream %s under account 000000000000 does not exist", id, st->name);
    return NULL;
}

stm_shard *stm_stream_route(stm_stream *st, stm_u128 hash)
{
    for (size_t i = 0; i < st->n_shards; i++) {
        stm_shard *sh = st->shards[i];
        if (sh->open && hash >= sh->hash_start && hash <= sh->hash_end) return sh;
    }
    return NULL;
}

/* ---- open / close ----------------------------------------------------------------------- */

static void stream_free(stm_stream *st, bool sync)
{
    for (size_t j = 0; j < st->n_shards; j++) stm_shard_close(st->shards[j], sync);
    free(st->shards);
    free(st->name);
    free(st->dir);
    pthread_mutex_destroy(&st->ckpt_mu);
    json_decref(st->checkpoints);
    json_decref(st->tags);
    free(st);
}

static void *bg_main(void *arg);

stm_log *stm_log_open(const char *dir, sp_durability durability, sp_err *e)
{
    if (!sp_fs_mkdirs(dir, e)) return NULL;
    stm_log *log = calloc(1, sizeof *log);
    log->dir = strdup(dir);
    log->durability = durability;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&log->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&log->gen_mu, NULL);
    pthread_cond_init(&log->gen_cv, NULL);
    pthread_mutex_init(&log->bg_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log->bg_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!stm_meta_load(log, e)) {
        stm_log_close(log);
        return NULL;
    }
    /* Streams the API created keep the policy they were created with; in fsync mode none
     * may answer before the disk has the records (a configured stream's explicit `fsync` is
     * applied again by stm_stream_ensure). */
    for (size_t i = 0; durability == SP_DURABILITY_FSYNC && i < log->n_streams; i++)
        log->streams[i]->policy.fsync = STM_FSYNC_BATCH;
    stm_log_trim(log, sp_clock_wall_ms());
    log->last_trim_ms = sp_clock_wall_ms();
    if (pthread_create(&log->bg, NULL, bg_main, log) != 0) {
        sp_err_internal(e, "cannot start the stream background thread");
        stm_log_close(log);
        return NULL;
    }
    log->bg_running = true;
    return log;
}

void stm_log_close(stm_log *log)
{
    if (!log) return;
    if (log->bg_running) {
        pthread_mutex_lock(&log->bg_mu);
        log->stopping = true;
        pthread_cond_signal(&log->bg_cv);
        pthread_mutex_unlock(&log->bg_mu);
        pthread_join(log->bg, NULL);
    }
    for (size_t i = 0; i < log->n_streams; i++) stream_free(log->streams[i], true);
    free(log->streams);
    for (size_t i = 0; i < log->n_ghosts; i++) free(log->ghosts[i].name);
    free(log->ghosts);
    free(log->dir);
    pthread_rwlock_destroy(&log->lock);
    pthread_mutex_destroy(&log->gen_mu);
    pthread_cond_destroy(&log->gen_cv);
    pthread_mutex_destroy(&log->bg_mu);
    pthread_cond_destroy(&log->bg_cv);
    free(log);
}

void stm_log_set_options(stm_log *log, const stm_log_options *o)
{
    log->opt = *o;
    if (log->opt.account_shard_limit <= 0) log->opt.account_shard_limit = STM_ACCOUNT_SHARDS_DEFAULT;
    if (log->opt.status_transition_ms < 0) log->opt.status_transition_ms = 0;
}

/* ---- status windows ---------------------------------------------------------------------- */

stm_status stm_stream_status(const stm_stream *st, int64_t now_ms)
{
    return st->status != STM_ACTIVE && now_ms < st->status_until_ms ? st->status : STM_ACTIVE;
}

const char *stm_status_name(stm_status s)
{
    return s == STM_CREATING ? "CREATING" : s == STM_UPDATING ? "UPDATING" : "ACTIVE";
}

bool stm_stream_require_active(const stm_stream *st, sp_err *e)
{
    stm_status s = stm_stream_status(st, sp_clock_wall_ms());
    if (s == STM_ACTIVE) return true;
    sp_err_set(e, 400, "ResourceInUseException",
               "Stream %s under account 000000000000 not ACTIVE, instead in state %s", st->name,
               stm_status_name(s));
    return false;
}

void stm_stream_begin(stm_log *log, stm_stream *st, stm_status s)
{
    if (log->opt.status_transition_ms <= 0) return;
    st->status = s;
    st->status_until_ms = sp_clock_wall_ms() + log->opt.status_transition_ms;
}

const stm_ghost *stm_ghost_find(const stm_log *log, const char *name)
{
    int64_t now = sp_clock_wall_ms();
    for (size_t i = 0; i < log->n_ghosts; i++)
        if (now < log->ghosts[i].until_ms && !strcmp(log->ghosts[i].name, name))
            return &log->ghosts[i];
    return NULL;
}

void stm_ghost_add(stm_log *log, const char *name, int64_t created_ms, long long retention_hours,
                   bool on_demand)
{
    int64_t now = sp_clock_wall_ms();
    size_t k = 0;
    for (size_t i = 0; i < log->n_ghosts; i++) {
        if (now >= log->ghosts[i].until_ms || !strcmp(log->ghosts[i].name, name))
            free(log->ghosts[i].name);
        else
            log->ghosts[k++] = log->ghosts[i];
    }
    log->n_ghosts = k;
    if (log->opt.status_transition_ms <= 0) return;
    stm_ghost *g = realloc(log->ghosts, (k + 1) * sizeof *g);
    if (!g) return; /* the stream is gone at once instead */
    log->ghosts = g;
    g[k] = (stm_ghost){.name = strdup(name), .created_ms = created_ms,
                       .retention_hours = retention_hours, .on_demand = on_demand,
                       .until_ms = now + log->opt.status_transition_ms};
    if (g[k].name) log->n_ghosts++;
}

long long stm_account_open_shards(const stm_log *log)
{
    long long n = 0;
    for (size_t i = 0; i < log->n_streams; i++)
        for (size_t k = 0; k < log->streams[i]->n_shards; k++) n += log->streams[i]->shards[k]->open;
    return n;
}

/* ---- background: interval fsync and retention ------------------------------------------- */

static void *bg_main(void *arg)
{
    stm_log *log = arg;
    pthread_mutex_lock(&log->bg_mu);
    while (!log->stopping) {
        long long wait_ms = STM_BG_IDLE_MS;
        pthread_mutex_unlock(&log->bg_mu);
        pthread_rwlock_rdlock(&log->lock);
        uint64_t now_ns = sp_clock_mono_ns();
        for (size_t i = 0; i < log->n_streams; i++) {
            stm_stream *st = log->streams[i];
            if (st->policy.fsync != STM_FSYNC_INTERVAL) continue;
            long long since_ms = (long long)((now_ns - st->last_sync_ns) / 1000000);
            if (since_ms >= st->fsync_interval_ms) {
                for (size_t j = 0; j < st->n_shards; j++) stm_shard_sync(st->shards[j]);
                st->last_sync_ns = now_ns;
                since_ms = 0;
            }
            if (st->fsync_interval_ms - since_ms < wait_ms)
                wait_ms = st->fsync_interval_ms - since_ms;
        }
        pthread_rwlock_unlock(&log->lock);
        if (wait_ms < 1) wait_ms = 1;
        int64_t wall = sp_clock_wall_ms();
        if (wall - log->last_trim_ms >= STM_TRIM_EVERY_MS) {
            stm_log_trim(log, wall);
            log->last_trim_ms = wall;
        }
        pthread_mutex_lock(&log->bg_mu);
        if (log->stopping) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&log->bg_cv, &log->bg_mu, &ts);
    }
    pthread_mutex_unlock(&log->bg_mu);
    return NULL;
}

size_t stm_log_trim(stm_log *log, int64_t now_ms)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&log->lock);
    for (size_t i = 0; i < log->n_streams; i++) {
        stm_stream *st = log->streams[i];
        int64_t cutoff = now_ms - (int64_t)st->retention_hours * 3600 * 1000;
        for (size_t j = 0; j < st->n_shards; j++) n += stm_shard_trim(st->shards[j], cutoff);
    }
    pthread_rwlock_unlock(&log->lock);
    return n;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static stm_shard *new_shard(stm_stream *st, stm_u128 start, stm_u128 end, int parent,
                            int adjacent, sp_err *e)
{
    stm_shard *sh = stm_shard_open(st->dir, (int)st->n_shards, e);
    if (!sh) return NULL;
    stm_shard **g = realloc(st->shards, (st->n_shards + 1) * sizeof *g);
    if (!g) {
        stm_shard_close(sh, false);
        sp_err_internal(e, "out of memory");
        return NULL;
    }
    st->shards = g;
    st->shards[st->n_shards++] = sh;
    sh->hash_start = start;
    sh->hash_end = end;
    sh->parent = parent;
    sh->adjacent_parent = adjacent;
    sh->created_ms = sp_clock_wall_ms();
    return sh;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

stm_stream *stm_stream_create_locked(stm_log *log, const char *name, int shards, bool on_demand,
                                     long long retention_hours, const stm_policy *pol,
                                     long long fsync_interval_ms, sp_err *e)
{
    stm_stream *st = calloc(1, sizeof *st);
    st->name = strdup(name);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", log->dir, name);
    st->dir = strdup(dir);
    pthread_mutex_init(&st->ckpt_mu, NULL);
    st->checkpoints = json_object();
    st->tags = json_object();
    st->created_ms = sp_clock_wall_ms();
    st->on_demand = on_demand;
    st->retention_hours = retention_hours;
    st->policy = *pol;
    st->fsync_interval_ms = fsync_interval_ms;
    st->last_sync_ns = sp_clock_mono_ns();
    /* Leftovers of a stream of the same name deleted before a crash are not this stream. */
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    bool ok = mkdir(dir, 0755) == 0;
    if (!ok) sp_err_internal(e, "cannot create '%s': %s", dir, strerror(errno));
    for (int i = 0; i < shards && ok; i++) {
        stm_u128 a, b;
        stm_hash_split(i, shards, &a, &b);
        ok = new_shard(st, a, b, -1, -1, e) != NULL;
    }
    stm_stream **g = ok ? realloc(log->streams, (log->n_streams + 1) * sizeof *g) : NULL;
    if (!g) {
        stream_free(st, false);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return NULL;
    }
    log->streams = g;
    log->streams[log->n_streams++] = st;
    if (!stm_meta_save(log, e)) {
        log->n_streams--;
        stream_free(st, false);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return NULL;
    }
    return st;
}

bool stm_stream_delete_locked(stm_log *log, const char *name, sp_err *e)
{
    size_t i = 0;
    while (i < log->n_streams && strcmp(log->streams[i]->name, name)) i++;
    if (i == log->n_streams) return stm_stream_find(log, name, e) != NULL;
    stm_stream *st = log->streams[i];
    memmove(log->streams + i, log->streams + i + 1, (log->n_streams - i - 1) * sizeof *log->streams);
    log->n_streams--;
    bool ok = stm_meta_save(log, e);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", st->dir);
    stream_free(st, false);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

static void shard_close_for_lineage(stm_shard *sh)
{
    pthread_mutex_lock(&sh->mu);
    sh->open = false;
    pthread_mutex_unlock(&sh->mu);
}

static bool lineage_limit(stm_stream *st, size_t more, sp_err *e)
{
    size_t open = 0;
    for (size_t i = 0; i < st->n_shards; i++) open += st->shards[i]->open;
    if (st->n_shards + more > STM_SHARDS_WITH_LINEAGE_MAX ||
        open + more - 1 > STM_SHARDS_PER_STREAM_MAX) {
        sp_err_set(e, 400, "LimitExceededException",
                   "This request would exceed the shard limit for the stream %s (%d open shards).",
                   st->name, STM_SHARDS_PER_STREAM_MAX);
        return false;
    }
    return true;
}

bool stm_shard_split_locked(stm_log *log, stm_stream *st, int index, stm_u128 new_start,
                            sp_err *e)
{
    stm_shard *p = stm_stream_shard(st, index, e);
    if (!p) return false;
    if (!p->open) {
        sp_err_set(e, 400, "ResourceInUseException",
                   "Shard %s in stream %s under account 000000000000 has already been merged "
                   "or split, and thus is not eligible for merging or splitting.", p->id,
                   st->name);
        return false;
    }
    if (new_start <= p->hash_start || new_start > p->hash_end) {
        char v[40];
        stm_u128_format(new_start, v);
        sp_err_set(e, 400, "InvalidArgumentException",
                   "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under "
                   "account 000000000000 is not both greater than one plus the shard's "
                   "StartingHashKey and less than the shard's EndingHashKey.", v, p->id,
                   st->name);
        return false;
    }
    if (!lineage_limit(st, 2, e)) return false;
    stm_u128 a = p->hash_start, b = p->hash_end;
    if (!new_shard(st, a, new_start - 1, index, -1, e)) return false;
    if (!new_shard(st, new_start, b, index, -1, e)) return false;
    shard_close_for_lineage(p);
    return stm_meta_save(log, e);
}

bool stm_shard_merge_locked(stm_log *log, stm_stream *st, int a, int b, sp_err *e)
{
    stm_shard *x = stm_stream_shard(st, a, e);
    stm_shard *y = x ? stm_stream_shard(st, b, e) : NULL;
    if (!y) return false;
    if (!x->open || !y->open) {
        stm_shard *c = x->open ? y : x;
        sp_err_set(e, 400, "ResourceInUseException",
                   "Shard %s in stream %s under account 000000000000 has already been merged "
                   "or split, and thus is not eligible for merging or splitting.", c->id,
                   st->name);
        return false;
    }
    bool adjacent = (x->hash_end != STM_U128_MAX && x->hash_end + 1 == y->hash_start) ||
                    (y->hash_end != STM_U128_MAX && y->hash_end + 1 == x->hash_start);
    if (!adjacent || a == b) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Shards %s and %s in stream %s under account 000000000000 are not an "
                   "adjacent pair of shards eligible for merging", x->id, y->id, st->name);
        return false;
    }
    if (!lineage_limit(st, 1, e)) return false;
    stm_u128 lo = x->hash_start < y->hash_start ? x->hash_start : y->hash_start;
    stm_u128 hi = x->hash_end > y->hash_end ? x->hash_end : y->hash_end;
    if (!new_shard(st, lo, hi, a, b, e)) return false;
    shard_close_for_lineage(x);
    shard_close_for_lineage(y);
    return stm_meta_save(log, e);
}

/* The fsync policy a stream gets when nothing names one: what server.durability promises. */
static stm_fsync_policy policy_for(const stm_log *log)
{
    return log->durability == SP_DURABILITY_FSYNC ? STM_FSYNC_BATCH : STM_FSYNC_INTERVAL;
}

static bool policy_from_cfg(const stm_log *log, const sp_cfg_stream *cfg, stm_policy *pol)
{
    pol->fsync = !cfg->fsync                   ? policy_for(log)
                 : !strcmp(cfg->fsync, "interval") ? STM_FSYNC_INTERVAL
                 : !strcmp(cfg->fsync, "batch")    ? STM_FSYNC_BATCH
                                                   : STM_FSYNC_NONE;
    pol->segment_bytes = (uint64_t)(cfg->segment_mb > 0 ? cfg->segment_mb : STM_DEFAULT_SEGMENT_MB)
                         * 1024 * 1024;
    return true;
}

void stm_policy_default(const stm_log *log, stm_policy *pol, long long *interval_ms)
{
    pol->fsync = policy_for(log);
    pol->segment_bytes = (uint64_t)STM_DEFAULT_SEGMENT_MB * 1024 * 1024;
    *interval_ms = STM_DEFAULT_FSYNC_INTERVAL_MS;
}

bool stm_config_check(const void *stream_cfg, const char **key, sp_err *e)
{
    const sp_cfg_stream *cfg = stream_cfg;
    if (cfg->shard_count < 1 || cfg->shard_count > STM_SHARDS_PER_STREAM_MAX) {
        *key = "shard_count";
        sp_err_invalid(e, "must be between 1 and %d, got %lld", STM_SHARDS_PER_STREAM_MAX,
                       cfg->shard_count);
        return false;
    }
    return true;
}

bool stm_stream_ensure(stm_log *log, const sp_cfg_stream *cfg, sp_err *e)
{
    if (!stm_stream_name_valid(cfg->name)) {
        sp_err_invalid(e, "stream name '%s' is not valid", cfg->name);
        return false;
    }
    stm_policy pol;
    policy_from_cfg(log, cfg, &pol);
    long long interval = cfg->fsync_interval_ms > 0 ? cfg->fsync_interval_ms
                                                    : STM_DEFAULT_FSYNC_INTERVAL_MS;
    const char *key = NULL;
    if (!stm_config_check(cfg, &key, e)) {
        sp_err_wrap(e, cfg->name);
        return false;
    }
    pthread_rwlock_wrlock(&log->lock);
    sp_err ignore = {0};
    stm_stream *st = stm_stream_find(log, cfg->name, &ignore);
    bool ok = true;
    if (st) {
        /* Storage settings follow the configuration; shards and retention are the stream's. */
        if (st->policy.fsync != pol.fsync || st->policy.segment_bytes != pol.segment_bytes ||
            st->fsync_interval_ms != interval) {
            st->policy = pol;
            st->fsync_interval_ms = interval;
            ok = stm_meta_save(log, e);
        }
    } else {
        ok = stm_stream_create_locked(log, cfg->name, (int)cfg->shard_count, false,
                                      cfg->retention_hours, &pol, interval, e) != NULL;
    }
    pthread_rwlock_unlock(&log->lock);
    return ok;
}

/* ---- producers -------------------------------------------------------------------------- */

void stm_log_notify(stm_log *log, stm_stream *st)
{
    atomic_fetch_add(&st->generation, 1);
    pthread_mutex_lock(&log->gen_mu);
    atomic_fetch_add(&log->gen_all, 1);
    pthread_cond_broadcast(&log->gen_cv);
    pthread_mutex_unlock(&log->gen_mu);
}

static bool put_validate(const stm_put *p, size_t i, stm_u128 *hash, sp_err *e)
{
    size_t pk = p->partition_key ? strlen(p->partition_key) : 0;
    if (pk < 1 || pk > STM_PARTITION_KEY_MAX) {
        sp_err_set(e, 400, "ValidationException",
                   "record %zu: partition key must be 1 to %d characters", i,
                   STM_PARTITION_KEY_MAX);
        return false;
    }
    if (p->len > STM_DATA_MAX || (p->len && !p->data)) {
        sp_err_set(e, 400, "ValidationException",
                   "record %zu: data must be at most %d bytes", i, STM_DATA_MAX);
        return false;
    }
    if (p->origin && (!*p->origin || strlen(p->origin) > STM_ORIGIN_MAX)) {
        sp_err_invalid(e, "record %zu: origin tag must be 1 to %d characters", i,
                       STM_ORIGIN_MAX);
        return false;
    }
    if (p->explicit_hash_key) {
        if (!stm_u128_parse(p->explicit_hash_key, hash)) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                       "[0, 2^128-1]. Specified value was %s", p->explicit_hash_key);
            return false;
        }
    } else {
        *hash = stm_hash_key(p->partition_key, pk);
    }
    return true;
}

static bool put_records(stm_log *log, const char *stream, const stm_put *recs, size_t n,
                        stm_put_result *out, size_t *written, bool strings, sp_err *e)
{
    if (written) *written = 0;
    for (size_t i = 0; i < n; i++) out[i].seq_str[0] = '\0';
    if (n == 0) return true;
    bool ok = true;
    int *shard_of = malloc(n * sizeof *shard_of);
    const stm_put **group = malloc(n * sizeof *group);
    size_t *group_idx = malloc(n * sizeof *group_idx);
    uint64_t *seqs = malloc(n * sizeof *seqs);
    int64_t *arrivals = malloc(n * sizeof *arrivals);
    bool *done = calloc(n, sizeof *done);
    if (!shard_of || !group || !group_idx || !seqs || !arrivals || !done) {
        sp_err_internal(e, "out of memory");
        ok = false;
        goto out_free;
    }
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, e);
    if (st && stm_stream_status(st, sp_clock_wall_ms()) == STM_CREATING) {
        /* Kinesis: no writes before the stream is ACTIVE (UPDATING takes them) */
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Stream %s under account 000000000000 not found.", stream);
        st = NULL;
    }
    if (!st) ok = false;
    for (size_t i = 0; ok && i < n; i++) {
        stm_u128 h;
        if (!put_validate(&recs[i], i, &h, e)) ok = false;
        stm_shard *sh = ok ? stm_stream_route(st, h) : NULL;
        if (ok && !sh) {
            sp_err_internal(e, "no open shard holds the hash key of record %zu", i);
            ok = false;
        }
        if (ok) shard_of[i] = sh->index;
    }
    /* One append (one group commit) per shard, records in input order within it. */
    for (size_t i = 0; ok && i < n; i++) {
        if (done[i]) continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && shard_of[j] == shard_of[i]) group[m] = &recs[j], group_idx[m++] = j;
        stm_shard *sh = st->shards[shard_of[i]];
        if (!stm_shard_append(sh, &st->policy, group, m, seqs, arrivals, e)) {
            ok = false;
            break;
        }
        for (size_t k = 0; k < m; k++) {
            size_t j = group_idx[k];
            done[j] = true;
            out[j].shard_index = sh->index;
            out[j].seq = seqs[k];
            if (strings)
                stm_seq_format(st->created_ms, sh->index, seqs[k], arrivals[k], out[j].seq_str);
        }
    }
    if (st && shard_of) {
        bool any = false;
        for (size_t i = 0; i < n; i++) any |= done[i];
        if (any) stm_log_notify(log, st);
    }
    pthread_rwlock_unlock(&log->lock);
    if (written) {
        size_t w = 0;
        while (w < n && done[w]) w++;
        *written = w;
    }
out_free:
    free(shard_of);
    free(group);
    free(group_idx);
    free(seqs);
    free(arrivals);
    free(done);
    return ok;
}

bool stm_put_records(stm_log *log, const char *stream, const stm_put *recs, size_t n,
                     stm_put_result *out, size_t *written, sp_err *e)
{
    return put_records(log, stream, recs, n, out, written, true, e);
}

bool stm_put_records_positions(stm_log *log, const char *stream, const stm_put *recs, size_t n,
                               stm_put_result *out, size_t *written, sp_err *e)
{
    return put_records(log, stream, recs, n, out, written, false, e);
}

int stm_shard_for_key(stm_log *log, const char *stream, const char *partition_key,
                      const char *explicit_hash_key, sp_err *e)
{
    stm_put p = {.partition_key = partition_key, .explicit_hash_key = explicit_hash_key};
    stm_u128 h;
    if (!put_validate(&p, 0, &h, e)) return -1;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, e);
    stm_shard *sh = st ? stm_stream_route(st, h) : NULL;
    int idx = sh ? sh->index : -1;
    pthread_rwlock_unlock(&log->lock);
    return idx;
}

uint64_t stm_origin_position(stm_log *log, const char *stream, int shard_index,
                             const char *origin)
{
    sp_err e = {0};
    uint64_t v = 0;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, &e);
    stm_shard *sh = st ? stm_stream_shard(st, shard_index, &e) : NULL;
    if (sh) v = stm_shard_origin(sh, origin);
    pthread_rwlock_unlock(&log->lock);
    return v;
}

int stm_shard_list(stm_log *log, const char *stream, stm_shard_info *out, int max, sp_err *e)
{
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, e);
    int n = st ? (int)st->n_shards : -1;
    for (int i = 0; st && i < n && i < max; i++) {
        stm_shard *sh = st->shards[i];
        out[i].index = sh->index;
        snprintf(out[i].shard_id, sizeof out[i].shard_id, "%s", sh->id);
        out[i].open = sh->open;
        out[i].last_seq = stm_shard_last_seq(sh);
    }
    pthread_rwlock_unlock(&log->lock);
    return n;
}

uint64_t stm_shard_end(stm_log *log, const char *stream, int shard_index)
{
    sp_err ignore = {0};
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, &ignore);
    uint64_t end = 0;
    if (st && shard_index >= 0 && (size_t)shard_index < st->n_shards)
        end = stm_shard_last_seq(st->shards[shard_index]);
    pthread_rwlock_unlock(&log->lock);
    return end;
}

bool stm_shard_parents(stm_log *log, const char *stream, int shard_index, int parents[2])
{
    sp_err ignore = {0};
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, &ignore);
    bool ok = st && shard_index >= 0 && (size_t)shard_index < st->n_shards;
    parents[0] = ok ? st->shards[shard_index]->parent : -1;
    parents[1] = ok ? st->shards[shard_index]->adjacent_parent : -1;
    pthread_rwlock_unlock(&log->lock);
    return ok;
}

/* ---- consumers -------------------------------------------------------------------------- */

typedef struct read_ctx {
    stm_record_fn fn;
    void *arg;
    int shard_index;
    int64_t created_ms;
} read_ctx;

static bool read_adapter(void *arg, const stm_frame *f)
{
    read_ctx *c = arg;
    char pk[STM_PARTITION_KEY_MAX + 1], seq[STM_SEQ_STR_MAX];
    memcpy(pk, f->pk, f->pk_len);
    pk[f->pk_len] = '\0';
    stm_seq_format(c->created_ms, c->shard_index, f->seq, f->arrival_ms, seq);
    stm_record r = {c->shard_index, f->seq, seq, f->arrival_ms, pk, f->data, f->data_len};
    return c->fn(c->arg, &r);
}

long stm_shard_read(stm_log *log, const char *stream, int shard_index, uint64_t after_seq,
                    size_t max, size_t max_bytes, stm_record_fn fn, void *arg, sp_err *e)
{
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, e);
    stm_shard *sh = st ? stm_stream_shard(st, shard_index, e) : NULL;
    long n = -1;
    if (sh) {
        read_ctx c = {fn, arg, shard_index, st->created_ms};
        n = stm_shard_scan(sh, after_seq, max, max_bytes, read_adapter, &c, e);
    }
    pthread_rwlock_unlock(&log->lock);
    return n;
}

uint64_t stm_stream_wait(stm_log *log, const char *stream, uint64_t seen_generation,
                         int timeout_ms)
{
    struct timespec deadline;
    sp_clock_deadline(&deadline, timeout_ms);
    for (;;) {
        /* Read the log-wide counter first: an append after this point changes it, so the
         * wait below cannot miss it. */
        uint64_t all = atomic_load(&log->gen_all);
        sp_err e = {0};
        pthread_rwlock_rdlock(&log->lock);
        stm_stream *st = stm_stream_find(log, stream, &e);
        uint64_t g = st ? atomic_load(&st->generation) : 0;
        pthread_rwlock_unlock(&log->lock);
        if (g != seen_generation || !st) return g;
        int rc = 0;
        pthread_mutex_lock(&log->gen_mu);
        while (atomic_load(&log->gen_all) == all && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&log->gen_cv, &log->gen_mu, &deadline);
        pthread_mutex_unlock(&log->gen_mu);
        if (rc == ETIMEDOUT) return g;
    }
}
