/*
 * Unit tests for the decision logic of reconcile/leader: flag validation, when a follower may
 * take the Lease (by its own clock, from when it first saw a record), when a leader must stop
 * writing, and the property that ties them: a leader's last write always comes before the
 * earliest moment a follower may take over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "leader.h"

static const tt_leader_config good = {"trimtab", "default", "a_1", 15, 10, 2};

static void test_validate(void **state)
{
    tt_leader_config c;
    tt_error err;

    (void)state;
    assert_int_equal(tt_leader_validate(&good, &err), TT_OK);
    c = good;
    c.renew_deadline = 15;
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "--renew-deadline"));
    c = good;
    c.retry_period = 9;
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "--retry-period"));
    c = good;
    c.retry_period = 0;
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    c = good;
    c.lease_duration = 2.5;
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    assert_non_null(strstr(err.message, "whole number of seconds"));
    c = good;
    c.name = "";
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    c = good;
    c.identity = NULL;
    assert_int_equal(tt_leader_validate(&c, &err), TT_EINVAL);
    /* The test suite's short settings are valid. */
    c = good;
    c.lease_duration = 3;
    c.renew_deadline = 2;
    c.retry_period = 0.5;
    assert_int_equal(tt_leader_validate(&c, &err), TT_OK);
}

static json_t *spec(const char *holder, int duration, const char *renew)
{
    return json_pack("{s:s,s:i,s:s,s:i}", "holderIdentity", holder, "leaseDurationSeconds",
                     duration, "renewTime", renew, "leaseTransitions", 1);
}

static void test_follower_waits_by_its_own_clock(void **state)
{
    tt_leader_state st = {0};
    json_t *s1 = spec("b_2", 3, "2030-01-01T00:00:00.000000Z");
    json_t *s2 = spec("b_2", 3, "2030-01-01T00:00:01.000000Z");

    (void)state;
    tt_leader_observe(&st, s1, 100.0);
    assert_string_equal(st.holder, "b_2");
    assert_int_equal(st.duration, 3);
    assert_int_equal(tt_leader_decide(&st, "a_1", 102.9), TT_LEADER_WAIT);
    /* The same record read again does not restart the clock... */
    tt_leader_observe(&st, s1, 102.0);
    assert_int_equal(tt_leader_decide(&st, "a_1", 103.0), TT_LEADER_ACQUIRE);
    /* ...a renewed one does, whatever its renewTime says about the wall clock. */
    tt_leader_observe(&st, s2, 102.5);
    assert_int_equal(tt_leader_decide(&st, "a_1", 105.4), TT_LEADER_WAIT);
    assert_int_equal(tt_leader_decide(&st, "a_1", 105.5), TT_LEADER_ACQUIRE);
    json_decref(s1);
    json_decref(s2);
}

static void test_free_own_and_missing(void **state)
{
    tt_leader_state st = {0};
    json_t *released = spec("", 1, "2030-01-01T00:00:00.000000Z");
    json_t *mine = spec("a_1", 15, "2030-01-01T00:00:00.000000Z");

    (void)state;
    tt_leader_observe(&st, released, 10);
    assert_int_equal(tt_leader_decide(&st, "a_1", 10), TT_LEADER_ACQUIRE);
    tt_leader_observe(&st, mine, 11);
    assert_int_equal(tt_leader_decide(&st, "a_1", 11), TT_LEADER_RENEW);
    assert_int_equal(tt_leader_decide(&st, "c_3", 11), TT_LEADER_WAIT);
    /* A Lease without a spec is free. */
    tt_leader_observe(&st, NULL, 12);
    assert_string_equal(st.holder, "");
    assert_int_equal(tt_leader_decide(&st, "c_3", 12), TT_LEADER_ACQUIRE);
    json_decref(released);
    json_decref(mine);
}

static void test_leader_deadline(void **state)
{
    tt_leader_state st = {0};

    (void)state;
    assert_false(tt_leader_may_write(&st, 0, 10));
    assert_true(tt_leader_renewed(&st, 50.0, 50.2, 10));
    assert_true(tt_leader_may_write(&st, 59.99, 10));
    assert_false(tt_leader_may_write(&st, 60.0, 10));
    /* A renewal answered after its own deadline is of no use. */
    assert_false(tt_leader_renewed(&st, 61.0, 71.0, 10));
    assert_false(st.leading);
    assert_false(tt_leader_may_write(&st, 61.5, 10));
    /* The deadline counts from when the renewal was sent, not when it was answered. */
    assert_true(tt_leader_renewed(&st, 80.0, 89.0, 10));
    assert_false(tt_leader_may_write(&st, 90.0, 10));
}

/*
 * The safety property, over a grid of timings: a renewal sent at T reaches the server at some
 * A >= T and a follower reads it at some R >= A. The leader writes only before T + deadline;
 * the follower takes over no earlier than R + duration. Different monotonic clocks only need to
 * tick at the same rate, so both are expressed on one axis here.
 */
static void test_no_overlap(void **state)
{
    tt_leader_config c = {"l", "ns", "a", 3, 2, 0.5};
    tt_error err;
    json_t *s = spec("a", 3, "2030-01-01T00:00:00.000000Z");

    (void)state;
    assert_int_equal(tt_leader_validate(&c, &err), TT_OK);
    for (double sent = 0; sent < 2; sent += 0.25) {
        for (double delay = 0; delay < 2.5; delay += 0.125) {
            tt_leader_state leader = {0}, follower = {0};
            double last_write = -1, takeover = -1;
            if (!tt_leader_renewed(&leader, sent, sent + delay, c.renew_deadline))
                continue;
            tt_leader_observe(&follower, s, sent + delay);
            for (double t = sent; t < sent + 10; t += 0.01) {
                if (tt_leader_may_write(&leader, t, c.renew_deadline))
                    last_write = t;
                if (takeover < 0 && tt_leader_decide(&follower, "b", t) == TT_LEADER_ACQUIRE)
                    takeover = t;
            }
            assert_true(last_write >= sent);
            assert_true(takeover > last_write);
        }
    }
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_follower_waits_by_its_own_clock),
        cmocka_unit_test(test_free_own_and_missing),
        cmocka_unit_test(test_leader_deadline),
        cmocka_unit_test(test_no_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
