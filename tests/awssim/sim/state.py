"""All mutable simulator state, behind one lock.

Service state lives in plain dicts, one store per (account, region, service) created on first
use; global services (CloudFront, Budgets) use the region "global". Time-driven changes (RDS
modifying -> available, CloudFront InProgress -> Deployed, ...) are scheduled callbacks that run,
under the lock, at the start of the first request handled after they are due, so a delay of 0
means "already done by the next call".
"""

import collections
import heapq
import itertools
import random
import threading
import time

from . import util

GLOBAL_REGION = 'global'
GLOBAL_SERVICE_NAMES = ('cloudfront', 'budgets')

# Seconds each kind of transition takes unless the control API says otherwise.
DEFAULT_DELAYS = {
    'rds': 2.0,            # DB instance/cluster creating|modifying -> available
    'cloudfront': 2.0,     # distribution InProgress -> Deployed
    'ecs': 2.0,            # service runningCount -> desiredCount
    'elasticache': 2.0,    # replication group creating|modifying -> available
    'lambda': 2.0,         # provisioned concurrency IN_PROGRESS -> READY
    'rotation': 0.0,       # the simulated rotation Lambda finishing its four steps
}

READ_PREFIXES = ('Describe', 'Get', 'List')
READ_OPERATIONS = {'AssumeRole', 'AssumeRoleWithWebIdentity'}

DEFAULT_ACCESS_KEY = 'AKIDEXAMPLE'
DEFAULT_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'


def op_kind(operation):
    """'read' for operations that change nothing, else 'write'."""
    if operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS:
        return 'read'
    return 'write'


class Fault:
    """One injected fault. kind: throttle | error | latency | reset. service and operation may
    be '*'. count: how many more times it fires (None: unlimited). rate: probability of firing
    per matching call (None: always)."""

    _ids = itertools.count(1)

    def __init__(self, spec, normalize_service):
        self.id = next(Fault._ids)
        self.kind = spec.get('kind', 'throttle')
        if self.kind not in ('throttle', 'error', 'latency', 'reset'):
            raise ValueError('kind must be throttle, error, latency or reset')
        self.service = normalize_service(spec.get('service', '*'))
        self.operation = spec.get('operation', '*')
        self.count = spec.get('count')
        self.rate = spec.get('rate')
        self.status = spec.get('status')
        self.code = spec.get('code')
        self.message = spec.get('message')
        self.latency_ms = spec.get('latencyMs', spec.get('latency_ms', 0))
        if self.count is not None and (not isinstance(self.count, int) or self.count < 0):
            raise ValueError('count must be a non-negative integer')
        if self.rate is not None and not (0 <= self.rate <= 1):
            raise ValueError('rate must be between 0 and 1')
        if self.kind == 'error' and self.status is None and self.code is None:
            self.status = 500
        self.fired = 0

    def matches(self, service, operation):
        return (self.service in ('*', service) and self.operation in ('*', operation)
                and (self.count is None or self.count > 0))

    def describe(self):
        return {'id': self.id, 'kind': self.kind, 'service': self.service,
                'operation': self.operation, 'count': self.count, 'rate': self.rate,
                'status': self.status, 'code': self.code, 'message': self.message,
                'latencyMs': self.latency_ms, 'fired': self.fired}


class State:
    def __init__(self, credentials=None):
        self.lock = threading.RLock()
        self.configured_credentials = dict(credentials or {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY})
        self.reset()

    def reset(self):
        """Forgets everything: services, scheduled transitions, faults, the call log, settings,
        temporary credentials and attached IAM policies."""
        with self.lock:
            self.stores = {}
            self.timers = []
            self._timer_seq = itertools.count()
            self.faults = []
            self.calls = collections.deque(maxlen=200000)
            self.inflight = {}
            self._inflight_seq = itertools.count(1)
            self.delays = dict(DEFAULT_DELAYS)
            self.rotation_outcome = {'*': 'succeed'}
            self.rng = random.Random(0)
            self.seq = itertools.count(1)
            self.credentials = {}
            self.iam_policies = {}  # principal ARN -> [policy documents] (sim/iam.py)
            for akid, secret in self.configured_credentials.items():
                self.credentials[akid] = {'secret': secret, 'token': None, 'expires': None,
                                          'account': util.DEFAULT_ACCOUNT,
                                          'arn': 'arn:aws:iam::%s:user/awssim' % util.DEFAULT_ACCOUNT,
                                          'user_id': 'AIDA' + akid[-16:].upper().rjust(16, 'X')}

    def lookup_credentials(self, access_key):
        return self.credentials.get(access_key)

    def store(self, module, account, region):
        """The store of one service in one account and region, created on first use."""
        if module.SERVICE in GLOBAL_SERVICE_NAMES:
            region = GLOBAL_REGION
        key = (account, region, module.SERVICE)
        s = self.stores.get(key)
        if s is None:
            s = module.new_store()
            self.stores[key] = s
        return s

    def next_seq(self):
        return next(self.seq)

    def later(self, kind, fn, delay=None):
        """Runs fn() (under the lock) once the delay of this kind of transition has passed."""
        d = self.delays.get(kind, 0.0) if delay is None else delay
        heapq.heappush(self.timers, (time.time() + d, next(self._timer_seq), fn))

    def run_due(self, settle=False):
        """Runs every scheduled transition that is due (all of them when settle is true)."""
        now = time.time()
        while self.timers and (settle or self.timers[0][0] <= now):
            _, _, fn = heapq.heappop(self.timers)
            fn()

    def pending_transitions(self):
        return len(self.timers)

    # ---- faults -------------------------------------------------------------------------

    def add_fault(self, spec, normalize_service):
        f = Fault(spec, normalize_service)
        self.faults.append(f)
        return f

    def pick_faults(self, service, operation):
        """The faults that fire for this call: (total latency in seconds, the first
        throttle/error/reset fault that fired or None)."""
        latency, hit = 0.0, None
        for f in self.faults:
            if not f.matches(service, operation):
                continue
            if f.kind != 'latency' and hit is not None:
                continue
            if f.rate is not None and self.rng.random() >= f.rate:
                continue
            if f.count is not None:
                f.count -= 1
            f.fired += 1
            if f.kind == 'latency':
                latency += (f.latency_ms or 0) / 1000.0
            else:
                hit = f
        return latency, hit

    # ---- call log ----------------------------------------------------------------------

    def begin_call(self, service, operation, region, t):
        """Lists a call as in flight (received, not answered yet); returns its key."""
        key = next(self._inflight_seq)
        self.inflight[key] = {'service': service, 'operation': operation, 'region': region,
                              'time': t}
        return key

    def log_call(self, service, signing_name, operation, status, code, region, account, t,
                 access_key=None):
        self.calls.append({'service': service, 'signingName': signing_name,
                           'operation': operation, 'kind': op_kind(operation) if operation else 'read',
                           'status': status, 'code': code, 'region': region, 'account': account,
                           'accessKey': access_key, 'time': t})
