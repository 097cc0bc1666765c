/*
 * The ElastiCache provider: ScalingPolicies whose target is a replication group's replicas per
 * node group or its node groups (shards): spec.target.elasticache {replicationGroup, dimension}.
 *
 * Scaling itself is Application Auto Scaling (the two "elasticache" rows of tt_aas_kinds).
 * ElastiCache adds the group's own view: that it exists, that node groups are only scaled with
 * cluster mode on, and the current count for status.
 *
 * DescribeReplicationGroups reads either one group (ReplicationGroupId) or every group of the
 * region, 100 a page. For a batch of n groups in a region holding G, the first costs n calls and
 * the second ceil(G / 100). One group alone is read by id (1 call, never more than a listing);
 * two or more are read by listing, which costs fewer calls unless the region holds more than
 * 100 * n groups — 1 call for the whole batch in any region of up to 100 groups, where reading
 * by id would cost n. (The listing's cost grows with groups trimtab does not manage; a region
 * with thousands of them and a handful of policies would be better served by id.)
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "batch.h"
#include "provider.h"

/* DescribeReplicationGroups pages hold at most 100 groups. */
#define EC_PAGE 100

static int elasticache_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_ELASTICACHE;
}

static json_t *one_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)group;
    (void)n;
    return json_pack("{s:s}", "ReplicationGroupId", keys[0].key);
}

static json_t *all_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)group;
    (void)keys;
    (void)n;
    return json_pack("{s:i}", "MaxRecords", EC_PAGE);
}

/* Files each group under the items that asked for it; absent ones stay null (not found). */
static tt_code groups_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "ReplicationGroups", "ReplicationGroupId", keys, n, "group",
                         NULL);
}

/* Reading one group by id: "not found" is an answer (the view keeps "group": null). */
static bool group_missing(tt_batch *b, const tt_error *err, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)keys;
    (void)n;
    return strcmp(err->service_code, "ReplicationGroupNotFoundFault") == 0;
}

static const tt_batch_op op_one = {
    "elasticache", "DescribeReplicationGroups", 1, false, false, one_input, groups_join,
    group_missing};
/* Every key of the batch in one paginated listing. */
static const tt_batch_op op_all = {
    "elasticache", "DescribeReplicationGroups", (size_t)-1, false, false, all_input, groups_join,
    NULL};

static tt_code elasticache_observe(struct tt_aws *aws, const char *role_arn,
                                   const tt_observe_item *items, size_t n, tt_observe_cb cb,
                                   void *ud, tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);
    const tt_batch_op *op = n == 1 ? &op_one : &op_all;

    if (b == NULL)
        return err->code;
    if (tt_aas_observe_batch(b, err) != TT_OK) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        char id[256];
        /* ElastiCache keeps identifiers in lower case and answers with them so. */
        snprintf(id, sizeof(id), "%s", items[i].r->spec.sp->target->elasticache->replication_group);
        for (char *p = id; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (json_object_set_new(tt_batch_view(b, i), "group", json_null()) != 0)
            tt_batch_fail_nomem(b, i, "reading ElastiCache");
        else
            tt_batch_add(b, op, "", id, i);
    }
    return tt_batch_start(b, err);
}

static bool node_groups(const tt_resource *r)
{
    return strcmp(r->spec.sp->target->elasticache->dimension, "NodeGroups") == 0;
}

/* The group's current count on the policy's dimension: shards, or replicas per shard. */
static json_int_t capacity_of(const tt_resource *r, const json_t *group)
{
    const json_t *ngs = json_object_get(group, "NodeGroups");
    const json_t *members = json_object_get(json_array_get(ngs, 0), "NodeGroupMembers");

    if (node_groups(r))
        return (json_int_t)json_array_size(ngs);
    /* Every member of a node group but its primary is a replica. */
    return json_array_size(members) > 0 ? (json_int_t)json_array_size(members) - 1 : 0;
}

static tt_code elasticache_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const char *id = in->r->spec.sp->target->elasticache->replication_group;
    const json_t *group = json_object_get(in->observed, "group");

    if (!json_is_object(group)) {
        out->blocked = "TargetNotFound";
        snprintf(out->message, sizeof(out->message), "ElastiCache replication group %s not found",
                 id);
        return TT_OK;
    }
    if (node_groups(in->r) && !json_is_true(json_object_get(group, "ClusterEnabled"))) {
        out->blocked = "UnsupportedTarget";
        snprintf(out->message, sizeof(out->message),
                 "ElastiCache replication group %s has cluster mode disabled: only its Replicas "
                 "can scale, not NodeGroups",
                 id);
        return TT_OK;
    }
    return tt_aas_diff(in, json_object_get(in->observed, "aas"), out, err);
}

static void elasticache_status(const tt_diff_input *in, json_t *status)
{
    const json_t *group = json_object_get(in->observed, "group");
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(group))
        json_object_set_new(status, "currentCapacity", json_integer(capacity_of(in->r, group)));
    tt_aas_status(in, json_object_get(in->observed, "aas"), status);
}

static tt_code elasticache_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    return tt_aas_remove(in, json_object_get(in->observed, "aas"), plan, err);
}

/* IAM: DescribeReplicationGroups also lists every group (a batch of many), which only "*"
 * allows. */
/* The answers of Application Auto Scaling settle the view, unless registering the target moved
 * the group's count on the dimension into the new bounds. */
static int elasticache_applied(const tt_resource *r, json_t *observed, const json_t *call,
                               const json_t *output)
{
    const json_t *group = json_object_get(observed, "group");

    return tt_aas_applied_at(r, json_object_get(observed, "aas"), call, output,
                             json_is_object(group) ? capacity_of(r, group) : -1);
}

static const tt_iam_action elasticache_iam_actions[] = {
    {"elasticache:DescribeReplicationGroups", "DescribeReplicationGroups", NULL, TT_IAM_NONE, NULL},
};
static const tt_iam_needs elasticache_iam = {TT_IAM_TABLE(elasticache_iam_actions), &tt_aas_iam};

const tt_provider tt_provider_elasticache = {
    .name = "elasticache",          /* logs and metrics */
    .handles = elasticache_handles, /* ScalingPolicies on elasticache: {replicationGroup} */
    .observe = elasticache_observe, /* Application Auto Scaling + DescribeReplicationGroups */
    .diff = elasticache_diff,       /* TargetNotFound / UnsupportedTarget, then tt_aas_diff */
    .status = elasticache_status,   /* currentCapacity on the dimension, then tt_aas_status */
    .remove = elasticache_remove,   /* what Application Auto Scaling holds for the group */
    .applied = elasticache_applied, /* the answers, unless registering moved the count */
    .iam = &elasticache_iam,
};
