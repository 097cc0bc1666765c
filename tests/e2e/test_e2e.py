#!/usr/bin/env python3
"""trimtab end to end in directory mode against awssim (SPEC §2-§4, §6, §8; issue 6 item 6).

Usage: test_e2e.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

Every case starts its own simulator, writes manifests into its own temporary directory and runs
the real binary; it then checks the simulator's call log, the state records and events.jsonl,
and AWS itself (read back with boto3). e2e.py has the harness.
"""

import os
import json
import re
import shutil
import sys
import time

from e2e import (OWNER_TAG, REGION, TARGET_DIM, Config, Failure, aws_name, check,
                 describe, expect_objects, log, main, ops, reads, rid, scaling_policy, scheduled,
                 step_policy, stop, to_yaml, tracking, wait_for, web, worker, writes)


# ---- shared manifests ------------------------------------------------------------------------

def simple(name, **kw):
    args = dict(min_capacity=1, max_capacity=4, tracking_=[tracking('cpu', target=60)])
    args.update(kw)
    return scaling_policy(name, **args)


WEB = {'min': 2, 'max': 10, 'policies': [aws_name('web', 'cpu'), aws_name('web', 'memory')],
       'scheduled': [aws_name('web', 'business-hours'), aws_name('web', 'after-hours')],
       'owner': 'shop/web'}
WORKER = {'min': 1, 'max': 12, 'policies': [aws_name('worker', 'cpu-high')], 'owner': 'shop/worker'}


def simple_expect(name):
    return {'min': 1, 'max': 4, 'policies': [aws_name(name, 'cpu')], 'owner': 'shop/' + name}


def setup_web_worker(c):
    """web and worker created and converged; the call log reset."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    p, calls = c.run_once(expect_rc=0)
    check(len(writes(calls)) == 7, 'creating web and worker took %d writes, expected 7'
          % len(writes(calls)), ops(calls, 'write'))
    c.expect_condition('web', 'Ready', 'True', 'Converged')
    c.expect_condition('worker', 'Ready', 'True', 'Converged')
    c.sim.reset_calls()


def expect_ready(c, *names):
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged')
        c.expect_condition(n, 'Synced', 'True')


def plan_changes(doc, key):
    """{(verb, object): {field: (old, new)}} of one resource in `plan --output json`."""
    for r in doc['resources']:
        if r['key'] == key:
            return {(a['verb'], a['object']): {ch['field']: (ch['old'], ch['new'])
                                              for ch in a.get('changes', [])}
                    for a in r['actions']}
    raise Failure('%s missing from the plan' % key)


# ---- cases ---------------------------------------------------------------------------------

def case_create_noop(c):
    """Create six ScalingPolicies; then a no-op run makes zero writes and a handful of reads."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    others = ['api', 'batch', 'search', 'checkout']
    for n in others:
        c.write('ecs/%s.yml' % n, simple(n))
    c.write('README.md', '# not a manifest\n')
    before = c.tree()
    p, calls = c.run_once('--log-format', 'json', expect_rc=0)
    # Logs: one JSON object a line, resource lines carry the resource key.
    lines = [json.loads(line) for line in p.stderr.splitlines() if line.strip()]
    check(all({'ts', 'level', 'msg'} <= set(x) for x in lines), 'log lines lack ts/level/msg',
          p.stderr[:2000])
    created = [x for x in lines if x['msg'].startswith('Created:')]
    check(len(created) == 15 and all(x.get('key', '').startswith('ScalingPolicy/shop/')
                                     for x in created), 'Created log lines lack the resource key',
          created[:3])
    w = ops(calls, 'write')
    check(len(writes(calls)) == len(w), 'a write failed', [x for x in calls if x['status'] >= 300])
    check(sorted(w) == sorted(['RegisterScalableTarget'] * 6 + ['PutScalingPolicy'] * 7 +
                              ['PutScheduledAction'] * 2),
          'unexpected write calls for the creation', w)
    log('  create: %d writes, %d reads, %.2fs' % (len(w), len(reads(calls)), p.seconds))

    aws = c.aws()
    expected = {'web': WEB, 'worker': WORKER}
    expected.update({n: simple_expect(n) for n in others})
    expect_objects(aws, expected)
    pol = aws['policies'][(rid('web'), aws_name('web', 'cpu'))]
    cfg = pol['TargetTrackingScalingPolicyConfiguration']
    check(cfg['TargetValue'] == 70 and cfg['ScaleOutCooldown'] == 60
          and cfg['ScaleInCooldown'] == 300 and cfg['PredefinedMetricSpecification']
          ['PredefinedMetricType'] == 'ECSServiceAverageCPUUtilization',
          'web cpu policy configured wrongly', cfg)
    sa = aws['scheduled'][(rid('web'), aws_name('web', 'business-hours'))]
    check(sa['Schedule'] == 'cron(0 8 ? * MON-FRI *)' and sa['Timezone'] == 'Europe/Berlin' and
          sa['ScalableTargetAction'] == {'MinCapacity': 4, 'MaxCapacity': 10},
          'web business-hours scheduled action wrong', sa)
    step = aws['policies'][(rid('worker'), aws_name('worker', 'cpu-high'))]
    sc = step['StepScalingPolicyConfiguration']
    check(step['PolicyType'] == 'StepScaling' and sc['AdjustmentType'] == 'ChangeInCapacity' and
          sc['Cooldown'] == 120 and len(sc['StepAdjustments']) == 2, 'worker step policy wrong', sc)

    for n in ['web', 'worker'] + others:
        rec = c.record(n)
        check(rec is not None, 'no record for %s' % n)
        expect_ready(c, n)
        check(rec['metadata']['generation'] == 1 and rec['status']['observedGeneration'] == 1,
              '%s: generation/observedGeneration not 1' % n, rec['metadata'], rec['status'])
        check(rec['status'].get('desiredCapacity') == 2 and 'currentCapacity' in rec['status'],
              '%s: capacity missing from status' % n, rec['status'])
        check(rec['metadata'].get('annotations', {}).get('trimtab.dev/source', '')
              .startswith(c.manifests), '%s: source annotation missing' % n, rec['metadata'])
    arns = c.record('web')['status']['policyArns']
    check(arns == {'cpu': aws['policies'][(rid('web'), aws_name('web', 'cpu'))]['PolicyARN'],
                   'memory': aws['policies'][(rid('web'), aws_name('web', 'memory'))]['PolicyARN']},
          'web status.policyArns do not match AWS', arns)
    created = [e['message'] for e in c.events('web', 'Created')]
    check(len(created) == 5, 'web: %d Created events, expected 5 (target, 2 policies, 2 '
          'scheduled actions)' % len(created), *created)
    check(len(c.events('web', 'Converged')) == 1, 'web: no single Converged event',
          c.events('web'))
    check(c.tree() == before, 'the manifest directory was written to')

    # The no-op: nothing to do, so nothing written, and the reads are batched.
    n_events = len(c.events())
    records = {n: c.record(n) for n in ['web', 'worker'] + others}
    state_files = c.tree(os.path.join(c.state, 'resources'))
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run made write calls', ops(calls, 'write'))
    check(all(x['status'] == 200 for x in calls), 'a call failed', calls)
    nreads = len(reads(calls))
    log('  no-op run of 6 resources: 0 writes, %d reads (%s), %.2fs'
        % (nreads, ', '.join(ops(calls)), p.seconds))
    check(nreads <= 5, 'the no-op run made %d reads for 6 resources (batched: expected <= 5)'
          % nreads, ops(calls))
    new_events = c.events()[n_events:]
    check(not [e for e in new_events if e['reason'] in ('Created', 'Updated', 'Deleted')],
          'the no-op run recorded changes', new_events)
    for n, old in records.items():
        rec = c.record(n)
        check(rec['metadata']['generation'] == old['metadata']['generation'] and
              rec['memo'] == old['memo'], '%s: the no-op run changed generation or memo' % n)
        expect_ready(c, n)
    check(c.tree() == before, 'the manifest directory was written to')
    changed = {n: (old, c.record(n)) for n, old in records.items() if c.record(n) != old}
    check(c.tree(os.path.join(c.state, 'resources')) == state_files,
          'the no-op run rewrote state records (status must not change when nothing did)',
          changed)

    # plan agrees: in sync, exit 0.
    p = c.plan(expect_rc=0)
    check('0 to create, 0 to update, 0 to delete' in p.stdout and '6 in sync' in p.stdout,
          'plan does not say everything is in sync', p.stdout)


