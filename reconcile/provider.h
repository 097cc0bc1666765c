/*
 * tt_provider — the contract between the engine and a provider reconciler.
 *
 * A provider converges one family of resources (ScalingPolicies on ECS, Alarms, …). The engine
 * owns the work queue, the store and status; a provider only knows AWS:
 *   observe  reads the actual state of a batch of resources with as few calls as the APIs allow
 *            (DescribeScalableTargets takes 50 ids, DescribeServices 10, DescribeAlarms 100);
 *   diff     a pure function of (desired resource, observed state, resolved dependencies) to a
 *            plan (reconcile/plan.h) — no I/O, exhaustively unit tested, printed by
 *            `trimtab plan`, reported by Observe mode;
 *   status   the kind-specific status fields from the observed state;
 *   remove   a pure function to the plan that deletes what the resource owns.
 * The engine executes plans. The contract lives here, beside the engine that calls it, so that
 * reconcile/ never depends on providers/: each provider exports one const struct, listed in the
 * registry providers/providers.c, and cmd/ hands that registry to the engine
 * (tt_engine_config.providers). Optional slots may be left NULL in a provider's struct: the
 * engine fills them with the shared defaults below once, when it takes the registry, so nothing
 * tests a slot for NULL afterwards.
 */
#ifndef TT_PROVIDER_H
#define TT_PROVIDER_H

#include <jansson.h>

#include "model.h"
#include "tt_error.h"

struct tt_aws;

/* One resource of an observe batch. */
typedef struct tt_observe_item {
    const tt_resource *r; /* borrowed for the whole batch */
    const json_t *memo;   /* what the provider remembered last time (owned names…), or NULL */
    const char *region;   /* resolved: the spec's, else the operator's */
} tt_observe_item;

/*
 * Reports the observation of item `i`: `observed` (stolen) is the provider's own JSON view of
 * AWS, `err` NULL on success. Called exactly once per item, from the loop.
 */
typedef void (*tt_observe_cb)(void *ud, size_t i, json_t *observed, const tt_error *err);

/* What the diff gets besides the resource. */
typedef struct tt_diff_input {
    const tt_resource *r;
    const json_t *observed; /* from observe */
    const json_t *memo;     /* as in observe */
    const json_t *deps;     /* resolved references: {"<Kind>/<name>": {status…}} */
    const char *region;
    const char *account; /* AWS account id when known (ARNs), else NULL */
} tt_diff_input;

/* What the diff decided besides the plan. */
typedef struct tt_diff_output {
    json_t *plan;         /* the actions (tt_plan_new), owned by the caller */
    json_t *memo;         /* new memo to persist, or NULL to keep the old one (stolen) */
    const char *blocked;  /* a reason not to act, CamelCase ("AdoptionRefused",
                            * "DependencyNotReady", "TargetNotFound"), or NULL */
    char message[512];    /* why, for status and events, when blocked */
    double requeue_after; /* seconds until a look is needed anyway (RDS modifying), or 0 */
    /*
     * Kind-specific conditions ("BudgetClamped", "RotationFailed"), or NULL (stolen): an array
     * of {"type", "status": "True"|"False", "reason", "message", "event": "Normal"|"Warning"}.
     * The engine sets each one and records an event of that type when its status or reason
     * changes — not when it first appears as "False", as nothing has happened yet.
     */
    json_t *conditions;
} tt_diff_output;

/*
 * The IAM permissions a provider needs (`trimtab iam-policy`, providers/iam.c): one entry per
 * IAM action it calls, kept next to the calls. `resource` is the ARN the action acts on, as a
 * template whose {placeholders} the generator fills from each resource — {partition}, {region},
 * {account}, {namespace}, and the target's {cluster} {service} {instance} {dbcluster} {group}
 * {function} {alias} {distribution} {secret} ("name-??????", AWS's suffix) — or NULL for "*", where the service documents no
 * resource-level permission for the action. `calls` lists the API operations the action
 * authorises (space-separated), which the cross-check test holds against the code.
 */
