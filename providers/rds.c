/*
 * The RDS instance provider: ScalingPolicies whose target is one DB instance (`rds: {instance}`).
 *
 * Vertical scaling walks `spec.vertical.ladder` one rung at a time with ModifyDBInstance
 * (DBInstanceClass), driven by the state of two CloudWatch alarms: up while the scaleUpOn alarm is
 * in ALARM, down while the scaleDownOn one is. `spec.storage.maxAllocatedGiB` is the instance's
 * MaxAllocatedStorage (storage autoscaling).
 *
 * Reads: DescribeDBInstances with a db-instance-id filter (100 identifiers a call) and
 * DescribeAlarms with AlarmNames (100 names a call), both batched across every resource of the
 * observe batch. Alarms are polled, not pushed: the diff asks to be looked at again at the next
 * multiple of the alarm poll period (`--alarm-poll`) of wall-clock time, so every ladder resource
 * of a process wakes at the same instant and the engine's batch window puts them into one observe
 * — one DescribeAlarms per 100 alarms per poll, however many ladders there are.
 *
 * Time reaches the diff through the observation ("now", stamped by observe), so the diff stays a
 * pure function and cooldowns are unit-tested with any clock.
 *
 * The memo remembers the last step, {time, from, to, cause, doneAt}, and the attempts:
 *   - "lastStep" is replaced only when an apply succeeded (the engine saves a non-list memo field
 *     only then), so it is the last step RDS accepted;
 *   - "attempts" is a list, which the engine writes ahead of the call, so an attempt survives a
 *     refusal. An attempt newer than lastStep that the instance never reached is a step RDS
 *     refused (InvalidParameterCombination for a class the engine cannot run on): the diff does
 *     not plan it again until the spec changes (each attempt records the spec's hash) — a clear
 *     condition, no retry loop. After a kill -9 between the call and the memo, an attempt the
 *     instance did reach (its class, or its pending class) counts as accepted.
 * The cooldown runs from the moment the diff first sees the instance available on its new class
 * ("doneAt"), as the spec's field says: "least time between two moves, once the instance is
 * available again".
 *
 * trimtab creates nothing here: the instance is the target, as an ECS service is. It carries the
 * owner tag of the one ScalingPolicy that manages it (claim_instance); deleting the resource
 * leaves the instance on its current class and storage setting and removes the tag.
 */
#include "rds.h"
#include "tt_num.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "owner.h"
#include "plan.h"
#include "provider.h"
#include "tt_str.h"

#define RDS_BATCH      100 /* DescribeDBInstances: at most 100 values in a filter */
#define ALARM_BATCH    100 /* DescribeAlarms: at most 100 AlarmNames */
#define ALARM_NAME_MAX 255

static double alarm_poll = 60.0;

void tt_rds_set_alarm_poll(double seconds)
{
    if (seconds > 0)
        alarm_poll = seconds;
}

static int rds_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_RDS_INSTANCE;
}

/*
 * The AWS name of the Alarm resource `name` in `r`'s namespace: trimtab names every alarm it
 * creates like any object of its own (tt_owner_name of that Alarm resource).
 */
static void alarm_aws_name(const tt_resource *r, const char *name, char *out, size_t outlen)
{
    tt_resource alarm;

    memset(&alarm, 0, sizeof(alarm));
    alarm.kind = TT_KIND_ALARM;
    alarm.namespace_ = r->namespace_;
    alarm.name = name;
    tt_owner_name(&alarm, NULL, ALARM_NAME_MAX, out, outlen);
}

/* RDS keeps identifiers in lower case and reports them so. */
static void lower(const char *in, char *out, size_t outlen)
{
    size_t i = 0;

    for (; in[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* ---- observe ----------------------------------------------------------------------------- */

static json_t *instances_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group;
    return json_pack("{s:[{s:s,s:o}]}", "Filters", "Name", "db-instance-id", "Values",
                     tt_batch_key_list(keys, n));
}

static tt_code instances_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "DBInstances", "DBInstanceIdentifier", keys, n, "instance",
                         NULL);
}

