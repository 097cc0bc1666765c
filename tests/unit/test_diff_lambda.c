/*
 * Unit tests for the pure diff of Lambda ScalingPolicies (providers/lambda.c +
 * providers/appautoscaling.c): provisioned concurrency on an alias, the reserved concurrency
 * cap, and what deletion removes — the exact plans.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "diff_fixture.h"

#define HEAD                                                                             \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: checkout, " \
    "namespace: shop}\n"

static const char *const spec =
    HEAD "spec:\n"
         "  target: {lambda: {function: checkout, alias: live}}\n"
         "  minCapacity: 5\n"
         "  maxCapacity: 50\n"
         "  targetTracking:\n"
         "    - {name: util, predefinedMetric: LambdaProvisionedConcurrencyUtilization, "
         "targetValue: 0.7}\n"
         "  scheduled:\n"
         "    - {name: office, schedule: '0 8 * * MON-FRI', timezone: Europe/Berlin, "
         "minCapacity: 20}\n"
         "  lambda: {reservedConcurrency: 100}\n";

/* The cap alone: no alias, nothing for Application Auto Scaling. */
static const char *const cap_only = HEAD "spec:\n"
                                         "  target: {lambda: {function: checkout}}\n"
                                         "  lambda: {reservedConcurrency: 30}\n";

#define AAS_CONVERGED                                                                             \
    "\"aas\": {"                                                                                  \
    " \"target\": {\"ServiceNamespace\": \"lambda\", \"ResourceId\": \"function:checkout:live\"," \
    "   \"ScalableDimension\": \"lambda:function:ProvisionedConcurrency\", \"MinCapacity\": 5,"   \
    "   \"MaxCapacity\": 50, \"ScalableTargetARN\": \"arn:t\"},"                                  \
    " \"policies\": {"                                                                            \
    "  \"trimtab-shop-checkout-util\": {\"PolicyName\": \"trimtab-shop-checkout-util\","          \
    "   \"PolicyARN\": \"arn:p1\", \"PolicyType\": \"TargetTrackingScaling\","                    \
    "   \"TargetTrackingScalingPolicyConfiguration\": {\"TargetValue\": 0.7,"                     \
    "    \"PredefinedMetricSpecification\": {\"PredefinedMetricType\":"                           \
    "    \"LambdaProvisionedConcurrencyUtilization\"}, \"DisableScaleIn\": false}}},"             \
    " \"scheduled\": {"                                                                           \
    "  \"trimtab-shop-checkout-office\": {\"ScheduledActionName\": "                              \
    "\"trimtab-shop-checkout-office\","                                                           \
    "   \"Schedule\": \"cron(0 8 ? * MON-FRI *)\", \"Timezone\": \"Europe/Berlin\","              \
    "   \"ScalableTargetAction\": {\"MinCapacity\": 20}}}}"

#define PC_READY                                                                       \
    "\"alias\": \"found\", \"pc\": {\"RequestedProvisionedConcurrentExecutions\": 20," \
    " \"AllocatedProvisionedConcurrentExecutions\": 20, \"Status\": \"READY\"}"

static const char *const converged =
    "{" AAS_CONVERGED ", " PC_READY ", \"concurrency\": {\"ReservedConcurrentExecutions\": 100}}";

static const char *const owned_memo =
    "{\"owned\": true, \"policies\": [\"trimtab-shop-checkout-util\"],"
    " \"scheduled\": [\"trimtab-shop-checkout-office\"], \"reservedConcurrency\": [\"checkout\"],"
    " \"targets\": [\"lambda|function:checkout:live|lambda:function:ProvisionedConcurrency\"]}";

static const char *const nothing =
    "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}}, \"alias\": \"found\","
    " \"pc\": null, \"concurrency\": {}}";

static void converged_gives_empty_plan_and_status(void **state)
{
    diff_fixture f;
    json_t *status = json_object();
    tt_diff_input in;
    (void)state;
    fx_load(&f, "lambda", spec, converged, owned_memo);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    assert_true(f.out.requeue_after == 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(f.out.memo, "reservedConcurrency"), 0)),
        "checkout");
    in = (tt_diff_input){f.r, f.observed, f.memo, f.deps, "eu-central-1", NULL};
    f.p->status(&in, status);
    assert_int_equal(json_integer_value(json_object_get(status, "currentCapacity")), 20);
    assert_int_equal(json_integer_value(json_object_get(status, "desiredCapacity")), 20);
    assert_int_equal(json_integer_value(json_object_get(status, "reservedConcurrency")), 100);
    assert_string_equal(json_string_value(json_object_get(status, "target")),
                        "lambda checkout:live");
    json_decref(status);
    fx_release(&f);
}

