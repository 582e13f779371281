/* Exactly once through intents: a normal flush advances the checkpoint and leaves no intent;
 * an open intent is redone before anything new, exactly over its range and under the same
 * keys (so objects written before a crash are overwritten, not duplicated); keys an earlier
 * attempt recorded but the redo does not produce are deleted; the Direct PUT log cuts a torn
 * tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "delivery/dlv_int.h"

typedef struct fixture {
    char root[64];
    char path[4][256];   /* lake, run dir, direct log, state */
    lake *lk;
    dlv_direct *direct;
    dlv_def *def;
    uint64_t pos[16];
} fixture;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/dlv-intent-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->path[0], 256, "%s/lake", f->root);
    snprintf(f->path[1], 256, "%s/run", f->root);
    snprintf(f->path[2], 256, "%s/direct.log", f->root);
    snprintf(f->path[3], 256, "%s/run/state.json", f->root);
    mkdir(f->path[1], 0755);
    sp_err e = {0};
    f->lk = lake_open(f->path[0], &e);
    assert_non_null(f->lk);
    assert_true(lake_bucket_create(f->lk, "bucket-a", &e));
    f->direct = dlv_direct_open(f->path[2], &e);
    assert_non_null(f->direct);
    sp_cfg_delivery cfg = {.name = "intent-test", .bucket = "bucket-a", .prefix = "",
                           .error_output_prefix = "", .buffer_size_mb = 1,
                           .buffer_interval_seconds = 0, .compression = "UNCOMPRESSED",
                           .append_delimiter = true};
    f->def = dlv_def_from_config(&cfg, &e);
    assert_non_null(f->def);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dlv_def_free(f->def);
    dlv_direct_close(f->direct);
    lake_close(f->lk);
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void append(fixture *f, int from, int n)
{
    const void *data[16];
    size_t lens[16];
    char bufs[16][16];
    for (int i = 0; i < n; i++) {
        snprintf(bufs[i], sizeof bufs[i], "rec-%d", from + i);
        data[i] = bufs[i];
        lens[i] = strlen(bufs[i]);
    }
    sp_err e = {0};
    assert_true(dlv_direct_append(f->direct, data, lens, (size_t)n, &f->pos[from], &e));
}

typedef struct listing {
    int n;
    char keys[8][512];
} listing;

static bool list_one(void *arg, const lake_object_info *o)
{
    listing *l = arg;
    if (l->n < 8) snprintf(l->keys[l->n], sizeof l->keys[0], "%s", o->key);
    l->n++;
    return true;
}

static listing list(fixture *f)
{
    listing l = {0};
    sp_err e = {0};
    assert_true(lake_object_list(f->lk, "bucket-a", "", list_one, &l, &e));
    return l;
}

static char *get(fixture *f, const char *key)
{
    char *data;
    size_t len;
    sp_err e = {0};
    if (!lake_object_get(f->lk, "bucket-a", key, &data, &len, &e)) fail_msg("%s", e.msg);
    char *s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    free(data);
    return s;
}

static void run_once(fixture *f)
{
    sp_err e = {0};
    dlv_runner *r = dlv_runner_new(f->def, dlv_direct_source(f->direct), dlv_sink_lake(f->lk), f->path[1], &e);
    assert_non_null(r);
    if (!dlv_runner_flush_all(r, &e)) fail_msg("%s", e.msg);
    dlv_runner_destroy(r);
}

static void write_intent(fixture *f, uint64_t after, uint64_t upto, const char *uuid,
                         const char *stale_key)
{
    dlv_state st = {.has_intent = true};
    sp_err se = {0};
    assert_true(dlv_state_shards(&st, 1, &se));
    st.checkpoint[0] = after;
    st.range[0] = (dlv_range){after, upto};
    snprintf(st.uuid, sizeof st.uuid, "%s", uuid);
    if (stale_key) st.keys = json_pack("[s]", stale_key);
    sp_err e = {0};
    assert_true(dlv_state_save(f->path[3], &st, &e));
    dlv_state_clear(&st);
}

static void flush_advances_checkpoint_and_closes_intent(void **state)
{
    fixture *f = *state;
    append(f, 0, 5);
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 1);
    char *body = get(f, l.keys[0]);
    assert_string_equal(body, "rec-0\nrec-1\nrec-2\nrec-3\nrec-4\n");
    free(body);
    dlv_state st;
    sp_err e = {0};
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_false(st.has_intent);
    assert_int_equal(st.checkpoint[0], f->pos[4]);
    dlv_state_clear(&st);
    run_once(f);                        /* nothing new: nothing written */
    assert_int_equal(list(f).n, 1);
}

