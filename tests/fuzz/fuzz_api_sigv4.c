/* Fuzz target for SigV4 verification (api/sigv4.c): the Authorization header parser, the
 * presigned-URL query parser and the canonical request over any request target and body.
 * The input is "<Authorization value>\n<request target>\n<body>". Whatever parses must hold
 * well-formed fields; and for any request, signing it with the configured secret under the
 * parsed scope and then verifying it must succeed (S3 and JSON rules alike), while the
 * fuzzed signature itself passes only if it equals that one. The header-phase rules hold
 * for that signed request too: an unsigned X-Amz-Target, an UNSIGNED-PAYLOAD claim on a
 * non-S3 request or an "s3" scope on one are refused, and whatever passes the header phase
 * without a body is what passes the whole verification with it. What our own client side
 * (core/sigv4.c, as conn and the generator sign) signs for the same request verifies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/api_int.h"

#define FUZZ_KEY "AKIDFUZZ"
#define FUZZ_SECRET "fuzz/secret+key"

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api_sigv4: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return s[n] == '\0';
}

static void check_parsed(const api_sigv4_auth *a, const char *input)
{
    if (!a->access_key[0] || !a->region[0] || !a->service[0]) fuzz_fail("empty scope part", input);
    if (strlen(a->date) != 8) fuzz_fail("bad scope date", input);
    if (!all_hex(a->signature, API_SIGV4_HEX_LEN)) fuzz_fail("bad signature", input);
    if (!strstr(a->signed_headers, "host")) fuzz_fail("host not signed", input);
}

/* Our client side (core/sigv4.c as conn and the generator call it) signs the same request
 * with every one of its headers: the verifier must accept that too. */
