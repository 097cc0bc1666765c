#!/usr/bin/env python3
"""Alarms (CloudWatch metric and composite alarms) end to end, in directory mode against awssim
(SPEC §2 Alarm, §4, §8): create, no-op, drift, spec changes, prune, adoption, Observe mode, an
invalid manifest, faults, kill -9, the Alarm → step policy chain, composites, examples/alarms.

Usage: test_alarm.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

As in test_ecs.py, every case has its own simulator and directories; what trimtab did is read
back from the simulator's call log, the state records and events, and CloudWatch through boto3.
"""

import os
import re
import shutil
import sys
import time

from e2e import (NS, Config, OWNER_TAG, REGION, aws_name, check, describe, kill_when, log, main,
                 ops, reads, run_under_faults, scaling_policy, step_policy, successful_writes,
                 to_yaml, wait_for, writes)

TOPIC = 'arn:aws:sns:%s:123456789012:shop-oncall' % REGION


def alarm(name, ns=NS, **spec):
    """An Alarm manifest (YAML text)."""
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'Alarm',
                    'metadata': {'name': name, 'namespace': ns}, 'spec': spec})


def cpu(name='web-cpu', service='web', threshold=85, **kw):
    spec = dict(target={'ecs': {'cluster': 'prod', 'service': service}},
                metricName='CPUUtilization', period=60, evaluationPeriods=5, datapointsToAlarm=3,
                threshold=threshold, comparison='GreaterThanThreshold',
                actions={'alarm': [{'snsTopicArn': TOPIC}]})
    spec.update(kw)
    return alarm(name, **spec)


def memory(**kw):
    return cpu('web-memory', metricName='MemoryUtilization', threshold=90, **kw)


def db(**kw):
    spec = dict(target={'rds': {'instance': 'orders-db'}}, metricName='DatabaseConnections',
                statistic='Maximum', period='5m', evaluationPeriods=3, threshold=180,
                comparison='GreaterThanOrEqualToThreshold',
                actions={'alarm': [{'snsTopicArn': TOPIC}], 'ok': [{'snsTopicArn': TOPIC}]})
    spec.update(kw)
    return alarm('orders-db-connections', **spec)


def latency(**kw):
    spec = dict(target={'lambda': {'function': 'checkout-api', 'alias': 'live'}},
                metricName='Duration', extendedStatistic='p95', evaluationPeriods=5,
                datapointsToAlarm=3, threshold=800, comparison='GreaterThanThreshold',
                unit='Milliseconds', treatMissingData='notBreaching')
    spec.update(kw)
    return alarm('checkout-p95', **spec)


def saturated(**kw):
    spec = dict(composite={'rule': 'ALARM(web-cpu) AND ALARM(web-memory)'},
                description='web is out of CPU and memory headroom',
                actions={'alarm': [{'snsTopicArn': TOPIC}]})
    spec.update(kw)
    return alarm('web-saturated', **spec)


FOUR = ['web-cpu', 'web-memory', 'orders-db-connections', 'checkout-p95']


def write_all(c):
    c.write('alarms/web-cpu.yaml', cpu())
    c.write('alarms/web-memory.yaml', memory())
    c.write('alarms/db.yaml', db())
    c.write('alarms/latency.yaml', latency())
    c.write('alarms/saturated.yaml', saturated())


def alarms(c, region=REGION):
    """{name: alarm (with 'Type' and 'Tags')} of everything CloudWatch holds, read with boto3."""
    cw = c.sim.client('cloudwatch', region=region)
    out = {}
    for page in cw.get_paginator('describe_alarms').paginate(
            AlarmTypes=['MetricAlarm', 'CompositeAlarm']):
        for t, key in (('metric', 'MetricAlarms'), ('composite', 'CompositeAlarms')):
            for a in page.get(key, []):
                check(a['AlarmName'] not in out, 'alarm %s listed twice' % a['AlarmName'])
                a = dict(a, Type=t)
                a['Tags'] = {x['Key']: x['Value'] for x in
                             cw.list_tags_for_resource(ResourceARN=a['AlarmArn'])['Tags']}
                out[a['AlarmName']] = a
    return out


