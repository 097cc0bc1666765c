/*
 * tt_import_read — the AWS side of `trimtab import`: lists what the account holds, kind by kind,
 * through the shared AWS layer (its models parse every answer; its paginators follow every token,
 * with the largest page each API allows), and gathers it into the account document of import.h.
 *
 * Calls that do not depend on each other run at once on the loop, in phases: the listings
 * (scalable targets, policies and scheduled actions per service namespace, alarms, secrets, RDS
 * instances, the caller's account); then what needs them (budgets need the account id, a
 * secret's replica regions need DescribeSecret); then each budget's notifications; then their
 * subscribers.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "appautoscaling.h"
#include "import.h"
#include "model.h"
#include "tt_aws.h"

/* One call of a phase: the request, and where its answer goes. */
struct call {
    const char *service;
    const char *operation;
    json_t *input; /* owned */
    json_t *into;  /* borrowed: the object the answer's `key` is appended to / merged into */
    const char *key;
    const char *key2;    /* a second list of the same answer (DescribeAlarms' composites) */
    const char *as;      /* NULL: append the elements of answer[key] to into[as or key]; else set */
    const char *unread;  /* a ValidationException is filed as {"what": unread, "reason"} in */
    json_t *unread_list; /* this list (borrowed) instead of failing the import */
    int paginate;
    struct phase *phase;
};

struct phase {
    struct call *calls;
    size_t n, cap, pending;
    tt_error err; /* the first failure */
    int bad;      /* out of memory */
};

static struct call *add(struct phase *p, const char *service, const char *operation, json_t *input,
                        json_t *into, const char *key)
{
    struct call *c;

    if (input == NULL) {
        p->bad = 1;
        return NULL;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct call *calls = realloc(p->calls, cap * sizeof(*calls));
        if (calls == NULL) {
            json_decref(input);
            p->bad = 1;
            return NULL;
        }
        p->calls = calls;
        p->cap = cap;
    }
    c = &p->calls[p->n++];
    memset(c, 0, sizeof(*c));
    c->service = service;
    c->operation = operation;
    c->input = input;
    c->into = into;
    c->key = key;
    c->paginate = 1;
    c->phase = p;
    return c;
}

/* Appends the elements of `items` (borrowed; NULL: none) to the list into[key]. */
static int append(json_t *into, const char *key, const json_t *items)
{
    json_t *list = json_object_get(into, key);

    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new(into, key, list) != 0)
            return 1;
    }
    return items != NULL && json_array_extend(list, (json_t *)items) != 0;
}

/* Files one answer into the account document: output[key] (and key2) appended to into[key], or
 * with `as`, output[key] set as into[as]. The first failure of the phase is kept. */
static void on_answer(void *ud, json_t *output, const tt_error *err)
{
    struct call *c = ud;
    struct phase *p = c->phase;

    p->pending--;
    if (err != NULL && c->unread != NULL && err->code == TT_EAWS &&
        strcmp(err->service_code, "ValidationException") == 0) {
        /* An endpoint that does not serve a namespace (an emulator): said, not fatal. */
        json_t *u = json_pack("{s:s,s:s}", "what", c->unread, "reason", err->message);
        p->bad |= u == NULL || json_array_append_new(c->unread_list, u) != 0;
        return;
    }
    if (err != NULL) {
        if (p->err.code == TT_OK)
            p->err = *err;
        return;
    }
    if (c->as != NULL) {
        p->bad |= json_object_set(c->into, c->as,
                                  json_object_get(output, c->key) ? json_object_get(output, c->key)
                                                                  : json_null()) != 0;
        return;
    }
    p->bad |= append(c->into, c->key, json_object_get(output, c->key));
    if (c->key2 != NULL)
        p->bad |= append(c->into, c->key2, json_object_get(output, c->key2));
}

