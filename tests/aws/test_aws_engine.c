/*
 * The request engine against a scriptable local server (fake_aws.py), which verifies every
 * signature with botocore's own signer: the four protocols end to end, retries as the SDKs'
 * standard mode, Retry-After, resets and timeouts, error records, malformed bodies,
 * pagination, cancellation and the callback rule, rate limiting, connection reuse, the call
 * hook, and logs that never hold a credential.
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
#include <time.h>
#include <unistd.h>

#include "aws_test_util.h"
#include "tt_aws.h"
#include "tt_buf.h"
#include "tt_log.h"

static test_server fake;
static struct ev_loop *loop;

struct result {
    int done;
    json_t *out;
    tt_error err;
    int calls;
};

static void on_done(void *ud, json_t *output, const tt_error *err)
{
    struct result *r = ud;
    r->done = 1;
    r->calls++;
    if (err != NULL)
        r->err = *err;
    else
        r->out = json_incref(output);
}

static void result_clear(struct result *r)
{
    json_decref(r->out);
    memset(r, 0, sizeof(*r));
}

static tt_aws *client(const tt_aws_config *cfg)
{
    tt_error err;
    tt_aws *aws = tt_aws_create(loop, cfg, &err);
    if (aws == NULL)
        fail_msg("tt_aws_create: %s", err.message);
    return aws;
}

static void script(const char *json_text)
{
    test_post(fake.endpoint, "/_fake/script", json_text);
}

static json_t *server_log(void)
{
    return test_http_json(fake.endpoint, "/_fake/log", NULL);
}

static int run(tt_aws *aws, const char *service, const char *op, json_t *input, int paginate,
               struct result *r)
{
    tt_aws_req req = {service, op, NULL, NULL, input};
    tt_error err;
    memset(r, 0, sizeof(*r));
    int rc = paginate ? tt_aws_paginate(aws, &req, on_done, r, &err)
                      : tt_aws_call(aws, &req, on_done, r, &err);
    if (rc != TT_OK) {
        r->err = err;
        return rc;
    }
    assert_true(test_run_until(loop, &r->done, 20));
    assert_int_equal(r->calls, 1);
    return r->out != NULL ? TT_OK : r->err.code;
}

static int setup_group(void **state)
{
    (void)state;
    loop = ev_loop_new(EVFLAG_AUTO);
    if (test_server_start(&fake, "tests/aws/fake_aws.py", NULL) != 0)
        return -1;
    setenv("AWS_ENDPOINT_URL", fake.endpoint, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SESSION_TOKEN");
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    test_server_stop(&fake);
    ev_loop_destroy(loop);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    test_post(fake.endpoint, "/_fake/reset", "{}");
    return 0;
}

static const char *header(json_t *entry, const char *name)
{
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(entry, "headers"), key, v)
    {
        if (strcasecmp(key, name) == 0)
            return json_string_value(v);
    }
    return NULL;
}

static void json_protocol_roundtrip(void **state)
{
    struct result r;
    (void)state;
    script("[{\"body\": \"{\\\"ScalableTargets\\\": [{\\\"ServiceNamespace\\\": \\\"ecs\\\", "
           "\\\"ResourceId\\\": \\\"service/c/s\\\", \\\"ScalableDimension\\\": "
           "\\\"ecs:service:DesiredCount\\\", \\\"MinCapacity\\\": 1, \\\"MaxCapacity\\\": 9, "
           "\\\"RoleARN\\\": \\\"arn:r\\\", \\\"CreationTime\\\": 1700000000.5, "
           "\\\"Unknown\\\": 3}]}\", \"headers\": {\"x-amzn-RequestId\": \"r1\"}}]");
    tt_aws *aws = client(NULL);
    json_t *in = json_pack("{s:s, s:[s]}", "ServiceNamespace", "ecs", "ResourceIds", "service/c/s");
    assert_int_equal(run(aws, "application-autoscaling", "DescribeScalableTargets", in, 0, &r),
                     TT_OK);
    json_t *t = json_array_get(json_object_get(r.out, "ScalableTargets"), 0);
    assert_string_equal(json_string_value(json_object_get(t, "CreationTime")),
                        "2023-11-14T22:13:20.500Z");
    assert_int_equal(json_integer_value(json_object_get(t, "MaxCapacity")), 9);
    assert_null(json_object_get(t, "Unknown")); /* not in the model: dropped, like botocore */
    json_t *log = server_log();
    json_t *e = json_array_get(log, 0);
    assert_string_equal(header(e, "X-Amz-Target"),
                        "AnyScaleFrontendService.DescribeScalableTargets");
    assert_string_equal(header(e, "Content-Type"), "application/x-amz-json-1.1");
    assert_non_null(strstr(header(e, "Authorization"), "/eu-west-3/application-autoscaling/"));
    json_error_t jerr;
    json_t *sent = json_loads(json_string_value(json_object_get(e, "body")), 0, &jerr);
    assert_true(json_equal(sent, in));
    json_decref(sent);
    json_decref(log);
    json_decref(in);
    result_clear(&r);
    assert_int_equal(
        tt_aws_metric(aws, "application-autoscaling", "DescribeScalableTargets", TT_AWS_OK), 1);
    tt_aws_destroy(aws);
}

