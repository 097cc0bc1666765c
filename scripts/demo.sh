#!/usr/bin/env bash
# make demo: trimtab's main job on examples/, against the local AWS simulator.
#
# 1. start tests/awssim on loopback with the ECS services the examples scale;
# 2. `trimtab run` on a copy of examples/ (the repository is never written to);
# 3. show what converged (status table, events), then edit a manifest and show the effect;
# 4. change AWS behind trimtab's back and watch the resync put it back;
# 4b. flip the orders-db alarms and watch the RDS ladder take one step up and one back down;
# 5. `trimtab plan` agrees that nothing is left to do; stop everything cleanly.
set -euo pipefail

bin=$(cd "$(dirname "${1:-build/cmd/trimtab}")" && pwd)/$(basename "${1:-build/cmd/trimtab}")
top=$(cd "$(dirname "$0")/.." && pwd)
py=$("$top/scripts/python.sh" botocore || echo python3)
work=$(mktemp -d /tmp/trimtab-demo.XXXXXX)
sim_pid=
run_pid=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null || true
    [ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/fixtures.json" <<'EOF'
{"region": "eu-central-1",
 "ecs": {"clusters": [{"name": "prod", "services": [
     {"name": "web", "desiredCount": 2}, {"name": "worker", "desiredCount": 1}]}]},
 "rds": {"instances": [{"id": "orders-db", "class": "db.t4g.small", "allocatedStorage": 100}]},
 "cloudfront": {"distributions": [{"id": "E2QWRUHAPOMQZL"}]},
 "secretsmanager": {"secrets": [{"name": "prod/orders-db/app"}]}}
EOF

say "Starting the local AWS simulator (tests/awssim) with ECS services prod/web and prod/worker"
"$py" "$top/tests/awssim/server.py" --port 0 --fixtures "$work/fixtures.json" >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 100); do grep -q '^endpoint ' "$work/sim.out" 2>/dev/null && break; sleep 0.05; done
endpoint=$(sed -n 's/^endpoint //p' "$work/sim.out")
[ -n "$endpoint" ] || { echo "the simulator did not start:"; cat "$work/sim.err"; exit 1; }
echo "simulator at $endpoint"
# The Aurora cluster, ElastiCache replication group and Lambda alias examples/ scales.
curl -fsS -X POST "$endpoint/_awssim/fixtures" -d '{"region": "eu-central-1",
 "rds": {"clusters": [{"id": "reporting", "engine": "aurora-postgresql", "readers": 1}]},
 "elasticache": {"replicationGroups": [{"id": "sessions", "clusterMode": true, "nodeGroups": 2,
                                        "replicasPerNodeGroup": 1, "engine": "valkey"}]},
 "lambda": {"functions": [{"name": "checkout-api", "publishedVersions": 2,
                           "aliases": [{"name": "live", "version": "2"}]}]}}' >/dev/null

export AWS_ENDPOINT_URL=$endpoint AWS_REGION=eu-central-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
cp -r "$top/examples" "$work/manifests"
# The demo cannot wait out the example's 30-minute cooldown between two ladder steps.
sed -i 's/^    cooldown: 30m$/    cooldown: 0s/' "$work/manifests/rds/orders-db.yaml"
state="$work/state"

say "trimtab validate: what examples/ asks for"
"$bin" validate -v "$work/manifests" | sed "s|$work/||"

say "trimtab plan: what would change in AWS (nothing exists yet)"
"$bin" plan --source "dir:$work/manifests" --state-dir "$state" 2>/dev/null |
    sed "s|$work/||" | head -40 || true

say "trimtab run: reconcile, then keep watching (log below)"
"$bin" run --source "dir:$work/manifests" --state-dir "$state" --resync 5s --alarm-poll 1s \
    --log-level info >"$work/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 100); do grep -q 'ScalingPolicy/shop/worker: Converged' "$work/run.log" && \
    grep -q 'ScalingPolicy/shop/web: Converged' "$work/run.log" && break; sleep 0.05; done
grep -E 'Created|Updated|Converged|Deleted' "$work/run.log" | cut -c26- || true

say "trimtab status: every resource of examples/"
"$bin" status --state-dir "$state"

