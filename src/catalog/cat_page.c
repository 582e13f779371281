/* Pagination tokens for the Glue and Athena listings. A token names the last item of the
 * page it ends ("continue after this name"), so pages stay correct when items are added or
 * removed between calls, and the listing it belongs to, so a token from GetTables of one
 * database is refused by another listing. It is base64 of "p1:<scope length>:<scope><after>"
 * — opaque to clients, as AWS tokens are. */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AWS tokens are at most 1024 characters (Athena's Token shape); ours stay under it. */
enum { CAT_PAGE_TOKEN_MAX = 1024 };

static const char TOKEN_VERSION[] = "p1:";

char *cat_page_token_make(const char *scope, const char *after)
{
    sp_str s;
    char buf[256];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_appendf(&s, "%s%zu:%s%s", TOKEN_VERSION, strlen(scope), scope, after);
    char *out = malloc(sp_base64_encoded_len(s.len) + 1);
    if (!out) abort();
    sp_base64_encode(s.buf, s.len, out);
    sp_str_release(&s);
    return out;
}

bool cat_page_token_read(const char *token, const char *scope, char *after, size_t size)
{
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n > CAT_PAGE_TOKEN_MAX) return false;
    char raw[CAT_PAGE_TOKEN_MAX];
    if (sp_base64_decoded_max(n) > sizeof raw) return false;
    long len = sp_base64_decode(token, n, raw);
    if (len < 0) return false;
    size_t vlen = strlen(TOKEN_VERSION);
    if ((size_t)len < vlen || memcmp(raw, TOKEN_VERSION, vlen)) return false;
    size_t pos = vlen, scope_len = 0;
    if (pos >= (size_t)len || raw[pos] < '0' || raw[pos] > '9') return false;
    while (pos < (size_t)len && raw[pos] >= '0' && raw[pos] <= '9') {
        scope_len = scope_len * 10 + (size_t)(raw[pos++] - '0');
        if (scope_len > CAT_PAGE_TOKEN_MAX) return false;
    }
    if (pos >= (size_t)len || raw[pos++] != ':') return false;
    if (scope_len != strlen(scope) || (size_t)len - pos < scope_len ||
        memcmp(raw + pos, scope, scope_len))
        return false;
    pos += scope_len;
    size_t alen = (size_t)len - pos;
    if (alen >= size || memchr(raw + pos, '\0', alen)) return false;
    memcpy(after, raw + pos, alen);
    after[alen] = '\0';
    return true;
}
