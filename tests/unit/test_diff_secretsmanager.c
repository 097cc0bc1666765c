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

#include "loader.h"
#include "plan.h"
#include "provider.h"
#include "providers.h"

#define LAMBDA "arn:aws:lambda:eu-central-1:123456789012:function:rotate"
#define HEAD                                                                                    \
    "apiVersion: trimtab.dev/v1alpha1\nkind: SecretRotation\nmetadata: {name: orders, "         \
    "namespace: shop@A@}\nspec:\n  secretId: prod/orders\n  rotationLambdaArn: " LAMBDA "\n"

static const char *const spec_days = HEAD "  schedule: {automaticallyAfterDays: 30}\n"
                                          "  replicaRegions: [eu-west-1]\n";
static const char *const spec_expr =
    HEAD "  schedule: {expression: 'rate(10 days)', duration: 3h}\n";

/* AWS's view of spec_days, converged and tagged; read at 2026-12-06T04:00:00Z. */
#define SECRET(extra, stages)                                                                   \
    "{\"observedAt\": 1796529600, \"described\": true, \"secret\": {"                            \
    "\"ARN\": \"arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/orders-AbCdEf\","  \
    "\"Name\": \"prod/orders\", \"RotationEnabled\": true, \"RotationLambdaARN\": \"" LAMBDA    \
    "\", \"RotationRules\": {\"AutomaticallyAfterDays\": 30},"                                  \
    "\"LastRotatedDate\": \"2026-12-01T10:00:00.250Z\","                                        \
    "\"NextRotationDate\": \"2026-12-31T23:59:59Z\","                                           \
    "\"Tags\": [{\"Key\": \"trimtab.dev/owner\", \"Value\": \"shop/orders\"}],"                 \
    "\"ReplicationStatus\": [{\"Region\": \"eu-west-1\", \"Status\": \"InSync\"}],"             \
    "\"VersionIdsToStages\": {" stages "}" extra "}}"
#define STAGES_OK "\"v-old\": [\"AWSPREVIOUS\"], \"v-cur\": [\"AWSCURRENT\"]"
static const char *const converged = SECRET("", STAGES_OK);

struct fixture {
    tt_manifest_set set;
    tt_resource *r;
    const tt_provider *p;
    json_t *observed;
    json_t *memo;
    tt_diff_output out;
    char yaml[2048];
};

static void load(struct fixture *f, const char *spec, const char *annotations,
                 const char *observed, const char *memo)
{
    tt_diags *d = tt_diags_create();
    json_error_t je;
    const char *at = strstr(spec, "@A@");

    memset(f, 0, sizeof(*f));
    assert_non_null(at);
    snprintf(f->yaml, sizeof(f->yaml), "%.*s%s%s", (int)(at - spec), spec,
             annotations ? annotations : "", at + 3);
    tt_manifest_set_init(&f->set);
    assert_int_equal(tt_loader_add_bytes(&f->set, f->yaml, strlen(f->yaml), "t.yaml", d), TT_OK);
    if (tt_diags_errors(d) > 0) {
        tt_buf b;
        tt_buf_init(&b);
        tt_diags_format(d, &b);
        fail_msg("manifest invalid: %s", tt_buf_str(&b));
    }
    tt_diags_destroy(d);
    f->r = f->set.items[0];
    f->p = tt_provider_for(f->r);
    assert_string_equal(f->p->name, "secretsmanager");
    f->observed = json_loads(observed, 0, &je);
    if (f->observed == NULL)
        fail_msg("observed JSON: %s at %d", je.text, je.position);
    f->memo = memo ? json_loads(memo, 0, NULL) : NULL;
}

static tt_diff_input input(struct fixture *f)
{
    return (tt_diff_input){f->r, f->observed, f->memo, NULL, "eu-central-1", NULL};
}

static void diff(struct fixture *f)
{
    tt_diff_input in = input(f);
    tt_error err;

    f->out.plan = tt_plan_new();
    assert_int_equal(f->p->diff(&in, &f->out, &err), TT_OK);
}

static void release(struct fixture *f)
{
    json_decref(f->observed);
    json_decref(f->memo);
    json_decref(f->out.plan);
    json_decref(f->out.memo);
    json_decref(f->out.conditions);
    tt_manifest_set_cleanup(&f->set);
}

