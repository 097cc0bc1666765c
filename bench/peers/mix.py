"""The mixed account of bench_peers.py: N resources in examples/' proportions, as trimtab
manifests, as awssim fixtures, and as the desired AWS objects the peer scripts converge to.

One unit is 17 resources, the way examples/ has them: 7 ScalingPolicies (two ECS services and
one each of Aurora readers, an RDS instance ladder, ElastiCache replicas, a Lambda alias and a
CloudFront distribution), 8 Alarms (the ladder's two, CPU and memory of the web service, CPU of
the worker, the Aurora readers' CPU, the cache's CPU, the alias's p95 duration), 1 Budget with
three notifications, 1 SecretRotation. N is rounded up to whole units (100 → 102, 1,000 → 1,003,
10,000 → 10,013), so every ladder has its alarms.
"""

REGION = 'eu-central-1'
NS = 'bench'
ACCOUNT = '123456789012'
TOPIC = 'arn:aws:sns:%s:%s:oncall' % (REGION, ACCOUNT)
ROTATOR = 'arn:aws:lambda:%s:%s:function:rotate' % (REGION, ACCOUNT)
UNIT = 17


def aws_name(name, part=None):
    return 'trimtab-%s-%s%s' % (NS, name, '-' + part if part else '')


def _sp(name, target, rest):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: %s, '
            'namespace: %s}\nspec:\n  target: %s\n%s' % (name, NS, target, rest))


def _tracking(lo, hi, metric, value):
    return ('  minCapacity: %d\n  maxCapacity: %d\n  targetTracking:\n'
            '    - {name: load, predefinedMetric: %s, targetValue: %s}\n' % (lo, hi, metric, value))


def _alarm(name, target, metric, threshold, comparison='GreaterThanThreshold', stat='Average'):
    return ('apiVersion: trimtab.dev/v1alpha1\nkind: Alarm\nmetadata: {name: %s, namespace: %s}\n'
            'spec:\n  target: %s\n  metricName: %s\n  statistic: %s\n  period: 60\n'
            '  evaluationPeriods: 5\n  threshold: %s\n  comparison: %s\n'
            '  actions: {alarm: [{snsTopicArn: "%s"}]}\n'
            % (name, NS, target, metric, stat, threshold, comparison, TOPIC))


# The AAS targets of a unit: (suffix, manifest target, namespace, resource id, dimension, metric,
# target value, min, max).
def _aas(u):
    c = 'c%03d' % (int(u[1:]) % 100)
    return [
        ('web', '{ecs: {cluster: %s, service: %s-web}}' % (c, u), 'ecs',
         'service/%s/%s-web' % (c, u), 'ecs:service:DesiredCount',
         'ECSServiceAverageCPUUtilization', 60, 2, 10),
        ('worker', '{ecs: {cluster: %s, service: %s-worker}}' % (c, u), 'ecs',
         'service/%s/%s-worker' % (c, u), 'ecs:service:DesiredCount',
         'ECSServiceAverageCPUUtilization', 70, 1, 12),
        ('readers', '{rds: {cluster: %s-aurora}}' % u, 'rds', 'cluster:%s-aurora' % u,
         'rds:cluster:ReadReplicaCount', 'RDSReaderAverageCPUUtilization', 60, 1, 3),
        ('cache', '{elasticache: {replicationGroup: %s-cache}}' % u, 'elasticache',
         'replication-group/%s-cache' % u, 'elasticache:replication-group:Replicas',
         'ElastiCacheReplicaEngineCPUUtilization', 60, 1, 4),
        ('fn', '{lambda: {function: %s-fn, alias: live}}' % u, 'lambda',
         'function:%s-fn:live' % u, 'lambda:function:ProvisionedConcurrency',
         'LambdaProvisionedConcurrencyUtilization', 0.7, 1, 20),
    ]


def _alarms(u):
    c = 'c%03d' % (int(u[1:]) % 100)
    ecs = lambda s: ('{ecs: {cluster: %s, service: %s-%s}}' % (c, u, s),  # noqa: E731
                     'AWS/ECS', [('ClusterName', c), ('ServiceName', '%s-%s' % (u, s))])
    db = ('{rds: {instance: %s-db}}' % u, 'AWS/RDS', [('DBInstanceIdentifier', '%s-db' % u)])
    return [
        ('%s-db-up' % u, db, 'WriteIOPS', 500, 'GreaterThanThreshold', 'Average'),
        ('%s-db-down' % u, db, 'WriteIOPS', 150, 'LessThanThreshold', 'Average'),
        ('%s-web-cpu' % u, ecs('web'), 'CPUUtilization', 85, 'GreaterThanThreshold', 'Average'),
        ('%s-web-mem' % u, ecs('web'), 'MemoryUtilization', 90, 'GreaterThanThreshold',
         'Average'),
        ('%s-worker-cpu' % u, ecs('worker'), 'CPUUtilization', 85, 'GreaterThanThreshold',
         'Average'),
        ('%s-readers-cpu' % u, ('{rds: {cluster: %s-aurora}}' % u, 'AWS/RDS',
                                [('DBClusterIdentifier', '%s-aurora' % u), ('Role', 'READER')]),
         'CPUUtilization', 80, 'GreaterThanThreshold', 'Average'),
        ('%s-cache-cpu' % u, ('{elasticache: {replicationGroup: %s-cache}}' % u, 'AWS/ElastiCache',
                              [('ReplicationGroupId', '%s-cache' % u)]),
         'EngineCPUUtilization', 80, 'GreaterThanThreshold', 'Average'),
        ('%s-fn-errors' % u, ('{lambda: {function: %s-fn, alias: live}}' % u, 'AWS/Lambda',
                              [('FunctionName', '%s-fn' % u), ('Resource', '%s-fn:live' % u)]),
         'Errors', 5, 'GreaterThanThreshold', 'Sum'),
    ]


