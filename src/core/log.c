/* Logging: one line per event on stderr, "2026-11-26T12:00:00.123Z info  message". The level
 * is process-wide and set once at start (--log-level); lines are written with one write so
 * threads do not interleave inside a line. */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sp_log_level log_level = SP_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void sp_log_set_level(sp_log_level level) { log_level = level; }
sp_log_level sp_log_get_level(void) { return log_level; }

bool sp_log_level_parse(const char *name, sp_log_level *out)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (sp_log_level)i;
            return true;
        }
    }
    return false;
}

void sp_log(sp_log_level level, const char *fmt, ...)
{
    if (level < log_level || level >= SP_LOG_OFF) return;
    char line[1024];
    int64_t ms = sp_clock_wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(ms % 1000), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
