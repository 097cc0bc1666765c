#include "batch.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HOOKS 4

struct item {
    json_t *view; /* owned until delivered */
    bool failed;
    tt_error err;
};

/* A key waiting for the current phase's calls. Strings owned. */
struct pending_key {
    const tt_batch_op *op;
    char *group;
    char *key;
    size_t item;
    size_t seq; /* order of adding: keeps calls in the order items came */
};

struct tt_batch {
    tt_aws *aws;
    tt_batch_call_fn call;
    char *role_arn;
    char *region;
    tt_observe_item *items; /* a copy: the array is the caller's, what it points to borrowed */
    struct item *it;
    size_t n;
    tt_observe_cb cb;
    void *ud;
    struct pending_key *keys; /* the next phase's keys */
    size_t nkeys, capkeys;
    tt_batch_phase_fn hooks[MAX_HOOKS];
    size_t nhooks;
    int phase;
    size_t inflight; /* calls started and not ended */
};

/* One call in flight: owns its group and keys. */
struct call {
    tt_batch *b;
    const tt_batch_op *op;
    char *group;
    tt_batch_key *keys;
    size_t n;
};

static int aws_call(tt_aws *aws, const tt_aws_req *req, bool paginate, tt_aws_cb cb, void *ud,
                    tt_error *err)
{
    return paginate ? tt_aws_paginate(aws, req, cb, ud, err) : tt_aws_call(aws, req, cb, ud, err);
}

tt_batch *tt_batch_create(tt_aws *aws, const char *role_arn, const tt_observe_item *items, size_t n,
                          tt_observe_cb cb, void *ud, tt_error *err)
{
    tt_batch *b = calloc(1, sizeof(*b));

    if (b == NULL)
        goto nomem;
    b->aws = aws;
    b->call = aws_call;
    b->n = n;
    b->cb = cb;
    b->ud = ud;
    if ((b->it = calloc(n ? n : 1, sizeof(*b->it))) == NULL ||
        (b->items = calloc(n ? n : 1, sizeof(*b->items))) == NULL ||
        (role_arn != NULL && (b->role_arn = strdup(role_arn)) == NULL) ||
        (n > 0 && items[0].region != NULL && (b->region = strdup(items[0].region)) == NULL))
        goto nomem;
    if (n > 0)
        memcpy(b->items, items, n * sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        if ((b->it[i].view = json_object()) == NULL)
            goto nomem;
    }
    return b;
nomem:
    tt_batch_discard(b);
    tt_error_set(err, TT_ENOMEM, "out of memory starting an observe batch of %zu resources", n);
    return NULL;
}

void tt_batch_set_caller(tt_batch *b, tt_batch_call_fn fn)
{
    b->call = fn;
}

static void free_pending(tt_batch *b)
{
    for (size_t k = 0; k < b->nkeys; k++) {
        free(b->keys[k].group);
        free(b->keys[k].key);
    }
    b->nkeys = 0;
}

void tt_batch_discard(tt_batch *b)
{
    if (b == NULL)
        return;
    free_pending(b);
    free(b->keys);
    for (size_t i = 0; b->it != NULL && i < b->n; i++)
        json_decref(b->it[i].view);
    free(b->it);
    free(b->items);
    free(b->role_arn);
    free(b->region);
    free(b);
}

