"""The end-to-end harness: the real trimtab binary in directory mode against a local AWS.

Each case gets its own simulator (tests/awssim, on a free port), its own manifest directory and
its own state directory under a temporary directory, and runs the binary exactly as a user would
(`trimtab run --once`, `run`, `plan`, `status`). What trimtab did is then read back from three
independent places: the simulator's call log (which operations, reads or writes, when), the
state directory (one JSON record per resource, events.jsonl) and AWS itself through boto3.

Standard library only, plus boto3 (through the awssim helper) for fixtures and drift.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'awssim'))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))  # servers.py: ports, moto

from awssim import AwsSim  # noqa: E402

# boto3 in this process (fixtures, drift, reading AWS back) sees none of the machine's AWS setup
# either; an empty AWS_PROFILE would make it look for a profile named "".
for _k in ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE'):
    if not os.environ.get(_k):
        os.environ.pop(_k, None)
os.environ.setdefault('AWS_CONFIG_FILE', '/dev/null')
os.environ.setdefault('AWS_SHARED_CREDENTIALS_FILE', '/dev/null')
os.environ['AWS_EC2_METADATA_DISABLED'] = 'true'

REGION = 'eu-central-1'
NS = 'shop'
OWNER_TAG = 'trimtab.dev/owner'
TARGET_DIM = 'ecs:service:DesiredCount'

# The ECS services every case starts with (cluster "prod" in eu-central-1).
SERVICES = ['web', 'worker', 'api', 'batch', 'search', 'checkout', 'cart']
FIXTURES = {'region': REGION, 'ecs': {'clusters': [{'name': 'prod', 'services': [
    {'name': s, 'desiredCount': 2} for s in SERVICES]}]}}

# Environment trimtab and boto3 run in: nothing from the machine's own AWS setup leaks in.
ISOLATION = {'AWS_CONFIG_FILE': '/dev/null', 'AWS_SHARED_CREDENTIALS_FILE': '/dev/null',
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_PROFILE': '', 'AWS_ROLE_ARN': '',
             'AWS_WEB_IDENTITY_TOKEN_FILE': '', 'AWS_CONTAINER_CREDENTIALS_FULL_URI': '',
             'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI': '', 'AWS_SESSION_TOKEN': '',
             'TRIMTAB_SOURCE': '', 'TRIMTAB_STATE_DIR': '', 'TRIMTAB_RESYNC': '',
             'TRIMTAB_LOG_FORMAT': '', 'TRIMTAB_LOG_LEVEL': '', 'TRIMTAB_CONCURRENCY': ''}


class Config:
    """Set once by main(): the binary, the source tree, and whether it is a sanitizer build."""
    binary = None
    source = None
    sanitized = False

    @classmethod
    def scale(cls):
        """Timeouts are multiplied by this (ASan+UBSan binaries are several times slower)."""
        return 6.0 if cls.sanitized else 1.0


class Failure(AssertionError):
    pass


def check(cond, message, *detail):
    if not cond:
        raise Failure(message + ''.join('\n    ' + str(d) for d in detail))


def log(msg):
    print(msg, flush=True)


# ---- manifests ------------------------------------------------------------------------------

def _scalar(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return 'null'
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    plain = s and s[0].isalpha() and all(c.isalnum() or c in '-_./' for c in s) \
        and s not in ('true', 'false', 'null', 'yes', 'no', 'on', 'off')
    return s if plain else json.dumps(s)


def to_yaml(v, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for manifests)."""
    pad = ' ' * indent
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append('%s%s:\n%s' % (pad, k, to_yaml(x, indent + 2)))
            else:
                out.append('%s%s: %s\n' % (pad, k, _scalar(x) if not isinstance(x, (dict, list))
                                              else ('{}' if isinstance(x, dict) else '[]')))
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                first, *rest = to_yaml(x, indent + 2).splitlines(True)
                out.append('%s- %s' % (pad, first.lstrip()))
                out.extend(rest)
            else:
                out.append('%s- %s\n' % (pad, _scalar(x)))
    else:
        out.append('%s%s\n' % (pad, _scalar(v)))
    return ''.join(out)


def tracking(name, metric='ECSServiceAverageCPUUtilization', target=70, **kw):
    d = {'name': name, 'predefinedMetric': metric, 'targetValue': target}
    d.update(kw)
    return d


