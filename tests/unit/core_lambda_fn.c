/* The one check between a Lambda function reference from outside and the file that runs:
 * bare names and full function ARNs as Lambda allows them, nothing that could name a path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/lambda_fn.h"

static void names_and_function_arns_are_accepted(void **state)
{
    (void)state;
    struct { const char *ref, *name, *qualifier; } ok[] = {
        {"upper", "upper", ""},
        {"a", "a", ""},
        {"My_Func-2", "My_Func-2", ""},
        {"arn:aws:lambda:us-east-1:000000000000:function:upper", "upper", ""},
        {"arn:aws:lambda:us-east-1:123456789012:function:upper:$LATEST", "upper", "$LATEST"},
        {"arn:aws:lambda:eu-west-3:123456789012:function:f:7", "f", "7"},
        {"arn:aws:lambda:us-gov-west-1:123456789012:function:f:prod", "f", "prod"},
        {"arn:aws-cn:lambda:cn-north-1:123456789012:function:f", "f", ""},
    };
    char n64[65];
    memset(n64, 'n', 64);
    n64[64] = '\0';
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        sp_lambda_fn fn;
        sp_err e = {0};
        if (!sp_lambda_fn_parse(ok[i].ref, &fn, &e)) fail_msg("%s: %s", ok[i].ref, e.msg);
        assert_string_equal(fn.name, ok[i].name);
        assert_string_equal(fn.qualifier, ok[i].qualifier);
        assert_string_equal(fn.arn, strncmp(ok[i].ref, "arn:", 4) ? "" : ok[i].ref);
    }
    sp_lambda_fn fn;
    sp_err e = {0};
    assert_true(sp_lambda_fn_parse(n64, &fn, &e));
    assert_string_equal(fn.name, n64);
}

static void paths_and_malformed_references_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "../lake/b/x.py:h", "/tmp/x.py:h", "x.py", "x.py:lambda_handler", "a/b", "..", ".",
        "a b", "a\nb", "lambda/x", "x:y",
        "arn:aws:lambda:us-east-1:123456789012:function:../x",
        "arn:aws:lambda:us-east-1:123456789012:function:a/b",
        "arn:aws:lambda:us-east-1:123456789012:function:x.py",
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:lambda:us-east-1:123456789012:function:f:",
        "arn:aws:lambda:us-east-1:123456789012:function:f:../x",
        "arn:aws:lambda:us-east-1:123456789012:function:f:1:2",
        "arn:aws:lambda:us-east-1:12345678901:function:f",
        "arn:aws:lambda:us-east-1:1234567890123:function:f",
        "arn:aws:lambda:useast1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:123456789012:layer:f",
        "arn:aws:s3:::bucket/function:f",
        "arn:lambda:us-east-1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:123456789012:function:f\n",
        "function:f", "123456789012:function:f",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sp_lambda_fn fn;
        sp_err e = {0};
        if (sp_lambda_fn_parse(bad[i], &fn, &e)) fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, "InvalidArgumentException");
        assert_string_equal(fn.name, "");
    }
    char n65[66], q129[200], longarn[400];
    memset(n65, 'n', 65);
    n65[65] = '\0';
    memset(q129, 'q', 129);
    q129[129] = '\0';
    sp_lambda_fn fn;
    sp_err e = {0};
    assert_false(sp_lambda_fn_parse(n65, &fn, &e));
    snprintf(longarn, sizeof longarn, "arn:aws:lambda:us-east-1:123456789012:function:f:%s", q129);
    assert_false(sp_lambda_fn_parse(longarn, &fn, &e));
    assert_false(sp_lambda_fn_parse(NULL, &fn, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_function_arns_are_accepted),
        cmocka_unit_test(paths_and_malformed_references_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
