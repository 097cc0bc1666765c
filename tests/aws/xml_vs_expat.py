#!/usr/bin/env python3
"""tt_xml against expat (the parser behind Python's ElementTree and botocore's XML responses).

Random documents with everything AWS's XML may carry (declarations, a BOM, namespace prefixes
and declarations, attributes in both quotes, the five entities, character references, CDATA,
comments, processing instructions, CR LF and lone CR line ends, non-ASCII text), and mutations
of them (bytes deleted, markup characters inserted, slices repeated), are parsed by both:
  - what both accept they must read the same (local names, attributes in order without the
    namespace declarations, character data merged);
  - what expat refuses tt_xml must refuse, and the other way round, except where tt_xml is
    stricter on purpose: only UTF-8 is read (expat also knows Latin-1 and US-ASCII), and no
    DOCTYPE (AWS never sends one; refusing it rules out entity definitions altogether).

Usage: xml_vs_expat.py PATH/TO/xml_tool [DOCUMENTS] [SEED]
"""
import base64
import json
import random
import subprocess
import sys
import xml.parsers.expat

NAMES = ["a", "Item", "member", "DBInstance", "x-y", "n.1", "_u", "Key", "Value"]
TEXT = ["abc", " ", "\t", "\n", "\r\n", "\r", "\u00e9", "\u65e5\u672c", "\U0001F600", "&amp;",
        "&lt;", "&gt;", "&quot;", "&apos;", "&#65;", "&#x1F600;", "&#13;", "&#9;", "&#xA;", ">",
        "'", '"', "]]", "]", "0.5", "true", "  x  "]
MUTATIONS = ["<", ">", "&", ";", '"', "'", "/", "!", "-", "?", "[", "]", " ", "\r", "=", "a",
             "#", "x", ":", "\x01", "<!--", "-->", "]]>", "&#0;", "&foo;", "<?xml version='1.0'?>",
             "<!DOCTYPE a>", "\ufffe", "\udc80"]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def name(self, prefixes):
        n = self.r.choice(NAMES)
        if prefixes and self.r.random() < 0.3:
            n = self.r.choice(prefixes) + ":" + n
        return n

    def text(self, quote=None):
        out = []
        for _ in range(self.r.randint(0, 4)):
            t = self.r.choice(TEXT)
            if t == quote:
                t = "&quot;" if quote == '"' else "&apos;"
            out.append(t)
        return "".join(out)

    def attrs(self, prefixes, declare):
        out, used = [], set()
        if declare:
            out.append(' xmlns="urn:default"')
            for p in prefixes:
                out.append(' xmlns:%s="urn:%s"' % (p, p))
        for _ in range(self.r.randint(0, 3)):
            n = self.name(prefixes)
            if n in used:
                continue
            used.add(n)
            q = self.r.choice(['"', "'"])
            sp = self.r.choice(["", " ", "\n"])
            out.append(" %s%s=%s%s%s%s" % (n, sp, sp, q, self.text(q), q))
        return "".join(out)

    def element(self, depth, prefixes, declare=False):
        n = self.name(prefixes)
        head = "<" + n + self.attrs(prefixes, declare) + self.r.choice(["", " ", "\n"])
        if depth > 4 or self.r.random() < 0.2:
            return head + "/>"
        parts = []
        for _ in range(self.r.randint(0, 5)):
            k = self.r.random()
            if k < 0.35:
                parts.append(self.element(depth + 1, prefixes))
            elif k < 0.75:
                parts.append(self.text())
            elif k < 0.85:
                parts.append("<![CDATA[%s]]>" % self.r.choice(["", "<b>&amp;", "x]y", "\r\n", "]]"]))
            elif k < 0.95:
                parts.append("<!--%s-->" % self.r.choice(["", " c ", "a-b", "<x>&"]))
            else:
                parts.append("<?pi %s?>" % self.r.choice(["", "data", "x='1'"]))
        return head + ">" + "".join(parts) + "</" + n + self.r.choice(["", " ", "\n"]) + ">"

    def document(self):
        r = self.r
        prefixes = r.choice([[], ["p"], ["p", "ns2"]])
        out = ""
        if r.random() < 0.5:
            out += r.choice(['<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0'?>",
                             '<?xml version="1.0" encoding="utf-8" standalone="yes" ?>'])
        out += r.choice(["", "\n", "<!-- lead -->", "<?pi x?>\n"])
        out += self.element(0, prefixes, declare=bool(prefixes) or r.random() < 0.3)
        out += r.choice(["", "\n", "<!-- tail -->", " \r\n"])
        data = out.encode("utf-8")
        return (b"\xef\xbb\xbf" + data) if r.random() < 0.1 else data

    def mutate(self, data):
        r = self.r
        for _ in range(r.randint(1, 3)):
            pos = r.randint(0, len(data))
            k = r.random()
            if k < 0.35 and data:
                data = data[:pos] + data[pos + r.randint(1, 3):]
            elif k < 0.85:
                data = data[:pos] + r.choice(MUTATIONS).encode("utf-8", "surrogatepass") + data[pos:]
            else:
                end = min(len(data), pos + r.randint(1, 12))
                data = data[:end] + data[pos:end] + data[end:]
        return data


