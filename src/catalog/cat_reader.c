/* Streams the JSON documents of one lake object, the way the crawler and the query scan
 * both read them: line by line (never the whole object), decompressing gzip (zlib, also
 * concatenated members) or zstd when the magic bytes say so. A line may hold several
 * documents back to back (Firehose without a delimiter) and a document may continue over
 * several lines (pretty-printed JSON) up to CAT_DOC_MAX; text that is not JSON is skipped
 * and counted as malformed. An unfinished document is parsed again only once it has doubled
 * (or at the end of the object), so a long multi-line document costs linear time, not a
 * parse per line over everything before it. */
#include "catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum { READ_CHUNK = 64 * 1024 };

typedef enum { SRC_PLAIN, SRC_GZIP, SRC_ZSTD } src_kind;

struct cat_reader {
    src_kind kind;
    FILE *f;             /* PLAIN, ZSTD */
    gzFile gz;           /* GZIP */
    ZSTD_DCtx *zd;
    ZSTD_inBuffer zin;
    char *zbuf;          /* compressed input for zstd */
    bool src_eof;
    char *buf;           /* decompressed bytes not yet consumed: buf[pos..len) */
    size_t pos, len, cap;
    char *doc;           /* the document being assembled over lines */
    size_t doc_len, doc_cap;
    size_t doc_retry_at; /* doc_len at which an unfinished document is parsed again */
    json_t *queue;       /* documents parsed from the last line, not yet returned */
    size_t queue_at;
    size_t malformed;
    char path[512];
};

static const unsigned char GZIP_MAGIC[] = {0x1f, 0x8b};
static const unsigned char ZSTD_MAGIC[] = {0x28, 0xb5, 0x2f, 0xfd};

cat_reader *cat_reader_open(const char *path, sp_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sp_err_set(e, 404, "NoSuchKey", "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    rewind(f);
    cat_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    snprintf(r->path, sizeof r->path, "%s", path);
    r->queue = json_array();
    if (got >= 2 && !memcmp(magic, GZIP_MAGIC, 2)) {
        /* zlib gets its own descriptor; the FILE only served the magic peek. */
        r->kind = SRC_GZIP;
        int fd = dup(fileno(f));
        fclose(f);
        if (fd >= 0) lseek(fd, 0, SEEK_SET);
        r->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
        if (!r->gz) {
            if (fd >= 0) close(fd);
            json_decref(r->queue);
            free(r);
            sp_err_internal(e, "cannot open '%s' as gzip", path);
            return NULL;
        }
    } else if (got == 4 && !memcmp(magic, ZSTD_MAGIC, 4)) {
        r->kind = SRC_ZSTD;
        r->f = f;
        r->zd = ZSTD_createDCtx();
        r->zbuf = malloc(ZSTD_DStreamInSize());
        if (!r->zd || !r->zbuf) abort();
        r->zin = (ZSTD_inBuffer){r->zbuf, 0, 0};
    } else {
        r->kind = SRC_PLAIN;
        r->f = f;
    }
    return r;
}

void cat_reader_close(cat_reader *r)
{
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    if (r->f) fclose(r->f);
    ZSTD_freeDCtx(r->zd);
    free(r->zbuf);
    free(r->buf);
    free(r->doc);
    json_decref(r->queue);
    free(r);
}

size_t cat_reader_malformed(const cat_reader *r) { return r->malformed; }

const char *cat_reader_compression(const cat_reader *r)
{
    return r->kind == SRC_GZIP ? "gzip" : r->kind == SRC_ZSTD ? "zstd" : "none";
}

/* Appends up to READ_CHUNK decompressed bytes to buf. Returns bytes added, 0 at the end,
 * -1 on error. */
static long fill(cat_reader *r, sp_err *e)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < READ_CHUNK) {
        r->cap = r->len + READ_CHUNK * 2;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf) abort();
    }
    char *out = r->buf + r->len;
    long n = 0;
    switch (r->kind) {
    case SRC_PLAIN:
        n = (long)fread(out, 1, READ_CHUNK, r->f);
        if (n == 0 && ferror(r->f)) goto io_error;
        break;
    case SRC_GZIP: {
        int k = gzread(r->gz, out, READ_CHUNK);
        if (k < 0) {
            int zerr;
            const char *msg = gzerror(r->gz, &zerr);
            sp_err_internal(e, "'%s': gzip: %s", r->path, msg);
            return -1;
        }
        n = k;
        break;
    }
    case SRC_ZSTD: {
        ZSTD_outBuffer zout = {out, READ_CHUNK, 0};
        while (zout.pos == 0) {
            if (r->zin.pos == r->zin.size) {
                if (r->src_eof) break;
                r->zin.size = fread(r->zbuf, 1, ZSTD_DStreamInSize(), r->f);
                r->zin.pos = 0;
                if (r->zin.size == 0) {
                    if (ferror(r->f)) goto io_error;
                    r->src_eof = true;
                    break;
                }
            }
            size_t rc = ZSTD_decompressStream(r->zd, &zout, &r->zin);
            if (ZSTD_isError(rc)) {
                sp_err_internal(e, "'%s': zstd: %s", r->path, ZSTD_getErrorName(rc));
                return -1;
            }
        }
        n = (long)zout.pos;
        break;
    }
    }
    r->len += (size_t)n;
    return n;