static void assert_ops(const json_t *plan, const char *want)
{
    tt_buf b;
    size_t i;
    json_t *a;

    tt_buf_init(&b);
    json_array_foreach(plan, i, a)
    {
        tt_buf_printf(&b, "%s%s:%s", i ? " " : "", json_string_value(json_object_get(a, "verb")),
                      json_string_value(json_object_get(json_object_get(a, "call"), "operation")));
    }
    if (strcmp(tt_buf_str(&b), want) != 0) {
        char *dump = json_dumps(plan, JSON_INDENT(1));
        fail_msg("plan ops\n  got:  %s\n  want: %s\n%s", tt_buf_str(&b), want, dump);
    }
    tt_buf_cleanup(&b);
}

static void assert_input(const json_t *plan, size_t i, const char *want)
{
    const json_t *in = json_object_get(json_object_get(json_array_get(plan, i), "call"), "input");
    char *got = json_dumps(in, JSON_SORT_KEYS | JSON_COMPACT);
    if (strcmp(got, want) != 0)
        fail_msg("input of action %zu\n  got:  %s\n  want: %s", i, got, want);
    free(got);
}

static const char *const owned = "{\"owned\": true, \"replicas\": [\"eu-west-1\"]}";

static void converged_gives_empty_plan(void **state)
{
    struct fixture f;
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    diff(&f);
    assert_null(f.out.blocked);
    assert_ops(f.out.plan, "");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f.out.conditions, 0),
                                                          "status")),
                        "False");
    release(&f);
}

static void unrotated_secret_is_claimed_and_configured(void **state)
{
    struct fixture f;
    (void)state;
    load(&f, spec_days, NULL,
         "{\"observedAt\": 1796529600, \"described\": true, \"secret\": {\"Name\": "
         "\"prod/orders\", \"ARN\": \"arn:x\", \"VersionIdsToStages\": {\"v1\": "
         "[\"AWSCURRENT\"]}}}",
         NULL);
    diff(&f);
    assert_ops(f.out.plan,
               "tag:TagResource create:RotateSecret create:ReplicateSecretToRegions");
    assert_input(f.out.plan, 0,
                 "{\"SecretId\":\"prod/orders\",\"Tags\":[{\"Key\":\"trimtab.dev/owner\","
                 "\"Value\":\"shop/orders\"}]}");
    assert_input(f.out.plan, 1,
                 "{\"RotateImmediately\":false,\"RotationLambdaARN\":\"" LAMBDA
                 "\",\"RotationRules\":{\"AutomaticallyAfterDays\":30},\"SecretId\":"
                 "\"prod/orders\"}");
    assert_input(f.out.plan, 2,
                 "{\"AddReplicaRegions\":[{\"Region\":\"eu-west-1\"}],\"SecretId\":"
                 "\"prod/orders\"}");
    release(&f);
}

static void schedule_change_is_one_rotate_secret(void **state)
{
    struct fixture f;
    (void)state;
    load(&f, spec_expr, NULL, converged, owned);
    diff(&f);
    /* The replica trimtab added and the spec dropped goes too. */
    assert_ops(f.out.plan, "update:RotateSecret delete:RemoveRegionsFromReplication");
    assert_input(f.out.plan, 0,
                 "{\"RotateImmediately\":false,\"RotationLambdaARN\":\"" LAMBDA
                 "\",\"RotationRules\":{\"Duration\":\"3h\",\"ScheduleExpression\":"
                 "\"rate(10 days)\"},\"SecretId\":\"prod/orders\"}");
    release(&f);
}

static void replicas_of_others_stay(void **state)
{
    struct fixture f;
    (void)state;
    /* Not in the memo: not trimtab's to remove. */
    load(&f, spec_expr, NULL, converged, "{\"owned\": true}");
    diff(&f);
    assert_ops(f.out.plan, "update:RotateSecret");
    release(&f);
}

