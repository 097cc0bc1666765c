/*
 * tt_map — a string-keyed hash map of pointers (open addressing, linear probing).
 *
 * The map copies keys and owns the copies; values are the caller's. Iteration order is the
 * table's, not insertion order. Removing during tt_map_foreach is not allowed; collect first.
 */
#ifndef TT_MAP_H
#define TT_MAP_H

#include <stddef.h>

#include "tt_error.h"

typedef struct tt_map tt_map;

/* NULL on ENOMEM. */
tt_map *tt_map_create(void);
/* Frees the map and its key copies (not the values). Accepts NULL. */
void tt_map_destroy(tt_map *m);
/* The value of `key`, or NULL. */
void *tt_map_get(const tt_map *m, const char *key);
/* Sets `key` to `value` (not NULL); returns the stored key copy, or NULL on ENOMEM. */
const char *tt_map_put(tt_map *m, const char *key, void *value);
/* Removes `key`; returns its value (NULL when absent). */
void *tt_map_del(tt_map *m, const char *key);
size_t tt_map_len(const tt_map *m);
/* Calls fn for every entry; `key` is the map's copy. */
void tt_map_foreach(const tt_map *m, void (*fn)(void *ud, const char *key, void *value), void *ud);

#endif
