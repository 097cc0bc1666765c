#!/usr/bin/env python3
"""The engine's figures of SPEC §10, measured against the local AWS simulator (tests/awssim).

For each N (default 1,000 and 10,000) ECS ScalingPolicies, one manifest file each, in one
directory, with N fixture ECS services:
  converge      `trimtab run --once` from nothing: wall and CPU time, peak RSS, read and write calls
  no-op resync  `trimtab run --once` again: wall time, read and write calls (the SPEC: 0 writes,
                at most N/10 reads)
  held          a continuous `trimtab run`, once it has converged: resident memory (VmRSS)
  cold start    process start → first AWS call (from the simulator's call log)
  latency       manifest edit → first AWS write call, over 40 edits: p50 and p99
and, side by side on the same simulator, the same convergence done by a boto3 script
(bench/engine/boto3_converge.py) and, for N ≤ 200, by an AWS CLI loop (one `aws` process per
call, as shell scripts do).

Usage: bench_engine.py --trimtab build/cmd/trimtab [--n 1000,10000] [--json out.json]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "awssim"))
import awssim  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
         "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
         "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1"}
CLUSTERS = 10

MANIFEST = """apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata:
  name: svc-{i}
  namespace: bench
spec:
  target:
    ecs: {{cluster: c{c}, service: svc-{i}}}
  minCapacity: 1
  maxCapacity: 10
  targetTracking:
    - name: cpu
      predefinedMetric: ECSServiceAverageCPUUtilization
      targetValue: {target}
