/*
 * tt_source_kube — desired state from the Kubernetes API, as an informer per kind and namespace.
 *
 * Each informer lists (in pages), delivers what it found, then watches from the list's
 * resourceVersion with bookmarks. A watch that ends is resumed from the last resourceVersion
 * seen; 410 Gone (the server compacted past it) relists and delivers only the difference
 * against the local cache: new or changed objects as upserts, vanished ones as removals.
 * Failures back off exponentially with jitter. The cache holds the last object of every key,
 * so the engine reads it (never the API) when it resyncs, and an object is delivered again
 * only when something the engine reads changed (spec, metadata, annotations, finalizers,
 * deletion) — never for a status-only change such as trimtab's own status writes.
 *
 * The source is also the engine's sink (tt_source_kube_sink):
 *  - status goes to the status subresource, only when it differs from the cached object's,
 *    with optimistic concurrency (a 409 re-reads the object and tries again);
 *  - events become events.k8s.io/v1 Events; a repeat updates the first one's series count;
 *  - the finalizer trimtab.dev/cleanup is added before an object is handed to the engine (so
 *    before any AWS write), and removed when the engine reports the removal complete.
 */
#ifndef TT_SOURCE_KUBE_H
#define TT_SOURCE_KUBE_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "tt_error.h"

struct ev_loop;
struct tt_kube;
struct tt_leader;
typedef struct tt_source_kube tt_source_kube;

#define TT_KUBE_FINALIZER "trimtab.dev/cleanup"

typedef struct tt_source_kube_config {
    const char *const *namespaces; /* the namespaces to watch; none: all of them */
    size_t nnamespaces;
    double backoff_min;    /* seconds; 0: 0.5 */
    double backoff_max;    /* seconds; 0: 30 */
    int watch_timeout;     /* timeoutSeconds asked of each watch; 0: 300 to 600 at random */
    double event_interval; /* a series is updated at most this often (seconds); 0: 10 */
    const char *instance;  /* reportingInstance of events; NULL: the host name */
    /* Leader election (borrowed; NULL: always write). A standby lists and watches like the
     * leader, so its cache is warm when it takes over, but writes nothing: no finalizer, no
     * status, no event (checked before each request). */
    const struct tt_leader *leader;
} tt_source_kube_config;

typedef struct tt_source_kube_stats {
    uint64_t lists;         /* list requests (pages) */
    uint64_t relists;       /* full relists after 410 Gone */
    uint64_t watches;       /* watches started */
    uint64_t watch_events;  /* ADDED, MODIFIED and DELETED received */
    uint64_t deliveries;    /* upserts and removals handed to the engine */
    uint64_t status_writes; /* status subresource updates sent */
    uint64_t status_conflicts;
    uint64_t finalizer_patches;
    uint64_t events_created;
    uint64_t events_updated; /* series updates */
    uint64_t events_dropped; /* not sent: MAX_EVENTS_WAITING were waiting for the API server */
    uint64_t rebuilds;       /* tt_source_kube_rebuild calls */
} tt_source_kube_stats;

/*
 * Creates the source. `kube` is borrowed (it must outlive the source); `cfg` is copied.
 * `handler` and `ud` receive the deliveries. NULL with `err` set.
 */
tt_source_kube *tt_source_kube_create(struct ev_loop *loop, struct tt_kube *kube,
                                      const tt_source_kube_config *cfg,
                                      const tt_source_handler *handler, void *ud, tt_error *err);
/* Lists and starts watching. */
tt_code tt_source_kube_start(tt_source_kube *s, tt_error *err);
/* Stops listing and watching (shutdown). Status, events and finalizers still go out, so the
 * engine can finish what is in flight. */
void tt_source_kube_stop(tt_source_kube *s);
/* This replica has just become the leader: objects that still lack the finalizer get it (and
 * reach the engine), objects being deleted are handed to the engine again, and status the
 * engine asked for while writes were held back is written. */
void tt_source_kube_lead(tt_source_kube *s);
/* Cancels everything and frees. Accepts NULL. */
void tt_source_kube_destroy(tt_source_kube *s);

void tt_source_kube_stats_get(const tt_source_kube *s, tt_source_kube_stats *st);

/*
 * A tt_source_rebuild_fn (source.h) for the engine, `source` being the tt_source_kube: builds
 * again, from the cached object, what was last delivered for each of `keys`. out[i] is that
 * resource (the caller owns it), or NULL when the key is not delivered, was deleted, or its
 * object changed since in a way not yet delivered (or memory ran out).
 */
void tt_source_kube_rebuild(void *source, const char *const *keys, size_t n, tt_resource **out);

/* The sink to give the engine (tt_engine_config.sink); its ud must be the source. */
extern const tt_source_sink tt_source_kube_sink;

/* ---- pieces, for tests ---------------------------------------------------------------- */

/* The fingerprint of what the engine reads of an object: everything but status,
 * resourceVersion and managedFields. Equal fingerprints mean nothing to deliver. */
uint64_t tt_source_kube_fingerprint(const json_t *obj);

#endif
