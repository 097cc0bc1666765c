"""Amazon ECS: clusters, task definitions and services.

A service's runningCount follows its desiredCount after the "ecs" transition delay, with a
deployment and a steady-state event, so a reconciler can watch a scale-out complete.
"""

import sys
import time

from ..errors import AwsError
from ..util import new_uuid, paginate
from . import clone, ops

SERVICE = 'ecs'
OPS, operation = ops()

MAX_DESCRIBE = 10


def new_store():
    return {'clusters': {}, 'services': {}, 'taskdefs': {}}


def _arn(ctx, kind, name):
    return 'arn:aws:ecs:%s:%s:%s/%s' % (ctx.region, ctx.account, kind, name)


def _cluster_name(ref):
    ref = ref or 'default'
    return ref.rsplit('/', 1)[-1] if ref.startswith('arn:') else ref


def _cluster(ctx, ref):
    c = ctx.store['clusters'].get(_cluster_name(ref))
    if c is None or c['status'] != 'ACTIVE':
        raise AwsError('ClusterNotFoundException', 'Cluster not found.')
    return c


def _service_name(ref):
    return ref.rsplit('/', 1)[-1] if ref.startswith('arn:') else ref


def _tags(tags):
    return [{'key': t['key'], 'value': t.get('value', '')} for t in tags or []]


def create_cluster(ctx, name, tags=None, settings=None, capacity_providers=None):
    c = ctx.store['clusters'].get(name)
    if c is not None and c['status'] == 'ACTIVE':
        return c
    c = {'clusterArn': _arn(ctx, 'cluster', name), 'clusterName': name, 'status': 'ACTIVE',
         'registeredContainerInstancesCount': 0, 'runningTasksCount': 0, 'pendingTasksCount': 0,
         'activeServicesCount': 0, 'statistics': [], 'tags': _tags(tags),
         'settings': settings or [{'name': 'containerInsights', 'value': 'disabled'}],
         'capacityProviders': capacity_providers or [], 'defaultCapacityProviderStrategy': []}
    ctx.store['clusters'][name] = c
    return c


@operation('CreateCluster')
def op_create_cluster(ctx, p):
    c = create_cluster(ctx, p.get('clusterName', 'default'), p.get('tags'), p.get('settings'),
                       p.get('capacityProviders'))
    return {'cluster': clone(c)}


@operation('ListClusters')
def list_clusters(ctx, p):
    limit = p.get('maxResults', 100)
    if not 1 <= limit <= 100:
        raise AwsError('InvalidParameterException', 'maxResults must be between 1 and 100.')
    items = [c for c in ctx.store['clusters'].values() if c['status'] == 'ACTIVE']
    page, nxt = paginate(items, lambda c: c['clusterArn'], p.get('nextToken'), limit,
                         'ListClusters', AwsError('InvalidParameterException', 'Invalid token'))
    return {'clusterArns': [c['clusterArn'] for c in page], 'nextToken': nxt}


@operation('DescribeClusters')
def describe_clusters(ctx, p):
    out, failures = [], []
    for ref in p.get('clusters') or ['default']:
        c = ctx.store['clusters'].get(_cluster_name(ref))
        if c is None:
            failures.append({'arn': ref if ref.startswith('arn:') else
                             _arn(ctx, 'cluster', ref), 'reason': 'MISSING'})
            continue
        c = clone(c)
        if 'TAGS' not in (p.get('include') or []):
            c.pop('tags', None)
        out.append(c)
    return {'clusters': out, 'failures': failures}


def register_task_definition(ctx, p):
    family = p['family']
    revs = ctx.store['taskdefs'].setdefault(family, [])
    rev = len(revs) + 1
    compat = p.get('requiresCompatibilities') or []
    td = {'taskDefinitionArn': _arn(ctx, 'task-definition', '%s:%d' % (family, rev)),
          'family': family, 'revision': rev, 'status': 'ACTIVE', 'volumes': [],
          'placementConstraints': [], 'requiresAttributes': [],
          'compatibilities': ['EC2', 'FARGATE'] if 'FARGATE' in compat or
          p.get('networkMode') == 'awsvpc' else ['EC2'],
          'registeredAt': time.time(), 'registeredBy': ctx.identity['arn'] if ctx.identity else
          'arn:aws:iam::%s:root' % ctx.account}
    for k, v in p.items():
        if k != 'tags':
            td[k] = clone(v)
    td['containerDefinitions'] = [dict({'essential': True, 'portMappings': [], 'environment': [],
                                        'mountPoints': [], 'volumesFrom': []}, **c)
                                  for c in clone(p['containerDefinitions'])]
    td['_tags'] = _tags(p.get('tags'))
    revs.append(td)
    return td


