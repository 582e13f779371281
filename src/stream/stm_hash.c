/* Hash keys and sequence numbers: the 128-bit arithmetic Kinesis does on partition keys (MD5
 * as a big-endian integer over [0, 2^128), shards owning contiguous ranges) and the decimal
 * sequence-number strings that map 1:1 to (stream, shard, position). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stm_int.h"

bool stm_u128_parse(const char *s, stm_u128 *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > STM_HASH_KEY_DIGITS_MAX || (n > 1 && s[0] == '0')) return false;
    stm_u128 v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (STM_U128_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

void stm_u128_format(stm_u128 v, char out[40])
{
    char tmp[40];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

/* OpenSSL 3 looks an algorithm up on every EVP_md5() digest; fetch it once instead. It is
 * kept for the life of the process (one small object, freed by OpenSSL at exit). */
static EVP_MD *md5_alg;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static void md5_fetch(void) { md5_alg = EVP_MD_fetch(NULL, "MD5", NULL); }

stm_u128 stm_hash_key(const char *partition_key, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    pthread_once(&md5_once, md5_fetch);
    EVP_Digest(partition_key, len, md, &md_len, md5_alg ? md5_alg : EVP_md5(), NULL);
    stm_u128 v = 0;
    for (unsigned i = 0; i < 16 && i < md_len; i++) v = (v << 8) | md[i];
    return v;
}

void stm_hash_split(int i, int n, stm_u128 *start, stm_u128 *end)
{
    /* step = floor(2^128 / n), computed without 2^128. */
    stm_u128 un = (stm_u128)n;
    stm_u128 step = STM_U128_MAX / un + (STM_U128_MAX % un == un - 1 ? 1 : 0);
    *start = step * (stm_u128)i;
    *end = i == n - 1 ? STM_U128_MAX : step * (stm_u128)(i + 1) - 1;
}

/* v as exactly n zero-padded decimal digits (v < 10^n). */
static void put_digits(char *out, int n, unsigned long long v)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* A 192-bit unsigned integer as six 32-bit limbs, least significant first: the sequence
 * number's 47 hex digits (188 bits) in and out of decimal. */
enum { SEQ_LIMBS = 6, SEQ_HEX_DIGITS = 47 };

static void seq_get_hex(const uint32_t v[SEQ_LIMBS], char hex[SEQ_HEX_DIGITS])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SEQ_HEX_DIGITS; i++) {
        int bit = 4 * (SEQ_HEX_DIGITS - 1 - i);
        hex[i] = digits[(v[bit / 32] >> (bit % 32)) & 0xF];
    }
}

/* Ors the low nbits of x into v at bit position pos (bits of v least significant first). */
static void seq_put_bits(uint32_t v[SEQ_LIMBS], int pos, uint64_t x, int nbits)
{
    if (nbits < 64) x &= (1ull << nbits) - 1;
    for (int done = 0; done < nbits;) {
        int at = pos + done, room = 32 - at % 32;
        v[at / 32] |= (uint32_t)(x << (at % 32));
        x >>= room;
        done += room;
    }
}

