/* job.c — one resource's reconcile as a state machine: load the record, wait for an observe
 * batch, observe, diff, apply, finish. */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "plan.h"
#include "tt_log.h"
#include "tt_str.h"

/* ---- finishing a job ------------------------------------------------------------------- */

static const char *const state_names[] = {
    [JOB_LOADING] = "loading", [JOB_WAITING] = "waiting",   [JOB_OBSERVING] = "observing",
    [JOB_DIFFING] = "diffing", [JOB_APPLYING] = "applying", [JOB_DONE] = "done",
};

void job_enter(struct job *j, enum job_state to)
{
    tt_log(TT_LOG_DEBUG, j->en->key, "job %s -> %s", state_names[j->state], state_names[to]);
    j->state = to;
}

/* Leaves the job's observe batch; the last job out queues the keys that wait for it. */
static void cohort_leave(struct job *j)
{
    struct cohort *c = j->cohort;

    j->cohort = NULL;
    if (c == NULL || --c->pending > 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        tt_queue_add(j->e->q, c->keys[i]);
        free(c->keys[i]);
    }
    free(c->keys);
    free(c);
}

/* Holds `key` for its cohort's release; false when it must be queued now (no cohort, or no
 * memory to hold it). */
static bool cohort_hold(struct job *j, const char *key)
{
    struct cohort *c = j->cohort;
    char **keys;
    char *copy;

    if (c == NULL || c->pending <= 1)
        return false;
    keys = realloc(c->keys, (c->n + 1) * sizeof(*keys));
    if (keys == NULL)
        return false;
    c->keys = keys;
    copy = strdup(key);
    if (copy == NULL)
        return false;
    c->keys[c->n++] = copy;
    return true;
}

