#!/usr/bin/env python3
"""trimtab end to end against moto on an Aurora cluster's readers (issue 12 item 7): create,
no-op, drift and prune of a ScalingPolicy on rds:cluster:ReadReplicaCount, where moto implements
both RDS and Application Auto Scaling. The harness (recording proxy, MotoCase) is test_moto.py's.

Usage: test_moto_aurora.py TRIMTAB SOURCE_DIR [--sanitized] [--keep]

moto's gaps that matter here, printed as WORKAROUND lines when the suite runs:
  * Application Auto Scaling tags are not implemented (see test_moto.py): one state directory
    for every run, so trimtab never needs to read the owner tag.
"""

import os
import sys
import time

from e2e import Config, aws_name, check, describe, expect_ready, log, ops, writes
from test_moto import MotoCase, workaround
from targets import Target, policy

SKIP = 77
DIM = 'rds:cluster:ReadReplicaCount'


class MotoAurora(Target):
    kind = 'aurora'
    ns = 'rds'
    dim = DIM
    metric = 'RDSReaderAverageCPUUtilization'

    def spec_target(self, obj):
        return {'rds': {'cluster': obj}}

    def rid(self, obj):
        return 'cluster:' + obj


T = MotoAurora()


def expect_moto(c, expected):
    """moto holds exactly `expected` = {cluster: (min, max, scheduled?)} in namespace rds
    (owner tags unchecked: moto has none)."""
    aas = c.client('application-autoscaling')
    targets = {t['ResourceId']: t for t in
               aas.describe_scalable_targets(ServiceNamespace='rds')['ScalableTargets']}
    check(set(targets) == {T.rid(o) for o in expected}, 'scalable targets differ',
          sorted(targets))
    for o, (lo, hi, _) in expected.items():
        t = targets[T.rid(o)]
        check((t['MinCapacity'], t['MaxCapacity']) == (lo, hi), '%s: %s/%s' % (
            o, t['MinCapacity'], t['MaxCapacity']))
    pols = {(p['ResourceId'], p['PolicyName']) for p in
            aas.describe_scaling_policies(ServiceNamespace='rds')['ScalingPolicies']}
    check(pols == {(T.rid(o), aws_name(o, 'load')) for o in expected}, 'policies differ',
          sorted(pols))
    sched = {(a['ResourceId'], a['ScheduledActionName']) for a in
             aas.describe_scheduled_actions(ServiceNamespace='rds')['ScheduledActions']}
    check(sched == {(T.rid(o), aws_name(o, 'office')) for o, e in expected.items() if e[2]},
          'scheduled actions differ', sorted(sched))


def suite(c):
    rds = c.client('rds')
    for n in ('alpha', 'beta'):
        rds.create_db_cluster(DBClusterIdentifier=n, Engine='aurora-postgresql',
                              MasterUsername='admin', MasterUserPassword='secret-password')
        for i in range(2):
            rds.create_db_instance(DBInstanceIdentifier='%s-%d' % (n, i), Engine='aurora-postgresql',
                                   DBInstanceClass='db.r6g.large', DBClusterIdentifier=n)
    workaround('Application Auto Scaling tags are not implemented in moto: one state directory '
               'for every run, owner tags not checked')
    c.write('alpha.yaml', policy(T, 'alpha'))
    c.write('beta.yaml', policy(T, 'beta', sched=False))
    p, calls = c.run_once(expect_rc=0, timeout=120)
    w = sorted(ops(calls, 'write'))
    check(w == sorted(['RegisterScalableTarget'] * 2 + ['PutScalingPolicy'] * 2 +
                      ['PutScheduledAction']), 'create: writes %s' % w)
    expect_ready(c, 'alpha', 'beta')
    st = c.record('alpha')['status']
    check(st.get('currentCapacity') == 1, 'status: readers %s, expected 1' %
          st.get('currentCapacity'), st)
    expect_moto(c, {'alpha': (1, 4, True), 'beta': (1, 4, False)})
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote: %s' % ops(calls, 'write'))
    log('  no-op: 0 writes, %d reads (%s)' % (len(calls), ', '.join(ops(calls))))
    check(ops(calls).count('DescribeDBClusters') == 1, 'clusters not read in one call',
          ops(calls))
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='rds', ResourceId='cluster:alpha',
                                 ScalableDimension=DIM, MinCapacity=2, MaxCapacity=9)
    p = c.plan(expect_rc=2)
    check('minCapacity: 2 → 1' in p.stdout, 'plan does not show the drift', p.stdout)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['RegisterScalableTarget'], 'drift wrote %s'
          % ops(calls, 'write'))
    c.plan(expect_rc=0)
    c.remove('alpha.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy', 'DeleteScheduledAction',
                                          'DeregisterScalableTarget'],
          '--prune wrote %s' % ops(calls, 'write'))
    expect_moto(c, {'beta': (1, 4, False)})
    log('  create, no-op, drift, prune of Aurora readers on moto: ok')


def main(argv):
    import argparse
    import importlib.util
    ap = argparse.ArgumentParser()
    ap.add_argument('binary')
    ap.add_argument('source')
    ap.add_argument('--sanitized', action='store_true')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args(argv)
    Config.binary = os.path.abspath(args.binary)
    Config.source = os.path.abspath(args.source)
    Config.sanitized = args.sanitized
    missing = [m for m in ('moto', 'boto3') if importlib.util.find_spec(m) is None]
    if missing:
        print('SKIP: %s not installed; the moto Aurora suite did not run' % ' and '.join(missing),
              flush=True)
        return SKIP
    try:
        c = MotoCase('moto-aurora')
    except RuntimeError as e:
        print('SKIP: %s; the moto Aurora suite did not run' % e, flush=True)
        return SKIP
    ok = False
    t0 = time.monotonic()
    try:
        suite(c)
        ok = True
    except AssertionError as e:
        log('FAIL moto_aurora: %s' % e)
        if c.last is not None:
            log('  last command:\n' + describe(c.last))
    finally:
        c.close(keep=not ok and args.keep)
    log('%s moto_aurora (%.1fs)' % ('ok  ' if ok else 'FAIL', time.monotonic() - t0))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
