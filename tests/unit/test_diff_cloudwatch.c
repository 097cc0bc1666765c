/*
 * Unit tests for the pure diff of Alarms (providers/cloudwatch.c): given a desired resource, the
 * observed CloudWatch view and the resolved dependencies, the exact plan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_fixture.h"
#include "loader.h"
#include "plan.h"
#include "provider.h"

#define HEAD(name)                                                                          \
    "apiVersion: trimtab.dev/v1alpha1\nkind: Alarm\nmetadata: {name: " name ", namespace: " \
    "shop}\n"

static const char *const cpu_spec =
    HEAD("web-cpu") "spec:\n"
                    "  target: {ecs: {cluster: prod, service: web}}\n"
                    "  metricName: CPUUtilization\n"
                    "  period: 60\n"
                    "  evaluationPeriods: 5\n"
                    "  threshold: 85\n"
                    "  comparison: GreaterThanThreshold\n"
                    "  actions:\n"
                    "    alarm:\n"
                    "      - snsTopicArn: arn:aws:sns:eu-central-1:123456789012:b\n"
                    "      - snsTopicArn: arn:aws:sns:eu-central-1:123456789012:a\n";

/* AWS's view of cpu_spec as DescribeAlarms reports it: the defaults AWS leaves out are absent,
 * actions in another order, the threshold a double. */
static const char *const cpu_converged =
    "{\"metricAlarm\": {\"AlarmName\": \"trimtab-shop-web-cpu\","
    " \"AlarmArn\": \"arn:aws:cloudwatch:eu-central-1:123456789012:alarm:trimtab-shop-web-cpu\","
    " \"Namespace\": \"AWS/ECS\", \"MetricName\": \"CPUUtilization\","
    " \"Dimensions\": [{\"Name\": \"ServiceName\", \"Value\": \"web\"},"
    "                {\"Name\": \"ClusterName\", \"Value\": \"prod\"}],"
    " \"Statistic\": \"Average\", \"Period\": 60, \"EvaluationPeriods\": 5, \"Threshold\": 85.0,"
    " \"ComparisonOperator\": \"GreaterThanThreshold\", \"ActionsEnabled\": true,"
    " \"AlarmActions\": [\"arn:aws:sns:eu-central-1:123456789012:a\","
    "                    \"arn:aws:sns:eu-central-1:123456789012:b\"],"
    " \"OKActions\": [], \"InsufficientDataActions\": [],"
    " \"StateValue\": \"OK\", \"StateReason\": \"fine\","
    " \"StateUpdatedTimestamp\": \"2026-01-01T00:00:00Z\"}}";

static const char *const owned_memo = "{\"owned\": true, \"alarm\": \"trimtab-shop-web-cpu\"}";

/* The fields the first action changes, as "field old→new; …" (JSON values). */
static void assert_changes(const json_t *plan, const char *want)
{
    tt_buf b;
    size_t i;
    json_t *c;

    tt_buf_init(&b);
    json_array_foreach(json_object_get(json_array_get(plan, 0), "changes"), i, c)
    {
        char *o = json_dumps(json_object_get(c, "old"), JSON_ENCODE_ANY | JSON_COMPACT);
        char *n = json_dumps(json_object_get(c, "new"), JSON_ENCODE_ANY | JSON_COMPACT);
        tt_buf_printf(&b, "%s%s %s→%s", i ? "; " : "",
                      json_string_value(json_object_get(c, "field")), o, n);
        free(o);
        free(n);
    }
    if (strcmp(tt_buf_str(&b), want) != 0)
        fail_msg("changes\n  got:  %s\n  want: %s", tt_buf_str(&b), want);
    tt_buf_cleanup(&b);
}

/* cpu_converged with one member replaced (or added) by `member: value` (JSON). */
static char *drifted(const char *member, const char *value)
{
    json_t *o = fx_json(cpu_converged);
    char *s;

    json_object_set_new(json_object_get(o, "metricAlarm"), member, fx_json(value));
    s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

/* cpu_spec with one more spec line ("  adopt: true\n"); the caller frees it. */
static char *cpu_with(const char *line)
{
    char *yaml = malloc(strlen(cpu_spec) + strlen(line) + 1);

    assert_non_null(yaml);
    strcpy(yaml, cpu_spec);
    strcat(yaml, line);
    return yaml;
}

static void converged_with_aws_defaults_is_empty(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    assert_true(json_is_true(json_object_get(f.out.memo, "owned")));
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "alarm")),
                        "trimtab-shop-web-cpu");
    fx_release(&f);
}

