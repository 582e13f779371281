/* The lake scan's producer side: worker threads read the objects of a scan, parse their
 * documents with jansson (inside a per-thread arena, core/json_arena.c), select the records
 * with the table's JsonPath and convert only the columns the query uses into batches of SQL
 * values; objects unchanged since the crawl come from the query cache (qry_cache.c) and
 * Parquet objects as typed columns (qry_parquet.c) instead. The virtual table (qry_vtab.c) stays on SQLite's thread and consumes the batches
 * in object order: object j is read by worker j % n_workers, and each worker hands over
 * its objects in order, so rows come out in exactly the order a single-threaded scan
 * gives. Workers run at most QRY_SCAN_QUEUE_MAX batches ahead; stopping a scan (end of the
 * statement, LIMIT) stops and joins them. With no worker threads the consumer produces each
 * batch itself. The workers are jobs on the kept scan threads of qry_pool.c.
 *
 * Locality: qry_scan_start/next/stop are called by one consumer thread. Batches and jansson
 * trees never cross threads except as finished qry_batch values, handed over under the
 * scan's mutex.
 */
#include "qry_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Rows per batch, and batches a worker may hold ready before it waits for the consumer. */
enum { QRY_SCAN_BATCH_ROWS = 1024, QRY_SCAN_QUEUE_MAX = 4 };

typedef struct worker {
    qry_scan *s;
    bool finished;            /* its pool job has returned (under the scan's mutex) */
    size_t next_obj;          /* next object this worker opens */
    cat_reader *reader;       /* the object being read, or NULL */
    cat_cache *cache;         /* this worker's read-only cache handle, opened on first use */
    bool cache_tried;
    bool cache_borrowed;      /* cache is the pool thread's (tl_cache), not closed here */
    int64_t cache_id;         /* the object being served from the cache (0: none) */
    size_t cache_seq, cache_chunks;
    size_t cur_obj;
    qry_batch *head, *tail;   /* ready batches, oldest first */
    size_t queued;
} worker;

struct qry_scan {
    char *const *paths;       /* borrowed; NULL entries are skipped */
    size_t n_paths;
    const cat_jsonpath *path; /* borrowed */
    const qry_col *cols;      /* borrowed */
    size_t n_cols;
    const char *cache_path;   /* borrowed; NULL: no cache */
    const char *json_path;    /* borrowed */
    const qry_stat_filter *filters; /* borrowed */
    size_t n_filters;
    size_t n_workers;         /* threads; 0: the consumer produces inline */
    worker *w;                /* max(n_workers, 1) */
    pthread_mutex_t mu;
    pthread_cond_t ready, room;
    bool stop;
};

/* A pool thread's query-cache connection, kept between scans (qry_pool.c): the read
 * transaction each object's read opens sees every crawl committed before it, as a fresh
 * connection would, and the pages it mapped stay mapped. Reopened when a scan names another
 * cache file; closed by qry_scan_thread_release. */
static _Thread_local cat_cache *tl_cache;
static _Thread_local char *tl_cache_path;
static _Thread_local dev_t tl_cache_dev;  /* the file it opened: a cache deleted and */
static _Thread_local ino_t tl_cache_ino;  /* made again (another inode) is reopened */

void qry_scan_thread_release(void)
{
    cat_cache_close(tl_cache);
    tl_cache = NULL;
    free(tl_cache_path);
    tl_cache_path = NULL;
    sp_json_arena_thread_release();
}

/* ---- values ----------------------------------------------------------------------------- */

static char *batch_text_reserve(qry_batch *b, size_t n)
{
    if (b->text_cap - b->text_len < n) {
        size_t cap = b->text_cap ? b->text_cap : 4096;
        while (cap - b->text_len < n) cap *= 2;
        b->text = realloc(b->text, cap);
        if (!b->text) abort();
        b->text_cap = cap;
    }
    return b->text + b->text_len;
}

void qry_cell_put_text(qry_batch *b, qry_cell *out, const char *s, size_t n)
{
    if (n) memcpy(batch_text_reserve(b, n), s, n);
    out->type = SQLITE_TEXT;
    out->len = n;
    out->v.off = b->text_len;
    b->text_len += n;
}