def expect_alarms(c, names, region=REGION):
    """CloudWatch holds exactly trimtab's alarms for `names`, each tagged with its owner."""
    have = alarms(c, region)
    want = {aws_name(n): n for n in names}
    check(set(have) == set(want), 'alarms differ', 'AWS: %s' % sorted(have),
          'expected: %s' % sorted(want))
    for aws, n in want.items():
        check(have[aws]['Tags'].get(OWNER_TAG) == '%s/%s' % (NS, n),
              '%s: owner tag %r' % (aws, have[aws]['Tags'].get(OWNER_TAG)))
    return have


def expect_ready(c, *names):
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged', kind='Alarm')
        c.expect_condition(n, 'Synced', 'True', kind='Alarm')


def noop(c, n_alarms):
    """A no-op run: zero writes, DescribeAlarms at the floor (100 names a call)."""
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    floor = -(-n_alarms // 100)
    check(ops(calls, 'read') == ['DescribeAlarms'] * floor,
          'the no-op run read %s, expected %d DescribeAlarms' % (ops(calls, 'read'), floor))
    return p


def put_by_hand(c, name, **changes):
    """Rewrites an alarm through boto3 as a console user would: same fields but `changes`."""
    cw = c.client('cloudwatch')
    a = cw.describe_alarms(AlarmNames=[name])['MetricAlarms'][0]
    keys = ['AlarmName', 'AlarmDescription', 'ActionsEnabled', 'OKActions', 'AlarmActions',
            'InsufficientDataActions', 'MetricName', 'Namespace', 'Statistic', 'ExtendedStatistic',
            'Dimensions', 'Period', 'Unit', 'EvaluationPeriods', 'DatapointsToAlarm', 'Threshold',
            'ComparisonOperator', 'TreatMissingData']
    args = {k: a[k] for k in keys if k in a}
    args.update(changes)
    cw.put_metric_alarm(**args)


# ---- cases ---------------------------------------------------------------------------------

def case_alarm_create_noop(c):
    """Four metric alarms (ECS, RDS, Lambda p95) and a composite over two of them; then a no-op
    run makes zero writes and one DescribeAlarms; the alarm's state reaches the status."""
    write_all(c)
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(sorted(w) == sorted(['PutMetricAlarm'] * 4 + ['PutCompositeAlarm']),
          'unexpected writes for the creation', w)
    check(w[-1] == 'PutCompositeAlarm', 'the composite was not created after its children', w)
    have = expect_alarms(c, FOUR + ['web-saturated'])
    a = have[aws_name('web-cpu')]
    check(a['Namespace'] == 'AWS/ECS' and sorted((d['Name'], d['Value']) for d in a['Dimensions'])
          == [('ClusterName', 'prod'), ('ServiceName', 'web')] and a['Threshold'] == 85 and
          a['DatapointsToAlarm'] == 3 and a['AlarmActions'] == [TOPIC], 'web-cpu wrong', a)
    a = have[aws_name('checkout-p95')]
    check(a['ExtendedStatistic'] == 'p95' and 'Statistic' not in a and a['Unit'] == 'Milliseconds'
          and {(d['Name'], d['Value']) for d in a['Dimensions']} ==
          {('FunctionName', 'checkout-api'), ('Resource', 'checkout-api:live')},
          'checkout-p95 wrong', a)
    a = have[aws_name('orders-db-connections')]
    check(a['Period'] == 300 and a['Dimensions'] == [{'Name': 'DBInstanceIdentifier',
                                                     'Value': 'orders-db'}], 'db alarm wrong', a)
    a = have[aws_name('web-saturated')]
    check(a['Type'] == 'composite' and a['AlarmRule'] ==
          'ALARM(%s) AND ALARM(%s)' % (aws_name('web-cpu'), aws_name('web-memory')),
          'composite rule not rewritten to AWS names', a)
    expect_ready(c, *(FOUR + ['web-saturated']))
    st = c.record('web-cpu', kind='Alarm')['status']
    check(st.get('state') == 'INSUFFICIENT_DATA' and st.get('alarmArn', '').endswith(
        ':alarm:' + aws_name('web-cpu')) and st.get('stateUpdatedTime'), 'status wrong', st)
    noop(c, 5)
    # The state follows the alarm (set as its metric would through the control API).
    c.sim.control('POST', 'alarms/state', {'alarm': aws_name('web-cpu'), 'state': 'ALARM',
                                          'reason': 'CPU above 85', 'region': REGION})
    p, calls = c.run_once(expect_rc=0)
    # The status changed, so the composite that names web-cpu is looked at again: one more read.
    check(not writes(calls) and ops(calls, 'read') == ['DescribeAlarms'] * 2,
          'after a state change: %s' % ops(calls))
    st = c.record('web-cpu', kind='Alarm')['status']
    check(st.get('state') == 'ALARM' and st.get('stateReason') == 'CPU above 85',
          'the ALARM state did not reach the status', st)
    # A CloudFront alarm lives in us-east-1 whatever the operator's region.
    c.write('alarms/cdn.yaml', alarm('cdn-errors', target={'cloudfront': {
        'distributionId': 'E2QWRUHAPOMQZL'}}, metricName='5xxErrorRate', threshold=5,
        comparison='GreaterThanThreshold'))
    p, calls = c.run_once(expect_rc=0)
    check([(x['operation'], x['region']) for x in calls if x['kind'] == 'write'] ==
          [('PutMetricAlarm', 'us-east-1')], 'the CloudFront alarm was not created in us-east-1',
          calls)
    a = alarms(c, 'us-east-1')[aws_name('cdn-errors')]
    check({(d['Name'], d['Value']) for d in a['Dimensions']} ==
          {('DistributionId', 'E2QWRUHAPOMQZL'), ('Region', 'Global')}, 'cdn alarm wrong', a)
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))


