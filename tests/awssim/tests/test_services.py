#!/usr/bin/env python3
"""Real boto3 drives every simulated operation; each response must parse and fit its output
shape (harness.checked), and the behaviour must be what the AWS API reference documents:
pagination, exact filters, AWS error codes and statuses, state transitions over time."""

import base64
import json
import time

from harness import ACCOUNT, SimTestCase, main

ROLE = 'arn:aws:iam::%s:role/lambda-exec' % ACCOUNT
ROTATION_FN = 'arn:aws:lambda:us-east-1:%s:function:rotate-db' % ACCOUNT


def ecs_service(tc, cluster='demo', name='web', desired=2):
    ecs = tc.client('ecs')
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=name, containerDefinitions=[
        {'name': name, 'image': 'nginx', 'memory': 256}])
    return ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=name,
                              desiredCount=desired)['service']


def lambda_alias(tc, name='api', alias='live'):
    lam = tc.client('lambda')
    lam.create_function(FunctionName=name, Runtime='python3.12', Role=ROLE, Handler='app.handler',
                        Code={'ZipFile': b'print(1)'})
    v = lam.publish_version(FunctionName=name)['Version']
    lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=v)
    return v


def distribution_config(ref='ref-1', **extra):
    cfg = {'CallerReference': ref, 'Comment': 'shop', 'Enabled': True,
           'Origins': {'Quantity': 1, 'Items': [{
               'Id': 'app', 'DomainName': 'app.example.com',
               'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                      'OriginProtocolPolicy': 'https-only'}}]},
           'DefaultCacheBehavior': {'TargetOriginId': 'app', 'ViewerProtocolPolicy': 'redirect-to-https',
                                    'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}
    cfg.update(extra)
    return cfg


class ApplicationAutoScaling(SimTestCase):
    def setUp(self):
        super().setUp()
        self.aas = self.client('application-autoscaling')

    def register(self, rid='service/demo/web', lo=1, hi=10, ns='ecs', dim='ecs:service:DesiredCount'):
        return self.aas.register_scalable_target(ServiceNamespace=ns, ResourceId=rid,
                                                 ScalableDimension=dim, MinCapacity=lo, MaxCapacity=hi)

    def test_register_describe_deregister_ecs(self):
        ecs_service(self)
        arn = self.register()['ScalableTargetARN']
        self.assertRegex(arn, r'^arn:aws:application-autoscaling:us-east-1:%s:scalable-target/[0-9a-f]+$' % ACCOUNT)
        t = self.aas.describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets']
        self.assertEqual(len(t), 1)
        self.assertEqual((t[0]['MinCapacity'], t[0]['MaxCapacity']), (1, 10))
        self.assertIn('AWSServiceRoleForApplicationAutoScaling_ECSService', t[0]['RoleARN'])
        # An update changes only what it names.
        self.aas.register_scalable_target(ServiceNamespace='ecs', ResourceId='service/demo/web',
                                          ScalableDimension='ecs:service:DesiredCount', MaxCapacity=20)
        t = self.aas.describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets'][0]
        self.assertEqual((t['MinCapacity'], t['MaxCapacity']), (1, 20))
        self.aas.deregister_scalable_target(ServiceNamespace='ecs', ResourceId='service/demo/web',
                                            ScalableDimension='ecs:service:DesiredCount')
        self.assertEqual(self.aas.describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets'], [])
        self.assertAwsError('ObjectNotFoundException', self.aas.deregister_scalable_target,
                            ServiceNamespace='ecs', ResourceId='service/demo/web',
                            ScalableDimension='ecs:service:DesiredCount')

    def test_register_needs_existing_resource_and_bounds(self):
        self.assertAwsError('ValidationException', self.register, status=400)
        ecs_service(self)
        self.assertAwsError('ValidationException', self.aas.register_scalable_target,
                            ServiceNamespace='ecs', ResourceId='service/demo/web',
                            ScalableDimension='ecs:service:DesiredCount')
        self.assertAwsError('ValidationException', self.register, lo=5, hi=2)
        self.assertAwsError('ValidationException', self.register, dim='rds:cluster:ReadReplicaCount')

    def test_register_clamps_capacity_and_records_activity(self):
        ecs_service(self, desired=1)
        self.register(lo=3, hi=6)
        svc = self.client('ecs').describe_services(cluster='demo', services=['web'])['services'][0]
        self.assertEqual(svc['desiredCount'], 3)
        acts = self.aas.describe_scaling_activities(ServiceNamespace='ecs',
                                                    ResourceId='service/demo/web')['ScalingActivities']
        self.assertEqual(acts[0]['Description'], 'Setting desired count to 3.')
        self.assertEqual(acts[0]['StatusCode'], 'Successful')

    def test_other_dimensions(self):
        rds = self.client('rds')
        rds.create_db_cluster(DBClusterIdentifier='aurora', Engine='aurora-postgresql',
                              MasterUsername='admin', MasterUserPassword='secret-password')
        rds.create_db_instance(DBInstanceIdentifier='aurora-1', DBInstanceClass='db.r6g.large',
                               Engine='aurora-postgresql', DBClusterIdentifier='aurora')
        self.register('cluster:aurora', 2, 4, 'rds', 'rds:cluster:ReadReplicaCount')
        members = rds.describe_db_clusters(DBClusterIdentifier='aurora')['DBClusters'][0]['DBClusterMembers']
        self.assertEqual(sum(1 for m in members if not m['IsClusterWriter']), 2)
        ec = self.client('elasticache')
        ec.create_replication_group(ReplicationGroupId='sessions', ReplicationGroupDescription='s',
                                    ClusterMode='enabled', NumNodeGroups=2, ReplicasPerNodeGroup=1,
                                    CacheNodeType='cache.r7g.large')
        self.register('replication-group/sessions', 3, 5, 'elasticache',
                      'elasticache:replication-group:NodeGroups')
        self.register('replication-group/sessions', 2, 3, 'elasticache',
                      'elasticache:replication-group:Replicas')
        rg = ec.describe_replication_groups(ReplicationGroupId='sessions')['ReplicationGroups'][0]
        self.assertEqual(len(rg['NodeGroups']), 3)
        self.assertEqual(len(rg['NodeGroups'][0]['NodeGroupMembers']), 3)
        lambda_alias(self)
        self.register('function:api:live', 1, 10, 'lambda', 'lambda:function:ProvisionedConcurrency')
        pc = self.client('lambda').get_provisioned_concurrency_config(FunctionName='api', Qualifier='live')
        self.assertEqual(pc['RequestedProvisionedConcurrentExecutions'], 1)
        self.assertAwsError('ValidationException', self.register, 'function:api:$LATEST', 1, 2,
                            'lambda', 'lambda:function:ProvisionedConcurrency')
        for ns in ('rds', 'elasticache', 'lambda'):
            self.assertTrue(self.aas.describe_scalable_targets(ServiceNamespace=ns)['ScalableTargets'])

    def test_describe_targets_pagination_and_exact_filters(self):
        ecs = self.client('ecs')
        ecs_service(self, name='web')
        for n in ('web-2', 'web-3', 'api', 'worker', 'cron', 'batch'):
            ecs.register_task_definition(family=n, containerDefinitions=[{'name': n, 'image': 'x', 'memory': 128}])
            ecs.create_service(cluster='demo', serviceName=n, taskDefinition=n, desiredCount=1)
        names = ['web', 'web-2', 'web-3', 'api', 'worker', 'cron', 'batch']
        for n in names:
            self.register('service/demo/' + n)
        seen, token, pages = [], None, 0
        while True:
            kw = {'NextToken': token} if token else {}
            r = self.aas.describe_scalable_targets(ServiceNamespace='ecs', MaxResults=3, **kw)
            pages += 1
            self.assertLessEqual(len(r['ScalableTargets']), 3)
            seen += [t['ResourceId'] for t in r['ScalableTargets']]
            token = r.get('NextToken')
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), sorted('service/demo/' + n for n in names))
        # ResourceIds match exactly: no prefix or substring matches.
        r = self.aas.describe_scalable_targets(ServiceNamespace='ecs', ResourceIds=['service/demo/web'])
        self.assertEqual([t['ResourceId'] for t in r['ScalableTargets']], ['service/demo/web'])
        self.assertEqual(self.aas.describe_scalable_targets(
            ServiceNamespace='ecs', ResourceIds=['service/demo/we'])['ScalableTargets'], [])
        self.assertEqual(self.aas.describe_scalable_targets(ServiceNamespace='rds')['ScalableTargets'], [])
        self.assertAwsError('InvalidNextTokenException', self.aas.describe_scalable_targets,
                            ServiceNamespace='ecs', NextToken='not-a-token')
        self.assertAwsError('ValidationException', self.aas.describe_scalable_targets,
                            ServiceNamespace='ecs', MaxResults=51)
        # The paginator boto3 ships drives the same tokens.
        pager = self.aas.get_paginator('describe_scalable_targets')
        total = sum(len(p['ScalableTargets']) for p in
                    pager.paginate(ServiceNamespace='ecs', PaginationConfig={'PageSize': 2}))
        self.assertEqual(total, 7)

    def test_target_tracking_creates_alarms(self):
        ecs_service(self)
        self.register()
        r = self.aas.put_scaling_policy(
            PolicyName='cpu70', ServiceNamespace='ecs', ResourceId='service/demo/web',
            ScalableDimension='ecs:service:DesiredCount', PolicyType='TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration={
                'TargetValue': 70.0, 'ScaleInCooldown': 60, 'ScaleOutCooldown': 30,
                'PredefinedMetricSpecification': {'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}})
        self.assertIn(':scalingPolicy:', r['PolicyARN'])
        self.assertTrue(r['PolicyARN'].endswith(':resource/ecs/service/demo/web:policyName/cpu70'))
        names = sorted(a['AlarmName'] for a in r['Alarms'])
        self.assertEqual(len(names), 2)
        self.assertTrue(names[0].startswith('TargetTracking-service/demo/web-AlarmHigh-'))
        self.assertTrue(names[1].startswith('TargetTracking-service/demo/web-AlarmLow-'))
        cw = self.client('cloudwatch')
        alarms = cw.describe_alarms(AlarmNames=names)['MetricAlarms']
        self.assertEqual(len(alarms), 2)
        high = [a for a in alarms if 'AlarmHigh' in a['AlarmName']][0]
        self.assertEqual((high['Namespace'], high['MetricName'], high['Threshold']),
                         ('AWS/ECS', 'CPUUtilization', 70.0))
        self.assertEqual(sorted(d['Name'] for d in high['Dimensions']), ['ClusterName', 'ServiceName'])
        self.assertEqual(high['AlarmActions'], [r['PolicyARN']])
        # Updating keeps the ARN; DisableScaleIn drops the low alarm.
        r2 = self.aas.put_scaling_policy(
            PolicyName='cpu70', ServiceNamespace='ecs', ResourceId='service/demo/web',
            ScalableDimension='ecs:service:DesiredCount', PolicyType='TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration={
                'TargetValue': 60.0, 'DisableScaleIn': True,
                'PredefinedMetricSpecification': {'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}})
        self.assertEqual(r2['PolicyARN'], r['PolicyARN'])
        self.assertEqual(len(r2['Alarms']), 1)
        self.assertEqual(len(cw.describe_alarms(AlarmNamePrefix='TargetTracking-')['MetricAlarms']), 1)
        self.aas.delete_scaling_policy(PolicyName='cpu70', ServiceNamespace='ecs',
                                       ResourceId='service/demo/web',
                                       ScalableDimension='ecs:service:DesiredCount')
        self.assertEqual(cw.describe_alarms(AlarmNamePrefix='TargetTracking-')['MetricAlarms'], [])
        self.assertAwsError('ObjectNotFoundException', self.aas.delete_scaling_policy,
                            PolicyName='cpu70', ServiceNamespace='ecs', ResourceId='service/demo/web',
                            ScalableDimension='ecs:service:DesiredCount')

    def test_policy_validation(self):
        ecs_service(self)
        base = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                    ScalableDimension='ecs:service:DesiredCount')
        self.assertAwsError('ObjectNotFoundException', self.aas.put_scaling_policy, PolicyName='p',
                            PolicyType='StepScaling', StepScalingPolicyConfiguration={
                                'AdjustmentType': 'ChangeInCapacity',
                                'StepAdjustments': [{'MetricIntervalLowerBound': 0, 'ScalingAdjustment': 1}]},
                            **base)
        self.register()
        self.assertAwsError('ValidationException', self.aas.put_scaling_policy, PolicyName='p',
                            PolicyType='TargetTrackingScaling',
                            TargetTrackingScalingPolicyConfiguration={
                                'TargetValue': 50.0, 'PredefinedMetricSpecification': {
                                    'PredefinedMetricType': 'RDSReaderAverageCPUUtilization'}}, **base)
        self.assertAwsError('ValidationException', self.aas.put_scaling_policy, PolicyName='p',
                            PolicyType='StepScaling', StepScalingPolicyConfiguration={
                                'AdjustmentType': 'ChangeInCapacity', 'StepAdjustments': [
                                    {'MetricIntervalLowerBound': 0, 'MetricIntervalUpperBound': 20, 'ScalingAdjustment': 1},
                                    {'MetricIntervalLowerBound': 10, 'ScalingAdjustment': 2}]}, **base)

    def test_describe_policies_filters_and_paging(self):
        ecs = self.client('ecs')
        ecs_service(self)
        ecs.register_task_definition(family='web2', containerDefinitions=[{'name': 'w', 'image': 'x', 'memory': 128}])
        ecs.create_service(cluster='demo', serviceName='web2', taskDefinition='web2', desiredCount=1)
        for rid in ('service/demo/web', 'service/demo/web2'):
            self.register(rid)
            for i in range(3):
                self.aas.put_scaling_policy(
                    PolicyName='step-%d' % i, ServiceNamespace='ecs', ResourceId=rid,
                    ScalableDimension='ecs:service:DesiredCount', PolicyType='StepScaling',
                    StepScalingPolicyConfiguration={'AdjustmentType': 'ChangeInCapacity', 'Cooldown': 60,
                                                    'StepAdjustments': [{'MetricIntervalLowerBound': 0.0,
                                                                         'ScalingAdjustment': 1}]})
        r = self.aas.describe_scaling_policies(ServiceNamespace='ecs', PolicyNames=['step-1'])
        self.assertEqual(len(r['ScalingPolicies']), 2)
        r = self.aas.describe_scaling_policies(ServiceNamespace='ecs', PolicyNames=['step-1'],
                                               ResourceId='service/demo/web')
        self.assertEqual([(p['ResourceId'], p['PolicyName']) for p in r['ScalingPolicies']],
                         [('service/demo/web', 'step-1')])
        self.assertEqual(self.aas.describe_scaling_policies(
            ServiceNamespace='ecs', ResourceId='service/demo/we')['ScalingPolicies'], [])
        r = self.aas.describe_scaling_policies(ServiceNamespace='ecs', MaxResults=4)
        self.assertEqual(len(r['ScalingPolicies']), 4)
        r2 = self.aas.describe_scaling_policies(ServiceNamespace='ecs', MaxResults=4, NextToken=r['NextToken'])
        self.assertEqual(len(r2['ScalingPolicies']), 2)
        self.assertNotIn('NextToken', r2)
        self.assertAwsError('ValidationException', self.aas.describe_scaling_policies,
                            ServiceNamespace='ecs', MaxResults=11)

    def test_step_policy_runs_on_alarm(self):
        ecs_service(self, desired=2)
        self.register(lo=1, hi=5)
        arn = self.aas.put_scaling_policy(
            PolicyName='out', ServiceNamespace='ecs', ResourceId='service/demo/web',
            ScalableDimension='ecs:service:DesiredCount', PolicyType='StepScaling',
            StepScalingPolicyConfiguration={'AdjustmentType': 'ChangeInCapacity',
                                            'StepAdjustments': [{'MetricIntervalLowerBound': 0,
                                                                 'ScalingAdjustment': 2}]})['PolicyARN']
        cw = self.client('cloudwatch')
        cw.put_metric_alarm(AlarmName='web-cpu-high', Namespace='AWS/ECS', MetricName='CPUUtilization',
                            Statistic='Average', Period=60, EvaluationPeriods=1, Threshold=80,
                            ComparisonOperator='GreaterThanThreshold', AlarmActions=[arn])
        cw.set_alarm_state(AlarmName='web-cpu-high', StateValue='ALARM', StateReason='load test')
        svc = self.client('ecs').describe_services(cluster='demo', services=['web'])['services'][0]
        self.assertEqual(svc['desiredCount'], 4)
        acts = self.aas.describe_scaling_activities(ServiceNamespace='ecs')['ScalingActivities']
        self.assertIn('web-cpu-high', acts[0]['Cause'])
        self.assertEqual(acts[0]['Description'], 'Setting desired count to 4.')

    def test_scheduled_actions(self):
        ecs_service(self)
        self.register()
        base = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                    ScalableDimension='ecs:service:DesiredCount')
        good = ['cron(0 8 ? * MON-FRI *)', 'cron(30 18 1 * ? *)', 'cron(0/15 * ? * * *)',
                'rate(1 hour)', 'rate(5 minutes)', 'at(2030-01-31T08:00:00)']
        for i, s in enumerate(good):
            self.aas.put_scheduled_action(ScheduledActionName='a%d' % i, Schedule=s,
                                          Timezone='Europe/Paris',
                                          ScalableTargetAction={'MinCapacity': 2, 'MaxCapacity': 8}, **base)
        bad = ['0 8 * * MON-FRI', 'cron(0 8 * * MON-FRI *)', 'cron(0 8 ? * ? *)', 'cron(61 8 ? * * *)',
               'cron(0 8 ? * MON-FRI)', 'rate(1 hours)', 'rate(5 minute)', 'rate(0 days)',
               'at(2030-02-30T08:00:00)', 'at(2030-01-31 08:00:00)', 'every day']
        for s in bad:
            self.assertAwsError('ValidationException', self.aas.put_scheduled_action,
                                ScheduledActionName='bad', Schedule=s,
                                ScalableTargetAction={'MinCapacity': 1}, **base)
        self.assertAwsError('ValidationException', self.aas.put_scheduled_action,
                            ScheduledActionName='bad', Schedule='rate(1 day)', Timezone='Mars/Olympus',
                            ScalableTargetAction={'MinCapacity': 1}, **base)
        r = self.aas.describe_scheduled_actions(ServiceNamespace='ecs', ScheduledActionNames=['a0', 'a5'])
        got = {a['ScheduledActionName']: a for a in r['ScheduledActions']}
        self.assertEqual(sorted(got), ['a0', 'a5'])
        self.assertEqual(got['a0']['Schedule'], 'cron(0 8 ? * MON-FRI *)')
        self.assertEqual(got['a0']['Timezone'], 'Europe/Paris')
        self.assertEqual(got['a0']['ScalableTargetAction'], {'MinCapacity': 2, 'MaxCapacity': 8})
        page = self.aas.describe_scheduled_actions(ServiceNamespace='ecs', MaxResults=4)
        self.assertEqual(len(page['ScheduledActions']), 4)
        rest = self.aas.describe_scheduled_actions(ServiceNamespace='ecs', NextToken=page['NextToken'])
        self.assertEqual(len(rest['ScheduledActions']), 2)
        self.aas.delete_scheduled_action(ScheduledActionName='a0', **base)
        self.assertAwsError('ObjectNotFoundException', self.aas.delete_scheduled_action,
                            ScheduledActionName='a0', **base)
        # Deregistering the target deletes its scheduled actions and policies.
        self.aas.deregister_scalable_target(**base)
        self.assertEqual(self.aas.describe_scheduled_actions(ServiceNamespace='ecs')['ScheduledActions'], [])

    def test_tags(self):
        ecs_service(self)
        arn = self.aas.register_scalable_target(
            ServiceNamespace='ecs', ResourceId='service/demo/web',
            ScalableDimension='ecs:service:DesiredCount', MinCapacity=1, MaxCapacity=3,
            Tags={'team': 'shop'})['ScalableTargetARN']
        self.aas.tag_resource(ResourceARN=arn, Tags={'env': 'prod', 'team': 'checkout'})
        self.assertEqual(self.aas.list_tags_for_resource(ResourceARN=arn)['Tags'],
                         {'team': 'checkout', 'env': 'prod'})
        self.aas.untag_resource(ResourceARN=arn, TagKeys=['team'])
        self.assertEqual(self.aas.list_tags_for_resource(ResourceARN=arn)['Tags'], {'env': 'prod'})
        self.assertAwsError('ResourceNotFoundException', self.aas.list_tags_for_resource,
                            ResourceARN=arn[:-4] + 'ffff')


class ECS(SimTestCase):
    def test_cluster_taskdef_service_lifecycle(self):
        ecs = self.client('ecs')
        self.assertEqual(ecs.create_cluster(clusterName='demo')['cluster']['status'], 'ACTIVE')
        td1 = ecs.register_task_definition(family='web', containerDefinitions=[
            {'name': 'web', 'image': 'nginx:1', 'memory': 256}])['taskDefinition']
        td2 = ecs.register_task_definition(family='web', containerDefinitions=[
            {'name': 'web', 'image': 'nginx:2', 'memory': 256}])['taskDefinition']
        self.assertEqual((td1['revision'], td2['revision']), (1, 2))
        self.assertTrue(td2['taskDefinitionArn'].endswith(':task-definition/web:2'))
        svc = ecs.create_service(cluster='demo', serviceName='web', taskDefinition='web:1',
                                 desiredCount=2, tags=[{'key': 'team', 'value': 'shop'}])['service']
        self.assertEqual((svc['status'], svc['desiredCount'], svc['runningCount']), ('ACTIVE', 2, 0))
        self.wait_for(lambda: ecs.describe_services(cluster='demo', services=['web'])
                      ['services'][0]['runningCount'] == 2)
        r = ecs.update_service(cluster='demo', service='web', desiredCount=5, taskDefinition='web')
        self.assertEqual(r['service']['taskDefinition'], td2['taskDefinitionArn'])
        self.assertEqual(r['service']['desiredCount'], 5)
        svc = self.wait_for(lambda: [s for s in ecs.describe_services(
            cluster='demo', services=['web'], include=['TAGS'])['services'] if s['runningCount'] == 5])[0]
        self.assertEqual(svc['tags'], [{'key': 'team', 'value': 'shop'}])
        self.assertEqual(svc['events'][0]['message'], '(service web) has reached a steady state.')
        self.assertNotIn('tags', ecs.describe_services(cluster='demo', services=['web'])['services'][0])

    def test_describe_services_limits_and_failures(self):
        ecs = self.client('ecs')
        ecs_service(self)
        r = ecs.describe_services(cluster='demo', services=['web', 'gone'])
        self.assertEqual([s['serviceName'] for s in r['services']], ['web'])
        self.assertEqual(r['failures'], [{'arn': 'arn:aws:ecs:us-east-1:%s:service/demo/gone' % ACCOUNT,
                                          'reason': 'MISSING'}])
        arn = r['services'][0]['serviceArn']
        self.assertEqual(len(ecs.describe_services(cluster='demo', services=[arn])['services']), 1)
        self.assertEqual(len(ecs.describe_services(cluster='demo', services=['web'] * 10)['services']), 10)
        self.assertAwsError('InvalidParameterException', ecs.describe_services, cluster='demo',
                            services=['web'] * 11)
        self.assertAwsError('ClusterNotFoundException', ecs.describe_services, cluster='nope',
                            services=['web'])
        self.assertAwsError('ServiceNotFoundException', ecs.update_service, cluster='demo',
                            service='gone', desiredCount=1)
        self.assertAwsError('InvalidParameterException', ecs.create_service, cluster='demo',
                            serviceName='web', taskDefinition='web', desiredCount=1)
        self.assertAwsError('ClientException', ecs.create_service, cluster='demo',
                            serviceName='other', taskDefinition='missing:3', desiredCount=1)


class RDS(SimTestCase):
    def setUp(self):
        super().setUp()
        self.rds = self.client('rds')

    def create(self, ident='orders', cls='db.t4g.small', **kw):
        return self.rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass=cls,
                                           Engine='postgres', AllocatedStorage=20, MasterUsername='app',
                                           MasterUserPassword='secret-password', **kw)['DBInstance']

    def status(self, ident='orders'):
        return self.rds.describe_db_instances(DBInstanceIdentifier=ident)['DBInstances'][0]

    def test_create_then_available(self):
        inst = self.create('Orders-DB')
        self.assertEqual(inst['DBInstanceIdentifier'], 'orders-db')
        self.assertEqual(inst['DBInstanceStatus'], 'creating')
        self.wait_for(lambda: self.status('orders-db')['DBInstanceStatus'] == 'available')
        self.assertAwsError('DBInstanceAlreadyExists', self.create, 'orders-db')
        self.assertAwsError('InvalidParameterCombination', self.create, 'other', 'db.huge.nope')
        self.assertAwsError('DBInstanceNotFound', self.rds.describe_db_instances,
                            DBInstanceIdentifier='nope', status=404)

    def test_modify_apply_immediately(self):
        self.create(MaxAllocatedStorage=100)
        self.sim.settle()
        r = self.rds.modify_db_instance(DBInstanceIdentifier='orders', DBInstanceClass='db.m5.large',
                                        ApplyImmediately=True)['DBInstance']
        self.assertEqual(r['DBInstanceStatus'], 'modifying')
        self.assertEqual(r['PendingModifiedValues'], {'DBInstanceClass': 'db.m5.large'})
        self.assertEqual(r['DBInstanceClass'], 'db.t4g.small')
        self.assertAwsError('InvalidDBInstanceState', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', DBInstanceClass='db.m5.xlarge',
                            ApplyImmediately=True)
        inst = self.wait_for(lambda: [i for i in [self.status()] if i['DBInstanceStatus'] == 'available'])[0]
        self.assertEqual(inst['DBInstanceClass'], 'db.m5.large')
        self.assertEqual(inst['PendingModifiedValues'], {})
        self.assertEqual(inst['MaxAllocatedStorage'], 100)

    def test_modify_pending_until_maintenance(self):
        self.create()
        self.sim.settle()
        r = self.rds.modify_db_instance(DBInstanceIdentifier='orders', DBInstanceClass='db.m5.large',
                                        MaxAllocatedStorage=200)['DBInstance']
        self.assertEqual(r['DBInstanceStatus'], 'available')
        self.assertEqual(r['PendingModifiedValues'], {'DBInstanceClass': 'db.m5.large'})
        self.assertEqual(r['MaxAllocatedStorage'], 200)   # storage autoscaling applies at once
        time.sleep(0.5)
        self.assertEqual(self.status()['DBInstanceClass'], 'db.t4g.small')
        self.assertEqual(self.sim.control('POST', 'rds/maintenance', {})['applied'], 1)
        self.assertEqual(self.status()['DBInstanceClass'], 'db.m5.large')
        self.assertAwsError('InvalidParameterCombination', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', MaxAllocatedStorage=10)
        self.assertAwsError('InvalidParameterCombination', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', DBInstanceClass='db.t4g.gigantic')
        self.assertAwsError('DBInstanceNotFound', self.rds.modify_db_instance,
                            DBInstanceIdentifier='nope', DBInstanceClass='db.m5.large')

    def test_describe_filters_and_markers(self):
        for i in range(25):
            self.create('db-%02d' % i, Tags=[{'Key': 'n', 'Value': str(i)}])
        r = self.rds.describe_db_instances(MaxRecords=20)
        self.assertEqual(len(r['DBInstances']), 20)
        r2 = self.rds.describe_db_instances(MaxRecords=20, Marker=r['Marker'])
        self.assertEqual(len(r2['DBInstances']), 5)
        self.assertNotIn('Marker', r2)
        ids = [i['DBInstanceIdentifier'] for i in r['DBInstances'] + r2['DBInstances']]
        self.assertEqual(ids, sorted('db-%02d' % i for i in range(25)))
        r = self.rds.describe_db_instances(Filters=[{'Name': 'db-instance-id', 'Values': ['db-01', 'db-1']}])
        self.assertEqual([i['DBInstanceIdentifier'] for i in r['DBInstances']], ['db-01'])
        r = self.rds.describe_db_instances(Filters=[{'Name': 'engine', 'Values': ['mysql']}])
        self.assertEqual(r['DBInstances'], [])
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances,
                            Filters=[{'Name': 'instance-class', 'Values': ['x']}])
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances, MaxRecords=19)
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances, MaxRecords=101)

    def test_clusters(self):
        c = self.rds.create_db_cluster(DBClusterIdentifier='aurora', Engine='aurora-postgresql',
                                       MasterUsername='admin', MasterUserPassword='secret-password')['DBCluster']
        self.assertEqual(c['Status'], 'creating')
        self.rds.create_db_instance(DBInstanceIdentifier='aurora-w', DBInstanceClass='db.r6g.large',
                                    Engine='aurora-postgresql', DBClusterIdentifier='aurora')
        self.rds.create_db_instance(DBInstanceIdentifier='aurora-r', DBInstanceClass='db.r6g.large',
                                    Engine='aurora-postgresql', DBClusterIdentifier='aurora')
        cl = self.wait_for(lambda: [x for x in self.rds.describe_db_clusters(
            DBClusterIdentifier='aurora')['DBClusters'] if x['Status'] == 'available'])[0]
        self.assertEqual([(m['DBInstanceIdentifier'], m['IsClusterWriter']) for m in cl['DBClusterMembers']],
                         [('aurora-w', True), ('aurora-r', False)])
        r = self.rds.describe_db_instances(Filters=[{'Name': 'db-cluster-id', 'Values': ['aurora']}])
        self.assertEqual(len(r['DBInstances']), 2)
        self.assertAwsError('DBClusterNotFoundFault', self.rds.describe_db_clusters,
                            DBClusterIdentifier='nope', status=404)
        self.assertAwsError('DBClusterNotFoundFault', self.rds.create_db_instance,
                            DBInstanceIdentifier='x', DBInstanceClass='db.r6g.large',
                            Engine='aurora-postgresql', DBClusterIdentifier='nope')


class ElastiCache(SimTestCase):
    def test_replication_groups(self):
        ec = self.client('elasticache')
        r = ec.create_replication_group(ReplicationGroupId='Sessions', ReplicationGroupDescription='s',
                                        ClusterMode='enabled', NumNodeGroups=2, ReplicasPerNodeGroup=1,
                                        CacheNodeType='cache.r7g.large', Engine='redis')['ReplicationGroup']
        self.assertEqual((r['ReplicationGroupId'], r['Status'], r['ClusterEnabled']), ('sessions', 'creating', True))
        self.assertEqual(len(r['MemberClusters']), 4)
        ec.create_replication_group(ReplicationGroupId='cache', ReplicationGroupDescription='c',
                                    NumCacheClusters=2, CacheNodeType='cache.t4g.small',
                                    AutomaticFailoverEnabled=True)
        g = self.wait_for(lambda: [x for x in ec.describe_replication_groups(
            ReplicationGroupId='cache')['ReplicationGroups'] if x['Status'] == 'available'])[0]
        self.assertEqual([m['CurrentRole'] for m in g['NodeGroups'][0]['NodeGroupMembers']],
                         ['primary', 'replica'])
        self.assertEqual(len(ec.describe_replication_groups()['ReplicationGroups']), 2)
        self.assertAwsError('ReplicationGroupNotFoundFault', ec.describe_replication_groups,
                            ReplicationGroupId='nope', status=404)
        self.assertAwsError('ReplicationGroupAlreadyExists', ec.create_replication_group,
                            ReplicationGroupId='cache', ReplicationGroupDescription='c', NumCacheClusters=1)
        self.assertAwsError('InvalidParameterValue', ec.describe_replication_groups, MaxRecords=10)
        self.assertAwsError('InvalidParameterCombination', ec.create_replication_group,
                            ReplicationGroupId='solo', ReplicationGroupDescription='c', NumCacheClusters=1,
                            AutomaticFailoverEnabled=True)

    def test_markers(self):
        ec = self.client('elasticache')
        for i in range(23):
            ec.create_replication_group(ReplicationGroupId='g%02d' % i, ReplicationGroupDescription='g',
                                        NumCacheClusters=1)
        r = ec.describe_replication_groups(MaxRecords=20)
        r2 = ec.describe_replication_groups(MaxRecords=20, Marker=r['Marker'])
        self.assertEqual((len(r['ReplicationGroups']), len(r2['ReplicationGroups'])), (20, 3))


class Lambda(SimTestCase):
    def setUp(self):
        super().setUp()
        self.lam = self.client('lambda')

    def test_functions_versions_aliases(self):
        fn = self.lam.create_function(FunctionName='api', Runtime='python3.12', Role=ROLE,
                                      Handler='app.handler', Code={'ZipFile': b'code'},
                                      Tags={'team': 'shop'})
        self.assertEqual(fn['State'], 'Pending')
        self.assertEqual(fn['CodeSha256'], base64.b64encode(__import__('hashlib').sha256(b'code').digest()).decode())
        self.assertEqual(self.lam.get_function(FunctionName='api')['Configuration']['State'], 'Active')
        self.assertAwsError('ResourceConflictException', self.lam.create_function, FunctionName='api',
                            Runtime='python3.12', Role=ROLE, Handler='h', Code={'ZipFile': b'x'}, status=409)
        v1 = self.lam.publish_version(FunctionName='api')
        self.assertEqual(v1['Version'], '1')
        self.assertTrue(v1['FunctionArn'].endswith(':function:api:1'))
        self.assertEqual(self.lam.publish_version(FunctionName='api')['Version'], '1')   # unchanged
        self.assertEqual(self.lam.publish_version(FunctionName='api', Description='v2')['Version'], '2')
        a = self.lam.create_alias(FunctionName='api', Name='live', FunctionVersion='1')
        self.assertEqual(a['AliasArn'], 'arn:aws:lambda:us-east-1:%s:function:api:live' % ACCOUNT)
        self.assertEqual(self.lam.get_alias(FunctionName='api', Name='live')['FunctionVersion'], '1')
        self.assertAwsError('ResourceConflictException', self.lam.create_alias, FunctionName='api',
                            Name='live', FunctionVersion='1')
        self.assertAwsError('ResourceNotFoundException', self.lam.create_alias, FunctionName='api',
                            Name='beta', FunctionVersion='9', status=404)
        got = self.lam.get_function(FunctionName='arn:aws:lambda:us-east-1:%s:function:api:live' % ACCOUNT)
        self.assertEqual(got['Configuration']['Version'], '1')
        self.assertEqual(got['Tags'], {'team': 'shop'})
        self.assertAwsError('ResourceNotFoundException', self.lam.get_function, FunctionName='nope', status=404)

    def test_reserved_concurrency(self):
        lambda_alias(self)
        self.assertNotIn('ReservedConcurrentExecutions', self.lam.get_function_concurrency(FunctionName='api'))
        self.assertEqual(self.lam.put_function_concurrency(
            FunctionName='api', ReservedConcurrentExecutions=50)['ReservedConcurrentExecutions'], 50)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName='api')['ReservedConcurrentExecutions'], 50)
        self.assertEqual(self.lam.get_function(FunctionName='api')['Concurrency'],
                         {'ReservedConcurrentExecutions': 50})
        self.assertAwsError('InvalidParameterValueException', self.lam.put_function_concurrency,
                            FunctionName='api', ReservedConcurrentExecutions=901)
        self.lam.delete_function_concurrency(FunctionName='api')
        self.assertNotIn('ReservedConcurrentExecutions', self.lam.get_function_concurrency(FunctionName='api'))

    def test_provisioned_concurrency(self):
        lambda_alias(self)
        r = self.lam.put_provisioned_concurrency_config(FunctionName='api', Qualifier='live',
                                                        ProvisionedConcurrentExecutions=10)
        self.assertEqual(r['ResponseMetadata']['HTTPStatusCode'], 202)
        self.assertEqual((r['Status'], r['RequestedProvisionedConcurrentExecutions'],
                          r['AllocatedProvisionedConcurrentExecutions']), ('IN_PROGRESS', 10, 0))
        ready = self.wait_for(lambda: [c for c in [self.lam.get_provisioned_concurrency_config(
            FunctionName='api', Qualifier='live')] if c['Status'] == 'READY'])[0]
        self.assertEqual(ready['AvailableProvisionedConcurrentExecutions'], 10)
        listed = self.lam.list_provisioned_concurrency_configs(FunctionName='api')
        self.assertEqual(len(listed['ProvisionedConcurrencyConfigs']), 1)
        self.assertAwsError('InvalidParameterValueException', self.lam.put_provisioned_concurrency_config,
                            FunctionName='api', Qualifier='$LATEST', ProvisionedConcurrentExecutions=1)
        self.lam.put_function_concurrency(FunctionName='api', ReservedConcurrentExecutions=20)
        self.assertAwsError('InvalidParameterValueException', self.lam.put_provisioned_concurrency_config,
                            FunctionName='api', Qualifier='1', ProvisionedConcurrentExecutions=11)
        self.lam.delete_provisioned_concurrency_config(FunctionName='api', Qualifier='live')
        self.assertAwsError('ProvisionedConcurrencyConfigNotFoundException',
                            self.lam.get_provisioned_concurrency_config, FunctionName='api',
                            Qualifier='live', status=404)

    def test_tags(self):
        lambda_alias(self)
        arn = 'arn:aws:lambda:us-east-1:%s:function:api' % ACCOUNT
        self.lam.tag_resource(Resource=arn, Tags={'a': '1', 'b': '2'})
        self.lam.untag_resource(Resource=arn, TagKeys=['a'])
        self.assertEqual(self.lam.list_tags(Resource=arn)['Tags'], {'b': '2'})


class CloudFront(SimTestCase):
    def setUp(self):
        super().setUp()
        self.cf = self.client('cloudfront')

    def test_create_get_update_etags_and_deploy(self):
        cfg = distribution_config(Logging={'Enabled': True, 'IncludeCookies': False,
                                           'Bucket': 'logs.s3.amazonaws.com', 'Prefix': 'cf/'},
                                  CustomErrorResponses={'Quantity': 1, 'Items': [
                                      {'ErrorCode': 404, 'ResponsePagePath': '/404.html',
                                       'ResponseCode': '404', 'ErrorCachingMinTTL': 10}]})
        r = self.cf.create_distribution(DistributionConfig=cfg)
        self.assertEqual(r['ResponseMetadata']['HTTPStatusCode'], 201)
        did, etag = r['Distribution']['Id'], r['ETag']
        self.assertRegex(did, r'^E[A-Z0-9]{13}$')
        self.assertTrue(r['Location'].endswith('/2020-05-31/distribution/' + did))
        self.assertEqual(r['Distribution']['Status'], 'InProgress')
        self.wait_for(lambda: self.cf.get_distribution(Id=did)['Distribution']['Status'] == 'Deployed')
        got = self.cf.get_distribution_config(Id=did)
        self.assertEqual(got['ETag'], etag)
        new_cfg = got['DistributionConfig']
        new_cfg['PriceClass'] = 'PriceClass_100'
        new_cfg['Origins']['Items'][0]['OriginShield'] = {'Enabled': True, 'OriginShieldRegion': 'eu-west-1'}
        self.assertAwsError('InvalidIfMatchVersion', self.cf.update_distribution, Id=did,
                            DistributionConfig=new_cfg)
        u = self.cf.update_distribution(Id=did, IfMatch=etag, DistributionConfig=new_cfg)
        self.assertNotEqual(u['ETag'], etag)
        self.assertEqual(u['Distribution']['Status'], 'InProgress')
        self.assertAwsError('PreconditionFailed', self.cf.update_distribution, Id=did, IfMatch=etag,
                            DistributionConfig=new_cfg, status=412)
        after = self.cf.get_distribution_config(Id=did)['DistributionConfig']
        self.assertEqual(after['PriceClass'], 'PriceClass_100')
        # What the update did not touch is still there.
        self.assertEqual(after['Logging']['Prefix'], 'cf/')
        self.assertEqual(after['CustomErrorResponses']['Items'][0]['ResponsePagePath'], '/404.html')
        self.assertEqual(after['Origins']['Items'][0]['OriginShield']['OriginShieldRegion'], 'eu-west-1')
        self.wait_for(lambda: self.cf.get_distribution(Id=did)['Distribution']['Status'] == 'Deployed')
        bad = dict(new_cfg, CallerReference='other')
        self.assertAwsError('IllegalUpdate', self.cf.update_distribution, Id=did,
                            IfMatch=u['ETag'], DistributionConfig=bad)

    def test_errors_and_listing(self):
        self.assertAwsError('NoSuchDistribution', self.cf.get_distribution, Id='E000000000000', status=404)
        cfg = distribution_config()
        cfg['Aliases'] = {'Quantity': 2, 'Items': ['a.example.com']}
        self.assertAwsError('InconsistentQuantities', self.cf.create_distribution, DistributionConfig=cfg)
        cfg = distribution_config()
        cfg['DefaultCacheBehavior']['TargetOriginId'] = 'missing'
        self.assertAwsError('NoSuchOrigin', self.cf.create_distribution, DistributionConfig=cfg)
        for i in range(3):
            self.cf.create_distribution(DistributionConfig=distribution_config('ref-%d' % i))
        self.assertAwsError('DistributionAlreadyExists', self.cf.create_distribution,
                            DistributionConfig=distribution_config('ref-0'), status=409)
        page = self.cf.list_distributions(MaxItems='2')['DistributionList']
        self.assertEqual((page['Quantity'], page['IsTruncated']), (2, True))
        rest = self.cf.list_distributions(Marker=page['NextMarker'])['DistributionList']
        self.assertEqual((rest['Quantity'], rest['IsTruncated']), (1, False))

    def test_tags(self):
        r = self.cf.create_distribution(DistributionConfig=distribution_config())
        arn = r['Distribution']['ARN']
        self.cf.tag_resource(Resource=arn, Tags={'Items': [{'Key': 'trimtab.dev/owner', 'Value': 'ns/shop'}]})
        self.assertEqual(self.cf.list_tags_for_resource(Resource=arn)['Tags']['Items'],
                         [{'Key': 'trimtab.dev/owner', 'Value': 'ns/shop'}])
        self.cf.untag_resource(Resource=arn, TagKeys={'Items': ['trimtab.dev/owner']})
        self.assertEqual(self.cf.list_tags_for_resource(Resource=arn)['Tags'].get('Items', []), [])
        self.assertAwsError('NoSuchResource', self.cf.list_tags_for_resource,
                            Resource='arn:aws:cloudfront::%s:distribution/E000000000000' % ACCOUNT)


class CloudWatch(SimTestCase):
    def setUp(self):
        super().setUp()
        self.cw = self.client('cloudwatch')

    def alarm(self, name, **kw):
        args = dict(AlarmName=name, Namespace='AWS/RDS', MetricName='WriteIOPS', Statistic='Average',
                    Period=60, EvaluationPeriods=3, Threshold=500, ComparisonOperator='GreaterThanThreshold')
        args.update(kw)
        self.cw.put_metric_alarm(**args)

    def test_put_describe_delete(self):
        self.alarm('orders-writes', Tags=[{'Key': 'owner', 'Value': 'a'}],
                   Dimensions=[{'Name': 'DBInstanceIdentifier', 'Value': 'orders'}])
        a = self.cw.describe_alarms(AlarmNames=['orders-writes'])['MetricAlarms'][0]
        self.assertEqual(a['StateValue'], 'INSUFFICIENT_DATA')
        self.assertEqual(a['AlarmArn'], 'arn:aws:cloudwatch:us-east-1:%s:alarm:orders-writes' % ACCOUNT)
        self.assertNotIn('DatapointsToAlarm', a)   # not set, so not reported
        self.cw.set_alarm_state(AlarmName='orders-writes', StateValue='ALARM', StateReason='test')
        # An update keeps the state and ignores Tags, as AWS documents.
        self.alarm('orders-writes', Threshold=600, Tags=[{'Key': 'owner', 'Value': 'b'}])
        a = self.cw.describe_alarms(AlarmNames=['orders-writes'])['MetricAlarms'][0]
        self.assertEqual((a['StateValue'], a['Threshold']), ('ALARM', 600.0))
        self.assertEqual(self.cw.list_tags_for_resource(ResourceARN=a['AlarmArn'])['Tags'],
                         [{'Key': 'owner', 'Value': 'a'}])
        self.cw.tag_resource(ResourceARN=a['AlarmArn'], Tags=[{'Key': 'owner', 'Value': 'c'}])
        self.cw.untag_resource(ResourceARN=a['AlarmArn'], TagKeys=['nothing'])
        self.assertEqual(self.cw.list_tags_for_resource(ResourceARN=a['AlarmArn'])['Tags'],
                         [{'Key': 'owner', 'Value': 'c'}])
        self.cw.delete_alarms(AlarmNames=['orders-writes', 'never-existed'])
        self.assertEqual(self.cw.describe_alarms()['MetricAlarms'], [])
        self.assertAwsError('ResourceNotFound', self.cw.set_alarm_state, AlarmName='orders-writes',
                            StateValue='OK', StateReason='x', status=404)
        self.assertAwsError('ResourceNotFoundException', self.cw.list_tags_for_resource,
                            ResourceARN=a['AlarmArn'])

    def test_hundred_names_and_paging(self):
        names = ['alarm-%03d' % i for i in range(120)]
        for n in names:
            self.alarm(n)
        r = self.cw.describe_alarms(AlarmNames=names[:100], MaxRecords=100)
        self.assertEqual(len(r['MetricAlarms']), 100)
        self.assertNotIn('NextToken', r)
        got, token = [], None
        while True:
            kw = {'NextToken': token} if token else {}
            r = self.cw.describe_alarms(MaxRecords=50, **kw)
            got += [a['AlarmName'] for a in r['MetricAlarms']]
            token = r.get('NextToken')
            if not token:
                break
        self.assertEqual(got, names)
        self.assertEqual(len(self.cw.describe_alarms()['MetricAlarms']), 50)   # default page
        self.assertAwsError('ValidationError', self.cw.describe_alarms, AlarmNames=names[:101])
        self.assertAwsError('InvalidNextToken', self.cw.describe_alarms, NextToken='garbage')
        r = self.cw.describe_alarms(AlarmNamePrefix='alarm-11')
        self.assertEqual(len(r['MetricAlarms']), 10)

    def test_composite_alarms_and_types(self):
        self.alarm('cpu')
        self.alarm('mem')
        self.cw.put_composite_alarm(AlarmName='both', AlarmRule='ALARM(cpu) AND ALARM("mem")')
        self.assertEqual(self.cw.describe_alarms()['CompositeAlarms'] if 'CompositeAlarms' in
                         self.cw.describe_alarms() else [], [])
        self.assertEqual([a['AlarmName'] for a in self.cw.describe_alarms()['MetricAlarms']], ['cpu', 'mem'])
        r = self.cw.describe_alarms(AlarmTypes=['CompositeAlarm'])
        self.assertEqual([a['AlarmName'] for a in r['CompositeAlarms']], ['both'])
        self.assertEqual(r['MetricAlarms'] if 'MetricAlarms' in r else [], [])
        state = lambda: self.cw.describe_alarms(AlarmNames=['both'], AlarmTypes=['CompositeAlarm'])[
            'CompositeAlarms'][0]['StateValue']
        self.assertEqual(state(), 'OK')
        self.cw.set_alarm_state(AlarmName='cpu', StateValue='ALARM', StateReason='x')
        self.assertEqual(state(), 'OK')
        self.cw.set_alarm_state(AlarmName='mem', StateValue='ALARM', StateReason='x')
        self.assertEqual(state(), 'ALARM')
        kids = self.cw.describe_alarms(ChildrenOfAlarmName='both')
        self.assertEqual(sorted(a['AlarmName'] for a in kids['MetricAlarms']), ['cpu', 'mem'])
        parents = self.cw.describe_alarms(ParentsOfAlarmName='cpu')
        self.assertEqual([a['AlarmName'] for a in parents['CompositeAlarms']], ['both'])
        self.assertAwsError('ValidationError', self.cw.put_composite_alarm, AlarmName='bad',
                            AlarmRule='ALARM(cpu) AND')
        self.assertAwsError('ValidationError', self.cw.put_composite_alarm, AlarmName='bad',
                            AlarmRule='ALARM(nope)')
        self.assertAwsError('ValidationError', self.cw.delete_alarms, AlarmNames=['cpu'])
        self.assertAwsError('InvalidFormat', self.cw.set_alarm_state, AlarmName='cpu',
                            StateValue='OK', StateReason='x', StateReasonData='{not json')

    def test_alarm_validation(self):
        self.assertAwsError('ValidationError', self.cw.put_metric_alarm, AlarmName='x',
                            EvaluationPeriods=1, ComparisonOperator='GreaterThanThreshold', Threshold=1)
        self.assertAwsError('InvalidParameterCombination', self.alarm, 'x', ExtendedStatistic='p95')
        self.assertAwsError('ValidationError', self.alarm, 'x', DatapointsToAlarm=5)
        self.assertAwsError('ValidationError', self.alarm, 'x' * 256)


class Budgets(SimTestCase):
    def setUp(self):
        super().setUp()
        self.b = self.client('budgets')

    def budget(self, name='team', amount='60', **kw):
        b = {'BudgetName': name, 'BudgetLimit': {'Amount': amount, 'Unit': 'EUR'},
             'TimeUnit': 'MONTHLY', 'BudgetType': 'COST'}
        b.update(kw)
        return b

    def test_budget_crud(self):
        note = {'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': 80.0,
                'ThresholdType': 'PERCENTAGE'}
        self.b.create_budget(AccountId=ACCOUNT, Budget=self.budget(), NotificationsWithSubscribers=[
            {'Notification': note, 'Subscribers': [{'SubscriptionType': 'EMAIL', 'Address': 'ops@example.com'}]}])
        got = self.b.describe_budget(AccountId=ACCOUNT, BudgetName='team')['Budget']
        self.assertEqual(got['BudgetLimit'], {'Amount': '60', 'Unit': 'EUR'})
        self.assertEqual(got['CalculatedSpend']['ActualSpend']['Amount'], '0')
        self.assertEqual(got['TimePeriod']['End'].year, 2087)
        self.assertAwsError('DuplicateRecordException', self.b.create_budget, AccountId=ACCOUNT,
                            Budget=self.budget())
        self.b.update_budget(AccountId=ACCOUNT, NewBudget=self.budget(amount='90'))
        self.assertEqual(self.b.describe_budget(AccountId=ACCOUNT, BudgetName='team')['Budget']
                         ['BudgetLimit']['Amount'], '90')
        self.assertAwsError('NotFoundException', self.b.update_budget, AccountId=ACCOUNT,
                            NewBudget=self.budget('other'))
        self.assertAwsError('AccessDeniedException', self.b.describe_budget, AccountId='999999999999',
                            BudgetName='team')
        for i in range(4):
            self.b.create_budget(AccountId=ACCOUNT, Budget=self.budget('b%d' % i))
        page = self.b.describe_budgets(AccountId=ACCOUNT, MaxResults=3)
        rest = self.b.describe_budgets(AccountId=ACCOUNT, MaxResults=3, NextToken=page['NextToken'])
        self.assertEqual(len(page['Budgets']) + len(rest['Budgets']), 5)
        self.b.delete_budget(AccountId=ACCOUNT, BudgetName='team')
        self.assertAwsError('NotFoundException', self.b.describe_budget, AccountId=ACCOUNT, BudgetName='team')
        self.assertAwsError('NotFoundException', self.b.delete_budget, AccountId=ACCOUNT, BudgetName='team')

    def test_notifications_subscribers_and_spend(self):
        self.b.create_budget(AccountId=ACCOUNT, Budget=self.budget())
        notes = [{'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': t,
                  'ThresholdType': 'PERCENTAGE'} for t in (50.0, 80.0, 100.0)]
        for n in notes:
            self.b.create_notification(AccountId=ACCOUNT, BudgetName='team', Notification=n,
                                       Subscribers=[{'SubscriptionType': 'EMAIL', 'Address': 'ops@example.com'}])
        self.assertAwsError('DuplicateRecordException', self.b.create_notification, AccountId=ACCOUNT,
                            BudgetName='team', Notification=notes[0],
                            Subscribers=[{'SubscriptionType': 'EMAIL', 'Address': 'x@example.com'}])
        self.sim.control('POST', 'budgets/spend', {'budget': 'team', 'actual': '45.00', 'forecasted': '70'})
        got = self.b.describe_budget(AccountId=ACCOUNT, BudgetName='team')['Budget']['CalculatedSpend']
        self.assertEqual(got['ActualSpend'], {'Amount': '45.00', 'Unit': 'EUR'})
        states = {n['Threshold']: n['NotificationState'] for n in
                  self.b.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName='team')['Notifications']}
        self.assertEqual(states, {50.0: 'ALARM', 80.0: 'OK', 100.0: 'OK'})
        self.b.create_subscriber(AccountId=ACCOUNT, BudgetName='team', Notification=notes[1],
                                 Subscriber={'SubscriptionType': 'SNS',
                                             'Address': 'arn:aws:sns:us-east-1:%s:alerts' % ACCOUNT})
        subs = self.b.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName='team',
                                                            Notification=notes[1])['Subscribers']
        self.assertEqual(len(subs), 2)
        self.assertAwsError('CreationLimitExceededException', self.b.create_subscriber, AccountId=ACCOUNT,
                            BudgetName='team', Notification=notes[1],
                            Subscriber={'SubscriptionType': 'SNS', 'Address': 'arn:aws:sns:us-east-1:%s:two' % ACCOUNT})
        self.b.update_subscriber(AccountId=ACCOUNT, BudgetName='team', Notification=notes[1],
                                 OldSubscriber={'SubscriptionType': 'EMAIL', 'Address': 'ops@example.com'},
                                 NewSubscriber={'SubscriptionType': 'EMAIL', 'Address': 'fin@example.com'})
        self.b.delete_subscriber(AccountId=ACCOUNT, BudgetName='team', Notification=notes[1],
                                 Subscriber={'SubscriptionType': 'EMAIL', 'Address': 'fin@example.com'})
        self.assertEqual(len(self.b.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName='team', Notification=notes[1])['Subscribers']), 1)
        new = dict(notes[2], Threshold=120.0)
        self.b.update_notification(AccountId=ACCOUNT, BudgetName='team', OldNotification=notes[2],
                                   NewNotification=new)
        self.b.delete_notification(AccountId=ACCOUNT, BudgetName='team', Notification=notes[0])
        left = self.b.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName='team')['Notifications']
        self.assertEqual(sorted(n['Threshold'] for n in left), [80.0, 120.0])
        self.assertAwsError('NotFoundException', self.b.delete_notification, AccountId=ACCOUNT,
                            BudgetName='team', Notification=notes[0])