static void missing_is_created_with_every_field_and_the_owner_tag(void **state)
{
    diff_fixture f;
    const json_t *in;
    (void)state;
    fx_load(&f, "cloudwatch", cpu_spec, "{}", NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:PutMetricAlarm");
    in = fx_input(f.out.plan, 0);
    assert_string_equal(json_string_value(json_object_get(in, "AlarmName")),
                        "trimtab-shop-web-cpu");
    assert_string_equal(json_string_value(json_object_get(in, "Namespace")), "AWS/ECS");
    assert_string_equal(json_string_value(json_object_get(in, "Statistic")), "Average");
    assert_string_equal(json_string_value(json_object_get(in, "TreatMissingData")), "missing");
    assert_int_equal(json_array_size(json_object_get(in, "Dimensions")), 2);
    assert_null(json_object_get(in, "DatapointsToAlarm"));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(in, "Tags"), 0), "Value")),
        "shop/web-cpu");
    fx_release(&f);
}

/* Each field drifted alone is one update carrying the whole alarm, naming the one field. */
static void each_field_drift_is_one_update(void **state)
{
    static const struct {
        const char *member, *value, *changes;
    } cases[] = {
        {"Threshold", "90", "threshold 90→85.0"},
        {"Period", "300", "period 300→60"},
        {"EvaluationPeriods", "3", "evaluationPeriods 3→5; datapointsToAlarm 3→5"},
        {"DatapointsToAlarm", "2", "datapointsToAlarm 2→5"},
        {"ComparisonOperator", "\"LessThanThreshold\"",
         "comparison \"LessThanThreshold\"→\"GreaterThanThreshold\""},
        {"TreatMissingData", "\"breaching\"", "treatMissingData \"breaching\"→\"missing\""},
        {"Statistic", "\"Maximum\"", "statistic \"Maximum\"→\"Average\""},
        {"Unit", "\"Percent\"", "unit \"Percent\"→null"},
        {"MetricName", "\"MemoryUtilization\"",
         "metricName \"MemoryUtilization\"→\"CPUUtilization\""},
        {"Namespace", "\"Custom\"", "namespace \"Custom\"→\"AWS/ECS\""},
        {"AlarmDescription", "\"set by hand\"", "description \"set by hand\"→\"\""},
        {"ActionsEnabled", "false", "actionsEnabled false→true"},
        {"OKActions", "[\"arn:aws:sns:eu-central-1:123456789012:x\"]",
         "actions.ok [\"arn:aws:sns:eu-central-1:123456789012:x\"]→[]"},
        {"Dimensions", "[{\"Name\": \"ClusterName\", \"Value\": \"prod\"}]",
         "dimensions [{\"Name\":\"ClusterName\",\"Value\":\"prod\"}]→[{\"Name\":\"ClusterName\","
         "\"Value\":\"prod\"},{\"Name\":\"ServiceName\",\"Value\":\"web\"}]"},
        {"Metrics", "[{\"Id\": \"m1\"}]", "metrics [{\"Id\":\"m1\"}]→[]"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        diff_fixture f;
        char *obs = drifted(cases[i].member, cases[i].value);
        fx_load(&f, "cloudwatch", cpu_spec, obs, owned_memo);
        fx_diff(&f);
        fx_assert_ops(f.out.plan, "update:PutMetricAlarm");
        assert_changes(f.out.plan, cases[i].changes);
        /* The Put replaces the whole alarm: it carries every field, and no tags. */
        assert_non_null(json_object_get(fx_input(f.out.plan, 0), "Threshold"));
        assert_int_equal(json_array_size(json_object_get(fx_input(f.out.plan, 0), "AlarmActions")),
                         2);
        assert_null(json_object_get(fx_input(f.out.plan, 0), "Tags"));
        fx_release(&f);
        free(obs);
    }
}

static void targets_fill_namespace_and_dimensions(void **state)
{
    static const struct {
        const char *target, *ns, *dims;
    } cases[] = {
        {"{rds: {instance: orders-db}}", "AWS/RDS",
         "[{\"Name\":\"DBInstanceIdentifier\",\"Value\":\"orders-db\"}]"},
        {"{rds: {cluster: orders}}", "AWS/RDS",
         "[{\"Name\":\"DBClusterIdentifier\",\"Value\":\"orders\"}]"},
        {"{elasticache: {replicationGroup: sessions}}", "AWS/ElastiCache",
         "[{\"Name\":\"ReplicationGroupId\",\"Value\":\"sessions\"}]"},
        {"{elasticache: {replicationGroup: sessions, cacheCluster: sessions-001}}",
         "AWS/ElastiCache", "[{\"Name\":\"CacheClusterId\",\"Value\":\"sessions-001\"}]"},
        {"{lambda: {function: checkout, alias: live}}", "AWS/Lambda",
         "[{\"Name\":\"FunctionName\",\"Value\":\"checkout\"},{\"Name\":\"Resource\","
         "\"Value\":\"checkout:live\"}]"},
        {"{lambda: {function: checkout}}", "AWS/Lambda",
         "[{\"Name\":\"FunctionName\",\"Value\":\"checkout\"}]"},
        {"{cloudfront: {distributionId: E2QWRUHAPOMQZL}}", "AWS/CloudFront",
         "[{\"Name\":\"DistributionId\",\"Value\":\"E2QWRUHAPOMQZL\"},{\"Name\":\"Region\","
         "\"Value\":\"Global\"}]"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        diff_fixture f;
        char yaml[1024];
        char *dims;
        snprintf(yaml, sizeof(yaml),
                 HEAD("a") "spec:\n  target: %s\n  metricName: M\n  threshold: 1\n"
                           "  comparison: GreaterThanThreshold\n",
                 cases[i].target);
        fx_load(&f, "cloudwatch", yaml, "{}", NULL);
        fx_diff(&f);
        fx_assert_ops(f.out.plan, "create:PutMetricAlarm");
        assert_string_equal(
            json_string_value(json_object_get(fx_input(f.out.plan, 0), "Namespace")), cases[i].ns);
        dims = json_dumps(json_object_get(fx_input(f.out.plan, 0), "Dimensions"),
                          JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_string_equal(dims, cases[i].dims);
        free(dims);
        /* CloudFront alarms are created in us-east-1: the model sets the region. */
        if (strstr(cases[i].target, "cloudfront") != NULL)
            assert_string_equal(f.r->spec.common->region, "us-east-1");
        fx_release(&f);
    }
}

static void explicit_metric_and_percentile(void **state)
{
    diff_fixture f;
    const json_t *in;
    (void)state;
    fx_load(&f, "cloudwatch",
            HEAD("p95") "spec:\n  metric: {namespace: Shop, metricName: Latency, dimensions: "
                        "{Api: checkout}}\n  extendedStatistic: p95\n  threshold: 800\n"
                        "  comparison: GreaterThanThreshold\n  unit: Milliseconds\n"
                        "  datapointsToAlarm: 1\n  evaluationPeriods: 3\n",
            "{}", NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:PutMetricAlarm");
    in = fx_input(f.out.plan, 0);
    assert_string_equal(json_string_value(json_object_get(in, "Namespace")), "Shop");
    assert_string_equal(json_string_value(json_object_get(in, "ExtendedStatistic")), "p95");
    assert_null(json_object_get(in, "Statistic"));
    assert_string_equal(json_string_value(json_object_get(in, "Unit")), "Milliseconds");
    assert_int_equal(json_integer_value(json_object_get(in, "DatapointsToAlarm")), 1);
    fx_release(&f);
}

static const char *const composite_spec =
    HEAD("web-saturated") "spec:\n"
                          "  composite: {rule: 'ALARM(web-cpu) AND NOT OK(\"web-mem\")'}\n"
                          "  actions: {alarm: [{snsTopicArn: "
                          "arn:aws:sns:eu-central-1:123456789012:x}]}\n";

/* Both children of composite_spec exist: their status records name them. */
static void children_exist(diff_fixture *f)
{
    json_object_set_new(
        f->deps, "Alarm/web-cpu",
        fx_json("{\"alarmName\": \"trimtab-shop-web-cpu\", \"alarmArn\": \"arn:c\"}"));
    json_object_set_new(
        f->deps, "Alarm/web-mem",
        fx_json("{\"alarmName\": \"trimtab-shop-web-mem\", \"alarmArn\": \"arn:m\"}"));
}

static void composite_waits_for_children_then_names_them(void **state)
{
    diff_fixture f;
    const json_t *in;
    (void)state;
    fx_load(&f, "cloudwatch", composite_spec, "{}", NULL);
    /* web-cpu exists, web-mem not yet. */
    json_object_set_new(
        f.deps, "Alarm/web-cpu",
        fx_json("{\"alarmName\": \"trimtab-shop-web-cpu\", \"alarmArn\": \"arn:c\"}"));
    json_object_set_new(f.deps, "Alarm/web-mem",
                        fx_json("{\"alarmName\": \"trimtab-shop-web-mem\"}"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "DependencyNotReady");
    assert_non_null(strstr(f.out.message, "Alarm web-mem"));
    fx_assert_ops(f.out.plan, "");
    json_object_set_new(
        f.deps, "Alarm/web-mem",
        fx_json("{\"alarmName\": \"trimtab-shop-web-mem\", \"alarmArn\": \"arn:m\"}"));
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "create:PutCompositeAlarm");
    in = fx_input(f.out.plan, 0);
    assert_string_equal(json_string_value(json_object_get(in, "AlarmRule")),
                        "ALARM(trimtab-shop-web-cpu) AND NOT OK(\"trimtab-shop-web-mem\")");
    assert_null(json_object_get(in, "Namespace"));
    fx_release(&f);
}

static void composite_converged_and_rule_drift(void **state)
{
    diff_fixture f;
    const char *obs =
        "{\"compositeAlarm\": {\"AlarmName\": \"trimtab-shop-web-saturated\", \"AlarmArn\": "
        "\"arn:s\", \"AlarmRule\": \"ALARM(trimtab-shop-web-cpu) AND NOT "
        "OK(\\\"trimtab-shop-web-mem\\\")\", \"ActionsEnabled\": true, \"AlarmActions\": "
        "[\"arn:aws:sns:eu-central-1:123456789012:x\"], \"OKActions\": [], "
        "\"InsufficientDataActions\": []}}";
    (void)state;
    fx_load(&f, "cloudwatch", composite_spec, obs,
            "{\"owned\": true, \"alarm\": \"trimtab-shop-web-saturated\"}");
    children_exist(&f);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    json_object_set_new(json_object_get(f.observed, "compositeAlarm"), "AlarmRule",
                        json_string("ALARM(trimtab-shop-web-cpu)"));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutCompositeAlarm");
    assert_changes(f.out.plan, "composite.rule \"ALARM(trimtab-shop-web-cpu)\"→\"ALARM(trimtab-"
                               "shop-web-cpu) AND NOT OK(\\\"trimtab-shop-web-mem\\\")\"");
    fx_release(&f);
}

static void type_change_deletes_then_creates(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "cloudwatch", composite_spec,
            "{\"metricAlarm\": {\"AlarmName\": \"trimtab-shop-web-saturated\", \"AlarmArn\": "
            "\"arn:s\"}}",
            "{\"owned\": true, \"alarm\": \"trimtab-shop-web-saturated\"}");
    children_exist(&f);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "delete:DeleteAlarms create:PutCompositeAlarm");
    fx_release(&f);
}

static const char *const step_spec =
    HEAD("web-burst") "spec:\n"
                      "  target: {ecs: {cluster: prod, service: web}}\n"
                      "  metricName: CPUUtilization\n"
                      "  threshold: 90\n"
                      "  comparison: GreaterThanThreshold\n"
                      "  actions:\n"
                      "    alarm: [{scalingPolicy: {name: web, policy: burst}}]\n"
                      "    ok: [{snsTopicArn: arn:aws:sns:eu-central-1:123456789012:x}]\n";

static void missing_step_policy_is_dependency_not_ready(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "cloudwatch", step_spec, "{}", NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "DependencyNotReady");
    assert_string_equal(f.out.message, "waiting for step policy burst of ScalingPolicy web to "
                                       "exist (its status has no policyArns entry yet)");
    fx_assert_ops(f.out.plan, "");
    /* The ScalingPolicy's status names the ARN: the alarm's action holds it. */
    json_object_set_new(f.deps, "ScalingPolicy/web",
                        fx_json("{\"policyArns\": {\"burst\": \"arn:aws:autoscaling:p\"}}"));
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "create:PutMetricAlarm");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(fx_input(f.out.plan, 0), "AlarmActions"), 0)),
                        "arn:aws:autoscaling:p");
    fx_release(&f);
}

