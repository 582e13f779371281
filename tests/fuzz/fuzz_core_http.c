/* Fuzz target for the query-string and percent-decoding helpers (core/http.c), which read
 * the query and path of every REST request (S3). The input is "<name>\n<query>"; the lookup
 * runs with a small and a large output buffer, and percent-decoding runs over the query. A
 * decoded value never grows, never holds a NUL, and whatever fits the small buffer is found
 * the same in the large one. The same pair runs through the error-body redaction with the
 * name as the private path and the query as the body: afterwards an absolute private path
 * appears nowhere in the body, and a body that did not hold it comes back unchanged. */
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

    size_t qlen = strlen(query);
    char *body = strndup(query, qlen);
    size_t blen = qlen;
    if (!body) fuzz_fail("out of memory");
    bool held = strlen(name) >= SP_HTTP_REDACT_MIN && memmem(query, qlen, name, strlen(name)) != NULL;
    size_t n = sp_http_redact(&body, &blen, name);
    if (!body) fuzz_fail("redaction lost the body");
    if (held != (n > 0)) fuzz_fail("redaction missed or invented a match");
    if (!n && (blen != qlen || memcmp(body, query, qlen))) fuzz_fail("unmatched body changed");
    if (name[0] == '/' && strlen(name) >= SP_HTTP_REDACT_MIN && memmem(body, blen, name, strlen(name)))
        fuzz_fail("the private path survived");
    if (body[blen] != '\0') fuzz_fail("redacted body not terminated");
    free(body);

    size_t before = strlen(query);
    if (sp_http_percent_decode(query) && strlen(query) > before) fuzz_fail("decoding grew");
    free(name);
    free(query);
    return 0;
}