static void nothing_exists_sets_the_cap_first(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "lambda", spec, nothing, NULL);
    fx_diff(&f);
    /* The cap comes first: the scalable target may need its room straight away. */
    fx_assert_ops(f.out.plan, "create:PutFunctionConcurrency create:RegisterScalableTarget "
                              "create:PutScalingPolicy create:PutScheduledAction");
    assert_string_equal(fx_input_str(f.out.plan, 0, "FunctionName"), "checkout");
    assert_int_equal(json_integer_value(
                         json_object_get(fx_input(f.out.plan, 0), "ReservedConcurrentExecutions")),
                     100);
    assert_string_equal(fx_input_str(f.out.plan, 1, "ResourceId"), "function:checkout:live");
    fx_release(&f);
}

static void a_lower_cap_comes_after_scaling(void **state)
{
    diff_fixture f;
    char lower[2048];
    const char *at = strstr(spec, "reservedConcurrency: 100");
    (void)state;
    snprintf(lower, sizeof(lower), "%.*sreservedConcurrency: 60}\n", (int)(at - spec), spec);
    fx_load(&f, "lambda", lower, converged, owned_memo);
    json_object_set_new(json_object_get(json_object_get(f.observed, "aas"), "target"),
                        "MaxCapacity", json_integer(80));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget update:PutFunctionConcurrency");
    fx_release(&f);
}

static void cap_below_max_is_an_invalid_spec(void **state)
{
    diff_fixture f;
    char low[2048];
    const char *at = strstr(spec, "reservedConcurrency: 100");
    (void)state;
    snprintf(low, sizeof(low), "%.*sreservedConcurrency: 10}\n", (int)(at - spec), spec);
    fx_load(&f, "lambda", low, converged, owned_memo);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "InvalidSpec");
    assert_non_null(strstr(f.out.message, "maxCapacity 50 exceeds lambda.reservedConcurrency 10"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void someone_elses_cap_needs_adopt(void **state)
{
    diff_fixture f;
    char adopt[2048];
    (void)state;
    fx_load(&f, "lambda", spec,
            "{" AAS_CONVERGED ", " PC_READY ", \"concurrency\": {\"ReservedConcurrentExecutions\": "
            "250}}",
            "{\"owned\": true, \"targets\": [\"lambda|function:checkout:live|"
            "lambda:function:ProvisionedConcurrency\"]}");
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    assert_non_null(strstr(f.out.message, "reserved concurrency 250 of Lambda function checkout"));
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    snprintf(adopt, sizeof(adopt), "%s  adopt: true\n", spec);
    fx_load(&f, "lambda", adopt,
            "{" AAS_CONVERGED ", " PC_READY ", \"concurrency\": {\"ReservedConcurrentExecutions\": "
            "250}}",
            owned_memo);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:PutFunctionConcurrency");
    fx_release(&f);

    /* Adopting the scalable target too: its owner tag comes before any change, the cap next. */
    fx_load(&f, "lambda", adopt, "{" AAS_CONVERGED ", " PC_READY ", \"concurrency\": {}}", NULL);
    json_object_set_new(json_object_get(f.observed, "aas"), "tags", json_object());
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "tag:TagResource create:PutFunctionConcurrency");
    fx_release(&f);
}

static void cap_dropped_from_the_spec_is_removed_if_ours(void **state)
{
    diff_fixture f;
    char nocap[2048];
    const char *at = strstr(spec, "  lambda: {reservedConcurrency");
    (void)state;
    snprintf(nocap, sizeof(nocap), "%.*s", (int)(at - spec), spec);
    fx_load(&f, "lambda", nocap, converged, owned_memo);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "delete:DeleteFunctionConcurrency");
    assert_int_equal(json_array_size(json_object_get(f.out.memo, "reservedConcurrency")), 0);
    fx_release(&f);
    /* Not trimtab's: left alone. */
    fx_load(&f, "lambda", nocap, converged,
            "{\"owned\": true, \"targets\": [\"lambda|function:checkout:live|"
            "lambda:function:ProvisionedConcurrency\"]}");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
}

static void cap_only_policy(void **state)
{
    diff_fixture f;
    json_t *plan;
    (void)state;
    fx_load(&f, "lambda", cap_only, "{\"concurrency\": {}}", NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:PutFunctionConcurrency");
    fx_release(&f);
    fx_load(&f, "lambda", cap_only, "{\"concurrency\": {\"ReservedConcurrentExecutions\": 30}}",
            "{\"reservedConcurrency\": [\"checkout\"]}");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    plan = fx_remove(&f);
    fx_assert_ops(plan, "delete:DeleteFunctionConcurrency");
    json_decref(plan);
    fx_release(&f);
}

static void missing_function_or_alias_blocks(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "lambda", spec,
            "{\"aas\": {\"target\": null, \"policies\": {}, \"scheduled\": {}},"
            " \"alias\": \"missing\", \"function\": \"missing\"}",
            NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "Lambda function checkout or its alias live not found");
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
    fx_load(&f, "lambda", cap_only, "{\"function\": \"missing\"}", NULL);
    fx_diff(&f);
    assert_string_equal(f.out.message, "Lambda function checkout not found");
    fx_release(&f);
}

