/* Unit tests for the SigV4 computation both ends share (core/sigv4.c): the primitives
 * (hex, SHA-256, AWS's URI encoding and lenient decoding), the client's Authorization header
 * against AWS's worked example (IAM ListUsers from "Create a signed AWS API request"), the
 * signed-header list a client derives from its headers, the canonical rules (query sorted by
 * name then value, header values trimmed and folded, repeated headers joined) and the
 * refusals (too many query parameters, a signed header the request lacks). The verifier's
 * side is tested against AWS's full test suite in tests/unit/api_sigv4.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sigv4.h"

#define EXAMPLE_KEY "AKIDEXAMPLE"
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_DATE "20150830T123600Z"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void primitives_follow_aws_rules(void **state)
{
    (void)state;
    char hex[SP_SIGV4_HEX_LEN + 1];
    sp_sigv4_sha256_hex("", 0, hex);
    assert_string_equal(hex, EMPTY_SHA256);
    char small[7];
    sp_sigv4_hex((const unsigned char *)"\x00\xab\xff", 3, small);
    assert_string_equal(small, "00abff");

    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    const char *raw = "a b/c~d_e.f-$+\xe1";
    sp_sigv4_uri_encode(&s, raw, strlen(raw), true);
    assert_string_equal(s.buf, "a%20b/c~d_e.f-%24%2B%E1");
    sp_str_reset(&s);
    sp_sigv4_uri_encode(&s, raw, strlen(raw), false);
    assert_string_equal(s.buf, "a%20b%2Fc~d_e.f-%24%2B%E1");
    sp_str_release(&s);

    /* Malformed escapes stay as they are, as AWS decodes; '+' is not a space. */
    const char *enc = "%41%2f%zz+%4";
    char dec[16];
    size_t n = sp_sigv4_uri_decode(enc, strlen(enc), dec);
    assert_int_equal(n, 8);
    assert_memory_equal(dec, "A/%zz+%4", 8);

    char date[SP_SIGV4_AMZ_DATE_LEN + 1];
    sp_sigv4_amz_date(1440938160, date);
    assert_string_equal(date, EXAMPLE_DATE);
}

static const sp_sigv4_scope IAM_SCOPE = {.date = "20150830", .region = "us-east-1",
                                          .service = "iam"};

/* AWS's worked example: GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08,
 * headers given in any order and case; every one is signed. */
