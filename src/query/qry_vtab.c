/* The "lake" virtual table: one per catalog table. A scan lists the partitions that can
 * match the WHERE constraints on partition keys (xBestIndex hands them over, xFilter
 * prunes) and their objects, then hands the objects to the scan workers (qry_scan.c),
 * which read them through the catalog's reader on their own threads, select the records
 * with the table's JsonPath and convert only the columns the query uses (colUsed) to SQL
 * values of the column's type; this side returns those values to SQLite in object order.
 *
 *   CREATE VIRTUAL TABLE sales_db.t USING lake('sales_db', 't')
 */
#include "qry_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct lake_vtab {
    sqlite3_vtab base;
    qry_ctx *ctx;
    cat_table *t;
    cat_jsonpath *path;
    size_t n_data;        /* data columns come first, then the partition keys */
    size_t n_all;         /* data columns and partition keys: what `SELECT *` gives */
    int latest_col;       /* the hidden QRY_LATEST_COLUMN (= n_all), -1 if not declared */
    int agg_col;          /* the hidden QRY_AGG_COLUMN (= n_all + 1), then the partials; -1 */
} lake_vtab;

/* One key's latest row so far (latest mode): the data cells, their text its own. */
typedef struct latest_row {
    char *text;
    size_t text_len, text_cap;
    size_t object;        /* the object the row came from (its partition values) */
    uint64_t hash;
} latest_row;

typedef struct scan_part {
    char *prefix;
    char **values;
    size_t n_values;
} scan_part;

typedef struct lake_cursor {
    sqlite3_vtab_cursor base;
    scan_part *parts;
    size_t n_parts, parts_counted;
    char **paths;         /* every object of the pruned partitions, in scan order */
    size_t *path_part;    /* the partition of each */
    size_t n_paths, cap_paths, obj_next;
    qry_col *cols;        /* the columns the query uses, as the scan converts them */
    size_t n_cols;
    int *col_cell;        /* data column -> index among cols, -1 if unused */
    qry_scan *scan;
    qry_batch *batch;     /* the current row is batch row `row` */
    size_t row;
    sqlite3_int64 rowid;
    bool eof;
    qry_stat_filter *filters; /* data-column constraints for Parquet row-group skipping */
    size_t n_filters;
    bool latest;          /* latest mode: rows are win[order[pos]] */
    latest_row *win;
    qry_cell *win_cells;  /* n_win * n_cols */
    size_t n_win, cap_win, pos;
    size_t *order;
    bool agg;             /* aggregate mode (qry_agg.c): spec holds what to compute */
    bool agg_rows;        /* ... every row is a group of one (the WHERE needs the rows) */
    bool agg_split;       /* ... groups are per partition too (the WHERE tests them) */
    bool agg_done;        /* ... the scan is exhausted (else groups flush at the cap) */
    qry_agg_spec spec;
    qry_agg_acc *accs;    /* per group: spec.n_fns partials */
    size_t fill_obj;      /* the object the next fill continues with */
    bool fill_mid;        /* ... which has batches left */
} lake_cursor;

/* Groups an aggregate scan holds before it hands them to SQLite and starts afresh (SQLite
 * merges the partials of a group that comes out twice): the scan's memory bound.
 * SALESPIPE_QUERY_AGG_GROUPS lowers it (tests make groups come out several times). */
enum { QRY_AGG_GROUPS_MAX = 65536 };

static size_t agg_groups_max(void)
{
    const char *env = getenv("SALESPIPE_QUERY_AGG_GROUPS");
    if (env && *env >= '1' && *env <= '9') {
        long n = strtol(env, NULL, 10);
        if (n < QRY_AGG_GROUPS_MAX) return (size_t)n;
    }
    return QRY_AGG_GROUPS_MAX;
}

/* ---- connect ---------------------------------------------------------------------------- */

static const char *sql_type(const char *glue)
{
    if (!strcmp(glue, "bigint")) return "bigint";
    if (!strcmp(glue, "int") || !strcmp(glue, "smallint") || !strcmp(glue, "tinyint"))
        return "integer";
    if (!strcmp(glue, "double") || !strcmp(glue, "float")) return "double";
    if (!strcmp(glue, "boolean")) return "boolean";
    return "varchar"; /* string, and nested values as JSON text */
}

static char *unquote(const char *arg)
{
    size_t n = strlen(arg);
    if (n >= 2 && (arg[0] == '\'' || arg[0] == '"') && arg[n - 1] == arg[0])
        return strndup(arg + 1, n - 2);
    return strdup(arg);
}

static void quote_ident(sp_str *s, const char *name)
{
    sp_str_putc(s, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') sp_str_putc(s, '"');
        sp_str_putc(s, *p);
    }
    sp_str_putc(s, '"');
}

