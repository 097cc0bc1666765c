/*
 * Unit tests for the pure diff of ECS ScalingPolicies (providers/ecs.c + providers/appautoscaling.c):
 * given a desired resource and an observed AWS view, the exact plan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appautoscaling.h"
#include "diff_fixture.h"
#include "loader.h"
#include "plan.h"
#include "providers.h"

#define HEAD                                                                                   \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: web, namespace: " \
    "shop}\n"

static const char *const web_spec =
    HEAD "spec:\n"
         "  target: {ecs: {cluster: prod, service: web}}\n"
         "  minCapacity: 2\n"
         "  maxCapacity: 10\n"
         "  targetTracking:\n"
         "    - {name: cpu, predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70,\n"
         "       scaleInCooldown: 300}\n"
         "  stepScaling:\n"
         "    - name: burst\n"
         "      adjustmentType: ChangeInCapacity\n"
         "      steps: [{lower: 10, adjustment: 2}, {lower: 0, upper: 10, adjustment: 1}]\n"
         "  scheduled:\n"
         "    - {name: morning, schedule: '0 8 * * MON-FRI', timezone: Europe/Berlin, "
         "minCapacity: 4}\n"
         "    - {name: night, schedule: 'cron(0 22 * * ? *)', maxCapacity: 6}\n";

/* AWS's view of web_spec, fully converged and owned. */
static const char *const converged =
    "{\"aas\": {"
    " \"target\": {\"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/prod/web\","
    "   \"ScalableDimension\": \"ecs:service:DesiredCount\", \"MinCapacity\": 2,"
    "   \"MaxCapacity\": 10, \"ScalableTargetARN\": \"arn:aws:application-autoscaling:x\"},"
    " \"policies\": {"
    "  \"trimtab-shop-web-cpu\": {\"PolicyName\": \"trimtab-shop-web-cpu\", \"PolicyARN\": "
    "\"arn:p1\","
    "   \"PolicyType\": \"TargetTrackingScaling\", \"TargetTrackingScalingPolicyConfiguration\": {"
    "    \"TargetValue\": 70.0, \"PredefinedMetricSpecification\": {\"PredefinedMetricType\":"
    "    \"ECSServiceAverageCPUUtilization\"}, \"ScaleInCooldown\": 300, \"ScaleOutCooldown\": 300,"
    "    \"DisableScaleIn\": false}},"
    "  \"trimtab-shop-web-burst\": {\"PolicyName\": \"trimtab-shop-web-burst\", \"PolicyARN\": "
    "\"arn:p2\","
    "   \"PolicyType\": \"StepScaling\", \"StepScalingPolicyConfiguration\": {"
    "    \"AdjustmentType\": \"ChangeInCapacity\", \"MetricAggregationType\": \"Average\","
    "    \"StepAdjustments\": [{\"MetricIntervalLowerBound\": 10.0, \"ScalingAdjustment\": 2},"
    "     {\"MetricIntervalLowerBound\": 0.0, \"MetricIntervalUpperBound\": 10.0,"
    "      \"ScalingAdjustment\": 1}]}}},"
    " \"scheduled\": {"
    "  \"trimtab-shop-web-morning\": {\"ScheduledActionName\": \"trimtab-shop-web-morning\","
    "   \"Schedule\": \"cron(0 8 ? * MON-FRI *)\", \"Timezone\": \"Europe/Berlin\","
    "   \"ScalableTargetAction\": {\"MinCapacity\": 4}},"
    "  \"trimtab-shop-web-night\": {\"ScheduledActionName\": \"trimtab-shop-web-night\","
    "   \"Schedule\": \"cron(0 22 * * ? *)\", \"ScalableTargetAction\": {\"MaxCapacity\": 6}}}},"
    " \"service\": {\"serviceName\": \"web\", \"status\": \"ACTIVE\", \"desiredCount\": 3,"
    "   \"runningCount\": 3}}";

static const char *const owned_memo =
    "{\"owned\": true, \"policies\": [\"trimtab-shop-web-cpu\", \"trimtab-shop-web-burst\"],"
    " \"scheduled\": [\"trimtab-shop-web-morning\", \"trimtab-shop-web-night\"]}";

