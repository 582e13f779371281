/* libjq as the delivery stage runs it: records are decoded by jansson and handed to jq as
 * values, so every JSON type, member order and number comes out as jq itself would print it,
 * and malformed records fail cleanly (the ones libjq 1.6's own parser leaks on included).
 * Programs run with a time budget per record (a runaway one fails its record, the next record
 * is served) and see nothing of the process: no environment, no files, no modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/dlv_int.h"

/* Runs program over in and checks the outputs, joined by spaces. */
static void expect_run(const char *program, const char *in, size_t len, const char *want)
{
    sp_err e = {0};
    dlv_jq *q = dlv_jq_new(program, &e);
    if (!q) fail_msg("%s: %s", program, e.msg);
    json_t *outs;
    if (!dlv_jq_run(q, in, len, &outs, &e)) fail_msg("%s on %s: %s", program, in, e.msg);
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    size_t i;
    json_t *x;
    json_array_foreach(outs, i, x) sp_str_appendf(&s, "%s%s", i ? " " : "", json_string_value(x));
    if (strcmp(s.buf ? s.buf : "", want)) fail_msg("%s on %s: got %s, want %s", program, in, s.buf, want);
    sp_str_release(&s);
    json_decref(outs);
    dlv_jq_destroy(q);
}

static void values_reach_jq_whole(void **state)
{
    (void)state;
    const char *rec = "{\"z\":1,\"a\":[true,false,null,2.5,\"s\"],\"m\":{\"k\":-3}}";
    expect_run(".", rec, strlen(rec), "{\"z\":1,\"a\":[true,false,null,2.5,\"s\"],\"m\":{\"k\":-3}}");
    expect_run(".a[] | type", rec, strlen(rec),
               "\"boolean\" \"boolean\" \"null\" \"number\" \"string\"");
    expect_run(".m.k * 2", rec, strlen(rec), "-6");
    expect_run("keys_unsorted", rec, strlen(rec), "[\"z\",\"a\",\"m\"]");
    /* scalars at the top, numbers past 64 bits, NUL inside strings */
    expect_run(". + 1", "41", 2, "42");
    expect_run(". > 1e19", "12345678901234567890", 20, "true");
    expect_run("length", "\"a\\u0000b\"", 10, "3");
    expect_run(".b", "{\"b\":1,\"b\":2}", 13, "2");
    expect_run("select(.drop != true)", "{\"drop\":true}", 13, "");
}

static void malformed_records_fail_without_leaks(void **state)
{
    (void)state;
    const char *bad[] = {"{\"a\" \"b\"}", "[\"a\" \"b\"]", "{\"a\":\"b\" \"c\"}", "[1 2]",
                         "{\"a\":1", "", "1 2", "\"\xff\"", "nan", "{\"a\":1}x"};
    sp_err e = {0};
    dlv_jq *q = dlv_jq_new(".", &e);
    assert_non_null(q);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *outs = (json_t *)1;
        sp_err re = {0};
        if (dlv_jq_run(q, bad[i], strlen(bad[i]), &outs, &re)) fail_msg("accepted %s", bad[i]);
        assert_null(outs);
        assert_int_equal(re.status, 400);
        assert_non_null(strstr(re.msg, "record is not JSON"));
    }
    dlv_jq_destroy(q);
}

static void jq_errors_are_reported(void **state)
{
    (void)state;
    sp_err e = {0};
    assert_null(dlv_jq_new(".a |", &e));
    assert_int_equal(e.status, 400);
    dlv_jq *q = dlv_jq_new(".a + 1", &e);
    assert_non_null(q);
    json_t *outs;
    sp_err re = {0};
    assert_false(dlv_jq_run(q, "{\"a\":\"x\"}", 9, &outs, &re));
    assert_non_null(strstr(re.msg, "jq:"));
    dlv_jq_destroy(q);
}


static const char SECRET[] = "unit-secret-5b1e";

/* Expects program to fail on in, with want in the message. */
static void expect_fail(dlv_jq *q, const char *in, const char *want)
{
    json_t *outs = NULL;
    sp_err e = {0};
    if (dlv_jq_run(q, in, strlen(in), &outs, &e)) {
        char *t = json_dumps(outs, 0);
        fail_msg("succeeded with %s, want an error containing '%s'", t, want);
    }
    if (!strstr(e.msg, want)) fail_msg("error '%s' does not contain '%s'", e.msg, want);
}

