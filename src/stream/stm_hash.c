/* Hash keys and sequence numbers: the 128-bit arithmetic Kinesis does on partition keys (MD5
 * as a big-endian integer over [0, 2^128), shards owning contiguous ranges) and the decimal
 * sequence-number strings that map 1:1 to (stream, shard, position). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
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

void stm_seq_format(int64_t stream_created_ms, int shard_index, uint64_t seq,
                    char out[STM_SEQ_STR_MAX])
{
    unsigned long long epoch = (unsigned long long)(stream_created_ms / 1000) % 10000000000ULL;
    if (shard_index < 0 || shard_index > 99999999) { /* wider than its 8 digits */
        snprintf(out, STM_SEQ_STR_MAX, "49%010llu%08d%020llu", epoch, shard_index,
                 (unsigned long long)seq);
        return;
    }
    /* "49" + 10 + 8 + 20 zero-padded digits, written directly: this runs for every record
     * of every PutRecords, where snprintf showed in the profile. */
    out[0] = '4';
    out[1] = '9';
    put_digits(out + 2, 10, epoch);
    put_digits(out + 12, 8, (unsigned long long)shard_index);
    put_digits(out + 20, 20, seq);
    out[STM_SEQ_DIGITS] = '\0';
}

bool stm_seq_parse(const char *s, int64_t *stream_epoch_s, int *shard_index, uint64_t *seq)
{
    if (strlen(s) != STM_SEQ_DIGITS || s[0] != '4' || s[1] != '9') return false;
    for (size_t i = 0; i < STM_SEQ_DIGITS; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    unsigned long long epoch = 0, idx = 0, pos = 0;
    for (int i = 2; i < 12; i++) epoch = epoch * 10 + (unsigned)(s[i] - '0');
    for (int i = 12; i < 20; i++) idx = idx * 10 + (unsigned)(s[i] - '0');
    for (int i = 20; i < 40; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (pos > (UINT64_MAX - d) / 10) return false;
        pos = pos * 10 + d;
    }
    *stream_epoch_s = (int64_t)epoch;
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