def case_alarm_drift(c):
    """Changes made by hand in CloudWatch are put back with one write; then nothing."""
    write_all(c)
    c.run_once(expect_rc=0)
    put_by_hand(c, aws_name('web-cpu'), Threshold=99.0, OKActions=[TOPIC])
    put_by_hand(c, aws_name('checkout-p95'), TreatMissingData='breaching')
    cw = c.client('cloudwatch')
    cw.put_composite_alarm(AlarmName=aws_name('web-saturated'),
                           AlarmRule='ALARM(%s)' % aws_name('web-cpu'))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['PutCompositeAlarm', 'PutMetricAlarm', 'PutMetricAlarm'],
          'drift correction wrote %s' % ops(calls, 'write'))
    have = expect_alarms(c, FOUR + ['web-saturated'])
    a = have[aws_name('web-cpu')]
    check(a['Threshold'] == 85 and a['OKActions'] == [], 'web-cpu not put back', a)
    check(have[aws_name('checkout-p95')]['TreatMissingData'] == 'notBreaching',
          'checkout-p95 not put back')
    check('AND' in have[aws_name('web-saturated')]['AlarmRule'], 'composite rule not put back')
    ev = c.events('web-cpu', 'Updated', kind='Alarm')
    check(ev and 'threshold 99' in ev[-1]['message'], 'no Updated event naming the threshold', ev)
    noop(c, 5)


def case_alarm_spec_change(c):
    """A changed manifest is one Put; a statistic becomes a percentile; nothing else moves."""
    write_all(c)
    c.run_once(expect_rc=0)
    c.write('alarms/web-cpu.yaml', cpu(threshold=75, evaluationPeriods=10))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutMetricAlarm'], 'spec change wrote %s'
          % ops(calls, 'write'))
    a = alarms(c)[aws_name('web-cpu')]
    check(a['Threshold'] == 75 and a['EvaluationPeriods'] == 10, 'spec change not applied', a)
    c.write('alarms/web-memory.yaml', memory(extendedStatistic='p99'))
    p, calls = c.run_once(expect_rc=0)
    a = alarms(c)[aws_name('web-memory')]
    check(a.get('ExtendedStatistic') == 'p99' and 'Statistic' not in a,
          'statistic → extendedStatistic not applied', a)
    rec = c.record('web-cpu', kind='Alarm')
    check(rec['metadata']['generation'] == 2, 'generation not bumped', rec['metadata'])
    noop(c, 5)


