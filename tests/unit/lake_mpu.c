/* Unit tests for the lake's multipart store, ETags and integrity checks (lake_mpu.c,
 * lake.c, lake_digest.c, s3_xml.c): upload ids are refused before they become paths, parts
 * and their MD5 ETags, CompleteMultipartUpload's checks and its md5-of-md5s ETag, the parts
 * going away after completion and abort, stored ETags surviving a listing, checksum vectors,
 * and the part-list XML parser's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"

#define BUCKET "unit-bucket"

static char root[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/unit-lake-XXXXXX");
    if (!mkdtemp(root)) return -1;
    sp_err e = {0};
    lake *lk = lake_open(root, &e);
    if (!lk || !lake_bucket_create(lk, BUCKET, &e)) return -1;
    *state = lk;
    return 0;
}

static int teardown(void **state)
{
    lake_close(*state);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void md5_etag(const void *data, size_t len, char out[LAKE_ETAG_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
    lake_etag_format(md, 0, out);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void upload_ids_are_checked_before_any_path(void **state)
{
    (void)state;
    assert_true(lake_upload_id_valid("0123456789abcdef0123456789abcdef"));
    assert_false(lake_upload_id_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(lake_upload_id_valid("0123456789abcdef0123456789abcde"));
    assert_false(lake_upload_id_valid("0123456789abcdef0123456789abcdef0"));
    assert_false(lake_upload_id_valid("../x"));
    assert_false(lake_upload_id_valid(""));
    assert_false(lake_upload_id_valid("0123456789abcdef0123456789abcd/."));
}

static void put_stores_the_md5_etag(void **state)
{
    lake *lk = *state;
    sp_err e = {0};
    char etag[LAKE_ETAG_MAX], want[LAKE_ETAG_MAX];
    assert_true(lake_object_put_etag(lk, BUCKET, "a/b.json", "hello", 5, etag, &e));
    assert_string_equal(etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    lake_object_info info;
    assert_true(lake_object_stat(lk, BUCKET, "a/b.json", &info, &e));
    assert_string_equal(info.etag, etag);
    md5_etag("", 0, want);
    assert_true(lake_object_put(lk, BUCKET, "a/empty", "", 0, &e));
    assert_true(lake_object_stat(lk, BUCKET, "a/empty", &info, &e));
    assert_string_equal(info.etag, want);
    char *data;
    assert_true(lake_object_read(lk, BUCKET, "a/b.json", 1, 3, &data, &e));
    assert_string_equal(data, "ell");
    free(data);
}

static void multipart_complete_checks_and_etag(void **state)
{
    lake *lk = *state;
    sp_err e = {0};
    char id[LAKE_UPLOAD_ID_LEN + 1], e1[LAKE_ETAG_MAX], e2[LAKE_ETAG_MAX], etag[LAKE_ETAG_MAX];
    assert_true(lake_mpu_create(lk, BUCKET, "big/obj", id, &e));
    assert_true(lake_upload_id_valid(id));
    size_t big = (size_t)LAKE_PART_MIN_SIZE;
    char *p1 = malloc(big);
    memset(p1, 'a', big);
    assert_true(lake_mpu_part_put(lk, BUCKET, "big/obj", id, 1, p1, big, e1, &e));
    assert_true(lake_mpu_part_put(lk, BUCKET, "big/obj", id, 2, "tail", 4, e2, &e));
    assert_false(lake_mpu_part_put(lk, BUCKET, "big/obj", id, 0, "x", 1, etag, &e));
    assert_string_equal(e.code, "InvalidArgument");
    assert_false(lake_mpu_part_put(lk, BUCKET, "big/obj", id, LAKE_PARTS_MAX + 1, "x", 1, etag, &e));
    assert_false(lake_mpu_part_put(lk, BUCKET, "other", id, 1, "x", 1, etag, &e));
    assert_string_equal(e.code, "NoSuchUpload");

    lake_part *parts;
    size_t n;
    assert_true(lake_mpu_parts(lk, BUCKET, "big/obj", id, &parts, &n, &e));
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].number, 1);
    assert_int_equal(parts[1].size, 4);
    assert_string_equal(parts[1].etag, e2);
    free(parts);

    lake_part wrong_order[2] = {{.number = 2}, {.number = 1}};
    snprintf(wrong_order[0].etag, LAKE_ETAG_MAX, "%s", e2);
    snprintf(wrong_order[1].etag, LAKE_ETAG_MAX, "%s", e1);
    assert_false(lake_mpu_complete(lk, BUCKET, "big/obj", id, wrong_order, 2, etag, &e));
    assert_string_equal(e.code, "InvalidPartOrder");
    lake_part bad_etag[2] = {{.number = 1, .etag = "\"00000000000000000000000000000000\""},
                             {.number = 2}};
    snprintf(bad_etag[1].etag, LAKE_ETAG_MAX, "%s", e2);
    assert_false(lake_mpu_complete(lk, BUCKET, "big/obj", id, bad_etag, 2, etag, &e));
    assert_string_equal(e.code, "InvalidPart");
    lake_part too_small[2] = {{.number = 2}, {.number = 3}};
    snprintf(too_small[0].etag, LAKE_ETAG_MAX, "%s", e2);
    assert_false(lake_mpu_complete(lk, BUCKET, "big/obj", id, too_small, 2, etag, &e));
    assert_string_equal(e.code, "InvalidPart"); /* part 3 is missing, found first */
    lake_object_info info;
    assert_false(lake_object_stat(lk, BUCKET, "big/obj", &info, &e));

    lake_part good[2] = {{.number = 1}, {.number = 2}};
    snprintf(good[0].etag, LAKE_ETAG_MAX, "%.32s", e1 + 1); /* unquoted is accepted */
    snprintf(good[1].etag, LAKE_ETAG_MAX, "%s", e2);
    assert_true(lake_mpu_complete(lk, BUCKET, "big/obj", id, good, 2, etag, &e));
    /* md5 of the two binary md5s, "-2" */
    unsigned char both[32], md[EVP_MAX_MD_SIZE];
    unsigned mlen;
    EVP_Digest(p1, big, both, &mlen, EVP_md5(), NULL);
    EVP_Digest("tail", 4, both + 16, &mlen, EVP_md5(), NULL);
    EVP_Digest(both, 32, md, &mlen, EVP_md5(), NULL);
    char want[LAKE_ETAG_MAX];
    lake_etag_format(md, 2, want);
    assert_string_equal(etag, want);
    assert_true(lake_object_stat(lk, BUCKET, "big/obj", &info, &e));
    assert_string_equal(info.etag, want);
    assert_int_equal(info.size, (off_t)big + 4);
    free(p1);
    char dir[LAKE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/.uploads", root);
    assert_int_equal(count_files(dir), 0); /* the upload went with the completion */
    assert_false(lake_mpu_abort(lk, BUCKET, "big/obj", id, &e));
    assert_string_equal(e.code, "NoSuchUpload");
}

