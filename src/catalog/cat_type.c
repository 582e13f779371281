/* Glue type inference over JSON values: a small type tree built per record and merged
 * across records and objects the way Glue's JSON classifier does (int -> bigint -> double
 * widening, string wins conflicting scalars, struct fields unioned in order of first
 * appearance, array element types merged), rendered as and parsed back from Glue type
 * names so a recrawl can merge new objects into the stored schema. */
#include "cat_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Nesting deeper than this renders as string: keeps the type names and the recursion
 * bounded on hostile input. */
enum { CAT_TYPE_DEPTH_MAX = 32 };

static cat_type *type_new(cat_kind kind)
{
    cat_type *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->kind = kind;
    return t;
}

void cat_type_destroy(cat_type *t)
{
    if (!t) return;
    cat_type_destroy(t->elem);
    for (size_t i = 0; i < t->n_fields; i++) {
        free(t->names[i]);
        cat_type_destroy(t->fields[i]);
    }
    free(t->names);
    free(t->fields);
    free(t->other);
    free(t);
}

static void struct_add(cat_type *t, const char *name, cat_type *field)
{
    t->names = realloc(t->names, (t->n_fields + 1) * sizeof *t->names);
    t->fields = realloc(t->fields, (t->n_fields + 1) * sizeof *t->fields);
    if (!t->names || !t->fields) abort();
    t->names[t->n_fields] = strdup(name);
    t->fields[t->n_fields++] = field;
}

static cat_type *struct_find(const cat_type *t, const char *name)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (!strcmp(t->names[i], name)) return t->fields[i];
    return NULL;
}

static cat_type *of_json(const json_t *v, int depth)
{
    if (depth >= CAT_TYPE_DEPTH_MAX) return type_new(CAT_T_STRING);
    switch (json_typeof(v)) {
    case JSON_NULL: return type_new(CAT_T_NULL);
    case JSON_TRUE:
    case JSON_FALSE: return type_new(CAT_T_BOOLEAN);
    case JSON_INTEGER: return type_new(CAT_T_BIGINT);
    case JSON_REAL: return type_new(CAT_T_DOUBLE);
    case JSON_STRING: return type_new(CAT_T_STRING);
    case JSON_ARRAY: {
        cat_type *t = type_new(CAT_T_ARRAY);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            cat_type *et = of_json(x, depth + 1);
            cat_type_merge(&t->elem, et);
            cat_type_destroy(et);
        }
        return t;
    }
    case JSON_OBJECT: {
        cat_type *t = type_new(CAT_T_STRUCT);
        const char *k;
        json_t *x;
        char lower[CAT_NAME_MAX + 1];
        json_object_foreach((json_t *)v, k, x) {
            /* Glue (and the OpenX SerDe) treat member names case-insensitively. */
            size_t n = strnlen(k, CAT_NAME_MAX);
            /* A long name is cut at a character boundary, so it stays valid UTF-8. */
            while (n && ((unsigned char)k[n] & 0xC0) == 0x80) n--;
            for (size_t i = 0; i < n; i++) lower[i] = (char)tolower((unsigned char)k[i]);
            lower[n] = '\0';
            cat_type *ft = of_json(x, depth + 1);
            cat_type *have = struct_find(t, lower);
            if (have) {
                for (size_t i = 0; i < t->n_fields; i++)
                    if (t->fields[i] == have) cat_type_merge(&t->fields[i], ft);
                cat_type_destroy(ft);
            } else {
                struct_add(t, lower, ft);
            }
        }
        return t;
    }
    }
    return type_new(CAT_T_STRING);
}

cat_type *cat_type_of_json(const json_t *v) { return of_json(v, 0); }

cat_type *cat_type_copy(const cat_type *t)
{
    if (!t) return NULL;
    cat_type *c = type_new(t->kind);
    c->elem = cat_type_copy(t->elem);
    if (t->other && !(c->other = strdup(t->other))) abort();
    for (size_t i = 0; i < t->n_fields; i++) struct_add(c, t->names[i], cat_type_copy(t->fields[i]));
    return c;
}

