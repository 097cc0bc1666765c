/*
 * Unit tests for the pure diff of ElastiCache ScalingPolicies (providers/elasticache.c +
 * providers/appautoscaling.c): replicas and node groups, the exact plans.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "diff_fixture.h"

#define HEAD                                                                                     \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: cache, namespace: " \
    "shop}\n"

static const char *const replicas =
    HEAD "spec:\n"
         "  target: {elasticache: {replicationGroup: sessions}}\n"
         "  minCapacity: 1\n"
         "  maxCapacity: 4\n"
         "  targetTracking:\n"
         "    - {name: cpu, predefinedMetric: ElastiCacheReplicaEngineCPUUtilization, "
         "targetValue: 60}\n"
         "  scheduled:\n"
         "    - {name: peak, schedule: '0 18 * * FRI', timezone: Europe/Paris, minCapacity: 3}\n";

static const char *const shards =
    HEAD "spec:\n"
         "  target: {elasticache: {replicationGroup: sessions, dimension: NodeGroups}}\n"
         "  minCapacity: 2\n"
         "  maxCapacity: 8\n"
         "  targetTracking:\n"
         "    - {name: memory, predefinedMetric: "
         "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage, targetValue: 70}\n";

/* Cluster mode on, two shards of a primary and two replicas each. */
#define GROUP(enabled)                                                                   \
    "\"group\": {\"ReplicationGroupId\": \"sessions\", \"ClusterEnabled\": " enabled "," \
    " \"NodeGroups\": [{\"NodeGroupId\": \"0001\", \"NodeGroupMembers\": [{}, {}, {}]}," \
    " {\"NodeGroupId\": \"0002\", \"NodeGroupMembers\": [{}, {}, {}]}]}"

static const char *const converged =
    "{\"aas\": {"
    " \"target\": {\"ServiceNamespace\": \"elasticache\","
    "   \"ResourceId\": \"replication-group/sessions\","
    "   \"ScalableDimension\": \"elasticache:replication-group:Replicas\", \"MinCapacity\": 1,"
    "   \"MaxCapacity\": 4, \"ScalableTargetARN\": \"arn:t\"},"
    " \"policies\": {"
    "  \"trimtab-shop-cache-cpu\": {\"PolicyName\": \"trimtab-shop-cache-cpu\","
    "   \"PolicyARN\": \"arn:p1\", \"PolicyType\": \"TargetTrackingScaling\","
    "   \"TargetTrackingScalingPolicyConfiguration\": {\"TargetValue\": 60.0,"
    "    \"PredefinedMetricSpecification\": {\"PredefinedMetricType\":"
    "    \"ElastiCacheReplicaEngineCPUUtilization\"}, \"DisableScaleIn\": false}}},"
    " \"scheduled\": {"
    "  \"trimtab-shop-cache-peak\": {\"ScheduledActionName\": \"trimtab-shop-cache-peak\","
    "   \"Schedule\": \"cron(0 18 ? * FRI *)\", \"Timezone\": \"Europe/Paris\","
    "   \"ScalableTargetAction\": {\"MinCapacity\": 3}}}},"
    " " GROUP("true") "}";

static const char *const owned_memo =
    "{\"owned\": true, \"policies\": [\"trimtab-shop-cache-cpu\"],"
    " \"scheduled\": [\"trimtab-shop-cache-peak\"],"
    " \"targets\": [\"elasticache|replication-group/sessions|"
    "elasticache:replication-group:Replicas\"]}";

static json_int_t status_capacity(diff_fixture *f)
{
    json_t *status = json_object();
    tt_diff_input in = {f->r, f->observed, f->memo, f->deps, "eu-central-1", NULL};
    json_int_t v;

    f->p->status(&in, status);
    v = json_integer_value(json_object_get(status, "currentCapacity"));
    json_decref(status);
    return v;
}

static void converged_gives_empty_plan(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "elasticache", replicas, converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    /* Replicas per node group: every member of a shard but its primary. */
    assert_int_equal(status_capacity(&f), 2);
    fx_release(&f);
}

static void nothing_exists_creates_everything(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "elasticache", replicas,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, " GROUP("true") "}",
            NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:RegisterScalableTarget create:PutScalingPolicy "
                              "create:PutScheduledAction");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ResourceId"), "replication-group/sessions");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ScalableDimension"),
                        "elasticache:replication-group:Replicas");
    assert_string_equal(fx_input_str(f.out.plan, 2, "Timezone"), "Europe/Paris");
    fx_release(&f);
}

