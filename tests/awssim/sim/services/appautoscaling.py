"""Application Auto Scaling for the ECS, Aurora (RDS cluster), ElastiCache and Lambda dimensions.

Scalable targets, scaling policies (step and target tracking, the latter creating its CloudWatch
alarms as AWS does; predictive for ECS services, with a deterministic hourly forecast from
GetPredictiveScalingForecast — see forecast_capacity), scheduled actions (cron/rate/at with time zones validated), scaling
activities and tags. Registering a target clamps the resource's current capacity into
[min, max]; a step or target-tracking policy runs when one of its alarms goes to ALARM (through
SetAlarmState or the control API), changing the resource's capacity and recording an activity.
"""

import importlib
import re
import time
import zoneinfo

from ..errors import AwsError
from ..util import check_limit, new_uuid, paginate
from . import clone, ops

SERVICE = 'application-autoscaling'
OPS, operation = ops()

# Scalable dimension -> (service namespace, ResourceId pattern, module name of the resource).
DIMENSIONS = {
    'ecs:service:DesiredCount': ('ecs', re.compile(r'^service/([^/]+)/([^/]+)$'), 'ecs'),
    'rds:cluster:ReadReplicaCount': ('rds', re.compile(r'^cluster:([^:/]+)$'), 'rds'),
    'elasticache:replication-group:NodeGroups':
        ('elasticache', re.compile(r'^replication-group/([^/]+)$'), 'elasticache'),
    'elasticache:replication-group:Replicas':
        ('elasticache', re.compile(r'^replication-group/([^/]+)$'), 'elasticache'),
    'lambda:function:ProvisionedConcurrency':
        ('lambda', re.compile(r'^function:([^:]+):([^:]+)$'), 'lambda_'),
}

SERVICE_ROLES = {
    'ecs': 'ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService',
    'rds': 'rds.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_RDSCluster',
    'elasticache': 'elasticache.application-autoscaling.amazonaws.com/'
                   'AWSServiceRoleForApplicationAutoScaling_ElastiCacheRG',
    'lambda': 'lambda.application-autoscaling.amazonaws.com/'
              'AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency',
}

# Predefined metric -> (namespace it belongs to, CloudWatch namespace, metric, statistic).
PREDEFINED = {
    'ECSServiceAverageCPUUtilization': ('ecs', 'AWS/ECS', 'CPUUtilization', 'Average'),
    'ECSServiceAverageMemoryUtilization': ('ecs', 'AWS/ECS', 'MemoryUtilization', 'Average'),
    'RDSReaderAverageCPUUtilization': ('rds', 'AWS/RDS', 'CPUUtilization', 'Average'),
    'RDSReaderAverageDatabaseConnections': ('rds', 'AWS/RDS', 'DatabaseConnections', 'Average'),
    'ElastiCachePrimaryEngineCPUUtilization':
        ('elasticache', 'AWS/ElastiCache', 'EngineCPUUtilization', 'Average'),
    'ElastiCacheReplicaEngineCPUUtilization':
        ('elasticache', 'AWS/ElastiCache', 'EngineCPUUtilization', 'Average'),
    'ElastiCacheEngineCPUUtilization':
        ('elasticache', 'AWS/ElastiCache', 'EngineCPUUtilization', 'Average'),
    'ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage':
        ('elasticache', 'AWS/ElastiCache', 'DatabaseMemoryUsageCountedForEvictPercentage', 'Average'),
    'ElastiCacheDatabaseMemoryUsagePercentage':
        ('elasticache', 'AWS/ElastiCache', 'DatabaseMemoryUsagePercentage', 'Average'),
    'ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage':
        ('elasticache', 'AWS/ElastiCache', 'DatabaseCapacityUsageCountedForEvictPercentage', 'Average'),
    'LambdaProvisionedConcurrencyUtilization':
        ('lambda', 'AWS/Lambda', 'ProvisionedConcurrencyUtilization', 'Maximum'),
}

MAX_TAGS = 50


def new_store():
    return {'targets': {}, 'policies': {}, 'scheduled': {}, 'activities': [], 'tags': {}}


def _validation(msg):
    return AwsError('ValidationException', msg)


def _module(name):
    return importlib.import_module('.' + name, __package__)


def _resource(ctx, ns, rid, dim):
    """Checks that (ns, rid, dim) names a resource that exists; returns (module, match)."""
    spec = DIMENSIONS.get(dim)
    if spec is None or spec[0] != ns or dim.split(':')[0] != ns:
        raise _validation('Unsupported service namespace, resource type or scalable dimension')
    m = spec[1].match(rid)
    if not m:
        raise _validation('Unsupported service namespace, resource type or scalable dimension')
    mod = _module(spec[2])
    mod.aas_check(ctx, dim, m)
    return mod, m


