/* The record as it moves through the processors: raw input kept for the error output, the
 * current data replaced by each processor, and the failure (code, message, attempts). */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

void dlv_rec_set_data(dlv_rec *r, const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (len) memcpy(copy, data, len);
    copy[len] = '\0';
    free(r->data);
    r->data = copy;
    r->len = len;
}

void dlv_rec_fail(dlv_rec *r, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[SP_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->result = DLV_REC_FAILED;
    r->error_type = "processing-failed";
    snprintf(r->err_code, sizeof r->err_code, "%s", code);
    free(r->err_msg);
    r->err_msg = strdup(msg);
}

void dlv_rec_clear(dlv_rec *r)
{
    free(r->partition_key);
    free(r->raw);
    free(r->data);
    free(r->err_msg);
    free(r->lambda_arn);
    json_decref(r->partition);
    memset(r, 0, sizeof *r);
}
