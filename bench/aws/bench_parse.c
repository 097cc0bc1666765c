/*
 * bench_parse — responses parsed per second by the protocol layer (tt_aws_parse: the body read,
 * then conformed to the operation's output shape), for the three largest answers a resync reads:
 * a page of 50 Application Auto Scaling policies (JSON 1.1), of 100 CloudWatch alarms (Query
 * XML) and of 50 RDS instances (Query XML). Prints one JSON line per body.
 *
 * Usage: bench_parse [SECONDS_EACH]
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tt_aws_model.h"
#include "tt_aws_protocol.h"
#include "tt_str.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void policies(tt_buf *b)
{
    tt_buf_puts(b, "{\"ScalingPolicies\": [");
    for (int i = 0; i < 50; i++)
        tt_buf_printf(
            b,
            "%s{\"PolicyARN\": \"arn:aws:autoscaling:eu-west-3:123456789012:scalingPolicy:"
            "4e0d2b1c-%04d:resource/ecs/service/prod/api-%d:policyName/cpu\", \"PolicyName\": "
            "\"cpu\", \"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/prod/api-%d\", "
            "\"ScalableDimension\": \"ecs:service:DesiredCount\", \"PolicyType\": "
            "\"TargetTrackingScaling\", \"TargetTrackingScalingPolicyConfiguration\": "
            "{\"TargetValue\": 60.0, \"PredefinedMetricSpecification\": {\"PredefinedMetricType\": "
            "\"ECSServiceAverageCPUUtilization\"}, \"ScaleOutCooldown\": 60, \"ScaleInCooldown\": "
            "300, \"DisableScaleIn\": false}, \"Alarms\": [{\"AlarmName\": "
            "\"TargetTracking-service/prod/api-%d-AlarmHigh\", \"AlarmARN\": "
            "\"arn:aws:cloudwatch:eu-west-3:123456789012:alarm:TargetTracking-%d-AlarmHigh\"}, "
            "{\"AlarmName\": \"TargetTracking-service/prod/api-%d-AlarmLow\", \"AlarmARN\": "
            "\"arn:aws:cloudwatch:eu-west-3:123456789012:alarm:TargetTracking-%d-AlarmLow\"}], "
            "\"CreationTime\": 1700000000.5}",
            i > 0 ? ", " : "", i, i, i, i, i, i, i);
    tt_buf_puts(b, "], \"NextToken\": \"next\"}");
}

static void alarms(tt_buf *b)
{
    tt_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeAlarmsResponse "
                   "xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\n"
                   "  <DescribeAlarmsResult>\n    <MetricAlarms>\n");
    for (int i = 0; i < 100; i++)
        tt_buf_printf(
            b,
            "      <member>\n        <AlarmName>trimtab-prod-api-%d-cpu</AlarmName>\n"
            "        <AlarmArn>arn:aws:cloudwatch:eu-west-3:123456789012:alarm:trimtab-prod-api-"
            "%d-cpu</AlarmArn>\n        <AlarmDescription>CPU &gt; 80%% for 3 minutes"
            "</AlarmDescription>\n        <ActionsEnabled>true</ActionsEnabled>\n"
            "        <AlarmActions>\n          <member>arn:aws:sns:eu-west-3:123456789012:ops"
            "</member>\n        </AlarmActions>\n        <StateValue>OK</StateValue>\n"
            "        <StateUpdatedTimestamp>2026-12-01T10:00:00.000Z</StateUpdatedTimestamp>\n"
            "        <MetricName>CPUUtilization</MetricName>\n        <Namespace>AWS/ECS"
            "</Namespace>\n        <Statistic>Average</Statistic>\n        <Dimensions>\n"
            "          <member><Name>ClusterName</Name><Value>prod</Value></member>\n"
            "          <member><Name>ServiceName</Name><Value>api-%d</Value></member>\n"
            "        </Dimensions>\n        <Period>60</Period>\n        <EvaluationPeriods>3"
            "</EvaluationPeriods>\n        <Threshold>80.0</Threshold>\n"
            "        <ComparisonOperator>GreaterThanThreshold</ComparisonOperator>\n"
            "        <TreatMissingData>missing</TreatMissingData>\n      </member>\n",
            i, i, i);
    tt_buf_puts(b, "    </MetricAlarms>\n    <NextToken>next</NextToken>\n"
                   "  </DescribeAlarmsResult>\n  <ResponseMetadata><RequestId>r-1</RequestId>"
                   "</ResponseMetadata>\n</DescribeAlarmsResponse>\n");
}

static void instances(tt_buf *b)
{
    tt_buf_puts(b,
                "<DescribeDBInstancesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
                "<DescribeDBInstancesResult><DBInstances>");
    for (int i = 0; i < 50; i++)
        tt_buf_printf(
            b,
            "<DBInstance><DBInstanceIdentifier>db-%d</DBInstanceIdentifier><DBInstanceClass>"
            "db.t4g.small</DBInstanceClass><Engine>postgres</Engine><DBInstanceStatus>available"
            "</DBInstanceStatus><AllocatedStorage>20</AllocatedStorage><MaxAllocatedStorage>100"
            "</MaxAllocatedStorage><InstanceCreateTime>2026-01-02T03:04:05Z</InstanceCreateTime>"
            "<MultiAZ>false</MultiAZ><DBInstanceArn>arn:aws:rds:eu-west-3:123456789012:db:db-%d"
            "</DBInstanceArn><VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>"
            "sg-1</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership>"
            "</VpcSecurityGroups><TagList><Tag><Key>trimtab.dev/owner</Key><Value>prod/db-%d"
            "</Value></Tag></TagList><PendingModifiedValues/></DBInstance>",
            i, i, i);
    tt_buf_puts(b, "</DBInstances><Marker>m</Marker></DescribeDBInstancesResult>"
                   "</DescribeDBInstancesResponse>");
}

static int run(tt_aws_models *models, const char *service, const char *op, void (*body)(tt_buf *),
               double seconds)
{
    tt_error err;
    const tt_aws_service *svc = tt_aws_models_get(models, service, &err);
    tt_http_response resp;
    long n = 0;
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    tt_buf_init(&resp.body);
    body(&resp.body);
    double t0 = now(), t;
    do {
        for (int i = 0; i < 100; i++) {
            json_t *out = NULL;
            if (svc == NULL || tt_aws_parse(svc, op, &resp, &out, &err) != TT_OK) {
                fprintf(stderr, "bench_parse: %s %s: %s\n", service, op, err.message);
                return 1;
            }
            json_decref(out);
        }
        n += 100;
        t = now() - t0;
    } while (t < seconds);
    printf("{\"operation\": \"%s.%s\", \"bytes\": %zu, \"parses\": %ld, \"seconds\": %.3f, "
           "\"us_per_parse\": %.1f, \"mb_per_s\": %.1f}\n",
           service, op, resp.body.len, n, t, t / (double)n * 1e6,
           (double)resp.body.len * (double)n / t / 1e6);
    tt_buf_cleanup(&resp.body);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    if (argc > 1 && tt_parse_double(argv[1], &seconds) != 0)
        return 2;
    tt_aws_models *models = tt_aws_models_create(NULL);
    int rc = run(models, "application-autoscaling", "DescribeScalingPolicies", policies, seconds) |
             run(models, "cloudwatch", "DescribeAlarms", alarms, seconds) |
             run(models, "rds", "DescribeDBInstances", instances, seconds);
    tt_aws_models_destroy(models);
    return rc;
}
