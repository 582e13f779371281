/* The pipes' dead-letter queue. EventBridge Pipes sends what a target refuses to an SQS
 * queue (DeadLetterConfig.Arn); salespipe has no SQS, so the queue is local and durable: one
 * message per refused source record at <pipe dir>/dlq/<pipe>/<seq>.json, written atomically
 * (temp, fsync, rename), holding the queue ARN, the pipe, the record's sequence number, why
 * it was refused and the record itself. Anything can read them (jq, a script); removing a
 * message is deleting its file.
 *
 * Exactly once across a crash (see runner.c): before a batch's messages are written, the
 * pipe's DLQ high mark (<pipe dir>/<pipe>.dlq-high, the highest seq that may have a message)
 * is saved durably, so no message ever exists above it. A resumed pipe asks whether a record
 * has a message only for records at or below the mark, one stat() each. */
#include "core/fs.h"
#include "pipe_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { PIP_DLQ_PATH_MAX = 4096, PIP_DLQ_HIGH_TEXT_MAX = 32 };

static void high_path(const char *dir, const char *pipe, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.dlq-high", dir, pipe);
}

static void message_path(const char *dir, const char *pipe, uint64_t seq, char *out, size_t size)
{
    snprintf(out, size, "%s/dlq/%s/%021" PRIu64 ".json", dir, pipe, seq);
}

uint64_t pip_dlq_high_load(const char *dir, const char *pipe)
{
    char path[PIP_DLQ_PATH_MAX], text[PIP_DLQ_HIGH_TEXT_MAX] = "";
    high_path(dir, pipe, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    /* unreadable: assume the worst, so every record is asked about */
    return end == text || errno ? UINT64_MAX : (uint64_t)v;
}

bool pip_dlq_high_save(const char *dir, const char *pipe, uint64_t seq, sp_err *e)
{
    char path[PIP_DLQ_PATH_MAX], text[PIP_DLQ_HIGH_TEXT_MAX];
    high_path(dir, pipe, path, sizeof path);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    return sp_fs_write_atomic(path, text, (size_t)n, e);
}

void pip_dlq_high_remove(const char *dir, const char *pipe)
{
    char path[PIP_DLQ_PATH_MAX];
    high_path(dir, pipe, path, sizeof path);
    unlink(path);
}

bool pip_dlq_has(const char *dir, const char *pipe, uint64_t seq)
{
    char path[PIP_DLQ_PATH_MAX];
    struct stat st;
    message_path(dir, pipe, seq, path, sizeof path);
    return stat(path, &st) == 0;
}

bool pip_dlq_write(const char *dir, const pip_def *d, uint64_t seq, const char *record,
                   size_t len, const char *reason, sp_err *e)
{
    char path[PIP_DLQ_PATH_MAX], folder[PIP_DLQ_PATH_MAX], arn[PIP_ARN_MAX + 1], when[32];
    snprintf(folder, sizeof folder, "%s/dlq/%s", dir, d->name);
    if (!sp_fs_mkdirs(folder, e)) return false;
    message_path(dir, d->name, seq, path, sizeof path);
    pip_def_arn(d, arn, sizeof arn);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_error_t je;
    json_t *rec = json_loadb(record, len, JSON_ALLOW_NUL, &je);
    char seqtext[32];
    snprintf(seqtext, sizeof seqtext, "%021" PRIu64, seq);
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "version", "1.0",
                            "timestamp", when, "queueArn", d->dlq_arn, "pipeArn", arn, "pipeName",
                            d->name, "source", d->source_arn, "sequenceNumber", seqtext,
                            "errorMessage", reason);
    if (rec) json_object_set_new(msg, "record", rec);
    else if (json_stringn(record, len)) json_object_set_new(msg, "recordText", json_stringn(record, len));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    bool ok = text && sp_fs_write_atomic(path, text, strlen(text), e);
    free(text);
    return ok;
}
