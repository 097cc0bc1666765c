"""One request from bytes to response: find the service and operation, verify the signature,
apply injected faults, parse and validate the input, run the handler under the state lock,
serialise the output or the error, log the call."""

import sys
import time
import traceback
import uuid

from . import iam, sigv4, validate, wire
from .errors import (AwsError, TypeProblem, auth_error, missing_action, server_error,
                     throttling_error, type_error, unknown_operation)
from .model import GLOBAL_SERVICES, SIGNING_NAMES, Registry
from .services import Ctx, all_modules
from .state import State

# Returned instead of a response when a "reset" fault fires: the server drops the connection.
RESET = object()


class Simulator:
    def __init__(self, credentials=None, verbose=False):
        self.registry = Registry()
        self.state = State(credentials)
        self.modules = all_modules()
        self.verbose = verbose
        self.startup_fixtures = None

    def service_name(self, name):
        """Accepts a botocore service name or a signing name ("monitoring"); returns botocore's
        name, '*' unchanged."""
        if name == '*' or name in self.registry.services:
            return name
        if name in SIGNING_NAMES:
            return SIGNING_NAMES[name]
        raise ValueError('unknown service %r' % name)

    def _service_for(self, req, scope):
        if isinstance(scope, sigv4.Scope):
            return self.registry.by_signing_name(scope.service)
        target = req.headers.get('X-Amz-Target')
        if target:
            return self.registry.by_target.get(target.rpartition('.')[0])
        ct = (req.headers.get('Content-Type') or '').lower()
        if ct.startswith('application/x-www-form-urlencoded') or 'Action' in req.query:
            action = wire.query_params(req).get('Action')
            owners = [s for s in self.registry.services.values()
                      if 'query' in s.protocols and action in s.raw['operations']]
            if len(owners) == 1:
                return owners[0]
        for s in self.registry.services.values():
            if s.rest and s.route(req.method, req.raw_path, req.query):
                return s
        return None

    def handle(self, req):
        """Serves one AWS API request. Returns a wire.HttpResponse, or RESET. While it is
        served (held by a latency fault, say) the call is listed as in flight."""
        held = []
        try:
            return self._handle(req, held)
        finally:
            if held:
                with self.state.lock:
                    self.state.inflight.pop(held[0], None)

    def _handle(self, req, held):
        t0 = time.time()
        request_id = str(uuid.uuid4())
        svc, protocol, op_name, region, account = None, 'json', None, None, None
        resp = None
        try:
            scope = None
            auth = req.headers.get('Authorization')
            if auth:
                scope = sigv4.parse_authorization(auth)
            svc = self._service_for(req, scope)
            if svc is None:
                name = scope.service if isinstance(scope, sigv4.Scope) else 'unknown'
                raise AwsError('UnrecognizedServiceException',
                               'awssim does not simulate the service %r' % name, status=400)
            protocol = wire.detect_protocol(svc, req)
            flat, uri_params = None, None
            if protocol == 'json':
                prefix, _, op_name = req.headers.get('X-Amz-Target', '').rpartition('.')
                if prefix != svc.target_prefix:
                    raise unknown_operation(protocol, op_name)
            elif protocol == 'query':
                flat = wire.query_params(req)
                op_name = flat.get('Action')
                if not op_name:
                    raise missing_action()
            else:
                found = svc.route(req.method, req.raw_path, req.query)
                if not found:
                    raise unknown_operation(protocol, '%s %s' % (req.method, req.raw_path))
                op_name, uri_params = found
            op = svc.operation(op_name)
            if op is None:
                raise unknown_operation(protocol, op_name)
            module = self.modules[svc.name]
            handler = module.OPS.get(op_name)

            identity = None
            if op.auth_type == 'none' and not isinstance(scope, sigv4.Scope):
                region = GLOBAL_SERVICES.get(svc.name, 'us-east-1')
            else:
                if scope is None:
                    raise auth_error(protocol, 'missing')
                if isinstance(scope, str):
                    raise auth_error(protocol, 'incomplete', scope.split(': ', 1)[1])
                identity = sigv4.verify(protocol, scope, req.method, req.raw_path,
                                        req.query_pairs, req.headers, req.body,
                                        self.state.lookup_credentials)
                region = scope.region
            account = identity['account'] if identity else None
            if handler is None:
                raise unknown_operation(protocol, op_name)

            with self.state.lock:
                latency, fault = self.state.pick_faults(svc.name, op_name)
                held.append(self.state.begin_call(svc.name, op_name, region, t0))
            if latency:
                time.sleep(latency)
            if fault is not None:
                if fault.kind == 'reset':
                    return RESET
                err = throttling_error(svc.name) if fault.kind == 'throttle' else \
                    server_error(svc.name, fault.status or 500)
                if fault.code:
                    err.code = fault.code
                if fault.status:
                    err.status = fault.status
                if fault.message:
                    err.message = fault.message
                raise err

            try:
                params = wire.parse_input(protocol, op, req, uri_params, flat)
            except TypeProblem as e:
                raise type_error(svc.name, protocol, e)
            if op.input_shape is not None:
                violations = validate.check(op.input_shape, params)
                if violations:
                    raise validate.to_error(svc.name, violations)

            with self.state.lock:
                self.state.run_due()
                ctx = Ctx(self.state, module, account or identity_account(params), region,
                          identity, op_name, req.headers)
                account = ctx.account
                iam.authorize(self.state, svc.name, protocol, module, ctx, op_name, params)
                out = handler(ctx, params)
                resp = wire.serialize(svc, protocol, op, out, request_id)
        except AwsError as e:
            resp = wire.serialize_error(svc, protocol, e, request_id)
        except wire.OutputError as e:
            sys.stderr.write('awssim: bad output for %s: %s\n' % (op_name, e))
            resp = wire.serialize_error(svc, protocol, AwsError(
                'InternalFailure', 'awssim produced an invalid response: %s' % e,
                status=500, sender=False), request_id)
        except Exception as e:  # a simulator bug: answer like AWS would, say what broke
            traceback.print_exc()
            resp = wire.serialize_error(svc, protocol, AwsError(
                'InternalFailure', 'awssim internal error: %s' % e, status=500, sender=False),
                request_id)
        code = None
        if resp.status >= 300:
            code = _error_code(resp)
        with self.state.lock:
            self.state.log_call(svc.name if svc else None,
                                svc.model.signing_name if svc else None,
                                op_name, resp.status, code, region, account, t0,
                                scope.access_key if isinstance(scope, sigv4.Scope) else None)
        if self.verbose:
            sys.stderr.write('awssim: %s %s -> %d %s\n' % (svc.name if svc else '?', op_name,
                                                           resp.status, code or ''))
        return resp


def identity_account(params):
    """For unsigned calls (AssumeRoleWithWebIdentity) the account is the role's."""
    role = params.get('RoleArn', '')
    parts = role.split(':')
    if len(parts) > 4 and parts[4].isdigit():
        return parts[4]
    from .util import DEFAULT_ACCOUNT
    return DEFAULT_ACCOUNT


def _error_code(resp):
    for k, v in resp.headers:
        if k == 'x-amzn-query-error':
            return v.split(';')[0]
        if k == 'x-amzn-ErrorType':
            return v
    body = resp.body
    if body.startswith(b'{'):
        import json
        try:
            return json.loads(body).get('__type')
        except ValueError:
            return None
    start = body.find(b'<Code>')
    if start >= 0:
        end = body.find(b'</Code>', start)
        return body[start + 6:end].decode()
    return None
