/*
 * Unit tests for the pure diff of RDS instance ScalingPolicies (providers/rds.c): vertical scaling
 * along a ladder driven by alarm states, cooldowns, the ladder's ends, busy instances, classes
 * moved off the ladder, refused classes, and storage autoscaling. Time comes in through the
 * observation's "now", so every case picks its own clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_fixture.h"
#include "loader.h"
#include "plan.h"
#include "providers.h"

#define HEAD                                                                              \
    "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: orders-db, " \
    "namespace: shop}\n"

static const char *const ladder_spec =
    HEAD "spec:\n"
         "  target: {rds: {instance: orders-db}}\n"
         "  vertical:\n"
         "    ladder: [db.t4g.small, db.m5.large, db.m5.xlarge]\n"
         "    scaleUpOn: {alarm: writes-high}\n"
         "    scaleDownOn: {alarm: writes-low}\n"
         "    cooldown: 10m\n"
         "  storage: {maxAllocatedGiB: 200}\n";

#define UP   "trimtab-shop-writes-high"
#define DOWN "trimtab-shop-writes-low"
#define NOW  1000000.0

struct fixture {
    tt_manifest_set set;
    tt_resource *r;
    const tt_provider *p;
    json_t *observed;
    json_t *memo;
    tt_diff_output out;
    json_t *status;
};

/* An observation at NOW + `dt`: the instance (class, status, pending class or NULL) and the two
 * alarms' states (NULL: the alarm does not exist). */
static json_t *observation(const char *cls, const char *status, const char *pending, const char *up,
                           const char *down, double dt)
{
    json_t *o =
        json_pack("{s:{s:s,s:s,s:s,s:i,s:i,s:{}},s:{},s:f,s:f}", "instance", "DBInstanceIdentifier",
                  "orders-db", "DBInstanceClass", cls, "DBInstanceStatus", status,
                  "AllocatedStorage", 20, "MaxAllocatedStorage", 200, "PendingModifiedValues",
                  "alarms", "now", NOW + dt, "alarmPoll", 60.0);
    json_t *alarms = json_object_get(o, "alarms");

    if (pending != NULL)
        json_object_set_new(
            json_object_get(json_object_get(o, "instance"), "PendingModifiedValues"),
            "DBInstanceClass", json_string(pending));
    if (up != NULL)
        json_object_set_new(alarms, UP, json_pack("{s:s}", "state", up));
    if (down != NULL)
        json_object_set_new(alarms, DOWN, json_pack("{s:s}", "state", down));
    return o;
}

static void load(struct fixture *f, const char *yaml, json_t *observed, const char *memo)
{
    memset(f, 0, sizeof(*f));
    f->r = fx_load_one(&f->set, yaml, "rds", &f->p);
    f->observed = observed;
    f->memo = memo ? json_loads(memo, 0, NULL) : NULL;
    if (memo != NULL)
        assert_non_null(f->memo);
}

static void diff(struct fixture *f)
{
    tt_diff_input in = {f->r, f->observed, f->memo, NULL, "eu-central-1", NULL};
    tt_error err;

    f->out.plan = tt_plan_new();
    assert_int_equal(f->p->diff(&in, &f->out, &err), TT_OK);
    f->status = json_object();
    f->p->status(&in, f->status);
}

static void release(struct fixture *f)
{
    json_decref(f->observed);
    json_decref(f->memo);
    json_decref(f->out.plan);
    json_decref(f->out.memo);
    json_decref(f->status);
    tt_manifest_set_cleanup(&f->set);
}

static const json_t *input_of(const struct fixture *f)
{
    return json_object_get(json_object_get(json_array_get(f->out.plan, 0), "call"), "input");
}

/* The class the plan moves to, or NULL when it does not move. */
static const char *moves_to(const struct fixture *f)
{
    return json_string_value(json_object_get(input_of(f), "DBInstanceClass"));
}

/* A memo whose last step went to `to` at NOW + dt and completed at NOW + done. */
static char *memo_done(const char *from, const char *to, double dt, double done)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"lastStep\": {\"time\": %f, \"from\": \"%s\", \"to\": \"%s\", \"cause\": \"c\","
             " \"doneAt\": %f}, \"attempts\": []}",
             NOW + dt, from, to, NOW + done);
    return buf;
}

