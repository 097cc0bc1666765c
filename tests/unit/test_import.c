/*
 * Unit tests for the pure part of `trimtab import` (import/import_map.c, import_write.c's YAML)
 * and the two engine rules it relies on (providers/owner.c): Kubernetes-valid names that stay
 * unique and stable, the mapping of each kind of AWS object to its spec, every "cannot express"
 * reason, and manifests that read back valid through the same loader as `trimtab validate`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "import.h"
#include "loader.h"
#include "owner.h"
#include "tt_buf.h"

static const tt_import_opts all = {"eu-central-1", "shop", TT_IMPORT_ALL_KINDS};

#define STEP_ARN                                                                               \
    "arn:aws:autoscaling:eu-central-1:123456789012:scalingPolicy:1:resource/ecs/service/prod/" \
    "Web:policyName/Shop-WebStepOut-1A2B"

/* An account with one of each: target + tracking + step + scheduled, alarms, budget, secret. */
static const char *account_text =
    "{\"region\": \"eu-central-1\", \"account\": \"123456789012\","
    " \"aas\": {\"targets\": [{\"ServiceNamespace\": \"ecs\", \"ResourceId\": "
    "\"service/prod/Web\", \"ScalableDimension\": \"ecs:service:DesiredCount\", \"MinCapacity\": "
    "2, \"MaxCapacity\": 10}],"
    " \"policies\": ["
    "  {\"PolicyName\": \"Shop-WebCpuTracking-9Z\", \"ServiceNamespace\": \"ecs\", "
    "\"ResourceId\": \"service/prod/Web\", \"ScalableDimension\": \"ecs:service:DesiredCount\", "
    "\"PolicyType\": \"TargetTrackingScaling\", \"TargetTrackingScalingPolicyConfiguration\": "
    "{\"TargetValue\": 70.0, \"PredefinedMetricSpecification\": {\"PredefinedMetricType\": "
    "\"ECSServiceAverageCPUUtilization\"}, \"ScaleInCooldown\": 300}},"
    "  {\"PolicyName\": \"Shop-WebStepOut-1A2B\", \"PolicyARN\": \"" STEP_ARN "\", "
    "\"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/prod/Web\", "
    "\"ScalableDimension\": \"ecs:service:DesiredCount\", \"PolicyType\": \"StepScaling\", "
    "\"StepScalingPolicyConfiguration\": {\"AdjustmentType\": \"ChangeInCapacity\", "
    "\"Cooldown\": 120, \"StepAdjustments\": [{\"MetricIntervalLowerBound\": 0.0, "
    "\"ScalingAdjustment\": 2}]}},"
    "  {\"PolicyName\": \"predictive\", \"ServiceNamespace\": \"ecs\", \"ResourceId\": "
    "\"service/prod/Web\", \"ScalableDimension\": \"ecs:service:DesiredCount\", \"PolicyType\": "
    "\"PredictiveScaling\"}],"
    " \"scheduled\": [{\"ScheduledActionName\": \"Business Hours\", \"ServiceNamespace\": "
    "\"ecs\", \"ResourceId\": \"service/prod/Web\", \"ScalableDimension\": "
    "\"ecs:service:DesiredCount\", \"Schedule\": \"cron(0 8 ? * MON-FRI *)\", \"Timezone\": "
    "\"Europe/Berlin\", \"ScalableTargetAction\": {\"MinCapacity\": 4}},"
    "  {\"ScheduledActionName\": \"black friday\", \"ServiceNamespace\": \"ecs\", "
    "\"ResourceId\": \"service/prod/Web\", \"ScalableDimension\": \"ecs:service:DesiredCount\", "
    "\"Schedule\": \"rate(1 hour)\", \"StartTime\": \"2030-11-27T00:00:00Z\", "
    "\"ScalableTargetAction\": {\"MinCapacity\": 8}}]},"
    " \"alarms\": {\"MetricAlarms\": ["
    "  {\"AlarmName\": \"TF-CPU-HIGH\", \"Namespace\": \"AWS/ECS\", \"MetricName\": "
    "\"CPUUtilization\", \"Statistic\": \"Average\", \"Period\": 60, \"EvaluationPeriods\": 3, "
    "\"Threshold\": 80.0, \"ComparisonOperator\": \"GreaterThanThreshold\", \"Dimensions\": "
    "[{\"Name\": \"ClusterName\", \"Value\": \"prod\"}, {\"Name\": \"ServiceName\", \"Value\": "
    "\"Web\"}], \"AlarmActions\": [\"" STEP_ARN "\"], \"OKActions\": "
    "[\"arn:aws:sns:eu-central-1:123456789012:ok\"]},"
    "  {\"AlarmName\": \"tf_cpu_high\", \"Namespace\": \"AWS/ECS\", \"MetricName\": "
    "\"CPUUtilization\", \"ExtendedStatistic\": \"p95\", \"Period\": 60, \"EvaluationPeriods\": "
    "1, \"Threshold\": 90.0, \"ComparisonOperator\": \"GreaterThanThreshold\"},"
    "  {\"AlarmName\": \"math\", \"Metrics\": [{\"Id\": \"e\"}], \"EvaluationPeriods\": 1, "
    "\"Threshold\": 1, \"ComparisonOperator\": \"GreaterThanThreshold\"},"
    "  {\"AlarmName\": \"reboot\", \"Namespace\": \"AWS/EC2\", \"MetricName\": \"X\", "
    "\"Statistic\": \"Maximum\", \"Period\": 60, \"EvaluationPeriods\": 1, \"Threshold\": 1, "
    "\"ComparisonOperator\": \"GreaterThanThreshold\", \"AlarmActions\": "
    "[\"arn:aws:automate:eu-central-1:ec2:reboot\"]},"
    "  {\"AlarmName\": \"TargetTracking-service/prod/Web-AlarmHigh-1\", \"Namespace\": "
    "\"AWS/ECS\", \"MetricName\": \"CPUUtilization\", \"Statistic\": \"Average\", \"Period\": "
    "60, \"EvaluationPeriods\": 3, \"Threshold\": 70, \"ComparisonOperator\": "
    "\"GreaterThanThreshold\"},"
    "  {\"AlarmName\": \"trimtab-shop-web-cpu\", \"Namespace\": \"AWS/ECS\", \"MetricName\": "
    "\"CPUUtilization\", \"Statistic\": \"Average\", \"Period\": 60, \"EvaluationPeriods\": 3, "
    "\"Threshold\": 70, \"ComparisonOperator\": \"GreaterThanThreshold\"}],"
    " \"CompositeAlarms\": ["
    "  {\"AlarmName\": \"Both\", \"AlarmRule\": \"ALARM(\\\"TF-CPU-HIGH\\\") AND "
    "ALARM(\\\"tf_cpu_high\\\")\"},"
    "  {\"AlarmName\": \"Outer\", \"AlarmRule\": \"NOT ALARM(Both)\"},"
    "  {\"AlarmName\": \"Dangling\", \"AlarmRule\": \"ALARM(math)\"},"
    "  {\"AlarmName\": \"CycleA\", \"AlarmRule\": \"ALARM(CycleB)\"},"
    "  {\"AlarmName\": \"CycleB\", \"AlarmRule\": \"ALARM(CycleA)\"}]},"
    " \"budgets\": ["
    "  {\"BudgetName\": \"Platform Monthly\", \"BudgetLimit\": {\"Amount\": \"60.0\", \"Unit\": "
    "\"USD\"}, \"TimeUnit\": \"MONTHLY\", \"BudgetType\": \"COST\", \"CostFilters\": "
    "{\"Service\": [\"Amazon EC2\"], \"TagKeyValue\": [\"user:team$platform\"]}, "
    "\"Notifications\": [{\"Notification\": {\"NotificationType\": \"ACTUAL\", "
    "\"ComparisonOperator\": \"GREATER_THAN\", \"Threshold\": 80.0}, \"Subscribers\": "
    "[{\"SubscriptionType\": \"EMAIL\", \"Address\": \"ops@example.com\"}, "
    "{\"SubscriptionType\": \"SNS\", \"Address\": \"arn:aws:sns:us-east-1:123456789012:b\"}]}]},"
    "  {\"BudgetName\": \"odd\", \"BudgetLimit\": {\"Amount\": \"1\", \"Unit\": \"USD\"}, "
    "\"TimeUnit\": \"MONTHLY\", \"CostFilters\": {\"CostCategory\": [\"x\"]}},"
    "  {\"BudgetName\": \"net\", \"BudgetLimit\": {\"Amount\": \"1\", \"Unit\": \"USD\"}, "
    "\"TimeUnit\": \"MONTHLY\", \"CostTypes\": {\"IncludeTax\": false, \"UseBlended\": false}}],"
    " \"secrets\": ["
    "  {\"Name\": \"prod/Orders/app\", \"ARN\": \"arn:s\", \"RotationEnabled\": true, "
    "\"RotationLambdaARN\": \"arn:aws:lambda:eu-central-1:123456789012:function:rotate\", "
    "\"RotationRules\": {\"ScheduleExpression\": \"rate(10 days)\", \"Duration\": \"3h\"}, "
    "\"ReplicationStatus\": [{\"Region\": \"eu-west-1\"}]},"
    "  {\"Name\": \"weird\", \"ARN\": \"arn:w\", \"RotationEnabled\": true, "
    "\"RotationLambdaARN\": \"arn:aws:lambda:eu-central-1:1:function:rotate\", "
    "\"RotationRules\": {\"AutomaticallyAfterDays\": 30}},"
    "  {\"Name\": \"owned-secret\", \"ARN\": \"arn:o\", \"RotationEnabled\": true, "
    "\"Tags\": [{\"Key\": \"trimtab.dev/owner\", \"Value\": \"shop/s\"}]},"
    "  {\"Name\": \"plain\", \"ARN\": \"arn:p\"}],"
    " \"instances\": [{\"DBInstanceIdentifier\": \"orders-db\", \"MaxAllocatedStorage\": 200},"
    "  {\"DBInstanceIdentifier\": \"fixed\"},"
    "  {\"DBInstanceIdentifier\": \"owned-db\", \"MaxAllocatedStorage\": 100, \"TagList\": "
    "[{\"Key\": \"trimtab.dev/owner\", \"Value\": \"shop/db\"}]}]}";

