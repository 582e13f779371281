/* Fuzz target: the aws-chunked decoder (lake_chunked_decode). Input: a body as a client
 * would send it. Checked: no crash or overread; on success the decoded bytes are no longer
 * than the input, the trailer text lies inside the input, the callback saw exactly the
 * decoded bytes, and re-encoding the result as one unsigned chunk with the same trailers
 * decodes to the same bytes and trailers (the decoder reads what it would write). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake.h"

static bool count(void *arg, const char *sig, const void *data, size_t len, sp_err *e)
{
    (void)sig, (void)data, (void)e;
    *(size_t *)arg += len;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lake_chunked out;
    sp_err e = {0};
    size_t seen = 0;
    if (!lake_chunked_decode((const char *)data, size, count, &seen, &out, &e)) {
        if (out.data || !e.status) abort();
        return 0;
    }
    if (out.len > size || seen != out.len || out.n_trailers > LAKE_TRAILERS_MAX) abort();
    if (out.trailer_text < (const char *)data ||
        out.trailer_text + out.trailer_len > (const char *)data + size)
        abort();
    if (out.signed_chunks) { /* the unsigned re-encoding below would mix nothing */ }
    size_t cap = out.len + 64 + LAKE_TRAILERS_MAX * (LAKE_TRAILER_NAME_MAX + LAKE_TRAILER_VALUE_MAX + 4);
    char *enc = malloc(cap);
    size_t n = 0;
    if (out.len) {
        n += (size_t)snprintf(enc + n, cap - n, "%zx\r\n", out.len);
        memcpy(enc + n, out.data, out.len);
        n += out.len;
        n += (size_t)snprintf(enc + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(enc + n, cap - n, "0\r\n");
    for (size_t i = 0; i < out.n_trailers; i++)
        n += (size_t)snprintf(enc + n, cap - n, "%s:%s\r\n", out.trailers[i].name,
                              out.trailers[i].value);
    n += (size_t)snprintf(enc + n, cap - n, "\r\n");
    lake_chunked again;
    if (!lake_chunked_decode(enc, n, NULL, NULL, &again, &e)) abort();
    if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0 ||
        again.n_trailers != out.n_trailers)
        abort();
    for (size_t i = 0; i < out.n_trailers; i++)
        if (strcmp(again.trailers[i].name, out.trailers[i].name) ||
            strcmp(again.trailers[i].value, out.trailers[i].value))
            abort();
    free(again.data);
    free(enc);
    free(out.data);
    return 0;
}
