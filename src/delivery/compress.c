/* Object compression: GZIP through zlib (a gzip member readable by `gzip -d`), ZSTD through
 * libzstd (one frame with the content size, readable by `zstd -d`), or none. */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

enum { GZIP_WINDOW_BITS = 15 + 16, GZIP_MEM_LEVEL = 8, ZSTD_LEVEL = 3 };

static char *gzip(const void *data, size_t len, size_t *out_len, sp_err *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        sp_err_internal(e, "gzip: deflateInit2 failed");
        return NULL;
    }
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        sp_err_internal(e, "gzip: deflate failed (%d)", rc);
        return NULL;
    }
    return out;
}

static char *zstd(const void *data, size_t len, size_t *out_len, sp_err *e)
{
    size_t cap = ZSTD_compressBound(len);
    char *out = malloc(cap ? cap : 1);
    size_t n = ZSTD_compress(out, cap, data, len, ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        free(out);
        sp_err_internal(e, "zstd: %s", ZSTD_getErrorName(n));
        return NULL;
    }
    *out_len = n;
    return out;
}

char *dlv_compress(dlv_compression c, const void *data, size_t len, size_t *out_len, sp_err *e)
{
    switch (c) {
    case DLV_COMP_GZIP: return gzip(data, len, out_len, e);
    case DLV_COMP_ZSTD: return zstd(data, len, out_len, e);
    case DLV_COMP_NONE: break;
    }
    char *out = malloc(len ? len : 1);
    if (len) memcpy(out, data, len);
    *out_len = len;
    return out;
}
