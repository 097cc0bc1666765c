/*
 * The Budgets provider: Budget resources as AWS Budgets (a global service, us-east-1).
 *
 * Every Budgets call names the account, so observe first learns it (providers/sts.h, once per
 * role). The reads are then account-wide listings — DescribeBudgets and
 * DescribeBudgetNotificationsForAccount, 100 budgets a page — which give every budget of the
 * batch and its notifications at once; only subscribers need one call per notification
 * (DescribeSubscribersForNotification), as no API lists them for more than one. Ownership tags
 * are read only for a budget the memo does not already say is trimtab's.
 *
 * The observed view of one resource:
 *   {"account": "123456789012", "budget": {Budget…} | null,
 *    "notifications": [{Notification…, "Subscribers": [{SubscriptionType, Address}…]}…],
 *    "tags": {…} (only when ownership had to be read)}
 * and the memo: {"owned": true} once trimtab created or adopted the budget.
 *
 * Notifications are a set keyed by (type, comparison, threshold type, threshold): a declared one
 * AWS lacks is created, one AWS has that the spec lost is deleted, and when both sides have
 * unmatched ones they are paired and updated in place (UpdateNotification keeps its
 * subscribers); subscribers are a set per notification in the same way.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "tt_num.h"
#include "owner.h"
#include "plan.h"
#include "provider.h"
#include "sts.h"

#define SVC          "budgets"
#define NAME_MAX_LEN 100 /* BudgetName: 1-100 characters */
#define LIST_ALL     ((size_t)-1)

static int budgets_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_BUDGET && r->spec.budget != NULL;
}

static void budget_name(const tt_resource *r, char *out, size_t len)
{
    tt_owner_name(r, NULL, NAME_MAX_LEN, out, len);
}

/* ---- observe ------------------------------------------------------------------------------ */

static json_t *account_list_input(tt_batch *b, const char *account, const tt_batch_key *keys,
                                  size_t n)
{
    (void)b, (void)keys, (void)n;
    return json_pack("{s:s,s:i}", "AccountId", account, "MaxResults", 100);
}

static tt_code budgets_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "Budgets", "BudgetName", keys, n, "budget", NULL);
}

/* A budget's notifications, copied: the subscribers read later are filed into them. */
static json_t *notifications_of(const json_t *entry)
{
    return json_deep_copy(json_object_get(entry, "Notifications"));
}

static tt_code notifications_join(tt_batch *b, const json_t *output, const tt_batch_key *keys,
                                  size_t n)
{
    return tt_batch_join_map(b, output, "BudgetNotificationsForAccount", "BudgetName", keys, n,
                             "notifications", notifications_of);
}

/* A notification as the API takes it back: without its state and the subscribers we filed. */
static json_t *bare_notification(const json_t *n)
{
    json_t *c = json_deep_copy(n);

    if (c != NULL) {
        json_object_del(c, "NotificationState");
        json_object_del(c, "Subscribers");
    }
    return c;
}

/* One notification: the key is its index in the item's "notifications". */
static json_t *subscribers_input(tt_batch *b, const char *account, const tt_batch_key *keys,
                                 size_t n)
{
    char name[NAME_MAX_LEN + 1];
    const json_t *notes = json_object_get(tt_batch_view(b, keys[0].item), "notifications");

    (void)n;
    budget_name(tt_batch_item(b, keys[0].item)->r, name, sizeof(name));
    return json_pack("{s:s,s:s,s:o,s:i}", "AccountId", account, "BudgetName", name, "Notification",
                     bare_notification(json_array_get(notes, strtoul(keys[0].key, NULL, 10))),
                     "MaxResults", 100);
}

static tt_code subscribers_join(tt_batch *b, const json_t *output, const tt_batch_key *keys,
                                size_t n)
{
    json_t *note = json_array_get(json_object_get(tt_batch_view(b, keys[0].item), "notifications"),
                                  strtoul(keys[0].key, NULL, 10));
    json_t *subs = json_object_get(output, "Subscribers");

    (void)n;
    return note != NULL && json_object_set_new(note, "Subscribers",
                                               subs ? json_deep_copy(subs) : json_array()) == 0
               ? TT_OK
               : TT_ENOMEM;
}

