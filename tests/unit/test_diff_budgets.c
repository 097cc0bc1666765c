/*
 * Unit tests for the pure diff of Budgets (providers/budgets.c): given a desired Budget and an
 * observed AWS view, the exact plan — the budget itself, its notifications as a set and the
 * subscribers of each as a set — plus ownership, removal and status.
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
#include "plan.h"

static const char *const spec_yaml =
    "apiVersion: trimtab.dev/v1alpha1\nkind: Budget\nmetadata: {name: monthly, namespace: shop}\n"
    "spec:\n"
    "  limit: {amount: 60, unit: USD}\n"
    "  costFilters: {service: [Amazon Elastic Container Service], tags: {team: platform}}\n"
    "  notifications:\n"
    "    - {type: ACTUAL, threshold: 50, subscribers: [{email: a@example.com}]}\n"
    "    - {type: ACTUAL, threshold: 80, subscribers: [{email: a@example.com}]}\n"
    "    - type: ACTUAL\n"
    "      threshold: 100\n"
    "      subscribers: [{email: a@example.com}, {snsTopicArn: "
    "'arn:aws:sns:us-east-1:123456789012:oncall'}]\n";

#define NOTE(t, th, state, subs)                                           \
    "{\"NotificationType\": \"" t                                          \
    "\", \"ComparisonOperator\": \"GREATER_THAN\", \"Threshold\": " th     \
    ", \"ThresholdType\": \"PERCENTAGE\", \"NotificationState\": \"" state \
    "\", \"Subscribers\": [" subs "]}"
#define EMAIL_A "{\"SubscriptionType\": \"EMAIL\", \"Address\": \"a@example.com\"}"
#define SNS_ONCALL \
    "{\"SubscriptionType\": \"SNS\", \"Address\": \"arn:aws:sns:us-east-1:123456789012:oncall\"}"

/* AWS's view of spec_yaml, converged: 48 USD spent of 60 (80 %, so the 50 % one is in ALARM). */
static const char *const converged =
    "{\"account\": \"123456789012\","
    " \"budget\": {\"BudgetName\": \"trimtab-shop-monthly\", \"BudgetType\": \"COST\","
    "  \"TimeUnit\": \"MONTHLY\", \"BudgetLimit\": {\"Amount\": \"60.0\", \"Unit\": \"USD\"},"
    "  \"CostFilters\": {\"Service\": [\"Amazon Elastic Container Service\"],"
    "                   \"TagKeyValue\": [\"user:team$platform\"]},"
    "  \"TimePeriod\": {\"Start\": 1764547200, \"End\": 3706473600},"
    "  \"CalculatedSpend\": {\"ActualSpend\": {\"Amount\": \"48\", \"Unit\": \"USD\"},"
    "                       \"ForecastedSpend\": {\"Amount\": \"71.333\", \"Unit\": \"USD\"}}},"
    " \"notifications\": [" NOTE("ACTUAL", "50.0", "ALARM", EMAIL_A) "," NOTE(
        "ACTUAL", "80.0", "OK", EMAIL_A) "," NOTE("ACTUAL", "100.0", "OK",
                                                  EMAIL_A "," SNS_ONCALL) "]}";

static void load(diff_fixture *f, const char *yaml, const char *observed, const char *memo)
{
    fx_load(f, "budgets", yaml, observed, memo);
}

/* A copy of `converged` with `what` replaced by `with` (which must occur once). */
static char *edit(const char *what, const char *with)
{
    const char *at = strstr(converged, what);
    size_t n = strlen(converged) - strlen(what) + strlen(with) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    snprintf(out, n, "%.*s%s%s", (int)(at - converged), converged, with, at + strlen(what));
    return out;
}

static const char *const owned = "{\"owned\": true}";

static void converged_gives_empty_plan(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_yaml, converged, owned);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    assert_true(json_is_true(json_object_get(f.out.memo, "owned")));
    fx_release(&f);
}

