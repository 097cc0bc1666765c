#!/usr/bin/env python3
"""`trimtab iam-policy` proven against awssim's IAM evaluation (docs/iam.md): the policy it
generates for examples/ is enough — converging, re-reading with a fresh state directory and
pruning everything make no call that is refused — and minimal: without any one of its actions,
some reconcile fails with AccessDenied in that resource's status, naming the action.

Usage: test_iam_policy.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]
"""

import copy
import json
import os
import shutil
import sys
import time

from e2e import Config, REGION, check, log, main, ops

ACCOUNT = '123456789012'

# What examples/ scales and watches (as scripts/demo.sh sets it up).
FIXTURES = [
    {'region': REGION,
     'ecs': {'clusters': [{'name': 'prod', 'services': [
         {'name': 'web', 'desiredCount': 2}, {'name': 'worker', 'desiredCount': 1}]}]},
     'rds': {'instances': [{'id': 'orders-db', 'class': 'db.t4g.small',
                            'allocatedStorage': 100}],
             'clusters': [{'id': 'reporting', 'engine': 'aurora-postgresql', 'readers': 1}]},
     'cloudfront': {'distributions': [{'id': 'E2QWRUHAPOMQZL'}]},
     'secretsmanager': {'secrets': [{'name': 'prod/orders-db/app'}]},
     'elasticache': {'replicationGroups': [{'id': 'sessions', 'clusterMode': True,
                                            'nodeGroups': 2, 'replicasPerNodeGroup': 1,
                                            'engine': 'valkey'}]},
     'lambda': {'functions': [{'name': 'checkout-api', 'publishedVersions': 2,
                               'aliases': [{'name': 'live', 'version': '2'}]}]}},
]


def generate(c, *extra):
    p = c.trimtab('iam-policy', os.path.join(Config.source, 'examples'), '--account', ACCOUNT,
                  '--region', REGION, *extra)
    check(p.returncode == 0, 'iam-policy exited %d: %s' % (p.returncode, p.stderr))
    return p


def setup(c, policy):
    """A fresh simulator state with the examples' fixtures, no delays, and `policy` attached to
    the key trimtab signs with; a fresh copy of examples/ and an empty state directory."""
    c.sim.reset(fixtures=False)
    c.sim.control('POST', 'fixtures', FIXTURES[0])
    c.sim.delays(rds=0, cloudfront=0, ecs=0, elasticache=0, **{'lambda': 0})
    # The rotation Lambda leaves AWSPENDING behind, so trimtab also reads the secret's versions
    # (a stuck rotation is reported, SPEC §2).
    c.sim.control('POST', 'secrets/rotation', {'outcome': 'leave-pending'})
    c.sim.control('POST', 'iam/policy', {'accessKey': 'AKIDEXAMPLE', 'policy': policy})
    shutil.rmtree(c.manifests, ignore_errors=True)
    shutil.rmtree(c.state, ignore_errors=True)
    shutil.copytree(os.path.join(Config.source, 'examples'), c.manifests)


def refused(calls):
    return [x for x in calls if x.get('code') in ('AccessDenied', 'AccessDeniedException')]


def denied(calls):
    return [(x['service'], x['operation']) for x in refused(calls)]


def records(c):
    """Every state record: {key: record}."""
    out = {}
    root = os.path.join(c.state, 'resources')
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith('.json'):
                with open(os.path.join(d, f)) as fh:
                    rec = json.load(fh)
                out[os.path.relpath(os.path.join(d, f[:-5]), root)] = rec
    return out


def access_denied_in_status(c, action):
    """The resources whose status — or, for one deleted meanwhile, whose events (the record of
    every failure) — say AccessDenied naming `action`."""
    hits = []
    try:
        with open(os.path.join(c.state, 'events.jsonl')) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get('reason') == 'AccessDenied' and action in (ev.get('message') or ''):
                    o = ev.get('object', {})
                    hits.append('%s/%s/%s (event)' % (o.get('kind'), o.get('namespace'),
                                                      o.get('name')))
    except FileNotFoundError:
        pass
    for key, rec in records(c).items():
        for cond in rec.get('status', {}).get('conditions', []):
            if cond.get('reason') == 'AccessDenied' and action in (cond.get('message') or ''):
                hits.append(key)
                break
    return sorted(set(hits))