static json_t *tags_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group, (void)n;
    return json_pack("{s:s}", "ResourceARN", keys[0].key);
}

/* ResourceTags [{Key, Value}] become {"key": "value"}, as tt_owner_tag_in reads them. */
static tt_code tags_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    json_t *tags = json_object();
    size_t i;
    json_t *t;

    (void)n;
    json_array_foreach(json_object_get(output, "ResourceTags"), i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        if (k != NULL && tags != NULL)
            json_object_set(tags, k, json_object_get(t, "Value"));
    }
    return json_object_set_new(tt_batch_view(b, keys[0].item), "tags", tags) == 0 ? TT_OK
                                                                                  : TT_ENOMEM;
}

static const tt_batch_op op_budgets = {SVC,   "DescribeBudgets",  LIST_ALL,     false,
                                       false, account_list_input, budgets_join, NULL};
static const tt_batch_op op_notifications = {SVC,
                                             "DescribeBudgetNotificationsForAccount",
                                             LIST_ALL,
                                             false,
                                             false,
                                             account_list_input,
                                             notifications_join,
                                             NULL};
static const tt_batch_op op_subscribers = {
    SVC, "DescribeSubscribersForNotification", 1, false, false, subscribers_input, subscribers_join,
    NULL};
static const tt_batch_op op_tags = {
    SVC, "ListTagsForResource", 1, false, false, tags_input, tags_join, NULL};

static bool memo_owned(const json_t *memo)
{
    return json_is_true(json_object_get(memo, "owned"));
}

/*
 * Asks for what each item still lacks, in the order the reads depend on each other: once the
 * account is known, the budget and its notifications; once the budget is found, the
 * subscribers of each notification and, unless the memo says it is ours, its tags. Each read
 * fills its slot or fails the item, so every item moves on.
 */
static void more_reads(tt_batch *b, int phase)
{
    (void)phase;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        json_t *view = tt_batch_view(b, i);
        const char *account = json_string_value(json_object_get(view, "account"));
        const json_t *budget = json_object_get(view, "budget");
        char name[NAME_MAX_LEN + 1], key[32], arn[300];
        size_t k;
        json_t *note;

        if (tt_batch_failed(b, i) || account == NULL)
            continue;
        budget_name(tt_batch_item(b, i)->r, name, sizeof(name));
        if (budget == NULL) {
            if (json_object_set_new(view, "budget", json_null()) != 0 ||
                json_object_set_new(view, "notifications", json_array()) != 0) {
                tt_batch_fail_nomem(b, i, "reading AWS Budgets");
                continue;
            }
            tt_batch_add(b, &op_budgets, account, name, i);
            tt_batch_add(b, &op_notifications, account, name, i);
            continue;
        }
        if (!json_is_object(budget))
            continue;
        json_array_foreach(json_object_get(view, "notifications"), k, note)
        {
            if (json_object_get(note, "Subscribers") != NULL)
                continue;
            snprintf(key, sizeof(key), "%zu", k);
            tt_batch_add(b, &op_subscribers, account, key, i);
        }
        if (!memo_owned(tt_batch_item(b, i)->memo) && json_object_get(view, "tags") == NULL) {
            snprintf(arn, sizeof(arn), "arn:aws:budgets::%s:budget/%s", account, name);
            tt_batch_add(b, &op_tags, "", arn, i);
        }
    }
}

static tt_code budgets_observe(struct tt_aws *aws, const char *role_arn,
                               const tt_observe_item *items, size_t n, tt_observe_cb cb, void *ud,
                               tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    if (tt_batch_on_phase(b, more_reads, err) != TT_OK) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++)
        tt_sts_read_account(b, i);
    more_reads(b, 0); /* items whose account was cached start with the budgets */
    return tt_batch_start(b, err);
}

