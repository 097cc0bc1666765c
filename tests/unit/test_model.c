/* Unit tests for reconcile/model.c, model_schema.c and loader.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "model.h"
#include "tt_arena.h"

/* Loads `text` as one file and runs the whole-set checks; returns the diagnostics as text. */
struct loaded {
    tt_manifest_set set;
    tt_diags *diags;
    tt_buf out;
};

static void load(struct loaded *l, const char *text)
{
    tt_manifest_set_init(&l->set);
    tt_buf_init(&l->out);
    l->diags = tt_diags_create();
    assert_non_null(l->diags);
    assert_int_equal(tt_loader_add_bytes(&l->set, text, strlen(text), "t.yaml", l->diags), TT_OK);
    tt_loader_finish(&l->set, l->diags);
    tt_diags_sort(l->diags);
    tt_diags_format(l->diags, &l->out);
}

static void unload(struct loaded *l)
{
    tt_manifest_set_cleanup(&l->set);
    tt_diags_destroy(l->diags);
    tt_buf_cleanup(&l->out);
}

static tt_resource *find(struct loaded *l, const char *key)
{
    for (size_t i = 0; i < l->set.len; i++) {
        if (strcmp(l->set.items[i]->key, key) == 0)
            return l->set.items[i];
    }
    fail_msg("no resource %s", key);
    /* fail_msg leaves the test by longjmp but is not declared noreturn; abort() says so to the
     * compiler, whose -Wnull-dereference (at -O3) would otherwise see a NULL return. */
    abort();
}

static void expect_diag(struct loaded *l, const char *line)
{
    if (strstr(tt_buf_str(&l->out), line) == NULL)
        fail_msg("expected diagnostic '%s' in:\n%s", line, tt_buf_str(&l->out));
}

#define HEAD(kind, name) \
    "apiVersion: trimtab.dev/v1alpha1\nkind: " kind "\nmetadata:\n  name: " name "\n"

static void scaling_policy_with_defaults(void **state)
{
    struct loaded l;
    const tt_scaling_policy_spec *s;
    tt_resource *r;
    (void)state;
    load(&l, HEAD("ScalingPolicy", "web") "spec:\n"
                                          "  target: {ecs: {cluster: prod, service: web}}\n"
                                          "  minCapacity: 2\n"
                                          "  maxCapacity: 10\n"
                                          "  targetTracking:\n"
                                          "    - {name: cpu, predefinedMetric: "
                                          "ECSServiceAverageCPUUtilization, targetValue: 70, "
                                          "scaleInCooldown: 5m}\n"
                                          "  scheduled:\n"
                                          "    - {name: up, schedule: '0 8 * * MON-FRI', "
                                          "timezone: Europe/Berlin, minCapacity: 4}\n");
    assert_string_equal(tt_buf_str(&l.out), "");
    r = find(&l, "ScalingPolicy/default/web");
    assert_false(r->invalid);
    assert_string_equal(r->namespace_, "default");
    assert_string_equal(r->file, "t.yaml");
    assert_int_equal(r->line, 1);
    s = r->spec.sp;
    assert_string_equal(s->common.deletion_policy, "Delete");
    assert_string_equal(s->common.mode, "Manage");
    assert_false(s->common.suspend.v);
    assert_int_equal(tt_target_kind_of(s->target), TT_TARGET_ECS);
    assert_string_equal(s->target->ecs->service, "web");
    assert_int_equal(s->min_capacity.v, 2);
    assert_int_equal(s->ntarget_tracking, 1);
    assert_true(s->target_tracking[0].target_value.v == 70);
    assert_int_equal(s->target_tracking[0].scale_in_cooldown.v, 300);
    assert_false(s->target_tracking[0].scale_out_cooldown.set);
    assert_false(s->target_tracking[0].disable_scale_in.v);
    assert_string_equal(s->scheduled[0].aws_schedule, "cron(0 8 ? * MON-FRI *)");
    assert_string_equal(s->scheduled[0].timezone, "Europe/Berlin");
    /* The resource's arena is exactly its size: one block, nothing of a default block left. */
    assert_int_equal(tt_arena_size(r->arena), tt_arena_used(r->arena));
    assert_true(tt_arena_size(r->arena) < 1024);
    unload(&l);
}