static void open_intent_is_redone_under_the_same_key(void **state)
{
    fixture *f = *state;
    append(f, 0, 5);
    const char *uuid = "11111111-2222-4333-8444-555555555555";
    sp_err e = {0};
    assert_true(lake_object_put(f->lk, "bucket-a", "stale/left-by-crash", "x", 1, &e));
    write_intent(f, 0, f->pos[4], uuid, "stale/left-by-crash");
    append(f, 5, 2);                    /* arrived after the intent: not part of the redo */
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 2);           /* the stale key is gone */
    char derived[37];
    dlv_uuid_derive(uuid, "", derived);
    int redo_idx = strstr(l.keys[0], derived) ? 0 : 1;
    assert_non_null(strstr(l.keys[redo_idx], derived));
    char *body = get(f, l.keys[redo_idx]);
    assert_string_equal(body, "rec-0\nrec-1\nrec-2\nrec-3\nrec-4\n");
    free(body);
    body = get(f, l.keys[1 - redo_idx]);
    assert_string_equal(body, "rec-5\nrec-6\n");
    free(body);

    /* A crash after the put but before the state: the same intent once more. */
    char first[512];
    snprintf(first, sizeof first, "%s", l.keys[redo_idx]);
    dlv_state st;
    assert_true(dlv_state_load(f->path[3], &st, &e));
    uint64_t end = st.checkpoint[0];
    dlv_state_clear(&st);
    assert_int_equal(end, f->pos[6]);
    /* The state of that moment: checkpoint 0, the intent open, rec-5/6 not yet delivered. */
    assert_true(lake_object_delete(f->lk, "bucket-a", l.keys[1 - redo_idx], &e));
    write_intent(f, 0, f->pos[4], uuid, NULL);
    run_once(f);
    l = list(f);
    assert_int_equal(l.n, 2);           /* overwritten, not duplicated */
    assert_true(!strcmp(l.keys[0], first) || !strcmp(l.keys[1], first));
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_false(st.has_intent);
    assert_int_equal(st.checkpoint[0], end);
    dlv_state_clear(&st);
}

static void redo_reads_exactly_its_range(void **state)
{
    fixture *f = *state;
    append(f, 0, 6);
    write_intent(f, f->pos[1], f->pos[3], "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", NULL);
    sp_err e = {0};
    dlv_runner *r = dlv_runner_new(f->def, dlv_direct_source(f->direct), dlv_sink_lake(f->lk), f->path[1], &e);
    assert_non_null(r);
    /* Only the redo: state says checkpoint pos[1], intent (pos[1], pos[3]]. */
    assert_true(dlv_runner_flush_all(r, &e));
    dlv_runner_destroy(r);
    listing l = list(f);
    assert_int_equal(l.n, 2);
    char derived[37];
    dlv_uuid_derive("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "", derived);
    int i = strstr(l.keys[0], derived) ? 0 : 1;
    char *body = get(f, l.keys[i]);
    assert_string_equal(body, "rec-2\nrec-3\n");
    free(body);
    body = get(f, l.keys[1 - i]);
    assert_string_equal(body, "rec-4\nrec-5\n");
    free(body);
}

static void torn_tail_of_direct_log_is_cut(void **state)
{
    fixture *f = *state;
    append(f, 0, 3);
    dlv_direct_close(f->direct);
    FILE *fp = fopen(f->path[2], "ab");
    fwrite("\x05\x00\x00\x00garbage", 1, 11, fp);
    fclose(fp);
    sp_err e = {0};
    f->direct = dlv_direct_open(f->path[2], &e);
    assert_non_null(f->direct);
    struct stat sb;
    stat(f->path[2], &sb);
    assert_int_equal((uint64_t)sb.st_size, f->pos[2]);
    append(f, 3, 1);
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 1);
    char *body = get(f, l.keys[0]);
    assert_string_equal(body, "rec-0\nrec-1\nrec-2\nrec-3\n");
    free(body);
}

static void delivered_direct_log_is_emptied_and_positions_restart(void **state)
{
    fixture *f = *state;
    dlv_direct_set_compact_bytes(f->direct, 1);
    append(f, 0, 3);
    run_once(f);
    struct stat sb;
    stat(f->path[2], &sb);
    assert_int_equal(sb.st_size, 0);
    dlv_state st;
    sp_err e = {0};
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_int_equal(st.checkpoint[0], 0);
    dlv_state_clear(&st);
    append(f, 3, 2);
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 2);
    char *a = get(f, l.keys[0]), *b = get(f, l.keys[1]);
    assert_true((!strcmp(a, "rec-0\nrec-1\nrec-2\n") && !strcmp(b, "rec-3\nrec-4\n")) ||
                (!strcmp(b, "rec-0\nrec-1\nrec-2\n") && !strcmp(a, "rec-3\nrec-4\n")));
    free(a);
    free(b);
}

