/* DynamoDB's key hash (keyhash.c): the 24-bit hash that orders Scan results, splits parallel
 * Scan segments and orders index entries with equal index keys. The expected values are
 * dynalite's hashPrefix (db/index.js, with its numToBuffer for numbers) run under node on the
 * same keys, so strings, binaries and numbers of every shape (zero, negatives with and without
 * the end byte, odd and even exponents, the extremes of the range) agree byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "table/tbl_int.h"

static uint32_t hash_of(char htype, const char *hv, char rtype, const char *rv)
{
    tbl_key k;
    sp_err e = {0};
    json_t *h = json_string(hv), *r = rv ? json_string(rv) : NULL;
    if (!tbl_key_encode(htype, h, k.hk, sizeof k.hk, &k.hk_len, &e)) fail_msg("%s: %s", hv, e.msg);
    k.rk_len = 0;
    if (r && !tbl_key_encode(rtype, r, k.rk, sizeof k.rk, &k.rk_len, &e))
        fail_msg("%s: %s", rv, e.msg);
    json_decref(h);
    json_decref(r);
    return tbl_key_hash(htype, k.hk, k.hk_len, r ? rtype : 0, k.rk, k.rk_len);
}

static void test_matches_dynalite(void **state)
{
    (void)state;
    static const struct { char t; const char *v; uint32_t want; } cases[] = {
        {'S', "abc", 0x12db4f}, {'S', "", 0x65a4c0}, {'S', "\xc3\xa9\xe2\x82\xac", 0xadc02e},
        {'N', "0", 0xce212d}, {'N', "1", 0xc3a031}, {'N', "-1", 0x0267df},
        {'N', "10", 0x3c465f}, {'N', "0.5", 0xb4a0a7}, {'N', "-123.45", 0xac6232},
        {'N', "1E+10", 0x444450}, {'N', "99", 0xff3ca7}, {'N', "100", 0x6840bd},
        {'N', "-0.001", 0xe0a1b7},
        {'N', "12345678901234567890123456789012345678", 0xb50a4c},
        {'N', "-12345678901234567890123456789012345678", 0x089522},
        {'N', "-1234567890123456789012345678901234567.8", 0x335ecc},
        {'N', "1e-130", 0x727de7},
        {'N', "-9.9999999999999999999999999999999999999E+125", 0x21889b},
        {'B', "AQI=", 0xe8b778}, {'B', "", 0x65a4c0},
        /* The same number written differently hashes the same. */
        {'N', "1.0", 0xc3a031}, {'N', "0100", 0x6840bd}, {'N', "5E-1", 0xb4a0a7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = hash_of(cases[i].t, cases[i].v, 0, NULL);
        if (got != cases[i].want)
            fail_msg("%c %s: %06x, want %06x", cases[i].t, cases[i].v, got, cases[i].want);
    }
    assert_int_equal(hash_of('S', "h", 'N', "-7.5"), 0x73db7c);
    assert_int_equal(hash_of('B', "AQI=", 'S', "x"), 0x823654);
}

/* Segments cover the 12-bit prefixes ceil(4096 s / t) .. ceil(4096 (s + 1) / t) - 1: together
 * every hash once, none twice; more segments than prefixes leaves some empty. */
static void test_segments_partition_the_hashes(void **state)
{
    (void)state;
    static const uint32_t totals[] = {1, 2, 3, 7, 4096, 5000, 1000000};
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
        uint32_t t = totals[i];
        int64_t prev_hi = 0, lo, hi;
        for (uint32_t s = 0; s < t; s++) {
            tbl_segment_range(s, t, &lo, &hi);
            assert_int_equal(lo, prev_hi);
            assert_true(hi >= lo);
            prev_hi = hi;
        }
        assert_int_equal(prev_hi, (int64_t)1 << 24);
    }
    int64_t lo, hi;
    tbl_segment_range(1, 3, &lo, &hi);
    assert_int_equal(lo, 1366 << 12);   /* ceil(4096 / 3) */
    assert_int_equal(hi, 2731 << 12);   /* ceil(8192 / 3) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_dynalite),
        cmocka_unit_test(test_segments_partition_the_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