static void alarm_defaults_and_statistic(void **state)
{
    struct loaded l;
    const tt_alarm_spec *a;
    (void)state;
    load(&l, HEAD("Alarm", "cpu") "  namespace: shop\n"
                                  "spec:\n"
                                  "  target: {ecs: {cluster: prod, service: web}}\n"
                                  "  metricName: CPUUtilization\n"
                                  "  threshold: 80\n"
                                  "  comparison: GreaterThanThreshold\n");
    assert_string_equal(tt_buf_str(&l.out), "");
    a = find(&l, "Alarm/shop/cpu")->spec.alarm;
    assert_string_equal(a->statistic, "Average");
    assert_null(a->extended_statistic);
    assert_int_equal(a->period.v, 60);
    assert_int_equal(a->evaluation_periods.v, 1);
    assert_string_equal(a->treat_missing_data, "missing");
    assert_true(a->actions_enabled.v);
    unload(&l);
}

static void budget_and_rotation(void **state)
{
    struct loaded l;
    const tt_budget_spec *b;
    const tt_secret_rotation_spec *s;
    (void)state;
    load(&l, HEAD("Budget",
                  "monthly") "spec:\n"
                             "  limit: {amount: 60}\n"
                             "  notifications:\n"
                             "    - type: ACTUAL\n"
                             "      threshold: 80\n"
                             "      subscribers: [{email: a@example.com}]\n"
                             "---\n" HEAD(
                                 "SecretRotation",
                                 "db") "spec:\n"
                                       "  secretId: prod/db\n"
                                       "  schedule: {expression: rate(10 days), duration: 3h}\n"
                                       "  replicaRegions: [eu-west-1]\n");
    assert_string_equal(tt_buf_str(&l.out), "");
    b = find(&l, "Budget/default/monthly")->spec.budget;
    assert_string_equal(b->limit->unit, "USD");
    assert_string_equal(b->time_unit, "MONTHLY");
    assert_string_equal(b->budget_type, "COST");
    assert_string_equal(b->notifications[0].comparison, "GREATER_THAN");
    assert_string_equal(b->notifications[0].threshold_type, "PERCENTAGE");
    s = find(&l, "SecretRotation/default/db")->spec.rotation;
    assert_int_equal(s->schedule->duration.v, 3 * 3600);
    assert_false(s->rotate_immediately.v);
    assert_int_equal(s->nreplica_regions, 1);
    unload(&l);
}

static void every_problem_is_reported_with_line_and_path(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, HEAD("ScalingPolicy", "web") "spec:\n" /* 5 */
                                          "  target: {ecs: {cluster: prod, service: web}}\n"
                                          "  minCapcity: 2\n"   /* 7 */
                                          "  maxCapacity: 1\n"  /* 8 */
                                          "  targetTracking:\n" /* 9 */
                                          "    - name: cpu\n"   /* 10 */
                                          "      predefinedMetric: RDSReaderAverageCPUUtilization\n"
                                          "      targetValue: 70\n" /* 12 */
                                          "  suspend: yes\n");      /* 13 */
    expect_diag(&l, "t.yaml:7: spec.minCapcity: unknown field; did you mean 'minCapacity'?\n");
    expect_diag(&l, "t.yaml:13: spec.suspend: expected true or false, got the string 'yes'\n");
    expect_diag(&l, "t.yaml:5: spec.minCapacity: is required for this target\n");
    expect_diag(&l, "t.yaml:11: spec.targetTracking[0].predefinedMetric: "
                    "RDSReaderAverageCPUUtilization does not apply to this target\n");
    assert_true(find(&l, "ScalingPolicy/default/web")->invalid);
    unload(&l);
}

static void invalid_resource_keeps_identity_others_valid(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, HEAD("ScalingPolicy",
                  "bad") "spec:\n  target: {ecs: {cluster: prod}}\n"
                         "---\n" HEAD("ScalingPolicy",
                                      "good") "spec:\n"
                                              "  target: {ecs: {cluster: p, service: s}}\n"
                                              "  minCapacity: 1\n  maxCapacity: 2\n");
    assert_int_equal(l.set.len, 2);
    assert_true(find(&l, "ScalingPolicy/default/bad")->invalid);
    assert_false(find(&l, "ScalingPolicy/default/good")->invalid);
    assert_int_equal(tt_manifest_set_valid(&l.set), 1);
    expect_diag(&l, "t.yaml:6: spec.target.ecs.service: is required\n");
    assert_string_equal(find(&l, "ScalingPolicy/default/bad")->problem,
                        "t.yaml:6: spec.target.ecs.service: is required");
    assert_null(find(&l, "ScalingPolicy/default/good")->problem);
    /* Built twice for an exact arena, but reported once. */
    assert_int_equal(tt_diags_count(l.diags), 1);
    unload(&l);
}