static void checkpoint_past_an_emptied_log_restarts_at_zero(void **state)
{
    fixture *f = *state;
    /* The crash between truncating the log and saving the rebased checkpoint. */
    dlv_state st = {0};
    sp_err e = {0};
    assert_true(dlv_state_shards(&st, 1, &e));
    st.checkpoint[0] = 4096;
    assert_true(dlv_state_save(f->path[3], &st, &e));
    dlv_state_clear(&st);
    append(f, 0, 2);
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 1);
    char *body = get(f, l.keys[0]);
    assert_string_equal(body, "rec-0\nrec-1\n");
    free(body);
}

static void append_text(fixture *f, int at, const char *text)
{
    const void *data[1] = {text};
    size_t lens[1] = {strlen(text)};
    sp_err e = {0};
    assert_true(dlv_direct_append(f->direct, data, lens, 1, &f->pos[at], &e));
}

static int count_prefix(const listing *l, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < l->n && i < 8; i++) n += !strncmp(l->keys[i], prefix, strlen(prefix));
    return n;
}

/* A record whose partition value makes a key the lake refuses (a backslash, a ".." segment,
 * an empty segment) goes to the error output as partitioning-failed with its error; the
 * records around it reach their objects; the batch completes, and a redo of the same intent
 * decides the same (same keys, nothing more). */
static void record_with_an_invalid_key_goes_to_the_error_output(void **state)
{
    fixture *f = *state;
    dlv_def_free(f->def);
    sp_err e = {0};
    sp_cfg_delivery cfg = {.name = "intent-test", .bucket = "bucket-a",
                           .prefix = "by/!{partitionKeyFromQuery:p}/",
                           .error_output_prefix = "errors/!{firehose:error-output-type}/",
                           .buffer_size_mb = 1, .buffer_interval_seconds = 0,
                           .compression = "UNCOMPRESSED", .append_delimiter = true};
    cfg.dynamic_partitioning = json_pack("{s:{s:s}}", "queries", "p", ".p");
    f->def = dlv_def_from_config(&cfg, &e);
    json_decref(cfg.dynamic_partitioning);
    assert_non_null(f->def);
    append_text(f, 0, "{\"p\":\"a\"}");
    append_text(f, 1, "{\"p\":\"x\\\\y\"}");   /* the value x\y */
    append_text(f, 2, "{\"p\":\"..\"}");
    append_text(f, 3, "{\"p\":\"q//r\"}");
    append_text(f, 4, "{\"p\":\"b\"}");
    run_once(f);
    listing l = list(f);
    assert_int_equal(l.n, 3);
    assert_int_equal(count_prefix(&l, "by/a/"), 1);
    assert_int_equal(count_prefix(&l, "by/b/"), 1);
    assert_int_equal(count_prefix(&l, "errors/partitioning-failed/intent-test-1-"), 1);
    char *errs = NULL;
    for (int i = 0; i < l.n; i++)
        if (!strncmp(l.keys[i], "errors/", 7)) errs = get(f, l.keys[i]);
    assert_non_null(errs);
    int lines = 0;
    for (char *c = errs; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(errs, "\"errorCode\":\"" DLV_ERR_INVALID_KEY "\""));
    assert_non_null(strstr(errs, "backslash"));
    free(errs);
    dlv_state st;
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_false(st.has_intent);
    assert_int_equal(st.checkpoint[0], f->pos[4]);
    dlv_state_clear(&st);

    /* The same batch redone (a crash before its checkpoint): the same three keys. */
    write_intent(f, 0, f->pos[4], "00000000-0000-4000-8000-0000000000aa", NULL);
    run_once(f);
    listing first = list(f);
    write_intent(f, 0, f->pos[4], "00000000-0000-4000-8000-0000000000aa", NULL);
    run_once(f);
    listing again = list(f);
    assert_int_equal(first.n, 6);            /* 3 from the first uuid, 3 from the redone one */
    assert_int_equal(again.n, first.n);
    for (int i = 0; i < again.n; i++) assert_string_equal(again.keys[i], first.keys[i]);
}

/* A write that fails for an I/O reason (here: a file where the key's folder must go) is not
 * the record's fault: the batch stays open and is retried, and nothing goes to errors. */
