/* Glue classifiers and crawlers through the API: the configuration's ones (read-only) next
 * to the ones CreateClassifier/CreateCrawler persisted in the catalog, in the shapes of
 * botocore's glue model (Classifier.JsonClassifier, Crawler with State and LastCrawl), and
 * the crawl thread StartCrawler hands its runs to: State is RUNNING from StartCrawler until
 * the run is recorded, then READY with LastCrawl from the catalog's run history. */
#include "glue_int.h"

#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char ROLE_CONFIGURED[] = "arn:aws:iam::" GLUE_ACCOUNT_ID ":role/salespipe-crawler";
static const char LOG_GROUP[] = "/aws-glue/crawlers";
static const char S3_SCHEME[] = "s3://";

/* ---- classifiers ------------------------------------------------------------------------ */

/* Every classifier as {"Name","JsonPath","CreatedMs","UpdatedMs","Version","Configured"},
 * sorted by name. */
static json_t *all_classifiers(cat_glue *g, sp_err *e)
{
    json_t *stored = cat_definition_list(g->cat, "classifier", e);
    if (!stored) return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < g->cfg->n_classifiers; i++) {
        const sp_cfg_classifier *c = &g->cfg->classifiers[i];
        json_array_append_new(all, json_pack("{s:s, s:s, s:I, s:I, s:i, s:b}", "Name", c->name,
                                             "JsonPath", c->json_path ? c->json_path : "$",
                                             "CreatedMs", (json_int_t)g->created_ms, "UpdatedMs",
                                             (json_int_t)g->created_ms, "Version", 1,
                                             "Configured", 1));
    }
    size_t i;
    json_t *d;
    json_array_foreach(stored, i, d) {
        json_t *body = json_object_get(d, "Body");
        json_array_append_new(all, json_pack("{s:O, s:O, s:O, s:O, s:O, s:b}", "Name",
                                             json_object_get(d, "Name"), "JsonPath",
                                             json_object_get(body, "JsonPath"), "CreatedMs",
                                             json_object_get(d, "CreatedMs"), "UpdatedMs",
                                             json_object_get(d, "UpdatedMs"), "Version",
                                             json_object_get(d, "Version"), "Configured", 0));
    }
    json_decref(stored);
    /* few classifiers: insertion sort by name */
    size_t n = json_array_size(all);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(glue_key_name(json_array_get(all, b - 1)),
                                           glue_key_name(json_array_get(all, b))) > 0;
             b--) {
            json_t *x = json_incref(json_array_get(all, b));
            json_array_set(all, b, json_array_get(all, b - 1));
            json_array_set_new(all, b - 1, x);
        }
    return all;
}

static json_t *find_named(json_t *all, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach(all, i, x) if (!strcmp(glue_key_name(x), name)) return x;
    return NULL;
}

static json_t *classifier_json(const json_t *c)
{
    return json_pack("{s:{s:O, s:o, s:o, s:O, s:O}}", "JsonClassifier", "Name",
                     json_object_get(c, "Name"), "CreationTime",
                     glue_time(json_integer_value(json_object_get(c, "CreatedMs"))),
                     "LastUpdated",
                     glue_time(json_integer_value(json_object_get(c, "UpdatedMs"))), "Version",
                     json_object_get(c, "Version"), "JsonPath", json_object_get(c, "JsonPath"));
}

json_t *glue_create_classifier(cat_glue *g, json_t *req, sp_err *e)
{
    static const char *const other[] = {"GrokClassifier", "XMLClassifier", "CsvClassifier"};
    for (size_t i = 0; i < SP_ARRAY_LEN(other); i++)
        if (json_object_get(req, other[i])) {
            glue_invalid(e, "CreateClassifier: salespipe supports JsonClassifier only, not %s",
                         other[i]);
            return NULL;
        }
    json_t *jc = sp_json_object(req, "JsonClassifier", false, e);
    if (sp_err_failed(e)) return NULL;
    if (!jc) {
        glue_invalid(e, "CreateClassifier: JsonClassifier is required");
        return NULL;
    }
    const char *name = glue_name(jc, "Name", true, e);
    const char *path = name ? sp_json_str(jc, "JsonPath", true, e) : NULL;
    if (!path) return NULL;
    cat_jsonpath *p = cat_jsonpath_compile(path, e);
    if (!p) return NULL;
    cat_jsonpath_destroy(p);
    if (sp_config_classifier(g->cfg, name)) {
        sp_err_set(e, 400, "AlreadyExistsException", "Classifier %s already exists.", name);
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:s}", "Name", name, "JsonPath", path);
    bool ok = cat_definition_create(g->cat, "classifier", name, body, e);
    json_decref(body);
    return ok ? json_object() : NULL;
}

