"""The HTTP face of kubesim: routing of /api, /apis, discovery, OpenAPI, the resource verbs
(get, list, watch, create, update, patch, delete, deletecollection and the status subresource),
bearer-token authentication, fault injection, the call log, and the control API under
/_kubesim/."""

import base64
import copy
import hashlib
import hmac
import http.server
import json
import random
import secrets
import socket
import threading
import time
import urllib.parse

from . import discovery, kinds, patch, protobuf
from .store import ApiError, not_found

MAX_BODY = 3 * 1024 * 1024  # the API server's request size limit (3 MiB)
DRAIN_MAX = 32 * 1024 * 1024
CALLS_MAX = 200000

PATCH_TYPES = {
    'application/json-patch+json': 'json',
    'application/merge-patch+json': 'merge',
    'application/strategic-merge-patch+json': 'strategic',
    'application/apply-patch+yaml': 'apply',
    'application/apply-patch+cbor': 'unsupported',
}


class Sim:
    """Everything a handler shares: the store, tokens, faults, the call log, watch registry."""

    def __init__(self, store, tokens, bookmark_interval=1.0):
        self.store = store
        self.tokens = {t: 'admin' for t in tokens}  # bearer token -> the user it authenticates as
        self.bookmark_interval = bookmark_interval
        self.lock = threading.Lock()
        self.faults = []
        self.fault_seq = 0
        self.calls = []
        self.watches = set()        # live watch handlers (for drop/restart)
        self.down_until = 0.0       # "restarting": connections are cut until then
        self.random = random.Random(0)
        self.startup = None         # replays the start-up state after a reset
        self.client_certs = True    # a client certificate from the CA authenticates
        self.sa_tokens = {}         # TokenRequest tokens: token -> (namespace, name, uid)
        self.sa_key = secrets.token_bytes(32)

    def log_call(self, entry):
        with self.lock:
            self.calls.append(entry)
            if len(self.calls) > CALLS_MAX:
                del self.calls[:len(self.calls) - CALLS_MAX]

    def match_fault(self, method, path, watch, user_agent=''):
        """The faults that fire for this request: latency ones add up, plus the first other one."""
        delay, other = 0.0, None
        with self.lock:
            for f in self.faults:
                if f.get('count') is not None and f['count'] <= 0:
                    continue
                if f.get('method', '*') not in ('*', method):
                    continue
                if f.get('userAgent') is not None and f['userAgent'] not in user_agent:
                    continue
                if not path.startswith(f.get('path', '/')):
                    continue
                if f.get('watch') is not None and bool(f['watch']) != watch:
                    continue
                if f['kind'] != 'latency' and other is not None:
                    continue
                if f.get('rate') is not None and self.random.random() >= f['rate']:
                    continue
                if f.get('count') is not None:
                    f['count'] -= 1
                f['fired'] = f.get('fired', 0) + 1
                if f['kind'] == 'latency':
                    delay += f.get('latencyMs', 0) / 1000.0
                else:
                    other = f
        return delay, other

    def drop_watches(self):
        """Ends every open watch abruptly (the connection is closed mid-stream)."""
        with self.lock:
            ws = list(self.watches)
        for w in ws:
            w.drop()
        return len(ws)


def _status_ok(details=None):
    s = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Success'}
    if details:
        s['details'] = details
    return s


# ---- selectors ---------------------------------------------------------------------------------


def parse_label_selector(text):
    """A label selector as a list of (key, op, values); ops: = != in notin exists !exists."""
    reqs = []
    if not text:
        return reqs
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        depth += ch == '('
        depth -= ch == ')'
        cur += ch
    parts.append(cur)
    for p in (x.strip() for x in parts):
        if not p:
            continue
        low = p.replace('\t', ' ')
        if ' notin ' in low or ' in ' in low:
            key, op, rest = (low.split(' notin ', 1)[0], 'notin', low.split(' notin ', 1)[1]) if ' notin ' in low \
                else (low.split(' in ', 1)[0], 'in', low.split(' in ', 1)[1])
            rest = rest.strip()
            if not (rest.startswith('(') and rest.endswith(')')):
                raise ApiError(400, 'BadRequest', 'unable to parse requirement: found \'%s\', expected: \'(\'' % rest)
            reqs.append((key.strip(), op, {v.strip() for v in rest[1:-1].split(',') if v.strip()}))
        elif '!=' in p:
            k, v = p.split('!=', 1)
            reqs.append((k.strip(), '!=', {v.strip()}))
        elif '==' in p:
            k, v = p.split('==', 1)
            reqs.append((k.strip(), '=', {v.strip()}))
        elif '=' in p:
            k, v = p.split('=', 1)
            reqs.append((k.strip(), '=', {v.strip()}))
        elif p.startswith('!'):
            reqs.append((p[1:].strip(), '!exists', set()))
        else:
            reqs.append((p, 'exists', set()))
    return reqs


