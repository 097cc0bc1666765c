/*
 * tt_plan — what a diff decided: a list of actions, each one AWS call plus the field changes
 * it makes, kept as plain JSON so that `trimtab plan` prints it, `--output json` emits it,
 * Observe mode reports it and apply executes it, all from the same value.
 *
 * A plan is a JSON array of actions:
 *   {"verb": "create"|"update"|"delete"|"tag",
 *    "object": "scalable target service/prod/web",
 *    "changes": [{"field": "maxCapacity", "old": 10, "new": 12}, ...],
 *    "call": {"service": "application-autoscaling", "operation": "RegisterScalableTarget",
 *             "region": "eu-central-1", "input": {...}},
 *    "warning": "…"}  (optional: what a reader must not miss, printed on its own line)
 * Actions run in order; a failed action stops the rest.
 */
#ifndef TT_PLAN_H
#define TT_PLAN_H

#include <jansson.h>

#include "tt_buf.h"
#include "tt_error.h"

/* A new empty plan (a JSON array), or NULL on ENOMEM. */
json_t *tt_plan_new(void);

/*
 * Appends an action and returns it (borrowed, owned by the plan) so changes can be added.
 * `input` is stolen. `region` may be NULL (the client's region). NULL on ENOMEM.
 */
json_t *tt_plan_add(json_t *plan, const char *verb, const char *object, const char *service,
                    const char *operation, const char *region, json_t *input);

/* Records that `field` goes from `old` to `new` (both stolen; NULL means absent). */
void tt_action_change(json_t *action, const char *field, json_t *old_value, json_t *new_value);

/* Number of actions. */
size_t tt_plan_len(const json_t *plan);

/*
 * Appends the plan of one resource in the style of `terraform plan`:
 *   ~ update scalable target service/prod/web
 *       maxCapacity: 10 → 12
 * `indent` spaces precede every line.
 */
tt_code tt_plan_format(const json_t *plan, int indent, tt_buf *out);

/* One line summary: "update scalable target service/prod/web (maxCapacity 10 → 12)". */
tt_code tt_action_summary(const json_t *action, tt_buf *out);

/*
 * Compares two JSON values the way a diff needs: numbers by value (12 equals 12.0), objects by
 * keys regardless of order, arrays in order. NULL equals NULL only.
 */
int tt_json_same(const json_t *a, const json_t *b);

/*
 * Appends {"field": name, "old": have, "new": want} to `changes` (an array) when `want` is set
 * and differs from `have` (tt_json_same; NULL `have` means absent). Borrows both. Returns 1 when
 * it recorded a change.
 */
int tt_plan_compare(json_t *changes, const char *name, const json_t *want, const json_t *have);

/*
 * A sorted copy of the array `list` (borrowed; its elements are shared, not copied), ordered by
 * `cmp` on json_t * const * as qsort takes it: a new reference, or NULL when out of memory. For
 * lists AWS keeps as sets or reorders, so that their order is not mistaken for drift.
 */
json_t *tt_json_sorted(const json_t *list, int (*cmp)(const void *, const void *));

/* tt_plan_compare for a value made on the spot: steals `want`. */
int tt_plan_compare_new(json_t *changes, const char *name, json_t *want, const json_t *have);

#endif
