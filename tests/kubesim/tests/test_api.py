"""kubesim over raw HTTPS: what a client sees on the wire (Status objects, content types,
resourceVersion semantics, chunked watch streams), for every behaviour trimtab's Kubernetes
client relies on."""

import copy
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import unittest

from harness import CRDS, GV, KUBESIM, KubeSim, SimTestCase, main, sp, sp_path


def rv_of(r):
    return int(r.json['metadata']['resourceVersion'])


class TestAuthAndTls(SimTestCase):
    def test_tls_verified_with_the_written_ca(self):
        # The CA that the kubeconfig carries verifies the server; an empty trust store does not.
        r = self.sim.request('GET', '/version')
        self.assertStatus(r, 200)
        self.assertEqual(r.json['major'], '1')
        ctx = ssl.create_default_context()
        conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=ctx, timeout=10)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request('GET', '/version')
        conn.close()
        with open(self.sim.kubeconfig) as f:
            cfg = json.load(f)
        self.assertEqual(cfg['clusters'][0]['cluster']['server'], self.sim.endpoint)
        self.assertEqual(cfg['users'][0]['user']['token'], self.sim.token)
        self.assertEqual(cfg['current-context'], 'kubesim')

    def test_client_certificate(self):
        # The client certificate kubesim writes next to its CA authenticates without a token;
        # one from another CA fails the handshake.
        ctx = ssl.create_default_context(cafile=self.sim.ca)
        ctx.load_cert_chain(os.path.join(self.sim.dir, 'client.crt'), os.path.join(self.sim.dir, 'client.key'))
        conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=ctx, timeout=10)
        conn.request('GET', '/api/v1/namespaces/shop')
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())['metadata']['name'], 'shop')
        conn.close()
        try:
            self.sim.control('POST', 'client-certs', {'enabled': False})
            conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=ctx, timeout=10)
            conn.request('GET', '/api/v1/namespaces/shop')
            self.assertEqual(conn.getresponse().status, 401)
            conn.close()
        finally:
            self.sim.control('POST', 'client-certs', {'enabled': True})
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                            '-nodes', '-keyout', d + '/k', '-out', d + '/c', '-days', '1', '-subj', '/CN=stranger'],
                           check=True, capture_output=True)
            bad = ssl.create_default_context(cafile=self.sim.ca)
            bad.load_cert_chain(d + '/c', d + '/k')
            conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=bad, timeout=10)
            with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
                conn.request('GET', '/api/v1/namespaces/shop')
                conn.getresponse()
            conn.close()

    def test_bearer_token_required(self):
        for tok in (None, 'wrong'):
            r = self.sim.request('GET', sp_path(), token=tok)
            self.assertStatus(r, 401, 'Unauthorized')
            self.assertEqual(r.json['message'], 'Unauthorized')
        # Rotation: the accepted set replaced at run time.
        self.sim.set_tokens(['new-token'])
        try:
            self.assertStatus(self.sim.request('GET', sp_path()), 401)
            self.assertStatus(self.sim.request('GET', sp_path(), token='new-token'), 200)
        finally:
            self.sim.set_tokens([self.sim.token])
        self.assertEqual(self.sim.calls(status=401)[-1]['path'], sp_path())

    def test_tokens_name_their_user(self):
        # During a rotation both tokens are accepted; the call log tells which one a client used.
        self.sim.set_tokens({self.sim.token: 'admin', 'rotated': 'rotated-user'})
        try:
            self.sim.reset_calls()
            self.assertStatus(self.sim.request('GET', sp_path(), token='rotated'), 200)
            self.assertStatus(self.sim.request('GET', sp_path()), 200)
            self.assertEqual([c['user'] for c in self.sim.calls()], ['rotated-user', 'admin'])
        finally:
            self.sim.set_tokens([self.sim.token])

    def test_refused_request_body_does_not_poison_the_connection(self):
        # A 401 answered before the body is read: the next request on the same keep-alive
        # connection is still parsed as a request (the body was discarded), as Go's server does.
        ctx = ssl.create_default_context(cafile=self.sim.ca)
        conn = http.client.HTTPSConnection(self.sim.host, self.sim.port, context=ctx, timeout=10)
        try:
            body = json.dumps(sp('poison')).encode()
            conn.request('POST', sp_path(), body=body,
                         headers={'Authorization': 'Bearer wrong', 'Content-Type': 'application/json'})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 401)
            conn.request('GET', '/version', headers={'Authorization': 'Bearer ' + self.sim.token})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        finally:
            conn.close()


