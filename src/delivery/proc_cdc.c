/* dynamodb-cdc: the seed's Lambda transformation, built in and generalised (DESIGN.md). Input
 * is a DynamoDB stream record as EventBridge Pipes writes it to Kinesis; output is one JSON
 * line: every attribute of NewImage (OldImage, then Keys, for REMOVE) unmarshalled, then
 * cdc_event_type, creation_datetime (from dynamodb.ApproximateCreationDateTime, epoch
 * seconds) and sequence_number (dynamodb.SequenceNumber, which orders changes of one key
 * within a second). Numbers are written in their shortest round-trip form (128.92), as the
 * seed's Python Lambda writes them. A record that is not such a JSON document fails with its
 * reason.
 *
 * Most records are not parsed at all: their text is checked once to be one jansson loads and
 * the line is written straight from the bytes (scan_line, core/json_scan.h); a record that
 * path is unsure of (an escape in a string it writes, a value the processor refuses, a
 * merging member, see below) is parsed by jansson and the line written from that tree. Either
 * way it goes into one buffer per batch: no output tree is built and dumped (that was about
 * 40 % of this processor's CPU). dlv_cdc_transform_scan and dlv_cdc_transform_jansson are the
 * two paths apart, for the differential tests. The tree-building version is kept as the reference the line must equal
 * byte for byte (dlv_cdc_transform_tree; tests/unit/delivery_cdc.c and the fuzz target compare
 * the two), and it still writes the rare records whose output object would merge members:
 * a key holding U+0000 (the output tree keys by the text before it) or an image attribute
 * named like one of the three added members (which replaces it in place). */
#include "dlv_int.h"

#include "core/json_scan.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char CDC_ERROR[] = "DynamoDbCdc.InvalidRecord";
enum { CDC_EPOCH_MS_THRESHOLD = 100000000000LL }; /* larger values are milliseconds */

typedef enum { NUM_BAD, NUM_INT, NUM_REAL } num_kind;

/* "N" strings: integral -> integer when it fits, else double. */
static num_kind num_parse(const char *s, long long *iv, double *dv, sp_err *e)
{
    char *end;
    errno = 0;
    bool integral = *s && strspn(s + (*s == '-' || *s == '+'), "0123456789") ==
                              strlen(s + (*s == '-' || *s == '+'));
    if (integral) {
        long long v = strtoll(s, &end, 10);
        if (!errno && !*end) {
            *iv = v;
            return NUM_INT;
        }
    }
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || !isfinite(d)) {
        sp_err_invalid(e, "N value '%.64s' is not a number", s);
        return NUM_BAD;
    }
    *dv = d;
    return NUM_REAL;
}

