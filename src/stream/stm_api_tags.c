/* Kinesis stream tags: AddTagsToStream, ListTagsForStream, RemoveTagsFromStream. The model
 * (api_model) has already checked the shapes (key 1-128, value 0-256 characters, list sizes);
 * here come Kinesis's semantic checks in its order: the stream exists, then the characters
 * of every key and value (Unicode letters, digits, white space, _ . / = + - @; '%' gets its
 * own message), then the per-stream limit. Tags live in the stream's metadata
 * (.streams.json), saved before the request is acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stm_api_int.h"

/* AWS: a stream has at most 50 tags; one AddTagsToStream adds "a set of up to 10 key-value
 * pairs" (its API reference; the model's TagMap allows 200 because CreateStream shares it). */
enum { STM_TAGS_PER_STREAM_MAX = 50, STM_TAGS_PER_ADD_MAX = 10, STM_LIST_TAGS_DEFAULT = 100 };

/* Decodes one UTF-8 sequence at s (n bytes left); 0 on a malformed one. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (!len || len > n) return 0;
    unsigned v = s[0] & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

typedef enum { TAG_OK, TAG_INVALID, TAG_PERCENT } tag_check;

/* Kinesis's allowed tag characters: [\u00C0-\u1FFF\u2C00-\uD7FF\w./\-=+_ @%]. */
static tag_check tag_chars(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    bool percent = false;
    while (n) {
        unsigned cp;
        size_t k = utf8_next(s, n, &cp);
        if (!k) return TAG_INVALID;
        bool ok = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                  (cp >= '0' && cp <= '9') || (cp && strchr("_./-=+ @%", (int)cp)) ||
                  (cp >= 0xC0 && cp <= 0x1FFF) || (cp >= 0x2C00 && cp <= 0xD7FF);
        if (!ok) return TAG_INVALID;
        if (cp == '%') percent = true;
        s += k;
        n -= k;
    }
    return percent ? TAG_PERCENT : TAG_OK;
}

static bool tags_chars_ok(const char *const *texts, size_t n, const char *verb,
                          const char *name, sp_err *e)
{
    tag_check worst = TAG_OK;
    for (size_t i = 0; i < n; i++) {
        tag_check c = tag_chars(texts[i]);
        if (c == TAG_INVALID) worst = TAG_INVALID;
        else if (c == TAG_PERCENT && worst == TAG_OK) worst = TAG_PERCENT;
    }
    if (worst == TAG_INVALID) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Some tags contain invalid characters. Valid characters: Unicode letters, "
                   "digits, white space, _ . / = + - %% @.");
        return false;
    }
    if (worst == TAG_PERCENT) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Failed to %s stream %s under account %s because some tags contained "
                   "illegal characters. The allowed characters are Unicode letters, "
                   "white-spaces, '_',',','/','=','+','-','@'.", verb, name, STM_ACCOUNT);
        return false;
    }
    return true;
}

/* Saves the streams' metadata after st->tags changed; on failure st->tags is put back to old
 * (a copy taken before the change). old is taken either way. Under log->lock. */
static bool tags_save(stm_log *log, stm_stream *st, json_t *old, sp_err *e)
{
    if (stm_meta_save(log, e)) {
        json_decref(old);
        return true;
    }
    json_decref(st->tags);
    st->tags = old;
    return false;
}

