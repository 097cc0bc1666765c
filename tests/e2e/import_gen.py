"""Random AWS accounts for the `trimtab import` tests (test_import.py, bench/import/).

generate(seed, size) builds one account as a fixtures document (the infrastructure: ECS
services, Aurora clusters, ElastiCache groups, Lambda aliases, RDS instances, secrets) plus a
list of boto3 calls that set up what trimtab imports (scalable targets, policies, scheduled
actions, alarms, budgets). It also says what the import must produce: the number of resources of
each kind, and the AWS names it must report as skipped. Names mix the styles the tools of the
trade leave behind: CDK (`Shop-WebServiceCpuScaling1A2B3C4D-Q9X8Y7Z6`), Terraform
(`tf_web_cpu_high`), the console (`Web CPU > 80%`), plus names that collide once made
Kubernetes-valid.
"""

import random
import string

REGION = 'eu-central-1'
ACCOUNT = '123456789012'
TOPIC = 'arn:aws:sns:%s:%s:' % (REGION, ACCOUNT)


class Account:
    def __init__(self):
        self.fixtures = {'region': REGION, 'ecs': {'clusters': []}, 'rds': {'instances': [],
                         'clusters': []}, 'elasticache': {'replicationGroups': []},
                         'lambda': {'functions': []}, 'secretsmanager': {'secrets': []}}
        self.calls = []          # (service, region, operation, kwargs)
        self.expect = {'ScalingPolicy': 0, 'Alarm': 0, 'Budget': 0, 'SecretRotation': 0}
        self.skipped = set()     # AWS names (or ids) that must be listed as skipped
        self.step_arns = []      # placeholders resolved after the policies exist: see run()
        self.names = set()


def _suffix(rng, n=8):
    return ''.join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def name(rng, a, stem):
    """An AWS name in one of the styles; unique within the account."""
    while True:
        style = rng.randrange(5)
        if style == 0:    # CDK: stack, logical id with hash, physical suffix
            n = 'Shop-%s%s-%s' % (''.join(w.capitalize() for w in stem.split('-')),
                                  _suffix(rng), _suffix(rng, 12))
        elif style == 1:  # Terraform
            n = 'tf_%s' % stem.replace('-', '_')
        elif style == 2:  # console, with spaces and symbols
            n = '%s (%s) #%d' % (stem.replace('-', ' ').title(), rng.choice(['prod', 'Prod']),
                                 rng.randrange(100))
        elif style == 3:  # collides with style 1 once sanitised
            n = 'TF-%s' % stem.upper()
        else:             # long CDK name, cut with a hash
            n = 'ShopProductionStack-%s%s%s' % (stem.title().replace('-', ''), 'Alarm' * 6,
                                                _suffix(rng))
        if n not in a.names:
            a.names.add(n)
            return n


def count(rng, lo, hi, size):
    """How many of something: `size` draws of randint(lo, hi), so a large account always has
    some of every kind."""
    return sum(rng.randint(lo, hi) for _ in range(size))