static void allocation_in_progress_is_looked_at_again(void **state)
{
    diff_fixture f;
    (void)state;
    fx_load(&f, "lambda", spec, converged, owned_memo);
    json_object_set_new(json_object_get(f.observed, "pc"), "Status", json_string("IN_PROGRESS"));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    assert_true(f.out.requeue_after > 0);
    fx_release(&f);
}

static void budget_guard_clamps_provisioned_concurrency(void **state)
{
    diff_fixture f;
    char guarded[2048];
    (void)state;
    snprintf(guarded, sizeof(guarded),
             "%s  budgetGuard: [{budget: lambda, abovePercent: 90, maxCapacity: 10}]\n", spec);
    fx_load(&f, "lambda", guarded, converged, owned_memo);
    json_object_set_new(f.deps, "Budget/lambda", json_pack("{s:f}", "percentUsed", 95.0));
    fx_diff(&f);
    /* The scheduled action's maximum is clamped with the target's, or the schedule would lift
     * the clamp when it fires. */
    fx_assert_ops(f.out.plan, "update:RegisterScalableTarget update:PutScheduledAction");
    assert_int_equal(json_integer_value(json_object_get(fx_input(f.out.plan, 0), "MaxCapacity")),
                     10);
    /* The schedule sets only a minimum, above the clamp: it comes down to the clamp. */
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(fx_input(f.out.plan, 1), "ScalableTargetAction"), "MinCapacity")),
        10);
    fx_release(&f);
}

static void remove_deletes_scaling_provisioning_and_cap(void **state)
{
    diff_fixture f;
    json_t *plan;
    (void)state;
    fx_load(&f, "lambda", spec, converged, owned_memo);
    plan = fx_remove(&f);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScheduledAction "
                        "delete:DeregisterScalableTarget delete:DeleteProvisionedConcurrencyConfig "
                        "delete:DeleteFunctionConcurrency");
    assert_string_equal(fx_input_str(plan, 3, "Qualifier"), "live");
    json_decref(plan);
    fx_release(&f);
    /* A target and a cap trimtab does not own: only its own policies go. */
    fx_load(&f, "lambda", spec, converged, "{\"owned\": false}");
    plan = fx_remove(&f);
    fx_assert_ops(plan, "delete:DeleteScalingPolicy delete:DeleteScheduledAction");
    json_decref(plan);
    fx_release(&f);
}

/* Registering bounds around the 20 requested executions settles the view; bounds that exclude
 * them make Lambda provision more or fewer, which only a new read shows. An alias without
 * provisioned concurrency has 0; Lambda's own writes are always read again. */
static void register_answer_settles_unless_concurrency_moves(void **state)
{
    diff_fixture f;
    json_t *call =
        fx_json("{\"operation\": \"PutFunctionConcurrency\", \"input\": "
                "{\"FunctionName\": \"checkout\", \"ReservedConcurrentExecutions\": 30}}");
    (void)state;
    fx_load(&f, "lambda", spec, converged, owned_memo);
    assert_int_equal(fx_applied_register(&f, 5, 50), 1);
    assert_int_equal(fx_applied_register(&f, 25, 50), 0);
    assert_int_equal(fx_applied_register(&f, 5, 10), 0);
    assert_int_equal(f.p->applied(f.r, f.observed, call, call), 0);
    json_object_set_new(f.observed, "pc", json_null());
    assert_int_equal(fx_applied_register(&f, 0, 50), 1);
    assert_int_equal(fx_applied_register(&f, 5, 50), 0);
    json_decref(call);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_answer_settles_unless_concurrency_moves),
        cmocka_unit_test(converged_gives_empty_plan_and_status),
        cmocka_unit_test(nothing_exists_sets_the_cap_first),
        cmocka_unit_test(a_lower_cap_comes_after_scaling),
        cmocka_unit_test(cap_below_max_is_an_invalid_spec),
        cmocka_unit_test(someone_elses_cap_needs_adopt),
        cmocka_unit_test(cap_dropped_from_the_spec_is_removed_if_ours),
        cmocka_unit_test(cap_only_policy),
        cmocka_unit_test(missing_function_or_alias_blocks),
        cmocka_unit_test(allocation_in_progress_is_looked_at_again),
        cmocka_unit_test(budget_guard_clamps_provisioned_concurrency),
        cmocka_unit_test(remove_deletes_scaling_provisioning_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
