#!/usr/bin/env python3
"""The Budget and SecretRotation convergence of bench_kinds.py written the way a platform team
writes it with boto3, read-then-write per object as ACK does it: for each budget, read it, its
notifications and their subscribers, create what is missing; for each secret, read its rotation
settings and call RotateSecret when they differ. Endpoint and credentials from the environment.

Usage: boto3_kinds.py --n N
"""
import argparse
import os

import boto3
import botocore.config

REGION = "eu-central-1"
LAMBDA = "arn:aws:lambda:eu-central-1:123456789012:function:rotate"
THRESHOLDS = (50, 80, 100)


def converge_budget(budgets, account, i):
    name = "trimtab-bench-b%04d" % i
    try:
        budgets.describe_budget(AccountId=account, BudgetName=name)
    except budgets.exceptions.NotFoundException:
        budgets.create_budget(AccountId=account, Budget={
            "BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": "100", "Unit": "USD"}})
    have = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)
    got = {n["Threshold"]: n for n in have.get("Notifications", [])}
    sub = {"SubscriptionType": "EMAIL", "Address": "team@example.com"}
    for t in THRESHOLDS:
        note = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                "Threshold": float(t), "ThresholdType": "PERCENTAGE"}
        if float(t) not in got:
            budgets.create_notification(AccountId=account, BudgetName=name, Notification=note,
                                        Subscribers=[sub])
            continue
        subs = budgets.describe_subscribers_for_notification(
            AccountId=account, BudgetName=name, Notification=note)["Subscribers"]
        if sub not in subs:
            budgets.create_subscriber(AccountId=account, BudgetName=name, Notification=note,
                                      Subscriber=sub)


def converge_secret(sm, i):
    sid = "app/s%04d" % i
    have = sm.describe_secret(SecretId=sid)
    if (have.get("RotationEnabled") and have.get("RotationLambdaARN") == LAMBDA and
            have.get("RotationRules", {}).get("AutomaticallyAfterDays") == 30):
        return
    sm.rotate_secret(SecretId=sid, RotationLambdaARN=LAMBDA,
                     RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    args = ap.parse_args()
    cfg = botocore.config.Config(retries={"mode": "standard"})
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION, config=cfg)
    budgets = boto3.client("budgets", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION, config=cfg)
    account = sts.get_caller_identity()["Account"]
    for i in range(args.n):
        converge_budget(budgets, account, i)
        converge_secret(sm, i)


if __name__ == "__main__":
    main()