static void converged_gives_empty_plan(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    /* The memo records ownership, every name, and the desired count for activities. */
    assert_true(json_is_true(json_object_get(f.out.memo, "owned")));
    assert_int_equal(json_array_size(json_object_get(f.out.memo, "policies")), 2);
    assert_int_equal(json_integer_value(json_object_get(f.out.memo, "lastDesired")), 3);
    fx_release(&f);
}

static void nothing_exists_creates_everything(void **state)
{
    diff_fixture f;
    const json_t *in;
    (void)state;
    fx_load(
        &f, "ecs", web_spec,
        "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}},"
        " \"service\": {\"serviceName\": \"web\", \"status\": \"ACTIVE\", \"desiredCount\": 1}}",
        NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:RegisterScalableTarget create:PutScalingPolicy "
                              "create:PutScalingPolicy create:PutScheduledAction "
                              "create:PutScheduledAction");
    in = fx_input(f.out.plan, 0);
    assert_string_equal(json_string_value(json_object_get(in, "ResourceId")), "service/prod/web");
    assert_int_equal(json_integer_value(json_object_get(in, "MaxCapacity")), 10);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(in, "Tags"), "trimtab.dev/owner")),
        "shop/web");
    in = fx_input(f.out.plan, 1);
    assert_string_equal(json_string_value(json_object_get(in, "PolicyName")),
                        "trimtab-shop-web-cpu");
    in = fx_input(f.out.plan, 3);
    assert_string_equal(json_string_value(json_object_get(in, "Schedule")),
                        "cron(0 8 ? * MON-FRI *)");
    assert_string_equal(json_string_value(json_object_get(in, "Timezone")), "Europe/Berlin");
    fx_release(&f);
}

static void bounds_drift_is_one_update_with_field_changes(void **state)
{
    diff_fixture f;
    const json_t *changes;
    json_t *obs;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    obs = json_object_get(json_object_get(f.observed, "aas"), "target");
    json_object_set_new(obs, "MinCapacity", json_integer(3));
    json_object_set_new(obs, "MaxCapacity", json_integer(20));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget");
    changes = json_object_get(json_array_get(f.out.plan, 0), "changes");
    assert_int_equal(json_array_size(changes), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "field")),
                        "minCapacity");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(changes, 0), "old")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(changes, 0), "new")), 2);
    fx_release(&f);
}

static void policy_drift_and_aws_defaults(void **state)
{
    diff_fixture f;
    const json_t *c;
    json_t *cfg;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    cfg = json_object_get(
        json_object_get(json_object_get(json_object_get(f.observed, "aas"), "policies"),
                        "trimtab-shop-web-cpu"),
        "TargetTrackingScalingPolicyConfiguration");
    /* AWS's own default for a field the spec leaves out is not drift… */
    json_object_set_new(cfg, "ScaleOutCooldown", json_integer(123));
    /* …but a changed target value is. */
    json_object_set_new(cfg, "TargetValue", json_real(55));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutScalingPolicy");
    c = json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "field")), "targetValue");
    assert_true(json_number_value(json_object_get(c, "old")) == 55);
    assert_true(json_number_value(json_object_get(c, "new")) == 70);
    assert_int_equal(json_array_size(json_object_get(json_array_get(f.out.plan, 0), "changes")), 1);
    fx_release(&f);
}

static void step_order_is_not_drift_but_a_step_is(void **state)
{
    diff_fixture f;
    json_t *steps;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    steps = json_object_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(f.observed, "aas"), "policies"),
                            "trimtab-shop-web-burst"),
            "StepScalingPolicyConfiguration"),
        "StepAdjustments");
    /* converged lists the open-ended step first; the spec lists it second: no change. */
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    json_object_set_new(json_array_get(steps, 0), "ScalingAdjustment", json_integer(5));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutScalingPolicy");
    fx_release(&f);
}

static void scheduled_utc_and_changes(void **state)
{
    diff_fixture f;
    json_t *night;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    /* "night" has no time zone in the spec (UTC) and none in AWS: in sync (above). Now AWS
     * says Asia/Tokyo and another capacity. */
    night = json_object_get(json_object_get(json_object_get(f.observed, "aas"), "scheduled"),
                            "trimtab-shop-web-night");
    json_object_set_new(night, "Timezone", json_string("Asia/Tokyo"));
    json_object_set_new(night, "ScalableTargetAction", json_pack("{s:i}", "MaxCapacity", 8));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutScheduledAction");
    assert_int_equal(json_array_size(json_object_get(json_array_get(f.out.plan, 0), "changes")), 2);
    assert_string_equal(json_string_value(json_object_get(fx_input(f.out.plan, 0), "Timezone")),
                        "UTC");
    fx_release(&f);
}

