/* store.c — the desired-resource store (key → entry: the resource, its next version, its
 * tombstone once removed) and the dependency index: which resources refer to which, resolved
 * for the diff, and the dependants re-queued when a status changes. */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_buf.h"
#include "tt_str.h"

/* ---- dependencies ------------------------------------------------------------------------ */

static void rdeps_add(tt_engine *e, const char *dep, const char *key)
{
    struct dependants *d = tt_map_get(e->rdeps, dep);

    if (d == NULL) {
        d = calloc(1, sizeof(*d));
        if (d == NULL || tt_map_put(e->rdeps, dep, d) == NULL) {
            free(d);
            return;
        }
    }
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->keys[i], key) == 0)
            return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        char **k = realloc(d->keys, cap * sizeof(*k));
        if (k == NULL)
            return;
        d->keys = k;
        d->cap = cap;
    }
    if ((d->keys[d->n] = strdup(key)) != NULL)
        d->n++;
}

static void rdeps_del(tt_engine *e, const char *dep, const char *key)
{
    struct dependants *d = tt_map_get(e->rdeps, dep);

    for (size_t i = 0; d != NULL && i < d->n; i++) {
        if (strcmp(d->keys[i], key) == 0) {
            free(d->keys[i]);
            d->keys[i] = d->keys[--d->n];
            break;
        }
    }
    if (d != NULL && d->n == 0) {
        tt_map_del(e->rdeps, dep);
        free(d->keys);
        free(d);
    }
}

struct refs_collect {
    const tt_resource *r;
    char **keys;
    size_t n;
    size_t cap;
};

static void collect_ref(void *ud, tt_kind kind, const char *name, size_t len)
{
    struct refs_collect *c = ud;
    char key[600];

    snprintf(key, sizeof(key), "%s/%s/%.*s", tt_kind_name(kind), c->r->namespace_, (int)len, name);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->keys[i], key) == 0)
            return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        char **k = realloc(c->keys, cap * sizeof(*k));
        if (k == NULL)
            return;
        c->keys = k;
        c->cap = cap;
    }
    if ((c->keys[c->n] = strdup(key)) != NULL)
        c->n++;
}

/* Replaces the entry's dependencies with those of `r` (NULL: none). */
void store_set_deps(tt_engine *e, struct entry *en, const tt_resource *r)
{
    struct refs_collect c = {r, NULL, 0, 0};

    for (size_t i = 0; i < en->ndeps; i++) {
        rdeps_del(e, en->deps[i], en->key);
        free(en->deps[i]);
    }
    free(en->deps);
    en->deps = NULL;
    en->ndeps = 0;
    if (r == NULL || r->invalid)
        return;
    tt_resource_refs(r, collect_ref, &c);
    en->deps = c.keys;
    en->ndeps = c.n;
    for (size_t i = 0; i < en->ndeps; i++)
        rdeps_add(e, en->deps[i], en->key);
}

void store_requeue_dependants(tt_engine *e, const char *key)
{
    struct dependants *d = tt_map_get(e->rdeps, key);

    for (size_t i = 0; d != NULL && i < d->n; i++)
        tt_queue_add(e->q, d->keys[i]);
}

/*
 * Deletion order: a resource is deleted after the removed resources that refer to it (a
 * composite alarm before the alarms its rule names, which AWS refuses to delete while it
 * exists). The first such dependant still waiting for its own deletion, or NULL. A dependant
 * that `en` refers to in turn is not waited for, so a cycle cannot block both.
 */
const char *store_removed_dependant(tt_engine *e, const struct entry *en)
{
    struct dependants *d = tt_map_get(e->rdeps, en->key);

    for (size_t i = 0; d != NULL && i < d->n; i++) {
        const struct entry *other = store_get(e, d->keys[i]);
        bool mutual = false;
        if (other == NULL || !other->removed)
            continue;
        for (size_t k = 0; k < en->ndeps; k++)
            mutual |= strcmp(en->deps[k], other->key) == 0;
        if (!mutual)
            return other->key;
    }
    return NULL;
}

void store_requeue_dependencies(tt_engine *e, const struct entry *en)
{
    for (size_t i = 0; i < en->ndeps; i++) {
        const struct entry *dep = store_get(e, en->deps[i]);
        if (dep != NULL && dep->removed)
            tt_queue_add(e->q, dep->key);
    }
}

