/*
 * End to end through trimtab's AWS layer against a real local endpoint: awssim (argument
 * "awssim": every service trimtab uses, signatures verified, fault injection through its
 * /_awssim/ control API) or moto (argument "moto": the independent second opinion, on the
 * operations it implements). Each step is one call with its input as boto3 would take it and
 * the output fields the step relies on. Exits 77 (skipped) when the server cannot be started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_test_util.h"
#include "tt_aws.h"

static test_server server;
static struct ev_loop *loop;
static tt_aws *aws;
static int is_awssim;

/* Calls and returns the output (new reference), failing the test on an error. */
static json_t *call_ok(const char *service, const char *op, const char *input_json, int paginate)
{
    json_error_t jerr;
    json_t *in = input_json != NULL ? json_loads(input_json, 0, &jerr) : NULL;
    json_t *out = NULL;
    tt_error err;
    if (input_json != NULL && in == NULL)
        fail_msg("bad test input for %s: %s", op, jerr.text);
    tt_aws_req req = {service, op, NULL, NULL, in};
    if (tt_aws_call_sync(aws, &req, paginate, &out, &err) != TT_OK)
        fail_msg("%s %s failed: %s", service, op, err.message);
    json_decref(in);
    return out;
}

/* Calls expecting an error; returns its record. */
static tt_error call_err(const char *service, const char *op, const char *input_json)
{
    json_error_t jerr;
    json_t *in = input_json != NULL ? json_loads(input_json, 0, &jerr) : NULL;
    json_t *out = NULL;
    tt_error err;
    tt_error_clear(&err);
    tt_aws_req req = {service, op, NULL, NULL, in};
    if (tt_aws_call_sync(aws, &req, 0, &out, &err) == TT_OK)
        fail_msg("%s %s succeeded but should have failed", service, op);
    json_decref(in);
    return err;
}

static const char *str_at(json_t *obj, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    json_t *cur = obj;
    for (char *p = strtok_r(buf, ".", &save); p != NULL && cur != NULL;
         p = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(p)) : json_object_get(cur, p);
    return json_string_value(cur);
}

static void identity_and_ecs_scaling(void **state)
{
    (void)state;
    json_t *o = call_ok("sts", "GetCallerIdentity", NULL, 0);
    assert_string_equal(str_at(o, "Account"), "123456789012");
    json_decref(o);
    json_decref(call_ok("ecs", "CreateCluster", "{\"clusterName\": \"prod\"}", 0));
    json_decref(call_ok("ecs", "RegisterTaskDefinition",
                        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"api\", "
                        "\"image\": \"nginx\", \"memory\": 128}]}",
                        0));
    json_decref(call_ok("ecs", "CreateService",
                        "{\"cluster\": \"prod\", \"serviceName\": \"api\", \"taskDefinition\": "
                        "\"api\", \"desiredCount\": 2}",
                        0));
    o = call_ok("ecs", "DescribeServices", "{\"cluster\": \"prod\", \"services\": [\"api\"]}", 0);
    assert_string_equal(str_at(o, "services.0.serviceName"), "api");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "services"), 0), "desiredCount")),
                     2);
    json_decref(o);
    json_decref(call_ok("application-autoscaling", "RegisterScalableTarget",
                        "{\"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/prod/api\", "
                        "\"ScalableDimension\": \"ecs:service:DesiredCount\", \"MinCapacity\": 1, "
                        "\"MaxCapacity\": 6}",
                        0));
    o = call_ok("application-autoscaling", "PutScalingPolicy",
                "{\"PolicyName\": \"cpu70\", \"ServiceNamespace\": \"ecs\", \"ResourceId\": "
                "\"service/prod/api\", \"ScalableDimension\": \"ecs:service:DesiredCount\", "
                "\"PolicyType\": \"TargetTrackingScaling\", "
                "\"TargetTrackingScalingPolicyConfiguration\": {\"TargetValue\": 70.0, "
                "\"PredefinedMetricSpecification\": {\"PredefinedMetricType\": "
                "\"ECSServiceAverageCPUUtilization\"}}}",
                0);
    assert_non_null(str_at(o, "PolicyARN"));
    json_decref(o);
    o = call_ok("application-autoscaling", "DescribeScalableTargets",
                "{\"ServiceNamespace\": \"ecs\", \"ResourceIds\": [\"service/prod/api\"]}", 1);
    assert_int_equal(json_array_size(json_object_get(o, "ScalableTargets")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "ScalableTargets"), 0), "MaxCapacity")),
                     6);
    /* CreationTime is a timestamp: an ISO 8601 string in outputs. */
    const char *created = str_at(o, "ScalableTargets.0.CreationTime");
    assert_non_null(created);
    assert_int_equal(strlen(created) >= 20 && created[10] == 'T', 1);
    json_decref(o);
}

