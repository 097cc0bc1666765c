#!/usr/bin/env python3
"""Application Auto Scaling in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import ACCOUNT, ecs_service, lambda_alias, main, SimTestCase


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

    PREDICTIVE = {'MetricSpecifications': [{
        'TargetValue': 60.0,
        'PredefinedMetricPairSpecification': {'PredefinedMetricType': 'ECSServiceCPUUtilization'}}],
        'Mode': 'ForecastOnly', 'SchedulingBufferTime': 300}

    def test_predictive_policy(self):
        ecs_service(self)
        self.register(lo=2, hi=10)
        base = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                    ScalableDimension='ecs:service:DesiredCount', PolicyName='daily')
        arn = self.aas.put_scaling_policy(PolicyType='PredictiveScaling',
                                          PredictiveScalingPolicyConfiguration=self.PREDICTIVE,
                                          **base)['PolicyARN']
        pol = self.aas.describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies'][0]
        self.assertEqual((pol['PolicyARN'], pol['PolicyType']), (arn, 'PredictiveScaling'))
        self.assertEqual(pol['PredictiveScalingPolicyConfiguration'], self.PREDICTIVE)
        self.assertNotIn('Alarms', pol)
        # The mode switch is an update of the same policy.
        cfg = dict(self.PREDICTIVE, Mode='ForecastAndScale')
        self.assertEqual(self.aas.put_scaling_policy(
            PolicyType='PredictiveScaling', PredictiveScalingPolicyConfiguration=cfg,
            **base)['PolicyARN'], arn)
        pol = self.aas.describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies'][0]
        self.assertEqual(pol['PredictiveScalingPolicyConfiguration']['Mode'], 'ForecastAndScale')

    def test_predictive_validation(self):
        ecs_service(self)
        self.register()
        base = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                    ScalableDimension='ecs:service:DesiredCount', PolicyName='p',
                    PolicyType='PredictiveScaling')
        spec = self.PREDICTIVE['MetricSpecifications'][0]
        bad = [
            {'MetricSpecifications': [spec, spec]},
            {'MetricSpecifications': [dict(spec, PredefinedLoadMetricSpecification={
                'PredefinedMetricType': 'ECSServiceTotalCPUUtilization'})]},
            {'MetricSpecifications': [{'TargetValue': 60.0, 'PredefinedScalingMetricSpecification': {
                'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}}]},
            {'MetricSpecifications': [{'TargetValue': 60.0, 'PredefinedMetricPairSpecification': {
                'PredefinedMetricType': 'RDSReaderCPUUtilization'}}]},
            {'MetricSpecifications': [{'TargetValue': 60.0, 'PredefinedMetricPairSpecification': {
                'PredefinedMetricType': 'ALBRequestCount'}}]},
            dict(self.PREDICTIVE, MaxCapacityBreachBehavior='IncreaseMaxCapacity'),
            dict(self.PREDICTIVE, MaxCapacityBuffer=10),
        ]
        for cfg in bad:
            self.assertAwsError('ValidationException', self.aas.put_scaling_policy,
                                PredictiveScalingPolicyConfiguration=cfg, **base)
        self.assertAwsError('ValidationException', self.aas.put_scaling_policy, **base)
        # The model's own bound (SchedulingBufferTime at most 3600) and AWS's (below 3600).
        for t in (7200, 3600):
            self.assertAwsError('ValidationException', self.aas.put_scaling_policy,
                                PredictiveScalingPolicyConfiguration=dict(
                                    self.PREDICTIVE, SchedulingBufferTime=t), **base)
        # Customized metrics: a scaling and a load query, each returning one series.
        query = {'MetricDataQueries': [{'Id': 'm1', 'ReturnData': True, 'MetricStat': {
            'Metric': {'Namespace': 'Shop', 'MetricName': 'Orders'}, 'Stat': 'Sum'}}]}
        self.aas.put_scaling_policy(PredictiveScalingPolicyConfiguration={'MetricSpecifications': [{
            'TargetValue': 100.0, 'CustomizedScalingMetricSpecification': query,
            'CustomizedLoadMetricSpecification': query}]}, **base)
        # Only ECS services take predictive scaling.
        lambda_alias(self)
        self.register('function:api:live', ns='lambda', dim='lambda:function:ProvisionedConcurrency')
        self.assertAwsError('ValidationException', self.aas.put_scaling_policy,
                            PredictiveScalingPolicyConfiguration=self.PREDICTIVE,
                            **dict(base, ServiceNamespace='lambda', ResourceId='function:api:live',
                                   ScalableDimension='lambda:function:ProvisionedConcurrency'))

    def test_predictive_forecast(self):
        import datetime
        ecs_service(self)
        self.register(lo=2, hi=10)
        base = dict(ServiceNamespace='ecs', ResourceId='service/demo/web',
                    ScalableDimension='ecs:service:DesiredCount', PolicyName='daily')
        start = datetime.datetime(2026, 12, 7, 0, 30, tzinfo=datetime.timezone.utc)
        self.assertAwsError('ValidationException', self.aas.get_predictive_scaling_forecast,
                            StartTime=start, EndTime=start + datetime.timedelta(days=1), **base)
        self.aas.put_scaling_policy(PolicyType='PredictiveScaling',
                                    PredictiveScalingPolicyConfiguration=self.PREDICTIVE, **base)
        f = self.aas.get_predictive_scaling_forecast(StartTime=start,
                                                     EndTime=start + datetime.timedelta(days=1), **base)
        cap = f['CapacityForecast']
        # Hourly from the start's hour (00:00) up to the end (00:30 next day): 25 points, the
        # business-day shape between min and max.
        self.assertEqual(len(cap['Timestamps']), 25)
        self.assertEqual(cap['Timestamps'][0], datetime.datetime(2026, 12, 7, 0, 0, tzinfo=datetime.timezone.utc))
        self.assertEqual(cap['Values'][0], 2.0)
        self.assertEqual(cap['Values'][8], 6.0)
        self.assertEqual(cap['Values'][9:17], [8.0] * 8)
        self.assertEqual(cap['Values'][17], 6.0)
        self.assertEqual(max(cap['Values']), 8.0)
        load = f['LoadForecast'][0]
        self.assertEqual(load['Values'][9], 8.0 * 60.0)
        self.assertEqual(load['MetricSpecification'], self.PREDICTIVE['MetricSpecifications'][0])
        self.assertIn('UpdateTime', f)
        self.assertAwsError('ValidationException', self.aas.get_predictive_scaling_forecast,
                            StartTime=start, EndTime=start, **base)
        self.assertAwsError('ValidationException', self.aas.get_predictive_scaling_forecast,
                            StartTime=start, EndTime=start + datetime.timedelta(days=31), **base)

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


if __name__ == '__main__':
    main()
