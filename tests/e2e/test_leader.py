#!/usr/bin/env python3
"""Leader election end to end: several real `trimtab run --source kube --leader-elect`
replicas against one kubesim (the Lease, the objects) and one awssim, with Alarms created all
along so that whoever leads keeps writing.

    test_leader.py TRIMTAB SOURCE_DIR [--sanitized] [--keep] [CASE...]

Every write is attributed to its replica from the simulators' own call logs: AWS calls by the
access key each replica signs with, Kubernetes calls by the User-Agent each replica sends
("trimtab/VERSION (replica-N)"). Writes to the Lease itself are the election, not work, and are
left out. "Exactly one writes at any time" is then checked on the merged timeline: each replica's
writes form one unbroken run, in the order leadership moved. Short durations (3 s lease, 2 s renew
deadline, 0.5 s retry) keep the cases fast; every wait polls with a deadline (scaled for
sanitizer builds), never a fixed sleep.
"""

import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'kubesim'))

import e2e  # noqa: E402
from e2e import NS, REGION, AwsSim, check, log, wait_for  # noqa: E402
from kubesim import KubeSim  # noqa: E402

LEASE = '/apis/coordination.k8s.io/v1/namespaces/default/leases/trimtab'
ALARMS = '/apis/trimtab.dev/v1alpha1/namespaces/%s/alarms' % NS
TOPIC = 'arn:aws:sns:%s:123456789012:shop-oncall' % REGION
DURATION, DEADLINE, RETRY = 3.0, 2.0, 0.5
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'


def access_key(i):
    return 'AKIAREPLICA%09d' % i


def alarm(name):
    return {'apiVersion': 'trimtab.dev/v1alpha1', 'kind': 'Alarm',
            'metadata': {'name': name, 'namespace': NS},
            'spec': {'target': {'ecs': {'cluster': 'prod', 'service': 'web'}},
                     'metricName': 'CPUUtilization', 'period': 60, 'evaluationPeriods': 1,
                     'threshold': 80, 'comparison': 'GreaterThanThreshold',
                     'actions': {'alarm': [{'snsTopicArn': TOPIC}]}}}


