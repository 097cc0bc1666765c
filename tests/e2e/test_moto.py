#!/usr/bin/env python3
"""trimtab end to end against moto (issue 6 item 7): create, no-op, drift, change and prune of
ECS ScalingPolicies, with the real binary in directory mode, so trimtab is known to work with
the emulator its users already run (`python3 -m moto.server`).

Usage: test_moto.py TRIMTAB SOURCE_DIR [--sanitized] [--keep]

moto keeps no call log, so trimtab talks to moto through a small recording proxy (below) that
notes every operation and passes the bytes through unchanged. Exit 77 (ctest: skipped) when moto
is not installed: never reported as passed.

moto's bugs and gaps that matter here, and what this suite does about them (each is printed as
a WORKAROUND line when the suite runs):
  * Application Auto Scaling tagging is not implemented in moto: TagResource and
    ListTagsForResource answer HTTP 500, RegisterScalableTarget ignores Tags. trimtab's owner
    tag (trimtab.dev/owner) can therefore not be checked on moto, and trimtab must never need to
    read it: every run keeps the same state directory, whose memo records that trimtab created
    the target (tags are only read for targets trimtab does not know it owns). Adoption is not
    run against moto (the awssim suite covers it).
  * DescribeScalingPolicies ignores PolicyNames (tests/awssim/tests/moto_differences.py,
    aas.describe-policies.by-name): moto answers with every policy of the namespace. Harmless
    for trimtab, which keeps only the names it asked for; the suite adds a policy trimtab does
    not own to prove it is ignored, not deleted.
  * DeregisterScalableTarget keeps the target's policies (moto_differences.py,
    aas.describe-after-deregister). trimtab deletes policies and scheduled actions before it
    deregisters, so after --prune nothing may be left even on moto: checked.
  * DeleteScalingPolicy of a missing policy is ValidationException instead of
    ObjectNotFoundException (aas.delete-policy.missing): trimtab only deletes policies it has
    just read, so the case does not arise; drift is made by changing objects, not by deleting
    policies behind trimtab's back.
  * ECS: moto has no scaling activities of its own (DescribeScalingActivities answers an empty
    list), so status.lastScalingActivity is not checked here.
  * RDS: moto's ModifyDBInstance applies a new class at once and the instance never goes
    "modifying", so the ladder's waiting for "available" and a refused class are not exercised on
    moto (the awssim suite covers them); each step is checked from the class moto reports.
"""

import http.client
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

from e2e import (ISOLATION, REGION, TARGET_DIM, Case, Config, aws_name, check, describe,
                 expect_objects, log, ops, rid, scheduled, tracking, web, worker, writes)
from servers import start_moto  # noqa: E402  (tests/lib, on the path e2e sets)

SKIP = 77
SERVICES = ['web', 'worker', 'api']


def workaround(text):
    log('  WORKAROUND (moto): ' + text)


# ---- a recording proxy ------------------------------------------------------------------------

READ_PREFIXES = ('Describe', 'Get', 'List')


