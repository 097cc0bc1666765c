"""A small, dynamically typed evaluator for the subset of CEL that Kubernetes validation rules use.

CEL (the Common Expression Language, https://github.com/google/cel-spec) is what CRDs write in
`x-kubernetes-validations`. This module parses an expression once (`compile`) and evaluates it
against named values (`Program.evaluate({"self": obj})`), with values as Python data decoded
from JSON/YAML: dict, list, str, int, float, bool, None (plus `Uint` and bytes).

Supported, with the semantics of cel-go as Kubernetes configures it (1.28+):
  * literals: int (decimal, hex), uint (`1u`), double, string ('..', "..", triple-quoted, raw,
    escapes), bytes (b'..'), bool, null, lists, maps;
  * identifiers from the activation (`self`, `oldSelf`), field selection (`self.spec.x`), with
    Kubernetes' escaping of property names (`__dash__`, `__dot__`, `__slash__`,
    `__underscores__`, `__{keyword}__`), indexing (`l[0]`, `m['k']`);
  * `has(x.f)`; `!`, unary `-`; `&&`, `||` with CEL's commutative error semantics (an error on
    one side is absorbed when the other side decides the result); `?:`;
  * `== != < <= > >=` (heterogeneous numeric equality and ordering), `in`, `+ - * / %` with
    int64/uint64 overflow and division-by-zero errors;
  * `size()` as function and method; the macros `all`, `exists`, `exists_one`, `filter`,
    `map` (2 and 3 arguments); string methods `startsWith`, `endsWith`, `contains`, `matches`
    (RE2 syntax, translated), `lowerAscii`, `upperAscii`; conversions `int`, `uint`,
    `double`, `string` (not from double), `dyn`.

What it does not do: static type checking (a type mismatch surfaces as an evaluation error,
"no such overload", when the offending branch runs, not when the rule is compiled), cost
estimation, timestamps and durations, optionals, and the Kubernetes libraries beyond the
string methods above. Using any other function is a compile error (CelParseError), so a rule
this evaluator cannot judge is never silently accepted.

Errors: CelParseError for text that does not parse or uses an unsupported function;
CelError for evaluation errors (no such key, no such overload, overflow, division by zero...).
Kubernetes treats an evaluation error of a validation rule as a failed rule.
"""

import re

__all__ = [
    "CelError",
    "CelParseError",
    "Program",
    "Uint",
    "compile",
    "evaluate",
    "re2_compile",
]

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
UINT_MAX = (1 << 64) - 1


class CelError(Exception):
    """An evaluation error (the rule neither holds nor fails; Kubernetes rejects the object)."""


class CelParseError(Exception):
    """The expression does not parse, or uses something this evaluator does not support."""


class Uint(int):
    """A CEL uint value (Python has one integer type; this marks the other CEL one)."""

    def __repr__(self):
        return "%du" % int(self)


# ---- values ---------------------------------------------------------------------------------


def type_name(v):
    """The CEL type name of a Python value."""
    if v is None:
        return "null_type"
    t = type(v)
    if t is bool:
        return "bool"
    if t is Uint:
        return "uint"
    if t is int:
        return "int"
    if t is float:
        return "double"
    if t is str:
        return "string"
    if t is bytes:
        return "bytes"
    if t in (list, tuple):
        return "list"
    if t is dict:
        return "map"
    raise CelError("unsupported value of Python type %s" % t.__name__)


def _is_num(v):
    t = type(v)
    return t is int or t is Uint or t is float


def _check_int(v):
    if v < INT_MIN or v > INT_MAX:
        raise CelError("integer overflow")
    return v


def _check_uint(v):
    if v < 0 or v > UINT_MAX:
        raise CelError("unsigned integer overflow")
    return Uint(v)


def _no_overload(op, *args):
    return CelError("no such overload: %s(%s)" % (op, ", ".join(type_name(a) for a in args)))


