#include "appautoscaling.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "owner.h"
#include "plan.h"
#include "tt_aws.h"
#include "tt_aws_protocol.h"
#include "tt_str.h"

#define AAS "application-autoscaling"
/* Application Auto Scaling's limits: 50 ids or names per Describe call, 256-char names. */
#define AAS_BATCH    50
#define AAS_NAME_MAX 256
/*
 * A predictive policy's forecast is read again once it is this old (seconds). AWS plans hourly
 * and refreshes a forecast every few hours, so reading it on every observe (each event, each
 * post-apply re-read) would only cost calls: this is the default resync period, and the memo
 * carries the last forecast between reads.
 */
#define FORECAST_MAX_AGE 600
/* How far ahead a forecast is read: AWS forecasts the next 48 hours. */
#define FORECAST_HORIZON (48 * 3600)

/* ---- the scalable target kinds ----------------------------------------------------------- */

static int ecs_id(const tt_target *t, char *out, size_t len)
{
    snprintf(out, len, "service/%s/%s", t->ecs->cluster, t->ecs->service);
    return 0;
}

static int rds_cluster_id(const tt_target *t, char *out, size_t len)
{
    snprintf(out, len, "cluster:%s", t->rds->cluster);
    return 0;
}

static int elasticache_id(const tt_target *t, char *out, size_t len)
{
    snprintf(out, len, "replication-group/%s", t->elasticache->replication_group);
    return 0;
}

static int lambda_id(const tt_target *t, char *out, size_t len)
{
    /* Provisioned concurrency is set on an alias (or version), never on the function. */
    if (t->lambda->alias == NULL)
        return -1;
    snprintf(out, len, "function:%s:%s", t->lambda->function, t->lambda->alias);
    return 0;
}

static const char *const ecs_metrics[] = {"ECSServiceAverageCPUUtilization",
                                          "ECSServiceAverageMemoryUtilization",
                                          "ALBRequestCountPerTarget", NULL};
static const char *const rds_metrics[] = {"RDSReaderAverageCPUUtilization",
                                          "RDSReaderAverageDatabaseConnections", NULL};
static const char *const elasticache_metrics[] = {
    "ElastiCachePrimaryEngineCPUUtilization", "ElastiCacheReplicaEngineCPUUtilization",
    "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage",
    "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage", NULL};
static const char *const lambda_metrics[] = {"LambdaProvisionedConcurrencyUtilization", NULL};

const tt_aas_kind tt_aas_kinds[] = {
    {TT_TARGET_ECS, NULL, "ecs", "ecs:service:DesiredCount", ecs_id, ecs_metrics, "ecs"},
    {TT_TARGET_RDS_CLUSTER, NULL, "rds", "rds:cluster:ReadReplicaCount", rds_cluster_id,
     rds_metrics, "rds"},
    {TT_TARGET_ELASTICACHE, "Replicas", "elasticache", "elasticache:replication-group:Replicas",
     elasticache_id, elasticache_metrics, "elasticache"},
    {TT_TARGET_ELASTICACHE, "NodeGroups", "elasticache", "elasticache:replication-group:NodeGroups",
     elasticache_id, elasticache_metrics, "elasticache"},
    {TT_TARGET_LAMBDA, NULL, "lambda", "lambda:function:ProvisionedConcurrency", lambda_id,
     lambda_metrics, "lambda"},
    {TT_TARGET_NONE, NULL, NULL, NULL, NULL, NULL, NULL},
};

int tt_aas_target_of(const tt_resource *r, tt_aas_target *t)
{
    const tt_target *tg;
    tt_target_kind tk;

    if (r->kind != TT_KIND_SCALING_POLICY || r->spec.sp == NULL)
        return -1;
    tg = r->spec.sp->target;
    tk = tt_target_kind_of(tg);
    for (const tt_aas_kind *k = tt_aas_kinds; k->target != TT_TARGET_NONE; k++) {
        /* The one variant today: ElastiCache scales replicas or node groups. */
        if (k->target != tk ||
            (k->variant != NULL && !tt_streq(k->variant, tg->elasticache->dimension)))
            continue;
        if (k->resource_id(tg, t->resource_id, sizeof(t->resource_id)) != 0)
            return -1;
        t->kind = k;
        t->service_namespace = k->service_namespace;
        t->dimension = k->dimension;
        return 0;
    }
    return -1;
}

/* "ns|resource-id|dimension": how the memo remembers a scalable target trimtab manages. */
static void target_key(const tt_aas_target *t, char *out, size_t len)
{
    snprintf(out, len, "%s|%s|%s", t->service_namespace, t->resource_id, t->dimension);
}

/* True when the memo says trimtab owns the target `t` (memos from before targets were listed
 * only say "owned", about the one target there was). */
static bool memo_owns(const json_t *memo, const tt_aas_target *t)
{
    const json_t *targets = json_object_get(memo, "targets");
    char key[800];
    size_t i;
    json_t *k;

    if (!json_is_true(json_object_get(memo, "owned")))
        return false;
    if (!json_is_array(targets))
        return true;
    target_key(t, key, sizeof(key));
    json_array_foreach(targets, i, k)
    {
        if (tt_streq(json_string_value(k), key))
            return true;
    }
    return false;
}

/* Appends the AWS names of every policy and scheduled action the spec declares. TT_ENOMEM. */
static tt_code desired_names(const tt_resource *r, json_t *policies, json_t *scheduled)
{
    const tt_scaling_policy_spec *s = r->spec.sp;
    char name[AAS_NAME_MAX + 1];
    int failed = 0;

    for (size_t i = 0; i < s->ntarget_tracking; i++) {
        tt_owner_name(r, s->target_tracking[i].name, AAS_NAME_MAX, name, sizeof(name));
        failed |= json_array_append_new(policies, json_string(name));
    }
    for (size_t i = 0; i < s->nstep_scaling; i++) {
        tt_owner_name(r, s->step_scaling[i].name, AAS_NAME_MAX, name, sizeof(name));
        failed |= json_array_append_new(policies, json_string(name));
    }
    for (size_t i = 0; i < s->npredictive; i++) {
        tt_owner_name(r, s->predictive[i].name, AAS_NAME_MAX, name, sizeof(name));
        failed |= json_array_append_new(policies, json_string(name));
    }
    for (size_t i = 0; i < s->nscheduled; i++) {
        tt_owner_name(r, s->scheduled[i].name, AAS_NAME_MAX, name, sizeof(name));
        failed |= json_array_append_new(scheduled, json_string(name));
    }
    return failed ? TT_ENOMEM : TT_OK;
}

/* ---- observe ------------------------------------------------------------------------------ */

/* The "aas" part of item `i`'s view (borrowed). */
static json_t *aas_view(tt_batch *b, size_t i)
{
    return json_object_get(tt_batch_view(b, i), "aas");
}

/*
 * The view of a target trimtab managed before spec.target moved ("stale": {key: {target,
 * policies, scheduled}}), or NULL when `rid`/`dim` is not one.
 */
static json_t *stale_entry(json_t *view, const char *ns, const char *rid, const char *dim)
{
    json_t *stale = json_object_get(view, "stale");
    char key[800];

    if (json_object_size(stale) == 0)
        return NULL;
    snprintf(key, sizeof(key), "%s|%s|%s", ns, rid, dim);
    return json_object_get(stale, key);
}

/* The input of a Describe call by namespace: {"ServiceNamespace": group, <list>: [keys]}. */
static json_t *names_input(const char *group, const char *list, const tt_batch_key *keys, size_t n)
{
    return json_pack("{s:s,s:o}", "ServiceNamespace", group, list, tt_batch_key_list(keys, n));
}

