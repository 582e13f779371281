/* The outbound client against a scripted loopback server (libmicrohttpd): transient answers
 * (503, a JSON throttling error) are retried and then succeed; a client error is not retried
 * and reaches sp_err with the remote's code and message; a server that is not there is a
 * NetworkingError after every attempt; the whole call stays within its time budget; requests
 * are signed and JSON calls carry their target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn/conn.h"

typedef struct answer {
    unsigned status;
    const char *body;
    unsigned delay_ms;
} answer;

typedef struct script {
    pthread_mutex_t mu;
    const answer *answers;
    size_t n, next;
    int requests;
    char last_target[128];
    char last_auth[512];
    char last_query[128];
} script;

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)url, (void)method, (void)version, (void)upload;
    script *s = cls;
    if (!*con_cls) {                 /* first call: headers only */
        *con_cls = s;
        return MHD_YES;
    }
    if (*upload_size) {              /* swallow the body */
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    answer a = s->answers[s->next < s->n ? s->next : s->n - 1];
    s->next++;
    s->requests++;
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    const char *au = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "partNumber");
    snprintf(s->last_target, sizeof s->last_target, "%s", t ? t : "");
    snprintf(s->last_auth, sizeof s->last_auth, "%s", au ? au : "");
    snprintf(s->last_query, sizeof s->last_query, "%s", q ? q : "");
    pthread_mutex_unlock(&s->mu);
    if (a.delay_ms) usleep(a.delay_ms * 1000);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(a.body), (void *)a.body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "ETag", "\"abc\"");
    enum MHD_Result ok = MHD_queue_response(c, a.status, r);
    MHD_destroy_response(r);
    return ok;
}

static struct MHD_Daemon *serve(script *s, int *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
        on_access, s, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
    assert_non_null(d);
    *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return d;
}

static conn_aws *client_for(int port, const char *service, int attempts, int timeout_ms)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    conn_aws_config cfg = {.endpoint = ep, .region = "eu-west-1", .service = service,
                           .access_key_id = "AKIDTEST", .secret_access_key = "secret",
                           .max_attempts = attempts, .timeout_ms = timeout_ms};
    sp_err e = {0};
    conn_aws *c = conn_aws_new(&cfg, &e);
    if (!c) fail_msg("%s", e.msg);
    return c;
}

static void transient_answers_are_retried_until_one_succeeds(void **state)
{
    (void)state;
    const answer answers[] = {
        {503, "<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>", 0},
        {500, "", 0},
        {200, "", 0},
    };
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = answers, .n = 3};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    conn_aws *c = client_for(port, "s3", 5, 10000);
    const char *ct[] = {"Content-Type: application/octet-stream"};
    conn_aws_request req = {.op = "UploadPart", .method = "PUT", .path = "/b/k",
                            .query = "uploadId=u&partNumber=3", .headers = ct, .n_headers = 1,
                            .body = "hello", .body_len = 5};
    conn_aws_response resp = {0};
    sp_err e = {0};
    assert_true(conn_aws_send(c, &req, &resp, &e));
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(resp.etag, "\"abc\"");
    assert_string_equal(s.last_query, "3");
    assert_non_null(strstr(s.last_auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
    assert_non_null(strstr(s.last_auth, "/eu-west-1/s3/aws4_request"));
    assert_non_null(strstr(s.last_auth, "content-type;host;x-amz-content-sha256;x-amz-date"));
    conn_aws_response_clear(&resp);
    conn_aws_destroy(c);
    MHD_stop_daemon(d);
}

static void client_errors_carry_the_remote_code_and_message_and_are_not_retried(void **state)
{
    (void)state;
    const answer answers[] = {
        {404, "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not "
              "exist</Message></Error>", 0},
    };
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = answers, .n = 1};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    conn_aws *c = client_for(port, "s3", 5, 10000);
    conn_aws_request req = {.op = "PutObject", .method = "PUT", .path = "/nobucket/k"};
    conn_aws_response resp = {0};
    sp_err e = {0};
    assert_false(conn_aws_send(c, &req, &resp, &e));
    assert_int_equal(s.requests, 1);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "NoSuchBucket");
    assert_false(e.retriable);
    assert_non_null(strstr(e.msg, "PutObject: NoSuchBucket: The specified bucket does not exist "
                                  "(HTTP 404 from http://127.0.0.1:"));
    assert_non_null(strstr(e.msg, "1 attempt)"));
    conn_aws_response_clear(&resp);
    conn_aws_destroy(c);
    MHD_stop_daemon(d);
}

