/* A crawler's Schedule: the cron(...) expressions Glue takes (the same as EventBridge
 * schedules), checked as Glue checks them:
 *
 *   cron(Minutes Hours Day-of-month Month Day-of-week Year)
 *
 * Minutes 0-59, Hours 0-23, Day-of-month 1-31 (also ?, L, LW, nW), Month 1-12 or JAN-DEC,
 * Day-of-week 1-7 or SUN-SAT (also ?, L, nL, n#k), Year 1970-2199; each field a list of
 * items separated by ',', an item *, a value, a range a-b, or one of those followed by /step.
 * One of Day-of-month and Day-of-week must be '?', and not both. */
#include "cat_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR, N_FIELDS };

static const struct {
    const char *name;
    int lo, hi;
} FIELDS[N_FIELDS] = {
    {"Minutes", 0, 59}, {"Hours", 0, 23}, {"Day-of-month", 1, 31},
    {"Month", 1, 12},   {"Day-of-week", 1, 7}, {"Year", 1970, 2199},
};

static const char *const MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const DAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* One value of field f at *p (a number, or a month/day name); advances *p. -1 if none. */
static int value(int f, const char **p)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0, n = 0;
        while (isdigit((unsigned char)*s) && n < 5) v = v * 10 + (*s++ - '0'), n++;
        if (isdigit((unsigned char)*s)) return -1;
        *p = s;
        return v >= FIELDS[f].lo && v <= FIELDS[f].hi ? v : -1;
    }
    const char *const *names = f == F_MONTH ? MONTHS : f == F_DOW ? DAYS : NULL;
    size_t n_names = f == F_MONTH ? 12 : 7;
    for (size_t i = 0; names && i < n_names; i++)
        if (!strncasecmp(s, names[i], 3)) {
            *p = s + 3;
            return (int)i + 1;
        }
    return -1;
}

/* One comma-separated item of field f, [s, end). */
static bool item(int f, const char *s, const char *end)
{
    size_t n = (size_t)(end - s);
    if (f == F_DOM && ((n == 1 && *s == 'L') || (n == 2 && !strncmp(s, "LW", 2)))) return true;
    if (f == F_DOW && n == 1 && *s == 'L') return true;
    const char *p = s;
    if (*p == '*') {
        p++;
    } else {
        int a = value(f, &p);
        if (a < 0) return false;
        if (f == F_DOM && p + 1 == end && *p == 'W') return true;
        if (f == F_DOW && p + 1 == end && *p == 'L') return true;
        if (f == F_DOW && *p == '#') {
            p++;
            return p + 1 == end && *p >= '1' && *p <= '5';
        }
        if (*p == '-') {
            p++;
            if (value(f, &p) < 0) return false;
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (p == end) return false;
        int step = 0;
        while (p < end && isdigit((unsigned char)*p) && step < 10000) step = step * 10 + (*p++ - '0');
        if (step < 1) return false;
    }
    return p == end;
}

bool cat_cron_valid(const char *expr, sp_err *e)
{
    char why[160] = "";
    size_t n = strlen(expr);
    if (n < 7 || n > CAT_CRON_MAX || strncmp(expr, "cron(", 5) || expr[n - 1] != ')') {
        snprintf(why, sizeof why, "it must be cron(Minutes Hours Day-of-month Month "
                                  "Day-of-week Year)");
    } else {
        const char *p = expr + 5, *close = expr + n - 1;
        const char *f_start[N_FIELDS], *f_end[N_FIELDS];
        int nf = 0;
        while (p < close && !why[0]) {
            while (p < close && *p == ' ') p++;
            if (p == close) break;
            if (nf == N_FIELDS) {
                snprintf(why, sizeof why, "it has more than %d fields", N_FIELDS);
                break;
            }
            f_start[nf] = p;
            while (p < close && *p != ' ') p++;
            f_end[nf++] = p;
        }
        if (!why[0] && nf != N_FIELDS)
            snprintf(why, sizeof why, "it has %d fields, not %d", nf, N_FIELDS);
        for (int f = 0; f < nf && !why[0]; f++) {
            const char *s = f_start[f];
            bool q = f_end[f] - s == 1 && *s == '?';
            if (q && f != F_DOM && f != F_DOW) {
                snprintf(why, sizeof why, "'?' is allowed only in Day-of-month or Day-of-week");
                break;
            }
            if (q) continue;
            while (s <= f_end[f] && !why[0]) {
                const char *comma = memchr(s, ',', (size_t)(f_end[f] - s));
                const char *end = comma ? comma : f_end[f];
                if (end == s || !item(f, s, end))
                    snprintf(why, sizeof why, "%s field '%.*s' is not valid", FIELDS[f].name,
                             (int)(f_end[f] - f_start[f] > 40 ? 40 : f_end[f] - f_start[f]),
                             f_start[f]);
                s = end + 1;
            }
        }
        if (!why[0]) {
            bool dom_q = f_end[F_DOM] - f_start[F_DOM] == 1 && *f_start[F_DOM] == '?';
            bool dow_q = f_end[F_DOW] - f_start[F_DOW] == 1 && *f_start[F_DOW] == '?';
            if (dom_q == dow_q)
                snprintf(why, sizeof why, "exactly one of Day-of-month and Day-of-week must be "
                                          "'?'");
        }
    }
    if (why[0]) {
        sp_err_set(e, 400, "InvalidInputException", "Schedule expression '%.100s' is invalid: %s",
                   expr, why);
        return false;
    }
    return true;
}
