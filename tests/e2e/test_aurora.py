#!/usr/bin/env python3
"""ScalingPolicies on Aurora read replicas (spec.target.rds.cluster) end to end against awssim:
the shared target cases (targets.py) and Aurora's own — the clusters of a batch read with one
DescribeDBClusters, a cluster that is not Aurora refused, the reader count in status.

Usage: test_aurora.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import sys

from e2e import REGION, check, describe, expect_ready, log, main, ops
from targets import Target, cases, policy

CLUSTERS = ['alpha', 'beta'] + ['c%02d' % i for i in range(8)]


class Aurora(Target):
    kind = 'aurora'
    ns = 'rds'
    dim = 'rds:cluster:ReadReplicaCount'
    metric = 'RDSReaderAverageCPUUtilization'
    fault_service = 'rds'
    own_reads = ('DescribeDBClusters', 'DescribeScalingActivities')
    fixtures = {'region': REGION, 'rds': {'clusters': [
        {'id': n, 'engine': 'aurora-postgresql', 'readers': 1} for n in CLUSTERS] + [
        {'id': 'plain', 'engine': 'postgres', 'readers': 0}]}}

    def spec_target(self, obj):
        return {'rds': {'cluster': obj}}

    def rid(self, obj):
        return 'cluster:' + obj

    def check_status(self, c, name, status):
        # Registering with minCapacity 1 keeps the fixture's one reader.
        check(status['currentCapacity'] == 1, '%s: currentCapacity %s, expected 1 reader'
              % (name, status['currentCapacity']), status)


T = Aurora()


def case_batched_and_refused(c):
    """Ten clusters are read with one DescribeDBClusters (a db-cluster-id filter of up to 100);
    a Multi-AZ cluster that is not Aurora is refused with a clear reason, and writes nothing."""
    for n in CLUSTERS:
        c.write('%s.yaml' % n, policy(T, n, sched=False))
    c.write('plain.yaml', policy(T, 'plain', sched=False))
    p, calls = c.run_once()
    check(p.returncode == 1, 'exit %d, expected 1 (plain is not Aurora)' % p.returncode,
          describe(p))
    expect_ready(c, *CLUSTERS)
    cond = c.expect_condition('plain', 'Ready', 'False', 'UnsupportedTarget')
    check('not Aurora' in cond['message'], 'message unclear', cond)
    p, calls = c.run_once()
    n = ops(calls).count('DescribeDBClusters')
    log('  no-op run of 11 clusters: %d DescribeDBClusters, %d reads'
        % (n, len(calls)))
    check(n == 1, '%d DescribeDBClusters for 11 clusters, expected 1' % n, ops(calls))
    check(not [x for x in calls if x['kind'] == 'write'], 'the no-op run wrote')


if __name__ == '__main__':
    sys.exit(main(cases(T, {'aurora_batched': case_batched_and_refused}), sys.argv[1:],
                  fixtures=T.fixtures))