/* The status of every resource `en` refers to: {"Budget/<name>": {status}, …}. */
json_t *store_resolve_deps(tt_engine *e, const struct entry *en)
{
    json_t *deps = json_object();

    for (size_t i = 0; deps != NULL && i < en->ndeps; i++) {
        /* A plan's own statuses first: they are what this run read from AWS just now. */
        json_t *planned = json_object_get(e->plan_status, en->deps[i]);
        json_t *rec = planned == NULL && e->state ? tt_state_read(e->state, en->deps[i]) : NULL;
        const char *kind_end = strchr(en->deps[i], '/');
        const char *name = strrchr(en->deps[i], '/');
        char short_key[400];
        if ((rec == NULL && planned == NULL) || kind_end == NULL || name == NULL) {
            json_decref(rec);
            continue;
        }
        /* Providers look dependencies up as "Kind/name": the namespace is always theirs. */
        snprintf(short_key, sizeof(short_key), "%.*s%s", (int)(kind_end - en->deps[i]), en->deps[i],
                 name);
        json_object_set(deps, short_key,
                        planned != NULL ? planned : json_object_get(rec, "status"));
        json_decref(rec);
    }
    return deps;
}

/* ---- groups -------------------------------------------------------------------------------- */

static void group_release(tt_engine *e, struct qgroup *g)
{
    if (g == NULL || --g->refs > 0)
        return;
    tt_map_del(e->qgroups, g->text);
    free(g);
}

/* Sets the entry's group to the one of `r`; out of memory, it keeps none (and is queued
 * ungrouped at a resync, which costs batching, not correctness). */
static void entry_set_group(tt_engine *e, struct entry *en, const tt_resource *r)
{
    const tt_provider *p = engine_provider_for(e, r);
    const char *affinity = p != NULL ? p->affinity(r) : NULL;
    struct qgroup *g = NULL;
    tt_buf text;

    tt_buf_init(&text);
    if (tt_buf_puts(&text, tt_kind_name(r->kind)) != TT_OK ||
        (p != NULL && tt_buf_printf(&text, "|%s|%s|%s|%s", p->name, engine_region_of(e, r),
                                    r->spec.common->role_arn ? r->spec.common->role_arn : "",
                                    affinity != NULL ? affinity : "") != TT_OK))
        goto out;
    g = tt_map_get(e->qgroups, text.data);
    if (g == NULL) {
        if ((g = calloc(1, sizeof(*g))) == NULL)
            goto out;
        g->p = p;
        if ((g->text = tt_map_put(e->qgroups, text.data, g)) == NULL) {
            free(g);
            g = NULL;
            goto out;
        }
    }
    g->refs++;
out:
    group_release(e, en->group);
    en->group = g;
    tt_buf_cleanup(&text);
}

/* ---- resting entries ----------------------------------------------------------------------- */

tt_resource *store_resource_from_record(tt_engine *e, const char *key)
{
    json_t *rec = e->state != NULL ? tt_state_read(e->state, key) : NULL;
    tt_resource *r = NULL;
    tt_doc_src src = {0};
    tt_diags *diags = rec != NULL ? tt_diags_create() : NULL;

    if (diags != NULL) {
        json_object_del(rec, "status");
        json_object_del(rec, "memo");
        json_object_del(rec, "specHash");
        tt_model_from_json(rec, &src, diags, &r);
    }
    json_decref(rec);
    tt_diags_destroy(diags);
    return r;
}

void store_load(tt_engine *e, const char *const *keys, size_t n)
{
    const char **want = NULL;
    tt_resource **got = NULL;
    struct entry **ens = NULL;
    size_t nwant = 0;

    for (size_t i = 0; i < n; i++) {
        struct entry *en = store_get(e, keys[i]);
        if (en == NULL || en->r != NULL)
            continue;
        if (en->removed) {
            /* The manifest is gone, so the source cannot build it: its record still says what
             * it was, as after a restart. */
            en->r = store_resource_from_record(e, en->key);
            continue;
        }
        if (want == NULL &&
            ((want = malloc(n * sizeof(*want))) == NULL ||
             (ens = malloc(n * sizeof(*ens))) == NULL || (got = malloc(n * sizeof(*got))) == NULL))
            goto out;
        want[nwant] = en->key;
        ens[nwant++] = en;
    }
    if (nwant == 0)
        goto out;
    e->rebuild(e->rebuild_source, want, nwant, got);
    for (size_t i = 0; i < nwant; i++)
        ens[i]->r = got[i];
out:
    free(want);
    free(ens);
    free(got);
}

