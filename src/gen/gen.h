/* gen: the seed's mock order generator. Orders are shaped exactly like the seed script's
 * (orderid = string of a random integer 1..10000, product_name one of Laptop, Phone, Tablet,
 * Headphones, Charger, quantity 1..5, price 10..500 as a DynamoDB number); a mix of inserts
 * (PutItem, which overwrites when the orderid exists: the seed's MODIFY events), updates
 * (UpdateItem of price or quantity of a live order) and deletes (DeleteItem of a live order).
 *
 * The generator only produces DynamoDB requests; where they go is a sink: the DynamoDB API
 * over HTTP (gen_http_sink) or an in-process table (the caller's function). */
#ifndef SP_GEN_H
#define SP_GEN_H

#include "core/core.h"

enum { GEN_ORDERID_MAX = 10000, GEN_QUANTITY_MAX = 5, GEN_PRICE_MIN = 10, GEN_PRICE_MAX = 500 };

typedef struct gen_options {
    const char *table;        /* "OrdersRawTable" */
    long events;              /* how many requests */
    double rate;              /* requests per second; 0: as fast as the sink takes them */
    unsigned mix_insert, mix_update, mix_delete; /* ratios, e.g. 8:1:1 */
    uint64_t seed;            /* same seed, same requests */
} gen_options;

typedef struct gen_stats {
    long puts, updates, deletes, failed;
    double seconds;
} gen_stats;

/* Parses "insert:update:delete" (e.g. "8:1:1"); false if malformed or all zero. */
bool gen_mix_parse(const char *text, gen_options *opt);

/* Sends one request; returns the response (caller frees) or NULL with e set. */
typedef json_t *(*gen_sink_fn)(void *ctx, const char *op, json_t *request, sp_err *e);

/* Generates opt->events requests into the sink, pacing to opt->rate. Stops at the first
 * failed request (e says why) unless it is retriable, in which case it is retried a few
 * times. progress, if not NULL, is called after every request. */
typedef void (*gen_progress_fn)(void *arg, const gen_stats *stats);
bool gen_run(const gen_options *opt, gen_sink_fn sink, void *sink_ctx, gen_progress_fn progress,
             void *progress_arg, gen_stats *stats, sp_err *e);

/* A sink that POSTs to a DynamoDB endpoint (e.g. "http://127.0.0.1:4566") over one keep-alive
 * connection, requests signed (SigV4, region us-east-1) with the given keys (copied). Create,
 * pass gen_http_sink_send as the sink with it as ctx, destroy. */
typedef struct gen_http_sink gen_http_sink;
gen_http_sink *gen_http_sink_new(const char *endpoint, const char *access_key,
                                 const char *secret_key, sp_err *e);
json_t *gen_http_sink_send(void *sink, const char *op, json_t *request, sp_err *e);
void gen_http_sink_destroy(gen_http_sink *sink);

#endif
