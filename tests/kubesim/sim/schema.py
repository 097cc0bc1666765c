"""Structural-schema handling of custom resources, as the apiextensions API server does it:
defaulting, pruning of unknown fields, validation (OpenAPI v3 keywords and the CEL rules of
x-kubernetes-validations, evaluated with tests/lib/cel.py), with errors shaped like
k8s.io/apimachinery's field.Error so the 422 Status carries the same causes and messages."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'lib'))
import cel  # noqa: E402

# The metadata fields a client may send; anything else under metadata is an unknown field.
META_FIELDS = {
    'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
    'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels',
    'annotations', 'ownerReferences', 'finalizers', 'managedFields',
}


class FieldError:
    """One field.Error: reason is the cause type (FieldValueInvalid…), detail its message."""

    def __init__(self, reason, path, value, detail, show_value=True):
        self.reason = reason
        self.path = path
        self.value = value
        self.detail = detail
        self.show_value = show_value

    def message(self):
        """The cause message, without the field path (as in Status.details.causes)."""
        head = {
            'FieldValueRequired': 'Required value',
            'FieldValueInvalid': 'Invalid value',
            'FieldValueNotSupported': 'Unsupported value',
            'FieldValueTypeInvalid': 'Invalid value',
            'FieldValueDuplicate': 'Duplicate value',
            'FieldValueTooLong': 'Too long',
            'FieldValueTooMany': 'Too many',
            'FieldValueForbidden': 'Forbidden',
        }[self.reason]
        if self.show_value and self.reason != 'FieldValueRequired':
            head += ': ' + _show(self.value)
        return head + (': ' + self.detail if self.detail else '')

    def full(self):
        return '%s: %s' % (self.path, self.message())


def _show(v):
    """A value as field.Error prints it (%#v-ish: strings quoted, objects as "object")."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, dict):
        return '"object"'
    if isinstance(v, list):
        return '"array"'
    if v is None:
        return 'null'
    return json.dumps(v)


def _type_of(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'boolean'
    if isinstance(v, int):
        return 'integer'
    if isinstance(v, float):
        return 'number'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, list):
        return 'array'
    return 'object'


def _join(path, key):
    return '%s.%s' % (path, key) if path else key


# ---- defaulting and pruning ------------------------------------------------------------------


def apply_defaults(schema, obj):
    """Fills `default`s of absent properties in place (recursively, as structural defaulting
    does: a default is applied only where its parent object exists)."""
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        props = schema.get('properties') or {}
        for k, sub in props.items():
            if k not in obj and 'default' in sub:
                obj[k] = json.loads(json.dumps(sub['default']))
            if k in obj:
                apply_defaults(sub, obj[k])
        ap = schema.get('additionalProperties')
        if isinstance(ap, dict):
            for k, v in obj.items():
                if k not in props:
                    apply_defaults(ap, v)
    elif isinstance(obj, list) and isinstance(schema.get('items'), dict):
        for v in obj:
            apply_defaults(schema['items'], v)


def prune(schema, obj, path, unknown, root=False):
    """Removes fields the schema does not know (unless x-kubernetes-preserve-unknown-fields),
    recording each as a dotted path in `unknown` (what fieldValidation=Strict/Warn reports)."""
    if not isinstance(schema, dict) or schema.get('x-kubernetes-preserve-unknown-fields'):
        return
    if isinstance(obj, dict):
        props = schema.get('properties')
        ap = schema.get('additionalProperties')
        if props is None and ap is None:
            if schema.get('type') == 'object' and not root:
                # An object without properties keeps nothing unknown… except metadata, which
                # the API server validates as ObjectMeta.
                if path == 'metadata':
                    for k in list(obj):
                        if k not in META_FIELDS:
                            unknown.append(_join(path, k))
                            del obj[k]
                    return
                for k in list(obj):
                    unknown.append(_join(path, k))
                    del obj[k]
            return
        for k in list(obj):
            if root and k in ('apiVersion', 'kind', 'metadata'):
                if k == 'metadata' and isinstance(obj[k], dict):
                    for mk in list(obj[k]):
                        if mk not in META_FIELDS:
                            unknown.append('metadata.' + mk)
                            del obj[k][mk]
                continue
            if props is not None and k in props:
                prune(props[k], obj[k], _join(path, k), unknown)
            elif isinstance(ap, dict):
                prune(ap, obj[k], _join(path, k), unknown)
            elif ap is True:
                continue
            else:
                unknown.append(_join(path, k))
                del obj[k]
    elif isinstance(obj, list) and isinstance(schema.get('items'), dict):
        for i, v in enumerate(obj):
            prune(schema['items'], v, '%s[%d]' % (path, i), unknown)


# ---- validation -------------------------------------------------------------------------------


class _Rule:
    """A compiled x-kubernetes-validations entry (compiled once per CRD version)."""

    def __init__(self, spec):
        self.text = spec['rule']
        self.message = spec.get('message')
        self.field_path = spec.get('fieldPath')
        self.reason = spec.get('reason', 'FieldValueInvalid')
        self.program = cel.compile(self.text)
        self.transition = bool(self.program.references('oldSelf'))


def compile_rules(schema, errors, path='openAPIV3Schema'):
    """Compiles every CEL rule of a schema in place (under the key `_rules`); a rule that does
    not compile is reported like the API server refusing the CRD."""
    if not isinstance(schema, dict):
        return
    rules = []
    for i, spec in enumerate(schema.get('x-kubernetes-validations') or []):
        try:
            rules.append(_Rule(spec))
        except cel.CelParseError as e:
            errors.append(FieldError('FieldValueInvalid', '%s.x-kubernetes-validations[%d].rule' % (path, i),
                                     spec.get('rule'), 'compilation failed: %s' % e))
    if rules:
        schema['_rules'] = rules
    for k, sub in (schema.get('properties') or {}).items():
        compile_rules(sub, errors, '%s.properties[%s]' % (path, k))
    if isinstance(schema.get('items'), dict):
        compile_rules(schema['items'], errors, path + '.items')
    if isinstance(schema.get('additionalProperties'), dict):
        compile_rules(schema['additionalProperties'], errors, path + '.additionalProperties')
    for key in ('anyOf', 'allOf', 'oneOf'):
        for sub in schema.get(key) or []:
            compile_rules(sub, errors, path + '.' + key)


def _check_type(schema, v, path, errs):
    t = schema.get('type')
    if schema.get('x-kubernetes-int-or-string'):
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            errs.append(FieldError('FieldValueTypeInvalid', path, v,
                                   '%s in body must be of type int-or-string: "%s"' % (path, _type_of(v))))
            return False
        return True
    if not t:
        return True
    actual = _type_of(v)
    ok = actual == t or (t == 'number' and actual == 'integer')
    if not ok:
        errs.append(FieldError('FieldValueTypeInvalid', path, v,
                               '%s in body must be of type %s: "%s"' % (path, t, actual)))
    return ok


def validate(schema, v, path, errs, old=None, has_old=False):
    """Appends to errs every violation of `schema` by value v at the dotted path."""
    if not isinstance(schema, dict):
        return
    if v is None:
        if not schema.get('nullable'):
            errs.append(FieldError('FieldValueTypeInvalid', path, v,
                                   '%s in body must be of type %s: "null"' % (path, schema.get('type', 'object'))))
        return
    if not _check_type(schema, v, path, errs):
        return
    if 'enum' in schema and v not in schema['enum']:
        errs.append(FieldError('FieldValueNotSupported', path, v,
                               'supported values: ' + ', '.join(_show(x) for x in schema['enum'])))
    if isinstance(v, str):
        if 'maxLength' in schema and len(v) > schema['maxLength']:
            errs.append(FieldError('FieldValueTooLong', path, v,
                                   'may not be more than %d bytes' % schema['maxLength'], show_value=False))
        if 'minLength' in schema and len(v) < schema['minLength']:
            errs.append(FieldError('FieldValueInvalid', path, v,
                                   '%s in body should be at least %d chars long' % (path, schema['minLength'])))
        if 'pattern' in schema and not cel.re2_compile(schema['pattern']).search(v):
            errs.append(FieldError('FieldValueInvalid', path, v,
                                   "%s in body should match '%s'" % (path, schema['pattern'])))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 'minimum' in schema:
            if schema.get('exclusiveMinimum') and v <= schema['minimum']:
                errs.append(FieldError('FieldValueInvalid', path, v,
                                       '%s in body should be greater than %s' % (path, schema['minimum'])))
            elif v < schema['minimum']:
                errs.append(FieldError('FieldValueInvalid', path, v,
                                       '%s in body should be greater than or equal to %s' % (path, schema['minimum'])))
        if 'maximum' in schema:
            if schema.get('exclusiveMaximum') and v >= schema['maximum']:
                errs.append(FieldError('FieldValueInvalid', path, v,
                                       '%s in body should be less than %s' % (path, schema['maximum'])))
            elif v > schema['maximum']:
                errs.append(FieldError('FieldValueInvalid', path, v,
                                       '%s in body should be less than or equal to %s' % (path, schema['maximum'])))
    if isinstance(v, list):
        if 'maxItems' in schema and len(v) > schema['maxItems']:
            errs.append(FieldError('FieldValueTooMany', path, len(v),
                                   'must have at most %d items' % schema['maxItems']))
        if 'minItems' in schema and len(v) < schema['minItems']:
            errs.append(FieldError('FieldValueInvalid', path, len(v),
                                   '%s in body should have at least %d items' % (path, schema['minItems'])))
        lt = schema.get('x-kubernetes-list-type')
        if lt == 'set' or schema.get('uniqueItems'):
            seen = []
            for i, x in enumerate(v):
                if x in seen:
                    errs.append(FieldError('FieldValueDuplicate', '%s[%d]' % (path, i), x, ''))
                seen.append(x)
        elif lt == 'map':
            keys = schema.get('x-kubernetes-list-map-keys') or []
            seen = []
            for i, x in enumerate(v):
                k = tuple((x or {}).get(n) for n in keys) if isinstance(x, dict) else x
                if k in seen:
                    errs.append(FieldError('FieldValueDuplicate', '%s[%d]' % (path, i),
                                           dict(zip(keys, k)) if isinstance(k, tuple) else x, ''))
                seen.append(k)
        items = schema.get('items')
        if isinstance(items, dict):
            old_items = old if (has_old and isinstance(old, list)) else None
            for i, x in enumerate(v):
                # Transition rules on list items see the old item at the same index only for
                # map lists in Kubernetes; index pairing here is a simplification (README).
                o_has = old_items is not None and i < len(old_items) and lt == 'map'
                validate(items, x, '%s[%d]' % (path, i), errs,
                         old_items[i] if o_has else None, o_has)
    if isinstance(v, dict):
        if 'maxProperties' in schema and len(v) > schema['maxProperties']:
            errs.append(FieldError('FieldValueTooMany', path, len(v),
                                   'must have at most %d items' % schema['maxProperties']))
        if 'minProperties' in schema and len(v) < schema['minProperties']:
            errs.append(FieldError('FieldValueInvalid', path, len(v),
                                   '%s in body should have at least %d properties' % (path, schema['minProperties'])))
        for r in schema.get('required') or []:
            if r not in v:
                errs.append(FieldError('FieldValueRequired', _join(path, r), None, ''))
        props = schema.get('properties') or {}
        ap = schema.get('additionalProperties')
        old_map = old if (has_old and isinstance(old, dict)) else None
        for k, x in v.items():
            sub = props.get(k) if k in props else (ap if isinstance(ap, dict) else None)
            if sub is not None:
                o_has = old_map is not None and k in old_map
                validate(sub, x, _join(path, k), errs, old_map.get(k) if o_has else None, o_has)
    for sub in schema.get('allOf') or []:
        validate(sub, v, path, errs, old, has_old)
    if schema.get('anyOf'):
        # anyOf in a structural schema only narrows value validations; one branch must hold.
        branch_errs = []
        for sub in schema['anyOf']:
            e = []
            validate(dict(sub, nullable=True), v, path, e)
            if not e:
                break
            branch_errs.append(e)
        else:
            errs.extend(branch_errs[0] if len(branch_errs) == 1 else [
                FieldError('FieldValueInvalid', path, v,
                           'must validate at least one schema (anyOf)')] + branch_errs[-1])
    for rule in schema.get('_rules') or []:
        if rule.transition and not has_old:
            continue  # a transition rule only runs on updates where the old value exists
        act = {'self': v}
        if rule.transition:
            act['oldSelf'] = old
        try:
            ok = rule.program.evaluate(act)
            failed = ok is not True
            detail = rule.message or 'failed rule: %s' % rule.text
        except cel.CelError as e:
            failed = True
            detail = 'failed rule: %s' % rule.text if rule.message is None else rule.message
            detail += ' (evaluation error: %s)' % e
        if failed:
            fpath = path
            if rule.field_path:
                fpath = path + rule.field_path if rule.field_path.startswith('.') else _join(path, rule.field_path)
            errs.append(FieldError(rule.reason if rule.reason.startswith('Field') else 'FieldValueInvalid',
                                   fpath, v, detail))


def strip_compiled(schema):
    """A deep copy of a schema without the compiled `_rules` (for OpenAPI documents)."""
    if isinstance(schema, dict):
        return {k: strip_compiled(x) for k, x in schema.items() if k != '_rules'}
    if isinstance(schema, list):
        return [strip_compiled(x) for x in schema]
    return schema