def step_policy(name, **kw):
    d = {'name': name, 'adjustmentType': 'ChangeInCapacity', 'cooldown': '120s',
         'metricAggregationType': 'Average',
         'steps': [{'lower': 0, 'upper': 10, 'adjustment': 1}, {'lower': 10, 'adjustment': 2}]}
    d.update(kw)
    return d


def scheduled(name, schedule='0 8 * * MON-FRI', tz='Europe/Berlin', lo=2, hi=6):
    d = {'name': name, 'schedule': schedule}
    if tz:
        d['timezone'] = tz
    d['minCapacity'] = lo
    d['maxCapacity'] = hi
    return d


def scaling_policy(name, service=None, min_capacity=1, max_capacity=6, tracking_=(), steps=(),
                   sched=(), ns=NS, cluster='prod', annotations=None, **spec_extra):
    """A ScalingPolicy manifest (YAML text) for ECS service `service` (default: `name`)."""
    spec = {'target': {'ecs': {'cluster': cluster, 'service': service or name}},
            'minCapacity': min_capacity, 'maxCapacity': max_capacity}
    spec.update(spec_extra)
    if tracking_:
        spec['targetTracking'] = list(tracking_)
    if steps:
        spec['stepScaling'] = list(steps)
    if sched:
        spec['scheduled'] = list(sched)
    meta = {'name': name, 'namespace': ns}
    if annotations:
        meta['annotations'] = annotations
    doc = {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'ScalingPolicy', 'metadata': meta,
           'spec': spec}
    return to_yaml(doc)


# The two ScalingPolicies both suites (awssim and moto) start from: web with target tracking and
# scheduled actions, worker with a step policy.
def web(**kw):
    args = dict(min_capacity=2, max_capacity=10,
                tracking_=[tracking('cpu', target=70, scaleOutCooldown='60s', scaleInCooldown='5m'),
                           tracking('memory', 'ECSServiceAverageMemoryUtilization', 80)],
                sched=[scheduled('business-hours', lo=4, hi=10),
                       scheduled('after-hours', '0 18 * * MON-FRI', lo=2, hi=10)])
    args.update(kw)
    return scaling_policy('web', **args)


def worker(**kw):
    args = dict(min_capacity=1, max_capacity=12, steps=[step_policy('cpu-high')])
    args.update(kw)
    return scaling_policy('worker', **args)


def aws_name(name, part=None, ns=NS):
    """trimtab's deterministic AWS name (short names only: no hashing needed)."""
    return 'trimtab-%s-%s' % (ns, name) + ('-' + part if part else '')


# ---- one case ------------------------------------------------------------------------------