static void other_kinds_are_ignored_unknown_ours_rejected(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n"
             "---\napiVersion: monitoring.example.com/v1\nkind: Alarm\nmetadata: {name: y}\n"
             "---\nreplicaCount: 3\nimage: {tag: x}\n"
             "---\napiVersion: trimtab.dev/v1alpha1\nkind: Alram\nmetadata: {name: z}\n"
             "---\napiVersion: trimtab.dev/v1beta1\nkind: Budget\nmetadata: {name: b}\n"
             "spec: {limit: {amount: 5}}\n");
    assert_int_equal(l.set.ignored, 3);
    expect_diag(&l, "t.yaml:14: kind: unknown kind 'Alram' in trimtab.dev; did you mean 'Alarm'?");
    expect_diag(&l, "t.yaml:17: apiVersion: 'trimtab.dev/v1beta1' is not served");
    assert_true(find(&l, "Budget/default/b")->invalid);
    unload(&l);
}

static void kind_list_is_expanded(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, "apiVersion: v1\nkind: List\nitems:\n"
             "  - apiVersion: trimtab.dev/v1alpha1\n"
             "    kind: Budget\n"
             "    metadata: {name: a}\n"
             "    spec: {limit: {amount: 5}}\n"
             "  - apiVersion: trimtab.dev/v1alpha1\n"
             "    kind: Budget\n"
             "    metadata: {name: b}\n"
             "    spec: {limit: {amount: -5}}\n");
    assert_int_equal(l.set.len, 2);
    assert_false(find(&l, "Budget/default/a")->invalid);
    assert_int_equal(find(&l, "Budget/default/b")->line, 8);
    expect_diag(&l, "t.yaml:11: items[1].spec.limit.amount: must be greater than 0 (is -5)\n");
    unload(&l);
}

static void references_between_resources(void **state)
{
    struct loaded l;
    (void)state;
    load(&l,
         HEAD("ScalingPolicy",
              "worker") "spec:\n"
                        "  target: {ecs: {cluster: p, service: w}}\n"
                        "  minCapacity: 1\n  maxCapacity: 4\n"
                        "  targetTracking:\n"
                        "    - {name: cpu, predefinedMetric: "
                        "ECSServiceAverageCPUUtilization, targetValue: 50}\n"
                        "  stepScaling:\n"
                        "    - name: up\n"
                        "      adjustmentType: ChangeInCapacity\n"
                        "      steps: [{lower: 0, adjustment: 1}]\n"
                        "  budgetGuard: [{budget: nope, abovePercent: 90, "
                        "maxCapacity: 2}]\n"
                        "---\n" HEAD(
                            "Alarm",
                            "good") "spec:\n"
                                    "  target: {ecs: {cluster: p, service: w}}\n"
                                    "  metricName: CPUUtilization\n"
                                    "  threshold: 1\n  comparison: GreaterThanThreshold\n"
                                    "  actions: {alarm: [{scalingPolicy: {name: worker, "
                                    "policy: up}}]}\n"
                                    "---\n" HEAD(
                                        "Alarm",
                                        "tracking") "spec:\n"
                                                    "  target: {ecs: {cluster: p, service: w}}\n"
                                                    "  metricName: CPUUtilization\n"
                                                    "  threshold: 1\n"
                                                    "  comparison: GreaterThanThreshold\n"
                                                    "  actions:\n"
                                                    "    alarm:\n"
                                                    "      - scalingPolicy: {name: worker, policy: "
                                                    "cpu}\n"
                                                    "      - scalingPolicy: {name: worker, policy: "
                                                    "down}\n"
                                                    "---\n" HEAD("Alarm",
                                                                 "both") "spec:\n"
                                                                         "  composite: {rule: "
                                                                         "'ALARM(good) AND "
                                                                         "(OK(tracking) OR NOT "
                                                                         "ALARM(\"missing\"))'}\n");
    assert_false(find(&l, "Alarm/default/good")->invalid);
    assert_true(find(&l, "Alarm/default/tracking")->invalid);
    assert_false(find(&l, "ScalingPolicy/default/worker")->invalid);
    assert_false(find(&l, "Alarm/default/both")->invalid);
    expect_diag(&l, "spec.actions.alarm[0].scalingPolicy: 'cpu' in ScalingPolicy 'worker' is a "
                    "target tracking policy");
    expect_diag(&l, "spec.actions.alarm[1].scalingPolicy: ScalingPolicy 'worker' has no step "
                    "scaling policy 'down' (it has: 'up')");
    expect_diag(&l, "t.yaml:15: spec.budgetGuard[0].budget: warning: Budget 'nope' is not among");
    expect_diag(&l, "spec.composite.rule: warning: Alarm 'missing' is not among");
    unload(&l);
}