static void alarms_paginated(void **state)
{
    (void)state;
    for (int i = 0; i < 7; i++) {
        char in[512];
        snprintf(in, sizeof(in),
                 "{\"AlarmName\": \"trimtab-ns-a%d\", \"MetricName\": \"CPUUtilization\", "
                 "\"Namespace\": \"AWS/ECS\", \"Statistic\": \"Average\", \"Period\": 60, "
                 "\"EvaluationPeriods\": 2, \"Threshold\": 70.5, \"ComparisonOperator\": "
                 "\"GreaterThanThreshold\", \"Dimensions\": [{\"Name\": \"ClusterName\", "
                 "\"Value\": \"prod\"}], \"Tags\": [{\"Key\": \"trimtab.dev/owner\", \"Value\": "
                 "\"ns/a\"}]}",
                 i);
        json_decref(call_ok("cloudwatch", "PutMetricAlarm", in, 0));
    }
    /* Three per page: the paginator follows NextToken and merges. */
    json_t *o = call_ok("cloudwatch", "DescribeAlarms",
                        "{\"AlarmNamePrefix\": \"trimtab-ns-\", \"MaxRecords\": 3}", 1);
    json_t *alarms = json_object_get(o, "MetricAlarms");
    assert_int_equal(json_array_size(alarms), 7);
    assert_null(json_object_get(o, "NextToken"));
    assert_true(json_real_value(json_object_get(json_array_get(alarms, 0), "Threshold")) == 70.5);
    json_decref(o);
    json_decref(call_ok("cloudwatch", "DeleteAlarms", "{\"AlarmNames\": [\"trimtab-ns-a0\"]}", 0));
    o = call_ok("cloudwatch", "DescribeAlarms", "{\"AlarmNamePrefix\": \"trimtab-ns-\"}", 1);
    assert_int_equal(json_array_size(json_object_get(o, "MetricAlarms")), 6);
    json_decref(o);
}

static void rds_and_secrets(void **state)
{
    (void)state;
    json_t *o =
        call_ok("rds", "CreateDBInstance",
                "{\"DBInstanceIdentifier\": \"pg1\", \"DBInstanceClass\": \"db.t4g.small\", "
                "\"Engine\": \"postgres\", \"AllocatedStorage\": 20, \"MasterUsername\": "
                "\"app\", \"MasterUserPassword\": \"correct-horse-battery\", \"Tags\": "
                "[{\"Key\": \"trimtab.dev/owner\", \"Value\": \"ns/db\"}]}",
                0);
    assert_string_equal(str_at(o, "DBInstance.DBInstanceIdentifier"), "pg1");
    json_decref(o);
    o = call_ok("rds", "DescribeDBInstances", "{\"DBInstanceIdentifier\": \"pg1\"}", 1);
    assert_string_equal(str_at(o, "DBInstances.0.DBInstanceClass"), "db.t4g.small");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "DBInstances"), 0), "AllocatedStorage")),
                     20);
    json_decref(o);
    tt_error e = call_err("rds", "DescribeDBInstances", "{\"DBInstanceIdentifier\": \"nope\"}");
    assert_int_equal(e.code, TT_ENOTFOUND);
    assert_string_equal(e.service_code, "DBInstanceNotFound");
    assert_int_equal(e.http_status, 404);

    o = call_ok("secretsmanager", "CreateSecret",
                "{\"Name\": \"db-creds\", \"SecretString\": \"{}\"}", 0);
    assert_non_null(str_at(o, "ARN"));
    json_decref(o);
    o = call_ok("secretsmanager", "DescribeSecret", "{\"SecretId\": \"db-creds\"}", 0);
    assert_string_equal(str_at(o, "Name"), "db-creds");
    json_decref(o);
}