void job_free(struct job *j)
{
    cohort_leave(j);
    json_decref(j->record);
    json_decref(j->deps);
    json_decref(j->observed);
    json_decref(j->plan);
    json_decref(j->memo);
    json_decref(j->parked_memo);
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

/*
 * Notes that the record of `en` could not be written (a full or read-only disk). The first
 * failure of a spell is an event and keeps its time; the job is retried with backoff, and the
 * record that finally gets written says Synced=False with the error, so `trimtab status` shows
 * that it was stale in between instead of silently showing the old record.
 */
void job_note_write_failure(tt_engine *e, struct entry *en, const tt_error *err)
{
    char now[32], text[700];

    tt_log(TT_LOG_ERROR, en->key, "cannot write status: %s", err->message);
    if (en->write_error != NULL)
        return;
    tt_format_now(now, sizeof(now), 0);
    snprintf(text, sizeof(text),
             "the status record could not be written from %s (%s); it may have missed changes "
             "until this write",
             now, err->message);
    en->write_error = strdup(text);
    engine_event(e, en->key, "Warning", "StatusWriteFailed", "cannot write the status record: %s",
                 err->message);
}

/* Writes the record of a finishing job; false when it could not be written. */
static bool persist_record(struct job *j)
{
    tt_engine *e = j->e;
    struct entry *en = j->en;
    size_t before, after, skipped;
    tt_error err;

    if (j->record == NULL || e->state == NULL || e->cfg.state_readonly)
        return true;
    if (en->write_error != NULL)
        status_set_condition(j->status, "Synced", "False", "StatusWriteFailed", en->write_error,
                             status_generation_of(j->record));
    tt_state_stats(e->state, &before, &skipped);
    if (tt_state_write(e->state, en->key, j->record, &err) != TT_OK) {
        job_note_write_failure(e, en, &err);
        return false;
    }
    if (en->write_error != NULL) {
        tt_log(TT_LOG_INFO, en->key, "status record written again");
        free(en->write_error);
        en->write_error = NULL;
    }
    tt_state_stats(e->state, &after, &skipped);
    /* The status changed: whoever depends on it must look again. */
    if (after > before)
        store_requeue_dependants(e, en->key);
    return true;
}

static tt_metrics_result metrics_result(enum outcome outcome)
{
    switch (outcome) {
    case OUT_FAILED:
        return TT_METRICS_ERROR;
    case OUT_NOT_READY:
        return TT_METRICS_NOT_READY;
    case OUT_INVALID:
        return TT_METRICS_INVALID;
    default:
        return TT_METRICS_SUCCESS;
    }
}

/* Persists the record, re-queues as asked, and lets the next job in. */
void job_finish(struct job *j, enum requeue rq, double after)
{
    tt_engine *e = j->e;
    struct entry *en = j->en;
    char *key = strdup(en->key);
    bool gone = false, swapped;

    job_enter(j, JOB_DONE);
    e->stats.reconciles++;
    tt_metrics_reconcile(e->cfg.metrics, en->r->kind, metrics_result(j->outcome),
                         ev_time() - j->started);
    set_outcome(e, en, j->outcome);
    /* An unwritten record is retried like a failed reconcile, or its news would wait for the
     * next resync (or be lost, for a key that is not queued again). */
    if (!persist_record(j) && (rq == RQ_FORGET || rq == RQ_NONE) && !j->removing)
        rq = RQ_BACKOFF;
    if (j->record != NULL && e->cfg.sink != NULL && e->cfg.on_plan == NULL)
        e->cfg.sink->status(e->cfg.sink_ud, en->key, json_object_get(j->record, "status"));
    en->in_flight = false;
    swapped = store_take_next(e, en);
    if (!swapped && j->removing && rq == RQ_FORGET) {
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
            if (!cohort_hold(j, key))
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
        store_requeue_dependencies(e, en);
        set_outcome(e, en, OUT_NONE);
        tt_queue_forget(e->q, key);
        store_forget(e, en);
    }
    /* Nothing queues it again soon: its resource can go until the next time (a resync). A
     * version that just swapped in is queued already. */
    if (!gone && !swapped && (rq == RQ_FORGET || rq == RQ_AFTER || rq == RQ_NONE))
        store_rest(e, en);
    free(key);
    e->in_flight--;
    job_free(j);
    engine_pump(e);
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
    json_int_t gen = status_generation_of(j->record);

    if (status_set_condition(j->status, "Ready", ready, reason, message, gen) &&
        strcmp(ready, "True") != 0)
        engine_event(j->e, j->en->key, "Warning", reason, "%s", message);
    if (synced_reason != NULL)
        status_set_condition(j->status, "Synced", "False", synced_reason, message, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    if (j->e->cfg.on_plan != NULL && j->outcome == OUT_INVALID)
        report_plan_problem(j, reason, message, NULL);
    job_finish(j, rq, 0);
}

/* Ends the job on `err` with `reason` (CamelCase) in its conditions and event. */
static void finish_failed(struct job *j, const char *during, const tt_error *err,
                          const char *reason)
{
    char text[700], msg[900];
    json_int_t gen = status_generation_of(j->record);

    status_error_text(err, text, sizeof(text));
    snprintf(msg, sizeof(msg), "%s: %s", during, text);
    j->outcome = OUT_FAILED;
    status_set_condition(j->status, "Synced", "False", reason, msg, gen);
    status_set_condition(j->status, "Ready", "False", reason, msg, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    engine_event(j->e, j->en->key, "Warning", reason, "%s", msg);
    /* Plan mode: a resource that will not be retried any more is reported, so the plan names
     * it (job_finish retries three times in once mode). */
    if (j->e->cfg.on_plan != NULL && err->code != TT_ECONFLICT &&
        tt_queue_failures(j->e->q, j->en->key) >= 3)
        report_plan_problem(j, reason, msg, err);
    /* A conflict (CloudFront's stale ETag) is cured by reading again at once. */
    job_finish(j, err->code == TT_ECONFLICT ? RQ_NOW : RQ_BACKOFF, 0);
}

void job_yield(struct job *j)
{
    tt_log(TT_LOG_INFO, j->en->key, "not the leader: leaving the write to the leader");
    /* Nothing of this job is recorded: its status would describe a write that did not happen
     * (the write-ahead memo, already saved, only names what may be owned). */
    json_decref(j->record);
    j->record = NULL;
    j->status = NULL;
    job_finish(j, RQ_NOW, 0);
}

static bool job_unpark(struct job *j);

void job_finish_error(struct job *j, const char *during, const tt_error *err)
{
    if (job_unpark(j))
        finish_failed(j, during, err, status_reason_of(err));
}

/* ---- the record ---------------------------------------------------------------------------- */

static json_t *load_record(tt_engine *e, const tt_resource *r);

static void set_status_target(struct job *j)
{
    const tt_resource *r = j->en->r;
    char target[300];

    if (r->invalid || r->spec.any == NULL)
        return;
    status_target(r, target, sizeof(target));
    json_object_set_new(j->status, "target", json_string(target));
}

/* Lets the record go while the job waits for AWS, keeping its memo (see struct job). */
static void job_park(struct job *j)
{
    j->parked_memo = json_incref(json_object_get(j->record, "memo"));
    json_decref(j->record);
    j->record = NULL;
    j->status = NULL;
    j->parked = true;
}

/* Reads the record again (and the dependencies' statuses, which the diff reads) once the job
 * goes on. False when that failed: the job has ended. */
static bool job_unpark(struct job *j)
{
    if (!j->parked)
        return true;
    j->parked = false;
    json_decref(j->parked_memo);
    j->parked_memo = NULL;
    j->record = load_record(j->e, j->en->r);
    if (j->record == NULL) {
        j->outcome = OUT_FAILED;
        engine_event(j->e, j->en->key, "Warning", "OutOfMemory",
                     "loading the status record: out of memory");
        job_finish(j, RQ_BACKOFF, 0);
        return false;
    }
    j->status = json_object_get(j->record, "status");
    set_status_target(j);
    if (!j->removing)
        j->deps = store_resolve_deps(j->e, j->en);
    return true;
}

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
        json_object_set_new(meta, "generation", json_integer(status_generation_of(rec) + 1));
    }
    json_object_set_new(rec, "specHash", json_string(hash));
    if (r->file != NULL)
        json_object_set_new(
            meta, "annotations",
            json_pack("{s:s}", "trimtab.dev/source", r->file)); /* where it was declared */
    /* The effective spec (defaults applied), which is also what a restart, or a resource that
     * rested (docs/engine.md), needs to delete what this resource owns once its manifest is
     * gone. */
    spec = !r->invalid && r->spec.any
               ? tt_schema_to_json(tt_model_spec_schema(r->kind), r->spec.any)
               : NULL;
    if (spec != NULL)
        json_object_set_new(rec, "spec", spec);
    return rec;
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
        if (status_set_condition(j->status, type, cstatus, reason, message, gen) && ev != NULL &&
            j->e->cfg.on_plan == NULL && (existed || strcmp(cstatus, "True") == 0))
            engine_event(j->e, j->en->key, ev, reason, "%s", message ? message : "");
    }
}

