/*
 * merge.c — writes of several resources merged into one AWS call where the API takes a list.
 *
 * A provider marks such an action with call.merge = {"member": "AlarmNames", "max": 100}
 * (DeleteAlarms takes up to 100 names). The merged calls that jobs start in one loop iteration
 * are grouped by service, operation, region and role, and sent at the end of the iteration
 * (an ev_prepare watcher), up to `max` list entries a call: pruning 1,000 alarms, whose
 * observe batches end together, costs 10 calls instead of 1,000.
 *
 * A merged call's answer is every member's. One exception: when AWS refuses a call of several
 * members with a client error (4xx), each member is sent again alone, so a bad entry fails only
 * the resource it belongs to — AWS deletes none of the alarms of a refused DeleteAlarms.
 */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "leader.h"

/* Merged calls waiting for the end of the loop iteration, one group per call key. */
struct merge_group {
    char *service;
    char *operation;
    char *region;   /* NULL: the client's */
    char *role_arn; /* NULL: the operator's own credentials */
    char *member;   /* the list member the inputs are merged on */
    size_t max;     /* entries a call may hold */
    struct job **jobs;
    size_t n;
    size_t cap;
    struct merge_group *next;
};

/* A merged call in flight: the jobs whose entries it holds. */
struct merge_call {
    struct job **jobs;
    size_t n;
};

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void group_free(struct merge_group *g)
{
    free(g->service);
    free(g->operation);
    free(g->region);
    free(g->role_arn);
    free(g->member);
    free(g->jobs);
    free(g);
}

static struct merge_group *group_for(tt_engine *e, const tt_engine_call *req, const char *member,
                                     size_t max)
{
    struct merge_group *g;

    for (g = e->merges; g != NULL; g = g->next) {
        if (strcmp(g->service, req->service) == 0 && strcmp(g->operation, req->operation) == 0 &&
            same(g->region, req->region) && same(g->role_arn, req->role_arn) &&
            strcmp(g->member, member) == 0 && g->max == max)
            return g;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->service = strdup(req->service);
    g->operation = strdup(req->operation);
    g->region = dup_or_null(req->region);
    g->role_arn = dup_or_null(req->role_arn);
    g->member = strdup(member);
    g->max = max;
    if (g->service == NULL || g->operation == NULL || g->member == NULL ||
        (req->region != NULL && g->region == NULL) ||
        (req->role_arn != NULL && g->role_arn == NULL)) {
        group_free(g);
        return NULL;
    }
    g->next = e->merges;
    e->merges = g;
    return g;
}

tt_code merge_call(struct job *j, const tt_engine_call *req, const json_t *merge, tt_error *err)
{
    tt_engine *e = j->e;
    const char *member = json_string_value(json_object_get(merge, "member"));
    json_int_t max = json_integer_value(json_object_get(merge, "max"));
    struct merge_group *g;

    if (member == NULL || max < 1 || !json_is_array(json_object_get(req->input, member)))
        return tt_error_set(err, TT_EINVAL,
                            "%s: the plan's merge hint names no list member of the input",
                            req->operation);
    g = group_for(e, req, member, (size_t)max);
    if (g == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct job **jobs = realloc(g->jobs, cap * sizeof(*jobs));
        if (jobs == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
        g->jobs = jobs;
        g->cap = cap;
    }
    g->jobs[g->n++] = j;
    ev_prepare_start(e->loop, &e->merge_prepare);
    return TT_OK;
}

/* The list entries a job's current action contributes (borrowed). */
static json_t *entries_of(const struct job *j, const char *member)
{
    json_t *call = json_object_get(json_array_get(j->plan, j->next_action), "call");

    return json_object_get(json_object_get(call, "input"), member);
}

static void on_merged(void *ud, json_t *output, const tt_error *err)
{
    struct merge_call *mc = ud;

    for (size_t i = 0; i < mc->n; i++) {
        if (err != NULL && mc->n > 1 && err->http_status >= 400 && err->http_status < 500)
            apply_send(mc->jobs[i]);
        else
            apply_on_answer(mc->jobs[i], output, err);
    }
    free(mc->jobs);
    free(mc);
}

/* Sends jobs [from, to) of group g as one call; on failure to start, each job fails. */
static void send_chunk(tt_engine *e, const struct merge_group *g, size_t from, size_t to)
{
    struct merge_call *mc = NULL;
    json_t *input = NULL, *list;
    tt_engine_call req = {g->service, g->operation, g->region, g->role_arn, NULL};
    tt_error err;

    if (to - from == 1) { /* alone: the plain path */
        apply_send(g->jobs[from]);
        return;
    }
    if (!tt_leader_is_leader(e->cfg.leader)) {
        for (size_t i = from; i < to; i++)
            job_yield(g->jobs[i]);
        return;
    }
    mc = calloc(1, sizeof(*mc));
    /* The first member's input with every member's entries; the rest of the inputs are
     * equal by construction (the provider merges only inputs that differ in the list). */
    input = json_deep_copy(json_object_get(
        json_object_get(json_array_get(g->jobs[from]->plan, g->jobs[from]->next_action), "call"),
        "input"));
    list = json_array();
    if (mc == NULL || input == NULL || list == NULL ||
        (mc->jobs = malloc((to - from) * sizeof(*mc->jobs))) == NULL) {
        tt_error_set(&err, TT_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = from; i < to; i++) {
        if (json_array_extend(list, entries_of(g->jobs[i], g->member)) != 0) {
            tt_error_set(&err, TT_ENOMEM, "out of memory");
            goto fail;
        }
        mc->jobs[mc->n++] = g->jobs[i];
    }
    json_object_set(input, g->member, list);
    req.input = input;
    if (e->stats.first_call_at == 0)
        e->stats.first_call_at = ev_time();
    if (e->cfg.call(e->aws, &req, on_merged, mc, &err) != TT_OK)
        goto fail;
    json_decref(list);
    json_decref(input);
    return;
fail:
    json_decref(list);
    json_decref(input);
    if (mc != NULL)
        free(mc->jobs);
    free(mc);
    for (size_t i = from; i < to; i++)
        job_finish_error(g->jobs[i], "starting an AWS call", &err);
}

void merge_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    tt_engine *e = w->data;
    struct merge_group *groups = e->merges;

    (void)revents;
    ev_prepare_stop(loop, w);
    /* Detached first: a member's callback may merge its next action into a new group. */
    e->merges = NULL;
    while (groups != NULL) {
        struct merge_group *g = groups;
        size_t from = 0, entries = 0;

        groups = g->next;
        for (size_t i = 0; i < g->n; i++) {
            size_t k = json_array_size(entries_of(g->jobs[i], g->member));
            if (i > from && entries + k > g->max) {
                send_chunk(e, g, from, i);
                from = i;
                entries = 0;
            }
            entries += k;
        }
        if (g->n > from)
            send_chunk(e, g, from, g->n);
        group_free(g);
    }
}

void merge_free_all(tt_engine *e)
{
    while (e->merges != NULL) {
        struct merge_group *g = e->merges;
        e->merges = g->next;
        group_free(g);
    }
}
