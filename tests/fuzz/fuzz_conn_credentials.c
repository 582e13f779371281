/* Fuzz target for the shared credentials file parser (src/conn/aws_creds.c), which reads a
 * file from any user's home directory, and for the XML text extraction the S3 sink applies to
 * remote answers (conn_xml_text). Input: the file's text (not NUL-terminated). The parser
 * must answer with credentials or one of its two errors, never read past the input, and fill
 * nothing on failure; both lookups of a profile must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"

static void parse(const uint8_t *data, size_t size, const char *profile)
{
    conn_aws_creds c;
    sp_err e = {0};
    char *copy = malloc(size ? size : 1);   /* exact size: ASan catches a read past the end */
    memcpy(copy, data, size);
    bool ok = conn_aws_creds_parse("fuzz", copy, size, profile, &c, &e);
    if (ok) {
        if (!c.access_key_id[0] || !c.secret_access_key[0]) abort();
        if (strlen(c.access_key_id) > CONN_ACCESS_KEY_MAX) abort();
    } else {
        if (strcmp(e.code, "ProfileNotFound") && strcmp(e.code, "InvalidCredentialsFile"))
            abort();
        if (c.access_key_id[0] || c.secret_access_key[0]) abort();
    }
    conn_aws_creds again;
    sp_err e2 = {0};
    if (conn_aws_creds_parse("fuzz", copy, size, profile, &again, &e2) != ok) abort();
    char text[64];
    (void)conn_xml_text(copy, size, "UploadId", text, sizeof text);
    (void)conn_xml_text(copy, size, "Code", text, 4);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size, "default");
    parse(data, size, "dev");
    return 0;
}