/* ---- diff --------------------------------------------------------------------------------- */

/* "60" for 60, "12.5" for 12.5: Budgets takes amounts as decimal strings. */
static json_t *amount_string(double v)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%.15g", v);
    return json_string(buf);
}

/* An amount AWS sent back as a decimal string, as a number; NULL when absent. */
static json_t *amount_of(const json_t *spend)
{
    const char *s = json_string_value(json_object_get(spend, "Amount"));

    return s != NULL ? json_real(strtod(s, NULL)) : NULL;
}

static tt_code add_filter(json_t *filters, const char *key, const char *const *values, size_t n)
{
    json_t *list;

    if (n == 0)
        return TT_OK;
    if ((list = json_array()) == NULL || json_object_set_new(filters, key, list) != 0)
        return TT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(list, json_string(values[i])) != 0)
            return TT_ENOMEM;
    }
    return TT_OK;
}

/* spec.costFilters as the API's CostFilters map; tags are "user:<key>$<value>". */
static json_t *cost_filters(const tt_cost_filters *f)
{
    json_t *out = json_object();
    json_t *tags;

    if (out == NULL || f == NULL)
        return out;
    if (add_filter(out, "Service", f->service, f->nservice) ||
        add_filter(out, "Region", f->region, f->nregion) ||
        add_filter(out, "LinkedAccount", f->linked_account, f->nlinked_account) ||
        add_filter(out, "UsageType", f->usage_type, f->nusage_type) ||
        add_filter(out, "UsageTypeGroup", f->usage_type_group, f->nusage_type_group) ||
        add_filter(out, "InstanceType", f->instance_type, f->ninstance_type) ||
        add_filter(out, "Operation", f->operation, f->noperation) ||
        add_filter(out, "PurchaseType", f->purchase_type, f->npurchase_type) ||
        add_filter(out, "AZ", f->availability_zone, f->navailability_zone) ||
        add_filter(out, "RecordType", f->record_type, f->nrecord_type))
        goto nomem;
    if (f->ntags > 0) {
        if ((tags = json_array()) == NULL || json_object_set_new(out, "TagKeyValue", tags) != 0)
            goto nomem;
        for (size_t i = 0; i < f->ntags; i++) {
            char kv[600];
            snprintf(kv, sizeof(kv), "user:%s$%s", f->tags[i].key, f->tags[i].value);
            if (json_array_append_new(tags, json_string(kv)) != 0)
                goto nomem;
        }
    }
    return out;
nomem:
    json_decref(out);
    return NULL;
}

/* The Budget structure the spec asks for (a new reference, NULL when out of memory). */
static json_t *desired_budget(const tt_budget_spec *s, const char *name)
{
    return json_pack("{s:s,s:{s:o,s:s},s:s,s:s,s:o}", "BudgetName", name, "BudgetLimit", "Amount",
                     amount_string(s->limit->amount.v), "Unit", s->limit->unit, "TimeUnit",
                     s->time_unit, "BudgetType", s->budget_type, "CostFilters",
                     cost_filters(s->cost_filters));
}

static json_t *desired_notification(const tt_notification *n)
{
    return json_pack("{s:s,s:s,s:f,s:s}", "NotificationType", n->type, "ComparisonOperator",
                     n->comparison, "Threshold", n->threshold.v, "ThresholdType",
                     n->threshold_type);
}

static json_t *desired_subscriber(const tt_subscriber *s)
{
    return json_pack("{s:s,s:s}", "SubscriptionType", s->email ? "EMAIL" : "SNS", "Address",
                     s->email ? s->email : s->sns_topic_arn);
}

static json_t *desired_subscribers(const tt_notification *n)
{
    json_t *subs = json_array();

    for (size_t i = 0; subs != NULL && i < n->nsubscribers; i++) {
        if (json_array_append_new(subs, desired_subscriber(&n->subscribers[i])) != 0) {
            json_decref(subs);
            return NULL;
        }
    }
    return subs;
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : dflt;
}