class Cluster:
    """A kubesim, an awssim that knows one access key per replica, and the replicas."""

    def __init__(self, c):
        self.c = c
        self.k = KubeSim(crds=os.path.join(e2e.Config.source, 'crds'), namespaces=[NS],
                         stderr=subprocess.DEVNULL)
        c.sim.stop()
        c.sim = AwsSim(fixtures=e2e.FIXTURES, stderr=subprocess.DEVNULL,
                       credentials={access_key(i): SECRET for i in range(1, 4)}).start()
        c.endpoint = c.sim.endpoint
        self.procs = {}
        self.feeding = False
        self.fed = 0
        self.feeder = None

    def close(self):
        self.stop_feeding()
        self.k.stop()

    def start(self, i):
        env = self.c.env(AWS_ACCESS_KEY_ID=access_key(i), AWS_SECRET_ACCESS_KEY=SECRET)
        cmd = [e2e.Config.binary, 'run', '--source', 'kube', '--kubeconfig', self.k.kubeconfig,
               '--state-dir', os.path.join(self.c.tmp, 'state-%d' % i), '--log-level', 'debug',
               '--leader-elect', '--leader-id', 'replica-%d' % i, '--lease-namespace', 'default',
               '--lease-duration', '%gs' % DURATION, '--renew-deadline', '%gs' % DEADLINE,
               '--retry-period', '%gms' % (RETRY * 1000)]
        log_path = os.path.join(self.c.tmp, 'replica-%d.log' % i)
        f = open(log_path, 'w')
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        f.close()
        p.log_path = log_path
        self.c.procs.append(p)
        self.procs[i] = p
        return p

    def logged(self, i, text):
        with open(self.procs[i].log_path, errors='replace') as f:
            return text in f.read()

    def holder(self):
        r = self.k.request('GET', LEASE)
        return (r.json.get('spec') or {}).get('holderIdentity') if r.status == 200 else None

    def wait_holder(self, want, timeout):
        """Polls the Lease until its holder is `want` (a name, or a set of names); returns
        (holder, the time it was seen)."""
        want = {want} if isinstance(want, str) else want
        h = wait_for(lambda: (lambda x: x if x in want else None)(self.holder()), timeout,
                     'the lease to be held by %s' % ' or '.join(sorted(want)), interval=0.01)
        return h, time.time()

    # -- the workload --
    def feed(self, interval=0.25):
        """Creates an Alarm every `interval` seconds until stop_feeding."""
        self.feeding = True

        def run():
            while self.feeding:
                self.fed += 1
                r = self.k.request('POST', ALARMS, alarm('a%03d' % self.fed))
                if r.status != 201:
                    log('  creating alarm a%03d: %d' % (self.fed, r.status))
                time.sleep(interval)
        self.feeder = threading.Thread(target=run, daemon=True)
        self.feeder.start()

    def stop_feeding(self):
        self.feeding = False
        if self.feeder is not None:
            self.feeder.join()
            self.feeder = None

    def ready_count(self):
        r = self.k.request('GET', ALARMS)
        n = 0
        for o in r.json.get('items', []):
            st = o.get('status') or {}
            n += any(c['type'] == 'Ready' and c['status'] == 'True'
                     for c in st.get('conditions', []))
        return n

    def wait_all_ready(self, timeout=60):
        wait_for(lambda: self.ready_count() == self.fed, timeout,
                 'all %d alarms to be Ready' % self.fed, interval=0.1)

    # -- who wrote what --
    def writes(self):
        """[(time, replica, what)] of every write, AWS and Kubernetes, the Lease excepted."""
        out = []
        for x in self.c.sim.calls():
            if x['kind'] == 'write' and x.get('accessKey'):
                out.append((x['time'], int(x['accessKey'][-9:]), 'aws ' + x['operation']))
        for x in self.k.calls():
            ua = x.get('userAgent', '')
            # The test's own requests (the Alarms it creates) carry no User-Agent of trimtab.
            if x['method'] in ('GET', 'HEAD') or '/leases' in x['path'] or \
                    not ua.startswith('trimtab/'):
                continue
            who = int(ua.split('(replica-')[1].rstrip(')')) if '(replica-' in ua else 0
            check(who > 0, 'a Kubernetes write from an unknown client', x)
            out.append((x['time'], who, 'kube %s %s %s' % (x['method'], x['path'], x['status'])))
        return sorted(out)

    def lease_writes(self):
        """[(time, replica)] of the successful writes to the Lease (acquire, renew, release),
        from kubesim's call log: when the Lease changed hands, on the server's one clock, where
        polling it from this process would see the change only some time later."""
        out = []
        for x in self.k.calls(path=LEASE):
            if x['method'] in ('POST', 'PUT') and x['status'] in (200, 201) and \
                    '(replica-' in x.get('userAgent', ''):
                out.append((x['time'], int(x['userAgent'].split('(replica-')[1].rstrip(')'))))
        return sorted(out)

    def aws_calls_by(self, i, before=None):
        return [x for x in self.c.sim.calls() if x.get('accessKey') == access_key(i)
                and (before is None or x['time'] < before)]

    def check_one_writer(self, order):
        """The writes form one run per replica, in `order` (a replica may have no writes)."""
        w = self.writes()
        runs = []
        for _, who, _ in w:
            if not runs or runs[-1] != who:
                runs.append(who)
        check(len(runs) == len(set(runs)) and all(r in order for r in runs) and
              runs == [r for r in order if r in runs],
              'more than one replica wrote at a time: runs of writers %s, expected %s' % (runs, order),
              '\n'.join('%.3f replica-%d %s' % x for x in w[-60:]))
        return w


def first_write(w, who, after=0.0):
    return next((t for t, r, _ in w if r == who and t >= after), None)


def last_write(w, who):
    return max((t for t, r, _ in w if r == who), default=None)


def setup(c, n):
    cl = Cluster(c)
    c.cluster = cl
    cl.start(1)
    cl.wait_holder('replica-1', 30)
    for i in range(2, n + 1):
        cl.start(i)
    wait_for(lambda: all(cl.logged(i, 'is a candidate for lease') for i in range(2, n + 1)), 30,
             'the other replicas to stand by')
    cl.feed()
    wait_for(lambda: cl.ready_count() >= 3, 30, 'the leader to reconcile the first alarms')
    return cl


def taken_over(cl):
    """replica-2 takes the lease from replica-1 and writes; once every Alarm is Ready, the
    writes were one replica's at a time. Returns (when replica-2 wrote the Lease it took,
    replica-1's last write of the Lease before that, the writes)."""
    cl.wait_holder('replica-2', DURATION * 4)
    wait_for(lambda: first_write(cl.writes(), 2), 30, 'the new leader to write')
    cl.stop_feeding()
    cl.wait_all_ready()
    lease = cl.lease_writes()
    taken = min(t for t, r in lease if r == 2)
    return taken, max(t for t, r in lease if r == 1 and t < taken), cl.check_one_writer([1, 2])


# ---- cases -------------------------------------------------------------------------------------