json_t *tt_batch_key_list(const tt_batch_key *keys, size_t n)
{
    json_t *list = json_array();

    for (size_t k = 0; list != NULL && k < n; k++) {
        if (json_array_append_new(list, json_string(keys[k].key)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* The joins below: `accept` filters entries, `map` (NULL: the entry itself) makes the value
 * filed — a new reference, or NULL when out of memory. */
static tt_code join(tt_batch *b, const json_t *output, const char *list, const char *name_field,
                    const tt_batch_key *keys, size_t n, const char *view_key,
                    bool (*accept)(const json_t *entry), json_t *(*map)(const json_t *entry))
{
    size_t i;
    json_t *entry;
    int failed = 0;

    json_array_foreach(json_object_get(output, list), i, entry)
    {
        const char *name = json_string_value(json_object_get(entry, name_field));
        if (name == NULL || (accept != NULL && !accept(entry)))
            continue;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(keys[k].key, name) == 0)
                failed |= json_object_set_new(b->it[keys[k].item].view, view_key,
                                              map ? map(entry) : json_incref(entry));
        }
    }
    return failed ? TT_ENOMEM : TT_OK;
}

tt_code tt_batch_join(tt_batch *b, const json_t *output, const char *list, const char *name_field,
                      const tt_batch_key *keys, size_t n, const char *view_key,
                      bool (*accept)(const json_t *entry))
{
    return join(b, output, list, name_field, keys, n, view_key, accept, NULL);
}

tt_code tt_batch_join_map(tt_batch *b, const json_t *output, const char *list,
                          const char *name_field, const tt_batch_key *keys, size_t n,
                          const char *view_key, json_t *(*map)(const json_t *entry))
{
    return join(b, output, list, name_field, keys, n, view_key, NULL, map);
}

const tt_observe_item *tt_batch_item(const tt_batch *b, size_t i)
{
    return &b->items[i];
}

size_t tt_batch_size(const tt_batch *b)
{
    return b->n;
}

json_t *tt_batch_view(tt_batch *b, size_t i)
{
    return b->it[i].view;
}

void tt_batch_fail(tt_batch *b, size_t i, const tt_error *err)
{
    if (b->it[i].failed)
        return;
    b->it[i].failed = true;
    b->it[i].err = *err;
}

void tt_batch_fail_nomem(tt_batch *b, size_t i, const char *what)
{
    tt_error err = {.code = TT_OK};

    tt_error_set(&err, TT_ENOMEM, "out of memory %s for %s", what, b->items[i].r->key);
    tt_batch_fail(b, i, &err);
}

bool tt_batch_failed(const tt_batch *b, size_t i)
{
    return b->it[i].failed;
}

void tt_batch_add(tt_batch *b, const tt_batch_op *op, const char *group, const char *key, size_t i)
{
    struct pending_key *pk;

    if (b->nkeys == b->capkeys) {
        size_t cap = b->capkeys ? b->capkeys * 2 : 64;
        struct pending_key *grown = realloc(b->keys, cap * sizeof(*grown));
        if (grown == NULL)
            goto nomem;
        b->keys = grown;
        b->capkeys = cap;
    }
    pk = &b->keys[b->nkeys];
    pk->op = op;
    pk->item = i;
    pk->seq = b->nkeys;
    if ((pk->group = strdup(group)) == NULL)
        goto nomem;
    if ((pk->key = strdup(key)) == NULL) {
        free(pk->group);
        goto nomem;
    }
    b->nkeys++;
    return;
nomem:
    tt_batch_fail_nomem(b, i, op->operation);
}

tt_code tt_batch_on_phase(tt_batch *b, tt_batch_phase_fn fn, tt_error *err)
{
    if (b->nhooks == MAX_HOOKS)
        return tt_error_set(err, TT_ELIMIT, "an observe batch takes at most %d phase hooks",
                            MAX_HOOKS);
    b->hooks[b->nhooks++] = fn;
    return TT_OK;
}

/* Orders pending keys by operation, then group, then the order they were added. */
static int key_cmp(const void *pa, const void *pb)
{
    const struct pending_key *a = pa, *b = pb;
    int c;

    if (a->op != b->op)
        return strcmp(a->op->operation, b->op->operation) != 0
                   ? strcmp(a->op->operation, b->op->operation)
                   : (a->op < b->op ? -1 : 1);
    if ((c = strcmp(a->group, b->group)) != 0)
        return c;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void fail_call(tt_batch *b, const struct call *c, const tt_error *err)
{
    for (size_t k = 0; k < c->n; k++)
        tt_batch_fail(b, c->keys[k].item, err);
}

static void free_call(struct call *c)
{
    for (size_t k = 0; k < c->n; k++)
        free((char *)c->keys[k].key);
    free(c->keys);
    free(c->group);
    free(c);
}

static void deliver(tt_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_t *view = b->it[i].view;
        b->it[i].view = NULL;
        if (b->it[i].failed) {
            json_decref(view);
            b->cb(b->ud, i, NULL, &b->it[i].err);
        } else {
            b->cb(b->ud, i, view, NULL);
        }
    }
    tt_batch_discard(b);
}

static void call_done(void *ud, json_t *output, const tt_error *err);

/*
 * Starts the call for pending keys [from, to) (one operation and group); the keys' strings
 * move into the call. A call that cannot start fails its items (soft ones fail nothing).
 */
static void start_call(tt_batch *b, size_t from, size_t to)
{
    const tt_batch_op *op = b->keys[from].op;
    struct call *c = calloc(1, sizeof(*c));
    tt_aws_req req = {op->service, op->operation, b->region, b->role_arn, NULL};
    tt_error err = {.code = TT_OK};

    if (c == NULL || (c->keys = calloc(to - from, sizeof(*c->keys))) == NULL) {
        free(c);
        tt_error_set(&err, TT_ENOMEM, "out of memory starting %s", op->operation);
        for (size_t k = from; k < to; k++)
            if (!op->soft)
                tt_batch_fail(b, b->keys[k].item, &err);
        return;
    }
    c->b = b;
    c->op = op;
    c->group = b->keys[from].group;
    b->keys[from].group = NULL;
    for (size_t k = from; k < to; k++) {
        c->keys[c->n].key = b->keys[k].key;
        c->keys[c->n++].item = b->keys[k].item;
        b->keys[k].key = NULL;
    }
    req.input = op->input(b, c->group, c->keys, c->n);
    if (req.input == NULL) {
        tt_error_set(&err, TT_ENOMEM, "out of memory building the input of %s", op->operation);
        goto fail;
    }
    b->inflight++;
    if (b->call(b->aws, &req, !op->one_page, call_done, c, &err) != TT_OK) {
        b->inflight--;
        goto fail;
    }
    json_decref(req.input);
    return;
fail:
    json_decref(req.input);
    if (!op->soft)
        fail_call(b, c, &err);
    free_call(c);
}

/* Turns the pending keys into calls. */
static void start_phase(tt_batch *b)
{
    size_t from = 0;

    b->phase++;
    if (b->nkeys > 1) /* qsort may not take the NULL of an empty list */
        qsort(b->keys, b->nkeys, sizeof(*b->keys), key_cmp);
    while (from < b->nkeys) {
        const struct pending_key *first = &b->keys[from];
        size_t to = from + 1;
        while (to < b->nkeys && to - from < first->op->max_keys && b->keys[to].op == first->op &&
               strcmp(b->keys[to].group, first->group) == 0)
            to++;
        start_call(b, from, to);
        from = to;
    }
    free_pending(b);
}

/* A phase ended: the hooks may ask for more; deliver when nobody does. */
static void phase_done(tt_batch *b)
{
    while (b->inflight == 0) {
        for (size_t h = 0; h < b->nhooks; h++)
            b->hooks[h](b, b->phase);
        if (b->nkeys == 0) {
            deliver(b);
            return;
        }
        start_phase(b);
    }
}

static void call_done(void *ud, json_t *output, const tt_error *err)
{
    struct call *c = ud;
    tt_batch *b = c->b;

    if (err != NULL) {
        if (!c->op->soft && (c->op->missing == NULL || !c->op->missing(b, err, c->keys, c->n)))
            fail_call(b, c, err);
    } else {
        tt_error jerr = {.code = TT_OK};
        if (c->op->join(b, output, c->keys, c->n) != TT_OK && !c->op->soft) {
            tt_error_set(&jerr, TT_ENOMEM, "out of memory reading the output of %s",
                         c->op->operation);
            fail_call(b, c, &jerr);
        }
    }
    free_call(c);
    b->inflight--;
    phase_done(b);
}

tt_code tt_batch_start(tt_batch *b, tt_error *err)
{
    tt_code rc = TT_OK;

    start_phase(b);
    if (b->inflight > 0)
        return TT_OK;
    /* Not one call started: report that now rather than calling back from inside observe. */
    for (size_t i = 0; i < b->n; i++) {
        if (b->it[i].failed) {
            if (err != NULL)
                *err = b->it[i].err;
            rc = b->it[i].err.code;
            goto out;
        }
    }
    rc = tt_error_set(err, TT_EINVAL, "an observe batch of %zu resources made no AWS call", b->n);
out:
    tt_batch_discard(b);
    return rc;
}
