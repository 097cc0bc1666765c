#!/usr/bin/env python3
"""`trimtab import` of a large mixed account on the local AWS simulator: wall time and AWS calls.

    python3 bench/import/bench_import.py --trimtab build/cmd/trimtab [--objects 1000] [--seed 1]

Builds one random account with tests/e2e/import_gen.py (every kind and target, CDK/Terraform/
console names) scaled until it holds at least --objects AWS objects (scalable targets, policies,
scheduled actions, alarms, budgets, secrets, RDS instances), then runs `trimtab import` twice —
at the default client rate (20 requests/s per service, what the operator uses against real AWS)
and unthrottled (--rate 100000) — and prints objects, resources written, skipped, calls by
operation (from the simulator's log) and wall time. Then checks the promise on the result:
`trimtab plan` in sync.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'awssim'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'e2e'))

from awssim import AwsSim  # noqa: E402
import import_gen  # noqa: E402


def objects(a):
    n = sum(1 for c in a.calls if c[2] in ('register_scalable_target', 'put_scaling_policy',
                                             'put_scheduled_action', 'put_metric_alarm',
                                             'put_composite_alarm', 'create_budget'))
    n += len(a.fixtures['secretsmanager']['secrets']) + len(a.fixtures['rds']['instances'])
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', required=True)
    ap.add_argument('--objects', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    for k in ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE'):
        os.environ.pop(k, None)
    os.environ.update({'AWS_CONFIG_FILE': '/dev/null', 'AWS_SHARED_CREDENTIALS_FILE': '/dev/null',
                       'AWS_EC2_METADATA_DISABLED': 'true'})
    size = 1
    while True:
        a = import_gen.generate(args.seed, size)
        if objects(a) >= args.objects:
            break
        size += 1
    tmp = tempfile.mkdtemp(prefix='tt-bench-import-')
    try:
        with AwsSim(stderr=subprocess.DEVNULL) as sim:
            t0 = time.monotonic()
            sim.control('POST', 'fixtures', a.fixtures)
            import_gen.run(a, lambda svc, region: sim.client(svc, region))
            print('account: %d objects (generator size %d, seed %d), made in %.1f s'
                  % (objects(a), size, args.seed, time.monotonic() - t0))
            env = dict(os.environ, **sim.env(import_gen.REGION))
            for label, extra in (('default rate (20/s per service)', []),
                                 ('unthrottled (--rate 100000)', ['--rate', '100000'])):
                out = os.path.join(tmp, 'out-%d' % len(extra))
                sim.reset_calls()
                t0 = time.monotonic()
                p = subprocess.run([args.trimtab, 'import', '--region', import_gen.REGION,
                                    '--namespace', 'shop', '--out', out] + extra,
                                   capture_output=True, text=True, env=env)
                wall = time.monotonic() - t0
                if p.returncode != 0:
                    sys.exit('import failed:\n' + p.stderr[-3000:])
                calls = sim.calls()
                by_op = collections.Counter(c['operation'] for c in calls)
                summary = [l for l in p.stderr.splitlines() if ' resources (' in l][-1]
                print('\n%s: %.2f s wall, %d calls' % (label, wall, len(calls)))
                print('  ' + summary.replace('trimtab import: ', ''))
                for op, n in sorted(by_op.items(), key=lambda x: (-x[1], x[0])):
                    print('  %5d %s' % (n, op))
            p = subprocess.run([args.trimtab, 'plan', '--source', 'dir:' + out, '--state-dir',
                                os.path.join(tmp, 'state')], capture_output=True, text=True,
                               env=env)
            last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ''
            print('\nplan on the result: exit %d: %s' % (p.returncode, last))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
