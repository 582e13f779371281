/* AWS Signature Version 4, the verifying side: parse the Authorization header (or an S3
 * presigned URL's X-Amz-* query), check what the headers alone decide (key, date, scope,
 * which headers are signed), pick the rules the client signed under (S3's path and payload
 * rules follow the "s3" service in its scope), and compare the signature the shared
 * computation (core/sigv4.c) gives with the configured secret, in constant time. */
#include "api_int.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- parsing the signature's description ------------------------------------------------ */

static bool copy_part(char *dst, size_t cap, const char *src, size_t len)
{
    if (len == 0 || len >= cap) return false;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

/* "AKID/20150830/us-east-1/service/aws4_request" into out. */
static bool parse_credential(const char *s, size_t len, api_sigv4_auth *out, sp_err *e)
{
    const char *end = s + len, *p = s;
    const char *parts[5];
    size_t lens[5];
    int n = 0;
    /* The key id cannot hold '/', so the last four slashes delimit the scope. */
    while (n < 5) {
        const char *slash = n < 4 ? memchr(p, '/', (size_t)(end - p)) : NULL;
        const char *stop = slash ? slash : end;
        if (n < 4 && !slash) break;
        parts[n] = p;
        lens[n] = (size_t)(stop - p);
        n++;
        p = stop + 1;
    }
    if (n != 5 || lens[4] != strlen(SP_SIGV4_TERMINATOR) ||
        memcmp(parts[4], SP_SIGV4_TERMINATOR, lens[4]) != 0) {
        sp_err_set(e, 400, "", "Credential should be scoped to a valid region and terminated "
                               "by 'aws4_request', as <key>/<YYYYMMDD>/<region>/<service>/aws4_request");
        return false;
    }
    if (!copy_part(out->access_key, sizeof out->access_key, parts[0], lens[0]) ||
        !copy_part(out->region, sizeof out->region, parts[2], lens[2]) ||
        !copy_part(out->service, sizeof out->service, parts[3], lens[3])) {
        sp_err_set(e, 400, "", "Credential has an empty or overlong key id, region or service");
        return false;
    }
    bool date_ok = lens[1] == 8;
    for (size_t i = 0; date_ok && i < 8; i++) date_ok = isdigit((unsigned char)parts[1][i]);
    if (date_ok) {
        int month = (parts[1][4] - '0') * 10 + parts[1][5] - '0';
        int day = (parts[1][6] - '0') * 10 + parts[1][7] - '0';
        date_ok = month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }
    if (!date_ok) {
        sp_err_set(e, 400, "", "Credential date must be YYYYMMDD");
        return false;
    }
    memcpy(out->date, parts[1], 8);
    out->date[8] = '\0';
    return true;
}

/* "host;x-amz-date": lower-case names, sorted, no repeats, host among them. */
static bool parse_signed_headers(const char *s, size_t len, api_sigv4_auth *out, sp_err *e)
{
    if (!copy_part(out->signed_headers, sizeof out->signed_headers, s, len)) {
        sp_err_set(e, 400, "", "SignedHeaders is empty or longer than %d characters",
                   API_SIGV4_SIGNED_HEADERS_MAX);
        return false;
    }
    bool has_host = false;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (const char *p = out->signed_headers; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        bool ok = n > 0;
        /* HTTP header names are tokens (RFC 9110 tchar), here in lower case. */
        for (size_t i = 0; ok && i < n; i++)
            ok = islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) ||
                 (p[i] && strchr("!#$%&'*+-.^_`|~", p[i]));
        if (ok && prev) {
            size_t m = prev_len < n ? prev_len : n;
            int c = memcmp(prev, p, m);
            ok = c < 0 || (c == 0 && prev_len < n);
        }
        if (!ok) {
            sp_err_set(e, 400, "", "SignedHeaders must be lower-case header names, sorted and "
                                   "separated by ';'");
            return false;
        }
        if (n == 4 && !memcmp(p, "host", 4)) has_host = true;
        prev = p;
        prev_len = n;
        p = semi ? semi + 1 : p + n;
        if (semi && !*p) {
            sp_err_set(e, 400, "", "SignedHeaders ends with ';'");
            return false;
        }
    }
    if (!has_host) {
        sp_err_set(e, 400, "", "SignedHeaders must include host");
        return false;
    }
    return true;
}

