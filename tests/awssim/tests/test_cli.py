#!/usr/bin/env python3
"""The real AWS CLI (Debian's awscli, /usr/bin/aws, with its own bundled botocore) drives every
simulated operation it knows; every answer must parse (the CLI exits 0 and prints JSON) and say
what AWS would. Errors must reach the CLI with AWS's code. Exit 77 (skipped) without the CLI.

The Debian CLI (2.9) predates Application Auto Scaling and Budgets tagging; those operations are
covered by the boto3 suite only."""

import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from concurrent.futures import ThreadPoolExecutor

from harness import ACCOUNT, AwsSim, skip

AWS = os.environ.get('TT_AWS_CLI', '/usr/bin/aws')


class Cli:
    def __init__(self, sim, tmp):
        self.sim = sim
        self.tmp = tmp
        self.env = dict(os.environ, **sim.env())
        self.env.update(AWS_PAGER='', AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null',
                        AWS_EC2_METADATA_DISABLED='true')
        self.env.pop('AWS_ENDPOINT_URL', None)   # the 2.9 CLI does not read it; pass --endpoint-url
        self.lock = threading.Lock()
        self.passed = 0
        self.failures = []
        self.operations = set()
        self.commands = 0

    def file(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)
        return path

    def run(self, *args, error=None, env=None):
        """Runs `aws <args>`; returns the parsed JSON output (None if empty). With error=CODE the
        command must fail with that AWS error code."""
        cmd = [AWS, '--endpoint-url', self.sim.endpoint, '--region', 'us-east-1', '--output', 'json'] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, env=env or self.env, timeout=60)
        what = ' '.join(args[:2])
        with self.lock:
            self.operations.add(what)
            self.commands += 1
        if error:
            if p.returncode == 0 or '(%s)' % error not in p.stderr:
                raise AssertionError('%s: expected error %s, got rc=%d stderr=%s' % (what, error, p.returncode,
                                                                                      p.stderr.strip()[:300]))
            return None
        if p.returncode != 0:
            raise AssertionError('%s failed rc=%d: %s' % (what, p.returncode, p.stderr.strip()[:400]))
        out = p.stdout.strip()
        try:
            return json.loads(out) if out else None
        except ValueError:
            raise AssertionError('%s printed non-JSON: %r' % (what, out[:200]))

    def check(self, cond, what):
        if not cond:
            raise AssertionError(what)
        with self.lock:
            self.passed += 1


