#!/usr/bin/env python3
"""AWS Budgets in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import ACCOUNT, main, SimTestCase


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


if __name__ == '__main__':
    main()
