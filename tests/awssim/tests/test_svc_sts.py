#!/usr/bin/env python3
"""STS in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

import base64
import json
import time

from harness import ACCOUNT, main, SimTestCase


class STS(SimTestCase):
    def test_identity_and_assume_role(self):
        sts = self.client('sts')
        me = sts.get_caller_identity()
        self.assertEqual((me['Account'], me['Arn']), (ACCOUNT, 'arn:aws:iam::%s:user/awssim' % ACCOUNT))
        r = sts.assume_role(RoleArn='arn:aws:iam::210987654321:role/trimtab', RoleSessionName='reconcile',
                            DurationSeconds=900)
        c = r['Credentials']
        self.assertTrue(c['AccessKeyId'].startswith('ASIA'))
        other = self.client('sts', access_key=c['AccessKeyId'], secret_key=c['SecretAccessKey'],
                            aws_session_token=c['SessionToken'])
        who = other.get_caller_identity()
        self.assertEqual(who['Arn'], 'arn:aws:sts::210987654321:assumed-role/trimtab/reconcile')
        self.assertEqual(who['Account'], '210987654321')
        # The assumed role works everywhere, in its own account.
        ecs = self.client('ecs', access_key=c['AccessKeyId'], secret_key=c['SecretAccessKey'],
                          aws_session_token=c['SessionToken'])
        self.assertIn(':210987654321:', ecs.create_cluster(clusterName='x')['cluster']['clusterArn'])
        self.assertAwsError('ValidationError', sts.assume_role, RoleArn='arn:aws:iam::210987654321:user/x',
                            RoleSessionName='reconcile')
        self.assertAwsError('ValidationError', sts.assume_role, RoleArn='arn:aws:iam::210987654321:role/x',
                            RoleSessionName='bad name')
        self.sim.control('POST', 'sts/expire')
        self.assertAwsError('ExpiredToken', other.get_caller_identity, status=403)
        self.assertAwsError('ExpiredTokenException', ecs.list_services, cluster='x')

    def test_web_identity(self):
        def b64(d):
            return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip('=')
        token = '.'.join([b64({'alg': 'RS256'}), b64({'iss': 'https://oidc.eks.example.com/id/1',
                                                      'sub': 'system:serviceaccount:trimtab:trimtab',
                                                      'aud': 'sts.amazonaws.com',
                                                      'exp': int(time.time()) + 600}), 'sig'])
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        sts = boto3.client('sts', endpoint_url=self.sim.endpoint, region_name='us-east-1',
                           config=Config(signature_version=UNSIGNED))
        r = sts.assume_role_with_web_identity(RoleArn='arn:aws:iam::%s:role/trimtab' % ACCOUNT,
                                              RoleSessionName='irsa', WebIdentityToken=token)
        self.assertEqual(r['SubjectFromWebIdentityToken'], 'system:serviceaccount:trimtab:trimtab')
        self.assertEqual(r['Audience'], 'sts.amazonaws.com')
        self.assertTrue(r['AssumedRoleUser']['Arn'].endswith(':assumed-role/trimtab/irsa'))
        self.assertAwsError('InvalidIdentityToken', sts.assume_role_with_web_identity,
                            RoleArn='arn:aws:iam::%s:role/trimtab' % ACCOUNT, RoleSessionName='irsa',
                            WebIdentityToken='not-a-jwt-at-all')


if __name__ == '__main__':
    main()
