/* Partition detection from the folder layout, as Glue's crawler does it: the folders
 * between a table's location and its objects are partition levels; a level whose folders
 * are all "key=value" with one key is named after the key (Hive style), any other level is
 * partition_<level>. Also Glue's table naming rule. */
#include "cat_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cat_key_depth(const char *rel_key)
{
    size_t n = 0;
    for (const char *p = rel_key; *p; p++)
        if (*p == '/') n++;
    return n;
}

bool cat_key_folder(const char *rel_key, size_t level, char *out, size_t out_size)
{
    const char *p = rel_key;
    for (size_t i = 0; i < level; i++) {
        p = strchr(p, '/');
        if (!p) return false;
        p++;
    }
    const char *end = strchr(p, '/');
    if (!end) return false;
    snprintf(out, out_size, "%.*s", (int)(end - p), p);
    return true;
}

/* Length of the key part of a "k=v" folder, or 0 if it is not one. */
static size_t hive_key_len(const char *folder)
{
    const char *eq = strchr(folder, '=');
    return eq && eq != folder ? (size_t)(eq - folder) : 0;
}

void cat_partition_names(const char *const *rel_keys, size_t n_keys, size_t depth, char **names)
{
    char folder[1024], first[1024];
    for (size_t level = 0; level < depth; level++) {
        bool hive = n_keys > 0;
        size_t klen = 0;
        for (size_t i = 0; i < n_keys && hive; i++) {
            if (!cat_key_folder(rel_keys[i], level, folder, sizeof folder)) {
                hive = false;
                break;
            }
            size_t k = hive_key_len(folder);
            if (i == 0) {
                memcpy(first, folder, sizeof folder);
                klen = k;
            }
            if (!k || k != klen || strncmp(folder, first, k)) hive = false;
        }
        char name[CAT_NAME_MAX + 1];
        if (hive) {
            char raw[CAT_NAME_MAX + 1];
            snprintf(raw, sizeof raw, "%.*s", (int)klen, first);
            cat_name_sanitize(raw, name);
        } else {
            snprintf(name, sizeof name, "partition_%zu", level);
        }
        names[level] = strdup(name);
    }
}

void cat_partition_value(const char *folder, const char *key_name, char *out, size_t out_size)
{
    size_t k = hive_key_len(folder);
    if (k) {
        char raw[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
        snprintf(raw, sizeof raw, "%.*s", (int)k, folder);
        cat_name_sanitize(raw, name);
        if (!strcmp(name, key_name)) {
            snprintf(out, out_size, "%s", folder + k + 1);
            return;
        }
    }
    snprintf(out, out_size, "%s", folder);
}

void cat_name_sanitize(const char *in, char *out)
{
    size_t n = 0;
    for (; in[n] && n < CAT_NAME_MAX; n++) {
        unsigned char c = (unsigned char)in[n];
        out[n] = (isalnum(c) && c < 0x80) ? (char)tolower(c) : '_';
    }
    out[n] = '\0';
}
