/*
 * tt_import_map — the pure part of `trimtab import`: an account document (import.h) becomes
 * manifests and a list of what cannot be expressed. No I/O, no clock: the same account always
 * gives the same bytes.
 *
 * Rules (docs/import.md):
 *   - every resource gets adopt: true, deletionPolicy: Retain and the annotation
 *     trimtab.dev/imported, so trimtab manages the objects in place without tagging them and never
 *     deletes what another tool made; AWS names that are not trimtab's own naming go in
 *     trimtab.dev/external-name[.<part>] annotations;
 *   - objects trimtab already owns (named "trimtab-…") are left to the manifests that own them;
 *   - an object with a setting the spec cannot express is skipped whole, with the reason:
 *     importing it without the setting would make trimtab remove it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appautoscaling.h"
#include "diag.h"
#include "import.h"
#include "model.h"
#include "plan.h"
#include "tt_buf.h"
#include "tt_str.h"

#define NAME_MAX_LEN 63
/* A part's name goes into an annotation key "trimtab.dev/external-name.<part>", whose name half
 * is limited to 63 characters. */
#define PART_MAX_LEN (63 - 14)

/* The state of one mapping: what is built so far and the names already taken. */
struct map {
    const tt_import_opts *o;
    json_t *resources;
    json_t *skipped;
    json_t *names;       /* {"Kind": {name: identity}}: names taken per kind */
    json_t *step_arns;   /* {PolicyARN: {"name": resource, "policy": part}} */
    json_t *alarm_names; /* {AWS alarm name: resource name} for composite rules */
    int bad;             /* out of memory */
};

/* tt_import_name, at most `max` characters. */
static void name_within(const char *aws_name, size_t max, char *out, size_t outlen)
{
    char full[1024];
    size_t n = 0, limit = outlen - 1 < max ? outlen - 1 : max;

    for (const char *p = aws_name; *p != '\0' && n < sizeof(full) - 1; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '-';
        if (c == '-' && (n == 0 || full[n - 1] == '-'))
            continue; /* no leading '-', no runs */
        full[n++] = c;
    }
    while (n > 0 && full[n - 1] == '-')
        n--;
    if (n == 0) {
        snprintf(out, outlen, "imported");
        return;
    }
    full[n] = '\0';
    if (n <= limit) {
        memcpy(out, full, n + 1);
        return;
    }
    /* Cut: a readable prefix, then a hash of the AWS name so two long names stay apart. */
    n = limit - 9;
    while (n > 0 && full[n - 1] == '-')
        n--;
    snprintf(out, outlen, "%.*s-%08x", (int)n, full,
             (unsigned)(tt_hash64_str(aws_name) & 0xffffffffu));
}

void tt_import_name(const char *aws_name, char *out, size_t outlen)
{
    name_within(aws_name, NAME_MAX_LEN, out, outlen);
}

/*
 * A name for `aws_name` not yet in `taken` (a JSON object used as a set; the name is added with
 * `identity` as its value). A collision gets "-" and 5 hex digits of a hash of `identity` — the
 * object's AWS identity — so the same object gets the same name on every import.
 */
static void unique_name(struct map *m, json_t *taken, const char *aws_name, const char *identity,
                        size_t max, char *out, size_t outlen)
{
    char base[NAME_MAX_LEN + 1];

    name_within(aws_name, max, base, sizeof(base));
    if (json_object_get(taken, base) == NULL) {
        snprintf(out, outlen, "%s", base);
    } else {
        uint64_t h = tt_hash64_str(identity);
        size_t keep = strlen(base) > max - 6 ? max - 6 : strlen(base);
        while (keep > 0 && base[keep - 1] == '-')
            keep--;
        for (int salt = 0;; salt++) {
            snprintf(out, outlen, "%.*s-%05x", (int)keep, base, (unsigned)(h & 0xfffffu));
            if (json_object_get(taken, out) == NULL || salt > 16)
                break;
            h = h * 1099511628211u + 1; /* another colliding hash: try the next one */
        }
    }
    m->bad |= json_object_set_new(taken, out, json_string(identity)) != 0;
}

static json_t *taken_for(struct map *m, const char *kind)
{
    json_t *t = json_object_get(m->names, kind);

    if (t == NULL) {
        t = json_object();
        m->bad |= t == NULL || json_object_set_new(m->names, kind, t) != 0;
    }
    return t;
}

static void set(struct map *m, json_t *obj, const char *key, json_t *v)
{
    m->bad |= v == NULL || json_object_set_new(obj, key, v) != 0;
}

static void push(struct map *m, json_t *arr, json_t *v)
{
    m->bad |= v == NULL || json_array_append_new(arr, v) != 0;
}

