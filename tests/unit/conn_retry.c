/* The outbound client's retry decisions and signatures: which failures get another attempt,
 * how long the waits are (exponential, capped, full jitter), and SigV4 against the examples
 * of AWS's S3 documentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "core/sigv4.h"

static void transient_failures_are_retried_and_client_errors_are_not(void **state)
{
    (void)state;
    assert_true(conn_retry_retriable(true, 0, NULL));            /* connection refused */
    long again[] = {429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof again / sizeof *again; i++)
        assert_true(conn_retry_retriable(false, again[i], "Http"));
    assert_true(conn_retry_retriable(false, 400, "ThrottlingException"));
    assert_true(conn_retry_retriable(false, 400, "ProvisionedThroughputExceededException"));
    assert_true(conn_retry_retriable(false, 400, "RequestTimeout"));
    assert_true(conn_retry_retriable(false, 503, "SlowDown"));
    assert_false(conn_retry_retriable(false, 400, "ValidationException"));
    assert_false(conn_retry_retriable(false, 403, "SignatureDoesNotMatch"));
    assert_false(conn_retry_retriable(false, 404, "NoSuchBucket"));
    assert_false(conn_retry_retriable(false, 501, "NotImplemented"));
    assert_false(conn_retry_retriable(false, 400, NULL));
}

static void backoff_doubles_up_to_the_cap_with_full_jitter(void **state)
{
    (void)state;
    /* The largest value of the range: rnd = ceiling. */
    assert_int_equal(conn_retry_backoff_ms(1, 100, 20000, 100), 100);
    assert_int_equal(conn_retry_backoff_ms(2, 100, 20000, 200), 200);
    assert_int_equal(conn_retry_backoff_ms(3, 100, 20000, 400), 400);
    assert_int_equal(conn_retry_backoff_ms(8, 100, 20000, 12800), 12800);
    assert_int_equal(conn_retry_backoff_ms(9, 100, 20000, 20000), 20000);   /* capped */
    assert_int_equal(conn_retry_backoff_ms(60, 100, 20000, 20000), 20000);  /* no overflow */
    assert_int_equal(conn_retry_backoff_ms(3, 100, 20000, 0), 0);           /* full jitter */
    for (uint64_t r = 0; r < 100000; r += 997) {
        assert_true(conn_retry_backoff_ms(3, 100, 20000, r * 2654435761u) <= 400);
        assert_true(conn_retry_backoff_ms(1000, 100, 20000, r * 2654435761u) <= 20000);
        assert_true(conn_retry_backoff_ms(0, 100, 20000, r) <= 100);
    }
}

static const conn_aws_creds EXAMPLE = {
    .access_key_id = "AKIAIOSFODNN7EXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void check(const char *method, const char *path, const char *query,
                  const char *const *headers, size_t n, const char *payload, const char *want)
{
    conn_sigv4_input in = {.method = method, .path = path, .query = query, .headers = headers,
                           .n_headers = n, .payload_sha256 = payload,
                           .amz_date = "20130524T000000Z", .region = "us-east-1",
                           .service = "s3"};
    char *auth = conn_sigv4_authorization(&in, &EXAMPLE);
    if (!strstr(auth, want)) fail_msg("%s\nwanted %s", auth, want);
    free(auth);
}

/* docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Examples". */
static void signatures_match_the_s3_documentation_examples(void **state)
{
    (void)state;
    const char *get_object[] = {"Host: examplebucket.s3.amazonaws.com", "Range: bytes=0-9",
                                "x-amz-content-sha256: " EMPTY_SHA,
                                "x-amz-date: 20130524T000000Z"};
    check("GET", "/test.txt", NULL, get_object, 4, EMPTY_SHA,
          "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
          "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
          "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    const char *plain[] = {"Host: examplebucket.s3.amazonaws.com",
                           "x-amz-date: 20130524T000000Z", "x-amz-content-sha256: " EMPTY_SHA};
    /* A query parameter without a value ("?lifecycle") signs as "lifecycle=". */
    check("GET", "/", "lifecycle", plain, 3, EMPTY_SHA,
          "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    /* Parameters are sorted by name, whatever order the caller gives. */
    check("GET", "/", "prefix=J&max-keys=2", plain, 3, EMPTY_SHA,
          "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    const char *put[] = {"Host: examplebucket.s3.amazonaws.com",
                         "Date: Fri, 24 May 2013 00:00:00 GMT",
                         "x-amz-date: 20130524T000000Z", "x-amz-storage-class: REDUCED_REDUNDANCY",
                         "x-amz-content-sha256: "
                         "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"};
    char hash[65];
    conn_sha256_hex("Welcome to Amazon S3.", 21, hash);
    assert_string_equal(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    check("PUT", "/test%24file.text", NULL, put, 5, hash,
          "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* The signer canonicalises as the verifier does (core/sigv4.c is both): parameters sorted by
 * name, then value ("a" before "a-b", though "a=" sorts after "a-" as text), runs of spaces
 * in a header value folded, and a JSON service's path normalised. */
static void signing_follows_the_verifiers_canonical_rules(void **state)
{
    (void)state;
    const char *headers[] = {"Host: 127.0.0.1:4566", "x-amz-date: 20130524T000000Z",
                             "X-Amz-Meta-Note:  two   words "};
    conn_sigv4_input in = {.method = "GET", .path = "/a/./b", .query = "a-b=2&a=1",
                           .headers = headers, .n_headers = 3, .payload_sha256 = EMPTY_SHA,
                           .amz_date = "20130524T000000Z", .region = "us-east-1",
                           .service = "kinesis"};
    char *auth = conn_sigv4_authorization(&in, &EXAMPLE);
    const char *creq = "GET\n/a/b\na=1&a-b=2\nhost:127.0.0.1:4566\n"
                       "x-amz-date:20130524T000000Z\nx-amz-meta-note:two words\n\n"
                       "host;x-amz-date;x-amz-meta-note\n" EMPTY_SHA;
    sp_sigv4_scope scope = {.date = "20130524", .region = "us-east-1", .service = "kinesis"};
    char want[SP_SIGV4_HEX_LEN + 1];
    assert_true(sp_sigv4_signature(EXAMPLE.secret_access_key, "20130524T000000Z", &scope, creq,
                                   want));
    if (!strstr(auth, want)) fail_msg("%s\nwanted Signature=%s", auth, want);
    free(auth);
}

static void keys_are_encoded_once_with_slashes_kept(void **state)
{
    (void)state;
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    conn_uri_encode(&s, "2026/12/02/a b+c~d_e.f-$", true);
    assert_string_equal(s.buf, "2026/12/02/a%20b%2Bc~d_e.f-%24");
    sp_str_reset(&s);
    conn_uri_encode(&s, "id/with=slash", false);
    assert_string_equal(s.buf, "id%2Fwith%3Dslash");
    sp_str_release(&s);
}

static void xml_text_is_found_and_decoded(void **state)
{
    (void)state;
    const char *xml = "<Error><Code>NoSuchBucket</Code><Message>a &amp; b &lt;c&gt;</Message>"
                      "</Error>";
    char out[64];
    assert_true(conn_xml_text(xml, strlen(xml), "Code", out, sizeof out));
    assert_string_equal(out, "NoSuchBucket");
    assert_true(conn_xml_text(xml, strlen(xml), "Message", out, sizeof out));
    assert_string_equal(out, "a & b <c>");
    assert_false(conn_xml_text(xml, strlen(xml), "UploadId", out, sizeof out));
    assert_false(conn_xml_text(xml, strlen(xml), "Message", out, 4));   /* too long */
    assert_false(conn_xml_text("<Code>open", 10, "Code", out, sizeof out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transient_failures_are_retried_and_client_errors_are_not),
        cmocka_unit_test(backoff_doubles_up_to_the_cap_with_full_jitter),
        cmocka_unit_test(signatures_match_the_s3_documentation_examples),
        cmocka_unit_test(signing_follows_the_verifiers_canonical_rules),
        cmocka_unit_test(keys_are_encoded_once_with_slashes_kept),
        cmocka_unit_test(xml_text_is_found_and_decoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
