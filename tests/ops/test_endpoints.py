#!/usr/bin/env python3
"""/metrics, /healthz and /readyz of the real binary, over real sockets.

`trimtab run` on a copy of examples/ against the local AWS simulator (tests/awssim), with both
endpoints on loopback ports the kernel picks. What /metrics says is checked against what
happened: `promtool check metrics` (Prometheus' own linter) and a strict parser of the text
format written here, the simulator's call log (every AWS call counted, by operation, exactly),
faults injected in the simulator (throttles and retries counted), the binary's version, and the
process's own behaviour (readiness during shutdown). A blocked loop failing /healthz is tested
in tests/unit/test_endpoints.c, where the test can block the loop itself: a stopped process
(SIGSTOP) is no substitute, since epoll_wait returns EINTR on SIGCONT and the heartbeat runs
before the waiting request is read.

Usage: test_endpoints.py TRIMTAB SOURCE_DIR [--sanitized] [CASE...]
Exit 0 when every case passed, 1 on a failure, 77 (skip) when promtool is missing.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'awssim'))

from awssim import AwsSim  # noqa: E402

REGION = 'eu-central-1'
# The ECS services the examples scale (as make demo starts them).
FIXTURES = {'region': REGION, 'ecs': {'clusters': [{'name': 'prod', 'services': [
    {'name': 'web', 'desiredCount': 2}, {'name': 'worker', 'desiredCount': 1}]}]}}
ISOLATION = {'AWS_CONFIG_FILE': '/dev/null', 'AWS_SHARED_CREDENTIALS_FILE': '/dev/null',
             'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_PROFILE': '', 'AWS_ROLE_ARN': '',
             'AWS_WEB_IDENTITY_TOKEN_FILE': '', 'AWS_CONTAINER_CREDENTIALS_FULL_URI': '',
             'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI': '', 'AWS_SESSION_TOKEN': '',
             'TRIMTAB_SOURCE': '', 'TRIMTAB_STATE_DIR': '', 'TRIMTAB_RESYNC': '',
             'TRIMTAB_LOG_FORMAT': '', 'TRIMTAB_LOG_LEVEL': '', 'TRIMTAB_CONCURRENCY': '',
             'TRIMTAB_METRICS_ADDR': '', 'TRIMTAB_HEALTH_ADDR': ''}


class Config:
    binary = None
    source = None
    scale = 1.0


class Failure(AssertionError):
    pass


def check(cond, message, *detail):
    if not cond:
        raise Failure(message + ''.join('\n    ' + str(d) for d in detail))


def wait_for(pred, what, timeout=20):
    deadline = time.monotonic() + timeout * Config.scale
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Failure('timed out waiting for ' + what)


# ---- the text exposition format, strictly --------------------------------------------------

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r'^(%s)(?:\{((?:%s)(?:,%s)*)?\})? (\S+)$' % (NAME, LABEL, LABEL))


def parse_metrics(text):
    """{(name, frozenset(labels)): value}, and {family: type}. Raises Failure on anything the
    format (version 0.0.4) does not allow or on a sample of a family without # TYPE."""
    check(text.endswith('\n'), 'the exposition does not end with a newline')
    samples, types, seen_help = {}, {}, set()
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if line.startswith('# HELP '):
            fam = line.split(' ', 3)[2]
            check(fam not in seen_help, 'line %d: second HELP for %s' % (n, fam))
            seen_help.add(fam)
            continue
        if line.startswith('# TYPE '):
            _, _, fam, typ = line.split(' ')
            check(typ in ('counter', 'gauge', 'histogram', 'summary', 'untyped'),
                  'line %d: bad type %s' % (n, typ))
            check(fam not in types, 'line %d: second TYPE for %s' % (n, fam))
            types[fam] = typ
            continue
        check(not line.startswith('#') and line != '', 'line %d: unexpected %r' % (n, line))
        m = SAMPLE.match(line)
        check(m is not None, 'line %d: not a sample: %r' % (n, line))
        name, labels, value = m.group(1), m.group(2), m.group(3)
        fam = re.sub(r'_(bucket|sum|count)$', '', name)
        check(name in types or (fam in types and types[fam] == 'histogram'),
              'line %d: %s has no # TYPE before it' % (n, name))
        lab = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ''))
        key = (name, lab)
        check(key not in samples, 'line %d: duplicate series %r' % (n, line))
        samples[key] = float(value)
    return samples, types


def value(samples, metric, /, **labels):
    return samples.get((metric, frozenset(labels.items())))


