/* Text forms of Parquet values shared by writer and reader: timestamps (Hive's
 * "yyyy-MM-dd HH:mm:ss[.fff]" and ISO 8601), dates, and exact decimals as 128-bit integers. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "parquet/pq_value.h"

static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i])) return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

bool pq_date_parse(const char *s, int32_t *days)
{
    int y, m, d;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &m) || *s++ != '-' ||
        !digits(&s, 2, &d) || *s || !valid_date(y, m, d))
        return false;
    *days = (int32_t)pq_days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

bool pq_timestamp_parse(const char *s, int64_t *micros)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || !valid_date(y, mo, d))
        return false;
    int64_t frac_us = 0;
    int offset_min = 0;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi)) return false;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &sec)) return false;
            if (*s == '.' || *s == ',') {
                s++;
                int n = 0;
                while (isdigit((unsigned char)*s)) {
                    if (n < 6) frac_us = frac_us * 10 + (*s - '0');
                    n++;
                    s++;
                }
                if (!n) return false;
                for (; n < 6; n++) frac_us *= 10;
            }
        }
        if (*s == 'Z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
            if (!digits(&s, 2, &oh)) return false;
            if (*s == ':') s++;
            if (isdigit((unsigned char)*s) && !digits(&s, 2, &om)) return false;
            offset_min = sign * (oh * 60 + om);
        }
        if (h > 23 || mi > 59 || sec > 60) return false;
    }
    if (*s) return false;
    int64_t days = pq_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *micros = secs * 1000000 + frac_us;
    return true;
}

void pq_date_format(int64_t days, char out[PQ_TEXT_MAX])
{
    int64_t y;
    unsigned m, d;
    pq_civil_from_days(days, &y, &m, &d);
    snprintf(out, PQ_TEXT_MAX, "%04lld-%02u-%02u", (long long)y, m, d);
}

void pq_timestamp_format(int64_t v, int64_t per_second, char out[PQ_TEXT_MAX])
{
    int64_t secs = v / per_second, frac = v % per_second;
    if (frac < 0) {
        frac += per_second;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    pq_civil_from_days(days, &y, &m, &d);
    int width = per_second == 1000 ? 3 : per_second == 1000000 ? 6 : 9;
    snprintf(out, PQ_TEXT_MAX, "%04lld-%02u-%02u %02d:%02d:%02d.%0*lld", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), width, (long long)frac);
}

static const __int128 I128_MAX = (__int128)(((unsigned __int128)1 << 127) - 1);

bool pq_decimal_parse(const char *s, int precision, int scale, __int128 *out)
{
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    __int128 v = 0;
    int int_digits = 0, frac_digits = 0, any = 0;
    bool round_up = false;
    while (*s == '0' && isdigit((unsigned char)s[1])) s++;
    for (; isdigit((unsigned char)*s); s++, any++) {
        if (!(int_digits == 0 && *s == '0')) int_digits++;
        if (int_digits > precision - scale) return false;
        v = v * 10 + (*s - '0');
    }
    if (*s == '.') {
        s++;
        for (; isdigit((unsigned char)*s); s++, any++) {
            if (frac_digits < scale) {
                v = v * 10 + (*s - '0');
                frac_digits++;
            } else if (frac_digits == scale) {
                round_up = *s >= '5';  /* half away from zero, as Hive's HiveDecimal */
                frac_digits++;
            }
        }
    }
    if (!any) return false;
    int exp = 0;
    if (*s == 'e' || *s == 'E') {
        /* Exponents only from JSON reals; rewrite through the plain form. */
        return false;
    }
    if (*s) return false;
    for (int f = frac_digits > scale ? scale : frac_digits; f < scale; f++) v *= 10;
    if (round_up) v += 1;
    (void)exp;
    __int128 limit = 1;
    for (int i = 0; i < precision; i++) limit *= 10;
    if (v >= limit || v > I128_MAX) return false;
    *out = neg ? -v : v;
    return true;
}

void pq_decimal_format(__int128 v, int scale, char out[PQ_TEXT_MAX])
{
    char digits_buf[48];
    int n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        digits_buf[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale) digits_buf[n++] = '0';
    size_t o = 0;
    if (neg) out[o++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[o++] = digits_buf[i];
        if (i == scale && scale > 0) out[o++] = '.';
    }
    out[o] = 0;
}
