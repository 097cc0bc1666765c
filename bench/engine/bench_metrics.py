#!/usr/bin/env python3
"""/metrics scrape time and size with N resources held (SPEC §7, issue 14's figures).

    python3 bench/engine/bench_metrics.py --trimtab build/cmd/trimtab --n 10000

The same N ECS ScalingPolicies as bench_engine.py against the local AWS simulator; `trimtab run`
serves /metrics on a loopback port. Scrapes are timed while the start-up reconcile is running
(the loop is busy: how long a scrape waits for it) and once everything converged (the cost of
rendering). Each scrape is one new HTTP connection, as Prometheus makes when keep-alive is off.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_engine import CREDS, awssim, fixtures, percentile, write_manifests  # noqa: E402


def scrape(port):
    t0 = time.perf_counter()
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=30) as r:
        body = r.read()
    return time.perf_counter() - t0, body


def gauge(body, name):
    m = re.search(rb'(?m)^' + re.escape(name.encode()) + rb'(?:\{[^}]*\})? (\S+)$', body)
    return float(m.group(1)) if m else None


def summary(times):
    ms = [t * 1000 for t in times]
    return {'samples': len(ms), 'p50_ms': round(statistics.median(ms), 2),
            'p99_ms': round(percentile(ms, 99), 2), 'max_ms': round(max(ms), 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trimtab', required=True)
    ap.add_argument('--n', type=int, default=10000)
    ap.add_argument('--scrapes', type=int, default=50)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='tt-bench-metrics-')
    res = {'n': args.n}
    try:
        manifests = os.path.join(work, 'manifests')
        write_manifests(manifests, args.n)
        with awssim.AwsSim(fixtures=fixtures(args.n)) as sim:
            env = dict(os.environ, **CREDS, AWS_ENDPOINT_URL=sim.endpoint,
                       AWS_CONFIG_FILE='/dev/null', AWS_SHARED_CREDENTIALS_FILE='/dev/null')
            log = open(os.path.join(work, 'run.log'), 'w+')
            p = subprocess.Popen([args.trimtab, 'run', '--source', 'dir:' + manifests,
                                  '--state-dir', os.path.join(work, 'state'), '--resync', '1h',
                                  '--aws-rate', '0', '--log-level', 'info',
                                  '--metrics-addr', '127.0.0.1:0'], env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
            try:
                port = None
                while port is None and p.poll() is None:
                    log.seek(0)
                    m = re.search(r'serving /metrics on port (\d+)', log.read())
                    port = int(m.group(1)) if m else None
                    time.sleep(0.01)
                busy, body = [], b''
                deadline = time.time() + 600
                while time.time() < deadline:
                    t, body = scrape(port)
                    done = gauge(body, 'trimtab_resources') == args.n and \
                        gauge(body, 'workqueue_depth') == 0 and \
                        gauge(body, 'controller_runtime_active_workers') == 0
                    if done:
                        break
                    busy.append(t)
                    time.sleep(0.1)
                res['while_converging'] = summary(busy) if busy else None
                quiet = [scrape(port)[0] for _ in range(args.scrapes)]
                res['converged'] = summary(quiet)
                res['bytes'] = len(body)
                res['series'] = sum(1 for line in body.split(b'\n')
                                    if line and not line.startswith(b'#'))
                res['reconciles'] = sum(float(v) for v in re.findall(
                    rb'(?m)^controller_runtime_reconcile_total\{[^}]*\} (\S+)$', body))
            finally:
                p.terminate()
                p.wait(timeout=60)
                log.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=2))


if __name__ == '__main__':
    main()
