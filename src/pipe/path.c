/* The JSON paths a pipe's Kinesis PartitionKey may use ("$.dynamodb.Keys.orderid.S"): a root
 * "$" followed by ".name", "['name']" or "[index]" steps. No wildcards or filters: a
 * partition key is one value. */
#include "pipe_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { PIP_PATH_STEP_MAX = 256 };

/* Reads one step at *p into name (a member) or *index (an array index, name[0] == 0).
 * Returns false on a syntax error; advances *p. */
static bool next_step(const char **p, char name[PIP_PATH_STEP_MAX], long *index)
{
    const char *s = *p;
    size_t n = 0;
    name[0] = '\0';
    if (*s == '.') {
        s++;
        while (*s && *s != '.' && *s != '[') {
            if (n + 1 >= PIP_PATH_STEP_MAX) return false;
            name[n++] = *s++;
        }
        if (n == 0) return false;
    } else if (s[0] == '[' && s[1] == '\'') {
        s += 2;
        while (*s && *s != '\'') {
            if (n + 1 >= PIP_PATH_STEP_MAX) return false;
            name[n++] = *s++;
        }
        if (s[0] != '\'' || s[1] != ']' || n == 0) return false;
        s += 2;
    } else if (s[0] == '[' && isdigit((unsigned char)s[1])) {
        char *end;
        *index = strtol(s + 1, &end, 10);
        if (*end != ']') return false;
        s = end + 1;
    } else {
        return false;
    }
    name[n] = '\0';
    *p = s;
    return true;
}

bool pip_path_check(const char *path, sp_err *e)
{
    char name[PIP_PATH_STEP_MAX];
    long index;
    if (path[0] != '$' || !path[1]) {
        sp_err_invalid(e, "PartitionKey path '%s' must start with '$.'", path);
        return false;
    }
    for (const char *p = path + 1; *p;) {
        if (!next_step(&p, name, &index)) {
            sp_err_invalid(e, "PartitionKey path '%s' is not valid at '%s' (use $.a.b, "
                              "$['a'] or $.a[0])", path, p);
            return false;
        }
    }
    return true;
}

const json_t *pip_path_eval(const char *path, const json_t *doc)
{
    char name[PIP_PATH_STEP_MAX];
    long index = 0;
    const json_t *v = doc;
    for (const char *p = path + 1; *p && v;) {
        if (!next_step(&p, name, &index)) return NULL;
        v = name[0] ? json_object_get(v, name) : json_array_get(v, (size_t)index);
    }
    return v;
}
