/*
 * What the diff unit tests (test_diff_<provider>.c) share: a resource loaded from YAML, an
 * observed view and a memo from JSON, the diff run on them, and compact plan assertions.
 * Each test file defines `fixture_provider`, the provider its resources must land on.
 */
#ifndef TT_DIFF_FIXTURE_CW_H
#define TT_DIFF_FIXTURE_CW_H

#include <jansson.h>

#include "loader.h"
#include "providers.h"

/* The name of the provider every fixture's resource must be handled by ("ecs"). */
extern const char *const fixture_provider;

struct fixture {
    tt_manifest_set set;
    tt_resource *r;
    const tt_provider *p;
    json_t *observed;
    json_t *memo;
    json_t *deps; /* empty; tests add dependencies' status records */
    tt_diff_output out;
};

/* A JSON value (any type) or a test failure naming the text. A new reference. */
json_t *parse(const char *text);

/* Loads one valid resource from `yaml`, `observed` and `memo` (NULL: none). */
void load(struct fixture *f, const char *yaml, const char *observed, const char *memo);

/* Runs the diff (region eu-central-1) into f->out, which must be empty; it must succeed. */
void diff(struct fixture *f);

/* Frees everything load and diff made. */
void release(struct fixture *f);

/* The plan's actions are exactly `want`: "create:RegisterScalableTarget update:PutScalingPolicy". */
void assert_ops(const json_t *plan, const char *want);

/* The AWS input of action `i` (borrowed). */
const json_t *action_input(const json_t *plan, size_t i);

#endif