def cel_equal(a, b):
    """CEL equality: heterogeneous numbers compare by value, other type mixes are unequal."""
    if _is_num(a) and _is_num(b):
        return a == b  # Python compares int and float exactly; NaN != NaN
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        return False
    if ta == "list":
        return len(a) == len(b) and all(cel_equal(x, y) for x, y in zip(a, b))
    if ta == "map":
        if len(a) != len(b):
            return False
        for k, v in a.items():
            found = False
            for k2, v2 in b.items():
                if cel_equal(k, k2):
                    if not cel_equal(v, v2):
                        return False
                    found = True
                    break
            if not found:
                return False
        return True
    return a == b


def _compare(op, a, b):
    """Ordering: numbers across types, strings by code point, bools, bytes."""
    if _is_num(a) and _is_num(b):
        pass
    elif type_name(a) != type_name(b) or type_name(a) not in ("string", "bool", "bytes"):
        raise _no_overload(op, a, b)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _arith(op, a, b):
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        raise _no_overload(op, a, b)
    if op == "+":
        if ta == "int":
            return _check_int(a + b)
        if ta == "uint":
            return _check_uint(a + b)
        if ta in ("double", "string", "bytes"):
            return a + b
        if ta == "list":
            return list(a) + list(b)
        raise _no_overload(op, a, b)
    if op == "-":
        if ta == "int":
            return _check_int(a - b)
        if ta == "uint":
            return _check_uint(a - b)
        if ta == "double":
            return a - b
        raise _no_overload(op, a, b)
    if op == "*":
        if ta == "int":
            return _check_int(a * b)
        if ta == "uint":
            return _check_uint(a * b)
        if ta == "double":
            return a * b
        raise _no_overload(op, a, b)
    if op == "/":
        if ta in ("int", "uint"):
            if b == 0:
                raise CelError("division by zero")
            q = abs(int(a)) // abs(int(b))
            if (a < 0) != (b < 0):
                q = -q
            return _check_int(q) if ta == "int" else _check_uint(q)
        if ta == "double":
            if b == 0.0:
                if a == 0.0 or a != a:
                    return float("nan")
                neg = (a < 0) != (str(b).startswith("-"))
                return float("-inf") if neg else float("inf")
            return a / b
        raise _no_overload(op, a, b)
    if op == "%":
        if ta in ("int", "uint"):
            if b == 0:
                raise CelError("modulus by zero")
            if ta == "int" and a == INT_MIN and b == -1:
                raise CelError("integer overflow")
            r = abs(int(a)) % abs(int(b))
            r = -r if a < 0 else r  # the sign of the dividend, as in Go
            return r if ta == "int" else Uint(r)
        raise _no_overload(op, a, b)
    raise CelError("unknown operator %s" % op)


# ---- RE2 --------------------------------------------------------------------------------------

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

_re_cache = {}


