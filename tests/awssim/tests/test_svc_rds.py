#!/usr/bin/env python3
"""RDS in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

import time

from harness import main, SimTestCase


class RDS(SimTestCase):
    def setUp(self):
        super().setUp()
        self.rds = self.client('rds')

    def create(self, ident='orders', cls='db.t4g.small', **kw):
        return self.rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass=cls,
                                           Engine='postgres', AllocatedStorage=20, MasterUsername='app',
                                           MasterUserPassword='secret-password', **kw)['DBInstance']

    def status(self, ident='orders'):
        return self.rds.describe_db_instances(DBInstanceIdentifier=ident)['DBInstances'][0]

    def test_create_then_available(self):
        inst = self.create('Orders-DB')
        self.assertEqual(inst['DBInstanceIdentifier'], 'orders-db')
        self.assertEqual(inst['DBInstanceStatus'], 'creating')
        self.wait_for(lambda: self.status('orders-db')['DBInstanceStatus'] == 'available')
        self.assertAwsError('DBInstanceAlreadyExists', self.create, 'orders-db')
        self.assertAwsError('InvalidParameterCombination', self.create, 'other', 'db.huge.nope')
        self.assertAwsError('DBInstanceNotFound', self.rds.describe_db_instances,
                            DBInstanceIdentifier='nope', status=404)

    def test_modify_apply_immediately(self):
        self.create(MaxAllocatedStorage=100)
        self.sim.settle()
        r = self.rds.modify_db_instance(DBInstanceIdentifier='orders', DBInstanceClass='db.m5.large',
                                        ApplyImmediately=True)['DBInstance']
        self.assertEqual(r['DBInstanceStatus'], 'modifying')
        self.assertEqual(r['PendingModifiedValues'], {'DBInstanceClass': 'db.m5.large'})
        self.assertEqual(r['DBInstanceClass'], 'db.t4g.small')
        self.assertAwsError('InvalidDBInstanceState', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', DBInstanceClass='db.m5.xlarge',
                            ApplyImmediately=True)
        inst = self.wait_for(lambda: [i for i in [self.status()] if i['DBInstanceStatus'] == 'available'])[0]
        self.assertEqual(inst['DBInstanceClass'], 'db.m5.large')
        self.assertEqual(inst['PendingModifiedValues'], {})
        self.assertEqual(inst['MaxAllocatedStorage'], 100)

    def test_modify_pending_until_maintenance(self):
        self.create()
        self.sim.settle()
        r = self.rds.modify_db_instance(DBInstanceIdentifier='orders', DBInstanceClass='db.m5.large',
                                        MaxAllocatedStorage=200)['DBInstance']
        self.assertEqual(r['DBInstanceStatus'], 'available')
        self.assertEqual(r['PendingModifiedValues'], {'DBInstanceClass': 'db.m5.large'})
        self.assertEqual(r['MaxAllocatedStorage'], 200)   # storage autoscaling applies at once
        time.sleep(0.5)
        self.assertEqual(self.status()['DBInstanceClass'], 'db.t4g.small')
        self.assertEqual(self.sim.control('POST', 'rds/maintenance', {})['applied'], 1)
        self.assertEqual(self.status()['DBInstanceClass'], 'db.m5.large')
        self.assertAwsError('InvalidParameterCombination', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', MaxAllocatedStorage=10)
        self.assertAwsError('InvalidParameterCombination', self.rds.modify_db_instance,
                            DBInstanceIdentifier='orders', DBInstanceClass='db.t4g.gigantic')
        self.assertAwsError('DBInstanceNotFound', self.rds.modify_db_instance,
                            DBInstanceIdentifier='nope', DBInstanceClass='db.m5.large')

    def test_describe_filters_and_markers(self):
        for i in range(25):
            self.create('db-%02d' % i, Tags=[{'Key': 'n', 'Value': str(i)}])
        r = self.rds.describe_db_instances(MaxRecords=20)
        self.assertEqual(len(r['DBInstances']), 20)
        r2 = self.rds.describe_db_instances(MaxRecords=20, Marker=r['Marker'])
        self.assertEqual(len(r2['DBInstances']), 5)
        self.assertNotIn('Marker', r2)
        ids = [i['DBInstanceIdentifier'] for i in r['DBInstances'] + r2['DBInstances']]
        self.assertEqual(ids, sorted('db-%02d' % i for i in range(25)))
        r = self.rds.describe_db_instances(Filters=[{'Name': 'db-instance-id', 'Values': ['db-01', 'db-1']}])
        self.assertEqual([i['DBInstanceIdentifier'] for i in r['DBInstances']], ['db-01'])
        r = self.rds.describe_db_instances(Filters=[{'Name': 'engine', 'Values': ['mysql']}])
        self.assertEqual(r['DBInstances'], [])
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances,
                            Filters=[{'Name': 'instance-class', 'Values': ['x']}])
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances, MaxRecords=19)
        self.assertAwsError('InvalidParameterValue', self.rds.describe_db_instances, MaxRecords=101)

    def test_clusters(self):
        c = self.rds.create_db_cluster(DBClusterIdentifier='aurora', Engine='aurora-postgresql',
                                       MasterUsername='admin', MasterUserPassword='secret-password')['DBCluster']
        self.assertEqual(c['Status'], 'creating')
        self.rds.create_db_instance(DBInstanceIdentifier='aurora-w', DBInstanceClass='db.r6g.large',
                                    Engine='aurora-postgresql', DBClusterIdentifier='aurora')
        self.rds.create_db_instance(DBInstanceIdentifier='aurora-r', DBInstanceClass='db.r6g.large',
                                    Engine='aurora-postgresql', DBClusterIdentifier='aurora')
        cl = self.wait_for(lambda: [x for x in self.rds.describe_db_clusters(
            DBClusterIdentifier='aurora')['DBClusters'] if x['Status'] == 'available'])[0]
        self.assertEqual([(m['DBInstanceIdentifier'], m['IsClusterWriter']) for m in cl['DBClusterMembers']],
                         [('aurora-w', True), ('aurora-r', False)])
        r = self.rds.describe_db_instances(Filters=[{'Name': 'db-cluster-id', 'Values': ['aurora']}])
        self.assertEqual(len(r['DBInstances']), 2)
        self.assertAwsError('DBClusterNotFoundFault', self.rds.describe_db_clusters,
                            DBClusterIdentifier='nope', status=404)
        self.assertAwsError('DBClusterNotFoundFault', self.rds.create_db_instance,
                            DBInstanceIdentifier='x', DBInstanceClass='db.r6g.large',
                            Engine='aurora-postgresql', DBClusterIdentifier='nope')

    def test_tags(self):
        arn = self.create('orders', Tags=[{'Key': 'team', 'Value': 'shop'}])['DBInstanceArn']
        self.rds.add_tags_to_resource(ResourceName=arn, Tags=[
            {'Key': 'trimtab.dev/owner', 'Value': 'shop/orders'}, {'Key': 'team', 'Value': 'data'}])
        want = [{'Key': 'team', 'Value': 'data'},
                {'Key': 'trimtab.dev/owner', 'Value': 'shop/orders'}]
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=arn)['TagList'], want)
        self.assertEqual(self.status()['TagList'], want)   # DescribeDBInstances shows them too
        self.rds.remove_tags_from_resource(ResourceName=arn, TagKeys=['team', 'absent'])
        self.assertEqual(self.status()['TagList'],
                         [{'Key': 'trimtab.dev/owner', 'Value': 'shop/orders'}])
        gone = arn.replace(':db:orders', ':db:nope')
        self.assertAwsError('DBInstanceNotFound', self.rds.list_tags_for_resource,
                            ResourceName=gone, status=404)
        self.assertAwsError('InvalidParameterValue', self.rds.add_tags_to_resource,
                            ResourceName='orders', Tags=[{'Key': 'k', 'Value': 'v'}])
        self.assertAwsError('InvalidParameterValue', self.rds.add_tags_to_resource,
                            ResourceName=arn, Tags=[{'Key': 'aws:x', 'Value': 'v'}])
        self.assertAwsError('TagQuotaPerResourceExceeded', self.rds.add_tags_to_resource,
                            ResourceName=arn,
                            Tags=[{'Key': 'k%d' % i, 'Value': 'v'} for i in range(50)])


if __name__ == '__main__':
    main()
