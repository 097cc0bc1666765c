/*
 * The CloudWatch provider: Alarms, metric and composite.
 *
 * One Alarm resource is one CloudWatch alarm named tt_owner_name(r) ("trimtab-<ns>-<name>").
 * Observe reads every alarm of a batch with DescribeAlarms, 100 names a call and both alarm
 * types at once; an alarm's tags (ListTagsForResource) are read only when the memo does not
 * already say the alarm is trimtab's. PutMetricAlarm and PutCompositeAlarm replace the whole
 * alarm, so the diff lays the desired and the observed alarm out the same way, with AWS's
 * defaults filled in on both sides, and compares every field: an in-sync alarm plans nothing,
 * and one drifted field plans one Put carrying every field.
 *
 * What an alarm names is resolved through the engine's dependencies (tt_resource_refs): a
 * scaling policy action becomes the step policy's ARN from the ScalingPolicy's status
 * (policyArns), and a composite rule's Alarm names become those alarms' AWS names from their
 * status. Until they exist the alarm is blocked with DependencyNotReady; the engine queues it
 * again when their status changes. That is also what creates a composite after its children.
 *
 * CloudFront metrics live in us-east-1: the model gives Alarms on a CloudFront target that
 * region, so the engine observes and applies them there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "owner.h"
#include "plan.h"
#include "provider.h"
#include "tt_buf.h"
#include "tt_json.h"
#include "tt_str.h"

#define CW          "cloudwatch"
#define CW_NAMES    100 /* DescribeAlarms takes at most 100 names (and 100 records a page) */
#define CW_NAME_MAX 255 /* AlarmName's length limit */

static int cw_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_ALARM && r->spec.alarm != NULL;
}

static void alarm_name(const tt_resource *r, char *out, size_t len)
{
    tt_owner_name(r, NULL, CW_NAME_MAX, out, len);
}

/* ---- observe ------------------------------------------------------------------------------- */

static json_t *alarms_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group;
    return json_pack("{s:o,s:[ss],s:i}", "AlarmNames", tt_batch_key_list(keys, n), "AlarmTypes",
                     "MetricAlarm", "CompositeAlarm", "MaxRecords", CW_NAMES);
}

/* Files each alarm under the item that asked for it, by type; absent ones are not found. */
static tt_code alarms_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    if (tt_batch_join(b, output, "MetricAlarms", "AlarmName", keys, n, "metricAlarm", NULL) !=
        TT_OK)
        return TT_ENOMEM;
    return tt_batch_join(b, output, "CompositeAlarms", "AlarmName", keys, n, "compositeAlarm",
                         NULL);
}

static const tt_batch_op op_alarms = {CW,    "DescribeAlarms", CW_NAMES,    false,
                                      false, alarms_input,     alarms_join, NULL};

static json_t *tags_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group, (void)n;
    return json_pack("{s:s}", "ResourceARN", keys[0].key);
}

/* CloudWatch lists tags as [{Key, Value}]; the view keeps them as a map for tt_owner_tag_in. */
static tt_code tags_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    json_t *map = json_object(), *t;
    size_t i;

    (void)n;
    if (map == NULL)
        return TT_ENOMEM;
    json_array_foreach(json_object_get(output, "Tags"), i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        if (k != NULL && json_object_set(map, k, json_object_get(t, "Value")) != 0) {
            json_decref(map);
            return TT_ENOMEM;
        }
    }
    return json_object_set_new(tt_batch_view(b, keys[0].item), "tags", map) == 0 ? TT_OK
                                                                                 : TT_ENOMEM;
}

static const tt_batch_op op_tags = {
    CW, "ListTagsForResource", 1, false, false, tags_input, tags_join, NULL};

/* The alarm of an observation, whichever its type, or NULL. */
static const json_t *observed_alarm(const json_t *observed)
{
    const json_t *a = json_object_get(observed, "metricAlarm");

    return a != NULL ? a : json_object_get(observed, "compositeAlarm");
}

