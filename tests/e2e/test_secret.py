#!/usr/bin/env python3
"""SecretRotations end to end, in directory mode against awssim (SPEC §2 SecretRotation; §4;
§8): rotation configured and a no-op at the floor, no secret value anywhere, the
rotate-requested-at annotation rotating exactly once per value (across restarts and kill -9), a
stuck rotation reported and not retried blindly, schedule and replica changes, drift, deletion
with and without --prune, adoption, Observe mode, an invalid manifest, faults.

Usage: test_secret.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import json
import os
import sys
import time

from e2e import NS, OWNER_TAG, REGION, check, log, main, ops, reads, to_yaml, wait_for, writes

ACCOUNT = '123456789012'
LAMBDA = 'arn:aws:lambda:%s:%s:function:rotate-db' % (REGION, ACCOUNT)
# Planted in every secret: it must never appear in a log line, a status or an event.
PLANTED = 'planted-Sup3rS3cret-value-7f3a9c'


def rotation(name, secret, annotations=None, **spec_extra):
    spec = {'secretId': secret, 'rotationLambdaArn': LAMBDA,
            'schedule': {'automaticallyAfterDays': 30}}
    spec.update(spec_extra)
    meta = {'name': name, 'namespace': NS}
    if annotations:
        meta['annotations'] = annotations
    return to_yaml({'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'SecretRotation',
                    'metadata': meta, 'spec': spec})


def make_secrets(c, *names):
    sm = c.client('secretsmanager')
    arns = {}
    for n in names:
        arns[n] = sm.create_secret(Name=n, SecretString=json.dumps(
            {'username': 'app', 'password': PLANTED}))['ARN']
    return arns


def secret(c, name):
    return c.client('secretsmanager').describe_secret(SecretId=name)


def record(c, name):
    return c.record(name, kind='SecretRotation')


def expect_ready(c, *names):
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged', kind='SecretRotation')


def rotations(calls):
    return [x for x in calls if x['operation'] == 'RotateSecret' and x['status'] < 300]


def no_secret_anywhere(c, *outputs):
    """The planted value is in no log, state record or event, and nobody read it."""
    for text in outputs:
        check(PLANTED not in text, 'a secret value reached the output')
    for d, _, files in os.walk(c.state):
        for f in files:
            with open(os.path.join(d, f), errors='replace') as fh:
                check(PLANTED not in fh.read(), 'a secret value reached %s' % f)
    for p in c.procs:
        with open(p.log_path, errors='replace') as fh:
            check(PLANTED not in fh.read(), 'a secret value reached %s' % p.log_path)
    check(not c.sim.calls(operation='GetSecretValue'), 'trimtab called GetSecretValue')


# ---- cases ---------------------------------------------------------------------------------

def case_secret_create_noop(c):
    """Rotation configured for three secrets (by name, by ARN, with a replica and a schedule
    expression); the no-op run makes zero writes and reads at the floor; status is complete and
    no secret value appears anywhere."""
    arns = make_secrets(c, 'prod/orders-db', 'prod/cart-db', 'prod/search')
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', replicaRegions=['eu-west-1']))
    c.write('secrets/cart.yaml', rotation('cart', arns['prod/cart-db']))
    c.write('secrets/search.yaml', rotation('search', 'prod/search', schedule={
        'expression': 'rate(10 days)', 'duration': '3h'}, rotateImmediately=True))
    p, calls = c.run_once('--log-format', 'json', expect_rc=0)
    outputs = [p.stdout, p.stderr]
    w = sorted(ops(calls, 'write'))
    check(w == sorted(['TagResource'] * 3 + ['RotateSecret'] * 3 + ['ReplicateSecretToRegions']),
          'writes of the first run', w)
    s = secret(c, 'prod/orders-db')
    check(s['RotationEnabled'] and s['RotationLambdaARN'] == LAMBDA and
          s['RotationRules'].get('AutomaticallyAfterDays') == 30, 'orders rotation', s)
    check([r['Region'] for r in s['ReplicationStatus']] == ['eu-west-1'], 'orders replica')
    check({t['Key']: t['Value'] for t in s['Tags']}.get(OWNER_TAG) == '%s/orders' % NS,
          'orders owner tag', s.get('Tags'))
    check(secret(c, 'prod/search')['RotationRules'] == {'ScheduleExpression': 'rate(10 days)',
                                                         'Duration': '3h'}, 'search rules')
    # Only search asked to rotate immediately.
    check(secret(c, 'prod/search').get('LastRotatedDate') and
          not secret(c, 'prod/orders-db').get('LastRotatedDate'), 'rotateImmediately honoured')
    for n in ('orders', 'cart', 'search'):
        expect_ready(c, n)

    p, calls = c.run_once(expect_rc=0)
    outputs += [p.stdout, p.stderr]
    check(not writes(calls), 'the no-op run wrote', ops(calls, 'write'))
    r = sorted(ops(calls))
    # Floor: one ListSecrets for the names (10 a call), DescribeSecret for the ARN and for the
    # secret with replicas (ListSecrets does not report replication).
    check(r == ['DescribeSecret', 'DescribeSecret', 'ListSecrets'], 'no-op reads', r)
    log('  no-op of 3 rotations: 0 writes, %d reads (%s)' % (len(reads(calls)), ', '.join(r)))
    st = record(c, 'search')['status']
    check(st['rotationEnabled'] is True and st['lastRotationResult'] == 'Succeeded' and
          st['lastRotatedDate'].endswith('Z') and st['nextRotationDate'].endswith('Z') and
          len(st['currentVersionId']) >= 32, 'search status', st)
    check(record(c, 'orders')['status']['replicaRegions'] == ['eu-west-1'], 'replicaRegions')
    p = c.plan(expect_rc=0)
    outputs += [p.stdout, p.stderr]
    status = c.trimtab('status')
    outputs += [status.stdout, status.stderr]
    no_secret_anywhere(c, *outputs)


def case_secret_requested(c):
    """trimtab.dev/rotate-requested-at: exactly one rotation per new value — not again on a
    rerun, a restart, or after a kill -9 in the middle of the call."""
    make_secrets(c, 'prod/orders-db')
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db'))
    c.run_once(expect_rc=0)
    first = secret(c, 'prod/orders-db')
    check(not first.get('LastRotatedDate'), 'rotated without being asked')

    asked = {'trimtab.dev/rotate-requested-at': '2026-12-06T03:00:00Z'}
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', annotations=asked))
    p, calls = c.run_once(expect_rc=0)
    check(len(rotations(calls)) == 1, 'one rotation for the new value', ops(calls, 'write'))
    after = secret(c, 'prod/orders-db')
    check(after.get('LastRotatedDate'), 'the rotation did not complete')
    for _ in range(2):  # a rerun, and another process start: nothing more
        p, calls = c.run_once(expect_rc=0)
        check(not writes(calls), 'the same value rotated again', ops(calls, 'write'))

    # kill -9 while the RotateSecret of a new value is in flight (the simulator holds it 3 s and
    # lists it in flight meanwhile, so the kill lands inside the held call); the call completes
    # in AWS all the same, and the restart finds the rotation the dead process
    # started (its version, by the deterministic token) instead of starting another.
    c.sim.fault(kind='latency', latencyMs=3000, service='secretsmanager', operation='RotateSecret')
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', annotations={
        'trimtab.dev/rotate-requested-at': 'second'}))
    c.sim.reset_calls()
    proc = c.start('--once')
    wait_for(lambda: c.sim.inflight(operation='RotateSecret') or proc.poll() is not None, 30,
             'the rotation in flight')
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()
    wait_for(lambda: not c.sim.inflight(), 10, 'the held call to complete in AWS')
    c.sim.clear_faults()
    landed = len(rotations(c.sim.calls()))
    p, calls = c.run_once(expect_rc=0)
    log('  killed with %d RotateSecret answered by AWS' % landed)
    check(len(rotations(calls)) == 1 - landed, 'one rotation in all for the value "second" '
          '(the dead run\'s %d, the restart\'s %d)' % (landed, len(rotations(calls))), ops(calls))
    versions = c.client('secretsmanager').list_secret_version_ids(SecretId='prod/orders-db',
                                                                IncludeDeprecated=True)
    check(len(versions['Versions']) == 3, 'three versions (created, first, second rotation)',
          versions['Versions'])
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', annotations={
        'trimtab.dev/rotate-requested-at': 'third'}))
    p, calls = c.run_once(expect_rc=0)
    check(len(rotations(calls)) == 1, 'one rotation for the third value', ops(calls))
    no_secret_anywhere(c, p.stdout, p.stderr)


def case_secret_stuck(c):
    """A rotation that leaves AWSPENDING behind past its window: RotationFailed (condition and a
    Warning event), and no RotateSecret fired into it, even when one is asked for; once the
    rotation is repaired the resource recovers."""
    make_secrets(c, 'prod/orders-db')
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db'))
    c.run_once(expect_rc=0)
    c.sim.control('POST', 'secrets/rotation', {'outcome': 'leave-pending'})
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', annotations={
        'trimtab.dev/rotate-requested-at': 'one'}))
    p, calls = c.run_once()
    check(len(rotations(calls)) == 1, 'the requested rotation', ops(calls))
    c.expect_condition('orders', 'Ready', 'False', 'RotationInProgress', kind='SecretRotation')
    # Two hours later (the window is one hour): stuck.
    c.sim.control('POST', 'secrets/age', {'secret': 'prod/orders-db', 'seconds': 7200,
                                          'region': REGION})
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', annotations={
        'trimtab.dev/rotate-requested-at': 'two'}))
    p, calls = c.run_once()
    check(not rotations(calls) and not writes(calls), 'a RotateSecret was fired into a stuck '
          'rotation', ops(calls))
    ready = c.expect_condition('orders', 'Ready', 'False', 'RotationFailed', kind='SecretRotation')
    check('AWSPENDING' in ready['message'] and 'window' in ready['message'], 'message', ready)
    c.expect_condition('orders', 'RotationFailed', 'True', 'RotationStuck', kind='SecretRotation')
    ev = c.events('orders', 'RotationFailed', kind='SecretRotation')
    check(len(ev) == 1 and ev[0]['type'] == 'Warning', 'one Warning event', ev)
    check(record(c, 'orders')['status']['lastRotationResult'] == 'Failed', 'lastRotationResult')
    p, calls = c.run_once()
    check(not writes(calls), 'a rerun fired into the stuck rotation', ops(calls))
    check(len(c.events('orders', 'RotationFailed', kind='SecretRotation')) == 1,
          'the repeat was a new event, not a count')

    # Repaired: the function fixed and AWSPENDING cleared by the operator.
    sm = c.client('secretsmanager')
    pending = [v['VersionId'] for v in sm.list_secret_version_ids(SecretId='prod/orders-db')
               ['Versions'] if 'AWSPENDING' in v.get('VersionStages', [])]
    sm.update_secret_version_stage(SecretId='prod/orders-db', VersionStage='AWSPENDING',
                                   RemoveFromVersionId=pending[0])
    c.sim.control('POST', 'secrets/rotation', {'outcome': 'succeed'})
    p, calls = c.run_once(expect_rc=0)
    check(len(rotations(calls)) == 1, 'the pending request "two" rotates once repaired',
          ops(calls))
    c.expect_condition('orders', 'RotationFailed', 'False', 'RotationHealthy',
                       kind='SecretRotation')
    check(c.events('orders', 'RotationHealthy', kind='SecretRotation'), 'no recovery event')
    expect_ready(c, 'orders')


def case_secret_changes(c):
    """Schedule and replica changes, drift corrected, Observe mode, an invalid manifest beside
    valid ones, adoption refused then allowed, deletion with and without --prune, faults."""
    make_secrets(c, 'prod/orders-db', 'prod/legacy', 'prod/other')
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', replicaRegions=['eu-west-1']))
    c.run_once(expect_rc=0)
    # Spec change: schedule, and replicas eu-west-1 → us-east-1.
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', schedule={
        'automaticallyAfterDays': 7}, replicaRegions=['us-east-1']))
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['RemoveRegionsFromReplication', 'ReplicateSecretToRegions',
                                          'RotateSecret'], 'spec change writes', ops(calls, 'write'))
    s = secret(c, 'prod/orders-db')
    check(s['RotationRules']['AutomaticallyAfterDays'] == 7 and
          [r['Region'] for r in s['ReplicationStatus']] == ['us-east-1'], 'after change', s)
    # Drift: rotation cancelled by hand, a replica added by someone else (left alone).
    sm = c.client('secretsmanager')
    sm.cancel_rotate_secret(SecretId='prod/orders-db')
    sm.replicate_secret_to_regions(SecretId='prod/orders-db',
                                   AddReplicaRegions=[{'Region': 'ap-south-1'}])
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['RotateSecret'], 'drift corrected', ops(calls, 'write'))
    check(sorted(r['Region'] for r in secret(c, 'prod/orders-db')['ReplicationStatus']) ==
          ['ap-south-1', 'us-east-1'], 'someone else\'s replica was touched')

    # Someone else's rotation: refused, then adopted.
    sm.rotate_secret(SecretId='prod/legacy', RotationLambdaARN=LAMBDA,
                     RotationRules={'AutomaticallyAfterDays': 90}, RotateImmediately=False)
    c.write('secrets/legacy.yaml', rotation('legacy', 'prod/legacy'))
    c.write('secrets/bad.yaml', rotation('bad', 'prod/other', schedule={
        'automaticallyAfterDays': 30, 'expression': 'rate(10 days)'}))
    c.write('secrets/observe.yaml', rotation('observe', 'prod/other', mode='Observe'))
    p, calls = c.run_once()
    check(not writes(calls), 'refused, invalid and observed ones wrote', ops(calls, 'write'))
    c.expect_condition('legacy', 'Ready', 'False', 'AdoptionRefused', kind='SecretRotation')
    bad = c.condition('bad', kind='SecretRotation')
    check(bad['reason'] == 'InvalidSpec' and 'bad.yaml' in bad['message'] and
          'schedule' in bad['message'], 'invalid one', bad)
    c.expect_condition('observe', 'Drifted', 'True', 'DriftDetected', kind='SecretRotation')
    expect_ready(c, 'orders')
    c.remove('secrets/bad.yaml')
    c.remove('secrets/observe.yaml')
    c.write('secrets/legacy.yaml', rotation('legacy', 'prod/legacy', adopt=True))
    p, calls = c.run_once(expect_rc=0)
    check(ops(calls, 'write') == ['TagResource', 'RotateSecret'], 'adoption',
          ops(calls, 'write'))
    check(secret(c, 'prod/legacy')['RotationRules']['AutomaticallyAfterDays'] == 30, 'adopted')

    # Faults on reads and writes: converges, each change made once.
    c.write('secrets/orders.yaml', rotation('orders', 'prod/orders-db', schedule={
        'automaticallyAfterDays': 14}, replicaRegions=['us-east-1']))
    c.sim.fault(kind='throttle', service='secretsmanager', operation='ListSecrets', count=2)
    c.sim.fault(kind='error', status=500, service='secretsmanager', operation='RotateSecret',
                count=2)
    c.sim.fault(kind='reset', service='secretsmanager', operation='DescribeSecret', count=1)
    p, calls = c.run_once(timeout=120)
    if p.returncode != 0:
        p, calls = c.run_once(expect_rc=0, timeout=120, reset_calls=False)
    check(secret(c, 'prod/orders-db')['RotationRules']['AutomaticallyAfterDays'] == 14,
          'not converged under faults')
    check(len(rotations(calls)) == 1, 'RotateSecret succeeded once', ops(calls))
    c.sim.clear_faults()

    # Deletion: orphaned without --prune; with it, rotation cancelled, our replica and tag
    # removed, the secret and someone else's replica kept.
    c.remove('secrets/orders.yaml')
    p, calls = c.run_once()
    check(not writes(calls), 'deleted without --prune wrote', ops(calls, 'write'))
    p, calls = c.run_once('--prune', expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['CancelRotateSecret', 'RemoveRegionsFromReplication',
                                          'UntagResource'], 'prune writes', ops(calls, 'write'))
    s = secret(c, 'prod/orders-db')
    check(not s.get('RotationEnabled') and [r['Region'] for r in s['ReplicationStatus']] ==
          ['ap-south-1'] and OWNER_TAG not in {t['Key'] for t in s.get('Tags', [])},
          'after prune', s)
    no_secret_anywhere(c, p.stdout, p.stderr)


def case_examples_budget_secret(c):
    """examples/budgets and examples/secrets converge as shipped, and stay in sync."""
    import shutil
    from e2e import Config
    for sub in ('budgets', 'secrets'):
        shutil.copytree(os.path.join(Config.source, 'examples', sub),
                        os.path.join(c.manifests, sub))
    c.client('secretsmanager').create_secret(Name='prod/orders-db/app', SecretString=PLANTED)
    p, calls = c.run_once(expect_rc=0)
    check(sorted(ops(calls, 'write')) == ['CreateBudget', 'ReplicateSecretToRegions',
                                          'RotateSecret', 'TagResource'], 'example writes',
          ops(calls, 'write'))
    c.expect_condition('platform-monthly', 'Ready', 'True', 'Converged', kind='Budget')
    expect_ready(c, 'orders-db-credentials')
    p, calls = c.run_once(expect_rc=0)
    check(not writes(calls), 'the examples are not stable', ops(calls, 'write'))
    no_secret_anywhere(c, p.stdout, p.stderr)


CASES = {
    'examples_budget_secret': case_examples_budget_secret,
    'secret_create_noop': case_secret_create_noop,
    'secret_requested': case_secret_requested,
    'secret_stuck': case_secret_stuck,
    'secret_changes': case_secret_changes,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:]))
