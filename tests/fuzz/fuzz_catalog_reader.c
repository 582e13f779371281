/* Fuzzes the object reader: the input is written to a temporary file and read as a lake
 * object (plain, gzip or zstd by magic bytes, JSON lines, multi-line documents). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_catalog_reader_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    sp_err e = {0};
    cat_reader *r = cat_reader_open(path, &e);
    if (r) {
        json_t *doc;
        while (cat_reader_next(r, &doc, &e) == 1) json_decref(doc);
        cat_reader_close(r);
    }
    unlink(path);
    return 0;
}
