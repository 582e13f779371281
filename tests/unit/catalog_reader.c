/* The lake object reader: documents over several lines, several per line, unfinished ones,
 * and long multi-line documents, read in order with malformed text counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"

/* Writes text to a temporary file and reads every document; returns how many were read and
 * leaves their "n" members in ns (up to cap) and the malformed count in *malformed. */
static size_t read_all(const char *text, size_t text_len, long long *ns, size_t cap, size_t *malformed)
{
    char path[] = "/tmp/unit_catalog_reader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, text_len), (ssize_t)text_len);
    close(fd);
    sp_err e = {0};
    cat_reader *r = cat_reader_open(path, &e);
    assert_non_null(r);
    size_t n = 0;
    json_t *doc;
    int rc;
    while ((rc = cat_reader_next(r, &doc, &e)) == 1) {
        if (n < cap) ns[n] = json_integer_value(json_object_get(doc, "n"));
        n++;
        json_decref(doc);
    }
    assert_int_equal(rc, 0);
    *malformed = cat_reader_malformed(r);
    cat_reader_close(r);
    unlink(path);
    return n;
}

static void pretty_printed_documents_read_in_order(void **state)
{
    (void)state;
    const char *text = "{\n  \"n\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}\n{\"n\":2}\n{\n\"n\":3}\n";
    long long ns[8];
    size_t malformed;
    assert_int_equal(read_all(text, strlen(text), ns, 8, &malformed), 3);
    assert_int_equal(ns[0], 1);
    assert_int_equal(ns[1], 2);
    assert_int_equal(ns[2], 3);
    assert_int_equal(malformed, 0);
}

static void documents_back_to_back_and_across_lines(void **state)
{
    (void)state;
    const char *text = "{\"n\":1}{\"n\":2}{\"n\":\n3}\n{\"n\":4}";
    long long ns[8];
    size_t malformed;
    assert_int_equal(read_all(text, strlen(text), ns, 8, &malformed), 4);
    for (int i = 0; i < 4; i++) assert_int_equal(ns[i], i + 1);
    assert_int_equal(malformed, 0);
}

static void unfinished_document_at_the_end_is_malformed(void **state)
{
    (void)state;
    const char *text = "{\"n\":1}\n{\"n\":2,\n\"a\":[1,\n2\n";
    long long ns[8];
    size_t malformed;
    assert_int_equal(read_all(text, strlen(text), ns, 8, &malformed), 1);
    assert_int_equal(ns[0], 1);
    assert_int_equal(malformed, 1);
}

/* A document over tens of thousands of lines is still one document, and the documents
 * after it are read too (the reader defers re-parsing an unfinished document, it must not
 * lose what follows it). */
static void long_multi_line_document_then_more(void **state)
{
    (void)state;
    enum { LINES = 50000 };
    size_t cap = LINES * 8 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text + len, "{\"n\":1,\"a\":[\n");
    for (int i = 0; i < LINES; i++) len += (size_t)sprintf(text + len, "%d,\n", i % 10);
    len += (size_t)sprintf(text + len, "0]}\n{\"n\":2}\n");
    long long ns[8];
    size_t malformed;
    assert_int_equal(read_all(text, len, ns, 8, &malformed), 2);
    assert_int_equal(ns[0], 1);
    assert_int_equal(ns[1], 2);
    assert_int_equal(malformed, 0);
    free(text);
}

/* The fuzz finding: 85 000 lines of '[' never close; nothing is read, one malformed. */
static void deep_unclosed_document_is_one_malformed(void **state)
{
    (void)state;
    enum { LINES = 85000 };
    char *text = malloc(LINES * 2);
    for (int i = 0; i < LINES; i++) {
        text[2 * i] = '[';
        text[2 * i + 1] = '\n';
    }
    long long ns[1];
    size_t malformed;
    assert_int_equal(read_all(text, LINES * 2, ns, 1, &malformed), 0);
    assert_true(malformed >= 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pretty_printed_documents_read_in_order),
        cmocka_unit_test(documents_back_to_back_and_across_lines),
        cmocka_unit_test(unfinished_document_at_the_end_is_malformed),
        cmocka_unit_test(long_multi_line_document_then_more),
        cmocka_unit_test(deep_unclosed_document_is_one_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
