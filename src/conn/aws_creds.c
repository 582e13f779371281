/* Where the credentials of an outbound client come from, in the order AWS's SDKs look:
 * explicit configuration, the environment, the shared credentials file. The file is outside
 * input (any user's home directory), so its parser bounds every line and value and never
 * assumes a NUL terminator. */
#include "conn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CREDS_LINE_MAX = 8192 };

static const char *trim(const char *s, const char *end, const char **out_end)
{
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
    *out_end = end;
    return s;
}

static bool copy_value(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool same(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

static bool parse_text(const char *name, const char *text, size_t len, const char *profile,
                       conn_aws_creds *out, sp_err *e)
{
    bool in_profile = false, seen = false;
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le - p > CREDS_LINE_MAX) {
            sp_err_set(e, 400, "InvalidCredentialsFile", "%s:%d: line longer than %d bytes",
                       name, line, CREDS_LINE_MAX);
            return false;
        }
        const char *ve;
        const char *s = trim(p, le, &ve);
        p = nl ? nl + 1 : end;
        if (s == ve || *s == '#' || *s == ';') continue;
        for (const char *c = s; c < ve; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                sp_err_set(e, 400, "InvalidCredentialsFile",
                           "%s:%d: control character in the line", name, line);
                return false;
            }
        if (*s == '[') {
            if (ve[-1] != ']' || ve - s < 2) {
                sp_err_set(e, 400, "InvalidCredentialsFile",
                           "%s:%d: a section header must be [name]", name, line);
                return false;
            }
            const char *ne;
            const char *n = trim(s + 1, ve - 1, &ne);
            in_profile = same(n, (size_t)(ne - n), profile);
            seen |= in_profile;
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(ve - s));
        if (!eq) {
            sp_err_set(e, 400, "InvalidCredentialsFile",
                       "%s:%d: expected \"key = value\" or \"[profile]\"", name, line);
            return false;
        }
        if (!in_profile) continue;
        const char *ke, *vend;
        const char *k = trim(s, eq, &ke);
        const char *v = trim(eq + 1, ve, &vend);
        size_t kn = (size_t)(ke - k), vn = (size_t)(vend - v);
        bool ok = true;
        if (same(k, kn, "aws_access_key_id"))
            ok = copy_value(out->access_key_id, sizeof out->access_key_id, v, vn);
        else if (same(k, kn, "aws_secret_access_key"))
            ok = copy_value(out->secret_access_key, sizeof out->secret_access_key, v, vn);
        else if (same(k, kn, "aws_session_token"))
            ok = copy_value(out->session_token, sizeof out->session_token, v, vn);
        if (!ok) {
            sp_err_set(e, 400, "InvalidCredentialsFile", "%s:%d: value of %.*s is too long",
                       name, line, (int)kn, k);
            return false;
        }
    }
    if (!seen || !out->access_key_id[0] || !out->secret_access_key[0]) {
        sp_err_set(e, 404, "ProfileNotFound",
                   seen ? "%s: profile '%s' lacks aws_access_key_id or aws_secret_access_key"
                        : "%s: no profile '%s'",
                   name, profile);
        return false;
    }
    snprintf(out->source, sizeof out->source, "shared credentials file");
    return true;
}

bool conn_aws_creds_parse(const char *name, const char *text, size_t len, const char *profile,
                          conn_aws_creds *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    if (parse_text(name, text, len, profile, out, e)) return true;
    memset(out, 0, sizeof *out);     /* nothing half-read is left for a caller to use */
    return false;
}

static bool set_pair(conn_aws_creds *out, const char *id, const char *secret, const char *token,
                     const char *source)
{
    if (strlen(id) > CONN_ACCESS_KEY_MAX || strlen(secret) > CONN_SECRET_KEY_MAX ||
        (token && strlen(token) > CONN_SESSION_TOKEN_MAX))
        return false;
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    snprintf(out->session_token, sizeof out->session_token, "%s", token ? token : "");
    snprintf(out->source, sizeof out->source, "%s", source);
    return true;
}

/* Reads path whole (at most CONN_CREDS_FILE_MAX bytes); NULL when it cannot be read. */
static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(CONN_CREDS_FILE_MAX);
    *len = fread(buf, 1, CONN_CREDS_FILE_MAX, f);
    bool too_big = *len == CONN_CREDS_FILE_MAX;
    fclose(f);
    if (too_big) {
        free(buf);
        return NULL;
    }
    return buf;
}

bool conn_aws_creds_resolve(const char *access_key_id, const char *secret_access_key,
                            const char *session_token, const char *profile,
                            conn_aws_creds *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    if (access_key_id && secret_access_key && *access_key_id && *secret_access_key) {
        if (set_pair(out, access_key_id, secret_access_key, session_token, "config")) return true;
        sp_err_set(e, 400, "NoCredentials", "the configured credentials are too long");
        return false;
    }
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (id && secret && *id && *secret &&
        set_pair(out, id, secret, getenv("AWS_SESSION_TOKEN"), "environment"))
        return true;
    if (!profile || !*profile) profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char home_file[4096];
    if (!file || !*file) {
        const char *home = getenv("HOME");
        snprintf(home_file, sizeof home_file, "%s/.aws/credentials", home ? home : "");
        file = home_file;
    }
    size_t len = 0;
    char *text = read_small_file(file, &len);
    bool readable = text != NULL;
    sp_err fe = {0};
    if (text && conn_aws_creds_parse("the shared credentials file", text, len, profile, out,
                                     &fe)) {
        free(text);
        return true;
    }
    free(text);
    sp_err_set(e, 400, "NoCredentials",
               "no credentials: none configured (access_key_id/secret_access_key), none in "
               "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and %s",
               readable ? fe.msg : "no readable shared credentials file (AWS_SHARED_CREDENTIALS_FILE "
                               "or ~/.aws/credentials)");
    return false;
}