void qry_cell_from_json(qry_batch *b, qry_col_kind kind, json_t *v, qry_cell *out)
{
    out->type = SQLITE_NULL;
    if (!v || json_is_null(v)) return;
    if (kind == QRY_COL_BIGINT || kind == QRY_COL_DOUBLE) {
        bool is_int = kind == QRY_COL_BIGINT;
        if (json_is_integer(v)) {
            if (is_int) {
                out->type = SQLITE_INTEGER;
                out->v.i = json_integer_value(v);
            } else {
                out->type = SQLITE_FLOAT;
                out->v.d = (double)json_integer_value(v);
            }
        } else if (json_is_real(v)) {
            out->type = SQLITE_FLOAT;
            out->v.d = json_real_value(v);
        } else if (json_is_string(v)) {
            char *end;
            const char *s = json_string_value(v);
            if (is_int) {
                long long x = strtoll(s, &end, 10);
                if (*s && !*end) {
                    out->type = SQLITE_INTEGER;
                    out->v.i = x;
                }
            } else {
                double x = strtod(s, &end);
                if (*s && !*end) {
                    out->type = SQLITE_FLOAT;
                    out->v.d = x;
                }
            }
        }
        return;
    }
    if (kind == QRY_COL_BOOLEAN) {
        int x = -1;
        if (json_is_boolean(v)) x = json_is_true(v);
        else if (json_is_string(v) && !strcasecmp(json_string_value(v), "true")) x = 1;
        else if (json_is_string(v) && !strcasecmp(json_string_value(v), "false")) x = 0;
        if (x >= 0) {
            out->type = SQLITE_INTEGER;
            out->v.i = x;
        }
        return;
    }
    if (json_is_string(v)) {
        qry_cell_put_text(b, out, json_string_value(v), json_string_length(v));
        return;
    }
    if (json_is_real(v)) { /* 199.5, not 199.50000000000000 */
        char shortest[64];
        snprintf(shortest, sizeof shortest, "%.15g", json_real_value(v));
        if (strtod(shortest, NULL) == json_real_value(v)) {
            qry_cell_put_text(b, out, shortest, strlen(shortest));
            return;
        }
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (text) qry_cell_put_text(b, out, text, strlen(text));
    json_free_t jfree; /* json_dumps allocates with jansson's (arena) hooks */
    json_get_alloc_funcs(NULL, &jfree);
    jfree(text);
}

static json_t *member(json_t *rec, const char *name)
{
    if (!json_is_object(rec)) return NULL;
    json_t *v = json_object_get(rec, name);
    if (v) return v;
    const char *k;
    json_t *x;
    json_object_foreach(rec, k, x) if (!strcasecmp(k, name)) return x;
    return NULL;
}

/* ---- producing -------------------------------------------------------------------------- */

/* Batches whose buffers are kept for the next batch (any scan, any thread): a worker's
 * fresh buffers cost page faults on every batch, and freeing them let malloc hand the pages
 * back (madvise) only to fault them in again for the next. At most QRY_BATCH_SPARE_MAX are
 * kept, each only if its buffers are at most QRY_BATCH_SPARE_BYTES. */
enum { QRY_BATCH_SPARE_MAX = 16, QRY_BATCH_SPARE_BYTES = 1024 * 1024 };

static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static qry_batch *spare;        /* linked through next; cells_cap holds the cells' capacity */
static size_t n_spare;

static qry_batch *batch_new(const qry_scan *s, size_t object)
{
    pthread_mutex_lock(&spare_mu);
    qry_batch *b = spare;
    if (b) {
        spare = b->next;
        n_spare--;
    }
    pthread_mutex_unlock(&spare_mu);
    if (b) {
        qry_cell *cells = b->cells;
        char *text = b->text;
        size_t cells_cap = b->cells_cap, text_cap = b->text_cap;
        memset(b, 0, sizeof *b);
        b->cells = cells;
        b->text = text;
        b->text_cap = text_cap;
        b->cap_rows = cells_cap / (s->n_cols ? s->n_cols : 1);
    } else {
        b = calloc(1, sizeof *b);
        if (!b) abort();
    }
    b->object = object;
    b->n_cols = s->n_cols;
    return b;
}

void qry_batch_free(qry_batch *b)
{
    if (!b) return;
    free(b->error);
    b->error = NULL;
    size_t cells_cap = b->cap_rows * (b->n_cols ? b->n_cols : 1);
    if (cells_cap * sizeof *b->cells + b->text_cap <= QRY_BATCH_SPARE_BYTES) {
        b->cells_cap = cells_cap;
        pthread_mutex_lock(&spare_mu);
        bool keep = n_spare < QRY_BATCH_SPARE_MAX;
        if (keep) {
            b->next = spare;
            spare = b;
            n_spare++;
        }
        pthread_mutex_unlock(&spare_mu);
        if (keep) return;
    }
    free(b->cells);
    free(b->text);
    free(b);
}

/* atexit: the kept batches go (leak checkers). */
static void spare_release(void)
{
    pthread_mutex_lock(&spare_mu);
    while (spare) {
        qry_batch *b = spare;
        spare = b->next;
        free(b->cells);
        free(b->text);
        free(b);
    }
    n_spare = 0;
    pthread_mutex_unlock(&spare_mu);
}

typedef struct row_arg {
    const qry_scan *s;
    qry_batch *b;
} row_arg;

static bool add_row(void *arg, json_t *record)
{
    row_arg *a = arg;
    qry_batch *b = a->b;
    if (b->n_rows == b->cap_rows) {
        b->cap_rows = b->cap_rows ? b->cap_rows * 2 : QRY_SCAN_BATCH_ROWS;
        b->cells = realloc(b->cells, (b->n_cols ? b->n_cols : 1) * b->cap_rows * sizeof *b->cells);
        if (!b->cells) abort();
    }
    qry_cell *row = b->cells + b->n_rows * b->n_cols;
    for (size_t i = 0; i < b->n_cols; i++)
        qry_cell_from_json(b, a->s->cols[i].kind, member(record, a->s->cols[i].name), &row[i]);
    b->n_rows++;
    return true;
}

/* The worker's next batch: the start of its next object, or more rows of the current one.
 * Whole documents go into a batch (one that selects many records may overfill it). */
/* The next cached chunk of the worker's current cache object as a batch. */
static qry_batch *produce_cached(worker *w, qry_batch *b)
{
    qry_scan *s = w->s;
    size_t len = 0;
    /* in place: decoded before the next chunk call or the end of the read */
    const void *data = cat_cache_chunk_view(w->cache, w->cache_id, w->cache_seq, &len);
    if (!data || !qry_batch_from_chunk(b, data, len, s->cols, s->n_cols)) {
        b->error = strdup("query cache: a cached chunk is missing or malformed (recrawl)");
        if (!b->error) abort();
        w->next_obj = s->n_paths;
    }
    if (b->error || ++w->cache_seq >= w->cache_chunks) {
        cat_cache_read_end(w->cache);
        w->cache_id = 0;
        b->object_end = true;
    }
    return b;
}

/* Starts serving object path from the cache if its entry matches st; false: parse it. */
static bool cache_start(worker *w, const char *path, const struct stat *st)
{
    qry_scan *s = w->s;
    if (!s->cache_path) return false;
    if (!w->cache_tried) {
        w->cache_tried = true;
        sp_err e = {0};
        if (s->n_workers) { /* on a pool thread: its kept connection */
            /* stat before open: a file replaced in between only costs a reopen next time */
            struct stat cst;
            bool have = stat(s->cache_path, &cst) == 0;
            if (tl_cache && (strcmp(tl_cache_path, s->cache_path) || !have ||
                             cst.st_dev != tl_cache_dev || cst.st_ino != tl_cache_ino)) {
                cat_cache_close(tl_cache);
                tl_cache = NULL;
                free(tl_cache_path);
                tl_cache_path = NULL;
            }
            if (!tl_cache && have) {
                tl_cache = cat_cache_open(s->cache_path, false, &e);
                tl_cache_dev = cst.st_dev;
                tl_cache_ino = cst.st_ino;
                if (tl_cache) {
                    tl_cache_path = strdup(s->cache_path);
                    if (!tl_cache_path) abort();
                }
            }
            w->cache = tl_cache;
            w->cache_borrowed = true;
        } else {
            w->cache = cat_cache_open(s->cache_path, false, &e);
        }
    }
    if (!w->cache || !cat_cache_read_begin(w->cache)) return false;
    size_t chunks = 0;
    int64_t id = cat_cache_lookup(w->cache, path, st, s->json_path, &chunks);
    if (!id) {
        cat_cache_read_end(w->cache);
        return false;
    }
    w->cache_id = id;
    w->cache_seq = 0;
    w->cache_chunks = chunks;
    return true;
}

static qry_batch *produce(worker *w)
{
    qry_scan *s = w->s;
    qry_batch *b;
    if (w->cache_id) {
        b = batch_new(s, w->cur_obj);
        return produce_cached(w, b);
    }
    if (!w->reader) {
        size_t j = w->next_obj;
        w->next_obj += s->n_workers ? s->n_workers : 1;
        b = batch_new(s, j);
        sp_err e = {0};
        const char *path = s->paths[j];
        struct stat st;
        bool have_st = path && stat(path, &st) == 0;
        w->cur_obj = j;
        if (have_st && cache_start(w, path, &st)) {
            b->opened = true;
            b->from_cache = true;
            b->bytes = (uint64_t)st.st_size;
            if (!w->cache_chunks) { /* an object with no records */
                cat_cache_read_end(w->cache);
                w->cache_id = 0;
                b->object_end = true;
                return b;
            }
            return produce_cached(w, b);
        }
        cat_parquet *pq = path ? cat_parquet_open(path, &e) : NULL;
        if (pq || sp_err_failed(&e)) {
            if (pq) {
                qry_batch_from_parquet(b, cat_parquet_file(pq), s->cols, s->n_cols, s->filters,
                                       s->n_filters);
                cat_parquet_close(pq);
                if (b->error) w->next_obj = s->n_paths; /* the statement ends here */
            } else {
                b->error = strdup(e.msg);
                if (!b->error) abort();
                w->next_obj = s->n_paths;
            }
            b->opened = true;
            if (stat(path, &st) == 0) b->bytes = (uint64_t)st.st_size;
            b->object_end = true;
            return b;
        }
        w->reader = path ? cat_reader_open(path, &e) : NULL;
        if (!w->reader) { /* an object deleted since the listing is simply gone */
            b->object_end = true;
            return b;
        }
        b->opened = true;
        if (stat(path, &st) == 0) b->bytes = (uint64_t)st.st_size;
    } else {
        b = batch_new(s, w->cur_obj);
    }
    row_arg a = {.s = s, .b = b};
    /* The arena only on worker threads: inline, other cursors on this thread keep trees. */
    bool arena = s->n_workers > 0;
    while (b->n_rows < QRY_SCAN_BATCH_ROWS) {
        sp_err e = {0};
        json_t *doc = NULL;
        if (arena) sp_json_arena_begin();
        int rc = cat_reader_next(w->reader, &doc, &e);
        if (rc > 0) {
            cat_jsonpath_select(s->path, doc, add_row, &a);
            json_decref(doc);
        }
        if (arena) sp_json_arena_end();
        if (rc > 0) continue;
        if (rc < 0) {
            b->error = strdup(e.msg);
            w->next_obj = s->n_paths; /* the statement ends here */
        }
        cat_reader_close(w->reader);
        w->reader = NULL;
        b->object_end = true;
        break;
    }
    return b;
}

static bool worker_done(const worker *w)
{
    return !w->reader && !w->cache_id && w->next_obj >= w->s->n_paths;
}

static void worker_release(worker *w)
{
    cat_reader_close(w->reader);
    w->reader = NULL;
    if (w->cache_id) cat_cache_read_end(w->cache);
    w->cache_id = 0;
    if (!w->cache_borrowed) cat_cache_close(w->cache);
    w->cache = NULL;
}

/* A pool job (qry_pool.c): produces w's objects until done or stopped. */
static void worker_main(void *arg)
{
    worker *w = arg;
    qry_scan *s = w->s;
    while (!worker_done(w)) {
        qry_batch *b = produce(w);
        pthread_mutex_lock(&s->mu);
        while (w->queued >= QRY_SCAN_QUEUE_MAX && !s->stop) pthread_cond_wait(&s->room, &s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            qry_batch_free(b);
            break;
        }
        if (w->tail) w->tail->next = b;
        else w->head = b;
        w->tail = b;
        w->queued++;
        pthread_cond_broadcast(&s->ready);
        pthread_mutex_unlock(&s->mu);
    }
    worker_release(w);
}

/* The pool's done(): after it the worker no longer touches w or the scan. */
static void worker_finished(void *arg)
{
    worker *w = arg;
    qry_scan *s = w->s;
    pthread_mutex_lock(&s->mu);
    w->finished = true;
    pthread_cond_broadcast(&s->ready);
    pthread_mutex_unlock(&s->mu);
}

/* Under s->mu: waits until the first n workers' jobs have returned. */
static void wait_finished(qry_scan *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        while (!s->w[i].finished) pthread_cond_wait(&s->ready, &s->mu);
}

/* ---- the scan --------------------------------------------------------------------------- */

static void qry_init_once(void) { atexit(spare_release); }

void qry_init(void)
{
    sp_json_arena_install();
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, qry_init_once);
}

