/*
 * tt_slab — the allocator of what dies in bursts (jansson's values, resource arenas):
 * size-class slabs in 16 KiB chunks of their own.
 *
 * Why: a reconcile burst parses thousands of AWS answers into jansson trees that die within
 * the reconcile, while the same burst makes things that stay (requeued items, curl's pooled
 * connections). On glibc's heap the two interleave, and once the trees are freed, every page
 * that still holds one long-lived chunk stays resident: at 10,013 resources that was ~5 MiB
 * of free memory malloc_trim could not give back. Here the trees live in chunks of their own,
 * one size class per chunk, and a chunk whose last object is freed goes back to the system
 * (a few empty ones are kept for the next burst until tt_slab_trim()).
 *
 * Sizes above TT_SLAB_MAX go to malloc. Not thread-safe: jansson is used on the loop's thread
 * only. Chunks come from one reserved address range, so freeing tells slab memory from malloc
 * memory by its address.
 */
#ifndef TT_SLAB_H
#define TT_SLAB_H

#include <stdbool.h>
#include <stddef.h>

/* The largest size served from a slab; larger ones are malloc's. */
#define TT_SLAB_MAX 1024
/* The size of a chunk, and its alignment: small enough that a few long-lived objects do not
 * hold much (64 KiB chunks held 1.9 MiB for 1.06 MiB of AWS models, 16 KiB ones 1.2 MiB). */
#define TT_SLAB_CHUNK (16 * 1024)
/* Empty chunks kept for the next allocations instead of returned at once (a burst empties
 * and refills chunks all the time), until tt_slab_trim(). */
#define TT_SLAB_KEEP_EMPTY 4

/* `size` bytes aligned for any type, from a slab when size <= TT_SLAB_MAX (from malloc when
 * larger, or when no chunk can be had). Not zeroed. NULL on ENOMEM. Free with tt_slab_free. */
void *tt_slab_malloc(size_t size);
/* Frees memory from tt_slab_malloc (NULL is ignored). A chunk left empty is kept for reuse or,
 * beyond a few kept ones, returned to the system. */
void tt_slab_free(void *p);
/* Returns the kept empty chunks to the system; called when the process goes idle. */
void tt_slab_trim(void);
/* Chunks in use or kept (each TT_SLAB_CHUNK bytes of address space, resident as touched). */
size_t tt_slab_chunks(void);

/*
 * Makes tt_slab the allocator of what a burst makes and drops: jansson's values
 * (json_set_alloc_funcs, before any JSON value exists) and resource arenas (tt_slab_alloc).
 * Strings from json_dumps are then slab memory, so trimtab calls tt_json_dumps, which returns
 * malloc's. Returns false and leaves both on malloc in sanitizer builds and under valgrind, so
 * that they keep seeing every JSON value and arena as a heap block of its own.
 */
bool tt_slab_use(void);

/* tt_slab_malloc once tt_slab_use() switched slabs on, malloc before (and in sanitizer builds
 * and under valgrind). Free with tt_slab_free either way. */
void *tt_slab_alloc(size_t size);

#endif