def case_drift(c):
    """Drift made in AWS behind trimtab's back: plan shows it (exit 2, field old -> new) and a
    run corrects exactly that, nothing else."""
    setup_web_worker(c)
    aas = c.client('application-autoscaling')
    key = 'ScalingPolicy/shop/web'

    def fix(expect_writes, what):
        p, calls = c.run_once(expect_rc=0)
        check(sorted(ops(calls, 'write')) == sorted(expect_writes),
              '%s: the correction made writes %s, expected %s' % (what, ops(calls, 'write'),
                                                                  expect_writes))
        expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})
        expect_ready(c, 'web', 'worker')
        c.expect_condition('web', 'Drifted', 'False', 'InSync')
        c.plan(expect_rc=0)
        return calls

    # 1. min/max changed in AWS.
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('web'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=7)
    p = c.plan(expect_rc=2)
    check(re.search(r'~ update scalable target service/prod/web\n\s+minCapacity: 3 → 2\n\s+'
                    r'maxCapacity: 7 → 10', p.stdout), 'plan text does not show min/max 3/7 → 2/10',
          p.stdout)
    check('1 to update' in p.stdout and '1 in sync' in p.stdout, 'plan summary wrong', p.stdout)
    pj = c.plan(expect_rc=2, json_output=True)
    ch = plan_changes(pj.doc, key)
    check(ch == {('update', 'scalable target service/prod/web'):
                 {'minCapacity': (3, 2), 'maxCapacity': (7, 10)}}, 'plan JSON wrong', ch)
    check(plan_changes(pj.doc, 'ScalingPolicy/shop/worker') == {}, 'worker is not in sync')
    n = len(c.events('web', 'Updated'))
    fix(['RegisterScalableTarget'], 'min/max')
    ev = c.events('web', 'Updated')[n:]
    check(len(ev) == 1 and 'minCapacity 3 → 2' in ev[0]['message'] and
          'maxCapacity 7 → 10' in ev[0]['message'], 'no Updated event for min/max', ev)

    # 2. A policy's target value (web) and a step policy's cooldown (worker) changed.
    arn = c.aws()['policies'][(rid('web'), aws_name('web', 'cpu'))]['PolicyARN']
    pol = aas.describe_scaling_policies(ServiceNamespace='ecs', ResourceId=rid('web'),
                                        PolicyNames=[aws_name('web', 'cpu')])['ScalingPolicies'][0]
    cfg = pol['TargetTrackingScalingPolicyConfiguration']
    cfg['TargetValue'] = 55.0
    aas.put_scaling_policy(PolicyName=pol['PolicyName'], ServiceNamespace='ecs',
                           ResourceId=rid('web'), ScalableDimension=TARGET_DIM,
                           PolicyType='TargetTrackingScaling',
                           TargetTrackingScalingPolicyConfiguration=cfg)
    pol = aas.describe_scaling_policies(ServiceNamespace='ecs', ResourceId=rid('worker'),
                                        PolicyNames=[aws_name('worker', 'cpu-high')])
    cfg = pol['ScalingPolicies'][0]['StepScalingPolicyConfiguration']
    cfg['Cooldown'] = 300
    aas.put_scaling_policy(PolicyName=aws_name('worker', 'cpu-high'), ServiceNamespace='ecs',
                           ResourceId=rid('worker'), ScalableDimension=TARGET_DIM,
                           PolicyType='StepScaling', StepScalingPolicyConfiguration=cfg)
    p = c.plan(expect_rc=2)
    check(re.search(r'~ update scaling policy trimtab-shop-web-cpu\n\s+targetValue: 55(\.0)? → '
                    r'70(\.0)?\n', p.stdout), 'plan text does not show targetValue 55 → 70',
          p.stdout)
    check(re.search(r'~ update scaling policy trimtab-shop-worker-cpu-high\n\s+cooldown: 300 → '
                    r'120\n', p.stdout), 'plan text does not show cooldown 300 → 120', p.stdout)
    pj = c.plan(expect_rc=2, json_output=True)
    check(plan_changes(pj.doc, key) == {('update', 'scaling policy trimtab-shop-web-cpu'):
                                        {'targetValue': (55, 70)}}, 'plan JSON wrong (web)',
          plan_changes(pj.doc, key))
    check(plan_changes(pj.doc, 'ScalingPolicy/shop/worker') ==
          {('update', 'scaling policy trimtab-shop-worker-cpu-high'): {'cooldown': (300, 120)}},
          'plan JSON wrong (worker)', plan_changes(pj.doc, 'ScalingPolicy/shop/worker'))
    check(pj.doc['summary']['update'] == 2 and pj.doc['summary']['changed'] == 2,
          'plan JSON summary wrong', pj.doc['summary'])
    fix(['PutScalingPolicy', 'PutScalingPolicy'], 'policies')
    aws = c.aws()
    check(aws['policies'][(rid('web'), aws_name('web', 'cpu'))]['PolicyARN'] == arn,
          'the web cpu policy was replaced instead of updated')
    check(aws['policies'][(rid('web'), aws_name('web', 'cpu'))]
          ['TargetTrackingScalingPolicyConfiguration']['TargetValue'] == 70, 'target value not 70')
    check(aws['policies'][(rid('worker'), aws_name('worker', 'cpu-high'))]
          ['StepScalingPolicyConfiguration']['Cooldown'] == 120, 'cooldown not 120')

    # 3. A scheduled action deleted.
    aas.delete_scheduled_action(ServiceNamespace='ecs', ResourceId=rid('web'),
                                ScalableDimension=TARGET_DIM,
                                ScheduledActionName=aws_name('web', 'after-hours'))
    p = c.plan(expect_rc=2)
    check(re.search(r'\+ create scheduled action trimtab-shop-web-after-hours\n\s+schedule: '
                    r'\(none\) → "cron\(0 18 \? \* MON-FRI \*\)"', p.stdout),
          'plan text does not show the scheduled action to create', p.stdout)
    pj = c.plan(expect_rc=2, json_output=True)
    ch = plan_changes(pj.doc, key)
    check(list(ch) == [('create', 'scheduled action trimtab-shop-web-after-hours')] and
          ch[('create', 'scheduled action trimtab-shop-web-after-hours')]['schedule'] ==
          (None, 'cron(0 18 ? * MON-FRI *)'), 'plan JSON wrong', ch)
    fix(['PutScheduledAction'], 'scheduled action')
    sa = c.aws()['scheduled'][(rid('web'), aws_name('web', 'after-hours'))]
    check(sa['Timezone'] == 'Europe/Berlin' and sa['ScalableTargetAction'] ==
          {'MinCapacity': 2, 'MaxCapacity': 10}, 'recreated scheduled action wrong', sa)

    # 4. The whole scalable target deregistered (which takes its policies and actions along).
    aas.deregister_scalable_target(ServiceNamespace='ecs', ResourceId=rid('web'),
                                   ScalableDimension=TARGET_DIM)
    pj = c.plan(expect_rc=2, json_output=True)
    check(sorted(v for v, _ in plan_changes(pj.doc, key)) == ['create'] * 5,
          'plan after deregistration should create 5 objects', plan_changes(pj.doc, key))
    fix(['RegisterScalableTarget', 'PutScalingPolicy', 'PutScalingPolicy', 'PutScheduledAction',
         'PutScheduledAction'], 'deregistered target')