def series(samples, name):
    """[(labels dict, value)] of every sample of `name`."""
    return [(dict(k[1]), v) for k, v in samples.items() if k[0] == name]


# ---- the binary with its endpoints ---------------------------------------------------------

class Run:
    """A simulator, a copy of examples/, and `trimtab run` serving its endpoints."""

    def __init__(self, *extra, fixtures=FIXTURES, wait_ports=True):
        self.tmp = tempfile.mkdtemp(prefix='tt-endpoints-')
        self.manifests = os.path.join(self.tmp, 'manifests')
        shutil.copytree(os.path.join(Config.source, 'examples'), self.manifests)
        self.sim = AwsSim(fixtures=fixtures, stderr=subprocess.DEVNULL).start()
        env = dict(os.environ)
        env.update(ISOLATION)
        env.update(self.sim.env(REGION))
        self.log_path = os.path.join(self.tmp, 'run.log')
        self.log_file = open(self.log_path, 'w')
        cmd = [Config.binary, 'run', '--source', 'dir:' + self.manifests, '--state-dir',
               os.path.join(self.tmp, 'state'), '--resync', '1h', '--aws-rate', '0',
               '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        self.metrics_port = self.health_port = None
        if wait_ports:
            self.metrics_port = int(wait_for(lambda: self.grep(
                r'serving /metrics on port (\d+)'), 'the metrics port'))
            self.health_port = int(wait_for(lambda: self.grep(
                r'serving /healthz, /readyz on port (\d+)'), 'the health port'))

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def grep(self, pattern):
        m = re.search(pattern, self.log())
        return m.group(1) if m and m.groups() else m

    def get(self, port, path, method='GET'):
        """(status, headers dict (lower-case names), body text) of one request."""
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10 * Config.scale)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            body = resp.read().decode()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()

    def metrics(self):
        status, headers, body = self.get(self.metrics_port, '/metrics')
        check(status == 200, '/metrics answered %d' % status, body[:500])
        check(headers.get('content-type') == 'text/plain; version=0.0.4; charset=utf-8',
              'wrong Content-Type for /metrics: %r' % headers.get('content-type'))
        return body

    def close(self, keep=False):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        self.sim.stop()
        if keep:
            print('  (kept %s)' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def edit(path, old, new):
    """Replaces `old` by `new` in a manifest, atomically (one inotify event)."""
    with open(path) as f:
        text = f.read()
    check(old in text, '%s no longer holds %r; update this test' % (path, old))
    with open(path + '.tmp~', 'w') as f:
        f.write(text.replace(old, new))
    os.rename(path + '.tmp~', path)


def converged(run):
    log = run.log()
    return 'ScalingPolicy/shop/web: Converged' in log and \
        'ScalingPolicy/shop/worker: Converged' in log


def aws_counts(samples):
    """{operation: calls} from trimtab_aws_calls_total, every outcome."""
    out = {}
    for labels, v in series(samples, 'trimtab_aws_calls_total'):
        out[labels['operation']] = out.get(labels['operation'], 0) + int(v)
    return out


def quiet_metrics(run, sim_filter=None):
    """A scrape and the simulator's call log taken while nothing moves: the AWS counters of two
    scrapes around the call log agree and no reconcile runs at either (an RDS instance still
    `modifying` keeps trimtab busy for a few seconds after the ECS policies converged, and a
    resource that failed is retried now and then). The call log lists a call once answered,
    before trimtab has read the answer: a reconcile that starts after the first scrape and is
    still running at the second may have a call in the log that neither scrape counts."""
    def idle(m):
        return value(m, 'controller_runtime_active_workers', controller='trimtab') == 0

    def attempt():
        a = parse_metrics(run.metrics())[0]
        calls = run.sim.calls()
        b = parse_metrics(run.metrics())[0]
        if aws_counts(a) == aws_counts(b) and idle(a) and idle(b):
            return (b, calls)
        time.sleep(0.2)
        return None
    return wait_for(attempt, 'quiet metrics', timeout=60)


# ---- cases ---------------------------------------------------------------------------------

def case_scrape(run):
    """Every family is there, the format is valid, the counts agree with the call log."""
    wait_for(lambda: converged(run), 'web and worker to converge', timeout=60)
    body = run.metrics()
    samples, types = parse_metrics(body)

    promtool = shutil.which('promtool')
    p = subprocess.run([promtool, 'check', 'metrics'], input=body, capture_output=True,
                       text=True)
    check(p.returncode == 0 and p.stdout.strip() == '' and p.stderr.strip() == '',
          'promtool check metrics rejects /metrics (rc %d)' % p.returncode, p.stdout, p.stderr)

    for fam, typ in [('controller_runtime_reconcile_total', 'counter'),
                     ('controller_runtime_reconcile_errors_total', 'counter'),
                     ('controller_runtime_reconcile_time_seconds', 'histogram'),
                     ('workqueue_depth', 'gauge'), ('workqueue_adds_total', 'counter'),
                     ('workqueue_retries_total', 'counter'),
                     ('workqueue_queue_duration_seconds', 'histogram'),
                     ('workqueue_work_duration_seconds', 'histogram'),
                     ('trimtab_aws_calls_total', 'counter'),
                     ('trimtab_aws_retries_total', 'counter'),
                     ('trimtab_aws_throttles_total', 'counter'),
                     ('trimtab_aws_retry_quota', 'gauge'),
                     ('leader_election_master_status', 'gauge'),
                     ('trimtab_build_info', 'gauge'), ('trimtab_resources', 'gauge'),
                     ('trimtab_resources_resting', 'gauge'),
                     ('trimtab_source_synced', 'gauge'), ('process_cpu_seconds_total', 'counter'),
                     ('process_resident_memory_bytes', 'gauge')]:
        check(types.get(fam) == typ, '%s: type %r, expected %s' % (fam, types.get(fam), typ))

    samples, calls = quiet_metrics(run)
    # Every AWS request the simulator saw is one call trimtab counted (no faults: no retries).
    sim_ops = {}
    for c in calls:
        sim_ops[c['operation']] = sim_ops.get(c['operation'], 0) + 1
    check(aws_counts(samples) == sim_ops, 'AWS calls by operation differ from the call log',
          'trimtab: %s' % sorted(aws_counts(samples).items()), 'awssim:  %s' % sorted(sim_ops.items()))
    check(value(samples, 'trimtab_aws_calls_total', service='application-autoscaling',
                operation='RegisterScalableTarget', outcome='ok') >= 2,
          'RegisterScalableTarget ok not counted for web and worker')

    # Reconciles: web and worker succeeded; the other examples' targets do not exist in this
    # simulator, so errors and blocked reconciles show up too. The histogram agrees with the
    # counter for each (controller, result).
    check(value(samples, 'controller_runtime_reconcile_total', controller='scalingpolicy',
                result='success') >= 2, 'ScalingPolicy successes not counted')
    total = 0
    for labels, v in series(samples, 'controller_runtime_reconcile_total'):
        total += v
        check(value(samples, 'controller_runtime_reconcile_time_seconds_count', **labels) == v,
              'histogram count differs from the counter for %s' % labels)
        inf = dict(labels, le='+Inf')
        check(value(samples, 'controller_runtime_reconcile_time_seconds_bucket', **inf) == v,
              'the +Inf bucket differs from the count for %s' % labels)
    check(total > 0, 'no reconcile counted')
    check(value(samples, 'workqueue_work_duration_seconds_count', name='trimtab') == total,
          'work duration count %s != reconciles %s' % (
              value(samples, 'workqueue_work_duration_seconds_count', name='trimtab'), total))
    check(value(samples, 'workqueue_queue_duration_seconds_count', name='trimtab') == total,
          'every reconcile started with one pop')
    errors = sum(v for l, v in series(samples, 'controller_runtime_reconcile_total')
                 if l['result'] == 'error')
    check(sum(v for _, v in series(samples, 'controller_runtime_reconcile_errors_total')) == errors,
          'errors_total disagrees with result="error"')
    buckets = sorted((float(l['le']), v) for l, v in
                     series(samples, 'workqueue_queue_duration_seconds_bucket'))
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), 'buckets not cumulative')

    n_manifests = sum(1 for d, _, fs in os.walk(run.manifests) for f in fs
                      for _ in re.findall(r'(?m)^kind: (ScalingPolicy|Alarm|Budget|SecretRotation)$',
                                          open(os.path.join(d, f)).read()))
    check(value(samples, 'trimtab_resources') == n_manifests,
          'trimtab_resources %s, examples declare %d' % (value(samples, 'trimtab_resources'),
                                                         n_manifests))
    # A long run lets a reconciled resource go until its next reconcile: web and worker at
    # least (resources whose reconciles keep failing are retried soon, and stay).
    resting = value(samples, 'trimtab_resources_resting')
    check(2 <= resting <= n_manifests, 'trimtab_resources_resting %s of %d' % (resting,
                                                                                n_manifests))
    check(value(samples, 'workqueue_depth', name='trimtab') == 0, 'queue not empty when quiet')
    check(value(samples, 'leader_election_master_status', name='trimtab') == 1,
          'not the leader without --leader-elect')
    check(value(samples, 'trimtab_source_synced') == 1, 'source not synced')
    check(value(samples, 'trimtab_aws_retry_quota') == 500, 'retry quota used without faults')
    version = subprocess.run([Config.binary, 'version'], capture_output=True,
                             text=True).stdout.split()
    ver = [l['version'] for l, v in series(samples, 'trimtab_build_info')]
    check(len(ver) == 1 and ver[0] in version, 'build_info %s, `trimtab version` says %s' % (
        ver, version))
    check(value(samples, 'process_resident_memory_bytes') > 1e6, 'resident memory implausible')


