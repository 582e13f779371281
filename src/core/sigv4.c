/* AWS Signature Version 4, the computation both ends share (see sigv4.h): canonical URI,
 * query and headers, the canonical request, the string to sign, the signing key and the
 * signature. What is specific to one end stays there: the verifier's parsing and checks in
 * api/sigv4.c, the signers' request building in conn/aws_sign.c and gen/http_sink.c. */
#include "sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- primitives ------------------------------------------------------------------------- */

void sp_sigv4_amz_date(int64_t unix_s, char out[SP_SIGV4_AMZ_DATE_LEN + 1])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SP_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

void sp_sigv4_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void sp_sigv4_sha256_hex(const void *data, size_t len, char out[SP_SIGV4_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    sp_sigv4_hex(md, n, out);
}

/* out = HMAC-SHA256(key, data); returns the length (32). */
static unsigned hmac(const void *key, size_t key_len, const char *data, unsigned char *out)
{
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), out, &n);
    return n;
}

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

void sp_sigv4_uri_encode(sp_str *out, const char *s, size_t len, bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) sp_str_putc(out, (char)c);
        else sp_str_appendf(out, "%%%02X", c);
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t sp_sigv4_uri_decode(const char *s, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    return w;
}

/* ---- the canonical request -------------------------------------------------------------- */

/* Appends s[0..len) with the segments "", "." and ".." resolved (RFC 3986 5.2.4, plus AWS's
 * collapsing of repeated slashes), as every service but S3 signs it. */
static void path_normalize(sp_str *out, const char *s, size_t len)
{
    /* Segment starts of the output, to pop on "..". */
    size_t stack_cap = len / 2 + 2, depth = 0;
    size_t *starts = malloc(stack_cap * sizeof *starts);
    sp_str segs;
    sp_str_init(&segs, NULL, 0, SP_STR_NO_MAX);
    for (size_t i = 0; i <= len;) {
        size_t j = i;
        while (j < len && s[j] != '/') j++;
        size_t n = j - i;
        if (n == 0 || (n == 1 && s[i] == '.')) {
            /* skip */
        } else if (n == 2 && s[i] == '.' && s[i + 1] == '.') {
            if (depth) segs.len = starts[--depth], segs.buf[segs.len] = '\0';
        } else if (starts) {
            starts[depth++] = segs.len;
            sp_str_putc(&segs, '/');
            sp_str_append(&segs, s + i, n);
        }
        i = j + 1;
    }
    /* Every segment is written as "/seg", so the result is absolute like every HTTP path;
     * a trailing slash survives, and nothing left at all is "/". */
    if (depth) {
        sp_str_append(out, segs.buf, segs.len);
        if (s[len - 1] == '/') sp_str_putc(out, '/');
    } else {
        sp_str_putc(out, '/');
    }
    sp_str_release(&segs);
    free(starts);
}

static void canonical_uri(sp_str *out, const char *path, size_t plen, bool s3)
{
    if (plen == 0) {
        sp_str_putc(out, '/');
    } else if (s3) {
        char *dec = malloc(plen + 1);
        size_t n = dec ? sp_sigv4_uri_decode(path, plen, dec) : 0;
        sp_sigv4_uri_encode(out, dec ? dec : "", n, true);
        free(dec);
    } else {
        sp_str norm;
        sp_str_init(&norm, NULL, 0, SP_SIGV4_CANONICAL_MAX);
        path_normalize(&norm, path, plen);
        if (!norm.len) sp_str_putc(&norm, '/');
        sp_sigv4_uri_encode(out, norm.buf, norm.len, true);
        sp_str_release(&norm);
    }
}

typedef struct query_pair {
    char *key;   /* encoded, as signed */
    char *value;
} query_pair;

static int pair_cmp(const void *a, const void *b)
{
    const query_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Re-encodes one decoded-then-encoded component into a new string. */
static char *component_canonical(const char *s, size_t len)
{
    char *dec = malloc(len + 1);
    if (!dec) return NULL;
    size_t n = sp_sigv4_uri_decode(s, len, dec);
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_SIGV4_CANONICAL_MAX);
    sp_sigv4_uri_encode(&out, dec, n, false);
    free(dec);
    return sp_str_finish(&out, NULL);
}