json_t *glue_get_classifier(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    if (!name) return NULL;
    json_t *all = all_classifiers(g, e);
    if (!all) return NULL;
    json_t *c = find_named(all, name), *out = NULL;
    if (c)
        out = json_pack("{s:o}", "Classifier", classifier_json(c));
    else
        sp_err_set(e, 400, "EntityNotFoundException", "Classifier %s not found", name);
    json_decref(all);
    return out;
}

json_t *glue_get_classifiers(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *all = all_classifiers(g, e);
    if (!all) return NULL;
    json_t *items = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) json_array_append_new(items, classifier_json(c));
    json_decref(all);
    /* paged by name, which sits one level down in each item */
    json_t *keyed = json_array();
    json_array_foreach(items, i, c) {
        json_t *k = json_deep_copy(c);
        json_object_set(k, "Name", json_object_get(json_object_get(c, "JsonClassifier"), "Name"));
        json_array_append_new(keyed, k);
    }
    json_decref(items);
    json_t *out = glue_page(keyed, glue_key_name, req, "GetClassifiers", GLUE_PAGE_MAX,
                            "Classifiers", e);
    json_array_foreach(json_object_get(out, "Classifiers"), i, c) json_object_del(c, "Name");
    return out;
}

json_t *glue_delete_classifier(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    if (!name) return NULL;
    if (sp_config_classifier(g->cfg, name)) {
        glue_invalid(e, "Classifier %s is defined in the configuration (%s); remove it there",
                     name, g->cfg->source ? g->cfg->source : "defaults");
        return NULL;
    }
    return cat_definition_delete(g->cat, "classifier", name, e) ? json_object() : NULL;
}

/* ---- crawler definitions ---------------------------------------------------------------- */

/* A configured crawler in the shape CreateCrawler stores. */
static json_t *configured_crawler(const sp_cfg_crawler *c)
{
    sp_str path;
    char buf[512];
    sp_str_init(&path, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_appendf(&path, "%s%s/%s", S3_SCHEME, c->bucket, c->path ? c->path : "");
    json_t *classifiers = json_array();
    if (c->classifier) json_array_append_new(classifiers, json_string(c->classifier));
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:{s:[{s:s, s:[]}]}, s:o, s:{s:s, s:s}}", "Name", c->name, "Role",
        ROLE_CONFIGURED, "DatabaseName", c->database, "Targets", "S3Targets", "Path", path.buf,
        "Exclusions", "Classifiers", classifiers, "SchemaChangePolicy", "UpdateBehavior",
        c->schema_change_policy ? c->schema_change_policy : "UPDATE_IN_DATABASE",
        "DeleteBehavior", "DEPRECATE_IN_DATABASE");
    sp_str_release(&path);
    return body;
}

/* Every crawler as {"Name","Body","CreatedMs","UpdatedMs","Version","Configured"}, sorted. */
static json_t *all_crawlers(cat_glue *g, sp_err *e)
{
    json_t *stored = cat_definition_list(g->cat, "crawler", e);
    if (!stored) return NULL;
    json_t *all = json_array();
    size_t i, j;
    json_t *d;
    for (size_t c = 0; c < g->cfg->n_crawlers; c++) {
        json_t *item = json_pack("{s:s, s:o, s:I, s:I, s:i, s:b}", "Name",
                                 g->cfg->crawlers[c].name, "Body",
                                 configured_crawler(&g->cfg->crawlers[c]), "CreatedMs",
                                 (json_int_t)g->created_ms, "UpdatedMs",
                                 (json_int_t)g->created_ms, "Version", 1, "Configured", 1);
        /* keep name order: insert before the first larger configured name */
        for (j = 0; j < json_array_size(all) &&
                    strcmp(glue_key_name(json_array_get(all, j)), g->cfg->crawlers[c].name) < 0;
             j++) {
        }
        json_array_insert_new(all, j, item);
    }
    json_array_foreach(stored, i, d) {
        for (j = 0; j < json_array_size(all) &&
                    strcmp(glue_key_name(json_array_get(all, j)), glue_key_name(d)) < 0;
             j++) {
        }
        json_object_set_new(d, "Configured", json_false());
        json_array_insert(all, j, d);
    }
    json_decref(stored);
    return all;
}

