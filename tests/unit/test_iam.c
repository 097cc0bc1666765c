/*
 * The IAM policy generator (providers/iam.c) and the providers' IAM declarations:
 *   - only what the resources present need: ECS ScalingPolicies alone need no budgets:*,
 *     cloudwatch:* or secretsmanager:*;
 *   - ARNs filled from the manifests (region, account, partition, target names);
 *   - deterministic: the same resources in another order give the same bytes;
 *   - sts:AssumeRole for each spec.roleArn, whose resources go to that role's policy
 *     (--role); invalid resources skipped;
 *   - the Terraform form carries every statement;
 *   - the cross-check: every AWS operation a provider's source names is authorised by an action
 *     it declares, and every operation it declares is one it names — so a provider that starts
 *     calling a new API without declaring it fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "appautoscaling.h"
#include "iam.h"
#include "loader.h"
#include "providers.h"
#include "tt_str.h"

#define ECS_WEB                                                                                \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: web, namespace: " \
    "shop}\nspec:\n  target: {ecs: {cluster: prod, service: web}}\n  minCapacity: 1\n  "       \
    "maxCapacity: 4\n"
#define ECS_API_ROLE                                                                           \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: api, namespace: " \
    "team}\nspec:\n  region: us-west-2\n  roleArn: arn:aws:iam::210987654321:role/scaler\n  "  \
    "target: {ecs: {cluster: prod, service: api}}\n  minCapacity: 1\n  maxCapacity: 4\n"
#define BUDGET                                                                              \
    "apiVersion: trimtab.dev/v1alpha1\nkind: Budget\nmetadata: {name: monthly, namespace: " \
    "shop}\nspec:\n  limit: {amount: 10, unit: USD}\n  timeUnit: MONTHLY\n"
#define INVALID                                                                               \
    "apiVersion: trimtab.dev/v1alpha1\nkind: Alarm\nmetadata: {name: bad, namespace: shop}\n" \
    "spec:\n  threshold: lots\n"

static const tt_iam_scope scope = {"aws", "eu-central-1", "123456789012", NULL};
static const tt_iam_scope role_scope = {"aws", "eu-central-1", "210987654321",
                                        "arn:aws:iam::210987654321:role/scaler"};

/* The policy of the manifests in `yaml` (one file) under `sc`; the caller decrefs. */
static json_t *policy_in(const char *yaml, const tt_iam_scope *sc)
{
    tt_manifest_set set;
    tt_diags *d = tt_diags_create();
    json_t *policy = NULL;
    tt_error err;

    tt_manifest_set_init(&set);
    assert_int_equal(tt_loader_add_bytes(&set, yaml, strlen(yaml), "t.yaml", d), TT_OK);
    tt_loader_finish(&set, d);
    assert_int_equal(tt_iam_policy(set.items, set.len, sc, &policy, &err), TT_OK);
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(d);
    return policy;
}

static json_t *policy_of(const char *yaml)
{
    return policy_in(yaml, &scope);
}

/* Every action of the policy, "\n"-joined in statement order. */
static char *actions(const json_t *policy)
{
    tt_buf b;
    const json_t *st, *a;
    size_t i, k;

    tt_buf_init(&b);
    json_array_foreach(json_object_get(policy, "Statement"), i, st)
    {
        json_array_foreach(json_object_get(st, "Action"), k, a)
            tt_buf_printf(&b, "%s\n", json_string_value(a));
    }
    tt_buf_reserve(&b, 1);
    return tt_buf_steal(&b);
}

/* The statement granting `action`, or NULL. */
static const json_t *statement_of(const json_t *policy, const char *action)
{
    const json_t *st, *a;
    size_t i, k;

    json_array_foreach(json_object_get(policy, "Statement"), i, st)
    {
        json_array_foreach(json_object_get(st, "Action"), k, a)
        {
            if (strcmp(json_string_value(a), action) == 0)
                return st;
        }
    }
    return NULL;
}

static void only_what_ecs_needs(void **state)
{
    json_t *p = policy_of(ECS_WEB);
    char *a = actions(p);
    const json_t *st;

    (void)state;
    assert_string_equal(a, "application-autoscaling:DescribeScalableTargets\n"
                           "application-autoscaling:DescribeScalingActivities\n"
                           "application-autoscaling:DescribeScalingPolicies\n"
                           "application-autoscaling:DescribeScheduledActions\n"
                           "application-autoscaling:ListTagsForResource\n"
                           "application-autoscaling:RegisterScalableTarget\n"
                           "application-autoscaling:DeleteScalingPolicy\n"
                           "application-autoscaling:DeleteScheduledAction\n"
                           "application-autoscaling:DeregisterScalableTarget\n"
                           "application-autoscaling:PutScalingPolicy\n"
                           "application-autoscaling:PutScheduledAction\n"
                           "application-autoscaling:TagResource\n"
                           "ecs:DescribeServices\n");
    st = statement_of(p, "ecs:DescribeServices");
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Resource"), 0)),
                        "arn:aws:ecs:eu-central-1:123456789012:service/prod/web");
    st = statement_of(p, "application-autoscaling:PutScalingPolicy");
    assert_string_equal(json_string_value(json_object_get(st, "Sid")),
                        "ApplicationAutoscalingScopedOwned");
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(json_object_get(st, "Condition"), "StringLike"),
                            "aws:ResourceTag/trimtab.dev/owner"),
            0)),
        "shop/*");
    assert_string_equal(
        json_string_value(json_object_get(
            statement_of(p, "application-autoscaling:DescribeScalableTargets"), "Resource")),
        "*");
    free(a);
    json_decref(p);
}

