#!/usr/bin/env python3
"""Budgets end to end, in directory mode against awssim (SPEC §2 Budget, budgetGuard; §4; §8):
create and no-op, notifications and subscribers as sets, drift, prune, adoption, Observe mode,
an invalid manifest beside valid ones, faults, kill -9, and the budget guard clamping and
restoring an ECS ScalingPolicy as spend moves.

Usage: test_budget.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

AWS Budgets is read back with boto3; the simulator's spend is set through its control API.
"""

import os
import sys
import time

from e2e import (NS, OWNER_TAG, check, log, main, ops, reads, rid, scaling_policy, stop,
                 tracking, wait_for, writes)

ACCOUNT = '123456789012'
TOPIC = 'arn:aws:sns:us-east-1:%s:platform-oncall' % ACCOUNT


def note(threshold, type_='ACTUAL', emails=('team@example.com',), topic=None):
    subs = [{'email': e} for e in emails]
    if topic:
        subs.append({'snsTopicArn': topic})
    return {'type': type_, 'threshold': threshold, 'subscribers': subs}


def budget(name, amount=60, notes=None, annotations=None, **spec_extra):
    """A Budget manifest (YAML text) with 50/80/100 % notifications by default."""
    from e2e import to_yaml
    spec = {'limit': {'amount': amount, 'unit': 'USD'}, 'timeUnit': 'MONTHLY',
            'costFilters': {'tags': {'team': name}}}
    spec['notifications'] = notes if notes is not None else \
        [note(50), note(80), note(100, topic=TOPIC)]
    spec.update(spec_extra)
    meta = {'name': name, 'namespace': NS}
    if annotations:
        meta['annotations'] = annotations
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'Budget', 'metadata': meta,
                    'spec': spec})


def bname(name):
    return 'trimtab-%s-%s' % (NS, name)


class Budgets:
    """AWS Budgets as boto3 sees it."""

    def __init__(self, c):
        self.api = c.sim.client('budgets', region='us-east-1')

    def names(self):
        out = []
        for page in self.api.get_paginator('describe_budgets').paginate(AccountId=ACCOUNT):
            out += [b['BudgetName'] for b in page.get('Budgets', [])]
        check(len(out) == len(set(out)), 'a budget is listed twice', out)
        return sorted(out)

    def get(self, name):
        return self.api.describe_budget(AccountId=ACCOUNT, BudgetName=name)['Budget']

    def notes(self, name):
        """{(type, threshold): sorted subscriber addresses}"""
        out = {}
        for n in self.api.describe_notifications_for_budget(
                AccountId=ACCOUNT, BudgetName=name)['Notifications']:
            n = {k: v for k, v in n.items() if k != 'NotificationState'}
            subs = self.api.describe_subscribers_for_notification(
                AccountId=ACCOUNT, BudgetName=name, Notification=n)['Subscribers']
            out[(n['NotificationType'], n['Threshold'])] = sorted(s['Address'] for s in subs)
        return out

    def tags(self, name):
        arn = 'arn:aws:budgets::%s:budget/%s' % (ACCOUNT, name)
        return {t['Key']: t['Value'] for t in
                self.api.list_tags_for_resource(ResourceARN=arn)['ResourceTags']}


def default_notes():
    return {('ACTUAL', 50.0): ['team@example.com'], ('ACTUAL', 80.0): ['team@example.com'],
            ('ACTUAL', 100.0): sorted(['team@example.com', TOPIC])}


def record(c, name):
    return c.record(name, kind='Budget')


def expect_ready(c, *names):
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged', kind='Budget')


def spend(c, name, actual, forecasted=None):
    body = {'budget': bname(name), 'actual': str(actual)}
    if forecasted is not None:
        body['forecasted'] = str(forecasted)
    c.sim.control('POST', 'budgets/spend', body)


# ---- cases ---------------------------------------------------------------------------------

