#!/usr/bin/env python3
"""End-to-end cases of `trimtab run --source kube`: the real binary, the local Kubernetes API
server (tests/kubesim), the local AWS (tests/awssim) and the real kubectl (scripts/kubectl.sh).

    test_kube.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

What trimtab did is read back from three independent places: kubesim (objects, status, events,
its call log), awssim (its call log) and AWS itself through boto3. Exit 77 (skip) when kubectl
cannot be installed or boto3 is missing; never a pass without running.
"""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'kubesim'))

import e2e  # noqa: E402
from e2e import (NS, Failure, check, expect_objects, log, ops, rid, scaling_policy,  # noqa: E402
                 tracking, wait_for, web, worker, writes)
from kubesim import KubeSim  # noqa: E402

API = '/apis/trimtab.dev/v1alpha1'
OTHER_NS = 'other'
KUBECTL = None


def sp_path(name, ns=NS, sub=''):
    return '%s/namespaces/%s/scalingpolicies/%s%s' % (API, ns, name, sub)


class KubeCase:
    """An e2e.Case (awssim, a temporary directory) plus a kubesim and trimtab against both."""

    def __init__(self, c):
        self.c = c
        self.k = KubeSim(crds=os.path.join(e2e.Config.source, 'crds'),
                         namespaces=[NS, OTHER_NS], stderr=subprocess.DEVNULL)
        c.procs_kube = self
        self.procs = c.procs

    def close(self):
        self.k.stop()

    # -- kubectl --
    def kubectl(self, *args, input=None, check_rc=True, timeout=60):
        p = self.k.kubectl(KUBECTL, *args, input=input, timeout=timeout * e2e.Config.scale())
        p.cmd = ['kubectl'] + [str(a) for a in args]
        p.seconds = 0
        self.c.last = p
        if check_rc:
            check(p.returncode == 0, 'kubectl %s failed' % ' '.join(map(str, args)),
                  e2e.describe(p))
        return p

    def apply(self, text, check_rc=True):
        return self.kubectl('apply', '-f', '-', input=text, check_rc=check_rc)

    # -- trimtab --
    def start(self, *extra, kubeconfig=None, env=None):
        cmd = [e2e.Config.binary, 'run', '--source', 'kube', '--kubeconfig',
               kubeconfig or self.k.kubeconfig, '--state-dir', self.c.state,
               '--log-level', 'debug'] + list(extra)
        log_path = os.path.join(self.c.tmp, 'run-%d.log' % len(self.procs))
        f = open(log_path, 'w')
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env or self.c.env())
        f.close()
        p.log_path = log_path
        self.procs.append(p)
        return p

    # -- reading back --
    def get(self, name, ns=NS):
        r = self.k.request('GET', sp_path(name, ns))
        return r.json if r.status == 200 else None

    def ready(self, name, ns=NS, generation=None):
        """The object when its Ready condition is True for its current generation."""
        o = self.get(name, ns)
        if o is None:
            return None
        gen = o['metadata'].get('generation')
        st = o.get('status') or {}
        if generation is not None and gen != generation:
            return None
        if st.get('observedGeneration') != gen:
            return None
        for cond in st.get('conditions', []):
            if cond['type'] == 'Ready' and cond['status'] == 'True' and \
                    cond.get('observedGeneration') == gen:
                return o
        return None

    def condition(self, name, ctype='Ready', ns=NS):
        o = self.get(name, ns) or {}
        for cond in (o.get('status') or {}).get('conditions', []):
            if cond['type'] == ctype:
                return cond
        return None

    def calls(self, method=None, path=None):
        filt = {}
        if method:
            filt['method'] = method
        if path:
            filt['path'] = path
        return self.k.calls(**filt)

    def status_writes(self):
        return [x for x in self.calls(method='PUT') if x['path'].endswith('/status')]

    def events(self, ns=NS):
        r = self.k.request('GET', '/apis/events.k8s.io/v1/namespaces/%s/events' % ns)
        return r.json.get('items', []) if r.status == 200 else []


def aws_writes(c):
    return ops(c.sim.calls(), 'write')


WEB_EXPECT = {'min': 2, 'max': 10, 'policies': ['trimtab-shop-web-cpu', 'trimtab-shop-web-memory'],
              'scheduled': ['trimtab-shop-web-business-hours', 'trimtab-shop-web-after-hours']}