@operation('RegisterTaskDefinition')
def op_register_task_definition(ctx, p):
    if not p['containerDefinitions']:
        raise AwsError('ClientException', 'Container list cannot be empty.')
    td = register_task_definition(ctx, p)
    return {'taskDefinition': clone(td), 'tags': clone(td['_tags'])}


def _taskdef(ctx, ref):
    """Resolves family, family:revision or an ARN to the task definition's ARN."""
    name = ref.rsplit('/', 1)[-1] if ref.startswith('arn:') else ref
    family, _, rev = name.partition(':')
    revs = ctx.store['taskdefs'].get(family)
    if not revs:
        return None
    if not rev:
        active = [t for t in revs if t['status'] == 'ACTIVE']
        return active[-1]['taskDefinitionArn'] if active else None
    if not rev.isdigit() or not 1 <= int(rev) <= len(revs):
        return None
    return revs[int(rev) - 1]['taskDefinitionArn']


def _deployment(svc, status):
    now = time.time()
    return {'id': 'ecs-svc/%d' % int(now * 1000 % 10 ** 16), 'status': status,
            'taskDefinition': svc['taskDefinition'], 'desiredCount': svc['desiredCount'],
            'pendingCount': 0, 'runningCount': svc['runningCount'], 'failedTasks': 0,
            'createdAt': now, 'updatedAt': now, 'launchType': svc.get('launchType', 'EC2'),
            'rolloutState': 'IN_PROGRESS',
            'rolloutStateReason': 'ECS deployment ecs-svc/%d in progress.' % int(now * 1000 % 10 ** 16)}


def _converge(ctx, svc):
    """Schedules runningCount to reach desiredCount after the ecs delay."""
    gen = svc['_generation'] = svc.get('_generation', 0) + 1

    def done():
        if svc.get('_generation') != gen or svc['status'] != 'ACTIVE':
            return
        svc['runningCount'] = svc['desiredCount']
        svc['pendingCount'] = 0
        for d in svc['deployments']:
            d['runningCount'] = svc['desiredCount'] if d['status'] == 'PRIMARY' else 0
            d['desiredCount'] = svc['desiredCount'] if d['status'] == 'PRIMARY' else 0
            d['rolloutState'] = 'COMPLETED'
            d['rolloutStateReason'] = 'ECS deployment %s completed.' % d['id']
            d['updatedAt'] = time.time()
        svc['deployments'] = [d for d in svc['deployments'] if d['status'] == 'PRIMARY']
        svc['events'].insert(0, {'id': new_uuid(), 'createdAt': time.time(),
                                 'message': '(service %s) has reached a steady state.'
                                            % svc['serviceName']})
        del svc['events'][100:]
    ctx.later('ecs', done)


def create_service(ctx, cluster, p, running=None):
    name = p['serviceName']
    key = (cluster['clusterName'], name)
    existing = ctx.store['services'].get(key)
    if existing is not None and existing['status'] != 'INACTIVE':
        raise AwsError('InvalidParameterException', 'Creation of service was not idempotent.')
    now = time.time()
    svc = {'serviceArn': _arn(ctx, 'service', '%s/%s' % (cluster['clusterName'], name)),
           'serviceName': name, 'clusterArn': cluster['clusterArn'], 'loadBalancers': [],
           'serviceRegistries': [], 'status': 'ACTIVE', 'desiredCount': p.get('desiredCount', 0),
           'runningCount': 0 if running is None else running, 'pendingCount': 0,
           'launchType': p.get('launchType', 'EC2'), 'taskDefinition': p.get('taskDefinition'),
           'deploymentConfiguration': p.get('deploymentConfiguration') or {
               'deploymentCircuitBreaker': {'enable': False, 'rollback': False},
               'maximumPercent': 200, 'minimumHealthyPercent': 100},
           'deployments': [], 'events': [], 'createdAt': now, 'placementConstraints': [],
           'placementStrategy': [], 'schedulingStrategy': p.get('schedulingStrategy', 'REPLICA'),
           'deploymentController': p.get('deploymentController') or {'type': 'ECS'},
           'tags': _tags(p.get('tags')), 'createdBy': ctx.identity['arn'] if ctx.identity else
           'arn:aws:iam::%s:root' % ctx.account,
           'enableECSManagedTags': p.get('enableECSManagedTags', False),
           'propagateTags': p.get('propagateTags', 'NONE'),
           'enableExecuteCommand': p.get('enableExecuteCommand', False)}
    for k in ('loadBalancers', 'serviceRegistries', 'capacityProviderStrategy', 'platformVersion',
              'networkConfiguration', 'healthCheckGracePeriodSeconds', 'placementConstraints',
              'placementStrategy'):
        if p.get(k) is not None:
            svc[k] = clone(p[k])
    if svc['launchType'] == 'FARGATE':
        svc.setdefault('platformVersion', 'LATEST')
        svc['platformFamily'] = 'Linux'
    svc['deployments'] = [_deployment(svc, 'PRIMARY')]
    ctx.store['services'][key] = svc
    cluster['activeServicesCount'] += 1
    if running is None:
        _converge(ctx, svc)
    else:
        svc['deployments'][0]['rolloutState'] = 'COMPLETED'
        svc['deployments'][0]['rolloutStateReason'] = 'ECS deployment %s completed.' % svc['deployments'][0]['id']
    return svc