static const tt_batch_op op_instances = {"rds", "DescribeDBInstances", RDS_BATCH,      false,
                                         false, instances_input,       instances_join, NULL};

/* Both types: a composite alarm ("writes high AND cpu high") may drive a ladder too. A page
 * holds 50 alarms unless MaxRecords says 100: without it every call would take two pages. */
static json_t *alarms_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group;
    return json_pack("{s:o,s:[s,s],s:i}", "AlarmNames", tt_batch_key_list(keys, n), "AlarmTypes",
                     "MetricAlarm", "CompositeAlarm", "MaxRecords", ALARM_BATCH);
}

/* Files {state} of each alarm under view.alarms[name]; absent alarms stay absent. */
static tt_code alarms_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    static const char *const lists[] = {"MetricAlarms", "CompositeAlarms"};
    int failed = 0;

    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(output, lists[l]), i, a)
        {
            const char *name = json_string_value(json_object_get(a, "AlarmName"));
            for (size_t k = 0; name != NULL && k < n; k++) {
                json_t *alarms = json_object_get(tt_batch_view(b, keys[k].item), "alarms");
                if (strcmp(keys[k].key, name) != 0)
                    continue;
                failed |= json_object_set_new(
                    alarms, name, json_pack("{s:O?}", "state", json_object_get(a, "StateValue")));
            }
        }
    }
    return failed ? TT_ENOMEM : TT_OK;
}

static const tt_batch_op op_alarms = {"cloudwatch", "DescribeAlarms", ALARM_BATCH, false,
                                      false,        alarms_input,     alarms_join, NULL};

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_alarm(tt_batch *b, size_t i, const tt_alarm_ref *ref)
{
    char name[ALARM_NAME_MAX + 1];

    if (ref == NULL)
        return;
    alarm_aws_name(tt_batch_item(b, i)->r, ref->alarm, name, sizeof(name));
    tt_batch_add(b, &op_alarms, "", name, i);
}

static tt_code rds_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                           size_t n, tt_observe_cb cb, void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);
    double now = wall_now();

    if (b == NULL)
        return err->code;
    for (size_t i = 0; i < n; i++) {
        const tt_scaling_policy_spec *s = items[i].r->spec.sp;
        char id[64];
        if (json_object_set_new(tt_batch_view(b, i), "instance", json_null()) != 0 ||
            json_object_set_new(tt_batch_view(b, i), "alarms", json_object()) != 0 ||
            json_object_set_new(tt_batch_view(b, i), "now", json_real(now)) != 0 ||
            json_object_set_new(tt_batch_view(b, i), "alarmPoll", json_real(alarm_poll)) != 0) {
            tt_batch_fail_nomem(b, i, "reading RDS");
            continue;
        }
        lower(s->target->rds->instance, id, sizeof(id));
        tt_batch_add(b, &op_instances, "", id, i);
        if (s->vertical != NULL) {
            add_alarm(b, i, s->vertical->scale_up_on);
            add_alarm(b, i, s->vertical->scale_down_on);
        }
    }
    return tt_batch_start(b, err);
}

/* ---- the ladder -------------------------------------------------------------------------- */

/*
 * How big an instance class is, for the nearest rung of a class that is not on the ladder:
 * the size part of "db.<family>.<size>" on one scale (nano < micro < … < large < xlarge <
 * 2xlarge …), or -1 when it is not a size RDS uses.
 */
static double class_size(const char *cls)
{
    static const char *const small[] = {"nano", "micro", "small", "medium", "large", "xlarge"};
    const char *size = strrchr(cls, '.');
    char *end;
    double n;

    if (size == NULL)
        return -1;
    size++;
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        if (strcmp(size, small[i]) == 0)
            return (double)i;
    }
    n = strtod(size, &end);
    if (end == size || n < 2 || strcmp(end, "xlarge") != 0)
        return -1;
    return 5.0 + tt_log2(n); /* xlarge = 5, 2xlarge = 6, 4xlarge = 7, … */
}

