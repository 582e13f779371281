/* Object compression round trips: GZIP is a gzip member zlib inflates back (what gzip -d
 * reads), ZSTD one frame libzstd decompresses back, UNCOMPRESSED a copy; names and extensions
 * are Firehose's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "delivery/dlv_int.h"

static char *sample(size_t *len)
{
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    for (int i = 0; i < 2000; i++) sp_str_appendf(&s, "{\"orderid\":\"%d\",\"price\":%d.5}\n", i, i % 500);
    return sp_str_finish(&s, len);
}

static void gzip_round_trip(void **state)
{
    (void)state;
    size_t len, zlen;
    char *in = sample(&len);
    sp_err e = {0};
    char *z = dlv_compress(DLV_COMP_GZIP, in, len, &zlen, &e);
    assert_non_null(z);
    assert_true(zlen < len);
    assert_int_equal((unsigned char)z[0], 0x1f);
    assert_int_equal((unsigned char)z[1], 0x8b);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    char *out = malloc(len + 16);
    zs.next_in = (Bytef *)z;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)(len + 16);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, len);
    inflateEnd(&zs);
    assert_memory_equal(out, in, len);
    free(out);
    free(z);
    free(in);
}

static void zstd_round_trip(void **state)
{
    (void)state;
    size_t len, zlen;
    char *in = sample(&len);
    sp_err e = {0};
    char *z = dlv_compress(DLV_COMP_ZSTD, in, len, &zlen, &e);
    assert_non_null(z);
    assert_int_equal(ZSTD_getFrameContentSize(z, zlen), len);
    char *out = malloc(len);
    assert_int_equal(ZSTD_decompress(out, len, z, zlen), len);
    assert_memory_equal(out, in, len);
    free(out);
    free(z);
    free(in);
}

static void uncompressed_is_a_copy_and_empty_objects_work(void **state)
{
    (void)state;
    size_t zlen;
    sp_err e = {0};
    char *z = dlv_compress(DLV_COMP_NONE, "abc", 3, &zlen, &e);
    assert_int_equal(zlen, 3);
    assert_memory_equal(z, "abc", 3);
    free(z);
    z = dlv_compress(DLV_COMP_GZIP, "", 0, &zlen, &e);
    assert_non_null(z);
    assert_true(zlen > 0);
    free(z);
}

static void names_and_extensions(void **state)
{
    (void)state;
    dlv_compression c;
    assert_true(dlv_compression_parse("GZIP", &c) && c == DLV_COMP_GZIP);
    assert_true(dlv_compression_parse("ZSTD", &c) && c == DLV_COMP_ZSTD);
    assert_true(dlv_compression_parse("UNCOMPRESSED", &c) && c == DLV_COMP_NONE);
    assert_false(dlv_compression_parse("Snappy", &c));
    assert_string_equal(dlv_compression_ext(DLV_COMP_GZIP), ".gz");
    assert_string_equal(dlv_compression_ext(DLV_COMP_ZSTD), ".zst");
    assert_string_equal(dlv_compression_ext(DLV_COMP_NONE), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_round_trip),
        cmocka_unit_test(zstd_round_trip),
        cmocka_unit_test(uncompressed_is_a_copy_and_empty_objects_work),
        cmocka_unit_test(names_and_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