static json_t *targets_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    return names_input(group, "ResourceIds", keys, n);
}

static json_t *policies_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    return names_input(group, "PolicyNames", keys, n);
}

static json_t *scheduled_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    return names_input(group, "ScheduledActionNames", keys, n);
}

/* Files each scalable target under the item that asked for its id (or its stale entry). */
static tt_code targets_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    size_t i;
    json_t *t;
    int failed = 0;

    json_array_foreach(json_object_get(output, "ScalableTargets"), i, t)
    {
        const char *rid = json_string_value(json_object_get(t, "ResourceId"));
        const char *dim = json_string_value(json_object_get(t, "ScalableDimension"));
        for (size_t k = 0; rid && dim && k < n; k++) {
            const tt_observe_item *item = tt_batch_item(b, keys[k].item);
            json_t *view = aas_view(b, keys[k].item), *stale;
            tt_aas_target want;
            if (strcmp(keys[k].key, rid) != 0 || tt_aas_target_of(item->r, &want) != 0)
                continue;
            if (strcmp(want.resource_id, rid) == 0 && strcmp(want.dimension, dim) == 0)
                failed |= json_object_set(view, "target", t);
            else if ((stale = stale_entry(view, want.service_namespace, rid, dim)) != NULL)
                failed |= json_object_set(stale, "target", t);
        }
    }
    return failed ? TT_ENOMEM : TT_OK;
}

/* Files policies or scheduled actions (`list` of the output) under the items that named them. */
static tt_code named_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n,
                          const char *list, const char *name_key, const char *view_key)
{
    size_t i;
    json_t *o;
    int failed = 0;

    json_array_foreach(json_object_get(output, list), i, o)
    {
        const char *name = json_string_value(json_object_get(o, name_key));
        const char *rid = json_string_value(json_object_get(o, "ResourceId"));
        const char *dim = json_string_value(json_object_get(o, "ScalableDimension"));
        for (size_t k = 0; name != NULL && k < n; k++) {
            json_t *view = aas_view(b, keys[k].item), *stale;
            tt_aas_target want;
            if (strcmp(keys[k].key, name) != 0 ||
                tt_aas_target_of(tt_batch_item(b, keys[k].item)->r, &want) != 0)
                continue;
            /* Names are unique per scalable target, not per namespace: an object of that name
             * on another target is not this one — unless it is on the target trimtab managed
             * before spec.target moved, which is cleaned up. */
            if ((rid != NULL && strcmp(rid, want.resource_id) != 0) ||
                (dim != NULL && strcmp(dim, want.dimension) != 0)) {
                stale = rid && dim ? stale_entry(view, want.service_namespace, rid, dim) : NULL;
                if (stale != NULL)
                    failed |= json_object_set(json_object_get(stale, view_key), name, o);
                continue;
            }
            failed |= json_object_set(json_object_get(view, view_key), name, o);
        }
    }
    return failed ? TT_ENOMEM : TT_OK;
}

static tt_code policies_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return named_join(b, output, keys, n, "ScalingPolicies", "PolicyName", "policies");
}

static tt_code scheduled_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return named_join(b, output, keys, n, "ScheduledActions", "ScheduledActionName", "scheduled");
}

static json_t *tags_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)group;
    (void)n;
    return json_pack("{s:s}", "ResourceARN", keys[0].key);
}

static tt_code tags_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    (void)n;
    return json_object_set(aas_view(b, keys[0].item), "tags", json_object_get(output, "Tags")) == 0
               ? TT_OK
               : TT_ENOMEM;
}

static json_t *activities_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    tt_aas_target t;

    (void)n;
    if (tt_aas_target_of(tt_batch_item(b, keys[0].item)->r, &t) != 0)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:i}", "ServiceNamespace", group, "ResourceId", keys[0].key,
                     "ScalableDimension", t.dimension, "MaxResults", 5);
}

static tt_code activities_join(tt_batch *b, const json_t *output, const tt_batch_key *keys,
                               size_t n)
{
    (void)n;
    return json_object_set(aas_view(b, keys[0].item), "activities",
                           json_object_get(output, "ScalingActivities")) == 0
               ? TT_OK
               : TT_ENOMEM;
}

static const tt_batch_op op_targets = {
    AAS, "DescribeScalableTargets", AAS_BATCH, false, false, targets_input, targets_join, NULL};
static const tt_batch_op op_policies = {
    AAS, "DescribeScalingPolicies", AAS_BATCH, false, false, policies_input, policies_join, NULL};
static const tt_batch_op op_scheduled = {
    AAS, "DescribeScheduledActions", AAS_BATCH, false, false, scheduled_input, scheduled_join,
    NULL};
static const tt_batch_op op_tags = {
    AAS, "ListTagsForResource", 1, false, false, tags_input, tags_join, NULL};
/* The newest five activities, for status; a failure leaves them out. */
static const tt_batch_op op_activities = {
    AAS, "DescribeScalingActivities", 1, true, true, activities_input, activities_join, NULL};

static json_t *forecast_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    time_t now = time(NULL);
    tt_aas_target t;

    (void)n;
    if (tt_aas_target_of(tt_batch_item(b, keys[0].item)->r, &t) != 0)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "ServiceNamespace", group, "ResourceId",
                     t.resource_id, "ScalableDimension", t.dimension, "PolicyName", keys[0].key,
                     "StartTime", (json_int_t)now, "EndTime", (json_int_t)(now + FORECAST_HORIZON));
}

/*
 * Files the next peak of a policy's capacity forecast as forecasts[policy] = {peakCapacity,
 * peakTime, updateTime, readAt}: the highest value at or after now, its first time. A forecast
 * without points (too little history yet) is filed without a peak, so it is not read again
 * before FORECAST_MAX_AGE either.
 */
static tt_code forecast_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    const json_t *cap = json_object_get(output, "CapacityForecast");
    const json_t *ts = json_object_get(cap, "Timestamps"), *vals = json_object_get(cap, "Values");
    double now = (double)time(NULL), best = -1;
    const char *best_time = NULL;
    json_t *f, *forecasts;

    (void)n;
    for (size_t i = 0; i < json_array_size(ts) && i < json_array_size(vals); i++) {
        double at, v = json_number_value(json_array_get(vals, i));
        const char *when = json_string_value(json_array_get(ts, i));
        /* The hour in progress still counts: its point is stamped at its start. */
        if (when == NULL || tt_aws_parse_time(when, &at) != 0 || at + 3600 <= now || v <= best)
            continue;
        best = v;
        best_time = when;
    }
    f = json_pack("{s:I}", "readAt", (json_int_t)now);
    if (f != NULL && best_time != NULL) {
        /* Capacity is whole tasks; a fractional (or absurdly large) forecast stays as AWS gave
         * it, and only a value an integer holds is converted. */
        json_object_set_new(f, "peakCapacity",
                            best < 1e15 && best == (double)(json_int_t)best
                                ? json_integer((json_int_t)best)
                                : json_real(best));
        json_object_set_new(f, "peakTime", json_string(best_time));
    }
    if (f != NULL && json_is_string(json_object_get(output, "UpdateTime")))
        json_object_set(f, "updateTime", json_object_get(output, "UpdateTime"));
    forecasts = json_object_get(aas_view(b, keys[0].item), "forecasts");
    return f != NULL && json_object_set_new(forecasts, keys[0].key, f) == 0 ? TT_OK : TT_ENOMEM;
}

/* A forecast feeds status only: a failure leaves it out. One policy per call (the API's). */
static const tt_batch_op op_forecast = {
    AAS, "GetPredictiveScalingForecast", 1, true, false, forecast_input, forecast_join, NULL};

