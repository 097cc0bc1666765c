/* engine.c — the engine's life cycle, the source handler, the queue pump, resync. */
#include "engine.h"
#include "engine_internal.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leader.h"
#include "metrics.h"
#include "tt_log.h"
#include "tt_slab.h"

/* ---- small helpers ---------------------------------------------------------------------- */

/* The provider that handles `r` (the engine's copy, slots filled), or NULL when none does. */
const tt_provider *engine_provider_for(const tt_engine *e, const tt_resource *r)
{
    if (r->invalid)
        return NULL;
    for (size_t i = 0; i < e->nproviders; i++) {
        if (e->providers[i].handles(r))
            return &e->providers[i];
    }
    return NULL;
}

/*
 * Copies the registry, filling each optional slot a provider left NULL with the shared default
 * (the one place where NULL slots mean anything). TT_EINVAL for a missing required slot.
 */
static tt_code take_providers(tt_engine *e, const tt_provider *const *reg, tt_error *err)
{
    size_t n = 0;

    while (reg != NULL && reg[n] != NULL)
        n++;
    e->providers = calloc(n ? n : 1, sizeof(*e->providers));
    if (e->providers == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory taking the provider registry");
    for (size_t i = 0; i < n; i++) {
        tt_provider *p = &e->providers[i];
        *p = *reg[i];
        if (p->name == NULL || p->handles == NULL || p->observe == NULL || p->diff == NULL)
            return tt_error_set(err, TT_EINVAL,
                                "provider %s lacks a required slot (handles, observe, diff)",
                                p->name ? p->name : "(unnamed)");
        if (p->status == NULL)
            p->status = tt_provider_status_none;
        if (p->remove == NULL)
            p->remove = tt_provider_remove_none;
        if (p->affinity == NULL)
            p->affinity = tt_provider_affinity_none;
        if (p->applied == NULL)
            p->applied = tt_provider_applied_none;
    }
    e->nproviders = n;
    return TT_OK;
}

void engine_event(tt_engine *e, const char *key, const char *type, const char *reason,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tt_events_record(e->events, key, type, reason, "%s", msg);
    if (e->cfg.sink != NULL)
        e->cfg.sink->event(e->cfg.sink_ud, key, type, reason, msg);
}

void engine_released(tt_engine *e, const char *key)
{
    if (e->cfg.sink != NULL)
        e->cfg.sink->released(e->cfg.sink_ud, key);
}

/* Mirrors every engine_event to the log, repeats included (the log is where people look first). */
static void event_to_log(void *ud, const char *key, const char *type, const char *reason,
                         const char *message, unsigned count)
{
    (void)ud;
    if (count > 1 && !tt_log_enabled(TT_LOG_DEBUG))
        return;
    tt_log(strcmp(type, "Warning") == 0 ? TT_LOG_WARN : TT_LOG_INFO, key, "%s: %s%s", reason,
           message, count > 1 ? " (repeated)" : "");
}

/* ---- idle and pumping ---------------------------------------------------------------------- */

/* While reconciles keep coming, the heap is trimmed at most this often (seconds). */
#define TRIM_BUSY_EVERY 30.0

/*
 * A burst of reconciles leaves free memory scattered over the heap, and empty chunks kept by
 * jansson's allocator (tt_slab); once the work is done, give those pages back so the resident
 * size of an idle operator reflects what it holds. A resync spreads its reconciles over the
 * period, and that steady trickle may never leave the engine quiet when the timer fires: then
 * the pages go back anyway, now and then (at 10,013 resources resynced every 120 s, 4 MiB of
 * the 22.7 MiB anonymous pages were such free pages).
 */
static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_engine *e = w->data;

    (void)revents;
    ev_timer_stop(loop, w); /* engine_maybe_idle arms it again */
    if ((e->in_flight == 0 && tt_queue_len(e->q) == 0) ||
        ev_now(loop) - e->trimmed_at >= TRIM_BUSY_EVERY) {
        malloc_trim(0);
        tt_slab_trim();
        e->trimmed_at = ev_now(loop);
    }
}

void engine_maybe_idle(tt_engine *e)
{
    /* The first quiet moment starts the countdown and later ones do not put it off: a quiet
     * moment between every two reconciles of a resync would put it off for good. */
    if (e->in_flight == 0 && tt_queue_len(e->q) == 0 && !e->stopping &&
        !ev_is_active(&e->trim_timer))
        ev_timer_again(e->loop, &e->trim_timer);
    if (e->idle_fired || e->in_flight > 0 || e->cfg.on_idle == NULL)
        return;
    if (e->stopping || (e->cfg.once && e->synced && tt_queue_len(e->q) == 0 &&
                        tt_queue_delayed_len(e->q) == 0 && e->groups == NULL)) {
        e->idle_fired = true;
        e->cfg.on_idle(e->cfg.on_idle_ud);
    }
}