static void skip(struct map *m, const char *kind, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void skip(struct map *m, const char *kind, const char *object, const char *fmt, ...)
{
    char reason[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    push(m, m->skipped,
         json_pack("{s:s,s:s,s:s}", "kind", kind, "object", object, "reason", reason));
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A number as JSON: integers stay integers so the YAML reads "70", not "70.0". */
static json_t *num(const json_t *v)
{
    double d;

    if (json_is_integer(v))
        return json_integer(json_integer_value(v));
    d = json_number_value(v);
    if (d == (double)(json_int_t)d && d > -1e15 && d < 1e15)
        return json_integer((json_int_t)d);
    return json_real(d);
}

static int is_trimtabs(const char *aws_name)
{
    return aws_name != NULL && strncmp(aws_name, "trimtab-", 8) == 0;
}

/*
 * Starts a resource: apiVersion, kind, metadata (with the import annotations) and a spec with the
 * common fields. Returns the spec (borrowed) and the annotations object in *ann (borrowed).
 */
static json_t *resource(struct map *m, const char *kind, const char *name, const char *dir,
                        json_t **ann)
{
    json_t *man = json_object(), *meta = json_object(), *spec = json_object();
    json_t *a = json_object();

    if (man == NULL || meta == NULL || spec == NULL || a == NULL) {
        json_decref(man), json_decref(meta), json_decref(spec), json_decref(a);
        m->bad = 1;
        return NULL;
    }
    set(m, man, "apiVersion", json_string(TT_API_VERSION));
    set(m, man, "kind", json_string(kind));
    set(m, meta, "name", json_string(name));
    set(m, meta, "namespace", json_string(m->o->namespace_));
    set(m, a, TT_ANN_IMPORTED, json_string("true"));
    set(m, meta, "annotations", a);
    set(m, man, "metadata", meta);
    /* Budgets are global: a region there only draws a warning. */
    if (strcmp(kind, "Budget") != 0)
        set(m, spec, "region", json_string(m->o->region));
    set(m, spec, "adopt", json_true());
    set(m, spec, "deletionPolicy", json_string("Retain"));
    set(m, man, "spec", spec);
    push(m, m->resources,
         json_pack("{s:s,s:s,s:s,s:o}", "kind", kind, "name", name, "dir", dir, "manifest", man));
    *ann = a;
    return spec;
}

/* ---- ScalingPolicy: scalable targets ----------------------------------------------------- */

/* The spec.target of an Application Auto Scaling resource id, or NULL (not one trimtab scales). */
static json_t *aas_target(const tt_aas_kind *k, const char *rid, const char **dir, char *base,
                          size_t baselen)
{
    const char *a, *b;

    switch (k->target) {
    case TT_TARGET_ECS: /* service/<cluster>/<service> */
        if (strncmp(rid, "service/", 8) != 0 || (a = strchr(rid + 8, '/')) == NULL ||
            strchr(a + 1, '/') != NULL)
            return NULL;
        *dir = "ecs";
        snprintf(base, baselen, "%s", a + 1);
        return json_pack("{s:{s:s%,s:s}}", "ecs", "cluster", rid + 8, (size_t)(a - rid - 8),
                         "service", a + 1);
    case TT_TARGET_RDS_CLUSTER: /* cluster:<id> */
        if (strncmp(rid, "cluster:", 8) != 0)
            return NULL;
        *dir = "rds";
        snprintf(base, baselen, "%s-readers", rid + 8);
        return json_pack("{s:{s:s}}", "rds", "cluster", rid + 8);
    case TT_TARGET_ELASTICACHE: /* replication-group/<id> */
        if (strncmp(rid, "replication-group/", 18) != 0)
            return NULL;
        *dir = "elasticache";
        snprintf(base, baselen, "%s-%s", rid + 18, k->variant);
        return json_pack("{s:{s:s,s:s}}", "elasticache", "replicationGroup", rid + 18, "dimension",
                         k->variant);
    case TT_TARGET_LAMBDA: /* function:<name>:<alias> */
        if (strncmp(rid, "function:", 9) != 0 || (a = strchr(rid + 9, ':')) == NULL ||
            strchr(a + 1, ':') != NULL)
            return NULL;
        b = a + 1;
        *dir = "lambda";
        snprintf(base, baselen, "%.*s-%s", (int)(a - rid - 9), rid + 9, b);
        return json_pack("{s:{s:s%,s:s}}", "lambda", "function", rid + 9, (size_t)(a - rid - 9),
                         "alias", b);
    default:
        return NULL;
    }
}

static const tt_aas_kind *aas_kind(const char *ns, const char *dim)
{
    for (const tt_aas_kind *k = tt_aas_kinds; k->target != TT_TARGET_NONE; k++) {
        if (ns != NULL && dim != NULL && strcmp(k->service_namespace, ns) == 0 &&
            strcmp(k->dimension, dim) == 0)
            return k;
    }
    return NULL;
}

/* The key as people read it: "ecs service/prod/web (ecs:service:DesiredCount)". */
static void target_label(const char *key, char *out, size_t len)
{
    const char *a = strchr(key, '|'), *b = a ? strchr(a + 1, '|') : NULL;

    if (b == NULL)
        snprintf(out, len, "%s", key);
    else
        snprintf(out, len, "%.*s %.*s (%s)", (int)(a - key), key, (int)(b - a - 1), a + 1, b + 1);
}

static void target_key(const json_t *o, char *out, size_t len)
{
    snprintf(out, len, "%s|%s|%s", str(o, "ServiceNamespace") ? str(o, "ServiceNamespace") : "",
             str(o, "ResourceId") ? str(o, "ResourceId") : "",
             str(o, "ScalableDimension") ? str(o, "ScalableDimension") : "");
}

/* One part name (policy or scheduled action) for the AWS name, unique within the resource, and
 * its external-name annotation. */
static void part_name(struct map *m, json_t *parts, json_t *ann, const char *aws_name, char *out,
                      size_t outlen)
{
    char key[300];

    unique_name(m, parts, aws_name, aws_name, PART_MAX_LEN, out, outlen);
    snprintf(key, sizeof(key), "%s.%s", TT_ANN_EXTERNAL_NAME, out);
    set(m, ann, key, json_string(aws_name));
}

/* Why a target-tracking configuration cannot be written as spec.targetTracking[], or NULL. */
static const char *tt_config_problem(const tt_aas_kind *k, const json_t *c)
{
    const json_t *pre = json_object_get(c, "PredefinedMetricSpecification");
    const json_t *cust = json_object_get(c, "CustomizedMetricSpecification");
    const char *type = str(pre, "PredefinedMetricType");

    if (cust != NULL && json_array_size(json_object_get(cust, "Metrics")) > 0)
        return "its customized metric is metric math (Metrics), which targetTracking cannot "
               "express";
    if (pre != NULL) {
        for (size_t i = 0; type != NULL && k->metrics[i] != NULL; i++) {
            if (strcmp(k->metrics[i], type) == 0)
                return NULL;
        }
        return "its predefined metric is not one trimtab accepts for this target";
    }
    if (cust == NULL || str(cust, "MetricName") == NULL || str(cust, "Namespace") == NULL)
        return "it has neither a predefined nor a single customized metric";
    return NULL;
}

static json_t *target_tracking(struct map *m, const char *name, const json_t *c)
{
    const json_t *pre = json_object_get(c, "PredefinedMetricSpecification");
    const json_t *cust = json_object_get(c, "CustomizedMetricSpecification");
    json_t *e = json_object(), *v;

    if (e == NULL) {
        m->bad = 1;
        return NULL;
    }
    set(m, e, "name", json_string(name));
    if (pre != NULL) {
        set(m, e, "predefinedMetric", json_string(str(pre, "PredefinedMetricType")));
        if (str(pre, "ResourceLabel") != NULL)
            set(m, e, "resourceLabel", json_string(str(pre, "ResourceLabel")));
    } else {
        json_t *cm = json_object(), *dims = json_object(), *d;
        size_t i;
        set(m, cm, "namespace", json_string(str(cust, "Namespace")));
        set(m, cm, "metricName", json_string(str(cust, "MetricName")));
        if (str(cust, "Statistic") != NULL)
            set(m, cm, "statistic", json_string(str(cust, "Statistic")));
        if (str(cust, "Unit") != NULL)
            set(m, cm, "unit", json_string(str(cust, "Unit")));
        json_array_foreach(json_object_get(cust, "Dimensions"), i, d)
        {
            if (str(d, "Name") != NULL && str(d, "Value") != NULL)
                set(m, dims, str(d, "Name"), json_string(str(d, "Value")));
        }
        if (json_object_size(dims) > 0)
            set(m, cm, "dimensions", dims);
        else
            json_decref(dims);
        set(m, e, "customMetric", cm);
    }
    set(m, e, "targetValue", num(json_object_get(c, "TargetValue")));
    if ((v = json_object_get(c, "ScaleOutCooldown")) != NULL)
        set(m, e, "scaleOutCooldown", num(v));
    if ((v = json_object_get(c, "ScaleInCooldown")) != NULL)
        set(m, e, "scaleInCooldown", num(v));
    if (json_is_true(json_object_get(c, "DisableScaleIn")))
        set(m, e, "disableScaleIn", json_true());
    return e;
}

static json_t *step_scaling(struct map *m, const char *name, const json_t *c)
{
    json_t *e = json_object(), *steps = json_array(), *v;
    const json_t *s;
    size_t i;

    if (e == NULL || steps == NULL) {
        json_decref(e), json_decref(steps);
        m->bad = 1;
        return NULL;
    }
    set(m, e, "name", json_string(name));
    if (str(c, "AdjustmentType") != NULL)
        set(m, e, "adjustmentType", json_string(str(c, "AdjustmentType")));
    if ((v = json_object_get(c, "Cooldown")) != NULL)
        set(m, e, "cooldown", num(v));
    if (str(c, "MetricAggregationType") != NULL)
        set(m, e, "metricAggregationType", json_string(str(c, "MetricAggregationType")));
    if ((v = json_object_get(c, "MinAdjustmentMagnitude")) != NULL)
        set(m, e, "minAdjustmentMagnitude", num(v));
    json_array_foreach(json_object_get(c, "StepAdjustments"), i, s)
    {
        json_t *st = json_object();
        if (st == NULL) {
            m->bad = 1;
            break;
        }
        if ((v = json_object_get(s, "MetricIntervalLowerBound")) != NULL)
            set(m, st, "lower", num(v));
        if ((v = json_object_get(s, "MetricIntervalUpperBound")) != NULL)
            set(m, st, "upper", num(v));
        set(m, st, "adjustment", num(json_object_get(s, "ScalingAdjustment")));
        push(m, steps, st);
    }
    set(m, e, "steps", steps);
    return e;
}

/* A predictive customized metric ({"MetricDataQueries": [one MetricStat]}) as the spec writes it,
 * or NULL when it is metric math or several queries. */
static json_t *predictive_metric(struct map *m, const json_t *spec)
{
    const json_t *q = json_array_get(json_object_get(spec, "MetricDataQueries"), 0);
    const json_t *stat = json_object_get(q, "MetricStat"),
                 *metric = json_object_get(stat, "Metric");
    const json_t *d;
    json_t *out, *dims;
    size_t i;

    if (json_array_size(json_object_get(spec, "MetricDataQueries")) != 1 || stat == NULL ||
        str(metric, "Namespace") == NULL || str(metric, "MetricName") == NULL ||
        str(stat, "Stat") == NULL)
        return NULL;
    out = json_pack("{s:s,s:s}", "namespace", str(metric, "Namespace"), "metricName",
                    str(metric, "MetricName"));
    dims = json_object();
    json_array_foreach(json_object_get(metric, "Dimensions"), i, d)
    {
        if (str(d, "Name") != NULL && str(d, "Value") != NULL)
            set(m, dims, str(d, "Name"), json_string(str(d, "Value")));
    }
    if (out != NULL && json_object_size(dims) > 0)
        set(m, out, "dimensions", dims);
    else
        json_decref(dims);
    if (out != NULL) {
        set(m, out, "statistic", json_string(str(stat, "Stat")));
        if (str(stat, "Unit") != NULL)
            set(m, out, "unit", json_string(str(stat, "Unit")));
    }
    return out;
}

/* spec.predictive[] from a PredictiveScalingPolicyConfiguration, or NULL with *why set. */
static json_t *predictive(struct map *m, const char *name, const json_t *c, const char **why)
{
    static const char *const predefined[][2] = {
        {"PredefinedMetricPairSpecification", "metricPair"},
        {"PredefinedScalingMetricSpecification", "scalingMetric"},
        {"PredefinedLoadMetricSpecification", "loadMetric"}};
    static const char *const custom[][2] = {
        {"CustomizedScalingMetricSpecification", "customScalingMetric"},
        {"CustomizedLoadMetricSpecification", "customLoadMetric"},
        {"CustomizedCapacityMetricSpecification", "customCapacityMetric"}};
    const json_t *spec = json_array_get(json_object_get(c, "MetricSpecifications"), 0), *v;
    json_t *e;

    if (json_array_size(json_object_get(c, "MetricSpecifications")) != 1) {
        *why = "predictive[] takes exactly one metric specification";
        return NULL;
    }
    if ((e = json_pack("{s:s}", "name", name)) == NULL) {
        m->bad = 1;
        *why = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < 3; i++) {
        const json_t *p = json_object_get(spec, predefined[i][0]);
        if (p == NULL)
            continue;
        set(m, e, predefined[i][1], json_string(str(p, "PredefinedMetricType")));
        if (str(p, "ResourceLabel") != NULL)
            set(m, e, "resourceLabel", json_string(str(p, "ResourceLabel")));
    }
    for (size_t i = 0; i < 3; i++) {
        const json_t *q = json_object_get(spec, custom[i][0]);
        json_t *cm;
        if (q == NULL)
            continue;
        if ((cm = predictive_metric(m, q)) == NULL) {
            json_decref(e);
            *why = "a customized metric is metric math or several queries";
            return NULL;
        }
        set(m, e, custom[i][1], cm);
    }
    set(m, e, "targetValue", num(json_object_get(spec, "TargetValue")));
    if (str(c, "Mode") != NULL)
        set(m, e, "mode", json_string(str(c, "Mode")));
    if ((v = json_object_get(c, "SchedulingBufferTime")) != NULL)
        set(m, e, "schedulingBufferTime", num(v));
    if (str(c, "MaxCapacityBreachBehavior") != NULL)
        set(m, e, "maxCapacityBreachBehavior", json_string(str(c, "MaxCapacityBreachBehavior")));
    if ((v = json_object_get(c, "MaxCapacityBuffer")) != NULL)
        set(m, e, "maxCapacityBuffer", num(v));
    return e;
}

/* The policies of the target `key`, in `policies` order (sorted by name by the caller). */
static void map_policies(struct map *m, const tt_aas_kind *k, const char *key, const char *rname,
                         json_t *spec, json_t *ann, json_t *parts, const json_t *policies)
{
    const json_t *p;
    size_t i;
    char pkey[900], part[NAME_MAX_LEN + 1], object[1900], label[900];

    json_array_foreach(policies, i, p)
    {
        const char *pname = str(p, "PolicyName"), *type = str(p, "PolicyType");
        const char *problem = NULL, *field = NULL;
        json_t *entry = NULL;

        target_key(p, pkey, sizeof(pkey));
        if (pname == NULL || type == NULL || strcmp(pkey, key) != 0)
            continue;
        target_label(key, label, sizeof(label));
        snprintf(object, sizeof(object), "policy %s on %s", pname, label);
        if (is_trimtabs(pname)) {
            skip(m, "ScalingPolicy", object, "named by trimtab: its own manifest manages it");
            continue;
        }
        if (strcmp(type, "TargetTrackingScaling") == 0) {
            const json_t *c = json_object_get(p, "TargetTrackingScalingPolicyConfiguration");
            problem = tt_config_problem(k, c);
            field = "targetTracking";
        } else if (strcmp(type, "StepScaling") == 0) {
            if (k->target == TT_TARGET_ELASTICACHE || k->target == TT_TARGET_LAMBDA)
                problem = "trimtab offers no step scaling for this target";
            field = "stepScaling";
        } else if (strcmp(type, "PredictiveScaling") == 0) {
            if (k->target != TT_TARGET_ECS)
                problem = "trimtab offers predictive scaling for ECS services only";
            field = "predictive";
        } else {
            problem = "trimtab does not express this policy type";
        }
        if (problem != NULL) {
            skip(m, "ScalingPolicy", object,
                 "%s (%s): left as it is; trimtab does not touch "
                 "policies it does not list",
                 problem, type);
            continue;
        }
        if (strcmp(field, "predictive") == 0) {
            const char *why = NULL;
            json_t *probe = predictive(
                m, "probe", json_object_get(p, "PredictiveScalingPolicyConfiguration"), &why);
            if (probe == NULL) {
                skip(m, "ScalingPolicy", object, "%s: left as it is", why);
                continue;
            }
            json_decref(probe);
        }
        part_name(m, parts, ann, pname, part, sizeof(part));
        if (strcmp(field, "targetTracking") == 0)
            entry = target_tracking(m, part,
                                    json_object_get(p, "TargetTrackingScalingPolicyConfiguration"));
        else if (strcmp(field, "predictive") == 0)
            entry = predictive(m, part, json_object_get(p, "PredictiveScalingPolicyConfiguration"),
                               &problem);
        else
            entry = step_scaling(m, part, json_object_get(p, "StepScalingPolicyConfiguration"));
        if (json_object_get(spec, field) == NULL)
            set(m, spec, field, json_array());
        push(m, json_object_get(spec, field), entry);
        if (strcmp(field, "stepScaling") == 0 && str(p, "PolicyARN") != NULL)
            set(m, m->step_arns, str(p, "PolicyARN"),
                json_pack("{s:s,s:s}", "name", rname, "policy", part));
    }
}

static void map_scheduled(struct map *m, const char *key, json_t *spec, json_t *ann, json_t *parts,
                          const json_t *actions)
{
    const json_t *a;
    size_t i;
    char akey[900], part[NAME_MAX_LEN + 1], object[1900], label[900];

    json_array_foreach(actions, i, a)
    {
        const char *aname = str(a, "ScheduledActionName");
        const json_t *sta = json_object_get(a, "ScalableTargetAction"), *v;
        json_t *e;

        target_key(a, akey, sizeof(akey));
        if (aname == NULL || strcmp(akey, key) != 0)
            continue;
        target_label(key, label, sizeof(label));
        snprintf(object, sizeof(object), "scheduled action %s on %s", aname, label);
        if (is_trimtabs(aname)) {
            skip(m, "ScalingPolicy", object, "named by trimtab: its own manifest manages it");
            continue;
        }
        if (json_object_get(a, "StartTime") != NULL || json_object_get(a, "EndTime") != NULL) {
            skip(m, "ScalingPolicy", object,
                 "it has a StartTime/EndTime window, which scheduled[] cannot express: left as "
                 "it is");
            continue;
        }
        if (str(a, "Schedule") == NULL || (json_object_get(sta, "MinCapacity") == NULL &&
                                           json_object_get(sta, "MaxCapacity") == NULL)) {
            skip(m, "ScalingPolicy", object, "it has no schedule or no capacity to set");
            continue;
        }
        /* AWS keeps a Timezone given with a rate(); trimtab refuses one there as a mistake (a
         * rate fires at intervals, whatever the zone), and without it would "correct" the zone. */
        if (str(a, "Timezone") != NULL && strncmp(str(a, "Schedule"), "rate(", 5) == 0 &&
            strcmp(str(a, "Timezone"), "UTC") != 0) {
            skip(m, "ScalingPolicy", object,
                 "its rate() schedule carries a time zone (%s), which trimtab refuses as "
                 "meaningless: left as it is",
                 str(a, "Timezone"));
            continue;
        }
        part_name(m, parts, ann, aname, part, sizeof(part));
        e = json_pack("{s:s,s:s}", "name", part, "schedule", str(a, "Schedule"));
        if (e == NULL) {
            m->bad = 1;
            continue;
        }
        if (str(a, "Timezone") != NULL && strncmp(str(a, "Schedule"), "rate(", 5) != 0)
            set(m, e, "timezone", json_string(str(a, "Timezone"))); /* UTC on a rate: implied */
        if ((v = json_object_get(sta, "MinCapacity")) != NULL)
            set(m, e, "minCapacity", num(v));
        if ((v = json_object_get(sta, "MaxCapacity")) != NULL)
            set(m, e, "maxCapacity", num(v));
        if (json_object_get(spec, "scheduled") == NULL)
            set(m, spec, "scheduled", json_array());
        push(m, json_object_get(spec, "scheduled"), e);
    }
}

static int cmp_by(const void *a, const void *b, const char *k1, const char *k2)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(str(x, k1) ? str(x, k1) : "", str(y, k1) ? str(y, k1) : "");

    if (c != 0 || k2 == NULL)
        return c;
    return strcmp(str(x, k2) ? str(x, k2) : "", str(y, k2) ? str(y, k2) : "");
}

static int cmp_target(const void *a, const void *b)
{
    char x[900], y[900];

    target_key(*(json_t *const *)a, x, sizeof(x));
    target_key(*(json_t *const *)b, y, sizeof(y));
    return strcmp(x, y);
}
/* qsort comparators by one or two string members (qsort passes no context). */
#define CMP_BY(fn, k1, k2)                      \
    static int fn(const void *a, const void *b) \
    {                                           \
        return cmp_by(a, b, k1, k2);            \
    }
CMP_BY(cmp_policy, "PolicyName", NULL)
CMP_BY(cmp_action, "ScheduledActionName", NULL)
CMP_BY(cmp_alarm, "AlarmName", NULL)
CMP_BY(cmp_budget, "BudgetName", NULL)
CMP_BY(cmp_secret, "Name", NULL)
CMP_BY(cmp_instance, "DBInstanceIdentifier", NULL)
CMP_BY(cmp_resource, "dir", "name")
CMP_BY(cmp_skipped, "kind", "object")

/* True when a policy or scheduled action of `list` on the target `key` is named by trimtab: the
 * target is then a trimtab ScalingPolicy's (scalable targets have no name of their own, and their
 * tags would cost a call each). */
static int has_trimtab_part(const json_t *list, const char *key, const char *name_key)
{
    const json_t *p;
    size_t i;
    char pkey[900];

    json_array_foreach(list, i, p)
    {
        target_key(p, pkey, sizeof(pkey));
        if (strcmp(pkey, key) == 0 && is_trimtabs(str(p, name_key)))
            return 1;
    }
    return 0;
}

/* The trimtab.dev/owner tag in an AWS tag list ([{"Key", "Value"}]), or NULL. */
static const char *owner_tag(const json_t *tags)
{
    const json_t *t;
    size_t i;

    json_array_foreach(tags, i, t)
    {
        if (str(t, "Key") != NULL && strcmp(str(t, "Key"), TT_OWNER_TAG) == 0)
            return str(t, "Value");
    }
    return NULL;
}

static void map_targets(struct map *m, const json_t *aas)
{
    json_t *targets = tt_json_sorted(json_object_get(aas, "targets"), cmp_target);
    json_t *policies = tt_json_sorted(json_object_get(aas, "policies"), cmp_policy);
    json_t *actions = tt_json_sorted(json_object_get(aas, "scheduled"), cmp_action);
    json_t *taken = taken_for(m, "ScalingPolicy");
    const json_t *t;
    size_t i;

    if (targets == NULL || policies == NULL || actions == NULL) {
        m->bad = 1;
        goto out;
    }
    json_array_foreach(targets, i, t)
    {
        const tt_aas_kind *k = aas_kind(str(t, "ServiceNamespace"), str(t, "ScalableDimension"));
        const char *rid = str(t, "ResourceId"), *dir = NULL;
        char key[900], base[700], name[NAME_MAX_LEN + 1];
        json_t *target, *spec, *ann, *parts;

        target_key(t, key, sizeof(key));
        if (k == NULL || rid == NULL ||
            (target = aas_target(k, rid, &dir, base, sizeof(base))) == NULL) {
            char label[900];
            target_label(key, label, sizeof(label));
            skip(m, "ScalingPolicy", label, "trimtab does not scale this kind of target");
            continue;
        }
        if (has_trimtab_part(policies, key, "PolicyName") ||
            has_trimtab_part(actions, key, "ScheduledActionName")) {
            char label[900];
            target_label(key, label, sizeof(label));
            skip(m, "ScalingPolicy", label,
                 "managed by trimtab (its policies are named trimtab-…): its own manifest "
                 "manages it");
            json_decref(target);
            continue;
        }
        unique_name(m, taken, base, key, NAME_MAX_LEN, name, sizeof(name));
        spec = resource(m, "ScalingPolicy", name, dir, &ann);
        if (spec == NULL) {
            json_decref(target);
            continue;
        }
        set(m, spec, "target", target);
        set(m, spec, "minCapacity", num(json_object_get(t, "MinCapacity")));
        set(m, spec, "maxCapacity", num(json_object_get(t, "MaxCapacity")));
        parts = json_object();
        m->bad |= parts == NULL;
        map_policies(m, k, key, name, spec, ann, parts, policies);
        map_scheduled(m, key, spec, ann, parts, actions);
        json_decref(parts);
    }
out:
    json_decref(targets);
    json_decref(policies);
    json_decref(actions);
}

/* ---- ScalingPolicy: RDS instance storage ------------------------------------------------- */

static void map_instances(struct map *m, const json_t *instances)
{
    json_t *list = tt_json_sorted(instances, cmp_instance);
    json_t *taken = taken_for(m, "ScalingPolicy");
    const json_t *db;
    size_t i;

    if (list == NULL) {
        m->bad = 1;
        return;
    }
    json_array_foreach(list, i, db)
    {
        const char *id = str(db, "DBInstanceIdentifier");
        const json_t *max = json_object_get(db, "MaxAllocatedStorage");
        char name[NAME_MAX_LEN + 1], base[300], key[300];
        json_t *spec, *ann;

        /* Aurora members scale with their cluster; an instance without storage autoscaling has
         * nothing trimtab would keep (its class ladder is a decision, not a setting). */
        if (id == NULL || !json_is_integer(max) || str(db, "DBClusterIdentifier") != NULL)
            continue;
        if (owner_tag(json_object_get(db, "TagList")) != NULL) {
            skip(m, "ScalingPolicy", id, "managed by trimtab ScalingPolicy %s (its %s tag)",
                 owner_tag(json_object_get(db, "TagList")), TT_OWNER_TAG);
            continue;
        }
        snprintf(base, sizeof(base), "%s-storage", id);
        snprintf(key, sizeof(key), "rds instance %s", id);
        unique_name(m, taken, base, key, NAME_MAX_LEN, name, sizeof(name));
        spec = resource(m, "ScalingPolicy", name, "rds", &ann);
        if (spec == NULL)
            continue;
        set(m, spec, "target", json_pack("{s:{s:s}}", "rds", "instance", id));
        set(m, spec, "storage", json_pack("{s:I}", "maxAllocatedGiB", json_integer_value(max)));
    }
    json_decref(list);
}

/* ---- Alarm --------------------------------------------------------------------------------- */

/* The spec form of one alarm action ARN, or NULL with *why set. */
static json_t *alarm_action(struct map *m, const char *arn, const char **why)
{
    const json_t *ref;

    if (strncmp(arn, "arn:aws:sns:", 12) == 0 || strncmp(arn, "arn:aws-cn:sns:", 15) == 0 ||
        strncmp(arn, "arn:aws-us-gov:sns:", 19) == 0)
        return json_pack("{s:s}", "snsTopicArn", arn);
    if ((ref = json_object_get(m->step_arns, arn)) != NULL)
        return json_pack("{s:O}", "scalingPolicy", ref);
    if (strstr(arn, ":autoscaling:") != NULL)
        *why = "an action is a scaling policy that was not imported as a step policy";
    else
        *why = "an action is neither an SNS topic nor a step scaling policy (EC2, Systems "
               "Manager, Lambda…)";
    return NULL;
}

/* spec.actions from the three action lists, or NULL with *why set (nothing to write: an empty
 * object, which the caller drops). */
static json_t *alarm_actions(struct map *m, const json_t *alarm, const char **why)
{
    static const char *const lists[][2] = {{"AlarmActions", "alarm"},
                                           {"OKActions", "ok"},
                                           {"InsufficientDataActions", "insufficientData"}};
    json_t *out = json_object();
    const json_t *arn;
    size_t i;

    if (out == NULL) {
        m->bad = 1;
        return NULL;
    }
    for (size_t l = 0; l < 3; l++) {
        const json_t *arr = json_object_get(alarm, lists[l][0]);
        json_t *list;
        if (json_array_size(arr) == 0)
            continue;
        if (json_array_size(arr) > 5) {
            *why = "it has more than 5 actions in one list";
            json_decref(out);
            return NULL;
        }
        list = json_array();
        set(m, out, lists[l][1], list);
        json_array_foreach(arr, i, arn)
        {
            json_t *a = json_is_string(arn) ? alarm_action(m, json_string_value(arn), why) : NULL;
            if (a == NULL) {
                json_decref(out);
                return NULL;
            }
            push(m, list, a);
        }
    }
    return out;
}

/* Fields both kinds of alarm share; returns 0, or -1 with *why set. */
static int alarm_common(struct map *m, const json_t *a, json_t *spec, const char **why)
{
    json_t *actions = alarm_actions(m, a, why);

    if (actions == NULL)
        return -1;
    if (str(a, "AlarmDescription") != NULL && str(a, "AlarmDescription")[0] != '\0')
        set(m, spec, "description", json_string(str(a, "AlarmDescription")));
    if (json_is_false(json_object_get(a, "ActionsEnabled")))
        set(m, spec, "actionsEnabled", json_false());
    if (json_object_size(actions) > 0)
        set(m, spec, "actions", actions);
    else
        json_decref(actions);
    return 0;
}

static const char *metric_alarm_problem(const json_t *a)
{
    /* Some endpoints (moto) send an empty Metrics list with a plain alarm. */
    if (json_array_size(json_object_get(a, "Metrics")) > 0)
        return "it alarms on metric math (Metrics), which trimtab cannot express";
    if (str(a, "ThresholdMetricId") != NULL && str(a, "ThresholdMetricId")[0] != '\0')
        return "it is an anomaly-detection alarm (ThresholdMetricId)";
    if (str(a, "EvaluateLowSampleCountPercentile") != NULL)
        return "it sets EvaluateLowSampleCountPercentile, which trimtab cannot express";
    if (str(a, "Namespace") == NULL || str(a, "MetricName") == NULL ||
        json_object_get(a, "Threshold") == NULL || str(a, "ComparisonOperator") == NULL)
        return "it has no single metric, threshold or comparison";
    return NULL;
}

static const char *alarm_owner_problem(const json_t *a)
{
    const char *name = str(a, "AlarmName");

    if (is_trimtabs(name))
        return "named by trimtab: its own manifest manages it";
    /* Application Auto Scaling creates and deletes these with their target-tracking policy. */
    if (strncmp(name, "TargetTracking-", 15) == 0)
        return "created by Application Auto Scaling for a target-tracking policy, which owns it";
    return NULL;
}

static void map_metric_alarm(struct map *m, const json_t *a, json_t *taken)
{
    const char *aws = str(a, "AlarmName"), *why = NULL;
    char name[NAME_MAX_LEN + 1];
    json_t *spec, *ann, *metric, *dims;
    const json_t *d, *v;
    size_t i;

    if ((why = alarm_owner_problem(a)) != NULL || (why = metric_alarm_problem(a)) != NULL) {
        skip(m, "Alarm", aws, "%s", why);
        return;
    }
    /* The actions first: an alarm that cannot keep them all is not imported at all. */
    {
        json_t *probe = alarm_actions(m, a, &why);
        if (probe == NULL) {
            skip(m, "Alarm", aws, "%s", why ? why : "out of memory");
            return;
        }
        json_decref(probe);
    }
    unique_name(m, taken, aws, aws, NAME_MAX_LEN, name, sizeof(name));
    set(m, m->alarm_names, aws, json_string(name));
    if ((spec = resource(m, "Alarm", name, "alarms", &ann)) == NULL)
        return;
    set(m, ann, TT_ANN_EXTERNAL_NAME, json_string(aws));
    metric = json_pack("{s:s,s:s}", "namespace", str(a, "Namespace"), "metricName",
                       str(a, "MetricName"));
    dims = json_object();
    json_array_foreach(json_object_get(a, "Dimensions"), i, d)
    {
        if (str(d, "Name") != NULL && str(d, "Value") != NULL)
            set(m, dims, str(d, "Name"), json_string(str(d, "Value")));
    }
    if (metric != NULL && json_object_size(dims) > 0)
        set(m, metric, "dimensions", dims);
    else
        json_decref(dims);
    set(m, spec, "metric", metric);
    if (str(a, "ExtendedStatistic") != NULL)
        set(m, spec, "extendedStatistic", json_string(str(a, "ExtendedStatistic")));
    else if (str(a, "Statistic") != NULL)
        set(m, spec, "statistic", json_string(str(a, "Statistic")));
    if ((v = json_object_get(a, "Period")) != NULL)
        set(m, spec, "period", num(v));
    if ((v = json_object_get(a, "EvaluationPeriods")) != NULL)
        set(m, spec, "evaluationPeriods", num(v));
    if ((v = json_object_get(a, "DatapointsToAlarm")) != NULL)
        set(m, spec, "datapointsToAlarm", num(v));
    set(m, spec, "threshold", num(json_object_get(a, "Threshold")));
    set(m, spec, "comparison", json_string(str(a, "ComparisonOperator")));
    if (str(a, "TreatMissingData") != NULL)
        set(m, spec, "treatMissingData", json_string(str(a, "TreatMissingData")));
    if (str(a, "Unit") != NULL)
        set(m, spec, "unit", json_string(str(a, "Unit")));
    alarm_common(m, a, spec, &why);
}

/* Composite rules: AWS alarm names become the names of the imported Alarm resources. */
struct rule_map {
    struct map *m;
    const char *copied; /* how far the rule is already in `out` */
    char out[10240];
    size_t len;
    const char *missing; /* the first name that is not an imported alarm */
    char missing_buf[300];
};

static void rule_name(void *ud, const char *name, size_t len)
{
    struct rule_map *rm = ud;
    char aws[300];
    const char *res;
    int n;

    if (len >= 4 && strncmp(name, "arn:", 4) == 0)
        return; /* an ARN stays as written, as the CloudWatch provider leaves it */
    snprintf(aws, sizeof(aws), "%.*s", (int)len, name);
    res = json_string_value(json_object_get(rm->m->alarm_names, aws));
    if (res == NULL) {
        if (rm->missing == NULL) {
            snprintf(rm->missing_buf, sizeof(rm->missing_buf), "%s", aws);
            rm->missing = rm->missing_buf;
        }
        return;
    }
    n = snprintf(rm->out + rm->len, sizeof(rm->out) - rm->len, "%.*s%s", (int)(name - rm->copied),
                 rm->copied, res);
    rm->len = n < 0 ? sizeof(rm->out) : rm->len + (size_t)n;
    if (rm->len >= sizeof(rm->out))
        rm->len = sizeof(rm->out) - 1;
    rm->copied = name + len;
}

static void map_composite(struct map *m, const json_t *a, json_t *taken)
{
    const char *aws = str(a, "AlarmName"), *rule = str(a, "AlarmRule"), *why = NULL;
    struct rule_map *rm = NULL;
    char name[NAME_MAX_LEN + 1];
    json_t *spec, *ann, *probe;
    tt_error err;

    if ((why = alarm_owner_problem(a)) != NULL) {
        skip(m, "Alarm", aws, "%s", why);
        return;
    }
    if (json_object_get(a, "ActionsSuppressor") != NULL) {
        skip(m, "Alarm", aws, "it has an actions suppressor, which trimtab cannot express");
        return;
    }
    if (rule == NULL || (rm = calloc(1, sizeof(*rm))) == NULL) {
        m->bad |= rule != NULL;
        if (rule == NULL)
            skip(m, "Alarm", aws, "it has no rule");
        return;
    }
    rm->m = m;
    rm->copied = rule;
    tt_error_clear(&err);
    if (tt_composite_rule_names(rule, rule_name, rm, &err) != TT_OK) {
        skip(m, "Alarm", aws, "its rule does not parse: %s", err.message);
        goto out;
    }
    if (rm->missing != NULL) {
        skip(m, "Alarm", aws, "its rule names alarm %s, which is not imported", rm->missing);
        goto out;
    }
    snprintf(rm->out + rm->len, sizeof(rm->out) - rm->len, "%s", rm->copied);
    if ((probe = alarm_actions(m, a, &why)) == NULL) {
        skip(m, "Alarm", aws, "%s", why ? why : "out of memory");
        goto out;
    }
    json_decref(probe);
    unique_name(m, taken, aws, aws, NAME_MAX_LEN, name, sizeof(name));
    set(m, m->alarm_names, aws, json_string(name)); /* composites may name this one */
    if ((spec = resource(m, "Alarm", name, "alarms", &ann)) == NULL)
        goto out;
    set(m, ann, TT_ANN_EXTERNAL_NAME, json_string(aws));
    set(m, spec, "composite", json_pack("{s:s}", "rule", rm->out));
    alarm_common(m, a, spec, &why);
out:
    free(rm);
}

/* True when composite `a` names a composite of `all` that is neither mapped nor tried yet. */
static int waits_for_composite(struct map *m, const json_t *a, const json_t *all)
{
    struct rule_map *probe = calloc(1, sizeof(*probe));
    const json_t *b;
    size_t j;
    int waits = 0;
    tt_error err;

    if (probe == NULL) {
        m->bad = 1;
        return 0;
    }
    probe->m = m;
    probe->copied = str(a, "AlarmRule") ? str(a, "AlarmRule") : "";
    tt_error_clear(&err);
    if (tt_composite_rule_names(probe->copied, rule_name, probe, &err) == TT_OK &&
        probe->missing != NULL) {
        json_array_foreach(all, j, b)
        {
            waits |= b != a && str(b, "AlarmName") != NULL &&
                     strcmp(str(b, "AlarmName"), probe->missing) == 0 &&
                     !json_is_true(json_object_get(b, "_tried"));
        }
    }
    free(probe);
    return waits;
}

static void map_alarms(struct map *m, const json_t *alarms)
{
    json_t *metric = tt_json_sorted(json_object_get(alarms, "MetricAlarms"), cmp_alarm);
    json_t *composite = tt_json_sorted(json_object_get(alarms, "CompositeAlarms"), cmp_alarm);
    json_t *taken = taken_for(m, "Alarm");
    const json_t *a;
    size_t i, done;

    if (metric == NULL || composite == NULL) {
        m->bad = 1;
        goto out;
    }
    json_array_foreach(metric, i, a)
    {
        if (str(a, "AlarmName") != NULL)
            map_metric_alarm(m, a, taken);
    }
    /* Composites may name composites: a composite waits while a child it names is a
     * composite not mapped yet; rounds go on until one maps nothing. What is left names itself
     * through a cycle. */
    done = 0;
    for (int progress = 1; progress && done < json_array_size(composite);) {
        progress = 0;
        json_array_foreach(composite, i, a)
        {
            if (json_is_true(json_object_get(a, "_tried")) || str(a, "AlarmName") == NULL)
                continue;
            if (waits_for_composite(m, a, composite))
                continue;
            map_composite(m, a, taken);
            m->bad |= json_object_set_new((json_t *)a, "_tried", json_true()) != 0;
            done++;
            progress = 1;
        }
    }
    json_array_foreach(composite, i, a)
    {
        if (!json_is_true(json_object_get(a, "_tried")) && str(a, "AlarmName") != NULL)
            skip(m, "Alarm", str(a, "AlarmName"),
                 "its rule names composite alarms in a cycle, which CloudWatch refuses");
    }
out:
    json_decref(metric);
    json_decref(composite);
}

/* ---- Budget ------------------------------------------------------------------------------- */

static const char *const filter_keys[][2] = {
    {"Service", "service"},
    {"Region", "region"},
    {"LinkedAccount", "linkedAccount"},
    {"UsageType", "usageType"},
    {"UsageTypeGroup", "usageTypeGroup"},
    {"InstanceType", "instanceType"},
    {"Operation", "operation"},
    {"PurchaseType", "purchaseType"},
    {"AZ", "availabilityZone"},
    {"RecordType", "recordType"},
};

/* spec.costFilters from CostFilters, or NULL with *why set (an empty object when unfiltered). */
static json_t *cost_filters(struct map *m, const json_t *cf, const char **why)
{
    json_t *out = json_object(), *tags = json_object();
    const char *key;
    const json_t *vals, *v;
    size_t i;

    if (out == NULL || tags == NULL) {
        json_decref(out), json_decref(tags);
        m->bad = 1;
        *why = "out of memory";
        return NULL;
    }
    json_object_foreach((json_t *)cf, key, vals)
    {
        size_t f;
        if (strcmp(key, "TagKeyValue") == 0) {
            json_array_foreach(vals, i, v)
            {
                /* "user:<key>$<value>" */
                const char *s = json_string_value(v), *dollar;
                if (s == NULL || strncmp(s, "user:", 5) != 0 ||
                    (dollar = strchr(s + 5, '$')) == NULL || json_object_get(tags, s + 5) != NULL) {
                    *why = "a tag filter is not of the form user:<key>$<value>";
                    goto fail;
                }
                char k[300];
                snprintf(k, sizeof(k), "%.*s", (int)(dollar - s - 5), s + 5);
                if (json_object_get(tags, k) != NULL) {
                    *why = "a tag filter lists several values of one key";
                    goto fail;
                }
                set(m, tags, k, json_string(dollar + 1));
            }
            continue;
        }
        for (f = 0; f < sizeof(filter_keys) / sizeof(filter_keys[0]); f++) {
            if (strcmp(filter_keys[f][0], key) == 0)
                break;
        }
        if (f == sizeof(filter_keys) / sizeof(filter_keys[0])) {
            *why = "it filters on a cost dimension trimtab cannot express";
            goto fail;
        }
        if (json_array_size(vals) > 0)
            set(m, out, filter_keys[f][1], json_deep_copy(vals));
    }
    if (json_object_size(tags) > 0)
        set(m, out, "tags", tags);
    else
        json_decref(tags);
    return out;
fail:
    json_decref(out);
    json_decref(tags);
    return NULL;
}

static json_t *budget_notifications(struct map *m, const json_t *list, const char **why)
{
    json_t *out = json_array();
    const json_t *n, *s;
    size_t i, j;

    if (out == NULL) {
        m->bad = 1;
        *why = "out of memory";
        return NULL;
    }
    json_array_foreach(list, i, n)
    {
        const json_t *no = json_object_get(n, "Notification");
        json_t *e = json_object(), *subs = json_array();
        if (e == NULL || subs == NULL) {
            json_decref(e), json_decref(subs);
            m->bad = 1;
            continue;
        }
        set(m, e, "type", json_string(str(no, "NotificationType")));
        set(m, e, "comparison", json_string(str(no, "ComparisonOperator")));
        set(m, e, "threshold", num(json_object_get(no, "Threshold")));
        set(m, e, "thresholdType",
            json_string(str(no, "ThresholdType") ? str(no, "ThresholdType") : "PERCENTAGE"));
        json_array_foreach(json_object_get(n, "Subscribers"), j, s)
        {
            const char *type = str(s, "SubscriptionType"), *addr = str(s, "Address");
            if (type == NULL || addr == NULL)
                continue;
            push(m, subs,
                 json_pack("{s:s}", strcmp(type, "SNS") == 0 ? "snsTopicArn" : "email", addr));
        }
        set(m, e, "subscribers", subs);
        push(m, out, e);
    }
    return out;
}

/* The cost types a budget gets when none are given (AWS's defaults); NULL when `ct` holds only
 * those, else the first that differs. UpdateBudget sends no CostTypes, so trimtab would reset
 * any other. */
static const char *odd_cost_type(const json_t *ct)
{
    static const char *const off_by_default[] = {"UseBlended", "UseAmortized"};
    const char *k;
    const json_t *v;

    json_object_foreach((json_t *)ct, k, v)
    {
        int want = 1;
        for (size_t i = 0; i < 2; i++)
            want &= strcmp(k, off_by_default[i]) != 0;
        if (!json_is_boolean(v) || json_is_true(v) != want)
            return k;
    }
    return NULL;
}

static void map_budgets(struct map *m, const json_t *budgets)
{
    json_t *list = tt_json_sorted(budgets, cmp_budget);
    json_t *taken = taken_for(m, "Budget");
    const json_t *b;
    size_t i;

    if (list == NULL) {
        m->bad = 1;
        return;
    }
    json_array_foreach(list, i, b)
    {
        const char *aws = str(b, "BudgetName"), *why = NULL;
        const json_t *lim = json_object_get(b, "BudgetLimit");
        char name[NAME_MAX_LEN + 1], *end = NULL;
        json_t *spec, *ann, *filters, *notes;
        double amount;

        if (aws == NULL)
            continue;
        if (is_trimtabs(aws)) {
            skip(m, "Budget", aws, "named by trimtab: its own manifest manages it");
            continue;
        }
        if (json_object_get(b, "PlannedBudgetLimits") != NULL ||
            json_object_get(b, "AutoAdjustData") != NULL || lim == NULL) {
            skip(m, "Budget", aws,
                 "it has planned or auto-adjusted limits, which trimtab cannot "
                 "express");
            continue;
        }
        if (odd_cost_type(json_object_get(b, "CostTypes")) != NULL) {
            skip(m, "Budget", aws,
                 "it sets cost type %s away from AWS's default, which trimtab cannot express "
                 "(and would reset on its next update)",
                 odd_cost_type(json_object_get(b, "CostTypes")));
            continue;
        }
        amount = str(lim, "Amount") ? strtod(str(lim, "Amount"), &end) : 0;
        if (end == NULL || *end != '\0') {
            skip(m, "Budget", aws, "its limit amount is not a number");
            continue;
        }
        if ((filters = cost_filters(m, json_object_get(b, "CostFilters"), &why)) == NULL) {
            skip(m, "Budget", aws, "%s", why);
            continue;
        }
        if ((notes = budget_notifications(m, json_object_get(b, "Notifications"), &why)) == NULL) {
            json_decref(filters);
            skip(m, "Budget", aws, "%s", why);
            continue;
        }
        unique_name(m, taken, aws, aws, NAME_MAX_LEN, name, sizeof(name));
        if ((spec = resource(m, "Budget", name, "budgets", &ann)) == NULL) {
            json_decref(filters), json_decref(notes);
            continue;
        }
        set(m, ann, TT_ANN_EXTERNAL_NAME, json_string(aws));
        set(m, spec, "limit",
            json_pack("{s:o,s:s}", "amount",
                      amount == (double)(json_int_t)amount ? json_integer((json_int_t)amount)
                                                           : json_real(amount),
                      "unit", str(lim, "Unit") ? str(lim, "Unit") : "USD"));
        if (str(b, "TimeUnit") != NULL)
            set(m, spec, "timeUnit", json_string(str(b, "TimeUnit")));
        if (str(b, "BudgetType") != NULL && strcmp(str(b, "BudgetType"), "COST") != 0)
            set(m, spec, "budgetType", json_string(str(b, "BudgetType")));
        if (json_object_size(filters) > 0)
            set(m, spec, "costFilters", filters);
        else
            json_decref(filters);
        if (json_array_size(notes) > 0)
            set(m, spec, "notifications", notes);
        else
            json_decref(notes);
    }
    json_decref(list);
}

/* ---- SecretRotation ------------------------------------------------------------------------ */

static void map_secrets(struct map *m, const json_t *secrets)
{
    json_t *list = tt_json_sorted(secrets, cmp_secret);
    json_t *taken = taken_for(m, "SecretRotation");
    const json_t *s, *r;
    size_t i, j;

    if (list == NULL) {
        m->bad = 1;
        return;
    }
    json_array_foreach(list, i, s)
    {
        const char *id = str(s, "Name");
        const json_t *rules = json_object_get(s, "RotationRules");
        char name[NAME_MAX_LEN + 1];
        json_t *spec, *ann, *sched, *replicas;

        if (id == NULL)
            continue;
        if (owner_tag(json_object_get(s, "Tags")) != NULL) {
            skip(m, "SecretRotation", id, "managed by trimtab SecretRotation %s (its %s tag)",
                 owner_tag(json_object_get(s, "Tags")), TT_OWNER_TAG);
            continue;
        }
        if (!json_is_true(json_object_get(s, "RotationEnabled")) ||
            str(s, "RotationLambdaARN") == NULL) {
            skip(m, "SecretRotation", id,
                 "rotation is not enabled: there is no rotation to keep (replica regions alone "
                 "are not a SecretRotation)");
            continue;
        }
        sched = json_object();
        if (sched == NULL) {
            m->bad = 1;
            continue;
        }
        if (str(rules, "ScheduleExpression") != NULL) {
            const char *d = str(rules, "Duration");
            set(m, sched, "expression", json_string(str(rules, "ScheduleExpression")));
            if (d != NULL)
                set(m, sched, "duration", json_string(d));
        } else if (json_object_get(rules, "AutomaticallyAfterDays") != NULL) {
            set(m, sched, "automaticallyAfterDays",
                num(json_object_get(rules, "AutomaticallyAfterDays")));
        } else {
            json_decref(sched);
            skip(m, "SecretRotation", id, "its rotation has no schedule");
            continue;
        }
        unique_name(m, taken, id, id, NAME_MAX_LEN, name, sizeof(name));
        if ((spec = resource(m, "SecretRotation", name, "secrets", &ann)) == NULL) {
            json_decref(sched);
            continue;
        }
        set(m, spec, "secretId", json_string(id));
        set(m, spec, "rotationLambdaArn", json_string(str(s, "RotationLambdaARN")));
        set(m, spec, "schedule", sched);
        replicas = json_array();
        json_array_foreach(json_object_get(s, "ReplicationStatus"), j, r)
        {
            if (str(r, "Region") != NULL)
                push(m, replicas, json_string(str(r, "Region")));
        }
        if (json_array_size(replicas) > 0)
            set(m, spec, "replicaRegions", replicas);
        else
            json_decref(replicas);
    }
    json_decref(list);
}

/* ---- the whole account ----------------------------------------------------------------------- */

/*
 * Checks every manifest with the model's own validation, as `trimtab validate` will: one that
 * fails (AWS accepted something trimtab's rules refuse — an ARN of another form, a value out of
 * range) is moved to the skipped list with the validator's words, so the directory written is
 * always valid.
 */
static void drop_invalid(struct map *m)
{
    json_t *kept = json_array();
    const json_t *r;
    size_t i;
    tt_buf why;

    if (kept == NULL) {
        m->bad = 1;
        return;
    }
    tt_buf_init(&why);
    json_array_foreach(m->resources, i, r)
    {
        tt_diags *diags = tt_diags_create();
        tt_doc_src src = {0};
        tt_resource *res = NULL;
        tt_code rc;

        if (diags == NULL) {
            m->bad = 1;
            break;
        }
        rc = tt_model_from_json(json_object_get(r, "manifest"), &src, diags, &res);
        tt_resource_destroy(res);
        if (rc == TT_OK) {
            m->bad |= json_array_append(kept, (json_t *)r) != 0;
        } else if (rc == TT_ENOMEM) {
            m->bad = 1;
        } else {
            tt_buf_reset(&why);
            for (size_t d = 0; d < tt_diags_count(diags); d++) {
                const tt_diag *g = tt_diags_get(diags, d);
                if (g->severity != TT_DIAG_ERROR)
                    continue;
                tt_buf_printf(&why, "%s%s: %s", why.len ? "; " : "", g->path, g->message);
            }
            skip(m, json_string_value(json_object_get(r, "kind")),
                 json_string_value(json_object_get(r, "name")),
                 "trimtab's validation refuses what AWS holds: %s",
                 why.len ? tt_buf_str(&why) : "invalid");
        }
        tt_diags_destroy(diags);
    }
    tt_buf_cleanup(&why);
    json_decref(m->resources);
    m->resources = kept;
}

static int want(const tt_import_opts *o, tt_kind k)
{
    return (o->kinds & (1u << k)) != 0;
}

tt_code tt_import_map(const json_t *account, const tt_import_opts *o, json_t **out, tt_error *err)
{
    struct map m = {0};
    json_t *work = json_deep_copy(account); /* composite mapping marks entries it has seen */
    tt_code rc = TT_OK;

    *out = NULL;
    m.o = o;
    m.resources = json_array();
    m.skipped = json_array();
    m.names = json_object();
    m.step_arns = json_object();
    m.alarm_names = json_object();
    if (work == NULL || m.resources == NULL || m.skipped == NULL || m.names == NULL ||
        m.step_arns == NULL || m.alarm_names == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory mapping the account");
        goto out;
    }
    /* Step policies are mapped even when only alarms are asked for: an alarm's scaling action
     * can only name a ScalingPolicy, so without them those alarms are skipped (and say so). */
    if (want(o, TT_KIND_SCALING_POLICY)) {
        map_targets(&m, json_object_get(work, "aas"));
        map_instances(&m, json_object_get(work, "instances"));
    }
    if (want(o, TT_KIND_ALARM))
        map_alarms(&m, json_object_get(work, "alarms"));
    if (want(o, TT_KIND_BUDGET))
        map_budgets(&m, json_object_get(work, "budgets"));
    if (want(o, TT_KIND_SECRET_ROTATION))
        map_secrets(&m, json_object_get(work, "secrets"));
    {
        const json_t *u;
        size_t i;
        json_array_foreach(json_object_get(work, "unread"), i, u)
        {
            char object[200];
            snprintf(object, sizeof(object), "scalable targets of service namespace %s",
                     str(u, "what") ? str(u, "what") : "?");
            skip(&m, "ScalingPolicy", object, "the endpoint refused to list them: %s",
                 str(u, "reason") ? str(u, "reason") : "");
        }
    }
    if (!m.bad)
        drop_invalid(&m);
    if (m.bad) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory mapping the account");
        goto out;
    }
    {
        json_t *res = tt_json_sorted(m.resources, cmp_resource),
               *sk = tt_json_sorted(m.skipped, cmp_skipped);
        *out = res != NULL && sk != NULL ? json_pack("{s:o,s:o}", "resources", res, "skipped", sk)
                                         : NULL;
        if (*out == NULL) {
            if (res == NULL || sk == NULL)
                json_decref(res), json_decref(sk);
            rc = tt_error_set(err, TT_ENOMEM, "out of memory mapping the account");
        }
    }
out:
    json_decref(work);
    json_decref(m.resources);
    json_decref(m.skipped);
    json_decref(m.names);
    json_decref(m.step_arns);
    json_decref(m.alarm_names);
    return rc;
}
