/* A JSON text read in place, for the per-record hot paths after the table (the pipe's
 * partition key, dynamodb-cdc's line): sp_jscan_valid checks once that jansson would load the
 * text, and the walkers below then read members and values straight from the bytes, with no
 * tree. See json_scan.c for what the check accepts; a text it does not accept is not known to
 * be invalid, it only has to take jansson's path (which gives the errors).
 *
 * The walkers take a pointer to the first byte of a value inside a text sp_jscan_valid
 * accepted, and never read past that value's end; on any other text they are undefined. */
#ifndef SP_CORE_JSON_SCAN_H
#define SP_CORE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* The deepest nesting and the most members of one object the check takes; deeper or wider
 * texts take jansson's path. */
enum { SP_JSCAN_DEPTH_MAX = 32, SP_JSCAN_MEMBERS_MAX = 64 };

/* True when json_loadb(text, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES) returns an object
 * (so the same call without JSON_REJECT_DUPLICATES does too, and to the same members), no
 * member name holds an escape, and nesting and width are within the limits above. */
bool sp_jscan_valid(const char *text, size_t len);

/* Length of the valid UTF-8 sequence at p (its lead byte >= 0x80, avail bytes left), as
 * strictly as jansson checks it (no overlong forms, surrogates or code points past U+10FFFF);
 * 0 if invalid. Also used by the PutRecords scanner (stream/stm_scan_put.c). */
size_t sp_jscan_utf8_len(const unsigned char *p, size_t avail);
/* The value of the four hex digits at p (those of a JSON "\\uXXXX" escape), or -1 if one is
 * not a hex digit. */
int sp_jscan_hex4(const unsigned char *p);

/* The value's kind: its first byte ('{', '[', '"', 't', 'f', 'n', or '-'/digit for numbers). */
static inline char sp_jscan_kind(const char *v) { return *v; }

/* The first byte after the value at v. */
const char *sp_jscan_skip(const char *v);

/* An object's or array's members, in text order. it starts at the '{' or '['. */
typedef struct sp_jscan_iter {
    const char *p;
} sp_jscan_iter;
void sp_jscan_iter_init(sp_jscan_iter *it, const char *container);
/* The next member: its name (raw bytes between the quotes: no escapes, see above) and its
 * value; false after the last. */
bool sp_jscan_iter_member(sp_jscan_iter *it, const char **name, size_t *name_len,
                          const char **value);
/* The next array element; false after the last. */
bool sp_jscan_iter_elem(sp_jscan_iter *it, const char **value);

/* The value of member name (NUL-terminated, compared as bytes) of the object at obj, or NULL. */
const char *sp_jscan_member(const char *obj, const char *name);
/* The number of members / elements of the object or array at v. */
size_t sp_jscan_count(const char *v);

/* A string value's raw text between its quotes (*len bytes). Returns false when that text
 * holds an escape, so it is not the string's value (callers then take jansson's path). */
bool sp_jscan_plain_string(const char *v, const char **s, size_t *len);
/* A string value (plain, as above) equal to the NUL-terminated text. */
bool sp_jscan_string_is(const char *v, const char *text);

/* A number value as json_number_value gives it from jansson's tree (an integer converted
 * from long long, a real as strtod reads it). */
double sp_jscan_number(const char *v);

#endif
