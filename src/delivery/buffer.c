/* Buffering hints: Firehose flushes when the buffer reaches SizeInMBs or when
 * IntervalInSeconds have passed since its first record, whichever comes first. The runner
 * reads from its source only as much as the size hint allows, so memory is bounded by one
 * buffer whatever the backlog; a full buffer flushes at once, which is also how a backlog
 * after a restart drains at disk speed rather than one interval per buffer. */
#include "dlv_int.h"

enum { DLV_IDLE_WAIT_MS = 1000 };
static const uint64_t NS_PER_MS = 1000000ull;

static size_t size_limit(long long size_mb) { return (size_t)size_mb * 1024u * 1024u; }

size_t dlv_buffer_room(const dlv_buffer_state *b, long long size_mb)
{
    size_t lim = size_limit(size_mb);
    return b->bytes >= lim ? 0 : lim - b->bytes;
}

dlv_buffer_decision dlv_buffer_decide(const dlv_buffer_state *b, long long size_mb,
                                      long long interval_s, uint64_t now_ns)
{
    dlv_buffer_decision d = {.flush = false, .wait_ms = DLV_IDLE_WAIT_MS};
    if (b->records == 0) return d;                 /* nothing to flush: wait for data */
    if (b->closing || b->bytes >= size_limit(size_mb)) {
        d.flush = true;
        return d;
    }
    uint64_t age = now_ns > b->opened_ns ? now_ns - b->opened_ns : 0;
    uint64_t limit = (uint64_t)interval_s * 1000u * NS_PER_MS;
    if (age >= limit) {
        d.flush = true;
        return d;
    }
    if (!b->source_drained) {                      /* more is already there: read it now */
        d.wait_ms = 0;
        return d;
    }
    uint64_t left_ms = (limit - age + NS_PER_MS - 1) / NS_PER_MS;
    d.wait_ms = left_ms > DLV_IDLE_WAIT_MS ? DLV_IDLE_WAIT_MS : (int)left_ms;
    return d;
}
