#!/usr/bin/env python3
"""The CRDs in crds/ and `trimtab validate` must agree: neither may drift from the other.

Usage: test_crds.py TRIMTAB SOURCE_DIR [--gencrd GENCRD] [unittest options]

  a. crds/ is what tools/gencrd writes today (byte for byte);
  b. every ScalingPolicy, Alarm, Budget and SecretRotation in examples/ passes the CRD checks
     (crdcheck.py: the API server's defaulting, OpenAPI, list-type and CEL validation) and
     `trimtab validate`, and still passes trimtab once the API server's defaults are written
     into it (what the operator reads back from a cluster);
  c. every manifest in bad/ is rejected by trimtab with exactly the `file:line: path: message`
     its header states, and by the CRDs in the way its header states: `crd: schema` (the
     OpenAPI structure rejects it), `crd: cel` (only x-kubernetes-validations rules do) or
     `crd: none` (only trimtab can tell; the header says why);
  d. every manifest in good/ passes both;
  e. for every string field whose C check has a CRD pattern, the two agree on a few hundred
     generated strings (seeds, tricky cases and random edits).

Header of a bad/ file (comment lines before the manifest):
  # expect: LINE: PATH: MESSAGE FRAGMENT      (one or more; trimtab must print exactly these)
  # crd: schema|cel: CRD ERROR FRAGMENT        or   # crd: none
  # why: ...                                   (required with crd: none)
"""

import difflib
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import crdcheck  # noqa: E402

TRIMTAB = SOURCE = GENCRD = None
KINDS = ("ScalingPolicy", "Alarm", "Budget", "SecretRotation")
GROUP = "trimtab.dev"
LINE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>.*?): (?P<msg>.*)$")


def trimtab_validate(*paths):
    """(exit code, [(file, line, path, message)] of errors, raw output)."""
    p = subprocess.run([TRIMTAB, "validate", *paths], capture_output=True, text=True, timeout=60)
    errors = []
    for line in p.stdout.splitlines() + p.stderr.splitlines():
        m = LINE_RE.match(line)
        if m and not m.group("msg").startswith("warning:"):
            errors.append((m.group("file"), int(m.group("line")), m.group("path"), m.group("msg")))
    return p.returncode, errors, p.stdout + p.stderr


def ours(obj):
    return isinstance(obj, dict) and str(obj.get("apiVersion", "")).startswith(GROUP + "/")


def is_ancestor(a, b):
    """True when path `a` is `b` or one of its ancestors (`spec` of `spec.x[0]`)."""
    return a == "" or a == b or b.startswith(a + ".") or b.startswith(a + "[")


_crds = None


def crds():
    global _crds
    if _crds is None:
        _crds = crdcheck.load_crds(os.path.join(SOURCE, "crds"))
    return _crds


def crd_errors(path):
    """crdcheck's errors for every object of ours in a file, and how many objects there were."""
    errors, n = [], 0
    for obj in crdcheck.load_documents(path):
        if not ours(obj):
            continue
        n += 1
        errors += crdcheck.check_manifest(obj, crds())
    return errors, n


def round_trip(testcase, files):
    """The objects of `files` as the API server stores them (defaults written) pass trimtab."""
    items = []
    for f in files:
        for obj in crdcheck.load_documents(f):
            if ours(obj):
                items.append(crdcheck.defaulted(obj, crds()))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "stored.json")
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh, indent=1)
        rc, errors, raw = trimtab_validate(out)
    testcase.assertEqual(
        (rc, errors), (0, []), "objects with the CRD defaults written in fail trimtab:\n" + raw
    )
    return len(items)


# ---- a ------------------------------------------------------------------------------------


