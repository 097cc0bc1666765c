/*
 * The schemas of the four kinds: every field of SPEC §2 with its type, bounds, default and
 * description, and the rules that span fields (in C, and in CEL for the CRDs).
 *
 * To add a field: add the member to the struct in model.h, add a row to the object's table
 * here, regenerate crds/ (make crds), and add a valid example and a bad manifest to the tests.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "model_internal.h"
#include "schedule.h"

#define NFIELDS(a)     (sizeof(a) / sizeof((a)[0]))
#define BOUNDS(lo, hi) .bounds = TT_HAS_MIN | TT_HAS_MAX, .min = (lo), .max = (hi)
#define AT_LEAST(lo)   .bounds = TT_HAS_MIN, .min = (lo)
#define MORE_THAN(lo)  .bounds = TT_HAS_MIN | TT_EXCL_MIN, .min = (lo)
#define MORE_THAN_AT_MOST(lo, hi) \
    .bounds = TT_HAS_MIN | TT_EXCL_MIN | TT_HAS_MAX, .min = (lo), .max = (hi)
#define DEFAULT_NUM(x)  .has_default = true, .def_num = (x)
#define DEFAULT_STR(x)  .has_default = true, .def_str = (x)
#define SCHEMA(st, tbl) .size = sizeof(st), .fields = (tbl), .nfields = NFIELDS(tbl)

/* ---- string rules (each mirrors the CRD pattern written beside its field) --------------- */

static int all_chars(const char *s, const char *extra, int upper)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(isdigit(c) || (c >= 'a' && c <= 'z') || (upper && c >= 'A' && c <= 'Z') ||
              strchr(extra, c) != NULL))
            return 0;
    }
    return 1;
}

#define DNS_LABEL_PATTERN "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

const char *tt_check_dns_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !all_chars(s, "-", 0) || s[0] == '-' || s[n - 1] == '-')
        return "must be a DNS label: lower-case letters, digits and '-', starting and ending "
               "with a letter or digit, at most 63 characters";
    return NULL;
}

/* A DNS-1123 subdomain: dot-separated labels, each starting and ending with a letter or digit. */
const char *tt_check_k8s_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253 || !all_chars(s, "-.", 0) || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]) || strstr(s, "..") != NULL || strstr(s, ".-") != NULL ||
        strstr(s, "-.") != NULL)
        return "must be a Kubernetes name: lower-case letters, digits, '-' and '.', each "
               "dot-separated part starting and ending with a letter or digit, at most 253 "
               "characters";
    return NULL;
}
#define K8S_NAME_PATTERN "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

/* A label value: empty, or alphanumerics with '-', '_' and '.' inside, at most 63 characters. */
static const char *check_label_value(const char *s)
{
    size_t n = strlen(s);

    if (n > 0 && (!all_chars(s, "-_.", 1) || !isalnum((unsigned char)s[0]) ||
                  !isalnum((unsigned char)s[n - 1])))
        return "is not a label value: letters, digits, '-', '_' and '.', starting and ending "
               "with a letter or digit";
    return NULL;
}

/* A label or annotation key: [DNS-subdomain prefix '/'] name, the name as a label value. */
static const char *check_qualified_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    const char *name = slash != NULL ? slash + 1 : s;

    if (slash != NULL) {
        char prefix[254];
        size_t n = (size_t)(slash - s);
        if (n == 0 || n >= sizeof(prefix))
            return "has a bad prefix: the part before '/' must be a DNS subdomain";
        memcpy(prefix, s, n);
        prefix[n] = '\0';
        if (tt_check_k8s_name(prefix) != NULL)
            return "has a bad prefix: the part before '/' must be a DNS subdomain";
    }
    if (*name == '\0' || strlen(name) > 63 || check_label_value(name) != NULL)
        return "is not a valid key: at most 63 letters, digits, '-', '_' and '.' (after an "
               "optional DNS-subdomain prefix and '/'), starting and ending with a letter or "
               "digit";
    return NULL;
}

static const char *check_region(const char *s)
{
    /* af-south-1, us-gov-west-1, cn-north-1, eu-central-2 …: letter groups joined by '-' (the
     * first of two letters or more), then '-' and digits. */
    const char *p = s;
    int parts = 0;

    for (;;) {
        const char *start = p;
        while (*p >= 'a' && *p <= 'z')
            p++;
        if (p == start || (parts == 0 && p - start < 2) || *p != '-')
            return "is not an AWS region name such as eu-central-1";
        parts++;
        p++;
        if (isdigit((unsigned char)*p))
            break;
    }
    if (parts < 2)
        return "is not an AWS region name such as eu-central-1";
    while (isdigit((unsigned char)*p))
        p++;
    return *p == '\0' ? NULL : "is not an AWS region name such as eu-central-1";
}
#define REGION_PATTERN "^[a-z]{2,}(-[a-z]+)+-[0-9]+$"

/*
 * "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE" with the given service and resource prefix:
 * the partition is aws[a-z-]*, the region empty (global services) or [a-z0-9-]+, the account
 * twelve digits, the resource one line.
 */
static int arn_matches(const char *s, const char *service, int region_required,
                       const char *resource_prefix)
{
    const char *p;
    size_t n;

    if (strncmp(s, "arn:aws", 7) != 0)
        return 0;
    for (p = s + 7; (*p >= 'a' && *p <= 'z') || *p == '-'; p++)
        ;
    if (*p++ != ':')
        return 0;
    n = strlen(service);
    if (strncmp(p, service, n) != 0 || p[n] != ':')
        return 0;
    p += n + 1;
    n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if (p[n] != ':' || (region_required ? n == 0 : n != 0))
        return 0;
    p += n + 1;
    for (int i = 0; i < 12; i++, p++) {
        if (!isdigit((unsigned char)*p))
            return 0;
    }
    if (*p++ != ':')
        return 0;
    n = strlen(resource_prefix);
    return strncmp(p, resource_prefix, n) == 0 && p[n] != '\0' && strchr(p, '\n') == NULL;
}

static const char *check_role_arn(const char *s)
{
    return arn_matches(s, "iam", 0, "role/") ? NULL
                                             : "is not an IAM role ARN "
                                               "(arn:aws:iam::123456789012:role/NAME)";
}
#define ROLE_ARN_PATTERN "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"

static const char *check_sns_arn(const char *s)
{
    return arn_matches(s, "sns", 1, "") ? NULL
                                        : "is not an SNS topic ARN "
                                          "(arn:aws:sns:REGION:123456789012:TOPIC)";
}
#define SNS_ARN_PATTERN "^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$"

static const char *check_lambda_arn(const char *s)
{
    return arn_matches(s, "lambda", 1, "function:")
               ? NULL
               : "is not a Lambda function ARN (arn:aws:lambda:REGION:123456789012:function:NAME)";
}
#define LAMBDA_ARN_PATTERN "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:.+$"

static const char *check_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot = at != NULL ? strrchr(at, '.') : NULL;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || dot == NULL || dot < at + 2 ||
        dot[1] == '\0' || strpbrk(s, " \t,;<>") != NULL)
        return "is not an e-mail address";
    return NULL;
}
#define EMAIL_PATTERN "^[^@ \\t,;<>]+@[^@ \\t,;<>]+\\.[^@ \\t,;<>.]+$"

static const char *check_instance_class(const char *s)
{
    const char *dot;

    if (strncmp(s, "db.", 3) != 0 || (dot = strchr(s + 3, '.')) == NULL || dot == s + 3 ||
        dot[1] == '\0' || !all_chars(s + 3, ".", 0) || strchr(dot + 1, '.') != NULL)
        return "is not an RDS instance class such as db.t4g.small";
    return NULL;
}
#define INSTANCE_CLASS_PATTERN "^db\\.[a-z0-9]+\\.[a-z0-9]+$"

static const char *check_db_identifier(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !isalpha((unsigned char)s[0]) || !all_chars(s, "-", 1) ||
        s[n - 1] == '-' || strstr(s, "--") != NULL)
        return "is not an RDS identifier: a letter, then letters, digits and single hyphens, "
               "at most 63 characters, not ending with a hyphen";
    return NULL;
}
#define DB_IDENTIFIER_PATTERN "^[a-zA-Z](-?[a-zA-Z0-9])*$"

static const char *check_distribution_id(const char *s)
{
    size_t n = strlen(s);

    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) && !(*p >= 'A' && *p <= 'Z'))
            return "is not a CloudFront distribution id such as E2QWRUHAPOMQZL";
    }
    return n >= 10 && n <= 20 ? NULL : "is not a CloudFront distribution id such as E2QWRUHAPOMQZL";
}
#define DISTRIBUTION_ID_PATTERN "^[A-Z0-9]{10,20}$"

/* A percentile from 0 to 100: one or two digits with an optional fraction, or 100(.0…). */
static int is_percentile(const char *p)
{
    size_t n = strspn(p, "0123456789");

    if (n == 3 && strncmp(p, "100", 3) == 0)
        return p[3] == '\0' || (p[3] == '.' && p[4] != '\0' && strspn(p + 4, "0") == strlen(p + 4));
    if (n < 1 || n > 2)
        return 0;
    p += n;
    if (*p == '.')
        return p[1] != '\0' && strspn(p + 1, "0123456789") == strlen(p + 1);
    return *p == '\0';
}

static const char *check_extended_statistic(const char *s)
{
    static const char *const prefixes[] = {"tm", "tc", "ts", "wm", "p", NULL};

    for (size_t i = 0; prefixes[i] != NULL; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s, prefixes[i], n) == 0 && is_percentile(s + n))
            return NULL;
    }
    if (strcmp(s, "IQM") == 0)
        return NULL;
    return "is not a percentile statistic from 0 to 100 such as p95, p99.9, tm90 or IQM";
}
#define EXTENDED_STATISTIC_PATTERN "^((p|tm|tc|ts|wm)(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)|IQM)$"

static const char *check_currency(const char *s)
{
    return strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
                   isupper((unsigned char)s[2])
               ? NULL
               : "is not a currency code such as USD or EUR";
}

static const char *check_timezone(const char *s)
{
    return tt_timezone_valid(s) ? NULL
                                : "is not an IANA time zone name such as Europe/Berlin or UTC";
}

static const char *check_schedule(const char *s)
{
    static char why[TT_ERROR_MSG_MAX];
    char out[300];
    tt_error err;

    if (tt_sched_to_aws(s, out, sizeof(out), &err) == TT_OK)
        return NULL;
    /* Validation is single-threaded; the static buffer lives until the next call. */
    snprintf(why, sizeof(why), "is not a valid schedule: %s", err.message);
    return why;
}

#define NO_CONTROL_PATTERN "^[^\\x00-\\x08\\x0A-\\x1F]*$"
static const char *check_no_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return "must not contain control characters";
    }
    return NULL;
}

static const tt_field region_item = {
    .name = "region", .type = TT_F_STRING, .check = check_region, .pattern = REGION_PATTERN};
static const tt_field nonempty_item = {.name = "value",
                                       .type = TT_F_STRING,
                                       BOUNDS(1, 1024),
                                       .check = check_no_control,
                                       .pattern = NO_CONTROL_PATTERN};
static const tt_field ladder_item = {.name = "instanceClass",
                                     .type = TT_F_STRING,
                                     .check = check_instance_class,
                                     .pattern = INSTANCE_CLASS_PATTERN};
static const tt_field dim_value = {.name = "value", .type = TT_F_STRING, BOUNDS(1, 1024)};

/* ---- enums -------------------------------------------------------------------------------- */

static const char *const e_deletion[] = {"Delete", "Retain", NULL};
static const char *const e_mode[] = {"Manage", "Observe", NULL};
static const char *const e_ec_dimension[] = {"Replicas", "NodeGroups", NULL};
const char *const tt_predefined_metrics[] = {
    "ECSServiceAverageCPUUtilization",
    "ECSServiceAverageMemoryUtilization",
    "ALBRequestCountPerTarget",
    "RDSReaderAverageCPUUtilization",
    "RDSReaderAverageDatabaseConnections",
    "ElastiCachePrimaryEngineCPUUtilization",
    "ElastiCacheReplicaEngineCPUUtilization",
    "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage",
    "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage",
    "LambdaProvisionedConcurrencyUtilization",
    NULL,
};
static const char *const e_statistic[] = {"Average",     "Minimum", "Maximum",
                                          "SampleCount", "Sum",     NULL};
static const char *const e_adjustment[] = {"ChangeInCapacity", "PercentChangeInCapacity",
                                           "ExactCapacity", NULL};
static const char *const e_aggregation[] = {"Average", "Minimum", "Maximum", NULL};
static const char *const e_price_class[] = {"PriceClass_100", "PriceClass_200", "PriceClass_All",
                                            NULL};
static const char *const e_comparison[] = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
                                           "LessThanThreshold", "LessThanOrEqualToThreshold", NULL};
