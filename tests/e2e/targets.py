"""The end-to-end cases every Application Auto Scaling target shares (Aurora readers, ElastiCache
replication groups, Lambda aliases), written once against a Target that says what differs: the
manifest's spec.target, the scalable target's identity, its metric, the service's own reads and
what the simulator starts with. test_aurora.py, test_elasticache.py and test_lambda.py add the
cases only their target has.

Each case runs the real binary in directory mode against its own awssim (e2e.py) and checks the
call log, the state directory and AWS read back with boto3.
"""

import os
import time

from e2e import (NS, OWNER_TAG, aws_name, check, describe, expect_ready, log, ops, reads,
                 scheduled, snapshot, stop, to_yaml, tracking, wait_for, writes)


class Target:
    """What one kind of scalable target needs in the shared cases. Subclasses set the fields."""
    kind = None        # the file's name: "aurora"
    ns = None          # Application Auto Scaling service namespace: "rds"
    fault_service = None  # the target's own service as awssim names it in faults
    dim = None         # scalable dimension
    metric = None      # a predefined metric of this target
    other_metric = 'ECSServiceAverageCPUUtilization'  # one that belongs to another target
    fixtures = None    # what awssim starts with
    names = ('alpha', 'beta')  # the two targets the shared cases scale (fixture objects)
    absent = 'ghost'   # a target that does not exist
    own_reads = ()     # operations of the target's own service a no-op run may make
    create_extra = ()  # writes besides Application Auto Scaling when alpha is created
    remove_extra = ()  # writes besides Application Auto Scaling when alpha is deleted

    def spec_target(self, obj):
        raise NotImplementedError

    def rid(self, obj):
        raise NotImplementedError

    def spec_extra(self, name):
        """Fields besides the scaling ones for policy `name` (Lambda: its reserved cap)."""
        return {}

    def check_status(self, c, name, status):
        """Checks the target-specific status fields of a converged policy."""


def policy(t, name, obj=None, min_capacity=1, max_capacity=4, target_value=60, sched=True,
           **extra):
    """A ScalingPolicy manifest (YAML) of target kind `t` on object `obj` (default: name)."""
    spec = {'target': t.spec_target(obj or name), 'minCapacity': min_capacity,
            'maxCapacity': max_capacity,
            'targetTracking': [tracking('load', t.metric, target_value)]}
    if sched:
        spec['scheduled'] = [scheduled('office', lo=min_capacity, hi=max_capacity)]
    spec.update(t.spec_extra(name))
    spec.update(extra)
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                    'metadata': {'name': name, 'namespace': NS}, 'spec': spec})


def aws(c, t):
    return snapshot(c.client('application-autoscaling'), ns=t.ns)


def expect_aws(c, t, expected):
    """AWS holds exactly `expected` = {obj: (min, max, scheduled?)} for the namespace, owned by
    the policy of the same name: one target, one policy and (when asked) one scheduled action
    each, nothing else."""
    now = aws(c, t)
    check(set(now['targets']) == {t.rid(o) for o in expected}, 'scalable targets differ',
          sorted(now['targets']), sorted(t.rid(o) for o in expected))
    check(set(now['policies']) == {(t.rid(o), aws_name(o, 'load')) for o in expected},
          'scaling policies differ', sorted(now['policies']))
    check(set(now['scheduled']) == {(t.rid(o), aws_name(o, 'office'))
                                    for o, e in expected.items() if e[2]},
          'scheduled actions differ', sorted(now['scheduled']))
    for o, (lo, hi, _) in expected.items():
        tg = now['targets'][t.rid(o)]
        check((tg['MinCapacity'], tg['MaxCapacity']) == (lo, hi) and
              tg['ScalableDimension'] == t.dim, '%s: %s/%s %s, expected %s/%s %s'
              % (o, tg['MinCapacity'], tg['MaxCapacity'], tg['ScalableDimension'], lo, hi, t.dim))
        check(tg['Tags'].get(OWNER_TAG) == '%s/%s' % (NS, o), '%s: owner tag %r'
              % (o, tg['Tags'].get(OWNER_TAG)))
    return now


def setup_two(c, t):
    """alpha (with a scheduled action) and beta (without) created and converged."""
    c.write('alpha.yaml', policy(t, 'alpha'))
    c.write('beta.yaml', policy(t, 'beta', sched=False))
    p, calls = c.run_once(expect_rc=0)
    expect_ready(c, 'alpha', 'beta')
    return p, calls


BASE = {'alpha': (1, 4, True), 'beta': (1, 4, False)}


# ---- the shared cases ----------------------------------------------------------------------

