#!/usr/bin/env python3
"""One-shot commands end when their work ends, on every input, and SIGTERM always ends the
process within its bound.

- `plan`, `run --once`, `validate` and `status` on an empty tree, a path that does not exist and
  a tree of kinds no provider handles yet: each exits at once with the documented code (an empty
  tree is "0 resources, in sync", exit 0; a missing path is exit 1 with an error naming it).
- `plan` and `run --once` whose AWS calls hang (an endpoint that accepts and never answers):
  SIGTERM ends each within its shutdown grace.
- Two `run` on one state directory: the second refuses to start and names the first; `plan` and
  `status` still read; once the first is killed (-9), a new run starts.
- No credentials anywhere: the error says which sources were tried and what to set, and carries
  no stray bytes (the error record used to leak uninitialised fields into the message).

Usage: test_oneshot.py TRIMTAB_BINARY SOURCE_DIR
"""
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
BOUND = 10.0  # seconds any one-shot command may take on these inputs (they take milliseconds)
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def base_env(tmp):
    """An environment with credentials and a region, and nothing of the caller's AWS setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=tmp, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               AWS_REGION="eu-central-1", AWS_EC2_METADATA_DISABLED="true")
    return env


def run(args, env, timeout=BOUND):
    start = time.monotonic()
    try:
        p = subprocess.run([BIN] + args, capture_output=True, text=True, env=env,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", f"did not exit within {timeout} s", timeout
    return p.returncode, p.stdout, p.stderr, time.monotonic() - start


def trees(tmp):
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    other = os.path.join(tmp, "other-kinds")
    os.makedirs(other)
    # A mixed GitOps tree: a Deployment (not ours) only, then nothing trimtab handles.
    shutil.copy(os.path.join(SRC, "examples", "app", "web-deployment.yaml"), other)
    return {"empty": empty, "missing": os.path.join(tmp, "does-not-exist"), "other": other}


def test_inputs(tmp, env):
    t = trees(tmp)
    for name, path in t.items():
        want = 1 if name == "missing" else 0
        for cmd in (["plan", "--source", "dir:" + path],
                    ["plan", "--output", "json", "--source", "dir:" + path],
                    ["run", "--once", "--source", "dir:" + path, "--state-dir",
                     os.path.join(tmp, "state-" + name)]):
            rc, out, err, took = run(cmd, env)
            label = f"{' '.join(cmd[:2])} on the {name} tree"
            check(rc == want, f"{label}: exit {rc} (want {want}) in {took:.2f} s")
            if name == "missing":
                check(path in err and "No such file" in err,
                      f"{label}: the error names the path ({err.strip()[-120:]!r})")
            if name == "missing" and cmd[0] == "run":
                check(not os.path.exists(os.path.join(tmp, "state-" + name)),
                      f"{label}: no state directory is left behind")
    rc, out, _, _ = run(["plan", "--source", "dir:" + t["empty"]], env)
    check("in 0 resources" in out, "plan on an empty tree says 0 resources, in sync")
    rc, _, err, took = run(["validate", t["empty"]], env)
    check(rc == 0, f"validate on an empty tree: exit {rc} in {took:.2f} s")
    rc, out, err, took = run(["validate", t["missing"]], env)
    check(rc == 1 and t["missing"] in out + err, f"validate on a missing path: exit {rc}, names it")
    rc, _, err, took = run(["status", "--state-dir", t["missing"]], env)
    check(rc is not None, f"status on a missing state directory exits ({rc}) in {took:.2f} s")


class Blackhole:
    """A TCP server that accepts connections and never answers: AWS calls hang."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_sigterm(tmp, env):
    hole = Blackhole()
    try:
        env = dict(env, AWS_ENDPOINT_URL=hole.endpoint)
        manifests = os.path.join(tmp, "ecs")
        shutil.copytree(os.path.join(SRC, "examples", "ecs"), manifests)
        for cmd, grace in ((["plan", "--source", "dir:" + manifests], 0.0),
                           (["run", "--once", "--shutdown-grace", "1s", "--source",
                             "dir:" + manifests, "--state-dir", os.path.join(tmp, "s-once")], 1.0),
                           (["run", "--shutdown-grace", "1s", "--source", "dir:" + manifests,
                             "--state-dir", os.path.join(tmp, "s-run")], 1.0)):
            p = subprocess.Popen([BIN] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env, text=True)
            # Wait until its AWS calls are hanging on the blackhole.
            deadline = time.monotonic() + BOUND
            while not hole.conns and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)
            label = " ".join(cmd[:2])
            check(p.poll() is None, f"{label} is still waiting on AWS before SIGTERM")
            start = time.monotonic()
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=grace + 5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
            took = time.monotonic() - start
            check(rc is not None and took < grace + 2,
                  f"{label}: SIGTERM ended it in {took:.2f} s (grace {grace} s), exit {rc}")
            hole.conns.clear()
    finally:
        hole.close()


