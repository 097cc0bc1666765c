/*
 * Unit tests for reconcile/queue: de-duplication, the processing set, delayed adds, backoff,
 * resync spreading, shutdown and scale, driven by a real libev loop with short delays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

struct fixture {
    struct ev_loop *loop;
    tt_queue *q;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->q = f->loop != NULL ? tt_queue_create(f->loop) : NULL;
    if (f->q == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    tt_queue_destroy(f->q);
    ev_loop_destroy(f->loop);
    free(f);
    return 0;
}

/* The queue's clock, so measured delays compare with the delays asked for. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* Runs loop iterations until `done(arg)` or `timeout` seconds; a guard timer bounds each wait. */
static void run_until(struct ev_loop *loop, int (*done)(void *), void *arg, double timeout)
{
    ev_timer guard;
    double end = now_s() + timeout;

    ev_timer_init(&guard, guard_cb, timeout, 0.0);
    ev_timer_start(loop, &guard);
    while ((done == NULL || !done(arg)) && now_s() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
}

static void run_for(struct ev_loop *loop, double seconds)
{
    run_until(loop, NULL, NULL, seconds);
}

/*
 * A ready callback that pops everything, records what it got and when, and marks it done at
 * once (a reconcile that takes no time).
 */
#define REC_MAX 64
struct recorder {
    tt_queue *q;
    double t0;
    int calls;
    int depth;              /* >0 while inside ready: proves ready is never re-entered */
    int n;                  /* keys popped in total */
    const char *add_inside; /* added from inside the first ready call, when set */
    char keys[REC_MAX][64];
    double at[REC_MAX]; /* seconds after t0 */
    double waited[REC_MAX];
};

static void rec_ready(void *ud)
{
    struct recorder *r = ud;
    const char *key;
    double waited;

    assert_int_equal(r->depth, 0);
    r->depth++;
    r->calls++;
    while ((key = tt_queue_pop(r->q, &waited)) != NULL) {
        if (r->n < REC_MAX) {
            snprintf(r->keys[r->n], sizeof(r->keys[r->n]), "%s", key);
            r->at[r->n] = now_s() - r->t0;
            r->waited[r->n] = waited;
        }
        r->n++;
        assert_int_equal(tt_queue_done(r->q, key), TT_OK);
    }
    /* An add from inside ready must not call ready from inside the add (depth is 1 here). */
    if (r->add_inside != NULL && r->calls == 1)
        assert_int_equal(tt_queue_add(r->q, r->add_inside), TT_OK);
    r->depth--;
}

static void rec_init(struct recorder *r, tt_queue *q)
{
    memset(r, 0, sizeof(*r));
    r->q = q;
    r->t0 = now_s();
    tt_queue_set_ready(q, rec_ready, r);
}

struct count_goal {
    const int *count;
    int goal;
};

static int reached(void *arg)
{
    const struct count_goal *g = arg;

    return *g->count >= g->goal;
}

static void run_until_popped(struct fixture *f, struct recorder *r, int goal, double timeout)
{
    struct count_goal g = {&r->n, goal};

    run_until(f->loop, reached, &g, timeout);
}

/* ---- de-duplication and the processing set ---- */

static void add_deduplicates_waiting_keys(void **state)
{
    struct fixture *f = *state;
    tt_queue_stats st;
    char longkey[TT_QUEUE_KEY_MAX + 2];

    for (int i = 0; i < 5; i++)
        assert_int_equal(tt_queue_add(f->q, "Alarm/ns/a"), TT_OK);
    assert_int_equal(tt_queue_add(f->q, "Alarm/ns/b"), TT_OK);
    assert_int_equal(tt_queue_add(f->q, "Alarm/ns/a"), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 2);
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.adds, 2);
    assert_int_equal(st.keys, 2);

    /* FIFO: a re-add does not move a waiting key to the back. */
    assert_string_equal(tt_queue_pop(f->q, NULL), "Alarm/ns/a");
    assert_string_equal(tt_queue_pop(f->q, NULL), "Alarm/ns/b");
    assert_null(tt_queue_pop(f->q, NULL));
    assert_int_equal(tt_queue_processing_len(f->q), 2);

    assert_int_equal(tt_queue_add(f->q, NULL), TT_EINVAL);
    assert_int_equal(tt_queue_add(f->q, ""), TT_EINVAL);
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(tt_queue_add(f->q, longkey), TT_ELIMIT);
    longkey[TT_QUEUE_KEY_MAX] = '\0';
    assert_int_equal(tt_queue_add(f->q, longkey), TT_OK);
}

static void key_is_copied(void **state)
{
    struct fixture *f = *state;
    char key[32] = "Budget/ns/x";

    assert_int_equal(tt_queue_add(f->q, key), TT_OK);
    strcpy(key, "garbage");
    assert_string_equal(tt_queue_pop(f->q, NULL), "Budget/ns/x");
}

