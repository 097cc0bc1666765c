/*
 * tt_index — an open-addressing hash table (linear probing) of pointers to records that hold
 * their own keys: it copies nothing, so a key held once in its record is not held again here,
 * which matters for the per-resource tables at 10,000 resources. Any key works (strings,
 * integers): the caller hashes it and says how a record matches it.
 *
 * Embedded in its owner: tt_index_init / tt_index_cleanup. The records stay the caller's. The
 * slots are read directly to visit every record (`slots[i].item`, NULL for an empty slot, for
 * i < cap); adding or removing while visiting is not allowed.
 */
#ifndef TT_INDEX_H
#define TT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "tt_error.h"

typedef struct tt_index_slot {
    uint64_t hash;
    void *item; /* NULL: empty */
} tt_index_slot;

typedef struct tt_index {
    tt_index_slot *slots; /* owned */
    size_t cap;           /* a power of two, or 0 before the first record */
    size_t len;
} tt_index;

/* True when `item` is the record of `key`. */
typedef int (*tt_index_eq_fn)(const void *item, const void *key);

/* An empty index; allocates nothing. */
void tt_index_init(tt_index *ix);
/* Frees the slots (not the records); the index is empty and may be used again. */
void tt_index_cleanup(tt_index *ix);
/* Forgets every record (not freeing them), keeping the slots for the next ones. */
void tt_index_clear(tt_index *ix);
/* The record of `key` (whose hash is `hash`), or NULL. */
void *tt_index_find(const tt_index *ix, uint64_t hash, tt_index_eq_fn eq, const void *key);
/* Adds `item` (not NULL, not in the index yet). TT_ENOMEM leaves the index as it was. */
tt_code tt_index_put(tt_index *ix, uint64_t hash, void *item);
/* Removes `item` (by identity; `hash` is its key's); absent is fine. */
void tt_index_del(tt_index *ix, uint64_t hash, const void *item);

#endif
