/* The catalog: a Glue database for every database the configuration names (crawler targets
 * and Parquet schema tables), the JSON classifiers, and each crawler with its role (the AWS
 * managed Glue service policy plus read access to the one bucket prefix it crawls). A crawler
 * with no schedule runs on demand, as salespipe's `crawl` does. */
#include "exp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a crawler does with a table whose objects are gone: salespipe keeps tables, so the
 * deployed crawler marks them deprecated rather than dropping them. */
static const char CRAWLER_DELETE_BEHAVIOR[] = "DEPRECATE_IN_DATABASE";

static void database_add(exp_tpl *t, const char *name)
{
    const char *id = exp_id(t, "Database", name);
    if (json_object_get(t->resources, id)) return;
    exp_resource_add(t, id, "AWS::Glue::Database",
                     json_pack("{s:o, s:{s:s}}", "CatalogId", exp_ref("AWS::AccountId"),
                               "DatabaseInput", "Name", name));
}

static void crawler_add(exp_tpl *t, const sp_cfg_crawler *c)
{
    const char *role_id = exp_id(t, "CrawlerRole", c->name);
    const char *bucket_id = exp_id(t, "Bucket", c->bucket);
    char *path = exp_sub_literal(c->path ? c->path : "");
    static const char *const s3_read[] = {"s3:GetObject", NULL};
    static const char *const s3_list[] = {"s3:ListBucket", NULL};
    json_t *statements = json_array();
    json_array_append_new(statements, exp_allow(s3_read, exp_sub("${%s.Arn}/%s*", bucket_id, path)));
    json_array_append_new(statements, exp_allow(s3_list, exp_getatt(bucket_id, "Arn")));
    exp_role_add(t, role_id, "glue.amazonaws.com", "crawler-read-bucket", statements,
                 json_pack("[o]", exp_sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                          "AWSGlueServiceRole")));
    json_t *props = json_pack(
        "{s:s, s:o, s:o, s:{s:[{s:o}]}, s:{s:s, s:s}}", "Name", c->name, "Role",
        exp_getatt(role_id, "Arn"), "DatabaseName", exp_ref(exp_id(t, "Database", c->database)),
        "Targets", "S3Targets", "Path", exp_sub("s3://${%s}/%s", bucket_id, path),
        "SchemaChangePolicy", "UpdateBehavior", c->schema_change_policy,
        "DeleteBehavior", CRAWLER_DELETE_BEHAVIOR);
    if (c->classifier)
        json_object_set_new(props, "Classifiers",
                            json_pack("[o]", exp_ref(exp_id(t, "Classifier", c->classifier))));
    exp_resource_add(t, exp_id(t, "Crawler", c->name), "AWS::Glue::Crawler", props);
    free(path);
}

bool exp_catalog_add(exp_tpl *t, sp_err *e)
{
    (void)e;
    const sp_config *cfg = t->cfg;
    for (size_t i = 0; i < cfg->n_crawlers; i++) database_add(t, cfg->crawlers[i].database);
    for (size_t i = 0; i < cfg->n_deliveries; i++) {
        const sp_cfg_delivery *d = &cfg->deliveries[i];
        if (d->format && !strcmp(d->format, "parquet"))
            database_add(t, d->schema_database ? d->schema_database : "sales_db");
    }
    for (size_t i = 0; i < cfg->n_classifiers; i++) {
        const sp_cfg_classifier *c = &cfg->classifiers[i];
        exp_resource_add(t, exp_id(t, "Classifier", c->name), "AWS::Glue::Classifier",
                         json_pack("{s:{s:s, s:s}}", "JsonClassifier", "Name", c->name,
                                   "JsonPath", c->json_path ? c->json_path : "$"));
    }
    for (size_t i = 0; i < cfg->n_crawlers; i++) crawler_add(t, &cfg->crawlers[i]);
    return true;
}