class Recorder:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.calls = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def _forward(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n) if n else b''
                target = self.headers.get('X-Amz-Target', '')
                # JSON services name the operation in X-Amz-Target, Query ones (RDS,
                # CloudWatch) in the form body's Action.
                action = urllib.parse.parse_qs(body.decode('utf-8', 'replace')).get('Action')
                op = (target.rpartition('.')[2] if target else action[0] if action
                      else self.command + ' ' + self.path)
                conn = http.client.HTTPConnection('127.0.0.1', rec.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ('connection', 'keep-alive')}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                with rec.lock:
                    rec.calls.append({'operation': op, 'status': resp.status, 'time': time.time(),
                                      'kind': 'read' if op.startswith(READ_PREFIXES) else 'write'})
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                        self.send_header(k, v)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.calls = []

    def get(self):
        with self.lock:
            return list(self.calls)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MotoCase(Case):
    """A Case whose AWS is moto behind the recorder (no awssim)."""

    def __init__(self, name):
        super().__init__(name, sim=False)
        self.moto, port = start_moto()
        self.rec = Recorder(port)
        self.endpoint = 'http://127.0.0.1:%d' % self.rec.port
        self.moto_endpoint = 'http://127.0.0.1:%d' % port

    def close(self, keep=False):
        self.rec.close()
        self.moto.terminate()
        try:
            self.moto.wait(10)
        except subprocess.TimeoutExpired:
            self.moto.kill()
        super().close(keep)

    def env(self, **extra):
        env = dict(os.environ)
        env.update(ISOLATION)
        env.update({'HOME': self.tmp, 'AWS_ENDPOINT_URL': self.endpoint,
                    'AWS_ACCESS_KEY_ID': 'AKIDEXAMPLE', 'AWS_SECRET_ACCESS_KEY': 'moto-secret',
                    'AWS_REGION': REGION, 'AWS_DEFAULT_REGION': REGION})
        env.update(extra)
        return env

    def client(self, service):
        import boto3
        if service not in self._clients:
            # Straight to moto: the recorder only sees trimtab.
            self._clients[service] = boto3.client(
                service, endpoint_url=self.moto_endpoint, region_name=REGION,
                aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='moto-secret')
        return self._clients[service]

    def run_once(self, *extra, expect_rc=None, **kw):
        self.rec.reset()
        p = self.trimtab('run', '--once', *extra, **kw)
        calls = self.rec.get()
        if expect_rc is not None:
            check(p.returncode == expect_rc, 'run --once exited %d, expected %d'
                  % (p.returncode, expect_rc), describe(p))
        return p, calls

    def plan(self, *extra, expect_rc=None, json_output=False):
        self.rec.reset()
        args = ['plan'] + (['--output', 'json'] if json_output else []) + list(extra)
        p = self.trimtab(*args)
        check(not writes(self.rec.get()), 'plan made write calls', writes(self.rec.get()))
        if expect_rc is not None:
            check(p.returncode == expect_rc, 'plan exited %d, expected %d'
                  % (p.returncode, expect_rc), describe(p))
        if json_output and p.stdout.startswith('{'):
            p.doc = json.loads(p.stdout)
        return p

    def aws(self):
        """The snapshot without tags (moto has none) and without CloudWatch."""
        aas = self.client('application-autoscaling')
        out = {'targets': {}, 'policies': {}, 'scheduled': {}, 'alarms': []}
        for t in aas.describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets']:
            check(t['ResourceId'] not in out['targets'], 'target listed twice')
            out['targets'][t['ResourceId']] = dict(t, Tags={})
        for p in aas.describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies']:
            key = (p['ResourceId'], p['PolicyName'])
            check(key not in out['policies'], 'policy %s listed twice' % (key,))
            # moto keeps no alarms on target tracking policies; expect_objects counts them.
            if p['PolicyType'] == 'TargetTrackingScaling':
                n = 1 if p['TargetTrackingScalingPolicyConfiguration'].get('DisableScaleIn') else 2
                p = dict(p, Alarms=[{'AlarmName': 'moto-%s-%d' % (p['PolicyName'], i)}
                                    for i in range(n)])
            out['policies'][key] = p
        for a in aas.describe_scheduled_actions(ServiceNamespace='ecs')['ScheduledActions']:
            key = (a['ResourceId'], a['ScheduledActionName'])
            check(key not in out['scheduled'], 'scheduled action listed twice')
            out['scheduled'][key] = a
        return out


WEB = {'min': 2, 'max': 10, 'policies': [aws_name('web', 'cpu'), aws_name('web', 'memory')],
       'scheduled': [aws_name('web', 'business-hours'), aws_name('web', 'after-hours')]}
WORKER = {'min': 1, 'max': 12, 'policies': [aws_name('worker', 'cpu-high')]}


