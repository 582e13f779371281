/* The one XML document S3 clients send salespipe: CompleteMultipartUpload's part list,
 *   <CompleteMultipartUpload xmlns="..."><Part><PartNumber>1</PartNumber><ETag>"…"</ETag>
 *   [<ChecksumCRC32>…</ChecksumCRC32>…]</Part>…</CompleteMultipartUpload>
 * A parser of outside input, so small and strict: an optional prolog, that root element, Part
 * elements whose children are simple text elements (unknown ones are skipped, as S3 skips the
 * checksum members it is not asked to check), the five predefined entities and decimal
 * character references in text, no comments, CDATA or nesting beyond that; at most
 * LAKE_PARTS_MAX parts, bounded names and texts. Anything else is MalformedXML. */
#include "lake_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "CompleteMultipartUpload"
enum { XML_NAME_MAX = 64, XML_TEXT_MAX = 256 };

typedef struct xml_cursor {
    const char *p, *end;
} xml_cursor;

static bool malformed(sp_err *e, const char *why)
{
    sp_err_set(e, 400, "MalformedXML",
               "The XML you provided was not well-formed or did not validate against our "
               "published schema (%s)", why);
    return false;
}

static void skip_ws(xml_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static bool take(xml_cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return false;
    c->p += n;
    return true;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.' || ch == ':';
}

/* "<Name>" (no attributes) into name; false if the next thing is not such a tag. */
static bool open_tag(xml_cursor *c, char name[XML_NAME_MAX])
{
    const char *s = c->p;
    if (c->p >= c->end || *c->p != '<') return false;
    c->p++;
    size_t n = 0;
    while (c->p < c->end && name_char(*c->p) && n + 1 < XML_NAME_MAX) name[n++] = *c->p++;
    name[n] = '\0';
    if (!n || c->p >= c->end || *c->p != '>') {
        c->p = s;
        return false;
    }
    c->p++;
    return true;
}

static bool close_tag(xml_cursor *c, const char *name)
{
    const char *s = c->p;
    if (take(c, "</") && take(c, name) && (skip_ws(c), take(c, ">"))) return true;
    c->p = s;
    return false;
}

/* Text up to the next '<', entities decoded, into out. */
static bool text(xml_cursor *c, char out[XML_TEXT_MAX])
{
    size_t n = 0;
    while (c->p < c->end && *c->p != '<') {
        char ch = *c->p++;
        if (ch == '&') {
            static const struct { const char *ent; char ch; } ENTS[] = {
                {"quot;", '"'}, {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"apos;", '\''}};
            bool found = false;
            for (size_t i = 0; i < SP_ARRAY_LEN(ENTS) && !found; i++)
                if (take(c, ENTS[i].ent)) ch = ENTS[i].ch, found = true;
            if (!found && take(c, "#")) {
                unsigned v = 0, digits = 0;
                while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 4)
                    v = v * 10 + (unsigned)(*c->p++ - '0'), digits++;
                if (!digits || v < 0x20 || v > 0x7e || !take(c, ";")) return false;
                ch = (char)v;
                found = true;
            }
            if (!found) return false;
        }
        if (n + 1 >= XML_TEXT_MAX) return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return true;
}

static bool parse_part(xml_cursor *c, lake_part *part, sp_err *e)
{
    bool have_number = false, have_etag = false;
    memset(part, 0, sizeof *part);
    for (;;) {
        skip_ws(c);
        if (close_tag(c, "Part")) break;
        char name[XML_NAME_MAX], value[XML_TEXT_MAX];
        if (!open_tag(c, name)) return malformed(e, "expected a member of Part");
        if (!text(c, value)) return malformed(e, "bad text in a member of Part");
        if (!close_tag(c, name)) return malformed(e, "member of Part not closed");
        if (!strcmp(name, "PartNumber")) {
            char *end;
            long v = strtol(value, &end, 10);
            if (have_number || !value[0] || *end || value[0] < '0' || value[0] > '9' ||
                strlen(value) > 5)
                return malformed(e, "PartNumber is not a number");
            part->number = (int)v;
            have_number = true;
        } else if (!strcmp(name, "ETag")) {
            size_t vlen = strlen(value);
            if (have_etag || vlen >= LAKE_ETAG_MAX) return malformed(e, "bad ETag");
            memcpy(part->etag, value, vlen + 1);
            have_etag = true;
        }
    }
    if (!have_number || !have_etag) return malformed(e, "a Part without PartNumber or ETag");
    return true;
}

bool lake_s3_parts_parse(const char *xml, size_t len, lake_part **parts, size_t *n, sp_err *e)
{
    *parts = NULL;
    *n = 0;
    xml_cursor c = {xml, xml + len};
    skip_ws(&c);
    if (take(&c, "<?xml")) {
        while (c.p + 1 < c.end && !(c.p[0] == '?' && c.p[1] == '>')) c.p++;
        if (!take(&c, "?>")) return malformed(e, "unterminated XML declaration");
        skip_ws(&c);
    }
    if (!take(&c, "<" ROOT)) return malformed(e, "the root element is not " ROOT);
    if (c.p < c.end && *c.p != '>' && *c.p != ' ') return malformed(e, "bad root element");
    while (c.p < c.end && *c.p != '>' && *c.p != '<') c.p++; /* attributes (xmlns) */
    if (!take(&c, ">")) return malformed(e, "root element not closed");
    size_t cap = 0;
    bool ok = true;
    for (;;) {
        skip_ws(&c);
        if (close_tag(&c, ROOT)) break;
        char name[XML_NAME_MAX];
        if (!open_tag(&c, name) || strcmp(name, "Part")) {
            ok = malformed(e, "expected Part");
            break;
        }
        if (*n == LAKE_PARTS_MAX) {
            ok = malformed(e, "more than 10000 parts");
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *parts = realloc(*parts, cap * sizeof **parts);
        }
        if (!parse_part(&c, &(*parts)[*n], e)) {
            ok = false;
            break;
        }
        (*n)++;
    }
    skip_ws(&c);
    if (ok && c.p != c.end) ok = malformed(e, "content after the root element");
    if (!ok) {
        free(*parts);
        *parts = NULL;
        *n = 0;
    }
    return ok;
}
