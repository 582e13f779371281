/* Unit tests for logging (core/log.c): level names parse, the level filters what is written,
 * and each event is one stderr line "<ISO-8601 ms UTC> <level> <message>\n", cut (still one
 * line) when it is too long. stderr is captured through a pipe with dup2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

typedef struct capture {
    int saved_fd;
    int pipe_r;
    char text[8192];
} capture;

static void capture_begin(capture *c)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    c->pipe_r = fds[0];
}

/* Restores stderr and reads everything written meanwhile into c->text. */
static const char *capture_end(capture *c)
{
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof c->text - 1 &&
           (n = read(c->pipe_r, c->text + len, sizeof c->text - 1 - len)) > 0)
        len += (size_t)n;
    close(c->pipe_r);
    c->text[len] = '\0';
    return c->text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void level_names_parse(void **state)
{
    (void)state;
    static const struct { const char *name; sp_log_level level; } cases[] = {
        {"debug", SP_LOG_DEBUG}, {"info", SP_LOG_INFO}, {"warn", SP_LOG_WARN},
        {"error", SP_LOG_ERROR}, {"off", SP_LOG_OFF},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        sp_log_level l = SP_LOG_OFF;
        assert_true(sp_log_level_parse(cases[i].name, &l));
        assert_int_equal(l, cases[i].level);
    }
    sp_log_level l = SP_LOG_WARN;
    assert_false(sp_log_level_parse("INFO", &l));
    assert_false(sp_log_level_parse("warning", &l));
    assert_false(sp_log_level_parse("", &l));
    assert_int_equal(l, SP_LOG_WARN); /* untouched on failure */
}

static void set_and_get_level(void **state)
{
    (void)state;
    sp_log_set_level(SP_LOG_ERROR);
    assert_int_equal(sp_log_get_level(), SP_LOG_ERROR);
    sp_log_set_level(SP_LOG_INFO);
    assert_int_equal(sp_log_get_level(), SP_LOG_INFO);
}

static void line_has_timestamp_level_and_message(void **state)
{
    (void)state;
    capture c;
    sp_log_set_level(SP_LOG_INFO);
    capture_begin(&c);
    sp_info("hello %s %d", "world", 42);
    const char *out = capture_end(&c);
    /* 2026-11-26T12:00:00.123Z info  hello world 42\n */
    assert_int_equal(count_lines(out), 1);
    assert_true(strlen(out) > 25);
    for (int i = 0; i < 24; i++) {
        if (i == 4 || i == 7) assert_int_equal(out[i], '-');
        else if (i == 10) assert_int_equal(out[i], 'T');
        else if (i == 13 || i == 16) assert_int_equal(out[i], ':');
        else if (i == 19) assert_int_equal(out[i], '.');
        else if (i == 23) assert_int_equal(out[i], 'Z');
        else assert_true(isdigit((unsigned char)out[i]));
    }
    assert_string_equal(out + 24, " info  hello world 42\n");
}

static void level_filters_lower_levels(void **state)
{
    (void)state;
    capture c;
    sp_log_set_level(SP_LOG_WARN);
    capture_begin(&c);
    sp_debug("d");
    sp_info("i");
    sp_warn("w");
    sp_error("e");
    const char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, " debug "));
    assert_null(strstr(out, " info "));
    assert_non_null(strstr(out, " warn  w\n"));
    assert_non_null(strstr(out, " error e\n"));
    assert_true(strstr(out, " warn ") < strstr(out, " error "));

    sp_log_set_level(SP_LOG_DEBUG);
    capture_begin(&c);
    sp_debug("d");
    out = capture_end(&c);
    assert_non_null(strstr(out, " debug d\n"));

    sp_log_set_level(SP_LOG_OFF);
    capture_begin(&c);
    sp_error("e");
    sp_log(SP_LOG_OFF, "never");
    out = capture_end(&c);
    assert_string_equal(out, "");
    sp_log_set_level(SP_LOG_INFO);
}

static void long_message_is_cut_to_one_line(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'L', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture c;
    sp_log_set_level(SP_LOG_INFO);
    capture_begin(&c);
    sp_warn("%s", big);
    const char *out = capture_end(&c);
    assert_int_equal(count_lines(out), 1);
    size_t len = strlen(out);
    assert_true(len > 1000 && len < 1100);
    assert_int_equal(out[len - 1], '\n');
    assert_int_equal(out[len - 2], 'L');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(level_names_parse),
        cmocka_unit_test(set_and_get_level),
        cmocka_unit_test(line_has_timestamp_level_and_message),
        cmocka_unit_test(level_filters_lower_levels),
        cmocka_unit_test(long_message_is_cut_to_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