static void unowned_is_refused_then_adopted(void **state)
{
    diff_fixture f;
    char *yaml;
    (void)state;
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, NULL);
    json_object_set_new(f.observed, "tags", json_object());
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    fx_assert_ops(f.out.plan, "");
    assert_null(f.out.memo);
    fx_release(&f);

    /* Another trimtab resource's alarm is never taken, adopt or not. */
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, NULL);
    json_object_set_new(f.observed, "tags", fx_json("{\"trimtab.dev/owner\": \"shop/other\"}"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    fx_release(&f);

    /* Its own tag (a run killed before the memo was written) is enough. */
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, NULL);
    json_object_set_new(f.observed, "tags", fx_json("{\"trimtab.dev/owner\": \"shop/web-cpu\"}"));
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    yaml = cpu_with("  adopt: true\n");
    fx_load(&f, "cloudwatch", yaml, cpu_converged, NULL);
    json_object_set_new(f.observed, "tags", json_object());
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "tag:TagResource");
    fx_release(&f);
    free(yaml);
}

/* Observe mode uses the same plan: the engine reports it as drift and never applies it. */
static void observe_mode_plans_the_same(void **state)
{
    diff_fixture f;
    char *obs = drifted("Threshold", "90");
    char *yaml = cpu_with("  mode: Observe\n");
    (void)state;
    fx_load(&f, "cloudwatch", yaml, obs, owned_memo);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutMetricAlarm");
    assert_changes(f.out.plan, "threshold 90→85.0");
    fx_release(&f);
    free(obs);
    free(yaml);
}