/*
 * Asks for the forecast of each predictive policy of item `i` that exists, unless the memo
 * holds one read less than FORECAST_MAX_AGE ago: that one is copied into the view instead.
 */
static void read_forecasts(tt_batch *b, size_t i)
{
    const tt_observe_item *item = tt_batch_item(b, i);
    const tt_scaling_policy_spec *s = item->r->spec.sp;
    const json_t *memo = json_object_get(item->memo, "forecasts");
    json_t *view = aas_view(b, i), *forecasts = json_object();
    char name[AAS_NAME_MAX + 1];
    json_int_t now = (json_int_t)time(NULL);
    tt_aas_target t;

    if (forecasts == NULL || json_object_set_new(view, "forecasts", forecasts) != 0) {
        tt_batch_fail_nomem(b, i, "reading predictive scaling forecasts");
        return;
    }
    if (tt_aas_target_of(item->r, &t) != 0)
        return;
    for (size_t k = 0; k < s->npredictive; k++) {
        const json_t *old, *have;
        tt_owner_name(item->r, s->predictive[k].name, AAS_NAME_MAX, name, sizeof(name));
        have = json_object_get(json_object_get(view, "policies"), name);
        /* A policy of that name and another type has no forecast until the diff replaces it. */
        if (!tt_streq(json_string_value(json_object_get(have, "PolicyType")), "PredictiveScaling"))
            continue;
        old = json_object_get(memo, name);
        if (json_integer_value(json_object_get(old, "readAt")) > now - FORECAST_MAX_AGE &&
            json_integer_value(json_object_get(old, "readAt")) <= now)
            json_object_set(forecasts, name, (json_t *)old);
        else
            tt_batch_add(b, &op_forecast, t.service_namespace, name, i);
    }
}

/*
 * After the first reads: the tags of targets that exist but are not known to be trimtab's, and
 * the forecasts of predictive policies that exist.
 */
static void after_first_reads(tt_batch *b, int phase)
{
    if (phase != 1)
        return;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        json_t *target = json_object_get(aas_view(b, i), "target");
        const char *arn = json_string_value(json_object_get(target, "ScalableTargetARN"));
        tt_aas_target t;
        if (tt_batch_failed(b, i) || tt_aas_target_of(tt_batch_item(b, i)->r, &t) != 0)
            continue;
        if (tt_batch_item(b, i)->r->spec.sp->npredictive > 0)
            read_forecasts(b, i);
        if (arn == NULL || memo_owns(tt_batch_item(b, i)->memo, &t))
            continue;
        tt_batch_add(b, &op_tags, "", arn, i);
    }
}

void tt_aas_read_activities(tt_batch *b, size_t i)
{
    tt_aas_target t;

    if (tt_aas_target_of(tt_batch_item(b, i)->r, &t) == 0)
        tt_batch_add(b, &op_activities, t.service_namespace, t.resource_id, i);
}

/* json_array_extend for a list the memo may lack: 0, or -1 when out of memory. */
static int extend(json_t *list, const json_t *more)
{
    return json_is_array(more) ? json_array_extend(list, (json_t *)more) : 0;
}

/*
 * Sets up item `i`'s "aas" view and asks for its reads: its target (and those the memo lists
 * from before spec.target moved), and every policy and scheduled action it declares or the
 * memo says trimtab created before (to delete them). TT_ENOMEM fails the item.
 */
static void observe_item(tt_batch *b, size_t i)
{
    const tt_observe_item *item = tt_batch_item(b, i);
    json_t *view = json_pack("{s:n,s:{},s:{},s:{}}", "target", "policies", "scheduled", "stale");
    json_t *want_p = json_array(), *want_s = json_array(), *seen = json_object(), *name;
    char cur[800];
    size_t k;
    json_t *tk;
    tt_aas_target t;

    /* Nothing to read for a policy without a scalable target (a Lambda function's reserved
     * concurrency alone): its view gets no "aas" part. */
    if (tt_aas_target_of(item->r, &t) != 0)
        goto out;
    if (view == NULL || want_p == NULL || want_s == NULL || seen == NULL ||
        json_object_set(tt_batch_view(b, i), "aas", view) != 0 ||
        desired_names(item->r, want_p, want_s) != TT_OK ||
        extend(want_p, json_object_get(item->memo, "policies")) != 0 ||
        extend(want_s, json_object_get(item->memo, "scheduled")) != 0) {
        tt_batch_fail_nomem(b, i, "reading Application Auto Scaling");
        goto out;
    }
    tt_batch_add(b, &op_targets, t.service_namespace, t.resource_id, i);
    /* Targets the memo lists besides the current one: spec.target moved away. */
    target_key(&t, cur, sizeof(cur));
    json_array_foreach(json_object_get(item->memo, "targets"), k, tk)
    {
        const char *s = json_string_value(tk);
        const char *a = s ? strchr(s, '|') : NULL, *z = a ? strrchr(s, '|') : NULL;
        json_t *entry;
        if (s == NULL || a == NULL || z == a || strcmp(s, cur) == 0 ||
            (size_t)(a - s) != strlen(t.service_namespace) ||
            strncmp(s, t.service_namespace, (size_t)(a - s)) != 0)
            continue;
        entry = json_pack("{s:s%,s:s,s:n,s:{},s:{}}", "resourceId", a + 1, (size_t)(z - a - 1),
                          "dimension", z + 1, "target", "policies", "scheduled");
        if (json_object_set_new(json_object_get(view, "stale"), s, entry) != 0) {
            tt_batch_fail_nomem(b, i, "reading Application Auto Scaling");
            goto out;
        }
        tt_batch_add(b, &op_targets, t.service_namespace,
                     json_string_value(json_object_get(entry, "resourceId")), i);
    }
    /* Each name once: the memo repeats what the spec still declares. */
    json_array_foreach(want_p, k, name)
    {
        if (!json_is_string(name) || json_object_get(seen, json_string_value(name)) != NULL)
            continue;
        json_object_set(seen, json_string_value(name), json_true());
        tt_batch_add(b, &op_policies, t.service_namespace, json_string_value(name), i);
    }
    json_object_clear(seen);
    json_array_foreach(want_s, k, name)
    {
        if (!json_is_string(name) || json_object_get(seen, json_string_value(name)) != NULL)
            continue;
        json_object_set(seen, json_string_value(name), json_true());
        tt_batch_add(b, &op_scheduled, t.service_namespace, json_string_value(name), i);
    }
out:
    json_decref(view);
    json_decref(want_p);
    json_decref(want_s);
    json_decref(seen);
}

tt_code tt_aas_observe_batch(tt_batch *b, tt_error *err)
{
    for (size_t i = 0; i < tt_batch_size(b); i++)
        observe_item(b, i);
    return tt_batch_on_phase(b, after_first_reads, err);
}

/* ---- diff ------------------------------------------------------------------------------- */

double tt_budget_guard_over(const tt_diff_input *in, const tt_budget_guard *g)
{
    char key[300];
    const json_t *pu;

    snprintf(key, sizeof(key), "Budget/%s", g->budget);
    pu = json_object_get(json_object_get(in->deps, key), "percentUsed");
    if (!json_is_number(pu) || json_number_value(pu) <= g->above_percent.v)
        return -1;
    return json_number_value(pu);
}