def case_paths(run):
    """Each listener serves its own paths; other methods and paths are refused."""
    st, _, body = run.get(run.health_port, '/healthz')
    check(st == 200 and body == 'ok\n', '/healthz: %d %r' % (st, body))
    wait_for(lambda: run.get(run.health_port, '/readyz')[0] == 200, '/readyz to say ready')
    st, _, body = run.get(run.health_port, '/metrics')
    check(st == 404, '/metrics on the health port: %d' % st)
    st, _, _ = run.get(run.metrics_port, '/healthz')
    check(st == 404, '/healthz on the metrics port: %d' % st)
    st, _, _ = run.get(run.metrics_port, '/metrics/extra')
    check(st == 404, '/metrics/extra: %d' % st)
    st, headers, _ = run.get(run.metrics_port, '/metrics', method='POST')
    check(st == 405 and headers.get('allow') == 'GET, HEAD', 'POST /metrics: %d %s' % (st, headers))
    st, _, body = run.get(run.health_port, '/healthz', method='HEAD')
    check(st == 200 and body == '', 'HEAD /healthz: %d %r' % (st, body))
    # Keep-alive: several requests on one connection (a Prometheus scraper does this).
    conn = http.client.HTTPConnection('127.0.0.1', run.metrics_port, timeout=10 * Config.scale)
    for _ in range(3):
        conn.request('GET', '/metrics')
        resp = conn.getresponse()
        check(resp.status == 200 and len(resp.read()) > 1000, 'keep-alive scrape failed')
    conn.close()


