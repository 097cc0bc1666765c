#!/usr/bin/env python3
"""The alarm convergence of bench_alarms.py written the way a platform team writes it with boto3:
for each alarm, read it and put it when it differs (with the owner tag on creation). Endpoint and
credentials from the environment.
"""
import argparse
import os

import boto3
import botocore.config

TOPIC = "arn:aws:sns:eu-central-1:123456789012:oncall"


def want(i):
    return {"AlarmName": f"trimtab-bench-svc-{i}-cpu", "Namespace": "AWS/ECS",
            "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 60,
            "EvaluationPeriods": 5, "DatapointsToAlarm": 3, "Threshold": 85.0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing",
            "AlarmActions": [TOPIC],
            "Dimensions": [{"Name": "ClusterName", "Value": f"c{i % 10}"},
                           {"Name": "ServiceName", "Value": f"svc-{i}"}]}


def converge(client, i):
    w = want(i)
    have = client.describe_alarms(AlarmNames=[w["AlarmName"]])["MetricAlarms"]
    if have and all(have[0].get(k) == v for k, v in w.items()):
        return
    if not have:
        w["Tags"] = [{"Key": "trimtab.dev/owner", "Value": f"bench/svc-{i}-cpu"}]
    client.put_metric_alarm(**w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    args = ap.parse_args()
    client = boto3.client("cloudwatch", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                          config=botocore.config.Config(retries={"mode": "standard"}))
    for i in range(args.n):
        converge(client, i)


if __name__ == "__main__":
    main()
