/* Unit tests for the aws-chunked decoder (lake/lake_chunked.c): unsigned and signed framing,
 * trailers and the trailer signature, the per-chunk callback (the SigV4 chain's boundary),
 * and the refusals of a strict parser: bad sizes, sizes past the input, bad extensions, mixed
 * signing, missing CRLFs, bytes after the end, too many or malformed trailers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake.h"

#define SIG64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static bool decodes(const char *in, lake_chunked *out, sp_err *e)
{
    return lake_chunked_decode(in, strlen(in), NULL, NULL, out, e);
}

static void refused(const char *in, const char *code)
{
    lake_chunked out;
    sp_err e = {0};
    if (decodes(in, &out, &e)) fail_msg("accepted: %s", in);
    assert_string_equal(e.code, code);
    assert_null(out.data);
}

static void unsigned_chunks_with_a_trailer(void **state)
{
    (void)state;
    lake_chunked out;
    sp_err e = {0};
    assert_true(decodes("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
                        &out, &e));
    assert_int_equal(out.len, 11);
    assert_memory_equal(out.data, "hello world", 11);
    assert_int_equal(out.n_trailers, 1);
    assert_string_equal(out.trailers[0].name, "x-amz-checksum-crc32");
    assert_string_equal(out.trailers[0].value, "DUoRhQ==");
    assert_false(out.signed_chunks);
    free(out.data);
}

static void empty_body_and_upper_case_hex(void **state)
{
    (void)state;
    lake_chunked out;
    sp_err e = {0};
    assert_true(decodes("0\r\n\r\n", &out, &e));
    assert_int_equal(out.len, 0);
    free(out.data);
    char big[64 + 8];
    memset(big, 'x', 26);
    memcpy(big, "1A\r\n", 4);
    memcpy(big + 4 + 26, "\r\n0\r\n\r\n", 8);
    assert_true(lake_chunked_decode(big, 4 + 26 + 7, NULL, NULL, &out, &e));
    assert_int_equal(out.len, 26);
    free(out.data);
}

typedef struct seen {
    int calls;
    size_t bytes;
    char last_sig[65];
    int refuse_at;
} seen;

static bool on_chunk(void *arg, const char *sig, const void *data, size_t len, sp_err *e)
{
    (void)data;
    seen *s = arg;
    s->calls++;
    s->bytes += len;
    snprintf(s->last_sig, sizeof s->last_sig, "%s", sig ? sig : "");
    if (s->calls == s->refuse_at) {
        sp_err_set(e, 403, "SignatureDoesNotMatch", "chunk %d", s->calls);
        return false;
    }
    return true;
}

static void signed_chunks_reach_the_callback_in_order(void **state)
{
    (void)state;
    const char *in = "3;chunk-signature=" SIG64 "\r\nabc\r\n0;chunk-signature=" SIG64 "\r\n"
                     "x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" SIG64 "\r\n\r\n";
    lake_chunked out;
    sp_err e = {0};
    seen s = {0};
    assert_true(lake_chunked_decode(in, strlen(in), on_chunk, &s, &out, &e));
    assert_int_equal(s.calls, 2); /* the final empty chunk is signed too */
    assert_int_equal(s.bytes, 3);
    assert_string_equal(s.last_sig, SIG64);
    assert_true(out.signed_chunks);
    assert_string_equal(out.trailer_signature, SIG64);
    assert_int_equal(out.n_trailers, 1);
    /* the signed trailer text is the checksum line only */
    assert_int_equal(out.trailer_len, strlen("x-amz-checksum-crc32:AAAAAA==\r\n"));
    assert_memory_equal(out.trailer_text, "x-amz-checksum-crc32:AAAAAA==\r\n", out.trailer_len);
    free(out.data);

    seen stop = {.refuse_at = 1};
    assert_false(lake_chunked_decode(in, strlen(in), on_chunk, &stop, &out, &e));
    assert_string_equal(e.code, "SignatureDoesNotMatch");
    assert_null(out.data);
}

static void malformed_framing_is_refused(void **state)
{
    (void)state;
    refused("", "InvalidRequest");
    refused("zz\r\nabc\r\n0\r\n\r\n", "InvalidRequest");
    refused("5\r\nabc\r\n0\r\n\r\n", "InvalidRequest");                 /* size past the data */
    refused("ffffffffffffffff\r\nabc\r\n0\r\n\r\n", "InvalidRequest");  /* huge size */
    refused("10000000000000000\r\nabc\r\n", "InvalidRequest");          /* 17 digits */
    refused("3\r\nabc0\r\n\r\n", "InvalidRequest");                     /* no CRLF after data */
    refused("3\nabc\r\n0\r\n\r\n", "InvalidRequest");
    refused("3;foo=bar\r\nabc\r\n0\r\n\r\n", "InvalidRequest");
    refused("3;chunk-signature=abc\r\nabc\r\n0\r\n\r\n", "InvalidRequest");
    refused("3;chunk-signature=" SIG64 "\r\nabc\r\n0\r\n\r\n", "InvalidRequest"); /* mixed */
    refused("3\r\nabc\r\n0\r\n", "InvalidRequest");                     /* no final CRLF */
    refused("3\r\nabc\r\n0\r\n\r\nextra", "InvalidRequest");
    refused("0\r\nno-colon\r\n\r\n", "InvalidRequest");
    refused("0\r\n:value\r\n\r\n", "InvalidRequest");
    refused("0\r\nbad name:v\r\n\r\n", "InvalidRequest");
    refused("0\r\na:1\r\na:2\r\n\r\n", "InvalidRequest");
    refused("0\r\na:1\r\nb:1\r\nc:1\r\nd:1\r\ne:1\r\n\r\n", "InvalidRequest");
    refused("0\r\nx-amz-trailer-signature:short\r\n\r\n", "InvalidRequest");
    refused("0\r\nx-amz-trailer-signature:" SIG64 "\r\na:1\r\n\r\n", "InvalidRequest");
    refused("0\r\na:\x01\r\n\r\n", "InvalidRequest");
    char long_value[400];
    snprintf(long_value, sizeof long_value, "0\r\na:%0300d\r\n\r\n", 0);
    refused(long_value, "InvalidRequest");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsigned_chunks_with_a_trailer),
        cmocka_unit_test(empty_body_and_upper_case_hex),
        cmocka_unit_test(signed_chunks_reach_the_callback_in_order),
        cmocka_unit_test(malformed_framing_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
