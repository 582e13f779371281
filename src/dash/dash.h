/* dash: the web dashboard at /_salespipe/ — the pipeline as a picture with live numbers, a
 * page per resource, a query console and plots. The page (HTML/CSS/JS under
 * src/dash/assets/, embedded in the binary at build time) is served with the JSON it reads
 * under /_salespipe/api/; both come from the stages' own functions, through the same server
 * (and its Host/Origin checks) as the AWS APIs. Read-only but for the query console.
 * Sits on top of every stage, beside cli/. */
#ifndef SP_DASH_H
#define SP_DASH_H

#include "core/config.h"
#include "core/http.h"

struct tbl_db;
struct stm_log;
struct lake;
struct cat_catalog;

/* What the dashboard reads. Every handle is borrowed and must outlive the dashboard; any may
 * be NULL (that page then says the stage is absent). */
typedef struct dash_sources {
    const sp_config *cfg;
    struct tbl_db *tables;
    struct stm_log *stream;
    struct lake *lake;
    struct cat_catalog *catalog;
    /* The health document (cli's engine): a new reference per call. */
    json_t *(*health)(void *arg);
    void *health_arg;
} dash_sources;

typedef struct dash dash;

/* Copies src (not what it points to). Caller destroys. */
dash *dash_new(const dash_sources *src);
void dash_destroy(dash *d);

/* An sp_rest_fn for api_route: answers GET /_salespipe/ (the page and its assets) and
 * /_salespipe/api/... (JSON); false for any other path. Thread-safe: the server calls it
 * from its worker threads. */
bool dash_handle(void *d, const sp_http_req *req, sp_http_resp *resp);

#endif