static void node_groups_use_their_own_dimension(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "elasticache", shards,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, " GROUP("true") "}",
            NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:RegisterScalableTarget create:PutScalingPolicy");
    assert_string_equal(fx_input_str(f.out.plan, 0, "ScalableDimension"),
                        "elasticache:replication-group:NodeGroups");
    assert_int_equal(status_capacity(&f), 2);
    fx_release(&f);

    /* Cluster mode off: no shards to add, said before AWS would refuse. */
    fx_load(
        &f, "elasticache", shards,
        "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, " GROUP("false") "}",
        NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "UnsupportedTarget");
    assert_non_null(strstr(f.out.message, "cluster mode disabled"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void drift_is_corrected(void **state)
{
    diff_fixture f;
    json_t *aas;
    (void)state;
    fx_load(&f, "elasticache", replicas, converged, owned_memo);
    aas = json_object_get(f.observed, "aas");
    json_object_set_new(json_object_get(aas, "target"), "MinCapacity", json_integer(0));
    json_object_del(json_object_get(aas, "scheduled"), "trimtab-shop-cache-peak");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget create:PutScheduledAction");
    fx_release(&f);
}

static void missing_group_blocks(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "elasticache", replicas,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, \"group\": null}",
            NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "ElastiCache replication group sessions not found");
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void adopted_with_spec_adopt(void **state)
{
    diff_fixture f;
    char adopt[2048];
    (void)state;
    snprintf(adopt, sizeof(adopt), "%s  adopt: true\n", replicas);
    fx_load(&f, "elasticache", adopt, converged, NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags", json_object());
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "tag:TagResource");
    fx_release(&f);
}

static void budget_guard_clamps_the_replicas(void **state)
{
    diff_fixture f;
    char guarded[2048];
    (void)state;
    snprintf(guarded, sizeof(guarded),
             "%s  budgetGuard: [{budget: cache, abovePercent: 100, maxCapacity: 1}]\n", replicas);
    fx_load(&f, "elasticache", guarded, converged, owned_memo);
    json_object_set_new(f.deps, "Budget/cache", json_pack("{s:f}", "percentUsed", 120.0));
    fx_diff(&f);
    /* The scheduled action's maximum is clamped with the target's, or the schedule would lift
     * the clamp when it fires. */
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget update:PutScheduledAction");
    assert_int_equal(json_integer_value(json_object_get(fx_input(f.out.plan, 0), "MaxCapacity")),
                     1);
    /* The schedule sets only a minimum, above the clamp: it comes down to the clamp. */
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(fx_input(f.out.plan, 1), "ScalableTargetAction"), "MinCapacity")),
        1);
    fx_release(&f);
}

static void remove_deletes_what_is_owned(void **state)
{
    diff_fixture f;
    json_t *plan;
    (void)state;
    fx_load(&f, "elasticache", replicas, converged, owned_memo);
    plan = fx_remove(&f);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScheduledAction "
                        "delete:DeregisterScalableTarget");
    json_decref(plan);
    fx_release(&f);
}

/* Registering bounds around the 2 replicas per shard settles the view; bounds that exclude them
 * make ElastiCache add or remove replicas, which only a new read shows. */
static void register_answer_settles_unless_replicas_move(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "elasticache", replicas, converged, owned_memo);
    assert_int_equal(fx_applied_register(&f, 1, 5), 1);
    assert_int_equal(fx_applied_register(&f, 3, 5), 0);
    json_object_del(f.observed, "group");
    assert_int_equal(fx_applied_register(&f, 1, 5), 0);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_answer_settles_unless_replicas_move),
        cmocka_unit_test(converged_gives_empty_plan),
        cmocka_unit_test(nothing_exists_creates_everything),
        cmocka_unit_test(node_groups_use_their_own_dimension),
        cmocka_unit_test(drift_is_corrected),
        cmocka_unit_test(missing_group_blocks),
        cmocka_unit_test(adopted_with_spec_adopt),
        cmocka_unit_test(budget_guard_clamps_the_replicas),
        cmocka_unit_test(remove_deletes_what_is_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
