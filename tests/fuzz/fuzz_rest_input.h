/* Shared by the REST fuzz targets (S3, Pipes): splits a fuzz input
 * "<METHOD> <path>[?<query>]\n<rest>" in place into a request. text must be a NUL-terminated
 * copy of the input (size bytes before the NUL); *rest points after the first newline (NULL
 * if none). The request borrows text. */
#ifndef FUZZ_REST_INPUT_H
#define FUZZ_REST_INPUT_H

#include <string.h>

#include "core/http.h"

static inline sp_http_req fuzz_rest_request(char *text, const char *default_path, char **rest)
{
    char *nl = strchr(text, '\n');
    if (nl) *nl++ = '\0';
    *rest = nl;
    char *space = strchr(text, ' ');
    if (space) *space++ = '\0';
    char *path = space ? space : (char *)default_path;
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    return (sp_http_req){.method = text, .path = path, .raw_path = path, .query = q ? q : ""};
}

#endif
