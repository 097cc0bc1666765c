#include "engine.h"

#include <ev.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "events.h"
#include "plan.h"
#include "provider.h"
#include "queue.h"
#include "state.h"
#include "tt_buf.h"
#include "tt_log.h"
#include "tt_map.h"
#include "tt_str.h"

/* Verification after an apply: a resource whose diff is still not empty after this many
 * applies in a row is reported as not converging instead of being written again and again. */
#define MAX_APPLY_STREAK 3

/* ---- the store ----------------------------------------------------------------------------- */

struct entry {
    const char *key;     /* the map's copy */
    tt_resource *r;      /* desired state, or the last one seen once removed (owned) */
    tt_resource *next_r; /* arrived while in flight; swapped in when the job ends (owned) */
    bool removed;        /* the source no longer declares it */
    bool in_flight;
    unsigned char outcome; /* enum outcome of the last reconcile */
    int apply_streak;      /* applies without a clean diff in between */
    char **deps;           /* keys this resource refers to (owned) */
    size_t ndeps;
};

/* Resources that refer to one key. */
struct dependants {
    char **keys;
    size_t n;
    size_t cap;
};

enum requeue { RQ_NONE, RQ_FORGET, RQ_BACKOFF, RQ_NOW, RQ_AFTER };

/* How a resource's last reconcile ended, for the counts in tt_engine_stats: a resource that
 * failed and then succeeded on a retry is no longer counted as failed. */
enum outcome { OUT_NONE, OUT_OK, OUT_FAILED, OUT_NOT_READY, OUT_INVALID };

struct job {
    tt_engine *e;
    struct entry *en;
    const tt_provider *p;
    json_t *record;   /* the state record being updated (owned) */
    json_t *status;   /* record.status (borrowed from record) */
    json_t *deps;     /* resolved dependencies (owned) */
    json_t *observed; /* (owned) */
    json_t *plan;     /* (owned) */
    json_t *memo;     /* the memo to persist after a successful apply (owned) */
    size_t next_action;
    bool removing;
    bool changed_aws; /* an action succeeded */
    char region[64];
    double started;
    enum outcome outcome; /* OUT_OK unless the job says otherwise */
};

/* Keys waiting to be observed together. */
struct group {
    const tt_provider *p;
    char region[64];
    char *role_arn;
    struct job **jobs;
    size_t n;
    size_t cap;
    struct group *next;
};

/* An observe batch in flight. */
struct batch {
    struct job **jobs;
    size_t n;
    size_t left;
};

struct tt_engine {
    struct ev_loop *loop;
    struct tt_aws *aws; /* opaque here: handed to observe and cfg.call */
    tt_engine_config cfg;
    tt_provider *providers; /* the registry with every optional slot filled; NULL-ended by name */
    size_t nproviders;
    tt_queue *q;
    tt_map *store; /* key → struct entry */
    tt_map *rdeps; /* key → struct dependants */
    tt_state *state;
    tt_events *events;
    struct group *groups;
    ev_timer batch_timer;
    ev_timer resync_timer;
    ev_timer trim_timer;
    /* Keys delivered before the source's first full listing, added in batch order at synced. */
    const char **initial;
    size_t ninitial, initial_cap;
    bool synced;
    bool stopping;
    bool idle_fired;
    size_t in_flight;
    tt_engine_stats stats;
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* The provider that handles `r` (the engine's copy, slots filled), or NULL when none does. */
static const tt_provider *provider_for(const tt_engine *e, const tt_resource *r)
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
    }
    e->nproviders = n;
    return TT_OK;
}

static void now_iso(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void event(tt_engine *e, const char *key, const char *type, const char *reason,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void event(tt_engine *e, const char *key, const char *type, const char *reason,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tt_events_record(e->events, key, type, reason, "%s", msg);
}

/* Mirrors every event to the log, repeats included (the log is where people look first). */
static void event_to_log(void *ud, const char *key, const char *type, const char *reason,
                         const char *message, unsigned count)
{
    (void)ud;
    if (count > 1 && !tt_log_enabled(TT_LOG_DEBUG))
        return;
    tt_log(strcmp(type, "Warning") == 0 ? TT_LOG_WARN : TT_LOG_INFO, key, "%s: %s%s", reason,
           message, count > 1 ? " (repeated)" : "");
}

/* Sets a condition, keeping lastTransitionTime when its status does not change. Returns 1
 * when status or reason changed. */
static int set_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                         const char *message, json_int_t generation)
{
    json_t *conds = json_object_get(status, "conditions"), *c = NULL, *fresh;
    char now[32];
    size_t i;
    int changed = 1;

    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_foreach(conds, i, c)
    {
        if (tt_streq(json_string_value(json_object_get(c, "type")), type))
            break;
    }
    now_iso(now, sizeof(now));
    fresh = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", cstatus, "reason",
                      reason, "message", message ? message : "", "lastTransitionTime", now,
                      "observedGeneration", generation);
    if (fresh == NULL)
        return 0;
    if (i < json_array_size(conds)) {
        if (tt_streq(json_string_value(json_object_get(c, "status")), cstatus)) {
            json_object_set(fresh, "lastTransitionTime", json_object_get(c, "lastTransitionTime"));
            changed = !tt_streq(json_string_value(json_object_get(c, "reason")), reason);
        }
        json_array_set_new(conds, i, fresh);
    } else {
        json_array_append_new(conds, fresh);
    }
    return changed;
}

