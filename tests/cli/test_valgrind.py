#!/usr/bin/env python3
"""trimtab under valgrind (memcheck): `validate` on examples and on hostile input, and a
`run --once` followed by `plan --prune` against the local AWS simulator. Any invalid read or
write, use of uninitialised memory, or definitely/indirectly lost block fails the test.

Usage: test_valgrind.py TRIMTAB_BINARY SOURCE_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(SRC, "tests", "awssim"))
import awssim  # noqa: E402

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--quiet"]
FIXTURES = {"region": "eu-central-1", "ecs": {"clusters": [{"name": "prod", "services": [
    {"name": "web", "desiredCount": 2}, {"name": "worker", "desiredCount": 1}]}]},
    # What examples/ scales: the RDS instance ladder (its alarms are examples too), CloudFront, Aurora readers,
    # ElastiCache and Lambda (as make demo has it).
    "rds": {"instances": [{"id": "orders-db", "allocatedStorage": 100}],
            "clusters": [{"id": "reporting", "engine": "aurora-postgresql", "readers": 1}]},
    "cloudfront": {"distributions": [{"id": "E2QWRUHAPOMQZL"}]},
    "elasticache": {"replicationGroups": [{"id": "sessions", "clusterMode": True,
                                           "nodeGroups": 2, "replicasPerNodeGroup": 1}]},
    "lambda": {"functions": [{"name": "checkout-api", "publishedVersions": 2,
                              "aliases": [{"name": "live", "version": "2"}]}]},
    # The secret examples/secrets rotates: without it that SecretRotation is TargetNotFound.
    "secretsmanager": {"secrets": [{"name": "prod/orders-db/app"}]}}


def run(args, env=None, ok=(0, 1, 2)):
    p = subprocess.run(VALGRIND + [BIN] + args, capture_output=True, text=True, env=env,
                       timeout=600)
    if p.returncode == 99 or p.returncode not in ok:
        sys.stderr.write(p.stderr[-6000:])
        raise SystemExit(f"valgrind found a problem in: trimtab {' '.join(args)} "
                         f"(exit {p.returncode})")
    print(f"clean: trimtab {' '.join(args[:3])} … (exit {p.returncode})")


def main():
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="tt-valgrind-")
    try:
        run(["validate", os.path.join(SRC, "examples")], ok=(0,))
        hostile = os.path.join(tmp, "hostile")
        os.makedirs(hostile)
        lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 10) + "]" for i in range(1, 8)]
        with open(os.path.join(hostile, "bomb.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(hostile, "deep.yaml"), "w") as f:
            f.write("a: " + "[" * 5000 + "]" * 5000 + "\n")
        with open(os.path.join(hostile, "bin.json"), "wb") as f:
            f.write(bytes(range(256)) * 64)
        with open(os.path.join(hostile, "broken.yaml"), "w") as f:
            f.write("apiVersion: trimtab.dev/v1alpha1\nkind: Budget\nmetadata: {name: b}\n"
                    "spec: {limit: {amount: [1, 2\n")
        run(["validate", hostile], ok=(1,))
        with awssim.AwsSim(fixtures=FIXTURES) as sim:
            sim.delays(cloudfront=0)  # Ready once Deployed: deployed at the next look
            env = dict(os.environ, AWS_ENDPOINT_URL=sim.endpoint, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                       AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                       AWS_REGION="eu-central-1")
            env.pop("AWS_PROFILE", None)
            manifests = os.path.join(tmp, "manifests")
            shutil.copytree(os.path.join(SRC, "examples"), manifests)
            state = os.path.join(tmp, "state")
            run(["run", "--once", "--source", "dir:" + manifests, "--state-dir", state,
                 "--log-level", "error"], env=env, ok=(0,))
            os.remove(os.path.join(manifests, "ecs", "web.yaml"))
            run(["plan", "--prune", "--source", "dir:" + manifests, "--state-dir", state],
                env=env, ok=(2,))
            run(["run", "--once", "--prune", "--source", "dir:" + manifests, "--state-dir",
                 state, "--log-level", "error"], env=env, ok=(0,))
            run(["status", "--state-dir", state], env=env, ok=(0,))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