def case_budget_create_noop(c):
    """Three Budgets created with their notifications, subscribers and owner tag; a no-op run
    makes zero writes and reads at the API's floor; status reports the spend."""
    names = ['platform', 'data', 'web']
    for n in names:
        c.write('budgets/%s.yaml' % n, budget(n))
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(sorted(w) == ['CreateBudget'] * 3, 'one CreateBudget per budget, notifications and '
          'tags included', w)
    check(ops(calls).count('GetCallerIdentity') == 1, 'the account id is read once per role',
          ops(calls))
    b = Budgets(c)
    check(b.names() == sorted(bname(n) for n in names), 'budgets in AWS', b.names())
    for n in names:
        got = b.get(bname(n))
        check(float(got['BudgetLimit']['Amount']) == 60 and got['TimeUnit'] == 'MONTHLY' and
              got['CostFilters'] == {'TagKeyValue': ['user:team$%s' % n]},
              '%s: budget fields' % n, got)
        check(b.notes(bname(n)) == default_notes(), '%s: notifications' % n, b.notes(bname(n)))
        check(b.tags(bname(n)) == {OWNER_TAG: '%s/%s' % (NS, n)}, '%s: owner tag' % n)
        expect_ready(c, n)

    spend(c, 'platform', '50.40', '75')
    before = {n: record(c, n) for n in names}
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    r = ops(calls)
    # The floor: the account id once, each account-wide listing once (3 budgets fit a page of
    # 100), and the subscribers of each notification (no API lists more than one's).
    check(sorted(r) == sorted(['GetCallerIdentity', 'DescribeBudgets',
                               'DescribeBudgetNotificationsForAccount'] +
                              ['DescribeSubscribersForNotification'] * 9),
          'no-op reads are not at the floor', r)
    log('  no-op of 3 budgets: 0 writes, %d reads (%s)' % (len(reads(calls)), ', '.join(r)))
    st = record(c, 'platform')['status']
    check(st['actualSpend'] == {'amount': 50.4, 'unit': 'USD'} and
          st['forecastedSpend'] == {'amount': 75.0, 'unit': 'USD'} and st['percentUsed'] == 84.0
          and st['thresholdsExceeded'] == ['ACTUAL>50%', 'ACTUAL>80%'],
          'platform: spend status', st)
    for n in ('data', 'web'):
        check(record(c, n) == before[n], '%s: the no-op run changed its record' % n)
    p = c.plan(expect_rc=0)
    check('3 in sync' in p.stdout, 'plan does not say 3 in sync', p.stdout)


def case_budget_notifications(c):
    """50/80/100 % notifications as a set: one changed is updated in place, one removed is
    deleted, one added is created, subscribers follow; drift made in AWS is corrected."""
    c.write('budgets/platform.yaml', budget('platform'))
    c.run_once(expect_rc=0)
    b = Budgets(c)
    name = bname('platform')

    # 80 % becomes 90 %: one UpdateNotification, subscribers kept.
    c.write('budgets/platform.yaml', budget('platform', notes=[
        note(50), note(90), note(100, topic=TOPIC)]))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['UpdateNotification'], 'changing a threshold', ops(calls, 'write'))
    want = default_notes()
    want[('ACTUAL', 90.0)] = want.pop(('ACTUAL', 80.0))
    check(b.notes(name) == want, 'notifications after the change', b.notes(name))

    # 50 % removed: one DeleteNotification.
    c.write('budgets/platform.yaml', budget('platform', notes=[note(90), note(100, topic=TOPIC)]))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['DeleteNotification'], 'removing one', ops(calls, 'write'))
    del want[('ACTUAL', 50.0)]
    check(b.notes(name) == want, 'notifications after the removal', b.notes(name))

    # A forecast one added, and a second e-mail on 90 %: CreateNotification + CreateSubscriber.
    c.write('budgets/platform.yaml', budget('platform', notes=[
        note(90, emails=('team@example.com', 'lead@example.com')), note(100, topic=TOPIC),
        note(100, 'FORECASTED', emails=(), topic=TOPIC)]))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['CreateNotification', 'CreateSubscriber'],
          'adding a notification and a subscriber', ops(calls, 'write'))
    want[('ACTUAL', 90.0)] = ['lead@example.com', 'team@example.com']
    want[('FORECASTED', 100.0)] = [TOPIC]
    check(b.notes(name) == want, 'notifications after the additions', b.notes(name))

    # Drift in AWS: the limit raised, a notification deleted, a subscriber added by hand.
    api = b.api
    got = b.get(name)
    got['BudgetLimit'] = {'Amount': '500', 'Unit': 'USD'}
    got.pop('CalculatedSpend', None)
    api.update_budget(AccountId=ACCOUNT, NewBudget=got)
    api.delete_notification(AccountId=ACCOUNT, BudgetName=name, Notification={
        'NotificationType': 'FORECASTED', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': 100,
        'ThresholdType': 'PERCENTAGE'})
    api.create_subscriber(AccountId=ACCOUNT, BudgetName=name, Notification={
        'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': 100,
        'ThresholdType': 'PERCENTAGE'}, Subscriber={'SubscriptionType': 'EMAIL',
                                                    'Address': 'intruder@example.com'})
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['CreateNotification', 'DeleteSubscriber',
                                          'UpdateBudget'], 'drift corrected', ops(calls, 'write'))
    check(float(b.get(name)['BudgetLimit']['Amount']) == 60, 'limit not restored')
    check(b.notes(name) == want, 'notifications after drift', b.notes(name))
    ev = [e['message'] for e in c.events('platform', kind='Budget') if e['reason'] == 'Updated']
    check(any('limit.amount' in m and '500' in m for m in ev), 'no event names the limit drift',
          ev)

    # A spec change of the limit: one UpdateBudget; then no-op.
    c.write('budgets/platform.yaml', budget('platform', amount=75, notes=[
        note(90, emails=('team@example.com', 'lead@example.com')), note(100, topic=TOPIC),
        note(100, 'FORECASTED', emails=(), topic=TOPIC)]))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['UpdateBudget'], 'limit change', ops(calls, 'write'))
    check(float(b.get(name)['BudgetLimit']['Amount']) == 75, 'limit not changed')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'no-op after the changes wrote', ops(calls, 'write'))
    expect_ready(c, 'platform')