static bool parse_signature(const char *s, size_t len, api_sigv4_auth *out, sp_err *e)
{
    bool ok = len == API_SIGV4_HEX_LEN;
    for (size_t i = 0; ok && i < len; i++) ok = isxdigit((unsigned char)s[i]) && !isupper((unsigned char)s[i]);
    if (!ok) {
        sp_err_set(e, 400, "", "Signature must be %d lower-case hex digits", API_SIGV4_HEX_LEN);
        return false;
    }
    memcpy(out->signature, s, len);
    out->signature[len] = '\0';
    return true;
}

bool api_sigv4_parse(const char *authorization, api_sigv4_auth *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    size_t alen = strlen(SP_SIGV4_ALGORITHM);
    if (strncmp(authorization, SP_SIGV4_ALGORITHM, alen) != 0 || authorization[alen] != ' ') {
        sp_err_set(e, 400, "", "Authorization header must start with '%s ' (only Signature "
                               "Version 4 is accepted)", SP_SIGV4_ALGORITHM);
        return false;
    }
    bool seen[3] = {false, false, false};
    static const char *const names[3] = {"Credential=", "SignedHeaders=", "Signature="};
    for (const char *p = authorization + alen; *p;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && p[n - 1] == ' ') n--;
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (!strncmp(p, names[i], strlen(names[i]))) which = i;
        if (which < 0 || seen[which]) {
            sp_err_set(e, 400, "", "Authorization header has an unexpected or repeated part '%.40s'", p);
            return false;
        }
        seen[which] = true;
        const char *v = p + strlen(names[which]);
        size_t vlen = n - strlen(names[which]);
        bool ok = which == 0 ? parse_credential(v, vlen, out, e)
                : which == 1 ? parse_signed_headers(v, vlen, out, e)
                             : parse_signature(v, vlen, out, e);
        if (!ok) return false;
        p = comma ? comma : p + strlen(p);
    }
    for (int i = 0; i < 3; i++) {
        if (!seen[i]) {
            sp_err_set(e, 400, "", "Authorization header requires a '%.*s' part",
                       (int)strlen(names[i]) - 1, names[i]);
            return false;
        }
    }
    return true;
}

/* Value of a raw query parameter (still encoded) into out, decoded; false if absent. */
static bool query_value(const char *query, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen >= cap) return false;
            size_t n = sp_sigv4_uri_decode(p + nlen + 1, vlen, out);
            out[n] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