"""


def fixtures(n):
    clusters = [{"name": f"c{c}", "services": []} for c in range(CLUSTERS)]
    for i in range(n):
        clusters[i % CLUSTERS]["services"].append({"name": f"svc-{i}", "desiredCount": 1})
    return {"region": CREDS["AWS_REGION"], "ecs": {"clusters": clusters}}


def write_manifests(d, n, target=70):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, f"svc-{i}.yaml"), "w") as f:
            f.write(MANIFEST.format(i=i, c=i % CLUSTERS, target=target))


def calls(sim, since=None):
    url = sim.endpoint + "/_awssim/calls" + (f"?since={since}" if since else "")
    with urllib.request.urlopen(url) as r:
        return json.load(r)["calls"]


def reset_calls(sim):
    req = urllib.request.Request(sim.endpoint + "/_awssim/calls/reset", data=b"", method="POST")
    urllib.request.urlopen(req).read()


def count(cs):
    ops = {}
    for c in cs:
        ops[c.get("operation") or "?"] = ops.get(c.get("operation") or "?", 0) + 1
    return {"reads": sum(c["kind"] == "read" for c in cs),
            "writes": sum(c["kind"] == "write" for c in cs), "total": len(cs),
            "by_operation": dict(sorted(ops.items()))}


def timed(cmd, env):
    """Runs cmd; returns wall seconds, CPU seconds and that process's own peak RSS in KiB
    (wait4 on its pid, so the simulator's memory never counts)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.stderr.write(err[-3000:].decode(errors="replace"))
        raise SystemExit(f"{cmd[0]} exited {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def rss_kib(pid):
    """VmRSS, and its split: RssAnon (the heap, what grows with resources) and RssFile (the
    mapped code of trimtab and its ~40 shared libraries, shared with other processes)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1])
    return out


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def bench_trimtab(trimtab, n, work, env):
    res = {}
    manifests = os.path.join(work, "manifests")
    write_manifests(manifests, n)
    with awssim.AwsSim(fixtures=fixtures(n)) as sim:
        env = dict(env, AWS_ENDPOINT_URL=sim.endpoint)
        state = os.path.join(work, "state")
        # The simulator is local: no client-side rate limit (--aws-rate 0), so the figures show
        # trimtab and the simulator, not the 20 requests/s default meant for real AWS.
        run = [trimtab, "run", "--once", "--source", "dir:" + manifests, "--state-dir", state,
               "--log-level", "warn", "--aws-rate", "0"]
        reset_calls(sim)
        wall, cpu, rss = timed(run, env)
        res["converge"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                           "peak_rss_kib": rss, "calls": count(calls(sim))}
        reset_calls(sim)
        wall, cpu, _ = timed(run, env)
        res["noop_resync"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                              "calls": count(calls(sim))}

        # A long-running operator: memory once converged, then edit → first write latency.
        reset_calls(sim)
        t_spawn = time.time()
        p = subprocess.Popen([trimtab, "run", "--source", "dir:" + manifests, "--state-dir",
                              state, "--resync", "1h", "--log-level", "warn", "--aws-rate", "0"],
                             env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            first = None
            deadline = time.time() + 300
            quiet_since, seen = time.time(), 0
            # Converged: the start-up reconcile of every resource is over once the call log has
            # been quiet for a second.
            while time.time() < deadline:
                cs = calls(sim)
                if cs and first is None:
                    first = cs[0]["time"]
                if len(cs) != seen:
                    seen, quiet_since = len(cs), time.time()
                elif seen > 0 and time.time() - quiet_since > 1.0:
                    break
                time.sleep(0.05)
            res["startup_reconcile_calls"] = count(calls(sim))
            res["cold_start_to_first_call_ms"] = round((first - t_spawn) * 1000, 1) if first else None
            time.sleep(1.5)  # the engine trims its heap a second after going quiet
            res["held_rss_kib"] = rss_kib(p.pid)
            lat = []
            for k in range(40):
                i = (k * 7919) % n
                reset_calls(sim)
                path = os.path.join(manifests, f"svc-{i}.yaml")
                body = MANIFEST.format(i=i, c=i % CLUSTERS, target=71 + k % 2)
                t0 = time.time()
                with open(path + ".tmp", "w") as f:
                    f.write(body)
                os.rename(path + ".tmp", path)
                deadline = time.time() + 10
                got = None
                while time.time() < deadline and got is None:
                    ws = [c for c in calls(sim) if c["kind"] == "write"]
                    if ws:
                        got = ws[0]["time"]
                    else:
                        time.sleep(0.002)
                if got is not None:
                    lat.append((got - t0) * 1000)
                time.sleep(0.05)
            res["edit_to_first_write_ms"] = {
                "samples": len(lat), "p50": round(statistics.median(lat), 2) if lat else None,
                "p99": round(percentile(lat, 99), 2) if lat else None}
        finally:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        res["sigterm_exit"] = p.returncode
    return res


def bench_boto3(n, work, env, py):
    with awssim.AwsSim(fixtures=fixtures(n)) as sim:
        env = dict(env, AWS_ENDPOINT_URL=sim.endpoint)
        out = {}
        for mode, extra in (("sequential", []), ("threads16", ["--threads", "16"])):
            with awssim.AwsSim(fixtures=fixtures(n)) as fresh:
                e = dict(env, AWS_ENDPOINT_URL=fresh.endpoint)
                reset_calls(fresh)
                wall, cpu, rss = timed([py, os.path.join(HERE, "boto3_converge.py"), "--n", str(n)]
                                       + extra, e)
                out[mode] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                             "peak_rss_kib": rss, "calls": count(calls(fresh))}
        reset_calls(sim)
        return out


def bench_cli(n, env):
    aws = shutil.which("aws")
    if aws is None:
        return {"skipped": "no aws CLI"}
    with awssim.AwsSim(fixtures=fixtures(n)) as sim:
        e = dict(env, AWS_ENDPOINT_URL=sim.endpoint)
        reset_calls(sim)
        wall, cpu, _ = timed(["bash", os.path.join(HERE, "cli_converge.sh"), str(n)], e)
        return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "calls": count(calls(sim))}


def main():
    global CLUSTERS
    ap = argparse.ArgumentParser()
    ap.add_argument("--trimtab", required=True)
    ap.add_argument("--n", default="1000,10000")
    ap.add_argument("--json")
    ap.add_argument("--no-compare", action="store_true", help="skip boto3 and the CLI")
    ap.add_argument("--clusters", type=int, default=CLUSTERS,
                    help="ECS clusters the services are spread over (round robin)")
    args = ap.parse_args()
    CLUSTERS = args.clusters
    env = dict(os.environ, **CREDS)
    env.pop("AWS_PROFILE", None)
    py = subprocess.run([os.path.join(TOP, "scripts", "python.sh"), "boto3"],
                        capture_output=True, text=True).stdout.strip() or sys.executable
    results = {}
    for n in [int(x) for x in args.n.split(",")]:
        work = tempfile.mkdtemp(prefix=f"tt-bench-{n}-")
        try:
            r = {"trimtab": bench_trimtab(os.path.abspath(args.trimtab), n, work, env)}
            if not args.no_compare:
                r["boto3"] = bench_boto3(n, work, env, py)
                if n <= 200:
                    r["aws_cli"] = bench_cli(n, env)
            results[n] = r
            print(json.dumps({n: r}, indent=2), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