static void never_two_at_once_and_rerun_exactly_once(void **state)
{
    struct fixture *f = *state;
    const char *k;
    tt_queue_stats st;

    assert_int_equal(tt_queue_add(f->q, "A/ns/x"), TT_OK);
    k = tt_queue_pop(f->q, NULL);
    assert_string_equal(k, "A/ns/x");

    /* Added three times while processing: not handed out again before done. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(tt_queue_add(f->q, "A/ns/x"), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 0);
    assert_int_equal(tt_queue_processing_len(f->q), 1);
    assert_null(tt_queue_pop(f->q, NULL));

    /* `k` is the queue's own string; passing it to done is the normal use. */
    assert_int_equal(tt_queue_done(f->q, k), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 1);
    k = tt_queue_pop(f->q, NULL);
    assert_string_equal(k, "A/ns/x");
    assert_null(tt_queue_pop(f->q, NULL));
    assert_int_equal(tt_queue_done(f->q, k), TT_OK);

    /* Exactly once more: nothing is left, and the key's record is gone. */
    assert_int_equal(tt_queue_len(f->q), 0);
    assert_int_equal(tt_queue_processing_len(f->q), 0);
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(st.adds, 2);

    assert_int_equal(tt_queue_done(f->q, "A/ns/x"), TT_EINVAL);
    assert_int_equal(tt_queue_done(f->q, "never/seen/key"), TT_EINVAL);
    assert_int_equal(tt_queue_done(f->q, NULL), TT_EINVAL);
}

static void ready_comes_from_the_loop_coalesced(void **state)
{
    struct fixture *f = *state;
    struct recorder r;

    rec_init(&r, f->q);
    r.add_inside = "late/ns/e";
    assert_int_equal(tt_queue_add(f->q, "a/ns/a"), TT_OK);
    assert_int_equal(tt_queue_add(f->q, "a/ns/b"), TT_OK);
    assert_int_equal(tt_queue_add(f->q, "a/ns/c"), TT_OK);
    assert_int_equal(r.calls, 0); /* never from inside add */

    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(r.calls, 1); /* three adds, one notification */
    assert_int_equal(r.n, 3);
    assert_int_equal(tt_queue_len(f->q), 1); /* "late/ns/e", added from inside ready */

    run_until_popped(f, &r, 4, 1.0);
    assert_int_equal(r.calls, 2);
    assert_string_equal(r.keys[3], "late/ns/e");

    /* Nothing new: no spurious call, and the queue's timer is idle so ev_run returns. */
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(r.calls, 2);
    ev_run(f->loop, 0);
    assert_int_equal(r.calls, 2);
}

static void done_of_a_dirty_key_notifies(void **state)
{
    struct fixture *f = *state;
    struct recorder r;
    const char *k;

    rec_init(&r, f->q);
    assert_int_equal(tt_queue_add(f->q, "k/ns/a"), TT_OK);
    k = tt_queue_pop(f->q, NULL);
    assert_int_equal(tt_queue_add(f->q, "k/ns/a"), TT_OK);
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(r.calls, 0); /* still processing: nothing to announce */
    assert_int_equal(tt_queue_done(f->q, k), TT_OK);
    assert_int_equal(r.calls, 0); /* not from inside done either */
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(r.calls, 1); /* the key waiting again is announced from the loop */
    assert_int_equal(r.n, 1);
}

static void queue_latency_is_measured_from_add(void **state)
{
    struct fixture *f = *state;
    double waited = -1;

    assert_int_equal(tt_queue_add(f->q, "a/ns/slow"), TT_OK);
    ev_sleep(0.02);
    assert_string_equal(tt_queue_pop(f->q, &waited), "a/ns/slow");
    assert_true(waited >= 0.02);
    assert_true(waited < 1.0);
}

/* ---- an engine with bounded concurrency on the loop ---- */

#define ENG_KEYS  20
#define ENG_LIMIT 3

struct engine;
struct job {
    ev_timer timer; /* the reconcile "takes" a few milliseconds */
    struct engine *e;
    const char *key; /* the queue's string, valid until done */
    int idx;
};

struct engine {
    struct ev_loop *loop;
    tt_queue *q;
    struct job jobs[ENG_LIMIT];
    int used[ENG_LIMIT];
    int inflight;
    int max_inflight;
    int busy[ENG_KEYS];
    int runs[ENG_KEYS];
    int finished; /* reconciles completed */
};

static void engine_pump(struct engine *e);

static void job_finish(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct job *j = w->data;
    struct engine *e = j->e;

    (void)loop;
    (void)revents;
    e->busy[j->idx] = 0;
    assert_int_equal(tt_queue_done(e->q, j->key), TT_OK);
    e->used[j - e->jobs] = 0;
    e->inflight--;
    e->finished++;
    /* A finished reconcile frees a slot: the engine pops again without waiting for ready. */
    engine_pump(e);
}

