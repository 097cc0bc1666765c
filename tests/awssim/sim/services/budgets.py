"""AWS Budgets: budgets, their notifications and subscribers, tags.

Spend cannot come from billing here, so each budget's actual and forecasted spend is set through
the control API (or fixtures) and reported in CalculatedSpend; a notification's
NotificationState is ALARM while the spend it watches is beyond its threshold. Budgets are
global and belong to the account given in AccountId, which must be the caller's.
"""

import calendar
import sys
import time

from ..errors import AwsError
from ..util import check_limit, paginate, start_of_month
from . import clone, ops

SERVICE = 'budgets'
OPS, operation = ops()

MAX_NOTIFICATIONS = 10
MAX_EMAIL_SUBSCRIBERS = 10
MAX_SNS_SUBSCRIBERS = 1
DEFAULT_END = calendar.timegm((2087, 6, 15, 0, 0, 0))
DEFAULT_COST_TYPES = {'IncludeTax': True, 'IncludeSubscription': True, 'UseBlended': False,
                      'IncludeRefund': True, 'IncludeCredit': True, 'IncludeUpfront': True,
                      'IncludeRecurring': True, 'IncludeOtherSubscription': True,
                      'IncludeSupport': True, 'IncludeDiscount': True, 'UseAmortized': False}


def new_store():
    # budgets: account -> name -> {'budget': Budget, 'notifications': [{'n': Notification,
    # 'subscribers': [Subscriber]}], 'tags': {}}; spend: account -> name -> (actual, forecast, unit)
    return {'budgets': {}, 'spend': {}}


def _me():
    return sys.modules[__name__]


def _invalid(msg):
    return AwsError('InvalidParameterException', msg, fields={})


def _account(ctx, account_id):
    if ctx.identity is not None and account_id != ctx.account:
        raise AwsError('AccessDeniedException', 'User: %s is not authorized to access budgets of '
                       'account %s' % (ctx.identity['arn'], account_id))
    return ctx.store['budgets'].setdefault(account_id, {})


def _entry(ctx, account_id, name):
    e = _account(ctx, account_id).get(name)
    if e is None:
        raise AwsError('NotFoundException', 'Unable to get budget: %s - the budget doesn\'t exist.'
                       % name)
    return e


def _money(x):
    """Amounts are decimal strings; AWS keeps what was sent."""
    return str(x)


def _spend(store, account_id, b):
    actual, forecast, unit = store['spend'].get(account_id, {}).get(
        b['BudgetName'], ('0', '0', None))
    unit = unit or (b.get('BudgetLimit') or {}).get('Unit', 'USD')
    return {'ActualSpend': {'Amount': _money(actual), 'Unit': unit},
            'ForecastedSpend': {'Amount': _money(forecast), 'Unit': unit}}


def _check_budget(b):
    if b['BudgetType'] in ('COST', 'USAGE') and b.get('BudgetLimit') is None and \
            not b.get('PlannedBudgetLimits') and not b.get('AutoAdjustData'):
        raise _invalid('A budget limit must be specified for a %s budget.' % b['BudgetType'])
    if b.get('BudgetLimit') is not None and b.get('PlannedBudgetLimits'):
        raise _invalid('Only one of BudgetLimit or PlannedBudgetLimits can be present.')
    if b.get('BudgetLimit') is not None:
        try:
            if float(b['BudgetLimit']['Amount']) < 0:
                raise ValueError()
        except ValueError:
            raise _invalid('The budget limit amount must be a non-negative number: %s'
                           % b['BudgetLimit']['Amount'])
    tp = b.get('TimePeriod') or {}
    if tp.get('Start') is not None and tp.get('End') is not None and tp['End'] <= tp['Start']:
        raise _invalid('The end of the time period must be after its start.')


def _normalize(b, previous=None):
    b = clone(b)
    b.pop('CalculatedSpend', None)
    tp = b.get('TimePeriod') or {}
    if previous is not None:
        tp.setdefault('Start', previous['TimePeriod']['Start'])
    tp.setdefault('Start', float(start_of_month(time.time())))
    tp.setdefault('End', float(DEFAULT_END))
    b['TimePeriod'] = tp
    if b['BudgetType'] in ('COST', 'USAGE'):
        b['CostTypes'] = dict(DEFAULT_COST_TYPES, **(b.get('CostTypes') or {}))
        b.setdefault('CostFilters', {})
    b['LastUpdatedTime'] = time.time()
    return b