int64_t tt_aas_effective_max(const tt_diff_input *in, json_t **guards_active)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    int64_t max = s->max_capacity.v;

    if (guards_active != NULL)
        *guards_active = json_array();
    for (size_t i = 0; i < s->nbudget_guard; i++) {
        const tt_budget_guard *g = &s->budget_guard[i];
        double pu = tt_budget_guard_over(in, g);
        if (pu < 0 || !g->max_capacity.set)
            continue;
        if (g->max_capacity.v < max)
            max = g->max_capacity.v;
        if (guards_active != NULL && *guards_active != NULL)
            json_array_append_new(*guards_active,
                                  json_pack("{s:s,s:f,s:f,s:I}", "budget", g->budget, "percentUsed",
                                            pu, "abovePercent", g->above_percent.v, "maxCapacity",
                                            (json_int_t)g->max_capacity.v));
    }
    return max;
}

static json_t *tracking_config(const tt_target_tracking *t)
{
    json_t *c = json_pack("{s:f,s:b}", "TargetValue", t->target_value.v, "DisableScaleIn",
                          t->disable_scale_in.v);

    if (t->predefined_metric != NULL) {
        json_t *p = json_pack("{s:s}", "PredefinedMetricType", t->predefined_metric);
        if (t->resource_label != NULL)
            json_object_set_new(p, "ResourceLabel", json_string(t->resource_label));
        json_object_set_new(c, "PredefinedMetricSpecification", p);
    } else {
        const tt_custom_metric *m = t->custom_metric;
        json_t *dims = json_array();
        json_t *cm = json_pack("{s:s,s:s,s:s}", "MetricName", m->metric_name, "Namespace",
                               m->namespace_, "Statistic", m->statistic);
        for (size_t i = 0; i < m->ndimensions; i++)
            json_array_append_new(dims, json_pack("{s:s,s:s}", "Name", m->dimensions[i].key,
                                                  "Value", m->dimensions[i].value));
        json_object_set_new(cm, "Dimensions", dims);
        if (m->unit != NULL)
            json_object_set_new(cm, "Unit", json_string(m->unit));
        json_object_set_new(c, "CustomizedMetricSpecification", cm);
    }
    if (t->scale_out_cooldown.set)
        json_object_set_new(c, "ScaleOutCooldown", json_integer(t->scale_out_cooldown.v));
    if (t->scale_in_cooldown.set)
        json_object_set_new(c, "ScaleInCooldown", json_integer(t->scale_in_cooldown.v));
    return c;
}

static json_t *step_config(const tt_step_scaling *s)
{
    json_t *steps = json_array();
    json_t *c = json_pack("{s:s,s:s}", "AdjustmentType", s->adjustment_type,
                          "MetricAggregationType", s->metric_aggregation_type);

    for (size_t i = 0; i < s->nsteps; i++) {
        json_t *st = json_pack("{s:I}", "ScalingAdjustment", (json_int_t)s->steps[i].adjustment.v);
        if (s->steps[i].lower.set)
            json_object_set_new(st, "MetricIntervalLowerBound", json_real(s->steps[i].lower.v));
        if (s->steps[i].upper.set)
            json_object_set_new(st, "MetricIntervalUpperBound", json_real(s->steps[i].upper.v));
        json_array_append_new(steps, st);
    }
    json_object_set_new(c, "StepAdjustments", steps);
    if (s->cooldown.set)
        json_object_set_new(c, "Cooldown", json_integer(s->cooldown.v));
    if (s->min_adjustment_magnitude.set)
        json_object_set_new(c, "MinAdjustmentMagnitude",
                            json_integer(s->min_adjustment_magnitude.v));
    return c;
}

/* One CloudWatch metric as predictive scaling takes it: a single metric data query. */
static json_t *predictive_query(const tt_custom_metric *m)
{
    json_t *metric =
        json_pack("{s:s,s:s}", "Namespace", m->namespace_, "MetricName", m->metric_name);
    json_t *stat = json_pack("{s:o,s:s}", "Metric", metric, "Stat", m->statistic);

    if (m->ndimensions > 0 && metric != NULL) {
        json_t *dims = json_array();
        for (size_t i = 0; i < m->ndimensions; i++)
            json_array_append_new(dims, json_pack("{s:s,s:s}", "Name", m->dimensions[i].key,
                                                  "Value", m->dimensions[i].value));
        json_object_set_new(metric, "Dimensions", dims);
    }
    if (m->unit != NULL && stat != NULL)
        json_object_set_new(stat, "Unit", json_string(m->unit));
    return json_pack("{s:[{s:s,s:o,s:b}]}", "MetricDataQueries", "Id", "m1", "MetricStat", stat,
                     "ReturnData", 1);
}

/* A predefined predictive metric, with the ALB target group when the spec names one. */
static json_t *predictive_predefined(const tt_predictive *p, const char *type)
{
    json_t *o = json_pack("{s:s}", "PredefinedMetricType", type);

    if (o != NULL && p->resource_label != NULL)
        json_object_set_new(o, "ResourceLabel", json_string(p->resource_label));
    return o;
}

static json_t *predictive_config(const tt_predictive *p)
{
    json_t *spec = json_pack("{s:f}", "TargetValue", p->target_value.v);
    json_t *c = json_pack("{s:[o],s:s,s:s}", "MetricSpecifications", spec, "Mode", p->mode,
                          "MaxCapacityBreachBehavior", p->max_capacity_breach);

    if (c == NULL)
        return NULL;
    if (p->metric_pair != NULL)
        json_object_set_new(spec, "PredefinedMetricPairSpecification",
                            predictive_predefined(p, p->metric_pair));
    if (p->scaling_metric != NULL)
        json_object_set_new(spec, "PredefinedScalingMetricSpecification",
                            predictive_predefined(p, p->scaling_metric));
    if (p->load_metric != NULL)
        json_object_set_new(spec, "PredefinedLoadMetricSpecification",
                            predictive_predefined(p, p->load_metric));
    if (p->custom_scaling_metric != NULL)
        json_object_set_new(spec, "CustomizedScalingMetricSpecification",
                            predictive_query(p->custom_scaling_metric));
    if (p->custom_load_metric != NULL)
        json_object_set_new(spec, "CustomizedLoadMetricSpecification",
                            predictive_query(p->custom_load_metric));
    if (p->custom_capacity_metric != NULL)
        json_object_set_new(spec, "CustomizedCapacityMetricSpecification",
                            predictive_query(p->custom_capacity_metric));
    if (p->scheduling_buffer_time.set)
        json_object_set_new(c, "SchedulingBufferTime", json_integer(p->scheduling_buffer_time.v));
    if (p->max_capacity_buffer.set)
        json_object_set_new(c, "MaxCapacityBuffer", json_integer(p->max_capacity_buffer.v));
    return c;
}

/* The spec's names for the configuration fields, so plans read like the manifest. */
static const struct {
    const char *aws, *spec;
} field_names[] = {
    {"TargetValue", "targetValue"},
    {"DisableScaleIn", "disableScaleIn"},
    {"PredefinedMetricSpecification", "predefinedMetric"},
    {"CustomizedMetricSpecification", "customMetric"},
    {"ScaleOutCooldown", "scaleOutCooldown"},
    {"ScaleInCooldown", "scaleInCooldown"},
    {"AdjustmentType", "adjustmentType"},
    {"MetricAggregationType", "metricAggregationType"},
    {"StepAdjustments", "steps"},
    {"Cooldown", "cooldown"},
    {"MinAdjustmentMagnitude", "minAdjustmentMagnitude"},
    {"MetricSpecifications", "metric"},
    {"Mode", "mode"},
    {"SchedulingBufferTime", "schedulingBufferTime"},
    {"MaxCapacityBreachBehavior", "maxCapacityBreachBehavior"},
    {"MaxCapacityBuffer", "maxCapacityBuffer"},
};

static const char *spec_field(const char *aws)
{
    for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++) {
        if (strcmp(field_names[i].aws, aws) == 0)
            return field_names[i].spec;
    }
    return aws;
}

