/*
 * The Lambda provider: ScalingPolicies whose target is a Lambda function (spec.target.lambda).
 *
 * With an alias, provisioned concurrency on that alias scales through Application Auto Scaling
 * (the "lambda" row of tt_aas_kinds: lambda:function:ProvisionedConcurrency). Lambda adds:
 *   - that the alias exists, and its provisioned concurrency for status — one
 *     GetProvisionedConcurrencyConfig per alias (Lambda reads nothing in batches), whose
 *     ResourceNotFoundException says the function or alias is missing and whose
 *     ProvisionedConcurrencyConfigNotFoundException says none is configured yet;
 *   - spec.lambda.reservedConcurrency, a cost cap on the whole function: read with
 *     GetFunctionConcurrency (once per function in a batch, however many of its aliases are
 *     scaled), set with PutFunctionConcurrency, and removed with DeleteFunctionConcurrency when
 *     it leaves the spec or the resource is deleted — only when trimtab set it (the memo lists
 *     the function under "reservedConcurrency"). A value someone else set is not overwritten
 *     unless spec.adopt is true.
 * On deletion the provisioned concurrency Application Auto Scaling left on the alias goes too,
 * when trimtab owned the scalable target: deregistering leaves it allocated, and billed.
 *
 * The view: {"aas": …, "alias": "found"|"missing", "pc": {config}|null,
 *            "concurrency": {GetFunctionConcurrency output}, "function": "missing"}.
 */
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "batch.h"
#include "owner.h"
#include "plan.h"
#include "provider.h"
#include "tt_str.h"

#define MEMO_RESERVED "reservedConcurrency"
/* Seconds between looks while provisioned concurrency is being allocated. */
#define LAMBDA_PC_POLL 15

static int lambda_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_LAMBDA;
}

/* ---- observe ------------------------------------------------------------------------------ */

/* GetProvisionedConcurrencyConfig reads one alias (the key) of one function (the group). */
static json_t *pc_input(tt_batch *b, const char *function, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)n;
    return json_pack("{s:s,s:s}", "FunctionName", function, "Qualifier", keys[0].key);
}

static tt_code pc_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    json_t *view = tt_batch_view(b, keys[0].item);

    (void)n;
    return json_object_set_new(view, "alias", json_string("found")) == 0 &&
                   json_object_set(view, "pc", (json_t *)output) == 0
               ? TT_OK
               : TT_ENOMEM;
}

/* "No configuration" is an answer about an existing alias; "not found" about a missing one. */
static bool pc_missing(tt_batch *b, const tt_error *err, const tt_batch_key *keys, size_t n)
{
    json_t *view = tt_batch_view(b, keys[0].item);
    const char *alias;

    (void)n;
    if (strcmp(err->service_code, "ProvisionedConcurrencyConfigNotFoundException") == 0)
        alias = "found";
    else if (strcmp(err->service_code, "ResourceNotFoundException") == 0)
        alias = "missing";
    else
        return false;
    return json_object_set_new(view, "alias", json_string(alias)) == 0;
}

/* GetFunctionConcurrency reads one function (the group) for every item that scales it. */
static json_t *fc_input(tt_batch *b, const char *function, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)keys;
    (void)n;
    return json_pack("{s:s}", "FunctionName", function);
}

static tt_code fc_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    int failed = 0;

    for (size_t k = 0; k < n; k++)
        failed |= json_object_set(tt_batch_view(b, keys[k].item), "concurrency", (json_t *)output);
    return failed ? TT_ENOMEM : TT_OK;
}

static bool fc_missing(tt_batch *b, const tt_error *err, const tt_batch_key *keys, size_t n)
{
    int failed = 0;

    if (strcmp(err->service_code, "ResourceNotFoundException") != 0)
        return false;
    for (size_t k = 0; k < n; k++)
        failed |=
            json_object_set_new(tt_batch_view(b, keys[k].item), "function", json_string("missing"));
    return failed == 0;
}

static const tt_batch_op op_pc = {
    "lambda", "GetProvisionedConcurrencyConfig", 1, false, false, pc_input, pc_join, pc_missing};
static const tt_batch_op op_fc = {
    "lambda", "GetFunctionConcurrency", (size_t)-1, false, false, fc_input, fc_join, fc_missing};