bool api_sigv4_parse_query(const char *query, api_sigv4_auth *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    char alg[32], cred[API_SIGV4_KEY_MAX + 128], sh[API_SIGV4_SIGNED_HEADERS_MAX + 1],
         sig[API_SIGV4_HEX_LEN + 2], date[20], expires[16];
    if (!query_value(query, "X-Amz-Algorithm", alg, sizeof alg) || strcmp(alg, SP_SIGV4_ALGORITHM)) {
        sp_err_set(e, 400, "", "X-Amz-Algorithm must be %s", SP_SIGV4_ALGORITHM);
        return false;
    }
    if (!query_value(query, "X-Amz-Credential", cred, sizeof cred) ||
        !query_value(query, "X-Amz-SignedHeaders", sh, sizeof sh) ||
        !query_value(query, "X-Amz-Signature", sig, sizeof sig) ||
        !query_value(query, "X-Amz-Date", date, sizeof date) ||
        !query_value(query, "X-Amz-Expires", expires, sizeof expires)) {
        sp_err_set(e, 400, "", "a presigned URL needs X-Amz-Credential, X-Amz-SignedHeaders, "
                               "X-Amz-Signature, X-Amz-Date and X-Amz-Expires");
        return false;
    }
    if (!parse_credential(cred, strlen(cred), out, e) ||
        !parse_signed_headers(sh, strlen(sh), out, e) || !parse_signature(sig, strlen(sig), out, e))
        return false;
    char *end;
    long long x = strtoll(expires, &end, 10);
    if (!*expires || *end || x < 1 || x > API_SIGV4_PRESIGN_MAX_EXPIRES_S) {
        sp_err_set(e, 400, "", "X-Amz-Expires must be between 1 and %d seconds",
                   API_SIGV4_PRESIGN_MAX_EXPIRES_S);
        return false;
    }
    out->expires_s = x;
    if (strlen(date) >= sizeof out->amz_date) {
        sp_err_set(e, 400, "", "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
        return false;
    }
    memcpy(out->amz_date, date, strlen(date) + 1);
    out->presigned = true;
    return true;
}

/* ---- the canonical request -------------------------------------------------------------- */

static const char *header_value(const api_sigv4_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (!strcasecmp(req->headers[i].name, name)) return req->headers[i].value;
    return NULL;
}

/* The payload hash the client signed into out; false with e->msg when it cannot be right. */
static bool payload_hash(const api_sigv4_request *req, const api_sigv4_auth *auth, bool s3,
                         char out[API_SIGV4_HEX_LEN + 1], sp_err *e)
{
    char actual[API_SIGV4_HEX_LEN + 1];
    if (!s3) {
        sp_sigv4_sha256_hex(req->body ? req->body : "", req->body_len, out);
        return true;
    }
    if (auth->presigned) {
        snprintf(out, API_SIGV4_HEX_LEN + 1, "%s", SP_SIGV4_UNSIGNED_PAYLOAD);
        return true;
    }
    const char *claimed = header_value(req, "x-amz-content-sha256");
    sp_sigv4_sha256_hex(req->body ? req->body : "", req->body_len, actual);
    if (!claimed) {
        memcpy(out, actual, sizeof actual);
        return true;
    }
    if (!strcmp(claimed, SP_SIGV4_UNSIGNED_PAYLOAD)) {
        snprintf(out, API_SIGV4_HEX_LEN + 1, "%s", SP_SIGV4_UNSIGNED_PAYLOAD);
        return true;
    }
    if (!strncmp(claimed, SP_SIGV4_STREAMING_PREFIX, strlen(SP_SIGV4_STREAMING_PREFIX))) {
        sp_err_set(e, 501, "NotImplemented", "x-amz-content-sha256 '%.60s' (aws-chunked "
                   "streaming uploads) is not supported; send the payload's SHA-256", claimed);
        return false;
    }
    if (strcasecmp(claimed, actual) != 0) {
        sp_err_set(e, 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                   "header does not match what was computed.");
        return false;
    }
    memcpy(out, claimed, API_SIGV4_HEX_LEN + 1);
    return true;
}

/* req as the shared computation sees it, signed under auth with the payload hash hash. */
static sp_sigv4_request shared_request(const api_sigv4_request *req, const api_sigv4_auth *auth,
                                       bool s3, const char *hash)
{
    return (sp_sigv4_request){.method = req->method, .target = req->target,
                              .headers = req->headers, .n_headers = req->n_headers,
                              .signed_headers = auth->signed_headers, .payload_hash = hash,
                              .s3 = s3, .presigned = auth->presigned};
}

char *api_sigv4_canonical_request(const api_sigv4_request *req, const api_sigv4_auth *auth,
                                  bool s3, sp_err *e)
{
    char hash[API_SIGV4_HEX_LEN + 1];
    if (!payload_hash(req, auth, s3, hash, e)) return NULL;
    sp_sigv4_request r = shared_request(req, auth, s3, hash);
    return sp_sigv4_canonical_request(&r, e);
}

bool api_sigv4_sign(const api_sigv4_request *req, const api_sigv4_auth *auth, bool s3,
                    const char *secret, char out[API_SIGV4_HEX_LEN + 1], sp_err *e)
{
    char hash[API_SIGV4_HEX_LEN + 1];
    if (!payload_hash(req, auth, s3, hash, e)) return false;
    sp_sigv4_request r = shared_request(req, auth, s3, hash);
    sp_sigv4_scope scope = {.date = auth->date, .region = auth->region, .service = auth->service};
    return sp_sigv4_sign(&r, secret, auth->amz_date, &scope, out, e);
}

/* ---- verification ----------------------------------------------------------------------- */

typedef enum auth_fail {
    AUTH_MISSING,
    AUTH_MALFORMED,
    AUTH_UNKNOWN_KEY,
    AUTH_BAD_SIGNATURE,
    AUTH_EXPIRED,
    AUTH_PRESIGN_EXPIRED,
} auth_fail;

/* The exception each refusal raises, per protocol (JSON services share one set of names). */
static const struct {
    int status;
    const char *json;
    const char *s3;
} auth_errors[] = {
    [AUTH_MISSING] = {403, "MissingAuthenticationTokenException", "AccessDenied"},
    [AUTH_MALFORMED] = {400, "IncompleteSignatureException", "AuthorizationHeaderMalformed"},
    [AUTH_UNKNOWN_KEY] = {403, "UnrecognizedClientException", "InvalidAccessKeyId"},
    [AUTH_BAD_SIGNATURE] = {403, "InvalidSignatureException", "SignatureDoesNotMatch"},
    [AUTH_EXPIRED] = {403, "InvalidSignatureException", "RequestTimeTooSkewed"},
    [AUTH_PRESIGN_EXPIRED] = {403, "InvalidSignatureException", "AccessDenied"},
};

static void auth_error(sp_err *e, api_proto proto, auth_fail kind, const char *fmt, ...)
    SP_PRINTF(4, 5);
static void auth_error(sp_err *e, api_proto proto, auth_fail kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, auth_errors[kind].status,
                proto == API_PROTO_S3 ? auth_errors[kind].s3 : auth_errors[kind].json, fmt, ap);
    va_end(ap);
}