def _key(p):
    return (p['ServiceNamespace'], p['ResourceId'], p['ScalableDimension'])


def _target(ctx, p):
    t = ctx.store['targets'].get(_key(p))
    if t is None:
        raise AwsError('ObjectNotFoundException', 'No scalable target registered for service '
                       'namespace: %s, resource ID: %s, scalable dimension: %s'
                       % (p['ServiceNamespace'], p['ResourceId'], p['ScalableDimension']))
    return t


def _activity(ctx, target, description, cause, status='Successful', message=None):
    now = time.time()
    act = {'ActivityId': new_uuid(), 'ServiceNamespace': target['ServiceNamespace'],
           'ResourceId': target['ResourceId'], 'ScalableDimension': target['ScalableDimension'],
           'Description': description, 'Cause': cause, 'StartTime': now, 'EndTime': now,
           'StatusCode': status, '_seq': ctx.seq()}
    if message:
        act['StatusMessage'] = message
    ctx.store['activities'].append(act)
    return act


def set_capacity(ctx, target, new, cause):
    """Moves the target's resource to capacity new (clamped to [min, max]) and records the
    scaling activity. Returns the new capacity."""
    mod, m = _resource(ctx, target['ServiceNamespace'], target['ResourceId'],
                       target['ScalableDimension'])
    new = max(target['MinCapacity'], min(target['MaxCapacity'], new))
    current = mod.aas_get(ctx, target['ScalableDimension'], m)
    if new == current:
        return current
    mod.aas_set(ctx, target['ScalableDimension'], m, new)
    _activity(ctx, target, mod.aas_describe(target['ScalableDimension'], m, new), cause,
              message='Successfully set %s to %d. Change successfully fulfilled by %s.'
              % (target['ScalableDimension'].split(':')[-1], new, target['ServiceNamespace']))
    return new


@operation('RegisterScalableTarget')
def register_scalable_target(ctx, p):
    ns, rid, dim = _key(p)
    mod, m = _resource(ctx, ns, rid, dim)
    targets = ctx.store['targets']
    t = targets.get((ns, rid, dim))
    lo, hi = p.get('MinCapacity'), p.get('MaxCapacity')
    if t is None:
        if lo is None or hi is None:
            raise _validation('MinCapacity and MaxCapacity are required when registering a new '
                              'scalable target')
    else:
        lo = t['MinCapacity'] if lo is None else lo
        hi = t['MaxCapacity'] if hi is None else hi
    if lo < 0 or hi < 0:
        raise _validation('Capacity values must be non-negative')
    if lo > hi:
        raise _validation('Minimum capacity cannot be greater than maximum capacity')
    if t is None:
        arn = 'arn:aws:application-autoscaling:%s:%s:scalable-target/%s' % (
            ctx.region, ctx.account, new_uuid().replace('-', '')[:32])
        role = 'arn:aws:iam::%s:role/aws-service-role/%s' % (ctx.account, SERVICE_ROLES[ns])
        t = {'ServiceNamespace': ns, 'ResourceId': rid, 'ScalableDimension': dim,
             'MinCapacity': lo, 'MaxCapacity': hi, 'RoleARN': p.get('RoleARN', role),
             'CreationTime': time.time(),
             'SuspendedState': {'DynamicScalingInSuspended': False,
                                'DynamicScalingOutSuspended': False,
                                'ScheduledScalingSuspended': False},
             'ScalableTargetARN': arn, '_seq': ctx.seq()}
        if len(p.get('Tags', {})) > MAX_TAGS:
            raise AwsError('TooManyTagsException', 'The number of tags exceeds the limit of %d.'
                           % MAX_TAGS, fields={'ResourceName': arn})
        targets[(ns, rid, dim)] = t
        ctx.store['tags'][arn] = dict(p.get('Tags', {}))
    else:
        t['MinCapacity'], t['MaxCapacity'] = lo, hi
        if p.get('RoleARN'):
            t['RoleARN'] = p['RoleARN']
    if p.get('SuspendedState'):
        t['SuspendedState'].update(p['SuspendedState'])
    current = mod.aas_get(ctx, dim, m)
    if current is not None and current < lo:
        set_capacity(ctx, t, lo, 'minimum capacity was set to %d' % lo)
    elif current is not None and current > hi:
        set_capacity(ctx, t, hi, 'maximum capacity was set to %d' % hi)
    return {'ScalableTargetARN': t['ScalableTargetARN']}