class Case:
    """A temporary directory with manifests/ and state/, a simulator, and the binary."""

    def __init__(self, name, fixtures=FIXTURES, sim=True):
        self.name = name
        self.started = time.time()
        self.tmp = tempfile.mkdtemp(prefix='tt-e2e-%s-' % name)
        self.manifests = os.path.join(self.tmp, 'manifests')
        self.state = os.path.join(self.tmp, 'state')
        os.makedirs(self.manifests)
        self.sim = None
        self.procs = []
        self.last = None  # the last CompletedProcess, shown when a case fails
        self._clients = {}
        if sim:
            self.sim = AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL).start()
            self.endpoint = self.sim.endpoint

    # -- life cycle --
    def close(self, keep=False):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.sim is not None:
            self.sim.stop()
        if keep:
            log('  (kept %s)' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- files --
    def write(self, rel, text, root=None):
        path = os.path.join(root or self.manifests, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + '.tmp~'
        with open(tmp, 'w') as f:
            f.write(text)
        os.rename(tmp, path)  # one inotify event (moved_to), never a half-written file
        return path

    def remove(self, rel):
        os.unlink(os.path.join(self.manifests, rel))

    def tree(self, root=None):
        """{relative path: (size, mtime_ns)} of everything under root (manifests/)."""
        root = root or self.manifests
        out = {}
        for d, _, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
        return out

    # -- the binary --
    def env(self, **extra):
        env = dict(os.environ)
        env.update(ISOLATION)
        env['HOME'] = self.tmp
        if self.sim is not None:
            env.update(self.sim.env(REGION))
        env.update(extra)
        return env

    def trimtab(self, *args, timeout=60, env=None, source=None, state=True):
        """Runs `trimtab ARGS --source dir:MANIFESTS --state-dir STATE`; returns the
        CompletedProcess (with .seconds)."""
        cmd = [Config.binary] + list(args)
        if args and args[0] in ('run', 'plan'):
            cmd += ['--source', 'dir:' + (source or self.manifests)]
        if state and args and args[0] in ('run', 'plan', 'status'):
            cmd += ['--state-dir', self.state]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, errors='replace',
                           timeout=timeout * Config.scale(), env=env or self.env())
        p.seconds = time.monotonic() - t0
        p.cmd = cmd
        self.last = p
        return p

    def run_once(self, *extra, expect_rc=None, reset_calls=True, **kw):
        """`trimtab run --once`; returns (process, the calls it made)."""
        if reset_calls and self.sim is not None:
            self.sim.reset_calls()
        p = self.trimtab('run', '--once', *extra, **kw)
        calls = self.sim.calls() if self.sim is not None else []
        if expect_rc is not None:
            check(p.returncode == expect_rc, 'run --once exited %d, expected %d'
                  % (p.returncode, expect_rc), describe(p))
        return p, calls

    def plan(self, *extra, expect_rc=None, json_output=False):
        if self.sim is not None:
            self.sim.reset_calls()
        args = ['plan'] + (['--output', 'json'] if json_output else []) + list(extra)
        p = self.trimtab(*args)
        calls = self.sim.calls() if self.sim is not None else []
        check(not writes(calls), 'plan made write calls', writes(calls))
        if expect_rc is not None:
            check(p.returncode == expect_rc, 'plan exited %d, expected %d'
                  % (p.returncode, expect_rc), describe(p))
        if json_output and (p.returncode in (0, 2) or p.stdout.startswith('{')):
            try:
                p.doc = json.loads(p.stdout)
            except ValueError as e:
                raise Failure('plan --output json printed no JSON (%s)\n%s' % (e, p.stdout[:2000]))
        return p

    def start(self, *extra, source=None, log_path=None):
        """Starts a long-running `trimtab run` (no --once); returns the Popen (stderr to a
        file, so a long run never blocks on a full pipe)."""
        cmd = [Config.binary, 'run', '--source', 'dir:' + (source or self.manifests),
               '--state-dir', self.state] + list(extra)
        log_path = log_path or os.path.join(self.tmp, 'run-%d.log' % len(self.procs))
        f = open(log_path, 'w')
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=self.env())
        f.close()
        p.log_path = log_path
        self.procs.append(p)
        return p

    # -- state directory --
    def record(self, name, kind='ScalingPolicy', ns=NS):
        path = os.path.join(self.state, 'resources', kind, ns, name + '.json')
        try:
            with open(path) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def condition(self, name, ctype='Ready', **kw):
        rec = self.record(name, **kw)
        check(rec is not None, 'no state record for %s' % name)
        for c in rec.get('status', {}).get('conditions', []):
            if c['type'] == ctype:
                return c
        return None

    def expect_condition(self, name, ctype, status, reason=None, **kw):
        c = self.condition(name, ctype, **kw)
        check(c is not None, '%s has no %s condition' % (name, ctype), self.record(name, **kw))
        check(c['status'] == status and (reason is None or c['reason'] == reason),
              '%s: %s is %s/%s, expected %s/%s' % (name, ctype, c['status'], c['reason'],
                                                   status, reason), c.get('message'))
        return c

    def events(self, name=None, reason=None, kind='ScalingPolicy', ns=NS):
        path = os.path.join(self.state, 'events.jsonl')
        out = []
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            ev = json.loads(line)
            o = ev.get('object', {})
            if name is not None and (o.get('name'), o.get('kind'), o.get('namespace')) != \
                    (name, kind, ns):
                continue
            if reason is not None and ev.get('reason') != reason:
                continue
            out.append(ev)
        return out

    # -- AWS through boto3 --
    def client(self, service):
        if service not in self._clients:
            self._clients[service] = self.sim.client(service, region=REGION)
        return self._clients[service]

    def aws(self):
        """What Application Auto Scaling (and CloudWatch) hold for ECS, read with boto3."""
        return snapshot(self.client('application-autoscaling'), self.client('cloudwatch'))


