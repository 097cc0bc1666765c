/*
 * tt_model — the four resource kinds as typed C structs, built from parsed documents.
 *
 * A document (from a file via tt_doc, or an object from the Kubernetes API) becomes a
 * tt_resource: identity, the common spec fields, and the kind's spec with defaults applied.
 * Validation reports every problem with its line; a document of another kind is ignored.
 * Everything a resource points to lives in its own arena, so it is freed in one call.
 * This module never reads files.
 */
#ifndef TT_MODEL_H
#define TT_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "doc.h"
#include "schema.h"
#include "tt_arena.h"

#define TT_API_GROUP     "trimtab.dev"
#define TT_API_VERSION   "trimtab.dev/v1alpha1"
#define TT_OWNER_TAG     "trimtab.dev/owner"
#define TT_ANN_RECONCILE "trimtab.dev/reconcile-requested-at"
#define TT_ANN_ROTATE    "trimtab.dev/rotate-requested-at"
/* The AWS name of an object the resource manages but did not name (`trimtab import`): the
 * resource's one object, or with ".<part>" appended, its policy or scheduled action <part>. */
#define TT_ANN_EXTERNAL_NAME "trimtab.dev/external-name"
/* Set by `trimtab import`: what the resource names is its own by declaration, adopted without
 * writing an owner tag (the objects may belong to a CDK or Terraform stack that would see the
 * tag as drift). */
#define TT_ANN_IMPORTED "trimtab.dev/imported"

typedef enum tt_kind {
    TT_KIND_SCALING_POLICY,
    TT_KIND_ALARM,
    TT_KIND_BUDGET,
    TT_KIND_SECRET_ROTATION,
    TT_KIND_COUNT
} tt_kind;

/* "ScalingPolicy", …; plural "scalingpolicies" for the API paths. */
const char *tt_kind_name(tt_kind k);
const char *tt_kind_plural(tt_kind k);
/* Returns 0 and the kind for a known name, -1 otherwise. */
int tt_kind_parse(const char *name, tt_kind *out);

/* ---- common --------------------------------------------------------------------------- */

typedef struct tt_common_spec {
    const char *region;          /* NULL: the operator's region */
    const char *role_arn;        /* NULL: the operator's own credentials */
    const char *deletion_policy; /* "Delete" | "Retain" */
    const char *mode;            /* "Manage" | "Observe" */
    tt_opt_bool suspend;
    tt_opt_bool adopt;
} tt_common_spec;

/* ---- targets -------------------------------------------------------------------------- */

typedef struct tt_target_ecs {
    const char *cluster;
    const char *service;
} tt_target_ecs;

typedef struct tt_target_rds {
    const char *cluster;  /* Aurora cluster: read replica count */
    const char *instance; /* single instance: vertical scaling and storage */
} tt_target_rds;

typedef struct tt_target_elasticache {
    const char *replication_group;
    const char *dimension;     /* "Replicas" | "NodeGroups" */
    const char *cache_cluster; /* alarms only: a member cluster's metrics */
} tt_target_elasticache;

typedef struct tt_target_lambda {
    const char *function;
    const char *alias; /* NULL: the function itself */
} tt_target_lambda;

typedef struct tt_target_cloudfront {
    const char *distribution_id;
} tt_target_cloudfront;

typedef enum tt_target_kind {
    TT_TARGET_NONE,
    TT_TARGET_ECS,
    TT_TARGET_RDS_CLUSTER,
    TT_TARGET_RDS_INSTANCE,
    TT_TARGET_ELASTICACHE,
    TT_TARGET_LAMBDA,
    TT_TARGET_CLOUDFRONT
} tt_target_kind;

typedef struct tt_target {
    tt_target_ecs *ecs; /* exactly one of these is set */
    tt_target_rds *rds;
    tt_target_elasticache *elasticache;
    tt_target_lambda *lambda;
    tt_target_cloudfront *cloudfront;
} tt_target;

tt_target_kind tt_target_kind_of(const tt_target *t);
/* A short human description: "ecs prod/web", "rds instance orders-db". */
void tt_target_describe(const tt_target *t, char *out, size_t outlen);

/* ---- ScalingPolicy ---------------------------------------------------------------------- */

