#!/usr/bin/env python3
"""The peers of bench_peers.py: the same convergence as trimtab, written the way a team scripts
it, read-then-write per object as ACK's controllers do (one read of each object, a write when it
differs). Three ways to run it:

  --mode boto3    one boto3 client per service, one object after the other
  --mode threads  the same with a pool of 16 threads (boto3 clients are thread-safe)
  --mode cli      one `aws` process per call, as shell scripts do (Debian's AWS CLI)

Usage: converge.py --desired FILE --mode MODE   (endpoint and credentials from the environment)
"""
import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mix import REGION, ROTATOR, TOPIC  # noqa: E402

GLOBAL = {'budgets': 'us-east-1', 'cloudfront': 'us-east-1'}
OWNER = 'trimtab.dev/owner'


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Boto3Caller:
    def __init__(self):
        cfg = botocore.config.Config(retries={'mode': 'standard'}, max_pool_connections=32)
        self.clients = {s: boto3.client(s, region_name=GLOBAL.get(s, REGION), config=cfg,
                                        endpoint_url=os.environ['AWS_ENDPOINT_URL'])
                        for s in ('application-autoscaling', 'rds', 'cloudwatch', 'cloudfront',
                                  'budgets', 'secretsmanager', 'sts')}

    def __call__(self, service, op, params):
        client = self.clients[service]
        try:
            return getattr(client, botocore.xform_name(op))(**params)
        except client.exceptions.ClientError as e:
            raise Refused(e.response['Error']['Code'])


class CliCaller:
    def __call__(self, service, op, params):
        p = subprocess.run(['aws', service, botocore.xform_name(op, '-'), '--cli-input-json',
                            json.dumps(params), '--endpoint-url', os.environ['AWS_ENDPOINT_URL'],
                            '--region', GLOBAL.get(service, REGION), '--output', 'json'],
                           capture_output=True, text=True)
        if p.returncode != 0:
            if 'An error occurred (' in p.stderr:
                raise Refused(p.stderr.split('An error occurred (')[1].split(')')[0])
            raise SystemExit('aws %s %s: %s' % (service, op, p.stderr.strip()[-500:]))
        return json.loads(p.stdout) if p.stdout.strip() else {}


def aas(call, d):
    key = {'ServiceNamespace': d['ns'], 'ResourceId': d['rid'], 'ScalableDimension': d['dim']}
    have = call('application-autoscaling', 'DescribeScalableTargets',
                {'ServiceNamespace': d['ns'], 'ResourceIds': [d['rid']],
                 'ScalableDimension': d['dim']})['ScalableTargets']
    if not have or (have[0]['MinCapacity'], have[0]['MaxCapacity']) != (d['min'], d['max']):
        reg = dict(key, MinCapacity=d['min'], MaxCapacity=d['max'])
        if not have:
            reg['Tags'] = {OWNER: d['owner']}
        call('application-autoscaling', 'RegisterScalableTarget', reg)
    want = {'TargetValue': d['value'],
            'PredefinedMetricSpecification': {'PredefinedMetricType': d['metric']}}
    pol = call('application-autoscaling', 'DescribeScalingPolicies',
               dict(key, PolicyNames=[d['policy']]))['ScalingPolicies']
    cfg = pol[0].get('TargetTrackingScalingPolicyConfiguration', {}) if pol else {}
    if cfg.get('TargetValue') != want['TargetValue'] or \
            cfg.get('PredefinedMetricSpecification') != want['PredefinedMetricSpecification']:
        call('application-autoscaling', 'PutScalingPolicy',
             dict(key, PolicyName=d['policy'], PolicyType='TargetTrackingScaling',
                  TargetTrackingScalingPolicyConfiguration=want))


def ladder(call, d):
    """At rest (both alarms OK, the class on the ladder) a ladder only reads."""
    call('rds', 'DescribeDBInstances', {'DBInstanceIdentifier': d['instance']})
    call('cloudwatch', 'DescribeAlarms', {'AlarmNames': d['alarms']})


