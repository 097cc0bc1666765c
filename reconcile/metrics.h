/*
 * tt_metrics — the operator's Prometheus metrics: what the engine counts as it works, and the
 * text exposition of everything (engine, work queue, AWS client, process) for /metrics.
 *
 * Names follow controller-runtime and client-go where the meaning is the same, so the
 * dashboards and alerts written for Go operators work unchanged: controller_runtime_reconcile_*
 * (label `controller` is the kind in lower case), workqueue_* (label `name` = "trimtab"),
 * leader_election_master_status. Everything else is trimtab_*. See docs/endpoints.md.
 *
 * The engine feeds counters and histograms through the tt_metrics_* calls, which accept a NULL
 * registry (no metrics wanted) so the engine never tests for it. Gauges are sampled at scrape
 * time by the caller of tt_metrics_render, which fills a tt_metrics_sample. Single-threaded:
 * everything runs on the loop's thread.
 */
#ifndef TT_METRICS_H
#define TT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "queue.h"
#include "tt_error.h"

struct tt_buf;

typedef struct tt_metrics tt_metrics;

/* How one reconcile ended (label `result`). */
typedef enum tt_metrics_result {
    TT_METRICS_SUCCESS,   /* converged, or progressing as planned */
    TT_METRICS_ERROR,     /* failed; retried with backoff */
    TT_METRICS_NOT_READY, /* blocked on a dependency or not converging */
    TT_METRICS_INVALID,   /* the spec is invalid; nothing to do until it changes */
    TT_METRICS_RESULT_COUNT
} tt_metrics_result;

/* The gauges, sampled by the caller at scrape time. Pointers are borrowed for the call. */
typedef struct tt_metrics_sample {
    tt_queue_stats queue;
    size_t resources;        /* in the engine's store */
    size_t resting;          /* of those, held without their spec between reconciles */
    size_t in_flight;        /* reconciles running */
    int concurrency;         /* the most reconciles that may run at once */
    unsigned long failed;    /* resources whose last reconcile failed */
    unsigned long invalid;   /* resources with an invalid spec */
    unsigned long not_ready; /* resources blocked or not converging */
    bool synced;             /* the source delivered its first full listing */
    bool leader;             /* this replica may write (true when not electing) */
    /* Appends the AWS client's series (calls, retries, throttles, the retry quota), or NULL:
     * the engine knows AWS only through what cmd/ hands it, so the client renders itself. */
    tt_code (*render_aws)(const void *aws, tt_buf *out);
    const void *aws; /* what render_aws reads (borrowed) */
} tt_metrics_sample;

/* NULL on ENOMEM. */
tt_metrics *tt_metrics_create(void);
/* Accepts NULL. */
void tt_metrics_destroy(tt_metrics *m);

/* Counts one reconcile of a resource of `kind` that took `seconds`. `m` may be NULL. */
void tt_metrics_reconcile(tt_metrics *m, tt_kind kind, tt_metrics_result result, double seconds);
/* Observes a key's queue latency: from becoming dirty to being popped. `m` may be NULL. */
void tt_metrics_queue_wait(tt_metrics *m, double seconds);

/* The number of reconciles counted for (kind, result), for tests. */
uint64_t tt_metrics_reconcile_count(const tt_metrics *m, tt_kind kind, tt_metrics_result result);

/*
 * Appends every metric in Prometheus' text exposition format (version 0.0.4) to `out`: the
 * registry's counters and histograms, the sample's gauges, the AWS client's counters, the
 * process's CPU time, resident memory and start time. TT_ENOMEM on failure (`out` then holds
 * part of the text).
 */
tt_code tt_metrics_render(const tt_metrics *m, const tt_metrics_sample *s, struct tt_buf *out);

#endif