static void missing_budget_is_one_create_with_everything(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_yaml, "{\"account\": \"123456789012\", \"budget\": null, \"notifications\": []}",
         NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:CreateBudget");
    fx_assert_input(
        f.out.plan, 0,
        "{\"AccountId\":\"123456789012\",\"Budget\":{\"BudgetLimit\":{\"Amount\":\"60\",\"Unit\":"
        "\"USD\"},\"BudgetName\":\"trimtab-shop-monthly\",\"BudgetType\":\"COST\",\"CostFilters\":"
        "{\"Service\":[\"Amazon Elastic Container "
        "Service\"],\"TagKeyValue\":[\"user:team$platform\"]"
        "},\"TimeUnit\":\"MONTHLY\"},\"NotificationsWithSubscribers\":[{\"Notification\":{"
        "\"ComparisonOperator\":\"GREATER_THAN\",\"NotificationType\":\"ACTUAL\",\"Threshold\":50."
        "0,"
        "\"ThresholdType\":\"PERCENTAGE\"},\"Subscribers\":[{\"Address\":\"a@example.com\","
        "\"SubscriptionType\":\"EMAIL\"}]},{\"Notification\":{\"ComparisonOperator\":"
        "\"GREATER_THAN\",\"NotificationType\":\"ACTUAL\",\"Threshold\":80.0,\"ThresholdType\":"
        "\"PERCENTAGE\"},\"Subscribers\":[{\"Address\":\"a@example.com\",\"SubscriptionType\":"
        "\"EMAIL\"}]},{\"Notification\":{\"ComparisonOperator\":\"GREATER_THAN\","
        "\"NotificationType\":\"ACTUAL\",\"Threshold\":100.0,\"ThresholdType\":\"PERCENTAGE\"},"
        "\"Subscribers\":[{\"Address\":\"a@example.com\",\"SubscriptionType\":\"EMAIL\"},{"
        "\"Address\":\"arn:aws:sns:us-east-1:123456789012:oncall\",\"SubscriptionType\":\"SNS\"}]}]"
        ","
        "\"ResourceTags\":[{\"Key\":\"trimtab.dev/owner\",\"Value\":\"shop/monthly\"}]}");
    assert_true(json_is_true(json_object_get(f.out.memo, "owned")));
    fx_release(&f);
}

static void limit_and_filter_drift_is_one_update_keeping_the_period(void **state)
{
    diff_fixture f;
    char *obs = edit("\"Amount\": \"60.0\"", "\"Amount\": \"75\"");
    const json_t *changes;
    (void)state;
    load(&f, spec_yaml, obs, owned);
    json_object_set_new(json_object_get(f.observed, "budget"), "TimeUnit",
                        json_string("QUARTERLY"));
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:UpdateBudget");
    fx_assert_input(
        f.out.plan, 0,
        "{\"AccountId\":\"123456789012\",\"NewBudget\":{\"BudgetLimit\":{\"Amount\":\"60\","
        "\"Unit\":\"USD\"},\"BudgetName\":\"trimtab-shop-monthly\",\"BudgetType\":"
        "\"COST\",\"CostFilters\":{\"Service\":[\"Amazon Elastic Container Service\"],"
        "\"TagKeyValue\":[\"user:team$platform\"]},\"TimePeriod\":{\"End\":3706473600,"
        "\"Start\":1764547200},\"TimeUnit\":\"MONTHLY\"}}");
    changes = json_object_get(json_array_get(f.out.plan, 0), "changes");
    assert_int_equal(json_array_size(changes), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "field")),
                        "limit.amount");
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 1), "field")),
                        "timeUnit");
    fx_release(&f);
    free(obs);

    /* A filter AWS lost is drift too; an amount written "60" or "60.0" is not. */
    obs = edit("\"TagKeyValue\": [\"user:team$platform\"]", "\"TagKeyValue\": []");
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:UpdateBudget");
    fx_release(&f);
    free(obs);
}

static void removed_notification_is_deleted(void **state)
{
    diff_fixture f;
    char *obs =
        edit(SNS_ONCALL "]}]}", SNS_ONCALL "]}," NOTE("FORECASTED", "100", "OK", SNS_ONCALL) "]}");
    (void)state;
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "delete:DeleteNotification");
    fx_assert_input(
        f.out.plan, 0,
        "{\"AccountId\":\"123456789012\",\"BudgetName\":\"trimtab-shop-monthly\","
        "\"Notification\":{\"ComparisonOperator\":\"GREATER_THAN\",\"NotificationType\":"
        "\"FORECASTED\",\"Threshold\":100,\"ThresholdType\":\"PERCENTAGE\"}}");
    fx_release(&f);
    free(obs);
}