static void remove_deletes_only_what_is_owned(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    tt_error err;
    json_t *plan;
    (void)state;
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, owned_memo);
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    plan = tt_plan_new();
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "delete:DeleteAlarms");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(fx_input(plan, 0), "AlarmNames"), 0)),
        "trimtab-shop-web-cpu");
    json_decref(plan);
    fx_release(&f);

    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, NULL);
    json_object_set_new(f.observed, "tags", json_object());
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    plan = tt_plan_new();
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "");
    json_decref(plan);
    fx_release(&f);
}

static void status_reports_state(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    json_t *st = json_object();
    (void)state;
    fx_load(&f, "cloudwatch", cpu_spec, cpu_converged, owned_memo);
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    f.p->status(&in, st);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "OK");
    assert_string_equal(json_string_value(json_object_get(st, "stateReason")), "fine");
    assert_string_equal(json_string_value(json_object_get(st, "stateUpdatedTime")),
                        "2026-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(st, "alarmName")),
                        "trimtab-shop-web-cpu");
    assert_non_null(json_object_get(st, "alarmArn"));
    json_decref(st);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_with_aws_defaults_is_empty),
        cmocka_unit_test(missing_is_created_with_every_field_and_the_owner_tag),
        cmocka_unit_test(each_field_drift_is_one_update),
        cmocka_unit_test(targets_fill_namespace_and_dimensions),
        cmocka_unit_test(explicit_metric_and_percentile),
        cmocka_unit_test(composite_waits_for_children_then_names_them),
        cmocka_unit_test(composite_converged_and_rule_drift),
        cmocka_unit_test(type_change_deletes_then_creates),
        cmocka_unit_test(missing_step_policy_is_dependency_not_ready),
        cmocka_unit_test(unowned_is_refused_then_adopted),
        cmocka_unit_test(observe_mode_plans_the_same),
        cmocka_unit_test(remove_deletes_only_what_is_owned),
        cmocka_unit_test(status_reports_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