json_t *stm_op_add_tags(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    json_t *tags = json_object_get(req, "Tags");
    if (!json_is_object(tags)) {
        stm_api_invalid(e, NULL, "tags", "Member must not be null");
        return NULL;
    }
    size_t n = json_object_size(tags), k = 0;
    if (n > STM_TAGS_PER_ADD_MAX) {
        /* The map as Java prints it, {k=v, k=v}, as the validator quotes values. */
        sp_str m;
        sp_str_init(&m, NULL, 0, SP_ERR_MSG_MAX);
        const char *tk;
        json_t *tv;
        sp_str_putc(&m, '{');
        json_object_foreach(tags, tk, tv)
            sp_str_appendf(&m, "%s%s=%s", m.len > 1 ? ", " : "", tk,
                           json_is_string(tv) ? json_string_value(tv) : "null");
        sp_str_putc(&m, '}');
        char limit[64];
        snprintf(limit, sizeof limit, "Member must have length less than or equal to %d",
                 STM_TAGS_PER_ADD_MAX);
        stm_api_invalid(e, m.buf ? m.buf : "{}", "tags", limit);
        sp_str_release(&m);
        return NULL;
    }
    const char **texts = calloc(2 * n + 1, sizeof *texts);
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v) {
        if (!json_is_string(v)) {
            free(texts);
            sp_err_set(e, 400, "SerializationException", "Expected map or null");
            return NULL;
        }
        texts[k++] = key;
        texts[k++] = json_string_value(v);
    }
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    bool ok = st && tags_chars_ok(texts, k, "add tags to", name, e);
    if (ok) {
        size_t total = json_object_size(st->tags);
        json_object_foreach(tags, key, v) total += !json_object_get(st->tags, key);
        if (total > STM_TAGS_PER_STREAM_MAX) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Failed to add tags to stream %s under account %s because a given "
                       "stream cannot have more than %d tags associated with it.", name,
                       STM_ACCOUNT, STM_TAGS_PER_STREAM_MAX);
            ok = false;
        }
    }
    if (ok) {
        json_t *old = json_deep_copy(st->tags);
        json_object_update(st->tags, tags);
        ok = tags_save(log, st, old, e);
    }
    pthread_rwlock_unlock(&log->lock);
    free(texts);
    return ok ? json_object() : NULL;
}

json_t *stm_op_remove_tags(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    json_t *keys = json_object_get(req, "TagKeys");
    if (!json_is_array(keys)) {
        stm_api_invalid(e, NULL, "tagKeys", "Member must not be null");
        return NULL;
    }
    size_t n = json_array_size(keys);
    const char **texts = calloc(n + 1, sizeof *texts);
    for (size_t i = 0; i < n; i++) {
        texts[i] = json_string_value(json_array_get(keys, i));
        if (!texts[i]) {
            free(texts);
            sp_err_set(e, 400, "SerializationException", "Expected list or null");
            return NULL;
        }
    }
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    bool ok = st && tags_chars_ok(texts, n, "remove tags from", name, e);
    if (ok) {
        json_t *old = json_deep_copy(st->tags);
        for (size_t i = 0; i < n; i++) json_object_del(st->tags, texts[i]);
        ok = tags_save(log, st, old, e);
    }
    pthread_rwlock_unlock(&log->lock);
    free(texts);
    return ok ? json_object() : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *stm_op_list_tags(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    long long limit = stm_api_int(req, "Limit", "limit", false, 1, 50, STM_LIST_TAGS_DEFAULT, e);
    const char *start = stm_api_str(req, "ExclusiveStartTagKey", "exclusiveStartTagKey", false,
                                    1, 128, e);
    if (sp_err_failed(e)) return NULL;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    json_t *out = NULL;
    if (st) {
        size_t n = json_object_size(st->tags), k = 0;
        const char **keys = calloc(n + 1, sizeof *keys);
        const char *key;
        json_t *v;
        json_object_foreach(st->tags, key, v) keys[k++] = key;
        qsort(keys, k, sizeof *keys, cmp_str);
        json_t *list = json_array();
        bool more = false;
        for (size_t i = 0; i < k; i++) {
            if (start && strcmp(keys[i], start) <= 0) continue;
            if ((long long)json_array_size(list) >= limit) {
                more = true;
                break;
            }
            json_array_append_new(list, json_pack("{s:s, s:O}", "Key", keys[i], "Value",
                                                  json_object_get(st->tags, keys[i])));
        }
        free(keys);
        out = json_pack("{s:o, s:b}", "Tags", list, "HasMoreTags", more);
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}
