"""Validation of a parsed request against its operation's input shape.

Checks what the models carry: required members, enums, min/max lengths of strings, blobs, lists
and maps, min/max values of numbers, and patterns. Violations become the service's own error
(errors.VALIDATION): Coral-style services get one error listing every violation, as AWS does
("2 validation errors detected: ...; ..."), Query services get MissingParameter for the first
missing member and InvalidParameterValue for the first bad value.

The models' patterns are Java regular expressions matched against the whole value; the few Java
constructs Python lacks (\\p{L}, \\p{Print}, surrogate pairs, a flag group in the middle) are
translated once, and a pattern that still cannot compile is skipped.
"""

import re
import sys

from .errors import VALIDATION, AwsError

# Unicode classes approximated by ranges (Python's re has no \p{...}).
_UNICODE_CLASSES = {
    'L': 'A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u1fff'
         '\u2c00-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd',
    'Z': ' \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000',
    'N': '0-9\u00b2\u00b3\u00b9\u00bc-\u00be\u0660-\u0669\u06f0-\u06f9\u0966-\u096f\uff10-\uff19',
    'Print': '\x20-\x7e',
    'Alpha': 'A-Za-z',
    'Digit': '0-9',
    'Alnum': 'A-Za-z0-9',
}

_pattern_cache = {}


def _translate(pattern):
    """Java regex -> Python regex for the constructs found in the AWS models."""
    # Surrogate pairs written as two \\u escapes stand for one astral code point.
    def pair(m):
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return '\\U%08x' % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    p = re.sub(r'\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})', pair, pattern, flags=re.I)
    p = p.replace('\\uD800\\uDC00-\\uDBFF\\uDFFF', '\\U00010000-\\U0010ffff')
    # \p{X} inside a character class becomes its ranges; outside, a class of them.
    out, in_class, i = [], False, 0
    while i < len(p):
        c = p[i]
        if c == '\\' and i + 1 < len(p):
            m = re.match(r'\\[pP]\{(?:Is)?(\w+)\}', p[i:])
            if m and m.group(1) in _UNICODE_CLASSES:
                ranges = _UNICODE_CLASSES[m.group(1)]
                neg = p[i + 1] == 'P'
                if in_class and not neg:
                    out.append(ranges)
                else:
                    out.append('[%s%s]' % ('^' if neg else '', ranges))
                i += len(m.group(0))
                continue
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == '[' and not in_class:
            in_class = True
        elif c == ']' and in_class:
            in_class = False
        out.append(c)
        i += 1
    p = ''.join(out)
    # A Java inline flag group in the middle applies to the rest of its enclosing group.
    m = re.search(r'\(\?([imsx]+)\)', p)
    if m and m.start() > 0:
        start, depth, j = m.end(), 0, m.end()
        while j < len(p):
            if p[j] == '\\':
                j += 2
                continue
            if p[j] == '(':
                depth += 1
            elif p[j] == ')':
                if depth == 0:
                    break
                depth -= 1
            j += 1
        p = p[:m.start()] + '(?%s:%s)' % (m.group(1), p[start:j]) + p[j:]
    return p


def compiled_pattern(pattern):
    """The compiled Python regex for a model pattern, or None when it cannot be translated."""
    if pattern in _pattern_cache:
        return _pattern_cache[pattern]
    rx = None
    try:
        rx = re.compile(_translate(pattern), re.S)
    except re.error as e:
        sys.stderr.write('awssim: pattern %r not enforced: %s\n' % (pattern, e))
    _pattern_cache[pattern] = rx
    return rx


class Violation:
    """One broken constraint: kind is 'missing' or 'invalid'; path the member path as a list of
    member names and list indexes; value the offending value; constraint the Coral phrase."""

    def __init__(self, kind, path, value, constraint):
        self.kind = kind
        self.path = path
        self.value = value
        self.constraint = constraint


def check(shape, value, path=None, out=None):
    """Collects the violations of value against shape. Returns the list."""
    if out is None:
        out = []
    if path is None:
        path = []
    t = shape.type_name
    md = shape.metadata
    if t == 'structure':
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                out.append(Violation('missing', path + [name], None, 'Member must not be null'))
        for name, v in value.items():
            if v is not None and name in members:
                check(members[name], v, path + [name], out)
        return out
    if t in ('string', 'blob', 'list', 'map'):
        n = len(value)
        if 'min' in md and n < md['min']:
            out.append(Violation('invalid', path, value,
                                 'Member must have length greater than or equal to %d' % md['min']))
        if 'max' in md and n > md['max']:
            out.append(Violation('invalid', path, value,
                                 'Member must have length less than or equal to %d' % md['max']))
    if t == 'string':
        enum = md.get('enum')
        if enum and value not in enum:
            out.append(Violation('invalid', path, value,
                                 'Member must satisfy enum value set: [%s]' % ', '.join(enum)))
        pattern = md.get('pattern')
        if pattern:
            rx = compiled_pattern(pattern)
            if rx is not None and not rx.fullmatch(value):
                out.append(Violation('invalid', path, value,
                                     'Member must satisfy regular expression pattern: %s' % pattern))
    elif t in ('integer', 'long', 'float', 'double'):
        if 'min' in md and value < md['min']:
            out.append(Violation('invalid', path, value,
                                 'Member must have value greater than or equal to %s' % _num(md['min'])))
        if 'max' in md and value > md['max']:
            out.append(Violation('invalid', path, value,
                                 'Member must have value less than or equal to %s' % _num(md['max'])))
    elif t == 'list':
        for i, item in enumerate(value):
            if item is not None:
                check(shape.member, item, path + [i], out)
    elif t == 'map':
        for k, v in value.items():
            check(shape.key, k, path + ['<key>'], out)
            if v is not None:
                check(shape.value, v, path + [k], out)
    return out


def _num(x):
    return str(int(x)) if float(x) == int(x) else str(x)


def _coral_path(path):
    parts = []
    for p in path:
        if isinstance(p, int):
            parts.append('%d.member' % (p + 1))
        else:
            parts.append(p[:1].lower() + p[1:])
    return '.'.join(parts)


def _query_path(path):
    parts = []
    for p in path:
        parts.append(str(p + 1) if isinstance(p, int) else p)
    return '.'.join(parts)


def _coral_value(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return "'%s'" % ('true' if v else 'false')
    if isinstance(v, (list, tuple)):
        return "'[%s]'" % ', '.join(str(x) for x in v)
    if isinstance(v, bytes):
        return "'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'" % (len(v), len(v))
    return "'%s'" % (v,)


def to_error(service, violations):
    """The AwsError AWS returns for these violations of service's model."""
    v = VALIDATION[service]
    if v['style'] == 'query':
        missing = [x for x in violations if x.kind == 'missing']
        if missing:
            return AwsError(v['missing'], 'The request must contain the parameter %s.'
                            % _query_path(missing[0].path))
        x = violations[0]
        return AwsError(v['code'], 'Invalid value %s for parameter %s: %s.'
                        % (_coral_value(x.value), _query_path(x.path), x.constraint))
    details = ['Value %s at \'%s\' failed to satisfy constraint: %s'
               % (_coral_value(x.value), _coral_path(x.path), x.constraint) for x in violations]
    n = len(details)
    return AwsError(v['code'], '%d validation error%s detected: %s'
                    % (n, '' if n == 1 else 's', '; '.join(details)))