static void engine_pump(struct engine *e)
{
    while (e->inflight < ENG_LIMIT) {
        const char *key = tt_queue_pop(e->q, NULL);
        struct job *j;
        int idx, slot = 0;

        if (key == NULL)
            break;
        assert_int_equal(sscanf(key, "Alarm/ns/k%d", &idx), 1);
        assert_true(idx >= 0 && idx < ENG_KEYS);
        assert_false(e->busy[idx]); /* never two at once */
        e->busy[idx] = 1;
        e->runs[idx]++;
        /* inflight < ENG_LIMIT, so a free slot exists. */
        while (slot < ENG_LIMIT - 1 && e->used[slot])
            slot++;
        assert_false(e->used[slot]);
        e->used[slot] = 1;
        j = &e->jobs[slot];
        j->e = e;
        j->key = key;
        j->idx = idx;
        ev_timer_init(&j->timer, job_finish, 0.002, 0.0);
        j->timer.data = j;
        ev_timer_start(e->loop, &j->timer);
        e->inflight++;
        if (e->inflight > e->max_inflight)
            e->max_inflight = e->inflight;
        /* On its first run every key is changed three more times while it is processing. */
        if (e->runs[idx] == 1) {
            for (int n = 0; n < 3; n++)
                assert_int_equal(tt_queue_add(e->q, key), TT_OK);
        }
    }
}

static void engine_ready(void *ud)
{
    engine_pump(ud);
}

static int engine_idle(void *arg)
{
    const struct engine *e = arg;

    return e->finished >= 2 * ENG_KEYS;
}

static void engine_respects_concurrency_and_processing_set(void **state)
{
    struct fixture *f = *state;
    struct engine e;
    char key[32];

    memset(&e, 0, sizeof(e));
    e.loop = f->loop;
    e.q = f->q;
    tt_queue_set_ready(f->q, engine_ready, &e);
    for (int i = 0; i < ENG_KEYS; i++) {
        snprintf(key, sizeof(key), "Alarm/ns/k%d", i);
        assert_int_equal(tt_queue_add(f->q, key), TT_OK);
        assert_int_equal(tt_queue_add(f->q, key), TT_OK);
    }
    run_until(f->loop, engine_idle, &e, 5.0);
    run_for(f->loop, 0.02); /* and nothing more runs afterwards */

    assert_int_equal(e.max_inflight, ENG_LIMIT);
    assert_int_equal(e.finished, 2 * ENG_KEYS);
    for (int i = 0; i < ENG_KEYS; i++)
        assert_int_equal(e.runs[i], 2); /* once, then exactly once more for the adds meanwhile */
    assert_int_equal(tt_queue_len(f->q), 0);
    assert_int_equal(tt_queue_processing_len(f->q), 0);
}

/* ---- delayed adds ---- */

static void add_after_orders_by_time(void **state)
{
    struct fixture *f = *state;
    struct recorder r;

    rec_init(&r, f->q);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/c", 0.06), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/a", 0.02), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/b", 0.04), TT_OK);
    assert_int_equal(tt_queue_delayed_len(f->q), 3);
    assert_int_equal(tt_queue_len(f->q), 0);

    run_until_popped(f, &r, 3, 2.0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.keys[0], "k/ns/a");
    assert_string_equal(r.keys[1], "k/ns/b");
    assert_string_equal(r.keys[2], "k/ns/c");
    assert_true(r.at[0] >= 0.02);
    assert_true(r.at[1] >= 0.04);
    assert_true(r.at[2] >= 0.06);
    /* Latency counts from the moment the delay elapsed, not from the add_after call. */
    assert_true(r.waited[2] < 0.05);
    assert_int_equal(tt_queue_delayed_len(f->q), 0);

    assert_int_equal(tt_queue_add_after(f->q, "k/ns/d", NAN), TT_EINVAL);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/d", INFINITY), TT_EINVAL);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/d", 0), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 1); /* no delay: waiting at once */
    assert_int_equal(tt_queue_delayed_len(f->q), 0);
}

/* Many delayed keys added in scrambled order come out in due order: the heap keeps order. */
static void add_after_many_come_out_in_due_order(void **state)
{
    struct fixture *f = *state;
    struct recorder r;
    char key[32];
    int n = 60;

    rec_init(&r, f->q);
    for (int i = 0; i < n; i++) {
        int slot = (i * 37) % n; /* 37 is coprime with 60: a permutation */

        snprintf(key, sizeof(key), "k/ns/%02d", slot);
        assert_int_equal(tt_queue_add_after(f->q, key, 0.001 * (slot + 1)), TT_OK);
    }
    run_until_popped(f, &r, n, 2.0);
    assert_int_equal(r.n, n);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k/ns/%02d", i);
        assert_string_equal(r.keys[i], key);
    }
}

