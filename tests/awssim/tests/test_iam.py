#!/usr/bin/env python3
"""awssim's IAM policy evaluation (sim/iam.py), driven by real boto3: a policy attached through
the control API restricts exactly its principal; explicit Deny wins over Allow; Action and
NotAction wildcards; Resource ARNs with wildcards per operation (every alarm of a DeleteAlarms);
conditions on aws:ResourceTag, aws:RequestTag and aws:TagKeys; tag-on-create; assumed roles
evaluated under their role's policy; and AWS's AccessDenied shape for each protocol family."""

from harness import ACCOUNT, AwsSimError, SimTestCase, main

USER = 'arn:aws:iam::%s:user/awssim' % ACCOUNT
REGION = 'eu-central-1'


def allow(actions, resources='*', condition=None, effect='Allow', not_action=False):
    st = {'Effect': effect, ('NotAction' if not_action else 'Action'): actions,
          'Resource': resources}
    if condition:
        st['Condition'] = condition
    return st


def alarm_arn(name):
    return 'arn:aws:cloudwatch:%s:%s:alarm:%s' % (REGION, ACCOUNT, name)


def put_alarm(cw, name, **kw):
    cw.put_metric_alarm(AlarmName=name, MetricName='CPUUtilization', Namespace='AWS/ECS',
                        Statistic='Average', Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator='GreaterThanThreshold', **kw)


