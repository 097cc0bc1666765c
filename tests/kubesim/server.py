#!/usr/bin/env python3
"""kubesim: a local Kubernetes API server simulator (see README.md).

Serves HTTPS with a CA and server certificate it makes at start (openssl CLI), accepts bearer
tokens, writes a kubeconfig for clients, and prints, once it accepts connections:

    endpoint https://127.0.0.1:PORT
    kubeconfig /path/to/kubeconfig
    ca /path/to/ca.crt
    token TOKEN

Stops on SIGTERM/SIGINT (exit 0), or when the process that started it is gone (unless
--no-parent-watch)."""

import argparse
import glob
import http.server
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from sim import api  # noqa: E402
from sim.store import ApiError, Store  # noqa: E402


def make_certs(directory, host):
    """A self-signed CA and a server certificate for 127.0.0.1/localhost (and host), made with
    the openssl CLI (no Python package needed)."""
    ca_key, ca_crt = os.path.join(directory, 'ca.key'), os.path.join(directory, 'ca.crt')
    key, csr, crt = (os.path.join(directory, n) for n in ('server.key', 'server.csr', 'server.crt'))
    ext = os.path.join(directory, 'server.ext')
    sans = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', 'DNS:kubernetes.default.svc']
    if host not in ('127.0.0.1', 'localhost', '::1'):
        sans.append(('IP:' if host.replace('.', '').isdigit() or ':' in host else 'DNS:') + host)
    with open(ext, 'w') as f:
        f.write('subjectAltName=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' % ','.join(sans))

    def run(*cmd):
        subprocess.run(['openssl'] + list(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', ca_key, '-out', ca_crt, '-days', '3', '-subj', '/CN=kubesim-ca',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', csr, '-subj', '/CN=kube-apiserver')
    run('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial',
        '-out', crt, '-days', '3', '-extfile', ext)
    # A client certificate from the same CA, for clients that authenticate with one
    # (kubeconfig client-certificate/client-key) instead of a token.
    ckey, ccsr, ccrt = (os.path.join(directory, n) for n in ('client.key', 'client.csr', 'client.crt'))
    cext = os.path.join(directory, 'client.ext')
    with open(cext, 'w') as f:
        f.write('keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
                'basicConstraints=CA:FALSE\n')
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', ckey, '-out', ccsr, '-subj', '/O=trimtab/CN=trimtab-client')
    run('x509', '-req', '-in', ccsr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial',
        '-out', ccrt, '-days', '3', '-extfile', cext)
    return ca_crt, crt, key


def write_kubeconfig(path, endpoint, ca_file, token, namespace='default'):
    """A kubeconfig with one cluster/user/context "kubesim" (JSON is valid YAML)."""
    with open(ca_file, 'rb') as f:
        import base64
        ca_data = base64.b64encode(f.read()).decode()
    cfg = {'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'kubesim', 'preferences': {},
           'clusters': [{'name': 'kubesim', 'cluster': {'server': endpoint, 'certificate-authority-data': ca_data}}],
           'users': [{'name': 'kubesim', 'user': {'token': token}}],
           'contexts': [{'name': 'kubesim', 'context': {'cluster': 'kubesim', 'user': 'kubesim',
                                                       'namespace': namespace}}]}
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(cfg, f, indent=1)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, handler, context):
        self.context = context
        self.address_family = socket.AF_INET6 if ':' in addr[0] else socket.AF_INET
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK would add ~40 ms to every answer.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The TLS handshake runs in the connection's own thread (on its first read), so a slow
        # client cannot stall the accept loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            return  # clients that go away or fail TLS are routine
        super().handle_error(request, client_address)


def load_crds(store, paths):
    """Installs CRD manifests (files or directories of *.yaml) at start, as `kubectl apply`."""
    import yaml
    t = store.type_of('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')
    for p in paths:
        files = sorted(glob.glob(os.path.join(p, '*.yaml')) + glob.glob(os.path.join(p, '*.yml'))) \
            if os.path.isdir(p) else [p]
        for fn in files:
            with open(fn) as f:
                for doc in yaml.safe_load_all(f):
                    if isinstance(doc, dict) and doc.get('kind') == 'CustomResourceDefinition':
                        try:
                            store.create(t, None, doc, manager='kubesim')
                        except ApiError as e:
                            sys.exit('kubesim: %s: %s' % (fn, e.message))


def main(argv=None):
    ap = argparse.ArgumentParser(description='Kubernetes API server simulator')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--dir', help='where to write the CA, certificate and kubeconfig (default: a temporary '
                                  'directory removed at exit)')
    ap.add_argument('--token', action='append', help='accepted bearer token (repeatable; default: a random one)')
    ap.add_argument('--crds', action='append', default=[], help='CRD file or directory to install at start')
    ap.add_argument('--namespace', action='append', default=[], help='namespace to create at start')
    ap.add_argument('--bookmark-interval', type=float, default=1.0,
                    help='seconds between BOOKMARK events on watches that allow them (default 1)')
    ap.add_argument('--verbose', action='store_true', help='log every request to stderr')
    ap.add_argument('--no-parent-watch', action='store_true')
    args = ap.parse_args(argv)

    tmp = None
    directory = args.dir
    if not directory:
        tmp = tempfile.TemporaryDirectory(prefix='kubesim-')
        directory = tmp.name
    os.makedirs(directory, exist_ok=True)
    ca, crt, key = make_certs(directory, args.host)
    tokens = args.token or [secrets.token_urlsafe(24)]

    store = Store()

    def startup():
        load_crds(store, args.crds)
        nst = store.type_of('', 'v1', 'namespaces')
        for ns in args.namespace:
            store.create(nst, None, {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': ns}},
                         manager='kubesim')
    startup()
    sim = api.Sim(store, tokens, args.bookmark_interval)
    sim.startup = startup

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(crt, key)
    # Client certificates are asked for and, when sent, must chain to the CA (else the TLS
    # handshake fails, as with the API server); a verified one authenticates the request.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(ca)
    ctx.set_alpn_protocols(['http/1.1'])
    handler = api.make_handler(sim)
    server = Server((args.host, args.port), handler, ctx)
    server.verbose = args.verbose
    port = server.server_address[1]
    host = '[%s]' % args.host if ':' in args.host else args.host
    endpoint = 'https://%s:%d' % (host, port)
    kubeconfig = os.path.join(directory, 'kubeconfig')
    write_kubeconfig(kubeconfig, endpoint, ca, tokens[0])

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.no_parent_watch:
        parent = os.getppid()
        if parent > 1:
            def watch_parent():
                while os.getppid() == parent:
                    time.sleep(0.5)
                stop(None, None)
            threading.Thread(target=watch_parent, daemon=True).start()

    sys.stdout.write('endpoint %s\nkubeconfig %s\nca %s\ntoken %s\n' % (endpoint, kubeconfig, ca, tokens[0]))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        sim.drop_watches()
        server.server_close()
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
