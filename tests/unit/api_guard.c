/* Unit tests for the browser guard (api/guard.c): which Host values count as loopback or a
 * configured name, which Origins are allowed, which content type each API takes, the order
 * of the checks and the shape of a refusal; plus the error-body redaction (core/http.c) the
 * server applies so no response names a file of the data dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static const char *const names[] = {"salespipe.lan", "[fe80::1]", "10.0.0.5."};
static const char *const origins[] = {"http://app.example:3000"};
static const api_guard_policy policy = {names, 3, origins, 1};

static const sp_op no_ops[] = {{NULL, NULL}};
static const api_service ddb = {.name = "dynamodb", .target_prefix = "DynamoDB_20120810",
                                .error_namespace = "com.amazonaws.dynamodb.v20120810#",
                                .content_type = "application/x-amz-json-1.0", .ops = no_ops};

static void loopback_spellings_are_hosts(void **state)
{
    (void)state;
    const char *good[] = {"localhost", "LocalHost:4566", "localhost.", "app.localhost:1",
                          "127.0.0.1", "127.255.0.9:65535", "[::1]", "[::1]:4566",
                          "[::ffff:127.0.0.1]:80"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_true(api_guard_host_allowed(NULL, good[i]));
        assert_true(api_guard_host_allowed(&policy, good[i]));
    }
    const char *bad[] = {NULL, "", ":4566", "evil.example", "localhost.evil.example",
                         "evillocalhost", ".localhost", "127.0.0.1.nip.io", "128.0.0.1",
                         "[::2]", "::1", "[::1", "localhost:", "localhost:123456",
                         "localhost:80x", "localhost:80:80", "user@localhost", "127.1",
                         "0.0.0.0", "local host"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(api_guard_host_allowed(&policy, bad[i]));
}

static void configured_names_are_hosts(void **state)
{
    (void)state;
    assert_true(api_guard_host_allowed(&policy, "salespipe.lan"));
    assert_true(api_guard_host_allowed(&policy, "SALESPIPE.LAN:4566"));
    assert_true(api_guard_host_allowed(&policy, "salespipe.lan."));
    assert_true(api_guard_host_allowed(&policy, "[fe80::1]:4566"));
    assert_true(api_guard_host_allowed(&policy, "10.0.0.5"));
    assert_false(api_guard_host_allowed(&policy, "x.salespipe.lan"));
    assert_false(api_guard_host_allowed(&policy, "salespipe.lan.evil"));
    assert_false(api_guard_host_allowed(NULL, "salespipe.lan"));
}

static void origins_need_the_allow_list(void **state)
{
    (void)state;
    assert_true(api_guard_origin_allowed(&policy, NULL)); /* no Origin: not a browser page */
    assert_true(api_guard_origin_allowed(&policy, "http://app.example:3000"));
    assert_true(api_guard_origin_allowed(&policy, "HTTP://APP.example:3000/"));
    assert_false(api_guard_origin_allowed(&policy, "http://app.example:3001"));
    assert_false(api_guard_origin_allowed(&policy, "https://app.example:3000"));
    assert_false(api_guard_origin_allowed(&policy, "null"));
    assert_false(api_guard_origin_allowed(NULL, "http://localhost:4566"));
    static const char *const any[] = {"*"};
    api_guard_policy open = {NULL, 0, any, 1};
    assert_true(api_guard_origin_allowed(&open, "http://anything"));
}

static api_guard_verdict check(api_proto proto, const api_service *svc, const char *method,
                               const api_header *h, size_t n, const char **allow, sp_err *e)
{
    api_guard_request r = {.method = method, .headers = h, .n_headers = n, .proto = proto,
                           .svc = svc};
    sp_err_clear(e);
    return api_guard_check(&policy, &r, allow, e);
}

