#include "tt_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tt_str.h"

struct slot {
    char *key; /* NULL: empty */
    void *value;
    uint64_t hash;
};

struct tt_map {
    struct slot *slots;
    size_t cap; /* a power of two */
    size_t len;
};

tt_map *tt_map_create(void)
{
    tt_map *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void tt_map_destroy(tt_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static size_t find(const tt_map *m, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);

    while (m->slots[i].key != NULL && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int grow(tt_map *m)
{
    size_t cap = m->cap * 2;
    struct slot *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (m->slots[i].key == NULL)
            continue;
        for (j = m->slots[i].hash & (cap - 1); slots[j].key != NULL; j = (j + 1) & (cap - 1))
            ;
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

void *tt_map_get(const tt_map *m, const char *key)
{
    size_t i = find(m, key, tt_hash64_str(key));

    return m->slots[i].key != NULL ? m->slots[i].value : NULL;
}

const char *tt_map_put(tt_map *m, const char *key, void *value)
{
    uint64_t h = tt_hash64_str(key);
    size_t i;

    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return NULL;
    i = find(m, key, h);
    if (m->slots[i].key == NULL) {
        if ((m->slots[i].key = strdup(key)) == NULL)
            return NULL;
        m->slots[i].hash = h;
        m->len++;
    }
    m->slots[i].value = value;
    return m->slots[i].key;
}

void *tt_map_del(tt_map *m, const char *key)
{
    size_t i = find(m, key, tt_hash64_str(key)), j;
    void *value;

    if (m->slots[i].key == NULL)
        return NULL;
    value = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->len--;
    /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & (m->cap - 1);
        if (m->slots[j].key == NULL)
            break;
        home = m->slots[j].hash & (m->cap - 1);
        if (((j - home) & (m->cap - 1)) < ((j - i) & (m->cap - 1)))
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j].key = NULL;
        i = j;
    }
    return value;
}

size_t tt_map_len(const tt_map *m)
{
    return m->len;
}

void tt_map_foreach(const tt_map *m, void (*fn)(void *ud, const char *key, void *value), void *ud)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key != NULL)
            fn(ud, m->slots[i].key, m->slots[i].value);
    }
}