/* "YYYYMMDDTHHMMSSZ" to Unix seconds; false if malformed. */
static bool parse_amz_date(const char *s, int64_t *out)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)s[i])) return false;
    struct tm tm = {0};
    char buf[5];
    memcpy(buf, s, 4), buf[4] = '\0';
    tm.tm_year = atoi(buf) - 1900;
    memcpy(buf, s + 4, 2), buf[2] = '\0';
    tm.tm_mon = atoi(buf) - 1;
    memcpy(buf, s + 6, 2);
    tm.tm_mday = atoi(buf);
    memcpy(buf, s + 9, 2);
    tm.tm_hour = atoi(buf);
    memcpy(buf, s + 11, 2);
    tm.tm_min = atoi(buf);
    memcpy(buf, s + 13, 2);
    tm.tm_sec = atoi(buf);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* Whether the ';'-separated list holds name. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (len == n && !memcmp(p, name, n)) return true;
        p = semi ? semi + 1 : p + len;
    }
    return false;
}

const sp_cfg_credential *api_sigv4_check_headers(const sp_cfg_credential *creds, size_t n_creds,
                                                 const api_sigv4_request *req, api_proto proto,
                                                 int64_t now_s, api_sigv4_auth *out, sp_err *e)
{
    api_sigv4_auth auth;
    sp_err why = {0};
    const char *authz = header_value(req, "Authorization");
    const char *q = req->target ? strchr(req->target, '?') : NULL;
    bool presigned = !authz && proto == API_PROTO_S3 && q && strstr(q, "X-Amz-Signature=");
    if (!authz && !presigned) {
        if (proto == API_PROTO_S3)
            auth_error(e, proto, AUTH_MISSING, "Access Denied: the request is not signed and "
                       "this endpoint requires AWS Signature Version 4");
        else
            auth_error(e, proto, AUTH_MISSING, "Missing Authentication Token: this endpoint "
                       "requires AWS Signature Version 4");
        return NULL;
    }
    if (presigned ? !api_sigv4_parse_query(q + 1, &auth, &why) : !api_sigv4_parse(authz, &auth, &why)) {
        auth_error(e, proto, AUTH_MALFORMED, "%s", why.msg);
        return NULL;
    }
    const sp_cfg_credential *c = NULL;
    for (size_t i = 0; i < n_creds && !c; i++)
        if (!strcmp(creds[i].access_key_id, auth.access_key)) c = &creds[i];
    if (!c) {
        if (proto == API_PROTO_S3)
            auth_error(e, proto, AUTH_UNKNOWN_KEY, "The AWS Access Key Id you provided does "
                       "not exist in our records.");
        else
            auth_error(e, proto, AUTH_UNKNOWN_KEY, "The security token included in the request "
                       "is invalid.");
        return NULL;
    }
    if (!presigned) {
        const char *d = header_value(req, "X-Amz-Date");
        if (!d) {
            auth_error(e, proto, AUTH_MALFORMED, "Authorization header requires existence of "
                       "the 'X-Amz-Date' header");
            return NULL;
        }
        if (strlen(d) < sizeof auth.amz_date) memcpy(auth.amz_date, d, strlen(d) + 1);
    }
    int64_t when;
    if (!parse_amz_date(auth.amz_date, &when)) {
        auth_error(e, proto, AUTH_MALFORMED, "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
        return NULL;
    }
    if (strncmp(auth.amz_date, auth.date, 8) != 0) {
        auth_error(e, proto, AUTH_BAD_SIGNATURE, "Date in Credential scope (%s) does not match "
                   "YYYYMMDD from X-Amz-Date (%.8s)", auth.date, auth.amz_date);
        return NULL;
    }
    if (presigned) {
        if (now_s > when + auth.expires_s) {
            auth_error(e, proto, AUTH_PRESIGN_EXPIRED, "Request has expired: the URL signed at "
                       "%s was valid for %lld seconds", auth.amz_date, auth.expires_s);
            return NULL;
        }
    } else if (when < now_s - API_SIGV4_MAX_SKEW_S || when > now_s + API_SIGV4_MAX_SKEW_S) {
        auth_error(e, proto, AUTH_EXPIRED, "Signature expired: %s is more than %d minutes away "
                   "from the server's time", auth.amz_date, API_SIGV4_MAX_SKEW_S / 60);
        return NULL;
    }
    /* S3's signing rules let the payload go unsigned; a request S3 does not serve may not
     * borrow them by naming s3 in its scope. */
    if (!strcmp(auth.service, "s3") && proto != API_PROTO_S3) {
        auth_error(e, proto, AUTH_BAD_SIGNATURE, "Credential should be scoped to the service "
                   "this request is for, not 's3'");
        return NULL;
    }
    /* The header that picks the operation is part of what was signed. */
    if (header_value(req, "X-Amz-Target") && !list_has(auth.signed_headers, "x-amz-target")) {
        auth_error(e, proto, AUTH_MALFORMED, "SignedHeaders must include x-amz-target when the "
                   "request carries an X-Amz-Target header");
        return NULL;
    }
    for (const char *p = auth.signed_headers; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < req->n_headers && !found; i++)
            found = req->headers[i].name && strlen(req->headers[i].name) == n &&
                    !strncasecmp(req->headers[i].name, p, n);
        if (!found) {
            auth_error(e, proto, AUTH_BAD_SIGNATURE, "The signed header '%.*s' is not in the "
                       "request", (int)(n > 64 ? 64 : n), p);
            return NULL;
        }
        p = semi ? semi + 1 : p + n;
    }
    const char *claimed = header_value(req, "x-amz-content-sha256");
    if (claimed && proto != API_PROTO_S3) {
        /* Only S3 takes UNSIGNED-PAYLOAD or streaming: everywhere else the body's own hash is
         * what the signature covers, and the header, if sent, has to be that hash. */
        bool hex = strlen(claimed) == API_SIGV4_HEX_LEN;
        for (size_t i = 0; hex && i < API_SIGV4_HEX_LEN; i++) hex = isxdigit((unsigned char)claimed[i]);
        if (!hex) {
            auth_error(e, proto, AUTH_BAD_SIGNATURE, "x-amz-content-sha256 '%.40s' is accepted "
                       "only by S3: this request's payload must be signed by its SHA-256",
                       claimed);
            return NULL;
        }
    } else if (claimed && !strncmp(claimed, SP_SIGV4_STREAMING_PREFIX, strlen(SP_SIGV4_STREAMING_PREFIX))) {
        sp_err_set(e, 501, "NotImplemented", "x-amz-content-sha256 '%.60s' (aws-chunked "
                   "streaming uploads) is not supported; send the payload's SHA-256", claimed);
        return NULL;
    }
    *out = auth;
    return c;
}

