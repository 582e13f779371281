/* Integrity headers of S3 uploads: Content-MD5 and the x-amz-checksum-* family (CRC32 from
 * zlib, CRC32C from core, CRC64NVME here, SHA-1 and SHA-256 from OpenSSL). Values travel as
 * base64 of the big-endian checksum; a mismatch is S3's 400 BadDigest with S3's wording. */
#include "lake_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static const struct {
    const char *header;
    const char *label; /* as S3's messages name it */
    size_t bytes;
} CHECKSUMS[LAKE_CK_COUNT] = {
    [LAKE_CK_CRC32] = {"x-amz-checksum-crc32", "CRC32", 4},
    [LAKE_CK_CRC32C] = {"x-amz-checksum-crc32c", "CRC32C", 4},
    [LAKE_CK_CRC64NVME] = {"x-amz-checksum-crc64nvme", "CRC64NVME", 8},
    [LAKE_CK_SHA1] = {"x-amz-checksum-sha1", "SHA1", 20},
    [LAKE_CK_SHA256] = {"x-amz-checksum-sha256", "SHA256", 32},
};

bool lake_digest_md5_check(const char *content_md5, const void *data, size_t len, sp_err *e)
{
    unsigned char want[sp_base64_decoded_max(64)];
    size_t n = strlen(content_md5);
    long got = n <= 64 ? sp_base64_decode(content_md5, n, want) : -1;
    if (got != 16) {
        sp_err_set(e, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
        return false;
    }
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    EVP_Digest(data, len, md5, &mlen, EVP_md5(), NULL);
    if (memcmp(md5, want, 16) != 0) {
        sp_err_set(e, 400, "BadDigest",
                   "The Content-MD5 you specified did not match what was received.");
        return false;
    }
    return true;
}

const char *lake_checksum_header(lake_checksum_alg alg) { return CHECKSUMS[alg].header; }

bool lake_checksum_by_header(const char *name, lake_checksum_alg *alg)
{
    for (int i = 0; i < LAKE_CK_COUNT; i++) {
        if (!strcasecmp(name, CHECKSUMS[i].header)) {
            *alg = (lake_checksum_alg)i;
            return true;
        }
    }
    return false;
}

/* CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and final xor all ones. */
static uint64_t crc64nvme(const unsigned char *p, size_t n)
{
    static uint64_t table[256];
    static bool ready; /* benign race: every thread computes the same table */
    if (!ready) {
        for (uint64_t i = 0; i < 256; i++) {
            uint64_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ULL : c >> 1;
            table[i] = c;
        }
        __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    }
    uint64_t crc = ~0ULL;
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static size_t checksum_raw(lake_checksum_alg alg, const void *data, size_t len,
                           unsigned char out[EVP_MAX_MD_SIZE])
{
    uint64_t v = 0;
    switch (alg) {
    case LAKE_CK_CRC32: {
        uLong c = crc32(0L, Z_NULL, 0);
        const unsigned char *p = data;
        for (size_t left = len; left;) { /* zlib takes uInt lengths */
            uInt step = left > (1u << 30) ? (1u << 30) : (uInt)left;
            c = crc32(c, p, step);
            p += step;
            left -= step;
        }
        v = c;
        break;
    }
    case LAKE_CK_CRC32C: v = sp_crc32c(0, data, len); break;
    case LAKE_CK_CRC64NVME: v = crc64nvme(data, len); break;
    case LAKE_CK_SHA1:
    case LAKE_CK_SHA256: {
        unsigned int n = 0;
        EVP_Digest(data, len, out, &n, alg == LAKE_CK_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
        return n;
    }
    default: return 0;
    }
    size_t bytes = CHECKSUMS[alg].bytes;
    for (size_t i = 0; i < bytes; i++) out[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    return bytes;
}

void lake_checksum_compute(lake_checksum_alg alg, const void *data, size_t len, char out[48])
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    size_t n = checksum_raw(alg, data, len, raw);
    sp_base64_encode(raw, n, out);
}

bool lake_checksum_check(lake_checksum_alg alg, const char *value, const void *data, size_t len,
                         sp_err *e)
{
    unsigned char want[sp_base64_decoded_max(64)];
    size_t n = strlen(value);
    long got = n <= 64 ? sp_base64_decode(value, n, want) : -1;
    if (got != (long)CHECKSUMS[alg].bytes) {
        sp_err_set(e, 400, "InvalidRequest", "Value for %s header is invalid.",
                   CHECKSUMS[alg].header);
        return false;
    }
    unsigned char raw[EVP_MAX_MD_SIZE];
    checksum_raw(alg, data, len, raw);
    if (memcmp(raw, want, (size_t)got) != 0) {
        sp_err_set(e, 400, "BadDigest",
                   "The %s you specified did not match the calculated checksum.",
                   CHECKSUMS[alg].label);
        return false;
    }
    return true;
}