static void quiet_alarms_no_plan_and_aligned_requeue(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "OK", "OK", 17), NULL);
    diff(&f);
    assert_null(f.out.blocked);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    /* NOW + 17 = 1000017; the next multiple of 60 is 1000020: 3 s away. */
    assert_true(f.out.requeue_after > 2.99 && f.out.requeue_after < 3.01);
    assert_string_equal(json_string_value(json_object_get(f.status, "currentClass")),
                        "db.m5.large");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(f.status, "ladderPosition"), "index")),
        1);
    release(&f);
}

/* The observation with the instance's ARN and, unless NULL, an owner tag. */
static json_t *tagged(const char *owner)
{
    json_t *o = observation("db.t4g.small", "available", NULL, "OK", "OK", 0);
    json_t *inst = json_object_get(o, "instance");

    json_object_set_new(inst, "DBInstanceArn",
                        json_string("arn:aws:rds:eu-central-1:123456789012:db:orders-db"));
    json_object_set_new(inst, "TagList",
                        owner ? json_pack("[{s:s,s:s},{s:s,s:s}]", "Key", "team", "Value", "data",
                                          "Key", "trimtab.dev/owner", "Value", owner)
                              : json_array());
    return o;
}

/* An untagged instance is claimed (no spec.adopt: trimtab did not create it); its own tag is
 * quiet; another resource's tag blocks everything. */
static void one_policy_per_instance(void **state)
{
    struct fixture f;
    const json_t *in;
    (void)state;

    load(&f, ladder_spec, tagged(NULL), NULL);
    diff(&f);
    assert_null(f.out.blocked);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f.out.plan, 0), "verb")),
                        "tag");
    in = input_of(&f);
    assert_string_equal(json_string_value(json_object_get(in, "ResourceName")),
                        "arn:aws:rds:eu-central-1:123456789012:db:orders-db");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(in, "Tags"), 0), "Value")),
        "shop/orders-db");
    release(&f);

    load(&f, ladder_spec, tagged("shop/orders-db"), NULL);
    diff(&f);
    assert_null(f.out.blocked);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    release(&f);

    load(&f, ladder_spec, tagged("data/other-ladder"), NULL);
    json_object_set_new(json_object_get(f.observed, "alarms"), UP,
                        json_pack("{s:s}", "state", "ALARM"));
    diff(&f);
    assert_string_equal(f.out.blocked, "ConflictingOwner");
    assert_non_null(strstr(f.out.message, "data/other-ladder"));
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    release(&f);
}

/* Deleting the resource removes its own tag only; the class and storage stay. */
static void remove_lets_the_instance_go(void **state)
{
    struct fixture f;
    json_t *plan = tt_plan_new();
    tt_diff_input in;
    tt_error err;
    (void)state;

    load(&f, ladder_spec, tagged("shop/orders-db"), NULL);
    in = (tt_diff_input){f.r, f.observed, f.memo, NULL, "eu-central-1", NULL};
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    assert_int_equal(tt_plan_len(plan), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(plan, 0), "call"), "operation")),
                        "RemoveTagsFromResource");
    json_decref(plan);
    release(&f);

    load(&f, ladder_spec, tagged("data/other-ladder"), NULL);
    plan = tt_plan_new();
    in = (tt_diff_input){f.r, f.observed, f.memo, NULL, "eu-central-1", NULL};
    assert_int_equal(f.p->remove(&in, plan, &err), TT_OK);
    assert_int_equal(tt_plan_len(plan), 0);
    json_decref(plan);
    release(&f);
}