def build(n, change=False):
    """(manifests {relative path: text}, fixtures, desired [objects]) for N resources; `change`
    raises one target value (the bench's one-change phase)."""
    manifests, desired = {}, []
    fx = {'region': REGION, 'ecs': {'clusters': {}}, 'rds': {'clusters': [], 'instances': []},
          'elasticache': {'replicationGroups': []}, 'lambda': {'functions': []},
          'cloudfront': {'distributions': []}, 'secretsmanager': {'secrets': []}}
    left = -(-n // UNIT) * UNIT
    k = 0

    def take():
        nonlocal left
        left -= 1
        return left >= 0

    while left > 0:
        u = 'u%05d' % k
        for (sfx, target, ns, rid, dim, metric, value, lo, hi) in _aas(u):
            if change and k == 0 and sfx == 'web':
                value = 65
            if not take():
                break
            name = '%s-%s' % (u, sfx)
            manifests['sp/%s.yaml' % name] = _sp(name, target, _tracking(lo, hi, metric, value))
            desired.append({'type': 'aas', 'ns': ns, 'rid': rid, 'dim': dim, 'min': lo, 'max': hi,
                            'policy': aws_name(name, 'load'), 'metric': metric,
                            'value': float(value), 'owner': '%s/%s' % (NS, name)})
        if take():
            name = '%s-db' % u
            manifests['sp/%s.yaml' % name] = _sp(
                name, '{rds: {instance: %s}}' % name,
                '  vertical:\n    ladder: [db.t4g.small, db.t4g.medium, db.m5.large]\n'
                '    scaleUpOn: {alarm: %s-up}\n    scaleDownOn: {alarm: %s-down}\n'
                '    cooldown: 30m\n    applyImmediately: true\n' % (name, name))
            desired.append({'type': 'ladder', 'instance': name,
                            'alarms': [aws_name(name + '-up'), aws_name(name + '-down')]})
        if take():
            name, dist = '%s-cdn' % u, 'E%013d' % k
            manifests['sp/%s.yaml' % name] = _sp(
                name, '{cloudfront: {distributionId: %s}}' % dist,
                '  cloudfront: {priceClass: PriceClass_100, http3: true, compress: true}\n')
            desired.append({'type': 'cloudfront', 'id': dist})
            fx['cloudfront']['distributions'].append({'id': dist})
        for (name, (target, ns, dims), metric, thr, cmp, stat) in _alarms(u):
            if not take():
                break
            manifests['alarms/%s.yaml' % name] = _alarm(name, target, metric, thr, cmp, stat)
            desired.append({'type': 'alarm', 'name': aws_name(name), 'namespace': ns,
                            'metric': metric, 'dims': dims, 'threshold': float(thr),
                            'comparison': cmp, 'statistic': stat})
        if take():
            name = '%s-budget' % u
            manifests['budgets/%s.yaml' % name] = (
                'apiVersion: trimtab.dev/v1alpha1\nkind: Budget\nmetadata: {name: %s, namespace: '
                '%s}\nspec:\n  limit: {amount: 100, unit: USD}\n  notifications:\n%s'
                % (name, NS, ''.join('    - {type: ACTUAL, threshold: %d, subscribers: '
                                     '[{email: team@example.com}]}\n' % t for t in (50, 80, 100))))
            desired.append({'type': 'budget', 'name': aws_name(name), 'thresholds': [50, 80, 100]})
        if take():
            name = '%s-secret' % u
            manifests['secrets/%s.yaml' % name] = (
                'apiVersion: trimtab.dev/v1alpha1\nkind: SecretRotation\nmetadata: {name: %s, '
                'namespace: %s}\nspec:\n  secretId: app/%s\n  rotationLambdaArn: %s\n'
                '  schedule: {automaticallyAfterDays: 30}\n' % (name, NS, name, ROTATOR))
            desired.append({'type': 'secret', 'id': 'app/' + name})
            fx['secretsmanager']['secrets'].append({'name': 'app/' + name})
        c = 'c%03d' % (k % 100)
        fx['ecs']['clusters'].setdefault(c, []).extend(
            {'name': '%s-%s' % (u, s), 'desiredCount': 2} for s in ('web', 'worker'))
        fx['rds']['clusters'].append({'id': '%s-aurora' % u, 'readers': 1})
        fx['rds']['instances'].append({'id': '%s-db' % u, 'class': 'db.t4g.small',
                                       'allocatedStorage': 20})
        fx['elasticache']['replicationGroups'].append(
            {'id': '%s-cache' % u, 'clusterMode': True, 'nodeGroups': 1, 'replicasPerNodeGroup': 1})
        fx['lambda']['functions'].append({'name': '%s-fn' % u, 'publishedVersions': 1,
                                          'aliases': [{'name': 'live', 'version': '1'}]})
        k += 1
    fx['ecs']['clusters'] = [{'name': c, 'services': s}
                             for c, s in sorted(fx['ecs']['clusters'].items())]
    return manifests, fx, desired