/* The region a resource lives in: its spec's, else the operator's. */
const char *engine_region_of(const tt_engine *e, const tt_resource *r)
{
    return r->spec.any && r->spec.common->region ? r->spec.common->region : e->cfg.region;
}

/*
 * Adds `keys` (entries of the store) so that those one observe batch can serve come out of
 * the queue together: grouped by kind, provider, region, role and the provider's affinity.
 * A period of 0 adds them now; otherwise they are spread over it in waves of `wave`.
 */
static void add_grouped(tt_engine *e, const char **keys, size_t n, double period, size_t wave)
{
    const char **groups = malloc((n + 1) * sizeof(*groups));

    if (groups != NULL) {
        for (size_t i = 0; i < n; i++) {
            const struct entry *en = store_get(e, keys[i]);
            /* An entry without a group (out of memory when it came) goes on its own. */
            groups[i] = en->group != NULL ? en->group->text : en->key;
        }
        if (tt_queue_resync_spread(e->q, keys, groups, n, period, wave) == TT_OK)
            goto out;
    }
    /* Out of memory: the keys still get reconciled, in any order, at worst one by one. */
    if (tt_queue_resync_spread(e->q, keys, NULL, n, period, wave) != TT_OK)
        for (size_t i = 0; i < n; i++)
            tt_queue_add(e->q, keys[i]);
out:
    free(groups);
}

/* Starts what the queue and the room allow; false when nothing could start. */
static bool pump_once(tt_engine *e)
{
    size_t limit = (size_t)(e->cfg.concurrency > 0 ? e->cfg.concurrency : 256);
    size_t batch = e->cfg.batch_max ? e->cfg.batch_max : 100;
    size_t waiting = tt_queue_len(e->q), room, take, npopped = 0;
    const char *key, **popped;
    double waited;

    /* A standby replica keeps its queue (the keys wait for it to lead) but reconciles nothing:
     * even its reads would double the AWS read load for no one. */
    if (!tt_leader_is_leader(e->cfg.leader))
        return false;
    /*
     * Refill in whole batches: popping each key as soon as one job ends would observe a long
     * queue one or two resources at a time, which costs as many Describe calls as there are
     * keys. Wait until a batch's worth of room is free (or the queue holds less than that).
     */
    if (e->in_flight > 0 &&
        limit - (e->in_flight < limit ? e->in_flight : limit) < (waiting < batch ? waiting : batch))
        return false;
    /* When not everything fits, pop whole batches: with room for 256 of 1,000, popping 256
     * makes batches of 100, 100 and 56, and every later refill of 100 straddles two of them. */
    room = limit - (e->in_flight < limit ? e->in_flight : limit);
    take = room < waiting ? room : waiting;
    if (take < waiting && take >= batch)
        take -= take % batch;
    /* Popped first and then started, so that resting entries get their resources back from
     * the source in one call (a file declaring several of them is read once). */
    popped = take > 0 ? malloc(take * sizeof(*popped)) : NULL;
    while (npopped < take && popped != NULL && !e->stopping &&
           (key = tt_queue_pop(e->q, &waited)) != NULL) {
        tt_metrics_queue_wait(e->cfg.metrics, waited);
        popped[npopped++] = key;
    }
    store_load(e, popped, npopped);
    for (size_t i = 0; i < npopped; i++)
        job_start(e, popped[i]);
    free(popped);
    return npopped > 0;
}

void engine_pump(tt_engine *e)
{
    /* A job that ends inside job_start (invalid, suspended…) pumps again from within: that
     * round is run by the outer call once its popped keys have all started, so the room is
     * counted right and no key is left waiting. */
    if (e->pumping) {
        e->pump_again = true;
        return;
    }
    e->pumping = true;
    do {
        e->pump_again = false;
    } while (pump_once(e) && e->pump_again && !e->stopping);
    e->pumping = false;
    engine_maybe_idle(e);
}

static void on_ready(void *ud)
{
    engine_pump(ud);
}

/* ---- source handler ------------------------------------------------------------------------- */

/* Queues `key` (a store entry's), or holds it until the first listing is complete. The held
 * pointer stays valid: entries are freed only when a job ends, and no job starts before
 * synced (the queue's notifications and the resync wait for it). */
