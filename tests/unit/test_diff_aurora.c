/*
 * Unit tests for the pure diff of Aurora reader ScalingPolicies (providers/aurora.c +
 * providers/appautoscaling.c): given a desired resource and an observed AWS view, the exact plan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "diff_fixture.h"

#define HEAD                                                                                       \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: readers, namespace: " \
    "data}\n"

static const char *const spec =
    HEAD "spec:\n"
         "  target: {rds: {cluster: Reporting}}\n"
         "  minCapacity: 1\n"
         "  maxCapacity: 5\n"
         "  targetTracking:\n"
         "    - {name: cpu, predefinedMetric: RDSReaderAverageCPUUtilization, targetValue: 60}\n"
         "  stepScaling:\n"
         "    - name: burst\n"
         "      adjustmentType: ChangeInCapacity\n"
         "      steps: [{lower: 0, adjustment: 1}]\n"
         "  scheduled:\n"
         "    - {name: nightly, schedule: '0 1 * * *', minCapacity: 2}\n";

#define CLUSTER                                                                                \
    "\"cluster\": {\"DBClusterIdentifier\": \"reporting\", \"Engine\": \"aurora-postgresql\"," \
    " \"DBClusterMembers\": [{\"DBInstanceIdentifier\": \"w\", \"IsClusterWriter\": true},"    \
    " {\"DBInstanceIdentifier\": \"r1\", \"IsClusterWriter\": false},"                         \
    " {\"DBInstanceIdentifier\": \"r2\", \"IsClusterWriter\": false}]}"

static const char *const converged =
    "{\"aas\": {"
    " \"target\": {\"ServiceNamespace\": \"rds\", \"ResourceId\": \"cluster:Reporting\","
    "   \"ScalableDimension\": \"rds:cluster:ReadReplicaCount\", \"MinCapacity\": 1,"
    "   \"MaxCapacity\": 5, \"ScalableTargetARN\": \"arn:t\"},"
    " \"policies\": {"
    "  \"trimtab-data-readers-cpu\": {\"PolicyName\": \"trimtab-data-readers-cpu\","
    "   \"PolicyARN\": \"arn:p1\", \"PolicyType\": \"TargetTrackingScaling\","
    "   \"TargetTrackingScalingPolicyConfiguration\": {\"TargetValue\": 60.0,"
    "    \"PredefinedMetricSpecification\": {\"PredefinedMetricType\":"
    "    \"RDSReaderAverageCPUUtilization\"}, \"DisableScaleIn\": false}},"
    "  \"trimtab-data-readers-burst\": {\"PolicyName\": \"trimtab-data-readers-burst\","
    "   \"PolicyARN\": \"arn:p2\", \"PolicyType\": \"StepScaling\","
    "   \"StepScalingPolicyConfiguration\": {\"AdjustmentType\": \"ChangeInCapacity\","
    "    \"MetricAggregationType\": \"Average\","
    "    \"StepAdjustments\": [{\"MetricIntervalLowerBound\": 0.0, \"ScalingAdjustment\": 1}]}}},"
    " \"scheduled\": {"
    "  \"trimtab-data-readers-nightly\": {\"ScheduledActionName\": "
    "\"trimtab-data-readers-nightly\","
    "   \"Schedule\": \"cron(0 1 * * ? *)\", \"ScalableTargetAction\": {\"MinCapacity\": 2}}}},"
    " " CLUSTER "}";

static const char *const owned_memo =
    "{\"owned\": true, \"policies\": [\"trimtab-data-readers-cpu\", "
    "\"trimtab-data-readers-burst\"], \"scheduled\": [\"trimtab-data-readers-nightly\"],"
    " \"targets\": [\"rds|cluster:Reporting|rds:cluster:ReadReplicaCount\"]}";

static void converged_gives_empty_plan(void **state)
{
    diff_fixture f;
    json_t *status = json_object();
    tt_diff_input in;
    (void)state;
    fx_load(&f, "aurora", spec, converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    /* The memo remembers the reader count: activities are read again only when it moves. */
    assert_int_equal(json_integer_value(json_object_get(f.out.memo, "lastReaders")), 2);
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    f.p->status(&in, status);
    assert_int_equal(json_integer_value(json_object_get(status, "currentCapacity")), 2);
    assert_string_equal(json_string_value(json_object_get(status, "target")),
                        "rds cluster Reporting");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(status, "policyArns"), "burst")),
        "arn:p2");
    json_decref(status);
    fx_release(&f);
}

