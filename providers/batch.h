/*
 * tt_batch — the observe plumbing every provider shares.
 *
 * A provider's observe turns a batch of resources into as few AWS calls as the APIs allow. With
 * this helper it only says, per resource, which keys it needs read by which operation
 * (`tt_batch_add`: "service web of cluster prod by DescribeServices"); the helper
 *   - groups the keys by operation and group (cluster, service namespace…) and splits each group
 *     into calls of the operation's batch size (DescribeServices 10, DescribeScalableTargets 50),
 *   - starts every call at once on the loop, paginated where the operation has a paginator,
 *   - hands each call's output to the operation's `join`, which files it into the views of the
 *     items the call was for,
 *   - runs phases: when every call of a phase has ended, the phase hooks may add keys that
 *     depend on what was read (ownership tags of targets that exist, activities of services
 *     whose desired count moved), and those calls form the next phase,
 *   - and finally calls the observe callback exactly once per item: the item's view, or the
 *     first error any of its calls met — a failed call, an out-of-memory while adding a key,
 *     starting a call or joining its output. Nothing is dropped silently.
 *
 * Life cycle: tt_batch_create → tt_batch_add… (+ tt_batch_on_phase) → tt_batch_start. When
 * tt_batch_start returns an error no callback is ever called and the batch is gone (libuv's
 * rule, as tt_aws_call); before starting, tt_batch_discard drops a batch.
 */
#ifndef TT_BATCH_H
#define TT_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "provider.h"
#include "tt_aws.h"

typedef struct tt_batch tt_batch;

/* One key of a call: the name or id the call asks for, and the item it is read for. */
typedef struct tt_batch_key {
    const char *key; /* owned by the batch */
    size_t item;
} tt_batch_key;

/* One AWS operation as a batch uses it; providers keep these as static const data. */
typedef struct tt_batch_op {
    const char *service;   /* "ecs", "application-autoscaling" */
    const char *operation; /* "DescribeServices" */
    size_t max_keys;       /* keys per call (the API's limit); 1 for per-object reads */
    /* A failed call does not fail its items: the read is only for status (activities). */
    bool soft;
    /* Read the first page only (the newest activities); otherwise every page is merged. */
    bool one_page;
    /*
     * The input of one call for `keys` of `group` (both borrowed): a new object, or NULL when
     * out of memory (the call's items then fail with TT_ENOMEM).
     */
    json_t *(*input)(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n);
    /*
     * Files the output (borrowed, every page merged) into the views of the keys' items. Keys
     * whose object is absent from the output are simply not found. TT_ENOMEM (or any error)
     * fails every item of the call.
     */
    tt_code (*join)(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n);
    /*
     * Optional: for a per-object read whose "not found" is an error (Lambda's
     * GetProvisionedConcurrencyConfig, ElastiCache's DescribeReplicationGroups by id), decides
     * whether the failed call's `err` only says the object does not exist; then it files that
     * into the keys' views and returns true, and the items do not fail. NULL: every error fails.
     */
    bool (*missing)(tt_batch *b, const tt_error *err, const tt_batch_key *keys, size_t n);
} tt_batch_op;

/* The keys of a call as a JSON array of strings (a new reference), or NULL when out of memory:
 * what most Describe calls take ("services", "ResourceIds", "PolicyNames"). */
json_t *tt_batch_key_list(const tt_batch_key *keys, size_t n);

/*
 * The usual join: files each entry of output[`list`] whose `name_field` equals a key as
 * `view_key` in that key's item view, when `accept` (NULL: all) takes it. TT_ENOMEM.
 */
tt_code tt_batch_join(tt_batch *b, const json_t *output, const char *list, const char *name_field,
                      const tt_batch_key *keys, size_t n, const char *view_key,
                      bool (*accept)(const json_t *entry));

/*
 * tt_batch_join for entries that need reshaping: what is filed is `map(entry)`, a new reference
 * (NULL: out of memory, TT_ENOMEM) — a copy the provider adds to later, or a field of it.
 */
tt_code tt_batch_join_map(tt_batch *b, const json_t *output, const char *list,
                          const char *name_field, const tt_batch_key *keys, size_t n,
                          const char *view_key, json_t *(*map)(const json_t *entry));

/* Called when phase `phase` (1, 2, …) has ended, before the batch delivers. */
typedef void (*tt_batch_phase_fn)(tt_batch *b, int phase);

/*
 * The seam to AWS: tt_aws_paginate when `paginate`, else tt_aws_call, with their callback
 * rule. The unit test scripts it.
 */
typedef int (*tt_batch_call_fn)(tt_aws *aws, const tt_aws_req *req, bool paginate, tt_aws_cb cb,
                                void *ud, tt_error *err);

/*
 * A batch for `n` items (the array is copied; what its entries point to is borrowed until
 * delivery; one region — items[0]'s — and one role), each with an empty view object. NULL with `err` set (TT_ENOMEM).
 */
tt_batch *tt_batch_create(tt_aws *aws, const char *role_arn, const tt_observe_item *items, size_t n,
                          tt_observe_cb cb, void *ud, tt_error *err);

/* Replaces tt_aws_paginate/tt_aws_call as the way calls are made (the unit test's scripted
 * AWS). */
void tt_batch_set_caller(tt_batch *b, tt_batch_call_fn fn);

/* Drops a batch that was never started (no callback). Accepts NULL. */
void tt_batch_discard(tt_batch *b);

/* The batch's items, their number, region and role (borrowed). */
const tt_observe_item *tt_batch_item(const tt_batch *b, size_t i);
size_t tt_batch_size(const tt_batch *b);

/* The view of item `i` (borrowed; the batch hands it to the callback). */
json_t *tt_batch_view(tt_batch *b, size_t i);

/* Fails item `i` with `err` (the first error an item meets is the one reported). */
void tt_batch_fail(tt_batch *b, size_t i, const tt_error *err);
/* Fails item `i` with TT_ENOMEM, naming `what` ran out of memory. */
void tt_batch_fail_nomem(tt_batch *b, size_t i, const char *what);
bool tt_batch_failed(const tt_batch *b, size_t i);

/*
 * Asks for `key` (copied) of `group` (copied; "" when the API has none) to be read by `op` for
 * item `i`, in the current phase's calls. Out of memory fails the item.
 */
void tt_batch_add(tt_batch *b, const tt_batch_op *op, const char *group, const char *key, size_t i);

/* Registers a phase hook (at most 4). TT_ELIMIT beyond that. */
tt_code tt_batch_on_phase(tt_batch *b, tt_batch_phase_fn fn, tt_error *err);

/*
 * Starts phase 1. TT_OK: the callback will run once per item, from the loop. An error (not one
 * call could start — every item had failed, or there was nothing to read): the batch is freed
 * and the callback never runs.
 */
tt_code tt_batch_start(tt_batch *b, tt_error *err);

#endif