static const char *const e_missing[] = {"missing", "ignore", "breaching", "notBreaching", NULL};
static const char *const e_unit[] = {"Seconds",
                                     "Microseconds",
                                     "Milliseconds",
                                     "Bytes",
                                     "Kilobytes",
                                     "Megabytes",
                                     "Gigabytes",
                                     "Terabytes",
                                     "Bits",
                                     "Kilobits",
                                     "Megabits",
                                     "Gigabits",
                                     "Terabits",
                                     "Percent",
                                     "Count",
                                     "Bytes/Second",
                                     "Kilobytes/Second",
                                     "Megabytes/Second",
                                     "Gigabytes/Second",
                                     "Terabytes/Second",
                                     "Bits/Second",
                                     "Kilobits/Second",
                                     "Megabits/Second",
                                     "Gigabits/Second",
                                     "Terabits/Second",
                                     "Count/Second",
                                     "None",
                                     NULL};
/* Predictive scaling's predefined metrics for ECS services (the botocore model documents the
 * names in PredictiveScalingPredefinedMetricPairSpecification; AWS's ECS guide pairs them). */
static const char *const e_predictive_pair[] = {
    "ECSServiceCPUUtilization", "ECSServiceMemoryUtilization", "ALBRequestCount", NULL};
static const char *const e_predictive_scaling[] = {"ECSServiceAverageCPUUtilization",
                                                   "ECSServiceAverageMemoryUtilization",
                                                   "ALBRequestCountPerTarget", NULL};
static const char *const e_predictive_load[] = {
    "ECSServiceTotalCPUUtilization", "ECSServiceTotalMemoryUtilization", "ALBRequestCount", NULL};
static const char *const e_predictive_mode[] = {"ForecastOnly", "ForecastAndScale", NULL};
static const char *const e_breach[] = {"HonorMaxCapacity", "IncreaseMaxCapacity", NULL};
static const char *const e_time_unit[] = {"DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY", NULL};
static const char *const e_budget_type[] = {"COST", "USAGE", NULL};
static const char *const e_notification_type[] = {"ACTUAL", "FORECASTED", NULL};
static const char *const e_budget_comparison[] = {"GREATER_THAN", "LESS_THAN", "EQUAL_TO", NULL};
static const char *const e_threshold_type[] = {"PERCENTAGE", "ABSOLUTE_VALUE", NULL};

/* ---- helpers for the cross-field checks -------------------------------------------------- */

#define OK(field) tt_vctx_ok(v, field)

/*
 * Reports at a field a few keys below the object being checked ("limit.unit"), pushing each
 * key so that the path reads spec.limit.unit and finds that line.
 */
static void error_below(tt_vctx *v, const char *dotted, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_below(tt_vctx *v, const char *dotted, const char *fmt, ...)
{
    char msg[TT_ERROR_MSG_MAX], key[64];
    size_t old = v->path.len;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (const char *p = dotted; *p != '\0';) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        tt_path_push_key(&v->path, key);
        p += n + (p[n] == '.');
    }
    tt_vctx_error(v, NULL, "%s", msg);
    tt_path_pop(&v->path, old);
}

static int line_of(tt_vctx *v, const char *field)
{
    size_t old = tt_path_push_key(&v->path, field);
    int line = tt_linemap_lookup(v->lines, tt_buf_str(&v->path));

    tt_path_pop(&v->path, old);
    return line;
}

/* ---- common fields, in every spec --------------------------------------------------------- */

#define COMMON_FIELDS(st)                                                                       \
    {.name = "region",                                                                          \
     .type = TT_F_STRING,                                                                       \
     .off = offsetof(st, common.region),                                                        \
     .check = check_region,                                                                     \
     .pattern = REGION_PATTERN,                                                                 \
     .doc = "AWS region of the target; default: the operator's region."},                       \
        {.name = "roleArn",                                                                     \
         .type = TT_F_STRING,                                                                   \
         .off = offsetof(st, common.role_arn),                                                  \
         .check = check_role_arn,                                                               \
         .pattern = ROLE_ARN_PATTERN,                                                           \
         .doc = "IAM role to assume through STS for this resource (cross-account)."},           \
        {.name = "deletionPolicy",                                                              \
         .type = TT_F_ENUM,                                                                     \
         .off = offsetof(st, common.deletion_policy),                                           \
         .enums = e_deletion,                                                                   \
         DEFAULT_STR("Delete"),                                                                 \
         .doc = "Delete removes the AWS objects trimtab created when the resource is deleted; " \
                "Retain leaves them."},                                                         \
        {.name = "mode",                                                                        \
         .type = TT_F_ENUM,                                                                     \
         .off = offsetof(st, common.mode),                                                      \
         .enums = e_mode,                                                                       \
         DEFAULT_STR("Manage"),                                                                 \
         .doc = "Manage converges AWS to the spec; Observe only reads and reports drift."},     \
        {.name = "suspend",                                                                     \
         .type = TT_F_BOOL,                                                                     \
         .off = offsetof(st, common.suspend),                                                   \
         DEFAULT_NUM(0),                                                                        \
         .doc = "Stops reconciliation while true."},                                            \
    {                                                                                           \
        .name = "adopt", .type = TT_F_BOOL, .off = offsetof(st, common.adopt), DEFAULT_NUM(0),  \
        .doc = "Take over existing AWS objects of the same name that trimtab does not own yet." \
    }

/* ---- targets ------------------------------------------------------------------------------ */

static const tt_field ecs_fields[] = {
    {.name = "cluster",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_ecs, cluster),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255),
     .doc = "ECS cluster name."},
    {.name = "service",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_ecs, service),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255),
     .doc = "ECS service name."},
};
static const tt_schema ecs_schema = {"ecs", SCHEMA(tt_target_ecs, ecs_fields),
                                     .doc = "An ECS service (ecs:service:DesiredCount)."};

static const tt_field rds_fields[] = {
    {.name = "cluster",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_rds, cluster),
     BOUNDS(1, 63),
     .check = check_db_identifier,
     .pattern = DB_IDENTIFIER_PATTERN,
     .doc = "Aurora DB cluster identifier (rds:cluster:ReadReplicaCount)."},
    {.name = "instance",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_rds, instance),
     BOUNDS(1, 63),
     .check = check_db_identifier,
     .pattern = DB_IDENTIFIER_PATTERN,
     .doc = "DB instance identifier (vertical scaling and storage autoscaling)."},
};
static const tt_schema rds_schema = {"rds", SCHEMA(tt_target_rds, rds_fields), .exactly_one = 1,
                                     .doc = "An Aurora cluster or a single DB instance."};

static const tt_field elasticache_fields[] = {
    {.name = "replicationGroup",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_elasticache, replication_group),
     .flags = TT_REQUIRED,
     BOUNDS(1, 40),
     .doc = "Replication group id."},
    /* Its default is applied in check_scaling_policy, not in the table: the CRD would write
     * it into Alarms as well, where the field does not apply. */
    {.name = "dimension",
     .type = TT_F_ENUM,
     .off = offsetof(tt_target_elasticache, dimension),
     .enums = e_ec_dimension,
     .doc = "ScalingPolicy only: Replicas (elasticache:replication-group:Replicas, the "
            "default) or NodeGroups (shards)."},
    {.name = "cacheCluster",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_elasticache, cache_cluster),
     BOUNDS(1, 50),
     .doc = "Alarm only: a member cluster (CacheClusterId dimension) instead of the group."},
};
static const tt_schema elasticache_schema = {
    "elasticache", SCHEMA(tt_target_elasticache, elasticache_fields),
    .doc = "An ElastiCache (Redis/Valkey) replication group."};

static const tt_field lambda_target_fields[] = {
    {.name = "function",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_lambda, function),
     .flags = TT_REQUIRED,
     BOUNDS(1, 140),
     .doc = "Function name."},
    {.name = "alias",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_lambda, alias),
     BOUNDS(1, 128),
     .doc = "Alias (lambda:function:ProvisionedConcurrency); required for capacity scaling."},
};
static const tt_schema lambda_target_schema = {"lambda",
                                               SCHEMA(tt_target_lambda, lambda_target_fields),
                                               .doc = "A Lambda function, or one of its aliases."};

static const tt_field cloudfront_target_fields[] = {
    {.name = "distributionId",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_cloudfront, distribution_id),
     .flags = TT_REQUIRED,
     .check = check_distribution_id,
     .pattern = DISTRIBUTION_ID_PATTERN,
     .doc = "Distribution id."},
};
static const tt_schema cloudfront_target_schema = {
    "cloudfront", SCHEMA(tt_target_cloudfront, cloudfront_target_fields),
    .doc = "A CloudFront distribution (edge settings)."};

static const tt_field target_fields[] = {
    {.name = "ecs", .type = TT_F_OBJECT, .off = offsetof(tt_target, ecs), .sub = &ecs_schema},
    {.name = "rds", .type = TT_F_OBJECT, .off = offsetof(tt_target, rds), .sub = &rds_schema},
    {.name = "elasticache",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_target, elasticache),
     .sub = &elasticache_schema},
    {.name = "lambda",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_target, lambda),
     .sub = &lambda_target_schema},
    {.name = "cloudfront",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_target, cloudfront),
     .sub = &cloudfront_target_schema},
};
static const tt_schema target_schema = {"target", SCHEMA(tt_target, target_fields),
                                        .exactly_one = 1,
                                        .doc = "What this resource is about: exactly one of "
                                               "ecs, rds, elasticache, lambda, cloudfront."};

/* ---- ScalingPolicy ------------------------------------------------------------------------ */

static const tt_field custom_metric_fields[] = {
    {.name = "namespace",
     .type = TT_F_STRING,
     .off = offsetof(tt_custom_metric, namespace_),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255),
     .doc = "CloudWatch namespace."},
    {.name = "metricName",
     .type = TT_F_STRING,
     .off = offsetof(tt_custom_metric, metric_name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255)},
    {.name = "statistic",
     .type = TT_F_ENUM,
     .off = offsetof(tt_custom_metric, statistic),
     .enums = e_statistic,
     DEFAULT_STR("Average")},
    {.name = "unit", .type = TT_F_ENUM, .off = offsetof(tt_custom_metric, unit), .enums = e_unit},
    {.name = "dimensions",
     .type = TT_F_STRMAP,
     .off = offsetof(tt_custom_metric, dimensions),
     .count_off = offsetof(tt_custom_metric, ndimensions),
     BOUNDS(0, 30),
     .items = &dim_value,
     .doc = "Dimension name to value."},
};
static const tt_schema custom_metric_schema = {"customMetric",
                                               SCHEMA(tt_custom_metric, custom_metric_fields)};

/* Which target a predefined metric belongs to. */
static tt_target_kind predefined_metric_target(const char *m)
{
    if (strncmp(m, "ECS", 3) == 0 || strncmp(m, "ALB", 3) == 0)
        return TT_TARGET_ECS;
    if (strncmp(m, "RDS", 3) == 0)
        return TT_TARGET_RDS_CLUSTER;
    if (strncmp(m, "ElastiCache", 11) == 0)
        return TT_TARGET_ELASTICACHE;
    return TT_TARGET_LAMBDA;
}

static void check_target_tracking(tt_vctx *v, const json_t *obj, void *out)
{
    tt_target_tracking *t = out;
    (void)obj;

    if (!OK("predefinedMetric") || !OK("customMetric") || !OK("resourceLabel"))
        return;
    if ((t->predefined_metric != NULL) == (t->custom_metric != NULL))
        tt_vctx_error(v, NULL, "set exactly one of predefinedMetric and customMetric");
    if (t->predefined_metric != NULL &&
        strcmp(t->predefined_metric, "ALBRequestCountPerTarget") == 0 && t->resource_label == NULL)
        tt_vctx_error(v, "resourceLabel",
                      "is required with ALBRequestCountPerTarget "
                      "(app/LB/ID/targetgroup/TG/ID)");
    if (t->resource_label != NULL &&
        (t->predefined_metric == NULL ||
         strcmp(t->predefined_metric, "ALBRequestCountPerTarget") != 0))
        tt_vctx_error(v, "resourceLabel", "only applies to ALBRequestCountPerTarget");
}

static const tt_cel_rule target_tracking_rules[] = {
    {"has(self.predefinedMetric) != has(self.customMetric)",
     "set exactly one of predefinedMetric and customMetric"},
    {"!has(self.predefinedMetric) || self.predefinedMetric != 'ALBRequestCountPerTarget' || "
     "has(self.resourceLabel)",
     "resourceLabel is required with ALBRequestCountPerTarget"},
    {"!has(self.resourceLabel) || (has(self.predefinedMetric) && "
     "self.predefinedMetric == 'ALBRequestCountPerTarget')",
     "resourceLabel only applies to ALBRequestCountPerTarget"},
    {NULL, NULL},
};

