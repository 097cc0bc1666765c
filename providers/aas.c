#include "aas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "tt_aws.h"
#include "tt_str.h"

#define AAS "application-autoscaling"
/* Application Auto Scaling's limits: 50 ids or names per Describe call, 256-char names. */
#define AAS_BATCH    50
#define AAS_NAME_MAX 256

/* ---- names ------------------------------------------------------------------------------ */

void tt_aws_object_name(const tt_resource *r, const char *part, size_t maxlen, char *out,
                        size_t outlen)
{
    char full[1024];
    size_t n;

    if (part != NULL)
        n = (size_t)snprintf(full, sizeof(full), "trimtab-%s-%s-%s", r->namespace_, r->name, part);
    else
        n = (size_t)snprintf(full, sizeof(full), "trimtab-%s-%s", r->namespace_, r->name);
    if (n >= sizeof(full))
        n = sizeof(full) - 1;
    if (maxlen > outlen - 1)
        maxlen = outlen - 1;
    if (n <= maxlen) {
        memcpy(out, full, n + 1);
        return;
    }
    /* Keep a readable prefix and make it unique with a hash of the whole name. */
    snprintf(out, outlen, "%.*s-%08x", (int)(maxlen - 9), full,
             (unsigned)(tt_hash64(full, n) & 0xffffffffu));
}

void tt_owner_value(const tt_resource *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", r->namespace_, r->name);
}

int tt_aas_target_of(const tt_resource *r, tt_aas_target *t)
{
    const tt_target *tg;

    if (r->kind != TT_KIND_SCALING_POLICY || r->spec.sp == NULL)
        return -1;
    tg = r->spec.sp->target;
    switch (tt_target_kind_of(tg)) {
    case TT_TARGET_ECS:
        t->service_namespace = "ecs";
        t->dimension = "ecs:service:DesiredCount";
        snprintf(t->resource_id, sizeof(t->resource_id), "service/%s/%s", tg->ecs->cluster,
                 tg->ecs->service);
        return 0;
    case TT_TARGET_RDS_CLUSTER:
        t->service_namespace = "rds";
        t->dimension = "rds:cluster:ReadReplicaCount";
        snprintf(t->resource_id, sizeof(t->resource_id), "cluster:%s", tg->rds->cluster);
        return 0;
    case TT_TARGET_ELASTICACHE:
        t->service_namespace = "elasticache";
        t->dimension = strcmp(tg->elasticache->dimension, "NodeGroups") == 0
                           ? "elasticache:replication-group:NodeGroups"
                           : "elasticache:replication-group:Replicas";
        snprintf(t->resource_id, sizeof(t->resource_id), "replication-group/%s",
                 tg->elasticache->replication_group);
        return 0;
    case TT_TARGET_LAMBDA:
        if (tg->lambda->alias == NULL)
            return -1;
        t->service_namespace = "lambda";
        t->dimension = "lambda:function:ProvisionedConcurrency";
        snprintf(t->resource_id, sizeof(t->resource_id), "function:%s:%s", tg->lambda->function,
                 tg->lambda->alias);
        return 0;
    default:
        return -1;
    }
}

/* "ns|resource-id|dimension": how the memo remembers a scalable target trimtab manages. */
static void target_key(const tt_aas_target *t, char *out, size_t len)
{
    snprintf(out, len, "%s|%s|%s", t->service_namespace, t->resource_id, t->dimension);
}

/* True when the memo says trimtab owns the target `t` (memos from before targets were listed
 * only say "owned", about the one target there was). */
static int memo_owns(const json_t *memo, const tt_aas_target *t)
{
    const json_t *targets = json_object_get(memo, "targets");
    char key[800];
    size_t i;
    json_t *k;

    if (!json_is_true(json_object_get(memo, "owned")))
        return 0;
    if (!json_is_array(targets))
        return 1;
    target_key(t, key, sizeof(key));
    json_array_foreach(targets, i, k)
    {
        if (tt_streq(json_string_value(k), key))
            return 1;
    }
    return 0;
}

