/*
 * The Secrets Manager provider: SecretRotation resources — the rotation of an existing secret.
 *
 * The secret itself is never trimtab's: it is referenced, like the ECS service of a
 * ScalingPolicy. What trimtab takes over is its rotation (function, schedule) and the replica
 * regions it adds. A secret whose rotation nobody has turned on is claimed with the owner tag; one
 * whose rotation is already on and is not tagged for this resource is someone else's rotation,
 * refused unless spec.adopt.
 *
 * Observe reads secrets named by name with ListSecrets, ten names a call (its name filter takes
 * ten values and matches prefixes, so the join keeps exact names only); secrets named by ARN, and
 * those whose replicas must be compared (ListSecrets does not report replication), with
 * DescribeSecret. Only a secret with an AWSPENDING version gets ListSecretVersionIds, to learn
 * when that rotation started. Secret values are never read: no GetSecretValue anywhere.
 *
 * The observed view: {"secret": {…DescribeSecret fields, VersionIdsToStages…} | null,
 * "observedAt": epoch seconds of the read, "pendingSince": epoch (AWSPENDING's CreatedDate)}.
 * The memo: {"owned": true, "replicas": [regions trimtab added], "rotated": "<last value of
 * trimtab.dev/rotate-requested-at that was rotated for>"}.
 *
 * A rotation that leaves AWSPENDING behind longer than its window (the schedule's duration, else
 * one hour) is reported with Ready=False/RotationFailed and a RotationFailed condition, and no
 * RotateSecret is planned into it: AWS would refuse it, and a blind retry would hide the broken
 * rotation function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "owner.h"
#include "plan.h"
#include "provider.h"
#include "tt_str.h"

#define SVC            "secretsmanager"
#define LIST_BATCH     10        /* a ListSecrets filter takes at most 10 values */
#define DEFAULT_WINDOW (60 * 60) /* no duration in the schedule: a rotation should be done in 1h */

static int sm_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SECRET_ROTATION && r->spec.rotation != NULL;
}

static bool is_arn(const char *id)
{
    return strncmp(id, "arn:", 4) == 0;
}

static bool memo_owned(const json_t *memo)
{
    return json_is_true(json_object_get(memo, "owned"));
}

/* DescribeSecret is needed for replicas: the spec or the memo names some. */
static bool needs_replicas(const tt_resource *r, const json_t *memo)
{
    return r->spec.rotation->nreplica_regions > 0 ||
           json_array_size(json_object_get(memo, "replicas")) > 0;
}

/* ---- observe ------------------------------------------------------------------------------ */

static json_t *list_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group;
    return json_pack("{s:[{s:s,s:o}],s:i}", "Filters", "Key", "name", "Values",
                     tt_batch_key_list(keys, n), "MaxResults", 100);
}

/* A ListSecrets entry in DescribeSecret's words: its stages map is SecretVersionsToStages. */
static json_t *as_described(const json_t *entry)
{
    json_t *copy = json_deep_copy(entry);
    json_t *stages = json_object_get(entry, "SecretVersionsToStages");

    if (copy == NULL || (stages != NULL && json_object_set(copy, "VersionIdsToStages", stages))) {
        json_decref(copy);
        return NULL;
    }
    json_object_del(copy, "SecretVersionsToStages");
    return copy;
}

static tt_code list_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join_map(b, output, "SecretList", "Name", keys, n, "secret", as_described);
}

static json_t *describe_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group, (void)n;
    return json_pack("{s:s}", "SecretId", keys[0].key);
}

static tt_code describe_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    json_t *view = tt_batch_view(b, keys[0].item);

    (void)n;
    /* A secret scheduled for deletion is as good as gone. */
    if (json_object_get(output, "DeletedDate") != NULL)
        return json_object_set_new(view, "secret", json_null()) ||
                       json_object_set_new(view, "described", json_true())
                   ? TT_ENOMEM
                   : TT_OK;
    return json_object_set(view, "secret", (json_t *)output) ||
                   json_object_set_new(view, "described", json_true())
               ? TT_ENOMEM
               : TT_OK;
}