static bool canonical_query(sp_str *out, const char *query, bool presigned, sp_err *e)
{
    size_t cap = 0;
    for (const char *p = query; *p; p++) cap += *p == '&';
    cap += 1;
    if (cap > SP_SIGV4_QUERY_PARAMS_MAX) {
        sp_err_set(e, 400, "", "the query string has more than %d parameters",
                   SP_SIGV4_QUERY_PARAMS_MAX);
        return false;
    }
    query_pair *pairs = calloc(cap, sizeof *pairs);
    size_t n = 0;
    bool ok = pairs != NULL;
    for (const char *p = query; ok && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (len && !(presigned && klen == strlen("X-Amz-Signature") &&
                     !memcmp(p, "X-Amz-Signature", klen))) {
            pairs[n].key = component_canonical(p, klen);
            pairs[n].value = eq ? component_canonical(eq + 1, len - klen - 1) : strdup("");
            ok = pairs[n].key && pairs[n].value;
            n++;
        }
        p = amp ? amp + 1 : p + len;
    }
    if (ok) {
        qsort(pairs, n, sizeof *pairs, pair_cmp);
        for (size_t i = 0; i < n; i++)
            sp_str_appendf(out, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].value);
    } else {
        sp_err_internal(e, "out of memory canonicalising the query string");
    }
    for (size_t i = 0; pairs && i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    return ok;
}

/* Appends the value a signed header contributes: every occurrence, in order, trimmed, runs
 * of spaces folded to one, joined with ','. False when the request lacks it. */
static bool canonical_header_value(sp_str *out, const sp_sigv4_request *r, const char *name,
                                   size_t nlen)
{
    bool found = false;
    for (size_t i = 0; i < r->n_headers; i++) {
        const char *hn = r->headers[i].name;
        if (strlen(hn) != nlen || strncasecmp(hn, name, nlen)) continue;
        if (found) sp_str_putc(out, ',');
        found = true;
        const char *v = r->headers[i].value ? r->headers[i].value : "";
        while (*v == ' ' || *v == '\t') v++;
        const char *end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
        for (bool space = false; v < end; v++) {
            bool is_space = *v == ' ' || *v == '\t';
            if (is_space && space) continue;
            sp_str_putc(out, is_space ? ' ' : *v);
            space = is_space;
        }
    }
    return found;
}

char *sp_sigv4_canonical_request(const sp_sigv4_request *r, sp_err *e)
{
    sp_str c;
    sp_str_init(&c, NULL, 0, SP_SIGV4_CANONICAL_MAX);
    sp_str_puts(&c, r->method);
    sp_str_putc(&c, '\n');

    const char *target = r->target && *r->target ? r->target : "/";
    const char *q = strchr(target, '?');
    canonical_uri(&c, target, q ? (size_t)(q - target) : strlen(target), r->s3);
    sp_str_putc(&c, '\n');
    if (!canonical_query(&c, q ? q + 1 : "", r->presigned, e)) {
        sp_str_release(&c);
        return NULL;
    }
    sp_str_putc(&c, '\n');
    for (const char *p = r->signed_headers; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        sp_str_append(&c, p, n);
        sp_str_putc(&c, ':');
        if (!canonical_header_value(&c, r, p, n)) {
            sp_err_set(e, 403, "", "the signed header '%.*s' is not in the request", (int)n, p);
            sp_str_release(&c);
            return NULL;
        }
        sp_str_putc(&c, '\n');
        p = semi ? semi + 1 : p + n;
    }
    sp_str_appendf(&c, "\n%s\n%s", r->signed_headers, r->payload_hash);
    if (sp_str_failed(&c)) {
        sp_str_release(&c);
        sp_err_set(e, 400, "", "the request is too large to canonicalise");
        return NULL;
    }
    return sp_str_finish(&c, NULL);
}

/* ---- string to sign, signing key, signature --------------------------------------------- */