/* Runs every call of `p` at once; TT_OK when all answered. Frees the calls either way. */
static tt_code run(tt_aws *aws, struct ev_loop *loop, struct phase *p, tt_error *err)
{
    tt_code rc = TT_OK;

    for (size_t i = 0; i < p->n && !p->bad; i++) {
        struct call *c = &p->calls[i];
        tt_aws_req req = {c->service, c->operation, NULL, NULL, c->input};
        int r = c->paginate ? tt_aws_paginate(aws, &req, on_answer, c, err)
                            : tt_aws_call(aws, &req, on_answer, c, err);
        if (r != TT_OK) {
            rc = r;
            break;
        }
        p->pending++;
    }
    while (p->pending > 0)
        ev_run(loop, EVRUN_ONCE);
    if (rc == TT_OK && p->err.code != TT_OK) {
        *err = p->err;
        rc = err->code;
    }
    if (rc == TT_OK && p->bad)
        rc = tt_error_set(err, TT_ENOMEM, "out of memory reading the account");
    for (size_t i = 0; i < p->n; i++)
        json_decref(p->calls[i].input);
    free(p->calls);
    memset(p, 0, sizeof(*p));
    return rc;
}

/* Each service namespace once, in tt_aas_kinds order. A namespace the endpoint refuses is noted
 * in `unread`. */
static void read_aas(struct phase *p, json_t *aas, json_t *unread)
{
    static const char *const ops[][2] = {{"DescribeScalableTargets", "ScalableTargets"},
                                         {"DescribeScalingPolicies", "ScalingPolicies"},
                                         {"DescribeScheduledActions", "ScheduledActions"}};

    for (const tt_aas_kind *k = tt_aas_kinds; k->target != TT_TARGET_NONE; k++) {
        const char *ns = k->service_namespace;
        int seen = 0;
        for (const tt_aas_kind *j = tt_aas_kinds; j < k; j++)
            seen |= strcmp(j->service_namespace, ns) == 0;
        if (seen)
            continue;
        for (size_t i = 0; i < 3; i++) {
            /* The largest page each operation allows. */
            struct call *c =
                add(p, "application-autoscaling", ops[i][0],
                    json_pack("{s:s,s:i}", "ServiceNamespace", ns, "MaxResults", i == 1 ? 10 : 50),
                    aas, ops[i][1]);
            if (c != NULL) {
                c->unread = ns;
                c->unread_list = unread;
            }
        }
    }
}

static int want(const tt_import_opts *o, tt_kind k)
{
    return (o->kinds & (1u << k)) != 0;
}

/* Renames the AWS list keys to the account document's ("ScalableTargets" → "targets"). */
static int rename_key(json_t *obj, const char *from, const char *to)
{
    json_t *v = json_object_get(obj, from);

    if (v == NULL)
        return json_object_set_new(obj, to, json_array());
    return json_object_set(obj, to, v) != 0 || json_object_del(obj, from) != 0 ? -1 : 0;
}

