/* Record format conversion (Firehose's DataFormatConversionConfiguration): the settings,
 * validated where a delivery stream is defined, and the step that runs after the processors
 * and turns a group's JSON records into one Parquet object.
 *
 * Input: the OpenX JSON SerDe (CaseInsensitive, default true; ConvertDotsInJsonKeysToUnderscores;
 * ColumnToJsonKeyMappings {column: json key}) or the Hive JSON SerDe (TimestampFormats in
 * Joda-Time pattern syntax, "millis" for epoch milliseconds; java.sql.Timestamp.valueOf's
 * "yyyy-mm-dd hh:mm:ss[.f...]" when none is given). Output: ParquetSerDe (Compression
 * SNAPPY/GZIP/UNCOMPRESSED and salespipe's ZSTD; BlockSizeBytes; PageSizeBytes;
 * EnableDictionaryCompression; MaxPaddingBytes, accepted and kept, which pads nothing in an
 * object store; WriterVersion V1/V2). OrcSerDe is refused. The schema is the column list of
 * the Glue table SchemaConfiguration names, looked up at each batch through the service's
 * schema source (so a table made after the stream, or changed later, is used: VersionId
 * LATEST). A record that is not a JSON object or does not fit the schema fails alone into
 * the error output (format-conversion-failed); the rest of the group is written. */
#include "dlv_int.h"
#include "parquet/parquet.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct dlv_conversion {
    bool hive;
    bool case_insensitive;
    bool dots_to_underscores;
    json_t *key_map;            /* OpenX ColumnToJsonKeyMappings (object) or NULL */
    json_t *timestamp_formats;  /* Hive TimestampFormats (array) or NULL */
    char *database, *table;
    pq_options parquet;
    long long max_padding;
};

void dlv_conversion_free(dlv_conversion *c)
{
    if (!c) return;
    json_decref(c->key_map);
    json_decref(c->timestamp_formats);
    free(c->database);
    free(c->table);
    free(c);
}

const char *dlv_conversion_database(const dlv_conversion *c) { return c->database; }
const char *dlv_conversion_table(const dlv_conversion *c) { return c->table; }

/* A member that must be an object if present (InvalidArgumentException naming path). */
static json_t *member_object(const json_t *o, const char *key, const char *path, sp_err *e)
{
    json_t *v = json_object_get(o, key);
    if (v && !json_is_object(v)) {
        dlv_invalid(e, "%s.%s must be an object", path, key);
        return NULL;
    }
    return v;
}

