/* Private to the Glue API files of catalog/: the endpoint's state, the crawl queue, and the
 * helpers every op shares (Glue's error names, timestamps, paging). */
#ifndef SP_GLUE_INT_H
#define SP_GLUE_INT_H

#include "cat_int.h"

#include <pthread.h>

/* Glue's page sizes: GetDatabases/GetTables at most 100 (CatalogGetterPageSize), the
 * others at most 1000 (PageSize). */
enum { GLUE_CATALOG_PAGE_MAX = 100, GLUE_PAGE_MAX = 1000 };
/* The account id salespipe answers with wherever Glue names one. */
#define GLUE_ACCOUNT_ID "000000000000"

/* A crawl StartCrawler asked for: queued, then running on the crawl thread. Everything in
 * it is owned by the job, so the crawl does not depend on the definition staying around. */
typedef struct glue_job {
    struct glue_job *next;
    char *name;
    sp_cfg_crawler *targets;     /* one per S3 target */
    size_t n_targets;
    sp_cfg_classifier classifier;/* name NULL: none (JsonPath "$") */
    bool running;
    int64_t started_ms;
} glue_job;

struct cat_glue {
    const sp_config *cfg;
    cat_catalog *cat;            /* the API's connection; used under lock */
    lake *lk;
    int64_t created_ms;          /* CreationTime of the configured crawlers/classifiers */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_started, stopping;
    glue_job *jobs;              /* queued and running crawls, oldest first */
};

/* 400 InvalidInputException with a message. */
void glue_invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
/* Epoch milliseconds as the epoch-seconds number Glue's timestamps are on the wire. */
json_t *glue_time(int64_t ms);
/* A required Glue name member (1..255 characters); NULL with e set. Borrowed. */
const char *glue_name(const json_t *req, const char *key, bool required, sp_err *e);

/* Cuts one page out of items, an array of objects sorted by key(item): the items after
 * the request's NextToken, at most MaxResults (1..max, default max). Returns
 * {list_name: [...], "NextToken"?: ...} and steals items. NULL with e set. */
typedef const char *(*glue_key_fn)(const json_t *item);
json_t *glue_page(json_t *items, glue_key_fn key, const json_t *req, const char *scope,
                  long long max, const char *list_name, sp_err *e);
const char *glue_key_name(const json_t *item); /* item["Name"] */

/* Ops in glue_crawler.c (classifiers, crawlers) and the crawl thread. */
json_t *glue_create_classifier(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_classifier(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_classifiers(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_delete_classifier(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_create_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_crawlers(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_start_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_delete_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_crawler_metrics(cat_glue *g, json_t *req, sp_err *e);
/* The crawl thread's body; arg is the cat_glue. */
void *glue_crawl_thread(void *arg);
void glue_job_free(glue_job *j);

#endif