def case_spec_change(c):
    """A spec change touches exactly what changed: a new policy is created, a removed one is
    deleted in AWS, maxCapacity is updated, everything else is left alone."""
    setup_web_worker(c)
    before = c.aws()
    gen = c.record('web')['metadata']['generation']
    queue = {'name': 'queue', 'customMetric': {'namespace': 'Shop', 'metricName': 'QueueDepth',
                                               'statistic': 'Average',
                                               'dimensions': {'Queue': 'orders'}},
             'targetValue': 100, 'disableScaleIn': True}
    c.write('ecs/web.yaml', web(max_capacity=15,
                                tracking_=[tracking('cpu', target=70, scaleOutCooldown='60s',
                                                    scaleInCooldown='5m'), queue],
                                sched=[scheduled('business-hours', lo=4, hi=10)]))
    pj = c.plan(expect_rc=2, json_output=True)
    ch = plan_changes(pj.doc, 'ScalingPolicy/shop/web')
    check(set(ch) == {('update', 'scalable target service/prod/web'),
                      ('create', 'scaling policy trimtab-shop-web-queue'),
                      ('delete', 'scaling policy trimtab-shop-web-memory'),
                      ('delete', 'scheduled action trimtab-shop-web-after-hours')},
          'plan for the spec change wrong', ch)
    check(ch[('update', 'scalable target service/prod/web')] == {'maxCapacity': (10, 15)},
          'maxCapacity change not 10 → 15', ch)
    check(pj.doc['summary'] == {'create': 1, 'update': 1, 'delete': 2, 'changed': 1, 'inSync': 1,
                                'blocked': 0, 'invalidOrFailed': 0}, 'plan summary wrong',
          pj.doc['summary'])
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == sorted(['RegisterScalableTarget', 'PutScalingPolicy',
                                                 'DeleteScalingPolicy', 'DeleteScheduledAction']),
          'the spec change made writes %s' % ops(calls, 'write'))
    after = c.aws()
    want = dict(WEB, max=15, policies=[aws_name('web', 'cpu'), aws_name('web', 'queue')],
                scheduled=[aws_name('web', 'business-hours')])
    expect_objects(after, {'web': want, 'worker': WORKER})
    q = after['policies'][(rid('web'), aws_name('web', 'queue'))]
    qc = q['TargetTrackingScalingPolicyConfiguration']
    check(qc['CustomizedMetricSpecification'] == {'MetricName': 'QueueDepth', 'Namespace': 'Shop',
                                                  'Statistic': 'Average', 'Dimensions': [
                                                      {'Name': 'Queue', 'Value': 'orders'}]}
          and qc['TargetValue'] == 100 and qc['DisableScaleIn'] is True,
          'the new custom-metric policy is wrong', qc)
    # Untouched: the cpu policy, its alarms, the business-hours action and all of worker.
    for k in [(rid('web'), aws_name('web', 'cpu')),
              (rid('worker'), aws_name('worker', 'cpu-high'))]:
        check(after['policies'][k] == before['policies'][k], '%s changed' % (k,),
              before['policies'][k], after['policies'][k])
    k = (rid('web'), aws_name('web', 'business-hours'))
    check(after['scheduled'][k] == before['scheduled'][k], 'business-hours changed')
    memory_alarms = [a['AlarmName'] for a in
                     before['policies'][(rid('web'), aws_name('web', 'memory'))]['Alarms']]
    check(not set(memory_alarms) & set(after['alarms']), 'the memory policy alarms remain')
    rec = c.record('web')
    check(rec['metadata']['generation'] == gen + 1 and rec['status']['observedGeneration'] ==
          gen + 1, 'generation did not move with the spec', rec['metadata'])
    expect_ready(c, 'web', 'worker')
    check(sorted(rec['memo']['policies']) == sorted(want['policies']) and
          rec['memo']['scheduled'] == want['scheduled'], 'memo not updated', rec['memo'])
    check(set(rec['status']['policyArns']) == {'cpu', 'queue'}, 'policyArns wrong',
          rec['status']['policyArns'])
    check(len(c.events('web', 'Deleted')) == 2 and len(c.events('web', 'Created')) == 6,
          'events for the change wrong', c.events('web'))
    check(c.record('worker')['metadata']['generation'] == 1, 'worker generation moved')

    # A change inside one step policy: updated in place.
    c.write('ecs/worker.yaml', worker(steps=[step_policy('cpu-high', steps=[
        {'lower': 0, 'upper': 15, 'adjustment': 1}, {'lower': 15, 'adjustment': 3}])]))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutScalingPolicy'], 'step change made writes %s'
          % ops(calls, 'write'))
    pol = c.aws()['policies'][(rid('worker'), aws_name('worker', 'cpu-high'))]
    check(pol['PolicyARN'] == before['policies'][(rid('worker'), aws_name('worker', 'cpu-high'))]
          ['PolicyARN'], 'the step policy was replaced')
    check([(s.get('MetricIntervalLowerBound'), s.get('MetricIntervalUpperBound'),
            s['ScalingAdjustment']) for s in pol['StepScalingPolicyConfiguration']
           ['StepAdjustments']] == [(0, 15, 1), (15, None, 3)], 'steps wrong',
          pol['StepScalingPolicyConfiguration'])
    # Renaming a policy is a delete plus a create.
    c.write('ecs/worker.yaml', worker(steps=[step_policy('cpu-very-high')]))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy', 'PutScalingPolicy'],
          'rename made writes %s' % ops(calls, 'write'))
    expect_objects(c.aws(), {'web': want, 'worker': dict(
        WORKER, policies=[aws_name('worker', 'cpu-very-high')])})
    c.plan(expect_rc=0)


def case_prune(c):
    """A manifest deleted: without --prune the resource is orphaned (AWS untouched, status and
    event say so); with --prune its AWS objects are deleted and its record goes;
    deletionPolicy: Retain keeps AWS as it is even with --prune."""
    setup_web_worker(c)
    c.write('ecs/api.yaml', simple('api', deletionPolicy='Retain'))
    c.write('ecs/batch.yaml', simple('batch'))
    c.run_once(expect_rc=0)
    everything = {'web': WEB, 'worker': WORKER, 'api': simple_expect('api'),
                  'batch': simple_expect('batch')}
    expect_objects(c.aws(), everything)
    before = c.aws()

    c.remove('ecs/web.yaml')
    for attempt in (1, 2):
        p, calls = c.run_once()
        check(not writes(calls), 'run without --prune wrote to AWS', ops(calls, 'write'))
        cond = c.expect_condition('web', 'Ready', 'False', 'Orphaned')
        check('--prune' in cond['message'], 'the Orphaned message does not mention --prune', cond)
    check(c.aws() == before, 'AWS changed without --prune')
    orphaned = c.events('web', 'Orphaned')
    check(len(orphaned) == 1 and orphaned[0]['type'] == 'Warning',
          'expected one Orphaned warning event (repeats counted, not repeated)', orphaned)
    p = c.trimtab('status')
    row = [l for l in p.stdout.splitlines() if re.search(r'\bweb\b', l)]
    check(p.returncode == 0 and row and 'Orphaned' in row[0] and 'False' in row[0],
          'status does not show web as Orphaned', p.stdout)
    expect_ready(c, 'worker', 'api', 'batch')

    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == sorted(['DeleteScalingPolicy'] * 2 +
                                                ['DeleteScheduledAction'] * 2 +
                                                ['DeregisterScalableTarget']),
          '--prune made writes %s' % ops(calls, 'write'))
    del everything['web']
    expect_objects(c.aws(), everything)
    check(c.record('web') is None, 'the record of the pruned resource is still there')
    deleted = c.events('web', 'Deleted')
    check(deleted and 'removed 5 AWS objects' in deleted[-1]['message'],
          'no "removed 5 AWS objects" event', c.events('web'))
    p = c.trimtab('status')
    check(not re.search(r'\bweb\b', p.stdout), 'status still lists web', p.stdout)

    # Retain: --prune forgets the resource but leaves AWS alone.
    before = c.aws()
    c.remove('ecs/api.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(not writes(calls), 'deletionPolicy: Retain but --prune wrote to AWS', ops(calls, 'write'))
    check(c.aws() == before, 'AWS changed for a Retain resource')
    check(c.record('api') is None, 'the Retain resource still has a record')
    ev = c.events('api', 'Retained')
    check(ev and 'deletionPolicy: Retain' in ev[-1]['message'], 'no Retained event',
          c.events('api'))

    # A manifest deleted while trimtab was not running, pruned on the next start.
    c.remove('ecs/worker.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy', 'DeregisterScalableTarget'],
          'pruning worker made writes %s' % ops(calls, 'write'))
    expect_objects(c.aws(), {'api': simple_expect('api'), 'batch': simple_expect('batch')})
    check(c.record('worker') is None, 'worker still has a record')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(not writes(calls), 'a second --prune wrote to AWS', ops(calls, 'write'))