/* The AWS names of every policy and scheduled action the spec declares. */
static void desired_names(const tt_resource *r, json_t *policies, json_t *scheduled)
{
    const tt_scaling_policy_spec *s = r->spec.sp;
    char name[AAS_NAME_MAX + 1];

    for (size_t i = 0; i < s->ntarget_tracking; i++) {
        tt_aws_object_name(r, s->target_tracking[i].name, AAS_NAME_MAX, name, sizeof(name));
        json_array_append_new(policies, json_string(name));
    }
    for (size_t i = 0; i < s->nstep_scaling; i++) {
        tt_aws_object_name(r, s->step_scaling[i].name, AAS_NAME_MAX, name, sizeof(name));
        json_array_append_new(policies, json_string(name));
    }
    for (size_t i = 0; i < s->nscheduled; i++) {
        tt_aws_object_name(r, s->scheduled[i].name, AAS_NAME_MAX, name, sizeof(name));
        json_array_append_new(scheduled, json_string(name));
    }
}

/* ---- observe ------------------------------------------------------------------------------ */

struct obs_item {
    tt_aas_target t;
    const tt_resource *r;
    int owned_known; /* the memo says trimtab owns the target: no tag read needed */
    json_t *view;    /* owned until delivered */
    tt_error err;
    int failed;
};

struct obs_batch {
    tt_aws *aws;
    char *role_arn;
    char *region;
    size_t n;
    struct obs_item *items;
    json_t *policy_owner; /* policy name → item index */
    json_t *action_owner; /* scheduled action name → item index */
    int pending;
    int phase; /* 1: targets, policies, actions; 2: ownership tags */
    tt_observe_cb cb;
    void *ud;
};

/* One call of a batch: which items it speaks for. */
struct obs_call {
    struct obs_batch *b;
    int what; /* 't' targets, 'p' policies, 's' scheduled actions, 'g' tags */
    size_t *idx;
    size_t nidx;
};

static void batch_free(struct obs_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        json_decref(b->items[i].view);
    json_decref(b->policy_owner);
    json_decref(b->action_owner);
    free(b->items);
    free(b->role_arn);
    free(b->region);
    free(b);
}

static void fail_items(struct obs_batch *b, const size_t *idx, size_t n, const tt_error *err)
{
    for (size_t k = 0; k < n; k++) {
        struct obs_item *it = &b->items[idx[k]];
        if (!it->failed) {
            it->failed = 1;
            it->err = *err;
        }
    }
}

static void start_tags(struct obs_batch *b);
static void call_done(void *ud, json_t *output, const tt_error *err);

/* Starts one (paginated) call for the items `idx`; the call owns `idx`. */
static void start_call(struct obs_batch *b, int what, const char *operation, json_t *input,
                       size_t *idx, size_t nidx)
{
    struct obs_call *c = calloc(1, sizeof(*c));
    tt_aws_req req = {AAS, operation, b->region, b->role_arn, input};
    tt_error err;

    if (c == NULL) {
        tt_error_set(&err, TT_ENOMEM, "out of memory");
        fail_items(b, idx, nidx, &err);
        free(idx);
        json_decref(input);
        return;
    }
    c->b = b;
    c->what = what;
    c->idx = idx;
    c->nidx = nidx;
    b->pending++;
    if (tt_aws_paginate(b->aws, &req, call_done, c, &err) != TT_OK) {
        b->pending--;
        fail_items(b, idx, nidx, &err);
        free(idx);
        free(c);
    }
    json_decref(input);
}

static void deliver(struct obs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct obs_item *it = &b->items[i];
        json_t *view = it->view;
        it->view = NULL;
        if (it->failed) {
            json_decref(view);
            b->cb(b->ud, i, NULL, &it->err);
        } else {
            b->cb(b->ud, i, view, NULL);
        }
    }
    batch_free(b);
}