void stm_seq_format(int64_t stream_created_ms, int shard_index, uint64_t seq, int64_t time_ms,
                    char out[STM_SEQ_STR_MAX])
{
    unsigned long long created = (unsigned long long)(stream_created_ms / 1000) & 0xFFFFFFFFFULL;
    unsigned long long t = (unsigned long long)(time_ms / 1000) & 0xFFFFFFFFFULL;
    unsigned idx = (unsigned)shard_index;
    /* The 47 hex digits "2 <created:9> <idx&f:1> <seq:16> 00 <t:9> <idx:8> 2", placed as bits
     * straight into the limbs (this runs for every record put and read; a snprintf of the hex
     * and its parse were most of its cost). */
    uint32_t v[SEQ_LIMBS] = {0};
    seq_put_bits(v, 0, 2, 4);
    seq_put_bits(v, 4, idx, 32);
    seq_put_bits(v, 36, t, 36);
    seq_put_bits(v, 80, seq, 64);
    seq_put_bits(v, 144, idx & 0xF, 4);
    seq_put_bits(v, 148, created, 36);
    seq_put_bits(v, 184, 2, 4);
    /* Decimal by repeated division by 10^9; 56 digits always (2^185 <= v < 3 * 2^184). */
    char dec[80];
    int n = 0;
    bool nonzero = true;
    while (nonzero) {
        uint64_t rem = 0;
        nonzero = false;
        for (int i = SEQ_LIMBS - 1; i >= 0; i--) {
            uint64_t cur = rem << 32 | v[i];
            v[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            nonzero |= v[i] != 0;
        }
        for (int k = 0; k < 9; k++, rem /= 10) dec[n++] = (char)('0' + rem % 10);
    }
    while (n > 1 && dec[n - 1] == '0') n--;
    for (int i = 0; i < n; i++) out[i] = dec[n - 1 - i];
    out[n] = '\0';
}

bool stm_seq_parse(const char *s, int64_t *stream_epoch_s, int *shard_index, uint64_t *seq)
{
    if (strlen(s) != STM_SEQ_DIGITS) return false;
    uint32_t v[SEQ_LIMBS] = {0};
    for (size_t i = 0; i < STM_SEQ_DIGITS; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t carry = (uint64_t)(s[i] - '0');
        for (int k = 0; k < SEQ_LIMBS; k++) {
            uint64_t cur = (uint64_t)v[k] * 10 + carry;
            v[k] = (uint32_t)cur;
            carry = cur >> 32;
        }
        if (carry) return false;
    }
    if (v[SEQ_LIMBS - 1] >> 28) return false; /* more than 47 hex digits */
    char hex[SEQ_HEX_DIGITS + 1];
    seq_get_hex(v, hex);
    hex[SEQ_HEX_DIGITS] = '\0';
    /* '2' created(9) shard-nibble(1) seq(16) '00' time(9) shard(8) '2' */
    if (hex[0] != '2' || hex[46] != '2' || hex[27] != '0' || hex[28] != '0') return false;
    unsigned long long created = strtoull((char[10]){hex[1], hex[2], hex[3], hex[4], hex[5],
                                                    hex[6], hex[7], hex[8], hex[9], 0}, NULL, 16);
    char buf[17];
    memcpy(buf, hex + 11, 16);
    buf[16] = '\0';
    unsigned long long pos = strtoull(buf, NULL, 16);
    memcpy(buf, hex + 38, 8);
    buf[8] = '\0';
    unsigned long idx = strtoul(buf, NULL, 16);
    if (idx > 0x7FFFFFFFUL || (idx & 0xF) != (unsigned long)strtoul((char[2]){hex[10], 0}, NULL, 16))
        return false;
    *stream_epoch_s = (int64_t)created;
    *shard_index = (int)idx;
    *seq = pos;
    return true;
}

bool stm_stream_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > STM_STREAM_NAME_MAX || name[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

void stm_shard_id_format(int index, char out[STM_SHARD_ID_MAX])
{
    if (index < 0 || index > 999999999) {
        snprintf(out, STM_SHARD_ID_MAX, "shardId-%012d", index);
        return;
    }
    memcpy(out, "shardId-", 8);
    put_digits(out + 8, 12, (unsigned long long)index);
    out[20] = '\0';
}

int stm_shard_id_parse(const char *id)
{
    if (!strncmp(id, "shardId-", 8)) id += 8;
    size_t n = strlen(id);
    if (n == 0 || n > 12) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (id[i] < '0' || id[i] > '9') return -1;
        v = v * 10 + (id[i] - '0');
    }
    return v > STM_SHARDS_PER_STREAM_MAX * 64 ? -1 : (int)v;
}

int stm_shard_id_resolve(const char *id)
{
    const char *dash = strchr(id, '-');
    if (dash && dash[1]) {
        const char *end = strchr(dash + 1, '-');
        size_t n = end ? (size_t)(end - dash - 1) : strlen(dash + 1);
        if (n) id = dash + 1;
        if (end && n) {
            /* "a-12-b": Kinesis reads the piece between the first two dashes */
            char piece[32];
            if (n >= sizeof piece) return -1;
            memcpy(piece, dash + 1, n);
            piece[n] = '\0';
            return stm_shard_id_resolve(piece);
        }
    }
    size_t n = strlen(id);
    if (n == 0 || n > 20) return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (id[i] < '0' || id[i] > '9') return -1;
        v = v * 10 + (unsigned)(id[i] - '0');
        if (v > 2147483647ULL) return -1;
    }
    return (int)v;
}

