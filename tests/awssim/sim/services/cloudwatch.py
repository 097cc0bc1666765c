"""Amazon CloudWatch alarms: metric alarms, composite alarms, alarm state, tags.

There is no metric data, so alarms never evaluate by themselves: a new alarm is
INSUFFICIENT_DATA until SetAlarmState or the control API moves it. A state transition runs the
alarm's actions when ActionsEnabled (scaling policy ARNs execute the Application Auto Scaling
policy) and re-evaluates the composite alarms that reference it. DescribeAlarms returns alarms in
name order, MetricAlarms only unless AlarmTypes says otherwise, at most 100 names per call.
"""

import json
import re
import sys
import time

from ..errors import AwsError
from ..util import check_limit, paginate
from . import Ctx, clone, ops

SERVICE = 'cloudwatch'
OPS, operation = ops()

MAX_NAMES = 100
MAX_TAGS = 50

_METRIC_KEYS = ('AlarmDescription', 'ActionsEnabled', 'OKActions', 'AlarmActions',
                'InsufficientDataActions', 'MetricName', 'Namespace', 'Statistic',
                'ExtendedStatistic', 'Dimensions', 'Period', 'Unit', 'EvaluationPeriods',
                'DatapointsToAlarm', 'Threshold', 'ComparisonOperator', 'TreatMissingData',
                'EvaluateLowSampleCountPercentile', 'Metrics', 'ThresholdMetricId')
_COMPOSITE_KEYS = ('ActionsEnabled', 'AlarmActions', 'AlarmDescription', 'InsufficientDataActions',
                   'OKActions', 'AlarmRule', 'ActionsSuppressor', 'ActionsSuppressorWaitPeriod',
                   'ActionsSuppressorExtensionPeriod')


def new_store():
    return {'alarms': {}, 'tags': {}}


def _me():
    return sys.modules[__name__]


def _validation(msg):
    return AwsError('ValidationError', msg)


def alarm_arn(ctx, name):
    return 'arn:aws:cloudwatch:%s:%s:alarm:%s' % (ctx.region, ctx.account, name)


def _new_alarm(ctx, name, kind):
    now = time.time()
    return {'AlarmName': name, 'AlarmArn': alarm_arn(ctx, name), '_kind': kind,
            'AlarmConfigurationUpdatedTimestamp': now, 'ActionsEnabled': True,
            'OKActions': [], 'AlarmActions': [], 'InsufficientDataActions': [],
            'StateValue': 'INSUFFICIENT_DATA', 'StateReason': 'Unchecked: Initial alarm creation',
            'StateUpdatedTimestamp': now, 'StateTransitionedTimestamp': now}


def _check_metric_alarm(p):
    if p.get('Metrics'):
        for k in ('MetricName', 'Namespace', 'Statistic', 'ExtendedStatistic', 'Dimensions', 'Period'):
            if p.get(k) is not None:
                raise AwsError('InvalidParameterCombination', 'The parameter %s cannot be used '
                               'together with Metrics.' % k)
        returning = [m for m in p['Metrics'] if m.get('ReturnData', True)]
        if len(returning) != 1 and not p.get('ThresholdMetricId'):
            raise _validation('Exactly one element of the metrics list should return data.')
    elif p.get('EvaluationCriteria') is None:
        for k in ('MetricName', 'Namespace', 'Period'):
            if p.get(k) is None:
                raise _validation('%s must not be null' % k)
        if (p.get('Statistic') is None) == (p.get('ExtendedStatistic') is None):
            raise AwsError('InvalidParameterCombination', 'Exactly one element of the Statistic '
                           'and ExtendedStatistic parameters must be specified.')
    period = p.get('Period')
    if period is not None and period not in (10, 20, 30) and period % 60:
        raise AwsError('InvalidParameterValue', 'The parameter Period must be 10, 20, 30 or a '
                       'multiple of 60.')
    if p.get('EvaluationPeriods') is None and p.get('EvaluationCriteria') is None:
        raise _validation('EvaluationPeriods must not be null')
    if p.get('ComparisonOperator') is None and p.get('EvaluationCriteria') is None:
        raise _validation('ComparisonOperator must not be null')
    if p.get('DatapointsToAlarm') is not None and p.get('EvaluationPeriods') is not None and \
            p['DatapointsToAlarm'] > p['EvaluationPeriods']:
        raise _validation('DatapointsToAlarm must be less than or equal to EvaluationPeriods')
    if p.get('Threshold') is None and not p.get('ThresholdMetricId') and \
            p.get('EvaluationCriteria') is None:
        raise _validation('Threshold must not be null')
    tmd = p.get('TreatMissingData')
    if tmd is not None and tmd not in ('breaching', 'notBreaching', 'ignore', 'missing'):
        raise _validation('The value %s is not supported for TreatMissingData' % tmd)