static void query_protocol_roundtrip(void **state)
{
    struct result r;
    (void)state;
    tt_aws *aws = client(NULL);
    json_t *in = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:s, s:[{s:s, s:s}], s:[s]}", "AlarmName", "a b&c",
        "MetricName", "CPUUtilization", "Namespace", "AWS/ECS", "Statistic", "Average", "Period",
        60, "EvaluationPeriods", 2, "Threshold", 70.5, "ComparisonOperator", "GreaterThanThreshold",
        "Dimensions", "Name", "ClusterName", "Value", "c1", "AlarmActions", "arn:aws:sns:x");
    script("[{\"body\": \"<PutMetricAlarmResponse><ResponseMetadata><RequestId>x</RequestId>"
           "</ResponseMetadata></PutMetricAlarmResponse>\"}]");
    assert_int_equal(run(aws, "cloudwatch", "PutMetricAlarm", in, 0, &r), TT_OK);
    json_t *log = server_log();
    const char *body = json_string_value(json_object_get(json_array_get(log, 0), "body"));
    assert_non_null(strstr(body, "Action=PutMetricAlarm&Version=2010-08-01"));
    assert_non_null(strstr(body, "AlarmName=a+b%26c"));
    assert_non_null(strstr(body, "Threshold=70.5"));
    assert_non_null(strstr(body, "Dimensions.member.1.Name=ClusterName"));
    assert_non_null(strstr(body, "Dimensions.member.1.Value=c1"));
    assert_non_null(strstr(body, "AlarmActions.member.1=arn%3Aaws%3Asns%3Ax"));
    json_decref(log);
    json_decref(in);
    result_clear(&r);

    script("[{\"body\": \"<DescribeAlarmsResponse xmlns=\\\"http://monitoring.amazonaws.com/"
           "doc/2010-08-01/\\\"><DescribeAlarmsResult><MetricAlarms><member><AlarmName>a1"
           "</AlarmName><ActionsEnabled>true</ActionsEnabled><Threshold>70.5</Threshold>"
           "<EvaluationPeriods>2</EvaluationPeriods><StateUpdatedTimestamp>2024-05-01T10:00:00"
           ".250Z</StateUpdatedTimestamp><AlarmActions><member>arn:1</member><member>arn:2"
           "</member></AlarmActions><Dimensions/></member></MetricAlarms><CompositeAlarms/>"
           "</DescribeAlarmsResult></DescribeAlarmsResponse>\"}]");
    assert_int_equal(run(aws, "cloudwatch", "DescribeAlarms", NULL, 0, &r), TT_OK);
    json_t *a = json_array_get(json_object_get(r.out, "MetricAlarms"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "AlarmName")), "a1");
    assert_true(json_is_true(json_object_get(a, "ActionsEnabled")));
    assert_true(json_real_value(json_object_get(a, "Threshold")) == 70.5);
    assert_int_equal(json_integer_value(json_object_get(a, "EvaluationPeriods")), 2);
    assert_string_equal(json_string_value(json_object_get(a, "StateUpdatedTimestamp")),
                        "2024-05-01T10:00:00.250Z");
    assert_int_equal(json_array_size(json_object_get(a, "AlarmActions")), 2);
    assert_int_equal(json_array_size(json_object_get(a, "Dimensions")), 0);
    assert_int_equal(json_array_size(json_object_get(r.out, "CompositeAlarms")), 0);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void json_1_0_when_chosen(void **state)
{
    static const char *const json_services[] = {"cloudwatch", NULL};
    tt_aws_config cfg = {.json_services = json_services};
    struct result r;
    (void)state;
    tt_aws *aws = client(&cfg);
    script("[{\"body\": \"{\\\"MetricAlarms\\\": [{\\\"AlarmName\\\": \\\"a\\\", "
           "\\\"StateUpdatedTimestamp\\\": 1714557600}]}\"}, {\"status\": 400, \"headers\": "
           "{\"x-amzn-query-error\": \"ResourceNotFound;Sender\"}, \"body\": \"{\\\"__type\\\": "
           "\\\"com.amazonaws.cloudwatch#ResourceNotFoundException\\\", \\\"message\\\": "
           "\\\"no\\\"}\"}]");
    assert_int_equal(run(aws, "cloudwatch", "DescribeAlarms", NULL, 0, &r), TT_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r.out, "MetricAlarms"), 0),
                                          "StateUpdatedTimestamp")),
        "2024-05-01T10:00:00Z");
    result_clear(&r);
    json_t *in = json_pack("{s:[s]}", "AlarmNames", "a");
    assert_int_equal(run(aws, "cloudwatch", "DeleteAlarms", in, 0, &r), TT_ENOTFOUND);
    assert_string_equal(r.err.service_code, "ResourceNotFound"); /* the Query code */
    result_clear(&r);
    json_decref(in);
    json_t *log = server_log();
    json_t *e = json_array_get(log, 0);
    assert_string_equal(header(e, "X-Amz-Target"), "GraniteServiceVersion20100801.DescribeAlarms");
    assert_string_equal(header(e, "Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(header(e, "x-amzn-query-mode"), "true");
    assert_non_null(strstr(header(e, "Authorization"), "/monitoring/aws4_request"));
    json_decref(log);
    tt_aws_destroy(aws);
}

static void rest_json_roundtrip(void **state)
{
    struct result r;
    (void)state;
    tt_aws *aws = client(NULL);
    script("[{\"status\": 202, \"body\": \"{\\\"RequestedProvisionedConcurrentExecutions\\\": 5,"
           " \\\"Status\\\": \\\"IN_PROGRESS\\\", \\\"LastModified\\\": "
           "\\\"2024-05-01T10:00:00+0000\\\"}\"}]");
    json_t *in = json_pack("{s:s, s:s, s:i}", "FunctionName", "arn:aws:lambda:f", "Qualifier",
                           "live", "ProvisionedConcurrentExecutions", 5);
    assert_int_equal(run(aws, "lambda", "PutProvisionedConcurrencyConfig", in, 0, &r), TT_OK);
    assert_string_equal(json_string_value(json_object_get(r.out, "Status")), "IN_PROGRESS");
    /* Lambda models LastModified as a string: it stays as sent, like botocore. */
    assert_string_equal(json_string_value(json_object_get(r.out, "LastModified")),
                        "2024-05-01T10:00:00+0000");
    json_t *log = server_log();
    json_t *e = json_array_get(log, 0);
    assert_string_equal(json_string_value(json_object_get(e, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(e, "path")),
                        "/2019-09-30/functions/arn%3Aaws%3Alambda%3Af/provisioned-concurrency");
    assert_string_equal(json_string_value(json_object_get(e, "query")), "Qualifier=live");
    assert_string_equal(json_string_value(json_object_get(e, "body")),
                        "{\"ProvisionedConcurrentExecutions\":5}");
    json_decref(log);
    json_decref(in);
    result_clear(&r);

    /* An error in REST-JSON: the code comes from x-amzn-ErrorType. */
    script("[{\"status\": 404, \"headers\": {\"x-amzn-ErrorType\": "
           "\"ResourceNotFoundException:http://internal\", \"x-amzn-RequestId\": \"rq-9\"}, "
           "\"body\": \"{\\\"Type\\\": \\\"User\\\", \\\"message\\\": \\\"Function not "
           "found\\\"}\"}]");
    json_t *in2 = json_pack("{s:s}", "FunctionName", "nope");
    assert_int_equal(run(aws, "lambda", "GetFunction", in2, 0, &r), TT_ENOTFOUND);
    assert_string_equal(r.err.service_code, "ResourceNotFoundException");
    assert_string_equal(r.err.request_id, "rq-9");
    assert_int_equal(r.err.http_status, 404);
    assert_non_null(strstr(r.err.message, "Function not found"));
    json_decref(in2);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void rest_xml_etag_if_match(void **state)
{
    struct result r;
    (void)state;
    tt_aws *aws = client(NULL);
    script("[{\"headers\": {\"ETag\": \"E2QWRUHAPOMQZL\"}, \"body\": \"<?xml version=\\\"1.0\\\"?>"
           "<DistributionConfig xmlns=\\\"http://cloudfront.amazonaws.com/doc/2020-05-31/\\\">"
           "<CallerReference>ref</CallerReference><Comment>c &amp; d</Comment><Enabled>true"
           "</Enabled><PriceClass>PriceClass_100</PriceClass><Origins><Quantity>1</Quantity>"
           "<Items><Origin><Id>o1</Id><DomainName>example.com</DomainName></Origin></Items>"
           "</Origins><DefaultCacheBehavior><TargetOriginId>o1</TargetOriginId>"
           "<ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy><MinTTL>0</MinTTL>"
           "</DefaultCacheBehavior></DistributionConfig>\"}]");
    json_t *in = json_pack("{s:s}", "Id", "EDFDVBD6EXAMPLE");
    assert_int_equal(run(aws, "cloudfront", "GetDistributionConfig", in, 0, &r), TT_OK);
    assert_string_equal(json_string_value(json_object_get(r.out, "ETag")), "E2QWRUHAPOMQZL");
    json_t *cfg = json_object_get(r.out, "DistributionConfig");
    assert_string_equal(json_string_value(json_object_get(cfg, "Comment")), "c & d");
    assert_true(json_is_true(json_object_get(cfg, "Enabled")));
    json_t *origin = json_array_get(json_object_get(json_object_get(cfg, "Origins"), "Items"), 0);
    assert_string_equal(json_string_value(json_object_get(origin, "Id")), "o1");
    json_t *log = server_log();
    json_t *e = json_array_get(log, 0);
    assert_string_equal(json_string_value(json_object_get(e, "path")),
                        "/2020-05-31/distribution/EDFDVBD6EXAMPLE/config");
    assert_non_null(strstr(header(e, "Authorization"), "/us-east-1/cloudfront/"));
    json_decref(log);

    /* UpdateDistribution sends If-Match and the XML payload; a 412 is a conflict. */
    json_t *upd = json_pack("{s:s, s:s, s:O}", "Id", "EDFDVBD6EXAMPLE", "IfMatch", "E2QWRUHAPOMQZL",
                            "DistributionConfig", cfg);
    result_clear(&r);
    reset(NULL);
    script("[{\"status\": 412, \"body\": \"<ErrorResponse><Error><Type>Sender</Type><Code>"
           "PreconditionFailed</Code><Message>The If-Match version is missing or not valid."
           "</Message></Error><RequestId>cf-1</RequestId></ErrorResponse>\"}]");
    assert_int_equal(run(aws, "cloudfront", "UpdateDistribution", upd, 0, &r), TT_ECONFLICT);
    assert_string_equal(r.err.service_code, "PreconditionFailed");
    assert_string_equal(r.err.request_id, "cf-1");
    log = server_log();
    e = json_array_get(log, 0);
    assert_int_equal(json_array_size(log), 1); /* a conflict is never retried */
    assert_string_equal(header(e, "If-Match"), "E2QWRUHAPOMQZL");
    const char *body = json_string_value(json_object_get(e, "body"));
    assert_non_null(strstr(body, "<DistributionConfig xmlns=\"http://cloudfront.amazonaws.com/"
                                 "doc/2020-05-31/\"><CallerReference>ref</CallerReference>"));
    assert_non_null(strstr(body, "<Comment>c &amp; d</Comment>"));
    assert_non_null(strstr(body, "<Items><Origin><Id>o1</Id>"));
    json_decref(log);
    json_decref(upd);
    json_decref(in);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void retries_then_success(void **state)
{
    struct result r;
    tt_aws_config cfg = {.max_backoff = 0.05};
    (void)state;
    tt_aws *aws = client(&cfg);
    script("[{\"status\": 503, \"body\": \"{}\"}, {\"status\": 400, \"body\": "
           "\"{\\\"__type\\\": \\\"ThrottlingException\\\", \\\"message\\\": \\\"Rate "
           "exceeded\\\"}\"}, {\"body\": \"{\\\"ScalableTargets\\\": []}\"}]");
    json_t *in = json_pack("{s:s}", "ServiceNamespace", "ecs");
    assert_int_equal(run(aws, "application-autoscaling", "DescribeScalableTargets", in, 0, &r),
                     TT_OK);
    json_t *log = server_log();
    assert_int_equal(json_array_size(log), 3);
    json_decref(log);
    assert_int_equal(
        tt_aws_metric(aws, "application-autoscaling", "DescribeScalableTargets", TT_AWS_RETRIED),
        2);
    /* Two retries cost 5 each; the success gives the last one back. */
    assert_int_equal(tt_aws_retry_quota(aws), 495);
    json_decref(in);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void throttling_exhausts_attempts(void **state)
{
    struct result r;
    tt_aws_config cfg = {.max_backoff = 0.05};
    (void)state;
    tt_aws *aws = client(&cfg);
    for (int i = 0; i < 3; i++)
        script("[{\"status\": 400, \"headers\": {\"x-amzn-RequestId\": \"t1\"}, \"body\": "
               "\"{\\\"__type\\\": \\\"com.amazon#ThrottlingException\\\", \\\"message\\\": "
               "\\\"Rate exceeded\\\"}\"}]");
    json_t *in = json_pack("{s:s, s:[s]}", "cluster", "c", "services", "s");
    assert_int_equal(run(aws, "ecs", "DescribeServices", in, 0, &r), TT_ETHROTTLED);
    json_decref(in);
    assert_string_equal(r.err.service_code, "ThrottlingException");
    assert_int_equal(r.err.http_status, 400);
    assert_string_equal(r.err.request_id, "t1");
    json_t *log = server_log();
    assert_int_equal(json_array_size(log), 3);
    json_decref(log);
    assert_int_equal(tt_aws_metric(aws, "ecs", "DescribeServices", TT_AWS_THROTTLED), 1);
    assert_int_equal(tt_aws_retry_quota(aws), 490);
    tt_buf prom;
    tt_buf_init(&prom);
    assert_int_equal(tt_aws_metrics_prometheus(aws, &prom), TT_OK);
    assert_non_null(strstr(tt_buf_str(&prom), "# TYPE trimtab_aws_calls_total counter\n"));
    assert_non_null(strstr(tt_buf_str(&prom),
                           "trimtab_aws_calls_total{service=\"ecs\","
                           "operation=\"DescribeServices\",outcome=\"throttled\"} 1\n"));
    assert_non_null(strstr(tt_buf_str(&prom), "trimtab_aws_retries_total{service=\"ecs\","
                                              "operation=\"DescribeServices\"} 2\n"));
    /* Every attempt was throttled: three responses, one call that ended throttled. */
    assert_non_null(strstr(tt_buf_str(&prom), "trimtab_aws_throttles_total{service=\"ecs\","
                                              "operation=\"DescribeServices\"} 3\n"));
    assert_null(strstr(tt_buf_str(&prom), "outcome=\"retried\""));
    assert_non_null(strstr(tt_buf_str(&prom), "trimtab_aws_retry_quota 490\n"));
    tt_buf_cleanup(&prom);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void retry_after_is_honoured(void **state)
{
    struct result r;
    tt_aws_config cfg = {.max_backoff = 5};
    (void)state;
    tt_aws *aws = client(&cfg);
    script("[{\"status\": 503, \"headers\": {\"Retry-After\": \"1\"}, \"body\": \"\"}]");
    double t0 = ev_time();
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_OK);
    assert_true(ev_time() - t0 >= 0.95);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void resets_and_timeouts(void **state)
{
    struct result r;
    tt_aws_config cfg = {.max_backoff = 0.05, .timeout_ms = 400};
    (void)state;
    tt_aws *aws = client(&cfg);
    script("[{\"reset\": true}]");
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_OK);
    result_clear(&r);
    assert_int_equal(tt_aws_retry_quota(aws), 500);
    for (int i = 0; i < 3; i++)
        script("[{\"delay\": 1.0, \"body\": \"{}\"}]");
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_EUNAVAILABLE);
    assert_non_null(strstr(r.err.message, "timed out"));
    /* Two retries after timeouts cost 10 each. */
    assert_int_equal(tt_aws_retry_quota(aws), 480);
    assert_int_equal(tt_aws_metric(aws, "sts", "GetCallerIdentity", TT_AWS_UNAVAILABLE), 1);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void malformed_responses_are_clean_errors(void **state)
{
    static const char *const bodies[] = {
        "{\"status\": 200, \"body\": \"{not json\"}",
        "{\"status\": 200, \"body\": \"{\\\"ScalableTargets\\\": \\\"x\\\"}\"}",
        /* One element, split over two lines: the parentheses tell clang the concatenation is
         * meant (-Wstring-concatenation). */
        ("{\"status\": 200, \"body\": \"{\\\"ScalableTargets\\\": [{\\\"MinCapacity\\\": "
         "\\\"1\\\"}]}\"}"),
        "{\"status\": 200, \"body\": \"[1,2,3]\"}",
        "{\"status\": 500, \"body\": \"<html>oops</html>\"}",
    };
    tt_aws_config cfg = {.max_backoff = 0.01, .max_attempts = 1};
    (void)state;
    tt_aws *aws = client(&cfg);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct result r;
        char s[512];
        snprintf(s, sizeof(s), "[%s]", bodies[i]);
        script(s);
        json_t *in = json_pack("{s:s}", "ServiceNamespace", "ecs");
        int rc = run(aws, "application-autoscaling", "DescribeScalableTargets", in, 0, &r);
        assert_true(rc == TT_EPARSE || rc == TT_EUNAVAILABLE);
        assert_true(strlen(r.err.message) > 0);
        json_decref(in);
        result_clear(&r);
    }
    /* Truncated and hostile XML for the Query protocol. */
    script("[{\"body\": \"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>12\"}]");
    struct result r;
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_EPARSE);
    result_clear(&r);
    script("[{\"body\": \"<?xml version=\\\"1.0\\\"?><!DOCTYPE d [<!ENTITY a \\\"aaaaaaaaaa\\\">"
           "<!ENTITY b \\\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\\\"><!ENTITY c \\\"&b;&b;&b;&b;&b;&b;&b;"
           "&b;&b;&b;\\\">]><GetCallerIdentityResponse><GetCallerIdentityResult><Account>&c;"
           "</Account></GetCallerIdentityResult></GetCallerIdentityResponse>\"}]");
    int rc = run(aws, "sts", "GetCallerIdentity", NULL, 0, &r);
    assert_true(rc == TT_OK || rc == TT_EPARSE);
    result_clear(&r);
    tt_aws_destroy(aws);
}

static void pagination_merges_pages(void **state)
{
    struct result r;
    (void)state;
    tt_aws *aws = client(NULL);
    script("[{\"match\": \"ecs\\\"}\", \"body\": \"{\\\"ScalableTargets\\\": [{\\\"ResourceId\\\": "
           "\\\"a\\\"}], \\\"NextToken\\\": \\\"t1\\\"}\"},"
           "{\"match\": \"t1\", \"body\": \"{\\\"ScalableTargets\\\": [{\\\"ResourceId\\\": "
           "\\\"b\\\"}, {\\\"ResourceId\\\": \\\"c\\\"}], \\\"NextToken\\\": \\\"t2\\\"}\"},"
           "{\"match\": \"t2\", \"body\": \"{\\\"ScalableTargets\\\": [{\\\"ResourceId\\\": "
           "\\\"d\\\"}]}\"}]");
    json_t *in = json_pack("{s:s}", "ServiceNamespace", "ecs");
    assert_int_equal(run(aws, "application-autoscaling", "DescribeScalableTargets", in, 1, &r),
                     TT_OK);
    json_t *items = json_object_get(r.out, "ScalableTargets");
    assert_int_equal(json_array_size(items), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 3), "ResourceId")),
                        "d");
    assert_null(json_object_get(r.out, "NextToken"));
    json_t *log = server_log();
    assert_int_equal(json_array_size(log), 3);
    json_decref(log);
    assert_int_equal(json_object_size(in), 1); /* the caller's input is untouched */
    result_clear(&r);

    /* A service that repeats its token is stopped, not followed forever. */
    reset(NULL);
    for (int i = 0; i < 3; i++)
        script("[{\"body\": \"{\\\"ScalableTargets\\\": [], \\\"NextToken\\\": \\\"same\\\"}\"}]");
    assert_int_equal(run(aws, "application-autoscaling", "DescribeScalableTargets", in, 1, &r),
                     TT_EAWS);
    result_clear(&r);
    json_decref(in);
    tt_aws_destroy(aws);
}

