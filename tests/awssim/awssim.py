#!/usr/bin/env python3
"""Start and stop the AWS simulator from tests (and from shell scripts).

    from awssim import AwsSim
    with AwsSim(fixtures='demo.json') as sim:
        ecs = sim.client('ecs')                 # a boto3 client pointed at the simulator
        sim.control('POST', 'faults', {'service': 'ecs', 'kind': 'throttle', 'count': 2})
        ...
        assert [c['operation'] for c in sim.calls()] == [...]

or, to run any command against a fresh simulator (its environment gets AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION):

    python3 tests/awssim/awssim.py [--fixtures FILE] -- ./build/cmd/trimtab run --once ...

Standard library only (boto3 is imported by client() when asked for).
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'server.py')
ACCESS_KEY = 'AKIDEXAMPLE'
SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
ACCOUNT = '123456789012'


class AwsSimError(Exception):
    """The simulator could not start, or a control call failed (status and body attached)."""

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


class AwsSim:
    """One simulator process on a free loopback port.

    fixtures: path of a fixtures JSON file, or a dict/list (written to a temporary file);
    credentials: {access key: secret} accepted instead of the default pair;
    python: interpreter running the server (default: this one);
    strict: make the server fail loudly (HTTP 500) on any response its model does not allow;
    stderr: where the server's stderr goes (default: inherited)."""

    def __init__(self, fixtures=None, credentials=None, python=None, strict=False, verbose=False,
                 stderr=None, start_timeout=30):
        self.fixtures = fixtures
        self.credentials = credentials
        self.python = python or sys.executable
        self.strict = strict
        self.verbose = verbose
        self.stderr = stderr
        self.start_timeout = start_timeout
        self.proc = None
        self.endpoint = None
        self.port = None
        self.startup_seconds = None
        self._fixture_file = None

    # ---- life cycle -----------------------------------------------------------------------

    def start(self):
        cmd = [self.python, SERVER, '--port', '0']
        if self.fixtures is not None:
            path = self.fixtures
            if not isinstance(path, str):
                import tempfile
                fd, path = tempfile.mkstemp(prefix='awssim-fixtures-', suffix='.json')
                with os.fdopen(fd, 'w') as f:
                    json.dump(self.fixtures, f)
                self._fixture_file = path
            cmd += ['--fixtures', path]
        if self.credentials:
            cmd += ['--credentials'] + ['%s:%s' % kv for kv in self.credentials.items()]
        if self.verbose:
            cmd.append('--verbose')
        env = dict(os.environ)
        env['AWSSIM_STRICT'] = '1' if self.strict else '0'
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        line = self._first_line(t0)
        if not line.startswith('endpoint http://'):
            self.stop()
            raise AwsSimError('awssim did not announce its endpoint (got %r)' % line)
        self.startup_seconds = time.monotonic() - t0
        self.endpoint = line.split()[1]
        self.port = int(self.endpoint.rsplit(':', 1)[1])
        return self

    def _first_line(self, t0):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b''
        while b'\n' not in buf:
            left = self.start_timeout - (time.monotonic() - t0)
            if left <= 0 or not sel.select(left):
                self.stop()
                raise AwsSimError('awssim did not start within %ss' % self.start_timeout)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                rc = self.proc.wait()
                raise AwsSimError('awssim exited with status %s before starting' % rc)
            buf += chunk
        sel.close()
        return buf.split(b'\n', 1)[0].decode()

    def stop(self, timeout=10):
        """Sends SIGTERM and waits; returns the exit status (None if it had to be killed)."""
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc is not None:
            rc = self.proc.returncode
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self._fixture_file:
            os.unlink(self._fixture_file)
            self._fixture_file = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- control API ----------------------------------------------------------------------

    def control(self, method, path, body=None):
        """Calls /_awssim/<path>; returns the decoded JSON answer. Raises AwsSimError for an
        HTTP error status."""
        path = path.lstrip('/')
        if path.startswith('_awssim/'):
            path = path[len('_awssim/'):]
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request('%s/_awssim/%s' % (self.endpoint, path), data=data,
                                     method=method, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b'null')
        except urllib.error.HTTPError as e:
            text = e.read().decode('utf-8', 'replace')
            raise AwsSimError('control %s %s: HTTP %d %s' % (method, path, e.code, text),
                              e.code, text)

    def calls(self, **filters):
        """The call log: [{service, signingName, operation, kind, status, code, region, account,
        time}], optionally filtered by service, operation, kind or status."""
        q = '&'.join('%s=%s' % (k, v) for k, v in filters.items())
        return self.control('GET', 'calls' + ('?' + q if q else ''))['calls']

    def inflight(self, **filters):
        """Calls received and not answered yet (held by a latency fault, say): [{service,
        operation, region, time}], optionally filtered by service or operation. The call log
        lists a call only once it is answered."""
        q = '&'.join('%s=%s' % (k, v) for k, v in filters.items())
        return self.control('GET', 'inflight' + ('?' + q if q else ''))['calls']

    def reset_calls(self):
        self.control('DELETE', 'calls')

    def reset(self, fixtures=True):
        """Forgets all state; reloads the start-up fixtures unless fixtures is False."""
        self.control('POST', 'reset', {'fixtures': fixtures})

    def fault(self, **spec):
        """Adds a fault (see README.md); returns its id."""
        return self.control('POST', 'faults', spec)['id']

    def clear_faults(self):
        self.control('DELETE', 'faults')

    def delays(self, **seconds):
        return self.control('POST', 'delays', seconds)['delays']

    def settle(self):
        return self.control('POST', 'settle')['settled']

    # ---- clients --------------------------------------------------------------------------

    def env(self, region='us-east-1'):
        """Environment variables that point an AWS SDK or the AWS CLI at the simulator."""
        return {'AWS_ENDPOINT_URL': self.endpoint, 'AWS_ACCESS_KEY_ID': ACCESS_KEY,
                'AWS_SECRET_ACCESS_KEY': SECRET_KEY, 'AWS_REGION': region,
                'AWS_DEFAULT_REGION': region}

    def client(self, service, region='us-east-1', **kwargs):
        """A boto3 client for service, signed with the default credentials."""
        import boto3
        from botocore.config import Config
        kwargs.setdefault('config', Config(retries={'mode': 'standard', 'total_max_attempts': 3}))
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=kwargs.pop('access_key', ACCESS_KEY),
                            aws_secret_access_key=kwargs.pop('secret_key', SECRET_KEY),
                            **kwargs)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description='Run a command against a fresh awssim.')
    ap.add_argument('--fixtures')
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('command', nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not cmd:
        ap.error('no command given')
    with AwsSim(fixtures=args.fixtures) as sim:
        env = dict(os.environ, **sim.env(args.region))
        return subprocess.call(cmd, env=env)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