static void add_after_earliest_wins(void **state)
{
    struct fixture *f = *state;
    struct recorder r;

    rec_init(&r, f->q);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/x", 0.5), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/x", 0.02), TT_OK); /* earlier: moves up */
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/y", 0.02), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/y", 0.5), TT_OK); /* later: ignored */
    assert_int_equal(tt_queue_delayed_len(f->q), 2);
    assert_true(tt_queue_due_in(f->q, "k/ns/x") <= 0.02);
    assert_true(tt_queue_due_in(f->q, "k/ns/y") <= 0.02);
    assert_true(tt_queue_due_in(f->q, "k/ns/none") < 0);

    run_until_popped(f, &r, 2, 2.0);
    assert_int_equal(r.n, 2);
    assert_true(r.at[0] < 0.4 && r.at[1] < 0.4);
    /* Each key had one delayed entry: nothing fires at 0.5 s. */
    run_for(f->loop, 0.6);
    assert_int_equal(r.n, 2);
    assert_int_equal(tt_queue_delayed_len(f->q), 0);
    assert_true(tt_queue_due_in(f->q, "k/ns/x") < 0);
}

static void add_after_is_independent_of_waiting(void **state)
{
    struct fixture *f = *state;
    struct recorder r;

    /* As in client-go: a requeue-after still fires after the key ran for another reason. */
    assert_int_equal(tt_queue_add(f->q, "k/ns/z"), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/z", 0.03), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 1);
    assert_int_equal(tt_queue_delayed_len(f->q), 1);
    rec_init(&r, f->q);
    run_until_popped(f, &r, 2, 2.0);
    assert_int_equal(r.n, 2);
    assert_true(r.at[0] < 0.03);
    assert_true(r.at[1] >= 0.03);
}

/* ---- per-item exponential backoff ---- */

static void backoff_sequence_is_capped(void **state)
{
    (void)state;
    assert_true(fabs(tt_queue_backoff(0) - 0.005) < 1e-12);
    assert_true(fabs(tt_queue_backoff(1) - 0.010) < 1e-12);
    assert_true(fabs(tt_queue_backoff(2) - 0.020) < 1e-12);
    assert_true(fabs(tt_queue_backoff(3) - 0.040) < 1e-12);
    assert_true(fabs(tt_queue_backoff(17) - 655.36) < 1e-9);
    assert_true(tt_queue_backoff(18) == 1000.0); /* 1310.72 s, capped */
    assert_true(tt_queue_backoff(64) == 1000.0);
    assert_true(tt_queue_backoff(1000) == 1000.0);
    assert_true(tt_queue_backoff(~0u) == 1000.0);
}

static void rate_limited_backs_off_and_forget_resets(void **state)
{
    struct fixture *f = *state;
    struct recorder r;
    const char *key = "Alarm/ns/flaky";
    tt_queue_stats st;

    rec_init(&r, f->q);
    for (unsigned i = 0; i < 5; i++) {
        double expect = 0.005 * (double)(1u << i), t, due, got;

        assert_int_equal(tt_queue_failures(f->q, key), i);
        t = now_s();
        assert_int_equal(tt_queue_add_rate_limited(f->q, key), TT_OK);
        due = tt_queue_due_in(f->q, key);
        assert_true(due <= expect && due > expect - 0.002);
        run_until_popped(f, &r, (int)i + 1, 2.0);
        got = now_s() - t;
        assert_int_equal(r.n, (int)i + 1);
        assert_true(got >= expect);
        assert_true(got < expect + 0.25);
    }
    assert_int_equal(tt_queue_failures(f->q, key), 5);
    /* The key is idle now, but its failure count keeps its record alive until forget. */
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.keys, 1);
    assert_int_equal(st.retries, 5);

    tt_queue_forget(f->q, key);
    assert_int_equal(tt_queue_failures(f->q, key), 0);
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(tt_queue_add_rate_limited(f->q, key), TT_OK);
    assert_true(tt_queue_due_in(f->q, key) <= 0.005);

    /* Many failures in a row: the count keeps rising, the pending retry stays the earliest. */
    for (int i = 0; i < 30; i++)
        assert_int_equal(tt_queue_add_rate_limited(f->q, key), TT_OK);
    assert_int_equal(tt_queue_failures(f->q, key), 31);
    assert_int_equal(tt_queue_delayed_len(f->q), 1);
    assert_true(tt_queue_due_in(f->q, key) <= 0.005);
    tt_queue_forget(f->q, "never/seen/key");
    tt_queue_forget(f->q, NULL);
    assert_int_equal(tt_queue_failures(f->q, NULL), 0);
}

/* ---- resync spread ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

#define RS_N 1000

static const char *const rs_kinds[] = {"Alarm", "Budget", "ScalingPolicy"};

typedef char rs_key[48];

static rs_key *rs_keys(void)
{
    rs_key *keys = calloc(RS_N, sizeof(*keys));

    assert_non_null(keys);
    for (int i = 0; i < RS_N; i++)
        snprintf(keys[i], sizeof(keys[i]), "%s/ns-%d/name-%04d", rs_kinds[i % 3], i % 7, i);
    return keys;
}

/*
 * Each key's resync offset from the slot-0 key, which was made waiting at once. Offsets are
 * absolute due times (due_in plus the clock read around it) minus the earliest, so the time the
 * measuring loop takes (long under valgrind) does not blur them; a reading the scheduler
 * interrupted (clock reads more than 0.1 ms apart) is taken again.
 */