static void callback_rule_and_cancel_all(void **state)
{
    struct result r[6];
    tt_error err;
    (void)state;
    tt_aws *aws = client(NULL);
    memset(r, 0, sizeof(r));
    tt_aws_req bad = {"application-autoscaling", "NoSuchOperation", NULL, NULL, NULL};
    assert_int_equal(tt_aws_call(aws, &bad, on_done, &r[5], &err), TT_EUNSUPPORTED);
    tt_aws_req bad2 = {"nosuchservice", "X", NULL, NULL, NULL};
    assert_int_equal(tt_aws_call(aws, &bad2, on_done, &r[5], &err), TT_EUNSUPPORTED);
    json_t *wrong = json_pack("{s:i}", "ServiceNamespace", 3);
    tt_aws_req bad3 = {"application-autoscaling", "DescribeScalableTargets", NULL, NULL, wrong};
    assert_int_equal(tt_aws_call(aws, &bad3, on_done, &r[5], &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "ServiceNamespace"));
    json_decref(wrong);
    json_t *missing = json_object();
    tt_aws_req bad4 = {"application-autoscaling", "DescribeScalableTargets", NULL, NULL, missing};
    assert_int_equal(tt_aws_call(aws, &bad4, on_done, &r[5], &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "missing required parameter ServiceNamespace"));
    json_decref(missing);

    for (int i = 0; i < 5; i++)
        script("[{\"delay\": 2.0, \"body\": \"{}\"}]");
    tt_aws_req ok = {"sts", "GetCallerIdentity", NULL, NULL, NULL};
    for (int i = 0; i < 5; i++)
        assert_int_equal(tt_aws_call(aws, &ok, on_done, &r[i], &err), TT_OK);
    assert_int_equal(tt_aws_inflight(aws), 5);
    int never = 0;
    test_run_until(loop, &never, 0.2);
    tt_aws_cancel_all(aws);
    assert_int_equal(tt_aws_inflight(aws), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].err.code, TT_ECANCELLED);
    }
    assert_int_equal(r[5].calls, 0);
    assert_int_equal(tt_aws_metric(aws, "sts", "GetCallerIdentity", TT_AWS_CANCELLED), 5);
    tt_aws_destroy(aws);
    /* Destroying with calls in flight cancels them too. */
    memset(r, 0, sizeof(r));
    aws = client(NULL);
    assert_int_equal(tt_aws_call(aws, &ok, on_done, &r[0], &err), TT_OK);
    tt_aws_destroy(aws);
    assert_int_equal(r[0].calls, 1);
    assert_int_equal(r[0].err.code, TT_ECANCELLED);
}