static json_t *versions_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group, (void)n;
    return json_pack("{s:s,s:i}", "SecretId", keys[0].key, "MaxResults", 100);
}

/* Files when the AWSPENDING version was created: how long the rotation has been running. */
static tt_code versions_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    json_t *view = tt_batch_view(b, keys[0].item), *v, *label;
    size_t i, k;
    int failed = 0;

    (void)n;
    json_array_foreach(json_object_get(output, "Versions"), i, v)
    {
        json_array_foreach(json_object_get(v, "VersionStages"), k, label)
        {
            if (tt_streq(json_string_value(label), "AWSPENDING") &&
                json_object_get(v, "CreatedDate") != NULL)
                failed |= json_object_set(view, "pendingSince", json_object_get(v, "CreatedDate"));
        }
    }
    failed |= json_object_set_new(view, "versions", json_true());
    return failed ? TT_ENOMEM : TT_OK;
}

static const tt_batch_op op_list = {SVC,   "ListSecrets", LIST_BATCH, false,
                                    false, list_input,    list_join,  NULL};
static const tt_batch_op op_describe = {
    SVC, "DescribeSecret", 1, false, false, describe_input, describe_join, NULL};
static const tt_batch_op op_versions = {
    SVC, "ListSecretVersionIds", 1, false, true, versions_input, versions_join, NULL};

/* The version holding AWSPENDING without AWSCURRENT (a rotation under way or stuck), or NULL. */
static const char *pending_version(const json_t *secret)
{
    const char *vid;
    json_t *labels, *l;
    size_t i;

    json_object_foreach(json_object_get(secret, "VersionIdsToStages"), vid, labels)
    {
        bool pending = false, current = false;
        json_array_foreach(labels, i, l)
        {
            pending |= tt_streq(json_string_value(l), "AWSPENDING");
            current |= tt_streq(json_string_value(l), "AWSCURRENT");
        }
        if (pending && !current)
            return vid;
    }
    return NULL;
}

/* After the first reads: DescribeSecret where replicas matter, versions where one is pending.
 * Each read marks its slot when queued ("described"/"versions" false) so it runs once. */
static void more_reads(tt_batch *b, int phase)
{
    (void)phase;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        const tt_observe_item *it = tt_batch_item(b, i);
        json_t *view = tt_batch_view(b, i);
        const json_t *secret = json_object_get(view, "secret");
        const char *arn = json_string_value(json_object_get(secret, "ARN"));
        if (tt_batch_failed(b, i) || arn == NULL)
            continue;
        if (json_object_get(view, "described") == NULL && needs_replicas(it->r, it->memo)) {
            if (json_object_set_new(view, "described", json_false()) != 0)
                tt_batch_fail_nomem(b, i, "reading Secrets Manager");
            else
                tt_batch_add(b, &op_describe, "", arn, i);
        }
        if (json_object_get(view, "versions") == NULL && pending_version(secret) != NULL) {
            if (json_object_set_new(view, "versions", json_false()) != 0)
                tt_batch_fail_nomem(b, i, "reading Secrets Manager");
            else
                tt_batch_add(b, &op_versions, "", arn, i);
        }
    }
}

static tt_code sm_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                          size_t n, tt_observe_cb cb, void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);
    /* The diff is pure: the time of the read is part of the observation. */
    json_int_t now = (json_int_t)time(NULL);

    if (b == NULL)
        return err->code;
    if (tt_batch_on_phase(b, more_reads, err) != TT_OK) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = items[i].r->spec.rotation->secret_id;
        json_t *view = tt_batch_view(b, i);
        if (json_object_set_new(view, "secret", json_null()) != 0 ||
            json_object_set_new(view, "observedAt", json_integer(now)) != 0) {
            tt_batch_fail_nomem(b, i, "reading Secrets Manager");
            continue;
        }
        if (is_arn(id))
            tt_batch_add(b, &op_describe, "", id, i);
        else
            tt_batch_add(b, &op_list, "", id, i);
    }
    return tt_batch_start(b, err);
}

