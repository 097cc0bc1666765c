/*
 * tt_arena — a bump allocator for objects that live and die together.
 *
 * A typed resource (a parsed manifest) puts all of its strings and arrays in one arena, so it
 * costs a few allocations instead of dozens and is freed in one call. Memory is never returned
 * piecemeal; tt_arena_destroy() releases everything.
 */
#ifndef TT_ARENA_H
#define TT_ARENA_H

#include <stddef.h>

typedef struct tt_arena tt_arena;

/* Creates an arena whose first block holds `first_block` bytes (0: a default). NULL on ENOMEM. */
tt_arena *tt_arena_create(size_t first_block);
/* Frees the arena and everything allocated from it. Accepts NULL. */
void tt_arena_destroy(tt_arena *a);
/* Zeroed memory owned by the arena, aligned for an object or array of `size` bytes (to the
 * largest power of two dividing `size`, up to max_align_t's: a type's size is a multiple of
 * its alignment). NULL on ENOMEM. */
void *tt_arena_alloc(tt_arena *a, size_t size);
/* A copy of `s` (NULL gives NULL) owned by the arena. */
char *tt_arena_strdup(tt_arena *a, const char *s);
char *tt_arena_strndup(tt_arena *a, const char *s, size_t n);
/* Bytes held by the arena's blocks, for memory accounting. */
size_t tt_arena_size(const tt_arena *a);
/* A first block size with which the same allocations, made again in the same order, fit one
 * block: the bytes used plus the alignment a block boundary may have saved. */
size_t tt_arena_used(const tt_arena *a);

#endif
