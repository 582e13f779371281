/* Record framing and segment headers: the on-disk byte layout of the log (see stm_int.h),
 * encoded and decoded with explicit little-endian integers so files move between machines.
 * Decoding trusts nothing: lengths are bounded, the CRC covers the whole body, and any
 * inconsistency makes the frame invalid (recovery cuts the file there). */
#include <stdlib.h>
#include <string.h>

#include "stm_int.h"

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

size_t stm_frame_size(size_t pk_len, size_t ehk_len, size_t origin_len, size_t data_len)
{
    return STM_FRAME_HEAD + STM_FRAME_FIXED + pk_len + ehk_len + origin_len + data_len;
}

size_t stm_frame_encode(const stm_frame *f, uint8_t *out)
{
    size_t body = STM_FRAME_FIXED + f->pk_len + f->ehk_len + f->origin_len + f->data_len;
    uint8_t *b = out + STM_FRAME_HEAD;
    put_u64(b, f->seq);
    put_u64(b + 8, (uint64_t)f->arrival_ms);
    put_u64(b + 16, f->origin_pos);
    put_u32(b + 24, (uint32_t)f->data_len);
    put_u16(b + 28, (uint16_t)f->pk_len);
    b[30] = (uint8_t)f->ehk_len;
    b[31] = (uint8_t)f->origin_len;
    uint8_t *p = b + STM_FRAME_FIXED;
    memcpy(p, f->pk, f->pk_len), p += f->pk_len;
    if (f->ehk_len) memcpy(p, f->ehk, f->ehk_len), p += f->ehk_len;
    if (f->origin_len) memcpy(p, f->origin, f->origin_len), p += f->origin_len;
    if (f->data_len) memcpy(p, f->data, f->data_len);
    put_u32(out, (uint32_t)body);
    put_u32(out + 4, sp_crc32c(0, b, body));
    return STM_FRAME_HEAD + body;
}

long stm_frame_decode(const uint8_t *buf, size_t avail, stm_frame *f, size_t *need)
{
    *need = STM_FRAME_HEAD + STM_FRAME_FIXED;
    if (avail < STM_FRAME_HEAD) return 0;
    uint32_t body = get_u32(buf);
    if (body < STM_FRAME_FIXED || body > STM_FRAME_BODY_MAX) return -1;
    *need = STM_FRAME_HEAD + (size_t)body;
    if (avail < *need) return 0;
    const uint8_t *b = buf + STM_FRAME_HEAD;
    if (sp_crc32c(0, b, body) != get_u32(buf + 4)) return -1;
    f->seq = get_u64(b);
    f->arrival_ms = (int64_t)get_u64(b + 8);
    f->origin_pos = get_u64(b + 16);
    f->data_len = get_u32(b + 24);
    f->pk_len = get_u16(b + 28);
    f->ehk_len = b[30];
    f->origin_len = b[31];
    if (f->pk_len > STM_PARTITION_KEY_MAX || f->ehk_len > STM_HASH_KEY_DIGITS_MAX ||
        f->origin_len > STM_ORIGIN_MAX || f->data_len > STM_DATA_MAX)
        return -1;
    if (STM_FRAME_FIXED + f->pk_len + f->ehk_len + f->origin_len + f->data_len != body)
        return -1;
    const uint8_t *p = b + STM_FRAME_FIXED;
    f->pk = (const char *)p, p += f->pk_len;
    f->ehk = (const char *)p, p += f->ehk_len;
    f->origin = (const char *)p, p += f->origin_len;
    f->data = p;
    return (long)*need;
}

void stm_origins_note(stm_origin **o, size_t *n, const char *tag, size_t tag_len, uint64_t pos)
{
    if (tag_len == 0 || tag_len > STM_ORIGIN_MAX) return;
    for (size_t i = 0; i < *n; i++) {
        if (strlen((*o)[i].tag) == tag_len && !memcmp((*o)[i].tag, tag, tag_len)) {
            if (pos > (*o)[i].pos) (*o)[i].pos = pos;
            return;
        }
    }
    stm_origin *g = realloc(*o, (*n + 1) * sizeof **o);
    if (!g) return;
    *o = g;
    memcpy(g[*n].tag, tag, tag_len);
    g[*n].tag[tag_len] = '\0';
    g[*n].pos = pos;
    (*n)++;
}

uint8_t *stm_seghdr_encode(uint64_t first_seq, const stm_origin *o, size_t n, size_t *len)
{
    size_t size = STM_SEGHDR_FIXED;
    for (size_t i = 0; i < n; i++) size += 1 + strlen(o[i].tag) + 8;
    uint8_t *h = calloc(1, size);
    if (!h) return NULL;
    memcpy(h, STM_SEG_MAGIC, 8);
    put_u32(h + 8, (uint32_t)size);
    put_u64(h + 16, first_seq);
    put_u32(h + 24, (uint32_t)n);
    uint8_t *p = h + STM_SEGHDR_FIXED;
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(o[i].tag);
        *p++ = (uint8_t)tl;
        memcpy(p, o[i].tag, tl), p += tl;
        put_u64(p, o[i].pos), p += 8;
    }
    put_u32(h + 12, sp_crc32c(0, h + 16, size - 16));
    *len = size;
    return h;
}

long stm_seghdr_decode(const uint8_t *buf, size_t avail, uint64_t *first_seq,
                       stm_origin **origins, size_t *n_origins)
{
    *origins = NULL;
    *n_origins = 0;
    if (avail < STM_SEGHDR_FIXED) return 0;
    if (memcmp(buf, STM_SEG_MAGIC, 8)) return -1;
    uint32_t size = get_u32(buf + 8);
    if (size < STM_SEGHDR_FIXED || size > STM_SEGHDR_MAX) return -1;
    if (avail < size) return 0;
    if (sp_crc32c(0, buf + 16, size - 16) != get_u32(buf + 12)) return -1;
    *first_seq = get_u64(buf + 16);
    uint32_t n = get_u32(buf + 24);
    const uint8_t *p = buf + STM_SEGHDR_FIXED, *end = buf + size;
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < 1) goto bad;
        size_t tl = *p++;
        if (tl == 0 || tl > STM_ORIGIN_MAX || (size_t)(end - p) < tl + 8) goto bad;
        stm_origins_note(origins, n_origins, (const char *)p, tl, get_u64(p + tl));
        p += tl + 8;
    }
    if (p != end) goto bad;
    return (long)size;
bad:
    free(*origins);
    *origins = NULL;
    *n_origins = 0;
    return -1;
}

long stm_segment_scan_buf(const uint8_t *buf, size_t len, stm_frame_fn fn, void *arg)
{
    uint64_t first_seq;
    stm_origin *o;
    size_t no;
    long hl = stm_seghdr_decode(buf, len, &first_seq, &o, &no);
    free(o);
    if (hl <= 0) return -1;
    size_t off = (size_t)hl;
    uint64_t prev = first_seq ? first_seq - 1 : 0;
    bool first = true;
    while (off < len) {
        stm_frame f;
        size_t need;
        long n = stm_frame_decode(buf + off, len - off, &f, &need);
        if (n <= 0) break;
        /* Positions only grow, and the first one is the segment's first_seq or later. */
        if (first ? f.seq < first_seq : f.seq <= prev) break;
        if (fn && !fn(arg, &f, off, (size_t)n)) break;
        prev = f.seq;
        first = false;
        off += (size_t)n;
    }
    return (long)off;
}
