#!/usr/bin/env python3
"""The same N requests as bench_engine, made with boto3: sequentially, or with a thread pool of
K workers sharing one client per service (boto3 clients are thread-safe). Prints one JSON line
with wall and CPU seconds and peak RSS of this process.

Usage: bench_boto3.py sequential|pool N [K]     (endpoint and credentials from AWS_* variables)
"""
import concurrent.futures
import json
import os
import resource
import sys
import time

import boto3
import botocore.config

CALLS = [
    ("application-autoscaling", "describe_scalable_targets", {"ServiceNamespace": "ecs"}),
    ("sts", "get_caller_identity", {}),
    ("lambda", "get_function", {"FunctionName": "bench"}),
    ("cloudfront", "get_distribution", {"Id": os.environ.get("BENCH_DISTRIBUTION_ID", "")}),
]


def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    cfg = botocore.config.Config(max_pool_connections=k, retries={"mode": "standard"})
    t_setup = time.time()
    clients = [boto3.client(svc, config=cfg) for svc, _, _ in CALLS]
    setup = time.time() - t_setup
    failed = 0

    def one(i):
        svc, op, kwargs = CALLS[i % 4]
        getattr(clients[i % 4], op)(**kwargs)

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.time()
    if mode == "sequential":
        for i in range(n):
            try:
                one(i)
            except Exception:
                failed += 1
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=k) as pool:
            for f in [pool.submit(one, i) for i in range(n)]:
                if f.exception() is not None:
                    failed += 1
    wall = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"client": "boto3-" + mode, "requests": n,
                      "in_flight": 1 if mode == "sequential" else k, "failed": failed,
                      "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "peak_rss_kib": r1.ru_maxrss, "req_per_s": round(n / wall),
                      "client_setup_s": round(setup, 3)}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