def suite(c):
    ecs = c.client('ecs')
    ecs.create_cluster(clusterName='prod')
    ecs.register_task_definition(family='app', containerDefinitions=[
        {'name': 'app', 'image': 'nginx', 'memory': 256}])
    for s in SERVICES:
        ecs.create_service(cluster='prod', serviceName=s, taskDefinition='app', desiredCount=2)
    aas = c.client('application-autoscaling')
    workaround('Application Auto Scaling tags are not implemented in moto (TagResource and '
               'ListTagsForResource answer HTTP 500): owner tags are not checked, one state '
               'directory is kept for all runs so trimtab never needs them, adoption is not '
               'run here')

    # create
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    p, calls = c.run_once(expect_rc=0, timeout=120)
    w = sorted(ops(calls, 'write'))
    check(w == sorted(['RegisterScalableTarget'] * 2 + ['PutScalingPolicy'] * 3 +
                      ['PutScheduledAction'] * 2), 'create: writes %s' % w)
    log('  create: %d writes, %d reads, %.2fs' % (len(w), len(calls) - len(w), p.seconds))
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER})
    cfg = c.aws()['policies'][(rid('web'), aws_name('web', 'cpu'))][
        'TargetTrackingScalingPolicyConfiguration']
    check(cfg['TargetValue'] == 70 and cfg['ScaleInCooldown'] == 300, 'cpu policy', cfg)
    sa = c.aws()['scheduled'][(rid('web'), aws_name('web', 'business-hours'))]
    check(sa['Schedule'] == 'cron(0 8 ? * MON-FRI *)' and sa['Timezone'] == 'Europe/Berlin',
          'scheduled action', sa)
    for n in ('web', 'worker'):
        c.expect_condition(n, 'Ready', 'True', 'Converged')

    # no-op
    workaround('DescribeScalingPolicies ignores PolicyNames in moto; a policy trimtab does not '
               'own ("legacy") is added to show it is ignored, not deleted')
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('api'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=1, MaxCapacity=2)
    aas.put_scaling_policy(PolicyName='legacy', ServiceNamespace='ecs', ResourceId=rid('api'),
                           ScalableDimension=TARGET_DIM, PolicyType='StepScaling',
                           StepScalingPolicyConfiguration={
                               'AdjustmentType': 'ChangeInCapacity', 'StepAdjustments': [
                                   {'MetricIntervalLowerBound': 0.0, 'ScalingAdjustment': 1}]})
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote: %s' % ops(calls, 'write'))
    log('  no-op: 0 writes, %d reads (%s)' % (len(calls), ', '.join(ops(calls))))
    c.plan(expect_rc=0)

    # drift: min/max, a policy's target value, a deleted scheduled action
    aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=rid('web'),
                                 ScalableDimension=TARGET_DIM, MinCapacity=3, MaxCapacity=7)
    pol = c.aws()['policies'][(rid('web'), aws_name('web', 'cpu'))]
    cfg = dict(pol['TargetTrackingScalingPolicyConfiguration'], TargetValue=55.0)
    aas.put_scaling_policy(PolicyName=pol['PolicyName'], ServiceNamespace='ecs',
                           ResourceId=rid('web'), ScalableDimension=TARGET_DIM,
                           PolicyType='TargetTrackingScaling',
                           TargetTrackingScalingPolicyConfiguration=cfg)
    aas.delete_scheduled_action(ServiceNamespace='ecs', ResourceId=rid('web'),
                                ScalableDimension=TARGET_DIM,
                                ScheduledActionName=aws_name('web', 'after-hours'))
    p = c.plan(expect_rc=2, json_output=True)
    web_plan = [r for r in p.doc['resources'] if r['key'] == 'ScalingPolicy/shop/web'][0]
    got = {(a['verb'], a['object']): {ch['field']: (ch['old'], ch['new'])
                                      for ch in a.get('changes', [])}
           for a in web_plan['actions']}
    check(got.get(('update', 'scalable target service/prod/web')) ==
          {'minCapacity': (3, 2), 'maxCapacity': (7, 10)} and
          got.get(('update', 'scaling policy trimtab-shop-web-cpu')) ==
          {'targetValue': (55, 70)} and
          ('create', 'scheduled action trimtab-shop-web-after-hours') in got and len(got) == 3,
          'plan of the drift', got)
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['PutScalingPolicy', 'PutScheduledAction',
                                          'RegisterScalableTarget'],
          'drift correction wrote %s' % ops(calls, 'write'))
    expect_objects(c.aws(), {'web': WEB, 'worker': WORKER, 'api': {
        'min': 1, 'max': 2, 'policies': ['legacy']}})
    c.plan(expect_rc=0)
    log('  drift (min/max, target value, deleted scheduled action): planned and corrected')

    # change: maxCapacity, a new policy, a removed policy and scheduled action
    c.write('ecs/web.yaml', web(max_capacity=15, tracking_=[
        tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
        tracking('requests', 'ECSServiceAverageMemoryUtilization', 60, disableScaleIn=True)],
        sched=[scheduled('business-hours', lo=4, hi=10)]))
    before = c.aws()
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy', 'DeleteScheduledAction',
                                          'PutScalingPolicy', 'RegisterScalableTarget'],
          'the change wrote %s' % ops(calls, 'write'))
    after = c.aws()
    expect_objects(after, {'web': dict(WEB, max=15, policies=[aws_name('web', 'cpu'),
                                                              aws_name('web', 'requests')],
                                       scheduled=[aws_name('web', 'business-hours')]),
                           'worker': WORKER, 'api': {'min': 1, 'max': 2,
                                                     'policies': ['legacy']}})
    k = (rid('worker'), aws_name('worker', 'cpu-high'))
    check(after['policies'][k] == before['policies'][k], 'worker was touched')
    c.plan(expect_rc=0)
    log('  change (maxCapacity, +1 policy, -1 policy, -1 scheduled action): applied')

    # prune
    workaround('DeregisterScalableTarget keeps policies in moto; trimtab deletes them first, '
               'checked below')
    c.remove('ecs/web.yaml')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'without --prune trimtab wrote')
    c.expect_condition('web', 'Ready', 'False', 'Orphaned')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['DeleteScalingPolicy'] * 2 +
          ['DeleteScheduledAction', 'DeregisterScalableTarget'],
          '--prune wrote %s' % ops(calls, 'write'))
    expect_objects(c.aws(), {'worker': WORKER, 'api': {'min': 1, 'max': 2,
                                                       'policies': ['legacy']}})
    check(c.record('web') is None, 'the pruned record remains')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(not writes(calls), 'a second --prune wrote')
    log('  prune: web deleted from moto; worker and the foreign policy untouched')