static void client_authorization_matches_the_aws_example(void **state)
{
    (void)state;
    const sp_sigv4_header h[] = {
        {"X-Amz-Date", EXAMPLE_DATE},
        {"Host", "iam.amazonaws.com"},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
    };
    sp_sigv4_request r = {.method = "GET", .target = "/?Version=2010-05-08&Action=ListUsers",
                          .headers = h, .n_headers = 3, .payload_hash = EMPTY_SHA256};
    sp_err e = {0};
    char *auth = sp_sigv4_authorization(&r, EXAMPLE_KEY, EXAMPLE_SECRET, EXAMPLE_DATE,
                                        &IAM_SCOPE, &e);
    assert_non_null(auth);
    assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
                              "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                              "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    free(auth);

    /* The canonical request the example documents, hash included. */
    r.signed_headers = "content-type;host;x-amz-date";
    char *creq = sp_sigv4_canonical_request(&r, &e);
    assert_string_equal(creq, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                              "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                              "host:iam.amazonaws.com\nx-amz-date:" EXAMPLE_DATE "\n\n"
                              "content-type;host;x-amz-date\n" EMPTY_SHA256);
    char hash[SP_SIGV4_HEX_LEN + 1];
    sp_sigv4_sha256_hex(creq, strlen(creq), hash);
    assert_string_equal(hash, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    free(creq);
}

/* A client signs each header name once, lower-cased and sorted, and the canonical form joins
 * a repeated header's values, trims them and folds runs of spaces. The query is sorted by
 * name, then value, after decoding and re-encoding each part: "a" before "a-b" although
 * "a=" sorts after "a-" as text. */
static void canonical_rules_for_queries_and_headers(void **state)
{
    (void)state;
    const sp_sigv4_header h[] = {
        {"X-Amz-Meta-B", "  two   words \t"}, {"host", "example.com"},
        {"X-AMZ-META-B", "second"}, {"X-Amz-Date", EXAMPLE_DATE},
    };
    sp_sigv4_request r = {.method = "GET", .target = "/p/./q//r/../s?a-b=2&a=1&b=%7e&b=%2F&c",
                          .headers = h, .n_headers = 4, .payload_hash = EMPTY_SHA256};
    sp_err e = {0};
    char *auth = sp_sigv4_authorization(&r, EXAMPLE_KEY, EXAMPLE_SECRET, EXAMPLE_DATE,
                                        &IAM_SCOPE, &e);
    assert_non_null(strstr(auth, "SignedHeaders=host;x-amz-date;x-amz-meta-b, "));
    r.signed_headers = "host;x-amz-date;x-amz-meta-b";
    char *creq = sp_sigv4_canonical_request(&r, &e);
    assert_string_equal(creq, "GET\n/p/q/s\na=1&a-b=2&b=%2F&b=~&c=\nhost:example.com\n"
                              "x-amz-date:" EXAMPLE_DATE "\nx-amz-meta-b:two words,second\n\n"
                              "host;x-amz-date;x-amz-meta-b\n" EMPTY_SHA256);
    char sig[SP_SIGV4_HEX_LEN + 1];
    assert_true(sp_sigv4_signature(EXAMPLE_SECRET, EXAMPLE_DATE, &IAM_SCOPE, creq, sig));
    assert_non_null(strstr(auth, sig));
    free(creq);
    free(auth);

    /* S3's rules: the path encoded once, dot segments kept. */
    r.s3 = true;
    r.target = "/p/./a%20b/../$";
    creq = sp_sigv4_canonical_request(&r, &e);
    assert_non_null(creq);
    const char *head = "GET\n/p/./a%20b/../%24\n\n";
    assert_int_equal(strncmp(creq, head, strlen(head)), 0);
    free(creq);
}

static void requests_that_cannot_be_canonicalised_are_refused(void **state)
{
    (void)state;
    const sp_sigv4_header h[] = {{"Host", "example.com"}};
    sp_sigv4_request r = {.method = "GET", .target = "/", .headers = h, .n_headers = 1,
                          .signed_headers = "host;x-amz-date", .payload_hash = EMPTY_SHA256};
    sp_err e = {0};
    char sig[SP_SIGV4_HEX_LEN + 1];
    assert_false(sp_sigv4_sign(&r, EXAMPLE_SECRET, EXAMPLE_DATE, &IAM_SCOPE, sig, &e));
    assert_int_equal(e.status, 403);
    assert_non_null(strstr(e.msg, "'x-amz-date' is not in the request"));

    sp_str q;
    sp_str_init(&q, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&q, "/?");
    for (int i = 0; i < SP_SIGV4_QUERY_PARAMS_MAX; i++) sp_str_appendf(&q, "%sk%d=v", i ? "&" : "", i);
    r.target = q.buf;
    r.signed_headers = "host";
    assert_true(sp_sigv4_sign(&r, EXAMPLE_SECRET, EXAMPLE_DATE, &IAM_SCOPE, sig, &e));
    sp_str_puts(&q, "&one=more");
    r.target = q.buf;
    sp_err_clear(&e);
    assert_null(sp_sigv4_authorization(&r, EXAMPLE_KEY, EXAMPLE_SECRET, EXAMPLE_DATE,
                                       &IAM_SCOPE, &e));
    assert_int_equal(e.status, 400);
    assert_non_null(strstr(e.msg, "more than 1000 parameters"));
    sp_str_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(primitives_follow_aws_rules),
        cmocka_unit_test(client_authorization_matches_the_aws_example),
        cmocka_unit_test(canonical_rules_for_queries_and_headers),
        cmocka_unit_test(requests_that_cannot_be_canonicalised_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