static int lake_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err)
{
    if (argc != 5) {
        *err = sqlite3_mprintf("lake: expected USING lake('database', 'table')");
        return SQLITE_ERROR;
    }
    char *database = unquote(argv[3]), *name = unquote(argv[4]);
    lake_vtab *vt = sqlite3_malloc(sizeof *vt);
    if (!vt) abort();
    memset(vt, 0, sizeof *vt);
    vt->ctx = aux;
    sp_err e = {0};
    vt->t = cat_table_get(vt->ctx->cat, database, name, &e);
    free(database);
    free(name);
    if (vt->t) vt->path = cat_jsonpath_compile(vt->t->json_path[0] ? vt->t->json_path : "$", &e);
    if (!vt->t || !vt->path) {
        *err = sqlite3_mprintf("%s", e.msg);
        cat_table_destroy(vt->t);
        sqlite3_free(vt);
        return SQLITE_ERROR;
    }
    vt->n_data = vt->t->n_columns;
    vt->n_all = vt->t->n_columns + vt->t->n_partition_keys;
    vt->latest_col = (int)vt->n_all;
    vt->agg_col = (int)vt->n_all + 1;
    sp_str s;
    char buf[512];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_puts(&s, "CREATE TABLE x(");
    for (size_t i = 0; i < vt->t->n_columns + vt->t->n_partition_keys; i++) {
        const cat_column *c = i < vt->n_data ? &vt->t->columns[i]
                                             : &vt->t->partition_keys[i - vt->n_data];
        if (i) sp_str_puts(&s, ", ");
        quote_ident(&s, c->name);
        sp_str_appendf(&s, " %s", sql_type(c->type));
        if (!strcasecmp(c->name, QRY_LATEST_COLUMN) || !strcasecmp(c->name, QRY_AGG_COLUMN) ||
            !strncasecmp(c->name, QRY_AGG_PARTIAL_PREFIX, strlen(QRY_AGG_PARTIAL_PREFIX)))
            vt->latest_col = vt->agg_col = -1;
    }
    if (vt->latest_col >= 0) {
        sp_str_puts(&s, ", \"" QRY_LATEST_COLUMN "\" HIDDEN, \"" QRY_AGG_COLUMN "\" HIDDEN");
        for (int k = 0; k < QRY_AGG_PARTIALS; k++)
            sp_str_appendf(&s, ", \"" QRY_AGG_PARTIAL_PREFIX "%d\" HIDDEN", k);
    }
    sp_str_putc(&s, ')');
    int rc = sqlite3_declare_vtab(db, s.buf);
    sp_str_release(&s);
    if (rc != SQLITE_OK) {
        *err = sqlite3_mprintf("lake: table %s: %s", vt->t->name, sqlite3_errmsg(db));
        cat_jsonpath_destroy(vt->path);
        cat_table_destroy(vt->t);
        sqlite3_free(vt);
        return rc;
    }
    *out = &vt->base;
    return SQLITE_OK;
}

static int lake_disconnect(sqlite3_vtab *base)
{
    lake_vtab *vt = (lake_vtab *)base;
    cat_jsonpath_destroy(vt->path);
    cat_table_destroy(vt->t);
    sqlite3_free(vt);
    return SQLITE_OK;
}

/* ---- planning --------------------------------------------------------------------------- */

/* Whether the statement uses column col (colUsed's last bit stands for every column from
 * 63 on). */
static bool used_bit(const sqlite3_index_info *info, int col)
{
    return (info->colUsed >> (col < 63 ? col : 63)) & 1;
}

static bool uses_agg(const sqlite3_index_info *info, const lake_vtab *vt)
{
    for (int k = 0; k <= QRY_AGG_PARTIALS; k++)
        if (used_bit(info, vt->agg_col + k)) return true;
    return false;
}

/* What xBestIndex says any scan of a lake table costs (see there). */
#define QRY_SCAN_COST 1e9

/* idxStr: "<colUsed hex>" then ";<key>,<op>" per constraint handed to xFilter in argv
 * order; op is one of = ! < l > g i S (EQ NE LT LE GT GE IN IS). */
static int lake_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    lake_vtab *vt = (lake_vtab *)base;
    sp_str s;
    char buf[128];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_appendf(&s, "%llx", (unsigned long long)info->colUsed);
    int argv_i = 0;
    double cost = 1e9;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable || c->iColumn < 0) continue;
        if (c->iColumn == vt->latest_col) {
            /* the latest-row spec: handed over, never checked by SQLite (the column reads
             * NULL) */
            if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
            info->aConstraintUsage[i].argvIndex = ++argv_i;
            info->aConstraintUsage[i].omit = 1;
            sp_str_puts(&s, ";L");
            cost /= 2;
            continue;
        }
        if (c->iColumn == vt->agg_col) { /* the aggregate spec, likewise */
            if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
            info->aConstraintUsage[i].argvIndex = ++argv_i;
            info->aConstraintUsage[i].omit = 1;
            sp_str_puts(&s, ";A");
            cost /= 2;
            continue;
        }
        if (c->iColumn >= (int)vt->n_all) continue; /* the other hidden columns */
        if (c->iColumn < (int)vt->n_data) {
            /* A data column: Parquet row-group statistics may exclude it (not for IN). */
            char dop = c->op == SQLITE_INDEX_CONSTRAINT_EQ ? '=' :
                       c->op == SQLITE_INDEX_CONSTRAINT_LT ? '<' :
                       c->op == SQLITE_INDEX_CONSTRAINT_LE ? 'l' :
                       c->op == SQLITE_INDEX_CONSTRAINT_GT ? '>' :
                       c->op == SQLITE_INDEX_CONSTRAINT_GE ? 'g' : 0;
            if (!dop || sqlite3_vtab_in(info, i, -1)) continue;
            info->aConstraintUsage[i].argvIndex = ++argv_i;
            info->aConstraintUsage[i].omit = 0;
            sp_str_appendf(&s, ";d%d,%c", c->iColumn, dop);
            continue;
        }
        char op;
        switch (c->op) {
        case SQLITE_INDEX_CONSTRAINT_EQ: op = '='; break;
        case SQLITE_INDEX_CONSTRAINT_NE: op = '!'; break;
        case SQLITE_INDEX_CONSTRAINT_LT: op = '<'; break;
        case SQLITE_INDEX_CONSTRAINT_LE: op = 'l'; break;
        case SQLITE_INDEX_CONSTRAINT_GT: op = '>'; break;
        case SQLITE_INDEX_CONSTRAINT_GE: op = 'g'; break;
        case SQLITE_INDEX_CONSTRAINT_IS: op = 'S'; break;
        default: continue;
        }
        if (op == '=' && sqlite3_vtab_in(info, i, -1)) {
            sqlite3_vtab_in(info, i, 1);
            op = 'i';
        }
        info->aConstraintUsage[i].argvIndex = ++argv_i;
        info->aConstraintUsage[i].omit = 0; /* SQLite checks again: pruning only skips work */
        cost /= (op == '=' || op == 'i' || op == 'S') ? 10 : 2;
        sp_str_appendf(&s, ";%d,%c", c->iColumn - (int)vt->n_data, op);
    }
    /* A statement that names the latest-row or aggregate column is only answered right by
     * a scan that gets its spec: refuse the plans without it (the branches of a
     * MULTI-INDEX OR, which get only their own branch's constraints). */
    bool latest_given = strstr(s.buf, ";L") != NULL, agg_given = strstr(s.buf, ";A") != NULL;
    if ((vt->latest_col >= 0 && vt->latest_col < 63 && used_bit(info, vt->latest_col) &&
         !latest_given) ||
        (vt->agg_col >= 0 && vt->agg_col + QRY_AGG_PARTIALS < 63 && !agg_given &&
         uses_agg(info, vt))) {
        sp_str_release(&s);
        return SQLITE_CONSTRAINT;
    }
    /* Every plan costs one scan; constraints only narrow the rows. So SQLite never answers an
     * OR of constraints as a MULTI-INDEX OR (one scan per branch, rows told apart by rowid):
     * rowids count rows within one scan, so the branches' rowids would collide and rows of a
     * later branch be dropped as duplicates. */
    info->estimatedCost = QRY_SCAN_COST;
    info->estimatedRows = (sqlite3_int64)cost;
    info->idxStr = sqlite3_mprintf("%s", s.buf);
    info->needToFreeIdxStr = 1;
    sp_str_release(&s);
    return info->idxStr ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- scanning --------------------------------------------------------------------------- */