static void resync_offsets(const tt_queue *q, const rs_key *keys, double slot, double *out)
{
    double base = INFINITY;

    for (int i = 0; i < RS_N; i++) {
        double t0, t1, d;
        int tries = 0;

        do {
            t0 = now_s();
            d = tt_queue_due_in(q, keys[i]);
            t1 = now_s();
        } while (t1 - t0 > 1e-4 && ++tries < 1000);
        out[i] = d < 0 ? -1.0 : d + (t0 + t1) / 2;
        if (d >= 0 && out[i] < base)
            base = out[i];
    }
    for (int i = 0; i < RS_N; i++) {
        /* A key without a delayed add is the slot-0 key, made waiting at once. */
        out[i] = out[i] >= 0 ? out[i] - base + slot : 0.0;
    }
}

static void resync_spreads_evenly_and_stably(void **state)
{
    struct fixture *f = *state;
    rs_key *keys = rs_keys();
    const char *ptrs[RS_N];
    double *due = calloc(RS_N, sizeof(*due)), *again = calloc(RS_N, sizeof(*again));
    double *sorted = calloc(RS_N, sizeof(*sorted));
    /* Slots a second apart, so no key falls due (and reads as 0) while it is measured. */
    const double period = 1000.0, slot = period / RS_N;
    tt_queue *q2;

    assert_non_null(due);
    assert_non_null(again);
    assert_non_null(sorted);
    for (int i = 0; i < RS_N; i++)
        ptrs[i] = keys[i];
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, RS_N, period, 1), TT_OK);
    /* The first slot is now; every other key waits for its slot. */
    assert_int_equal(tt_queue_len(f->q), 1);
    assert_int_equal(tt_queue_delayed_len(f->q), RS_N - 1);
    resync_offsets(f->q, keys, slot, due);
    memcpy(sorted, due, RS_N * sizeof(*sorted));
    qsort(sorted, RS_N, sizeof(*sorted), cmp_double);
    /* n keys across the period, one slot apart: none bunched, nothing past the period. */
    assert_true(sorted[0] == 0.0);
    for (int i = 1; i < RS_N; i++)
        assert_true(fabs(sorted[i] - sorted[i - 1] - slot) < 0.001);
    assert_true(fabs(sorted[RS_N - 1] - (period - slot)) < 0.001);
    for (int i = 0; i < RS_N; i++)
        assert_true(tt_queue_due_in(f->q, keys[i]) < period);

    /* Stable per key: another queue given the keys in reverse order puts each in its slot. */
    q2 = tt_queue_create(f->loop);
    assert_non_null(q2);
    for (int i = 0; i < RS_N; i++)
        ptrs[i] = keys[RS_N - 1 - i];
    assert_int_equal(tt_queue_resync_spread(q2, ptrs, NULL, RS_N, period, 1), TT_OK);
    resync_offsets(q2, keys, slot, again);
    for (int i = 0; i < RS_N; i++)
        assert_true(fabs(again[i] - due[i]) < 0.001);
    tt_queue_destroy(q2);

    /* A bad key anywhere in the list schedules nothing. */
    ptrs[5] = NULL;
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, RS_N, period, 1), TT_EINVAL);
    assert_int_equal(tt_queue_delayed_len(f->q), RS_N - 1);
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 3, -1.0, 1), TT_EINVAL);
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 3, NAN, 1), TT_EINVAL);
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 3, period, 0), TT_EINVAL);
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 0, period, 1), TT_OK);
    free(keys);
    free(due);
    free(again);
    free(sorted);
}

static void resync_waves_group_by_kind(void **state)
{
    struct fixture *f = *state;
    rs_key *keys = rs_keys();
    const char *ptrs[30];

    /* 30 keys, 10 of each kind, waves of 10 over 3 s: one kind per wave, one second apart. */
    for (int i = 0; i < 30; i++)
        ptrs[i] = keys[i];
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 30, 3.0, 10), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 10);
    assert_int_equal(tt_queue_delayed_len(f->q), 20);
    for (int i = 0; i < 30; i++) {
        double d = tt_queue_due_in(f->q, ptrs[i]);

        if (i % 3 == 0)
            assert_true(d < 0); /* Alarm: the first wave, waiting now */
        else if (i % 3 == 1)
            assert_true(fabs(d - 1.0) < 0.01); /* Budget */
        else
            assert_true(fabs(d - 2.0) < 0.01); /* ScalingPolicy */
    }
    for (int i = 0; i < 10; i++)
        assert_true(strncmp(tt_queue_pop(f->q, NULL), "Alarm/", 6) == 0);
    free(keys);
}

/*
 * The caller's groups order the waves (the engine groups ECS services by cluster so a wave
 * fills DescribeServices' ten), and a period of 0 adds every key now in that order.
 */