/* Sorts step adjustments by lower bound so order in AWS's answer does not count as drift. */
static int step_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const json_t *lx = json_object_get(x, "MetricIntervalLowerBound");
    const json_t *ly = json_object_get(y, "MetricIntervalLowerBound");

    if (lx == NULL || ly == NULL)
        return (lx != NULL) - (ly != NULL);
    return (json_number_value(lx) > json_number_value(ly)) -
           (json_number_value(lx) < json_number_value(ly));
}

/* Compares a desired policy configuration with AWS's; only fields the spec sets count. */
static void compare_config(json_t *changes, const json_t *want, const json_t *have)
{
    const char *k;
    json_t *w;

    json_object_foreach((json_t *)want, k, w)
    {
        const json_t *h = json_object_get(have, k);
        if (strcmp(k, "StepAdjustments") == 0) {
            json_t *hs = tt_json_sorted(h, step_cmp);
            tt_plan_compare(changes, spec_field(k), w, hs);
            json_decref(hs);
        } else if (h == NULL && strcmp(k, "DisableScaleIn") == 0) {
            /* AWS leaves DisableScaleIn out when it is false (a policy another tool made
             * without it): the same as trimtab's explicit false. */
            tt_plan_compare(changes, spec_field(k), w, json_false());
        } else {
            tt_plan_compare(changes, spec_field(k), w, h);
        }
    }
}

/* Appends the PutScalingPolicy that makes `have` (NULL: absent) `cfg` (stolen), unless they
 * agree. The action (borrowed), or NULL when there is none. */
static json_t *put_policy(json_t *plan, const tt_aas_target *t, const char *region,
                          const char *name, const char *type, const char *cfg_key, json_t *cfg,
                          const json_t *have)
{
    json_t *changes = json_array(), *action;
    char object[400];

    snprintf(object, sizeof(object), "scaling policy %s", name);
    if (have != NULL) {
        if (!tt_streq(json_string_value(json_object_get(have, "PolicyType")), type))
            tt_plan_compare_new(changes, "policyType", json_string(type),
                                json_object_get(have, "PolicyType"));
        else
            compare_config(changes, cfg, json_object_get(have, cfg_key));
        if (json_array_size(changes) == 0) {
            json_decref(changes);
            json_decref(cfg);
            return NULL;
        }
    } else {
        /* A new policy: every field it sets is a change from nothing. */
        const char *k;
        json_t *v;
        json_object_foreach(cfg, k, v) tt_plan_compare(changes, spec_field(k), v, NULL);
    }
    action =
        tt_plan_add(plan, have ? "update" : "create", object, AAS, "PutScalingPolicy", region,
                    json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "PolicyName", name, "ServiceNamespace",
                              t->service_namespace, "ResourceId", t->resource_id,
                              "ScalableDimension", t->dimension, "PolicyType", type, cfg_key, cfg));
    if (action != NULL)
        json_object_set_new(action, "changes", changes);
    else
        json_decref(changes);
    return action;
}

/*
 * Puts predictive policy `p`. A change that lets a policy act on its forecast — from
 * ForecastOnly (or from another policy type) to ForecastAndScale, or a new policy that starts
 * so — carries a warning that `trimtab plan` prints on its own line: from then on AWS sets the
 * minimum capacity ahead of the forecast.
 */
static void put_predictive(json_t *plan, const tt_aas_target *t, const char *region,
                           const char *name, const tt_predictive *p, const json_t *have)
{
    const char *was = json_string_value(
        json_object_get(json_object_get(have, "PredictiveScalingPolicyConfiguration"), "Mode"));
    json_t *action = put_policy(plan, t, region, name, "PredictiveScaling",
                                "PredictiveScalingPolicyConfiguration", predictive_config(p), have);
    char msg[400];

    if (action == NULL || strcmp(p->mode, "ForecastAndScale") != 0 ||
        tt_streq(was, "ForecastAndScale"))
        return;
    /* AWS reads an absent Mode as ForecastOnly. */
    snprintf(msg, sizeof(msg),
             "predictive policy %s switches from %s to ForecastAndScale: AWS will scale on the "
             "forecast",
             p->name,
             have == NULL  ? "nothing"
             : was != NULL ? was
                           : "ForecastOnly");
    json_object_set_new(action, "warning", json_string(msg));
}

/* A scheduled action's capacities never go above `cap`, the budget guard's clamp (INT64_MAX
 * when none is active): a morning schedule raising the maximum would undo the clamp, and one
 * raising the minimum above it would force the spend it guards against. */
static void put_scheduled(json_t *plan, const tt_aas_target *t, const char *region,
                          const char *name, const tt_scheduled *s, int64_t cap, const json_t *have)
{
    json_t *changes = json_array(), *want_action = json_object(), *input, *action;
    const char *tz = s->timezone ? s->timezone : "UTC";
    const char *have_tz = json_string_value(json_object_get(have, "Timezone"));
    char object[400];

    if (s->min_capacity.set)
        json_object_set_new(want_action, "MinCapacity",
                            json_integer(s->min_capacity.v < cap ? s->min_capacity.v : cap));
    if (s->max_capacity.set)
        json_object_set_new(want_action, "MaxCapacity",
                            json_integer(s->max_capacity.v < cap ? s->max_capacity.v : cap));
    if (have == NULL) {
        json_t *want_sched = json_string(s->aws_schedule), *want_tz = json_string(tz);
        tt_plan_compare(changes, "schedule", want_sched, NULL);
        tt_plan_compare(changes, "timezone", want_tz, NULL);
        tt_plan_compare(changes, "capacity", want_action, NULL);
        json_decref(want_sched);
        json_decref(want_tz);
    } else {
        json_t *want_sched = json_string(s->aws_schedule), *want_tz = json_string(tz);
        tt_plan_compare(changes, "schedule", want_sched, json_object_get(have, "Schedule"));
        /* AWS leaves Timezone out when it is UTC. */
        if (!(have_tz == NULL && strcmp(tz, "UTC") == 0))
            tt_plan_compare(changes, "timezone", want_tz, json_object_get(have, "Timezone"));
        tt_plan_compare(changes, "capacity", want_action,
                        json_object_get(have, "ScalableTargetAction"));
        json_decref(want_sched);
        json_decref(want_tz);
        if (json_array_size(changes) == 0) {
            json_decref(changes);
            json_decref(want_action);
            return;
        }
    }
    input =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "ServiceNamespace", t->service_namespace,
                  "ScheduledActionName", name, "ResourceId", t->resource_id, "ScalableDimension",
                  t->dimension, "Schedule", s->aws_schedule, "ScalableTargetAction", want_action);
    json_object_set_new(input, "Timezone", json_string(tz));
    snprintf(object, sizeof(object), "scheduled action %s", name);
    action = tt_plan_add(plan, have ? "update" : "create", object, AAS, "PutScheduledAction",
                         region, input);
    if (action != NULL)
        json_object_set_new(action, "changes", changes);
    else
        json_decref(changes);
}

/* Decides whether trimtab may manage an existing target; sets out->blocked when not. */
static int check_ownership(const tt_diff_input *in, const json_t *observed, const tt_aas_target *t,
                           tt_diff_output *out)
{
    const json_t *target = json_object_get(observed, "target");
    char owner[600], what[700];

    snprintf(what, sizeof(what), "scalable target %s", t->resource_id);
    tt_owner_value(in->r, owner, sizeof(owner));
    return tt_owner_gate(
        in->r, memo_owns(in->memo, t), tt_owner_tag_in(json_object_get(observed, "tags")), what,
        out, AAS, "TagResource", in->region,
        json_pack("{s:O,s:{s:s}}", "ResourceARN", json_object_get(target, "ScalableTargetARN"),
                  "Tags", TT_OWNER_TAG, owner));
}

