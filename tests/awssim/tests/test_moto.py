#!/usr/bin/env python3
"""awssim against moto, field by field.

The same boto3 script runs against awssim and against moto (python3 -m moto.server, the
independent second opinion) and the two answers are compared: member names, value types, values
(volatile ones such as ids, ETags and timestamps by form only), pagination tokens' presence, and
error codes and HTTP statuses. Every difference must be listed in KNOWN_MOTO_DIFFERENCES below
with the reason (a moto bug, or moto leaving out what AWS returns); an unlisted difference fails
the test, so awssim cannot quietly invent AWS behaviour where moto is right. Exit 77 (skipped)
when moto is not installed.
"""

import datetime
import fnmatch
import importlib.util
import re
import subprocess
import sys

from harness import ACCOUNT, AwsSim, checked, skip
from servers import start_moto  # noqa: E402  (tests/lib, on the path harness sets)

ROLE = 'arn:aws:iam::%s:role/lambda-exec' % ACCOUNT

from moto_differences import KNOWN_MOTO_DIFFERENCES  # noqa: E402  (the list, with reasons)


def step(label, service, op, params=None, save=None, only=None):
    """One call of the scenario. params may be a function of the per-target context dict; save
    (resp, ctx) records values later steps need; only='moto' or 'awssim' limits the target."""
    return {'label': label, 'service': service, 'op': op, 'params': params or {}, 'save': save,
            'only': only, 'check': None}


def check(label, fn):
    """A derived fact compared between the two targets, fn(ctx) -> JSON-able value."""
    return {'label': label, 'service': None, 'op': None, 'params': {}, 'save': None, 'only': None,
            'check': fn}


