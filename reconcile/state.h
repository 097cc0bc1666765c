/*
 * tt_state — the state directory of directory mode: one JSON document per resource, written
 * atomically (write to a temporary file, then rename), never in the source directory.
 *
 * A record looks like a Kubernetes object, so people and tools can read it:
 *   {"apiVersion": "trimtab.dev/v1alpha1", "kind": "ScalingPolicy",
 *    "metadata": {"namespace": "shop", "name": "web", "generation": 3},
 *    "spec": {...the last spec seen...}, "specHash": "…",
 *    "status": {...}, "memo": {...what the provider remembers, e.g. AWS names it owns…}}
 * Records live at DIR/resources/<Kind>/<namespace>/<name>.json. The disk is the index: of a
 * record only the hash of its text is kept in memory (16 bytes, not even its key), once read or
 * written; a record is read when its resource is reconciled, and written only when its content
 * changed, so an in-sync resync writes nothing.
 */
#ifndef TT_STATE_H
#define TT_STATE_H

#include <jansson.h>
#include <stdbool.h>

#include "tt_error.h"

typedef struct tt_state tt_state;

/* Opens (creating) the directory. A `writer` (the one process that writes records) takes an
 * advisory lock on DIR/lock for as long as the state is open — a second writer fails with
 * TT_ECONFLICT naming the holder — and removes the temporary files a killed writer left;
 * readers (`status`, `plan`) take no lock and never remove anything. NULL with `err`. */
tt_state *tt_state_open(const char *dir, bool writer, tt_error *err);
/* Accepts NULL. */
void tt_state_close(tt_state *st);
/* The record of `key` ("Kind/namespace/name"), a new reference, or NULL when there is none or
 * it cannot be read (a damaged file is treated as absent). */
json_t *tt_state_read(tt_state *st, const char *key);
/* Writes the record unless an identical one is already there. */
tt_code tt_state_write(tt_state *st, const char *key, const json_t *record, tt_error *err);
/* Removes the record (absent is fine). */
tt_code tt_state_remove(tt_state *st, const char *key, tt_error *err);
/* Calls `fn` for every key with a record on disk now, in sorted order (the directory is listed
 * at each call; `fn` may remove records). */
void tt_state_foreach(tt_state *st, void (*fn)(void *ud, const char *key), void *ud);
/* Number of records on disk (listed at each call). */
size_t tt_state_count(const tt_state *st);
/* Files written and writes skipped as unchanged since open, for tests and figures. */
void tt_state_stats(const tt_state *st, size_t *written, size_t *skipped);

#endif