static void client_signature_verifies(const sp_cfg_credential *cred, const api_header *signed_h,
                                      size_t n, const char *target, const char *body,
                                      size_t body_len, const char *body_sha,
                                      const api_sigv4_auth *auth, const char *amz_date,
                                      api_proto proto, int64_t now)
{
    /* The derived list may gain x-amz-date; it must still fit what the verifier parses. */
    if (strlen(auth->signed_headers) + sizeof ";x-amz-date" > API_SIGV4_SIGNED_HEADERS_MAX) return;
    api_header h[80];
    if (n + 1 > SP_ARRAY_LEN(h)) return;
    memcpy(h, signed_h, n * sizeof *h);
    sp_sigv4_scope scope = {.date = auth->date, .region = auth->region, .service = auth->service};
    sp_sigv4_request r = {.method = "POST", .target = target, .headers = h, .n_headers = n,
                          .payload_hash = body_sha, .s3 = proto == API_PROTO_S3};
    sp_err e = {0};
    char *a = sp_sigv4_authorization(&r, FUZZ_KEY, FUZZ_SECRET, amz_date, &scope, &e);
    if (!a) return; /* more query parameters than anyone signs */
    h[n] = (api_header){"Authorization", a};
    api_sigv4_request req = {.method = "POST", .target = target, .headers = h,
                             .n_headers = n + 1, .body = body, .body_len = body_len};
    if (!api_sigv4_verify(cred, 1, &req, proto, now, &e))
        fuzz_fail("what our client signed was refused", e.msg);
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in) return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl1 = memchr(in, '\n', size);
    char *authz = in;
    char *target = nl1 ? nl1 + 1 : (char *)"/";
    if (nl1) *nl1 = '\0';
    char *nl2 = nl1 ? strchr(target, '\n') : NULL;
    const char *body = nl2 ? nl2 + 1 : "";
    size_t body_len = nl2 ? size - (size_t)(nl2 + 1 - in) : 0;
    if (nl2) *nl2 = '\0';

    api_sigv4_auth auth;
    sp_err e = {0};
    bool parsed = api_sigv4_parse(authz, &auth, &e);
    if (parsed) check_parsed(&auth, authz);
    else if (!e.msg[0]) fuzz_fail("refusal without a reason", authz);

    const char *q = strchr(target, '?');
    api_sigv4_auth qauth;
    sp_err_clear(&e);
    if (q && api_sigv4_parse_query(q + 1, &qauth, &e)) {
        check_parsed(&qauth, target);
        if (qauth.expires_s < 1 || qauth.expires_s > API_SIGV4_PRESIGN_MAX_EXPIRES_S)
            fuzz_fail("expiry out of range", target);
    }

    /* A request signed by the configured key under the parsed scope verifies. */
    if (parsed && strlen(auth.date) == 8) {
        sp_cfg_credential cred = {.access_key_id = FUZZ_KEY, .secret_access_key = FUZZ_SECRET};
        char amz_date[17];
        snprintf(amz_date, sizeof amz_date, "%.8sT120000Z", auth.date);
        struct tm tm = {0};
        tm.tm_year = atoi((char[5]){auth.date[0], auth.date[1], auth.date[2], auth.date[3], 0}) - 1900;
        tm.tm_mon = atoi((char[3]){auth.date[4], auth.date[5], 0}) - 1;
        tm.tm_mday = atoi((char[3]){auth.date[6], auth.date[7], 0});
        tm.tm_hour = 12;
        int64_t now = (int64_t)timegm(&tm);
        snprintf(auth.access_key, sizeof auth.access_key, "%s", FUZZ_KEY);
        memcpy(auth.amz_date, amz_date, sizeof amz_date);
        bool s3 = !strcmp(auth.service, "s3");
        /* Every signed header present, each with the same value. */
        enum { MAX_H = 64 };
        api_header headers[MAX_H + 3];
        size_t n = 0;
        char names[API_SIGV4_SIGNED_HEADERS_MAX + 1];
        memcpy(names, auth.signed_headers, sizeof names);
        bool has_date = false, has_target = false, has_sha = false;
        /* A signed x-amz-content-sha256 says what the body is, as clients send it. */
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char body_sha[API_SIGV4_HEX_LEN + 1];
        EVP_Digest(body, body_len, md, &md_len, EVP_sha256(), NULL);
        for (unsigned i = 0; i < md_len; i++) snprintf(body_sha + 2 * i, 3, "%02x", md[i]);
        for (char *tok = strtok(names, ";"); tok && n < MAX_H; tok = strtok(NULL, ";")) {
            bool is_date = !strcmp(tok, "x-amz-date");
            bool is_sha = !strcmp(tok, "x-amz-content-sha256");
            has_date |= is_date;
            has_target |= !strcmp(tok, "x-amz-target");
            has_sha |= is_sha;
            headers[n++] = (api_header){tok, is_date ? amz_date : is_sha ? body_sha : " v  a "};
        }
        if (n < MAX_H) {
            api_sigv4_request req = {.method = "POST", .target = target, .headers = headers,
                                     .n_headers = n, .body = body, .body_len = body_len};
            char sig[API_SIGV4_HEX_LEN + 1];
            sp_err_clear(&e);
            if (api_sigv4_sign(&req, &auth, s3, FUZZ_SECRET, sig, &e)) {
                char *h = NULL;
                if (asprintf(&h, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                             "SignedHeaders=%s, Signature=%s", FUZZ_KEY, auth.date, auth.region,
                             auth.service, auth.signed_headers, sig) < 0)
                    fuzz_fail("asprintf", NULL);
                if (!has_date) headers[n++] = (api_header){"X-Amz-Date", amz_date};
                api_proto proto = s3 ? API_PROTO_S3 : API_PROTO_JSON;
                client_signature_verifies(&cred, headers, n, target, body, body_len, body_sha,
                                          &auth, amz_date, proto, now);
                headers[n++] = (api_header){"Authorization", h};
                req.n_headers = n;
                sp_err_clear(&e);
                if (!api_sigv4_verify(&cred, 1, &req, proto, now, &e))
                    fuzz_fail("a correctly signed request was refused", e.msg);
                /* The header phase alone, without the body, passes it too. */
                api_sigv4_request head = req;
                head.body = NULL;
                head.body_len = 0;
                api_sigv4_auth parsed;
                sp_err_clear(&e);
                if (!api_sigv4_check_headers(&cred, 1, &head, proto, now, &parsed, &e))
                    fuzz_fail("header phase refused a correctly signed request", e.msg);
                if (!api_sigv4_check_signature(&cred, &req, &parsed, proto, &e))
                    fuzz_fail("signature phase refused a correctly signed request", e.msg);
                /* An s3 scope lends S3's payload rules to nothing else. */
                if (s3 && api_sigv4_verify(&cred, 1, &req, API_PROTO_JSON, now, &e))
                    fuzz_fail("an s3 scope passed on a JSON request", auth.signed_headers);
                /* An operation header outside the signature. */
                if (!has_target && n < MAX_H + 2) {
                    headers[n] = (api_header){"X-Amz-Target", "DynamoDB_20120810.PutItem"};
                    req.n_headers = n + 1;
                    if (api_sigv4_verify(&cred, 1, &req, proto, now, &e))
                        fuzz_fail("an unsigned X-Amz-Target passed", auth.signed_headers);
                    req.n_headers = n;
                }
                /* UNSIGNED-PAYLOAD is S3's alone. */
                if (!s3 && !has_sha && n < MAX_H + 2) {
                    headers[n] = (api_header){"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"};
                    req.n_headers = n + 1;
                    if (api_sigv4_verify(&cred, 1, &req, proto, now, &e))
                        fuzz_fail("UNSIGNED-PAYLOAD passed on a JSON request", auth.signed_headers);
                    req.n_headers = n;
                }
                free(h);
            }
        }
    }
    free(in);
    return 0;
}