def rds_suite(c):
    """The RDS instance ladder on moto: storage autoscaling, a no-op with zero writes, one step
    up on the scale-up alarm, the top held, one step down on the scale-down alarm."""
    rds, cw = c.client('rds'), c.client('cloudwatch')
    rds.create_db_instance(DBInstanceIdentifier='orders-db', DBInstanceClass='db.t4g.small',
                           Engine='postgres', AllocatedStorage=20, MasterUsername='postgres',
                           MasterUserPassword='secret-password')
    for name, op in (('writes-high', 'GreaterThanThreshold'), ('writes-low', 'LessThanThreshold')):
        cw.put_metric_alarm(AlarmName='trimtab-shop-' + name, Namespace='AWS/RDS',
                            MetricName='WriteIOPS', Statistic='Average', Period=60,
                            EvaluationPeriods=1, Threshold=300, ComparisonOperator=op,
                            Dimensions=[{'Name': 'DBInstanceIdentifier', 'Value': 'orders-db'}])
        cw.set_alarm_state(AlarmName='trimtab-shop-' + name, StateValue='OK', StateReason='test')
    c.write('rds/orders-db.yaml', '\n'.join([
        'apiVersion: trimtab.dev/v1alpha1', 'kind: ScalingPolicy',
        'metadata: {name: orders-db, namespace: shop}', 'spec:',
        '  target: {rds: {instance: orders-db}}', '  vertical:',
        '    ladder: [db.t4g.small, db.m5.large]', '    scaleUpOn: {alarm: writes-high}',
        '    scaleDownOn: {alarm: writes-low}', '    cooldown: 0s',
        '  storage: {maxAllocatedGiB: 200}']) + '\n')

    def modify_calls(calls):
        return [x for x in calls if x['operation'] == 'ModifyDBInstance' and x['status'] < 300]

    def cls():
        return rds.describe_db_instances(DBInstanceIdentifier='orders-db')['DBInstances'][0]

    p, calls = c.run_once(expect_rc=0)
    check(len(modify_calls(calls)) == 1 and cls().get('MaxAllocatedStorage') == 200,
          'storage autoscaling not set on moto', calls, cls())
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the RDS no-op run wrote on moto', writes(calls))
    cw.set_alarm_state(AlarmName='trimtab-shop-writes-high', StateValue='ALARM',
                       StateReason='test')
    c.run_once(expect_rc=0)
    check(cls()['DBInstanceClass'] == 'db.m5.large', 'no step up on moto', cls())
    p, calls = c.run_once(expect_rc=0)
    check(not modify_calls(calls), 'stepped past the top on moto', calls)
    cw.set_alarm_state(AlarmName='trimtab-shop-writes-high', StateValue='OK', StateReason='test')
    cw.set_alarm_state(AlarmName='trimtab-shop-writes-low', StateValue='ALARM',
                       StateReason='test')
    c.run_once(expect_rc=0)
    check(cls()['DBInstanceClass'] == 'db.t4g.small', 'no step down on moto', cls())
    log('  rds: storage autoscaling, no-op, one step up and one down on moto')
