/* Atomic replacement and directory creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void mkdirs_creates_every_level_and_is_idempotent(void **state)
{
    (void)state;
    char root[] = "/tmp/sp-fs-XXXXXX";
    assert_non_null(mkdtemp(root));
    char deep[256];
    snprintf(deep, sizeof deep, "%s/a/b/c", root);
    sp_err e = {0};
    assert_true(sp_fs_mkdirs(deep, &e));
    assert_true(sp_fs_mkdirs(deep, &e));
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    char file[256];
    snprintf(file, sizeof file, "%s/a/f", root);
    assert_true(sp_fs_write_atomic(file, "x", 1, &e));
    snprintf(deep, sizeof deep, "%s/a/f/g", root);   /* a file in the way */
    assert_false(sp_fs_mkdirs(deep, &e));
    assert_int_equal(e.status, 500);
    assert_non_null(strstr(e.msg, "a/f"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

static void write_atomic_replaces_whole_content_and_leaves_no_temporary(void **state)
{
    (void)state;
    char root[] = "/tmp/sp-fs-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[256], tmp[256];
    snprintf(path, sizeof path, "%s/state.json", root);
    snprintf(tmp, sizeof tmp, "%s/.tmp-state.json", root);
    sp_err e = {0};
    assert_true(sp_fs_write_atomic(path, "first version", 13, &e));
    assert_string_equal(slurp(path), "first version");
    /* a temporary left by a crash is reused, not an obstacle */
    FILE *f = fopen(tmp, "w");
    fputs("torn", f);
    fclose(f);
    json_t *doc = json_pack("{s:i}", "n", 2);
    assert_true(sp_fs_write_json_atomic(path, doc, &e));
    json_decref(doc);
    assert_string_equal(slurp(path), "{\"n\":2}");
    assert_int_not_equal(access(tmp, F_OK), 0);
    snprintf(path, sizeof path, "%s/missing-dir/x", root);
    assert_false(sp_fs_write_atomic(path, "x", 1, &e));
    assert_non_null(strstr(e.msg, "missing-dir"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mkdirs_creates_every_level_and_is_idempotent),
        cmocka_unit_test(write_atomic_replaces_whole_content_and_leaves_no_temporary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
