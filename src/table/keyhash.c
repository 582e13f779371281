/* DynamoDB's internal key hash, which decides the order of Scan results, the split of a
 * parallel Scan into segments, and the order of index entries with equal index keys.
 *
 * DynamoDB places an item by a hash of its partition key and returns a Scan in that order;
 * a secondary index orders entries with equal index keys by a hash of the item's table key.
 * dynalite (whose order the conformance suite, recorded against DynamoDB, checks) uses the
 * first 24 bits of md5("Outliers" + hash key bytes + range key bytes), where a string is its
 * UTF-8 bytes, a binary its raw bytes and a number DynamoDB's own binary number form (an
 * excess-64 base-100 exponent byte, then two digits a byte plus one; negatives inverted and
 * ended by 102). salespipe stores that value next to each item (items.hp) and index entry
 * (index_entries.ihp for the index's partition key, thp for the table key) and orders by it,
 * then by the encoded key, so paging stays exact.
 */
#include "tbl_int.h"
#include "table/expr.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    KEYHASH_NUM_BYTES_MAX = TBL_NUM_MAX_DIGITS / 2 + 4,  /* exponent, digit pairs, end byte */
    KEYHASH_NEG_SHORT = 20,     /* negatives with fewer digit bytes than this end with 102 */
    KEYHASH_NEG_END = 102,
};

static const char KEYHASH_SALT[] = "Outliers";

/* DynamoDB's binary form of a number (dynalite's numToBuffer). Returns its length. */
static size_t num_bytes(const tbl_num *n, uint8_t out[KEYHASH_NUM_BYTES_MAX])
{
    if (n->ndigits == 0) {
        out[0] = 0x80;
        return 1;
    }
    int append_zero = n->exp % 2 != 0;
    size_t nd = n->ndigits + (size_t)append_zero;     /* digits with the leading pad */
    size_t pairs = (nd + 1) / 2;
    size_t len = pairs + 1;
    bool end_byte = n->neg && pairs < KEYHASH_NEG_SHORT;
    int first = (n->exp + append_zero) / 2 - 64;
    out[0] = (uint8_t)(n->neg ? ~first : first);
    for (size_t k = 0; k < pairs; k++) {
        size_t i = 2 * k;
        int hi = i < (size_t)append_zero ? 0 : n->digits[i - (size_t)append_zero];
        int lo = i + 1 < nd ? n->digits[i + 1 - (size_t)append_zero] : 0;
        int v = hi * 10 + lo;
        out[k + 1] = (uint8_t)(n->neg ? 101 - v : v + 1);
    }
    if (end_byte) out[len++] = KEYHASH_NEG_END;
    return len;
}

/* Feeds one encoded key part in DynamoDB's byte form. */
static void feed(EVP_MD_CTX *ctx, char type, const uint8_t *b, size_t len)
{
    if (type == 'N') {
        tbl_num n;
        uint8_t buf[KEYHASH_NUM_BYTES_MAX];
        if (!tbl_num_decode(b, len, &n)) return;
        EVP_DigestUpdate(ctx, buf, num_bytes(&n, buf));
    } else if (len) {
        EVP_DigestUpdate(ctx, b, len);
    }
}

/* MD5, fetched from OpenSSL's provider once: EVP_md5() makes every EVP_DigestInit_ex fetch
 * it again (a lock and a provider lookup per key hash, OpenSSL 3). Kept for the process. */
static EVP_MD *keyhash_md;
static pthread_once_t keyhash_md_once = PTHREAD_ONCE_INIT;

static void keyhash_md_fetch(void)
{
    keyhash_md = EVP_MD_fetch(NULL, "MD5", NULL);
}

uint32_t tbl_key_hash(char htype, const uint8_t *hk, size_t hk_len, char rtype,
                      const uint8_t *rk, size_t rk_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    pthread_once(&keyhash_md_once, keyhash_md_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, keyhash_md ? keyhash_md : EVP_md5(), NULL) != 1)
        abort();
    EVP_DigestUpdate(ctx, KEYHASH_SALT, sizeof KEYHASH_SALT - 1);
    feed(ctx, htype, hk, hk_len);
    if (rtype) feed(ctx, rtype, rk, rk_len);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    return (uint32_t)md[0] << 16 | (uint32_t)md[1] << 8 | md[2];
}

uint32_t tbl_key_hp(const tbl_meta *m, const tbl_key *k)
{
    return tbl_key_hash(m->hash_type, k->hk, k->hk_len, 0, NULL, 0);
}

uint32_t tbl_key_thp(const tbl_meta *m, const tbl_key *k)
{
    return tbl_key_hash(m->hash_type, k->hk, k->hk_len, m->range_key[0] ? m->range_type : 0,
                        k->rk, k->rk_len);
}

void tbl_segment_range(uint32_t segment, uint32_t total, int64_t *lo, int64_t *hi)
{
    /* dynalite: segment s holds the 12-bit prefixes ceil(4096 s / t) .. ceil(4096 (s+1) / t) - 1. */
    uint64_t a = (TBL_KEYHASH_BUCKETS * (uint64_t)segment + total - 1) / total;
    uint64_t b = (TBL_KEYHASH_BUCKETS * (uint64_t)(segment + 1) + total - 1) / total;
    *lo = (int64_t)(a << 12);
    *hi = (int64_t)(b << 12);
}

/* sp_key_hash(htype, hk, rtype, rk): the hash of stored keys, for the migration of data
 * directories written before the hash was stored. */
static void sql_key_hash(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *ht = (const char *)sqlite3_value_text(argv[0]);
    const char *rt = (const char *)sqlite3_value_text(argv[2]);
    const uint8_t *hk = sqlite3_value_blob(argv[1]);
    size_t hl = (size_t)sqlite3_value_bytes(argv[1]);
    const uint8_t *rk = sqlite3_value_blob(argv[3]);
    size_t rl = (size_t)sqlite3_value_bytes(argv[3]);
    sqlite3_result_int64(cx, tbl_key_hash(ht ? ht[0] : 'S', hk, hl, rt ? rt[0] : 0, rk, rl));
}

bool tbl_key_hash_register(sqlite3 *sql)
{
    return sqlite3_create_function(sql, "sp_key_hash", 4, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, sql_key_hash, NULL, NULL) == SQLITE_OK;
}
