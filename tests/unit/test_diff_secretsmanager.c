/*
 * Unit tests for the pure diff of SecretRotations (providers/secretsmanager.c): rotation
 * settings, the rotate-requested-at annotation, stuck rotations, replicas, ownership, removal
 * and status — the exact plans.
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

#define LAMBDA "arn:aws:lambda:eu-central-1:123456789012:function:rotate"
#define HEAD                                                                            \
    "apiVersion: trimtab.dev/v1alpha1\nkind: SecretRotation\nmetadata: {name: orders, " \
    "namespace: shop@A@}\nspec:\n  secretId: prod/orders\n  rotationLambdaArn: " LAMBDA "\n"

static const char *const spec_days = HEAD "  schedule: {automaticallyAfterDays: 30}\n"
                                          "  replicaRegions: [eu-west-1]\n";
static const char *const spec_expr =
    HEAD "  schedule: {expression: 'rate(10 days)', duration: 3h}\n";

/* AWS's view of spec_days, converged and tagged; read at 2026-12-06T04:00:00Z. */
#define SECRET(extra, stages)                                                                  \
    "{\"observedAt\": 1796529600, \"described\": true, \"secret\": {"                          \
    "\"ARN\": \"arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/orders-AbCdEf\"," \
    "\"Name\": \"prod/orders\", \"RotationEnabled\": true, \"RotationLambdaARN\": \"" LAMBDA   \
    "\", \"RotationRules\": {\"AutomaticallyAfterDays\": 30},"                                 \
    "\"LastRotatedDate\": \"2026-12-01T10:00:00.250Z\","                                       \
    "\"NextRotationDate\": \"2026-12-31T23:59:59Z\","                                          \
    "\"Tags\": [{\"Key\": \"trimtab.dev/owner\", \"Value\": \"shop/orders\"}],"                \
    "\"ReplicationStatus\": [{\"Region\": \"eu-west-1\", \"Status\": \"InSync\"}],"            \
    "\"VersionIdsToStages\": {" stages "}" extra "}}"
#define STAGES_OK "\"v-old\": [\"AWSPREVIOUS\"], \"v-cur\": [\"AWSCURRENT\"]"
static const char *const converged = SECRET("", STAGES_OK);

/* Loads `spec` with `annotations` (", annotations: {…}", or NULL) in its metadata. */
static void load(diff_fixture *f, const char *spec, const char *annotations, const char *observed,
                 const char *memo)
{
    const char *at = strstr(spec, "@A@");
    char yaml[2048];

    assert_non_null(at);
    snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - spec), spec, annotations ? annotations : "",
             at + 3);
    fx_load(f, "secretsmanager", yaml, observed, memo);
}

static const char *const owned = "{\"owned\": true, \"replicas\": [\"eu-west-1\"]}";

static void converged_gives_empty_plan(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    fx_diff(&f);
    assert_null(f.out.blocked);
    fx_assert_ops(f.out.plan, "");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f.out.conditions, 0), "status")), "False");
    fx_release(&f);
}

static void unrotated_secret_is_claimed_and_configured(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_days, NULL,
         "{\"observedAt\": 1796529600, \"described\": true, \"secret\": {\"Name\": "
         "\"prod/orders\", \"ARN\": \"arn:x\", \"VersionIdsToStages\": {\"v1\": "
         "[\"AWSCURRENT\"]}}}",
         NULL);
    fx_diff(&f);
    fx_assert_ops(f.out.plan,
                  "tag:TagResource create:RotateSecret create:ReplicateSecretToRegions");
    fx_assert_input(f.out.plan, 0,
                    "{\"SecretId\":\"prod/orders\",\"Tags\":[{\"Key\":\"trimtab.dev/owner\","
                    "\"Value\":\"shop/orders\"}]}");
    fx_assert_input(f.out.plan, 1,
                    "{\"RotateImmediately\":false,\"RotationLambdaARN\":\"" LAMBDA
                    "\",\"RotationRules\":{\"AutomaticallyAfterDays\":30},\"SecretId\":"
                    "\"prod/orders\"}");
    fx_assert_input(f.out.plan, 2,
                    "{\"AddReplicaRegions\":[{\"Region\":\"eu-west-1\"}],\"SecretId\":"
                    "\"prod/orders\"}");
    fx_release(&f);
}

static void schedule_change_is_one_rotate_secret(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_expr, NULL, converged, owned);
    fx_diff(&f);
    /* The replica trimtab added and the spec dropped goes too. */
    fx_assert_ops(f.out.plan, "update:RotateSecret delete:RemoveRegionsFromReplication");
    fx_assert_input(f.out.plan, 0,
                    "{\"RotateImmediately\":false,\"RotationLambdaARN\":\"" LAMBDA
                    "\",\"RotationRules\":{\"Duration\":\"3h\",\"ScheduleExpression\":"
                    "\"rate(10 days)\"},\"SecretId\":\"prod/orders\"}");
    fx_release(&f);
}

static void replicas_of_others_stay(void **state)
{
    diff_fixture f;
    (void)state;
    /* Not in the memo: not trimtab's to remove. */
    load(&f, spec_expr, NULL, converged, "{\"owned\": true}");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RotateSecret");
    fx_release(&f);
}

