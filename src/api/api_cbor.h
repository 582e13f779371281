/* CBOR bodies (Content-Type application/x-amz-cbor-1.1, what the AWS Java SDK and the KCL send
 * to Kinesis by default) to and from the JSON the operations work on, with libcbor doing the
 * encoding. The mapping is the AWS CBOR protocol's:
 *
 *   request  map/array/text/int/float/bool/null -> the same JSON; byte string -> base64 text
 *            (the JSON protocol's blob form, so the operations see one shape); tag 1 (epoch
 *            time, milliseconds in the AWS SDKs) -> seconds as a JSON number.
 *   response blob members (Data) -> byte strings; timestamp members -> tag 1 + milliseconds;
 *            everything else as its JSON type.
 *
 * Decoding is strict: one complete item with no trailing bytes, a map at the top, text map
 * keys, no undefined or other simple values, nesting at most API_CBOR_DEPTH_MAX deep. */
#ifndef SP_API_CBOR_H
#define SP_API_CBOR_H

#include <stddef.h>

#include "core/core.h"

#define API_CBOR_CONTENT_TYPE "application/x-amz-cbor-1.1"

enum { API_CBOR_DEPTH_MAX = 64 };

/* The request body as a JSON object (new reference), or NULL with a SerializationException. */
json_t *api_cbor_to_json(const void *body, size_t len, sp_err *e);

/* The response (borrowed) as CBOR bytes (malloc'd, *out_len their length); NULL only when out
 * of memory. */
unsigned char *api_cbor_from_json(const json_t *v, size_t *out_len);

#endif
