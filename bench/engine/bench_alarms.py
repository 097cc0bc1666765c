#!/usr/bin/env python3
"""Alarm figures of SPEC §10, against the local AWS simulator (tests/awssim).

For each N (default 1,000) Alarms, one manifest file each (CPU of ECS service svc-<i>, SNS action):
  converge      `trimtab run --once` from nothing: wall and CPU time, read and write calls
  no-op resync  `trimtab run --once` again: reads and writes against the API floor,
                ceil(N / 100) DescribeAlarms (100 names a call) and no write
and, side by side on the same simulator, the same convergence and no-op done by a boto3 script
(bench/engine/boto3_alarms.py: describe each alarm, put it when it differs).

Usage: bench_alarms.py --trimtab build/cmd/trimtab [--n 1000] [--json out.json]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from bench_engine import CREDS, HERE, TOP, calls, count, reset_calls, timed

sys.path.insert(0, os.path.join(TOP, "tests", "awssim"))
import awssim  # noqa: E402

MANIFEST = """apiVersion: trimtab.dev/v1alpha1
kind: Alarm
metadata:
  name: svc-{i}-cpu
  namespace: bench
spec:
  target:
    ecs: {{cluster: c{c}, service: svc-{i}}}
  metricName: CPUUtilization
  period: 60
  evaluationPeriods: 5
  datapointsToAlarm: 3
  threshold: 85
  comparison: GreaterThanThreshold
  actions:
    alarm:
      - snsTopicArn: arn:aws:sns:eu-central-1:123456789012:oncall
"""


def write_manifests(d, n):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, f"svc-{i}-cpu.yaml"), "w") as f:
            f.write(MANIFEST.format(i=i, c=i % 10))


def bench_trimtab(trimtab, n, work, env):
    res = {}
    manifests = os.path.join(work, "manifests")
    write_manifests(manifests, n)
    with awssim.AwsSim() as sim:
        env = dict(env, AWS_ENDPOINT_URL=sim.endpoint)
        run = [trimtab, "run", "--once", "--source", "dir:" + manifests, "--state-dir",
               os.path.join(work, "state"), "--log-level", "warn", "--aws-rate", "0"]
        for phase in ("converge", "noop_resync"):
            reset_calls(sim)
            wall, cpu, rss = timed(run, env)
            cs = calls(sim)
            res[phase] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_kib": rss,
                          "calls": count(cs),
                          "by_operation": {op: sum(c["operation"] == op for c in cs)
                                           for op in sorted({c["operation"] for c in cs})}}
    res["noop_floor_reads"] = -(-n // 100)
    return res


def bench_boto3(n, env, py):
    out = {}
    with awssim.AwsSim() as sim:
        e = dict(env, AWS_ENDPOINT_URL=sim.endpoint)
        for phase in ("converge", "noop_resync"):
            reset_calls(sim)
            wall, cpu, rss = timed([py, os.path.join(HERE, "boto3_alarms.py"), "--n", str(n)], e)
            out[phase] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_kib": rss,
                          "calls": count(calls(sim))}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trimtab", required=True)
    ap.add_argument("--n", default="1000")
    ap.add_argument("--json")
    ap.add_argument("--no-compare", action="store_true", help="skip the boto3 script")
    args = ap.parse_args()
    env = dict(os.environ, **CREDS)
    env.pop("AWS_PROFILE", None)
    py = subprocess.run([os.path.join(TOP, "scripts", "python.sh"), "boto3"],
                        capture_output=True, text=True).stdout.strip() or sys.executable
    results = {}
    for n in [int(x) for x in args.n.split(",")]:
        work = tempfile.mkdtemp(prefix=f"tt-bench-alarms-{n}-")
        try:
            r = {"trimtab": bench_trimtab(os.path.abspath(args.trimtab), n, work, env)}
            if not args.no_compare:
                r["boto3"] = bench_boto3(n, env, py)
            results[n] = r
            print(json.dumps({n: r}, indent=2), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
