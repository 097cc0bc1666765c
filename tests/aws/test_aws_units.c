/*
 * Unit tests of the AWS layer's pure parts: retry policy, token bucket, Retry-After,
 * endpoints and overrides, timestamps, the embedded models, validation, the Query serialiser,
 * XML and JSON parsing by shape, error classification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tt_aws_endpoint.h"
#include "tt_aws_model.h"
#include "tt_aws_protocol.h"
#include "tt_aws_retry.h"

static tt_aws_models *models;

static const tt_aws_service *svc(const char *name)
{
    tt_error err;
    const tt_aws_service *s = tt_aws_models_get(models, name, &err);
    if (s == NULL)
        fail_msg("model %s: %s", name, err.message);
    return s;
}

static void standard_retry_policy(void **state)
{
    tt_aws_quota q;
    (void)state;
    assert_true(tt_aws_backoff(1, 20, 0.0) == 0.0);
    assert_true(tt_aws_backoff(1, 20, 0.999) < 2.0);
    assert_true(tt_aws_backoff(3, 20, 0.5) == 4.0);
    assert_true(tt_aws_backoff(10, 20, 0.999) <= 20.0);
    assert_true(tt_aws_backoff(100, 20, 1.0) == 20.0);
    tt_aws_quota_init(&q);
    assert_int_equal(q.tokens, 500);
    assert_int_equal(tt_aws_quota_acquire(&q, 0), 5);
    assert_int_equal(tt_aws_quota_acquire(&q, 1), 10);
    assert_int_equal(q.tokens, 485);
    tt_aws_quota_release(&q, 10);
    assert_int_equal(q.tokens, 495);
    tt_aws_quota_release(&q, 0);
    assert_int_equal(q.tokens, 496);
    for (int i = 0; i < 200; i++)
        tt_aws_quota_release(&q, 0);
    assert_int_equal(q.tokens, 500);
    q.tokens = 7;
    assert_int_equal(tt_aws_quota_acquire(&q, 1), 0); /* a timeout retry needs 10 */
    assert_int_equal(tt_aws_quota_acquire(&q, 0), 5);
    assert_int_equal(tt_aws_quota_acquire(&q, 0), 0);
}

static void retry_after_and_bucket(void **state)
{
    tt_aws_bucket b;
    (void)state;
    assert_true(tt_aws_retry_after("3", 0) == 3.0);
    assert_true(tt_aws_retry_after("0.5", 0) == 0.5);
    assert_true(tt_aws_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480) == 10.0);
    assert_true(tt_aws_retry_after("soon", 0) < 0);
    assert_true(tt_aws_retry_after(NULL, 0) < 0);
    tt_aws_bucket_init(&b, 10, 2, 100.0);
    assert_true(tt_aws_bucket_take(&b, 100.0) == 0);
    assert_true(tt_aws_bucket_take(&b, 100.0) == 0);
    double d1 = tt_aws_bucket_take(&b, 100.0);
    double d2 = tt_aws_bucket_take(&b, 100.0);
    assert_true(d1 > 0.099 && d1 < 0.101);
    assert_true(d2 > 0.199 && d2 < 0.201);           /* callers keep their order */
    assert_true(tt_aws_bucket_take(&b, 101.0) == 0); /* refilled */
    tt_aws_bucket_init(&b, 0, 0, 0);
    assert_true(tt_aws_bucket_take(&b, 0) == 0); /* rate 0: unlimited */
}