def case_alarm_prune(c):
    """Without --prune a deleted manifest orphans its alarm; with it the alarm goes. A composite
    and its children removed together are deleted composite first; Retain keeps the alarm."""
    write_all(c)
    c.run_once(expect_rc=0)
    c.remove('alarms/db.yaml')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'run without --prune wrote', ops(calls, 'write'))
    c.expect_condition('orders-db-connections', 'Ready', 'False', 'Orphaned', kind='Alarm')
    check(aws_name('orders-db-connections') in alarms(c), 'orphaned alarm was deleted')
    c.write('alarms/db.yaml', db())
    c.run_once(expect_rc=0)
    c.remove('alarms/db.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(ops(calls, 'write') == ['DeleteAlarms'], '--prune wrote %s' % ops(calls, 'write'))
    check(c.record('orders-db-connections', kind='Alarm') is None, 'pruned record kept')
    # The composite and both its children at once: AWS refuses to delete a child first.
    for f in ('web-cpu', 'web-memory', 'saturated'):
        c.remove('alarms/%s.yaml' % f)
    p, calls = c.run_once('--prune', expect_rc=0)
    # The composite goes alone, first; then its two children, re-queued together when it is
    # gone, share one DeleteAlarms.
    dels = [x for x in calls if x['operation'] == 'DeleteAlarms']
    check(len(dels) == 2 and all(x['status'] == 200 for x in dels),
          'deleting a composite with its children: %s' % [(x['operation'], x['status'], x['code'])
                                                          for x in dels])
    expect_alarms(c, ['checkout-p95'])
    # deletionPolicy: Retain.
    c.write('alarms/latency.yaml', latency(deletionPolicy='Retain'))
    c.run_once(expect_rc=0)
    c.remove('alarms/latency.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(not writes(calls), 'Retain wrote', ops(calls, 'write'))
    check(aws_name('checkout-p95') in alarms(c), 'Retain deleted the alarm')


def case_alarm_prune_merged(c):
    """Pruning many alarms costs one DeleteAlarms per 100 names, not one per alarm; when AWS
    refuses a merged call, each alarm is deleted alone, so one bad name fails only its own
    resource."""
    n = 120
    for i in range(n):
        c.write('alarms/a%03d.yaml' % i, cpu('a%03d' % i, service='svc-%d' % (i % 7)))
    c.run_once(expect_rc=0)
    check(len(alarms(c)) == n, 'alarms created', len(alarms(c)))
    shutil.rmtree(os.path.join(c.manifests, 'alarms'))
    p, calls = c.run_once('--prune', expect_rc=0)
    dels = [x for x in calls if x['operation'] == 'DeleteAlarms']
    describes = [x for x in calls if x['operation'] == 'DescribeAlarms']
    log('  %d alarms pruned with %d DeleteAlarms calls (%d DescribeAlarms)'
        % (n, len(dels), len(describes)))
    # The deletes of one observe batch (up to 100 alarms, read in one DescribeAlarms) share a
    # call; how the engine's batch window cut the 120 depends on the machine's speed.
    check(all(x['status'] == 200 for x in dels), 'a DeleteAlarms failed',
          [(x['status'], x['code']) for x in dels])
    check(2 <= len(dels) <= len(describes), '%d alarms in %d DeleteAlarms after %d '
          'DescribeAlarms' % (n, len(dels), len(describes)))
    check(alarms(c) == {}, 'alarms left after --prune', sorted(alarms(c))[:5])

    for i in range(5):
        c.write('alarms/b%d.yaml' % i, cpu('b%d' % i))
    c.run_once(expect_rc=0)
    shutil.rmtree(os.path.join(c.manifests, 'alarms'))
    c.sim.fault(kind='error', status=400, code='ValidationError', service='monitoring',
                operation='DeleteAlarms', count=1)
    p, calls = c.run_once('--prune', expect_rc=0)
    dels = [(x['status'], x['code']) for x in calls if x['operation'] == 'DeleteAlarms']
    check(dels == [(400, 'ValidationError')] + [(200, None)] * 5,
          'a refused merged call, then each alarm alone', dels)
    check(alarms(c) == {}, 'alarms left after the refused merged call', sorted(alarms(c)))


def case_alarm_adoption(c):
    """An alarm of the same name made outside trimtab is refused, then adopted with adopt: true;
    one owned by another trimtab resource is never taken."""
    cw = c.client('cloudwatch')
    cw.put_metric_alarm(AlarmName=aws_name('web-cpu'), Namespace='AWS/ECS',
                        MetricName='CPUUtilization', Statistic='Average', Period=60,
                        EvaluationPeriods=1, Threshold=50, ComparisonOperator='GreaterThanThreshold')
    cw.put_metric_alarm(AlarmName=aws_name('web-memory'), Namespace='AWS/ECS',
                        MetricName='MemoryUtilization', Statistic='Average', Period=60,
                        EvaluationPeriods=1, Threshold=50, ComparisonOperator='GreaterThanThreshold',
                        Tags=[{'Key': OWNER_TAG, 'Value': 'other/thing'}])
    c.write('alarms/web-cpu.yaml', cpu())
    c.write('alarms/web-memory.yaml', memory())
    p, calls = c.run_once()
    check(not writes(calls), 'refused adoption wrote', ops(calls, 'write'))
    cond = c.expect_condition('web-cpu', 'Ready', 'False', 'AdoptionRefused', kind='Alarm')
    check('adopt: true' in cond['message'], 'AdoptionRefused does not say what to do', cond)
    c.expect_condition('web-memory', 'Ready', 'False', 'ConflictingOwner', kind='Alarm')
    check(alarms(c)[aws_name('web-cpu')]['Threshold'] == 50, 'refused alarm changed')
    c.write('alarms/web-cpu.yaml', cpu(adopt=True))
    c.write('alarms/web-memory.yaml', memory(adopt=True))
    p, calls = c.run_once()
    check(sorted(ops(calls, 'write')) == ['PutMetricAlarm', 'TagResource'],
          'adoption wrote %s' % ops(calls, 'write'))
    expect_ready(c, 'web-cpu')
    c.expect_condition('web-memory', 'Ready', 'False', 'ConflictingOwner', kind='Alarm')
    a = alarms(c)
    check(a[aws_name('web-cpu')]['Tags'].get(OWNER_TAG) == 'shop/web-cpu' and
          a[aws_name('web-cpu')]['Threshold'] == 85, 'adopted alarm not tagged and converged',
          a[aws_name('web-cpu')])
    check(a[aws_name('web-memory')]['Tags'].get(OWNER_TAG) == 'other/thing',
          'another owner\'s alarm was taken')
    # Owned now (memo): no tag read, no write.
    c.remove('alarms/web-memory.yaml')
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls) == ['DescribeAlarms'], 'owned alarm: %s' % ops(calls))