/*
 * The view of a target trimtab managed before spec.target moved ("stale": {key: {target,
 * policies, scheduled}}), or NULL when `rid`/`dim` is not one.
 */
static json_t *stale_entry(const struct obs_item *it, const char *rid, const char *dim)
{
    json_t *stale = json_object_get(it->view, "stale");
    char key[800];

    if (json_object_size(stale) == 0)
        return NULL;
    snprintf(key, sizeof(key), "%s|%s|%s", it->t.service_namespace, rid, dim);
    return json_object_get(stale, key);
}

static void take_targets(struct obs_batch *b, const struct obs_call *c, json_t *output)
{
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(output, "ScalableTargets"), i, t)
    {
        const char *rid = json_string_value(json_object_get(t, "ResourceId"));
        const char *dim = json_string_value(json_object_get(t, "ScalableDimension"));
        for (size_t k = 0; rid && dim && k < c->nidx; k++) {
            struct obs_item *it = &b->items[c->idx[k]];
            json_t *stale = stale_entry(it, rid, dim);
            if (strcmp(it->t.resource_id, rid) == 0 && strcmp(it->t.dimension, dim) == 0)
                json_object_set(it->view, "target", t);
            else if (stale != NULL)
                json_object_set(stale, "target", t);
        }
    }
}

static void take_named(struct obs_batch *b, json_t *output, const char *list, const char *name_key,
                       const char *view_key, json_t *owners)
{
    size_t i;
    json_t *o;

    json_array_foreach(json_object_get(output, list), i, o)
    {
        const char *name = json_string_value(json_object_get(o, name_key));
        json_t *pos = name ? json_object_get(owners, name) : NULL;
        const char *rid = json_string_value(json_object_get(o, "ResourceId"));
        const char *dim = json_string_value(json_object_get(o, "ScalableDimension"));
        struct obs_item *it;
        if (pos == NULL)
            continue;
        it = &b->items[json_integer_value(pos)];
        /* Names are unique per scalable target, not per namespace: an object of that name on
         * another target is not this one — unless it is on the target trimtab managed before
         * spec.target moved, which is cleaned up. */
        if ((rid != NULL && strcmp(rid, it->t.resource_id) != 0) ||
            (dim != NULL && strcmp(dim, it->t.dimension) != 0)) {
            json_t *stale = rid && dim ? stale_entry(it, rid, dim) : NULL;
            if (stale != NULL)
                json_object_set(json_object_get(stale, view_key), name, o);
            continue;
        }
        json_object_set(json_object_get(it->view, view_key), name, o);
    }
}

static void call_done(void *ud, json_t *output, const tt_error *err)
{
    struct obs_call *c = ud;
    struct obs_batch *b = c->b;

    if (err != NULL) {
        fail_items(b, c->idx, c->nidx, err);
    } else if (c->what == 't') {
        take_targets(b, c, output);
    } else if (c->what == 'p') {
        take_named(b, output, "ScalingPolicies", "PolicyName", "policies", b->policy_owner);
    } else if (c->what == 's') {
        take_named(b, output, "ScheduledActions", "ScheduledActionName", "scheduled",
                   b->action_owner);
    } else if (c->what == 'g') {
        json_object_set(b->items[c->idx[0]].view, "tags", json_object_get(output, "Tags"));
    }
    free(c->idx);
    free(c);
    if (--b->pending > 0)
        return;
    if (b->phase == 1) {
        b->phase = 2;
        start_tags(b);
        if (b->pending > 0)
            return;
    }
    deliver(b);
}