/* A sequence number's decimal text (1..STM_SEQ_DIGITS digits) into limbs, least significant
 * first; false for anything else or a value of 2^188 and above. */
static bool seq_from_decimal(const char *s, uint32_t v[SEQ_LIMBS])
{
    size_t n = strlen(s);
    if (n == 0 || n > STM_SEQ_DIGITS) return false;
    memset(v, 0, SEQ_LIMBS * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t carry = (uint64_t)(s[i] - '0');
        for (int k = 0; k < SEQ_LIMBS; k++) {
            uint64_t cur = (uint64_t)v[k] * 10 + carry;
            v[k] = (uint32_t)cur;
            carry = cur >> 32;
        }
        if (carry) return false;
    }
    if (v[SEQ_LIMBS - 1] >> 28) return false;
    return true;
}

/* Kinesis's older version-1 shape ('2' created(9) shard(1) byte(2) time(9) random(14)
 * index(2) shard(8) '1') is accepted too: a producer may carry one over from long ago. */
bool stm_seq_ordering_ok(const char *s, int64_t now_ms)
{
    uint32_t v[SEQ_LIMBS];
    if (!seq_from_decimal(s, v)) return false;
    char hex[SEQ_HEX_DIGITS + 1];
    seq_get_hex(v, hex);
    hex[SEQ_HEX_DIGITS] = '\0';
    if (hex[0] != '2') return false;
    char created[10], t[10];
    memcpy(created, hex + 1, 9);
    created[9] = '\0';
    if (strtoull(created, NULL, 16) >= 16025175000ULL) return false; /* past year 2477 */
    if (hex[46] == '1') {
        memcpy(t, hex + 13, 9);
    } else if (hex[46] == '2') {
        if (hex[11] > '7') return false; /* the position's top bit */
        memcpy(t, hex + 29, 9);
    } else {
        return false;
    }
    t[9] = '\0';
    return (int64_t)strtoull(t, NULL, 16) <= now_ms / 1000;
}

bool stm_seq_inspect(const char *s, int *version, int64_t *created_s, long long *shard_index)
{
    uint32_t v[SEQ_LIMBS];
    if (!seq_from_decimal(s, v)) return false;
    bool small = !v[5] && !v[4] && v[3] < (1u << 28); /* below 2^124 */
    if (small) v[3] |= 1u << 28;                     /* version 0 counts from 2^124 */
    char hex[SEQ_HEX_DIGITS + 1], buf[17];
    seq_get_hex(v, hex);
    hex[SEQ_HEX_DIGITS] = '\0';
    const char *h = hex;
    while (*h == '0') h++;
    size_t len = strlen(h);
    if (len == 32 && h[0] == '1') { /* version 0: '1' created(9) byte(2) random(16) shard(4) */
        memcpy(buf, h + 1, 9);
        buf[9] = '\0';
        *created_s = (int64_t)strtoull(buf, NULL, 16);
        *shard_index = (long long)strtoul(h + 28, NULL, 16);
        *version = 0;
        return *created_s < 16025175000LL;
    }
    if (len != SEQ_HEX_DIGITS || h[0] != '2' || (h[46] != '1' && h[46] != '2')) return false;
    *version = h[46] - '0';
    memcpy(buf, h + 1, 9);
    buf[9] = '\0';
    *created_s = (int64_t)strtoull(buf, NULL, 16);
    memcpy(buf, h + 38, 8);
    buf[8] = '\0';
    long long idx = (long long)strtoul(buf, NULL, 16);
    if (*version == 2) {
        if (h[11] > '7' || *created_s >= 16025175000LL) return false;
        if (idx >= 0x80000000LL) idx -= 0x100000000LL; /* Kinesis reads it as signed */
    }
    *shard_index = idx;
    return true;
}
