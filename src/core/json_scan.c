/* The check behind json_scan.h: one pass over a JSON text deciding that jansson's json_loadb
 * (JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES) loads it as an object, by jansson's own rules
 * (src/load.c of jansson 2.14): RFC 8259 grammar with whitespace " \t\n\r"; UTF-8 checked
 * everywhere (no overlong forms, no surrogates, nothing past U+10FFFF); no raw control byte
 * in a string; escapes \" \\ \/ \b \f \n \r \t and \uXXXX, a high surrogate only followed by
 * a low one, no lone low one; integers within long long (strtoll), reals not overflowing
 * (strtod); nothing but whitespace after the value. On top of that it declines what would
 * make the walkers' life hard: an escaped member name (then raw bytes equal decoded ones, a
 * name cannot hold U+0000, and duplicates are found by comparing bytes), more than
 * SP_JSCAN_MEMBERS_MAX members in one object, deeper than SP_JSCAN_DEPTH_MAX, a number
 * longer than JSCAN_NUMBER_MAX or one strtod/strtoll reports ERANGE for (jansson refuses only
 * the overflows; declining is always safe). tests/fuzz/fuzz_core_json_scan.c checks on every
 * input that a text accepted here is loaded by jansson with the same members. */
#include "json_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { JSCAN_NUMBER_MAX = 63 };

typedef struct vscan {
    const unsigned char *p, *end;
} vscan;

static inline void ws(vscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* A byte a string may hold as it is: not '"', '\\', a control byte or a non-ASCII byte. */
static inline bool plain(unsigned c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

size_t sp_jscan_utf8_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0], v;
    size_t n;
    if (c < 0xc2) return 0;
    if (c < 0xe0) n = 2, v = c & 0x1f;
    else if (c < 0xf0) n = 3, v = c & 0x0f;
    else if (c < 0xf5) n = 4, v = c & 0x07;
    else return 0;
    if (n > avail) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (n == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    return n;
}

int sp_jscan_hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A string at s->p (its opening quote); name: refuse escapes. start, len: the raw text. */
static bool v_string(vscan *s, bool name, const unsigned char **start, size_t *len)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    *start = p;
    for (;;) {
        while (p < end && plain(*p)) p++;
        if (p >= end) return false;
        unsigned c = *p;
        if (c == '"') break;
        if (c < 0x20) return false;
        if (c >= 0x80) {
            size_t n = sp_jscan_utf8_len(p, (size_t)(end - p));
            if (!n) return false;
            p += n;
            continue;
        }
        /* a backslash */
        if (name || end - p < 2) return false;
        c = p[1];
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
            c == 'r' || c == 't') {
            p += 2;
            continue;
        }
        if (c != 'u' || end - p < 6) return false;
        int v = sp_jscan_hex4(p + 2);
        if (v < 0 || (v >= 0xdc00 && v <= 0xdfff)) return false;
        p += 6;
        if (v >= 0xd800 && v <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
            int w = sp_jscan_hex4(p + 2);
            if (w < 0xdc00 || w > 0xdfff) return false;
            p += 6;
        }
    }
    *len = (size_t)(p - *start);
    s->p = p + 1;
    return true;
}

static inline bool digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static bool v_number(vscan *s)
{
    const unsigned char *p = s->p, *end = s->end, *start = p;
    bool real = false;
    if (*p == '-') p++;
    if (!digit(p, end)) return false;
    if (*p == '0') p++;
    else while (digit(p, end)) p++;
    if (p < end && *p == '.') {
        p++;
        if (!digit(p, end)) return false;
        while (digit(p, end)) p++;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!digit(p, end)) return false;
        while (digit(p, end)) p++;
        real = true;
    }
    size_t n = (size_t)(p - start);
    if (n > JSCAN_NUMBER_MAX) return false;
    char buf[JSCAN_NUMBER_MAX + 1];
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    if (real) (void)strtod(buf, NULL);
    else (void)strtoll(buf, NULL, 10);
    if (errno == ERANGE) return false;
    s->p = p;
    return true;
}

static bool v_literal(vscan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n)) return false;
    s->p += n;
    return true;
}

static bool v_value(vscan *s, int depth);

static bool v_object(vscan *s, int depth)
{
    const unsigned char *names[SP_JSCAN_MEMBERS_MAX];
    size_t lens[SP_JSCAN_MEMBERS_MAX], n = 0;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"' || n == SP_JSCAN_MEMBERS_MAX) return false;
        if (!v_string(s, true, &names[n], &lens[n])) return false;
        for (size_t i = 0; i < n; i++)
            if (lens[i] == lens[n] && !memcmp(names[i], names[n], lens[n])) return false;
        n++;
        ws(s);
        if (s->p >= s->end || *s->p != ':') return false;
        s->p++;
        if (!v_value(s, depth + 1)) return false;
        ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
        ws(s);
    }
}