void store_rest(tt_engine *e, struct entry *en)
{
    /* Without a state directory a removed resource could not be built again for its
     * deletion, so it would have to stay anyway. */
    if (e->rebuild == NULL || e->state == NULL || en->in_flight || en->removed ||
        en->next_r != NULL)
        return;
    tt_resource_destroy(en->r);
    en->r = NULL;
}

/* ---- entries ------------------------------------------------------------------------------- */

static void entry_free(tt_engine *e, struct entry *en)
{
    group_release(e, en->group);
    store_set_deps(e, en, NULL);
    tt_resource_destroy(en->r);
    tt_resource_destroy(en->next_r);
    free(en->write_error);
    free(en);
}

/* FNV-1a mixed: the index picks slots by the low bits. */
static uint64_t key_hash(const char *key)
{
    return tt_hash64_mix(tt_hash64_str(key));
}

static uint64_t entry_hash_of(const void *item)
{
    return key_hash(((const struct entry *)item)->key);
}

tt_code store_init(tt_engine *e)
{
    tt_index_init(&e->store, entry_hash_of);
    e->rdeps = tt_map_create();
    e->qgroups = tt_map_create();
    return e->rdeps != NULL && e->qgroups != NULL ? TT_OK : TT_ENOMEM;
}

static void free_dependants_cb(void *ud, const char *key, void *value)
{
    struct dependants *d = value;
    (void)ud;
    (void)key;
    for (size_t i = 0; i < d->n; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d);
}

void store_cleanup(tt_engine *e)
{
    /* Dependencies are freed with their entries; empty the reverse index after. */
    for (size_t i = 0; i < e->store.cap; i++) {
        if (e->store.slots[i] != NULL)
            entry_free(e, e->store.slots[i]);
    }
    tt_index_cleanup(&e->store);
    if (e->rdeps != NULL) {
        tt_map_foreach(e->rdeps, free_dependants_cb, NULL);
        tt_map_destroy(e->rdeps);
        e->rdeps = NULL;
    }
    /* Every group went with its last entry. */
    tt_map_destroy(e->qgroups);
    e->qgroups = NULL;
}

static int entry_eq(const void *item, const void *key)
{
    return strcmp(((const struct entry *)item)->key, key) == 0;
}

struct entry *store_get(tt_engine *e, const char *key)
{
    return tt_index_find(&e->store, key_hash(key), entry_eq, key);
}

struct entry *store_upsert(tt_engine *e, tt_resource *r)
{
    uint64_t h = key_hash(r->key);
    struct entry *en = tt_index_find(&e->store, h, entry_eq, r->key);

    if (en == NULL) {
        size_t len = strlen(r->key);
        en = calloc(1, sizeof(*en) + len + 1);
        if (en != NULL)
            memcpy(en->key, r->key, len + 1);
        if (en == NULL || tt_index_put(&e->store, h, en) != TT_OK) {
            free(en);
            tt_resource_destroy(r);
            return NULL;
        }
        en->r = r;
        entry_set_group(e, en, r);
        store_set_deps(e, en, r);
    } else if (en->in_flight) {
        tt_resource_destroy(en->next_r);
        en->next_r = r;
    } else {
        tt_resource_destroy(en->r);
        en->r = r;
        en->removed = false;
        en->apply_streak = 0;
        entry_set_group(e, en, r);
        store_set_deps(e, en, r);
    }
    return en;
}

struct entry *store_mark_removed(tt_engine *e, const char *key)
{
    struct entry *en = store_get(e, key);

    if (en == NULL)
        return NULL;
    if (en->next_r != NULL) {
        /* The newer version never started; the one in flight is what AWS has seen. */
        tt_resource_destroy(en->next_r);
        en->next_r = NULL;
    }
    en->removed = true;
    return en;
}

bool store_take_next(tt_engine *e, struct entry *en)
{
    if (en->next_r == NULL)
        return false;
    tt_resource_destroy(en->r);
    en->r = en->next_r;
    en->next_r = NULL;
    en->removed = false;
    entry_set_group(e, en, en->r);
    store_set_deps(e, en, en->r);
    return true;
}

void store_forget(tt_engine *e, struct entry *en)
{
    tt_index_del(&e->store, key_hash(en->key), en);
    entry_free(e, en);
}

const char **store_declared_keys(tt_engine *e, size_t *n)
{
    const char **keys = malloc((e->store.len + 1) * sizeof(*keys));

    if (keys == NULL)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < e->store.cap; i++) {
        const struct entry *en = e->store.slots[i];
        if (en != NULL && !en->removed)
            keys[(*n)++] = en->key;
    }
    return keys;
}
