/*
 * The shared fixture of the provider diff tests (test_diff_<provider>.c): one manifest, an
 * observed AWS view and a memo in, the provider's exact plan out.
 */
#ifndef TT_DIFF_FIXTURE_H
#define TT_DIFF_FIXTURE_H

#include <jansson.h>

#include "loader.h"
#include "provider.h"

typedef struct diff_fixture {
    tt_manifest_set set;
    tt_resource *r;
    const tt_provider *p;
    json_t *observed; /* owned; tests edit it before diffing */
    json_t *memo;     /* owned, or NULL */
    json_t *deps;     /* owned: {"Budget/x": {status}} */
    tt_diff_output out;
} diff_fixture;

/* Loads the one valid manifest `yaml` into `set` (fails the test otherwise), checks that
 * provider `provider` handles it; returns the resource (owned by `set`). */
tt_resource *fx_load_one(tt_manifest_set *set, const char *yaml, const char *provider,
                         const tt_provider **p);
/* fx_load_one, then parses `observed` and `memo` (NULL: none). */
void fx_load(diff_fixture *f, const char *provider, const char *yaml, const char *observed,
             const char *memo);
/* The provider's input for this fixture (pointers borrowed from f). */
tt_diff_input fx_diff_input(diff_fixture *f);
/* Runs the diff into f->out (a fresh plan, dropping an earlier one); asserts TT_OK. */
void fx_diff(diff_fixture *f);
/* Runs the provider's remove into a new plan (returned, owned by the caller); asserts TT_OK. */
json_t *fx_remove(diff_fixture *f);
void fx_release(diff_fixture *f);
/* The provider's applied slot on the answer to registering the view's scalable target (the "aas"
 * target of f->observed) with bounds [min, max]. When the answer is taken (1), asserts the view
 * now holds the new bounds. */
int fx_applied_register(diff_fixture *f, int min, int max);

/* Asserts the plan's "verb:Operation" list, space-separated ("" for none). */
void fx_assert_ops(const json_t *plan, const char *want);
/* The input of action `i` (borrowed). */
const json_t *fx_input(const json_t *plan, size_t i);
/* The string member `key` of action `i`'s input, or NULL. */
const char *fx_input_str(const json_t *plan, size_t i, const char *key);
/* Asserts action `i`'s input, dumped compact with sorted keys, equals `want`. */
void fx_assert_input(const json_t *plan, size_t i, const char *want);
/* A JSON value parsed from text (a new reference); fails the test on bad JSON. */
json_t *fx_json(const char *text);

#endif