/* The rung nearest in size to `cls`; between two equally near, the larger one (the safer bet
 * for a database someone moved off the ladder by hand, presumably for load). */
static size_t nearest_rung(const tt_vertical *v, const char *cls)
{
    double want = class_size(cls), best = INFINITY;
    size_t at = 0;

    for (size_t i = 0; i < v->nladder; i++) {
        double d = fabs(class_size(v->ladder[i]) - want);
        if (d <= best) {
            best = d;
            at = i;
        }
    }
    return at;
}

static long rung_of(const tt_vertical *v, const char *cls)
{
    for (size_t i = 0; cls != NULL && i < v->nladder; i++) {
        if (strcmp(v->ladder[i], cls) == 0)
            return (long)i;
    }
    return -1;
}

/* Seconds to the next multiple of `poll` of wall-clock time: every ladder of the process looks
 * at its alarms at the same instant, so their reads share calls. */
static double aligned(double now, double poll)
{
    double left = poll - (now - tt_floor(now / poll) * poll);

    return left < poll * 0.05 ? left + poll : left;
}

static const char *alarm_state(const json_t *observed, const char *aws_name)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(observed, "alarms"), aws_name), "state"));
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_number(v) ? json_number_value(v) : -1;
}

/* The spec's hash as attempts record it: a refusal holds until the spec changes. */
static void spec_hash(const tt_resource *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "%016llx", (unsigned long long)r->spec_hash);
}

/* The newest attempt recorded in the memo (borrowed), or NULL. */
static const json_t *newest_attempt(const json_t *memo)
{
    const json_t *best = NULL, *a;
    size_t i;

    json_array_foreach(json_object_get(memo, "attempts"), i, a)
    {
        if (best == NULL || num(a, "time") > num(best, "time"))
            best = a;
    }
    return best;
}

/* What the vertical part of the diff found, for the plan and the memo. */
struct vert {
    const char *cls;       /* the instance's class now */
    const char *pending;   /* its pending class (maintenance window or modifying), or NULL */
    json_t *last;          /* the last accepted step (owned), or NULL */
    const json_t *refused; /* an attempt RDS refused under this spec (borrowed), or NULL */
};

/*
 * Reconciles the memo with what RDS shows: the last accepted step (an unconfirmed newest
 * attempt the instance reached counts as accepted: a kill -9 came between the call and the
 * memo), when it completed, and a refused attempt of the current spec.
 */
static void step_history(const tt_diff_input *in, const json_t *inst, double now, struct vert *v)
{
    const json_t *attempt = newest_attempt(in->memo);
    const json_t *last = json_object_get(in->memo, "lastStep");
    char hash[24];

    v->last = json_is_object(last) ? json_deep_copy(last) : NULL;
    spec_hash(in->r, hash, sizeof(hash));
    if (attempt != NULL && num(attempt, "time") > num(v->last, "time")) {
        const char *to = json_string_value(json_object_get(attempt, "to"));
        bool reached = to != NULL && (strcmp(to, v->cls) == 0 ||
                                      (v->pending != NULL && strcmp(to, v->pending) == 0));
        if (reached) {
            json_decref(v->last);
            v->last = json_deep_copy(attempt);
            json_object_del(v->last, "spec");
        } else if (json_is_string(json_object_get(attempt, "spec")) &&
                   strcmp(json_string_value(json_object_get(attempt, "spec")), hash) == 0) {
            v->refused = attempt;
        }
    }
    /* Done: available with no class pending — on the class it went to, or on one someone set
     * by hand since (the step is over either way; waiting for its class would wait forever).
     * Recorded once, in the memo. */
    if (v->last != NULL && json_object_get(v->last, "doneAt") == NULL && v->pending == NULL &&
        tt_streq(json_string_value(json_object_get(inst, "DBInstanceStatus")), "available"))
        json_object_set_new(v->last, "doneAt", json_real(now));
}