def simple(name, ns=NS, **kw):
    args = dict(min_capacity=1, max_capacity=4, tracking_=[tracking('cpu', target=60)], ns=ns)
    args.update(kw)
    return scaling_policy(name, **args)


def converge_web(kc, proc=None):
    """kubectl apply web, trimtab converges it, kubectl wait sees Ready."""
    kc.apply(web())
    proc = proc or kc.start()
    kc.kubectl('wait', '--for=condition=Ready', '-n', NS, 'scalingpolicy/web', '--timeout=%ds'
               % int(30 * e2e.Config.scale()))
    expect_objects(kc.c.aws(), {'web': WEB_EXPECT})
    return proc


# ---- the cases -----------------------------------------------------------------------------

def case_apply_ready(c, kc):
    """apply → AWS converges → Ready through kubectl wait; get shows the printer columns; the
    finalizer is there; events went to events.k8s.io/v1; a no-op resync asks the API nothing."""
    kc.apply(web())
    kc.apply(worker())
    t0 = time.monotonic()
    proc = kc.start('--resync', '2s')
    kc.kubectl('wait', '--for=condition=Ready', '-n', NS, 'scalingpolicy/web',
               'scalingpolicy/worker', '--timeout=%ds' % int(30 * e2e.Config.scale()))
    log('  Ready for both after %.2fs' % (time.monotonic() - t0))
    o = kc.get('web')
    check('trimtab.dev/cleanup' in o['metadata'].get('finalizers', []), 'no finalizer', o)
    check(o['status']['observedGeneration'] == o['metadata']['generation'],
          'observedGeneration does not follow', o['status'])
    got = kc.kubectl('get', 'scalingpolicies', '-n', NS)
    check('web' in got.stdout and 'True' in got.stdout, 'kubectl get shows no Ready web',
          got.stdout)
    expect_objects(c.aws(), {'web': WEB_EXPECT, 'worker': {
        'min': 1, 'max': 12, 'policies': ['trimtab-shop-worker-cpu-high']}})
    evs = kc.events()
    reasons = sorted({e['reason'] for e in evs})
    check('Created' in reasons and 'Converged' in reasons, 'events missing', reasons)
    check(all(e['regarding']['kind'] == 'ScalingPolicy' and
              e['reportingController'] == 'trimtab.dev/trimtab' for e in evs),
          'events regard the wrong object', evs[:2])
    # In sync: resyncs read AWS, never the API server, and write no status.
    time.sleep(0.5)
    kc.k.reset_calls()
    c.sim.reset_calls()
    time.sleep(5 * e2e.Config.scale())
    api = [x for x in kc.calls() if not x.get('watch')]
    check(not api, 'a no-op resync made Kubernetes API requests', api[:5])
    check(not aws_writes(c), 'a no-op resync wrote to AWS', aws_writes(c))
    check(len(c.sim.calls()) > 0, 'no resync happened in 5 s with --resync 2s')
    log('  no-op resyncs: 0 API requests, %d AWS reads' % len(c.sim.calls()))
    rc, _ = e2e.stop(proc)
    check(rc == 0, 'trimtab exited %d on SIGTERM' % rc)


def case_edit(c, kc):
    """An edit reaches AWS; observedGeneration follows generation; latency is measured."""
    proc = converge_web(kc)
    c.sim.reset_calls()
    t0 = time.time()
    kc.apply(web(max_capacity=20))
    o = wait_for(lambda: kc.ready('web', generation=2), 30, 'web Ready at generation 2')
    first = [x for x in c.sim.calls() if x['kind'] == 'write']
    check(first, 'the edit made no AWS write')
    log('  edit → first AWS write %.1f ms (includes kubectl)' % ((first[0]['time'] - t0) * 1000))
    t = c.aws()['targets'][rid('web')]
    check(t['MaxCapacity'] == 20, 'max capacity not updated', t)
    check(o['status']['observedGeneration'] == 2, 'observedGeneration', o['status'])
    # A metadata-only change (a label) bumps no generation and causes no AWS write.
    c.sim.reset_calls()
    kc.kubectl('label', '-n', NS, 'scalingpolicy/web', 'team=shop')
    time.sleep(1)
    check(not aws_writes(c), 'a label change wrote to AWS', aws_writes(c))
    check(kc.get('web')['metadata']['generation'] == 2, 'a label bumped the generation')
    # reconcile-requested-at asks for a reconcile now: AWS is read again.
    c.sim.reset_calls()
    kc.kubectl('annotate', '-n', NS, 'scalingpolicy/web',
               'trimtab.dev/reconcile-requested-at=%d' % time.time(), '--overwrite')
    wait_for(lambda: any(x['operation'] == 'DescribeScalableTargets' for x in c.sim.calls()), 10,
             'a reconcile after reconcile-requested-at')
    e2e.stop(proc)


