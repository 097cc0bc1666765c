/*
 * tt_index — an open-addressing hash table (linear probing) of pointers to records that hold
 * their own keys: it copies nothing and a slot is just the record's pointer (8 bytes), so a key
 * held once in its record is not held again here, which matters for the per-resource tables
 * at 10,000 resources. Any key works (strings, integers): the caller hashes it, says how a
 * record matches it, and gives the index a way to hash a record's key again (for growing and
 * for closing the gap a removal leaves); a record's key must not change while it is indexed.
 *
 * Embedded in its owner: tt_index_init / tt_index_cleanup. The records stay the caller's. The
 * slots are read directly to visit every record (`slots[i]`, NULL for an empty slot, for
 * i < cap); adding or removing while visiting is not allowed.
 */
#ifndef TT_INDEX_H
#define TT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "tt_error.h"

/* The hash of the key `item` holds: what tt_index_put and tt_index_del are given for it. */
typedef uint64_t (*tt_index_hash_fn)(const void *item);
/* True when `item` is the record of `key`. */
typedef int (*tt_index_eq_fn)(const void *item, const void *key);

typedef struct tt_index {
    void **slots; /* owned; NULL: empty */
    size_t cap;   /* a power of two, or 0 before the first record */
    size_t len;
    tt_index_hash_fn hash_of;
} tt_index;

/* An empty index whose records' keys hash with `hash_of`; allocates nothing. */
void tt_index_init(tt_index *ix, tt_index_hash_fn hash_of);
/* Frees the slots (not the records); the index is empty and may be used again. */
void tt_index_cleanup(tt_index *ix);
/* Forgets every record (not freeing them), keeping the slots for the next ones. */
void tt_index_clear(tt_index *ix);
/* The record of `key` (whose hash is `hash`), or NULL. */
void *tt_index_find(const tt_index *ix, uint64_t hash, tt_index_eq_fn eq, const void *key);
/* Adds `item` (not NULL, not in the index yet; `hash` is hash_of(item)). TT_ENOMEM leaves the
 * index as it was. */
tt_code tt_index_put(tt_index *ix, uint64_t hash, void *item);
/* Removes `item` (by identity; `hash` is hash_of(item)); absent is fine. */
void tt_index_del(tt_index *ix, uint64_t hash, const void *item);

#endif
