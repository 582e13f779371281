/* The S3 sink's requests against a scripted loopback server: a small object is one PutObject,
 * a big one a multipart upload (Create, parts of part_size_mb, Complete listing every part's
 * ETag), a failed part aborts the upload, a 200 Complete carrying an error fails the put, and
 * removing an absent key succeeds. Requests are path-style with the key encoded once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_int.h"

enum { LOG_MAX = 32, MIB = 1024 * 1024 };

typedef struct answer {
    const char *match;               /* "<METHOD> <query start>" this answer is for */
    unsigned status;
    const char *body;
} answer;

typedef struct script {
    pthread_mutex_t mu;
    const answer *answers;
    size_t n;
    char log[LOG_MAX][400];          /* "<METHOD> <url>?<query> <body bytes>" */
    size_t bodies[LOG_MAX];
    char complete_body[4096];
    int n_log;
} script;

typedef struct req_state {
    size_t bytes;
    char first[4096];
} req_state;

static enum MHD_Result arg_cat(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    char *q = cls;
    size_t n = strlen(q);
    snprintf(q + n, 160 - n, "%s%s=%s", n ? "&" : "", key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    script *s = cls;
    req_state *rs = *con_cls;
    if (!rs) {
        *con_cls = calloc(1, sizeof(req_state));
        return MHD_YES;
    }
    if (*upload_size) {
        size_t room = sizeof rs->first - 1 - (rs->bytes < sizeof rs->first ? rs->bytes : sizeof rs->first - 1);
        if (rs->bytes < sizeof rs->first - 1)
            memcpy(rs->first + rs->bytes, upload, *upload_size < room ? *upload_size : room);
        rs->bytes += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    char q[160] = "";
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, arg_cat, q);
    char line[400];
    snprintf(line, sizeof line, "%s %s?%s", method, url, q);
    pthread_mutex_lock(&s->mu);
    if (s->n_log < LOG_MAX) {
        snprintf(s->log[s->n_log], sizeof s->log[0], "%s", line);
        s->bodies[s->n_log++] = rs->bytes;
    }
    if (strstr(line, "POST") == line && strstr(line, "uploadId="))
        snprintf(s->complete_body, sizeof s->complete_body, "%s", rs->first);
    const answer *a = NULL;
    for (size_t i = 0; i < s->n && !a; i++)
        if (!strncmp(line, s->answers[i].match, strlen(s->answers[i].match))) a = &s->answers[i];
    pthread_mutex_unlock(&s->mu);
    const char *body = a ? a->body : "";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    char etag[32];
    snprintf(etag, sizeof etag, "\"etag-%s\"", strstr(q, "partNumber=") ? strstr(q, "partNumber=") + 11 : "0");
    char *amp = strchr(etag + 6, '&');
    if (amp) snprintf(amp, 3, "\"");
    MHD_add_response_header(r, "ETag", etag);
    enum MHD_Result ok = MHD_queue_response(c, a ? a->status : 200, r);
    MHD_destroy_response(r);
    return ok;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

typedef struct fixture {
    script s;
    struct MHD_Daemon *d;
    dlv_sink sink;
} fixture;

static fixture *start(const answer *answers, size_t n, int threshold_mb)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->s.mu, NULL);
    f->s.answers = answers;
    f->s.n = n;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                            NULL, NULL, on_access, &f->s, MHD_OPTION_SOCK_ADDR, &addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    assert_non_null(f->d);
    int port = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    json_t *dest = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i}", "kind", "s3",
                             "endpoint", ep, "region", "us-east-1", "bucket", "lake-out",
                             "access_key_id", "AKID", "secret_access_key", "secret",
                             "multipart_threshold_mb", threshold_mb, "part_size_mb", 5,
                             "max_attempts", 1);
    sp_err e = {0};
    if (!dlv_sink_s3_new(dest, &f->sink, &e)) fail_msg("%s", e.msg);
    json_decref(dest);
    return f;
}

static void stop(fixture *f)
{
    f->sink.destroy(f->sink.ctx);
    MHD_stop_daemon(f->d);
    pthread_mutex_destroy(&f->s.mu);
    free(f);
}

static void a_small_object_is_one_put_object_at_its_path_style_key(void **state)
{
    (void)state;
    fixture *f = start(NULL, 0, 8);
    sp_err e = {0};
    assert_string_equal(f->sink.kind, "s3");
    assert_true(f->sink.put(f->sink.ctx, "lake-out", "2026/12/02/a b+c.json", "hello\n", 6, &e));
    assert_int_equal(f->s.n_log, 1);
    assert_string_equal(f->s.log[0], "PUT /lake-out/2026/12/02/a b+c.json?");
    assert_int_equal(f->s.bodies[0], 6);
    stop(f);
}