static void add_key(tt_engine *e, const char *key)
{
    if (!e->synced) {
        if (e->ninitial == e->initial_cap) {
            size_t cap = e->initial_cap ? e->initial_cap * 2 : 256;
            const char **v = realloc(e->initial, cap * sizeof(*v));
            if (v == NULL) {
                tt_queue_add(e->q, key); /* out of memory: unordered, but not lost */
                return;
            }
            e->initial = v;
            e->initial_cap = cap;
        }
        e->initial[e->ninitial++] = key;
        return;
    }
    tt_queue_add(e->q, key);
}

static void src_upsert(void *ud, tt_resource *r)
{
    tt_engine *e = ud;
    struct entry *en = store_upsert(e, r);

    if (en != NULL)
        add_key(e, en->key);
}

static void src_remove(void *ud, const char *key)
{
    tt_engine *e = ud;
    struct entry *en = store_mark_removed(e, key);

    if (en != NULL)
        add_key(e, en->key);
}

/* Resources with a record but no manifest any more (deleted while trimtab was down). */
static void adopt_orphan_record(void *ud, const char *key)
{
    tt_engine *e = ud;
    tt_resource *r;
    struct entry *en;

    if (store_get(e, key) != NULL)
        return;
    if ((r = store_resource_from_record(e, key)) == NULL)
        return;
    en = store_upsert(e, r);
    if (en != NULL) {
        en->removed = true;
        add_key(e, en->key);
    }
}

/* Hands cfg.prepare the AWS service of every IAM action of the providers `keys` use
 * (preparing is idempotent, so a service two providers share is simply named twice). */
static void prepare_services(tt_engine *e, const char **keys, size_t n)
{
    const tt_provider *seen[32];
    size_t nseen = 0;

    if (e->cfg.prepare == NULL)
        return;
    for (size_t i = 0; i < n && nseen < sizeof(seen) / sizeof(seen[0]); i++) {
        const struct entry *en = store_get(e, keys[i]);
        const tt_provider *p = en != NULL && en->group != NULL ? en->group->p : NULL;
        size_t k;
        for (k = 0; k < nseen && seen[k] != p; k++)
            ;
        if (p == NULL || k < nseen)
            continue;
        seen[nseen++] = p;
        for (const tt_iam_needs *needs = p->iam; needs != NULL; needs = needs->also) {
            for (size_t a = 0; a < needs->n; a++) {
                char service[32];
                const char *action = needs->actions[a].action;
                snprintf(service, sizeof(service), "%.*s", (int)strcspn(action, ":"), action);
                e->cfg.prepare(e->aws, service);
            }
        }
    }
}

static void src_synced(void *ud)
{
    tt_engine *e = ud;

    if (e->state != NULL && e->cfg.sink == NULL)
        tt_state_foreach(e->state, adopt_orphan_record, e);
    if (!e->synced) {
        /* The whole first listing is known: queue it in the order observe batches want. */
        prepare_services(e, e->initial, e->ninitial);
        add_grouped(e, e->initial, e->ninitial, 0.0, 1);
        free(e->initial);
        e->initial = NULL;
        e->ninitial = e->initial_cap = 0;
    }
    e->synced = true;
    engine_pump(e);
}

static void src_problems(void *ud, const tt_diags *diags)
{
    (void)ud;
    for (size_t i = 0; i < tt_diags_count(diags); i++) {
        tt_buf b;
        const tt_diag *g = tt_diags_get(diags, i);
        tt_buf_init(&b);
        tt_diag_format(g, &b);
        tt_log(g->severity == TT_DIAG_ERROR ? TT_LOG_WARN : TT_LOG_INFO, NULL, "%s",
               tt_buf_str(&b));
        tt_buf_cleanup(&b);
    }
}

const tt_source_handler tt_engine_source_handler = {
    .upsert = src_upsert,
    .remove = src_remove,
    .synced = src_synced,
    .problems = src_problems,
};

/* ---- resync ----------------------------------------------------------------------------- */

static void on_resync(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_engine *e = w->data;
    const char **keys;
    size_t n, wave = e->cfg.batch_max ? e->cfg.batch_max : 100;

    (void)loop;
    (void)revents;
    if (!e->synced)
        return; /* the first listing is still arriving; it is queued whole at synced */
    keys = store_declared_keys(e, &n);
    if (keys == NULL)
        return;
    add_grouped(e, keys, n, e->cfg.resync, wave > 50 ? 50 : wave);
    free(keys);
}

/* ---- life cycle ------------------------------------------------------------------------- */