static void failed_write_is_retried_not_sent_to_errors(void **state)
{
    fixture *f = *state;
    append(f, 0, 2);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char blocker[400];
    snprintf(blocker, sizeof blocker, "%s/bucket-a/%04d", f->path[0], tm.tm_year + 1900);
    FILE *fp = fopen(blocker, "w");
    assert_non_null(fp);
    fclose(fp);
    sp_err e = {0};
    dlv_runner *r = dlv_runner_new(f->def, dlv_direct_source(f->direct), dlv_sink_lake(f->lk), f->path[1], &e);
    assert_non_null(r);
    assert_false(dlv_runner_flush_all(r, &e));
    dlv_runner_destroy(r);
    dlv_state st;
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_true(st.has_intent);                 /* open: redone, not given up */
    dlv_state_clear(&st);
    listing l = list(f);
    assert_int_equal(count_prefix(&l, "processing-failed/"), 0);
    unlink(blocker);
    run_once(f);
    l = list(f);
    assert_int_equal(l.n, 1);
    assert_int_equal(count_prefix(&l, "processing-failed/"), 0);
    char *body = get(f, l.keys[0]);
    assert_string_equal(body, "rec-0\nrec-1\n");
    free(body);
}

/* Per-shard checkpoints and intent ranges for as many shards as a stream may have (open and
 * closed) survive a save and a load; more is refused as malformed. */
static void state_keeps_every_shard_of_a_stream(void **state)
{
    fixture *f = *state;
    dlv_state st = {0};
    sp_err e = {0};
    assert_true(dlv_state_shards(&st, STM_SHARDS_WITH_LINEAGE_MAX, &e));
    st.has_intent = true;
    for (int i = 0; i < st.n_shards; i++) {
        st.checkpoint[i] = (uint64_t)i * 7 + 1;
        st.range[i] = (dlv_range){st.checkpoint[i], st.checkpoint[i] + (uint64_t)i};
    }
    snprintf(st.uuid, sizeof st.uuid, "%s", "00000000-0000-4000-8000-000000000001");
    assert_true(dlv_state_save(f->path[3], &st, &e));
    dlv_state back;
    assert_true(dlv_state_load(f->path[3], &back, &e));
    assert_int_equal(back.n_shards, STM_SHARDS_WITH_LINEAGE_MAX);
    assert_true(back.has_intent);
    for (int i = 0; i < back.n_shards; i++) {
        assert_int_equal(back.checkpoint[i], st.checkpoint[i]);
        assert_int_equal(back.range[i].upto, st.range[i].upto);
    }
    dlv_state_clear(&back);
    /* Growing past the limit is refused and leaves the state as it was. */
    assert_false(dlv_state_shards(&st, STM_SHARDS_WITH_LINEAGE_MAX + 1, &e));
    assert_int_equal(st.n_shards, STM_SHARDS_WITH_LINEAGE_MAX);
    dlv_state_clear(&st);
}

/* A state file as written by earlier builds (a 64-entry cap, same JSON) still loads. */
static void state_file_of_earlier_builds_loads(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(f->path[3], "w");
    assert_non_null(fp);
    fputs("{\"checkpoints\": [\"5\", \"0\", \"18446744073709551615\"], \"intent\": {"
          "\"ranges\": [[\"5\", \"9\"], [\"0\", \"0\"], [\"18446744073709551615\", "
          "\"18446744073709551615\"]], \"uuid\": \"00000000-0000-4000-8000-000000000002\", "
          "\"keys\": [\"a/b\"]}}", fp);
    fclose(fp);
    dlv_state st;
    sp_err e = {0};
    assert_true(dlv_state_load(f->path[3], &st, &e));
    assert_int_equal(st.n_shards, 3);
    assert_int_equal(st.checkpoint[0], 5);
    assert_true(st.checkpoint[2] == UINT64_MAX);
    assert_true(st.has_intent);
    assert_int_equal(st.range[0].upto, 9);
    assert_int_equal(json_array_size(st.keys), 1);
    dlv_state_clear(&st);
    /* More checkpoints than any stream can have: malformed, not a huge allocation. */
    fp = fopen(f->path[3], "w");
    fputs("{\"checkpoints\": [", fp);
    for (int i = 0; i <= STM_SHARDS_WITH_LINEAGE_MAX; i++) fputs(i ? ",\"0\"" : "\"0\"", fp);
    fputs("], \"intent\": null}", fp);
    fclose(fp);
    assert_false(dlv_state_load(f->path[3], &st, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(flush_advances_checkpoint_and_closes_intent, setup, teardown),
        cmocka_unit_test_setup_teardown(open_intent_is_redone_under_the_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(redo_reads_exactly_its_range, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_of_direct_log_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(delivered_direct_log_is_emptied_and_positions_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_past_an_emptied_log_restarts_at_zero, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(state_keeps_every_shard_of_a_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(record_with_an_invalid_key_goes_to_the_error_output,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(failed_write_is_retried_not_sent_to_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(state_file_of_earlier_builds_loads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
