/* apply.c — a plan executed in order, one AWS call at a time per resource (calls the provider
 * marks mergeable go through merge.c), and the write-ahead memo saved before the first write. */
#include "engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "leader.h"
#include "plan.h"
#include "tt_log.h"

/* ---- apply ------------------------------------------------------------------------------- */

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

void apply_on_answer(struct job *j, json_t *output, const tt_error *err)
{
    json_t *action = json_array_get(j->plan, j->next_action);
    tt_buf summary;

    tt_buf_init(&summary);
    tt_action_summary(action, &summary);
    if (err != NULL) {
        char during[600];
        snprintf(during, sizeof(during), "%s failed", tt_buf_str(&summary));
        tt_buf_cleanup(&summary);
        job_finish_error(j, during, err);
        return;
    }
    j->changed_aws = true;
    j->e->stats.applied_actions++;
    if (j->settled &&
        !j->p->applied(j->en->r, j->observed, json_object_get(action, "call"), output))
        j->settled = false;
    engine_event(j->e, j->en->key, "Normal",
                 verb_reason(json_string_value(json_object_get(action, "verb"))), "%s",
                 tt_buf_str(&summary));
    tt_buf_cleanup(&summary);
    j->next_action++;
    apply_next(j);
}

static void on_applied(void *ud, json_t *output, const tt_error *err)
{
    apply_on_answer(ud, output, err);
}

static void apply_done(struct job *j)
{
    j->napplied = tt_plan_len(j->plan);
    if (j->removing) {
        engine_event(j->e, j->en->key, "Normal", "Deleted", "removed %zu AWS object%s it owned",
                     tt_plan_len(j->plan), tt_plan_len(j->plan) == 1 ? "" : "s");
        if (j->e->state != NULL && !j->e->cfg.state_readonly) {
            tt_error err;
            tt_state_remove(j->e->state, j->en->key, &err);
        }
        json_decref(j->record);
        j->record = NULL;
        engine_released(j->e, j->en->key);
        job_finish(j, RQ_FORGET, 0);
        return;
    }
    if (j->memo != NULL) {
        json_object_set(j->record, "memo", j->memo);
    }
    /* Every answer was authoritative: the updated observation is what a confirming read would
     * return, so diff that instead of reading AWS again (job_observed falls back to the read
     * when the diff is not empty). */
    if (j->settled && !j->settling && j->observed != NULL) {
        json_t *observed = j->observed;
        j->observed = NULL;
        json_decref(j->plan);
        j->plan = NULL;
        json_decref(j->memo);
        j->memo = NULL;
        j->settling = true;
        j->e->stats.settled_applies++;
        job_observed(j, observed, NULL);
        return;
    }
    apply_verify(j);
}

void apply_verify(struct job *j)
{
    json_int_t gen = status_generation_of(j->record);
    char msg[300];

    snprintf(msg, sizeof(msg), "applied %zu change%s; verifying", j->napplied,
             j->napplied == 1 ? "" : "s");
    status_set_condition(j->status, "Synced", "True", "Applied", msg, gen);
    status_set_condition(j->status, "Ready", "False", "Progressing", msg, gen);
    json_object_set_new(j->status, "observedGeneration", json_integer(gen));
    j->en->apply_streak++;
    /* Level-triggered: look again, and only call it Ready when the diff comes back empty. */
    job_finish(j, RQ_NOW, 0);
}

/* The AWS call of the job's current action. */
static void call_of(struct job *j, tt_engine_call *req)
{
    json_t *call = json_object_get(json_array_get(j->plan, j->next_action), "call");

    req->service = json_string_value(json_object_get(call, "service"));
    req->operation = json_string_value(json_object_get(call, "operation"));
    req->region = json_string_value(json_object_get(call, "region"));
    if (req->region == NULL)
        req->region = j->region[0] ? j->region : NULL;
    req->role_arn = j->en->r->spec.common->role_arn;
    req->input = json_object_get(call, "input");
}

void apply_send(struct job *j)
{
    tt_engine_call req;
    tt_error err;

    if (!tt_leader_is_leader(j->e->cfg.leader)) {
        job_yield(j);
        return;
    }
    call_of(j, &req);
    if (j->e->stats.first_call_at == 0)
        j->e->stats.first_call_at = ev_time();
    if (j->e->cfg.call(j->e->aws, &req, on_applied, j, &err) != TT_OK)
        job_finish_error(j, "starting an AWS call", &err);
}

void apply_next(struct job *j)
{
    json_t *action = json_array_get(j->plan, j->next_action);
    const json_t *merge = json_object_get(json_object_get(action, "call"), "merge");
    tt_engine_call req;
    tt_error err;

    if (action == NULL) {
        apply_done(j);
        return;
    }
    if (merge == NULL) {
        apply_send(j);
        return;
    }
    call_of(j, &req);
    if (merge_call(j, &req, merge, &err) != TT_OK)
        job_finish_error(j, "starting an AWS call", &err);
}

/*
 * Write-ahead: before the first AWS write, the record is saved with the lists of the new memo
 * (the AWS names this apply may create) merged into the old memo. A kill -9 in the middle of
 * the apply then still leaves a record naming everything trimtab may own, so a later reconcile
 * (or --prune) finds and deletes what the spec no longer wants. Only lists are merged; other
 * memo fields (ownership among them) keep their old value until the apply has succeeded.
 */
tt_code apply_write_ahead(struct job *j, tt_error *err)
{
    tt_engine *e = j->e;
    json_t *old = json_object_get(j->record, "memo"), *merged, *v;
    const char *k;

    if (j->memo == NULL || e->state == NULL || e->cfg.state_readonly)
        return TT_OK;
    merged = json_is_object(old) ? json_deep_copy(old) : json_object();
    if (merged == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
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
        return TT_OK;
    }
    json_object_set_new(j->record, "memo", merged);
    if (tt_state_write(e->state, j->en->key, j->record, err) != TT_OK) {
        job_note_write_failure(e, j->en, err);
        return err->code;
    }
    return TT_OK;
}
