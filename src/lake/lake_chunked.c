/* The aws-chunked content encoding of S3 uploads (SigV4 streaming, and the unsigned form with
 * trailing checksums that newer SDKs send): a parser of outside input, so strict and bounded.
 * Every length is checked against what is left of the input before it is used, chunk sizes
 * have at most 16 hex digits, the only chunk extension is chunk-signature with 64 lowercase
 * hex digits, trailers are few and short, and the body must end exactly after the trailers'
 * closing empty line. The decoded bytes are never longer than the input, so one buffer of the
 * input's size holds them. */
#include "lake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIG_EXT ";chunk-signature="
#define TRAILER_SIG_NAME "x-amz-trailer-signature"
enum { CHUNK_SIZE_DIGITS_MAX = 16 };

static bool framing_error(sp_err *e, size_t at, const char *what)
{
    sp_err_set(e, 400, "InvalidRequest", "aws-chunked body: %s at byte %zu", what, at);
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_crlf(const char *in, size_t len, size_t pos)
{
    return pos + 2 <= len && in[pos] == '\r' && in[pos + 1] == '\n';
}

/* 64 lowercase hex digits at in[pos..]. */
static bool signature_at(const char *in, size_t len, size_t pos)
{
    if (len - pos < LAKE_CHUNK_SIG_LEN) return false;
    for (size_t i = 0; i < LAKE_CHUNK_SIG_LEN; i++) {
        char c = in[pos + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

/* One trailer line "name:value" of line_len bytes (CRLF excluded) into out. */
static bool parse_trailer(const char *line, size_t line_len, size_t at, lake_chunked *out,
                          sp_err *e)
{
    const char *colon = memchr(line, ':', line_len);
    if (!colon) return framing_error(e, at, "trailer line without ':'");
    size_t nlen = (size_t)(colon - line);
    if (nlen == 0 || nlen >= LAKE_TRAILER_NAME_MAX)
        return framing_error(e, at, "trailer name empty or too long");
    char name[LAKE_TRAILER_NAME_MAX];
    for (size_t i = 0; i < nlen; i++) {
        char c = line[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return framing_error(e, at, "trailer name with a character other than a-z 0-9 -");
        name[i] = c;
    }
    name[nlen] = '\0';
    const char *v = colon + 1;
    size_t vlen = line_len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
    if (vlen >= LAKE_TRAILER_VALUE_MAX) return framing_error(e, at, "trailer value too long");
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return framing_error(e, at, "trailer value with a control or non-ASCII byte");
    if (!strcmp(name, TRAILER_SIG_NAME)) {
        if (out->trailer_signature[0] || vlen != LAKE_CHUNK_SIG_LEN ||
            !signature_at(v, vlen, 0))
            return framing_error(e, at, "malformed or repeated x-amz-trailer-signature");
        memcpy(out->trailer_signature, v, vlen);
        out->trailer_signature[vlen] = '\0';
        return true;
    }
    if (out->trailer_signature[0])
        return framing_error(e, at, "trailer after x-amz-trailer-signature");
    for (size_t i = 0; i < out->n_trailers; i++)
        if (!strcmp(out->trailers[i].name, name))
            return framing_error(e, at, "repeated trailer");
    if (out->n_trailers == LAKE_TRAILERS_MAX) return framing_error(e, at, "too many trailers");
    lake_chunked_trailer *t = &out->trailers[out->n_trailers++];
    memcpy(t->name, name, nlen + 1);
    memcpy(t->value, v, vlen);
    t->value[vlen] = '\0';
    return true;
}

static bool decode(const char *in, size_t len, lake_chunk_fn fn, void *arg, lake_chunked *out,
                   sp_err *e)
{
    size_t pos = 0;
    int signed_chunks = -1; /* unknown until the first chunk */
    for (;;) {
        size_t start = pos, size = 0, digits = 0;
        while (pos < len && hexval(in[pos]) >= 0) {
            if (++digits > CHUNK_SIZE_DIGITS_MAX) return framing_error(e, start, "chunk size too long");
            size = size * 16 + (size_t)hexval(in[pos++]);
        }
        if (!digits) return framing_error(e, start, "missing chunk size");
        char sig[LAKE_CHUNK_SIG_LEN + 1];
        bool has_sig = false;
        size_t ext = sizeof CHUNK_SIG_EXT - 1;
        if (pos < len && in[pos] == ';') {
            if (len - pos < ext || memcmp(in + pos, CHUNK_SIG_EXT, ext) != 0 ||
                !signature_at(in, len, pos + ext))
                return framing_error(e, pos, "chunk extension other than chunk-signature=<64 hex>");
            memcpy(sig, in + pos + ext, LAKE_CHUNK_SIG_LEN);
            sig[LAKE_CHUNK_SIG_LEN] = '\0';
            has_sig = true;
            pos += ext + LAKE_CHUNK_SIG_LEN;
        }
        if (signed_chunks >= 0 && signed_chunks != has_sig)
            return framing_error(e, start, "signed and unsigned chunks mixed");
        signed_chunks = has_sig;
        if (!is_crlf(in, len, pos)) return framing_error(e, pos, "chunk header not ended by CRLF");
        pos += 2;
        if (size > len - pos) return framing_error(e, start, "chunk size beyond the body");
        if (fn && !fn(arg, has_sig ? sig : NULL, in + pos, size, e)) return false;
        if (size == 0) break;
        memcpy(out->data + out->len, in + pos, size);
        out->len += size;
        pos += size;
        if (!is_crlf(in, len, pos)) return framing_error(e, pos, "chunk data not followed by CRLF");
        pos += 2;
    }
    out->signed_chunks = signed_chunks == 1;
    out->trailer_text = in + pos;
    for (;;) {
        if (is_crlf(in, len, pos)) {
            pos += 2;
            break;
        }
        size_t start = pos, limit = LAKE_TRAILER_NAME_MAX + LAKE_TRAILER_VALUE_MAX + 8;
        while (pos < len && pos - start < limit && in[pos] != '\r' && in[pos] != '\n') pos++;
        if (!is_crlf(in, len, pos)) return framing_error(e, pos, "trailer line not ended by CRLF");
        bool before_sig = !out->trailer_signature[0];
        if (!parse_trailer(in + start, pos - start, start, out, e)) return false;
        if (before_sig && !out->trailer_signature[0])
            out->trailer_len = pos + 2 - (size_t)(out->trailer_text - in);
        pos += 2;
    }
    if (pos != len) return framing_error(e, pos, "bytes after the final chunk and trailers");
    return true;
}

bool lake_chunked_decode(const char *in, size_t len, lake_chunk_fn fn, void *arg,
                         lake_chunked *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    out->data = malloc(len + 1);
    if (!out->data) {
        sp_err_set(e, 500, "InternalError", "out of memory decoding an aws-chunked body");
        return false;
    }
    if (!decode(in, len, fn, arg, out, e)) {
        free(out->data);
        memset(out, 0, sizeof *out);
        return false;
    }
    out->data[out->len] = '\0';
    return true;
}