def case_budget_prune_adoption(c):
    """A deleted manifest orphans its budget without --prune and deletes it with; a budget that
    exists without the owner tag is refused, then adopted with spec.adopt."""
    c.write('budgets/platform.yaml', budget('platform'))
    c.write('budgets/data.yaml', budget('data', deletionPolicy='Retain'))
    c.run_once(expect_rc=0)
    b = Budgets(c)
    c.remove('budgets/platform.yaml')
    c.remove('budgets/data.yaml')
    p, calls = c.run_once()
    check(not writes(calls), 'without --prune nothing is deleted', ops(calls, 'write'))
    check(b.names() == [bname('data'), bname('platform')], 'budgets after orphaning', b.names())
    p, calls = c.run_once('--prune', expect_rc=0)
    check(ops(calls, 'write') == ['DeleteBudget'], 'prune deletes the Delete one only',
          ops(calls, 'write'))
    check(b.names() == [bname('data')], 'Retain keeps its budget', b.names())

    # Someone else's budget under trimtab's name: refused, left alone.
    b.api.create_budget(AccountId=ACCOUNT, Budget={
        'BudgetName': bname('legacy'), 'BudgetLimit': {'Amount': '100', 'Unit': 'USD'},
        'TimeUnit': 'MONTHLY', 'BudgetType': 'COST'})
    c.write('budgets/legacy.yaml', budget('legacy'))
    p, calls = c.run_once()
    check(not writes(calls), 'an unowned budget was written', ops(calls, 'write'))
    c.expect_condition('legacy', 'Ready', 'False', 'AdoptionRefused', kind='Budget')
    check(float(b.get(bname('legacy'))['BudgetLimit']['Amount']) == 100, 'refused budget changed')
    # With spec.adopt: tagged, then converged.
    c.write('budgets/legacy.yaml', budget('legacy', adopt=True))
    p, calls = c.run_once(expect_rc=0)
    w = ops(calls, 'write')
    check(w[0] == 'TagResource' and 'UpdateBudget' in w and w.count('CreateNotification') == 3,
          'adoption writes', w)
    check(b.tags(bname('legacy')) == {OWNER_TAG: '%s/legacy' % NS}, 'adopted budget untagged')
    check(b.notes(bname('legacy')) == default_notes(), 'adopted budget notifications')
    expect_ready(c, 'legacy')
    # Pruning an adopted budget deletes it: it is trimtab's now.
    c.remove('budgets/legacy.yaml')
    p, calls = c.run_once('--prune', expect_rc=0)
    check(ops(calls, 'write') == ['DeleteBudget'], 'prune of the adopted one', ops(calls, 'write'))