def case_invalid(c, kc):
    """The API server's schema rejects one spec; one that passes the schema but not trimtab's
    checks is reported in status as Ready=False, InvalidSpec, with the field path."""
    p = kc.apply(simple('bad', min_capacity=5, max_capacity=2), check_rc=False)
    check(p.returncode != 0, 'the API server accepted minCapacity > maxCapacity', e2e.describe(p))
    never = scaling_policy('never', service='web', min_capacity=2, max_capacity=10, sched=[
        {'name': 'never', 'schedule': 'cron(0 8 30 FEB ? *)', 'minCapacity': 4}])
    kc.apply(never)
    proc = kc.start()
    cond = wait_for(lambda: (kc.condition('never') or {}).get('reason') == 'InvalidSpec' and
                    kc.condition('never'), 20, 'InvalidSpec in status')
    check(cond['status'] == 'False' and 'spec.scheduled[0].schedule' in cond['message'],
          'the condition does not name the field', cond)
    check(not aws_writes(c), 'an invalid resource caused AWS writes', aws_writes(c))
    # Fixed: it converges.
    kc.apply(scaling_policy('never', service='web', min_capacity=2, max_capacity=10))
    wait_for(lambda: kc.ready('never'), 20, 'never Ready once fixed')
    e2e.stop(proc)


def case_delete(c, kc):
    """kubectl delete waits on the finalizer; trimtab removes the AWS objects, then the
    finalizer; the object is gone. Deleted while trimtab is down: done at the next start."""
    proc = converge_web(kc)
    kc.apply(simple('api'))
    wait_for(lambda: kc.ready('api'), 20, 'api Ready')
    kc.kubectl('delete', '-n', NS, 'scalingpolicy/web', '--timeout=%ds'
               % int(30 * e2e.Config.scale()))
    check(kc.get('web') is None, 'web still exists after kubectl delete returned')
    aws = c.aws()
    check(rid('web') not in aws['targets'], 'the scalable target of web is still there')
    check(not [k for k in aws['policies'] if k[0] == rid('web')], 'web policies left behind')
    check(not [k for k in aws['scheduled'] if k[0] == rid('web')], 'web actions left behind')
    e2e.stop(proc)
    kc.kubectl('delete', '-n', NS, 'scalingpolicy/api', '--wait=false')
    check(kc.get('api') is not None, 'the finalizer did not hold api while trimtab was down')
    proc = kc.start()
    wait_for(lambda: kc.get('api') is None, 20, 'api deleted after the restart')
    check(rid('api') not in c.aws()['targets'], 'api left in AWS')
    e2e.stop(proc)


def case_retain(c, kc):
    """deletionPolicy: Retain: the object goes at once, AWS keeps everything."""
    kc.apply(web(deletionPolicy='Retain'))
    proc = kc.start()
    wait_for(lambda: kc.ready('web'), 20, 'web Ready')
    c.sim.reset_calls()
    kc.kubectl('delete', '-n', NS, 'scalingpolicy/web', '--timeout=%ds'
               % int(20 * e2e.Config.scale()))
    check(not aws_writes(c), 'Retain deleted in AWS', aws_writes(c))
    expect_objects(c.aws(), {'web': WEB_EXPECT})
    e2e.stop(proc)