/* True when the memo says trimtab made (or adopted) the alarm `name`. */
static bool memo_owns(const json_t *memo, const char *name)
{
    return json_is_true(json_object_get(memo, "owned")) &&
           tt_streq(json_string_value(json_object_get(memo, "alarm")), name);
}

/* After DescribeAlarms: the tags of alarms that exist but are not known to be trimtab's. */
static void read_tags(tt_batch *b, int phase)
{
    if (phase != 1)
        return;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        const tt_observe_item *item = tt_batch_item(b, i);
        const json_t *alarm = observed_alarm(tt_batch_view(b, i));
        const char *arn = json_string_value(json_object_get(alarm, "AlarmArn"));
        char name[CW_NAME_MAX + 1];
        alarm_name(item->r, name, sizeof(name));
        if (!tt_batch_failed(b, i) && arn != NULL && !memo_owns(item->memo, name))
            tt_batch_add(b, &op_tags, "", arn, i);
    }
}

static tt_code cw_observe(struct tt_aws *aws, const char *role_arn, const tt_observe_item *items,
                          size_t n, tt_observe_cb cb, void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    if (tt_batch_on_phase(b, read_tags, err) != TT_OK) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        char name[CW_NAME_MAX + 1];
        alarm_name(items[i].r, name, sizeof(name));
        tt_batch_add(b, &op_alarms, "", name, i);
    }
    return tt_batch_start(b, err);
}

/* ---- the desired alarm --------------------------------------------------------------------- */

/* Appends {Name, Value} to `dims`; counts a failure (out of memory) in `*bad`. */
static void dim(json_t *dims, const char *name, const char *value, int *bad)
{
    *bad |= json_array_append_new(dims, json_pack("{s:s,s:s}", "Name", name, "Value", value));
}

/* The namespace and dimensions (appended to `dims`) a target's metrics are published under. */
static const char *target_metric(const tt_target *t, json_t *dims, int *bad)
{
    char resource[600];

    switch (tt_target_kind_of(t)) {
    case TT_TARGET_ECS:
        dim(dims, "ClusterName", t->ecs->cluster, bad);
        dim(dims, "ServiceName", t->ecs->service, bad);
        return "AWS/ECS";
    case TT_TARGET_RDS_CLUSTER:
        dim(dims, "DBClusterIdentifier", t->rds->cluster, bad);
        return "AWS/RDS";
    case TT_TARGET_RDS_INSTANCE:
        dim(dims, "DBInstanceIdentifier", t->rds->instance, bad);
        return "AWS/RDS";
    case TT_TARGET_ELASTICACHE:
        if (t->elasticache->cache_cluster != NULL)
            dim(dims, "CacheClusterId", t->elasticache->cache_cluster, bad);
        else
            dim(dims, "ReplicationGroupId", t->elasticache->replication_group, bad);
        return "AWS/ElastiCache";
    case TT_TARGET_LAMBDA:
        dim(dims, "FunctionName", t->lambda->function, bad);
        /* An alias's own metrics carry Resource = "<function>:<alias>". */
        if (t->lambda->alias != NULL) {
            snprintf(resource, sizeof(resource), "%s:%s", t->lambda->function, t->lambda->alias);
            dim(dims, "Resource", resource, bad);
        }
        return "AWS/Lambda";
    case TT_TARGET_CLOUDFRONT:
        dim(dims, "DistributionId", t->cloudfront->distribution_id, bad);
        dim(dims, "Region", "Global", bad);
        return "AWS/CloudFront";
    case TT_TARGET_NONE:
        break;
    }
    return NULL;
}

/* Resolving what an alarm names; the first dependency missing blocks the diff. */
struct resolve {
    const tt_diff_input *in;
    tt_diff_output *out;
    int missing;
};

