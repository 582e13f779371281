/* Fuzz target: the in-place JSON reader (core/json_scan.h) against jansson. Whatever
 * sp_jscan_valid accepts, json_loadb(JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES) must load as an
 * object, and the walkers must read the same document from the text: the same members in the
 * same order, the same kinds, plain strings byte for byte, numbers as the same double. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/json_scan.h"

static void same(const char *v, const json_t *t)
{
    switch (sp_jscan_kind(v)) {
    case '{': {
        if (!json_is_object(t) || sp_jscan_count(v) != json_object_size(t)) abort();
        sp_jscan_iter it;
        sp_jscan_iter_init(&it, v);
        void *ti = json_object_iter((json_t *)t);
        const char *k, *x;
        size_t klen;
        while (sp_jscan_iter_member(&it, &k, &klen, &x)) {
            if (!ti) abort();
            const char *tk = json_object_iter_key(ti);
            if (strlen(tk) != klen || memcmp(tk, k, klen)) abort();
            same(x, json_object_iter_value(ti));
            char name[256];
            if (klen < sizeof name) { /* the lookup finds it too */
                memcpy(name, k, klen);
                name[klen] = '\0';
                if (sp_jscan_member(v, name) != x) abort();
            }
            ti = json_object_iter_next((json_t *)t, ti);
        }
        if (ti) abort();
        return;
    }
    case '[': {
        if (!json_is_array(t) || sp_jscan_count(v) != json_array_size(t)) abort();
        sp_jscan_iter it;
        sp_jscan_iter_init(&it, v);
        const char *x;
        size_t i = 0;
        while (sp_jscan_iter_elem(&it, &x)) same(x, json_array_get(t, i++));
        return;
    }
    case '"': {
        if (!json_is_string(t)) abort();
        const char *s;
        size_t len;
        bool plain = sp_jscan_plain_string(v, &s, &len);
        if (plain && (len != json_string_length(t) || memcmp(s, json_string_value(t), len)))
            abort();
        if (plain != !memchr(v + 1, '\\', (size_t)(sp_jscan_skip(v) - v - 1))) abort();
        return;
    }
    case 't': if (!json_is_true(t)) abort(); return;
    case 'f': if (!json_is_false(t)) abort(); return;
    case 'n': if (!json_is_null(t)) abort(); return;
    default: {
        if (!json_is_number(t)) abort();
        double a = sp_jscan_number(v), b = json_number_value(t);
        if (a != b && !(isnan(a) && isnan(b))) abort();
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    bool ok = sp_jscan_valid(text, size);
    json_t *t = json_loadb(text, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
    if (ok) {
        if (!json_is_object(t)) abort();
        const char *v = text;
        while (*v != '{') v++;
        same(v, t);
        if (sp_jscan_skip(v) > text + size) abort();
    }
    json_decref(t);
    return 0;
}