def _key(n):
    return (n['NotificationType'], n['ComparisonOperator'], float(n['Threshold']),
            n.get('ThresholdType', 'PERCENTAGE'))


def _check_subscribers(subs):
    emails = sum(1 for s in subs if s['SubscriptionType'] == 'EMAIL')
    sns = sum(1 for s in subs if s['SubscriptionType'] == 'SNS')
    if emails > MAX_EMAIL_SUBSCRIBERS or sns > MAX_SNS_SUBSCRIBERS:
        raise AwsError('CreationLimitExceededException', 'A notification can have at most %d email '
                       'subscribers and %d SNS subscriber.' % (MAX_EMAIL_SUBSCRIBERS,
                                                              MAX_SNS_SUBSCRIBERS))
    seen = set()
    for s in subs:
        k = (s['SubscriptionType'], s['Address'])
        if k in seen:
            raise AwsError('DuplicateRecordException', 'Duplicate subscriber %s' % s['Address'])
        seen.add(k)
        if s['SubscriptionType'] == 'SNS' and not s['Address'].startswith('arn:aws'):
            raise _invalid('The SNS subscriber address must be an SNS topic ARN.')
        if s['SubscriptionType'] == 'EMAIL' and '@' not in s['Address']:
            raise _invalid('The email subscriber address is not a valid email address.')


def _add_notification(entry, n, subs):
    if len(entry['notifications']) >= MAX_NOTIFICATIONS:
        raise AwsError('CreationLimitExceededException', 'You can create at most %d notifications '
                       'per budget.' % MAX_NOTIFICATIONS)
    if any(_key(x['n']) == _key(n) for x in entry['notifications']):
        raise AwsError('DuplicateRecordException', 'Error creating notification for budget %s - '
                       'the notification already exists.' % entry['budget']['BudgetName'])
    _check_subscribers(subs)
    n = clone(n)
    n.setdefault('ThresholdType', 'PERCENTAGE')
    n['Threshold'] = float(n['Threshold'])
    entry['notifications'].append({'n': n, 'subscribers': clone(subs)})


def create_budget(store, account_id, b, notifications=(), tags=None):
    entry = {'budget': _normalize(b), 'notifications': [], 'tags': dict(tags or {})}
    for nw in notifications:
        _add_notification(entry, nw['Notification'], nw['Subscribers'])
    store['budgets'].setdefault(account_id, {})[b['BudgetName']] = entry
    return entry


@operation('CreateBudget')
def op_create_budget(ctx, p):
    budgets = _account(ctx, p['AccountId'])
    b = p['Budget']
    if b['BudgetName'] in budgets:
        raise AwsError('DuplicateRecordException', 'Error creating budget: %s - the budget already '
                       'exists.' % b['BudgetName'])
    _check_budget(b)
    tags = {t['Key']: t['Value'] for t in p.get('ResourceTags') or []}
    create_budget(ctx.store, p['AccountId'], b, p.get('NotificationsWithSubscribers') or [], tags)
    return {}


def _present(ctx, account_id, entry):
    b = clone(entry['budget'])
    b['CalculatedSpend'] = _spend(ctx.store, account_id, b)
    return b


@operation('DescribeBudget')
def describe_budget(ctx, p):
    return {'Budget': _present(ctx, p['AccountId'], _entry(ctx, p['AccountId'], p['BudgetName']))}


@operation('DescribeBudgets')
def describe_budgets(ctx, p):
    budgets = _account(ctx, p['AccountId'])
    limit = check_limit(p.get('MaxResults'), 1, 100, 100, _invalid('MaxResults must be between 1 and 100'))
    page, nxt = paginate(list(budgets.values()), lambda e: e['budget']['BudgetName'],
                         p.get('NextToken'), limit, 'DescribeBudgets',
                         AwsError('InvalidNextTokenException', 'Invalid NextToken'))
    return {'Budgets': [_present(ctx, p['AccountId'], e) for e in page], 'NextToken': nxt}


@operation('UpdateBudget')
def update_budget(ctx, p):
    budgets = _account(ctx, p['AccountId'])
    b = p['NewBudget']
    entry = budgets.get(b['BudgetName'])
    if entry is None:
        raise AwsError('NotFoundException', 'Unable to update budget - budget name %s does not '
                       'exist.' % b['BudgetName'])
    _check_budget(b)
    entry['budget'] = _normalize(b, entry['budget'])
    return {}