static const tt_field target_tracking_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_tracking, name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 63),
     .check = tt_check_dns_label,
     .pattern = DNS_LABEL_PATTERN,
     .doc = "Unique within the resource; part of the AWS policy name."},
    {.name = "predefinedMetric",
     .type = TT_F_ENUM,
     .off = offsetof(tt_target_tracking, predefined_metric),
     .enums = tt_predefined_metrics},
    {.name = "resourceLabel",
     .type = TT_F_STRING,
     .off = offsetof(tt_target_tracking, resource_label),
     BOUNDS(1, 1023),
     .doc = "For ALBRequestCountPerTarget: app/LB/ID/targetgroup/TG/ID."},
    {.name = "customMetric",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_target_tracking, custom_metric),
     .sub = &custom_metric_schema},
    {.name = "targetValue",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_target_tracking, target_value),
     .flags = TT_REQUIRED,
     MORE_THAN_AT_MOST(0, 1e38),
     .doc = "The metric value to hold, e.g. 70 (percent)."},
    {.name = "scaleOutCooldown",
     .type = TT_F_DURATION,
     .off = offsetof(tt_target_tracking, scale_out_cooldown),
     BOUNDS(0, 31536000),
     .doc = "Seconds or a duration such as 60s."},
    {.name = "scaleInCooldown",
     .type = TT_F_DURATION,
     .off = offsetof(tt_target_tracking, scale_in_cooldown),
     BOUNDS(0, 31536000)},
    {.name = "disableScaleIn",
     .type = TT_F_BOOL,
     .off = offsetof(tt_target_tracking, disable_scale_in),
     DEFAULT_NUM(0)},
};
static const tt_schema target_tracking_schema = {
    "targetTracking", SCHEMA(tt_target_tracking, target_tracking_fields),
    .check = check_target_tracking, .rules = target_tracking_rules};

static const tt_cel_rule step_rules[] = {
    {"has(self.lower) || has(self.upper)", "a step needs a lower or an upper bound"},
    {"!has(self.lower) || !has(self.upper) || self.lower < self.upper",
     "lower must be below upper"},
    {NULL, NULL},
};

static void check_step(tt_vctx *v, const json_t *obj, void *out)
{
    tt_step *s = out;
    (void)obj;

    if (!OK("lower") || !OK("upper"))
        return;
    if (!s->lower.set && !s->upper.set)
        tt_vctx_error(v, NULL, "a step needs a lower or an upper bound");
    else if (s->lower.set && s->upper.set && s->lower.v >= s->upper.v)
        tt_vctx_error(v, NULL, "lower (%g) must be below upper (%g)", s->lower.v, s->upper.v);
}

static const tt_field step_fields[] = {
    {.name = "lower",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_step, lower),
     .doc = "Lower bound of the breach (metric minus threshold); absent: minus infinity."},
    {.name = "upper",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_step, upper),
     .doc = "Upper bound; absent: plus infinity."},
    {.name = "adjustment",
     .type = TT_F_INT,
     .off = offsetof(tt_step, adjustment),
     .flags = TT_REQUIRED,
     BOUNDS(-1000000, 1000000),
     .doc = "Capacity change (or exact capacity, or percent) for this step."},
};
static const tt_schema step_schema = {"step", SCHEMA(tt_step, step_fields), .check = check_step,
                                      .rules = step_rules};

static int step_cmp(const void *a, const void *b)
{
    const tt_step *x = a, *y = b;

    if (!x->lower.set || !y->lower.set)
        return (x->lower.set) - (y->lower.set);
    return (x->lower.v > y->lower.v) - (x->lower.v < y->lower.v);
}

/*
 * Application Auto Scaling's rules for step adjustments: contiguous, no overlap, at most one
 * open end on each side, and a negative (positive) bound needs an open lower (upper) end.
 */
static void check_step_scaling(tt_vctx *v, const json_t *obj, void *out)
{
    tt_step_scaling *s = out;
    size_t open_lower = 0, open_upper = 0;
    (void)obj;

    if (!OK("adjustmentType") || !OK("steps") || !OK("minAdjustmentMagnitude"))
        return;
    if (s->min_adjustment_magnitude.set &&
        strcmp(s->adjustment_type, "PercentChangeInCapacity") != 0)
        tt_vctx_error(v, "minAdjustmentMagnitude", "only applies to PercentChangeInCapacity");
    for (size_t i = 0; i < s->nsteps; i++) {
        open_lower += !s->steps[i].lower.set;
        open_upper += !s->steps[i].upper.set;
        if (strcmp(s->adjustment_type, "ExactCapacity") == 0 && s->steps[i].adjustment.v < 0)
            tt_vctx_error(v, "steps", "ExactCapacity adjustments must not be negative");
    }
    if (open_lower > 1)
        tt_vctx_error(v, "steps", "only one step may leave out its lower bound");
    if (open_upper > 1)
        tt_vctx_error(v, "steps", "only one step may leave out its upper bound");
    if (open_lower > 1 || open_upper > 1)
        return;
    qsort(s->steps, s->nsteps, sizeof(s->steps[0]), step_cmp);
    for (size_t i = 0; i + 1 < s->nsteps; i++) {
        const tt_step *a = &s->steps[i], *b = &s->steps[i + 1];
        if (!a->upper.set || a->upper.v != b->lower.v) {
            if (a->upper.set && a->upper.v < b->lower.v)
                tt_vctx_error(v, "steps", "steps leave a gap between %g and %g", a->upper.v,
                              b->lower.v);
            else
                tt_vctx_error(v, "steps", "steps overlap near %g", b->lower.v);
            return;
        }
    }
    if (s->nsteps > 0 && s->steps[0].lower.set && s->steps[0].lower.v < 0)
        tt_vctx_error(v, "steps",
                      "the lowest step starts below zero (%g), so one step must leave out "
                      "its lower bound",
                      s->steps[0].lower.v);
    if (s->nsteps > 0 && s->steps[s->nsteps - 1].upper.set && s->steps[s->nsteps - 1].upper.v > 0)
        tt_vctx_error(v, "steps",
                      "the highest step ends above zero (%g), so one step must leave out its "
                      "upper bound",
                      s->steps[s->nsteps - 1].upper.v);
}

static const tt_cel_rule step_scaling_rules[] = {
    {"!has(self.minAdjustmentMagnitude) || self.adjustmentType == 'PercentChangeInCapacity'",
     "minAdjustmentMagnitude only applies to PercentChangeInCapacity"},
    {"self.steps.filter(s, !has(s.lower)).size() <= 1",
     "only one step may leave out its lower bound"},
    {"self.steps.filter(s, !has(s.upper)).size() <= 1",
     "only one step may leave out its upper bound"},
    {"self.adjustmentType != 'ExactCapacity' || self.steps.all(s, s.adjustment >= 0)",
     "ExactCapacity adjustments must not be negative"},
    {"self.steps.exists(s, !has(s.lower)) || self.steps.all(s, s.lower >= 0.0)",
     "a step starts below zero, so one step must leave out its lower bound"},
    {"self.steps.exists(s, !has(s.upper)) || self.steps.all(s, s.upper <= 0.0)",
     "a step ends above zero, so one step must leave out its upper bound"},
    {NULL, NULL},
};

static const tt_field step_scaling_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_step_scaling, name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 63),
     .check = tt_check_dns_label,
     .pattern = DNS_LABEL_PATTERN,
     .doc = "Unique within the resource; Alarms refer to it by this name."},
    {.name = "adjustmentType",
     .type = TT_F_ENUM,
     .off = offsetof(tt_step_scaling, adjustment_type),
     .enums = e_adjustment,
     .flags = TT_REQUIRED},
    {.name = "cooldown",
     .type = TT_F_DURATION,
     .off = offsetof(tt_step_scaling, cooldown),
     BOUNDS(0, 31536000)},
    {.name = "metricAggregationType",
     .type = TT_F_ENUM,
     .off = offsetof(tt_step_scaling, metric_aggregation_type),
     .enums = e_aggregation,
     DEFAULT_STR("Average")},
    {.name = "minAdjustmentMagnitude",
     .type = TT_F_INT,
     .off = offsetof(tt_step_scaling, min_adjustment_magnitude),
     AT_LEAST(1)},
    {.name = "steps",
     .type = TT_F_LIST,
     .off = offsetof(tt_step_scaling, steps),
     .count_off = offsetof(tt_step_scaling, nsteps),
     .sub = &step_schema,
     .flags = TT_REQUIRED,
     BOUNDS(1, 20)},
};
static const tt_schema step_scaling_schema = {
    "stepScaling", SCHEMA(tt_step_scaling, step_scaling_fields), .check = check_step_scaling,
    .rules = step_scaling_rules};

static void check_scheduled(tt_vctx *v, const json_t *obj, void *out)
{
    tt_scheduled *s = out;
    char aws[300];
    tt_error err;
    (void)obj;

    if (OK("minCapacity") && OK("maxCapacity")) {
        if (!s->min_capacity.set && !s->max_capacity.set)
            tt_vctx_error(v, NULL, "set minCapacity, maxCapacity or both");
        else if (s->min_capacity.set && s->max_capacity.set &&
                 s->min_capacity.v > s->max_capacity.v)
            tt_vctx_error(v, "minCapacity", "must not exceed maxCapacity (%lld > %lld)",
                          (long long)s->min_capacity.v, (long long)s->max_capacity.v);
    }
    if (OK("schedule") && OK("timezone") &&
        tt_sched_to_aws(s->schedule, aws, sizeof(aws), &err) == TT_OK) {
        s->aws_schedule = tt_arena_strdup(v->arena, aws);
        if (s->aws_schedule == NULL)
            v->oom = 1;
        if (s->timezone != NULL && strncmp(aws, "rate(", 5) == 0)
            tt_vctx_error(v, "timezone", "only applies to cron and at schedules");
    }
}

static const tt_cel_rule scheduled_rules[] = {
    {"has(self.minCapacity) || has(self.maxCapacity)", "set minCapacity, maxCapacity or both"},
    {"!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity",
     "minCapacity must not exceed maxCapacity"},
    {"!has(self.timezone) || !self.schedule.startsWith('rate(')",
     "timezone only applies to cron and at schedules"},
    {NULL, NULL},
};

static const tt_field scheduled_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_scheduled, name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 63),
     .check = tt_check_dns_label,
     .pattern = DNS_LABEL_PATTERN},
    {.name = "schedule",
     .type = TT_F_STRING,
     .off = offsetof(tt_scheduled, schedule),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255),
     .check = check_schedule,
     .doc = "cron(...), rate(...), at(...) or a 5-field cron such as '0 8 * * MON-FRI'."},
    {.name = "timezone",
     .type = TT_F_STRING,
     .off = offsetof(tt_scheduled, timezone),
     .check = check_timezone,
     BOUNDS(1, 64),
     .doc = "IANA time zone of cron and at schedules; default UTC."},
    {.name = "minCapacity",
     .type = TT_F_INT,
     .off = offsetof(tt_scheduled, min_capacity),
     BOUNDS(0, 1000000)},
    {.name = "maxCapacity",
     .type = TT_F_INT,
     .off = offsetof(tt_scheduled, max_capacity),
     BOUNDS(0, 1000000)},
};
static const tt_schema scheduled_schema = {"scheduled", SCHEMA(tt_scheduled, scheduled_fields),
                                           .check = check_scheduled, .rules = scheduled_rules};

/* The ALB metrics of predictive scaling need the target group as resourceLabel. */
static int predictive_uses_alb(const tt_predictive *p)
{
    return (p->metric_pair != NULL && strncmp(p->metric_pair, "ALB", 3) == 0) ||
           (p->scaling_metric != NULL && strncmp(p->scaling_metric, "ALB", 3) == 0) ||
           (p->load_metric != NULL && strncmp(p->load_metric, "ALB", 3) == 0);
}

static void check_predictive(tt_vctx *v, const json_t *obj, void *out)
{
    tt_predictive *p = out;
    int scaling, load;
    (void)obj;

    if (!OK("metricPair") || !OK("scalingMetric") || !OK("loadMetric") ||
        !OK("customScalingMetric") || !OK("customLoadMetric") || !OK("customCapacityMetric") ||
        !OK("resourceLabel") || !OK("maxCapacityBreachBehavior") || !OK("maxCapacityBuffer"))
        return;
    scaling = (p->scaling_metric != NULL) + (p->custom_scaling_metric != NULL);
    load = (p->load_metric != NULL) + (p->custom_load_metric != NULL);
    if (scaling > 1)
        tt_vctx_error(v, "customScalingMetric",
                      "set scalingMetric or customScalingMetric, not both");
    if (load > 1)
        tt_vctx_error(v, "customLoadMetric", "set loadMetric or customLoadMetric, not both");
    if (p->metric_pair != NULL && (scaling || load || p->custom_capacity_metric != NULL))
        tt_vctx_error(v, "metricPair",
                      "replaces the scaling, load and capacity metrics: set metricPair alone, or "
                      "a scaling metric and a load metric");
    else if (p->metric_pair == NULL && (scaling != 1 || load != 1))
        tt_vctx_error(v, NULL,
                      "set metricPair, or a scaling metric (scalingMetric or "
                      "customScalingMetric) and a load metric (loadMetric or customLoadMetric)");
    if (predictive_uses_alb(p) && p->resource_label == NULL)
        tt_vctx_error(v, "resourceLabel",
                      "is required with the ALB metrics (app/LB/ID/targetgroup/TG/ID)");
    else if (!predictive_uses_alb(p) && p->resource_label != NULL)
        tt_vctx_error(v, "resourceLabel", "only applies to the ALB metrics");
    if (strcmp(p->max_capacity_breach, "IncreaseMaxCapacity") == 0 && !p->max_capacity_buffer.set)
        tt_vctx_error(v, "maxCapacityBuffer", "is required with IncreaseMaxCapacity");
    else if (strcmp(p->max_capacity_breach, "IncreaseMaxCapacity") != 0 &&
             p->max_capacity_buffer.set)
        tt_vctx_error(v, "maxCapacityBuffer",
                      "only applies with maxCapacityBreachBehavior: IncreaseMaxCapacity");
}

