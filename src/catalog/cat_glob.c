/* Glue's exclude patterns (S3Target.Exclusions): glob patterns over an object key relative
 * to the crawler's include path, with Glue's semantics:
 *   *      zero or more characters of one name component (does not cross '/')
 *   **     zero or more characters, crossing '/'
 *   ?      exactly one character of a name component
 *   [a-z]  a bracket expression ([!a-z] negated); inside it *, ? and \ are themselves
 *   {a,b}  any of the comma-separated subpatterns; groups do not nest
 *   \x     x itself
 * A pattern is translated once into an anchored POSIX extended regular expression, so
 * matching costs what glibc's matcher costs, never an exponential backtrack. */
#include "cat_int.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct cat_glob {
    regex_t re;
};

static void invalid(sp_err *e, const char *pattern, const char *why)
{
    sp_err_set(e, 400, "InvalidInputException", "Exclusion pattern '%.200s' is invalid: %s",
               pattern, why);
}

static void literal(sp_str *s, char c)
{
    if (strchr(".^$+()|{}[]\\*?", c)) sp_str_putc(s, '\\');
    sp_str_putc(s, c);
}

cat_glob *cat_glob_compile(const char *pattern, sp_err *e)
{
    size_t n = strlen(pattern);
    if (n == 0 || n > CAT_GLOB_MAX) {
        invalid(e, pattern, "a pattern has 1 to 1024 characters");
        return NULL;
    }
    sp_str s;
    char buf[256];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_putc(&s, '^');
    bool in_group = false;
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        char c = pattern[i];
        if (c == '\n' || c == '\r') {
            why = "it holds a line break";
        } else if (c == '\\') {
            if (i + 1 >= n) why = "it ends in an escaping backslash";
            else literal(&s, pattern[++i]);
        } else if (c == '*') {
            if (i + 1 < n && pattern[i + 1] == '*') {
                while (i + 1 < n && pattern[i + 1] == '*') i++;
                sp_str_puts(&s, ".*");
            } else {
                sp_str_puts(&s, "[^/]*");
            }
        } else if (c == '?') {
            sp_str_puts(&s, "[^/]");
        } else if (c == '{') {
            if (in_group) why = "groups {...} cannot be nested";
            in_group = true;
            sp_str_putc(&s, '(');
        } else if (c == '}' && in_group) {
            in_group = false;
            sp_str_putc(&s, ')');
        } else if (c == ',' && in_group) {
            sp_str_putc(&s, '|');
        } else if (c == '[') {
            size_t j = i + 1;
            bool negate = j < n && pattern[j] == '!';
            if (negate) j++;
            size_t start = j;
            /* a ']' first in the brackets is itself */
            if (j < n && pattern[j] == ']') j++;
            while (j < n && pattern[j] != ']') {
                if (pattern[j] == '[' || pattern[j] == '\n' || pattern[j] == '\r') break;
                j++;
            }
            if (j >= n || pattern[j] != ']') {
                why = "a bracket expression [...] is not closed (or holds '[')";
                break;
            }
            sp_str_putc(&s, '[');
            if (negate) sp_str_puts(&s, "^/");
            /* ']' first, then the rest with '^' not first and '\' as itself */
            const char *body = pattern + start;
            size_t blen = j - start;
            bool close_first = blen && body[0] == ']';
            if (close_first) sp_str_putc(&s, ']');
            bool caret = false;
            for (size_t k = close_first; k < blen; k++) {
                if (body[k] == '^') caret = true;
                else sp_str_putc(&s, body[k]);
            }
            if (caret) sp_str_putc(&s, '^');
            sp_str_putc(&s, ']');
            if (blen == 0) why = "a bracket expression [] is empty";
            i = j;
        } else {
            literal(&s, c);
        }
    }
    if (!why && in_group) why = "a group {...} is not closed";
    sp_str_putc(&s, '$');
    cat_glob *g = NULL;
    if (!why) {
        g = calloc(1, sizeof *g);
        if (!g) abort();
        if (regcomp(&g->re, s.buf, REG_EXTENDED | REG_NOSUB) != 0) {
            free(g);
            g = NULL;
            why = "it does not form a valid pattern (check ranges such as [z-a])";
        }
    }
    sp_str_release(&s);
    if (why) invalid(e, pattern, why);
    return g;
}

bool cat_glob_match(const cat_glob *g, const char *key)
{
    return regexec(&g->re, key, 0, NULL, 0) == 0;
}

void cat_glob_destroy(cat_glob *g)
{
    if (!g) return;
    regfree(&g->re);
    free(g);
}