def ecs_and_autoscaling(aws):
    aws.run('ecs', 'create-cluster', '--cluster-name', 'demo')
    aws.run('ecs', 'register-task-definition', '--family', 'web', '--container-definitions',
            '[{"name":"web","image":"nginx","memory":256}]')
    for name in ('web', 'api', 'worker'):
        aws.run('ecs', 'create-service', '--cluster', 'demo', '--service-name', name,
                '--task-definition', 'web', '--desired-count', '2')
    svc = aws.run('ecs', 'describe-services', '--cluster', 'demo', '--services', 'web', 'gone')
    aws.check(svc['services'][0]['desiredCount'] == 2 and svc['failures'][0]['reason'] == 'MISSING',
              'describe-services')
    aws.run('ecs', 'update-service', '--cluster', 'demo', '--service', 'web', '--desired-count', '3')
    aws.run('ecs', 'describe-services', '--cluster', 'nope', '--services', 'web', error='ClusterNotFoundException')
    aws.check(len(aws.run('ecs', 'list-services', '--cluster', 'demo', '--page-size', '1')['serviceArns']) == 3,
              'list-services pages')
    for name in ('web', 'api', 'worker'):
        aws.run('application-autoscaling', 'register-scalable-target', '--service-namespace', 'ecs',
                '--resource-id', 'service/demo/' + name, '--scalable-dimension', 'ecs:service:DesiredCount',
                '--min-capacity', '1', '--max-capacity', '5')
    t = aws.run('application-autoscaling', 'describe-scalable-targets', '--service-namespace', 'ecs',
                '--page-size', '1')
    aws.check(len(t['ScalableTargets']) == 3, 'CLI follows NextToken through 3 pages')
    base = ['--service-namespace', 'ecs', '--resource-id', 'service/demo/web',
            '--scalable-dimension', 'ecs:service:DesiredCount']
    p = aws.run('application-autoscaling', 'put-scaling-policy', '--policy-name', 'cpu',
                '--policy-type', 'TargetTrackingScaling', *base,
                '--target-tracking-scaling-policy-configuration',
                '{"TargetValue":70.0,"PredefinedMetricSpecification":'
                '{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}')
    aws.check(len(p['Alarms']) == 2, 'target tracking alarms')
    d = aws.run('application-autoscaling', 'describe-scaling-policies', '--service-namespace', 'ecs',
                '--policy-names', 'cpu')
    aws.check([x['PolicyName'] for x in d['ScalingPolicies']] == ['cpu'], 'describe-scaling-policies')
    aws.run('application-autoscaling', 'put-scheduled-action', '--scheduled-action-name', 'morning', *base,
            '--schedule', 'cron(0 8 ? * MON-FRI *)', '--timezone', 'Europe/Paris',
            '--scalable-target-action', 'MinCapacity=2,MaxCapacity=5')
    aws.run('application-autoscaling', 'put-scheduled-action', '--scheduled-action-name', 'bad', *base,
            '--schedule', 'cron(0 8 * * MON-FRI *)', '--scalable-target-action', 'MinCapacity=2',
            error='ValidationException')
    s = aws.run('application-autoscaling', 'describe-scheduled-actions', '--service-namespace', 'ecs')
    aws.check(s['ScheduledActions'][0]['Timezone'] == 'Europe/Paris', 'describe-scheduled-actions')
    a = aws.run('application-autoscaling', 'describe-scaling-activities', '--service-namespace', 'ecs')
    aws.check(isinstance(a['ScalingActivities'], list), 'describe-scaling-activities')
    aws.run('application-autoscaling', 'delete-scheduled-action', '--scheduled-action-name', 'morning', *base)
    aws.run('application-autoscaling', 'delete-scaling-policy', '--policy-name', 'cpu', *base)
    aws.run('application-autoscaling', 'delete-scaling-policy', '--policy-name', 'cpu', *base,
            error='ObjectNotFoundException')
    aws.run('application-autoscaling', 'deregister-scalable-target', *base)


def rds_and_elasticache(aws):
    i = aws.run('rds', 'create-db-instance', '--db-instance-identifier', 'orders', '--db-instance-class',
                'db.t4g.small', '--engine', 'postgres', '--allocated-storage', '20', '--master-username',
                'app', '--master-user-password', 'secret-password', '--max-allocated-storage', '100')
    aws.check(i['DBInstance']['DBInstanceStatus'] == 'creating', 'create-db-instance')
    aws.sim.settle()
    m = aws.run('rds', 'modify-db-instance', '--db-instance-identifier', 'orders', '--db-instance-class',
                'db.m5.large', '--apply-immediately')
    aws.check(m['DBInstance']['DBInstanceStatus'] == 'modifying' and
              m['DBInstance']['PendingModifiedValues'] == {'DBInstanceClass': 'db.m5.large'}, 'modify-db-instance')
    aws.sim.settle()
    d = aws.run('rds', 'describe-db-instances', '--db-instance-identifier', 'orders')
    aws.check(d['DBInstances'][0]['DBInstanceClass'] == 'db.m5.large', 'modified class applied')
    aws.run('rds', 'modify-db-instance', '--db-instance-identifier', 'orders', '--db-instance-class',
            'db.bogus.tiny', error='InvalidParameterCombination')
    aws.run('rds', 'describe-db-instances', '--db-instance-identifier', 'nope', error='DBInstanceNotFound')
    aws.run('rds', 'create-db-cluster', '--db-cluster-identifier', 'aurora', '--engine', 'aurora-postgresql',
            '--master-username', 'admin', '--master-user-password', 'secret-password')
    aws.run('rds', 'create-db-instance', '--db-instance-identifier', 'aurora-1', '--db-instance-class',
            'db.r6g.large', '--engine', 'aurora-postgresql', '--db-cluster-identifier', 'aurora')
    c = aws.run('rds', 'describe-db-clusters', '--db-cluster-identifier', 'aurora')
    aws.check(c['DBClusters'][0]['DBClusterMembers'][0]['IsClusterWriter'], 'describe-db-clusters')
    f = aws.run('rds', 'describe-db-instances', '--filters', 'Name=db-cluster-id,Values=aurora')
    aws.check([x['DBInstanceIdentifier'] for x in f['DBInstances']] == ['aurora-1'], 'exact filter')
    aws.run('elasticache', 'create-replication-group', '--replication-group-id', 'sessions',
            '--replication-group-description', 'sessions', '--num-node-groups', '2',
            '--replicas-per-node-group', '1', '--cache-node-type', 'cache.r7g.large', '--engine', 'redis',
            '--cache-parameter-group-name', 'default.redis7.cluster.on')
    g = aws.run('elasticache', 'describe-replication-groups', '--replication-group-id', 'sessions')
    aws.check(len(g['ReplicationGroups'][0]['NodeGroups']) == 2, 'describe-replication-groups')
    aws.run('elasticache', 'describe-replication-groups', '--replication-group-id', 'nope',
            error='ReplicationGroupNotFoundFault')