static json_t *number(const char *s, sp_err *e)
{
    long long iv = 0;
    double dv = 0;
    switch (num_parse(s, &iv, &dv, e)) {
    case NUM_INT: return json_integer(iv);
    case NUM_REAL: return json_real(dv);
    default: return NULL;
    }
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
        /* the whole string: a set element keeps U+0000 as an S value does */
        json_t *x = kind == 'N' ? number(s, e) : json_stringn(s, json_string_length(v));
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

/* ---- the record ---------------------------------------------------------------------------- */

/* The record's eventName, dynamodb object and image (borrowed from rec), or false with e. */
static bool record_image(json_t *rec, const char **event, json_t **ddb, json_t **image,
                         sp_err *e)
{
    *event = json_string_value(json_object_get(rec, "eventName"));
    *ddb = json_object_get(rec, "dynamodb");
    const char *ev = *event;
    if (!ev || (strcmp(ev, "INSERT") && strcmp(ev, "MODIFY") && strcmp(ev, "REMOVE"))) {
        sp_err_invalid(e, "eventName must be INSERT, MODIFY or REMOVE");
        return false;
    }
    if (!json_is_object(*ddb)) {
        sp_err_invalid(e, "record has no 'dynamodb' object");
        return false;
    }
    bool remove = !strcmp(ev, "REMOVE");
    *image = json_object_get(*ddb, remove ? "OldImage" : "NewImage");
    if (!*image) *image = json_object_get(*ddb, "Keys");
    if (!json_is_object(*image)) {
        sp_err_invalid(e, "%s record has no %s or Keys", ev, remove ? "OldImage" : "NewImage");
        return false;
    }
    return true;
}

/* creation_datetime's text (iso, 21 bytes) from ApproximateCreationDateTime; false: null. */
static void iso_of(double t, char iso[21])
{
    int64_t ms = t >= (double)CDC_EPOCH_MS_THRESHOLD ? (int64_t)t : (int64_t)(t * 1000.0);
    sp_clock_iso8601(ms - ms % 1000, iso);
}

static bool creation_datetime(const json_t *ddb, char iso[21])
{
    json_t *when = json_object_get(ddb, "ApproximateCreationDateTime");
    if (!json_is_number(when)) return false;
    iso_of(json_number_value(when), iso);
    return true;
}

/* The reference: the output object built as a tree and dumped, plus '\n', into out. */
static bool line_tree(const char *event, const json_t *ddb, const json_t *image, sp_str *out,
                      sp_err *e)
{
    json_t *obj = json_object();
    const char *k;
    json_t *av;
    json_object_foreach((json_t *)image, k, av) {
        json_t *u = dlv_cdc_unmarshal(av, e);
        if (!u) {
            sp_err_wrap(e, k);
            json_decref(obj);
            return false;
        }
        json_object_set_new(obj, k, u);
    }
    json_object_set_new(obj, "cdc_event_type", json_string(event));
    char iso[21];
    bool has_time = creation_datetime(ddb, iso);
    json_object_set_new(obj, "creation_datetime", has_time ? json_string(iso) : json_null());
    const char *seq = json_string_value(json_object_get(ddb, "SequenceNumber"));
    json_object_set_new(obj, "sequence_number", seq ? json_string(seq) : json_null());
    size_t n;
    char *text = sp_json_dump_shortest(obj, &n);
    json_decref(obj);
    if (!text) {
        sp_err_internal(e, "out of memory writing a line");
        return false;
    }
    sp_str_append(out, text, n);
    sp_str_putc(out, '\n');
    free(text);
    return true;
}

static json_t *record_load(const char *data, size_t len, sp_err *e)
{
    json_error_t je;
    /* In this thread's jansson arena (sp_json_arena_begin): every caller frees the tree before
     * it returns, on this thread; members added later (line_tree) come from malloc. */
    sp_json_arena_begin();
    json_t *rec = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    sp_json_arena_end();
    if (!json_is_object(rec)) {
        sp_err_invalid(e, "record is not a JSON object%s%s", rec ? "" : ": ", rec ? "" : je.text);
        json_decref(rec);
        return NULL;
    }
    return rec;
}

char *dlv_cdc_transform_tree(const char *data, size_t len, size_t *out_len, sp_err *e)
{
    json_t *rec = record_load(data, len, e);
    if (!rec) return NULL;
    const char *event;
    json_t *ddb, *image;
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    bool ok = record_image(rec, &event, &ddb, &image, e) && line_tree(event, ddb, image, &out, e);
    json_decref(rec);
    if (!ok) {
        sp_str_release(&out);
        return NULL;
    }
    return sp_str_finish(&out, out_len);
}

/* ---- the line written straight from the record ------------------------------------------- */

typedef enum { EMIT_FAILED, EMIT_OK, EMIT_MERGES } emit_result;

/* The text sp_json_real_format gives d, d parsed from the N string s. When s is a plain
 * decimal (no exponent) of at most DBL_DIG significant digits and d is a normal double, that
 * text has exactly those digits: distinct decimals of at most DBL_DIG digits are distinct
 * doubles, so no shorter precision reads back as d, and "%.<digits>g" reads back as d. So
 * one snprintf replaces the search over precisions (still checked; otherwise the search). */
static size_t real_text(const char *s, double d, char *buf)
{
    int sig = 0, zeros = 0;
    bool nonzero = false, point = false;
    for (const char *p = s + (*s == '-' || *s == '+'); *p; p++) {
        if (*p == '.' && !point) {
            point = true;
        } else if (*p < '0' || *p > '9') {
            return sp_json_real_format(d, buf);
        } else if (*p == '0') {
            zeros += nonzero;
        } else {
            nonzero = true;
            sig += zeros + 1;
            zeros = 0;
        }
    }
    if (sig == 0 || sig > DBL_DIG || fabs(d) < DBL_MIN) return sp_json_real_format(d, buf);
    int n = snprintf(buf, SP_JSON_REAL_MAX, "%.*g", sig, d);
    if (n <= 0 || n >= SP_JSON_REAL_MAX - 2 || strtod(buf, NULL) != d)
        return sp_json_real_format(d, buf);
    if (!strpbrk(buf, ".eEn")) {     /* sp_json_real_format's rule */
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

static bool emit_number(sp_str *out, const char *s, sp_err *e)
{
    long long iv = 0;
    double dv = 0;
    char buf[SP_JSON_REAL_MAX];
    switch (num_parse(s, &iv, &dv, e)) {
    case NUM_INT: {
        char *p = buf + sizeof buf;
        unsigned long long u = iv < 0 ? 0ull - (unsigned long long)iv : (unsigned long long)iv;
        do *--p = (char)('0' + u % 10); while (u /= 10);
        if (iv < 0) *--p = '-';
        sp_str_append(out, p, (size_t)(buf + sizeof buf - p));
        return true;
    }
    case NUM_REAL: sp_str_append(out, buf, real_text(s, dv, buf)); return true;
    default: return false;
    }
}

/* A member name; EMIT_MERGES when the name holds U+0000 (the tree would key by its prefix). */
static emit_result emit_key(sp_str *out, const char *k, size_t klen)
{
    if (strlen(k) != klen) return EMIT_MERGES;
    sp_json_string_append(out, k, klen);
    sp_str_putc(out, ':');
    return EMIT_OK;
}

/* Writes what dlv_cdc_unmarshal returns for av, failing with the same message. */
static emit_result emit_av(sp_str *out, const json_t *av, sp_err *e)
{
    if (!json_is_object(av) || json_object_size(av) != 1) {
        sp_err_invalid(e, "attribute value must be an object with one type key");
        return EMIT_FAILED;
    }
    const char *type = json_object_iter_key(json_object_iter((json_t *)av));
    const json_t *v = json_object_get(av, type);
    if (!strcmp(type, "S") || !strcmp(type, "B")) {
        if (!json_is_string(v)) goto bad;
        sp_json_string_append(out, json_string_value(v), json_string_length(v));
        return EMIT_OK;
    }
    if (!strcmp(type, "N")) {
        if (!json_is_string(v)) goto bad;
        return emit_number(out, json_string_value(v), e) ? EMIT_OK : EMIT_FAILED;
    }
    if (!strcmp(type, "BOOL")) {
        if (!json_is_boolean(v)) goto bad;
        sp_str_puts(out, json_is_true(v) ? "true" : "false");
        return EMIT_OK;
    }
    if (!strcmp(type, "NULL")) {
        sp_str_puts(out, "null");
        return EMIT_OK;
    }
    if (!strcmp(type, "SS") || !strcmp(type, "NS") || !strcmp(type, "BS")) {
        char kind = type[0];
        if (!json_is_array(v)) {
            sp_err_invalid(e, "%cS value is not a list", kind);
            return EMIT_FAILED;
        }
        sp_str_putc(out, '[');
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            const char *s = json_string_value(x);
            if (!s) {
                sp_err_invalid(e, "%cS element %zu is not a string", kind, i);
                return EMIT_FAILED;
            }
            if (i) sp_str_putc(out, ',');
            if (kind == 'N') {
                if (!emit_number(out, s, e)) return EMIT_FAILED;
            } else {
                sp_json_string_append(out, s, json_string_length(x)); /* as set_of */
            }
        }
        sp_str_putc(out, ']');
        return EMIT_OK;
    }
    if (!strcmp(type, "M")) {
        if (!json_is_object(v)) goto bad;
        sp_str_putc(out, '{');
        bool first = true;
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, klen, x) {
            if (!first) sp_str_putc(out, ',');
            first = false;
            emit_result r = emit_key(out, k, klen);
            if (r == EMIT_OK) r = emit_av(out, x, e);
            if (r != EMIT_OK) return r;
        }
        sp_str_putc(out, '}');
        return EMIT_OK;
    }
    if (!strcmp(type, "L")) {
        if (!json_is_array(v)) goto bad;
        sp_str_putc(out, '[');
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (i) sp_str_putc(out, ',');
            emit_result r = emit_av(out, x, e);
            if (r != EMIT_OK) return r;
        }
        sp_str_putc(out, ']');
        return EMIT_OK;
    }
    sp_err_invalid(e, "unknown attribute type '%.16s'", type);
    return EMIT_FAILED;
bad:
    sp_err_invalid(e, "attribute of type %s has a value of the wrong JSON type", type);
    return EMIT_FAILED;
}