def case_alarm_observe(c):
    """Observe mode reads and reports drift, never writes."""
    c.write('alarms/web-cpu.yaml', cpu(mode='Observe'))
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    c.expect_condition('web-cpu', 'Drifted', 'True', 'DriftDetected', kind='Alarm')
    check(aws_name('web-cpu') not in alarms(c), 'Observe mode created the alarm')
    c.write('alarms/web-cpu.yaml', cpu())
    c.run_once(expect_rc=0)
    put_by_hand(c, aws_name('web-cpu'), Threshold=99.0)
    c.write('alarms/web-cpu.yaml', cpu(mode='Observe'))
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    cond = c.expect_condition('web-cpu', 'Drifted', 'True', 'DriftDetected', kind='Alarm')
    check('threshold' in cond['message'], 'drift message does not name the field', cond)
    check(alarms(c)[aws_name('web-cpu')]['Threshold'] == 99, 'Observe mode corrected drift')
    # suspend: nothing read, nothing written.
    c.write('alarms/web-cpu.yaml', cpu(suspend=True))
    p, calls = c.run_once()
    check(not calls, 'a suspended alarm made calls', ops(calls))
    c.expect_condition('web-cpu', 'Ready', 'False', 'Suspended', kind='Alarm')


def case_alarm_invalid(c):
    """An invalid Alarm beside valid ones: InvalidSpec with file, line and field; the others
    converge."""
    c.write('alarms/web-cpu.yaml', cpu())
    c.write('alarms/bad.yaml', alarm('bad', target={'ecs': {'cluster': 'prod', 'service': 'web'}},
                                     metricName='CPUUtilization', threshold='lots',
                                     comparison='GreaterThanThreshold'))
    c.write('alarms/bad-composite.yaml', alarm('bad-composite', composite={
        'rule': 'ALARM(web-cpu) AND'}, threshold=3))
    p, calls = c.run_once()
    check(p.returncode == 1, 'run with an invalid manifest exited %d' % p.returncode, describe(p))
    expect_ready(c, 'web-cpu')
    cond = c.expect_condition('bad', 'Ready', 'False', 'InvalidSpec', kind='Alarm')
    check('bad.yaml:' in cond['message'] and 'threshold' in cond['message'],
          'InvalidSpec does not name file, line and field', cond)
    cond = c.expect_condition('bad-composite', 'Ready', 'False', 'InvalidSpec', kind='Alarm')
    check('rule' in cond['message'], 'the bad rule is not named', cond)
    p = c.trimtab('validate', c.manifests)
    check(p.returncode != 0 and 'bad.yaml:' in p.stdout + p.stderr, 'validate missed bad.yaml',
          describe(p))
    expect_alarms(c, ['web-cpu'])