static int lake_cursor_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    (void)base;
    lake_cursor *c = calloc(1, sizeof *c);
    if (!c) return SQLITE_NOMEM;
    *out = &c->base;
    return SQLITE_OK;
}

static void cursor_reset(lake_cursor *c)
{
    qry_scan_stop(c->scan);
    c->scan = NULL;
    qry_batch_free(c->batch);
    c->batch = NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        free(c->parts[i].prefix);
        for (size_t k = 0; k < c->parts[i].n_values; k++) free(c->parts[i].values[k]);
        free(c->parts[i].values);
    }
    free(c->parts);
    c->parts = NULL;
    c->n_parts = c->parts_counted = 0;
    for (size_t i = 0; i < c->n_paths; i++) free(c->paths[i]);
    free(c->paths);
    free(c->path_part);
    c->paths = NULL;
    c->path_part = NULL;
    c->n_paths = c->cap_paths = c->obj_next = 0;
    free(c->cols);
    c->cols = NULL;
    free(c->col_cell);
    c->col_cell = NULL;
    c->n_cols = 0;
    for (size_t i = 0; i < c->n_filters; i++) free(c->filters[i].text);
    free(c->filters);
    c->filters = NULL;
    c->n_filters = 0;
    for (size_t i = 0; i < c->n_win; i++) free(c->win[i].text);
    free(c->win);
    free(c->win_cells);
    free(c->order);
    c->win = NULL;
    c->win_cells = NULL;
    c->order = NULL;
    c->n_win = c->cap_win = c->pos = 0;
    c->latest = false;
    free(c->accs);
    c->accs = NULL;
    c->agg = c->agg_rows = c->agg_split = c->agg_done = c->fill_mid = false;
    c->fill_obj = 0;
    c->row = 0;
    c->rowid = 0;
    c->eof = false;
}

static int lake_cursor_close(sqlite3_vtab_cursor *cur)
{
    lake_cursor *c = (lake_cursor *)cur;
    cursor_reset(c);
    free(c);
    return SQLITE_OK;
}

static void add_part(lake_cursor *c, const char *prefix, const char *const *values, size_t n)
{
    c->parts = realloc(c->parts, (c->n_parts + 1) * sizeof *c->parts);
    if (!c->parts) abort();
    scan_part *p = &c->parts[c->n_parts++];
    p->prefix = strdup(prefix);
    p->n_values = n;
    p->values = calloc(n + 1, sizeof *p->values);
    if (!p->values) abort();
    for (size_t i = 0; i < n; i++) p->values[i] = strdup(values[i]);
}

typedef struct prune_arg {
    lake_cursor *c;
    const qry_constraint *cons;
    size_t n_cons;
} prune_arg;

static bool on_partition(void *arg, const cat_partition *p)
{
    prune_arg *a = arg;
    if (qry_partition_match(p->values, p->n_values, a->cons, a->n_cons))
        add_part(a->c, p->prefix, p->values, p->n_values);
    return true;
}

static bool hidden(const char *rel)
{
    for (const char *p = rel; p; p = strchr(p, '/')) {
        if (*p == '/') p++;
        if (*p == '_' || *p == '.') return true;
    }
    return false;
}

typedef struct list_arg {
    lake_cursor *c;
    lake_vtab *vt;
    size_t part;
    size_t prefix_len;
} list_arg;

static bool on_object(void *arg, const lake_object_info *o)
{
    list_arg *a = arg;
    lake_cursor *c = a->c;
    if (hidden(o->key + a->prefix_len)) return true;
    if (c->n_paths == c->cap_paths) {
        c->cap_paths = c->cap_paths ? c->cap_paths * 2 : 16;
        c->paths = realloc(c->paths, c->cap_paths * sizeof *c->paths);
        c->path_part = realloc(c->path_part, c->cap_paths * sizeof *c->path_part);
        if (!c->paths || !c->path_part) abort();
    }
    c->paths[c->n_paths] = lake_object_path(a->vt->ctx->lk, a->vt->t->bucket, o->key);
    c->path_part[c->n_paths++] = a->part;
    return true;
}

static void set_error(lake_vtab *vt, const char *fmt, const char *a, const char *b)
{
    sqlite3_free(vt->base.zErrMsg);
    vt->base.zErrMsg = sqlite3_mprintf(fmt, a, b);
}

/* Lists the objects of every pruned partition, in partition then key order. */
static int list_objects(lake_cursor *c, lake_vtab *vt)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        sp_err e = {0};
        list_arg a = {.c = c, .vt = vt, .part = i, .prefix_len = strlen(c->parts[i].prefix)};
        if (!lake_object_list(vt->ctx->lk, vt->t->bucket, c->parts[i].prefix, on_object, &a,
                              &e) &&
            strcmp(e.code, "NoSuchBucket")) {
            set_error(vt, "%s%s", e.msg, "");
            return SQLITE_ERROR;
        }
    }
    return SQLITE_OK;
}