@operation('DeregisterScalableTarget')
def deregister_scalable_target(ctx, p):
    t = _target(ctx, p)
    key = _key(p)
    # Deregistering deletes the target's scaling policies and scheduled actions too.
    for pk in [k for k in ctx.store['policies'] if k[:3] == key]:
        _delete_policy(ctx, ctx.store['policies'].pop(pk))
    for sk in [k for k in ctx.store['scheduled'] if k[:3] == key]:
        del ctx.store['scheduled'][sk]
    del ctx.store['targets'][key]
    ctx.store['tags'].pop(t['ScalableTargetARN'], None)
    return {}


def _bad_token():
    return AwsError('InvalidNextTokenException', 'Invalid token')


@operation('DescribeScalableTargets')
def describe_scalable_targets(ctx, p):
    ns = p['ServiceNamespace']
    limit = check_limit(p.get('MaxResults'), 1, 50, 50,
                        _validation('MaxResults must be between 1 and 50'))
    ids = set(p['ResourceIds']) if p.get('ResourceIds') else None
    dim = p.get('ScalableDimension')
    items = [t for t in ctx.store['targets'].values()
             if t['ServiceNamespace'] == ns and (ids is None or t['ResourceId'] in ids)
             and (dim is None or t['ScalableDimension'] == dim)]
    page, nxt = paginate(items, lambda t: t['_seq'], p.get('NextToken'), limit,
                         'DescribeScalableTargets', _bad_token())
    return {'ScalableTargets': clone(page), 'NextToken': nxt}


# ---- scaling policies -----------------------------------------------------------------------

def _check_steps(cfg):
    if not cfg.get('AdjustmentType'):
        raise _validation('AdjustmentType is required for a step scaling policy')
    steps = cfg.get('StepAdjustments') or []
    if not steps:
        raise _validation('StepAdjustments must contain at least one step adjustment')
    intervals = []
    for s in steps:
        lo = s.get('MetricIntervalLowerBound')
        hi = s.get('MetricIntervalUpperBound')
        if lo is not None and hi is not None and lo >= hi:
            raise _validation('The upper bound must be greater than the lower bound')
        intervals.append((float('-inf') if lo is None else lo, float('inf') if hi is None else hi))
    if sum(1 for s in steps if s.get('MetricIntervalLowerBound') is None) > 1 or \
            sum(1 for s in steps if s.get('MetricIntervalUpperBound') is None) > 1:
        raise _validation('There can be at most one step adjustment with a null lower bound and '
                          'at most one with a null upper bound')
    intervals.sort()
    for (a_lo, a_hi), (b_lo, b_hi) in zip(intervals, intervals[1:]):
        if b_lo < a_hi:
            raise _validation('Step adjustment intervals cannot overlap')
        if b_lo > a_hi:
            raise _validation('Step adjustment intervals cannot have gaps between them')
    if cfg.get('MinAdjustmentMagnitude') is not None and \
            cfg['AdjustmentType'] != 'PercentChangeInCapacity':
        raise _validation('MinAdjustmentMagnitude is only supported with the '
                          'PercentChangeInCapacity adjustment type')


def _check_target_tracking(ns, cfg):
    pre = cfg.get('PredefinedMetricSpecification')
    cust = cfg.get('CustomizedMetricSpecification')
    if (pre is None) == (cust is None):
        raise _validation('Exactly one of PredefinedMetricSpecification or '
                          'CustomizedMetricSpecification must be specified')
    if pre is not None:
        info = PREDEFINED.get(pre['PredefinedMetricType'])
        if info is None or info[0] != ns:
            raise _validation('The predefined metric type %s is not supported for the %s '
                              'service namespace' % (pre['PredefinedMetricType'], ns))
    if cust is not None and not cust.get('Metrics') and not (cust.get('MetricName') and
                                                             cust.get('Namespace')):
        raise _validation('CustomizedMetricSpecification needs MetricName and Namespace, or Metrics')


# Predictive scaling (ECS services only): the predefined types the botocore model documents,
# by the role each may play. A metric pair names the load and scaling metric together.
PREDICTIVE_PAIRS = {'ECSServiceCPUUtilization', 'ECSServiceMemoryUtilization', 'ALBRequestCount'}
PREDICTIVE_SCALING = {'ECSServiceAverageCPUUtilization', 'ECSServiceAverageMemoryUtilization',
                      'ALBRequestCountPerTarget'}
PREDICTIVE_LOAD = {'ECSServiceTotalCPUUtilization', 'ECSServiceTotalMemoryUtilization',
                   'ALBRequestCount', 'TotalALBRequestCount'}


def _check_predefined(spec, allowed, what):
    if spec is None:
        return
    t = spec['PredefinedMetricType']
    if t not in allowed:
        raise _validation('The predefined %s metric type %s is not supported for predictive '
                          'scaling' % (what, t))
    if 'ALB' in t and not spec.get('ResourceLabel'):
        raise _validation('ResourceLabel is required for the predefined metric type %s' % t)