static void removed_from_spec_is_deleted_others_untouched(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "ecs",
            HEAD "spec:\n"
                 "  target: {ecs: {cluster: prod, service: web}}\n"
                 "  minCapacity: 2\n"
                 "  maxCapacity: 10\n"
                 "  targetTracking:\n"
                 "    - {name: cpu, predefinedMetric: ECSServiceAverageCPUUtilization, "
                 "targetValue: 70, scaleInCooldown: 300}\n"
                 "  scheduled:\n"
                 "    - {name: morning, schedule: '0 8 * * MON-FRI', timezone: Europe/Berlin, "
                 "minCapacity: 4}\n",
            converged, owned_memo);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "delete:DeleteScalingPolicy delete:DeleteScheduledAction");
    assert_string_equal(json_string_value(json_object_get(fx_input(f.out.plan, 0), "PolicyName")),
                        "trimtab-shop-web-burst");
    assert_string_equal(
        json_string_value(json_object_get(fx_input(f.out.plan, 1), "ScheduledActionName")),
        "trimtab-shop-web-night");
    /* The memo now only names what remains. */
    assert_int_equal(json_array_size(json_object_get(f.out.memo, "policies")), 1);
    fx_release(&f);
}

static void unowned_target_is_refused_then_adopted(void **state)
{
    diff_fixture f;
    char *spec = malloc(strlen(web_spec) + 32);
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags", json_object());
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    assert_non_null(strstr(f.out.message, "spec.adopt: true"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    sprintf(spec, "%s  adopt: true\n", web_spec);
    fx_load(&f, "ecs", spec, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags", json_object());
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "tag:TagResource");
    fx_release(&f);
    free(spec);
}

static void target_of_another_owner(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags",
                        json_pack("{s:s}", "trimtab.dev/owner", "shop/other"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    assert_non_null(strstr(f.out.message, "shop/other"));
    fx_release(&f);
    /* Its own tag, with the memo lost (state directory wiped): managed again. */
    fx_load(&f, "ecs", web_spec, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags",
                        json_pack("{s:s}", "trimtab.dev/owner", "shop/web"));
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void missing_service_blocks(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "ecs", web_spec,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}},"
            " \"service\": null}",
            NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "ECS service web not found in cluster prod");
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void budget_guard_clamps_and_restores(void **state)
{
    diff_fixture f;
    const json_t *c;
    char *spec = malloc(strlen(web_spec) + 200);
    (void)state;
    sprintf(spec, "%s  budgetGuard: [{budget: monthly, abovePercent: 90, maxCapacity: 4}]\n",
            web_spec);
    fx_load(&f, "ecs", spec, converged, owned_memo);
    json_object_set_new(f.deps, "Budget/monthly", json_pack("{s:f}", "percentUsed", 93.5));
    fx_diff(&f);
    /* The target's maximum, and the night schedule's maximum of 6 with it: at 22:00 it would
     * lift the clamp. The morning minimum of 4 is at the clamp and stays. */
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget update:PutScheduledAction");
    assert_int_equal(json_integer_value(json_object_get(fx_input(f.out.plan, 0), "MaxCapacity")),
                     4);
    assert_int_equal(json_integer_value(json_object_get(fx_input(f.out.plan, 0), "MinCapacity")),
                     2);
    assert_string_equal(
        json_string_value(json_object_get(fx_input(f.out.plan, 1), "ScheduledActionName")),
        "trimtab-shop-web-night");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(fx_input(f.out.plan, 1), "ScalableTargetAction"), "MaxCapacity")),
        4);
    c = json_array_get(f.out.conditions, 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "BudgetClamped");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "BudgetExceeded");
    assert_string_equal(json_string_value(json_object_get(c, "message")),
                        "budget monthly at 93.5% (above 90%): maxCapacity clamped from 10 to 4");
    assert_string_equal(json_string_value(json_object_get(c, "event")), "Normal");
    fx_release(&f);
    /* At the percentage exactly: not above it, so nothing is clamped (and the converged
     * target and schedules stay as they are). */
    fx_load(&f, "ecs", spec, converged, owned_memo);
    json_object_set_new(f.deps, "Budget/monthly", json_pack("{s:f}", "percentUsed", 90.0));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    c = json_array_get(f.out.conditions, 0);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "False");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "WithinBudget");
    fx_release(&f);
    /* No status for the budget yet (not reconciled): no clamp. */
    fx_load(&f, "ecs", spec, converged, owned_memo);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
    /* Unguarded policies carry no BudgetClamped condition at all. */
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.conditions);
    fx_release(&f);
    free(spec);
}