static void resync_waves_follow_groups(void **state)
{
    struct fixture *f = *state;
    rs_key *keys = rs_keys();
    const char *ptrs[40], *groups[40], *seen[40];
    static const char *const clusters[] = {"ScalingPolicy|ecs|eu-west-1|blue",
                                           "ScalingPolicy|ecs|eu-west-1|green"};

    /* 40 keys of three kinds alternating between two groups: waves of 20 over 2 s. */
    for (int i = 0; i < 40; i++) {
        ptrs[i] = keys[i];
        groups[i] = clusters[i % 2];
    }
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, groups, 40, 2.0, 20), TT_OK);
    for (int i = 0; i < 40; i++) {
        double d = tt_queue_due_in(f->q, ptrs[i]);
        if (i % 2 == 0)
            assert_true(d < 0); /* blue: the first wave, waiting now */
        else
            assert_true(fabs(d - 1.0) < 0.01); /* green: one second later */
    }
    tt_queue_destroy(f->q);
    f->q = tt_queue_create(f->loop);
    assert_non_null(f->q);

    /* Period 0: everything waits now, popped group by group. */
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, groups, 40, 0.0, 1), TT_OK);
    assert_int_equal(tt_queue_len(f->q), 40);
    assert_int_equal(tt_queue_delayed_len(f->q), 0);
    for (int i = 0; i < 40; i++) {
        const char *k = tt_queue_pop(f->q, NULL);
        int idx;
        assert_non_null(k);
        seen[i] = k;
        idx = atoi(strrchr(k, '-') + 1);
        assert_int_equal(idx % 2, i < 20 ? 0 : 1);
    }
    for (int i = 0; i < 40; i++)
        assert_int_equal(tt_queue_done(f->q, seen[i]), TT_OK);
    groups[7] = NULL;
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, groups, 40, 1.0, 1), TT_EINVAL);
    assert_int_equal(tt_queue_len(f->q), 0);
    free(keys);
}

#define TR_N 300

struct trickle {
    tt_queue *q;
    double t0;
    int n;
    int calls;
    double at[TR_N]; /* seconds after t0 */
};

static void trickle_ready(void *ud)
{
    struct trickle *t = ud;
    const char *key;

    t->calls++;
    while ((key = tt_queue_pop(t->q, NULL)) != NULL) {
        assert_true(t->n < TR_N);
        t->at[t->n++] = now_s() - t->t0;
        assert_int_equal(tt_queue_done(t->q, key), TT_OK);
    }
}

static int trickle_done(void *arg)
{
    const struct trickle *t = arg;

    return t->n >= TR_N;
}

static void resync_trickles_on_the_loop(void **state)
{
    struct fixture *f = *state;
    rs_key *keys = rs_keys();
    const char *ptrs[TR_N];
    struct trickle *t = calloc(1, sizeof(*t));
    const double period = 0.3;
    int buckets[10] = {0}, nonempty = 0;

    assert_non_null(t);
    t->q = f->q;
    tt_queue_set_ready(f->q, trickle_ready, t);
    for (int i = 0; i < TR_N; i++)
        ptrs[i] = keys[i];
    t->t0 = now_s();
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, TR_N, period, 1), TT_OK);
    run_until(f->loop, trickle_done, t, 3.0);
    assert_int_equal(t->n, TR_N);
    for (int i = 0; i < TR_N; i++) {
        int b = (int)(t->at[i] / (period / 10));

        buckets[b < 10 ? b : 9]++;
    }
    /*
     * A trickle, not a burst: each tenth of the period gets about 30 keys (the exact spacing is
     * checked above; here loop jitter is allowed), the last key comes near the period's end,
     * and the keys arrive over many separate callbacks.
     */
    for (int b = 0; b < 10; b++) {
        assert_true(buckets[b] <= 150);
        nonempty += buckets[b] > 0;
    }
    assert_true(nonempty >= 7);
    assert_true(t->at[TR_N - 1] >= period * (TR_N - 1) / TR_N);
    assert_true(t->calls >= 30);
    free(t);
    free(keys);
}

/* ---- shutdown and destroy ---- */