def case_alarm_faults(c):
    """Throttling, 5xx and resets on every CloudWatch call: converges, creates nothing twice."""
    write_all(c)
    sim = c.sim
    faults = [sim.fault(kind='throttle', service='monitoring', operation='DescribeAlarms', count=2),
              sim.fault(kind='error', status=500, service='monitoring', operation='PutMetricAlarm',
                        count=2),
              sim.fault(kind='reset', service='monitoring', operation='PutCompositeAlarm',
                        count=1),
              sim.fault(kind='error', status=503, code='ServiceUnavailable', service='monitoring',
                        operation='PutMetricAlarm', count=1)]
    p, calls = run_under_faults(c, faults)
    check(successful_writes(calls) == {'PutMetricAlarm': 4, 'PutCompositeAlarm': 1},
          'successful writes under faults: %s' % successful_writes(calls))
    expect_alarms(c, FOUR + ['web-saturated'])
    expect_ready(c, *(FOUR + ['web-saturated']))
    sim.clear_faults()
    noop(c, 5)
    # Throttled beyond the retries: AwsThrottled, then converges once it clears.
    c.write('alarms/web-cpu.yaml', cpu(threshold=70))
    sim.fault(kind='throttle', service='monitoring', operation='PutMetricAlarm')
    p, calls = c.run_once(timeout=120, env=c.env(AWS_MAX_ATTEMPTS='1'))
    check(p.returncode == 1, 'persistent throttle exited %d' % p.returncode, describe(p))
    c.expect_condition('web-cpu', 'Ready', 'False', 'AwsThrottled', kind='Alarm')
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutMetricAlarm'], 'after the throttle: %s'
          % ops(calls, 'write'))
    expect_ready(c, 'web-cpu')


def case_alarm_kill9(c):
    """kill -9 in the middle of creating alarms, then a restart: converges, nothing twice."""
    for i in range(8):
        c.write('alarms/a%d.yaml' % i, cpu('a%d' % i, threshold=50 + i))
    c.write('alarms/saturated.yaml', saturated(composite={'rule': 'ALARM(a0) AND ALARM(a1)'}))
    sim = c.sim
    sim.fault(kind='latency', latencyMs=300, service='monitoring', operation='PutMetricAlarm')
    sim.reset_calls()
    proc = c.start('--once', '--concurrency', '2')
    kill_when(proc, lambda: successful_writes(sim.calls()).get('PutMetricAlarm', 0) >= 2,
              'two alarms before the kill')
    done = successful_writes(sim.calls())
    log('  killed after %s' % done)
    time.sleep(0.7)  # calls the dead process had in flight complete in AWS all the same
    sim.clear_faults()
    before = set(alarms(c))
    p, calls = c.run_once(expect_rc=0)
    names = ['a%d' % i for i in range(8)] + ['web-saturated']
    expect_alarms(c, names)
    expect_ready(c, *names)
    # What the killed run created is recognised by its owner tag, never created again.
    n_put = successful_writes(calls).get('PutMetricAlarm', 0)
    check(n_put == 8 - len([n for n in before if n.startswith(aws_name('a'))]),
          'the restart put %d metric alarms; %d existed already' % (n_put, len(before)))
    for n in names:
        check(len(c.events(n, 'Created', kind='Alarm')) <= 1, '%s created twice' % n)
    noop(c, 9)