def _check_predictive(ns, cfg):
    """AWS's rules for a PredictiveScalingPolicyConfiguration: ECS only, one metric
    specification holding a metric pair or a scaling and a load metric, and MaxCapacityBuffer
    exactly when the breach behavior is IncreaseMaxCapacity."""
    if ns != 'ecs':
        raise _validation('Predictive scaling is not supported for this scalable dimension')
    specs = cfg['MetricSpecifications']
    if len(specs) != 1:
        raise _validation('Only one metric specification is supported for predictive scaling')
    m = specs[0]
    pair = m.get('PredefinedMetricPairSpecification')
    scaling = [k for k in ('PredefinedScalingMetricSpecification',
                           'CustomizedScalingMetricSpecification') if m.get(k) is not None]
    load = [k for k in ('PredefinedLoadMetricSpecification', 'CustomizedLoadMetricSpecification')
            if m.get(k) is not None]
    if pair is not None and (scaling or load):
        raise _validation('A metric pair cannot be combined with scaling or load metrics')
    if pair is None and (len(scaling) != 1 or len(load) != 1):
        raise _validation('Specify a metric pair, or exactly one scaling metric and one load '
                          'metric')
    _check_predefined(pair, PREDICTIVE_PAIRS, 'pair')
    _check_predefined(m.get('PredefinedScalingMetricSpecification'), PREDICTIVE_SCALING, 'scaling')
    _check_predefined(m.get('PredefinedLoadMetricSpecification'), PREDICTIVE_LOAD, 'load')
    for k in ('CustomizedScalingMetricSpecification', 'CustomizedLoadMetricSpecification',
              'CustomizedCapacityMetricSpecification'):
        queries = (m.get(k) or {}).get('MetricDataQueries')
        if queries is not None and sum(1 for q in queries if q.get('ReturnData', True)) != 1:
            raise _validation('%s must return exactly one time series' % k)
    increase = cfg.get('MaxCapacityBreachBehavior') == 'IncreaseMaxCapacity'
    if increase != (cfg.get('MaxCapacityBuffer') is not None):
        raise _validation('MaxCapacityBuffer is required with IncreaseMaxCapacity and cannot be '
                          'used otherwise')
    if cfg.get('SchedulingBufferTime') is not None and cfg['SchedulingBufferTime'] >= 3600:
        raise _validation('SchedulingBufferTime must be less than the forecast interval of 3600 '
                          'seconds')


def _metric_for(policy, target):
    """(namespace, metric name, dimensions, statistic) of a target tracking policy's metric."""
    cfg = policy['TargetTrackingScalingPolicyConfiguration']
    cust = cfg.get('CustomizedMetricSpecification')
    if cust:
        return (cust.get('Namespace', 'Custom'), cust.get('MetricName', 'Metric'),
                cust.get('Dimensions', []), cust.get('Statistic', 'Average'))
    mtype = cfg['PredefinedMetricSpecification']['PredefinedMetricType']
    _, namespace, metric, stat = PREDEFINED[mtype]
    rid = target['ResourceId']
    if target['ServiceNamespace'] == 'ecs':
        _, cluster, service = rid.split('/', 2)
        dims = [{'Name': 'ClusterName', 'Value': cluster}, {'Name': 'ServiceName', 'Value': service}]
    elif target['ServiceNamespace'] == 'rds':
        dims = [{'Name': 'DBClusterIdentifier', 'Value': rid.split(':', 1)[1]},
                {'Name': 'Role', 'Value': 'READER'}]
    elif target['ServiceNamespace'] == 'elasticache':
        dims = [{'Name': 'ReplicationGroupId', 'Value': rid.split('/', 1)[1]}]
        if 'Primary' in mtype:
            dims.append({'Name': 'Role', 'Value': 'Primary'})
        elif 'Replica' in mtype:
            dims.append({'Name': 'Role', 'Value': 'Replica'})
    else:
        _, fn, qual = rid.split(':', 2)
        dims = [{'Name': 'FunctionName', 'Value': fn}, {'Name': 'Resource', 'Value': fn + ':' + qual}]
    return namespace, metric, dims, stat