static void json_calls_carry_the_target_and_json_errors_are_decoded(void **state)
{
    (void)state;
    const answer answers[] = {
        {400, "{\"__type\":\"com.amazonaws.kinesis#ProvisionedThroughputExceededException\","
              "\"message\":\"Rate exceeded for shard\"}", 0},
        {200, "{\"FailedRecordCount\":0}", 0},
        {400, "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream x not found\"}", 0},
    };
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = answers, .n = 3};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    conn_aws *c = client_for(port, "kinesis", 3, 10000);
    json_t *body = json_pack("{s:s}", "StreamName", "x");
    sp_err e = {0};
    json_t *out = conn_aws_json(c, "Kinesis_20131202.PutRecords", "application/x-amz-json-1.1",
                                body, &e);
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(out, "FailedRecordCount")), 0);
    assert_int_equal(s.requests, 2);
    assert_string_equal(s.last_target, "Kinesis_20131202.PutRecords");
    json_decref(out);
    out = conn_aws_json(c, "Kinesis_20131202.DescribeStream", "application/x-amz-json-1.1", body,
                        &e);
    assert_null(out);
    assert_string_equal(e.code, "ResourceNotFoundException");
    assert_non_null(strstr(e.msg, "DescribeStream: ResourceNotFoundException: Stream x not found"));
    json_decref(body);
    conn_aws_destroy(c);
    MHD_stop_daemon(d);
}

static void a_missing_server_is_a_networking_error_after_every_attempt(void **state)
{
    (void)state;
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    MHD_stop_daemon(d);              /* the port is free again: nothing listens */
    conn_aws *c = client_for(port, "s3", 3, 10000);
    conn_aws_request req = {.op = "DeleteObject", .method = "DELETE", .path = "/b/k"};
    conn_aws_response resp = {0};
    sp_err e = {0};
    assert_false(conn_aws_send(c, &req, &resp, &e));
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(e.code, "NetworkingError");
    assert_true(e.retriable);
    assert_non_null(strstr(e.msg, "(no answer from http://127.0.0.1:"));
    assert_non_null(strstr(e.msg, "3 attempts)"));
    conn_aws_response_clear(&resp);
    conn_aws_destroy(c);
}

static void the_whole_call_stays_within_its_time_budget(void **state)
{
    (void)state;
    const answer answers[] = {{200, "", 3000}};  /* slower than the budget */
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = answers, .n = 1};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    conn_aws *c = client_for(port, "s3", 10, 700);
    conn_aws_request req = {.op = "PutObject", .method = "PUT", .path = "/b/k"};
    conn_aws_response resp = {0};
    sp_err e = {0};
    uint64_t t0 = sp_clock_mono_ns();
    assert_false(conn_aws_send(c, &req, &resp, &e));
    uint64_t ms = (sp_clock_mono_ns() - t0) / 1000000;
    assert_true(ms < 1500);
    assert_true(e.retriable);
    conn_aws_response_clear(&resp);
    conn_aws_destroy(c);
    MHD_stop_daemon(d);
}

typedef struct hurry_arg {
    conn_aws *c;
} hurry_arg;

static void *hurry_soon(void *arg)
{
    hurry_arg *h = arg;
    usleep(200 * 1000);
    conn_aws_set_deadline(h->c, sp_clock_mono_ns());
    return NULL;
}

static void a_hurried_client_cuts_the_attempt_in_flight(void **state)
{
    (void)state;
    const answer answers[] = {{200, "", 2500}};
    script s = {.mu = PTHREAD_MUTEX_INITIALIZER, .answers = answers, .n = 1};
    int port;
    struct MHD_Daemon *d = serve(&s, &port);
    conn_aws *c = client_for(port, "s3", 10, 60000);
    hurry_arg h = {c};
    pthread_t t;
    pthread_create(&t, NULL, hurry_soon, &h);
    conn_aws_request req = {.op = "PutObject", .method = "PUT", .path = "/b/k"};
    conn_aws_response resp = {0};
    sp_err e = {0};
    uint64_t t0 = sp_clock_mono_ns();
    assert_false(conn_aws_send(c, &req, &resp, &e));
    uint64_t ms = (sp_clock_mono_ns() - t0) / 1000000;
    pthread_join(t, NULL);
    if (ms > 1500) fail_msg("took %llu ms", (unsigned long long)ms);
    assert_int_equal(resp.attempts, 1);
    /* Past the deadline no attempt starts at all. */
    conn_aws_response_clear(&resp);
    assert_false(conn_aws_send(c, &req, &resp, &e));
    assert_int_equal(resp.attempts, 0);
    assert_string_equal(e.code, "RequestTimeout");
    conn_aws_response_clear(&resp);
    conn_aws_destroy(c);
    MHD_stop_daemon(d);
}

static void endpoints_that_are_not_http_urls_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"ftp://x", "http://", "127.0.0.1:9000", "http://user@host", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        conn_aws_config cfg = {.endpoint = bad[i], .region = "r", .service = "s3",
                               .access_key_id = "a", .secret_access_key = "b"};
        sp_err e = {0};
        assert_null(conn_aws_new(&cfg, &e));
        assert_int_equal(e.status, 400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transient_answers_are_retried_until_one_succeeds),
        cmocka_unit_test(client_errors_carry_the_remote_code_and_message_and_are_not_retried),
        cmocka_unit_test(json_calls_carry_the_target_and_json_errors_are_decoded),
        cmocka_unit_test(a_missing_server_is_a_networking_error_after_every_attempt),
        cmocka_unit_test(the_whole_call_stays_within_its_time_budget),
        cmocka_unit_test(a_hurried_client_cuts_the_attempt_in_flight),
        cmocka_unit_test(endpoints_that_are_not_http_urls_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
