/*
 * tt_aas — Application Auto Scaling, the service that scales every scalable target (ECS
 * services, Aurora readers, ElastiCache replication groups, Lambda aliases): the scalable
 * target, its target-tracking, step and predictive (ECS) policies and its scheduled actions,
 * observed in batches and diffed as sets.
 *
 * What differs between targets is data: one row of tt_aas_kinds per kind of scalable target.
 * A provider for such a target (providers/ecs.c) adds only what its own service knows — that
 * the target exists, its current capacity — and uses the shared observe, diff, status and
 * remove below (docs/providers.md walks through one).
 *
 * The observed view of one resource keeps the Application Auto Scaling part under "aas":
 *   {"target": {ScalableTarget…} | null, "tags": {…} (only when ownership had to be read),
 *    "policies": {PolicyName: {ScalingPolicy…}}, "scheduled": {Name: {ScheduledAction…}},
 *    "stale": {…targets trimtab managed before spec.target moved…},
 *    "forecasts": {PolicyName: {peakCapacity, peakTime, updateTime, readAt}} (predictive
 *    policies that exist; GetPredictiveScalingForecast is per policy, one call each)}
 * and the memo remembers what trimtab owns: {"owned": true, "policies": [...],
 * "scheduled": [...], "targets": ["ns|resource-id|dimension"]}, so policies removed from the
 * spec can be found and deleted without listing every policy of the account, and the
 * forecasts last read ("forecasts", as in the view), so a forecast is read at most once every
 * ten minutes however often the resource is observed.
 */
#ifndef TT_APPAUTOSCALING_H
#define TT_APPAUTOSCALING_H

#include <jansson.h>

#include "provider.h"

struct tt_batch;

/* One kind of scalable target. */
typedef struct tt_aas_kind {
    tt_target_kind target;         /* the spec.target it serves */
    const char *variant;           /* ElastiCache: spec.target.elasticache.dimension; else NULL */
    const char *service_namespace; /* "ecs" */
    const char *dimension;         /* "ecs:service:DesiredCount" */
    /* Forms the resource id ("service/prod/web"); -1 when this target cannot be scaled. */
    int (*resource_id)(const tt_target *t, char *out, size_t len);
    const char *const *metrics; /* the predefined metrics valid here, NULL-terminated */
    const char *capacity_from;  /* the service whose API reports the current capacity */
} tt_aas_kind;

/* Every kind, ended by a row whose target is TT_TARGET_NONE. */
extern const tt_aas_kind tt_aas_kinds[];

/* The IAM actions Application Auto Scaling needs, shared by the providers of its targets. */
extern const tt_iam_needs tt_aas_iam;

/* The Application Auto Scaling identity of a ScalingPolicy's target. */
typedef struct tt_aas_target {
    const tt_aas_kind *kind;
    const char *service_namespace; /* kind->service_namespace */
    const char *dimension;         /* kind->dimension */
    char resource_id[600];         /* "service/prod/web" */
} tt_aas_target;

/* Fills `t` for a ScalingPolicy with a scalable target; -1 for other targets. */
int tt_aas_target_of(const tt_resource *r, tt_aas_target *t);

/*
 * Adds the Application Auto Scaling reads of every item of `b` (ScalingPolicies of one region
 * and role) — targets, policies, scheduled actions, then the ownership tags of targets that
 * exist but are not known to be trimtab's — filing them under "aas" in each item's view.
 * Items without a scalable target (a Lambda policy that only sets reserved concurrency) are
 * left alone: their view has no "aas".
 */
tt_code tt_aas_observe_batch(struct tt_batch *b, tt_error *err);

/*
 * Adds a read of item `i`'s newest scaling activities (one call, first page) to `b`'s current
 * phase, filed as "activities" in its view. Status only: a failure leaves them out.
 */
void tt_aas_read_activities(struct tt_batch *b, size_t i);

/* Appends the Application Auto Scaling part of the diff; sets out->blocked on ownership
 * problems. `observed` is the "aas" view. */
tt_code tt_aas_diff(const tt_diff_input *in, const json_t *observed, tt_diff_output *out,
                    tt_error *err);

/*
 * The actual spend of guard `g`'s Budget in percent (from its status among the dependencies)
 * when it is above the guard's abovePercent, else -1: whether the guard clamps now.
 */
double tt_budget_guard_over(const tt_diff_input *in, const tt_budget_guard *g);

/*
 * The BudgetClamped condition (a new one-element array for tt_diff_output.conditions, or NULL
 * when out of memory): True while a guard's budget is over its percentage, naming the budgets
 * in `guards` ([{budget, percentUsed, abovePercent}]) and `effect` ("maxCapacity clamped from
 * 10 to 4"), False with `effect` ("maxCapacity 10") otherwise. Its transitions are the clamp
 * and restore events (BudgetExceeded, WithinBudget; Normal).
 */
json_t *tt_budget_clamp_condition(const json_t *guards, const char *effect);

/* The maximum capacity in force: the spec's, lowered by budget guards whose budget is over. */
int64_t tt_aas_effective_max(const tt_diff_input *in, json_t **guards_active);

/* Appends the deletion of everything the resource owns (policies, actions, target). */
tt_code tt_aas_remove(const tt_diff_input *in, const json_t *observed, json_t *plan, tt_error *err);

/*
 * tt_provider.applied for the "aas" view `observed`: the answers to RegisterScalableTarget,
 * PutScalingPolicy, PutScheduledAction and their deletes on the resource's own target are
 * authoritative (the view gets what the call wrote, the ARNs from the answer); 1 then, else 0.
 * Not a predictive policy's: the confirming read is what reads its forecast for the status.
 * Whether registering moved the capacity is the target's own question (ECS asks it).
 */
int tt_aas_applied(const tt_resource *r, json_t *observed, const json_t *call,
                   const json_t *output);

/*
 * tt_aas_applied for a target whose capacity was `current` when read (-1: not read): registering
 * bounds that exclude it makes Application Auto Scaling move the capacity into them, which only a
 * new read shows, so that answer is not authoritative (0).
 */
int tt_aas_applied_at(const tt_resource *r, json_t *observed, const json_t *call,
                      const json_t *output, int64_t current);

/* Status: policyArns, effectiveMaxCapacity, the last scaling activities when read, and the
 * next forecast peak of predictive policies (forecastPeak). */
void tt_aas_status(const tt_diff_input *in, const json_t *observed, json_t *status);

#endif