class TestDiscovery(SimTestCase):
    def test_groups_and_resources(self):
        r = self.sim.request('GET', '/api')
        self.assertEqual(r.json['kind'], 'APIVersions')
        self.assertEqual(r.json['versions'], ['v1'])
        groups = {g['name']: g for g in self.sim.request('GET', '/apis').json['groups']}
        for g in ('trimtab.dev', 'events.k8s.io', 'coordination.k8s.io', 'apiextensions.k8s.io'):
            self.assertIn(g, groups)
        self.assertEqual(groups['trimtab.dev']['preferredVersion']['groupVersion'], 'trimtab.dev/v1alpha1')
        res = {x['name']: x for x in self.sim.request('GET', GV).json['resources']}
        self.assertEqual(set(res), {'scalingpolicies', 'scalingpolicies/status', 'alarms', 'alarms/status',
                                    'budgets', 'budgets/status', 'secretrotations', 'secretrotations/status'})
        self.assertEqual(res['scalingpolicies']['kind'], 'ScalingPolicy')
        self.assertTrue(res['scalingpolicies']['namespaced'])
        self.assertIn('sp', res['scalingpolicies']['shortNames'])
        self.assertIn('watch', res['scalingpolicies']['verbs'])
        core = {x['name'] for x in self.sim.request('GET', '/api/v1').json['resources']}
        self.assertTrue({'namespaces', 'events', 'namespaces/status'} <= core)
        self.assertStatus(self.sim.request('GET', '/apis/nothing.example/v1'), 404, 'NotFound')

    def test_openapi_v3(self):
        idx = self.sim.request('GET', '/openapi/v3').json['paths']
        url = idx['apis/trimtab.dev/v1alpha1']['serverRelativeURL']
        self.assertTrue(url.startswith('/openapi/v3/apis/trimtab.dev/v1alpha1?hash='))
        doc = self.sim.request('GET', url).json
        s = doc['components']['schemas']['dev.trimtab.v1alpha1.ScalingPolicy']
        self.assertEqual(s['x-kubernetes-group-version-kind'],
                         [{'group': 'trimtab.dev', 'version': 'v1alpha1', 'kind': 'ScalingPolicy'}])
        self.assertIn('minCapacity', s['properties']['spec']['properties'])
        self.assertNotIn('_rules', json.dumps(s))
        patch = doc['paths']['/apis/trimtab.dev/v1alpha1/namespaces/{namespace}/scalingpolicies/{name}']['patch']
        self.assertIn('fieldValidation', [p['name'] for p in patch['parameters']])
        # A changed CRD changes the hash (clients cache by URL).
        crd = self.sim.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scalingpolicies.trimtab.dev').json
        crd['spec']['versions'][0]['schema']['openAPIV3Schema']['description'] = 'changed'
        self.assertStatus(self.sim.request('PUT', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scalingpolicies.trimtab.dev', crd), 200)
        idx2 = self.sim.request('GET', '/openapi/v3').json['paths']
        self.assertNotEqual(idx2['apis/trimtab.dev/v1alpha1']['serverRelativeURL'], url)


class TestChartKinds(SimTestCase):
    """The built-in kinds a Helm chart of an operator renders: stored and served (no controller
    acts on them), with a service account's TokenRequest tokens."""
    DEP = '/apis/apps/v1/namespaces/shop/deployments'

    @staticmethod
    def deployment(args=('run',)):
        return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'op'},
                'spec': {'replicas': 1, 'selector': {'matchLabels': {'app': 'op'}},
                         'template': {'metadata': {'labels': {'app': 'op'}}, 'spec': {'containers': [
                             {'name': 'op', 'image': 'op:1', 'args': list(args),
                              'env': [{'name': 'A', 'value': '1'}, {'name': 'B', 'value': '2'}]},
                             {'name': 'side', 'image': 'side:1'}]}}},
                'status': {'replicas': 5}}

    def test_discovery_scope_and_subresources(self):
        want = {('/api/v1', 'serviceaccounts'): True, ('/api/v1', 'services'): True,
                ('/apis/apps/v1', 'deployments'): True, ('/apis/policy/v1', 'poddisruptionbudgets'): True,
                ('/apis/rbac.authorization.k8s.io/v1', 'roles'): True,
                ('/apis/rbac.authorization.k8s.io/v1', 'rolebindings'): True,
                ('/apis/rbac.authorization.k8s.io/v1', 'clusterroles'): False,
                ('/apis/rbac.authorization.k8s.io/v1', 'clusterrolebindings'): False}
        for (gv, plural), namespaced in want.items():
            res = {x['name']: x for x in self.sim.request('GET', gv).json['resources']}
            self.assertEqual(res[plural]['namespaced'], namespaced, plural)
        apps = {x['name'] for x in self.sim.request('GET', '/apis/apps/v1').json['resources']}
        self.assertIn('deployments/status', apps)
        core = {x['name']: x for x in self.sim.request('GET', '/api/v1').json['resources']}
        self.assertEqual(core['serviceaccounts/token']['kind'], 'TokenRequest')
        self.assertStatus(self.sim.request('GET', '/openapi/v3/apis/apps/v1'), 200)

    def test_deployment_status_generation_and_strategic_merge(self):
        r = self.sim.request('POST', self.DEP, self.deployment())
        self.assertStatus(r, 201)
        self.assertNotIn('status', r.json)  # a status subresource: create ignores status
        self.assertEqual(r.json['metadata']['generation'], 1)
        # A strategic merge patch naming one container changes that container only (merge
        # key name), and one env entry of it (merge key name).
        r = self.sim.request('PATCH', self.DEP + '/op', {'spec': {'replicas': 2, 'template': {'spec': {
            '$setElementOrder/containers': [{'name': 'op'}, {'name': 'side'}],
            'containers': [{'name': 'op', 'args': ['run', '--x'], 'env': [{'name': 'B', 'value': '3'}]}]}}}},
            content_type='application/strategic-merge-patch+json')
        self.assertStatus(r, 200)
        cs = r.json['spec']['template']['spec']['containers']
        self.assertEqual([c['name'] for c in cs], ['op', 'side'])
        self.assertEqual(cs[0]['image'], 'op:1')
        self.assertEqual(cs[0]['args'], ['run', '--x'])
        self.assertEqual(cs[0]['env'], [{'name': 'A', 'value': '1'}, {'name': 'B', 'value': '3'}])
        self.assertEqual(r.json['metadata']['generation'], 2)
        r = self.sim.request('PUT', self.DEP + '/op/status', dict(r.json, status={'replicas': 2}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json['status'], {'replicas': 2})
        self.assertEqual(r.json['metadata']['generation'], 2)
        bad = self.deployment()
        bad['metadata']['name'] = 'bad'
        bad['spec']['selector']['matchLabels'] = {'app': 'other'}
        r = self.sim.request('POST', self.DEP, bad)
        self.assertStatus(r, 422, 'Invalid')
        self.assertIn('`selector` does not match template `labels`', r.json['message'])

    def test_cluster_scoped_rbac(self):
        cr = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'op'},
              'rules': [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get']}]}
        self.assertStatus(self.sim.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', cr), 201)
        r = self.sim.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/op')
        self.assertNotIn('namespace', r.json['metadata'])
        crb = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRoleBinding',
               'metadata': {'name': 'op'}, 'subjects': []}
        r = self.sim.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', crb)
        self.assertStatus(r, 422, 'Invalid')  # no roleRef

    def test_service_account_token_request(self):
        sa_path = '/api/v1/namespaces/shop/serviceaccounts'
        r = self.sim.request('POST', sa_path + '/op/token', {'spec': {'expirationSeconds': 600}})
        self.assertStatus(r, 404, 'NotFound')
        self.assertStatus(self.sim.request('POST', sa_path, {'apiVersion': 'v1', 'kind': 'ServiceAccount',
                                                             'metadata': {'name': 'op'}}), 201)
        r = self.sim.request('POST', sa_path + '/op/token', {'spec': {'expirationSeconds': 600}})
        self.assertStatus(r, 201)
        self.assertEqual(r.json['kind'], 'TokenRequest')
        token = r.json['status']['token']
        self.assertEqual(token.count('.'), 2)
        self.assertStatus(self.sim.request('GET', sp_path(), token=token), 200)
        self.assertEqual(self.sim.calls(path=GV)[-1]['user'], 'system:serviceaccount:shop:op')
        self.assertEqual(self.sim.calls(path=sa_path)[-1]['user'], 'admin')
        # The token dies with its ServiceAccount, also when one of the same name comes back.
        self.assertStatus(self.sim.request('DELETE', sa_path + '/op'), 200)
        self.assertStatus(self.sim.request('GET', sp_path(), token=token), 401)
        self.sim.request('POST', sa_path, {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': 'op'}})
        self.assertStatus(self.sim.request('GET', sp_path(), token=token), 401)


class TestCrud(SimTestCase):
    def test_create_get_list_delete(self):
        r = self.sim.request('POST', sp_path(), sp('web'))
        self.assertStatus(r, 201)
        o = r.json
        self.assertEqual(o['metadata']['generation'], 1)
        self.assertTrue(o['metadata']['uid'])
        self.assertRegex(o['metadata']['creationTimestamp'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(o['spec']['mode'], 'Manage')  # CRD default applied
        self.assertEqual(o['spec']['deletionPolicy'], 'Delete')
        g = self.sim.request('GET', sp_path(name='web'))
        self.assertEqual(g.json, o)
        self.assertStatus(self.sim.request('POST', sp_path(), sp('web')), 409, 'AlreadyExists')
        lst = self.sim.request('GET', sp_path())
        self.assertEqual(lst.json['kind'], 'ScalingPolicyList')
        self.assertEqual(lst.json['apiVersion'], 'trimtab.dev/v1alpha1')
        self.assertEqual([i['metadata']['name'] for i in lst.json['items']], ['web'])
        self.assertGreaterEqual(rv_of(lst), rv_of(r))
        d = self.sim.request('DELETE', sp_path(name='web'))
        self.assertStatus(d, 200)
        nf = self.sim.request('GET', sp_path(name='web'))
        self.assertStatus(nf, 404, 'NotFound')
        self.assertEqual(nf.json['message'], 'scalingpolicies.trimtab.dev "web" not found')
        self.assertEqual(nf.json['details'], {'name': 'web', 'group': 'trimtab.dev', 'kind': 'scalingpolicies'})

    def test_namespace_must_exist_and_scope(self):
        r = self.sim.request('POST', sp_path(ns='nowhere'), sp('web', ns='nowhere'))
        self.assertStatus(r, 404, 'NotFound')
        self.assertEqual(r.json['message'], 'namespaces "nowhere" not found')
        r = self.sim.request('POST', sp_path(ns='shop'), sp('web', ns='data'))
        self.assertStatus(r, 400, 'BadRequest')
        self.sim.request('POST', sp_path(ns='shop'), sp('a'))
        self.sim.request('POST', sp_path(ns='data'), sp('b', ns='data'))
        all_ = self.sim.request('GET', GV + '/scalingpolicies').json['items']
        self.assertEqual([(i['metadata']['namespace'], i['metadata']['name']) for i in all_],
                         [('data', 'b'), ('shop', 'a')])

    def test_resource_versions_are_one_global_counter(self):
        a = rv_of(self.sim.request('POST', sp_path(), sp('a')))
        b = rv_of(self.sim.request('POST', '/apis/coordination.k8s.io/v1/namespaces/shop/leases',
                                   {'metadata': {'name': 'l'}, 'spec': {'holderIdentity': 'x'}}))
        c = rv_of(self.sim.request('POST', sp_path(ns='data'), sp('c', ns='data')))
        self.assertEqual([b - a, c - b], [1, 1])

    def test_body_limit_413(self):
        big = sp('big')
        big['metadata']['annotations'] = {'x': 'y' * (3 * 1024 * 1024 + 10)}
        r = self.sim.request('POST', sp_path(), big)
        self.assertStatus(r, 413, 'RequestEntityTooLarge')

    def test_bad_json_400_and_unknown_paths(self):
        r = self.sim.request('POST', sp_path(), raw=b'{not json')
        self.assertStatus(r, 400, 'BadRequest')
        r = self.sim.request('POST', sp_path(), raw=b'\x0a\x02k8s', content_type='application/vnd.kubernetes.protobuf')
        self.assertStatus(r, 415, 'UnsupportedMediaType')
        self.assertStatus(self.sim.request('GET', GV + '/nothings'), 404, 'NotFound')
        self.assertStatus(self.sim.request('DELETE', GV + '/namespaces/shop/scalingpolicies/x/status'), 405,
                          'MethodNotAllowed')

    def test_put_requires_resource_version_for_custom_resources(self):
        o = self.sim.request('POST', sp_path(), sp('web')).json
        o['metadata'].pop('resourceVersion')
        r = self.sim.request('PUT', sp_path(name='web'), o)
        self.assertStatus(r, 422, 'Invalid')
        self.assertIn('metadata.resourceVersion', r.json['message'])


class TestConcurrencyAndGeneration(SimTestCase):
    def test_conflict_on_stale_resource_version(self):
        o = self.sim.request('POST', sp_path(), sp('web')).json
        a = copy.deepcopy(o)
        a['spec']['minCapacity'] = 3
        self.assertStatus(self.sim.request('PUT', sp_path(name='web'), a), 200)
        b = copy.deepcopy(o)  # still the old resourceVersion
        b['spec']['minCapacity'] = 4
        r = self.sim.request('PUT', sp_path(name='web'), b)
        self.assertStatus(r, 409, 'Conflict')
        self.assertEqual(r.json['message'], 'Operation cannot be fulfilled on scalingpolicies.trimtab.dev "web": '
                         'the object has been modified; please apply your changes to the latest version and try again')
        self.assertEqual(r.json['details'], {'name': 'web', 'group': 'trimtab.dev', 'kind': 'scalingpolicies'})
        # The same with a merge patch that names the resourceVersion, and on /status.
        r = self.sim.request('PATCH', sp_path(name='web'), {'metadata': {'resourceVersion': o['metadata']['resourceVersion']},
                                                             'spec': {'minCapacity': 5}},
                             content_type='application/merge-patch+json')
        self.assertStatus(r, 409, 'Conflict')
        st = copy.deepcopy(o)
        st['status'] = {'observedGeneration': 1}
        self.assertStatus(self.sim.request('PUT', sp_path(name='web', sub='status'), st), 409, 'Conflict')
        self.assertEqual(self.sim.request('GET', sp_path(name='web')).json['spec']['minCapacity'], 3)

    def test_generation_only_on_spec_changes(self):
        o = self.sim.request('POST', sp_path(), sp('web')).json
        self.assertEqual(o['metadata']['generation'], 1)
        lab = self.sim.request('PATCH', sp_path(name='web'), {'metadata': {'labels': {'a': 'b'}}},
                               content_type='application/merge-patch+json').json
        self.assertEqual(lab['metadata']['generation'], 1)
        self.assertGreater(int(lab['metadata']['resourceVersion']), int(o['metadata']['resourceVersion']))
        st = self.sim.request('PATCH', sp_path(name='web', sub='status'), {'status': {'observedGeneration': 1}},
                              content_type='application/merge-patch+json').json
        self.assertEqual(st['metadata']['generation'], 1)
        sp2 = self.sim.request('PATCH', sp_path(name='web'), {'spec': {'minCapacity': 3}},
                               content_type='application/merge-patch+json').json
        self.assertEqual(sp2['metadata']['generation'], 2)
        # A write that changes nothing keeps the resourceVersion and emits no event.
        same = self.sim.request('PATCH', sp_path(name='web'), {'spec': {'minCapacity': 3}},
                                content_type='application/merge-patch+json').json
        self.assertEqual(same['metadata']['resourceVersion'], sp2['metadata']['resourceVersion'])

    def test_status_subresource(self):
        withstatus = sp('web')
        withstatus['status'] = {'observedGeneration': 5}
        o = self.sim.request('POST', sp_path(), withstatus).json
        self.assertNotIn('status', o)  # create does not set status either
        # status sent to the main resource is ignored…
        o['status'] = {'observedGeneration': 7}
        o['spec']['minCapacity'] = 3
        r = self.sim.request('PUT', sp_path(name='web'), o).json
        self.assertNotIn('status', r)
        self.assertEqual(r['spec']['minCapacity'], 3)
        # …and spec (and metadata) sent to /status are.
        r['status'] = {'observedGeneration': 2, 'conditions': [
            {'type': 'Ready', 'status': 'True', 'reason': 'Converged', 'message': 'ok',
             'lastTransitionTime': '2026-01-01T00:00:00Z'}]}
        r['spec']['minCapacity'] = 9
        r['metadata']['labels'] = {'x': 'y'}
        s = self.sim.request('PUT', sp_path(name='web', sub='status'), r)
        self.assertStatus(s, 200)
        self.assertEqual(s.json['status']['observedGeneration'], 2)
        self.assertEqual(s.json['spec']['minCapacity'], 3)
        self.assertNotIn('labels', s.json['metadata'])
        self.assertEqual(s.json['metadata']['generation'], 2)
        g = self.sim.request('GET', sp_path(name='web', sub='status')).json
        self.assertEqual(g['status']['conditions'][0]['reason'], 'Converged')
        # Status is validated against the schema too.
        bad = self.sim.request('PATCH', sp_path(name='web', sub='status'), {'status': {'observedGeneration': 'x'}},
                               content_type='application/merge-patch+json')
        self.assertStatus(bad, 422, 'Invalid')
        self.assertEqual(bad.json['details']['causes'][0]['field'], 'status.observedGeneration')


class TestPatches(SimTestCase):
    def setUp(self):
        super().setUp()
        self.sim.request('POST', sp_path(), sp('web', labels=None) if False else sp('web'))

    def patch(self, body, ctype, sub=None, query=''):
        return self.sim.request('PATCH', sp_path(name='web', sub=sub) + query, body, content_type=ctype)

    def test_merge_patch(self):
        r = self.patch({'spec': {'maxCapacity': 20, 'suspend': None}, 'metadata': {'labels': {'team': 'shop'}}},
                       'application/merge-patch+json')
        self.assertStatus(r, 200)
        self.assertEqual(r.json['spec']['maxCapacity'], 20)
        self.assertEqual(r.json['spec']['suspend'], False)  # removed, then defaulted again
        self.assertEqual(r.json['metadata']['labels'], {'team': 'shop'})

    def test_json_patch(self):
        r = self.patch([{'op': 'test', 'path': '/spec/minCapacity', 'value': 2},
                        {'op': 'replace', 'path': '/spec/minCapacity', 'value': 4},
                        {'op': 'add', 'path': '/metadata/finalizers', 'value': ['trimtab.dev/cleanup']},
                        {'op': 'add', 'path': '/metadata/finalizers/-', 'value': 'other/x'}],
                       'application/json-patch+json')
        self.assertStatus(r, 200)
        self.assertEqual(r.json['spec']['minCapacity'], 4)
        self.assertEqual(r.json['metadata']['finalizers'], ['trimtab.dev/cleanup', 'other/x'])
        r = self.patch([{'op': 'test', 'path': '/spec/minCapacity', 'value': 99}], 'application/json-patch+json')
        self.assertStatus(r, 422, 'Invalid')
        r = self.patch([{'op': 'remove', 'path': '/spec/nothing'}], 'application/json-patch+json')
        self.assertStatus(r, 422, 'Invalid')
        r = self.patch([{'op': 'remove', 'path': '/metadata/finalizers/0'}], 'application/json-patch+json')
        self.assertEqual(r.json['metadata']['finalizers'], ['other/x'])

    def test_strategic_merge_only_for_built_in_kinds(self):
        r = self.patch({'spec': {'minCapacity': 3}}, 'application/strategic-merge-patch+json')
        self.assertStatus(r, 415, 'UnsupportedMediaType')
        ns = self.sim.request('PATCH', '/api/v1/namespaces/shop',
                              {'metadata': {'labels': {'a': 'b'}, 'finalizers': ['x/y']}},
                              content_type='application/strategic-merge-patch+json')
        self.assertStatus(ns, 200)
        ns = self.sim.request('PATCH', '/api/v1/namespaces/shop', {'metadata': {'finalizers': ['x/z']}},
                              content_type='application/strategic-merge-patch+json')
        # metadata.finalizers merges (patchStrategy merge) instead of being replaced.
        self.assertEqual(ns.json['metadata']['finalizers'], ['x/y', 'x/z'])
        ns = self.sim.request('PATCH', '/api/v1/namespaces/shop',
                              {'metadata': {'$deleteFromPrimitiveList/finalizers': ['x/y', 'x/z']}},
                              content_type='application/strategic-merge-patch+json')
        self.assertEqual(ns.json['metadata'].get('finalizers', []), [])

    def test_server_side_apply(self):
        applied = {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
                   'metadata': {'name': 'web', 'namespace': 'shop'}, 'spec': {'maxCapacity': 30}}
        r = self.patch(applied, 'application/apply-patch+yaml')
        self.assertStatus(r, 400, 'BadRequest')  # fieldManager is required
        r = self.patch(applied, 'application/apply-patch+yaml', query='?fieldManager=tester&force=true')
        self.assertStatus(r, 200)
        self.assertEqual(r.json['spec']['maxCapacity'], 30)
        self.assertEqual(r.json['spec']['minCapacity'], 2)  # kept: apply is a merge here
        mf = {(e['manager'], e['operation']) for e in r.json['metadata']['managedFields']}
        self.assertIn(('tester', 'Apply'), mf)
        # Apply creates when the object is missing; YAML bodies are accepted.
        y = ('apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n  name: new\n  namespace: shop\n'
             'spec:\n  target:\n    ecs: {cluster: prod, service: new}\n  minCapacity: 1\n  maxCapacity: 2\n')
        r = self.sim.request('PATCH', sp_path(name='new') + '?fieldManager=tester', raw=y.encode(),
                             content_type='application/apply-patch+yaml')
        self.assertStatus(r, 201)
        self.assertEqual(r.json['metadata']['generation'], 1)

    def test_dry_run_changes_nothing(self):
        before = self.sim.request('GET', sp_path(name='web')).json
        r = self.patch({'spec': {'minCapacity': 5}}, 'application/merge-patch+json', query='?dryRun=All')
        self.assertStatus(r, 200)
        self.assertEqual(r.json['spec']['minCapacity'], 5)
        self.assertEqual(self.sim.request('GET', sp_path(name='web')).json, before)
        r = self.sim.request('POST', sp_path() + '?dryRun=All', sp('dry'))
        self.assertStatus(r, 201)
        self.assertStatus(self.sim.request('GET', sp_path(name='dry')), 404)


class TestValidation(SimTestCase):
    def test_schema_errors_are_422_with_causes(self):
        bad = sp('web', min_capacity=-1)
        bad['spec']['mode'] = 'Sometimes'
        bad['spec']['region'] = 'Mars'
        r = self.sim.request('POST', sp_path(), bad)
        self.assertStatus(r, 422, 'Invalid')
        causes = {c['field']: c for c in r.json['details']['causes']}
        self.assertEqual(causes['spec.mode']['reason'], 'FieldValueNotSupported')
        self.assertEqual(causes['spec.mode']['message'], 'Unsupported value: "Sometimes": supported values: "Manage", "Observe"')
        self.assertEqual(causes['spec.region']['reason'], 'FieldValueInvalid')
        self.assertIn("spec.region in body should match", causes['spec.region']['message'])
        self.assertEqual(causes['spec.minCapacity']['message'],
                         'Invalid value: -1: spec.minCapacity in body should be greater than or equal to 0')
        self.assertTrue(r.json['message'].startswith('ScalingPolicy.trimtab.dev "web" is invalid: ['))
        self.assertEqual(r.json['details']['kind'], 'ScalingPolicy')
        self.assertEqual(r.json['details']['group'], 'trimtab.dev')

    def test_required_and_type(self):
        bad = sp('web')
        del bad['spec']['target']
        bad['spec']['maxCapacity'] = 'ten'
        r = self.sim.request('POST', sp_path(), bad)
        self.assertStatus(r, 422, 'Invalid')
        causes = {c['field']: c for c in r.json['details']['causes']}
        self.assertEqual(causes['spec.target']['reason'], 'FieldValueRequired')
        self.assertEqual(causes['spec.target']['message'], 'Required value')
        self.assertEqual(causes['spec.maxCapacity']['reason'], 'FieldValueTypeInvalid')
        self.assertEqual(causes['spec.maxCapacity']['message'],
                         'Invalid value: "ten": spec.maxCapacity in body must be of type integer: "string"')

    def test_cel_rules(self):
        r = self.sim.request('POST', sp_path(), sp('web', min_capacity=5, max_capacity=2))
        self.assertStatus(r, 422, 'Invalid')
        msgs = [c['message'] for c in r.json['details']['causes']]
        self.assertIn('Invalid value: "object": minCapacity must not exceed maxCapacity', msgs)
        self.assertEqual(r.json['details']['causes'][0]['field'], 'spec')
        # A rule on a nested object: exactly one of predefinedMetric and customMetric.
        tt = sp('web', targetTracking=[{'name': 'cpu', 'targetValue': 50}])
        r = self.sim.request('POST', sp_path(), tt)
        self.assertStatus(r, 422, 'Invalid')
        self.assertIn('set exactly one of predefinedMetric and customMetric', r.json['message'])
        self.assertEqual(r.json['details']['causes'][0]['field'], 'spec.targetTracking[0]')
        tt['spec']['targetTracking'][0]['predefinedMetric'] = 'ECSServiceAverageCPUUtilization'
        self.assertStatus(self.sim.request('POST', sp_path(), tt), 201)

    def test_unknown_fields_strict_warn_ignore(self):
        o = sp('web')
        o['spec']['bogus'] = 1
        o['metadata']['labels'] = {'a': 'b'}
        o['metadata']['colour'] = 'red'
        r = self.sim.request('POST', sp_path() + '?fieldValidation=Strict', o)  # what kubectl asks
        self.assertStatus(r, 400, 'BadRequest')
        self.assertEqual(r.json['message'], 'strict decoding error: unknown field "metadata.colour", '
                                            'unknown field "spec.bogus"')
        r = self.sim.request('POST', sp_path(), o)  # no parameter: Warn
        self.assertStatus(r, 201)
        self.assertIn('unknown field \\"spec.bogus\\"', r.headers.get('Warning', ''))
        self.assertNotIn('bogus', r.json['spec'])  # pruned
        self.assertNotIn('colour', r.json['metadata'])
        self.assertEqual(r.json['metadata']['labels'], {'a': 'b'})
        o['metadata']['name'] = 'web2'
        r = self.sim.request('POST', sp_path() + '?fieldValidation=Ignore', o)
        self.assertStatus(r, 201)
        self.assertNotIn('bogus', r.json['spec'])

    def test_names_and_examples(self):
        r = self.sim.request('POST', sp_path(), sp('Web_1'))
        self.assertStatus(r, 422, 'Invalid')
        self.assertEqual(r.json['details']['causes'][0]['field'], 'metadata.name')
        # Every trimtab example in the repository is accepted.
        import yaml
        n = 0
        for d in ('alarms', 'budgets', 'cloudfront', 'ecs', 'elasticache', 'lambda', 'rds', 'secrets'):
            for fn in sorted(os.listdir(os.path.join(CRDS, '..', 'examples', d))):
                with open(os.path.join(CRDS, '..', 'examples', d, fn)) as f:
                    for doc in yaml.safe_load_all(f):
                        if not doc or doc.get('apiVersion') != 'trimtab.dev/v1alpha1':
                            continue
                        plural = {'ScalingPolicy': 'scalingpolicies', 'Alarm': 'alarms', 'Budget': 'budgets',
                                  'SecretRotation': 'secretrotations'}[doc['kind']]
                        ns = doc['metadata'].get('namespace', 'default')
                        r = self.sim.request('POST', '%s/namespaces/%s/%s' % (GV, ns, plural), doc)
                        self.assertStatus(r, 201)
                        n += 1
        self.assertGreaterEqual(n, 15)


class TestFinalizers(SimTestCase):
    def test_delete_waits_for_finalizers(self):
        o = sp('web')
        o['metadata']['finalizers'] = ['trimtab.dev/cleanup']
        created = self.sim.request('POST', sp_path(), o).json
        d = self.sim.request('DELETE', sp_path(name='web'))
        self.assertStatus(d, 200)
        self.assertTrue(d.json['metadata']['deletionTimestamp'])
        self.assertEqual(d.json['metadata']['generation'], 2)
        g = self.sim.request('GET', sp_path(name='web')).json
        self.assertEqual(g['metadata']['finalizers'], ['trimtab.dev/cleanup'])
        # No new finalizer once deletion started.
        r = self.sim.request('PATCH', sp_path(name='web'), {'metadata': {'finalizers': ['trimtab.dev/cleanup', 'b/c']}},
                             content_type='application/merge-patch+json')
        self.assertStatus(r, 422, 'Invalid')
        # Status can still be written while deleting.
        self.assertStatus(self.sim.request('PATCH', sp_path(name='web', sub='status'), {'status': {'observedGeneration': 2}},
                                           content_type='application/merge-patch+json'), 200)
        r = self.sim.request('PATCH', sp_path(name='web'), {'metadata': {'finalizers': None}},
                             content_type='application/merge-patch+json')
        self.assertStatus(r, 200)
        self.assertStatus(self.sim.request('GET', sp_path(name='web')), 404)
        # Preconditions on delete.
        self.sim.request('POST', sp_path(), sp('x'))
        r = self.sim.request('DELETE', sp_path(name='x'), {'preconditions': {'uid': created['metadata']['uid']}})
        self.assertStatus(r, 409, 'Conflict')

    def test_namespace_termination(self):
        o = sp('web', ns='data')
        o['metadata']['finalizers'] = ['trimtab.dev/cleanup']
        self.sim.request('POST', sp_path(ns='data'), o)
        self.sim.request('POST', sp_path(ns='data'), sp('plain', ns='data'))
        d = self.sim.request('DELETE', '/api/v1/namespaces/data')
        self.assertStatus(d, 202)
        self.assertEqual(d.json['status']['phase'], 'Terminating')
        self.assertStatus(self.sim.request('GET', sp_path(ns='data', name='plain')), 404)
        self.assertTrue(self.sim.request('GET', sp_path(ns='data', name='web')).json['metadata']['deletionTimestamp'])
        r = self.sim.request('POST', sp_path(ns='data'), sp('late', ns='data'))
        self.assertStatus(r, 403, 'Forbidden')
        self.sim.request('PATCH', sp_path(ns='data', name='web'), [{'op': 'remove', 'path': '/metadata/finalizers'}],
                         content_type='application/json-patch+json')
        self.assertStatus(self.sim.request('GET', '/api/v1/namespaces/data'), 404)


class TestSelectorsAndPaging(SimTestCase):
    def test_label_and_field_selectors(self):
        for name, team in (('a', 'x'), ('b', 'y'), ('c', 'x')):
            o = sp(name)
            o['metadata']['labels'] = {'team': team}
            self.sim.request('POST', sp_path(), o)
        self.sim.request('POST', sp_path(ns='data'), sp('a', ns='data'))

        def names(q, path=None):
            r = self.sim.request('GET', (path or sp_path()) + q)
            self.assertStatus(r, 200)
            return [i['metadata']['name'] for i in r.json['items']]
        self.assertEqual(names('?labelSelector=team%3Dx'), ['a', 'c'])
        self.assertEqual(names('?labelSelector=team!%3Dx'), ['b'])
        self.assertEqual(names('?labelSelector=team+in+(y,z)'), ['b'])
        self.assertEqual(names('?labelSelector=!team', GV + '/scalingpolicies'), ['a'])
        self.assertEqual(names('?fieldSelector=metadata.name%3Db'), ['b'])
        self.assertEqual(names('?fieldSelector=metadata.namespace%3Ddata', GV + '/scalingpolicies'), ['a'])
        r = self.sim.request('GET', sp_path() + '?fieldSelector=spec.minCapacity%3D2')
        self.assertStatus(r, 400, 'BadRequest')
        self.assertEqual(r.json['message'], 'field label not supported: spec.minCapacity')

    def test_limit_and_continue(self):
        for i in range(5):
            self.sim.request('POST', sp_path(), sp('p%d' % i))
        r = self.sim.request('GET', sp_path() + '?limit=2').json
        self.assertEqual(len(r['items']), 2)
        self.assertEqual(r['metadata']['remainingItemCount'], 3)
        seen = [i['metadata']['name'] for i in r['items']]
        while r['metadata'].get('continue'):
            r = self.sim.request('GET', sp_path() + '?limit=2&continue=' + r['metadata']['continue']).json
            seen += [i['metadata']['name'] for i in r['items']]
        self.assertEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4'])
        first = self.sim.request('GET', sp_path() + '?limit=2').json['metadata']['continue']
        self.sim.compact()
        r = self.sim.request('GET', sp_path() + '?limit=2&continue=' + first)
        self.assertStatus(r, 410, 'Expired')


class TestWatch(SimTestCase):
    def test_watch_from_list_resource_version(self):
        self.sim.request('POST', sp_path(), sp('a'))
        lst = self.sim.request('GET', sp_path())
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv_of(lst))
        try:
            self.assertEqual(w.status, 200)
            self.assertEqual(w.headers.get('Transfer-Encoding'), 'chunked')
            self.assertEqual(w.headers.get('Content-Type'), 'application/json')
            created = self.sim.request('POST', sp_path(), sp('b')).json
            self.sim.request('PATCH', sp_path(name='b'), {'spec': {'minCapacity': 3}},
                             content_type='application/merge-patch+json')
            self.sim.request('DELETE', sp_path(name='b'))
            evs = w.collect(3)
            self.assertEqual([e['type'] for e in evs], ['ADDED', 'MODIFIED', 'DELETED'])
            self.assertEqual(evs[0]['object']['metadata']['uid'], created['metadata']['uid'])
            self.assertEqual(evs[0]['object']['kind'], 'ScalingPolicy')
            rvs = [int(e['object']['metadata']['resourceVersion']) for e in evs]
            self.assertEqual(rvs, sorted(rvs))
            self.assertEqual(len(set(rvs)), 3)
        finally:
            w.close()

    def test_watch_without_version_sends_current_state_and_selectors(self):
        self.sim.request('POST', sp_path(), sp('a'))
        self.sim.request('POST', sp_path(ns='data'), sp('z', ns='data'))
        w = self.sim.watch(GV + '/scalingpolicies?watch=1&fieldSelector=metadata.name%3Da')
        try:
            ev = w.collect(1)
            self.assertEqual([(e['type'], e['object']['metadata']['name']) for e in ev], [('ADDED', 'a')])
        finally:
            w.close()
        # A label selector: objects moving in and out of it come as ADDED and DELETED.
        w = self.sim.watch(sp_path() + '?watch=1&labelSelector=on%3Dyes&resourceVersion='
                           + str(rv_of(self.sim.request('GET', sp_path()))))
        try:
            lab = 'application/merge-patch+json'
            self.sim.request('PATCH', sp_path(name='a'), {'metadata': {'labels': {'on': 'yes'}}}, content_type=lab)
            self.sim.request('PATCH', sp_path(name='a'), {'spec': {'minCapacity': 1}}, content_type=lab)
            self.sim.request('PATCH', sp_path(name='a'), {'metadata': {'labels': {'on': 'no'}}}, content_type=lab)
            self.assertEqual([e['type'] for e in w.collect(3)], ['ADDED', 'MODIFIED', 'DELETED'])
        finally:
            w.close()

    def test_bookmarks(self):
        rv = rv_of(self.sim.request('GET', sp_path()))
        w = self.sim.watch(sp_path() + '?watch=1&allowWatchBookmarks=true&resourceVersion=%d' % rv)
        try:
            evs = w.collect(1, timeout=3, skip_bookmarks=False)
            self.assertEqual(evs[0]['type'], 'BOOKMARK')
            self.assertEqual(evs[0]['object']['kind'], 'ScalingPolicy')
            self.assertEqual(evs[0]['object']['apiVersion'], 'trimtab.dev/v1alpha1')
            self.assertGreaterEqual(int(evs[0]['object']['metadata']['resourceVersion']), rv)
        finally:
            w.close()
        # Without allowWatchBookmarks, none.
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv)
        try:
            self.assertEqual(w.collect(1, timeout=1, skip_bookmarks=False), [])
        finally:
            w.close()

    def test_send_initial_events(self):
        self.sim.request('POST', sp_path(), sp('a'))
        w = self.sim.watch(sp_path() + '?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan'
                           '&allowWatchBookmarks=true')
        try:
            evs = w.collect(2, skip_bookmarks=False)
            self.assertEqual(evs[0]['type'], 'ADDED')
            self.assertEqual(evs[1]['type'], 'BOOKMARK')
            self.assertEqual(evs[1]['object']['metadata']['annotations'], {'k8s.io/initial-events-end': 'true'})
        finally:
            w.close()

    def test_410_after_compaction(self):
        old = rv_of(self.sim.request('POST', sp_path(), sp('a')))
        self.sim.request('POST', sp_path(), sp('b'))
        self.sim.compact()
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % old)
        try:
            self.assertEqual(w.status, 200)
            ev = w.next()
            self.assertEqual(ev['type'], 'ERROR')
            self.assertEqual(ev['object']['code'], 410)
            self.assertEqual(ev['object']['reason'], 'Expired')
            self.assertTrue(ev['object']['message'].startswith('too old resource version: %d' % old))
            self.assertIsNone(w.next())
        finally:
            w.close()
        # A relist gives a version to watch from again.
        rv = rv_of(self.sim.request('GET', sp_path()))
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv)
        try:
            self.sim.request('POST', sp_path(), sp('c'))
            self.assertEqual([e['type'] for e in w.collect(1)], ['ADDED'])
        finally:
            w.close()
        r = self.sim.request('GET', sp_path() + '?resourceVersion=%d&resourceVersionMatch=Exact' % old)
        self.assertStatus(r, 410, 'Expired')

    def test_timeout_seconds_ends_the_stream(self):
        t0 = time.time()
        w = self.sim.watch(sp_path() + '?watch=1&timeoutSeconds=1&resourceVersion=%d'
                           % rv_of(self.sim.request('GET', sp_path())))
        try:
            self.assertIsNone(w.next(timeout=5))
            self.assertLess(time.time() - t0, 4)
        finally:
            w.close()

    def test_events_and_leases(self):
        ev = {'apiVersion': 'events.k8s.io/v1', 'kind': 'Event', 'metadata': {'name': 'web.1', 'namespace': 'shop'},
              'eventTime': '2026-01-01T00:00:00.000000Z', 'reportingController': 'trimtab.dev/controller',
              'reportingInstance': 'trimtab-0', 'action': 'Reconcile', 'reason': 'Created', 'type': 'Normal',
              'note': 'created the scalable target',
              'regarding': {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy', 'name': 'web',
                            'namespace': 'shop'}}
        r = self.sim.request('POST', '/apis/events.k8s.io/v1/namespaces/shop/events', ev)
        self.assertStatus(r, 201)
        core = self.sim.request('GET', '/api/v1/namespaces/shop/events/web.1').json
        self.assertEqual(core['message'], 'created the scalable target')
        self.assertEqual(core['involvedObject']['name'], 'web')
        self.assertEqual(core['apiVersion'], 'v1')
        lst = self.sim.request('GET', '/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Dweb').json
        self.assertEqual(len(lst['items']), 1)
        bad = dict(ev, metadata={'name': 'web.2', 'namespace': 'shop'})
        del bad['reportingController']
        r = self.sim.request('POST', '/apis/events.k8s.io/v1/namespaces/shop/events', bad)
        self.assertStatus(r, 422, 'Invalid')
        self.assertEqual(r.json['details']['causes'][0]['field'], 'reportingController')
        series = self.sim.request('PATCH', '/apis/events.k8s.io/v1/namespaces/shop/events/web.1',
                                  {'series': {'count': 2, 'lastObservedTime': '2026-01-01T00:01:00.000000Z'}},
                                  content_type='application/merge-patch+json')
        self.assertStatus(series, 200)
        lease = {'metadata': {'name': 'trimtab-leader', 'namespace': 'shop'},
                 'spec': {'holderIdentity': 'a', 'leaseDurationSeconds': 15,
                          'renewTime': '2026-01-01T00:00:00.000000Z', 'leaseTransitions': 0}}
        l1 = self.sim.request('POST', '/apis/coordination.k8s.io/v1/namespaces/shop/leases', lease).json
        l1['spec']['holderIdentity'] = 'b'
        self.assertStatus(self.sim.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/shop/leases/trimtab-leader', l1), 200)
        # The loser of a takeover race gets a conflict, as leader election relies on.
        l1['spec']['holderIdentity'] = 'c'
        self.assertStatus(self.sim.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/shop/leases/trimtab-leader', l1), 409, 'Conflict')


class TestFaultsAndCallLog(SimTestCase):
    def test_error_fault_count_and_path(self):
        f = self.sim.fault(kind='error', status=503, path=GV, count=2)
        self.assertStatus(self.sim.request('GET', sp_path()), 503, 'ServiceUnavailable')
        self.assertStatus(self.sim.request('GET', '/api/v1/namespaces'), 200)  # other path untouched
        self.assertStatus(self.sim.request('GET', sp_path()), 503)
        self.assertStatus(self.sim.request('GET', sp_path()), 200)
        fs = self.sim.control('GET', 'faults')['faults']
        self.assertEqual([(x['id'], x['fired']) for x in fs], [(f['id'], 2)])
        self.sim.fault(kind='error', status=429, method='PUT', retryAfter=1)
        o = self.sim.request('POST', sp_path(), sp('w')).json
        r = self.sim.request('PUT', sp_path(name='w'), o)
        self.assertStatus(r, 429, 'TooManyRequests')
        self.assertEqual(r.headers.get('Retry-After'), '1')

    def test_latency_and_reset(self):
        self.sim.fault(kind='latency', latencyMs=400, count=1)
        t0 = time.time()
        self.assertStatus(self.sim.request('GET', sp_path()), 200)
        self.assertGreaterEqual(time.time() - t0, 0.4)
        self.sim.fault(kind='reset', count=1)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.sim.request('GET', sp_path())
        self.assertStatus(self.sim.request('GET', sp_path()), 200)

    def test_drop_watches_and_restart(self):
        rv = rv_of(self.sim.request('GET', sp_path()))
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv)
        try:
            self.assertTrue(self.wait_for(lambda: self.sim.control('GET', 'watches')['watches']))
            self.assertEqual(self.sim.drop_watches(), 1)
            self.assertIsNone(w.next(timeout=5))
        finally:
            w.close()
        self.sim.request('POST', sp_path(), sp('a'))
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv)
        try:
            self.assertTrue(self.wait_for(lambda: self.sim.control('GET', 'watches')['watches']))
            self.assertEqual(w.next()['type'], 'ADDED')
            r = self.sim.restart(down_seconds=0.5)
            self.assertEqual(r['dropped'], 1)
            self.assertIsNone(w.next(timeout=5))
        finally:
            w.close()
        # While "down", connections are cut; afterwards the old version is too old.
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.sim.request('GET', sp_path())
        time.sleep(0.6)
        w = self.sim.watch(sp_path() + '?watch=1&resourceVersion=%d' % rv)
        try:
            self.assertEqual(w.next()['object']['code'], 410)
        finally:
            w.close()
        self.assertEqual([i['metadata']['name'] for i in self.sim.request('GET', sp_path()).json['items']], ['a'])

    def test_call_log(self):
        self.sim.reset_calls()
        self.sim.request('POST', sp_path(), sp('a'))
        self.sim.request('GET', sp_path(name='nope'))
        calls = self.sim.calls()
        self.assertEqual([(c['method'], c['path'], c['status']) for c in calls],
                         [('POST', sp_path(), 201), ('GET', sp_path(name='nope'), 404)])
        self.assertEqual(len(self.sim.calls(method='GET')), 1)
        self.assertEqual(len(self.sim.calls(status=404)), 1)


class TestProcess(unittest.TestCase):
    def test_start_options_and_sigterm(self):
        with KubeSim(crds=[CRDS], tokens=['t1', 't2'], namespaces=['x']) as sim:
            self.assertLess(sim.startup_seconds, 30)
            self.assertEqual(sim.token, 't1')
            self.assertEqual(sim.request('GET', '/api/v1/namespaces/x', token='t2').status, 200)
            crds = sim.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions').json['items']
            self.assertEqual(len(crds), 4)
            est = [c for c in crds[0]['status']['conditions'] if c['type'] == 'Established']
            self.assertEqual(est[0]['status'], 'True')
            self.assertEqual(sim.stop(), 0)
        # A CRD file that is not valid stops the start with a message.
        import tempfile
        with tempfile.NamedTemporaryFile('w', suffix='.yaml') as f:
            f.write('apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n'
                    'metadata: {name: things.example.com}\nspec: {names: {plural: things, kind: Thing}}\n')
            f.flush()
            p = subprocess.run([sys.executable, os.path.join(KUBESIM, 'server.py'), '--crds', f.name],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn('spec.group: Required value', p.stderr)

    def test_exits_with_its_parent(self):
        code = ('import subprocess, sys, time; p = subprocess.Popen([sys.executable, %r]); print(p.pid, flush=True); '
                'time.sleep(60)' % os.path.join(KUBESIM, 'server.py'))
        parent = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
        pid = int(parent.stdout.readline())
        time.sleep(1.5)
        parent.kill()
        parent.wait()
        parent.stdout.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, 9)
        self.fail('kubesim outlived its parent')


if __name__ == '__main__':
    socket.setdefaulttimeout(30)
    main()
