/* Fuzz target for the query-string and percent-decoding helpers (core/http.c), which read
 * the query and path of every REST request (S3). The input is "<name>\n<query>"; the lookup
 * runs with a small and a large output buffer, and percent-decoding runs over the query. A
 * decoded value never grows, never holds a NUL, and whatever fits the small buffer is found
 * the same in the large one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_core_http: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t nlen = nl ? (size_t)(nl - data) : 0;
    char *name = strndup((const char *)data, nlen);
    char *query = strndup(nl ? (const char *)nl + 1 : (const char *)data,
                          nl ? size - nlen - 1 : size);
    if (!name || !query) fuzz_fail("out of memory");

    char small[8], large[4096];
    bool in_small = sp_http_query_param(query, name, small, sizeof small);
    bool in_large = sp_http_query_param(query, name, large, sizeof large);
    if (in_small && (!in_large || strcmp(small, large) != 0)) fuzz_fail("buffer size changed the answer");
    if (in_large && strlen(large) > strlen(query)) fuzz_fail("value longer than the query");

    size_t before = strlen(query);
    if (sp_http_percent_decode(query) && strlen(query) > before) fuzz_fail("decoding grew");
    free(name);
    free(query);
    return 0;
}
