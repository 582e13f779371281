/* What the Kafka target and source share: the `kind: kafka` configuration (validated here,
 * once, for config load and for the stages that open connectors), the position header codec
 * (read from records anyone can write, so it is strict and fuzzed), librdkafka configuration
 * and the error book behind `salespipe status`. */
#include "kafka_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool topic_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > CONN_KAFKA_TOPIC_MAX || !strcmp(t, ".") || !strcmp(t, "..")) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* "host:port[,host:port...]": each host non-empty without blanks, each port 1..65535. */
static bool brokers_valid(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > CONN_KAFKA_BROKERS_MAX) return false;
    const char *p = b;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = NULL;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == ' ' || p[i] == '\t' || (unsigned char)p[i] < 0x20) return false;
            if (p[i] == ':') colon = p + i;
        }
        if (!colon || colon == p) return false;
        size_t digits = len - (size_t)(colon + 1 - p);
        if (digits == 0 || digits > 5) return false;
        long port = 0;
        for (size_t i = 0; i < digits; i++) {
            char c = colon[1 + i];
            if (c < '0' || c > '9') return false;
            port = port * 10 + (c - '0');
        }
        if (port < 1 || port > 65535) return false;
        if (!end) return true;
        p = end + 1;
    }
}

static const char *member_str(const json_t *map, const char *k, bool *bad)
{
    const json_t *v = json_object_get(map, k);
    if (!v) return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

bool conn_kafka_config_parse(const json_t *map, bool source, conn_kafka_config *out,
                             const char **key, sp_err *e)
{
    memset(out, 0, sizeof *out);
    *key = NULL;
    if (!json_is_object(map)) {
        sp_err_invalid(e, "must be a mapping {kind: kafka, brokers: host:port, topic: name}");
        return false;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)map, k, v) {
        if (strcmp(k, "kind") && strcmp(k, "brokers") && strcmp(k, "topic") &&
            (!source || strcmp(k, "group"))) {
            *key = NULL;
            sp_err_invalid(e, "unknown key '%s' (a kafka %s takes kind, brokers, topic%s)", k,
                           source ? "source" : "target", source ? ", group" : "");
            return false;
        }
    }
    bool bad = false;
    const char *kind = member_str(map, "kind", &bad);
    if (!kind || bad) {
        *key = "kind";
        sp_err_invalid(e, "kind is required and must be a string (supported: kafka)");
        return false;
    }
    if (strcmp(kind, "kafka")) {
        *key = "kind";
        sp_err_invalid(e, "kind '%s' is not supported here (supported: kafka)", kind);
        return false;
    }
    const char *brokers = member_str(map, "brokers", &bad);
    if (!brokers || bad || !brokers_valid(brokers)) {
        *key = "brokers";
        sp_err_invalid(e, "brokers must be a list of host:port separated by commas "
                          "(e.g. \"127.0.0.1:9092\"), got %s",
                       brokers ? brokers : bad ? "a non-string" : "nothing");
        return false;
    }
    const char *topic = member_str(map, "topic", &bad);
    if (!topic || bad || !topic_valid(topic)) {
        *key = "topic";
        sp_err_invalid(e, "topic must be 1-%d characters of a-z A-Z 0-9 . _ - (not . or ..)",
                       CONN_KAFKA_TOPIC_MAX);
        return false;
    }
    const char *group = source ? member_str(map, "group", &bad) : NULL;
    if (bad || (group && (!*group || strlen(group) > CONN_KAFKA_GROUP_MAX))) {
        *key = "group";
        sp_err_invalid(e, "group must be a string of 1-%d characters", CONN_KAFKA_GROUP_MAX);
        return false;
    }
    out->brokers = strdup(brokers);
    out->topic = strdup(topic);
    out->group = group ? strdup(group) : NULL;
    return true;
}

void conn_kafka_config_clear(conn_kafka_config *c)
{
    if (!c) return;
    free(c->brokers);
    free(c->topic);
    free(c->group);
    memset(c, 0, sizeof *c);
}

bool conn_kafka_pos_parse(const void *val, size_t len, uint64_t *out)
{
    const unsigned char *p = val;
    if (!p || len == 0 || len > CONN_KAFKA_POS_DIGITS_MAX) return false;
    if (len > 1 && p[0] == '0') return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = p[i] - '0';
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

size_t conn_kafka_pos_format(uint64_t pos, char *buf)
{
    return (size_t)snprintf(buf, CONN_KAFKA_POS_DIGITS_MAX + 1, "%llu", (unsigned long long)pos);
}

/* ---- librdkafka plumbing ---------------------------------------------------------------- */

/* A broker back from an outage is seen within a second, as Kafka's own clients do
 * (librdkafka's default backs off up to 10 s, which the pipe would wait out per batch). */
static const char CONF_RECONNECT_MAX_MS[] = "1000"; /* Kafka's Java default */

static bool conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, sp_err *e)
{
    char errstr[CONN_KAFKA_ERRSTR_MAX];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK) return true;
    conn_kafka_err(e, "configuration", errstr);
    return false;
}

rd_kafka_conf_t *conn_kafka_conf_new(const char *brokers, const char *const *pairs, sp_err *e)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, conn_kafka_log_cb);
    bool ok = conf_set(conf, "bootstrap.servers", brokers, e) &&
              conf_set(conf, "reconnect.backoff.max.ms", CONF_RECONNECT_MAX_MS, e);
    for (size_t i = 0; ok && pairs && pairs[i]; i += 2)
        ok = conf_set(conf, pairs[i], pairs[i + 1], e);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

void conn_kafka_err(sp_err *e, const char *what, const char *msg)
{
    sp_err_set(e, 503, "ServiceUnavailableException", "Kafka %s: %s", what, msg);
}

void conn_kafka_book_init(conn_kafka_book *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
}

void conn_kafka_book_clear(conn_kafka_book *b) { pthread_mutex_destroy(&b->mu); }

void conn_kafka_book_error(conn_kafka_book *b, const sp_err *e)
{
    pthread_mutex_lock(&b->mu);
    b->s.errors++;
    snprintf(b->s.last_error, sizeof b->s.last_error, "%s", e->msg);
    pthread_mutex_unlock(&b->mu);
}

void conn_kafka_book_records(conn_kafka_book *b, uint64_t n)
{
    pthread_mutex_lock(&b->mu);
    b->s.records += n;
    pthread_mutex_unlock(&b->mu);
}

void conn_kafka_book_lag(conn_kafka_book *b, int64_t lag)
{
    pthread_mutex_lock(&b->mu);
    b->s.lag = lag;
    pthread_mutex_unlock(&b->mu);
}

void conn_kafka_book_get(conn_kafka_book *b, conn_kafka_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->s;
    pthread_mutex_unlock(&b->mu);
}

void conn_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sp_log(level <= 3 ? SP_LOG_WARN : SP_LOG_DEBUG, "kafka %s: %s", fac, buf);
}

json_t *conn_kafka_stats_json(const conn_kafka_stats *s, const conn_kafka_config *cfg,
                              bool source)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "kind", "kafka", "endpoint",
                          cfg->brokers, "topic", cfg->topic, "errors", (json_int_t)s->errors,
                          "last_error", s->last_error, "records", (json_int_t)s->records);
    if (source) json_object_set_new(j, "lag_records", json_integer((json_int_t)s->lag));
    return j;
}