/* True when an observed notification is the declared one (AWS's identity of a notification). */
static bool same_notification(const tt_notification *want, const json_t *have)
{
    const json_t *t = json_object_get(have, "Threshold");

    return strcmp(want->type, str_or(have, "NotificationType", "")) == 0 &&
           strcmp(want->comparison, str_or(have, "ComparisonOperator", "")) == 0 &&
           strcmp(want->threshold_type, str_or(have, "ThresholdType", "PERCENTAGE")) == 0 &&
           json_is_number(t) && json_number_value(t) == want->threshold.v;
}

/* "notification ACTUAL GREATER_THAN 80%" for plans and events. */
static void describe_notification(const json_t *n, char *out, size_t len)
{
    bool pct = strcmp(str_or(n, "ThresholdType", "PERCENTAGE"), "PERCENTAGE") == 0;

    snprintf(out, len, "notification %s %s %g%s", str_or(n, "NotificationType", "?"),
             str_or(n, "ComparisonOperator", "?"),
             json_number_value(json_object_get(n, "Threshold")), pct ? "%" : "");
}

static bool same_subscriber(const json_t *a, const json_t *b)
{
    return strcmp(str_or(a, "SubscriptionType", ""), str_or(b, "SubscriptionType", "")) == 0 &&
           strcmp(str_or(a, "Address", ""), str_or(b, "Address", "")) == 0;
}

static bool has_subscriber(const json_t *list, const json_t *s)
{
    size_t i;
    json_t *x;

    json_array_foreach(list, i, x)
    {
        if (same_subscriber(x, s))
            return true;
    }
    return false;
}

/* What every notification or subscriber call of one budget says first. */
struct target {
    const char *account;
    const char *name;
    json_t *plan;
};

static json_t *subscriber_call(const struct target *t, const char *verb, const char *op,
                               const json_t *note, const char *sub_key, const json_t *sub,
                               const json_t *old_sub)
{
    char what[400], object[600];
    json_t *input = json_pack("{s:s,s:s,s:o}", "AccountId", t->account, "BudgetName", t->name,
                              "Notification", bare_notification(note));
    json_t *a;

    if (input == NULL)
        return NULL;
    if (old_sub != NULL)
        json_object_set(input, "OldSubscriber", (json_t *)old_sub);
    json_object_set(input, sub_key, (json_t *)sub);
    describe_notification(note, what, sizeof(what));
    snprintf(object, sizeof(object), "subscriber %s of %s", str_or(sub, "Address", "?"), what);
    a = tt_plan_add(t->plan, verb, object, SVC, op, NULL, input);
    if (a != NULL)
        tt_action_change(
            a, "subscriber", old_sub ? json_string(str_or(old_sub, "Address", "")) : NULL,
            strcmp(verb, "delete") == 0 ? NULL : json_string(str_or(sub, "Address", "")));
    return a;
}

/*
 * The subscriber calls that turn `have` into `want` on notification `note` (as AWS will know it
 * once earlier actions ran). A removed and an added subscriber of the same type become one
 * UpdateSubscriber — the only way to swap the single SNS topic a notification allows.
 */
static void diff_subscribers(const struct target *t, const json_t *note, const json_t *want,
                             const json_t *have)
{
    json_t *gone = json_array(), *added = json_array();
    size_t i, k;
    json_t *s;

    if (gone == NULL || added == NULL)
        goto out;
    json_array_foreach(have, i, s)
    {
        if (!has_subscriber(want, s))
            json_array_append(gone, s);
    }
    json_array_foreach(want, i, s)
    {
        if (!has_subscriber(have, s))
            json_array_append(added, s);
    }
    json_array_foreach(added, i, s)
    {
        const json_t *old = NULL;
        json_array_foreach(gone, k, old)
        {
            if (strcmp(str_or(old, "SubscriptionType", ""), str_or(s, "SubscriptionType", "")) == 0)
                break;
        }
        if (k < json_array_size(gone)) {
            subscriber_call(t, "update", "UpdateSubscriber", note, "NewSubscriber", s, old);
            json_array_remove(gone, k);
        } else {
            subscriber_call(t, "create", "CreateSubscriber", note, "Subscriber", s, NULL);
        }
    }
    json_array_foreach(gone, i, s)
        subscriber_call(t, "delete", "DeleteSubscriber", note, "Subscriber", s, NULL);
out:
    json_decref(gone);
    json_decref(added);
}

