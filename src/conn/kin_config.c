/* The configuration of a remote stage (a pipe's Kinesis or Kafka target or DynamoDB Streams
 * source, a delivery stream's Kinesis or Kafka source): one check for every kind that names
 * the bad member (the AWS kinds by the table of members below, kafka by conn/kafka.h's own
 * parser), the name each kind gives its stream, and one way to turn a checked AWS mapping
 * into a client of conn_aws. */
#include "conn.h"
#include "kafka.h"

#include <ctype.h>
#include <string.h>

typedef struct member {
    const char *name;
    bool integer;
    const char *kinds;               /* " kinesis dynamodb-streams " the member belongs to */
} member;

static const member MEMBERS[] = {
    {"kind", false, " kinesis dynamodb-streams "},
    {"endpoint", false, " kinesis dynamodb-streams "},
    {"region", false, " kinesis dynamodb-streams "},
    {"stream", false, " kinesis "},
    {"table", false, " dynamodb-streams "},
    {"stream_arn", false, " dynamodb-streams "},
    {"access_key_id", false, " kinesis dynamodb-streams "},
    {"secret_access_key", false, " kinesis dynamodb-streams "},
    {"session_token", false, " kinesis dynamodb-streams "},
    {"profile", false, " kinesis dynamodb-streams "},
    {"max_attempts", true, " kinesis dynamodb-streams "},
    {"timeout_seconds", true, " kinesis dynamodb-streams "},
};