@operation('DeleteBudget')
def delete_budget(ctx, p):
    budgets = _account(ctx, p['AccountId'])
    if budgets.pop(p['BudgetName'], None) is None:
        raise AwsError('NotFoundException', 'Unable to delete budget: %s - the budget doesn\'t '
                       'exist.' % p['BudgetName'])
    return {}


# ---- notifications and subscribers ------------------------------------------------------------

def _state(ctx, account_id, b, n):
    spend = _spend(ctx.store, account_id, b)
    amount = float(spend['ActualSpend' if n['NotificationType'] == 'ACTUAL' else
                         'ForecastedSpend']['Amount'])
    if n.get('ThresholdType', 'PERCENTAGE') == 'PERCENTAGE':
        limit = float((b.get('BudgetLimit') or {}).get('Amount', 0) or 0)
        value = amount * 100.0 / limit if limit else 0.0
    else:
        value = amount
    t = float(n['Threshold'])
    op = n['ComparisonOperator']
    hit = value > t if op == 'GREATER_THAN' else value < t if op == 'LESS_THAN' else value == t
    return 'ALARM' if hit else 'OK'


def _find(entry, n):
    for x in entry['notifications']:
        if _key(x['n']) == _key(n):
            return x
    raise AwsError('NotFoundException', 'Unable to find notification for budget %s.'
                   % entry['budget']['BudgetName'])