def case_create_noop(c, t):
    """Create two policies, then a no-op run: zero writes, few reads, status and plan agree."""
    p, calls = setup_two(c, t)
    want = sorted(['RegisterScalableTarget'] * 2 + ['PutScalingPolicy'] * 2 +
                  ['PutScheduledAction'] + list(t.create_extra) * 2)
    check(sorted(ops(calls, 'write')) == want and len(writes(calls)) == len(want),
          'creation writes %s, expected %s' % (ops(calls, 'write', ok=False), want))
    expect_aws(c, t, BASE)
    for n in ('alpha', 'beta'):
        st = c.record(n)['status']
        check('currentCapacity' in st and st.get('effectiveMaxCapacity') == 4 and
              set(st.get('policyArns', {})) == {'load'}, '%s: status incomplete' % n, st)
        t.check_status(c, n, st)
    # What AWS changes on its own after creation (provisioned concurrency allocated, replicas
    # added) settles, and one run takes it into status; from then on nothing may change.
    c.sim.settle()
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the run after settling wrote', ops(calls, 'write'))
    records = {n: c.record(n) for n in ('alpha', 'beta')}
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    check(all(x['status'] == 200 for x in calls), 'a call failed', calls)
    allowed = {'DescribeScalableTargets', 'DescribeScalingPolicies', 'DescribeScheduledActions'}
    allowed.update(t.own_reads)
    check(set(ops(calls)) <= allowed, 'the no-op run read more than it needs', ops(calls))
    log('  no-op run of 2 %s policies: 0 writes, %d reads (%s)'
        % (t.ns, len(reads(calls)), ', '.join(ops(calls))))
    for n, old in records.items():
        check(c.record(n) == old, '%s: the no-op run rewrote its record' % n)
    c.plan(expect_rc=0)


def case_drift(c, t):
    """Bounds changed and a scheduled action deleted behind trimtab's back: plan shows it, a run
    corrects exactly that."""
    setup_two(c, t)
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace=t.ns, ResourceId=t.rid('alpha'),
                                 ScalableDimension=t.dim, MinCapacity=2, MaxCapacity=9)
    aas.delete_scheduled_action(ServiceNamespace=t.ns, ResourceId=t.rid('alpha'),
                                ScalableDimension=t.dim,
                                ScheduledActionName=aws_name('alpha', 'office'))
    p = c.plan(expect_rc=2)
    check('minCapacity: 2 → 1' in p.stdout and 'maxCapacity: 9 → 4' in p.stdout and
          'create scheduled action %s' % aws_name('alpha', 'office') in p.stdout,
          'plan does not show the drift', p.stdout)
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['PutScheduledAction', 'RegisterScalableTarget'],
          'the correction wrote %s' % ops(calls, 'write'))
    expect_aws(c, t, BASE)
    c.expect_condition('alpha', 'Drifted', 'False', 'InSync')
    c.plan(expect_rc=0)


def case_spec_change(c, t):
    """A spec change touches only what changed: new bounds, a removed scheduled action, a new
    target value."""
    setup_two(c, t)
    c.write('alpha.yaml', policy(t, 'alpha', max_capacity=6, target_value=50, sched=False))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScheduledAction', 'PutScalingPolicy',
                                          'RegisterScalableTarget'],
          'the change wrote %s' % ops(calls, 'write'))
    now = expect_aws(c, t, {'alpha': (1, 6, False), 'beta': (1, 4, False)})
    cfg = now['policies'][(t.rid('alpha'), aws_name('alpha', 'load'))]
    check(cfg['TargetTrackingScalingPolicyConfiguration']['TargetValue'] == 50,
          'target value not changed', cfg)
    check(c.record('alpha')['metadata']['generation'] == 2, 'generation not 2')
    expect_ready(c, 'alpha', 'beta')


