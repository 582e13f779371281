/* Object keys as Firehose writes them: <evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-
 * <uuid><ext>. A prefix may use !{timestamp:<Java DateTimeFormatter pattern>},
 * !{firehose:random-string}, !{firehose:error-output-type} (error prefixes only) and
 * !{partitionKeyFromQuery:<name>} and !{partitionKeyFromLambda:<name>}; a prefix without any expression gets the default hour
 * folders "YYYY/MM/dd/HH/" appended, which is also what the empty prefix renders to. Every time
 * is UTC and comes from the oldest record of the object (the caller's time_ms). */
#include "dlv_int.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

static const char EXPR_OPEN[] = "!{";
static const char DEFAULT_TIME_PATTERN[] = "yyyy/MM/dd/HH/";
static const char DEFAULT_ERROR_PREFIX[] = "processing-failed/";
static const char NS_QUERY[] = "partitionKeyFromQuery";
static const char NS_LAMBDA[] = "partitionKeyFromLambda";
/* What a partition expression renders to when a prefix is checked without data. */
static const char SAMPLE_PARTITION_VALUE[] = "p";

static void utc(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    gmtime_r(&t, tm);
}

/* Java DateTimeFormatter subset: y M d H m s letters (repeat count = width), 'quoted'
 * literals, everything that is not a letter is literal. */
static bool render_time(const char *pat, size_t n, int64_t ms, sp_str *out, sp_err *e)
{
    struct tm tm;
    utc(ms, &tm);
    for (size_t i = 0; i < n;) {
        char c = pat[i];
        if (c == '\'') {                  /* 'literal', with '' for a quote */
            size_t j = i + 1;
            if (j < n && pat[j] == '\'') {
                sp_str_putc(out, '\'');
                i = j + 1;
                continue;
            }
            for (;;) {
                if (j >= n) {
                    sp_err_set(e, 400, "InvalidArgumentException",
                               "timestamp pattern '%.*s' has an unterminated quote", (int)n, pat);
                    return false;
                }
                if (pat[j] == '\'' && j + 1 < n && pat[j + 1] == '\'') {
                    sp_str_putc(out, '\'');
                    j += 2;
                } else if (pat[j] == '\'') {
                    break;
                } else {
                    sp_str_putc(out, pat[j++]);
                }
            }
            i = j + 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            sp_str_putc(out, c);
            i++;
            continue;
        }
        size_t w = 1;
        while (i + w < n && pat[i + w] == c) w++;
        int v;
        switch (c) {
        case 'y': case 'u': v = tm.tm_year + 1900; break;
        case 'M': v = tm.tm_mon + 1; break;
        case 'd': v = tm.tm_mday; break;
        case 'H': v = tm.tm_hour; break;
        case 'm': v = tm.tm_min; break;
        case 's': v = tm.tm_sec; break;
        default:
            sp_err_set(e, 400, "InvalidArgumentException",
                       "timestamp pattern '%.*s': letter '%c' is not supported (use y M d H m s)",
                       (int)n, pat, c);
            return false;
        }
        if ((c == 'y' || c == 'u') && w == 2) sp_str_appendf(out, "%02d", v % 100);
        else sp_str_appendf(out, "%0*d", (int)w, v);
        i += w;
    }
    return true;
}

/* Firehose's own bounds on a partition value (present, at most DLV_PARTITION_KEY_MAX). Whether
 * the key it ends up in is a valid object key is the lake's one key check
 * (lake_key_valid), applied to the whole rendered key by the caller. */
static bool put_partition(const dlv_key_ctx *kc, const char *ns, const char *name, size_t n,
                          sp_str *out, sp_err *e)
{
    /* a Lambda's keys live under DLV_LAMBDA_KEY_PREFIX in the record's partition object */
    char key[DLV_PARTITION_KEY_MAX + sizeof DLV_LAMBDA_KEY_PREFIX];
    snprintf(key, sizeof key, "%s%.*s", ns == NS_LAMBDA ? DLV_LAMBDA_KEY_PREFIX : "", (int)n,
             name);
    const char *shown = key + (ns == NS_LAMBDA ? strlen(DLV_LAMBDA_KEY_PREFIX) : 0);
    if (kc->sample) {
        sp_str_puts(out, SAMPLE_PARTITION_VALUE);
        return true;
    }
    const json_t *v = kc->partition ? json_object_get(kc->partition, key) : NULL;
    if (!v || json_is_null(v)) {
        sp_err_set(e, 400, "InvalidArgumentException", "%s:%s has no value for this record", ns,
                   shown);
        return false;
    }
    char buf[64];
    const char *s = buf;
    if (json_is_string(v)) s = json_string_value(v);
    else if (json_is_integer(v)) snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) s = json_is_true(v) ? "true" : "false";
    else {
        sp_err_set(e, 400, "InvalidArgumentException", "%s:%s is not a scalar", ns, shown);
        return false;
    }
    if (!*s || strlen(s) >= DLV_PARTITION_KEY_MAX) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "%s:%s value '%.64s' is empty or longer than %d characters", ns, shown, s,
                   DLV_PARTITION_KEY_MAX - 1);
        return false;
    }
    sp_str_puts(out, s);
    return true;
}

