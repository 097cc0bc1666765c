#!/usr/bin/env python3
"""Predictive scaling on ECS services end to end (spec.predictive[]), in directory mode against
awssim: create and no-op, update, the switch to ForecastAndScale shown by plan, delete and
prune, Observe mode, adoption of an existing policy, and the forecast peak in status.

Usage: test_predictive.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

awssim's forecast is deterministic (tests/awssim/README.md): capacity at the target's minimum
at night, halfway to the maximum at 08:00 and 17:00 UTC, three quarters of the way from 09:00
to 17:00 UTC, every day.
"""

import datetime
import json
import os
import re
import sys

from e2e import (NS, TARGET_DIM, aws_name, check, expect_ready, log, main, ops, plan_changes,
                 rid, scaling_policy, table, tracking, writes)

FORECAST = 'GetPredictiveScalingForecast'


def predictive(name='daily', **kw):
    d = {'name': name, 'metricPair': 'ECSServiceCPUUtilization', 'targetValue': 60}
    d.update(kw)
    return d


def api(preds=(predictive(),), **kw):
    """ScalingPolicy api (2-10 tasks): CPU tracking at 70 and the predictive policies."""
    args = dict(min_capacity=2, max_capacity=10, tracking_=[tracking('cpu', target=70)])
    if preds:
        args['predictive'] = list(preds)
    args.update(kw)
    return scaling_policy('api', **args)


def policy(c, part='daily'):
    return c.aws()['policies'].get((rid('api'), aws_name('api', part)))


def expected_peak(now, lo=2, hi=10):
    """The next peak of awssim's forecast from `now`: capacity and the hour it starts."""
    peak = lo + -(-(hi - lo) * 3 // 4)
    hour = now.replace(minute=0, second=0, microsecond=0)
    if 9 <= now.hour < 17:
        return peak, hour
    day = hour.replace(hour=9)
    return peak, day if now.hour < 9 else day + datetime.timedelta(days=1)


def expect_peak(c, lo=2, hi=10):
    """status.forecastPeak is awssim's next peak as of some moment of the case, when trimtab
    read the forecast (it keeps a read ten minutes): from then to now the hour may have turned,
    or 17:00 ended the day's peak, which moves the next one to 09:00 the day after. One hour of
    slack besides."""
    fp = c.record('api')['status'].get('forecastPeak')
    check(fp is not None, 'status.forecastPeak missing', c.record('api')['status'])
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    moment = datetime.datetime.fromtimestamp(c.started, datetime.timezone.utc)
    moments = [moment]
    moment = moment.replace(minute=0, second=0, microsecond=0) + hour
    while moment <= now:
        moments.append(moment)
        moment += hour
    moments.append(now)
    peaks = sorted({expected_peak(m, lo, hi) for m in moments})
    got = datetime.datetime.strptime(fp['time'][:19], '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    check(any(fp['capacity'] == cap and abs((got - at).total_seconds()) <= 3600
              for cap, at in peaks) and fp['policy'] == 'daily' and 'forecastUpdated' in fp,
          'status.forecastPeak is not the forecast peak (%s)' % ' or '.join(
              '%d at %s' % (cap, at.isoformat()) for cap, at in peaks), fp)
    return fp


# ---- cases ---------------------------------------------------------------------------------

def case_predictive_create_noop(c):
    """A predictive policy is created (ForecastOnly by default) with PolicyType
    PredictiveScaling; a no-op run writes nothing and reads no forecast again."""
    c.write('ecs/api.yaml', api(preds=[predictive(schedulingBufferTime='10m')]))
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(sorted(w) == ['PutScalingPolicy', 'PutScalingPolicy', 'RegisterScalableTarget'],
          'unexpected writes for the creation', w)
    pol = policy(c)
    check(pol is not None and pol['PolicyType'] == 'PredictiveScaling',
          'no PredictiveScaling policy trimtab-shop-api-daily in AWS', c.aws()['policies'])
    cfg = pol['PredictiveScalingPolicyConfiguration']
    check(cfg == {'MetricSpecifications': [{'TargetValue': 60, 'PredefinedMetricPairSpecification':
                                            {'PredefinedMetricType': 'ECSServiceCPUUtilization'}}],
                  'Mode': 'ForecastOnly', 'SchedulingBufferTime': 600,
                  'MaxCapacityBreachBehavior': 'HonorMaxCapacity'},
          'predictive configuration wrong', cfg)
    expect_ready(c, 'api')
    st = c.record('api')['status']
    check(st['policyArns'].get('daily') == pol['PolicyARN'], 'status.policyArns lacks daily', st)
    expect_peak(c)
    n_forecast = ops(calls).count(FORECAST)
    check(n_forecast == 1, 'the creation run read the forecast %d times (once: after the policy '
          'exists)' % n_forecast, ops(calls))
    created = [e['message'] for e in c.events('api', 'Created')]
    check(any('scaling policy trimtab-shop-api-daily' in m for m in created),
          'no Created event for the predictive policy', created)

    record = c.record('api')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    check(FORECAST not in ops(calls), 'the no-op run read the forecast again within ten '
          'minutes of the last read', ops(calls))
    check(c.record('api') == record, 'the no-op run changed the record',
          record, c.record('api'))
    log('  no-op: reads %s' % ', '.join(ops(calls)))
    p = c.plan(expect_rc=0)
    check('0 to create, 0 to update, 0 to delete' in p.stdout, 'plan is not in sync', p.stdout)