static bool opt_bool(const json_t *o, const char *key, bool fallback, const char *path,
                     bool *out, sp_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = fallback;
        return true;
    }
    if (!json_is_boolean(v)) {
        dlv_invalid(e, "%s.%s must be a boolean", path, key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static bool opt_int(const json_t *o, const char *key, long long min, long long *out,
                    const char *path, sp_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        dlv_invalid(e, "%s.%s must be an integer of at least %lld", path, key, min);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static bool parse_input(dlv_conversion *c, const json_t *ifc, sp_err *e)
{
    const char *P = "DataFormatConversionConfiguration.InputFormatConfiguration";
    json_t *des = member_object(ifc, "Deserializer", P, e);
    if (sp_err_failed(e)) return false;
    json_t *openx = des ? member_object(des, "OpenXJsonSerDe", "Deserializer", e) : NULL;
    json_t *hive = des ? member_object(des, "HiveJsonSerDe", "Deserializer", e) : NULL;
    if (sp_err_failed(e)) return false;
    if (openx && hive) {
        dlv_invalid(e, "%s.Deserializer: give either OpenXJsonSerDe or HiveJsonSerDe, not both",
                    P);
        return false;
    }
    if (!openx && !hive) {
        dlv_invalid(e, "%s.Deserializer needs OpenXJsonSerDe or HiveJsonSerDe", P);
        return false;
    }
    c->case_insensitive = true;
    if (hive) {
        c->hive = true;
        json_t *tf = json_object_get(hive, "TimestampFormats");
        if (tf) {
            size_t i;
            json_t *f;
            if (!json_is_array(tf)) {
                dlv_invalid(e, "HiveJsonSerDe.TimestampFormats must be a list of strings");
                return false;
            }
            json_array_foreach(tf, i, f) if (!json_is_string(f) || !json_string_length(f)) {
                dlv_invalid(e, "HiveJsonSerDe.TimestampFormats[%zu] must be a non-empty string",
                            i);
                return false;
            }
            c->timestamp_formats = json_incref(tf);
        }
        return true;
    }
    if (!opt_bool(openx, "CaseInsensitive", true, "OpenXJsonSerDe", &c->case_insensitive, e) ||
        !opt_bool(openx, "ConvertDotsInJsonKeysToUnderscores", false, "OpenXJsonSerDe",
                  &c->dots_to_underscores, e))
        return false;
    json_t *map = member_object(openx, "ColumnToJsonKeyMappings", "OpenXJsonSerDe", e);
    if (sp_err_failed(e)) return false;
    if (map) {
        const char *k;
        json_t *v;
        json_object_foreach(map, k, v) if (!json_is_string(v)) {
            dlv_invalid(e, "OpenXJsonSerDe.ColumnToJsonKeyMappings.%s must be a string", k);
            return false;
        }
        c->key_map = json_incref(map);
    }
    return true;
}

static bool parse_output(dlv_conversion *c, const json_t *ofc, sp_err *e)
{
    const char *P = "DataFormatConversionConfiguration.OutputFormatConfiguration";
    json_t *ser = member_object(ofc, "Serializer", P, e);
    if (sp_err_failed(e)) return false;
    if (ser && json_object_get(ser, "OrcSerDe")) {
        dlv_invalid(e, "%s.Serializer.OrcSerDe is not supported: salespipe converts records to "
                       "Parquet only (ParquetSerDe)", P);
        return false;
    }
    json_t *pq = ser ? member_object(ser, "ParquetSerDe", "Serializer", e) : NULL;
    if (sp_err_failed(e)) return false;
    if (!pq) {
        dlv_invalid(e, "%s.Serializer needs ParquetSerDe (the only output format salespipe "
                       "writes)", P);
        return false;
    }
    pq_options_default(&c->parquet);
    json_t *comp = json_object_get(pq, "Compression");
    if (comp && (!json_is_string(comp) || !pq_codec_parse(json_string_value(comp),
                                                           &c->parquet.codec))) {
        dlv_invalid(e, "ParquetSerDe.Compression must be SNAPPY, GZIP, UNCOMPRESSED or ZSTD");
        return false;
    }
    long long block = PQ_BLOCK_SIZE_DEFAULT, page = PQ_PAGE_SIZE_DEFAULT;
    if (!opt_int(pq, "BlockSizeBytes", PQ_BLOCK_SIZE_MIN, &block, "ParquetSerDe", e) ||
        !opt_int(pq, "PageSizeBytes", PQ_PAGE_SIZE_MIN, &page, "ParquetSerDe", e) ||
        !opt_int(pq, "MaxPaddingBytes", 0, &c->max_padding, "ParquetSerDe", e) ||
        !opt_bool(pq, "EnableDictionaryCompression", false, "ParquetSerDe",
                  &c->parquet.dictionary, e))
        return false;
    c->parquet.block_size = (size_t)block;
    c->parquet.page_size = (size_t)page;
    json_t *wv = json_object_get(pq, "WriterVersion");
    if (wv && !(json_is_string(wv) && (!strcmp(json_string_value(wv), "V1") ||
                                       !strcmp(json_string_value(wv), "V2")))) {
        dlv_invalid(e, "ParquetSerDe.WriterVersion must be V1 or V2");
        return false;
    }
    c->parquet.page_v2 = wv && !strcmp(json_string_value(wv), "V2");
    return true;
}

bool dlv_conversion_parse(const json_t *dfcc, dlv_conversion **out, sp_err *e)
{
    *out = NULL;
    if (!dfcc || json_is_null(dfcc)) return true;
    const char *P = "DataFormatConversionConfiguration";
    if (!json_is_object(dfcc)) {
        dlv_invalid(e, "%s must be an object", P);
        return false;
    }
    bool enabled;
    if (!opt_bool(dfcc, "Enabled", true, P, &enabled, e)) return false;
    if (!enabled) return true;  /* kept as given, not applied */
    json_t *sc = member_object(dfcc, "SchemaConfiguration", P, e);
    json_t *ifc = member_object(dfcc, "InputFormatConfiguration", P, e);
    json_t *ofc = member_object(dfcc, "OutputFormatConfiguration", P, e);
    if (sp_err_failed(e)) return false;
    if (!sc || !ifc || !ofc) {
        dlv_invalid(e, "%s needs SchemaConfiguration, InputFormatConfiguration and "
                       "OutputFormatConfiguration when Enabled", P);
        return false;
    }
    const char *db = json_string_value(json_object_get(sc, "DatabaseName"));
    const char *tb = json_string_value(json_object_get(sc, "TableName"));
    if (!db || !*db || !tb || !*tb) {
        dlv_invalid(e, "%s.SchemaConfiguration needs DatabaseName and TableName (the Glue table "
                       "whose columns are the output schema)", P);
        return false;
    }
    const char *ver = json_string_value(json_object_get(sc, "VersionId"));
    if (ver && strcmp(ver, "LATEST")) {
        dlv_invalid(e, "%s.SchemaConfiguration.VersionId '%s': salespipe keeps no table "
                       "versions, only LATEST", P, ver);
        return false;
    }
    dlv_conversion *c = calloc(1, sizeof *c);
    c->database = strdup(db);
    c->table = strdup(tb);
    if (!parse_input(c, ifc, e) || !parse_output(c, ofc, e)) {
        dlv_conversion_free(c);
        return false;
    }
    *out = c;
    return true;
}

/* ---- Hive timestamp formats (Joda-Time patterns) ------------------------------------------ */

/* Parses s by a Joda pattern (the common letters: yyyy MM dd HH mm ss S... Z 'literal',
 * other characters literal); epoch milliseconds UTC into *ms. */
static bool joda_parse(const char *pat, const char *s, int64_t *ms)
{
    int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, off = 0;
    int64_t frac_ms = 0;
    while (*pat) {
        if (*pat == '\'') {
            pat++;
            while (*pat && *pat != '\'') {
                if (*s++ != *pat++) return false;
            }
            if (*pat) pat++;
            continue;
        }
        char ch = *pat;
        int n = 0;
        while (pat[n] == ch) n++;
        if (strchr("yMdHhmsS", ch)) {
            int width = ch == 'y' ? (n == 2 ? 2 : 4) : ch == 'S' ? n : 2;
            int v = 0, got = 0;
            while (got < width && isdigit((unsigned char)s[got])) v = v * 10 + (s[got++] - '0');
            if (got == 0 || (ch != 'S' && got != width && n > 1)) return false;
            s += got;
            switch (ch) {
            case 'y': y = width == 2 ? 2000 + v : v; break;
            case 'M': mo = v; break;
            case 'd': d = v; break;
            case 'H':
            case 'h': h = v; break;
            case 'm': mi = v; break;
            case 's': sec = v; break;
            case 'S':
                for (int k = got; k < 3; k++) v *= 10;
                for (int k = 3; k < got; k++) v /= 10;
                frac_ms = v;
                break;
            }
        } else if (ch == 'Z') {
            if (*s == 'Z') {
                s++;
            } else if (*s == '+' || *s == '-') {
                int sign = *s++ == '-' ? -1 : 1;
                if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return false;
                int oh = (s[0] - '0') * 10 + (s[1] - '0');
                s += 2;
                if (*s == ':') s++;
                int om = 0;
                if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])) {
                    om = (s[0] - '0') * 10 + (s[1] - '0');
                    s += 2;
                }
                off = sign * (oh * 60 + om);
            } else {
                return false;
            }
        } else {
            for (int k = 0; k < n; k++)
                if (*s++ != ch) return false;
        }
        pat += n;
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    /* days from civil (proleptic Gregorian) */
    int yy = y - (mo <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (153u * (unsigned)(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)off * 60) * 1000 + frac_ms;
    return true;
}

/* A Hive timestamp value by the configured formats; NULL (leave as is) when none applies. */
static json_t *hive_timestamp(const dlv_conversion *c, json_t *v)
{
    if (!c->timestamp_formats) return NULL;  /* Timestamp.valueOf: the writer's own parsing */
    size_t i;
    json_t *f;
    json_array_foreach(c->timestamp_formats, i, f) {
        const char *pat = json_string_value(f);
        if (!strcmp(pat, "millis")) {
            if (json_is_integer(v)) return json_incref(v);
            if (json_is_string(v)) {
                char *end;
                long long x = strtoll(json_string_value(v), &end, 10);
                if (*json_string_value(v) && !*end) return json_integer(x);
            }
            continue;
        }
        int64_t ms;
        if (json_is_string(v) && joda_parse(pat, json_string_value(v), &ms))
            return json_integer(ms);
    }
    return NULL;
}

/* ---- records to rows ---------------------------------------------------------------------- */

static void normalise_key(const dlv_conversion *c, const char *k, sp_str *out)
{
    sp_str_reset(out);
    for (const char *p = k; *p; p++) {
        char ch = *p;
        if (c->dots_to_underscores && ch == '.') ch = '_';
        if (c->case_insensitive) ch = (char)tolower((unsigned char)ch);
        sp_str_putc(out, ch);
    }
}

typedef struct dlv_converter {
    const dlv_conversion *c;
    size_t ncols;
    char **names;
    char **types;
    pq_writer *w;
} dlv_converter;

/* Builds a converter for schema columns [[name, type], ...] (borrowed). NULL with e set when a
 * column type cannot be written. */
dlv_converter *dlv_converter_new(const dlv_conversion *c, const json_t *columns, sp_err *e)
{
    dlv_converter *v = calloc(1, sizeof *v);
    v->c = c;
    v->ncols = json_array_size(columns);
    v->names = calloc(v->ncols ? v->ncols : 1, sizeof *v->names);
    v->types = calloc(v->ncols ? v->ncols : 1, sizeof *v->types);
    for (size_t i = 0; i < v->ncols; i++) {
        json_t *col = json_array_get(columns, i);
        v->names[i] = strdup(json_string_value(json_array_get(col, 0)) ?: "");
        v->types[i] = strdup(json_string_value(json_array_get(col, 1)) ?: "");
    }
    v->w = pq_writer_new(v->ncols, (const char *const *)v->names,
                         (const char *const *)v->types, &c->parquet, e);
    if (!v->w) {
        dlv_converter_destroy(v);
        return NULL;
    }
    return v;
}

void dlv_converter_destroy(dlv_converter *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->ncols; i++) {
        free(v->names[i]);
        free(v->types[i]);
    }
    free(v->names);
    free(v->types);
    pq_writer_destroy(v->w);
    free(v);
}

bool dlv_converter_add(dlv_converter *v, const char *data, size_t len, sp_err *e)
{
    const dlv_conversion *c = v->c;
    json_error_t je;
    json_t *doc = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        sp_err_invalid(e, doc ? "the record is not a JSON object" : "the record is not JSON: %s",
                       je.text);
        return false;
    }
    /* The record's members under their deserialised names. */
    json_t *by_name = json_object();
    sp_str key;
    char kb[256];
    sp_str_init(&key, kb, sizeof kb, SP_STR_NO_MAX);
    const char *k;
    json_t *val;
    json_object_foreach(doc, k, val) {
        normalise_key(c, k, &key);
        json_object_set(by_name, key.buf, val);
    }
    json_t **row = calloc(v->ncols ? v->ncols : 1, sizeof *row);
    json_t **owned = calloc(v->ncols ? v->ncols : 1, sizeof *owned);
    for (size_t i = 0; i < v->ncols; i++) {
        const char *src = v->names[i];
        const char *mapped = c->key_map ? json_string_value(json_object_get(c->key_map, src))
                                        : NULL;
        if (mapped) src = mapped;
        normalise_key(c, src, &key);
        row[i] = json_object_get(by_name, key.buf);
        if (c->hive && row[i] && !strcmp(v->types[i], "timestamp")) {
            owned[i] = hive_timestamp(c, row[i]);
            if (owned[i]) row[i] = owned[i];
        }
    }
    bool ok = pq_writer_add(v->w, row, e);
    for (size_t i = 0; i < v->ncols; i++) json_decref(owned[i]);
    free(owned);
    free(row);
    sp_str_release(&key);
    json_decref(by_name);
    json_decref(doc);
    return ok;
}

size_t dlv_converter_rows(const dlv_converter *v) { return pq_writer_rows(v->w); }

char *dlv_converter_finish(dlv_converter *v, size_t *len, sp_err *e)
{
    return (char *)pq_writer_finish(v->w, len, e);
}

/* Firehose's rule: with format conversion the buffer size is at least 64 MiB. salespipe
 * keeps the configured size (a small local test wants small objects) and says so. */
const char *dlv_conversion_buffer_warning(const dlv_def *d)
{
    if (!d->conversion || d->size_mb >= DLV_CONVERSION_BUFFER_MB_MIN) return NULL;
    return "BufferingHints.SizeInMBs is below 64, Firehose's minimum when record format "
           "conversion is enabled (AWS refuses it); salespipe keeps the configured size";
}