class IAM(SimTestCase):
    def attach(self, *statements, **who):
        body = {'policy': {'Version': '2012-10-17', 'Statement': list(statements)}}
        body.update(who)
        return self.sim.control('POST', 'iam/policy', body)

    def test_no_policy_means_no_restriction(self):
        self.client('ecs', REGION).create_cluster(clusterName='prod')
        self.assertEqual(self.sim.control('GET', 'iam/policy'), {'policies': {}})

    def test_json_protocol_denied_shape_and_wildcard_action(self):
        ecs = self.client('ecs', REGION)
        ecs.create_cluster(clusterName='prod')
        self.assertEqual(self.attach(allow('ecs:Describe*'))['principal'], USER)
        ecs.describe_services(cluster='prod', services=['web'])
        e = self.assertAwsError('AccessDeniedException', ecs.list_services, cluster='prod',
                                status=400)
        self.assertEqual(e.response['Error']['Message'],
                         'User: %s is not authorized to perform: ecs:ListServices on resource: * '
                         'because no identity-based policy allows the ecs:ListServices action'
                         % USER)
        # The refusal is in the call log with its code.
        refused = self.sim.calls(operation='ListServices')
        self.assertEqual([c['code'] for c in refused], ['AccessDeniedException'])

    def test_query_and_rest_xml_shapes(self):
        self.attach(allow('sts:*'))
        cw = self.client('cloudwatch', REGION)
        self.assertAwsError('AccessDenied', cw.describe_alarms, status=403,
                            message='cloudwatch:DescribeAlarms on resource: *')
        cf = self.client('cloudfront')
        self.assertAwsError('AccessDenied', cf.list_distributions, status=403)
        lam = self.client('lambda', REGION)
        self.assertAwsError('AccessDeniedException', lam.get_function_concurrency,
                            FunctionName='f', status=403,
                            message='function:f because no identity-based policy')
        # GetCallerIdentity needs no permission, as in AWS.
        self.client('sts').get_caller_identity()

    def test_explicit_deny_wins(self):
        self.attach(allow('cloudwatch:*'),
                    allow('cloudwatch:DeleteAlarms', alarm_arn('keep-*'), effect='Deny'))
        cw = self.client('cloudwatch', REGION)
        put_alarm(cw, 'keep-me')
        put_alarm(cw, 'drop-me')
        cw.delete_alarms(AlarmNames=['drop-me'])
        # Every alarm of the call must be allowed: one denied name refuses the whole call.
        self.assertAwsError('AccessDenied', cw.delete_alarms, AlarmNames=['keep-me', 'x'],
                            message='with an explicit deny in an identity-based policy')
        self.assertEqual([a['AlarmName'] for a in cw.describe_alarms()['MetricAlarms']],
                         ['keep-me'])

    def test_not_action(self):
        self.attach(allow(['cloudwatch:Delete*', 'cloudwatch:Put*'], not_action=True))
        cw = self.client('cloudwatch', REGION)
        cw.describe_alarms()
        self.assertAwsError('AccessDenied', put_alarm, cw, 'a')

    def test_resource_arn_wildcards(self):
        self.attach(allow('cloudwatch:DescribeAlarms'),
                    allow('cloudwatch:PutMetricAlarm', alarm_arn('trimtab-shop-*')))
        cw = self.client('cloudwatch', REGION)
        put_alarm(cw, 'trimtab-shop-web')
        self.assertAwsError('AccessDenied', put_alarm, cw, 'trimtab-other-web',
                            message='on resource: %s ' % alarm_arn('trimtab-other-web'))
        # Another region is another ARN.
        self.assertAwsError('AccessDenied', put_alarm, self.client('cloudwatch', 'us-east-1'),
                            'trimtab-shop-web')

    def test_tag_on_create_and_request_tag_conditions(self):
        owner = {'StringLike': {'aws:RequestTag/trimtab.dev/owner': ['shop/*']},
                 'ForAllValues:StringEquals': {'aws:TagKeys': ['trimtab.dev/owner']}}
        self.attach(allow('cloudwatch:PutMetricAlarm'))
        cw = self.client('cloudwatch', REGION)
        tags = [{'Key': 'trimtab.dev/owner', 'Value': 'shop/web'}]
        self.assertAwsError('AccessDenied', put_alarm, cw, 'a', Tags=tags,
                            message='cloudwatch:TagResource')
        self.attach(allow('cloudwatch:PutMetricAlarm'), allow('cloudwatch:TagResource',
                                                              condition=owner))
        put_alarm(cw, 'a', Tags=tags)
        self.assertAwsError('AccessDenied', put_alarm, cw, 'b',
                            Tags=[{'Key': 'trimtab.dev/owner', 'Value': 'data/x'}])
        self.assertAwsError('AccessDenied', put_alarm, cw, 'c',
                            Tags=tags + [{'Key': 'team', 'Value': 'x'}])
        put_alarm(cw, 'd')  # no tags: no TagResource needed

    def test_resource_tag_and_tag_keys_conditions(self):
        sm = self.client('secretsmanager', REGION)
        mine = sm.create_secret(Name='prod/db', SecretString='x')['ARN']
        other = sm.create_secret(Name='prod/other', SecretString='x')['ARN']
        sm.tag_resource(SecretId=mine, Tags=[{'Key': 'trimtab.dev/owner', 'Value': 'shop/db'}])
        arn = 'arn:aws:secretsmanager:%s:%s:secret:prod/*' % (REGION, ACCOUNT)
        self.attach(allow('secretsmanager:CancelRotateSecret', arn, condition={
            'StringLike': {'aws:ResourceTag/trimtab.dev/owner': 'shop/*'}}),
            allow('secretsmanager:UntagResource', arn, condition={
                'ForAllValues:StringEquals': {'aws:TagKeys': ['trimtab.dev/owner']}}))
        # Allowed: the service's own answer (no rotation to cancel), not AccessDenied.
        self.assertAwsError('InvalidRequestException', sm.cancel_rotate_secret, SecretId=mine)
        self.assertAwsError('AccessDeniedException', sm.cancel_rotate_secret, SecretId=other,
                            message='on resource: %s ' % other)
        self.assertAwsError('AccessDeniedException', sm.untag_resource, SecretId=mine,
                            TagKeys=['trimtab.dev/owner', 'team'])
        sm.untag_resource(SecretId=mine, TagKeys=['trimtab.dev/owner'])
        # The tag is gone, so the resource-tag condition no longer holds.
        self.assertAwsError('AccessDeniedException', sm.cancel_rotate_secret, SecretId=mine)

    def test_budgets_actions_and_assumed_role(self):
        role = 'arn:aws:iam::%s:role/trimtab' % ACCOUNT
        creds = self.client('sts').assume_role(RoleArn=role, RoleSessionName='op')['Credentials']
        bud = self.client('budgets', access_key=creds['AccessKeyId'],
                          secret_key=creds['SecretAccessKey'],
                          aws_session_token=creds['SessionToken'])
        budget = {'BudgetName': 'trimtab-shop-x', 'BudgetLimit': {'Amount': '10', 'Unit': 'USD'},
                  'TimeUnit': 'MONTHLY', 'BudgetType': 'COST'}
        self.assertEqual(self.attach(allow('budgets:ViewBudget'), principal=role)['principal'],
                         role)
        bud.describe_budgets(AccountId=ACCOUNT)
        # Budgets authorises writes as ModifyBudget, on the budget's ARN.
        self.assertAwsError('AccessDeniedException', bud.create_budget, AccountId=ACCOUNT,
                            Budget=budget, message='budgets:ModifyBudget on resource: '
                            'arn:aws:budgets::%s:budget/trimtab-shop-x' % ACCOUNT)
        self.attach(allow('budgets:ViewBudget'), allow(
            'budgets:ModifyBudget', 'arn:aws:budgets::%s:budget/trimtab-*' % ACCOUNT),
            principal=role)
        bud.create_budget(AccountId=ACCOUNT, Budget=budget)
        # The user's own key is not restricted by the role's policy.
        self.client('budgets').delete_budget(AccountId=ACCOUNT, BudgetName='trimtab-shop-x')

    def test_detach_and_bad_documents(self):
        self.attach(allow('sts:*'))
        ecs = self.client('ecs', REGION)
        self.assertAwsError('AccessDeniedException', ecs.list_clusters)
        self.sim.control('DELETE', 'iam/policy', {'accessKey': 'AKIDEXAMPLE'})
        ecs.list_clusters()
        for bad in ({'Statement': [{'Effect': 'Maybe', 'Action': '*', 'Resource': '*'}]},
                    {'Statement': [{'Effect': 'Allow', 'Resource': '*'}]},
                    {'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*',
                                    'Condition': {'NumericLessThan': {'x': 1}}}]}):
            with self.assertRaises(AwsSimError):
                self.sim.control('POST', 'iam/policy', {'policy': bad})


if __name__ == '__main__':
    main()