static bool v_array(vscan *s, int depth)
{
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        if (!v_value(s, depth + 1)) return false;
        ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
    }
}

/* A value at s->p (after whitespace); depth counts as jansson's parse_value does. */
static bool v_value(vscan *s, int depth)
{
    ws(s);
    if (s->p >= s->end || depth > SP_JSCAN_DEPTH_MAX) return false;
    const unsigned char *start;
    size_t len;
    switch (*s->p) {
    case '{': return v_object(s, depth);
    case '[': return v_array(s, depth);
    case '"': return v_string(s, false, &start, &len);
    case 't': return v_literal(s, "true", 4);
    case 'f': return v_literal(s, "false", 5);
    case 'n': return v_literal(s, "null", 4);
    default: return v_number(s);
    }
}

bool sp_jscan_valid(const char *text, size_t len)
{
    vscan s = {(const unsigned char *)text, (const unsigned char *)text + len};
    ws(&s);
    if (s.p >= s.end || *s.p != '{' || !v_value(&s, 1)) return false;
    ws(&s);
    return s.p == s.end;
}

/* ---- walking an accepted text ------------------------------------------------------------ */

static inline const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

static const char *string_end(const char *p) /* p after the opening quote */
{
    for (;;) {
        while (*p != '"' && *p != '\\') p++;
        if (*p == '"') return p + 1;
        p += 2;
    }
}

const char *sp_jscan_skip(const char *v)
{
    switch (*v) {
    case '"': return string_end(v + 1);
    case 't': case 'n': return v + 4;
    case 'f': return v + 5;
    case '{': case '[': {
        int depth = 0;
        const char *p = v;
        for (;;) {
            char c = *p++;
            if (c == '"') p = string_end(p);
            else if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return p;
        }
    }
    default:
        while ((*v >= '0' && *v <= '9') || *v == '-' || *v == '+' || *v == '.' || *v == 'e' ||
               *v == 'E')
            v++;
        return v;
    }
}

void sp_jscan_iter_init(sp_jscan_iter *it, const char *container) { it->p = container + 1; }

static const char *next_item(sp_jscan_iter *it)
{
    const char *p = skip_ws(it->p);
    if (*p == ',') p = skip_ws(p + 1);
    if (*p == '}' || *p == ']') {
        it->p = p;
        return NULL;
    }
    return p;
}

bool sp_jscan_iter_member(sp_jscan_iter *it, const char **name, size_t *name_len,
                          const char **value)
{
    const char *p = next_item(it);
    if (!p) return false;
    *name = p + 1;
    const char *q = p + 1;
    while (*q != '"') q++; /* names hold no escapes */
    *name_len = (size_t)(q - (p + 1));
    p = skip_ws(skip_ws(q + 1) + 1); /* past ':' */
    *value = p;
    it->p = sp_jscan_skip(p);
    return true;
}

bool sp_jscan_iter_elem(sp_jscan_iter *it, const char **value)
{
    const char *p = next_item(it);
    if (!p) return false;
    *value = p;
    it->p = sp_jscan_skip(p);
    return true;
}

const char *sp_jscan_member(const char *obj, const char *name)
{
    size_t n = strlen(name);
    sp_jscan_iter it;
    sp_jscan_iter_init(&it, obj);
    const char *k, *v;
    size_t klen;
    while (sp_jscan_iter_member(&it, &k, &klen, &v))
        if (klen == n && !memcmp(k, name, n)) return v;
    return NULL;
}

size_t sp_jscan_count(const char *v)
{
    sp_jscan_iter it;
    sp_jscan_iter_init(&it, v);
    size_t n = 0;
    const char *k, *x;
    size_t klen;
    if (*v == '{')
        while (sp_jscan_iter_member(&it, &k, &klen, &x)) n++;
    else
        while (sp_jscan_iter_elem(&it, &x)) n++;
    return n;
}

bool sp_jscan_plain_string(const char *v, const char **s, size_t *len)
{
    const char *p = v + 1;
    while (*p != '"' && *p != '\\') p++;
    if (*p == '\\') return false;
    *s = v + 1;
    *len = (size_t)(p - (v + 1));
    return true;
}

bool sp_jscan_string_is(const char *v, const char *text)
{
    const char *s;
    size_t len;
    return *v == '"' && sp_jscan_plain_string(v, &s, &len) && len == strlen(text) &&
           !memcmp(s, text, len);
}

double sp_jscan_number(const char *v)
{
    const char *end = sp_jscan_skip(v);
    size_t n = (size_t)(end - v);
    char buf[JSCAN_NUMBER_MAX + 1];
    memcpy(buf, v, n);
    buf[n] = '\0';
    if (strpbrk(buf, ".eE")) return strtod(buf, NULL);
    return (double)strtoll(buf, NULL, 10);
}
