/*
 * The ECS provider: ScalingPolicies whose target is an ECS service.
 *
 * Scaling itself is Application Auto Scaling (providers/aas.c); ECS adds the service's own
 * view — DescribeServices, ten services a call — for status (current and desired task count),
 * to refuse to scale a service that does not exist, and DescribeScalingActivities, read only
 * for services whose desired count moved since the last look.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aas.h"
#include "plan.h"
#include "provider.h"
#include "tt_aws.h"

#define ECS_BATCH 10 /* DescribeServices takes at most 10 services */

static int ecs_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_ECS;
}

struct ecs_item {
    json_t *aas;     /* the Application Auto Scaling view, once delivered */
    json_t *service; /* DescribeServices' entry, or NULL when missing */
    json_t *activities;
    const json_t *memo;
    const tt_resource *r;
    int got_aas;
    int failed;
    tt_error err;
};

struct ecs_batch {
    tt_aws *aws;
    char *role_arn;
    char *region;
    size_t n;
    struct ecs_item *items;
    int pending; /* service and activity calls in flight, plus 1 while AAS is out */
    int phase;
    tt_observe_cb cb;
    void *ud;
};

struct ecs_call {
    struct ecs_batch *b;
    size_t *idx;
    size_t nidx;
    int activities; /* a DescribeScalingActivities call for idx[0] */
};

static void ecs_batch_free(struct ecs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->items[i].aas);
        json_decref(b->items[i].service);
        json_decref(b->items[i].activities);
    }
    free(b->items);
    free(b->role_arn);
    free(b->region);
    free(b);
}

static void ecs_fail(struct ecs_item *it, const tt_error *err)
{
    if (!it->failed) {
        it->failed = 1;
        it->err = *err;
    }
}

static void ecs_deliver(struct ecs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct ecs_item *it = &b->items[i];
        if (it->failed) {
            b->cb(b->ud, i, NULL, &it->err);
            continue;
        }
        b->cb(b->ud, i,
              /* "o" for activities: a fresh empty array must not get a second reference. */
              json_pack("{s:O,s:O,s:o}", "aas", it->aas, "service",
                        it->service ? it->service : json_null(), "activities",
                        it->activities ? json_incref(it->activities) : json_array()),
              NULL);
    }
    ecs_batch_free(b);
}

static void ecs_call_done(void *ud, json_t *output, const tt_error *err);

/* Starts DescribeScalingActivities for services whose desired count moved. */
static void start_activities(struct ecs_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct ecs_item *it = &b->items[i];
        const json_t *last = json_object_get(it->memo, "lastDesired");
        const json_t *now = json_object_get(it->service, "desiredCount");
        struct ecs_call *c;
        tt_aws_req req = {"application-autoscaling", "DescribeScalingActivities", b->region,
                          b->role_arn, NULL};
        tt_aas_target t;
        tt_error err;
        if (it->failed || now == NULL || (last != NULL && json_equal(last, now)) ||
            tt_aas_target_of(it->r, &t) != 0)
            continue;
        c = calloc(1, sizeof(*c));
        if (c == NULL || (c->idx = malloc(sizeof(size_t))) == NULL) {
            free(c);
            continue;
        }
        c->b = b;
        c->idx[0] = i;
        c->nidx = 1;
        c->activities = 1;
        req.input =
            json_pack("{s:s,s:s,s:s,s:i}", "ServiceNamespace", t.service_namespace, "ResourceId",
                      t.resource_id, "ScalableDimension", t.dimension, "MaxResults", 5);
        b->pending++;
        if (tt_aws_call(b->aws, &req, ecs_call_done, c, &err) != TT_OK) {
            b->pending--;
            free(c->idx);
            free(c);
        }
        json_decref(req.input);
    }
}

static void ecs_step(struct ecs_batch *b)
{
    if (b->pending > 0)
        return;
    if (b->phase == 1) {
        b->phase = 2;
        start_activities(b);
        if (b->pending > 0)
            return;
    }
    ecs_deliver(b);
}

static void ecs_call_done(void *ud, json_t *output, const tt_error *err)
{
    struct ecs_call *c = ud;
    struct ecs_batch *b = c->b;
    size_t i;
    json_t *svc;

    if (c->activities) {
        /* Activities are for status only: a failure to read them does not fail the item. */
        if (err == NULL)
            b->items[c->idx[0]].activities =
                json_incref(json_object_get(output, "ScalingActivities"));
    } else if (err != NULL) {
        for (size_t k = 0; k < c->nidx; k++)
            ecs_fail(&b->items[c->idx[k]], err);
    } else {
        json_array_foreach(json_object_get(output, "services"), i, svc)
        {
            const char *name = json_string_value(json_object_get(svc, "serviceName"));
            const char *state = json_string_value(json_object_get(svc, "status"));
            for (size_t k = 0; name != NULL && k < c->nidx; k++) {
                struct ecs_item *it = &b->items[c->idx[k]];
                /* An INACTIVE service is a deleted one, as DescribeServices reports it. */
                if (strcmp(it->r->spec.sp->target->ecs->service, name) == 0 && state != NULL &&
                    strcmp(state, "INACTIVE") != 0)
                    it->service = json_incref(svc);
            }
        }
    }
    free(c->idx);
    free(c);
    b->pending--;
    ecs_step(b);
}

