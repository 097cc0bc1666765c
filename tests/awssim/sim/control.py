"""The control API under /_awssim/ (unsigned JSON). README.md documents every endpoint."""

import json
import urllib.parse

from . import fixtures
from .util import DEFAULT_ACCOUNT


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _body(raw):
    if not raw or not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise ControlError(400, 'body is not JSON: %s' % e)
    return doc


def handle(sim, method, path, raw_query, raw_body):
    """Serves one control request. Returns (HTTP status, JSON-able document)."""
    try:
        return 200, _route(sim, method, path.rstrip('/'), urllib.parse.parse_qs(raw_query),
                           raw_body)
    except ControlError as e:
        return e.status, {'error': e.message}
    except (ValueError, KeyError, TypeError) as e:
        return 400, {'error': '%s: %s' % (type(e).__name__, e)}


def _route(sim, method, path, query, raw_body):
    st = sim.state
    parts = path.split('/')[2:]  # after "/_awssim"
    what = parts[0] if parts else ''
    if what == 'health' and method == 'GET':
        import botocore
        return {'ok': True, 'botocore': botocore.__version__,
                'services': sorted(sim.registry.services)}
    if what == 'reset' and method == 'POST':
        body = _body(raw_body)
        st.reset()
        if body.get('fixtures', True) and sim.startup_fixtures:
            with st.lock:
                fixtures.load(sim, sim.startup_fixtures)
        return {'ok': True}
    if what == 'fixtures' and method == 'POST':
        with st.lock:
            return {'created': fixtures.load(sim, _body(raw_body))}
    if what == 'faults':
        with st.lock:
            if method == 'GET':
                return {'faults': [f.describe() for f in st.faults]}
            if method == 'POST':
                body = _body(raw_body)
                specs = body.get('faults', [body]) if isinstance(body, dict) else body
                made = [st.add_fault(s, sim.service_name).describe() for s in specs]
                return made[0] if len(made) == 1 and 'faults' not in body else {'faults': made}
            if method == 'DELETE':
                if len(parts) > 1:
                    fid = int(parts[1])
                    before = len(st.faults)
                    st.faults = [f for f in st.faults if f.id != fid]
                    if len(st.faults) == before:
                        raise ControlError(404, 'no fault %d' % fid)
                else:
                    st.faults = []
                return {'ok': True}
    if what == 'inflight' and method == 'GET':
        with st.lock:
            calls = list(st.inflight.values())
        for key in ('service', 'operation'):
            if key in query:
                want = query[key][-1]
                if key == 'service':
                    want = sim.service_name(want)
                calls = [c for c in calls if c[key] == want]
        return {'calls': calls}
    if what == 'calls':
        with st.lock:
            if method == 'GET':
                calls = list(st.calls)
                for key in ('service', 'operation', 'kind', 'status'):
                    if key in query:
                        want = query[key][-1]
                        if key == 'service':
                            want = sim.service_name(want)
                        calls = [c for c in calls if str(c[key]) == want]
                if 'since' in query:
                    since = float(query['since'][-1])
                    calls = [c for c in calls if c['time'] >= since]
                return {'calls': calls}
            if method == 'DELETE' or (method == 'POST' and parts[1:] == ['reset']):
                st.calls.clear()
                return {'ok': True}
    if what == 'delays':
        with st.lock:
            if method in ('POST', 'PUT'):
                for k, v in _body(raw_body).items():
                    if k not in st.delays:
                        raise ControlError(400, 'unknown delay %r (known: %s)'
                                           % (k, ', '.join(sorted(st.delays))))
                    if not isinstance(v, (int, float)) or v < 0:
                        raise ControlError(400, 'delay %s must be a number >= 0' % k)
                    st.delays[k] = float(v)
            return {'delays': dict(st.delays)}
    if what == 'settle' and method == 'POST':
        with st.lock:
            n = st.pending_transitions()
            st.run_due(settle=True)
            return {'settled': n}
    if what == 'budgets' and parts[1:] == ['spend'] and method == 'POST':
        body = _body(raw_body)
        from .services import budgets
        with st.lock:
            budgets.set_spend(sim, body.get('account', DEFAULT_ACCOUNT), body['budget'],
                              body.get('actual'), body.get('forecasted'), body.get('unit'))
        return {'ok': True}
    if what == 'alarms' and parts[1:] == ['state'] and method == 'POST':
        body = _body(raw_body)
        from .services import cloudwatch
        with st.lock:
            st.run_due()
            cloudwatch.control_set_state(sim, body.get('account', DEFAULT_ACCOUNT),
                                         body.get('region', 'us-east-1'), body['alarm'],
                                         body['state'], body.get('reason', 'Set by awssim control API'))
        return {'ok': True}
    if what == 'secrets' and parts[1:] == ['rotation'] and method == 'POST':
        body = _body(raw_body)
        outcome = body.get('outcome')
        if outcome not in ('succeed', 'leave-pending'):
            raise ControlError(400, 'outcome must be "succeed" or "leave-pending"')
        with st.lock:
            st.rotation_outcome[body.get('secret', '*')] = outcome
        return {'ok': True, 'rotationOutcome': dict(st.rotation_outcome)}
    if what == 'secrets' and parts[1:] == ['age'] and method == 'POST':
        body = _body(raw_body)
        from .services import secretsmanager
        with st.lock:
            n = secretsmanager.age_versions(sim, body.get('account', DEFAULT_ACCOUNT),
                                            body.get('region', 'us-east-1'), body['secret'],
                                            float(body['seconds']))
        return {'aged': n}
    if what == 'sts' and parts[1:] == ['expire'] and method == 'POST':
        import time
        with st.lock:
            n = 0
            for rec in st.credentials.values():
                if rec.get('token'):
                    rec['expires'] = time.time() - 1
                    n += 1
        return {'expired': n}
    if what == 'rds' and parts[1:] == ['maintenance'] and method == 'POST':
        body = _body(raw_body)
        from .services import rds
        with st.lock:
            st.run_due()
            n = rds.run_maintenance(sim, body.get('account', DEFAULT_ACCOUNT),
                                    body.get('region', 'us-east-1'), body.get('instance'))
        return {'applied': n}
    if what == 'iam' and parts[1:] == ['policy']:
        from . import iam
        with st.lock:
            if method == 'GET':
                return {'policies': st.iam_policies}
            body = _body(raw_body)
            principal = body.get('principal')
            if principal is None:
                key = body.get('accessKey', 'AKIDEXAMPLE')
                cred = st.credentials.get(key)
                if cred is None:
                    raise ControlError(404, 'no access key %s' % key)
                principal = iam.principal_of(cred)
            if method == 'DELETE':
                st.iam_policies.pop(principal, None)
                return {'ok': True, 'principal': principal}
            if method in ('POST', 'PUT'):
                docs = body['policy'] if isinstance(body.get('policy'), list) else [body['policy']]
                for doc in docs:
                    iam.check_policy(doc)
                st.iam_policies[principal] = docs
                return {'ok': True, 'principal': principal}
    if what == 'state' and method == 'GET':
        with st.lock:
            st.run_due()
            dump = {}
            for (account, region, service), store in st.stores.items():
                dump.setdefault(account, {}).setdefault(region, {})[service] = store
            return json.loads(json.dumps(dump, default=repr))
    raise ControlError(404, 'no control endpoint %s %s' % (method, path))
