/* Fuzz target: the S3 REST API (lake_s3_handle) on a temporary lake. Input:
 * "<METHOD> <path>[?<query>]\n<headers>\n<body>", where <headers> is up to four
 * '|'-separated "name:value" pairs, and an entry without ':' is the Range value (so aws-chunked
 * bodies, Content-MD5 and x-amz-checksum-* headers are reached too). Keys, bucket names, query strings
 * and ranges are all hostile; every request must get an answer (a response or S3's XML
 * error) and nothing may be written outside the lake directory: after each input the
 * directory above the lake must hold nothing but the lake. */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_rest_input.h"
#include "lake/lake.h"

static lake *lk;
static char root[64];
static char range_value[256];
enum { FUZZ_HEADERS = 4 };
static char header_names[FUZZ_HEADERS][64], header_values[FUZZ_HEADERS][256];
static int n_headers;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    lake_close(lk);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *header(const sp_http_req *req, const char *name)
{
    (void)req;
    if (!strcmp(name, "Range") && range_value[0]) return range_value;
    for (int i = 0; i < n_headers; i++)
        if (!strcasecmp(header_names[i], name)) return header_values[i];
    return NULL;
}

/* The lake's parent holds only "lake". */
static void check_nothing_escaped(void)
{
    DIR *d = opendir(root);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "lake"))
            abort();
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lk) {
        sp_log_set_level(SP_LOG_OFF);
        sp_err e = {0};
        snprintf(root, sizeof root, "/tmp/fuzz-lake-XXXXXX");
        if (!mkdtemp(root)) abort();
        char dir[128];
        snprintf(dir, sizeof dir, "%s/lake", root);
        lk = lake_open(dir, &e);
        if (!lk || !lake_bucket_create(lk, "fuzz-bucket", &e)) abort();
        atexit(cleanup);
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *line2;
    sp_http_req req = fuzz_rest_request(text, "/", &line2);
    char *body = line2 ? strchr(line2, '\n') : NULL;
    if (body) *body++ = '\0';
    range_value[0] = '\0';
    n_headers = 0;
    for (char *h = line2, *next; h && *h; h = next) {
        next = strchr(h, '|');
        if (next) *next++ = '\0';
        char *colon = strchr(h, ':');
        if (!colon) {
            snprintf(range_value, sizeof range_value, "%s", h);
        } else if (n_headers < FUZZ_HEADERS) {
            *colon = '\0';
            snprintf(header_names[n_headers], sizeof header_names[0], "%s", h);
            snprintf(header_values[n_headers], sizeof header_values[0], "%s", colon + 1);
            n_headers++;
        }
    }
    req.body = body ? body : "";
    req.body_len = body ? size - (size_t)(body - text) : 0;
    req.header = header;
    sp_http_resp resp = {0};
    if (lake_s3_handle(lk, &req, &resp) && (resp.status < 100 || resp.status > 599)) abort();
    sp_http_resp_clear(&resp);
    check_nothing_escaped();
    free(text);
    return 0;
}