def suite_alarms(c):
    """Metric alarms on ECS, RDS and Lambda (p95) targets: create, no-op, drift, spec change,
    prune."""
    import test_alarm as ta
    workaround('PutCompositeAlarm answers HTTP 500 in moto: composite alarms are not run here '
               '(the awssim suite covers them)')
    workaround('moto starts new alarms in OK instead of INSUFFICIENT_DATA: the state is only '
               'checked to reach the status')
    c.write('alarms/web-cpu.yaml', ta.cpu())
    c.write('alarms/db.yaml', ta.db())
    c.write('alarms/latency.yaml', ta.latency())
    names = ['web-cpu', 'orders-db-connections', 'checkout-p95']
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['PutMetricAlarm'] * 3, 'create: writes %s'
          % ops(calls, 'write'))
    cw = c.client('cloudwatch')
    have = {a['AlarmName']: a for a in cw.describe_alarms()['MetricAlarms']}
    check(set(have) == {aws_name(n) for n in names}, 'alarms in moto', sorted(have))
    for n in names:
        arn = have[aws_name(n)]['AlarmArn']
        tags = {t['Key']: t['Value'] for t in cw.list_tags_for_resource(ResourceARN=arn)['Tags']}
        check(tags.get('trimtab.dev/owner') == 'shop/' + n, '%s: owner tag %s' % (n, tags))
        c.expect_condition(n, 'Ready', 'True', 'Converged', kind='Alarm')
        check(c.record(n, kind='Alarm')['status'].get('state') == have[aws_name(n)]['StateValue'],
              '%s: state not in the status' % n)
    a = have[aws_name('checkout-p95')]
    check(a.get('ExtendedStatistic') == 'p95' and a.get('TreatMissingData') == 'notBreaching',
          'checkout-p95 in moto', a)
    log('  create: 3 PutMetricAlarm, %d reads' % (len(calls) - 3))

    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls) and ops(calls) == ['DescribeAlarms'], 'no-op: %s' % ops(calls))
    log('  no-op: 0 writes, 1 DescribeAlarms')

    a = have[aws_name('web-cpu')]
    cw.put_metric_alarm(AlarmName=a['AlarmName'], Namespace=a['Namespace'],
                        MetricName=a['MetricName'], Statistic=a['Statistic'],
                        Dimensions=a['Dimensions'], Period=a['Period'],
                        EvaluationPeriods=a['EvaluationPeriods'], Threshold=99.0,
                        ComparisonOperator=a['ComparisonOperator'],
                        AlarmActions=a['AlarmActions'])
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutMetricAlarm'], 'drift: %s' % ops(calls, 'write'))
    a = cw.describe_alarms(AlarmNames=[aws_name('web-cpu')])['MetricAlarms'][0]
    check(a['Threshold'] == 85 and a.get('DatapointsToAlarm') == 3, 'drift not corrected', a)
    log('  drift (threshold, datapointsToAlarm dropped by hand): corrected with one write')

    c.write('alarms/db.yaml', ta.db(threshold=150))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['PutMetricAlarm'], 'change: %s' % ops(calls, 'write'))
    check(cw.describe_alarms(AlarmNames=[aws_name('orders-db-connections')])['MetricAlarms'][0]
          ['Threshold'] == 150, 'spec change not applied')

    c.remove('alarms/db.yaml')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'without --prune trimtab wrote')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(ops(calls, 'write') == ['DeleteAlarms'], '--prune wrote %s' % ops(calls, 'write'))
    left = sorted(a['AlarmName'] for a in cw.describe_alarms()['MetricAlarms'])
    check(left == sorted([aws_name('web-cpu'), aws_name('checkout-p95')]), 'after prune', left)
    log('  change and prune: applied')


def suite_ecs_rds(c):
    """The default suite: ECS, then the RDS instance ladder, on one moto."""
    suite(c)
    rds_suite(c)


SUITES = {'ecs': suite_ecs_rds, 'alarm': suite_alarms}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('binary')
    ap.add_argument('source')
    ap.add_argument('--sanitized', action='store_true')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--suite', choices=sorted(SUITES), default='ecs')
    args = ap.parse_args(argv)
    Config.binary = os.path.abspath(args.binary)
    Config.source = os.path.abspath(args.source)
    Config.sanitized = args.sanitized
    import importlib.util
    missing = [m for m in ('moto', 'boto3') if importlib.util.find_spec(m) is None]
    if missing:
        print('SKIP: %s not installed for %s (pip install "moto[server]"); the moto suite did '
              'not run' % (' and '.join(missing), sys.executable), flush=True)
        return SKIP
    import moto
    log('== moto %s (%s)' % (moto.__version__, sys.executable))
    try:
        c = MotoCase('moto-' + args.suite)
    except RuntimeError as e:
        print('SKIP: %s; the moto suite did not run' % e, flush=True)
        return SKIP
    ok = False
    t0 = time.monotonic()
    try:
        SUITES[args.suite](c)
        ok = True
    except AssertionError as e:
        log('FAIL moto: %s' % e)
        if c.last is not None:
            log('  last command:\n' + describe(c.last))
    finally:
        c.close(keep=not ok and args.keep)
    log('%s moto (%.1fs)' % ('ok  ' if ok else 'FAIL', time.monotonic() - t0))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