typedef enum tt_iam_condition {
    TT_IAM_NONE,       /* no tag condition */
    TT_IAM_OWNED,      /* aws:ResourceTag/trimtab.dev/owner: only objects trimtab owns */
    TT_IAM_TAG_OWNER,  /* aws:RequestTag/trimtab.dev/owner: the owner tag is what is written */
    TT_IAM_UNTAG_OWNER /* aws:TagKeys: only the owner tag is removed */
} tt_iam_condition;

typedef struct tt_iam_action {
    const char *action;                  /* "ecs:DescribeServices" */
    const char *calls;                   /* "DescribeServices": the operations it authorises */
    const char *resource;                /* ARN template, or NULL for "*" */
    tt_iam_condition condition;          /* tag condition where the service evaluates it */
    int (*needed)(const tt_resource *r); /* NULL: every resource of the provider needs it */
} tt_iam_action;

typedef struct tt_iam_needs {
    const tt_iam_action *actions;
    size_t n;
    const struct tt_iam_needs *also; /* shared needs (Application Auto Scaling), or NULL */
} tt_iam_needs;

/* The first two members of a tt_iam_needs from a table of actions. */
#define TT_IAM_TABLE(actions) (actions), sizeof(actions) / sizeof((actions)[0])

typedef struct tt_provider {
    /* Short name for logs and metrics: "ecs", "cloudwatch". */
    const char *name;
    /* True when this provider converges `r` (by kind and target). Required. */
    int (*handles)(const tt_resource *r);
    /*
     * Reads the AWS state of `n` resources, all handled by this provider, in one region and
     * under one role. The batch owns nothing; `cb` runs once per item. Returns TT_OK or an
     * error (then `cb` is never called). Required. providers/batch.h does the plumbing.
     */
    tt_code (*observe)(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                       size_t n, tt_observe_cb cb, void *ud, tt_error *err);
    /* The pure diff. `out->plan` is allocated by the caller. Required. */
    tt_code (*diff)(const tt_diff_input *in, tt_diff_output *out, tt_error *err);
    /* Adds kind-specific fields to `status` (borrowed) from the observation. Optional. */
    void (*status)(const tt_diff_input *in, json_t *status);
    /* The plan that deletes what the resource owns, given its observation. Optional: without
     * it deletion only forgets the resource. */
    tt_code (*remove)(const tt_diff_input *in, json_t *plan, tt_error *err);
    /*
     * One of the plan's calls succeeded with `output`: when its answer is authoritative (AWS
     * now holds exactly what the call wrote, and nothing else the observation shows moved),
     * brings `observed` (the job's observation, owned by the engine) up to date and returns 1.
     * When every call of an apply returns 1, the engine diffs the updated observation instead of
     * reading AWS again to confirm; an empty diff is then Ready like a confirming read's. 0
     * (the default) asks for the confirming read. Optional.
     */
    int (*applied)(const tt_resource *r, json_t *observed, const json_t *call,
                   const json_t *output);
    /* What makes resources cheaper to observe together beyond provider, region and role — the
     * ECS cluster, as DescribeServices takes ten services of one cluster — borrowed from `r`.
     * The engine orders long queues (the first listing, each resync) by it so such resources
     * share batches. Optional: without it, only provider, region and role group them. */
    const char *(*affinity)(const tt_resource *r);
    /* The IAM actions this provider calls and the ARNs they act on (see tt_iam_needs). */
    const tt_iam_needs *iam;
} tt_provider;

/* The defaults of the optional slots: no status fields, nothing to delete (deletion only
 * forgets the resource), no affinity (NULL), every apply confirmed by a read. */
void tt_provider_status_none(const tt_diff_input *in, json_t *status);
tt_code tt_provider_remove_none(const tt_diff_input *in, json_t *plan, tt_error *err);
const char *tt_provider_affinity_none(const tt_resource *r);
int tt_provider_applied_none(const tt_resource *r, json_t *observed, const json_t *call,
                             const json_t *output);

#endif
