/*
 * Unit tests for the observe-batch helper (providers/batch.c), driven through its AWS seam
 * (tt_batch_set_caller) by a scripted AWS layer: it records every call the helper starts, and
 * the test answers them afterwards — never from inside the call, as tt_aws promises — with
 * outputs, AWS errors, missing objects or a lost page.
 *
 * The program is linked with --wrap for malloc, calloc, realloc and strdup, and jansson's
 * allocator is replaced too, so `enomem_at_every_allocation` can fail each allocation in turn
 * and check that every item still gets exactly one callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* ---- allocation failures ------------------------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long alloc_count;  /* allocations counted since arming */
static long fail_at = -1; /* the allocation that fails, or -1 */
static int failed_one;    /* the armed failure happened */

static int should_fail(void)
{
    if (fail_at < 0)
        return 0;
    if (alloc_count++ == fail_at) {
        failed_one = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

static void *json_malloc(size_t n)
{
    return __wrap_malloc(n);
}

/* While the script builds answers, nothing counts: only the helper's allocations fail. */
static long paused_fail_at;

static void pause_failures(void)
{
    paused_fail_at = fail_at;
    fail_at = -1;
}

static void resume_failures(void)
{
    fail_at = paused_fail_at;
}

/* ---- the scripted AWS layer --------------------------------------------------------------- */

struct pending_call {
    char operation[64];
    json_t *input;
    bool paginate;
    tt_aws_cb cb;
    void *ud;
};

static struct pending_call calls[64];
static size_t ncalls, nanswered;

static int scripted_call(tt_aws *aws, const tt_aws_req *req, bool paginate, tt_aws_cb cb, void *ud,
                         tt_error *err)
{
    struct pending_call *c;

    (void)aws;
    (void)err;
    assert_true(ncalls < sizeof(calls) / sizeof(calls[0]));
    c = &calls[ncalls++];
    snprintf(c->operation, sizeof(c->operation), "%s", req->operation);
    pause_failures();
    c->input = json_deep_copy(req->input);
    resume_failures();
    c->paginate = paginate;
    c->cb = cb;
    c->ud = ud;
    return TT_OK;
}

/*
 * Answers DescribeThings as a service would: {"Things": [{"Name": k, "Size": len(k)}]} for
 * every asked key, except
 *   "missing-*" (absent from the answer: not found),
 *   "boom-*"    (the whole call fails with an AWS error),
 *   "page-*"    (the second page of the paginated answer is lost: the call fails),
 *   "gone-*"    (the call fails with NoSuchThing, as a per-object read of a missing one does).
 */
static void answer(struct pending_call *c)
{
    json_t *names = json_object_get(c->input, "Names");
    json_t *things, *out;
    tt_error err = {.code = TT_OK};
    int fail = 0;
    size_t i;
    json_t *n;

    pause_failures();
    things = json_array();
    json_array_foreach(names, i, n)
    {
        const char *k = json_string_value(n);
        if (strncmp(k, "boom-", 5) == 0) {
            fail = 1;
            tt_error_set(&err, TT_EAWS, "ValidationException: %s is not allowed", k);
            snprintf(err.service_code, sizeof(err.service_code), "ValidationException");
            err.http_status = 400;
        } else if (strncmp(k, "gone-", 5) == 0) {
            fail = 1;
            tt_error_set(&err, TT_EAWS, "NoSuchThing: %s does not exist", k);
            snprintf(err.service_code, sizeof(err.service_code), "NoSuchThing");
            err.http_status = 404;
        } else if (strncmp(k, "page-", 5) == 0 && c->paginate) {
            fail = 1;
            tt_error_set(&err, TT_EAWS, "InvalidNextTokenException: page 2 of %s is gone",
                         c->operation);
        } else if (strncmp(k, "missing-", 8) != 0) {
            json_array_append_new(things,
                                  json_pack("{s:s,s:i}", "Name", k, "Size", (int)strlen(k)));
        }
    }
    out = json_pack("{s:o}", "Things", things);
    resume_failures();
    c->cb(c->ud, fail ? NULL : out, fail ? &err : NULL);
    pause_failures();
    json_decref(out);
    resume_failures();
}

/* Answers every call, including those the answers start (later phases). */
static void drain(void)
{
    while (nanswered < ncalls)
        answer(&calls[nanswered++]);
}

static void reset_script(void)
{
    /* Inputs stay until here so tests can check what was asked. */
    for (size_t i = 0; i < ncalls; i++)
        json_decref(calls[i].input);
    ncalls = nanswered = 0;
}

/* ---- the provider side: one operation, a phase hook --------------------------------------- */

static json_t *things_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    return json_pack("{s:s,s:o}", "Group", group, "Names", tt_batch_key_list(keys, n));
}

static tt_code things_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "Things", "Name", keys, n, "thing", NULL);
}

static const tt_batch_op op_things = {"svc", "DescribeThings", 3,           false,
                                      false, things_input,     things_join, NULL};