/*
 * Notifications as a set: matched ones get their subscribers diffed, unmatched observed ones
 * are paired with unmatched declared ones and updated in place (their subscribers kept and then
 * diffed), what is left is deleted (first: a budget holds at most ten) or created.
 */
static tt_code diff_notifications(const struct target *t, const tt_budget_spec *s,
                                  const json_t *observed)
{
    size_t nobs = json_array_size(observed);
    bool *matched_obs = calloc(nobs + 1, sizeof(*matched_obs));
    bool *matched_want = calloc(s->nnotifications + 1, sizeof(*matched_want));
    size_t pair = 0;
    tt_code rc = TT_OK;

    if (matched_obs == NULL || matched_want == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    for (size_t w = 0; w < s->nnotifications; w++) {
        for (size_t o = 0; o < nobs; o++) {
            if (!matched_obs[o] &&
                same_notification(&s->notifications[w], json_array_get(observed, o))) {
                matched_obs[o] = matched_want[w] = true;
                break;
            }
        }
    }
    /* Pairs for updating in place: unmatched declared and observed ones, in order. The ones
     * without a partner are created or deleted below. */
    for (size_t w = 0; w < s->nnotifications; w++) {
        const json_t *old;
        json_t *want, *input, *a;
        char what[400];
        if (matched_want[w])
            continue;
        while (pair < nobs && matched_obs[pair])
            pair++;
        if (pair == nobs)
            break;
        old = json_array_get(observed, pair);
        matched_obs[pair] = matched_want[w] = true;
        want = desired_notification(&s->notifications[w]);
        input = json_pack("{s:s,s:s,s:o,s:O}", "AccountId", t->account, "BudgetName", t->name,
                          "OldNotification", bare_notification(old), "NewNotification", want);
        describe_notification(old, what, sizeof(what));
        a = tt_plan_add(t->plan, "update", what, SVC, "UpdateNotification", NULL, input);
        if (a != NULL) {
            json_t *changes = json_array();
            tt_plan_compare(changes, "type", json_object_get(want, "NotificationType"),
                            json_object_get(old, "NotificationType"));
            tt_plan_compare(changes, "comparison", json_object_get(want, "ComparisonOperator"),
                            json_object_get(old, "ComparisonOperator"));
            tt_plan_compare(changes, "threshold", json_object_get(want, "Threshold"),
                            json_object_get(old, "Threshold"));
            {
                json_t *old_type = json_string(str_or(old, "ThresholdType", "PERCENTAGE"));
                tt_plan_compare(changes, "thresholdType", json_object_get(want, "ThresholdType"),
                                old_type);
                json_decref(old_type);
            }
            json_object_set_new(a, "changes", changes);
        }
        {
            json_t *subs = desired_subscribers(&s->notifications[w]);
            diff_subscribers(t, want, subs, json_object_get(old, "Subscribers"));
            json_decref(subs);
        }
        json_decref(want);
    }
    for (size_t o = 0; o < nobs; o++) {
        const json_t *old = json_array_get(observed, o);
        char what[400];
        if (matched_obs[o])
            continue;
        describe_notification(old, what, sizeof(what));
        tt_plan_add(t->plan, "delete", what, SVC, "DeleteNotification", NULL,
                    json_pack("{s:s,s:s,s:o}", "AccountId", t->account, "BudgetName", t->name,
                              "Notification", bare_notification(old)));
    }
    /* Declared ones AWS already has: only their subscribers can differ. */
    for (size_t w = 0; w < s->nnotifications; w++) {
        for (size_t o = 0; o < nobs; o++) {
            const json_t *have = json_array_get(observed, o);
            json_t *subs;
            if (!same_notification(&s->notifications[w], have))
                continue;
            subs = desired_subscribers(&s->notifications[w]);
            diff_subscribers(t, have, subs, json_object_get(have, "Subscribers"));
            json_decref(subs);
            break;
        }
    }
    for (size_t w = 0; w < s->nnotifications; w++) {
        json_t *want;
        char what[400];
        if (matched_want[w])
            continue;
        want = desired_notification(&s->notifications[w]);
        describe_notification(want, what, sizeof(what));
        tt_plan_add(t->plan, "create", what, SVC, "CreateNotification", NULL,
                    json_pack("{s:s,s:s,s:O,s:o}", "AccountId", t->account, "BudgetName", t->name,
                              "Notification", want, "Subscribers",
                              desired_subscribers(&s->notifications[w])));
        json_decref(want);
    }
out:
    free(matched_obs);
    free(matched_want);
    return rc;
}

static void create_budget(const tt_diff_input *in, const struct target *t)
{
    const tt_budget_spec *s = in->r->spec.budget;
    json_t *notes = json_array(), *a;
    char owner[600], object[200];

    for (size_t i = 0; notes != NULL && i < s->nnotifications; i++)
        json_array_append_new(notes,
                              json_pack("{s:o,s:o}", "Notification",
                                        desired_notification(&s->notifications[i]), "Subscribers",
                                        desired_subscribers(&s->notifications[i])));
    tt_owner_value(in->r, owner, sizeof(owner));
    snprintf(object, sizeof(object), "budget %s", t->name);
    a = tt_plan_add(t->plan, "create", object, SVC, "CreateBudget", NULL,
                    json_pack("{s:s,s:o,s:o,s:[{s:s,s:s}]}", "AccountId", t->account, "Budget",
                              desired_budget(s, t->name), "NotificationsWithSubscribers", notes,
                              "ResourceTags", "Key", TT_OWNER_TAG, "Value", owner));
    if (a != NULL) {
        tt_action_change(a, "limit", NULL, json_real(s->limit->amount.v));
        tt_action_change(a, "notifications", NULL, json_integer((json_int_t)s->nnotifications));
    }
}

/* Adopt or refuse an existing budget; 0 when trimtab may manage it. */
static int check_ownership(const tt_diff_input *in, const struct target *t, tt_diff_output *out)
{
    char what[200], owner[600], arn[300];

    snprintf(what, sizeof(what), "budget %s", t->name);
    tt_owner_value(in->r, owner, sizeof(owner));
    snprintf(arn, sizeof(arn), "arn:aws:budgets::%s:budget/%s", t->account, t->name);
    return tt_owner_gate(in->r, memo_owned(in->memo),
                         tt_owner_tag_in(json_object_get(in->observed, "tags")), what, out, SVC,
                         "TagResource", NULL,
                         json_pack("{s:s,s:[{s:s,s:s}]}", "ResourceARN", arn, "ResourceTags", "Key",
                                   TT_OWNER_TAG, "Value", owner));
}

static tt_code budgets_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const tt_budget_spec *s = in->r->spec.budget;
    const json_t *have = json_object_get(in->observed, "budget");
    char name[NAME_MAX_LEN + 1];
    struct target t = {json_string_value(json_object_get(in->observed, "account")), name,
                       out->plan};
    json_t *changes = NULL, *want = NULL, *have_amount = NULL;
    tt_code rc = TT_OK;

    budget_name(in->r, name, sizeof(name));
    if (t.account == NULL) {
        rc = tt_error_set(err, TT_EINVAL, "%s: the AWS account id is not known", in->r->key);
        goto out;
    }
    if (!json_is_object(have)) {
        create_budget(in, &t);
        goto owned;
    }
    if (check_ownership(in, &t, out) != 0)
        goto out;
    if ((want = desired_budget(s, name)) == NULL || (changes = json_array()) == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
    have_amount = amount_of(json_object_get(have, "BudgetLimit"));
    tt_plan_compare_new(changes, "limit.amount", json_real(s->limit->amount.v), have_amount);
    tt_plan_compare(changes, "limit.unit",
                    json_object_get(json_object_get(want, "BudgetLimit"), "Unit"),
                    json_object_get(json_object_get(have, "BudgetLimit"), "Unit"));
    tt_plan_compare(changes, "timeUnit", json_object_get(want, "TimeUnit"),
                    json_object_get(have, "TimeUnit"));
    tt_plan_compare(changes, "budgetType", json_object_get(want, "BudgetType"),
                    json_object_get(have, "BudgetType"));
    /* AWS reports an unfiltered budget with an empty map. */
    {
        const json_t *hf = json_object_get(have, "CostFilters");
        json_t *empty = json_object();
        tt_plan_compare(changes, "costFilters", json_object_get(want, "CostFilters"),
                        hf != NULL ? hf : empty);
        json_decref(empty);
    }
    if (json_array_size(changes) > 0) {
        char object[200];
        json_t *a;
        /* UpdateBudget replaces the budget: the time period it already has is kept. */
        if (json_object_get(have, "TimePeriod") != NULL)
            json_object_set(want, "TimePeriod", json_object_get(have, "TimePeriod"));
        snprintf(object, sizeof(object), "budget %s", name);
        a = tt_plan_add(out->plan, "update", object, SVC, "UpdateBudget", NULL,
                        json_pack("{s:s,s:O}", "AccountId", t.account, "NewBudget", want));
        if (a != NULL) {
            json_object_set(a, "changes", changes);
        }
    }
    if (diff_notifications(&t, s, json_object_get(in->observed, "notifications")) != TT_OK) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory diffing %s", in->r->key);
        goto out;
    }
owned:
    out->memo = json_pack("{s:b}", "owned", 1);
out:
    json_decref(changes);
    json_decref(want);
    json_decref(have_amount);
    return rc;
}