/* True when the memo says trimtab set `function`'s reserved concurrency. */
static bool memo_reserved(const json_t *memo, const char *function)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(memo, MEMO_RESERVED), i, f)
    {
        if (tt_streq(json_string_value(f), function))
            return true;
    }
    return false;
}

static bool wants_reserved(const tt_resource *r)
{
    return r->spec.sp->lambda != NULL && r->spec.sp->lambda->reserved_concurrency.set;
}

static tt_code lambda_observe(struct tt_aws *aws, const char *role_arn,
                              const tt_observe_item *items, size_t n, tt_observe_cb cb, void *ud,
                              tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    if (tt_aas_observe_batch(b, err) != TT_OK) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        const tt_target_lambda *l = items[i].r->spec.sp->target->lambda;
        if (l->alias != NULL)
            tt_batch_add(b, &op_pc, l->function, l->alias, i);
        /* The reserved concurrency only when the spec sets it or trimtab set it before (to
         * remove it): a policy without it costs no call for it. */
        if (wants_reserved(items[i].r) || memo_reserved(items[i].memo, l->function))
            tt_batch_add(b, &op_fc, l->function, l->function, i);
    }
    return tt_batch_start(b, err);
}

/* ---- diff --------------------------------------------------------------------------------- */

static json_t *function_input(const char *function)
{
    return json_pack("{s:s}", "FunctionName", function);
}

/*
 * Appends the reserved concurrency part of the plan: set it when the spec's value differs from
 * AWS's, remove it when the spec dropped a value trimtab set. `raise_first` is set when the
 * change must come before the provisioned concurrency (a higher cap makes room for it); a lower
 * cap comes after. Records in `owned` (an array) the function when trimtab owns its value
 * afterwards. -1 when blocked (out->blocked says why).
 */
static int plan_reserved(const tt_diff_input *in, tt_diff_output *out, json_t *actions,
                         json_t *owned, bool *raise_first)
{
    const char *function = in->r->spec.sp->target->lambda->function;
    const json_t *have = json_object_get(json_object_get(in->observed, "concurrency"),
                                         "ReservedConcurrentExecutions");
    bool ours = memo_reserved(in->memo, function);
    int64_t want;
    char what[400];
    json_t *a;

    *raise_first = false;
    if (!wants_reserved(in->r)) {
        if (ours && have != NULL) {
            a = tt_plan_add(actions, "delete", "reserved concurrency", "lambda",
                            "DeleteFunctionConcurrency", in->region, function_input(function));
            if (a != NULL)
                tt_action_change(a, "reservedConcurrency", json_incref((json_t *)have), NULL);
        }
        return 0;
    }
    want = in->r->spec.sp->lambda->reserved_concurrency.v;
    if (have != NULL && json_integer_value(have) == want) {
        if (ours)
            json_array_append_new(owned, json_string(function));
        return 0;
    }
    if (have != NULL && !ours) {
        snprintf(what, sizeof(what), "reserved concurrency %lld of Lambda function %s",
                 (long long)json_integer_value(have), function);
        if (tt_owner_check(in->r, false, NULL, what, out) != TT_OWNER_ADOPT)
            return -1;
    }
    a = tt_plan_add(actions, have ? "update" : "create", "reserved concurrency", "lambda",
                    "PutFunctionConcurrency", in->region,
                    json_pack("{s:s,s:I}", "FunctionName", function, "ReservedConcurrentExecutions",
                              (json_int_t)want));
    if (a != NULL)
        tt_action_change(a, "reservedConcurrency", have ? json_incref((json_t *)have) : NULL,
                         json_integer(want));
    json_array_append_new(owned, json_string(function));
    *raise_first = have == NULL || json_integer_value(have) < want;
    return 0;
}

