/*
 * What every tests/unit/test_diff_<provider>.c shares: a resource loaded from YAML with the
 * provider that handles it, an observed view and memo from JSON text, the diff run with region
 * eu-central-1, and assertions on the plan it made.
 */
#ifndef TT_DIFF_FIXTURE_BS_H
#define TT_DIFF_FIXTURE_BS_H

#include <jansson.h>

#include "loader.h"
#include "provider.h"

struct fixture {
    tt_manifest_set set;
    tt_resource *r;
    const tt_provider *p;
    json_t *observed;
    json_t *memo; /* NULL when loaded without one */
    json_t *deps; /* empty: tests add {"Kind/name": status} */
    tt_diff_output out;
};

/* Loads one manifest (failing the test when invalid or not handled by `provider`), and the
 * observed view and memo (`memo` may be NULL). */
void fixture_load(struct fixture *f, const char *provider, const char *yaml, const char *observed,
                  const char *memo);

/* The diff input of the fixture, region eu-central-1. */
tt_diff_input fixture_input(struct fixture *f);

/* Runs the provider's diff into f->out (fails the test unless it returns TT_OK). */
void fixture_diff(struct fixture *f);

/* Frees everything the fixture and its output hold. */
void fixture_release(struct fixture *f);

/* Fails unless the plan's actions are exactly `want`: "verb:Operation verb:Operation…". */
void assert_ops(const json_t *plan, const char *want);

/* The input of action `i` (borrowed). */
const json_t *action_input(const json_t *plan, size_t i);

/* Fails unless action `i`'s input, as compact JSON with sorted keys, is `want`. */
void assert_input(const json_t *plan, size_t i, const char *want);

#endif