def test_state_lock(tmp, env):
    state = os.path.join(tmp, "s-lock")
    empty = os.path.join(tmp, "empty")
    first = subprocess.Popen([BIN, "run", "--source", "dir:" + empty, "--state-dir", state],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + BOUND
        while not os.path.exists(os.path.join(state, "lock")) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        rc, _, err, took = run(["run", "--source", "dir:" + empty, "--state-dir", state], env)
        check(rc == 1 and f"pid {first.pid} on " in err and "--state-dir" in err,
              f"a second run on the same state directory refuses, naming the first ({err.strip()!r})")
        rc, out, _, _ = run(["plan", "--source", "dir:" + empty, "--state-dir", state], env)
        check(rc == 0, f"plan reads while a run holds the state directory (exit {rc})")
        rc, out, _, _ = run(["status", "--state-dir", state], env)
        check(rc == 0, f"status reads while a run holds the state directory (exit {rc})")
    finally:
        first.kill()
        first.wait()
    rc, _, err, _ = run(["run", "--once", "--source", "dir:" + empty, "--state-dir", state], env)
    check(rc == 0, f"after the holder is killed (-9), a new run starts (exit {rc}) {err[-200:]!r}")


class Imds404(http.server.BaseHTTPRequestHandler):
    """Instance metadata on a machine that is not an EC2 instance: every path is 404."""

    def _answer(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = _answer

    def log_message(self, *args):
        pass


def test_no_credentials(tmp):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Imds404)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
           "AWS_REGION": "eu-central-1",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:%d" % server.server_port}
    manifests = os.path.join(tmp, "ecs-nocreds")
    shutil.copytree(os.path.join(SRC, "examples", "ecs"), manifests)
    cmds = [[BIN, "plan", "--source", "dir:" + manifests]]
    valgrind = shutil.which("valgrind") and "--sanitized" not in sys.argv
    if valgrind:
        cmds.append(["valgrind", "--error-exitcode=99", "--leak-check=full",
                     "--errors-for-leak-kinds=definite,indirect", "--quiet"] + cmds[0])
    try:
        for cmd in cmds:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                               errors="replace")
            label = "under valgrind" if cmd[0] == "valgrind" else "plain"
            check(p.returncode == 1, f"no credentials ({label}): plan exits 1 ({p.returncode})")
            lines = [ln for ln in p.stdout.splitlines() if "NoCredentials" in ln]
            check(len(lines) == 2, f"no credentials ({label}): both resources report it")
            for ln in lines:
                check("no AWS credentials in any source" in ln and "AWS_ACCESS_KEY_ID" in ln
                      and "AWS_PROFILE" in ln and "web identity" in ln
                      and "instance metadata: IMDS answered HTTP 404" in ln,
                      f"no credentials ({label}): says what was tried and what to set")
                check(ln.isprintable() and "(null)" not in ln,
                      f"no credentials ({label}): no stray bytes in {ln[-60:]!r}")
        if not valgrind:
            print("note: valgrind not available (or a sanitizer build); ran without it")
    finally:
        server.shutdown()


def main():
    tmp = tempfile.mkdtemp(prefix="tt-oneshot-")
    try:
        env = base_env(tmp)
        test_inputs(tmp, env)
        test_sigterm(tmp, env)
        test_state_lock(tmp, env)
        test_no_credentials(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
