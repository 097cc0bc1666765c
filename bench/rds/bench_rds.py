#!/usr/bin/env python3
"""RDS instance ladder figures (issue 12): calls of a no-op resync of N ladder ScalingPolicies
against the API floor, and the time from an alarm state change to the ModifyDBInstance call.

    python3 bench/rds/bench_rds.py --trimtab build/cmd/trimtab --n 10,250,1000 --flips 10

N instances, each with its own pair of alarms (2N alarms), against the local AWS simulator. The
floor of a no-op resync is ceil(N/100) DescribeDBInstances (100 identifiers in a filter) plus
ceil(2N/100) DescribeAlarms (100 names): 0.03 calls per resource. The latency run starts
`trimtab run --alarm-poll 1s` on one ladder, flips its scale-up alarm to ALARM through the
simulator's control API and takes the simulator's log time of the ModifyDBInstance call; the
expected value is half the poll period plus the read and the diff.
"""

import argparse
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


def manifest(i):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\n'
            'metadata: {name: db-%d, namespace: bench}\nspec:\n'
            '  target: {rds: {instance: db-%d}}\n  vertical:\n'
            '    ladder: [db.t4g.small, db.m5.large, db.m5.xlarge]\n'
            '    scaleUpOn: {alarm: db-%d-high}\n    scaleDownOn: {alarm: db-%d-low}\n'
            '    cooldown: 0s\n  storage: {maxAllocatedGiB: 200}\n' % (i, i, i, i))


def fixtures(n):
    alarms = []
    for i in range(n):
        for part in ('high', 'low'):
            alarms.append({'name': 'trimtab-bench-db-%d-%s' % (i, part), 'namespace': 'AWS/RDS',
                           'metricName': 'WriteIOPS', 'threshold': 500, 'state': 'OK'})
    return {'region': REGION,
            'rds': {'instances': [{'id': 'db-%d' % i, 'allocatedStorage': 20}
                                  for i in range(n)]},
            'cloudwatch': {'alarms': alarms}}


def run(binary, sim, tmp, *extra):
    env = dict(os.environ, **sim.env(REGION))
    cmd = [binary, 'run', '--source', 'dir:' + os.path.join(tmp, 'm'), '--state-dir',
           os.path.join(tmp, 's'), '--aws-rate', '0'] + list(extra)
    return cmd, env


def noop(binary, n):
    tmp = tempfile.mkdtemp(prefix='tt-bench-rds-')
    os.makedirs(os.path.join(tmp, 'm'))
    for i in range(n):
        with open(os.path.join(tmp, 'm', 'db-%d.yaml' % i), 'w') as f:
            f.write(manifest(i))
    with AwsSim(fixtures=fixtures(n), stderr=subprocess.DEVNULL) as sim:
        cmd, env = run(binary, sim, tmp, '--once')
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        sim.reset_calls()
        t0 = time.monotonic()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        wall = time.monotonic() - t0
        calls = sim.calls()
    shutil.rmtree(tmp)
    by = {}
    for c in calls:
        by[c['operation']] = by.get(c['operation'], 0) + 1
    floor = math.ceil(n / 100) + math.ceil(2 * n / 100)
    writes = sum(1 for c in calls if c['kind'] == 'write')
    print('N=%-5d no-op: %d reads (%s), %d writes, floor %d, %.3f calls/resource, %.2fs'
          % (n, len(calls) - writes, ', '.join('%s %d' % kv for kv in sorted(by.items())), writes,
             floor, len(calls) / n, wall), flush=True)


def poll_ticks(binary, n, poll=5, ticks=3):
    """Long-running with --alarm-poll: the reads of each poll tick (every ladder wakes at the
    same multiple of the period, so the engine observes them in full batches)."""
    tmp = tempfile.mkdtemp(prefix='tt-bench-rds-')
    os.makedirs(os.path.join(tmp, 'm'))
    for i in range(n):
        with open(os.path.join(tmp, 'm', 'db-%d.yaml' % i), 'w') as f:
            f.write(manifest(i))
    with AwsSim(fixtures=fixtures(n), stderr=subprocess.DEVNULL) as sim:
        cmd, env = run(binary, sim, tmp, '--once')
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # converged first
        cmd, env = run(binary, sim, tmp, '--alarm-poll', '%ds' % poll)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            # The first listing, then a clean start at a tick boundary.
            time.sleep(poll - time.time() % poll + poll + 1)
            sim.reset_calls()
            time.sleep(ticks * poll)
            calls = sim.calls()
        finally:
            proc.terminate()
            proc.wait()
    shutil.rmtree(tmp)
    by = {}
    for c in calls:
        by[c['operation']] = by.get(c['operation'], 0) + 1
    print('N=%-5d --alarm-poll %ds, %d ticks: %s (%.1f calls a tick, floor %d)'
          % (n, poll, ticks, ', '.join('%s %d' % kv for kv in sorted(by.items())),
             len(calls) / ticks, math.ceil(n / 100) + math.ceil(2 * n / 100)), flush=True)


def latency(binary, flips):
    tmp = tempfile.mkdtemp(prefix='tt-bench-rds-')
    os.makedirs(os.path.join(tmp, 'm'))
    with open(os.path.join(tmp, 'm', 'db-0.yaml'), 'w') as f:
        f.write(manifest(0))
    out = []
    with AwsSim(fixtures=fixtures(1), stderr=subprocess.DEVNULL) as sim:
        sim.delays(rds=0)
        cmd, env = run(binary, sim, tmp, '--alarm-poll', '1s')
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            for k in range(flips):
                # Up on even flips, down on odd ones: the instance walks between two rungs.
                alarm = 'trimtab-bench-db-0-%s' % ('high' if k % 2 == 0 else 'low')
                sim.reset_calls()
                time.sleep(0.37 * (k % 3))  # flips land at different points of the poll
                t0 = time.time()
                sim.control('POST', 'alarms/state', {'alarm': alarm, 'state': 'ALARM',
                                                     'region': REGION})
                while True:
                    mod = [c for c in sim.calls() if c['operation'] == 'ModifyDBInstance']
                    if mod:
                        out.append(mod[0]['time'] - t0)
                        break
                    if time.time() - t0 > 10:
                        raise SystemExit('no ModifyDBInstance within 10 s')
                    time.sleep(0.01)
                sim.control('POST', 'alarms/state', {'alarm': alarm, 'state': 'OK',
                                                     'region': REGION})
                time.sleep(1.2)
        finally:
            proc.terminate()
            proc.wait()
    shutil.rmtree(tmp)
    out.sort()
    print('alarm state change -> ModifyDBInstance, --alarm-poll 1s, %d flips: min %.2f s, '
          'median %.2f s, max %.2f s' % (len(out), out[0], out[len(out) // 2], out[-1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', default='build/cmd/trimtab')
    ap.add_argument('--n', default='10,250,1000')
    ap.add_argument('--flips', type=int, default=10)
    args = ap.parse_args()
    binary = os.path.abspath(args.trimtab)
    for n in [int(x) for x in args.n.split(',')]:
        noop(binary, n)
    poll_ticks(binary, max(int(x) for x in args.n.split(',')))
    latency(binary, args.flips)


if __name__ == '__main__':
    main()
