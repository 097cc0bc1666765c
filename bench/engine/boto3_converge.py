#!/usr/bin/env python3
"""The convergence trimtab does in bench_engine.py, written the way a platform team writes it
with boto3: for each ECS service, read the scalable target and the policy, write what differs.
Sequential, or with a thread pool (--threads N). Endpoint and credentials from the environment.
"""
import argparse
import concurrent.futures
import os

import boto3
import botocore.config

CLUSTERS = 10


def converge(client, i):
    rid = f"service/c{i % CLUSTERS}/svc-{i}"
    dim = "ecs:service:DesiredCount"
    name = f"trimtab-bench-svc-{i}-cpu"
    targets = client.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid],
                                               ScalableDimension=dim)["ScalableTargets"]
    if not targets or targets[0]["MinCapacity"] != 1 or targets[0]["MaxCapacity"] != 10:
        client.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                        ScalableDimension=dim, MinCapacity=1, MaxCapacity=10)
    policies = client.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid,
                                                ScalableDimension=dim,
                                                PolicyNames=[name])["ScalingPolicies"]
    want = {"TargetValue": 70.0, "PredefinedMetricSpecification": {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}
    have = policies[0].get("TargetTrackingScalingPolicyConfiguration", {}) if policies else {}
    if not policies or have.get("TargetValue") != 70.0:
        client.put_scaling_policy(PolicyName=name, ServiceNamespace="ecs", ResourceId=rid,
                                  ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                                  TargetTrackingScalingPolicyConfiguration=want)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    cfg = botocore.config.Config(max_pool_connections=max(10, args.threads),
                                 retries={"mode": "standard"})
    client = boto3.client("application-autoscaling", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                          config=cfg)
    if args.threads:
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda i: converge(client, i), range(args.n)))
    else:
        for i in range(args.n):
            converge(client, i)


if __name__ == "__main__":
    main()