static glue_job *job_of(cat_glue *g, const char *name)
{
    for (glue_job *j = g->jobs; j; j = j->next)
        if (!strcmp(j->name, name)) return j;
    return NULL;
}

static json_t *last_crawl_json(const char *name, const json_t *run)
{
    const json_t *lc = json_object_get(run, "LastCrawl");
    json_int_t start = json_integer_value(json_object_get(lc, "StartTime"));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%lld", (long long)start);
    json_t *out = json_pack("{s:O, s:o, s:s, s:s, s:s}", "Status", json_object_get(lc, "Status"),
                            "StartTime", glue_time(start), "LogGroup", LOG_GROUP, "LogStream",
                            name, "MessagePrefix", prefix);
    json_t *err = json_object_get(lc, "ErrorMessage");
    if (json_is_string(err)) json_object_set(out, "ErrorMessage", err);
    return out;
}

static json_t *crawler_json(cat_glue *g, const json_t *def, sp_err *e)
{
    const char *name = glue_key_name(def);
    const json_t *body = json_object_get(def, "Body");
    json_t *run = cat_crawler_last_run(g->cat, name, e);
    if (!run && sp_err_failed(e)) return NULL;
    glue_job *job = job_of(g, name);
    const char *recrawl = json_string_value(
        json_object_get(json_object_get(body, "RecrawlPolicy"), "RecrawlBehavior"));
    json_t *targets = json_pack("{s:O, s:[], s:[], s:[], s:[], s:[]}", "S3Targets",
                                json_object_get(json_object_get(body, "Targets"), "S3Targets"),
                                "JdbcTargets", "MongoDBTargets", "DynamoDBTargets",
                                "CatalogTargets", "DeltaTargets");
    json_t *out = json_pack(
        "{s:s, s:O, s:o, s:O, s:O, s:O, s:{s:s}, s:{s:s}, s:s, s:I, s:o, s:o, s:O, "
        "s:{s:b, s:s}}",
        "Name", name, "Role", json_object_get(body, "Role"), "Targets", targets, "DatabaseName",
        json_object_get(body, "DatabaseName"), "Classifiers", json_object_get(body, "Classifiers"),
        "SchemaChangePolicy", json_object_get(body, "SchemaChangePolicy"), "RecrawlPolicy",
        "RecrawlBehavior", recrawl ? recrawl : "CRAWL_EVERYTHING", "LineageConfiguration",
        "CrawlerLineageSettings", "DISABLE", "State",
        !job ? "READY" : atomic_load(&job->stop) ? "STOPPING" : "RUNNING", "CrawlElapsedTime",
        (json_int_t)(job && job->running ? sp_clock_wall_ms() - job->started_ms : 0),
        "CreationTime", glue_time(json_integer_value(json_object_get(def, "CreatedMs"))),
        "LastUpdated", glue_time(json_integer_value(json_object_get(def, "UpdatedMs"))),
        "Version", json_object_get(def, "Version"), "LakeFormationConfiguration",
        "UseLakeFormationCredentials", 0, "AccountId", "");
    json_t *desc = json_object_get(body, "Description");
    if (json_is_string(desc)) json_object_set(out, "Description", desc);
    const char *keep[] = {"TablePrefix", "Configuration"};
    for (size_t i = 0; i < SP_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(body, keep[i]);
        if (json_is_string(v)) json_object_set(out, keep[i], v);
    }
    const char *cron = json_string_value(json_object_get(body, "Schedule"));
    if (cron)
        json_object_set_new(out, "Schedule", json_pack("{s:s, s:s}", "ScheduleExpression", cron,
                                                       "State", "SCHEDULED"));
    if (run) json_object_set_new(out, "LastCrawl", last_crawl_json(name, run));
    json_decref(run);
    return out;
}