static void rate_limiter_spaces_calls(void **state)
{
    struct result r[11];
    tt_error err;
    tt_aws_config cfg = {.rate = 20, .burst = 1};
    (void)state;
    tt_aws *aws = client(&cfg);
    tt_aws_req req = {"sts", "GetCallerIdentity", NULL, NULL, NULL};
    memset(r, 0, sizeof(r));
    /* The loop's cached time lags 0.3 s behind, as after a long callback or on a starved
     * machine: the spacing must still be counted in real time. */
    struct timespec lag = {0, 300000000};
    nanosleep(&lag, NULL);
    double t0 = ev_time();
    for (int i = 0; i < 11; i++)
        assert_int_equal(tt_aws_call(aws, &req, on_done, &r[i], &err), TT_OK);
    assert_true(test_run_until(loop, &r[10].done, 10));
    double elapsed = ev_time() - t0;
    /* One token at once, then one every 50 ms: ten more take at least 0.5 s. */
    assert_true(elapsed >= 0.45);
    for (int i = 0; i < 11; i++) {
        assert_true(test_run_until(loop, &r[i].done, 5));
        result_clear(&r[i]);
    }
    tt_aws_destroy(aws);
}

static void connections_are_reused(void **state)
{
    struct result r;
    (void)state;
    tt_aws *aws = client(NULL);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_OK);
        result_clear(&r);
    }
    json_t *log = server_log();
    assert_int_equal(json_array_size(log), 20);
    const char *first = json_string_value(json_object_get(json_array_get(log, 0), "peer"));
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e)
    {
        /* One client port: every request rode the same connection. */
        assert_string_equal(json_string_value(json_object_get(e, "peer")), first);
    }
    json_decref(log);
    tt_aws_destroy(aws);
}