static void requested_rotation_once_per_value(void **state)
{
    diff_fixture f;
    const json_t *in;
    char token[64];
    (void)state;
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", converged, owned);
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RotateSecret");
    in = json_object_get(json_object_get(json_array_get(f.out.plan, 0), "call"), "input");
    assert_true(json_is_true(json_object_get(in, "RotateImmediately")));
    assert_null(json_object_get(in, "RotationRules")); /* the settings are in sync */
    snprintf(token, sizeof(token), "%s",
             json_string_value(json_object_get(in, "ClientRequestToken")));
    assert_int_equal(strlen(token), 36);
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "rotated")), "v1");
    fx_release(&f);

    /* The memo says v1 was served: nothing. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", converged,
         "{\"owned\": true, \"replicas\": [\"eu-west-1\"], \"rotated\": \"v1\"}");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    /* A killed run started it but never wrote the memo: its version is there, nothing. */
    {
        char obs[4096];
        snprintf(obs, sizeof(obs),
                 SECRET("", "\"v-cur\": [\"AWSPREVIOUS\"], \"%s\": [\"AWSCURRENT\"]"), token);
        load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", obs, owned);
    }
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "");
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "rotated")), "v1");
    fx_release(&f);

    /* A new value: a different token. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v2}", converged,
         "{\"owned\": true, \"replicas\": [\"eu-west-1\"], \"rotated\": \"v1\"}");
    fx_diff(&f);
    fx_assert_ops(f.out.plan, "update:RotateSecret");
    assert_string_not_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(f.out.plan, 0), "call"), "input"),
            "ClientRequestToken")),
        token);
    fx_release(&f);
}

#define PENDING "\"v-cur\": [\"AWSCURRENT\"], \"v-new\": [\"AWSPENDING\"]"

static void pending_rotation_running_then_stuck(void **state)
{
    diff_fixture f;
    const json_t *c;
    char obs[4096];
    (void)state;
    /* Started 30 minutes before the read, window 1 h: running; look again when it ends. */
    snprintf(obs, sizeof(obs), "%s", SECRET(", \"x\": 0", PENDING));
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v9}", obs, owned);
    json_object_set_new(f.observed, "pendingSince", json_string("2026-12-06T03:30:00Z"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "RotationInProgress");
    assert_true(f.out.requeue_after == 1801);
    fx_assert_ops(f.out.plan, "");
    fx_release(&f);

    /* Started two hours before: stuck; no RotateSecret although one is asked for. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v9}", obs, owned);
    json_object_set_new(f.observed, "pendingSince", json_string("2026-12-06T02:00:00Z"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "RotationFailed");
    assert_string_equal(f.out.message,
                        "the rotation of secret prod/orders started at 2026-12-06T02:00:00Z left "
                        "version v-new as AWSPENDING past its 3600s window; no new rotation is "
                        "started until the rotation function is fixed and AWSPENDING is cleared");
    c = json_array_get(f.out.conditions, 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "RotationFailed");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    fx_release(&f);
}

static void rotation_of_someone_else_is_refused_unless_adopted(void **state)
{
    diff_fixture f;
    char obs[4096];
    (void)state;
    snprintf(obs, sizeof(obs), "%s", converged);
    load(&f, spec_days, NULL, obs, NULL);
    json_object_del(json_object_get(f.observed, "secret"), "Tags");
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    fx_release(&f);
    load(&f, spec_days, NULL, obs, NULL);
    json_object_set_new(json_object_get(f.observed, "secret"), "Tags",
                        json_pack("[{s:s,s:s}]", "Key", "trimtab.dev/owner", "Value", "x/y"));
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    fx_release(&f);
}

static void missing_secret_blocks(void **state)
{
    diff_fixture f;
    (void)state;
    load(&f, spec_days, NULL, "{\"observedAt\": 1, \"secret\": null}", NULL);
    fx_diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "secret prod/orders not found in eu-central-1");
    fx_release(&f);
}

static void remove_cancels_rotation_and_what_trimtab_added(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    tt_error err;
    json_t *plan = tt_plan_new();
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    in = fx_diff_input(&f);
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    fx_assert_ops(plan, "delete:CancelRotateSecret delete:RemoveRegionsFromReplication "
                        "delete:UntagResource");
    json_decref(plan);
    fx_release(&f);
}

static void status_has_dates_and_no_values(void **state)
{
    diff_fixture f;
    tt_diff_input in;
    json_t *status = json_object();
    char *got;
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    in = fx_diff_input(&f);
    f.p->status(&in, status);
    got = json_dumps(status, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(got, "{\"currentVersionId\":\"v-cur\",\"lastRotatedDate\":"
                             "\"2026-12-01T10:00:00Z\",\"lastRotationResult\":\"Succeeded\","
                             "\"nextRotationDate\":\"2026-12-31T23:59:59Z\",\"replicaRegions\":["
                             "\"eu-west-1\"],\"rotationEnabled\":true,\"target\":\"prod/orders\"}");
    free(got);
    json_decref(status);
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_gives_empty_plan),
        cmocka_unit_test(unrotated_secret_is_claimed_and_configured),
        cmocka_unit_test(schedule_change_is_one_rotate_secret),
        cmocka_unit_test(replicas_of_others_stay),
        cmocka_unit_test(requested_rotation_once_per_value),
        cmocka_unit_test(pending_rotation_running_then_stuck),
        cmocka_unit_test(rotation_of_someone_else_is_refused_unless_adopted),
        cmocka_unit_test(missing_secret_blocks),
        cmocka_unit_test(remove_cancels_rotation_and_what_trimtab_added),
        cmocka_unit_test(status_has_dates_and_no_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
