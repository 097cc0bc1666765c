/*
 * tt_source_dir — the directory source: manifests under a directory (a GitOps checkout), listed
 * once and then watched with inotify on the libev loop.
 *
 * The tree is read as `trimtab validate` reads it (tt_loader: recursive, sorted, dot-entries
 * skipped, only *.yaml|*.yml|*.json, symlink loops cut, size limits). Every trimtab resource,
 * valid or not, is delivered as an upsert; then synced(). After that, file events are debounced
 * and only the files they name are read again, and deliveries are minimal: an upsert only when
 * what the engine sees of a resource changed, a remove only when a key is declared nowhere.
 * Duplicate keys, files that stop parsing and checkouts swapped by symlink (git-sync) are
 * handled as docs/sources.md explains. The directory is never written to.
 *
 * Single-threaded: every function must be called on the loop's thread.
 */
#ifndef TT_SOURCE_DIR_H
#define TT_SOURCE_DIR_H

#include <stdint.h>

#include "source.h"
#include "tt_error.h"

struct ev_loop;

typedef struct tt_source_dir tt_source_dir;

typedef struct tt_source_dir_config {
    const char *path; /* a directory, or a symlink to one (git-sync's "current" link); copied */
    double debounce;  /* seconds of quiet before re-reading changed files; 0: 0.01 */
} tt_source_dir_config;

/* Counters for tests and metrics. */
typedef struct tt_source_dir_stats {
    uint64_t files_read;   /* manifest files opened and read, the initial listing included */
    uint64_t files_parsed; /* of those, parsed: their bytes differed from the last parse */
    uint64_t batches;      /* debounced batches handled after the initial listing */
    uint64_t rescans;      /* full re-listings (symlink swap, queue overflow, root moved) */
    uint64_t upserts;      /* deliveries, the initial listing included */
    uint64_t removes;
    uint64_t rebuilds; /* tt_source_dir_rebuild calls */
    uint64_t watches;  /* directories watched now */
} tt_source_dir_stats;

/*
 * Creates a source on `loop` (borrowed; it must outlive the source). `cfg->path` is copied; `h`
 * is copied; `ud` is borrowed and passed to every callback. h->upsert and h->remove are required,
 * h->synced and h->problems may be NULL. Nothing is read until tt_source_dir_start. NULL with
 * `err` set on a bad configuration (TT_EINVAL), when inotify is unavailable (TT_EIO) or ENOMEM.
 */
tt_source_dir *tt_source_dir_create(struct ev_loop *loop, const tt_source_dir_config *cfg,
                                    const tt_source_handler *h, void *ud, tt_error *err);

/*
 * Lists the whole tree, delivers every resource (h->problems first when there are
 * diagnostics), calls h->synced, and then starts watching. All of that happens inside this call.
 * TT_ENOTFOUND or TT_EINVAL when the path is not a readable directory, TT_ENOMEM: in those cases
 * no callback has been called. TT_ECANCELLED when a callback destroyed the source (it is gone).
 * TT_EINVAL when called twice.
 */
tt_code tt_source_dir_start(tt_source_dir *s, tt_error *err);

/* Stops watching and frees everything; no callback is called afterwards. May be called from
 * inside a callback of this source. Accepts NULL. */
void tt_source_dir_destroy(tt_source_dir *s);

/*
 * ev_time() of the first file event of the batch being delivered (of the start of the listing
 * during tt_source_dir_start), for change-to-delivery latency figures.
 */
double tt_source_dir_last_change(const tt_source_dir *s);

/*
 * A tt_source_rebuild_fn (source.h) for the engine, `source` being the tt_source_dir: builds
 * again, from the files, what was last delivered for each of `keys`. out[i] is that resource
 * (the caller owns it), or NULL when the key is not delivered, when what its files build now
 * differs from the delivery (the change is delivered by the next batch), or when memory ran
 * out. A file is read once per call however many of the keys it declares. Called from inside a
 * delivery, it builds nothing.
 */
void tt_source_dir_rebuild(void *source, const char *const *keys, size_t n, tt_resource **out);

/* Fills `out` with the counters above. */
void tt_source_dir_get_stats(const tt_source_dir *s, tt_source_dir_stats *out);

#endif