static bool added_member(const char *k)
{
    return !strcmp(k, "cdc_event_type") || !strcmp(k, "creation_datetime") ||
           !strcmp(k, "sequence_number");
}

/* The line of the record, as line_tree writes it, appended to out. */
static emit_result line_emit(const char *event, const json_t *ddb, const json_t *image,
                             sp_str *out, sp_err *e)
{
    sp_str_putc(out, '{');
    const char *k;
    size_t klen;
    json_t *av;
    json_object_keylen_foreach((json_t *)image, k, klen, av) {
        if (added_member(k)) return EMIT_MERGES;
        emit_result r = emit_key(out, k, klen);
        if (r == EMIT_OK) r = emit_av(out, av, e);
        if (r == EMIT_FAILED) sp_err_wrap(e, k);
        if (r != EMIT_OK) return r;
        sp_str_putc(out, ',');
    }
    sp_str_puts(out, "\"cdc_event_type\":\"");
    sp_str_puts(out, event);                       /* INSERT, MODIFY or REMOVE */
    sp_str_puts(out, "\",\"creation_datetime\":");
    char iso[21];
    if (creation_datetime(ddb, iso)) {
        sp_str_putc(out, '"');
        sp_str_puts(out, iso);
        sp_str_putc(out, '"');
    } else {
        sp_str_puts(out, "null");
    }
    sp_str_puts(out, ",\"sequence_number\":");
    const char *seq = json_string_value(json_object_get(ddb, "SequenceNumber"));
    if (seq) sp_json_string_append(out, seq, strlen(seq)); /* json_string(seq), as the tree */
    else sp_str_puts(out, "null");
    sp_str_puts(out, "}\n");
    return EMIT_OK;
}

