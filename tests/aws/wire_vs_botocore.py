#!/usr/bin/env python3
"""Serialisation check: for every operation in trimtab's models, random valid inputs are
serialised by trimtab (wire_tool) and by botocore's own serializer for the same protocol, and
the requests must agree: method, path (with labels encoded), query parameters, the headers
botocore sets, and the body (Query form fields, JSON documents, XML trees).

Usage: wire_vs_botocore.py PATH/TO/wire_tool MODELS_DIR [PER_OPERATION] [SEED]
"""
import base64
import datetime
import json
import os
import random
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.serialize import create_serializer

STRINGS = ["abc", "with space", "a&b=c+d", "caf\u00e9", "\u65e5\u672c", "x/y:z", "~tilde",
           "100%", "quote\"s", "<tag>", "Hello, World"]


class Gen:
    def __init__(self, rng):
        self.rng = rng

    def value(self, shape, depth, for_label=False):
        """(botocore value, trimtab JSON value)"""
        t = shape.type_name
        r = self.rng
        if t == "structure":
            bo, tt = {}, {}
            members = list(shape.members.items())
            if shape.metadata.get("union"):
                members = [r.choice(members)]
            for name, m in members:
                loc = m.serialization.get("location")
                required = name in shape.required_members or loc == "uri" or \
                    m.metadata.get("idempotencyToken") or shape.metadata.get("union")
                if not required and (depth > 3 or r.random() < 0.5):
                    continue
                if m.type_name in ("structure", "list", "map") and depth > 5 and not required:
                    continue
                b, v = self.value(m, depth + 1, for_label=(loc == "uri"))
                bo[name], tt[name] = b, v
            return bo, tt
        if t == "list":
            n = r.choice([0, 1, 2, 3]) if depth < 4 else r.choice([0, 1])
            items = [self.value(shape.member, depth + 1) for _ in range(n)]
            return [b for b, _ in items], [v for _, v in items]
        if t == "map":
            bo, tt = {}, {}
            for _ in range(r.choice([0, 1, 2])):
                k = r.choice(STRINGS) + str(r.randint(0, 9))
                b, v = self.value(shape.value, depth + 1)
                bo[k], tt[k] = b, v
            return bo, tt
        if t == "string":
            s = r.choice(STRINGS)
            if shape.enum:
                s = r.choice(shape.enum)
            return s, s
        if t in ("integer", "long"):
            v = r.randint(0, 100000)
            return v, v
        if t in ("double", "float"):
            v = r.randint(0, 10000) + 0.25
            return v, v
        if t == "boolean":
            v = r.random() < 0.5
            return v, v
        if t == "timestamp":
            secs = r.randint(1500000000, 1900000000)
            d = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
            return d, d.strftime("%Y-%m-%dT%H:%M:%SZ")
        if t == "blob":
            raw = bytes(r.randint(0, 255) for _ in range(r.randint(1, 20)))
            return raw, base64.b64encode(raw).decode()
        raise ValueError("unsupported shape type %s" % t)