static void cloudfront_etag_if_match(void **state)
{
    (void)state;
    json_t *o = call_ok(
        "cloudfront", "CreateDistribution",
        "{\"DistributionConfig\": {\"CallerReference\": \"ref-1\", \"Comment\": \"a & b <c>\", "
        "\"Enabled\": true, \"Origins\": {\"Quantity\": 1, \"Items\": [{\"Id\": \"o1\", "
        "\"DomainName\": \"example.com\", \"CustomOriginConfig\": {\"HTTPPort\": 80, "
        "\"HTTPSPort\": 443, \"OriginProtocolPolicy\": \"https-only\"}}]}, "
        "\"DefaultCacheBehavior\": {\"TargetOriginId\": \"o1\", \"ViewerProtocolPolicy\": "
        "\"allow-all\", \"MinTTL\": 0, \"ForwardedValues\": {\"QueryString\": false, "
        "\"Cookies\": {\"Forward\": \"none\"}}}, \"PriceClass\": \"PriceClass_All\"}}",
        0);
    char id[64];
    snprintf(id, sizeof(id), "%s", str_at(o, "Distribution.Id"));
    json_decref(o);
    char in[128];
    snprintf(in, sizeof(in), "{\"Id\": \"%s\"}", id);
    json_t *cfg = call_ok("cloudfront", "GetDistributionConfig", in, 0);
    const char *etag = str_at(cfg, "ETag");
    assert_non_null(etag);
    assert_string_equal(str_at(cfg, "DistributionConfig.Comment"), "a & b <c>");
    json_t *dc = json_object_get(cfg, "DistributionConfig");
    json_object_set_new(dc, "PriceClass", json_string("PriceClass_100"));
    json_t *upd = json_pack("{s:s, s:s, s:O}", "Id", id, "IfMatch", etag, "DistributionConfig", dc);
    char *text = json_dumps(upd, 0);
    o = call_ok("cloudfront", "UpdateDistribution", text, 0);
    assert_string_equal(str_at(o, "Distribution.DistributionConfig.PriceClass"), "PriceClass_100");
    assert_non_null(str_at(o, "ETag"));
    json_decref(o);
    free(text);
    if (is_awssim) {
        /* The old ETag is stale now: a 412 conflict, never a blind overwrite. */
        text = json_dumps(upd, 0);
        tt_error e = call_err("cloudfront", "UpdateDistribution", text);
        free(text);
        assert_int_equal(e.code, TT_ECONFLICT);
        assert_int_equal(e.http_status, 412);
    }
    json_decref(upd);
    json_decref(cfg);
}

static void lambda_concurrency(void **state)
{
    (void)state;
    if (!is_awssim)
        skip(); /* moto's Lambda needs IAM roles and Docker */
    json_decref(call_ok("lambda", "CreateFunction",
                        "{\"FunctionName\": \"worker\", \"Runtime\": \"python3.12\", \"Role\": "
                        "\"arn:aws:iam::123456789012:role/r\", \"Handler\": \"h.h\", \"Code\": "
                        "{\"ZipFile\": \"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}}",
                        0));
    json_t *v = call_ok("lambda", "PublishVersion", "{\"FunctionName\": \"worker\"}", 0);
    char in[256];
    snprintf(in, sizeof(in),
             "{\"FunctionName\": \"worker\", \"Name\": \"live\", \"FunctionVersion\": \"%s\"}",
             str_at(v, "Version"));
    json_decref(v);
    json_decref(call_ok("lambda", "CreateAlias", in, 0));
    json_t *o = call_ok("lambda", "PutFunctionConcurrency",
                        "{\"FunctionName\": \"worker\", \"ReservedConcurrentExecutions\": 50}", 0);
    assert_int_equal(json_integer_value(json_object_get(o, "ReservedConcurrentExecutions")), 50);
    json_decref(o);
    o = call_ok("lambda", "PutProvisionedConcurrencyConfig",
                "{\"FunctionName\": \"worker\", \"Qualifier\": \"live\", "
                "\"ProvisionedConcurrentExecutions\": 5}",
                0);
    assert_int_equal(
        json_integer_value(json_object_get(o, "RequestedProvisionedConcurrentExecutions")), 5);
    json_decref(o);
    o = call_ok("lambda", "GetProvisionedConcurrencyConfig",
                "{\"FunctionName\": \"worker\", \"Qualifier\": \"live\"}", 0);
    assert_non_null(str_at(o, "Status"));
    json_decref(o);
    json_decref(
        call_ok("lambda", "DeleteFunctionConcurrency", "{\"FunctionName\": \"worker\"}", 0));
}

