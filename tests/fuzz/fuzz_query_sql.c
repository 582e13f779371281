/* Fuzzes the query path: Athena SQL rewriting (every rewritten error offset must map back
 * inside the input) and execution of the input as a query over an empty catalog, with the
 * Presto functions registered, through the guard (authorizer, time limit): whatever the
 * input, it ends within the limit and no file appears in the working directory (an empty
 * directory the target moves into, where ATTACH 'x' or VACUUM INTO 'x' would create one).
 * The projection pass (qry_project.c) runs on every input against a fake table `t`: when
 * it only narrows (no latest-row mode), the text must differ from the input only where a `*`
 * became a column list; with the latest-row mode, every spec it writes must parse; either
 * way every offset must still map inside the input and the text must still tokenize. The
 * input is also parsed as a latest-row spec (the hidden column's value is user input).
 * The aggregate pass (qry_agg.c) runs on every input against the same table, typed: every
 * spec it writes must parse, offsets must map inside the input, the text must tokenize, and
 * the input is also parsed as an aggregate spec. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/qry_int.h"

/* Inputs must end: a recursive CTE is cut off here. */
enum { FUZZ_QUERY_TIMEOUT_MS = 500 };

static const char *const FUZZ_COLS[] = {"orderid", "price", "sequence_number", "Price"};

static bool fuzz_columns(void *arg, const char *ref, char ***names, size_t *n, bool *latest)
{
    *latest = arg != NULL;
    if (strcmp(ref, "t") && strcmp(ref, "db.t")) return false;
    *n = strcmp(ref, "t") ? 4 : 3; /* db.t has two names equal but for case */
    *names = calloc(*n, sizeof **names);
    if (!*names) abort();
    for (size_t i = 0; i < *n; i++) (*names)[i] = strdup(FUZZ_COLS[i]);
    return true;
}

static const char *const FUZZ_TYPES[] = {"varchar", "double", "bigint", "double"};

static bool fuzz_types(void *arg, const char *ref, char ***names, char ***types, size_t *n,
                       bool *lake)
{
    if (!fuzz_columns(arg, ref, names, n, lake)) return false;
    *types = calloc(*n, sizeof **types);
    if (!*types) abort();
    for (size_t i = 0; i < *n; i++) (*types)[i] = strdup(FUZZ_TYPES[i]);
    return true;
}

/* The aggregate pass on a copy of q: what it writes must hold together. */
static void check_aggregate(const qry_sql *q, const char *sql)
{
    qry_sql p = {.text = strdup(q->text), .n_map = q->n_map};
    p.map_out = malloc((q->n_map + 1) * sizeof *p.map_out);
    p.map_in = malloc((q->n_map + 1) * sizeof *p.map_in);
    if (!p.text || !p.map_out || !p.map_in) abort();
    memcpy(p.map_out, q->map_out, q->n_map * sizeof *p.map_out);
    memcpy(p.map_in, q->map_in, q->n_map * sizeof *p.map_in);
    if (qry_sql_aggregate(&p, fuzz_types, &p)) {
        for (size_t off = 0; off <= strlen(p.text); off++)
            if (qry_sql_original_offset(&p, off) > strlen(sql) + strlen(p.text)) abort();
        sp_err e = {0};
        size_t n_tok;
        qry_token *t = qry_sql_tokenize(p.text, &n_tok, &e);
        if (!t) abort();
        free(t);
        const char *at = strstr(p.text, "\"" QRY_AGG_COLUMN "\" = '");
        if (!at) abort();
        const char *v = at + strlen("\"" QRY_AGG_COLUMN "\" = '");
        char *spec = strndup(v, strcspn(v, "'"));
        qry_agg_spec as;
        if (!spec || !qry_agg_spec_parse(spec, 4, &as)) abort();
        free(spec);
    } else if (strcmp(q->text, p.text)) {
        abort();
    }
    qry_sql_clear(&p);
}

/* True if b is a with some `*` replaced by lists of quoted FUZZ_COLS names. */
static bool only_stars_replaced(const char *a, const char *b)
{
    while (*a || *b) {
        if (*a == *b) {
            a++;
            b++;
            continue;
        }
        if (*a != '*' || *b != '"') return false;
        a++;
        for (;;) { /* "name"[, "name"]... */
            if (*b++ != '"') return false;
            const char *q = strchr(b, '"');
            if (!q) return false;
            b = q + 1;
            if (strncmp(b, ", \"", 3)) break;
            b += 2;
        }
    }
    return true;
}