/* Checks and normalises a CreateCrawler request (or an UpdateCrawler one merged into the
 * stored body) into the stored body; op names the operation in messages. */
static json_t *crawler_body(cat_glue *g, const json_t *req, const char *op, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    const char *role = name ? sp_json_str(req, "Role", true, e) : NULL;
    const char *db = role ? glue_name(req, "DatabaseName", false, e) : NULL;
    json_t *targets = role ? sp_json_object(req, "Targets", true, e) : NULL;
    const char *desc = sp_json_str(req, "Description", false, e);
    json_t *classifiers = sp_json_array(req, "Classifiers", false, e);
    json_t *policy = sp_json_object(req, "SchemaChangePolicy", false, e);
    const char *table_prefix = sp_json_str(req, "TablePrefix", false, e);
    const char *schedule = sp_json_str(req, "Schedule", false, e);
    json_t *recrawl = sp_json_object(req, "RecrawlPolicy", false, e);
    const char *config = sp_json_str(req, "Configuration", false, e);
    const char *recrawl_b = recrawl ? sp_json_str(recrawl, "RecrawlBehavior", false, e) : NULL;
    if (sp_err_failed(e)) return NULL;
    if (!db) {
        glue_invalid(e, "%s: DatabaseName is required: the crawler writes its tables there", op);
        return NULL;
    }
    if (table_prefix && (strlen(table_prefix) > CAT_TABLE_PREFIX_MAX ||
                         strcspn(table_prefix, "/\n\r`") != strlen(table_prefix))) {
        glue_invalid(e, "%s: TablePrefix must be at most %d characters, without '/', '`' or "
                        "line breaks",
                     op, CAT_TABLE_PREFIX_MAX);
        return NULL;
    }
    if (schedule && *schedule && !cat_cron_valid(schedule, e)) return NULL;
    if (recrawl_b && strcmp(recrawl_b, "CRAWL_EVERYTHING") &&
        strcmp(recrawl_b, "CRAWL_NEW_FOLDERS_ONLY")) {
        glue_invalid(e, "%s: RecrawlPolicy.RecrawlBehavior must be CRAWL_EVERYTHING or "
                        "CRAWL_NEW_FOLDERS_ONLY (CRAWL_EVENT_MODE needs an SQS queue, which "
                        "salespipe does not have)",
                     op);
        return NULL;
    }
    if (config && *config) {
        json_t *cj = json_loads(config, 0, NULL);
        bool obj = json_is_object(cj);
        json_decref(cj);
        if (!obj) {
            glue_invalid(e, "%s: Configuration must be a JSON object in a string", op);
            return NULL;
        }
    }
    const char *kinds[] = {"JdbcTargets", "MongoDBTargets", "DynamoDBTargets", "CatalogTargets",
                           "DeltaTargets", "IcebergTargets", "HudiTargets"};
    for (size_t i = 0; i < SP_ARRAY_LEN(kinds); i++)
        if (json_array_size(json_object_get(targets, kinds[i]))) {
            glue_invalid(e, "%s: salespipe crawls S3Targets only, not %s", op, kinds[i]);
            return NULL;
        }
    json_t *s3 = sp_json_array(targets, "S3Targets", false, e);
    if (sp_err_failed(e)) return NULL;
    if (!json_array_size(s3)) {
        glue_invalid(e, "%s: Targets.S3Targets must name at least one s3:// path", op);
        return NULL;
    }
    json_t *norm = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(s3, i, t) {
        const char *path = sp_json_str(t, "Path", true, e);
        json_t *excl = sp_json_array(t, "Exclusions", false, e);
        if (sp_err_failed(e)) break;
        char bucket[64] = "";
        const char *rest = strncmp(path, S3_SCHEME, strlen(S3_SCHEME)) ? NULL
                                                                        : path + strlen(S3_SCHEME);
        size_t blen = rest ? strcspn(rest, "/") : 0;
        if (rest && blen < sizeof bucket) {
            memcpy(bucket, rest, blen);
            bucket[blen] = '\0';
        }
        if (!rest || !lake_bucket_name_valid(bucket)) {
            glue_invalid(e, "%s: S3Targets[%zu].Path '%s' is not s3://bucket/prefix", op, i,
                         path);
            break;
        }
        json_t *patterns = json_array();
        size_t k;
        json_t *x;
        json_array_foreach(excl, k, x) {
            cat_glob *gl = json_is_string(x) ? cat_glob_compile(json_string_value(x), e) : NULL;
            if (!gl) {
                if (!sp_err_failed(e))
                    glue_invalid(e, "%s: S3Targets[%zu].Exclusions[%zu] must be a string", op, i,
                                 k);
                break;
            }
            cat_glob_destroy(gl);
            json_array_append(patterns, x);
        }
        if (sp_err_failed(e)) {
            json_decref(patterns);
            break;
        }
        json_array_append_new(norm, json_pack("{s:s, s:o}", "Path", path, "Exclusions", patterns));
    }
    if (sp_err_failed(e)) {
        json_decref(norm);
        return NULL;
    }
    json_t *cl_names = json_array();
    json_t *all_cl = all_classifiers(g, e);
    json_array_foreach(classifiers, i, t) {
        if (!json_is_string(t)) {
            glue_invalid(e, "%s: Classifiers must be names", op);
            break;
        }
        if (all_cl && !find_named(all_cl, json_string_value(t))) {
            sp_err_set(e, 400, "EntityNotFoundException", "Classifier %s not found",
                       json_string_value(t));
            break;
        }
        json_array_append(cl_names, t);
    }
    json_decref(all_cl);
    const char *update = policy ? sp_json_str(policy, "UpdateBehavior", false, e) : NULL;
    const char *del = policy ? sp_json_str(policy, "DeleteBehavior", false, e) : NULL;
    if (!sp_err_failed(e) && update && strcmp(update, "LOG") && strcmp(update, "UPDATE_IN_DATABASE"))
        glue_invalid(e, "SchemaChangePolicy.UpdateBehavior must be LOG or UPDATE_IN_DATABASE");
    if (sp_err_failed(e)) {
        json_decref(norm);
        json_decref(cl_names);
        return NULL;
    }
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:{s:o}, s:o, s:{s:s, s:s}}", "Name", name, "Role", role,
        "DatabaseName", db, "Targets", "S3Targets", norm, "Classifiers", cl_names,
        "SchemaChangePolicy", "UpdateBehavior", update ? update : "UPDATE_IN_DATABASE",
        "DeleteBehavior", del ? del : "DEPRECATE_IN_DATABASE");
    if (desc) json_object_set_new(body, "Description", json_string(desc));
    if (table_prefix && *table_prefix) {
        char lp[CAT_TABLE_PREFIX_MAX + 1];
        size_t n = strlen(table_prefix);
        for (size_t c = 0; c <= n; c++) lp[c] = (char)tolower((unsigned char)table_prefix[c]);
        json_object_set_new(body, "TablePrefix", json_string(lp));
    }
    if (schedule && *schedule) json_object_set_new(body, "Schedule", json_string(schedule));
    json_object_set_new(body, "RecrawlPolicy",
                        json_pack("{s:s}", "RecrawlBehavior",
                                  recrawl_b ? recrawl_b : "CRAWL_EVERYTHING"));
    if (config && *config) json_object_set_new(body, "Configuration", json_string(config));
    return body;
}

