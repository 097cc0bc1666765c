#!/usr/bin/env python3
"""Figures for the simulator: start-up time and requests served per second.

    python3 tests/awssim/bench.py [--seconds 5] [--connections 64] [--clients 2]

Start-up: the time from launching `python3 server.py` to its "endpoint" line, and to the first
answered request (median of 5 runs).

Throughput: --clients load-generator processes share --connections keep-alive connections and
send signed requests back to back (each connection waits for its answer before sending the
next, as an SDK does) for --seconds per operation. The requests are signed once and replayed
(a SigV4 signature stays valid for five minutes), so the generators spend almost nothing per
request; the server still verifies every signature, parses, validates, runs the handler and
serialises the answer. Both sides share this machine's CPUs; the server's and the clients' CPU
time are reported so it is clear which side was the bottleneck.
"""

import argparse
import json
import multiprocessing
import os
import selectors
import socket
import statistics
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from awssim import ACCESS_KEY, SECRET_KEY, AwsSim  # noqa: E402

FIXTURES = {
    'ecs': {'clusters': [{'name': 'demo', 'services': [{'name': 'web', 'desiredCount': 2}]}]},
    'lambda': {'functions': [{'name': 'api', 'aliases': [{'name': 'live'}]}]},
    'cloudfront': {'distributions': [{'id': 'E2BENCHMARK001', 'comment': 'bench'}]},
    'cloudwatch': {'alarms': [{'name': 'alarm-%02d' % i} for i in range(10)]},
}


def signed_bytes(endpoint, service, method, path, headers, body):
    """The raw bytes of one signed HTTP/1.1 request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, 'us-east-1').add_auth(req)
    p = req.prepare()
    host = endpoint.split('//', 1)[1]
    lines = ['%s %s HTTP/1.1' % (method, path), 'Host: %s' % host,
             'Content-Length: %d' % len(body)]
    lines += ['%s: %s' % (k, v) for k, v in p.headers.items() if k.lower() not in ('host', 'content-length')]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def operations(endpoint):
    form = 'application/x-www-form-urlencoded; charset=utf-8'
    return [
        ('STS GetCallerIdentity (Query/XML)', signed_bytes(
            endpoint, 'sts', 'POST', '/', {'Content-Type': form},
            urllib.parse.urlencode({'Action': 'GetCallerIdentity', 'Version': '2011-06-15'}).encode())),
        ('ECS DescribeServices (JSON 1.1)', signed_bytes(
            endpoint, 'ecs', 'POST', '/',
            {'Content-Type': 'application/x-amz-json-1.1',
             'X-Amz-Target': 'AmazonEC2ContainerServiceV20141113.DescribeServices'},
            json.dumps({'cluster': 'demo', 'services': ['web']}).encode())),
        ('CloudWatch DescribeAlarms, 10 alarms (Query/XML)', signed_bytes(
            endpoint, 'monitoring', 'POST', '/', {'Content-Type': form},
            urllib.parse.urlencode({'Action': 'DescribeAlarms', 'Version': '2010-08-01'}).encode())),
        ('Lambda GetFunction (REST-JSON)', signed_bytes(
            endpoint, 'lambda', 'GET', '/2015-03-31/functions/api', {}, b'')),
        ('CloudFront GetDistributionConfig (REST-XML)', signed_bytes(
            endpoint, 'cloudfront', 'GET', '/2020-05-31/distribution/E2BENCHMARK001/config', {}, b'')),
    ]


def _client(port, payload, conns, seconds, start_at, out):
    """One load-generator process: conns keep-alive connections on one selector loop."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(('127.0.0.1', port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.time()
    deadline = t0 + seconds
    done = errors = 0
    state = {}
    for s in socks:
        s.setblocking(True)
        s.sendall(payload)
        s.setblocking(False)
        state[s] = b''
        sel.register(s, selectors.EVENT_READ)
    while state:
        for key, _ in sel.select(timeout=5):
            s = key.fileobj
            chunk = s.recv(65536)
            if not chunk:
                sel.unregister(s)
                del state[s]
                errors += 1
                continue
            buf = state[s] + chunk
            while True:
                head_end = buf.find(b'\r\n\r\n')
                if head_end < 0:
                    break
                head = buf[:head_end]
                length = 0
                for line in head.split(b'\r\n')[1:]:
                    if line[:15].lower() == b'content-length:':
                        length = int(line[15:])
                if len(buf) < head_end + 4 + length:
                    break
                if not head.startswith(b'HTTP/1.1 200') and not head.startswith(b'HTTP/1.1 404'):
                    errors += 1
                done += 1
                buf = buf[head_end + 4 + length:]
                if time.time() < deadline:
                    s.setblocking(True)
                    s.sendall(payload)
                    s.setblocking(False)
                else:
                    sel.unregister(s)
                    del state[s]
                    break
            if s in state:
                state[s] = buf
    out.put((done, errors, time.time() - t0, os.times()[0] + os.times()[1]))
    for s in socks:
        s.close()


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def throughput(sim, payload, connections, clients, seconds):
    out = multiprocessing.Queue()
    start_at = time.time() + 0.5
    per = [connections // clients + (1 if i < connections % clients else 0) for i in range(clients)]
    procs = [multiprocessing.Process(target=_client, args=(sim.port, payload, n, seconds, start_at, out))
             for n in per]
    cpu0 = cpu_seconds(sim.proc.pid)
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    server_cpu = cpu_seconds(sim.proc.pid) - cpu0
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    wall = max(r[2] for r in results)
    client_cpu = sum(r[3] for r in results)
    return done / wall, errors, server_cpu / wall, client_cpu / wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--connections', type=int, default=64)
    ap.add_argument('--clients', type=int, default=2)
    args = ap.parse_args()
    import botocore
    print('awssim figures on %d CPUs, %s, botocore %s' % (os.cpu_count(), sys.version.split()[0],
                                                           botocore.__version__))
    starts, firsts = [], []
    for _ in range(5):
        t0 = time.monotonic()
        sim = AwsSim().start()
        starts.append(sim.startup_seconds)
        sim.client('sts').get_caller_identity()
        firsts.append(time.monotonic() - t0)
        sim.stop()
    print('start-up: endpoint line after %.2fs, first answered request after %.2fs (median of 5)'
          % (statistics.median(starts), statistics.median(firsts)))
    with AwsSim(fixtures=FIXTURES) as sim:
        print('throughput: %d keep-alive connections from %d client processes, %.0fs per operation'
              % (args.connections, args.clients, args.seconds))
        for name, payload in operations(sim.endpoint):
            rps, errors, server_cpu, client_cpu = throughput(sim, payload, args.connections,
                                                             args.clients, args.seconds)
            print('  %-50s %7.0f requests/s  errors %d  server CPU %.2f cores  clients %.2f cores'
                  % (name, rps, errors, server_cpu, client_cpu))
        sim.control('DELETE', 'calls')
    return 0


if __name__ == '__main__':
    sys.exit(main())
