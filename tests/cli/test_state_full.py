#!/usr/bin/env python3
"""A state directory that fills up: the record that cannot be written is not silently left
stale. While the disk is full, `trimtab status` warns that what it shows may be stale; once
space is back, the record is written with Synced=False, reason StatusWriteFailed and the error,
and the run keeps going.

The full disk is a small tmpfs mounted for the test, so it needs root (or CAP_SYS_ADMIN); where
it cannot be mounted the test is skipped loudly (exit 77), never passed.

Usage: test_state_full.py TRIMTAB_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1])
FAILURES = []

SPEC = """apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata: {name: web, namespace: shop}
spec:
  target: {ecs: {cluster: prod, service: web}}
  minCapacity: 1
  maxCapacity: %d
  suspend: true
"""


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)
    return None


def record(state):
    try:
        with open(os.path.join(state, "resources", "ScalingPolicy", "shop", "web.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def condition(rec, ctype):
    for c in (rec or {}).get("status", {}).get("conditions", []):
        if c.get("type") == ctype:
            return c
    return {}


def fill(path):
    """Writes until the file system is full (tmpfs counts whole pages)."""
    try:
        with open(path, "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    except OSError:
        pass


def main():
    tmp = tempfile.mkdtemp(prefix="tt-state-full-")
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        print("SKIPPED: cannot mount a tmpfs here (needs root); the full-disk case is untested")
        shutil.rmtree(tmp, ignore_errors=True)
        return 77
    proc = None
    try:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        state = os.path.join(mnt, "state")
        manifest = os.path.join(src, "web.yaml")
        with open(manifest, "w") as f:
            f.write(SPEC % 4)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_REGION="eu-central-1", AWS_EC2_METADATA_DISABLED="true")
        proc = subprocess.Popen([BIN, "run", "--source", "dir:" + src, "--state-dir", state],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                                text=True)
        wait_for(lambda: condition(record(state), "Ready").get("reason") == "Suspended", 10,
                 "the first record")
        fill(os.path.join(mnt, "filler"))
        with open(manifest, "w") as f:  # a new generation, whose record cannot be written
            f.write(SPEC % 5)
        time.sleep(1.0)
        rec = record(state)
        check(rec is not None and rec["metadata"]["generation"] == 1,
              "while the disk is full, the old record is all there is")
        st = subprocess.run([BIN, "status", "--state-dir", state], capture_output=True,
                            text=True, env=env)
        check("cannot be written" in st.stderr and "stale" in st.stderr,
              f"status warns that the records may be stale ({st.stderr.strip()!r})")
        os.remove(os.path.join(mnt, "filler"))
        rec = wait_for(lambda: (lambda r: r if r and r["metadata"]["generation"] == 2 else None)(
            record(state)), 30, "the record of generation 2 once space is back")
        synced = condition(rec, "Synced")
        check(synced.get("status") == "False" and synced.get("reason") == "StatusWriteFailed",
              f"the record says it could not be written: {synced}")
        check("No space left on device" in synced.get("message", ""),
              "the condition carries the write error")
        check(condition(rec, "Ready").get("reason") == "Suspended",
              "the rest of the status is current")
        st = subprocess.run([BIN, "status", "--state-dir", state], capture_output=True,
                            text=True, env=env)
        check("StatusWriteFailed" in st.stdout and "cannot be written" not in st.stderr,
              "status shows the failure in the table, and no warning once space is back")
        check(proc.poll() is None, "the run kept going")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