static json_t *map(const char *text, const tt_import_opts *o)
{
    json_error_t jerr;
    json_t *account = json_loads(text, 0, &jerr), *out = NULL;
    tt_error err;

    if (account == NULL)
        fail_msg("fixture does not parse: %s at %d", jerr.text, jerr.position);
    tt_error_clear(&err);
    assert_int_equal(tt_import_map(account, o, &out, &err), TT_OK);
    json_decref(account);
    return out;
}

/* The manifest of resource kind/name in `mapped`, or NULL. */
static const json_t *find(const json_t *mapped, const char *kind, const char *name)
{
    const json_t *r;
    size_t i;

    json_array_foreach(json_object_get(mapped, "resources"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
            return json_object_get(r, "manifest");
    }
    return NULL;
}

/* The reason given for skipping `object` (a substring match), or NULL. */
static const char *skipped(const json_t *mapped, const char *object)
{
    const json_t *s;
    size_t i;

    json_array_foreach(json_object_get(mapped, "skipped"), i, s)
    {
        if (strstr(json_string_value(json_object_get(s, "object")), object) != NULL)
            return json_string_value(json_object_get(s, "reason"));
    }
    return NULL;
}

static const char *at(const json_t *doc, const char *path)
{
    json_t *v = json_object_get(doc, "spec");
    char key[200];
    const char *p = path;

    while (*p != '\0' && v != NULL) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_is_array(v) ? json_array_get(v, (size_t)(key[0] - '0')) : json_object_get(v, key);
        p += n + (p[n] == '.');
    }
    if (json_is_string(v))
        return json_string_value(v);
    static char num[64];
    snprintf(num, sizeof(num), json_is_integer(v) ? "%.0f" : "%g", json_number_value(v));
    return v == NULL ? "(none)" : num;
}

