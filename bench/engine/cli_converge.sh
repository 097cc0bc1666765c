#!/usr/bin/env bash
# The same convergence as an AWS CLI loop, the way shell scripts do it: one `aws` process per
# call, writes without reading (the CLI has no cheap way to compare). Usage: cli_converge.sh N
set -euo pipefail
n=$1
for ((i = 0; i < n; i++)); do
    rid="service/c$((i % 10))/svc-$i"
    aws application-autoscaling register-scalable-target --service-namespace ecs \
        --resource-id "$rid" --scalable-dimension ecs:service:DesiredCount \
        --min-capacity 1 --max-capacity 10 --endpoint-url "$AWS_ENDPOINT_URL" >/dev/null
    aws application-autoscaling put-scaling-policy --service-namespace ecs --resource-id "$rid" \
        --scalable-dimension ecs:service:DesiredCount --policy-name "trimtab-bench-svc-$i-cpu" \
        --policy-type TargetTrackingScaling --endpoint-url "$AWS_ENDPOINT_URL" \
        --target-tracking-scaling-policy-configuration \
        '{"TargetValue":70.0,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}' \
        >/dev/null
done