/* ---- status and removal ------------------------------------------------------------------ */

static double round2(double v)
{
    return tt_round(v * 100.0) / 100.0;
}

static json_t *spend_status(const json_t *spend)
{
    json_t *amount = amount_of(spend);

    if (amount == NULL)
        return NULL;
    json_real_set(amount, round2(json_real_value(amount)));
    return json_pack("{s:o,s:s}", "amount", amount, "unit", str_or(spend, "Unit", ""));
}

/*
 * actualSpend, forecastedSpend, percentUsed (of the limit, two decimals: what budget guards
 * compare) and thresholdsExceeded ("ACTUAL>80%"), from the notifications AWS says are in ALARM.
 */
static void budgets_status(const tt_diff_input *in, json_t *status)
{
    const json_t *have = json_object_get(in->observed, "budget");
    const json_t *calc = json_object_get(have, "CalculatedSpend");
    json_t *actual = amount_of(json_object_get(calc, "ActualSpend"));
    json_t *limit = amount_of(json_object_get(have, "BudgetLimit"));
    json_t *exceeded = json_array();
    char name[NAME_MAX_LEN + 1];
    size_t i;
    json_t *n;

    budget_name(in->r, name, sizeof(name));
    json_object_set_new(status, "budgetName", json_string(name));
    json_object_set_new(status, "target", json_string(name));
    if (!json_is_object(have))
        goto out;
    if (calc != NULL) {
        json_object_set_new(status, "actualSpend",
                            spend_status(json_object_get(calc, "ActualSpend")));
        if (json_object_get(calc, "ForecastedSpend") != NULL)
            json_object_set_new(status, "forecastedSpend",
                                spend_status(json_object_get(calc, "ForecastedSpend")));
    }
    if (actual != NULL && limit != NULL && json_real_value(limit) > 0)
        json_object_set_new(
            status, "percentUsed",
            json_real(round2(json_real_value(actual) * 100.0 / json_real_value(limit))));
    json_array_foreach(json_object_get(in->observed, "notifications"), i, n)
    {
        char text[200];
        bool pct = strcmp(str_or(n, "ThresholdType", "PERCENTAGE"), "PERCENTAGE") == 0;
        const char *cmp = str_or(n, "ComparisonOperator", "");
        if (strcmp(str_or(n, "NotificationState", ""), "ALARM") != 0)
            continue;
        snprintf(text, sizeof(text), "%s%s%g%s", str_or(n, "NotificationType", "?"),
                 strcmp(cmp, "GREATER_THAN") == 0 ? ">"
                 : strcmp(cmp, "LESS_THAN") == 0  ? "<"
                                                  : "=",
                 json_number_value(json_object_get(n, "Threshold")), pct ? "%" : "");
        json_array_append_new(exceeded, json_string(text));
    }
    json_object_set(status, "thresholdsExceeded", exceeded);
out:
    json_decref(actual);
    json_decref(limit);
    json_decref(exceeded);
}

