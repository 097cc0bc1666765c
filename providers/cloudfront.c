/*
 * The CloudFront provider: ScalingPolicies whose target is a distribution
 * (`cloudfront: {distributionId}`) and whose spec sets its edge settings:
 *   priceClass                 DistributionConfig.PriceClass
 *   originShield {enabled, region}  OriginShield of every origin
 *   http3                      HttpVersion http2and3 (true) or http2 (false)
 *   compress                   DefaultCacheBehavior.Compress
 * and the budget guard's priceClass clamp: while a guarding Budget's actual spend is above its
 * percentage, the price class is the guard's (the cheapest of the active guards' when it is
 * cheaper than the spec's); when spend falls back it returns to the spec's, or to what it was
 * before the clamp when the spec sets none (kept in the memo).
 *
 * CloudFront is global and REST-XML; the AWS layer signs it for us-east-1. A distribution has no
 * batch read, so the floor is one GetDistribution per resource: it returns the whole
 * DistributionConfig with the ETag that UpdateDistribution needs in If-Match, and the Status —
 * what GetDistributionConfig gives plus the status, in one call instead of two.
 *
 * The write is a read-modify-write of the whole DistributionConfig: the config is copied as read
 * and only the managed fields are changed, so everything trimtab does not manage goes back
 * exactly as it came. If-Match carries the ETag of that read; a 412 PreconditionFailed (someone
 * changed the distribution in between) is a conflict, which the engine cures by reading again at
 * once and planning from the new config — never a blind overwrite. The resource is Ready only
 * once the distribution is Deployed; while it is InProgress the diff asks to look again soon.
 */
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "batch.h"
#include "plan.h"
#include "provider.h"
#include "tt_str.h"

#define DEPLOY_POLL 15.0 /* seconds between looks while a distribution is InProgress */

static int cloudfront_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_CLOUDFRONT;
}

/* ---- observe ----------------------------------------------------------------------------- */

static json_t *distribution_input(tt_batch *b, const char *group, const tt_batch_key *keys,
                                  size_t n)
{
    (void)b, (void)group, (void)n;
    return json_pack("{s:s}", "Id", keys[0].key);
}

/* Files {Distribution, ETag} under "distribution". */
static tt_code distribution_join(tt_batch *b, const json_t *output, const tt_batch_key *keys,
                                 size_t n)
{
    (void)n;
    return json_object_set(tt_batch_view(b, keys[0].item), "distribution", (json_t *)output) == 0
               ? TT_OK
               : TT_ENOMEM;
}

static const tt_batch_op op_distribution = {
    "cloudfront", "GetDistribution", 1, false, false, distribution_input, distribution_join, NULL};

static tt_code cloudfront_observe(struct tt_aws *aws, const char *role_arn,
                                  const tt_observe_item *items, size_t n, tt_observe_cb cb,
                                  void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    for (size_t i = 0; i < n; i++)
        tt_batch_add(b, &op_distribution, "",
                     items[i].r->spec.sp->target->cloudfront->distribution_id, i);
    return tt_batch_start(b, err);
}

/* ---- the price class and its guards -------------------------------------------------------- */

/* Cheapest first: PriceClass_100 serves from the fewest (cheapest) edge locations. */
static int price_rank(const char *pc)
{
    if (tt_streq(pc, "PriceClass_100"))
        return 0;
    if (tt_streq(pc, "PriceClass_200"))
        return 1;
    return 2;
}

/*
 * The cheapest price class of the guards whose budget is above its percentage (borrowed from the
 * spec), or NULL when none is; `active` (a new array) lists them for status.
 */
static const char *guard_price_class(const tt_diff_input *in, json_t *active)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const char *pc = NULL;

    for (size_t i = 0; i < s->nbudget_guard; i++) {
        const tt_budget_guard *g = &s->budget_guard[i];
        double pu = tt_budget_guard_over(in, g);
        if (pu < 0 || g->price_class == NULL)
            continue;
        if (pc == NULL || price_rank(g->price_class) < price_rank(pc))
            pc = g->price_class;
        json_array_append_new(active, json_pack("{s:s,s:f,s:f,s:s}", "budget", g->budget,
                                                "percentUsed", pu, "abovePercent",
                                                g->above_percent.v, "priceClass", g->price_class));
    }
    return pc;
}

/*
 * The price class to hold and the memo to keep. Clamped: the guard's, when cheaper than what
 * would hold otherwise; the unclamped value is remembered when the spec gives none, so the
 * restore knows where to go back to.
 */
static const char *want_price_class(const tt_diff_input *in, const char *have, json_t *memo,
                                    json_t *active)
{
    const char *spec = in->r->spec.sp->cloudfront->price_class;
    const char *before = json_string_value(json_object_get(in->memo, "priceClassBeforeClamp"));
    const char *unclamped = spec != NULL ? spec : before != NULL ? before : have;
    const char *guard = guard_price_class(in, active);

    if (guard == NULL || price_rank(guard) >= price_rank(unclamped))
        return spec != NULL || before == NULL ? spec : before;
    if (spec == NULL)
        json_object_set_new(memo, "priceClassBeforeClamp", json_string(unclamped));
    return guard;
}

/* ---- diff ------------------------------------------------------------------------------- */

/* Sets cfg[key] to `want` (stolen) and records the change when it differs. */
static void set_field(json_t *cfg, const char *key, json_t *want, json_t *changes,
                      const char *field)
{
    tt_plan_compare(changes, field, want, json_object_get(cfg, key));
    json_object_set_new(cfg, key, want);
}

