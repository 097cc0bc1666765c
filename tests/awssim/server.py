#!/usr/bin/env python3
"""awssim: a local AWS API simulator (see README.md).

    python3 tests/awssim/server.py [--port N] [--fixtures FILE.json] [--credentials AKID:SECRET ...]

Prints "endpoint http://127.0.0.1:PORT" as its first line once it accepts connections, serves
every simulated service on that one port until SIGTERM or SIGINT (or until the process that
started it is gone, unless --no-parent-watch), then exits 0.
"""

import argparse
import http.server
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim import control, fixtures, wire  # noqa: E402
from sim.dispatch import RESET, Simulator  # noqa: E402
from sim.state import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY  # noqa: E402

MAX_BODY = 16 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'awssim'
    sys_version = ''
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 300
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.sim.verbose:
            sys.stderr.write('awssim: %s\n' % (fmt % args))

    def _read_body(self):
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        n = int(self.headers.get('Content-Length') or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError('body too large')
        return self.rfile.read(n) if n else b''

    def _send(self, status, headers, body, head=False):
        reason = http.server.BaseHTTPRequestHandler.responses.get(status, ('',))[0]
        lines = ['HTTP/1.1 %d %s' % (status, reason),
                 'Date: %s' % self.date_time_string(),
                 'Content-Length: %d' % len(body)]
        lines += ['%s: %s' % (k, v) for k, v in headers]
        if self.close_connection:
            lines.append('Connection: close')
        data = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
        self.wfile.write(data if head else data + body)

    def _handle(self):
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(413, [('Content-Type', 'text/plain')], b'request body too large\n')
            return
        raw_path, _, raw_query = self.path.partition('?')
        if raw_path.startswith('/_awssim/') or raw_path == '/_awssim':
            status, doc = control.handle(self.server.sim, self.command, raw_path, raw_query, body)
            self._send(status, [('Content-Type', 'application/json')],
                       json.dumps(doc).encode() + b'\n')
            return
        req = wire.HttpRequest(self.command, raw_path, raw_query, self.headers, body)
        resp = self.server.sim.handle(req)
        if resp is RESET:
            # An abortive close: SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        self._send(resp.status, resp.headers, resp.body, head=self.command == 'HEAD')

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that vanished mid-request is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, OSError)):
            return
        super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Local AWS API simulator for trimtab tests.')
    ap.add_argument('--port', type=int, default=0, help='TCP port on 127.0.0.1 (0: any free port)')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--fixtures', help='JSON file of pre-existing infrastructure (README.md)')
    ap.add_argument('--credentials', nargs='*', default=None, metavar='AKID:SECRET',
                    help='accepted access keys (default: %s)' % DEFAULT_ACCESS_KEY)
    ap.add_argument('--verbose', action='store_true', help='log every request to stderr')
    ap.add_argument('--no-parent-watch', action='store_true',
                    help='keep serving after the process that started the server is gone')
    args = ap.parse_args(argv)

    creds = {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}
    if args.credentials:
        creds = {}
        for item in args.credentials:
            akid, sep, secret = item.partition(':')
            if not sep or not akid or not secret:
                ap.error('--credentials wants AKID:SECRET, got %r' % item)
            creds[akid] = secret
    sim = Simulator(creds, verbose=args.verbose)
    if args.fixtures:
        with open(args.fixtures) as f:
            sim.startup_fixtures = json.load(f)
        with sim.state.lock:
            fixtures.load(sim, sim.startup_fixtures)

    server = Server((args.host, args.port), Handler)
    server.sim = sim

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.no_parent_watch:
        # A simulator outliving the test or script that started it is a leak: stop (exit 0) when
        # the parent goes away, e.g. when a wrapper such as a pyenv shim is the one signalled.
        parent = os.getppid()
        if parent > 1:
            def watch_parent():
                while os.getppid() == parent:
                    time.sleep(0.5)
                stop(None, None)
            threading.Thread(target=watch_parent, daemon=True).start()

    host, port = server.server_address[:2]
    sys.stdout.write('endpoint http://%s:%d\n' % (host, port))
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