/* The memo to keep: the last accepted step and the attempt that explains a refusal. */
static json_t *new_memo(const struct vert *v, json_t *attempt)
{
    json_t *memo = json_object(), *attempts = json_array();

    if (memo == NULL || attempts == NULL) {
        json_decref(memo);
        json_decref(attempts);
        json_decref(attempt);
        return NULL;
    }
    if (attempt != NULL)
        json_array_append_new(attempts, attempt);
    else if (v->refused != NULL)
        json_array_append(attempts, (json_t *)v->refused);
    json_object_set_new(memo, "attempts", attempts);
    if (v->last != NULL)
        json_object_set(memo, "lastStep", v->last);
    return memo;
}

/* ---- diff ------------------------------------------------------------------------------- */

/*
 * Decides the ladder move: sets *to (the class to move to) and *cause, or leaves *to NULL.
 * May block (off-ladder classes are drift to correct, not blocks).
 */
static void decide_step(const tt_diff_input *in, const json_t *observed, double now, struct vert *v,
                        const char **to, char *cause, size_t causelen, tt_diff_output *out)
{
    const tt_vertical *vt = in->r->spec.sp->vertical;
    const tt_target_rds *t = in->r->spec.sp->target->rds;
    char up[ALARM_NAME_MAX + 1], down[ALARM_NAME_MAX + 1];
    const char *up_state, *down_state = NULL;
    long rung = rung_of(vt, v->cls), want;
    double ready_at;

    *to = NULL;
    if (rung < 0) {
        /* Moved off the ladder by hand: back to the nearest rung, one move like any other. */
        *to = vt->ladder[nearest_rung(vt, v->cls)];
        snprintf(cause, causelen, "class %s is not on the ladder; nearest rung %s", v->cls, *to);
        return;
    }
    alarm_aws_name(in->r, vt->scale_up_on->alarm, up, sizeof(up));
    up_state = alarm_state(observed, up);
    if (vt->scale_down_on != NULL) {
        alarm_aws_name(in->r, vt->scale_down_on->alarm, down, sizeof(down));
        down_state = alarm_state(observed, down);
    }
    if (up_state == NULL || (vt->scale_down_on != NULL && down_state == NULL)) {
        out->blocked = "DependencyNotReady";
        snprintf(out->message, sizeof(out->message),
                 "CloudWatch alarm %s does not exist in this region yet (the Alarm resource "
                 "%s); DB instance %s stays on %s until it does",
                 up_state == NULL ? up : down,
                 up_state == NULL ? vt->scale_up_on->alarm : vt->scale_down_on->alarm, t->instance,
                 v->cls);
        return;
    }
    if (strcmp(up_state, "ALARM") == 0) {
        want = rung + 1;
        snprintf(cause, causelen, "alarm %s in ALARM", up);
    } else if (down_state != NULL && strcmp(down_state, "ALARM") == 0) {
        want = rung - 1;
        snprintf(cause, causelen, "alarm %s in ALARM", down);
    } else {
        return;
    }
    if (want < 0 || want >= (long)vt->nladder)
        return; /* never past the ladder's ends */
    ready_at = num(v->last, "doneAt");
    if (v->last != NULL && ready_at < 0)
        return; /* the last step has not completed: wait for it */
    if (v->last != NULL && now < ready_at + (double)vt->cooldown.v)
        return; /* cooling down */
    if (v->refused != NULL &&
        tt_streq(json_string_value(json_object_get(v->refused, "to")), vt->ladder[want])) {
        out->blocked = "InstanceClassRefused";
        snprintf(out->message, sizeof(out->message),
                 "RDS refused to move DB instance %s from %s to %s (see the AwsError event); "
                 "trimtab will not try %s again until the ladder changes",
                 t->instance, v->cls, vt->ladder[want], vt->ladder[want]);
        return;
    }
    *to = vt->ladder[want];
}

