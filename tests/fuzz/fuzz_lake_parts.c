/* Fuzz target: CompleteMultipartUpload's part-list parser (lake_s3_parts_parse). Input: the
 * request body. Checked: no crash or overread; success yields at most 10000 parts whose ETags
 * fit their buffer; failure is MalformedXML and hands back nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lake_part *parts;
    size_t n;
    sp_err e = {0};
    if (!lake_s3_parts_parse((const char *)data, size, &parts, &n, &e)) {
        if (parts || n || strcmp(e.code, "MalformedXML")) abort();
        return 0;
    }
    if (n == 0 && parts) abort();
    if (n > LAKE_PARTS_MAX) abort();
    for (size_t i = 0; i < n; i++)
        if (strnlen(parts[i].etag, LAKE_ETAG_MAX) == LAKE_ETAG_MAX || parts[i].number < 0) abort();
    free(parts);
    return 0;
}
