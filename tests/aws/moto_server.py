#!/usr/bin/env python3
"""Runs moto's server on a free local port and prints "endpoint http://127.0.0.1:PORT" first,
like awssim and fake_aws.py, so the same C harness can start it. Runs until SIGTERM."""
import logging
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print("endpoint http://%s:%d" % (host, port), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