static void budgets_and_elasticache(void **state)
{
    (void)state;
    if (!is_awssim)
        skip();
    json_decref(call_ok("budgets", "CreateBudget",
                        "{\"AccountId\": \"123456789012\", \"Budget\": {\"BudgetName\": "
                        "\"team\", \"BudgetLimit\": {\"Amount\": \"60\", \"Unit\": \"EUR\"}, "
                        "\"TimeUnit\": \"MONTHLY\", \"BudgetType\": \"COST\"}, "
                        "\"NotificationsWithSubscribers\": [{\"Notification\": "
                        "{\"NotificationType\": \"ACTUAL\", \"ComparisonOperator\": "
                        "\"GREATER_THAN\", \"Threshold\": 80, \"ThresholdType\": \"PERCENTAGE\"}, "
                        "\"Subscribers\": [{\"SubscriptionType\": \"EMAIL\", \"Address\": "
                        "\"ops@example.com\"}]}]}",
                        0));
    json_t *o = call_ok("budgets", "DescribeBudgets", "{\"AccountId\": \"123456789012\"}", 1);
    assert_string_equal(str_at(o, "Budgets.0.BudgetName"), "team");
    json_decref(o);
    o = call_ok("budgets", "DescribeNotificationsForBudget",
                "{\"AccountId\": \"123456789012\", \"BudgetName\": \"team\"}", 1);
    assert_int_equal(json_array_size(json_object_get(o, "Notifications")), 1);
    assert_true(json_number_value(json_object_get(
                    json_array_get(json_object_get(o, "Notifications"), 0), "Threshold")) == 80);
    json_decref(o);
    o = call_ok("elasticache", "DescribeReplicationGroups", NULL, 1);
    assert_true(json_is_array(json_object_get(o, "ReplicationGroups")));
    json_decref(o);
}

static void faults_are_retried(void **state)
{
    (void)state;
    if (!is_awssim)
        skip();
    test_post(server.endpoint, "/_awssim/calls/reset", "{}");
    test_post(server.endpoint, "/_awssim/faults",
              "{\"kind\": \"throttle\", \"service\": \"sts\", \"operation\": "
              "\"GetCallerIdentity\", \"count\": 2}");
    json_decref(call_ok("sts", "GetCallerIdentity", NULL, 0));
    json_t *calls =
        test_http_json(server.endpoint, "/_awssim/calls?operation=GetCallerIdentity", NULL);
    assert_int_equal(json_array_size(json_object_get(calls, "calls")), 3);
    json_decref(calls);
    assert_true(tt_aws_metric(aws, "sts", "GetCallerIdentity", TT_AWS_RETRIED) >= 2);

    /* Three 503s use up the three attempts: the error surfaces, classified. */
    test_post(server.endpoint, "/_awssim/faults",
              "{\"kind\": \"error\", \"status\": 503, \"service\": \"sts\", \"operation\": "
              "\"GetCallerIdentity\", \"count\": 3}");
    tt_error e = call_err("sts", "GetCallerIdentity", NULL);
    assert_int_equal(e.code, TT_EUNAVAILABLE);
    assert_int_equal(e.http_status, 503);

    /* A connection reset is retried like any transient failure. */
    test_post(server.endpoint, "/_awssim/faults",
              "{\"kind\": \"reset\", \"service\": \"sts\", \"operation\": "
              "\"GetCallerIdentity\", \"count\": 1}");
    json_decref(call_ok("sts", "GetCallerIdentity", NULL, 0));
}

