#include "tt_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tt_slab.h"

/* The largest block, and so the largest allocation: 32-bit sizes keep a block's header at 16
 * bytes (a resource's manifest is at most 32 MiB; an arena never comes near this). */
#define BLOCK_MAX (UINT32_MAX / 2)

struct block {
    struct block *next;
    uint32_t cap;
    uint32_t used;
    alignas(max_align_t) unsigned char data[];
};

/*
 * The arena and its first block are one allocation: the block starts right after this header
 * (FIRST_OFFSET), 32 bytes before the first byte handed out. A resource's arena is sized to fit
 * one block, so most arenas cost a single chunk, and 10,000 resources do not pay 10,000
 * separate headers. Blocks come from tt_slab (malloc before tt_slab_use and in sanitizer
 * builds): a resting resource's arena is freed after its reconcile (docs/engine.md), and on
 * glibc's heap the arenas built at start-up would have left holes between the records that
 * stay, which no trim can return.
 */
struct tt_arena {
    struct block *head; /* the block being filled; older blocks follow, the first one last */
    size_t next_cap;
};

#define FIRST_OFFSET ((sizeof(tt_arena) + alignof(struct block) - 1) & ~(alignof(struct block) - 1))

static struct block *first_block(tt_arena *a)
{
    /* Through void *: FIRST_OFFSET is a multiple of the block's alignment, and tt_slab_alloc
     * aligns `a` for any type. */
    return (struct block *)(void *)((unsigned char *)a + FIRST_OFFSET);
}

/* `cap` is at most BLOCK_MAX. */
static void block_init(struct block *b, size_t cap)
{
    b->next = NULL;
    b->cap = (uint32_t)cap;
    b->used = 0;
}

tt_arena *tt_arena_create(size_t first_block_size)
{
    size_t cap = first_block_size ? first_block_size : 1024;
    tt_arena *a;

    if (cap > BLOCK_MAX)
        return NULL;
    a = tt_slab_alloc(FIRST_OFFSET + sizeof(struct block) + cap);
    if (a == NULL)
        return NULL;
    a->head = first_block(a);
    block_init(a->head, cap);
    a->next_cap = cap;
    return a;
}

void tt_arena_destroy(tt_arena *a)
{
    struct block *b, *next;

    if (a == NULL)
        return;
    /* Every block but the first is an allocation of its own. */
    for (b = a->head; b != first_block(a); b = next) {
        next = b->next;
        tt_slab_free(b);
    }
    tt_slab_free(a);
}

/* The alignment for an object of `size` bytes: the largest power of two dividing it, up to
 * max_align_t's. A type's size is a multiple of its alignment (for arrays too), so this is
 * enough for whatever the caller stores, and a 152-byte struct of pointers does not pay the
 * 8 bytes of padding a blanket 16-byte alignment costs. */
static size_t align_for(size_t size)
{
    size_t low = size & (~size + 1);

    return low < alignof(max_align_t) ? low : alignof(max_align_t);
}

/*
 * Carves `size` bytes aligned to `align` (a power of two) from the current block, starting a
 * new block when it does not fit. Strings ask for alignment 1 so short ones pack densely.
 */
static void *arena_take(tt_arena *a, size_t size, size_t align)
{
    struct block *b = a->head;
    size_t off;
    void *p;

    if (size > BLOCK_MAX)
        return NULL;
    off = (b->used + align - 1) & ~(align - 1);
    if (off > b->cap || b->cap - off < size) {
        size_t cap = a->next_cap;
        /* Grow geometrically but gently: most resources fit in the first block. */
        if (cap < 16384)
            cap *= 2;
        a->next_cap = cap;
        while (cap < size)
            cap *= 2;
        cap = cap < BLOCK_MAX ? cap : BLOCK_MAX;
        b = tt_slab_alloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        block_init(b, cap);
        b->next = a->head;
        a->head = b;
        off = 0;
    }
    p = b->data + off;
    b->used = (uint32_t)(off + size); /* at most cap */
    return p;
}

void *tt_arena_alloc(tt_arena *a, size_t size)
{
    void *p;

    size = size ? size : 1;
    p = arena_take(a, size, align_for(size));
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

char *tt_arena_strndup(tt_arena *a, const char *s, size_t n)
{
    char *p;

    if (s == NULL)
        return NULL;
    p = arena_take(a, n + 1, 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *tt_arena_strdup(tt_arena *a, const char *s)
{
    return s ? tt_arena_strndup(a, s, strlen(s)) : NULL;
}

size_t tt_arena_size(const tt_arena *a)
{
    size_t total = 0;

    for (const struct block *b = a ? a->head : NULL; b != NULL; b = b->next)
        total += b->cap;
    return total;
}

size_t tt_arena_used(const tt_arena *a)
{
    size_t used = 0;

    for (const struct block *b = a ? a->head : NULL; b != NULL; b = b->next)
        used += b->used + (b->next != NULL ? alignof(max_align_t) : 0);
    return used;
}