/* The same read, for status only and first page only. */
static const tt_batch_op op_extra = {"svc", "DescribeThings", 1,           true,
                                     true,  things_input,     things_join, NULL};

/* A per-object read whose NoSuchThing only says the object is missing. */
static bool thing_missing(tt_batch *b, const tt_error *err, const tt_batch_key *keys, size_t n)
{
    (void)n;
    if (strcmp(err->service_code, "NoSuchThing") != 0)
        return false;
    return json_object_set_new(tt_batch_view(b, keys[0].item), "gone", json_true()) == 0;
}

static const tt_batch_op op_lookup = {"svc", "DescribeThings", 1,           false,
                                      false, things_input,     things_join, thing_missing};

/* Phase 2: one extra (soft) read for every item found in phase 1. */
static void extra_phase(tt_batch *b, int phase)
{
    if (phase != 1)
        return;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        if (!tt_batch_failed(b, i) && json_object_get(tt_batch_view(b, i), "thing") != NULL)
            tt_batch_add(b, &op_extra, "extra", "boom-soft", i);
    }
}

/* ---- the observe callback's record -------------------------------------------------------- */

#define MAXN 16

struct result {
    int calls;
    json_t *view;
    tt_error err;
    bool failed;
};

static struct result results[MAXN];

static void on_item(void *ud, size_t i, json_t *observed, const tt_error *err)
{
    (void)ud;
    assert_true(i < MAXN);
    results[i].calls++;
    results[i].view = observed;
    results[i].failed = err != NULL;
    if (err != NULL)
        results[i].err = *err;
    else
        assert_non_null(observed);
}

static void reset_results(void)
{
    for (size_t i = 0; i < MAXN; i++)
        json_decref(results[i].view);
    memset(results, 0, sizeof(results));
}

/* Items named by `names`, in groups by the text before ':' ("a:web" → group a, key web). */
struct scenario {
    tt_resource r[MAXN];
    char keys[MAXN][64];
    tt_observe_item items[MAXN];
    size_t n;
};

static void scenario_init(struct scenario *s, const char *const *names)
{
    memset(s, 0, sizeof(*s));
    for (s->n = 0; names[s->n] != NULL; s->n++) {
        snprintf(s->keys[s->n], sizeof(s->keys[s->n]), "Thing/ns/%s", names[s->n]);
        s->r[s->n].key = s->keys[s->n];
        s->items[s->n].r = &s->r[s->n];
        s->items[s->n].region = "eu-central-1";
    }
}

/* Runs one batch over `names` read by `op`; returns tt_batch_create's or tt_batch_start's
 * code. */
static tt_code run_op(const char *const *names, bool with_phase, const tt_batch_op *op,
                      tt_error *err)
{
    struct scenario s;
    tt_batch *b;
    tt_code rc;

    scenario_init(&s, names);
    reset_results();
    reset_script();
    b = tt_batch_create(NULL, NULL, s.items, s.n, on_item, NULL, err);
    if (b == NULL)
        return err->code;
    tt_batch_set_caller(b, scripted_call);
    if (with_phase && (rc = tt_batch_on_phase(b, extra_phase, err)) != TT_OK) {
        tt_batch_discard(b);
        return rc;
    }
    for (size_t i = 0; i < s.n; i++) {
        const char *colon = strchr(names[i], ':');
        char group[32];
        snprintf(group, sizeof(group), "%.*s", (int)(colon - names[i]), names[i]);
        tt_batch_add(b, op, group, colon + 1, i);
    }
    rc = tt_batch_start(b, err);
    if (rc == TT_OK)
        drain();
    return rc;
}

static tt_code run(const char *const *names, bool with_phase, tt_error *err)
{
    return run_op(names, with_phase, &op_things, err);
}

static const char *call_names(size_t c)
{
    static char buf[512];
    json_t *names = json_object_get(calls[c].input, "Names");
    size_t i, len = 0;
    json_t *n;

    buf[0] = '\0';
    len += (size_t)snprintf(buf, sizeof(buf),
                            "%s:", json_string_value(json_object_get(calls[c].input, "Group")));
    json_array_foreach(names, i, n) len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", json_string_value(n));
    return buf;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void splits_by_group_and_batch_size(void **state)
{
    static const char *const names[] = {"a:1", "b:2", "a:3", "a:4", "b:5", "a:6", "a:7", NULL};
    tt_error err = {.code = TT_OK};

    (void)state;
    assert_int_equal(run(names, false, &err), TT_OK);
    /* Group a has five keys: calls of three and two, in the order the items came. */
    assert_int_equal(ncalls, 3);
    assert_string_equal(call_names(0), "a:1,3,4");
    assert_string_equal(call_names(1), "a:6,7");
    assert_string_equal(call_names(2), "b:2,5");
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(results[i].calls, 1);
        assert_false(results[i].failed);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(results[i].view, "thing"), "Name")),
            strchr(names[i], ':') + 1);
    }
    reset_results();
}