/* Phase 2: read the tags of targets that exist but are not known to be trimtab's. */
static void start_tags(struct obs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct obs_item *it = &b->items[i];
        json_t *target = json_object_get(it->view, "target");
        const char *arn = json_string_value(json_object_get(target, "ScalableTargetARN"));
        size_t *idx;
        if (it->failed || target == NULL || it->owned_known || arn == NULL)
            continue;
        idx = malloc(sizeof(*idx));
        if (idx == NULL)
            continue;
        idx[0] = i;
        start_call(b, 'g', "ListTagsForResource", json_pack("{s:s}", "ResourceARN", arn), idx, 1);
    }
}

/* Groups `names` (name → item index) into calls of at most AAS_BATCH names per namespace. */
static void start_named_calls(struct obs_batch *b, int what, const char *operation,
                              const char *names_key, json_t *owners)
{
    static const char *const namespaces[] = {"ecs", "rds", "elasticache", "lambda"};

    for (size_t ns = 0; ns < sizeof(namespaces) / sizeof(namespaces[0]); ns++) {
        json_t *names = json_array();
        size_t *idx = malloc((json_object_size(owners) + 1) * sizeof(*idx));
        size_t nidx = 0;
        const char *name;
        json_t *pos;
        if (names == NULL || idx == NULL) {
            json_decref(names);
            free(idx);
            return;
        }
        json_object_foreach(owners, name, pos)
        {
            size_t i = (size_t)json_integer_value(pos);
            if (strcmp(b->items[i].t.service_namespace, namespaces[ns]) != 0)
                continue;
            json_array_append_new(names, json_string(name));
            idx[nidx++] = i;
            if (json_array_size(names) == AAS_BATCH) {
                start_call(
                    b, what, operation,
                    json_pack("{s:s,s:o}", "ServiceNamespace", namespaces[ns], names_key, names),
                    idx, nidx);
                names = json_array();
                idx = malloc((json_object_size(owners) + 1) * sizeof(*idx));
                nidx = 0;
                if (names == NULL || idx == NULL) {
                    json_decref(names);
                    free(idx);
                    return;
                }
            }
        }
        if (json_array_size(names) > 0)
            start_call(b, what, operation,
                       json_pack("{s:s,s:o}", "ServiceNamespace", namespaces[ns], names_key, names),
                       idx, nidx);
        else {
            json_decref(names);
            free(idx);
        }
    }
}

static void start_target_calls(struct obs_batch *b)
{
    static const char *const namespaces[] = {"ecs", "rds", "elasticache", "lambda"};

    for (size_t ns = 0; ns < sizeof(namespaces) / sizeof(namespaces[0]); ns++) {
        size_t i = 0;
        while (i < b->n) {
            json_t *ids = json_array();
            size_t *idx = malloc(AAS_BATCH * sizeof(*idx));
            size_t nidx = 0;
            if (ids == NULL || idx == NULL) {
                json_decref(ids);
                free(idx);
                return;
            }
            for (; i < b->n && nidx < AAS_BATCH; i++) {
                const char *key;
                json_t *v;
                if (strcmp(b->items[i].t.service_namespace, namespaces[ns]) != 0)
                    continue;
                json_array_append_new(ids, json_string(b->items[i].t.resource_id));
                /* Rare: a target trimtab managed before spec.target moved. */
                json_object_foreach(json_object_get(b->items[i].view, "stale"), key, v)
                    json_array_append(ids, json_object_get(v, "resourceId"));
                idx[nidx++] = i;
            }
            if (nidx == 0) {
                json_decref(ids);
                free(idx);
                continue;
            }
            start_call(
                b, 't', "DescribeScalableTargets",
                json_pack("{s:s,s:o}", "ServiceNamespace", namespaces[ns], "ResourceIds", ids), idx,
                nidx);
        }
    }
}