qry_scan *qry_scan_start(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                         const qry_col *cols, size_t n_cols, size_t n_workers)
{
    return qry_scan_start_cached(paths, n_paths, path, cols, n_cols, n_workers, NULL, NULL);
}

bool qry_stat_filter_excludes(const qry_stat_filter *f, const json_t *min, const json_t *max)
{
    if (!min || !max) return false;
    int lo, hi;  /* sign of (value - min), (value - max) */
    if (f->numeric) {
        if (!json_is_number(min) || !json_is_number(max)) return false;
        double a = json_number_value(min), b = json_number_value(max);
        lo = f->num < a ? -1 : f->num > a;
        hi = f->num < b ? -1 : f->num > b;
    } else {
        if (!json_is_string(min) || !json_is_string(max) || !f->text) return false;
        int x = strcmp(f->text, json_string_value(min)), y = strcmp(f->text, json_string_value(max));
        lo = x < 0 ? -1 : x > 0;
        hi = y < 0 ? -1 : y > 0;
    }
    switch (f->op) {
    case QRY_SF_EQ: return lo < 0 || hi > 0;   /* value outside [min, max] */
    case QRY_SF_LT: return lo <= 0;            /* col < v, but min >= v */
    case QRY_SF_LE: return lo < 0;             /* col <= v, but min > v */
    case QRY_SF_GT: return hi >= 0;            /* col > v, but max <= v */
    case QRY_SF_GE: return hi > 0;             /* col >= v, but max < v */
    }
    return false;
}

