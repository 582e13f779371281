/* Pagination tokens and Glue paging: a token round-trips its position, belongs to one
 * listing, and pages cut from a sorted list join up to the whole list with nothing lost or
 * repeated, also when items are added or removed between calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/glue_int.h"

static void token_round_trips_its_position(void **state)
{
    (void)state;
    const char *afters[] = {"", "kinesis_firehose_destination_yb", "s3://b/2026/11/26/09/",
                            "with:colons:and\nnewline", "12345"};
    for (size_t i = 0; i < SP_ARRAY_LEN(afters); i++) {
        char *t = cat_page_token_make("GetTables:sales_db", afters[i]);
        char out[256];
        assert_true(cat_page_token_read(t, "GetTables:sales_db", out, sizeof out));
        assert_string_equal(out, afters[i]);
        free(t);
    }
}

static void token_of_another_listing_is_refused(void **state)
{
    (void)state;
    char *t = cat_page_token_make("GetTables:a", "x");
    char out[64];
    assert_false(cat_page_token_read(t, "GetTables:b", out, sizeof out));
    assert_false(cat_page_token_read(t, "GetTables:", out, sizeof out));
    assert_false(cat_page_token_read(t, "GetPartitions:a", out, sizeof out));
    free(t);
}

static void malformed_tokens_are_refused(void **state)
{
    (void)state;
    char out[64];
    const char *bad[] = {"", "!!!!", "abc", "cDE6", /* "p1:" only */
                         "cDI6MTp4eQ==",            /* "p2:1:xy": wrong version */
                         "cDE6OTk6eA==",            /* "p1:99:x": scope longer than data */
                         "cDE6OngK"};               /* "p1::x\n": no length */
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++)
        assert_false(cat_page_token_read(bad[i], "x", out, sizeof out));
    assert_false(cat_page_token_read(NULL, "x", out, sizeof out));
    char *t = cat_page_token_make("s", "a position longer than the buffer");
    assert_false(cat_page_token_read(t, "s", out, 8));
    free(t);
    char huge[2048];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_false(cat_page_token_read(huge, "s", out, sizeof out));
}

static json_t *names(const char *const *n, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++) json_array_append_new(a, json_pack("{s:s}", "Name", n[i]));
    return a;
}

/* One page of items for MaxResults/NextToken; returns the next token (caller frees) or NULL. */
static char *page(json_t *items, long long max, const char *token, json_t *collected)
{
    json_t *req = json_pack("{s:I}", "MaxResults", (json_int_t)max);
    if (token) json_object_set_new(req, "NextToken", json_string(token));
    sp_err e = {0};
    json_t *out = glue_page(items, glue_key_name, req, "L", 100, "List", &e);
    assert_non_null(out);
    json_t *list = json_object_get(out, "List");
    assert_true(json_array_size(list) <= (size_t)max);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) json_array_append(collected, json_object_get(x, "Name"));
    const char *next = json_string_value(json_object_get(out, "NextToken"));
    char *r = next ? strdup(next) : NULL;
    json_decref(out);
    json_decref(req);
    return r;
}

static void pages_join_up_to_the_whole_list(void **state)
{
    (void)state;
    const char *n[] = {"a", "b", "c", "d", "e"};
    for (long long max = 1; max <= 6; max++) {
        json_t *got = json_array();
        char *tok = NULL;
        size_t pages = 0;
        do {
            char *next = page(names(n, 5), max, tok, got);
            free(tok);
            tok = next;
            pages++;
        } while (tok);
        assert_int_equal(json_array_size(got), 5);
        for (size_t i = 0; i < 5; i++)
            assert_string_equal(json_string_value(json_array_get(got, i)), n[i]);
        assert_int_equal(pages, (5 + max - 1) / max);
        json_decref(got);
    }
}

static void pages_survive_changes_between_calls(void **state)
{
    (void)state;
    const char *before[] = {"a", "c", "e", "g"};
    json_t *got = json_array();
    char *tok = page(names(before, 4), 2, NULL, got); /* a, c */
    assert_non_null(tok);
    /* "b" added before the cut and "c" removed: the next page starts after "c" */
    const char *after[] = {"a", "b", "d", "e", "g"};
    char *tok2 = page(names(after, 5), 2, tok, got); /* d, e */
    assert_non_null(tok2);
    char *tok3 = page(names(after, 5), 2, tok2, got); /* g */
    assert_null(tok3);
    const char *want[] = {"a", "c", "d", "e", "g"};
    assert_int_equal(json_array_size(got), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_array_get(got, i)), want[i]);
    free(tok);
    free(tok2);
    json_decref(got);
}

static void bad_page_requests_are_invalid_input(void **state)
{
    (void)state;
    const char *n[] = {"a"};
    const char *reqs[] = {"{\"MaxResults\":0}", "{\"MaxResults\":101}",
                          "{\"NextToken\":\"garbage\"}", "{\"MaxResults\":\"3\"}"};
    for (size_t i = 0; i < SP_ARRAY_LEN(reqs); i++) {
        json_t *req = json_loads(reqs[i], 0, NULL);
        sp_err e = {0};
        assert_null(glue_page(names(n, 1), glue_key_name, req, "L", 100, "List", &e));
        assert_int_equal(e.status, 400);
        json_decref(req);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_round_trips_its_position),
        cmocka_unit_test(token_of_another_listing_is_refused),
        cmocka_unit_test(malformed_tokens_are_refused),
        cmocka_unit_test(pages_join_up_to_the_whole_list),
        cmocka_unit_test(pages_survive_changes_between_calls),
        cmocka_unit_test(bad_page_requests_are_invalid_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
