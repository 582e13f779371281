/* Fuzzes what the Kafka connector reads from records and files it did not write: the position
 * header (conn_kafka_pos_parse), checked against a reference (every accepted value formats
 * back to the exact input; every rejected input is not a canonical decimal uint64), and the
 * `kind: kafka` config mapping (the input parsed as JSON, as a target and as a source). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/kafka.h"

/* The reference: a canonical decimal of a uint64 (no sign, no leading zero but "0"). */
static bool canonical(const uint8_t *d, size_t n)
{
    if (n == 0 || n > CONN_KAFKA_POS_DIGITS_MAX || (n > 1 && d[0] == '0')) return false;
    for (size_t i = 0; i < n; i++)
        if (d[i] < '0' || d[i] > '9') return false;
    if (n < CONN_KAFKA_POS_DIGITS_MAX) return true;
    return memcmp(d, "18446744073709551615", n) <= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t v;
    bool ok = conn_kafka_pos_parse(data, size, &v);
    if (ok != canonical(data, size)) abort();
    if (ok) {
        char buf[CONN_KAFKA_POS_DIGITS_MAX + 1];
        size_t n = conn_kafka_pos_format(v, buf);
        if (n != size || memcmp(buf, data, n)) abort();
    }
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (j) {
        for (int source = 0; source < 2; source++) {
            conn_kafka_config c;
            const char *key;
            sp_err e = {0};
            if (conn_kafka_config_parse(j, source, &c, &key, &e)) {
                if (!c.brokers || !c.topic || !*c.topic) abort();
                conn_kafka_config_clear(&c);
            } else if (!sp_err_failed(&e)) {
                abort();
            }
        }
        json_decref(j);
    }
    return 0;
}
