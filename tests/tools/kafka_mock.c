/* kafka_mock: librdkafka's built-in mock Kafka cluster as a process, for the e2e tests of the
 * Kafka connector (tests/e2e/test_kafka_*.py). The mock cluster lives inside a librdkafka
 * client, so a test that wants a broker salespipe can reach starts this tool.
 *
 *   kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints "bootstrap=<host:port,...>" once the cluster is up, then reads one command per line
 * on stdin and answers "ok" (or "error: ...") to each, until stdin closes or SIGTERM:
 *   down <broker id>          the broker stops answering (rd_kafka_mock_broker_set_down)
 *   up <broker id>            it answers again
 *   errors <api key> <count> <error code>
 *                             the next <count> requests of that API fail with the error
 *                             (rd_kafka_mock_push_request_errors; e.g. 0 = Produce, 26 = EndTxn)
 *   topic <name> <partitions> creates a topic
 * SIGUSR1 takes broker 1 down, SIGUSR2 brings it back (for shells). */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MOCK_LINE_MAX = 512, MOCK_REPLICATION = 1 };

static volatile sig_atomic_t stop_now, want_down, want_up;

static void on_term(int sig) { (void)sig, stop_now = 1; }
static void on_usr1(int sig) { (void)sig, want_down = 1; }
static void on_usr2(int sig) { (void)sig, want_up = 1; }

static int topic_create(rd_kafka_mock_cluster_t *mc, const char *spec)
{
    char name[256];
    int parts = 0;
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof name || (parts = atoi(colon + 1)) <= 0) {
        fprintf(stderr, "kafka_mock: --topic wants NAME:PARTITIONS, got %s\n", spec);
        return -1;
    }
    memcpy(name, spec, (size_t)(colon - spec));
    name[colon - spec] = '\0';
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, MOCK_REPLICATION);
    if (err) fprintf(stderr, "kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(err));
    return err ? -1 : 0;
}

static void command(rd_kafka_mock_cluster_t *mc, char *line)
{
    char verb[32] = "", name[256];
    long a = 0, b = 0, c = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "%31s", verb) != 1) return;
    if (!strcmp(verb, "down") && sscanf(line, "%*s %ld", &a) == 1) {
        err = rd_kafka_mock_broker_set_down(mc, (int32_t)a);
    } else if (!strcmp(verb, "up") && sscanf(line, "%*s %ld", &a) == 1) {
        err = rd_kafka_mock_broker_set_up(mc, (int32_t)a);
    } else if (!strcmp(verb, "errors") && sscanf(line, "%*s %ld %ld %ld", &a, &b, &c) == 3 &&
               b > 0 && b <= 1000) {
        rd_kafka_resp_err_t errs[1000];
        for (long i = 0; i < b; i++) errs[i] = (rd_kafka_resp_err_t)c;
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
    } else if (!strcmp(verb, "topic") && sscanf(line, "%*s %255s %ld", name, &a) == 2 && a > 0) {
        err = rd_kafka_mock_topic_create(mc, name, (int)a, MOCK_REPLICATION);
    } else {
        printf("error: unknown command: %s", line);
        fflush(stdout);
        return;
    }
    if (err) printf("error: %s\n", rd_kafka_err2str(err));
    else printf("ok\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int brokers = 3;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) brokers = atoi(argv[++i]);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot start a mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++)
        if (!strcmp(argv[i], "--topic") && i + 1 < argc) rc = topic_create(mc, argv[++i]);
    if (rc) goto out;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    char line[MOCK_LINE_MAX];
    while (!stop_now) {
        if (want_down) want_down = 0, rd_kafka_mock_broker_set_down(mc, 1);
        if (want_up) want_up = 0, rd_kafka_mock_broker_set_up(mc, 1);
        if (!fgets(line, sizeof line, stdin)) {
            if (errno == EINTR && !feof(stdin)) {
                clearerr(stdin);
                errno = 0;
                continue;
            }
            break;
        }
        command(mc, line);
    }
out:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