static void partial_failures_reach_exactly_their_items(void **state)
{
    static const char *const names[] = {"a:ok1", "a:boom-1", "a:ok2", "b:missing-1",
                                        "b:ok3", "c:page-1", NULL};
    tt_error err = {.code = TT_OK};

    (void)state;
    assert_int_equal(run(names, true, &err), TT_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(results[i].calls, 1);
    /* The call holding boom-1 failed: all three of its items carry the AWS error. */
    for (size_t i = 0; i < 3; i++) {
        assert_true(results[i].failed);
        assert_int_equal(results[i].err.code, TT_EAWS);
        assert_string_equal(results[i].err.service_code, "ValidationException");
        assert_non_null(strstr(results[i].err.message, "boom-1 is not allowed"));
    }
    /* Absent from an answer is "not found", not an error. */
    assert_false(results[3].failed);
    assert_null(json_object_get(results[3].view, "thing"));
    /* The soft phase-2 read failed, and ok3 is still fine. */
    assert_false(results[4].failed);
    assert_non_null(json_object_get(results[4].view, "thing"));
    /* A lost page fails the paginated call's item with the pagination error. */
    assert_true(results[5].failed);
    assert_non_null(strstr(results[5].err.message, "page 2 of DescribeThings is gone"));
    /* Phase 2 ran after phase 1 (three calls) for the one item found: one read, first page. */
    assert_int_equal(ncalls, 4);
    assert_string_equal(calls[3].operation, "DescribeThings");
    assert_false(calls[3].paginate);
    assert_true(calls[0].paginate);
    reset_results();
}

static void missing_hook_turns_not_found_into_an_answer(void **state)
{
    static const char *const names[] = {"a:gone-1", "a:boom-2", "a:ok", NULL};
    tt_error err = {.code = TT_OK};

    (void)state;
    assert_int_equal(run_op(names, false, &op_lookup, &err), TT_OK);
    assert_int_equal(ncalls, 3);
    /* NoSuchThing: the hook filed it and the item is fine. */
    assert_int_equal(results[0].calls, 1);
    assert_false(results[0].failed);
    assert_true(json_is_true(json_object_get(results[0].view, "gone")));
    /* Any other error still fails the item. */
    assert_true(results[1].failed);
    assert_string_equal(results[1].err.service_code, "ValidationException");
    assert_false(results[2].failed);
    assert_non_null(json_object_get(results[2].view, "thing"));
    reset_results();
}

static void nothing_started_is_an_error_without_callbacks(void **state)
{
    static const char *const names[] = {"a:1", NULL};
    struct scenario s;
    tt_error err = {.code = TT_OK};
    tt_batch *b;

    (void)state;
    scenario_init(&s, names);
    reset_results();
    reset_script();
    b = tt_batch_create(NULL, NULL, s.items, s.n, on_item, NULL, &err);
    assert_non_null(b);
    tt_batch_set_caller(b, scripted_call);
    /* No key added: nothing to read is a provider bug, reported, never a silent success. */
    assert_int_equal(tt_batch_start(b, &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "made no AWS call"));
    assert_int_equal(results[0].calls, 0);
}

static void enomem_at_every_allocation(void **state)
{
    static const char *const names[] = {"a:1", "a:2",       "a:3", "a:4",
                                        "b:5", "b:missing", "c:6", NULL};
    long k;

    (void)state;
    json_set_alloc_funcs(json_malloc, free);
    for (k = 0; k < 100000; k++) {
        tt_error err = {.code = TT_OK};
        tt_code rc;
        alloc_count = 0;
        failed_one = 0;
        fail_at = k;
        rc = run(names, true, &err);
        fail_at = -1;
        if (rc != TT_OK) {
            /* Refused at the start: no callback at all, and the reason is out of memory. */
            assert_int_equal(rc, TT_ENOMEM);
            assert_true(err.message[0] != '\0');
            for (size_t i = 0; i < 7; i++)
                assert_int_equal(results[i].calls, 0);
            continue;
        }
        for (size_t i = 0; i < 7; i++) {
            assert_int_equal(results[i].calls, 1);
            if (results[i].failed) {
                assert_int_equal(results[i].err.code, TT_ENOMEM);
                assert_non_null(strstr(results[i].err.message, "out of memory"));
            } else if (i != 5) {
                /* An item reported fine really was read: no silent "not found". */
                assert_non_null(json_object_get(results[i].view, "thing"));
            }
        }
        /* Past the last allocation: the run went through untouched, and we are done. */
        if (!failed_one)
            break;
    }
    json_set_alloc_funcs(malloc, free);
    reset_results();
    reset_script();
    assert_true(k > 20); /* the run above really went through many allocations */
    assert_false(failed_one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_by_group_and_batch_size),
        cmocka_unit_test(partial_failures_reach_exactly_their_items),
        cmocka_unit_test(missing_hook_turns_not_found_into_an_answer),
        cmocka_unit_test(nothing_started_is_an_error_without_callbacks),
        cmocka_unit_test(enomem_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
