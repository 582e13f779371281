/* Parquet's byte-level encodings shared by writer and reader: the RLE/bit-packed hybrid (levels
 * and dictionary indices) and page compression (snappy, gzip, zstd). */
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "parquet/pq_int.h"

/* zstd and gzip levels: the libraries' defaults, fixed so a redo writes the same bytes. */
#define PQ_ZSTD_LEVEL 3
#define PQ_GZIP_LEVEL 6

int pq_bit_width(uint32_t max)
{
    int bw = 0;
    while (max) {
        bw++;
        max >>= 1;
    }
    return bw;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------------------------------ */

static size_t run_length(const uint32_t *v, size_t i, size_t n)
{
    size_t j = i + 1;
    while (j < n && v[j] == v[i]) j++;
    return j - i;
}

static void put_rle_run(pq_buf *out, uint32_t value, size_t count, int bw)
{
    pq_buf_varint(out, (uint64_t)count << 1);
    for (int b = 0; b < (bw + 7) / 8; b++) pq_buf_byte(out, (uint8_t)(value >> (8 * b)));
}

void pq_rle_encode(pq_buf *out, const uint32_t *v, size_t n, int bw)
{
    size_t i = 0;
    while (i < n) {
        size_t r = run_length(v, i, n);
        if (r >= 8) {
            put_rle_run(out, v[i], r, bw);
            i += r;
            continue;
        }
        /* Bit-pack groups of eight until a long run starts on a group boundary. */
        size_t j = i;
        while (j < n && (j == i || run_length(v, j, n) < 8)) j += 8;
        size_t groups = (j - i + 7) / 8;
        pq_buf_varint(out, (uint64_t)groups << 1 | 1);
        size_t nbytes = groups * (size_t)bw;
        pq_buf_reserve(out, nbytes);
        uint8_t *p = out->p + out->len;
        memset(p, 0, nbytes);
        for (size_t k = 0; k < groups * 8; k++) {
            uint32_t x = i + k < n ? v[i + k] : 0;
            size_t bit = k * (size_t)bw;
            for (int b = 0; b < bw; b++, bit++)
                if (x >> b & 1) p[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        out->len += nbytes;
        i = j < n ? j : n;
    }
}

bool pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n)
{
    if (bw < 0 || bw > 32) return false;
    const uint8_t *end = p + len;
    size_t got = 0;
    uint32_t mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
    while (got < n) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) {
            if (p >= end || shift > 63) return false;
            uint8_t b = *p++;
            h |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80)) break;
        }
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups > (uint64_t)(end - p) + 1) return false;
            uint64_t count = groups * 8;
            size_t nbytes = (size_t)groups * (size_t)bw;
            size_t avail = (size_t)(end - p);
            /* A last group may be cut short by the end of the page (writers that know the
             * count stop early); values past the data read as missing. */
            size_t take = count < n - got ? (size_t)count : n - got;
            if ((take * (size_t)bw + 7) / 8 > avail) return false;
            for (size_t k = 0; k < take; k++) {
                size_t bit = k * (size_t)bw;
                uint64_t acc = 0;
                size_t byte = bit / 8;
                for (int b = 0; b < 5 && byte + (size_t)b < avail; b++)
                    acc |= (uint64_t)p[byte + (size_t)b] << (8 * b);
                out[got + k] = (uint32_t)(acc >> (bit % 8)) & mask;
            }
            got += take;
            p += nbytes < avail ? nbytes : avail;
        } else {
            uint64_t count = h >> 1;
            int vb = (bw + 7) / 8;
            if (end - p < vb) return false;
            uint32_t value = 0;
            for (int b = 0; b < vb; b++) value |= (uint32_t)p[b] << (8 * b);
            p += vb;
            if (value & ~mask) return false;
            size_t take = count < n - got ? (size_t)count : n - got;
            for (size_t k = 0; k < take; k++) out[got + k] = value;
            got += take;
        }
    }
    return true;
}

/* ---- compression ------------------------------------------------------------------------------- */

bool pq_codec_parse(const char *name, pq_codec *out)
{
    static const struct { const char *name; pq_codec c; } codecs[] = {
        {"UNCOMPRESSED", PQ_CODEC_UNCOMPRESSED}, {"SNAPPY", PQ_CODEC_SNAPPY},
        {"GZIP", PQ_CODEC_GZIP}, {"ZSTD", PQ_CODEC_ZSTD}};
    for (size_t i = 0; i < SP_ARRAY_LEN(codecs); i++)
        if (!strcmp(name, codecs[i].name)) {
            *out = codecs[i].c;
            return true;
        }
    return false;
}

const char *pq_codec_name(pq_codec c)
{
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED: return "UNCOMPRESSED";
    case PQ_CODEC_SNAPPY: return "SNAPPY";
    case PQ_CODEC_GZIP: return "GZIP";
    case PQ_CODEC_ZSTD: return "ZSTD";
    }
    return "?";
}

bool pq_compress(pq_codec c, const uint8_t *in, size_t n, pq_buf *out, sp_err *e)
{
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED:
        pq_buf_put(out, in, n);
        return true;
    case PQ_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        pq_buf_reserve(out, cap);
        if (snappy_compress((const char *)in, n, (char *)out->p + out->len, &cap) != SNAPPY_OK)
            break;
        out->len += cap;
        return true;
    }
    case PQ_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        pq_buf_reserve(out, cap);
        size_t r = ZSTD_compress(out->p + out->len, cap, in, n, PQ_ZSTD_LEVEL);
        if (ZSTD_isError(r)) break;
        out->len += r;
        return true;
    }
    case PQ_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, PQ_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            break;
        size_t cap = deflateBound(&z, (uLong)n) + 32;
        pq_buf_reserve(out, cap);
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)cap;
        int r = deflate(&z, Z_FINISH);
        size_t produced = cap - z.avail_out;
        deflateEnd(&z);
        if (r != Z_STREAM_END) break;
        out->len += produced;
        return true;
    }
    }
    sp_err_internal(e, "parquet: %s compression of a %zu-byte page failed", pq_codec_name(c), n);
    return false;
}

bool pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t out_len,
                   sp_err *e)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (n != out_len) break;
        memcpy(out, in, n);
        return true;
    case PQ_CODEC_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK || len != out_len)
            break;
        if (snappy_uncompress((const char *)in, n, (char *)out, &len) != SNAPPY_OK ||
            len != out_len)
            break;
        return true;
    }
    case PQ_CODEC_ZSTD: {
        size_t r = ZSTD_decompress(out, out_len, in, n);
        if (ZSTD_isError(r) || r != out_len) break;
        return true;
    }
    case PQ_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) break;
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = out;
        z.avail_out = (uInt)out_len;
        int r = inflate(&z, Z_FINISH);
        size_t produced = out_len - z.avail_out;
        inflateEnd(&z);
        if (r != Z_STREAM_END || produced != out_len) break;
        return true;
    }
    default:
        sp_err_invalid(e, "parquet: compression codec %d is not supported (UNCOMPRESSED, "
                          "SNAPPY, GZIP and ZSTD are)", codec);
        return false;
    }
    sp_err_invalid(e, "parquet: a page does not decompress to its declared %zu bytes", out_len);
    return false;
}
