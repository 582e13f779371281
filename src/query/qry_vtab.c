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
} lake_vtab;

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
} lake_cursor;

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
    info->estimatedCost = cost;
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

static int lake_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                       sqlite3_value **argv)
{
    (void)idx_num;
    lake_cursor *c = (lake_cursor *)cur;
    lake_vtab *vt = (lake_vtab *)cur->pVtab;
    cursor_reset(c);
    pick_columns(c, vt, strtoull(idx_str ? idx_str : "0", NULL, 16));
    qry_constraint *cons = calloc((size_t)argc + 1, sizeof *cons);
    char ***vals = calloc((size_t)argc + 1, sizeof *vals);
    if (!cons || !vals) abort();
    const char *p = idx_str ? strchr(idx_str, ';') : NULL;
    int n = 0, arg = 0;
    c->filters = calloc((size_t)argc + 1, sizeof *c->filters);
    if (!c->filters) abort();
    for (; p && arg < argc; p = strchr(p + 1, ';'), arg++) {
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
    return advance(c);
}

static int lake_next(sqlite3_vtab_cursor *cur) { return advance((lake_cursor *)cur); }

static int lake_eof(sqlite3_vtab_cursor *cur) { return ((lake_cursor *)cur)->eof; }

static int lake_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    lake_cursor *c = (lake_cursor *)cur;
    lake_vtab *vt = (lake_vtab *)cur->pVtab;
    if ((size_t)i >= vt->n_data) {
        if (!c->batch) return SQLITE_OK;
        const scan_part *p = &c->parts[c->path_part[c->batch->object]];
        size_t k = (size_t)i - vt->n_data;
        if (k < p->n_values) sqlite3_result_text(ctx, p->values[k], -1, SQLITE_TRANSIENT);
        return SQLITE_OK;
    }
    int k = c->col_cell[i];
    if (k < 0 || !c->batch || c->row >= c->batch->n_rows) return SQLITE_OK;
    const qry_cell *cell = &c->batch->cells[c->row * c->batch->n_cols + (size_t)k];
    switch (cell->type) {
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, cell->v.i); break;
    case SQLITE_FLOAT: sqlite3_result_double(ctx, cell->v.d); break;
    case SQLITE_TEXT:
        sqlite3_result_text(ctx, c->batch->text + cell->v.off, (int)cell->len, SQLITE_TRANSIENT);
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