def snapshot(aas, cw=None, ns='ecs'):
    """{'targets': {resourceId: target+Tags}, 'policies': {(resourceId, name): policy},
    'scheduled': {(resourceId, name): action}, 'alarms': [names]} of service namespace `ns`"""
    out = {'targets': {}, 'policies': {}, 'scheduled': {}, 'alarms': []}
    for page in aas.get_paginator('describe_scalable_targets').paginate(ServiceNamespace=ns):
        for t in page['ScalableTargets']:
            check(t['ResourceId'] not in out['targets'],
                  'scalable target %s listed twice' % t['ResourceId'])
            t = dict(t)
            t['Tags'] = aas.list_tags_for_resource(ResourceARN=t['ScalableTargetARN'])['Tags']
            out['targets'][t['ResourceId']] = t
    for page in aas.get_paginator('describe_scaling_policies').paginate(ServiceNamespace=ns):
        for p in page['ScalingPolicies']:
            key = (p['ResourceId'], p['PolicyName'])
            check(key not in out['policies'], 'scaling policy %s listed twice' % (key,))
            out['policies'][key] = p
    for page in aas.get_paginator('describe_scheduled_actions').paginate(ServiceNamespace=ns):
        for a in page['ScheduledActions']:
            key = (a['ResourceId'], a['ScheduledActionName'])
            check(key not in out['scheduled'], 'scheduled action %s listed twice' % (key,))
            out['scheduled'][key] = a
    if cw is not None:
        for page in cw.get_paginator('describe_alarms').paginate():
            out['alarms'] += [a['AlarmName'] for a in page['MetricAlarms']]
    return out


def rid(service):
    return 'service/prod/%s' % service


def expect_objects(aws, expected):
    """Checks AWS holds exactly `expected` = {service: {'min':, 'max':, 'policies': [names],
    'scheduled': [names]}} for ECS: no missing object, no extra one, no duplicate."""
    want_t = {rid(s) for s in expected}
    check(set(aws['targets']) == want_t, 'scalable targets differ',
          'AWS: %s' % sorted(aws['targets']), 'expected: %s' % sorted(want_t))
    want_p = {(rid(s), n) for s, e in expected.items() for n in e.get('policies', ())}
    check(set(aws['policies']) == want_p, 'scaling policies differ',
          'AWS: %s' % sorted(aws['policies']), 'expected: %s' % sorted(want_p))
    want_s = {(rid(s), n) for s, e in expected.items() for n in e.get('scheduled', ())}
    check(set(aws['scheduled']) == want_s, 'scheduled actions differ',
          'AWS: %s' % sorted(aws['scheduled']), 'expected: %s' % sorted(want_s))
    for s, e in expected.items():
        t = aws['targets'][rid(s)]
        if 'min' in e:
            check((t['MinCapacity'], t['MaxCapacity']) == (e['min'], e['max']),
                  '%s: min/max %s/%s, expected %s/%s' % (s, t['MinCapacity'], t['MaxCapacity'],
                                                         e['min'], e['max']))
        if e.get('owner'):
            check(t['Tags'].get(OWNER_TAG) == e['owner'], '%s: owner tag %r, expected %r'
                  % (s, t['Tags'].get(OWNER_TAG), e['owner']))
    # Target tracking alarms belong to their policy: two per policy with scale-in, no strays.
    tracking = [p for p in aws['policies'].values() if p['PolicyType'] == 'TargetTrackingScaling']
    owned = set()
    for p in tracking:
        names = [a['AlarmName'] for a in p.get('Alarms', [])]
        n = 1 if p['TargetTrackingScalingPolicyConfiguration'].get('DisableScaleIn') else 2
        check(len(names) == n, 'policy %s has %d alarms, expected %d' % (p['PolicyName'],
                                                                        len(names), n))
        owned.update(names)
    stray = [a for a in aws['alarms'] if a.startswith('TargetTracking-') and a not in owned]
    check(not stray, 'target tracking alarms left behind', stray)
    check(len(aws['alarms']) == len(set(aws['alarms'])), 'duplicate alarm names', aws['alarms'])


# ---- the call log -------------------------------------------------------------------------

def writes(calls):
    return [c for c in calls if c['kind'] == 'write']


def reads(calls):
    return [c for c in calls if c['kind'] == 'read']


def ops(calls, kind=None, ok=True):
    """Operation names in order (only successful ones when ok)."""
    return [c['operation'] for c in calls
            if (kind is None or c['kind'] == kind) and (not ok or c['status'] < 300)]