static void names_are_kubernetes_names(void **state)
{
    static const char *const cases[][2] = {
        {"Shop-WebCpu1A2B", "shop-webcpu1a2b"},
        {"Web CPU > 80% (prod)", "web-cpu-80-prod"},
        {"tf_web_cpu_high", "tf-web-cpu-high"},
        {"--x--", "x"},
        {"!!!", "imported"},
        {"prod/orders-db/app", "prod-orders-db-app"},
    };
    char out[64], again[64], longname[200];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tt_import_name(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    tt_import_name(longname, out, sizeof(out));
    assert_int_equal(strlen(out), 63);
    assert_int_equal(out[54], '-');
    tt_import_name(longname, again, sizeof(again));
    assert_string_equal(out, again);
    longname[150] = 'B'; /* same prefix, another name: another hash */
    tt_import_name(longname, again, sizeof(again));
    assert_string_not_equal(out, again);
}

static void collisions_get_a_stable_suffix(void **state)
{
    json_t *m = map(account_text, &all);
    const json_t *a = find(m, "Alarm", "tf-cpu-high"), *r;
    char other[80];
    size_t i;

    (void)state;
    assert_non_null(a);
    /* "TF-CPU-HIGH" sorts first and keeps the plain name; "tf_cpu_high" gets a suffix. */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(a, "metadata"), "annotations"),
                            "trimtab.dev/external-name")),
                        "TF-CPU-HIGH");
    other[0] = '\0';
    json_array_foreach(json_object_get(m, "resources"), i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (strncmp(n, "tf-cpu-high-", 12) == 0)
            snprintf(other, sizeof(other), "%s", n);
    }
    assert_int_equal(strlen(other), strlen("tf-cpu-high-") + 5);
    json_decref(m);
    /* Same account again: the same names (the suffix hashes the AWS name). */
    m = map(account_text, &all);
    assert_non_null(find(m, "Alarm", other));
    json_decref(m);
}

