/* Fuzz target for the Glue API ops (catalog/glue_api.c, glue_crawler.c, cat_glue_store.c,
 * cat_page.c): the input is "<Operation>\n<JSON body>". A catalog over a small lake (two
 * hours of seed-shaped records, crawled once) is set up at start; every input runs one op
 * against it, so definitions made by earlier inputs are there for later ones. Every answer
 * must be a JSON object; every failure a 4xx/5xx with an exception name and a message. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_op_input.h"
#include "catalog/catalog.h"

static char root[64];
static sp_config *cfg;
static lake *lk;
static cat_catalog *cat;
static cat_glue *glue;

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_catalog_glue_request: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    cat_glue_destroy(glue);
    cat_catalog_close(cat);
    lake_close(lk);
    sp_config_destroy(cfg);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sp_log_set_level(SP_LOG_OFF);
    snprintf(root, sizeof root, "/tmp/fuzz-glue-XXXXXX");
    if (!mkdtemp(root)) fuzz_fail("mkdtemp", NULL);
    char dir[128];
    sp_err e = {0};
    cfg = sp_config_defaults(&e);
    snprintf(dir, sizeof dir, "%s/lake", root);
    lk = cfg ? lake_open(dir, &e) : NULL;
    snprintf(dir, sizeof dir, "%s/catalog", root);
    cat = lk ? cat_catalog_open(dir, &e) : NULL;
    if (!cat) fuzz_fail("setup", e.msg);
    const char *bucket = cfg->buckets[0].name;
    lake_bucket_create(lk, bucket, &e);
    const char *lines =
        "{\"orderid\":\"1\",\"product_name\":\"Laptop\",\"quantity\":2,\"price\":10.5}\n"
        "{\"orderid\":\"2\",\"product_name\":\"Phone\",\"quantity\":1,\"price\":99}\n";
    lake_object_put(lk, bucket, "2026/11/26/09/a", lines, strlen(lines), &e);
    lake_object_put(lk, bucket, "2026/11/26/10/b", lines, strlen(lines), &e);
    cat_crawl_report rep = {0};
    if (!cat_crawl(cat, lk, &cfg->crawlers[0], &cfg->classifiers[0], &rep, &e))
        fuzz_fail("crawl", e.msg);
    cat_crawl_report_clear(&rep);
    glue = cat_glue_new(cfg, cat, lk, &e);
    if (!glue) fuzz_fail("cat_glue_new", e.msg);
    atexit(teardown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!glue) LLVMFuzzerInitialize(NULL, NULL);
    fuzz_op_call(cat_glue_ops, glue, data, size, fuzz_fail);
    return 0;
}
