#!/usr/bin/env python3
"""Start kubesim from tests (`KubeSim`), or from a shell to run one command against a fresh
simulator:

    python3 tests/kubesim/kubesim.py --crds crds -- kubectl get scalingpolicies -A

(the command gets KUBECONFIG pointing at the simulator's kubeconfig)."""

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class KubeSimError(Exception):
    pass


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body.decode()) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return '<Response %d %s>' % (self.status, self.raw[:200])


class Watch:
    """A streaming watch: iterate `events(timeout)` for parsed event dicts; None means the
    stream ended (server closed it or the timeout passed)."""

    def __init__(self, sim, path, token):
        self.conn = sim._connection(timeout=30)
        self.conn.putrequest('GET', path)
        self.conn.putheader('Authorization', 'Bearer ' + token)
        self.conn.putheader('Accept', 'application/json')
        self.conn.endheaders()
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict(self.resp.getheaders())
        self.buf = b''

    def next(self, timeout=5.0):
        """The next event, or None when the stream ends or nothing comes within timeout."""
        self.conn.sock.settimeout(timeout)
        try:
            line = self.resp.readline()
        except (socket.timeout, TimeoutError):
            return 'timeout'
        except (http.client.HTTPException, OSError, ValueError):
            return None
        if not line:
            return None
        return json.loads(line.decode())

    def collect(self, n, timeout=5.0, skip_bookmarks=True):
        """Up to n events (bookmarks left out unless asked), waiting at most timeout overall."""
        out, deadline = [], time.time() + timeout
        while len(out) < n and time.time() < deadline:
            ev = self.next(max(0.05, deadline - time.time()))
            if ev is None:
                break
            if ev == 'timeout':
                continue
            if skip_bookmarks and ev.get('type') == 'BOOKMARK':
                continue
            out.append(ev)
        return out

    def close(self):
        try:
            self.conn.close()
        except OSError:
            pass


class KubeSim:
    """A kubesim child process on a free port. Attributes: endpoint, port, kubeconfig, ca,
    token, dir, startup_seconds."""

    def __init__(self, crds=None, namespaces=(), tokens=None, python=None, verbose=False,
                 bookmark_interval=None, stderr=None):
        self.dir = tempfile.mkdtemp(prefix='kubesim-')
        cmd = [python or sys.executable, os.path.join(HERE, 'server.py'), '--dir', self.dir]
        for c in ([crds] if isinstance(crds, str) else crds or []):
            cmd += ['--crds', c]
        for ns in namespaces:
            cmd += ['--namespace', ns]
        for t in tokens or []:
            cmd += ['--token', t]
        if bookmark_interval is not None:
            cmd += ['--bookmark-interval', str(bookmark_interval)]
        if verbose:
            cmd.append('--verbose')
        t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        info = {}
        while len(info) < 4:
            line = self.proc.stdout.readline()
            if not line:
                raise KubeSimError('kubesim exited before it was ready (status %s)' % self.proc.wait())
            k, _, v = line.strip().partition(' ')
            info[k] = v
        self.startup_seconds = time.time() - t0
        self.endpoint = info['endpoint']
        self.kubeconfig = info['kubeconfig']
        self.ca = info['ca']
        self.token = info['token']
        u = urllib.parse.urlsplit(self.endpoint)
        self.host, self.port = u.hostname, u.port
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # ---- raw HTTP ------------------------------------------------------------------------------

    def _connection(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=True, content_type=None, raw=None):
        """One request; `token` True = the simulator's token, a string = that token, None = none.
        `body` is JSON-encoded (raw bytes go as they are). Returns a Response."""
        h = {'Accept': 'application/json'}
        if token:
            h['Authorization'] = 'Bearer ' + (self.token if token is True else token)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h['Content-Type'] = content_type or 'application/json'
        h.update(headers or {})
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            conn.close()

    def watch(self, path, token=True):
        return Watch(self, path, self.token if token is True else token)

    # ---- control API ---------------------------------------------------------------------------

    def control(self, method, what, body=None):
        r = self.request(method, '/_kubesim/' + what, body, token=None)
        if r.status >= 300:
            raise KubeSimError('control %s %s: %d %s' % (method, what, r.status, r.raw))
        return r.json

    def calls(self, **filt):
        q = urllib.parse.urlencode(filt)
        return self.control('GET', 'calls' + ('?' + q if q else ''))['calls']

    def reset_calls(self):
        self.control('DELETE', 'calls')

    def fault(self, **spec):
        return self.control('POST', 'faults', spec)['faults'][0]

    def clear_faults(self):
        self.control('DELETE', 'faults')

    def drop_watches(self):
        return self.control('POST', 'watches/drop')['dropped']

    def compact(self):
        return self.control('POST', 'compact')['compacted']

    def restart(self, down_seconds=0.5, compact=True):
        return self.control('POST', 'restart', {'downSeconds': down_seconds, 'compact': compact})

    def set_tokens(self, tokens):
        return self.control('POST', 'tokens', {'tokens': tokens})

    # ---- kubectl -------------------------------------------------------------------------------

    def kubectl_env(self):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, KUBECACHEDIR=os.path.join(self.dir, 'cache'))
        env.pop('KUBERNETES_SERVICE_HOST', None)
        return env

    def kubectl(self, kubectl, *args, input=None, timeout=60, check=False):
        """Runs the kubectl binary at path `kubectl` against the simulator."""
        p = subprocess.run([kubectl] + [str(a) for a in args], input=input, capture_output=True, text=True,
                           env=self.kubectl_env(), timeout=timeout)
        if check and p.returncode != 0:
            raise KubeSimError('kubectl %s: exit %d\n%s%s' % (' '.join(map(str, args)), p.returncode,
                                                             p.stdout, p.stderr))
        return p


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--crds', action='append', default=[])
    ap.add_argument('--namespace', action='append', default=[])
    ap.add_argument('command', nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ['--'] else args.command
    with KubeSim(crds=args.crds, namespaces=args.namespace) as sim:
        print('kubesim at %s, KUBECONFIG=%s' % (sim.endpoint, sim.kubeconfig), file=sys.stderr)
        if not cmd:
            return 0
        return subprocess.call(cmd, env=sim.kubectl_env())


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