/* Walks the prefix; with kc == NULL only checks syntax. */
static bool walk(const char *prefix, bool error_output, const dlv_key_ctx *kc, sp_str *out,
                 bool *had_expr, sp_err *e)
{
    *had_expr = false;
    if (strlen(prefix) > DLV_PREFIX_MAX) {
        sp_err_set(e, 400, "InvalidArgumentException", "prefix is longer than %d characters",
                   DLV_PREFIX_MAX);
        return false;
    }
    const char *p = prefix;
    while (*p) {
        const char *x = strstr(p, EXPR_OPEN);
        if (!x) {
            if (out) sp_str_puts(out, p);
            break;
        }
        if (out) sp_str_append(out, p, (size_t)(x - p));
        const char *body = x + 2, *end = strchr(body, '}');
        const char *colon = end ? memchr(body, ':', (size_t)(end - body)) : NULL;
        if (!end || !colon) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "prefix '%s': expression at offset %d is not !{namespace:value}", prefix,
                       (int)(x - prefix));
            return false;
        }
        *had_expr = true;
        size_t ns_len = (size_t)(colon - body), val_len = (size_t)(end - colon - 1);
        const char *val = colon + 1;
#define NS_IS(s) (ns_len == strlen(s) && !memcmp(body, s, ns_len))
#define VAL_IS(s) (val_len == strlen(s) && !memcmp(val, s, val_len))
        if (NS_IS("timestamp")) {
            if (val_len == 0) goto bad;
            sp_str scratch;
            char sbuf[64];
            sp_str_init(&scratch, sbuf, sizeof sbuf, SP_STR_NO_MAX);
            bool ok = render_time(val, val_len, kc ? kc->time_ms : 0, out ? out : &scratch, e);
            sp_str_release(&scratch);
            if (!ok) return false;
        } else if (NS_IS("firehose") && VAL_IS("random-string")) {
            if (out) sp_str_puts(out, kc && kc->random ? kc->random : "");
        } else if (NS_IS("firehose") && VAL_IS("error-output-type")) {
            if (!error_output) {
                sp_err_set(e, 400, "InvalidArgumentException",
                           "prefix '%s': !{firehose:error-output-type} is only allowed in "
                           "ErrorOutputPrefix", prefix);
                return false;
            }
            if (out) sp_str_puts(out, kc && kc->error_type ? kc->error_type : "processing-failed");
        } else if (NS_IS(NS_QUERY) || NS_IS(NS_LAMBDA)) {
            const char *ns = NS_IS(NS_QUERY) ? NS_QUERY : NS_LAMBDA;
            if (error_output) {
                sp_err_set(e, 400, "InvalidArgumentException",
                           "prefix '%s': %s is not allowed in ErrorOutputPrefix", prefix, ns);
                return false;
            }
            if (val_len == 0) goto bad;
            if (kc && !put_partition(kc, ns, val, val_len, out, e)) return false;
        } else {
            goto bad;
        }
#undef NS_IS
#undef VAL_IS
        p = end + 1;
        continue;
    bad:
        sp_err_set(e, 400, "InvalidArgumentException",
                   "prefix '%s': unsupported expression '!{%.*s}'", prefix, (int)(end - body),
                   body);
        return false;
    }
    return true;
}

bool dlv_prefix_check(const char *prefix, bool error_output, sp_err *e)
{
    bool had_expr;
    return walk(prefix ? prefix : "", error_output, NULL, NULL, &had_expr, e);
}

bool dlv_prefix_render(const char *prefix, const dlv_key_ctx *kc, sp_str *out, sp_err *e)
{
    bool had_expr;
    if (!walk(prefix ? prefix : "", false, kc, out, &had_expr, e)) return false;
    if (!had_expr)
        return render_time(DEFAULT_TIME_PATTERN, strlen(DEFAULT_TIME_PATTERN), kc->time_ms, out,
                           e);
    return true;
}