/* ---- the line written straight from the record's text ------------------------------------ */

/* The record's own text, read in place (core/json_scan.h) once sp_jscan_valid says jansson
 * loads it: no tree at all. Everything these functions write is what line_emit writes from
 * jansson's tree of the same text; whatever they are not sure of (a string with an escape,
 * a value line_emit would refuse, a record whose line merges members) they decline, and the
 * record takes the jansson path above, which also gives every error. */

enum { CDC_SCAN_NUMBER_MAX = 127 };

/* A string without escapes as sp_json_string_append writes it: it holds nothing to escape. */
static void scan_put_plain(sp_str *out, const char *s, size_t len)
{
    sp_str_putc(out, '"');
    sp_str_append(out, s, len);
    sp_str_putc(out, '"');
}

static bool scan_number(sp_str *out, const char *v)
{
    const char *s;
    size_t len;
    char buf[CDC_SCAN_NUMBER_MAX + 1];
    if (*v != '"' || !sp_jscan_plain_string(v, &s, &len) || len > CDC_SCAN_NUMBER_MAX)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    sp_err e = {0};
    return emit_number(out, buf, &e);
}

static bool scan_is(const char *k, size_t klen, const char *word)
{
    return klen == strlen(word) && !memcmp(k, word, klen);
}

/* What emit_av writes for the attribute value at av; false: declined. */
static bool scan_av(sp_str *out, const char *av)
{
    if (*av != '{') return false;
    sp_jscan_iter it;
    sp_jscan_iter_init(&it, av);
    const char *type, *v, *k, *x;
    size_t tlen, klen, i;
    if (!sp_jscan_iter_member(&it, &type, &tlen, &v) || sp_jscan_iter_member(&it, &k, &klen, &x))
        return false;                             /* not exactly one type key */
    const char *s;
    size_t len;
    if (scan_is(type, tlen, "S") || scan_is(type, tlen, "B")) {
        if (*v != '"' || !sp_jscan_plain_string(v, &s, &len)) return false;
        scan_put_plain(out, s, len);
        return true;
    }
    if (scan_is(type, tlen, "N")) return scan_number(out, v);
    if (scan_is(type, tlen, "BOOL")) {
        if (*v != 't' && *v != 'f') return false;
        sp_str_puts(out, *v == 't' ? "true" : "false");
        return true;
    }
    if (scan_is(type, tlen, "NULL")) {
        sp_str_puts(out, "null");
        return true;
    }
    bool ss = scan_is(type, tlen, "SS"), ns = scan_is(type, tlen, "NS"),
         bs = scan_is(type, tlen, "BS"), l = scan_is(type, tlen, "L");
    if (ss || ns || bs || l) {
        if (*v != '[') return false;
        sp_str_putc(out, '[');
        sp_jscan_iter_init(&it, v);
        for (i = 0; sp_jscan_iter_elem(&it, &x); i++) {
            if (i) sp_str_putc(out, ',');
            if (l) {
                if (!scan_av(out, x)) return false;
            } else if (ns) {
                if (!scan_number(out, x)) return false;
            } else {
                if (*x != '"' || !sp_jscan_plain_string(x, &s, &len)) return false;
                scan_put_plain(out, s, len);
            }
        }
        sp_str_putc(out, ']');
        return true;
    }
    if (scan_is(type, tlen, "M")) {
        if (*v != '{') return false;
        sp_str_putc(out, '{');
        sp_jscan_iter_init(&it, v);
        for (i = 0; sp_jscan_iter_member(&it, &k, &klen, &x); i++) {
            if (i) sp_str_putc(out, ',');
            scan_put_plain(out, k, klen);             /* names hold no escapes */
            sp_str_putc(out, ':');
            if (!scan_av(out, x)) return false;
        }
        sp_str_putc(out, '}');
        return true;
    }
    return false;
}