static void endpoints(void **state)
{
    tt_aws_endpoint ep;
    tt_error err;
    (void)state;
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    assert_int_equal(tt_aws_endpoint_resolve(svc("ecs"), "eu-west-3", NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.url, "https://ecs.eu-west-3.amazonaws.com");
    assert_string_equal(ep.signing_region, "eu-west-3");
    assert_int_equal(tt_aws_endpoint_resolve(svc("cloudwatch"), "us-west-2", NULL, &ep, &err),
                     TT_OK);
    assert_string_equal(ep.host, "monitoring.us-west-2.amazonaws.com");
    assert_int_equal(tt_aws_endpoint_resolve(svc("rds"), "cn-north-1", NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.host, "rds.cn-north-1.amazonaws.com.cn");
    assert_int_equal(tt_aws_endpoint_resolve(svc("cloudfront"), "eu-west-1", NULL, &ep, &err),
                     TT_OK);
    assert_string_equal(ep.url, "https://cloudfront.amazonaws.com");
    assert_string_equal(ep.signing_region, "us-east-1");
    assert_int_equal(tt_aws_endpoint_resolve(svc("budgets"), NULL, NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.host, "budgets.amazonaws.com");
    assert_string_equal(ep.signing_region, "us-east-1");
    assert_int_equal(tt_aws_endpoint_resolve(svc("sts"), "ap-south-1", NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.host, "sts.ap-south-1.amazonaws.com");
    assert_int_equal(tt_aws_endpoint_resolve(svc("lambda"), NULL, NULL, &ep, &err), TT_EINVAL);
    assert_int_equal(tt_aws_endpoint_resolve(svc("lambda"), "evil.com/x", NULL, &ep, &err),
                     TT_EINVAL);

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
    setenv("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", "http://localhost:9000/base", 1);
    assert_int_equal(tt_aws_endpoint_resolve(svc("ecs"), "eu-west-3", NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.url, "http://127.0.0.1:4566");
    assert_string_equal(ep.host, "127.0.0.1:4566");
    assert_int_equal(
        tt_aws_endpoint_resolve(svc("application-autoscaling"), "eu-west-3", NULL, &ep, &err),
        TT_OK);
    assert_string_equal(ep.url, "http://localhost:9000/base");
    assert_string_equal(ep.host, "localhost:9000");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    assert_int_equal(tt_aws_endpoint_resolve(svc("ecs"), "eu-west-3", NULL, &ep, &err), TT_OK);
    assert_string_equal(ep.host, "ecs.eu-west-3.amazonaws.com");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING");
    json_t *profile = json_pack("{s:s}", "endpoint_url", "https://proxy.example:8443");
    assert_int_equal(tt_aws_endpoint_resolve(svc("ecs"), "eu-west-3", profile, &ep, &err), TT_OK);
    assert_string_equal(ep.host, "proxy.example:8443");
    json_decref(profile);
    setenv("AWS_ENDPOINT_URL", "ftp://x", 1);
    assert_int_equal(tt_aws_endpoint_resolve(svc("ecs"), "eu-west-3", NULL, &ep, &err), TT_EINVAL);
    unsetenv("AWS_ENDPOINT_URL");
}

static void timestamps(void **state)
{
    double t;
    char buf[40];
    (void)state;
    assert_int_equal(tt_aws_parse_time("2024-05-01T10:00:00Z", &t), 0);
    assert_true(t == 1714557600.0);
    assert_int_equal(tt_aws_parse_time("2024-05-01T12:00:00+02:00", &t), 0);
    assert_true(t == 1714557600.0);
    assert_int_equal(tt_aws_parse_time("2024-05-01T10:00:00.250+0000", &t), 0);
    assert_true(t == 1714557600.25);
    assert_int_equal(tt_aws_parse_time("Wed, 01 May 2024 10:00:00 GMT", &t), 0);
    assert_true(t == 1714557600.0);
    assert_int_equal(tt_aws_parse_time("1714557600.5", &t), 0);
    assert_true(t == 1714557600.5);
    assert_int_equal(tt_aws_parse_time("2024-13-01T00:00:00Z", &t), -1);
    assert_int_equal(tt_aws_parse_time("yesterday", &t), -1);
    assert_int_equal(tt_aws_parse_time("", &t), -1);
    /* Found by fuzz_aws_json: an absurd epoch must not reach a time_t conversion. */
    assert_int_equal(tt_aws_parse_time("1.7e104", &t), -1);
    tt_aws_format_iso8601(1714557600.0, buf);
    assert_string_equal(buf, "2024-05-01T10:00:00Z");
    tt_aws_format_iso8601(1714557600.25, buf);
    assert_string_equal(buf, "2024-05-01T10:00:00.250Z");
    tt_aws_format_http_date(1714557600.0, buf);
    assert_string_equal(buf, "Wed, 01 May 2024 10:00:00 GMT");
}

/* Every operation the issue lists is in the embedded models. */
/* Loaded models share equal subtrees (tt_aws_model.c) yet read exactly as their embedded text. */
static void models_share_equal_subtrees(void **state)
{
    (void)state;
    for (const tt_aws_embedded_model *em = tt_aws_embedded_models; em->name != NULL; em++) {
        json_t *text = json_loadb(em->json, em->len, 0, NULL);
        const tt_aws_service *s = svc(em->name);
        assert_non_null(text);
        /* json_equal compares objects by key, so the order is checked apart: members are
         * serialised in the model's order. */
        assert_true(json_equal(text, s->doc));
        char *a = json_dumps(text, JSON_COMPACT), *b = json_dumps(s->doc, JSON_COMPACT);
        assert_string_equal(a, b);
        free(a);
        free(b);
        json_decref(text);
    }
    /* Two members naming the same shape the same way are one value. */
    json_t *members = json_object_get(tt_aws_service_shape(svc("rds"), "DBInstance"), "members");
    assert_ptr_equal(json_object_get(members, "DBInstanceIdentifier"),
                     json_object_get(members, "DBInstanceClass"));
}

static void models_have_every_operation(void **state)
{
    static const char *const ops[][2] = {
        {"application-autoscaling", "RegisterScalableTarget"},
        {"application-autoscaling", "DeregisterScalableTarget"},
        {"application-autoscaling", "DescribeScalableTargets"},
        {"application-autoscaling", "PutScalingPolicy"},
        {"application-autoscaling", "DeleteScalingPolicy"},
        {"application-autoscaling", "DescribeScalingPolicies"},
        {"application-autoscaling", "PutScheduledAction"},
        {"application-autoscaling", "DeleteScheduledAction"},
        {"application-autoscaling", "DescribeScheduledActions"},
        {"application-autoscaling", "DescribeScalingActivities"},
        {"application-autoscaling", "TagResource"},
        {"application-autoscaling", "ListTagsForResource"},
        {"ecs", "DescribeServices"},
        {"ecs", "UpdateService"},
        {"ecs", "CreateCluster"},
        {"ecs", "CreateService"},
        {"ecs", "RegisterTaskDefinition"},
        {"rds", "DescribeDBInstances"},
        {"rds", "ModifyDBInstance"},
        {"rds", "DescribeDBClusters"},
        {"rds", "CreateDBInstance"},
        {"rds", "CreateDBCluster"},
        {"rds", "AddTagsToResource"},
        {"rds", "ListTagsForResource"},
        {"elasticache", "DescribeReplicationGroups"},
        {"elasticache", "CreateReplicationGroup"},
        {"lambda", "GetFunction"},
        {"lambda", "CreateFunction"},
        {"lambda", "PublishVersion"},
        {"lambda", "CreateAlias"},
        {"lambda", "PutFunctionConcurrency"},
        {"lambda", "GetFunctionConcurrency"},
        {"lambda", "DeleteFunctionConcurrency"},
        {"lambda", "PutProvisionedConcurrencyConfig"},
        {"lambda", "GetProvisionedConcurrencyConfig"},
        {"lambda", "DeleteProvisionedConcurrencyConfig"},
        {"cloudfront", "GetDistribution"},
        {"cloudfront", "CreateDistribution"},
        {"cloudfront", "UpdateDistribution"},
        {"cloudfront", "GetDistributionConfig"},
        {"cloudfront", "TagResource"},
        {"cloudfront", "ListTagsForResource"},
        {"cloudwatch", "PutMetricAlarm"},
        {"cloudwatch", "PutCompositeAlarm"},
        {"cloudwatch", "DescribeAlarms"},
        {"cloudwatch", "DeleteAlarms"},
        {"cloudwatch", "SetAlarmState"},
        {"cloudwatch", "TagResource"},
        {"cloudwatch", "ListTagsForResource"},
        {"budgets", "CreateBudget"},
        {"budgets", "UpdateBudget"},
        {"budgets", "DeleteBudget"},
        {"budgets", "DescribeBudget"},
        {"budgets", "DescribeBudgets"},
        {"budgets", "CreateNotification"},
        {"budgets", "UpdateNotification"},
        {"budgets", "DeleteNotification"},
        {"budgets", "DescribeNotificationsForBudget"},
        {"budgets", "CreateSubscriber"},
        {"budgets", "DeleteSubscriber"},
        {"budgets", "DescribeSubscribersForNotification"},
        {"secretsmanager", "CreateSecret"},
        {"secretsmanager", "DescribeSecret"},
        {"secretsmanager", "RotateSecret"},
        {"secretsmanager", "CancelRotateSecret"},
        {"secretsmanager", "ReplicateSecretToRegions"},
        {"secretsmanager", "RemoveRegionsFromReplication"},
        {"secretsmanager", "ListSecretVersionIds"},
        {"secretsmanager", "TagResource"},
        {"sts", "GetCallerIdentity"},
        {"sts", "AssumeRole"},
        {"sts", "AssumeRoleWithWebIdentity"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const tt_aws_service *s = svc(ops[i][0]);
        if (tt_aws_service_op(s, ops[i][1]) == NULL)
            fail_msg("%s %s is missing from the model", ops[i][0], ops[i][1]);
    }
    assert_int_equal(svc("ecs")->protocol, TT_AWS_PROTO_JSON);
    assert_int_equal(svc("rds")->protocol, TT_AWS_PROTO_QUERY);
    assert_int_equal(svc("cloudwatch")->protocol, TT_AWS_PROTO_QUERY);
    assert_int_equal(svc("lambda")->protocol, TT_AWS_PROTO_REST_JSON);
    assert_int_equal(svc("cloudfront")->protocol, TT_AWS_PROTO_REST_XML);
    assert_non_null(
        json_object_get(tt_aws_service_op(svc("cloudwatch"), "DescribeAlarms"), "paginator"));
}

static tt_code serialize(const char *service, const char *op, const char *input, tt_aws_wire *w,
                         tt_error *err)
{
    json_error_t jerr;
    json_t *in = json_loads(input, 0, &jerr);
    assert_non_null(in);
    tt_aws_wire_init(w);
    tt_code rc = tt_aws_serialize(svc(service), op, in, w, err);
    json_decref(in);
    return rc;
}

static void query_serializer(void **state)
{
    tt_aws_wire w;
    tt_error err;
    (void)state;
    assert_int_equal(serialize("rds", "AddTagsToResource",
                               "{\"ResourceName\": \"arn:db\", \"Tags\": [{\"Key\": \"a\", "
                               "\"Value\": \"1\"}, {\"Key\": \"b c\", \"Value\": \"\"}]}",
                               &w, &err),
                     TT_OK);
    assert_string_equal(tt_buf_str(&w.body),
                        "Action=AddTagsToResource&Version=2014-10-31&ResourceName=arn%3Adb&"
                        "Tags.Tag.1.Key=a&Tags.Tag.1.Value=1&Tags.Tag.2.Key=b+c&"
                        "Tags.Tag.2.Value=");
    tt_aws_wire_cleanup(&w);
    assert_int_equal(serialize("cloudwatch", "DescribeAlarms",
                               "{\"AlarmNames\": [], \"StateValue\": \"ALARM\", "
                               "\"MaxRecords\": 5}",
                               &w, &err),
                     TT_OK);
    assert_non_null(strstr(tt_buf_str(&w.body), "AlarmNames=&"));
    assert_non_null(strstr(tt_buf_str(&w.body), "MaxRecords=5"));
    tt_aws_wire_cleanup(&w);
    /* Booleans and timestamps as the Query protocol writes them. */
    assert_int_equal(serialize("rds", "ModifyDBInstance",
                               "{\"DBInstanceIdentifier\": \"db1\", \"DBInstanceClass\": "
                               "\"db.m5.large\", \"ApplyImmediately\": true}",
                               &w, &err),
                     TT_OK);
    assert_non_null(strstr(tt_buf_str(&w.body), "ApplyImmediately=true"));
    tt_aws_wire_cleanup(&w);
}

static void validation_messages(void **state)
{
    tt_aws_wire w;
    tt_error err;
    (void)state;
    assert_int_equal(serialize("application-autoscaling", "PutScalingPolicy",
                               "{\"PolicyName\": \"p\", \"ServiceNamespace\": \"ecs\", "
                               "\"ResourceId\": \"r\", \"ScalableDimension\": \"d\", "
                               "\"TargetTrackingScalingPolicyConfiguration\": "
                               "{\"TargetValue\": \"70\"}}",
                               &w, &err),
                     TT_EINVAL);
    assert_non_null(strstr(err.message, "TargetTrackingScalingPolicyConfiguration.TargetValue"));
    assert_non_null(strstr(err.message, "expected a number"));
    tt_aws_wire_cleanup(&w);
    assert_int_equal(serialize("ecs", "DescribeServices", "{\"services\": [\"a\", 3]}", &w, &err),
                     TT_EINVAL);
    assert_non_null(strstr(err.message, "services[1]"));
    tt_aws_wire_cleanup(&w);
    assert_int_equal(
        serialize("ecs", "DescribeServices", "{\"services\": [\"a\"], \"bogus\": 1}", &w, &err),
        TT_EINVAL);
    assert_non_null(strstr(err.message, "unknown parameter bogus"));
    tt_aws_wire_cleanup(&w);
    assert_int_equal(serialize("sts", "NoSuchOp", "{}", &w, &err), TT_EUNSUPPORTED);
    tt_aws_wire_cleanup(&w);
}

static void rest_bindings(void **state)
{
    tt_aws_wire w;
    tt_error err;
    (void)state;
    assert_int_equal(serialize("cloudfront", "TagResource",
                               "{\"Resource\": \"arn:aws:cloudfront::1:distribution/E1\", "
                               "\"Tags\": {\"Items\": [{\"Key\": \"k\", \"Value\": \"v\"}]}}",
                               &w, &err),
                     TT_OK);
    assert_string_equal(w.method, "POST");
    assert_string_equal(tt_buf_str(&w.path), "/2020-05-31/tagging");
    int found_op = 0, found_res = 0;
    for (size_t i = 0; i < w.nquery; i++) {
        found_op |=
            strcmp(w.query[i].name, "Operation") == 0 && strcmp(w.query[i].value, "Tag") == 0;
        found_res |= strcmp(w.query[i].name, "Resource") == 0;
    }
    assert_true(found_op && found_res);
    assert_non_null(strstr(tt_buf_str(&w.body), "<Tags xmlns=\"http://cloudfront.amazonaws.com/"
                                                "doc/2020-05-31/\"><Items><Tag><Key>k</Key>"));
    tt_aws_wire_cleanup(&w);
    assert_int_equal(serialize("lambda", "GetFunction",
                               "{\"FunctionName\": \"my fn/x\", \"Qualifier\": \"2\"}", &w, &err),
                     TT_OK);
    assert_string_equal(tt_buf_str(&w.path), "/2015-03-31/functions/my%20fn%2Fx");
    assert_int_equal(w.body.len, 0);
    tt_aws_wire_cleanup(&w);
    assert_int_equal(serialize("lambda", "GetFunction", "{\"FunctionName\": \"\"}", &w, &err),
                     TT_EINVAL);
    tt_aws_wire_cleanup(&w);
}

static tt_code parse(const char *service, const char *op, long status, const char *body,
                     json_t **out, tt_error *err)
{
    tt_http_response resp;
    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    tt_buf_init(&resp.body);
    tt_buf_puts(&resp.body, body);
    tt_code rc = tt_aws_parse(svc(service), op, &resp, out, err);
    tt_buf_cleanup(&resp.body);
    return rc;
}

static void xml_by_shape(void **state)
{
    json_t *out = NULL;
    tt_error err;
    (void)state;
    assert_int_equal(
        parse("rds", "DescribeDBInstances", 200,
              "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>"
              "<DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><AllocatedStorage>20"
              "</AllocatedStorage><MultiAZ>false</MultiAZ><VpcSecurityGroups>"
              "<VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1</VpcSecurityGroupId>"
              "</VpcSecurityGroupMembership><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-2"
              "</VpcSecurityGroupId></VpcSecurityGroupMembership></VpcSecurityGroups>"
              "<InstanceCreateTime>2024-05-01T10:00:00Z</InstanceCreateTime></DBInstance>"
              "</DBInstances><Marker>m2</Marker></DescribeDBInstancesResult>"
              "</DescribeDBInstancesResponse>",
              &out, &err),
        TT_OK);
    json_t *db = json_array_get(json_object_get(out, "DBInstances"), 0);
    assert_int_equal(json_integer_value(json_object_get(db, "AllocatedStorage")), 20);
    assert_true(json_is_false(json_object_get(db, "MultiAZ")));
    assert_int_equal(json_array_size(json_object_get(db, "VpcSecurityGroups")), 2);
    assert_string_equal(json_string_value(json_object_get(out, "Marker")), "m2");
    json_decref(out);
    /* A number that is not one is a parse error naming the element. */
    assert_int_equal(parse("rds", "DescribeDBInstances", 200,
                           "<R><DescribeDBInstancesResult><DBInstances><DBInstance>"
                           "<AllocatedStorage>lots</AllocatedStorage></DBInstance></DBInstances>"
                           "</DescribeDBInstancesResult></R>",
                           &out, &err),
                     TT_EPARSE);
    assert_non_null(strstr(err.message, "AllocatedStorage"));
    /* Query errors. */
    assert_int_equal(parse("rds", "ModifyDBInstance", 400,
                           "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                           "<Message>Rate exceeded</Message></Error><RequestId>q-1</RequestId>"
                           "</ErrorResponse>",
                           &out, &err),
                     TT_ETHROTTLED);
    assert_string_equal(err.service_code, "Throttling");
    assert_string_equal(err.request_id, "q-1");
    assert_int_equal(err.http_status, 400);
    assert_int_equal(parse("sts", "GetCallerIdentity", 403, "", &out, &err), TT_EACCESS);
    assert_string_equal(err.service_code, "403");
}

static void json_errors_and_classes(void **state)
{
    json_t *out = NULL;
    tt_error err;
    (void)state;
    assert_int_equal(parse("secretsmanager", "DescribeSecret", 400,
                           "{\"__type\": \"ResourceNotFoundException\", \"Message\": \"no\"}", &out,
                           &err),
                     TT_ENOTFOUND);
    assert_int_equal(parse("ecs", "UpdateService", 400,
                           "{\"__type\": \"com.amazonaws#AccessDeniedException\"}", &out, &err),
                     TT_EACCESS);
    assert_string_equal(err.service_code, "AccessDeniedException");
    assert_int_equal(parse("budgets", "DescribeBudgets", 400,
                           "{\"__type\": \"InvalidParameterException\", \"Message\": \"bad\"}",
                           &out, &err),
                     TT_EAWS);
    assert_int_equal(tt_aws_classify_error("RequestLimitExceeded", 400), TT_ETHROTTLED);
    assert_int_equal(tt_aws_classify_error("InternalError", 500), TT_EUNAVAILABLE);
    assert_int_equal(tt_aws_classify_error("Whatever", 502), TT_EUNAVAILABLE);
    assert_int_equal(tt_aws_classify_error("Whatever", 429), TT_ETHROTTLED);
    assert_int_equal(tt_aws_classify_error("NoSuchDistribution", 404), TT_ENOTFOUND);
    assert_int_equal(tt_aws_classify_error("InvalidIfMatchVersion", 400), TT_ECONFLICT);
    assert_int_equal(tt_aws_classify_error("ValidationException", 400), TT_EAWS);
}

/* Allocation failure, curl's "torture" style: fail jansson's Nth allocation, for every N. */
static long alloc_countdown = -1;

static void *failing_malloc(size_t n)
{
    if (alloc_countdown == 0)
        return NULL;
    if (alloc_countdown > 0)
        alloc_countdown--;
    return malloc(n);
}

static void each_allocation_may_fail(void **state)
{
    static const char *const xml =
        "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><DBInstance>"
        "<DBInstanceIdentifier>db1</DBInstanceIdentifier><AllocatedStorage>20</AllocatedStorage>"
        "<VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1"
        "</VpcSecurityGroupId></VpcSecurityGroupMembership></VpcSecurityGroups><TagList><Tag>"
        "<Key>k</Key><Value>v</Value></Tag></TagList></DBInstance></DBInstances>"
        "</DescribeDBInstancesResult></DescribeDBInstancesResponse>";
    static const char *const js =
        "{\"ScalableTargets\": [{\"ResourceId\": \"a\", \"MinCapacity\": 1, \"CreationTime\": "
        "1700000000, \"SuspendedState\": {\"DynamicScalingInSuspended\": true}}], "
        "\"NextToken\": \"t\"}";
    (void)state;
    svc("rds");
    svc("application-autoscaling");
    svc("cloudfront");
    for (int which = 0; which < 3; which++) {
        int succeeded = 0;
        for (long k = 0; k < 2000 && !succeeded; k++) {
            json_t *out = NULL;
            tt_error err;
            tt_aws_wire w;
            tt_code rc;
            tt_error_clear(&err);
            alloc_countdown = k;
            json_set_alloc_funcs(failing_malloc, free);
            if (which == 0) {
                rc = parse("rds", "DescribeDBInstances", 200, xml, &out, &err);
            } else if (which == 1) {
                rc = parse("application-autoscaling", "DescribeScalableTargets", 200, js, &out,
                           &err);
            } else {
                tt_aws_wire_init(&w);
                json_t *in =
                    json_pack("{s:s, s:s, s:{s:s, s:s, s:b, s:{s:i, s:[{s:s, s:s}]}, "
                              "s:{s:s, s:s}}}",
                              "Id", "E1", "IfMatch", "tag", "DistributionConfig", "CallerReference",
                              "r", "Comment", "c", "Enabled", 1, "Origins", "Quantity", 1, "Items",
                              "Id", "o", "DomainName", "e.com", "DefaultCacheBehavior",
                              "TargetOriginId", "o", "ViewerProtocolPolicy", "allow-all");
                rc = in == NULL
                         ? TT_ENOMEM
                         : tt_aws_serialize(svc("cloudfront"), "UpdateDistribution", in, &w, &err);
                if (in == NULL)
                    tt_error_set(&err, TT_ENOMEM, "input");
                json_decref(in);
                tt_aws_wire_cleanup(&w);
            }
            alloc_countdown = -1;
            json_set_alloc_funcs(malloc, free);
            if (rc == TT_OK) {
                succeeded = 1;
            } else {
                assert_true(err.message[0] != '\0'); /* a clean error, never a crash */
            }
            json_decref(out);
        }
        assert_true(succeeded);
    }
}

static int setup(void **state)
{
    (void)state;
    models = tt_aws_models_create(NULL);
    return models != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tt_aws_models_destroy(models);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_retry_policy),
        cmocka_unit_test(retry_after_and_bucket),
        cmocka_unit_test(endpoints),
        cmocka_unit_test(timestamps),
        cmocka_unit_test(models_have_every_operation),
        cmocka_unit_test(models_share_equal_subtrees),
        cmocka_unit_test(query_serializer),
        cmocka_unit_test(validation_messages),
        cmocka_unit_test(rest_bindings),
        cmocka_unit_test(xml_by_shape),
        cmocka_unit_test(json_errors_and_classes),
        cmocka_unit_test(each_allocation_may_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