static const char *reason_of(const tt_error *err)
{
    switch (err->code) {
    case TT_ETHROTTLED:
        return "AwsThrottled";
    case TT_EUNAVAILABLE:
        return "AwsUnavailable";
    case TT_EACCESS:
        return "AccessDenied";
    case TT_ECREDENTIALS:
        return "NoCredentials";
    case TT_ECONFLICT:
        return "Conflict";
    case TT_ENOTFOUND:
        return "NotFound";
    case TT_ECANCELLED:
        return "Cancelled";
    default:
        return "AwsError";
    }
}

static void error_text(const tt_error *err, char *out, size_t len)
{
    if (err->service_code[0] != '\0' && strstr(err->message, err->service_code) == NULL)
        snprintf(out, len, "%s: %s", err->service_code, err->message);
    else
        snprintf(out, len, "%s", err->message);
}

static json_int_t generation_of(const json_t *record)
{
    return json_integer_value(json_object_get(json_object_get(record, "metadata"), "generation"));
}

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
static void set_deps(tt_engine *e, struct entry *en, const tt_resource *r)
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

static void requeue_dependants(tt_engine *e, const char *key)
{
    struct dependants *d = tt_map_get(e->rdeps, key);

    for (size_t i = 0; d != NULL && i < d->n; i++)
        tt_queue_add(e->q, d->keys[i]);
}

/* The status of every resource `en` refers to: {"Budget/<name>": {status}, …}. */
static json_t *resolve_deps(tt_engine *e, const struct entry *en)
{
    json_t *deps = json_object();

    for (size_t i = 0; deps != NULL && i < en->ndeps; i++) {
        json_t *rec = e->state ? tt_state_read(e->state, en->deps[i]) : NULL;
        const char *kind_end = strchr(en->deps[i], '/');
        const char *name = strrchr(en->deps[i], '/');
        char short_key[400];
        if (rec == NULL || kind_end == NULL || name == NULL) {
            json_decref(rec);
            continue;
        }
        /* Providers look dependencies up as "Kind/name": the namespace is always theirs. */
        snprintf(short_key, sizeof(short_key), "%.*s%s", (int)(kind_end - en->deps[i]), en->deps[i],
                 name);
        json_object_set(deps, short_key, json_object_get(rec, "status"));
        json_decref(rec);
    }
    return deps;
}

/* ---- entries ------------------------------------------------------------------------------- */

static void entry_free(tt_engine *e, struct entry *en)
{
    set_deps(e, en, NULL);
    tt_resource_destroy(en->r);
    tt_resource_destroy(en->next_r);
    free(en);
}

/* ---- idle and pumping ---------------------------------------------------------------------- */

/*
 * A burst of reconciles leaves freed JSON scattered over the heap; once the work is done,
 * give those pages back so the resident size of an idle operator reflects what it holds.
 */
static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_engine *e = w->data;

    (void)revents;
    ev_timer_stop(loop, w); /* once per quiet spell; maybe_idle re-arms it */
    if (e->in_flight == 0 && tt_queue_len(e->q) == 0)
        malloc_trim(0);
}

static void maybe_idle(tt_engine *e)
{
    if (e->in_flight == 0 && tt_queue_len(e->q) == 0 && !e->stopping)
        ev_timer_again(e->loop, &e->trim_timer);
    if (e->idle_fired || e->in_flight > 0 || e->cfg.on_idle == NULL)
        return;
    if (e->stopping || (e->cfg.once && e->synced && tt_queue_len(e->q) == 0 &&
                        tt_queue_delayed_len(e->q) == 0 && e->groups == NULL)) {
        e->idle_fired = true;
        e->cfg.on_idle(e->cfg.on_idle_ud);
    }
}

static void start_job(tt_engine *e, const char *key);

/* The region a resource lives in: its spec's, else the operator's. */
static const char *region_of(const tt_engine *e, const tt_resource *r)
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
    tt_buf text;
    size_t *offsets = malloc((n + 1) * sizeof(*offsets));
    tt_code rc = TT_OK;

    tt_buf_init(&text);
    if (groups == NULL || offsets == NULL)
        goto fallback;
    for (size_t i = 0; i < n && rc == TT_OK; i++) {
        const struct entry *en = tt_map_get(e->store, keys[i]);
        const tt_resource *r = en->r;
        const tt_provider *p = provider_for(e, r);
        const char *affinity = p != NULL ? p->affinity(r) : NULL;

        /* Offsets, not pointers: the buffer moves as it grows. The NUL ends each group. */
        offsets[i] = text.len;
        rc = tt_buf_puts(&text, tt_kind_name(r->kind));
        if (rc == TT_OK && p != NULL)
            rc = tt_buf_printf(&text, "|%s|%s|%s|%s", p->name, region_of(e, r),
                               r->spec.common->role_arn ? r->spec.common->role_arn : "",
                               affinity != NULL ? affinity : "");
        if (rc == TT_OK)
            rc = tt_buf_append(&text, "", 1);
    }
    if (rc != TT_OK)
        goto fallback;
    for (size_t i = 0; i < n; i++)
        groups[i] = text.data + offsets[i];
    if (tt_queue_resync_spread(e->q, keys, groups, n, period, wave) == TT_OK)
        goto out;
fallback:
    /* Out of memory: the keys still get reconciled, in any order, at worst one by one. */
    if (tt_queue_resync_spread(e->q, keys, NULL, n, period, wave) != TT_OK)
        for (size_t i = 0; i < n; i++)
            tt_queue_add(e->q, keys[i]);
out:
    tt_buf_cleanup(&text);
    free(offsets);
    free(groups);
}