@operation('CreateService')
def op_create_service(ctx, p):
    cluster = _cluster(ctx, p.get('cluster'))
    if p.get('schedulingStrategy', 'REPLICA') == 'REPLICA' and p.get('desiredCount') is None:
        raise AwsError('InvalidParameterException',
                       'desiredCount is required for a service with the REPLICA scheduling strategy.')
    if p.get('desiredCount') is not None and p['desiredCount'] < 0:
        raise AwsError('InvalidParameterException', 'desiredCount must be greater than or equal to 0.')
    if p.get('launchType') and p.get('capacityProviderStrategy'):
        raise AwsError('InvalidParameterException', 'Specifying both a launch type and capacity '
                       'provider strategy is not supported. Remove one and try again.')
    p = dict(p)
    if p.get('taskDefinition'):
        arn = _taskdef(ctx, p['taskDefinition'])
        if arn is None:
            raise AwsError('ClientException', 'TaskDefinition not found.')
        p['taskDefinition'] = arn
    elif p.get('deploymentController', {}).get('type', 'ECS') == 'ECS':
        raise AwsError('InvalidParameterException', 'TaskDefinition must be specified.')
    svc = create_service(ctx, cluster, p)
    return {'service': _present(svc, True)}


def _present(svc, with_tags):
    out = clone(svc)
    if not with_tags:
        out.pop('tags', None)
    return out


@operation('DescribeServices')
def describe_services(ctx, p):
    cluster = _cluster(ctx, p.get('cluster'))
    refs = p['services']
    if len(refs) > MAX_DESCRIBE:
        raise AwsError('InvalidParameterException',
                       'The services parameter can have at most %d items.' % MAX_DESCRIBE)
    if not refs:
        raise AwsError('InvalidParameterException', 'Services cannot be empty.')
    with_tags = 'TAGS' in (p.get('include') or [])
    out, failures = [], []
    for ref in refs:
        svc = ctx.store['services'].get((cluster['clusterName'], _service_name(ref)))
        if svc is None:
            failures.append({'arn': ref if ref.startswith('arn:') else _arn(
                ctx, 'service', '%s/%s' % (cluster['clusterName'], ref)), 'reason': 'MISSING'})
        else:
            out.append(_present(svc, with_tags))
    return {'services': out, 'failures': failures}