class CrdsAreCurrent(unittest.TestCase):
    def test_generated_crds_match(self):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([GENCRD, tmp], check=True, timeout=60)
            want = sorted(os.listdir(tmp))
            have = sorted(
                f for f in os.listdir(os.path.join(SOURCE, "crds")) if f.endswith(".yaml")
            )
            self.assertEqual(
                have, want, "crds/ holds other files than gencrd writes; run make crds"
            )
            for name in want:
                with open(os.path.join(tmp, name), "rb") as fh:
                    new = fh.read()
                with open(os.path.join(SOURCE, "crds", name), "rb") as fh:
                    old = fh.read()
                if new != old:
                    diff = "".join(
                        list(
                            difflib.unified_diff(
                                old.decode(errors="replace").splitlines(True),
                                new.decode(errors="replace").splitlines(True),
                                "crds/" + name,
                                "gencrd",
                            )
                        )[:40]
                    )
                    self.fail("crds/%s is not what gencrd writes; run make crds\n%s" % (name, diff))

    def test_every_rule_compiles(self):
        # load_crds compiles every CEL rule; an unsupported construct raises here.
        self.assertEqual(sorted(k for _, k in crds()), sorted(KINDS))


# ---- b ------------------------------------------------------------------------------------


class Examples(unittest.TestCase):
    def files(self):
        return sorted(
            f
            for f in glob.glob(os.path.join(SOURCE, "examples", "**", "*"), recursive=True)
            if f.endswith((".yaml", ".yml", ".json"))
        )

    def test_crd_accepts_examples(self):
        kinds = set()
        for f in self.files():
            for i, obj in enumerate(crdcheck.load_documents(f)):
                if not ours(obj):
                    continue
                kinds.add(obj["kind"])
                with self.subTest(file=os.path.relpath(f, SOURCE), doc=i):
                    self.assertEqual(crdcheck.check_manifest(obj, crds()), [])
        self.assertEqual(sorted(kinds), sorted(KINDS), "examples/ should cover every kind")

    def test_trimtab_accepts_examples(self):
        rc, errors, raw = trimtab_validate(os.path.join(SOURCE, "examples"))
        self.assertEqual((rc, errors), (0, []), raw)

    def test_examples_as_stored_by_the_api_server(self):
        self.assertGreater(round_trip(self, self.files()), 10)


# ---- c ------------------------------------------------------------------------------------


class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.expect = []
        self.crd = None
        self.crd_fragment = None
        self.why = None
        self.kinds = set()
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("#"):
                    if line.strip() and not line.startswith("---"):
                        break
                    continue
                m = re.match(r"#\s*expect:\s*(\d+):\s*([^:]*):\s*(.+?)\s*$", line)
                if m:
                    self.expect.append((int(m.group(1)), m.group(2), m.group(3)))
                    continue
                m = re.match(r"#\s*crd:\s*(schema|cel|none)\s*(?::\s*(.+?))?\s*$", line)
                if m:
                    self.crd, self.crd_fragment = m.group(1), m.group(2)
                    continue
                m = re.match(r"#\s*why:\s*(.+?)\s*$", line)
                if m:
                    self.why = m.group(1)


def bad_cases():
    return [Case(p) for p in sorted(glob.glob(os.path.join(HERE, "bad", "*")))]