void job_observed(struct job *j, json_t *observed, const tt_error *err)
{
    tt_engine *e = j->e;
    const tt_resource *r = j->en->r;
    tt_diff_input in;
    tt_diff_output out;
    json_int_t gen;
    json_t *memo;
    tt_error derr, werr;
    tt_code rc;

    if (!job_unpark(j)) {
        json_decref(observed);
        return;
    }
    gen = status_generation_of(j->record);
    memo = json_object_get(j->record, "memo");
    if (err != NULL) {
        job_finish_error(j, "reading AWS", err);
        return;
    }
    job_enter(j, JOB_DIFFING);
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
        job_finish_error(j, "planning", &derr);
        return;
    }
    if (j->removing) {
        rc = j->p->remove(&in, j->plan, &derr);
        if (rc != TT_OK) {
            job_finish_error(j, "planning the deletion", &derr);
            return;
        }
        if (e->cfg.on_plan != NULL) {
            e->cfg.on_plan(e->cfg.on_plan_ud, r, j->plan, NULL, "deleted from the source", NULL);
            job_finish(j, RQ_FORGET, 0);
            return;
        }
        j->next_action = 0;
        j->settled = false;
        job_enter(j, JOB_APPLYING);
        apply_next(j);
        return;
    }
    rc = j->p->diff(&in, &out, &derr);
    j->memo = out.memo;
    provider_conditions(j, out.conditions, gen);
    json_decref(out.conditions);
    if (rc != TT_OK) {
        job_finish_error(j, "planning", &derr);
        return;
    }
    j->p->status(&in, j->status);
    /* No "last reconcile time": a status that changes on every resync would be rewritten (and,
     * from a cluster, sent to the API server) for every in-sync resource every period. */
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    if (e->cfg.on_plan != NULL) {
        /* An in-sync resource's status is what it would record: a dependant planned earlier in
         * this run waited for it (its step policy ARN, its alarm name), so it looks again. */
        if (out.blocked == NULL && tt_plan_len(j->plan) == 0 &&
            json_object_get(e->plan_status, j->en->key) == NULL &&
            json_object_set(e->plan_status, j->en->key, j->status) == 0)
            store_requeue_dependants(e, j->en->key);
        e->cfg.on_plan(e->cfg.on_plan_ud, r, j->plan, out.blocked, out.message, NULL);
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    /* The answers did not bring the observation to the spec: read AWS to see where it is. */
    if (j->settling && (out.blocked != NULL || tt_plan_len(j->plan) > 0)) {
        apply_verify(j);
        return;
    }
    if (out.blocked != NULL) {
        status_set_condition(j->status, "Synced", "True", "ReconcileSucceeded", "AWS was read",
                             gen);
        if (status_set_condition(j->status, "Ready", "False", out.blocked, out.message, gen))
            engine_event(e, j->en->key, "Warning", out.blocked, "%s", out.message);
        j->outcome = OUT_NOT_READY;
        job_finish(j, RQ_AFTER, out.requeue_after);
        return;
    }
    if (tt_plan_len(j->plan) == 0) {
        if (j->memo != NULL)
            json_object_set(j->record, "memo", j->memo);
        status_set_condition(j->status, "Synced", "True", "ReconcileSucceeded",
                             "AWS matches the spec", gen);
        status_set_condition(j->status, "Drifted", "False", "InSync", "", gen);
        if (status_set_condition(j->status, "Ready", "True", "Converged", "AWS matches the spec",
                                 gen))
            engine_event(e, j->en->key, "Normal", "Converged", "AWS matches the spec");
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
        status_set_condition(j->status, "Synced", "True", "ReconcileSucceeded", "AWS was read",
                             gen);
        status_set_condition(j->status, "Drifted", "True", "DriftDetected", tt_buf_str(&msg), gen);
        if (status_set_condition(j->status, "Ready", "False", "Drifted", tt_buf_str(&msg), gen))
            engine_event(e, j->en->key, "Warning", "DriftDetected", "%s", tt_buf_str(&msg));
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
        status_set_condition(j->status, "Ready", "False", "NotConverging", msg, gen);
        j->outcome = OUT_NOT_READY;
        engine_event(e, j->en->key, "Warning", "NotConverging", "%s", msg);
        j->en->apply_streak = 0;
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    json_object_del(j->status, "drift");
    /* Without the memo on disk, a kill -9 during the apply would leave AWS objects that no
     * later run knows it owns: no record, no write. */
    if (apply_write_ahead(j, &werr) != TT_OK) {
        finish_failed(j, "saving the status record before writing to AWS", &werr,
                      "StatusWriteFailed");
        return;
    }
    job_enter(j, JOB_APPLYING);
    j->next_action = 0;
    j->settled = true;
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
    job_observed(j, observed, err);
}

/* ---- batching ---------------------------------------------------------------------------- */

static void flush_group(tt_engine *e, struct group *g)
{
    struct batch *b = calloc(1, sizeof(*b));
    tt_observe_item *items = calloc(g->n ? g->n : 1, sizeof(*items));
    struct cohort *c = calloc(1, sizeof(*c));
    tt_error err;

    if (b == NULL || items == NULL || c == NULL) {
        tt_error_set(&err, TT_ENOMEM, "out of memory");
        free(b);
        free(items);
        free(c);
        for (size_t i = 0; i < g->n; i++)
            job_finish_error(g->jobs[i], "reading AWS", &err);
        return;
    }
    b->jobs = g->jobs;
    b->n = b->left = g->n;
    g->jobs = NULL;
    c->pending = b->n;
    for (size_t i = 0; i < b->n; i++) {
        b->jobs[i]->cohort = c;
        job_enter(b->jobs[i], JOB_OBSERVING);
        items[i].r = b->jobs[i]->en->r;
        items[i].memo = b->jobs[i]->parked ? b->jobs[i]->parked_memo
                                           : json_object_get(b->jobs[i]->record, "memo");
        items[i].region = b->jobs[i]->region[0] ? b->jobs[i]->region : NULL;
    }
    if (e->stats.first_call_at == 0)
        e->stats.first_call_at = ev_time();
    if (g->p->observe(e->aws, g->role_arn, items, b->n, on_observed, b, &err) != TT_OK) {
        struct job **jobs = b->jobs;
        size_t n = b->n;
        free(b);
        for (size_t i = 0; i < n; i++)
            job_finish_error(jobs[i], "reading AWS", &err);
        free(jobs);
    }
    free(items);
}

void job_group_free(struct group *g)
{
    free(g->jobs);
    free(g->role_arn);
    free(g);
}

void job_flush_groups(tt_engine *e)
{
    struct group *g = e->groups;

    e->groups = NULL;
    ev_timer_stop(e->loop, &e->batch_timer);
    while (g != NULL) {
        struct group *next = g->next;
        if (g->n > 0)
            flush_group(e, g);
        job_group_free(g);
        g = next;
    }
}

void job_on_batch_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    job_flush_groups(w->data);
    engine_maybe_idle(w->data);
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
            job_finish_error(j, "reading AWS", &err);
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
            job_finish_error(j, "reading AWS", &err);
            return;
        }
        g->jobs = jobs;
        g->cap = cap;
    }
    g->jobs[g->n++] = j;
    job_enter(j, JOB_WAITING);
    if (g->n >= max) {
        /* A full batch goes now; the others wait out the window. */
        struct group **pp = &e->groups;
        while (*pp != g)
            pp = &(*pp)->next;
        *pp = g->next;
        flush_group(e, g);
        job_group_free(g);
        return;
    }
    if (!ev_is_active(&e->batch_timer)) {
        ev_timer_set(&e->batch_timer, e->cfg.batch_window > 0 ? e->cfg.batch_window : 0.002, 0);
        ev_timer_start(e->loop, &e->batch_timer);
    }
}