static void remove_deletes_only_what_is_owned(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    tt_error err;
    json_t *plan = tt_plan_new();
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScalingPolicy "
                        "delete:DeleteScheduledAction delete:DeleteScheduledAction "
                        "delete:DeregisterScalableTarget");
    json_decref(plan);
    fx_release(&f);

    fx_load(&f, "ecs", web_spec, converged, "{\"owned\": false}");
    plan = tt_plan_new();
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScalingPolicy "
                        "delete:DeleteScheduledAction delete:DeleteScheduledAction");
    json_decref(plan);
    fx_release(&f);
}

static void moved_target_cleans_up_the_old_one(void **state)
{
    diff_fixture f;
    json_t *aas;
    (void)state;
    /* The memo says trimtab managed service/prod/old; the spec now names service/prod/web. */
    fx_load(&f, "ecs", web_spec, converged,
            "{\"owned\": true, \"targets\": [\"ecs|service/prod/old|ecs:service:DesiredCount\"],"
            " \"policies\": [\"trimtab-shop-web-cpu\"], \"scheduled\": []}");
    aas = json_object_get(f.observed, "aas");
    json_object_set_new(aas, "stale",
                        json_pack("{s:{s:s,s:s,s:{s:s},s:{s:{s:s}},s:{}}}",
                                  "ecs|service/prod/old|ecs:service:DesiredCount", "resourceId",
                                  "service/prod/old", "dimension", "ecs:service:DesiredCount",
                                  "target", "ResourceId", "service/prod/old", "policies",
                                  "trimtab-shop-web-cpu", "PolicyName", "trimtab-shop-web-cpu",
                                  "scheduled"));
    /* The web target is not in the memo's list: its ownership must be read, not assumed. */
    json_object_set_new(aas, "tags", json_pack("{s:s}", "trimtab.dev/owner", "shop/web"));
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "delete:DeleteScalingPolicy delete:DeregisterScalableTarget");
    assert_string_equal(json_string_value(json_object_get(fx_input(f.out.plan, 1), "ResourceId")),
                        "service/prod/old");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(f.out.memo, "targets"), 0)),
        "ecs|service/prod/web|ecs:service:DesiredCount");
    fx_release(&f);
}

/* ---- predictive scaling ------------------------------------------------------------------ */

static const char *const api_spec =
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: api, namespace: "
    "shop}\n"
    "spec:\n"
    "  target: {ecs: {cluster: prod, service: api}}\n"
    "  minCapacity: 2\n"
    "  maxCapacity: 10\n"
    "  predictive:\n"
    "    - {name: daily, metricPair: ECSServiceCPUUtilization, targetValue: 60,\n"
    "       schedulingBufferTime: 10m}\n"
    "    - name: orders\n"
    "      customScalingMetric: {namespace: Shop, metricName: Busy, dimensions: {Svc: api}}\n"
    "      customLoadMetric: {namespace: Shop, metricName: Orders, statistic: Sum, unit: Count}\n"
    "      targetValue: 100\n"
    "      mode: ForecastAndScale\n"
    "      maxCapacityBreachBehavior: IncreaseMaxCapacity\n"
    "      maxCapacityBuffer: 10\n";