bool sp_sigv4_signature(const char *secret, const char *amz_date, const sp_sigv4_scope *scope,
                        const char *canonical_request, char out[SP_SIGV4_HEX_LEN + 1])
{
    char creq_hash[SP_SIGV4_HEX_LEN + 1];
    sp_sigv4_sha256_hex(canonical_request, strlen(canonical_request), creq_hash);
    sp_str sts;
    sp_str_init(&sts, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&sts, "%s\n%s\n%s/%s/%s/%s\n%s", SP_SIGV4_ALGORITHM, amz_date, scope->date,
                   scope->region, scope->service, SP_SIGV4_TERMINATOR, creq_hash);

    size_t slen = strlen(secret);
    char *k0 = malloc(slen + 5);
    if (!k0 || sp_str_failed(&sts)) {
        free(k0);
        sp_str_release(&sts);
        return false;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    unsigned char k1[EVP_MAX_MD_SIZE], k2[EVP_MAX_MD_SIZE], k3[EVP_MAX_MD_SIZE],
        k4[EVP_MAX_MD_SIZE], sig[EVP_MAX_MD_SIZE];
    unsigned n = hmac(k0, slen + 4, scope->date, k1);
    n = hmac(k1, n, scope->region, k2);
    n = hmac(k2, n, scope->service, k3);
    n = hmac(k3, n, SP_SIGV4_TERMINATOR, k4);
    n = hmac(k4, n, sts.buf, sig);
    OPENSSL_cleanse(k0, slen + 4);
    OPENSSL_cleanse(k4, sizeof k4);
    free(k0);
    sp_str_release(&sts);
    sp_sigv4_hex(sig, n, out);
    return true;
}

bool sp_sigv4_sign(const sp_sigv4_request *r, const char *secret, const char *amz_date,
                   const sp_sigv4_scope *scope, char out[SP_SIGV4_HEX_LEN + 1], sp_err *e)
{
    char *creq = sp_sigv4_canonical_request(r, e);
    if (!creq) return false;
    bool ok = sp_sigv4_signature(secret, amz_date, scope, creq, out);
    free(creq);
    if (!ok) sp_err_internal(e, "out of memory signing a request");
    return ok;
}

/* ---- the client's side ------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every header name of r, lower-cased, sorted, each once, ';'-separated (caller frees). */
static char *all_signed_headers(const sp_sigv4_request *r)
{
    char **names = calloc(r->n_headers ? r->n_headers : 1, sizeof *names);
    if (!names) return NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < r->n_headers; i++) {
        ok = (names[i] = strdup(r->headers[i].name)) != NULL;
        for (char *p = ok ? names[i] : ""; *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    sp_str list;
    sp_str_init(&list, NULL, 0, SP_SIGV4_CANONICAL_MAX);
    if (ok) qsort(names, r->n_headers, sizeof *names, name_cmp);
    for (size_t i = 0; ok && i < r->n_headers; i++)
        if (!i || strcmp(names[i - 1], names[i]))
            sp_str_appendf(&list, "%s%s", list.len ? ";" : "", names[i]);
    for (size_t i = 0; i < r->n_headers; i++) free(names[i]);
    free(names);
    if (!ok || sp_str_failed(&list)) {
        sp_str_release(&list);
        return NULL;
    }
    return sp_str_finish(&list, NULL);
}

char *sp_sigv4_authorization(const sp_sigv4_request *r, const char *access_key,
                             const char *secret, const char *amz_date,
                             const sp_sigv4_scope *scope, sp_err *e)
{
    sp_sigv4_request all = *r;
    char *owned = NULL;
    if (!all.signed_headers) {
        all.signed_headers = owned = all_signed_headers(r);
        if (!owned) {
            sp_err_internal(e, "out of memory listing the signed headers");
            return NULL;
        }
    }
    char sig[SP_SIGV4_HEX_LEN + 1];
    char *auth = NULL;
    if (sp_sigv4_sign(&all, secret, amz_date, scope, sig, e)) {
        sp_str a;
        sp_str_init(&a, NULL, 0, SP_STR_NO_MAX);
        sp_str_appendf(&a, "%s Credential=%s/%s/%s/%s/%s, SignedHeaders=%s, Signature=%s",
                       SP_SIGV4_ALGORITHM, access_key, scope->date, scope->region,
                       scope->service, SP_SIGV4_TERMINATOR, all.signed_headers, sig);
        auth = sp_str_finish(&a, NULL);
        if (!auth) sp_err_internal(e, "out of memory formatting the Authorization header");
    }
    free(owned);
    return auth;
}