tt_engine *tt_engine_create(struct ev_loop *loop, struct tt_aws *aws, const tt_engine_config *cfg,
                            tt_error *err)
{
    tt_engine *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    e->loop = loop;
    e->aws = aws;
    e->cfg = *cfg;
    if (e->cfg.region == NULL)
        e->cfg.region = "";
    if (take_providers(e, cfg->providers, err) != TT_OK)
        goto fail;
    if (e->cfg.on_plan != NULL && (e->plan_status = json_object()) == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        goto fail;
    }
    if (e->cfg.call == NULL) {
        tt_error_set(err, TT_EINVAL, "the engine needs a way to call AWS (tt_engine_config.call)");
        goto fail;
    }
    if (e->cfg.resync == 0)
        e->cfg.resync = 600;
    e->q = tt_queue_create(loop);
    if (store_init(e) != TT_OK || e->q == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        goto fail;
    }
    tt_queue_set_ready(e->q, on_ready, e);
    if (cfg->state_dir != NULL &&
        (e->state = tt_state_open(cfg->state_dir, !cfg->state_readonly, err)) == NULL)
        goto fail;
    e->events = tt_events_open(loop, cfg->events_path, 30, event_to_log, e, err);
    if (e->events == NULL)
        goto fail;
    ev_timer_init(&e->batch_timer, job_on_batch_timer, 0, 0);
    e->batch_timer.data = e;
    ev_prepare_init(&e->merge_prepare, merge_on_prepare);
    e->merge_prepare.data = e;
    ev_timer_init(&e->trim_timer, on_trim, 0, 1.0);
    e->trim_timer.data = e;
    ev_timer_init(&e->resync_timer, on_resync, e->cfg.resync, e->cfg.resync);
    e->resync_timer.data = e;
    if (!cfg->once && e->cfg.resync > 0)
        ev_timer_start(loop, &e->resync_timer);
    return e;
fail:
    tt_engine_destroy(e);
    return NULL;
}

void tt_engine_destroy(tt_engine *e)
{
    struct group *g;

    if (e == NULL)
        return;
    ev_timer_stop(e->loop, &e->batch_timer);
    ev_prepare_stop(e->loop, &e->merge_prepare);
    merge_free_all(e);
    ev_timer_stop(e->loop, &e->resync_timer);
    ev_timer_stop(e->loop, &e->trim_timer);
    while ((g = e->groups) != NULL) {
        e->groups = g->next;
        for (size_t i = 0; i < g->n; i++)
            job_free(g->jobs[i]);
        job_group_free(g);
    }
    store_cleanup(e);
    tt_queue_destroy(e->q);
    json_decref(e->plan_status);
    tt_events_close(e->events);
    tt_state_close(e->state);
    free(e->initial);
    free(e->providers);
    free(e);
}

void tt_engine_lead(tt_engine *e)
{
    const char **keys;
    size_t n;

    if (!e->synced || e->stopping)
        return; /* the first listing is queued whole at synced */
    keys = store_declared_keys(e, &n);
    if (keys == NULL)
        return;
    tt_log(TT_LOG_INFO, NULL, "leading: reconciling all %zu resources again", n);
    add_grouped(e, keys, n, 0.0, 1);
    free(keys);
    engine_pump(e);
}

void tt_engine_stop(tt_engine *e)
{
    e->stopping = true;
    tt_queue_shut_down(e->q);
    ev_timer_stop(e->loop, &e->resync_timer);
    ev_timer_stop(e->loop, &e->trim_timer);
    job_flush_groups(e);
    engine_maybe_idle(e);
}

void tt_engine_stats_get(const tt_engine *e, tt_engine_stats *st)
{
    *st = e->stats;
    st->resources = e->store.len;
    st->resting = 0;
    for (size_t i = 0; i < e->store.cap; i++) {
        const struct entry *en = e->store.slots[i];
        st->resting += en != NULL && en->r == NULL;
    }
    st->in_flight = e->in_flight;
    st->queued = tt_queue_len(e->q) + tt_queue_delayed_len(e->q);
    st->synced = e->synced;
    tt_queue_get_stats(e->q, &st->queue);
}

void tt_engine_set_sink(tt_engine *e, const tt_source_sink *sink, void *ud)
{
    e->cfg.sink = sink;
    e->cfg.sink_ud = ud;
}

void tt_engine_set_rebuild(tt_engine *e, tt_source_rebuild_fn rebuild, void *source)
{
    e->rebuild = rebuild;
    e->rebuild_source = source;
}