def steps(c):
    """The scenario every action must be needed in: converge examples/, converge again with a
    fresh state directory (nothing remembered: tags are read, ownership re-proved), then delete
    everything with --prune from the first run's state (what trimtab remembers creating, the
    Lambda caps included, is removed). Yields after each step."""
    p, calls = c.run_once()
    yield 'converge', p, calls
    kept = c.state + '.converged'
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(c.state, kept)
    shutil.rmtree(c.state)
    p, calls = c.run_once()
    yield 'fresh state', p, calls
    # One rotation asked for now; the rotation Lambda leaves AWSPENDING behind (setup), which
    # the next look reads from the secret's versions.
    rel = os.path.join('secrets', 'orders-db-credentials.yaml')
    with open(os.path.join(c.manifests, rel)) as f:
        text = f.read().replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n'
                                '    trimtab.dev/rotate-requested-at: "1"\n', 1)
    c.write(rel, text)
    p, calls = c.run_once()
    yield 'rotate now', p, calls
    p, calls = c.run_once()
    yield 'rotation pending', p, calls
    shutil.rmtree(c.state)
    os.rename(kept, c.state)
    shutil.rmtree(c.manifests)
    os.makedirs(c.manifests)
    p, calls = c.run_once('--prune')
    yield 'prune', p, calls


# Reads that only feed status fields: their failure leaves the field out (a soft read,
# providers/batch.h) instead of failing the reconcile, so the refusal shows in the call log only.
SOFT = {'application-autoscaling:DescribeScalingActivities': 'status.lastScalingActivity',
        'application-autoscaling:GetPredictiveScalingForecast': 'the forecast in status'}


def actions_of(policy):
    out = []
    for st in policy['Statement']:
        acts = st['Action'] if isinstance(st['Action'], list) else [st['Action']]
        out += [(st['Sid'], a) for a in acts]
    return out


def without(policy, sid, action):
    """`policy` with `action` dropped from statement `sid` (and the statement, if empty)."""
    doc = copy.deepcopy(policy)
    for st in doc['Statement']:
        if st['Sid'] == sid:
            st['Action'] = [a for a in st['Action'] if a != action]
    doc['Statement'] = [st for st in doc['Statement'] if st['Action']]
    return doc


def case_iam_policy_enough(c):
    """Under exactly the generated policy every step of the scenario succeeds: no AccessDenied
    in the call log, every resource converges, the prune deletes everything."""
    policy = json.loads(generate(c).stdout)
    setup(c, policy)
    seen = set()
    for step, p, calls in steps(c):
        check(not denied(calls), '%s: refused calls under the generated policy' % step,
              denied(calls), p.stderr[-3000:])
        seen |= {(x['service'], x['operation']) for x in calls}
        if step != 'prune':
            synced = [k for k, r in records(c).items()
                      if not any(cond['type'] == 'Synced' and cond['status'] == 'True'
                                 for cond in r.get('status', {}).get('conditions', []))]
            check(not synced, '%s: not Synced under the policy' % step, synced)
        else:
            check(p.returncode == 0, 'prune exited %d' % p.returncode, p.stderr[-3000:])
            check(not records(c), 'prune left resources', sorted(records(c)))
    log('  %d statements, %d actions; %d distinct operations called, none refused'
        % (len(policy['Statement']), len(actions_of(policy)), len(seen)))
    # The same examples without the policy attached make the same calls: the policy changed
    # nothing but what is allowed.
    c.sim.control('DELETE', 'iam/policy', {'accessKey': 'AKIDEXAMPLE'})