/* ---- starting a job ------------------------------------------------------------------------ */

/* Ends the job of a resource that is gone for good: its record goes, the key is forgotten. */
static void forget_record(struct job *j)
{
    tt_engine *e = j->e;

    if (e->state != NULL && !e->cfg.state_readonly) {
        tt_error err;
        tt_state_remove(e->state, j->en->key, &err);
    }
    json_decref(j->record);
    j->record = NULL;
    /* Nothing of it is left to delete: the source may let the object go. */
    engine_released(e, j->en->key);
    job_finish(j, RQ_FORGET, 0);
}

void job_start(tt_engine *e, const char *key)
{
    struct entry *en = store_get(e, key);
    struct job *j;
    const tt_resource *r;
    const char *waiting_for;
    char msg[600];

    if (en == NULL) {
        /* Forget first: `key` is the queue item's own string, which done may free. */
        tt_queue_forget(e->q, key);
        tt_queue_done(e->q, key);
        return;
    }
    if (en->r == NULL && en->removed) {
        /* It rested, its manifest went, and no record says what it was: it never reached
         * AWS, so there is nothing to delete. */
        engine_released(e, en->key);
        tt_queue_forget(e->q, key);
        tt_queue_done(e->q, key);
        store_requeue_dependencies(e, en);
        set_outcome(e, en, OUT_NONE);
        store_forget(e, en);
        return;
    }
    if (en->r == NULL) {
        /* It rested, and the source could not build it again: it changed since (the new
         * version is on its way and queues it) or memory ran out. Retried, not lost. */
        tt_queue_done(e->q, key);
        tt_queue_add_rate_limited(e->q, key);
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
        job_finish_error(j, "loading status", &err);
        return;
    }
    j->status = json_object_get(j->record, "status");
    snprintf(j->region, sizeof(j->region), "%s", engine_region_of(e, r));

    j->p = engine_provider_for(e, r);
    set_status_target(j);
    if (j->removing) {
        bool retain = !r->invalid && strcmp(r->spec.common->deletion_policy, "Retain") == 0;
        /* The memo holds what trimtab created or adopted. An invalid resource without one never
         * reached AWS, so nothing is orphaned. A valid one without a memo still goes the
         * normal way: its state may have been lost (a pod without a persistent volume), and
         * its objects are found by their deterministic names and owner tags. */
        bool owns_nothing = r->invalid && json_object_size(json_object_get(j->record, "memo")) == 0;
        if (owns_nothing) {
            if (e->cfg.on_plan == NULL)
                engine_event(e, key, "Normal", "Removed",
                             "deleted from the source; it had created no AWS objects");
            forget_record(j);
            return;
        }
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
            engine_event(e, key, "Normal", "Retained",
                         "deleted from the source; AWS objects left in place (%s)",
                         retain ? "deletionPolicy: Retain" : "nothing to delete");
            forget_record(j);
            return;
        }
        if (e->cfg.on_plan == NULL && (waiting_for = store_removed_dependant(e, en)) != NULL) {
            snprintf(msg, sizeof(msg),
                     "deleted from the source; waits for %s, which refers to it, to be deleted "
                     "first",
                     waiting_for);
            /* Not forgotten: the entry stays until the dependant's deletion queues it. */
            finish_local(j, "False", "DependencyNotReady", msg, NULL, RQ_NONE);
            return;
        }
        job_park(j);
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
    job_park(j);
    enqueue_observe(e, j);
}
