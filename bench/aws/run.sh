#!/usr/bin/env bash
# The AWS layer's figures, all in one run on the same awssim:
#   - SigV4 signatures per second (bench_sigv4);
#   - responses parsed per second, by protocol (bench_parse);
#   - 10,000 requests with 64 in flight through trimtab's engine (bench_engine), and the same
#     10,000 requests made by boto3 sequentially and with a 64-thread pool (bench_boto3.py):
#     wall time, CPU time and peak RSS of the client process.
# Usage: bench/aws/run.sh BUILD_DIR [N] [IN_FLIGHT]     (BUILD_DIR holds tests/aws/bench_*)
# Prints JSON lines and a Markdown table; awssim runs on a free local port and is stopped after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [N] [IN_FLIGHT]}
n=${2:-10000}
k=${3:-64}
py=$("$root/scripts/python.sh" botocore boto3)
out=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$py" "$root/tests/awssim/server.py" --port 0 >"$out/sim.out" 2>"$out/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
    [ -s "$out/sim.out" ] && break
    sleep 0.1
done
endpoint=$(awk 'NR==1 {print $2}' "$out/sim.out")
export AWS_ENDPOINT_URL=$endpoint AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true

# The objects the reads look at, created through trimtab itself.
tt="$build/cmd/trimtab"
"$tt" aws lambda CreateFunction --input '{"FunctionName": "bench", "Runtime": "python3.12",
  "Role": "arn:aws:iam::123456789012:role/bench", "Handler": "h.h",
  "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}' >/dev/null
"$tt" aws cloudfront CreateDistribution --input '{"DistributionConfig": {"CallerReference": "bench",
  "Comment": "bench", "Enabled": true, "Origins": {"Quantity": 1, "Items": [{"Id": "o1",
  "DomainName": "example.com", "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
  "OriginProtocolPolicy": "https-only"}}]}, "DefaultCacheBehavior": {"TargetOriginId": "o1",
  "ViewerProtocolPolicy": "allow-all", "MinTTL": 0, "ForwardedValues": {"QueryString": false,
  "Cookies": {"Forward": "none"}}}}}' >"$out/dist.json"
BENCH_DISTRIBUTION_ID=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Distribution"]["Id"])' "$out/dist.json")
export BENCH_DISTRIBUTION_ID

{
    "$build/tests/aws/bench_sigv4" 3
    "$build/tests/aws/bench_parse" 2
    "$build/tests/aws/bench_engine" "$n" "$k"
    "$py" "$here/bench_boto3.py" sequential "$n"
    "$py" "$here/bench_boto3.py" pool "$n" "$k"
} | tee "$out/results.jsonl"

"$py" - "$out/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sig = rows[0]
print("\nSigV4: %d signatures/s (%.2f us each)\n" % (sig["signatures_per_s"], sig["us_per_signature"]))
print("| client | requests | in flight | failed | wall s | CPU s | peak RSS MiB | req/s |")
print("|---|---|---|---|---|---|---|---|")
for r in rows[1:]:
    print("| %s | %d | %d | %d | %.2f | %.2f | %.1f | %d |" % (
        r["client"], r["requests"], r["in_flight"], r["failed"], r["wall_s"], r["cpu_s"],
        r["peak_rss_kib"] / 1024.0, r["req_per_s"]))
PY