static void changed_threshold_is_updated_in_place(void **state)
{
    diff_fixture f;
    char *obs = edit("\"Threshold\": 80.0", "\"Threshold\": 90.0");
    const json_t *c;
    (void)state;
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    /* Not a delete and a create: the notification keeps its subscribers and history. */
    fx_assert_ops(f.out.plan, "update:UpdateNotification");
    fx_assert_input(f.out.plan, 0,
                    "{\"AccountId\":\"123456789012\",\"BudgetName\":\"trimtab-shop-monthly\","
                    "\"NewNotification\":{\"ComparisonOperator\":\"GREATER_THAN\","
                    "\"NotificationType\":\"ACTUAL\",\"Threshold\":80.0,\"ThresholdType\":"
                    "\"PERCENTAGE\"},\"OldNotification\":{\"ComparisonOperator\":\"GREATER_THAN\","
                    "\"NotificationType\":\"ACTUAL\",\"Threshold\":90.0,\"ThresholdType\":"
                    "\"PERCENTAGE\"}}");
    c = json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "field")), "threshold");
    assert_true(json_number_value(json_object_get(c, "old")) == 90);
    fx_release(&f);
    free(obs);

    /* A type change too (ACTUAL 50 → FORECASTED 50 in AWS): updated back. */
    obs = edit("\"NotificationType\": \"ACTUAL\"", "\"NotificationType\": \"FORECASTED\"");
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:UpdateNotification");
    fx_release(&f);
    free(obs);
}

static void missing_notification_is_created_with_subscribers(void **state)
{
    diff_fixture f;
    char *obs = edit("," NOTE("ACTUAL", "80.0", "OK", EMAIL_A), "");
    (void)state;
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:CreateNotification");
    fx_assert_input(
        f.out.plan, 0,
        "{\"AccountId\":\"123456789012\",\"BudgetName\":\"trimtab-shop-monthly\","
        "\"Notification\":{\"ComparisonOperator\":\"GREATER_THAN\",\"NotificationType\":"
        "\"ACTUAL\",\"Threshold\":80.0,\"ThresholdType\":\"PERCENTAGE\"},\"Subscribers\":"
        "[{\"Address\":\"a@example.com\",\"SubscriptionType\":\"EMAIL\"}]}");
    fx_release(&f);
    free(obs);
}

static void subscribers_are_a_set(void **state)
{
    diff_fixture f;
    /* 100 %: the e-mail subscriber gone, an extra one, and another SNS topic. */
    char *obs = edit(
        EMAIL_A "," SNS_ONCALL,
        "{\"SubscriptionType\": \"EMAIL\", \"Address\": \"b@example.com\"},"
        "{\"SubscriptionType\": \"SNS\", \"Address\": \"arn:aws:sns:us-east-1:123456789012:old\"}");
    (void)state;
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    /* Same type removed and added: updated in place (a notification takes one SNS topic, so a
     * create first would fail and a delete first could leave it without subscribers). */
    fx_assert_ops(f.out.plan, "update:UpdateSubscriber update:UpdateSubscriber");
    fx_assert_input(f.out.plan, 1,
                    "{\"AccountId\":\"123456789012\",\"BudgetName\":\"trimtab-shop-monthly\","
                    "\"NewSubscriber\":{\"Address\":\"arn:aws:sns:us-east-1:123456789012:oncall\","
                    "\"SubscriptionType\":\"SNS\"},\"Notification\":{\"ComparisonOperator\":"
                    "\"GREATER_THAN\",\"NotificationType\":\"ACTUAL\",\"Threshold\":100.0,"
                    "\"ThresholdType\":\"PERCENTAGE\"},\"OldSubscriber\":{\"Address\":"
                    "\"arn:aws:sns:us-east-1:123456789012:old\",\"SubscriptionType\":\"SNS\"}}");
    fx_release(&f);
    free(obs);

    /* One missing: created; one extra: deleted. */
    obs = edit(EMAIL_A "," SNS_ONCALL, SNS_ONCALL);
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "create:CreateSubscriber");
    fx_release(&f);
    free(obs);
    obs = edit(NOTE("ACTUAL", "80.0", "OK", EMAIL_A),
               NOTE("ACTUAL", "80.0", "OK",
                    EMAIL_A ",{\"SubscriptionType\": \"EMAIL\", \"Address\": \"c@example.com\"}"));
    load(&f, spec_yaml, obs, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "delete:DeleteSubscriber");
    fx_release(&f);
    free(obs);
}

