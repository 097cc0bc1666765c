#!/usr/bin/env python3
"""End-to-end tests of `trimtab validate` on real files: exit codes, the error format, sorting
across files, valid files beside invalid ones, other kinds ignored, and hostile input (alias
bombs, deep nesting, huge documents, invalid UTF-8, binary files, 10,000 files) handled quickly
with a clear error and bounded memory.

Usage: test_validate.py TRIMTAB_BINARY SOURCE_DIR [--sanitized]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
SRC = None
SANITIZED = False

HEAD = "apiVersion: trimtab.dev/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n"
BUDGET = HEAD.format(kind="Budget", name="{name}") + "spec:\n  limit: {{amount: 5}}\n"


def run(*args, timeout=60):
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                       errors="replace")
    p.seconds = time.monotonic() - t0
    # ru_maxrss of children is the largest child so far; good enough as an upper bound here.
    p.max_rss_kib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return p


class Validate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tt-validate-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, rel, data):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path, mode) as f:
            f.write(data)
        return path

    def test_examples_are_valid(self):
        p = run("validate", os.path.join(SRC, "examples"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"17 resources valid, 0 invalid")

    def test_help_and_usage(self):
        for args in (["--help"], ["validate", "--help"], ["version", "--help"]):
            p = run(*args)
            self.assertEqual(p.returncode, 0, args)
            self.assertIn("Usage: trimtab", p.stdout)
        p = run("validate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("name at least one file or directory", p.stderr)
        p = run("frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", p.stderr)

    def test_errors_sorted_across_files_valid_ones_counted(self):
        self.write("b.yaml", HEAD.format(kind="Budget", name="b") +
                   "spec:\n  limit: {amount: 0}\n  timeUnit: WEEKLY\n")
        self.write("a/a.yaml", BUDGET.format(name="fine") + "---\n" +
                   HEAD.format(kind="Budget", name="x") + "spec:\n  limt: {amount: 5}\n")
        self.write("c.yaml", BUDGET.format(name="also-fine"))
        p = run("validate", self.dir)
        self.assertEqual(p.returncode, 1)
        lines = [l for l in p.stdout.splitlines() if ": " in l and not l.startswith(" ")]
        a, b = os.path.join(self.dir, "a/a.yaml"), os.path.join(self.dir, "b.yaml")
        self.assertEqual(lines[:4], [
            f"{a}:12: spec.limit: is required",
            f"{a}:13: spec.limt: unknown field; did you mean 'limit'?",
            f"{b}:6: spec.limit.amount: must be greater than 0 (is 0)",
            f"{b}:7: spec.timeUnit: 'WEEKLY' is not one of DAILY, MONTHLY, QUARTERLY, ANNUALLY",
        ])
        self.assertIn("2 resources valid, 2 invalid, in 3 files", p.stdout)

    def test_single_valid_file_and_other_kinds(self):
        path = self.write("ok.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                          "data: {a: b}\n---\n" + BUDGET.format(name="ok"))
        p = run("validate", path)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("1 resource valid, 0 invalid, in 1 file (1 other document ignored)",
                      p.stdout)

    def test_missing_path(self):
        p = run("validate", os.path.join(self.dir, "nope"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("nope: cannot read: No such file or directory", p.stdout)

    def assert_fast_clear_error(self, path, message, seconds=5.0):
        p = run("validate", path)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn(message, p.stdout)
        limit = seconds * (4 if SANITIZED else 1)
        self.assertLess(p.seconds, limit, f"took {p.seconds:.2f}s")
        if not SANITIZED:
            self.assertLess(p.max_rss_kib, 200 * 1024, f"peak RSS {p.max_rss_kib} KiB")
        return p

    def test_alias_bomb(self):
        lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 12):
            lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 10) + "]")
        path = self.write("bomb.yaml", "\n".join(lines) + "\n")
        self.assert_fast_clear_error(path, "bomb.yaml:5: a4: document has more than 100000 "
                                     "nodes once aliases are expanded")

    def test_deep_nesting(self):
        path = self.write("deep.yaml", "a: " + "[" * 100000 + "]" * 100000 + "\n")
        self.assert_fast_clear_error(path, "deep.yaml:1: nesting is deeper than 64 levels")
        path = self.write("deepmap.yaml",
                          "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "v\n")
        self.assert_fast_clear_error(path, "deepmap.yaml:65: ")

    def test_huge_documents(self):
        path = self.write("big.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n" +
                          "".join(f'  k{i}: "{"x" * 200}"\n' for i in range(20000)))
        self.assert_fast_clear_error(path, "big.yaml:1: document is larger than 1024 KiB")
        path = os.path.join(self.dir, "enormous.yaml")
        with open(path, "wb") as f:
            f.truncate(40 * 1024 * 1024)
        self.assert_fast_clear_error(path, "enormous.yaml: file is 40 MiB, larger than the 32 MiB")

    def test_invalid_utf8_and_binary(self):
        path = self.write("latin1.yaml", BUDGET.format(name="b").encode() +
                          b"  # caf\xe9 au lait\n")
        self.assert_fast_clear_error(path, "latin1.yaml:7: not valid UTF-8 text")
        path = self.write("blob.json", os.urandom(1 << 20))
        self.assert_fast_clear_error(path, "blob.json:")

    def test_ten_thousand_files(self):
        for i in range(10000):
            sub = f"d{i // 500}"
            self.write(f"{sub}/b{i}.yaml", BUDGET.format(name=f"b{i}"))
        self.write("d3/broken.yaml", HEAD.format(kind="Budget", name="broken") + "spec: {")
        p = run("validate", self.dir, timeout=120)
        self.assertEqual(p.returncode, 1)
        self.assertIn("10000 resources valid, 1 invalid, in 10001 files", p.stdout)
        self.assertIn("d3/broken.yaml:6: YAML syntax:", p.stdout)
        self.assertNotIn("is required", p.stdout)
        self.assertLess(p.seconds, 20 * (4 if SANITIZED else 1), f"took {p.seconds:.2f}s")


if __name__ == "__main__":
    BIN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    SANITIZED = "--sanitized" in sys.argv
    del sys.argv[1:]
    unittest.main(verbosity=2)
