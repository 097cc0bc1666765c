#!/usr/bin/env python3
"""Unit tests of tests/lib/cel.py: tables of expressions with the value, error or parse error
each must give. Expected values are what cel-go (as Kubernetes configures it) returns."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cel  # noqa: E402

SELF = {
    "spec": {
        "minCapacity": 2,
        "maxCapacity": 10,
        "target": {"ecs": {"cluster": "prod", "service": "web"}},
        "steps": [{"lower": 0.0, "upper": 10.0, "adjustment": 1}, {"lower": 10.0, "adjustment": 2}],
        "name": "web-1",
        "labels": {"app": "web", "tier": "front"},
        "empty": [],
        "x-dash": 1,
        "namespace": "shop",
        "a__b": 3,
        "nothing": None,
    }
}

# (expression, expected value); self is SELF.
VALUES = [
    # literals
    ("1", 1),
    ("-1", -1),
    ("0x1F", 31),
    ("-0x10", -16),
    ("7u", cel.Uint(7)),
    ("1.5", 1.5),
    ("1e3", 1000.0),
    (".5", 0.5),
    ("'single'", "single"),
    ('"double"', "double"),
    ("'''tri'ple'''", "tri'ple"),
    (r"'esc\n\t\\\''", "esc\n\t\\'"),
    (r"'\x41\101\u00e9'", "AAé"),
    (r"r'raw\n'", "raw\\n"),
    (r"b'\xff\377'", b"\xff\xff"),
    ("true", True),
    ("false", False),
    ("null", None),
    ("[1, 2, 3]", [1, 2, 3]),
    ("[]", []),
    ("{'a': 1}", {"a": 1}),
    ("-9223372036854775808", -(2**63)),
    ("9223372036854775807", 2**63 - 1),
    # selection, presence, indexing, escaping
    ("self.spec.minCapacity", 2),
    ("self.spec.target.ecs.cluster", "prod"),
    ("has(self.spec.target)", True),
    ("has(self.spec.target.rds)", False),
    ("has(self.spec.target.ecs.service)", True),
    ("self.spec.steps[1].adjustment", 2),
    ("self.spec.labels['tier']", "front"),
    ("self.spec.x__dash__dash", 1),
    ("self.spec.__namespace__", "shop"),
    ("self.spec.a__underscores__b", 3),
    ("self.spec.nothing == null", True),
    # logic
    ("!true", False),
    ("!!true", True),
    ("true && false", False),
    ("true || false", True),
    ("false || false", False),
    ("true && true", True),
    ("1 < 2 ? 'a' : 'b'", "a"),
    ("1 > 2 ? 'a' : 'b'", "b"),
    ("true ? (false ? 1 : 2) : 3", 2),
    ("false ? 1 : true ? 2 : 3", 2),
    # the commutative error semantics of && and ||
    ("self.spec.missing || true", True),
    ("true || self.spec.missing", True),
    ("self.spec.missing && false", False),
    ("false && self.spec.missing", False),
    ("1 / 0 == 1 || self.spec.minCapacity == 2", True),
    # comparison and equality
    ("1 == 1", True),
    ("1 != 1", False),
    ("1 == 1.0", True),
    ("1u == 1", True),
    ("1 < 1.5", True),
    ("2.5 >= 2", True),
    ("'a' < 'b'", True),
    ("'B' < 'a'", True),
    ("false < true", True),
    ("'a' == 1", False),
    ("null == null", True),
    ("[1, 2] == [1, 2]", True),
    ("[1, 2] == [2, 1]", False),
    ("{'a': 1} == {'a': 1.0}", True),
    ("self.spec.labels == {'tier': 'front', 'app': 'web'}", True),
    ("self.spec.minCapacity <= self.spec.maxCapacity", True),
    # arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("7 / -2", -3),
    ("7 % 3", 1),
    ("-7 % 3", -1),
    ("7 % -3", 1),
    ("7.0 / 2.0", 3.5),
    ("1.0 / 0.0", math.inf),
    ("-1.0 / 0.0", -math.inf),
    ("3u - 1u", cel.Uint(2)),
    ("'ab' + 'cd'", "abcd"),
    ("[1] + [2]", [1, 2]),
    ("-(1 - 3)", 2),
    ("1 - 2 - 3", -4),
    # in
    ("2 in [1, 2, 3]", True),
    ("4 in [1, 2, 3]", False),
    ("2.0 in [1, 2]", True),
    ("'app' in self.spec.labels", True),
    ("'web' in self.spec.labels", False),
    # size
    ("size('héllo')", 5),
    ("'héllo'.size()", 5),
    ("size([1, 2])", 2),
    ("self.spec.labels.size()", 2),
    ("size(b'ab')", 2),
    ("self.spec.empty.size() == 0", True),
    # macros
    ("[1, 2, 3].all(x, x > 0)", True),
    ("[1, 2, 3].all(x, x > 1)", False),
    ("[].all(x, x > 1)", True),
    ("[1, 2, 3].exists(x, x > 2)", True),
    ("[1, 2, 3].exists(x, x > 3)", False),
    ("[].exists(x, x > 1)", False),
    ("[1, 2, 3].exists_one(x, x > 2)", True),
    ("[1, 2, 3].exists_one(x, x > 1)", False),
    ("[1, 2, 3].filter(x, x % 2 == 1)", [1, 3]),
    ("[1, 2, 3].map(x, x * 10)", [10, 20, 30]),
    ("[1, 2, 3].map(x, x > 1, x * 10)", [20, 30]),
    ("self.spec.labels.all(k, k.size() >= 3)", True),
    ("self.spec.labels.exists(k, k == 'tier')", True),
    ("self.spec.steps.filter(s, !has(s.upper)).size()", 1),
    ("self.spec.steps.all(a, self.spec.steps.exists_one(b, a.lower == b.lower))", True),
    ("[[1, 2], [3]].map(l, l.size())", [2, 1]),
    ("[1, 2].map(x, [3].map(x, x))", [[3], [3]]),
    # errors absorbed by all/exists
    ("[0, 1].exists(x, 1 / x > 0)", True),
    ("[0, 1].all(x, 1 / x > 5)", False),
    ("[false, true].filter(x, x) == [true]", True),
    ("[has(self.spec.target), has(self.spec.steps), has(self.spec.none)].filter(x, x).size()", 2),
    # strings
    ("'prod-web'.startsWith('prod')", True),
    ("'prod-web'.startsWith('web')", False),
    ("'prod-web'.endsWith('web')", True),
    ("'prod-web'.contains('d-w')", True),
    ("'prod-web'.contains('x')", False),
    ("'USD'.matches('^[A-Z]{3}$')", True),
    ("'usd'.matches('^[A-Z]{3}$')", False),
    ("'xxabcxx'.matches('abc')", True),
    ("matches('abc', '^a')", True),
    (r"'a\n'.matches('^a$')", False),
    (r"'a\nb'.matches('(?m)^b$')", True),
    (r"'a1'.matches('^[[:alpha:]][[:digit:]]$')", True),
    (r"'a b'.matches('a\\sb')", True),
    (r"'a\vb'.matches('a\\sb')", False),
    ("'MiXeD'.lowerAscii()", "mixed"),
    ("'MiXeD é'.upperAscii()", "MIXED é"),
    # conversions
    ("int('42')", 42),
    ("int(3.9)", 3),
    ("int(-3.9)", -3),
    ("uint(3)", cel.Uint(3)),
    ("double(2)", 2.0),
    ("double('2.5')", 2.5),
    ("string(42)", "42"),
    ("string(true)", "true"),
    ("dyn(1) == 1", True),
    # comments and whitespace
    ("1 + // one\n 2", 3),
]

# (expression, fragment of the CelError message); self is SELF.
ERRORS = [
    ("self.spec.missing", "no such key: missing"),
    ("self.spec.missing == 1", "no such key"),
    ("self.spec.target.rds.cluster == 'x'", "no such key: rds"),
    ("self.spec.minCapacity.x", "no such field"),
    ("has(self.spec.minCapacity.x)", "has() on a value of type int"),
    ("nope", "undeclared reference to 'nope'"),
    ("self.spec.missing || false", "no such key"),
    ("false || self.spec.missing", "no such key"),
    ("self.spec.missing && true", "no such key"),
    ("1 || true == false", "no such overload"),
    ("!1", "needs a bool"),
    ("1 ? 2 : 3", "needs a bool"),
    ("1 + 1.0", "no such overload"),
    ("1 + 'a'", "no such overload"),
    ("1u + 1", "no such overload"),
    ("'a' - 'b'", "no such overload"),
    ("1.5 % 1.0", "no such overload"),
    ("-'a'", "no such overload"),
    ("-1u", "no such overload"),
    ("'a' < 1", "no such overload"),
    ("[1] < [2]", "no such overload"),
    ("1 in 1", "no such overload"),
    ("1 / 0", "division by zero"),
    ("1 % 0", "modulus by zero"),
    ("9223372036854775807 + 1", "overflow"),
    ("-9223372036854775808 - 1", "overflow"),
    ("-(-9223372036854775808)", "overflow"),
    ("-9223372036854775808 / -1", "overflow"),
    ("0u - 1u", "overflow"),
    ("4611686018427387904 * 2", "overflow"),
    ("[1, 2][2]", "index out of range"),
    ("[1, 2][-1]", "index out of range"),
    ("{'a': 1}['b']", "no such key"),
    ("[1, 'a']", "list literal mixes types"),
    ("[1, 2.0]", "list literal mixes types"),
    ("size(1)", "no such overload"),
    ("(1).startsWith('a')", "no such overload"),
    ("'a'.startsWith(1)", "no such overload"),
    ("[0, 1].all(x, 1 / x > 0)", "division by zero"),
    ("[0, 1].exists(x, 1 / x < 0)", "division by zero"),
    ("[0, 1].exists_one(x, 1 / x > 0)", "division by zero"),
    ("[0, 1].filter(x, 1 / x > 0)", "division by zero"),
    ("[1, 2].all(x, x)", "no such overload"),
    ("[1].filter(x, 1)", "needs a bool"),
    ("1.all(x, true)", "no such overload"),
    ("int('x')", "cannot parse"),
    ("int(1e30)", "out of range"),
    ("uint(-1)", "overflow"),
    ("string(1.5)", "not supported"),
    ("{'a': 1, 'a': 2}", "repeated map key"),
]

# (expression, fragment of the CelParseError message)
PARSE_ERRORS = [
    ("", "unexpected end"),
    ("1 +", "unexpected end"),
    ("(1", "expected ')'"),
    ("[1, 2", "expected ']'"),
    ("1 2", "unexpected"),
    ("self.", "expected a field name"),
    ("'unterminated", "unterminated string"),
    ("'new\nline'", "newline in string"),
    (r"'\q'", "unknown escape"),
    ("9223372036854775808", "out of range"),
    ("18446744073709551616u", "out of range"),
    ("has(self)", "has() takes one field selection"),
    ("has(1)", "has() takes one field selection"),
    ("self.namespace", "reserved word"),
    ("var", "reserved word"),
    ("timestamp('2024-01-01T00:00:00Z')", "function 'timestamp' is not supported"),
    ("self.spec.name.split('-')", "method 'split' is not supported"),
    ("[1].all(1, true)", "must be a variable name"),
    ("[1].all(x)", "takes 2 arguments"),
    ("[1].map(x)", "takes 2 or 3 arguments"),
    ("size()", "takes 1 arguments"),
    ("'a'.startsWith()", "takes 1 arguments"),
    ("'a'.matches('(')", "regexp"),
    ("'a'.matches('(?=a)')", "lookaround is not RE2"),
    (r"'a'.matches('(a)\\1')", "backreferences are not RE2"),
    ("1 # 2", "unexpected character"),
    ("true ? false ? 1 : 2 : 3", "expected ':'"),  # the middle of ?: is not a ?: in CEL
    ("." + "x", "not supported"),
    ("(" * 300 + "1" + ")" * 300, "nests too deeply"),
]


class CelTest(unittest.TestCase):
    def test_values(self):
        for expr, want in VALUES:
            with self.subTest(expr=expr):
                got = cel.evaluate(expr, {"self": SELF})
                self.assertEqual(cel.type_name(got), cel.type_name(want), "type of %r" % (got,))
                self.assertEqual(got, want)

    def test_errors(self):
        for expr, fragment in ERRORS:
            with self.subTest(expr=expr):
                with self.assertRaises(cel.CelError) as cm:
                    got = cel.evaluate(expr, {"self": SELF})
                    self.fail("no error, got %r" % (got,))
                self.assertIn(fragment, str(cm.exception))

    def test_parse_errors(self):
        for expr, fragment in PARSE_ERRORS:
            with self.subTest(expr=expr):
                with self.assertRaises(cel.CelParseError) as cm:
                    cel.compile(expr)
                self.assertIn(fragment, str(cm.exception))

    def test_nan(self):
        self.assertTrue(math.isnan(cel.evaluate("0.0 / 0.0", {})))
        self.assertFalse(cel.evaluate("0.0 / 0.0 == 0.0 / 0.0", {}))

    def test_macro_variable_is_scoped(self):
        # The iteration variable shadows an outer name only inside the macro.
        self.assertEqual(
            cel.evaluate("[1, 2].map(self, self + 1) + [self]", {"self": 7}), [2, 3, 7]
        )

    def test_references(self):
        self.assertTrue(cel.compile("self.x == oldSelf.x").references("oldSelf"))
        self.assertFalse(cel.compile("self.x == 1").references("oldSelf"))

    def test_compiled_program_is_reusable(self):
        p = cel.compile("self.a > 1")
        self.assertTrue(p.evaluate({"self": {"a": 2}}))
        self.assertFalse(p.evaluate({"self": {"a": 1}}))
        with self.assertRaises(cel.CelError):
            p.evaluate({"self": {}})

    def test_bool_is_not_int(self):
        # Python's True == 1 must not leak into CEL.
        self.assertFalse(cel.evaluate("true == 1", {}))
        self.assertFalse(cel.evaluate("1 in [true]", {}))
        with self.assertRaises(cel.CelError):
            cel.evaluate("true + 1", {})

    def test_re2_translation(self):
        cases = [
            ("^a$", "a\n", False),
            ("^a$", "a", True),
            (r"a\z", "a", True),
            (r"^\d+$", "١٢", False),  # RE2's \d is ASCII
            (r"[\s]", "\v", False),
            (r"^[]a]+$", "]a", True),
            (r"^\Qa.b\E$", "a.b", True),
            (r"^\Qa.b\E$", "axb", False),
        ]
        for pattern, text, want in cases:
            with self.subTest(pattern=pattern, text=text):
                self.assertEqual(cel.re2_compile(pattern).search(text) is not None, want)


if __name__ == "__main__":
    unittest.main()