static qry_col_kind col_kind(const char *type)
{
    if (!strcmp(type, "bigint") || !strcmp(type, "int") || !strcmp(type, "smallint") ||
        !strcmp(type, "tinyint"))
        return QRY_COL_BIGINT;
    if (!strcmp(type, "double") || !strcmp(type, "float")) return QRY_COL_DOUBLE;
    if (!strcmp(type, "boolean")) return QRY_COL_BOOLEAN;
    return QRY_COL_TEXT;
}

/* The data columns colUsed names (the last bit stands for every column from 63 on). */
static void pick_columns(lake_cursor *c, const lake_vtab *vt, uint64_t col_used)
{
    c->cols = calloc(vt->n_data ? vt->n_data : 1, sizeof *c->cols);
    c->col_cell = calloc(vt->n_data ? vt->n_data : 1, sizeof *c->col_cell);
    if (!c->cols || !c->col_cell) abort();
    for (size_t i = 0; i < vt->n_data; i++) {
        bool used = (col_used >> (i < 63 ? i : 63)) & 1;
        c->col_cell[i] = used ? (int)c->n_cols : -1;
        if (!used) continue;
        c->cols[c->n_cols].name = vt->t->columns[i].name;
        c->cols[c->n_cols++].kind = col_kind(vt->t->columns[i].type);
    }
}

/* Scan threads: as many as the machine has cores, at most this many. SALESPIPE_QUERY_THREADS
 * overrides (0: parse on SQLite's thread, as before the scan had workers). */
enum { QRY_SCAN_WORKERS_MAX = 4 };