static tt_code lambda_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const tt_target_lambda *l = s->target->lambda;
    json_t *reserved = json_array(), *owned = json_array();
    bool raise_first;
    tt_code rc = TT_OK;

    if (reserved == NULL || owned == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
    if (tt_streq(json_string_value(json_object_get(in->observed, "function")), "missing") ||
        tt_streq(json_string_value(json_object_get(in->observed, "alias")), "missing")) {
        out->blocked = "TargetNotFound";
        if (l->alias != NULL)
            snprintf(out->message, sizeof(out->message),
                     "Lambda function %s or its alias %s not found", l->function, l->alias);
        else
            snprintf(out->message, sizeof(out->message), "Lambda function %s not found",
                     l->function);
        goto out;
    }
    /* Provisioned concurrency lives within the reserved concurrency: a cap below the maximum
     * would make every scale-out past it fail. */
    if (l->alias != NULL && s->lambda != NULL && s->lambda->reserved_concurrency.set &&
        s->max_capacity.v > s->lambda->reserved_concurrency.v) {
        out->blocked = "InvalidSpec";
        snprintf(out->message, sizeof(out->message),
                 "maxCapacity %lld exceeds lambda.reservedConcurrency %lld: provisioned "
                 "concurrency cannot exceed the function's reserved concurrency",
                 (long long)s->max_capacity.v, (long long)s->lambda->reserved_concurrency.v);
        goto out;
    }
    if (plan_reserved(in, out, reserved, owned, &raise_first) != 0)
        goto out;
    if (l->alias != NULL) {
        rc = tt_aas_diff(in, json_object_get(in->observed, "aas"), out, err);
        if (rc != TT_OK || out->blocked != NULL)
            goto out;
    }
    if (out->memo == NULL && (out->memo = json_object()) == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
    json_object_set(out->memo, MEMO_RESERVED, owned);
    /* Allocation takes minutes: look again for status while it is under way. */
    if (tt_streq(json_string_value(json_object_get(json_object_get(in->observed, "pc"), "Status")),
                 "IN_PROGRESS"))
        out->requeue_after = LAMBDA_PC_POLL;
    if (raise_first) {
        /* Before the scalable target, which may be registered at a capacity only the new cap
         * allows — but after the owner tag of an adoption, which comes before any change.
         * json_array_insert takes its own reference. */
        size_t at = 0;
        while (at < json_array_size(out->plan) &&
               tt_streq(json_string_value(json_object_get(json_array_get(out->plan, at), "verb")),
                        "tag"))
            at++;
        if (json_array_insert(out->plan, at, json_array_get(reserved, 0)) != 0)
            rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
    } else if (json_array_extend(out->plan, reserved) != 0) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
    }
out:
    json_decref(reserved);
    json_decref(owned);
    return rc;
}

static void lambda_status(const tt_diff_input *in, json_t *status)
{
    const json_t *pc = json_object_get(in->observed, "pc");
    const json_t *reserved = json_object_get(json_object_get(in->observed, "concurrency"),
                                             "ReservedConcurrentExecutions");
    const json_t *aas = json_object_get(in->observed, "aas");
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(pc)) {
        json_object_set(status, "currentCapacity",
                        json_object_get(pc, "AllocatedProvisionedConcurrentExecutions"));
        json_object_set(status, "desiredCapacity",
                        json_object_get(pc, "RequestedProvisionedConcurrentExecutions"));
        json_object_set(status, "provisionedConcurrencyStatus", json_object_get(pc, "Status"));
        if (json_object_get(pc, "StatusReason") != NULL)
            json_object_set(status, "provisionedConcurrencyReason",
                            json_object_get(pc, "StatusReason"));
    } else if (tt_streq(json_string_value(json_object_get(in->observed, "alias")), "found")) {
        json_object_set_new(status, "currentCapacity", json_integer(0));
    }
    if (reserved != NULL)
        json_object_set(status, "reservedConcurrency", (json_t *)reserved);
    if (aas != NULL)
        tt_aas_status(in, aas, status);
}

/* True when `plan` deregisters the scalable target `resource_id`. */
static bool deregisters(const json_t *plan, const char *resource_id)
{
    size_t i;
    json_t *a;

    json_array_foreach(plan, i, a)
    {
        const json_t *call = json_object_get(a, "call");
        if (tt_streq(json_string_value(json_object_get(call, "operation")),
                     "DeregisterScalableTarget") &&
            tt_streq(
                json_string_value(json_object_get(json_object_get(call, "input"), "ResourceId")),
                resource_id))
            return true;
    }
    return false;
}