def local(name):
    return name.rsplit(":", 1)[-1]


def is_xmlns(name):
    return name == "xmlns" or name.startswith("xmlns:")


def canon(el):
    name, attrs, children = el
    kids = []
    for c in children:
        if isinstance(c, str):
            if not c:
                continue
            if kids and isinstance(kids[-1], str):
                kids[-1] += c
            else:
                kids.append(c)
        else:
            kids.append(canon(c))
    return [name, [list(a) for a in attrs], kids]


def expat(data):
    p = xml.parsers.expat.ParserCreate()
    p.ordered_attributes = True
    top = [None, [], []]
    stack = [top]

    def start(name, attrs):
        el = [local(name), [[local(attrs[i]), attrs[i + 1]] for i in range(0, len(attrs), 2)
                            if not is_xmlns(attrs[i])], []]
        stack[-1][2].append(el)
        stack.append(el)

    def chars(text):
        if len(stack) > 1:
            stack[-1][2].append(text)

    p.StartElementHandler = start
    p.EndElementHandler = lambda name: stack.pop()
    p.CharacterDataHandler = chars
    try:
        p.Parse(data, True)
    except (xml.parsers.expat.ExpatError, UnicodeError, LookupError) as e:
        return None, str(e)
    return canon(top[2][0]), None


def main():
    tool = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261207
    rng = random.Random(seed)
    g = Gen(rng)
    docs = []
    for _ in range(n):
        d = g.document()
        docs.append(d)
        docs.append(g.mutate(d))
        docs.append(g.mutate(d))
    lines = "".join(json.dumps({"b64": base64.b64encode(d).decode()}) + "\n" for d in docs)
    out = subprocess.run([tool], input=lines.encode(), stdout=subprocess.PIPE, check=True,
                         timeout=300).stdout.decode().split("\n")[:-1]
    assert len(out) == len(docs), (len(out), len(docs))
    problems, both, refused = [], 0, 0
    for d, line in zip(docs, out):
        tt = json.loads(line)
        want, why = expat(d)
        if "tree" in tt and want is not None:
            both += 1
            if canon(tt["tree"]) != want:
                problems.append("read differently: %r\n  tt_xml %r\n  expat  %r"
                                % (d, canon(tt["tree"]), want))
        elif "tree" in tt:
            problems.append("tt_xml accepts what expat refuses (%s): %r" % (why, d))
        elif want is not None:
            if "only UTF-8" not in tt["error"] and "DOCTYPE" not in tt["error"]:
                problems.append("tt_xml refuses what expat reads (%s): %r" % (tt["error"], d))
        else:
            refused += 1
    print("%d documents: %d read by both alike, %d refused by both, %d problems"
          % (len(docs), both, refused, len(problems)))
    for p in problems[:15]:
        print(p)
    # Both sides of the comparison must have been exercised.
    if both < n // 2 or refused < n // 4:
        print("too few documents on one side: generator broken")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
