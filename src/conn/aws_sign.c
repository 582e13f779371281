/* AWS Signature Version 4 for outbound requests: canonical request, string to sign, signing
 * key, Authorization header. The inbound verifier (api/sigv4.c) checks what others sign; this
 * is the signing side only, small enough to read against AWS's documentation
 * ("Create a signed AWS API request") line by line. */
#include "conn.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void conn_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    hex(md, sizeof md, out);
}

static void hmac(const void *key, size_t key_len, const char *data, unsigned char out[32])
{
    unsigned n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), out, &n);
}

void conn_uri_encode(sp_str *out, const char *s, bool keep_slash)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            sp_str_putc(out, (char)c);
        else
            sp_str_appendf(out, "%%%02X", c);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits s at sep into a sorted array of owned strings; *n receives the count. */
static char **split_sorted(const char *s, char sep, size_t *n)
{
    *n = 0;
    if (!s || !*s) return NULL;
    size_t cap = 1;
    for (const char *c = s; *c; c++) cap += *c == sep;
    char **parts = calloc(cap, sizeof *parts);
    const char *start = s;
    for (const char *c = s;; c++) {
        if (*c == sep || !*c) {
            if (c > start) parts[(*n)++] = strndup(start, (size_t)(c - start));
            if (!*c) break;
            start = c + 1;
        }
    }
    qsort(parts, *n, sizeof *parts, str_cmp);
    return parts;
}

char *conn_sigv4_authorization(const conn_sigv4_input *in, const conn_aws_creds *creds)
{
    /* Canonical headers: lower-case names, trimmed values, sorted by name. */
    char **hs = calloc(in->n_headers ? in->n_headers : 1, sizeof *hs);
    for (size_t i = 0; i < in->n_headers; i++) {
        const char *h = in->headers[i], *colon = strchr(h, ':');
        size_t nlen = colon ? (size_t)(colon - h) : strlen(h);
        const char *v = colon ? colon + 1 : "";
        while (*v == ' ' || *v == '\t') v++;
        size_t vlen = strlen(v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
        hs[i] = malloc(nlen + vlen + 2);
        for (size_t k = 0; k < nlen; k++) hs[i][k] = (char)tolower((unsigned char)h[k]);
        hs[i][nlen] = ':';
        memcpy(hs[i] + nlen + 1, v, vlen);
        hs[i][nlen + 1 + vlen] = '\0';
    }
    qsort(hs, in->n_headers, sizeof *hs, str_cmp);
    sp_str canon, signed_headers;
    sp_str_init(&canon, NULL, 0, SP_STR_NO_MAX);
    sp_str_init(&signed_headers, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&canon, "%s\n%s\n", in->method, in->path && *in->path ? in->path : "/");
    size_t nq;
    char **q = split_sorted(in->query, '&', &nq);
    for (size_t i = 0; i < nq; i++) {
        sp_str_appendf(&canon, "%s%s%s", i ? "&" : "", q[i], strchr(q[i], '=') ? "" : "=");
        free(q[i]);
    }
    free(q);
    sp_str_putc(&canon, '\n');
    for (size_t i = 0; i < in->n_headers; i++) {
        sp_str_appendf(&canon, "%s\n", hs[i]);
        sp_str_appendf(&signed_headers, "%s%.*s", i ? ";" : "",
                       (int)(strchr(hs[i], ':') - hs[i]), hs[i]);
        free(hs[i]);
    }
    free(hs);
    sp_str_appendf(&canon, "\n%s\n%s", signed_headers.buf, in->payload_sha256);
    char canon_hash[65];
    conn_sha256_hex(canon.buf, canon.len, canon_hash);
    sp_str_release(&canon);

    char date[9];
    snprintf(date, sizeof date, "%.8s", in->amz_date);
    sp_str scope, sts;
    sp_str_init(&scope, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&scope, "%s/%s/%s/aws4_request", date, in->region, in->service);
    sp_str_init(&sts, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", in->amz_date, scope.buf, canon_hash);

    char key0[CONN_SECRET_KEY_MAX + 5];
    snprintf(key0, sizeof key0, "AWS4%s", creds->secret_access_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(key0, strlen(key0), date, k1);
    hmac(k1, 32, in->region, k2);
    hmac(k2, 32, in->service, k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, sts.buf, sig);
    char sig_hex[65];
    hex(sig, 32, sig_hex);

    sp_str auth;
    sp_str_init(&auth, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&auth, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                   creds->access_key_id, scope.buf, signed_headers.buf, sig_hex);
    sp_str_release(&scope);
    sp_str_release(&sts);
    sp_str_release(&signed_headers);
    return sp_str_finish(&auth, NULL);
}