def case_adoption(c):
    """An existing scalable target without the owner tag is refused (no writes); with
    spec.adopt: true it is taken over and tagged; a target owned by another resource is never
    taken."""
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('web'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(PolicyName='legacy-cpu', ServiceNamespace='ecs', ResourceId=rid('web'),
                           ScalableDimension=TARGET_DIM, PolicyType='TargetTrackingScaling',
                           TargetTrackingScalingPolicyConfiguration={
                               'TargetValue': 50.0, 'PredefinedMetricSpecification': {
                                   'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}})
    before = c.aws()
    c.write('ecs/web.yaml', web())
    p, calls = c.run_once()
    check(p.returncode == 1, 'run --once with a refused adoption exited %d, expected 1'
          % p.returncode, describe(p))
    check(not writes(calls), 'a refused adoption wrote to AWS', ops(calls, 'write'))
    check(c.aws() == before, 'AWS changed')
    cond = c.expect_condition('web', 'Ready', 'False', 'AdoptionRefused')
    check('spec.adopt' in cond['message'] and 'service/prod/web' in cond['message'],
          'AdoptionRefused message unclear', cond['message'])
    ev = c.events('web', 'AdoptionRefused')
    check(len(ev) == 1 and ev[0]['type'] == 'Warning', 'no AdoptionRefused warning event',
          c.events('web'))
    p = c.plan(json_output=True)
    entry = [r for r in p.doc['resources'] if r['key'] == 'ScalingPolicy/shop/web']
    check(entry and entry[0].get('blocked') == 'AdoptionRefused' and not entry[0]['actions'],
          'plan JSON does not report the refusal', p.stdout)
    p = c.plan()
    check('! ScalingPolicy/shop/web: AdoptionRefused:' in p.stdout, 'plan text does not report '
          'the refusal', p.stdout)

    c.write('ecs/web.yaml', web(adopt=True))
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(sorted(w) == sorted(['TagResource', 'RegisterScalableTarget', 'PutScalingPolicy',
                               'PutScalingPolicy', 'PutScheduledAction', 'PutScheduledAction']),
          'adoption made writes %s' % w)
    check(w[0] == 'TagResource', 'the owner tag must be set before anything else is changed', w)
    aws = c.aws()
    t = aws['targets'][rid('web')]
    check(t['Tags'] == {OWNER_TAG: 'shop/web'} and t['ScalableTargetARN'] ==
          before['targets'][rid('web')]['ScalableTargetARN'], 'the target was not adopted in '
          'place and tagged', t)
    check((rid('web'), 'legacy-cpu') in aws['policies'] and
          aws['policies'][(rid('web'), 'legacy-cpu')] == before['policies'][(rid('web'),
                                                                             'legacy-cpu')],
          'a policy trimtab does not own was touched')
    check((t['MinCapacity'], t['MaxCapacity']) == (2, 10), 'min/max not set on adoption', t)
    expect_ready(c, 'web')
    check(len(c.events('web', 'Adopted')) == 1, 'no Adopted event', c.events('web'))
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'after adoption the no-op run wrote', ops(calls, 'write'))

    # Another resource naming the same service, even with adopt: true, is refused.
    c.write('ecs/web-copy.yaml', scaling_policy('web-copy', service='web', adopt=True))
    p, calls = c.run_once()
    check(p.returncode == 1 and not writes(calls), 'a target owned by another resource was '
          'written', ops(calls, 'write'), describe(p))
    cond = c.expect_condition('web-copy', 'Ready', 'False', 'ConflictingOwner')
    check('shop/web' in cond['message'], 'ConflictingOwner does not name the owner', cond)
    expect_ready(c, 'web')


def case_observe(c):
    """mode: Observe (and run --dry-run) reads AWS and reports drift, and never writes."""
    setup_web_worker(c)
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('web'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=7)
    c.write('ecs/web.yaml', web(mode='Observe'))
    c.write('ecs/api.yaml', simple('api', mode='Observe'))  # nothing exists for it
    before = c.aws()
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote to AWS', ops(calls, 'write'))
    check(c.aws() == before, 'AWS changed in Observe mode')
    for name, needle in (('web', 'minCapacity'), ('api', 'create scalable target')):
        d = c.expect_condition(name, 'Drifted', 'True', 'DriftDetected')
        check(needle in d['message'], '%s: the Drifted message does not say what' % name, d)
        r = c.expect_condition(name, 'Ready', 'False', 'Drifted')
        drift = c.record(name)['status'].get('drift')
        check(drift, '%s: status.drift missing' % name, c.record(name)['status'])
        ev = c.events(name, 'DriftDetected')
        check(len(ev) == 1 and ev[0]['type'] == 'Warning', '%s: no DriftDetected event' % name,
              c.events(name))
        assert r
    web_drift = c.record('web')['status']['drift']
    check([a['object'] for a in web_drift] == ['scalable target service/prod/web'] and
          {ch['field']: (ch['old'], ch['new']) for ch in web_drift[0]['changes']} ==
          {'minCapacity': (3, 2), 'maxCapacity': (7, 10)}, 'status.drift wrong', web_drift)
    expect_ready(c, 'worker')
    # Still drifted on the next look: still no writes, no repeated event flood.
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote to AWS', ops(calls, 'write'))
    check(len(c.events('web', 'DriftDetected')) == 1, 'DriftDetected repeated',
          c.events('web', 'DriftDetected'))

    # suspend: true: not even read; says so; drift stays.
    c.write('ecs/web.yaml', web(mode='Observe', suspend=True))
    p, calls = c.run_once()
    check(not writes(calls), 'a suspended resource was written', ops(calls, 'write'))
    c.expect_condition('web', 'Ready', 'False', 'Suspended')

    # --dry-run on a Manage resource: the same, for one run.
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('worker'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=20)
    p, calls = c.run_once('--dry-run')
    check(not writes(calls), '--dry-run wrote to AWS', ops(calls, 'write'))
    c.expect_condition('worker', 'Drifted', 'True', 'DriftDetected')

    # Back to Manage: corrected.
    c.write('ecs/web.yaml', web())
    c.remove('ecs/api.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['RegisterScalableTarget'] * 2,
          'switching back to Manage made writes %s' % ops(calls, 'write'))
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})
    expect_ready(c, 'web', 'worker')
    check(c.record('api') is None, 'the pruned Observe resource still has a record')


BROKEN = """\
apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata:
  name: broken
  namespace: shop
spec:
  target:
    ecs:
      cluster: prod
      service: api
  minCapacity: 1
  maxCapacity: 4
  targetTracking:
    - name: cpu
      predefinedMetric: ECSServiceAverageCPUUtilization
      targetValue: lots
"""


def case_invalid(c):
    """An invalid manifest beside valid ones: the valid ones converge; the invalid one gets
    Ready=False, reason InvalidSpec, with the file:line message; fixing it converges it."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    bad = c.write('ecs/broken.yaml', BROKEN)
    c.write('ecs/typo.yaml', simple('typo', service='batch').replace('minCapacity',
                                                                     'minCapacty'))
    p, calls = c.run_once()
    check(p.returncode == 1, 'run --once with an invalid resource exited %d, expected 1'
          % p.returncode, describe(p))
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})
    expect_ready(c, 'web', 'worker')
    cond = c.expect_condition('broken', 'Ready', 'False', 'InvalidSpec')
    want = '%s:16: spec.targetTracking[0].targetValue: expected a number' % bad
    check(want in cond['message'], 'InvalidSpec message lacks "%s"' % want, cond['message'])
    c.expect_condition('broken', 'Synced', 'False', 'InvalidSpec')
    ev = c.events('broken', 'InvalidSpec')
    check(len(ev) == 1 and ev[0]['type'] == 'Warning' and want in ev[0]['message'],
          'no InvalidSpec event with the message', c.events('broken'))
    cond = c.expect_condition('typo', 'Ready', 'False', 'InvalidSpec')
    check(re.search(r'typo\.yaml:\d+: spec\.minCapacty: unknown field', cond['message']),
          'unknown field message wrong', cond['message'])
    check(want in p.stderr, 'the log does not show the problem', p.stderr)
    # plan: exit 1 (an invalid resource), the valid ones in sync.
    p = c.plan(expect_rc=1)
    # Fixed: converges; nothing else touched.
    c.write('ecs/broken.yaml', BROKEN.replace('lots', '65'))
    c.write('ecs/typo.yaml', simple('typo', service='batch'))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == sorted(['RegisterScalableTarget', 'PutScalingPolicy'] *
                                                2), 'fixing made writes %s' % ops(calls, 'write'))
    expect_ready(c, 'broken', 'typo', 'web', 'worker')
    rec = c.record('broken')
    check(rec['metadata']['generation'] == 2, 'generation of the fixed resource not 2',
          rec['metadata'])


SIX = ['web', 'worker', 'api', 'batch', 'search', 'checkout']


def write_six(c):
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    for n in SIX[2:]:
        c.write('ecs/%s.yaml' % n, simple(n))


def expect_six(c):
    expected = {'web': WEB, 'worker': WORKER}
    expected.update({n: simple_expect(n) for n in SIX[2:]})
    expect_objects(c.aws(), expected)
    expect_ready(c, *SIX)


def created_once(c):
    """Every AWS object got exactly one Created event (and so was created once)."""
    seen = {}
    for n in SIX:
        for e in c.events(n, 'Created'):
            obj = e['message'].split(' (')[0]
            seen.setdefault((n, obj), 0)
            seen[(n, obj)] += e.get('count', 1)
    twice = {k: v for k, v in seen.items() if v != 1}
    check(not twice, 'objects created more than once', twice)
    check(len(seen) == 6 + 7 + 2, '%d objects have a Created event, expected 15' % len(seen),
          sorted(seen))


def successful_writes(calls):
    out = {}
    for x in calls:
        if x['kind'] == 'write' and x['status'] < 300:
            out[x['operation']] = out.get(x['operation'], 0) + 1
    return out


CREATE_SIX = {'RegisterScalableTarget': 6, 'PutScalingPolicy': 7, 'PutScheduledAction': 2}


def case_faults(c):
    """Throttling, 5xx and dropped connections injected: trimtab retries, converges, creates
    nothing twice, and says why while it cannot."""
    write_six(c)
    sim = c.sim
    # 1. Transient faults on every kind of call, fewer than the retry budget.
    faults = [sim.fault(kind='throttle', service='application-autoscaling',
                        operation='RegisterScalableTarget', count=3),
              sim.fault(kind='error', status=500, service='application-autoscaling',
                        operation='PutScalingPolicy', count=3),
              sim.fault(kind='error', status=503, code='ServiceUnavailable', service='ecs',
                        operation='DescribeServices', count=1),
              sim.fault(kind='reset', service='application-autoscaling',
                        operation='PutScheduledAction', count=2),
              sim.fault(kind='reset', service='application-autoscaling',
                        operation='DescribeScalableTargets', count=1),
              sim.fault(kind='throttle', service='application-autoscaling',
                        operation='DescribeScalingPolicies', count=1)]
    p, calls = c.run_once(timeout=120)
    if p.returncode != 0:  # a resource may have used up its retries; the next run finishes
        log('  first run under faults exited %d; running again' % p.returncode)
        p, more = c.run_once(expect_rc=0, timeout=120, reset_calls=False)
        calls = more
    fired = {f['id']: f['fired'] for f in sim.control('GET', 'faults')['faults']}
    check(all(fired[f] > 0 for f in faults), 'not every fault fired', fired)
    log('  transient faults fired: %s; %.1fs' % (sum(fired.values()), p.seconds))
    check(successful_writes(calls) == CREATE_SIX, 'successful writes under faults: %s, expected '
          '%s (each object written exactly once)' % (successful_writes(calls), CREATE_SIX))
    expect_six(c)
    created_once(c)
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run after faults wrote', ops(calls, 'write'))

    # 1b. A failure the AWS client gives up on (one attempt) but the engine's retry cures:
    #     converged, so run --once exits 0.
    c.write('ecs/cart.yaml', simple('cart'))
    sim.fault(kind='throttle', service='application-autoscaling', operation='PutScalingPolicy',
              count=2)
    p, calls = c.run_once(env=c.env(AWS_MAX_ATTEMPTS='1'))
    check(p.returncode == 0, 'a failure cured by the engine\'s retry: exit %d, expected 0'
          % p.returncode, describe(p))
    expect_ready(c, 'cart')
    c.remove('ecs/cart.yaml')
    c.run_once('--prune', expect_rc=0)
    sim.clear_faults()

    # 2. Throttled for longer than the retries: Ready=False AwsThrottled, no status lost; once
    #    the fault clears, only what was missing is done.
    c.write('ecs/web.yaml', web(max_capacity=11, tracking_=[
        tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 85)]))
    # One attempt per call (AWS_MAX_ATTEMPTS=1) so that giving up takes no backoff time.
    quick = c.env(AWS_MAX_ATTEMPTS='1')
    sim.fault(kind='throttle', service='application-autoscaling', operation='PutScalingPolicy')
    p, calls = c.run_once(timeout=120, env=quick)
    log('  persistent throttle: %.1fs, %d calls' % (p.seconds, len(calls)))
    check(p.returncode == 1, 'run with a persistent throttle exited %d, expected 1'
          % p.returncode, describe(p))
    cond = c.expect_condition('web', 'Ready', 'False', 'AwsThrottled')
    check('PutScalingPolicy' in cond['message'] or 'scaling policy' in cond['message'],
          'AwsThrottled message does not say which call', cond['message'])
    c.expect_condition('web', 'Synced', 'False', 'AwsThrottled')
    check(c.events('web', 'AwsThrottled'), 'no AwsThrottled event', c.events('web'))
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 11,
          'the call before the throttled one was not applied')
    # 3. The service answers 5xx on every read: AwsUnavailable.
    sim.clear_faults()
    sim.fault(kind='error', status=503, code='ServiceUnavailable', service='ecs')
    p, calls = c.run_once(timeout=120, env=quick)
    log('  ECS unavailable: %.1fs, %d calls' % (p.seconds, len(calls)))
    check(p.returncode == 1, 'run with ECS unavailable exited %d, expected 1' % p.returncode)
    c.expect_condition('worker', 'Ready', 'False', 'AwsUnavailable')
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(successful_writes(calls) == {'PutScalingPolicy': 1},
          'after the faults cleared: %s, expected the one missing PutScalingPolicy'
          % successful_writes(calls))
    expect_ready(c, *SIX)

    # 4. Random faults of every kind on 30 % of Application Auto Scaling calls while six
    #    resources are deleted and created again.
    for n in SIX:
        c.remove('ecs/%s.yaml' % n)
    c.run_once('--prune', expect_rc=0)
    check(not c.aws()['targets'], 'pruning left targets')
    write_six(c)
    for kind in ('throttle', 'error', 'reset'):
        sim.fault(kind=kind, service='application-autoscaling', rate=0.1)
    sim.fault(kind='error', status=502, service='ecs', rate=0.2)
    sim.reset_calls()
    for attempt in range(1, 9):
        p, _ = c.run_once(timeout=120, reset_calls=False)
        if p.returncode == 0:
            break
    calls = sim.calls()
    fired = sum(f['fired'] for f in sim.control('GET', 'faults')['faults'])
    log('  random faults: %d fired over %d calls, converged after %d run(s)'
        % (fired, len(calls), attempt))
    check(p.returncode == 0, 'did not converge under random faults in 8 runs', describe(p))
    check(successful_writes(calls) == CREATE_SIX, 'successful writes under random faults: %s, '
          'expected %s' % (successful_writes(calls), CREATE_SIX))
    sim.clear_faults()
    expect_six(c)
    c.plan(expect_rc=0)


def case_kill9(c):
    """kill -9 while AWS calls are in flight, then a restart: converges, nothing duplicated,
    nothing orphaned, state records intact."""
    write_six(c)
    sim = c.sim
    sim.fault(kind='latency', latencyMs=300, service='application-autoscaling',
              operation='PutScalingPolicy')
    sim.fault(kind='latency', latencyMs=300, service='application-autoscaling',
              operation='PutScheduledAction')
    sim.reset_calls()
    proc = c.start('--once', '--concurrency', '2')
    wait_for(lambda: sum(successful_writes(sim.calls()).values()) >= 3 or
             proc.poll() is not None, 30, 'three writes before the kill')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    done = successful_writes(sim.calls())
    log('  killed after %s' % done)
    check(sum(done.values()) < 15, 'everything was done before the kill')
    time.sleep(0.7)  # calls the dead process had in flight complete in AWS all the same
    sim.clear_faults()
    leftovers = [f for d, _, fs in os.walk(c.state) for f in fs
                 if not (f.endswith('.json') or f in ('events.jsonl', 'lock'))]
    check(not leftovers or all(f.startswith('.') for f in leftovers),
          'unexpected files in the state directory after kill -9', leftovers)
    p, calls = c.run_once(expect_rc=0)
    expect_six(c)
    temps = [f for d, _, fs in os.walk(c.state) for f in fs if '.tmp.' in f]
    check(not temps, 'the restart should sweep the killed run\'s temporary files', temps)
    created_once_or_adopted(c)
    c.plan(expect_rc=0)

    # The spec changes while trimtab is down after a kill in the middle of applying the old
    # one: what the killed run created and the new spec no longer wants must not be left behind.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScheduledAction')
    c.write('ecs/web.yaml', web(tracking_=[
        tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80),
        tracking('extra', 'ECSServiceAverageMemoryUtilization', 90)], sched=[
        scheduled('business-hours', lo=4, hi=10),
        scheduled('after-hours', '0 18 * * MON-FRI', lo=2, hi=10),
        scheduled('extra-hours', '0 20 * * MON-FRI', lo=2, hi=10)]))
    sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: successful_writes(sim.calls()).get('PutScalingPolicy', 0) >= 1 or
             proc.poll() is not None, 30, 'the new policy')
    time.sleep(0.2)  # PutScheduledAction is in flight now (1.5 s)
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    time.sleep(1.6)  # the dead process's PutScheduledAction completes in AWS
    sim.clear_faults()
    made = sorted(k[1] for k in list(c.aws()['policies']) + list(c.aws()['scheduled'])
                  if 'extra' in k[1])
    log('  killed after creating %s' % made)
    check(len(made) == 2, 'the killed run should have created both extras', made)
    c.write('ecs/web.yaml', web())
    p, calls = c.run_once(expect_rc=0)
    expect_six(c)
    c.plan(expect_rc=0)

    # Killed while creating a new resource, whose manifest is then deleted: --prune must still
    # find and delete what the killed run created.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScalingPolicy')
    c.write('ecs/cart.yaml', simple('cart'))
    sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: successful_writes(sim.calls()).get('RegisterScalableTarget', 0) >= 1 or
             proc.poll() is not None, 30, 'the cart target')
    time.sleep(0.2)
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    time.sleep(1.6)
    sim.clear_faults()
    check(rid('cart') in c.aws()['targets'] and (rid('cart'), aws_name('cart', 'cpu')) in
          c.aws()['policies'], 'the killed run should have created the cart target and policy')
    c.remove('ecs/cart.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    expect_six(c)
    check(c.record('cart') is None, 'cart still has a record')


def created_once_or_adopted(c):
    """After a kill -9, an object may have been created by the killed run without trimtab
    hearing back: it then has no Created event, but never two."""
    seen = {}
    for n in SIX:
        for e in c.events(n, 'Created'):
            obj = e['message'].split(' (')[0]
            seen[(n, obj)] = seen.get((n, obj), 0) + e.get('count', 1)
    twice = {k: v for k, v in seen.items() if v > 1}
    check(not twice, 'objects created more than once', twice)


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def case_live(c):
    """A long-running `trimtab run` on a git-sync style checkout (a symlink to the current
    revision): manifest edits, new and deleted files and a symlink swap are noticed at once
    (edit -> first AWS call latencies printed), a resync corrects drift, SIGTERM exits 0."""
    sim = c.sim
    repo = os.path.join(c.tmp, 'repo')
    rev1 = os.path.join(repo, 'rev-1')
    os.makedirs(rev1)
    current = os.path.join(repo, 'current')
    os.symlink('rev-1', current)
    c.write('ecs/web.yaml', web(), root=rev1)
    c.write('ecs/worker.yaml', worker(), root=rev1)
    proc = c.start('--resync', '10m', source=current)

    def converged(name, gen):
        rec = c.record(name)
        if rec is None or rec['metadata']['generation'] != gen:
            return False
        for cond in rec['status'].get('conditions', []):
            if cond['type'] == 'Ready':
                return cond['status'] == 'True' and cond['observedGeneration'] == gen
        return False

    wait_for(lambda: converged('web', 1) and converged('worker', 1), 20, 'the first reconcile')
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})

    first_call, first_write = [], []

    def change(label, action, expect, timeout=10):
        """Runs action(), waits for expect(), returns the latencies to trimtab's first call
        and first write (from the simulator's call log)."""
        t0 = time.time()
        action()
        wait_for(expect, timeout, label)
        calls = sim.calls(since=t0)
        w = [x for x in calls if x['kind'] == 'write']
        check(w, '%s: no write call' % label)
        a, b = (calls[0]['time'] - t0) * 1000, (w[0]['time'] - t0) * 1000
        log('  %-34s first AWS call %6.1f ms, first write %6.1f ms' % (label, a, b))
        return a, b

    # Edits by rename (what editors and git do) and in place (truncate + write).
    for i, maxc in enumerate((11, 12, 13, 14, 15, 16)):
        gen = 2 + i

        def edit(maxc=maxc, i=i):
            text = web(max_capacity=maxc)
            if i % 2:
                with open(os.path.join(rev1, 'ecs', 'web.yaml'), 'w') as f:
                    f.write(text)
            else:
                c.write('ecs/web.yaml', text, root=rev1)
        a, b = change('edit %d (%s)' % (i + 1, 'in place' if i % 2 else 'rename'), edit,
                      lambda gen=gen: converged('web', gen))
        first_call.append(a)
        first_write.append(b)
        check(c.aws()['targets'][rid('web')]['MaxCapacity'] == maxc, 'max not %d' % maxc)
    gen_web = 7

    # A new file, then a deleted one (orphaned: no --prune).
    a, b = change('new manifest', lambda: c.write('ecs/api.yaml', simple('api'), root=rev1),
                  lambda: converged('api', 1))
    t0 = time.time()
    os.unlink(os.path.join(rev1, 'ecs', 'worker.yaml'))
    wait_for(lambda: (c.condition('worker') or {}).get('reason') == 'Orphaned', 10,
             'worker orphaned')
    log('  %-34s status Orphaned after %6.1f ms (no AWS call)' % ('deleted manifest',
                                                                  (time.time() - t0) * 1000))
    check(not writes(sim.calls(since=t0)), 'deleting a manifest without --prune wrote to AWS')
    check(rid('worker') in c.aws()['targets'], 'the orphaned target is gone')

    # git-sync: a new revision next to the old one, then the link swapped atomically.
    rev2 = os.path.join(repo, 'rev-2')
    shutil.copytree(rev1, rev2)
    c.write('ecs/web.yaml', web(max_capacity=20), root=rev2)
    c.write('ecs/batch.yaml', simple('batch'), root=rev2)
    c.write('ecs/worker.yaml', worker(), root=rev2)

    def swap():
        os.symlink('rev-2', os.path.join(repo, '.current-new'))
        os.rename(os.path.join(repo, '.current-new'), current)
    gen_web += 1
    change('symlink swap', swap, lambda: converged('web', gen_web) and converged('batch', 1) and
           (c.condition('worker') or {}).get('reason') == 'Converged')
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 20, 'swap not applied')
    shutil.rmtree(rev1)  # git-sync removes the old worktree
    gen_web += 1
    change('edit after the swap', lambda: c.write('ecs/web.yaml', web(max_capacity=9), root=rev2),
           lambda: converged('web', gen_web))
    expect_objects(c.aws(), {'web': dict(WEB, max=9), 'worker': WORKER,
                             'api': simple_expect('api'), 'batch': simple_expect('batch')})
    log('  edit -> first AWS call: p50 %.1f ms, max %.1f ms; -> first write: p50 %.1f ms, max '
        '%.1f ms (%d edits)' % (percentile(first_call, 0.5), max(first_call),
                                percentile(first_write, 0.5), max(first_write), len(first_call)))
    log('  (10 ms of that is --debounce; writes that wait ~170 ms wait for the client-side rate '
        'limit, %s requests/s per service once its burst is spent)'
        % (os.environ.get('TRIMTAB_AWS_RATE') or '20 (default)'))
    check(sorted(c.tree(repo)) == ['rev-2/ecs/%s.yaml' % n for n in
                                   ('api', 'batch', 'web', 'worker')],
          'the source directory was written to', sorted(c.tree(repo)))
    check(max(first_call) < 1000 * Config.scale(), 'an edit took over a second to reach AWS')

    rc, secs = stop(proc)
    check(rc == 0, 'SIGTERM: exit %s, expected 0' % rc)
    log('  SIGTERM while idle: exit 0 after %.0f ms' % (secs * 1000))
    with open(proc.log_path) as f:
        text = f.read()
    check('stopped cleanly' in text, 'no "stopped cleanly" in the log', text[-2000:])

    # SIGTERM with a write in flight: the call finishes (and is recorded), then exit 0.
    sim.fault(kind='latency', latencyMs=1500, service='application-autoscaling',
              operation='PutScalingPolicy')
    t0 = time.time()
    proc = c.start('--resync', '10m', source=current)
    wait_for(lambda: any(x['operation'] == 'DescribeServices' for x in sim.calls(since=t0)), 10,
             'the first reconcile after the restart')
    time.sleep(0.2 * Config.scale())
    n_updated = len(c.events('web', 'Updated'))
    t0 = time.time()
    c.write('ecs/web.yaml', web(max_capacity=9, tracking_=[
        tracking('cpu', target=65, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80)]), root=rev2)
    wait_for(lambda: any(x['operation'] == 'DescribeScalingPolicies'
                         for x in sim.calls(since=t0)), 10, 'the observe after the edit')
    time.sleep(0.3)  # PutScalingPolicy is in flight now
    rc, secs = stop(proc, grace=20)
    check(rc == 0, 'SIGTERM during a call: exit %s, expected 0' % rc)
    put = [x for x in sim.calls(since=t0) if x['operation'] == 'PutScalingPolicy']
    check(put and put[0]['status'] == 200, 'the in-flight PutScalingPolicy did not finish', put)
    check(len(c.events('web', 'Updated')) == n_updated + 1, 'the finished call has no event',
          c.events('web')[-3:])
    log('  SIGTERM with a 1.5 s call in flight: exit 0 after %.0f ms, the call finished'
        % (secs * 1000))

    # A call that outlives --shutdown-grace is cancelled; still exit 0, within the grace.
    sim.clear_faults()
    sim.fault(kind='latency', latencyMs=8000, service='application-autoscaling',
              operation='PutScalingPolicy')
    t0 = time.time()
    proc = c.start('--resync', '10m', '--shutdown-grace', '1s', source=current)
    wait_for(lambda: any(x['operation'] == 'DescribeServices' for x in sim.calls(since=t0)), 10,
             'the first reconcile after the restart')
    time.sleep(0.2 * Config.scale())
    t0 = time.time()
    c.write('ecs/web.yaml', web(max_capacity=9, tracking_=[
        tracking('cpu', target=60, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('memory', 'ECSServiceAverageMemoryUtilization', 80)]), root=rev2)
    wait_for(lambda: any(x['operation'] == 'DescribeScalingPolicies'
                         for x in sim.calls(since=t0)), 10, 'the observe after the edit')
    time.sleep(0.3)
    rc, secs = stop(proc, grace=10)
    check(rc == 0, 'SIGTERM past the grace: exit %s, expected 0' % rc)
    check(secs < 1.0 + 1.5 * Config.scale(), 'exit took %.1fs with --shutdown-grace 1s' % secs)
    with open(proc.log_path) as f:
        check('did not finish in time' in f.read(), 'no log line about cancelling')
    log('  SIGTERM with an 8 s call and --shutdown-grace 1s: exit 0 after %.0f ms' % (secs * 1000))
    sim.clear_faults()

    # --resync corrects drift without any file change.
    proc = c.start('--resync', '1s', source=current)
    wait_for(lambda: converged('web', c.record('web')['metadata']['generation']), 20,
             'web converged after the restart')
    aas = c.client('application-autoscaling')
    t0 = time.time()
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('batch'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=3)
    wait_for(lambda: any(x['operation'] == 'RegisterScalableTarget' and x['time'] > t0 + 0.001
                         for x in sim.calls(since=t0)[1:]), 10 + 3, 'the resync correcting drift')
    log('  drift corrected by --resync 1s after %.0f ms' % ((time.time() - t0) * 1000))
    wait_for(lambda: c.aws()['targets'][rid('batch')]['MaxCapacity'] == 4, 5, 'batch max 4')
    rc, secs = stop(proc)
    check(rc == 0, 'exit %s' % rc)


def table(text):
    """`trimtab status` as [{column: value}]."""
    lines = [l for l in text.splitlines() if l.strip()]
    check(lines, 'status printed nothing')
    header = lines[0]
    found = list(re.finditer(r'\S+', header))
    cols = [m.group() for m in found]
    starts = [m.start() for m in found]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, c in enumerate(cols):
            end = starts[i + 1] if i + 1 < len(cols) else len(line)
            row[c] = line[starts[i]:end].strip()
        rows.append(row)
    return cols, rows


def case_status_plan(c):
    """`trimtab status` (a table like kubectl get) and `trimtab plan` (text and --output json)
    show every kind of outcome; plan writes nothing, neither to AWS nor to the state directory."""
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('checkout'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=2)
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    c.write('ecs/legacy.yaml', simple('legacy', service='checkout'))
    c.write('ecs/batch.yaml', simple('batch', suspend=True))
    c.write('ecs/broken.yaml', BROKEN)
    c.write('rds/db.yaml', to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                                    'metadata': {'name': 'db', 'namespace': 'data'},
                                    'spec': {'target': {'rds': {'cluster': 'reporting'}},
                                             'minCapacity': 1, 'maxCapacity': 3}}))
    c.write('other/deployment.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n'
                                     '  name: web\nspec: {}\n')
    p, _ = c.run_once()
    check(p.returncode == 1, 'run --once exited %d, expected 1 (invalid and refused)'
          % p.returncode, describe(p))
    c.remove('ecs/worker.yaml')
    c.run_once()

    p = c.trimtab('status')
    check(p.returncode == 0, 'status exited %d' % p.returncode, describe(p))
    cols, rows = table(p.stdout)
    check(cols == ['KIND', 'NAMESPACE', 'NAME', 'READY', 'REASON', 'TARGET', 'SINCE'],
          'status columns', cols)
    got = {(r['NAMESPACE'], r['NAME']): (r['KIND'], r['READY'], r['REASON'], r['TARGET'])
           for r in rows}
    want = {('shop', 'web'): ('ScalingPolicy', 'True', 'Converged', 'ecs prod/web'),
            ('shop', 'worker'): ('ScalingPolicy', 'False', 'Orphaned', 'ecs prod/worker'),
            ('shop', 'legacy'): ('ScalingPolicy', 'False', 'AdoptionRefused', 'ecs prod/checkout'),
            ('shop', 'batch'): ('ScalingPolicy', 'False', 'Suspended', None),
            ('shop', 'broken'): ('ScalingPolicy', 'False', 'InvalidSpec', None),
            ('data', 'db'): ('ScalingPolicy', 'False', 'NotImplemented', None)}
    check(set(got) == set(want), 'status rows', sorted(got), sorted(want))
    for k, w in want.items():
        check(got[k][:3] == w[:3] and (w[3] is None or got[k][3] == w[3]),
              'status row %s/%s: %s, expected %s' % (k[0], k[1], got[k], w))
    check([(r['KIND'], r['NAMESPACE'], r['NAME']) for r in rows] ==
          sorted((r['KIND'], r['NAMESPACE'], r['NAME']) for r in rows), 'status rows unsorted')
    check(all(re.fullmatch(r'\d+[smhd]', r['SINCE']) for r in rows), 'SINCE column',
          [r['SINCE'] for r in rows])

    # plan: a change, a refusal and an invalid resource; nothing written anywhere.
    c.write('ecs/web.yaml', web(max_capacity=12))
    state_before = c.tree(c.state)
    records_before = {n: c.record(n) for n in ('web', 'legacy', 'broken')}
    p = c.plan(json_output=True, expect_rc=1)
    doc = p.doc
    keys = [r['key'] for r in doc['resources']]
    check(keys == sorted(keys), 'plan resources not sorted by key', keys)
    by = {r['key']: r for r in doc['resources']}
    check(set(by) == {'ScalingPolicy/shop/web', 'ScalingPolicy/shop/legacy',
                      'ScalingPolicy/shop/broken', 'ScalingPolicy/shop/worker'},
          'plan JSON should list the changed, the blocked, the invalid and the orphaned resource',
          keys)
    wk = by['ScalingPolicy/shop/worker']
    check(wk['blocked'] == 'Orphaned' and '--prune' in wk['message'] and wk['actions'] == [],
          'worker (manifest deleted) entry', wk)
    w = by['ScalingPolicy/shop/web']
    check(w['kind'] == 'ScalingPolicy' and w['namespace'] == 'shop' and w['name'] == 'web' and
          w['source'] == os.path.join(c.manifests, 'ecs/web.yaml') + ':1', 'plan entry header', w)
    check(len(w['actions']) == 1, 'web: one action expected', w['actions'])
    act = w['actions'][0]
    check(act['verb'] == 'update' and act['object'] == 'scalable target service/prod/web' and
          act['changes'] == [{'field': 'maxCapacity', 'old': 10, 'new': 12}] and
          act['call'] == {'service': 'application-autoscaling',
                          'operation': 'RegisterScalableTarget', 'region': REGION,
                          'input': {'ServiceNamespace': 'ecs', 'ResourceId': rid('web'),
                                    'ScalableDimension': TARGET_DIM, 'MinCapacity': 2,
                                    'MaxCapacity': 12}}, 'web action', act)
    lg = by['ScalingPolicy/shop/legacy']
    check(lg['blocked'] == 'AdoptionRefused' and 'spec.adopt' in lg['message'] and
          lg['actions'] == [], 'legacy entry', lg)
    br = by['ScalingPolicy/shop/broken']
    check(br['blocked'] == 'InvalidSpec' and br.get('invalid') is True and
          'broken.yaml:16: spec.targetTracking[0].targetValue' in br['message'], 'broken entry',
          br)
    check(doc['summary'] == {'create': 0, 'update': 1, 'delete': 0, 'changed': 1, 'inSync': 0,
                             'blocked': 2, 'invalidOrFailed': 1}, 'plan summary', doc['summary'])
    p = c.plan(expect_rc=1)
    for needle in ('ScalingPolicy/shop/web  (%s:1)' % os.path.join(c.manifests, 'ecs/web.yaml'),
                   '  ~ update scalable target service/prod/web\n      maxCapacity: 10 → 12',
                   '! ScalingPolicy/shop/legacy: AdoptionRefused: ',
                   '! ScalingPolicy/shop/broken: InvalidSpec: ',
                   '! ScalingPolicy/shop/worker: Orphaned: ',
                   'Plan: 0 to create, 1 to update, 0 to delete, in 1 resource; 0 in sync, '
                   '2 blocked, 1 invalid or failed.'):
        check(needle in p.stdout, 'plan text lacks %r' % needle, p.stdout)
    check(c.tree(c.state) == state_before and
          all(c.record(n) == r for n, r in records_before.items()),
          'plan wrote to the state directory')
    # Without a state directory plan still works, and does not create one.
    nowhere = os.path.join(c.tmp, 'no-state')
    c.sim.reset_calls()
    p = c.trimtab('plan', '--output', 'json', '--state-dir', nowhere, state=False)
    check(p.returncode == 1 and not os.path.exists(nowhere), 'plan created a state directory',
          describe(p))
    check(not writes(c.sim.calls()), 'plan wrote to AWS')
    # After applying, plan is clean for web.
    c.remove('ecs/broken.yaml')
    c.remove('ecs/legacy.yaml')
    c.remove('rds/db.yaml')
    c.run_once('--prune')
    p = c.plan(json_output=True, expect_rc=0)
    check(p.doc['summary']['inSync'] == 1 and p.doc['summary']['changed'] == 0,
          'plan after apply', p.doc['summary'])