int tt_aas_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items, size_t n,
                   tt_observe_cb cb, void *ud, tt_error *err)
{
    struct obs_batch *b = calloc(1, sizeof(*b));

    if (b == NULL || (b->items = calloc(n ? n : 1, sizeof(*b->items))) == NULL ||
        (b->policy_owner = json_object()) == NULL || (b->action_owner = json_object()) == NULL ||
        (role_arn && (b->role_arn = strdup(role_arn)) == NULL) ||
        (n > 0 && items[0].region && (b->region = strdup(items[0].region)) == NULL)) {
        if (b != NULL)
            batch_free(b);
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    b->aws = aws;
    b->n = n;
    b->cb = cb;
    b->ud = ud;
    b->phase = 1;
    for (size_t i = 0; i < n; i++) {
        struct obs_item *it = &b->items[i];
        json_t *want_p = json_array(), *want_s = json_array(), *name;
        size_t k;
        it->r = items[i].r;
        it->view = json_pack("{s:n,s:{},s:{},s:{}}", "target", "policies", "scheduled", "stale");
        if (it->view == NULL || want_p == NULL || want_s == NULL ||
            tt_aas_target_of(it->r, &it->t) != 0) {
            json_decref(want_p);
            json_decref(want_s);
            batch_free(b);
            return tt_error_set(err, TT_EINVAL, "%s has no scalable target", items[i].r->key);
        }
        it->owned_known = memo_owns(items[i].memo, &it->t);
        {
            /* Targets the memo lists besides the current one: spec.target moved away. */
            char cur[800];
            size_t k2;
            json_t *tk;
            target_key(&it->t, cur, sizeof(cur));
            json_array_foreach(json_object_get(items[i].memo, "targets"), k2, tk)
            {
                const char *s = json_string_value(tk);
                const char *a = s ? strchr(s, '|') : NULL, *z = a ? strrchr(s, '|') : NULL;
                if (s == NULL || a == NULL || z == a || strcmp(s, cur) == 0 ||
                    (size_t)(a - s) != strlen(it->t.service_namespace) ||
                    strncmp(s, it->t.service_namespace, (size_t)(a - s)) != 0)
                    continue;
                json_object_set_new(json_object_get(it->view, "stale"), s,
                                    json_pack("{s:s%,s:s,s:n,s:{},s:{}}", "resourceId", a + 1,
                                              (size_t)(z - a - 1), "dimension", z + 1, "target",
                                              "policies", "scheduled"));
            }
        }
        desired_names(it->r, want_p, want_s);
        /* Names trimtab created before (the memo) are looked up too, to delete them. */
        json_array_extend(want_p, json_object_get(items[i].memo, "policies"));
        json_array_extend(want_s, json_object_get(items[i].memo, "scheduled"));
        json_array_foreach(want_p, k, name) json_object_set_new(
            b->policy_owner, json_string_value(name), json_integer((json_int_t)i));
        json_array_foreach(want_s, k, name) json_object_set_new(
            b->action_owner, json_string_value(name), json_integer((json_int_t)i));
        json_decref(want_p);
        json_decref(want_s);
    }
    /* The batch holds itself alive until every call started; then the calls do. */
    b->pending++;
    start_target_calls(b);
    start_named_calls(b, 'p', "DescribeScalingPolicies", "PolicyNames", b->policy_owner);
    start_named_calls(b, 's', "DescribeScheduledActions", "ScheduledActionNames", b->action_owner);
    if (--b->pending == 0) {
        /* Not one call could start: report that instead of calling back from here. */
        tt_error first = b->items[0].err;
        batch_free(b);
        if (err != NULL)
            *err = first;
        return first.code != TT_OK ? first.code : TT_ENOMEM;
    }
    return TT_OK;
}

/* ---- diff ------------------------------------------------------------------------------- */

/* Records field `name` as changed when `want` (present) differs from `have`. Borrows both. */
static int compare(json_t *changes, const char *name, const json_t *want, const json_t *have)
{
    if (want == NULL || tt_json_same(want, have))
        return 0;
    json_array_append_new(changes, json_pack("{s:s,s:O,s:O}", "field", name, "old",
                                             have ? (json_t *)have : json_null(), "new", want));
    return 1;
}

/* compare() for a value made on the spot: steals `want`. */
static int compare_new(json_t *changes, const char *name, json_t *want, const json_t *have)
{
    int changed = compare(changes, name, want, have);

    json_decref(want);
    return changed;
}

int64_t tt_aas_effective_max(const tt_diff_input *in, json_t **guards_active)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    int64_t max = s->max_capacity.v;

    if (guards_active != NULL)
        *guards_active = json_array();
    for (size_t i = 0; i < s->nbudget_guard; i++) {
        const tt_budget_guard *g = &s->budget_guard[i];
        char key[300];
        const json_t *pu;
        snprintf(key, sizeof(key), "Budget/%s", g->budget);
        pu = json_object_get(json_object_get(in->deps, key), "percentUsed");
        if (!json_is_number(pu) || json_number_value(pu) <= g->above_percent.v ||
            !g->max_capacity.set)
            continue;
        if (g->max_capacity.v < max)
            max = g->max_capacity.v;
        if (guards_active != NULL && *guards_active != NULL)
            json_array_append_new(
                *guards_active, json_pack("{s:s,s:f,s:f,s:I}", "budget", g->budget, "percentUsed",
                                          json_number_value(pu), "abovePercent", g->above_percent.v,
                                          "maxCapacity", (json_int_t)g->max_capacity.v));
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

static json_t *sorted_steps(const json_t *steps)
{
    size_t n = json_array_size(steps);
    json_t **v = malloc((n ? n : 1) * sizeof(*v));
    json_t *out = json_array();

    if (v == NULL || out == NULL) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(steps, i);
    qsort(v, n, sizeof(*v), step_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
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
            json_t *hs = sorted_steps(h);
            compare(changes, spec_field(k), w, hs);
            json_decref(hs);
        } else {
            compare(changes, spec_field(k), w, h);
        }
    }
}

static void put_policy(json_t *plan, const tt_aas_target *t, const char *region, const char *name,
                       const char *type, const char *cfg_key, json_t *cfg, const json_t *have)
{
    json_t *changes = json_array(), *action;
    char object[400];

    snprintf(object, sizeof(object), "scaling policy %s", name);
    if (have != NULL) {
        if (!tt_streq(json_string_value(json_object_get(have, "PolicyType")), type))
            compare_new(changes, "policyType", json_string(type),
                        json_object_get(have, "PolicyType"));
        else
            compare_config(changes, cfg, json_object_get(have, cfg_key));
        if (json_array_size(changes) == 0) {
            json_decref(changes);
            json_decref(cfg);
            return;
        }
    } else {
        /* A new policy: every field it sets is a change from nothing. */
        const char *k;
        json_t *v;
        json_object_foreach(cfg, k, v) compare(changes, spec_field(k), v, NULL);
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
}

static void put_scheduled(json_t *plan, const tt_aas_target *t, const char *region,
                          const char *name, const tt_scheduled *s, const json_t *have)
{
    json_t *changes = json_array(), *want_action = json_object(), *input, *action;
    const char *tz = s->timezone ? s->timezone : "UTC";
    const char *have_tz = json_string_value(json_object_get(have, "Timezone"));
    char object[400];

    if (s->min_capacity.set)
        json_object_set_new(want_action, "MinCapacity", json_integer(s->min_capacity.v));
    if (s->max_capacity.set)
        json_object_set_new(want_action, "MaxCapacity", json_integer(s->max_capacity.v));
    if (have == NULL) {
        json_t *want_sched = json_string(s->aws_schedule), *want_tz = json_string(tz);
        compare(changes, "schedule", want_sched, NULL);
        compare(changes, "timezone", want_tz, NULL);
        compare(changes, "capacity", want_action, NULL);
        json_decref(want_sched);
        json_decref(want_tz);
    } else {
        json_t *want_sched = json_string(s->aws_schedule), *want_tz = json_string(tz);
        compare(changes, "schedule", want_sched, json_object_get(have, "Schedule"));
        /* AWS leaves Timezone out when it is UTC. */
        if (!(have_tz == NULL && strcmp(tz, "UTC") == 0))
            compare(changes, "timezone", want_tz, json_object_get(have, "Timezone"));
        compare(changes, "capacity", want_action, json_object_get(have, "ScalableTargetAction"));
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
    char owner[600];
    const char *tag;
    json_t *action;

    if (memo_owns(in->memo, t))
        return 0;
    tt_owner_value(in->r, owner, sizeof(owner));
    tag = json_string_value(json_object_get(json_object_get(observed, "tags"), TT_OWNER_TAG));
    if (tag != NULL && strcmp(tag, owner) == 0)
        return 0;
    if (tag != NULL) {
        out->blocked = "ConflictingOwner";
        snprintf(out->message, sizeof(out->message),
                 "scalable target %s is managed by trimtab resource %s", t->resource_id, tag);
        return -1;
    }
    if (!in->r->spec.sp->common.adopt.v) {
        out->blocked = "AdoptionRefused";
        snprintf(out->message, sizeof(out->message),
                 "scalable target %s already exists and is not managed by trimtab; set "
                 "spec.adopt: true to take it over",
                 t->resource_id);
        return -1;
    }
    action = tt_plan_add(
        out->plan, "tag", "scalable target (adopt)", AAS, "TagResource", in->region,
        json_pack("{s:O,s:{s:s}}", "ResourceARN", json_object_get(target, "ScalableTargetARN"),
                  "Tags", TT_OWNER_TAG, owner));
    if (action != NULL)
        tt_action_change(action, TT_OWNER_TAG, NULL, json_string(owner));
    return 0;
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

tt_code tt_aas_diff(const tt_diff_input *in, const json_t *observed, tt_diff_output *out,
                    tt_error *err)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const json_t *target = json_object_get(observed, "target");
    json_t *want_p = json_array(), *want_s = json_array(), *changes;
    char owner[600], name[AAS_NAME_MAX + 1];
    int64_t max = tt_aas_effective_max(in, NULL);
    tt_aas_target t;

    if (want_p == NULL || want_s == NULL || tt_aas_target_of(in->r, &t) != 0) {
        json_decref(want_p);
        json_decref(want_s);
        return tt_error_set(err, TT_EINVAL, "%s has no scalable target", in->r->key);
    }
    desired_names(in->r, want_p, want_s);
    tt_owner_value(in->r, owner, sizeof(owner));

    if (target != NULL && !json_is_null(target)) {
        if (check_ownership(in, observed, &t, out) != 0)
            goto out;
        changes = json_array();
        compare_new(changes, "minCapacity", json_integer(s->min_capacity.v),
                    json_object_get(target, "MinCapacity"));
        compare_new(changes, "maxCapacity", json_integer(max),
                    json_object_get(target, "MaxCapacity"));
        if (json_array_size(changes) > 0) {
            char object[700];
            json_t *a;
            snprintf(object, sizeof(object), "scalable target %s", t.resource_id);
            a = tt_plan_add(out->plan, "update", object, AAS, "RegisterScalableTarget", in->region,
                            json_pack("{s:s,s:s,s:s,s:I,s:I}", "ServiceNamespace",
                                      t.service_namespace, "ResourceId", t.resource_id,
                                      "ScalableDimension", t.dimension, "MinCapacity",
                                      (json_int_t)s->min_capacity.v, "MaxCapacity",
                                      (json_int_t)max));
            if (a != NULL)
                json_object_set_new(a, "changes", changes);
            else
                json_decref(changes);
        } else {
            json_decref(changes);
        }
    } else {
        char object[700];
        json_t *a;
        snprintf(object, sizeof(object), "scalable target %s", t.resource_id);
        a = tt_plan_add(out->plan, "create", object, AAS, "RegisterScalableTarget", in->region,
                        json_pack("{s:s,s:s,s:s,s:I,s:I,s:{s:s}}", "ServiceNamespace",
                                  t.service_namespace, "ResourceId", t.resource_id,
                                  "ScalableDimension", t.dimension, "MinCapacity",
                                  (json_int_t)s->min_capacity.v, "MaxCapacity", (json_int_t)max,
                                  "Tags", TT_OWNER_TAG, owner));
        if (a != NULL) {
            tt_action_change(a, "minCapacity", NULL, json_integer(s->min_capacity.v));
            tt_action_change(a, "maxCapacity", NULL, json_integer(max));
        }
    }

    for (size_t i = 0; i < s->ntarget_tracking; i++) {
        tt_aws_object_name(in->r, s->target_tracking[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_policy(out->plan, &t, in->region, name, "TargetTrackingScaling",
                   "TargetTrackingScalingPolicyConfiguration",
                   tracking_config(&s->target_tracking[i]),
                   json_object_get(json_object_get(observed, "policies"), name));
    }
    for (size_t i = 0; i < s->nstep_scaling; i++) {
        tt_aws_object_name(in->r, s->step_scaling[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_policy(out->plan, &t, in->region, name, "StepScaling", "StepScalingPolicyConfiguration",
                   step_config(&s->step_scaling[i]),
                   json_object_get(json_object_get(observed, "policies"), name));
    }
    for (size_t i = 0; i < s->nscheduled; i++) {
        tt_aws_object_name(in->r, s->scheduled[i].name, AAS_NAME_MAX, name, sizeof(name));
        put_scheduled(out->plan, &t, in->region, name, &s->scheduled[i],
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
    }
out:
    json_decref(want_p);
    json_decref(want_s);
    return TT_OK;
}

tt_code tt_aas_remove(const tt_diff_input *in, const json_t *observed, json_t *plan, tt_error *err)
{
    json_t *none = json_array();
    const json_t *target = json_object_get(observed, "target");
    const char *tag;
    char owner[600];
    tt_aas_target t;

    if (none == NULL || tt_aas_target_of(in->r, &t) != 0) {
        json_decref(none);
        return tt_error_set(err, TT_EINVAL, "%s has no scalable target", in->r->key);
    }
    /* Only what trimtab owns: the memo says so, or the owner tag names this resource (a run
     * killed after creating the target never wrote "owned"); any other target is left alone. */
    tt_owner_value(in->r, owner, sizeof(owner));
    tag = json_string_value(json_object_get(json_object_get(observed, "tags"), TT_OWNER_TAG));
    delete_unwanted(plan, &t, in->region, observed, "policies", none, "DeleteScalingPolicy",
                    "PolicyName", "scaling policy");
    delete_unwanted(plan, &t, in->region, observed, "scheduled", none, "DeleteScheduledAction",
                    "ScheduledActionName", "scheduled action");
    if (target != NULL && !json_is_null(target) &&
        (memo_owns(in->memo, &t) || (tag != NULL && strcmp(tag, owner) == 0))) {
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

void tt_aas_status(const tt_diff_input *in, const json_t *observed, json_t *status)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    json_t *arns = json_object();
    char name[AAS_NAME_MAX + 1];

    for (size_t i = 0; i < s->ntarget_tracking + s->nstep_scaling; i++) {
        const char *pname = i < s->ntarget_tracking ? s->target_tracking[i].name
                                                    : s->step_scaling[i - s->ntarget_tracking].name;
        const json_t *arn;
        tt_aws_object_name(in->r, pname, AAS_NAME_MAX, name, sizeof(name));
        arn = json_object_get(json_object_get(json_object_get(observed, "policies"), name),
                              "PolicyARN");
        if (arn != NULL)
            json_object_set(arns, pname, (json_t *)arn);
    }
    json_object_set_new(status, "policyArns", arns);
    json_object_set_new(status, "effectiveMaxCapacity",
                        json_integer(tt_aas_effective_max(in, NULL)));
}
