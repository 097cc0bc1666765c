#!/usr/bin/env python3
"""Lambda in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

import base64

from harness import ACCOUNT, lambda_alias, main, ROLE, SimTestCase


class Lambda(SimTestCase):
    def setUp(self):
        super().setUp()
        self.lam = self.client('lambda')

    def test_functions_versions_aliases(self):
        fn = self.lam.create_function(FunctionName='api', Runtime='python3.12', Role=ROLE,
                                      Handler='app.handler', Code={'ZipFile': b'code'},
                                      Tags={'team': 'shop'})
        self.assertEqual(fn['State'], 'Pending')
        self.assertEqual(fn['CodeSha256'], base64.b64encode(__import__('hashlib').sha256(b'code').digest()).decode())
        self.assertEqual(self.lam.get_function(FunctionName='api')['Configuration']['State'], 'Active')
        self.assertAwsError('ResourceConflictException', self.lam.create_function, FunctionName='api',
                            Runtime='python3.12', Role=ROLE, Handler='h', Code={'ZipFile': b'x'}, status=409)
        v1 = self.lam.publish_version(FunctionName='api')
        self.assertEqual(v1['Version'], '1')
        self.assertTrue(v1['FunctionArn'].endswith(':function:api:1'))
        self.assertEqual(self.lam.publish_version(FunctionName='api')['Version'], '1')   # unchanged
        self.assertEqual(self.lam.publish_version(FunctionName='api', Description='v2')['Version'], '2')
        a = self.lam.create_alias(FunctionName='api', Name='live', FunctionVersion='1')
        self.assertEqual(a['AliasArn'], 'arn:aws:lambda:us-east-1:%s:function:api:live' % ACCOUNT)
        self.assertEqual(self.lam.get_alias(FunctionName='api', Name='live')['FunctionVersion'], '1')
        self.assertAwsError('ResourceConflictException', self.lam.create_alias, FunctionName='api',
                            Name='live', FunctionVersion='1')
        self.assertAwsError('ResourceNotFoundException', self.lam.create_alias, FunctionName='api',
                            Name='beta', FunctionVersion='9', status=404)
        got = self.lam.get_function(FunctionName='arn:aws:lambda:us-east-1:%s:function:api:live' % ACCOUNT)
        self.assertEqual(got['Configuration']['Version'], '1')
        self.assertEqual(got['Tags'], {'team': 'shop'})
        self.assertAwsError('ResourceNotFoundException', self.lam.get_function, FunctionName='nope', status=404)

    def test_reserved_concurrency(self):
        lambda_alias(self)
        self.assertNotIn('ReservedConcurrentExecutions', self.lam.get_function_concurrency(FunctionName='api'))
        self.assertEqual(self.lam.put_function_concurrency(
            FunctionName='api', ReservedConcurrentExecutions=50)['ReservedConcurrentExecutions'], 50)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName='api')['ReservedConcurrentExecutions'], 50)
        self.assertEqual(self.lam.get_function(FunctionName='api')['Concurrency'],
                         {'ReservedConcurrentExecutions': 50})
        self.assertAwsError('InvalidParameterValueException', self.lam.put_function_concurrency,
                            FunctionName='api', ReservedConcurrentExecutions=901)
        self.lam.delete_function_concurrency(FunctionName='api')
        self.assertNotIn('ReservedConcurrentExecutions', self.lam.get_function_concurrency(FunctionName='api'))

    def test_provisioned_concurrency(self):
        lambda_alias(self)
        r = self.lam.put_provisioned_concurrency_config(FunctionName='api', Qualifier='live',
                                                        ProvisionedConcurrentExecutions=10)
        self.assertEqual(r['ResponseMetadata']['HTTPStatusCode'], 202)
        self.assertEqual((r['Status'], r['RequestedProvisionedConcurrentExecutions'],
                          r['AllocatedProvisionedConcurrentExecutions']), ('IN_PROGRESS', 10, 0))
        ready = self.wait_for(lambda: [c for c in [self.lam.get_provisioned_concurrency_config(
            FunctionName='api', Qualifier='live')] if c['Status'] == 'READY'])[0]
        self.assertEqual(ready['AvailableProvisionedConcurrentExecutions'], 10)
        listed = self.lam.list_provisioned_concurrency_configs(FunctionName='api')
        self.assertEqual(len(listed['ProvisionedConcurrencyConfigs']), 1)
        self.assertAwsError('InvalidParameterValueException', self.lam.put_provisioned_concurrency_config,
                            FunctionName='api', Qualifier='$LATEST', ProvisionedConcurrentExecutions=1)
        self.lam.put_function_concurrency(FunctionName='api', ReservedConcurrentExecutions=20)
        self.assertAwsError('InvalidParameterValueException', self.lam.put_provisioned_concurrency_config,
                            FunctionName='api', Qualifier='1', ProvisionedConcurrentExecutions=11)
        self.lam.delete_provisioned_concurrency_config(FunctionName='api', Qualifier='live')
        self.assertAwsError('ProvisionedConcurrencyConfigNotFoundException',
                            self.lam.get_provisioned_concurrency_config, FunctionName='api',
                            Qualifier='live', status=404)

    def test_tags(self):
        lambda_alias(self)
        arn = 'arn:aws:lambda:us-east-1:%s:function:api' % ACCOUNT
        self.lam.tag_resource(Resource=arn, Tags={'a': '1', 'b': '2'})
        self.lam.untag_resource(Resource=arn, TagKeys=['a'])
        self.assertEqual(self.lam.list_tags(Resource=arn)['Tags'], {'b': '2'})


if __name__ == '__main__':
    main()