class BadManifests(unittest.TestCase):
    def test_headers(self):
        cases = bad_cases()
        self.assertGreaterEqual(len(cases), 40)
        for c in cases:
            with self.subTest(case=c.name):
                self.assertTrue(c.expect, "no '# expect:' line")
                self.assertIn(c.crd, ("schema", "cel", "none"), "no '# crd:' line")
                if c.crd == "none":
                    self.assertTrue(c.why, "crd: none needs a '# why:' line")
                else:
                    self.assertTrue(c.crd_fragment, "crd: %s needs the CRD error fragment" % c.crd)

    def test_trimtab_rejects_exactly_as_stated(self):
        for c in bad_cases():
            with self.subTest(case=c.name):
                rc, errors, raw = trimtab_validate(c.path)
                self.assertEqual(rc, 1, raw)
                got = [(line, path, msg) for _, line, path, msg in errors]
                for line, path, fragment in c.expect:
                    hits = [g for g in got if g[0] == line and g[1] == path and fragment in g[2]]
                    self.assertTrue(
                        hits, "expected %d: %s: %s\ntrimtab said:\n%s" % (line, path, fragment, raw)
                    )
                unexpected = [
                    g
                    for g in got
                    if not any(g[0] == e[0] and g[1] == e[1] and e[2] in g[2] for e in c.expect)
                ]
                self.assertEqual(unexpected, [], "errors the header does not state:\n" + raw)
                for f, *_ in errors:
                    self.assertEqual(os.path.abspath(f), os.path.abspath(c.path))

    def test_crd_verdict_matches_category(self):
        for c in bad_cases():
            with self.subTest(case=c.name):
                errors, n = crd_errors(c.path)
                self.assertGreater(n, 0, "no object of ours in the file")
                shown = "\n".join("  %s: %s" % e for e in errors) or "  (none)"
                evaluation = [e for e in errors if "evaluation error" in e.reason]
                self.assertEqual(evaluation, [], "a CEL rule failed to evaluate:\n" + shown)
                if c.crd == "none":
                    self.assertEqual(errors, [], "crd: none, but the CRD rejects it:\n" + shown)
                    continue
                self.assertTrue(errors, "crd: %s, but the CRD accepts it" % c.crd)
                cel_errs = [e for e in errors if crdcheck.is_cel(e)]
                other = [e for e in errors if not crdcheck.is_cel(e)]
                if c.crd == "cel":
                    self.assertEqual(
                        other, [], "crd: cel, but the OpenAPI schema rejects it too:\n" + shown
                    )
                    pool = cel_errs
                else:
                    self.assertTrue(other, "crd: schema, but only CEL rules reject it:\n" + shown)
                    pool = other
                # The CRD's reason is the stated one, at the trimtab path or an ancestor of it.
                hits = [
                    e
                    for e in pool
                    if c.crd_fragment in e.reason
                    and any(is_ancestor(e.path, p) for _, p, _ in c.expect)
                ]
                self.assertTrue(
                    hits,
                    "no %s error containing %r at (an ancestor of) %s:\n%s"
                    % (c.crd, c.crd_fragment, ", ".join(p for _, p, _ in c.expect), shown),
                )

    def test_coverage(self):
        seen = set()
        for c in bad_cases():
            for obj in crdcheck.load_documents(c.path):
                if ours(obj) and obj.get("kind") in KINDS:
                    seen.add((obj["kind"], c.crd))
        missing = [
            (k, cat) for k in KINDS for cat in ("schema", "cel", "none") if (k, cat) not in seen
        ]
        self.assertEqual(missing, [], "kinds without a bad manifest of that category")


# ---- d ------------------------------------------------------------------------------------


class GoodManifests(unittest.TestCase):
    def files(self):
        return sorted(glob.glob(os.path.join(HERE, "good", "*")))

    def test_both_accept(self):
        self.assertGreaterEqual(len(self.files()), 5)
        for f in self.files():
            with self.subTest(case=os.path.basename(f)):
                rc, errors, raw = trimtab_validate(f)
                self.assertEqual((rc, errors), (0, []), raw)
                errors, n = crd_errors(f)
                self.assertGreater(n, 0)
                self.assertEqual(errors, [])

    def test_as_stored_by_the_api_server(self):
        round_trip(self, self.files())


# ---- e ------------------------------------------------------------------------------------

EDIT_CHARS = "aAzZ09.-_/:@ \t\n,;<>+é"