typedef struct tt_custom_metric {
    const char *namespace_;
    const char *metric_name;
    const char *statistic;
    const char *unit;
    tt_kv *dimensions;
    size_t ndimensions;
} tt_custom_metric;

typedef struct tt_target_tracking {
    const char *name;
    const char *predefined_metric;
    const char *resource_label;
    tt_custom_metric *custom_metric;
    tt_opt_num target_value;
    tt_opt_int scale_out_cooldown; /* seconds */
    tt_opt_int scale_in_cooldown;
    tt_opt_bool disable_scale_in;
} tt_target_tracking;

typedef struct tt_step {
    tt_opt_num lower; /* unset: minus infinity */
    tt_opt_num upper; /* unset: plus infinity */
    tt_opt_int adjustment;
} tt_step;

typedef struct tt_step_scaling {
    const char *name;
    const char *adjustment_type;
    tt_opt_int cooldown;
    const char *metric_aggregation_type;
    tt_opt_int min_adjustment_magnitude;
    tt_step *steps; /* sorted by lower bound after validation */
    size_t nsteps;
} tt_step_scaling;

typedef struct tt_scheduled {
    const char *name;
    const char *schedule;     /* as written */
    const char *aws_schedule; /* as Application Auto Scaling takes it */
    const char *timezone;
    tt_opt_int min_capacity;
    tt_opt_int max_capacity;
} tt_scheduled;

/* A predictive scaling policy (ECS services): forecasts load from history and, in
 * ForecastAndScale mode, raises the minimum capacity ahead of it. */
typedef struct tt_predictive {
    const char *name;
    const char *metric_pair;    /* ECSServiceCPUUtilization…, or NULL */
    const char *scaling_metric; /* predefined scaling metric, or NULL */
    const char *load_metric;    /* predefined load metric, or NULL */
    const char *resource_label; /* the ALB target group of ALB metrics */
    tt_custom_metric *custom_scaling_metric;
    tt_custom_metric *custom_load_metric;
    tt_custom_metric *custom_capacity_metric;
    tt_opt_num target_value;
    const char *mode;                  /* "ForecastOnly" | "ForecastAndScale" */
    tt_opt_int scheduling_buffer_time; /* seconds */
    const char *max_capacity_breach;   /* "HonorMaxCapacity" | "IncreaseMaxCapacity" */
    tt_opt_int max_capacity_buffer;    /* percent, with IncreaseMaxCapacity */
} tt_predictive;

typedef struct tt_alarm_ref {
    const char *alarm; /* name of an Alarm resource in the namespace */
    int line;          /* where the reference is written, for reference errors */
} tt_alarm_ref;

typedef struct tt_vertical {
    const char **ladder; /* instance classes, smallest first */
    size_t nladder;
    tt_alarm_ref *scale_up_on;
    tt_alarm_ref *scale_down_on;
    tt_opt_int cooldown;
    tt_opt_bool apply_immediately;
} tt_vertical;

typedef struct tt_storage {
    tt_opt_int max_allocated_gib;
} tt_storage;

typedef struct tt_lambda_extras {
    tt_opt_int reserved_concurrency;
} tt_lambda_extras;

typedef struct tt_origin_shield {
    tt_opt_bool enabled;
    const char *region;
} tt_origin_shield;

typedef struct tt_cloudfront_edge {
    const char *price_class;
    tt_origin_shield *origin_shield;
    tt_opt_bool http3;
    tt_opt_bool compress;
} tt_cloudfront_edge;

typedef struct tt_budget_guard {
    int line; /* of `budget`, for reference errors */
    const char *budget;
    tt_opt_num above_percent;
    tt_opt_int max_capacity;
    const char *price_class;
} tt_budget_guard;

typedef struct tt_scaling_policy_spec {
    tt_common_spec common; /* first, so any spec can be read as its common part */
    tt_target *target;
    tt_opt_int min_capacity;
    tt_opt_int max_capacity;
    tt_target_tracking *target_tracking;
    size_t ntarget_tracking;
    tt_step_scaling *step_scaling;
    size_t nstep_scaling;
    tt_scheduled *scheduled;
    size_t nscheduled;
    tt_predictive *predictive;
    size_t npredictive;
    tt_vertical *vertical;
    tt_storage *storage;
    tt_lambda_extras *lambda;
    tt_cloudfront_edge *cloudfront;
    tt_budget_guard *budget_guard;
    size_t nbudget_guard;
} tt_scaling_policy_spec;