static bool is_number(cat_kind k) { return k == CAT_T_INT || k == CAT_T_BIGINT || k == CAT_T_DOUBLE; }

void cat_type_merge(cat_type **ap, const cat_type *b)
{
    if (!b || b->kind == CAT_T_NULL) {
        if (!*ap && b) *ap = cat_type_copy(b);
        return;
    }
    cat_type *a = *ap;
    if (!a || a->kind == CAT_T_NULL) {
        cat_type_destroy(a);
        *ap = cat_type_copy(b);
        return;
    }
    if (a->kind == b->kind && a->kind == CAT_T_ARRAY) {
        cat_type_merge(&a->elem, b->elem);
    } else if (a->kind == b->kind && a->kind == CAT_T_STRUCT) {
        for (size_t i = 0; i < b->n_fields; i++) {
            size_t j = 0;
            while (j < a->n_fields && strcmp(a->names[j], b->names[i])) j++;
            if (j < a->n_fields)
                cat_type_merge(&a->fields[j], b->fields[i]);
            else
                struct_add(a, b->names[i], cat_type_copy(b->fields[i]));
        }
    } else if (a->kind == b->kind && a->kind == CAT_T_NAMED) {
        if (strcmp(a->other, b->other)) {
            cat_type_destroy(a);
            *ap = type_new(CAT_T_STRING);
        }
    } else if (is_number(a->kind) && is_number(b->kind)) {
        if (b->kind > a->kind) a->kind = b->kind;
    } else if (a->kind != b->kind) {
        cat_type_destroy(a);
        *ap = type_new(CAT_T_STRING);
    }
}

/* A name is written bare when it cannot be mistaken for the grammar around it, else in
 * backticks with any backtick doubled (Hive's quoting), so every name parses back. */
static bool name_bare(const char *name)
{
    if (!*name) return false;
    for (const char *p = name; *p; p++)
        if (strchr(",:<>`", *p)) return false;
    return true;
}

void cat_type_render_name(const char *name, sp_str *s)
{
    if (name_bare(name)) {
        sp_str_puts(s, name);
        return;
    }
    sp_str_putc(s, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`') sp_str_putc(s, '`');
        sp_str_putc(s, *p);
    }
    sp_str_putc(s, '`');
}

static void render(const cat_type *t, sp_str *s)
{
    if (!t) {
        sp_str_puts(s, "string");
        return;
    }
    switch (t->kind) {
    case CAT_T_NULL:
    case CAT_T_STRING: sp_str_puts(s, "string"); break;
    case CAT_T_BOOLEAN: sp_str_puts(s, "boolean"); break;
    case CAT_T_INT: sp_str_puts(s, "int"); break;
    case CAT_T_BIGINT: sp_str_puts(s, "bigint"); break;
    case CAT_T_DOUBLE: sp_str_puts(s, "double"); break;
    case CAT_T_NAMED: sp_str_puts(s, t->other); break;
    case CAT_T_ARRAY:
        sp_str_puts(s, "array<");
        render(t->elem, s);
        sp_str_putc(s, '>');
        break;
    case CAT_T_STRUCT:
        sp_str_puts(s, "struct<");
        for (size_t i = 0; i < t->n_fields; i++) {
            if (i) sp_str_putc(s, ',');
            cat_type_render_name(t->names[i], s);
            sp_str_putc(s, ':');
            render(t->fields[i], s);
        }
        sp_str_putc(s, '>');
        break;
    }
}

void cat_type_render(const cat_type *t, sp_str *s) { render(t, s); }

char *cat_type_name(const cat_type *t)
{
    sp_str s;
    char buf[128];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    render(t, &s);
    return sp_str_finish(&s, NULL);
}

bool cat_type_equal(const cat_type *a, const cat_type *b)
{
    char *x = cat_type_name(a), *y = cat_type_name(b);
    bool eq = x && y && !strcmp(x, y);
    free(x);
    free(y);
    return eq;
}

/* ---- parsing Glue type names ------------------------------------------------------------ */

typedef struct parser {
    const char *p;
    int depth;
} parser;