def case_throttles(run):
    """Throttled responses, retries and the retry quota follow the faults injected."""
    wait_for(lambda: converged(run), 'web and worker to converge', timeout=60)
    before, _ = quiet_metrics(run)
    run.sim.reset_calls()
    run.sim.fault(service='application-autoscaling', operation='DescribeScalableTargets',
                  kind='throttle', count=2)
    edit(os.path.join(run.manifests, 'ecs', 'web.yaml'), 'maxCapacity: 10\n', 'maxCapacity: 12\n')
    wait_for(lambda: 'maxCapacity 10 → 12' in run.log(), 'the edit to be applied', timeout=60)
    after, calls = quiet_metrics(run)
    throttled = [c for c in calls if c['operation'] == 'DescribeScalableTargets'
                 and c['status'] == 400]
    check(len(throttled) == 2, 'the simulator throttled %d calls, not 2' % len(throttled))

    def delta(name, **labels):
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)
    op = dict(service='application-autoscaling', operation='DescribeScalableTargets')
    check(delta('trimtab_aws_throttles_total', **op) == 2,
          'throttles_total grew by %s, not 2' % delta('trimtab_aws_throttles_total', **op))
    check(delta('trimtab_aws_retries_total', **op) == 2,
          'retries_total grew by %s, not 2' % delta('trimtab_aws_retries_total', **op))
    check(delta('trimtab_aws_calls_total', outcome='throttled', **op) == 0,
          'a call that succeeded on retry was counted as throttled')
    # Two retries cost 5 tokens each and the retried call's success pays 5 back, so at most 5
    # are missing once it is answered; every later success pays back 1. Which successes pay
    # while the pool is still full depends on the order answers arrive in, so the pool is
    # checked after a second edit, whose 4 reads and 3 writes refill it whatever that order.
    spent = value(after, 'trimtab_aws_retry_quota')
    check(value(before, 'trimtab_aws_retry_quota') == 500 and 490 <= spent <= 500,
          'retry quota %s before the faults, %s after them' % (
              value(before, 'trimtab_aws_retry_quota'), spent))
    sim_ok = sum(1 for c in calls if c['operation'] == 'DescribeScalableTargets'
                 and c['status'] == 200)
    check(delta('trimtab_aws_calls_total', outcome='ok', **op) == sim_ok,
          'ok calls grew by %s, the simulator answered %d' % (
              delta('trimtab_aws_calls_total', outcome='ok', **op), sim_ok))
    edit(os.path.join(run.manifests, 'ecs', 'web.yaml'), 'maxCapacity: 12\n', 'maxCapacity: 11\n')
    wait_for(lambda: 'maxCapacity 12 → 11' in run.log(), 'the second edit to be applied',
             timeout=60)
    refilled, calls = quiet_metrics(run)
    check(value(refilled, 'trimtab_aws_retry_quota') == 500,
          'retry quota not refilled: %s after %d more calls' % (
              value(refilled, 'trimtab_aws_retry_quota'), len(calls)))