static cat_catalog *cat;
static lake *lk;

/* True if the working directory holds anything but . and .. */
static bool cwd_dirty(void)
{
    DIR *d = opendir(".");
    if (!d) return true;
    struct dirent *ent;
    bool dirty = false;
    while (!dirty && (ent = readdir(d)))
        dirty = strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
    closedir(d);
    return dirty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat) {
        char dir[] = "/tmp/fuzz_query_sql_XXXXXX";
        if (!mkdtemp(dir)) return 0;
        sp_err e = {0};
        cat = cat_catalog_open(dir, &e);
        lk = lake_open(dir, &e);
        if (!cat || !lk) abort();
        char jail[] = "/tmp/fuzz_query_sql_cwd_XXXXXX";
        if (!mkdtemp(jail) || chdir(jail) != 0) abort();
    }
    char *sql = strndup((const char *)data, size);
    /* the latest-row spec is outside input too: anyone can write the hidden column */
    qry_latest_spec raw_spec;
    if (qry_latest_spec_parse(sql, 8, &raw_spec)) {
        if (raw_spec.n_keys == 0 || raw_spec.n_keys > 16 || raw_spec.order >= 8) abort();
        for (size_t k = 0; k < raw_spec.n_keys; k++)
            if (raw_spec.keys[k] >= 8) abort();
    }
    qry_agg_spec raw_agg;
    if (qry_agg_spec_parse(sql, 8, &raw_agg)) {
        if (!raw_agg.n_keys || raw_agg.n_keys > QRY_AGG_KEYS_MAX || !raw_agg.n_fns ||
            raw_agg.n_fns > QRY_AGG_PARTIALS || raw_agg.n_where > QRY_AGG_WHERE_MAX)
            abort();
        for (size_t k = 0; k < raw_agg.n_keys; k++)
            if (raw_agg.keys[k] >= 8) abort();
    }
    qry_sql q;
    sp_err e = {0};
    if (qry_sql_rewrite(sql, &q, &e)) {
        check_aggregate(&q, sql);
        for (size_t off = 0; off <= strlen(q.text); off++)
            if (qry_sql_original_offset(&q, off) > strlen(sql) + strlen(q.text)) abort();
        char *before = strdup(q.text);
        if (!before) abort();
        for (int latest = 0; latest < 2; latest++) {
            qry_sql p = {.text = strdup(before), .n_map = q.n_map};
            p.map_out = malloc((q.n_map + 1) * sizeof *p.map_out);
            p.map_in = malloc((q.n_map + 1) * sizeof *p.map_in);
            if (!p.text || !p.map_out || !p.map_in) abort();
            memcpy(p.map_out, q.map_out, q.n_map * sizeof *p.map_out);
            memcpy(p.map_in, q.map_in, q.n_map * sizeof *p.map_in);
            if (qry_sql_project(&p, fuzz_columns, latest ? &p : NULL)) {
                if (!latest && !only_stars_replaced(before, p.text)) abort();
                for (size_t off = 0; off <= strlen(p.text); off++)
                    if (qry_sql_original_offset(&p, off) > strlen(sql) + strlen(p.text)) abort();
                size_t n_tok;
                qry_token *t = qry_sql_tokenize(p.text, &n_tok, &e);
                if (!t) abort();
                free(t);
                for (const char *at = strstr(p.text, "\"" QRY_LATEST_COLUMN "\" = '"); at;
                     at = strstr(at + 1, "\"" QRY_LATEST_COLUMN "\" = '")) {
                    const char *v = at + strlen("\"" QRY_LATEST_COLUMN "\" = '");
                    char *spec = strndup(v, strcspn(v, "'"));
                    qry_latest_spec ls;
                    if (!spec || !qry_latest_spec_parse(spec, 4, &ls)) abort();
                    free(spec);
                }
            } else if (strcmp(before, p.text)) {
                abort();
            }
            qry_sql_clear(&p);
        }
        free(before);
        qry_sql_clear(&q);
    }
    qry_opts opts = {.timeout_ms = FUZZ_QUERY_TIMEOUT_MS};
    qry_result *r = qry_exec(cat, lk, "sales_db", sql, &opts, &e);
    qry_result_destroy(r);
    if (cwd_dirty()) {
        fprintf(stderr, "fuzz_query_sql: a query created a file\n");
        abort();
    }
    free(sql);
    return 0;
}
