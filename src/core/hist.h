/* hist: a fixed-size latency histogram with geometric buckets (each 10% wider than the last,
 * from 0.01 ms to hours), so quantiles are within 10% and adding is O(1) with no allocation.
 * Used for freshness (commit to object) in status, health and the benchmarks. */
#ifndef SP_HIST_H
#define SP_HIST_H

#include <stdint.h>

enum { SP_HIST_BUCKETS = 200 };

typedef struct sp_hist {
    uint64_t count[SP_HIST_BUCKETS];
    uint64_t total;
} sp_hist;

void sp_hist_add(sp_hist *h, double ms);
/* The value (ms) below which a fraction q (0..1) of the samples lie; 0 when empty. */
double sp_hist_quantile(const sp_hist *h, double q);

#endif
