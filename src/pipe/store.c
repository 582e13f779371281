/* Persistence of the pipe stage: the API-defined pipes (<dir>/pipes.json) and each pipe's
 * checkpoint (<dir>/<name>.checkpoint, a decimal table stream seq). Both are replaced
 * atomically (sp_fs_write_atomic), so a crash leaves either the old or the new content. */
#include "pipe_int.h"

#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { PIP_PATH_MAX = 4096, PIP_CHECKPOINT_TEXT_MAX = 32 };

json_t *pip_store_load(const char *dir, sp_err *e)
{
    char path[PIP_PATH_MAX];
    snprintf(path, sizeof path, "%s/pipes.json", dir);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        if (access(path, F_OK) != 0) return json_pack("{s:[], s:[]}", "pipes", "deleted");
        sp_err_internal(e, "'%s' is not valid JSON: %s (line %d)", path, je.text, je.line);
        return NULL;
    }
    if (!json_is_array(json_object_get(doc, "pipes"))) json_object_set_new(doc, "pipes", json_array());
    if (!json_is_array(json_object_get(doc, "deleted")))
        json_object_set_new(doc, "deleted", json_array());
    return doc;
}

bool pip_store_save(const char *dir, const json_t *doc, sp_err *e)
{
    char path[PIP_PATH_MAX];
    snprintf(path, sizeof path, "%s/pipes.json", dir);
    char *text = json_dumps(doc, JSON_INDENT(2));
    bool ok = text && sp_fs_write_atomic(path, text, strlen(text), e);
    free(text);
    return ok;
}

static void checkpoint_path(const char *dir, const char *pipe, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.checkpoint", dir, pipe);
}

bool pip_checkpoint_load(const char *dir, const char *pipe, uint64_t *seq)
{
    char path[PIP_PATH_MAX], text[PIP_CHECKPOINT_TEXT_MAX] = "";
    checkpoint_path(dir, pipe, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f) return false;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || errno) return false;
    *seq = v;
    return true;
}

bool pip_checkpoint_save(const char *dir, const char *pipe, uint64_t seq, sp_err *e)
{
    char path[PIP_PATH_MAX], text[PIP_CHECKPOINT_TEXT_MAX];
    checkpoint_path(dir, pipe, path, sizeof path);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    return sp_fs_write_atomic(path, text, (size_t)n, e);
}

void pip_checkpoint_remove(const char *dir, const char *pipe)
{
    char path[PIP_PATH_MAX];
    checkpoint_path(dir, pipe, path, sizeof path);
    unlink(path);
}
