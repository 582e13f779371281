/* The hot-path scanner for PutRecords bodies (DESIGN.md, Dependencies: one hand-written
 * scanner for one request shape, where the profile shows jansson is the floor). One pass over
 * the text checks the JSON grammar of the common shape and fills the batch directly: base64
 * Data is decoded as it is read, keys are unescaped into one text buffer. It never answers
 * anything itself: whatever is not the common, valid shape (another member, a null, a number,
 * a duplicate member, escapes where it does not take them, invalid UTF-8, a lone surrogate, a
 * value the model or the operation would refuse, trailing bytes) makes it give up, and the
 * request takes the ordinary path (jansson, the model check, stm_put_batch_from_json), which
 * gives every error exactly as before. tests/fuzz/fuzz_stream_put_scan.c checks on every
 * input that what it accepts jansson accepts too, passes the model check and yields the same
 * records. */
#include <stdlib.h>
#include <string.h>

#include "stm_scan_put.h"

#include "core/json_scan.h"

/* The longest StreamARN the operation reads a stream name from (stm_api_stream_name). */
enum { SCAN_ARN_MAX = 2048 };

typedef struct scan {
    const unsigned char *p, *end;
    char *text;      /* next free byte of b->text */
} scan;

/* Base64 value + 1 of every byte; 0 for the rest ('=' included: padding is handled apart). */
static const unsigned char B64[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static inline int b64(unsigned char c)
{
    return B64[c] - 1;
}

/* JSON's whitespace, as jansson skips it. */
static inline void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static inline bool take(scan *s, char c)
{
    ws(s);
    if (s->p >= s->end || *s->p != (unsigned char)c) return false;
    s->p++;
    return true;
}

/* The member name starting at s->p (just after its quote) when it is one of names (plain
 * ASCII, no escapes), as its index; -1 otherwise. Moves past the closing quote and colon. */
static int member(scan *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        if ((size_t)(s->end - s->p) > k && !memcmp(s->p, names[i], k) && s->p[k] == '"') {
            s->p += k + 1;
            return take(s, ':') ? i : -1;
        }
    }
    return -1;
}

static char *utf8_put(char *o, unsigned v)
{
    if (v < 0x80) {
        *o++ = (char)v;
    } else if (v < 0x800) {
        *o++ = (char)(0xc0 | v >> 6);
        *o++ = (char)(0x80 | (v & 0x3f));
    } else if (v < 0x10000) {
        *o++ = (char)(0xe0 | v >> 12);
        *o++ = (char)(0x80 | (v >> 6 & 0x3f));
        *o++ = (char)(0x80 | (v & 0x3f));
    } else {
        *o++ = (char)(0xf0 | v >> 18);
        *o++ = (char)(0x80 | (v >> 12 & 0x3f));
        *o++ = (char)(0x80 | (v >> 6 & 0x3f));
        *o++ = (char)(0x80 | (v & 0x3f));
    }
    return o;
}

/* A string value (s->p at its opening quote) unescaped into s->text and NUL-terminated;
 * returns its start (*n its length) or NULL when it is not a valid JSON string or holds a
 * NUL (the operation refuses those; the ordinary path says so). The unescaped text is never
 * longer than its quoted source, so b->text, as long as the body, always has room. */
static const char *string(scan *s, size_t *n)
{
    if (!take(s, '"')) return NULL;
    char *start = s->text, *o = s->text;
    const unsigned char *p = s->p, *end = s->end;
    for (;;) {
        if (p >= end) return NULL;
        unsigned c = *p;
        if (c == '"') break;
        if (c < 0x20) return NULL;
        if (c < 0x80 && c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = sp_jscan_utf8_len(p, (size_t)(end - p));
            if (!k) return NULL;
            memcpy(o, p, k);
            o += k;
            p += k;
            continue;
        }
        if (end - p < 2) return NULL;
        switch (p[1]) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            int v = end - p >= 6 ? sp_jscan_hex4(p + 2) : -1;
            if (v <= 0 || (v >= 0xdc00 && v <= 0xdfff)) return NULL; /* NUL, lone low half */
            if (v >= 0xd800 && v <= 0xdbff) {
                int lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? sp_jscan_hex4(p + 8) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) return NULL;
                o = utf8_put(o, 0x10000u + (((unsigned)v - 0xd800u) << 10) +
                                    ((unsigned)lo - 0xdc00u));
                p += 12;
            } else {
                o = utf8_put(o, (unsigned)v);
                p += 6;
            }
            continue;
        }
        default: return NULL;
        }
        p += 2;
    }
    s->p = p + 1;
    *o = '\0';
    *n = (size_t)(o - start);
    s->text = o + 1;
    return start;
}

/* A Data value: canonical base64 (the model's check: padding only at the end, no bits past
 * the decoded bytes) without escapes, decoded into out; its length, or -1. */