/* Found by fuzz_manifest: an alarm naming a ScalingPolicy whose step policy has no name. */
static void reference_to_an_invalid_resource(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, HEAD("ScalingPolicy",
                  "worker") "spec:\n"
                            "  target: {ecs: {cluster: p, service: w}}\n"
                            "  minCapacity: 1\n  maxCapacity: 4\n"
                            "  stepScaling:\n"
                            "    - jame: up\n"
                            "      adjustmentType: ChangeInCapacity\n"
                            "      steps: [{lower: 0, adjustment: 1}]\n"
                            "---\n" HEAD("Alarm",
                                         "a") "spec:\n"
                                              "  target: {ecs: {cluster: p, service: w}}\n"
                                              "  metricName: CPUUtilization\n"
                                              "  threshold: 1\n  comparison: GreaterThanThreshold\n"
                                              "  actions: {alarm: [{scalingPolicy: {name: worker, "
                                              "policy: up}}]}\n");
    assert_true(find(&l, "ScalingPolicy/default/worker")->invalid);
    assert_false(find(&l, "Alarm/default/a")->invalid);
    expect_diag(&l, "t.yaml:10: spec.stepScaling[0].jame: unknown field; did you mean 'name'?");
    unload(&l);
}

static void composite_rules_parse(void **state)
{
    static const struct {
        const char *rule;
        int ok;
    } cases[] = {
        {"ALARM(a)", 1},
        {"ALARM(a) AND NOT OK(b) OR INSUFFICIENT_DATA(\"c d\")", 1},
        {"(ALARM(a) OR ALARM(b)) AND TRUE", 1},
        {"ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:x)", 1},
        {"ALARM(a) AND", 0},
        {"ALARM()", 0},
        {"ALARM(a", 0},
        {"alarm(a)", 0},
        {"ALARM(a) XOR ALARM(b)", 0},
        {"((((ALARM(a)))", 0},
        {"", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tt_error err;
        tt_code rc = tt_composite_rule_names(cases[i].rule, NULL, NULL, &err);
        if ((rc == TT_OK) != cases[i].ok)
            fail_msg("rule '%s': got %s", cases[i].rule, rc == TT_OK ? "ok" : err.message);
    }
}

static void spec_hash_tracks_spec_only(void **state)
{
    const char *a = HEAD("Budget", "b") "spec: {limit: {amount: 5}}\n";
    const char *b = HEAD("Budget", "b") "  labels: {x: y}\nspec: {limit: {amount: 5}}\n";
    const char *c = HEAD("Budget", "b") "spec: {limit: {amount: 6}}\n";
    const char *d = HEAD("Budget", "b") "spec:\n  limit:\n    amount: 5\n";
    struct loaded la, lb, lc, ld;
    (void)state;
    load(&la, a);
    load(&lb, b);
    load(&lc, c);
    load(&ld, d);
    assert_true(la.set.items[0]->spec_hash == lb.set.items[0]->spec_hash);
    assert_true(la.set.items[0]->spec_hash == ld.set.items[0]->spec_hash);
    assert_true(la.set.items[0]->spec_hash != lc.set.items[0]->spec_hash);
    unload(&la);
    unload(&lb);
    unload(&lc);
    unload(&ld);
}

static void annotations_and_kube_metadata(void **state)
{
    struct loaded l;
    tt_resource *r;
    (void)state;
    load(&l, HEAD("SecretRotation", "db") "  namespace: prod\n"
                                          "  generation: 4\n"
                                          "  uid: 0b7e\n"
                                          "  resourceVersion: '991'\n"
                                          "  finalizers: [trimtab.dev/cleanup]\n"
                                          "  deletionTimestamp: '2026-01-01T00:00:00Z'\n"
                                          "  managedFields: [{manager: kubectl}]\n"
                                          "  annotations:\n"
                                          "    trimtab.dev/rotate-requested-at: '1'\n"
                                          "    trimtab.dev/reconcile-requested-at: now\n"
                                          "spec:\n"
                                          "  secretId: s\n"
                                          "  schedule: {automaticallyAfterDays: 30}\n");
    assert_string_equal(tt_buf_str(&l.out), "");
    r = find(&l, "SecretRotation/prod/db");
    assert_int_equal(r->generation, 4);
    assert_string_equal(r->uid, "0b7e");
    assert_string_equal(r->resource_version, "991");
    assert_true(r->has_finalizer);
    assert_true(r->deleting);
    assert_string_equal(r->rotate_requested_at, "1");
    assert_string_equal(r->reconcile_requested_at, "now");
    unload(&l);
}

static void duplicate_resources_are_both_invalid(void **state)
{
    struct loaded l;
    (void)state;
    load(&l, HEAD("Budget", "b") "spec: {limit: {amount: 5}}\n---\n" HEAD(
                 "Budget", "b") "spec: {limit: {amount: 6}}\n");
    assert_int_equal(l.set.len, 2);
    assert_true(l.set.items[0]->invalid && l.set.items[1]->invalid);
    expect_diag(&l, "t.yaml:6: Budget/default/b is also defined at t.yaml:1\n");
    expect_diag(&l, "t.yaml:1: Budget/default/b is also defined at t.yaml:6\n");
    assert_string_equal(l.set.items[0]->problem,
                        "t.yaml:1: Budget/default/b is also defined at t.yaml:6");
    unload(&l);
}

static void yaml_problems_reach_the_resource(void **state)
{
    struct loaded l;
    tt_resource *r;
    (void)state;
    load(&l, HEAD("Budget",
                  "a") "spec: {limit: {amount: 5}}\n"
                       "---\n" HEAD("Budget",
                                    "b") "spec:\n  limit: {amount: 5}\n  limit: {amount: 6}\n");
    assert_false(find(&l, "Budget/default/a")->invalid);
    r = find(&l, "Budget/default/b");
    assert_true(r->invalid);
    assert_string_equal(r->problem, "t.yaml:13: spec: duplicate key 'limit'");
    unload(&l);
}

/* A document with both a parser error and a semantic one names each problem once (the
 * parser's errors are noted over the document's whole range, which holds the semantic ones). */
static void each_problem_is_noted_once(void **state)
{
    struct loaded l;
    tt_resource *r;
    (void)state;
    load(&l, HEAD("ScalingPolicy", "b") "spec:\n  target: {ecs: {cluster: c, service: s}}\n"
                                        "  minCapacity: 5\n  minCapacity: 6\n  maxCapacity: 2\n");
    r = find(&l, "ScalingPolicy/default/b");
    assert_true(r->invalid);
    assert_string_equal(r->problem, "t.yaml:7: spec.minCapacity: must not exceed maxCapacity (5 > "
                                    "2); t.yaml:8: spec: duplicate key 'minCapacity'");
    unload(&l);
}

/* The effective spec (tt_schema_to_json) is valid input that yields the same spec again. */
static void effective_spec_round_trips(void **state)
{
    char path[4096];
    tt_manifest_set set;
    tt_diags *d = tt_diags_create();
    (void)state;
    snprintf(path, sizeof(path), "%s/examples", getenv("TT_SOURCE_DIR"));
    tt_manifest_set_init(&set);
    assert_int_equal(tt_loader_add_path(&set, path, d), TT_OK);
    assert_int_equal(set.len, 17);
    for (size_t i = 0; i < set.len; i++) {
        const tt_resource *r = set.items[i];
        const tt_schema *s = tt_model_spec_schema(r->kind);
        json_t *spec = tt_schema_to_json(s, r->spec.any), *obj, *again;
        tt_resource *r2 = NULL;
        tt_doc_src src = {0};
        obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", TT_API_VERSION, "kind",
                        tt_kind_name(r->kind), "metadata", "name", r->name, "namespace",
                        r->namespace_, "spec", spec);
        if (tt_model_from_json(obj, &src, d, &r2) != TT_OK) {
            tt_buf b;
            tt_buf_init(&b);
            tt_diags_format(d, &b);
            fail_msg("%s: effective spec rejected: %s", r->key, tt_buf_str(&b));
        }
        again = tt_schema_to_json(s, r2->spec.any);
        if (!json_equal(spec, again))
            fail_msg("%s: effective spec changed on the way round", r->key);
        json_decref(again);
        json_decref(obj);
        json_decref(spec);
        tt_resource_destroy(r2);
    }
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(d);
}

