/* Reads back the result CSV objects the Athena endpoint writes (athena_api.c), one record
 * at a time, as GetQueryResults rows. The object sits in the lake, where S3 PutObject can
 * replace it with anything, so the reader accepts any bytes: a record is fields separated by
 * ',' up to a '\n' outside quotes; a quoted field is a value (quotes doubled inside), an
 * empty unquoted field is NULL, stray bytes after a field are skipped; a record with the
 * wrong number of fields is an error. */
#include "qry_int.h"

#include <stdio.h>

bool qry_csv_row_read(FILE *f, size_t n_columns, json_t **row, sp_err *e)
{
    int ch = getc(f);
    if (ch == EOF) return false;
    json_t *data = json_array();
    sp_str v;
    sp_str_init(&v, NULL, 0, SP_STR_NO_MAX);
    for (;;) {
        bool quoted = false;
        sp_str_reset(&v);
        if (ch == '"') {
            quoted = true;
            for (;;) {
                ch = getc(f);
                if (ch == EOF) break;
                if (ch == '"') {
                    ch = getc(f);
                    if (ch != '"') break;
                }
                sp_str_putc(&v, (char)ch);
            }
        }
        while (ch != ',' && ch != '\n' && ch != EOF) ch = getc(f); /* nothing else is written */
        const char *text = sp_str_failed(&v) ? "" : (v.len ? v.buf : "");
        json_array_append_new(data, quoted ? json_pack("{s:s}", "VarCharValue", text)
                                           : json_object());
        if (ch != ',') break;
        ch = getc(f);
    }
    sp_str_release(&v);
    if (json_array_size(data) != n_columns) {
        json_decref(data);
        sp_err_internal(e, "the result file does not match the query's columns");
        return false;
    }
    *row = json_pack("{s:o}", "Data", data);
    return true;
}