def describe(p):
    if p is None:
        return ''
    err = p.stderr if len(p.stderr) < 6000 else '...' + p.stderr[-6000:]
    out = p.stdout if len(p.stdout) < 4000 else p.stdout[:4000] + '...'
    return '$ %s\n  exit %s\n  stdout:\n%s\n  stderr:\n%s' % (
        ' '.join(getattr(p, 'cmd', [])), p.returncode, out, err)


def wait_for(fn, timeout, what, interval=0.02):
    """Polls fn() until it returns a true value; returns it, or fails after timeout seconds
    (scaled for sanitizer builds)."""
    deadline = time.monotonic() + timeout * Config.scale()
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure('timed out after %.1fs waiting for %s' % (timeout * Config.scale(),
                                                                   what))
        time.sleep(interval)


def stop(proc, grace=10.0):
    """SIGTERM; returns (exit status, seconds until exit)."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(grace * Config.scale())
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Failure('trimtab run did not exit within %.1fs of SIGTERM'
                      % (grace * Config.scale()))
    return rc, time.monotonic() - t0


# ---- running cases -------------------------------------------------------------------------

# ---- manifests, expectations and checks the case files share ------------------------------------

def simple(name, **kw):
    args = dict(min_capacity=1, max_capacity=4, tracking_=[tracking('cpu', target=60)])
    args.update(kw)
    return scaling_policy(name, **args)


WEB = {'min': 2, 'max': 10, 'policies': [aws_name('web', 'cpu'), aws_name('web', 'memory')],
       'scheduled': [aws_name('web', 'business-hours'), aws_name('web', 'after-hours')],
       'owner': 'shop/web'}


WORKER = {'min': 1, 'max': 12, 'policies': [aws_name('worker', 'cpu-high')], 'owner': 'shop/worker'}


def simple_expect(name):
    return {'min': 1, 'max': 4, 'policies': [aws_name(name, 'cpu')], 'owner': 'shop/' + name}


def setup_web_worker(c):
    """web and worker created and converged; the call log reset."""
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    p, calls = c.run_once(expect_rc=0)
    check(len(writes(calls)) == 7, 'creating web and worker took %d writes, expected 7'
          % len(writes(calls)), ops(calls, 'write'))
    c.expect_condition('web', 'Ready', 'True', 'Converged')
    c.expect_condition('worker', 'Ready', 'True', 'Converged')
    c.sim.reset_calls()


def expect_ready(c, *names):
    for n in names:
        c.expect_condition(n, 'Ready', 'True', 'Converged')
        c.expect_condition(n, 'Synced', 'True')


def plan_changes(doc, key):
    """{(verb, object): {field: (old, new)}} of one resource in `plan --output json`."""
    for r in doc['resources']:
        if r['key'] == key:
            return {(a['verb'], a['object']): {ch['field']: (ch['old'], ch['new'])
                                              for ch in a.get('changes', [])}
                    for a in r['actions']}
    raise Failure('%s missing from the plan' % key)


BROKEN = """\
apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata:
  name: broken
  namespace: shop
spec:
  target:
    ecs:
      cluster: prod
      service: api
  minCapacity: 1
  maxCapacity: 4
  targetTracking:
    - name: cpu
      predefinedMetric: ECSServiceAverageCPUUtilization
      targetValue: lots