static tt_code lambda_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    const tt_target_lambda *l = in->r->spec.sp->target->lambda;
    const json_t *pc = json_object_get(in->observed, "pc");
    const json_t *reserved = json_object_get(json_object_get(in->observed, "concurrency"),
                                             "ReservedConcurrentExecutions");
    tt_aas_target t;
    json_t *a;

    if (tt_aas_target_of(in->r, &t) == 0) {
        if (tt_aas_remove(in, json_object_get(in->observed, "aas"), plan, err) != TT_OK)
            return err->code;
        /* Only after deregistering a target trimtab owned: what it provisioned is trimtab's. */
        if (json_is_object(pc) && deregisters(plan, t.resource_id)) {
            a = tt_plan_add(
                plan, "delete", "provisioned concurrency", "lambda",
                "DeleteProvisionedConcurrencyConfig", in->region,
                json_pack("{s:s,s:s}", "FunctionName", l->function, "Qualifier", l->alias));
            if (a != NULL)
                tt_action_change(
                    a, "provisionedConcurrency",
                    json_incref(json_object_get(pc, "RequestedProvisionedConcurrentExecutions")),
                    NULL);
        }
    }
    if (reserved != NULL && memo_reserved(in->memo, l->function)) {
        a = tt_plan_add(plan, "delete", "reserved concurrency", "lambda",
                        "DeleteFunctionConcurrency", in->region, function_input(l->function));
        if (a != NULL)
            tt_action_change(a, "reservedConcurrency", json_incref((json_t *)reserved), NULL);
    }
    return TT_OK;
}

/* The reserved concurrency calls are made only for a spec that sets lambda.reservedConcurrency. */
static int lambda_iam_reserved(const tt_resource *r)
{
    return r->spec.sp->lambda != NULL && r->spec.sp->lambda->reserved_concurrency.set;
}

/* The answers of Application Auto Scaling settle the view, unless registering the target moved
 * the alias's provisioned concurrency into the new bounds (none configured counts as 0). Lambda's
 * own writes (reserved concurrency, provisioned concurrency left behind) are read again. */
static int lambda_applied(const tt_resource *r, json_t *observed, const json_t *call,
                          const json_t *output)
{
    const json_t *pc = json_object_get(observed, "pc");
    int64_t current = -1;

    if (json_is_object(pc))
        current =
            json_integer_value(json_object_get(pc, "RequestedProvisionedConcurrentExecutions"));
    else if (tt_streq(json_string_value(json_object_get(observed, "alias")), "found"))
        current = 0;
    return tt_aas_applied_at(r, json_object_get(observed, "aas"), call, output, current);
}

/* IAM: provisioned concurrency acts on the alias (a qualified ARN), the cap on the function. */
static const tt_iam_action lambda_iam_actions[] = {
    {"lambda:GetProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig",
     "arn:{partition}:lambda:{region}:{account}:function:{function}:{alias}", TT_IAM_NONE, NULL},
    {"lambda:DeleteProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig",
     "arn:{partition}:lambda:{region}:{account}:function:{function}:{alias}", TT_IAM_NONE, NULL},
    {"lambda:GetFunctionConcurrency", "GetFunctionConcurrency",
     "arn:{partition}:lambda:{region}:{account}:function:{function}", TT_IAM_NONE, NULL},
    {"lambda:PutFunctionConcurrency", "PutFunctionConcurrency",
     "arn:{partition}:lambda:{region}:{account}:function:{function}", TT_IAM_NONE,
     lambda_iam_reserved},
    {"lambda:DeleteFunctionConcurrency", "DeleteFunctionConcurrency",
     "arn:{partition}:lambda:{region}:{account}:function:{function}", TT_IAM_NONE,
     lambda_iam_reserved},
};
static const tt_iam_needs lambda_iam = {TT_IAM_TABLE(lambda_iam_actions), &tt_aas_iam};

const tt_provider tt_provider_lambda = {
    .name = "lambda",          /* logs and metrics */
    .handles = lambda_handles, /* ScalingPolicies on lambda: {function[, alias]} */
    .observe = lambda_observe, /* Application Auto Scaling + provisioned/reserved concurrency */
    .diff = lambda_diff,       /* TargetNotFound, reserved concurrency, then tt_aas_diff */
    .status = lambda_status,   /* provisioned concurrency, reserved cap, then tt_aas_status */
    .remove = lambda_remove,   /* scaling, provisioned concurrency, the cap trimtab set */
    .applied = lambda_applied, /* Application Auto Scaling's answers, unless capacity moved */
    .iam = &lambda_iam,
};
