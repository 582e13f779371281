/* Partition detection from object keys: Hive-style, unnamed, mixed; and table naming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_int.h"

static void expect_names(const char *const *keys, size_t n, size_t depth, const char *const *want)
{
    char *names[8] = {0};
    cat_partition_names(keys, n, depth, names);
    for (size_t i = 0; i < depth; i++) {
        assert_string_equal(names[i], want[i]);
        free(names[i]);
    }
}

static void firehose_layout_is_partition_0_to_3(void **state)
{
    (void)state;
    const char *keys[] = {"2026/11/26/13/sales-delivery-stream-1-2026-11-26-13-00-00-x",
                          "2026/11/26/14/sales-delivery-stream-1-2026-11-26-14-00-00-y"};
    const char *want[] = {"partition_0", "partition_1", "partition_2", "partition_3"};
    assert_int_equal(cat_key_depth(keys[0]), 4);
    expect_names(keys, 2, 4, want);
}

static void hive_folders_name_their_keys(void **state)
{
    (void)state;
    const char *keys[] = {"year=2026/Month=11/f1", "year=2025/Month=01/f2"};
    const char *want[] = {"year", "month"};
    expect_names(keys, 2, 2, want);
    char v[64];
    cat_partition_value("year=2026", "year", v, sizeof v);
    assert_string_equal(v, "2026");
    cat_partition_value("2026", "year", v, sizeof v);
    assert_string_equal(v, "2026");
}

static void mixed_levels_name_each_level_on_its_own(void **state)
{
    (void)state;
    /* level 0 Hive everywhere, level 1 not Hive in one key, level 2 different keys */
    const char *keys[] = {"dt=2026-11-26/13/a=1/f", "dt=2026-11-27/h=14/b=2/f"};
    const char *want[] = {"dt", "partition_1", "partition_2"};
    expect_names(keys, 2, 3, want);
}

static void folder_of_a_key(void **state)
{
    (void)state;
    char f[64];
    assert_true(cat_key_folder("a/bb/c", 1, f, sizeof f));
    assert_string_equal(f, "bb");
    assert_false(cat_key_folder("a/bb/c", 2, f, sizeof f));
}

static void table_names_follow_glue(void **state)
{
    (void)state;
    char out[CAT_NAME_MAX + 1];
    cat_name_sanitize("kinesis-firehose-destination-yb", out);
    assert_string_equal(out, "kinesis_firehose_destination_yb");
    cat_name_sanitize("Processing.Failed", out);
    assert_string_equal(out, "processing_failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(firehose_layout_is_partition_0_to_3),
        cmocka_unit_test(hive_folders_name_their_keys),
        cmocka_unit_test(mixed_levels_name_each_level_on_its_own),
        cmocka_unit_test(folder_of_a_key),
        cmocka_unit_test(table_names_follow_glue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