static void not_ready(struct resolve *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void not_ready(struct resolve *rs, const char *fmt, ...)
{
    va_list ap;

    if (rs->missing++ > 0)
        return;
    rs->out->blocked = "DependencyNotReady";
    va_start(ap, fmt);
    vsnprintf(rs->out->message, sizeof(rs->out->message), fmt, ap);
    va_end(ap);
}

/*
 * The ARNs of one action list, in spec order, scaling policies resolved from their status: a new
 * array, or NULL when out of memory.
 */
static json_t *action_arns(struct resolve *rs, const tt_alarm_action *acts, size_t n)
{
    json_t *arns = json_array();

    for (size_t i = 0; arns != NULL && i < n; i++) {
        const tt_scaling_policy_ref *sp = acts[i].scaling_policy;
        const char *arn = acts[i].sns_topic_arn;
        char key[300];
        if (arn == NULL) {
            snprintf(key, sizeof(key), "ScalingPolicy/%s", sp->name);
            arn = json_string_value(json_object_get(
                json_object_get(json_object_get(rs->in->deps, key), "policyArns"), sp->policy));
        }
        if (arn == NULL) {
            not_ready(rs,
                      "waiting for step policy %s of ScalingPolicy %s to exist (its status has no "
                      "policyArns entry yet)",
                      sp->policy, sp->name);
        } else if (json_array_append_new(arns, json_string(arn)) != 0) {
            json_decref(arns);
            arns = NULL;
        }
    }
    return arns;
}

/* Rewriting a composite rule: each Alarm resource name becomes that alarm's AWS name. */
struct rule_rewrite {
    struct resolve *rs;
    const char *copied; /* how far the rule is already in `out` */
    tt_buf out;
    int bad; /* out of memory */
};

static void rule_name(void *ud, const char *name, size_t len)
{
    struct rule_rewrite *rw = ud;
    char key[300];
    const char *aws;
    const json_t *st;

    /* ARNs name alarms outside trimtab: they stay as written. */
    if (len >= 4 && strncmp(name, "arn:", 4) == 0)
        return;
    snprintf(key, sizeof(key), "Alarm/%.*s", (int)len, name);
    st = json_object_get(rw->rs->in->deps, key);
    aws = json_string_value(json_object_get(st, "alarmName"));
    if (aws == NULL || json_object_get(st, "alarmArn") == NULL) {
        not_ready(rw->rs,
                  "waiting for Alarm %.*s to exist in CloudWatch (a composite alarm can only name "
                  "existing alarms)",
                  (int)len, name);
        return;
    }
    rw->bad |= tt_buf_append(&rw->out, rw->copied, (size_t)(name - rw->copied)) != TT_OK ||
               tt_buf_puts(&rw->out, aws) != TT_OK;
    rw->copied = name + len;
}

/*
 * The composite rule with AWS names (a new string); NULL while a name is not ready (rs says
 * which) or with `err` set.
 */
static json_t *composite_rule(struct resolve *rs, const char *rule, tt_error *err)
{
    struct rule_rewrite rw = {rs, rule, {0}, 0};
    json_t *out = NULL;

    tt_buf_init(&rw.out);
    if (tt_composite_rule_names(rule, rule_name, &rw, err) != TT_OK || rs->missing > 0)
        goto out;
    rw.bad |= tt_buf_puts(&rw.out, rw.copied) != TT_OK;
    if (rw.bad || (out = json_string(tt_buf_str(&rw.out))) == NULL)
        tt_error_set(err, TT_ENOMEM, "out of memory rewriting the composite rule");
out:
    tt_buf_cleanup(&rw.out);
    return out;
}

/* Sets `key` of `o` to `v` (stolen); counts a failure (out of memory, or `v` NULL) in `*bad`. */
static void set(json_t *o, const char *key, json_t *v, int *bad)
{
    *bad |= json_object_set_new(o, key, v) != 0;
}

/* The metric alarm's fields of the Put input. */
static void metric_fields(const tt_alarm_spec *a, json_t *input, int *bad)
{
    json_t *dims = json_array();
    const char *ns;

    if (dims == NULL) {
        *bad = 1;
        return;
    }
    if (a->metric != NULL) {
        ns = a->metric->namespace_;
        for (size_t i = 0; i < a->metric->ndimensions; i++)
            dim(dims, a->metric->dimensions[i].key, a->metric->dimensions[i].value, bad);
    } else {
        ns = target_metric(a->target, dims, bad);
    }
    set(input, "Namespace", json_string(ns), bad);
    set(input, "MetricName",
        json_string(a->metric != NULL ? a->metric->metric_name : a->metric_name), bad);
    set(input, "Dimensions", dims, bad);
    if (a->extended_statistic != NULL)
        set(input, "ExtendedStatistic", json_string(a->extended_statistic), bad);
    else
        set(input, "Statistic", json_string(a->statistic), bad);
    set(input, "Period", json_integer(a->period.v), bad);
    set(input, "EvaluationPeriods", json_integer(a->evaluation_periods.v), bad);
    if (a->datapoints_to_alarm.set)
        set(input, "DatapointsToAlarm", json_integer(a->datapoints_to_alarm.v), bad);
    set(input, "Threshold", json_real(a->threshold.v), bad);
    set(input, "ComparisonOperator", json_string(a->comparison), bad);
    set(input, "TreatMissingData", json_string(a->treat_missing_data), bad);
    if (a->unit != NULL)
        set(input, "Unit", json_string(a->unit), bad);
}

/*
 * The full Put input for the spec (a new object; no Tags), or NULL with out->blocked set while a
 * dependency is missing, or NULL with `err` set.
 */
static json_t *desired_input(const tt_diff_input *in, const char *name, tt_diff_output *out,
                             tt_error *err)
{
    const tt_alarm_spec *a = in->r->spec.alarm;
    const tt_alarm_actions none = {0};
    const tt_alarm_actions *acts = a->actions != NULL ? a->actions : &none;
    struct resolve rs = {in, out, 0};
    json_t *input =
        json_pack("{s:s,s:b}", "AlarmName", name, "ActionsEnabled", a->actions_enabled.v != 0);
    int bad = input == NULL;

    if (bad)
        goto out;
    if (a->description != NULL)
        set(input, "AlarmDescription", json_string(a->description), &bad);
    set(input, "AlarmActions", action_arns(&rs, acts->alarm, acts->nalarm), &bad);
    set(input, "OKActions", action_arns(&rs, acts->ok, acts->nok), &bad);
    set(input, "InsufficientDataActions",
        action_arns(&rs, acts->insufficient_data, acts->ninsufficient_data), &bad);
    if (a->composite != NULL) {
        json_t *rule = composite_rule(&rs, a->composite->rule, err);
        if (rule == NULL && rs.missing == 0) {
            json_decref(input);
            return NULL; /* err says why */
        }
        if (rule != NULL)
            set(input, "AlarmRule", rule, &bad);
    } else {
        metric_fields(a, input, &bad);
    }
out:
    if (bad)
        tt_error_set(err, TT_ENOMEM, "out of memory planning %s", in->r->key);
    if (bad || rs.missing > 0) {
        json_decref(input);
        return NULL;
    }
    return input;
}

/* ---- comparing ----------------------------------------------------------------------------- */

/* What a default means when AWS leaves a field out. */
enum dflt { D_NULL, D_EMPTY_STRING, D_TRUE, D_EMPTY_LIST, D_MISSING, D_EVAL_PERIODS };

/* Every field of an alarm that a Put sets, with the spec's name for it and AWS's default. */
static const struct field {
    const char *aws;
    const char *spec;
    enum dflt dflt;
    bool composite; /* also a field of composite alarms */
    bool metric;    /* a field of metric alarms */
} fields[] = {
    {"Namespace", "namespace", D_NULL, false, true},
    {"MetricName", "metricName", D_NULL, false, true},
    {"Dimensions", "dimensions", D_EMPTY_LIST, false, true},
    {"Statistic", "statistic", D_NULL, false, true},
    {"ExtendedStatistic", "extendedStatistic", D_NULL, false, true},
    {"Period", "period", D_NULL, false, true},
    {"EvaluationPeriods", "evaluationPeriods", D_NULL, false, true},
    {"DatapointsToAlarm", "datapointsToAlarm", D_EVAL_PERIODS, false, true},
    {"Threshold", "threshold", D_NULL, false, true},
    {"ComparisonOperator", "comparison", D_NULL, false, true},
    {"TreatMissingData", "treatMissingData", D_MISSING, false, true},
    {"Unit", "unit", D_NULL, false, true},
    /* Set outside trimtab (metric math, percentile sampling); a Put without them drops them. */
    {"Metrics", "metrics", D_EMPTY_LIST, false, true},
    {"ThresholdMetricId", "thresholdMetricId", D_NULL, false, true},
    {"EvaluateLowSampleCountPercentile", "evaluateLowSampleCountPercentile", D_EMPTY_STRING, false,
     true},
    {"AlarmRule", "composite.rule", D_NULL, true, false},
    {"ActionsSuppressor", "actionsSuppressor", D_NULL, true, false},
    {"AlarmDescription", "description", D_EMPTY_STRING, true, true},
    {"ActionsEnabled", "actionsEnabled", D_TRUE, true, true},
    {"AlarmActions", "actions.alarm", D_EMPTY_LIST, true, true},
    {"OKActions", "actions.ok", D_EMPTY_LIST, true, true},
    {"InsufficientDataActions", "actions.insufficientData", D_EMPTY_LIST, true, true},
};

static int by_string(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    char *sx = tt_json_dumps(x, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    char *sy = tt_json_dumps(y, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    int c = strcmp(sx ? sx : "", sy ? sy : "");

    free(sx);
    free(sy);
    return c;
}

/* A field of `alarm` (a Put input or a DescribeAlarms entry) with AWS's default applied. */
static json_t *field_value(const json_t *alarm, const struct field *f)
{
    const json_t *v = json_object_get(alarm, f->aws);

    if (v != NULL && !json_is_null(v))
        /* AWS keeps actions and dimensions as sets. */
        return json_is_array(v) ? tt_json_sorted(v, by_string) : json_incref((json_t *)v);
    switch (f->dflt) {
    case D_EMPTY_STRING:
        return json_string("");
    case D_TRUE:
        return json_true();
    case D_EMPTY_LIST:
        return json_array();
    case D_MISSING:
        return json_string("missing");
    case D_EVAL_PERIODS:
        return json_incref(json_object_get(alarm, "EvaluationPeriods"));
    case D_NULL:
        break;
    }
    return json_null();
}

/* The changes from `have` (NULL: nothing exists) to `want`, every field of the alarm's type. */
static json_t *compare(const json_t *want, const json_t *have, bool composite)
{
    json_t *changes = json_array();

    for (size_t i = 0; changes != NULL && i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *w, *h;
        if (composite ? !fields[i].composite : !fields[i].metric)
            continue;
        w = field_value(want, &fields[i]);
        h = have != NULL ? field_value(have, &fields[i]) : json_null();
        /* On a create, only what the alarm will have is worth showing. */
        if (have != NULL || !json_is_null(w))
            tt_plan_compare(changes, fields[i].spec, w, have != NULL ? h : NULL);
        json_decref(w);
        json_decref(h);
    }
    return changes;
}

/* ---- diff ---------------------------------------------------------------------------------- */

/* Appends the Put that creates or replaces the alarm; `changes` is stolen. */
static void put(json_t *plan, const char *verb, const char *name, bool composite,
                const char *region, json_t *input, json_t *changes)
{
    char object[400];
    json_t *action;

    snprintf(object, sizeof(object), "%s alarm %s", composite ? "composite" : "metric", name);
    action = tt_plan_add(plan, verb, object, CW, composite ? "PutCompositeAlarm" : "PutMetricAlarm",
                         region, input);
    if (action != NULL)
        json_object_set_new(action, "changes", changes);
    else
        json_decref(changes);
}

static void delete_alarm(json_t *plan, const char *name, bool composite, const char *why,
                         const char *region)
{
    char object[400];
    json_t *action;

    snprintf(object, sizeof(object), "alarm %s%s", name, why);
    action = tt_plan_add(plan, "delete", object, CW, "DeleteAlarms", region,
                         json_pack("{s:[s]}", "AlarmNames", name));
    /* Metric alarms of many resources go in one DeleteAlarms (100 names a call); AWS refuses
     * two composite alarms in one call, so those go alone. */
    if (action != NULL && !composite)
        json_object_set_new(json_object_get(action, "call"), "merge",
                            json_pack("{s:s,s:i}", "member", "AlarmNames", "max", 100));
}

/* Decides whether trimtab may manage the existing alarm; plans the owner tag when adopting. */
static int check_ownership(const tt_diff_input *in, const json_t *alarm, const char *name,
                           tt_diff_output *out)
{
    char owner[600], what[400];
    tt_owner_verdict verdict;
    json_t *action;

    snprintf(what, sizeof(what), "CloudWatch alarm %s", name);
    verdict = tt_owner_check(in->r, memo_owns(in->memo, name),
                             tt_owner_tag_in(json_object_get(in->observed, "tags")), what, out);
    if (verdict != TT_OWNER_ADOPT)
        return verdict == TT_OWNER_OURS ? 0 : -1; /* refused or conflicting: out says why */
    tt_owner_value(in->r, owner, sizeof(owner));
    snprintf(what, sizeof(what), "alarm %s (adopt)", name);
    action = tt_plan_add(out->plan, "tag", what, CW, "TagResource", in->region,
                         json_pack("{s:O,s:[{s:s,s:s}]}", "ResourceARN",
                                   json_object_get(alarm, "AlarmArn"), "Tags", "Key", TT_OWNER_TAG,
                                   "Value", owner));
    if (action != NULL)
        tt_action_change(action, TT_OWNER_TAG, NULL, json_string(owner));
    return 0;
}

static tt_code cw_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    bool composite = in->r->spec.alarm->composite != NULL;
    const json_t *have =
        json_object_get(in->observed, composite ? "compositeAlarm" : "metricAlarm");
    const json_t *other =
        json_object_get(in->observed, composite ? "metricAlarm" : "compositeAlarm");
    const json_t *existing = have != NULL ? have : other;
    char name[CW_NAME_MAX + 1], owner[600];
    json_t *want = NULL, *changes;
    tt_code rc = TT_OK;

    alarm_name(in->r, name, sizeof(name));
    if (existing != NULL && check_ownership(in, existing, name, out) != 0)
        goto out;
    want = desired_input(in, name, out, err);
    if (want == NULL) {
        if (out->blocked == NULL)
            rc = err->code;
        json_array_clear(out->plan); /* an adoption tag waits for the dependency too */
        goto out;
    }
    if (have == NULL) {
        /* An alarm of the other type under this name cannot be turned into this one. */
        if (other != NULL)
            delete_alarm(out->plan, name, !composite,
                         composite ? " (a metric alarm; the spec is composite)"
                                   : " (a composite alarm; the spec is a metric)",
                         in->region);
        tt_owner_value(in->r, owner, sizeof(owner));
        changes = compare(want, NULL, composite);
        json_object_set_new(want, "Tags",
                            json_pack("[{s:s,s:s}]", "Key", TT_OWNER_TAG, "Value", owner));
        put(out->plan, "create", name, composite, in->region, json_incref(want), changes);
    } else {
        changes = compare(want, have, composite);
        if (json_array_size(changes) > 0)
            put(out->plan, "update", name, composite, in->region, json_incref(want), changes);
        else
            json_decref(changes);
    }
    out->memo = json_pack("{s:b,s:s}", "owned", 1, "alarm", name);
out:
    json_decref(want);
    return rc;
}

static void cw_status(const tt_diff_input *in, json_t *status)
{
    const json_t *alarm = observed_alarm(in->observed);
    char name[CW_NAME_MAX + 1];

    alarm_name(in->r, name, sizeof(name));
    json_object_set_new(status, "alarmName", json_string(name));
    if (alarm == NULL) {
        /* Gone: no stale ARN for composites to name. */
        json_object_del(status, "alarmArn");
        json_object_del(status, "state");
        json_object_del(status, "stateReason");
        json_object_del(status, "stateUpdatedTime");
        return;
    }
    json_object_set(status, "alarmArn", json_object_get(alarm, "AlarmArn"));
    json_object_set(status, "state", json_object_get(alarm, "StateValue"));
    json_object_set(status, "stateReason", json_object_get(alarm, "StateReason"));
    json_object_set(status, "stateUpdatedTime", json_object_get(alarm, "StateUpdatedTimestamp"));
}

/* Deletes the alarm when trimtab owns it (memo or owner tag); anyone else's stays. */
static tt_code cw_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    const json_t *alarm = observed_alarm(in->observed);
    char name[CW_NAME_MAX + 1];

    (void)err;
    alarm_name(in->r, name, sizeof(name));
    if (alarm != NULL &&
        tt_owner_may_delete(in->r, memo_owns(in->memo, name),
                            tt_owner_tag_in(json_object_get(in->observed, "tags"))))
        delete_alarm(plan, name, json_object_get(in->observed, "compositeAlarm") != NULL, "",
                     in->region);
    return TT_OK;
}

static int cw_iam_metric(const tt_resource *r)
{
    return r->spec.alarm->composite == NULL;
}

static int cw_iam_composite(const tt_resource *r)
{
    return r->spec.alarm->composite != NULL;
}

/*
 * IAM: alarms by their name prefix trimtab-<namespace>-. A Put with Tags also needs TagResource
 * (AWS checks tag-on-create), so TagResource is always needed, limited to the owner tag.
 */
static const tt_iam_action cw_iam_actions[] = {
    {"cloudwatch:DescribeAlarms", "DescribeAlarms", NULL, TT_IAM_NONE, NULL},
    {"cloudwatch:ListTagsForResource", "ListTagsForResource",
     "arn:{partition}:cloudwatch:{region}:{account}:alarm:trimtab-{namespace}-*", TT_IAM_NONE,
     NULL},
    {"cloudwatch:PutMetricAlarm", "PutMetricAlarm",
     "arn:{partition}:cloudwatch:{region}:{account}:alarm:trimtab-{namespace}-*", TT_IAM_NONE,
     cw_iam_metric},
    {"cloudwatch:PutCompositeAlarm", "PutCompositeAlarm",
     "arn:{partition}:cloudwatch:{region}:{account}:alarm:trimtab-{namespace}-*", TT_IAM_NONE,
     cw_iam_composite},
    {"cloudwatch:TagResource", "TagResource PutMetricAlarm PutCompositeAlarm",
     "arn:{partition}:cloudwatch:{region}:{account}:alarm:trimtab-{namespace}-*", TT_IAM_TAG_OWNER,
     NULL},
    {"cloudwatch:DeleteAlarms", "DeleteAlarms",
     "arn:{partition}:cloudwatch:{region}:{account}:alarm:trimtab-{namespace}-*", TT_IAM_OWNED,
     NULL},
};
static const tt_iam_needs cw_iam = {TT_IAM_TABLE(cw_iam_actions), NULL};

const tt_provider tt_provider_cloudwatch = {
    .name = "cloudwatch",
    .handles = cw_handles,
    .observe = cw_observe,
    .diff = cw_diff,
    .status = cw_status,
    .remove = cw_remove,
    .iam = &cw_iam,
};