def put_internal_alarm(ctx, store, p):
    """Creates or updates a metric alarm from a PutMetricAlarm-shaped dict (also used by
    Application Auto Scaling for target tracking alarms)."""
    name = p['AlarmName']
    alarm = store['alarms'].get(name)
    if alarm is None or alarm['_kind'] != 'metric':
        old = alarm
        alarm = _new_alarm(ctx, name, 'metric')
        if old is not None:
            alarm['StateValue'] = old['StateValue']
        store['alarms'][name] = alarm
    else:
        for k in _METRIC_KEYS:
            alarm.pop(k, None)
        alarm.update({'ActionsEnabled': True, 'OKActions': [], 'AlarmActions': [],
                      'InsufficientDataActions': []})
        alarm['AlarmConfigurationUpdatedTimestamp'] = time.time()
    for k in _METRIC_KEYS:
        if p.get(k) is not None:
            alarm[k] = clone(p[k])
    alarm.setdefault('Dimensions', [])
    if alarm.get('Threshold') is not None:
        alarm['Threshold'] = float(alarm['Threshold'])
    return alarm


@operation('PutMetricAlarm')
def put_metric_alarm(ctx, p):
    _check_metric_alarm(p)
    created = p['AlarmName'] not in ctx.store['alarms']
    alarm = put_internal_alarm(ctx, ctx.store, p)
    if created:
        # Tags are only applied when the alarm is created; AWS ignores them on update.
        _set_tags(ctx.store, alarm['AlarmArn'], p.get('Tags') or [], replace=True)
    return {}


_TOKEN = re.compile(r'\s*(?:(ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:"([^"]*)"|([^()\s"]+))\s*\)'
                    r'|(TRUE|FALSE)\b|(AND|OR|NOT)\b|(\()|(\)))')


def parse_rule(rule):
    """Parses an AlarmRule into a nested tuple tree. Raises ValueError on a syntax error."""
    tokens, pos = [], 0
    rule = rule.strip()
    while pos < len(rule):
        m = _TOKEN.match(rule, pos)
        if not m or m.end() == pos:
            raise ValueError('unexpected text at %d: %r' % (pos, rule[pos:pos + 20]))
        if m.group(1):
            tokens.append(('fn', m.group(1), m.group(2) if m.group(2) is not None else m.group(3)))
        elif m.group(4):
            tokens.append(('const', m.group(4) == 'TRUE'))
        elif m.group(5):
            tokens.append(('op', m.group(5)))
        else:
            tokens.append(('paren', m.group(6) or m.group(7)))
        pos = m.end()
        while pos < len(rule) and rule[pos].isspace():
            pos += 1
    it = [0]

    def peek():
        return tokens[it[0]] if it[0] < len(tokens) else None

    def take():
        t = peek()
        if t is None:
            raise ValueError('unexpected end of rule')
        it[0] += 1
        return t

    def expr():
        node = term()
        while peek() == ('op', 'OR'):
            take()
            node = ('or', node, term())
        return node

    def term():
        node = factor()
        while peek() == ('op', 'AND'):
            take()
            node = ('and', node, factor())
        return node

    def factor():
        t = take()
        if t == ('op', 'NOT'):
            return ('not', factor())
        if t == ('paren', '('):
            node = expr()
            if take() != ('paren', ')'):
                raise ValueError('missing )')
            return node
        if t[0] in ('fn', 'const'):
            return t
        raise ValueError('unexpected %s' % (t,))
    tree = expr()
    if peek() is not None:
        raise ValueError('unexpected %s' % (peek(),))
    return tree


def _refs(tree):
    if tree[0] == 'fn':
        return [tree[2]]
    if tree[0] in ('and', 'or'):
        return _refs(tree[1]) + _refs(tree[2])
    if tree[0] == 'not':
        return _refs(tree[1])
    return []