def _dist_cfg(ref):
    return {'CallerReference': ref, 'Comment': 'shop', 'Enabled': True,
            'Origins': {'Quantity': 1, 'Items': [{
                'Id': 'app', 'DomainName': 'app.example.com',
                'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443, 'OriginProtocolPolicy': 'https-only'}}]},
            'DefaultCacheBehavior': {'TargetOriginId': 'app', 'ViewerProtocolPolicy': 'redirect-to-https',
                                     'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}


ECS_TARGET = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                  ScalableDimension='ecs:service:DesiredCount')
NOTE = {'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': 80.0,
        'ThresholdType': 'PERCENTAGE'}
ALARM = dict(Namespace='AWS/RDS', MetricName='WriteIOPS', Statistic='Average', Period=60,
             EvaluationPeriods=3, Threshold=500.0, ComparisonOperator='GreaterThanThreshold')

SCENARIO = [
    # ECS
    step('ecs.create-cluster', 'ecs', 'CreateCluster', {'clusterName': 'demo'}),
    step('ecs.register-task-definition', 'ecs', 'RegisterTaskDefinition',
         {'family': 'web', 'containerDefinitions': [{'name': 'web', 'image': 'nginx', 'memory': 256}]}),
    step('ecs.create-service', 'ecs', 'CreateService',
         {'cluster': 'demo', 'serviceName': 'web', 'taskDefinition': 'web', 'desiredCount': 2}),
    step('ecs.describe-services', 'ecs', 'DescribeServices', {'cluster': 'demo', 'services': ['web', 'gone']}),
    step('ecs.update-service', 'ecs', 'UpdateService', {'cluster': 'demo', 'service': 'web', 'desiredCount': 3}),
    step('ecs.describe-services.no-cluster', 'ecs', 'DescribeServices', {'cluster': 'nope', 'services': ['web']}),
    step('ecs.update-service.missing', 'ecs', 'UpdateService', {'cluster': 'demo', 'service': 'gone', 'desiredCount': 1}),
    step('ecs.create-service-2', 'ecs', 'CreateService',
         {'cluster': 'demo', 'serviceName': 'web2', 'taskDefinition': 'web', 'desiredCount': 1}),
    step('ecs.create-service-3', 'ecs', 'CreateService',
         {'cluster': 'demo', 'serviceName': 'web3', 'taskDefinition': 'web', 'desiredCount': 1}),
    # Application Auto Scaling
    step('aas.register', 'application-autoscaling', 'RegisterScalableTarget',
         dict(ECS_TARGET, MinCapacity=1, MaxCapacity=5),
         save=lambda r, c: c.update(target_arn=r.get('ScalableTargetARN'))),
    # trimtab marks what it owns with a tag on the scalable target.
    step('aas.tag', 'application-autoscaling', 'TagResource',
         lambda c: {'ResourceARN': c['target_arn'] or 'arn:aws:application-autoscaling:x',
                    'Tags': {'trimtab.dev/owner': 'shop/web'}}),
    step('aas.list-tags', 'application-autoscaling', 'ListTagsForResource',
         lambda c: {'ResourceARN': c['target_arn'] or 'arn:aws:application-autoscaling:x'}),
    step('aas.register-2', 'application-autoscaling', 'RegisterScalableTarget',
         dict(ECS_TARGET, ResourceId='service/demo/web2', MinCapacity=1, MaxCapacity=5)),
    step('aas.register-3', 'application-autoscaling', 'RegisterScalableTarget',
         dict(ECS_TARGET, ResourceId='service/demo/web3', MinCapacity=1, MaxCapacity=5)),
    step('aas.describe-targets', 'application-autoscaling', 'DescribeScalableTargets',
         {'ServiceNamespace': 'ecs', 'ResourceIds': ['service/demo/web']}),
    step('aas.describe-targets.page-1', 'application-autoscaling', 'DescribeScalableTargets',
         {'ServiceNamespace': 'ecs', 'MaxResults': 2},
         save=lambda r, c: c.update(page1=[t['ResourceId'] for t in r['ScalableTargets']],
                                    token=r.get('NextToken'))),
    step('aas.describe-targets.page-2', 'application-autoscaling', 'DescribeScalableTargets',
         lambda c: {'ServiceNamespace': 'ecs', 'MaxResults': 2, 'NextToken': c['token']},
         save=lambda r, c: c.update(page2=[t['ResourceId'] for t in r['ScalableTargets']])),
    check('aas.describe-targets.pages-cover-all', lambda c: sorted(c['page1'] + c['page2'])),
    step('aas.describe-targets.exact-id', 'application-autoscaling', 'DescribeScalableTargets',
         {'ServiceNamespace': 'ecs', 'ResourceIds': ['service/demo/we']}),
    step('aas.put-step-policy', 'application-autoscaling', 'PutScalingPolicy',
         dict(ECS_TARGET, PolicyName='out', PolicyType='StepScaling', StepScalingPolicyConfiguration={
             'AdjustmentType': 'ChangeInCapacity', 'Cooldown': 60,
             'StepAdjustments': [{'MetricIntervalLowerBound': 0.0, 'ScalingAdjustment': 1}]})),
    step('aas.put-tracking-policy', 'application-autoscaling', 'PutScalingPolicy',
         dict(ECS_TARGET, PolicyName='cpu', PolicyType='TargetTrackingScaling',
              TargetTrackingScalingPolicyConfiguration={
                  'TargetValue': 70.0, 'PredefinedMetricSpecification': {
                      'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}})),
    step('aas.describe-policies.by-name', 'application-autoscaling', 'DescribeScalingPolicies',
         {'ServiceNamespace': 'ecs', 'PolicyNames': ['out']}),
    step('aas.describe-policies.paged', 'application-autoscaling', 'DescribeScalingPolicies',
         {'ServiceNamespace': 'ecs', 'MaxResults': 1}),
    step('aas.describe-policies.substring', 'application-autoscaling', 'DescribeScalingPolicies',
         {'ServiceNamespace': 'ecs', 'ResourceId': 'service/demo/we'}),
    step('aas.describe-activities', 'application-autoscaling', 'DescribeScalingActivities',
         {'ServiceNamespace': 'ecs', 'ResourceId': 'service/demo/web2'}),
    step('aas.put-scheduled', 'application-autoscaling', 'PutScheduledAction',
         dict(ECS_TARGET, ScheduledActionName='morning', Schedule='cron(0 8 ? * MON-FRI *)',
              Timezone='Europe/Paris', ScalableTargetAction={'MinCapacity': 2, 'MaxCapacity': 5})),
    step('aas.describe-scheduled', 'application-autoscaling', 'DescribeScheduledActions', {'ServiceNamespace': 'ecs'}),
    step('aas.delete-policy', 'application-autoscaling', 'DeleteScalingPolicy', dict(ECS_TARGET, PolicyName='out')),
    step('aas.delete-policy.missing', 'application-autoscaling', 'DeleteScalingPolicy', dict(ECS_TARGET, PolicyName='out')),
    step('aas.delete-scheduled', 'application-autoscaling', 'DeleteScheduledAction',
         dict(ECS_TARGET, ScheduledActionName='morning')),
    # Predictive scaling (ECS): a ForecastOnly policy, read back, and its forecast.
    step('aas.put-predictive-policy', 'application-autoscaling', 'PutScalingPolicy',
         dict(ECS_TARGET, PolicyName='daily', PolicyType='PredictiveScaling',
              PredictiveScalingPolicyConfiguration={'MetricSpecifications': [{
                  'TargetValue': 60.0, 'PredefinedMetricPairSpecification': {
                      'PredefinedMetricType': 'ECSServiceCPUUtilization'}}],
                  'Mode': 'ForecastOnly'})),
    step('aas.describe-policies.predictive', 'application-autoscaling', 'DescribeScalingPolicies',
         {'ServiceNamespace': 'ecs', 'PolicyNames': ['daily'], 'ResourceId': 'service/demo/web'}),
    step('aas.get-forecast', 'application-autoscaling', 'GetPredictiveScalingForecast',
         dict(ECS_TARGET, PolicyName='daily',
              StartTime=datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc),
              EndTime=datetime.datetime(2026, 12, 8, tzinfo=datetime.timezone.utc))),
    step('aas.deregister', 'application-autoscaling', 'DeregisterScalableTarget', ECS_TARGET),
    step('aas.describe-after-deregister', 'application-autoscaling', 'DescribeScalingPolicies',
         {'ServiceNamespace': 'ecs'}),
    # RDS
    step('rds.create-instance', 'rds', 'CreateDBInstance',
         {'DBInstanceIdentifier': 'orders', 'DBInstanceClass': 'db.t4g.small', 'Engine': 'postgres',
          'AllocatedStorage': 20, 'MasterUsername': 'app', 'MasterUserPassword': 'secret-password'}),
    step('rds.describe-instance', 'rds', 'DescribeDBInstances', {'DBInstanceIdentifier': 'orders'}),
    step('rds.describe-instance.missing', 'rds', 'DescribeDBInstances', {'DBInstanceIdentifier': 'nope'}),
    step('rds.describe-instances.filter', 'rds', 'DescribeDBInstances',
         {'Filters': [{'Name': 'engine', 'Values': ['mysql']}]}),
    step('rds.modify-instance', 'rds', 'ModifyDBInstance',
         {'DBInstanceIdentifier': 'orders', 'DBInstanceClass': 'db.m5.large', 'ApplyImmediately': False}),
    step('rds.describe-after-modify', 'rds', 'DescribeDBInstances', {'DBInstanceIdentifier': 'orders'},
         save=lambda r, c: c.update(rds_class=r['DBInstances'][0]['DBInstanceClass'],
                                    rds_pending=r['DBInstances'][0].get('PendingModifiedValues', {}))),
    check('rds.modify-waits-for-maintenance', lambda c: [c['rds_class'], c['rds_pending']]),
    step('rds.create-cluster', 'rds', 'CreateDBCluster',
         {'DBClusterIdentifier': 'aurora', 'Engine': 'aurora-postgresql', 'MasterUsername': 'admin',
          'MasterUserPassword': 'secret-password'}),
    step('rds.describe-cluster.missing', 'rds', 'DescribeDBClusters', {'DBClusterIdentifier': 'nope'}),
    # ElastiCache
    step('elasticache.create', 'elasticache', 'CreateReplicationGroup',
         {'ReplicationGroupId': 'cache', 'ReplicationGroupDescription': 'c', 'NumCacheClusters': 2,
          'CacheNodeType': 'cache.t4g.small', 'Engine': 'redis'}),
    step('elasticache.describe.missing', 'elasticache', 'DescribeReplicationGroups', {'ReplicationGroupId': 'nope'}),
    step('elasticache.create-cluster-mode', 'elasticache', 'CreateReplicationGroup',
         {'ReplicationGroupId': 'sessions', 'ReplicationGroupDescription': 's', 'NumNodeGroups': 2,
          'ReplicasPerNodeGroup': 1, 'CacheNodeType': 'cache.r7g.large', 'Engine': 'redis',
          'CacheParameterGroupName': 'default.redis7.cluster.on'}),
    step('aas.register-elasticache', 'application-autoscaling', 'RegisterScalableTarget',
         {'ServiceNamespace': 'elasticache', 'ResourceId': 'replication-group/sessions',
          'ScalableDimension': 'elasticache:replication-group:Replicas', 'MinCapacity': 1, 'MaxCapacity': 3}),
    # Lambda (moto checks the role against its IAM)
    step('iam.create-role', 'iam', 'CreateRole', {'RoleName': 'lambda-exec', 'AssumeRolePolicyDocument': '{}'},
         only='moto'),
    step('lambda.create-function', 'lambda', 'CreateFunction',
         {'FunctionName': 'api', 'Runtime': 'python3.12', 'Role': ROLE, 'Handler': 'app.handler',
          'Code': {'ZipFile': b'PK\x05\x06' + b'\x00' * 18}}),
    step('lambda.publish-version', 'lambda', 'PublishVersion', {'FunctionName': 'api'}),
    step('lambda.create-alias', 'lambda', 'CreateAlias', {'FunctionName': 'api', 'Name': 'live', 'FunctionVersion': '1'}),
    step('lambda.put-concurrency', 'lambda', 'PutFunctionConcurrency',
         {'FunctionName': 'api', 'ReservedConcurrentExecutions': 50}),
    step('lambda.get-concurrency', 'lambda', 'GetFunctionConcurrency', {'FunctionName': 'api'}),
    step('lambda.delete-concurrency', 'lambda', 'DeleteFunctionConcurrency', {'FunctionName': 'api'}),
    step('lambda.get-function.missing', 'lambda', 'GetFunction', {'FunctionName': 'nope'}),
    step('lambda.put-provisioned', 'lambda', 'PutProvisionedConcurrencyConfig',
         {'FunctionName': 'api', 'Qualifier': 'live', 'ProvisionedConcurrentExecutions': 5}),
    # CloudFront
    step('cloudfront.create', 'cloudfront', 'CreateDistribution', {'DistributionConfig': _dist_cfg('ref-1')},
         save=lambda r, c: c.update(did=r['Distribution']['Id'], etag=r['ETag'])),
    step('cloudfront.get-config', 'cloudfront', 'GetDistributionConfig', lambda c: {'Id': c['did']},
         save=lambda r, c: c.update(cfg=r['DistributionConfig'])),
    step('cloudfront.update', 'cloudfront', 'UpdateDistribution',
         lambda c: {'Id': c['did'], 'IfMatch': c['etag'], 'DistributionConfig': dict(c['cfg'], PriceClass='PriceClass_100')},
         save=lambda r, c: c.update(etag2=r['ETag'])),
    check('cloudfront.update-changes-etag', lambda c: c['etag2'] != c['etag']),
    step('cloudfront.update.stale-etag', 'cloudfront', 'UpdateDistribution',
         lambda c: {'Id': c['did'], 'IfMatch': c['etag'], 'DistributionConfig': c['cfg']}),
    step('cloudfront.get.missing', 'cloudfront', 'GetDistribution', {'Id': 'E000000000000'}),
    # CloudWatch
    step('cloudwatch.put-alarm-1', 'cloudwatch', 'PutMetricAlarm', dict(ALARM, AlarmName='a1')),
    step('cloudwatch.put-alarm-2', 'cloudwatch', 'PutMetricAlarm', dict(ALARM, AlarmName='a2')),
    step('cloudwatch.put-alarm-3', 'cloudwatch', 'PutMetricAlarm', dict(ALARM, AlarmName='a3')),
    step('cloudwatch.describe-by-name', 'cloudwatch', 'DescribeAlarms', {'AlarmNames': ['a2', 'a1']}),
    step('cloudwatch.describe-paged', 'cloudwatch', 'DescribeAlarms', {'MaxRecords': 2}),
    step('cloudwatch.set-state', 'cloudwatch', 'SetAlarmState',
         {'AlarmName': 'a1', 'StateValue': 'ALARM', 'StateReason': 'test'}),
    step('cloudwatch.describe-by-state', 'cloudwatch', 'DescribeAlarms', {'StateValue': 'ALARM'}),
    step('cloudwatch.set-state.missing', 'cloudwatch', 'SetAlarmState',
         {'AlarmName': 'zz', 'StateValue': 'ALARM', 'StateReason': 'test'}),
    step('cloudwatch.delete', 'cloudwatch', 'DeleteAlarms', {'AlarmNames': ['a3']}),
    step('cloudwatch.put-composite', 'cloudwatch', 'PutCompositeAlarm',
         {'AlarmName': 'both', 'AlarmRule': 'ALARM(a1) AND ALARM(a2)'}),
    step('cloudwatch.describe-composite-only', 'cloudwatch', 'DescribeAlarms', {'AlarmTypes': ['CompositeAlarm']}),
    # Budgets
    step('budgets.create', 'budgets', 'CreateBudget', {'AccountId': ACCOUNT, 'Budget': {
        'BudgetName': 'team', 'BudgetLimit': {'Amount': '60', 'Unit': 'EUR'}, 'TimeUnit': 'MONTHLY',
        'BudgetType': 'COST'}}),
    step('budgets.describe', 'budgets', 'DescribeBudget', {'AccountId': ACCOUNT, 'BudgetName': 'team'}),
    step('budgets.create.duplicate', 'budgets', 'CreateBudget', {'AccountId': ACCOUNT, 'Budget': {
        'BudgetName': 'team', 'BudgetLimit': {'Amount': '60', 'Unit': 'EUR'}, 'TimeUnit': 'MONTHLY',
        'BudgetType': 'COST'}}),
    step('budgets.create-notification', 'budgets', 'CreateNotification',
         {'AccountId': ACCOUNT, 'BudgetName': 'team', 'Notification': NOTE,
          'Subscribers': [{'SubscriptionType': 'EMAIL', 'Address': 'ops@example.com'}]}),
    step('budgets.describe-notifications', 'budgets', 'DescribeNotificationsForBudget',
         {'AccountId': ACCOUNT, 'BudgetName': 'team'}),
    step('budgets.update', 'budgets', 'UpdateBudget', {'AccountId': ACCOUNT, 'NewBudget': {
        'BudgetName': 'team', 'BudgetLimit': {'Amount': '90', 'Unit': 'EUR'}, 'TimeUnit': 'MONTHLY',
        'BudgetType': 'COST'}}),
    step('budgets.create-subscriber', 'budgets', 'CreateSubscriber',
         {'AccountId': ACCOUNT, 'BudgetName': 'team', 'Notification': NOTE,
          'Subscriber': {'SubscriptionType': 'EMAIL', 'Address': 'fin@example.com'}}),
    step('budgets.describe-subscribers', 'budgets', 'DescribeSubscribersForNotification',
         {'AccountId': ACCOUNT, 'BudgetName': 'team', 'Notification': NOTE}),
    step('budgets.delete-notification', 'budgets', 'DeleteNotification',
         {'AccountId': ACCOUNT, 'BudgetName': 'team', 'Notification': NOTE}),
    step('budgets.delete', 'budgets', 'DeleteBudget', {'AccountId': ACCOUNT, 'BudgetName': 'team'}),
    step('budgets.describe.missing', 'budgets', 'DescribeBudget', {'AccountId': ACCOUNT, 'BudgetName': 'team'}),
    # Secrets Manager
    step('secrets.create', 'secretsmanager', 'CreateSecret',
         {'Name': 'prod/db', 'SecretString': '{"password":"x"}', 'ClientRequestToken': 'a' * 32}),
    step('secrets.describe', 'secretsmanager', 'DescribeSecret', {'SecretId': 'prod/db'}),
    step('secrets.rotate-schedule', 'secretsmanager', 'RotateSecret',
         {'SecretId': 'prod/db', 'RotationLambdaARN': 'arn:aws:lambda:us-east-1:%s:function:api' % ACCOUNT,
          'RotationRules': {'ScheduleExpression': 'rate(10 days)', 'Duration': '2h'}, 'RotateImmediately': False}),
    step('secrets.describe-rotation', 'secretsmanager', 'DescribeSecret', {'SecretId': 'prod/db'}),
    step('secrets.list-versions', 'secretsmanager', 'ListSecretVersionIds', {'SecretId': 'prod/db'}),
    step('secrets.tag', 'secretsmanager', 'TagResource', {'SecretId': 'prod/db', 'Tags': [{'Key': 'k', 'Value': 'v'}]}),
    step('secrets.describe.missing', 'secretsmanager', 'DescribeSecret', {'SecretId': 'nope'}),
    step('secrets.create-2', 'secretsmanager', 'CreateSecret',
         {'Name': 'prod/api', 'SecretString': 'v1', 'ClientRequestToken': 'b' * 32}),
    step('secrets.rotate-now', 'secretsmanager', 'RotateSecret',
         {'SecretId': 'prod/api', 'RotationLambdaARN': 'arn:aws:lambda:us-east-1:%s:function:api' % ACCOUNT,
          'RotationRules': {'AutomaticallyAfterDays': 30}, 'ClientRequestToken': 'c' * 32}),
    step('secrets.value-after-rotation', 'secretsmanager', 'GetSecretValue', {'SecretId': 'prod/api'}),
    # STS
    step('sts.identity', 'sts', 'GetCallerIdentity'),
    step('sts.assume-role', 'sts', 'AssumeRole', {'RoleArn': 'arn:aws:iam::%s:role/trimtab' % ACCOUNT,
                                                  'RoleSessionName': 'cmp'}),
]

# Values compared by form only: generated ids, secrets, times.
VOLATILE_KEYS = {'RequestId', 'ScalableTargetARN', 'PolicyARN', 'AlarmARN', 'ActivityId', 'ETag', 'Id',
                 'DomainName', 'ARN', 'VersionId', 'RevisionId', 'LastModified', 'AccessKeyId',
                 'SecretAccessKey', 'SessionToken', 'AssumedRoleId', 'Address', 'DbiResourceId',
                 'DbClusterResourceId', 'Endpoint', 'ReaderEndpoint', 'id', 'Location', 'UserId',
                 'ScheduledActionARN', 'AlarmName', 'Marker', 'NextToken', 'CodeSha256',
                 'AliasArn', 'FunctionArn', 'DBSubnetGroup', 'HostedZoneId', 'createdBy', 'registeredBy',
                 'rolloutStateReason'}


def normalize(v, key=None):
    if isinstance(v, dict):
        return {k: normalize(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x, key) for x in v]
    if isinstance(v, datetime.datetime):
        return '<timestamp>'
    if key in VOLATILE_KEYS and isinstance(v, str):
        return '<%s>' % key
    return v


def diff(a, b, path, out):
    """Differences between awssim's answer a and moto's b as (path, what) pairs."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = '%s.%s' % (path, k) if path else k
            if k not in b:
                out.append((p, 'only awssim returns it: %r' % (_short(a[k]),)))
            elif k not in a:
                out.append((p, 'only moto returns it: %r' % (_short(b[k]),)))
            else:
                diff(a[k], b[k], p, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path, 'awssim returns %d items, moto %d' % (len(a), len(b))))
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, '%s[%d]' % (path, i), out)
    elif type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                         and not isinstance(a, bool) and not isinstance(b, bool)):
        out.append((path, 'type: awssim %s %r, moto %s %r' % (type(a).__name__, _short(a),
                                                              type(b).__name__, _short(b))))
    elif a != b:
        out.append((path, 'value: awssim %r, moto %r' % (_short(a), _short(b))))
    return out


def _short(v):
    s = repr(v)
    return v if len(s) < 80 else s[:77] + '...'


def run_scenario(endpoint, target, strict):
    import boto3
    from botocore.config import Config
    from botocore import xform_name
    from botocore.exceptions import ClientError
    ctx, results, clients = {}, {}, {}
    for s in SCENARIO:
        if s['only'] and s['only'] != target:
            continue
        if s['check']:
            try:
                results[s['label']] = {'status': 200, 'response': {'value': s['check'](ctx)}}
            except Exception as e:  # a fact that cannot be computed (an earlier step failed)
                results[s['label']] = {'status': None, 'error': 'check: %s: %s' % (type(e).__name__, e)}
            continue
        if s['service'] not in clients:
            c = boto3.client(s['service'], endpoint_url=endpoint, region_name='us-east-1',
                             aws_access_key_id='AKIDEXAMPLE',
                             aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                             config=Config(retries={'mode': 'standard', 'total_max_attempts': 1}))
            clients[s['service']] = checked(c) if strict else c
        client = clients[s['service']]
        params = s['params'](ctx) if callable(s['params']) else s['params']
        method = getattr(client, xform_name(s['op']))
        try:
            resp = method(**params)
            status = resp['ResponseMetadata']['HTTPStatusCode']
            resp.pop('ResponseMetadata')
            if s['save']:
                s['save'](resp, ctx)
            results[s['label']] = {'status': status, 'response': normalize(resp)}
        except ClientError as e:
            results[s['label']] = {'status': e.response['ResponseMetadata'].get('HTTPStatusCode'),
                                   'error': e.response['Error'].get('Code')}
        except Exception as e:  # a client-side failure (e.g. moto answered something unparsable)
            results[s['label']] = {'status': None, 'error': 'client: %s: %s' % (type(e).__name__, e)}
    return results


def compare(sim_results, moto_results, steps=SCENARIO, known=KNOWN_MOTO_DIFFERENCES):
    """Returns (unexplained, explained, stale) lists."""
    found = []
    for s in steps:
        label = s['label']
        if s['only']:
            continue
        a, b = sim_results[label], moto_results[label]
        if a.get('error') or b.get('error'):
            if (a.get('error'), a['status']) != (b.get('error'), b['status']):
                found.append((label, '', 'outcome: awssim %s %s, moto %s %s' % (
                    a['status'], a.get('error', 'ok'), b['status'], b.get('error', 'ok'))))
            continue
        if a['status'] != b['status']:
            found.append((label, '', 'HTTP status: awssim %s, moto %s' % (a['status'], b['status'])))
        for path, what in diff(a['response'], b['response'], '', []):
            found.append((label, path, what))
    unexplained, explained, used = [], [], set()
    for label, path, what in found:
        generic = re.sub(r'\[\d+\]', '[]', path)
        key = next((k for k in known
                    if fnmatch.fnmatchcase(label, k[0]) and
                    (generic == k[1] if k[1] == '' or path == '' else fnmatch.fnmatchcase(generic, k[1]))),
                   None)
        if key is None:
            unexplained.append((label, path, what))
        else:
            used.add(key)
            explained.append((label, path, what, known[key]))
    stale = [k for k in known if k not in used]
    return unexplained, explained, stale


def self_test():
    """The comparison must catch an unlisted difference and accept a listed one."""
    steps = [step('t', None, None)]
    a = {'t': {'status': 200, 'response': {'A': 1, 'B': [1, 2]}}}
    b = {'t': {'status': 200, 'response': {'A': 2, 'B': [1], 'C': 'x'}}}
    un, ex, st = compare(a, b, steps, {})
    assert sorted(u[1] for u in un) == ['A', 'B', 'C'], un
    un, ex, st = compare(a, b, steps, {('t', 'A'): 'r', ('t', 'B'): 'r', ('t', 'C'): 'r', ('t', 'D'): 'r'})
    assert not un and len(ex) == 3 and st == [('t', 'D')], (un, ex, st)
    err = {'t': {'status': 400, 'error': 'X'}}
    assert compare(a, err, steps, {})[0], 'an error on one side only must be a difference'


def main():
    self_test()
    if importlib.util.find_spec('moto') is None:
        skip('moto is not installed for %s: the comparison was not run' % sys.executable)
    import moto
    print('comparing awssim with moto %s (%d steps)' % (moto.__version__, len(SCENARIO)))
    proc, port = start_moto()
    moto_endpoint = 'http://127.0.0.1:%d' % port
    try:
        with AwsSim(strict=True) as sim:
            # Transitions complete by the next call, so states match where moto has none.
            sim.delays(rds=0, cloudfront=0, ecs=0, elasticache=0, rotation=0, **{'lambda': 0})
            sim_results = run_scenario(sim.endpoint, 'awssim', strict=True)
            server_errors = [c for c in sim.calls() if c['status'] >= 500]
        moto_results = run_scenario(moto_endpoint, 'moto', strict=False)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    unexplained, explained, stale = compare(sim_results, moto_results)
    same = [s['label'] for s in SCENARIO if not s['only'] and
            not any(u[0] == s['label'] for u in unexplained + explained)]
    print('\n%d steps answered identically (up to volatile values)' % len(same))
    print('\nknown moto differences: %d, explained by %d entries of moto_differences.py:'
          % (len(explained), len({e[3] for e in explained})))
    by_reason = {}
    for label, path, what, why in explained:
        by_reason.setdefault(why, []).append('%s %s: %s' % (label, path or '(outcome)', what))
    for why, items in by_reason.items():
        print('  - %s' % why)
        for item in items[:3]:
            print('      %s' % item[:150])
        if len(items) > 3:
            print('      ... and %d more' % (len(items) - 3))
    for k in stale:
        print('WARNING: listed difference not seen (moto fixed?): %s %s' % k)
    if server_errors:
        print('FAILED: awssim answered 5xx: %s' % server_errors[:3])
    if unexplained:
        print('\nFAILED: %d unexplained differences:' % len(unexplained))
        for label, path, what in unexplained:
            print('  %-34s %-40s %s' % (label, path or '-', what))
    return 1 if unexplained or server_errors else 0


if __name__ == '__main__':
    sys.exit(main())
