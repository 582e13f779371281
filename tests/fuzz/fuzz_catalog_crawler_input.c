/* Fuzzes the crawler inputs salespipe parses itself: the first byte picks the parser, the
 * rest is the text. Exclusions: a pattern is compiled (Glue glob -> POSIX regex) and matched
 * against a few keys; a refusal must be an InvalidInputException with a message. Schedule:
 * the cron(...) checker accepts or refuses with InvalidInputException. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

static void refused_well(const sp_err *e)
{
    if (strcmp(e->code, "InvalidInputException") || !e->msg[0] || e->status != 400) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *text = strndup((const char *)data + 1, size - 1);
    sp_err e = {0};
    if (data[0] & 1) {
        if (!cat_cron_valid(text, &e)) refused_well(&e);
    } else {
        cat_glob *g = cat_glob_compile(text, &e);
        if (g) {
            static const char *const keys[] = {"", "a", "2026/01/a.json", "x/tmp/y.bak",
                                               "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u.json"};
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cat_glob_match(g, keys[i]);
            cat_glob_match(g, text);
            cat_glob_destroy(g);
        } else {
            refused_well(&e);
        }
    }
    free(text);
    return 0;
}
