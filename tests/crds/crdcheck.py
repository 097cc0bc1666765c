#!/usr/bin/env python3
"""crdcheck — validates objects against CustomResourceDefinitions the way the API server does.

What a `kubectl apply` of a manifest goes through on a Kubernetes API server, for the custom
resources of a structural CRD, with kubectl's default strict field validation:

 1. kubectl's YAML/JSON → JSON round trip (Go's encoding/json writes 2.0 as 2, so integral
    floats arrive as integers; keys become strings);
 2. unknown fields are errors (an object with `properties` is closed unless it says
    `x-kubernetes-preserve-unknown-fields` or has `additionalProperties`);
 3. nulls of non-nullable fields are dropped, then `default`s are applied (recursively);
 4. ObjectMeta checks for metadata (name, namespace, labels, annotations) — the CRD's schema
    cannot constrain metadata, the API server does it itself;
 5. OpenAPI v3.0 validation (jsonschema's Draft 4 semantics: boolean exclusiveMinimum; RE2
    patterns; `nullable`; `x-kubernetes-int-or-string` = an integer or a string);
 6. `x-kubernetes-list-type: set` (unique items) and `map` (unique `x-kubernetes-list-map-keys`);
 7. every `x-kubernetes-validations` rule at its node, `self` bound to that node's value (CEL,
    tests/lib/cel.py) — skipped, as in the API server, when step 5 found a type, required,
    enum, too-long or too-many error, or step 2 an unknown field.

Errors are (path, reason) tuples (CrdError, with .cel telling rule failures apart), paths
written as trimtab writes them (`spec.steps[0].lower`). Not modelled: formats, CEL cost limits,
ratcheting of unchanged invalid values on update, status subresource semantics.

Usage: crdcheck.py [--crds DIR] FILE...   (prints `file: path: reason`, exits 1 on errors)
"""

import argparse
import ast
import copy
import json
import os
import re
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cel  # noqa: E402

CEL_PREFIX = "cel: "


class CrdError(tuple):
    """(path, reason); .cel is True for x-kubernetes-validations failures."""

    def __new__(cls, path, reason, cel_rule=False, blocking=False):
        self = tuple.__new__(cls, (path, reason))
        self.cel = cel_rule
        self.blocking = blocking
        return self

    @property
    def path(self):
        return self[0]

    @property
    def reason(self):
        return self[1]


def is_cel(err):
    return getattr(err, "cel", False) or err[1].startswith(CEL_PREFIX)


# ---- paths --------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def path_str(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        elif _IDENT.match(p):
            out += ("." if out else "") + p
        else:
            out += "[%s]" % p
    return out


# ---- YAML as kubectl reads it -------------------------------------------------------------


# Plain scalars resolve as in go-yaml v2, which kubectl's YAML → JSON conversion
# (sigs.k8s.io/yaml) uses, not as in PyYAML: `1e1` is a float, `y`/`n` are booleans,
# `1:30` and dates stay strings, `0755` is octal.
_GO_NULL = {"", "~", "null", "Null", "NULL"}
_GO_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_GO_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_SPECIAL_FLOAT = {
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}


def _go_int(text):
    """strconv.ParseInt(text, 0, 64), then ParseUint, after go-yaml drops underscores."""
    s = text.replace("_", "")
    sign, body = (-1, s[1:]) if s[:1] == "-" else (1, s[1:] if s[:1] == "+" else s)
    low = body.lower()
    for prefix, base, digits in (("0x", 16, "[0-9a-f]+"), ("0b", 2, "[01]+"), ("0o", 8, "[0-7]+")):
        if low.startswith(prefix):
            v = int(low[2:], base) if re.fullmatch(digits, low[2:]) else None
            break
    else:
        if re.fullmatch(r"0[0-7]+", low):
            v = int(low, 8)
        elif re.fullmatch(r"[0-9]+", low) and (low == "0" or low[0] != "0"):
            v = int(low)
        else:
            v = None
    if v is None:
        return None
    v *= sign
    return v if -(1 << 63) <= v < (1 << 64) else None


