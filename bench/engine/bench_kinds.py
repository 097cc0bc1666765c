#!/usr/bin/env python3
"""No-op resync figures for Budgets and SecretRotations (SPEC §10): N of each kind converged
against the local AWS simulator, then one `trimtab run --once` more; the calls of that run per
operation, against each kind's API floor.

    python3 bench/engine/bench_kinds.py --trimtab build/cmd/trimtab --n 1000 [--no-compare]

Side by side, on a fresh simulator holding the same secrets, the same convergence and no-op done
by a boto3 script (bench/engine/boto3_kinds.py: read each object, write what differs).

Budgets carry 3 notifications (50/80/100 %) of one subscriber each; SecretRotations name their
secret by name, without replicas (the secrets exist as fixtures in eu-central-1).
"""

import argparse
import collections
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


def budget(i):
    notes = ''.join('    - {type: ACTUAL, threshold: %d, subscribers: [{email: team@example.com}]}\n'
                    % t for t in (50, 80, 100))
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: Budget\nmetadata: {name: b%04d, namespace: '
            'bench}\nspec:\n  limit: {amount: 100, unit: USD}\n  notifications:\n%s' % (i, notes))


def rotation(i):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: SecretRotation\nmetadata: {name: s%04d, '
            'namespace: bench}\nspec:\n  secretId: app/s%04d\n  rotationLambdaArn: '
            'arn:aws:lambda:eu-central-1:123456789012:function:rotate\n  schedule: '
            '{automaticallyAfterDays: 30}\n' % (i, i))


def run(trimtab, manifests, state, env):
    t0 = time.monotonic()
    r0 = os.times()
    p = subprocess.run([trimtab, 'run', '--once', '--aws-rate', '0', '--source',
                        'dir:' + manifests, '--state-dir', state], env=env, capture_output=True,
                       text=True)
    r1 = os.times()
    return p, time.monotonic() - t0, (r1.children_user - r0.children_user +
                                       r1.children_system - r0.children_system)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', default='build/cmd/trimtab')
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--no-compare', action='store_true', help='skip the boto3 script')
    args = ap.parse_args()
    n = args.n
    tmp = tempfile.mkdtemp(prefix='tt-bench-kinds-')
    manifests, state = os.path.join(tmp, 'm'), os.path.join(tmp, 's')
    os.makedirs(os.path.join(manifests, 'budgets'))
    os.makedirs(os.path.join(manifests, 'secrets'))
    for i in range(n):
        with open(os.path.join(manifests, 'budgets', 'b%04d.yaml' % i), 'w') as f:
            f.write(budget(i))
        with open(os.path.join(manifests, 'secrets', 's%04d.yaml' % i), 'w') as f:
            f.write(rotation(i))
    fixtures = {'region': REGION, 'secretsmanager': {'secrets': [
        {'name': 'app/s%04d' % i} for i in range(n)]}}
    with AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL) as sim:
        env = dict(os.environ, AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null',
                   AWS_EC2_METADATA_DISABLED='true', HOME=tmp)
        env.update(sim.env(REGION))
        p, wall, cpu = run(args.trimtab, manifests, state, env)
        conv = sim.calls()
        print('converge %d+%d: rc %d, %.1f s wall, %.1f s CPU, %d reads + %d writes'
              % (n, n, p.returncode, wall, cpu, sum(c['kind'] == 'read' for c in conv),
                 sum(c['kind'] == 'write' for c in conv)))
        writes = collections.Counter(c['operation'] for c in conv if c['kind'] == 'write')
        print('  writes: %s' % ', '.join('%s %d' % kv for kv in sorted(writes.items())))
        sim.reset_calls()
        p, wall, cpu = run(args.trimtab, manifests, state, env)
        calls = sim.calls()
        by = collections.Counter((c['service'], c['operation'], c['kind']) for c in calls)
        print('no-op resync: rc %d, %.2f s wall, %.2f s CPU' % (p.returncode, wall, cpu))
        for (svc, op, kind), k in sorted(by.items()):
            print('  %-16s %-40s %-5s %6d' % (svc, op, kind, k))
        pages = math.ceil(n / 100)
        print('floor, Budgets: 1 GetCallerIdentity + %d DescribeBudgets + %d '
              'DescribeBudgetNotificationsForAccount + %d DescribeSubscribersForNotification '
              '= %d reads, 0 writes' % (pages, pages, 3 * n, 1 + 2 * pages + 3 * n))
        print('floor, SecretRotations (by name, no replicas): %d ListSecrets (10 names a '
              'filter) = %d reads, 0 writes' % (math.ceil(n / 10), math.ceil(n / 10)))
        print(json.dumps({'%s.%s' % (s, o): k for (s, o, _), k in by.items()}))
    if not args.no_compare:
        with AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL) as sim:
            env = dict(os.environ, AWS_CONFIG_FILE='/dev/null', HOME=tmp,
                       AWS_SHARED_CREDENTIALS_FILE='/dev/null', AWS_EC2_METADATA_DISABLED='true')
            env.update(sim.env(REGION))
            for phase in ('converge', 'no-op resync'):
                sim.reset_calls()
                t0, r0 = time.monotonic(), os.times()
                subprocess.run([sys.executable, os.path.join(HERE, 'boto3_kinds.py'), '--n',
                                str(n)], env=env, check=True)
                r1 = os.times()
                cs = sim.calls()
                print('boto3 %s: %.1f s wall, %.1f s CPU, %d reads + %d writes'
                      % (phase, time.monotonic() - t0, r1.children_user - r0.children_user +
                         r1.children_system - r0.children_system,
                         sum(c['kind'] == 'read' for c in cs),
                         sum(c['kind'] == 'write' for c in cs)))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