/* AWS's view of api_spec, converged (orders already in ForecastAndScale). */
static const char *const api_converged =
    "{\"aas\": {"
    " \"target\": {\"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/prod/api\","
    "   \"ScalableDimension\": \"ecs:service:DesiredCount\", \"MinCapacity\": 2,"
    "   \"MaxCapacity\": 10, \"ScalableTargetARN\": \"arn:t\"},"
    " \"policies\": {"
    "  \"trimtab-shop-api-daily\": {\"PolicyName\": \"trimtab-shop-api-daily\", \"PolicyARN\":"
    "   \"arn:daily\", \"PolicyType\": \"PredictiveScaling\","
    "   \"PredictiveScalingPolicyConfiguration\": {\"MetricSpecifications\": [{\"TargetValue\":"
    "    60.0, \"PredefinedMetricPairSpecification\": {\"PredefinedMetricType\":"
    "    \"ECSServiceCPUUtilization\"}}], \"Mode\": \"ForecastOnly\", \"SchedulingBufferTime\":"
    "    600, \"MaxCapacityBreachBehavior\": \"HonorMaxCapacity\"}},"
    "  \"trimtab-shop-api-orders\": {\"PolicyName\": \"trimtab-shop-api-orders\", \"PolicyARN\":"
    "   \"arn:orders\", \"PolicyType\": \"PredictiveScaling\","
    "   \"PredictiveScalingPolicyConfiguration\": {\"MetricSpecifications\": [{\"TargetValue\":"
    "    100, \"CustomizedScalingMetricSpecification\": {\"MetricDataQueries\": [{\"Id\": \"m1\","
    "    \"ReturnData\": true, \"MetricStat\": {\"Stat\": \"Average\", \"Metric\": {\"Namespace\":"
    "    \"Shop\", \"MetricName\": \"Busy\", \"Dimensions\": [{\"Name\": \"Svc\", \"Value\":"
    "    \"api\"}]}}}]}, \"CustomizedLoadMetricSpecification\": {\"MetricDataQueries\": [{\"Id\":"
    "    \"m1\", \"ReturnData\": true, \"MetricStat\": {\"Stat\": \"Sum\", \"Unit\": \"Count\","
    "    \"Metric\": {\"Namespace\": \"Shop\", \"MetricName\": \"Orders\"}}}]}}],"
    "    \"Mode\": \"ForecastAndScale\", \"MaxCapacityBreachBehavior\": \"IncreaseMaxCapacity\","
    "    \"MaxCapacityBuffer\": 10}}},"
    " \"scheduled\": {},"
    " \"forecasts\": {\"trimtab-shop-api-daily\": {\"readAt\": 1000, \"peakCapacity\": 8,"
    "   \"peakTime\": \"2026-12-07T09:00:00Z\", \"updateTime\": \"2026-12-06T06:00:00Z\"},"
    "  \"trimtab-shop-api-orders\": {\"readAt\": 1000, \"peakCapacity\": 12,"
    "   \"peakTime\": \"2026-12-07T12:00:00Z\"}}},"
    " \"service\": {\"serviceName\": \"api\", \"status\": \"ACTIVE\", \"desiredCount\": 2}}";

static const char *const api_memo =
    "{\"owned\": true, \"policies\": [\"trimtab-shop-api-daily\", \"trimtab-shop-api-orders\"],"
    " \"scheduled\": []}";

static json_t *api_config(diff_fixture *f, const char *policy)
{
    return json_object_get(
        json_object_get(json_object_get(json_object_get(f->observed, "aas"), "policies"), policy),
        "PredictiveScalingPolicyConfiguration");
}

static void predictive_converged_keeps_forecasts(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    json_t *status = json_object();
    char *peak;
    (void)state;
    fx_load(&f, "ecs", api_spec, api_converged, api_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    /* The forecasts read go to the memo, so the next observes need not read them. */
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(f.out.memo, "forecasts"), "trimtab-shop-api-daily"),
            "readAt")),
        1000);
    in = fx_diff_input(&f);
    json_object_set_new(status, "forecastPeak", json_string("stale"));
    f.p->status(&in, status);
    /* The higher of the two peaks, with its policy's spec name. */
    peak = json_dumps(json_object_get(status, "forecastPeak"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(peak);
    assert_string_equal(
        peak, "{\"capacity\":12,\"policy\":\"orders\",\"time\":\"2026-12-07T12:00:00Z\"}");
    free(peak);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(status, "policyArns"), "daily")),
        "arn:daily");
    /* Without forecasts (a failed read), the peak goes. */
    json_object_del(json_object_get(f.observed, "aas"), "forecasts");
    in = fx_diff_input(&f);
    f.p->status(&in, status);
    assert_null(json_object_get(status, "forecastPeak"));
    json_decref(status);
    fx_release(&f);
}

