/* Parquet lake objects as the crawler and the query scan open them: the file is mapped (not
 * read), so opening parses only the footer and a scan touches only the column chunks it
 * decodes. Whether an object is Parquet is decided by its magic bytes, not its name. */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct cat_parquet {
    void *map;
    size_t len;
    pq_file *file;
};

cat_parquet *cat_parquet_open(const char *path, sp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    unsigned char head[4], tail[4];
    if (fstat(fd, &st) != 0 || st.st_size < 12 || pread(fd, head, 4, 0) != 4 ||
        pread(fd, tail, 4, st.st_size - 4) != 4 || memcmp(head, "PAR1", 4) ||
        memcmp(tail, "PAR1", 4)) {
        close(fd);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        sp_err_internal(e, "cannot map a Parquet object: %s", strerror(errno));
        return NULL;
    }
    pq_file *f = pq_file_open(map, (size_t)st.st_size, e);
    if (!f) {
        munmap(map, (size_t)st.st_size);
        return NULL;
    }
    cat_parquet *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->map = map;
    p->len = (size_t)st.st_size;
    p->file = f;
    return p;
}

pq_file *cat_parquet_file(cat_parquet *p) { return p->file; }

void cat_parquet_close(cat_parquet *p)
{
    if (!p) return;
    pq_file_close(p->file);
    munmap(p->map, p->len);
    free(p);
}

char *cat_parquet_schema(const pq_file *f)
{
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&s, "struct<");
    for (size_t i = 0; i < pq_file_num_columns(f); i++) {
        if (i) sp_str_putc(&s, ',');
        /* Glue keeps column names in lower case. */
        for (const char *c = pq_file_column_name(f, i); *c; c++) {
            char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
            if (strchr(",:<>`", ch)) sp_str_putc(&s, '_');
            else sp_str_putc(&s, ch);
        }
        sp_str_putc(&s, ':');
        sp_str_puts(&s, pq_file_column_type(f, i));
    }
    sp_str_putc(&s, '>');
    return sp_str_finish(&s, NULL);
}