/* ---- diff --------------------------------------------------------------------------------- */

static const char *owner_tag_of(const json_t *secret)
{
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(secret, "Tags"), i, t)
    {
        if (tt_streq(json_string_value(json_object_get(t, "Key")), TT_OWNER_TAG))
            return json_string_value(json_object_get(t, "Value"));
    }
    return NULL;
}

/* The rotation window in seconds: the schedule's duration (the spec's, else AWS's), else 1h. */
static long window_of(const tt_resource *r, const json_t *secret)
{
    const tt_rotation_schedule *s = r->spec.rotation->schedule;
    const char *d =
        json_string_value(json_object_get(json_object_get(secret, "RotationRules"), "Duration"));

    if (s != NULL && s->duration.set)
        return (long)s->duration.v;
    if (d != NULL && strtol(d, NULL, 10) > 0)
        return strtol(d, NULL, 10) * 3600;
    return DEFAULT_WINDOW;
}

/* Epoch seconds of a timestamp as the AWS layer hands it over (ISO 8601, "…Z"), or -1. */
static long epoch_of(const json_t *v)
{
    struct tm tm;
    const char *s = json_string_value(v);

    if (json_is_number(v))
        return (long)json_number_value(v);
    memset(&tm, 0, sizeof(tm));
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long)timegm(&tm);
}

enum rotation_state { ROT_NONE, ROT_RUNNING, ROT_STUCK };

/* Whether a rotation is running or stuck, and since when (`*since`, epoch). */
static enum rotation_state rotation_state(const tt_resource *r, const json_t *observed, long *since,
                                          long *left)
{
    const json_t *secret = json_object_get(observed, "secret");
    const json_t *ps = json_object_get(observed, "pendingSince");
    long now = (long)json_integer_value(json_object_get(observed, "observedAt"));

    *since = 0;
    *left = 0;
    if (pending_version(secret) == NULL)
        return ROT_NONE;
    *since = epoch_of(ps);
    if (*since < 0) {
        *since = 0;
        return ROT_RUNNING; /* its start is unknown (the version read failed): look again */
    }
    *left = *since + window_of(r, secret) - now;
    return *left < 0 ? ROT_STUCK : ROT_RUNNING;
}

/* The RotationRules the spec asks for (a new object). */
static json_t *desired_rules(const tt_rotation_schedule *s)
{
    json_t *rules = json_object();

    if (rules == NULL)
        return NULL;
    if (s->automatically_after_days.set)
        json_object_set_new(rules, "AutomaticallyAfterDays",
                            json_integer(s->automatically_after_days.v));
    if (s->expression != NULL)
        json_object_set_new(rules, "ScheduleExpression", json_string(s->expression));
    if (s->duration.set) {
        char d[32];
        snprintf(d, sizeof(d), "%lldh", (long long)(s->duration.v / 3600));
        json_object_set_new(rules, "Duration", json_string(d));
    }
    return rules;
}

/*
 * The ClientRequestToken (and so the new version's id) of the rotation asked for by annotation
 * value `value`: the same value always gives the same token, so a rotation a killed run started
 * is found in the secret's versions instead of being started again.
 */
static void request_token(const tt_resource *r, const char *value, char *out, size_t len)
{
    uint64_t a = tt_hash64_more(tt_hash64_str(r->key), value, strlen(value));
    uint64_t b = tt_hash64_more(tt_hash64_str(value), r->key, strlen(r->key));

    snprintf(out, len, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static bool has_version(const json_t *secret, const char *vid)
{
    return json_object_get(json_object_get(secret, "VersionIdsToStages"), vid) != NULL;
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    json_t *x;

    json_array_foreach(list, i, x)
    {
        if (tt_streq(json_string_value(x), s))
            return true;
    }
    return false;
}

static json_t *fail_condition(const char *status, const char *reason, const char *message,
                              const char *event)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "type", "RotationFailed", "status", status, "reason",
                          reason, "message", message);
    if (c != NULL && event != NULL)
        json_object_set_new(c, "event", json_string(event));
    return json_pack("[o]", c);
}