static void predictive_created_with_the_whole_configuration(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(
        &f, "ecs", api_spec,
        "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}},"
        " \"service\": {\"serviceName\": \"api\", \"status\": \"ACTIVE\", \"desiredCount\": 1}}",
        NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan,
                  "create:RegisterScalableTarget create:PutScalingPolicy create:PutScalingPolicy");
    fx_assert_input(
        f.out.plan, 1,
        "{\"PolicyName\":\"trimtab-shop-api-daily\",\"PolicyType\":\"PredictiveScaling\","
        "\"PredictiveScalingPolicyConfiguration\":{\"MaxCapacityBreachBehavior\":"
        "\"HonorMaxCapacity\",\"MetricSpecifications\":[{\"PredefinedMetricPairSpecification\":"
        "{\"PredefinedMetricType\":\"ECSServiceCPUUtilization\"},\"TargetValue\":60.0}],"
        "\"Mode\":\"ForecastOnly\",\"SchedulingBufferTime\":600},\"ResourceId\":"
        "\"service/prod/api\",\"ScalableDimension\":\"ecs:service:DesiredCount\","
        "\"ServiceNamespace\":\"ecs\"}");
    /* A ForecastOnly policy is no reason to warn; one that starts in ForecastAndScale is. */
    assert_null(json_object_get(json_array_get(f.out.plan, 1), "warning"));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f.out.plan, 2), "warning")),
        "predictive policy orders switches from nothing to ForecastAndScale: AWS "
        "will scale on the forecast");
    fx_assert_input(
        f.out.plan, 2,
        "{\"PolicyName\":\"trimtab-shop-api-orders\",\"PolicyType\":\"PredictiveScaling\","
        "\"PredictiveScalingPolicyConfiguration\":{\"MaxCapacityBreachBehavior\":"
        "\"IncreaseMaxCapacity\",\"MaxCapacityBuffer\":10,\"MetricSpecifications\":[{"
        "\"CustomizedLoadMetricSpecification\":{\"MetricDataQueries\":[{\"Id\":\"m1\","
        "\"MetricStat\":{\"Metric\":{\"MetricName\":\"Orders\",\"Namespace\":\"Shop\"},\"Stat\":"
        "\"Sum\",\"Unit\":\"Count\"},\"ReturnData\":true}]},\"CustomizedScalingMetricSpecification"
        "\":{\"MetricDataQueries\":[{\"Id\":\"m1\",\"MetricStat\":{\"Metric\":{\"Dimensions\":[{"
        "\"Name\":\"Svc\",\"Value\":\"api\"}],\"MetricName\":\"Busy\",\"Namespace\":\"Shop\"},"
        "\"Stat\":\"Average\"},\"ReturnData\":true}]},\"TargetValue\":100.0}],\"Mode\":"
        "\"ForecastAndScale\"},\"ResourceId\":\"service/prod/api\",\"ScalableDimension\":"
        "\"ecs:service:DesiredCount\",\"ServiceNamespace\":\"ecs\"}");
    fx_release(&f);
}

