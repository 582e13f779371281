/* Unit tests for CRC-32C (core/crc32c.c): the RFC 3720 (iSCSI) test vectors, the standard
 * check value, agreement of the table path with the hardware path on random data at every
 * alignment and length, and chaining (crc of a||b == crc of b continued from crc of a). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* The table path regardless of the CPU; exported by crc32c.c for tests. */
uint32_t sp_crc32c_soft(uint32_t crc, const void *data, size_t len);

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static const crc_fn both[] = {sp_crc32c, sp_crc32c_soft};

static void rfc3720_vectors(void **state)
{
    (void)state;
    unsigned char buf[32];
    for (size_t f = 0; f < SP_ARRAY_LEN(both); f++) {
        memset(buf, 0x00, sizeof buf);
        assert_int_equal(both[f](0, buf, sizeof buf), 0x8A9136AAu);
        memset(buf, 0xFF, sizeof buf);
        assert_int_equal(both[f](0, buf, sizeof buf), 0x62A8AB43u);
        for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
        assert_int_equal(both[f](0, buf, sizeof buf), 0x46DD794Eu);
        for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
        assert_int_equal(both[f](0, buf, sizeof buf), 0x113FDB5Cu);
    }
}

static void check_value_and_empty_input(void **state)
{
    (void)state;
    for (size_t f = 0; f < SP_ARRAY_LEN(both); f++) {
        assert_int_equal(both[f](0, "123456789", 9), 0xE3069283u);
        assert_int_equal(both[f](0, "", 0), 0u);
        assert_int_equal(both[f](0xDEADBEEFu, "", 0), 0xDEADBEEFu);
    }
}

static void soft_equals_hw_on_random_data(void **state)
{
    (void)state;
    enum { N = 4096 };
    unsigned char *buf = malloc(N + 8);
    assert_non_null(buf);
    srand(12345);
    for (size_t i = 0; i < N + 8; i++) buf[i] = (unsigned char)(rand() & 0xff);
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 67; len++)
            assert_int_equal(sp_crc32c(0, buf + off, len), sp_crc32c_soft(0, buf + off, len));
        assert_int_equal(sp_crc32c(7, buf + off, N), sp_crc32c_soft(7, buf + off, N));
    }
    free(buf);
}

static void chaining_equals_one_pass(void **state)
{
    (void)state;
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 31 + 7);
    for (size_t f = 0; f < SP_ARRAY_LEN(both); f++) {
        uint32_t whole = both[f](0, buf, sizeof buf);
        for (size_t cut = 0; cut <= sizeof buf; cut += 13) {
            uint32_t c = both[f](0, buf, cut);
            c = both[f](c, buf + cut, sizeof buf - cut);
            assert_int_equal(c, whole);
        }
        /* Mixed paths chain too: the state is the standard CRC value. */
        uint32_t c = sp_crc32c_soft(0, buf, 100);
        assert_int_equal(sp_crc32c(c, buf + 100, sizeof buf - 100), whole);
    }
}

static void single_bit_flip_changes_crc(void **state)
{
    (void)state;
    unsigned char buf[64] = {0};
    uint32_t base = sp_crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_not_equal(sp_crc32c(0, buf, sizeof buf), base);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3720_vectors),
        cmocka_unit_test(check_value_and_empty_input),
        cmocka_unit_test(soft_equals_hw_on_random_data),
        cmocka_unit_test(chaining_equals_one_pass),
        cmocka_unit_test(single_bit_flip_changes_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