static void content_types_per_api(void **state)
{
    (void)state;
    const char *allow;
    sp_err e;
    api_header h[] = {{"Host", "127.0.0.1:4566"}, {"Content-Type", "application/x-amz-json-1.0"}};
    assert_int_equal(check(API_PROTO_JSON, &ddb, "POST", h, 2, &allow, &e), API_GUARD_PASS);
    h[1].value = "Application/X-Amz-Json-1.0 ; charset=UTF-8";
    assert_int_equal(check(API_PROTO_JSON, &ddb, "POST", h, 2, &allow, &e), API_GUARD_PASS);
    h[1].value = "application/x-amz-json-1.1";
    assert_int_equal(check(API_PROTO_JSON, &ddb, "POST", h, 2, &allow, &e), API_GUARD_REFUSE);
    assert_string_equal(e.code, "AccessDeniedException");
    assert_int_equal(e.status, 403);
    assert_non_null(strstr(e.msg, "application/x-amz-json-1.0"));
    /* An unknown JSON service: either AWS JSON type. */
    assert_int_equal(check(API_PROTO_JSON, NULL, "POST", h, 2, &allow, &e), API_GUARD_PASS);
    h[1].value = "text/plain";
    assert_int_equal(check(API_PROTO_JSON, NULL, "POST", h, 2, &allow, &e), API_GUARD_REFUSE);
    assert_int_equal(check(API_PROTO_JSON, &ddb, "POST", h, 1, &allow, &e), API_GUARD_REFUSE);
    /* Pipes: application/json, or no type and no body. */
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", h, 2, &allow, &e), API_GUARD_REFUSE);
    h[1].value = "application/json";
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", h, 2, &allow, &e), API_GUARD_PASS);
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", h, 1, &allow, &e), API_GUARD_PASS);
    api_header with_body[] = {{"Host", "localhost"}, {"Content-Length", "2"}};
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", with_body, 2, &allow, &e),
                     API_GUARD_REFUSE);
    with_body[1] = (api_header){"Content-Length", "0"};
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", with_body, 2, &allow, &e),
                     API_GUARD_PASS);
    with_body[1] = (api_header){"Transfer-Encoding", "chunked"};
    assert_int_equal(check(API_PROTO_REST_JSON, NULL, "POST", with_body, 2, &allow, &e),
                     API_GUARD_REFUSE);
    /* S3: any body type. */
    h[1].value = "text/plain";
    assert_int_equal(check(API_PROTO_S3, NULL, "PUT", h, 2, &allow, &e), API_GUARD_PASS);
    /* CBOR: only for a service that takes it (Kinesis). */
    api_service kinesis = {.name = "kinesis", .target_prefix = "Kinesis_20131202",
                           .error_namespace = "", .content_type = "application/x-amz-json-1.1",
                           .ops = no_ops, .accepts_cbor = true};
    h[1].value = "application/x-amz-cbor-1.1";
    assert_int_equal(check(API_PROTO_JSON, &kinesis, "POST", h, 2, &allow, &e), API_GUARD_PASS);
    assert_int_equal(check(API_PROTO_JSON, &ddb, "POST", h, 2, &allow, &e), API_GUARD_REFUSE);
}