/* The record's line as line_emit writes it, appended to out; false: declined (out then holds
 * a partial line the caller cuts off). */
static bool scan_line(const char *data, size_t len, sp_str *out)
{
    if (!sp_jscan_valid(data, len)) return false;
    const char *rec = data;
    while (*rec != '{') rec++;                   /* past leading whitespace */
    const char *k, *v, *event = NULL, *ddb = NULL;
    size_t klen;
    sp_jscan_iter it;
    sp_jscan_iter_init(&it, rec);
    while (sp_jscan_iter_member(&it, &k, &klen, &v)) {
        if (scan_is(k, klen, "eventName")) event = v;
        else if (scan_is(k, klen, "dynamodb")) ddb = v;
    }
    static const char *const EVENTS[] = {"INSERT", "MODIFY", "REMOVE"};
    const char *ev = NULL;
    for (size_t i = 0; event && i < SP_ARRAY_LEN(EVENTS); i++)
        if (sp_jscan_string_is(event, EVENTS[i])) ev = EVENTS[i];
    if (!ev || !ddb || *ddb != '{') return false;
    bool remove = ev == EVENTS[2];
    const char *image = NULL, *keys = NULL, *when = NULL, *seq = NULL;
    sp_jscan_iter_init(&it, ddb);
    while (sp_jscan_iter_member(&it, &k, &klen, &v)) {
        if (scan_is(k, klen, remove ? "OldImage" : "NewImage")) image = v;
        else if (scan_is(k, klen, "Keys")) keys = v;
        else if (scan_is(k, klen, "ApproximateCreationDateTime")) when = v;
        else if (scan_is(k, klen, "SequenceNumber")) seq = v;
    }
    if (!image) image = keys;
    if (!image || *image != '{') return false;
    sp_str_putc(out, '{');
    sp_jscan_iter_init(&it, image);
    while (sp_jscan_iter_member(&it, &k, &klen, &v)) {
        if (scan_is(k, klen, "cdc_event_type") || scan_is(k, klen, "creation_datetime") ||
            scan_is(k, klen, "sequence_number"))
            return false;                        /* the line would merge members */
        scan_put_plain(out, k, klen);
        sp_str_putc(out, ':');
        if (!scan_av(out, v)) return false;
        sp_str_putc(out, ',');
    }
    sp_str_puts(out, "\"cdc_event_type\":\"");
    sp_str_puts(out, ev);
    sp_str_puts(out, "\",\"creation_datetime\":");
    if (when && (*when == '-' || (*when >= '0' && *when <= '9'))) {
        char iso[21];
        iso_of(sp_jscan_number(when), iso);
        sp_str_putc(out, '"');
        sp_str_puts(out, iso);
        sp_str_putc(out, '"');
    } else {
        sp_str_puts(out, "null");
    }
    sp_str_puts(out, ",\"sequence_number\":");
    if (seq && *seq == '"') {
        const char *s;
        size_t slen;
        if (!sp_jscan_plain_string(seq, &s, &slen)) return false;
        scan_put_plain(out, s, slen);
    } else {
        sp_str_puts(out, "null");
    }
    sp_str_puts(out, "}\n");
    return true;
}

