/*
 * tt_source — where desired state comes from: a directory (GitOps checkout) or, later, the
 * Kubernetes API. A source lists everything once, then reports changes as they happen, in the
 * shape of an informer: upsert, remove, synced. The engine owns what it is handed.
 */
#ifndef TT_SOURCE_H
#define TT_SOURCE_H

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

#endif