static void pump(tt_engine *e)
{
    size_t limit = (size_t)(e->cfg.concurrency > 0 ? e->cfg.concurrency : 256);
    size_t batch = e->cfg.batch_max ? e->cfg.batch_max : 100;
    size_t waiting = tt_queue_len(e->q);
    const char *key;
    double waited;

    /*
     * Refill in whole batches: popping each key as soon as one job ends would observe a long
     * queue one or two resources at a time, which costs as many Describe calls as there are
     * keys. Wait until a batch's worth of room is free (or the queue holds less than that).
     */
    if (e->in_flight > 0 && limit - (e->in_flight < limit ? e->in_flight : limit) <
                                (waiting < batch ? waiting : batch)) {
        maybe_idle(e);
        return;
    }
    while (!e->stopping && e->in_flight < limit && (key = tt_queue_pop(e->q, &waited)) != NULL)
        start_job(e, key);
    maybe_idle(e);
}

static void on_ready(void *ud)
{
    pump(ud);
}

/* ---- finishing a job ------------------------------------------------------------------- */

static void job_free(struct job *j)
{
    json_decref(j->record);
    json_decref(j->deps);
    json_decref(j->observed);
    json_decref(j->plan);
    json_decref(j->memo);
    free(j);
}

static unsigned long *outcome_counter(tt_engine *e, unsigned char outcome)
{
    switch (outcome) {
    case OUT_FAILED:
        return &e->stats.failed;
    case OUT_NOT_READY:
        return &e->stats.not_ready;
    case OUT_INVALID:
        return &e->stats.invalid;
    default:
        return NULL;
    }
}

/* Moves the entry's last outcome to `outcome`, keeping the per-outcome counts. */
static void set_outcome(tt_engine *e, struct entry *en, enum outcome outcome)
{
    unsigned long *was = outcome_counter(e, en->outcome), *now = outcome_counter(e, outcome);

    if (was != NULL)
        (*was)--;
    if (now != NULL)
        (*now)++;
    en->outcome = (unsigned char)outcome;
}

/* Persists the record, re-queues as asked, and lets the next job in. */
static void job_finish(struct job *j, enum requeue rq, double after)
{
    tt_engine *e = j->e;
    struct entry *en = j->en;
    char *key = strdup(en->key);
    bool gone = false;
    tt_error err;

    e->stats.reconciles++;
    set_outcome(e, en, j->outcome);
    if (j->record != NULL && e->state != NULL && !e->cfg.state_readonly) {
        size_t before, skipped;
        tt_state_stats(e->state, &before, &skipped);
        if (tt_state_write(e->state, en->key, j->record, &err) != TT_OK)
            tt_log(TT_LOG_ERROR, en->key, "cannot write status: %s", err.message);
        else {
            size_t after_w;
            tt_state_stats(e->state, &after_w, &skipped);
            /* The status changed: whoever depends on it must look again. */
            if (after_w > before)
                requeue_dependants(e, en->key);
        }
    }
    en->in_flight = false;
    if (en->next_r != NULL) {
        tt_resource_destroy(en->r);
        en->r = en->next_r;
        en->next_r = NULL;
        en->removed = false;
        set_deps(e, en, en->r);
    } else if (j->removing && rq == RQ_FORGET) {
        gone = true;
    }
    if (key != NULL) {
        tt_queue_done(e->q, key);
        switch (rq) {
        case RQ_FORGET:
            tt_queue_forget(e->q, key);
            break;
        case RQ_BACKOFF:
            if (!e->cfg.once || tt_queue_failures(e->q, key) < 3)
                tt_queue_add_rate_limited(e->q, key);
            break;
        case RQ_NOW:
            tt_queue_add(e->q, key);
            break;
        case RQ_AFTER:
            tt_queue_forget(e->q, key);
            if (!e->cfg.once && after > 0)
                tt_queue_add_after(e->q, key, after);
            break;
        default:
            break;
        }
    }
    if (gone) {
        set_outcome(e, en, OUT_NONE);
        tt_queue_forget(e->q, key);
        tt_map_del(e->store, key);
        entry_free(e, en);
    }
    free(key);
    e->in_flight--;
    job_free(j);
    pump(e);
}

/* Ends a job with Ready=False for a reason that needs no AWS call (invalid, suspended…). */
/* Plan mode: tells the caller about a resource that has no plan (invalid, or failing). */
static void report_plan_problem(struct job *j, const char *reason, const char *message,
                                const tt_error *err)
{
    json_t *none = json_array();

    if (none != NULL)
        j->e->cfg.on_plan(j->e->cfg.on_plan_ud, j->en->r, none, reason, message, err);
    json_decref(none);
}