def _re2_translate(pattern):
    """Rewrites an RE2 pattern (Go regexp syntax) for Python's re, or raises CelParseError.

    Differences handled: `$` and `\\z` mean the very end of the text (Python's `$` also
    matches before a final newline); `\\s` is [\\t\\n\\f\\r ] (no \\v); `\\d`, `\\w`, `\\b` are
    ASCII (re.ASCII); POSIX classes [[:alpha:]]; `\\Q...\\E`. Constructs RE2 rejects
    (backreferences, lookaround) are rejected here too rather than given Python's meaning.
    """
    out = []
    i, n = 0, len(pattern)
    in_class = False
    multiline = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise CelParseError("regexp %r: trailing backslash" % pattern)
            d = pattern[i + 1]
            if d.isdigit() and d != "0" and not in_class:
                raise CelParseError("regexp %r: backreferences are not RE2" % pattern)
            if d == "z" and not in_class:
                out.append("\\Z")
            elif d == "Z":
                raise CelParseError("regexp %r: \\Z is not RE2" % pattern)
            elif d == "s":
                out.append("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]")
            elif d == "S" and not in_class:
                out.append("[^\\t\\n\\f\\r ]")
            elif d in "pP":
                raise CelParseError("regexp %r: Unicode classes are not supported" % pattern)
            elif d == "Q":
                end = pattern.find("\\E", i + 2)
                lit = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(lit))
                i = n if end < 0 else end + 2
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end < 0:
                    raise CelParseError("regexp %r: unterminated POSIX class" % pattern)
                name = pattern[i + 2 : end]
                neg = name.startswith("^")
                if neg or name not in _POSIX_CLASSES:
                    raise CelParseError("regexp %r: unsupported class [:%s:]" % (pattern, name))
                out.append(_POSIX_CLASSES[name])
                i = end + 2
                continue
            if c == "[":
                out.append("\\[")  # Python warns about nested sets; RE2 takes '[' literally
                i += 1
                continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A ']' right after '[' or '[^' is a literal in both syntaxes.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == "(" and pattern.startswith("(?", i):
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?P="), i):
                raise CelParseError("regexp %r: lookaround is not RE2" % pattern)
            m = re.match(r"\(\?([imsU-]+)[):]", pattern[i:])
            if m:
                if "U" in m.group(1):
                    raise CelParseError("regexp %r: flag U is not supported" % pattern)
                if "m" in m.group(1).split("-")[0]:
                    multiline = True
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def re2_compile(pattern):
    """A compiled Python regexp with RE2's meaning of `pattern` (use .search: RE2 is unanchored)."""
    r = _re_cache.get(pattern)
    if r is None:
        try:
            r = re.compile(_re2_translate(pattern), re.ASCII)
        except re.error as e:
            raise CelParseError("regexp %r: %s" % (pattern, e)) from None
        _re_cache[pattern] = r
    return r


# ---- lexer ------------------------------------------------------------------------------------