static const tt_cel_rule predictive_rules[] = {
    {"has(self.metricPair) ? !(has(self.scalingMetric) || has(self.customScalingMetric) || "
     "has(self.loadMetric) || has(self.customLoadMetric) || has(self.customCapacityMetric)) : "
     "(has(self.scalingMetric) != has(self.customScalingMetric) && "
     "has(self.loadMetric) != has(self.customLoadMetric))",
     "set metricPair, or one scaling metric (scalingMetric or customScalingMetric) and one load "
     "metric (loadMetric or customLoadMetric)"},
    {"has(self.resourceLabel) == ((has(self.metricPair) && self.metricPair.startsWith('ALB')) || "
     "(has(self.scalingMetric) && self.scalingMetric.startsWith('ALB')) || "
     "(has(self.loadMetric) && self.loadMetric.startsWith('ALB')))",
     "resourceLabel is required with the ALB metrics and only applies to them"},
    {"has(self.maxCapacityBuffer) == (has(self.maxCapacityBreachBehavior) && "
     "self.maxCapacityBreachBehavior == 'IncreaseMaxCapacity')",
     "maxCapacityBuffer is required with IncreaseMaxCapacity and only applies with it"},
    {NULL, NULL},
};

static const tt_field predictive_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_predictive, name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 63),
     .check = tt_check_dns_label,
     .pattern = DNS_LABEL_PATTERN,
     .doc = "Unique within the resource; part of the AWS policy name."},
    {.name = "metricPair",
     .type = TT_F_ENUM,
     .off = offsetof(tt_predictive, metric_pair),
     .enums = e_predictive_pair,
     .doc = "A predefined load and scaling metric pair."},
    {.name = "scalingMetric",
     .type = TT_F_ENUM,
     .off = offsetof(tt_predictive, scaling_metric),
     .enums = e_predictive_scaling,
     .doc = "A predefined scaling metric (with a load metric, instead of metricPair)."},
    {.name = "loadMetric",
     .type = TT_F_ENUM,
     .off = offsetof(tt_predictive, load_metric),
     .enums = e_predictive_load,
     .doc = "A predefined load metric (with a scaling metric, instead of metricPair)."},
    {.name = "resourceLabel",
     .type = TT_F_STRING,
     .off = offsetof(tt_predictive, resource_label),
     BOUNDS(1, 1023),
     .doc = "For the ALB metrics: app/LB/ID/targetgroup/TG/ID."},
    {.name = "customScalingMetric",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_predictive, custom_scaling_metric),
     .sub = &custom_metric_schema,
     .doc = "A CloudWatch metric as the scaling metric."},
    {.name = "customLoadMetric",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_predictive, custom_load_metric),
     .sub = &custom_metric_schema,
     .doc = "A CloudWatch metric as the load metric."},
    {.name = "customCapacityMetric",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_predictive, custom_capacity_metric),
     .sub = &custom_metric_schema,
     .doc = "A CloudWatch metric of the capacity (optional, without metricPair)."},
    {.name = "targetValue",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_predictive, target_value),
     .flags = TT_REQUIRED,
     MORE_THAN_AT_MOST(0, 1e38),
     .doc = "The utilization to plan capacity for, e.g. 60 (percent)."},
    {.name = "mode",
     .type = TT_F_ENUM,
     .off = offsetof(tt_predictive, mode),
     .enums = e_predictive_mode,
     DEFAULT_STR("ForecastOnly"),
     .doc = "ForecastOnly (watch the forecast) or ForecastAndScale (act on it)."},
    {.name = "schedulingBufferTime",
     .type = TT_F_DURATION,
     .off = offsetof(tt_predictive, scheduling_buffer_time),
     BOUNDS(0, 3600),
     .doc = "How long before the forecast the capacity is launched; AWS's default is 300s."},
    {.name = "maxCapacityBreachBehavior",
     .type = TT_F_ENUM,
     .off = offsetof(tt_predictive, max_capacity_breach),
     .enums = e_breach,
     DEFAULT_STR("HonorMaxCapacity"),
     .doc = "Whether a forecast above maxCapacity may raise it."},
    {.name = "maxCapacityBuffer",
     .type = TT_F_INT,
     .off = offsetof(tt_predictive, max_capacity_buffer),
     BOUNDS(0, 100),
     .doc = "With IncreaseMaxCapacity: percent above the forecast the maximum may go."},
};
static const tt_schema predictive_schema = {"predictive", SCHEMA(tt_predictive, predictive_fields),
                                            .check = check_predictive, .rules = predictive_rules};

static void check_alarm_ref(tt_vctx *v, const json_t *obj, void *out)
{
    (void)obj;
    ((tt_alarm_ref *)out)->line = line_of(v, "alarm");
}

static const tt_field alarm_ref_fields[] = {
    {.name = "alarm",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_ref, alarm),
     .flags = TT_REQUIRED,
     BOUNDS(1, 253),
     .check = tt_check_k8s_name,
     .pattern = K8S_NAME_PATTERN,
     .doc = "Name of an Alarm resource in this namespace."},
};
static const tt_schema alarm_ref_schema = {"alarmRef", SCHEMA(tt_alarm_ref, alarm_ref_fields),
                                           .check = check_alarm_ref};

static void check_vertical(tt_vctx *v, const json_t *obj, void *out)
{
    tt_vertical *vt = out;
    (void)obj;

    if (OK("scaleUpOn") && OK("scaleDownOn") && vt->scale_down_on != NULL &&
        vt->scale_up_on != NULL && strcmp(vt->scale_up_on->alarm, vt->scale_down_on->alarm) == 0)
        tt_vctx_error(v, "scaleDownOn", "must name a different Alarm than scaleUpOn");
}

static const tt_field vertical_fields[] = {
    {.name = "ladder",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_vertical, ladder),
     .count_off = offsetof(tt_vertical, nladder),
     .flags = TT_REQUIRED | TT_UNIQUE,
     BOUNDS(2, 20),
     .items = &ladder_item,
     .doc = "Instance classes from smallest to largest."},
    {.name = "scaleUpOn",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_vertical, scale_up_on),
     .sub = &alarm_ref_schema,
     .flags = TT_REQUIRED,
     .doc = "While this Alarm is in ALARM, move one step up the ladder."},
    {.name = "scaleDownOn",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_vertical, scale_down_on),
     .sub = &alarm_ref_schema,
     .doc = "While this Alarm is in ALARM, move one step down."},
    {.name = "cooldown",
     .type = TT_F_DURATION,
     .off = offsetof(tt_vertical, cooldown),
     BOUNDS(0, 31536000),
     DEFAULT_NUM(1800),
     .doc = "Least time between two moves, once the instance is available again."},
    {.name = "applyImmediately",
     .type = TT_F_BOOL,
     .off = offsetof(tt_vertical, apply_immediately),
     DEFAULT_NUM(1),
     .doc = "Apply at once (true) or in the next maintenance window (false)."},
};
static const tt_cel_rule vertical_rules[] = {
    {"!has(self.scaleDownOn) || self.scaleDownOn.alarm != self.scaleUpOn.alarm",
     "scaleDownOn must name a different Alarm than scaleUpOn"},
    {NULL, NULL},
};
static const tt_schema vertical_schema = {"vertical", SCHEMA(tt_vertical, vertical_fields),
                                          .check = check_vertical, .rules = vertical_rules};

static const tt_field storage_fields[] = {
    {.name = "maxAllocatedGiB",
     .type = TT_F_INT,
     .off = offsetof(tt_storage, max_allocated_gib),
     .flags = TT_REQUIRED,
     BOUNDS(20, 65536),
     .doc = "Upper limit for RDS storage autoscaling, in GiB."},
};
static const tt_schema storage_schema = {"storage", SCHEMA(tt_storage, storage_fields)};

static const tt_field lambda_extra_fields[] = {
    {.name = "reservedConcurrency",
     .type = TT_F_INT,
     .off = offsetof(tt_lambda_extras, reserved_concurrency),
     BOUNDS(0, 1000000),
     .doc = "Reserved concurrency of the function, as a cost cap."},
};
static const tt_schema lambda_extra_schema = {"lambda",
                                              SCHEMA(tt_lambda_extras, lambda_extra_fields)};

static void check_origin_shield(tt_vctx *v, const json_t *obj, void *out)
{
    tt_origin_shield *o = out;
    (void)obj;

    if (OK("enabled") && OK("region") && o->enabled.v && o->region == NULL)
        tt_vctx_error(v, "region", "is required when the origin shield is enabled");
}

static const tt_field origin_shield_fields[] = {
    {.name = "enabled",
     .type = TT_F_BOOL,
     .off = offsetof(tt_origin_shield, enabled),
     .flags = TT_REQUIRED},
    {.name = "region",
     .type = TT_F_STRING,
     .off = offsetof(tt_origin_shield, region),
     .check = check_region,
     .pattern = REGION_PATTERN},
};
static const tt_cel_rule origin_shield_rules[] = {
    {"!self.enabled || has(self.region)", "region is required when the origin shield is enabled"},
    {NULL, NULL},
};
static const tt_schema origin_shield_schema = {
    "originShield", SCHEMA(tt_origin_shield, origin_shield_fields), .check = check_origin_shield,
    .rules = origin_shield_rules};

static const tt_field cloudfront_edge_fields[] = {
    {.name = "priceClass",
     .type = TT_F_ENUM,
     .off = offsetof(tt_cloudfront_edge, price_class),
     .enums = e_price_class},
    {.name = "originShield",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_cloudfront_edge, origin_shield),
     .sub = &origin_shield_schema,
     .doc = "Applied to every origin of the distribution."},
    {.name = "http3",
     .type = TT_F_BOOL,
     .off = offsetof(tt_cloudfront_edge, http3),
     .doc = "true: http2and3; false: http2."},
    {.name = "compress",
     .type = TT_F_BOOL,
     .off = offsetof(tt_cloudfront_edge, compress),
     .doc = "Compression on the default cache behavior."},
};
static const tt_schema cloudfront_edge_schema = {
    "cloudfront", SCHEMA(tt_cloudfront_edge, cloudfront_edge_fields)};

static void check_budget_guard(tt_vctx *v, const json_t *obj, void *out)
{
    tt_budget_guard *g = out;
    (void)obj;

    g->line = line_of(v, "budget");
    if (OK("maxCapacity") && OK("priceClass") && g->max_capacity.set == (g->price_class != NULL))
        tt_vctx_error(v, NULL, "set exactly one of maxCapacity and priceClass");
}

static const tt_field budget_guard_fields[] = {
    {.name = "budget",
     .type = TT_F_STRING,
     .off = offsetof(tt_budget_guard, budget),
     .flags = TT_REQUIRED,
     BOUNDS(1, 253),
     .check = tt_check_k8s_name,
     .pattern = K8S_NAME_PATTERN,
     .doc = "Name of a Budget resource in this namespace."},
    {.name = "abovePercent",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_budget_guard, above_percent),
     .flags = TT_REQUIRED,
     MORE_THAN_AT_MOST(0, 1000),
     .doc = "Clamp while actual spend is above this percentage of the budget."},
    {.name = "maxCapacity",
     .type = TT_F_INT,
     .off = offsetof(tt_budget_guard, max_capacity),
     BOUNDS(0, 1000000),
     .doc = "The maximum capacity while clamped."},
    {.name = "priceClass",
     .type = TT_F_ENUM,
     .off = offsetof(tt_budget_guard, price_class),
     .enums = e_price_class,
     .doc = "CloudFront: the price class while clamped."},
};
static const tt_cel_rule budget_guard_rules[] = {
    {"has(self.maxCapacity) != has(self.priceClass)",
     "set exactly one of maxCapacity and priceClass"},
    {NULL, NULL},
};
static const tt_schema budget_guard_schema = {
    "budgetGuard", SCHEMA(tt_budget_guard, budget_guard_fields), .check = check_budget_guard,
    .rules = budget_guard_rules};

/* Scalable targets register with Application Auto Scaling and need bounds. */
static int is_scalable(const tt_target *t)
{
    switch (tt_target_kind_of(t)) {
    case TT_TARGET_ECS:
    case TT_TARGET_RDS_CLUSTER:
    case TT_TARGET_ELASTICACHE:
        return 1;
    case TT_TARGET_LAMBDA:
        return t->lambda->alias != NULL;
    default:
        return 0;
    }
}

