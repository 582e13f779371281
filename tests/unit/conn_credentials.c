/* Where an outbound client's credentials come from: the shared credentials file's syntax
 * (profiles, comments, spacing, hostile lines) and the order of the sources (configuration,
 * environment, file) as AWS's SDKs apply it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn/conn.h"

static bool parse(const char *text, const char *profile, conn_aws_creds *c, sp_err *e)
{
    return conn_aws_creds_parse("credentials", text, strlen(text), profile, c, e);
}

static void the_named_profile_is_read_with_comments_and_spacing(void **state)
{
    (void)state;
    const char *text =
        "# a comment\n"
        "[default]\n"
        "aws_access_key_id=AKIDDEFAULT\n"
        "aws_secret_access_key = default-secret\n"
        "\n"
        "; another comment\n"
        "[ dev ]\r\n"
        "  aws_access_key_id   =   AKIDDEV  \r\n"
        "\taws_secret_access_key=dev/secret+key=\r\n"
        "aws_session_token = token-of-dev\r\n"
        "region = eu-west-1\n"
        "[other]\n"
        "aws_access_key_id = AKIDOTHER\n";
    conn_aws_creds c;
    sp_err e = {0};
    assert_true(parse(text, "default", &c, &e));
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.secret_access_key, "default-secret");
    assert_string_equal(c.session_token, "");
    assert_true(parse(text, "dev", &c, &e));
    assert_string_equal(c.access_key_id, "AKIDDEV");
    assert_string_equal(c.secret_access_key, "dev/secret+key=");   /* '=' inside the value */
    assert_string_equal(c.session_token, "token-of-dev");
    assert_string_equal(c.source, "shared credentials file");
}

static void a_missing_or_incomplete_profile_is_refused(void **state)
{
    (void)state;
    const char *text = "[default]\naws_access_key_id = A\naws_secret_access_key = S\n"
                       "[half]\naws_access_key_id = A\n";
    conn_aws_creds c;
    sp_err e = {0};
    assert_false(parse(text, "absent", &c, &e));
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "ProfileNotFound");
    assert_non_null(strstr(e.msg, "no profile 'absent'"));
    sp_err_clear(&e);
    assert_false(parse(text, "half", &c, &e));
    assert_non_null(strstr(e.msg, "lacks aws_access_key_id or aws_secret_access_key"));
    assert_string_equal(c.access_key_id, "");   /* nothing half-filled is left behind */
    sp_err_clear(&e);
    assert_false(parse("", "default", &c, &e));
}

static void malformed_lines_are_refused_naming_the_line(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"[default]\njust words\n", "credentials:2: expected \"key = value\""},
        {"[default\naws_access_key_id = A\n", "credentials:1: a section header must be [name]"},
        {"[default]\naws_access_key_id = A\x01\n", "credentials:2: control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        conn_aws_creds c;
        sp_err e = {0};
        assert_false(parse(bad[i][0], "default", &c, &e));
        assert_string_equal(e.code, "InvalidCredentialsFile");
        if (!strstr(e.msg, bad[i][1])) fail_msg("%zu: %s", i, e.msg);
    }
    /* Over-long values and lines are refused, not truncated. */
    char *text = malloc(20000);
    int n = snprintf(text, 20000, "[default]\naws_access_key_id = ");
    memset(text + n, 'K', 200);
    snprintf(text + n + 200, 100, "\naws_secret_access_key = s\n");
    conn_aws_creds c;
    sp_err e = {0};
    assert_false(parse(text, "default", &c, &e));
    assert_non_null(strstr(e.msg, "value of aws_access_key_id is too long"));
    memset(text, 'x', 19999);
    text[19999] = '\0';
    sp_err_clear(&e);
    assert_false(parse(text, "default", &c, &e));
    assert_non_null(strstr(e.msg, "line longer than"));
    free(text);
    /* Not NUL-terminated: the length is the bound. */
    const char unterminated[] = {'[', 'd', ']', '\n', 'a', 'w', 's', '_', 'a'};
    sp_err_clear(&e);
    assert_false(conn_aws_creds_parse("f", unterminated, sizeof unterminated, "d", &c, &e));
}

static void sources_are_taken_in_the_sdk_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/conn_credsXXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128];
    snprintf(file, sizeof file, "%s/credentials", dir);
    FILE *f = fopen(file, "w");
    fputs("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"
          "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = ci-secret\n", f);
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    unsetenv("AWS_PROFILE");
    conn_aws_creds c;
    sp_err e = {0};
    /* 1. configuration */
    assert_true(conn_aws_creds_resolve("AKIDCFG", "cfg-secret", NULL, NULL, &c, &e));
    assert_string_equal(c.access_key_id, "AKIDCFG");
    assert_string_equal(c.source, "config");
    /* 2. environment */
    assert_true(conn_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, &e));
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.session_token, "env-token");
    assert_string_equal(c.source, "environment");
    /* 3. the file, profile from AWS_PROFILE or the argument */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    assert_true(conn_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, &e));
    assert_string_equal(c.access_key_id, "AKIDFILE");
    setenv("AWS_PROFILE", "ci", 1);
    assert_true(conn_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, &e));
    assert_string_equal(c.access_key_id, "AKIDCI");
    assert_true(conn_aws_creds_resolve(NULL, NULL, NULL, "default", &c, &e));
    assert_string_equal(c.access_key_id, "AKIDFILE");
    /* Nowhere: the message says where it looked, never the file's path. */
    assert_false(conn_aws_creds_resolve(NULL, NULL, NULL, "nobody", &c, &e));
    assert_string_equal(e.code, "NoCredentials");
    assert_non_null(strstr(e.msg, "AWS_ACCESS_KEY_ID"));
    assert_null(strstr(e.msg, dir));
    sp_err_clear(&e);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    assert_false(conn_aws_creds_resolve(NULL, NULL, NULL, NULL, &c, &e));
    assert_non_null(strstr(e.msg, "no readable shared credentials file"));
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_named_profile_is_read_with_comments_and_spacing),
        cmocka_unit_test(a_missing_or_incomplete_profile_is_refused),
        cmocka_unit_test(malformed_lines_are_refused_naming_the_line),
        cmocka_unit_test(sources_are_taken_in_the_sdk_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
