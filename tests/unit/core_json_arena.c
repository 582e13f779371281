/* Unit tests for the per-thread jansson arena (core/json_arena.c): scopes nest, only
 * allocations inside a scope come from the arena and they are counted until freed, the arena
 * starts over once everything in it is freed (and not before: a live tree is never
 * overwritten), a tree outliving its scope keeps the arena (release refuses) and stays
 * readable, what is made after the scope (members, json_dumps text) is plain malloc, a
 * document too big for the arena falls back to malloc, and threads parse concurrently in
 * their own arenas (one without calling release: its arena is freed at exit, which the ASan
 * build checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static json_t *parse_in_arena(const char *text)
{
    json_error_t je;
    sp_json_arena_begin();
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &je);
    sp_json_arena_end();
    return v;
}

static void scopes_nest_and_only_inside_allocations_count(void **state)
{
    (void)state;
    sp_json_arena_install();
    assert_false(sp_json_arena_active());
    sp_json_arena_begin();
    sp_json_arena_begin();
    sp_json_arena_end();
    assert_true(sp_json_arena_active()); /* the outer scope is still open */
    json_t *in = json_string("inside");
    assert_int_equal(sp_json_arena_live(), 2); /* the value and its text */
    sp_json_arena_end();
    assert_false(sp_json_arena_active());
    sp_json_arena_end(); /* an extra end is harmless */
    json_t *out = json_string("outside");
    assert_int_equal(sp_json_arena_live(), 2);
    json_decref(out);
    json_decref(in);
    assert_int_equal(sp_json_arena_live(), 0);
    assert_true(sp_json_arena_thread_release());
}

static void restarts_only_when_everything_is_freed(void **state)
{
    (void)state;
    json_t *a = parse_in_arena("{\"k\":\"first\"}");
    json_t *b = parse_in_arena("{\"k\":\"second\"}");
    assert_ptr_not_equal(a, b);
    json_decref(a); /* b is live: no restart, so a third tree does not land on b */
    json_t *c = parse_in_arena("{\"k\":\"third\"}");
    assert_ptr_not_equal(c, a);
    assert_string_equal(json_string_value(json_object_get(b, "k")), "second");
    json_decref(b);
    json_decref(c);
    assert_int_equal(sp_json_arena_live(), 0);
    json_t *d = parse_in_arena("{\"k\":\"fourth\"}"); /* restarted: a's place again */
    assert_ptr_equal(d, a);
    assert_string_equal(json_string_value(json_object_get(d, "k")), "fourth");
    json_decref(d);
    assert_true(sp_json_arena_thread_release());
}

static void a_tree_outliving_its_scope_keeps_the_arena(void **state)
{
    (void)state;
    json_t *t = parse_in_arena("{\"a\":[1,2,{\"b\":\"c\\u0000d\"}]}");
    assert_non_null(t);
    json_object_set_new(t, "later", json_string("made after the scope"));
    char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS); /* malloc: free() is right */
    assert_non_null(text);
    assert_string_equal(text, "{\"a\":[1,2,{\"b\":\"c\\u0000d\"}],\"later\":\"made after the scope\"}");
    free(text);
    assert_false(sp_json_arena_thread_release()); /* refused: t still lives in it */
    json_t *u = parse_in_arena("[\"after a refused release\"]");
    assert_string_equal(json_string_value(json_array_get(u, 0)), "after a refused release");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(t, "a"), 1)), 2);
    json_decref(t);
    json_decref(u);
    assert_true(sp_json_arena_thread_release());
    assert_true(sp_json_arena_thread_release()); /* nothing left: still true */
}

static void a_document_too_big_for_the_arena_falls_back_to_malloc(void **state)
{
    (void)state;
    enum { BIG = 600 * 1024 };
    char *doc = malloc(BIG + 16);
    assert_non_null(doc);
    memcpy(doc, "{\"s\":\"", 6);
    memset(doc + 6, 'x', BIG);
    memcpy(doc + 6 + BIG, "\",\"n\":7}", 9);
    json_t *t = parse_in_arena(doc);
    assert_non_null(t);
    assert_int_equal(json_string_length(json_object_get(t, "s")), BIG);
    assert_int_equal(json_integer_value(json_object_get(t, "n")), 7);
    json_decref(t);
    free(doc);
    assert_int_equal(sp_json_arena_live(), 0);
    assert_true(sp_json_arena_thread_release());
}

enum { THREADS = 4, ROUNDS = 3000 };

static void *parser(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char text[128];
    json_t *held = NULL; /* one tree kept across rounds, freed at the end */
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(text, sizeof text, "{\"t\":%ld,\"i\":%d,\"s\":\"v-%ld-%d\",\"a\":[%d,%d]}",
                 (long)id, i, (long)id, i, i, -i);
        json_t *t = parse_in_arena(text);
        if (!t || json_integer_value(json_object_get(t, "t")) != id ||
            json_integer_value(json_object_get(t, "i")) != i)
            return (void *)1;
        char want[32];
        snprintf(want, sizeof want, "v-%ld-%d", (long)id, i);
        if (strcmp(json_string_value(json_object_get(t, "s")), want) != 0) return (void *)1;
        if (i == 10) held = t;
        else json_decref(t);
        if (held && json_integer_value(json_object_get(held, "i")) != 10) return (void *)1;
    }
    json_decref(held);
    if (sp_json_arena_live() != 0) return (void *)1;
    if (id % 2 == 0 && !sp_json_arena_thread_release()) return (void *)1;
    return NULL; /* odd ids leave their arena to the thread-exit release */
}

static void threads_parse_concurrently_in_their_own_arenas(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, parser, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rc = (void *)1;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes_nest_and_only_inside_allocations_count),
        cmocka_unit_test(restarts_only_when_everything_is_freed),
        cmocka_unit_test(a_tree_outliving_its_scope_keeps_the_arena),
        cmocka_unit_test(a_document_too_big_for_the_arena_falls_back_to_malloc),
        cmocka_unit_test(threads_parse_concurrently_in_their_own_arenas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
