/*
 * tt_engine — the reconcile loop: a store of desired resources fed by a source, a work queue,
 * and per resource observe → diff → apply through the provider that handles it.
 *
 * Everything runs on one libev loop. Keys popped together are observed together: the engine
 * gathers them for a few milliseconds per (provider, region, role) and hands the batch to the
 * provider, which reads AWS with as few calls as the APIs allow. The diff is pure; a plan is
 * applied in order, one AWS call at a time per resource, many resources at once. Status goes to
 * the state directory (directory mode) and events to its log; a change in one resource's status
 * re-queues the resources that refer to it.
 */
#ifndef TT_ENGINE_H
#define TT_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "queue.h"
#include "source.h"
#include "tt_error.h"

struct ev_loop;
struct tt_aws;
struct tt_leader;
struct tt_metrics;
struct tt_provider;
typedef struct tt_engine tt_engine;

/* One AWS call of a plan action; every pointer borrowed for the call's start. */
typedef struct tt_engine_call {
    const char *service;   /* "application-autoscaling" */
    const char *operation; /* "RegisterScalableTarget" */
    const char *region;    /* NULL: the client's */
    const char *role_arn;  /* NULL: the operator's own credentials */
    json_t *input;
} tt_engine_call;

/* `output` borrowed; `err` NULL on success. */
typedef void (*tt_engine_call_cb)(void *ud, json_t *output, const tt_error *err);

/*
 * Starts one call on `aws` with tt_aws_call's rule: an error return means `cb` never runs,
 * otherwise it runs once, from the loop. cmd/ gives an adapter to providers/aws.
 */
typedef tt_code (*tt_engine_call_fn)(struct tt_aws *aws, const tt_engine_call *call,
                                     tt_engine_call_cb cb, void *ud, tt_error *err);

/* Called with each resource's plan in plan mode (instead of applying). All borrowed. */
typedef void (*tt_engine_plan_fn)(void *ud, const tt_resource *r, const json_t *plan,
                                  const char *blocked, const char *message, const tt_error *err);

typedef struct tt_engine_config {
    /* What the engine needs from outside reconcile/, given by cmd/: */
    const struct tt_provider *const *providers; /* the registry, NULL-terminated (borrowed) */
    tt_engine_call_fn call;                     /* how plan actions reach AWS */
    const char *region;                         /* the operator's region (borrowed), "" if none */
    int concurrency;                            /* resources in flight at once; 0: 64 */
    double resync;             /* seconds between full resyncs; 0: 600; < 0: never */
    bool dry_run;              /* observe and diff, never write to AWS (like mode: Observe) */
    bool prune;                /* delete what resources gone from the source own */
    bool once;                 /* reconcile everything once; on_idle fires when done */
    const char *state_dir;     /* NULL: keep no state */
    bool state_readonly;       /* read the state directory (memos) but never write it */
    const char *events_path;   /* NULL: events only go to the log */
    double batch_window;       /* seconds to gather keys into one observe batch; 0: 0.002 */
    size_t batch_max;          /* keys per observe batch; 0: 100 */
    tt_engine_plan_fn on_plan; /* plan mode: report plans, apply nothing */
    void *on_plan_ud;
    const tt_source_sink *sink; /* status, events and releases to the source (Kubernetes mode):
                                 * resources deleted while trimtab was down are then the
                                 * source's to report (finalizers), not the state directory's */
    void *sink_ud;
    void (*on_idle)(void *ud); /* once mode: all done; after tt_engine_stop: drained */
    void *on_idle_ud;
    struct tt_metrics *metrics; /* reconcile and queue metrics go here; NULL: none (borrowed) */
    /* Leader election (borrowed; NULL: this replica always writes). While it is not the
     * leader the engine keeps its store current but starts no reconcile, and checks it again
     * before every AWS write: a job that finds it has lost the lease ends without writing. */
    const struct tt_leader *leader;
    /* Called for each AWS service (IAM prefix: "ecs", "cloudwatch"...) that the first
     * listing's resources call, before their first reconcile, possibly more than once for a
     * service (cmd/: tt_aws_prepare, which is idempotent). NULL: nothing is prepared. */
    void (*prepare)(struct tt_aws *aws, const char *service);
} tt_engine_config;

typedef struct tt_engine_stats {
    size_t resources; /* in the store */
    size_t resting;   /* of those, held without their resource (tt_engine_set_rebuild) */
    size_t in_flight;
    size_t queued;
    unsigned long reconciles;
    unsigned long applied_actions;
    unsigned long settled_applies; /* applies whose answers made the confirming read needless */
    unsigned long failed;          /* resources whose last reconcile ended on an error */
    unsigned long invalid;         /* resources currently invalid */
    unsigned long not_ready; /* resources whose last reconcile was blocked or not converging */
    double first_call_at;    /* ev_time() of the first AWS call started, 0 before */
    bool synced;             /* the source delivered its first full listing */
    tt_queue_stats queue;    /* the work queue's counters */
} tt_engine_stats;

/*
 * NULL with `err` set (TT_EINVAL when a provider lacks a required slot). `aws` is borrowed, must
 * outlive the engine, and is only passed on: to the providers' observe and to cfg->call.
 */
tt_engine *tt_engine_create(struct ev_loop *loop, struct tt_aws *aws, const tt_engine_config *cfg,
                            tt_error *err);
/* Frees everything; in-flight calls must have ended (tt_aws_cancel_all first). Accepts NULL. */
void tt_engine_destroy(tt_engine *e);

/* The handler to give a source; its `ud` must be the engine. */
extern const tt_source_handler tt_engine_source_handler;

/* Sets the sink after creation (a source that is also the sink needs the engine first).
 * Call before the source delivers anything. */
void tt_engine_set_sink(tt_engine *e, const tt_source_sink *sink, void *ud);

/*
 * Lets resting resources go: once a resource's reconcile has ended and nothing queues it again
 * soon, the engine frees it and asks `rebuild(source, …)` for it before its next reconcile (a
 * resync, a dependency's change). Memory then holds, per resource, its key, group and
 * dependencies, not its spec. A source that keeps what builds a resource offers this (the
 * directory source: tt_source_dir_rebuild); without it (NULL) every resource stays in memory.
 * Call before the source delivers anything.
 */
void tt_engine_set_rebuild(tt_engine *e, tt_source_rebuild_fn rebuild, void *source);

/* This replica has just become the leader: every resource is reconciled again, since the
 * previous leader may have changed anything meanwhile. */
void tt_engine_lead(tt_engine *e);

/* Stops taking new work; on_idle fires once everything in flight has finished. */
void tt_engine_stop(tt_engine *e);

void tt_engine_stats_get(const tt_engine *e, tt_engine_stats *st);

#endif