static bool word(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(ps->p, w, n)) return false;
    ps->p += n;
    return true;
}

/* A field name, bare or in backticks (see cat_type_render_name), into name. */
static bool parse_name(parser *ps, char name[CAT_NAME_MAX + 1])
{
    size_t n = 0;
    if (*ps->p != '`') {
        const char *end = ps->p;
        while (*end && !strchr(",:<>`", *end)) end++;
        n = (size_t)(end - ps->p);
        if (!n || n > CAT_NAME_MAX) return false;
        memcpy(name, ps->p, n);
        name[n] = '\0';
        ps->p = end;
        return true;
    }
    const char *p = ps->p + 1;
    for (;; p++) {
        if (!*p) return false;
        if (*p == '`') {
            if (p[1] != '`') break;
            p++;
        }
        if (n == CAT_NAME_MAX) return false;
        name[n++] = *p;
    }
    name[n] = '\0';
    ps->p = p + 1;
    return true;
}

static cat_type *parse_type(parser *ps)
{
    if (++ps->depth > CAT_TYPE_DEPTH_MAX) return NULL;
    cat_type *t = NULL;
    if (word(ps, "array<")) {
        t = type_new(CAT_T_ARRAY);
        t->elem = parse_type(ps);
        if (!t->elem || !word(ps, ">")) goto bad;
    } else if (word(ps, "struct<")) {
        t = type_new(CAT_T_STRUCT);
        if (word(ps, ">")) goto done;
        for (;;) {
            char name[CAT_NAME_MAX + 1];
            if (!parse_name(ps, name) || !word(ps, ":")) goto bad;
            cat_type *ft = parse_type(ps);
            if (!ft) goto bad;
            struct_add(t, name, ft);
            if (word(ps, ">")) break;
            if (!word(ps, ",")) goto bad;
        }
    } else if (word(ps, "string")) {
        t = type_new(CAT_T_STRING);
    } else if (word(ps, "boolean")) {
        t = type_new(CAT_T_BOOLEAN);
    } else if (word(ps, "bigint")) {
        t = type_new(CAT_T_BIGINT);
    } else if (word(ps, "int")) {
        t = type_new(CAT_T_INT);
    } else if (word(ps, "double")) {
        t = type_new(CAT_T_DOUBLE);
    } else {
        /* Types JSON never produces but Parquet does: kept whole by name, up to the ',' or
         * '>' that ends them at their own nesting level. */
        static const char *const named[] = {"timestamp", "date", "float", "tinyint",
                                            "smallint", "binary", "decimal", "map<",
                                            "varchar", "char"};
        bool known = false;
        for (size_t i = 0; i < sizeof named / sizeof *named && !known; i++)
            known = !strncmp(ps->p, named[i], strlen(named[i]));
        if (!known) return NULL;
        const char *start = ps->p;
        int depth = 0;
        while (*ps->p && !(depth == 0 && (*ps->p == ',' || *ps->p == '>'))) {
            if (*ps->p == '<' || *ps->p == '(') depth++;
            if (*ps->p == '>' || *ps->p == ')') depth--;
            ps->p++;
        }
        if (depth != 0) return NULL;
        t = type_new(CAT_T_NAMED);
        t->other = strndup(start, (size_t)(ps->p - start));
        if (!t->other) abort();
    }
done:
    ps->depth--;
    return t;
bad:
    cat_type_destroy(t);
    return NULL;
}

cat_type *cat_type_parse(const char *name)
{
    parser ps = {.p = name};
    cat_type *t = parse_type(&ps);
    if (t && *ps.p) {
        cat_type_destroy(t);
        return NULL;
    }
    return t;
}

int cat_type_similarity(const cat_type *a, const cat_type *b)
{
    if (!a || !b || a->kind != CAT_T_STRUCT || b->kind != CAT_T_STRUCT) return 0;
    size_t common = 0;
    for (size_t i = 0; i < a->n_fields; i++)
        if (struct_find(b, a->names[i])) common++;
    size_t all = a->n_fields + b->n_fields - common;
    return all ? (int)(common * 100 / all) : 100;
}