def case_prune(c, t):
    """A manifest removed: orphaned without --prune (AWS untouched), deleted with it;
    deletionPolicy: Retain keeps AWS even with --prune."""
    setup_two(c, t)
    before = aws(c, t)
    c.remove('alpha.yaml')
    p, calls = c.run_once()
    check(not writes(calls), 'run without --prune wrote', ops(calls, 'write'))
    c.expect_condition('alpha', 'Ready', 'False', 'Orphaned')
    check(aws(c, t) == before, 'AWS changed without --prune')
    p, calls = c.run_once('--prune', expect_rc=0)
    want = sorted(['DeleteScalingPolicy', 'DeleteScheduledAction', 'DeregisterScalableTarget'] +
                  list(t.remove_extra))
    check(sorted(ops(calls, 'write')) == want, '--prune wrote %s, expected %s'
          % (ops(calls, 'write'), want))
    expect_aws(c, t, {'beta': (1, 4, False)})
    check(c.record('alpha') is None, 'the pruned record is still there')
    c.write('beta.yaml', policy(t, 'beta', sched=False, deletionPolicy='Retain'))
    c.run_once(expect_rc=0)
    before = aws(c, t)
    c.remove('beta.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(not writes(calls), 'Retain: --prune wrote', ops(calls, 'write'))
    check(aws(c, t) == before, 'Retain: AWS changed')


def case_adoption(c, t):
    """A scalable target that exists without the owner tag is refused; spec.adopt takes it over,
    tagging it first."""
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace=t.ns, ResourceId=t.rid('alpha'),
                                 ScalableDimension=t.dim, MinCapacity=1, MaxCapacity=2)
    before = aws(c, t)
    c.write('alpha.yaml', policy(t, 'alpha'))
    p, calls = c.run_once()
    check(p.returncode == 1, 'a refused adoption exited %d, expected 1' % p.returncode,
          describe(p))
    check(not writes(calls), 'a refused adoption wrote', ops(calls, 'write'))
    check(aws(c, t) == before, 'AWS changed')
    cond = c.expect_condition('alpha', 'Ready', 'False', 'AdoptionRefused')
    check('spec.adopt' in cond['message'] and t.rid('alpha') in cond['message'],
          'AdoptionRefused message unclear', cond['message'])
    c.write('alpha.yaml', policy(t, 'alpha', adopt=True))
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(w and w[0] == 'TagResource' and 'RegisterScalableTarget' in w,
          'adoption wrote %s (the owner tag first)' % w)
    now = expect_aws(c, t, {'alpha': (1, 4, True)})
    check(now['targets'][t.rid('alpha')]['ScalableTargetARN'] ==
          before['targets'][t.rid('alpha')]['ScalableTargetARN'], 'not adopted in place')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'after adoption the no-op run wrote', ops(calls, 'write'))


def case_observe(c, t):
    """mode: Observe reads and reports drift, never writes; back to Manage corrects it."""
    setup_two(c, t)
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace=t.ns, ResourceId=t.rid('alpha'),
                                 ScalableDimension=t.dim, MinCapacity=3, MaxCapacity=7)
    c.write('alpha.yaml', policy(t, 'alpha', mode='Observe'))
    before = aws(c, t)
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    check(aws(c, t) == before, 'AWS changed in Observe mode')
    d = c.expect_condition('alpha', 'Drifted', 'True', 'DriftDetected')
    check('minCapacity' in d['message'], 'the Drifted message does not say what', d)
    c.write('alpha.yaml', policy(t, 'alpha'))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['RegisterScalableTarget'], 'Manage again wrote %s'
          % ops(calls, 'write'))
    expect_aws(c, t, BASE)


def case_invalid(c, t):
    """Invalid manifests beside valid ones: each invalid one gets InvalidSpec with file, line and
    field; the valid ones converge; a target that does not exist is TargetNotFound."""
    c.write('alpha.yaml', policy(t, 'alpha'))
    bad = c.write('bad.yaml', policy(t, 'bad', obj='beta').replace('targetValue: 60',
                                                                   'targetValue: lots'))
    other = c.write('other.yaml', policy(t, 'other', obj='beta').replace(t.metric,
                                                                          t.other_metric))
    c.write('ghost.yaml', policy(t, 'ghost', obj=t.absent))
    p, calls = c.run_once()
    check(p.returncode == 1, 'run with invalid resources exited %d, expected 1' % p.returncode,
          describe(p))
    expect_ready(c, 'alpha')
    cond = c.expect_condition('bad', 'Ready', 'False', 'InvalidSpec')
    check(bad in cond['message'] and 'targetValue' in cond['message'], 'message unclear',
          cond['message'])
    cond = c.expect_condition('other', 'Ready', 'False', 'InvalidSpec')
    check(other in cond['message'] and 'does not apply to this target' in cond['message'],
          'message unclear', cond['message'])
    cond = c.expect_condition('ghost', 'Ready', 'False', 'TargetNotFound')
    check(t.absent in cond['message'], 'TargetNotFound does not name the target', cond)
    expect_aws(c, t, {'alpha': (1, 4, True)})


def case_faults(c, t):
    """Throttling, 5xx and resets on the target's own reads and on Application Auto Scaling:
    trimtab retries and converges, each object written once."""
    sim = c.sim
    faults = [sim.fault(kind='throttle', service=t.fault_service, operation=t.own_reads[0],
                        count=2),
              sim.fault(kind='error', status=503, code='ServiceUnavailable',
                        service='application-autoscaling', operation='RegisterScalableTarget',
                        count=2),
              sim.fault(kind='reset', service='application-autoscaling',
                        operation='PutScalingPolicy', count=1)]
    c.write('alpha.yaml', policy(t, 'alpha'))
    c.write('beta.yaml', policy(t, 'beta', sched=False))
    p, calls = c.run_once(timeout=120)
    if p.returncode != 0:
        log('  first run under faults exited %d; running again' % p.returncode)
        p, calls = c.run_once(expect_rc=0, timeout=120, reset_calls=False)
    fired = {f['id']: f['fired'] for f in sim.control('GET', 'faults')['faults']}
    check(all(fired[f] > 0 for f in faults), 'not every fault fired', fired)
    expect_aws(c, t, BASE)
    expect_ready(c, 'alpha', 'beta')
    created = {}
    for n in ('alpha', 'beta'):
        for e in c.events(n, 'Created'):
            obj = e['message'].split(' (')[0]
            created[(n, obj)] = created.get((n, obj), 0) + e.get('count', 1)
    check(all(v == 1 for v in created.values()), 'objects created more than once', created)
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run after faults wrote', ops(calls, 'write'))