static void host_then_origin_then_preflight(void **state)
{
    (void)state;
    const char *allow = "x";
    sp_err e;
    api_header h[] = {{"Host", "evil.example:4566"}, {"Origin", "http://evil.example"},
                      {"Content-Type", "text/plain"}};
    assert_int_equal(check(API_PROTO_S3, NULL, "PUT", h, 3, &allow, &e), API_GUARD_REFUSE);
    assert_string_equal(e.code, "AccessDenied");
    assert_non_null(strstr(e.msg, "Host 'evil.example:4566'"));
    assert_null(allow);
    h[0].value = "localhost:4566";
    assert_int_equal(check(API_PROTO_S3, NULL, "PUT", h, 3, &allow, &e), API_GUARD_REFUSE);
    assert_non_null(strstr(e.msg, "Origin 'http://evil.example'"));
    h[1].value = "http://app.example:3000";
    assert_int_equal(check(API_PROTO_S3, NULL, "PUT", h, 3, &allow, &e), API_GUARD_PASS);
    assert_string_equal(allow, "http://app.example:3000");
    api_header pre[] = {{"Host", "localhost"}, {"Origin", "http://app.example:3000"},
                        {"Access-Control-Request-Method", "POST"}};
    assert_int_equal(check(API_PROTO_S3, NULL, "OPTIONS", pre, 3, &allow, &e), API_GUARD_PREFLIGHT);
    /* Two Host headers: refused even when one is loopback. */
    api_header two[] = {{"Host", "localhost"}, {"host", "evil.example"}};
    assert_int_equal(check(API_PROTO_S3, NULL, "GET", two, 2, &allow, &e), API_GUARD_REFUSE);
    /* Health and metrics: the Host check only. */
    api_guard_request r = {.method = "GET", .headers = h, .n_headers = 3,
                           .proto = API_PROTO_JSON, .builtin = true};
    h[1].value = "http://evil.example";
    assert_int_equal(api_guard_check(&policy, &r, &allow, &e), API_GUARD_PASS);
    /* A value quoted in a message cannot carry control bytes. */
    api_header ctl[] = {{"Host", "evil\x01\x7f"}};
    assert_int_equal(check(API_PROTO_JSON, NULL, "POST", ctl, 1, &allow, &e), API_GUARD_REFUSE);
    assert_null(strchr(e.msg, '\x01'));
}

/* The dashboard's own page posts back with Origin = its scheme and our Host: same-origin is
 * allowed without configuration; another site's Origin, or a non-loopback Host, is not. */
static void same_origin_pages_are_allowed(void **state)
{
    (void)state;
    const char *allow;
    sp_err e;
    api_header h[] = {{"Host", "127.0.0.1:4566"}, {"Origin", "http://127.0.0.1:4566"},
                      {"Content-Type", "text/plain"}};
    assert_int_equal(check(API_PROTO_S3, NULL, "POST", h, 3, &allow, &e), API_GUARD_PASS);
    h[1].value = "http://127.0.0.1:4567";  /* another port is another origin */
    assert_int_equal(check(API_PROTO_S3, NULL, "POST", h, 3, &allow, &e), API_GUARD_REFUSE);
    h[1].value = "http://localhost:4566";  /* another name too */
    assert_int_equal(check(API_PROTO_S3, NULL, "POST", h, 3, &allow, &e), API_GUARD_REFUSE);
    api_header rebind[] = {{"Host", "evil.example:4566"}, {"Origin", "http://evil.example:4566"}};
    assert_int_equal(check(API_PROTO_S3, NULL, "POST", rebind, 2, &allow, &e), API_GUARD_REFUSE);
    assert_non_null(strstr(e.msg, "Host"));
}

static void redaction_keeps_the_cause_and_drops_the_path(void **state)
{
    (void)state;
    const char *src = "{\"message\":\"cannot create '/tmp/d/lake/b/x': No space left on device "
                      "(/tmp/d)\"}";
    char *body = strdup(src);
    size_t len = strlen(body);
    assert_int_equal(sp_http_redact(&body, &len, "/tmp/d"), 2);
    assert_int_equal(len, strlen(body));
    assert_string_equal(body, "{\"message\":\"cannot create '" SP_HTTP_REDACTED "': No space left "
                              "on device (" SP_HTTP_REDACTED ")\"}");
    assert_int_equal(sp_http_redact(&body, &len, "/tmp/d"), 0);
    assert_int_equal(sp_http_redact(&body, &len, "/"), 0); /* too short to mean anything */
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loopback_spellings_are_hosts),
        cmocka_unit_test(configured_names_are_hosts),
        cmocka_unit_test(origins_need_the_allow_list),
        cmocka_unit_test(content_types_per_api),
        cmocka_unit_test(host_then_origin_then_preflight),
        cmocka_unit_test(same_origin_pages_are_allowed),
        cmocka_unit_test(redaction_keeps_the_cause_and_drops_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
