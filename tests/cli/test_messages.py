#!/usr/bin/env python3
"""What trimtab tells its user, checked on the real binary (no AWS needed):

- a resource that was only ever invalid and is then removed is forgotten with a Normal
  `Removed` event — not reported `Orphaned`, since it never created anything;
- its InvalidSpec event names each problem once, also when the document has a parser error
  (whose range covers the semantic ones);
- `-o` is `--output` (as in kubectl) for `status` and `plan`; an unexpected argument or an
  unknown short option is named;
- `--help` prints one option list with `-h, --help` once.

Usage: test_messages.py TRIMTAB_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
FAILURES = []

INVALID = """apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata: {name: bad, namespace: shop}
spec:
  target: {ecs: {cluster: prod, service: web}}
  minCapacity: 5
  minCapacity: 6
  maxCapacity: 2
"""


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def run(args, env):
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env, timeout=60)


def events(state):
    with open(os.path.join(state, "events.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_invalid_then_removed(tmp, env):
    src, state = os.path.join(tmp, "src"), os.path.join(tmp, "state")
    os.makedirs(src)
    with open(os.path.join(src, "bad.yaml"), "w") as f:
        f.write(INVALID)
    p = run(["run", "--once", "--source", "dir:" + src, "--state-dir", state], env)
    check(p.returncode == 1, f"an invalid resource: run --once exits 1 ({p.returncode})")
    ev = [e for e in events(state) if e["reason"] == "InvalidSpec"]
    check(len(ev) == 1, "one InvalidSpec event")
    msg = ev[0]["message"] if ev else ""
    check(msg.count("must not exceed maxCapacity") == 1 and msg.count("duplicate key") == 1,
          f"the event names each problem once: {msg!r}")
    os.remove(os.path.join(src, "bad.yaml"))
    p = run(["plan", "--source", "dir:" + src, "--state-dir", state], env)
    check(p.returncode == 0 and "Orphaned" not in p.stdout,
          f"plan: nothing to say about it ({p.returncode}, {p.stdout.strip()[-100:]!r})")
    p = run(["run", "--once", "--source", "dir:" + src, "--state-dir", state], env)
    check(p.returncode == 0, f"removed: run --once exits 0 ({p.returncode})")
    check("Orphaned" not in p.stderr, "not reported Orphaned in the log")
    last = events(state)[-1]
    check(last["reason"] == "Removed" and last["type"] == "Normal" and
          "created no AWS objects" in last["message"], f"a Normal Removed event: {last}")
    p = run(["status", "--state-dir", state], env)
    check("bad" not in p.stdout, "status no longer lists it")


def test_flags(tmp, env):
    state = os.path.join(tmp, "state")
    for args in (["status", "-o", "json"], ["status", "-ojson"], ["status", "--output=json"]):
        p = run(args + ["--state-dir", state], env)
        ok = p.returncode == 0
        try:
            json.loads(p.stdout)
        except ValueError:
            ok = False
        check(ok, f"trimtab {' '.join(args)} prints JSON")
    p = run(["plan", "-o", "json", "--source", "dir:" + os.path.join(tmp, "src")], env)
    check(p.returncode == 0 and "summary" in json.loads(p.stdout or "{}"), "plan -o json")
    p = run(["status", "surplus", "--state-dir", state], env)
    check(p.returncode == 2 and "'surplus'" in p.stderr,
          f"an unexpected argument is named ({p.stderr.strip()!r})")
    p = run(["status", "-x"], env)
    check(p.returncode == 2 and "-x" in p.stderr, f"an unknown short option is named "
          f"({p.stderr.strip()!r})")
    for cmd in ("run", "plan", "status"):
        p = run([cmd, "--help"], env)
        check(p.stdout.count("Options:") == 1 and p.stdout.count("--help") == 1,
              f"trimtab {cmd} --help: one option list, -h/--help once")
        if cmd in ("plan", "status"):
            check("-o, --output" in p.stdout, f"trimtab {cmd} --help shows -o")


def main():
    tmp = tempfile.mkdtemp(prefix="tt-messages-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=tmp, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_REGION="eu-central-1", AWS_EC2_METADATA_DISABLED="true")
    try:
        test_invalid_then_removed(tmp, env)
        test_flags(tmp, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