static void ecs_aas_done(void *ud, size_t i, json_t *observed, const tt_error *err)
{
    struct ecs_batch *b = ud;
    struct ecs_item *it = &b->items[i];

    it->got_aas = 1;
    if (err != NULL)
        ecs_fail(it, err);
    else
        it->aas = observed;
    for (size_t k = 0; k < b->n; k++) {
        if (!b->items[k].got_aas)
            return;
    }
    b->pending--; /* the hold for the Application Auto Scaling batch */
    ecs_step(b);
}

/* DescribeServices per cluster, ten services a call. */
static void start_services(struct ecs_batch *b)
{
    size_t *taken = calloc(b->n ? b->n : 1, sizeof(*taken));

    if (taken == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const char *cluster = b->items[i].r->spec.sp->target->ecs->cluster;
        json_t *names;
        struct ecs_call *c;
        tt_aws_req req = {"ecs", "DescribeServices", b->region, b->role_arn, NULL};
        tt_error err;
        if (taken[i])
            continue;
        names = json_array();
        c = calloc(1, sizeof(*c));
        if (names == NULL || c == NULL || (c->idx = malloc(ECS_BATCH * sizeof(size_t))) == NULL) {
            json_decref(names);
            free(c);
            break;
        }
        c->b = b;
        for (size_t k = i; k < b->n && c->nidx < ECS_BATCH; k++) {
            const tt_target_ecs *e = b->items[k].r->spec.sp->target->ecs;
            if (taken[k] || strcmp(e->cluster, cluster) != 0)
                continue;
            taken[k] = 1;
            c->idx[c->nidx++] = k;
            json_array_append_new(names, json_string(e->service));
        }
        req.input = json_pack("{s:s,s:o}", "cluster", cluster, "services", names);
        b->pending++;
        if (tt_aws_call(b->aws, &req, ecs_call_done, c, &err) != TT_OK) {
            b->pending--;
            for (size_t k = 0; k < c->nidx; k++)
                ecs_fail(&b->items[c->idx[k]], &err);
            free(c->idx);
            free(c);
        }
        json_decref(req.input);
    }
    free(taken);
}

static int ecs_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                       size_t n, tt_observe_cb cb, void *ud, tt_error *err)
{
    struct ecs_batch *b = calloc(1, sizeof(*b));
    int rc;

    if (b == NULL || (b->items = calloc(n ? n : 1, sizeof(*b->items))) == NULL ||
        (role_arn != NULL && (b->role_arn = strdup(role_arn)) == NULL) ||
        (n > 0 && items[0].region != NULL && (b->region = strdup(items[0].region)) == NULL)) {
        if (b != NULL)
            ecs_batch_free(b);
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    b->aws = aws;
    b->n = n;
    b->cb = cb;
    b->ud = ud;
    b->phase = 1;
    for (size_t i = 0; i < n; i++) {
        b->items[i].r = items[i].r;
        b->items[i].memo = items[i].memo;
    }
    rc = tt_aas_observe(aws, role_arn, items, n, ecs_aas_done, b, err);
    if (rc != TT_OK) {
        ecs_batch_free(b);
        return rc;
    }
    b->pending = 1; /* held until every item's AAS view is in */
    start_services(b);
    return TT_OK;
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

static void ecs_status(const tt_diff_input *in, json_t *status)
{
    const json_t *svc = json_object_get(in->observed, "service");
    const json_t *acts = json_object_get(in->observed, "activities");
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(svc)) {
        json_object_set(status, "currentCapacity", json_object_get(svc, "runningCount"));
        json_object_set(status, "desiredCapacity", json_object_get(svc, "desiredCount"));
    }
    tt_aas_status(in, json_object_get(in->observed, "aas"), status);
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

static tt_code ecs_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    return tt_aas_remove(in, json_object_get(in->observed, "aas"), plan, err);
}

static const char *ecs_affinity(const tt_resource *r)
{
    return r->spec.sp->target->ecs->cluster;
}

const tt_provider tt_provider_ecs = {
    .name = "ecs",
    .handles = ecs_handles,
    .observe = ecs_observe,
    .diff = ecs_diff,
    .status = ecs_status,
    .remove = ecs_remove,
    .affinity = ecs_affinity,
};
