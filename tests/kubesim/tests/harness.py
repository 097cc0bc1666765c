"""Shared pieces of the kubesim suites: one simulator per suite, helpers for the trimtab
resources, the real kubectl (installed by scripts/kubectl.sh), and the exit code ctest reads
as "skipped"."""

import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
KUBESIM = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(KUBESIM))
CRDS = os.path.join(ROOT, 'crds')
sys.path.insert(0, KUBESIM)

from kubesim import KubeSim, KubeSimError  # noqa: E402,F401

# ctest's SKIP_RETURN_CODE for these suites: a missing tool is reported as skipped, never passed.
SKIP = 77
GV = '/apis/trimtab.dev/v1alpha1'


def skip(reason):
    print('SKIPPED: %s' % reason, flush=True)
    sys.exit(SKIP)


def need_yaml():
    try:
        import yaml  # noqa: F401
    except ImportError:
        skip('PyYAML is not installed (apt-get install python3-yaml): kubesim reads crds/ with it')


def kubectl_path():
    """The real kubectl, installed on first use; skips the suite (77) when it cannot be had."""
    p = subprocess.run([os.path.join(ROOT, 'scripts', 'kubectl.sh')], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        skip('the real kubectl cannot be installed: %s' % p.stderr.strip())
    return p.stdout.strip()


def sp(name, ns='shop', min_capacity=2, max_capacity=10, **spec):
    """A valid ScalingPolicy for an ECS service."""
    s = {'target': {'ecs': {'cluster': 'prod', 'service': name}}, 'minCapacity': min_capacity,
         'maxCapacity': max_capacity}
    s.update(spec)
    return {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy',
            'metadata': {'name': name, 'namespace': ns}, 'spec': s}


def sp_path(ns='shop', name=None, sub=None):
    p = '%s/namespaces/%s/scalingpolicies' % (GV, ns)
    if name:
        p += '/' + name
    if sub:
        p += '/' + sub
    return p


class SimTestCase(unittest.TestCase):
    """One simulator for the whole suite (started lazily), its state reset before each test."""
    sim = None

    @classmethod
    def setUpClass(cls):
        need_yaml()
        if SimTestCase.sim is None:
            SimTestCase.sim = KubeSim(crds=[CRDS], namespaces=['shop', 'data'], bookmark_interval=0.3)

    def setUp(self):
        self.sim = SimTestCase.sim
        # Back to the start-up state: the CRDs of crds/ and the namespaces shop and data.
        self.sim.control('POST', 'reset')
        self.sim.control('POST', 'bookmarks', {'intervalSeconds': 0.3})

    def assertStatus(self, r, code, reason=None):
        self.assertEqual(r.status, code, r.raw[:600])
        if code >= 400:
            self.assertEqual(r.headers.get('Content-Type'), 'application/json')
            self.assertEqual(r.json['kind'], 'Status')
            self.assertEqual(r.json['apiVersion'], 'v1')
            self.assertEqual(r.json['status'], 'Failure')
            self.assertEqual(r.json['code'], code)
            if reason:
                self.assertEqual(r.json['reason'], reason, r.json)

    def wait_for(self, fn, timeout=5.0, interval=0.05):
        deadline = time.time() + timeout
        while True:
            v = fn()
            if v or time.time() > deadline:
                return v
            time.sleep(interval)


def stop_shared_sim():
    if SimTestCase.sim is not None:
        code = SimTestCase.sim.stop()
        SimTestCase.sim = None
        return code
    return 0


def main():
    """unittest.main that stops the shared simulator and checks it exited 0 on SIGTERM."""
    prog = unittest.main(exit=False, verbosity=2)
    code = stop_shared_sim()
    ok = prog.result.wasSuccessful()
    if code != 0:
        print('kubesim exited %s on SIGTERM' % code)
        ok = False
    sys.exit(0 if ok else 1)