/* The owner tag's value in an RDS TagList ([{"Key", "Value"}]), or NULL. */
static const char *owner_tag(const json_t *tag_list)
{
    size_t i;
    json_t *t;

    json_array_foreach(tag_list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        if (k != NULL && strcmp(k, TT_OWNER_TAG) == 0)
            return json_string_value(json_object_get(t, "Value"));
    }
    return NULL;
}

/*
 * One ScalingPolicy per instance: two ladders on one instance would step it against each other.
 * The policy that manages an instance puts its owner tag on it. trimtab did not create the
 * instance (it is the target, as an ECS service is), so an untagged one is claimed without
 * spec.adopt; another resource's tag is a conflict. Observe mode claims nothing. 0 to go on,
 * -1 when blocked.
 */
static int claim_instance(const tt_diff_input *in, const json_t *inst, tt_diff_output *out)
{
    const char *ident = in->r->spec.sp->target->rds->instance;
    const char *tag = owner_tag(json_object_get(inst, "TagList"));
    const char *arn = json_string_value(json_object_get(inst, "DBInstanceArn"));
    char mine[600], object[400];

    tt_owner_value(in->r, mine, sizeof(mine));
    if (tag != NULL && strcmp(tag, mine) != 0) {
        out->blocked = "ConflictingOwner";
        snprintf(out->message, sizeof(out->message),
                 "RDS DB instance %s is managed by ScalingPolicy %s (its %s tag); one "
                 "ScalingPolicy per instance",
                 ident, tag, TT_OWNER_TAG);
        return -1;
    }
    if (tag == NULL && arn != NULL && strcmp(in->r->spec.common->mode, "Manage") == 0 &&
        tt_owner_claims(in->r)) {
        snprintf(object, sizeof(object), "DB instance %s (claim)", ident);
        if (tt_owner_tag_action(out->plan, in->r, object, "rds", "AddTagsToResource", in->region,
                                json_pack("{s:s,s:[{s:s,s:s}]}", "ResourceName", arn, "Tags", "Key",
                                          TT_OWNER_TAG, "Value", mine)) == NULL)
            return -1;
    }
    return 0;
}