"""


SIX = ['web', 'worker', 'api', 'batch', 'search', 'checkout']


def write_six(c):
    c.write('ecs/web.yaml', web())
    c.write('ecs/worker.yaml', worker())
    for n in SIX[2:]:
        c.write('ecs/%s.yaml' % n, simple(n))


def expect_six(c):
    expected = {'web': WEB, 'worker': WORKER}
    expected.update({n: simple_expect(n) for n in SIX[2:]})
    expect_objects(c.aws(), expected)
    expect_ready(c, *SIX)


def created_once(c):
    """Every AWS object got exactly one Created event (and so was created once)."""
    seen = {}
    for n in SIX:
        for e in c.events(n, 'Created'):
            obj = e['message'].split(' (')[0]
            seen.setdefault((n, obj), 0)
            seen[(n, obj)] += e.get('count', 1)
    twice = {k: v for k, v in seen.items() if v != 1}
    check(not twice, 'objects created more than once', twice)
    check(len(seen) == 6 + 7 + 2, '%d objects have a Created event, expected 15' % len(seen),
          sorted(seen))


def successful_writes(calls):
    out = {}
    for x in calls:
        if x['kind'] == 'write' and x['status'] < 300:
            out[x['operation']] = out.get(x['operation'], 0) + 1
    return out


CREATE_SIX = {'RegisterScalableTarget': 6, 'PutScalingPolicy': 7, 'PutScheduledAction': 2}


def created_once_or_adopted(c):
    """After a kill -9, an object may have been created by the killed run without trimtab
    hearing back: it then has no Created event, but never two."""
    seen = {}
    for n in SIX:
        for e in c.events(n, 'Created'):
            obj = e['message'].split(' (')[0]
            seen[(n, obj)] = seen.get((n, obj), 0) + e.get('count', 1)
    twice = {k: v for k, v in seen.items() if v > 1}
    check(not twice, 'objects created more than once', twice)


def kill_when(proc, done, what):
    """kill -9 of a `trimtab run` as soon as done() is true (it must still be running)."""
    wait_for(lambda: done() or proc.poll() is not None, 30, what)
    check(proc.poll() is None, 'trimtab finished before it could be killed')
    proc.kill()
    proc.wait()


def run_under_faults(c, faults):
    """`run --once` while transient `faults` (their ids) are injected; a second run when the
    first one gave up on a resource. Every fault must have fired. Returns (process, calls of
    the run that converged)."""
    p, calls = c.run_once(timeout=120)
    if p.returncode != 0:  # a resource may have used up its retries; the next run finishes
        log('  first run under faults exited %d; running again' % p.returncode)
        p, calls = c.run_once(expect_rc=0, timeout=120, reset_calls=False)
    fired = {f['id']: f['fired'] for f in c.sim.control('GET', 'faults')['faults']}
    check(all(fired[f] > 0 for f in faults), 'not every fault fired', fired)
    log('  transient faults fired: %s; %.1fs' % (sum(fired.values()), p.seconds))
    return p, calls


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def table(text):
    """`trimtab status` as [{column: value}]."""
    lines = [l for l in text.splitlines() if l.strip()]
    check(lines, 'status printed nothing')
    header = lines[0]
    found = list(re.finditer(r'\S+', header))
    cols = [m.group() for m in found]
    starts = [m.start() for m in found]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, c in enumerate(cols):
            end = starts[i + 1] if i + 1 < len(cols) else len(line)
            row[c] = line[starts[i]:end].strip()
        rows.append(row)
    return cols, rows


def main(cases, argv, fixtures=FIXTURES):
    """test_x.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]; exit 0 when every case
    passed, 1 when one failed, 77 (skipped) without boto3. Each case's simulator starts with
    `fixtures`."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('binary')
    ap.add_argument('source')
    ap.add_argument('--sanitized', action='store_true')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory of '
                                                         'failed cases')
    ap.add_argument('case', nargs='*')
    args = ap.parse_intermixed_args(argv)
    Config.binary = os.path.abspath(args.binary)
    Config.source = os.path.abspath(args.source)
    Config.sanitized = args.sanitized
    import importlib.util
    if importlib.util.find_spec('boto3') is None:
        log('SKIP: boto3 is not installed for %s; the end-to-end cases need it for fixtures and '
            'drift' % sys.executable)
        return 77
    names = args.case or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        ap.error('unknown case(s) %s; known: %s' % (', '.join(unknown), ', '.join(cases)))
    failed = []
    for name in names:
        t0 = time.monotonic()
        log('== %s' % name)
        c = Case(name, fixtures=fixtures)
        ok = False
        try:
            cases[name](c)
            ok = True
        except Exception as e:  # noqa: BLE001 (a case's failure, whatever it is, is reported)
            failed.append(name)
            log('FAIL %s: %s' % (name, e if isinstance(e, Failure) else ''))
            if not isinstance(e, Failure):
                traceback.print_exc(file=sys.stdout)
            if c.last is not None:
                log('  last command:\n' + describe(c.last))
            for p in c.procs:
                try:
                    with open(p.log_path) as f:
                        text = f.read()
                    log('  log of %s:\n%s' % (p.log_path, text[-6000:]))
                except OSError:
                    pass
        finally:
            c.close(keep=not ok and args.keep)
        if ok:
            log('ok   %s (%.1fs)' % (name, time.monotonic() - t0))
    log('%d case(s), %d failed%s' % (len(names), len(failed),
                                     (': ' + ', '.join(failed)) if failed else ''))
    return 1 if failed else 0
