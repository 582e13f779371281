/* The durable state of one delivery stream: per-shard checkpoints (the last source position
 * whose records are in the lake) and at most one open intent (the input range of the batch
 * being delivered, the uuid its object keys derive from, and the keys once known). Written
 * whole to a temporary file, fsynced, renamed over the old one and the directory fsynced, so
 * after a crash the file is either the old state or the new one. Positions are kept as
 * decimal strings because they are unsigned 64-bit. */
#include "dlv_int.h"

#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *u64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

static bool get_u64(const json_t *j, uint64_t *out)
{
    const char *s = json_string_value(j);
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return false;
    *out = v;
    return true;
}

void dlv_state_clear(dlv_state *st)
{
    json_decref(st->keys);
    free(st->checkpoint);
    free(st->range);
    memset(st, 0, sizeof *st);
}

bool dlv_state_shards(dlv_state *st, int n, sp_err *e)
{
    if (n <= st->n_shards) return true;
    if (n > STM_SHARDS_WITH_LINEAGE_MAX) {
        sp_err_internal(e, "%d shards: more than a stream can have (%d)", n,
                        STM_SHARDS_WITH_LINEAGE_MAX);
        return false;
    }
    st->checkpoint = realloc(st->checkpoint, (size_t)n * sizeof *st->checkpoint);
    st->range = realloc(st->range, (size_t)n * sizeof *st->range);
    for (int i = st->n_shards; i < n; i++) {
        st->checkpoint[i] = 0;
        st->range[i].after = st->range[i].upto = 0;
    }
    st->n_shards = n;
    return true;
}

bool dlv_state_load(const char *path, dlv_state *st, sp_err *e)
{
    memset(st, 0, sizeof *st);
    json_error_t je;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return true;
        sp_err_internal(e, "delivery state '%s': %s", path, strerror(errno));
        return false;
    }
    json_t *j = json_loadf(f, 0, &je);
    fclose(f);
    if (!j) {
        sp_err_internal(e, "delivery state '%s' is corrupt: %s", path, je.text);
        return false;
    }
    bool ok = false;
    json_t *cps = json_object_get(j, "checkpoints");
    /* Files written before per-shard arrays were sized from the stream have the same form
     * (at most 64 entries then); any count a stream can have is read. */
    if (!json_is_array(cps) || json_array_size(cps) > STM_SHARDS_WITH_LINEAGE_MAX) goto out;
    sp_err ignore = {0};
    if (!dlv_state_shards(st, (int)json_array_size(cps), &ignore)) goto out;
    for (int i = 0; i < st->n_shards; i++)
        if (!get_u64(json_array_get(cps, (size_t)i), &st->checkpoint[i])) goto out;
    json_t *in = json_object_get(j, "intent");
    if (in && !json_is_null(in)) {
        json_t *ranges = json_object_get(in, "ranges");
        const char *uuid = json_string_value(json_object_get(in, "uuid"));
        if (!json_is_array(ranges) || json_array_size(ranges) != (size_t)st->n_shards || !uuid ||
            strlen(uuid) != 36)
            goto out;
        for (int i = 0; i < st->n_shards; i++) {
            json_t *r = json_array_get(ranges, (size_t)i);
            if (!get_u64(json_array_get(r, 0), &st->range[i].after) ||
                !get_u64(json_array_get(r, 1), &st->range[i].upto))
                goto out;
        }
        memcpy(st->uuid, uuid, 37);
        json_t *keys = json_object_get(in, "keys");
        if (json_is_array(keys)) st->keys = json_incref(keys);
        st->has_intent = true;
    }
    ok = true;
out:
    json_decref(j);
    if (!ok) {
        dlv_state_clear(st);
        sp_err_internal(e, "delivery state '%s' is malformed", path);
    }
    return ok;
}

bool dlv_state_save(const char *path, const dlv_state *st, sp_err *e)
{
    json_t *cps = json_array();
    for (int i = 0; i < st->n_shards; i++) json_array_append_new(cps, u64(st->checkpoint[i]));
    json_t *intent = json_null();
    if (st->has_intent) {
        json_t *ranges = json_array();
        for (int i = 0; i < st->n_shards; i++)
            json_array_append_new(ranges, json_pack("[o,o]", u64(st->range[i].after),
                                                    u64(st->range[i].upto)));
        intent = json_pack("{s:o, s:s}", "ranges", ranges, "uuid", st->uuid);
        if (st->keys) json_object_set(intent, "keys", st->keys);
    }
    json_t *j = json_pack("{s:o, s:o}", "checkpoints", cps, "intent", intent);
    bool ok = sp_fs_write_json_atomic(path, j, e);
    json_decref(j);
    if (!ok) sp_err_wrap(e, "delivery state");
    return ok;
}