static void cloudwatch_json_protocol(void **state)
{
    static const char *const json_services[] = {"cloudwatch", NULL};
    tt_aws_config cfg = {.max_backoff = 0.05, .json_services = json_services};
    tt_error err;
    (void)state;
    if (!is_awssim)
        skip();
    /* A second client that speaks JSON 1.0 to CloudWatch. */
    tt_aws *classic = aws;
    aws = tt_aws_create(loop, &cfg, &err);
    assert_non_null(aws);
    for (int i = 0; i < 4; i++) {
        char in[512];
        snprintf(in, sizeof(in),
                 "{\"AlarmName\": \"trimtab-json-a%d\", \"MetricName\": \"Errors\", "
                 "\"Namespace\": \"AWS/Lambda\", \"Statistic\": \"Sum\", \"Period\": 60, "
                 "\"EvaluationPeriods\": 1, \"Threshold\": 1.5, \"ComparisonOperator\": "
                 "\"GreaterThanOrEqualToThreshold\"}",
                 i);
        json_decref(call_ok("cloudwatch", "PutMetricAlarm", in, 0));
    }
    json_t *o = call_ok("cloudwatch", "DescribeAlarms",
                        "{\"AlarmNamePrefix\": \"trimtab-json-\", \"MaxRecords\": 3}", 1);
    assert_int_equal(json_array_size(json_object_get(o, "MetricAlarms")), 4);
    assert_true(json_real_value(json_object_get(
                    json_array_get(json_object_get(o, "MetricAlarms"), 0), "Threshold")) == 1.5);
    const char *updated = str_at(o, "MetricAlarms.0.StateUpdatedTimestamp");
    assert_non_null(updated);
    assert_int_equal(updated[10], 'T');
    json_decref(o);
    /* Errors keep their Query codes (x-amzn-query-error). */
    tt_error e = call_err("cloudwatch", "SetAlarmState",
                          "{\"AlarmName\": \"no-such-alarm\", \"StateValue\": \"ALARM\", "
                          "\"StateReason\": \"test\"}");
    assert_string_equal(e.service_code, "ResourceNotFound");
    assert_int_equal(e.code, TT_ENOTFOUND);
    tt_aws_destroy(aws);
    aws = classic;
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "awssim";
    const char *script =
        strcmp(which, "moto") == 0 ? "tests/aws/moto_server.py" : "tests/awssim/server.py";
    is_awssim = strcmp(which, "awssim") == 0;
    if (access(test_source_path(script), R_OK) != 0) {
        fprintf(stderr, "%s is not there yet: skipped\n", script);
        return 77;
    }
    if (test_server_start(&server, script, NULL) != 0) {
        fprintf(stderr, "cannot start %s: skipped\n", script);
        return 77;
    }
    setenv("AWS_ENDPOINT_URL", server.endpoint, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    loop = ev_loop_new(EVFLAG_AUTO);
    tt_error err;
    tt_aws_config cfg = {.max_backoff = 0.05};
    aws = tt_aws_create(loop, &cfg, &err);
    if (aws == NULL) {
        fprintf(stderr, "tt_aws_create: %s\n", err.message);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_and_ecs_scaling), cmocka_unit_test(alarms_paginated),
        cmocka_unit_test(rds_and_secrets),          cmocka_unit_test(cloudfront_etag_if_match),
        cmocka_unit_test(lambda_concurrency),       cmocka_unit_test(budgets_and_elasticache),
        cmocka_unit_test(faults_are_retried),       cmocka_unit_test(cloudwatch_json_protocol),
    };
    int rc = cmocka_run_group_tests_name(which, tests, NULL, NULL);
    tt_aws_destroy(aws);
    ev_loop_destroy(loop);
    test_server_stop(&server);
    return rc;
}
