/* Fuzz target: the segment reader on arbitrary bytes. The input is taken as a segment image
 * and walked in memory (stm_segment_scan_buf), then written to a file and opened as a
 * shard's last segment, which is crash recovery: whatever the bytes, recovery must keep
 * exactly the valid prefix the in-memory walk found, cut the rest unless it is all zeros
 * (space written ahead, kept), and a second open must find nothing more to cut. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/stm_int.h"

static char dir[64];

static bool count_frame(void *arg, const stm_frame *f, uint64_t off, size_t size)
{
    (void)f, (void)off, (void)size;
    (*(size_t *)arg)++;
    return true;
}

/* Each input's segment file is unlinked after it; the directory goes at exit. */
static void remove_dir(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) sp_log_set_level(SP_LOG_OFF), quiet = true;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-stream-XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(remove_dir);
    }
    size_t frames = 0;
    long good = stm_segment_scan_buf(data, size, count_frame, &frames);

    /* The first position is whatever the header says (recovery checks it matches the
     * file name), so name the file after it. */
    uint64_t first = 1;
    stm_origin *o = NULL;
    size_t no = 0;
    if (stm_seghdr_decode(data, size, &first, &o, &no) <= 0) first = 1;
    free(o);
    char path[128];
    stm_segment_path(dir, first, "seg", path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    stm_origin *origins = NULL;
    size_t n_origins = 0;
    bool bad = false;
    sp_err e = {0};
    stm_segment *seg = stm_segment_open_tail(path, first, &origins, &n_origins, &bad, &e);
    if (good < 0) {
        if (seg) abort();  /* an invalid header never opens */
    } else if (seg) {
        if (seg->size != (uint64_t)good) abort();
        bool zeros = true;
        for (size_t i = (size_t)good; i < size && zeros; i++) zeros = data[i] == 0;
        struct stat st;
        if (stat(path, &st) != 0 || (uint64_t)st.st_size != seg->alloc) abort();
        if (seg->alloc != (zeros ? (uint64_t)size : seg->size)) abort();
        stm_segment_free(seg);
        free(origins);
        origins = NULL;
        n_origins = 0;
        seg = stm_segment_open_tail(path, first, &origins, &n_origins, &bad, &e);
        if (!seg || seg->size != (uint64_t)good) abort();
    }
    stm_segment_free(seg);
    free(origins);
    unlink(path);
    return 0;
}