json_t *glue_create_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *body = crawler_body(g, req, "CreateCrawler", e);
    if (!body) return NULL;
    const char *name = glue_key_name(body);
    bool ok;
    if (sp_config_crawler(g->cfg, name)) {
        sp_err_set(e, 400, "AlreadyExistsException", "Crawler %s already exists.", name);
        ok = false;
    } else {
        ok = cat_definition_create(g->cat, "crawler", name, body, e);
    }
    json_decref(body);
    return ok ? json_object() : NULL;
}

/* The definition of a crawler (new reference) or NULL with EntityNotFoundException. */
static json_t *crawler_def(cat_glue *g, const char *name, sp_err *e)
{
    json_t *all = all_crawlers(g, e);
    if (!all) return NULL;
    json_t *d = json_incref(find_named(all, name));
    json_decref(all);
    if (!d) sp_err_set(e, 400, "EntityNotFoundException", "Crawler entry with name %s does not exist", name);
    return d;
}

json_t *glue_get_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    json_t *def = name ? crawler_def(g, name, e) : NULL;
    if (!def) return NULL;
    json_t *c = crawler_json(g, def, e);
    json_decref(def);
    return c ? json_pack("{s:o}", "Crawler", c) : NULL;
}

json_t *glue_get_crawlers(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *all = all_crawlers(g, e);
    if (!all) return NULL;
    json_t *items = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d) {
        json_t *c = crawler_json(g, d, e);
        if (!c) break;
        json_array_append_new(items, c);
    }
    json_decref(all);
    if (sp_err_failed(e)) {
        json_decref(items);
        return NULL;
    }
    return glue_page(items, glue_key_name, req, "GetCrawlers", GLUE_PAGE_MAX, "Crawlers", e);
}