/* Claims (or adopts) the secret's rotation; 0 when trimtab may manage it. */
static int check_ownership(const tt_diff_input *in, const json_t *secret, const char *region,
                           tt_diff_output *out)
{
    const char *tag = owner_tag_of(secret);
    const char *id = in->r->spec.rotation->secret_id;
    char owner[600], what[2200];
    json_t *input;

    tt_owner_value(in->r, owner, sizeof(owner));
    snprintf(what, sizeof(what), "rotation of secret %s", id);
    if (memo_owned(in->memo) || tt_streq(tag, owner))
        return 0;
    input = json_pack("{s:s,s:[{s:s,s:s}]}", "SecretId", id, "Tags", "Key", TT_OWNER_TAG, "Value",
                      owner);
    /* Someone's rotation, or another resource's tag: adopt or refuse. */
    if (tag != NULL || json_is_true(json_object_get(secret, "RotationEnabled")))
        return tt_owner_gate(in->r, false, tag, what, out, SVC, "TagResource", region, input);
    /* Nobody rotates it: there is nothing to take over, only to claim. */
    tt_owner_tag_action(out->plan, in->r, what, SVC, "TagResource", region, input);
    return 0;
}

/* The rotation settings: one RotateSecret when they differ (or a rotation is asked for). */
static json_t *plan_rotation(const tt_diff_input *in, const json_t *secret, const char *token,
                             tt_diff_output *out)
{
    const tt_secret_rotation_spec *s = in->r->spec.rotation;
    const json_t *have_rules = json_object_get(secret, "RotationRules");
    json_t *rules = desired_rules(s->schedule), *changes = json_array(), *input = NULL, *a = NULL;
    json_t *enabled = json_true();
    char object[2200];

    if (rules == NULL || changes == NULL)
        goto out;
    tt_plan_compare(changes, "rotationEnabled", enabled,
                    json_is_true(json_object_get(secret, "RotationEnabled")) ? enabled : NULL);
    if (s->rotation_lambda_arn != NULL)
        tt_plan_compare_new(changes, "rotationLambdaArn", json_string(s->rotation_lambda_arn),
                            json_object_get(secret, "RotationLambdaARN"));
    tt_plan_compare(changes, "automaticallyAfterDays",
                    json_object_get(rules, "AutomaticallyAfterDays"),
                    json_object_get(have_rules, "AutomaticallyAfterDays"));
    tt_plan_compare(changes, "scheduleExpression", json_object_get(rules, "ScheduleExpression"),
                    json_object_get(have_rules, "ScheduleExpression"));
    tt_plan_compare(changes, "duration", json_object_get(rules, "Duration"),
                    json_object_get(have_rules, "Duration"));
    if (json_array_size(changes) == 0 && token == NULL)
        goto out;
    input = json_pack("{s:s}", "SecretId", s->secret_id);
    if (input == NULL)
        goto out;
    if (json_array_size(changes) > 0) {
        if (s->rotation_lambda_arn != NULL)
            json_object_set_new(input, "RotationLambdaARN", json_string(s->rotation_lambda_arn));
        json_object_set(input, "RotationRules", rules);
    }
    /* AWS rotates at once unless told not to: only a spec that asks, or the annotation, does. */
    json_object_set_new(input, "RotateImmediately",
                        json_boolean(token != NULL || s->rotate_immediately.v));
    if (token != NULL)
        json_object_set_new(input, "ClientRequestToken", json_string(token));
    snprintf(object, sizeof(object), "rotation of secret %s", s->secret_id);
    a = tt_plan_add(out->plan,
                    json_is_true(json_object_get(secret, "RotationEnabled")) ? "update" : "create",
                    object, SVC, "RotateSecret", in->region, input);
    if (a != NULL && json_array_size(changes) > 0)
        json_object_set(a, "changes", changes);
    if (a != NULL && token != NULL)
        tt_action_change(a, "rotateRequestedAt", NULL, json_string(in->r->rotate_requested_at));
out:
    json_decref(rules);
    json_decref(changes);
    json_decref(enabled);
    return a;
}

