/* Position maps: the anchors (position, remote sequence number) that let a source answer
 * "the records after position p" for a remote shard, whose sequence numbers do not fit the
 * uint64 positions the stages count in (see conn.h). A small sorted array; the sources keep
 * it pruned to what their consumer may still ask for, so it stays a few entries long. */
#include "conn.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void conn_seq_map_add(conn_seq_map *m, uint64_t pos, const char *seq)
{
    assert(pos > 0);
    size_t i = m->n;
    while (i > 0 && m->v[i - 1].pos > pos) i--;
    if (i > 0 && m->v[i - 1].pos == pos) {
        snprintf(m->v[i - 1].seq, sizeof m->v[i - 1].seq, "%s", seq);
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
    m->v[i].pos = pos;
    snprintf(m->v[i].seq, sizeof m->v[i].seq, "%s", seq);
    m->n++;
}

const conn_seq_anchor *conn_seq_map_floor(const conn_seq_map *m, uint64_t pos)
{
    const conn_seq_anchor *best = NULL;
    for (size_t i = 0; i < m->n && m->v[i].pos <= pos; i++) best = &m->v[i];
    return best;
}

void conn_seq_map_prune(conn_seq_map *m, uint64_t keep_from)
{
    const conn_seq_anchor *f = conn_seq_map_floor(m, keep_from);
    if (!f) return;
    size_t drop = (size_t)(f - m->v);
    memmove(m->v, m->v + drop, (m->n - drop) * sizeof *m->v);
    m->n -= drop;
}

json_t *conn_seq_map_to_json(const conn_seq_map *m)
{
    json_t *a = json_array();
    for (size_t i = 0; i < m->n; i++)
        json_array_append_new(a, json_pack("[I, s]", (json_int_t)m->v[i].pos, m->v[i].seq));
    return a;
}

bool conn_seq_map_from_json(conn_seq_map *m, const json_t *j, sp_err *e)
{
    conn_seq_map_clear(m);
    if (!json_is_array(j)) goto bad;
    size_t i;
    const json_t *x;
    json_array_foreach(j, i, x) {
        const json_t *p = json_array_get(x, 0), *s = json_array_get(x, 1);
        if (!json_is_array(x) || json_array_size(x) != 2 || !json_is_integer(p) ||
            json_integer_value(p) <= 0 || !json_is_string(s) ||
            json_string_length(s) > CONN_KIN_SEQ_MAX || !conn_kin_seq_valid(json_string_value(s)))
            goto bad;
        conn_seq_map_add(m, (uint64_t)json_integer_value(p), json_string_value(s));
    }
    return true;
bad:
    conn_seq_map_clear(m);
    sp_err_invalid(e, "a position map is not a list of [position, \"sequence number\"] pairs");
    return false;
}

void conn_seq_map_clear(conn_seq_map *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}