/* A predictive policy adds the forecast read, on "*". */
static void predictive_reads_forecasts(void **state)
{
    json_t *plain = policy_of(ECS_WEB);
    json_t *p = policy_of(ECS_WEB "  predictive:\n    - name: daily\n"
                                  "      metricPair: ECSServiceCPUUtilization\n"
                                  "      targetValue: 50\n");

    (void)state;
    assert_null(statement_of(plain, "application-autoscaling:GetPredictiveScalingForecast"));
    assert_string_equal(
        json_string_value(json_object_get(
            statement_of(p, "application-autoscaling:GetPredictiveScalingForecast"), "Resource")),
        "*");
    json_decref(plain);
    json_decref(p);
}

static void deterministic_and_grouped(void **state)
{
    json_t *one = policy_of(ECS_WEB "---\n" BUDGET "---\n" ECS_API_ROLE);
    json_t *two = policy_of(ECS_API_ROLE "---\n" ECS_WEB "---\n" BUDGET);
    char *a = json_dumps(one, JSON_INDENT(2)), *b = json_dumps(two, JSON_INDENT(2));
    const json_t *st;

    (void)state;
    assert_string_equal(a, b);
    /* The operator assumes the role of `api` and manages `web` itself. */
    st = statement_of(one, "ecs:DescribeServices");
    assert_int_equal(json_array_size(json_object_get(st, "Resource")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Resource"), 0)),
                        "arn:aws:ecs:eu-central-1:123456789012:service/prod/web");
    st = statement_of(one, "sts:AssumeRole");
    assert_non_null(st);
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Resource"), 0)),
                        "arn:aws:iam::210987654321:role/scaler");
    st = statement_of(one, "budgets:ModifyBudget");
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Resource"), 0)),
                        "arn:aws:budgets::123456789012:budget/trimtab-shop-*");
    /* Statements sorted by service: application-autoscaling, budgets, ecs, sts. */
    assert_true(strstr(a, "\"budgets:") < strstr(a, "\"ecs:"));
    assert_true(strstr(a, "\"ecs:") < strstr(a, "\"sts:"));
    free(a);
    free(b);
    json_decref(one);
    json_decref(two);
}

/* The role's own policy: only its resources, in its account and their region. */
static void a_roles_policy(void **state)
{
    json_t *p = policy_in(ECS_WEB "---\n" BUDGET "---\n" ECS_API_ROLE, &role_scope);
    const json_t *st = statement_of(p, "ecs:DescribeServices");

    (void)state;
    assert_int_equal(json_array_size(json_object_get(st, "Resource")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "Resource"), 0)),
                        "arn:aws:ecs:us-west-2:210987654321:service/prod/api");
    assert_null(statement_of(p, "sts:AssumeRole"));
    assert_null(statement_of(p, "budgets:ViewBudget"));
    json_decref(p);
}

static void invalid_resources_need_nothing(void **state)
{
    json_t *p = policy_of(INVALID);

    (void)state;
    assert_int_equal(json_array_size(json_object_get(p, "Statement")), 0);
    json_decref(p);
}

static void terraform_has_every_statement(void **state)
{
    static const char head[] = "data \"aws_iam_policy_document\" \"trimtab\" {\n";
    json_t *p = policy_of(ECS_WEB "---\n" BUDGET);
    tt_buf out;
    size_t n = 0;

    (void)state;
    tt_buf_init(&out);
    assert_int_equal(tt_iam_terraform(p, "trimtab", &out), TT_OK);
    assert_true(strncmp(tt_buf_str(&out), head, strlen(head)) == 0);
    for (const char *s = tt_buf_str(&out); (s = strstr(s, "  statement {")) != NULL; s++)
        n++;
    assert_int_equal(n, json_array_size(json_object_get(p, "Statement")));
    assert_non_null(strstr(tt_buf_str(&out), "variable = \"aws:ResourceTag/trimtab.dev/owner\""));
    tt_buf_cleanup(&out);
    json_decref(p);
}

/* ---- the cross-check against the sources ------------------------------------------------ */

