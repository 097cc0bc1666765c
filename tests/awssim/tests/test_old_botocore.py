#!/usr/bin/env python3
"""The simulator must also run on Debian's python3 with its older python3-botocore (1.29): the
server is started with /usr/bin/python3 and today's boto3 (this interpreter) drives one or two
operations of every service through it, including CloudWatch over JSON 1.0, a protocol that
botocore 1.29's CloudWatch model does not declare. Exit 77 (skipped) when that interpreter or
its botocore is missing.

With older models the simulator follows them: members and operations added since (e.g.
Application Auto Scaling tagging) do not exist there, and enum values added since are refused."""

import os
import subprocess
import sys

from harness import ACCOUNT, AwsSim, checked, skip

OLD_PYTHON = os.environ.get('TT_OLD_PYTHON', '/usr/bin/python3')


def main():
    if not os.access(OLD_PYTHON, os.X_OK):
        skip('%s is not installed' % OLD_PYTHON)
    probe = subprocess.run([OLD_PYTHON, '-c', 'import botocore; print(botocore.__version__)'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        skip('%s has no botocore (apt-get install -y python3-botocore)' % OLD_PYTHON)
    print('server: %s with botocore %s' % (OLD_PYTHON, probe.stdout.strip()))
    from botocore.exceptions import ClientError
    failures = []
    with AwsSim(python=OLD_PYTHON) as sim:
        print('started in %.2fs' % sim.startup_seconds)
        sim.delays(rds=0, cloudfront=0, ecs=0, elasticache=0, rotation=0, **{'lambda': 0})

        def c(name):
            return checked(sim.client(name))

        def expect(what, fn, code=None):
            try:
                fn()
                if code:
                    failures.append('%s: expected %s, got success' % (what, code))
                    return
                print('ok   %s' % what)
            except ClientError as e:
                got = e.response['Error']['Code']
                if got == code:
                    print('ok   %s -> %s' % (what, code))
                else:
                    failures.append('%s: %s %s' % (what, got, e.response['Error'].get('Message')))
            except Exception as e:  # a parse or shape failure is a failure too
                failures.append('%s: %s: %s' % (what, type(e).__name__, e))

        ecs = c('ecs')
        expect('ecs create cluster/service', lambda: (
            ecs.create_cluster(clusterName='demo'),
            ecs.register_task_definition(family='web', containerDefinitions=[
                {'name': 'web', 'image': 'nginx', 'memory': 256}]),
            ecs.create_service(cluster='demo', serviceName='web', taskDefinition='web', desiredCount=2)))
        aas = c('application-autoscaling')
        expect('aas register/describe', lambda: (
            aas.register_scalable_target(ServiceNamespace='ecs', ResourceId='service/demo/web',
                                         ScalableDimension='ecs:service:DesiredCount', MinCapacity=1,
                                         MaxCapacity=4),
            aas.describe_scalable_targets(ServiceNamespace='ecs')))
        expect('aas tagging is not in the old model', lambda: aas.list_tags_for_resource(
            ResourceARN='arn:aws:application-autoscaling:us-east-1:%s:scalable-target/x' % ACCOUNT),
            'UnknownOperationException')
        rds = c('rds')
        expect('rds create/describe', lambda: (
            rds.create_db_instance(DBInstanceIdentifier='orders', DBInstanceClass='db.t3.small',
                                   Engine='postgres', AllocatedStorage=20, MasterUsername='app',
                                   MasterUserPassword='secret-password'),
            rds.describe_db_instances()))
        expect('rds not found', lambda: rds.describe_db_instances(DBInstanceIdentifier='x'),
               'DBInstanceNotFound')
        expect('elasticache describe', lambda: c('elasticache').describe_replication_groups())
        lam = c('lambda')
        expect('lambda create/concurrency', lambda: (
            lam.create_function(FunctionName='api', Runtime='python3.9', Role='arn:aws:iam::%s:role/r' % ACCOUNT,
                                Handler='a.h', Code={'ZipFile': b'x'}),
            lam.put_function_concurrency(FunctionName='api', ReservedConcurrentExecutions=5)))
        cf = c('cloudfront')
        expect('cloudfront list', lambda: cf.list_distributions())
        cw = c('cloudwatch')   # JSON 1.0 from today's botocore, query in the old model
        expect('cloudwatch json put/describe', lambda: (
            cw.put_metric_alarm(AlarmName='a', Namespace='X', MetricName='m', Statistic='Sum',
                                Period=60, EvaluationPeriods=1, Threshold=1.0,
                                ComparisonOperator='GreaterThanThreshold'),
            cw.describe_alarms(AlarmNames=['a'])['MetricAlarms'][0]['AlarmName'] == 'a' or 1 / 0))
        expect('cloudwatch json error', lambda: cw.set_alarm_state(AlarmName='zz', StateValue='OK',
                                                                   StateReason='x'), 'ResourceNotFound')
        expect('budgets describe', lambda: c('budgets').describe_budgets(AccountId=ACCOUNT))
        sm = c('secretsmanager')
        expect('secrets create/rotate', lambda: (
            sm.create_secret(Name='s', SecretString='v'),
            sm.rotate_secret(SecretId='s', RotationLambdaARN='arn:aws:lambda:us-east-1:%s:function:r' % ACCOUNT,
                             RotationRules={'AutomaticallyAfterDays': 7}),
            sm.describe_secret(SecretId='s')))
        expect('sts identity', lambda: c('sts').get_caller_identity())
        errors = [x for x in sim.calls() if x['status'] >= 500]
        if errors:
            failures.append('5xx answers: %s' % errors)
        rc = sim.stop()
        if rc != 0:
            failures.append('server exit status %r after SIGTERM' % rc)
    for f in failures:
        print('FAIL %s' % f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
