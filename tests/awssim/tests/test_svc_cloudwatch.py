#!/usr/bin/env python3
"""CloudWatch in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import ACCOUNT, main, SimTestCase


class CloudWatch(SimTestCase):
    def setUp(self):
        super().setUp()
        self.cw = self.client('cloudwatch')

    def alarm(self, name, **kw):
        args = dict(AlarmName=name, Namespace='AWS/RDS', MetricName='WriteIOPS', Statistic='Average',
                    Period=60, EvaluationPeriods=3, Threshold=500, ComparisonOperator='GreaterThanThreshold')
        args.update(kw)
        self.cw.put_metric_alarm(**args)

    def test_put_describe_delete(self):
        self.alarm('orders-writes', Tags=[{'Key': 'owner', 'Value': 'a'}],
                   Dimensions=[{'Name': 'DBInstanceIdentifier', 'Value': 'orders'}])
        a = self.cw.describe_alarms(AlarmNames=['orders-writes'])['MetricAlarms'][0]
        self.assertEqual(a['StateValue'], 'INSUFFICIENT_DATA')
        self.assertEqual(a['AlarmArn'], 'arn:aws:cloudwatch:us-east-1:%s:alarm:orders-writes' % ACCOUNT)
        self.assertNotIn('DatapointsToAlarm', a)   # not set, so not reported
        self.cw.set_alarm_state(AlarmName='orders-writes', StateValue='ALARM', StateReason='test')
        # An update keeps the state and ignores Tags, as AWS documents.
        self.alarm('orders-writes', Threshold=600, Tags=[{'Key': 'owner', 'Value': 'b'}])
        a = self.cw.describe_alarms(AlarmNames=['orders-writes'])['MetricAlarms'][0]
        self.assertEqual((a['StateValue'], a['Threshold']), ('ALARM', 600.0))
        self.assertEqual(self.cw.list_tags_for_resource(ResourceARN=a['AlarmArn'])['Tags'],
                         [{'Key': 'owner', 'Value': 'a'}])
        self.cw.tag_resource(ResourceARN=a['AlarmArn'], Tags=[{'Key': 'owner', 'Value': 'c'}])
        self.cw.untag_resource(ResourceARN=a['AlarmArn'], TagKeys=['nothing'])
        self.assertEqual(self.cw.list_tags_for_resource(ResourceARN=a['AlarmArn'])['Tags'],
                         [{'Key': 'owner', 'Value': 'c'}])
        self.cw.delete_alarms(AlarmNames=['orders-writes', 'never-existed'])
        self.assertEqual(self.cw.describe_alarms()['MetricAlarms'], [])
        self.assertAwsError('ResourceNotFound', self.cw.set_alarm_state, AlarmName='orders-writes',
                            StateValue='OK', StateReason='x', status=404)
        self.assertAwsError('ResourceNotFoundException', self.cw.list_tags_for_resource,
                            ResourceARN=a['AlarmArn'])

    def test_hundred_names_and_paging(self):
        names = ['alarm-%03d' % i for i in range(120)]
        for n in names:
            self.alarm(n)
        r = self.cw.describe_alarms(AlarmNames=names[:100], MaxRecords=100)
        self.assertEqual(len(r['MetricAlarms']), 100)
        self.assertNotIn('NextToken', r)
        got, token = [], None
        while True:
            kw = {'NextToken': token} if token else {}
            r = self.cw.describe_alarms(MaxRecords=50, **kw)
            got += [a['AlarmName'] for a in r['MetricAlarms']]
            token = r.get('NextToken')
            if not token:
                break
        self.assertEqual(got, names)
        self.assertEqual(len(self.cw.describe_alarms()['MetricAlarms']), 50)   # default page
        self.assertAwsError('ValidationError', self.cw.describe_alarms, AlarmNames=names[:101])
        self.assertAwsError('InvalidNextToken', self.cw.describe_alarms, NextToken='garbage')
        r = self.cw.describe_alarms(AlarmNamePrefix='alarm-11')
        self.assertEqual(len(r['MetricAlarms']), 10)

    def test_composite_alarms_and_types(self):
        self.alarm('cpu')
        self.alarm('mem')
        self.cw.put_composite_alarm(AlarmName='both', AlarmRule='ALARM(cpu) AND ALARM("mem")')
        self.assertEqual(self.cw.describe_alarms()['CompositeAlarms'] if 'CompositeAlarms' in
                         self.cw.describe_alarms() else [], [])
        self.assertEqual([a['AlarmName'] for a in self.cw.describe_alarms()['MetricAlarms']], ['cpu', 'mem'])
        r = self.cw.describe_alarms(AlarmTypes=['CompositeAlarm'])
        self.assertEqual([a['AlarmName'] for a in r['CompositeAlarms']], ['both'])
        self.assertEqual(r['MetricAlarms'] if 'MetricAlarms' in r else [], [])
        state = lambda: self.cw.describe_alarms(AlarmNames=['both'], AlarmTypes=['CompositeAlarm'])[
            'CompositeAlarms'][0]['StateValue']
        self.assertEqual(state(), 'OK')
        self.cw.set_alarm_state(AlarmName='cpu', StateValue='ALARM', StateReason='x')
        self.assertEqual(state(), 'OK')
        self.cw.set_alarm_state(AlarmName='mem', StateValue='ALARM', StateReason='x')
        self.assertEqual(state(), 'ALARM')
        kids = self.cw.describe_alarms(ChildrenOfAlarmName='both')
        self.assertEqual(sorted(a['AlarmName'] for a in kids['MetricAlarms']), ['cpu', 'mem'])
        parents = self.cw.describe_alarms(ParentsOfAlarmName='cpu')
        self.assertEqual([a['AlarmName'] for a in parents['CompositeAlarms']], ['both'])
        self.assertAwsError('ValidationError', self.cw.put_composite_alarm, AlarmName='bad',
                            AlarmRule='ALARM(cpu) AND')
        self.assertAwsError('ValidationError', self.cw.put_composite_alarm, AlarmName='bad',
                            AlarmRule='ALARM(nope)')
        self.assertAwsError('ValidationError', self.cw.delete_alarms, AlarmNames=['cpu'])
        self.assertAwsError('InvalidFormat', self.cw.set_alarm_state, AlarmName='cpu',
                            StateValue='OK', StateReason='x', StateReasonData='{not json')

    def test_alarm_validation(self):
        self.assertAwsError('ValidationError', self.cw.put_metric_alarm, AlarmName='x',
                            EvaluationPeriods=1, ComparisonOperator='GreaterThanThreshold', Threshold=1)
        self.assertAwsError('InvalidParameterCombination', self.alarm, 'x', ExtendedStatistic='p95')
        self.assertAwsError('ValidationError', self.alarm, 'x', DatapointsToAlarm=5)
        self.assertAwsError('ValidationError', self.alarm, 'x' * 256)


if __name__ == '__main__':
    main()
