"""Local servers the Python suites share: a free TCP port, and moto's server started on one.

Imported by tests/e2e/test_moto.py and tests/awssim/tests/test_moto.py (and whatever suite next
needs a helper process), so the start-up logic and its timeout live once."""

import socket
import subprocess
import sys
import time


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto(timeout=30):
    """Starts `python -m moto.server` on a free port; returns (process, port) once it accepts
    connections. Raises RuntimeError when it exits or does not listen within `timeout` s."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p',
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError('moto.server did not start on port %d' % port)