static void scalable_target_maps_to_spec(void **state)
{
    json_t *m = map(account_text, &all);
    const json_t *sp = find(m, "ScalingPolicy", "web");
    const json_t *ann;

    (void)state;
    assert_non_null(sp);
    assert_string_equal(at(sp, "target.ecs.cluster"), "prod");
    assert_string_equal(at(sp, "target.ecs.service"), "Web");
    assert_string_equal(at(sp, "minCapacity"), "2");
    assert_string_equal(at(sp, "maxCapacity"), "10");
    assert_true(json_is_true(json_object_get(json_object_get(sp, "spec"), "adopt")));
    assert_string_equal(at(sp, "deletionPolicy"), "Retain");
    assert_string_equal(at(sp, "targetTracking.0.name"), "shop-webcputracking-9z");
    assert_string_equal(at(sp, "targetTracking.0.predefinedMetric"),
                        "ECSServiceAverageCPUUtilization");
    assert_string_equal(at(sp, "targetTracking.0.targetValue"), "70");
    assert_string_equal(at(sp, "targetTracking.0.scaleInCooldown"), "300");
    assert_string_equal(at(sp, "stepScaling.0.name"), "shop-webstepout-1a2b");
    assert_string_equal(at(sp, "stepScaling.0.steps.0.lower"), "0");
    assert_string_equal(at(sp, "stepScaling.0.steps.0.adjustment"), "2");
    assert_string_equal(at(sp, "scheduled.0.name"), "business-hours");
    assert_string_equal(at(sp, "scheduled.0.schedule"), "cron(0 8 ? * MON-FRI *)");
    assert_string_equal(at(sp, "scheduled.0.timezone"), "Europe/Berlin");
    ann = json_object_get(json_object_get(sp, "metadata"), "annotations");
    assert_string_equal(
        json_string_value(json_object_get(ann, "trimtab.dev/external-name.business-hours")),
        "Business Hours");
    assert_string_equal(
        json_string_value(json_object_get(ann, "trimtab.dev/external-name.shop-webstepout-1a2b")),
        "Shop-WebStepOut-1A2B");
    assert_string_equal(json_string_value(json_object_get(ann, "trimtab.dev/imported")), "true");
    sp = find(m, "ScalingPolicy", "orders-db-storage");
    assert_non_null(sp);
    assert_string_equal(at(sp, "storage.maxAllocatedGiB"), "200");
    assert_null(find(m, "ScalingPolicy", "fixed-storage"));
    json_decref(m);
}