json_t *glue_delete_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    if (!name) return NULL;
    if (sp_config_crawler(g->cfg, name)) {
        glue_invalid(e, "Crawler %s is defined in the configuration (%s); remove it there", name,
                     g->cfg->source ? g->cfg->source : "defaults");
        return NULL;
    }
    if (job_of(g, name)) {
        sp_err_set(e, 400, "CrawlerRunningException", "Crawler with name %s is running", name);
        return NULL;
    }
    return cat_definition_delete(g->cat, "crawler", name, e) ? json_object() : NULL;
}

json_t *glue_get_crawler_metrics(cat_glue *g, json_t *req, sp_err *e)
{
    json_t *names = sp_json_array(req, "CrawlerNameList", false, e);
    if (sp_err_failed(e)) return NULL;
    json_t *all = all_crawlers(g, e);
    if (!all) return NULL;
    json_t *items = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d) {
        const char *name = glue_key_name(d);
        bool wanted = !json_array_size(names);
        size_t k;
        json_t *n;
        json_array_foreach(names, k, n) wanted |= json_is_string(n) && !strcmp(json_string_value(n), name);
        if (!wanted) continue;
        json_t *run = cat_crawler_last_run(g->cat, name, e);
        if (!run && sp_err_failed(e)) break;
        const json_t *lc = json_object_get(run, "LastCrawl"), *counts = json_object_get(run, "Counts");
        double secs = (double)(json_integer_value(json_object_get(lc, "EndTime")) -
                               json_integer_value(json_object_get(lc, "StartTime"))) / 1000.0;
        glue_job *job = job_of(g, name);
        json_array_append_new(
            items, json_pack("{s:s, s:f, s:b, s:f, s:f, s:I, s:I, s:i}", "CrawlerName", name,
                             "TimeLeftSeconds", 0.0, "StillEstimating", job != NULL,
                             "LastRuntimeSeconds", secs, "MedianRuntimeSeconds", secs,
                             "TablesCreated",
                             json_integer_value(json_object_get(counts, "TablesCreated")),
                             "TablesUpdated",
                             json_integer_value(json_object_get(counts, "TablesUpdated")),
                             "TablesDeleted", 0));
        json_decref(run);
    }
    json_decref(all);
    if (sp_err_failed(e)) {
        json_decref(items);
        return NULL;
    }
    /* pages by crawler name */
    json_array_foreach(items, i, d) json_object_set(d, "Name", json_object_get(d, "CrawlerName"));
    json_t *out = glue_page(items, glue_key_name, req, "GetCrawlerMetrics", GLUE_PAGE_MAX,
                            "CrawlerMetricsList", e);
    json_array_foreach(json_object_get(out, "CrawlerMetricsList"), i, d) json_object_del(d, "Name");
    return out;
}

/* ---- running crawls --------------------------------------------------------------------- */