static void runaway_programs_fail_their_record_and_the_next_one_runs(void **state)
{
    (void)state;
    const char *runaway[] = {"def f: f; f", "[range(1e9)]", "last(repeat(1))",
                             "[limit(1e9; repeat(\"x\"))] | length", "until(false; .)"};
    for (size_t i = 0; i < sizeof runaway / sizeof *runaway; i++) {
        sp_err e = {0};
        dlv_jq *q = dlv_jq_new(runaway[i], &e);
        if (!q) fail_msg("%s: %s", runaway[i], e.msg);
        uint64_t t0 = sp_clock_mono_ns();
        expect_fail(q, "{}", "budget");
        assert_true(sp_clock_mono_ns() - t0 < 5 * 1000000000ull);
        dlv_jq_destroy(q);
    }
    /* A program that only runs away on some records: the others still come out. */
    expect_run("if .n == 2 then last(repeat(1)) else .n end", "{\"n\":1}", 7, "1");
    sp_err e = {0};
    dlv_jq *q = dlv_jq_new("if .n == 2 then last(repeat(1)) else .n end", &e);
    assert_non_null(q);
    expect_fail(q, "{\"n\":2}", "budget");
    json_t *outs;
    assert_true(dlv_jq_run(q, "{\"n\":3}", 7, &outs, &e));
    assert_string_equal(json_string_value(json_array_get(outs, 0)), "3");
    json_decref(outs);
    /* Endless outputs hit the output cap instead. */
    dlv_jq_destroy(q);
    q = dlv_jq_new("repeat(1)", &e);
    expect_fail(q, "{}", "exceed");
    dlv_jq_destroy(q);
}

static void programs_see_no_environment_files_or_modules(void **state)
{
    (void)state;
    setenv("SALESPIPE_UNIT_SECRET", SECRET, 1);
    /* A ~/.jq that would define a function and leak a value. */
    char home[] = "/tmp/jq-home-XXXXXX";
    assert_non_null(mkdtemp(home));
    char dotjq[64];
    snprintf(dotjq, sizeof dotjq, "%s/.jq", home);
    FILE *f = fopen(dotjq, "w");
    fprintf(f, "def leak: \"%s\";\n", SECRET);
    fclose(f);
    setenv("HOME", home, 1);
    expect_run("env", "null", 4, "{}");
    expect_run("$ENV", "null", 4, "{}");
    expect_run("$ENV.SALESPIPE_UNIT_SECRET", "null", 4, "null");
    expect_run("env.HOME, $ENV.PATH", "null", 4, "null null");
    expect_run("def g: $ENV; g | length", "null", 4, "0");
    expect_run("input_filename", "null", 4, "null");
    expect_run("$__loc__", "null", 4, "{\"file\":\"<top-level>\",\"line\":1}");
    expect_run("get_search_list", "null", 4, "[]");
    expect_run("[inputs]", "null", 4, "[]");
    expect_run("debug | stderr", "1", 1, "1");
    const char *refused_at_compile[] = {"import \"a\" as a; .", "include \"a\"; .",
                                        "import \"a\" as $a; .", ". as $x | include \"a\"; ."};
    for (size_t i = 0; i < sizeof refused_at_compile / sizeof *refused_at_compile; i++) {
        sp_err e = {0};
        assert_null(dlv_jq_new(refused_at_compile[i], &e));
        assert_int_equal(e.status, 400);
    }
    const char *fail_at_run[] = {"input", "modulemeta", "halt", "halt_error", "leak"};
    for (size_t i = 0; i < sizeof fail_at_run / sizeof *fail_at_run; i++) {
        sp_err e = {0};
        dlv_jq *q = dlv_jq_new(fail_at_run[i], &e);
        if (!q) continue;            /* refused outright is as good */
        json_t *outs = NULL;
        if (dlv_jq_run(q, "{}", 2, &outs, &e)) {
            char *t = json_dumps(outs, JSON_ENCODE_ANY);
            fail_msg("%s ran: %s", fail_at_run[i], t);
        }
        assert_null(strstr(e.msg, SECRET));
        dlv_jq_destroy(q);
    }
    /* The program's own text still cannot reach a secret through a nested scope. */
    expect_run("[paths] | length", "{\"a\":1}", 7, "1");
    unlink(dotjq);
    rmdir(home);
    unsetenv("SALESPIPE_UNIT_SECRET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_reach_jq_whole),
        cmocka_unit_test(malformed_records_fail_without_leaks),
        cmocka_unit_test(jq_errors_are_reported),
        cmocka_unit_test(runaway_programs_fail_their_record_and_the_next_one_runs),
        cmocka_unit_test(programs_see_no_environment_files_or_modules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