static void delete_unwanted(json_t *plan, const tt_aas_target *t, const char *region,
                            const json_t *observed, const char *view_key, const json_t *wanted,
                            const char *operation, const char *name_key, const char *what)
{
    const char *name;
    json_t *o;

    json_object_foreach(json_object_get(observed, view_key), name, o)
    {
        size_t i;
        json_t *w;
        int keep = 0;
        char object[400];
        json_array_foreach(wanted, i, w) keep |= strcmp(json_string_value(w), name) == 0;
        if (keep)
            continue;
        snprintf(object, sizeof(object), "%s %s", what, name);
        tt_plan_add(plan, "delete", object, AAS, operation, region,
                    json_pack("{s:s,s:s,s:s,s:s}", name_key, name, "ServiceNamespace",
                              t->service_namespace, "ResourceId", t->resource_id,
                              "ScalableDimension", t->dimension));
    }
}

/*
 * Deletes what trimtab left on targets it managed before spec.target moved: their policies and
 * scheduled actions, then the target itself, so the old service stops being scaled.
 */
static void delete_stale(json_t *plan, const char *region, const json_t *observed)
{
    json_t *none = json_array();
    const char *key;
    json_t *st;

    json_object_foreach(json_object_get(observed, "stale"), key, st)
    {
        tt_aas_target old;
        const char *bar = strchr(key, '|');
        char ns[32];
        if (bar == NULL || (size_t)(bar - key) >= sizeof(ns))
            continue;
        snprintf(ns, sizeof(ns), "%.*s", (int)(bar - key), key);
        old.service_namespace = ns;
        old.dimension = json_string_value(json_object_get(st, "dimension"));
        snprintf(old.resource_id, sizeof(old.resource_id), "%s",
                 json_string_value(json_object_get(st, "resourceId")));
        delete_unwanted(plan, &old, region, st, "policies", none, "DeleteScalingPolicy",
                        "PolicyName", "scaling policy");
        delete_unwanted(plan, &old, region, st, "scheduled", none, "DeleteScheduledAction",
                        "ScheduledActionName", "scheduled action");
        if (json_is_object(json_object_get(st, "target"))) {
            char object[700];
            snprintf(object, sizeof(object), "scalable target %s (spec.target moved away)",
                     old.resource_id);
            tt_plan_add(plan, "delete", object, AAS, "DeregisterScalableTarget", region,
                        json_pack("{s:s,s:s,s:s}", "ServiceNamespace", ns, "ResourceId",
                                  old.resource_id, "ScalableDimension", old.dimension));
        }
    }
    json_decref(none);
}

/* Appends RegisterScalableTarget for `t` with its bounds, tagged with `owner` when it creates
 * the target (NULL on an update: tags are only set on creation). The action, or NULL. */
static json_t *register_target(json_t *plan, const char *verb, const tt_aas_target *t,
                               const char *region, int64_t min, int64_t max, const char *owner)
{
    json_t *input = json_pack("{s:s,s:s,s:s,s:I,s:I}", "ServiceNamespace", t->service_namespace,
                              "ResourceId", t->resource_id, "ScalableDimension", t->dimension,
                              "MinCapacity", (json_int_t)min, "MaxCapacity", (json_int_t)max);
    char object[700];

    if (input != NULL && owner != NULL)
        json_object_set_new(input, "Tags", json_pack("{s:s}", TT_OWNER_TAG, owner));
    snprintf(object, sizeof(object), "scalable target %s", t->resource_id);
    return tt_plan_add(plan, verb, object, AAS, "RegisterScalableTarget", region, input);
}

json_t *tt_budget_clamp_condition(const json_t *guards, const char *effect)
{
    tt_buf msg;
    size_t i;
    json_t *g, *out;

    tt_buf_init(&msg);
    json_array_foreach(guards, i, g)
    {
        tt_buf_printf(&msg, "%sbudget %s at %g%% (above %g%%)", i ? ", " : "",
                      json_string_value(json_object_get(g, "budget")),
                      json_number_value(json_object_get(g, "percentUsed")),
                      json_number_value(json_object_get(g, "abovePercent")));
    }
    if (json_array_size(guards) > 0)
        tt_buf_printf(&msg, ": %s", effect);
    else
        tt_buf_printf(&msg, "no guarding budget is above its percentage: %s", effect);
    out = json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "type", "BudgetClamped", "status",
                    json_array_size(guards) > 0 ? "True" : "False", "reason",
                    json_array_size(guards) > 0 ? "BudgetExceeded" : "WithinBudget", "message",
                    tt_buf_str(&msg), "event", "Normal");
    tt_buf_cleanup(&msg);
    return out;
}

/* The BudgetClamped condition of a guarded policy on an Application Auto Scaling target. */
static json_t *clamp_condition(const tt_scaling_policy_spec *s, const json_t *guards, int64_t max)
{
    char effect[120];

    if (json_array_size(guards) > 0)
        snprintf(effect, sizeof(effect), "maxCapacity clamped from %lld to %lld",
                 (long long)s->max_capacity.v, (long long)max);
    else
        snprintf(effect, sizeof(effect), "maxCapacity %lld", (long long)s->max_capacity.v);
    return tt_budget_clamp_condition(guards, effect);
}