static void forbid(tt_vctx *v, const json_t *obj, const char *field, const char *why)
{
    const json_t *j = json_object_get(obj, field);

    if (j != NULL && !json_is_null(j))
        tt_vctx_error(v, field, "%s", why);
}

static void check_policy_names_unique(tt_vctx *v, const tt_scaling_policy_spec *s)
{
    for (size_t i = 0; i < s->npredictive; i++) {
        const char *n = s->predictive[i].name;
        for (size_t k = 0; k < s->ntarget_tracking + s->nstep_scaling; k++) {
            const char *other = k < s->ntarget_tracking
                                    ? s->target_tracking[k].name
                                    : s->step_scaling[k - s->ntarget_tracking].name;
            if (strcmp(n, other) == 0)
                tt_vctx_error_item(v, "predictive", i, "name",
                                   "'%s' is also the name of a %s policy; policy names must be "
                                   "unique",
                                   n, k < s->ntarget_tracking ? "targetTracking" : "stepScaling");
        }
    }
    for (size_t i = 0; i < s->nstep_scaling; i++) {
        for (size_t k = 0; k < s->ntarget_tracking; k++) {
            if (strcmp(s->step_scaling[i].name, s->target_tracking[k].name) == 0)
                tt_vctx_error_item(v, "stepScaling", i, "name",
                                   "'%s' is also the name of targetTracking[%zu]; policy names "
                                   "must be unique",
                                   s->step_scaling[i].name, k);
        }
    }
}

static void check_scaling_policy(tt_vctx *v, const json_t *obj, void *out)
{
    tt_scaling_policy_spec *s = out;
    tt_target_kind tk;
    int scalable;

    if (OK("targetTracking") && OK("stepScaling") && OK("predictive"))
        check_policy_names_unique(v, s);
    if (!OK("target") || !OK("minCapacity") || !OK("maxCapacity"))
        return; /* every rule below depends on the target and the bounds */
    tk = tt_target_kind_of(s->target);
    scalable = is_scalable(s->target);
    if (scalable) {
        if (!s->min_capacity.set)
            tt_vctx_error(v, "minCapacity", "is required for this target");
        if (!s->max_capacity.set)
            tt_vctx_error(v, "maxCapacity", "is required for this target");
        if (s->min_capacity.set && s->max_capacity.set && s->min_capacity.v > s->max_capacity.v)
            tt_vctx_error(v, "minCapacity", "must not exceed maxCapacity (%lld > %lld)",
                          (long long)s->min_capacity.v, (long long)s->max_capacity.v);
    } else {
        const char *why = tk == TT_TARGET_LAMBDA
                              ? "needs target.lambda.alias (provisioned concurrency is per alias)"
                              : "does not apply to this target (it has no scalable capacity)";
        forbid(v, obj, "minCapacity", why);
        forbid(v, obj, "maxCapacity", why);
        forbid(v, obj, "targetTracking", why);
        forbid(v, obj, "stepScaling", why);
        forbid(v, obj, "scheduled", why);
    }
    if (tk != TT_TARGET_ECS)
        forbid(v, obj, "predictive",
               "Application Auto Scaling offers predictive scaling for ECS services only "
               "(target.ecs)");
    if (tk == TT_TARGET_ELASTICACHE || tk == TT_TARGET_LAMBDA)
        forbid(v, obj, "stepScaling",
               "Application Auto Scaling offers no step scaling for this target; use "
               "targetTracking");
    if (tk == TT_TARGET_ELASTICACHE && s->target->elasticache->dimension == NULL)
        s->target->elasticache->dimension = "Replicas";
    if (tk == TT_TARGET_ELASTICACHE && s->target->elasticache->cache_cluster != NULL)
        error_below(v, "target.elasticache.cacheCluster", "only applies to Alarms");
    for (size_t i = 0; OK("targetTracking") && i < s->ntarget_tracking; i++) {
        const char *m = s->target_tracking[i].predefined_metric;
        if (m != NULL && scalable && predefined_metric_target(m) != tk)
            tt_vctx_error_item(v, "targetTracking", i, "predefinedMetric",
                               "%s does not apply to this target", m);
    }
    if (tk != TT_TARGET_RDS_INSTANCE) {
        forbid(v, obj, "vertical", "only applies to target.rds.instance");
        forbid(v, obj, "storage", "only applies to target.rds.instance");
    } else if (s->vertical == NULL && s->storage == NULL && s->nbudget_guard == 0 &&
               OK("vertical") && OK("storage") && OK("budgetGuard")) {
        tt_vctx_error(v, NULL, "an rds instance target needs vertical, storage or both");
    }
    if (tk != TT_TARGET_LAMBDA)
        forbid(v, obj, "lambda", "only applies to a lambda target");
    else if (!scalable && s->lambda == NULL && OK("lambda"))
        error_below(v, "target.lambda.alias",
                    "is required unless the policy only sets lambda.reservedConcurrency");
    if (tk != TT_TARGET_CLOUDFRONT)
        forbid(v, obj, "cloudfront", "only applies to a cloudfront target");
    else if (s->cloudfront == NULL && OK("cloudfront"))
        tt_vctx_error(v, "cloudfront", "is required for a cloudfront target");
    for (size_t i = 0; OK("budgetGuard") && i < s->nbudget_guard; i++) {
        const tt_budget_guard *g = &s->budget_guard[i];
        if (tk == TT_TARGET_CLOUDFRONT && g->max_capacity.set)
            tt_vctx_error_item(v, "budgetGuard", i, "maxCapacity",
                               "a cloudfront target is guarded by priceClass, not maxCapacity");
        else if (tk != TT_TARGET_CLOUDFRONT && g->price_class != NULL)
            tt_vctx_error_item(v, "budgetGuard", i, "priceClass",
                               "only applies to a cloudfront target");
        else if (g->max_capacity.set && s->min_capacity.set &&
                 g->max_capacity.v < s->min_capacity.v)
            tt_vctx_error_item(v, "budgetGuard", i, "maxCapacity",
                               "%lld is below spec.minCapacity (%lld)",
                               (long long)g->max_capacity.v, (long long)s->min_capacity.v);
        else if (g->max_capacity.set && s->max_capacity.set &&
                 g->max_capacity.v >= s->max_capacity.v)
            tt_vctx_error_item(v, "budgetGuard", i, "maxCapacity",
                               "%lld is not below spec.maxCapacity (%lld): the guard would "
                               "never clamp",
                               (long long)g->max_capacity.v, (long long)s->max_capacity.v);
        else if (tk == TT_TARGET_RDS_INSTANCE)
            tt_vctx_error_item(v, "budgetGuard", i, NULL,
                               "an rds instance target cannot be guarded by a budget");
    }
}

static const tt_cel_rule scaling_policy_rules[] = {
    {"!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity",
     "minCapacity must not exceed maxCapacity"},
    {"has(self.target.cloudfront) || (has(self.target.rds) && has(self.target.rds.instance)) || "
     "(has(self.target.lambda) && !has(self.target.lambda.alias)) || "
     "(has(self.minCapacity) && has(self.maxCapacity))",
     "minCapacity and maxCapacity are required for this target"},
    {"!has(self.vertical) || (has(self.target.rds) && has(self.target.rds.instance))",
     "vertical only applies to target.rds.instance"},
    {"!has(self.storage) || (has(self.target.rds) && has(self.target.rds.instance))",
     "storage only applies to target.rds.instance"},
    {"!has(self.cloudfront) || has(self.target.cloudfront)",
     "cloudfront only applies to a cloudfront target"},
    {"!has(self.lambda) || has(self.target.lambda)", "lambda only applies to a lambda target"},
    {"!(has(self.target.cloudfront) || (has(self.target.rds) && has(self.target.rds.instance)) || "
     "(has(self.target.lambda) && !has(self.target.lambda.alias))) || "
     "!(has(self.minCapacity) || has(self.maxCapacity) || has(self.targetTracking) || "
     "has(self.stepScaling) || has(self.scheduled))",
     "minCapacity, maxCapacity, targetTracking, stepScaling and scheduled need a scalable target "
     "(ecs, rds cluster, elasticache, or lambda with an alias)"},
    {"!has(self.stepScaling) || !(has(self.target.elasticache) || has(self.target.lambda))",
     "Application Auto Scaling offers no step scaling for elasticache and lambda targets; use "
     "targetTracking"},
    {"!has(self.target.elasticache) || !has(self.target.elasticache.cacheCluster)",
     "target.elasticache.cacheCluster only applies to Alarms"},
    {"!has(self.targetTracking) || self.targetTracking.all(t, !has(t.predefinedMetric) || "
     "(has(self.target.ecs) && (t.predefinedMetric.startsWith('ECS') || "
     "t.predefinedMetric.startsWith('ALB'))) || "
     "(has(self.target.rds) && t.predefinedMetric.startsWith('RDS')) || "
     "(has(self.target.elasticache) && t.predefinedMetric.startsWith('ElastiCache')) || "
     "(has(self.target.lambda) && t.predefinedMetric.startsWith('Lambda')))",
     "a targetTracking predefinedMetric does not apply to this target"},
    {"!has(self.stepScaling) || !has(self.targetTracking) || "
     "self.stepScaling.all(s, self.targetTracking.all(t, t.name != s.name))",
     "stepScaling and targetTracking policy names must be unique"},
    {"!has(self.predictive) || has(self.target.ecs)",
     "Application Auto Scaling offers predictive scaling for ECS services only (target.ecs)"},
    {"!has(self.predictive) || ((!has(self.targetTracking) || "
     "self.predictive.all(p, self.targetTracking.all(t, t.name != p.name))) && "
     "(!has(self.stepScaling) || self.predictive.all(p, self.stepScaling.all(s, s.name != "
     "p.name))))",
     "predictive policy names must differ from targetTracking and stepScaling names"},
    {"!(has(self.target.rds) && has(self.target.rds.instance)) || has(self.vertical) || "
     "has(self.storage)",
     "an rds instance target needs vertical, storage or both"},
    {"!has(self.target.lambda) || has(self.target.lambda.alias) || has(self.lambda)",
     "target.lambda.alias is required unless the policy only sets lambda.reservedConcurrency"},
    {"!has(self.target.cloudfront) || has(self.cloudfront)",
     "cloudfront is required for a cloudfront target"},
    {"!has(self.budgetGuard) || "
     "self.budgetGuard.all(g, has(g.priceClass) == has(self.target.cloudfront))",
     "a cloudfront target is guarded by priceClass, any other target by maxCapacity"},
    {"!has(self.budgetGuard) || !has(self.minCapacity) || "
     "self.budgetGuard.all(g, !has(g.maxCapacity) || g.maxCapacity >= self.minCapacity)",
     "a budgetGuard maxCapacity must not be below minCapacity"},
    {"!has(self.budgetGuard) || !has(self.maxCapacity) || "
     "self.budgetGuard.all(g, !has(g.maxCapacity) || g.maxCapacity < self.maxCapacity)",
     "a budgetGuard maxCapacity must be below maxCapacity, or the guard never clamps"},
    {"!has(self.budgetGuard) || !(has(self.target.rds) && has(self.target.rds.instance))",
     "an rds instance target cannot be guarded by a budget"},
    {NULL, NULL},
};

static const tt_field scaling_policy_fields[] = {
    COMMON_FIELDS(tt_scaling_policy_spec),
    {.name = "target",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_scaling_policy_spec, target),
     .sub = &target_schema,
     .flags = TT_REQUIRED},
    {.name = "minCapacity",
     .type = TT_F_INT,
     .off = offsetof(tt_scaling_policy_spec, min_capacity),
     BOUNDS(0, 1000000),
     .doc = "Registered as the scalable target's minimum."},
    {.name = "maxCapacity",
     .type = TT_F_INT,
     .off = offsetof(tt_scaling_policy_spec, max_capacity),
     BOUNDS(0, 1000000),
     .doc = "Registered as the scalable target's maximum."},
    {.name = "targetTracking",
     .type = TT_F_LIST,
     .off = offsetof(tt_scaling_policy_spec, target_tracking),
     .count_off = offsetof(tt_scaling_policy_spec, ntarget_tracking),
     .sub = &target_tracking_schema,
     .flags = TT_KEYED,
     BOUNDS(0, 50)},
    {.name = "stepScaling",
     .type = TT_F_LIST,
     .off = offsetof(tt_scaling_policy_spec, step_scaling),
     .count_off = offsetof(tt_scaling_policy_spec, nstep_scaling),
     .sub = &step_scaling_schema,
     .flags = TT_KEYED,
     BOUNDS(0, 50)},
    {.name = "scheduled",
     .type = TT_F_LIST,
     .off = offsetof(tt_scaling_policy_spec, scheduled),
     .count_off = offsetof(tt_scaling_policy_spec, nscheduled),
     .sub = &scheduled_schema,
     .flags = TT_KEYED,
     BOUNDS(0, 200)},
    {.name = "predictive",
     .type = TT_F_LIST,
     .off = offsetof(tt_scaling_policy_spec, predictive),
     .count_off = offsetof(tt_scaling_policy_spec, npredictive),
     .sub = &predictive_schema,
     .flags = TT_KEYED,
     BOUNDS(0, 50),
     .doc = "Predictive scaling policies (ECS services)."},
    {.name = "vertical",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_scaling_policy_spec, vertical),
     .sub = &vertical_schema,
     .doc = "Vertical scaling of an RDS instance along a ladder."},
    {.name = "storage",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_scaling_policy_spec, storage),
     .sub = &storage_schema},
    {.name = "lambda",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_scaling_policy_spec, lambda),
     .sub = &lambda_extra_schema},
    {.name = "cloudfront",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_scaling_policy_spec, cloudfront),
     .sub = &cloudfront_edge_schema},
    {.name = "budgetGuard",
     .type = TT_F_LIST,
     .off = offsetof(tt_scaling_policy_spec, budget_guard),
     .count_off = offsetof(tt_scaling_policy_spec, nbudget_guard),
     .sub = &budget_guard_schema,
     BOUNDS(0, 10)},
};
static const tt_schema scaling_policy_schema = {
    "ScalingPolicy", SCHEMA(tt_scaling_policy_spec, scaling_policy_fields),
    .check = check_scaling_policy, .rules = scaling_policy_rules,
    .doc = "Scales one target within bounds."};

