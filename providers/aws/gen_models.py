#!/usr/bin/env python3
"""Extracts the operations trimtab uses from botocore's service models.

Writes one compact JSON file per service into providers/aws/models/ (or the folder given as
the first argument). Each file keeps only what the C layer needs to serialise inputs and parse
outputs: the service metadata, the chosen operations (HTTP binding, input/output shapes, query
result wrapper, paginator) and every shape reachable from them, stripped of documentation,
enums and validation bounds. The files are committed and embedded into the binary at build
time; tests/aws/test_models_fresh.sh regenerates them and compares.

Usage: gen_models.py [OUTDIR]   (run with the python3 that has botocore)
"""
import json
import os
import sys

import botocore
import botocore.session

# The operations trimtab calls, per service (the AWS CLI's service names).
OPERATIONS = {
    "application-autoscaling": [
        "RegisterScalableTarget", "DeregisterScalableTarget", "DescribeScalableTargets",
        "PutScalingPolicy", "DeleteScalingPolicy", "DescribeScalingPolicies",
        "PutScheduledAction", "DeleteScheduledAction", "DescribeScheduledActions",
        "DescribeScalingActivities", "TagResource", "ListTagsForResource",
        "GetPredictiveScalingForecast",
    ],
    "ecs": [
        "DescribeServices", "UpdateService", "CreateCluster", "CreateService",
        "RegisterTaskDefinition", "DescribeClusters", "ListServices",
    ],
    "rds": [
        "DescribeDBInstances", "ModifyDBInstance", "DescribeDBClusters", "CreateDBInstance",
        "CreateDBCluster", "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource",
    ],
    "elasticache": ["DescribeReplicationGroups", "CreateReplicationGroup"],
    "lambda": [
        "GetFunction", "CreateFunction", "PublishVersion", "CreateAlias", "GetAlias",
        "PutFunctionConcurrency", "GetFunctionConcurrency", "DeleteFunctionConcurrency",
        "PutProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig",
        "DeleteProvisionedConcurrencyConfig", "ListFunctions",
    ],
    "cloudfront": [
        "GetDistribution", "CreateDistribution", "UpdateDistribution", "GetDistributionConfig",
        "TagResource", "ListTagsForResource", "ListDistributions",
    ],
    "cloudwatch": [
        "PutMetricAlarm", "PutCompositeAlarm", "DescribeAlarms", "DeleteAlarms",
        "SetAlarmState", "TagResource", "ListTagsForResource",
    ],
    "budgets": [
        "CreateBudget", "UpdateBudget", "DeleteBudget", "DescribeBudget", "DescribeBudgets",
        "CreateNotification", "UpdateNotification", "DeleteNotification",
        "DescribeNotificationsForBudget", "CreateSubscriber", "DeleteSubscriber",
        "DescribeSubscribersForNotification",
        "DescribeBudgetNotificationsForAccount", "UpdateSubscriber",
        "TagResource", "ListTagsForResource",
    ],
    "secretsmanager": [
        "CreateSecret", "DescribeSecret", "RotateSecret", "CancelRotateSecret",
        "ReplicateSecretToRegions", "RemoveRegionsFromReplication", "ListSecretVersionIds",
        "TagResource",
        "ListSecrets", "UntagResource",
    ],
    "sts": ["GetCallerIdentity", "AssumeRole", "AssumeRoleWithWebIdentity"],
}

# botocore 1.3x+ lists several protocols for some services (CloudWatch speaks CBOR, JSON and
# Query). trimtab speaks the four classic ones; this picks the one it uses by default
# (tt_aws_config.json_services switches a service to JSON when its model offers it).
PROTOCOL_CHOICE = {"cloudwatch": "query"}

SHAPE_KEYS = ("type", "required", "payload", "flattened", "timestampFormat", "xmlNamespace",
              "locationName", "exception", "error", "sensitive", "streaming", "union",
              "document", "wrapper")
