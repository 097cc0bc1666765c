#!/usr/bin/env python3
"""A local HTTPS server with a freshly made self-signed certificate (openssl CLI), for the tests
that TLS verification is always on (a client that verifies must refuse it) and, with
--state DIR, that a trusted private CA works and TLS sessions are resumed: the certificate is
written to DIR/cert.pem, every request closes its connection (so each needs a new handshake),
and DIR/sessions.log gets one line per request, "reused=1" when the handshake resumed a session.
Prints "endpoint https://127.0.0.1:PORT" first, answers 200 "{}" to anything."""
import http.server
import os
import ssl
import subprocess
import sys
import tempfile


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    state = None

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if Handler.state:
            with open(os.path.join(Handler.state, "sessions.log"), "a") as f:
                f.write("reused=%d\n" % int(self.connection.session_reused))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        if Handler.state:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = answer


def main():
    d = tempfile.mkdtemp()
    if len(sys.argv) > 2 and sys.argv[1] == "--state":
        d = Handler.state = sys.argv[2]
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=127.0.0.1", "-keyout", key, "-out", cert, "-days", "1"],
                   check=True, capture_output=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("endpoint https://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
