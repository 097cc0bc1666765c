/*
 * Unit tests for the pure diff of CloudFront ScalingPolicies (providers/cloudfront.c): each edge
 * field, everything else in the DistributionConfig sent back exactly as read, If-Match from the
 * read, Ready only once Deployed, and the budget guard's price class clamp and restore.
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

#define HEAD                                                                           \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: assets, " \
    "namespace: shop}\n"

static const char *const edge_spec =
    HEAD "spec:\n"
         "  target: {cloudfront: {distributionId: E2QWRUHAPOMQZL}}\n"
         "  cloudfront:\n"
         "    priceClass: PriceClass_200\n"
         "    originShield: {enabled: true, region: eu-central-1}\n"
         "    http3: true\n"
         "    compress: true\n";

/* A distribution as GetDistribution returns it, with fields trimtab does not manage. */
static const char *const observed_json =
    "{\"distribution\": {\"ETag\": \"E1ABC\", \"Distribution\": {\"Id\": \"E2QWRUHAPOMQZL\","
    " \"Status\": \"Deployed\", \"DistributionConfig\": {"
    "  \"CallerReference\": \"ref\", \"Comment\": \"keep me\", \"Enabled\": true,"
    "  \"PriceClass\": \"PriceClass_All\", \"HttpVersion\": \"http2\","
    "  \"Logging\": {\"Enabled\": true, \"Bucket\": \"logs\", \"Prefix\": \"cdn/\","
    "   \"IncludeCookies\": false},"
    "  \"Origins\": {\"Quantity\": 2, \"Items\": ["
    "   {\"Id\": \"web\", \"DomainName\": \"web.example.com\", \"ConnectionAttempts\": 2,"
    "    \"OriginShield\": {\"Enabled\": false}},"
    "   {\"Id\": \"media\", \"DomainName\": \"media.example.com\"}]},"
    "  \"DefaultCacheBehavior\": {\"TargetOriginId\": \"web\", \"Compress\": false,"
    "   \"ViewerProtocolPolicy\": \"redirect-to-https\"}}}}}";

static json_t *config(diff_fixture *f)
{
    return json_object_get(
        json_object_get(json_object_get(f->observed, "distribution"), "Distribution"),
        "DistributionConfig");
}

static const json_t *input(const diff_fixture *f)
{
    return json_object_get(json_object_get(json_array_get(f->out.plan, 0), "call"), "input");
}

/* The config the plan sends, with the managed fields put back as read, equals the read one. */
static void every_field_and_nothing_else(void **state)
{
    diff_fixture f;
    json_t *sent, *origin;
    size_t i;
    (void)state;

    fx_load(&f, "cloudfront", edge_spec, observed_json, NULL);
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_string_equal(json_string_value(json_object_get(input(&f), "IfMatch")), "E1ABC");
    assert_string_equal(json_string_value(json_object_get(input(&f), "Id")), "E2QWRUHAPOMQZL");
    /* priceClass, httpVersion, two origin shields, compress. */
    assert_int_equal(json_array_size(json_object_get(json_array_get(f.out.plan, 0), "changes")), 5);
    sent = json_deep_copy(json_object_get(input(&f), "DistributionConfig"));
    assert_string_equal(json_string_value(json_object_get(sent, "PriceClass")), "PriceClass_200");
    assert_string_equal(json_string_value(json_object_get(sent, "HttpVersion")), "http2and3");
    assert_true(
        json_is_true(json_object_get(json_object_get(sent, "DefaultCacheBehavior"), "Compress")));
    json_array_foreach(json_object_get(json_object_get(sent, "Origins"), "Items"), i, origin)
    {
        const json_t *os = json_object_get(origin, "OriginShield");
        assert_true(json_is_true(json_object_get(os, "Enabled")));
        assert_string_equal(json_string_value(json_object_get(os, "OriginShieldRegion")),
                            "eu-central-1");
    }
    /* Put back what was read where trimtab manages; the rest must already be equal. */
    json_object_set_new(sent, "PriceClass", json_string("PriceClass_All"));
    json_object_set_new(sent, "HttpVersion", json_string("http2"));
    json_object_set_new(json_object_get(sent, "DefaultCacheBehavior"), "Compress", json_false());
    origin = json_array_get(json_object_get(json_object_get(sent, "Origins"), "Items"), 0);
    json_object_set_new(origin, "OriginShield", json_pack("{s:b}", "Enabled", 0));
    origin = json_array_get(json_object_get(json_object_get(sent, "Origins"), "Items"), 1);
    json_object_del(origin, "OriginShield");
    assert_true(json_equal(sent, config(&f)));
    json_decref(sent);
    fx_release(&f);
}