def _base(kind, spec, name="x"):
    return {
        "apiVersion": GROUP + "/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def _sp(spec):
    return _base("ScalingPolicy", spec)


def _budget_with_subscriber(sub):
    return _base(
        "Budget",
        {
            "limit": {"amount": 10},
            "notifications": [{"type": "ACTUAL", "threshold": 50, "subscribers": [sub]}],
        },
    )


# (name, build(value) -> object, path of the value, seeds, tricky values, C-only messages)
STRING_FIELDS = [
    (
        "region",
        lambda v: _base(
            "SecretRotation",
            {"secretId": "s", "schedule": {"automaticallyAfterDays": 30}, "region": v},
        ),
        "spec.region",
        ["eu-central-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"],
        [
            "e-central-1",
            "eu-1",
            "eu-central-",
            "EU-central-1",
            "eu--central-1",
            "eu-central-1a",
            "eu-central-01",
        ],
        None,
    ),
    (
        "roleArn",
        lambda v: _base(
            "SecretRotation",
            {"secretId": "s", "schedule": {"automaticallyAfterDays": 30}, "roleArn": v},
        ),
        "spec.roleArn",
        ["arn:aws:iam::123456789012:role/deployer", "arn:aws-us-gov:iam::123456789012:role/a/b"],
        [
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:awsX:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/x\ny",
        ],
        None,
    ),
    (
        "snsTopicArn",
        lambda v: _budget_with_subscriber({"snsTopicArn": v}),
        "spec.notifications[0].subscribers[0].snsTopicArn",
        [
            "arn:aws:sns:eu-central-1:123456789012:alerts",
            "arn:aws-cn:sns:cn-north-1:123456789012:a:b",
        ],
        [
            "arn:aws:sns::123456789012:alerts",
            "arn:aws:sns:EU:123456789012:alerts",
            "arn:aws:sns:eu-central-1:123456789012:",
            "arn:aws:sqs:eu-central-1:123456789012:q",
        ],
        None,
    ),
    (
        "rotationLambdaArn",
        lambda v: _base(
            "SecretRotation",
            {"secretId": "s", "schedule": {"automaticallyAfterDays": 30}, "rotationLambdaArn": v},
        ),
        "spec.rotationLambdaArn",
        ["arn:aws:lambda:eu-central-1:123456789012:function:rotate"],
        [
            "arn:aws:lambda:eu-central-1:123456789012:function:",
            "arn:aws:lambda::123456789012:function:f",
            "arn:aws:lambda:eu-central-1:123456789012:layer:f",
        ],
        None,
    ),
    (
        "email",
        lambda v: _budget_with_subscriber({"email": v}),
        "spec.notifications[0].subscribers[0].email",
        ["team@example.com", "a.b+c@mail.example.co.uk"],
        [
            "a@.com",
            "a@b.",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@b.c\n",
            "a@.b.com",
            "a@b..com",
            "ab",
        ],
        None,
    ),
    (
        "instanceClass",
        lambda v: _sp(
            {
                "target": {"rds": {"instance": "db1"}},
                "vertical": {"ladder": [v, "db.zz.top"], "scaleUpOn": {"alarm": "up"}},
            }
        ),
        "spec.vertical.ladder[0]",
        ["db.t4g.small", "db.m5.24xlarge", "db.r6gd.xlarge"],
        ["db.t4g", "db..small", "db.t4g.", "db.T4G.small", "db.t4g.small.x", "rds.t4g.small"],
        None,
    ),
    (
        "dbIdentifier",
        lambda v: _sp({"target": {"rds": {"instance": v}}, "storage": {"maxAllocatedGiB": 100}}),
        "spec.target.rds.instance",
        ["orders-db", "Orders1", "a"],
        ["1db", "db-", "db--x", "db_x", "a" * 63, "a" * 64, ""],
        None,
    ),
    (
        "distributionId",
        lambda v: _sp(
            {"target": {"cloudfront": {"distributionId": v}}, "cloudfront": {"http3": True}}
        ),
        "spec.target.cloudfront.distributionId",
        ["E2QWRUHAPOMQZL"],
        ["E2QWRUHAP", "E" * 20, "E" * 21, "e2qwruhapomqzl", "E2QWRUHAPOMQZL "],
        None,
    ),
    (
        "extendedStatistic",
        lambda v: _base(
            "Alarm",
            {
                "metric": {"namespace": "N", "metricName": "M"},
                "extendedStatistic": v,
                "threshold": 1,
                "comparison": "GreaterThanThreshold",
            },
        ),
        "spec.extendedStatistic",
        ["p95", "p99.9", "tm90", "wm50", "IQM", "p100", "p0"],
        [
            "p101",
            "p100.5",
            "p100.0",
            "p100.",
            "p9.9.9",
            "p95.",
            "p",
            "P95",
            "tm",
            "p-1",
            "p999",
            "iqm",
            "ts100.00",
        ],
        None,
    ),
    (
        "dnsLabel",
        lambda v: _sp(
            {
                "target": {"ecs": {"cluster": "c", "service": "s"}},
                "minCapacity": 1,
                "maxCapacity": 2,
                "targetTracking": [
                    {
                        "name": v,
                        "predefinedMetric": "ECSServiceAverageCPUUtilization",
                        "targetValue": 50,
                    }
                ],
            }
        ),
        "spec.targetTracking[0].name",
        ["cpu", "cpu-high", "a1"],
        ["CPU", "-cpu", "cpu-", "cpu.high", "a" * 63, "a" * 64, ""],
        None,
    ),
    (
        "k8sName",
        lambda v: _sp(
            {
                "target": {"rds": {"instance": "db1"}},
                "vertical": {"ladder": ["db.t4g.small", "db.m5.large"], "scaleUpOn": {"alarm": v}},
            }
        ),
        "spec.vertical.scaleUpOn.alarm",
        ["orders-db-high", "a.b", "a1.b-2.c"],
        ["a..b", "a.-b", "a-.b", ".a", "a.", "A", "a_b", "a" * 253, "a" * 254, ""],
        None,
    ),
    (
        "costFilterValue",
        lambda v: _base("Budget", {"limit": {"amount": 10}, "costFilters": {"service": [v]}}),
        "spec.costFilters.service[0]",
        ["Amazon Elastic Compute Cloud - Compute", "AWS Lambda"],
        ["a\tb", "a\nb", "a\x01b", "a\x1fb", "", "é"],
        None,
    ),
    (
        "currency",
        lambda v: _base("Budget", {"limit": {"amount": 10, "unit": v}}),
        "spec",  # a CEL rule of the Budget spec on the CRD side
        ["USD", "EUR"],
        ["usd", "US", "USDX", "U5D", "ÜSD"],
        None,
    ),
    (
        "labelValue",
        lambda v: {
            **_base("Alarm", {"composite": {"rule": "ALARM(a)"}}),
            "metadata": {"name": "x", "labels": {"app": v}},
        },
        "metadata.labels.app",
        ["web", "", "a.b_c-d", "A1"],
        ["-web", "web-", "a b", "a" * 63, "a" * 64, "é"],
        None,
    ),
    (
        "labelKey",
        lambda v: {
            **_base("Alarm", {"composite": {"rule": "ALARM(a)"}}),
            "metadata": {"name": "x", "labels": {v: "x"}},
        },
        None,  # the key itself: metadata.labels[KEY]
        ["app", "app.kubernetes.io/name", "example.com/Tier_1"],
        [
            "",
            "/app",
            "a/b/c",
            "Example.com/app",
            "-app",
            "app-",
            "a" * 63,
            "a" * 64,
            "x/" + "a" * 63,
            "é",
        ],
        None,
    ),
    (
        "metadataName",
        lambda v: {**_base("Alarm", {"composite": {"rule": "ALARM(a)"}}), "metadata": {"name": v}},
        "metadata.name",
        ["web", "a.b", "a-1.b-2"],
        ["a..b", "a.-b", "-a", "A", "a_b", "a" * 253, "a" * 254],
        None,
    ),
    (
        "durationString",
        lambda v: _sp(
            {
                "target": {"ecs": {"cluster": "c", "service": "s"}},
                "minCapacity": 1,
                "maxCapacity": 2,
                "targetTracking": [
                    {
                        "name": "t",
                        "predefinedMetric": "ECSServiceAverageCPUUtilization",
                        "targetValue": 50,
                        "scaleOutCooldown": v,
                    }
                ],
            }
        ),
        "spec.targetTracking[0].scaleOutCooldown",
        ["60s", "5m", "1h30m", "1.5h", "300", "2d", "0"],
        [
            "5",
            "+5",
            "-5",
            "5.s",
            ".5h",
            "5.5.5s",
            "1.5s",
            "500ms",
            "1500ms",
            "5 m",
            "5M",
            "m",
            "",
            "1y",
            "366d",
            "99999999999999999999",
            "1e3s",
        ],
        # What only C can judge about a duration string: its value (an all-digit string too
        # large for int64 is reported as "has no unit").
        r"is not a whole number of seconds|must be at most|is too long|has no unit",
    ),
]


def _edits(rng, seed, n):
    out = []
    for _ in range(n):
        s = list(seed)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            pos = rng.randint(0, len(s))
            c = rng.choice(EDIT_CHARS + seed)
            if op == 0 or not s:
                s.insert(pos, c)
            elif op == 1:
                del s[min(pos, len(s) - 1)]
            else:
                s[min(pos, len(s) - 1)] = c
        out.append("".join(s))
    return out


class StringRulesAgree(unittest.TestCase):
    def test_patterns_and_c_checks_agree(self):
        rng = random.Random(20240611)
        docs, meta = [], []
        for name, build, path, seeds, tricky, c_only in STRING_FIELDS:
            values = list(
                dict.fromkeys(seeds + tricky + [e for s in seeds for e in _edits(rng, s, 25)])
            )
            for v in values:
                if "\x00" in v or (path is None and "\n" in v):
                    continue  # NUL ends a C string; a newline in a key would split trimtab's line
                p = path if path is not None else crdcheck.path_str(["metadata", "labels", v])
                docs.append(build(v))
                meta.append((name, v, p, c_only))
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "strings.json")
            with open(f, "w", encoding="utf-8") as fh:
                json.dump(
                    {"apiVersion": "v1", "kind": "List", "items": docs},
                    fh,
                    indent=1,
                    ensure_ascii=False,
                )
            rc, errors, raw = trimtab_validate(f)
        by_doc = {}
        for _, _, epath, msg in errors:
            m = re.match(r"items\[(\d+)\]\.?(.*)$", epath)
            self.assertIsNotNone(m, "an error outside the generated objects: %s: %s" % (epath, msg))
            by_doc.setdefault(int(m.group(1)), []).append((m.group(2), msg))
        disagreements = []
        for i, (obj, (name, v, p, c_only)) in enumerate(zip(docs, meta)):
            t_errs = by_doc.get(i, [])
            stray = [e for e in t_errs if not is_ancestor(p, e[0]) and not is_ancestor(e[0], p)]
            self.assertEqual(stray, [], "%s %r: trimtab errors away from %s" % (name, v, p))
            c_errs = crdcheck.check_manifest(obj, crds())
            t_rejects, c_rejects = bool(t_errs), bool(c_errs)
            if (
                t_rejects
                and not c_rejects
                and c_only
                and all(re.search(c_only, m) for _, m in t_errs)
            ):
                continue  # a value only C can judge (documented above)
            if t_rejects != c_rejects:
                disagreements.append(
                    "%s %r: trimtab %s, CRD %s"
                    % (name, v, t_errs or "accepts", [tuple(e) for e in c_errs] or "accepts")
                )
        self.assertGreater(len(docs), 300)
        self.assertEqual(disagreements, [], "\n".join(disagreements))


def main():
    global TRIMTAB, SOURCE, GENCRD
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    TRIMTAB, SOURCE = os.path.abspath(args[0]), os.path.abspath(args[1])
    rest = args[2:]
    if rest[:1] == ["--gencrd"]:
        GENCRD, rest = os.path.abspath(rest[1]), rest[2:]
    else:
        GENCRD = os.path.join(os.path.dirname(os.path.dirname(TRIMTAB)), "tools", "gencrd")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=1)


if __name__ == "__main__":
    main()