/* Each rung with the up alarm in ALARM: one step up, except at the top. */
static void up_from_each_rung(void **state)
{
    static const char *const ladder[] = {"db.t4g.small", "db.m5.large", "db.m5.xlarge"};
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        struct fixture f;
        load(&f, ladder_spec, observation(ladder[i], "available", NULL, "ALARM", "OK", 0), NULL);
        diff(&f);
        assert_null(f.out.blocked);
        if (i == 2) {
            assert_int_equal(tt_plan_len(f.out.plan), 0); /* never past the top */
        } else {
            const json_t *in = input_of(&f);
            const json_t *ch =
                json_array_get(json_object_get(json_array_get(f.out.plan, 0), "changes"), 0);
            assert_int_equal(tt_plan_len(f.out.plan), 1);
            assert_string_equal(moves_to(&f), ladder[i + 1]);
            assert_true(json_is_true(json_object_get(in, "ApplyImmediately")));
            assert_null(json_object_get(in, "MaxAllocatedStorage")); /* already 200 */
            assert_string_equal(json_string_value(json_object_get(ch, "field")), "instanceClass");
            assert_string_equal(json_string_value(json_object_get(ch, "old")), ladder[i]);
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(f.out.memo, "lastStep"), "cause")),
                                "alarm " UP " in ALARM");
            assert_int_equal(json_array_size(json_object_get(f.out.memo, "attempts")), 1);
        }
        release(&f);
    }
}

/* Each rung with the down alarm in ALARM: one step down, except at the bottom. */
static void down_from_each_rung(void **state)
{
    static const char *const ladder[] = {"db.t4g.small", "db.m5.large", "db.m5.xlarge"};
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        struct fixture f;
        load(&f, ladder_spec, observation(ladder[i], "available", NULL, "OK", "ALARM", 0), NULL);
        diff(&f);
        if (i == 0)
            assert_int_equal(tt_plan_len(f.out.plan), 0); /* never below the bottom */
        else
            assert_string_equal(moves_to(&f), ladder[i - 1]);
        release(&f);
    }
}

/* Both in ALARM (a misconfigured pair): up wins — capacity before savings. */
static void both_alarms_go_up(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "ALARM", "ALARM", 0), NULL);
    diff(&f);
    assert_string_equal(moves_to(&f), "db.m5.xlarge");
    release(&f);
}

static void cooldown_counts_from_available_again(void **state)
{
    struct fixture f;
    (void)state;

    /* Completed 5 minutes ago, cooldown 10 minutes: wait. */
    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "ALARM", "OK", 0),
         memo_done("db.t4g.small", "db.m5.large", -900, -300));
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_null(f.out.blocked);
    assert_true(f.out.requeue_after > 0);
    release(&f);
    /* Completed 11 minutes ago: the next step. */
    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "ALARM", "OK", 0),
         memo_done("db.t4g.small", "db.m5.large", -900, -660));
    diff(&f);
    assert_string_equal(moves_to(&f), "db.m5.xlarge");
    release(&f);
}

/* The first look after the step completes records doneAt = now in the memo. */
static void completion_is_recorded(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "ALARM", "OK", 120),
         "{\"lastStep\": {\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\"}, \"attempts\": []}");
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0); /* cooldown starts now */
    assert_true(json_number_value(json_object_get(json_object_get(f.out.memo, "lastStep"),
                                                  "doneAt")) == NOW + 120);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f.status, "lastScalingActivity"), "to")),
        "db.m5.large");
    release(&f);
}

/* A step overridden by hand (back to another rung) is over: the ladder moves on from there,
 * after the cooldown counted from now. */
static void step_overridden_by_hand_is_over(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.t4g.small", "available", NULL, "ALARM", "OK", 60),
         "{\"lastStep\": {\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\"}, \"attempts\": []}");
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0); /* the cooldown starts now */
    assert_true(json_number_value(json_object_get(json_object_get(f.out.memo, "lastStep"),
                                                  "doneAt")) == NOW + 60);
    release(&f);
    load(&f, ladder_spec, observation("db.t4g.small", "available", NULL, "ALARM", "OK", 700),
         "{\"lastStep\": {\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\", \"doneAt\": 1000060.0}, \"attempts\": []}");
    diff(&f);
    assert_string_equal(moves_to(&f), "db.m5.large");
    release(&f);
}

/* Modifying (trimtab's step or anyone's) or any other busy status: nothing is asked. */
static void busy_instance_waits(void **state)
{
    static const char *const busy[] = {"modifying", "backing-up", "rebooting"};
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        struct fixture f;
        load(&f, ladder_spec,
             observation("db.t4g.small", busy[i], i == 0 ? "db.r5.large" : NULL, "ALARM", "OK", 0),
             NULL);
        diff(&f);
        assert_int_equal(tt_plan_len(f.out.plan), 0);
        assert_null(f.out.blocked);
        assert_true(f.out.requeue_after > 0);
        release(&f);
    }
}