def case_predictive_update(c):
    """A changed target value, buffer time and breach behaviour are one PutScalingPolicy on the
    same policy; plan shows each field."""
    c.write('ecs/api.yaml', api())
    c.run_once(expect_rc=0)
    arn = policy(c)['PolicyARN']
    c.write('ecs/api.yaml', api(preds=[predictive(
        targetValue=50, schedulingBufferTime='15m', maxCapacityBreachBehavior='IncreaseMaxCapacity',
        maxCapacityBuffer=20)]))
    pj = c.plan(expect_rc=2, json_output=True)
    ch = plan_changes(pj.doc, 'ScalingPolicy/shop/api')
    obj = ('update', 'scaling policy trimtab-shop-api-daily')
    check(list(ch) == [obj] and set(ch[obj]) == {'metric', 'schedulingBufferTime',
                                                 'maxCapacityBreachBehavior', 'maxCapacityBuffer'}
          and ch[obj]['schedulingBufferTime'] == (None, 900)
          and ch[obj]['maxCapacityBreachBehavior'] == ('HonorMaxCapacity', 'IncreaseMaxCapacity'),
          'plan JSON wrong', ch)
    act = [a for r in pj.doc['resources'] for a in r['actions']][0]
    check('warning' not in act, 'a change within ForecastOnly carries a warning', act)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutScalingPolicy'], 'the update wrote %s' % ops(calls, 'write'))
    pol = policy(c)
    cfg = pol['PredictiveScalingPolicyConfiguration']
    check(pol['PolicyARN'] == arn and cfg['MetricSpecifications'][0]['TargetValue'] == 50 and
          cfg['SchedulingBufferTime'] == 900 and cfg['MaxCapacityBuffer'] == 20 and
          cfg['Mode'] == 'ForecastOnly', 'the policy was not updated in place', pol)
    ev = c.events('api', 'Updated')
    check(ev and 'trimtab-shop-api-daily' in ev[-1]['message'], 'no Updated event', ev)
    expect_ready(c, 'api')
    c.plan(expect_rc=0)


def case_predictive_mode_switch(c):
    """ForecastOnly → ForecastAndScale: plan prints a warning line for it (text and JSON), the
    run switches the mode; a new policy that starts in ForecastAndScale warns too."""
    c.write('ecs/api.yaml', api())
    c.run_once(expect_rc=0)
    c.write('ecs/api.yaml', api(preds=[predictive(mode='ForecastAndScale'),
                                       predictive('memory', metricPair='ECSServiceMemoryUtilization',
                                                  mode='ForecastAndScale')]))
    p = c.plan(expect_rc=2)
    check(re.search(r'~ update scaling policy trimtab-shop-api-daily\n\s+! warning: predictive '
                    r'policy daily switches from ForecastOnly to ForecastAndScale: AWS will scale '
                    r'on the forecast\n\s+mode: "ForecastOnly" → "ForecastAndScale"', p.stdout),
          'plan text does not warn about the switch to ForecastAndScale', p.stdout)
    check(re.search(r'\+ create scaling policy trimtab-shop-api-memory\n\s+! warning: predictive '
                    r'policy memory switches from nothing to ForecastAndScale', p.stdout),
          'plan text does not warn about a new policy in ForecastAndScale', p.stdout)
    pj = c.plan(expect_rc=2, json_output=True)
    warned = {a['object']: a.get('warning') for r in pj.doc['resources'] for a in r['actions']}
    check(set(warned) == {'scaling policy trimtab-shop-api-daily',
                          'scaling policy trimtab-shop-api-memory'} and all(warned.values()),
          'plan JSON lacks the warnings', warned)
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['PutScalingPolicy'] * 2, 'the switch wrote %s'
          % ops(calls, 'write'))
    check(policy(c)['PredictiveScalingPolicyConfiguration']['Mode'] == 'ForecastAndScale',
          'the mode did not switch', policy(c))
    p = c.plan(expect_rc=0)
    check('warning' not in p.stdout, 'plan still warns once switched', p.stdout)
    # Back to ForecastOnly is an ordinary update: no warning.
    c.write('ecs/api.yaml', api())
    p = c.plan(expect_rc=2)
    check('mode: "ForecastAndScale" → "ForecastOnly"' in p.stdout and 'warning' not in p.stdout,
          'switching back to ForecastOnly is shown wrongly', p.stdout)