/* Replica regions: those the spec lacks are added; those trimtab added and the spec dropped are
 * removed. Someone else's replicas stay. Only known when DescribeSecret was read. */
static void plan_replicas(const tt_diff_input *in, const json_t *secret, json_t *plan)
{
    const tt_secret_rotation_spec *s = in->r->spec.rotation;
    const json_t *status = json_object_get(secret, "ReplicationStatus");
    json_t *have = json_array(), *add = json_array(), *drop = json_array(), *r, *a;
    char object[2200];
    size_t i;

    if (have == NULL || add == NULL || drop == NULL)
        goto out;
    json_array_foreach(status, i, r) json_array_append(have, json_object_get(r, "Region"));
    for (size_t k = 0; k < s->nreplica_regions; k++) {
        if (!in_list(have, s->replica_regions[k]))
            json_array_append_new(add, json_pack("{s:s}", "Region", s->replica_regions[k]));
    }
    json_array_foreach(have, i, r)
    {
        bool wanted = false;
        for (size_t k = 0; k < s->nreplica_regions; k++)
            wanted |= tt_streq(json_string_value(r), s->replica_regions[k]);
        if (!wanted && in_list(json_object_get(in->memo, "replicas"), json_string_value(r)))
            json_array_append(drop, r);
    }
    snprintf(object, sizeof(object), "replicas of secret %s", s->secret_id);
    if (json_array_size(add) > 0) {
        a = tt_plan_add(plan, "create", object, SVC, "ReplicateSecretToRegions", in->region,
                        json_pack("{s:s,s:O}", "SecretId", s->secret_id, "AddReplicaRegions", add));
        json_array_foreach(add, i, r)
            tt_action_change(a, "replicaRegion", NULL, json_incref(json_object_get(r, "Region")));
    }
    if (json_array_size(drop) > 0) {
        a = tt_plan_add(
            plan, "delete", object, SVC, "RemoveRegionsFromReplication", in->region,
            json_pack("{s:s,s:O}", "SecretId", s->secret_id, "RemoveReplicaRegions", drop));
        json_array_foreach(drop, i, r) tt_action_change(a, "replicaRegion", json_incref(r), NULL);
    }
out:
    json_decref(have);
    json_decref(add);
    json_decref(drop);
}