def _go_resolve(text):
    if text in _GO_NULL:
        return "tag:yaml.org,2002:null"
    if text in _GO_TRUE or text in _GO_FALSE:
        return "tag:yaml.org,2002:bool"
    if text == "<<":
        return "tag:yaml.org,2002:merge"
    if text in _GO_SPECIAL_FLOAT:
        return "tag:yaml.org,2002:float"
    if text[:1] in "0123456789+-.":
        if _go_int(text) is not None:
            return "tag:yaml.org,2002:int"
        if _GO_FLOAT.match(text.replace("_", "")):
            return "tag:yaml.org,2002:float"
    return "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """SafeLoader with go-yaml v2's resolution of plain scalars."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _go_resolve(value)
        return super().resolve(kind, value, implicit)


def _construct_int(loader, node):
    v = _go_int(loader.construct_scalar(node))
    if v is None:
        raise yaml.constructor.ConstructorError(None, None, "not an integer", node.start_mark)
    return v


def _construct_float(loader, node):
    text = loader.construct_scalar(node)
    if text in _GO_SPECIAL_FLOAT:
        return _GO_SPECIAL_FLOAT[text]
    return float(text.replace("_", ""))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor(
    "tag:yaml.org,2002:bool", lambda loader, node: loader.construct_scalar(node) in _GO_TRUE
)


def _go_float(f):
    """A float as Go's encoding/json writes it (integral values without a fraction)."""
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinities are not JSON")
    if f.is_integer() and abs(f) < 1e21:
        return int(f)
    return f