static int hook_reads, hook_writes;

static void hook(void *ud, const tt_aws_call_info *info)
{
    (void)ud;
    if (info->readonly)
        hook_reads++;
    else
        hook_writes++;
}

static void many_in_flight_and_hook(void **state)
{
    enum { N = 200 };
    static struct result r[N];
    tt_error err;
    tt_aws_config cfg = {.rate = -1, .hook = hook};
    (void)state;
    tt_aws *aws = client(&cfg);
    hook_reads = hook_writes = 0;
    json_t *in = json_pack("{s:s}", "ServiceNamespace", "ecs");
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        tt_aws_req req = {"application-autoscaling",
                          i % 4 == 0 ? "DeleteScalingPolicy" : "DescribeScalableTargets", NULL,
                          NULL, in};
        json_t *del =
            json_pack("{s:s, s:s, s:s, s:s}", "PolicyName", "p", "ServiceNamespace", "ecs",
                      "ResourceId", "service/c/s", "ScalableDimension", "ecs:service:DesiredCount");
        if (i % 4 == 0)
            req.input = del;
        assert_int_equal(tt_aws_call(aws, &req, on_done, &r[i], &err), TT_OK);
        json_decref(del);
    }
    assert_int_equal(tt_aws_inflight(aws), N);
    for (int i = 0; i < N; i++) {
        assert_true(test_run_until(loop, &r[i].done, 20));
        assert_non_null(r[i].out);
        result_clear(&r[i]);
    }
    assert_int_equal(hook_writes, N / 4);
    assert_int_equal(hook_reads, N - N / 4);
    json_decref(in);
    tt_aws_destroy(aws);
}