def _name_of(ref):
    return ref.split(':alarm:', 1)[1] if ':alarm:' in ref else ref


def _eval(tree, alarms):
    kind = tree[0]
    if kind == 'const':
        return tree[1]
    if kind == 'fn':
        a = alarms.get(_name_of(tree[2]))
        return a is not None and a['StateValue'] == tree[1]
    if kind == 'not':
        return not _eval(tree[1], alarms)
    if kind == 'and':
        return _eval(tree[1], alarms) and _eval(tree[2], alarms)
    return _eval(tree[1], alarms) or _eval(tree[2], alarms)


@operation('PutCompositeAlarm')
def put_composite_alarm(ctx, p):
    try:
        tree = parse_rule(p['AlarmRule'])
    except ValueError as e:
        raise _validation('Error in alarm rule: %s' % e)
    store = ctx.store
    missing = [r for r in _refs(tree) if _name_of(r) not in store['alarms']]
    if missing:
        raise _validation('Could not save the composite alarm as alarms [%s] in the alarm rule do '
                          'not exist' % ', '.join(missing))
    if p['AlarmName'] in [_name_of(r) for r in _refs(tree)]:
        raise _validation('A composite alarm cannot reference itself in its alarm rule.')
    name = p['AlarmName']
    alarm = store['alarms'].get(name)
    created = alarm is None
    if created or alarm['_kind'] != 'composite':
        alarm = _new_alarm(ctx, name, 'composite')
        store['alarms'][name] = alarm
    else:
        for k in _COMPOSITE_KEYS:
            alarm.pop(k, None)
        alarm.update({'ActionsEnabled': True, 'OKActions': [], 'AlarmActions': [],
                      'InsufficientDataActions': []})
        alarm['AlarmConfigurationUpdatedTimestamp'] = time.time()
    for k in _COMPOSITE_KEYS:
        if p.get(k) is not None:
            alarm[k] = clone(p[k])
    alarm['_tree'] = tree
    if created:
        _set_tags(store, alarm['AlarmArn'], p.get('Tags') or [], replace=True)

    def evaluate():
        if store['alarms'].get(name) is alarm:
            _evaluate_composite(ctx, store, alarm)
    ctx.later('cloudwatch', evaluate, delay=0)
    return {}


def _evaluate_composite(ctx, store, alarm, depth=0):
    value = 'ALARM' if _eval(alarm['_tree'], store['alarms']) else 'OK'
    if value != alarm['StateValue']:
        _transition(ctx, store, alarm, value, 'arn:aws:cloudwatch composite alarm rule evaluated to %s'
                    % ('TRUE' if value == 'ALARM' else 'FALSE'), None, depth + 1)


def _transition(ctx, store, alarm, value, reason, reason_data, depth=0):
    """Sets an alarm's state; on a change runs its actions and re-evaluates its parents."""
    now = time.time()
    changed = alarm['StateValue'] != value
    alarm['StateValue'] = value
    alarm['StateReason'] = reason
    if reason_data is not None:
        alarm['StateReasonData'] = reason_data
    else:
        alarm.pop('StateReasonData', None)
    alarm['StateUpdatedTimestamp'] = now
    if not changed:
        return
    alarm['StateTransitionedTimestamp'] = now
    if alarm.get('ActionsEnabled', True):
        actions = {'ALARM': 'AlarmActions', 'OK': 'OKActions',
                   'INSUFFICIENT_DATA': 'InsufficientDataActions'}[value]
        for arn in alarm.get(actions, []):
            if ':autoscaling:' in arn and ':scalingPolicy:' in arn and value == 'ALARM':
                from . import appautoscaling
                aas_ctx = Ctx(ctx.state, appautoscaling, ctx.account, ctx.region, ctx.identity,
                              'AlarmAction')
                appautoscaling.execute_policy(aas_ctx, arn, alarm['AlarmName'])
    if depth > 20:
        return   # a cycle of composite alarms; CloudWatch stops evaluating too
    for parent in list(store['alarms'].values()):
        if parent['_kind'] == 'composite' and alarm['AlarmName'] in \
                [_name_of(r) for r in _refs(parent['_tree'])]:
            _evaluate_composite(ctx, store, parent, depth)