static size_t scan_workers(void)
{
    const char *env = getenv("SALESPIPE_QUERY_THREADS");
    if (env && *env >= '0' && *env <= '9') {
        long n = strtol(env, NULL, 10);
        return n > QRY_SCAN_WORKERS_MAX ? QRY_SCAN_WORKERS_MAX : (size_t)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    return n > QRY_SCAN_WORKERS_MAX ? QRY_SCAN_WORKERS_MAX : (size_t)n;
}

static void count_partitions(lake_cursor *c, lake_vtab *vt, size_t upto)
{
    if (upto > c->parts_counted) {
        vt->ctx->partitions_scanned += upto - c->parts_counted;
        c->parts_counted = upto;
    }
}

/* Moves to the next record; sets eof at the end. */
static int advance(lake_cursor *c)
{
    lake_vtab *vt = (lake_vtab *)c->base.pVtab;
    for (;;) {
        if (c->batch && c->row + 1 < c->batch->n_rows) {
            c->row++;
            c->rowid++;
            return SQLITE_OK;
        }
        size_t object;
        if (c->batch && !c->batch->object_end) {
            object = c->batch->object;
        } else if (c->obj_next < c->n_paths) {
            object = c->obj_next++;
            count_partitions(c, vt, c->path_part[object] + 1);
        } else {
            qry_batch_free(c->batch);
            c->batch = NULL;
            count_partitions(c, vt, c->n_parts);
            c->eof = true;
            return SQLITE_OK;
        }
        qry_batch_free(c->batch);
        c->batch = qry_scan_next(c->scan, object);
        if (c->batch->opened) {
            vt->ctx->objects_opened++;
            vt->ctx->objects_from_cache += c->batch->from_cache;
            vt->ctx->bytes_scanned += c->batch->bytes;
            vt->ctx->row_groups_read += c->batch->rg_read;
            vt->ctx->row_groups_skipped += c->batch->rg_skipped;
        }
        if (c->batch->error) {
            set_error(vt, "%s%s", c->batch->error, "");
            return SQLITE_ERROR;
        }
        c->row = (size_t)-1; /* the loop's first step moves to row 0 */
        if (c->batch->n_rows) {
            c->row = 0;
            c->rowid++;
            return SQLITE_OK;
        }
    }
}

static qry_op op_of(char ch)
{
    switch (ch) {
    case '!': return QRY_OP_NE;
    case '<': return QRY_OP_LT;
    case 'l': return QRY_OP_LE;
    case '>': return QRY_OP_GT;
    case 'g': return QRY_OP_GE;
    case 'i': return QRY_OP_IN;
    case 'S': return QRY_OP_IS;
    default: return QRY_OP_EQ;
    }
}

static char *value_text(sqlite3_value *v)
{
    const unsigned char *t = sqlite3_value_type(v) == SQLITE_NULL ? NULL : sqlite3_value_text(v);
    return t ? strdup((const char *)t) : NULL;
}

/* Value of column col (a `SELECT *` index) of row r of batch b, from object obj. */
static void row_value(const lake_cursor *c, const lake_vtab *vt, const qry_batch *b, size_t r,
                      size_t obj, size_t col, qry_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = SQLITE_NULL;
    if (col < vt->n_data) {
        int k = c->col_cell[col];
        assert(k >= 0); /* lake_filter converts every spec column */
        qry_value_from_cell(&b->cells[r * b->n_cols + (size_t)k], b->text, out);
        return;
    }
    const scan_part *p = &c->parts[c->path_part[obj]];
    size_t k = col - vt->n_data;
    if (k < p->n_values) {
        out->type = SQLITE_TEXT;
        out->s = p->values[k];
        out->len = strlen(p->values[k]);
    }
}

/* The same of winner w. */
static void win_value(const lake_cursor *c, const lake_vtab *vt, size_t w, size_t col,
                      qry_value *out)
{
    qry_batch view = {.n_cols = c->n_cols, .cells = c->win_cells + w * c->n_cols,
                      .text = c->win[w].text, .n_rows = 1};
    row_value(c, vt, &view, 0, c->win[w].object, col, out);
}

/* Makes winner w a copy of row r of b (from object obj). */
static void win_set(lake_cursor *c, size_t w, const qry_batch *b, size_t r, size_t obj)
{
    latest_row *x = &c->win[w];
    x->text_len = 0;
    x->object = obj;
    const qry_cell *src = &b->cells[r * b->n_cols];
    qry_cell *dst = &c->win_cells[w * c->n_cols];
    for (size_t k = 0; k < c->n_cols; k++) {
        dst[k] = src[k];
        if (src[k].type != SQLITE_TEXT) continue;
        if (x->text_cap - x->text_len < src[k].len) {
            while (x->text_cap - x->text_len < src[k].len) x->text_cap = x->text_cap * 2 + 64;
            x->text = realloc(x->text, x->text_cap);
            if (!x->text) abort();
        }
        if (src[k].len) memcpy(x->text + x->text_len, b->text + src[k].v.off, src[k].len);
        dst[k].v.off = x->text_len;
        x->text_len += src[k].len;
    }
}

/* Appends an entry (a window of latest mode, or, group, a group of aggregate mode with its
 * n_fns partials set to zero) for row r of b with hash h, its cells from the row. Records it
 * in free slot i of the open-addressing table *slots of *n_slots (entry + 1, 0: free), which
 * is doubled and rehashed once half full. Returns the entry's index. */
static size_t win_add(lake_cursor *c, uint64_t h, const qry_batch *b, size_t r, size_t obj,
                      bool group, size_t n_fns, size_t **slots, size_t *n_slots, size_t i)
{
    if (c->n_win == c->cap_win) {
        c->cap_win = c->cap_win ? c->cap_win * 2 : 256;
        c->win = realloc(c->win, c->cap_win * sizeof *c->win);
        c->win_cells = realloc(c->win_cells, c->cap_win * (c->n_cols ? c->n_cols : 1) *
                                                 sizeof *c->win_cells);
        if (!c->win || !c->win_cells) abort();
        if (group) {
            c->accs = realloc(c->accs, c->cap_win * (n_fns ? n_fns : 1) * sizeof *c->accs);
            if (!c->accs) abort();
        }
    }
    size_t w = c->n_win++;
    memset(&c->win[w], 0, sizeof c->win[w]);
    if (group) memset(&c->accs[w * n_fns], 0, n_fns * sizeof *c->accs);
    c->win[w].hash = h;
    win_set(c, w, b, r, obj);
    (*slots)[i] = w + 1;
    if (c->n_win * 2 > *n_slots) { /* grow and rehash */
        free(*slots);
        *n_slots *= 2;
        *slots = calloc(*n_slots, sizeof **slots);
        if (!*slots) abort();
        for (size_t x = 0; x < c->n_win; x++) {
            size_t j = (size_t)c->win[x].hash & (*n_slots - 1);
            while ((*slots)[j]) j = (j + 1) & (*n_slots - 1);
            (*slots)[j] = x + 1;
        }
    }
    return w;
}

typedef struct latest_sort {
    const lake_cursor *c;
    const lake_vtab *vt;
    const qry_latest_spec *spec;
} latest_sort;

static int by_key(const void *a, const void *b, void *arg)
{
    const latest_sort *s = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    for (size_t k = 0; k < s->spec->n_keys; k++) {
        qry_value u, v;
        win_value(s->c, s->vt, x, s->spec->keys[k], &u);
        win_value(s->c, s->vt, y, s->spec->keys[k], &v);
        int cmp = qry_value_cmp(&u, &v);
        if (cmp) return cmp;
    }
    return x < y ? -1 : x > y; /* keys are distinct; never reached */
}

/* Latest mode: reads the whole scan, keeping per key the first row in scan order whose
 * order column sorts first (qry_latest.c), then orders the winners by key. */
static int gather_latest(lake_cursor *c, lake_vtab *vt, const qry_latest_spec *spec)
{
    size_t n_slots = 1024, *slots = calloc(n_slots, sizeof *slots); /* winner + 1, 0: free */
    if (!slots) abort();
    int rc = SQLITE_OK;
    for (size_t obj = 0; obj < c->n_paths && rc == SQLITE_OK; obj++) {
        count_partitions(c, vt, c->path_part[obj] + 1);
        for (bool end = false; !end && rc == SQLITE_OK;) {
            if (vt->ctx->guard && qry_guard_check(vt->ctx->guard)) {
                set_error(vt, "%s%s", "interrupted", "");
                rc = SQLITE_INTERRUPT;
                break;
            }
            qry_batch *b = qry_scan_next(c->scan, obj);
            end = b->object_end;
            if (b->opened) {
                vt->ctx->objects_opened++;
                vt->ctx->objects_from_cache += b->from_cache;
                vt->ctx->bytes_scanned += b->bytes;
                vt->ctx->row_groups_read += b->rg_read;
                vt->ctx->row_groups_skipped += b->rg_skipped;
            }
            if (b->error) {
                set_error(vt, "%s%s", b->error, "");
                rc = SQLITE_ERROR;
            }
            for (size_t r = 0; rc == SQLITE_OK && r < b->n_rows; r++) {
                uint64_t h = 0;
                qry_value key[16];
                for (size_t k = 0; k < spec->n_keys; k++) {
                    row_value(c, vt, b, r, obj, spec->keys[k], &key[k]);
                    h = qry_value_hash(&key[k], h);
                }
                size_t i = (size_t)h & (n_slots - 1), w = SIZE_MAX;
                for (; slots[i]; i = (i + 1) & (n_slots - 1)) {
                    size_t cand = slots[i] - 1;
                    if (c->win[cand].hash != h) continue;
                    bool same = true;
                    for (size_t k = 0; k < spec->n_keys && same; k++) {
                        qry_value v;
                        win_value(c, vt, cand, spec->keys[k], &v);
                        same = qry_value_cmp(&key[k], &v) == 0;
                    }
                    if (same) {
                        w = cand;
                        break;
                    }
                }
                if (w == SIZE_MAX) {
                    win_add(c, h, b, r, obj, false, 0, &slots, &n_slots, i);
                    continue;
                }
                qry_value now, best;
                row_value(c, vt, b, r, obj, spec->order, &now);
                win_value(c, vt, w, spec->order, &best);
                int cmp = qry_value_cmp(&now, &best);
                if (spec->desc ? cmp > 0 : cmp < 0) win_set(c, w, b, r, obj);
            }
            qry_batch_free(b);
        }
    }
    free(slots);
    count_partitions(c, vt, c->n_parts);
    c->order = malloc((c->n_win + 1) * sizeof *c->order);
    if (!c->order) abort();
    for (size_t i = 0; i < c->n_win; i++) c->order[i] = i;
    latest_sort ls = {.c = c, .vt = vt, .spec = spec};
    qsort_r(c->order, c->n_win, sizeof *c->order, by_key, &ls);
    return rc;
}

/* ---- aggregate mode (qry_agg.c) ---------------------------------------------------------- */

static void free_groups(lake_cursor *c)
{
    for (size_t i = 0; i < c->n_win; i++) free(c->win[i].text);
    c->n_win = c->pos = 0;
}

/* Whether group w's value of key column col equals v (as qry_value_cmp says, with text
 * against text compared directly: the common case). */
static bool group_key_is(const lake_cursor *c, const lake_vtab *vt, size_t w, size_t col,
                         const qry_value *v)
{
    qry_value g;
    if (col < vt->n_data) {
        assert(c->col_cell[col] >= 0);
        qry_value_from_cell(&c->win_cells[w * c->n_cols + (size_t)c->col_cell[col]],
                            c->win[w].text, &g);
    } else {
        win_value(c, vt, w, col, &g);
    }
    if (g.type == SQLITE_TEXT && v->type == SQLITE_TEXT)
        return g.len == v->len && (!g.len || !memcmp(g.s, v->s, g.len));
    return qry_value_cmp(&g, v) == 0;
}

/* Aggregate mode: reads the scan on from where the last fill stopped, folding each row into
 * its group (its key values, and its partition when agg_split), until the scan ends or
 * QRY_AGG_GROUPS_MAX groups are held; the groups come out in the order they were first
 * seen. */
static int agg_fill(lake_cursor *c, lake_vtab *vt)
{
    const qry_agg_spec *spec = &c->spec;
    size_t n_fns = spec->n_fns;
    free_groups(c);
    size_t n_slots = 1024, *slots = calloc(n_slots, sizeof *slots); /* group + 1, 0: free */
    if (!slots) abort();
    int rc = SQLITE_OK;
    size_t cap = agg_groups_max();
    while (rc == SQLITE_OK && c->fill_obj < c->n_paths && c->n_win < cap) {
        size_t obj = c->fill_obj;
        count_partitions(c, vt, c->path_part[obj] + 1);
        if (vt->ctx->guard && qry_guard_check(vt->ctx->guard)) {
            set_error(vt, "%s%s", "interrupted", "");
            rc = SQLITE_INTERRUPT;
            break;
        }
        qry_batch *b = qry_scan_next(c->scan, obj);
        if (b->object_end) c->fill_obj++;
        if (b->opened) {
            vt->ctx->objects_opened++;
            vt->ctx->objects_from_cache += b->from_cache;
            vt->ctx->bytes_scanned += b->bytes;
            vt->ctx->row_groups_read += b->rg_read;
            vt->ctx->row_groups_skipped += b->rg_skipped;
        }
        if (b->error) {
            set_error(vt, "%s%s", b->error, "");
            rc = SQLITE_ERROR;
        }
        size_t part = c->path_part[obj];
        for (size_t r = 0; rc == SQLITE_OK && r < b->n_rows; r++) {
            uint64_t h = c->agg_split ? part * 0x9e3779b97f4a7c15ull : 0;
            qry_value key[QRY_AGG_KEYS_MAX];
            for (size_t k = 0; k < spec->n_keys; k++) {
                row_value(c, vt, b, r, obj, spec->keys[k], &key[k]);
                h = qry_value_hash(&key[k], h);
            }
            size_t i = (size_t)h & (n_slots - 1), w = SIZE_MAX;
            for (; slots[i]; i = (i + 1) & (n_slots - 1)) {
                size_t cand = slots[i] - 1;
                if (c->win[cand].hash != h) continue;
                bool same = !c->agg_split || c->path_part[c->win[cand].object] == part;
                for (size_t k = 0; k < spec->n_keys && same; k++)
                    same = group_key_is(c, vt, cand, spec->keys[k], &key[k]);
                if (same) {
                    w = cand;
                    break;
                }
            }
            if (w == SIZE_MAX) w = win_add(c, h, b, r, obj, true, n_fns, &slots, &n_slots, i);
            for (size_t f = 0; f < n_fns; f++) {
                const qry_agg_fn *fn = &spec->fns[f];
                qry_value a = {.type = SQLITE_NULL}, bv = {.type = SQLITE_NULL};
                if (fn->kind != QRY_AGG_COUNT_STAR) row_value(c, vt, b, r, obj, fn->a, &a);
                if (fn->kind == QRY_AGG_SUM_PRODUCT) row_value(c, vt, b, r, obj, fn->b, &bv);
                qry_agg_acc_add(&c->accs[w * n_fns + f], fn->kind, &a, &bv);
            }
        }
        qry_batch_free(b);
    }
    free(slots);
    c->agg_done = c->fill_obj >= c->n_paths;
    if (c->agg_done) count_partitions(c, vt, c->n_parts);
    free(c->order);
    c->order = malloc((c->n_win + 1) * sizeof *c->order);
    if (!c->order) abort();
    for (size_t i = 0; i < c->n_win; i++) c->order[i] = i;
    return rc;
}

/* Hidden partial column k of the current row: the group's partial, or in agg_rows mode the
 * row's own value as a group of one. */
static int agg_column(lake_cursor *c, lake_vtab *vt, sqlite3_context *ctx, size_t k)
{
    if (k >= c->spec.n_fns) return SQLITE_OK;
    const qry_agg_fn *fn = &c->spec.fns[k];
    qry_agg_acc one = {0};
    const qry_agg_acc *acc = &one;
    if (c->agg_rows) {
        if (!c->batch || c->row >= c->batch->n_rows) return SQLITE_OK;
        qry_value a = {.type = SQLITE_NULL}, b = {.type = SQLITE_NULL};
        if (fn->kind != QRY_AGG_COUNT_STAR)
            row_value(c, vt, c->batch, c->row, c->batch->object, fn->a, &a);
        if (fn->kind == QRY_AGG_SUM_PRODUCT)
            row_value(c, vt, c->batch, c->row, c->batch->object, fn->b, &b);
        qry_agg_acc_add(&one, fn->kind, &a, &b);
    } else {
        if (c->pos >= c->n_win) return SQLITE_OK;
        acc = &c->accs[c->order[c->pos] * c->spec.n_fns + k];
    }
    qry_value v;
    if (!qry_agg_acc_value(acc, fn->kind, &v)) {
        sqlite3_result_error(ctx, "integer overflow", -1);
        return SQLITE_ERROR;
    }
    if (v.type == SQLITE_INTEGER) sqlite3_result_int64(ctx, v.i);
    else if (v.type == SQLITE_FLOAT) sqlite3_result_double(ctx, v.d);
    return SQLITE_OK;
}

static int lake_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                       sqlite3_value **argv)
{
    (void)idx_num;
    lake_cursor *c = (lake_cursor *)cur;
    lake_vtab *vt = (lake_vtab *)cur->pVtab;
    cursor_reset(c);
    uint64_t col_used = strtoull(idx_str ? idx_str : "0", NULL, 16);
    qry_latest_spec spec;
    bool latest = false;
    {
        int a = 0;
        for (const char *q = idx_str ? strchr(idx_str, ';') : NULL; q && a < argc;
             q = strchr(q + 1, ';'), a++) {
            if (q[1] == 'A') {
                const unsigned char *text = sqlite3_value_text(argv[a]);
                if (c->agg || !qry_agg_spec_parse((const char *)text, vt->n_all, &c->spec)) {
                    set_error(vt, "lake: %s: not an aggregate spec", QRY_AGG_COLUMN, "");
                    return SQLITE_ERROR;
                }
                c->agg = true;
                for (size_t k = 0; k < c->spec.n_keys + c->spec.n_fns * 2; k++) {
                    size_t col = k < c->spec.n_keys ? c->spec.keys[k]
                                 : (k - c->spec.n_keys) % 2 ? c->spec.fns[(k - c->spec.n_keys) / 2].b
                                                            : c->spec.fns[(k - c->spec.n_keys) / 2].a;
                    if (col < vt->n_data) col_used |= 1ull << (col < 63 ? col : 63);
                }
                for (size_t w = 0; w < c->spec.n_where; w++) {
                    c->agg_split = true;
                    if (c->spec.where[w] < vt->n_data) c->agg_rows = true;
                }
                continue;
            }
            if (q[1] != 'L') continue;
            const unsigned char *text = sqlite3_value_text(argv[a]);
            if (latest || !qry_latest_spec_parse((const char *)text, vt->n_all, &spec)) {
                set_error(vt, "lake: %s: not a latest-row spec", QRY_LATEST_COLUMN, "");
                return SQLITE_ERROR;
            }
            latest = true;
            /* the key and order columns are converted whatever the query reads */
            for (size_t k = 0; k <= spec.n_keys; k++) {
                size_t col = k < spec.n_keys ? spec.keys[k] : spec.order;
                if (col < vt->n_data) col_used |= 1ull << (col < 63 ? col : 63);
            }
        }
    }
    pick_columns(c, vt, col_used);
    qry_constraint *cons = calloc((size_t)argc + 1, sizeof *cons);
    char ***vals = calloc((size_t)argc + 1, sizeof *vals);
    if (!cons || !vals) abort();
    const char *p = idx_str ? strchr(idx_str, ';') : NULL;
    int n = 0, arg = 0;
    c->filters = calloc((size_t)argc + 1, sizeof *c->filters);
    if (!c->filters) abort();
    for (; p && arg < argc; p = strchr(p + 1, ';'), arg++) {
        if (p[1] == 'L' || p[1] == 'A') continue;
        if (p[1] == 'd') {
            size_t col = (size_t)atoi(p + 2);
            const char *comma = strchr(p, ',');
            char op = comma ? comma[1] : '=';
            sqlite3_value *v = argv[arg];
            const char *type = col < vt->n_data ? vt->t->columns[col].type : "";
            /* (sqlite3_value_numeric_type would turn a numeric-looking text into a number) */
            int vtype = sqlite3_value_type(v);
            bool num_col = col_kind(type) == QRY_COL_BIGINT || col_kind(type) == QRY_COL_DOUBLE;
            bool text_col = !strcmp(type, "string") || !strncmp(type, "varchar", 7) ||
                            !strncmp(type, "char", 4);
            qry_stat_filter *f = &c->filters[c->n_filters];
            f->column = col < vt->n_data ? vt->t->columns[col].name : NULL;
            f->op = op == '<' ? QRY_SF_LT : op == 'l' ? QRY_SF_LE : op == '>' ? QRY_SF_GT
                    : op == 'g' ? QRY_SF_GE : QRY_SF_EQ;
            if (f->column && num_col && (vtype == SQLITE_INTEGER || vtype == SQLITE_FLOAT)) {
                f->numeric = true;
                f->num = sqlite3_value_double(v);
                c->n_filters++;
            } else if (f->column && text_col && sqlite3_value_type(v) == SQLITE_TEXT) {
                f->text = value_text(v);
                c->n_filters++;
            }
            continue;
        }
        int key = atoi(p + 1);
        const char *comma = strchr(p, ',');
        cons[n].key = (size_t)key;
        cons[n].op = op_of(comma ? comma[1] : '=');
        sqlite3_value *item;
        size_t cap = 1;
        vals[n] = calloc(cap, sizeof **vals);
        if (!vals[n]) abort();
        if (cons[n].op == QRY_OP_IN && sqlite3_vtab_in_first(argv[arg], &item) == SQLITE_OK) {
            cons[n].op = QRY_OP_EQ;
            for (int rc = SQLITE_OK; rc == SQLITE_OK && item; rc = sqlite3_vtab_in_next(argv[arg], &item)) {
                if (cons[n].n_vals == cap) {
                    cap *= 2;
                    vals[n] = realloc(vals[n], cap * sizeof **vals);
                    if (!vals[n]) abort();
                }
                vals[n][cons[n].n_vals++] = value_text(item);
            }
        } else {
            if (cons[n].op == QRY_OP_IN) cons[n].op = QRY_OP_EQ;
            vals[n][cons[n].n_vals++] = value_text(argv[arg]);
        }
        cons[n].vals = (const char *const *)vals[n];
        n++;
    }
    int rc = SQLITE_OK;
    if (vt->t->n_partition_keys) {
        sp_err e = {0};
        prune_arg a = {.c = c, .cons = cons, .n_cons = (size_t)n};
        if (!cat_partition_foreach(vt->ctx->cat, vt->t->database, vt->t->name, on_partition, &a,
                                   &e)) {
            set_error(vt, "%s%s", e.msg, "");
            rc = SQLITE_ERROR;
        }
    } else {
        add_part(c, vt->t->prefix, NULL, 0);
    }
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < cons[i].n_vals; k++) free(vals[i][k]);
        free(vals[i]);
    }
    free(vals);
    free(cons);
    if (rc == SQLITE_OK) rc = list_objects(c, vt);
    if (rc != SQLITE_OK) return rc;
    c->scan = qry_scan_start_filtered(c->paths, c->n_paths, vt->path, c->cols, c->n_cols,
                                      scan_workers(), vt->ctx->cache_path,
                                      vt->t->json_path[0] ? vt->t->json_path : "$",
                                      c->filters, c->n_filters);
    if (latest && c->agg) {
        set_error(vt, "lake: %s and %s in one scan", QRY_LATEST_COLUMN, QRY_AGG_COLUMN);
        return SQLITE_ERROR;
    }
    if (c->agg && !c->agg_rows) {
        rc = agg_fill(c, vt);
        c->eof = c->n_win == 0;
        c->rowid = 1;
        return rc;
    }
    if (latest) {
        rc = gather_latest(c, vt, &spec);
        c->latest = true;
        c->eof = c->n_win == 0;
        c->rowid = 1;
        return rc;
    }
    return advance(c);
}

