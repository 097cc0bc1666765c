#!/usr/bin/env python3
"""ECS in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import ACCOUNT, ecs_service, main, SimTestCase


class ECS(SimTestCase):
    def test_cluster_taskdef_service_lifecycle(self):
        ecs = self.client('ecs')
        self.assertEqual(ecs.create_cluster(clusterName='demo')['cluster']['status'], 'ACTIVE')
        td1 = ecs.register_task_definition(family='web', containerDefinitions=[
            {'name': 'web', 'image': 'nginx:1', 'memory': 256}])['taskDefinition']
        td2 = ecs.register_task_definition(family='web', containerDefinitions=[
            {'name': 'web', 'image': 'nginx:2', 'memory': 256}])['taskDefinition']
        self.assertEqual((td1['revision'], td2['revision']), (1, 2))
        self.assertTrue(td2['taskDefinitionArn'].endswith(':task-definition/web:2'))
        svc = ecs.create_service(cluster='demo', serviceName='web', taskDefinition='web:1',
                                 desiredCount=2, tags=[{'key': 'team', 'value': 'shop'}])['service']
        self.assertEqual((svc['status'], svc['desiredCount'], svc['runningCount']), ('ACTIVE', 2, 0))
        self.wait_for(lambda: ecs.describe_services(cluster='demo', services=['web'])
                      ['services'][0]['runningCount'] == 2)
        r = ecs.update_service(cluster='demo', service='web', desiredCount=5, taskDefinition='web')
        self.assertEqual(r['service']['taskDefinition'], td2['taskDefinitionArn'])
        self.assertEqual(r['service']['desiredCount'], 5)
        svc = self.wait_for(lambda: [s for s in ecs.describe_services(
            cluster='demo', services=['web'], include=['TAGS'])['services'] if s['runningCount'] == 5])[0]
        self.assertEqual(svc['tags'], [{'key': 'team', 'value': 'shop'}])
        self.assertEqual(svc['events'][0]['message'], '(service web) has reached a steady state.')
        self.assertNotIn('tags', ecs.describe_services(cluster='demo', services=['web'])['services'][0])

    def test_describe_services_limits_and_failures(self):
        ecs = self.client('ecs')
        ecs_service(self)
        r = ecs.describe_services(cluster='demo', services=['web', 'gone'])
        self.assertEqual([s['serviceName'] for s in r['services']], ['web'])
        self.assertEqual(r['failures'], [{'arn': 'arn:aws:ecs:us-east-1:%s:service/demo/gone' % ACCOUNT,
                                          'reason': 'MISSING'}])
        arn = r['services'][0]['serviceArn']
        self.assertEqual(len(ecs.describe_services(cluster='demo', services=[arn])['services']), 1)
        self.assertEqual(len(ecs.describe_services(cluster='demo', services=['web'] * 10)['services']), 10)
        self.assertAwsError('InvalidParameterException', ecs.describe_services, cluster='demo',
                            services=['web'] * 11)
        self.assertAwsError('ClusterNotFoundException', ecs.describe_services, cluster='nope',
                            services=['web'])
        self.assertAwsError('ServiceNotFoundException', ecs.update_service, cluster='demo',
                            service='gone', desiredCount=1)
        self.assertAwsError('InvalidParameterException', ecs.create_service, cluster='demo',
                            serviceName='web', taskDefinition='web', desiredCount=1)
        self.assertAwsError('ClientException', ecs.create_service, cluster='demo',
                            serviceName='other', taskDefinition='missing:3', desiredCount=1)


if __name__ == '__main__':
    main()