@operation('SetAlarmState')
def set_alarm_state(ctx, p):
    alarm = ctx.store['alarms'].get(p['AlarmName'])
    if alarm is None:
        raise AwsError('ResourceNotFound', 'Alarm %s not found' % p['AlarmName'])
    if p.get('StateReasonData') is not None:
        try:
            json.loads(p['StateReasonData'])
        except ValueError:
            raise AwsError('InvalidFormat', 'StateReasonData is not valid JSON.')
    _transition(ctx, ctx.store, alarm, p['StateValue'], p['StateReason'], p.get('StateReasonData'))
    return {}


def control_set_state(sim, account, region, name, value, reason):
    """The control API's way to move an alarm (as the metric would)."""
    ctx = Ctx(sim.state, _me(), account, region, None, 'ControlSetAlarmState')
    alarm = ctx.store['alarms'].get(name)
    if alarm is None:
        raise KeyError('no alarm %r in %s/%s' % (name, account, region))
    if value not in ('OK', 'ALARM', 'INSUFFICIENT_DATA'):
        raise ValueError('state must be OK, ALARM or INSUFFICIENT_DATA')
    _transition(ctx, ctx.store, alarm, value, reason, None)


def _present(alarm):
    # Serialised at once under the state lock, so a shallow view is enough.
    return {k: v for k, v in alarm.items() if k[:1] != '_'}


@operation('DescribeAlarms')
def describe_alarms(ctx, p):
    limit = check_limit(p.get('MaxRecords'), 1, 100, 50,
                        AwsError('InvalidParameterValue', 'MaxRecords must be between 1 and 100.'))
    store = ctx.store['alarms']
    family = p.get('ChildrenOfAlarmName') or p.get('ParentsOfAlarmName')
    if family:
        others = [k for k in ('AlarmNames', 'AlarmNamePrefix', 'AlarmTypes', 'StateValue',
                              'ActionPrefix') if p.get(k)]
        if others or (p.get('ChildrenOfAlarmName') and p.get('ParentsOfAlarmName')):
            raise _validation('If you specify ChildrenOfAlarmName or ParentsOfAlarmName, you cannot '
                              'specify any other parameters in the request except for MaxRecords '
                              'and NextToken.')
    if p.get('AlarmNames') and p.get('AlarmNamePrefix'):
        raise AwsError('InvalidParameterCombination',
                       'AlarmNamePrefix and AlarmNames cannot be used together.')
    if p.get('ChildrenOfAlarmName'):
        parent = store.get(p['ChildrenOfAlarmName'])
        names = set(_name_of(r) for r in _refs(parent['_tree'])) if parent and \
            parent['_kind'] == 'composite' else set()
        items = [a for a in store.values() if a['AlarmName'] in names]
        kinds = {'metric', 'composite'}
    elif p.get('ParentsOfAlarmName'):
        child = p['ParentsOfAlarmName']
        items = [a for a in store.values() if a['_kind'] == 'composite' and
                 child in [_name_of(r) for r in _refs(a['_tree'])]]
        kinds = {'composite'}
    else:
        types = p.get('AlarmTypes') or ['MetricAlarm']
        kinds = {'metric' if t == 'MetricAlarm' else 'composite' for t in types}
        items = list(store.values())
        if p.get('AlarmNames'):
            names = set(p['AlarmNames'])
            items = [a for a in items if a['AlarmName'] in names]
        if p.get('AlarmNamePrefix'):
            items = [a for a in items if a['AlarmName'].startswith(p['AlarmNamePrefix'])]
        if p.get('StateValue'):
            items = [a for a in items if a['StateValue'] == p['StateValue']]
        if p.get('ActionPrefix'):
            pre = p['ActionPrefix']
            items = [a for a in items if any(x.startswith(pre) for k in
                                             ('AlarmActions', 'OKActions', 'InsufficientDataActions')
                                             for x in a.get(k, []))]
    items = [a for a in items if a['_kind'] in kinds]
    page, nxt = paginate(items, lambda a: a['AlarmName'], p.get('NextToken'), limit,
                         'DescribeAlarms', AwsError('InvalidNextToken', 'The service returned an '
                                                    'invalid NextToken.'))
    metric, composite = [], []
    for a in page:
        out = _present(a)
        if p.get('ChildrenOfAlarmName'):
            out = {k: out[k] for k in ('AlarmName', 'AlarmArn', 'StateValue', 'StateUpdatedTimestamp')}
        elif p.get('ParentsOfAlarmName'):
            out = {k: out[k] for k in ('AlarmName', 'AlarmArn')}
        (metric if a['_kind'] == 'metric' else composite).append(out)
    result = {'NextToken': nxt}
    if 'metric' in kinds:
        result['MetricAlarms'] = metric
    if 'composite' in kinds:
        result['CompositeAlarms'] = composite
    return result