static int lake_next(sqlite3_vtab_cursor *cur)
{
    lake_cursor *c = (lake_cursor *)cur;
    if (c->latest) {
        c->eof = ++c->pos >= c->n_win;
        c->rowid++;
        return SQLITE_OK;
    }
    if (c->agg && !c->agg_rows) {
        int rc = SQLITE_OK;
        if (++c->pos >= c->n_win && !c->agg_done)
            rc = agg_fill(c, (lake_vtab *)cur->pVtab);
        c->eof = c->pos >= c->n_win;
        c->rowid++;
        return rc;
    }
    return advance(c);
}

static int lake_eof(sqlite3_vtab_cursor *cur) { return ((lake_cursor *)cur)->eof; }

static int lake_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    lake_cursor *c = (lake_cursor *)cur;
    lake_vtab *vt = (lake_vtab *)cur->pVtab;
    const qry_cell *cell = NULL;
    const char *text = NULL;
    size_t object = 0;
    if (c->agg && vt->agg_col >= 0 && i > vt->agg_col)
        return agg_column(c, vt, ctx, (size_t)(i - vt->agg_col - 1));
    if (c->latest || (c->agg && !c->agg_rows)) {
        if (c->pos >= c->n_win) return SQLITE_OK;
        const latest_row *w = &c->win[c->order[c->pos]];
        object = w->object;
        text = w->text;
        if ((size_t)i < vt->n_data && c->col_cell[i] >= 0)
            cell = &c->win_cells[c->order[c->pos] * c->n_cols + (size_t)c->col_cell[i]];
    } else if (c->batch) {
        object = c->batch->object;
        text = c->batch->text;
        if ((size_t)i < vt->n_data && c->col_cell[i] >= 0 && c->row < c->batch->n_rows)
            cell = &c->batch->cells[c->row * c->batch->n_cols + (size_t)c->col_cell[i]];
    } else {
        return SQLITE_OK;
    }
    if ((size_t)i >= vt->n_data) {
        const scan_part *p = &c->parts[c->path_part[object]];
        size_t k = (size_t)i - vt->n_data;
        if (k < p->n_values) sqlite3_result_text(ctx, p->values[k], -1, SQLITE_TRANSIENT);
        return SQLITE_OK;
    }
    if (!cell) return SQLITE_OK;
    switch (cell->type) {
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, cell->v.i); break;
    case SQLITE_FLOAT: sqlite3_result_double(ctx, cell->v.d); break;
    case SQLITE_TEXT:
        sqlite3_result_text(ctx, text + cell->v.off, (int)cell->len, SQLITE_TRANSIENT);
        break;
    default: break;
    }
    return SQLITE_OK;
}

static int lake_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((lake_cursor *)cur)->rowid;
    return SQLITE_OK;
}

static const sqlite3_module LAKE_MODULE = {
    .iVersion = 1,
    .xCreate = lake_connect,
    .xConnect = lake_connect,
    .xBestIndex = lake_best_index,
    .xDisconnect = lake_disconnect,
    .xDestroy = lake_disconnect,
    .xOpen = lake_cursor_open,
    .xClose = lake_cursor_close,
    .xFilter = lake_filter,
    .xNext = lake_next,
    .xEof = lake_eof,
    .xColumn = lake_column,
    .xRowid = lake_rowid,
};

bool qry_vtab_register(sqlite3 *db, qry_ctx *ctx, sp_err *e)
{
    if (sqlite3_create_module_v2(db, "lake", &LAKE_MODULE, ctx, NULL) != SQLITE_OK) {
        sp_err_internal(e, "cannot register the lake module: %s", sqlite3_errmsg(db));
        return false;
    }
    return true;
}