def label_match(reqs, obj):
    labels = (obj.get('metadata') or {}).get('labels') or {}
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == '=' and not (have and v in vals):
            return False
        if op == '!=' and have and v in vals:
            return False
        if op == 'in' and not (have and v in vals):
            return False
        if op == 'notin' and have and v in vals:
            return False
        if op == 'exists' and not have:
            return False
        if op == '!exists' and have:
            return False
    return True


def parse_field_selector(t, text):
    reqs = []
    for p in (text or '').split(','):
        p = p.strip()
        if not p:
            continue
        if '!=' in p:
            k, v = p.split('!=', 1)
            op = '!='
        elif '==' in p:
            k, v = p.split('==', 1)
            op = '='
        elif '=' in p:
            k, v = p.split('=', 1)
            op = '='
        else:
            raise ApiError(400, 'BadRequest', 'invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, p))
        k = k.strip()
        if k not in t.field_labels:
            raise ApiError(400, 'BadRequest', 'field label not supported: %s' % k)
        reqs.append((k, op, v.strip()))
    return reqs


def field_match(reqs, obj):
    for k, op, v in reqs:
        cur = obj
        for part in k.split('.'):
            cur = cur.get(part) if isinstance(cur, dict) else None
        have = '' if cur is None else (str(cur).lower() if isinstance(cur, bool) else str(cur))
        if isinstance(cur, dict) and k == 'source':
            have = cur.get('component', '')
        if (have == v) != (op == '='):
            return False
    return True


# ---- the handler --------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'kubesim'
    sys_version = ''
    sim = None  # set on the subclass the server builds

    def log_message(self, fmt, *args):
        if getattr(self.server, 'verbose', False):
            super().log_message(fmt, *args)

    # -- plumbing --

    def _send(self, code, body, ctype='application/json', headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_header('Audit-Id', self._audit_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in self._warnings:
            self.send_header('Warning', '299 - "%s"' % w.replace('"', '\\"'))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)
        self._status = code

    def _error(self, err):
        self._send(err.code, err.status())

    def _read_body(self):
        self._body_read = True
        n = self.headers.get('Content-Length')
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            return self._read_chunked()
        if not n:
            return b''
        try:
            n = int(n)
        except ValueError:
            raise ApiError(400, 'BadRequest', 'invalid Content-Length')
        if n > MAX_BODY:
            # The body is drained (up to a bound, so the client sees the answer instead of a
            # broken pipe) but never kept; beyond the bound the connection is closed unread.
            if n <= DRAIN_MAX:
                left = n
                while left > 0:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            else:
                self.close_connection = True
            raise ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is %d' % MAX_BODY)
        return self.rfile.read(n)

    def _read_chunked(self):
        """A chunked request body (what clients send when they stream from stdin, e.g.
        `kubectl create --raw -f -`), with the same size limit."""
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b';')[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise ApiError(400, 'BadRequest', 'malformed chunked request body')
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b''.join(parts)
            total += size
            if total > MAX_BODY:
                self.close_connection = True  # the rest is not read: the connection is done
                raise ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is %d' % MAX_BODY)
            parts.append(self.rfile.read(size))
            self.rfile.readline(16)  # the CRLF after the chunk

    def _json_body(self, raw):
        ctype = (self.headers.get('Content-Type') or 'application/json').split(';')[0].strip()
        if ctype == 'application/vnd.kubernetes.protobuf':
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as e:
                raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - '
                               'accepted media types include: application/json, application/yaml (%s)' % e)
        if ctype not in ('application/json', 'application/yaml', '*/*', ''):
            # Protobuf and CBOR bodies are not spoken; clients fall back to JSON on 415.
            raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - '
                           'accepted media types include: application/json, application/yaml')
        if ctype == 'application/yaml':
            import yaml
            try:
                return yaml.safe_load(raw.decode('utf-8'))
            except (yaml.YAMLError, UnicodeDecodeError) as e:
                raise ApiError(400, 'BadRequest', 'error decoding YAML: %s' % e)
        try:
            return json.loads(raw.decode('utf-8'))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, 'BadRequest', "the body of the request was in an unknown format - accepted "
                           "media types include: application/json, application/yaml (%s)" % e)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def _handle(self):
        self._status = 0
        self._warnings = []
        self._body_read = False
        self._audit_id = '%032x' % self.sim.random.getrandbits(128)
        start = time.time()
        url = urllib.parse.urlsplit(self.path)
        self._q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        entry = {'method': self.command, 'path': path, 'query': url.query, 'time': start,
                 'userAgent': self.headers.get('User-Agent', ''), 'watch': False, 'user': None}
        try:
            if path.startswith('/_kubesim/'):
                entry = None
                return self._control(path[len('/_kubesim/'):])
            if time.time() < self.sim.down_until:
                self.close_connection = True
                self._reset()
                entry['status'] = 0
                return
            entry['user'] = self._authenticate()
            if entry['user'] is None:
                raise ApiError(401, 'Unauthorized', 'Unauthorized')
            watch = self._q.get('watch') in ('1', 'true')
            entry['watch'] = watch
            delay, fault = self.sim.match_fault(self.command, path, watch, entry['userAgent'])
            if delay:
                time.sleep(delay)
            if fault is not None:
                if fault['kind'] == 'reset':
                    self._read_body_quietly()
                    self._reset()
                    entry['status'] = 0
                    return
                code = fault.get('status', 500)
                reason = fault.get('reason') or {500: 'InternalError', 503: 'ServiceUnavailable',
                                                 429: 'TooManyRequests', 504: 'Timeout'}.get(code, 'InternalError')
                self._read_body_quietly()
                hdr = {'Retry-After': str(fault['retryAfter'])} if fault.get('retryAfter') is not None else None
                self._send(code, ApiError(code, reason, fault.get('message') or
                                          'kubesim: injected fault %d' % fault['id']).status(), headers=hdr)
                return
            self._dispatch(path)
        except ApiError as e:
            self._error(e)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            self.close_connection = True
        except Exception as e:  # an internal error is still a Status, and logged
            import traceback
            traceback.print_exc()
            self._error(ApiError(500, 'InternalError', 'Internal error occurred: %s' % e))
        finally:
            if not self._body_read and not self.close_connection:
                # An answer given before the body was read (401, 404, ...) leaves the body on the
                # connection, where it would be parsed as the next request. Like Go's net/http,
                # discard it up to a bound and close the connection beyond that.
                self._discard_body()
            if entry is not None:
                entry['status'] = self._status
                entry['duration'] = round(time.time() - start, 4)
                self.sim.log_call(entry)

    def _discard_body(self):
        try:
            n = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            n = MAX_BODY + 1
        if n > MAX_BODY:
            self.close_connection = True
        else:
            self._read_body_quietly()

    def _read_body_quietly(self):
        self._body_read = True
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            try:
                self._read_chunked()
            except (ApiError, OSError):
                pass
            return
        try:
            n = int(self.headers.get('Content-Length') or 0)
            if 0 < n <= MAX_BODY:
                self.rfile.read(n)
        except (ValueError, OSError):
            pass

    def _reset(self):
        """Closes the connection with a TCP RST and no response."""
        self.close_connection = True
        try:
            import struct
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _authenticate(self):
        """The user a request authenticates as (what the call log shows), or None: `admin` for
        the --token tokens, `client-cert` for a client certificate, and
        `system:serviceaccount:NS:NAME` for a token a TokenRequest made, while that
        ServiceAccount (the same uid) exists, as for the API server's bound tokens."""
        auth = self.headers.get('Authorization', '')
        if not auth and self.sim.client_certs:
            try:
                if self.connection.getpeercert():
                    return 'client-cert'  # verified against the CA during the handshake
            except (AttributeError, ValueError, OSError):
                pass
        if not auth.startswith('Bearer '):
            return None
        token = auth[len('Bearer '):].strip()
        with self.sim.lock:
            user = self.sim.tokens.get(token)
            if user is not None:
                return user
            sa = self.sim.sa_tokens.get(token)
        if sa is None:
            return None
        ns, name, uid = sa
        store = self.sim.store
        try:
            obj = store.get(store.type_of('', 'v1', 'serviceaccounts'), ns, name)
        except ApiError:
            return None
        if obj['metadata'].get('uid') != uid:
            return None
        return 'system:serviceaccount:%s:%s' % (ns, name)

    # -- routing --

    def _dispatch(self, path):
        store = self.sim.store
        parts = [p for p in path.split('/') if p]
        if self.command not in ('GET', 'HEAD') and parts[:1] not in (['api'], ['apis']):
            raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
        if path in ('/healthz', '/livez', '/readyz'):
            return self._send(200, b'ok', 'text/plain; charset=utf-8')
        if path == '/version':
            return self._send(200, {'major': '1', 'minor': '35', 'gitVersion': 'v1.35.0-kubesim',
                                    'gitCommit': '0' * 40, 'gitTreeState': 'clean',
                                    'buildDate': '2026-01-01T00:00:00Z', 'goVersion': 'go1.25',
                                    'compiler': 'gc', 'platform': 'linux/amd64'})
        with store.lock:
            types = list(store.types)
        if path == '/api':
            return self._send(200, discovery.api_versions())
        if path == '/apis':
            return self._send(200, discovery.api_group_list(types))
        if path == '/openapi/v3':
            return self._send(200, discovery.openapi_index(types))
        if path.startswith('/openapi/v3/'):
            doc = discovery.openapi_doc(types, path[len('/openapi/v3/'):])
            if doc is None:
                raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
            return self._send(200, doc)
        if parts[:1] == ['api'] and len(parts) >= 2:
            group, version, rest = '', parts[1], parts[2:]
        elif parts[:1] == ['apis'] and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                doc = discovery.api_group(types, group)
                if doc is None:
                    raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
                return self._send(200, doc)
            version, rest = parts[2], parts[3:]
        else:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        if not rest:
            doc = discovery.resource_list(types, group, version)
            if doc is None or self.command != 'GET':
                raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
            return self._send(200, doc)
        ns = None
        if rest[0] == 'namespaces' and len(rest) >= 3:
            t = store.type_of(group, version, rest[2])
            if t is not None and t.namespaced:
                ns, rest = rest[1], rest[2:]
        t = store.type_of(group, version, rest[0])
        if t is None:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        if t.namespaced and ns is None and len(rest) > 1:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (sub is not None and not (
                (sub == 'status' and t.status) or (sub == 'finalize' and t.kind == 'Namespace') or
                (sub == 'token' and t.kind == 'ServiceAccount'))):
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        m = self.command
        if sub == 'token':
            if m != 'POST':
                raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested '
                               'resource')
            return self._token_request(t, ns, name)
        if name is None:
            if m in ('GET', 'HEAD'):
                return self._list_or_watch(t, ns)
            if m == 'POST':
                return self._create(t, ns)
            if m == 'DELETE':
                return self._delete_collection(t, ns)
        else:
            if m in ('GET', 'HEAD') and sub != 'finalize':
                obj = store.get(t, ns, name)
                if self._wants_table():
                    return self._send(200, kinds.table(t, [obj], obj['metadata']['resourceVersion'],
                                                       self._q.get('includeObject', 'Metadata')))
                return self._send(200, obj)
            if m == 'PUT':
                return self._put(t, ns, name, sub)
            if m == 'PATCH' and sub != 'finalize':
                return self._patch(t, ns, name, sub)
            if m == 'DELETE' and sub is None:
                return self._delete(t, ns, name)
        raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')

    # -- verbs --

    def _dry_run(self):
        d = self._q.get('dryRun')
        if d not in (None, '', 'All'):
            raise ApiError(400, 'BadRequest', 'Invalid dry run value: %s' % d)
        return d == 'All'

    def _field_validation(self):
        # Without the parameter the API server warns (kubectl asks for Strict explicitly).
        v = self._q.get('fieldValidation') or 'Warn'
        if v not in ('Strict', 'Warn', 'Ignore'):
            raise ApiError(400, 'BadRequest', 'fieldValidation must be one of Ignore, Warn, or Strict, got %s' % v)
        return v

    def _manager(self, required=False):
        m = self._q.get('fieldManager')
        if m:
            if len(m) > 128:
                raise ApiError(400, 'BadRequest', 'fieldManager: Too long: may not be more than 128 bytes')
            return m
        if required:
            raise ApiError(400, 'BadRequest', 'PATCH request with apply content type requires fieldManager')
        return (self.headers.get('User-Agent') or 'unknown').split('/')[0] or 'unknown'

    def _wants_table(self):
        return 'as=Table' in (self.headers.get('Accept') or '')

    def _create(self, t, ns):
        obj = self._json_body(self._read_body())
        out = self.sim.store.create(t, ns, obj, self._dry_run(), self._field_validation(), self._manager(),
                                    self._warnings)
        self._send(201, out)

    def _token_request(self, t, ns, name):
        """POST …/serviceaccounts/NAME/token (what `kubectl create token` sends): a JWT-shaped
        token signed with a key of this run, accepted while the ServiceAccount exists.
        Expiry is reported, not enforced."""
        raw = self._read_body()
        body = self._json_body(raw) if raw else {}
        sa = self.sim.store.get(t, ns, name)  # 404 when there is no such ServiceAccount
        uid = sa['metadata']['uid']
        spec = (body or {}).get('spec') or {}
        audiences = spec.get('audiences') or ['https://kubernetes.default.svc.cluster.local']
        seconds = int(spec.get('expirationSeconds') or 3600)
        now = int(time.time())
        user = 'system:serviceaccount:%s:%s' % (ns, name)
        claims = {'aud': audiences, 'exp': now + seconds, 'iat': now, 'nbf': now,
                  'iss': 'https://kubernetes.default.svc.cluster.local', 'sub': user,
                  'jti': secrets.token_hex(16),
                  'kubernetes.io': {'namespace': ns, 'serviceaccount': {'name': name, 'uid': uid}}}

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
        signing = '%s.%s' % (b64(json.dumps({'alg': 'HS256', 'kid': 'kubesim'}).encode()),
                             b64(json.dumps(claims, separators=(',', ':')).encode()))
        token = signing + '.' + b64(hmac.new(self.sim.sa_key, signing.encode(), hashlib.sha256).digest())
        with self.sim.lock:
            self.sim.sa_tokens[token] = (ns, name, uid)
        expires = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + seconds))
        self._send(201, {'kind': 'TokenRequest', 'apiVersion': 'authentication.k8s.io/v1',
                         'metadata': {'name': name, 'namespace': ns, 'creationTimestamp': None},
                         'spec': {'audiences': audiences, 'expirationSeconds': seconds,
                                  'boundObjectRef': spec.get('boundObjectRef')},
                         'status': {'token': token, 'expirationTimestamp': expires}})

    def _put(self, t, ns, name, sub):
        obj = self._json_body(self._read_body())
        out, created = self.sim.store.update(t, ns, name, obj, sub, self._dry_run(), self._field_validation(),
                                             self._manager(), 'Update', self._warnings)
        self._send(201 if created else 200, out)

    def _patch(self, t, ns, name, sub):
        ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip()
        kind = PATCH_TYPES.get(ctype)
        if kind is None or kind == 'unsupported' or (kind == 'strategic' and not t.smp):
            if kind == 'strategic':
                raise ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for %s; use '
                               'application/merge-patch+json or application/json-patch+json' % t.qualified())
            raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - '
                           'accepted media types include: application/json-patch+json, '
                           'application/merge-patch+json, application/apply-patch+yaml')
        raw = self._read_body()
        try:
            doc = patch.decode_body(raw, ctype)
        except Exception as e:  # noqa: BLE001 - any decoding failure is the client's
            raise ApiError(400, 'BadRequest', 'error decoding patch: %s' % e)
        store = self.sim.store
        # Patches are applied to the object as read, then written as an update; a conflict in
        # between (another writer) retries, as the API server's GuaranteedUpdate does.
        for _ in range(5):
            try:
                cur = store.get(t, ns, name)
            except ApiError as e:
                if e.code == 404 and kind == 'apply' and sub is None:
                    if not isinstance(doc, dict):
                        raise ApiError(400, 'BadRequest', 'apply patch must be an object')
                    obj = copy.deepcopy(doc)
                    obj.setdefault('metadata', {})['name'] = name
                    if t.namespaced:
                        obj['metadata'].setdefault('namespace', ns)
                    out = store.create(t, ns, obj, self._dry_run(), self._field_validation(),
                                       self._manager(required=True), self._warnings, operation='Apply')
                    return self._send(201, out)
                raise
            base_rv = cur['metadata']['resourceVersion']
            try:
                if kind == 'json':
                    new = patch.json_patch(cur, doc)
                elif kind == 'merge':
                    new = patch.merge_patch(cur, doc)
                elif kind == 'strategic':
                    new = patch.strategic_merge_patch(cur, doc)
                else:
                    manager = self._manager(required=True)
                    if not isinstance(doc, dict):
                        raise ApiError(400, 'BadRequest', 'apply patch must be an object')
                    new = patch.apply_patch(cur, doc)
            except patch.PatchError as e:
                raise ApiError(e.code, e.reason, str(e))
            if not isinstance(new, dict):
                raise ApiError(422, 'Invalid', 'the patched object is not an object')
            md = new.setdefault('metadata', {})
            explicit_rv = isinstance(doc, dict) and isinstance(doc.get('metadata'), dict) and \
                doc['metadata'].get('resourceVersion')
            if not explicit_rv:
                md['resourceVersion'] = base_rv
            try:
                out, _ = store.update(t, ns, name, new, sub, self._dry_run(), self._field_validation(),
                                      self._manager() if kind != 'apply' else self._manager(True),
                                      'Apply' if kind == 'apply' else 'Update', self._warnings)
            except ApiError as e:
                if e.code == 409 and e.reason == 'Conflict' and not explicit_rv:
                    continue
                raise
            return self._send(200, out)
        raise ApiError(409, 'Conflict', 'too many concurrent writers to %s "%s"' % (t.qualified(), name))

    def _delete_options(self):
        raw = self._read_body()
        opts = self._json_body(raw) if raw.strip() else {}
        if not isinstance(opts, dict):
            raise ApiError(400, 'BadRequest', 'DeleteOptions must be an object')
        dry = self._dry_run() or 'All' in (opts.get('dryRun') or [])
        return opts, dry

    def _delete(self, t, ns, name):
        opts, dry = self._delete_options()
        out, pending = self.sim.store.delete(t, ns, name, opts.get('preconditions'), dry)
        # An object that waits on finalizers comes back as it now is (202 for a namespace, as
        # the API server answers a deletion that is not complete); one that is gone too.
        self._send(202 if (pending and t.kind == 'Namespace') else 200, out)

    def _delete_collection(self, t, ns):
        _, dry = self._delete_options()
        lsel = parse_label_selector(self._q.get('labelSelector'))
        fsel = parse_field_selector(t, self._q.get('fieldSelector'))
        items, rv, _, _ = self.sim.store.list(t, ns, lambda o: label_match(lsel, o) and field_match(fsel, o))
        for o in items:
            try:
                self.sim.store.delete(t, o['metadata'].get('namespace'), o['metadata']['name'], None, dry)
            except ApiError as e:
                if e.code != 404:
                    raise
        self._send(200, {'kind': t.list_kind, 'apiVersion': t.api_version,
                         'metadata': {'resourceVersion': str(self.sim.store.rv)}, 'items': items})

    def _list_or_watch(self, t, ns):
        lsel = parse_label_selector(self._q.get('labelSelector'))
        fsel = parse_field_selector(t, self._q.get('fieldSelector'))

        def match(o):
            return label_match(lsel, o) and field_match(fsel, o)
        if self._q.get('watch') in ('1', 'true'):
            return self._watch(t, ns, match)
        store = self.sim.store
        rv = self._q.get('resourceVersion')
        rvm = self._q.get('resourceVersionMatch')
        if rvm and rv in (None, ''):
            raise ApiError(422, 'Invalid', 'resourceVersionMatch is forbidden unless resourceVersion is provided')
        if rv not in (None, '', '0'):
            try:
                n = int(rv)
            except ValueError:
                raise ApiError(400, 'BadRequest', 'resourceVersion: Invalid value: "%s": must be an integer' % rv)
            with store.lock:
                if rvm == 'Exact' and n != store.rv:
                    # kubesim keeps no snapshots: only the current version can be listed exactly.
                    raise ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.')
                if n < store.compacted and rvm == 'Exact':
                    raise ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.')
        try:
            limit = int(self._q.get('limit') or 0)
        except ValueError:
            raise ApiError(400, 'BadRequest', 'limit must be an integer')
        items, rv, cont, remaining = store.list(t, ns, match, limit, self._q.get('continue'))
        if self._wants_table():
            tab = kinds.table(t, items, rv, self._q.get('includeObject', 'Metadata'))
            if cont:
                tab['metadata']['continue'] = cont
            return self._send(200, tab, 'application/json')
        md = {'resourceVersion': rv}
        if cont:
            md['continue'] = cont
            md['remainingItemCount'] = remaining
        self._send(200, {'apiVersion': t.api_version, 'kind': t.list_kind, 'metadata': md, 'items': items})

    # -- watch --

    def drop(self):
        self._dropped = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self.sim.store.cond:
            self.sim.store.cond.notify_all()

    def _chunk(self, obj):
        if self._table_watch and obj.get('type') in ('ADDED', 'MODIFIED', 'DELETED'):
            # `kubectl get -w` asks for Tables: each event carries a one-row Table, the column
            # definitions only in the first one (the header is printed once).
            t, include = self._table_watch
            tab = kinds.table(t, [obj['object']], obj['object']['metadata']['resourceVersion'], include)
            if self._table_rows_sent:
                tab['columnDefinitions'] = []
            self._table_rows_sent = True
            obj = {'type': obj['type'], 'object': tab}
        data = (json.dumps(obj) + '\n').encode()
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    def _watch(self, t, ns, match):
        store = self.sim.store
        q = self._q
        rv = q.get('resourceVersion')
        bookmarks = q.get('allowWatchBookmarks') in ('1', 'true')
        initial = q.get('sendInitialEvents') in ('1', 'true')
        if initial and q.get('resourceVersionMatch') != 'NotOlderThan':
            raise ApiError(422, 'Invalid', 'sendInitialEvents is forbidden unless resourceVersionMatch is NotOlderThan')
        try:
            timeout = float(q.get('timeoutSeconds') or 1800)
        except ValueError:
            raise ApiError(400, 'BadRequest', 'timeoutSeconds must be a number')
        deadline = time.time() + min(timeout, 3600)
        self._dropped = False
        self._table_watch = (t, q.get('includeObject', 'Metadata')) if self._wants_table() else None
        self._table_rows_sent = False
        pending = []
        with store.lock:
            if rv in (None, '', '0') or initial:
                # Start from "now" after synthetic ADDED events for what exists (what a watch
                # with no or a zero resourceVersion, or sendInitialEvents, gets).
                items, cur_rv, _, _ = store.list(t, ns, match)
                pending = [{'type': 'ADDED', 'object': o} for o in items]
                cursor = int(cur_rv)
                if initial and rv not in (None, '', '0') and int(rv) > cursor:
                    cursor = int(rv)
            else:
                try:
                    cursor = int(rv)
                except ValueError:
                    raise ApiError(400, 'BadRequest', 'resourceVersion: Invalid value: "%s"' % rv)
            too_old = rv not in (None, '', '0') and not initial and cursor + 1 < store.compacted
            compacted = store.compacted
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_header('Audit-Id', self._audit_id)
        self.end_headers()
        self._status = 200
        self.close_connection = True
        if too_old:
            # What the API server's watch cache does: 200, then one ERROR event with 410.
            self._chunk({'type': 'ERROR', 'object': ApiError(
                410, 'Expired', 'too old resource version: %d (%d)' % (cursor, compacted - 1)).status()})
            self.wfile.write(b'0\r\n\r\n')
            return
        with self.sim.lock:
            self.sim.watches.add(self)
        try:
            for ev in pending:
                self._chunk(ev)
            if initial:
                self._chunk({'type': 'BOOKMARK', 'object': self._bookmark(t, cursor, True)})
            last_bookmark = time.time()
            while not self._dropped:
                with store.cond:
                    evs = [e for e in store.events_since(cursor) if e.storage == t.storage]
                    if not evs and not self._dropped:
                        wait = min(deadline - time.time(),
                                   (last_bookmark + self.sim.bookmark_interval - time.time()) if bookmarks else 60)
                        if wait > 0:
                            store.cond.wait(wait)
                        evs = [e for e in store.events_since(cursor) if e.storage == t.storage]
                    now_rv = store.rv
                if self._dropped:
                    break
                for e in evs:
                    cursor = e.rv
                    out = self._watch_event(t, ns, match, e)
                    if out is not None:
                        self._chunk(out)
                if time.time() >= deadline:
                    break
                if bookmarks and time.time() - last_bookmark >= self.sim.bookmark_interval:
                    cursor = max(cursor, now_rv) if not evs else cursor
                    self._chunk({'type': 'BOOKMARK', 'object': self._bookmark(t, cursor, False)})
                    last_bookmark = time.time()
            if not self._dropped:
                self.wfile.write(b'0\r\n\r\n')
                self.wfile.flush()
        except OSError:
            pass
        finally:
            with self.sim.lock:
                self.sim.watches.discard(self)

    def _bookmark(self, t, rv, initial_end):
        md = {'resourceVersion': str(rv)}
        if initial_end:
            md['annotations'] = {'k8s.io/initial-events-end': 'true'}
        return {'kind': t.kind, 'apiVersion': t.api_version, 'metadata': md}

    def _watch_event(self, t, ns, match, e):
        """The event a watcher sees: objects moving into or out of its selection come as ADDED
        and DELETED, as the API server's watch filter does."""
        new = t.to_api(copy.deepcopy(e.obj))
        if ns is not None and new['metadata'].get('namespace') != ns:
            return None
        now_in = match(new)
        if e.type == 'MODIFIED' and e.old is not None:
            old = t.to_api(copy.deepcopy(e.old))
            was_in = match(old)
            if now_in and not was_in:
                return {'type': 'ADDED', 'object': new}
            if was_in and not now_in:
                return {'type': 'DELETED', 'object': new}
        if not now_in:
            return None
        return {'type': e.type, 'object': new}

    # -- control API --

    def _control(self, what):
        sim = self.sim
        store = sim.store
        m = self.command
        raw = self._read_body() if m in ('POST', 'PUT') else b''
        try:
            body = json.loads(raw.decode()) if raw.strip() else {}
        except ValueError as e:
            return self._send(400, {'error': 'bad JSON: %s' % e})
        if what == 'health' and m == 'GET':
            return self._send(200, {'ok': True, 'resourceVersion': store.rv})
        if what == 'calls':
            if m == 'DELETE':
                with sim.lock:
                    sim.calls = []
                return self._send(200, {'ok': True})
            with sim.lock:
                calls = list(sim.calls)
            for k in ('method', 'status'):
                if k in self._q:
                    calls = [c for c in calls if str(c[k]) == self._q[k]]
            if 'path' in self._q:
                calls = [c for c in calls if c['path'].startswith(self._q['path'])]
            if 'since' in self._q:
                calls = [c for c in calls if c['time'] >= float(self._q['since'])]
            return self._send(200, {'calls': calls})
        if what == 'faults':
            if m == 'GET':
                with sim.lock:
                    return self._send(200, {'faults': list(sim.faults)})
            if m == 'DELETE':
                with sim.lock:
                    sim.faults = []
                return self._send(200, {'ok': True})
            if m == 'POST':
                specs = body.get('faults', [body]) if isinstance(body, dict) else None
                out = []
                for f in specs or []:
                    if not isinstance(f, dict) or f.get('kind') not in ('error', 'latency', 'reset'):
                        return self._send(400, {'error': 'a fault needs kind error, latency or reset'})
                    with sim.lock:
                        sim.fault_seq += 1
                        f = dict(f, id=sim.fault_seq, fired=0)
                        sim.faults.append(f)
                    out.append(f)
                return self._send(200, {'faults': out})
        if what.startswith('faults/') and m == 'DELETE':
            with sim.lock:
                before = len(sim.faults)
                sim.faults = [f for f in sim.faults if str(f['id']) != what.split('/', 1)[1]]
                ok = len(sim.faults) != before
            return self._send(200 if ok else 404, {'ok': ok} if ok else {'error': 'no such fault'})
        if what == 'watches/drop' and m == 'POST':
            return self._send(200, {'dropped': sim.drop_watches()})
        if what == 'watches' and m == 'GET':
            with sim.lock:
                return self._send(200, {'watches': [w.path for w in sim.watches]})
        if what == 'compact' and m == 'POST':
            return self._send(200, {'compacted': store.compact()})
        if what == 'restart' and m == 'POST':
            # A restart as clients see it: every watch and connection cut, the event history
            # compacted (old resourceVersions answer 410), new connections refused for a while.
            down = float(body.get('downSeconds', 0.5))
            sim.down_until = time.time() + down
            dropped = sim.drop_watches()
            rv = store.compact() if body.get('compact', True) else store.rv
            return self._send(200, {'dropped': dropped, 'resourceVersion': rv, 'downSeconds': down})
        if what == 'client-certs' and m == 'POST':
            sim.client_certs = bool(body.get('enabled', True))
            return self._send(200, {'enabled': sim.client_certs})
        if what == 'tokens':
            if m == 'POST':
                toks = body.get('tokens')
                if isinstance(toks, list):
                    toks = {x: 'admin' for x in toks} if all(isinstance(x, str) for x in toks) else None
                if not isinstance(toks, dict) or not all(isinstance(t, str) and t and isinstance(u, str) and u
                                                         for t, u in toks.items()):
                    return self._send(400, {'error': 'tokens must be a list of strings or an object '
                                                     'of token: user'})
                with sim.lock:
                    sim.tokens = toks
            with sim.lock:
                return self._send(200, {'tokens': dict(sorted(sim.tokens.items()))})
        if what == 'bookmarks' and m == 'POST':
            sim.bookmark_interval = float(body.get('intervalSeconds', sim.bookmark_interval))
            return self._send(200, {'intervalSeconds': sim.bookmark_interval})
        if what == 'reset' and m == 'POST':
            sim.down_until = 0.0
            sim.drop_watches()
            store.reset()
            if body.get('startup', True) and sim.startup is not None:
                sim.startup()  # the --crds and --namespace of the command line, again
            with sim.lock:
                sim.faults, sim.calls = [], []
            return self._send(200, {'ok': True})
        if what == 'state' and m == 'GET':
            return self._send(200, store.dump())
        return self._send(404, {'error': 'no such control endpoint: %s %s' % (m, what)})


def make_handler(sim):
    return type('KubesimHandler', (Handler,), {'sim': sim})


__all__ = ['Sim', 'Handler', 'make_handler', 'not_found']
