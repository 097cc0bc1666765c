#!/usr/bin/env python3
"""The simulator's wire layer, signature checks, fault injection and control API, tested with
raw HTTP requests (signed by botocore) so the exact status codes, headers and bodies are seen,
and with boto3 where the client's reaction (retries) is the point."""

import datetime
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from harness import (ACCESS_KEY, ACCOUNT, SECRET_KEY, AwsSim, AwsSimError, SimTestCase, main,
                     signed_request)
from servers import free_port  # noqa: E402  (tests/lib, on the path harness sets)

JSON11 = 'application/x-amz-json-1.1'
FORM = 'application/x-www-form-urlencoded; charset=utf-8'


def ecs_target(op):
    return {'X-Amz-Target': 'AmazonEC2ContainerServiceV20141113.' + op, 'Content-Type': JSON11}


def aas_target(op):
    return {'X-Amz-Target': 'AnyScaleFrontendService.' + op, 'Content-Type': JSON11}


def form(**params):
    return urllib.parse.urlencode(params).encode()


class Wire(SimTestCase):
    def req(self, service, **kw):
        return signed_request(self.sim.endpoint, service, **kw)

    def json_err(self, resp):
        status, headers, body = resp
        return status, json.loads(body)['__type'], json.loads(body)

    def xml_code(self, body):
        return body.split(b'<Code>')[1].split(b'</Code>')[0].decode()

    # ---- signatures ---------------------------------------------------------------------------

    def samples(self):
        """One request per protocol family: (name, service, kwargs)."""
        return [
            ('query', 'sts', dict(body=form(Action='GetCallerIdentity', Version='2011-06-15'),
                                  headers={'Content-Type': FORM})),
            ('json', 'ecs', dict(body=b'{}', headers=ecs_target('ListClusters'))),
            ('rest-json', 'lambda', dict(method='GET', path='/2015-03-31/functions/nope')),
            ('rest-xml', 'cloudfront', dict(method='GET', path='/2020-05-31/distribution')),
        ]

    def code_of(self, family, status, headers, body):
        if family in ('query', 'rest-xml'):
            return self.xml_code(body)
        if family == 'rest-json':
            return headers['x-amzn-errortype']
        return json.loads(body)['__type']

    def test_good_signatures_pass(self):
        expect = {'query': 200, 'json': 200, 'rest-json': 404, 'rest-xml': 200}
        for family, service, kw in self.samples():
            status, headers, body = self.req(service, **kw)
            self.assertEqual(status, expect[family], (family, body))

    def test_bad_signature_unknown_key_missing_auth(self):
        want = {
            'query': {'bad': ('SignatureDoesNotMatch', 403), 'key': ('InvalidClientTokenId', 403),
                      'none': ('MissingAuthenticationToken', 403)},
            'json': {'bad': ('InvalidSignatureException', 400), 'key': ('UnrecognizedClientException', 400),
                     'none': ('MissingAuthenticationTokenException', 400)},
            'rest-json': {'bad': ('InvalidSignatureException', 403),
                          'key': ('UnrecognizedClientException', 403),
                          'none': ('MissingAuthenticationTokenException', 403)},
            'rest-xml': {'bad': ('SignatureDoesNotMatch', 403), 'key': ('InvalidClientTokenId', 403),
                         'none': ('MissingAuthenticationToken', 403)},
        }
        for family, service, kw in self.samples():
            for case, extra in (('bad', {'secret_key': 'wrong'}), ('key', {'access_key': 'AKIDNOBODY'}),
                                ('none', {'sign': False})):
                status, headers, body = self.req(service, **dict(kw, **extra))
                self.assertEqual((self.code_of(family, status, headers, body), status),
                                 want[family][case], (family, case, body))

    def test_clock_skew(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        for family, service, kw in self.samples():
            status, headers, body = self.req(service, amz_date=now - datetime.timedelta(minutes=6), **kw)
            self.assertIn(status, (400, 403))
            self.assertIn(b'Signature expired', body, family)
            status, headers, body = self.req(service, amz_date=now + datetime.timedelta(minutes=6), **kw)
            self.assertIn(b'Signature not yet current', body, family)
            status, _, body = self.req(service, amz_date=now - datetime.timedelta(minutes=4), **kw)
            self.assertIn(status, (200, 404), (family, body))

    def test_tampered_body_and_incomplete_header(self):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = form(Action='GetCallerIdentity', Version='2011-06-15')
        req = AWSRequest(method='POST', url=self.sim.endpoint + '/', data=body, headers={'Content-Type': FORM})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), 'sts', 'us-east-1').add_auth(req)
        headers = dict(req.prepare().headers.items())
        forged = form(Action='GetCallerIdentity', Version='2011-06-16')
        host, port = self.sim.endpoint.split('//')[1].split(':')
        conn = http.client.HTTPConnection(host, int(port))
        conn.request('POST', '/', body=forged, headers=headers)
        resp = conn.getresponse()
        self.assertEqual((resp.status, self.xml_code(resp.read())), (403, 'SignatureDoesNotMatch'))
        headers['Authorization'] = 'AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/sts/aws4_request' % ACCESS_KEY
        conn.request('POST', '/', body=body, headers=headers)
        resp = conn.getresponse()
        self.assertEqual((resp.status, self.xml_code(resp.read())), (400, 'IncompleteSignature'))
        conn.close()

    def test_session_tokens(self):
        sts = self.client('sts')
        c = sts.assume_role(RoleArn='arn:aws:iam::%s:role/r' % ACCOUNT, RoleSessionName='sess')['Credentials']
        ok = self.req('sts', body=form(Action='GetCallerIdentity', Version='2011-06-15'),
                      headers={'Content-Type': FORM}, access_key=c['AccessKeyId'],
                      secret_key=c['SecretAccessKey'], token=c['SessionToken'])
        self.assertEqual(ok[0], 200)
        no_token = self.req('sts', body=form(Action='GetCallerIdentity', Version='2011-06-15'),
                            headers={'Content-Type': FORM}, access_key=c['AccessKeyId'],
                            secret_key=c['SecretAccessKey'])
        self.assertEqual((no_token[0], self.xml_code(no_token[2])), (403, 'InvalidClientTokenId'))
        wrong = self.req('ecs', body=b'{}', headers=ecs_target('ListClusters'), access_key=c['AccessKeyId'],
                         secret_key=c['SecretAccessKey'], token='forged')
        self.assertEqual(self.json_err(wrong)[:2], (400, 'UnrecognizedClientException'))

    # ---- routing and unknown operations ----------------------------------------------------

    def test_unknown_operations_are_never_500(self):
        s, h, b = self.req('ecs', body=b'{}', headers=ecs_target('NoSuchThing'))
        self.assertEqual((s, json.loads(b)['__type']), (400, 'UnknownOperationException'))
        s, h, b = self.req('sts', body=form(Action='NoSuchThing', Version='2011-06-15'),
                           headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'InvalidAction'))
        s, h, b = self.req('rds', body=form(Version='2014-10-31'), headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'MissingAction'))
        s, h, b = self.req('lambda', method='GET', path='/2015-03-31/nothing/here')
        self.assertEqual((s, h['x-amzn-errortype']), (404, 'UnknownOperationException'))
        s, h, b = self.req('cloudfront', method='DELETE', path='/2020-05-31/nowhere')
        self.assertEqual((s, self.xml_code(b)), (404, 'UnknownOperationException'))
        # An operation of the model that the simulator does not implement says so.
        s, h, b = self.req('ecs', body=b'{}', headers=ecs_target('ListTasks'))
        self.assertEqual((s, json.loads(b)['__type']), (400, 'UnknownOperationException'))
        s, h, b = self.req('s3', method='GET', path='/bucket')
        self.assertEqual(s, 400)
        for c in self.sim.calls():
            self.assertLess(c['status'], 500)

    # ---- validation ----------------------------------------------------------------------------

    def test_json_validation(self):
        s, code, doc = self.json_err(self.req('application-autoscaling', body=b'{}',
                                              headers=aas_target('DescribeScalableTargets')))
        self.assertEqual((s, code), (400, 'ValidationException'))
        self.assertEqual(doc['Message'], "1 validation error detected: Value null at 'serviceNamespace' "
                                         "failed to satisfy constraint: Member must not be null")
        body = json.dumps({'ServiceNamespace': 'nope', 'MaxResults': 1, 'ResourceIds': ['']}).encode()
        s, code, doc = self.json_err(self.req('application-autoscaling', body=body,
                                              headers=aas_target('DescribeScalableTargets')))
        self.assertTrue(doc['Message'].startswith('2 validation errors detected: '), doc)
        self.assertIn("Value 'nope' at 'serviceNamespace' failed to satisfy constraint: Member must "
                      "satisfy enum value set: [ecs, ", doc['Message'])
        self.assertIn("Value '' at 'resourceIds.1.member' failed to satisfy constraint: Member must "
                      "have length greater than or equal to 1", doc['Message'])
        body = json.dumps({'ServiceNamespace': 'ecs', 'MaxResults': 'ten'}).encode()
        s, code, doc = self.json_err(self.req('application-autoscaling', body=body,
                                              headers=aas_target('DescribeScalableTargets')))
        self.assertEqual((s, code), (400, 'SerializationException'))
        s, code, doc = self.json_err(self.req('application-autoscaling', body=b'{"Service',
                                              headers=aas_target('DescribeScalableTargets')))
        self.assertEqual((s, code), (400, 'SerializationException'))
        s, code, doc = self.json_err(self.req('secretsmanager', body=b'{"SecretId": ""}', headers={
            'X-Amz-Target': 'secretsmanager.DescribeSecret', 'Content-Type': JSON11}))
        self.assertEqual((s, code), (400, 'ValidationException'))

    def test_query_validation(self):
        s, h, b = self.req('rds', body=form(Action='DescribeDBInstances', Version='2014-10-31',
                                            MaxRecords='many'), headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'InvalidParameterValue'))
        s, h, b = self.req('rds', body=form(Action='ModifyDBInstance', Version='2014-10-31'),
                           headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'MissingParameter'))
        self.assertIn(b'DBInstanceIdentifier', b)
        s, h, b = self.req('sts', body=form(Action='AssumeRole', Version='2011-06-15',
                                            RoleArn='arn:aws:iam::123456789012:role/r', RoleSessionName='a'),
                           headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'ValidationError'))
        self.assertIn(b"Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have "
                      b"length greater than or equal to 2", b)
        names = {'AlarmNames.member.%d' % (i + 1): 'a%d' % i for i in range(101)}
        s, h, b = self.req('monitoring', body=form(Action='DescribeAlarms', Version='2010-08-01', **names),
                           headers={'Content-Type': FORM})
        self.assertEqual((s, self.xml_code(b)), (400, 'ValidationError'))
        self.assertIn(b'Member must have length less than or equal to 100', b)
        self.assertIn(b'<Type>Sender</Type>', b)

    def test_rest_validation(self):
        s, h, b = self.req('lambda', method='GET', path='/2015-03-31/functions/bad%20name%21')
        self.assertEqual((s, h['x-amzn-errortype']), (400, 'ValidationException'))
        self.assertIn(b'regular expression pattern', b)
        s, h, b = self.req('cloudfront', method='POST', path='/2020-05-31/distribution',
                           body=b'<DistributionConfig><Comment>x</Comment')
        self.assertEqual((s, self.xml_code(b)), (400, 'MalformedInput'))
        s, h, b = self.req('cloudfront', method='POST', path='/2020-05-31/distribution',
                           body=b'<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
                                b'<Comment>x</Comment></DistributionConfig>')
        self.assertEqual((s, self.xml_code(b)), (400, 'InvalidArgument'))
        self.assertIn(b"'distributionConfig.callerReference'", b)

    def test_cloudwatch_speaks_json_and_query(self):
        cw = self.client('cloudwatch')   # botocore >= 1.37 talks JSON 1.0 to CloudWatch
        cw.put_metric_alarm(AlarmName='dual', Namespace='X', MetricName='m', Statistic='Sum', Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanThreshold')
        self.assertEqual(self.sim.calls(operation='PutMetricAlarm')[-1]['status'], 200)
        s, h, b = self.req('monitoring', body=form(Action='DescribeAlarms', Version='2010-08-01',
                                                   **{'AlarmNames.member.1': 'dual'}),
                           headers={'Content-Type': FORM})
        self.assertEqual(s, 200)
        self.assertIn(b'<AlarmName>dual</AlarmName>', b)
        self.assertTrue(b.startswith(b'<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'))
        s, h, b = self.req('monitoring', body=json.dumps({'AlarmName': 'gone', 'StateValue': 'OK',
                                                          'StateReason': 'x'}).encode(),
                           headers={'X-Amz-Target': 'GraniteServiceVersion20100801.SetAlarmState',
                                    'Content-Type': 'application/x-amz-json-1.0'})
        self.assertEqual((s, h['x-amzn-query-error'], json.loads(b)['__type']),
                         (404, 'ResourceNotFound;Sender', 'ResourceNotFound'))

    # ---- regions and accounts --------------------------------------------------------------

    def test_regions_are_separate_global_services_are_not(self):
        self.client('ecs', 'us-east-1').create_cluster(clusterName='east')
        self.assertEqual(self.client('ecs', 'eu-west-1').list_services(cluster='east')['serviceArns'] if False
                         else self.client('ecs', 'eu-west-1').describe_clusters(clusters=['east'])['failures'][0]['reason'],
                         'MISSING')
        from harness import distribution_config
        did = self.client('cloudfront', 'us-east-1').create_distribution(
            DistributionConfig=distribution_config())['Distribution']['Id']
        self.assertEqual(self.client('cloudfront', 'eu-west-1').get_distribution(Id=did)['Distribution']['Id'], did)


class Faults(SimTestCase):
    def no_retry(self, service, region='us-east-1'):
        from botocore.config import Config
        return self.client(service, region, config=Config(retries={'mode': 'standard', 'total_max_attempts': 1}))

    def test_throttling_per_service(self):
        from botocore.exceptions import ClientError
        from botocore.retries.standard import ThrottledRetryableChecker
        throttle_codes = ThrottledRetryableChecker._THROTTLED_ERROR_CODES
        cases = [('application-autoscaling', lambda c: c.describe_scalable_targets(ServiceNamespace='ecs'),
                  'ThrottlingException', 400),
                 ('ecs', lambda c: c.list_clusters(), 'ThrottlingException', 400),
                 ('rds', lambda c: c.describe_db_instances(), 'Throttling', 400),
                 ('elasticache', lambda c: c.describe_replication_groups(), 'Throttling', 400),
                 ('lambda', lambda c: c.get_function_concurrency(FunctionName='f'), 'TooManyRequestsException', 429),
                 ('cloudfront', lambda c: c.list_distributions(), 'Throttling', 400),
                 ('cloudwatch', lambda c: c.describe_alarms(), 'Throttling', 400),
                 ('budgets', lambda c: c.describe_budgets(AccountId=ACCOUNT), 'ThrottlingException', 400),
                 ('secretsmanager', lambda c: c.list_secrets(), 'ThrottlingException', 400),
                 ('sts', lambda c: c.get_caller_identity(), 'Throttling', 400)]
        for service, call, code, status in cases:
            self.sim.fault(service=service, kind='throttle', count=1)
            try:
                call(self.no_retry(service))
                self.fail('%s: no throttling' % service)
            except ClientError as e:
                self.assertEqual((e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']),
                                 (code, status), service)
                self.assertIn(code, throttle_codes)
            try:   # count=1: the next call goes through (it may still fail on its own)
                call(self.no_retry(service))
            except ClientError as e:
                self.assertNotIn(e.response['Error']['Code'], throttle_codes)
        log = self.sim.calls(status=429)
        self.assertEqual([c['service'] for c in log], ['lambda'])

    def test_count_rate_and_retries(self):
        self.sim.fault(service='ecs', operation='ListClusters', kind='throttle', count=2)
        self.client('ecs').list_clusters()   # botocore standard mode: 3 attempts
        self.assertEqual([c['status'] for c in self.sim.calls(operation='ListClusters')], [400, 400, 200])
        self.client('ecs').create_cluster(clusterName='other-op-unaffected')
        self.sim.clear_faults()
        self.sim.reset_calls()
        self.sim.fault(service='sts', kind='error', status=503, rate=0.5)
        from botocore.exceptions import ClientError
        failed = 0
        for _ in range(200):
            try:
                self.no_retry('sts').get_caller_identity()
            except ClientError as e:
                self.assertEqual((e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']),
                                 ('ServiceUnavailable', 503))
                failed += 1
        self.assertTrue(60 <= failed <= 140, failed)
        self.sim.clear_faults()
        fid = self.sim.fault(service='monitoring', kind='error', code='InternalServiceError',
                             message='boom', status=500)
        self.assertEqual([f['service'] for f in self.sim.control('GET', 'faults')['faults']], ['cloudwatch'])
        try:
            self.no_retry('cloudwatch').describe_alarms()
            self.fail('no error')
        except ClientError as e:
            self.assertEqual((e.response['Error']['Code'], e.response['Error']['Message']),
                             ('InternalServiceError', 'boom'))
        self.sim.control('DELETE', 'faults/%d' % fid)
        self.no_retry('cloudwatch').describe_alarms()
        with self.assertRaises(AwsSimError) as e:
            self.sim.control('DELETE', 'faults/%d' % fid)
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(AwsSimError) as e:
            self.sim.fault(service='nope', kind='throttle')
        self.assertEqual(e.exception.status, 400)
        with self.assertRaises(AwsSimError):
            self.sim.fault(service='ecs', kind='explode')

    def test_latency_and_reset(self):
        self.sim.fault(service='sts', kind='latency', latencyMs=300, count=1)
        t0 = time.time()
        self.client('sts').get_caller_identity()
        self.assertGreaterEqual(time.time() - t0, 0.3)
        self.sim.fault(service='sts', kind='reset', count=1)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            signed_request(self.sim.endpoint, 'sts', body=form(Action='GetCallerIdentity', Version='2011-06-15'),
                           headers={'Content-Type': FORM})
        self.sim.fault(service='sts', kind='reset', count=1)
        self.client('sts').get_caller_identity()   # botocore retries the dropped connection
        statuses = [c['status'] for c in self.sim.calls(service='sts')]
        self.assertEqual(statuses[-1], 200)

    def test_held_call_is_in_flight_until_answered(self):
        """A call held by a latency fault is listed in flight, not in the call log; once
        answered it moves to the log. Tests kill trimtab inside such a call."""
        self.sim.reset_calls()
        self.sim.fault(service='sts', operation='GetCallerIdentity', kind='latency',
                       latencyMs=1500, count=1)
        caller = threading.Thread(target=self.client('sts').get_caller_identity)
        caller.start()
        deadline = time.time() + 1.2
        held = []
        while not held and time.time() < deadline:
            held = self.sim.inflight(operation='GetCallerIdentity')
        self.assertEqual([(c['service'], c['operation']) for c in held],
                         [('sts', 'GetCallerIdentity')])
        self.assertEqual(self.sim.inflight(service='ecs'), [])
        self.assertEqual(self.sim.calls(operation='GetCallerIdentity'), [])
        caller.join()
        self.assertEqual(self.sim.inflight(), [])
        self.assertEqual([c['status'] for c in self.sim.calls(operation='GetCallerIdentity')],
                         [200])


class Control(SimTestCase):
    def test_call_log(self):
        self.client('ecs').create_cluster(clusterName='c')
        self.client('ecs').list_clusters()
        self.client('cloudwatch').describe_alarms()
        calls = self.sim.calls()
        self.assertEqual([(c['service'], c['operation'], c['kind'], c['status']) for c in calls],
                         [('ecs', 'CreateCluster', 'write', 200), ('ecs', 'ListClusters', 'read', 200),
                          ('cloudwatch', 'DescribeAlarms', 'read', 200)])
        self.assertEqual(calls[2]['signingName'], 'monitoring')
        self.assertLessEqual(calls[0]['time'], calls[1]['time'])
        self.assertEqual(len(self.sim.calls(kind='write')), 1)
        self.assertEqual(len(self.sim.calls(service='monitoring')), 1)
        self.sim.control('POST', 'calls/reset', {})
        self.assertEqual(self.sim.calls(), [])
        self.assertAwsError('ClusterNotFoundException', self.client('ecs').describe_services,
                            cluster='zz', services=['a'])
        c = self.sim.calls()[0]
        self.assertEqual((c['status'], c['code']), (400, 'ClusterNotFoundException'))

    def test_settings_endpoints(self):
        self.assertTrue(self.sim.control('GET', 'health')['ok'])
        delays = self.sim.delays(rds=0, cloudfront=1.5)
        self.assertEqual((delays['rds'], delays['cloudfront']), (0.0, 1.5))
        for bad in ({'nope': 1}, {'rds': -1}, {'rds': 'x'}):
            with self.assertRaises(AwsSimError) as e:
                self.sim.control('POST', 'delays', bad)
            self.assertEqual(e.exception.status, 400)
        with self.assertRaises(AwsSimError) as e:
            self.sim.control('GET', 'nothing-here')
        self.assertEqual(e.exception.status, 404)
        with self.assertRaises(AwsSimError):
            self.sim.control('POST', 'secrets/rotation', {'outcome': 'maybe'})
        with self.assertRaises(AwsSimError):
            self.sim.control('POST', 'fixtures', {'dynamodb': {}})
        self.sim.delays(rds=60)
        self.client('rds').create_db_instance(DBInstanceIdentifier='slow', DBInstanceClass='db.t3.micro',
                                              Engine='postgres', AllocatedStorage=20, MasterUsername='u',
                                              MasterUserPassword='password123')
        self.assertEqual(self.sim.settle(), 1)
        self.assertEqual(self.client('rds').describe_db_instances()['DBInstances'][0]['DBInstanceStatus'],
                         'available')
        dump = self.sim.control('GET', 'state')
        self.assertIn('slow', dump[ACCOUNT]['us-east-1']['rds']['instances'])

    def test_fixtures_alarm_state_and_spend(self):
        created = self.sim.control('POST', 'fixtures', {
            'ecs': {'clusters': [{'name': 'demo', 'services': [
                {'name': 'web', 'desiredCount': 3, 'runningCount': 2}]}]},
            'rds': {'instances': [{'id': 'orders', 'class': 'db.t4g.small'}],
                    'clusters': [{'id': 'aurora', 'readers': 2}]},
            'elasticache': {'replicationGroups': [{'id': 'sessions', 'clusterMode': True, 'nodeGroups': 2}]},
            'lambda': {'functions': [{'name': 'api', 'aliases': [{'name': 'live'}],
                                      'reservedConcurrency': 20, 'provisionedConcurrency': {'live': 5}}]},
            'cloudfront': {'distributions': [{'id': 'E2FIXTURE00001', 'comment': 'shop'}]},
            'secretsmanager': {'secrets': [{'name': 'prod/db', 'rotationLambdaArn':
                                            'arn:aws:lambda:us-east-1:%s:function:rot' % ACCOUNT,
                                            'automaticallyAfterDays': 30}]},
            'budgets': {'budgets': [{'name': 'team', 'amount': '60', 'unit': 'EUR', 'actualSpend': '50',
                                     'notifications': [{'threshold': 80}]}]},
            'cloudwatch': {'alarms': [{'name': 'orders-writes', 'namespace': 'AWS/RDS',
                                       'metricName': 'WriteIOPS', 'threshold': 500}]}})['created']
        self.assertEqual(created['ecsServices'], 1)
        svc = self.client('ecs').describe_services(cluster='demo', services=['web'])['services'][0]
        self.assertEqual((svc['desiredCount'], svc['runningCount']), (3, 2))
        cl = self.client('rds').describe_db_clusters()['DBClusters'][0]
        self.assertEqual(len(cl['DBClusterMembers']), 3)
        self.assertEqual(self.client('lambda').get_provisioned_concurrency_config(
            FunctionName='api', Qualifier='live')['Status'], 'READY')
        self.assertEqual(self.client('cloudfront').get_distribution(Id='E2FIXTURE00001')['Distribution']['Status'],
                         'Deployed')
        self.assertTrue(self.client('secretsmanager').describe_secret(SecretId='prod/db')['RotationEnabled'])
        n = self.client('budgets').describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName='team')
        self.assertEqual(n['Notifications'][0]['NotificationState'], 'ALARM')   # 50/60 > 80 %
        self.sim.control('POST', 'budgets/spend', {'budget': 'team', 'actual': '10'})
        n = self.client('budgets').describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName='team')
        self.assertEqual(n['Notifications'][0]['NotificationState'], 'OK')
        self.sim.control('POST', 'alarms/state', {'alarm': 'orders-writes', 'state': 'ALARM'})
        a = self.client('cloudwatch').describe_alarms(AlarmNames=['orders-writes'])['MetricAlarms'][0]
        self.assertEqual(a['StateValue'], 'ALARM')
        with self.assertRaises(AwsSimError):
            self.sim.control('POST', 'alarms/state', {'alarm': 'nope', 'state': 'ALARM'})
        # reset (with fixtures=False) forgets everything.
        self.sim.reset(fixtures=False)
        self.assertEqual(self.client('rds').describe_db_instances()['DBInstances'], [])


class Connections(SimTestCase):
    def test_64_concurrent_keep_alive_connections(self):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = form(Action='GetCallerIdentity', Version='2011-06-15')
        req = AWSRequest(method='POST', url=self.sim.endpoint + '/', data=body, headers={'Content-Type': FORM})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), 'sts', 'us-east-1').add_auth(req)
        headers = dict(req.prepare().headers.items())
        host, port = self.sim.endpoint.split('//')[1].split(':')
        per_conn, threads, errors, reused = 25, 64, [], []
        start = threading.Barrier(threads)

        def worker():
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                conn.connect()
                sock = conn.sock
                start.wait()
                for _ in range(per_conn):
                    conn.request('POST', '/', body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.status != 200 or b'<Account>' not in data:
                        errors.append((resp.status, data[:200]))
                reused.append(conn.sock is sock)
                conn.close()
            except Exception as e:  # reported below
                errors.append(repr(e))
        ts = [threading.Thread(target=worker) for _ in range(threads)]
        t0 = time.time()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.time() - t0
        self.assertEqual(errors, [])
        self.assertEqual(reused, [True] * threads)   # every connection stayed open throughout
        self.assertEqual(len(self.sim.calls(operation='GetCallerIdentity')), threads * per_conn)
        print('  %d requests on %d keep-alive connections in %.2fs (%.0f/s)'
              % (threads * per_conn, threads, elapsed, threads * per_conn / elapsed))


class Process(SimTestCase):
    """Start-up options and shutdown of separate server processes."""

    def test_startup_line_credentials_fixtures_sigterm(self):
        fixtures = {'ecs': {'clusters': [{'name': 'demo', 'services': [{'name': 'web', 'desiredCount': 2}]}]}}
        fd, path = tempfile.mkstemp(suffix='.json')
        with os.fdopen(fd, 'w') as f:
            json.dump(fixtures, f)
        try:
            sim = AwsSim(fixtures=path, credentials={'AKIDTEAM': 'team-secret'}).start()
            try:
                self.assertLess(sim.startup_seconds, 10)
                import boto3
                ecs = boto3.client('ecs', endpoint_url=sim.endpoint, region_name='us-east-1',
                                   aws_access_key_id='AKIDTEAM', aws_secret_access_key='team-secret')
                self.assertEqual(ecs.describe_services(cluster='demo', services=['web'])['services'][0]
                                 ['runningCount'], 2)
                from botocore.exceptions import ClientError
                with self.assertRaises(ClientError) as e:
                    sim.client('ecs').list_clusters()   # the default key is not configured here
                self.assertEqual(e.exception.response['Error']['Code'], 'UnrecognizedClientException')
                ecs.delete_service(cluster='demo', service='web', force=True)
                sim.reset()   # back to the start-up fixtures
                self.assertEqual(ecs.describe_services(cluster='demo', services=['web'])['services'][0]
                                 ['status'], 'ACTIVE')
            finally:
                self.assertEqual(sim.stop(), 0)
        finally:
            os.unlink(path)

    def test_documented_example_fixtures(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with AwsSim(fixtures=os.path.join(root, 'fixtures', 'example.json')) as sim:
            ecs = sim.client('ecs', 'eu-central-1')
            web, worker = ecs.describe_services(cluster='prod', services=['web', 'worker'])['services']
            self.assertEqual((worker['desiredCount'], worker['runningCount']), (3, 1))
            self.assertEqual(web['launchType'], 'FARGATE')
            pc = sim.client('lambda', 'eu-central-1').get_provisioned_concurrency_config(
                FunctionName='checkout', Qualifier='live')
            self.assertEqual((pc['Status'], pc['AllocatedProvisionedConcurrentExecutions']), ('READY', 10))
            rules = sim.client('secretsmanager', 'eu-central-1').describe_secret(
                SecretId='prod/orders-db')['RotationRules']
            self.assertEqual(rules, {'ScheduleExpression': 'rate(30 days)', 'Duration': '3h'})
            notes = sim.client('budgets').describe_notifications_for_budget(
                AccountId=ACCOUNT, BudgetName='team-shop')['Notifications']
            self.assertEqual([n['NotificationState'] for n in notes], ['ALARM', 'OK', 'ALARM'])
            self.assertEqual(sim.client('cloudfront').get_distribution(Id='E2EXAMPLE0DIST')
                             ['Distribution']['DistributionConfig']['Aliases']['Items'], ['shop.example.com'])
            self.assertEqual(len(sim.client('rds', 'eu-central-1').describe_db_instances()['DBInstances']), 3)
            self.assertEqual(sim.client('elasticache', 'eu-central-1').describe_replication_groups()
                             ['ReplicationGroups'][0]['ClusterEnabled'], True)
            self.assertEqual(sim.client('cloudwatch', 'eu-central-1').describe_alarms()['MetricAlarms'][0]
                             ['StateValue'], 'OK')

    def test_exits_when_its_parent_is_gone(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        p = subprocess.Popen(['bash', '-c', '"$0" "$1" --port 0 & echo $!; wait', sys.executable,
                              os.path.join(root, 'server.py')], stdout=subprocess.PIPE, text=True)
        pid = int(p.stdout.readline())
        self.assertTrue(p.stdout.readline().startswith('endpoint http://127.0.0.1:'))
        p.kill()
        p.wait()
        p.stdout.close()
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, 9)
        self.fail('the server outlived its parent')

    def test_port_flag_and_first_line(self):
        port = free_port()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        p = subprocess.Popen([sys.executable, os.path.join(root, 'server.py'), '--port', str(port)],
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), 'endpoint http://127.0.0.1:%d' % port)
            c = socket.create_connection(('127.0.0.1', port), timeout=5)
            c.close()
        finally:
            p.terminate()
            self.assertEqual(p.wait(10), 0)
            p.stdout.close()
        bad = subprocess.run([sys.executable, os.path.join(root, 'server.py'), '--credentials', 'nocolon'],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 2)


if __name__ == '__main__':
    main()
