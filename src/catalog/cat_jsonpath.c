/* The JsonPath subset of Glue's custom JSON classifiers: the path picks the records inside
 * each JSON document. Grammar: '$' followed by steps '.name', "['name']" / '["name"]',
 * '[*]' (every element of an array) and '[n]' (one element). Compiled once per crawl or
 * scan into a step list, then applied to every document. */
#include "catalog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A path longer than this is refused; Glue's classifier paths are short. */
enum { CAT_JSONPATH_STEPS_MAX = 64, CAT_JSONPATH_LEN_MAX = 1024 };

typedef enum { STEP_MEMBER, STEP_ALL, STEP_INDEX } step_kind;

typedef struct step {
    step_kind kind;
    char *name;     /* STEP_MEMBER */
    size_t index;   /* STEP_INDEX */
} step;

struct cat_jsonpath {
    step steps[CAT_JSONPATH_STEPS_MAX];
    size_t n;
};

void cat_jsonpath_destroy(cat_jsonpath *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->steps[i].name);
    free(p);
}

static cat_jsonpath *fail(cat_jsonpath *p, sp_err *e, const char *path, size_t pos,
                          const char *why)
{
    sp_err_set(e, 400, "InvalidInputException", "JsonPath '%.200s' at position %zu: %s", path,
               pos, why);
    cat_jsonpath_destroy(p);
    return NULL;
}

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || (unsigned char)c >= 0x80; }

cat_jsonpath *cat_jsonpath_compile(const char *path, sp_err *e)
{
    cat_jsonpath *p = calloc(1, sizeof *p);
    if (!p) abort();
    size_t len = strlen(path);
    if (len > CAT_JSONPATH_LEN_MAX) return fail(p, e, path, CAT_JSONPATH_LEN_MAX, "path too long");
    if (path[0] != '$') return fail(p, e, path, 0, "a JsonPath starts with '$'");
    size_t i = 1;
    while (i < len) {
        if (p->n == CAT_JSONPATH_STEPS_MAX) return fail(p, e, path, i, "too many steps");
        step *s = &p->steps[p->n++]; /* counted now, so a failure below frees its name */
        if (path[i] == '.') {
            size_t start = ++i;
            while (i < len && name_char(path[i])) i++;
            if (i == start) return fail(p, e, path, start, "expected a member name after '.'");
            s->kind = STEP_MEMBER;
            s->name = strndup(path + start, i - start);
        } else if (path[i] == '[') {
            i++;
            if (path[i] == '*') {
                s->kind = STEP_ALL;
                i++;
            } else if (path[i] == '\'' || path[i] == '"') {
                char q = path[i++];
                size_t start = i;
                while (i < len && path[i] != q) i++;
                if (i >= len) return fail(p, e, path, start - 1, "unterminated quoted name");
                if (i == start) return fail(p, e, path, start, "empty member name");
                s->kind = STEP_MEMBER;
                s->name = strndup(path + start, i - start);
                i++;
            } else if (isdigit((unsigned char)path[i])) {
                size_t v = 0;
                while (i < len && isdigit((unsigned char)path[i])) {
                    if (v > 100000000) return fail(p, e, path, i, "index too large");
                    v = v * 10 + (size_t)(path[i++] - '0');
                }
                s->kind = STEP_INDEX;
                s->index = v;
            } else {
                return fail(p, e, path, i, "expected '*', an index or a quoted name after '['");
            }
            if (path[i] != ']') return fail(p, e, path, i, "expected ']'");
            i++;
        } else {
            return fail(p, e, path, i, "expected '.' or '['");
        }
        if (!s->name && s->kind == STEP_MEMBER) abort();
    }
    return p;
}

static bool walk(const cat_jsonpath *p, size_t at, json_t *v, cat_jsonpath_fn fn, void *arg)
{
    if (!v) return true;
    if (at == p->n) return fn(arg, v);
    const step *s = &p->steps[at];
    switch (s->kind) {
    case STEP_MEMBER:
        return json_is_object(v) ? walk(p, at + 1, json_object_get(v, s->name), fn, arg) : true;
    case STEP_INDEX:
        return json_is_array(v) ? walk(p, at + 1, json_array_get(v, s->index), fn, arg) : true;
    case STEP_ALL:
        if (json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) if (!walk(p, at + 1, x, fn, arg)) return false;
        }
        return true;
    }
    return true;
}

bool cat_jsonpath_select(const cat_jsonpath *p, json_t *doc, cat_jsonpath_fn fn, void *arg)
{
    return walk(p, 0, doc, fn, arg);
}
