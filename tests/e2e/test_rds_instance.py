#!/usr/bin/env python3
"""ScalingPolicies on single RDS instances end to end (SPEC §2 `rds: {instance}`), in directory
mode against awssim: storage autoscaling, the vertical ladder walked up and down by flipping
alarm state in awssim, an instance someone else is modifying, a class RDS refuses, drift off the
ladder, Observe mode, faults and kill -9.

Usage: test_rds_instance.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

The alarms are CloudWatch alarms made as awssim fixtures under the names trimtab gives Alarm
resources (trimtab-<namespace>-<name>); the Alarm kind itself is tested with its provider.
"""

import time

from e2e import (REGION, check, describe, log, main, ops, reads, stop, wait_for, writes)

INSTANCES = ['orders-db', 'billing-db', 'search-db', 'users-db', 'audit-db']
LADDER = ['db.t4g.small', 'db.m5.large', 'db.m5.xlarge']
UP, DOWN = 'trimtab-shop-writes-high', 'trimtab-shop-writes-low'


def fixtures(c, cls='db.t4g.small'):
    c.sim.control('POST', 'fixtures', {
        'region': REGION,
        'rds': {'instances': [{'id': i, 'class': cls, 'allocatedStorage': 20}
                              for i in INSTANCES]},
        'cloudwatch': {'alarms': [{'name': UP, 'namespace': 'AWS/RDS', 'metricName': 'WriteIOPS',
                                   'threshold': 500, 'state': 'OK'},
                                  {'name': DOWN, 'namespace': 'AWS/RDS',
                                   'metricName': 'WriteIOPS', 'threshold': 150,
                                   'comparison': 'LessThanThreshold', 'state': 'OK'}]}})


def policy(name, instance=None, ladder=LADDER, cooldown='0s', storage=200, apply_now=True,
           mode=None):
    lines = ['apiVersion: trimtab.dev/v1alpha1', 'kind: ScalingPolicy',
             'metadata: {name: %s, namespace: shop}' % name, 'spec:',
             '  target: {rds: {instance: %s}}' % (instance or name)]
    if mode:
        lines.append('  mode: %s' % mode)
    if ladder:
        lines += ['  vertical:', '    ladder: [%s]' % ', '.join(ladder),
                  '    scaleUpOn: {alarm: writes-high}', '    scaleDownOn: {alarm: writes-low}',
                  '    cooldown: %s' % cooldown,
                  '    applyImmediately: %s' % ('true' if apply_now else 'false')]
    if storage:
        lines.append('  storage: {maxAllocatedGiB: %d}' % storage)
    return '\n'.join(lines) + '\n'


def instance(c, ident):
    return c.client('rds').describe_db_instances(DBInstanceIdentifier=ident)['DBInstances'][0]


def set_alarm(c, name, state):
    c.sim.control('POST', 'alarms/state', {'alarm': name, 'state': state, 'region': REGION})


def modifies(calls):
    return [x for x in calls if x['operation'] == 'ModifyDBInstance']


# ---- cases ---------------------------------------------------------------------------------

def case_rds_create_noop(c):
    """Five instances: storage autoscaling set once each; a no-op run then makes zero writes and
    reads at the floor (one DescribeDBInstances, one DescribeAlarms for all five)."""
    fixtures(c)
    for i in INSTANCES:
        c.write('rds/%s.yaml' % i, policy(i))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['AddTagsToResource'] * 5 + ['ModifyDBInstance'] * 5,
          'creation writes: the owner tag and storage autoscaling', ops(calls, 'write'))
    for i in INSTANCES:
        check(instance(c, i).get('MaxAllocatedStorage') == 200, '%s: no storage autoscaling' % i)
        check({'Key': 'trimtab.dev/owner', 'Value': 'shop/%s' % i} in instance(c, i)['TagList'],
              '%s: no owner tag' % i, instance(c, i)['TagList'])
        c.expect_condition(i, 'Ready', 'True', 'Converged')
        st = c.record(i)['status']
        check(st.get('currentClass') == 'db.t4g.small' and
              st.get('ladderPosition') == {'index': 0, 'of': 3}, '%s: status' % i, st)
    before = c.tree(c.state + '/resources')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    check(sorted(ops(calls)) == ['DescribeAlarms', 'DescribeDBInstances'],
          'no-op reads of 5 resources: %s, expected one DescribeDBInstances and one DescribeAlarms'
          % ops(calls))
    log('  no-op run of 5 instances: 0 writes, %d reads (%.2f per resource), %.2fs'
        % (len(reads(calls)), len(reads(calls)) / 5.0, p.seconds))
    check(c.tree(c.state + '/resources') == before, 'the no-op run rewrote state records')
    c.plan(expect_rc=0)


