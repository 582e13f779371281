/* Delivery stream tags (TagDeliveryStream, UntagDeliveryStream, ListTagsForDeliveryStream
 * and CreateDeliveryStream's Tags): validated as Firehose's model says (TagKey 1-128 and
 * TagValue 0-256 characters of letters, digits, white space and _ . : / = + - @ %, no key
 * starting with "aws:", at most 50 tags a stream) and kept beside the stream's state in
 * <stream dir>/tags.json, so configured streams can be tagged too and the tags go with the
 * stream when it is deleted. */
#include "core/fs.h"
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

static const char TAGS_FILE[] = "tags.json";

/* The characters Firehose's tag pattern allows, ASCII part; any non-ASCII byte is taken as
 * part of a Unicode letter (the pattern's \p{L}). Control characters never pass. */
static bool tag_text_valid(const char *s, size_t max, bool allow_empty)
{
    size_t n = strlen(s), chars = 0;
    if ((!allow_empty && n == 0)) return false;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c & 0xC0) != 0x80) chars++;
        if (*c >= 0x80) continue;
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr(" _.:/=+-@%", *c)))
            return false;
    }
    return chars <= max;
}

bool dlv_tag_key_valid(const char *key)
{
    return key && tag_text_valid(key, DLV_TAG_KEY_MAX, false) && strncmp(key, "aws:", 4);
}

json_t *dlv_tags_load(const char *dir)
{
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&p, "%s/%s", dir, TAGS_FILE);
    json_t *tags = json_load_file(p.buf, 0, NULL);
    sp_str_release(&p);
    if (!json_is_object(tags)) {
        json_decref(tags);
        tags = json_object();
    }
    return tags;
}

bool dlv_tags_save(const char *dir, const json_t *tags, sp_err *e)
{
    sp_str p;
    sp_str_init(&p, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&p, "%s/%s", dir, TAGS_FILE);
    bool ok = sp_fs_write_json_atomic(p.buf, tags, e);
    sp_str_release(&p);
    return ok;
}

bool dlv_tags_merge(json_t *tags, const json_t *list, sp_err *e)
{
    if (!json_is_array(list) || json_array_size(list) < 1 ||
        json_array_size(list) > DLV_TAGS_MAX) {
        dlv_invalid(e, "Tags must be a list of 1 to %d {Key, Value} tags", DLV_TAGS_MAX);
        return false;
    }
    json_t *merged = json_deep_copy(tags);
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        json_t *k = json_object_get(t, "Key"), *v = json_object_get(t, "Value");
        if (!json_is_object(t) || !json_is_string(k) || !dlv_tag_key_valid(json_string_value(k))) {
            dlv_invalid(e, "Tags[%zu].Key must be 1 to %d characters of letters, digits, white "
                           "space and _.:/=+-@%%, not starting with aws:", i, DLV_TAG_KEY_MAX);
            json_decref(merged);
            return false;
        }
        if (v && !json_is_null(v) &&
            (!json_is_string(v) || !tag_text_valid(json_string_value(v), DLV_TAG_VALUE_MAX, true))) {
            dlv_invalid(e, "Tags[%zu].Value must be at most %d characters of letters, digits, "
                           "white space and _.:/=+-@%%", i, DLV_TAG_VALUE_MAX);
            json_decref(merged);
            return false;
        }
        json_object_set_new(merged, json_string_value(k),
                            json_string(json_is_string(v) ? json_string_value(v) : ""));
    }
    if (json_object_size(merged) > DLV_TAGS_MAX) {
        sp_err_set(e, 400, "LimitExceededException",
                   "a delivery stream may have at most %d tags; this would make %zu",
                   DLV_TAGS_MAX, json_object_size(merged));
        json_decref(merged);
        return false;
    }
    json_object_update(tags, merged);
    json_decref(merged);
    return true;
}