@operation('UpdateService')
def update_service(ctx, p):
    cluster = _cluster(ctx, p.get('cluster'))
    svc = ctx.store['services'].get((cluster['clusterName'], _service_name(p['service'])))
    if svc is None:
        raise AwsError('ServiceNotFoundException', 'Service not found.')
    if svc['status'] != 'ACTIVE':
        raise AwsError('ServiceNotActiveException', 'Service was not ACTIVE.')
    if p.get('desiredCount') is not None and p['desiredCount'] < 0:
        raise AwsError('InvalidParameterException', 'desiredCount must be greater than or equal to 0.')
    new_deployment = False
    if p.get('taskDefinition'):
        arn = _taskdef(ctx, p['taskDefinition'])
        if arn is None:
            raise AwsError('ClientException', 'TaskDefinition not found.')
        if arn != svc['taskDefinition']:
            svc['taskDefinition'] = arn
            new_deployment = True
    if p.get('forceNewDeployment'):
        new_deployment = True
    for k in ('deploymentConfiguration', 'networkConfiguration', 'platformVersion',
              'healthCheckGracePeriodSeconds', 'enableExecuteCommand', 'enableECSManagedTags',
              'propagateTags', 'loadBalancers', 'serviceRegistries', 'capacityProviderStrategy',
              'placementConstraints', 'placementStrategy'):
        if p.get(k) is not None:
            svc[k] = clone(p[k])
    if p.get('desiredCount') is not None:
        svc['desiredCount'] = p['desiredCount']
    if new_deployment:
        for d in svc['deployments']:
            if d['status'] == 'PRIMARY':
                d['status'] = 'ACTIVE'
        svc['deployments'].insert(0, _deployment(svc, 'PRIMARY'))
    else:
        for d in svc['deployments']:
            if d['status'] == 'PRIMARY':
                d['desiredCount'] = svc['desiredCount']
                d['updatedAt'] = time.time()
    if svc['runningCount'] != svc['desiredCount'] or new_deployment:
        _converge(ctx, svc)
    return {'service': _present(svc, False)}


@operation('DeleteService')
def delete_service(ctx, p):
    cluster = _cluster(ctx, p.get('cluster'))
    svc = ctx.store['services'].get((cluster['clusterName'], _service_name(p['service'])))
    if svc is None or svc['status'] == 'INACTIVE':
        raise AwsError('ServiceNotFoundException', 'Service not found.')
    if svc['desiredCount'] > 0 and not p.get('force'):
        raise AwsError('InvalidParameterException', 'The service cannot be stopped while it is '
                       'scaled above 0.')
    svc['status'] = 'DRAINING'
    cluster['activeServicesCount'] -= 1
    out = _present(svc, False)

    def gone():
        svc['status'] = 'INACTIVE'
        svc['runningCount'] = 0
    ctx.later('ecs', gone)
    return {'service': out}


@operation('ListServices')
def list_services(ctx, p):
    cluster = _cluster(ctx, p.get('cluster'))
    limit = p.get('maxResults', 10)
    if not 1 <= limit <= 100:
        raise AwsError('InvalidParameterException', 'maxResults must be between 1 and 100.')
    items = [s for (c, _), s in ctx.store['services'].items()
             if c == cluster['clusterName'] and s['status'] == 'ACTIVE'
             and (p.get('launchType') is None or s.get('launchType') == p['launchType'])
             and (p.get('schedulingStrategy') is None or
                  s['schedulingStrategy'] == p['schedulingStrategy'])]
    page, nxt = paginate(items, lambda s: s['serviceArn'], p.get('nextToken'), limit,
                         'ListServices', AwsError('InvalidParameterException', 'Invalid token'))
    return {'serviceArns': [s['serviceArn'] for s in page], 'nextToken': nxt}


# ---- Application Auto Scaling: ecs:service:DesiredCount -------------------------------------

def _aas_service(ctx, m):
    return ctx.store_for(sys.modules[__name__])['services'].get((m.group(1), m.group(2)))


def aas_check(ctx, dim, m):
    svc = _aas_service(ctx, m)
    if svc is None or svc['status'] != 'ACTIVE':
        raise AwsError('ValidationException', 'ECS service doesn\'t exist: service/%s/%s'
                       % (m.group(1), m.group(2)))


def aas_get(ctx, dim, m):
    return _aas_service(ctx, m)['desiredCount']


def aas_set(ctx, dim, m, value):
    svc = _aas_service(ctx, m)
    svc['desiredCount'] = value
    for d in svc['deployments']:
        if d['status'] == 'PRIMARY':
            d['desiredCount'] = value
    _converge(ctx, svc)


def aas_describe(dim, m, value):
    return 'Setting desired count to %d.' % value


# ---- IAM (sim/iam.py) -------------------------------------------------------------------------

def _iam_services(ctx, p):
    cluster = _cluster_name(p.get('cluster') or 'default')
    return [s if s.startswith('arn:') else _arn(ctx, 'service', '%s/%s' % (cluster, s))
            for s in p.get('services') or []] or ['*']


def _iam_service(ctx, p):
    cluster = _cluster_name(p.get('cluster') or 'default')
    s = p['service']
    return [s if s.startswith('arn:') else _arn(ctx, 'service', '%s/%s' % (cluster, s))]


IAM_RESOURCES = {'DescribeServices': _iam_services, 'UpdateService': _iam_service,
                 'DeleteService': _iam_service}