class SecretsManager(SimTestCase):
    def setUp(self):
        super().setUp()
        self.sm = self.client('secretsmanager')
        self.sm.create_secret(Name='prod/db', SecretString='{"password":"one"}')

    def test_describe_and_schedules(self):
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertRegex(d['ARN'], r':secret:prod/db-[A-Za-z0-9]{6}$')
        self.assertEqual(list(d['VersionIdsToStages'].values()), [['AWSCURRENT']])
        self.assertEqual(self.sm.describe_secret(SecretId=d['ARN'])['Name'], 'prod/db')
        self.assertAwsError('ResourceExistsException', self.sm.create_secret, Name='prod/db', SecretString='x')
        self.assertAwsError('ResourceNotFoundException', self.sm.describe_secret, SecretId='nope')
        self.sm.rotate_secret(SecretId='prod/db', RotationLambdaARN=ROTATION_FN,
                              RotationRules={'ScheduleExpression': 'cron(0 4 ? * SUN *)', 'Duration': '3h'},
                              RotateImmediately=False)
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['RotationRules'], {'ScheduleExpression': 'cron(0 4 ? * SUN *)', 'Duration': '3h'})
        self.assertTrue(d['RotationEnabled'])
        self.assertEqual(d['NextRotationDate'].weekday(), 6)
        self.assertEqual(len(d['VersionIdsToStages']), 1)   # RotateImmediately=false rotates nothing
        self.sm.rotate_secret(SecretId='prod/db', RotationRules={'AutomaticallyAfterDays': 30},
                              RotateImmediately=False)
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['RotationRules'],
                         {'AutomaticallyAfterDays': 30})
        self.assertAwsError('InvalidParameterException', self.sm.rotate_secret, SecretId='prod/db',
                            RotationRules={'AutomaticallyAfterDays': 30, 'ScheduleExpression': 'rate(10 days)'})
        self.assertAwsError('InvalidParameterException', self.sm.rotate_secret, SecretId='prod/db',
                            RotationRules={'ScheduleExpression': 'rate(4 hours)', 'Duration': '5h'})

    def test_rotation_outcomes(self):
        r = self.sm.rotate_secret(SecretId='prod/db', RotationLambdaARN=ROTATION_FN,
                                  RotationRules={'AutomaticallyAfterDays': 7})
        first = r['VersionId']
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['VersionIdsToStages'][first], ['AWSCURRENT'])
        self.assertIn('AWSPREVIOUS', sum(d['VersionIdsToStages'].values(), []))
        self.assertIn('LastRotatedDate', d)
        self.sim.control('POST', 'secrets/rotation', {'outcome': 'leave-pending'})
        second = self.sm.rotate_secret(SecretId='prod/db')['VersionId']
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['VersionIdsToStages'][second], ['AWSPENDING'])
        self.assertEqual(d['VersionIdsToStages'][first], ['AWSCURRENT'])
        self.assertAwsError('InvalidRequestException', self.sm.rotate_secret, SecretId='prod/db')
        c = self.sm.cancel_rotate_secret(SecretId='prod/db')
        self.assertEqual(c['VersionId'], second)
        self.assertFalse(self.sm.describe_secret(SecretId='prod/db')['RotationEnabled'])
        self.sm.update_secret_version_stage(SecretId='prod/db', VersionStage='AWSPENDING',
                                            RemoveFromVersionId=second)
        self.sim.control('POST', 'secrets/rotation', {'outcome': 'succeed'})
        third = self.sm.rotate_secret(SecretId='prod/db')['VersionId']
        self.assertEqual(self.sm.get_secret_value(SecretId='prod/db')['VersionId'], third)
        vids = self.sm.list_secret_version_ids(SecretId='prod/db')['Versions']
        self.assertEqual({v['VersionId'] for v in vids}, {first, third})
        all_vids = self.sm.list_secret_version_ids(SecretId='prod/db', IncludeDeprecated=True)['Versions']
        self.assertEqual(len(all_vids), 4)
        page = self.sm.list_secret_version_ids(SecretId='prod/db', IncludeDeprecated=True, MaxResults=3)
        self.assertEqual(len(page['Versions']), 3)
        self.assertIn('NextToken', page)

    def test_replication_and_tags(self):
        r = self.sm.replicate_secret_to_regions(SecretId='prod/db', AddReplicaRegions=[
            {'Region': 'eu-west-1'}, {'Region': 'eu-central-1'}])
        self.assertEqual(sorted(s['Region'] for s in r['ReplicationStatus']), ['eu-central-1', 'eu-west-1'])
        self.assertEqual({s['Status'] for s in r['ReplicationStatus']}, {'InSync'})
        self.assertAwsError('InvalidParameterException', self.sm.replicate_secret_to_regions,
                            SecretId='prod/db', AddReplicaRegions=[{'Region': 'us-east-1'}])
        r = self.sm.remove_regions_from_replication(SecretId='prod/db', RemoveReplicaRegions=['eu-west-1'])
        self.assertEqual([s['Region'] for s in r['ReplicationStatus']], ['eu-central-1'])
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['PrimaryRegion'], 'us-east-1')
        self.sm.tag_resource(SecretId='prod/db', Tags=[{'Key': 'trimtab.dev/owner', 'Value': 'db/rot'}])
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['Tags'],
                         [{'Key': 'trimtab.dev/owner', 'Value': 'db/rot'}])
        self.sm.untag_resource(SecretId='prod/db', TagKeys=['trimtab.dev/owner'])
        self.assertNotIn('Tags', self.sm.describe_secret(SecretId='prod/db'))


