/* base64 (RFC 4648, standard alphabet, padded) over OpenSSL's EVP block coder. OpenSSL is
 * lenient about whitespace and returns padding bytes as data, so decoding first checks the
 * input is canonical base64 and then trims what the padding stood for. */
#include "core.h"

#include <openssl/evp.h>

size_t sp_base64_encode(const void *in, size_t n, char *out)
{
    /* EVP_EncodeBlock takes an int length; encode in chunks of a multiple of 3 bytes. */
    const unsigned char *p = in;
    size_t total = 0;
    const size_t chunk = 3u << 20;
    do {
        size_t take = n > chunk ? chunk : n;
        total += (size_t)EVP_EncodeBlock((unsigned char *)out + total, p, (int)take);
        p += take;
        n -= take;
    } while (n > 0);
    out[total] = '\0';
    return total;
}

static bool b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

long sp_base64_decode(const char *in, size_t n, void *out)
{
    if (n % 4 != 0) return -1;
    if (n == 0) return 0;
    size_t pad = 0;
    if (in[n - 1] == '=') pad++;
    if (in[n - 2] == '=') pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char((unsigned char)in[i])) return -1;
    unsigned char *o = out;
    size_t total = 0;
    const size_t chunk = 4u << 20;
    for (size_t off = 0; off < n; off += chunk) {
        size_t take = n - off > chunk ? chunk : n - off;
        int r = EVP_DecodeBlock(o + total, (const unsigned char *)in + off, (int)take);
        if (r < 0) return -1;
        total += (size_t)r;
    }
    return (long)(total - pad);
}