def case_shutdown(run):
    """/readyz turns 503 as soon as SIGTERM arrives, while in-flight calls finish."""
    wait_for(lambda: run.get(run.health_port, '/readyz')[0] == 200, '/readyz to say ready')
    wait_for(lambda: converged(run), 'web and worker to converge', timeout=60)
    run.sim.fault(service='*', operation='*', kind='latency', latencyMs=int(3000 * Config.scale))
    edit(os.path.join(run.manifests, 'ecs', 'worker.yaml'), 'maxCapacity: 12\n',
         'maxCapacity: 13\n')
    # The reconcile of the edit waits on the slow simulator: work is in flight.
    wait_for(lambda: value(parse_metrics(run.metrics())[0], 'controller_runtime_active_workers',
                           controller='trimtab'), 'a reconcile in flight')
    run.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: 'shutdown: signal' in run.log(), 'the shutdown to start')
    st, _, body = run.get(run.health_port, '/readyz')
    check(st == 503 and 'shutting down' in body, '/readyz during shutdown: %d %r' % (st, body))
    st, _, _ = run.get(run.health_port, '/healthz')
    check(st == 200, '/healthz during shutdown: %d' % st)
    rc = run.proc.wait(timeout=60 * Config.scale)
    check(rc == 0, 'exit status %d after SIGTERM' % rc)


def case_bad_addr(_):
    """Malformed or busy addresses fail the start with a message naming the flag."""
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix='tt-endpoints-')
    try:
        for args, expect in [(['--metrics-addr', 'localhost'], '--metrics-addr'),
                             (['--health-addr', '127.0.0.1:99999'], '--health-addr'),
                             (['--metrics-addr', '127.0.0.1:%d' % port], 'cannot listen'),
                             (['--health-addr', 'no-such-host.invalid:80'], 'cannot resolve')]:
            env = dict(os.environ)
            env.update(ISOLATION)
            p = subprocess.run([Config.binary, 'run', '--source',
                                'dir:' + os.path.join(Config.source, 'examples'), '--state-dir',
                                os.path.join(tmp, 'state'), '--region', REGION] + args,
                               capture_output=True, text=True, timeout=30 * Config.scale, env=env)
            check(p.returncode == 1 and expect in p.stderr,
                  '%s: rc %d, stderr %r' % (args, p.returncode, p.stderr))
    finally:
        busy.close()
        shutil.rmtree(tmp, ignore_errors=True)


CASES = {
    'scrape': (case_scrape, ()),
    'paths': (case_paths, ()),
    'throttles': (case_throttles, ()),
    'shutdown': (case_shutdown, ()),
    'bad_addr': (case_bad_addr, None),
}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith('--')]
    if len(args) < 2:
        print(__doc__)
        return 2
    Config.binary, Config.source = os.path.abspath(args[0]), os.path.abspath(args[1])
    if '--sanitized' in argv:
        Config.scale = 6.0
    if shutil.which('promtool') is None:
        print('SKIP: promtool is not installed (Debian package prometheus; scripts/deps.sh '
              'installs it)')
        return 77
    names = args[2:] or list(CASES)
    failed = []
    for name in names:
        fn, extra = CASES[name]
        print('== %s' % name, flush=True)
        run = None
        try:
            if extra is not None:
                run = Run(*extra)
            fn(run)
            print('   ok', flush=True)
        except Exception:
            traceback.print_exc()
            if run is not None:
                print('--- trimtab log (tail) ---\n' + run.log()[-4000:])
            failed.append(name)
        finally:
            if run is not None:
                run.close()
    if failed:
        print('FAILED: ' + ' '.join(failed))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
