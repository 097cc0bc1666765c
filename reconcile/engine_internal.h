/*
 * The engine's inside, shared by its files (reconcile/engine*.c, job.c, apply.c, store.c,
 * status.c); nothing outside reconcile/ includes it. One concept per file:
 *   engine.c  life cycle, the source handler, the queue pump, resync
 *   store.c   the desired-resource store and the dependency index between resources
 *   job.c     a resource's reconcile: the job state machine, observe batches
 *   apply.c   plans applied, the write-ahead memo
 *   merge.c   writes of several resources merged into one call
 *   status.c  status conditions
 */
#ifndef TT_ENGINE_INTERNAL_H
#define TT_ENGINE_INTERNAL_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>

#include "engine.h"
#include "events.h"
#include "provider.h"
#include "queue.h"
#include "state.h"
#include "tt_index.h"
#include "tt_map.h"

/* Verification after an apply: a resource whose diff is still not empty after this many
 * applies in a row is reported as not converging instead of being written again and again. */
#define MAX_APPLY_STREAK 3

/* ---- the store ----------------------------------------------------------------------------- */

/* One a resource, as long as it is declared or its removal is not finished: fields widest
 * first (no padding) and the key inline, in the entry's own allocation. */
struct entry {
    /* Desired state, or the last one seen once removed (owned). NULL while the entry rests
     * with a source that can build it again (tt_engine_set_rebuild): store_load gets it back
     * before the next reconcile. */
    tt_resource *r;
    tt_resource *next_r;  /* arrived while in flight; swapped in when the job ends (owned) */
    struct qgroup *group; /* what the resource is observed with, kept while it rests */
    char **deps;          /* keys this resource refers to (owned) */
    size_t ndeps;
    char *write_error; /* since when and why its record could not be written, or NULL (owned) */
    int apply_streak;  /* applies without a clean diff in between */
    bool removed;      /* the source no longer declares it */
    bool in_flight;
    unsigned char outcome; /* enum outcome of the last reconcile */
    char key[];            /* NUL-terminated; stays put for the entry's life */
};

/* What resources observed together share: their kind, provider, region, role and the
 * provider's affinity, as one string (the queue's group), interned in tt_engine.qgroups. */
