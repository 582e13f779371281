/* Framing, CRC, segment headers, sequence-number strings and hash-key routing. */
#include "stream_test.h"

static void frame_roundtrip_keeps_every_field(void **state)
{
    (void)state;
    const char data[] = "payload\0with a nul";
    stm_frame f = {.seq = 42, .arrival_ms = 1700000000123, .origin_pos = 99, .pk = "order-1",
                   .pk_len = 7, .ehk = "12345", .ehk_len = 5, .origin = "pipe", .origin_len = 4,
                   .data = (const uint8_t *)data, .data_len = sizeof data};
    size_t size = stm_frame_size(7, 5, 4, sizeof data);
    uint8_t *buf = malloc(size);
    assert_int_equal(stm_frame_encode(&f, buf), size);
    stm_frame g;
    size_t need;
    assert_int_equal(stm_frame_decode(buf, size, &g, &need), (long)size);
    assert_int_equal(g.seq, 42);
    assert_int_equal(g.arrival_ms, 1700000000123);
    assert_int_equal(g.origin_pos, 99);
    assert_memory_equal(g.pk, "order-1", 7);
    assert_memory_equal(g.ehk, "12345", 5);
    assert_memory_equal(g.origin, "pipe", 4);
    assert_int_equal(g.data_len, sizeof data);
    assert_memory_equal(g.data, data, sizeof data);
    /* Every proper prefix is "incomplete", never a frame. */
    for (size_t i = 0; i < size; i++) assert_int_equal(stm_frame_decode(buf, i, &g, &need), 0);
    free(buf);
}

static void frame_crc_catches_every_flipped_bit_in_the_body(void **state)
{
    (void)state;
    stm_frame f = {.seq = 7, .arrival_ms = 1, .pk = "k", .pk_len = 1,
                   .data = (const uint8_t *)"abc", .data_len = 3};
    size_t size = stm_frame_size(1, 0, 0, 3);
    uint8_t buf[128];
    stm_frame_encode(&f, buf);
    for (size_t i = 4; i < size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1 << bit);
            stm_frame g;
            size_t need;
            assert_int_equal(stm_frame_decode(buf, size, &g, &need), -1);
            buf[i] ^= (uint8_t)(1 << bit);
        }
    }
}

static void frame_rejects_impossible_lengths(void **state)
{
    (void)state;
    uint8_t buf[16] = {0xff, 0xff, 0xff, 0x7f};
    stm_frame g;
    size_t need;
    assert_int_equal(stm_frame_decode(buf, sizeof buf, &g, &need), -1);
    memset(buf, 0, sizeof buf);  /* zero-length body: shorter than the fixed part */
    assert_int_equal(stm_frame_decode(buf, sizeof buf, &g, &need), -1);
}

static void segment_header_carries_origins(void **state)
{
    (void)state;
    stm_origin o[2] = {{"pipe-a", 17}, {"pipe-b", 1ULL << 40}};
    size_t len;
    uint8_t *h = stm_seghdr_encode(1001, o, 2, &len);
    uint64_t first;
    stm_origin *got;
    size_t n;
    assert_int_equal(stm_seghdr_decode(h, len, &first, &got, &n), (long)len);
    assert_int_equal(first, 1001);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].tag, "pipe-a");
    assert_int_equal(got[0].pos, 17);
    assert_string_equal(got[1].tag, "pipe-b");
    assert_int_equal(got[1].pos, 1ULL << 40);
    free(got);
    h[len - 1] ^= 1;
    assert_int_equal(stm_seghdr_decode(h, len, &first, &got, &n), -1);
    assert_null(got);
    free(h);
}

static void sequence_numbers_decode_and_order_as_strings(void **state)
{
    (void)state;
    char a[STM_SEQ_STR_MAX], b[STM_SEQ_STR_MAX];
    stm_seq_format(1700000000123, 3, 9, 1700000005000, a);
    stm_seq_format(1700000000123, 3, 10, 1700000001000, b); /* later position, earlier clock */
    assert_int_equal(strlen(a), STM_SEQ_DIGITS);
    assert_int_equal(strlen(b), STM_SEQ_DIGITS);
    assert_true(strcmp(a, b) < 0);
    int64_t epoch;
    int shard;
    uint64_t seq;
    assert_true(stm_seq_parse(b, &epoch, &shard, &seq));
    assert_int_equal(epoch, 1700000000);
    assert_int_equal(shard, 3);
    assert_int_equal(seq, 10);
    /* hex 2 06553f100 3 000000000000000a 00 06553f101 00000003 2: Kinesis's version-2 shape */
    assert_string_equal(b, "49646437577175378652512468275262625838599521121259749426");
    stm_seq_format(1700000000123, 12, UINT64_MAX, 1700000000123, a); /* the widest position */
    assert_true(stm_seq_parse(a, &epoch, &shard, &seq));
    assert_true(seq == UINT64_MAX);
    assert_int_equal(shard, 12);
    char id[STM_SHARD_ID_MAX];
    stm_shard_id_format(7, id);
    assert_string_equal(id, "shardId-000000000007");
    stm_shard_id_format(2147483647, id);
    assert_string_equal(id, "shardId-002147483647");
    assert_false(stm_seq_parse("12345", &epoch, &shard, &seq));
    assert_false(stm_seq_parse("4917000000000000000300000000000000000a09", &epoch, &shard, &seq));
    /* 56 digits but not our shape (last hex digit not 2), and too wide */
    assert_false(stm_seq_parse("49646437577175378652512468275262625838599521121259749427", &epoch,
                               &shard, &seq));
    assert_false(stm_seq_parse("99999999999999999999999999999999999999999999999999999999", &epoch,
                               &shard, &seq));
}