void glue_job_free(glue_job *j)
{
    if (!j) return;
    for (size_t i = 0; i < j->n_targets; i++) {
        free(j->targets[i].name);
        free(j->targets[i].database);
        free(j->targets[i].bucket);
        free(j->targets[i].path);
        free(j->targets[i].classifier);
        free(j->targets[i].schema_change_policy);
    }
    free(j->targets);
    json_decref(j->exclusions);
    free(j->table_prefix);
    free(j->classifier.name);
    free(j->classifier.json_path);
    free(j->name);
    free(j);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* A job for the crawler: its targets as crawler configs and its first known classifier. */
static glue_job *job_new(cat_glue *g, const json_t *def, sp_err *e)
{
    const json_t *body = json_object_get(def, "Body");
    json_t *all_cl = all_classifiers(g, e);
    if (!all_cl) return NULL;
    glue_job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->name = strdup(glue_key_name(def));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(body, "Classifiers"), i, x) {
        json_t *c = find_named(all_cl, json_string_value(x));
        if (!c) continue;
        j->classifier.name = strdup(glue_key_name(c));
        j->classifier.json_path = strdup(json_string_value(json_object_get(c, "JsonPath")));
        break;
    }
    json_decref(all_cl);
    const json_t *s3 = json_object_get(json_object_get(body, "Targets"), "S3Targets");
    j->targets = calloc(json_array_size(s3) + 1, sizeof *j->targets);
    if (!j->targets) abort();
    j->exclusions = json_array();
    j->table_prefix = dup_or_null(json_string_value(json_object_get(body, "TablePrefix")));
    atomic_init(&j->stop, false);
    j->object_delay_ms = g->object_delay_ms;
    json_array_foreach(s3, i, x) {
        json_t *ex = json_object_get(x, "Exclusions");
        json_array_append_new(j->exclusions, json_is_array(ex) ? json_deep_copy(ex) : json_array());
        const char *path = json_string_value(json_object_get(x, "Path")) + strlen(S3_SCHEME);
        size_t blen = strcspn(path, "/");
        sp_cfg_crawler *t = &j->targets[j->n_targets++];
        t->name = strdup(j->name);
        t->database = dup_or_null(json_string_value(json_object_get(body, "DatabaseName")));
        t->bucket = strndup(path, blen);
        t->path = strdup(path[blen] ? path + blen + 1 : "");
        t->classifier = dup_or_null(j->classifier.name);
        t->schema_change_policy = dup_or_null(json_string_value(
            json_object_get(json_object_get(body, "SchemaChangePolicy"), "UpdateBehavior")));
    }
    return j;
}

json_t *glue_start_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    json_t *def = name ? crawler_def(g, name, e) : NULL;
    if (!def) return NULL;
    if (job_of(g, name)) {
        json_decref(def);
        sp_err_set(e, 400, "CrawlerRunningException", "Crawler with name %s has already started",
                   name);
        return NULL;
    }
    glue_job *j = job_new(g, def, e);
    json_decref(def);
    if (!j) return NULL;
    glue_job **tail = &g->jobs;
    while (*tail) tail = &(*tail)->next;
    *tail = j;
    pthread_cond_broadcast(&g->wake);
    return json_object();
}

