/* Fuzz target: record format conversion of hostile records. The first byte picks the
 * deserializer (OpenX with its options, or Hive with Joda TimestampFormats), the rest is one
 * record, converted against a schema with every kind of column; a record is either added or
 * refused with an error, and the finished object must read back with the Parquet reader. */
#include <stdint.h>
#include <stdlib.h>

#include "delivery/dlv_int.h"
#include "parquet/parquet.h"

static bool count(void *ctx, json_t *row)
{
    (void)row;
    (*(size_t *)ctx)++;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const char *openx =
        "{\"SchemaConfiguration\":{\"DatabaseName\":\"d\",\"TableName\":\"t\"},"
        "\"InputFormatConfiguration\":{\"Deserializer\":{\"OpenXJsonSerDe\":{"
        "\"ConvertDotsInJsonKeysToUnderscores\":true,\"ColumnToJsonKeyMappings\":"
        "{\"ts\":\"timestamp\"}}}},\"OutputFormatConfiguration\":{\"Serializer\":"
        "{\"ParquetSerDe\":{\"EnableDictionaryCompression\":true}}}}";
    static const char *hive =
        "{\"SchemaConfiguration\":{\"DatabaseName\":\"d\",\"TableName\":\"t\"},"
        "\"InputFormatConfiguration\":{\"Deserializer\":{\"HiveJsonSerDe\":{"
        "\"TimestampFormats\":[\"dd/MM/yyyy HH:mm:ss.SSSZ\",\"yy-M-d'T'H\",\"millis\"]}}},"
        "\"OutputFormatConfiguration\":{\"Serializer\":{\"ParquetSerDe\":"
        "{\"WriterVersion\":\"V2\",\"Compression\":\"GZIP\"}}}}";
    json_t *cfg = json_loads(data[0] & 1 ? hive : openx, 0, NULL);
    dlv_conversion *c = NULL;
    sp_err e = {0};
    if (!dlv_conversion_parse(cfg, &c, &e) || !c) abort();
    json_t *cols = json_loads(
        "[[\"a_b\",\"string\"],[\"n\",\"bigint\"],[\"t\",\"tinyint\"],[\"d\",\"double\"],"
        "[\"ok\",\"boolean\"],[\"day\",\"date\"],[\"ts\",\"timestamp\"],[\"at\",\"timestamp\"],"
        "[\"dec\",\"decimal(38,9)\"],[\"small\",\"decimal(5,2)\"],[\"bin\",\"binary\"],"
        "[\"arr\",\"array<map<string,int>>\"],[\"st\",\"struct<x:float,y:array<date>>\"]]",
        0, NULL);
    dlv_converter *v = dlv_converter_new(c, cols, &e);
    if (!v) abort();
    (void)dlv_converter_add(v, (const char *)data + 1, size - 1, &e);
    sp_err_clear(&e);
    size_t len = 0;
    char *buf = dlv_converter_finish(v, &len, &e);
    if (!buf) abort();
    pq_file *f = pq_file_open((const uint8_t *)buf, len, &e);
    if (!f) abort();
    size_t rows = 0;
    if (!pq_file_read(f, NULL, count, &rows, &e)) abort();
    pq_file_close(f);
    free(buf);
    dlv_converter_destroy(v);
    dlv_conversion_free(c);
    json_decref(cols);
    json_decref(cfg);
    return 0;
}