static void hash_keys_are_md5_as_big_endian_integers(void **state)
{
    (void)state;
    /* md5("a") = 0cc175b9c0f1b6a831c399e269772661, md5("orderid-1") = efcafabf...eaef */
    char out[40];
    stm_u128_format(stm_hash_key("a", 1), out);
    assert_string_equal(out, "16955237001963240173058271559858726497");
    stm_u128_format(stm_hash_key("orderid-1", 9), out);
    assert_string_equal(out, "318739420723971431139404983589610187503");
    stm_u128 v;
    assert_true(stm_u128_parse("340282366920938463463374607431768211455", &v));
    assert_true(v == STM_U128_MAX);
    assert_false(stm_u128_parse("340282366920938463463374607431768211456", &v));
    assert_false(stm_u128_parse("01", &v));
    assert_false(stm_u128_parse("", &v));
}

static void shards_split_the_hash_space_like_kinesis(void **state)
{
    (void)state;
    stm_u128 a, b;
    char s[40], t[40];
    stm_hash_split(0, 3, &a, &b);
    stm_u128_format(b, t);
    assert_string_equal(t, "113427455640312821154458202477256070484");
    stm_hash_split(1, 3, &a, &b);
    stm_u128_format(a, s);
    assert_string_equal(s, "113427455640312821154458202477256070485");
    stm_hash_split(2, 3, &a, &b);
    assert_true(b == STM_U128_MAX);
    stm_hash_split(0, 2, &a, &b);
    stm_u128_format(b, t);
    assert_string_equal(t, "170141183460469231731687303715884105727");
    stm_hash_split(1, 2, &a, &b);
    stm_u128_format(a, s);
    assert_string_equal(s, "170141183460469231731687303715884105728");
    stm_hash_split(0, 1, &a, &b);
    assert_true(a == 0 && b == STM_U128_MAX);
}

static void partition_keys_route_by_hash_range(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 2, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    /* md5 top bit: "a" 0, "hello" 0, "1234" 1, "kinesis" 1 */
    assert_int_equal(stm_shard_for_key(log, "s", "a", NULL, &e), 0);
    assert_int_equal(stm_shard_for_key(log, "s", "hello", NULL, &e), 0);
    assert_int_equal(stm_shard_for_key(log, "s", "1234", NULL, &e), 1);
    assert_int_equal(stm_shard_for_key(log, "s", "kinesis", NULL, &e), 1);
    assert_int_equal(stm_shard_for_key(log, "s", "x", "170141183460469231731687303715884105727",
                                       &e), 0);
    assert_int_equal(stm_shard_for_key(log, "s", "x", "170141183460469231731687303715884105728",
                                       &e), 1);
    assert_int_equal(stm_shard_for_key(log, "s", "x", "340282366920938463463374607431768211456",
                                       &e), -1);
    assert_string_equal(e.code, "InvalidArgumentException");
    sp_err_clear(&e);
    assert_int_equal(stm_shard_for_key(log, "nope", "a", NULL, &e), -1);
    assert_string_equal(e.code, "ResourceNotFoundException");
    stm_log_close(log);
    test_dir_remove();
}

/* The decimal of the sequence number's 47 hex digits, the slow obvious way (multiply by 16,
 * add), as the reference stm_seq_format's bit placement must equal. */
static void seq_reference(int64_t created_ms, int shard, uint64_t seq, int64_t time_ms,
                          char out[STM_SEQ_STR_MAX])
{
    char hex[48];
    unsigned long long created = (unsigned long long)(created_ms / 1000) & 0xFFFFFFFFFULL;
    unsigned long long t = (unsigned long long)(time_ms / 1000) & 0xFFFFFFFFFULL;
    unsigned idx = (unsigned)shard;
    snprintf(hex, sizeof hex, "2%09llx%01x%016llx00%09llx%08x2", created, idx & 0xF,
             (unsigned long long)seq, t, idx);
    int dec[80] = {0}; /* least significant first */
    for (const char *h = hex; *h; h++) {
        int carry = *h <= '9' ? *h - '0' : *h - 'a' + 10;
        for (int i = 0; i < 80; i++) {
            int x = dec[i] * 16 + carry;
            dec[i] = x % 10;
            carry = x / 10;
        }
    }
    int n = 79;
    while (n > 0 && dec[n] == 0) n--;
    for (int i = 0; i <= n; i++) out[i] = (char)('0' + dec[n - i]);
    out[n + 1] = '\0';
}

static void sequence_numbers_equal_the_hex_reference(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t created = (int64_t)(x % 4000000000000ull);
        int shard = i % 7 == 0 ? (int)(x >> 33) : (int)(x % 1024);
        uint64_t seq = i % 5 == 0 ? UINT64_MAX - (x & 0xff) : x >> (x % 64);
        int64_t when = created + (int64_t)(x % 100000000);
        char a[STM_SEQ_STR_MAX], b[STM_SEQ_STR_MAX];
        stm_seq_format(created, shard, seq, when, a);
        seq_reference(created, shard, seq, when, b);
        if (strcmp(a, b)) fail_msg("%lld %d %llu %lld: %s != %s", (long long)created, shard,
                                   (unsigned long long)seq, (long long)when, a, b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_roundtrip_keeps_every_field),
        cmocka_unit_test(frame_crc_catches_every_flipped_bit_in_the_body),
        cmocka_unit_test(frame_rejects_impossible_lengths),
        cmocka_unit_test(segment_header_carries_origins),
        cmocka_unit_test(sequence_numbers_decode_and_order_as_strings),
        cmocka_unit_test(sequence_numbers_equal_the_hex_reference),
        cmocka_unit_test(hash_keys_are_md5_as_big_endian_integers),
        cmocka_unit_test(shards_split_the_hash_space_like_kinesis),
        cmocka_unit_test(partition_keys_route_by_hash_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