/* The file's contents (caller frees). */
static char *slurp(const char *rel)
{
    char path[1024];
    FILE *f;
    char *data;
    long len;

    snprintf(path, sizeof(path), "%s/%s", getenv("TT_SOURCE_DIR"), rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)len + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    data[len] = '\0';
    fclose(f);
    return data;
}

/* Every operation name of the shipped service models: {"DescribeServices": true, …}. */
static json_t *model_operations(void)
{
    static const char *const models[] = {"application-autoscaling",
                                         "budgets",
                                         "cloudfront",
                                         "cloudwatch",
                                         "ecs",
                                         "elasticache",
                                         "lambda",
                                         "rds",
                                         "secretsmanager",
                                         "sts"};
    json_t *ops = json_object();

    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        char rel[200], *text;
        json_t *m;
        const char *k;
        json_t *v;
        snprintf(rel, sizeof(rel), "providers/aws/models/%s.json", models[i]);
        text = slurp(rel);
        m = json_loads(text, 0, NULL);
        assert_non_null(m);
        json_object_foreach(json_object_get(m, "operations"), k, v)
            json_object_set_new(ops, k, json_true());
        json_decref(m);
        free(text);
    }
    return ops;
}

/* The operations the source names as string literals ("DescribeServices"). */
static json_t *named_operations(const char *rel, const json_t *ops)
{
    char *text = slurp(rel);
    json_t *found = json_object();

    for (const char *p = strchr(text, '"'); p != NULL; p = strchr(p, '"')) {
        const char *end = strchr(p + 1, '"');
        char word[80];
        if (end == NULL)
            break;
        if ((size_t)(end - p - 1) < sizeof(word)) {
            memcpy(word, p + 1, (size_t)(end - p - 1));
            word[end - p - 1] = '\0';
            if (json_object_get(ops, word) != NULL)
                json_object_set_new(found, word, json_true());
        }
        p = end + 1;
    }
    free(text);
    return found;
}

/* Whether `needs` (its own table, not the shared one) declares `op` among its calls. */
static bool declares(const tt_iam_needs *needs, const char *op)
{
    for (size_t i = 0; i < needs->n; i++) {
        const char *c = needs->actions[i].calls;
        size_t len = strlen(op);
        for (const char *s = strstr(c, op); s != NULL; s = strstr(s + 1, op)) {
            if ((s == c || s[-1] == ' ') && (s[len] == '\0' || s[len] == ' '))
                return true;
        }
    }
    return false;
}

/* Both directions for one source file and its table. */
static void cross_check(const char *rel, const tt_iam_needs *needs, const json_t *ops,
                        const char *exempt)
{
    json_t *named = named_operations(rel, ops);
    const char *op;
    json_t *v;

    json_object_foreach(named, op, v)
    {
        if (exempt != NULL && strcmp(op, exempt) == 0)
            continue;
        if (!declares(needs, op))
            fail_msg("%s calls %s, which its IAM table (tt_iam_needs) does not declare", rel, op);
    }
    for (size_t i = 0; i < needs->n; i++) {
        const char *c = needs->actions[i].calls;
        while (*c != '\0') {
            size_t len = strcspn(c, " ");
            char word[80];
            snprintf(word, sizeof(word), "%.*s", (int)len, c);
            if (json_object_get(named, word) == NULL)
                fail_msg("%s declares %s for %s but never calls it", rel, word,
                         needs->actions[i].action);
            c += len + (c[len] == ' ');
        }
    }
    json_decref(named);
}

static void declarations_match_the_calls(void **state)
{
    json_t *ops = model_operations();
    char rel[200];

    (void)state;
    for (size_t i = 0; tt_providers[i] != NULL; i++) {
        const tt_provider *p = tt_providers[i];
        assert_non_null(p->iam);
        snprintf(rel, sizeof(rel), "providers/%s.c", p->name);
        /* DeregisterScalableTarget is named in lambda.c to find it in a plan, not called. */
        cross_check(rel, p->iam, ops,
                    strcmp(p->name, "lambda") == 0 ? "DeregisterScalableTarget" : NULL);
        if (p->iam->also != NULL)
            assert_ptr_equal(p->iam->also, &tt_aas_iam);
    }
    cross_check("providers/appautoscaling.c", &tt_aas_iam, ops, NULL);
    /* sts.c asks GetCallerIdentity, which AWS authorises without any permission. */
    {
        json_t *sts = named_operations("providers/sts.c", ops);
        assert_int_equal(json_object_size(sts), 1);
        assert_non_null(json_object_get(sts, "GetCallerIdentity"));
        json_decref(sts);
    }
    json_decref(ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_what_ecs_needs),
        cmocka_unit_test(predictive_reads_forecasts),
        cmocka_unit_test(deterministic_and_grouped),
        cmocka_unit_test(a_roles_policy),
        cmocka_unit_test(invalid_resources_need_nothing),
        cmocka_unit_test(terraform_has_every_statement),
        cmocka_unit_test(declarations_match_the_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