/* Asked by the crawl between objects. */
static bool job_stopped(void *arg)
{
    glue_job *j = arg;
    if (j->object_delay_ms > 0 && !atomic_load(&j->stop)) {
        struct timespec d = {.tv_sec = j->object_delay_ms / 1000,
                             .tv_nsec = (j->object_delay_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
    }
    return atomic_load(&j->stop);
}

/* Runs one job on its own catalog connection; the runs are recorded by cat_crawl. */
static void run_job(cat_glue *g, glue_job *j)
{
    sp_err e = {0};
    cat_catalog *cat = cat_catalog_reopen(g->cat, &e);
    if (!cat) {
        sp_warn("crawler %s: %s", j->name, e.msg);
        return;
    }
    for (size_t i = 0; i < j->n_targets; i++) {
        const json_t *patterns = json_array_get(j->exclusions, i);
        size_t n_globs = 0;
        cat_glob **globs = calloc(json_array_size(patterns) + 1, sizeof *globs);
        if (!globs) abort();
        size_t k;
        json_t *x;
        json_array_foreach(patterns, k, x) {
            sp_err ge = {0}; /* checked by CreateCrawler/UpdateCrawler */
            cat_glob *gl = cat_glob_compile(json_string_value(x), &ge);
            if (gl) globs[n_globs++] = gl;
        }
        cat_crawl_report rep = {.stop = job_stopped, .stop_arg = j,
                                .exclusions = (const cat_glob *const *)globs,
                                .n_exclusions = n_globs, .table_prefix = j->table_prefix};
        bool ok = cat_crawl(cat, g->lk, &j->targets[i],
                            j->classifier.name ? &j->classifier : NULL, &rep, &e);
        for (k = 0; k < n_globs; k++) cat_glob_destroy(globs[k]);
        free(globs);
        bool stopped = rep.stopped;
        if (ok)
            sp_info("crawler %s: s3://%s/%s: %zu tables created, %zu updated, %zu partitions "
                    "added, %zu objects read",
                    j->name, j->targets[i].bucket, j->targets[i].path, rep.tables_created,
                    rep.tables_updated, rep.partitions_added, rep.objects_read);
        else
            sp_warn("crawler %s failed: %s", j->name, e.msg);
        cat_crawl_report_clear(&rep);
        if (!ok || stopped) break;
    }
    cat_catalog_close(cat);
}

void *glue_crawl_thread(void *arg)
{
    cat_glue *g = arg;
    pthread_mutex_lock(&g->lock);
    for (;;) {
        while (!g->stopping && !g->jobs) pthread_cond_wait(&g->wake, &g->lock);
        if (g->stopping) break;
        glue_job *j = g->jobs;
        j->running = true;
        j->started_ms = sp_clock_wall_ms();
        pthread_mutex_unlock(&g->lock);
        run_job(g, j);
        pthread_mutex_lock(&g->lock);
        if (atomic_load(&j->stop) && g->stop_linger_ms > 0 && !g->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += g->stop_linger_ms / 1000;
            until.tv_nsec += (g->stop_linger_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
            while (!g->stopping &&
                   pthread_cond_timedwait(&g->wake, &g->lock, &until) != ETIMEDOUT) {
            }
        }
        g->jobs = j->next;
        glue_job_free(j);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ---- changing and stopping crawlers ----------------------------------------------------- */

json_t *glue_update_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    json_t *def = name ? crawler_def(g, name, e) : NULL;
    if (!def) return NULL;
    if (json_is_true(json_object_get(def, "Configured"))) {
        json_decref(def);
        glue_invalid(e, "Crawler %s is defined in the configuration (%s); change it there", name,
                     g->cfg->source ? g->cfg->source : "defaults");
        return NULL;
    }
    if (job_of(g, name)) {
        json_decref(def);
        sp_err_set(e, 400, "CrawlerRunningException",
                   "Cannot update Crawler while running. Please stop crawl or wait until it "
                   "completes to update.");
        return NULL;
    }
    /* what the request names replaces the stored member; the rest stays */
    json_t *merged = json_deep_copy(json_object_get(def, "Body"));
    json_decref(def);
    static const char *const members[] = {"Role", "DatabaseName", "Description", "Targets",
                                          "Classifiers", "SchemaChangePolicy", "RecrawlPolicy",
                                          "Configuration", "TablePrefix", "Schedule"};
    for (size_t i = 0; i < SP_ARRAY_LEN(members); i++) {
        json_t *v = json_object_get(req, members[i]);
        if (v && !json_is_null(v)) json_object_set(merged, members[i], v);
    }
    /* an empty Schedule or TablePrefix removes it */
    json_t *body = crawler_body(g, merged, "UpdateCrawler", e);
    json_decref(merged);
    if (!body) return NULL;
    bool ok = cat_definition_update(g->cat, "crawler", name, body, e);
    json_decref(body);
    return ok ? json_object() : NULL;
}

json_t *glue_stop_crawler(cat_glue *g, json_t *req, sp_err *e)
{
    const char *name = glue_name(req, "Name", true, e);
    json_t *def = name ? crawler_def(g, name, e) : NULL;
    if (!def) return NULL;
    json_decref(def);
    glue_job *j = job_of(g, name);
    if (!j) {
        sp_err_set(e, 400, "CrawlerNotRunningException", "Crawler with name %s isn't running.",
                   name);
        return NULL;
    }
    if (atomic_load(&j->stop)) {
        sp_err_set(e, 400, "CrawlerStoppingException", "Crawler with name %s is stopping.",
                   name);
        return NULL;
    }
    atomic_store(&j->stop, true);
    return json_object();
}