bool api_sigv4_check_signature(const sp_cfg_credential *c, const api_sigv4_request *req,
                               const api_sigv4_auth *auth, api_proto proto, sp_err *e)
{
    sp_err why = {0};
    char expected[API_SIGV4_HEX_LEN + 1];
    /* Path rules follow the scope (S3 signs the path unnormalised); the payload rules follow
     * the request (check_headers has refused an s3 scope on anything but S3). */
    bool s3 = !strcmp(auth->service, "s3") && proto == API_PROTO_S3;
    if (!api_sigv4_sign(req, auth, s3, c->secret_access_key, expected, &why)) {
        if (why.code[0]) *e = why; /* payload hash mismatch, unsupported streaming */
        else auth_error(e, proto, AUTH_BAD_SIGNATURE, "%s", why.msg);
        return false;
    }
    if (CRYPTO_memcmp(expected, auth->signature, API_SIGV4_HEX_LEN) != 0) {
        auth_error(e, proto, AUTH_BAD_SIGNATURE, "The request signature we calculated does not "
                   "match the signature you provided. Check your AWS Secret Access Key and "
                   "signing method.");
        return false;
    }
    return true;
}

const sp_cfg_credential *api_sigv4_verify(const sp_cfg_credential *creds, size_t n_creds,
                                          const api_sigv4_request *req, api_proto proto,
                                          int64_t now_s, sp_err *e)
{
    api_sigv4_auth auth;
    const sp_cfg_credential *c = api_sigv4_check_headers(creds, n_creds, req, proto, now_s,
                                                         &auth, e);
    return c && api_sigv4_check_signature(c, req, &auth, proto, e) ? c : NULL;
}