static tt_code rds_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_scaling_policy_spec *s = in->r->spec.sp;
    const json_t *inst = json_object_get(in->observed, "instance");
    const char *status = json_string_value(json_object_get(inst, "DBInstanceStatus"));
    const json_t *pending = json_object_get(inst, "PendingModifiedValues");
    double now = num(in->observed, "now"), poll = num(in->observed, "alarmPoll");
    struct vert v = {0};
    const char *to = NULL;
    char cause[600] = "", object[700];
    json_t *input = NULL, *attempt = NULL, *action;
    tt_code rc = TT_OK;

    if (!json_is_object(inst)) {
        out->blocked = "TargetNotFound";
        snprintf(out->message, sizeof(out->message), "RDS DB instance %s not found",
                 s->target->rds->instance);
        return TT_OK;
    }
    v.cls = json_string_value(json_object_get(inst, "DBInstanceClass"));
    v.pending = json_string_value(json_object_get(pending, "DBInstanceClass"));
    if (v.cls == NULL || status == NULL) {
        return tt_error_set(err, TT_EPARSE, "DescribeDBInstances gave %s no class or status",
                            s->target->rds->instance);
    }
    if (claim_instance(in, inst, out) != 0) {
        if (out->blocked == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory planning DB instance %s",
                                s->target->rds->instance);
        return TT_OK;
    }
    if (s->vertical != NULL) {
        step_history(in, inst, now, &v);
        if (poll > 0)
            out->requeue_after = aligned(now, poll);
    }
    /* Nothing is asked of an instance that is busy (modifying, backing up, rebooting…), by
     * trimtab or anyone: RDS would refuse (InvalidDBInstanceState) and the step must wait anyway. */
    if (strcmp(status, "available") != 0) {
        if (out->requeue_after <= 0 && poll > 0)
            out->requeue_after = aligned(now, poll);
        goto memo;
    }
    input = json_pack("{s:s}", "DBInstanceIdentifier", s->target->rds->instance);
    if (input == NULL)
        goto nomem;
    snprintf(object, sizeof(object), "DB instance %s", s->target->rds->instance);
    if (s->vertical != NULL && v.pending == NULL) {
        decide_step(in, in->observed, now, &v, &to, cause, sizeof(cause), out);
        if (out->blocked != NULL)
            goto memo;
    }
    if (to != NULL) {
        char hash[24];
        spec_hash(in->r, hash, sizeof(hash));
        attempt = json_pack("{s:f,s:s,s:s,s:s,s:s}", "time", now, "from", v.cls, "to", to, "cause",
                            cause, "spec", hash);
        if (attempt == NULL)
            goto nomem;
        json_object_set_new(input, "DBInstanceClass", json_string(to));
        json_object_set_new(input, "ApplyImmediately",
                            json_boolean(s->vertical->apply_immediately.v));
        snprintf(object, sizeof(object), "DB instance %s (%s)", s->target->rds->instance, cause);
    }
    if (s->storage != NULL) {
        json_int_t want = (json_int_t)s->storage->max_allocated_gib.v;
        const json_t *have = json_object_get(inst, "MaxAllocatedStorage");
        if (!json_is_integer(have) || json_integer_value(have) != want) {
            if ((double)want <= num(inst, "AllocatedStorage")) {
                out->blocked = "InvalidSpec";
                snprintf(out->message, sizeof(out->message),
                         "spec.storage.maxAllocatedGiB (%lld) must be above the instance's "
                         "allocated storage (%.0f GiB)",
                         (long long)want, num(inst, "AllocatedStorage"));
                json_decref(attempt);
                attempt = NULL;
                goto memo;
            }
            json_object_set_new(input, "MaxAllocatedStorage", json_integer(want));
        }
    }
    if (json_object_size(input) > 1) {
        action =
            tt_plan_add(out->plan, "update", object, "rds", "ModifyDBInstance", in->region, input);
        input = NULL;
        if (action == NULL)
            goto nomem;
        if (to != NULL)
            tt_action_change(action, "instanceClass", json_string(v.cls), json_string(to));
        if (s->storage != NULL)
            tt_plan_compare_new(json_object_get(action, "changes"), "maxAllocatedGiB",
                                json_integer((json_int_t)s->storage->max_allocated_gib.v),
                                json_object_get(inst, "MaxAllocatedStorage"));
        if (attempt != NULL) {
            json_decref(v.last);
            v.last = json_deep_copy(attempt);
            json_object_del(v.last, "spec");
        }
    }
memo:
    if (s->vertical != NULL) {
        out->memo = new_memo(&v, attempt);
        attempt = NULL;
        if (out->memo == NULL)
            goto nomem;
    }
    goto out;
nomem:
    rc = tt_error_set(err, TT_ENOMEM, "out of memory planning DB instance %s",
                      s->target->rds->instance);
out:
    json_decref(input);
    json_decref(attempt);
    json_decref(v.last);
    return rc;
}

/* ---- status ------------------------------------------------------------------------------ */