static void shut_down_stops_handing_out(void **state)
{
    struct fixture *f = *state;
    struct recorder r;
    const char *a, *ptrs[1] = {"k/ns/r"};
    double t;

    assert_int_equal(tt_queue_add(f->q, "k/ns/a"), TT_OK);
    assert_int_equal(tt_queue_add(f->q, "k/ns/b"), TT_OK);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/c", 0.2), TT_OK);
    a = tt_queue_pop(f->q, NULL);
    assert_string_equal(a, "k/ns/a");
    assert_int_equal(tt_queue_add(f->q, "k/ns/a"), TT_OK); /* dirty while processing */

    tt_queue_shut_down(f->q);
    tt_queue_shut_down(f->q); /* idempotent */
    assert_true(tt_queue_shutting_down(f->q));
    assert_null(tt_queue_pop(f->q, NULL));
    assert_int_equal(tt_queue_add(f->q, "k/ns/d"), TT_ECANCELLED);
    assert_int_equal(tt_queue_add_after(f->q, "k/ns/d", 0.01), TT_ECANCELLED);
    assert_int_equal(tt_queue_add_rate_limited(f->q, "k/ns/d"), TT_ECANCELLED);
    assert_int_equal(tt_queue_resync_spread(f->q, ptrs, NULL, 1, 1.0, 1), TT_ECANCELLED);

    /* Keys in flight can still finish; a dirty one is not handed out again. */
    assert_int_equal(tt_queue_processing_len(f->q), 1);
    assert_int_equal(tt_queue_done(f->q, a), TT_OK);
    assert_int_equal(tt_queue_processing_len(f->q), 0);
    assert_null(tt_queue_pop(f->q, NULL));

    /* No notification, and the timer is stopped: ev_run returns without waiting for "c". */
    rec_init(&r, f->q);
    t = now_s();
    ev_run(f->loop, 0);
    assert_true(now_s() - t < 0.1);
    assert_int_equal(r.calls, 0);
}

static void destroy_stops_the_timer(void **state)
{
    struct fixture *f = *state;
    tt_queue *q = tt_queue_create(f->loop);
    double t;

    assert_non_null(q);
    assert_int_equal(tt_queue_add_after(q, "k/ns/a", 0.2), TT_OK);
    assert_int_equal(tt_queue_add(q, "k/ns/b"), TT_OK);
    assert_non_null(tt_queue_pop(q, NULL)); /* destroyed while processing: still freed */
    tt_queue_destroy(q);
    tt_queue_destroy(NULL);
    t = now_s();
    ev_run(f->loop, 0); /* returns at once: no watcher of the freed queue is left on the loop */
    assert_true(now_s() - t < 0.1);
}

/* ---- scale ---- */

#define BIG_N 10000

static void big_ready(void *ud)
{
    struct recorder *r = ud;
    const char *key;

    while ((key = tt_queue_pop(r->q, NULL)) != NULL) {
        r->n++;
        assert_int_equal(tt_queue_done(r->q, key), TT_OK);
    }
}

/*
 * 10,000 keys "Alarm/namespace-N/alarm-name-NNNNN" (34 bytes), all waiting and all delayed,
 * then drained. Memory, measured on x86-64 glibc 2.36 (gcc -O2): tt_queue_get_stats reports
 * 1,092,336 bytes, 109 per key: 10,000 items of 84 bytes (a 48-byte record with the key inline),
 * a 16,384-slot table and a 16,384-slot heap of 8-byte pointers (128 KiB each). malloc itself
 * grew by 1,233,760 bytes (mallinfo2: 963,424 in uordblks, 96-byte chunks per item, plus
 * 270,336 mmapped for the two arrays), 123 per key. The test keeps a bound of 160 bytes per key
 * so a change that bloats the record fails, and checks that the arrays shrink once drained.
 */
static void ten_thousand_keys(void **state)
{
    struct fixture *f = *state;
    struct recorder r;
    tt_queue_stats st;
    char key[64];
    const char *k;
    int n = 0;

    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < BIG_N; i++) {
            snprintf(key, sizeof(key), "Alarm/namespace-%d/alarm-name-%05d", i % 10, i);
            assert_int_equal(tt_queue_add(f->q, key), TT_OK);
        }
    }
    assert_int_equal(tt_queue_len(f->q), BIG_N);
    for (int i = 0; i < BIG_N; i++) {
        snprintf(key, sizeof(key), "Alarm/namespace-%d/alarm-name-%05d", i % 10, i);
        assert_int_equal(tt_queue_add_after(f->q, key, 0.001 * (i % 50) + 0.001), TT_OK);
    }
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.keys, BIG_N);
    assert_int_equal(st.adds, BIG_N);
    assert_int_equal(st.waiting, BIG_N);
    assert_int_equal(st.delayed, BIG_N);
    assert_true(st.bytes < (size_t)BIG_N * 160);
    print_message("queue memory for %d keys waiting and delayed: %zu bytes (%zu per key)\n", BIG_N,
                  st.bytes, st.bytes / BIG_N);

    /* All handed out once, in FIFO order, none twice. */
    while ((k = tt_queue_pop(f->q, NULL)) != NULL) {
        snprintf(key, sizeof(key), "Alarm/namespace-%d/alarm-name-%05d", n % 10, n);
        assert_string_equal(k, key);
        n++;
    }
    assert_int_equal(n, BIG_N);
    assert_int_equal(tt_queue_processing_len(f->q), BIG_N);
    for (int i = 0; i < BIG_N; i++) {
        snprintf(key, sizeof(key), "Alarm/namespace-%d/alarm-name-%05d", i % 10, i);
        assert_int_equal(tt_queue_done(f->q, key), TT_OK);
    }

    /* Then the delayed adds fire through the one timer and every key runs once more. */
    rec_init(&r, f->q);
    tt_queue_set_ready(f->q, big_ready, &r);
    run_until_popped(f, &r, BIG_N, 10.0);
    assert_int_equal(r.n, BIG_N);
    tt_queue_get_stats(f->q, &st);
    assert_int_equal(st.keys, 0);
    assert_int_equal(st.delayed, 0);
    assert_int_equal(st.adds, 2 * BIG_N);
    /* Drained, the queue gives its table and heap back down to their smallest (64 slots). */
    assert_true(st.bytes < 2048);
}