def case_kill9(c, t):
    """kill -9 in the middle of creating, then a restart: converges, nothing duplicated or
    orphaned, plan in sync."""
    sim = c.sim
    sim.fault(kind='latency', latencyMs=400, service='application-autoscaling',
              operation='PutScalingPolicy')
    c.write('alpha.yaml', policy(t, 'alpha'))
    c.write('beta.yaml', policy(t, 'beta', sched=False))
    sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: sim.inflight(operation='PutScalingPolicy') or proc.poll() is not None, 30,
             'a policy in flight, its scalable target made')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    time.sleep(0.5)  # what the dead process had in flight completes in AWS all the same
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    expect_aws(c, t, BASE)
    expect_ready(c, 'alpha', 'beta')
    temps = [f for d, _, fs in os.walk(c.state) for f in fs if '.tmp.' in f]
    check(not temps, 'temporary files left behind', temps)
    c.plan(expect_rc=0)
    # Deleting after the crash still finds what the killed run created.
    c.remove('alpha.yaml')
    c.remove('beta.yaml')
    c.run_once('--prune', expect_rc=0)
    expect_aws(c, t, {})


def case_resync(c, t):
    """A running operator corrects drift on its resync and stops cleanly on SIGTERM."""
    setup_two(c, t)
    proc = c.start('--resync', '2s')
    wait_for(lambda: c.sim.calls(operation='DescribeScalableTargets'), 20, 'the first look')
    c.client('application-autoscaling').register_scalable_target(
        ServiceNamespace=t.ns, ResourceId=t.rid('beta'), ScalableDimension=t.dim,
        MinCapacity=1, MaxCapacity=8)
    wait_for(lambda: aws(c, t)['targets'][t.rid('beta')]['MaxCapacity'] == 4, 20,
             'the resync to correct the drift')
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)


BUDGET = to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'Budget',
                  'metadata': {'name': 'platform', 'namespace': NS},
                  'spec': {'limit': {'amount': 60, 'unit': 'USD'}}})


def case_budget_guard(c, t):
    """The budget guard on this target: spend above 80 % clamps the maximum (and the scheduled
    action's with it) to the guard's, with the BudgetClamped condition and its event; spend
    back below restores the spec's."""
    c.write('budget.yaml', BUDGET)
    c.write('alpha.yaml', policy(t, 'alpha', budgetGuard=[
        {'budget': 'platform', 'abovePercent': 80, 'maxCapacity': 2}]))
    c.run_once(expect_rc=0)
    expect_aws(c, t, {'alpha': (1, 4, True)})
    c.sim.control('POST', 'budgets/spend', {'budget': 'trimtab-%s-platform' % NS, 'actual': '54'})
    p, calls = c.run_once(expect_rc=0)
    now = expect_aws(c, t, {'alpha': (1, 2, True)})
    act = now['scheduled'][(t.rid('alpha'), aws_name('alpha', 'office'))]
    check(act['ScalableTargetAction']['MaxCapacity'] <= 2, 'the scheduled action is not clamped',
          act)
    c.expect_condition('alpha', 'BudgetClamped', 'True', 'BudgetExceeded')
    check(len(c.events('alpha', 'BudgetExceeded')) == 1, 'one clamp event')
    c.sim.control('POST', 'budgets/spend', {'budget': 'trimtab-%s-platform' % NS, 'actual': '30'})
    c.run_once(expect_rc=0)
    expect_aws(c, t, {'alpha': (1, 4, True)})
    c.expect_condition('alpha', 'BudgetClamped', 'False', 'WithinBudget')
    check(len(c.events('alpha', 'WithinBudget')) == 1, 'one restore event')


SHARED = ['create_noop', 'drift', 'spec_change', 'prune', 'adoption', 'observe', 'invalid',
          'faults', 'kill9', 'resync', 'budget_guard']


def cases(t, extra):
    """The shared cases bound to target `t`, plus the file's own: {"<kind>_<case>": fn(c)}
    (ctest names them e2e_<kind>_<case>, apart from the ECS cases)."""
    out = {}
    for name in SHARED:
        fn = globals()['case_' + name]
        out['%s_%s' % (t.kind, name)] = (lambda f: lambda c: f(c, t))(fn)
    out.update(extra)
    return out