static const answer MPU_OK[] = {
    {"POST /lake-out/big?uploads=", 200,
     "<InitiateMultipartUploadResult><UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>"},
    {"POST /lake-out/big?uploadId=", 200,
     "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>"},
};

static void a_big_object_is_a_multipart_upload_of_full_parts(void **state)
{
    (void)state;
    fixture *f = start(MPU_OK, 2, 1);
    size_t len = 11 * MIB;               /* 5 + 5 + 1 MiB */
    char *data = calloc(1, len);
    sp_err e = {0};
    assert_true(f->sink.put(f->sink.ctx, "lake-out", "big", data, len, &e));
    assert_int_equal(f->s.n_log, 5);
    assert_string_equal(f->s.log[0], "POST /lake-out/big?uploads=");
    assert_string_equal(f->s.log[1], "PUT /lake-out/big?partNumber=1&uploadId=up&1");
    assert_int_equal(f->s.bodies[1], 5 * MIB);
    assert_int_equal(f->s.bodies[2], 5 * MIB);
    assert_int_equal(f->s.bodies[3], 1 * MIB);
    assert_string_equal(f->s.log[4], "POST /lake-out/big?uploadId=up&1");
    assert_non_null(strstr(f->s.complete_body,
                           "<Part><PartNumber>1</PartNumber><ETag>\"etag-1\"</ETag></Part>"
                           "<Part><PartNumber>2</PartNumber><ETag>\"etag-2\"</ETag></Part>"
                           "<Part><PartNumber>3</PartNumber><ETag>\"etag-3\"</ETag></Part>"));
    free(data);
    stop(f);
}

static void a_failed_part_aborts_the_upload(void **state)
{
    (void)state;
    const answer answers[] = {
        MPU_OK[0],
        {"PUT /lake-out/big?partNumber=2", 403,
         "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"},
    };
    fixture *f = start(answers, 2, 1);
    size_t len = 11 * MIB;
    char *data = calloc(1, len);
    sp_err e = {0};
    assert_false(f->sink.put(f->sink.ctx, "lake-out", "big", data, len, &e));
    assert_string_equal(e.code, "AccessDenied");
    assert_non_null(strstr(e.msg, "UploadPart: AccessDenied: no (HTTP 403"));
    assert_string_equal(f->s.log[f->s.n_log - 1], "DELETE /lake-out/big?uploadId=up&1");
    assert_int_equal(f->s.n_log, 4);     /* create, part 1, part 2, abort: no part 3 */
    free(data);
    stop(f);
}

static void a_complete_answering_200_with_an_error_fails_and_aborts(void **state)
{
    (void)state;
    const answer answers[] = {
        MPU_OK[0],
        {"POST /lake-out/big?uploadId=", 200,
         "<Error><Code>InternalError</Code><Message>try again</Message></Error>"},
    };
    fixture *f = start(answers, 2, 1);
    sp_err e = {0};
    char *big = calloc(1, 2 * MIB);
    assert_false(f->sink.put(f->sink.ctx, "lake-out", "big", big, 2 * MIB, &e));
    assert_string_equal(e.code, "InternalError");
    assert_true(e.retriable);
    assert_string_equal(f->s.log[f->s.n_log - 1], "DELETE /lake-out/big?uploadId=up&1");
    free(big);
    stop(f);
}

static void removing_an_absent_key_succeeds_and_other_errors_fail(void **state)
{
    (void)state;
    const answer answers[] = {
        {"DELETE /lake-out/gone", 404, "<Error><Code>NoSuchKey</Code></Error>"},
        {"DELETE /lake-out/locked", 403, "<Error><Code>AccessDenied</Code></Error>"},
    };
    fixture *f = start(answers, 2, 8);
    sp_err e = {0};
    assert_true(f->sink.remove(f->sink.ctx, "lake-out", "gone", &e));
    assert_true(f->sink.remove(f->sink.ctx, "lake-out", "here", &e));
    assert_false(f->sink.remove(f->sink.ctx, "lake-out", "locked", &e));
    assert_string_equal(e.code, "AccessDenied");
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_small_object_is_one_put_object_at_its_path_style_key),
        cmocka_unit_test(a_big_object_is_a_multipart_upload_of_full_parts),
        cmocka_unit_test(a_failed_part_aborts_the_upload),
        cmocka_unit_test(a_complete_answering_200_with_an_error_fails_and_aborts),
        cmocka_unit_test(removing_an_absent_key_succeeds_and_other_errors_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