io_error:
    sp_err_internal(e, "'%s': read: %s", r->path, strerror(errno));
    return -1;
}

/* Next line (without '\n') into line and len, pointing into buf. 1, 0 at end, -1 error. */
static int next_line(cat_reader *r, const char **line, size_t *len, sp_err *e)
{
    for (;;) {
        char *nl = r->len > r->pos ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
        if (nl) {
            *line = r->buf + r->pos;
            *len = (size_t)(nl - *line);
            r->pos += *len + 1;
            return 1;
        }
        if (r->len - r->pos > CAT_DOC_MAX) {
            /* A line this long cannot be a document we accept: drop it up to its end. */
            r->pos = r->len;
            r->malformed++;
            r->doc_len = 0;
            r->doc_retry_at = 0;
            continue;
        }
        long n = fill(r, e);
        if (n < 0) return -1;
        if (n == 0) {
            if (r->pos == r->len) return 0;
            *line = r->buf + r->pos;
            *len = r->len - r->pos;
            r->pos = r->len;
            return 1;
        }
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

/* Parses the assembled document text into the queue. Returns false if it ended early
 * (more lines may complete it). */
static bool parse_doc(cat_reader *r)
{
    size_t off = 0;
    while (off < r->doc_len && !blank(r->doc + off, r->doc_len - off)) {
        json_error_t err;
        json_t *v = json_loadb(r->doc + off, r->doc_len - off,
                               JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (!v) {
            if (json_error_code(&err) == json_error_premature_end_of_input) {
                /* keep what is left for the next line */
                memmove(r->doc, r->doc + off, r->doc_len - off);
                r->doc_len -= off;
                r->doc_retry_at = 2 * r->doc_len;
                return false;
            }
            r->malformed++;
            break;
        }
        json_array_append_new(r->queue, v);
        if (err.position <= 0) break;
        off += (size_t)err.position;
    }
    r->doc_len = 0;
    r->doc_retry_at = 0;
    return true;
}

int cat_reader_next(cat_reader *r, json_t **doc, sp_err *e)
{
    for (;;) {
        if (r->queue_at < json_array_size(r->queue)) {
            *doc = json_incref(json_array_get(r->queue, r->queue_at++));
            return 1;
        }
        json_array_clear(r->queue);
        r->queue_at = 0;
        const char *line;
        size_t len;
        int rc = next_line(r, &line, &len, e);
        if (rc < 0) return -1;
        if (rc == 0) {
            /* A document whose retry was deferred may be complete: parse it once more. */
            if (r->doc_len && r->doc_retry_at && parse_doc(r)) continue;
            if (r->doc_len && !blank(r->doc, r->doc_len)) r->malformed++;
            r->doc_len = 0;
            r->doc_retry_at = 0;
            if (json_array_size(r->queue)) continue;
            return 0;
        }
        if (r->doc_len == 0 && blank(line, len)) continue;
        /* A deferred document may be complete: parse it before deciding it is too long. */
        if (r->doc_len + len + 1 > CAT_DOC_MAX && r->doc_retry_at) parse_doc(r);
        if (r->doc_len + len + 1 > CAT_DOC_MAX) {
            r->malformed++;
            r->doc_len = 0;
            r->doc_retry_at = 0;
            continue;
        }
        if (r->doc_cap < r->doc_len + len + 1) {
            r->doc_cap = (r->doc_len + len + 1) * 2;
            r->doc = realloc(r->doc, r->doc_cap);
            if (!r->doc) abort();
        }
        memcpy(r->doc + r->doc_len, line, len);
        r->doc_len += len;
        r->doc[r->doc_len++] = '\n';
        if (r->doc_len >= r->doc_retry_at) parse_doc(r);
    }
}
