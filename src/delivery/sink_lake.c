/* The embedded lake as a delivery sink: objects go into the lake's bucket directories (tmp +
 * fsync + rename, lake.c), so a put is whole or absent and replaces an earlier one. */
#include "dlv_int.h"

static bool lake_put(void *ctx, const char *bucket, const char *key, const void *data,
                     size_t len, sp_err *e)
{
    return lake_object_put(ctx, bucket, key, data, len, e);
}

static bool lake_remove(void *ctx, const char *bucket, const char *key, sp_err *e)
{
    sp_err de = {0};
    if (lake_object_delete(ctx, bucket, key, &de) || de.status == 404) return true;
    *e = de;
    return false;
}

static const char *lake_describe(void *ctx)
{
    (void)ctx;
    return "lake";
}

dlv_sink dlv_sink_lake(lake *lk)
{
    return (dlv_sink){.ctx = lk, .kind = "lake", .put = lake_put, .remove = lake_remove,
                      .describe = lake_describe, .destroy = NULL};
}
