#include "tt_index.h"

#include <stdlib.h>
#include <string.h>

void tt_index_init(tt_index *ix, tt_index_hash_fn hash_of)
{
    ix->slots = NULL;
    ix->cap = 0;
    ix->len = 0;
    ix->hash_of = hash_of;
}

void tt_index_cleanup(tt_index *ix)
{
    free(ix->slots);
    tt_index_init(ix, ix->hash_of);
}

void tt_index_clear(tt_index *ix)
{
    if (ix->cap > 0)
        memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
    ix->len = 0;
}

void *tt_index_find(const tt_index *ix, uint64_t hash, tt_index_eq_fn eq, const void *key)
{
    size_t mask = ix->cap - 1;

    if (ix->cap == 0)
        return NULL;
    for (size_t i = hash & mask; ix->slots[i] != NULL; i = (i + 1) & mask) {
        if (eq(ix->slots[i], key))
            return ix->slots[i];
    }
    return NULL;
}

static void place(void **slots, size_t cap, uint64_t hash, void *item)
{
    size_t i;

    for (i = hash & (cap - 1); slots[i] != NULL; i = (i + 1) & (cap - 1))
        ;
    slots[i] = item;
}

tt_code tt_index_put(tt_index *ix, uint64_t hash, void *item)
{
    /* At most 3/4 full: linear probes stay short. */
    if ((ix->len + 1) * 4 > ix->cap * 3) {
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        void **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return TT_ENOMEM;
        for (size_t i = 0; i < ix->cap; i++) {
            if (ix->slots[i] != NULL)
                place(slots, cap, ix->hash_of(ix->slots[i]), ix->slots[i]);
        }
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    place(ix->slots, ix->cap, hash, item);
    ix->len++;
    return TT_OK;
}

/* True when slot k lies cyclically in (i, j]. */
static int cyclic_between(size_t i, size_t k, size_t j)
{
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

void tt_index_del(tt_index *ix, uint64_t hash, const void *item)
{
    size_t mask = ix->cap - 1, hole, j;

    if (ix->cap == 0)
        return;
    for (hole = hash & mask; ix->slots[hole] != item; hole = (hole + 1) & mask) {
        if (ix->slots[hole] == NULL)
            return;
    }
    /* Backward-shift deletion: later members of the probe run move into the hole, so lookups
     * never meet a tombstone. */
    for (j = (hole + 1) & mask; ix->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = ix->hash_of(ix->slots[j]) & mask;
        if (cyclic_between(hole, home, j))
            continue;
        ix->slots[hole] = ix->slots[j];
        hole = j;
    }
    ix->slots[hole] = NULL;
    ix->len--;
}
