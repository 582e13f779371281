/* Private to the Glue API files of catalog/: the endpoint's state, the crawl queue, and the
 * helpers every op shares (Glue's error names, timestamps, paging). */
#ifndef SP_GLUE_INT_H
#define SP_GLUE_INT_H

#include "cat_int.h"

#include <pthread.h>
#include <stdatomic.h>

/* Glue's page sizes: GetDatabases/GetTables at most 100 (CatalogGetterPageSize), the
 * others at most 1000 (PageSize). */
enum { GLUE_CATALOG_PAGE_MAX = 100, GLUE_PAGE_MAX = 1000 };
/* Upper bounds of the test-only knobs SALESPIPE_TEST_CRAWL_STOP_LINGER_MS and
 * SALESPIPE_TEST_CRAWL_OBJECT_DELAY_MS. */
enum { GLUE_STOP_LINGER_MAX_MS = 60000, GLUE_OBJECT_DELAY_MAX_MS = 1000 };
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
    json_t *exclusions;          /* per target, the array of its Exclusions patterns */
    char *table_prefix;          /* NULL: none */
    bool running;
    atomic_bool stop;            /* StopCrawler asked: the crawl stops between objects */
    long object_delay_ms;        /* cat_glue's, for the crawl thread */
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
    long stop_linger_ms;         /* tests: a stopped crawl stays STOPPING this long */
    long object_delay_ms;        /* tests: a crawl waits this long before each object */
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

/* Glue keeps database and table names in lower case and finds them case-insensitively. */
void glue_lower(const char *in, char out[CAT_NAME_MAX + 1]);
/* The database named by the request's `key`, lower-cased into out; false with 400
 * EntityNotFoundException when it does not exist. */
bool glue_existing_database(cat_glue *g, const json_t *req, const char *key,
                            char out[CAT_NAME_MAX + 1], sp_err *e);
/* Checks a DatabaseInput; returns its Name (borrowed) or NULL with e set. */
const char *glue_database_input(const json_t *in, sp_err *e);
/* The StorageDescriptor GetTable shows for t (made: cat_table_input's answer or NULL for a
 * crawled table); new. */
json_t *glue_table_sd(const cat_table *t, const json_t *made);
/* One Partition in GetPartition(s)' shape, its StorageDescriptor the table's (table_sd,
 * borrowed) at the partition's location, overlaid by what CreatePartition was given. */
json_t *glue_partition_json(const cat_table *t, const json_t *table_sd, const cat_partition *p,
                            bool with_columns);

/* Ops in glue_table.c: hand-made tables and partitions, database updates and removal. */
json_t *glue_create_table(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_update_table(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_delete_table(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_batch_delete_table(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_create_partition(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_batch_create_partition(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_delete_partition(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_partition(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_update_database(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_delete_database(cat_glue *g, json_t *req, sp_err *e);

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
json_t *glue_update_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_stop_crawler(cat_glue *g, json_t *req, sp_err *e);
json_t *glue_get_crawler_metrics(cat_glue *g, json_t *req, sp_err *e);
/* The crawl thread's body; arg is the cat_glue. */
void *glue_crawl_thread(void *arg);
void glue_job_free(glue_job *j);

#endif
