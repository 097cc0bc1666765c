#!/usr/bin/env python3
"""Calls per resource of a no-op resync of ScalingPolicies on Aurora readers, ElastiCache
replication groups and Lambda aliases, against the API floor (SPEC §10).

    python3 bench/engine/bench_targets.py --trimtab build/cmd/trimtab [--n 1000]

N policies, a third on each target (one Aurora cluster, one replication group, one Lambda alias
each; every Lambda policy also caps its function's reserved concurrency up to the account's
limit), each with one target-tracking policy, converged once with `run --once`, then a second
`run --once` is the no-op resync whose calls are counted from the simulator's call log. The
floor is what the APIs allow at best for the same reads:
  DescribeScalableTargets   ceil(n / 50) per service namespace (50 resource ids a call)
  DescribeScalingPolicies   ceil(policies / 10) per namespace (a page holds 10 policies)
  DescribeDBClusters        ceil(clusters / 100) (a db-cluster-id filter of 100)
  DescribeReplicationGroups ceil(groups in the region / 100) (one listing, 100 a page)
  GetProvisionedConcurrencyConfig  one per alias (Lambda has no batched read)
  GetFunctionConcurrency    one per function with a cap
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'awssim'))
from awssim import AwsSim  # noqa: E402

REGION = 'eu-central-1'
# Lambda keeps 100 of the account's 1,000 concurrent executions unreserved: 80 caps of 10.
CAPS = 80


def manifest(name, target, metric, extra=''):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: %s, '
            'namespace: bench}\nspec:\n  target: %s\n  minCapacity: 1\n  maxCapacity: 4\n'
            '  targetTracking:\n    - {name: load, predefinedMetric: %s, targetValue: 60}\n%s'
            % (name, target, metric, extra))


def setup(n, root):
    third = n // 3
    na, ne, nl = third, third, n - 2 * third
    fixtures = {'region': REGION,
                'rds': {'clusters': [{'id': 'a%05d' % i, 'readers': 1} for i in range(na)]},
                'elasticache': {'replicationGroups': [
                    {'id': 'e%05d' % i, 'clusterMode': True, 'nodeGroups': 1,
                     'replicasPerNodeGroup': 1} for i in range(ne)]},
                'lambda': {'functions': [
                    {'name': 'l%05d' % i, 'publishedVersions': 1,
                     'aliases': [{'name': 'live', 'version': '1'}]} for i in range(nl)]}}
    for i in range(na):
        with open(os.path.join(root, 'a%05d.yaml' % i), 'w') as f:
            f.write(manifest('a%05d' % i, '{rds: {cluster: a%05d}}' % i,
                             'RDSReaderAverageCPUUtilization'))
    for i in range(ne):
        with open(os.path.join(root, 'e%05d.yaml' % i), 'w') as f:
            f.write(manifest('e%05d' % i, '{elasticache: {replicationGroup: e%05d}}' % i,
                             'ElastiCacheReplicaEngineCPUUtilization'))
    for i in range(nl):
        extra = '  lambda: {reservedConcurrency: 10}\n' if i < CAPS else ''
        with open(os.path.join(root, 'l%05d.yaml' % i), 'w') as f:
            f.write(manifest('l%05d' % i, '{lambda: {function: l%05d, alias: live}}' % i,
                             'LambdaProvisionedConcurrencyUtilization', extra))
    floor = {
        'DescribeScalableTargets': sum(math.ceil(k / 50) for k in (na, ne, nl)),
        'DescribeScalingPolicies': sum(math.ceil(k / 10) for k in (na, ne, nl)),
        'DescribeDBClusters': math.ceil(na / 100),
        'DescribeReplicationGroups': math.ceil(ne / 100),
        'GetProvisionedConcurrencyConfig': nl,
        'GetFunctionConcurrency': min(CAPS, nl),
    }
    return fixtures, floor, (na, ne, nl)


def run(binary, sim, manifests, state):
    env = dict(os.environ)
    env.update(sim.env(REGION))
    env.update(AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null')
    sim.reset_calls()
    t0 = time.monotonic()
    p = subprocess.run([binary, 'run', '--once', '--aws-rate', '0', '--source',
                        'dir:' + manifests, '--state-dir', state], capture_output=True, text=True,
                       env=env)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit('trimtab exited %d:\n%s' % (p.returncode, p.stderr[-3000:]))
    return sim.calls(), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', default='build/cmd/trimtab')
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--json')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='tt-bench-targets-')
    try:
        manifests = os.path.join(tmp, 'manifests')
        os.makedirs(manifests)
        fixtures, floor, (na, ne, nl) = setup(args.n, manifests)
        with AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL) as sim:
            state = os.path.join(tmp, 'state')
            calls, wall = run(args.trimtab, sim, manifests, state)
            sim.settle()
            run(args.trimtab, sim, manifests, state)  # takes the settled capacities into status
            calls, wall = run(args.trimtab, sim, manifests, state)
        by_op = {}
        for c in calls:
            by_op[c['operation']] = by_op.get(c['operation'], 0) + 1
        writes = sum(1 for c in calls if c['kind'] == 'write')
        total = sum(by_op.values())
        print('no-op resync of %d ScalingPolicies (%d Aurora, %d ElastiCache, %d Lambda): '
              '%d reads, %d writes, %.2f s wall' % (args.n, na, ne, nl, total - writes, writes,
                                                   wall))
        print('%-34s %8s %8s' % ('operation', 'calls', 'floor'))
        for op in sorted(set(by_op) | set(floor)):
            print('%-34s %8d %8s' % (op, by_op.get(op, 0), floor.get(op, '-')))
        fl = sum(floor.values())
        print('%-34s %8d %8d   (%.3f vs %.3f calls per resource)'
              % ('total', total, fl, total / args.n, fl / args.n))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'n': args.n, 'calls': by_op, 'floor': floor, 'writes': writes,
                           'wall': wall}, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
