/* The retry decisions of the outbound client, kept apart from the transport so they can be
 * tested as plain functions: which failures are worth another attempt (what AWS's SDKs retry
 * in their standard mode) and how long to wait before it (exponential backoff, full jitter). */
#include "conn.h"

#include <string.h>

/* Error codes AWS services answer for throttling or a transient fault, whatever the HTTP
 * status (botocore's retry handlers: _retry.json "general" + "throttling"). */
static const char *const RETRIABLE_CODES[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError",
    "InternalFailure", "ServiceUnavailable",
};

bool conn_retry_retriable(bool transport, long status, const char *code)
{
    if (transport) return true;
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504)
        return true;
    for (size_t i = 0; code && i < SP_ARRAY_LEN(RETRIABLE_CODES); i++)
        if (!strcmp(code, RETRIABLE_CODES[i])) return true;
    return false;
}

unsigned conn_retry_backoff_ms(int attempt, unsigned base_ms, unsigned cap_ms, uint64_t rnd)
{
    if (attempt < 1) attempt = 1;
    uint64_t ceiling = base_ms;
    for (int i = 1; i < attempt && ceiling < cap_ms; i++) ceiling *= 2;
    if (ceiling > cap_ms) ceiling = cap_ms;
    return (unsigned)(rnd % (ceiling + 1));
}