qry_scan *qry_scan_start_cached(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                                const qry_col *cols, size_t n_cols, size_t n_workers,
                                const char *cache_path, const char *json_path)
{
    return qry_scan_start_filtered(paths, n_paths, path, cols, n_cols, n_workers, cache_path,
                                   json_path, NULL, 0);
}

qry_scan *qry_scan_start_filtered(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                                  const qry_col *cols, size_t n_cols, size_t n_workers,
                                  const char *cache_path, const char *json_path,
                                  const qry_stat_filter *filters, size_t n_filters)
{
    qry_init();
    qry_scan *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->cache_path = json_path ? cache_path : NULL;
    s->json_path = json_path;
    s->filters = filters;
    s->n_filters = n_filters;
    s->paths = paths;
    s->n_paths = n_paths;
    s->path = path;
    s->cols = cols;
    s->n_cols = n_cols;
    if (n_workers > n_paths) n_workers = n_paths;
    s->w = calloc(n_workers ? n_workers : 1, sizeof *s->w);
    if (!s->w) abort();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->ready, NULL);
    pthread_cond_init(&s->room, NULL);
    s->n_workers = n_workers;
    for (size_t i = 0; i < (n_workers ? n_workers : 1); i++) {
        s->w[i].s = s;
        s->w[i].next_obj = i;
    }
    size_t started = 0;
    for (; started < n_workers; started++)
        if (!qry_pool_run(worker_main, worker_finished, &s->w[started])) break;
    if (started < n_workers) { /* no threads to be had: produce inline instead */
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->room);
        wait_finished(s, started);
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < n_workers; i++)
            while (s->w[i].head) {
                qry_batch *b = s->w[i].head;
                s->w[i].head = b->next;
                qry_batch_free(b);
            }
        memset(s->w, 0, sizeof *s->w);
        s->w[0].s = s;
        s->n_workers = 0;
        s->stop = false;
    }
    return s;
}

qry_batch *qry_scan_next(qry_scan *s, size_t object)
{
    if (object >= s->n_paths) return NULL;
    if (!s->n_workers) {
        worker *w = &s->w[0];
        if (!w->reader && !w->cache_id) w->next_obj = object;
        return produce(w);
    }
    worker *w = &s->w[object % s->n_workers];
    pthread_mutex_lock(&s->mu);
    while (!w->head) pthread_cond_wait(&s->ready, &s->mu);
    qry_batch *b = w->head;
    w->head = b->next;
    if (!w->head) w->tail = NULL;
    w->queued--;
    pthread_cond_broadcast(&s->room);
    pthread_mutex_unlock(&s->mu);
    b->next = NULL;
    return b;
}

void qry_scan_stop(qry_scan *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->room);
    wait_finished(s, s->n_workers);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < (s->n_workers ? s->n_workers : 1); i++) {
        while (s->w[i].head) {
            qry_batch *b = s->w[i].head;
            s->w[i].head = b->next;
            qry_batch_free(b);
        }
        worker_release(&s->w[i]);
    }
    pthread_cond_destroy(&s->ready);
    pthread_cond_destroy(&s->room);
    pthread_mutex_destroy(&s->mu);
    free(s->w);
    free(s);
}