def case_leader_kill9(c):
    """Two replicas; the leader is killed with SIGKILL: the other takes over once the lease has
    gone unrenewed for its duration, and then reconciles what was created meanwhile."""
    cl = setup(c, 2)
    try:
        t_kill = time.time()
        cl.procs[1].kill()
        cl.procs[1].wait()
        taken, _, w = taken_over(cl)
        failover = taken - t_kill
        log('  kill -9 → replica-2 holds the lease after %.2f s (lease %gs, retry %gs); its first '
            'write %.2f s after the kill; %d alarms' % (failover, DURATION, RETRY,
                                                       first_write(w, 2) - t_kill, cl.fed))
        # Within the lease duration counted from the last renewal, which is at most one retry
        # period (jittered by 20 %) before the kill; plus the follower's own try interval.
        check(failover <= (DURATION + 2.4 * RETRY + 0.5) * e2e.Config.scale(),
              'failover took %.2f s' % failover)
        check(not cl.aws_calls_by(2, before=t_kill),
              'the standby called AWS before it led', cl.aws_calls_by(2, before=t_kill)[:5])
    finally:
        cl.close()


def case_leader_sigterm(c):
    """Two replicas; SIGTERM to the leader: it drains, releases the lease and exits 0, and the
    standby takes over within about a second instead of waiting out the lease."""
    cl = setup(c, 2)
    try:
        t_term = time.time()
        cl.procs[1].send_signal(signal.SIGTERM)
        rc = cl.procs[1].wait(30 * e2e.Config.scale())
        t_exit = time.time()
        check(rc == 0, 'the leader exited %d on SIGTERM' % rc)
        check(cl.logged(1, 'released lease'), 'the leader did not say it released the lease')
        taken, released, w = taken_over(cl)
        handover = taken - released
        log('  SIGTERM → released %.2f s, exit 0 %.2f s after the signal → replica-2 holds the '
            'lease %.2f s after the release; first write %.2f s after the signal'
            % (released - t_term, t_exit - t_term, handover, first_write(w, 2) - t_term))
        check(handover <= 1.0 * e2e.Config.scale(),
              'the handover took %.2f s after the release' % handover)
        lease = cl.k.request('GET', LEASE).json['spec']
        check(lease.get('leaseTransitions', 0) >= 1, 'no transition counted', lease)
    finally:
        cl.close()


def case_leader_partition(c):
    """Three replicas; the leader's calls to the API server fail (a network partition of that
    one client, AWS still reachable): it steps down at its renew deadline and writes nothing
    after, all before another replica takes the lease and writes."""
    cl = setup(c, 3)
    try:
        fault = cl.k.fault(kind='error', status=503, userAgent='(replica-1)')
        t_part = time.time()
        wait_for(lambda: cl.logged(1, 'stopped leading'), DURATION * 4,
                 'the partitioned leader to step down')
        t_down = time.time()
        holder, t_acq = cl.wait_holder({'replica-2', 'replica-3'}, DURATION * 4)
        new = int(holder[-1])
        wait_for(lambda: first_write(cl.writes(), new), 30, 'the new leader to write')
        # The partition heals: the old leader is a follower now and must stay one.
        cl.k.control('DELETE', 'faults/%d' % fault['id'])
        t_heal = time.time()
        cl.stop_feeding()
        cl.wait_all_ready()
        wait_for(lambda: cl.logged(1, 'is held by ' + holder), 10 * RETRY,
                 'the healed replica to see the new leader')
        w = cl.check_one_writer([1, new])
        first_new, last_old = first_write(w, new), last_write(w, 1)
        # The renew deadline counts from the old leader's last successful renewal, which may
        # come before the partition by more than a retry period on a busy machine: both ends
        # are taken from kubesim's call log, one clock.
        lease = cl.lease_writes()
        taken = min(t for t, r in lease if r == new)
        renewed = max(t for t, r in lease if r == 1)
        log('  partition at 0: replica-1 last renewed at %.2f s, seen stepping down at %.2f s, '
            'its last write at %.2f s; %s took the lease at %.2f s (seen at %.2f s) and wrote '
            'first at %.2f s; healed at %.2f s'
            % (renewed - t_part, t_down - t_part, last_old - t_part, holder, taken - t_part,
               t_acq - t_part, first_new - t_part, t_heal - t_part))
        check(last_old < first_new, 'the old leader wrote after the new one started')
        check(taken - renewed >= DEADLINE, 'the lease changed hands %.2f s after the old '
              'leader\'s last renewal, before its renew deadline' % (taken - renewed))
    finally:
        cl.close()


CASES = {'leader_kill9': case_leader_kill9, 'leader_sigterm': case_leader_sigterm,
         'leader_partition': case_leader_partition}

if __name__ == '__main__':
    sys.exit(e2e.main(CASES, sys.argv[1:]))