static void finish_local(struct job *j, const char *ready, const char *reason, const char *message,
                         const char *synced_reason, enum requeue rq)
{
    json_int_t gen = generation_of(j->record);

    if (set_condition(j->status, "Ready", ready, reason, message, gen) &&
        strcmp(ready, "True") != 0)
        event(j->e, j->en->key, "Warning", reason, "%s", message);
    if (synced_reason != NULL)
        set_condition(j->status, "Synced", "False", synced_reason, message, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    if (j->e->cfg.on_plan != NULL && j->outcome == OUT_INVALID)
        report_plan_problem(j, reason, message, NULL);
    job_finish(j, rq, 0);
}

static void finish_error(struct job *j, const char *during, const tt_error *err)
{
    char text[700], msg[900];
    const char *reason = reason_of(err);
    json_int_t gen = generation_of(j->record);

    error_text(err, text, sizeof(text));
    snprintf(msg, sizeof(msg), "%s: %s", during, text);
    j->outcome = OUT_FAILED;
    set_condition(j->status, "Synced", "False", reason, msg, gen);
    set_condition(j->status, "Ready", "False", reason, msg, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    event(j->e, j->en->key, "Warning", reason, "%s", msg);
    /* Plan mode: a resource that will not be retried any more is reported, so the plan names
     * it (job_finish retries three times in once mode). */
    if (j->e->cfg.on_plan != NULL && err->code != TT_ECONFLICT &&
        tt_queue_failures(j->e->q, j->en->key) >= 3)
        report_plan_problem(j, reason, msg, err);
    /* A conflict (CloudFront's stale ETag) is cured by reading again at once. */
    job_finish(j, err->code == TT_ECONFLICT ? RQ_NOW : RQ_BACKOFF, 0);
}

/* ---- the record ---------------------------------------------------------------------------- */

/* Loads (or starts) the state record and brings identity, spec and generation up to date. */
static json_t *load_record(tt_engine *e, const tt_resource *r)
{
    json_t *rec = e->state ? tt_state_read(e->state, r->key) : NULL;
    char hash[24];
    json_t *meta, *spec;

    if (rec == NULL)
        rec =
            json_pack("{s:s,s:s,s:{s:s,s:s,s:I},s:s,s:{},s:{}}", "apiVersion", TT_API_VERSION,
                      "kind", tt_kind_name(r->kind), "metadata", "namespace", r->namespace_, "name",
                      r->name, "generation", (json_int_t)0, "specHash", "", "status", "memo");
    if (rec == NULL)
        return NULL;
    if (!json_is_object(json_object_get(rec, "status")))
        json_object_set_new(rec, "status", json_object());
    meta = json_object_get(rec, "metadata");
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)r->spec_hash);
    if (r->generation > 0) {
        /* From the Kubernetes API: its generation is the truth. */
        json_object_set_new(meta, "generation", json_integer(r->generation));
    } else if (!tt_streq(json_string_value(json_object_get(rec, "specHash")), hash)) {
        /* Directory mode: the generation moves exactly when the spec does. */
        json_object_set_new(meta, "generation", json_integer(generation_of(rec) + 1));
    }
    json_object_set_new(rec, "specHash", json_string(hash));
    if (r->file != NULL)
        json_object_set_new(
            meta, "annotations",
            json_pack("{s:s}", "trimtab.dev/source", r->file)); /* where it was declared */
    /* The effective spec (defaults applied), which is also what a restart needs to delete what
     * this resource owns once its manifest is gone. */
    spec = !r->invalid && r->spec.any
               ? tt_schema_to_json(tt_model_spec_schema(r->kind), r->spec.any)
               : NULL;
    if (spec != NULL)
        json_object_set_new(rec, "spec", spec);
    return rec;
}

/* ---- apply ------------------------------------------------------------------------------- */

static void apply_next(struct job *j);

static const char *verb_reason(const char *verb)
{
    if (strcmp(verb, "create") == 0)
        return "Created";
    if (strcmp(verb, "delete") == 0)
        return "Deleted";
    if (strcmp(verb, "tag") == 0)
        return "Adopted";
    return "Updated";
}

static void on_applied(void *ud, json_t *output, const tt_error *err)
{
    struct job *j = ud;
    json_t *action = json_array_get(j->plan, j->next_action);
    tt_buf summary;

    (void)output;
    tt_buf_init(&summary);
    tt_action_summary(action, &summary);
    if (err != NULL) {
        char during[600];
        snprintf(during, sizeof(during), "%s failed", tt_buf_str(&summary));
        tt_buf_cleanup(&summary);
        finish_error(j, during, err);
        return;
    }
    j->changed_aws = true;
    j->e->stats.applied_actions++;
    event(j->e, j->en->key, "Normal",
          verb_reason(json_string_value(json_object_get(action, "verb"))), "%s",
          tt_buf_str(&summary));
    tt_buf_cleanup(&summary);
    j->next_action++;
    apply_next(j);
}

