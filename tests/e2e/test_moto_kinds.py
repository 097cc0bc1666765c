#!/usr/bin/env python3
"""SecretRotation and Budget end to end against moto (`python3 -m moto.server`): the core cases
— rotation configured, a no-op, a spec change, drift, prune — so trimtab is known to work with
the emulator its users already run.

Usage: test_moto_kinds.py TRIMTAB SOURCE_DIR [--sanitized] [--keep]

moto's gaps that matter here, each printed as a WORKAROUND line when the suite runs:
  * moto's RotateSecret looks the rotation function up in its own Lambda (even with
    RotateImmediately false) and refuses an unknown ARN: the suite creates the function first
    (CreateFunction with a small zip; it is never invoked, as trimtab does not rotate at once).
  * moto's RotateSecret with RotateImmediately false still adds an AWSPENDING version (a copy
    of the current value) and leaves it there; AWS only runs the function's testSecret step.
    trimtab rightly reports that as a rotation in progress (RotationInProgress, and
    RotationFailed once its window has passed), so after each RotateSecret the suite removes
    the stray label with UpdateSecretVersionStage, as an operator would, and runs again.
  * moto's AWS Budgets has no DescribeBudgetNotificationsForAccount,
    DescribeSubscribersForNotification, UpdateNotification, the subscriber calls or budget
    tagging. trimtab reads notifications account-wide and subscribers per notification, so the
    Budget kind cannot be reconciled on moto at all; the suite shows what moto answers
    (UnknownOperation / 404) and runs Budgets only against awssim (test_budget.py).
Exit 77 (ctest: skipped) when moto is not installed: never reported as passed.
"""

import importlib.util
import io
import os
import sys
import zipfile

from e2e import ISOLATION, Case, Config, check, describe, log, to_yaml
from servers import start_moto  # noqa: E402  (tests/lib, on the path e2e sets)

SKIP = 77
REGION = 'eu-central-1'
ACCOUNT = '123456789012'
LAMBDA_NAME = 'rotate-db'


def workaround(text):
    log('  WORKAROUND (moto): ' + text)


def rotation(name, secret, **spec_extra):
    spec = {'secretId': secret,
            'rotationLambdaArn': 'arn:aws:lambda:%s:%s:function:%s' % (REGION, ACCOUNT,
                                                                       LAMBDA_NAME),
            'schedule': {'automaticallyAfterDays': 30}}
    spec.update(spec_extra)
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'SecretRotation',
                    'metadata': {'name': name, 'namespace': 'shop'}, 'spec': spec})


def changes_of(p):
    """The "N AWS changes" of `run --once`'s last line."""
    for line in p.stderr.splitlines()[::-1]:
        if 'AWS changes' in line:
            return int(line.split(' AWS changes')[0].rsplit(' ', 1)[1])
    raise AssertionError('no summary line\n' + describe(p))


def run_case(c, endpoint):
    import boto3
    env = dict(os.environ)
    env.update(ISOLATION)
    env.update({'HOME': c.tmp, 'AWS_ENDPOINT_URL': endpoint, 'AWS_REGION': REGION,
                'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing'})

    def client(svc, region=REGION):
        return boto3.client(svc, region_name=region, endpoint_url=endpoint,
                            aws_access_key_id='testing', aws_secret_access_key='testing')

    def run(*extra):
        p = c.trimtab('run', '--once', *extra, env=env)
        check(p.returncode == 0, 'run --once failed', describe(p))
        return p

    def clear_pending():
        for v in sm.list_secret_version_ids(SecretId='prod/orders-db')['Versions']:
            if v.get('VersionStages') == ['AWSPENDING']:
                workaround('RotateImmediately=false left AWSPENDING on %s: removing the label'
                           % v['VersionId'])
                sm.update_secret_version_stage(SecretId='prod/orders-db',
                                               VersionStage='AWSPENDING',
                                               RemoveFromVersionId=v['VersionId'])

    def apply(*extra):
        """A run that writes (and on moto leaves AWSPENDING), then the run that settles it."""
        p = c.trimtab('run', '--once', *extra, env=env)
        clear_pending()
        changes = changes_of(p)
        p = run(*extra)
        return changes + changes_of(p), p

    sm = client('secretsmanager')
    workaround('RotateSecret needs the rotation function to exist in moto\'s Lambda: creating '
               '%s first' % LAMBDA_NAME)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('index.py', 'def handler(event, context):\n    return None\n')
    client('iam', 'us-east-1').create_role(RoleName='rotate', AssumeRolePolicyDocument='{}')
    client('lambda').create_function(
        FunctionName=LAMBDA_NAME, Runtime='python3.12', Handler='index.handler',
        Role='arn:aws:iam::%s:role/rotate' % ACCOUNT, Code={'ZipFile': buf.getvalue()})
    sm.create_secret(Name='prod/orders-db', SecretString='{"password": "moto-planted"}')

    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db'))
    n, p = apply()
    check(n == 2, 'create: tag + RotateSecret expected, %d changes' % n, describe(p))
    s = sm.describe_secret(SecretId='prod/orders-db')
    check(s.get('RotationEnabled') and s['RotationRules'].get('AutomaticallyAfterDays') == 30,
          'rotation not configured on moto', s)
    p = run()
    check(changes_of(p) == 0, 'the no-op run changed AWS on moto', describe(p))
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db',
                                            schedule={'automaticallyAfterDays': 7}))
    n, p = apply()
    check(n == 1 and sm.describe_secret(SecretId='prod/orders-db')['RotationRules']
          ['AutomaticallyAfterDays'] == 7, 'spec change on moto', describe(p))
    sm.cancel_rotate_secret(SecretId='prod/orders-db')
    n, p = apply()
    check(n == 1 and sm.describe_secret(SecretId='prod/orders-db').get('RotationEnabled'),
          'drift on moto', describe(p))
    c.remove('secrets/orders.yaml')
    p = run('--prune')
    s = sm.describe_secret(SecretId='prod/orders-db')
    check(not s.get('RotationEnabled'), 'prune did not cancel the rotation on moto', s)
    for text in (p.stdout, p.stderr):
        check('moto-planted' not in text, 'a secret value in the output')
    log('  SecretRotation on moto: create, no-op, change, drift, prune ok')

    budgets = client('budgets', 'us-east-1')
    try:
        budgets.describe_budget_notifications_for_account(AccountId=ACCOUNT)
        log('  moto now has DescribeBudgetNotificationsForAccount: run Budgets here too')
    except Exception as e:  # noqa: BLE001 (what moto answers is the point)
        workaround('Budgets not run on moto: DescribeBudgetNotificationsForAccount answers %s'
                   % type(e).__name__)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('binary')
    ap.add_argument('source')
    ap.add_argument('--sanitized', action='store_true')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args(argv)
    Config.binary = os.path.abspath(args.binary)
    Config.source = os.path.abspath(args.source)
    Config.sanitized = args.sanitized
    if importlib.util.find_spec('moto') is None or importlib.util.find_spec('boto3') is None:
        log('SKIP: moto or boto3 is not installed for %s' % sys.executable)
        return SKIP
    proc, port = start_moto()
    c = Case('moto_kinds', sim=False)
    ok = False
    try:
        run_case(c, 'http://127.0.0.1:%d' % port)
        ok = True
    finally:
        c.close(keep=not ok and args.keep)
        proc.terminate()
        proc.wait()
    log('ok   moto_kinds' if ok else 'FAIL moto_kinds')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