def lambda_functions(aws):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('app.py', 'def handler(e, c):\n    return 1\n')
    path = aws.file('fn.zip', buf.getvalue())
    fn = aws.run('lambda', 'create-function', '--function-name', 'api', '--runtime', 'python3.12',
                 '--role', 'arn:aws:iam::%s:role/exec' % ACCOUNT, '--handler', 'app.handler',
                 '--zip-file', 'fileb://' + path)
    aws.check(fn['CodeSize'] == len(buf.getvalue()), 'create-function code size')
    aws.run('lambda', 'get-function', '--function-name', 'api')
    v = aws.run('lambda', 'publish-version', '--function-name', 'api')
    aws.run('lambda', 'create-alias', '--function-name', 'api', '--name', 'live', '--function-version', v['Version'])
    aws.run('lambda', 'create-alias', '--function-name', 'api', '--name', 'live', '--function-version',
            v['Version'], error='ResourceConflictException')
    aws.run('lambda', 'put-function-concurrency', '--function-name', 'api',
            '--reserved-concurrent-executions', '50')
    c = aws.run('lambda', 'get-function-concurrency', '--function-name', 'api')
    aws.check(c['ReservedConcurrentExecutions'] == 50, 'get-function-concurrency')
    p = aws.run('lambda', 'put-provisioned-concurrency-config', '--function-name', 'api', '--qualifier', 'live',
                '--provisioned-concurrent-executions', '5')
    aws.check(p['Status'] == 'IN_PROGRESS', 'put-provisioned-concurrency-config')
    aws.sim.settle()
    g = aws.run('lambda', 'get-provisioned-concurrency-config', '--function-name', 'api', '--qualifier', 'live')
    aws.check(g['Status'] == 'READY', 'provisioned concurrency READY')
    aws.run('lambda', 'delete-provisioned-concurrency-config', '--function-name', 'api', '--qualifier', 'live')
    aws.run('lambda', 'get-provisioned-concurrency-config', '--function-name', 'api', '--qualifier', 'live',
            error='ProvisionedConcurrencyConfigNotFoundException')
    aws.run('lambda', 'delete-function-concurrency', '--function-name', 'api')
    aws.run('lambda', 'get-function', '--function-name', 'nope', error='ResourceNotFoundException')