def _tracking_alarms(ctx, policy, target):
    """Creates or updates the alarms a target tracking policy owns; returns [{AlarmName,
    AlarmARN}]."""
    from . import cloudwatch
    cfg = policy['TargetTrackingScalingPolicyConfiguration']
    namespace, metric, dims, stat = _metric_for(policy, target)
    cw = ctx.store_for(cloudwatch)
    existing = {a['AlarmName'] for a in policy.get('Alarms', [])}
    alarms = []
    specs = [('AlarmHigh', 'GreaterThanThreshold', cfg['TargetValue'], 3)]
    if not cfg.get('DisableScaleIn'):
        specs.append(('AlarmLow', 'LessThanThreshold', cfg['TargetValue'] * 0.9, 15))
    for kind, cmp, threshold, periods in specs:
        name = next((n for n in existing if '-%s-' % kind in n), None) or \
            'TargetTracking-%s-%s-%s' % (target['ResourceId'], kind, new_uuid())
        cloudwatch.put_internal_alarm(ctx, cw, {
            'AlarmName': name, 'Namespace': namespace, 'MetricName': metric, 'Dimensions': dims,
            'Statistic': stat, 'Period': 60, 'EvaluationPeriods': periods,
            'DatapointsToAlarm': periods, 'Threshold': float(threshold),
            'ComparisonOperator': cmp, 'AlarmActions': [policy['PolicyARN']],
            'AlarmDescription': 'DO NOT EDIT OR DELETE. For TargetTrackingScaling policy %s.'
                                % policy['PolicyARN']})
        alarms.append({'AlarmName': name, 'AlarmARN': cloudwatch.alarm_arn(ctx, name)})
    for gone in existing - {a['AlarmName'] for a in alarms}:
        cw['alarms'].pop(gone, None)
    return alarms


def _delete_policy(ctx, policy):
    from . import cloudwatch
    cw = ctx.store_for(cloudwatch)
    for a in policy.get('Alarms', []):
        cw['alarms'].pop(a['AlarmName'], None)


@operation('PutScalingPolicy')
def put_scaling_policy(ctx, p):
    target = _target(ctx, p)
    ptype = p.get('PolicyType', 'StepScaling')
    if ptype == 'StepScaling':
        cfg = p.get('StepScalingPolicyConfiguration')
        if cfg is None:
            raise _validation('StepScalingPolicyConfiguration is required for a StepScaling policy')
        _check_steps(cfg)
    elif ptype == 'TargetTrackingScaling':
        cfg = p.get('TargetTrackingScalingPolicyConfiguration')
        if cfg is None:
            raise _validation('TargetTrackingScalingPolicyConfiguration is required for a '
                              'TargetTrackingScaling policy')
        _check_target_tracking(target['ServiceNamespace'], cfg)
    else:
        cfg = p.get('PredictiveScalingPolicyConfiguration')
        if cfg is None:
            raise _validation('PredictiveScalingPolicyConfiguration is required for a '
                              'PredictiveScaling policy')
        _check_predictive(target['ServiceNamespace'], cfg)
    key = _key(p) + (p['PolicyName'],)
    pol = ctx.store['policies'].get(key)
    if pol is None:
        pol = {'PolicyARN': 'arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s'
                            % (ctx.region, ctx.account, new_uuid(), target['ServiceNamespace'],
                               target['ResourceId'], p['PolicyName']),
               'PolicyName': p['PolicyName'], 'ServiceNamespace': target['ServiceNamespace'],
               'ResourceId': target['ResourceId'], 'ScalableDimension': target['ScalableDimension'],
               'CreationTime': time.time(), '_seq': ctx.seq()}
        ctx.store['policies'][key] = pol
    elif pol['PolicyType'] != ptype:
        _delete_policy(ctx, pol)
        pol.pop('Alarms', None)
    pol['PolicyType'] = ptype
    pol.pop('StepScalingPolicyConfiguration', None)
    pol.pop('TargetTrackingScalingPolicyConfiguration', None)
    pol.pop('PredictiveScalingPolicyConfiguration', None)
    if ptype == 'StepScaling':
        pol['StepScalingPolicyConfiguration'] = clone(p['StepScalingPolicyConfiguration'])
        out = {'PolicyARN': pol['PolicyARN']}
        pol.setdefault('Alarms', [])
    elif ptype == 'PredictiveScaling':
        # Stored as given: Describe returns what was put (no alarms, as AWS).
        pol['PredictiveScalingPolicyConfiguration'] = clone(
            p['PredictiveScalingPolicyConfiguration'])
        pol['_forecast_updated'] = time.time()
        pol.pop('Alarms', None)
        out = {'PolicyARN': pol['PolicyARN']}
    else:
        pol['TargetTrackingScalingPolicyConfiguration'] = clone(
            p['TargetTrackingScalingPolicyConfiguration'])
        pol['Alarms'] = _tracking_alarms(ctx, pol, target)
        out = {'PolicyARN': pol['PolicyARN'], 'Alarms': clone(pol['Alarms'])}
    return out


def _policy_key(p):
    return _key(p) + (p['PolicyName'],)