/* Deleting the budget deletes its notifications and subscribers with it. */
static tt_code budgets_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    const char *account = json_string_value(json_object_get(in->observed, "account"));
    char name[NAME_MAX_LEN + 1], object[200];

    (void)err;
    if (account == NULL || !json_is_object(json_object_get(in->observed, "budget")) ||
        !tt_owner_may_delete(in->r, memo_owned(in->memo),
                             tt_owner_tag_in(json_object_get(in->observed, "tags"))))
        return TT_OK;
    budget_name(in->r, name, sizeof(name));
    snprintf(object, sizeof(object), "budget %s", name);
    tt_plan_add(plan, "delete", object, SVC, "DeleteBudget", NULL,
                json_pack("{s:s,s:s}", "AccountId", account, "BudgetName", name));
    return TT_OK;
}

/*
 * IAM: Budgets authorises by ViewBudget and ModifyBudget, not by operation. DescribeBudgets lists
 * every budget of the account, so reading takes every budget; writes only trimtab's own names.
 */
static const tt_iam_action budgets_iam_actions[] = {
    {"budgets:ViewBudget",
     "DescribeBudgets DescribeBudgetNotificationsForAccount DescribeSubscribersForNotification",
     "arn:{partition}:budgets::{account}:budget/*", TT_IAM_NONE, NULL},
    {"budgets:ListTagsForResource", "ListTagsForResource",
     "arn:{partition}:budgets::{account}:budget/trimtab-{namespace}-*", TT_IAM_NONE, NULL},
    {"budgets:ModifyBudget",
     "CreateBudget UpdateBudget DeleteBudget CreateNotification UpdateNotification "
     "DeleteNotification CreateSubscriber UpdateSubscriber DeleteSubscriber",
     "arn:{partition}:budgets::{account}:budget/trimtab-{namespace}-*", TT_IAM_NONE, NULL},
    {"budgets:TagResource", "TagResource CreateBudget",
     "arn:{partition}:budgets::{account}:budget/trimtab-{namespace}-*", TT_IAM_TAG_OWNER, NULL},
};
static const tt_iam_needs budgets_iam = {TT_IAM_TABLE(budgets_iam_actions), NULL};

const tt_provider tt_provider_budgets = {
    .name = "budgets",
    .handles = budgets_handles,
    .observe = budgets_observe, /* STS once per role, then account-wide listings */
    .diff = budgets_diff,       /* the budget, its notifications and subscribers as sets */
    .status = budgets_status,   /* spend, percentUsed, thresholdsExceeded */
    .remove = budgets_remove,   /* DeleteBudget, when the memo or owner tag says it is ours */
    .iam = &budgets_iam,
};