/* A step waiting for the maintenance window shows as pending and is not taken again. */
static void pending_for_the_maintenance_window(void **state)
{
    static const char *const spec = HEAD "spec:\n"
                                         "  target: {rds: {instance: orders-db}}\n"
                                         "  vertical:\n"
                                         "    ladder: [db.t4g.small, db.m5.large]\n"
                                         "    scaleUpOn: {alarm: writes-high}\n"
                                         "    applyImmediately: false\n";
    struct fixture f;
    (void)state;

    load(&f, spec, observation("db.t4g.small", "available", NULL, "ALARM", NULL, 0), NULL);
    diff(&f);
    assert_string_equal(moves_to(&f), "db.m5.large");
    assert_true(json_is_false(json_object_get(input_of(&f), "ApplyImmediately")));
    release(&f);
    load(&f, spec, observation("db.t4g.small", "available", "db.m5.large", "ALARM", NULL, 60),
         "{\"lastStep\": {\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\"}, \"attempts\": []}");
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(f.status, "pendingModification"), "DBInstanceClass")),
                        "db.m5.large");
    assert_null(json_object_get(json_object_get(f.out.memo, "lastStep"), "doneAt"));
    release(&f);
}

/* Changed by hand to a class not on the ladder: drift back to the nearest rung (by size),
 * whatever the alarms say; Observe mode reports the same plan as drift. */
static void off_ladder_goes_to_the_nearest_rung(void **state)
{
    static const char *const cases[][2] = {
        {"db.r5.large", "db.m5.large"},
        {"db.t4g.micro", "db.t4g.small"},
        {"db.r6g.4xlarge", "db.m5.xlarge"},
        {"db.t4g.medium", "db.m5.large"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        load(&f, ladder_spec, observation(cases[i][0], "available", NULL, "OK", "ALARM", 0), NULL);
        diff(&f);
        assert_int_equal(tt_plan_len(f.out.plan), 1);
        assert_string_equal(moves_to(&f), cases[i][1]);
        assert_string_equal(json_string_value(json_object_get(f.status, "nearestRung")),
                            cases[i][1]);
        assert_null(json_object_get(f.status, "ladderPosition"));
        release(&f);
    }
}

/* An attempt newer than the last accepted step that the instance never reached was refused:
 * not again under this spec, a clear block instead. Under another spec (a new hash) it is tried. */
static void refused_class_is_not_retried(void **state)
{
    struct fixture f;
    char memo[600];
    (void)state;

    load(&f, ladder_spec, observation("db.t4g.small", "available", NULL, "ALARM", "OK", 30), NULL);
    snprintf(memo, sizeof(memo),
             "{\"attempts\": [{\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
             "\"db.m5.large\", \"cause\": \"c\", \"spec\": \"%016llx\"}]}",
             (unsigned long long)f.r->spec_hash);
    f.memo = json_loads(memo, 0, NULL);
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_string_equal(f.out.blocked, "InstanceClassRefused");
    assert_non_null(strstr(f.out.message, "db.m5.large"));
    release(&f);

    load(&f, ladder_spec, observation("db.t4g.small", "available", NULL, "ALARM", "OK", 30),
         "{\"attempts\": [{\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\", \"spec\": \"0000000000000001\"}]}");
    diff(&f);
    assert_null(f.out.blocked);
    assert_string_equal(moves_to(&f), "db.m5.large");
    release(&f);

    /* The refusal blocks only that move: stepping down still works. */
    load(&f, ladder_spec, observation("db.m5.large", "available", NULL, "OK", "ALARM", 30), NULL);
    snprintf(memo, sizeof(memo),
             "{\"attempts\": [{\"time\": 1000000.0, \"from\": \"db.m5.large\", \"to\": "
             "\"db.m5.xlarge\", \"cause\": \"c\", \"spec\": \"%016llx\"}]}",
             (unsigned long long)f.r->spec_hash);
    f.memo = json_loads(memo, 0, NULL);
    diff(&f);
    assert_string_equal(moves_to(&f), "db.t4g.small");
    release(&f);
}

/* A kill -9 between ModifyDBInstance and the memo: the attempt the instance reached counts. */
static void reached_attempt_counts_as_accepted(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.t4g.small", "modifying", "db.m5.large", "ALARM", "OK", 5),
         "{\"attempts\": [{\"time\": 1000000.0, \"from\": \"db.t4g.small\", \"to\": "
         "\"db.m5.large\", \"cause\": \"c\", \"spec\": \"x\"}]}");
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    assert_null(f.out.blocked);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f.out.memo, "lastStep"), "to")),
        "db.m5.large");
    release(&f);
}