static tt_code sm_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_secret_rotation_spec *s = in->r->spec.rotation;
    const json_t *secret = json_object_get(in->observed, "secret");
    const char *asked = in->r->rotate_requested_at;
    const char *done = json_string_value(json_object_get(in->memo, "rotated"));
    char token[64], since_text[32];
    const char *use_token = NULL;
    long since, left;
    json_t *replicas;
    time_t st;
    struct tm tm;
    tt_code rc = TT_OK;

    if (!json_is_object(secret)) {
        out->blocked = "TargetNotFound";
        snprintf(out->message, sizeof(out->message), "secret %s not found in %s", s->secret_id,
                 in->region ? in->region : "the operator's region");
        goto out;
    }
    if (check_ownership(in, secret, in->region, out) != 0)
        goto out;
    switch (rotation_state(in->r, in->observed, &since, &left)) {
    case ROT_STUCK:
        st = (time_t)since;
        strftime(since_text, sizeof(since_text), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st, &tm));
        out->blocked = "RotationFailed";
        snprintf(out->message, sizeof(out->message),
                 "the rotation of secret %s started at %s left version %s as AWSPENDING past its "
                 "%lds window; no new rotation is started until the rotation function is fixed "
                 "and AWSPENDING is cleared",
                 s->secret_id, since_text, pending_version(secret), window_of(in->r, secret));
        /* No event here: the Ready transition to RotationFailed records the Warning. */
        out->conditions = fail_condition("True", "RotationStuck", out->message, NULL);
        goto out;
    case ROT_RUNNING:
        out->blocked = "RotationInProgress";
        snprintf(out->message, sizeof(out->message),
                 "a rotation of secret %s is in progress (AWSPENDING version %s)", s->secret_id,
                 pending_version(secret));
        out->requeue_after = left > 0 ? (double)left + 1 : 5;
        goto out;
    case ROT_NONE:
        out->conditions =
            fail_condition("False", "RotationHealthy",
                           "no rotation is stuck with an AWSPENDING version", "Normal");
        break;
    }
    /* One rotation per new value of trimtab.dev/rotate-requested-at: the memo remembers the
     * last value served, and the deterministic token finds a rotation a killed run started. */
    if (asked != NULL && !tt_streq(asked, done)) {
        request_token(in->r, asked, token, sizeof(token));
        if (!has_version(secret, token))
            use_token = token;
    }
    plan_rotation(in, secret, use_token, out);
    if (json_object_get(in->observed, "described") != NULL)
        plan_replicas(in, secret, out->plan);
    replicas = json_array();
    for (size_t k = 0; replicas != NULL && k < s->nreplica_regions; k++)
        json_array_append_new(replicas, json_string(s->replica_regions[k]));
    out->memo = json_pack("{s:b,s:o}", "owned", 1, "replicas", replicas);
    if (out->memo == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
    if (asked != NULL)
        json_object_set_new(out->memo, "rotated", json_string(asked));
    else if (done != NULL)
        json_object_set_new(out->memo, "rotated", json_string(done));
out:
    return rc;
}

/* ---- status and removal ------------------------------------------------------------------ */

static void set_time(json_t *status, const char *field, const json_t *when)
{
    char buf[32];
    time_t t = (time_t)epoch_of(when);
    struct tm tm;

    if (t < 0)
        return;
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_object_set_new(status, field, json_string(buf));
}

/* rotationEnabled, lastRotatedDate, nextRotationDate, currentVersionId, lastRotationResult,
 * replicaRegions — names, dates and version ids only: never a value. */
static void sm_status(const tt_diff_input *in, json_t *status)
{
    const json_t *secret = json_object_get(in->observed, "secret");
    const char *vid;
    json_t *labels, *l;
    size_t i;
    long since, left;

    json_object_set_new(status, "target", json_string(in->r->spec.rotation->secret_id));
    if (!json_is_object(secret))
        return;
    json_object_set_new(status, "rotationEnabled",
                        json_boolean(json_is_true(json_object_get(secret, "RotationEnabled"))));
    set_time(status, "lastRotatedDate", json_object_get(secret, "LastRotatedDate"));
    set_time(status, "nextRotationDate", json_object_get(secret, "NextRotationDate"));
    json_object_foreach(json_object_get(secret, "VersionIdsToStages"), vid, labels)
    {
        json_array_foreach(labels, i, l)
        {
            if (tt_streq(json_string_value(l), "AWSCURRENT"))
                json_object_set_new(status, "currentVersionId", json_string(vid));
        }
    }
    switch (rotation_state(in->r, in->observed, &since, &left)) {
    case ROT_STUCK:
        json_object_set_new(status, "lastRotationResult", json_string("Failed"));
        break;
    case ROT_RUNNING:
        json_object_set_new(status, "lastRotationResult", json_string("InProgress"));
        break;
    case ROT_NONE:
        if (json_object_get(secret, "LastRotatedDate") != NULL)
            json_object_set_new(status, "lastRotationResult", json_string("Succeeded"));
        break;
    }
    if (json_object_get(in->observed, "described") != NULL) {
        json_t *regions = json_array();
        json_array_foreach(json_object_get(secret, "ReplicationStatus"), i, l)
            json_array_append(regions, json_object_get(l, "Region"));
        json_object_set_new(status, "replicaRegions", regions);
    }
}

