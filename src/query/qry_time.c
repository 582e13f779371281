/* Timestamps for the Presto date/time functions: parsing ISO 8601 and Athena's display
 * form into UTC epoch milliseconds, formatting back, truncating to a unit and MySQL-style
 * date_format. Proleptic Gregorian calendar on int64 day counts (no time zone database:
 * offsets are applied, zones other than UTC/Z are not known). */
#include "qry_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { MS_PER_SECOND = 1000, MS_PER_MINUTE = 60000, MS_PER_HOUR = 3600000,
       MS_PER_DAY = 86400000 };

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool qry_ts_parse(const char *s, int64_t *ms, bool *zoned)
{
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    *zoned = false;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
    if (*p == 'T' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec)) return false;
            if (*p == '.' || *p == ',') {
                p++;
                int scale = 100;
                if (!isdigit((unsigned char)*p)) return false;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 23 || mi > 59 || sec > 60) return false;
    }
    int64_t offset_ms = 0;
    while (*p == ' ') p++;
    if (*p == 'Z') {
        *zoned = true;
        p++;
    } else if (!strncasecmp(p, "UTC", 3)) {
        *zoned = true;
        p += 3;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (!digits(&p, 2, &oh)) return false;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p) && !digits(&p, 2, &om)) return false;
        offset_ms = sign * ((int64_t)oh * MS_PER_HOUR + (int64_t)om * MS_PER_MINUTE);
        *zoned = true;
    }
    while (isspace((unsigned char)*p)) p++;
    if (*p) return false;
    *ms = days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY + (int64_t)h * MS_PER_HOUR +
          (int64_t)mi * MS_PER_MINUTE + (int64_t)sec * MS_PER_SECOND + frac - offset_ms;
    return true;
}

typedef struct civil {
    int64_t y;
    unsigned mo, d, h, mi, s, ms, wday, yday;
} civil;

static civil to_civil(int64_t ms)
{
    civil c;
    int64_t days = floor_div(ms, MS_PER_DAY), rest = ms - days * MS_PER_DAY;
    civil_from_days(days, &c.y, &c.mo, &c.d);
    c.h = (unsigned)(rest / MS_PER_HOUR);
    c.mi = (unsigned)(rest % MS_PER_HOUR / MS_PER_MINUTE);
    c.s = (unsigned)(rest % MS_PER_MINUTE / MS_PER_SECOND);
    c.ms = (unsigned)(rest % MS_PER_SECOND);
    c.wday = (unsigned)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    c.yday = (unsigned)(days - days_from_civil(c.y, 1, 1)) + 1;
    return c;
}

void qry_ts_format(int64_t ms, bool zoned, char *out, size_t size)
{
    civil c = to_civil(ms);
    snprintf(out, size, "%04lld-%02u-%02u %02u:%02u:%02u.%03u%s", (long long)c.y, c.mo, c.d, c.h,
             c.mi, c.s, c.ms, zoned ? " UTC" : "");
}

bool qry_ts_trunc(const char *unit, int64_t ms, int64_t *out)
{
    int64_t days = floor_div(ms, MS_PER_DAY);
    civil c = to_civil(ms);
    if (!strcasecmp(unit, "millisecond")) *out = ms;
    else if (!strcasecmp(unit, "second")) *out = floor_div(ms, MS_PER_SECOND) * MS_PER_SECOND;
    else if (!strcasecmp(unit, "minute")) *out = floor_div(ms, MS_PER_MINUTE) * MS_PER_MINUTE;
    else if (!strcasecmp(unit, "hour")) *out = floor_div(ms, MS_PER_HOUR) * MS_PER_HOUR;
    else if (!strcasecmp(unit, "day")) *out = days * MS_PER_DAY;
    else if (!strcasecmp(unit, "week")) /* ISO weeks start on Monday */
        *out = (days - (c.wday + 6) % 7) * MS_PER_DAY;
    else if (!strcasecmp(unit, "month")) *out = days_from_civil(c.y, c.mo, 1) * MS_PER_DAY;
    else if (!strcasecmp(unit, "quarter"))
        *out = days_from_civil(c.y, (c.mo - 1) / 3 * 3 + 1, 1) * MS_PER_DAY;
    else if (!strcasecmp(unit, "year")) *out = days_from_civil(c.y, 1, 1) * MS_PER_DAY;
    else return false;
    return true;
}

static const char *const MONTHS[] = {"January", "February", "March",     "April",
                                     "May",     "June",     "July",      "August",
                                     "September", "October", "November", "December"};
static const char *const DAYS[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};

void qry_ts_strftime(int64_t ms, const char *fmt, char *out, size_t size)
{
    civil c = to_civil(ms);
    size_t n = 0;
    if (!size) return;
    out[0] = '\0';
    for (const char *p = fmt; *p && n + 1 < size; p++) {
        char piece[64];
        if (*p != '%' || !p[1]) {
            piece[0] = *p;
            piece[1] = '\0';
        } else {
            unsigned h12 = c.h % 12 ? c.h % 12 : 12;
            switch (*++p) {
            case 'Y': snprintf(piece, sizeof piece, "%04lld", (long long)c.y); break;
            case 'y': snprintf(piece, sizeof piece, "%02lld", (long long)(c.y % 100)); break;
            case 'm': snprintf(piece, sizeof piece, "%02u", c.mo); break;
            case 'c': snprintf(piece, sizeof piece, "%u", c.mo); break;
            case 'd': snprintf(piece, sizeof piece, "%02u", c.d); break;
            case 'e': snprintf(piece, sizeof piece, "%u", c.d); break;
            case 'H': snprintf(piece, sizeof piece, "%02u", c.h); break;
            case 'k': snprintf(piece, sizeof piece, "%u", c.h); break;
            case 'h':
            case 'I': snprintf(piece, sizeof piece, "%02u", h12); break;
            case 'l': snprintf(piece, sizeof piece, "%u", h12); break;
            case 'i': snprintf(piece, sizeof piece, "%02u", c.mi); break;
            case 's':
            case 'S': snprintf(piece, sizeof piece, "%02u", c.s); break;
            case 'f': snprintf(piece, sizeof piece, "%06u", c.ms * 1000); break;
            case 'p': snprintf(piece, sizeof piece, "%s", c.h < 12 ? "AM" : "PM"); break;
            case 'T': snprintf(piece, sizeof piece, "%02u:%02u:%02u", c.h, c.mi, c.s); break;
            case 'r':
                snprintf(piece, sizeof piece, "%02u:%02u:%02u %s", h12, c.mi, c.s,
                         c.h < 12 ? "AM" : "PM");
                break;
            case 'M': snprintf(piece, sizeof piece, "%s", MONTHS[c.mo - 1]); break;
            case 'b': snprintf(piece, sizeof piece, "%.3s", MONTHS[c.mo - 1]); break;
            case 'W': snprintf(piece, sizeof piece, "%s", DAYS[c.wday]); break;
            case 'a': snprintf(piece, sizeof piece, "%.3s", DAYS[c.wday]); break;
            case 'j': snprintf(piece, sizeof piece, "%03u", c.yday); break;
            case '%': snprintf(piece, sizeof piece, "%%"); break;
            default: snprintf(piece, sizeof piece, "%c", *p); break;
            }
        }
        size_t k = strlen(piece);
        if (n + k >= size) k = size - 1 - n;
        memcpy(out + n, piece, k);
        n += k;
        out[n] = '\0';
    }
}