tt_code tt_aas_diff(const tt_diff_input *in, const json_t *observed, tt_diff_output *out,
                    tt_error *err)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const json_t *target = json_object_get(observed, "target");
    json_t *want_p = json_array(), *want_s = json_array(), *changes, *guards = NULL;
    char owner[600], name[AAS_NAME_MAX + 1];
    int64_t max = tt_aas_effective_max(in, &guards);
    /* The minimum follows a clamp below it (validation keeps guards at or above minCapacity,
     * so this only matters if that rule is ever relaxed). */
    int64_t min = s->min_capacity.v < max ? s->min_capacity.v : max;
    tt_aas_target t;

    tt_code rc = TT_OK;

    if (tt_aas_target_of(in->r, &t) != 0) {
        rc = tt_error_set(err, TT_EINVAL, "%s has no scalable target", in->r->key);
        goto out;
    }
    if (s->nbudget_guard > 0)
        out->conditions = clamp_condition(s, guards, max);
    if (want_p == NULL || want_s == NULL || desired_names(in->r, want_p, want_s) != TT_OK) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
    tt_owner_value(in->r, owner, sizeof(owner));

    if (target != NULL && !json_is_null(target)) {
        if (check_ownership(in, observed, &t, out) != 0)
            goto out;
        changes = json_array();
        tt_plan_compare_new(changes, "minCapacity", json_integer(min),
                            json_object_get(target, "MinCapacity"));
        tt_plan_compare_new(changes, "maxCapacity", json_integer(max),
                            json_object_get(target, "MaxCapacity"));
        if (json_array_size(changes) > 0) {
            json_t *a = register_target(out->plan, "update", &t, in->region, min, max, NULL);
            if (a != NULL)
                json_object_set_new(a, "changes", changes);
            else
                json_decref(changes);
        } else {
            json_decref(changes);
        }
    } else {
        json_t *a = register_target(out->plan, "create", &t, in->region, min, max, owner);
        if (a != NULL) {
            tt_action_change(a, "minCapacity", NULL, json_integer(min));
            tt_action_change(a, "maxCapacity", NULL, json_integer(max));
        }
    }

    for (size_t i = 0; i < s->ntarget_tracking; i++) {
        tt_owner_name(in->r, s->target_tracking[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_policy(out->plan, &t, in->region, name, "TargetTrackingScaling",
                   "TargetTrackingScalingPolicyConfiguration",
                   tracking_config(&s->target_tracking[i]),
                   json_object_get(json_object_get(observed, "policies"), name));
    }
    for (size_t i = 0; i < s->nstep_scaling; i++) {
        tt_owner_name(in->r, s->step_scaling[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_policy(out->plan, &t, in->region, name, "StepScaling", "StepScalingPolicyConfiguration",
                   step_config(&s->step_scaling[i]),
                   json_object_get(json_object_get(observed, "policies"), name));
    }
    for (size_t i = 0; i < s->npredictive; i++) {
        tt_owner_name(in->r, s->predictive[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_predictive(out->plan, &t, in->region, name, &s->predictive[i],
                       json_object_get(json_object_get(observed, "policies"), name));
    }
    for (size_t i = 0; i < s->nscheduled; i++) {
        tt_owner_name(in->r, s->scheduled[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_scheduled(out->plan, &t, in->region, name, &s->scheduled[i],
                      json_array_size(guards) > 0 ? max : INT64_MAX,
                      json_object_get(json_object_get(observed, "scheduled"), name));
    }
    delete_unwanted(out->plan, &t, in->region, observed, "policies", want_p, "DeleteScalingPolicy",
                    "PolicyName", "scaling policy");
    delete_unwanted(out->plan, &t, in->region, observed, "scheduled", want_s,
                    "DeleteScheduledAction", "ScheduledActionName", "scheduled action");
    delete_stale(out->plan, in->region, observed);
    {
        char key[800];
        target_key(&t, key, sizeof(key));
        out->memo = json_pack("{s:b,s:O,s:O,s:[s]}", "owned", 1, "policies", want_p, "scheduled",
                              want_s, "targets", key);
        /* The forecasts last read, so the next observes need not read them again. */
        if (out->memo != NULL && json_object_size(json_object_get(observed, "forecasts")) > 0)
            json_object_set(out->memo, "forecasts", json_object_get(observed, "forecasts"));
    }
out:
    json_decref(want_p);
    json_decref(want_s);
    json_decref(guards);
    return rc;
}

tt_code tt_aas_remove(const tt_diff_input *in, const json_t *observed, json_t *plan, tt_error *err)
{
    json_t *none = json_array();
    const json_t *target = json_object_get(observed, "target");
    tt_aas_target t;

    if (none == NULL || tt_aas_target_of(in->r, &t) != 0) {
        json_decref(none);
        return tt_error_set(err, TT_EINVAL, "%s has no scalable target", in->r->key);
    }
    delete_unwanted(plan, &t, in->region, observed, "policies", none, "DeleteScalingPolicy",
                    "PolicyName", "scaling policy");
    delete_unwanted(plan, &t, in->region, observed, "scheduled", none, "DeleteScheduledAction",
                    "ScheduledActionName", "scheduled action");
    /* The target only when trimtab owns it; any other target is left alone. */
    if (target != NULL && !json_is_null(target) &&
        tt_owner_may_delete(in->r, memo_owns(in->memo, &t),
                            tt_owner_tag_in(json_object_get(observed, "tags")))) {
        char object[700];
        snprintf(object, sizeof(object), "scalable target %s", t.resource_id);
        tt_plan_add(plan, "delete", object, AAS, "DeregisterScalableTarget", in->region,
                    json_pack("{s:s,s:s,s:s}", "ServiceNamespace", t.service_namespace,
                              "ResourceId", t.resource_id, "ScalableDimension", t.dimension));
    }
    delete_stale(plan, in->region, observed);
    json_decref(none);
    return TT_OK;
}

/* "Setting desired count to 4." → 4; -1 when the description says otherwise. */
static long desired_in(const char *description)
{
    const char *p = description ? strstr(description, " to ") : NULL;

    return p != NULL ? strtol(p + 4, NULL, 10) : -1;
}

static json_t *activity(const json_t *a, long from)
{
    long to = desired_in(json_string_value(json_object_get(a, "Description")));
    json_t *o = json_pack("{s:O,s:O,s:O}", "time", json_object_get(a, "StartTime"), "cause",
                          json_object_get(a, "Cause"), "status", json_object_get(a, "StatusCode"));

    if (o == NULL)
        return NULL;
    if (to >= 0)
        json_object_set_new(o, "to", json_integer(to));
    if (from >= 0)
        json_object_set_new(o, "from", json_integer(from));
    return o;
}

/*
 * status.forecastPeak: the highest next peak among the predictive policies' forecasts as read
 * (at most every FORECAST_MAX_AGE): {policy, capacity, time, forecastUpdated}. Left out while
 * no forecast has a point yet, and when the last read failed (the next observe reads again).
 */
static void forecast_peak(const tt_diff_input *in, const json_t *observed, json_t *status)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const json_t *forecasts = json_object_get(observed, "forecasts"), *best = NULL;
    const char *best_policy = NULL;
    char name[AAS_NAME_MAX + 1];
    json_t *peak;

    for (size_t i = 0; i < s->npredictive; i++) {
        const json_t *f;
        tt_owner_name(in->r, s->predictive[i].name, AAS_NAME_MAX, name, sizeof(name));
        f = json_object_get(forecasts, name);
        if (!json_is_number(json_object_get(f, "peakCapacity")) ||
            (best != NULL && json_number_value(json_object_get(f, "peakCapacity")) <=
                                 json_number_value(json_object_get(best, "peakCapacity"))))
            continue;
        best = f;
        best_policy = s->predictive[i].name;
    }
    /* The record's status is updated in place: a peak no longer known must go. */
    if (best == NULL) {
        json_object_del(status, "forecastPeak");
        return;
    }
    peak =
        json_pack("{s:s,s:O,s:O}", "policy", best_policy, "capacity",
                  json_object_get(best, "peakCapacity"), "time", json_object_get(best, "peakTime"));
    if (peak != NULL && json_object_get(best, "updateTime") != NULL)
        json_object_set(peak, "forecastUpdated", json_object_get(best, "updateTime"));
    json_object_set_new(status, "forecastPeak", peak);
}

void tt_aas_status(const tt_diff_input *in, const json_t *observed, json_t *status)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const json_t *acts = json_object_get(observed, "activities");
    json_t *arns = json_object();
    char name[AAS_NAME_MAX + 1];

    for (size_t i = 0; i < s->ntarget_tracking + s->nstep_scaling + s->npredictive; i++) {
        size_t nk = s->ntarget_tracking + s->nstep_scaling;
        const char *pname = i < s->ntarget_tracking ? s->target_tracking[i].name
                            : i < nk                ? s->step_scaling[i - s->ntarget_tracking].name
                                                    : s->predictive[i - nk].name;
        const json_t *arn;
        tt_owner_name(in->r, pname, AAS_NAME_MAX, name, sizeof(name));
        arn = json_object_get(json_object_get(json_object_get(observed, "policies"), name),
                              "PolicyARN");
        if (arn != NULL)
            json_object_set(arns, pname, (json_t *)arn);
    }
    json_object_set_new(status, "policyArns", arns);
    forecast_peak(in, observed, status);
    json_object_set_new(status, "effectiveMaxCapacity",
                        json_integer(tt_aas_effective_max(in, NULL)));
    if (json_array_size(acts) > 0) {
        json_t *recent = json_array();
        size_t i;
        json_t *a;
        json_array_foreach(acts, i, a)
        {
            /* Activities come newest first: the one before a move set its starting point. */
            const json_t *older = json_array_get(acts, i + 1);
            long from =
                older ? desired_in(json_string_value(json_object_get(older, "Description"))) : -1;
            json_array_append_new(recent, activity(a, from));
        }
        json_object_set(status, "lastScalingActivity", json_array_get(recent, 0));
        json_object_set_new(status, "recentActivities", recent);
    }
}

/*
 * IAM: Describe* have no resource-level permission; the rest act on the scalable target, whose
 * ARN ends in an id AWS makes up (scalable-target/0123abcd…), hence the wildcard. A target
 * trimtab registered carries the owner tag, so policies, schedules and deregistration are held
 * to owned targets; RegisterScalableTarget both creates (no tag yet) and updates, so it cannot
 * be, and registering with Tags needs TagResource (AWS checks tag-on-create).
 */
#define AAS_TARGETS "arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/*"
/* Forecasts are read only for predictive policies. */
static int aas_iam_predictive(const tt_resource *r)
{
    return r->spec.sp->npredictive > 0;
}

static const tt_iam_action aas_iam_actions[] = {
    {"application-autoscaling:GetPredictiveScalingForecast", "GetPredictiveScalingForecast", NULL,
     TT_IAM_NONE, aas_iam_predictive},
    {"application-autoscaling:DescribeScalableTargets", "DescribeScalableTargets", NULL,
     TT_IAM_NONE, NULL},
    {"application-autoscaling:DescribeScalingPolicies", "DescribeScalingPolicies", NULL,
     TT_IAM_NONE, NULL},
    {"application-autoscaling:DescribeScheduledActions", "DescribeScheduledActions", NULL,
     TT_IAM_NONE, NULL},
    {"application-autoscaling:DescribeScalingActivities", "DescribeScalingActivities", NULL,
     TT_IAM_NONE, NULL},
    {"application-autoscaling:ListTagsForResource", "ListTagsForResource", AAS_TARGETS, TT_IAM_NONE,
     NULL},
    {"application-autoscaling:RegisterScalableTarget", "RegisterScalableTarget", AAS_TARGETS,
     TT_IAM_NONE, NULL},
    {"application-autoscaling:TagResource", "TagResource RegisterScalableTarget", AAS_TARGETS,
     TT_IAM_TAG_OWNER, NULL},
    {"application-autoscaling:PutScalingPolicy", "PutScalingPolicy", AAS_TARGETS, TT_IAM_OWNED,
     NULL},
    {"application-autoscaling:PutScheduledAction", "PutScheduledAction", AAS_TARGETS, TT_IAM_OWNED,
     NULL},
    {"application-autoscaling:DeleteScalingPolicy", "DeleteScalingPolicy", AAS_TARGETS,
     TT_IAM_OWNED, NULL},
    {"application-autoscaling:DeleteScheduledAction", "DeleteScheduledAction", AAS_TARGETS,
     TT_IAM_OWNED, NULL},
    {"application-autoscaling:DeregisterScalableTarget", "DeregisterScalableTarget", AAS_TARGETS,
     TT_IAM_OWNED, NULL},
};
const tt_iam_needs tt_aas_iam = {TT_IAM_TABLE(aas_iam_actions), NULL};

/* ---- answers that settle the observation --------------------------------------------------- */

/* Copies `keys` (NULL-terminated) of `from` that are present into `to`. */
static void copy_fields(json_t *to, const json_t *from, const char *const *keys)
{
    for (; *keys != NULL; keys++) {
        json_t *v = json_object_get(from, *keys);
        if (v != NULL)
            json_object_set_new(to, *keys, json_deep_copy(v));
    }
}

int tt_aas_applied(const tt_resource *r, json_t *observed, const json_t *call, const json_t *output)
{
    static const char *const target_fields[] = {
        "ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity", NULL};
    static const char *const policy_fields[] = {"PolicyName",
                                                "ServiceNamespace",
                                                "ResourceId",
                                                "ScalableDimension",
                                                "PolicyType",
                                                "TargetTrackingScalingPolicyConfiguration",
                                                "StepScalingPolicyConfiguration",
                                                NULL};
    static const char *const scheduled_fields[] = {"ScheduledActionName",
                                                   "ServiceNamespace",
                                                   "ResourceId",
                                                   "ScalableDimension",
                                                   "Schedule",
                                                   "Timezone",
                                                   "ScalableTargetAction",
                                                   NULL};
    const char *op = json_string_value(json_object_get(call, "operation"));
    const json_t *input = json_object_get(call, "input");
    json_t *entry;
    tt_aas_target t;

    /* Only the resource's own target: a stale one (spec.target moved) is read again. */
    if (op == NULL || !json_is_object(observed) || tt_aas_target_of(r, &t) != 0 ||
        !tt_streq(json_string_value(json_object_get(input, "ServiceNamespace")),
                  t.service_namespace) ||
        !tt_streq(json_string_value(json_object_get(input, "ResourceId")), t.resource_id) ||
        !tt_streq(json_string_value(json_object_get(input, "ScalableDimension")), t.dimension))
        return 0;
    if (strcmp(op, "RegisterScalableTarget") == 0) {
        json_t *target = json_object_get(observed, "target");
        if (!json_is_object(target)) {
            const json_t *arn = json_object_get(output, "ScalableTargetARN");
            if (!json_is_string(arn))
                return 0;
            target = json_object();
            if (target == NULL || json_object_set_new(observed, "target", target) != 0)
                return 0;
            json_object_set(target, "ScalableTargetARN", (json_t *)arn);
        }
        copy_fields(target, input, target_fields);
        return 1;
    }
    if (strcmp(op, "PutScalingPolicy") == 0 || strcmp(op, "PutScheduledAction") == 0) {
        bool policy = strcmp(op, "PutScalingPolicy") == 0;
        const char *name = json_string_value(
            json_object_get(input, policy ? "PolicyName" : "ScheduledActionName"));
        const json_t *arn = json_object_get(output, "PolicyARN");
        json_t *map = json_object_get(observed, policy ? "policies" : "scheduled");
        if (name == NULL || !json_is_object(map) || (policy && !json_is_string(arn)) ||
            tt_streq(json_string_value(json_object_get(input, "PolicyType")), "PredictiveScaling"))
            return 0;
        entry = json_object();
        if (entry == NULL || json_object_set_new(map, name, entry) != 0)
            return 0;
        copy_fields(entry, input, policy ? policy_fields : scheduled_fields);
        if (policy)
            json_object_set(entry, "PolicyARN", (json_t *)arn);
        return 1;
    }
    if (strcmp(op, "DeleteScalingPolicy") == 0 || strcmp(op, "DeleteScheduledAction") == 0) {
        bool policy = strcmp(op, "DeleteScalingPolicy") == 0;
        const char *name = json_string_value(
            json_object_get(input, policy ? "PolicyName" : "ScheduledActionName"));
        json_t *map = json_object_get(observed, policy ? "policies" : "scheduled");
        if (name == NULL || !json_is_object(map))
            return 0;
        json_object_del(map, name);
        if (policy) /* nothing to forecast for a policy that is gone */
            json_object_del(json_object_get(observed, "forecasts"), name);
        return 1;
    }
    return 0;
}

int tt_aas_applied_at(const tt_resource *r, json_t *observed, const json_t *call,
                      const json_t *output, int64_t current)
{
    const json_t *input = json_object_get(call, "input");
    const json_t *min = json_object_get(input, "MinCapacity");

    /* Only registering the target carries bounds at the top of its input. */
    if (json_is_integer(min) &&
        (current < 0 || current < json_integer_value(min) ||
         current > json_integer_value(json_object_get(input, "MaxCapacity"))))
        return 0;
    return tt_aas_applied(r, observed, call, output);
}
