/* salespipe status: per stage, what it holds and how far behind it is. Asks a running
 * `serve` (--endpoint, default http://127.0.0.1:4566) and, when none answers, opens the data
 * dir read-only (no workers) and reports from what is on disk. */
#include "cli_int.h"
#include "engine.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    sp_str_append(arg, data, size * n);
    return size * n;
}

/* The health document of a running server, or NULL. */
static json_t *fetch_health(const char *endpoint)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    char url[512];
    snprintf(url, sizeof url, "%s/_salespipe/health", endpoint);
    sp_str body;
    sp_str_init(&body, NULL, 0, 16u << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    json_t *j = NULL;
    if (rc == CURLE_OK && status == 200 && body.buf) j = json_loadb(body.buf, body.len, 0, NULL);
    sp_str_release(&body);
    return j;
}

static void print_value(const json_t *v)
{
    if (json_is_integer(v)) printf("%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) printf("%.3f", json_real_value(v));
    else if (json_is_string(v)) printf("%s", json_string_value(v));
    else if (json_is_boolean(v)) printf("%s", json_is_true(v) ? "yes" : "no");
    else printf("-");
}

/* Scalars of obj on one line after indent. */
static void print_scalars(const json_t *obj)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)obj, k, x) {
        if (json_is_object(x) || json_is_array(x)) continue;
        printf(" %s=", k);
        print_value(x);
    }
    printf("\n");
}

/* The resources of every collection ({"<resource name>": {...}}) in obj, one line each
 * with its scalars, and their own collections (a stream's shards) indented below. */
static void print_collections(const json_t *obj, int indent)
{
    const char *field;
    json_t *v;
    json_object_foreach((json_t *)obj, field, v) {
        if (!json_is_object(v)) continue;
        const char *name;
        json_t *res;
        json_object_foreach(v, name, res) {
            if (!json_is_object(res)) continue;
            printf("%*s%-*s", indent, "", 30 - indent, name);
            print_scalars(res);
            if (indent < 8) print_collections(res, indent + 2);
        }
    }
}

/* One block per service: its scalar fields, then its resources. */
static void print_status(const json_t *health, const char *source)
{
    printf("salespipe status (%s)\n", source);
    const char *service;
    json_t *svc;
    json_object_foreach(json_object_get(health, "services"), service, svc) {
        printf("\n%s\n ", service);
        print_scalars(svc);
        print_collections(svc, 2);
    }
}

int cli_cmd_status(const cli_common *common, int argc, char **argv)
{
    const char *endpoint = "http://127.0.0.1:4566";
    bool offline = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--endpoint") && i + 1 < argc) endpoint = argv[++i];
        else if (!strcmp(argv[i], "--offline")) offline = true;
        else {
            fprintf(stderr, "usage: salespipe status [--endpoint URL | --offline] [--data-dir D]\n");
            return CLI_EXIT_USAGE;
        }
    }
    json_t *health = offline ? NULL : fetch_health(endpoint);
    if (health) {
        print_status(health, endpoint);
        json_decref(health);
        return CLI_EXIT_OK;
    }
    sp_err e = {0};
    if (!cli_data_dir_require(common, &e)) {
        if (!offline) fprintf(stderr, "salespipe status: no salespipe serve answers at %s\n", endpoint);
        cli_report("status", &e);
        return CLI_EXIT_FAILED;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    cli_engine *en = cli_engine_open(cfg, common->data_dir, &e);
    if (!en) {
        cli_report("status", &e);
        sp_config_destroy(cfg);
        return CLI_EXIT_FAILED;
    }
    health = cli_engine_health(en);
    char source[600];
    snprintf(source, sizeof source, "offline, data dir %s", common->data_dir);
    print_status(health, source);
    json_decref(health);
    cli_engine_close(en);
    sp_config_destroy(cfg);
    return CLI_EXIT_OK;
}
