/*
 * Unit tests for ownership (providers/owner.c): deterministic names shortened with a hash, the
 * owner tag's value, adopt/refuse and the deletion check --prune relies on; and the Application
 * Auto Scaling table (providers/appautoscaling.c) against the model's validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "loader.h"
#include "owner.h"

static tt_common_spec common;

static tt_resource resource(const char *ns, const char *name, int adopt)
{
    tt_resource r;

    memset(&r, 0, sizeof(r));
    memset(&common, 0, sizeof(common));
    common.adopt.set = adopt >= 0;
    common.adopt.v = adopt > 0;
    r.kind = TT_KIND_SCALING_POLICY;
    r.namespace_ = ns;
    r.name = name;
    r.key = "ScalingPolicy/x/y";
    r.spec.common = &common;
    return r;
}

static void names_are_deterministic(void **state)
{
    tt_resource r = resource("shop", "web", 0);
    char name[300];

    (void)state;
    tt_owner_name(&r, "cpu", 256, name, sizeof(name));
    assert_string_equal(name, "trimtab-shop-web-cpu");
    tt_owner_name(&r, NULL, 256, name, sizeof(name));
    assert_string_equal(name, "trimtab-shop-web");
    tt_owner_value(&r, name, sizeof(name));
    assert_string_equal(name, "shop/web");
}

static void long_names_are_shortened_stably(void **state)
{
    char long_name[251], name[300], again[300];
    tt_resource r;

    (void)state;
    memset(long_name, '0', 250);
    long_name[249] = '7';
    long_name[250] = '\0';
    r = resource("shop", long_name, 0);
    tt_owner_name(&r, "a-policy-name", 256, name, sizeof(name));
    assert_int_equal(strlen(name), 256);
    assert_non_null(strstr(name, "trimtab-shop-000"));
    tt_owner_name(&r, "a-policy-name", 256, again, sizeof(again));
    assert_string_equal(name, again);
    tt_owner_name(&r, "another-policy", 256, again, sizeof(again));
    assert_string_not_equal(name, again);
    /* A tighter service limit (CloudWatch alarms: 255; IAM-ish 64) keeps the same rule. */
    tt_owner_name(&r, "a-policy-name", 64, again, sizeof(again));
    assert_int_equal(strlen(again), 64);
    assert_memory_equal(again + 55, name + 247, 9); /* same "-<hash>" tail */
    /* A buffer smaller than the limit bounds the name too. */
    tt_owner_name(&r, "a-policy-name", 256, again, 40);
    assert_int_equal(strlen(again), 39);
}

static void adopt_refuse_and_conflict(void **state)
{
    tt_resource r = resource("shop", "web", 0);
    tt_diff_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tt_owner_check(&r, true, NULL, "scalable target s", &out), TT_OWNER_OURS);
    assert_int_equal(tt_owner_check(&r, false, "shop/web", "scalable target s", &out),
                     TT_OWNER_OURS);
    assert_null(out.blocked);
    assert_int_equal(tt_owner_check(&r, false, NULL, "scalable target s", &out), TT_OWNER_REFUSED);
    assert_string_equal(out.blocked, "AdoptionRefused");
    assert_non_null(strstr(out.message, "scalable target s already exists"));
    assert_non_null(strstr(out.message, "spec.adopt: true"));
    memset(&out, 0, sizeof(out));
    assert_int_equal(tt_owner_check(&r, false, "shop/other", "scalable target s", &out),
                     TT_OWNER_CONFLICT);
    assert_string_equal(out.blocked, "ConflictingOwner");
    assert_non_null(strstr(out.message, "shop/other"));
    /* spec.adopt takes over an untagged object, never another resource's. */
    r = resource("shop", "web", 1);
    memset(&out, 0, sizeof(out));
    assert_int_equal(tt_owner_check(&r, false, NULL, "scalable target s", &out), TT_OWNER_ADOPT);
    assert_null(out.blocked);
    assert_int_equal(tt_owner_check(&r, false, "shop/other", "scalable target s", &out),
                     TT_OWNER_CONFLICT);
}

static void prune_deletes_only_what_is_ours(void **state)
{
    tt_resource r = resource("shop", "web", 1);

    (void)state;
    assert_true(tt_owner_may_delete(&r, true, NULL));
    assert_true(tt_owner_may_delete(&r, false, "shop/web"));
    assert_false(tt_owner_may_delete(&r, false, NULL)); /* adopt does not make it deletable */
    assert_false(tt_owner_may_delete(&r, false, "shop/other"));
    assert_false(tt_owner_may_delete(&r, false, "shop/web2"));
}

/* Every row's predefined metrics validate on a manifest of that target: the table and the
 * model agree. */
static void aas_table_agrees_with_validation(void **state)
{
    static const char *const targets[] = {
        [TT_TARGET_ECS] = "{ecs: {cluster: c, service: s}}",
        [TT_TARGET_RDS_CLUSTER] = "{rds: {cluster: c}}",
        [TT_TARGET_ELASTICACHE] = "{elasticache: {replicationGroup: g, dimension: ",
        [TT_TARGET_LAMBDA] = "{lambda: {function: f, alias: live}}",
    };
    (void)state;
    for (const tt_aas_kind *k = tt_aas_kinds; k->target != TT_TARGET_NONE; k++) {
        for (const char *const *m = k->metrics; *m != NULL; m++) {
            char target[200], yaml[1024];
            tt_manifest_set set;
            tt_diags *d = tt_diags_create();
            tt_aas_target t;
            snprintf(target, sizeof(target), "%s%s%s", targets[k->target],
                     k->variant ? k->variant : "", k->variant ? "}}" : "");
            snprintf(
                yaml, sizeof(yaml),
                "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: a, "
                "namespace: b}\nspec:\n  target: %s\n  minCapacity: 1\n  maxCapacity: 2\n"
                "  targetTracking:\n    - {name: t, predefinedMetric: %s, targetValue: 50%s}\n",
                target, *m,
                strcmp(*m, "ALBRequestCountPerTarget") == 0 ? ", resourceLabel: app/x/y" : "");
            tt_manifest_set_init(&set);
            assert_int_equal(tt_loader_add_bytes(&set, yaml, strlen(yaml), "t.yaml", d), TT_OK);
            if (tt_diags_errors(d) != 0)
                fail_msg("%s on %s does not validate", *m, target);
            assert_int_equal(tt_aas_target_of(set.items[0], &t), 0);
            assert_ptr_equal(t.kind, k);
            tt_diags_destroy(d);
            tt_manifest_set_cleanup(&set);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_deterministic),
        cmocka_unit_test(long_names_are_shortened_stably),
        cmocka_unit_test(adopt_refuse_and_conflict),
        cmocka_unit_test(prune_deletes_only_what_is_ours),
        cmocka_unit_test(aas_table_agrees_with_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