/* Kinesis StreamName: 1-128 of [a-zA-Z0-9_.-]; DynamoDB TableName: 3-255 of the same. */
static bool name_valid(const char *s, size_t lo, size_t hi)
{
    size_t n = strlen(s);
    if (n < lo || n > hi) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

const char *conn_remote_name(const json_t *cfg)
{
    static const char *const NAME_MEMBER[][2] = {
        {"kinesis", "stream"}, {"kafka", "topic"}, {"dynamodb-streams", "table"}};
    const char *kind = conn_remote_kind(cfg);
    for (size_t i = 0; kind && i < SP_ARRAY_LEN(NAME_MEMBER); i++)
        if (!strcmp(kind, NAME_MEMBER[i][0])) {
            const char *n = json_string_value(json_object_get(cfg, NAME_MEMBER[i][1]));
            return n ? n : json_string_value(json_object_get(cfg, "stream_arn"));
        }
    return NULL;
}

const char *conn_remote_kind(const json_t *cfg)
{
    const char *k = json_string_value(json_object_get(cfg, "kind"));
    return k && strcmp(k, "embedded") ? k : NULL;
}

bool conn_remote_config_check(const json_t *cfg, const char *m, const char *const *kinds,
                              sp_err *e)
{
    if (!cfg) return true;
    const char *kind = json_string_value(json_object_get(cfg, "kind"));
    bool known = kind && !strcmp(kind, "embedded");
    for (size_t i = 0; kinds[i] && !known; i++) known = kind && !strcmp(kind, kinds[i]);
    if (!json_is_object(cfg) || !known) {
        sp_str s;
        sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
        for (size_t i = 0; kinds[i]; i++) sp_str_appendf(&s, "%s, ", kinds[i]);
        sp_err_invalid(e, "%s.kind must be one of %sembedded (not '%s')", m, s.buf,
                       kind ? kind : "absent");
        sp_str_release(&s);
        return false;
    }
    if (!strcmp(kind, "kafka")) {
        conn_kafka_config kc;
        const char *key;
        if (!conn_kafka_config_parse(cfg, !strcmp(m, "source"), &kc, &key, e)) {
            char msg[SP_ERR_MSG_MAX + 32];
            snprintf(msg, sizeof msg, "%s%s%s", m, key ? "." : ": ", e->msg);
            sp_err_clear(e);
            sp_err_invalid(e, "%s", msg);
            return false;
        }
        conn_kafka_config_clear(&kc);
        return true;
    }
    char padded[48];
    snprintf(padded, sizeof padded, " %s ", kind);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        const member *mb = NULL;
        for (size_t i = 0; i < SP_ARRAY_LEN(MEMBERS) && !mb; i++)
            if (!strcmp(key, MEMBERS[i].name) &&
                (!strcmp(kind, "embedded") ? !strcmp(key, "kind") : strstr(MEMBERS[i].kinds, padded) != NULL))
                mb = &MEMBERS[i];
        if (!mb) {
            sp_err_invalid(e, "%s.%s is not a member of a %s %s", m, key, kind, m);
            return false;
        }
        if (mb->integer ? !json_is_integer(v) : !json_is_string(v)) {
            sp_err_invalid(e, "%s.%s must be %s", m, key, mb->integer ? "an integer" : "a string");
            return false;
        }
    }
    if (!strcmp(kind, "embedded")) return true;
    const char *ep = json_string_value(json_object_get(cfg, "endpoint"));
    const char *region = json_string_value(json_object_get(cfg, "region"));
    if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) ||
        !ep[strncmp(ep, "http://", 7) ? 8 : 7] || strpbrk(ep, " @?#")) {
        sp_err_invalid(e, "%s.endpoint must be an http:// or https:// URL (e.g. "
                          "https://kinesis.eu-west-1.amazonaws.com or http://127.0.0.1:4567)", m);
        return false;
    }
    if (!region || !*region || strlen(region) > 64 || strpbrk(region, " /\\\n")) {
        sp_err_invalid(e, "%s.region is required: the endpoint's region (e.g. eu-west-1)", m);
        return false;
    }
    if (!strcmp(kind, "kinesis")) {
        const char *st = json_string_value(json_object_get(cfg, "stream"));
        if (!st || !name_valid(st, 1, 128)) {
            sp_err_invalid(e, "%s.stream must be a Kinesis stream name (1-128 letters, digits, "
                              "'_', '.', '-')", m);
            return false;
        }
    } else {
        const char *t = json_string_value(json_object_get(cfg, "table"));
        const char *arn = json_string_value(json_object_get(cfg, "stream_arn"));
        if (!!t == !!arn || (t && !name_valid(t, 3, 255)) ||
            (arn && (strncmp(arn, "arn:", 4) || strlen(arn) > 1024 || !strstr(arn, "/stream/")))) {
            sp_err_invalid(e, "%s needs exactly one of table (a DynamoDB table name) and "
                              "stream_arn (arn:aws:dynamodb:...:table/T/stream/LABEL)", m);
            return false;
        }
    }
    if (!!json_object_get(cfg, "access_key_id") != !!json_object_get(cfg, "secret_access_key")) {
        sp_err_invalid(e, "%s.access_key_id and %s.secret_access_key go together", m, m);
        return false;
    }
    const json_t *a = json_object_get(cfg, "max_attempts"), *t = json_object_get(cfg, "timeout_seconds");
    if (a && (json_integer_value(a) < 1 || json_integer_value(a) > CONN_ATTEMPTS_MAX)) {
        sp_err_invalid(e, "%s.max_attempts must be between 1 and %d", m, CONN_ATTEMPTS_MAX);
        return false;
    }
    if (t && (json_integer_value(t) < 1 || json_integer_value(t) > CONN_REMOTE_TIMEOUT_S_MAX)) {
        sp_err_invalid(e, "%s.timeout_seconds must be between 1 and %d", m,
                       CONN_REMOTE_TIMEOUT_S_MAX);
        return false;
    }
    return true;
}

conn_aws *conn_remote_client(const json_t *cfg, const char *service, sp_err *e)
{
#define S(k) json_string_value(json_object_get(cfg, k))
    const json_t *a = json_object_get(cfg, "max_attempts"), *t = json_object_get(cfg, "timeout_seconds");
    conn_aws_config c = {
        .endpoint = S("endpoint"), .region = S("region"), .service = service,
        .access_key_id = S("access_key_id"), .secret_access_key = S("secret_access_key"),
        .session_token = S("session_token"), .profile = S("profile"),
        .max_attempts = a ? (int)json_integer_value(a) : CONN_REMOTE_ATTEMPTS,
        .timeout_ms = t ? (int)json_integer_value(t) * 1000 : CONN_REMOTE_TIMEOUT_MS,
    };
#undef S
    return conn_aws_new(&c, e);
}
