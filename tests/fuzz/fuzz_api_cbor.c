/* Fuzz target for the CBOR request decoder (api/api_cbor.c): any body either decodes to a JSON
 * object or is refused with a SerializationException (never a crash, a leak, or an allocation
 * sized by a declared length). What decodes must survive the way back: encoding it as a
 * response and decoding that again gives the same JSON (blobs and timestamps are only special
 * under their member names, and a "Data" text that is valid base64 comes back as the same
 * text; other members keep their JSON type). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_cbor.h"

static void fuzz_fail(const char *what, const json_t *a, const json_t *b)
{
    char *x = a ? json_dumps(a, JSON_ENCODE_ANY) : NULL, *y = b ? json_dumps(b, JSON_ENCODE_ANY) : NULL;
    fprintf(stderr, "fuzz_api_cbor: %s\n%s\n%s\n", what, x ? x : "", y ? y : "");
    abort();
}

/* Members the encoder treats specially are dropped before comparing (their form changes). */
static void drop_special(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "Data");
        json_object_del(v, "ApproximateArrivalTimestamp");
        json_object_del(v, "StreamCreationTimestamp");
        json_object_del(v, "ConsumerCreationTimestamp");
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) drop_special(c);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) drop_special(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    json_t *j = api_cbor_to_json(data, size, &e);
    if (!j) {
        if (!sp_err_failed(&e) || strcmp(e.code, "SerializationException"))
            fuzz_fail("refused without a SerializationException", NULL, NULL);
        return 0;
    }
    if (!json_is_object(j)) fuzz_fail("decoded to a non-object", j, NULL);
    size_t n = 0;
    unsigned char *back = api_cbor_from_json(j, &n);
    if (!back) fuzz_fail("could not encode a decoded body", j, NULL);
    sp_err e2 = {0};
    json_t *again = api_cbor_to_json(back, n, &e2);
    free(back);
    if (!again) fuzz_fail("our own encoding does not decode", j, NULL);
    drop_special(j);
    drop_special(again);
    if (!json_equal(j, again)) fuzz_fail("round trip changed the body", j, again);
    json_decref(j);
    json_decref(again);
    return 0;
}
