/* Fuzzes the classifier JsonPath parser and the Glue type inference: the first line of the
 * input is a JsonPath, the rest a JSON document; the path is compiled, applied, and every
 * selected value's inferred type must render to a name that parses back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_int.h"

static bool check_type(void *arg, json_t *v)
{
    (void)arg;
    cat_type *t = cat_type_of_json(v);
    char *name = cat_type_name(t);
    cat_type *back = cat_type_parse(name);
    if (!back || !cat_type_equal(t, back)) abort();
    cat_type_merge(&back, t);
    cat_type_destroy(back);
    cat_type_destroy(t);
    free(name);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *path = strndup((const char *)data, plen);
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile(path, &e);
    if (p && nl) {
        json_t *doc = json_loadb((const char *)nl + 1, size - plen - 1, JSON_DECODE_ANY, NULL);
        if (doc) cat_jsonpath_select(p, doc, check_type, NULL);
        json_decref(doc);
    }
    cat_jsonpath_destroy(p);
    cat_type_destroy(cat_type_parse(path)); /* the type-name parser sees the same bytes */
    free(path);
    return 0;
}
