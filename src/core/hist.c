/* Geometric-bucket histogram: bucket i holds values up to SP_HIST_MIN_MS * 1.1^i. */
#include "hist.h"

#include <math.h>

static const double SP_HIST_MIN_MS = 0.01;
static const double SP_HIST_GROWTH = 1.1;

void sp_hist_add(sp_hist *h, double ms)
{
    int i = 0;
    if (ms > SP_HIST_MIN_MS) i = (int)ceil(log(ms / SP_HIST_MIN_MS) / log(SP_HIST_GROWTH));
    if (i >= SP_HIST_BUCKETS) i = SP_HIST_BUCKETS - 1;
    h->count[i]++;
    h->total++;
}

double sp_hist_quantile(const sp_hist *h, double q)
{
    if (!h->total) return 0;
    uint64_t want = (uint64_t)ceil(q * (double)h->total), seen = 0;
    if (want == 0) want = 1;
    for (int i = 0; i < SP_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) return SP_HIST_MIN_MS * pow(SP_HIST_GROWTH, i);
    }
    return SP_HIST_MIN_MS * pow(SP_HIST_GROWTH, SP_HIST_BUCKETS - 1);
}