static void ownership_refused_adopted_and_conflicting(void **state)
{
    diff_fixture f;
    char *obs =
        edit("\"account\": \"123456789012\",", "\"account\": \"123456789012\", \"tags\": {},");
    char *spec = malloc(strlen(spec_yaml) + 40);
    (void)state;
    /* Not trimtab's and no spec.adopt: nothing is planned. */
    load(&f, spec_yaml, obs, NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
    /* spec.adopt: tagged, then managed. */
    sprintf(spec, "%s  adopt: true\n", spec_yaml);
    load(&f, spec, obs, NULL);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "tag:TagResource");
    fx_assert_input(
        f.out.plan, 0,
        "{\"ResourceARN\":\"arn:aws:budgets::123456789012:budget/trimtab-shop-monthly\","
        "\"ResourceTags\":[{\"Key\":\"trimtab.dev/owner\",\"Value\":\"shop/monthly\"}]}");
    fx_release(&f);
    free(obs);
    /* Another resource's tag: refused even with adopt. */
    obs = edit("\"account\": \"123456789012\",",
               "\"account\": \"123456789012\", \"tags\": {\"trimtab.dev/owner\": \"other/x\"},");
    load(&f, spec, obs, NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    fx_release(&f);
    free(obs);
    /* Its own tag (a run killed before the memo was written): ours. */
    obs =
        edit("\"account\": \"123456789012\",",
             "\"account\": \"123456789012\", \"tags\": {\"trimtab.dev/owner\": \"shop/monthly\"},");
    load(&f, spec_yaml, obs, NULL);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);
    free(obs);
    free(spec);
}

static void remove_deletes_only_an_owned_budget(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    tt_error err;
    json_t *plan = tt_plan_new();
    char *obs;
    (void)state;
    load(&f, spec_yaml, converged, owned);
    in = fx_diff_input(&f);
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "delete:DeleteBudget");
    json_decref(plan);
    fx_release(&f);

    obs = edit("\"account\": \"123456789012\",", "\"account\": \"123456789012\", \"tags\": {},");
    load(&f, spec_yaml, obs, NULL);
    plan = tt_plan_new();
    in = fx_diff_input(&f);
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "");
    json_decref(plan);
    fx_release(&f);
    free(obs);
}

static void status_reports_spend_and_thresholds(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    json_t *status = json_object();
    char *got;
    (void)state;
    load(&f, spec_yaml, converged, owned);
    in = fx_diff_input(&f);
    f.p->status(&in, status);
    /* As the state directory writes it (reconcile/state.c). */
    got = json_dumps(status, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(got, "{\"actualSpend\":{\"amount\":48.0,\"unit\":\"USD\"},\"budgetName\":"
                             "\"trimtab-shop-monthly\",\"forecastedSpend\":{\"amount\":71.33,"
                             "\"unit\":\"USD\"},\"percentUsed\":80.0,\"target\":"
                             "\"trimtab-shop-monthly\",\"thresholdsExceeded\":[\"ACTUAL>50%\"]}");
    free(got);
    json_decref(status);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_gives_empty_plan),
        cmocka_unit_test(missing_budget_is_one_create_with_everything),
        cmocka_unit_test(limit_and_filter_drift_is_one_update_keeping_the_period),
        cmocka_unit_test(removed_notification_is_deleted),
        cmocka_unit_test(changed_threshold_is_updated_in_place),
        cmocka_unit_test(missing_notification_is_created_with_subscribers),
        cmocka_unit_test(subscribers_are_a_set),
        cmocka_unit_test(ownership_refused_adopted_and_conflicting),
        cmocka_unit_test(remove_deletes_only_an_owned_budget),
        cmocka_unit_test(status_reports_spend_and_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
