/* parquet internals: text forms of dates, timestamps and decimals (pq_value.c). */
#ifndef SP_PQ_VALUE_H
#define SP_PQ_VALUE_H

#include "parquet/pq_int.h"

enum { PQ_TEXT_MAX = 64 };

/* "YYYY-MM-DD" to days since 1970-01-01. */
bool pq_date_parse(const char *s, int32_t *days);
/* "YYYY-MM-DD[( |T)HH:MM[:SS[.f...]]][Z|+HH[:MM]]" to microseconds since the epoch (UTC). */
bool pq_timestamp_parse(const char *s, int64_t *micros);
void pq_date_format(int64_t days, char out[PQ_TEXT_MAX]);
/* v in units of 1/per_second (1000, 1000000, 1000000000) as "YYYY-MM-DD HH:MM:SS.fff...". */
void pq_timestamp_format(int64_t v, int64_t per_second, char out[PQ_TEXT_MAX]);
/* A plain decimal number to its unscaled value at scale, rounding extra fraction digits half
 * away from zero; false when it is not a number or does not fit the precision. */
bool pq_decimal_parse(const char *s, int precision, int scale, __int128 *out);
void pq_decimal_format(__int128 v, int scale, char out[PQ_TEXT_MAX]);

#endif