/* ---- Alarm ----------------------------------------------------------------------------- */

typedef struct tt_alarm_metric {
    const char *namespace_;
    const char *metric_name;
    tt_kv *dimensions;
    size_t ndimensions;
} tt_alarm_metric;

typedef struct tt_composite {
    const char *rule; /* as written, with Alarm resource names */
    int line;
} tt_composite;

typedef struct tt_scaling_policy_ref {
    const char *name;   /* ScalingPolicy resource */
    const char *policy; /* one of its stepScaling[].name */
    int line;
} tt_scaling_policy_ref;

typedef struct tt_alarm_action {
    const char *sns_topic_arn;
    tt_scaling_policy_ref *scaling_policy;
} tt_alarm_action;

typedef struct tt_alarm_actions {
    tt_alarm_action *alarm;
    size_t nalarm;
    tt_alarm_action *ok;
    size_t nok;
    tt_alarm_action *insufficient_data;
    size_t ninsufficient_data;
} tt_alarm_actions;

typedef struct tt_alarm_spec {
    tt_common_spec common;
    tt_target *target;
    tt_alarm_metric *metric;
    tt_composite *composite;
    const char *metric_name;
    const char *statistic;
    const char *extended_statistic;
    tt_opt_int period;
    tt_opt_int evaluation_periods;
    tt_opt_int datapoints_to_alarm;
    tt_opt_num threshold;
    const char *comparison;
    const char *treat_missing_data;
    const char *unit;
    const char *description;
    tt_opt_bool actions_enabled;
    tt_alarm_actions *actions;
} tt_alarm_spec;

/* ---- Budget ----------------------------------------------------------------------------- */

typedef struct tt_budget_limit {
    tt_opt_num amount;
    const char *unit;
} tt_budget_limit;

typedef struct tt_cost_filters {
    const char **service;
    size_t nservice;
    const char **region;
    size_t nregion;
    const char **linked_account;
    size_t nlinked_account;
    const char **usage_type;
    size_t nusage_type;
    const char **usage_type_group;
    size_t nusage_type_group;
    const char **instance_type;
    size_t ninstance_type;
    const char **operation;
    size_t noperation;
    const char **purchase_type;
    size_t npurchase_type;
    const char **availability_zone;
    size_t navailability_zone;
    const char **record_type;
    size_t nrecord_type;
    tt_kv *tags;
    size_t ntags;
} tt_cost_filters;

typedef struct tt_subscriber {
    const char *email;
    const char *sns_topic_arn;
} tt_subscriber;

typedef struct tt_notification {
    const char *type;
    const char *comparison;
    tt_opt_num threshold;
    const char *threshold_type;
    tt_subscriber *subscribers;
    size_t nsubscribers;
} tt_notification;

typedef struct tt_budget_spec {
    tt_common_spec common;
    tt_budget_limit *limit;
    const char *time_unit;
    const char *budget_type;
    tt_cost_filters *cost_filters;
    tt_notification *notifications;
    size_t nnotifications;
} tt_budget_spec;

/* ---- SecretRotation ----------------------------------------------------------------------- */

typedef struct tt_rotation_schedule {
    tt_opt_int automatically_after_days;
    const char *expression;
    tt_opt_int duration; /* seconds; a whole number of hours, sent as "3h" */
} tt_rotation_schedule;

typedef struct tt_secret_rotation_spec {
    tt_common_spec common;
    const char *secret_id;
    const char *rotation_lambda_arn;
    tt_rotation_schedule *schedule;
    tt_opt_bool rotate_immediately;
    const char **replica_regions;
    size_t nreplica_regions;
} tt_secret_rotation_spec;

/* ---- the resource ------------------------------------------------------------------------ */

/* One a manifest, held as long as it is declared: the fields are ordered widest first, so the
 * struct has no padding. */