/* ---- Alarm --------------------------------------------------------------------------------- */

static const tt_field alarm_metric_fields[] = {
    {.name = "namespace",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_metric, namespace_),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255)},
    {.name = "metricName",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_metric, metric_name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 255)},
    {.name = "dimensions",
     .type = TT_F_STRMAP,
     .off = offsetof(tt_alarm_metric, dimensions),
     .count_off = offsetof(tt_alarm_metric, ndimensions),
     BOUNDS(0, 30),
     .items = &dim_value},
};
static const tt_schema alarm_metric_schema = {"metric",
                                              SCHEMA(tt_alarm_metric, alarm_metric_fields),
                                              .doc = "An explicit metric instead of a target."};

static void check_composite(tt_vctx *v, const json_t *obj, void *out)
{
    tt_composite *c = out;
    tt_error err;
    (void)obj;

    c->line = line_of(v, "rule");
    if (OK("rule") && tt_composite_rule_names(c->rule, NULL, NULL, &err) != TT_OK)
        tt_vctx_error(v, "rule", "%s", err.message);
}

static const tt_field composite_fields[] = {
    {.name = "rule",
     .type = TT_F_STRING,
     .off = offsetof(tt_composite, rule),
     .flags = TT_REQUIRED,
     BOUNDS(1, 10240),
     .doc = "ALARM(name) AND/OR/NOT …, with names of Alarm resources in this namespace."},
};
static const tt_schema composite_schema = {"composite", SCHEMA(tt_composite, composite_fields),
                                           .check = check_composite};

static void check_sp_ref(tt_vctx *v, const json_t *obj, void *out)
{
    (void)obj;
    ((tt_scaling_policy_ref *)out)->line = line_of(v, "name");
}

static const tt_field sp_ref_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_scaling_policy_ref, name),
     .flags = TT_REQUIRED,
     BOUNDS(1, 253),
     .check = tt_check_k8s_name,
     .pattern = K8S_NAME_PATTERN,
     .doc = "ScalingPolicy resource in this namespace."},
    {.name = "policy",
     .type = TT_F_STRING,
     .off = offsetof(tt_scaling_policy_ref, policy),
     .flags = TT_REQUIRED,
     BOUNDS(1, 63),
     .check = tt_check_dns_label,
     .pattern = DNS_LABEL_PATTERN,
     .doc = "One of its stepScaling policies."},
};
static const tt_schema sp_ref_schema = {
    "scalingPolicy", SCHEMA(tt_scaling_policy_ref, sp_ref_fields), .check = check_sp_ref};

static const tt_field action_fields[] = {
    {.name = "snsTopicArn",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_action, sns_topic_arn),
     .check = check_sns_arn,
     .pattern = SNS_ARN_PATTERN},
    {.name = "scalingPolicy",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_alarm_action, scaling_policy),
     .sub = &sp_ref_schema},
};
static const tt_schema action_schema = {"action", SCHEMA(tt_alarm_action, action_fields),
                                        .exactly_one = 1};

static const tt_field actions_fields[] = {
    {.name = "alarm",
     .type = TT_F_LIST,
     .off = offsetof(tt_alarm_actions, alarm),
     .count_off = offsetof(tt_alarm_actions, nalarm),
     .sub = &action_schema,
     BOUNDS(0, 5)},
    {.name = "ok",
     .type = TT_F_LIST,
     .off = offsetof(tt_alarm_actions, ok),
     .count_off = offsetof(tt_alarm_actions, nok),
     .sub = &action_schema,
     BOUNDS(0, 5)},
    {.name = "insufficientData",
     .type = TT_F_LIST,
     .off = offsetof(tt_alarm_actions, insufficient_data),
     .count_off = offsetof(tt_alarm_actions, ninsufficient_data),
     .sub = &action_schema,
     BOUNDS(0, 5)},
};
static const tt_schema actions_schema = {"actions", SCHEMA(tt_alarm_actions, actions_fields)};

static int has_scaling_action(const tt_alarm_actions *a)
{
    const tt_alarm_action *lists[3] = {a->alarm, a->ok, a->insufficient_data};
    size_t counts[3] = {a->nalarm, a->nok, a->ninsufficient_data};

    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            if (lists[l][i].scaling_policy != NULL)
                return 1;
        }
    }
    return 0;
}

static void check_alarm(tt_vctx *v, const json_t *obj, void *out)
{
    tt_alarm_spec *a = out;
    int kinds = (a->target != NULL) + (a->metric != NULL) + (a->composite != NULL);

    if (!OK("target") || !OK("metric") || !OK("composite"))
        return;
    if (kinds != 1) {
        tt_vctx_error(v, NULL, "set exactly one of target, metric and composite");
        return;
    }
    if (a->composite != NULL) {
        static const char *const metric_only[] = {"metricName",
                                                  "statistic",
                                                  "extendedStatistic",
                                                  "period",
                                                  "evaluationPeriods",
                                                  "datapointsToAlarm",
                                                  "threshold",
                                                  "comparison",
                                                  "treatMissingData",
                                                  "unit",
                                                  NULL};
        for (size_t i = 0; metric_only[i] != NULL; i++)
            forbid(v, obj, metric_only[i], "does not apply to a composite alarm");
        if (OK("actions") && a->actions != NULL && has_scaling_action(a->actions))
            tt_vctx_error(v, "actions",
                          "a composite alarm cannot trigger scaling policies; use SNS topics");
        return;
    }
    /* CloudFront publishes its metrics in us-east-1 only, so its alarms live there. */
    if (a->target != NULL && a->target->cloudfront != NULL && OK("region")) {
        if (a->common.region == NULL)
            a->common.region = "us-east-1";
        else if (strcmp(a->common.region, "us-east-1") != 0)
            tt_vctx_error(v, "region", "alarms on a CloudFront target live in us-east-1 (is %s)",
                          a->common.region);
    }
    if (!a->period.set)
        a->period = (tt_opt_int){60, true};
    if (!a->evaluation_periods.set)
        a->evaluation_periods = (tt_opt_int){1, true};
    if (a->treat_missing_data == NULL)
        a->treat_missing_data = "missing";
    if (OK("metricName") && a->target != NULL && a->metric_name == NULL)
        tt_vctx_error(v, "metricName", "is required with a target");
    if (OK("metricName") && a->metric != NULL && a->metric_name != NULL)
        tt_vctx_error(v, "metricName", "goes in metric.metricName when metric is set");
    if (a->target != NULL && a->target->elasticache != NULL &&
        json_object_get(json_object_get(json_object_get(obj, "target"), "elasticache"),
                        "dimension") != NULL)
        error_below(v, "target.elasticache.dimension", "only applies to ScalingPolicies");
    if (OK("statistic") && OK("extendedStatistic")) {
        if (a->statistic != NULL && a->extended_statistic != NULL)
            tt_vctx_error(v, "extendedStatistic", "set statistic or extendedStatistic, not both");
        if (a->statistic == NULL && a->extended_statistic == NULL)
            a->statistic = "Average";
    }
    if (OK("threshold") && !a->threshold.set)
        tt_vctx_error(v, "threshold", "is required");
    if (OK("comparison") && a->comparison == NULL)
        tt_vctx_error(v, "comparison", "is required");
    if (OK("period") && a->period.v != 10 && a->period.v != 30 && a->period.v % 60 != 0)
        tt_vctx_error(v, "period", "must be 10, 30 or a multiple of 60 seconds (is %lld)",
                      (long long)a->period.v);
    if (!OK("period") || !OK("evaluationPeriods") || !OK("datapointsToAlarm"))
        return;
    if (a->datapoints_to_alarm.set && a->datapoints_to_alarm.v > a->evaluation_periods.v)
        tt_vctx_error(v, "datapointsToAlarm", "must not exceed evaluationPeriods (%lld > %lld)",
                      (long long)a->datapoints_to_alarm.v, (long long)a->evaluation_periods.v);
    if (a->period.v * a->evaluation_periods.v > 7 * 86400 ||
        (a->period.v < 3600 && a->period.v * a->evaluation_periods.v > 86400))
        tt_vctx_error(v, "evaluationPeriods",
                      "period × evaluationPeriods may span at most one day (seven days for "
                      "periods of an hour or more)");
}

static const tt_cel_rule alarm_rules[] = {
    {"[has(self.target), has(self.metric), has(self.composite)].filter(x, x).size() == 1",
     "set exactly one of target, metric and composite"},
    {"has(self.composite) || has(self.threshold)", "threshold is required"},
    {"has(self.composite) || has(self.comparison)", "comparison is required"},
    {"!has(self.target) || has(self.metricName)", "metricName is required with a target"},
    {"!(has(self.statistic) && has(self.extendedStatistic))",
     "set statistic or extendedStatistic, not both"},
    {"!has(self.datapointsToAlarm) || "
     "self.datapointsToAlarm <= (has(self.evaluationPeriods) ? self.evaluationPeriods : 1)",
     "datapointsToAlarm must not exceed evaluationPeriods"},
    {"!has(self.composite) || !(has(self.metricName) || has(self.statistic) || "
     "has(self.extendedStatistic) || has(self.period) || has(self.evaluationPeriods) || "
     "has(self.datapointsToAlarm) || has(self.threshold) || has(self.comparison) || "
     "has(self.treatMissingData) || has(self.unit))",
     "metric settings do not apply to a composite alarm"},
    {"!has(self.composite) || !has(self.actions) || "
     "((!has(self.actions.alarm) || self.actions.alarm.all(a, !has(a.scalingPolicy))) && "
     "(!has(self.actions.ok) || self.actions.ok.all(a, !has(a.scalingPolicy))) && "
     "(!has(self.actions.insufficientData) || "
     "self.actions.insufficientData.all(a, !has(a.scalingPolicy))))",
     "a composite alarm cannot trigger scaling policies; use SNS topics"},
    {"!has(self.target) || !has(self.target.cloudfront) || !has(self.region) || "
     "self.region == 'us-east-1'",
     "alarms on a CloudFront target live in us-east-1"},
    {"!has(self.metric) || !has(self.metricName)",
     "metricName goes in metric.metricName when metric is set"},
    {"!has(self.target) || !has(self.target.elasticache) || "
     "!has(self.target.elasticache.dimension)",
     "target.elasticache.dimension only applies to ScalingPolicies"},
    {NULL, NULL},
};

