/* Private to dash/: the dashboard's state and one handler per JSON endpoint family. */
#ifndef SP_DASH_INT_H
#define SP_DASH_INT_H

#include "dash.h"

#include <pthread.h>

enum {
    DASH_PARAM_MAX = 1024,         /* one query-string value (names, keys, cursors) */
    DASH_SCAN_PAGE_MAX = 100,      /* items per page of the table browser */
    DASH_RECORDS_MAX = 100,        /* stream / table-stream records per page */
    DASH_OBJECTS_MAX = 50,         /* recent objects listed per delivery stream */
    DASH_OBJECT_LINES_MAX = 200,   /* lines of an opened object */
    DASH_OBJECT_BYTES_MAX = 1 << 20, /* bytes of an opened object read at most */
    DASH_SQL_MAX = 64 * 1024,      /* a console query */
    DASH_ROWS_MAX = 1000,          /* result rows the console shows */
    DASH_HISTORY_MAX = 20,         /* queries remembered by the console */
};

/* One embedded file of src/dash/assets/ (generated dash_assets.c). */
typedef struct dash_asset {
    const char *name;              /* "index.html" */
    const unsigned char *data;
    size_t len;
} dash_asset;
extern const dash_asset dash_assets[];
extern const size_t dash_assets_count;

struct dash {
    dash_sources src;
    pthread_mutex_t mu;            /* guards history */
    json_t *history;               /* array of {"sql","database","ok","rows","ms","at"} */
    unsigned long queries_run;
};

/* Each fills resp with JSON (or an error {"error": ...} with a 4xx status). query is the
 * raw query string. */
void dash_api_table(dash *d, const char *query, sp_http_resp *resp);
void dash_api_table_changes(dash *d, const char *query, sp_http_resp *resp);
void dash_api_stream(dash *d, const char *query, sp_http_resp *resp);
void dash_api_stream_records(dash *d, const char *query, sp_http_resp *resp);
void dash_api_pipe(dash *d, const char *query, sp_http_resp *resp);
void dash_api_delivery(dash *d, const char *query, sp_http_resp *resp);
void dash_api_object(dash *d, const char *query, sp_http_resp *resp);
void dash_api_catalog(dash *d, const char *query, sp_http_resp *resp);
/* POST {"sql","database"}: runs the query, remembers it in the history. */
void dash_api_query(dash *d, const char *body, size_t len, sp_http_resp *resp);
void dash_api_history(dash *d, sp_http_resp *resp);

/* {"error": msg} with status. */
void dash_error(sp_http_resp *resp, int status, const char *msg);
/* A query parameter into out (empty when absent); false when absent or too long. */
bool dash_param(const char *query, const char *name, char *out, size_t size);
/* A non-negative integer parameter, def when absent, clamped to max. */
long long dash_param_int(const char *query, const char *name, long long def, long long max);

#endif
