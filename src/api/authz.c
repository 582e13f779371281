/* Authorization: the IAM action a request performs ("dynamodb:PutItem", "s3:GetObject",
 * "pipes:StartPipe") and the check of that action against a key's allow list.
 *
 * JSON services name the action by their X-Amz-Target; DynamoDB Streams shares IAM's
 * "dynamodb" prefix. S3 and Pipes are REST: the action follows from method, path and query
 * sub-resource as in the IAM action tables. A REST request that matches no known action is
 * named "<service>:Unknown" so only a wildcard may reach it: unknown is denied, not allowed. */
#include "api_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PIPES_PREFIX "/v1/pipes"
#define TAGS_PREFIX "/tags/"

/* IAM's service prefix for each X-Amz-Target prefix (default: the service's short name). */
static const struct {
    const char *target_prefix;
    const char *iam;
} iam_prefixes[] = {
    {"DynamoDB_20120810", "dynamodb"},  {"DynamoDBStreams_20120810", "dynamodb"},
    {"Kinesis_20131202", "kinesis"},    {"Firehose_20150804", "firehose"},
    {"AWSGlue", "glue"},                {"AmazonAthena", "athena"},
};

bool api_action_match(const char *pattern, const char *action)
{
    const char *p = pattern, *a = action, *star = NULL, *resume = NULL;
    while (*a) {
        if (*p == '*') {
            star = p++;
            resume = a;
        } else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*a))) {
            p++;
            a++;
        } else if (star) {
            p = star + 1;
            a = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return *p == '\0';
}

bool api_credential_allows(const sp_cfg_credential *c, const char *action)
{
    if (!c->allow) return true;
    size_t i;
    json_t *v;
    json_array_foreach(c->allow, i, v) {
        const char *pattern = json_string_value(v);
        if (pattern && api_action_match(pattern, action)) return true;
    }
    return false;
}

void api_action_deny(const sp_cfg_credential *c, const char *action, api_proto proto, sp_err *e)
{
    if (proto == API_PROTO_S3)
        sp_err_set(e, 403, "AccessDenied", "Access Denied: key %s is not allowed to perform %s",
                   c->access_key_id, action);
    else
        sp_err_set(e, 403, "AccessDeniedException", "User: %s is not authorized to perform: %s",
                   c->access_key_id, action);
}

/* Whether the raw query string has the sub-resource name (as "name" or "name=..."). */
static bool has_subresource(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p;) {
        if (!strncmp(p, name, n) && (p[n] == '\0' || p[n] == '=' || p[n] == '&')) return true;
        p = strchr(p, '&');
        if (p) p++;
    }
    return false;
}

static const char *s3_action(const char *method, const char *path, const char *query)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    if (!*p) return !strcmp(method, "GET") || !strcmp(method, "HEAD") ? "ListAllMyBuckets" : NULL;
    const char *slash = strchr(p, '/');
    bool object = slash && slash[1];
    bool read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!object) {
        if (read) {
            if (has_subresource(query, "location")) return "GetBucketLocation";
            if (has_subresource(query, "versioning")) return "GetBucketVersioning";
            if (has_subresource(query, "acl")) return "GetBucketAcl";
            if (has_subresource(query, "tagging")) return "GetBucketTagging";
            if (has_subresource(query, "policy")) return "GetBucketPolicy";
            if (has_subresource(query, "uploads")) return "ListBucketMultipartUploads";
            return "ListBucket";
        }
        if (!strcmp(method, "PUT")) {
            if (has_subresource(query, "acl")) return "PutBucketAcl";
            if (has_subresource(query, "tagging")) return "PutBucketTagging";
            if (has_subresource(query, "policy")) return "PutBucketPolicy";
            if (has_subresource(query, "versioning")) return "PutBucketVersioning";
            return "CreateBucket";
        }
        if (!strcmp(method, "DELETE")) return "DeleteBucket";
        if (!strcmp(method, "POST") && has_subresource(query, "delete")) return "DeleteObject";
        return NULL;
    }
    if (read) {
        if (has_subresource(query, "acl")) return "GetObjectAcl";
        if (has_subresource(query, "tagging")) return "GetObjectTagging";
        if (has_subresource(query, "uploadId")) return "ListMultipartUploadParts";
        return "GetObject";
    }
    if (!strcmp(method, "PUT")) {
        if (has_subresource(query, "acl")) return "PutObjectAcl";
        if (has_subresource(query, "tagging")) return "PutObjectTagging";
        return "PutObject";
    }
    if (!strcmp(method, "DELETE"))
        return has_subresource(query, "uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    if (!strcmp(method, "POST") &&
        (has_subresource(query, "uploads") || has_subresource(query, "uploadId")))
        return "PutObject";
    return NULL;
}

static const char *pipes_action(const char *method, const char *path)
{
    if (!strncmp(path, TAGS_PREFIX, strlen(TAGS_PREFIX))) {
        if (!strcmp(method, "GET")) return "ListTagsForResource";
        if (!strcmp(method, "POST")) return "TagResource";
        if (!strcmp(method, "DELETE")) return "UntagResource";
        return NULL;
    }
    const char *rest = path + strlen(PIPES_PREFIX);
    if (!*rest || !strcmp(rest, "/")) return !strcmp(method, "GET") ? "ListPipes" : NULL;
    const char *name = rest + 1;
    const char *slash = strchr(name, '/');
    if (!slash) {
        if (!strcmp(method, "POST")) return "CreatePipe";
        if (!strcmp(method, "GET")) return "DescribePipe";
        if (!strcmp(method, "PUT")) return "UpdatePipe";
        if (!strcmp(method, "DELETE")) return "DeletePipe";
        return NULL;
    }
    if (!strcmp(method, "POST") && !strcmp(slash, "/start")) return "StartPipe";
    if (!strcmp(method, "POST") && !strcmp(slash, "/stop")) return "StopPipe";
    return NULL;
}

void api_action_of(const api_service *const *services, size_t n_services, const char *method,
                   const char *path, const char *query, const char *target, api_action *out)
{
    memset(out, 0, sizeof *out);
    if (target && !strcmp(method, "POST")) {
        /* As the dispatcher routes it: the prefix before the last dot names the service. */
        out->proto = API_PROTO_JSON;
        const char *dot = strrchr(target, '.');
        for (size_t i = 0; dot && i < n_services; i++) {
            const char *p = services[i]->target_prefix;
            if (strlen(p) == (size_t)(dot - target) && !strncmp(p, target, strlen(p)))
                out->svc = services[i];
        }
        if (!out->svc) return;
        const char *iam = out->svc->name;
        for (size_t i = 0; i < SP_ARRAY_LEN(iam_prefixes); i++)
            if (!strcmp(iam_prefixes[i].target_prefix, out->svc->target_prefix))
                iam = iam_prefixes[i].iam;
        snprintf(out->name, sizeof out->name, "%s:%.100s", iam, dot + 1);
        return;
    }
    bool pipes = (!strncmp(path, PIPES_PREFIX, strlen(PIPES_PREFIX)) &&
                  (path[strlen(PIPES_PREFIX)] == '\0' || path[strlen(PIPES_PREFIX)] == '/')) ||
                 !strncmp(path, TAGS_PREFIX, strlen(TAGS_PREFIX));
    const char *action = pipes ? pipes_action(method, path) : s3_action(method, path, query);
    out->proto = pipes ? API_PROTO_REST_JSON : API_PROTO_S3;
    snprintf(out->name, sizeof out->name, "%s:%s", pipes ? "pipes" : "s3",
             action ? action : "Unknown");
}
