#!/usr/bin/env python3
"""CPU time a continuous `trimtab run` spends on resyncs of N mixed resources (bench/peers/mix.py,
as bench_memory.py) that are in sync: the cost of reading AWS again and, for resting resources
(docs/engine.md), of building each resource again from its manifest.

The state is converged by `run --once`; then `run --resync P` starts, its start-up pass is left
to finish (30 s), and the process's CPU time (user + system, /proc/PID/stat) and the AWS calls
are counted over three periods.

Usage: bench_resync_cpu.py --trimtab build/cmd/trimtab [--n 10000] [--period 20]
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_memory import build, mixed_run  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trimtab", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--period", type=float, default=20.0)
    args = ap.parse_args()
    files, fx, _ = build(args.n)
    with mixed_run(os.path.abspath(args.trimtab), files, fx, "tt-resync-cpu-") as (
            sim, env, _, base):
        subprocess.run(base + ["--once"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        p = subprocess.Popen(base + ["--resync", "%gs" % args.period], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(30)
            c0 = cpu_seconds(p.pid)
            sim.reset_calls()
            time.sleep(3 * args.period)
            c1 = cpu_seconds(p.pid)
            calls = sim.calls()
        finally:
            p.terminate()
            p.wait(timeout=30)
    writes = sum(1 for c in calls if c["kind"] == "write")
    print("%d resources, 3 resync periods of %g s: CPU %.2f s (%.2f s a resync), %d AWS calls, "
          "%d writes" % (len(files), args.period, c1 - c0, (c1 - c0) / 3, len(calls), writes))


if __name__ == "__main__":
    main()