say "trimtab status -o wide: web's predictive policy forecasts its daily peak (ForecastOnly)"
"$bin" status --state-dir "$state" -o wide | grep -E '^KIND|^ScalingPolicy +shop +web ' | cut -c1-150

say "Before letting the forecast act: plan a switch to ForecastAndScale (on a copy)"
cp -r "$work/manifests" "$work/forecast-and-scale"
sed -i 's/^      mode: ForecastOnly$/      mode: ForecastAndScale/' "$work/forecast-and-scale/ecs/web.yaml"
# plan exits 2 when there are changes: the pipeline must not fail on that.
{ "$bin" plan --source "dir:$work/forecast-and-scale" --state-dir "$state" 2>/dev/null || true; } |
    grep -B1 -A1 'warning' || echo "(no warning)"

say "Editing examples/ecs/web.yaml: maxCapacity 10 → 12"
sed -i 's/^  maxCapacity: 10$/  maxCapacity: 12/' "$work/manifests/ecs/web.yaml"
for _ in $(seq 100); do grep -q 'maxCapacity 10 → 12' "$work/run.log" && break; sleep 0.05; done
grep 'maxCapacity 10 → 12' "$work/run.log" | cut -c26- || echo "(the edit was not applied)"

say "Someone changes the scalable target by hand: minCapacity 2 → 5"
"$bin" aws application-autoscaling RegisterScalableTarget --input \
    '{"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":5,"MaxCapacity":12}' \
    >/dev/null
echo "waiting for the next resync (every 5s in this demo)…"
for _ in $(seq 200); do grep -q 'minCapacity 5 → 2' "$work/run.log" && break; sleep 0.05; done
grep 'minCapacity 5 → 2' "$work/run.log" | cut -c26- || echo "(the drift was not corrected)"

alarm() {
    curl -s -X POST "$endpoint/_awssim/alarms/state" -d \
        "{\"alarm\": \"trimtab-shop-orders-db-write-iops-$1\", \"state\": \"$2\", \"region\": \"eu-central-1\"}" >/dev/null
}
say "Writes above 500/s: the orders-db scale-up alarm goes to ALARM (--alarm-poll 1s here)"
alarm high ALARM
for _ in $(seq 200); do grep -q 'instanceClass "db.t4g.small" → "db.t4g.medium"' "$work/run.log" && break; sleep 0.05; done
grep 'orders-db.*instanceClass' "$work/run.log" | cut -c26- || echo "(no step up)"
alarm high OK
say "Load falls: the scale-down alarm goes to ALARM; one step back once the instance is available"
alarm low ALARM
for _ in $(seq 400); do grep -q 'instanceClass "db.t4g.medium" → "db.t4g.small"' "$work/run.log" && break; sleep 0.05; done
grep 'instanceClass "db.t4g.medium" → "db.t4g.small"' "$work/run.log" | cut -c26- || echo "(no step down)"
alarm low OK

spend() {
    curl -s -X POST "$endpoint/_awssim/budgets/spend" -d \
        "{\"budget\": \"trimtab-shop-platform-monthly\", \"actual\": \"$1\"}" >/dev/null
}
say "The platform team has spent 54 of its 60 USD (90 %): the worker's budget guard (above 80 %) clamps its maximum to 4"
spend 54
for _ in $(seq 300); do grep -q 'worker: BudgetExceeded' "$work/run.log" && break; sleep 0.05; done
grep -E 'worker: BudgetExceeded|platform-monthly: .*Updated' "$work/run.log" | cut -c26- || echo "(no clamp)"
say "Spend is back to 30 USD (50 %): the worker's maximum is restored"
spend 30
for _ in $(seq 300); do grep -q 'worker: WithinBudget' "$work/run.log" && break; sleep 0.05; done
grep 'worker: WithinBudget' "$work/run.log" | cut -c26- || echo "(no restore)"

say "Events (state directory, events.jsonl)"
tail -n 8 "$state/events.jsonl"

say "trimtab plan: nothing left to do"
"$bin" plan --source "dir:$work/manifests" --state-dir "$state" 2>/dev/null | tail -1 || true

say "Stopping trimtab (SIGTERM) and the simulator"
kill -TERM "$run_pid"
if wait "$run_pid"; then echo "trimtab exited 0"; else echo "trimtab exited $?"; fi
run_pid=
tail -n 1 "$work/run.log" | cut -c26-
