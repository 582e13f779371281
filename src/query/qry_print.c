/* Query results as text: an aligned table (like the Athena console), CSV (RFC 4180, as
 * Athena writes its result files) or JSON (an array of objects with typed values). */
#include "qry_int.h"

#include <stdlib.h>
#include <string.h>

bool qry_format_parse(const char *name, qry_format *out)
{
    if (!strcmp(name, "table")) *out = QRY_FORMAT_TABLE;
    else if (!strcmp(name, "csv")) *out = QRY_FORMAT_CSV;
    else if (!strcmp(name, "json")) *out = QRY_FORMAT_JSON;
    else return false;
    return true;
}

static const char *cell(const qry_result *r, size_t row, size_t col)
{
    return r->cells[row * r->n_columns + col];
}

static bool is_boolean(const char *type) { return !strcmp(type, "boolean"); }

static const char *shown(const qry_result *r, size_t row, size_t col)
{
    const char *v = cell(r, row, col);
    if (!v) return "";
    if (is_boolean(r->types[col])) return strcmp(v, "0") ? "true" : "false";
    return v;
}

/* UTF-8 display width: code points, not bytes. */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void print_table(const qry_result *r, FILE *out)
{
    size_t *w = calloc(r->n_columns + 1, sizeof *w);
    if (!w) abort();
    for (size_t c = 0; c < r->n_columns; c++) {
        w[c] = width(r->names[c]);
        for (size_t i = 0; i < r->n_rows; i++) {
            size_t k = width(shown(r, i, c));
            if (k > w[c]) w[c] = k;
        }
    }
    for (size_t c = 0; c < r->n_columns; c++)
        fprintf(out, "%s%s%*s", c ? " | " : "", r->names[c],
                (int)(w[c] - width(r->names[c])), "");
    fputc('\n', out);
    for (size_t c = 0; c < r->n_columns; c++) {
        fputs(c ? "-+-" : "", out);
        for (size_t k = 0; k < w[c]; k++) fputc('-', out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < r->n_rows; i++) {
        for (size_t c = 0; c < r->n_columns; c++) {
            const char *v = shown(r, i, c);
            fprintf(out, "%s%s%*s", c ? " | " : "", v, (int)(w[c] - width(v)), "");
        }
        fputc('\n', out);
    }
    fprintf(out, "(%zu row%s)\n", r->n_rows, r->n_rows == 1 ? "" : "s");
    free(w);
}

static void csv_field(const char *v, FILE *out)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"') fputc('"', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

static void print_csv(const qry_result *r, FILE *out)
{
    for (size_t c = 0; c < r->n_columns; c++) {
        if (c) fputc(',', out);
        csv_field(r->names[c], out);
    }
    fputs("\r\n", out);
    for (size_t i = 0; i < r->n_rows; i++) {
        for (size_t c = 0; c < r->n_columns; c++) {
            if (c) fputc(',', out);
            csv_field(shown(r, i, c), out);
        }
        fputs("\r\n", out);
    }
}

static json_t *typed(const qry_result *r, size_t row, size_t col)
{
    const char *v = cell(r, row, col), *type = r->types[col];
    if (!v) return json_null();
    char *end;
    if (!strcmp(type, "bigint") || !strcmp(type, "integer")) {
        long long x = strtoll(v, &end, 10);
        if (*v && !*end) return json_integer(x);
    } else if (!strcmp(type, "double")) {
        double x = strtod(v, &end);
        if (*v && !*end) return json_real(x);
    } else if (is_boolean(type)) {
        return json_boolean(strcmp(v, "0") != 0);
    }
    return json_string(v);
}

static void print_json(const qry_result *r, FILE *out)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < r->n_rows; i++) {
        json_t *o = json_object();
        for (size_t c = 0; c < r->n_columns; c++) json_object_set_new(o, r->names[c], typed(r, i, c));
        json_array_append_new(rows, o);
    }
    json_dumpf(rows, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    fputc('\n', out);
    json_decref(rows);
}

void qry_result_print(const qry_result *r, qry_format format, FILE *out)
{
    switch (format) {
    case QRY_FORMAT_TABLE: print_table(r, out); break;
    case QRY_FORMAT_CSV: print_csv(r, out); break;
    case QRY_FORMAT_JSON: print_json(r, out); break;
    }
}