/* Beyond max_in_flight calls wait in line: with 2 places, 10 calls started together ride at
 * most 2 connections (without the line curl would open one for each), all answered; calls
 * still in line are cancelled once each. */
static void calls_beyond_max_in_flight_wait_in_line(void **state)
{
    enum { N = 10 };
    static struct result r[N];
    tt_error err;
    tt_aws_config cfg = {.rate = -1, .max_in_flight = 2};
    json_t *log, *peers = json_object(), *e;
    size_t i;
    (void)state;
    tt_aws *aws = client(&cfg);
    memset(r, 0, sizeof(r));
    for (int k = 0; k < N; k++) {
        tt_aws_req req = {"sts", "GetCallerIdentity", NULL, NULL, NULL};
        assert_int_equal(tt_aws_call(aws, &req, on_done, &r[k], &err), TT_OK);
    }
    assert_int_equal(tt_aws_inflight(aws), N);
    for (int k = 0; k < N; k++) {
        assert_true(test_run_until(loop, &r[k].done, 20));
        assert_non_null(r[k].out);
        assert_int_equal(r[k].calls, 1);
        result_clear(&r[k]);
    }
    log = server_log();
    assert_int_equal(json_array_size(log), N);
    json_array_foreach(log, i, e)
        json_object_set(peers, json_string_value(json_object_get(e, "peer")), json_true());
    assert_true(json_object_size(peers) >= 1 && json_object_size(peers) <= 2);
    json_decref(log);
    json_decref(peers);

    /* Cancelled in line: one callback each, none reaches the server. */
    cfg.max_in_flight = 1;
    tt_aws_destroy(aws);
    aws = client(&cfg);
    test_post(fake.endpoint, "/_fake/reset", "{}");
    for (int k = 0; k < 5; k++) {
        tt_aws_req req = {"sts", "GetCallerIdentity", NULL, NULL, NULL};
        assert_int_equal(tt_aws_call(aws, &req, on_done, &r[k], &err), TT_OK);
    }
    tt_aws_cancel_all(aws);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(r[k].calls, 1);
        assert_int_equal(r[k].err.code, TT_ECANCELLED);
        result_clear(&r[k]);
    }
    assert_int_equal(tt_aws_inflight(aws), 0);
    log = server_log();
    assert_int_equal(json_array_size(log), 0);
    json_decref(log);
    tt_aws_destroy(aws);
}