static void alarms_budgets_secrets_map_to_spec(void **state)
{
    json_t *m = map(account_text, &all);
    const json_t *a = find(m, "Alarm", "tf-cpu-high"), *b, *s;

    (void)state;
    assert_string_equal(at(a, "metric.namespace"), "AWS/ECS");
    assert_string_equal(at(a, "metric.dimensions.ServiceName"), "Web");
    assert_string_equal(at(a, "actions.alarm.0.scalingPolicy.name"), "web");
    assert_string_equal(at(a, "actions.alarm.0.scalingPolicy.policy"), "shop-webstepout-1a2b");
    assert_string_equal(at(a, "actions.ok.0.snsTopicArn"),
                        "arn:aws:sns:eu-central-1:123456789012:ok");
    a = find(m, "Alarm", "both");
    assert_non_null(a);
    /* AWS names become the Alarm resources' names; the rest of the rule is kept as written. */
    assert_int_equal(
        strncmp(at(a, "composite.rule"), "ALARM(\"tf-cpu-high\") AND ALARM(\"tf-cpu-high-", 43), 0);
    a = find(m, "Alarm", "outer"); /* a composite naming a composite */
    assert_string_equal(at(a, "composite.rule"), "NOT ALARM(both)");
    b = find(m, "Budget", "platform-monthly");
    assert_string_equal(at(b, "limit.amount"), "60");
    assert_string_equal(at(b, "costFilters.service.0"), "Amazon EC2");
    assert_string_equal(at(b, "costFilters.tags.team"), "platform");
    assert_string_equal(at(b, "notifications.0.subscribers.1.snsTopicArn"),
                        "arn:aws:sns:us-east-1:123456789012:b");
    assert_null(json_object_get(json_object_get(b, "spec"), "region")); /* global */
    s = find(m, "SecretRotation", "prod-orders-app");
    assert_string_equal(at(s, "secretId"), "prod/Orders/app");
    assert_string_equal(at(s, "schedule.expression"), "rate(10 days)");
    assert_string_equal(at(s, "schedule.duration"), "3h");
    assert_string_equal(at(s, "replicaRegions.0"), "eu-west-1");
    json_decref(m);
}

static void what_cannot_be_expressed_is_listed(void **state)
{
    static const char *const cases[][2] = {
        {"policy predictive", "exactly one metric specification"},
        {"black friday", "StartTime/EndTime"},
        {"math", "metric math"},
        {"reboot", "neither an SNS topic nor a step scaling policy"},
        {"TargetTracking-service/prod/Web-AlarmHigh-1", "Application Auto Scaling"},
        {"trimtab-shop-web-cpu", "named by trimtab"},
        {"owned-db", "managed by trimtab ScalingPolicy shop/db"},
        {"owned-secret", "managed by trimtab SecretRotation shop/s"},
        {"Dangling", "names alarm math, which is not imported"},
        {"CycleA", "cycle"},
        {"odd", "cost dimension"},
        {"net", "cost type IncludeTax"},
        {"plain", "rotation is not enabled"},
        {"weird", "validation refuses what AWS holds: spec.rotationLambdaArn"},
    };
    json_t *m = map(account_text, &all);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = skipped(m, cases[i][0]);
        if (why == NULL || strstr(why, cases[i][1]) == NULL)
            fail_msg("%s: reason %s, expected one mentioning \"%s\"", cases[i][0],
                     why ? why : "(not skipped)", cases[i][1]);
    }
    json_decref(m);
}

static void kinds_filter(void **state)
{
    tt_import_opts o = {"eu-central-1", "shop", 1u << TT_KIND_ALARM};
    json_t *m = map(account_text, &o);
    const json_t *r;
    size_t i;

    (void)state;
    json_array_foreach(json_object_get(m, "resources"), i, r)
        assert_string_equal(json_string_value(json_object_get(r, "kind")), "Alarm");
    /* Without ScalingPolicies the step action cannot be a reference: said, not dropped. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(find(m, "Alarm", "tf-cpu-high"), "metadata"),
                            "annotations"),
            "trimtab.dev/external-name")),
        "tf_cpu_high"); /* the name is free: the other one is not imported */
    assert_non_null(strstr(skipped(m, "TF-CPU-HIGH"), "not imported as a step policy"));
    json_decref(m);
}

