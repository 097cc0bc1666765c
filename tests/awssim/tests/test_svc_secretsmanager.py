#!/usr/bin/env python3
"""Secrets Manager in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import main, ROTATION_FN, SimTestCase


class SecretsManager(SimTestCase):
    def setUp(self):
        super().setUp()
        self.sm = self.client('secretsmanager')
        self.sm.create_secret(Name='prod/db', SecretString='{"password":"one"}')

    def test_describe_and_schedules(self):
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertRegex(d['ARN'], r':secret:prod/db-[A-Za-z0-9]{6}$')
        self.assertEqual(list(d['VersionIdsToStages'].values()), [['AWSCURRENT']])
        self.assertEqual(self.sm.describe_secret(SecretId=d['ARN'])['Name'], 'prod/db')
        self.assertAwsError('ResourceExistsException', self.sm.create_secret, Name='prod/db', SecretString='x')
        self.assertAwsError('ResourceNotFoundException', self.sm.describe_secret, SecretId='nope')
        self.sm.rotate_secret(SecretId='prod/db', RotationLambdaARN=ROTATION_FN,
                              RotationRules={'ScheduleExpression': 'cron(0 4 ? * SUN *)', 'Duration': '3h'},
                              RotateImmediately=False)
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['RotationRules'], {'ScheduleExpression': 'cron(0 4 ? * SUN *)', 'Duration': '3h'})
        self.assertTrue(d['RotationEnabled'])
        self.assertEqual(d['NextRotationDate'].weekday(), 6)
        self.assertEqual(len(d['VersionIdsToStages']), 1)   # RotateImmediately=false rotates nothing
        self.sm.rotate_secret(SecretId='prod/db', RotationRules={'AutomaticallyAfterDays': 30},
                              RotateImmediately=False)
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['RotationRules'],
                         {'AutomaticallyAfterDays': 30})
        self.assertAwsError('InvalidParameterException', self.sm.rotate_secret, SecretId='prod/db',
                            RotationRules={'AutomaticallyAfterDays': 30, 'ScheduleExpression': 'rate(10 days)'})
        self.assertAwsError('InvalidParameterException', self.sm.rotate_secret, SecretId='prod/db',
                            RotationRules={'ScheduleExpression': 'rate(4 hours)', 'Duration': '5h'})

    def test_rotation_outcomes(self):
        r = self.sm.rotate_secret(SecretId='prod/db', RotationLambdaARN=ROTATION_FN,
                                  RotationRules={'AutomaticallyAfterDays': 7})
        first = r['VersionId']
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['VersionIdsToStages'][first], ['AWSCURRENT'])
        self.assertIn('AWSPREVIOUS', sum(d['VersionIdsToStages'].values(), []))
        self.assertIn('LastRotatedDate', d)
        self.sim.control('POST', 'secrets/rotation', {'outcome': 'leave-pending'})
        second = self.sm.rotate_secret(SecretId='prod/db')['VersionId']
        d = self.sm.describe_secret(SecretId='prod/db')
        self.assertEqual(d['VersionIdsToStages'][second], ['AWSPENDING'])
        self.assertEqual(d['VersionIdsToStages'][first], ['AWSCURRENT'])
        self.assertAwsError('InvalidRequestException', self.sm.rotate_secret, SecretId='prod/db')
        c = self.sm.cancel_rotate_secret(SecretId='prod/db')
        self.assertEqual(c['VersionId'], second)
        self.assertFalse(self.sm.describe_secret(SecretId='prod/db')['RotationEnabled'])
        self.sm.update_secret_version_stage(SecretId='prod/db', VersionStage='AWSPENDING',
                                            RemoveFromVersionId=second)
        self.sim.control('POST', 'secrets/rotation', {'outcome': 'succeed'})
        third = self.sm.rotate_secret(SecretId='prod/db')['VersionId']
        self.assertEqual(self.sm.get_secret_value(SecretId='prod/db')['VersionId'], third)
        vids = self.sm.list_secret_version_ids(SecretId='prod/db')['Versions']
        self.assertEqual({v['VersionId'] for v in vids}, {first, third})
        all_vids = self.sm.list_secret_version_ids(SecretId='prod/db', IncludeDeprecated=True)['Versions']
        self.assertEqual(len(all_vids), 4)
        page = self.sm.list_secret_version_ids(SecretId='prod/db', IncludeDeprecated=True, MaxResults=3)
        self.assertEqual(len(page['Versions']), 3)
        self.assertIn('NextToken', page)

    def test_replication_and_tags(self):
        r = self.sm.replicate_secret_to_regions(SecretId='prod/db', AddReplicaRegions=[
            {'Region': 'eu-west-1'}, {'Region': 'eu-central-1'}])
        self.assertEqual(sorted(s['Region'] for s in r['ReplicationStatus']), ['eu-central-1', 'eu-west-1'])
        self.assertEqual({s['Status'] for s in r['ReplicationStatus']}, {'InSync'})
        self.assertAwsError('InvalidParameterException', self.sm.replicate_secret_to_regions,
                            SecretId='prod/db', AddReplicaRegions=[{'Region': 'us-east-1'}])
        r = self.sm.remove_regions_from_replication(SecretId='prod/db', RemoveReplicaRegions=['eu-west-1'])
        self.assertEqual([s['Region'] for s in r['ReplicationStatus']], ['eu-central-1'])
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['PrimaryRegion'], 'us-east-1')
        self.sm.tag_resource(SecretId='prod/db', Tags=[{'Key': 'trimtab.dev/owner', 'Value': 'db/rot'}])
        self.assertEqual(self.sm.describe_secret(SecretId='prod/db')['Tags'],
                         [{'Key': 'trimtab.dev/owner', 'Value': 'db/rot'}])
        self.sm.untag_resource(SecretId='prod/db', TagKeys=['trimtab.dev/owner'])
        self.assertNotIn('Tags', self.sm.describe_secret(SecretId='prod/db'))


if __name__ == '__main__':
    main()