typedef struct tt_resource {
    const char *namespace_;
    const char *name;
    const char *key;  /* "Kind/namespace/name", the queue key */
    const char *file; /* where it was read (directory mode), else NULL */
    const char *uid;  /* Kubernetes metadata, when the object came from the API */
    const char *resource_version;
    int64_t generation;                 /* Kubernetes' generation; 0 in directory mode */
    const char *reconcile_requested_at; /* annotations, or NULL */
    const char *rotate_requested_at;
    const tt_kv *annotations; /* every annotation, keys sorted (external names among them) */
    size_t nannotations;
    uint64_t spec_hash;  /* of the canonical spec: changes exactly when the spec does */
    const char *problem; /* when invalid: the first problems as "file:line: field: message" */

    union {
        void *any;
        tt_common_spec *common;
        tt_scaling_policy_spec *sp;
        tt_alarm_spec *alarm;
        tt_budget_spec *budget;
        tt_secret_rotation_spec *rotation;
    } spec;
    tt_arena *arena; /* owns this struct and everything its pointers point to */
    tt_kind kind;
    int line;           /* line of the document's start */
    bool invalid;       /* the spec did not validate: only identity fields are set */
    bool deleting;      /* metadata.deletionTimestamp is set */
    bool has_finalizer; /* metadata.finalizers holds trimtab.dev/cleanup */
    bool imported;      /* annotation trimtab.dev/imported: "true" */
} tt_resource;

/* Where a document came from, for messages. */
typedef struct tt_doc_src {
    const char *file;        /* NULL or "" for objects from the API */
    const tt_linemap *lines; /* NULL when unknown */
    const char *path_prefix; /* "items[3]" inside a v1 List, else NULL */
    int line;                /* the document's first line */
    int doc_errors;          /* problems the parser already found in the document */
    int truncated;           /* the document is partial: only its identity is read */
} tt_doc_src;

/*
 * Builds a typed resource from one object.
 * - TT_OK: `*out` is a valid resource (caller owns it; tt_resource_destroy).
 * - TT_EINVAL: the object is a trimtab resource with problems, reported to `diags`; `*out` is
 *   still set, with `invalid` true, when its kind and name could be read (so the engine can
 *   report Ready=False/InvalidSpec), else NULL.
 * - TT_ENOTFOUND: not a trimtab resource (another kind); ignored, `*out` is NULL.
 * - TT_ENOMEM.
 */
tt_code tt_model_from_json(const json_t *obj, const tt_doc_src *src, tt_diags *diags,
                           tt_resource **out);

/* The value of annotation `key` on `r`, or NULL. */
const char *tt_resource_annotation(const tt_resource *r, const char *key);

/* Accepts NULL. */
void tt_resource_destroy(tt_resource *r);

/*
 * Marks `r` invalid and records, in r->problem, the errors of `d` from index `from` on that
 * belong to it: same file, line in [line_lo, line_hi) (line_hi <= 0: no upper bound). Keeps
 * the first three; the message says how many more there are.
 */
void tt_resource_note_problems(tt_resource *r, const tt_diags *d, size_t from, int line_lo,
                               int line_hi);

/*
 * Checks references between resources by name within a namespace (Alarm actions naming a
 * ScalingPolicy step policy, budget guards naming a Budget, vertical scaling naming Alarms,
 * composite rules naming Alarms). A reference to a resource of the set that does not fit is
 * an error (reported, and the referring resource is marked invalid); a reference to a name
 * absent from the set is a warning, since it may be applied separately.
 */
void tt_model_check_refs(tt_resource **rs, size_t n, tt_diags *diags);

/*
 * Calls `fn` for every resource `r` refers to by name in its namespace (budget guards, vertical
 * scaling alarms, alarm actions, composite rule names). Names may repeat.
 */
void tt_resource_refs(const tt_resource *r,
                      void (*fn)(void *ud, tt_kind kind, const char *name, size_t len), void *ud);

/* The schema of a kind's spec, for the CRD generator. */
const tt_schema *tt_model_spec_schema(tt_kind k);
const tt_schema *tt_model_status_schema(tt_kind k);

/*
 * The AWS alarm names referenced by a composite rule, in order: the rule's own names (Alarm
 * resource names). Calls `fn` for each; returns -1 with a message in `err` when the rule does
 * not parse.
 */
tt_code tt_composite_rule_names(const char *rule,
                                void (*fn)(void *ud, const char *name, size_t len), void *ud,
                                tt_error *err);

#endif
