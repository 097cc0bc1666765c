#!/usr/bin/env python3
"""ScalingPolicies on ECS services end to end, in directory mode against awssim (SPEC §2-§4):
create, no-op, drift, spec changes, retargeting, prune, adoption, Observe mode, batching.

Usage: test_ecs.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

Every case starts its own simulator, writes manifests into its own temporary directory and runs
the real binary; it then checks the simulator's call log, the state records and events.jsonl,
and AWS itself (read back with boto3). e2e.py has the harness and the shared manifests.
"""

import json
import os
import re
import sys
import time

from e2e import (OWNER_TAG, REGION, TARGET_DIM, WEB, WORKER, aws_name, check, describe,
                 expect_objects, expect_ready, log, main, ops, plan_changes, reads, rid,
                 scaling_policy, scheduled, setup_web_worker, simple, simple_expect, step_policy,
                 stop, tracking, wait_for, web, worker, writes)


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


def case_models(c):
    """The AWS models the resources need are loaded before the first reconcile (so their
    long-lived allocations sit together), and only those."""
    c.write('ecs/api.yaml', simple('api'))
    p, _ = c.run_once('--log-level', 'debug', expect_rc=0)
    lines = p.stderr.splitlines()
    loaded = [i for i, x in enumerate(lines) if 'aws: the ' in x and ' model is loaded' in x]
    names = sorted(lines[i].split('aws: the ', 1)[1].split(' model', 1)[0] for i in loaded)
    check(names == ['application-autoscaling', 'ecs'], 'unexpected models loaded', names)
    first_call = next((i for i, x in enumerate(lines) if 'job waiting -> observing' in x), None)
    check(first_call is not None and all(i < first_call for i in loaded),
          'a model was loaded after the first reconcile began', lines[:40])


CASES = {
    'create_noop': case_create_noop,
    'models': case_models,
    'drift': case_drift,
    'spec_change': case_spec_change,
    'retarget': case_retarget,
    'prune': case_prune,
    'adoption': case_adoption,
    'observe': case_observe,
    'batching': case_batching,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