/* Appends the record's line to out, from its text when scan_line takes it (true), else
 * nothing (false). */
static bool cdc_line_scan(const char *data, size_t len, sp_str *out)
{
    size_t start = out->len;
    if (!scan_line(data, len, out) || sp_str_failed(out)) {
        out->len = start;
        if (out->buf) out->buf[out->len] = '\0';
        return false;
    }
    out->buf[out->len] = '\0';
    return true;
}

char *dlv_cdc_transform_scan(const char *data, size_t len, size_t *out_len)
{
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    if (!cdc_line_scan(data, len, &out)) {
        sp_str_release(&out);
        return NULL;
    }
    return sp_str_finish(&out, out_len);
}

/* Appends the record's line to out through jansson's tree (unchanged on failure, e set). */
static bool cdc_line_tree(const char *data, size_t len, sp_str *out, sp_err *e)
{
    json_t *rec = record_load(data, len, e);
    if (!rec) return false;
    size_t start = out->len;
    const char *event;
    json_t *ddb, *image;
    bool ok = record_image(rec, &event, &ddb, &image, e);
    if (ok) {
        emit_result r = line_emit(event, ddb, image, out, e);
        if (r == EMIT_MERGES) {
            out->len = start;
            r = line_tree(event, ddb, image, out, e) ? EMIT_OK : EMIT_FAILED;
        }
        ok = r == EMIT_OK;
    }
    json_decref(rec);
    if (ok && sp_str_failed(out)) {
        sp_err_internal(e, "out of memory writing a line");
        ok = false;
    }
    if (!ok) out->len = start;
    if (out->buf) out->buf[out->len] = '\0';
    return ok;
}

/* Appends the record's line to out (unchanged on failure, e set). */
static bool cdc_line(const char *data, size_t len, sp_str *out, sp_err *e)
{
    return cdc_line_scan(data, len, out) || cdc_line_tree(data, len, out, e);
}

char *dlv_cdc_transform_jansson(const char *data, size_t len, size_t *out_len, sp_err *e)
{
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    if (!cdc_line_tree(data, len, &out, e)) {
        sp_str_release(&out);
        return NULL;
    }
    return sp_str_finish(&out, out_len);
}

char *dlv_cdc_transform(const char *data, size_t len, size_t *out_len, sp_err *e)
{
    char initial[512];
    sp_str out;
    sp_str_init(&out, initial, sizeof initial, SP_STR_NO_MAX);
    if (!cdc_line(data, len, &out, e)) {
        sp_str_release(&out);
        return NULL;
    }
    return sp_str_finish(&out, out_len);
}

static void *cdc_create(const json_t *params, const dlv_proc_env *env, sp_err *e)
{
    (void)params;
    (void)env;
    (void)e;
    static int token;
    return &token;
}

/* One buffer for the whole batch: each record's line is written into it, then copied out at
 * its exact size (the record owns its data). */
static void cdc_process(void *self, dlv_rec *recs, size_t n)
{
    (void)self;
    char initial[4096];
    sp_str out;
    sp_str_init(&out, initial, sizeof initial, SP_STR_NO_MAX);
    for (size_t i = 0; i < n; i++) {
        dlv_rec *r = &recs[i];
        if (r->result != DLV_REC_OK) continue;
        sp_err e = {0};
        sp_str_reset(&out);
        if (!cdc_line(r->data, r->len, &out, &e)) {
            dlv_rec_fail(r, CDC_ERROR, "dynamodb-cdc: %s", e.msg);
            continue;
        }
        dlv_rec_set_data(r, out.buf, out.len);
    }
    sp_str_release(&out);
}

static void cdc_destroy(void *self) { (void)self; }

const dlv_processor_class dlv_proc_cdc = {
    .type = "dynamodb-cdc",
    .description = "DynamoDB stream record -> one JSON line of the unmarshalled image",
    .create = cdc_create,
    .process = cdc_process,
    .destroy = cdc_destroy,
};