def case_status_readonly(c):
    """`trimtab status` only reads: pointed at a state directory that does not exist (a typo,
    or before the first run) it says there are no resources and creates nothing."""
    c.write('ecs/web.yaml', web())
    c.run_once(expect_rc=0)
    nowhere = os.path.join(c.tmp, 'nowhere')
    p = c.trimtab('status', '--state-dir', nowhere, state=False)
    check(p.returncode == 0 and 'no resources' in p.stdout + p.stderr, 'status of a missing '
          'state directory', describe(p))
    check(not os.path.exists(nowhere), 'trimtab status created the state directory %s' % nowhere,
          sorted(c.tree(nowhere)) + [d for d, _, _ in os.walk(nowhere)])
    before = c.tree(c.state)
    p = c.trimtab('status')
    check(p.returncode == 0 and c.tree(c.state) == before, 'status wrote to the state directory')


def case_retarget(c):
    """spec.target moved to another ECS service: the new service gets the scalable target, the
    policies and the scheduled actions; nothing trimtab made is left on the old service."""
    setup_web_worker(c)
    c.write('ecs/web.yaml', web(service='api'))
    p = c.plan(expect_rc=2, json_output=True)
    verbs = sorted(plan_changes(p.doc, 'ScalingPolicy/shop/web'))
    check(('create', 'scalable target service/prod/api') in verbs and
          ('create', 'scaling policy trimtab-shop-web-cpu') in verbs, 'plan of the move', verbs)
    p, calls = c.run_once(expect_rc=0)
    aws = c.aws()
    on_api = sorted(n for r, n in list(aws['policies']) + list(aws['scheduled'])
                    if r == rid('api'))
    check(on_api == sorted(WEB['policies'] + WEB['scheduled']),
          'the new service lacks policies or scheduled actions', on_api)
    arns = c.record('web')['status']['policyArns']
    check(all('/service/prod/api:' in a for a in arns.values()), 'policyArns still point at the '
          'old service', arns)
    left = sorted(n for r, n in list(aws['policies']) + list(aws['scheduled'])
                  if r == rid('web'))
    check(rid('web') not in aws['targets'] and not left,
          'the old service keeps what trimtab made for it (target registered: %s; %s)'
          % (rid('web') in aws['targets'], left))
    expect_objects(aws, {'api': WEB, 'worker': WORKER})
    c.plan(expect_rc=0)


