/* Order requests: a small deterministic PRNG (splitmix64) so `--seed` reproduces a run, a
 * bitmap of live orderids so updates and deletes hit orders that exist, and the pacing loop. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const products[] = {"Laptop", "Phone", "Tablet", "Headphones", "Charger"};
enum { GEN_SINK_RETRIES = 5 };

typedef struct gen_state {
    uint64_t rng;
    bool live[GEN_ORDERID_MAX + 1];
    int live_ids[GEN_ORDERID_MAX];   /* dense list of live ids for uniform picks */
    int live_pos[GEN_ORDERID_MAX + 1];
    int n_live;
} gen_state;

static uint64_t rng_next(gen_state *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static long rng_between(gen_state *g, long lo, long hi)
{
    return lo + (long)(rng_next(g) % (uint64_t)(hi - lo + 1));
}

static void live_add(gen_state *g, int id)
{
    if (g->live[id]) return;
    g->live[id] = true;
    g->live_pos[id] = g->n_live;
    g->live_ids[g->n_live++] = id;
}

static void live_remove(gen_state *g, int id)
{
    if (!g->live[id]) return;
    g->live[id] = false;
    int last = g->live_ids[--g->n_live];
    g->live_ids[g->live_pos[id]] = last;
    g->live_pos[last] = g->live_pos[id];
}

bool gen_mix_parse(const char *text, gen_options *opt)
{
    unsigned a, b, c;
    char tail;
    if (sscanf(text, "%u:%u:%u%c", &a, &b, &c, &tail) != 3 || a + b + c == 0) return false;
    opt->mix_insert = a;
    opt->mix_update = b;
    opt->mix_delete = c;
    return true;
}

static json_t *key_of(int id)
{
    char s[16];
    snprintf(s, sizeof s, "%d", id);
    return json_pack("{s:{s:s}}", "orderid", "S", s);
}

static json_t *price_value(gen_state *g)
{
    /* Two decimals like the seed's round(random.uniform(10, 500), 2). */
    long cents = rng_between(g, GEN_PRICE_MIN * 100, GEN_PRICE_MAX * 100);
    char s[24];
    snprintf(s, sizeof s, "%ld.%02ld", cents / 100, cents % 100);
    return json_pack("{s:s}", "N", s);
}

/* Builds the next request; *op is a static string. Caller owns the request. */
static json_t *next_request(gen_state *g, const gen_options *opt, const char **op)
{
    unsigned total = opt->mix_insert + opt->mix_update + opt->mix_delete;
    unsigned pick = (unsigned)(rng_next(g) % total);
    bool update = pick >= opt->mix_insert && pick < opt->mix_insert + opt->mix_update;
    bool delete = pick >= opt->mix_insert + opt->mix_update;
    if ((update || delete) && g->n_live == 0) update = delete = false;

    if (delete) {
        int id = g->live_ids[rng_next(g) % (uint64_t)g->n_live];
        live_remove(g, id);
        *op = "DeleteItem";
        return json_pack("{s:s, s:o}", "TableName", opt->table, "Key", key_of(id));
    }
    if (update) {
        int id = g->live_ids[rng_next(g) % (uint64_t)g->n_live];
        *op = "UpdateItem";
        bool price = rng_next(g) & 1;
        char qty[4];
        snprintf(qty, sizeof qty, "%ld", rng_between(g, 1, GEN_QUANTITY_MAX));
        json_t *value = price ? price_value(g) : json_pack("{s:s}", "N", qty);
        return json_pack("{s:s, s:o, s:s, s:{s:s}, s:{s:o}, s:s}", "TableName", opt->table, "Key",
                         key_of(id), "UpdateExpression", "SET #f = :v",
                         "ExpressionAttributeNames", "#f", price ? "price" : "quantity",
                         "ExpressionAttributeValues", ":v", value,
                         "ConditionExpression", "attribute_exists(orderid)");
    }
    int id = (int)rng_between(g, 1, GEN_ORDERID_MAX);
    live_add(g, id);
    *op = "PutItem";
    char ids[16], qty[4];
    snprintf(ids, sizeof ids, "%d", id);
    snprintf(qty, sizeof qty, "%ld", rng_between(g, 1, GEN_QUANTITY_MAX));
    const char *product = products[rng_next(g) % SP_ARRAY_LEN(products)];
    return json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:o}}", "TableName", opt->table, "Item",
                     "orderid", "S", ids, "product_name", "S", product, "quantity", "N", qty,
                     "price", price_value(g));
}

bool gen_run(const gen_options *opt, gen_sink_fn sink, void *sink_ctx, gen_progress_fn progress,
             void *progress_arg, gen_stats *stats, sp_err *e)
{
    gen_state *g = calloc(1, sizeof *g);
    if (!g) {
        sp_err_internal(e, "out of memory");
        return false;
    }
    g->rng = opt->seed;
    memset(stats, 0, sizeof *stats);
    uint64_t start = sp_clock_mono_ns();
    bool ok = true;
    for (long i = 0; i < opt->events && ok; i++) {
        if (opt->rate > 0) {
            uint64_t due = start + (uint64_t)((double)i * 1e9 / opt->rate);
            uint64_t now = sp_clock_mono_ns();
            if (due > now) sp_sleep_ms((unsigned)((due - now) / 1000000));
        }
        const char *op;
        json_t *req = next_request(g, opt, &op);
        json_t *resp = NULL;
        for (int attempt = 0; attempt < GEN_SINK_RETRIES; attempt++) {
            sp_err_clear(e);
            resp = sink(sink_ctx, op, req, e);
            if (resp || !e->retriable) break;
            sp_sleep_ms(50u << attempt);
        }
        json_decref(req);
        if (!resp) {
            stats->failed++;
            ok = false;
            break;
        }
        json_decref(resp);
        if (op[0] == 'P') stats->puts++;
        else if (op[0] == 'U') stats->updates++;
        else stats->deletes++;
        if (progress) progress(progress_arg, stats);
    }
    stats->seconds = (double)(sp_clock_mono_ns() - start) / 1e9;
    free(g);
    return ok;
}