def case_restart(c, kc):
    """kubesim restarts mid-watch (compacting its history): trimtab reconnects and does no
    duplicate work. Then changes land while trimtab's watches fail and the history is
    compacted past them: the watch answers 410 Gone, trimtab lists again and delivers only
    the difference (the changed object is reconciled, the unchanged one is not)."""
    proc = converge_web(kc)
    kc.apply(simple('api'))
    wait_for(lambda: kc.ready('api'), 20, 'api Ready')
    time.sleep(0.5)
    c.sim.reset_calls()
    kc.k.reset_calls()
    kc.k.restart(down_seconds=1.0, compact=True)
    # Nothing to see yet (kubesim logs a watch when it ends): touch another object and wait
    # for trimtab to reconcile it, which proves its watch is back.
    kc.apply(simple('batch'))
    wait_for(lambda: kc.ready('batch'), 30, 'batch Ready after the restart')
    c.sim.reset_calls()
    kc.k.reset_calls()
    time.sleep(1)
    check(not aws_writes(c), 'the restart caused AWS writes', aws_writes(c))
    check(not kc.status_writes(), 'the restart rewrote status', kc.status_writes())

    # 410: watches fail while api changes, and the history is compacted past trimtab's view.
    c.sim.reset_calls()
    kc.k.fault(kind='error', status=503, watch=True)
    kc.k.drop_watches()
    kc.apply(simple('api', max_capacity=7))
    kc.k.compact()
    kc.k.reset_calls()
    kc.k.clear_faults()
    wait_for(lambda: kc.ready('api', generation=2), 30, 'api Ready at generation 2')
    check(c.aws()['targets'][rid('api')]['MaxCapacity'] == 7, 'api max not updated')
    with open(proc.log_path) as f:
        text = f.read()
    check('is gone; listing again' in text, 'no relist after 410 in the log')
    lists = [x for x in trimtab_calls(kc) if not x['watch'] and
             x['path'].endswith('/scalingpolicies') and x['status'] == 200]
    check(lists, 'no relist request')
    web_status = [x for x in kc.status_writes() if x['path'] == sp_path('web', sub='/status')]
    check(not web_status, 'the relist rewrote the status of an unchanged object', web_status)
    check(aws_writes(c) == ['RegisterScalableTarget'], 'AWS writes beyond api\'s new maximum',
          aws_writes(c))
    after = text[text.index('is gone; listing again'):]
    check('ScalingPolicy/shop/api: kubernetes: delivered' in after and
          'ScalingPolicy/shop/web: kubernetes: delivered' not in after,
          'the relist did not deliver exactly the difference', after[:3000])
    e2e.stop(proc)


def trimtab_calls(kc, **filt):
    return [x for x in kc.calls(**filt) if x.get('userAgent', '').startswith('trimtab')]


def case_watch_drop(c, kc):
    """Watches cut mid-stream are resumed from the last resourceVersion (no relist), and an
    edit made right after still arrives."""
    proc = converge_web(kc)
    kc.k.reset_calls()
    check(kc.k.drop_watches() >= 1, 'no watch was open')
    time.sleep(0.3)
    kc.apply(web(max_capacity=15))
    wait_for(lambda: kc.ready('web', generation=2), 20, 'web Ready at generation 2')
    lists = [x for x in kc.calls(method='GET') if not x['watch'] and
             x['path'].endswith('/scalingpolicies')]
    check(not lists, 'a dropped watch made trimtab list again', lists)
    check(c.aws()['targets'][rid('web')]['MaxCapacity'] == 15, 'max not updated')
    e2e.stop(proc)


def case_conflict(c, kc):
    """A status write answered 409 Conflict: re-read, write again; the status arrives."""
    kc.apply(web())
    kc.k.fault(kind='error', status=409, method='PUT', path=sp_path('web', sub='/status'),
               count=2)
    proc = kc.start()
    wait_for(lambda: kc.ready('web'), 30, 'web Ready despite two conflicts')
    puts = kc.status_writes()
    check(sum(1 for x in puts if x['status'] == 409) == 2, 'the conflicts did not happen', puts)
    gets = [x for x in kc.calls(method='GET') if x['path'] == sp_path('web')]
    check(gets, 'no re-read after the conflict')
    e2e.stop(proc)


def case_kill9(c, kc):
    """kill -9 in the middle of applying, then a restart: no duplicate AWS object, Ready."""
    kc.apply(web())
    kc.apply(worker())
    c.sim.fault(kind='latency', latencyMs=300, service='application-autoscaling',
                operation='PutScalingPolicy')
    proc = kc.start('--concurrency', '1')
    wait_for(lambda: len(aws_writes(c)) >= 2 or proc.poll() is not None, 30, 'writes started')
    proc.kill()
    proc.wait()
    time.sleep(0.7)
    c.sim.clear_faults()
    proc = kc.start()
    wait_for(lambda: kc.ready('web') and kc.ready('worker'), 30, 'both Ready after the restart')
    expect_objects(c.aws(), {'web': WEB_EXPECT, 'worker': {
        'min': 1, 'max': 12, 'policies': ['trimtab-shop-worker-cpu-high']}})
    e2e.stop(proc)