def case_predictive_prune(c):
    """A predictive policy removed from the spec is deleted; the resource deleted with --prune
    takes its policies and target with it."""
    c.write('ecs/api.yaml', api(preds=[predictive(), predictive('memory',
                                                                metricPair='ECSServiceMemoryUtilization')]))
    c.run_once(expect_rc=0)
    check(policy(c, 'memory') is not None, 'memory policy not created')
    c.write('ecs/api.yaml', api())
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['DeleteScalingPolicy'], 'removing a predictive policy wrote %s'
          % ops(calls, 'write'))
    check(policy(c, 'memory') is None and policy(c) is not None, 'the wrong policy was deleted',
          c.aws()['policies'])
    expect_ready(c, 'api')
    check('forecastPeak' in c.record('api')['status'], 'the remaining forecast was lost')
    c.remove('ecs/api.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy', 'DeleteScalingPolicy',
                                          'DeregisterScalableTarget'],
          'pruning wrote %s' % ops(calls, 'write'))
    aws = c.aws()
    check(not aws['policies'] and not aws['targets'], 'AWS objects left after prune', aws)
    check(c.record('api') is None, 'the pruned resource still has a record')


def case_predictive_observe(c):
    """mode: Observe reads and reports the predictive policy to create or update, and never
    writes; the forecast of an existing policy is still shown."""
    c.write('ecs/api.yaml', api(mode='Observe'))
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    d = c.expect_condition('api', 'Drifted', 'True', 'DriftDetected')
    drift = c.record('api')['status'].get('drift', [])
    check('scaling policy trimtab-shop-api-daily' in [a['object'] for a in drift],
          'the predictive policy is not in status.drift', drift, d)
    # Made by hand in ForecastOnly with a different target: Observe reports the difference.
    c.write('ecs/api.yaml', api())
    c.run_once(expect_rc=0)
    c.write('ecs/api.yaml', api(mode='Observe', preds=[predictive(targetValue=40,
                                                                  mode='ForecastAndScale')]))
    p, calls = c.run_once()
    check(not writes(calls), 'Observe mode wrote', ops(calls, 'write'))
    check(policy(c)['PredictiveScalingPolicyConfiguration']['Mode'] == 'ForecastOnly',
          'Observe mode changed the mode')
    drift = c.record('api')['status'].get('drift', [])
    act = [a for a in drift if a['object'] == 'scaling policy trimtab-shop-api-daily']
    check(act and {ch['field'] for ch in act[0]['changes']} == {'metric', 'mode'} and
          'warning' in act[0], 'status.drift does not show the mode switch', drift)
    expect_peak(c)


def case_predictive_adoption(c):
    """A predictive policy of trimtab's name that AWS already holds is updated in place (the
    target is adopted with spec.adopt), not recreated."""
    aas = c.client('application-autoscaling')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('api'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=2, MaxCapacity=10)
    arn = aas.put_scaling_policy(
        PolicyName=aws_name('api', 'daily'), ServiceNamespace='ecs', ResourceId=rid('api'),
        ScalableDimension=TARGET_DIM, PolicyType='PredictiveScaling',
        PredictiveScalingPolicyConfiguration={'MetricSpecifications': [{
            'TargetValue': 80.0, 'PredefinedMetricPairSpecification': {
                'PredefinedMetricType': 'ECSServiceCPUUtilization'}}]})['PolicyARN']
    c.write('ecs/api.yaml', api())
    c.run_once()
    c.expect_condition('api', 'Ready', 'False', 'AdoptionRefused')
    check(policy(c)['PredictiveScalingPolicyConfiguration']['MetricSpecifications'][0]
          ['TargetValue'] == 80, 'an unowned policy was changed')
    c.write('ecs/api.yaml', api(adopt=True))
    p, calls = c.run_once(expect_rc=0)
    pol = policy(c)
    check(pol['PolicyARN'] == arn and pol['PredictiveScalingPolicyConfiguration']
          ['MetricSpecifications'][0]['TargetValue'] == 60, 'adoption did not update in place',
          pol)
    # AWS's ForecastOnly default (no Mode) is not mistaken for a switch.
    check('DeleteScalingPolicy' not in ops(calls), 'adoption deleted the policy', ops(calls))
    expect_ready(c, 'api')


