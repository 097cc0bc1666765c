#!/usr/bin/env python3
"""trimtab aws, the debugging command, against fake_aws.py: output JSON on stdout and exit 0,
the AWS error record on stderr and exit 1, usage errors exit 2, --input @FILE, --paginate.

Usage: cli_test.py PATH/TO/trimtab
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    trimtab = sys.argv[1]
    fake = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_aws.py")],
                            stdout=subprocess.PIPE, text=True)
    endpoint = fake.stdout.readline().split()[1]
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               AWS_REGION="eu-west-1", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true")
    env.pop("AWS_PROFILE", None)

    def script(steps):
        urllib.request.urlopen(endpoint + "/_fake/script", json.dumps(steps).encode()).read()

    def run(*args):
        return subprocess.run([trimtab, "aws", *args], capture_output=True, text=True, env=env,
                              timeout=60)

    failures = []

    def check(cond, what, p):
        if not cond:
            failures.append("%s\n  exit %d\n  stdout %s\n  stderr %s" % (what, p.returncode,
                                                                       p.stdout, p.stderr))

    try:
        p = run("sts", "GetCallerIdentity")
        check(p.returncode == 0 and json.loads(p.stdout)["Account"] == "123456789012",
              "GetCallerIdentity prints the output", p)

        script([{"status": 400, "headers": {"x-amzn-RequestId": "req-42"},
                 "body": json.dumps({"__type": "ValidationException",
                                     "message": "ECS service doesn't exist"})}])
        p = run("application-autoscaling", "RegisterScalableTarget", "--input",
                json.dumps({"ServiceNamespace": "ecs", "ResourceId": "service/c/s",
                            "ScalableDimension": "ecs:service:DesiredCount"}))
        rec = json.loads(p.stderr[p.stderr.index("{"):]) if "{" in p.stderr else {}
        check(p.returncode == 1 and p.stdout == "" and rec.get("Error", {}).get("Code") ==
              "ValidationException" and rec["Error"]["HTTPStatusCode"] == 400 and
              rec["Error"]["RequestId"] == "req-42", "an AWS error is the record on stderr", p)

        p = run("application-autoscaling", "DescribeScalableTargets", "--input",
                '{"ServiceNamespace": 3}')
        check(p.returncode == 1 and "expected a string" in p.stderr, "bad input is refused", p)

        p = run("ecs", "NoSuchOperation")
        check(p.returncode == 1 and "NoSuchOperation" in p.stderr, "unknown operation", p)
        p = run("sts")
        check(p.returncode == 2, "missing operation is a usage error", p)
        p = run("sts", "GetCallerIdentity", "--input", "[1]")
        check(p.returncode == 2, "--input must be an object", p)
        p = run("--help")
        check(p.returncode == 0 and "SERVICE OPERATION" in p.stdout, "--help", p)

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"ServiceNamespace": "ecs"}, f)
        script([{"body": json.dumps({"ScalableTargets": [{"ResourceId": "a"}],
                                     "NextToken": "n1"})},
                {"match": "n1", "body": json.dumps({"ScalableTargets": [{"ResourceId": "b"}]})}])
        p = run("application-autoscaling", "DescribeScalableTargets", "--input", "@" + f.name,
                "--paginate")
        os.unlink(f.name)
        out = json.loads(p.stdout) if p.returncode == 0 else {}
        check([t["ResourceId"] for t in out.get("ScalableTargets", [])] == ["a", "b"],
              "--input @FILE and --paginate", p)

        script([{"body": json.dumps({"MetricAlarms": [], "CompositeAlarms": []})}])
        p = run("cloudwatch", "DescribeAlarms", "--json-protocol")
        log = json.loads(urllib.request.urlopen(endpoint + "/_fake/log").read())
        check(p.returncode == 0 and log[-1]["headers"].get("X-Amz-Target") ==
              "GraniteServiceVersion20100801.DescribeAlarms", "--json-protocol", p)

        p = run("sts", "GetCallerIdentity", "--debug")
        check(p.returncode == 0 and "wJalrXUtnFEMI" not in p.stderr and
              "Signature=" not in p.stderr, "--debug logs no secret", p)
    finally:
        fake.terminate()
        fake.wait()
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("trimtab aws: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