static void converged_and_deploying(void **state)
{
    diff_fixture f;
    json_t *cfg, *origin;
    size_t i;
    (void)state;

    fx_load(&f, "cloudfront", edge_spec, observed_json, NULL);
    cfg = config(&f);
    json_object_set_new(cfg, "PriceClass", json_string("PriceClass_200"));
    json_object_set_new(cfg, "HttpVersion", json_string("http2and3"));
    json_object_set_new(json_object_get(cfg, "DefaultCacheBehavior"), "Compress", json_true());
    json_array_foreach(json_object_get(json_object_get(cfg, "Origins"), "Items"), i, origin)
        json_object_set_new(
            origin, "OriginShield",
            json_pack("{s:b,s:s}", "Enabled", 1, "OriginShieldRegion", "eu-central-1"));
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_null(f.out.blocked);
    /* The same, still InProgress: not Ready, look again. */
    json_object_set_new(
        json_object_get(json_object_get(f.observed, "distribution"), "Distribution"), "Status",
        json_string("InProgress"));
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_string_equal(f.out.blocked, "Deploying");
    assert_true(f.out.requeue_after > 0);
    fx_release(&f);
}

/* Only the fields the spec sets: http3 false is http2; a disabled shield stays disabled. */
static void unset_fields_are_left_alone(void **state)
{
    static const char *const spec =
        HEAD "spec:\n"
             "  target: {cloudfront: {distributionId: E2QWRUHAPOMQZL}}\n"
             "  cloudfront:\n"
             "    http3: false\n"
             "    originShield: {enabled: false}\n";
    diff_fixture f;
    (void)state;

    fx_load(&f, "cloudfront", spec, observed_json, NULL);
    fx_diff(&f);
    /* Origin "web" is disabled already; "media" has no OriginShield member: set it. */
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(f.out.plan, 0), "changes")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0), "field")),
        "originShield[media]");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(input(&f), "DistributionConfig"), "PriceClass")),
                        "PriceClass_All");
    fx_release(&f);
}

/* The BudgetClamped condition the diff returns (the engine turns its transitions into events). */
static void assert_condition(const diff_fixture *f, const char *status, const char *message)
{
    const json_t *c = json_array_get(f->out.conditions, 0);

    assert_string_equal(json_string_value(json_object_get(c, "type")), "BudgetClamped");
    assert_string_equal(json_string_value(json_object_get(c, "status")), status);
    assert_string_equal(json_string_value(json_object_get(c, "message")), message);
}

/* Above the guard's percentage: the guard's cheaper class; below: back to where it was. */
static void budget_guard_clamps_and_restores(void **state)
{
    static const char *const spec =
        HEAD "spec:\n"
             "  target: {cloudfront: {distributionId: E2QWRUHAPOMQZL}}\n"
             "  cloudfront: {compress: false}\n"
             "  budgetGuard:\n"
             "    - {budget: cdn, abovePercent: 80, priceClass: "
             "PriceClass_100}\n";
    diff_fixture f;
    (void)state;

    fx_load(&f, "cloudfront", spec, observed_json, NULL);
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0); /* no budget status yet: no clamp */
    json_object_set_new(f.deps, "Budget/cdn", json_pack("{s:f}", "percentUsed", 95.0));
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(input(&f), "DistributionConfig"), "PriceClass")),
                        "PriceClass_100");
    assert_string_equal(json_string_value(json_object_get(f.out.memo, "priceClassBeforeClamp")),
                        "PriceClass_All");
    assert_condition(&f, "True",
                     "budget cdn at 95% (above 80%): priceClass clamped from PriceClass_All to "
                     "PriceClass_100");
    /* Clamped in AWS, spend still high: nothing more. */
    json_object_set_new(config(&f), "PriceClass", json_string("PriceClass_100"));
    f.memo = json_incref(f.out.memo);
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    /* Spend falls back: restored to the class from before the clamp, memo cleared. */
    json_object_set_new(f.deps, "Budget/cdn", json_pack("{s:f}", "percentUsed", 50.0));
    fx_diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(input(&f), "DistributionConfig"), "PriceClass")),
                        "PriceClass_All");
    assert_null(json_object_get(f.out.memo, "priceClassBeforeClamp"));
    assert_condition(&f, "False",
                     "no guarding budget is above its percentage: priceClass PriceClass_All");
    fx_release(&f);
}

/* A guard never raises the class: the spec's cheaper one holds. */
static void guard_never_raises(void **state)
{
    static const char *const spec =
        HEAD "spec:\n"
             "  target: {cloudfront: {distributionId: E2QWRUHAPOMQZL}}\n"
             "  cloudfront: {priceClass: PriceClass_100}\n"
             "  budgetGuard:\n"
             "    - {budget: cdn, abovePercent: 80, priceClass: "
             "PriceClass_200}\n";
    diff_fixture f;
    (void)state;

    fx_load(&f, "cloudfront", spec, observed_json, NULL);
    json_object_set_new(f.deps, "Budget/cdn", json_pack("{s:f}", "percentUsed", 95.0));
    fx_diff(&f);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(input(&f), "DistributionConfig"), "PriceClass")),
                        "PriceClass_100");
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_and_nothing_else),
        cmocka_unit_test(converged_and_deploying),
        cmocka_unit_test(unset_fields_are_left_alone),
        cmocka_unit_test(budget_guard_clamps_and_restores),
        cmocka_unit_test(guard_never_raises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