def case_alarm_step_chain(c):
    """An Alarm whose action is a ScalingPolicy's step policy waits (DependencyNotReady) until
    the policy exists, then holds its ARN; the alarm firing scales the service."""
    c.write('alarms/burst.yaml', cpu('web-burst', actions={
        'alarm': [{'scalingPolicy': {'name': 'web', 'policy': 'burst'}}]}))
    p, calls = c.run_once()
    check(not writes(calls), 'the waiting alarm wrote', ops(calls, 'write'))
    cond = c.expect_condition('web-burst', 'Ready', 'False', 'DependencyNotReady', kind='Alarm')
    check('burst' in cond['message'] and 'ScalingPolicy web' in cond['message'],
          'DependencyNotReady does not say what it waits for', cond)
    # The policy appears while trimtab runs: the alarm is queued again by the status change.
    proc = c.start('--resync', '1h')
    c.write('ecs/web.yaml', scaling_policy('web', min_capacity=1, max_capacity=6,
                                           steps=[step_policy('burst')]))
    wait_for(lambda: (c.condition('web-burst', kind='Alarm') or {}).get('reason') == 'Converged',
             30, 'the alarm to converge once the step policy exists')
    proc.terminate()
    proc.wait()
    arn = c.record('web')['status']['policyArns']['burst']
    a = alarms(c)[aws_name('web-burst')]
    check(a['AlarmActions'] == [arn], 'the alarm action is not the step policy ARN',
          a['AlarmActions'], arn)
    ecs = c.client('ecs')
    before = ecs.describe_services(cluster='prod', services=['web'])['services'][0]['desiredCount']
    c.sim.control('POST', 'alarms/state', {'alarm': aws_name('web-burst'), 'state': 'ALARM',
                                          'reason': 'test', 'region': REGION})
    after = ecs.describe_services(cluster='prod', services=['web'])['services'][0]['desiredCount']
    check(after > before, 'the alarm firing did not scale the service (%d → %d)' % (before, after))
    # Both written at once converge in one run.
    c.write('alarms/burst2.yaml', cpu('web-burst2', actions={
        'alarm': [{'scalingPolicy': {'name': 'web2', 'policy': 'burst'}}]}))
    c.write('ecs/web2.yaml', scaling_policy('web2', service='worker', min_capacity=1,
                                            max_capacity=6, steps=[step_policy('burst')]))
    p, calls = c.run_once(expect_rc=0)
    expect_ready(c, 'web-burst2')


def case_alarm_composite(c):
    """A composite alarm follows its children's states; its rule changes with the spec; a
    composite whose child is missing waits."""
    write_all(c)
    c.run_once(expect_rc=0)
    for n in ('web-cpu', 'web-memory'):
        c.sim.control('POST', 'alarms/state', {'alarm': aws_name(n), 'state': 'ALARM',
                                              'reason': 'test', 'region': REGION})
    c.run_once(expect_rc=0)
    st = c.record('web-saturated', kind='Alarm')['status']
    check(st.get('state') == 'ALARM', 'the composite did not follow its children', st)
    c.write('alarms/saturated.yaml', saturated(composite={
        'rule': 'ALARM(web-cpu) OR (ALARM(web-memory) AND NOT OK("orders-db-connections"))'}))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutCompositeAlarm'], 'rule change wrote %s'
          % ops(calls, 'write'))
    rule = alarms(c)[aws_name('web-saturated')]['AlarmRule']
    check(rule == 'ALARM(%s) OR (ALARM(%s) AND NOT OK("%s"))' % (
        aws_name('web-cpu'), aws_name('web-memory'), aws_name('orders-db-connections')),
        'rule not rewritten', rule)
    c.write('alarms/other.yaml', alarm('other', composite={'rule': 'ALARM(nowhere)'}))
    p, calls = c.run_once()
    cond = c.expect_condition('other', 'Ready', 'False', 'DependencyNotReady', kind='Alarm')
    check('nowhere' in cond['message'], 'the missing child is not named', cond)
    noop_calls = c.run_once()[1]
    check(not writes(noop_calls), 'wrote', ops(noop_calls, 'write'))


def case_alarm_examples(c):
    """examples/alarms converge, then a no-op."""
    src = os.path.join(Config.source, 'examples', 'alarms')
    names = []
    for f in sorted(os.listdir(src)):
        shutil.copy(os.path.join(src, f), os.path.join(c.manifests, f))
        with open(os.path.join(src, f)) as fh:
            names += re.findall(r'^  name: (\S+)$', fh.read(), re.M)
    p, calls = c.run_once(expect_rc=0)
    check(len(names) >= 5, 'examples/alarms: names %s' % names)
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged', kind='Alarm', ns='shop')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'no-op on examples wrote', ops(calls, 'write'))
    log('  examples/alarms: %d alarms, no-op reads %s' % (len(names), ops(calls, 'read')))
    check(reads(calls) and len(reads(calls)) <= 2, 'no-op reads %s' % ops(calls, 'read'))


CASES = {name[len('case_'):]: fn for name, fn in sorted(globals().items())
         if name.startswith('case_')}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
