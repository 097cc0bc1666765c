#!/usr/bin/env python3
"""Calls per resource of a no-op resync of 1,000 mixed ScalingPolicies across all six targets,
against the API floor (SPEC §10).

    python3 bench/engine/bench_targets.py --trimtab build/cmd/trimtab [--n 1000]

N policies in examples/' proportions (2 ECS services to 1 each of Aurora readers, RDS instance
ladders, ElastiCache replication groups, Lambda aliases and CloudFront distributions), each ECS,
Aurora, ElastiCache and Lambda policy with one target-tracking policy (the Lambda ones also cap
their function's reserved concurrency, up to the account's limit), each RDS instance with a
three-rung ladder driven by two alarms of its own, each distribution with its edge settings.
Converged once with `run --once`, then a second `run --once` is the no-op resync whose calls are
counted from the simulator's call log. The floor is what the APIs allow at best for the same
reads:
  DescribeScalableTargets   ceil(n / 50) per service namespace (50 resource ids a call)
  DescribeScalingPolicies   ceil(policies / 10) per namespace (a page holds 10 policies)
  DescribeServices          ceil(services / 10) per cluster (10 services a call)
  DescribeDBClusters        ceil(clusters / 100) (a db-cluster-id filter of 100)
  DescribeDBInstances       ceil(instances / 100) (a db-instance-id filter of 100)
  DescribeAlarms            ceil(ladder alarms / 100) (100 names a call)
  DescribeReplicationGroups ceil(groups in the region / 100) (one listing, 100 a page)
  GetProvisionedConcurrencyConfig  one per alias (Lambda has no batched read)
  GetFunctionConcurrency    one per function with a cap
  GetDistribution           one per distribution (config, ETag and status; no batched read)
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


def write(root, name, text):
    with open(os.path.join(root, name + '.yaml'), 'w') as f:
        f.write(text)


LADDER = ('  vertical:\n    ladder: [db.t4g.small, db.t4g.medium, db.m5.large]\n'
          '    scaleUpOn: {alarm: %s-up}\n    scaleDownOn: {alarm: %s-down}\n'
          '    cooldown: 30m\n    applyImmediately: true\n')


def rds_manifest(name):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: %s, '
            'namespace: bench}\nspec:\n  target: {rds: {instance: %s}}\n%s'
            % (name, name, LADDER % (name, name)))


def cf_manifest(name, dist):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: %s, '
            'namespace: bench}\nspec:\n  target: {cloudfront: {distributionId: %s}}\n'
            '  cloudfront: {priceClass: PriceClass_100, http3: true, compress: true}\n'
            % (name, dist))


def setup(n, root):
    seventh = n // 7
    na = nr = ne = nl = nf = seventh
    ns = n - 5 * seventh  # ECS: the rest, about two sevenths
    services = ['s%05d' % i for i in range(ns)]
    clusters = {}
    for i, s in enumerate(services):
        clusters.setdefault('c%03d' % (i // 10), []).append(s)
    dists = ['E%013d' % i for i in range(nf)]
    fixtures = {'region': REGION,
                'ecs': {'clusters': [{'name': c, 'services': [
                    {'name': s, 'desiredCount': 1} for s in ss]}
                    for c, ss in sorted(clusters.items())]},
                'rds': {'clusters': [{'id': 'a%05d' % i, 'readers': 1} for i in range(na)],
                        'instances': [{'id': 'r%05d' % i, 'class': 'db.t4g.small',
                                       'allocatedStorage': 20} for i in range(nr)]},
                'cloudwatch': {'alarms': [
                    {'name': 'trimtab-bench-r%05d-%s' % (i, d), 'namespace': 'AWS/RDS',
                     'metricName': 'WriteIOPS', 'threshold': 500, 'state': 'OK'}
                    for i in range(nr) for d in ('up', 'down')]},
                'elasticache': {'replicationGroups': [
                    {'id': 'e%05d' % i, 'clusterMode': True, 'nodeGroups': 1,
                     'replicasPerNodeGroup': 1} for i in range(ne)]},
                'lambda': {'functions': [
                    {'name': 'l%05d' % i, 'publishedVersions': 1,
                     'aliases': [{'name': 'live', 'version': '1'}]} for i in range(nl)]},
                'cloudfront': {'distributions': [{'id': d} for d in dists]}}
    for c, ss in clusters.items():
        for s in ss:
            write(root, s, manifest(s, '{ecs: {cluster: %s, service: %s}}' % (c, s),
                                    'ECSServiceAverageCPUUtilization'))
    for i in range(na):
        write(root, 'a%05d' % i, manifest('a%05d' % i, '{rds: {cluster: a%05d}}' % i,
                                          'RDSReaderAverageCPUUtilization'))
    for i in range(nr):
        write(root, 'r%05d' % i, rds_manifest('r%05d' % i))
    for i in range(ne):
        write(root, 'e%05d' % i, manifest('e%05d' % i, '{elasticache: {replicationGroup: e%05d}}'
                                          % i, 'ElastiCacheReplicaEngineCPUUtilization'))
    for i in range(nl):
        extra = '  lambda: {reservedConcurrency: 10}\n' if i < CAPS else ''
        write(root, 'l%05d' % i, manifest('l%05d' % i, '{lambda: {function: l%05d, alias: live}}'
                                          % i, 'LambdaProvisionedConcurrencyUtilization', extra))
    for i, d in enumerate(dists):
        write(root, 'f%05d' % i, cf_manifest('f%05d' % i, d))
    floor = {
        'DescribeScalableTargets': sum(math.ceil(k / 50) for k in (ns, na, ne, nl)),
        'DescribeScalingPolicies': sum(math.ceil(k / 10) for k in (ns, na, ne, nl)),
        'DescribeServices': sum(math.ceil(len(ss) / 10) for ss in clusters.values()),
        'DescribeDBClusters': math.ceil(na / 100),
        'DescribeDBInstances': math.ceil(nr / 100),
        'DescribeAlarms': math.ceil(2 * nr / 100),
        'DescribeReplicationGroups': math.ceil(ne / 100),
        'GetProvisionedConcurrencyConfig': nl,
        'GetFunctionConcurrency': min(CAPS, nl),
        'GetDistribution': nf,
    }
    return fixtures, floor, {'ECS': ns, 'Aurora': na, 'RDS instance': nr, 'ElastiCache': ne,
                             'Lambda': nl, 'CloudFront': nf}


def run(binary, sim, manifests, state, converging=False):
    env = dict(os.environ)
    env.update(sim.env(REGION))
    env.update(AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null')
    sim.reset_calls()
    t0 = time.monotonic()
    p = subprocess.run([binary, 'run', '--once', '--aws-rate', '0', '--source',
                        'dir:' + manifests, '--state-dir', state], capture_output=True, text=True,
                       env=env)
    wall = time.monotonic() - t0
    # Converging, distributions are still deploying (not ready: exit 1) until the settle.
    if p.returncode != 0 and not (converging and p.returncode == 1):
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
        fixtures, floor, mix = setup(args.n, manifests)
        with AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL) as sim:
            state = os.path.join(tmp, 'state')
            conv, conv_wall = run(args.trimtab, sim, manifests, state, converging=True)
            sim.settle()
            run(args.trimtab, sim, manifests, state)  # takes the settled capacities into status
            calls, wall = run(args.trimtab, sim, manifests, state)
        conv_writes = sum(1 for c in conv if c['kind'] == 'write')
        print('converge of %d ScalingPolicies: %d reads, %d writes, %.2f s wall'
              % (args.n, len(conv) - conv_writes, conv_writes, conv_wall))
        conv_reads = {}
        for c in conv:
            if c['kind'] != 'write':
                conv_reads[c['operation']] = conv_reads.get(c['operation'], 0) + 1
        print('  reads: ' + ', '.join('%s %d' % kv for kv in sorted(conv_reads.items())))
        by_op = {}
        for c in calls:
            by_op[c['operation']] = by_op.get(c['operation'], 0) + 1
        writes = sum(1 for c in calls if c['kind'] == 'write')
        total = sum(by_op.values())
        print('no-op resync of %d ScalingPolicies (%s): %d reads, %d writes, %.2f s wall'
              % (args.n, ', '.join('%d %s' % (k, t) for t, k in mix.items()), total - writes,
                 writes, wall))
        print('%-34s %8s %8s' % ('operation', 'calls', 'floor'))
        for op in sorted(set(by_op) | set(floor)):
            print('%-34s %8d %8s' % (op, by_op.get(op, 0), floor.get(op, '-')))
        fl = sum(floor.values())
        print('%-34s %8d %8d   (%.3f vs %.3f calls per resource)'
              % ('total', total, fl, total / args.n, fl / args.n))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'n': args.n, 'mix': mix, 'calls': by_op, 'floor': floor, 'writes': writes,
                           'wall': wall}, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