tt_code tt_import_read(tt_aws *aws, struct ev_loop *loop, const tt_import_opts *o, json_t **account,
                       tt_error *err)
{
    json_t *acc = json_pack("{s:s,s:{},s:{},s:[],s:[],s:[],s:[]}", "region", o->region, "aas",
                            "alarms", "budgets", "secrets", "instances", "unread");
    json_t *aas = json_object_get(acc, "aas"), *alarms = json_object_get(acc, "alarms");
    json_t *ident = json_object(), *listed = json_object();
    struct phase p = {0};
    const json_t *s, *b, *n;
    const char *account_id;
    size_t i, j;
    tt_code rc;

    *account = NULL;
    if (acc == NULL || ident == NULL || listed == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory reading the account");
        goto out;
    }
    /* Phase 1: the listings. Alarm actions name step policies, so alarms bring them along. */
    if (want(o, TT_KIND_SCALING_POLICY) || want(o, TT_KIND_ALARM))
        read_aas(&p, aas, json_object_get(acc, "unread"));
    if (want(o, TT_KIND_SCALING_POLICY))
        add(&p, "rds", "DescribeDBInstances", json_pack("{s:i}", "MaxRecords", 100), acc,
            "DBInstances");
    if (want(o, TT_KIND_ALARM)) {
        struct call *c = add(&p, "cloudwatch", "DescribeAlarms",
                             json_pack("{s:[s,s],s:i}", "AlarmTypes", "MetricAlarm",
                                       "CompositeAlarm", "MaxRecords", 100),
                             alarms, "MetricAlarms");
        if (c != NULL)
            c->key2 = "CompositeAlarms";
    }
    if (want(o, TT_KIND_SECRET_ROTATION))
        add(&p, "secretsmanager", "ListSecrets", json_pack("{s:i}", "MaxResults", 100), listed,
            "SecretList");
    if (want(o, TT_KIND_BUDGET)) {
        struct call *c = add(&p, "sts", "GetCallerIdentity", json_object(), ident, "Account");
        if (c != NULL) {
            c->as = "Account";
            c->paginate = 0;
        }
    }
    if ((rc = run(aws, loop, &p, err)) != TT_OK)
        goto out;
    if (rename_key(aas, "ScalableTargets", "targets") != 0 ||
        rename_key(aas, "ScalingPolicies", "policies") != 0 ||
        rename_key(aas, "ScheduledActions", "scheduled") != 0 ||
        rename_key(acc, "DBInstances", "instances") != 0) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory reading the account");
        goto out;
    }

    /* Phase 2: budgets (in the caller's account) and the replicas of rotating secrets. */
    account_id = json_string_value(json_object_get(ident, "Account"));
    if (want(o, TT_KIND_BUDGET) && account_id != NULL) {
        json_object_set_new(acc, "account", json_string(account_id));
        add(&p, "budgets", "DescribeBudgets",
            json_pack("{s:s,s:i}", "AccountId", account_id, "MaxResults", 100), listed, "Budgets");
    }
    json_array_foreach(json_object_get(listed, "SecretList"), i, s)
    {
        json_t *entry = json_deep_copy(s);
        struct call *c;
        if (entry == NULL || json_array_append_new(json_object_get(acc, "secrets"), entry) != 0) {
            p.bad = 1;
            break;
        }
        /* Only a rotating secret is imported, so only its replicas are worth a call. */
        if (!json_is_true(json_object_get(s, "RotationEnabled")) ||
            json_string_value(json_object_get(s, "ARN")) == NULL)
            continue;
        c = add(&p, "secretsmanager", "DescribeSecret",
                json_pack("{s:s}", "SecretId", json_string_value(json_object_get(s, "ARN"))), entry,
                "ReplicationStatus");
        if (c != NULL) {
            c->as = "ReplicationStatus";
            c->paginate = 0;
        }
    }
    if ((rc = run(aws, loop, &p, err)) != TT_OK)
        goto out;

    /* Phase 3: each budget's notifications; phase 4: each notification's subscribers. */
    json_array_foreach(json_object_get(listed, "Budgets"), i, b)
    {
        json_t *entry = json_deep_copy(b);
        if (entry == NULL || json_array_append_new(json_object_get(acc, "budgets"), entry) != 0) {
            p.bad = 1;
            break;
        }
        add(&p, "budgets", "DescribeNotificationsForBudget",
            json_pack("{s:s,s:s,s:i}", "AccountId", account_id, "BudgetName",
                      json_string_value(json_object_get(b, "BudgetName")), "MaxResults", 100),
            entry, "Notifications");
    }
    if ((rc = run(aws, loop, &p, err)) != TT_OK)
        goto out;
    json_array_foreach(json_object_get(acc, "budgets"), i, b)
    {
        json_t *wrapped = json_array();
        json_array_foreach(json_object_get(b, "Notifications"), j, n)
        {
            json_t *w = json_pack("{s:O}", "Notification", n);
            if (w == NULL || json_array_append_new(wrapped, w) != 0) {
                p.bad = 1;
                continue;
            }
            add(&p, "budgets", "DescribeSubscribersForNotification",
                json_pack("{s:s,s:s,s:O,s:i}", "AccountId", account_id, "BudgetName",
                          json_string_value(json_object_get(b, "BudgetName")), "Notification", n,
                          "MaxResults", 100),
                w, "Subscribers");
        }
        p.bad |= wrapped == NULL || json_object_set_new((json_t *)b, "Notifications", wrapped) != 0;
    }
    if ((rc = run(aws, loop, &p, err)) != TT_OK)
        goto out;
    *account = acc;
    acc = NULL; /* moved to the caller */
out:
    json_decref(acc);
    json_decref(ident);
    json_decref(listed);
    return rc;
}
