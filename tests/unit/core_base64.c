/* Unit tests for base64 (core/base64.c): the RFC 4648 section 10 vectors both ways, binary
 * round trips of every small length, the length helpers, and strict rejection of what is not
 * canonical padded base64 (bad characters, whitespace, misplaced or excess padding, lengths
 * that are not a multiple of 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static const struct { const char *plain, *b64; } rfc4648[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void rfc4648_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < SP_ARRAY_LEN(rfc4648); i++) {
        size_t n = strlen(rfc4648[i].plain);
        char out[32];
        memset(out, '#', sizeof out);
        assert_int_equal(sp_base64_encode(rfc4648[i].plain, n, out), strlen(rfc4648[i].b64));
        assert_string_equal(out, rfc4648[i].b64);
        assert_int_equal(sp_base64_encoded_len(n), strlen(rfc4648[i].b64));
    }
}

static void rfc4648_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < SP_ARRAY_LEN(rfc4648); i++) {
        size_t n = strlen(rfc4648[i].b64);
        unsigned char out[32];
        assert_true(sp_base64_decoded_max(n) <= sizeof out);
        long got = sp_base64_decode(rfc4648[i].b64, n, out);
        assert_int_equal(got, (long)strlen(rfc4648[i].plain));
        assert_memory_equal(out, rfc4648[i].plain, (size_t)got);
    }
}

static void binary_round_trip_all_lengths(void **state)
{
    (void)state;
    unsigned char in[300], back[310];
    char enc[420];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (unsigned char)(255 - i * 7);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t elen = sp_base64_encode(in, n, enc);
        assert_int_equal(elen, sp_base64_encoded_len(n));
        assert_int_equal(strlen(enc), elen);
        assert_true(sp_base64_decoded_max(elen) <= sizeof back);
        long dlen = sp_base64_decode(enc, elen, back);
        assert_int_equal(dlen, (long)n);
        assert_memory_equal(back, in, n);
    }
}

static void full_alphabet_decodes(void **state)
{
    (void)state;
    unsigned char out[64];
    const char *all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    long n = sp_base64_decode(all, 64, out);
    assert_int_equal(n, 48);
    char back[72];
    sp_base64_encode(out, 48, back);
    assert_string_equal(back, all);
}

static void invalid_inputs_are_rejected(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg=",       /* wrong length */
        "Zg",        /* unpadded */
        "Zm9vY",     /* wrong length */
        "Zm9v!A==",  /* bad character */
        "Zm-v",      /* URL-safe alphabet is not standard */
        "Zm_v",
        "Zm 9",      /* whitespace */
        "Zm9v\nYmFy",
        "Z===",      /* too much padding */
        "====",
        "Z=g=",      /* padding in the middle */
        "Zg==Zm9v",  /* padding before the end */
        "=Zm9",
    };
    unsigned char out[32];
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++)
        assert_int_equal(sp_base64_decode(bad[i], strlen(bad[i]), out), -1);
    /* An embedded NUL is not base64 either. */
    assert_int_equal(sp_base64_decode("Zm\0v", 4, out), -1);
}

static void large_input_crosses_chunk_boundaries(void **state)
{
    (void)state;
    size_t n = (3u << 20) * 2 + 5; /* more than two encode chunks */
    unsigned char *in = malloc(n);
    char *enc = malloc(sp_base64_encoded_len(n) + 1);
    unsigned char *back = malloc(sp_base64_decoded_max(sp_base64_encoded_len(n)));
    assert_true(in && enc && back);
    for (size_t i = 0; i < n; i++) in[i] = (unsigned char)(i ^ (i >> 8));
    size_t elen = sp_base64_encode(in, n, enc);
    assert_int_equal(elen, sp_base64_encoded_len(n));
    assert_int_equal(sp_base64_decode(enc, elen, back), (long)n);
    assert_memory_equal(back, in, n);
    free(in);
    free(enc);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_encode),
        cmocka_unit_test(rfc4648_decode),
        cmocka_unit_test(binary_round_trip_all_lengths),
        cmocka_unit_test(full_alphabet_decodes),
        cmocka_unit_test(invalid_inputs_are_rejected),
        cmocka_unit_test(large_input_crosses_chunk_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
