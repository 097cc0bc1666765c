#!/usr/bin/env python3
"""Kubernetes mode's figures (issue 13), against tests/kubesim and tests/awssim.

For N ECS ScalingPolicies created in kubesim (namespace bench) with N fixture ECS services:
  converge      `trimtab run --source kube` from nothing until every object is Ready for its
                generation: wall time, held resident memory (VmRSS) once converged
  restart       trimtab restarted on the converged set: API requests (lists) and status writes
  no-op resync  with --resync 3s, two full periods after that: API server requests made by
                trimtab (the goal: zero; watches excluded) and AWS writes (zero)
  latency       a spec change (PATCH of targetValue) → the first AWS write it causes, over 40
                edits, spread in time: p50 and p99 (kubesim's answer to the PATCH is included)

Usage: bench_kube.py --trimtab build/cmd/trimtab [--n 1000] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "awssim"))
sys.path.insert(0, os.path.join(TOP, "tests", "kubesim"))
sys.path.insert(0, os.path.join(TOP, "bench", "engine"))
import awssim  # noqa: E402
from bench_engine import CREDS, fixtures, percentile, rss_kib  # noqa: E402
from bench_memory import malloc_in_use_kib  # noqa: E402
from kubesim import KubeSim  # noqa: E402

API = "/apis/trimtab.dev/v1alpha1/namespaces/bench/scalingpolicies"


def sp(i, target=70):
    return {"apiVersion": "trimtab.dev/v1alpha1", "kind": "ScalingPolicy",
            "metadata": {"name": f"svc-{i}", "namespace": "bench"},
            "spec": {"target": {"ecs": {"cluster": f"c{i % 10}", "service": f"svc-{i}"}},
                     "minCapacity": 1, "maxCapacity": 10,
                     "targetTracking": [{"name": "cpu",
                                         "predefinedMetric": "ECSServiceAverageCPUUtilization",
                                         "targetValue": target}]}}


def ready_count(k):
    try:
        items = k.request("GET", API).json["items"]
    except TimeoutError:  # kubesim (Python) is busy with trimtab's status writes: ask again
        return 0
    n = 0
    for o in items:
        st = o.get("status") or {}
        gen = o["metadata"]["generation"]
        if st.get("observedGeneration") == gen and any(
                c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", [])):
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trimtab", required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--json")
    args = ap.parse_args()
    n = args.n
    work = tempfile.mkdtemp(prefix="tt-bench-kube-")
    out = {"n": n}
    sim = awssim.AwsSim(fixtures=fixtures(n), stderr=subprocess.DEVNULL).start()
    k = KubeSim(crds=os.path.join(TOP, "crds"), namespaces=["bench"], stderr=subprocess.DEVNULL)
    proc = None
    try:
        t = time.monotonic()
        for i in range(n):
            r = k.request("POST", API, sp(i))
            assert r.status == 201, r
        print(f"created {n} objects in {time.monotonic() - t:.1f} s", file=sys.stderr)
        env = dict(os.environ)
        env.update(CREDS)
        env.update(sim.env(CREDS["AWS_REGION"]))
        env.update(HOME=work, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   AWS_EC2_METADATA_DISABLED="true")
        def start(resync):
            return subprocess.Popen([args.trimtab, "run", "--source", "kube", "--kubeconfig",
                                     k.kubeconfig, "--state-dir", os.path.join(work, "state"),
                                     "--resync", resync, "--aws-rate", "0", "--log-level",
                                     "warn"], env=env, stderr=open(os.path.join(work, "log"), "a"))

        # Run 1: converge, hold, then edits (resync far away, as bench/engine measures).
        t0 = time.monotonic()
        proc = start("1h")
        bound = max(900, n * 0.2)
        while ready_count(k) < n:
            if time.monotonic() - t0 > bound:
                raise SystemExit(f"not converged in {bound:.0f} s")
            time.sleep(1 if n <= 1000 else 10)
        out["converge_s"] = round(time.monotonic() - t0, 2)
        time.sleep(2)
        out["held_rss_kib"] = rss_kib(proc.pid)
        out["held_rss_kib"]["malloc_in_use"] = malloc_in_use_kib(proc.pid,
                                                                 os.path.join(work, "log"))

        lat = []
        for e in range(40):
            i = (e * 37) % n
            sim.reset_calls()
            t = time.time()
            r = k.request("PATCH", f"{API}/svc-{i}", {"spec": {"targetTracking": [{
                "name": "cpu", "predefinedMetric": "ECSServiceAverageCPUUtilization",
                "targetValue": 50 + e % 40}]}}, content_type="application/merge-patch+json")
            assert r.status == 200, r
            deadline = time.time() + 10
            first = None
            while first is None and time.time() < deadline:
                ws = [c for c in sim.calls() if c["kind"] == "write"]
                if ws:
                    first = min(c["time"] for c in ws)
                else:
                    time.sleep(0.005)
            if first is not None:
                lat.append((first - t) * 1000)
            time.sleep(0.2)
        out["edit_to_first_aws_write_ms"] = {
            "p50": round(percentile(lat, 50), 1), "p99": round(percentile(lat, 99), 1),
            "samples": len(lat), "note": "from sending the PATCH (kubesim's answer included)"}
        time.sleep(2)
        proc.terminate()
        proc.wait()

        # Run 2: a restart (the cache and the API server agree: no status to write) with
        # --resync 3s, then two no-op resync periods.
        k.reset_calls()
        sim.reset_calls()
        t0 = time.monotonic()
        proc = start("3s")
        time.sleep(4)
        restart = [c for c in k.calls() if c.get("userAgent", "").startswith("trimtab")]
        out["restart_api_requests"] = len([c for c in restart if not c.get("watch")])
        out["restart_status_writes"] = len([c for c in restart if c["method"] == "PUT"])
        k.reset_calls()
        sim.reset_calls()
        time.sleep(6.5)
        calls = [c for c in k.calls() if c.get("userAgent", "").startswith("trimtab")
                 and not c.get("watch")]
        out["noop_resync_api_requests"] = len(calls)
        aws_calls = sim.calls()
        out["noop_resync_aws_writes"] = sum(1 for c in aws_calls if c["kind"] == "write")
        out["noop_resync_aws_reads"] = sum(1 for c in aws_calls if c["kind"] == "read")
        out["noop_resync_seconds"] = 6.5
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        k.stop()
        sim.stop()
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