@operation('DeleteScalingPolicy')
def delete_scaling_policy(ctx, p):
    pol = ctx.store['policies'].pop(_policy_key(p), None)
    if pol is None:
        raise AwsError('ObjectNotFoundException', 'No scaling policy found for service namespace: '
                       '%s, resource ID: %s, scalable dimension: %s, policy name: %s'
                       % (p['ServiceNamespace'], p['ResourceId'], p['ScalableDimension'],
                          p['PolicyName']))
    _delete_policy(ctx, pol)
    return {}


@operation('DescribeScalingPolicies')
def describe_scaling_policies(ctx, p):
    ns = p['ServiceNamespace']
    limit = check_limit(p.get('MaxResults'), 1, 10, 10,
                        _validation('MaxResults must be between 1 and 10'))
    names = set(p['PolicyNames']) if p.get('PolicyNames') else None
    items = [x for x in ctx.store['policies'].values()
             if x['ServiceNamespace'] == ns
             and (names is None or x['PolicyName'] in names)
             and (p.get('ResourceId') is None or x['ResourceId'] == p['ResourceId'])
             and (p.get('ScalableDimension') is None or
                  x['ScalableDimension'] == p['ScalableDimension'])]
    page, nxt = paginate(items, lambda x: x['_seq'], p.get('NextToken'), limit,
                         'DescribeScalingPolicies', _bad_token())
    return {'ScalingPolicies': clone(page), 'NextToken': nxt}


FORECAST_MAX_RANGE = 30 * 86400