@operation('DeleteAlarms')
def delete_alarms(ctx, p):
    names = p['AlarmNames']
    store = ctx.store
    if len(names) > MAX_NAMES:
        raise _validation('You can delete at most %d alarms at once.' % MAX_NAMES)
    composites = [n for n in names if store['alarms'].get(n, {}).get('_kind') == 'composite']
    if len(composites) > 1:
        raise _validation('You can delete at most one composite alarm in one operation.')
    for n in names:
        for parent in store['alarms'].values():
            if parent['_kind'] == 'composite' and parent['AlarmName'] not in names and \
                    n in [_name_of(r) for r in _refs(parent['_tree'])]:
                raise _validation('Alarm %s is referenced by composite alarm %s and cannot be '
                                  'deleted.' % (n, parent['AlarmName']))
    for n in names:
        alarm = store['alarms'].pop(n, None)
        if alarm is not None:
            store['tags'].pop(alarm['AlarmArn'], None)
    return {}


@operation('EnableAlarmActions')
def enable_alarm_actions(ctx, p):
    for n in p['AlarmNames']:
        if n in ctx.store['alarms']:
            ctx.store['alarms'][n]['ActionsEnabled'] = True
    return {}


@operation('DisableAlarmActions')
def disable_alarm_actions(ctx, p):
    for n in p['AlarmNames']:
        if n in ctx.store['alarms']:
            ctx.store['alarms'][n]['ActionsEnabled'] = False
    return {}


# ---- tags ------------------------------------------------------------------------------------

def _set_tags(store, arn, tags, replace=False):
    current = {} if replace else store['tags'].get(arn, {})
    merged = dict(current)
    merged.update({t['Key']: t['Value'] for t in tags})
    if len(merged) > MAX_TAGS:
        raise AwsError('LimitExceededException', 'The number of tags exceeds the limit of %d.'
                       % MAX_TAGS)
    store['tags'][arn] = merged


def _tag_alarm(ctx, arn):
    m = re.match(r'^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:(.+)$', arn)
    alarm = ctx.store['alarms'].get(m.group(1)) if m else None
    if alarm is None or alarm['AlarmArn'] != arn:
        raise AwsError('ResourceNotFoundException', 'Unknown resource %s' % arn)
    return alarm


@operation('TagResource')
def tag_resource(ctx, p):
    alarm = _tag_alarm(ctx, p['ResourceARN'])
    _set_tags(ctx.store, alarm['AlarmArn'], p['Tags'])
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    alarm = _tag_alarm(ctx, p['ResourceARN'])
    tags = ctx.store['tags'].setdefault(alarm['AlarmArn'], {})
    for k in p['TagKeys']:
        tags.pop(k, None)
    return {}


@operation('ListTagsForResource')
def list_tags_for_resource(ctx, p):
    alarm = _tag_alarm(ctx, p['ResourceARN'])
    tags = ctx.store['tags'].get(alarm['AlarmArn'], {})
    return {'Tags': [{'Key': k, 'Value': v} for k, v in tags.items()]}


# ---- IAM (sim/iam.py): every alarm a call names ----------------------------------------------

def _iam_alarm(ctx, p):
    return [alarm_arn(ctx, p['AlarmName'])]


def _iam_alarms(ctx, p):
    return [alarm_arn(ctx, n) for n in p.get('AlarmNames') or []] or ['*']


def _iam_arn(ctx, p):
    return [p['ResourceARN']]


IAM_RESOURCES = {'PutMetricAlarm': _iam_alarm, 'PutCompositeAlarm': _iam_alarm,
                 'SetAlarmState': _iam_alarm, 'DeleteAlarms': _iam_alarms,
                 'EnableAlarmActions': _iam_alarms, 'DisableAlarmActions': _iam_alarms,
                 'TagResource': _iam_arn, 'UntagResource': _iam_arn,
                 'ListTagsForResource': _iam_arn}


def iam_tags(ctx, arn):
    return ctx.store['tags'].get(arn)