def case_budget_observe_invalid(c):
    """Observe mode reports drift and writes nothing; an invalid Budget beside valid ones is
    InvalidSpec (file, line, field) while the others converge."""
    c.write('budgets/platform.yaml', budget('platform'))
    c.run_once(expect_rc=0)
    b = Budgets(c)
    got = b.get(bname('platform'))
    got['BudgetLimit'] = {'Amount': '99', 'Unit': 'USD'}
    got.pop('CalculatedSpend', None)
    b.api.update_budget(AccountId=ACCOUNT, NewBudget=got)
    c.write('budgets/platform.yaml', budget('platform', mode='Observe'))
    c.write('budgets/bad.yaml', budget('bad', notes=[note(50), note(50)]))
    c.write('budgets/good.yaml', budget('good'))
    p, calls = c.run_once()
    check(ops(calls, 'write') == ['CreateBudget'], 'only the valid new budget is created',
          ops(calls, 'write'))
    c.expect_condition('platform', 'Drifted', 'True', 'DriftDetected', kind='Budget')
    drift = record(c, 'platform')['status'].get('drift', [])
    check(drift and drift[0]['call']['operation'] == 'UpdateBudget', 'drift not reported', drift)
    check(float(b.get(bname('platform'))['BudgetLimit']['Amount']) == 99, 'Observe mode wrote')
    bad = c.condition('bad', kind='Budget')
    check(bad['status'] == 'False' and bad['reason'] == 'InvalidSpec' and
          'bad.yaml' in bad['message'] and 'notifications' in bad['message'],
          'the invalid budget', bad)
    expect_ready(c, 'good')
    check(p.returncode != 0, 'run --once exits non-zero with an invalid manifest')


def case_budget_faults_kill9(c):
    """Throttling, 5xx and resets on Budgets and STS: converges and creates each budget once;
    kill -9 during creation, then a restart: nothing duplicated, nothing left out."""
    names = ['a', 'b', 'c', 'd']
    for n in names:
        c.write('budgets/%s.yaml' % n, budget(n))
    sim = c.sim
    sim.fault(kind='throttle', service='sts', operation='GetCallerIdentity', count=1)
    sim.fault(kind='throttle', service='budgets', operation='CreateBudget', count=2)
    sim.fault(kind='error', status=500, service='budgets', operation='DescribeBudgets', count=1)
    sim.fault(kind='reset', service='budgets', operation='DescribeSubscribersForNotification',
              count=2)
    sim.fault(kind='error', status=503, code='ServiceUnavailable', service='budgets',
              operation='DescribeBudgetNotificationsForAccount', count=1)
    p, calls = c.run_once(timeout=120)
    if p.returncode != 0:
        p, calls = c.run_once(expect_rc=0, timeout=120, reset_calls=False)
    fired = [f['fired'] for f in sim.control('GET', 'faults')['faults']]
    check(all(fired), 'not every fault fired', fired)
    ok_creates = [x for x in sim.calls(operation='CreateBudget') if x['status'] == 200]
    check(len(ok_creates) == 4, 'each budget created once under faults', ok_creates)
    sim.clear_faults()
    b = Budgets(c)
    check(b.names() == sorted(bname(n) for n in names), 'budgets after faults', b.names())

    # kill -9 while CreateBudget calls are in flight.
    for n in ['e', 'f', 'g']:
        c.write('budgets/%s.yaml' % n, budget(n))
    sim.fault(kind='latency', latencyMs=1500, service='budgets', operation='CreateBudget')
    sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: sim.inflight(operation='CreateBudget') or proc.poll() is not None, 30,
             'a CreateBudget in flight')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    wait_for(lambda: not sim.inflight(), 10, 'the dead process\'s calls to complete in AWS')
    sim.clear_faults()
    p, calls = c.run_once(expect_rc=0)
    check(b.names() == sorted(bname(n) for n in names + ['e', 'f', 'g']), 'after kill -9',
          b.names())
    dup = [x for x in sim.calls(operation='CreateBudget') if x.get('code') ==
           'DuplicateRecordException']
    check(not dup, 'the restart tried to create a budget the killed run created', dup)
    for n in ['e', 'f', 'g']:
        check(b.notes(bname(n)) == default_notes(), '%s: notifications after kill -9' % n)
        expect_ready(c, n)
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'no-op after the restart wrote', ops(calls, 'write'))