@operation('CreateNotification')
def create_notification(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    _add_notification(entry, p['Notification'], p['Subscribers'])
    return {}


@operation('UpdateNotification')
def update_notification(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    x = _find(entry, p['OldNotification'])
    new = p['NewNotification']
    if _key(new) != _key(x['n']) and any(_key(y['n']) == _key(new) for y in entry['notifications']):
        raise AwsError('DuplicateRecordException', 'The notification already exists.')
    n = clone(new)
    n.setdefault('ThresholdType', 'PERCENTAGE')
    n['Threshold'] = float(n['Threshold'])
    x['n'] = n
    return {}


@operation('DeleteNotification')
def delete_notification(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    entry['notifications'].remove(_find(entry, p['Notification']))
    return {}


@operation('DescribeNotificationsForBudget')
def describe_notifications_for_budget(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    limit = p.get('MaxResults') or 100
    items = list(enumerate(entry['notifications']))
    page, nxt = paginate(items, lambda ix: ix[0], p.get('NextToken'), limit,
                         'DescribeNotificationsForBudget',
                         AwsError('InvalidNextTokenException', 'Invalid NextToken'))
    out = []
    for _, x in page:
        n = clone(x['n'])
        n['NotificationState'] = _state(ctx, p['AccountId'], entry['budget'], n)
        out.append(n)
    return {'Notifications': out, 'NextToken': nxt}


@operation('DescribeBudgetNotificationsForAccount')
def describe_budget_notifications_for_account(ctx, p):
    """Every budget of the account that has notifications, with them, 100 budgets a page."""
    budgets = _account(ctx, p['AccountId'])
    limit = check_limit(p.get('MaxResults'), 1, 100, 100,
                        _invalid('MaxResults must be between 1 and 100'))
    page, nxt = paginate([e for e in budgets.values() if e['notifications']],
                         lambda e: e['budget']['BudgetName'], p.get('NextToken'), limit,
                         'DescribeBudgetNotificationsForAccount',
                         AwsError('InvalidNextTokenException', 'Invalid NextToken'))
    out = []
    for e in page:
        notes = []
        for x in e['notifications']:
            n = clone(x['n'])
            n['NotificationState'] = _state(ctx, p['AccountId'], e['budget'], n)
            notes.append(n)
        out.append({'BudgetName': e['budget']['BudgetName'], 'Notifications': notes})
    return {'BudgetNotificationsForAccount': out, 'NextToken': nxt}


@operation('CreateSubscriber')
def create_subscriber(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    x = _find(entry, p['Notification'])
    _check_subscribers(x['subscribers'] + [p['Subscriber']])
    x['subscribers'].append(clone(p['Subscriber']))
    return {}


def _find_sub(x, s):
    for i, y in enumerate(x['subscribers']):
        if y['SubscriptionType'] == s['SubscriptionType'] and y['Address'] == s['Address']:
            return i
    raise AwsError('NotFoundException', 'Unable to find subscriber %s.' % s['Address'])


@operation('UpdateSubscriber')
def update_subscriber(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    x = _find(entry, p['Notification'])
    i = _find_sub(x, p['OldSubscriber'])
    subs = list(x['subscribers'])
    subs[i] = p['NewSubscriber']
    _check_subscribers(subs)
    x['subscribers'] = clone(subs)
    return {}


@operation('DeleteSubscriber')
def delete_subscriber(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    x = _find(entry, p['Notification'])
    del x['subscribers'][_find_sub(x, p['Subscriber'])]
    return {}


@operation('DescribeSubscribersForNotification')
def describe_subscribers_for_notification(ctx, p):
    entry = _entry(ctx, p['AccountId'], p['BudgetName'])
    x = _find(entry, p['Notification'])
    limit = p.get('MaxResults') or 100
    items = list(enumerate(x['subscribers']))
    page, nxt = paginate(items, lambda ix: ix[0], p.get('NextToken'), limit,
                         'DescribeSubscribersForNotification',
                         AwsError('InvalidNextTokenException', 'Invalid NextToken'))
    return {'Subscribers': [clone(s) for _, s in page], 'NextToken': nxt}


# ---- tags ------------------------------------------------------------------------------------

def _by_arn(ctx, arn):
    parts = arn.split(':')
    if len(parts) < 6 or parts[2] != 'budgets' or not parts[5].startswith('budget/'):
        raise AwsError('NotFoundException', 'Resource %s not found' % arn)
    entry = _account(ctx, parts[4]).get(parts[5][len('budget/'):])
    if entry is None:
        raise AwsError('NotFoundException', 'Resource %s not found' % arn)
    return entry


@operation('TagResource')
def tag_resource(ctx, p):
    entry = _by_arn(ctx, p['ResourceARN'])
    entry['tags'].update({t['Key']: t['Value'] for t in p['ResourceTags']})
    if len(entry['tags']) > 200:
        raise AwsError('ServiceQuotaExceededException', 'Too many tags.')
    return {}


@operation('UntagResource')
def untag_resource(ctx, p):
    entry = _by_arn(ctx, p['ResourceARN'])
    for k in p['ResourceTagKeys']:
        entry['tags'].pop(k, None)
    return {}


@operation('ListTagsForResource')
def list_tags_for_resource(ctx, p):
    entry = _by_arn(ctx, p['ResourceARN'])
    return {'ResourceTags': [{'Key': k, 'Value': v} for k, v in entry['tags'].items()]}


def set_spend(sim, account_id, name, actual=None, forecasted=None, unit=None):
    """Control API: the spend reported for a budget (decimal strings or numbers)."""
    store = sim.state.store(_me(), account_id, 'global')
    old = store['spend'].setdefault(account_id, {}).get(name, ('0', '0', None))
    store['spend'][account_id][name] = (
        _money(actual) if actual is not None else old[0],
        _money(forecasted) if forecasted is not None else old[1], unit or old[2])


# ---- IAM (sim/iam.py): Budgets authorises by ViewBudget and ModifyBudget --------------------

IAM_ACTIONS = {}
for _op in OPS:
    if _op.startswith('Describe'):
        IAM_ACTIONS[_op] = 'ViewBudget'
    elif _op.startswith(('Create', 'Update', 'Delete')):
        IAM_ACTIONS[_op] = 'ModifyBudget'


def _iam_budget(ctx, p):
    name = (p.get('BudgetName') or (p.get('Budget') or {}).get('BudgetName') or
            (p.get('NewBudget') or {}).get('BudgetName') or '*')
    return ['arn:aws:budgets::%s:budget/%s' % (p['AccountId'], name)]


def _iam_arn(ctx, p):
    return [p['ResourceARN']]


IAM_RESOURCES = {op: _iam_budget for op in OPS if op not in ('TagResource', 'UntagResource',
                                                                 'ListTagsForResource')}
IAM_RESOURCES.update({'TagResource': _iam_arn, 'UntagResource': _iam_arn,
                      'ListTagsForResource': _iam_arn})


def iam_tags(ctx, arn):
    try:
        return _by_arn(ctx, arn)['tags']
    except AwsError:
        return None