def case_iam_policy_minimal(c):
    """Each action of the generated policy is needed: with it removed, some step of the scenario
    fails with AccessDenied naming it in a resource's status."""
    policy = json.loads(generate(c).stdout)
    t0 = time.monotonic()
    unproven = []
    for sid, action in actions_of(policy):
        setup(c, without(policy, sid, action))
        where = None
        for step, p, calls in steps(c):
            if action in SOFT:
                op = action.split(':', 1)[1]
                if any(x['operation'] == op for x in calls if x in refused(calls)):
                    where = '%s: %s refused, %s left out' % (step, op, SOFT[action])
                    break
                continue
            hits = access_denied_in_status(c, action)
            if hits:
                where = '%s: %s' % (step, ', '.join(hits[:3]))
                break
        if where is None:
            unproven.append(action)
        log('  without %-55s %s' % (action, where or 'NOTHING FAILED'))
    check(not unproven, 'actions no step of the scenario needs', unproven)
    log('  %d actions, each needed (%.1fs)' % (len(actions_of(policy)), time.monotonic() - t0))


def case_iam_policy_cli(c):
    """The command: the same bytes twice; only the kinds present (ECS alone needs no budgets:*);
    -o terraform; spec.roleArn and --role; an invalid manifest reported as file:line: field: message with exit 1 while
    the policy of the valid rest is still printed; no credentials needed."""
    a, b = generate(c).stdout, generate(c).stdout
    check(a == b, 'iam-policy is not deterministic')
    ecs = os.path.join(c.tmp, 'ecs-only')
    shutil.copytree(os.path.join(Config.source, 'examples', 'ecs'), ecs)
    os.unlink(os.path.join(ecs, 'worker.yaml'))  # its budget guard reads a Budget
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    p = c.trimtab('iam-policy', ecs, env=env)
    check(p.returncode == 0, 'ecs-only exited %d' % p.returncode, p.stderr)
    actions = sorted(a for _, a in actions_of(json.loads(p.stdout)))
    check(all(a.startswith(('application-autoscaling:', 'ecs:')) for a in actions),
          'ECS alone needs more than Application Auto Scaling and ECS', actions)
    check(':*:*:service/prod/web' in p.stdout, 'no --account/--region: not "*"', p.stdout)
    p = c.trimtab('iam-policy', ecs, '-o', 'terraform', '--partition', 'aws-cn', env=env)
    check(p.returncode == 0 and p.stdout.startswith('data "aws_iam_policy_document" "trimtab" {')
          and 'arn:aws-cn:ecs:' in p.stdout, 'terraform form', p.stdout[:500])
    # A resource under spec.roleArn: the operator only assumes the role; --role prints the
    # role's own policy, in the role's account.
    role = 'arn:aws:iam::210987654321:role/scaler'
    with open(os.path.join(ecs, 'web.yaml')) as f:
        text = f.read()
    with open(os.path.join(ecs, 'web.yaml'), 'w') as f:
        f.write(text.replace('spec:\n', 'spec:\n  roleArn: %s\n' % role, 1))
    op = json.loads(c.trimtab('iam-policy', ecs, env=env).stdout)
    check([a for _, a in actions_of(op)] == ['sts:AssumeRole'], 'operator policy with a role',
          op)
    rp = c.trimtab('iam-policy', ecs, '--role', role, env=env).stdout
    check(':210987654321:service/prod/web' in rp and 'sts:' not in rp, 'the role policy', rp)
    with open(os.path.join(ecs, 'web.yaml'), 'w') as f:
        f.write(text)
    with open(os.path.join(ecs, 'bad.yaml'), 'w') as f:
        f.write('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: bad, '
                'namespace: shop}\nspec:\n  target: {ecs: {cluster: prod, service: x}}\n'
                '  minCapacity: many\n')
    p = c.trimtab('iam-policy', ecs, env=env)
    check(p.returncode == 1, 'an invalid manifest: exit %d, expected 1' % p.returncode)
    check(p.stderr.startswith(os.path.join(ecs, 'bad.yaml') + ':6: spec.minCapacity: '),
          'invalid manifest not reported as file:line: field: message', p.stderr)
    check(':service/prod/web' in p.stdout and ':service/prod/x' not in p.stdout,
          'the valid rest is not printed, or the invalid one is', p.stdout[:800])


CASES = {
    'iam_policy_cli': case_iam_policy_cli,
    'iam_policy_enough': case_iam_policy_enough,
    'iam_policy_minimal': case_iam_policy_minimal,
}

if __name__ == '__main__':
    sys.exit(main(CASES, sys.argv[1:], fixtures=FIXTURES[0]))