struct qgroup {
    size_t refs;
    const tt_provider *p; /* NULL: no provider handles it (an invalid spec, a target without one) */
    const char *text;     /* the map's copy of the key */
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

/*
 * Where a job is. job_enter() (job.c) is the one place that moves a job from one state to the
 * next, and it logs every move (debug level), so a resource's path is readable in the log.
 */
enum job_state {
    JOB_LOADING,   /* loading the state record and checking the resource */
    JOB_WAITING,   /* in an observe group, waiting for the batch window */
    JOB_OBSERVING, /* its batch is reading AWS */
    JOB_DIFFING,   /* the pure diff (or the deletion plan) is computed */
    JOB_APPLYING,  /* the plan's calls run, one at a time */
    JOB_DONE,      /* finished: record written, key re-queued as asked */
};

/*
 * The jobs of one observe batch. A job whose apply succeeded is looked at again (the confirming
 * read), but not on its own: its key waits here until every job of the batch has finished, and
 * then they are queued together, so the confirming reads are batched like the first look
 * instead of going out in the small groups that happen to finish applying within one window.
 */
struct cohort {
    size_t pending; /* jobs of the batch not finished yet */
    char **keys;    /* keys to queue again when the last one finishes (owned) */
    size_t n;
};

struct job {
    tt_engine *e;
    struct cohort *cohort; /* its observe batch, once observed */
    enum job_state state;
    struct entry *en;
    const tt_provider *p;
    json_t *record;   /* the state record being updated (owned) */
    json_t *status;   /* record.status (borrowed from record) */
    json_t *deps;     /* resolved dependencies (owned) */
    json_t *observed; /* (owned) */
    json_t *plan;     /* (owned) */
    json_t *memo;     /* the memo to persist after a successful apply (owned) */
    /* While it waits for its observation the job holds only the record's memo (what observe
     * needs), not the record: 256 jobs in flight each held a whole record tree across the AWS
     * round trips, and the heap kept that peak. The record is read again when the
     * observation arrives (job_unpark). */
    json_t *parked_memo; /* (owned), or NULL */
    bool parked;
    size_t next_action;
    size_t napplied; /* actions of the plan applied, once it is done */
    bool removing;
    bool changed_aws; /* an action succeeded */
    bool settled;     /* every answer so far was authoritative (tt_provider.applied) */
    bool settling;    /* diffing the observation the answers updated, not a fresh read */
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
    tt_provider *providers; /* a copy of the registry, every optional slot filled (owned) */
    size_t nproviders;
    tt_queue *q;
    tt_index store;  /* struct entry, by key */
    tt_map *rdeps;   /* key → struct dependants */
    tt_map *qgroups; /* group text → struct qgroup */
    /* Resting entries let their resource go and get it back from the source (NULL: kept). */
    tt_source_rebuild_fn rebuild;
    void *rebuild_source;
    tt_state *state;
    tt_events *events;
    struct group *groups;
    struct merge_group *merges; /* merged writes of this loop iteration (merge.c) */
    ev_prepare merge_prepare;
    ev_timer batch_timer;
    ev_timer resync_timer;
    ev_timer trim_timer;
    double trimmed_at; /* ev_now() of the last malloc_trim */
    /* Keys delivered before the source's first full listing, added in batch order at synced. */
    const char **initial;
    size_t ninitial, initial_cap;
    bool synced;
    bool stopping;
    bool pumping;    /* engine_pump is running (a job ending inside it pumps again after) */
    bool pump_again; /* ... and was asked to */
    bool idle_fired;
    size_t in_flight;
    tt_engine_stats stats;
    /* Plan mode: key → the status a plan computed for an in-sync resource (nothing is written),
     * so a dependant planned in the same run resolves it (store_resolve_deps). */
    json_t *plan_status;
};

/* ---- engine.c ---- */

void engine_event(tt_engine *e, const char *key, const char *type, const char *reason,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The removal of `key` is complete: tells the source's sink, which may let the object go. */
void engine_released(tt_engine *e, const char *key);
void engine_maybe_idle(tt_engine *e);
const tt_provider *engine_provider_for(const tt_engine *e, const tt_resource *r);
void engine_pump(tt_engine *e);
const char *engine_region_of(const tt_engine *e, const tt_resource *r);

/* ---- store.c ---- */

/* The empty store and dependency index; TT_ENOMEM. store_cleanup frees both, entries too. */
tt_code store_init(tt_engine *e);
void store_cleanup(tt_engine *e);
struct entry *store_get(tt_engine *e, const char *key);
/* Takes `r` (owned): a new entry, a new version of an idle one, or the next version of one in
 * flight (swapped in by store_take_next when its job ends). NULL when out of memory (`r` is
 * freed). */
struct entry *store_upsert(tt_engine *e, tt_resource *r);
/* The source no longer declares `key`: its entry becomes a tombstone (NULL: no such entry). */
struct entry *store_mark_removed(tt_engine *e, const char *key);
/* Swaps in the version that arrived while `en` was in flight; false when there is none. */
bool store_take_next(tt_engine *e, struct entry *en);
/* Brings back the resource of every entry of `keys` that rests without one: from the source
 * (one call for all), or for a removed entry from its state record (what a restart does). An
 * entry that cannot get one keeps r NULL (job_start copes). */
void store_load(tt_engine *e, const char *const *keys, size_t n);
/* `en` has no job and nothing queued soon: lets its resource go when the source can give it
 * back. */
void store_rest(tt_engine *e, struct entry *en);
/* The resource a state record describes (its last spec), for a key whose manifest is gone;
 * NULL when there is no record or it describes nothing. */
tt_resource *store_resource_from_record(tt_engine *e, const char *key);
/* Drops `en` from the store and the dependency index, and frees it. */
void store_forget(tt_engine *e, struct entry *en);
/* The keys the source declares (borrowed from the store; the array is the caller's to free),
 * or NULL when out of memory. */
const char **store_declared_keys(tt_engine *e, size_t *n);
void store_requeue_dependants(tt_engine *e, const char *key);
/* A removed resource that refers to `en` and is not deleted yet (`en` waits for it), or NULL. */
const char *store_removed_dependant(tt_engine *e, const struct entry *en);
/* `en` is gone: queues the removed resources it referred to, which may wait for it. */
void store_requeue_dependencies(tt_engine *e, const struct entry *en);
json_t *store_resolve_deps(tt_engine *e, const struct entry *en);
void store_set_deps(tt_engine *e, struct entry *en, const tt_resource *r);

/* ---- status.c ---- */

void status_error_text(const tt_error *err, char *out, size_t len);
json_int_t status_generation_of(const json_t *record);
const char *status_reason_of(const tt_error *err);
int status_set_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                         const char *message, json_int_t generation);
void status_target(const tt_resource *r, char *out, size_t len);

/* ---- job.c ---- */

void job_finish_error(struct job *j, const char *during, const tt_error *err);
/* The replica is not the leader (any more): the job ends before its write, recording
 * nothing; its key waits in the queue for this replica to lead again. */
void job_yield(struct job *j);
void job_note_write_failure(tt_engine *e, struct entry *en, const tt_error *err);
void job_flush_groups(tt_engine *e);
void job_group_free(struct group *g);
void job_finish(struct job *j, enum requeue rq, double after);
void job_free(struct job *j);
void job_on_batch_timer(struct ev_loop *loop, ev_timer *w, int revents);
void job_start(tt_engine *e, const char *key);
void job_enter(struct job *j, enum job_state to);
/* The job's observation (owned; NULL with `err`) is in: diff, then apply or finish. */
void job_observed(struct job *j, json_t *observed, const tt_error *err);

/* ---- apply.c ---- */

void apply_next(struct job *j);
/* Starts the call of the job's current action by itself. */
void apply_send(struct job *j);
/* The answer to the job's current action: next action, or the job's error. */
void apply_on_answer(struct job *j, json_t *output, const tt_error *err);
tt_code apply_write_ahead(struct job *j, tt_error *err);
/* The apply is over but not known to have converged: Progressing, and the key is looked at
 * again (the confirming read). */
void apply_verify(struct job *j);
/* ---- merge.c ---- */
/* Queues the job's current action (its call `req`, hint `merge`) for the iteration's merged
 * call; an error return means nothing was queued. */
tt_code merge_call(struct job *j, const tt_engine_call *req, const json_t *merge, tt_error *err);
void merge_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents);
/* Forgets merged calls not sent yet (the engine is going away). */
void merge_free_all(tt_engine *e);

#endif
