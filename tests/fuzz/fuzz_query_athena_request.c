/* Fuzz target for the Athena API ops (query/athena_api.c): the input is "<Operation>\n<JSON
 * body>", run against one endpoint over an empty catalog and a lake with one bucket, so
 * StartQueryExecution really queues queries for the query thread and later inputs page,
 * list and stop them. Every answer must be a JSON object; every failure a 4xx/5xx with an
 * exception name and a message. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "fuzz_op_input.h"
#include "query/query.h"

/* A recursive CTE in an input must end, and quickly: the fuzzer waits for nothing. */
enum { FUZZ_QUERY_TIMEOUT_SECONDS = 1 };

static char root[64];
static lake *lk;
static cat_catalog *cat;
static qry_athena *athena;

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_query_athena_request: %s\n%s\n", what, detail ? detail : "");
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
    qry_athena_destroy(athena);
    cat_catalog_close(cat);
    lake_close(lk);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sp_log_set_level(SP_LOG_OFF);
    snprintf(root, sizeof root, "/tmp/fuzz-athena-XXXXXX");
    if (!mkdtemp(root)) fuzz_fail("mkdtemp", NULL);
    char dir[128];
    sp_err e = {0};
    snprintf(dir, sizeof dir, "%s/lake", root);
    lk = lake_open(dir, &e);
    snprintf(dir, sizeof dir, "%s/catalog", root);
    cat = lk ? cat_catalog_open(dir, &e) : NULL;
    if (!cat || !lake_bucket_create(lk, "results", &e)) fuzz_fail("setup", e.msg);
    athena = qry_athena_new(cat, lk, FUZZ_QUERY_TIMEOUT_SECONDS, &e);
    if (!athena) fuzz_fail("qry_athena_new", e.msg);
    /* OpenSSL registers its own exit-time cleanup when first used; used first by the query
     * thread (the result writer's random names), that cleanup would run before teardown and
     * pull the library from under a query still running: leaks, a hang in its locks or a
     * crash. So it is set up here, random generator included, before teardown is registered. */
    unsigned char byte;
    if (!OPENSSL_init_crypto(0, NULL) || RAND_bytes(&byte, 1) != 1) fuzz_fail("OpenSSL", NULL);
    atexit(teardown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!athena) LLVMFuzzerInitialize(NULL, NULL);
    fuzz_op_call(qry_athena_ops, athena, data, size, fuzz_fail);
    /* The query thread's work belongs to this input: its allocations are not counted as
     * another input's leaks, and nothing runs while the process exits. */
    qry_athena_wait_idle(athena);
    return 0;
}