/* An epoch time as Kubernetes writes times: "2026-12-06T03:04:05Z". */
static void iso_time(double t, char *out, size_t outlen)
{
    time_t secs = (time_t)t;
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void rds_status(const tt_diff_input *in, json_t *status)
{
    const tt_vertical *vt = in->r->spec.sp->vertical;
    const json_t *inst = json_object_get(in->observed, "instance");
    const json_t *pending = json_object_get(inst, "PendingModifiedValues");
    const json_t *last = json_object_get(in->memo, "lastStep");
    const char *cls = json_string_value(json_object_get(inst, "DBInstanceClass"));
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (!json_is_object(inst))
        return;
    json_object_set_new(status, "currentClass", json_string(cls));
    json_object_set(status, "instanceStatus", json_object_get(inst, "DBInstanceStatus"));
    if (json_object_get(inst, "MaxAllocatedStorage") != NULL)
        json_object_set(status, "maxAllocatedGiB", json_object_get(inst, "MaxAllocatedStorage"));
    if (json_object_size(pending) > 0)
        json_object_set(status, "pendingModification", (json_t *)pending);
    if (vt != NULL && cls != NULL) {
        long rung = rung_of(vt, cls);
        if (rung >= 0)
            json_object_set_new(
                status, "ladderPosition",
                json_pack("{s:I,s:I}", "index", (json_int_t)rung, "of", (json_int_t)vt->nladder));
        else
            json_object_set_new(status, "nearestRung",
                                json_string(vt->ladder[nearest_rung(vt, cls)]));
    }
    if (json_is_object(last)) {
        char when[32];
        iso_time(num(last, "time"), when, sizeof(when));
        json_object_set_new(
            status, "lastScalingActivity",
            json_pack("{s:s,s:O?,s:O?,s:O?}", "time", when, "from", json_object_get(last, "from"),
                      "to", json_object_get(last, "to"), "cause", json_object_get(last, "cause")));
    }
}

/* Deleting the resource leaves the instance on its class and storage setting, and lets it go:
 * its owner tag is removed, so another ScalingPolicy may claim it. */
static tt_code rds_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    const json_t *inst = json_object_get(in->observed, "instance");
    const char *tag = owner_tag(json_object_get(inst, "TagList"));
    const char *arn = json_string_value(json_object_get(inst, "DBInstanceArn"));
    char mine[600], object[400];

    tt_owner_value(in->r, mine, sizeof(mine));
    if (tag == NULL || arn == NULL || strcmp(tag, mine) != 0)
        return TT_OK;
    snprintf(object, sizeof(object), "owner tag of DB instance %s",
             in->r->spec.sp->target->rds->instance);
    if (tt_plan_add(plan, "delete", object, "rds", "RemoveTagsFromResource", in->region,
                    json_pack("{s:s,s:[s]}", "ResourceName", arn, "TagKeys", TT_OWNER_TAG)) == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    return TT_OK;
}

/* The ladder reads its alarms and moves the class; storage autoscaling modifies too. */
static int rds_iam_modifies(const tt_resource *r)
{
    return r->spec.sp->vertical != NULL || r->spec.sp->storage != NULL;
}

static int rds_iam_ladder(const tt_resource *r)
{
    return r->spec.sp->vertical != NULL;
}

/* IAM: the instance's ARN; DescribeAlarms has no resource-level permission. */
static const tt_iam_action rds_iam_actions[] = {
    /* Filtered by db-instance-id (a batch): authorised on every instance, as a list is. */
    {"rds:DescribeDBInstances", "DescribeDBInstances",
     "arn:{partition}:rds:{region}:{account}:db:*", TT_IAM_NONE, NULL},
    {"rds:ModifyDBInstance", "ModifyDBInstance",
     "arn:{partition}:rds:{region}:{account}:db:{instance}", TT_IAM_NONE, rds_iam_modifies},
    {"cloudwatch:DescribeAlarms", "DescribeAlarms", NULL, TT_IAM_NONE, rds_iam_ladder},
    /* The instance is claimed with the owner tag, and let go on deletion. */
    {"rds:AddTagsToResource", "AddTagsToResource",
     "arn:{partition}:rds:{region}:{account}:db:{instance}", TT_IAM_TAG_OWNER, NULL},
    {"rds:RemoveTagsFromResource", "RemoveTagsFromResource",
     "arn:{partition}:rds:{region}:{account}:db:{instance}", TT_IAM_UNTAG_OWNER, NULL},
};
static const tt_iam_needs rds_iam = {TT_IAM_TABLE(rds_iam_actions), NULL};

const tt_provider tt_provider_rds = {
    .name = "rds",
    .handles = rds_handles,
    .observe = rds_observe,
    .diff = rds_diff,
    .status = rds_status,
    .remove = rds_remove,
    .iam = &rds_iam,
};