static void empty_account_maps_to_nothing(void **state)
{
    json_t *m = map("{\"region\": \"eu-central-1\"}", &all);

    (void)state;
    assert_int_equal(json_array_size(json_object_get(m, "resources")), 0);
    assert_int_equal(json_array_size(json_object_get(m, "skipped")), 0);
    json_decref(m);
}

/* Every manifest, written as YAML, loads back valid through `trimtab validate`'s loader. */
static void manifests_read_back_valid(void **state)
{
    json_t *m = map(account_text, &all);
    const json_t *r;
    size_t i;
    tt_buf b, msg;
    tt_error err;

    (void)state;
    tt_buf_init(&b);
    tt_buf_init(&msg);
    json_array_foreach(json_object_get(m, "resources"), i, r)
    {
        tt_manifest_set set;
        tt_diags *diags = tt_diags_create();
        tt_buf_reset(&b);
        assert_int_equal(tt_import_yaml(json_object_get(r, "manifest"), &b, &err), TT_OK);
        tt_manifest_set_init(&set);
        assert_int_equal(tt_loader_add_bytes(&set, tt_buf_str(&b), b.len, "x.yaml", diags), TT_OK);
        tt_loader_finish(&set, diags);
        assert_int_equal(set.len, 1);
        if (set.items[0]->invalid) {
            tt_diags_format(diags, &msg);
            fail_msg("%s\n%s", tt_buf_str(&msg), tt_buf_str(&b));
        }
        tt_manifest_set_cleanup(&set);
        tt_diags_destroy(diags);
    }
    tt_buf_cleanup(&b);
    tt_buf_cleanup(&msg);
    json_decref(m);
}

/* The engine side: external names are used as is, and an imported resource adopts untagged. */
static void owner_honours_import_annotations(void **state)
{
    tt_kv ann[] = {{"trimtab.dev/external-name", "TF-CPU-HIGH"},
                   {"trimtab.dev/external-name.cpu", "Shop-WebCpu-1A"},
                   {"trimtab.dev/imported", "true"}};
    tt_common_spec common = {0};
    tt_resource r;
    tt_diff_output out;
    char name[300];

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&out, 0, sizeof(out));
    r.kind = TT_KIND_ALARM;
    r.namespace_ = "shop";
    r.name = "tf-cpu-high";
    r.annotations = ann;
    r.nannotations = 3;
    r.spec.common = &common;
    tt_owner_name(&r, NULL, 255, name, sizeof(name));
    assert_string_equal(name, "TF-CPU-HIGH");
    tt_owner_name(&r, "cpu", 255, name, sizeof(name));
    assert_string_equal(name, "Shop-WebCpu-1A");
    tt_owner_name(&r, "memory", 255, name, sizeof(name)); /* no annotation: trimtab's name */
    assert_string_equal(name, "trimtab-shop-tf-cpu-high-memory");
    common.adopt = (tt_opt_bool){true, true};
    r.imported = true;
    assert_int_equal(tt_owner_check(&r, false, NULL, "alarm", &out), TT_OWNER_OURS);
    assert_int_equal(tt_owner_check(&r, false, "other/x", "alarm", &out), TT_OWNER_CONFLICT);
    r.imported = false;
    assert_int_equal(tt_owner_check(&r, false, NULL, "alarm", &out), TT_OWNER_ADOPT);
    assert_true(tt_owner_claims(&r));
    /* Never deleted unless trimtab's memo or tag says so, and no claim tag either. */
    r.imported = true;
    assert_false(tt_owner_may_delete(&r, false, NULL));
    assert_false(tt_owner_claims(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_kubernetes_names),
        cmocka_unit_test(collisions_get_a_stable_suffix),
        cmocka_unit_test(scalable_target_maps_to_spec),
        cmocka_unit_test(alarms_budgets_secrets_map_to_spec),
        cmocka_unit_test(what_cannot_be_expressed_is_listed),
        cmocka_unit_test(kinds_filter),
        cmocka_unit_test(empty_account_maps_to_nothing),
        cmocka_unit_test(manifests_read_back_valid),
        cmocka_unit_test(owner_honours_import_annotations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
