#!/usr/bin/env python3
"""ElastiCache in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import main, SimTestCase


class ElastiCache(SimTestCase):
    def test_replication_groups(self):
        ec = self.client('elasticache')
        r = ec.create_replication_group(ReplicationGroupId='Sessions', ReplicationGroupDescription='s',
                                        ClusterMode='enabled', NumNodeGroups=2, ReplicasPerNodeGroup=1,
                                        CacheNodeType='cache.r7g.large', Engine='redis')['ReplicationGroup']
        self.assertEqual((r['ReplicationGroupId'], r['Status'], r['ClusterEnabled']), ('sessions', 'creating', True))
        self.assertEqual(len(r['MemberClusters']), 4)
        ec.create_replication_group(ReplicationGroupId='cache', ReplicationGroupDescription='c',
                                    NumCacheClusters=2, CacheNodeType='cache.t4g.small',
                                    AutomaticFailoverEnabled=True)
        g = self.wait_for(lambda: [x for x in ec.describe_replication_groups(
            ReplicationGroupId='cache')['ReplicationGroups'] if x['Status'] == 'available'])[0]
        self.assertEqual([m['CurrentRole'] for m in g['NodeGroups'][0]['NodeGroupMembers']],
                         ['primary', 'replica'])
        self.assertEqual(len(ec.describe_replication_groups()['ReplicationGroups']), 2)
        self.assertAwsError('ReplicationGroupNotFoundFault', ec.describe_replication_groups,
                            ReplicationGroupId='nope', status=404)
        self.assertAwsError('ReplicationGroupAlreadyExists', ec.create_replication_group,
                            ReplicationGroupId='cache', ReplicationGroupDescription='c', NumCacheClusters=1)
        self.assertAwsError('InvalidParameterValue', ec.describe_replication_groups, MaxRecords=10)
        self.assertAwsError('InvalidParameterCombination', ec.create_replication_group,
                            ReplicationGroupId='solo', ReplicationGroupDescription='c', NumCacheClusters=1,
                            AutomaticFailoverEnabled=True)

    def test_markers(self):
        ec = self.client('elasticache')
        for i in range(23):
            ec.create_replication_group(ReplicationGroupId='g%02d' % i, ReplicationGroupDescription='g',
                                        NumCacheClusters=1)
        r = ec.describe_replication_groups(MaxRecords=20)
        r2 = ec.describe_replication_groups(MaxRecords=20, Marker=r['Marker'])
        self.assertEqual((len(r['ReplicationGroups']), len(r2['ReplicationGroups'])), (20, 3))


if __name__ == '__main__':
    main()