static long data(scan *s, unsigned char *out)
{
    if (!take(s, '"')) return -1;
    const unsigned char *p = s->p, *end = s->end;
    unsigned char *o = out;
    while (end - p >= 4) {
        int a = b64(p[0]), b = b64(p[1]), c = b64(p[2]), d = b64(p[3]);
        if ((a | b | c | d) < 0) break;
        o[0] = (unsigned char)(a << 2 | b >> 4);
        o[1] = (unsigned char)(b << 4 | c >> 2);
        o[2] = (unsigned char)(c << 6 | d);
        o += 3;
        p += 4;
    }
    if (end - p >= 5 && p[4] == '"' && p[3] == '=') {
        int a = b64(p[0]), b = b64(p[1]), c = b64(p[2]);
        if (a < 0 || b < 0) return -1;
        if (p[2] == '=') {
            if (b & 0x0f) return -1;
            *o++ = (unsigned char)(a << 2 | b >> 4);
        } else {
            if (c < 0 || (c & 0x03)) return -1;
            *o++ = (unsigned char)(a << 2 | b >> 4);
            *o++ = (unsigned char)(b << 4 | c >> 2);
        }
        p += 4;
    }
    if (p >= end || *p != '"') return -1;
    s->p = p + 1;
    return (long)(o - out);
}

/* After a value: true at the next member (past the comma), false at close (past it);
 * *bad when neither follows. */
static bool next(scan *s, char close, bool *bad)
{
    if (take(s, ',')) return take(s, '"') || (*bad = true, false);
    if (!take(s, close)) *bad = true;
    return false;
}

/* One Records entry (s->p before its '{') into r; the text and blob cursors advance. */
static bool record(scan *s, stm_put *r, unsigned char **blob, size_t *bytes)
{
    static const char *const NAMES[] = {"Data", "PartitionKey", "ExplicitHashKey"};
    bool seen[3] = {false, false, false}, bad = false;
    if (!take(s, '{') || !take(s, '"')) return false;
    memset(r, 0, sizeof *r);
    size_t pk_len = 0;
    do {
        int m = member(s, NAMES, 3);
        if (m < 0 || seen[m]) return false;
        seen[m] = true;
        if (m == 0) {
            long d = data(s, *blob);
            if (d < 0 || d > STM_DATA_MAX) return false;
            r->data = *blob;
            r->len = (size_t)d;
            *blob += d;
        } else if (m == 1) {
            r->partition_key = string(s, &pk_len);
            if (!r->partition_key || pk_len < 1 || pk_len > STM_PARTITION_KEY_MAX) return false;
        } else {
            size_t n = 0;
            const char *k = string(s, &n);
            stm_u128 h;
            if (!k || !n || n > STM_HASH_KEY_DIGITS_MAX || strspn(k, "0123456789") != n ||
                (k[0] == '0' && n > 1) || !stm_u128_parse(k, &h))
                return false;
            r->explicit_hash_key = k;
        }
    } while (next(s, '}', &bad));
    if (bad || !seen[0] || !seen[1]) return false;
    *bytes += r->len + pk_len;
    return true;
}

static bool records(scan *s, stm_put_batch *b)
{
    unsigned char *blob = (unsigned char *)b->blob;
    if (!take(s, '[')) return false;
    for (;;) {
        if (b->n == STM_PUT_RECORDS_MAX) return false;
        if (!record(s, &b->recs[b->n], &blob, &b->bytes)) return false;
        b->n++;
        if (!take(s, ',')) return take(s, ']');
    }
}

/* StreamName's value, or the stream an ARN names: the name checked as the operation does. */
static bool stream(scan *s, bool arn, stm_put_batch *b)
{
    size_t n = 0;
    const char *v = string(s, &n);
    if (!v || n < 1 || n > (arn ? (size_t)SCAN_ARN_MAX : (size_t)STM_STREAM_NAME_MAX))
        return false;
    if (arn) {
        const char *slash = strstr(v, ":stream/");
        if (!slash) return false;
        v = slash + 8;
    }
    if (!stm_stream_name_valid(v)) return false;
    b->stream = v;
    return true;
}

static bool scan_body(scan *s, stm_put_batch *b)
{
    static const char *const NAMES[] = {"StreamName", "StreamARN", "Records"};
    bool seen[3] = {false, false, false}, bad = false;
    if (!take(s, '{') || !take(s, '"')) return false;
    do {
        int m = member(s, NAMES, 3);
        if (m < 0 || seen[m]) return false;
        seen[m] = true;
        if (m == 2 ? !records(s, b) : !stream(s, m == 1, b)) return false;
    } while (next(s, '}', &bad));
    ws(s);
    /* Both names: the operation reads StreamName and ignores the ARN; left to it. */
    return !bad && s->p == s->end && seen[2] && (seen[0] != seen[1]);
}

bool stm_scan_put(const char *body, size_t len, stm_put_batch *b)
{
    memset(b, 0, sizeof *b);
    /* Every decoded byte and unescaped string comes from the body, so its length bounds
     * both buffers. */
    b->text = malloc(len + 1);
    b->blob = malloc(len / 4 * 3 + 3);
    b->recs = malloc(STM_PUT_RECORDS_MAX * sizeof *b->recs);
    if (!b->text || !b->blob || !b->recs) abort();
    scan s = {(const unsigned char *)body, (const unsigned char *)body + len, b->text};
    if (scan_body(&s, b)) return true;
    stm_put_batch_clear(b);
    return false;
}

void stm_put_batch_clear(stm_put_batch *b)
{
    if (b->bufs)
        for (size_t i = 0; i < b->n; i++) free(b->bufs[i]);
    free(b->bufs);
    free(b->recs);
    free(b->blob);
    free(b->text);
    memset(b, 0, sizeof *b);
}