def case_rds_ladder(c):
    """The ladder walked up to the top and back down to the bottom by flipping alarms, one
    ModifyDBInstance per rung, each after the instance is available again; an event per step and
    lastScalingActivity; never past either end. Also measures alarm change -> ModifyDBInstance."""
    fixtures(c)
    c.sim.delays(rds=1.0)
    c.write('rds/orders-db.yaml', policy('orders-db', storage=None))
    proc = c.start('--alarm-poll', '1s')
    wait_for(lambda: c.record('orders-db') and (c.condition('orders-db') or {}).get('status')
             == 'True', 20, 'orders-db Ready')
    latencies = []

    def walk(alarm, want):
        """Flips `alarm` to ALARM and waits for the instance to reach the ladder's end `want`
        (cooldown 0: the alarm stays in ALARM, so it keeps stepping); notes the latency of the
        first ModifyDBInstance."""
        c.sim.reset_calls()
        t0 = time.time()
        set_alarm(c, alarm, 'ALARM')
        call = wait_for(lambda: [x for x in modifies(c.sim.calls()) if x['status'] == 200], 20,
                        'ModifyDBInstance towards %s' % want)[0]
        latencies.append(call['time'] - t0)
        wait_for(lambda: instance(c, 'orders-db')['DBInstanceClass'] == want and
                 instance(c, 'orders-db')['DBInstanceStatus'] == 'available', 30,
                 'orders-db on %s' % want)
        # Held at the end: no step past it while the alarm still fires.
        c.sim.reset_calls()
        time.sleep(3)
        check(not modifies(c.sim.calls()), 'stepped past the end of the ladder',
              modifies(c.sim.calls()))
        set_alarm(c, alarm, 'OK')

    walk(UP, 'db.m5.xlarge')
    walk(DOWN, 'db.t4g.small')
    wait_for(lambda: (c.record('orders-db')['status'].get('lastScalingActivity') or {})
             .get('to') == 'db.t4g.small', 10, 'lastScalingActivity of the last step down')
    st = c.record('orders-db')['status']
    check(st['lastScalingActivity']['from'] == 'db.m5.large' and
          DOWN in st['lastScalingActivity']['cause'], 'lastScalingActivity', st)
    steps = [e['message'] for e in c.events('orders-db', 'Updated')]
    want = [('db.t4g.small', 'db.m5.large'), ('db.m5.large', 'db.m5.xlarge'),
            ('db.m5.xlarge', 'db.m5.large'), ('db.m5.large', 'db.t4g.small')]
    check(len(steps) == 4 and all('"%s" → "%s"' % w in m for w, m in zip(want, steps)),
          'one Updated event per step, one rung at a time', *steps)
    stop(proc)
    log('  alarm state change -> ModifyDBInstance with --alarm-poll 1s: %s s'
        % ', '.join('%.2f' % x for x in latencies))


def case_rds_modifying(c):
    """Someone else is modifying the instance when the alarm fires: trimtab waits (no call RDS
    would refuse), then steps from wherever the instance ended up."""
    fixtures(c)
    c.sim.delays(rds=3.0)
    c.write('rds/orders-db.yaml', policy('orders-db', storage=None))
    c.run_once(expect_rc=0)
    c.client('rds').modify_db_instance(DBInstanceIdentifier='orders-db',
                                       DBInstanceClass='db.m5.large', ApplyImmediately=True)
    set_alarm(c, UP, 'ALARM')
    c.sim.reset_calls()
    proc = c.start('--alarm-poll', '1s')
    # trimtab has seen the modification in progress once its status names it.
    wait_for(lambda: (c.record('orders-db')['status'].get('pendingModification') or {})
             .get('DBInstanceClass') == 'db.m5.large', 20, 'the pending modification in status')
    check(instance(c, 'orders-db')['DBInstanceStatus'] == 'modifying', 'not modifying any more')
    check(not modifies(c.sim.calls()), 'trimtab called ModifyDBInstance on a modifying instance',
          modifies(c.sim.calls()))
    wait_for(lambda: instance(c, 'orders-db')['DBInstanceClass'] == 'db.m5.xlarge', 20,
             'the step from db.m5.large')
    bad = [x for x in c.sim.calls() if x['status'] >= 300]
    check(not bad, 'failed calls', bad)
    check(len(modifies(c.sim.calls())) == 1, 'one step', modifies(c.sim.calls()))
    stop(proc)