class STS(SimTestCase):
    def test_identity_and_assume_role(self):
        sts = self.client('sts')
        me = sts.get_caller_identity()
        self.assertEqual((me['Account'], me['Arn']), (ACCOUNT, 'arn:aws:iam::%s:user/awssim' % ACCOUNT))
        r = sts.assume_role(RoleArn='arn:aws:iam::210987654321:role/trimtab', RoleSessionName='reconcile',
                            DurationSeconds=900)
        c = r['Credentials']
        self.assertTrue(c['AccessKeyId'].startswith('ASIA'))
        other = self.client('sts', access_key=c['AccessKeyId'], secret_key=c['SecretAccessKey'],
                            aws_session_token=c['SessionToken'])
        who = other.get_caller_identity()
        self.assertEqual(who['Arn'], 'arn:aws:sts::210987654321:assumed-role/trimtab/reconcile')
        self.assertEqual(who['Account'], '210987654321')
        # The assumed role works everywhere, in its own account.
        ecs = self.client('ecs', access_key=c['AccessKeyId'], secret_key=c['SecretAccessKey'],
                          aws_session_token=c['SessionToken'])
        self.assertIn(':210987654321:', ecs.create_cluster(clusterName='x')['cluster']['clusterArn'])
        self.assertAwsError('ValidationError', sts.assume_role, RoleArn='arn:aws:iam::210987654321:user/x',
                            RoleSessionName='reconcile')
        self.assertAwsError('ValidationError', sts.assume_role, RoleArn='arn:aws:iam::210987654321:role/x',
                            RoleSessionName='bad name')
        self.sim.control('POST', 'sts/expire')
        self.assertAwsError('ExpiredToken', other.get_caller_identity, status=403)
        self.assertAwsError('ExpiredTokenException', ecs.list_services, cluster='x')

    def test_web_identity(self):
        def b64(d):
            return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip('=')
        token = '.'.join([b64({'alg': 'RS256'}), b64({'iss': 'https://oidc.eks.example.com/id/1',
                                                      'sub': 'system:serviceaccount:trimtab:trimtab',
                                                      'aud': 'sts.amazonaws.com',
                                                      'exp': int(time.time()) + 600}), 'sig'])
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        sts = boto3.client('sts', endpoint_url=self.sim.endpoint, region_name='us-east-1',
                           config=Config(signature_version=UNSIGNED))
        r = sts.assume_role_with_web_identity(RoleArn='arn:aws:iam::%s:role/trimtab' % ACCOUNT,
                                              RoleSessionName='irsa', WebIdentityToken=token)
        self.assertEqual(r['SubjectFromWebIdentityToken'], 'system:serviceaccount:trimtab:trimtab')
        self.assertEqual(r['Audience'], 'sts.amazonaws.com')
        self.assertTrue(r['AssumedRoleUser']['Arn'].endswith(':assumed-role/trimtab/irsa'))
        self.assertAwsError('InvalidIdentityToken', sts.assume_role_with_web_identity,
                            RoleArn='arn:aws:iam::%s:role/trimtab' % ACCOUNT, RoleSessionName='irsa',
                            WebIdentityToken='not-a-jwt-at-all')


if __name__ == '__main__':
    main()
