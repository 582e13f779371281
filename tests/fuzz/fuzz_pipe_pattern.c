/* Fuzz target for EventBridge patterns (src/pipe/pattern.c) and partition-key paths
 * (src/pipe/path.c). Input: a pattern (JSON) on the first line, an event (JSON) after it.
 * Compiling must either succeed or give a ValidationException; matching a compiled pattern
 * against any event must terminate without memory errors. The first line is also tried as a
 * JSON path against the event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipe/pipe_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t plen = nl ? (size_t)(nl - text) : size;
    const char *ev_text = nl ? nl + 1 : "";
    size_t ev_len = nl ? size - plen - 1 : 0;

    sp_err e = {0};
    pip_pattern *p = pip_pattern_parse(text, plen, &e);
    if (!p && (e.status != 400 || strcmp(e.code, "ValidationException"))) abort();
    json_t *ev = json_loadb(ev_text, ev_len, JSON_DECODE_ANY, NULL);
    if (p) {
        bool m = pip_pattern_match(p, ev);
        (void)m;
        pip_pattern_destroy(p);
    }
    char *path = strndup(text, plen);
    sp_err pe = {0};
    if (path[0] == '$' && pip_path_check(path, &pe) && ev) (void)pip_path_eval(path, ev);
    free(path);
    json_decref(ev);
    return 0;
}