def case_namespace(c, kc):
    """--namespace shop: an object in another namespace gets no finalizer, no status, no AWS."""
    kc.apply(simple('api'))
    kc.apply(simple('batch', ns=OTHER_NS))
    proc = kc.start('--namespace', NS)
    wait_for(lambda: kc.ready('api'), 20, 'api Ready')
    time.sleep(1)
    o = kc.get('batch', OTHER_NS)
    check(not o['metadata'].get('finalizers') and not o.get('status'),
          'an object outside --namespace was touched', o)
    check(rid('batch') not in c.aws()['targets'], 'batch reached AWS')
    lists = {x['path'] for x in trimtab_calls(kc, method='GET')}
    check(all('/namespaces/%s/' % NS in p for p in lists if p.startswith(API)),
          'trimtab listed outside its namespace', sorted(lists))
    e2e.stop(proc)


def case_auth(c, kc):
    """A token file rotated on disk is read again; an exec plugin's credential is cached until
    its expiry and the plugin run again after it."""
    tokfile = os.path.join(c.tmp, 'token')
    with open(tokfile, 'w') as f:
        f.write(kc.k.token + '\n')
    plugin = os.path.join(c.tmp, 'plugin.sh')
    runs = os.path.join(c.tmp, 'runs')
    with open(plugin, 'w') as f:
        f.write('#!/bin/sh\necho run >> %s\nexp=$(date -u -d "+%d seconds" '
                '+%%Y-%%m-%%dT%%H:%%M:%%SZ)\nprintf \'{"apiVersion":"client.authentication.k8s.io'
                '/v1","kind":"ExecCredential","status":{"token":"%%s","expirationTimestamp":'
                '"%%s"}}\' "$(cat %s)" "$exp"\n' % (runs, 16, tokfile))
    os.chmod(plugin, 0o755)
    with open(kc.k.kubeconfig) as f:
        base = f.read()
    import yaml
    doc = yaml.safe_load(base)
    user = doc['users'][0]['user']
    user.pop('token', None)
    doc_file = json.loads(json.dumps(doc))
    doc_file['users'][0]['user']['tokenFile'] = tokfile
    doc_exec = json.loads(json.dumps(doc))
    doc_exec['users'][0]['user']['exec'] = {
        'apiVersion': 'client.authentication.k8s.io/v1', 'command': plugin,
        'interactiveMode': 'Never'}
    kc_file = os.path.join(c.tmp, 'kubeconfig-file')
    kc_exec = os.path.join(c.tmp, 'kubeconfig-exec')
    for path, d in ((kc_file, doc_file), (kc_exec, doc_exec)):
        with open(path, 'w') as f:
            json.dump(d, f)

    def edit(max_capacity, generation, what):
        """A fresh call log, watches cut (they reconnect with the token of the moment), and an
        edit trimtab must converge."""
        kc.k.reset_calls()
        kc.k.drop_watches()
        r = kc.k.request('PATCH', sp_path('api'), {'spec': {'maxCapacity': max_capacity}},
                         content_type='application/merge-patch+json')
        check(r.status == 200, 'patch failed', r)
        wait_for(lambda: kc.ready('api', generation=generation), 20, 'api Ready ' + what)

    kc.apply(simple('api'))
    proc = kc.start(kubeconfig=kc_file)
    wait_for(lambda: kc.ready('api'), 20, 'api Ready with a token file')
    # Rotate as the kubelet does: the file gets a new token while the old one stays valid for a
    # while. trimtab must notice the new file by itself (no 401 needed to make it look).
    old_tok = kc.k.token
    kc.k.set_tokens({old_tok: 'admin', 'rotated-token-1': 'rotated'})
    with open(tokfile + '.new', 'w') as f:
        f.write('rotated-token-1\n')
    os.rename(tokfile + '.new', tokfile)
    edit(6, 2, 'after the rotation')
    check(any(x.get('user') == 'rotated' for x in kc.calls()),
          'the rotated token file was not read again', kc.calls())
    # The old token expires: from now on every request must carry the new one. (Requests sent
    # before the rename were answered during the whole reconcile above.)
    kc.k.set_tokens({'rotated-token-1': 'rotated'})
    kc.k.token = 'rotated-token-1'  # the test's own requests
    edit(7, 3, 'with only the new token')
    denied = [x for x in kc.calls() if x.get('status') == 401]
    check(not denied, 'a request carried the expired token', denied)
    e2e.stop(proc)
    # The exec plugin: its token is valid 16 s and used until 10 s before that.
    proc = kc.start(kubeconfig=kc_exec)
    r = kc.k.request('PATCH', sp_path('api'), {'spec': {'maxCapacity': 5}},
                     content_type='application/merge-patch+json')
    wait_for(lambda: kc.ready('api', generation=4), 20, 'api Ready with the exec plugin')
    with open(runs) as f:
        n1 = len(f.read().split())
    check(n1 == 1, 'the plugin ran %d times for one credential' % n1)

    def rerun():
        kc.k.drop_watches()
        with open(runs) as f:
            return len(f.read().split()) >= 2
    wait_for(rerun, 20, 'the plugin run again once its credential expired', interval=0.5)
    e2e.stop(proc)