def generate(seed, size=1):
    """One random account; `size` scales the object count (1 ≈ 30 objects)."""
    rng = random.Random(seed)
    a = Account()
    targets = []
    # --- infrastructure (fixtures) and scalable targets ---
    nclusters = max(1, size // 10)
    for ci in range(nclusters):
        cname = 'prod-%d' % ci if ci else 'prod'
        services = []
        for si in range(count(rng, 1, 3, size)):
            sname = rng.choice(['web', 'api', 'worker', 'Checkout', 'search']) + '-%d-%d' % (ci, si)
            services.append({'name': sname, 'desiredCount': 2})
            targets.append({'ns': 'ecs', 'rid': 'service/%s/%s' % (cname, sname),
                            'dim': 'ecs:service:DesiredCount', 'step': True,
                            'metrics': ['ECSServiceAverageCPUUtilization',
                                        'ECSServiceAverageMemoryUtilization'],
                            'dims': [{'Name': 'ClusterName', 'Value': cname},
                                     {'Name': 'ServiceName', 'Value': sname}],
                            'namespace': 'AWS/ECS'})
        a.fixtures['ecs']['clusters'].append({'name': cname, 'services': services})
    for i in range(count(rng, 0, 2, size)):
        cid = 'catalog-%d' % i
        a.fixtures['rds']['clusters'].append({'id': cid, 'engine': 'aurora-postgresql',
                                              'instanceClass': 'db.r6g.large', 'readers': 1})
        targets.append({'ns': 'rds', 'rid': 'cluster:' + cid, 'dim': 'rds:cluster:ReadReplicaCount',
                        'step': True, 'metrics': ['RDSReaderAverageCPUUtilization'],
                        'dims': [{'Name': 'DBClusterIdentifier', 'Value': cid}],
                        'namespace': 'AWS/RDS'})
    for i in range(count(rng, 0, 2, size)):
        gid = 'sessions-%d' % i
        a.fixtures['elasticache']['replicationGroups'].append(
            {'id': gid, 'clusterMode': True, 'nodeGroups': 2, 'replicasPerNodeGroup': 1,
             'nodeType': 'cache.r7g.large'})
        dim = rng.choice(['Replicas', 'NodeGroups'])
        targets.append({'ns': 'elasticache', 'rid': 'replication-group/' + gid,
                        'dim': 'elasticache:replication-group:' + dim, 'step': False,
                        'metrics': ['ElastiCachePrimaryEngineCPUUtilization'],
                        'dims': [{'Name': 'ReplicationGroupId', 'Value': gid}],
                        'namespace': 'AWS/ElastiCache'})
    for i in range(count(rng, 0, 2, size)):
        fn = 'Checkout%d' % i
        a.fixtures['lambda']['functions'].append(
            {'name': fn, 'runtime': 'python3.12', 'publishedVersions': 1,
             'aliases': [{'name': 'live', 'version': '1'}]})
        targets.append({'ns': 'lambda', 'rid': 'function:%s:live' % fn,
                        'dim': 'lambda:function:ProvisionedConcurrency', 'step': False,
                        'metrics': ['LambdaProvisionedConcurrencyUtilization'],
                        'dims': [{'Name': 'FunctionName', 'Value': fn},
                                 {'Name': 'Resource', 'Value': fn + ':live'}],
                        'namespace': 'AWS/Lambda'})
    step_policies = []  # (rid, ns, dim, policy name)
    for t in targets:
        before = set(a.skipped)  # a target trimtab manages is skipped whole, parts and all
        lo = rng.randint(0, 3)
        a.calls.append(('application-autoscaling', REGION, 'register_scalable_target', dict(
            ServiceNamespace=t['ns'], ResourceId=t['rid'], ScalableDimension=t['dim'],
            MinCapacity=lo, MaxCapacity=lo + rng.randint(1, 20))))
        a.expect['ScalingPolicy'] += 1
        base = dict(ServiceNamespace=t['ns'], ResourceId=t['rid'], ScalableDimension=t['dim'])
        for _ in range(rng.randint(0, 2)):
            pname = name(rng, a, 'cpu-tracking')
            cfg = {'TargetValue': float(rng.choice([50, 60, 70, 72.5]))}
            if rng.random() < 0.7:
                cfg['PredefinedMetricSpecification'] = {
                    'PredefinedMetricType': rng.choice(t['metrics'])}
            else:
                cfg['CustomizedMetricSpecification'] = {
                    'MetricName': 'QueueDepth', 'Namespace': 'Shop/Jobs', 'Statistic': 'Average',
                    'Dimensions': [{'Name': 'Queue', 'Value': 'orders'}]}
            if rng.random() < 0.5:
                cfg['ScaleOutCooldown'] = rng.choice([30, 60, 120])
                cfg['ScaleInCooldown'] = rng.choice([60, 300])
            if rng.random() < 0.2:
                cfg['DisableScaleIn'] = True
            a.calls.append(('application-autoscaling', REGION, 'put_scaling_policy', dict(
                base, PolicyName=pname, PolicyType='TargetTrackingScaling',
                TargetTrackingScalingPolicyConfiguration=cfg)))
        if t['ns'] == 'ecs' and rng.random() < 0.3:  # predictive, from a metric pair or custom
            spec = {'TargetValue': float(rng.choice([40, 60]))}
            if rng.random() < 0.6:
                spec['PredefinedMetricPairSpecification'] = {
                    'PredefinedMetricType': 'ECSServiceCPUUtilization'}
            else:
                def q(name, stat):
                    return {'MetricDataQueries': [{'Id': 'm1', 'ReturnData': True, 'MetricStat': {
                        'Metric': {'Namespace': 'Shop', 'MetricName': name,
                                   'Dimensions': [{'Name': 'Service', 'Value': 'api'}]},
                        'Stat': stat}}]}
                spec['CustomizedScalingMetricSpecification'] = q('Busy', 'Average')
                spec['CustomizedLoadMetricSpecification'] = q('Orders', 'Sum')
            cfg = {'MetricSpecifications': [spec],
                   'Mode': rng.choice(['ForecastOnly', 'ForecastAndScale']),
                   'MaxCapacityBreachBehavior': 'HonorMaxCapacity'}
            if rng.random() < 0.5:
                cfg['SchedulingBufferTime'] = 300
            a.calls.append(('application-autoscaling', REGION, 'put_scaling_policy', dict(
                base, PolicyName=name(rng, a, 'forecast'), PolicyType='PredictiveScaling',
                PredictiveScalingPolicyConfiguration=cfg)))
        if t['step']:
            for _ in range(rng.randint(0, 2)):
                pname = name(rng, a, 'step-out')
                steps = [{'MetricIntervalLowerBound': 0.0, 'MetricIntervalUpperBound': 10.0,
                          'ScalingAdjustment': 1},
                         {'MetricIntervalLowerBound': 10.0, 'ScalingAdjustment': rng.randint(2, 4)}]
                cfg = {'AdjustmentType': rng.choice(['ChangeInCapacity', 'ExactCapacity']),
                       'StepAdjustments': steps, 'Cooldown': rng.choice([60, 120, 300]),
                       'MetricAggregationType': rng.choice(['Average', 'Maximum'])}
                a.calls.append(('application-autoscaling', REGION, 'put_scaling_policy', dict(
                    base, PolicyName=pname, PolicyType='StepScaling',
                    StepScalingPolicyConfiguration=cfg)))
                step_policies.append((t, pname))
        for _ in range(rng.randint(0, 2)):
            aname = name(rng, a, 'business-hours')
            kw = dict(base, ScheduledActionName=aname,
                      Schedule=rng.choice(['cron(0 8 ? * MON-FRI *)', 'rate(1 day)',
                                           'cron(30 18 * * ? *)']),
                      ScalableTargetAction={'MinCapacity': lo, 'MaxCapacity': lo + 5})
            if rng.random() < 0.5:
                kw['Timezone'] = rng.choice(['Europe/Berlin', 'UTC'])
                if kw['Schedule'].startswith('rate(') and kw['Timezone'] != 'UTC':
                    a.skipped.add(aname)  # trimtab refuses a zone on a rate
            a.calls.append(('application-autoscaling', REGION, 'put_scheduled_action', kw))
        if rng.random() < 0.15:  # a window: cannot be expressed, must be reported
            aname = name(rng, a, 'black-friday')
            a.calls.append(('application-autoscaling', REGION, 'put_scheduled_action', dict(
                base, ScheduledActionName=aname, Schedule='rate(1 hour)',
                StartTime='2030-11-27T00:00:00Z', EndTime='2030-11-30T00:00:00Z',
                ScalableTargetAction={'MinCapacity': lo, 'MaxCapacity': lo + 5})))
            a.skipped.add(aname)
        if rng.random() < 0.1:  # a policy trimtab made: the target is a trimtab ScalingPolicy's
            pname = 'trimtab-shop-%s-cpu' % t['rid'].split('/')[-1].split(':')[-1].lower()
            a.calls.append(('application-autoscaling', REGION, 'put_scaling_policy', dict(
                base, PolicyName=pname, PolicyType='TargetTrackingScaling',
                TargetTrackingScalingPolicyConfiguration={
                    'TargetValue': 40.0, 'PredefinedMetricSpecification': {
                        'PredefinedMetricType': t['metrics'][0]}})))
            a.skipped = before | {t['rid']}  # the whole target: trimtab manages it
            step_policies = [sp for sp in step_policies if sp[0] is not t]
            a.expect['ScalingPolicy'] -= 1
    # --- RDS instances: storage autoscaling ---
    for i in range(count(rng, 0, 2, size)):
        inst = {'id': 'orders-db-%d' % i, 'class': 'db.t4g.small', 'engine': 'postgres',
                'allocatedStorage': 50}
        if rng.random() < 0.6:
            inst['maxAllocatedStorage'] = rng.choice([100, 200, 500])
            a.expect['ScalingPolicy'] += 1
        a.fixtures['rds']['instances'].append(inst)
    # --- alarms ---
    metric_alarms = []
    for _ in range(count(rng, 1, 5, size)):
        t = rng.choice(targets) if targets else None
        an = name(rng, a, 'cpu-high')
        kw = dict(AlarmName=an, Namespace=t['namespace'] if t else 'Shop/App',
                  MetricName=rng.choice(['CPUUtilization', 'MemoryUtilization']),
                  Dimensions=t['dims'] if t else [], Period=rng.choice([60, 300]),
                  EvaluationPeriods=rng.randint(1, 5), Threshold=float(rng.randint(50, 95)),
                  ComparisonOperator=rng.choice(['GreaterThanThreshold',
                                                 'LessThanOrEqualToThreshold']))
        if rng.random() < 0.3:
            kw['ExtendedStatistic'] = 'p95'
        else:
            kw['Statistic'] = rng.choice(['Average', 'Maximum'])
        if rng.random() < 0.5:
            kw['DatapointsToAlarm'] = 1
        if rng.random() < 0.5:
            kw['TreatMissingData'] = rng.choice(['notBreaching', 'breaching', 'ignore'])
        if rng.random() < 0.3:
            kw['AlarmDescription'] = 'CPU above threshold: page the on-call'
        actions = []
        if rng.random() < 0.5:
            actions.append(TOPIC + 'shop-oncall')
        if step_policies and rng.random() < 0.5:
            sp = rng.choice(step_policies)
            actions.append(('step', sp))
        kw['AlarmActions'] = actions
        if rng.random() < 0.3:
            kw['OKActions'] = [TOPIC + 'shop-ok']
        a.calls.append(('cloudwatch', REGION, 'put_metric_alarm', kw))
        a.expect['Alarm'] += 1
        metric_alarms.append(an)
    if rng.random() < 0.4:  # metric math: cannot be expressed
        an = name(rng, a, 'error-rate')
        a.calls.append(('cloudwatch', REGION, 'put_metric_alarm', dict(
            AlarmName=an, EvaluationPeriods=1, Threshold=5.0,
            ComparisonOperator='GreaterThanThreshold',
            Metrics=[{'Id': 'e', 'Expression': 'm1 * 100', 'ReturnData': True},
                     {'Id': 'm1', 'ReturnData': False, 'MetricStat': {
                         'Metric': {'Namespace': 'Shop/App', 'MetricName': 'Errors'},
                         'Period': 60, 'Stat': 'Sum'}}])))
        a.skipped.add(an)
    if rng.random() < 0.3:  # an action trimtab cannot express (EC2 reboot)
        an = name(rng, a, 'reboot')
        a.calls.append(('cloudwatch', REGION, 'put_metric_alarm', dict(
            AlarmName=an, Namespace='AWS/EC2', MetricName='StatusCheckFailed', Statistic='Maximum',
            Period=60, EvaluationPeriods=2, Threshold=1.0,
            ComparisonOperator='GreaterThanOrEqualToThreshold',
            AlarmActions=['arn:aws:automate:%s:ec2:reboot' % REGION])))
        a.skipped.add(an)
    if len(metric_alarms) >= 2:
        for _ in range(rng.randint(0, 2)):
            x, y = rng.sample(metric_alarms, 2)
            cn = name(rng, a, 'saturated')
            rule = rng.choice(['ALARM("%s") AND ALARM("%s")', 'ALARM("%s") OR NOT OK("%s")'])
            kw = dict(AlarmName=cn, AlarmRule=rule % (x, y))
            if rng.random() < 0.5:
                kw['AlarmActions'] = [TOPIC + 'shop-oncall']
            a.calls.append(('cloudwatch', REGION, 'put_composite_alarm', kw))
            a.expect['Alarm'] += 1
    # --- budgets ---
    for _ in range(count(rng, 0, 3, size)):
        bn = name(rng, a, 'platform-monthly')
        budget = {'BudgetName': bn, 'BudgetType': 'COST', 'TimeUnit': rng.choice(
            ['MONTHLY', 'QUARTERLY']),
                  'BudgetLimit': {'Amount': str(rng.choice([60, 100, 1250.5])), 'Unit': 'USD'}}
        if rng.random() < 0.5:
            budget['CostFilters'] = {'Service': ['Amazon Elastic Compute Cloud - Compute']}
            if rng.random() < 0.5:
                budget['CostFilters']['TagKeyValue'] = ['user:team$platform']
        notes = []
        for th in rng.sample([50, 80, 100], rng.randint(0, 3)):
            subs = [{'SubscriptionType': 'EMAIL', 'Address': 'platform@example.com'}]
            if rng.random() < 0.3:
                subs.append({'SubscriptionType': 'SNS',
                             'Address': 'arn:aws:sns:us-east-1:%s:budget' % ACCOUNT})
            notes.append({'Notification': {'NotificationType': rng.choice(['ACTUAL', 'FORECASTED']),
                                           'ComparisonOperator': 'GREATER_THAN',
                                           'Threshold': float(th),
                                           'ThresholdType': 'PERCENTAGE'},
                          'Subscribers': subs})
        if rng.random() < 0.15:  # net of tax: a cost type trimtab cannot express
            budget['CostTypes'] = {'IncludeTax': False}
            a.skipped.add(bn)
        else:
            a.expect['Budget'] += 1
        a.calls.append(('budgets', 'us-east-1', 'create_budget', dict(
            AccountId=ACCOUNT, Budget=budget, NotificationsWithSubscribers=notes)))
    # --- secrets ---
    for i in range(count(rng, 0, 3, size)):
        s = {'name': 'prod/%s-%d/app' % (rng.choice(['orders', 'Billing']), i),
             'secretString': '{"password":"x"}'}
        if rng.random() < 0.7:
            s['rotationLambdaArn'] = 'arn:aws:lambda:%s:%s:function:rotate-postgres' % (
                REGION, ACCOUNT)
            if rng.random() < 0.5:
                s['automaticallyAfterDays'] = rng.choice([7, 30])
            else:
                s['scheduleExpression'] = 'rate(10 days)'
                s['duration'] = '3h'
            a.expect['SecretRotation'] += 1
        else:
            a.skipped.add(s['name'])
        if rng.random() < 0.4:
            s['replicaRegions'] = ['eu-west-1']
        a.fixtures['secretsmanager']['secrets'].append(s)
    return a


def run(a, client):
    """Makes the account's boto3 calls; `client(service, region)` gives a client. Step policy
    actions become the policies' ARNs."""
    arns = {}
    for service, region, op, kw in a.calls:
        for key in ('AlarmActions',):
            if key in kw:
                kw = dict(kw, **{key: [arns[x[1][1]] if isinstance(x, tuple) else x
                                       for x in kw[key]]})
        out = getattr(client(service, region), op)(**kw)
        if op == 'put_scaling_policy':
            arns[kw['PolicyName']] = out['PolicyARN']