static void apply_done(struct job *j)
{
    json_int_t gen = generation_of(j->record);
    char msg[300];

    if (j->removing) {
        event(j->e, j->en->key, "Normal", "Deleted", "removed %zu AWS object%s it owned",
              tt_plan_len(j->plan), tt_plan_len(j->plan) == 1 ? "" : "s");
        if (j->e->state != NULL && !j->e->cfg.state_readonly) {
            tt_error err;
            tt_state_remove(j->e->state, j->en->key, &err);
        }
        json_decref(j->record);
        j->record = NULL;
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    if (j->memo != NULL) {
        json_object_set(j->record, "memo", j->memo);
    }
    snprintf(msg, sizeof(msg), "applied %zu change%s; verifying", tt_plan_len(j->plan),
             tt_plan_len(j->plan) == 1 ? "" : "s");
    set_condition(j->status, "Synced", "True", "Applied", msg, gen);
    set_condition(j->status, "Ready", "False", "Progressing", msg, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    j->en->apply_streak++;
    /* Level-triggered: look again, and only call it Ready when the diff comes back empty. */
    job_finish(j, RQ_NOW, 0);
}

static void apply_next(struct job *j)
{
    json_t *action = json_array_get(j->plan, j->next_action);
    json_t *call;
    tt_engine_call req;
    tt_error err;

    if (action == NULL) {
        apply_done(j);
        return;
    }
    call = json_object_get(action, "call");
    req.service = json_string_value(json_object_get(call, "service"));
    req.operation = json_string_value(json_object_get(call, "operation"));
    req.region = json_string_value(json_object_get(call, "region"));
    if (req.region == NULL)
        req.region = j->region[0] ? j->region : NULL;
    req.role_arn = j->en->r->spec.common->role_arn;
    req.input = json_object_get(call, "input");
    if (j->e->stats.first_call_at == 0)
        j->e->stats.first_call_at = ev_time();
    if (j->e->cfg.call(j->e->aws, &req, on_applied, j, &err) != TT_OK)
        finish_error(j, "starting an AWS call", &err);
}

/*
 * Write-ahead: before the first AWS write, the record is saved with the lists of the new memo
 * (the AWS names this apply may create) merged into the old memo. A kill -9 in the middle of
 * the apply then still leaves a record naming everything trimtab may own, so a later reconcile
 * (or --prune) finds and deletes what the spec no longer wants. Only lists are merged; other
 * memo fields (ownership among them) keep their old value until the apply has succeeded.
 */
static void write_ahead(struct job *j)
{
    tt_engine *e = j->e;
    json_t *old = json_object_get(j->record, "memo"), *merged, *v;
    const char *k;
    tt_error err;

    if (j->memo == NULL || e->state == NULL || e->cfg.state_readonly)
        return;
    merged = json_is_object(old) ? json_deep_copy(old) : json_object();
    if (merged == NULL)
        return;
    json_object_foreach(j->memo, k, v)
    {
        json_t *have = json_object_get(merged, k);
        size_t i;
        json_t *x;
        if (!json_is_array(v))
            continue;
        if (!json_is_array(have)) {
            json_object_set_new(merged, k, json_deep_copy(v));
            continue;
        }
        json_array_foreach(v, i, x)
        {
            size_t n;
            json_t *y;
            int found = 0;
            json_array_foreach(have, n, y) found |= json_equal(x, y);
            if (!found)
                json_array_append(have, x);
        }
    }
    if (json_equal(merged, old)) {
        json_decref(merged);
        return;
    }
    json_object_set_new(j->record, "memo", merged);
    if (tt_state_write(e->state, j->en->key, j->record, &err) != TT_OK)
        tt_log(TT_LOG_ERROR, j->en->key, "cannot write status: %s", err.message);
}

/* ---- after observe ----------------------------------------------------------------------- */

/*
 * Sets the provider's own conditions (tt_diff_output.conditions). A change of status or reason
 * is an event of the type the provider gave — except a condition that first appears as False:
 * a policy whose budget was never over has nothing to report. `plan` records nothing.
 */
static void provider_conditions(struct job *j, const json_t *conds, json_int_t gen)
{
    size_t i, k;
    json_t *c, *have;

    json_array_foreach(conds, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *cstatus = json_string_value(json_object_get(c, "status"));
        const char *reason = json_string_value(json_object_get(c, "reason"));
        const char *message = json_string_value(json_object_get(c, "message"));
        const char *ev = json_string_value(json_object_get(c, "event"));
        bool existed = false;
        if (type == NULL || cstatus == NULL || reason == NULL)
            continue;
        json_array_foreach(json_object_get(j->status, "conditions"), k, have) existed |=
            tt_streq(json_string_value(json_object_get(have, "type")), type);
        if (set_condition(j->status, type, cstatus, reason, message, gen) && ev != NULL &&
            j->e->cfg.on_plan == NULL && (existed || strcmp(cstatus, "True") == 0))
            event(j->e, j->en->key, ev, reason, "%s", message ? message : "");
    }
}

static void on_observed_job(struct job *j, json_t *observed, const tt_error *err)
{
    tt_engine *e = j->e;
    const tt_resource *r = j->en->r;
    tt_diff_input in;
    tt_diff_output out;
    json_int_t gen = generation_of(j->record);
    json_t *memo = json_object_get(j->record, "memo");
    tt_error derr;
    tt_code rc;

    if (err != NULL) {
        finish_error(j, "reading AWS", err);
        return;
    }
    j->observed = observed;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    in.r = r;
    in.observed = observed;
    in.memo = memo;
    in.deps = j->deps;
    in.region = j->region[0] ? j->region : NULL;
    out.plan = j->plan = tt_plan_new();
    if (j->plan == NULL) {
        tt_error_set(&derr, TT_ENOMEM, "out of memory");
        finish_error(j, "planning", &derr);
        return;
    }
    if (j->removing) {
        rc = j->p->remove(&in, j->plan, &derr);
        if (rc != TT_OK) {
            finish_error(j, "planning the deletion", &derr);
            return;
        }
        if (e->cfg.on_plan != NULL) {
            e->cfg.on_plan(e->cfg.on_plan_ud, r, j->plan, NULL, "deleted from the source", NULL);
            job_finish(j, RQ_FORGET, 0);
            return;
        }
        j->next_action = 0;
        apply_next(j);
        return;
    }
    rc = j->p->diff(&in, &out, &derr);
    j->memo = out.memo;
    provider_conditions(j, out.conditions, gen);
    json_decref(out.conditions);
    if (rc != TT_OK) {
        finish_error(j, "planning", &derr);
        return;
    }
    j->p->status(&in, j->status);
    /* No "last reconcile time": a status that changes on every resync would be rewritten (and,
     * from a cluster, sent to the API server) for every in-sync resource every period. */
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    if (e->cfg.on_plan != NULL) {
        e->cfg.on_plan(e->cfg.on_plan_ud, r, j->plan, out.blocked, out.message, NULL);
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    if (out.blocked != NULL) {
        set_condition(j->status, "Synced", "True", "ReconcileSucceeded", "AWS was read", gen);
        if (set_condition(j->status, "Ready", "False", out.blocked, out.message, gen))
            event(e, j->en->key, "Warning", out.blocked, "%s", out.message);
        j->outcome = OUT_NOT_READY;
        job_finish(j, RQ_AFTER, out.requeue_after);
        return;
    }
    if (tt_plan_len(j->plan) == 0) {
        if (j->memo != NULL)
            json_object_set(j->record, "memo", j->memo);
        set_condition(j->status, "Synced", "True", "ReconcileSucceeded", "AWS matches the spec",
                      gen);
        set_condition(j->status, "Drifted", "False", "InSync", "", gen);
        if (set_condition(j->status, "Ready", "True", "Converged", "AWS matches the spec", gen))
            event(e, j->en->key, "Normal", "Converged", "AWS matches the spec");
        j->en->apply_streak = 0;
        job_finish(j, out.requeue_after > 0 ? RQ_AFTER : RQ_FORGET, out.requeue_after);
        return;
    }
    if (e->cfg.dry_run || strcmp(r->spec.common->mode, "Observe") == 0) {
        tt_buf msg;
        tt_buf_init(&msg);
        tt_buf_printf(&msg, "%zu change%s pending: ", tt_plan_len(j->plan),
                      tt_plan_len(j->plan) == 1 ? "" : "s");
        tt_action_summary(json_array_get(j->plan, 0), &msg);
        if (tt_plan_len(j->plan) > 1)
            tt_buf_puts(&msg, "; …");
        set_condition(j->status, "Synced", "True", "ReconcileSucceeded", "AWS was read", gen);
        set_condition(j->status, "Drifted", "True", "DriftDetected", tt_buf_str(&msg), gen);
        if (set_condition(j->status, "Ready", "False", "Drifted", tt_buf_str(&msg), gen))
            event(e, j->en->key, "Warning", "DriftDetected", "%s", tt_buf_str(&msg));
        json_object_set_new(j->status, "drift", json_incref(j->plan));
        tt_buf_cleanup(&msg);
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    if (j->en->apply_streak >= MAX_APPLY_STREAK) {
        char msg[300];
        snprintf(msg, sizeof(msg),
                 "AWS still differs from the spec after %d applies; waiting for the next resync",
                 j->en->apply_streak);
        set_condition(j->status, "Ready", "False", "NotConverging", msg, gen);
        j->outcome = OUT_NOT_READY;
        event(e, j->en->key, "Warning", "NotConverging", "%s", msg);
        j->en->apply_streak = 0;
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    json_object_del(j->status, "drift");
    write_ahead(j);
    j->next_action = 0;
    apply_next(j);
}

static void on_observed(void *ud, size_t i, json_t *observed, const tt_error *err)
{
    struct batch *b = ud;
    struct job *j = b->jobs[i];

    if (--b->left == 0) {
        free(b->jobs);
        free(b);
    }
    on_observed_job(j, observed, err);
}

/* ---- batching ---------------------------------------------------------------------------- */

static void flush_group(tt_engine *e, struct group *g)
{
    struct batch *b = calloc(1, sizeof(*b));
    tt_observe_item *items = calloc(g->n ? g->n : 1, sizeof(*items));
    tt_error err;

    if (b == NULL || items == NULL) {
        tt_error_set(&err, TT_ENOMEM, "out of memory");
        free(b);
        free(items);
        for (size_t i = 0; i < g->n; i++)
            finish_error(g->jobs[i], "reading AWS", &err);
        return;
    }
    b->jobs = g->jobs;
    b->n = b->left = g->n;
    g->jobs = NULL;
    for (size_t i = 0; i < b->n; i++) {
        items[i].r = b->jobs[i]->en->r;
        items[i].memo = json_object_get(b->jobs[i]->record, "memo");
        items[i].region = b->jobs[i]->region[0] ? b->jobs[i]->region : NULL;
    }
    if (e->stats.first_call_at == 0)
        e->stats.first_call_at = ev_time();
    if (g->p->observe(e->aws, g->role_arn, items, b->n, on_observed, b, &err) != TT_OK) {
        struct job **jobs = b->jobs;
        size_t n = b->n;
        free(b);
        for (size_t i = 0; i < n; i++)
            finish_error(jobs[i], "reading AWS", &err);
        free(jobs);
    }
    free(items);
}

static void group_free(struct group *g)
{
    free(g->jobs);
    free(g->role_arn);
    free(g);
}

static void flush_groups(tt_engine *e)
{
    struct group *g = e->groups;

    e->groups = NULL;
    ev_timer_stop(e->loop, &e->batch_timer);
    while (g != NULL) {
        struct group *next = g->next;
        if (g->n > 0)
            flush_group(e, g);
        group_free(g);
        g = next;
    }
}

static void on_batch_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    flush_groups(w->data);
    maybe_idle(w->data);
}

static void enqueue_observe(tt_engine *e, struct job *j)
{
    const char *role = j->en->r->spec.common->role_arn;
    size_t max = e->cfg.batch_max ? e->cfg.batch_max : 100;
    struct group *g;

    for (g = e->groups; g != NULL; g = g->next) {
        if (g->p == j->p && strcmp(g->region, j->region) == 0 && tt_streq(g->role_arn, role))
            break;
    }
    if (g == NULL) {
        g = calloc(1, sizeof(*g));
        if (g == NULL || (role != NULL && (g->role_arn = strdup(role)) == NULL)) {
            tt_error err;
            free(g);
            tt_error_set(&err, TT_ENOMEM, "out of memory");
            finish_error(j, "reading AWS", &err);
            return;
        }
        g->p = j->p;
        snprintf(g->region, sizeof(g->region), "%s", j->region);
        g->next = e->groups;
        e->groups = g;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct job **jobs = realloc(g->jobs, cap * sizeof(*jobs));
        if (jobs == NULL) {
            tt_error err;
            tt_error_set(&err, TT_ENOMEM, "out of memory");
            finish_error(j, "reading AWS", &err);
            return;
        }
        g->jobs = jobs;
        g->cap = cap;
    }
    g->jobs[g->n++] = j;
    if (g->n >= max) {
        /* A full batch goes now; the others wait out the window. */
        struct group **pp = &e->groups;
        while (*pp != g)
            pp = &(*pp)->next;
        *pp = g->next;
        flush_group(e, g);
        group_free(g);
        return;
    }
    if (!ev_is_active(&e->batch_timer)) {
        ev_timer_set(&e->batch_timer, e->cfg.batch_window > 0 ? e->cfg.batch_window : 0.002, 0);
        ev_timer_start(e->loop, &e->batch_timer);
    }
}

/* What a resource manages, in short, for status and `trimtab status`'s TARGET column. */
static void status_target(const tt_resource *r, char *out, size_t len)
{
    switch (r->kind) {
    case TT_KIND_SCALING_POLICY:
        tt_target_describe(r->spec.sp->target, out, len);
        break;
    case TT_KIND_ALARM:
        if (r->spec.alarm->target != NULL)
            tt_target_describe(r->spec.alarm->target, out, len);
        else if (r->spec.alarm->metric != NULL)
            snprintf(out, len, "metric %s %s", r->spec.alarm->metric->namespace_,
                     r->spec.alarm->metric->metric_name);
        else
            snprintf(out, len, "composite");
        break;
    case TT_KIND_BUDGET:
        snprintf(out, len, "budget %g %s %s", r->spec.budget->limit->amount.v,
                 r->spec.budget->limit->unit, r->spec.budget->time_unit);
        break;
    default:
        snprintf(out, len, "secret %s", r->spec.rotation->secret_id);
        break;
    }
}

/* ---- starting a job ------------------------------------------------------------------------ */

static void start_job(tt_engine *e, const char *key)
{
    struct entry *en = tt_map_get(e->store, key);
    struct job *j;
    const tt_resource *r;
    char msg[600];

    if (en == NULL) {
        tt_queue_done(e->q, key);
        tt_queue_forget(e->q, key);
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        tt_queue_done(e->q, key);
        tt_queue_add_rate_limited(e->q, key);
        return;
    }
    j->e = e;
    j->en = en;
    j->started = ev_time();
    j->outcome = OUT_OK;
    en->in_flight = true;
    e->in_flight++;
    r = en->r;
    j->removing = en->removed;
    j->record = load_record(e, r);
    if (j->record == NULL) {
        tt_error err;
        tt_error_set(&err, TT_ENOMEM, "out of memory");
        j->status = NULL;
        finish_error(j, "loading status", &err);
        return;
    }
    j->status = json_object_get(j->record, "status");
    snprintf(j->region, sizeof(j->region), "%s", region_of(e, r));

    j->p = provider_for(e, r);
    if (!r->invalid && r->spec.any != NULL) {
        char target[300];
        status_target(r, target, sizeof(target));
        json_object_set_new(j->status, "target", json_string(target));
    }
    if (j->removing) {
        bool retain = !r->invalid && strcmp(r->spec.common->deletion_policy, "Retain") == 0;
        if (e->cfg.on_plan != NULL && (!e->cfg.prune || retain || j->p == NULL)) {
            /* Plan mode: say what happens to a resource whose manifest is gone. */
            json_t *none = tt_plan_new();
            e->cfg.on_plan(e->cfg.on_plan_ud, r, none, "Orphaned",
                           !e->cfg.prune ? "the manifest is gone; its AWS objects stay (plan "
                                           "--prune shows their deletion)"
                                         : "the manifest is gone; nothing of it will be deleted",
                           NULL);
            json_decref(none);
            job_finish(j, RQ_FORGET, 0);
            return;
        }
        if (!e->cfg.prune) {
            finish_local(j, "False", "Orphaned",
                         "the manifest is gone; its AWS objects are left in place (run with "
                         "--prune to delete them)",
                         NULL, RQ_FORGET);
            return;
        }
        if (retain || j->p == NULL || strcmp(r->spec.common->mode, "Observe") == 0) {
            event(e, key, "Normal", "Retained",
                  "deleted from the source; AWS objects left in place (%s)",
                  retain ? "deletionPolicy: Retain" : "nothing to delete");
            if (e->state != NULL && !e->cfg.state_readonly) {
                tt_error err;
                tt_state_remove(e->state, key, &err);
            }
            json_decref(j->record);
            j->record = NULL;
            job_finish(j, RQ_FORGET, 0);
            return;
        }
        enqueue_observe(e, j);
        return;
    }
    if (r->invalid) {
        j->outcome = OUT_INVALID;
        finish_local(j, "False", "InvalidSpec", r->problem ? r->problem : "the spec is invalid",
                     "InvalidSpec", RQ_FORGET);
        return;
    }
    if (r->spec.common->suspend.v) {
        finish_local(j, "False", "Suspended", "spec.suspend is true; not reconciling", NULL,
                     RQ_FORGET);
        return;
    }
    if (j->p == NULL) {
        char target[200] = "";
        if (r->kind == TT_KIND_SCALING_POLICY)
            tt_target_describe(r->spec.sp->target, target, sizeof(target));
        snprintf(msg, sizeof(msg), "%s%s%s is not implemented yet in this version of trimtab",
                 tt_kind_name(r->kind), target[0] ? " for " : "", target);
        finish_local(j, "False", "NotImplemented", msg, "NotImplemented", RQ_FORGET);
        return;
    }
    j->deps = resolve_deps(e, en);
    enqueue_observe(e, j);
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
    struct entry *en = tt_map_get(e->store, r->key);

    if (en == NULL) {
        en = calloc(1, sizeof(*en));
        if (en == NULL || (en->key = tt_map_put(e->store, r->key, en)) == NULL) {
            free(en);
            tt_resource_destroy(r);
            return;
        }
        en->r = r;
        set_deps(e, en, r);
    } else if (en->in_flight) {
        tt_resource_destroy(en->next_r);
        en->next_r = r;
    } else {
        tt_resource_destroy(en->r);
        en->r = r;
        en->removed = false;
        en->apply_streak = 0;
        set_deps(e, en, r);
    }
    add_key(e, en->key);
}

static void src_remove(void *ud, const char *key)
{
    tt_engine *e = ud;
    struct entry *en = tt_map_get(e->store, key);

    if (en == NULL)
        return;
    if (en->next_r != NULL) {
        /* The newer version never started; the one in flight is what AWS has seen. */
        tt_resource_destroy(en->next_r);
        en->next_r = NULL;
    }
    en->removed = true;
    add_key(e, en->key);
}

/* Resources with a record but no manifest any more (deleted while trimtab was down). */
static void adopt_orphan_record(void *ud, const char *key)
{
    tt_engine *e = ud;
    json_t *rec;
    tt_resource *r = NULL;
    tt_doc_src src = {0};
    tt_diags *diags;
    struct entry *en;

    if (tt_map_get(e->store, key) != NULL)
        return;
    rec = tt_state_read(e->state, key);
    diags = tt_diags_create();
    if (rec != NULL && diags != NULL) {
        json_object_del(rec, "status");
        json_object_del(rec, "memo");
        json_object_del(rec, "specHash");
        tt_model_from_json(rec, &src, diags, &r);
    }
    json_decref(rec);
    tt_diags_destroy(diags);
    if (r == NULL)
        return;
    src_upsert(e, r);
    en = tt_map_get(e->store, key);
    if (en != NULL)
        en->removed = true;
}

static void src_synced(void *ud)
{
    tt_engine *e = ud;

    if (e->state != NULL)
        tt_state_foreach(e->state, adopt_orphan_record, e);
    if (!e->synced) {
        /* The whole first listing is known: queue it in the order observe batches want. */
        add_grouped(e, e->initial, e->ninitial, 0.0, 1);
        free(e->initial);
        e->initial = NULL;
        e->ninitial = e->initial_cap = 0;
    }
    e->synced = true;
    pump(e);
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

struct key_list {
    const char **keys;
    size_t n;
};

static void list_key(void *ud, const char *key, void *value)
{
    struct key_list *l = ud;
    struct entry *en = value;

    if (!en->removed)
        l->keys[l->n++] = key;
}

static void on_resync(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_engine *e = w->data;
    struct key_list l = {NULL, 0};
    size_t wave = e->cfg.batch_max ? e->cfg.batch_max : 100;

    (void)loop;
    (void)revents;
    if (!e->synced)
        return; /* the first listing is still arriving; it is queued whole at synced */
    l.keys = malloc((tt_map_len(e->store) + 1) * sizeof(*l.keys));
    if (l.keys == NULL)
        return;
    tt_map_foreach(e->store, list_key, &l);
    add_grouped(e, l.keys, l.n, e->cfg.resync, wave > 50 ? 50 : wave);
    free(l.keys);
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
    if (e->cfg.call == NULL) {
        tt_error_set(err, TT_EINVAL, "the engine needs a way to call AWS (tt_engine_config.call)");
        goto fail;
    }
    if (e->cfg.resync == 0)
        e->cfg.resync = 600;
    e->store = tt_map_create();
    e->rdeps = tt_map_create();
    e->q = tt_queue_create(loop);
    if (e->store == NULL || e->rdeps == NULL || e->q == NULL) {
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
    ev_timer_init(&e->batch_timer, on_batch_timer, 0, 0);
    e->batch_timer.data = e;
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

static void free_entry_cb(void *ud, const char *key, void *value)
{
    (void)key;
    entry_free(ud, value);
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

void tt_engine_destroy(tt_engine *e)
{
    struct group *g;

    if (e == NULL)
        return;
    ev_timer_stop(e->loop, &e->batch_timer);
    ev_timer_stop(e->loop, &e->resync_timer);
    ev_timer_stop(e->loop, &e->trim_timer);
    while ((g = e->groups) != NULL) {
        e->groups = g->next;
        for (size_t i = 0; i < g->n; i++)
            job_free(g->jobs[i]);
        group_free(g);
    }
    if (e->store != NULL) {
        /* Dependencies are freed with their entries; empty the reverse index after. */
        tt_map_foreach(e->store, free_entry_cb, e);
        tt_map_destroy(e->store);
    }
    if (e->rdeps != NULL) {
        tt_map_foreach(e->rdeps, free_dependants_cb, NULL);
        tt_map_destroy(e->rdeps);
    }
    tt_queue_destroy(e->q);
    tt_events_close(e->events);
    tt_state_close(e->state);
    free(e->initial);
    free(e->providers);
    free(e);
}

void tt_engine_stop(tt_engine *e)
{
    e->stopping = true;
    tt_queue_shut_down(e->q);
    ev_timer_stop(e->loop, &e->resync_timer);
    ev_timer_stop(e->loop, &e->trim_timer);
    flush_groups(e);
    maybe_idle(e);
}

void tt_engine_stats_get(const tt_engine *e, tt_engine_stats *st)
{
    *st = e->stats;
    st->resources = tt_map_len(e->store);
    st->in_flight = e->in_flight;
    st->queued = tt_queue_len(e->q) + tt_queue_delayed_len(e->q);
}