static void no_secret_in_logs_or_errors(void **state)
{
    struct result r;
    char path[] = "/tmp/tt_aws_log_XXXXXX";
    (void)state;
    int fd = mkstemp(path);
    FILE *logf = fdopen(fd, "w+");
    tt_log_configure(TT_LOG_DEBUG, TT_LOG_JSON, logf);
    setenv("AWS_SESSION_TOKEN", "SECRETSESSIONTOKENVALUE0123456789", 1);
    tt_aws_config cfg = {.max_backoff = 0.01};
    tt_aws *aws = client(&cfg);
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_OK);
    result_clear(&r);
    script("[{\"status\": 503, \"body\": \"\"}]");
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_OK);
    result_clear(&r);
    tt_aws_destroy(aws);
    /* A wrong secret: the server's SignatureDoesNotMatch quotes the canonical request, which
     * holds the session token; the error must not. */
    setenv("AWS_SECRET_ACCESS_KEY", "WRONGSECRETWRONGSECRETWRONGSECRET", 1);
    aws = client(&cfg);
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_EACCESS);
    assert_string_equal(r.err.service_code, "SignatureDoesNotMatch");
    assert_null(strstr(r.err.message, "SECRETSESSIONTOKEN"));
    assert_null(strstr(r.err.message, "WRONGSECRET"));
    tt_log(TT_LOG_ERROR, NULL, "%s", r.err.message);
    result_clear(&r);
    tt_aws_destroy(aws);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    unsetenv("AWS_SESSION_TOKEN");
    tt_log_configure(TT_LOG_WARN, TT_LOG_TEXT, NULL);
    fflush(logf);
    rewind(logf);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, logf);
    buf[n] = '\0';
    fclose(logf);
    unlink(path);
    assert_true(n > 0); /* debug lines were written */
    assert_null(strstr(buf, "wJalrXUtnFEMI"));
    assert_null(strstr(buf, "WRONGSECRET"));
    assert_null(strstr(buf, "SECRETSESSIONTOKEN"));
    assert_null(strstr(buf, "Signature="));
    assert_null(strstr(buf, "AKIDEXAMPLE"));
}