static void missing_alarm_blocks(void **state)
{
    struct fixture f;
    (void)state;

    load(&f, ladder_spec, observation("db.t4g.small", "available", NULL, NULL, "OK", 0), NULL);
    diff(&f);
    assert_string_equal(f.out.blocked, "DependencyNotReady");
    assert_non_null(strstr(f.out.message, UP));
    assert_int_equal(tt_plan_len(f.out.plan), 0);
    release(&f);
}

static void missing_instance_blocks(void **state)
{
    struct fixture f;
    json_t *o = observation("db.t4g.small", "available", NULL, "OK", "OK", 0);
    (void)state;

    json_object_set_new(o, "instance", json_null());
    load(&f, ladder_spec, o, NULL);
    diff(&f);
    assert_string_equal(f.out.blocked, "TargetNotFound");
    release(&f);
}

static void storage_autoscaling(void **state)
{
    static const char *const spec = HEAD "spec:\n"
                                         "  target: {rds: {instance: orders-db}}\n"
                                         "  storage: {maxAllocatedGiB: 500}\n";
    struct fixture f;
    json_t *o = observation("db.t4g.small", "available", NULL, NULL, NULL, 0);
    (void)state;

    load(&f, spec, o, NULL);
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_int_equal(json_integer_value(json_object_get(input_of(&f), "MaxAllocatedStorage")), 500);
    assert_null(json_object_get(input_of(&f), "DBInstanceClass"));
    assert_null(f.out.memo);
    assert_true(f.out.requeue_after == 0); /* no alarms to poll */
    release(&f);

    /* Not above the allocated size: RDS would refuse; said before calling. */
    o = observation("db.t4g.small", "available", NULL, NULL, NULL, 0);
    json_object_set_new(json_object_get(o, "instance"), "AllocatedStorage", json_integer(600));
    load(&f, spec, o, NULL);
    diff(&f);
    assert_string_equal(f.out.blocked, "InvalidSpec");
    release(&f);
}

/* A step and a storage change together are one ModifyDBInstance. */
static void step_and_storage_in_one_call(void **state)
{
    struct fixture f;
    json_t *o = observation("db.t4g.small", "available", NULL, "ALARM", "OK", 0);
    (void)state;

    json_object_del(json_object_get(o, "instance"), "MaxAllocatedStorage");
    load(&f, ladder_spec, o, NULL);
    diff(&f);
    assert_int_equal(tt_plan_len(f.out.plan), 1);
    assert_string_equal(moves_to(&f), "db.m5.large");
    assert_int_equal(json_integer_value(json_object_get(input_of(&f), "MaxAllocatedStorage")), 200);
    assert_int_equal(json_array_size(json_object_get(json_array_get(f.out.plan, 0), "changes")), 2);
    release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quiet_alarms_no_plan_and_aligned_requeue),
        cmocka_unit_test(up_from_each_rung),
        cmocka_unit_test(down_from_each_rung),
        cmocka_unit_test(both_alarms_go_up),
        cmocka_unit_test(cooldown_counts_from_available_again),
        cmocka_unit_test(completion_is_recorded),
        cmocka_unit_test(step_overridden_by_hand_is_over),
        cmocka_unit_test(busy_instance_waits),
        cmocka_unit_test(pending_for_the_maintenance_window),
        cmocka_unit_test(off_ladder_goes_to_the_nearest_rung),
        cmocka_unit_test(refused_class_is_not_retried),
        cmocka_unit_test(reached_attempt_counts_as_accepted),
        cmocka_unit_test(missing_alarm_blocks),
        cmocka_unit_test(missing_instance_blocks),
        cmocka_unit_test(storage_autoscaling),
        cmocka_unit_test(step_and_storage_in_one_call),
        cmocka_unit_test(one_policy_per_instance),
        cmocka_unit_test(remove_lets_the_instance_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
