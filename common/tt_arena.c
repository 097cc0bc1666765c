#include "tt_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct block {
    struct block *next;
    size_t cap;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct tt_arena {
    struct block *head; /* the block being filled; older blocks follow */
    size_t next_cap;
    size_t total;
};

static struct block *block_new(size_t cap)
{
    struct block *b = malloc(sizeof(*b) + cap);

    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

tt_arena *tt_arena_create(size_t first_block)
{
    tt_arena *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->next_cap = first_block ? first_block : 1024;
    return a;
}

void tt_arena_destroy(tt_arena *a)
{
    struct block *b, *next;

    if (a == NULL)
        return;
    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/*
 * Carves `size` bytes aligned to `align` (a power of two) from the current block, starting a
 * new block when it does not fit. Strings ask for alignment 1 so short ones pack densely.
 */
static void *arena_take(tt_arena *a, size_t size, size_t align)
{
    struct block *b = a->head;
    size_t off = 0;
    void *p;

    if (size > SIZE_MAX / 4)
        return NULL;
    if (b != NULL)
        off = (b->used + align - 1) & ~(align - 1);
    if (b == NULL || off > b->cap || b->cap - off < size) {
        size_t cap = a->next_cap;
        while (cap < size)
            cap *= 2;
        b = block_new(cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        a->head = b;
        a->total += cap;
        /* Grow geometrically but gently: most resources fit in the first block. */
        if (a->next_cap < 16384)
            a->next_cap *= 2;
        off = 0;
    }
    p = b->data + off;
    b->used = off + size;
    return p;
}

void *tt_arena_alloc(tt_arena *a, size_t size)
{
    void *p = arena_take(a, size ? size : 1, alignof(max_align_t));

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
    return a ? a->total : 0;
}

size_t tt_arena_used(const tt_arena *a)
{
    size_t used = 0;

    for (const struct block *b = a ? a->head : NULL; b != NULL; b = b->next)
        used += b->used + (b->next != NULL ? alignof(max_align_t) : 0);
    return used;
}