def case_predictive_status(c):
    """The forecast peak in `trimtab status -o wide` and the record; read once per ten minutes
    per policy (the API is per policy: one call each), again once the last read is older."""
    c.write('ecs/api.yaml', api(preds=[predictive(), predictive(
        'memory', metricPair='ECSServiceMemoryUtilization')]))
    p, calls = c.run_once(expect_rc=0)
    fp = expect_peak(c)
    p = c.trimtab('status', '-o', 'wide')
    cols, rows = table(p.stdout)
    check('FORECAST-PEAK' in cols, 'status -o wide has no FORECAST-PEAK column', p.stdout)
    row = [r for r in rows if r['NAME'] == 'api'][0]
    check(row['FORECAST-PEAK'] == '%d at %sZ' % (fp['capacity'], fp['time'][:16]),
          'the FORECAST-PEAK column is not the forecast peak', row, fp)
    p = c.trimtab('status')
    check('FORECAST-PEAK' not in p.stdout, 'the plain table shows the forecast column', p.stdout)

    p, calls = c.run_once(expect_rc=0)
    check(FORECAST not in ops(calls), 'the forecast was read again within ten minutes',
          ops(calls))
    # The last read eleven minutes ago: one call per policy, in one run.
    path = os.path.join(c.state, 'resources', 'ScalingPolicy', NS, 'api.json')
    with open(path) as f:
        rec = json.load(f)
    for v in rec['memo']['forecasts'].values():
        v['readAt'] -= 660
    with open(path, 'w') as f:
        json.dump(rec, f)
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls).count(FORECAST) == 2, 'an old forecast was read %d times for two policies'
          % ops(calls).count(FORECAST), ops(calls))
    check(not writes(calls), 'reading the forecast wrote', ops(calls, 'write'))
    expect_peak(c)
    # A failed forecast read leaves the forecast out and fails nothing.
    for v in rec['memo']['forecasts'].values():
        v['readAt'] -= 660
    with open(path, 'w') as f:
        json.dump(rec, f)
    c.sim.fault(kind='error', status=500, code='InternalServiceException',
                service='application-autoscaling', operation=FORECAST, count=100)
    p, calls = c.run_once(expect_rc=0)
    log('  calls under the fault: %s' % [(x['operation'], x['status']) for x in calls])
    expect_ready(c, 'api')
    check('forecastPeak' not in c.record('api')['status'] and
          c.record('api')['status']['policyArns'].keys() == {'cpu', 'daily', 'memory'},
          'a failed forecast read is not simply left out', c.record('api')['status'])


def case_predictive_invalid(c):
    """Predictive scaling on a non-ECS target, or with a half-set metric, is a file:line error
    from validate and an InvalidSpec resource that is never written."""
    bad = scaling_policy('api', min_capacity=1, max_capacity=4, predictive=[predictive()])
    bad = bad.replace('ecs:\n      cluster: prod\n      service: api',
                      'lambda:\n      function: checkout\n      alias: live')
    c.write('ecs/api.yaml', bad)
    c.write('ecs/web.yaml', scaling_policy('web', min_capacity=1, max_capacity=4, predictive=[
        {'name': 'daily', 'scalingMetric': 'ECSServiceAverageCPUUtilization', 'targetValue': 60,
         'maxCapacityBuffer': 10}]))
    p = c.trimtab('validate', c.manifests)
    check(p.returncode != 0, 'validate accepted predictive on a lambda target', p.stdout)
    out = p.stdout + p.stderr
    check(re.search(r'ecs/api\.yaml:\d+: spec\.predictive: Application Auto Scaling offers '
                    r'predictive scaling for ECS services only \(target\.ecs\)', out),
          'validate does not say predictive is ECS only', out)
    check(re.search(r'ecs/web\.yaml:\d+: spec\.predictive\[0\]: set metricPair, or a scaling '
                    r'metric', out) and
          re.search(r'ecs/web\.yaml:\d+: spec\.predictive\[0\]\.maxCapacityBuffer: only applies',
                    out), 'validate does not name the predictive field errors', out)
    p, calls = c.run_once()
    check(not writes(calls), 'an invalid resource was written', ops(calls, 'write'))
    for n in ('api', 'web'):
        c.expect_condition(n, 'Ready', 'False', 'InvalidSpec')


CASES = {
    'predictive_create_noop': case_predictive_create_noop,
    'predictive_update': case_predictive_update,
    'predictive_mode_switch': case_predictive_mode_switch,
    'predictive_prune': case_predictive_prune,
    'predictive_observe': case_predictive_observe,
    'predictive_adoption': case_predictive_adoption,
    'predictive_status': case_predictive_status,
    'predictive_invalid': case_predictive_invalid,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