static void abort_and_list(void **state)
{
    lake *lk = *state;
    sp_err e = {0};
    char a[LAKE_UPLOAD_ID_LEN + 1], b[LAKE_UPLOAD_ID_LEN + 1], etag[LAKE_ETAG_MAX];
    assert_true(lake_mpu_create(lk, BUCKET, "k/2", a, &e));
    assert_true(lake_mpu_create(lk, BUCKET, "k/1", b, &e));
    assert_true(lake_mpu_part_put(lk, BUCKET, "k/2", a, 1, "x", 1, etag, &e));
    lake_upload *ups;
    size_t n;
    assert_true(lake_mpu_list(lk, BUCKET, "k/", &ups, &n, &e));
    assert_int_equal(n, 2);
    assert_string_equal(ups[0].key, "k/1");
    assert_string_equal(ups[1].id, a);
    lake_uploads_free(ups, n);
    assert_true(lake_mpu_abort(lk, BUCKET, "k/2", a, &e));
    assert_true(lake_mpu_abort(lk, BUCKET, "k/1", b, &e));
    char dir[LAKE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/.uploads", root);
    assert_int_equal(count_files(dir), 0);
    /* hostile ids never reach the file system */
    assert_false(lake_mpu_abort(lk, BUCKET, "k/1", "../" BUCKET, &e));
    assert_string_equal(e.code, "NoSuchUpload");
    assert_true(lake_bucket_exists(lk, BUCKET));
}

static void checksums_match_known_vectors(void **state)
{
    (void)state;
    char out[48];
    lake_checksum_compute(LAKE_CK_CRC32, "123456789", 9, out);
    assert_string_equal(out, "y/Q5Jg==");                 /* cbf43926 */
    lake_checksum_compute(LAKE_CK_CRC32C, "123456789", 9, out);
    assert_string_equal(out, "4waSgw==");                 /* e3069283 */
    lake_checksum_compute(LAKE_CK_CRC64NVME, "123456789", 9, out);
    assert_string_equal(out, "rosUhgp5mIg=");             /* ae8b14860a799888 */
    lake_checksum_compute(LAKE_CK_SHA1, "abc", 3, out);
    assert_string_equal(out, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    sp_err e = {0};
    assert_true(lake_checksum_check(LAKE_CK_CRC32, "y/Q5Jg==", "123456789", 9, &e));
    assert_false(lake_checksum_check(LAKE_CK_CRC32, "y/Q5Jw==", "123456789", 9, &e));
    assert_string_equal(e.code, "BadDigest");
    assert_string_equal(e.msg, "The CRC32 you specified did not match the calculated checksum.");
    assert_false(lake_checksum_check(LAKE_CK_CRC32, "AAAAAAAA", "1", 1, &e));
    assert_string_equal(e.code, "InvalidRequest");
    assert_false(lake_digest_md5_check("XUFAKrxLKna5cZ2REBfFkg", "hello", 5, &e)); /* no pad */
    assert_string_equal(e.code, "InvalidDigest");
    assert_true(lake_digest_md5_check("XUFAKrxLKna5cZ2REBfFkg==", "hello", 5, &e));
    assert_false(lake_digest_md5_check("XUFAKrxLKna5cZ2REBfFkw==", "hello", 5, &e));
    assert_string_equal(e.code, "BadDigest");
    lake_checksum_alg alg;
    assert_true(lake_checksum_by_header("X-Amz-Checksum-SHA256", &alg));
    assert_int_equal(alg, LAKE_CK_SHA256);
    assert_false(lake_checksum_by_header("x-amz-checksum-md5", &alg));
}

static void part_list_xml(void **state)
{
    (void)state;
    lake_part *parts;
    size_t n;
    sp_err e = {0};
    const char *ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload "
                     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>&quot;abc"
                     "&quot;</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
                     "</Part>\n <Part><PartNumber>2</PartNumber><ETag>\"def\"</ETag></Part>"
                     "</CompleteMultipartUpload>\n";
    assert_true(lake_s3_parts_parse(ok, strlen(ok), &parts, &n, &e));
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].number, 1);
    assert_string_equal(parts[0].etag, "\"abc\"");
    assert_string_equal(parts[1].etag, "\"def\"");
    free(parts);
    const char *bad[] = {
        "", "<CompleteMultipartUpload>", "<Other></Other>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a&bogus;</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>trailing",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag><x/></ETag></Part>"
        "</CompleteMultipartUpload>",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        if (lake_s3_parts_parse(bad[i], strlen(bad[i]), &parts, &n, &e)) fail_msg("accepted %s", bad[i]);
        assert_string_equal(e.code, "MalformedXML");
        assert_null(parts);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upload_ids_are_checked_before_any_path),
        cmocka_unit_test_setup_teardown(put_stores_the_md5_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(multipart_complete_checks_and_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(abort_and_list, setup, teardown),
        cmocka_unit_test(checksums_match_known_vectors),
        cmocka_unit_test(part_list_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