def to_json_value(v):
    """What arrives at the API server after kubectl's YAML/JSON → JSON conversion."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if isinstance(k, bool):
                k = "true" if k else "false"
            elif k is None:
                k = "null"
            elif isinstance(k, float):
                k = str(_go_float(k))
            elif not isinstance(k, str):
                k = str(k)
            out[k] = to_json_value(x)
        return out
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    if isinstance(v, float):
        return _go_float(v)
    return v


def load_documents(path):
    """Every object of a YAML or JSON file, `kind: List` unwrapped; empty documents skipped."""
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.load_all(f, Loader=_Loader) if d is not None]
    out = []
    for d in docs:
        d = to_json_value(d)
        if (
            isinstance(d, dict)
            and d.get("apiVersion") == "v1"
            and isinstance(d.get("kind"), str)
            and d["kind"].endswith("List")
            and isinstance(d.get("items"), list)
        ):
            out.extend(d["items"])
        else:
            out.append(d)
    return out


# ---- CRDs ---------------------------------------------------------------------------------


class Crd:
    def __init__(self, doc):
        spec = doc["spec"]
        self.doc = doc
        self.group = spec["group"]
        self.kind = spec["names"]["kind"]
        self.versions = {
            v["name"]: v["schema"]["openAPIV3Schema"] for v in spec["versions"] if v.get("served")
        }
        for schema in self.versions.values():
            compile_rules(schema)


def load_crds(directory):
    """{(group, kind): Crd} for every CustomResourceDefinition in `directory`."""
    crds = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml", ".json")):
            continue
        for d in load_documents(os.path.join(directory, name)):
            if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition":
                c = Crd(d)
                crds[(c.group, c.kind)] = c
    return crds


def _walk_schemas(schema):
    yield schema
    for sub in (schema.get("properties") or {}).values():
        yield from _walk_schemas(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _walk_schemas(schema[key])
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from _walk_schemas(sub)


def compile_rules(schema):
    """Compiles every CEL rule of a schema (raises cel.CelParseError for one that cannot be)."""
    for s in _walk_schemas(schema):
        for r in s.get("x-kubernetes-validations") or []:
            cel.compile(r["rule"])
            if r.get("messageExpression"):
                cel.compile(r["messageExpression"])


# ---- defaults and unknown fields ----------------------------------------------------------


def apply_defaults(value, schema):
    """Drops nulls of non-nullable fields and applies defaults, recursively; returns the value."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name in value and value[name] is None and not sub.get("nullable"):
                if "default" in sub:
                    value[name] = copy.deepcopy(sub["default"])
                else:
                    del value[name]
            elif name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        ap = schema.get("additionalProperties")
        for name in list(value):
            sub = props.get(name) if name in props else (ap if isinstance(ap, dict) else None)
            if sub is None:
                continue
            if value[name] is None and name not in props and not sub.get("nullable"):
                del value[name]
                continue
            value[name] = apply_defaults(value[name], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, x in enumerate(value):
            value[i] = apply_defaults(x, schema["items"])
    return value


def _closed(schema):
    return (
        "properties" in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in schema
    ) or (
        schema.get("type") == "object"
        and "properties" not in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    )


def prune_unknown(value, schema, parts, errors, skip_metadata=False):
    """Removes unknown fields from `value`, reporting each (strict field validation)."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            return
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        for name in list(value):
            if skip_metadata and name == "metadata" and not parts:
                continue
            if name in props:
                prune_unknown(value[name], props[name], parts + [name], errors)
            elif isinstance(ap, dict):
                prune_unknown(value[name], ap, parts + [name], errors)
            elif _closed(schema):
                errors.append(
                    CrdError(
                        path_str(parts + [name]),
                        'unknown field "%s"' % path_str(parts + [name]),
                        blocking=True,
                    )
                )
                del value[name]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, x in enumerate(value):
            prune_unknown(x, schema["items"], parts + [i], errors)


# ---- OpenAPI v3 validation ------------------------------------------------------------------

_draft4 = jsonschema.Draft4Validator.VALIDATORS


def _v_type(validator, types, instance, schema):
    if instance is None and schema.get("nullable"):
        return
    yield from _draft4["type"](validator, types, instance, schema)


def _v_enum(validator, enums, instance, schema):
    if instance is None and schema.get("nullable"):
        return
    yield from _draft4["enum"](validator, enums, instance, schema)


def _v_pattern(validator, pattern, instance, schema):
    if isinstance(instance, str) and not cel.re2_compile(pattern).search(instance):
        yield jsonschema.ValidationError("%r does not match %r" % (instance, pattern))


_OpenAPIValidator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"type": _v_type, "enum": _v_enum, "pattern": _v_pattern}
)

# Which OpenAPI failures the API server reports as which field error, and which of those stop
# the CEL rules from running (apiextensions-apiserver's hasBlockingErr).
_KEYWORD_REASON = {
    "type": ("Invalid type", True),
    "required": ("Required value", True),
    "enum": ("Unsupported value", True),
    "maxLength": ("Too long", True),
    "maxItems": ("Too many", True),
    "maxProperties": ("Too many", True),
}


def _type_word(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _schema_error(e, errors):
    parts = list(e.absolute_path)
    kw = e.validator
    if kw == "anyOf" and e.schema.get("x-kubernetes-int-or-string"):
        # An int-or-string: judge the value by the branch of its own type.
        v = e.instance
        want = (
            "integer"
            if isinstance(v, int) and not isinstance(v, bool)
            else "string"
            if isinstance(v, str)
            else None
        )
        if want is None:
            errors.append(
                CrdError(
                    path_str(parts),
                    "Invalid type: must be an integer or a string, got %s" % _type_word(v),
                    blocking=True,
                )
            )
            return
        for sub in e.context:
            branch = e.schema["anyOf"][sub.schema_path[0]]
            if branch.get("type") == want:
                _schema_error(sub, errors)
        return
    if kw == "required":
        name = ast.literal_eval(e.message[: -len(" is a required property")])
        errors.append(CrdError(path_str(parts + [name]), "Required value", blocking=True))
        return
    word, blocking = _KEYWORD_REASON.get(kw, ("Invalid value", False))
    if kw == "type":
        detail = "must be of type %s, got %s" % (e.validator_value, _type_word(e.instance))
    elif kw == "enum":
        detail = "%s: supported values: %s" % (
            json.dumps(e.instance),
            ", ".join(json.dumps(x) for x in e.validator_value),
        )
    elif kw in ("minimum", "maximum"):
        excl = e.schema.get("exclusiveMinimum" if kw == "minimum" else "exclusiveMaximum")
        rel = {
            ("minimum", False): ">=",
            ("minimum", True): ">",
            ("maximum", False): "<=",
            ("maximum", True): "<",
        }
        detail = "%s: should be %s %s" % (
            json.dumps(e.instance),
            rel[(kw, bool(excl))],
            e.validator_value,
        )
    elif kw in ("minLength", "maxLength"):
        detail = "%s: length should be %s %d" % (
            json.dumps(e.instance),
            ">=" if kw == "minLength" else "<=",
            e.validator_value,
        )
    elif kw in ("minItems", "maxItems"):
        detail = "should have %s %d items" % (
            "at least" if kw == "minItems" else "at most",
            e.validator_value,
        )
    elif kw in ("minProperties", "maxProperties"):
        detail = "should have %s %d properties" % (
            "at least" if kw == "minProperties" else "at most",
            e.validator_value,
        )
    elif kw == "pattern":
        detail = "%s: should match '%s'" % (json.dumps(e.instance), e.validator_value)
    else:
        detail = "%s: %s" % (kw, e.message)
    errors.append(CrdError(path_str(parts), "%s: %s" % (word, detail), blocking=blocking))


def schema_errors(value, schema):
    errors = []
    for e in _OpenAPIValidator(schema).iter_errors(value):
        _schema_error(e, errors)
    # x-kubernetes-int-or-string without anyOf still means "an integer or a string".
    _int_or_string(value, schema, [], errors)
    return errors


def _int_or_string(value, schema, parts, errors):
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in schema:
        if value is not None and not (
            isinstance(value, (int, str)) and not isinstance(value, bool)
        ):
            errors.append(
                CrdError(
                    path_str(parts), "Invalid type: must be an integer or a string", blocking=True
                )
            )
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) if k in props else (ap if isinstance(ap, dict) else None)
            if sub is not None:
                _int_or_string(v, sub, parts + [k], errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            _int_or_string(v, schema["items"], parts + [i], errors)


# ---- list types ---------------------------------------------------------------------------


def _canon(v):
    return json.dumps(v, sort_keys=True)


def list_type_errors(value, schema, parts, errors):
    if isinstance(value, list):
        lt = schema.get("x-kubernetes-list-type")
        if lt == "set":
            seen = set()
            for i, x in enumerate(value):
                c = _canon(x)
                if c in seen:
                    errors.append(CrdError(path_str(parts + [i]), "Duplicate value: %s" % c))
                seen.add(c)
        elif lt == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen = set()
            for i, x in enumerate(value):
                if not isinstance(x, dict):
                    continue
                c = _canon({k: x.get(k) for k in keys})
                if c in seen:
                    errors.append(CrdError(path_str(parts + [i]), "Duplicate value: %s" % c))
                seen.add(c)
        if isinstance(schema.get("items"), dict):
            for i, x in enumerate(value):
                list_type_errors(x, schema["items"], parts + [i], errors)
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) if k in props else (ap if isinstance(ap, dict) else None)
            if sub is not None:
                list_type_errors(v, sub, parts + [k], errors)


# ---- CEL rules ------------------------------------------------------------------------------


def to_cel(value, schema):
    """A value typed the way the API server hands it to CEL: `number` fields are doubles."""
    if value is None or schema is None:
        return value
    if schema.get("x-kubernetes-int-or-string"):
        return value
    t = schema.get("type")
    if t == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if t == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        return {
            k: to_cel(v, props.get(k) if k in props else (ap if isinstance(ap, dict) else None))
            for k, v in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else None
        return [to_cel(x, items) for x in value]
    return value


_MISSING = object()


def _old_item(old, schema, item):
    """The item of an old map-type list that correlates with `item` (same map keys)."""
    if (
        not isinstance(old, list)
        or schema.get("x-kubernetes-list-type") != "map"
        or not isinstance(item, dict)
    ):
        return _MISSING
    keys = schema.get("x-kubernetes-list-map-keys") or []
    for o in old:
        if isinstance(o, dict) and all(o.get(k) == item.get(k) for k in keys):
            return o
    return _MISSING


def cel_errors(value, schema, parts, errors, old=_MISSING):
    rules = schema.get("x-kubernetes-validations") or []
    if rules:
        self_v = to_cel(value, schema)
        old_v = to_cel(old, schema) if old is not _MISSING else _MISSING
        for r in rules:
            prog = cel.compile(r["rule"])
            act = {"self": self_v}
            if prog.references("oldSelf"):
                if old_v is _MISSING and not r.get("optionalOldSelf"):
                    continue  # a transition rule: only checked on update
                act["oldSelf"] = None if old_v is _MISSING else old_v
            where = parts
            if r.get("fieldPath"):
                where = parts + [p for p in re.split(r"\.|\[|\]", r["fieldPath"].lstrip(".")) if p]
            try:
                ok = prog.evaluate(act)
                if type(ok) is not bool:
                    raise cel.CelError("the rule returned %s, not a bool" % cel.type_name(ok))
            except cel.CelError as e:
                errors.append(
                    CrdError(
                        path_str(where),
                        "%sevaluation error in rule %r: %s" % (CEL_PREFIX, r["rule"], e),
                        cel_rule=True,
                    )
                )
                continue
            if not ok:
                msg = r.get("message") or "failed rule: %s" % r["rule"]
                if r.get("messageExpression"):
                    try:
                        m = cel.compile(r["messageExpression"]).evaluate(act)
                        if isinstance(m, str) and m.strip():
                            msg = m
                    except cel.CelError:
                        pass
                errors.append(CrdError(path_str(where), CEL_PREFIX + msg, cel_rule=True))
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        ap = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) if k in props else (ap if isinstance(ap, dict) else None)
            if sub is not None:
                o = old.get(k, _MISSING) if isinstance(old, dict) else _MISSING
                cel_errors(v, sub, parts + [k], errors, o)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, x in enumerate(value):
            cel_errors(x, schema["items"], parts + [i], errors, _old_item(old, schema, x))


# ---- ObjectMeta -----------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
}


def _qualified_name(key):
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def metadata_errors(meta, namespaced=True):
    """What the API server checks of ObjectMeta for a custom resource."""
    errors = []
    if not isinstance(meta, dict):
        return [CrdError("metadata", "Invalid type: must be of type object", blocking=True)]
    for k in meta:
        if k not in _META_FIELDS:
            errors.append(
                CrdError(
                    path_str(["metadata", k]), 'unknown field "metadata.%s"' % k, blocking=True
                )
            )
    name = meta.get("name")
    if name is None and not meta.get("generateName"):
        errors.append(
            CrdError(
                "metadata.name", "Required value: name or generateName is required", blocking=True
            )
        )
    elif name is not None and (
        not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name)
    ):
        errors.append(
            CrdError(
                "metadata.name",
                "Invalid value: %s: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.'" % json.dumps(name),
            )
        )
    ns = meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or len(ns) > 63 or not _DNS_LABEL.match(ns)):
        errors.append(
            CrdError(
                "metadata.namespace",
                "Invalid value: %s: a lowercase RFC 1123 label" % json.dumps(ns),
            )
        )
    for field, values_are_labels in (("labels", True), ("annotations", False)):
        m = meta.get(field)
        if m is None:
            continue
        if not isinstance(m, dict):
            errors.append(
                CrdError("metadata." + field, "Invalid type: must be of type object", blocking=True)
            )
            continue
        for k, v in m.items():
            p = path_str(["metadata", field, k])
            if not _qualified_name(k):
                errors.append(
                    CrdError(
                        p,
                        "Invalid value: %s: name part must consist of alphanumeric characters, "
                        "'-', '_' or '.'" % json.dumps(k),
                    )
                )
            if not isinstance(v, str):
                errors.append(CrdError(p, "Invalid type: must be of type string", blocking=True))
            elif values_are_labels and (len(v) > 63 or not _LABEL_VALUE.match(v)):
                errors.append(
                    CrdError(
                        p,
                        "Invalid value: %s: a valid label must be an empty string or consist of "
                        "alphanumeric characters, '-', '_' or '.'" % json.dumps(v),
                    )
                )
    return errors


# ---- the whole check ------------------------------------------------------------------------


def _sorted(errors):
    return sorted(errors, key=lambda e: (e[0], e[1]))


def prepare(obj, schema, errors):
    """The object as the API server stores it (a copy): JSON-normalised, pruned, defaulted."""
    value = to_json_value(copy.deepcopy(obj))
    prune_unknown(value, schema, [], errors, skip_metadata=True)
    return apply_defaults(value, schema)


def validate(obj, schema, old=None, _meta_errors=()):
    """Errors of `obj` against an openAPIV3Schema, as a sorted list of (path, reason)."""
    errors = list(_meta_errors)
    value = prepare(obj, schema, errors)
    errors += schema_errors(value, schema)
    list_type_errors(value, schema, [], errors)
    if any(e.blocking for e in errors):
        errors.append(
            CrdError("", "some validation rules were not checked because the object was invalid")
        )
    else:
        old_value = _MISSING if old is None else prepare(old, schema, [])
        cel_errors(value, schema, [], errors, old_value)
    return _sorted(errors)


class NotOurs(Exception):
    """The object belongs to an API group no loaded CRD serves."""


def find_schema(obj, crds):
    """(Crd, openAPIV3Schema) for the object, NotOurs, or a CrdError list for a bad kind/version."""
    api = obj.get("apiVersion") if isinstance(obj, dict) else None
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(api, str) or not isinstance(kind, str) or "/" not in api:
        raise NotOurs()
    group, _, version = api.partition("/")
    if not any(g == group for g, _ in crds):
        raise NotOurs()
    crd = crds.get((group, kind))
    if crd is None:
        return None, [CrdError("kind", 'no matches for kind "%s" in version "%s"' % (kind, api))]
    schema = crd.versions.get(version)
    if schema is None:
        return None, [
            CrdError("apiVersion", 'no matches for kind "%s" in version "%s"' % (kind, api))
        ]
    return crd, schema


def check_manifest(obj, crds, old=None):
    """All errors the API server reports for creating (or, with `old`, updating) `obj`."""
    crd, schema = find_schema(obj, crds)
    if crd is None:
        return schema
    meta = metadata_errors(obj.get("metadata", {}))
    return validate(obj, schema, old, meta)


def defaulted(obj, crds):
    """The object as the API server would store it, defaults applied."""
    crd, schema = find_schema(obj, crds)
    if crd is None:
        raise ValueError("not a valid kind/version: %s" % schema)
    return prepare(obj, schema, [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--crds",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crds"),
    )
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    crds = load_crds(args.crds)
    bad = 0
    for f in args.files:
        for i, obj in enumerate(load_documents(f)):
            try:
                errs = check_manifest(obj, crds)
            except NotOurs:
                continue
            for path, reason in errs:
                print("%s[%d]: %s: %s" % (f, i, path, reason))
            bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