def cloudfront(aws):
    cfg = {'CallerReference': 'cli-1', 'Comment': 'a & b <c>', 'Enabled': True,
           'Origins': {'Quantity': 1, 'Items': [{'Id': 'app', 'DomainName': 'app.example.com',
                                                 'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443,
                                                                        'OriginProtocolPolicy': 'https-only'}}]},
           'DefaultCacheBehavior': {'TargetOriginId': 'app', 'ViewerProtocolPolicy': 'allow-all',
                                    'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}
    d = aws.run('cloudfront', 'create-distribution', '--distribution-config',
                'file://' + aws.file('cf.json', json.dumps(cfg)))
    did, etag = d['Distribution']['Id'], d['ETag']
    aws.check(d['Distribution']['Status'] == 'InProgress', 'create-distribution')
    aws.run('cloudfront', 'get-distribution', '--id', did)
    g = aws.run('cloudfront', 'get-distribution-config', '--id', did)
    aws.check(g['DistributionConfig']['Comment'] == 'a & b <c>', 'XML escaping round trip')
    new = g['DistributionConfig']
    new['PriceClass'] = 'PriceClass_100'
    path = aws.file('cf2.json', json.dumps(new))
    u = aws.run('cloudfront', 'update-distribution', '--id', did, '--if-match', etag,
                '--distribution-config', 'file://' + path)
    aws.check(u['ETag'] != etag, 'new ETag')
    aws.run('cloudfront', 'update-distribution', '--id', did, '--if-match', etag,
            '--distribution-config', 'file://' + path, error='PreconditionFailed')
    arn = d['Distribution']['ARN']
    aws.run('cloudfront', 'tag-resource', '--resource', arn, '--tags', 'Items=[{Key=team,Value=shop}]')
    t = aws.run('cloudfront', 'list-tags-for-resource', '--resource', arn)
    aws.check(t['Tags']['Items'] == [{'Key': 'team', 'Value': 'shop'}], 'list-tags-for-resource')
    lst = aws.run('cloudfront', 'list-distributions')
    aws.check(lst['DistributionList']['Items'][0]['Id'] == did, 'list-distributions')
    aws.run('cloudfront', 'get-distribution', '--id', 'E000000000000', error='NoSuchDistribution')


def cloudwatch(aws):
    alarm = ['--namespace', 'AWS/RDS', '--metric-name', 'WriteIOPS', '--statistic', 'Average', '--period', '60',
             '--evaluation-periods', '3', '--threshold', '500', '--comparison-operator', 'GreaterThanThreshold']
    for n in ('writes', 'reads'):
        aws.run('cloudwatch', 'put-metric-alarm', '--alarm-name', n, *alarm,
                '--tags', 'Key=owner,Value=cli')
    d = aws.run('cloudwatch', 'describe-alarms', '--alarm-names', 'writes', 'reads')
    aws.check([a['AlarmName'] for a in d['MetricAlarms']] == ['reads', 'writes'], 'alarms in name order')
    aws.check(d['MetricAlarms'][0]['StateValue'] == 'INSUFFICIENT_DATA', 'new alarm state')
    aws.run('cloudwatch', 'put-composite-alarm', '--alarm-name', 'both', '--alarm-rule',
            'ALARM(writes) AND ALARM(reads)')
    c = aws.run('cloudwatch', 'describe-alarms', '--alarm-types', 'CompositeAlarm')
    aws.check([a['AlarmName'] for a in c['CompositeAlarms']] == ['both'], 'composite alarm')
    aws.run('cloudwatch', 'set-alarm-state', '--alarm-name', 'writes', '--state-value', 'ALARM',
            '--state-reason', 'cli')
    p = aws.run('cloudwatch', 'describe-alarms', '--max-items', '1')
    aws.check(len(p['MetricAlarms']) == 1 and 'NextToken' in p, 'paging with --max-items')
    arn = d['MetricAlarms'][0]['AlarmArn']
    aws.run('cloudwatch', 'tag-resource', '--resource-arn', arn, '--tags', 'Key=team,Value=db')
    t = aws.run('cloudwatch', 'list-tags-for-resource', '--resource-arn', arn)
    aws.check({x['Key'] for x in t['Tags']} == {'owner', 'team'}, 'list-tags-for-resource')
    aws.run('cloudwatch', 'delete-alarms', '--alarm-names', 'both')
    aws.run('cloudwatch', 'delete-alarms', '--alarm-names', 'writes', 'reads')
    aws.run('cloudwatch', 'set-alarm-state', '--alarm-name', 'writes', '--state-value', 'OK',
            '--state-reason', 'x', error='ResourceNotFound')


def budgets(aws):
    budget = json.dumps({'BudgetName': 'team', 'BudgetLimit': {'Amount': '60', 'Unit': 'EUR'},
                         'TimeUnit': 'MONTHLY', 'BudgetType': 'COST'})
    note = {'NotificationType': 'ACTUAL', 'ComparisonOperator': 'GREATER_THAN', 'Threshold': 80,
            'ThresholdType': 'PERCENTAGE'}
    email = {'SubscriptionType': 'EMAIL', 'Address': 'ops@example.com'}
    acct = ['--account-id', ACCOUNT]
    aws.run('budgets', 'create-budget', *acct, '--budget', budget, '--notifications-with-subscribers',
            json.dumps([{'Notification': note, 'Subscribers': [email]}]))
    aws.run('budgets', 'create-budget', *acct, '--budget', budget, error='DuplicateRecordException')
    d = aws.run('budgets', 'describe-budget', *acct, '--budget-name', 'team')
    aws.check(d['Budget']['BudgetLimit'] == {'Amount': '60', 'Unit': 'EUR'}, 'describe-budget')
    aws.run('budgets', 'update-budget', *acct, '--new-budget', budget.replace('"60"', '"90"'))
    aws.check(aws.run('budgets', 'describe-budgets', *acct)['Budgets'][0]['BudgetLimit']['Amount'] == '90',
              'update-budget')
    n2 = dict(note, Threshold=100)
    aws.run('budgets', 'create-notification', *acct, '--budget-name', 'team', '--notification', json.dumps(n2),
            '--subscribers', json.dumps([email]))
    ns = aws.run('budgets', 'describe-notifications-for-budget', *acct, '--budget-name', 'team')
    aws.check(sorted(n['Threshold'] for n in ns['Notifications']) == [80.0, 100.0], 'notifications')
    sns = {'SubscriptionType': 'SNS', 'Address': 'arn:aws:sns:us-east-1:%s:alerts' % ACCOUNT}
    aws.run('budgets', 'create-subscriber', *acct, '--budget-name', 'team', '--notification', json.dumps(n2),
            '--subscriber', json.dumps(sns))
    s = aws.run('budgets', 'describe-subscribers-for-notification', *acct, '--budget-name', 'team',
                '--notification', json.dumps(n2))
    aws.check(len(s['Subscribers']) == 2, 'subscribers')
    aws.run('budgets', 'delete-subscriber', *acct, '--budget-name', 'team', '--notification', json.dumps(n2),
            '--subscriber', json.dumps(sns))
    n3 = dict(n2, Threshold=120)
    aws.run('budgets', 'update-notification', *acct, '--budget-name', 'team', '--old-notification',
            json.dumps(n2), '--new-notification', json.dumps(n3))
    aws.run('budgets', 'delete-notification', *acct, '--budget-name', 'team', '--notification', json.dumps(n3))
    aws.run('budgets', 'delete-budget', *acct, '--budget-name', 'team')
    aws.run('budgets', 'describe-budget', *acct, '--budget-name', 'team', error='NotFoundException')


def secrets(aws):
    aws.run('secretsmanager', 'create-secret', '--name', 'prod/db', '--secret-string', '{"password":"x"}')
    fn = 'arn:aws:lambda:us-east-1:%s:function:rotate' % ACCOUNT
    aws.run('secretsmanager', 'rotate-secret', '--secret-id', 'prod/db', '--rotation-lambda-arn', fn,
            '--rotation-rules', '{"ScheduleExpression":"rate(10 days)","Duration":"2h"}', '--no-rotate-immediately')
    d = aws.run('secretsmanager', 'describe-secret', '--secret-id', 'prod/db')
    aws.check(d['RotationRules'] == {'ScheduleExpression': 'rate(10 days)', 'Duration': '2h'}, 'schedule kept')
    r = aws.run('secretsmanager', 'rotate-secret', '--secret-id', 'prod/db')
    v = aws.run('secretsmanager', 'list-secret-version-ids', '--secret-id', 'prod/db')
    aws.check(any(x['VersionId'] == r['VersionId'] and x['VersionStages'] == ['AWSCURRENT'] for x in v['Versions']),
              'rotation produced AWSCURRENT')
    aws.run('secretsmanager', 'cancel-rotate-secret', '--secret-id', 'prod/db')
    rep = aws.run('secretsmanager', 'replicate-secret-to-regions', '--secret-id', 'prod/db',
                  '--add-replica-regions', 'Region=eu-west-1')
    aws.check(rep['ReplicationStatus'][0]['Status'] == 'InSync', 'replicate')
    aws.run('secretsmanager', 'remove-regions-from-replication', '--secret-id', 'prod/db',
            '--remove-replica-regions', 'eu-west-1')
    aws.run('secretsmanager', 'tag-resource', '--secret-id', 'prod/db', '--tags', 'Key=team,Value=db')
    aws.check(aws.run('secretsmanager', 'describe-secret', '--secret-id', 'prod/db')['Tags'] ==
              [{'Key': 'team', 'Value': 'db'}], 'tag-resource')
    aws.run('secretsmanager', 'describe-secret', '--secret-id', 'nope', error='ResourceNotFoundException')


def sts(aws):
    me = aws.run('sts', 'get-caller-identity')
    aws.check(me['Account'] == ACCOUNT, 'get-caller-identity')
    r = aws.run('sts', 'assume-role', '--role-arn', 'arn:aws:iam::210987654321:role/trimtab',
                '--role-session-name', 'cli')
    c = r['Credentials']
    env = dict(aws.env, AWS_ACCESS_KEY_ID=c['AccessKeyId'], AWS_SECRET_ACCESS_KEY=c['SecretAccessKey'],
               AWS_SESSION_TOKEN=c['SessionToken'])
    who = aws.run('sts', 'get-caller-identity', env=env)
    aws.check(who['Arn'] == 'arn:aws:sts::210987654321:assumed-role/trimtab/cli', 'assumed identity')

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip('=')
    token = '.'.join([b64({'alg': 'RS256'}), b64({'iss': 'https://oidc.example.com', 'sub': 'sa',
                                                  'aud': 'sts.amazonaws.com', 'exp': int(time.time()) + 600}), 'x'])
    w = aws.run('sts', 'assume-role-with-web-identity', '--role-arn', 'arn:aws:iam::%s:role/irsa' % ACCOUNT,
                '--role-session-name', 'pod', '--web-identity-token', token)
    aws.check(w['SubjectFromWebIdentityToken'] == 'sa', 'web identity')


GROUPS = [ecs_and_autoscaling, rds_and_elasticache, lambda_functions, cloudfront, cloudwatch, budgets,
          secrets, sts]


def main():
    if not os.access(AWS, os.X_OK):
        skip('the AWS CLI (%s) is not installed; install it with: apt-get install -y awscli' % AWS)
    version = subprocess.run([AWS, '--version'], capture_output=True, text=True).stdout.strip()
    print('using %s' % version)
    t0 = time.time()
    with AwsSim(strict=True) as sim, tempfile.TemporaryDirectory() as tmp:
        sim.delays(rds=0, cloudfront=0, ecs=0, elasticache=0, **{'lambda': 0})
        aws = Cli(sim, tmp)

        def run(group):
            try:
                group(aws)
                return group.__name__, None
            except Exception as e:  # every group reports; one failure does not hide the others
                return group.__name__, '%s\n%s' % (e, traceback.format_exc(limit=3))
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(run, GROUPS))
        calls = sim.calls()
        rc = sim.stop()
    failed = [(n, e) for n, e in results if e]
    for n, e in results:
        print('%-22s %s' % (n, 'ok' if not e else 'FAILED: ' + e))
    server_errors = [c for c in calls if c['status'] >= 500]
    if server_errors:
        failed.append(('server', '5xx answers: %s' % server_errors[:3]))
        print('FAILED: the simulator answered 5xx: %s' % server_errors[:3])
    print('%d CLI commands (%d distinct operations), %d checks, %d calls served, %.1fs'
          % (aws.commands, len(aws.operations), aws.passed, len(calls), time.time() - t0))
    if rc != 0:
        print('FAILED: awssim exited with %r' % rc)
        return 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