static void set_origin_shield(const tt_origin_shield *os, json_t *cfg, json_t *changes)
{
    size_t i;
    json_t *origin;

    json_array_foreach(json_object_get(json_object_get(cfg, "Origins"), "Items"), i, origin)
    {
        char field[400];
        json_t *want = os->enabled.v
                           ? json_pack("{s:b,s:s}", "Enabled", 1, "OriginShieldRegion", os->region)
                           : json_pack("{s:b}", "Enabled", 0);
        const json_t *have = json_object_get(origin, "OriginShield");
        /* Disabled with a region left over is still disabled: not drift. */
        if (!os->enabled.v && json_is_false(json_object_get(have, "Enabled"))) {
            json_decref(want);
            continue;
        }
        snprintf(field, sizeof(field), "originShield[%s]",
                 json_string_value(json_object_get(origin, "Id")));
        set_field(origin, "OriginShield", want, changes, field);
    }
}

/* The BudgetClamped condition: the price class in force (`pc`; the distribution has `have`),
 * clamped or restored. */
static json_t *guard_condition(const tt_diff_input *in, const char *pc, const char *have,
                               const json_t *active)
{
    const char *spec = in->r->spec.sp->cloudfront->price_class;
    const char *before = json_string_value(json_object_get(in->memo, "priceClassBeforeClamp"));
    const char *unclamped = spec != NULL ? spec : before != NULL ? before : have;
    char effect[160];

    if (json_array_size(active) > 0 && pc != NULL && !tt_streq(pc, unclamped))
        snprintf(effect, sizeof(effect), "priceClass clamped from %s to %s",
                 unclamped != NULL ? unclamped : "the distribution's", pc);
    else
        snprintf(effect, sizeof(effect), "priceClass %s",
                 pc != NULL ? pc : "as the distribution has it");
    return tt_budget_clamp_condition(active, effect);
}

static tt_code cloudfront_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const char *id = s->target->cloudfront->distribution_id;
    const json_t *d =
        json_object_get(json_object_get(in->observed, "distribution"), "Distribution");
    const char *etag =
        json_string_value(json_object_get(json_object_get(in->observed, "distribution"), "ETag"));
    const json_t *cfg = json_object_get(d, "DistributionConfig");
    json_t *want = NULL, *changes = json_array(), *active = json_array(), *action;
    const char *pc;
    char object[400];
    tt_code rc = TT_OK;

    out->memo = json_object();
    if (changes == NULL || active == NULL || out->memo == NULL)
        goto nomem;
    if (!json_is_object(cfg) || etag == NULL) {
        rc = tt_error_set(err, TT_EPARSE, "GetDistribution gave %s no configuration or ETag", id);
        goto out;
    }
    want = json_deep_copy(cfg);
    if (want == NULL)
        goto nomem;
    pc = want_price_class(in, json_string_value(json_object_get(cfg, "PriceClass")), out->memo,
                          active);
    if (pc != NULL)
        set_field(want, "PriceClass", json_string(pc), changes, "priceClass");
    if (s->nbudget_guard > 0 &&
        (out->conditions = guard_condition(
             in, pc, json_string_value(json_object_get(cfg, "PriceClass")), active)) == NULL)
        goto nomem;
    if (s->cloudfront->origin_shield != NULL)
        set_origin_shield(s->cloudfront->origin_shield, want, changes);
    if (s->cloudfront->http3.set)
        set_field(want, "HttpVersion", json_string(s->cloudfront->http3.v ? "http2and3" : "http2"),
                  changes, "httpVersion");
    if (s->cloudfront->compress.set)
        set_field(json_object_get(want, "DefaultCacheBehavior"), "Compress",
                  json_boolean(s->cloudfront->compress.v), changes, "compress");
    if (json_array_size(changes) > 0) {
        snprintf(object, sizeof(object), "CloudFront distribution %s%s", id,
                 json_array_size(active) > 0 ? " (budget guard)" : "");
        action = tt_plan_add(
            out->plan, "update", object, "cloudfront", "UpdateDistribution", NULL,
            json_pack("{s:s,s:s,s:O}", "Id", id, "IfMatch", etag, "DistributionConfig", want));
        if (action == NULL)
            goto nomem;
        json_object_set(action, "changes", changes);
        goto out;
    }
    if (!tt_streq(json_string_value(json_object_get(d, "Status")), "Deployed")) {
        out->blocked = "Deploying";
        snprintf(out->message, sizeof(out->message),
                 "CloudFront distribution %s is %s; Ready once it is Deployed", id,
                 json_string_value(json_object_get(d, "Status")));
        out->requeue_after = DEPLOY_POLL;
    }
    goto out;
nomem:
    rc = tt_error_set(err, TT_ENOMEM, "out of memory planning CloudFront distribution %s", id);
out:
    json_decref(want);
    json_decref(changes);
    json_decref(active);
    return rc;
}

static void cloudfront_status(const tt_diff_input *in, json_t *status)
{
    const json_t *d =
        json_object_get(json_object_get(in->observed, "distribution"), "Distribution");
    const json_t *cfg = json_object_get(d, "DistributionConfig");
    json_t *active = json_array();
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(d)) {
        json_object_set(status, "distributionStatus", json_object_get(d, "Status"));
        json_object_set(status, "priceClass", json_object_get(cfg, "PriceClass"));
        json_object_set(status, "httpVersion", json_object_get(cfg, "HttpVersion"));
    }
    if (active != NULL && guard_price_class(in, active) != NULL)
        json_object_set(status, "budgetGuardsActive", active);
    json_decref(active);
}

const tt_provider tt_provider_cloudfront = {
    .name = "cloudfront",
    .handles = cloudfront_handles,
    .observe = cloudfront_observe,
    .diff = cloudfront_diff,
    .status = cloudfront_status,
};