def cloudfront(call, d):
    got = call('cloudfront', 'GetDistributionConfig', {'Id': d['id']})
    cfg = got['DistributionConfig']
    if (cfg.get('PriceClass'), cfg.get('HttpVersion'), cfg['DefaultCacheBehavior'].get('Compress')) \
            != ('PriceClass_100', 'http2and3', True):
        cfg.update(PriceClass='PriceClass_100', HttpVersion='http2and3')
        cfg['DefaultCacheBehavior']['Compress'] = True
        call('cloudfront', 'UpdateDistribution',
             {'Id': d['id'], 'IfMatch': got['ETag'], 'DistributionConfig': cfg})


def alarm(call, d):
    want = {'AlarmName': d['name'], 'Namespace': d['namespace'], 'MetricName': d['metric'],
            'Statistic': d['statistic'], 'Period': 60, 'EvaluationPeriods': 5,
            'Threshold': d['threshold'], 'ComparisonOperator': d['comparison'],
            'AlarmActions': [TOPIC],
            'Dimensions': [{'Name': k, 'Value': v} for k, v in d['dims']]}
    have = call('cloudwatch', 'DescribeAlarms', {'AlarmNames': [d['name']]})['MetricAlarms']
    if have and all(have[0].get(k) == v for k, v in want.items()):
        return
    if not have:
        want['Tags'] = [{'Key': OWNER, 'Value': d['name']}]
    call('cloudwatch', 'PutMetricAlarm', want)


def note(t):
    return {'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN',
            'Threshold': float(t), 'ThresholdType': 'PERCENTAGE'}


SUBSCRIBER = {'SubscriptionType': 'EMAIL', 'Address': 'team@example.com'}


def budget(call, d, account):
    name = d['name']
    try:
        call('budgets', 'DescribeBudget', {'AccountId': account, 'BudgetName': name})
    except Refused as e:
        if e.code != 'NotFoundException':
            raise
        call('budgets', 'CreateBudget', {
            'AccountId': account,
            'Budget': {'BudgetName': name, 'BudgetType': 'COST', 'TimeUnit': 'MONTHLY',
                       'BudgetLimit': {'Amount': '100', 'Unit': 'USD'}},
            'NotificationsWithSubscribers': [{'Notification': note(t), 'Subscribers': [SUBSCRIBER]}
                                             for t in d['thresholds']]})
        return
    have = call('budgets', 'DescribeNotificationsForBudget',
                {'AccountId': account, 'BudgetName': name}).get('Notifications', [])
    got = {n['Threshold'] for n in have}
    for t in d['thresholds']:
        if float(t) not in got:
            call('budgets', 'CreateNotification', {'AccountId': account, 'BudgetName': name,
                                                   'Notification': note(t),
                                                   'Subscribers': [SUBSCRIBER]})
            continue
        subs = call('budgets', 'DescribeSubscribersForNotification',
                    {'AccountId': account, 'BudgetName': name, 'Notification': note(t)})
        if SUBSCRIBER not in subs.get('Subscribers', []):
            call('budgets', 'CreateSubscriber', {'AccountId': account, 'BudgetName': name,
                                                 'Notification': note(t), 'Subscriber': SUBSCRIBER})


def secret(call, d):
    have = call('secretsmanager', 'DescribeSecret', {'SecretId': d['id']})
    if have.get('RotationEnabled') and have.get('RotationLambdaARN') == ROTATOR and \
            have.get('RotationRules', {}).get('AutomaticallyAfterDays') == 30:
        return
    call('secretsmanager', 'RotateSecret', {'SecretId': d['id'], 'RotationLambdaARN': ROTATOR,
                                            'RotationRules': {'AutomaticallyAfterDays': 30},
                                            'RotateImmediately': False})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--desired', required=True)
    ap.add_argument('--mode', choices=('boto3', 'threads', 'cli'), required=True)
    args = ap.parse_args()
    with open(args.desired) as f:
        desired = json.load(f)
    call = CliCaller() if args.mode == 'cli' else Boto3Caller()
    account = call('sts', 'GetCallerIdentity', {})['Account']
    steps = {'aas': aas, 'ladder': ladder, 'cloudfront': cloudfront, 'alarm': alarm,
             'secret': secret, 'budget': lambda c, d: budget(c, d, account)}

    def one(d):
        steps[d['type']](call, d)

    if args.mode == 'threads':
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, desired))
    else:
        for d in desired:
            one(d)


if __name__ == '__main__':
    main()