/*
 * Deleting the resource (deletionPolicy Delete) turns off the rotation trimtab manages, removes
 * the replicas it added and its owner tag; the secret itself stays.
 */
static tt_code sm_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    const tt_secret_rotation_spec *s = in->r->spec.rotation;
    const json_t *secret = json_object_get(in->observed, "secret");
    const char *tag = owner_tag_of(secret);
    json_t *drop, *r;
    char object[2200];
    size_t i;

    (void)err;
    if (!json_is_object(secret) || !tt_owner_may_delete(in->r, memo_owned(in->memo), tag))
        return TT_OK;
    snprintf(object, sizeof(object), "rotation of secret %s", s->secret_id);
    if (json_is_true(json_object_get(secret, "RotationEnabled")))
        tt_plan_add(plan, "delete", object, SVC, "CancelRotateSecret", in->region,
                    json_pack("{s:s}", "SecretId", s->secret_id));
    drop = json_array();
    json_array_foreach(json_object_get(secret, "ReplicationStatus"), i, r)
    {
        if (in_list(json_object_get(in->memo, "replicas"),
                    json_string_value(json_object_get(r, "Region"))))
            json_array_append(drop, json_object_get(r, "Region"));
    }
    snprintf(object, sizeof(object), "replicas of secret %s", s->secret_id);
    if (json_array_size(drop) > 0)
        tt_plan_add(plan, "delete", object, SVC, "RemoveRegionsFromReplication", in->region,
                    json_pack("{s:s,s:O}", "SecretId", s->secret_id, "RemoveReplicaRegions", drop));
    json_decref(drop);
    if (tag != NULL) {
        snprintf(object, sizeof(object), "owner tag of secret %s", s->secret_id);
        tt_plan_add(plan, "delete", object, SVC, "UntagResource", in->region,
                    json_pack("{s:s,s:[s]}", "SecretId", s->secret_id, "TagKeys", TT_OWNER_TAG));
    }
    return TT_OK;
}

static int sm_iam_replicas(const tt_resource *r)
{
    return r->spec.rotation->nreplica_regions > 0;
}

/*
 * IAM: the secret by name ({secret}-?????? matches the six characters AWS appends); ListSecrets
 * has no resource-level permission. Rotation changes only a secret trimtab tagged as its own.
 */
static const tt_iam_action sm_iam_actions[] = {
    {"secretsmanager:ListSecrets", "ListSecrets", NULL, TT_IAM_NONE, NULL},
    {"secretsmanager:DescribeSecret", "DescribeSecret",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_NONE, NULL},
    {"secretsmanager:ListSecretVersionIds", "ListSecretVersionIds",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_NONE, NULL},
    {"secretsmanager:TagResource", "TagResource",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_TAG_OWNER, NULL},
    {"secretsmanager:UntagResource", "UntagResource",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_UNTAG_OWNER, NULL},
    {"secretsmanager:RotateSecret", "RotateSecret",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_OWNED, NULL},
    {"secretsmanager:CancelRotateSecret", "CancelRotateSecret",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_OWNED, NULL},
    {"secretsmanager:ReplicateSecretToRegions", "ReplicateSecretToRegions",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_OWNED,
     sm_iam_replicas},
    {"secretsmanager:RemoveRegionsFromReplication", "RemoveRegionsFromReplication",
     "arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}", TT_IAM_OWNED,
     sm_iam_replicas},
};
static const tt_iam_needs sm_iam = {TT_IAM_TABLE(sm_iam_actions), NULL};

const tt_provider tt_provider_secretsmanager = {
    .name = "secretsmanager",
    .handles = sm_handles,
    .observe = sm_observe, /* ListSecrets 10 names a call; DescribeSecret for ARNs and replicas */
    .diff = sm_diff,       /* rotation settings, requested rotations, replicas; stuck reported */
    .status = sm_status,   /* rotationEnabled, dates, currentVersionId, lastRotationResult */
    .remove = sm_remove,   /* CancelRotateSecret, the replicas it added, its tag */
    .iam = &sm_iam,
};
