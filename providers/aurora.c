/*
 * The Aurora provider: ScalingPolicies whose target is an Aurora DB cluster's read replica count
 * (spec.target.rds.cluster, rds:cluster:ReadReplicaCount).
 *
 * Scaling itself is Application Auto Scaling (the "rds" row of tt_aas_kinds). RDS adds the
 * cluster's own view: that it exists and is Aurora (a Multi-AZ DB cluster of plain PostgreSQL or
 * MySQL has no read replica count to scale), and its current readers for status. The clusters of
 * a batch are read together: DescribeDBClusters with a db-cluster-id filter of up to 100
 * identifiers, so a resync of N clusters costs ceil(N / 100) RDS calls. The scaling activities are
 * read only for clusters whose reader count moved since the last look, as ECS does.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "appautoscaling.h"
#include "batch.h"
#include "provider.h"

/* DescribeDBClusters: a filter takes up to 100 identifiers and a page holds up to 100. */
#define RDS_BATCH 100

static int aurora_handles(const tt_resource *r)
{
    return r->kind == TT_KIND_SCALING_POLICY && r->spec.sp != NULL &&
           tt_target_kind_of(r->spec.sp->target) == TT_TARGET_RDS_CLUSTER;
}

static json_t *clusters_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b;
    (void)group;
    return json_pack("{s:[{s:s,s:o}],s:i}", "Filters", "Name", "db-cluster-id", "Values",
                     tt_batch_key_list(keys, n), "MaxRecords", RDS_BATCH);
}

/* Files each cluster under the items that asked for it; absent ones stay null (not found). */
static tt_code clusters_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    return tt_batch_join(b, output, "DBClusters", "DBClusterIdentifier", keys, n, "cluster", NULL);
}

static const tt_batch_op op_clusters = {"rds", "DescribeDBClusters", RDS_BATCH,     false,
                                        false, clusters_input,       clusters_join, NULL};

/* The readers of a cluster as DescribeDBClusters lists them, or -1 when it was not read. */
static int readers_of(const json_t *cluster)
{
    const json_t *members = json_object_get(cluster, "DBClusterMembers");
    size_t i;
    json_t *m;
    int n = 0;

    if (!json_is_object(cluster))
        return -1;
    json_array_foreach(members, i, m) n += !json_is_true(json_object_get(m, "IsClusterWriter"));
    return n;
}

/* After the first reads: activities of clusters whose reader count moved since the last look
 * and that have a scalable target (nothing else can have new ones). */
static void read_activities(tt_batch *b, int phase)
{
    if (phase != 1)
        return;
    for (size_t i = 0; i < tt_batch_size(b); i++) {
        const json_t *view = tt_batch_view(b, i);
        const json_t *last = json_object_get(tt_batch_item(b, i)->memo, "lastReaders");
        int now = readers_of(json_object_get(view, "cluster"));
        const json_t *target = json_object_get(json_object_get(view, "aas"), "target");
        if (!tt_batch_failed(b, i) && now >= 0 && json_is_object(target) &&
            (!json_is_integer(last) || json_integer_value(last) != now))
            tt_aas_read_activities(b, i);
    }
}

static tt_code aurora_observe(struct tt_aws *aws, const char *role_arn,
                              const tt_observe_item *items, size_t n, tt_observe_cb cb, void *ud,
                              tt_error *err)
{
    tt_batch *b = tt_batch_create(aws, role_arn, items, n, cb, ud, err);

    if (b == NULL)
        return err->code;
    if (tt_aas_observe_batch(b, err) != TT_OK || tt_batch_on_phase(b, read_activities, err)) {
        tt_batch_discard(b);
        return err->code;
    }
    for (size_t i = 0; i < n; i++) {
        char id[256];
        /* RDS keeps identifiers in lower case and answers with them so. */
        snprintf(id, sizeof(id), "%s", items[i].r->spec.sp->target->rds->cluster);
        for (char *p = id; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (json_object_set_new(tt_batch_view(b, i), "cluster", json_null()) != 0)
            tt_batch_fail_nomem(b, i, "reading RDS");
        else
            tt_batch_add(b, &op_clusters, "", id, i);
    }
    return tt_batch_start(b, err);
}

static tt_code aurora_diff(const tt_diff_input *in, tt_diff_output *out, tt_error *err)
{
    const char *id = in->r->spec.sp->target->rds->cluster;
    const json_t *cluster = json_object_get(in->observed, "cluster");
    const char *engine = json_string_value(json_object_get(cluster, "Engine"));
    tt_code rc;

    if (!json_is_object(cluster)) {
        out->blocked = "TargetNotFound";
        snprintf(out->message, sizeof(out->message), "Aurora DB cluster %s not found", id);
        return TT_OK;
    }
    if (engine == NULL || strncmp(engine, "aurora", 6) != 0) {
        out->blocked = "UnsupportedTarget";
        snprintf(out->message, sizeof(out->message),
                 "DB cluster %s runs %s, not Aurora: only an Aurora cluster has a read replica "
                 "count to scale",
                 id, engine ? engine : "an unknown engine");
        return TT_OK;
    }
    rc = tt_aas_diff(in, json_object_get(in->observed, "aas"), out, err);
    if (rc == TT_OK && out->memo != NULL)
        json_object_set_new(out->memo, "lastReaders", json_integer(readers_of(cluster)));
    return rc;
}

static void aurora_status(const tt_diff_input *in, json_t *status)
{
    const json_t *cluster = json_object_get(in->observed, "cluster");
    char target[600];

    tt_target_describe(in->r->spec.sp->target, target, sizeof(target));
    json_object_set_new(status, "target", json_string(target));
    if (json_is_object(cluster))
        json_object_set_new(status, "currentCapacity", json_integer(readers_of(cluster)));
    tt_aas_status(in, json_object_get(in->observed, "aas"), status);
}

static tt_code aurora_remove(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    return tt_aas_remove(in, json_object_get(in->observed, "aas"), plan, err);
}

/* The answers of Application Auto Scaling settle the view, unless registering the target moved
 * the reader count (RDS adds or removes readers to bring it within the new bounds). */
static int aurora_applied(const tt_resource *r, json_t *observed, const json_t *call,
                          const json_t *output)
{
    return tt_aas_applied_at(r, json_object_get(observed, "aas"), call, output,
                             readers_of(json_object_get(observed, "cluster")));
}

/* IAM: a DescribeDBClusters filtered by db-cluster-id (a batch) is authorised on every cluster of
 * the region, as a call without an identifier is. */
static const tt_iam_action aurora_iam_actions[] = {
    {"rds:DescribeDBClusters", "DescribeDBClusters",
     "arn:{partition}:rds:{region}:{account}:cluster:*", TT_IAM_NONE, NULL},
};
static const tt_iam_needs aurora_iam = {TT_IAM_TABLE(aurora_iam_actions), &tt_aas_iam};

const tt_provider tt_provider_aurora = {
    .name = "aurora",          /* logs and metrics */
    .handles = aurora_handles, /* ScalingPolicies on rds: {cluster} */
    .observe = aurora_observe, /* Application Auto Scaling + DescribeDBClusters by 100 */
    .diff = aurora_diff,       /* TargetNotFound / UnsupportedTarget, then tt_aas_diff */
    .status = aurora_status,   /* currentCapacity = readers, then tt_aas_status */
    .remove = aurora_remove,   /* what Application Auto Scaling holds for the cluster */
    .applied = aurora_applied, /* the answers, unless registering moved the readers */
    .iam = &aurora_iam,
};