static void predictive_drift_and_mode_switch(void **state)
{
    diff_fixture f;
    const json_t *a, *c;
    (void)state;
    fx_load(&f, "ecs", api_spec, api_converged, api_memo);
    /* orders went back to ForecastOnly behind trimtab's back: switching it again warns. */
    json_object_set_new(api_config(&f, "trimtab-shop-api-orders"), "Mode",
                        json_string("ForecastOnly"));
    /* daily's target value moved: an update without a warning. */
    json_object_set_new(
        json_array_get(
            json_object_get(api_config(&f, "trimtab-shop-api-daily"), "MetricSpecifications"), 0),
        "TargetValue", json_real(45));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutScalingPolicy update:PutScalingPolicy");
    a = json_array_get(f.out.plan, 0);
    assert_null(json_object_get(a, "warning"));
    c = json_array_get(json_object_get(a, "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "field")), "metric");
    assert_int_equal(json_array_size(json_object_get(a, "changes")), 1);
    a = json_array_get(f.out.plan, 1);
    assert_string_equal(json_string_value(json_object_get(a, "warning")),
                        "predictive policy orders switches from ForecastOnly to ForecastAndScale: "
                        "AWS will scale on the forecast");
    c = json_array_get(json_object_get(a, "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "field")), "mode");
    /* An absent Mode is AWS's ForecastOnly: still a switch, and said so. */
    json_object_del(api_config(&f, "trimtab-shop-api-orders"), "Mode");
    fx_diff(&f);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f.out.plan, 1), "warning")),
        "predictive policy orders switches from ForecastOnly to ForecastAndScale: AWS will scale "
        "on the forecast");
    /* AWS's default buffer time on a policy that does not set one is not drift. */
    fx_release(&f);
    fx_load(&f, "ecs", api_spec, api_converged, api_memo);
    json_object_set_new(api_config(&f, "trimtab-shop-api-orders"), "SchedulingBufferTime",
                        json_integer(300));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void predictive_type_change_and_removal(void **state)
{
    diff_fixture f;
    json_t *pol, *rm;
    (void)state;
    fx_load(&f, "ecs", api_spec, api_converged,
            "{\"owned\": true, \"policies\": [\"trimtab-shop-api-daily\", "
            "\"trimtab-shop-api-orders\", \"trimtab-shop-api-old\"], \"scheduled\": []}");
    /* A target-tracking policy of the predictive policy's name is replaced by one Put. */
    pol = json_object_get(json_object_get(json_object_get(f.observed, "aas"), "policies"),
                          "trimtab-shop-api-daily");
    json_object_set_new(pol, "PolicyType", json_string("TargetTrackingScaling"));
    /* A predictive policy the spec no longer names is deleted. */
    json_object_set_new(json_object_get(json_object_get(f.observed, "aas"), "policies"),
                        "trimtab-shop-api-old",
                        json_pack("{s:s,s:s}", "PolicyName", "trimtab-shop-api-old", "PolicyType",
                                  "PredictiveScaling"));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutScalingPolicy delete:DeleteScalingPolicy");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0), "field")),
        "policyType");
    assert_null(json_object_get(json_array_get(f.out.plan, 0), "warning"));
    rm = fx_remove(&f);
    fx_assert_ops(rm, "delete:DeleteScalingPolicy delete:DeleteScalingPolicy "
                      "delete:DeleteScalingPolicy delete:DeregisterScalableTarget");
    json_decref(rm);
    fx_release(&f);
}

/* Registering bounds around the service's desired count of 3 settles the view; bounds that
 * exclude it make ECS change the count, which only a new read shows. */
static void register_answer_settles_unless_desired_count_moves(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "ecs", web_spec, converged, owned_memo);
    assert_int_equal(fx_applied_register(&f, 2, 12), 1);
    assert_int_equal(fx_applied_register(&f, 4, 12), 0);
    assert_int_equal(fx_applied_register(&f, 1, 2), 0);
    json_object_del(f.observed, "service");
    assert_int_equal(fx_applied_register(&f, 2, 12), 0);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_answer_settles_unless_desired_count_moves),
        cmocka_unit_test(converged_gives_empty_plan),
        cmocka_unit_test(nothing_exists_creates_everything),
        cmocka_unit_test(bounds_drift_is_one_update_with_field_changes),
        cmocka_unit_test(policy_drift_and_aws_defaults),
        cmocka_unit_test(step_order_is_not_drift_but_a_step_is),
        cmocka_unit_test(scheduled_utc_and_changes),
        cmocka_unit_test(removed_from_spec_is_deleted_others_untouched),
        cmocka_unit_test(unowned_target_is_refused_then_adopted),
        cmocka_unit_test(target_of_another_owner),
        cmocka_unit_test(missing_service_blocks),
        cmocka_unit_test(budget_guard_clamps_and_restores),
        cmocka_unit_test(remove_deletes_only_what_is_owned),
        cmocka_unit_test(moved_target_cleans_up_the_old_one),
        cmocka_unit_test(predictive_converged_keeps_forecasts),
        cmocka_unit_test(predictive_created_with_the_whole_configuration),
        cmocka_unit_test(predictive_drift_and_mode_switch),
        cmocka_unit_test(predictive_type_change_and_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