def forecast_capacity(hour, target):
    """The simulator's capacity forecast for the UTC hour `hour` (0-23) of any day: the target's
    minimum at night, three quarters of the way to its maximum from 09:00 to 17:00, halfway at
    08:00 and 17:00 — a business day's shape, the same every day."""
    lo, hi = target['MinCapacity'], target['MaxCapacity']
    if 9 <= hour < 17:
        return lo + -(-(hi - lo) * 3 // 4)
    if hour in (8, 17):
        return lo + -(-(hi - lo) // 2)
    return lo


@operation('GetPredictiveScalingForecast')
def get_predictive_scaling_forecast(ctx, p):
    """Hourly points from StartTime's hour to EndTime: the capacity forecast_capacity gives, and
    the load it serves at the policy's target value (capacity x TargetValue)."""
    pol = ctx.store['policies'].get(_policy_key(p))
    if pol is None or pol['PolicyType'] != 'PredictiveScaling':
        raise _validation('No predictive scaling policy found for service namespace: %s, '
                          'resource ID: %s, scalable dimension: %s, policy name: %s'
                          % (p['ServiceNamespace'], p['ResourceId'], p['ScalableDimension'],
                             p['PolicyName']))
    start, end = p['StartTime'], p['EndTime']
    if hasattr(start, 'timestamp'):
        start, end = start.timestamp(), end.timestamp()
    if end <= start:
        raise _validation('EndTime must be after StartTime')
    if end - start > FORECAST_MAX_RANGE:
        raise _validation('The forecast time range cannot exceed 30 days')
    target = _target(ctx, p)
    spec = pol['PredictiveScalingPolicyConfiguration']['MetricSpecifications'][0]
    stamps, capacity = [], []
    t = int(start) // 3600 * 3600
    while t < end:
        stamps.append(float(t))
        capacity.append(float(forecast_capacity(time.gmtime(t).tm_hour, target)))
        t += 3600
    return {'LoadForecast': [{'Timestamps': stamps,
                              'Values': [c * spec['TargetValue'] for c in capacity],
                              'MetricSpecification': clone(spec)}],
            'CapacityForecast': {'Timestamps': list(stamps), 'Values': capacity},
            'UpdateTime': pol['_forecast_updated']}


def execute_policy(ctx, policy_arn, alarm_name):
    """Runs the scaling policy with this ARN because alarm_name went to ALARM. Returns True when
    a policy was found."""
    for pol in ctx.store['policies'].values():
        if pol['PolicyARN'] == policy_arn:
            break
    else:
        return False
    target = ctx.store['targets'].get((pol['ServiceNamespace'], pol['ResourceId'],
                                       pol['ScalableDimension']))
    if target is None:
        return True
    mod, m = _resource(ctx, target['ServiceNamespace'], target['ResourceId'],
                       target['ScalableDimension'])
    current = mod.aas_get(ctx, target['ScalableDimension'], m) or 0
    cause = 'monitor alarm %s in state ALARM triggered policy %s' % (alarm_name, pol['PolicyName'])
    if pol['PolicyType'] == 'StepScaling':
        if target['SuspendedState'].get('DynamicScalingOutSuspended'):
            return True
        cfg = pol['StepScalingPolicyConfiguration']
        steps = sorted(cfg['StepAdjustments'],
                       key=lambda s: s.get('MetricIntervalLowerBound', float('-inf')))
        # The breach size is unknown here, so the step that contains a breach of 0 applies,
        # else the first step.
        step = next((s for s in steps if s.get('MetricIntervalLowerBound', float('-inf')) <= 0 <
                     s.get('MetricIntervalUpperBound', float('inf'))), steps[0])
        adj = step['ScalingAdjustment']
        kind = cfg['AdjustmentType']
        if kind == 'ExactCapacity':
            new = adj
        elif kind == 'PercentChangeInCapacity':
            delta = int(current * adj / 100.0)
            mag = cfg.get('MinAdjustmentMagnitude')
            if mag and abs(delta) < mag:
                delta = mag if adj > 0 else -mag
            new = current + delta
        else:
            new = current + adj
    else:
        high = '-AlarmHigh-' in alarm_name
        susp = target['SuspendedState']
        if (high and susp.get('DynamicScalingOutSuspended')) or \
                (not high and susp.get('DynamicScalingInSuspended')):
            return True
        new = current + (1 if high else -1)
    set_capacity(ctx, target, new, cause)
    return True


# ---- scheduled actions ----------------------------------------------------------------------

_RATE = re.compile(r'^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$')
_AT = re.compile(r'^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$')
_MONTHS = 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC'.split()
_DAYS = 'SUN MON TUE WED THU FRI SAT'.split()


def _cron_field(text, lo, hi, names=(), extra=''):
    """True when one cron field is valid: lists of values, ranges, */step, names."""
    if text == '*':
        return True
    for part in text.split(','):
        base, slash, step = part.partition('/')
        if slash and not (step.isdigit() and int(step) > 0):
            return False
        if base == '*':
            continue
        if extra and re.fullmatch(extra, base):
            continue
        ends = base.split('-')
        if len(ends) > 2:
            return False
        for e in ends:
            if e.upper() in names:
                continue
            if not e.isdigit() or not lo <= int(e) <= hi:
                return False
    return True


def check_schedule(schedule):
    """Raises ValidationException unless schedule is a valid at(), rate() or cron()."""
    m = _RATE.match(schedule)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n < 1 or (n == 1) == unit.endswith('s'):
            raise _validation('Invalid rate expression: %s. Use a singular unit for a value of 1 '
                              'and a plural unit otherwise' % schedule)
        return
    m = _AT.match(schedule)
    if m:
        try:
            time.strptime(schedule[3:-1], '%Y-%m-%dT%H:%M:%S')
        except ValueError:
            raise _validation('Invalid at expression: %s' % schedule)
        return
    if schedule.startswith('cron(') and schedule.endswith(')'):
        fields = schedule[5:-1].split()
        if len(fields) != 6:
            raise _validation('Invalid cron expression: %s. A cron expression has six fields: '
                              'minutes hours day-of-month month day-of-week year' % schedule)
        minute, hour, dom, month, dow, year = fields
        if (dom == '?') == (dow == '?'):
            raise _validation('Invalid cron expression: %s. Use ? in exactly one of the '
                              'day-of-month and day-of-week fields' % schedule)
        ok = (_cron_field(minute, 0, 59) and _cron_field(hour, 0, 23) and
              (dom == '?' or _cron_field(dom, 1, 31, extra=r'L|LW|\d{1,2}W')) and
              _cron_field(month, 1, 12, _MONTHS) and
              (dow == '?' or _cron_field(dow, 1, 7, _DAYS, extra=r'[1-7A-Za-z]{1,3}(#[1-5]|L)')) and
              _cron_field(year, 1970, 2199))
        if not ok:
            raise _validation('Invalid cron expression: %s' % schedule)
        return
    raise _validation('Schedule must be an at(), rate() or cron() expression: %s' % schedule)


@operation('PutScheduledAction')
def put_scheduled_action(ctx, p):
    target = _target(ctx, p)
    key = _key(p) + (p['ScheduledActionName'],)
    existing = ctx.store['scheduled'].get(key)
    schedule = p.get('Schedule') or (existing or {}).get('Schedule')
    if not schedule:
        raise _validation('Schedule is required when creating a scheduled action')
    check_schedule(schedule)
    tz = p.get('Timezone')
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _validation('Invalid time zone: %s' % tz)
    action = p.get('ScalableTargetAction')
    if existing is None and not action:
        raise _validation('ScalableTargetAction is required when creating a scheduled action')
    if action:
        lo, hi = action.get('MinCapacity'), action.get('MaxCapacity')
        if lo is None and hi is None:
            raise _validation('ScalableTargetAction needs MinCapacity or MaxCapacity')
        if lo is not None and hi is not None and lo > hi:
            raise _validation('Minimum capacity cannot be greater than maximum capacity')
    start, end = p.get('StartTime'), p.get('EndTime')
    if start is not None and end is not None and end <= start:
        raise _validation('EndTime must be later than StartTime')
    if existing is None:
        existing = {'ScheduledActionName': p['ScheduledActionName'],
                    'ScheduledActionARN': 'arn:aws:autoscaling:%s:%s:scheduledAction:%s:resource/'
                                          '%s/%s:scheduledActionName/%s'
                                          % (ctx.region, ctx.account, new_uuid(),
                                             target['ServiceNamespace'], target['ResourceId'],
                                             p['ScheduledActionName']),
                    'ServiceNamespace': target['ServiceNamespace'],
                    'ResourceId': target['ResourceId'],
                    'ScalableDimension': target['ScalableDimension'],
                    'CreationTime': time.time(), '_seq': ctx.seq()}
        ctx.store['scheduled'][key] = existing
    existing['Schedule'] = schedule
    for k in ('Timezone', 'StartTime', 'EndTime'):
        if p.get(k) is not None:
            existing[k] = p[k]
    if action:
        existing['ScalableTargetAction'] = clone(action)
    return {}


@operation('DeleteScheduledAction')
def delete_scheduled_action(ctx, p):
    key = _key(p) + (p['ScheduledActionName'],)
    if ctx.store['scheduled'].pop(key, None) is None:
        raise AwsError('ObjectNotFoundException', 'No scheduled action found for service namespace: '
                       '%s, resource ID: %s, scalable dimension: %s, scheduled action name: %s'
                       % (p['ServiceNamespace'], p['ResourceId'], p['ScalableDimension'],
                          p['ScheduledActionName']))
    return {}


@operation('DescribeScheduledActions')
def describe_scheduled_actions(ctx, p):
    ns = p['ServiceNamespace']
    limit = check_limit(p.get('MaxResults'), 1, 50, 50,
                        _validation('MaxResults must be between 1 and 50'))
    names = set(p['ScheduledActionNames']) if p.get('ScheduledActionNames') else None
    items = [x for x in ctx.store['scheduled'].values()
             if x['ServiceNamespace'] == ns
             and (names is None or x['ScheduledActionName'] in names)
             and (p.get('ResourceId') is None or x['ResourceId'] == p['ResourceId'])
             and (p.get('ScalableDimension') is None or
                  x['ScalableDimension'] == p['ScalableDimension'])]
    page, nxt = paginate(items, lambda x: x['_seq'], p.get('NextToken'), limit,
                         'DescribeScheduledActions', _bad_token())
    return {'ScheduledActions': clone(page), 'NextToken': nxt}


@operation('DescribeScalingActivities')
def describe_scaling_activities(ctx, p):
    ns = p['ServiceNamespace']
    limit = check_limit(p.get('MaxResults'), 1, 50, 50,
                        _validation('MaxResults must be between 1 and 50'))
    items = [a for a in ctx.store['activities']
             if a['ServiceNamespace'] == ns
             and (p.get('ResourceId') is None or a['ResourceId'] == p['ResourceId'])
             and (p.get('ScalableDimension') is None or
                  a['ScalableDimension'] == p['ScalableDimension'])
             and (p.get('IncludeNotScaledActivities') or a['StatusCode'] != 'Unfulfilled'
                  or 'NotScaledReasons' not in a)]
    # Newest first, as AWS lists them.
    page, nxt = paginate(items, lambda a: -a['_seq'], p.get('NextToken'), limit,
                         'DescribeScalingActivities', _bad_token())
    return {'ScalingActivities': clone(page), 'NextToken': nxt}


# ---- tags -----------------------------------------------------------------------------------

def _tags_of(ctx, arn):
    tags = ctx.store['tags'].get(arn)
    if tags is None:
        raise AwsError('ResourceNotFoundException', 'Resource not found: %s' % arn,
                       fields={'ResourceName': arn})
    return tags


@operation('TagResource')
def tag_resource(ctx, p):
    tags = _tags_of(ctx, p['ResourceARN'])
    merged = dict(tags)
    merged.update(p['Tags'])
    if len(merged) > MAX_TAGS:
        raise AwsError('TooManyTagsException', 'The number of tags exceeds the limit of %d.'
                       % MAX_TAGS, fields={'ResourceName': p['ResourceARN']})
    tags.update(p['Tags'])
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    tags = _tags_of(ctx, p['ResourceARN'])
    for k in p['TagKeys']:
        tags.pop(k, None)
    return {}


@operation('ListTagsForResource')
def list_tags_for_resource(ctx, p):
    return {'Tags': dict(_tags_of(ctx, p['ResourceARN']))}