static void tls_verification_is_always_on(void **state)
{
    test_server tls;
    struct result r;
    (void)state;
    if (test_server_start(&tls, "tests/aws/tls_server.py", NULL) != 0)
        fail_msg("cannot start tls_server.py (needs the openssl command)");
    setenv("AWS_ENDPOINT_URL", tls.endpoint, 1);
    tt_aws *aws = client(NULL);
    /* A self-signed certificate is refused, and a TLS failure is not retried. */
    assert_int_equal(run(aws, "sts", "GetCallerIdentity", NULL, 0, &r), TT_EIO);
    assert_non_null(strstr(r.err.message, "TLS"));
    assert_int_equal(tt_aws_metric(aws, "sts", "GetCallerIdentity", TT_AWS_RETRIED), 0);
    result_clear(&r);
    tt_aws_destroy(aws);
    setenv("AWS_ENDPOINT_URL", fake.endpoint, 1);
    test_server_stop(&tls);
}

/* Reads DIR/sessions.log: how many requests arrived and how many resumed a TLS session. */
static void count_sessions(const char *dir, int *requests, int *reused)
{
    char path[512], line[64];
    FILE *f;

    *requests = *reused = 0;
    snprintf(path, sizeof(path), "%s/sessions.log", dir);
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        (*requests)++;
        *reused += strcmp(line, "reused=1\n") == 0;
    }
    fclose(f);
}

static void private_ca_and_tls_session_reuse(void **state)
{
    char dir[] = "/tmp/tt_tls_XXXXXX", cert[600];
    const char *args[3];
    test_server tls;
    struct result r;
    int requests, reused;
    (void)state;
    assert_non_null(mkdtemp(dir));
    args[0] = "--state";
    args[1] = dir;
    args[2] = NULL;
    if (test_server_start(&tls, "tests/aws/tls_server.py", args) != 0)
        fail_msg("cannot start tls_server.py (needs the openssl command)");
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    setenv("AWS_ENDPOINT_URL", tls.endpoint, 1);
    setenv("AWS_CA_BUNDLE", cert, 1);
    tt_aws *aws = client(NULL);
    /* Trusted through AWS_CA_BUNDLE, the same server is accepted… */
    json_t *input = json_pack("{s:s}", "ServiceNamespace", "ecs");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            run(aws, "application-autoscaling", "DescribeScalableTargets", input, 0, &r), TT_OK);
        result_clear(&r);
    }
    json_decref(input);
    /* …and each new connection (the server closes every one) resumes the TLS session. */
    count_sessions(dir, &requests, &reused);
    assert_int_equal(requests, 3);
    assert_int_equal(reused, 2);
    tt_aws_destroy(aws);
    unsetenv("AWS_CA_BUNDLE");
    setenv("AWS_ENDPOINT_URL", fake.endpoint, 1);
    test_server_stop(&tls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_protocol_roundtrip, reset),
        cmocka_unit_test_setup(query_protocol_roundtrip, reset),
        cmocka_unit_test_setup(json_1_0_when_chosen, reset),
        cmocka_unit_test_setup(rest_json_roundtrip, reset),
        cmocka_unit_test_setup(rest_xml_etag_if_match, reset),
        cmocka_unit_test_setup(retries_then_success, reset),
        cmocka_unit_test_setup(throttling_exhausts_attempts, reset),
        cmocka_unit_test_setup(retry_after_is_honoured, reset),
        cmocka_unit_test_setup(resets_and_timeouts, reset),
        cmocka_unit_test_setup(malformed_responses_are_clean_errors, reset),
        cmocka_unit_test_setup(pagination_merges_pages, reset),
        cmocka_unit_test_setup(callback_rule_and_cancel_all, reset),
        cmocka_unit_test_setup(rate_limiter_spaces_calls, reset),
        cmocka_unit_test_setup(connections_are_reused, reset),
        cmocka_unit_test_setup(many_in_flight_and_hook, reset),
        cmocka_unit_test_setup(calls_beyond_max_in_flight_wait_in_line, reset),
        cmocka_unit_test_setup(no_secret_in_logs_or_errors, reset),
        cmocka_unit_test_setup(tls_verification_is_always_on, reset),
        cmocka_unit_test_setup(private_ca_and_tls_session_reuse, reset),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