def case_rds_refused(c):
    """A rung RDS refuses (a class it cannot run Postgres on): one ModifyDBInstance, a clear
    condition and event, no retry loop; a corrected ladder moves on."""
    fixtures(c)
    c.sim.delays(rds=0.5)
    bad = ['db.t4g.small', 'db.t2.nano', 'db.m5.xlarge']
    c.write('rds/orders-db.yaml', policy('orders-db', ladder=bad, storage=None))
    c.run_once(expect_rc=0)
    set_alarm(c, UP, 'ALARM')
    c.sim.reset_calls()
    proc = c.start('--alarm-poll', '1s')
    wait_for(lambda: c.record('orders-db') and
             (c.condition('orders-db') or {}).get('reason') == 'InstanceClassRefused',
             20, 'InstanceClassRefused')
    time.sleep(4)
    tried = modifies(c.sim.calls())
    check(len(tried) == 1 and tried[0]['code'] == 'InvalidParameterCombination',
          'the refused class was tried %d times' % len(tried), tried)
    msg = c.condition('orders-db')['message']
    check('db.t2.nano' in msg, 'condition does not name the class', msg)
    check([e for e in c.events('orders-db') if e['reason'] == 'AwsError' and
           'InvalidParameterCombination' in e['message']], 'no event with the AWS error',
          c.events('orders-db'))
    c.write('rds/orders-db.yaml', policy('orders-db', storage=None))
    # The alarm still fires and the cooldown is 0: it may go on to the next rung at once.
    wait_for(lambda: [e for e in c.events('orders-db', 'Updated')
                      if '"db.t4g.small" → "db.m5.large"' in e['message']], 20,
             'the step after the ladder was fixed')
    stop(proc)


def case_rds_drift_observe(c):
    """A class changed by hand to one off the ladder: Observe mode reports drift with the
    nearest rung and writes nothing; plan shows it (exit 2); Manage mode moves it there."""
    fixtures(c)
    c.sim.delays(rds=0)
    c.write('rds/orders-db.yaml', policy('orders-db', mode='Observe'))
    c.run_once()
    c.client('rds').modify_db_instance(DBInstanceIdentifier='orders-db',
                                       DBInstanceClass='db.r5.large', ApplyImmediately=True)
    c.sim.settle()
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    c.expect_condition('orders-db', 'Drifted', 'True', 'DriftDetected')
    st = c.record('orders-db')['status']
    check(st.get('nearestRung') == 'db.m5.large' and st.get('currentClass') == 'db.r5.large',
          'nearest rung not reported', st)
    c.write('rds/orders-db.yaml', policy('orders-db'))
    p = c.plan(expect_rc=2)
    check('"db.r5.large" → "db.m5.large"' in p.stdout, 'plan does not show the class drift', p.stdout)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['AddTagsToResource', 'ModifyDBInstance'],
          'the claim (Observe mode tagged nothing) and the correction', ops(calls, 'write'))
    c.sim.settle()
    check(instance(c, 'orders-db')['DBInstanceClass'] == 'db.m5.large', 'not corrected')
    c.plan(expect_rc=0)