static const tt_field alarm_fields[] = {
    COMMON_FIELDS(tt_alarm_spec),
    {.name = "target",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_alarm_spec, target),
     .sub = &target_schema,
     .doc = "Fills the namespace and dimensions from a target."},
    {.name = "metric",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_alarm_spec, metric),
     .sub = &alarm_metric_schema},
    {.name = "composite",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_alarm_spec, composite),
     .sub = &composite_schema},
    {.name = "metricName",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_spec, metric_name),
     BOUNDS(1, 255),
     .doc = "With target: the metric, e.g. CPUUtilization."},
    {.name = "statistic",
     .type = TT_F_ENUM,
     .off = offsetof(tt_alarm_spec, statistic),
     .enums = e_statistic,
     .doc = "Default Average unless extendedStatistic is set."},
    {.name = "extendedStatistic",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_spec, extended_statistic),
     .check = check_extended_statistic,
     .pattern = EXTENDED_STATISTIC_PATTERN,
     .doc = "A percentile such as p95."},
    /* period, evaluationPeriods and treatMissingData get their defaults in check_alarm, for
     * metric alarms only: a CRD default would put them into composite alarms, where they are
     * errors. */
    {.name = "period",
     .type = TT_F_DURATION,
     .off = offsetof(tt_alarm_spec, period),
     BOUNDS(10, 86400),
     .doc = "10, 30 or a multiple of 60 seconds; default 60."},
    {.name = "evaluationPeriods",
     .type = TT_F_INT,
     .off = offsetof(tt_alarm_spec, evaluation_periods),
     BOUNDS(1, 100000),
     .doc = "Default 1."},
    {.name = "datapointsToAlarm",
     .type = TT_F_INT,
     .off = offsetof(tt_alarm_spec, datapoints_to_alarm),
     BOUNDS(1, 100000)},
    {.name = "threshold", .type = TT_F_NUMBER, .off = offsetof(tt_alarm_spec, threshold)},
    {.name = "comparison",
     .type = TT_F_ENUM,
     .off = offsetof(tt_alarm_spec, comparison),
     .enums = e_comparison},
    {.name = "treatMissingData",
     .type = TT_F_ENUM,
     .off = offsetof(tt_alarm_spec, treat_missing_data),
     .enums = e_missing,
     .doc = "Default missing."},
    {.name = "unit", .type = TT_F_ENUM, .off = offsetof(tt_alarm_spec, unit), .enums = e_unit},
    {.name = "description",
     .type = TT_F_STRING,
     .off = offsetof(tt_alarm_spec, description),
     BOUNDS(0, 1024)},
    {.name = "actionsEnabled",
     .type = TT_F_BOOL,
     .off = offsetof(tt_alarm_spec, actions_enabled),
     DEFAULT_NUM(1)},
    {.name = "actions",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_alarm_spec, actions),
     .sub = &actions_schema},
};
static const tt_schema alarm_schema = {"Alarm", SCHEMA(tt_alarm_spec, alarm_fields),
                                       .check = check_alarm, .rules = alarm_rules,
                                       .doc = "A CloudWatch metric or composite alarm."};

/* ---- Budget -------------------------------------------------------------------------------- */

static const tt_field limit_fields[] = {
    {.name = "amount",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_budget_limit, amount),
     .flags = TT_REQUIRED,
     MORE_THAN_AT_MOST(0, 1e12)},
    {.name = "unit",
     .type = TT_F_STRING,
     .off = offsetof(tt_budget_limit, unit),
     BOUNDS(1, 32),
     DEFAULT_STR("USD"),
     .doc = "A currency code for COST budgets (USD), a usage unit (GB, Hrs) for USAGE."},
};
static const tt_schema limit_schema = {"limit", SCHEMA(tt_budget_limit, limit_fields)};

#define FILTER(n, m)                                                                      \
    {                                                                                     \
        .name = n, .type = TT_F_STRLIST, .off = offsetof(tt_cost_filters, m),             \
        .count_off = offsetof(tt_cost_filters, n##m), .flags = TT_UNIQUE, BOUNDS(1, 100), \
        .items = &nonempty_item                                                           \
    }

static const tt_field cost_filter_fields[] = {
    {.name = "service",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, service),
     .count_off = offsetof(tt_cost_filters, nservice),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item,
     .doc = "Service names as Cost Explorer shows them."},
    {.name = "region",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, region),
     .count_off = offsetof(tt_cost_filters, nregion),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &region_item},
    {.name = "linkedAccount",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, linked_account),
     .count_off = offsetof(tt_cost_filters, nlinked_account),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "usageType",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, usage_type),
     .count_off = offsetof(tt_cost_filters, nusage_type),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "usageTypeGroup",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, usage_type_group),
     .count_off = offsetof(tt_cost_filters, nusage_type_group),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "instanceType",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, instance_type),
     .count_off = offsetof(tt_cost_filters, ninstance_type),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "operation",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, operation),
     .count_off = offsetof(tt_cost_filters, noperation),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "purchaseType",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, purchase_type),
     .count_off = offsetof(tt_cost_filters, npurchase_type),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "availabilityZone",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, availability_zone),
     .count_off = offsetof(tt_cost_filters, navailability_zone),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "recordType",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_cost_filters, record_type),
     .count_off = offsetof(tt_cost_filters, nrecord_type),
     .flags = TT_UNIQUE,
     BOUNDS(1, 100),
     .items = &nonempty_item},
    {.name = "tags",
     .type = TT_F_STRMAP,
     .off = offsetof(tt_cost_filters, tags),
     .count_off = offsetof(tt_cost_filters, ntags),
     BOUNDS(1, 50),
     .items = &dim_value,
     .doc = "Cost allocation tag key to value."},
};
static const tt_schema cost_filters_schema = {"costFilters",
                                              SCHEMA(tt_cost_filters, cost_filter_fields)};

static const tt_field subscriber_fields[] = {
    {.name = "email",
     .type = TT_F_STRING,
     .off = offsetof(tt_subscriber, email),
     BOUNDS(3, 254),
     .check = check_email,
     .pattern = EMAIL_PATTERN},
    {.name = "snsTopicArn",
     .type = TT_F_STRING,
     .off = offsetof(tt_subscriber, sns_topic_arn),
     .check = check_sns_arn,
     .pattern = SNS_ARN_PATTERN},
};
static const tt_schema subscriber_schema = {"subscriber", SCHEMA(tt_subscriber, subscriber_fields),
                                            .exactly_one = 1};

static void check_notification(tt_vctx *v, const json_t *obj, void *out)
{
    tt_notification *n = out;
    size_t emails = 0, topics = 0;
    (void)obj;

    if (!OK("subscribers") || !OK("threshold") || !OK("thresholdType"))
        return;
    for (size_t i = 0; i < n->nsubscribers; i++) {
        const tt_subscriber *s = &n->subscribers[i];
        emails += s->email != NULL;
        topics += s->sns_topic_arn != NULL;
        for (size_t k = 0; k < i; k++) {
            const tt_subscriber *o = &n->subscribers[k];
            if ((s->email && o->email && strcasecmp(s->email, o->email) == 0) ||
                (s->sns_topic_arn && o->sns_topic_arn &&
                 strcmp(s->sns_topic_arn, o->sns_topic_arn) == 0))
                tt_vctx_error(v, "subscribers", "subscriber %zu repeats subscriber %zu", i, k);
        }
    }
    if (emails > 10)
        tt_vctx_error(v, "subscribers", "AWS Budgets allows at most 10 e-mail subscribers");
    if (topics > 1)
        tt_vctx_error(v, "subscribers", "AWS Budgets allows at most one SNS topic subscriber");
    if (strcmp(n->threshold_type, "PERCENTAGE") == 0 && n->threshold.v > 1000)
        tt_vctx_error(v, "threshold", "a percentage threshold must be at most 1000");
}

static const tt_field notification_fields[] = {
    {.name = "type",
     .type = TT_F_ENUM,
     .off = offsetof(tt_notification, type),
     .enums = e_notification_type,
     .flags = TT_REQUIRED},
    {.name = "comparison",
     .type = TT_F_ENUM,
     .off = offsetof(tt_notification, comparison),
     .enums = e_budget_comparison,
     DEFAULT_STR("GREATER_THAN")},
    {.name = "threshold",
     .type = TT_F_NUMBER,
     .off = offsetof(tt_notification, threshold),
     .flags = TT_REQUIRED,
     MORE_THAN_AT_MOST(0, 1e12),
     .doc = "Percent of the limit (PERCENTAGE) or an amount (ABSOLUTE_VALUE)."},
    {.name = "thresholdType",
     .type = TT_F_ENUM,
     .off = offsetof(tt_notification, threshold_type),
     .enums = e_threshold_type,
     DEFAULT_STR("PERCENTAGE")},
    {.name = "subscribers",
     .type = TT_F_LIST,
     .off = offsetof(tt_notification, subscribers),
     .count_off = offsetof(tt_notification, nsubscribers),
     .sub = &subscriber_schema,
     .flags = TT_REQUIRED,
     BOUNDS(1, 11)},
};
static const tt_cel_rule notification_rules[] = {
    {"self.subscribers.filter(s, has(s.email)).size() <= 10",
     "AWS Budgets allows at most 10 e-mail subscribers"},
    {"self.subscribers.filter(s, has(s.snsTopicArn)).size() <= 1",
     "AWS Budgets allows at most one SNS topic subscriber"},
    {"self.subscribers.all(a, self.subscribers.exists_one(b, "
     "(has(a.email) && has(b.email) && a.email.lowerAscii() == b.email.lowerAscii()) || "
     "(has(a.snsTopicArn) && has(b.snsTopicArn) && a.snsTopicArn == b.snsTopicArn)))",
     "a subscriber is listed twice"},
    {"self.thresholdType != 'PERCENTAGE' || self.threshold <= 1000.0",
     "a percentage threshold must be at most 1000"},
    {NULL, NULL},
};
static const tt_schema notification_schema = {
    "notification", SCHEMA(tt_notification, notification_fields), .check = check_notification,
    .rules = notification_rules};

static void check_budget(tt_vctx *v, const json_t *obj, void *out)
{
    tt_budget_spec *b = out;
    const char *why;
    (void)obj;

    if (OK("region") && b->common.region != NULL)
        tt_vctx_warn(v, "region", "AWS Budgets is a global service; region is ignored");
    if (!OK("limit") || !OK("budgetType") || !OK("notifications"))
        return;
    if (strcmp(b->budget_type, "COST") == 0 && (why = check_currency(b->limit->unit)) != NULL)
        error_below(v, "limit.unit", "'%s' %s", b->limit->unit, why);
    for (size_t i = 0; i < b->nnotifications; i++) {
        const tt_notification *n = &b->notifications[i];
        for (size_t k = 0; k < i; k++) {
            const tt_notification *o = &b->notifications[k];
            if (strcmp(n->type, o->type) == 0 && strcmp(n->comparison, o->comparison) == 0 &&
                strcmp(n->threshold_type, o->threshold_type) == 0 &&
                n->threshold.v == o->threshold.v)
                tt_vctx_error_item(v, "notifications", i, NULL, "repeats notifications[%zu]", k);
        }
    }
}

static const tt_cel_rule budget_rules[] = {
    {"self.budgetType != 'COST' || self.limit.unit.matches('^[A-Z]{3}$')",
     "limit.unit must be a currency code such as USD for a COST budget"},
    {"!has(self.notifications) || self.notifications.all(a, self.notifications.exists_one(b, "
     "a.type == b.type && a.comparison == b.comparison && a.thresholdType == b.thresholdType && "
     "a.threshold == b.threshold))",
     "two notifications have the same type, comparison and threshold"},
    {NULL, NULL},
};

static const tt_field budget_fields[] = {
    COMMON_FIELDS(tt_budget_spec),
    {.name = "limit",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_budget_spec, limit),
     .sub = &limit_schema,
     .flags = TT_REQUIRED},
    {.name = "timeUnit",
     .type = TT_F_ENUM,
     .off = offsetof(tt_budget_spec, time_unit),
     .enums = e_time_unit,
     DEFAULT_STR("MONTHLY")},
    {.name = "budgetType",
     .type = TT_F_ENUM,
     .off = offsetof(tt_budget_spec, budget_type),
     .enums = e_budget_type,
     DEFAULT_STR("COST")},
    {.name = "costFilters",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_budget_spec, cost_filters),
     .sub = &cost_filters_schema},
    {.name = "notifications",
     .type = TT_F_LIST,
     .off = offsetof(tt_budget_spec, notifications),
     .count_off = offsetof(tt_budget_spec, nnotifications),
     .sub = &notification_schema,
     BOUNDS(0, 5)},
};
static const tt_schema budget_schema = {"Budget", SCHEMA(tt_budget_spec, budget_fields),
                                        .check = check_budget, .rules = budget_rules,
                                        .doc = "An AWS Budget with notifications."};

/* ---- SecretRotation ----------------------------------------------------------------------- */

static void check_rotation_schedule(tt_vctx *v, const json_t *obj, void *out)
{
    tt_rotation_schedule *s = out;
    int64_t hours = 0;
    tt_error err;
    (void)obj;

    if (!OK("automaticallyAfterDays") || !OK("expression") || !OK("duration"))
        return;
    if (s->automatically_after_days.set == (s->expression != NULL)) {
        tt_vctx_error(v, NULL, "set exactly one of automaticallyAfterDays and expression");
        return;
    }
    if (s->expression != NULL && tt_sched_secrets_check(s->expression, &hours, &err) != TT_OK) {
        tt_vctx_error(v, "expression", "%s", err.message);
        return;
    }
    if (!s->duration.set)
        return;
    if (s->duration.v % 3600 != 0 || s->duration.v < 3600 || s->duration.v > 24 * 3600) {
        tt_vctx_error(v, "duration", "must be a whole number of hours from 1h to 24h");
        return;
    }
    if (s->automatically_after_days.set)
        tt_vctx_error(v, "duration", "needs a schedule expression, not automaticallyAfterDays");
    else if (hours > 0 && s->duration.v / 3600 >= hours)
        tt_vctx_error(v, "duration",
                      "the rotation window (%lldh) must be shorter than the "
                      "interval between rotations (%lldh)",
                      (long long)(s->duration.v / 3600), (long long)hours);
}

