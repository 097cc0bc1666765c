#!/usr/bin/env python3
"""ScalingPolicies on ElastiCache replication groups (spec.target.elasticache) end to end against
awssim: the shared target cases (targets.py) and ElastiCache's own — node groups (shards) beside
replicas, node groups refused on a group with cluster mode off, and the reads: one group by id,
several by one listing.

Usage: test_elasticache.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import sys

from e2e import NS, REGION, check, expect_ready, log, main, ops, to_yaml, tracking
from targets import Target, cases, policy


class ElastiCache(Target):
    kind = 'elasticache'
    ns = 'elasticache'
    dim = 'elasticache:replication-group:Replicas'
    metric = 'ElastiCacheReplicaEngineCPUUtilization'
    fault_service = 'elasticache'
    own_reads = ('DescribeReplicationGroups',)
    fixtures = {'region': REGION, 'elasticache': {'replicationGroups': [
        {'id': 'alpha', 'clusterMode': True, 'nodeGroups': 2, 'replicasPerNodeGroup': 1},
        {'id': 'beta', 'clusterMode': True, 'nodeGroups': 2, 'replicasPerNodeGroup': 1},
        {'id': 'plain', 'clusterMode': False, 'replicas': 1}]}}

    def spec_target(self, obj):
        return {'elasticache': {'replicationGroup': obj}}

    def rid(self, obj):
        return 'replication-group/' + obj

    def check_status(self, c, name, status):
        check(status['currentCapacity'] == 1, '%s: currentCapacity %s, expected 1 replica'
              % (name, status['currentCapacity']), status)


T = ElastiCache()


def shards(name, group, lo=2, hi=6):
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                    'metadata': {'name': name, 'namespace': NS},
                    'spec': {'target': {'elasticache': {'replicationGroup': group,
                                                        'dimension': 'NodeGroups'}},
                             'minCapacity': lo, 'maxCapacity': hi,
                             'targetTracking': [tracking(
                                 'load', 'ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage',
                                 70)]}})


def case_node_groups(c):
    """Node groups scale on their own dimension (a second target on the same group as its
    replicas); a group with cluster mode off refuses them with a clear reason and no write."""
    c.write('alpha.yaml', policy(T, 'alpha'))
    c.write('alpha-shards.yaml', shards('alpha-shards', 'alpha'))
    c.write('plain-shards.yaml', shards('plain-shards', 'plain'))
    p, calls = c.run_once()
    check(p.returncode == 1, 'exit %d, expected 1 (plain has cluster mode off)' % p.returncode)
    expect_ready(c, 'alpha', 'alpha-shards')
    cond = c.expect_condition('plain-shards', 'Ready', 'False', 'UnsupportedTarget')
    check('cluster mode disabled' in cond['message'], 'message unclear', cond)
    aas = c.client('application-autoscaling')
    dims = sorted(t['ScalableDimension'] for t in aas.describe_scalable_targets(
        ServiceNamespace='elasticache')['ScalableTargets'])
    check(dims == ['elasticache:replication-group:NodeGroups',
                   'elasticache:replication-group:Replicas'], 'targets of alpha wrong', dims)
    st = c.record('alpha-shards')['status']
    check(st['currentCapacity'] == 2, 'shards: currentCapacity %s, expected 2' %
          st['currentCapacity'], st)
    check(not [x for x in calls if x['kind'] == 'write' and 'plain' in str(x)],
          'plain was written')


def case_reads(c):
    """One group is read by id (one call); three groups by one listing (one call, not three)."""
    c.write('alpha.yaml', policy(T, 'alpha', sched=False))
    c.run_once(expect_rc=0)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls).count('DescribeReplicationGroups') == 1, 'one group: %s' % ops(calls))
    c.write('beta.yaml', policy(T, 'beta', sched=False))
    c.write('alpha-shards.yaml', shards('alpha-shards', 'alpha'))
    c.run_once(expect_rc=0)
    p, calls = c.run_once(expect_rc=0)
    n = ops(calls).count('DescribeReplicationGroups')
    log('  no-op run of 3 policies on 2 groups: %d DescribeReplicationGroups, %d reads'
        % (n, len(calls)))
    check(n == 1, '%d DescribeReplicationGroups for 3 policies, expected 1' % n, ops(calls))


if __name__ == '__main__':
    sys.exit(main(cases(T, {'elasticache_node_groups': case_node_groups,
                            'elasticache_reads': case_reads}), sys.argv[1:],
                  fixtures=T.fixtures))
