/*
 * The ECS provider: ScalingPolicies whose target is an ECS service.
 *
 * Scaling itself is Application Auto Scaling (providers/appautoscaling.c, the "ecs" row); ECS
 * adds the service's own view — DescribeServices, ten services of one cluster a call — for
 * status (current and desired task count) and to refuse to scale a service that does not exist.
 * The scaling activities are read only for services whose desired count moved since the last
 * look and that have a scalable target, as nothing else can have new ones.
 */
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "batch.h"
#include "plan.h"
#include "provider.h"
#include "tt_str.h"

#define ECS_BATCH 10 /* DescribeServices takes at most 10 services */

static int ecs_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_ECS;
}

static json_t *services_input(tt_batch *b, const char *cluster, const tt_batch_key *keys, size_t n)
{
    (void)b;
    return json_pack("{s:s,s:o}", "cluster", cluster, "services", tt_batch_key_list(keys, n));
}

/* An INACTIVE service is a deleted one, as DescribeServices reports it. */
static bool active(const json_t *service)
{
    const char *state = json_string_value(json_object_get(service, "status"));

    return state != NULL && strcmp(state, "INACTIVE") != 0;
}

/* Files each service under the items that asked for it; absent ones stay null (not found). */
static tt_code services_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "services", "serviceName", keys, n, "service", active);
}

static const tt_batch_op op_services = {"ecs", "DescribeServices", ECS_BATCH,     false,
                                        false, services_input,     services_join, NULL};

/*
 * After the first reads: activities of the services whose desired count moved since the last
 * look. A service without a scalable target has none to read — Application Auto Scaling keeps
 * activities per target — so converging from nothing reads none; the registration that creates
 * the target may move the count (clamping it into the bounds), and the look after the apply
 * sees that move and reads them then.
 */
static void read_activities(tt_batch *b, int phase)
{
    if (phase != 1)
        return;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        const json_t *view = tt_batch_view(b, i);
        const json_t *last = json_object_get(tt_batch_item(b, i)->memo, "lastDesired");
        const json_t *now = json_object_get(json_object_get(view, "service"), "desiredCount");
        const json_t *target = json_object_get(json_object_get(view, "aas"), "target");
        if (!tt_batch_failed(b, i) && now != NULL && json_is_object(target) &&
            (last == NULL || !json_equal(last, now)))
            tt_aas_read_activities(b, i);
    }
}

static tt_code ecs_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                           size_t n, tt_observe_cb cb, void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    if (tt_aas_observe_batch(b, err) != TT_OK || tt_batch_on_phase(b, read_activities, err)) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        const tt_target_ecs *e = items[i].r->spec.sp->target->ecs;
        if (json_object_set_new(tt_batch_view(b, i), "service", json_null()) != 0)
            tt_batch_fail_nomem(b, i, "reading ECS");
        else
            tt_batch_add(b, &op_services, e->cluster, e->service, i);
    }
    return tt_batch_start(b, err);
}

static tt_code ecs_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_target_ecs *e = in->r->spec.sp->target->ecs;
    const json_t *svc = json_object_get(in->observed, "service");
    tt_code rc;

    if (svc == NULL || json_is_null(svc)) {
        out->blocked = "TargetNotFound";
        snprintf(out->message, sizeof(out->message), "ECS service %s not found in cluster %s",
                 e->service, e->cluster);
        return TT_OK;
    }
    rc = tt_aas_diff(in, json_object_get(in->observed, "aas"), out, err);
    if (rc == TT_OK && out->memo != NULL)
        json_object_set(out->memo, "lastDesired", json_object_get(svc, "desiredCount"));
    return rc;
}

static void ecs_status(const tt_diff_input *in, json_t *status)
{
    const json_t *svc = json_object_get(in->observed, "service");
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(svc)) {
        json_object_set(status, "currentCapacity", json_object_get(svc, "runningCount"));
        json_object_set(status, "desiredCapacity", json_object_get(svc, "desiredCount"));
    }
    tt_aas_status(in, json_object_get(in->observed, "aas"), status);
}

static tt_code ecs_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    return tt_aas_remove(in, json_object_get(in->observed, "aas"), plan, err);
}

/* The answers of Application Auto Scaling settle the view, unless registering the target moved
 * the service's desired count (it is brought within the new bounds): then read it again. */
static int ecs_applied(const tt_resource *r, json_t *observed, const json_t *call,
                       const json_t *output)
{
    const json_t *service = json_object_get(observed, "service");

    if (!json_is_object(service))
        return 0;
    return tt_aas_applied_at(r, json_object_get(observed, "aas"), call, output,
                             json_integer_value(json_object_get(service, "desiredCount")));
}

static const char *ecs_affinity(const tt_resource *r)
{
    return r->spec.sp->target->ecs->cluster;
}

/* IAM: DescribeServices supports the service ARN; scaling is Application Auto Scaling's. */
static const tt_iam_action ecs_iam_actions[] = {
    {"ecs:DescribeServices", "DescribeServices",
     "arn:{partition}:ecs:{region}:{account}:service/{cluster}/{service}", TT_IAM_NONE, NULL},
};
static const tt_iam_needs ecs_iam = {TT_IAM_TABLE(ecs_iam_actions), &tt_aas_iam};

const tt_provider tt_provider_ecs = {
    .name = "ecs",
    .handles = ecs_handles,
    .observe = ecs_observe,
    .diff = ecs_diff,
    .status = ecs_status,
    .remove = ecs_remove,
    .applied = ecs_applied,
    .affinity = ecs_affinity,
    .iam = &ecs_iam,
};