def case_predictive(c, kc):
    """A predictive policy through the API server: the CRD takes spec.predictive (defaults
    written by the server) and status.forecastPeak; its CEL rule refuses predictive scaling on
    a target that is not ECS."""
    kc.apply(simple('api', predictive=[{'name': 'daily', 'metricPair': 'ECSServiceCPUUtilization',
                                        'targetValue': 60}]))
    o = kc.get('api')
    check(o['spec']['predictive'][0].get('mode') == 'ForecastOnly',
          'the CRD did not default the predictive mode', o['spec'])
    kc.start()
    kc.kubectl('wait', '--for=condition=Ready', '-n', NS, 'scalingpolicy/api', '--timeout=%ds'
               % int(30 * e2e.Config.scale()))
    o = wait_for(lambda: (kc.get('api').get('status') or {}).get('forecastPeak') and kc.get('api'),
                 10, 'status.forecastPeak through the status subresource')
    fp = o['status']['forecastPeak']
    check(fp['policy'] == 'daily' and fp['capacity'] == 4 and fp['time'].endswith('Z'),
          'status.forecastPeak wrong (min 1, max 4: the peak is 4)', fp)
    pol = [p for p in c.sim.client('application-autoscaling', region=e2e.REGION)
           .describe_scaling_policies(ServiceNamespace='ecs', ResourceId=rid('api'))
           ['ScalingPolicies'] if p['PolicyType'] == 'PredictiveScaling']
    check(len(pol) == 1 and o['status']['policyArns'].get('daily') == pol[0]['PolicyARN'],
          'the predictive policy is not in AWS and status', pol, o['status'])
    # kubectl get -o wide shows the peak (priority-1 printer columns); the plain table does not.
    wide = kc.kubectl('get', 'scalingpolicies', '-n', NS, '-o', 'wide').stdout
    check('FORECAST-PEAK' in wide and 'PEAK-AT' in wide and fp['time'] in wide,
          'kubectl get -o wide does not show the forecast peak', wide)
    plain = kc.kubectl('get', 'scalingpolicies', '-n', NS).stdout
    check('FORECAST-PEAK' not in plain, 'the plain kubectl get shows the forecast', plain)
    bad = simple('bad', predictive=[{'name': 'daily', 'metricPair': 'ECSServiceCPUUtilization',
                                     'targetValue': 60}]).replace(
        'ecs:\n      cluster: prod\n      service: bad', 'rds:\n      cluster: reporting')
    p = kc.apply(bad, check_rc=False)
    check(p.returncode != 0 and 'predictive scaling for ECS services only' in p.stderr,
          'the API server accepted predictive scaling on an RDS cluster', e2e.describe(p))


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith('case_')}


def run_case(fn):
    def wrapped(c):
        kc = KubeCase(c)
        try:
            fn(c, kc)
        finally:
            kc.close()
    return wrapped


if __name__ == '__main__':
    try:
        KUBECTL = subprocess.run([os.path.join(HERE, '..', '..', 'scripts', 'kubectl.sh')],
                                 capture_output=True, text=True, timeout=600).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        KUBECTL = ''
    if not KUBECTL or not os.access(KUBECTL, os.X_OK):
        log('SKIP: the real kubectl cannot be installed (scripts/kubectl.sh)')
        sys.exit(77)
    sys.exit(e2e.main({k: run_case(v) for k, v in CASES.items()}, sys.argv[1:]))
