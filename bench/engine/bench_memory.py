#!/usr/bin/env python3
"""Peak and held memory of trimtab at N mixed resources (SPEC §10: 10,000 under 16 MiB RSS).

The resources are bench/peers/mix.py's: examples/' proportions of every kind and target (ECS
services, Aurora readers, RDS instance ladders, ElastiCache replicas, Lambda aliases, CloudFront
distributions, Alarms, Budgets, SecretRotations), against the local AWS simulator.

  converge  `trimtab run --once` from nothing: peak RSS of the process (wait4's ru_maxrss)
  held      a continuous `trimtab run` on the converged state, once its start-up reconcile is
            over and the heap trimmed: VmRSS and its peak VmHWM, split into anonymous pages
            (heap, what grows with resources) and file-backed pages (trimtab's code and the
            shared libraries libcurl pulls in), the largest mappings by name

  --massif F  runs the held `trimtab run` under valgrind's massif instead (heap snapshots to F,
            read with ms_print; the RSS figures are then valgrind's, not trimtab's)

Usage: bench_memory.py --trimtab build/cmd/trimtab [--n 10000] [--json out.json] [--massif F]
"""
import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "awssim"))
sys.path.insert(0, os.path.join(TOP, "bench", "peers"))
import awssim  # noqa: E402
from bench_peers import write_tree  # noqa: E402
from mix import REGION, build  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
         "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
         "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


def status_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1])
    return out


def mappings_kib(pid, top=8):
    """Resident KiB per mapped file (code and data of trimtab and each library) and of the
    anonymous mappings ([heap] and malloc's mmaps together as "anon")."""
    per, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
                name = os.path.basename(parts[5]) if len(parts) > 5 else "anon"
                if name in ("[heap]", "[stack]", "[vvar]", "[vdso]", "[vsyscall]"):
                    name = "anon" if name == "[heap]" else name
            elif parts[0] == "Rss:":
                per[name] = per.get(name, 0) + int(parts[1])
    return dict(sorted(per.items(), key=lambda kv: -kv[1])[:top])


def malloc_in_use_kib(pid, errlog):
    """What the heap holds live (glibc's malloc_stats "in use bytes", all arenas), asked of the
    running process through gdb; None without gdb. The rest of the anonymous pages are free
    chunks malloc keeps between live ones."""
    if shutil.which("gdb") is None:
        return None
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (void) malloc_stats()"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    with open(errlog) as f:
        lines = [ln for ln in f if ln.startswith("in use bytes")]
    return int(lines[-1].split("=")[1]) // 1024 if lines else None


@contextlib.contextmanager
def mixed_run(trimtab, files, fx, prefix):
    """awssim holding `fx` (transition delays zero) and `files` written to a temporary
    manifests directory: yields (sim, env, work, base), base being the `trimtab run` command
    line on them (state directory beside, warnings only, no client-side rate limit). Stops
    the simulator and removes the directory after."""
    work = tempfile.mkdtemp(prefix=prefix)
    sim = awssim.AwsSim(fixtures=fx, stderr=subprocess.DEVNULL).start()
    try:
        sim.delays(**{k: 0 for k in sim.control("GET", "delays")["delays"]})
        env = dict(os.environ, **CREDS)
        env.update(sim.env(REGION))
        manifests, state = os.path.join(work, "manifests"), os.path.join(work, "state")
        write_tree(manifests, files)
        yield sim, env, work, [trimtab, "run", "--source", "dir:" + manifests, "--state-dir",
                               state, "--log-level", "warn", "--aws-rate", "0"]
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trimtab", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--json")
    ap.add_argument("--massif")
    args = ap.parse_args()
    trimtab = os.path.abspath(args.trimtab)
    files, fx, _ = build(args.n)
    kinds = {}
    for rel, text in files.items():
        kind = text.split("kind: ", 1)[1].split("\n", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    res = {"n": len(files), "kinds": kinds}
    with mixed_run(trimtab, files, fx, "tt-mem-") as (sim, env, work, base):
        t0 = time.monotonic()
        p = subprocess.Popen(base + ["--once"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.stderr.write(err[-3000:].decode(errors="replace"))
            raise SystemExit("trimtab run --once exited %d" % os.waitstatus_to_exitcode(status))
        res["converge"] = {"wall_s": round(time.monotonic() - t0, 2),
                           "peak_rss_kib": ru.ru_maxrss}
        sim.reset_calls()
        held = base + ["--resync", "1h"]
        if args.massif:
            held = ["valgrind", "--tool=massif", "--massif-out-file=" + args.massif] + held
        errlog = os.path.join(work, "held.err")
        p = subprocess.Popen(held, env=env, stdout=subprocess.DEVNULL, stderr=open(errlog, "w"))
        try:
            seen, quiet_since, deadline = 0, time.time(), time.time() + 900
            while time.time() < deadline:
                n = len(sim.calls())
                if n != seen:
                    seen, quiet_since = n, time.time()
                elif seen > 0 and time.time() - quiet_since > (15 if args.massif else 1.5):
                    break
                time.sleep(0.2)
            time.sleep(10 if args.massif else 1.5)  # the engine trims its heap a second after going quiet
            res["held"] = status_kib(p.pid)
            res["held"]["startup_calls"] = seen
            res["held_mappings_kib"] = mappings_kib(p.pid)
            if not args.massif:
                res["held"]["malloc_in_use_kib"] = malloc_in_use_kib(p.pid, errlog)
        finally:
            p.terminate()
            p.wait(timeout=30)
    h = res["held"]
    print("%d resources %s" % (res["n"], json.dumps(kinds)))
    print("converge (run --once): peak RSS %.1f MiB" % (res["converge"]["peak_rss_kib"] / 1024))
    print("held (run, after start-up): RSS %.1f MiB = anon/heap %.1f + file-backed %.1f; peak "
          "VmHWM %.1f MiB (heap at peak ≈ %.1f)"
          % (h["VmRSS"] / 1024, h["RssAnon"] / 1024, h["RssFile"] / 1024, h["VmHWM"] / 1024,
             (h["VmHWM"] - h["RssFile"]) / 1024))
    print("heap per resource: %.0f bytes" % (h["RssAnon"] * 1024 / res["n"]))
    if h.get("malloc_in_use_kib") is not None:
        print("live heap (malloc in use): %.1f MiB, %.0f bytes a resource"
              % (h["malloc_in_use_kib"] / 1024, h["malloc_in_use_kib"] * 1024 / res["n"]))
    print("largest mappings (KiB): %s" % json.dumps(res["held_mappings_kib"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