def num_equal(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def xml_tree(text):
    def norm(e):
        tag = e.tag.split("}")[-1]
        return (tag, (e.text or "").strip(), sorted(e.attrib.items()), [norm(c) for c in e])
    return norm(ET.fromstring(text))


def compare(proto, bo, tt):
    problems = []
    if bo["method"] != tt["method"]:
        problems.append("method %s vs %s" % (bo["method"], tt["method"]))
    path, _, static_q = bo["url_path"].partition("?")
    if path != tt["path"]:
        problems.append("path %r vs %r" % (path, tt["path"]))
    want_q = []
    for pair in filter(None, static_q.split("&")):
        k, _, v = pair.partition("=")
        want_q.append([urllib.parse.unquote(k), urllib.parse.unquote(v)])
    qs = bo.get("query_string") or {}
    for k, v in (qs.items() if isinstance(qs, dict) else qs):
        for item in (v if isinstance(v, list) else [v]):
            want_q.append([k, item if isinstance(item, str) else str(item)])
    if sorted(map(tuple, want_q)) != sorted(map(tuple, tt["query"])):
        problems.append("query %s vs %s" % (sorted(want_q), sorted(tt["query"])))
    want_h = {k.lower(): v for k, v in bo["headers"].items()}
    got_h = {k.lower(): v for k, v in tt["headers"].items()}
    for k, v in want_h.items():
        if got_h.get(k) != v:
            problems.append("header %s: %r vs %r" % (k, v, got_h.get(k)))
    body = bo["body"]
    if proto == "query":
        want = sorted((k, str(v)) for k, v in body.items())
        got = sorted(urllib.parse.parse_qsl(tt["body"], keep_blank_values=True))
        if len(want) != len(got) or any(a[0] != b[0] or (a[1] != b[1] and not num_equal(a[1], b[1]))
                                        for a, b in zip(want, got)):
            problems.append("form %s vs %s" % (want, got))
        # The bytes too, as botocore's request preparer encodes them: emulators that re-encode
        # the body before checking the signature (moto with authentication on) see exactly
        # these, so "the same fields" is not enough.
        want_bytes = AWSRequest(method="POST", url="https://example.com/", data=body) \
            .prepare().body
        if isinstance(want_bytes, bytes):
            want_bytes = want_bytes.decode()
        if not problems and want_bytes != tt["body"]:
            problems.append("form bytes %r vs %r" % (want_bytes[:600], tt["body"][:600]))
    elif isinstance(body, bytes) and body.strip().startswith(b"<"):
        if not tt["body"] or xml_tree(body.decode()) != xml_tree(tt["body"]):
            problems.append("xml %s vs %s" % (body[:600], tt["body"][:600]))
    else:
        b = body.decode() if isinstance(body, bytes) else body
        if (b or tt["body"]) and json.loads(b or "{}") != json.loads(tt["body"] or "{}"):
            problems.append("json %s vs %s" % (b[:600], tt["body"][:600]))
    return problems


def main():
    tool, models_dir = sys.argv[1], sys.argv[2]
    per_op = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    gen = Gen(rng)
    session = botocore.session.get_session()
    cases = []
    for fname in sorted(os.listdir(models_dir)):
        service = fname[:-5]
        ours = json.load(open(os.path.join(models_dir, fname)))
        model = session.get_service_model(service)
        protos = [ours["metadata"]["protocol"]]
        if ours["metadata"]["protocol"] != "json" and "json" in ours["metadata"].get("protocols", []):
            protos.append("json")  # the protocol a client may choose instead (CloudWatch)
        for proto in protos:
            serializer = create_serializer(proto, include_validation=False)
            for op_name in ours["operations"]:
                op = model.operation_model(op_name)
                for _ in range(per_op):
                    bo_in, tt_in = gen.value(op.input_shape, 0) if op.input_shape else ({}, {})
                    req = serializer.serialize_to_request(bo_in, op)
                    cases.append((service, op_name, proto, req, tt_in,
                                  proto != ours["metadata"]["protocol"]))
    lines = "".join(json.dumps({"service": c[0], "operation": c[1], "input": c[4],
                                "json": c[5]}) + "\n" for c in cases)
    out = subprocess.run([tool], input=lines, capture_output=True, text=True, check=True)
    results = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(results) == len(cases), "wire_tool printed %d lines" % len(results)
    failures = 0
    for (service, op, proto, bo, tt_in, _), tt in zip(cases, results):
        problems = ["trimtab refused: " + tt["error"]] if "error" in tt else compare(proto, bo, tt)
        if problems:
            failures += 1
            if failures <= 5:
                print("%s %s differs:\n  input: %s\n  %s" % (service, op, json.dumps(tt_in)[:800],
                                                          "\n  ".join(p[:1500] for p in problems)))
    ops = len({(c[0], c[1]) for c in cases})
    if failures:
        print("%d of %d requests differ" % (failures, len(cases)))
        return 1
    print("%d requests over %d operations: trimtab and botocore serialise identically"
          % (len(cases), ops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