def case_requested(c):
    """The annotation trimtab.dev/reconcile-requested-at: a new value makes a running trimtab
    reconcile the resource at once (drift fixed long before the resync), and only that one."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    proc = c.start('--resync', '1h')

    def ready(name):
        rec = c.record(name)
        return rec is not None and any(x['type'] == 'Ready' and x['status'] == 'True'
                                       for x in rec['status'].get('conditions', []))
    wait_for(lambda: ready('web') and ready('worker'), 20, 'the first reconcile')
    aas = c.client('application-autoscaling')
    for name in ('web', 'worker'):
        aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid(name),
                                     ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=3)
    time.sleep(1.0)
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 3,
          'drift was corrected without a resync or a request')
    c.sim.reset_calls()
    t0 = time.time()
    asked = {'trimtab.dev/reconcile-requested-at': '2026-11-24T05:00:00Z'}
    c.write('ecs/web.yaml', web(annotations=asked))
    wait_for(lambda: c.aws()['targets'][rid('web')]['MaxCapacity'] == 10, 10,
             'the requested reconcile of web')
    w = writes(c.sim.calls())
    check(w and all(x['operation'] == 'RegisterScalableTarget' for x in w), 'unexpected writes',
          w)
    log('  reconcile-requested-at -> first write %.1f ms' % ((w[0]['time'] - t0) * 1000))
    check(c.aws()['targets'][rid('worker')]['MaxCapacity'] == 3,
          'worker was reconciled too, though only web was asked for')
    # The same value again (a rewrite of the file) asks for nothing.
    c.sim.reset_calls()
    c.write('ecs/web.yaml', web(annotations=asked))
    time.sleep(0.5)
    check(not c.sim.calls(), 'an unchanged annotation caused AWS calls', c.sim.calls())
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)


def case_batching(c):
    """Observe reads are batched by what the APIs share: 200 services in 20 clusters, written
    so that directory order interleaves the clusters, are observed cluster by cluster — on the
    first listing of `run --once` and on a running operator's resync alike."""
    clusters, per = 20, 10
    c.sim.control('POST', '/_awssim/fixtures', {'region': REGION, 'ecs': {'clusters': [
        {'name': 'k%02d' % k, 'services': [{'name': 's%02d-%02d' % (k, i), 'desiredCount': 1}
                                          for i in range(per)]} for k in range(clusters)]}})
    for i in range(per):
        for k in range(clusters):
            name = 's%02d-%02d' % (k, i)
            c.write('%03d-%s.yaml' % (i * clusters + k, name),
                    simple(name, cluster='k%02d' % k))
    # Creating 200 targets and policies: past the 20 requests/s meant for real AWS.
    p, calls = c.run_once('--aws-rate', '0', expect_rc=0)
    p, calls = c.run_once('--aws-rate', '0', expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    n = {op: sum(1 for x in calls if x['operation'] == op) for op in
         ('DescribeServices', 'DescribeScalableTargets', 'DescribeScalingPolicies')}
    log('  no-op run --once of 200: %s' % n)
    # The floor: 20 DescribeServices (10 of one cluster each), 4 DescribeScalableTargets
    # (50 ids), 20 DescribeScalingPolicies (10 a page). Scattered batches take ~40 + 4 + 20.
    check(n['DescribeServices'] <= 22, 'DescribeServices was not filled cluster by cluster', n)
    check(n['DescribeScalableTargets'] <= 5 and n['DescribeScalingPolicies'] <= 22,
          'Application Auto Scaling reads were not batched', n)

    # A running operator's resync: waves of 50 keys, one second apart (4 waves in 4 s), each
    # five whole clusters: five DescribeServices for every DescribeScalableTargets (50 ids).
    # Waves cut by kind and hash alone would span ~18 clusters each.
    proc = c.start('--resync', '4s', '--aws-rate', '0')
    wait_for(lambda: len(c.sim.calls(operation='DescribeServices')) >= 20, 30,
             'the start-up reconcile')
    c.sim.reset_calls()
    time.sleep(8.0)  # the first resync starts 4 s after start-up: its waves come at 4-7 s
    calls = c.sim.calls()
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)
    check(not writes(calls), 'the resync wrote', ops(calls, 'write'))
    ds = sum(1 for x in calls if x['operation'] == 'DescribeServices')
    dst = sum(1 for x in calls if x['operation'] == 'DescribeScalableTargets')
    log('  one resync period: %d DescribeServices, %d DescribeScalableTargets' % (ds, dst))
    check(dst >= 2, 'fewer than two resync waves in one period', ops(calls))
    check(ds <= 6 * dst, 'resync waves were not grouped by cluster: %d DescribeServices for %d '
          'waves' % (ds, dst))


CASES = {
    'create_noop': case_create_noop,
    'drift': case_drift,
    'spec_change': case_spec_change,
    'retarget': case_retarget,
    'prune': case_prune,
    'adoption': case_adoption,
    'observe': case_observe,
    'invalid': case_invalid,
    'faults': case_faults,
    'kill9': case_kill9,
    'live': case_live,
    'status_plan': case_status_plan,
    'status_readonly': case_status_readonly,
    'requested': case_requested,
    'batching': case_batching,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
