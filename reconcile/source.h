/*
 * tt_source — where desired state comes from: a directory (GitOps checkout) or, later, the
 * Kubernetes API. A source lists everything once, then reports changes as they happen, in the
 * shape of an informer: upsert, remove, synced. The engine owns what it is handed.
 */
#ifndef TT_SOURCE_H
#define TT_SOURCE_H

#include <jansson.h>

#include "diag.h"
#include "model.h"

typedef struct tt_source_handler {
    /*
     * A resource appeared or changed (spec, metadata, validity or origin). Ownership of `r`
     * passes to the handler. Invalid resources are delivered too (r->invalid, r->problem) so
     * their status can say why.
     */
    void (*upsert)(void *ud, tt_resource *r);
    /* The resource `key` ("Kind/namespace/name") is no longer declared by the source. */
    void (*remove)(void *ud, const char *key);
    /* The initial listing has been delivered in full (like an informer's HasSynced). The
     * engine starts reconciling only then, so it can order the whole listing for batching. */
    void (*synced)(void *ud);
    /* Problems found while reading (already attached to invalid resources when possible);
     * borrowed for the call. May be NULL. */
    void (*problems)(void *ud, const tt_diags *diags);
} tt_source_handler;

/*
 * For an engine that lets a resource go while it rests (the source keeps what builds it: the
 * directory source its files): out[i] gets what was last delivered for keys[i] (the caller owns
 * it), or NULL when the source cannot give it now (the key changed or went away since, and the
 * source is about to deliver that; or memory ran out). `source` is the source itself.
 */
typedef void (*tt_source_rebuild_fn)(void *source, const char *const *keys, size_t n,
                                     tt_resource **out);

/*
 * The other direction, for a source that keeps status where the resources live (the Kubernetes
 * API): the engine reports to it. Everything passed is borrowed for the call. Directory mode
 * has no sink (status and events go to the state directory).
 */
typedef struct tt_source_sink {
    /* The resource's status after a reconcile. Called after every reconcile, changed or not:
     * the sink writes it only when it differs from what the API server holds. */
    void (*status)(void *ud, const char *key, const json_t *status);
    /* An event: `type` "Normal" or "Warning", `reason` CamelCase. Repeats are the sink's to
     * count. */
    void (*event)(void *ud, const char *key, const char *type, const char *reason,
                  const char *message);
    /* The removal of `key` is complete: its AWS objects are gone, or retained by policy. The
     * source may now let the object go (remove its finalizer). */
    void (*released)(void *ud, const char *key);
} tt_source_sink;

#endif
