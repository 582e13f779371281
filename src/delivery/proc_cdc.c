/* dynamodb-cdc: the seed's Lambda transformation, built in and generalised (DESIGN.md). Input
 * is a DynamoDB stream record as EventBridge Pipes writes it to Kinesis; output is one JSON
 * line: every attribute of NewImage (OldImage, then Keys, for REMOVE) unmarshalled, then
 * cdc_event_type, creation_datetime (from dynamodb.ApproximateCreationDateTime, epoch
 * seconds) and sequence_number (dynamodb.SequenceNumber, which orders changes of one key
 * within a second). Numbers are written in their shortest round-trip form (128.92), as the
 * seed's Python Lambda writes them. A record that is not such a JSON document fails with its
 * reason. */
#include "dlv_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char CDC_ERROR[] = "DynamoDbCdc.InvalidRecord";
enum { CDC_EPOCH_MS_THRESHOLD = 100000000000LL }; /* larger values are milliseconds */

/* "N" strings: integral -> integer when it fits, else double. */
static json_t *number(const char *s, sp_err *e)
{
    char *end;
    errno = 0;
    bool integral = *s && strspn(s + (*s == '-' || *s == '+'), "0123456789") ==
                              strlen(s + (*s == '-' || *s == '+'));
    if (integral) {
        long long v = strtoll(s, &end, 10);
        if (!errno && !*end) return json_integer(v);
    }
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(d)) {
        sp_err_invalid(e, "N value '%.64s' is not a number", s);
        return NULL;
    }
    return json_real(d);
}

static json_t *set_of(const json_t *arr, char kind, sp_err *e)
{
    if (!json_is_array(arr)) {
        sp_err_invalid(e, "%cS value is not a list", kind);
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s) {
            sp_err_invalid(e, "%cS element %zu is not a string", kind, i);
            json_decref(out);
            return NULL;
        }
        json_t *x = kind == 'N' ? number(s, e) : json_string(s);
        if (!x) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, x);
    }
    return out;
}

json_t *dlv_cdc_unmarshal(const json_t *av, sp_err *e)
{
    if (!json_is_object(av) || json_object_size(av) != 1) {
        sp_err_invalid(e, "attribute value must be an object with one type key");
        return NULL;
    }
    const char *type = json_object_iter_key(json_object_iter((json_t *)av));
    const json_t *v = json_object_get(av, type);
    if (!strcmp(type, "S") || !strcmp(type, "B")) {
        if (!json_is_string(v)) goto bad;
        return json_copy((json_t *)v);   /* B stays base64, as the stream carries it */
    }
    if (!strcmp(type, "N")) {
        if (!json_is_string(v)) goto bad;
        return number(json_string_value(v), e);
    }
    if (!strcmp(type, "BOOL")) {
        if (!json_is_boolean(v)) goto bad;
        return json_boolean(json_is_true(v));
    }
    if (!strcmp(type, "NULL")) return json_null();
    if (!strcmp(type, "SS")) return set_of(v, 'S', e);
    if (!strcmp(type, "NS")) return set_of(v, 'N', e);
    if (!strcmp(type, "BS")) return set_of(v, 'B', e);
    if (!strcmp(type, "M")) {
        if (!json_is_object(v)) goto bad;
        json_t *out = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            json_t *u = dlv_cdc_unmarshal(x, e);
            if (!u) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, u);
        }
        return out;
    }
    if (!strcmp(type, "L")) {
        if (!json_is_array(v)) goto bad;
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            json_t *u = dlv_cdc_unmarshal(x, e);
            if (!u) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, u);
        }
        return out;
    }
    sp_err_invalid(e, "unknown attribute type '%.16s'", type);
    return NULL;
bad:
    sp_err_invalid(e, "attribute of type %s has a value of the wrong JSON type", type);
    return NULL;
}

char *dlv_cdc_transform(const char *data, size_t len, size_t *out_len, sp_err *e)
{
    json_error_t je;
    json_t *rec = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!json_is_object(rec)) {
        sp_err_invalid(e, "record is not a JSON object%s%s", rec ? "" : ": ", rec ? "" : je.text);
        json_decref(rec);
        return NULL;
    }
    char *line = NULL;
    json_t *out = NULL;
    const char *event = json_string_value(json_object_get(rec, "eventName"));
    json_t *ddb = json_object_get(rec, "dynamodb");
    if (!event || (strcmp(event, "INSERT") && strcmp(event, "MODIFY") && strcmp(event, "REMOVE"))) {
        sp_err_invalid(e, "eventName must be INSERT, MODIFY or REMOVE");
        goto done;
    }
    if (!json_is_object(ddb)) {
        sp_err_invalid(e, "record has no 'dynamodb' object");
        goto done;
    }
    bool remove = !strcmp(event, "REMOVE");
    json_t *image = json_object_get(ddb, remove ? "OldImage" : "NewImage");
    if (!image) image = json_object_get(ddb, "Keys");
    if (!json_is_object(image)) {
        sp_err_invalid(e, "%s record has no %s or Keys", event, remove ? "OldImage" : "NewImage");
        goto done;
    }
    out = json_object();
    const char *k;
    json_t *av;
    json_object_foreach(image, k, av) {
        json_t *u = dlv_cdc_unmarshal(av, e);
        if (!u) {
            sp_err_wrap(e, k);
            goto done;
        }
        json_object_set_new(out, k, u);
    }
    json_object_set_new(out, "cdc_event_type", json_string(event));
    json_t *when = json_object_get(ddb, "ApproximateCreationDateTime");
    if (json_is_number(when)) {
        double t = json_number_value(when);
        int64_t ms = t >= (double)CDC_EPOCH_MS_THRESHOLD ? (int64_t)t : (int64_t)(t * 1000.0);
        char iso[21];
        sp_clock_iso8601(ms - ms % 1000, iso);
        json_object_set_new(out, "creation_datetime", json_string(iso));
    } else {
        json_object_set_new(out, "creation_datetime", json_null());
    }
    const char *seq = json_string_value(json_object_get(ddb, "SequenceNumber"));
    json_object_set_new(out, "sequence_number", seq ? json_string(seq) : json_null());
    size_t n;
    char *text = sp_json_dump_shortest(out, &n);
    line = malloc(n + 2);
    memcpy(line, text, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    *out_len = n + 1;
    free(text);
done:
    json_decref(out);
    json_decref(rec);
    return line;
}

static void *cdc_create(const json_t *params, const dlv_proc_env *env, sp_err *e)
{
    (void)params;
    (void)env;
    (void)e;
    static int token;
    return &token;
}

static void cdc_process(void *self, dlv_rec *recs, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        dlv_rec *r = &recs[i];
        if (r->result != DLV_REC_OK) continue;
        sp_err e = {0};
        size_t len;
        char *line = dlv_cdc_transform(r->data, r->len, &len, &e);
        if (!line) {
            dlv_rec_fail(r, CDC_ERROR, "dynamodb-cdc: %s", e.msg);
            continue;
        }
        free(r->data);
        r->data = line;
        r->len = len;
    }
}

static void cdc_destroy(void *self) { (void)self; }

const dlv_processor_class dlv_proc_cdc = {
    .type = "dynamodb-cdc",
    .description = "DynamoDB stream record -> one JSON line of the unmarshalled image",
    .create = cdc_create,
    .process = cdc_process,
    .destroy = cdc_destroy,
};