RESERVED = {
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<num>(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?
             |\.[0-9]+(?:[eE][+-]?[0-9]+)?
             |[0-9]+[eE][+-]?[0-9]+)
           |0[xX][0-9a-fA-F]+[uU]?|[0-9]+[uU]?)
  | (?P<str>(?:[rR][bB]?|[bB][rR]?)?(?:'''|\"\"\"|'|\"))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])
    """,
    re.VERBOSE,
)

_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}


def _read_string(src, pos, prefix_and_quote):
    """Reads the string literal opened (prefix and quote) at `pos`; returns (value, end)."""
    m = re.match(r"([rRbB]*)('\'\'|\"\"\"|'|\")", prefix_and_quote)
    prefix, quote = m.group(1).lower(), m.group(2)
    raw, is_bytes = "r" in prefix, "b" in prefix
    i = pos + len(prefix_and_quote)
    out = bytearray() if is_bytes else []

    def put_char(ch):
        if is_bytes:
            out.extend(ch.encode("utf-8"))
        else:
            out.append(ch)

    def put_byte(b):
        if is_bytes:
            out.append(b)
        else:
            out.append(chr(b))

    while True:
        if i >= len(src):
            raise CelParseError("unterminated string at %d" % pos)
        if src.startswith(quote, i):
            i += len(quote)
            break
        c = src[i]
        if c == "\n" and len(quote) == 1:
            raise CelParseError("newline in string at %d" % pos)
        if c != "\\" or raw:
            put_char(c)
            i += 1
            continue
        if i + 1 >= len(src):
            raise CelParseError("unterminated string at %d" % pos)
        d = src[i + 1]
        if d in _ESCAPES:
            put_char(_ESCAPES[d])
            i += 2
        elif d in "xX":
            h = src[i + 2 : i + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", h):
                raise CelParseError("bad \\x escape at %d" % i)
            put_byte(int(h, 16))
            i += 4
        elif d in "uU":
            width = 4 if d == "u" else 8
            h = src[i + 2 : i + 2 + width]
            if is_bytes or not re.fullmatch(r"[0-9a-fA-F]{%d}" % width, h):
                raise CelParseError("bad \\%s escape at %d" % (d, i))
            cp = int(h, 16)
            if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                raise CelParseError("invalid code point at %d" % i)
            put_char(chr(cp))
            i += 2 + width
        elif d in "0123":
            o = src[i + 1 : i + 4]
            if not re.fullmatch(r"[0-3][0-7][0-7]", o):
                raise CelParseError("bad octal escape at %d" % i)
            put_byte(int(o, 8))
            i += 4
        else:
            raise CelParseError("unknown escape \\%s at %d" % (d, i))
    return (bytes(out) if is_bytes else "".join(out)), i


def _tokenize(src):
    toks = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise CelParseError("unexpected character %r at %d" % (src[pos], pos))
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "str":
            value, end = _read_string(src, pos, text)
            toks.append(("lit", value, pos))
            pos = end
            continue
        if kind == "num":
            toks.append(("num", text, pos))
        elif kind == "ident":
            if text in ("true", "false"):
                toks.append(("lit", text == "true", pos))
            elif text == "null":
                toks.append(("lit", None, pos))
            elif text == "in":
                toks.append(("op", "in", pos))
            else:
                toks.append(("ident", text, pos))
        else:
            toks.append(("op", text, pos))
        pos = m.end()
    toks.append(("eof", None, len(src)))
    return toks


# ---- parser -----------------------------------------------------------------------------------
#
# The AST is tuples: ("lit", v) ("ident", name) ("select", operand, field) ("has", operand,
# field) ("index", operand, index) ("list", [elems]) ("map", [(k, v)]) ("cond", c, a, b)
# ("and", a, b) ("or", a, b) ("not", x) ("neg", x) ("bin", op, a, b) ("call", name, target or
# None, [args]) ("macro", name, range, var, [args]).

_MACROS = {"all": 2, "exists": 2, "exists_one": 2, "filter": 2, "map": (2, 3)}
_METHODS = {
    "size": 0,
    "startsWith": 1,
    "endsWith": 1,
    "contains": 1,
    "matches": 1,
    "lowerAscii": 0,
    "upperAscii": 0,
}
_FUNCTIONS = {"size": 1, "int": 1, "uint": 1, "double": 1, "string": 1, "dyn": 1, "matches": 2}
_MAX_DEPTH = 100


class _Parser:
    def __init__(self, src):
        self.src = src
        self.toks = _tokenize(src)
        self.i = 0
        self.depth = 0

    def peek(self, k=0):
        return self.toks[self.i + k]

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_op(self, text, k=0):
        t = self.peek(k)
        return t[0] == "op" and t[1] == text

    def expect(self, text):
        t = self.take()
        if t[0] != "op" or t[1] != text:
            raise CelParseError(
                "expected %r at %d, found %r" % (text, t[2], t[1] if t[0] != "eof" else "end")
            )

    def parse(self):
        e = self.expr()
        t = self.peek()
        if t[0] != "eof":
            raise CelParseError("unexpected %r at %d" % (t[1], t[2]))
        return e

    def expr(self):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise CelParseError("expression nests too deeply")
        c = self.or_()
        if self.is_op("?"):
            self.take()
            a = self.or_()
            self.expect(":")
            b = self.expr()
            c = ("cond", c, a, b)
        self.depth -= 1
        return c

    def or_(self):
        e = self.and_()
        while self.is_op("||"):
            self.take()
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.rel()
        while self.is_op("&&"):
            self.take()
            e = ("and", e, self.rel())
        return e

    def rel(self):
        e = self.add()
        while self.peek()[0] == "op" and self.peek()[1] in ("==", "!=", "<", "<=", ">", ">=", "in"):
            op = self.take()[1]
            e = ("bin", op, e, self.add())
        return e

    def add(self):
        e = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            e = ("bin", op, e, self.mul())
        return e

    def mul(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            e = ("bin", op, e, self.unary())
        return e

    def unary(self):
        if self.is_op("!"):
            self.take()
            return ("not", self.unary())
        if self.is_op("-"):
            self.take()
            t = self.peek()
            # -9223372036854775808 is a literal, not the negation of an overflowing one.
            if t[0] == "num" and self._num_is_plain_int(t[1]) and not self._member_follows():
                self.take()
                return ("lit", _check_lit_int(-self._int_value(t[1]), t[2]))
            return ("neg", self.unary())
        return self.member()

    def _member_follows(self):
        nxt = self.peek(1)
        return nxt[0] == "op" and nxt[1] in (".", "[")

    @staticmethod
    def _num_is_plain_int(text):
        low = text.lower()
        if low.endswith("u"):
            return False
        return low.startswith("0x") or not re.search(r"[.e]", low)

    @staticmethod
    def _int_value(text):
        return int(text, 16) if text.lower().startswith("0x") else int(text)

    def member(self):
        e = self.primary()
        while True:
            if self.is_op("."):
                self.take()
                t = self.take()
                if t[0] != "ident":
                    raise CelParseError("expected a field name at %d" % t[2])
                name = t[1]
                if name in RESERVED:
                    raise CelParseError(
                        "reserved word %r at %d (escape it as __%s__)" % (name, t[2], name)
                    )
                if self.is_op("("):
                    self.take()
                    args = self.args(")")
                    e = self.method(e, name, args, t[2])
                else:
                    e = ("select", e, name)
            elif self.is_op("["):
                self.take()
                idx = self.expr()
                self.expect("]")
                e = ("index", e, idx)
            else:
                return e

    def args(self, close):
        args = []
        if self.is_op(close):
            self.take()
            return args
        while True:
            args.append(self.expr())
            if self.is_op(","):
                self.take()
                if self.is_op(close):
                    self.take()
                    return args
                continue
            self.expect(close)
            return args

    def method(self, target, name, args, pos):
        if name in _MACROS:
            want = _MACROS[name]
            want = want if isinstance(want, tuple) else (want,)
            if len(args) not in want:
                raise CelParseError(
                    "%s() takes %s arguments at %d" % (name, " or ".join(map(str, want)), pos)
                )
            if args[0][0] != "ident":
                raise CelParseError(
                    "%s(): the first argument must be a variable name at %d" % (name, pos)
                )
            return ("macro", name, target, args[0][1], args[1:])
        if name not in _METHODS:
            raise CelParseError("method %r is not supported at %d" % (name, pos))
        if len(args) != _METHODS[name]:
            raise CelParseError("%s() takes %d arguments at %d" % (name, _METHODS[name], pos))
        if name == "matches" and args[0][0] == "lit" and isinstance(args[0][1], str):
            re2_compile(args[0][1])  # a bad literal regexp is a compile error, as in cel-go
        return ("call", name, target, args)

    def primary(self):
        t = self.take()
        kind, val, pos = t
        if kind == "lit":
            return ("lit", val)
        if kind == "num":
            return ("lit", _number(val, pos))
        if kind == "ident":
            if val in RESERVED:
                raise CelParseError("reserved word %r at %d" % (val, pos))
            if self.is_op("("):
                self.take()
                args = self.args(")")
                if val == "has":
                    if len(args) != 1 or args[0][0] != "select":
                        raise CelParseError(
                            "has() takes one field selection such as has(self.f) at %d" % pos
                        )
                    return ("has", args[0][1], args[0][2])
                if val not in _FUNCTIONS:
                    raise CelParseError("function %r is not supported at %d" % (val, pos))
                if len(args) != _FUNCTIONS[val]:
                    raise CelParseError(
                        "%s() takes %d arguments at %d" % (val, _FUNCTIONS[val], pos)
                    )
                if val == "matches" and args[1][0] == "lit" and isinstance(args[1][1], str):
                    re2_compile(args[1][1])
                return ("call", val, None, args)
            return ("ident", val)
        if kind == "op":
            if val == "(":
                e = self.expr()
                self.expect(")")
                return e
            if val == "[":
                return ("list", self.args("]"))
            if val == "{":
                entries = []
                if self.is_op("}"):
                    self.take()
                    return ("map", entries)
                while True:
                    k = self.expr()
                    self.expect(":")
                    v = self.expr()
                    entries.append((k, v))
                    if self.is_op(","):
                        self.take()
                        if self.is_op("}"):
                            self.take()
                            return ("map", entries)
                        continue
                    self.expect("}")
                    return ("map", entries)
            if val == ".":
                raise CelParseError(
                    "leading '.' names (qualified idents) are not supported at %d" % pos
                )
        if kind == "eof":
            raise CelParseError("unexpected end of expression")
        raise CelParseError("unexpected %r at %d" % (val, pos))


def _check_lit_int(v, pos):
    if v < INT_MIN or v > INT_MAX:
        raise CelParseError("integer literal out of range at %d" % pos)
    return v


def _number(text, pos):
    low = text.lower()
    if low.endswith("u"):
        body = low[:-1]
        v = int(body, 16) if body.startswith("0x") else int(body)
        if v > UINT_MAX:
            raise CelParseError("uint literal out of range at %d" % pos)
        return Uint(v)
    if low.startswith("0x"):
        return _check_lit_int(int(low, 16), pos)
    if re.search(r"[.e]", low):
        return float(low)
    return _check_lit_int(int(low), pos)


# ---- evaluation -------------------------------------------------------------------------------


def unescape_field(name):
    """Kubernetes' escaping of property names that are not CEL identifiers, undone."""
    m = re.fullmatch(r"__([a-z]+)__", name)
    if m and m.group(1) in RESERVED:
        return m.group(1)
    if "__" not in name:
        return name
    out = []
    i = 0
    while i < len(name):
        for esc, ch in (
            ("__underscores__", "__"),
            ("__dot__", "."),
            ("__dash__", "-"),
            ("__slash__", "/"),
        ):
            if name.startswith(esc, i):
                out.append(ch)
                i += len(esc)
                break
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _select(obj, field):
    if type(obj) is not dict:
        raise CelError("no such field '%s' on a value of type %s" % (field, type_name(obj)))
    key = unescape_field(field)
    if key not in obj:
        raise CelError("no such key: %s" % key)
    return obj[key]


def _bool(v, what):
    if type(v) is not bool:
        raise CelError("%s needs a bool, got %s" % (what, type_name(v)))
    return v


class _Env:
    __slots__ = ("vars", "parent")

    def __init__(self, vars_, parent=None):
        self.vars = vars_
        self.parent = parent

    def lookup(self, name):
        env = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        raise CelError("undeclared reference to '%s'" % name)


def _try(node, env):
    try:
        return _eval(node, env), None
    except CelError as e:
        return None, e


def _eval(node, env):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "ident":
        return env.lookup(node[1])
    if kind == "select":
        return _select(_eval(node[1], env), node[2])
    if kind == "has":
        obj = _eval(node[1], env)
        if type(obj) is not dict:
            raise CelError("has() on a value of type %s" % type_name(obj))
        return unescape_field(node[2]) in obj
    if kind == "and" or kind == "or":
        decisive = kind == "or"  # true decides ||, false decides &&
        a, ea = _try(node[1], env)
        if ea is None and type(a) is bool and a is decisive:
            return decisive
        b, eb = _try(node[2], env)
        if eb is None and type(b) is bool and b is decisive:
            return decisive
        if ea is not None:
            raise ea
        if eb is not None:
            raise eb
        if type(a) is not bool or type(b) is not bool:
            raise _no_overload("_%s_" % ("||" if decisive else "&&"), a, b)
        return not decisive
    if kind == "not":
        return not _bool(_eval(node[1], env), "!")
    if kind == "neg":
        v = _eval(node[1], env)
        t = type_name(v)
        if t == "int":
            return _check_int(-v)
        if t == "double":
            return -v
        raise _no_overload("-_", v)
    if kind == "cond":
        if _bool(_eval(node[1], env), "?:"):
            return _eval(node[2], env)
        return _eval(node[3], env)
    if kind == "bin":
        op = node[1]
        a = _eval(node[2], env)
        b = _eval(node[3], env)
        if op == "==":
            return cel_equal(a, b)
        if op == "!=":
            return not cel_equal(a, b)
        if op in ("<", "<=", ">", ">="):
            return _compare(op, a, b)
        if op == "in":
            if type(b) in (list, tuple):
                return any(cel_equal(a, x) for x in b)
            if type(b) is dict:
                return any(cel_equal(a, k) for k in b)
            raise _no_overload("@in", a, b)
        return _arith(op, a, b)
    if kind == "index":
        obj = _eval(node[1], env)
        idx = _eval(node[2], env)
        if type(obj) in (list, tuple):
            if type(idx) is float and idx == int(idx):
                idx = int(idx)
            if type(idx) not in (int, Uint):
                raise _no_overload("_[_]", obj, idx)
            if idx < 0 or idx >= len(obj):
                raise CelError("index out of range: %d" % idx)
            return obj[idx]
        if type(obj) is dict:
            for k, v in obj.items():
                if cel_equal(k, idx):
                    return v
            raise CelError("no such key: %s" % (idx,))
        raise _no_overload("_[_]", obj, idx)
    if kind == "list":
        items = [_eval(e, env) for e in node[1]]
        kinds = {type_name(x) for x in items}
        if len(kinds) > 1:
            # Kubernetes compiles with HomogeneousAggregateLiterals.
            raise CelError("list literal mixes types: %s" % ", ".join(sorted(kinds)))
        return items
    if kind == "map":
        out = {}
        for k, v in node[1]:
            key = _eval(k, env)
            if type_name(key) not in ("int", "uint", "string", "bool"):
                raise CelError("unsupported map key type %s" % type_name(key))
            if key in out:
                raise CelError("repeated map key %r" % (key,))
            out[key] = _eval(v, env)
        return out
    if kind == "call":
        return _call(node, env)
    if kind == "macro":
        return _macro(node, env)
    raise CelError("unknown node %s" % kind)


def _string_arg(v, fn):
    if type(v) is not str:
        raise _no_overload(fn, v)
    return v


def _call(node, env):
    _, name, target, arg_nodes = node
    recv = _eval(target, env) if target is not None else None
    args = [_eval(a, env) for a in arg_nodes]
    if name == "size":
        v = recv if target is not None else args[0]
        if type(v) in (str, bytes, list, tuple, dict):
            return len(v)
        raise _no_overload("size", v)
    if name in ("startsWith", "endsWith", "contains", "matches") and target is not None:
        s = _string_arg(recv, name)
        a = _string_arg(args[0], name)
        if name == "startsWith":
            return s.startswith(a)
        if name == "endsWith":
            return s.endswith(a)
        if name == "contains":
            return a in s
        return re2_compile(a).search(s) is not None
    if name == "matches":
        return (
            re2_compile(_string_arg(args[1], name)).search(_string_arg(args[0], name)) is not None
        )
    if name == "lowerAscii":
        s = _string_arg(recv, name)
        return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)
    if name == "upperAscii":
        s = _string_arg(recv, name)
        return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in s)
    v = args[0] if args else None
    t = type_name(v) if args else None
    if name == "dyn":
        return v
    if name == "int":
        if t in ("int", "uint"):
            return _check_int(int(v))
        if t == "double":
            if v != v or v in (float("inf"), float("-inf")) or not (-(2.0**63) <= v < 2.0**63):
                raise CelError("double out of range for int")
            return int(v)
        if t == "string":
            if not re.fullmatch(r"[+-]?[0-9]+", v):
                raise CelError("cannot parse %r as int" % v)
            return _check_int(int(v))
        raise _no_overload("int", v)
    if name == "uint":
        if t in ("int", "uint"):
            return _check_uint(int(v))
        if t == "double":
            if v != v or not (0 <= v < 2.0**64):
                raise CelError("double out of range for uint")
            return Uint(int(v))
        if t == "string":
            if not re.fullmatch(r"[0-9]+", v):
                raise CelError("cannot parse %r as uint" % v)
            return _check_uint(int(v))
        raise _no_overload("uint", v)
    if name == "double":
        if t in ("int", "uint", "double"):
            return float(v)
        if t == "string":
            try:
                return float(v)
            except ValueError:
                raise CelError("cannot parse %r as double" % v) from None
        raise _no_overload("double", v)
    if name == "string":
        if t == "string":
            return v
        if t in ("int", "uint"):
            return str(int(v))
        if t == "bool":
            return "true" if v else "false"
        if t == "bytes":
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                raise CelError("invalid UTF-8 in bytes") from None
        raise CelError("string(%s) is not supported by this evaluator" % t)
    raise CelError("unsupported function %s" % name)


def _macro(node, env):
    _, name, range_node, var, arg_nodes = node
    rng = _eval(range_node, env)
    if type(rng) in (list, tuple):
        items = list(rng)
    elif type(rng) is dict:
        items = list(rng.keys())
    else:
        raise _no_overload(name, rng)
    if name in ("all", "exists"):
        decisive = name == "exists"  # a true predicate decides exists, a false one all
        err = None
        for x in items:
            v, e = _try(arg_nodes[0], _Env({var: x}, env))
            if e is None and type(v) is not bool:
                e = _no_overload(name, v)
            if e is not None:
                err = err or e
                continue
            if v is decisive:
                return decisive
        if err is not None:
            raise err
        return not decisive
    if name == "exists_one":
        count = 0
        for x in items:
            if _bool(_eval(arg_nodes[0], _Env({var: x}, env)), "exists_one"):
                count += 1
        return count == 1
    if name == "filter":
        return [x for x in items if _bool(_eval(arg_nodes[0], _Env({var: x}, env)), "filter")]
    # map(x, t) or map(x, p, t)
    out = []
    for x in items:
        scope = _Env({var: x}, env)
        if len(arg_nodes) == 2 and not _bool(_eval(arg_nodes[0], scope), "map"):
            continue
        out.append(_eval(arg_nodes[-1], scope))
    return out


def _idents(node, acc):
    if isinstance(node, tuple):
        if node and node[0] == "ident":
            acc.add(node[1])
        for part in node[1:]:
            _idents(part, acc)
    elif isinstance(node, list):
        for part in node:
            _idents(part, acc)
    return acc


class Program:
    """A compiled expression."""

    def __init__(self, source, ast):
        self.source = source
        self.ast = ast
        self.variables = frozenset(_idents(ast, set()))

    def evaluate(self, activation):
        """The value of the expression with the names of `activation` bound; raises CelError."""
        try:
            return _eval(self.ast, _Env(dict(activation)))
        except RecursionError:
            raise CelError("evaluation nests too deeply") from None

    def references(self, name):
        """True when the expression mentions the variable `name` (e.g. oldSelf)."""
        return name in self.variables

    def __repr__(self):
        return "cel.Program(%r)" % self.source


_programs = {}


def compile(source):  # noqa: A001 (the natural name, as in cel-go)
    """Parses `source` into a Program (cached); raises CelParseError."""
    p = _programs.get(source)
    if p is None:
        try:
            p = Program(source, _Parser(source).parse())
        except RecursionError:
            raise CelParseError("expression nests too deeply") from None
        _programs[source] = p
    return p


def evaluate(source, activation):
    """Compiles and evaluates in one step."""
    return compile(source).evaluate(activation)