static void requested_rotation_once_per_value(void **state)
{
    struct fixture f;
    const json_t *in;
    char token[64];
    (void)state;
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", converged, owned);
    diff(&f);
    assert_ops(f.out.plan, "update:RotateSecret");
    in = json_object_get(json_object_get(json_array_get(f.out.plan, 0), "call"), "input");
    assert_true(json_is_true(json_object_get(in, "RotateImmediately")));
    assert_null(json_object_get(in, "RotationRules")); /* the settings are in sync */
    snprintf(token, sizeof(token), "%s",
             json_string_value(json_object_get(in, "ClientRequestToken")));
    assert_int_equal(strlen(token), 36);
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "rotated")), "v1");
    release(&f);

    /* The memo says v1 was served: nothing. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", converged,
         "{\"owned\": true, \"replicas\": [\"eu-west-1\"], \"rotated\": \"v1\"}");
    diff(&f);
    assert_ops(f.out.plan, "");
    release(&f);

    /* A killed run started it but never wrote the memo: its version is there, nothing. */
    {
        char obs[4096];
        snprintf(obs, sizeof(obs),
                 SECRET("", "\"v-cur\": [\"AWSPREVIOUS\"], \"%s\": [\"AWSCURRENT\"]"), token);
        load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v1}", obs, owned);
    }
    diff(&f);
    assert_ops(f.out.plan, "");
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "rotated")), "v1");
    release(&f);

    /* A new value: a different token. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v2}", converged,
         "{\"owned\": true, \"replicas\": [\"eu-west-1\"], \"rotated\": \"v1\"}");
    diff(&f);
    assert_ops(f.out.plan, "update:RotateSecret");
    assert_string_not_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(f.out.plan, 0), "call"), "input"),
            "ClientRequestToken")),
        token);
    release(&f);
}

#define PENDING "\"v-cur\": [\"AWSCURRENT\"], \"v-new\": [\"AWSPENDING\"]"

static void pending_rotation_running_then_stuck(void **state)
{
    struct fixture f;
    const json_t *c;
    char obs[4096];
    (void)state;
    /* Started 30 minutes before the read, window 1 h: running; look again when it ends. */
    snprintf(obs, sizeof(obs), "%s", SECRET(", \"x\": 0", PENDING));
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v9}", obs, owned);
    json_object_set_new(f.observed, "pendingSince", json_string("2026-12-06T03:30:00Z"));
    diff(&f);
    assert_string_equal(f.out.blocked, "RotationInProgress");
    assert_true(f.out.requeue_after == 1801);
    assert_ops(f.out.plan, "");
    release(&f);

    /* Started two hours before: stuck; no RotateSecret although one is asked for. */
    load(&f, spec_days, ", annotations: {trimtab.dev/rotate-requested-at: v9}", obs, owned);
    json_object_set_new(f.observed, "pendingSince", json_string("2026-12-06T02:00:00Z"));
    diff(&f);
    assert_string_equal(f.out.blocked, "RotationFailed");
    assert_string_equal(f.out.message,
                        "the rotation of secret prod/orders started at 2026-12-06T02:00:00Z left "
                        "version v-new as AWSPENDING past its 3600s window; no new rotation is "
                        "started until the rotation function is fixed and AWSPENDING is cleared");
    c = json_array_get(f.out.conditions, 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "RotationFailed");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    release(&f);
}

static void rotation_of_someone_else_is_refused_unless_adopted(void **state)
{
    struct fixture f;
    char obs[4096];
    (void)state;
    snprintf(obs, sizeof(obs), "%s", converged);
    load(&f, spec_days, NULL, obs, NULL);
    json_object_del(json_object_get(f.observed, "secret"), "Tags");
    diff(&f);
    assert_string_equal(f.out.blocked, "AdoptionRefused");
    release(&f);
    load(&f, spec_days, NULL, obs, NULL);
    json_object_set_new(json_object_get(f.observed, "secret"), "Tags",
                        json_pack("[{s:s,s:s}]", "Key", "trimtab.dev/owner", "Value", "x/y"));
    diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    release(&f);
}

static void missing_secret_blocks(void **state)
{
    struct fixture f;
    (void)state;
    load(&f, spec_days, NULL, "{\"observedAt\": 1, \"secret\": null}", NULL);
    diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    assert_string_equal(f.out.message, "secret prod/orders not found in eu-central-1");
    release(&f);
}

static void remove_cancels_rotation_and_what_trimtab_added(void **state)
{
    struct fixture f;
    tt_diff_input in;
    tt_error err;
    json_t *plan = tt_plan_new();
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    in = input(&f);
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    assert_ops(plan, "delete:CancelRotateSecret delete:RemoveRegionsFromReplication "
                     "delete:UntagResource");
    json_decref(plan);
    release(&f);
}

static void status_has_dates_and_no_values(void **state)
{
    struct fixture f;
    tt_diff_input in;
    json_t *status = json_object();
    char *got;
    (void)state;
    load(&f, spec_days, NULL, converged, owned);
    in = input(&f);
    f.p->status(&in, status);
    got = json_dumps(status, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(got, "{\"currentVersionId\":\"v-cur\",\"lastRotatedDate\":"
                             "\"2026-12-01T10:00:00Z\",\"lastRotationResult\":\"Succeeded\","
                             "\"nextRotationDate\":\"2026-12-31T23:59:59Z\",\"replicaRegions\":["
                             "\"eu-west-1\"],\"rotationEnabled\":true,\"target\":\"prod/orders\"}");
    free(got);
    json_decref(status);
    release(&f);
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
