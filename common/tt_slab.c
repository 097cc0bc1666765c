#include "tt_slab.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TT_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef TT_UNDER_VALGRIND
#define TT_UNDER_VALGRIND() 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif

/* Address space reserved for chunks (PROT_NONE until a chunk is first used, so it costs
 * neither memory nor commit charge); past it, allocations fall back to malloc. */
#define RESERVE ((size_t)256 * 1024 * 1024)
#define NCHUNKS (RESERVE / TT_SLAB_CHUNK)
/* Slots start this far into a chunk, after its header. */
#define HEADER 64

/* Size classes: 16-byte steps to 256, 64-byte steps to 512, 128-byte steps to 1024. */
#define NCLASSES 24

struct chunk {
    struct chunk *next; /* in its class's list of chunks with a free slot, or the empty list */
    struct chunk *prev;
    void *free;      /* freed slots, linked through their first bytes */
    char *bump;      /* the slots never handed out start here */
    uint32_t used;   /* slots handed out and not freed */
    uint16_t cls;    /* index into class_size */
    uint16_t listed; /* on its class's list (it has a free slot) */
};

_Static_assert(sizeof(struct chunk) <= HEADER, "the chunk header fits before the first slot");

static struct {
    char *base;                 /* the reservation, aligned to TT_SLAB_CHUNK; NULL: none yet */
    int failed;                 /* reserving failed: everything goes to malloc */
    size_t fresh;               /* chunks below this index have been used */
    uint32_t released[NCHUNKS]; /* indexes of chunks returned to the system, to reuse */
    size_t nreleased;
    struct chunk *partial[NCLASSES]; /* chunks with a free slot, by class */
    struct chunk *empty;             /* empty chunks kept, linked through next */
    size_t nempty;
    size_t chunks; /* chunks in use or kept */
} S;

static size_t class_of(size_t size)
{
    if (size <= 256)
        return size == 0 ? 0 : (size - 1) / 16;
    if (size <= 512)
        return 16 + (size - 257) / 64;
    return 20 + (size - 513) / 128;
}

static size_t class_size(size_t cls)
{
    if (cls < 16)
        return (cls + 1) * 16;
    if (cls < 20)
        return 256 + (cls - 15) * 64;
    return 512 + (cls - 19) * 128;
}

static int reserve(void)
{
    if (S.base != NULL)
        return 0;
    if (S.failed)
        return -1;
    /* One chunk more than needed, to align the start; the ends are given back. */
    char *m = mmap(NULL, RESERVE + TT_SLAB_CHUNK, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        S.failed = 1;
        return -1;
    }
    uintptr_t start = ((uintptr_t)m + TT_SLAB_CHUNK - 1) & ~(uintptr_t)(TT_SLAB_CHUNK - 1);
    size_t head = start - (uintptr_t)m;
    if (head > 0)
        munmap(m, head);
    munmap(m + head + RESERVE, TT_SLAB_CHUNK - head);
    S.base = m + head;
    return 0;
}

static struct chunk *chunk_at(size_t index)
{
    return (struct chunk *)(void *)(S.base + index * TT_SLAB_CHUNK);
}

/* An empty chunk for class `cls`, linked as its class's first chunk with a free slot; NULL when
 * none can be had. */
static struct chunk *chunk_get(size_t cls)
{
    struct chunk *c;

    if (S.empty != NULL) {
        c = S.empty;
        S.empty = c->next;
        S.nempty--;
    } else if (S.nreleased > 0) {
        c = chunk_at(S.released[--S.nreleased]);
        S.chunks++;
    } else {
        if (reserve() != 0 || S.fresh == NCHUNKS)
            return NULL;
        c = chunk_at(S.fresh);
        if (mprotect(c, TT_SLAB_CHUNK, PROT_READ | PROT_WRITE) != 0)
            return NULL;
        S.fresh++;
        S.chunks++;
    }
    c->free = NULL;
    c->bump = (char *)c + HEADER;
    c->used = 0;
    c->cls = (uint16_t)cls;
    c->listed = 1;
    c->prev = NULL;
    c->next = S.partial[cls];
    if (c->next != NULL)
        c->next->prev = c;
    S.partial[cls] = c;
    return c;
}

static void unlink_chunk(struct chunk *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        S.partial[c->cls] = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->listed = 0;
}

static void release(struct chunk *c)
{
    /* The pages go back now; the range stays mapped and reads as zeros when used again. */
    madvise(c, TT_SLAB_CHUNK, MADV_DONTNEED);
    S.released[S.nreleased++] = (uint32_t)(((char *)c - S.base) / TT_SLAB_CHUNK);
    S.chunks--;
}

void *tt_slab_malloc(size_t size)
{
    if (size > TT_SLAB_MAX)
        return malloc(size);
    size_t cls = class_of(size), step = class_size(cls);
    struct chunk *c = S.partial[cls];
    void *p;

    if (c == NULL && (c = chunk_get(cls)) == NULL)
        return malloc(size);
    if (c->free != NULL) {
        p = c->free;
        memcpy(&c->free, p, sizeof(void *));
    } else {
        p = c->bump;
        c->bump += step;
    }
    c->used++;
    if (c->free == NULL && c->bump + step > (char *)c + TT_SLAB_CHUNK)
        unlink_chunk(c);
    return p;
}

void tt_slab_free(void *p)
{
    if (S.base == NULL || (char *)p < S.base || (char *)p >= S.base + RESERVE) {
        free(p);
        return;
    }
    struct chunk *c = (struct chunk *)((uintptr_t)p & ~(uintptr_t)(TT_SLAB_CHUNK - 1));

    memcpy(p, &c->free, sizeof(void *));
    c->free = p;
    c->used--;
    if (c->used == 0) {
        if (c->listed)
            unlink_chunk(c);
        if (S.nempty < TT_SLAB_KEEP_EMPTY) {
            c->next = S.empty;
            S.empty = c;
            S.nempty++;
        } else {
            release(c);
        }
    } else if (!c->listed) {
        c->listed = 1;
        c->prev = NULL;
        c->next = S.partial[c->cls];
        if (c->next != NULL)
            c->next->prev = c;
        S.partial[c->cls] = c;
    }
}

void tt_slab_trim(void)
{
    while (S.empty != NULL) {
        struct chunk *c = S.empty;
        S.empty = c->next;
        release(c);
    }
    S.nempty = 0;
}

size_t tt_slab_chunks(void)
{
    return S.chunks;
}

/* Set by tt_slab_use: tt_slab_alloc serves from slabs. */
static bool in_use;

void *tt_slab_alloc(size_t size)
{
    return in_use ? tt_slab_malloc(size) : malloc(size);
}

bool tt_slab_use(void)
{
#ifdef TT_ASAN
    return false;
#else
    if (TT_UNDER_VALGRIND())
        return false;
    json_set_alloc_funcs(tt_slab_malloc, tt_slab_free);
    in_use = true;
    return true;
#endif
}