static void nothing_exists_creates_everything(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "aurora", spec,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, " CLUSTER "}",
            NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:RegisterScalableTarget create:PutScalingPolicy "
                              "create:PutScalingPolicy create:PutScheduledAction");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ServiceNamespace"), "rds");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ResourceId"), "cluster:Reporting");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ScalableDimension"),
                        "rds:cluster:ReadReplicaCount");
    assert_string_equal(fx_input_str(f.out.plan, 1, "PolicyType"), "TargetTrackingScaling");
    assert_string_equal(fx_input_str(f.out.plan, 2, "PolicyType"), "StepScaling");
    assert_string_equal(fx_input_str(f.out.plan, 3, "Schedule"), "cron(0 1 * * ? *)");
    fx_release(&f);
}

static void drift_is_corrected_field_by_field(void **state)
{
    diff_fixture f;
    json_t *aas;
    const json_t *ch;
    (void)state;
    fx_load(&f, "aurora", spec, converged, owned_memo);
    aas = json_object_get(f.observed, "aas");
    json_object_set_new(json_object_get(aas, "target"), "MaxCapacity", json_integer(15));
    json_object_set_new(json_object_get(json_object_get(json_object_get(aas, "policies"),
                                                        "trimtab-data-readers-cpu"),
                                        "TargetTrackingScalingPolicyConfiguration"),
                        "TargetValue", json_real(80));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget update:PutScalingPolicy");
    ch = json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "field")), "maxCapacity");
    assert_int_equal(json_integer_value(json_object_get(ch, "old")), 15);
    assert_int_equal(json_integer_value(json_object_get(ch, "new")), 5);
    fx_release(&f);
}

static void missing_or_non_aurora_cluster_blocks(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "aurora", spec,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, \"cluster\": null}",
            NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "Aurora DB cluster Reporting not found");
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    fx_load(&f, "aurora", spec,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}},"
            " \"cluster\": {\"DBClusterIdentifier\": \"reporting\", \"Engine\": \"postgres\"}}",
            NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "UnsupportedTarget");
    assert_non_null(strstr(f.out.message, "runs postgres, not Aurora"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void unowned_target_is_refused(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "aurora", spec, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags", json_object());
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    assert_non_null(strstr(f.out.message, "cluster:Reporting"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void budget_guard_clamps_the_readers(void **state)
{
    diff_fixture f;
    char guarded[2048];
    (void)state;
    snprintf(guarded, sizeof(guarded),
             "%s  budgetGuard: [{budget: data, abovePercent: 80, "
             "maxCapacity: 2}]\n",
             spec);
    fx_load(&f, "aurora", guarded, converged, owned_memo);
    json_object_set_new(f.deps, "Budget/data", json_pack("{s:f}", "percentUsed", 85.0));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget");
    assert_int_equal(json_integer_value(json_object_get(fx_input(f.out.plan, 0), "MaxCapacity")),
                     2);
    fx_release(&f);
}

static void remove_deletes_what_is_owned(void **state)
{
    diff_fixture f;
    json_t *plan;
    (void)state;
    fx_load(&f, "aurora", spec, converged, owned_memo);
    plan = fx_remove(&f);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScalingPolicy "
                        "delete:DeleteScheduledAction delete:DeregisterScalableTarget");
    assert_string_equal(fx_input_str(plan, 3, "ResourceId"), "cluster:Reporting");
    json_decref(plan);
    fx_release(&f);
}

/* Registering bounds around the 2 readers settles the view; bounds that exclude them make RDS
 * add or remove readers, which only a new read shows; so does a cluster that was not read. */
static void register_answer_settles_unless_readers_move(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "aurora", spec, converged, owned_memo);
    assert_int_equal(fx_applied_register(&f, 1, 6), 1);
    assert_int_equal(fx_applied_register(&f, 2, 2), 1);
    assert_int_equal(fx_applied_register(&f, 3, 6), 0);
    assert_int_equal(fx_applied_register(&f, 0, 1), 0);
    json_object_del(f.observed, "cluster");
    assert_int_equal(fx_applied_register(&f, 1, 6), 0);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_gives_empty_plan),
        cmocka_unit_test(nothing_exists_creates_everything),
        cmocka_unit_test(drift_is_corrected_field_by_field),
        cmocka_unit_test(missing_or_non_aurora_cluster_blocks),
        cmocka_unit_test(unowned_target_is_refused),
        cmocka_unit_test(budget_guard_clamps_the_readers),
        cmocka_unit_test(remove_deletes_what_is_owned),
        cmocka_unit_test(register_answer_settles_unless_readers_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
