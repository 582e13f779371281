/* Crawler inputs: Exclusions follow Glue's glob semantics (* stays in a folder, ** crosses
 * folders, ?, [..], [!..], {a,b}, \ escapes) and malformed patterns are refused; Schedule
 * accepts Glue's cron(...) forms and refuses the rest naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/catalog.h"

static bool glob(const char *pattern, const char *key)
{
    sp_err e = {0};
    cat_glob *g = cat_glob_compile(pattern, &e);
    if (!g) fail_msg("'%s' refused: %s", pattern, e.msg);
    bool r = cat_glob_match(g, key);
    cat_glob_destroy(g);
    return r;
}

static void globs_match_as_glue_does(void **state)
{
    (void)state;
    assert_true(glob("*.csv", "a.csv"));
    assert_false(glob("*.csv", "dir/a.csv"));     /* * does not cross folders */
    assert_true(glob("**.csv", "dir/sub/a.csv"));  /* ** does */
    assert_true(glob("departments/**", "departments/x/y.json"));
    assert_false(glob("departments/**", "other/departments/y.json"));
    assert_true(glob("**/tmp/**", "2026/01/tmp/a"));
    assert_true(glob("a?c", "abc"));
    assert_false(glob("a?c", "a/c"));
    assert_true(glob("[a-c]x", "bx"));
    assert_false(glob("[!a-c]x", "bx"));
    assert_true(glob("[!a-c]x", "dx"));
    assert_true(glob("{2025,2026}/**", "2026/01/a"));
    assert_false(glob("{2025,2026}/**", "2024/01/a"));
    assert_true(glob("a.b", "a.b"));
    assert_false(glob("a.b", "axb"));              /* regex characters are themselves */
    assert_true(glob("a\\*b", "a*b"));
    assert_false(glob("a\\*b", "axb"));
    assert_true(glob("(x)+|y$", "(x)+|y$"));
    assert_true(glob("[]a]", "]"));
    assert_true(glob("[*?]", "?"));
}

static void refused(const char *pattern, const char *needle)
{
    sp_err e = {0};
    cat_glob *g = cat_glob_compile(pattern, &e);
    if (g) fail_msg("'%s' accepted", pattern);
    assert_string_equal(e.code, "InvalidInputException");
    if (!strstr(e.msg, needle)) fail_msg("'%s': '%s' lacks '%s'", pattern, e.msg, needle);
}

static void bad_globs_are_refused(void **state)
{
    (void)state;
    refused("", "1 to 1024");
    refused("{a,{b}}", "nested");
    refused("{a,b", "not closed");
    refused("[abc", "not closed");
    refused("[]", "not closed");
    refused("a\\", "backslash");
    refused("[z-a]", "valid pattern");
    refused("a\nb", "line break");
}

static bool cron(const char *expr)
{
    sp_err e = {0};
    bool ok = cat_cron_valid(expr, &e);
    if (!ok) assert_string_equal(e.code, "InvalidInputException");
    return ok;
}

static void cron_expressions_as_glue_takes_them(void **state)
{
    (void)state;
    assert_true(cron("cron(15 12 * * ? *)"));
    assert_true(cron("cron(0/30 8-18 ? * MON-FRI *)"));
    assert_true(cron("cron(0 10 L * ? 2026-2030)"));
    assert_true(cron("cron(0 10 15W * ? *)"));
    assert_true(cron("cron(0 10 ? * 6#3 *)"));
    assert_true(cron("cron(0 10 ? * 6L *)"));
    assert_true(cron("cron(0,15,30,45 * ? JAN-MAR,DEC SUN *)"));
    assert_false(cron("cron(61 12 * * ? *)"));
    assert_false(cron("cron(0 24 * * ? *)"));
    assert_false(cron("cron(0 12 * * * *)"));   /* neither day field is ? */
    assert_false(cron("cron(0 12 ? * ? *)"));   /* both are */
    assert_false(cron("cron(0 12 * * ?)"));     /* five fields */
    assert_false(cron("cron(0 12 * * ? * *)"));
    assert_false(cron("cron(0 12 ? * FUNDAY *)"));
    assert_false(cron("cron(0 12 * 13 ? *)"));
    assert_false(cron("cron(0 12 * * ? 1969)"));
    assert_false(cron("cron(0/0 12 * * ? *)"));
    assert_false(cron("cron(? 12 * * ? *)"));
    assert_false(cron("cron(1, 12 * * ? *)"));
    assert_false(cron("rate(5 minutes)"));
    assert_false(cron("cron()"));
    sp_err e = {0};
    assert_false(cat_cron_valid("cron(0 12 * 13 ? *)", &e));
    assert_non_null(strstr(e.msg, "Month"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(globs_match_as_glue_does),
        cmocka_unit_test(bad_globs_are_refused),
        cmocka_unit_test(cron_expressions_as_glue_takes_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