/* ---- the queue against a reference model, many random operations ---- */

#define MODEL_KEYS 300

struct model {
    int dirty[MODEL_KEYS];
    int processing[MODEL_KEYS];
    int delayed[MODEL_KEYS];
    unsigned failures[MODEL_KEYS];
    int fifo[MODEL_KEYS]; /* waiting keys in order; each at most once */
    int head, len;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void model_push(struct model *m, int k)
{
    m->fifo[(m->head + m->len) % MODEL_KEYS] = k;
    m->len++;
}

static void model_add(struct model *m, int k)
{
    if (m->dirty[k])
        return;
    m->dirty[k] = 1;
    if (!m->processing[k])
        model_push(m, k);
}

static void matches_reference_model(void **state)
{
    struct fixture *f = *state;
    struct model *m = calloc(1, sizeof(*m));
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char key[32];

    assert_non_null(m);
    for (int step = 0; step < 200000; step++) {
        uint64_t r = rng_next(&seed);
        int k = (int)((r >> 8) % MODEL_KEYS), live = 0, processing = 0, delayed = 0;
        tt_queue_stats st;

        snprintf(key, sizeof(key), "Kind/ns/key-%d", k);
        switch (r % 6) {
        case 0:
        case 1:
            assert_int_equal(tt_queue_add(f->q, key), TT_OK);
            model_add(m, k);
            break;
        case 2: {
            const char *got = tt_queue_pop(f->q, NULL);

            if (m->len == 0) {
                assert_null(got);
                break;
            }
            k = m->fifo[m->head];
            m->head = (m->head + 1) % MODEL_KEYS;
            m->len--;
            snprintf(key, sizeof(key), "Kind/ns/key-%d", k);
            assert_non_null(got);
            assert_string_equal(got, key);
            m->dirty[k] = 0;
            m->processing[k] = 1;
            break;
        }
        case 3:
            assert_int_equal(tt_queue_done(f->q, key), m->processing[k] ? TT_OK : TT_EINVAL);
            if (m->processing[k]) {
                m->processing[k] = 0;
                if (m->dirty[k])
                    model_push(m, k);
            }
            break;
        case 4:
            /* Long delays: the loop never runs here, so they never fire. */
            if (r & 0x10000) {
                assert_int_equal(tt_queue_add_rate_limited(f->q, key), TT_OK);
                m->failures[k]++;
            } else {
                assert_int_equal(tt_queue_add_after(f->q, key, 3600.0), TT_OK);
            }
            m->delayed[k] = 1;
            break;
        default:
            tt_queue_forget(f->q, key);
            m->failures[k] = 0;
            break;
        }
        assert_int_equal(tt_queue_failures(f->q, key), m->failures[k]);
        if (step % 1000 != 0)
            continue;
        for (int i = 0; i < MODEL_KEYS; i++) {
            live += m->dirty[i] || m->processing[i] || m->delayed[i] || m->failures[i];
            processing += m->processing[i];
            delayed += m->delayed[i];
        }
        tt_queue_get_stats(f->q, &st);
        assert_int_equal(st.waiting, m->len);
        assert_int_equal(st.processing, processing);
        assert_int_equal(st.delayed, delayed);
        assert_int_equal(st.keys, live);
        /* Delayed entries never fire here; drop them now and then so records get freed. */
        if (step % 20000 == 0) {
            tt_queue_destroy(f->q);
            f->q = tt_queue_create(f->loop);
            assert_non_null(f->q);
            memset(m, 0, sizeof(*m));
        }
    }
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(add_deduplicates_waiting_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(key_is_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(never_two_at_once_and_rerun_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(ready_comes_from_the_loop_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(done_of_a_dirty_key_notifies, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_latency_is_measured_from_add, setup, teardown),
        cmocka_unit_test_setup_teardown(engine_respects_concurrency_and_processing_set, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(add_after_orders_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(add_after_many_come_out_in_due_order, setup, teardown),
        cmocka_unit_test_setup_teardown(add_after_earliest_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(add_after_is_independent_of_waiting, setup, teardown),
        cmocka_unit_test(backoff_sequence_is_capped),
        cmocka_unit_test_setup_teardown(rate_limited_backs_off_and_forget_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_spreads_evenly_and_stably, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_waves_group_by_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_waves_follow_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(resync_trickles_on_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(shut_down_stops_handing_out, setup, teardown),
        cmocka_unit_test_setup_teardown(destroy_stops_the_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(ten_thousand_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(matches_reference_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
