/*
 * tt_aas — Application Auto Scaling for every scalable target (ECS services, Aurora readers,
 * ElastiCache replication groups, Lambda aliases): the scalable target, its target-tracking
 * and step policies and its scheduled actions, observed in batches and diffed as sets.
 *
 * The observed view of one resource is
 *   {"target": {ScalableTarget…} | null, "tags": {…} (only when ownership had to be read),
 *    "policies": {PolicyName: {ScalingPolicy…}}, "scheduled": {Name: {ScheduledAction…}}}
 * and the memo remembers what trimtab owns: {"owned": true, "policies": [...],
 * "scheduled": [...]}, so policies removed from the spec can be found and deleted without
 * listing every policy of the account.
 */
#ifndef TT_AAS_H
#define TT_AAS_H

#include <jansson.h>

#include "provider.h"

/* The Application Auto Scaling identity of a ScalingPolicy's target. */
typedef struct tt_aas_target {
    const char *service_namespace; /* "ecs" */
    const char *dimension;         /* "ecs:service:DesiredCount" */
    char resource_id[600];         /* "service/prod/web" */
} tt_aas_target;

/* Fills `t` for a ScalingPolicy with a scalable target; -1 for other targets. */
int tt_aas_target_of(const tt_resource *r, tt_aas_target *t);

/*
 * AWS names trimtab gives the objects of a resource: "trimtab-<ns>-<name>[-<part>]", shortened
 * with a hash when longer than `maxlen` (so two long names never collide).
 */
void tt_aws_object_name(const tt_resource *r, const char *part, size_t maxlen, char *out,
                        size_t outlen);

/* "<ns>/<name>", the value of the trimtab.dev/owner tag. */
void tt_owner_value(const tt_resource *r, char *out, size_t outlen);

/*
 * Observes the Application Auto Scaling state of `n` ScalingPolicies (one region, one role)
 * with batched calls; `cb` gets the observed view of each item (see above).
 */
int tt_aas_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items, size_t n,
                   tt_observe_cb cb, void *ud, tt_error *err);

/* Appends the Application Auto Scaling part of the diff; sets out->blocked on ownership
 * problems. `observed` is the view tt_aas_observe produced. */
tt_code tt_aas_diff(const tt_diff_input *in, const json_t *observed, tt_diff_output *out,
                    tt_error *err);

/* The maximum capacity in force: the spec's, lowered by budget guards whose budget is over. */
int64_t tt_aas_effective_max(const tt_diff_input *in, json_t **guards_active);

/* Appends the deletion of everything the resource owns (policies, actions, target). */
tt_code tt_aas_remove(const tt_diff_input *in, const json_t *observed, json_t *plan, tt_error *err);

/* Status: policyArns, effectiveMaxCapacity. */
void tt_aas_status(const tt_diff_input *in, const json_t *observed, json_t *status);

#endif