bool dlv_error_prefix_render(const char *error_prefix, const dlv_key_ctx *kc, sp_str *out,
                             sp_err *e)
{
    bool had_expr;
    if (!error_prefix || !*error_prefix) {
        /* Records that failed format conversion keep their own folder, as on Firehose. */
        if (kc->error_type && !strcmp(kc->error_type, DLV_ERROR_TYPE_CONVERSION))
            sp_str_puts(out, DLV_ERROR_TYPE_CONVERSION "/");
        else
            sp_str_puts(out, DEFAULT_ERROR_PREFIX);
        error_prefix = "";
    }
    if (!walk(error_prefix, true, kc, out, &had_expr, e)) return false;
    if (!had_expr)
        return render_time(DEFAULT_TIME_PATTERN, strlen(DEFAULT_TIME_PATTERN), kc->time_ms, out,
                           e);
    return true;
}

static bool has_partition_expr(const char *prefix)
{
    return strstr(prefix, "!{partitionKeyFromQuery:") || strstr(prefix, "!{partitionKeyFromLambda:");
}

/* Renders a prefix with sample values and the stream's object name, and asks the lake whether
 * that is an object key: a prefix that can only ever make keys the lake refuses ("../", a
 * leading '/', "a//b", a backslash) is refused when the stream is defined, not at delivery. */
static bool sample_key_valid(const char *field, const char *prefix, bool error_output,
                             const char *stream, sp_err *e)
{
    dlv_key_ctx kc = {.time_ms = 0, .random = "aaaaaaaaaaa", .error_type = "processing-failed",
                      .sample = true};
    sp_str key;
    sp_str_init(&key, NULL, 0, SP_STR_NO_MAX);
    bool ok = error_output ? dlv_error_prefix_render(prefix, &kc, &key, e)
                           : dlv_prefix_render(prefix, &kc, &key, e);
    if (ok) {
        dlv_key_suffix(&key, stream && *stream ? stream : "s", 0,
                       "00000000-0000-4000-8000-000000000000", "");
        sp_err ke = {0};
        if (!lake_key_valid(key.buf, &ke)) {
            dlv_invalid(e, "%s '%.200s' cannot make a valid S3 object key: %s", field, prefix,
                        ke.msg);
            ok = false;
        }
    }
    sp_str_release(&key);
    return ok;
}

bool dlv_prefixes_validate(const char *prefix, const char *error_prefix,
                           bool dynamic_partitioning, const char *stream, const char **field,
                           sp_err *e)
{
    prefix = prefix ? prefix : "";
    error_prefix = error_prefix ? error_prefix : "";
    *field = "Prefix";
    if (!dlv_prefix_check(prefix, false, e) ||
        !sample_key_valid("Prefix", prefix, false, stream, e))
        return false;
    *field = "ErrorOutputPrefix";
    if (!dlv_prefix_check(error_prefix, true, e) ||
        !sample_key_valid("ErrorOutputPrefix", error_prefix, true, stream, e))
        return false;
    if (strstr(error_prefix, EXPR_OPEN) && !strstr(error_prefix, "!{firehose:error-output-type}")) {
        dlv_invalid(e, "ErrorOutputPrefix '%.200s' has expressions but no "
                       "!{firehose:error-output-type}", error_prefix);
        return false;
    }
    if (strstr(prefix, EXPR_OPEN) && !*error_prefix) {
        dlv_invalid(e, "ErrorOutputPrefix is required when Prefix contains expressions");
        return false;
    }
    *field = "Prefix";
    if (dynamic_partitioning && !has_partition_expr(prefix)) {
        dlv_invalid(e, "dynamic partitioning is enabled, so Prefix '%.200s' must use at least one "
                       "!{partitionKeyFromQuery:...} or !{partitionKeyFromLambda:...} key",
                    prefix);
        return false;
    }
    if (!dynamic_partitioning && has_partition_expr(prefix)) {
        dlv_invalid(e, "Prefix '%.200s' uses partition keys but dynamic partitioning is not "
                       "enabled", prefix);
        return false;
    }
    *field = NULL;
    return true;
}

void dlv_key_suffix(sp_str *out, const char *stream, int64_t time_ms, const char *uuid,
                    const char *ext)
{
    struct tm tm;
    utc(time_ms, &tm);
    sp_str_appendf(out, "%s-%s-%04d-%02d-%02d-%02d-%02d-%02d-%s%s", stream, DLV_VERSION,
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, uuid, ext ? ext : "");
}

static void uuid_format(const unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

void dlv_uuid_derive(const char *seed, const char *salt, char out[37])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, seed, strlen(seed));
    EVP_DigestUpdate(ctx, "\n", 1);
    EVP_DigestUpdate(ctx, salt, strlen(salt));
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x40); /* shaped like a version 4 uuid */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    uuid_format(md, out);
}

void dlv_uuid_random(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        uint64_t t = sp_clock_mono_ns();
        for (int i = 0; i < 16; i++) b[i] = (unsigned char)(t >> (i % 8 * 8)) ^ (unsigned char)i;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}