def case_budget_guard(c):
    """A ScalingPolicy guarded by a Budget: spend above the percentage clamps the ECS target's
    maximum (BudgetClamped, a Normal event), spend back below restores it. The Budget's status
    change alone re-queues the policy: resync is an hour, the policy's manifest never changes."""
    c.write('budgets/platform.yaml', budget('platform'))
    c.write('ecs/web.yaml', scaling_policy(
        'web', min_capacity=2, max_capacity=10, tracking_=[tracking('cpu')],
        budgetGuard=[{'budget': 'platform', 'abovePercent': 80, 'maxCapacity': 4}]))
    proc = c.start('--resync', '1h')
    aas = c.client('application-autoscaling')

    def max_cap():
        t = aas.describe_scalable_targets(ServiceNamespace='ecs', ResourceIds=[rid('web')])
        return t['ScalableTargets'][0]['MaxCapacity'] if t['ScalableTargets'] else None

    def ready(name, kind):
        rec = c.record(name, kind=kind)
        return rec is not None and any(x['type'] == 'Ready' and x['status'] == 'True'
                                       for x in rec['status'].get('conditions', []))
    wait_for(lambda: ready('web', 'ScalingPolicy') and ready('platform', 'Budget'), 20,
             'the first reconcile')
    check(max_cap() == 10, 'unclamped maximum', max_cap())
    check(not c.events('web', 'BudgetExceeded'), 'a clamp event before any spend')

    # 54 of 60 USD is 90 %: above 80. Only the Budget is asked to look again.
    spend(c, 'platform', 54)
    c.sim.reset_calls()
    c.write('budgets/platform.yaml', budget('platform', annotations={
        'trimtab.dev/reconcile-requested-at': 'spend-1'}))
    wait_for(lambda: max_cap() == 4, 15, 'the clamp to 4')
    w = [x for x in writes(c.sim.calls()) if x['service'] == 'application-autoscaling']
    check([x['operation'] for x in w] == ['RegisterScalableTarget'], 'clamp writes', w)
    wait_for(lambda: c.condition('web', 'BudgetClamped') is not None and
             c.condition('web', 'BudgetClamped')['status'] == 'True', 10, 'BudgetClamped=True')
    cond = c.condition('web', 'BudgetClamped')
    check(cond['reason'] == 'BudgetExceeded' and 'platform at 90%' in cond['message'] and
          'from 10 to 4' in cond['message'], 'clamp condition', cond)
    rec = c.record('web')
    check(rec['status']['effectiveMaxCapacity'] == 4, 'effectiveMaxCapacity', rec['status'])
    clamp = c.events('web', 'BudgetExceeded')
    check(len(clamp) == 1 and clamp[0]['type'] == 'Normal', 'one Normal clamp event', clamp)

    # Back to 30 USD (50 %): restored to 10.
    spend(c, 'platform', 30)
    c.write('budgets/platform.yaml', budget('platform', annotations={
        'trimtab.dev/reconcile-requested-at': 'spend-2'}))
    wait_for(lambda: max_cap() == 10, 15, 'the restore to 10')
    wait_for(lambda: c.condition('web', 'BudgetClamped')['status'] == 'False', 10,
             'BudgetClamped=False')
    restore = c.events('web', 'WithinBudget')
    check(len(restore) == 1 and restore[0]['type'] == 'Normal', 'one Normal restore event',
          restore)
    check(c.record('web')['status']['effectiveMaxCapacity'] == 10, 'effectiveMaxCapacity back')
    wait_for(lambda: ready('web', 'ScalingPolicy'), 10, 'web Ready after the restore')
    rc, _ = stop(proc)
    check(rc == 0, 'trimtab run exited %s on SIGTERM' % rc)


CASES = {
    'budget_create_noop': case_budget_create_noop,
    'budget_notifications': case_budget_notifications,
    'budget_prune_adoption': case_budget_prune_adoption,
    'budget_observe_invalid': case_budget_observe_invalid,
    'budget_faults_kill9': case_budget_faults_kill9,
    'budget_guard': case_budget_guard,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