def case_rds_faults_kill9(c):
    """Throttled and failing reads are retried; a kill -9 right after the ModifyDBInstance is
    sent does not step twice after the restart. Invalid specs are refused with a clear error,
    a missing instance is TargetNotFound, and pruning leaves the instance as it is."""
    fixtures(c)
    # An hour's cooldown: a second step after the restart could only be a duplicate.
    c.write('rds/orders-db.yaml', policy('orders-db', cooldown='1h'))
    c.sim.fault(kind='throttle', service='rds', operation='DescribeDBInstances', count=2)
    c.sim.fault(kind='error', status=500, service='monitoring', operation='DescribeAlarms',
                count=1)
    c.run_once(expect_rc=0)
    check(instance(c, 'orders-db').get('MaxAllocatedStorage') == 200, 'not converged under faults')
    c.sim.clear_faults()
    # kill -9 while the step is in flight.
    c.sim.delays(rds=2.0)
    set_alarm(c, UP, 'ALARM')
    c.sim.fault(kind='latency', latencyMs=800, service='rds', operation='ModifyDBInstance')
    c.sim.reset_calls()
    proc = c.start('--alarm-poll', '1s')
    wait_for(lambda: c.sim.inflight(operation='ModifyDBInstance'), 20, 'the step in flight')
    proc.kill()
    proc.wait()
    wait_for(lambda: not c.sim.inflight(), 10, 'the held step to complete in AWS')
    c.sim.clear_faults()
    proc = c.start('--alarm-poll', '30s')
    wait_for(lambda: instance(c, 'orders-db')['DBInstanceClass'] == 'db.m5.large' and
             instance(c, 'orders-db')['DBInstanceStatus'] == 'available', 20, 'the step done')
    time.sleep(2)
    check(len([x for x in modifies(c.sim.calls()) if x['status'] == 200]) == 1,
          'stepped twice across a kill -9', modifies(c.sim.calls()))
    stop(proc)
    # Invalid: a ladder of one rung, an unknown field.
    c.write('rds/bad.yaml', policy('bad', instance='orders-db', ladder=['db.t4g.small']))
    p = c.trimtab('validate', c.manifests)
    check(p.returncode != 0 and 'ladder' in p.stderr + p.stdout, 'validate does not name ladder',
          describe(p))
    c.remove('rds/bad.yaml')
    c.write('rds/ghost.yaml', policy('ghost'))
    p, _ = c.run_once()
    c.expect_condition('ghost', 'Ready', 'False', 'TargetNotFound')
    c.remove('rds/ghost.yaml')
    c.remove('rds/orders-db.yaml')
    set_alarm(c, UP, 'OK')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(ops(calls, 'write') == ['RemoveTagsFromResource'],
          'pruning lets the instance go (its owner tag) and writes nothing else',
          ops(calls, 'write'))
    check(instance(c, 'orders-db')['DBInstanceClass'] == 'db.m5.large', 'pruning moved the class')
    check(instance(c, 'orders-db')['TagList'] == [], 'owner tag left after pruning',
          instance(c, 'orders-db')['TagList'])


def case_rds_one_owner(c):
    """Two ScalingPolicies on one instance: the first claims it with its owner tag, the second is
    ConflictingOwner and writes nothing (two ladders would step the instance against each other);
    once the first is pruned, the second claims it."""
    fixtures(c)
    c.write('rds/orders-db.yaml', policy('orders-db'))
    c.run_once(expect_rc=0)
    c.write('rds/orders-db-2.yaml', policy('orders-db-2', instance='orders-db', storage=300))
    p, calls = c.run_once()
    check(p.returncode != 0, 'a conflicting policy is not ready: exit non-zero')
    check(not writes(calls), 'the second policy wrote', ops(calls, 'write'))
    cond = c.expect_condition('orders-db-2', 'Ready', 'False', 'ConflictingOwner')
    check('shop/orders-db' in cond['message'], 'the conflict names the owner', cond)
    check(instance(c, 'orders-db').get('MaxAllocatedStorage') == 200, 'storage changed')
    c.remove('rds/orders-db.yaml')
    # Both are read in one batch, so the second one usually still sees the first one's tag in
    # this run (ConflictingOwner, exit 1) and claims the instance in the next.
    p, first = c.run_once('--prune')
    check('RemoveTagsFromResource' in ops(first, 'write'), 'pruning let the instance go',
          ops(first, 'write'))
    p, then = c.run_once(expect_rc=0)
    check(sorted(ops(first, 'write') + ops(then, 'write')) ==
          ['AddTagsToResource', 'ModifyDBInstance', 'RemoveTagsFromResource'],
          'the first lets go, the second claims and sets its storage',
          ops(first, 'write'), ops(then, 'write'))
    check({'Key': 'trimtab.dev/owner', 'Value': 'shop/orders-db-2'} in
          instance(c, 'orders-db')['TagList'], 'the second policy owns the instance',
          instance(c, 'orders-db')['TagList'])
    check(instance(c, 'orders-db').get('MaxAllocatedStorage') == 300, 'storage not set')


CASES = {
    'rds_create_noop': case_rds_create_noop,
    'rds_ladder': case_rds_ladder,
    'rds_modifying': case_rds_modifying,
    'rds_refused': case_rds_refused,
    'rds_drift_observe': case_rds_drift_observe,
    'rds_faults_kill9': case_rds_faults_kill9,
    'rds_one_owner': case_rds_one_owner,
}

if __name__ == '__main__':
    import sys
    sys.exit(main(CASES, sys.argv[1:]))