static void directories_are_walked_in_order(void **state)
{
    char dir[] = "/tmp/tt-model-XXXXXX";
    char path[256];
    tt_manifest_set set;
    tt_diags *diags = tt_diags_create();
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sub", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.git", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.git/hidden.yaml", dir);
    f = fopen(path, "w");
    fputs(HEAD("Budget", "hidden") "spec: {limit: {amount: 5}}\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/sub/b.yml", dir);
    f = fopen(path, "w");
    fputs(HEAD("Budget", "b") "spec: {limit: {amount: 5}}\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/a.json", dir);
    f = fopen(path, "w");
    fputs("{\"apiVersion\":\"trimtab.dev/v1alpha1\",\"kind\":\"Budget\",\"metadata\":{\"name\":"
          "\"a\"},\"spec\":{\"limit\":{\"amount\":5}}}",
          f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    f = fopen(path, "w");
    fputs("not: a manifest\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/loop", dir);
    assert_int_equal(symlink(dir, path), 0);

    tt_manifest_set_init(&set);
    assert_int_equal(tt_loader_add_path(&set, dir, diags), TT_OK);
    assert_int_equal(tt_diags_count(diags), 0);
    assert_int_equal(set.len, 2);
    assert_string_equal(set.items[0]->name, "a");
    assert_string_equal(set.items[1]->name, "b");
    assert_int_equal(set.nfiles, 2);
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(diags);
}

/* The resource keeps its identity and annotations, not the rest of the metadata: labels and
 * finalizers cost its arena nothing, and its name is the tail of its key. */
static void metadata_kept_is_identity_and_annotations(void **state)
{
    struct loaded plain, labelled;
    tt_resource *a, *b;
    (void)state;
    load(&plain, HEAD("ScalingPolicy", "web") "  namespace: shop\n  annotations:\n"
                                              "    trimtab.dev/reconcile-requested-at: \"1\"\n"
                                              "spec:\n"
                                              "  target: {ecs: {cluster: c, service: web}}\n"
                                              "  minCapacity: 1\n  maxCapacity: 2\n");
    load(&labelled, HEAD("ScalingPolicy", "web") "  namespace: shop\n  annotations:\n"
                                                 "    trimtab.dev/reconcile-requested-at: \"1\"\n"
                                                 "  labels: {team: payments, tier: frontend, "
                                                 "app.kubernetes.io/name: web}\n"
                                                 "  finalizers: [example.com/keep]\n"
                                                 "spec:\n"
                                                 "  target: {ecs: {cluster: c, service: web}}\n"
                                                 "  minCapacity: 1\n  maxCapacity: 2\n");
    a = find(&plain, "ScalingPolicy/shop/web");
    b = find(&labelled, "ScalingPolicy/shop/web");
    assert_false(a->invalid);
    assert_false(b->invalid);
    assert_string_equal(b->name, "web");
    assert_string_equal(b->namespace_, "shop");
    assert_ptr_equal(b->name, b->key + strlen(b->key) - strlen("web"));
    assert_int_equal(b->nannotations, 1);
    assert_string_equal(b->annotations[0].key, "trimtab.dev/reconcile-requested-at");
    assert_string_equal(b->reconcile_requested_at, "1");
    assert_ptr_equal(b->reconcile_requested_at, b->annotations[0].value);
    assert_false(b->has_finalizer);
    assert_int_equal(tt_arena_size(b->arena), tt_arena_size(a->arena));
    unload(&plain);
    unload(&labelled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scaling_policy_with_defaults),
        cmocka_unit_test(metadata_kept_is_identity_and_annotations),
        cmocka_unit_test(alarm_defaults_and_statistic),
        cmocka_unit_test(budget_and_rotation),
        cmocka_unit_test(every_problem_is_reported_with_line_and_path),
        cmocka_unit_test(invalid_resource_keeps_identity_others_valid),
        cmocka_unit_test(other_kinds_are_ignored_unknown_ours_rejected),
        cmocka_unit_test(kind_list_is_expanded),
        cmocka_unit_test(references_between_resources),
        cmocka_unit_test(reference_to_an_invalid_resource),
        cmocka_unit_test(composite_rules_parse),
        cmocka_unit_test(spec_hash_tracks_spec_only),
        cmocka_unit_test(annotations_and_kube_metadata),
        cmocka_unit_test(duplicate_resources_are_both_invalid),
        cmocka_unit_test(yaml_problems_reach_the_resource),
        cmocka_unit_test(each_problem_is_noted_once),
        cmocka_unit_test(effective_spec_round_trips),
        cmocka_unit_test(directories_are_walked_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