static const tt_field rotation_schedule_fields[] = {
    {.name = "automaticallyAfterDays",
     .type = TT_F_INT,
     .off = offsetof(tt_rotation_schedule, automatically_after_days),
     BOUNDS(1, 1000)},
    {.name = "expression",
     .type = TT_F_STRING,
     .off = offsetof(tt_rotation_schedule, expression),
     BOUNDS(1, 256),
     .doc = "rate(N days), rate(N hours) or an AWS cron()."},
    {.name = "duration",
     .type = TT_F_DURATION,
     .off = offsetof(tt_rotation_schedule, duration),
     .doc = "Length of the rotation window, whole hours (\"3h\")."},
};
static const tt_cel_rule rotation_schedule_rules[] = {
    {"has(self.automaticallyAfterDays) != has(self.expression)",
     "set exactly one of automaticallyAfterDays and expression"},
    {"!has(self.duration) || has(self.expression)",
     "duration needs a schedule expression, not automaticallyAfterDays"},
    {NULL, NULL},
};
static const tt_schema rotation_schedule_schema = {
    "schedule", SCHEMA(tt_rotation_schedule, rotation_schedule_fields),
    .check = check_rotation_schedule, .rules = rotation_schedule_rules};

static void check_rotation(tt_vctx *v, const json_t *obj, void *out)
{
    tt_secret_rotation_spec *r = out;
    (void)obj;

    for (size_t i = 0; OK("region") && OK("replicaRegions") && r->common.region != NULL &&
                       i < r->nreplica_regions;
         i++) {
        if (strcmp(r->replica_regions[i], r->common.region) == 0)
            tt_vctx_error(v, "replicaRegions", "'%s' is the secret's own region", r->common.region);
    }
}

static const tt_cel_rule rotation_rules[] = {
    {"!has(self.region) || !has(self.replicaRegions) || !(self.region in self.replicaRegions)",
     "replicaRegions must not include the secret's own region"},
    {NULL, NULL},
};

static const tt_field rotation_fields[] = {
    COMMON_FIELDS(tt_secret_rotation_spec),
    {.name = "secretId",
     .type = TT_F_STRING,
     .off = offsetof(tt_secret_rotation_spec, secret_id),
     .flags = TT_REQUIRED,
     BOUNDS(1, 2048),
     .doc = "Name or ARN of the secret."},
    {.name = "rotationLambdaArn",
     .type = TT_F_STRING,
     .off = offsetof(tt_secret_rotation_spec, rotation_lambda_arn),
     .check = check_lambda_arn,
     .pattern = LAMBDA_ARN_PATTERN,
     .doc = "The rotation function; optional for secrets that RDS manages."},
    {.name = "schedule",
     .type = TT_F_OBJECT,
     .off = offsetof(tt_secret_rotation_spec, schedule),
     .sub = &rotation_schedule_schema,
     .flags = TT_REQUIRED},
    {.name = "rotateImmediately",
     .type = TT_F_BOOL,
     .off = offsetof(tt_secret_rotation_spec, rotate_immediately),
     DEFAULT_NUM(0),
     .doc = "Rotate once as soon as rotation is configured or changed."},
    {.name = "replicaRegions",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_secret_rotation_spec, replica_regions),
     .count_off = offsetof(tt_secret_rotation_spec, nreplica_regions),
     .flags = TT_UNIQUE,
     BOUNDS(0, 50),
     .items = &region_item},
};
static const tt_schema rotation_schema = {
    "SecretRotation", SCHEMA(tt_secret_rotation_spec, rotation_fields), .check = check_rotation,
    .rules = rotation_rules, .doc = "Rotation of a Secrets Manager secret."};

/* ---- status (CRD only: trimtab writes status, never reads it from manifests) ------------- */

static const char *const e_condition_status[] = {"True", "False", "Unknown", NULL};
static const tt_field condition_fields[] = {
    {.name = "type", .type = TT_F_STRING, .flags = TT_REQUIRED, BOUNDS(1, 316)},
    {.name = "status", .type = TT_F_ENUM, .enums = e_condition_status, .flags = TT_REQUIRED},
    {.name = "reason", .type = TT_F_STRING, BOUNDS(0, 1024)},
    {.name = "message", .type = TT_F_STRING, BOUNDS(0, 32768)},
    {.name = "lastTransitionTime", .type = TT_F_STRING},
    {.name = "observedGeneration", .type = TT_F_INT, AT_LEAST(0)},
};
static const tt_schema condition_schema = {"condition", .fields = condition_fields,
                                           .nfields = NFIELDS(condition_fields)};

#define STATUS_COMMON                                                                        \
    {.name = "observedGeneration", .type = TT_F_INT, AT_LEAST(0)},                           \
        {.name = "conditions", .type = TT_F_LIST, .sub = &condition_schema},                 \
    {                                                                                        \
        .name = "target", .type = TT_F_STRING, .doc = "What the resource manages, in short." \
    }

static const tt_field activity_fields[] = {
    {.name = "time", .type = TT_F_STRING},   {.name = "from", .type = TT_F_INT},
    {.name = "to", .type = TT_F_INT},        {.name = "cause", .type = TT_F_STRING},
    {.name = "status", .type = TT_F_STRING},
};
static const tt_schema activity_schema = {"activity", .fields = activity_fields,
                                          .nfields = NFIELDS(activity_fields)};
static const tt_field string_value = {.name = "value", .type = TT_F_STRING};

static const tt_field forecast_peak_fields[] = {
    {.name = "policy", .type = TT_F_STRING, .doc = "The predictive policy (spec name)."},
    {.name = "capacity", .type = TT_F_NUMBER, .doc = "The highest forecast capacity ahead."},
    {.name = "time", .type = TT_F_STRING, .doc = "The hour it is forecast for."},
    {.name = "forecastUpdated", .type = TT_F_STRING, .doc = "When AWS made the forecast."},
};
static const tt_schema forecast_peak_schema = {"forecastPeak", .fields = forecast_peak_fields,
                                               .nfields = NFIELDS(forecast_peak_fields)};

static const tt_field sp_status_fields[] = {
    STATUS_COMMON,
    {.name = "currentCapacity", .type = TT_F_INT},
    {.name = "desiredCapacity", .type = TT_F_INT},
    {.name = "effectiveMaxCapacity", .type = TT_F_INT},
    {.name = "policyArns",
     .type = TT_F_STRMAP,
     .items = &string_value,
     .doc = "Policy name to ARN."},
    {.name = "lastScalingActivity", .type = TT_F_OBJECT, .sub = &activity_schema},
    {.name = "recentActivities", .type = TT_F_LIST, .sub = &activity_schema, BOUNDS(0, 10)},
    {.name = "forecastPeak",
     .type = TT_F_OBJECT,
     .sub = &forecast_peak_schema,
     .doc = "The next peak of the predictive policies' capacity forecast (read at most every "
            "ten minutes)."},
    {.name = "instanceClass", .type = TT_F_STRING},
    {.name = "priceClass", .type = TT_F_STRING},
};
static const tt_schema sp_status_schema = {"ScalingPolicyStatus", .fields = sp_status_fields,
                                           .nfields = NFIELDS(sp_status_fields)};

static const tt_field alarm_status_fields[] = {
    STATUS_COMMON,
    {.name = "state", .type = TT_F_STRING},
    {.name = "stateReason", .type = TT_F_STRING},
    {.name = "stateUpdatedTime", .type = TT_F_STRING},
    {.name = "alarmArn", .type = TT_F_STRING},
    {.name = "alarmName", .type = TT_F_STRING},
};
static const tt_schema alarm_status_schema = {"AlarmStatus", .fields = alarm_status_fields,
                                              .nfields = NFIELDS(alarm_status_fields)};

static const tt_field spend_fields[] = {
    {.name = "amount", .type = TT_F_NUMBER},
    {.name = "unit", .type = TT_F_STRING},
};
static const tt_schema spend_schema = {"spend", .fields = spend_fields,
                                       .nfields = NFIELDS(spend_fields)};
static const tt_field budget_status_fields[] = {
    STATUS_COMMON,
    {.name = "budgetName", .type = TT_F_STRING},
    {.name = "actualSpend", .type = TT_F_OBJECT, .sub = &spend_schema},
    {.name = "forecastedSpend", .type = TT_F_OBJECT, .sub = &spend_schema},
    {.name = "percentUsed", .type = TT_F_NUMBER},
    {.name = "thresholdsExceeded", .type = TT_F_STRLIST, .items = &string_value},
};
static const tt_schema budget_status_schema = {"BudgetStatus", .fields = budget_status_fields,
                                               .nfields = NFIELDS(budget_status_fields)};

static const tt_field rotation_status_fields[] = {
    STATUS_COMMON,
    {.name = "rotationEnabled", .type = TT_F_BOOL},
    {.name = "lastRotatedDate", .type = TT_F_STRING},
    {.name = "nextRotationDate", .type = TT_F_STRING},
    {.name = "currentVersionId", .type = TT_F_STRING},
    {.name = "lastRotationResult", .type = TT_F_STRING},
    {.name = "replicaRegions", .type = TT_F_STRLIST, .items = &string_value},
};
static const tt_schema rotation_status_schema = {"SecretRotationStatus",
                                                 .fields = rotation_status_fields,
                                                 .nfields = NFIELDS(rotation_status_fields)};

/* ---- metadata --------------------------------------------------------------------------- */

static const tt_field label_value = {
    .name = "value", .type = TT_F_STRING, BOUNDS(0, 63), .check = check_label_value};
static const tt_field annotation_value = {.name = "value", .type = TT_F_STRING};
static const tt_field finalizer_item = {.name = "finalizer", .type = TT_F_STRING, BOUNDS(1, 316)};

static const tt_field metadata_fields[] = {
    {.name = "name",
     .type = TT_F_STRING,
     .off = offsetof(tt_metadata, name),
     .flags = TT_REQUIRED,
     .check = tt_check_k8s_name},
    {.name = "namespace",
     .type = TT_F_STRING,
     .off = offsetof(tt_metadata, namespace_),
     .check = tt_check_dns_label},
    {.name = "labels",
     .type = TT_F_STRMAP,
     .off = offsetof(tt_metadata, labels),
     .count_off = offsetof(tt_metadata, nlabels),
     .items = &label_value},
    {.name = "annotations",
     .type = TT_F_STRMAP,
     .off = offsetof(tt_metadata, annotations),
     .count_off = offsetof(tt_metadata, nannotations),
     .items = &annotation_value},
    {.name = "generation", .type = TT_F_INT, .off = offsetof(tt_metadata, generation), AT_LEAST(0)},
    {.name = "resourceVersion",
     .type = TT_F_STRING,
     .off = offsetof(tt_metadata, resource_version)},
    {.name = "uid", .type = TT_F_STRING, .off = offsetof(tt_metadata, uid)},
    {.name = "deletionTimestamp",
     .type = TT_F_STRING,
     .off = offsetof(tt_metadata, deletion_timestamp)},
    {.name = "finalizers",
     .type = TT_F_STRLIST,
     .off = offsetof(tt_metadata, finalizers),
     .count_off = offsetof(tt_metadata, nfinalizers),
     .items = &finalizer_item},
    {.name = "creationTimestamp", .type = TT_F_ANY},
    {.name = "generateName", .type = TT_F_ANY},
    {.name = "selfLink", .type = TT_F_ANY},
    {.name = "deletionGracePeriodSeconds", .type = TT_F_ANY},
    {.name = "ownerReferences", .type = TT_F_ANY},
    {.name = "managedFields", .type = TT_F_ANY},
};
/* The keys of labels and annotations, which the API server checks as qualified names. */
static void check_metadata(tt_vctx *v, const json_t *obj, void *out)
{
    static const char *const maps[] = {"labels", "annotations"};
    (void)out;

    for (size_t m = 0; m < 2; m++) {
        const json_t *map = json_object_get(obj, maps[m]);
        const char *key;
        json_t *val;
        size_t old;
        if (!OK(maps[m]) || !json_is_object(map))
            continue;
        old = tt_path_push_key(&v->path, maps[m]);
        json_object_foreach((json_t *)map, key, val)
        {
            const char *why = check_qualified_name(key);
            if (why != NULL)
                tt_vctx_error(v, key, "key '%s' %s", key, why);
        }
        tt_path_pop(&v->path, old);
    }
}

const tt_schema tt_metadata_schema = {"metadata", SCHEMA(tt_metadata, metadata_fields),
                                      .check = check_metadata};

/* ---- by kind ------------------------------------------------------------------------------- */

const tt_schema *tt_model_spec_schema(tt_kind k)
{
    static const tt_schema *const specs[TT_KIND_COUNT] = {&scaling_policy_schema, &alarm_schema,
                                                          &budget_schema, &rotation_schema};
    return (unsigned)k < TT_KIND_COUNT ? specs[k] : NULL;
}

const tt_schema *tt_model_status_schema(tt_kind k)
{
    static const tt_schema *const st[TT_KIND_COUNT] = {
        &sp_status_schema, &alarm_status_schema, &budget_status_schema, &rotation_status_schema};
    return (unsigned)k < TT_KIND_COUNT ? st[k] : NULL;
}