REF_KEYS = ("shape", "location", "locationName", "xmlNamespace", "xmlAttribute", "flattened",
            "idempotencyToken", "jsonvalue", "timestampFormat", "queryName", "hostLabel")
META_KEYS = ("apiVersion", "endpointPrefix", "globalEndpoint", "jsonVersion", "serviceId",
             "signingName", "targetPrefix", "xmlNamespace", "awsQueryCompatible")
READ_PREFIXES = ("Describe", "List", "Get")


def ref(r):
    return {k: r[k] for k in REF_KEYS if k in r}


def compact_shape(shape):
    out = {k: shape[k] for k in SHAPE_KEYS if k in shape}
    if "members" in shape:
        out["members"] = {name: ref(m) for name, m in shape["members"].items()}
    for k in ("member", "key", "value"):
        if k in shape:
            out[k] = ref(shape[k])
    return out


def reachable(shapes, roots):
    seen = set()
    todo = [r for r in roots if r]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        for m in shape.get("members", {}).values():
            todo.append(m["shape"])
        for k in ("member", "key", "value"):
            if k in shape:
                todo.append(shape[k]["shape"])
    return seen


def extract(loader, service, ops):
    model = loader.load_service_model(service, "service-2")
    try:
        pag = loader.load_service_model(service, "paginators-1")["pagination"]
    except Exception:  # a service without paginators
        pag = {}
    meta = {k: model["metadata"][k] for k in META_KEYS if k in model["metadata"]}
    protocols = model["metadata"].get("protocols", [model["metadata"]["protocol"]])
    meta["protocol"] = PROTOCOL_CHOICE.get(service, model["metadata"]["protocol"])
    # Kept so a client may choose JSON where the service also speaks it (CloudWatch).
    meta["protocols"] = [p for p in protocols if p in ("json", "query", "rest-json", "rest-xml")]
    assert meta["protocol"] in protocols, (service, protocols)
    out_ops = {}
    roots = []
    for name in ops:
        op = model["operations"][name]
        o = {"http": {k: op["http"][k] for k in ("method", "requestUri", "responseCode")
                      if k in op["http"]}}
        if "input" in op:
            o["input"] = op["input"]["shape"]
            roots.append(o["input"])
        if "output" in op:
            o["output"] = op["output"]["shape"]
            roots.append(o["output"])
            if "resultWrapper" in op["output"]:
                o["resultWrapper"] = op["output"]["resultWrapper"]
        if op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]:
            o["unsigned"] = True
        if "endpoint" in op:
            o["hostPrefix"] = op["endpoint"].get("hostPrefix")
        o["readonly"] = name.startswith(READ_PREFIXES)
        if name in pag:
            p = pag[name]
            o["paginator"] = {k: p[k] for k in ("input_token", "output_token", "limit_key",
                                                "result_key", "more_results") if k in p}
        out_ops[name] = o
    shapes = {n: compact_shape(model["shapes"][n]) for n in sorted(reachable(model["shapes"], roots))}
    return {"metadata": meta, "operations": out_ops, "shapes": shapes}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "models")
    os.makedirs(outdir, exist_ok=True)
    loader = botocore.session.get_session().get_component("data_loader")
    for service, ops in sorted(OPERATIONS.items()):
        doc = extract(loader, service, ops)
        doc["metadata"]["botocoreVersion"] = botocore.__version__
        with open(os.path.join(outdir, service + ".json"), "w") as f:
            # One shape or operation per line: small, and diffs stay readable.
            f.write("{\"metadata\":" + json.dumps(doc["metadata"], sort_keys=True,
                                                   separators=(",", ":")))
            for section in ("operations", "shapes"):
                f.write(",\n\"%s\":{" % section)
                items = sorted(doc[section].items())
                f.write(",".join("\n%s:%s" % (json.dumps(k), json.dumps(v, sort_keys=False,
                                                                          separators=(",", ":")))
                                 for k, v in items))
                f.write("}")
            f.write("}\n")


if __name__ == "__main__":
    main()
