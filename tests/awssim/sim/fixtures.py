"""Pre-existing infrastructure, created straight into the state without going through the API
(README.md documents the format). Everything a fixture creates is already settled: instances
available, distributions Deployed, services at their runningCount."""

from .services import Ctx
from .services import budgets, cloudfront, cloudwatch, ecs, elasticache, lambda_, rds, secretsmanager
from .util import DEFAULT_ACCOUNT

_KNOWN = {'account', 'region', 'ecs', 'rds', 'elasticache', 'lambda', 'cloudfront',
          'secretsmanager', 'budgets', 'cloudwatch'}


def load(sim, doc):
    """Creates what doc describes (an object, or a list of objects each with its own account and
    region). Returns counts of what was created. Raises ValueError for an unknown key."""
    docs = doc if isinstance(doc, list) else [doc]
    counts = {}
    for d in docs:
        unknown = set(d) - _KNOWN
        if unknown:
            raise ValueError('unknown fixture keys: %s' % ', '.join(sorted(unknown)))
        account = d.get('account', DEFAULT_ACCOUNT)
        region = d.get('region', 'us-east-1')

        def ctx(module):
            return Ctx(sim.state, module, account, region, None, 'Fixture')

        def bump(k, n=1):
            counts[k] = counts.get(k, 0) + n

        for c in d.get('ecs', {}).get('clusters', []):
            cx = ctx(ecs)
            cluster = ecs.create_cluster(cx, c['name'], c.get('tags'))
            bump('ecsClusters')
            for s in c.get('services', []):
                td = s.get('taskDefinition', s['name'])
                family = td.split(':')[0]
                if not ecs._taskdef(cx, td):
                    ecs.register_task_definition(cx, {
                        'family': family, 'containerDefinitions': [
                            {'name': family, 'image': s.get('image', 'public.ecr.aws/nginx/nginx:latest'),
                             'memory': 512, 'essential': True}],
                        'requiresCompatibilities': [s.get('launchType', 'FARGATE')],
                        'networkMode': 'awsvpc', 'cpu': '256', 'memory': '512'})
                desired = s.get('desiredCount', 1)
                ecs.create_service(cx, cluster, {
                    'serviceName': s['name'], 'desiredCount': desired,
                    'taskDefinition': ecs._taskdef(cx, td),
                    'launchType': s.get('launchType', 'FARGATE'), 'tags': s.get('tags')},
                    running=s.get('runningCount', desired))
                bump('ecsServices')

        for i in d.get('rds', {}).get('instances', []):
            cx = ctx(rds)
            inst = rds.create_instance(cx, cx.store, {
                'DBInstanceIdentifier': i['id'], 'DBInstanceClass': i.get('class', 'db.t4g.small'),
                'Engine': i.get('engine', 'postgres'), 'AllocatedStorage': i.get('allocatedStorage', 20),
                'MaxAllocatedStorage': i.get('maxAllocatedStorage'),
                'MasterUsername': i.get('masterUsername', 'postgres'), 'Tags': i.get('tags', [])},
                status=i.get('status', 'available'))
            if i.get('pendingModifiedValues'):
                inst['PendingModifiedValues'].update(i['pendingModifiedValues'])
            bump('rdsInstances')
        for c in d.get('rds', {}).get('clusters', []):
            cx = ctx(rds)
            cl = rds.create_cluster(cx, cx.store, {'DBClusterIdentifier': c['id'],
                                                   'Engine': c.get('engine', 'aurora-postgresql'),
                                                   'Tags': c.get('tags', [])},
                                    status=c.get('status', 'available'))
            cls = c.get('instanceClass', 'db.r6g.large')
            for n in range(1 + c.get('readers', 0)):
                ident = '%s-instance-%d' % (cl['DBClusterIdentifier'], n + 1)
                inst = rds.create_instance(cx, cx.store, {
                    'DBInstanceIdentifier': ident, 'DBInstanceClass': cls, 'Engine': cl['Engine'],
                    'DBClusterIdentifier': cl['DBClusterIdentifier']}, status='available')
                rds._cluster_member_add(cx.store, inst, n == 0)
            bump('rdsClusters')

        for g in d.get('elasticache', {}).get('replicationGroups', []):
            cx = ctx(elasticache)
            p = {'ReplicationGroupId': g['id'], 'ReplicationGroupDescription': g.get('description', g['id']),
                 'CacheNodeType': g.get('nodeType', 'cache.t4g.small'),
                 'Engine': g.get('engine', 'redis')}
            if g.get('clusterMode', False):
                p.update(ClusterMode='enabled', NumNodeGroups=g.get('nodeGroups', 1),
                         ReplicasPerNodeGroup=g.get('replicasPerNodeGroup', 1))
            else:
                p.update(NumCacheClusters=1 + g.get('replicasPerNodeGroup', g.get('replicas', 1)))
            p['AutomaticFailoverEnabled'] = g.get('automaticFailover', True)
            elasticache.create_group(cx, cx.store, p, status='available')
            bump('replicationGroups')

        for f in d.get('lambda', {}).get('functions', []):
            cx = ctx(lambda_)
            fn = lambda_.create_function(cx, cx.store, {
                'FunctionName': f['name'], 'Runtime': f.get('runtime', 'python3.12'),
                'Handler': f.get('handler', 'index.handler'),
                'Role': f.get('role', 'arn:aws:iam::%s:role/lambda-exec' % account),
                'Code': {'ZipFile': f['name'].encode()}, 'MemorySize': f.get('memorySize', 128),
                'Tags': f.get('tags')}, state='Active')
            for n in range(f.get('publishedVersions', 1 if f.get('aliases') else 0)):
                fn['latest']['Description'] = 'v%d' % (n + 1)
                lambda_.publish(cx, fn, None)
            for a in f.get('aliases', []):
                version = str(a.get('version', fn['next_version'] - 1 or '$LATEST'))
                fn['aliases'][a['name']] = {
                    'AliasArn': lambda_._fn_arn(cx, f['name'], a['name']), 'Name': a['name'],
                    'FunctionVersion': version, 'Description': a.get('description', ''),
                    'RevisionId': 'fixture-' + a['name']}
            if f.get('reservedConcurrency') is not None:
                fn['reserved'] = f['reservedConcurrency']
            for q, n in (f.get('provisionedConcurrency') or {}).items():
                cfg = lambda_.put_pc(cx, fn, q, n)
                cfg.update(Status='READY', AvailableProvisionedConcurrentExecutions=n,
                           AllocatedProvisionedConcurrentExecutions=n)
            bump('lambdaFunctions')

        for dist in d.get('cloudfront', {}).get('distributions', []):
            cx = ctx(cloudfront)
            cfg = dist.get('config') or _distribution_config(dist)
            cloudfront.create_distribution(cx, cx.store, cfg, status='Deployed',
                                           dist_id=dist.get('id'))
            bump('distributions')

        for s in d.get('secretsmanager', {}).get('secrets', []):
            cx = ctx(secretsmanager)
            p = {'Name': s['name'], 'SecretString': s.get('secretString', '{"password":"fixture"}'),
                 'Description': s.get('description'), 'Tags': s.get('tags')}
            if s.get('replicaRegions'):
                p['AddReplicaRegions'] = [{'Region': r} for r in s['replicaRegions']]
            sec, _ = secretsmanager.create_secret(cx, cx.store, p)
            if s.get('rotationLambdaArn'):
                sec['RotationLambdaARN'] = s['rotationLambdaArn']
                rules = {}
                if s.get('automaticallyAfterDays'):
                    rules['AutomaticallyAfterDays'] = s['automaticallyAfterDays']
                if s.get('scheduleExpression'):
                    rules['ScheduleExpression'] = s['scheduleExpression']
                if s.get('duration'):
                    rules['Duration'] = s['duration']
                sec['RotationRules'] = rules
                sec['RotationEnabled'] = s.get('rotationEnabled', True)
            if s.get('lastRotatedDate') is not None:
                sec['LastRotatedDate'] = float(s['lastRotatedDate'])
            bump('secrets')

        for b in d.get('budgets', {}).get('budgets', []):
            cx = ctx(budgets)
            budget = {'BudgetName': b['name'], 'BudgetType': b.get('budgetType', 'COST'),
                      'TimeUnit': b.get('timeUnit', 'MONTHLY'),
                      'BudgetLimit': {'Amount': str(b.get('amount', '100')), 'Unit': b.get('unit', 'USD')}}
            notes = [{'Notification': {'NotificationType': n.get('type', 'ACTUAL'),
                                       'ComparisonOperator': n.get('comparison', 'GREATER_THAN'),
                                       'Threshold': float(n['threshold']),
                                       'ThresholdType': n.get('thresholdType', 'PERCENTAGE')},
                      'Subscribers': [{'SubscriptionType': 'SNS' if a.startswith('arn:') else 'EMAIL',
                                       'Address': a} for a in n.get('subscribers', ['ops@example.com'])]}
                     for n in b.get('notifications', [])]
            budgets.create_budget(cx.store, account, budget, notes)
            if b.get('actualSpend') is not None or b.get('forecastedSpend') is not None:
                budgets.set_spend(sim, account, b['name'], b.get('actualSpend'),
                                  b.get('forecastedSpend'), b.get('unit'))
            bump('budgets')

        for a in d.get('cloudwatch', {}).get('alarms', []):
            cx = ctx(cloudwatch)
            alarm = cloudwatch.put_internal_alarm(cx, cx.store, {
                'AlarmName': a['name'], 'Namespace': a.get('namespace', 'AWS/EC2'),
                'MetricName': a.get('metricName', 'CPUUtilization'),
                'Statistic': a.get('statistic', 'Average'), 'Period': a.get('period', 60),
                'EvaluationPeriods': a.get('evaluationPeriods', 1),
                'Threshold': float(a.get('threshold', 0)),
                'ComparisonOperator': a.get('comparison', 'GreaterThanThreshold'),
                'Dimensions': [{'Name': k, 'Value': v} for k, v in (a.get('dimensions') or {}).items()],
                'AlarmActions': a.get('alarmActions', [])})
            cx.store['tags'][alarm['AlarmArn']] = dict(a.get('tags') or {})
            if a.get('state'):
                alarm['StateValue'] = a['state']
                alarm['StateReason'] = 'Set by awssim fixture'
            bump('alarms')
    return counts


def _distribution_config(dist):
    """A complete, minimal DistributionConfig from the fixture's short form."""
    origin = dist.get('originDomain', 'origin.example.com')
    cfg = {'CallerReference': dist.get('callerReference', 'fixture-%s' % dist.get('id', origin)),
           'Comment': dist.get('comment', ''), 'Enabled': dist.get('enabled', True),
           'PriceClass': dist.get('priceClass', 'PriceClass_All'),
           'HttpVersion': dist.get('httpVersion', 'http2'),
           'Origins': {'Quantity': 1, 'Items': [{
               'Id': 'origin-1', 'DomainName': origin,
               'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                      'OriginProtocolPolicy': 'https-only'},
               'OriginShield': dist.get('originShield', {'Enabled': False})}]},
           'DefaultCacheBehavior': {
               'TargetOriginId': 'origin-1', 'ViewerProtocolPolicy': 'redirect-to-https',
               'Compress': dist.get('compress', True),
               'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}
    if dist.get('aliases'):
        cfg['Aliases'] = {'Quantity': len(dist['aliases']), 'Items': list(dist['aliases'])}
    return cfg
